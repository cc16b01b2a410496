//! The learning-record ledger (学时记录) the inspection's hours come from.
//! Until the continuing-education module posts records, association staff
//! enter them by hand or import them from Excel, with every row checked and
//! shown before anything is saved.

use std::collections::HashMap;

use bytes::Bytes;
use chrono::{Datelike, Utc};
use cmis_domain::Hours;
use cmis_domain::member_inspection::{hours_required, hours_short};
use cmis_store::entity::{learning_record as row, member};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;
use serde_json::json;

use super::settings;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::jobs::{self, Input, JobKind, JobState, NewJob, Outcome, Progress, Running};
use crate::scope::Permission;
use crate::{Actor, App, Tx, audit, member_profile, spreadsheet};

pub const CATEGORIES: &[(&str, &str)] = &[("professional", "专业"), ("ethics", "职业道德")];
/// Grounds for a reduction (DOMAIN §6).
pub const REDUCTION_GROUNDS: &[(&str, &str)] = &[
    ("maternity", "生育（产假）"),
    ("illness", "疾病超过6个月"),
    ("abroad", "出国（境）超过6个月"),
    ("new_member", "当年7月1日后新入会"),
    ("other", "其他经注协认可的情形"),
];
pub const MAX_IMPORT_ROWS: usize = 5000;
pub const MAX_IMPORT_BYTES: u64 = 5 * 1024 * 1024;

pub fn category_label(code: &str) -> &'static str {
    CATEGORIES.iter().chain(REDUCTION_GROUNDS).find(|(c, _)| *c == code).map_or("其他", |(_, l)| l)
}

/// A member's hours for one year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HoursOwed {
    /// 累计应完成学时
    pub required: Hours,
    /// 累计已完成学时
    pub done: Hours,
    pub reductions: Hours,
    pub ethics: Hours,
}

impl HoursOwed {
    pub fn short(&self) -> Hours {
        hours_short(self.required, self.done)
    }
}

pub async fn hours_of<C: ConnectionTrait>(app: &App, db: &C, m: &member::Model, year: i32) -> AppResult<HoursOwed> {
    let s = settings::effective(app, m.association_id, year).await?;
    let rows =
        row::Entity::find().filter(row::Column::MemberId.eq(m.id)).filter(row::Column::Year.eq(year)).all(db).await?;
    let sum = |f: &dyn Fn(&row::Model) -> bool| {
        rows.iter().filter(|r| f(r)).map(|r| Hours::from_hundredths(r.hours_x100)).sum::<Hours>()
    };
    let done = sum(&|r| r.kind == "record");
    let reductions = sum(&|r| r.kind == "reduction");
    let ethics = sum(&|r| r.kind == "record" && r.category == "ethics");
    Ok(HoursOwed {
        required: hours_required(s.annual_hours, m.admitted_on, year, reductions),
        done,
        reductions,
        ethics,
    })
}

/// Whether the member was granted a maternity reduction for the year (the fee exemption follows it).
pub async fn has_maternity<C: ConnectionTrait>(db: &C, member_id: i32, year: i32) -> AppResult<bool> {
    Ok(row::Entity::find()
        .filter(row::Column::MemberId.eq(member_id))
        .filter(row::Column::Year.eq(year))
        .filter(row::Column::Kind.eq("reduction"))
        .filter(row::Column::Category.eq("maternity"))
        .one(db)
        .await?
        .is_some())
}

#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub id: i32,
    pub year: i32,
    pub kind: String,
    pub hours: Hours,
    pub category: String,
    pub title: String,
    pub source: String,
    pub created_at: chrono::DateTime<Utc>,
}

impl Record {
    pub fn kind_label(&self) -> &'static str {
        if self.kind == "reduction" { "减免学时" } else { "学时记录" }
    }
    pub fn category_label(&self) -> &'static str {
        category_label(&self.category)
    }
    pub fn source_label(&self) -> &'static str {
        if self.source == "import" { "Excel导入" } else { "手工录入" }
    }
}

