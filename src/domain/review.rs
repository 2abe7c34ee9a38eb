//! Reviews of completed appointments: who may write one and when, what a review, a reply and a
//! hiding reason may hold, the average rating (the one computation the profile, the search
//! results, the filter and the sort all read) and how an author is named in public.

use chrono::{DateTime, Duration, Utc};

use crate::domain::appointment::AppointmentStatus;
use crate::domain::FieldErrors;

/// How long after an appointment ends its client may review it.
pub const REVIEW_WINDOW_DAYS: i64 = 90;
/// The most characters of a review's text (it may be empty).
pub const MAX_TEXT_CHARS: usize = 2_000;
/// The most characters of a therapist's reply.
pub const MAX_REPLY_CHARS: usize = 2_000;
/// The most characters of an admin's reason for hiding a review.
pub const MAX_REASON_CHARS: usize = 500;
/// The stars a review gives.
pub const RATINGS: std::ops::RangeInclusive<i32> = 1..=5;

/// A review as typed: 1 to 5 stars and a text (trimmed, at most [`MAX_TEXT_CHARS`]). Only the
/// client's own words: a review has no field for anything else (no screening, no outcome).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewInput {
    pub rating: i32,
    pub text: String,
}

/// Parses a review: `rating` as given (a number, or text from a form), the text trimmed.
pub fn parse_review(rating: Option<&str>, text: &str) -> Result<ReviewInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let rating = match rating.map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            e.insert("rating".into(), "Choose 1 to 5 stars.".into());
            0
        }
        Some(s) => match s.parse::<i32>() {
            Ok(r) if RATINGS.contains(&r) => r,
            _ => {
                e.insert("rating".into(), "The rating is 1 to 5 stars.".into());
                0
            }
        },
    };
    let text = text.trim();
    if text.chars().count() > MAX_TEXT_CHARS {
        e.insert(
            "text".into(),
            format!("A review has at most {MAX_TEXT_CHARS} characters."),
        );
    }
    if e.is_empty() {
        Ok(ReviewInput {
            rating,
            text: text.to_owned(),
        })
    } else {
        Err(e)
    }
}

/// A required text of at most `max` characters, trimmed (`field` names it in the error).
fn required_text(field: &str, text: &str, max: usize, what: &str) -> Result<String, FieldErrors> {
    let t = text.trim();
    let message = if t.is_empty() {
        format!("Write {what}.")
    } else if t.chars().count() > max {
        format!("At most {max} characters.")
    } else {
        return Ok(t.to_owned());
    };
    Err(FieldErrors::from([(field.to_owned(), message)]))
}

/// A therapist's reply: 1 to [`MAX_REPLY_CHARS`] characters, trimmed.
pub fn parse_reply(text: &str) -> Result<String, FieldErrors> {
    required_text("text", text, MAX_REPLY_CHARS, "a reply")
}

/// An admin's reason for hiding a review: 1 to [`MAX_REASON_CHARS`] characters, trimmed.
pub fn parse_hide_reason(text: &str) -> Result<String, FieldErrors> {
    required_text("reason", text, MAX_REASON_CHARS, "the reason for hiding it")
}

/// Why an appointment takes no review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewRefusal {
    /// Not (yet) marked completed by the therapist.
    NotCompleted,
    /// Completed more than [`REVIEW_WINDOW_DAYS`] ago.
    TooLate,
}

impl ReviewRefusal {
    /// The API's error code (422).
    pub fn code(self) -> &'static str {
        match self {
            ReviewRefusal::NotCompleted => "review_not_completed",
            ReviewRefusal::TooLate => "review_too_late",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            ReviewRefusal::NotCompleted => {
                "Only a completed appointment can be reviewed, once the therapist marked it completed."
            }
            ReviewRefusal::TooLate => {
                "Reviews are written within 90 days of the appointment; this one is older."
            }
        }
    }
}

/// Whether an appointment takes a review at `now`: completed (the status the therapist sets
/// after the start), and ended at most [`REVIEW_WINDOW_DAYS`] ago.
pub fn may_review(
    status: AppointmentStatus,
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), ReviewRefusal> {
    if status != AppointmentStatus::Completed {
        return Err(ReviewRefusal::NotCompleted);
    }
    if now - ends_at > Duration::days(REVIEW_WINDOW_DAYS) {
        return Err(ReviewRefusal::TooLate);
    }
    Ok(())
}

