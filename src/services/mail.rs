//! Mails as people read them: the facts of each kind (a struct per family: [`BookingMail`],
//! [`CredentialMail`], [`StandingMail`], [`AccountMail`]) rendered by askama into a subject, a
//! plain-text part and an HTML part ([`Rendered`]), from a `.txt` and an `.html` template per
//! kind in `templates/mail/` (both extend `_layout`). [`MailCtx`] carries what every mail needs
//! from the settings: the site's absolute address for links, and when reminders go out.
//!
//! The structs have no field for screening answers, outcomes, reasons or notes, so no template
//! can print them: a flagged booking's mail says only that there is something to read
//! ([`BookingMail::flagged`]), with a link. HTML templates escape everything they print.

use askama::Template;

use crate::domain::mail::{MailKind, DEFAULT_REMINDER_HOURS};
use crate::error::AppError;

/// What every mail needs from the settings.
#[derive(Debug, Clone)]
pub struct MailCtx {
    /// The site's absolute address without a trailing slash (`BODYWORK_BASE_URL`, default
    /// `http://` + the listen address): links in mails start with it.
    pub base_url: String,
    /// How many hours before a session its reminders go out (`BODYWORK_REMINDER_HOURS`).
    pub reminder_hours: i64,
    /// The address of `MAIL_FROM`: the organizer of the calendar invitations mails carry.
    pub organizer: String,
}

impl MailCtx {
    pub fn new(base_url: &str, reminder_hours: i64) -> MailCtx {
        MailCtx {
            base_url: base_url.trim_end_matches('/').to_string(),
            reminder_hours,
            organizer: "no-reply@localhost".into(),
        }
    }

    /// With the invitations' organizer address.
    pub fn with_organizer(mut self, address: &str) -> MailCtx {
        self.organizer = address.to_string();
        self
    }

    /// An absolute link to a path of the site (`/bookings/7`).
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

impl Default for MailCtx {
    fn default() -> Self {
        MailCtx::new("http://127.0.0.1:8080", DEFAULT_REMINDER_HOURS)
    }
}

/// A mail ready for the outbox: subject, both bodies and the calendar file if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// An iCalendar file (`METHOD:REQUEST` or `METHOD:CANCEL`), attached as `booking.ics`.
    pub ics: Option<String>,
}

/// Which booking mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingEvent {
    Requested,
    Received,
    Confirmed,
    Declined,
    CancelledByClient,
    CancelledByTherapist,
    Moved,
    Reminder,
}

impl BookingEvent {
    pub fn kind(self) -> MailKind {
        match self {
            BookingEvent::Requested => MailKind::BookingRequested,
            BookingEvent::Received => MailKind::BookingReceived,
            BookingEvent::Confirmed => MailKind::BookingConfirmed,
            BookingEvent::Declined => MailKind::BookingDeclined,
            BookingEvent::CancelledByClient => MailKind::BookingCancelledByClient,
            BookingEvent::CancelledByTherapist => MailKind::BookingCancelledByTherapist,
            BookingEvent::Moved => MailKind::BookingMoved,
            BookingEvent::Reminder => MailKind::Reminder,
        }
    }
}

