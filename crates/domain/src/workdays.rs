//! Working days, for review deadlines (20 for the local association, 10 for
//! CICPA; DOMAIN §1). Weekends do not count; public holidays are data the
//! associations keep and are passed in.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

pub fn is_working_day(d: NaiveDate, holidays: &[NaiveDate]) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !holidays.contains(&d)
}

/// The date by which `n` working days after `start` have passed.
pub fn add(start: NaiveDate, n: u32, holidays: &[NaiveDate]) -> NaiveDate {
    let mut d = start;
    let mut left = n;
    while left > 0 {
        d += Duration::days(1);
        if is_working_day(d, holidays) {
            left -= 1;
        }
    }
    d
}

/// Working days from `today` to `deadline`: negative once it has passed.
pub fn left(today: NaiveDate, deadline: NaiveDate, holidays: &[NaiveDate]) -> i64 {
    let (from, to, sign) = if today <= deadline { (today, deadline, 1) } else { (deadline, today, -1) };
    let mut n = 0;
    let mut d = from;
    while d < to {
        d += Duration::days(1);
        if is_working_day(d, holidays) {
            n += 1;
        }
    }
    sign * n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn twenty_working_days_skip_weekends() {
        // Monday 2026-11-23 + 20 working days = Monday 2026-12-21.
        assert_eq!(add(d(2026, 11, 23), 20, &[]), d(2026, 12, 21));
        // Submitted on a Saturday: the count starts on Monday.
        assert_eq!(add(d(2026, 11, 21), 1, &[]), d(2026, 11, 23));
    }

    #[test]
    fn holidays_are_skipped() {
        let h = [d(2026, 12, 25)];
        assert_eq!(add(d(2026, 12, 24), 1, &h), d(2026, 12, 28));
    }

    #[test]
    fn days_left_count_down_and_go_negative_when_overdue() {
        let deadline = add(d(2026, 11, 23), 10, &[]);
        assert_eq!(left(d(2026, 11, 23), deadline, &[]), 10);
        assert_eq!(left(deadline, deadline, &[]), 0);
        assert_eq!(left(d(2026, 12, 9), deadline, &[]), -2);
    }
}
