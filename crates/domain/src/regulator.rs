//! The regulator's records (注册会计师行业统一监管平台, seed 001 §2.1.3): a
//! CPA's personal information is changed there and synchronised here. One
//! row of the regulator's data, as text fields by name, becomes a typed
//! record or a refusal that says in Chinese what is wrong with it.

use chrono::NaiveDate;

use crate::identifiers::{CpaNo, FirmNo, IdNumber, IdType, Sex};
use crate::text;

/// The fields of a row, under the names of the regulator's interface, with
/// the Chinese column headings a file may use instead.
pub const FIELDS: &[(&str, &str)] = &[
    ("kind", "记录类型"),
    ("firm_no", "事务所编号"),
    ("firm_name", "事务所名称"),
    ("parent_no", "总所编号"),
    ("form", "组织形式"),
    ("address", "办公地址"),
    ("phone", "联系电话"),
    ("contact_person", "联系人"),
    ("cpa_no", "注册会计师证书编号"),
    ("name", "姓名"),
    ("sex", "性别"),
    ("birth_date", "出生日期"),
    ("id_type", "有效证件名称"),
    ("id_number", "有效证件号码"),
    ("mobile", "手机号码"),
    ("email", "电子邮箱"),
    ("registered_on", "批准注册日期"),
    ("partner", "是否合伙人"),
    ("status", "状态"),
    ("archive_unit", "档案存放单位"),
    ("ethnicity", "民族"),
    ("native_place", "籍贯"),
    ("region", "所在地区"),
    ("household", "户口所在地"),
    ("political_status", "政治面貌"),
    ("qualification_method", "资格取得方式"),
    ("exam_cert_no", "全科合格证号"),
    ("exam_year", "考试年度"),
];

/// The field name a heading stands for (English or Chinese).
pub fn field_of(heading: &str) -> Option<&'static str> {
    let h = heading.trim().trim_start_matches('\u{FEFF}');
    FIELDS.iter().find(|(en, zh)| *en == h || *zh == h).map(|(en, _)| *en)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirmForm {
    /// 有限责任
    Limited,
    /// 合伙 (including 特殊普通合伙)
    Partnership,
}

