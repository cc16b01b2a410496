//! What each association sets for an inspection year (CICPA's row is the
//! default for associations without their own): the window, the hours, the
//! fee and its exemption, the materials, the notices, the longest deferral.

use chrono::NaiveDate;
use cmis_domain::Hours;
use cmis_store::entity::inspection_setting as row;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::attachments::INSPECTION_MATERIALS;
use crate::error::{AppResult, FieldErrors};
use crate::scope::Permission;
use crate::{Actor, App, audit};

/// One material the association asks for, with its own limits inside the
/// seed's (pdf, jpg, png, xls; at most 5 files of 5 MB).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Material {
    pub name: String,
    pub required: bool,
    /// Of pdf, jpg, png, xls.
    #[serde(default = "all_kinds")]
    pub kinds: Vec<String>,
    #[serde(default = "five")]
    pub max_count: u64,
    #[serde(default = "five")]
    pub max_mb: u64,
}

fn all_kinds() -> Vec<String> {
    INSPECTION_MATERIALS.kinds.iter().map(|k| k.label().to_owned()).collect()
}

fn five() -> u64 {
    5
}

impl Material {
    /// As the member reads it beside the upload box.
    pub fn hint(&self) -> String {
        format!("{}，最多{}个，每个不超过{}MB", self.kinds.join("、"), self.max_count, self.max_mb)
    }

    /// As staff type it: `[*]名称[|类型,类型[|个数[|MB]]]`.
    pub fn line(&self) -> String {
        let mut l = format!("{}{}", if self.required { "*" } else { "" }, self.name);
        if self.kinds != all_kinds() || self.max_count != 5 || self.max_mb != 5 {
            l.push_str(&format!("|{}|{}|{}", self.kinds.join(","), self.max_count, self.max_mb));
        }
        l
    }

    pub fn parse(line: &str) -> Result<Material, String> {
        Material::parse_up_to(line, 5)
    }

    /// The same, where the list may allow up to `most` files of one material
    /// (a firm's batch: 最多可上传10个附件).
    pub fn parse_up_to(line: &str, most: u64) -> Result<Material, String> {
        let mut parts = line.split(['|', '｜']).map(str::trim);
        let first = parts.next().unwrap_or_default();
        let (required, name) = match first.strip_prefix('*').or_else(|| first.strip_prefix('＊')) {
            Some(rest) => (true, rest.trim()),
            None => (false, first),
        };
        if name.is_empty() || name.chars().count() > 50 {
            return Err("每项材料名称不超过50个字".into());
        }
        if let Err(e) = cmis_domain::text::check(name, 50, false) {
            return Err(format!("材料名称{e}"));
        }
        let kinds: Vec<String> = match parts.next().filter(|k| !k.is_empty()) {
            None => all_kinds(),
            Some(k) => k.split([',', '，', '、']).map(|x| x.trim().to_lowercase()).filter(|x| !x.is_empty()).collect(),
        };
        if kinds.is_empty() || kinds.iter().any(|k| !all_kinds().contains(k)) {
            return Err(format!("“{name}”的文件类型应为pdf、jpg、png、xls中的一种或几种"));
        }
        let number = |v: Option<&str>, what: &str, most: u64| -> Result<u64, String> {
            match v.filter(|v| !v.is_empty()) {
                None => Ok(5),
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=most).contains(n))
                    .ok_or(format!("“{name}”的{what}应为1至{most}")),
            }
        };
        let max_count = number(parts.next(), "个数", most)?;
        let max_mb = number(parts.next(), "大小（MB）", 5)?;
        Ok(Material { name: name.to_owned(), required, kinds, max_count, max_mb })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InspectionSettings {
    pub association_id: i32,
    /// The association the values come from (its own, or CICPA's default).
    pub source: String,
    pub year: i32,
    pub window_start: NaiveDate,
    pub window_end: NaiveDate,
    pub annual_hours: Hours,
    pub fee_cents: i64,
    /// 2024 rule: women members who gave birth that year pay no fee.
    pub exempt_maternity: bool,
    pub materials: Vec<Material>,
    /// Shown before the member applies.
    pub pre_notice: String,
    /// 省注协自定义通知 on the success page.
    pub success_notice: String,
    pub max_deferral_years: i32,
    /// Whether a deferral needs 暂缓证明材料: seed 000 §2.2.2.3 says no upload
    /// is needed where the association has no materials module.
    pub deferral_proof: bool,
    /// Days a 年检不予通过 waits before it is final and membership is
    /// cancelled; within them the association may reverse it (0: at once).
    pub failure_final_days: i32,
    /// Whether this row is the association's own (false: inherited).
    pub own: bool,
}

