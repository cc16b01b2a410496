//! The member profile (DOMAIN §2, seed 002 §8): every field, grouped as the
//! seeds group them, with the rules a form applies and the completeness
//! check that other workflows call. One file, longer than most: the field
//! table, its rules and their tests are read together, and a split would put
//! a field's label and its rule in two places.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::identifiers::{ExamCertNo, IdNumber, IdType, ResidentId, Sex};

/// The mobile flow's groups (seed 000 §2.1.2), after the basic information.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Basic,
    Contact,
    Work,
    Education,
    Qualification,
    /// 考试信息 (seed 002 §8): the year the member passed the exam.
    Exam,
}

impl Group {
    pub const ALL: [Group; 6] =
        [Group::Basic, Group::Contact, Group::Work, Group::Education, Group::Qualification, Group::Exam];
    pub fn label(self) -> &'static str {
        match self {
            Group::Basic => "基本信息",
            Group::Contact => "联系方式",
            Group::Work => "工作信息",
            Group::Education => "受教育信息",
            Group::Qualification => "资格取得信息",
            Group::Exam => "考试信息",
        }
    }
}

pub const DOMESTIC: &[&str] = &[
    "税务师",
    "工程造价师",
    "资产评估师",
    "房地产评估师",
    "证券从业资格",
    "基金从业资格",
    "银行业从业资格",
    "精算师",
    "建造师",
    "律师",
];
pub const INTERNATIONAL: &[&str] = &[
    "国际注册会计师(ACCA)",
    "美国注册管理会计师(CMA)",
    "特许金融分析师(CFA)",
    "国际注册内审师(CIA)",
    "金融风险管理师(FRM)",
    "香港注册会计师(HKCPA)",
    "美国管理会计师(IMA)",
    "美国注册会计师(AICPA)",
    "澳大利亚注册会计师(CPA Australia)",
    "加拿大注册会计师(CPA Canada)",
    "项目管理专业人士资格认证(PMP)",
];
pub const POLITICAL: &[&str] = &["中共党员", "中共预备党员", "共青团员", "民主党派", "无党派人士", "群众"];
pub const EDUCATION: &[&str] = &["博士研究生", "硕士研究生", "大学本科", "大专", "中专", "高中及以下"];
pub const DEGREE: &[&str] = &["博士", "硕士", "学士", "无", "其它"];
pub const EMPLOYMENT: &[&str] = &["在职", "离退休", "待业", "其他"];
pub const UNIT_NATURE: &[&str] =
    &["党政机关", "事业单位", "国有企业", "民营企业", "外资企业", "金融机构", "高等院校", "会计师事务所", "其他"];

/// All fields a member's profile holds. Dates are optional while a form is
/// being filled; the completeness check says which required ones are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Profile {
    pub name: String,
    pub sex: String,
    pub id_type: String,
    pub id_number: String,
    pub qualification_method: String,
    pub exam_cert_no: String,
    pub approval_doc_no: String,
    pub approval_date: Option<NaiveDate>,
    pub ethnicity: String,
    pub birth_date: Option<NaiveDate>,
    pub political_status: String,
    pub region: String,
    pub employment_status: String,
    pub work_unit: String,
    pub unit_nature: String,
    pub job_field: String,
    pub job_level: String,
    pub achievements: String,
    pub mobile: String,
    pub office_phone: String,
    pub email: String,
    pub mailing_address: String,
    pub household_registration: String,
    pub postal_code: String,
    pub qq: String,
    pub industry_honours: String,
    pub domestic_quals: Vec<String>,
    pub domestic_other: String,
    pub international_quals: Vec<String>,
    pub international_other: String,
    pub education: String,
    pub degree: String,
    pub major: String,
    pub school: String,
    pub foreign_language: String,
    pub title_kind: String,
    pub exam_year: Option<i32>,
}

/// A profile whose rules hold (`Profile::checked`): its identifiers parsed.
#[derive(Debug, Clone)]
pub struct CheckedProfile {
    profile: Profile,
    pub id_number: IdNumber,
    pub exam_cert_no: ExamCertNo,
}

impl CheckedProfile {
    /// The profile, with the identifiers and the name in their normal form.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }
}

/// One field of the form: its key, its label on screen, its group, and whether
/// the member must fill it (`*`). Fields set by the associations (会员批准文件号,
/// 会员批准日期) are not the member's to fill.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub key: &'static str,
    pub label: &'static str,
    pub group: Group,
    pub required: bool,
}