/// The average of `count` shown reviews whose stars sum to `sum`; None without one. What every
/// face shows and what the filter and the sort compare (never recomputed elsewhere).
pub fn average(sum: i32, count: i32) -> Option<f64> {
    (count > 0).then(|| f64::from(sum) / f64::from(count))
}

/// The average as shown: to one decimal.
pub fn shown_average(sum: i32, count: i32) -> Option<f64> {
    average(sum, count).map(|a| (a * 10.0).round() / 10.0)
}

/// Whether the average reaches `min` (a therapist without reviews never does).
pub fn meets(sum: i32, count: i32, min: f64) -> bool {
    average(sum, count).is_some_and(|a| a >= min)
}

/// The order of the rating sort, best first: a key that sorts ascending as "the higher average
/// first, then more reviews, then no reviews last". The average is a correctly rounded
/// division, so equal fractions (4/1, 8/2) tie, and a positive double orders as its bits.
pub fn best_first_key(
    sum: i32,
    count: i32,
) -> (bool, std::cmp::Reverse<u64>, std::cmp::Reverse<i32>) {
    let avg = average(sum, count).unwrap_or(0.0);
    (
        count == 0,
        std::cmp::Reverse(avg.to_bits()),
        std::cmp::Reverse(count),
    )
}

/// How a review's author is named in public: the first name and the initial of the last
/// ("Maria G."); one word stays as it is.
pub fn author_label(name: &str) -> String {
    let mut words = name.split_whitespace();
    let first = words.next().unwrap_or("A client");
    match words.last().and_then(|l| l.chars().next()) {
        Some(i) => format!("{first} {}.", i.to_uppercase()),
        None => first.to_owned(),
    }
}

/// The minimum ratings a search form offers.
pub const MIN_RATING_CHOICES: [(&str, &str); 4] = [
    ("3", "3 stars or more"),
    ("4", "4 stars or more"),
    ("4.5", "4.5 stars or more"),
    ("5", "5 stars"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(days: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap() + Duration::days(days)
    }

    #[test]
    fn a_completed_appointment_takes_a_review_for_90_days() {
        use AppointmentStatus::*;
        assert_eq!(may_review(Completed, at(0), at(90)), Ok(()));
        assert_eq!(
            may_review(Completed, at(0), at(91)),
            Err(ReviewRefusal::TooLate)
        );
        for s in [Requested, Confirmed, Cancelled, NoShow] {
            assert_eq!(
                may_review(s, at(0), at(1)),
                Err(ReviewRefusal::NotCompleted)
            );
        }
    }

    #[test]
    fn reviews_are_parsed_with_their_limits() {
        assert_eq!(
            parse_review(Some("5"), "  Great  ").unwrap(),
            ReviewInput {
                rating: 5,
                text: "Great".into()
            }
        );
        assert!(parse_review(Some("4"), "").is_ok());
        for bad in [None, Some("0"), Some("6"), Some("x"), Some("4.5")] {
            assert!(parse_review(bad, "").unwrap_err().contains_key("rating"));
        }
        let long = "é".repeat(MAX_TEXT_CHARS + 1);
        assert!(parse_review(Some("3"), &long)
            .unwrap_err()
            .contains_key("text"));
        assert!(parse_review(Some("3"), &"é".repeat(MAX_TEXT_CHARS)).is_ok());
        assert!(parse_reply("  ").unwrap_err().contains_key("text"));
        assert!(parse_hide_reason("").unwrap_err().contains_key("reason"));
    }

    #[test]
    fn the_average_orders_best_first_then_more_reviews() {
        assert_eq!(average(0, 0), None);
        assert_eq!(shown_average(14, 3), Some(4.7));
        assert!(meets(9, 2, 4.5) && !meets(8, 2, 4.5) && !meets(0, 0, 1.0));
        let mut v = vec![(0, 0), (8, 2), (4, 1), (10, 2), (5, 1)];
        v.sort_by_key(|(s, c)| best_first_key(*s, *c));
        assert_eq!(v, vec![(10, 2), (5, 1), (8, 2), (4, 1), (0, 0)]);
    }

    #[test]
    fn authors_are_named_by_first_name_and_initial() {
        assert_eq!(author_label("Maria  de la Garza"), "Maria G.");
        assert_eq!(author_label("Sam"), "Sam");
        assert_eq!(author_label(""), "A client");
    }
}
