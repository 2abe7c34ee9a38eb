//! An appointment's status and the rules that depend on it.

use std::fmt;

use crate::domain::screening::Outcome;

/// Where an appointment stands. Stored as text (`as_str`); the migrations' overlap constraint
/// and triggers name the active ones (`requested`, `confirmed`) in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppointmentStatus {
    /// Waiting for the therapist to confirm or decline.
    Requested,
    Confirmed,
    Completed,
    /// Cancelled by the client or the therapist, declined, or moved (rescheduled).
    Cancelled,
    NoShow,
}

impl AppointmentStatus {
    pub const ALL: [AppointmentStatus; 5] = [
        AppointmentStatus::Requested,
        AppointmentStatus::Confirmed,
        AppointmentStatus::Completed,
        AppointmentStatus::Cancelled,
        AppointmentStatus::NoShow,
    ];

    /// The stored text, also the API's JSON string.
    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentStatus::Requested => "requested",
            AppointmentStatus::Confirmed => "confirmed",
            AppointmentStatus::Completed => "completed",
            AppointmentStatus::Cancelled => "cancelled",
            AppointmentStatus::NoShow => "no_show",
        }
    }

    pub fn parse(s: &str) -> Option<AppointmentStatus> {
        AppointmentStatus::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Requested or confirmed: it holds its time (no other active appointment may overlap it,
    /// which the database enforces too) and can still be cancelled, moved or finished.
    pub fn is_active(self) -> bool {
        match self {
            AppointmentStatus::Requested | AppointmentStatus::Confirmed => true,
            AppointmentStatus::Completed
            | AppointmentStatus::Cancelled
            | AppointmentStatus::NoShow => false,
        }
    }

    /// Nothing can happen to it any more.
    pub fn is_final(self) -> bool {
        !self.is_active()
    }

    /// The therapist still has to confirm or decline it.
    pub fn awaits_decision(self) -> bool {
        match self {
            AppointmentStatus::Requested => true,
            AppointmentStatus::Confirmed
            | AppointmentStatus::Completed
            | AppointmentStatus::Cancelled
            | AppointmentStatus::NoShow => false,
        }
    }

    /// The stored text of the active statuses, for SQL filters.
    pub fn active_strs() -> Vec<&'static str> {
        AppointmentStatus::ALL
            .into_iter()
            .filter(|s| s.is_active())
            .map(AppointmentStatus::as_str)
            .collect()
    }

    /// For people: `no-show`.
    pub fn label(self) -> String {
        self.as_str().replace('_', "-")
    }
}

impl fmt::Display for AppointmentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reading the stored text (rows deserialize through it).
impl TryFrom<String> for AppointmentStatus {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        AppointmentStatus::parse(&s).ok_or_else(|| format!("unknown appointment status {s:?}"))
    }
}

/// Writing the stored text.
impl From<AppointmentStatus> for String {
    fn from(s: AppointmentStatus) -> String {
        s.as_str().to_string()
    }
}

/// A booking waiting for the therapist to acknowledge its screening flags: still requested,
/// its stored screening outcome flagged (see [`Outcome::is_flagged`]), not yet acknowledged.
/// Confirming it needs the acknowledgement.
pub fn awaiting_acknowledgement(
    status: AppointmentStatus,
    screening_outcome: &str,
    acknowledged: bool,
) -> bool {
    status.awaits_decision() && Outcome::is_flagged_str(screening_outcome) && !acknowledged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_text_round_trips() {
        for s in AppointmentStatus::ALL {
            assert_eq!(AppointmentStatus::parse(s.as_str()), Some(s));
            assert_eq!(AppointmentStatus::try_from(String::from(s)), Ok(s));
        }
        assert_eq!(AppointmentStatus::parse("declined"), None);
        assert_eq!(AppointmentStatus::active_strs(), ["requested", "confirmed"]);
        assert_eq!(AppointmentStatus::NoShow.label(), "no-show");
    }

    #[test]
    fn only_flagged_unacknowledged_requests_await_acknowledgement() {
        use AppointmentStatus::*;
        assert!(awaiting_acknowledgement(Requested, "caution", false));
        assert!(awaiting_acknowledgement(
            Requested,
            "needs_clearance",
            false
        ));
        assert!(!awaiting_acknowledgement(Requested, "caution", true));
        assert!(!awaiting_acknowledgement(Requested, "ok", false));
        assert!(!awaiting_acknowledgement(Confirmed, "caution", false));
        assert!(!awaiting_acknowledgement(
            Cancelled,
            "needs_clearance",
            false
        ));
    }
}