const fn f(key: &'static str, label: &'static str, group: Group, required: bool) -> Field {
    Field { key, label, group, required }
}

pub const FIELDS: &[Field] = &[
    f("name", "姓名", Group::Basic, true),
    f("sex", "性别", Group::Basic, true),
    f("id_type", "证件类型", Group::Basic, true),
    f("id_number", "证件号码", Group::Basic, true),
    f("birth_date", "出生日期", Group::Basic, true),
    f("ethnicity", "民族", Group::Basic, true),
    f("political_status", "政治面貌", Group::Basic, true),
    f("region", "所在地区", Group::Basic, true),
    f("household_registration", "户口所在地", Group::Basic, false),
    f("mobile", "联系电话", Group::Contact, true),
    f("office_phone", "办公电话", Group::Contact, false),
    f("email", "电子邮件", Group::Contact, true),
    f("mailing_address", "通讯地址", Group::Contact, true),
    f("postal_code", "邮政编码", Group::Contact, true),
    f("qq", "QQ号", Group::Contact, false),
    f("employment_status", "职业状态", Group::Work, true),
    f("work_unit", "工作单位", Group::Work, true),
    f("unit_nature", "单位性质", Group::Work, true),
    f("job_field", "职务领域", Group::Work, false),
    f("job_level", "职务层级", Group::Work, false),
    f("achievements", "突出成果和重要奖励", Group::Work, false),
    f("industry_honours", "行业荣誉", Group::Work, false),
    f("education", "学历", Group::Education, true),
    f("degree", "学位", Group::Education, false),
    f("major", "所学专业", Group::Education, false),
    f("school", "毕业院校", Group::Education, true),
    f("foreign_language", "外语语种", Group::Education, false),
    f("title_kind", "专业技术职称种类", Group::Education, false),
    f("qualification_method", "资格取得方式", Group::Qualification, true),
    f("exam_cert_no", "全科合格证号或考核批准文号", Group::Qualification, true),
    f("exam_year", "全科合格年份", Group::Exam, true),
];

impl Profile {
    fn is_filled(&self, key: &str) -> bool {
        let s = |v: &String| !v.trim().is_empty();
        match key {
            "name" => s(&self.name),
            "sex" => s(&self.sex),
            "id_type" => s(&self.id_type),
            "id_number" => s(&self.id_number),
            "birth_date" => self.birth_date.is_some(),
            "ethnicity" => s(&self.ethnicity),
            "political_status" => s(&self.political_status),
            "region" => s(&self.region),
            "household_registration" => s(&self.household_registration),
            "mobile" => s(&self.mobile),
            "office_phone" => s(&self.office_phone),
            "email" => s(&self.email),
            "mailing_address" => s(&self.mailing_address),
            "postal_code" => s(&self.postal_code),
            "qq" => s(&self.qq),
            "employment_status" => s(&self.employment_status),
            "work_unit" => s(&self.work_unit),
            "unit_nature" => s(&self.unit_nature),
            "job_field" => s(&self.job_field),
            "job_level" => s(&self.job_level),
            "achievements" => s(&self.achievements),
            "industry_honours" => s(&self.industry_honours),
            "education" => s(&self.education),
            "degree" => s(&self.degree),
            "major" => s(&self.major),
            "school" => s(&self.school),
            "foreign_language" => s(&self.foreign_language),
            "title_kind" => s(&self.title_kind),
            "qualification_method" => s(&self.qualification_method),
            "exam_cert_no" => s(&self.exam_cert_no),
            "exam_year" => self.exam_year.is_some(),
            _ => false,
        }
    }

