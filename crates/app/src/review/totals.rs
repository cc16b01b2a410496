//! The totals of review queues, kept for a few seconds. Counting CICPA's
//! queue at national scale reads 245,000 index entries (25 ms); staff page
//! through it and every staff home page shows it, so an instance keeps each
//! total for `KEPT_FOR`, and forgets them all when a case changes state on
//! it (every transition records a trail step: `approval::record`). Other
//! instances show such a change within `KEPT_FOR`; the rows of a page are
//! always read fresh.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub const KEPT_FOR: Duration = Duration::from_secs(10);

/// Moves when a case changes state on this instance.
static CHANGES: AtomicU64 = AtomicU64::new(0);

/// A case changed state: every kept total may be wrong.
pub(crate) fn changed() {
    CHANGES.fetch_add(1, Ordering::Relaxed);
}

#[derive(Default)]
pub struct Totals {
    kept: Mutex<HashMap<String, (Instant, u64, u64)>>,
}

impl Totals {
    /// The total under `key` (the workflow, the scope and the filter), or
    /// `count` it and keep it.
    pub async fn get_or<E, F: Future<Output = Result<u64, E>>>(
        &self,
        key: String,
        count: impl FnOnce() -> F,
    ) -> Result<u64, E> {
        let changes = CHANGES.load(Ordering::Relaxed);
        {
            let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, seen, n)) = kept.get(&key)
                && *seen == changes
                && at.elapsed() < KEPT_FOR
            {
                return Ok(*n);
            }
        }
        let n = count().await?;
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() > 10_000 {
            kept.clear();
        }
        kept.insert(key, (Instant::now(), changes, n));
        Ok(n)
    }
}
