//! Session notes (SOAP) and a therapist's clients: what a version of the notes holds and its
//! limits, when an appointment takes notes, and what counts as a visit. Pure rules: the
//! services (`services::notes`, `services::clients`) store, seal and query by them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::appointment::AppointmentStatus;
use crate::domain::FieldErrors;

/// The most characters one part of the notes may hold.
pub const MAX_PART_CHARS: usize = 5_000;

/// The longest client search (`?q=`), in characters.
pub const MAX_SEARCH_CHARS: usize = 200;

/// The four parts, as fields (`subjective`, ...) with the labels people read.
pub const PARTS: [(&str, &str); 4] = [
    ("subjective", "Subjective (what the client reports)"),
    (
        "objective",
        "Objective (what the therapist observed and did)",
    ),
    ("assessment", "Assessment"),
    ("plan", "Plan"),
];

/// One version of an appointment's notes: subjective, objective, assessment, plan. Made by
/// [`Soap::parse`] (each part at most [`MAX_PART_CHARS`], at least one not blank); what is
/// sealed as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Soap {
    pub subjective: String,
    pub objective: String,
    pub assessment: String,
    pub plan: String,
}

impl Soap {
    /// The parts as typed, trimmed at both ends; a message per part over the limit, and one
    /// on `subjective` when every part is blank.
    pub fn parse(
        subjective: &str,
        objective: &str,
        assessment: &str,
        plan: &str,
    ) -> Result<Soap, FieldErrors> {
        let mut errors = FieldErrors::new();
        let typed = [subjective, objective, assessment, plan];
        for ((field, label), text) in PARTS.iter().zip(typed) {
            let n = text.trim().chars().count();
            if n > MAX_PART_CHARS {
                errors.insert(
                    (*field).into(),
                    format!(
                        "{} can hold at most {MAX_PART_CHARS} characters (this one has {n}).",
                        label.split(" (").next().unwrap_or(label)
                    ),
                );
            }
            if text.contains('\0') {
                errors.insert(
                    (*field).into(),
                    "This text holds a character that cannot be stored (NUL).".into(),
                );
            }
        }
        if typed.iter().all(|t| t.trim().is_empty()) {
            errors.insert(
                "subjective".into(),
                "Write at least one of the four parts.".into(),
            );
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Soap {
            subjective: subjective.trim().to_string(),
            objective: objective.trim().to_string(),
            assessment: assessment.trim().to_string(),
            plan: plan.trim().to_string(),
        })
    }

    /// The parts with their field names and labels, in SOAP order.
    pub fn parts(&self) -> [(&'static str, &'static str, &str); 4] {
        [
            (PARTS[0].0, PARTS[0].1, self.subjective.as_str()),
            (PARTS[1].0, PARTS[1].1, self.objective.as_str()),
            (PARTS[2].0, PARTS[2].1, self.assessment.as_str()),
            (PARTS[3].0, PARTS[3].1, self.plan.as_str()),
        ]
    }

    /// The text of the part named `field` ('' for another name).
    pub fn part(&self, field: &str) -> &str {
        match field {
            "subjective" => &self.subjective,
            "objective" => &self.objective,
            "assessment" => &self.assessment,
            "plan" => &self.plan,
            _ => "",
        }
    }
}

/// Why an appointment takes no notes now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotesRefusal {
    /// It has not started yet.
    BeforeStart,
    /// It was cancelled, declined, withdrawn or moved.
    Cancelled,
    /// It was never confirmed (a request nobody answered).
    NotConfirmed,
}

impl NotesRefusal {
    /// The API's error code (422).
    pub fn code(self) -> &'static str {
        match self {
            NotesRefusal::BeforeStart => "notes_before_start",
            NotesRefusal::Cancelled => "notes_cancelled",
            NotesRefusal::NotConfirmed => "notes_not_confirmed",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            NotesRefusal::BeforeStart => {
                "Session notes can be written once the appointment has started."
            }
            NotesRefusal::Cancelled => "This appointment was cancelled: it takes no session notes.",
            NotesRefusal::NotConfirmed => {
                "This request was never confirmed: it takes no session notes."
            }
        }
    }
}

/// Whether an appointment takes notes at `now`: once it has started, when it was confirmed
/// (then possibly completed or a no-show); never a cancelled one or an unanswered request.
pub fn may_write(
    status: AppointmentStatus,
    starts_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), NotesRefusal> {
    match status {
        AppointmentStatus::Cancelled => Err(NotesRefusal::Cancelled),
        AppointmentStatus::Requested if starts_at <= now => Err(NotesRefusal::NotConfirmed),
        _ if starts_at > now => Err(NotesRefusal::BeforeStart),
        _ => Ok(()),
    }
}

