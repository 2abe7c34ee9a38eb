//! Per-key limits kept in memory, per process: login attempts per client address, and the
//! account mails (password reset links, verification links) per address and per email. The
//! per-account login limit lives in the database so that all processes share it (see
//! `accounts::authenticate`).

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// A limit per key (an address, an email).
pub struct KeyedLimiter<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
}

/// Per client address.
pub type IpLimiter = KeyedLimiter<IpAddr>;

/// Per email address (lower-cased by the caller).
pub type EmailLimiter = KeyedLimiter<String>;

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// `n` a minute for each key.
    pub fn per_minute(n: u32) -> KeyedLimiter<K> {
        let n = NonZeroU32::new(n.max(1)).expect("non-zero");
        KeyedLimiter {
            limiter: RateLimiter::keyed(Quota::per_minute(n)),
        }
    }

    /// `n` an hour for each key (the first `n` at once, then one every hour / n).
    pub fn per_hour(n: u32) -> KeyedLimiter<K> {
        let n = NonZeroU32::new(n.max(1)).expect("non-zero");
        KeyedLimiter {
            limiter: RateLimiter::keyed(Quota::per_hour(n)),
        }
    }

    /// `Ok` when this key may go on now, else 429 `too_many_requests` with the wait (the
    /// answer's `Retry-After`).
    pub fn admit(&self, key: &K) -> Result<(), crate::error::AppError> {
        self.check(key)
            .map_err(|wait| crate::error::AppError::TooManyRequests {
                retry_after_secs: wait,
            })
    }

    /// `Ok` when this key may go on now, else the seconds to wait.
    pub fn check(&self, key: &K) -> Result<(), u64> {
        if self.limiter.len() > 100_000 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + 1
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_address_on_its_own() {
        let l = IpLimiter::per_minute(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(l.check(&a).is_ok());
        assert!(l.check(&a).is_ok());
        let wait = l.check(&a).unwrap_err();
        assert!((1..=61).contains(&wait), "{wait}");
        assert!(l.check(&b).is_ok());
    }

    #[test]
    fn limits_each_email_per_hour() {
        let l = EmailLimiter::per_hour(1);
        assert!(l.check(&"a@example.com".to_string()).is_ok());
        let wait = l.check(&"a@example.com".to_string()).unwrap_err();
        assert!(wait > 60, "{wait}");
        assert!(l.check(&"b@example.com".to_string()).is_ok());
    }
}
