//! The waitlist's rules: what range of days a client may wait for, how many wishes one client
//! holds, when a wish ends, and which free slots are news to it. No I/O.

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// A range covers at most this many days, both ends included.
pub const MAX_RANGE_DAYS: i64 = 31;
/// A client holds at most this many active entries (all therapists together).
pub const MAX_ACTIVE_ENTRIES: i64 = 10;
/// A range starts at most this many days ahead: no therapist takes bookings further out (the
/// booking window's bound, `domain::schedule::MAX_ADVANCE_DAYS`).
pub const MAX_AHEAD_DAYS: i64 = crate::domain::schedule::MAX_ADVANCE_DAYS as i64;
/// How many days the page's form proposes by default: the chosen day and the next seven.
pub const DEFAULT_SPAN_DAYS: i64 = 7;
/// One check mails one entry at most this many freed slots (the earliest); the others stay
/// unannounced and may be announced by a later check. A week of new hours must not send
/// dozens of mails to one person.
pub const MAX_MAILS_PER_ENTRY_PER_CHECK: usize = 5;

/// Why a range is refused (422 with the code, the message next to the field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRefusal {
    /// `from` is before today (the therapist's today).
    Past,
    /// `to` is before `from`.
    Reversed,
    /// More than [`MAX_RANGE_DAYS`] days.
    TooLong,
    /// `from` is more than [`MAX_AHEAD_DAYS`] days ahead.
    TooFar,
}

impl RangeRefusal {
    pub fn code(self) -> &'static str {
        match self {
            RangeRefusal::Past => "date_in_past",
            RangeRefusal::Reversed => "range_reversed",
            RangeRefusal::TooLong => "range_too_long",
            RangeRefusal::TooFar => "date_too_far",
        }
    }

    /// The field the message belongs to.
    pub fn field(self) -> &'static str {
        match self {
            RangeRefusal::Past | RangeRefusal::TooFar => "from",
            RangeRefusal::Reversed | RangeRefusal::TooLong => "to",
        }
    }

    pub fn message(self) -> String {
        match self {
            RangeRefusal::Past => "Choose a first day from today on.".into(),
            RangeRefusal::Reversed => "The last day cannot be before the first day.".into(),
            RangeRefusal::TooLong => format!(
                "A waitlist covers at most {MAX_RANGE_DAYS} days: choose an earlier last day."
            ),
            RangeRefusal::TooFar => format!(
                "Choose a first day within the next {MAX_AHEAD_DAYS} days: no time is booked further ahead."
            ),
        }
    }
}

/// The days a client waits for: `from..=to` on the therapist's calendar, from `today` on, at
/// most [`MAX_RANGE_DAYS`] days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitRange {
    from: NaiveDate,
    to: NaiveDate,
}

impl WaitRange {
    pub fn parse(from: NaiveDate, to: NaiveDate, today: NaiveDate) -> Result<Self, RangeRefusal> {
        if from < today {
            return Err(RangeRefusal::Past);
        }
        if (from - today).num_days() > MAX_AHEAD_DAYS {
            return Err(RangeRefusal::TooFar);
        }
        if to < from {
            return Err(RangeRefusal::Reversed);
        }
        if (to - from).num_days() + 1 > MAX_RANGE_DAYS {
            return Err(RangeRefusal::TooLong);
        }
        Ok(WaitRange { from, to })
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn to(&self) -> NaiveDate {
        self.to
    }
}

/// The form's default range from a chosen day: that day and the next [`DEFAULT_SPAN_DAYS`].
pub fn default_range(day: NaiveDate) -> (NaiveDate, NaiveDate) {
    (day, day + Duration::days(DEFAULT_SPAN_DAYS))
}

/// An entry is active until the end of its last day (the therapist's `today`); after that it
/// has ended: not listed, not checked, purged.
pub fn is_active(to: NaiveDate, today: NaiveDate) -> bool {
    to >= today
}

/// Whether a free slot `[start, end)` is news for a check of `[freed_from, freed_until)`: it
/// overlaps the time that came free (a slot that was free before the change is not news).
pub fn is_freed(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    freed_from: DateTime<Utc>,
    freed_until: DateTime<Utc>,
) -> bool {
    start < freed_until && end > freed_from
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_range_is_from_today_in_order_and_at_most_31_days() {
        let today = d("2026-12-10");
        assert!(WaitRange::parse(d("2026-12-10"), d("2026-12-10"), today).is_ok());
        assert!(WaitRange::parse(d("2026-12-10"), d("2027-01-09"), today).is_ok());
        assert!(WaitRange::parse(d("2027-12-10"), d("2027-12-11"), today).is_ok());
        assert_eq!(
            WaitRange::parse(d("2027-12-11"), d("2027-12-12"), today),
            Err(RangeRefusal::TooFar)
        );
        assert_eq!(
            WaitRange::parse(d("9999-01-01"), d("9999-01-02"), today),
            Err(RangeRefusal::TooFar)
        );
        assert_eq!(
            WaitRange::parse(d("2026-12-10"), d("2027-01-10"), today),
            Err(RangeRefusal::TooLong)
        );
        assert_eq!(
            WaitRange::parse(d("2026-12-09"), d("2026-12-12"), today),
            Err(RangeRefusal::Past)
        );
        assert_eq!(
            WaitRange::parse(d("2026-12-12"), d("2026-12-11"), today),
            Err(RangeRefusal::Reversed)
        );
    }

    #[test]
    fn an_entry_ends_after_its_last_day() {
        assert!(is_active(d("2026-12-10"), d("2026-12-10")));
        assert!(!is_active(d("2026-12-09"), d("2026-12-10")));
    }

    #[test]
    fn only_slots_overlapping_the_freed_time_are_news() {
        let t = |h: u32| d("2026-12-10").and_hms_opt(h, 0, 0).unwrap().and_utc();
        assert!(is_freed(t(10), t(11), t(10), t(11)));
        assert!(is_freed(t(9), t(11), t(10), t(12)));
        assert!(!is_freed(t(8), t(9), t(10), t(11)));
        assert!(!is_freed(t(11), t(12), t(10), t(11)));
    }
}
