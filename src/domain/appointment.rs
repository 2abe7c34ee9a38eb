//! An appointment's status and the rules that depend on it: how a cancelled one ended
//! ([`CancelKind`]), what its client may still do ([`client_cancel`], [`client_options`]) and
//! how the client's bookings list names and groups it ([`ClientState`], [`BookingGroup`]).

use std::fmt;

use chrono::{DateTime, Duration, Utc};

use crate::domain::screening::Outcome;

/// Where an appointment stands. Stored as text (`as_str`); the migrations' overlap constraint
/// and triggers name the active ones (`requested`, `confirmed`) in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppointmentStatus {
    /// Waiting for the therapist to confirm or decline.
    Requested,
    Confirmed,
    Completed,
    /// Cancelled by the client or the therapist, withdrawn, declined, or moved (rescheduled):
    /// which one is its [`CancelKind`].
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

    /// Where it stands, in the therapist's words: the one wording of the therapist's pages and
    /// the API's `status_label`. `kind`: how a cancelled one ended; `cancelled_by_client`:
    /// whether the client cancelled it (`None` when nobody is on record); `ended`: its end has
    /// passed.
    pub fn therapist_words(
        self,
        kind: Option<CancelKind>,
        cancelled_by_client: Option<bool>,
        ended: bool,
    ) -> &'static str {
        use AppointmentStatus as S;
        match self {
            S::Requested if ended => "Not confirmed in time",
            S::Requested => "Waiting for you to confirm",
            S::Confirmed if ended => "Confirmed, not marked completed yet",
            S::Confirmed => "Confirmed",
            S::Completed => "Completed",
            S::NoShow => "No-show: the client did not come",
            S::Cancelled => match (kind, cancelled_by_client) {
                (Some(CancelKind::Declined), _) => "Declined by you",
                (Some(CancelKind::Withdrawn), _) => "Withdrawn by the client",
                (Some(CancelKind::Rescheduled), _) => "Moved by the client to another time",
                (Some(CancelKind::Cancelled) | None, Some(true)) => "Cancelled by the client",
                (Some(CancelKind::Cancelled) | None, Some(false)) => "Cancelled by you",
                (Some(CancelKind::Cancelled) | None, None) => "Cancelled",
            },
        }
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

/// Where a session happens, stored in `appointments.visit`: at the therapist's studio (their
/// address), or a mobile visit at the client's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visit {
    Studio,
    Mobile,
}

impl Visit {
    pub const ALL: [Visit; 2] = [Visit::Studio, Visit::Mobile];

    pub fn as_str(self) -> &'static str {
        match self {
            Visit::Studio => "studio",
            Visit::Mobile => "mobile",
        }
    }

    pub fn parse(s: &str) -> Option<Visit> {
        Visit::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The word pages show (week grid, lists).
    pub fn words(self) -> &'static str {
        match self {
            Visit::Studio => "In studio",
            Visit::Mobile => "Mobile visit",
        }
    }
}

impl TryFrom<String> for Visit {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Visit::parse(&s).ok_or_else(|| format!("unknown visit {s:?}"))
    }
}

impl From<Visit> for String {
    fn from(v: Visit) -> String {
        v.as_str().to_string()
    }
}

/// How a cancelled appointment ended, stored in `appointments.cancel_kind` (null while it is
/// active or finished). Who cancelled is `cancelled_by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CancelKind {
    /// A confirmed booking cancelled by its client or its therapist.
    Cancelled,
    /// A request withdrawn by its client before the therapist confirmed it.
    Withdrawn,
    /// A request the therapist declined (with a reason for the client).
    Declined,
    /// Moved by its client to another time: a new appointment holds the new time.
    Rescheduled,
}

impl CancelKind {
    pub const ALL: [CancelKind; 4] = [
        CancelKind::Cancelled,
        CancelKind::Withdrawn,
        CancelKind::Declined,
        CancelKind::Rescheduled,
    ];

