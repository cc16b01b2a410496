//! What each association sets for its CPAs' annual check of a year (CICPA's
//! row is the default for associations without their own): the window, the
//! hours, the notice before applying (所属注协自定义提示信息), the notice on
//! success (地方注协初始化录入的提示信息), and the materials serving and
//! retired (离退休) CPAs upload (seed 001 §2.1.4–2.1.5).

use chrono::{Datelike, NaiveDate};
use cmis_domain::Hours;
use cmis_store::entity::cpa_check_setting as row;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::attachments::FIRM_BATCH;
use crate::error::{AppResult, FieldErrors};
use crate::member_inspection::settings::Material;
use crate::scope::Permission;
use crate::{Actor, App, audit};

/// The most materials a list may name.
pub const MAX_MATERIALS: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckSettings {
    pub association_id: i32,
    /// Whose values these are: the association's own, CICPA's, or the system's.
    pub source: String,
    pub year: i32,
    pub window_start: NaiveDate,
    pub window_end: NaiveDate,
    pub annual_hours: Hours,
    pub pre_notice: String,
    pub success_notice: String,
    pub serving_materials: Vec<Material>,
    pub retired_materials: Vec<Material>,
    /// What a firm sends with a batch (seed 001 §3.1.2: * 社保证明材料).
    pub batch_materials: Vec<Material>,
    pub own: bool,
}

impl CheckSettings {
    /// When nobody set anything: the check runs through the year after the
    /// one checked; 40 hours; one required material for each kind of CPA.
    pub fn builtin(association_id: i32, year: i32) -> CheckSettings {
        let material = |name: &str| Material {
            name: name.into(),
            required: true,
            kinds: vec!["pdf".into(), "jpg".into(), "png".into()],
            max_count: 2,
            max_mb: 5,
        };
        CheckSettings {
            association_id,
            source: "系统默认".into(),
            year,
            window_start: NaiveDate::from_ymd_opt(year + 1, 1, 1).expect("valid date"),
            window_end: NaiveDate::from_ymd_opt(year + 1, 12, 31).expect("valid date"),
            annual_hours: Hours::whole(40),
            pre_notice: "请确认个人信息无误、本年度继续教育学时已达到要求后再申请年检。年检申请提交前须完成人脸认证。"
                .into(),
            success_notice: "您的年检申请已提交所在会计师事务所审核，事务所审核后将报送所属地方注协，审核结果将通过消息中心及短信通知您。"
                .into(),
            serving_materials: vec![material("注册会计师任职资格检查表")],
            retired_materials: vec![material("离退休证明"), material("注册会计师任职资格检查表")],
            batch_materials: vec![Material {
                name: "社保证明材料".into(),
                required: true,
                kinds: vec!["pdf".into(), "jpg".into(), "png".into(), "xls".into()],
                max_count: FIRM_BATCH.max_count,
                max_mb: 5,
            }],
            own: false,
        }
    }

    pub fn open_on(&self, day: NaiveDate) -> bool {
        self.window_start <= day && day <= self.window_end
    }

    pub fn materials(&self, retired: bool) -> &[Material] {
        if retired { &self.retired_materials } else { &self.serving_materials }
    }
}

fn from_row(r: row::Model, association_id: i32, source: String) -> CheckSettings {
    CheckSettings {
        own: r.association_id == association_id,
        association_id,
        source,
        year: r.year,
        window_start: r.window_start,
        window_end: r.window_end,
        annual_hours: Hours::from_hundredths(r.annual_hours_x100),
        pre_notice: r.pre_notice,
        success_notice: r.success_notice,
        serving_materials: serde_json::from_str(&r.serving_materials).unwrap_or_default(),
        retired_materials: serde_json::from_str(&r.retired_materials).unwrap_or_default(),
        batch_materials: serde_json::from_str(&r.batch_materials).unwrap_or_default(),
    }
}

/// The settings for CPAs of provincial association `association_id` in
/// `year`: its own row, else CICPA's, else the built-in ones.
pub async fn effective(app: &App, association_id: i32, year: i32) -> AppResult<CheckSettings> {
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
) -> AppResult<CheckSettings> {
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
        None => CheckSettings::builtin(association_id, year),
    })
}

/// The year checked on `day`: the one whose window holds the day, else the
/// year before the day's (Y is checked in Y+1).
pub async fn current_year(app: &App, association_id: i32, day: NaiveDate) -> AppResult<i32> {
    let checked = day.year() - 1;
    for year in [checked, checked - 1, checked + 1] {
        if effective(app, association_id, year).await?.open_on(day) {
            return Ok(year);
        }
    }
    Ok(checked)
}

/// What staff send from the settings page.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SettingsForm {
    pub window_start: String,
    pub window_end: String,
    pub annual_hours: String,
    pub pre_notice: String,
    pub success_notice: String,
    /// One material a line: `[*]名称[|类型,类型[|个数[|MB]]]`.
    pub serving_materials: String,
    pub retired_materials: String,
    /// The firm's materials with a batch.
    #[serde(default)]
    pub batch_materials: String,
}

