//! Mail rules: what kinds of mail there are ([`MailKind`], stored as text in the outbox), where
//! an outbox row stands ([`OutboxStatus`]), when a failed send is tried again ([`retry_after`],
//! [`MAX_ATTEMPTS`]), when a reminder goes out ([`reminder_at`]), and which calendar method and
//! sequence a booking mail's `.ics` carries ([`calendar_update`]).
//!
//! **What a mail never says.** No mail holds screening answers, screening outcomes or reasons,
//! or session notes: a mail about a flagged booking says only that there is something to read,
//! with a link. The templates (`templates/mail/`) get no such field to print.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// What a mail is about: one kind per event of the mail table (README "Mail").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// To the therapist: a client asked for a time (or booked it, with auto-confirm).
    BookingRequested,
    /// To the client: the request arrived and waits for the therapist.
    BookingReceived,
    /// To the client: the therapist confirmed (or auto-confirm did); carries the `.ics`.
    BookingConfirmed,
    /// To the client: the therapist declined the request, with their reason.
    BookingDeclined,
    /// To the therapist: the client cancelled or withdrew.
    BookingCancelledByClient,
    /// To the client: the therapist or an admin cancelled; `.ics` `METHOD:CANCEL` when it was
    /// confirmed.
    BookingCancelledByTherapist,
    /// To both: the client moved the booking; the client's carries the `.ics` with a new
    /// `SEQUENCE` when it was confirmed.
    BookingMoved,
    /// To client and therapist, `reminder_hours` before the start.
    Reminder,
    /// To the therapist: an admin verified a license or training record.
    CredentialVerified,
    /// To the therapist: an admin rejected one, with the reason.
    CredentialRejected,
    /// To the therapist: their verified license expires within 30 days (once per license).
    LicenseExpiring,
    /// To the therapist: an admin suspended their profile.
    Suspended,
    /// To the therapist: an admin lifted the suspension.
    Reinstated,
    /// To the account: the link that verifies its email address (registration, a new address).
    VerifyEmail,
    /// To the old address of an account whose email is being changed.
    EmailChangeNotice,
    /// To the account: a password reset link.
    PasswordReset,
    /// To the account: its password was changed.
    PasswordChanged,
    /// To the invitee: an admin invited them; a link to set a password.
    AdminInvitation,
    /// To the client: their therapist entered a booking for them; a link to answer the
    /// screening questions (and, for a new person, to claim the account made for them).
    ScreeningRequest,
    /// To the therapist: the answers of a booking they entered need their decision (the mail
    /// says only that, with a link).
    BookingNeedsDecision,
    /// To the client: the therapist kept a booking they entered with another service (the new
    /// service and time, never why).
    BookingServiceChanged,
    /// To a waiting client: a time of the service on their waitlist came free; a link that
    /// books it.
    WaitlistSlotFree,
}

impl MailKind {
    pub const ALL: [MailKind; 22] = [
        MailKind::BookingRequested,
        MailKind::BookingReceived,
        MailKind::BookingConfirmed,
        MailKind::BookingDeclined,
        MailKind::BookingCancelledByClient,
        MailKind::BookingCancelledByTherapist,
        MailKind::BookingMoved,
        MailKind::Reminder,
        MailKind::CredentialVerified,
        MailKind::CredentialRejected,
        MailKind::LicenseExpiring,
        MailKind::Suspended,
        MailKind::Reinstated,
        MailKind::VerifyEmail,
        MailKind::EmailChangeNotice,
        MailKind::PasswordReset,
        MailKind::PasswordChanged,
        MailKind::AdminInvitation,
        MailKind::ScreeningRequest,
        MailKind::BookingNeedsDecision,
        MailKind::BookingServiceChanged,
        MailKind::WaitlistSlotFree,
    ];

