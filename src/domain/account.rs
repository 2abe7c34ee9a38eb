//! Accounts: parsed email, password, name and role (an invalid value cannot exist), what a
//! new password must be ([`NewPassword::parse_strong`]: long enough and hard to guess), and the
//! single-use tokens mailed to people ([`TokenPurpose`]: what each is for and how long it works).

use std::fmt;

pub const PASSWORD_MIN_CHARS: usize = 10;
/// The lowest zxcvbn score a new password may have (3: about 10^10 guesses or more).
pub const PASSWORD_MIN_SCORE: u8 = 3;
pub const PASSWORD_MAX_CHARS: usize = 128;
pub const NAME_MAX_CHARS: usize = 100;
pub const EMAIL_MAX_CHARS: usize = 254;

/// An email address, trimmed and lower-cased (so that the same mailbox in another letter case
/// is the same account; the database refuses duplicates by `lower(email)` as well).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Email, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("Enter your email address.".into());
        }
        if s.chars().count() > EMAIL_MAX_CHARS {
            return Err(format!(
                "An email address has at most {EMAIL_MAX_CHARS} characters."
            ));
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err("Enter an email address like name@example.com.".into());
        };
        let valid = !local.is_empty()
            && !domain.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            && !local.contains('@');
        if !valid {
            return Err("Enter an email address like name@example.com.".into());
        }
        Ok(Email(s.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password of the right length: 10 to 128 characters, kept whole (never trimmed or
/// truncated). A password a person chooses is parsed with [`NewPassword::parse_strong`], which
/// also refuses one that is easy to guess.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(input: &str) -> Result<NewPassword, String> {
        let n = input.chars().count();
        if n < PASSWORD_MIN_CHARS {
            return Err(format!(
                "Use at least {PASSWORD_MIN_CHARS} characters for your password."
            ));
        }
        if n > PASSWORD_MAX_CHARS {
            return Err(format!(
                "A password has at most {PASSWORD_MAX_CHARS} characters."
            ));
        }
        Ok(NewPassword(input.to_string()))
    }

    /// A password a person chooses (registration, reset, change, an invitation): the length of
    /// [`NewPassword::parse`], and not easy to guess: zxcvbn's score at least
    /// [`PASSWORD_MIN_SCORE`], with what the site knows of the person (`context`: their name and
    /// email) counted as guessable. The error says why, in zxcvbn's words.
    pub fn parse_strong(input: &str, context: &[&str]) -> Result<NewPassword, String> {
        let password = NewPassword::parse(input)?;
        // A name and an address as typed, run together ("anasilva"), and each of their parts
        // ("ana", "silva", "example"): each is guessable.
        let mut inputs: Vec<String> = Vec::new();
        for c in context {
            inputs.push(c.to_string());
            inputs.push(c.chars().filter(|ch| ch.is_alphanumeric()).collect());
            inputs.extend(
                c.split(|ch: char| !ch.is_alphanumeric())
                    .filter(|w| w.chars().count() >= 3)
                    .map(str::to_string),
            );
        }
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let entropy = zxcvbn::zxcvbn(input, &inputs);
        if (entropy.score() as u8) >= PASSWORD_MIN_SCORE {
            return Ok(password);
        }
        let mut why = String::from("This password is too easy to guess.");
        match entropy.feedback() {
            Some(f) if !f.to_string().trim().is_empty() => {
                why.push(' ');
                why.push_str(f.to_string().trim());
            }
            _ => why.push_str(" Add another word or two. Uncommon words are better."),
        }
        drop(password);
        Err(why)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

/// A person's display name: trimmed, 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(input: &str) -> Result<PersonName, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("Enter your name.".into());
        }
        if s.chars().count() > NAME_MAX_CHARS {
            return Err(format!("A name has at most {NAME_MAX_CHARS} characters."));
        }
        if s.chars().any(|c| c.is_control()) {
            return Err("A name cannot contain control characters.".into());
        }
        Ok(PersonName(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Client,
    Therapist,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Therapist => "therapist",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "client" => Some(Role::Client),
            "therapist" => Some(Role::Therapist),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The roles a person may choose when registering (admins are made by the CLI or an admin).
    pub fn parse_self_service(s: &str) -> Result<Role, String> {
        match Role::parse(s.trim()) {
            Some(Role::Client) => Ok(Role::Client),
            Some(Role::Therapist) => Ok(Role::Therapist),
            _ => Err("Choose whether you are a client or a therapist.".into()),
        }
    }
}

/// What a single-use token sent by mail is for (`account_tokens.purpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// Verify an address: the account's own at registration, or a new one (an email change).
    VerifyEmail,
    /// Choose a new password after "Forgot your password?".
    PasswordReset,
    /// An invited admin sets their password; also a client whose account a therapist made
    /// when entering a booking for them (they claim it by choosing a password).
    AdminInvite,
    /// Answer the screening questions of a booking the therapist entered (bound to that
    /// appointment, `account_tokens.appointment_id`; works until the appointment starts).
    Screening,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::PasswordReset => "password_reset",
            TokenPurpose::AdminInvite => "admin_invite",
            TokenPurpose::Screening => "screening",
        }
    }

    pub fn parse(s: &str) -> Option<TokenPurpose> {
        [
            TokenPurpose::VerifyEmail,
            TokenPurpose::PasswordReset,
            TokenPurpose::AdminInvite,
            TokenPurpose::Screening,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }

    /// How long a token works after it was sent: 48 hours to verify an address, 1 hour to
    /// reset a password, 7 days to accept an invitation. A screening link works until its
    /// appointment starts (`services::tokens::issue_until`); this is its longest, a year.
    pub fn lifetime_hours(self) -> i64 {
        match self {
            TokenPurpose::VerifyEmail => 48,
            TokenPurpose::PasswordReset => 1,
            TokenPurpose::AdminInvite => 7 * 24,
            TokenPurpose::Screening => 366 * 24,
        }
    }

    /// The lifetime as mails say it ("48 hours").
    pub fn lifetime_words(self) -> String {
        match self.lifetime_hours() {
            1 => "1 hour".into(),
            h if h % 24 == 0 && h > 48 => format!("{} days", h / 24),
            h => format!("{h} hours"),
        }
    }

    /// The page of the site the mail's link opens (`?token=` follows).
    pub fn page(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "/verify-email",
            TokenPurpose::PasswordReset => "/password-reset/confirm",
            TokenPurpose::AdminInvite => "/accept-invite",
            TokenPurpose::Screening => "/bookings/{id}/screening",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_password_is_long_and_hard_to_guess() {
        assert!(NewPassword::parse_strong("short", &[]).is_err());
        let weak = NewPassword::parse_strong("password123", &[]).unwrap_err();
        assert!(
            weak.starts_with("This password is too easy to guess."),
            "{weak}"
        );
        // What the site knows of the person does not count as secret.
        assert!(
            NewPassword::parse_strong("adalovelace1815", &["Ada Lovelace", "ada@example.com"])
                .is_err()
        );
        assert!(NewPassword::parse_strong("quartz lantern orbit meadow", &["Ada"]).is_ok());
        // The passwords of the demo and the tests pass; the demo's old one does not for its
        // accounts (their addresses are at demo.bodywork.test).
        assert!(
            NewPassword::parse_strong("bodywork-demo", &["Ana", "ana@demo.bodywork.test"]).is_err()
        );
        for p in ["a long enough password", "demo-massage-table"] {
            assert!(
                NewPassword::parse_strong(p, &["Test Person", "t@example.com"]).is_ok(),
                "{p}"
            );
        }
        assert!(NewPassword::parse_strong(&"x".repeat(129), &[]).is_err());
    }

    #[test]
    fn token_purposes_read_back_and_say_their_lifetime() {
        for p in [
            TokenPurpose::VerifyEmail,
            TokenPurpose::PasswordReset,
            TokenPurpose::AdminInvite,
        ] {
            assert_eq!(TokenPurpose::parse(p.as_str()), Some(p));
        }
        assert_eq!(TokenPurpose::VerifyEmail.lifetime_words(), "48 hours");
        assert_eq!(TokenPurpose::PasswordReset.lifetime_words(), "1 hour");
        assert_eq!(TokenPurpose::AdminInvite.lifetime_words(), "7 days");
    }

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Ana@Example.COM ").unwrap().as_str(),
            "ana@example.com"
        );
    }

    #[test]
    fn email_without_at_or_dot_is_refused() {
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "a na@example.com",
            "ana@.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn password_length_is_counted_in_characters_and_kept_whole() {
        assert!(NewPassword::parse("123456789").is_err());
        let p = NewPassword::parse(" pässwörd ").unwrap();
        assert_eq!(p.expose(), " pässwörd ");
        assert!(NewPassword::parse(&"é".repeat(128)).is_ok());
        assert!(NewPassword::parse(&"é".repeat(129)).is_err());
    }

    #[test]
    fn admin_cannot_be_chosen_at_registration() {
        assert!(Role::parse_self_service("admin").is_err());
        assert_eq!(Role::parse_self_service("therapist"), Ok(Role::Therapist));
    }

    #[test]
    fn name_is_trimmed_and_bounded() {
        assert_eq!(PersonName::parse(" Ana ").unwrap().as_str(), "Ana");
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"a".repeat(101)).is_err());
    }
}

/// Why a person may not log in while their therapist profile is suspended: when, the admin's
/// reason, and whom to write to. Logging in answers 403 `account_suspended` with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suspension {
    pub since: chrono::NaiveDateTime,
    pub reason: Option<String>,
    /// An email address to write to about it.
    pub contact: String,
}

impl fmt::Display for Suspension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Your therapist account is suspended since {} UTC",
            self.since.format("%Y-%m-%d %H:%M")
        )?;
        if let Some(r) = &self.reason {
            write!(f, " (reason: {r})")?;
        }
        write!(
            f,
            ", so you cannot log in. To ask about it, write to {}.",
            self.contact
        )
    }
}