impl SettingsForm {
    pub fn from_settings(s: &CheckSettings) -> SettingsForm {
        let lines = |m: &[Material]| m.iter().map(Material::line).collect::<Vec<_>>().join("\n");
        SettingsForm {
            window_start: s.window_start.to_string(),
            window_end: s.window_end.to_string(),
            annual_hours: s.annual_hours.to_string(),
            pre_notice: s.pre_notice.clone(),
            success_notice: s.success_notice.clone(),
            serving_materials: lines(&s.serving_materials),
            retired_materials: lines(&s.retired_materials),
            batch_materials: lines(&s.batch_materials),
        }
    }
}

pub async fn for_editing(app: &App, actor: &Actor, year: i32) -> AppResult<CheckSettings> {
    Permission::CpaCheckSettings.require(actor)?;
    effective(app, actor.association_id, year).await
}

fn materials(text: &str, key: &str, most: u64, errors: &mut FieldErrors) -> Vec<Material> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match Material::parse_up_to(line, most) {
            Ok(m) if out.iter().any(|o: &Material| o.name == m.name) => {
                errors.add(key, format!("材料“{}”重复", m.name));
            }
            Ok(m) => out.push(m),
            Err(e) => errors.add(key, e),
        }
    }
    if out.len() > MAX_MATERIALS {
        errors.add(key, format!("最多{MAX_MATERIALS}项材料"));
    }
    out
}

/// 保存: every value checked, then one row written and the change audited.
pub async fn save(app: &App, actor: &Actor, year: i32, f: &SettingsForm) -> AppResult<CheckSettings> {
    Permission::CpaCheckSettings.require(actor)?;
    if !cmis_domain::YEARS.contains(&year) {
        return Err(FieldErrors::one("year", "年度不正确"));
    }
    let mut errors = FieldErrors::new();
    let date = |errors: &mut FieldErrors, key: &str, v: &str| {
        let d = NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").ok();
        if d.is_none() {
            errors.add(key, "请填写日期，格式如2026-01-01");
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
        && s.year() != year + 1
    {
        errors.add("window_start", format!("{year}年度年检应在{}年开始", year + 1));
    }
    let hours = if f.annual_hours.trim().parse::<f64>() == Ok(0.0) {
        Some(Hours::ZERO)
    } else {
        Hours::parse(&f.annual_hours, 200).ok()
    };
    if hours.is_none() {
        errors.add("annual_hours", "请填写0至200之间的学时数");
    }
    let serving = materials(&f.serving_materials, "serving_materials", 5, &mut errors);
    let retired = materials(&f.retired_materials, "retired_materials", 5, &mut errors);
    // A firm's batch: 最多可上传10个附件 (seed 001 §3.1.2).
    let batch = materials(&f.batch_materials, "batch_materials", FIRM_BATCH.max_count, &mut errors);
    if f.success_notice.trim().is_empty() {
        errors.add("success_notice", "请填写申请成功后显示的提示信息");
    }
    for (key, text) in [("pre_notice", &f.pre_notice), ("success_notice", &f.success_notice)] {
        if let Err(e) = cmis_domain::text::check(text, 2000, true) {
            errors.add(key, format!("提示信息{e}"));
        }
    }
    errors.into_result()?;
    let (start, end, hours) = (start.expect("checked"), end.expect("checked"), hours.expect("checked"));
    let tx = app.write().await?;
    let existing = row::Entity::find()
        .filter(row::Column::AssociationId.eq(actor.association_id))
        .filter(row::Column::Year.eq(year))
        .one(&tx)
        .await?;
    let mut m: row::ActiveModel = match existing {
        Some(r) => r.into(),
        None => row::ActiveModel { association_id: Set(actor.association_id), year: Set(year), ..Default::default() },
    };
    let to_json = |v: &Vec<Material>| serde_json::to_string(v).map_err(anyhow::Error::from);
    m.window_start = Set(start);
    m.window_end = Set(end);
    m.annual_hours_x100 = Set(hours.hundredths());
    m.pre_notice = Set(f.pre_notice.trim().to_owned());
    m.success_notice = Set(f.success_notice.trim().to_owned());
    m.serving_materials = Set(to_json(&serving)?);
    m.retired_materials = Set(to_json(&retired)?);
    m.batch_materials = Set(to_json(&batch)?);
    m.updated_by = Set(actor.audit_name());
    m.updated_at = Set(tx.now());
    let saved = m.save(&tx).await?;
    audit::append(
        &tx,
        &actor.audit_name(),
        "cpa_check_settings_saved",
        &format!("cpa_check_settings:{}", saved.id.clone().unwrap()),
        json!({
            "year": year, "window": [start, end], "annual_hours": hours.to_string(),
            "pre_notice": f.pre_notice.trim(), "success_notice": f.success_notice.trim(),
            "serving_materials": serving, "retired_materials": retired, "batch_materials": batch,
        }),
    )
    .await?;
    tx.commit().await?;
    effective(app, actor.association_id, year).await
}