    /// A field's value as a form shows it (dates as YYYY-MM-DD).
    pub fn get(&self, key: &str) -> String {
        let date = |d: &Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        match key {
            "name" => self.name.clone(),
            "sex" => self.sex.clone(),
            "id_type" => self.id_type.clone(),
            "id_number" => self.id_number.clone(),
            "birth_date" => date(&self.birth_date),
            "ethnicity" => self.ethnicity.clone(),
            "political_status" => self.political_status.clone(),
            "region" => self.region.clone(),
            "household_registration" => self.household_registration.clone(),
            "mobile" => self.mobile.clone(),
            "office_phone" => self.office_phone.clone(),
            "email" => self.email.clone(),
            "mailing_address" => self.mailing_address.clone(),
            "postal_code" => self.postal_code.clone(),
            "qq" => self.qq.clone(),
            "employment_status" => self.employment_status.clone(),
            "work_unit" => self.work_unit.clone(),
            "unit_nature" => self.unit_nature.clone(),
            "job_field" => self.job_field.clone(),
            "job_level" => self.job_level.clone(),
            "achievements" => self.achievements.clone(),
            "industry_honours" => self.industry_honours.clone(),
            "education" => self.education.clone(),
            "degree" => self.degree.clone(),
            "major" => self.major.clone(),
            "school" => self.school.clone(),
            "foreign_language" => self.foreign_language.clone(),
            "title_kind" => self.title_kind.clone(),
            "qualification_method" => self.qualification_method.clone(),
            "exam_cert_no" => self.exam_cert_no.clone(),
            "exam_year" => self.exam_year.map(|y| y.to_string()).unwrap_or_default(),
            "domestic_other" => self.domestic_other.clone(),
            "international_other" => self.international_other.clone(),
            "approval_doc_no" => self.approval_doc_no.clone(),
            "approval_date" => date(&self.approval_date),
            _ => String::new(),
        }
    }

    /// Sets a field from a form value. A date or year that does not parse is
    /// left empty, and the check then says so beside the field.
    pub fn set(&mut self, key: &str, value: &str) {
        let v = value.trim().to_owned();
        let date = || NaiveDate::parse_from_str(&v, "%Y-%m-%d").ok();
        match key {
            "name" => self.name = v,
            "sex" => self.sex = v,
            "id_type" => self.id_type = v,
            "id_number" => self.id_number = v.to_uppercase(),
            "birth_date" => self.birth_date = date(),
            "ethnicity" => self.ethnicity = v,
            "political_status" => self.political_status = v,
            "region" => self.region = v,
            "household_registration" => self.household_registration = v,
            "mobile" => self.mobile = v,
            "office_phone" => self.office_phone = v,
            "email" => self.email = v,
            "mailing_address" => self.mailing_address = v,
            "postal_code" => self.postal_code = v,
            "qq" => self.qq = v,
            "employment_status" => self.employment_status = v,
            "work_unit" => self.work_unit = v,
            "unit_nature" => self.unit_nature = v,
            "job_field" => self.job_field = v,
            "job_level" => self.job_level = v,
            "achievements" => self.achievements = v,
            "industry_honours" => self.industry_honours = v,
            "education" => self.education = v,
            "degree" => self.degree = v,
            "major" => self.major = v,
            "school" => self.school = v,
            "foreign_language" => self.foreign_language = v,
            "title_kind" => self.title_kind = v,
            "qualification_method" => self.qualification_method = v,
            "exam_cert_no" => self.exam_cert_no = v.to_uppercase(),
            "exam_year" => self.exam_year = v.parse().ok(),
            "domestic_other" => self.domestic_other = v,
            "international_other" => self.international_other = v,
            // At most one more than the list holds (enough for the check to
            // say the choice is wrong): a form repeating the box a hundred
            // thousand times costs no more than one that ticks them all.
            "domestic_quals"
                if !v.is_empty()
                    && self.domestic_quals.len() <= DOMESTIC.len()
                    && !self.domestic_quals.contains(&v) =>
            {
                self.domestic_quals.push(v)
            }
            "international_quals"
                if !v.is_empty()
                    && self.international_quals.len() <= INTERNATIONAL.len()
                    && !self.international_quals.contains(&v) =>
            {
                self.international_quals.push(v)
            }
            _ => {}
        }
    }