/// The facts of a booking mail. Times are written by `domain::mail::mail_time` on the
/// therapist's clock.
#[derive(Debug, Clone)]
pub struct BookingMail {
    pub event: BookingEvent,
    /// The recipient's name (the greeting).
    pub to_name: String,
    /// Whether the recipient is the therapist (else the client).
    pub for_therapist: bool,
    pub therapist_name: String,
    pub client_name: String,
    /// "Swedish, 60 minutes".
    pub service: String,
    /// When it starts (a move: the new time).
    pub when: String,
    /// A move: the time it had before.
    pub old_when: Option<String>,
    /// By when the therapist answers a request.
    pub confirm_by: Option<String>,
    /// The therapist's reason for a decline or cancel. A reason may speak of health, so the
    /// mail says only that there is one and where to read it (the booking's page), never its
    /// text; never the client's own cancel reason either.
    pub reason: Option<String>,
    /// The screening flagged something the therapist must read before confirming: the mail
    /// says only that, with the link.
    pub flagged: bool,
    /// Booked at once with auto-confirm (not a request).
    pub confirmed: bool,
    /// The client withdrew a request (rather than cancelling a confirmed booking).
    pub withdrawn: bool,
    /// An admin cancelled it (not the therapist).
    pub by_admin: bool,
    /// Where: the studio's public address, or that it is a mobile visit (`ics::location`).
    /// Never a client's address: mails leave the system.
    pub location: String,
    /// The recipient's page of this booking.
    pub link: String,
    /// Where reminders are turned off (reminders only).
    pub settings_link: String,
    /// A course: every booked session's time, in order (empty for a single booking).
    pub sessions: Vec<String>,
}

/// Which credential mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialEvent {
    Verified,
    Rejected,
    LicenseExpiring,
}

impl CredentialEvent {
    pub fn kind(self) -> MailKind {
        match self {
            CredentialEvent::Verified => MailKind::CredentialVerified,
            CredentialEvent::Rejected => MailKind::CredentialRejected,
            CredentialEvent::LicenseExpiring => MailKind::LicenseExpiring,
        }
    }
}

/// The facts of a credential mail to a therapist.
#[derive(Debug, Clone)]
pub struct CredentialMail {
    pub event: CredentialEvent,
    pub to_name: String,
    /// "License MA-12345 (MA, Board of Massage Therapy)" or "Training: Swedish course, 120 hours".
    pub what: String,
    /// The admin's reason for a rejection.
    pub reason: Option<String>,
    /// A license's expiry date ("Tuesday 1 December 2026").
    pub expires_on: Option<String>,
    /// The therapist's credentials page.
    pub link: String,
}

/// Which standing mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StandingEvent {
    Suspended,
    Reinstated,
}

impl StandingEvent {
    pub fn kind(self) -> MailKind {
        match self {
            StandingEvent::Suspended => MailKind::Suspended,
            StandingEvent::Reinstated => MailKind::Reinstated,
        }
    }
}

/// The facts of a suspension or reinstatement mail to a therapist.
#[derive(Debug, Clone)]
pub struct StandingMail {
    pub event: StandingEvent,
    pub to_name: String,
    /// The admin's reason.
    pub reason: String,
    /// Where the therapist goes next (their area, or the site).
    pub link: String,
}

/// Which account mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountEvent {
    VerifyEmail,
    EmailChangeNotice,
    PasswordReset,
    PasswordChanged,
    AdminInvitation,
}

impl AccountEvent {
    pub fn kind(self) -> MailKind {
        match self {
            AccountEvent::VerifyEmail => MailKind::VerifyEmail,
            AccountEvent::EmailChangeNotice => MailKind::EmailChangeNotice,
            AccountEvent::PasswordReset => MailKind::PasswordReset,
            AccountEvent::PasswordChanged => MailKind::PasswordChanged,
            AccountEvent::AdminInvitation => MailKind::AdminInvitation,
        }
    }
}

/// The facts of an account mail.
#[derive(Debug, Clone)]
pub struct AccountMail {
    pub event: AccountEvent,
    pub to_name: String,
    /// The link to follow (verify, reset, accept the invitation), or the site for notices.
    pub link: String,
    /// How long the link works ("48 hours").
    pub valid_for: Option<String>,
    /// An email change: the new address (in the notice to the old one).
    pub new_email: Option<String>,
    /// An invitation: who invited.
    pub invited_by: Option<String>,
}

/// Which mail of a booking the therapist entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnteredEvent {
    /// To the client: booked by the therapist, questions to answer.
    ScreeningRequest,
    /// To the therapist: the answers need their decision.
    NeedsDecision,
    /// To the client: the therapist kept the booking with another service.
    ServiceChanged,
}

