//! Counters that limit attempts: wrong passwords, identity checks, codes
//! sent. Each attempt is counted *before* it is tried, in one atomic
//! statement that returns the new count, so that twenty attempts at once are
//! twenty attempts: the ones past the limit are refused without being tried.
//! The counters live in the database so that every instance sees them; the
//! rules (how many, how long) are in `cmis_domain::throttle`.

use chrono::{DateTime, Utc};
use cmis_domain::throttle::ThrottleRule;
use cmis_store::entity::throttle as row;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Statement, Value};

/// The count after this attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// Attempts in the current window, this one included.
    pub count: u32,
    pub locked_until: Option<DateTime<Utc>>,
}

impl Hit {
    /// Whether this attempt may be tried: it is within the limit.
    pub fn allowed(&self, rule: &ThrottleRule) -> bool {
        self.count <= rule.max_failures
    }

    /// Attempts left after this one, if it fails.
    pub fn left(&self, rule: &ThrottleRule) -> u32 {
        rule.max_failures.saturating_sub(self.count)
    }

    /// Whole minutes (rounded up) until the key unlocks.
    pub fn minutes_locked(&self, now: DateTime<Utc>) -> i64 {
        self.locked_until.map_or(0, |u| ((u - now).num_seconds().max(0) + 59) / 60)
    }

    /// Whole seconds until the key unlocks.
    pub fn seconds_locked(&self, now: DateTime<Utc>) -> i64 {
        self.locked_until.map_or(0, |u| (u - now).num_seconds().max(1))
    }
}

/// One statement for both backends: a new key starts at 1; a key whose
/// window has passed (or whose lock has ended) starts again at 1; otherwise
/// the count goes up by one, and the attempt that reaches the limit locks
/// the key for the rule's lockout. A lock, once set, stays until it ends.
/// With a sliding rule ($7) every attempt moves the window's start to now,
/// so the count lasts until a whole window passes without attempts.
const HIT: &str = "INSERT INTO throttles (key, failures, window_start, locked_until) VALUES ($1, 1, $2, $5) \
ON CONFLICT (key) DO UPDATE SET \
failures = CASE WHEN (throttles.locked_until IS NULL AND throttles.window_start <= $3) \
  OR throttles.locked_until <= $2 THEN 1 ELSE throttles.failures + 1 END, \
window_start = CASE WHEN (throttles.locked_until IS NULL AND throttles.window_start <= $3) \
  OR throttles.locked_until <= $2 OR $7 THEN $2 ELSE throttles.window_start END, \
locked_until = CASE WHEN (throttles.locked_until IS NULL AND throttles.window_start <= $3) \
  OR throttles.locked_until <= $2 THEN $5 \
  WHEN throttles.locked_until IS NOT NULL THEN throttles.locked_until \
  WHEN throttles.failures + 1 >= $4 THEN $6 ELSE NULL END \
RETURNING failures, locked_until";

/// Counts one attempt against `key` under `rule`, at `now`.
pub async fn hit<C: ConnectionTrait>(db: &C, key: &str, rule: ThrottleRule, now: DateTime<Utc>) -> Result<Hit, DbErr> {
    let lock_at = now + rule.lockout;
    let first_lock: Option<DateTime<Utc>> = (rule.max_failures <= 1).then_some(lock_at);
    let values: Vec<Value> = vec![
        key.into(),
        now.into(),
        (now - rule.window).into(),
        (rule.max_failures as i32).into(),
        first_lock.into(),
        lock_at.into(),
        rule.sliding.into(),
    ];
    let r = db
        .query_one_raw(Statement::from_sql_and_values(db.get_database_backend(), HIT, values))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("throttle".into()))?;
    let count: i32 = r.try_get("", "failures")?;
    let locked_until: Option<DateTime<Utc>> = r.try_get("", "locked_until")?;
    Ok(Hit { count: count.max(0) as u32, locked_until })
}

/// Counts one attempt to be tried (a password, a code): as `hit`, and an
/// attempt refused is given back at once, as it is not tried. The count is
/// then failures plus attempts in flight, so a crowd of right attempts at
/// once is turned away for the moment but never locks the key.
pub async fn attempt<C: ConnectionTrait>(
    db: &C,
    key: &str,
    rule: ThrottleRule,
    now: DateTime<Utc>,
) -> Result<Hit, DbErr> {
    let h = hit(db, key, rule, now).await?;
    if !h.allowed(&rule) {
        give_back(db, key, rule).await?;
    }
    Ok(h)
}

/// Forgets the attempts against `key` (a right password, an operator's unlock).
pub async fn clear<C: ConnectionTrait>(db: &C, key: &str) -> Result<(), DbErr> {
    row::Entity::delete_by_id(key.to_owned()).exec(db).await?;
    Ok(())
}

/// Takes back one attempt that turned out right, where the key counts many
/// people's attempts (an address): a right one should not count against them.
pub async fn give_back<C: ConnectionTrait>(db: &C, key: &str, rule: ThrottleRule) -> Result<(), DbErr> {
    let sql = "UPDATE throttles SET failures = failures - 1, \
               locked_until = CASE WHEN failures - 1 >= $2 THEN locked_until ELSE NULL END \
               WHERE key = $1 AND failures > 0";
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        [key.into(), (rule.max_failures as i32).into()],
    ))
    .await?;
    Ok(())
}

/// Minutes until `key` unlocks, if it is locked now (nothing is counted).
pub async fn locked<C: ConnectionTrait>(db: &C, key: &str, now: DateTime<Utc>) -> Result<Option<i64>, DbErr> {
    let r = row::Entity::find_by_id(key.to_owned()).one(db).await?;
    Ok(r.and_then(|r| r.locked_until)
        .filter(|u| *u > now)
        .map(|u| Hit { count: 0, locked_until: Some(u) }.minutes_locked(now)))
}

/// Removes counters that can no longer matter: unlocked and a day old.
pub async fn sweep<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> Result<u64, DbErr> {
    use sea_orm::{ColumnTrait, Condition, QueryFilter};
    let r = row::Entity::delete_many()
        .filter(row::Column::WindowStart.lt(now - chrono::Duration::days(1)))
        .filter(Condition::any().add(row::Column::LockedUntil.is_null()).add(row::Column::LockedUntil.lt(now)))
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}