    /// The labels of the required fields still empty, in form order: what
    /// 完善信息 and 下载会员证 tell the member to fill.
    pub fn missing(&self) -> Vec<&'static str> {
        FIELDS.iter().filter(|f| f.required && !self.is_filled(f.key)).map(|f| f.label).collect()
    }

    /// The form's rules; when they all hold, the profile with its
    /// identifiers parsed, once, to be carried on typed, and its own strings
    /// set to their normal form.
    pub fn checked(&self, today: NaiveDate) -> Result<CheckedProfile, Vec<(&'static str, String)>> {
        let errors = self.check(today);
        if !errors.is_empty() {
            return Err(errors);
        }
        let id_type = IdType::from_code(&self.id_type).ok_or_else(|| vec![("id_type", "请选择证件类型".to_owned())])?;
        let id_number = IdNumber::parse(id_type, &self.id_number).map_err(|e| vec![("id_number", e)])?;
        let exam_cert_no = match self.qualification_method.as_str() {
            "exam" => ExamCertNo::parse_exam(&self.exam_cert_no),
            _ => ExamCertNo::parse_assessment(&self.exam_cert_no),
        }
        .map_err(|e| vec![("exam_cert_no", e.to_string())])?;
        let mut profile = self.clone();
        profile.id_number = id_number.as_str().to_owned();
        profile.exam_cert_no = exam_cert_no.as_str().to_owned();
        profile.name = self.name.trim().to_owned();
        Ok(CheckedProfile { profile, id_number, exam_cert_no })
    }

    /// Every rule of the form: (field key, message beside it).
    pub fn check(&self, today: NaiveDate) -> Vec<(&'static str, String)> {
        let mut errors: Vec<(&'static str, String)> = Vec::new();
        for f in FIELDS.iter().filter(|f| f.required && !self.is_filled(f.key)) {
            let verb = if matches!(
                f.key,
                "sex"
                    | "id_type"
                    | "political_status"
                    | "region"
                    | "employment_status"
                    | "unit_nature"
                    | "education"
                    | "qualification_method"
            ) {
                "请选择"
            } else {
                "请填写"
            };
            errors.push((f.key, format!("{verb}{}", f.label)));
        }
        if self.is_filled("sex") && Sex::from_code(&self.sex).is_none() {
            errors.push(("sex", "请选择性别".into()));
        }
        let id_type = IdType::from_code(&self.id_type);
        if self.is_filled("id_type") && id_type.is_none() {
            errors.push(("id_type", "请选择证件类型".into()));
        }
        if self.is_filled("id_number") {
            match id_type {
                Some(IdType::ResidentId) => match ResidentId::parse(&self.id_number) {
                    Err(e) => errors.push(("id_number", e.to_string())),
                    Ok(id) => {
                        if self.birth_date.is_some_and(|b| b != id.birth_date()) {
                            errors.push(("birth_date", "出生日期与身份证号码不一致".into()));
                        }
                        if Sex::from_code(&self.sex).is_some_and(|s| s != id.sex()) {
                            errors.push(("sex", "性别与身份证号码不一致".into()));
                        }
                    }
                },
                Some(other) => {
                    if let Err(e) = IdNumber::parse(other, &self.id_number) {
                        errors.push(("id_number", e));
                    }
                }
                None => {}
            }
        }
        if let Some(b) = self.birth_date
            && (b > today || b.year() < 1900)
        {
            errors.push(("birth_date", "出生日期不正确".into()));
        }
        if self.is_filled("qualification_method") && self.is_filled("exam_cert_no") {
            let parsed = match self.qualification_method.as_str() {
                "exam" => ExamCertNo::parse_exam(&self.exam_cert_no).map(|_| ()),
                "assessment" => ExamCertNo::parse_assessment(&self.exam_cert_no).map(|_| ()),
                _ => {
                    errors.push(("qualification_method", "请选择资格取得方式".into()));
                    Ok(())
                }
            };
            if let Err(e) = parsed {
                errors.push(("exam_cert_no", e.to_string()));
            }
        }
        if let Some(y) = self.exam_year
            && !(1991..=today.year()).contains(&y)
        {
            errors.push(("exam_year", format!("全科合格年份应在1991至{}之间", today.year())));
        }
        if self.is_filled("mobile") && !is_mobile(&self.mobile) {
            errors.push(("mobile", "手机号码应为11位数字，以1开头".into()));
        }
        if !self.office_phone.trim().is_empty() && !is_phone(&self.office_phone) {
            errors.push(("office_phone", "办公电话格式不正确，如010-88250337".into()));
        }
        if self.is_filled("email") && !is_email(&self.email) {
            errors.push(("email", "电子邮件格式不正确，如name@example.com".into()));
        }
        if self.is_filled("postal_code")
            && !(self.postal_code.len() == 6 && self.postal_code.bytes().all(|b| b.is_ascii_digit()))
        {
            errors.push(("postal_code", "邮政编码应为6位数字".into()));
        }
        let qq = self.qq.trim();
        if !qq.is_empty() && (!(5..=12).contains(&qq.len()) || !qq.bytes().all(|b| b.is_ascii_digit())) {
            errors.push(("qq", "QQ号应为5至12位数字".into()));
        }
        // The first unknown one named, once (a list sent through the API
        // may be of any length).
        if let Some(q) = self.domestic_quals.iter().find(|q| !DOMESTIC.contains(&q.as_str())) {
            errors.push(("domestic_quals", format!("未知的国内资格：{}", q.chars().take(20).collect::<String>())));
        }
        if let Some(q) = self.international_quals.iter().find(|q| !INTERNATIONAL.contains(&q.as_str())) {
            errors.push(("international_quals", format!("未知的国际资格：{}", q.chars().take(20).collect::<String>())));
        }
        // Every text field: a length limit, and no control characters.
        let keys = FIELDS.iter().map(|f| f.key).chain(["domestic_other", "international_other", "approval_doc_no"]);
        for key in keys {
            let (max, multiline) = match key {
                "achievements" | "industry_honours" => (500, true),
                "mailing_address" => (200, false),
                "name" => (50, false),
                _ => (100, false),
            };
            if let Err(e) = crate::text::check(&self.get(key), max, multiline)
                && !errors.iter().any(|(k, _)| *k == key)
            {
                errors.push((key, e.to_string()));
            }
        }
        if self.domestic_quals.len() > DOMESTIC.len() && !errors.iter().any(|(k, _)| *k == "domestic_quals") {
            errors.push(("domestic_quals", "国内资格选择有误".to_owned()));
        }
        if self.international_quals.len() > INTERNATIONAL.len()
            && !errors.iter().any(|(k, _)| *k == "international_quals")
        {
            errors.push(("international_quals", "国际资格选择有误".to_owned()));
        }
        errors
    }
}