impl EnteredEvent {
    pub fn kind(self) -> MailKind {
        match self {
            EnteredEvent::ScreeningRequest => MailKind::ScreeningRequest,
            EnteredEvent::NeedsDecision => MailKind::BookingNeedsDecision,
            EnteredEvent::ServiceChanged => MailKind::BookingServiceChanged,
        }
    }
}

/// The facts of a mail about a booking the therapist entered. No field holds answers, an
/// outcome or the therapist's note: the therapist's mail says only that a booking needs their
/// decision.
#[derive(Debug, Clone)]
pub struct EnteredMail {
    pub event: EnteredEvent,
    pub to_name: String,
    pub therapist_name: String,
    pub client_name: String,
    /// "Swedish, 60 minutes".
    pub service: String,
    /// When it starts, on the therapist's clock.
    pub when: String,
    /// Where: the studio's address, else the therapist's city (None when neither is known).
    pub place: Option<String>,
    /// The client: the screening page with its single-use token; the therapist: the
    /// appointment's page.
    pub link: String,
    /// A new person: the link that claims the account made for them (set a password).
    pub claim_link: Option<String>,
    /// How long the claim link works ("7 days").
    pub claim_valid_for: Option<String>,
}

/// The facts of a waitlist mail: a time of the service the client waits for came free. The
/// link books that time; the first to book it gets it.
#[derive(Debug, Clone)]
pub struct WaitlistMail {
    pub to_name: String,
    pub therapist_name: String,
    /// "Swedish, 60 minutes".
    pub service: String,
    /// When the free time starts, on the therapist's clock.
    pub when: String,
    /// The booking page with the time chosen.
    pub link: String,
    /// The client's waitlist page (to leave it).
    pub list_link: String,
    /// The days waited for ("1 December to 8 December 2026").
    pub range: String,
}

/// A `.txt` and an `.html` template over one kind's facts (the HTML page's title is the
/// subject).
macro_rules! mail_templates {
    ($($txt:ident, $html:ident ($data:ty) => $txt_path:tt, $html_path:tt;)*) => {
        $(
            #[derive(Template)]
            #[template(path = $txt_path)]
            struct $txt<'a> {
                m: &'a $data,
                base_url: &'a str,
            }

            #[derive(Template)]
            #[template(path = $html_path)]
            struct $html<'a> {
                m: &'a $data,
                base_url: &'a str,
                subject: &'a str,
            }
        )*
    };
}