impl InspectionSettings {
    /// What applies when nobody set anything: the seed's window, 40 hours,
    /// 100 yuan with the maternity exemption, no materials, one year's deferral.
    pub fn builtin(association_id: i32, year: i32) -> InspectionSettings {
        InspectionSettings {
            association_id,
            source: "系统默认".into(),
            year,
            window_start: NaiveDate::from_ymd_opt(year + 1, 5, 29).expect("valid date"),
            window_end: NaiveDate::from_ymd_opt(year + 1, 12, 31).expect("valid date"),
            annual_hours: Hours::whole(40),
            fee_cents: 10_000,
            exempt_maternity: true,
            materials: vec![],
            pre_notice: "请如实填写个人信息，确认继续教育学时已达到要求后再申请年检。".into(),
            success_notice: "所属地方注协将在20个工作日内完成审核，审核结果将通过消息中心及短信通知您。".into(),
            max_deferral_years: 1,
            deferral_proof: true,
            failure_final_days: FAILURE_FINAL_DAYS,
            own: false,
        }
    }

    pub fn open_on(&self, day: NaiveDate) -> bool {
        self.window_start <= day && day <= self.window_end
    }

    pub fn fee_yuan(&self) -> String {
        yuan(self.fee_cents)
    }

    /// The upload hint, in the seed's words.
    pub fn material_hint(&self) -> String {
        INSPECTION_MATERIALS.hint()
    }
}

/// The default period before a 年检不予通过 is final: 30 days, the usual time
/// to ask for a decision to be reconsidered.
pub const FAILURE_FINAL_DAYS: i32 = 30;
/// The longest period an association may set.
pub const FAILURE_FINAL_MAX: i32 = 180;

pub fn yuan(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn from_row(r: row::Model, association_id: i32, source: String) -> InspectionSettings {
    InspectionSettings {
        own: r.association_id == association_id,
        association_id,
        source,
        year: r.year,
        window_start: r.window_start,
        window_end: r.window_end,
        annual_hours: Hours::from_hundredths(r.annual_hours_x100),
        fee_cents: r.fee_cents,
        exempt_maternity: r.exempt_maternity,
        materials: serde_json::from_str(&r.materials).unwrap_or_default(),
        pre_notice: r.pre_notice,
        success_notice: r.success_notice,
        max_deferral_years: r.max_deferral_years,
        deferral_proof: r.deferral_proof,
        failure_final_days: r.failure_final_days,
    }
}

/// The settings that apply to members of provincial association `association_id`
/// in `year`: its own row, else CICPA's, else the built-in ones.
pub async fn effective(app: &App, association_id: i32, year: i32) -> AppResult<InspectionSettings> {
    effective_on(app.db.conn(), app, association_id, year).await
}

/// The same, read on `db`: inside a write transaction, its own connection
/// (asking the pool for a second one while holding the write lock can wait
/// on connections that wait for that lock).
pub async fn effective_on<C: sea_orm::ConnectionTrait>(
    db: &C,
    app: &App,
    association_id: i32,
    year: i32,
) -> AppResult<InspectionSettings> {
    if !cmis_domain::YEARS.contains(&year) {
        return Err(FieldErrors::one("year", "年度不正确"));
    }
    let national = app.orgs().national().id;
    let rows = row::Entity::find()
        .filter(row::Column::Year.eq(year))
        .filter(row::Column::AssociationId.is_in([association_id, national]))
        .all(db)
        .await?;
    let pick = rows
        .iter()
        .find(|r| r.association_id == association_id)
        .or_else(|| rows.iter().find(|r| r.association_id == national))
        .cloned();
    Ok(match pick {
        Some(r) => {
            let source = app.orgs().get(r.association_id).map_or_else(String::new, |a| a.name.clone());
            from_row(r, association_id, source)
        }
        None => InspectionSettings::builtin(association_id, year),
    })
}

/// The inspection year open on `day` for an association: the year whose window
/// holds the day, else the year inspected in the day's year (Y is inspected in Y+1).
pub async fn current_year(app: &App, association_id: i32, day: NaiveDate) -> AppResult<i32> {
    use chrono::Datelike;
    let inspected = day.year() - 1;
    for year in [inspected, inspected - 1, inspected + 1] {
        if effective(app, association_id, year).await?.open_on(day) {
            return Ok(year);
        }
    }
    Ok(inspected)
}

/// What staff send from the settings page.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SettingsForm {
    pub window_start: String,
    pub window_end: String,
    pub annual_hours: String,
    pub fee_yuan: String,
    pub exempt_maternity: bool,
    /// One material a line: `[*]名称[|类型,类型[|个数[|MB]]]`; `*` marks a required one.
    pub materials: String,
    pub pre_notice: String,
    pub success_notice: String,
    pub max_deferral_years: String,
    #[serde(default = "yes")]
    pub deferral_proof: bool,
    /// Empty: the default period.
    pub failure_final_days: String,
}

