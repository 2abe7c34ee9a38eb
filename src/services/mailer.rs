//! The mail port: [`Mailer`] hands one finished message to the world. Two adapters: SMTP
//! through lettre ([`SmtpMailer`], `SMTP_URL`; rustls for `smtps://` and STARTTLS) and `.eml`
//! files in a folder ([`FileMailer`], `BODYWORK_MAIL_DIR`, when no `SMTP_URL` is set, so mail
//! works out of the box). [`message`] builds the MIME message of an outbox row: a plain-text
//! and an HTML part (`multipart/alternative`), the `.ics` attached when there is one, and the
//! row's own `Message-ID`, so a retried send is the same message.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use futures_util::future::BoxFuture;
use lettre::message::header::{ContentDisposition, ContentType};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::domain::mail::{SmtpTls, SmtpUrl};
use crate::models::outbox::OutboxRow;

/// Why a send failed.
#[derive(Debug, Clone)]
pub struct SendError {
    pub message: String,
    /// The server will never take this message (a 5xx answer, an address that cannot be
    /// written): retrying is pointless.
    pub permanent: bool,
}

impl SendError {
    fn transient(message: impl Into<String>) -> SendError {
        SendError {
            message: message.into(),
            permanent: false,
        }
    }
    fn permanent(message: impl Into<String>) -> SendError {
        SendError {
            message: message.into(),
            permanent: true,
        }
    }
}

/// Hands finished messages on: SMTP, files, or a test's double.
pub trait Mailer: Send + Sync {
    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<(), SendError>>;
    /// Where mail goes, for the start-up log ("SMTP smtp://mail.example.org:587?tls=starttls",
    /// "files in ./bodywork-mail").
    fn describe(&self) -> String;
}

/// SMTP through lettre.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    url: SmtpUrl,
    /// The whole send ends within this (twice the command timeout): lettre's timeout does not
    /// cover a server that accepts the connection and never greets, and a send must end inside
    /// its claim's lease (and within a graceful stop).
    deadline: Duration,
}

impl SmtpMailer {
    /// A transport for `url`, each command answered within `timeout`.
    pub fn new(url: &SmtpUrl, timeout: Duration) -> anyhow::Result<SmtpMailer> {
        let host = url.host.as_str();
        let tls_params = || {
            TlsParameters::new(host.to_string())
                .map_err(|e| anyhow::anyhow!("SMTP TLS for {host}: {e}"))
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(url.port)
            .timeout(Some(timeout));
        builder = match url.tls {
            SmtpTls::None => builder.tls(Tls::None),
            SmtpTls::StartTls => builder.tls(Tls::Required(tls_params()?)),
            SmtpTls::Implicit => builder.tls(Tls::Wrapper(tls_params()?)),
        };
        if let Some((user, pass)) = &url.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
        }
        Ok(SmtpMailer {
            transport: builder.build(),
            url: url.clone(),
            deadline: timeout * 2,
        })
    }
}

impl Mailer for SmtpMailer {
    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            match tokio::time::timeout(self.deadline, self.transport.send(message.clone())).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) if e.is_permanent() => Err(SendError::permanent(e.to_string())),
                Ok(Err(e)) => Err(SendError::transient(e.to_string())),
                Err(_) => Err(SendError::transient(format!(
                    "the SMTP server did not finish within {} s",
                    self.deadline.as_secs()
                ))),
            }
        })
    }

    fn describe(&self) -> String {
        format!("SMTP {}", self.url.display())
    }
}

/// Each message as an `.eml` file (`mail-` and its Message-ID, so a retry writes the same file)
/// in a folder.
pub struct FileMailer {
    dir: PathBuf,
}

impl FileMailer {
    /// Creates the folder when missing.
    pub fn new(dir: &Path) -> anyhow::Result<FileMailer> {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create the mail folder {}: {e}", dir.display()))?;
        Ok(FileMailer {
            dir: dir.to_path_buf(),
        })
    }

    /// The file a message is written to.
    pub fn path_of(&self, message: &Message) -> PathBuf {
        let id = message
            .headers()
            .get_raw("Message-ID")
            .unwrap_or("message")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect::<String>();
        // "mail-" first: a Message-ID may begin with "-", which shell tools read as an option.
        self.dir.join(format!("mail-{id}.eml"))
    }
}

