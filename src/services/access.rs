//! Who may act, proven by type. A [`Proof`] ([`Admin`], [`Therapist`], [`Client`]) can only be
//! made from an authenticated user of that role ([`Proof::prove`]), and the services that only
//! that role may call take it instead of a bare id: a handler that forgot to check the role has
//! nothing to pass, so it does not compile. The pages and the API obtain proofs through their
//! extractors (`web::As<P>`, `api::ApiAs<P>`), and whole scopes (`/admin`, `/api/v1/admin`) are
//! guarded as well (`startup::routes`).

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

proof!(
    /// An administrator.
    Admin,
    Role::Admin
);
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
        }
    }

    #[test]
    fn a_proof_is_made_only_for_its_role() {
        assert_eq!(Admin::prove(user("admin")).map(|a| a.id()).ok(), Some(7));
        assert!(Admin::prove(user("therapist")).is_err());
        assert!(Admin::prove(user("client")).is_err());
        assert!(Therapist::prove(user("therapist")).is_ok());
        assert!(Therapist::prove(user("admin")).is_err());
        assert!(Client::prove(user("client")).is_ok());
        assert!(Client::prove(user("therapist")).is_err());
    }
}
