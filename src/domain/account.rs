//! Accounts: parsed email, password, name and role. An invalid value cannot exist.

use std::fmt;

pub const PASSWORD_MIN_CHARS: usize = 8;
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

/// A new password: 8 to 128 characters, kept whole (never trimmed or truncated).
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(NewPassword::parse("1234567").is_err());
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