    /// The stored text, also the API's `kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::BookingRequested => "booking_requested",
            MailKind::BookingReceived => "booking_received",
            MailKind::BookingConfirmed => "booking_confirmed",
            MailKind::BookingDeclined => "booking_declined",
            MailKind::BookingCancelledByClient => "booking_cancelled_by_client",
            MailKind::BookingCancelledByTherapist => "booking_cancelled_by_therapist",
            MailKind::BookingMoved => "booking_moved",
            MailKind::Reminder => "reminder",
            MailKind::CredentialVerified => "credential_verified",
            MailKind::CredentialRejected => "credential_rejected",
            MailKind::LicenseExpiring => "license_expiring",
            MailKind::Suspended => "suspended",
            MailKind::Reinstated => "reinstated",
            MailKind::VerifyEmail => "verify_email",
            MailKind::EmailChangeNotice => "email_change_notice",
            MailKind::PasswordReset => "password_reset",
            MailKind::PasswordChanged => "password_changed",
            MailKind::AdminInvitation => "admin_invitation",
            MailKind::ScreeningRequest => "screening_request",
            MailKind::BookingNeedsDecision => "booking_needs_decision",
            MailKind::BookingServiceChanged => "booking_service_changed",
            MailKind::WaitlistSlotFree => "waitlist_slot_free",
        }
    }

    pub fn parse(s: &str) -> Option<MailKind> {
        MailKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// For people (the admin's outbox page).
    pub fn label(self) -> &'static str {
        match self {
            MailKind::BookingRequested => "Booking requested",
            MailKind::BookingReceived => "Booking received",
            MailKind::BookingConfirmed => "Booking confirmed",
            MailKind::BookingDeclined => "Booking declined",
            MailKind::BookingCancelledByClient => "Cancelled by the client",
            MailKind::BookingCancelledByTherapist => "Cancelled by the therapist or an admin",
            MailKind::BookingMoved => "Booking moved",
            MailKind::Reminder => "Reminder",
            MailKind::CredentialVerified => "Credential verified",
            MailKind::CredentialRejected => "Credential rejected",
            MailKind::LicenseExpiring => "License expiring",
            MailKind::Suspended => "Profile suspended",
            MailKind::Reinstated => "Profile reinstated",
            MailKind::VerifyEmail => "Verify email",
            MailKind::EmailChangeNotice => "Email change notice",
            MailKind::PasswordReset => "Password reset",
            MailKind::PasswordChanged => "Password changed",
            MailKind::AdminInvitation => "Admin invitation",
            MailKind::ScreeningRequest => "Booked by the therapist: questions to answer",
            MailKind::BookingNeedsDecision => "A booking needs the therapist's decision",
            MailKind::BookingServiceChanged => "Booking changed by the therapist",
            MailKind::WaitlistSlotFree => "A time on a waitlist came free",
        }
    }

    /// Whether the mail is still wanted only while its appointment is active and its person
    /// wants reminders (checked when it is enqueued and again when it is sent).
    pub fn is_reminder(self) -> bool {
        match self {
            MailKind::Reminder => true,
            MailKind::BookingRequested
            | MailKind::BookingReceived
            | MailKind::BookingConfirmed
            | MailKind::BookingDeclined
            | MailKind::BookingCancelledByClient
            | MailKind::BookingCancelledByTherapist
            | MailKind::BookingMoved
            | MailKind::CredentialVerified
            | MailKind::CredentialRejected
            | MailKind::LicenseExpiring
            | MailKind::Suspended
            | MailKind::Reinstated
            | MailKind::VerifyEmail
            | MailKind::EmailChangeNotice
            | MailKind::PasswordReset
            | MailKind::PasswordChanged
            | MailKind::AdminInvitation
            | MailKind::ScreeningRequest
            | MailKind::BookingNeedsDecision
            | MailKind::BookingServiceChanged
            | MailKind::WaitlistSlotFree => false,
        }
    }
}

