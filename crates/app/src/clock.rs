//! The time, injected: every use case asks the application's clock, never the
//! machine. Dates are counted in China Standard Time (UTC+8), so a day begins
//! at 16:00 UTC the day before. Tests and browser tests run on a fixed clock
//! they set; the server runs on the system clock.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// China Standard Time.
pub fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("a valid offset")
}

/// The date in China at an instant.
pub fn date_of(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&cst()).date_naive()
}

/// The machine's clock, for the running system.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until told otherwise: tests set the instant
/// and move it forward.
#[derive(Clone)]
pub struct FixedClock(Arc<Mutex<DateTime<Utc>>>);

impl FixedClock {
    pub fn at(t: DateTime<Utc>) -> FixedClock {
        FixedClock(Arc::new(Mutex::new(t)))
    }

    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = t;
    }

    pub fn advance(&self, d: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t += d;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_china_date_begins_at_sixteen_hundred_utc() {
        let t = DateTime::parse_from_rfc3339("2026-12-31T15:59:59Z").unwrap().with_timezone(&Utc);
        assert_eq!(date_of(t).to_string(), "2026-12-31");
        assert_eq!(date_of(t + Duration::seconds(1)).to_string(), "2027-01-01");
        let c = FixedClock::at(t);
        c.advance(Duration::minutes(1));
        assert_eq!(date_of(c.now()).to_string(), "2027-01-01");
    }
}
