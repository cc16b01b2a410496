//! Login throttling: after repeated failures an account, or an address, is
//! locked for a while. The counters live in the database so that every
//! instance sees them; this module holds the rule.

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, Copy)]
pub struct ThrottleRule {
    /// Failures within `window` that lock the key.
    pub max_failures: u32,
    pub window: Duration,
    pub lockout: Duration,
}

/// Per account: five wrong passwords in 15 minutes lock it for 15 minutes.
pub const PER_ACCOUNT: ThrottleRule =
    ThrottleRule { max_failures: 5, window: Duration::minutes(15), lockout: Duration::minutes(15) };

/// Per address: an office behind one address has many users, so the limit is higher.
pub const PER_ADDRESS: ThrottleRule =
    ThrottleRule { max_failures: 30, window: Duration::minutes(15), lockout: Duration::minutes(15) };

/// The stored state of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub failures: u32,
    pub window_start: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
}

impl ThrottleRule {
    /// Minutes (rounded up) until the key unlocks, if it is locked at `now`.
    pub fn locked_minutes(&self, counter: Option<&Counter>, now: DateTime<Utc>) -> Option<i64> {
        let until = counter?.locked_until?;
        if until > now {
            let secs = (until - now).num_seconds();
            Some((secs + 59) / 60)
        } else {
            None
        }
    }

    /// The counter after one more failure at `now`.
    pub fn after_failure(&self, counter: Option<&Counter>, now: DateTime<Utc>) -> Counter {
        let fresh = Counter { failures: 1, window_start: now, locked_until: None };
        let mut c = match counter {
            Some(c) if now - c.window_start < self.window && c.locked_until.is_none_or(|u| u > now) => *c,
            // The window has passed, or a lock has expired: start counting again.
            _ => return self.lock_if_due(fresh, now),
        };
        c.failures += 1;
        self.lock_if_due(c, now)
    }

    fn lock_if_due(&self, mut c: Counter, now: DateTime<Utc>) -> Counter {
        if c.failures >= self.max_failures {
            c.locked_until = Some(now + self.lockout);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(min)
    }

    #[test]
    fn locks_after_the_fifth_failure_and_unlocks_later() {
        let r = PER_ACCOUNT;
        let mut c = None;
        for i in 0..4 {
            c = Some(r.after_failure(c.as_ref(), t(i)));
            assert_eq!(r.locked_minutes(c.as_ref(), t(i)), None);
        }
        c = Some(r.after_failure(c.as_ref(), t(4)));
        assert_eq!(r.locked_minutes(c.as_ref(), t(4)), Some(15));
        assert_eq!(r.locked_minutes(c.as_ref(), t(10)), Some(9));
        assert_eq!(r.locked_minutes(c.as_ref(), t(19)), None);
        // After the lock, counting starts again.
        let c2 = r.after_failure(c.as_ref(), t(20));
        assert_eq!(c2.failures, 1);
    }

    #[test]
    fn failures_spread_beyond_the_window_do_not_lock() {
        let r = PER_ACCOUNT;
        let mut c = None;
        for i in 0..10 {
            c = Some(r.after_failure(c.as_ref(), t(i * 16)));
        }
        assert_eq!(r.locked_minutes(c.as_ref(), t(160)), None);
    }
}
