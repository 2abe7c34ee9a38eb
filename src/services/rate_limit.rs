//! Per client address limit on login attempts (in memory, per process; the per-account limit
//! lives in the database so that all processes share it, see `accounts::authenticate`).

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct IpLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl IpLimiter {
    pub fn per_minute(n: u32) -> IpLimiter {
        let n = NonZeroU32::new(n.max(1)).expect("non-zero");
        IpLimiter {
            limiter: RateLimiter::keyed(Quota::per_minute(n)),
        }
    }

    /// `Ok` when this address may try now, else the seconds to wait.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        if self.limiter.len() > 100_000 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&ip).map_err(|not_until| {
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
        assert!(l.check(a).is_ok());
        assert!(l.check(a).is_ok());
        let wait = l.check(a).unwrap_err();
        assert!((1..=61).contains(&wait), "{wait}");
        assert!(l.check(b).is_ok());
    }
}
