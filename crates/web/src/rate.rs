//! A per-address rate limit for work that costs CPU but no database row
//! (drawing captchas), and a limit of requests running at once per caller
//! (an institute's batches of records). Each instance counts in its own
//! memory, so N instances allow N times as much; that bounds what each one
//! spends, which is the point. Limits that protect accounts are counted in
//! the database (`cmis_app::throttle`), where every instance sees them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cmis_app::AppError;

pub struct RateLimit {
    per_window: u32,
    window: Duration,
    seen: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimit {
    pub fn new(per_window: u32, window: Duration) -> RateLimit {
        RateLimit { per_window, window, seen: Mutex::new(HashMap::new()) }
    }

    /// Counts one request from `key`; refuses it past the limit.
    pub fn check(&self, key: &str) -> Result<(), AppError> {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() > 100_000 {
            seen.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = seen.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        if entry.1 > self.per_window {
            let left = self.window.saturating_sub(now.duration_since(entry.0));
            return Err(AppError::TooMany(left.as_secs().div_ceil(60).max(1) as i64));
        }
        Ok(())
    }
}

/// Captchas drawn on request (the API and the 换一张 refresh): 30 a minute per address.
pub fn captchas() -> RateLimit {
    RateLimit::new(30, Duration::from_secs(60))
}

/// Pages that show a captcha (登录, 忘记密码, 进度查询 …): 120 a minute per
/// address, room for an office behind one address at a deadline.
pub fn page_captchas() -> RateLimit {
    RateLimit::new(120, Duration::from_secs(60))
}

/// Requests of one caller running at once, at most `limit` per caller on
/// this instance. An institute's batch of 10,000 records holds SQLite's one
/// writer for about half a second: a platform sending a hundred at once
/// would queue every other write in the system (logins, forms, 学时入账)
/// behind them until they time out.
pub struct InFlight {
    limit: u32,
    running: Arc<Mutex<HashMap<i32, u32>>>,
}

/// One running request; its slot is free again when this is dropped
/// (also when the client goes away and the handler is cancelled).
pub struct Slot {
    caller: i32,
    running: Arc<Mutex<HashMap<i32, u32>>>,
}

impl InFlight {
    pub fn new(limit: u32) -> InFlight {
        InFlight { limit, running: Arc::new(Mutex::new(HashMap::new())) }
    }

    /// A slot for `caller`, or None while `limit` of its requests run.
    pub fn enter(&self, caller: i32) -> Option<Slot> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let n = running.entry(caller).or_insert(0);
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(Slot { caller, running: self.running.clone() })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = running.get_mut(&self.caller) {
            *n -= 1;
            if *n == 0 {
                running.remove(&self.caller);
            }
        }
    }
}

/// An institute's batches of records: two at once per institute, which
/// keeps the writer busy (one saves while the next is checked) and leaves
/// room for everyone else.
pub const INSTITUTE_CALLS: u32 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_free_again_when_its_request_ends() {
        let f = InFlight::new(2);
        let a = f.enter(1).unwrap();
        let b = f.enter(1).unwrap();
        assert!(f.enter(1).is_none(), "a third at once");
        assert!(f.enter(2).is_some(), "another caller has its own");
        drop(a);
        let c = f.enter(1).expect("free again");
        drop((b, c));
        assert!(f.running.lock().unwrap().is_empty());
    }
}