impl FirmForm {
    pub fn code(self) -> &'static str {
        match self {
            FirmForm::Limited => "limited",
            FirmForm::Partnership => "partnership",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            FirmForm::Limited => "有限责任",
            FirmForm::Partnership => "合伙",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirmRecord {
    pub firm_no: FirmNo,
    pub name: String,
    /// The head office, for a branch (分所).
    pub parent_no: Option<FirmNo>,
    pub form: FirmForm,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub contact_person: Option<String>,
    pub cancelled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpaRecord {
    pub cpa_no: CpaNo,
    pub name: String,
    pub sex: Sex,
    pub birth_date: NaiveDate,
    pub id: IdNumber,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub firm_no: FirmNo,
    pub registered_on: NaiveDate,
    pub partner: bool,
    pub cancelled: bool,
    pub archive_unit: Option<String>,
    pub ethnicity: Option<String>,
    pub native_place: Option<String>,
    pub region: Option<String>,
    pub household: Option<String>,
    pub political_status: Option<String>,
    /// exam or assessment.
    pub qualification_method: &'static str,
    pub exam_cert_no: Option<String>,
    pub exam_year: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Firm(FirmRecord),
    /// Boxed: a CPA's record is the larger by far, and most rows are CPAs.
    Cpa(Box<CpaRecord>),
}

impl Record {
    /// The number that names it (shown beside a refusal).
    pub fn key(&self) -> &str {
        match self {
            Record::Firm(f) => f.firm_no.as_str(),
            Record::Cpa(c) => c.cpa_no.as_str(),
        }
    }
}

/// What kind of record a row says it is, before the rest is read.
pub fn kind_of(raw: &str) -> Option<&'static str> {
    match raw.trim() {
        "firm" | "事务所" | "会计师事务所" => Some("firm"),
        "cpa" | "注册会计师" | "注师" => Some("cpa"),
        _ => None,
    }
}

/// Reads a row: `get` gives a field's text by its English name (empty when absent).
pub fn parse(get: &dyn Fn(&str) -> String) -> Result<Record, String> {
    match kind_of(&get("kind")) {
        Some("firm") => parse_firm(get).map(Record::Firm),
        Some(_) => parse_cpa(get).map(|c| Record::Cpa(Box::new(c))),
        None => Err("记录类型应为“事务所”或“注册会计师”".into()),
    }
}

fn label(field: &str) -> &'static str {
    FIELDS.iter().find(|(en, _)| *en == field).map_or("字段", |(_, zh)| zh)
}

fn required(get: &dyn Fn(&str) -> String, field: &str, max: usize) -> Result<String, String> {
    let v = get(field).trim().to_owned();
    if v.is_empty() {
        return Err(format!("{}不能为空", label(field)));
    }
    text::check(&v, max, false).map_err(|e| format!("{}{e}", label(field)))?;
    Ok(v)
}

fn optional(get: &dyn Fn(&str) -> String, field: &str, max: usize) -> Result<Option<String>, String> {
    let v = get(field).trim().to_owned();
    if v.is_empty() {
        return Ok(None);
    }
    text::check(&v, max, false).map_err(|e| format!("{}{e}", label(field)))?;
    Ok(Some(v))
}

/// 2026-03-15, 2026/03/15 or 20260315.
pub fn date(raw: &str) -> Option<NaiveDate> {
    let s = raw.trim();
    ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d"].iter().find_map(|f| NaiveDate::parse_from_str(s, f).ok())
}

fn date_field(get: &dyn Fn(&str) -> String, field: &str) -> Result<Option<NaiveDate>, String> {
    let v = get(field);
    if v.trim().is_empty() {
        return Ok(None);
    }
    let d = date(&v).ok_or_else(|| format!("{}格式应如2026-03-15", label(field)))?;
    if !(1900..=2100).contains(&chrono::Datelike::year(&d)) {
        return Err(format!("{}不正确", label(field)));
    }
    Ok(Some(d))
}

fn cancelled(get: &dyn Fn(&str) -> String) -> Result<bool, String> {
    match get("status").trim() {
        "" | "active" | "正常" | "执业" | "有效" => Ok(false),
        "cancelled" | "注销" | "已注销" => Ok(true),
        other => Err(format!("状态“{}”不正确，应为“正常”或“注销”", other.chars().take(20).collect::<String>())),
    }
}

fn firm_no(get: &dyn Fn(&str) -> String, field: &str) -> Result<FirmNo, String> {
    FirmNo::parse(&get(field)).map_err(|_| format!("{}格式不正确", label(field)))
}

pub fn parse_firm(get: &dyn Fn(&str) -> String) -> Result<FirmRecord, String> {
    let no = firm_no(get, "firm_no")?;
    let parent_no = match get("parent_no").trim() {
        "" => None,
        _ => Some(firm_no(get, "parent_no")?),
    };
    match &parent_no {
        None if no.is_branch() => return Err("分所须填写总所编号".into()),
        Some(p) if p.is_branch() || !no.is_branch() => return Err("总所编号应为8位总所编号，且仅分所填写".into()),
        Some(p) if !no.as_str().starts_with(p.as_str()) => {
            return Err("分所编号应以总所编号开头".into());
        }
        _ => {}
    }
    let form = match get("form").trim() {
        "limited" | "有限责任" | "有限责任公司" | "有限" => FirmForm::Limited,
        "partnership" | "合伙" | "特殊普通合伙" | "普通合伙" => FirmForm::Partnership,
        _ => return Err("组织形式应为“有限责任”或“合伙”".into()),
    };
    Ok(FirmRecord {
        name: required(get, "firm_name", 100)?,
        parent_no,
        form,
        address: optional(get, "address", 200)?,
        phone: optional(get, "phone", 40)?,
        contact_person: optional(get, "contact_person", 50)?,
        cancelled: cancelled(get)?,
        firm_no: no,
    })
}

pub fn parse_cpa(get: &dyn Fn(&str) -> String) -> Result<CpaRecord, String> {
    let cpa_no = CpaNo::parse(&get("cpa_no")).map_err(|_| "注册会计师证书编号应为12位数字".to_owned())?;
    let name = required(get, "name", 50)?;
    let id_type = match get("id_type").trim() {
        "" => return Err("有效证件名称不能为空".into()),
        t => IdType::ALL
            .into_iter()
            .find(|x| x.code() == t || x.label() == t || (t == "居民身份证" && *x == IdType::ResidentId))
            .ok_or_else(|| format!("有效证件名称“{}”不正确", t.chars().take(20).collect::<String>()))?,
    };
    let id = IdNumber::parse(id_type, &get("id_number")).map_err(|e| format!("有效证件号码：{e}"))?;
    let sex = match get("sex").trim() {
        "男" | "M" => Sex::Male,
        "女" | "F" => Sex::Female,
        "" => match &id {
            IdNumber::Resident(r) => r.sex(),
            _ => return Err("性别不能为空".into()),
        },
        _ => return Err("性别应为“男”或“女”".into()),
    };
    let given_birth = date_field(get, "birth_date")?;
    let birth_date = match (&id, given_birth) {
        (IdNumber::Resident(r), Some(d)) if d != r.birth_date() => return Err("出生日期与身份证号码不一致".into()),
        (IdNumber::Resident(r), _) => r.birth_date(),
        (_, Some(d)) => d,
        (_, None) => return Err("出生日期不能为空".into()),
    };
    if let IdNumber::Resident(r) = &id
        && r.sex() != sex
    {
        return Err("性别与身份证号码不一致".into());
    }
    let mobile = optional(get, "mobile", 20)?;
    if let Some(m) = &mobile
        && !(m.len() == 11 && m.starts_with('1') && m.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("手机号码应为11位数字".into());
    }
    let email = optional(get, "email", 100)?;
    if let Some(e) = &email
        && (!e.contains('@') || e.contains(char::is_whitespace))
    {
        return Err("电子邮箱格式不正确".into());
    }
    let registered_on = date_field(get, "registered_on")?.ok_or("批准注册日期不能为空")?;
    let partner = match get("partner").trim() {
        "" | "否" | "false" | "0" | "N" => false,
        "是" | "true" | "1" | "Y" => true,
        _ => return Err("是否合伙人应为“是”或“否”".into()),
    };
    let qualification_method = match get("qualification_method").trim() {
        "" | "exam" | "考试" => "exam",
        "assessment" | "考核" => "assessment",
        _ => return Err("资格取得方式应为“考试”或“考核”".into()),
    };
    let exam_year = match get("exam_year").trim() {
        "" => None,
        y => Some(y.parse::<i32>().ok().filter(|y| crate::YEARS.contains(y)).ok_or("考试年度不正确")?),
    };
    Ok(CpaRecord {
        firm_no: firm_no(get, "firm_no")?,
        cpa_no,
        name,
        sex,
        birth_date,
        id,
        mobile,
        email,
        registered_on,
        partner,
        cancelled: cancelled(get)?,
        archive_unit: optional(get, "archive_unit", 100)?,
        ethnicity: optional(get, "ethnicity", 20)?,
        native_place: optional(get, "native_place", 50)?,
        region: optional(get, "region", 50)?,
        household: optional(get, "household", 100)?,
        political_status: optional(get, "political_status", 20)?,
        qualification_method,
        exam_cert_no: optional(get, "exam_cert_no", 30)?,
        exam_year,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn row(pairs: &[(&str, &str)]) -> impl Fn(&str) -> String {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k: &str| m.get(k).cloned().unwrap_or_default()
    }

    const CPA: &[(&str, &str)] = &[
        ("kind", "注册会计师"),
        ("cpa_no", "500100280003"),
        ("name", "张三"),
        ("id_type", "中国身份证"),
        ("id_number", "11010519491231002X"),
        ("firm_no", "50010028"),
        ("registered_on", "2010-05-01"),
        ("ethnicity", "汉族"),
    ];

    #[test]
    fn a_cpa_row_reads_with_birth_date_and_sex_from_the_id() {
        let Record::Cpa(c) = parse(&row(CPA)).unwrap() else { panic!("a cpa") };
        assert_eq!(c.birth_date, NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
        assert_eq!(c.sex, Sex::Female);
        assert_eq!(c.ethnicity.as_deref(), Some("汉族"));
        assert!(!c.cancelled && !c.partner);
        assert_eq!(c.qualification_method, "exam");
    }

    #[test]
    fn malformed_rows_say_what_is_wrong() {
        let with = |k: &str, v: &str| {
            let mut r: Vec<(&str, &str)> = CPA.iter().copied().filter(|(f, _)| *f != k).collect();
            r.push((k, v));
            let leaked: &'static [(&'static str, &'static str)] = Box::leak(
                r.into_iter()
                    .map(|(a, b)| {
                        (&*Box::leak(a.to_owned().into_boxed_str()), &*Box::leak(b.to_owned().into_boxed_str()))
                    })
                    .collect::<Vec<_>>()
                    .into_boxed_slice(),
            );
            parse(&row(leaked)).unwrap_err()
        };
        assert_eq!(with("cpa_no", "5001002800"), "注册会计师证书编号应为12位数字");
        assert!(with("id_number", "110105194912310021").starts_with("有效证件号码"));
        assert_eq!(with("birth_date", "1950-01-01"), "出生日期与身份证号码不一致");
        assert_eq!(with("sex", "男"), "性别与身份证号码不一致");
        assert_eq!(with("mobile", "1391234567"), "手机号码应为11位数字");
        assert_eq!(with("firm_no", "99010028"), "事务所编号格式不正确");
        assert_eq!(with("registered_on", "2010-13-01"), "批准注册日期格式应如2026-03-15");
        assert_eq!(with("status", "停业"), "状态“停业”不正确，应为“正常”或“注销”");
        assert_eq!(with("name", "张\u{202E}三"), "姓名含有不可见或不能使用的字符，请删除后重新填写");
        assert_eq!(with("kind", "会员"), "记录类型应为“事务所”或“注册会计师”");
        assert_eq!(with("id_type", "驾驶证"), "有效证件名称“驾驶证”不正确");
    }

    #[test]
    fn firms_and_branches() {
        let f = row(&[
            ("kind", "事务所"),
            ("firm_no", "50010028"),
            ("firm_name", "重庆正宏会计师事务所"),
            ("form", "有限责任"),
        ]);
        let Record::Firm(r) = parse(&f).unwrap() else { panic!("a firm") };
        assert_eq!(r.form, FirmForm::Limited);
        let b = row(&[
            ("kind", "firm"),
            ("firm_no", "500100280001"),
            ("parent_no", "50010028"),
            ("firm_name", "重庆正宏会计师事务所成都分所"),
            ("form", "合伙"),
            ("status", "注销"),
        ]);
        let Record::Firm(r) = parse(&b).unwrap() else { panic!("a firm") };
        assert!(r.cancelled && r.parent_no.is_some());
        let orphan = row(&[("kind", "firm"), ("firm_no", "500100280001"), ("firm_name", "x"), ("form", "合伙")]);
        assert_eq!(parse(&orphan).unwrap_err(), "分所须填写总所编号");
        assert_eq!(field_of("\u{FEFF}事务所编号"), Some("firm_no"));
        assert_eq!(field_of("cpa_no"), Some("cpa_no"));
        assert_eq!(field_of("备注"), None);
    }
}