mail_templates! {
    BookingRequestedTxt, BookingRequestedHtml(BookingMail) =>
        "mail/booking_requested.txt", "mail/booking_requested.html";
    BookingReceivedTxt, BookingReceivedHtml(BookingMail) =>
        "mail/booking_received.txt", "mail/booking_received.html";
    BookingConfirmedTxt, BookingConfirmedHtml(BookingMail) =>
        "mail/booking_confirmed.txt", "mail/booking_confirmed.html";
    BookingDeclinedTxt, BookingDeclinedHtml(BookingMail) =>
        "mail/booking_declined.txt", "mail/booking_declined.html";
    CancelledByClientTxt, CancelledByClientHtml(BookingMail) =>
        "mail/booking_cancelled_by_client.txt", "mail/booking_cancelled_by_client.html";
    CancelledByTherapistTxt, CancelledByTherapistHtml(BookingMail) =>
        "mail/booking_cancelled_by_therapist.txt", "mail/booking_cancelled_by_therapist.html";
    BookingMovedTxt, BookingMovedHtml(BookingMail) =>
        "mail/booking_moved.txt", "mail/booking_moved.html";
    ReminderTxt, ReminderHtml(BookingMail) =>
        "mail/reminder.txt", "mail/reminder.html";
    CredentialVerifiedTxt, CredentialVerifiedHtml(CredentialMail) =>
        "mail/credential_verified.txt", "mail/credential_verified.html";
    CredentialRejectedTxt, CredentialRejectedHtml(CredentialMail) =>
        "mail/credential_rejected.txt", "mail/credential_rejected.html";
    LicenseExpiringTxt, LicenseExpiringHtml(CredentialMail) =>
        "mail/license_expiring.txt", "mail/license_expiring.html";
    SuspendedTxt, SuspendedHtml(StandingMail) =>
        "mail/suspended.txt", "mail/suspended.html";
    ReinstatedTxt, ReinstatedHtml(StandingMail) =>
        "mail/reinstated.txt", "mail/reinstated.html";
    VerifyEmailTxt, VerifyEmailHtml(AccountMail) =>
        "mail/verify_email.txt", "mail/verify_email.html";
    EmailChangeNoticeTxt, EmailChangeNoticeHtml(AccountMail) =>
        "mail/email_change_notice.txt", "mail/email_change_notice.html";
    PasswordResetTxt, PasswordResetHtml(AccountMail) =>
        "mail/password_reset.txt", "mail/password_reset.html";
    PasswordChangedTxt, PasswordChangedHtml(AccountMail) =>
        "mail/password_changed.txt", "mail/password_changed.html";
    AdminInvitationTxt, AdminInvitationHtml(AccountMail) =>
        "mail/admin_invitation.txt", "mail/admin_invitation.html";
    ScreeningRequestTxt, ScreeningRequestHtml(EnteredMail) =>
        "mail/screening_request.txt", "mail/screening_request.html";
    NeedsDecisionTxt, NeedsDecisionHtml(EnteredMail) =>
        "mail/booking_needs_decision.txt", "mail/booking_needs_decision.html";
    ServiceChangedTxt, ServiceChangedHtml(EnteredMail) =>
        "mail/booking_service_changed.txt", "mail/booking_service_changed.html";
    WaitlistSlotFreeTxt, WaitlistSlotFreeHtml(WaitlistMail) =>
        "mail/waitlist_slot_free.txt", "mail/waitlist_slot_free.html";
}

fn rendered(
    subject: String,
    text: askama::Result<String>,
    html: askama::Result<String>,
    ics: Option<String>,
) -> Result<Rendered, AppError> {
    let fail = |e: askama::Error| AppError::Internal(anyhow::anyhow!("mail template: {e}"));
    Ok(Rendered {
        text: text.map_err(fail)?,
        html: html.map_err(fail)?,
        subject,
        ics,
    })
}

/// Renders both parts of a mail with the templates `$txt` and `$html` over `$m`.
macro_rules! render_pair {
    ($ctx:expr, $m:expr, $subject:expr, $txt:ident, $html:ident, $ics:expr) => {{
        let subject: String = $subject;
        let (m, base_url) = ($m, $ctx.base_url.as_str());
        rendered(
            subject.clone(),
            $txt { m, base_url }.render(),
            $html {
                m,
                base_url,
                subject: &subject,
            }
            .render(),
            $ics,
        )
    }};
}