    /// The stored text, also the API's JSON string.
    pub fn as_str(self) -> &'static str {
        match self {
            CancelKind::Cancelled => "cancelled",
            CancelKind::Withdrawn => "withdrawn",
            CancelKind::Declined => "declined",
            CancelKind::Rescheduled => "rescheduled",
        }
    }

    pub fn parse(s: &str) -> Option<CancelKind> {
        CancelKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What a client's cancel becomes when the rules allow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientCancel {
    /// A request the therapist has not confirmed: withdrawn, whatever the cancellation window.
    Withdraw,
    /// A confirmed booking, outside the therapist's cancellation window.
    Cancel,
}

/// Why a client may not cancel (online).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelRefusal {
    /// Cancelled, completed or a no-show already.
    Final,
    /// Its start has passed.
    Started,
    /// Confirmed and inside the therapist's cancellation window: the client must contact them.
    TooLate { window_hours: i32 },
}

/// Whether `starts` is less than the therapist's cancellation window away. A slot inside the
/// window is marked when it is chosen ("can't be cancelled online"): once confirmed, its client
/// can no longer cancel or move it online, so booking it needs the client's acknowledgement
/// (`BookingRequest::window_acknowledged`).
pub fn inside_window(starts: DateTime<Utc>, now: DateTime<Utc>, window_hours: i32) -> bool {
    starts - now < Duration::hours(window_hours as i64)
}

/// A slot that can't be cancelled online: it has not started and is inside the therapist's
/// cancellation window ([`inside_window`]). Pages mark it when it is chosen, the API says it
/// (`cancellable_online: false`), and booking it needs the client's acknowledgement.
pub fn cannot_cancel_online(starts: DateTime<Utc>, now: DateTime<Utc>, window_hours: i32) -> bool {
    starts > now && inside_window(starts, now, window_hours)
}

/// How long a therapist has to answer a request, at most.
pub const CONFIRM_WITHIN_HOURS: i64 = 24;
/// A request is answered at least this long before its start (when it was made earlier).
pub const CONFIRM_BEFORE_START_HOURS: i64 = 2;

/// By when the therapist is asked to confirm or decline a request made at `requested`:
/// [`CONFIRM_WITHIN_HOURS`] after it, but never later than [`CONFIRM_BEFORE_START_HOURS`]
/// before the start; a request made later than that is answered before it starts. Only
/// requests (`awaits_decision`) have one. Nothing happens by itself when it passes: the client
/// may withdraw the request (always possible while it is requested).
pub fn confirm_by(
    status: AppointmentStatus,
    requested: DateTime<Utc>,
    starts: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if !status.awaits_decision() {
        return None;
    }
    let by = (requested + Duration::hours(CONFIRM_WITHIN_HOURS))
        .min(starts - Duration::hours(CONFIRM_BEFORE_START_HOURS));
    Some(if by > requested { by } else { starts })
}

/// The client's cancel rule: a request may be withdrawn any time before it starts; the
/// cancellation window applies to confirmed bookings only.
pub fn client_cancel(
    status: AppointmentStatus,
    starts: DateTime<Utc>,
    now: DateTime<Utc>,
    window_hours: i32,
) -> Result<ClientCancel, CancelRefusal> {
    if !status.is_active() {
        return Err(CancelRefusal::Final);
    }
    if starts <= now {
        return Err(CancelRefusal::Started);
    }
    if status.awaits_decision() {
        return Ok(ClientCancel::Withdraw);
    }
    if inside_window(starts, now, window_hours) {
        return Err(CancelRefusal::TooLate { window_hours });
    }
    Ok(ClientCancel::Cancel)
}

/// A client may move an active booking only outside the therapist's cancellation window.
pub fn client_may_move(
    status: AppointmentStatus,
    starts: DateTime<Utc>,
    now: DateTime<Utc>,
    window_hours: i32,
) -> bool {
    status.is_active() && !inside_window(starts, now, window_hours)
}

