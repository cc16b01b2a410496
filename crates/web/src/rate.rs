//! A per-address rate limit for work that costs CPU but no database row:
//! drawing captchas. Each instance counts in its own memory, so N instances
//! allow N times the rate; that bounds the CPU each one spends, which is
//! the point. Limits that protect accounts are counted in the database
//! (`cmis_app::throttle`), where every instance sees them.

use std::collections::HashMap;
use std::sync::Mutex;
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