pub async fn records_of<C: ConnectionTrait>(db: &C, member_id: i32, year: Option<i32>) -> AppResult<Vec<Record>> {
    let mut q = row::Entity::find().filter(row::Column::MemberId.eq(member_id));
    if let Some(y) = year {
        q = q.filter(row::Column::Year.eq(y));
    }
    Ok(q.order_by_desc(row::Column::Year)
        .order_by_asc(row::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|r| Record {
            id: r.id,
            year: r.year,
            kind: r.kind,
            hours: Hours::from_hundredths(r.hours_x100),
            category: r.category,
            title: r.title,
            source: r.source,
            created_at: r.created_at,
        })
        .collect())
}

/// A member as staff look them up.
pub struct Ledger {
    pub member_id: i32,
    pub cert_no: String,
    pub name: String,
    pub association: String,
    pub records: Vec<Record>,
}

async fn member_in_scope(app: &App, actor: &Actor, cert_no: &str) -> AppResult<member::Model> {
    Permission::LearningLedger.require(actor)?;
    member_profile::member_in_scope(app, actor, cert_no).await
}

pub async fn ledger(app: &App, actor: &Actor, cert_no: &str) -> AppResult<Ledger> {
    let m = member_in_scope(app, actor, cert_no).await?;
    Ok(Ledger {
        records: records_of(app.db.conn(), m.id, None).await?,
        association: app.orgs().get(m.association_id).map_or_else(String::new, |a| a.name.clone()),
        member_id: m.id,
        cert_no: m.cert_no.to_string(),
        name: m.name,
    })
}

/// One line of the ledger as typed or imported.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NewRecord {
    pub cert_no: String,
    pub year: String,
    /// `record` or `reduction`.
    pub kind: String,
    pub hours: String,
    pub category: String,
    pub title: String,
}

struct Checked {
    year: i32,
    kind: &'static str,
    hours: Hours,
    category: String,
    title: String,
}

fn check(r: &NewRecord, this_year: i32) -> Result<Checked, FieldErrors> {
    let mut e = FieldErrors::new();
    let year = r.year.trim().parse::<i32>().ok().filter(|y| (2000..=this_year).contains(y));
    if year.is_none() {
        e.add("year", format!("年度应为2000至{this_year}之间的年份"));
    }
    let hours = Hours::parse(&r.hours, 200).ok().filter(|h| h.hundredths() % 10 == 0);
    if hours.is_none() {
        e.add("hours", "学时应大于0、不超过200，最多一位小数");
    }
    let kind = if r.kind == "reduction" { "reduction" } else { "record" };
    let categories = if kind == "reduction" { REDUCTION_GROUNDS } else { CATEGORIES };
    let category = categories.iter().find(|(c, l)| *c == r.category.trim() || *l == r.category.trim()).map(|(c, _)| *c);
    if category.is_none() {
        let names: Vec<&str> = categories.iter().map(|(_, l)| *l).collect();
        e.add("category", format!("类别应为：{}", names.join("、")));
    }
    let title = r.title.trim();
    if title.is_empty() || cmis_domain::text::check(title, 100, false).is_err() {
        e.add("title", "请填写内容（不超过100字）");
    }
    e.clone().into_result().map_err(|_| e)?;
    Ok(Checked {
        year: year.expect("checked"),
        kind,
        hours: hours.expect("checked"),
        category: category.expect("checked").to_owned(),
        title: title.to_owned(),
    })
}