/// The status of a booking its client moved: a confirmed booking goes back to `requested`
/// when the therapist confirms by hand (they agreed to the old time, not the new one); with
/// auto-confirm, or a request still waiting, it keeps its status.
pub fn status_after_move(status: AppointmentStatus, auto_confirm: bool) -> AppointmentStatus {
    match status {
        AppointmentStatus::Confirmed if !auto_confirm => AppointmentStatus::Requested,
        other => other,
    }
}

/// What the booking page offers its client now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientOptions {
    /// "Withdraw request": requested and not started.
    pub withdraw: bool,
    /// "Cancel this booking": confirmed, outside the window.
    pub cancel: bool,
    /// "Move to another time": active, outside the window.
    pub reschedule: bool,
    /// Confirmed, not started, inside the window: only the therapist can cancel it now.
    pub too_late: bool,
}

pub fn client_options(
    status: AppointmentStatus,
    starts: DateTime<Utc>,
    now: DateTime<Utc>,
    window_hours: i32,
) -> ClientOptions {
    let cancel = client_cancel(status, starts, now, window_hours);
    ClientOptions {
        withdraw: cancel == Ok(ClientCancel::Withdraw),
        cancel: cancel == Ok(ClientCancel::Cancel),
        reschedule: client_may_move(status, starts, now, window_hours),
        too_late: matches!(cancel, Err(CancelRefusal::TooLate { .. })),
    }
}

/// The groups of the client's bookings list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BookingGroup {
    /// Requested or confirmed, not ended yet: soonest first.
    Upcoming,
    /// Completed, no-shows, and requested or confirmed ones whose time has ended: most recent
    /// first.
    Past,
    /// Cancelled, withdrawn, declined or moved: most recent first.
    Cancelled,
}

impl BookingGroup {
    /// The API's JSON string.
    pub fn as_str(self) -> &'static str {
        match self {
            BookingGroup::Upcoming => "upcoming",
            BookingGroup::Past => "past",
            BookingGroup::Cancelled => "cancelled",
        }
    }

    /// The list's order within the group: by start, latest first unless upcoming.
    pub fn latest_first(self) -> bool {
        self != BookingGroup::Upcoming
    }
}

/// Where a booking stands for its client: what the bookings list says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientState {
    /// Requested, waiting for the therapist.
    AwaitingConfirmation,
    Confirmed,
    Completed,
    NoShow,
    /// Requested, and its time ended before the therapist confirmed it.
    NotConfirmed,
    /// Confirmed, its time ended, not marked completed (yet).
    Ended,
    Declined,
    Withdrawn,
    CancelledByYou,
    CancelledByTherapist,
    Moved,
    /// Cancelled by nobody on record (written outside the application).
    Cancelled,
}

impl ClientState {
    /// Where an appointment stands for its client. `cancelled_by_client`: whether the stored
    /// `cancelled_by` is the client (`None` when nobody is on record); `ended`: its end has passed.
    pub fn of(
        status: AppointmentStatus,
        kind: Option<CancelKind>,
        cancelled_by_client: Option<bool>,
        ended: bool,
    ) -> ClientState {
        use AppointmentStatus as S;
        match status {
            S::Requested if ended => ClientState::NotConfirmed,
            S::Requested => ClientState::AwaitingConfirmation,
            S::Confirmed if ended => ClientState::Ended,
            S::Confirmed => ClientState::Confirmed,
            S::Completed => ClientState::Completed,
            S::NoShow => ClientState::NoShow,
            S::Cancelled => match (kind, cancelled_by_client) {
                (Some(CancelKind::Declined), _) => ClientState::Declined,
                (Some(CancelKind::Withdrawn), _) => ClientState::Withdrawn,
                (Some(CancelKind::Rescheduled), _) => ClientState::Moved,
                (Some(CancelKind::Cancelled) | None, Some(true)) => ClientState::CancelledByYou,
                (Some(CancelKind::Cancelled) | None, Some(false)) => {
                    ClientState::CancelledByTherapist
                }
                (Some(CancelKind::Cancelled) | None, None) => ClientState::Cancelled,
            },
        }
    }