impl Mailer for FileMailer {
    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let path = self.path_of(message);
            let bytes = message.formatted();
            tokio::task::spawn_blocking(move || {
                // Written whole or not at all: a reader never sees half a mail.
                let tmp = path.with_extension("eml.part");
                std::fs::write(&tmp, &bytes)?;
                std::fs::rename(&tmp, &path)
            })
            .await
            .map_err(|e| SendError::transient(e.to_string()))?
            .map_err(|e| SendError::transient(format!("cannot write the mail file: {e}")))
        })
    }

    fn describe(&self) -> String {
        format!("files in {}", self.dir.display())
    }
}

/// The MIME message of an outbox row, from `from`. A `to` that is not an address is a
/// permanent error.
pub fn message(row: &OutboxRow, from: &Mailbox) -> Result<Message, SendError> {
    let to = Mailbox::from_str(&row.to_email)
        .map_err(|e| SendError::permanent(format!("not an address: {e}")))?;
    let alternative = MultiPart::alternative()
        .singlepart(SinglePart::plain(row.body_text.clone()))
        .singlepart(SinglePart::html(row.body_html.clone()));
    let body = match &row.ics {
        None => alternative,
        Some(ics) => {
            let method = ics_method(ics).unwrap_or("PUBLISH");
            let content_type = ContentType::parse(&format!(
                "text/calendar; charset=utf-8; method={method}; name=\"booking.ics\""
            ))
            .map_err(|e| SendError::permanent(format!("calendar part: {e}")))?;
            MultiPart::mixed().multipart(alternative).singlepart(
                SinglePart::builder()
                    .header(content_type)
                    .header(ContentDisposition::attachment("booking.ics"))
                    .body(ics.clone()),
            )
        }
    };
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(row.subject.clone())
        .message_id(Some(row.message_id.clone()))
        .date(row.created_at.and_utc().into())
        .multipart(body)
        .map_err(|e| SendError::permanent(format!("cannot build the message: {e}")))
}

/// The `METHOD` of an iCalendar text.
fn ics_method(ics: &str) -> Option<&'static str> {
    ics.lines()
        .find_map(|l| l.trim_end().strip_prefix("METHOD:"))
        .and_then(|m| match m {
            "REQUEST" => Some("REQUEST"),
            "CANCEL" => Some("CANCEL"),
            "PUBLISH" => Some("PUBLISH"),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn row(ics: Option<&str>) -> OutboxRow {
        let t = NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap();
        OutboxRow {
            id: 1,
            kind: "booking_confirmed".into(),
            to_email: "dana@example.com".into(),
            user_id: None,
            appointment_id: None,
            subject: "Booked".into(),
            body_text: "Hello Dana".into(),
            body_html: "<p>Hello Dana</p>".into(),
            ics: ics.map(str::to_string),
            message_id: "<abc@bodywork.mail>".into(),
            status: "queued".into(),
            attempts: 0,
            last_error: None,
            send_after: t,
            claimed_until: None,
            claimed_by: None,
            created_at: t,
            sent_at: None,
        }
    }

    #[test]
    fn a_message_has_both_parts_its_id_and_the_calendar() {
        let from: Mailbox = "Bodywork <no-reply@localhost>".parse().unwrap();
        let m = message(&row(None), &from).unwrap();
        let text = String::from_utf8(m.formatted()).unwrap();
        assert!(text.contains("Message-ID: <abc@bodywork.mail>"), "{text}");
        assert!(text.contains("multipart/alternative"), "{text}");
        assert!(text.contains("text/plain"), "{text}");
        assert!(text.contains("text/html"), "{text}");
        let ics = "BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\nEND:VCALENDAR\r\n";
        let m = message(&row(Some(ics)), &from).unwrap();
        let text = String::from_utf8(m.formatted()).unwrap();
        assert!(text.contains("method=CANCEL"), "{text}");
        assert!(text.contains("booking.ics"), "{text}");
        let mut bad = row(None);
        bad.to_email = "not an address".into();
        assert!(message(&bad, &from).unwrap_err().permanent);
    }
}