/// A booking mail; `ics` is the calendar file a client's confirmation, move or cancellation
/// carries (see `domain::mail::calendar_update`).
pub fn render_booking(
    ctx: &MailCtx,
    m: &BookingMail,
    ics: Option<String>,
) -> Result<Rendered, AppError> {
    use BookingEvent as E;
    match m.event {
        E::Requested => {
            let subject = if !m.sessions.is_empty() {
                format!(
                    "New course of {} sessions: {} from {}",
                    m.sessions.len(),
                    m.client_name,
                    m.when
                )
            } else if m.confirmed {
                format!("New booking: {} on {}", m.client_name, m.when)
            } else {
                format!("New request to confirm: {} on {}", m.client_name, m.when)
            };
            render_pair!(
                ctx,
                m,
                subject,
                BookingRequestedTxt,
                BookingRequestedHtml,
                ics
            )
        }
        E::Received => render_pair!(
            ctx,
            m,
            if m.sessions.is_empty() {
                format!("Your request to {} was sent", m.therapist_name)
            } else {
                format!(
                    "Your request for a course of {} sessions with {} was sent",
                    m.sessions.len(),
                    m.therapist_name
                )
            },
            BookingReceivedTxt,
            BookingReceivedHtml,
            ics
        ),
        E::Confirmed => render_pair!(
            ctx,
            m,
            if m.sessions.is_empty() {
                format!("Booked: {} with {}", m.when, m.therapist_name)
            } else {
                format!(
                    "Booked: a course of {} sessions with {} from {}",
                    m.sessions.len(),
                    m.therapist_name,
                    m.when
                )
            },
            BookingConfirmedTxt,
            BookingConfirmedHtml,
            ics
        ),
        E::Declined => render_pair!(
            ctx,
            m,
            format!("{} could not take your request", m.therapist_name),
            BookingDeclinedTxt,
            BookingDeclinedHtml,
            ics
        ),
        E::CancelledByClient => {
            let subject = if !m.sessions.is_empty() {
                format!(
                    "{} cancelled {} session(s) of their course from {}",
                    m.client_name,
                    m.sessions.len(),
                    m.when
                )
            } else if m.withdrawn {
                format!("{} withdrew their request for {}", m.client_name, m.when)
            } else {
                format!("{} cancelled their booking on {}", m.client_name, m.when)
            };
            render_pair!(
                ctx,
                m,
                subject,
                CancelledByClientTxt,
                CancelledByClientHtml,
                ics
            )
        }
        E::CancelledByTherapist => render_pair!(
            ctx,
            m,
            if m.sessions.is_empty() {
                format!("Cancelled: your booking on {}", m.when)
            } else {
                format!(
                    "Cancelled: {} session(s) of your course from {}",
                    m.sessions.len(),
                    m.when
                )
            },
            CancelledByTherapistTxt,
            CancelledByTherapistHtml,
            ics
        ),
        E::Moved => render_pair!(
            ctx,
            m,
            format!("Moved: your booking is now on {}", m.when),
            BookingMovedTxt,
            BookingMovedHtml,
            ics
        ),
        E::Reminder => {
            let with = if m.for_therapist {
                &m.client_name
            } else {
                &m.therapist_name
            };
            render_pair!(
                ctx,
                m,
                format!("Reminder: {} with {with}", m.when),
                ReminderTxt,
                ReminderHtml,
                ics
            )
        }
    }
}

/// A credential mail to a therapist.
pub fn render_credential(ctx: &MailCtx, m: &CredentialMail) -> Result<Rendered, AppError> {
    use CredentialEvent as E;
    match m.event {
        E::Verified => render_pair!(
            ctx,
            m,
            "Verified: your credential on Bodywork".to_string(),
            CredentialVerifiedTxt,
            CredentialVerifiedHtml,
            None
        ),
        E::Rejected => render_pair!(
            ctx,
            m,
            "Not verified: your credential on Bodywork".to_string(),
            CredentialRejectedTxt,
            CredentialRejectedHtml,
            None
        ),
        E::LicenseExpiring => render_pair!(
            ctx,
            m,
            "Your license expires soon".to_string(),
            LicenseExpiringTxt,
            LicenseExpiringHtml,
            None
        ),
    }
}

/// A suspension or reinstatement mail to a therapist.
pub fn render_standing(ctx: &MailCtx, m: &StandingMail) -> Result<Rendered, AppError> {
    match m.event {
        StandingEvent::Suspended => render_pair!(
            ctx,
            m,
            "Your Bodywork profile is suspended".to_string(),
            SuspendedTxt,
            SuspendedHtml,
            None
        ),
        StandingEvent::Reinstated => render_pair!(
            ctx,
            m,
            "Your Bodywork profile is back".to_string(),
            ReinstatedTxt,
            ReinstatedHtml,
            None
        ),
    }
}

