//! An SMTP sink inside the test binary: a small tokio server speaking EHLO/HELO, MAIL, RCPT,
//! DATA, RSET, NOOP and QUIT that keeps every message it is given, so tests read mails that
//! really went over SMTP. And a server whose mail worker sends to it quickly.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bodywork::config::Settings;
use bodywork::domain::mail::SmtpUrl;
use mail_parser::MimeHeaders;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::app::{spawn_app_with, TestApp};

/// What a sink received: each message's envelope recipients and bytes.
type Store = Arc<Mutex<Vec<(Vec<String>, Vec<u8>)>>>;

/// A mail as the sink received it, parsed.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The envelope's recipients.
    pub rcpt: Vec<String>,
    pub to: String,
    pub subject: String,
    pub message_id: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
    /// The attached calendar file, if any.
    pub ics: Option<String>,
    /// The whole message as sent.
    pub raw: String,
}

impl Mail {
    fn parse(rcpt: Vec<String>, data: &[u8]) -> Mail {
        let raw = String::from_utf8_lossy(data).into_owned();
        let m = mail_parser::MessageParser::default()
            .parse(data)
            .expect("a parsable message");
        let text_part = m
            .text_bodies()
            .find(|p| p.is_text() && !p.is_text_html())
            .and_then(|p| p.text_contents())
            .unwrap_or_default()
            .to_string();
        let html_part = m
            .html_bodies()
            .find(|p| p.is_text_html())
            .and_then(|p| p.text_contents())
            .unwrap_or_default()
            .to_string();
        let ics = m
            .attachments()
            .find(|a| a.attachment_name() == Some("booking.ics"))
            .map(|a| String::from_utf8_lossy(a.contents()).into_owned());
        Mail {
            to: m
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_string(),
            subject: m.subject().unwrap_or_default().to_string(),
            message_id: m.message_id().unwrap_or_default().to_string(),
            text: text_part,
            html: html_part,
            ics,
            rcpt,
            raw,
        }
    }

    /// Everything a person could read in it: subject, both parts and the calendar file.
    pub fn readable(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}",
            self.subject,
            self.text,
            self.html,
            self.ics.as_deref().unwrap_or("")
        )
    }
}

/// A running SMTP sink.
pub struct SmtpSink {
    pub port: u16,
    received: Store,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    /// A sink on a free port.
    pub async fn start() -> SmtpSink {
        Self::serve(TcpListener::bind("127.0.0.1:0").await.expect("bind sink")).await
    }

    /// A sink on `port` (one that was free: a server's "SMTP is back").
    pub async fn start_on(port: u16) -> SmtpSink {
        Self::serve(
            TcpListener::bind(("127.0.0.1", port))
                .await
                .expect("bind sink on its port"),
        )
        .await
    }

