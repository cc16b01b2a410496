//! The limits on attempts: how many within what window, and how long a key
//! is locked after the last one. The counting itself is one atomic
//! statement in the database (`cmis_app::throttle`), shared by all instances.

use chrono::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRule {
    /// Attempts within `window`; the one that reaches this number locks the key.
    pub max_failures: u32,
    pub window: Duration,
    pub lockout: Duration,
    /// Whether the window runs from the last attempt rather than the first:
    /// the count starts again only after `window` without attempts, so four
    /// tries just before a fixed window ends and five just after it are not
    /// nine tries in half a minute. Per account; an address shared by an
    /// office keeps a fixed window, or its count would never end.
    pub sliding: bool,
}

/// Per account: five wrong passwords in 15 minutes lock it for 15 minutes.
pub const PER_ACCOUNT: ThrottleRule =
    ThrottleRule { max_failures: 5, window: Duration::minutes(15), lockout: Duration::minutes(15), sliding: true };

/// Per address: an office behind one address has many users, so the limit is higher.
pub const PER_ADDRESS: ThrottleRule =
    ThrottleRule { max_failures: 30, window: Duration::minutes(15), lockout: Duration::minutes(15), sliding: false };

/// Proving who you are to recover a password (a full mobile number, or name,
/// ID number and one more fact): five tries per account in 15 minutes.
pub const RECOVERY_PER_ACCOUNT: ThrottleRule = PER_ACCOUNT;

/// Recovery checks from one address, across accounts.
pub const RECOVERY_PER_ADDRESS: ThrottleRule =
    ThrottleRule { max_failures: 20, window: Duration::minutes(15), lockout: Duration::minutes(60), sliding: false };

/// Codes sent to an account: one a minute…
pub const CODE_GAP: ThrottleRule =
    ThrottleRule { max_failures: 1, window: Duration::minutes(1), lockout: Duration::minutes(1), sliding: false };
/// …ten an hour…
pub const CODES_PER_ACCOUNT: ThrottleRule =
    ThrottleRule { max_failures: 10, window: Duration::hours(1), lockout: Duration::hours(1), sliding: false };
/// …and forty an hour from one address.
pub const CODES_PER_ADDRESS: ThrottleRule =
    ThrottleRule { max_failures: 40, window: Duration::hours(1), lockout: Duration::hours(1), sliding: false };

/// Tries at an admission application's ID number (修改申请): the business
/// number alone must never let anyone test ID numbers.
pub const APPLICATION_OWNER: ThrottleRule = PER_ACCOUNT;

/// Wrong recovery codes for one account across all its codes: ten a day.
pub const CODE_TRIES_PER_ACCOUNT: ThrottleRule =
    ThrottleRule { max_failures: 10, window: Duration::hours(24), lockout: Duration::hours(24), sliding: false };
