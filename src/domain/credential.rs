//! Credentials (licenses, training records): their review status and when a license counts.

use std::fmt;

use chrono::NaiveDate;

/// How far ahead a verified license counts as expiring soon, in days.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// A credential's review, stored as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialStatus {
    /// Waiting in the admins' queue.
    Submitted,
    Verified,
    Rejected,
}

impl CredentialStatus {
    pub const ALL: [CredentialStatus; 3] = [
        CredentialStatus::Submitted,
        CredentialStatus::Verified,
        CredentialStatus::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CredentialStatus::Submitted => "submitted",
            CredentialStatus::Verified => "verified",
            CredentialStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<CredentialStatus> {
        CredentialStatus::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for CredentialStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a license verified until `verified_until` (inclusive) counts on `today`: a license
/// counts while `verified_until >= today`, decided at read time, so expiry needs no job.
pub fn license_counts(verified_until: Option<NaiveDate>, today: NaiveDate) -> bool {
    verified_until.is_some_and(|until| until >= today)
}

/// The status a person reads for a license: a verified license past its expiry is `Expired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LicenseStatus {
    Submitted,
    Verified,
    Rejected,
    Expired,
}

impl LicenseStatus {
    /// From the stored review and the license's expiry, on `today`.
    pub fn of(stored: CredentialStatus, expires_on: NaiveDate, today: NaiveDate) -> LicenseStatus {
        match stored {
            CredentialStatus::Submitted => LicenseStatus::Submitted,
            CredentialStatus::Rejected => LicenseStatus::Rejected,
            CredentialStatus::Verified if license_counts(Some(expires_on), today) => {
                LicenseStatus::Verified
            }
            CredentialStatus::Verified => LicenseStatus::Expired,
        }
    }

    /// The text pages and the API show.
    pub fn as_str(self) -> &'static str {
        match self {
            LicenseStatus::Submitted => "submitted",
            LicenseStatus::Verified => "verified",
            LicenseStatus::Rejected => "rejected",
            LicenseStatus::Expired => "expired",
        }
    }

    /// What the therapist reads about their own license.
    pub fn therapist_words(self) -> &'static str {
        match self {
            LicenseStatus::Submitted => "Waiting for an admin to check it",
            LicenseStatus::Verified => "Verified: shown as licensed on your profile",
            LicenseStatus::Rejected => "Not accepted",
            LicenseStatus::Expired => {
                "Expired: add your renewed license to be shown as licensed again"
            }
        }
    }
}

impl CredentialStatus {
    /// What the therapist reads about their own training record.
    pub fn training_words(self) -> &'static str {
        match self {
            CredentialStatus::Submitted => "Waiting for an admin to check it",
            CredentialStatus::Verified => "Verified: these hours count",
            CredentialStatus::Rejected => "Not accepted: these hours don't count",
        }
    }
}

impl fmt::Display for LicenseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_license_counts_through_its_last_day() {
        let today = d("2026-03-10");
        assert!(license_counts(Some(d("2026-03-10")), today));
        assert!(license_counts(Some(d("2027-01-01")), today));
        assert!(!license_counts(Some(d("2026-03-09")), today));
        assert!(!license_counts(None, today));
    }

    #[test]
    fn a_verified_license_past_expiry_reads_expired() {
        let today = d("2026-03-10");
        let of = |s, e| LicenseStatus::of(s, d(e), today).as_str();
        assert_eq!(of(CredentialStatus::Verified, "2026-03-10"), "verified");
        assert_eq!(of(CredentialStatus::Verified, "2026-03-09"), "expired");
        assert_eq!(of(CredentialStatus::Submitted, "2020-01-01"), "submitted");
        assert_eq!(of(CredentialStatus::Rejected, "2020-01-01"), "rejected");
    }

    #[test]
    fn stored_text_round_trips() {
        for s in CredentialStatus::ALL {
            assert_eq!(CredentialStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(CredentialStatus::parse("expired"), None);
    }
}
