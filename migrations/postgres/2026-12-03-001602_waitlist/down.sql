DROP TABLE waitlist_announcements;
DROP TABLE waitlist_checks;
DROP TABLE waitlist_entries;
