//! The rules of the CICPA management information system, free of I/O.
//!
//! A value of one of the identifier types exists only if it is valid: it is
//! made by `parse`, and nothing downstream checks the string again.

pub mod coded;
pub mod cpa_check;
pub mod hours;
pub mod identifiers;
pub mod inspection_batch;
pub mod learning;
pub mod mask;
pub mod member_admission;
pub mod member_inspection;
pub mod password;
pub mod profile;
pub mod region;
pub mod regulator;
pub mod review;
pub mod role;
pub mod text;
pub mod throttle;
pub mod workdays;

/// The years the system knows (年度, 年检年度): from the first national CPA
/// examination to the end of the century. A year outside is refused at the
/// edge, before any date is built from it.
pub const YEARS: std::ops::RangeInclusive<i32> = 1991..=2100;

pub use hours::Hours;
pub use identifiers::{CpaNo, ExamCertNo, FirmNo, IdError, IdNumber, IdType, MemberCertNo, ResidentId, Sex};
pub use role::{AssociationLevel, UserType};