/// **A visit** is an appointment that has started and was confirmed or completed: a session
/// that took place, whether or not the therapist marked it completed. Cancelled ones,
/// unanswered requests and no-shows are not visits. The clients list counts these (one SQL
/// query binds [`VISIT_STATUSES`] and compares the start with now).
pub const VISIT_STATUSES: [AppointmentStatus; 2] =
    [AppointmentStatus::Confirmed, AppointmentStatus::Completed];

/// Whether an appointment is a visit at `now` (see [`VISIT_STATUSES`]).
pub fn is_visit(status: AppointmentStatus, starts_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    VISIT_STATUSES.contains(&status) && starts_at <= now
}

/// The next visit is the earliest appointment still to come that is requested or confirmed
/// (the active statuses, `AppointmentStatus::is_active`).
pub const UPCOMING_STATUSES: [AppointmentStatus; 2] =
    [AppointmentStatus::Requested, AppointmentStatus::Confirmed];

/// Whether an appointment counts for the next visit at `now` (see [`UPCOMING_STATUSES`]).
pub fn is_upcoming(
    status: AppointmentStatus,
    starts_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    UPCOMING_STATUSES.contains(&status) && starts_at > now
}

/// A client search as typed: trimmed, blank is none, at most [`MAX_SEARCH_CHARS`].
pub fn parse_search(q: Option<&str>) -> Result<Option<String>, FieldErrors> {
    let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    if q.chars().count() > MAX_SEARCH_CHARS {
        let mut e = FieldErrors::new();
        e.insert(
            "q".into(),
            format!("Search with at most {MAX_SEARCH_CHARS} characters."),
        );
        return Err(e);
    }
    Ok(Some(q.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn soap_limits_and_blank() {
        let ok = Soap::parse("  sore neck ", "", "", "stretch").unwrap();
        assert_eq!(ok.subjective, "sore neck");
        assert_eq!(ok.part("plan"), "stretch");
        assert_eq!(ok.part("objective"), "");
        let e = Soap::parse(" ", "\n", "", "").unwrap_err();
        assert_eq!(e.keys().collect::<Vec<_>>(), ["subjective"]);
        let long = "x".repeat(MAX_PART_CHARS + 1);
        let e = Soap::parse("a", &long, "", &long).unwrap_err();
        assert_eq!(e.keys().collect::<Vec<_>>(), ["objective", "plan"]);
        assert!(e["objective"].contains("5000"), "{}", e["objective"]);
        let exact = "é".repeat(MAX_PART_CHARS);
        assert!(Soap::parse(&exact, "", "", "").is_ok());
        assert!(Soap::parse("a\0b", "", "", "").is_err());
    }

    #[test]
    fn notes_only_after_the_start_of_a_kept_appointment() {
        let now = Utc::now();
        let past = now - Duration::minutes(1);
        let future = now + Duration::minutes(1);
        use AppointmentStatus::*;
        assert_eq!(
            may_write(Confirmed, future, now),
            Err(NotesRefusal::BeforeStart)
        );
        assert_eq!(may_write(Confirmed, past, now), Ok(()));
        assert_eq!(may_write(Confirmed, now, now), Ok(()));
        assert_eq!(may_write(Completed, past, now), Ok(()));
        assert_eq!(may_write(NoShow, past, now), Ok(()));
        assert_eq!(
            may_write(Cancelled, past, now),
            Err(NotesRefusal::Cancelled)
        );
        assert_eq!(
            may_write(Cancelled, future, now),
            Err(NotesRefusal::Cancelled)
        );
        assert_eq!(
            may_write(Requested, past, now),
            Err(NotesRefusal::NotConfirmed)
        );
        assert_eq!(
            may_write(Requested, future, now),
            Err(NotesRefusal::BeforeStart)
        );
    }

    #[test]
    fn upcoming_statuses_are_the_active_ones() {
        for s in AppointmentStatus::ALL {
            assert_eq!(UPCOMING_STATUSES.contains(&s), s.is_active(), "{s:?}");
        }
    }

    #[test]
    fn visits_and_upcoming() {
        let now = Utc::now();
        let past = now - Duration::days(1);
        let future = now + Duration::days(1);
        use AppointmentStatus::*;
        assert!(is_visit(Completed, past, now));
        assert!(is_visit(Confirmed, past, now));
        assert!(!is_visit(Confirmed, future, now));
        assert!(!is_visit(NoShow, past, now));
        assert!(!is_visit(Cancelled, past, now));
        assert!(!is_visit(Requested, past, now));
        assert!(is_upcoming(Requested, future, now));
        assert!(is_upcoming(Confirmed, future, now));
        assert!(!is_upcoming(Cancelled, future, now));
        assert!(!is_upcoming(Confirmed, past, now));
    }

    #[test]
    fn search_bounds() {
        assert_eq!(parse_search(None), Ok(None));
        assert_eq!(parse_search(Some("  ")), Ok(None));
        assert_eq!(parse_search(Some(" Ann ")), Ok(Some("Ann".into())));
        assert!(parse_search(Some(&"a".repeat(MAX_SEARCH_CHARS + 1))).is_err());
    }
}