impl fmt::Display for MailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an outbox row stands.
///
/// A send is marked `sending` (committed) before the mail goes to the SMTP server and `sent`
/// once the server accepted it. A worker that dies between the two leaves the row `sending`:
/// whether the server took the mail is not known, so when the row's lease runs out it is put
/// `in_doubt` and never sent again by itself (sending it again could deliver it twice; an admin
/// can send it again). A send that fails before it started is queued again as before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxStatus {
    /// Waiting to be sent: new, or waiting for a retry (its `send_after` says when).
    Queued,
    /// Being handed to the SMTP server by the worker that holds its lease.
    Sending,
    Sent,
    /// Given up after [`MAX_ATTEMPTS`].
    Failed,
    /// No longer wanted (a reminder of a cancelled or moved booking, or reminders turned off).
    Withdrawn,
    /// Its worker stopped mid-send (a crash): it may or may not have arrived, so it is not sent
    /// again unless an admin asks.
    InDoubt,
}

impl OutboxStatus {
    pub const ALL: [OutboxStatus; 6] = [
        OutboxStatus::Queued,
        OutboxStatus::Sending,
        OutboxStatus::Sent,
        OutboxStatus::Failed,
        OutboxStatus::Withdrawn,
        OutboxStatus::InDoubt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Queued => "queued",
            OutboxStatus::Sending => "sending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Failed => "failed",
            OutboxStatus::Withdrawn => "withdrawn",
            OutboxStatus::InDoubt => "in_doubt",
        }
    }

    pub fn parse(s: &str) -> Option<OutboxStatus> {
        OutboxStatus::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            OutboxStatus::Queued => "Waiting to be sent",
            OutboxStatus::Sending => "Being sent",
            OutboxStatus::Sent => "Sent",
            OutboxStatus::Failed => "Failed (given up)",
            OutboxStatus::Withdrawn => "Withdrawn",
            OutboxStatus::InDoubt => "Interrupted (may have arrived)",
        }
    }

    /// Nothing more happens to it by itself: old ones are purged.
    pub fn is_final(self) -> bool {
        match self {
            OutboxStatus::Queued | OutboxStatus::Sending => false,
            OutboxStatus::Sent
            | OutboxStatus::Failed
            | OutboxStatus::Withdrawn
            | OutboxStatus::InDoubt => true,
        }
    }

    /// An admin may send it again: it was given up, or it is not known whether it arrived.
    pub fn can_send_again(self) -> bool {
        match self {
            OutboxStatus::Failed | OutboxStatus::InDoubt => true,
            OutboxStatus::Queued
            | OutboxStatus::Sending
            | OutboxStatus::Sent
            | OutboxStatus::Withdrawn => false,
        }
    }

    /// The stored text of the final statuses, for the purge.
    pub fn final_strs() -> Vec<&'static str> {
        OutboxStatus::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .map(OutboxStatus::as_str)
            .collect()
    }

    /// The stored text of the statuses an admin may send again.
    pub fn again_strs() -> Vec<&'static str> {
        OutboxStatus::ALL
            .into_iter()
            .filter(|s| s.can_send_again())
            .map(OutboxStatus::as_str)
            .collect()
    }
}

impl fmt::Display for OutboxStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mail is given up (`failed`) after this many failed sends: with [`retry_after`] that is
/// about an hour and a half of trying.
pub const MAX_ATTEMPTS: i32 = 10;

/// The first retry waits this long (before jitter).
pub const FIRST_RETRY: Duration = Duration::from_secs(15);

/// No wait between two tries is longer than this.
pub const MAX_RETRY: Duration = Duration::from_secs(15 * 60);

/// How long to wait after the `attempts`-th failed send (1 for the first) before trying again:
/// 15 s, 30 s, 1 min, 2 min, ... doubling up to 15 minutes, each stretched by `jitter` (0.0 to
/// 1.0: up to half as long again) so that servers that failed together do not retry together.
/// The first retry comes within 30 s.
pub fn retry_after(attempts: i32, jitter: f64) -> Duration {
    let doublings = attempts.clamp(1, 30) as u32 - 1;
    let base = FIRST_RETRY
        .checked_mul(1u32 << doublings.min(20))
        .unwrap_or(MAX_RETRY)
        .min(MAX_RETRY);
    let stretch = 1.0 + jitter.clamp(0.0, 1.0) / 2.0;
    base.mul_f64(stretch).min(MAX_RETRY)
}