fn yes() -> bool {
    true
}

impl SettingsForm {
    pub fn from_settings(s: &InspectionSettings) -> SettingsForm {
        SettingsForm {
            window_start: s.window_start.to_string(),
            window_end: s.window_end.to_string(),
            annual_hours: s.annual_hours.to_string(),
            fee_yuan: s.fee_yuan(),
            exempt_maternity: s.exempt_maternity,
            materials: s.materials.iter().map(Material::line).collect::<Vec<_>>().join("\n"),
            pre_notice: s.pre_notice.clone(),
            success_notice: s.success_notice.clone(),
            max_deferral_years: s.max_deferral_years.to_string(),
            deferral_proof: s.deferral_proof,
            failure_final_days: s.failure_final_days.to_string(),
        }
    }
}

/// Which association's settings an actor edits: CICPA the defaults, a local
/// association its own. City associations follow their province.
fn editable(actor: &Actor) -> AppResult<()> {
    Permission::InspectionSettings.require(actor)
}

pub async fn for_editing(app: &App, actor: &Actor, year: i32) -> AppResult<InspectionSettings> {
    editable(actor)?;
    effective(app, actor.association_id, year).await
}

/// 保存: every value checked, then one row written and the change audited.
pub async fn save(app: &App, actor: &Actor, year: i32, f: &SettingsForm) -> AppResult<InspectionSettings> {
    editable(actor)?;
    let mut errors = FieldErrors::new();
    let date = |errors: &mut FieldErrors, key: &str, v: &str| {
        let d = NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").ok();
        if d.is_none() {
            errors.add(key, "请填写日期，格式如2026-05-29");
        }
        d
    };
    let start = date(&mut errors, "window_start", &f.window_start);
    let end = date(&mut errors, "window_end", &f.window_end);
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        errors.add("window_end", "结束日期不能早于开始日期");
    }
    if let Some(s) = start
        && s <= NaiveDate::from_ymd_opt(year, 12, 31).expect("valid date")
    {
        errors.add("window_start", format!("{year}年度年检应在{}年开始", year + 1));
    }
    // Zero is allowed here: an association may require no hours in a year.
    let hours = if f.annual_hours.trim().parse::<f64>() == Ok(0.0) {
        Some(Hours::ZERO)
    } else {
        Hours::parse(&f.annual_hours, 200).ok()
    };
    if hours.is_none() {
        errors.add("annual_hours", "请填写0至200之间的学时数");
    }
    let fee = parse_yuan(&f.fee_yuan);
    if fee.is_none() {
        errors.add("fee_yuan", "请填写金额（元），如100或100.00；不收取会费填0");
    }
    let deferral = f.max_deferral_years.trim().parse::<i32>().ok().filter(|y| (1..=5).contains(y));
    if deferral.is_none() {
        errors.add("max_deferral_years", "请填写1至5之间的整数");
    }
    let final_days = match f.failure_final_days.trim() {
        "" => Some(FAILURE_FINAL_DAYS),
        d => d.parse::<i32>().ok().filter(|d| (0..=FAILURE_FINAL_MAX).contains(d)),
    };
    if final_days.is_none() {
        errors.add("failure_final_days", format!("请填写0至{FAILURE_FINAL_MAX}之间的天数"));
    }
    let mut materials = Vec::new();
    for line in f.materials.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match Material::parse(line) {
            Ok(m) => materials.push(m),
            Err(e) => errors.add("materials", e),
        }
    }
    if materials.len() as u64 > INSPECTION_MATERIALS.max_count {
        errors.add("materials", format!("最多{}项材料", INSPECTION_MATERIALS.max_count));
    }
    if f.success_notice.trim().is_empty() {
        errors.add("success_notice", "请填写申请成功后显示的通知");
    }
    for (key, text) in [("pre_notice", &f.pre_notice), ("success_notice", &f.success_notice)] {
        if let Err(e) = cmis_domain::text::check(text, 2000, true) {
            errors.add(key, format!("通知{e}"));
        }
    }
    errors.into_result()?;
    let final_days = final_days.expect("checked");
    let (start, end, hours, fee, deferral) = (
        start.expect("checked"),
        end.expect("checked"),
        hours.expect("checked"),
        fee.expect("checked"),
        deferral.expect("checked"),
    );

    let txn = app.write().await?;
    let existing = row::Entity::find()
        .filter(row::Column::AssociationId.eq(actor.association_id))
        .filter(row::Column::Year.eq(year))
        .one(&txn)
        .await?;
    let mut m: row::ActiveModel = match existing {
        Some(r) => r.into(),
        None => row::ActiveModel { association_id: Set(actor.association_id), year: Set(year), ..Default::default() },
    };
    m.window_start = Set(start);
    m.window_end = Set(end);
    m.annual_hours_x100 = Set(hours.hundredths());
    m.fee_cents = Set(fee);
    m.exempt_maternity = Set(f.exempt_maternity);
    m.materials = Set(serde_json::to_string(&materials).map_err(anyhow::Error::from)?);
    m.pre_notice = Set(f.pre_notice.trim().to_owned());
    m.success_notice = Set(f.success_notice.trim().to_owned());
    m.max_deferral_years = Set(deferral);
    m.deferral_proof = Set(f.deferral_proof);
    m.failure_final_days = Set(final_days);
    m.updated_by = Set(actor.audit_name());
    m.updated_at = Set(app.now());
    let saved = m.save(&txn).await?;
    audit::append(
        &txn,
        &actor.audit_name(),
        "inspection_settings_saved",
        &format!("inspection_settings:{}", saved.id.clone().unwrap()),
        json!({
            "year": year, "window": [start, end], "annual_hours": hours.to_string(), "fee_cents": fee,
            "exempt_maternity": f.exempt_maternity, "materials": materials, "max_deferral_years": deferral,
            "deferral_proof": f.deferral_proof, "failure_final_days": final_days,
        }),
    )
    .await?;
    txn.commit().await?;
    effective(app, actor.association_id, year).await
}