/// An account mail (verification, email change, password, invitation).
pub fn render_account(ctx: &MailCtx, m: &AccountMail) -> Result<Rendered, AppError> {
    use AccountEvent as E;
    match m.event {
        E::VerifyEmail => render_pair!(
            ctx,
            m,
            "Confirm your email address for Bodywork".to_string(),
            VerifyEmailTxt,
            VerifyEmailHtml,
            None
        ),
        E::EmailChangeNotice => render_pair!(
            ctx,
            m,
            "Your Bodywork email address is being changed".to_string(),
            EmailChangeNoticeTxt,
            EmailChangeNoticeHtml,
            None
        ),
        E::PasswordReset => render_pair!(
            ctx,
            m,
            "Reset your Bodywork password".to_string(),
            PasswordResetTxt,
            PasswordResetHtml,
            None
        ),
        E::PasswordChanged => render_pair!(
            ctx,
            m,
            "Your Bodywork password was changed".to_string(),
            PasswordChangedTxt,
            PasswordChangedHtml,
            None
        ),
        E::AdminInvitation => render_pair!(
            ctx,
            m,
            "You are invited to administer Bodywork".to_string(),
            AdminInvitationTxt,
            AdminInvitationHtml,
            None
        ),
    }
}

/// A mail of a booking the therapist entered; `ics` is the client's calendar invitation.
pub fn render_entered(
    ctx: &MailCtx,
    m: &EnteredMail,
    ics: Option<String>,
) -> Result<Rendered, AppError> {
    match m.event {
        EnteredEvent::ScreeningRequest => render_pair!(
            ctx,
            m,
            format!("{} booked you: {}", m.therapist_name, m.when),
            ScreeningRequestTxt,
            ScreeningRequestHtml,
            ics
        ),
        EnteredEvent::NeedsDecision => render_pair!(
            ctx,
            m,
            format!("A booking needs your decision: {}", m.when),
            NeedsDecisionTxt,
            NeedsDecisionHtml,
            ics
        ),
        EnteredEvent::ServiceChanged => render_pair!(
            ctx,
            m,
            format!("Your booking with {} was changed", m.therapist_name),
            ServiceChangedTxt,
            ServiceChangedHtml,
            ics
        ),
    }
}