/// Whether the send that just failed (the `attempts`-th) was the last one.
pub fn gives_up(attempts: i32) -> bool {
    attempts >= MAX_ATTEMPTS
}

/// The default hours before a session that its reminder goes out.
pub const DEFAULT_REMINDER_HOURS: i64 = 24;

/// When the reminder of a session starting at `start` goes out: `hours` before it. None when
/// that moment has passed already at `now` (a booking made or confirmed less than `hours` ahead:
/// the confirmation itself is fresh).
pub fn reminder_at(start: DateTime<Utc>, now: DateTime<Utc>, hours: i64) -> Option<DateTime<Utc>> {
    let at = start - chrono::Duration::hours(hours.max(0));
    (at > now).then_some(at)
}

/// An iCalendar scheduling method (RFC 5546) of a mail's `.ics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarMethod {
    /// Add or update the event.
    Request,
    /// Remove it.
    Cancel,
}

impl CalendarMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            CalendarMethod::Request => "REQUEST",
            CalendarMethod::Cancel => "CANCEL",
        }
    }
}

/// What happened to a booking, as its client's calendar sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarChange {
    /// Confirmed (by the therapist, or booked with auto-confirm).
    Confirmed,
    /// Moved to another time; `sequence` is the moved booking's (one more than before).
    Moved,
    /// Kept at its time with another service (another technique or length); `sequence` is the
    /// booking's after the change (one more than before).
    ServiceChanged,
    /// Cancelled or declined.
    Cancelled,
    /// A confirmed booking moved by its client to a time the therapist has yet to confirm
    /// (`appointment::status_after_move`): the event leaves the calendar until then, at the
    /// sequence between the old event's and the new booking's ([`sequence_after_move`]), so
    /// the confirmation's `REQUEST` brings it back.
    MovedToRequest,
}

/// The calendar sequence of a moved booking: one more than before, or two when the move took
/// a confirmed booking back to a request (the one between is its `CANCEL`).
pub fn sequence_after_move(sequence: i32, back_to_request: bool) -> i32 {
    sequence + if back_to_request { 2 } else { 1 }
}

/// The `.ics` a client's booking mail carries, as (method, SEQUENCE): only a booking that is,
/// or was, confirmed is in the client's calendar. Confirmed: `REQUEST` at the booking's
/// sequence; moved: `REQUEST` at the new (higher) sequence; cancelled: `CANCEL` one above the
/// last sequence sent. A request that was never confirmed gets none.
pub fn calendar_update(
    change: CalendarChange,
    confirmed: bool,
    sequence: i32,
) -> Option<(CalendarMethod, i32)> {
    if !confirmed {
        return None;
    }
    Some(match change {
        CalendarChange::Confirmed | CalendarChange::Moved | CalendarChange::ServiceChanged => {
            (CalendarMethod::Request, sequence)
        }
        CalendarChange::Cancelled => (CalendarMethod::Cancel, sequence + 1),
        CalendarChange::MovedToRequest => (CalendarMethod::Cancel, sequence - 1),
    })
}

/// An instant as a mail writes it, on the clock of `tz` with the zone named and the full date
/// (a mail is read later, so never "tomorrow"): "Tuesday 1 December 2026, 09:00 New York time".
pub fn mail_time(t: DateTime<Utc>, tz: Tz) -> String {
    let local = t.with_timezone(&tz);
    format!(
        "{}, {} {} time",
        local.format("%A %-d %B %Y"),
        local.format("%H:%M"),
        crate::domain::schedule::zone_city(tz)
    )
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text (a local relay or a test sink).
    None,
    /// STARTTLS, required (`?tls=starttls` or `?tls=required`).
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

/// `SMTP_URL` parsed: `smtp://host:port`, `smtp://user:pass@host:port?tls=starttls`,
/// `smtps://user:pass@host:port`. User and password are percent-decoded.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub credentials: Option<(String, String)>,
}

