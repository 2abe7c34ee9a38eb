//! The words of the audit log: each object type and action the services record, with the label
//! a person reads, in one place. The audit filters take either (the page offers the labels in
//! a list, the API keeps taking the internal names), and the log shows the labels.

/// Object types (`audit_log.object_type`) and their labels, alphabetical by label.
pub const OBJECT_TYPES: &[(&str, &str)] = &[
    ("appointment", "Appointment"),
    ("license", "License"),
    ("outbox", "Mail"),
    ("review", "Review"),
    ("service", "Service"),
    ("therapist", "Therapist"),
    ("time_off", "Time off"),
    ("training_record", "Training record"),
    ("user", "User account"),
];

/// Actions (`audit_log.action`) and their labels, by area. An entry ending in `.` (or the bare
/// `training`) is a prefix: every action of that area.
pub const ACTIONS: &[(&str, &str)] = &[
    ("account.", "Accounts: every action"),
    ("account.create", "Account created"),
    ("account.verify_email", "Email address confirmed"),
    ("account.email_change_requested", "Email change asked"),
    ("account.email_change", "Email address changed"),
    (
        "account.password_reset_requested",
        "Password reset link mailed",
    ),
    ("account.password_reset", "Password reset"),
    ("account.password_change", "Password changed"),
    ("account.invite", "Admin invited"),
    ("account.invite_accepted", "Invitation accepted"),
    ("account.erase", "Account deleted"),
    ("account.login", "Logged in"),
    ("account.login_failed", "Login failed"),
    ("account.locked", "Login locked after failures"),
    ("account.totp_failed", "Two-factor code wrong"),
    ("account.totp_enrolment_started", "Two-factor setup started"),
    ("account.totp_enabled", "Two-factor sign-in turned on"),
    ("account.totp_disabled", "Two-factor sign-in turned off"),
    ("account.totp_recovery_used", "Recovery code used"),
    ("access.refused", "Admin route refused"),
    ("account.logout", "Logged out"),
    ("account.notifications", "Mail choices changed"),
    ("appointment.", "Appointments: every action"),
    ("appointment.create", "Appointment booked"),
    ("appointment.confirmed", "Appointment confirmed"),
    ("appointment.cancelled", "Appointment cancelled"),
    ("appointment.completed", "Appointment completed"),
    ("appointment.no_show", "Appointment marked no-show"),
    ("appointment.reschedule", "Appointment moved"),
    ("appointment.notes", "Session notes saved"),
    ("calendar.", "Calendar feed: every action"),
    ("calendar.feed_create", "Calendar feed created"),
    ("calendar.feed_revoke", "Calendar feed turned off"),
    ("license.", "Licenses: every action"),
    ("license.submit", "License submitted"),
    ("license.verify", "License verified"),
    ("license.reject", "License rejected"),
    ("profile.update", "Profile updated"),
    ("outbox.send_again", "Mail sent again"),
    ("review.", "Reviews: every action"),
    ("review.create", "Review written"),
    ("review.reply", "Review replied to"),
    ("review.hide", "Review hidden"),
    ("profile.photo", "Profile photo changed or removed"),
    ("schedule.", "Schedule: every action"),
    ("schedule.weekly_hours", "Weekly hours changed"),
    ("schedule.policy", "Booking policy changed"),
    ("schedule.time_off_add", "Time off added"),
    ("schedule.time_off_remove", "Time off removed"),
    ("service.", "Services: every action"),
    ("service.create", "Service added"),
    ("service.update", "Service changed"),
    ("service.retire", "Service retired"),
    ("therapist.", "Standing: every action"),
    ("therapist.suspend", "Therapist suspended"),
    ("therapist.reinstate", "Therapist reinstated"),
    ("training", "Training records: every action"),
    ("training.submit", "Training record submitted"),
    ("training_record.verify", "Training record verified"),
    ("training_record.reject", "Training record rejected"),
];

fn code_of(table: &'static [(&'static str, &'static str)], input: &str) -> Option<&'static str> {
    let t = input.trim();
    table
        .iter()
        .find(|(code, label)| code.eq_ignore_ascii_case(t) || label.eq_ignore_ascii_case(t))
        .map(|(code, _)| *code)
}

fn label_of(table: &'static [(&'static str, &'static str)], code: &str) -> Option<&'static str> {
    table.iter().find(|(c, _)| *c == code).map(|(_, l)| *l)
}

/// The internal object type a filter names, by its internal name or its label (any case).
pub fn object_type_code(input: &str) -> Option<&'static str> {
    code_of(OBJECT_TYPES, input)
}

/// The internal action (or prefix) a filter names, by its internal name or its label.
pub fn action_code(input: &str) -> Option<&'static str> {
    code_of(ACTIONS, input)
}

/// What a person reads for an object type; an unknown one reads as it is stored.
pub fn object_type_label(code: &str) -> &str {
    label_of(OBJECT_TYPES, code).unwrap_or(code)
}

/// What a person reads for an action; an unknown one reads as it is stored.
pub fn action_label(code: &str) -> &str {
    label_of(ACTIONS, code).unwrap_or(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_internal_names_both_name_the_internal_name() {
        assert_eq!(object_type_code("Training record"), Some("training_record"));
        assert_eq!(
            object_type_code(" training RECORD "),
            Some("training_record")
        );
        assert_eq!(object_type_code("training_record"), Some("training_record"));
        assert_eq!(object_type_code("Licence"), None);
        assert_eq!(action_code("License verified"), Some("license.verify"));
        assert_eq!(action_code("licenses: every action"), Some("license."));
        assert_eq!(action_code("therapist.suspend"), Some("therapist.suspend"));
        assert_eq!(
            action_code("therapist.sus"),
            None,
            "prefixes are not guessed"
        );
    }

    #[test]
    fn every_code_and_label_is_unique_and_unknown_codes_read_as_stored() {
        for table in [OBJECT_TYPES, ACTIONS] {
            for (i, (c, l)) in table.iter().enumerate() {
                assert!(
                    !table[..i]
                        .iter()
                        .any(|(c2, l2)| c2 == c || l2.eq_ignore_ascii_case(l)),
                    "{c} / {l} twice"
                );
            }
        }
        assert_eq!(object_type_label("training_record"), "Training record");
        assert_eq!(action_label("license.reject"), "License rejected");
        assert_eq!(action_label("something.new"), "something.new");
    }
}
