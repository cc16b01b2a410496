//! Identifiers of people and firms. Each type is made by `parse` and is
//! valid for as long as it exists; the errors read as the form shows them.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::region;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("身份证号码应为18位")]
    ResidentIdLength,
    #[error("身份证号码前17位应为数字，最后一位为数字或X")]
    ResidentIdCharacters,
    #[error("身份证号码的地区码不正确")]
    ResidentIdArea,
    #[error("身份证号码中的出生日期不正确")]
    ResidentIdBirthDate,
    #[error("身份证号码校验位不正确，请核对")]
    ResidentIdChecksum,
    #[error("注册会计师证书编号应为12位数字")]
    CpaNo,
    #[error("事务所编号应为8位数字（分所编号为10至12位），前两位为省份代码")]
    FirmNo,
    #[error("全科合格证号格式应为QZ或QY加9位数字，如QZ234400123")]
    ExamCertNo,
    #[error("考核批准文号不能为空，且不超过50个字")]
    ApprovalNo,
    #[error("非执业会员证书编号应为11位数字")]
    MemberCertNo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn label(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Sex::Male => "M",
            Sex::Female => "F",
        }
    }
    pub fn from_code(code: &str) -> Option<Sex> {
        match code {
            "M" => Some(Sex::Male),
            "F" => Some(Sex::Female),
            _ => None,
        }
    }
}

/// 证件类型. Only the resident ID carries a checksum to validate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IdType {
    ResidentId,
    MilitaryOfficer,
    Passport,
    ResidencePermit,
    MainlandTravelPermit,
    ForeignPermanentResident,
}

impl IdType {
    pub const ALL: [IdType; 6] = [
        IdType::ResidentId,
        IdType::MilitaryOfficer,
        IdType::Passport,
        IdType::ResidencePermit,
        IdType::MainlandTravelPermit,
        IdType::ForeignPermanentResident,
    ];
    pub fn label(self) -> &'static str {
        match self {
            IdType::ResidentId => "中国身份证",
            IdType::MilitaryOfficer => "军官证",
            IdType::Passport => "护照",
            IdType::ResidencePermit => "港澳台居民居住证",
            IdType::MainlandTravelPermit => "来往大陆通行证",
            IdType::ForeignPermanentResident => "外国人永久居留身份证",
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            IdType::ResidentId => "resident",
            IdType::MilitaryOfficer => "military",
            IdType::Passport => "passport",
            IdType::ResidencePermit => "residence_permit",
            IdType::MainlandTravelPermit => "travel_permit",
            IdType::ForeignPermanentResident => "foreign_permanent",
        }
    }
    pub fn from_code(code: &str) -> Option<IdType> {
        IdType::ALL.into_iter().find(|t| t.code() == code)
    }
}

/// 居民身份证号 (GB 11643-1999): area, birth date, sequence (odd = male), check character.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResidentId(String);

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

impl ResidentId {
    pub fn parse(input: &str) -> Result<ResidentId, IdError> {
        let s = input.trim().to_ascii_uppercase();
        if s.chars().count() != 18 {
            return Err(IdError::ResidentIdLength);
        }
        let b = s.as_bytes();
        if !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(IdError::ResidentIdCharacters);
        }
        if region::province_name(&s[..2]).is_none() {
            return Err(IdError::ResidentIdArea);
        }
        let birth = NaiveDate::parse_from_str(&s[6..14], "%Y%m%d").map_err(|_| IdError::ResidentIdBirthDate)?;
        if birth.year() < 1900 {
            return Err(IdError::ResidentIdBirthDate);
        }
        if b[17] as char != Self::check_char(&s[..17]) {
            return Err(IdError::ResidentIdChecksum);
        }
        Ok(ResidentId(s))
    }

    /// The check character for the first 17 digits.
    pub fn check_char(first17: &str) -> char {
        let sum: u32 = first17.bytes().zip(WEIGHTS).map(|(d, w)| (d - b'0') as u32 * w).sum();
        CHECK[(sum % 11) as usize]
    }

    /// Builds a valid ID from its parts (for demo data and tests).
    pub fn compose(area: &str, birth: NaiveDate, sequence: u16) -> Result<ResidentId, IdError> {
        let first17 = format!("{area:0>6}{}{:03}", birth.format("%Y%m%d"), sequence % 1000);
        let check = Self::check_char(&first17);
        ResidentId::parse(&format!("{first17}{check}"))
    }

    pub fn birth_date(&self) -> NaiveDate {
        NaiveDate::parse_from_str(&self.0[6..14], "%Y%m%d").expect("checked in parse")
    }

    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 { Sex::Male } else { Sex::Female }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 注册会计师证书编号: the firm's 8 digits at registration + a 4-digit serial.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
#[cfg_attr(feature = "orm", derive(sea_orm::DeriveValueType), sea_orm(value_type = "String"))]
pub struct CpaNo(String);