    /// The list it belongs to.
    pub fn group(self) -> BookingGroup {
        use ClientState::*;
        match self {
            AwaitingConfirmation | Confirmed => BookingGroup::Upcoming,
            Completed | NoShow | NotConfirmed | Ended => BookingGroup::Past,
            Declined | Withdrawn | CancelledByYou | CancelledByTherapist | Moved | Cancelled => {
                BookingGroup::Cancelled
            }
        }
    }

    /// A stable code, the API's JSON string.
    pub fn code(self) -> &'static str {
        use ClientState::*;
        match self {
            AwaitingConfirmation => "awaiting_confirmation",
            Confirmed => "confirmed",
            Completed => "completed",
            NoShow => "no_show",
            NotConfirmed => "not_confirmed",
            Ended => "ended",
            Declined => "declined",
            Withdrawn => "withdrawn",
            CancelledByYou => "cancelled_by_you",
            CancelledByTherapist => "cancelled_by_therapist",
            Moved => "moved",
            Cancelled => "cancelled",
        }
    }

    /// In words the client understands; `therapist` is the therapist's name.
    pub fn words(self, therapist: &str) -> String {
        use ClientState::*;
        match self {
            AwaitingConfirmation => format!("Waiting for {therapist} to confirm"),
            Confirmed | Ended => "Confirmed".into(),
            Completed => "Completed".into(),
            NoShow => "Missed (marked as a no-show)".into(),
            NotConfirmed => format!("Not confirmed by {therapist} in time"),
            Declined => "Declined by the therapist".into(),
            Withdrawn => "Request withdrawn by you".into(),
            CancelledByYou => "Cancelled by you".into(),
            CancelledByTherapist => "Cancelled by the therapist".into(),
            Moved => "Moved to another time".into(),
            Cancelled => "Cancelled".into(),
        }
    }

    /// The stored cancel reason as the client is shown it, with how to introduce it
    /// ("Their reason", "Your reason"); none for a move (its reason is internal) or a blank one.
    pub fn reason(self, stored: Option<&str>) -> Option<(&'static str, &str)> {
        use ClientState::*;
        let label = match self {
            Declined | CancelledByTherapist => "Their reason",
            Withdrawn | CancelledByYou => "Your reason",
            Cancelled => "Reason",
            AwaitingConfirmation | Confirmed | Completed | NoShow | NotConfirmed | Ended
            | Moved => return None,
        };
        let reason = stored?.trim();
        (!reason.is_empty()).then_some((label, reason))
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

/// A booking the therapist entered that waits for its client's answers and can still take
/// them: pending, active, not started. Its pages ask the client to answer.
pub fn awaits_answers(
    status: AppointmentStatus,
    screening_pending: bool,
    starts: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    screening_pending && status.is_active() && starts > now
}

/// A booking the therapist entered whose answers call for the therapist's decision (see
/// `domain::screening::entered_needs_decision`), not yet decided: still active, answered
/// (not pending), its stored outcome `refer`, `decline` or an unconfirmed clearance, flags not
/// acknowledged. Keeping it with another service acknowledges them; cancelling ends it.
pub fn needs_decision(
    status: AppointmentStatus,
    entered: bool,
    screening_pending: bool,
    screening_outcome: &str,
    clearance_confirmed: bool,
    acknowledged: bool,
) -> bool {
    entered
        && status.is_active()
        && !screening_pending
        && !acknowledged
        && Outcome::parse(screening_outcome).is_some_and(|o| {
            crate::domain::screening::entered_needs_decision(o, clearance_confirmed)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_move_asks_again_only_a_therapist_who_confirms_by_hand() {
        use AppointmentStatus::*;
        assert_eq!(status_after_move(Confirmed, false), Requested);
        assert_eq!(status_after_move(Confirmed, true), Confirmed);
        assert_eq!(status_after_move(Requested, false), Requested);
        assert_eq!(status_after_move(Requested, true), Requested);
    }

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

    fn at(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::hours(h)
    }

    #[test]
    fn a_request_can_be_withdrawn_until_it_starts_the_window_binds_confirmed_ones() {
        use AppointmentStatus::*;
        let now = at(0);
        // Two hours ahead, window 24 hours.
        assert_eq!(
            client_cancel(Requested, at(2), now, 24),
            Ok(ClientCancel::Withdraw)
        );
        assert_eq!(
            client_cancel(Confirmed, at(2), now, 24),
            Err(CancelRefusal::TooLate { window_hours: 24 })
        );
        assert_eq!(
            client_cancel(Confirmed, at(24), now, 24),
            Ok(ClientCancel::Cancel)
        );
        assert_eq!(
            client_cancel(Requested, at(0), now, 0),
            Err(CancelRefusal::Started)
        );
        for s in [Cancelled, Completed, NoShow] {
            assert_eq!(client_cancel(s, at(48), now, 24), Err(CancelRefusal::Final));
        }
        let o = client_options(Requested, at(2), now, 24);
        assert!(o.withdraw && !o.cancel && !o.reschedule && !o.too_late);
        let o = client_options(Confirmed, at(2), now, 24);
        assert!(!o.withdraw && !o.cancel && !o.reschedule && o.too_late);
        let o = client_options(Confirmed, at(30), now, 24);
        assert!(!o.withdraw && o.cancel && o.reschedule && !o.too_late);
        assert_eq!(
            client_options(Cancelled, at(30), now, 24),
            ClientOptions::default()
        );
    }

    #[test]
    fn a_request_is_answered_within_a_day_but_before_the_start() {
        use AppointmentStatus::*;
        // A week ahead: 24 hours after the request.
        assert_eq!(confirm_by(Requested, at(0), at(24 * 7)), Some(at(24)));
        // Ten hours ahead: two hours before the start.
        assert_eq!(confirm_by(Requested, at(0), at(10)), Some(at(8)));
        // One hour ahead: before it starts.
        assert_eq!(confirm_by(Requested, at(0), at(1)), Some(at(1)));
        assert_eq!(confirm_by(Requested, at(0), at(2)), Some(at(2)));
        for s in [Confirmed, Cancelled, Completed, NoShow] {
            assert_eq!(confirm_by(s, at(0), at(48)), None);
        }
    }

    #[test]
    fn the_window_marks_slots_that_start_too_soon_to_cancel_online() {
        let now = at(0);
        assert!(inside_window(at(23), now, 24));
        assert!(!inside_window(at(24), now, 24));
        assert!(!inside_window(at(1), now, 0));
        assert!(cannot_cancel_online(at(23), now, 24));
        assert!(!cannot_cancel_online(at(25), now, 24));
        // Started (or past) slots are refused for other reasons.
        assert!(!cannot_cancel_online(at(0), now, 24));
    }

    #[test]
    fn client_states_group_and_name_every_booking() {
        use AppointmentStatus::*;
        let st = ClientState::of;
        assert_eq!(
            st(Requested, None, None, false),
            ClientState::AwaitingConfirmation
        );
        assert_eq!(st(Requested, None, None, true), ClientState::NotConfirmed);
        assert_eq!(st(Confirmed, None, None, true), ClientState::Ended);
        assert_eq!(
            st(Cancelled, Some(CancelKind::Declined), Some(false), false),
            ClientState::Declined
        );
        assert_eq!(
            st(Cancelled, Some(CancelKind::Cancelled), Some(true), false),
            ClientState::CancelledByYou
        );
        assert_eq!(
            st(Cancelled, None, Some(false), true),
            ClientState::CancelledByTherapist
        );
        assert_eq!(
            st(Cancelled, Some(CancelKind::Rescheduled), Some(true), false),
            ClientState::Moved
        );
        assert_eq!(st(Cancelled, None, None, false), ClientState::Cancelled);
        let g = |s: AppointmentStatus, ended| st(s, None, Some(true), ended).group();
        assert_eq!(g(Requested, false), BookingGroup::Upcoming);
        assert_eq!(g(Confirmed, false), BookingGroup::Upcoming);
        assert_eq!(g(Confirmed, true), BookingGroup::Past);
        assert_eq!(g(Requested, true), BookingGroup::Past);
        assert_eq!(g(Completed, true), BookingGroup::Past);
        assert_eq!(g(NoShow, true), BookingGroup::Past);
        assert_eq!(g(Cancelled, false), BookingGroup::Cancelled);
        assert_eq!(g(Cancelled, true), BookingGroup::Cancelled);
        assert_eq!(
            ClientState::AwaitingConfirmation.words("Maya Okafor"),
            "Waiting for Maya Okafor to confirm"
        );
        assert_eq!(
            ClientState::Declined.words("Maya Okafor"),
            "Declined by the therapist"
        );
        assert_eq!(
            ClientState::Declined.reason(Some(" Away at a course ")),
            Some(("Their reason", "Away at a course"))
        );
        assert_eq!(ClientState::Moved.reason(Some("rescheduled")), None);
        assert_eq!(ClientState::CancelledByYou.reason(Some("  ")), None);
        for k in CancelKind::ALL {
            assert_eq!(CancelKind::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn the_therapist_reads_every_status_in_words_and_a_decline_as_declined() {
        use AppointmentStatus::*;
        assert_eq!(
            Requested.therapist_words(None, None, false),
            "Waiting for you to confirm"
        );
        assert_eq!(
            Requested.therapist_words(None, None, true),
            "Not confirmed in time"
        );
        assert_eq!(
            Cancelled.therapist_words(Some(CancelKind::Declined), Some(false), false),
            "Declined by you"
        );
        assert_eq!(
            Cancelled.therapist_words(Some(CancelKind::Withdrawn), Some(true), false),
            "Withdrawn by the client"
        );
        assert_eq!(
            Cancelled.therapist_words(Some(CancelKind::Cancelled), Some(true), false),
            "Cancelled by the client"
        );
        for s in AppointmentStatus::ALL {
            for ended in [false, true] {
                let w = s.therapist_words(None, None, ended);
                assert!(!w.contains('_') && w.starts_with(char::is_uppercase), "{w}");
            }
        }
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

    #[test]
    fn only_an_answered_entered_booking_with_a_stopping_outcome_needs_a_decision() {
        use AppointmentStatus::*;
        // Entered, answered, refer: waits for the therapist.
        assert!(needs_decision(
            Confirmed, true, false, "refer", false, false
        ));
        assert!(needs_decision(
            Confirmed, true, false, "decline", false, false
        ));
        // A clearance counts only when the client could not confirm it.
        assert!(needs_decision(
            Confirmed,
            true,
            false,
            "needs_clearance",
            false,
            false
        ));
        assert!(!needs_decision(
            Confirmed,
            true,
            false,
            "needs_clearance",
            true,
            false
        ));
        // Pending (the stored outcome is no finding), acknowledged, booked by the client,
        // cancelled, or a caution: no decision.
        assert!(!needs_decision(
            Confirmed, true, true, "refer", false, false
        ));
        assert!(!needs_decision(
            Confirmed, true, false, "refer", false, true
        ));
        assert!(!needs_decision(
            Confirmed, false, false, "refer", false, false
        ));
        assert!(!needs_decision(
            Cancelled, true, false, "refer", false, false
        ));
        assert!(!needs_decision(
            Confirmed, true, false, "caution", false, false
        ));
    }
}
