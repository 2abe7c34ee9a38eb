//! Who may act, proven by type. A [`Proof`] ([`Admin`], [`Therapist`], [`Client`]) can only be
//! made from an authenticated user of that role ([`Proof::prove`]), and the services that only
//! that role may call take it instead of a bare id: a handler that forgot to check the role has
//! nothing to pass, so it does not compile. The pages and the API obtain proofs through their
//! extractors (`web::As<P>`, `api::ApiAs<P>`), and whole scopes (`/admin`, `/api/v1/admin`) are
//! guarded as well (`startup::routes`).
//!
//! **Booking needs a verified email.** [`VerifiedClient`] is a client whose address is verified;
//! `services::booking::book` takes it, so every path that books (the booking page, the API)
//! must make one, through [`VerifiedClient::prove`], the one place of the rule: otherwise 403
//! `email_unverified`.

use crate::domain::account::Role;
use crate::error::AppError;
use crate::models::user::User;

/// Proof that a user has one role.
pub trait Proof: Sized + Clone + 'static {
    /// The role this proves.
    const ROLE: Role;
    /// The proof, or 403 when `user` has another role.
    fn prove(user: User) -> Result<Self, AppError>;
    /// The person proven.
    fn user(&self) -> &User;
    /// Their user id.
    fn id(&self) -> i64 {
        self.user().id
    }
}

macro_rules! proof {
    ($(#[$doc:meta])* $name:ident, $role:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(User);

        impl Proof for $name {
            const ROLE: Role = $role;
            fn prove(user: User) -> Result<Self, AppError> {
                if user.role() == $role {
                    Ok($name(user))
                } else {
                    Err(AppError::Forbidden)
                }
            }
            fn user(&self) -> &User {
                &self.0
            }
        }
    };
}

/// An administrator who has enrolled a second factor (TOTP): an admin without one is refused
/// with 403 `totp_enrolment_required` ([`enrolment_required`]) until they enrol, on every
/// route that takes this proof, so no admin handler can forget the rule.
#[derive(Debug, Clone)]
pub struct Admin(User);

impl Proof for Admin {
    const ROLE: Role = Role::Admin;
    fn prove(user: User) -> Result<Self, AppError> {
        if user.role() != Role::Admin {
            return Err(AppError::Forbidden);
        }
        if user.must_enrol_totp() {
            return Err(enrolment_required());
        }
        Ok(Admin(user))
    }
    fn user(&self) -> &User {
        &self.0
    }
}

/// 403 `totp_enrolment_required`: an admin who has not enrolled a second factor may only
/// enrol (`/account/two-factor`, `/api/v1/me/totp`), read `/api/v1/me` and log out. The
/// extractors of a logged-in person (`web::LoggedIn`, `api::ApiUser`) refuse them with it too.
pub fn enrolment_required() -> AppError {
    AppError::Denied {
        code: crate::domain::totp::TOTP_ENROLMENT_REQUIRED,
        message: "Administrators sign in with a second factor: set up two-factor sign-in (an authenticator app) first, at /account/two-factor or POST /api/v1/me/totp.".into(),
    }
}

/// A logged-in person who may act: anyone but an admin who still has to enrol a second factor
/// (the extractors of a logged-in person call it).
pub fn may_act(user: &User) -> Result<(), AppError> {
    if user.must_enrol_totp() {
        Err(enrolment_required())
    } else {
        Ok(())
    }
}
proof!(
    /// A therapist (their profile may not exist yet).
    Therapist,
    Role::Therapist
);
proof!(
    /// A client.
    Client,
    Role::Client
);

/// The code of a booking refused because the client's email is not verified yet.
pub const EMAIL_UNVERIFIED: &str = "email_unverified";

/// A client whose email address is verified: what booking takes.
#[derive(Debug, Clone)]
pub struct VerifiedClient(Client);

impl VerifiedClient {
    /// The client, verified: 403 `email_unverified` (what to do in the message) otherwise.
    pub fn verified(client: Client) -> Result<VerifiedClient, AppError> {
        if client.user().email_verified() {
            Ok(VerifiedClient(client))
        } else {
            Err(AppError::Denied {
                code: EMAIL_UNVERIFIED,
                message: format!(
                    "Please confirm your email address before booking: open the link we sent to {}, or ask for a new one.",
                    client.user().email
                ),
            })
        }
    }

    pub fn client(&self) -> &Client {
        &self.0
    }
}

impl Proof for VerifiedClient {
    const ROLE: Role = Role::Client;
    fn prove(user: User) -> Result<Self, AppError> {
        VerifiedClient::verified(Client::prove(user)?)
    }
    fn user(&self) -> &User {
        self.0.user()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: &str) -> User {
        User {
            id: 7,
            email: "a@example.com".into(),
            password_hash: String::new(),
            name: "A".into(),
            role: role.into(),
            created_at: chrono::NaiveDateTime::default(),
            email_verified_at: None,
            erased_at: None,
            totp_enabled_at: None,
        }
    }

    #[test]
    fn booking_needs_a_client_whose_email_is_verified() {
        let err = VerifiedClient::prove(user("client")).unwrap_err();
        assert_eq!(err.code(), EMAIL_UNVERIFIED);
        assert_eq!(err.status().as_u16(), 403);
        let mut verified = user("client");
        verified.email_verified_at = Some(chrono::NaiveDateTime::default());
        assert!(VerifiedClient::prove(verified.clone()).is_ok());
        verified.role = "therapist".into();
        assert_eq!(
            VerifiedClient::prove(verified).unwrap_err().code(),
            "forbidden"
        );
    }

    #[test]
    fn an_admin_proof_needs_a_second_factor() {
        let err = Admin::prove(user("admin")).unwrap_err();
        assert_eq!(err.code(), "totp_enrolment_required");
        assert_eq!(err.status().as_u16(), 403);
        assert!(may_act(&user("admin")).is_err());
        assert!(may_act(&user("client")).is_ok());
    }

    #[test]
    fn a_proof_is_made_only_for_its_role() {
        let mut admin = user("admin");
        admin.totp_enabled_at = Some(chrono::NaiveDateTime::default());
        assert!(may_act(&admin).is_ok());
        assert_eq!(Admin::prove(admin).map(|a| a.id()).ok(), Some(7));
        assert!(Admin::prove(user("therapist")).is_err());
        assert!(Admin::prove(user("client")).is_err());
        assert!(Therapist::prove(user("therapist")).is_ok());
        assert!(Therapist::prove(user("admin")).is_err());
        assert!(Client::prove(user("client")).is_ok());
        assert!(Client::prove(user("therapist")).is_err());
    }
}