/// The mail to a waiting client about a time that came free.
pub fn render_waitlist(ctx: &MailCtx, m: &WaitlistMail) -> Result<Rendered, AppError> {
    render_pair!(
        ctx,
        m,
        format!("A time came free with {}: {}", m.therapist_name, m.when),
        WaitlistSlotFreeTxt,
        WaitlistSlotFreeHtml,
        None
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn booking(event: BookingEvent) -> BookingMail {
        BookingMail {
            event,
            to_name: "Dana Client".into(),
            for_therapist: false,
            therapist_name: "Maya Okafor".into(),
            client_name: "Dana Client".into(),
            service: "Swedish, 60 minutes".into(),
            when: "Tuesday 1 December 2026, 09:00 New York time".into(),
            old_when: Some("Monday 30 November 2026, 10:00 New York time".into()),
            confirm_by: Some("Monday 30 November 2026, 09:00 New York time".into()),
            reason: Some("I am <away> that week".into()),
            flagged: true,
            confirmed: false,
            withdrawn: false,
            by_admin: false,
            location: "12 Elm Street, Suite 3".into(),
            link: "https://bw.example/bookings/7".into(),
            settings_link: "https://bw.example/account".into(),
            sessions: Vec::new(),
        }
    }

    #[test]
    fn every_booking_mail_renders_both_parts_with_the_link() {
        let ctx = MailCtx::new("https://bw.example/", 24);
        for event in [
            BookingEvent::Requested,
            BookingEvent::Received,
            BookingEvent::Confirmed,
            BookingEvent::Declined,
            BookingEvent::CancelledByClient,
            BookingEvent::CancelledByTherapist,
            BookingEvent::Moved,
            BookingEvent::Reminder,
        ] {
            let r = render_booking(&ctx, &booking(event), None).unwrap();
            assert!(!r.subject.is_empty());
            assert!(
                r.text.contains("https://bw.example/bookings/7"),
                "{event:?}: {}",
                r.text
            );
            assert!(
                r.html.contains("https://bw.example/bookings/7"),
                "{event:?}: {}",
                r.html
            );
            assert!(r.text.contains("Dana Client"), "{event:?}");
            assert!(r.html.starts_with("<!DOCTYPE html>"), "{event:?}");
            // HTML escapes what people typed.
            assert!(!r.html.contains("<away>"), "{event:?}");
        }
    }

    #[test]
    fn a_declined_request_says_there_is_a_reason_but_never_mails_it() {
        let ctx = MailCtx::default();
        let r = render_booking(&ctx, &booking(BookingEvent::Declined), None).unwrap();
        assert!(r.text.contains("They gave a reason"), "{}", r.text);
        assert!(!r.text.contains("away"), "{}", r.text);
        assert!(!r.html.contains("away"), "{}", r.html);
    }

    #[test]
    fn other_mails_render_too() {
        let ctx = MailCtx::default();
        for event in [
            CredentialEvent::Verified,
            CredentialEvent::Rejected,
            CredentialEvent::LicenseExpiring,
        ] {
            let m = CredentialMail {
                event,
                to_name: "Maya".into(),
                what: "License 123 (MA)".into(),
                reason: Some("blurry scan".into()),
                expires_on: Some("Tuesday 1 December 2026".into()),
                link: ctx.link("/therapist/credentials"),
            };
            let r = render_credential(&ctx, &m).unwrap();
            assert!(r.text.contains("License 123 (MA)"), "{event:?}");
        }
        for event in [StandingEvent::Suspended, StandingEvent::Reinstated] {
            let m = StandingMail {
                event,
                to_name: "Maya".into(),
                reason: "checked".into(),
                link: ctx.link("/therapist"),
            };
            assert!(render_standing(&ctx, &m).unwrap().text.contains("Maya"));
        }
        for event in [
            AccountEvent::VerifyEmail,
            AccountEvent::EmailChangeNotice,
            AccountEvent::PasswordReset,
            AccountEvent::PasswordChanged,
            AccountEvent::AdminInvitation,
        ] {
            let m = AccountMail {
                event,
                to_name: "Ada".into(),
                link: ctx.link("/verify-email?token=abc"),
                valid_for: Some("48 hours".into()),
                new_email: Some("new@example.com".into()),
                invited_by: Some("Grace".into()),
            };
            let r = render_account(&ctx, &m).unwrap();
            assert!(r.text.contains("Ada"), "{event:?}");
        }
        for event in [
            EnteredEvent::ScreeningRequest,
            EnteredEvent::NeedsDecision,
            EnteredEvent::ServiceChanged,
        ] {
            let m = EnteredMail {
                event,
                to_name: "Dana <Client>".into(),
                therapist_name: "Maya Okafor".into(),
                client_name: "Dana <Client>".into(),
                service: "Swedish, 60 minutes".into(),
                when: "Tuesday 1 December 2026, 09:00 New York time".into(),
                place: Some("12 Main St, Boston".into()),
                link: ctx.link("/bookings/7/screening?token=abc"),
                claim_link: Some(ctx.link("/accept-invite?token=def")),
                claim_valid_for: Some("7 days".into()),
            };
            let r = render_entered(&ctx, &m, None).unwrap();
            assert!(
                r.text.contains("/bookings/7/screening?token=abc"),
                "{event:?}"
            );
            assert!(
                r.html.contains("/bookings/7/screening?token=abc"),
                "{event:?}"
            );
            assert!(!r.html.contains("<Client>"), "{event:?}");
            let claim = r.text.contains("/accept-invite?token=def");
            assert_eq!(claim, event == EnteredEvent::ScreeningRequest, "{event:?}");
        }
    }
}