impl CpaNo {
    pub fn parse(input: &str) -> Result<CpaNo, IdError> {
        let s = input.trim();
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(CpaNo(s.to_owned()))
        } else {
            Err(IdError::CpaNo)
        }
    }
    /// The number of the firm the CPA registered with.
    pub fn firm_prefix(&self) -> &str {
        &self.0[..8]
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 事务所编号: 2-digit province (10 = supervised by CICPA) + 2-digit city + 4-digit serial.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
#[cfg_attr(feature = "orm", derive(sea_orm::DeriveValueType), sea_orm(value_type = "String"))]
pub struct FirmNo(String);

impl FirmNo {
    pub fn parse(input: &str) -> Result<FirmNo, IdError> {
        let s = input.trim();
        let digits = s.bytes().all(|b| b.is_ascii_digit());
        if !digits || !(8..=12).contains(&s.len()) || s.len() == 9 {
            return Err(IdError::FirmNo);
        }
        let province = &s[..2];
        if province != "10" && !region::is_province(province) {
            return Err(IdError::FirmNo);
        }
        Ok(FirmNo(s.to_owned()))
    }
    pub fn province_code(&self) -> &str {
        &self.0[..2]
    }
    pub fn city_code(&self) -> &str {
        &self.0[2..4]
    }
    pub fn is_branch(&self) -> bool {
        self.0.len() > 8
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 全科合格证号 (`QZ`/`QY` + 2-digit year + 2-digit province + 5-digit serial), or for
/// assessment-based qualification a 考核批准文号.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExamCertNo {
    Exam(String),
    Assessment(String),
}

impl ExamCertNo {
    pub fn parse_exam(input: &str) -> Result<ExamCertNo, IdError> {
        let s = input.trim().to_ascii_uppercase();
        let ok = s.len() == 11
            && (s.starts_with("QZ") || s.starts_with("QY"))
            && s[2..].bytes().all(|b| b.is_ascii_digit())
            && region::is_province(&s[4..6]);
        if ok { Ok(ExamCertNo::Exam(s)) } else { Err(IdError::ExamCertNo) }
    }

    pub fn parse_assessment(input: &str) -> Result<ExamCertNo, IdError> {
        // Upper case as stored since the first release: a number is found however it was typed.
        let s = input.trim().to_ascii_uppercase();
        let n = s.chars().count();
        if (1..=50).contains(&n) && !s.chars().any(char::is_control) {
            Ok(ExamCertNo::Assessment(s))
        } else {
            Err(IdError::ApprovalNo)
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ExamCertNo::Exam(s) | ExamCertNo::Assessment(s) => s,
        }
    }

    /// The year of passing, from an exam certificate number (`QZ23…` → 2023).
    pub fn exam_year(&self) -> Option<i32> {
        match self {
            ExamCertNo::Exam(s) => s[2..4].parse::<i32>().ok().map(|y| 2000 + y),
            ExamCertNo::Assessment(_) => None,
        }
    }
}

/// 非执业会员证书编号. The format is not published; this system uses the
/// association's province code + year of admission + a 5-digit serial, never reused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
#[cfg_attr(feature = "orm", derive(sea_orm::DeriveValueType), sea_orm(value_type = "String"))]
pub struct MemberCertNo(String);

impl MemberCertNo {
    pub fn parse(input: &str) -> Result<MemberCertNo, IdError> {
        let s = input.trim();
        let ok = s.len() == 11 && s.bytes().all(|b| b.is_ascii_digit()) && region::is_province(&s[..2]);
        if ok { Ok(MemberCertNo(s.to_owned())) } else { Err(IdError::MemberCertNo) }
    }
    pub fn compose(province: &str, year: i32, serial: u32) -> Result<MemberCertNo, IdError> {
        MemberCertNo::parse(&format!("{province}{year:04}{serial:05}"))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
display_as_str!(ResidentId, CpaNo, FirmNo, ExamCertNo, MemberCertNo);

/// The numbers that are column types of the store (`members.cert_no`,
/// `cpas.cpa_no`, `firms.firm_no`): they travel typed from the database to
/// the page, are written only as parsed, are parsed again when read (a
/// stored value that does not parse is an error, not a number), and read as
/// the text they are.
macro_rules! reads_as_text {
    ($($t:ty),*) => {$(
        impl std::str::FromStr for $t {
            type Err = IdError;
            fn from_str(s: &str) -> Result<$t, IdError> {
                <$t>::parse(s)
            }
        }
        impl std::ops::Deref for $t {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }
        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
        impl PartialEq<String> for $t {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
    )*};
}
reads_as_text!(CpaNo, FirmNo, MemberCertNo);

/// A person's identity document number, parsed once: a resident ID checked
/// digit by digit, or another document's number as given (trimmed, upper
/// case, at most 30 characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdNumber {
    Resident(ResidentId),
    Other(IdType, String),
}

impl IdNumber {
    pub fn parse(id_type: IdType, input: &str) -> Result<IdNumber, String> {
        match id_type {
            IdType::ResidentId => ResidentId::parse(input).map(IdNumber::Resident).map_err(|e| e.to_string()),
            other => {
                let s = input.trim().to_ascii_uppercase();
                if s.is_empty() {
                    Err("请填写证件号码".into())
                } else if s.chars().count() > 30 || s.chars().any(char::is_control) {
                    Err("证件号码不超过30个字符".into())
                } else {
                    Ok(IdNumber::Other(other, s))
                }
            }
        }
    }

    pub fn id_type(&self) -> IdType {
        match self {
            IdNumber::Resident(_) => IdType::ResidentId,
            IdNumber::Other(t, _) => *t,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            IdNumber::Resident(id) => id.as_str(),
            IdNumber::Other(_, s) => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_gb11643_example() {
        // The standard's own example.
        let id = ResidentId::parse("11010519491231002X").unwrap();
        assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
        assert_eq!(id.sex(), Sex::Female);
    }

    #[test]
    fn lower_case_x_is_accepted_and_normalised() {
        assert_eq!(ResidentId::parse("11010519491231002x").unwrap().as_str(), "11010519491231002X");
    }

    #[test]
    fn sex_comes_from_the_seventeenth_digit() {
        let d = NaiveDate::from_ymd_opt(1990, 3, 7).unwrap();
        assert_eq!(ResidentId::compose("110101", d, 123).unwrap().sex(), Sex::Male);
        assert_eq!(ResidentId::compose("110101", d, 124).unwrap().sex(), Sex::Female);
    }

    #[test]
    fn refuses_each_kind_of_bad_id_with_its_reason() {
        assert_eq!(ResidentId::parse("1101051949123100"), Err(IdError::ResidentIdLength));
        assert_eq!(ResidentId::parse("11010519491231002Y"), Err(IdError::ResidentIdCharacters));
        assert_eq!(ResidentId::parse("99010519491231002X"), Err(IdError::ResidentIdArea));
        assert_eq!(ResidentId::parse("110105194913310021"), Err(IdError::ResidentIdBirthDate));
        assert_eq!(ResidentId::parse("110105194912310021"), Err(IdError::ResidentIdChecksum));
    }

    #[test]
    fn every_composed_id_parses() {
        let d = NaiveDate::from_ymd_opt(1985, 2, 28).unwrap();
        for seq in 0..1000 {
            let id = ResidentId::compose("440106", d, seq).unwrap();
            assert_eq!(ResidentId::parse(id.as_str()).unwrap(), id);
        }
    }

    #[test]
    fn cpa_numbers_are_twelve_digits_and_name_their_firm() {
        let n = CpaNo::parse("500100280012").unwrap();
        assert_eq!(n.firm_prefix(), "50010028");
        assert_eq!(CpaNo::parse("50010028001"), Err(IdError::CpaNo));
        assert_eq!(CpaNo::parse("50010028001A"), Err(IdError::CpaNo));
    }

    #[test]
    fn firm_numbers_carry_province_and_city() {
        let f = FirmNo::parse("50010028").unwrap();
        assert_eq!((f.province_code(), f.city_code(), f.is_branch()), ("50", "01", false));
        assert!(FirmNo::parse("10000001").is_ok(), "10 = supervised by CICPA");
        assert!(FirmNo::parse("5001002801").unwrap().is_branch());
        assert_eq!(FirmNo::parse("99010028"), Err(IdError::FirmNo));
        assert_eq!(FirmNo::parse("5001002"), Err(IdError::FirmNo));
        assert_eq!(FirmNo::parse("500100281"), Err(IdError::FirmNo));
    }

    #[test]
    fn exam_certificate_numbers() {
        let e = ExamCertNo::parse_exam("qz234400123").unwrap();
        assert_eq!(e.as_str(), "QZ234400123");
        assert_eq!(e.exam_year(), Some(2023));
        assert!(ExamCertNo::parse_exam("QY1811001234").is_err(), "12 characters");
        assert!(ExamCertNo::parse_exam("QY181100123").is_ok());
        assert_eq!(ExamCertNo::parse_exam("QX181100123"), Err(IdError::ExamCertNo));
        assert_eq!(ExamCertNo::parse_exam("QZ239901234"), Err(IdError::ExamCertNo));
        assert!(ExamCertNo::parse_assessment("财会〔2019〕12号").is_ok());
        assert_eq!(ExamCertNo::parse_assessment(" "), Err(IdError::ApprovalNo));
    }

    #[test]
    fn member_certificate_numbers() {
        let m = MemberCertNo::compose("44", 2026, 1).unwrap();
        assert_eq!(m.as_str(), "44202600001");
        assert!(MemberCertNo::parse("99202600001").is_err());
    }
}