    async fn serve(listener: TcpListener) -> SmtpSink {
        let port = listener.local_addr().unwrap().port();
        let received: Store = Arc::default();
        let store = received.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let store = store.clone();
                tokio::spawn(async move {
                    let _ = session(stream, store).await;
                });
            }
        });
        SmtpSink {
            port,
            received,
            task,
        }
    }

    /// The sink's address for `SMTP_URL`.
    pub fn url(&self) -> SmtpUrl {
        SmtpUrl::parse(&format!("smtp://127.0.0.1:{}", self.port)).unwrap()
    }

    /// Every mail received so far, in order.
    pub fn mails(&self) -> Vec<Mail> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|(rcpt, data)| Mail::parse(rcpt.clone(), data))
            .collect()
    }

    /// Forgets the mails received so far for which `unwanted` holds (a scene's registration
    /// mails, so that a test counts only the mails of what it does).
    pub fn discard(&self, unwanted: impl Fn(&Mail) -> bool) {
        self.received
            .lock()
            .unwrap()
            .retain(|(rcpt, data)| !unwanted(&Mail::parse(rcpt.clone(), data)));
    }

    /// Waits (up to 20 s) until at least `n` mails have arrived; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Mail> {
        for _ in 0..400 {
            if self.received.lock().unwrap().len() >= n {
                return self.mails();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let got = self.mails();
        panic!(
            "expected at least {n} mails, got {}: {:#?}",
            got.len(),
            got.iter().map(|m| (&m.to, &m.subject)).collect::<Vec<_>>()
        );
    }

    /// The link to `path` on `address` (the server's base URL), with its token, in the newest
    /// mail to `to` that carries one, as the person would open it: waits (up to 20 s) for the
    /// mail to arrive over SMTP. Returns the path and query.
    pub async fn link(&self, to: &str, address: &str, path: &str) -> String {
        let marker = format!("{address}{path}?token=");
        for _ in 0..400 {
            let found = self.mails().into_iter().rev().find_map(|m| {
                let at = m.text.find(&marker)?;
                (m.rcpt.iter().any(|r| r == to)).then(|| {
                    m.text[at + address.len()..]
                        .chars()
                        .take_while(|c| !c.is_whitespace())
                        .collect::<String>()
                })
            });
            if let Some(link) = found {
                return link;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no mail to {to} with a link to {path} arrived");
    }

    /// The first link to `path` on `address` (any query) in a mail to `to`, as a path and
    /// query: waits (up to 20 s) for the mail to arrive over SMTP.
    pub async fn link_to(&self, to: &str, address: &str, path: &str) -> String {
        let marker = format!("{address}{path}?");
        for _ in 0..400 {
            let found = self.mails().into_iter().find_map(|m| {
                let at = m.text.find(&marker)?;
                (m.rcpt.iter().any(|r| r == to)).then(|| {
                    m.text[at + address.len()..]
                        .chars()
                        .take_while(|c| !c.is_whitespace())
                        .collect::<String>()
                })
            });
            if let Some(link) = found {
                return link;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no mail to {to} with a link to {path} arrived");
    }

    /// Waits for at least `n` mails, then a little longer, and returns them: a test that
    /// counts exactly sees any mail sent twice.
    pub async fn settle(&self, n: usize) -> Vec<Mail> {
        self.wait_for(n).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        self.mails()
    }
}

/// One SMTP conversation: greets, answers each command, keeps each message.
async fn session(stream: tokio::net::TcpStream, store: Store) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink ESMTP ready\r\n").await?;
    let mut rcpt: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") {
            b"250-sink greets you\r\n250 8BITMIME\r\n"
        } else if command.starts_with("HELO") {
            b"250 sink\r\n"
        } else if command.starts_with("MAIL FROM") {
            rcpt.clear();
            b"250 OK\r\n"
        } else if command.starts_with("RCPT TO") {
            let addr = line.trim_end()[8..]
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string();
            rcpt.push(addr);
            b"250 OK\r\n"
        } else if command == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data: Vec<u8> = Vec::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                // Dot-stuffing: a leading dot was doubled by the client.
                let l = line.strip_prefix('.').unwrap_or(&line);
                data.extend_from_slice(l.as_bytes());
            }
            store
                .lock()
                .unwrap()
                .push((std::mem::take(&mut rcpt), data));
            b"250 OK queued\r\n"
        } else if command.starts_with("RSET") || command.starts_with("NOOP") {
            b"250 OK\r\n"
        } else if command.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"502 command not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}

/// A server whose mail worker sends to `smtp` (polling every 50 ms, housekeeping every 200
/// ms), with `configure` applied last.
pub async fn spawn_mailing_app(smtp: SmtpUrl, configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with(|s| {
        s.smtp_url = Some(smtp);
        s.mail_poll = Duration::from_millis(50);
        s.mail_housekeeping = Duration::from_millis(200);
        s.mail_lease = Duration::from_secs(20);
        configure(s);
    })
    .await
}

/// A port nothing listens on (an SMTP server that is down).
pub async fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

/// The words no mail may hold: every screening question's text, label and id, every reason
/// and therapist note the screening can give, and the distinctive words of the questions (ten
/// letters or more, such as "appendicitis" and "osteoporosis"). Read from the questionnaire
/// itself (`src/domain/screening-v1.toml`), so a new question is covered at once.
pub fn health_words() -> Vec<String> {
    let q = bodywork::domain::screening::questionnaire();
    let mut words: Vec<String> = Vec::new();
    for question in &q.questions {
        words.push(question.text.clone());
        words.push(question.label.clone());
        words.push(question.id.clone());
        words.push(question.why.clone());
        for w in question.text.split(|c: char| !c.is_alphanumeric()) {
            if w.chars().count() >= 10 {
                words.push(w.to_lowercase());
            }
        }
    }
    for rule in &q.rules {
        words.push(rule.message.clone());
        words.push(rule.therapist_note.clone());
    }
    words.retain(|w| !w.trim().is_empty());
    words.sort();
    words.dedup();
    words
}

/// Fails when any mail holds any of [`health_words`] (any letter case).
pub fn assert_no_health_data(mails: &[Mail]) {
    let words = health_words();
    for m in mails {
        let readable = m.readable().to_lowercase();
        for w in &words {
            assert!(
                !readable.contains(&w.to_lowercase()),
                "the mail {:?} to {} holds screening text {w:?}",
                m.subject,
                m.to
            );
        }
    }
}