fn parse_yuan(v: &str) -> Option<i64> {
    let v = v.trim();
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 2 {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cents = format!("{frac:0<2}").parse::<i64>().ok()?;
    let whole = whole.parse::<i64>().ok().filter(|w| *w <= 100_000)?;
    Some(whole * 100 + cents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn materials_read_as_staff_type_them() {
        let m = Material::parse("*社保缴纳证明|pdf,JPG|2|3").unwrap();
        assert_eq!(
            (m.required, m.kinds.clone(), m.max_count, m.max_mb),
            (true, vec!["pdf".into(), "jpg".into()], 2, 3)
        );
        assert_eq!(m.line(), "*社保缴纳证明|pdf,jpg|2|3");
        let plain = Material::parse("工作单位证明").unwrap();
        assert_eq!((plain.required, plain.max_count, plain.max_mb, plain.kinds.len()), (false, 5, 5, 4));
        assert_eq!(plain.line(), "工作单位证明");
        assert!(Material::parse("证明|doc").is_err());
        assert!(Material::parse("证明|pdf|9").is_err());
        assert!(Material::parse("证明|pdf|1|50").is_err(), "never above the seed's 5 MB");
        assert!(Material::parse("附件\u{0}NUL|pdf").is_err(), "no control characters");
        assert!(Material::parse("\u{202E}反转材料").is_err(), "no marks that turn text around");
    }

    #[test]
    fn parses_yuan() {
        assert_eq!(parse_yuan("100"), Some(10_000));
        assert_eq!(parse_yuan("100.5"), Some(10_050));
        assert_eq!(parse_yuan("0"), Some(0));
        assert_eq!(parse_yuan("-1"), None);
        assert_eq!(parse_yuan("1.234"), None);
        assert_eq!(parse_yuan("abc"), None);
        assert_eq!(yuan(10_050), "100.50");
    }
}