impl fmt::Debug for SmtpUrl {
    /// Never prints the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.credentials.as_ref().map(|(u, _)| u))
            .finish()
    }
}

impl SmtpUrl {
    pub fn parse(url: &str) -> Result<SmtpUrl, String> {
        let url = url.trim();
        let (scheme, rest) = url
            .split_once("://")
            .ok_or("SMTP_URL must look like smtp://host:port or smtps://host:port")?;
        let mut tls = match scheme.to_ascii_lowercase().as_str() {
            "smtp" => SmtpTls::None,
            "smtps" => SmtpTls::Implicit,
            other => {
                return Err(format!(
                    "SMTP_URL must start with smtp:// or smtps://, not {other}://"
                ))
            }
        };
        let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
        let authority = authority.trim_end_matches('/');
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("tls", v)) => {
                    tls = match (tls, v.to_ascii_lowercase().as_str()) {
                        (SmtpTls::Implicit, _) => {
                            return Err("smtps:// is TLS already: leave out ?tls=".into())
                        }
                        (_, "starttls" | "required") => SmtpTls::StartTls,
                        (_, "none" | "off") => SmtpTls::None,
                        (_, other) => {
                            return Err(format!(
                                "SMTP_URL ?tls= takes starttls or none, not {other}"
                            ))
                        }
                    }
                }
                _ => return Err(format!("SMTP_URL has an unknown parameter {pair:?}")),
            }
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let credentials = match userinfo {
            None => None,
            Some(u) => {
                let (user, pass) = u.split_once(':').unwrap_or((u, ""));
                Some((percent_decode(user)?, percent_decode(pass)?))
            }
        };
        let default_port = match tls {
            SmtpTls::Implicit => 465,
            SmtpTls::StartTls => 587,
            SmtpTls::None => 25,
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || !p.is_empty() => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("SMTP_URL has an invalid port {p:?}"))?,
            ),
            _ => (hostport, default_port),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err("SMTP_URL needs a host, e.g. smtp://localhost:25".into());
        }
        Ok(SmtpUrl {
            host: host.to_string(),
            port,
            tls,
            credentials,
        })
    }

    /// For the start-up log: the address without the password.
    pub fn display(&self) -> String {
        let scheme = match self.tls {
            SmtpTls::Implicit => "smtps",
            SmtpTls::None | SmtpTls::StartTls => "smtp",
        };
        let user = match &self.credentials {
            Some((u, _)) => format!("{u}@"),
            None => String::new(),
        };
        let query = if self.tls == SmtpTls::StartTls {
            "?tls=starttls"
        } else {
            ""
        };
        format!("{scheme}://{user}{}:{}{query}", self.host, self.port)
    }
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("SMTP_URL has a broken %-escape in its user or password")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "SMTP_URL's user or password is not UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_move_back_to_a_request_takes_the_event_out_until_the_confirmation_brings_it_back() {
        // Confirmed at 0, moved to a request: the new booking is at 2, its CANCEL at 1, and
        // the confirmation's REQUEST at 2 is newer than both.
        let seq = sequence_after_move(0, true);
        assert_eq!(seq, 2);
        assert_eq!(
            calendar_update(CalendarChange::MovedToRequest, true, seq),
            Some((CalendarMethod::Cancel, 1))
        );
        assert_eq!(
            calendar_update(CalendarChange::Confirmed, true, seq),
            Some((CalendarMethod::Request, 2))
        );
        assert_eq!(sequence_after_move(4, false), 5);
    }

    #[test]
    fn kinds_and_statuses_read_back_from_their_text() {
        for k in MailKind::ALL {
            assert_eq!(MailKind::parse(k.as_str()), Some(k));
        }
        for s in OutboxStatus::ALL {
            assert_eq!(OutboxStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(MailKind::parse("nope"), None);
        assert_eq!(
            OutboxStatus::final_strs(),
            ["sent", "failed", "withdrawn", "in_doubt"]
        );
        assert_eq!(OutboxStatus::again_strs(), ["failed", "in_doubt"]);
    }

    #[test]
    fn retries_back_off_exponentially_within_bounds() {
        // The first retry comes within 30 s, whatever the jitter.
        for j in [0.0, 0.5, 1.0] {
            assert!(retry_after(1, j) <= Duration::from_secs(30));
            assert!(retry_after(1, j) >= FIRST_RETRY);
        }
        assert_eq!(retry_after(2, 0.0), Duration::from_secs(30));
        assert_eq!(retry_after(3, 0.0), Duration::from_secs(60));
        // Never more than 15 minutes, even with jitter and absurd counts.
        for a in 1..40 {
            assert!(retry_after(a, 1.0) <= MAX_RETRY);
            assert!(retry_after(a, 0.0) <= retry_after(a + 1, 0.0));
        }
        assert_eq!(retry_after(12, 0.7), MAX_RETRY);
        // Jitter spreads servers that failed together.
        assert!(retry_after(2, 1.0) > retry_after(2, 0.0));
        assert!(!gives_up(MAX_ATTEMPTS - 1));
        assert!(gives_up(MAX_ATTEMPTS));
    }

    #[test]
    fn a_reminder_goes_out_before_the_start_unless_that_moment_has_passed() {
        let start = Utc.with_ymd_and_hms(2026, 12, 10, 15, 0, 0).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        assert_eq!(
            reminder_at(start, now, 24),
            Some(Utc.with_ymd_and_hms(2026, 12, 9, 15, 0, 0).unwrap())
        );
        let late = Utc.with_ymd_and_hms(2026, 12, 9, 16, 0, 0).unwrap();
        assert_eq!(reminder_at(start, late, 24), None);
    }

    #[test]
    fn only_confirmed_bookings_update_the_clients_calendar() {
        use CalendarChange::*;
        use CalendarMethod::*;
        assert_eq!(calendar_update(Confirmed, true, 0), Some((Request, 0)));
        assert_eq!(calendar_update(Moved, true, 1), Some((Request, 1)));
        assert_eq!(calendar_update(Cancelled, true, 1), Some((Cancel, 2)));
        assert_eq!(calendar_update(Cancelled, false, 0), None);
        assert_eq!(calendar_update(Moved, false, 3), None);
    }

    #[test]
    fn mail_times_carry_the_full_date_and_the_zone() {
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 14, 0, 0).unwrap();
        assert_eq!(
            mail_time(t, chrono_tz::America::New_York),
            "Tuesday 1 December 2026, 09:00 New York time"
        );
    }

    #[test]
    fn smtp_urls_parse_with_their_defaults() {
        let u = SmtpUrl::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.tls),
            ("127.0.0.1", 2525, SmtpTls::None)
        );
        assert_eq!(u.credentials, None);
        let u = SmtpUrl::parse("smtp://me%40x.org:p%3Ass@mail.x.org:587?tls=starttls").unwrap();
        assert_eq!(u.tls, SmtpTls::StartTls);
        assert_eq!(u.credentials, Some(("me@x.org".into(), "p:ss".into())));
        assert!(!format!("{u:?}").contains("p:ss"));
        assert_eq!(u.display(), "smtp://me@x.org@mail.x.org:587?tls=starttls");
        let u = SmtpUrl::parse("smtps://a:b@mail.x.org").unwrap();
        assert_eq!((u.port, u.tls), (465, SmtpTls::Implicit));
        assert_eq!(SmtpUrl::parse("smtp://localhost").unwrap().port, 25);
        for bad in [
            "http://x",
            "smtp://",
            "smtp://x:port",
            "smtp://x?tls=maybe",
            "smtp://x?foo=1",
            "smtps://x?tls=starttls",
            "nothing",
        ] {
            assert!(SmtpUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