/// 新增学时记录 / 减免学时, by hand.
pub async fn add(app: &App, actor: &Actor, r: &NewRecord) -> AppResult<()> {
    let m = member_in_scope(app, actor, &r.cert_no).await?;
    let c = check(r, app.today().year()).map_err(AppError::Invalid)?;
    let txn = app.write().await?;
    insert(&txn, actor, m.id, &c, "manual").await?;
    audit::append(
        &txn,
        &actor.audit_name(),
        "learning_record_added",
        &format!("member:{}", m.id),
        json!({ "year": c.year, "kind": c.kind, "hours": c.hours, "category": c.category }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

async fn insert(txn: &Tx, actor: &Actor, member_id: i32, c: &Checked, source: &str) -> AppResult<()> {
    row::ActiveModel {
        member_id: Set(Some(member_id)),
        year: Set(c.year),
        kind: Set(c.kind.to_owned()),
        hours_x100: Set(c.hours.hundredths()),
        category: Set(c.category.clone()),
        title: Set(c.title.clone()),
        source: Set(source.to_owned()),
        recorded_by: Set(actor.audit_name()),
        created_at: Set(txn.now()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// One row of an import, with what is wrong with it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ImportRow {
    /// The spreadsheet's row number.
    pub line: usize,
    pub cert_no: String,
    pub name: String,
    pub year: String,
    pub hours: String,
    pub category: String,
    pub title: String,
    pub errors: Vec<String>,
}

/// What a check found: the rows shown (those with errors first), and counts.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ImportPreview {
    pub rows: usize,
    pub error_rows: usize,
    /// The hours of the rows without errors, in hundredths.
    pub hours_x100: i64,
    /// At most `PREVIEW_ROWS`: the rows with errors if there are any, else the first rows.
    pub shown: Vec<ImportRow>,
}

impl ImportPreview {
    pub fn total_hours(&self) -> Hours {
        Hours::from_hundredths(self.hours_x100)
    }
}

/// Rows a check shows; the counts cover them all.
pub const PREVIEW_ROWS: usize = 100;

pub const IMPORT_HEADER: [&str; 5] = ["会员编号", "年度", "学时", "类别", "内容"];

/// The import template (下载导入模板): the header, then `rows`.
pub fn template_workbook(rows: &[[&str; 5]]) -> anyhow::Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("学时记录")?;
    for (c, h) in IMPORT_HEADER.iter().enumerate() {
        sheet.write_string(0, c as u16, *h)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(r as u32 + 1, c as u16, *v)?;
        }
    }
    sheet.set_column_width(0, 14)?;
    sheet.set_column_width(4, 30)?;
    Ok(book.save_to_buffer()?)
}

/// Reads the sheet and checks every row, reporting progress; nothing is saved.
async fn parse(
    app: &App,
    actor: &Actor,
    bytes: Bytes,
    progress: &Progress<'_>,
) -> AppResult<Vec<(ImportRow, Option<(i32, Checked)>)>> {
    // Parsing is CPU work: off the threads that serve requests.
    let sheet =
        tokio::task::spawn_blocking(move || spreadsheet::read_rows(&bytes, IMPORT_HEADER.len(), MAX_IMPORT_ROWS))
            .await
            .map_err(anyhow::Error::from)?
            .map_err(|e| FieldErrors::one("file", e))?;
    let total = sheet.len() as u64;
    let mut rows = sheet.into_iter();
    let header = rows.next().filter(|h| h.line == 1).map(|h| h.cells).unwrap_or_default();
    if header.iter().map(String::as_str).ne(IMPORT_HEADER) {
        return Err(FieldErrors::one("file", format!("第一行应为表头：{}", IMPORT_HEADER.join("、"))));
    }
    let this_year = app.today().year();
    let mut out = Vec::new();
    let mut members: HashMap<String, Option<member::Model>> = HashMap::new();
    for (i, r) in rows.enumerate() {
        progress.set(i as u64 + 1, total).await?;
        let get = |k: usize| r.cells[k].clone();
        let nr = NewRecord {
            cert_no: get(0),
            year: get(1),
            kind: "record".into(),
            hours: get(2),
            category: get(3),
            title: get(4),
        };
        if [&nr.cert_no, &nr.year, &nr.hours, &nr.category, &nr.title].iter().all(|v| v.is_empty()) {
            continue;
        }
        let mut errors = Vec::new();
        if !members.contains_key(&nr.cert_no) {
            let found = member_in_scope(app, actor, &nr.cert_no).await.ok();
            members.insert(nr.cert_no.clone(), found);
        }
        let m = members.get(&nr.cert_no).cloned().flatten();
        if m.is_none() {
            errors.push("会员编号不存在或不属于本单位管辖".to_owned());
        }
        let checked = match check(&nr, this_year) {
            Ok(c) => Some(c),
            Err(e) => {
                errors.extend(e.0.into_iter().map(|(_, msg)| msg));
                None
            }
        };
        let ok = match (&m, checked) {
            (Some(m), Some(c)) if errors.is_empty() => Some((m.id, c)),
            _ => None,
        };
        out.push((
            ImportRow {
                line: r.line,
                name: m.map(|m| m.name).unwrap_or_default(),
                cert_no: nr.cert_no,
                year: nr.year,
                hours: nr.hours,
                category: nr.category,
                title: nr.title,
                errors,
            },
            ok,
        ));
    }
    if out.is_empty() {
        return Err(FieldErrors::one("file", "文件中没有学时记录"));
    }
    Ok(out)
}

/// Whether the actor may import learning records (staff): asked before the upload is read.
pub fn may_import(actor: &Actor) -> AppResult<()> {
    Permission::LearningLedger.require(actor)
}

/// 导入 step 1: the workbook is kept and checked row by row, as a job whose
/// page shows the progress and then every error.
pub async fn request_check(app: &App, actor: &Actor, bytes: Bytes) -> AppResult<i32> {
    may_import(actor)?;
    if bytes.len() as u64 > MAX_IMPORT_BYTES {
        return Err(FieldErrors::one("file", format!("文件不能超过{}MB", MAX_IMPORT_BYTES / 1024 / 1024)));
    }
    if !bytes.starts_with(b"PK\x03\x04") {
        return Err(FieldErrors::one("file", spreadsheet::SheetError::NotXlsx));
    }
    let job = NewJob {
        kind: JobKind::LearningCheck,
        title: "学时记录导入校验".into(),
        params: json!({}),
        input: Input::Upload(bytes),
    };
    jobs::submit(app, actor, job).await
}

/// The job of `request_check`.
pub async fn check_job(app: &App, job: &Running<'_>) -> AppResult<Outcome> {
    may_import(&job.actor)?;
    let bytes = job.input.clone().ok_or(AppError::NotFound("文件"))?;
    let parsed = parse(app, &job.actor, bytes, &job.progress).await?;
    let error_rows = parsed.iter().filter(|(r, _)| !r.errors.is_empty()).count();
    let hours: Hours = parsed.iter().filter_map(|(_, ok)| ok.as_ref()).map(|(_, c)| c.hours).sum();
    let shown: Vec<ImportRow> = parsed
        .iter()
        .map(|(r, _)| r)
        .filter(|r| error_rows == 0 || !r.errors.is_empty())
        .take(PREVIEW_ROWS)
        .cloned()
        .collect();
    let preview = ImportPreview { rows: parsed.len(), error_rows, hours_x100: hours.hundredths(), shown };
    Ok(Outcome { file: None, summary: serde_json::to_value(&preview).map_err(anyhow::Error::from)? })
}

/// 导入 step 2 (确认导入), after a check without errors: a job that checks
/// the same file again and saves all its rows or none.
pub async fn request_import(app: &App, actor: &Actor, check_id: i32) -> AppResult<i32> {
    may_import(actor)?;
    let check = jobs::get(app, actor, check_id).await?;
    let clean = check.kind == JobKind::LearningCheck
        && check.state == JobState::Done
        && check.count("error_rows") == 0
        && check.count("rows") > 0;
    if !clean {
        return Err(AppError::Refused("请先上传并通过校验，再确认导入".into()));
    }
    let input = jobs::input_of(app, actor, check_id).await?;
    if !jobs::consume(app, actor, check_id).await? {
        return Err(AppError::Refused("该文件已确认导入，请勿重复导入".into()));
    }
    let job = NewJob {
        kind: JobKind::LearningImport,
        title: "学时记录导入".into(),
        params: json!({ "check": check_id }),
        input: Input::Reuse(input),
    };
    jobs::submit(app, actor, job).await
}

/// The job of `request_import`.
pub async fn import_job(app: &App, job: &Running<'_>) -> AppResult<Outcome> {
    may_import(&job.actor)?;
    let bytes = job.input.clone().ok_or(AppError::NotFound("文件"))?;
    let parsed = parse(app, &job.actor, bytes, &job.progress).await?;
    if parsed.iter().any(|(r, _)| !r.errors.is_empty()) {
        return Err(AppError::Refused("文件中有错误的行，请修改后重新上传".into()));
    }
    let txn = app.write().await?;
    for (_, ok) in &parsed {
        let (member_id, c) = ok.as_ref().expect("no errors");
        insert(&txn, &job.actor, *member_id, c, "import").await?;
    }
    audit::append(
        &txn,
        &job.actor.audit_name(),
        "learning_records_imported",
        "learning_records",
        json!({ "rows": parsed.len(), "job": job.id }),
    )
    .await?;
    txn.commit().await?;
    Ok(Outcome { file: None, summary: json!({ "imported": parsed.len() }) })
}
