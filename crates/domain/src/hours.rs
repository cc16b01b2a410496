//! Hours of continuing education (学时), kept in whole hundredths so that
//! sums are exact and nothing shows as "-0.00".

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, Sub};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hours(i64);

/// Why a typed number of hours is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error("请填写学时数，如 8 或 12.5")]
    NotANumber,
    #[error("学时最多保留两位小数")]
    TooPrecise,
    #[error("学时应大于0且不超过{0}")]
    OutOfRange(i64),
}

impl Hours {
    pub const ZERO: Hours = Hours(0);

    pub const fn whole(n: i64) -> Hours {
        Hours(n * 100)
    }

    pub const fn from_hundredths(h: i64) -> Hours {
        Hours(h)
    }

    pub const fn hundredths(self) -> i64 {
        self.0
    }

    pub fn half(self) -> Hours {
        Hours(self.0 / 2)
    }

    /// Hours a person typed: positive, at most `max` whole hours, two decimals.
    pub fn parse(text: &str, max: i64) -> Result<Hours, HoursError> {
        let t = text.trim();
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        if whole.is_empty() && frac.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || whole.len() > 9
        {
            return Err(HoursError::NotANumber);
        }
        if frac.len() > 2 {
            return Err(HoursError::TooPrecise);
        }
        let w: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| HoursError::NotANumber)? };
        let f: i64 = format!("{frac:0<2}").parse().map_err(|_| HoursError::NotANumber)?;
        let h = Hours(w * 100 + f);
        if h <= Hours::ZERO || h > Hours::whole(max) {
            return Err(HoursError::OutOfRange(max));
        }
        Ok(h)
    }

    /// Never below zero.
    pub fn saturating_sub(self, other: Hours) -> Hours {
        Hours((self.0 - other.0).max(0))
    }
}

impl Add for Hours {
    type Output = Hours;
    fn add(self, o: Hours) -> Hours {
        Hours(self.0 + o.0)
    }
}

impl Sub for Hours {
    type Output = Hours;
    fn sub(self, o: Hours) -> Hours {
        Hours(self.0 - o.0)
    }
}

impl Sum for Hours {
    fn sum<I: Iterator<Item = Hours>>(iter: I) -> Hours {
        iter.fold(Hours::ZERO, Add::add)
    }
}

/// As the screens show hours: two decimals (40.00, 12.50).
impl fmt::Display for Hours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}{}.{:02}", self.0.abs() / 100, self.0.abs() % 100)
    }
}

/// In the API, a number of hours (12.5).
impl serde::Serialize for Hours {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0 as f64 / 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_sums_and_two_decimals() {
        let parts = ["30", "12.5", "0.25"].map(|t| Hours::parse(t, 100).unwrap());
        let sum: Hours = parts.into_iter().sum();
        assert_eq!(sum.to_string(), "42.75");
        assert_eq!(Hours::ZERO.to_string(), "0.00");
        assert_eq!([].into_iter().sum::<Hours>().to_string(), "0.00", "no -0.00");
        assert_eq!(Hours::whole(40).saturating_sub(Hours::whole(60)), Hours::ZERO);
        assert_eq!(Hours::whole(40).half().to_string(), "20.00");
        assert_eq!(serde_json::to_string(&Hours::parse("12.5", 100).unwrap()).unwrap(), "12.5");
    }

    #[test]
    fn typed_hours_are_checked() {
        assert_eq!(Hours::parse("x", 100), Err(HoursError::NotANumber));
        assert_eq!(Hours::parse("", 100), Err(HoursError::NotANumber));
        assert_eq!(Hours::parse("-3", 100), Err(HoursError::NotANumber));
        assert_eq!(Hours::parse("1.234", 100), Err(HoursError::TooPrecise));
        assert_eq!(Hours::parse("0", 100), Err(HoursError::OutOfRange(100)));
        assert_eq!(Hours::parse("100.01", 100), Err(HoursError::OutOfRange(100)));
        assert_eq!(Hours::parse(".5", 100), Ok(Hours::from_hundredths(50)));
        assert_eq!(Hours::parse("8.", 100), Ok(Hours::whole(8)));
    }
}