fn is_mobile(s: &str) -> bool {
    let s = s.trim();
    s.len() == 11 && s.starts_with('1') && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_phone(s: &str) -> bool {
    let s = s.trim();
    (7..=20).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'-')
        && s.bytes().filter(u8::is_ascii_digit).count() >= 7
}

fn is_email(s: &str) -> bool {
    let s = s.trim();
    match s.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.contains(char::is_whitespace)
                && s.len() <= 100
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_ticked_boxes_keeps_no_more_than_the_list() {
        let mut p = Profile::default();
        for i in 0..200_000 {
            p.set("domestic_quals", &format!("{i:x}"));
        }
        assert_eq!(p.domestic_quals.len(), DOMESTIC.len() + 1);
        let errors = p.check(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
        assert_eq!(errors.iter().filter(|(k, _)| *k == "domestic_quals").count(), 1, "said once");
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    #[test]
    fn checked_parses_the_identifiers_once_into_their_normal_form() {
        let mut p = complete();
        p.id_number = " 11010519491231002x ".into();
        p.exam_cert_no = " qz231100123".into();
        p.name = " 王芳 ".into();
        let c = p.checked(today()).unwrap();
        assert_eq!(c.id_number, IdNumber::Resident(ResidentId::parse("11010519491231002X").unwrap()));
        assert_eq!(c.exam_cert_no, ExamCertNo::parse_exam("QZ231100123").unwrap());
        let q = c.profile();
        assert_eq!(
            (q.id_number.as_str(), q.exam_cert_no.as_str(), q.name.as_str()),
            ("11010519491231002X", "QZ231100123", "王芳")
        );

        p.id_type = "passport".into();
        p.id_number = " e1234567 ".into();
        p.qualification_method = "assessment".into();
        p.exam_cert_no = " cz〔2019〕12号 ".into();
        let c = p.checked(today()).unwrap();
        assert_eq!(c.id_number.as_str(), "E1234567");
        assert_eq!(c.id_number.id_type(), IdType::Passport);
        assert_eq!(c.exam_cert_no.as_str(), "CZ〔2019〕12号");

        p.id_number = "x".repeat(31);
        let e = p.checked(today()).unwrap_err();
        assert_eq!(e, vec![("id_number", "证件号码不超过30个字符".to_owned())]);
    }

    pub fn complete() -> Profile {
        Profile {
            name: "王芳".into(),
            sex: "F".into(),
            id_type: "resident".into(),
            id_number: "11010519491231002X".into(),
            birth_date: NaiveDate::from_ymd_opt(1949, 12, 31),
            ethnicity: "汉族".into(),
            political_status: "群众".into(),
            region: "11".into(),
            mobile: "13812348628".into(),
            email: "wangfang@example.cn".into(),
            mailing_address: "北京市海淀区阜成路16号".into(),
            postal_code: "100048".into(),
            employment_status: "在职".into(),
            work_unit: "中国银行".into(),
            unit_nature: "金融机构".into(),
            education: "大学本科".into(),
            school: "中央财经大学".into(),
            qualification_method: "exam".into(),
            exam_cert_no: "QZ231100123".into(),
            exam_year: Some(2023),
            ..Profile::default()
        }
    }

    #[test]
    fn a_complete_profile_passes_every_rule() {
        assert_eq!(complete().check(today()), vec![]);
        assert!(complete().missing().is_empty());
    }

    #[test]
    fn the_completeness_check_names_the_missing_fields_in_form_order() {
        let p = Profile { mobile: String::new(), school: " ".into(), exam_year: None, ..complete() };
        assert_eq!(p.missing(), ["联系电话", "毕业院校", "全科合格年份"]);
    }

    #[test]
    fn every_rule_has_its_message_beside_its_field() {
        let msg = |p: Profile, key: &str| {
            p.check(today()).into_iter().find(|(k, _)| *k == key).map(|(_, m)| m).unwrap_or_default()
        };
        assert_eq!(msg(Profile { name: "".into(), ..complete() }, "name"), "请填写姓名");
        assert_eq!(msg(Profile { sex: "".into(), ..complete() }, "sex"), "请选择性别");
        assert_eq!(
            msg(Profile { id_number: "110105194912310021".into(), ..complete() }, "id_number"),
            "身份证号码校验位不正确，请核对"
        );
        assert_eq!(
            msg(Profile { birth_date: NaiveDate::from_ymd_opt(1950, 1, 1), ..complete() }, "birth_date"),
            "出生日期与身份证号码不一致"
        );
        assert_eq!(msg(Profile { sex: "M".into(), ..complete() }, "sex"), "性别与身份证号码不一致");
        assert!(
            msg(Profile { exam_cert_no: "QZ23110012".into(), ..complete() }, "exam_cert_no")
                .starts_with("全科合格证号格式应为")
        );
        assert_eq!(
            msg(
                Profile {
                    qualification_method: "assessment".into(),
                    exam_cert_no: "财会〔2019〕12号".into(),
                    ..complete()
                },
                "exam_cert_no"
            ),
            ""
        );
        assert_eq!(
            msg(Profile { mobile: "2381234862".into(), ..complete() }, "mobile"),
            "手机号码应为11位数字，以1开头"
        );
        assert_eq!(
            msg(Profile { office_phone: "电话".into(), ..complete() }, "office_phone"),
            "办公电话格式不正确，如010-88250337"
        );
        assert_eq!(
            msg(Profile { email: "wang@".into(), ..complete() }, "email"),
            "电子邮件格式不正确，如name@example.com"
        );
        assert_eq!(msg(Profile { postal_code: "10004".into(), ..complete() }, "postal_code"), "邮政编码应为6位数字");
        assert_eq!(msg(Profile { qq: "12a45".into(), ..complete() }, "qq"), "QQ号应为5至12位数字");
        assert_eq!(msg(Profile { exam_year: Some(1980), ..complete() }, "exam_year"), "全科合格年份应在1991至2026之间");
        assert_eq!(
            msg(Profile { domestic_quals: vec!["厨师".into()], ..complete() }, "domestic_quals"),
            "未知的国内资格：厨师"
        );
        assert_eq!(
            msg(Profile { id_type: "passport".into(), id_number: "E12345678".into(), ..complete() }, "id_number"),
            ""
        );
    }

    #[test]
    fn every_form_field_round_trips_through_get_and_set() {
        let p = complete();
        let mut q = Profile::default();
        for f in FIELDS {
            q.set(f.key, &p.get(f.key));
        }
        q.domestic_quals = p.domestic_quals.clone();
        assert_eq!(q, p);
        q.set("birth_date", "1990-02-30");
        assert_eq!(q.birth_date, None, "an impossible date stays empty and is reported as missing");
    }

    #[test]
    fn every_required_field_is_one_the_form_knows() {
        let p = Profile::default();
        assert_eq!(p.missing().len(), FIELDS.iter().filter(|f| f.required).count());
        for f in FIELDS {
            assert!(!f.label.is_empty());
        }
    }
}
