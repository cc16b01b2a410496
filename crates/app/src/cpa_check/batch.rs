//! 事务所年检复核 (seed 001 chapter 3): the firm sends its CPAs' applications
//! to the provincial association in batches (申请, with its own materials
//! such as * 社保证明材料), takes a batch back while the association has not
//! started on it (撤回), and sends a returned batch again under the same
//! number (再次申请-修改附件). The association passes a batch (every CPA
//! still waiting 年检通过), returns it whole, or decides its CPAs one by one
//! (年检通过, 暂缓通过, 年检不予通过, or 退回, which takes the CPA out of the
//! batch). The batch's own review is `InspectionBatch` on the review kernel.
//!
//! A CPA's check is in at most one batch (`cpa_checks.batch_id`) and only
//! while 地方注协待审核: the firm's 申请 moves each ticked application from
//! 事务所待审核 in one conditional statement, so two people sending the same
//! CPA at once cannot both succeed.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use cmis_domain::cpa_check::{self as rules, CheckState, CpaCheck};
use cmis_domain::inspection_batch::{self as batch_rules, BatchState, InspectionBatch, batch_no};
use cmis_domain::review::Workflow;
use cmis_domain::{Hours, UserType, workdays};
use cmis_store::entity::{
    approval_step, attachment, cpa, cpa_check as payload, firm, inspection_batch as row, message,
    review_case as case_row, user,
};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use serde::Serialize;
use serde_json::json;

use super::review::PROVINCE_DAYS;
use super::{FIRM_DAYS, face, offline, settings};
use crate::attachments::{self, Attachment, FIRM_BATCH, Owner};
use crate::deliveries::{self, Channel, Outgoing, Purpose};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::member_inspection::settings::Material;
use crate::page::{self, Page};
use crate::review::{self as kernel, Case, NewCase};
use crate::scope::{Permission, Scope};
use crate::{Actor, App, Tx, approval, audit, messages, throttle};

type B = InspectionBatch;
type W = CpaCheck;

/// The owner of a batch's files.
pub const OWNER: &str = B::KIND;
/// The owner of a batch's file that 再次申请-修改附件 removed (kept for the record).
const REPLACED: &str = "inspection_batch_replaced";
const DRAFT: Owner<'static> = Owner { kind: "draft", id: None };
/// The most CPAs one batch takes (a large firm sends all of its CPAs at once).
pub const MOST_CPAS: usize = 5000;
/// The most CPAs one 提醒 reaches.
pub const MOST_REMINDERS: usize = 200;
/// Rows of a list page.
pub const PAGE_SIZE: u64 = 20;
/// CPAs of a batch on one page of its detail.
pub const CPA_PAGE: u64 = 50;
/// Rows a bulk insert writes at once.
const CHUNK: usize = 500;

/// The firm an actor sends for: a firm's account only.
async fn own_firm(app: &App, actor: &Actor) -> AppResult<firm::Model> {
    Permission::SendCpaBatches.require(actor)?;
    let id = actor.firm_id.ok_or(AppError::Forbidden)?;
    firm::Entity::find_by_id(id).one(app.db.conn()).await?.ok_or(AppError::NotFound("会计师事务所"))
}

/// The year a firm's CPAs are checked now, by its province's window.
pub async fn current_year(app: &App, actor: &Actor) -> AppResult<i32> {
    let f = own_firm(app, actor).await?;
    settings::current_year(app, f.association_id, app.today()).await
}

/// What the 申请 dialog asks of the firm: its province's list and what has
/// been uploaded so far.
#[derive(Debug, Clone, Serialize)]
pub struct Dialog {
    pub year: i32,
    pub materials: Vec<Material>,
    pub drafts: Vec<Attachment>,
    /// 支持类型: pdf、jpg、png、xls, 最多可上传10个附件, 单个附件大小不能超过5MB
    pub hint: String,
}

impl Dialog {
    pub fn files_of(&self, name: &str) -> Vec<&Attachment> {
        self.drafts.iter().filter(|a| a.label.as_deref() == Some(name)).collect()
    }
}

/// The seed's line beside the upload box (seed 001 §3.1.2), in its own punctuation.
pub fn hint() -> String {
    let kinds: Vec<&str> = FIRM_BATCH.kinds.iter().map(|k| k.label()).collect();
    format!(
        "支持类型: {}, 最多可上传{}个附件, 单个附件大小不能超过{}MB",
        kinds.join("、"),
        FIRM_BATCH.max_count,
        FIRM_BATCH.max_bytes / attachments::MB
    )
}

pub async fn dialog(app: &App, actor: &Actor) -> AppResult<Dialog> {
    Permission::SendCpaBatches.require(actor)?;
    let f = own_firm(app, actor).await?;
    let year = settings::current_year(app, f.association_id, app.today()).await?;
    let s = settings::effective(app, f.association_id, year).await?;
    Ok(Dialog {
        year,
        materials: s.batch_materials,
        drafts: attachments::list(app, actor, FIRM_BATCH, DRAFT).await?,
        hint: hint(),
    })
}

/// Whether the actor may upload a batch's materials at all: asked before the upload is read.
pub fn may_upload(actor: &Actor) -> AppResult<()> {
    Permission::SendCpaBatches.require(actor)
}

/// 点击上传: one of the materials the province asks of a batch, kept as the
/// firm's draft until a batch takes it.
pub async fn upload(app: &App, actor: &Actor, label: &str, file: attachments::Incoming<'_>) -> AppResult<Attachment> {
    may_upload(actor)?;
    let d = dialog(app, actor).await?;
    let Some(m) = d.materials.iter().find(|m| m.name == label) else {
        return Err(FieldErrors::one("file", "请选择要上传的材料名称"));
    };
    let narrower = attachments::Narrower {
        kinds: Some((&m.kinds, format!("“{label}”支持的类型为{}", m.kinds.join("、")))),
        max_bytes: Some((m.max_mb * attachments::MB, format!("“{label}”单个附件大小不能超过{}MB", m.max_mb))),
        max_with_label: Some((m.max_count, format!("“{label}”最多可上传{}个附件", m.max_count))),
    };
    attachments::upload_stream(app, actor, FIRM_BATCH, DRAFT, Some(label), file, narrower).await
}

/// Which applications 申请 sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// The ones ticked.
    Ticked(Vec<i32>),
    /// Every application of the year waiting for the firm (and its branches).
    AllWaiting,
}

/// A batch sent.
#[derive(Debug, Clone, Serialize)]
pub struct Sent {
    pub id: i32,
    pub batch_no: String,
    pub cpas: usize,
}

/// What the 申请 dialog lists of the selection: the first CPAs and how many.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    /// (application, 证书编号, 姓名) of the first `PREVIEW` applications.
    pub first: Vec<(i32, String, String)>,
    pub total: u64,
}

/// CPAs the dialog names before “等N人”.
pub const PREVIEW: u64 = 50;

/// The applications a selection would send now (those waiting for the firm, in its scope).
pub async fn preview(app: &App, actor: &Actor, selection: &Selection) -> AppResult<Preview> {
    Permission::SendCpaBatches.require(actor)?;
    let f = own_firm(app, actor).await?;
    let year = settings::current_year(app, f.association_id, app.today()).await?;
    let scope = Scope::of(app, actor)
        .condition(crate::scope::Columns { firm: Some(case_row::Column::FirmId), ..Default::default() });
    let mut q = case_row::Entity::find()
        .filter(case_row::Column::Kind.eq(W::KIND))
        .filter(scope)
        .filter(case_row::Column::Year.eq(year))
        .filter(case_row::Column::State.eq(CheckState::FirmReview.code()));
    if let Selection::Ticked(ids) = selection {
        if ids.len() > MOST_CPAS {
            return Err(AppError::Refused(format!("一个批次最多{MOST_CPAS}名注册会计师")));
        }
        q = q.filter(case_row::Column::Id.is_in(ids.iter().copied()));
    }
    let total = page::count(app.db.conn(), &q).await?;
    let first = q
        .select_only()
        .column(case_row::Column::Id)
        .column(case_row::Column::Number)
        .column(case_row::Column::Name)
        .order_by_asc(case_row::Column::Number)
        .limit(PREVIEW)
        .into_tuple()
        .all(app.db.conn())
        .await?;
    Ok(Preview { first, total })
}

/// The next of a firm's sequence of the year, in the caller's transaction:
/// one statement, so two batches at once get two numbers.
async fn next_seq(tx: &Tx, firm_id: i32, year: i32) -> AppResult<i64> {
    let r = tx
        .query_one_raw(Statement::from_sql_and_values(
            tx.get_database_backend(),
            "INSERT INTO sequences (name, value) VALUES ($1, 1) \
             ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 RETURNING value",
            [format!("inspection_batch:{firm_id}:{year}").into()],
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no sequence value"))?;
    Ok(r.try_get::<i64>("", "value")?)
}

/// The firm's drafts of batch materials, locked in the transaction.
async fn drafts_in(tx: &Tx, actor: &Actor) -> AppResult<Vec<(i32, Option<String>)>> {
    Ok(attachment::Entity::find()
        .filter(attachment::Column::OwnerType.eq(DRAFT.kind))
        .filter(attachment::Column::OwnerId.is_null())
        .filter(attachment::Column::UploadedBy.eq(actor.user_id))
        .filter(attachment::Column::Context.eq(FIRM_BATCH.code))
        .lock_exclusive()
        .all(tx)
        .await?
        .into_iter()
        .map(|a| (a.id, a.label))
        .collect())
}

/// What the files lack: each required material needs a file, new or kept.
fn missing(materials: &[Material], files: &[(i32, Option<String>)]) -> FieldErrors {
    let mut errors = FieldErrors::new();
    for m in materials.iter().filter(|m| m.required) {
        if !files.iter().any(|(_, l)| l.as_deref() == Some(m.name.as_str())) {
            errors.add("file", format!("请上传“{}”", m.name));
        }
    }
    errors
}

/// Puts the drafts of listed materials on the batch; returns how many.
async fn attach(tx: &Tx, materials: &[Material], drafts: &[(i32, Option<String>)], batch: i32) -> AppResult<usize> {
    let names: Vec<&str> = materials.iter().map(|m| m.name.as_str()).collect();
    let ids: Vec<i32> =
        drafts.iter().filter(|(_, l)| l.as_deref().is_some_and(|l| names.contains(&l))).map(|(id, _)| *id).collect();
    if !ids.is_empty() {
        attachment::Entity::update_many()
            .col_expr(attachment::Column::OwnerType, Expr::value(OWNER))
            .col_expr(attachment::Column::OwnerId, Expr::value(batch))
            .filter(attachment::Column::Id.is_in(ids.clone()))
            .exec(tx)
            .await?;
    }
    Ok(ids.len())
}

/// One step on the trail of many cases at once.
async fn record_many(
    tx: &Tx,
    kind: &str,
    ids: &[i32],
    node: &str,
    unit: &str,
    by: &str,
    opinion: &str,
) -> AppResult<()> {
    for chunk in ids.chunks(CHUNK) {
        let steps = chunk.iter().map(|id| approval_step::ActiveModel {
            subject_type: Set(kind.to_owned()),
            subject_id: Set(*id),
            node: Set(node.to_owned()),
            unit: Set(unit.to_owned()),
            actor: Set(by.to_owned()),
            opinion: Set(opinion.to_owned()),
            created_at: Set(tx.now()),
            ..Default::default()
        });
        approval_step::Entity::insert_many(steps).exec(tx).await?;
    }
    kernel::changed();
    Ok(())
}

/// The same message to many users at once.
async fn message_many(tx: &Tx, users: &[i32], title: &str, body: &str, link: Option<&str>) -> AppResult<()> {
    for chunk in users.chunks(CHUNK) {
        let rows = chunk.iter().map(|u| message::ActiveModel {
            user_id: Set(*u),
            title: Set(title.to_owned()),
            body: Set(body.to_owned()),
            link: Set(link.map(str::to_owned)),
            created_at: Set(tx.now()),
            read_at: Set(None),
            ..Default::default()
        });
        message::Entity::insert_many(rows).exec(tx).await?;
    }
    Ok(())
}

/// The accounts of a firm (a head office and a branch each have their own).
async fn firm_users<C: ConnectionTrait>(db: &C, firm_id: i32) -> AppResult<Vec<i32>> {
    Ok(user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::FirmId.eq(firm_id))
        .filter(user::Column::UserType.eq(UserType::Firm.code()))
        .filter(user::Column::Disabled.eq(false))
        .into_tuple()
        .all(db)
        .await?)
}

/// Tells a firm's accounts, in the transaction.
async fn tell_firm(tx: &Tx, firm_id: i32, title: &str, body: &str, link: &str) -> AppResult<()> {
    let users = firm_users(tx, firm_id).await?;
    message_many(tx, &users, title, body, Some(link)).await
}

/// 申请: the ticked applications (or every one waiting) of the firm and its
/// branches go to the provincial association as one batch, with the firm's
/// materials. All or nothing: an application someone else has sent or
/// returned meanwhile stops the whole batch, and says which.
pub async fn send(app: &App, actor: &Actor, selection: &Selection) -> AppResult<Sent> {
    Permission::SendCpaBatches.require(actor)?;
    let f = own_firm(app, actor).await?;
    if let Selection::Ticked(ids) = selection {
        if ids.is_empty() {
            return Err(AppError::Refused("请勾选要申请的注册会计师".into()));
        }
        if ids.len() > MOST_CPAS {
            return Err(AppError::Refused(format!("一个批次最多{MOST_CPAS}名注册会计师")));
        }
    }
    let year = settings::current_year(app, f.association_id, app.today()).await?;
    let s = settings::effective(app, f.association_id, year).await?;
    let scope = Scope::of(app, actor)
        .condition(crate::scope::Columns { firm: Some(case_row::Column::FirmId), ..Default::default() });
    let tx = app.write().await?;
    let drafts = drafts_in(&tx, actor).await?;
    let mut q = case_row::Entity::find().filter(case_row::Column::Kind.eq(W::KIND)).filter(scope);
    q = match selection {
        Selection::Ticked(ids) => q.filter(case_row::Column::Id.is_in(ids.iter().copied())),
        Selection::AllWaiting => {
            q.filter(case_row::Column::Year.eq(year)).filter(case_row::Column::State.eq(CheckState::FirmReview.code()))
        }
    };
    let cases: Vec<case_row::Model> = q.order_by_asc(case_row::Column::Id).lock_exclusive().all(&tx).await?;
    if let Selection::Ticked(ids) = selection {
        let mut wanted = ids.clone();
        wanted.sort_unstable();
        wanted.dedup();
        if wanted.len() != cases.len() {
            return Err(AppError::NotFound("年检申请"));
        }
    }
    if cases.is_empty() {
        return Err(AppError::Refused("没有待审核的注册会计师年检申请".into()));
    }
    if cases.len() > MOST_CPAS {
        return Err(AppError::Refused(format!("一个批次最多{MOST_CPAS}名注册会计师，请勾选后分批申请")));
    }
    let mut not_now = Vec::new();
    for c in &cases {
        let state = CheckState::parse(&c.state).map_err(anyhow::Error::from)?;
        if let Err(e) = rules::send(state) {
            not_now.push(format!("{}（{}）：{e}", c.name, c.number));
        } else if c.year != Some(year) {
            not_now.push(format!("{}（{}）：不是{year}年度的申请", c.name, c.number));
        }
    }
    if !not_now.is_empty() {
        return Err(AppError::Refused(not_now.join("；")));
    }
    missing(&s.batch_materials, &drafts).into_result()?;
    let ids: Vec<i32> = cases.iter().map(|c| c.id).collect();
    let now = tx.now();
    let seq = next_seq(&tx, f.id, year).await?;
    let number = batch_no(f.firm_no.as_str(), year, seq);
    let id = kernel::open_case(
        &tx,
        NewCase {
            kind: B::KIND,
            state: BatchState::Submitted.code(),
            year: Some(year),
            association_id: f.association_id,
            city_association_id: f.city_association_id,
            firm_id: Some(f.id),
            member_id: None,
            applicant_user_id: Some(actor.user_id),
            number: &number,
            name: &f.name,
            days: PROVINCE_DAYS,
        },
    )
    .await?;
    row::ActiveModel {
        case_id: Set(id),
        firm_id: Set(f.id),
        year: Set(year),
        seq: Set(seq),
        sent_by: Set(actor.audit_name()),
    }
    .insert(&tx)
    .await?;
    // From 事务所待审核 only, in one statement: a case another send or a
    // return took meanwhile is not counted, and the batch is undone.
    let moved = case_row::Entity::update_many()
        .col_expr(case_row::Column::State, Expr::value(CheckState::ProvinceReview.code()))
        .col_expr(
            case_row::Column::Deadline,
            Expr::value(workdays::add(crate::clock::date_of(now), PROVINCE_DAYS, &[])),
        )
        .col_expr(case_row::Column::UpdatedAt, Expr::value(now))
        .filter(case_row::Column::Id.is_in(ids.clone()))
        .filter(case_row::Column::State.eq(CheckState::FirmReview.code()))
        .exec(&tx)
        .await?
        .rows_affected;
    if moved != ids.len() as u64 {
        return Err(AppError::Refused("所选申请中有的已被提交或退回，请刷新后重新勾选".into()));
    }
    for chunk in ids.chunks(CHUNK) {
        payload::Entity::update_many()
            .col_expr(payload::Column::BatchId, Expr::value(id))
            .filter(payload::Column::CaseId.is_in(chunk.iter().copied()))
            .exec(&tx)
            .await?;
    }
    let files = attach(&tx, &s.batch_materials, &drafts, id).await?;
    let unit = actor.acting_unit().to_owned();
    let by = actor.audit_name();
    approval::record(
        &tx,
        Case::<B>::subject_of(id),
        "事务所提交年检批次",
        &unit,
        &by,
        &format!("共{}名注册会计师", ids.len()),
    )
    .await?;
    record_many(&tx, W::KIND, &ids, "事务所审核通过，提交地方注协", &unit, &by, &format!("年检批次{number}")).await?;
    let cpa_users: Vec<i32> = cases.iter().filter_map(|c| c.applicant_user_id).collect();
    message_many(
        &tx,
        &cpa_users,
        &format!("{year}年度年检：已提交地方注协"),
        &format!("您的{year}年度年检申请已由{}审核并提交地方注协（年检批次{number}），请等待审核。", f.name),
        None,
    )
    .await?;
    audit::append(
        &tx,
        &by,
        "inspection_batch_sent",
        &format!("{}:{id}", B::KIND),
        json!({ "batch_no": number, "year": year, "cpas": ids.len(), "files": files, "case_ids": ids }),
    )
    .await?;
    tx.commit().await?;
    Ok(Sent { id, batch_no: number, cpas: ids.len() })
}

/// The batch's case locked in the transaction, in the actor's scope.
async fn locked(tx: &Tx, app: &App, actor: &Actor, id: i32) -> AppResult<Case<B>> {
    kernel::load_for_update::<B>(tx, app, actor, id).await
}

/// Moves a batch from `from` to `to` in one statement; whether it did.
async fn shift(tx: &Tx, id: i32, from: &[BatchState], to: BatchState, decided: bool) -> AppResult<bool> {
    let now = tx.now();
    let mut u = case_row::Entity::update_many()
        .col_expr(case_row::Column::State, Expr::value(to.code()))
        .col_expr(case_row::Column::UpdatedAt, Expr::value(now));
    if decided {
        u = u.col_expr(case_row::Column::DecidedAt, Expr::value(now));
    }
    let n = u
        .filter(case_row::Column::Id.eq(id))
        .filter(case_row::Column::Kind.eq(B::KIND))
        .filter(case_row::Column::State.is_in(from.iter().map(|s| s.code())))
        .exec(tx)
        .await?
        .rows_affected;
    if n > 0 {
        kernel::changed();
    }
    Ok(n == 1)
}

/// The applications in a batch now.
async fn members<C: ConnectionTrait>(db: &C, batch: i32) -> AppResult<Vec<case_row::Model>> {
    Ok(case_row::Entity::find()
        .filter(case_row::Column::Kind.eq(W::KIND))
        .filter(
            case_row::Column::Id.in_subquery(
                Query::select()
                    .column(payload::Column::CaseId)
                    .from(payload::Entity)
                    .and_where(payload::Column::BatchId.eq(batch))
                    .to_owned(),
            ),
        )
        .order_by_asc(case_row::Column::Number)
        .all(db)
        .await?)
}

/// 撤回: only while the association has not started on the batch; its CPAs
/// wait for the firm again, to be sent in another batch.
pub async fn withdraw(app: &App, actor: &Actor, id: i32) -> AppResult<()> {
    Permission::SendCpaBatches.require(actor)?;
    let tx = app.write().await?;
    let b = locked(&tx, app, actor, id).await?;
    batch_rules::withdraw(b.state).map_err(|e| AppError::Refused(e.to_string()))?;
    // Decided in the write: a reviewer who opened it a moment ago wins.
    if !shift(&tx, id, &[BatchState::Submitted], BatchState::Withdrawn, true).await? {
        return Err(AppError::Refused("省注协已开始审核该批次，不能撤回".into()));
    }
    let rows: Vec<case_row::Model> = members(&tx, id)
        .await?
        .into_iter()
        .filter(|c| CheckState::parse(&c.state).ok().and_then(rules::withdrawn).is_some())
        .collect();
    let back: Vec<i32> = rows.iter().map(|c| c.id).collect();
    let users: Vec<i32> = rows.iter().filter_map(|c| c.applicant_user_id).collect();
    let now = tx.now();
    for chunk in back.chunks(CHUNK) {
        case_row::Entity::update_many()
            .col_expr(case_row::Column::State, Expr::value(CheckState::FirmReview.code()))
            .col_expr(
                case_row::Column::Deadline,
                Expr::value(workdays::add(crate::clock::date_of(now), FIRM_DAYS, &[])),
            )
            .col_expr(case_row::Column::UpdatedAt, Expr::value(now))
            .filter(case_row::Column::Id.is_in(chunk.iter().copied()))
            .exec(&tx)
            .await?;
    }
    payload::Entity::update_many()
        .col_expr(payload::Column::BatchId, Expr::value(Option::<i32>::None))
        .filter(payload::Column::BatchId.eq(id))
        .exec(&tx)
        .await?;
    let (unit, by) = (actor.acting_unit().to_owned(), actor.audit_name());
    approval::record(&tx, b.subject(), "事务所撤回年检批次", &unit, &by, "").await?;
    record_many(&tx, W::KIND, &back, "事务所撤回年检批次", &unit, &by, &format!("年检批次{}", b.number)).await?;
    let year = b.year.unwrap_or_default();
    let body = format!(
        "{}已撤回年检批次{}，您的{year}年度年检申请回到事务所待审核，将由事务所重新提交地方注协。",
        cmis_domain::text::signature(&unit),
        b.number
    );
    message_many(&tx, &users, &format!("{year}年度年检：事务所已撤回年检批次"), &body, None).await?;
    audit::append(
        &tx,
        &by,
        "inspection_batch_withdrawn",
        &format!("{}:{id}", B::KIND),
        json!({ "batch_no": b.number, "cpas": back.len() }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// 再次申请-修改附件 → 确定: a returned batch goes to the association again
/// under its number, with the files the firm kept (`remove` are taken off)
/// and the ones it uploaded since.
pub async fn resubmit(app: &App, actor: &Actor, id: i32, remove: &[i32]) -> AppResult<()> {
    Permission::SendCpaBatches.require(actor)?;
    // A batch holds at most its list's files: more to remove names files it does not have.
    if remove.len() > FIRM_BATCH.max_count as usize {
        return Err(FieldErrors::one("file", format!("最多可上传{}个附件", FIRM_BATCH.max_count)));
    }
    let tx = app.write().await?;
    let b = locked(&tx, app, actor, id).await?;
    let next = batch_rules::resubmit(b.state).map_err(|e| AppError::Refused(e.to_string()))?;
    let s = settings::effective_on(&tx, app, b.association_id, b.year.unwrap_or_default()).await?;
    let drafts = drafts_in(&tx, actor).await?;
    let files: Vec<attachment::Model> = attachment::Entity::find()
        .filter(attachment::Column::OwnerType.eq(OWNER))
        .filter(attachment::Column::OwnerId.eq(id))
        .all(&tx)
        .await?;
    // Only the batch's own files are removed (and counted on the trail).
    let remove: Vec<i32> = files.iter().map(|a| a.id).filter(|a| remove.contains(a)).collect();
    let kept: Vec<(i32, Option<String>)> =
        files.into_iter().filter(|a| !remove.contains(&a.id)).map(|a| (a.id, a.label)).collect();
    let all: Vec<(i32, Option<String>)> = kept.iter().chain(drafts.iter()).cloned().collect();
    missing(&s.batch_materials, &all).into_result()?;
    if all.len() as u64 > FIRM_BATCH.max_count {
        return Err(FieldErrors::one("file", format!("最多可上传{}个附件", FIRM_BATCH.max_count)));
    }
    if !members(&tx, id).await?.iter().any(|c| c.state == CheckState::ProvinceReview.code()) {
        return Err(AppError::Refused("该批次中已没有待审核的注册会计师，无需再次申请".into()));
    }
    if !remove.is_empty() {
        attachment::Entity::update_many()
            .col_expr(attachment::Column::OwnerType, Expr::value(REPLACED))
            .filter(attachment::Column::OwnerType.eq(OWNER))
            .filter(attachment::Column::OwnerId.eq(id))
            .filter(attachment::Column::Id.is_in(remove.iter().copied()))
            .exec(&tx)
            .await?;
    }
    let added = attach(&tx, &s.batch_materials, &drafts, id).await?;
    kernel::resubmit_case(&tx, id, next.code(), PROVINCE_DAYS, &b.name, b.association_id).await?;
    // Its CPAs wait for the association again from today, each with the step on their trail.
    let waiting: Vec<i32> = members(&tx, id)
        .await?
        .into_iter()
        .filter(|c| c.state == CheckState::ProvinceReview.code())
        .map(|c| c.id)
        .collect();
    let now = tx.now();
    let deadline = workdays::add(crate::clock::date_of(now), PROVINCE_DAYS, &[]);
    for chunk in waiting.chunks(CHUNK) {
        case_row::Entity::update_many()
            .col_expr(case_row::Column::SubmittedAt, Expr::value(now))
            .col_expr(case_row::Column::Deadline, Expr::value(deadline))
            .col_expr(case_row::Column::UpdatedAt, Expr::value(now))
            .filter(case_row::Column::Id.is_in(chunk.iter().copied()))
            .exec(&tx)
            .await?;
    }
    let by = actor.audit_name();
    record_many(&tx, W::KIND, &waiting, "事务所再次提交年检批次", actor.acting_unit(), &by, "").await?;
    approval::record(
        &tx,
        b.subject(),
        "事务所再次申请",
        actor.acting_unit(),
        &by,
        &format!("修改附件：新增{added}个，删除{}个", remove.len()),
    )
    .await?;
    audit::append(
        &tx,
        &by,
        "inspection_batch_resubmitted",
        &format!("{}:{id}", B::KIND),
        json!({ "batch_no": b.number, "added": added, "removed": remove }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A reviewer who decides batches opened one: it is being reviewed, and the
/// firm can no longer take it back. Once, on the trail.
/// True when this opening started the review.
pub async fn opened(app: &App, actor: &Actor, id: i32) -> AppResult<bool> {
    if !kernel::decides::<B>(app, actor) {
        return Ok(false);
    }
    let tx = app.write().await?;
    let b = locked(&tx, app, actor, id).await?;
    if b.state == BatchState::Submitted && shift(&tx, id, &[BatchState::Submitted], BatchState::InReview, false).await?
    {
        approval::record(&tx, b.subject(), "地方注协开始审核", actor.acting_unit(), &actor.audit_name(), "").await?;
        tx.commit().await?;
        return Ok(true);
    }
    Ok(false)
}

/// What a decision on the whole batch does to its CPAs (the kernel has
/// moved the batch): 审核通过 passes every CPA still waiting; 退回 leaves
/// them in the batch, with the firm.
pub(crate) async fn batch_decided(
    app: &App,
    tx: &Tx,
    b: &Case<B>,
    d: &kernel::Decided<'_, B>,
) -> AppResult<serde_json::Value> {
    use cmis_domain::inspection_batch::BatchAction;
    let waiting: Vec<case_row::Model> =
        members(tx, b.id).await?.into_iter().filter(|c| c.state == CheckState::ProvinceReview.code()).collect();
    let ids: Vec<i32> = waiting.iter().map(|c| c.id).collect();
    let (unit, by) = (d.actor.acting_unit(), d.actor.audit_name());
    let year = b.year.unwrap_or_default();
    let users: Vec<i32> = waiting.iter().filter_map(|c| c.applicant_user_id).collect();
    if d.action == BatchAction::Return {
        // The CPAs stay in the batch with their firm; each is told, and it is on their trail.
        record_many(tx, W::KIND, &ids, "地方注协退回年检批次", unit, &by, d.opinion).await?;
        let title = format!("{year}年度年检：事务所年检批次被退回");
        let body = format!(
            "{}您所在事务所提交的年检批次{}已被地方注协退回，退回原因：{}。事务所修改后将再次申请，您无需重新提交。",
            cmis_domain::text::signature(unit),
            b.number,
            cmis_domain::text::clause(d.opinion)
        );
        message_many(tx, &users, &title, &body, None).await?;
        return Ok(json!({ "returned_with": ids.len() }));
    }
    let now = tx.now();
    for chunk in ids.chunks(CHUNK) {
        case_row::Entity::update_many()
            .col_expr(case_row::Column::State, Expr::value(CheckState::Passed.code()))
            .col_expr(case_row::Column::DecidedAt, Expr::value(now))
            .col_expr(case_row::Column::UpdatedAt, Expr::value(now))
            .filter(case_row::Column::Id.is_in(chunk.iter().copied()))
            .filter(case_row::Column::State.eq(CheckState::ProvinceReview.code()))
            .exec(tx)
            .await?;
    }
    record_many(tx, W::KIND, &ids, W::node(cmis_domain::cpa_check::CheckAction::Pass), unit, &by, "").await?;
    let sign = cmis_domain::text::signature(unit);
    let title = format!("{year}年度年检：{}", CheckState::Passed.label());
    let body = format!("{sign}您的{year}年度年检已通过。");
    message_many(tx, &users, &title, &body, None).await?;
    sms_many(app, tx, &ids, b.association_id, &title, &body).await?;
    Ok(json!({ "passed": ids.len() }))
}

/// The same SMS to the CPAs of some applications, in the transaction.
async fn sms_many(app: &App, tx: &Tx, case_ids: &[i32], association_id: i32, title: &str, body: &str) -> AppResult<()> {
    for chunk in case_ids.chunks(CHUNK) {
        let cpa_ids: Vec<i32> = payload::Entity::find()
            .select_only()
            .column(payload::Column::CpaId)
            .filter(payload::Column::CaseId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(tx)
            .await?;
        let mobiles: Vec<Option<String>> = cpa::Entity::find()
            .select_only()
            .column(cpa::Column::MobileEnc)
            .filter(cpa::Column::Id.is_in(cpa_ids))
            .into_tuple()
            .all(tx)
            .await?;
        let to: Vec<String> = mobiles.into_iter().flatten().filter_map(|e| app.pii.decrypt(&e).ok()).collect();
        deliveries::queue_many(app, tx, Channel::Sms, Purpose::Decision, &to, title, body, Some(association_id))
            .await?;
    }
    Ok(())
}

/// What the firm is told of a decision on its batch.
pub(crate) fn batch_notice(b: &Case<B>, next: BatchState, opinion: &str, sign: &str) -> Option<kernel::Notice> {
    let body = match next {
        BatchState::Returned => format!(
            "年检批次{}已被地方注协退回，退回原因：{}。请在“事务所年检复核-已退回”中点击“再次申请-修改附件”，修改附件后再次申请。",
            b.number,
            cmis_domain::text::clause(opinion)
        ),
        BatchState::Decided => format!("年检批次{}已审核通过。", b.number),
        _ => return None,
    };
    Some(kernel::Notice {
        user_id: b.applicant_user_id,
        title: format!("年检批次{}：{}", b.number, next.label()),
        body: format!("{sign}{body}"),
        link: Some(format!("/firm/cpa-batches/{}", b.id)),
        sms_to: None,
    })
}

/// Locks the batches some applications are in (before the applications: the
/// order every path that changes both takes).
pub(crate) async fn lock_batch_of(tx: &Tx, case_ids: &[i32]) -> AppResult<()> {
    let batches: Vec<Option<i32>> = payload::Entity::find()
        .select_only()
        .column(payload::Column::BatchId)
        .filter(payload::Column::CaseId.is_in(case_ids.iter().copied()))
        .into_tuple()
        .all(tx)
        .await?;
    let mut ids: Vec<i32> = batches.into_iter().flatten().collect();
    if ids.is_empty() {
        return Ok(());
    }
    ids.sort_unstable();
    ids.dedup();
    case_row::Entity::find()
        .filter(case_row::Column::Id.is_in(ids))
        .order_by_asc(case_row::Column::Id)
        .lock_exclusive()
        .all(tx)
        .await?;
    Ok(())
}

/// The batch a CPA's application is in, locked, if any.
async fn batch_of(tx: &Tx, case_id: i32) -> AppResult<Option<Case<B>>> {
    let Some(p) = payload::Entity::find_by_id(case_id).one(tx).await? else { return Ok(None) };
    let Some(b) = p.batch_id else { return Ok(None) };
    let r = case_row::Entity::find_by_id(b).lock_exclusive().one(tx).await?.ok_or(AppError::NotFound("年检批次"))?;
    Ok(Some(Case::try_from(r)?))
}

/// What the association's decision on one CPA of a batch does to the batch:
/// only while the batch is with the association (not returned to the firm
/// or taken back); the batch is then being reviewed; a return takes the CPA
/// out of it (back to the firm's 注师待申请, and to the CPA); once nobody in
/// it waits, the batch is 已审核.
pub(crate) async fn cpa_decided(tx: &Tx, case: &Case<W>, d: &kernel::Decided<'_, W>) -> AppResult<serde_json::Value> {
    let opinion = d.opinion;
    use cmis_domain::cpa_check::CheckAction;
    if d.action == CheckAction::FirmReturn {
        return Ok(json!({}));
    }
    let Some(b) = batch_of(tx, case.id).await? else { return Ok(json!({})) };
    if !matches!(b.state, BatchState::Submitted | BatchState::InReview) {
        return Err(AppError::Refused(format!(
            "所在年检批次{}当前状态为“{}”，待事务所再次申请后再办理",
            b.number,
            b.state.label()
        )));
    }
    let (unit, by) = (d.actor.acting_unit(), d.actor.audit_name());
    if b.state == BatchState::Submitted {
        shift(tx, b.id, &[BatchState::Submitted], BatchState::InReview, false).await?;
        approval::record(tx, b.subject(), "地方注协开始审核", unit, &by, "").await?;
    }
    let firm = b.firm_id.unwrap_or_default();
    if d.action == CheckAction::Return {
        payload::ActiveModel { case_id: Set(case.id), batch_id: Set(None), ..Default::default() }.update(tx).await?;
        let note = format!("退回注册会计师{}（{}）", case.name, case.number);
        approval::record(tx, b.subject(), &note, unit, &by, opinion).await?;
        tell_firm(
            tx,
            firm,
            "注册会计师年检申请被退回",
            &format!(
                "年检批次{}中注册会计师{}（{}）的年检申请已被地方注协退回，退回原因：{}。该注师已移出批次，可在“注师待申请”中查看。",
                b.number,
                case.name,
                case.number,
                cmis_domain::text::clause(opinion)
            ),
            "/firm/cpa-review/not-applied",
        )
        .await?;
    }
    let finished = settle(tx, &b, unit, &by).await?;
    Ok(json!({ "batch": b.number, "batch_finished": finished }))
}

/// A batch under review in which nobody waits any more is 已审核; whether it became so.
async fn settle(tx: &Tx, b: &Case<B>, unit: &str, by: &str) -> AppResult<bool> {
    let waiting = members(tx, b.id).await?.iter().any(|c| c.state == CheckState::ProvinceReview.code());
    if waiting || !shift(tx, b.id, &[BatchState::Submitted, BatchState::InReview], BatchState::Decided, true).await? {
        return Ok(false);
    }
    approval::record(tx, b.subject(), "地方注协审核完成", unit, by, "").await?;
    if let Some(f) = b.firm_id {
        tell_firm(
            tx,
            f,
            &format!("年检批次{}：已审核", b.number),
            &format!("年检批次{}中的注册会计师已全部审核完毕。", b.number),
            &format!("/firm/cpa-batches/{}", b.id),
        )
        .await?;
    }
    Ok(true)
}

/// The regulator ended a CPA's registration while their application was in a
/// batch: the batch may have nobody left to decide.
pub(crate) async fn after_cancellation(tx: &Tx, batch_ids: &[i32]) -> AppResult<()> {
    for id in batch_ids {
        if let Some(r) = case_row::Entity::find_by_id(*id).one(tx).await? {
            let b = Case::<B>::try_from(r)?;
            settle(tx, &b, "注册会计师行业统一监管平台", "system:regulator").await?;
        }
    }
    Ok(())
}

// ---- What the pages show ----

/// A batch in the firm's lists.
#[derive(Debug, Clone, Serialize)]
pub struct BatchRow {
    pub id: i32,
    pub batch_no: String,
    pub firm: String,
    pub year: i32,
    /// 申请时间: when it was last sent.
    pub submitted_at: DateTime<Utc>,
    pub state: BatchState,
    pub cpas: u64,
    pub return_reason: Option<String>,
}

impl BatchRow {
    /// 撤回 is offered while the association has not started on it.
    pub fn may_withdraw(&self) -> bool {
        batch_rules::withdraw(self.state).is_ok()
    }
}

/// 已提交省注协 (every batch but the returned ones) or 已退回.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct BatchFilter {
    pub year: Option<i32>,
    pub returned: bool,
    pub page: u64,
}

async fn counts_of<C: ConnectionTrait>(db: &C, batches: &[i32]) -> AppResult<HashMap<i32, u64>> {
    let rows: Vec<(Option<i32>, i64)> = payload::Entity::find()
        .select_only()
        .column(payload::Column::BatchId)
        .column_as(payload::Column::CaseId.count(), "n")
        .filter(payload::Column::BatchId.is_in(batches.iter().copied()))
        .group_by(payload::Column::BatchId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(|(b, n)| b.map(|b| (b, n as u64))).collect())
}

pub async fn batches(app: &App, actor: &Actor, f: &BatchFilter) -> AppResult<Page<BatchRow>> {
    Permission::SendCpaBatches.require(actor)?;
    let scope = Scope::of(app, actor)
        .condition(crate::scope::Columns { firm: Some(case_row::Column::FirmId), ..Default::default() });
    let mut q = case_row::Entity::find().filter(case_row::Column::Kind.eq(B::KIND)).filter(scope);
    if let Some(y) = f.year {
        q = q.filter(case_row::Column::Year.eq(y));
    }
    q = if f.returned {
        q.filter(case_row::Column::State.eq(BatchState::Returned.code()))
    } else {
        q.filter(case_row::Column::State.ne(BatchState::Returned.code()))
    };
    let p = page::fetch(app.db.conn(), q.order_by_desc(case_row::Column::Id), f.page, PAGE_SIZE).await?;
    let counts = counts_of(app.db.conn(), &p.items.iter().map(|r| r.id).collect::<Vec<_>>()).await?;
    p.try_map(|r| {
        let c = Case::<B>::try_from(r)?;
        Ok(BatchRow {
            cpas: counts.get(&c.id).copied().unwrap_or(0),
            id: c.id,
            batch_no: c.number,
            firm: c.name,
            year: c.year.unwrap_or_default(),
            submitted_at: c.submitted_at,
            state: c.state,
            return_reason: c.return_reason,
        })
    })
}

/// A CPA of a batch, as its detail lists them.
#[derive(Debug, Clone, Serialize)]
pub struct BatchCpa {
    pub case_id: i32,
    pub cpa_no: String,
    pub name: String,
    pub state: CheckState,
    pub retired: bool,
    /// The face check's similarity and time, or the in-person record.
    pub verification: String,
    pub hours_required: Hours,
    pub hours_done: Hours,
    pub files: u64,
}

/// 查看 of a batch: the firm's materials, its CPAs a page at a time, the trail.
#[derive(Debug, Clone, Serialize)]
pub struct BatchView {
    pub id: i32,
    pub batch_no: String,
    pub firm: String,
    pub year: i32,
    pub state: BatchState,
    pub first_submitted_at: DateTime<Utc>,
    pub submitted_at: DateTime<Utc>,
    pub return_reason: Option<String>,
    pub days_left: Option<i64>,
    pub files: Vec<Attachment>,
    pub cpas: Page<BatchCpa>,
    /// CPAs in it by state, for the summary line.
    pub by_state: Vec<(CheckState, u64)>,
    pub trail: Vec<approval::Step>,
}

impl BatchView {
    pub fn may_withdraw(&self) -> bool {
        batch_rules::withdraw(self.state).is_ok()
    }
    pub fn may_resubmit(&self) -> bool {
        batch_rules::resubmit(self.state).is_ok()
    }
    /// With the association: its CPAs may be decided.
    pub fn may_decide(&self) -> bool {
        matches!(self.state, BatchState::Submitted | BatchState::InReview)
    }
    pub fn total(&self) -> u64 {
        self.by_state.iter().map(|(_, n)| n).sum()
    }
}

/// A batch for whoever may see it: its firm (and the head office), the
/// association it is filed under, CICPA. `page` pages its CPAs.
pub async fn view(app: &App, actor: &Actor, id: i32, page_no: u64) -> AppResult<BatchView> {
    Permission::ReviewCpaChecks.require(actor)?;
    let b = kernel::load::<B, _>(app.db.conn(), app, actor, id).await?;
    view_of(app, &b, page_no).await
}

pub(crate) async fn view_of(app: &App, b: &Case<B>, page_no: u64) -> AppResult<BatchView> {
    let db = app.db.conn();
    let files = attachment::Entity::find()
        .filter(attachment::Column::OwnerType.eq(OWNER))
        .filter(attachment::Column::OwnerId.eq(b.id))
        .order_by_asc(attachment::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(attachments::to_attachment)
        .collect();
    let in_batch = Query::select()
        .column(payload::Column::CaseId)
        .from(payload::Entity)
        .and_where(payload::Column::BatchId.eq(b.id))
        .to_owned();
    let states: Vec<(String, i64)> = case_row::Entity::find()
        .select_only()
        .column(case_row::Column::State)
        .column_as(case_row::Column::Id.count(), "n")
        .filter(case_row::Column::Id.in_subquery(in_batch.clone()))
        .group_by(case_row::Column::State)
        .into_tuple()
        .all(db)
        .await?;
    let by_state = CheckState::ALL
        .iter()
        .filter_map(|s| states.iter().find(|(c, _)| c == s.code()).map(|(_, n)| (*s, *n as u64)))
        .collect();
    let q = case_row::Entity::find()
        .filter(case_row::Column::Id.in_subquery(in_batch))
        .order_by_asc(case_row::Column::Number);
    let p = page::fetch(db, q, page_no, CPA_PAGE).await?;
    let ids: Vec<i32> = p.items.iter().map(|c| c.id).collect();
    let payloads: HashMap<i32, payload::Model> = payload::Entity::find()
        .filter(payload::Column::CaseId.is_in(ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.case_id, p))
        .collect();
    let file_counts: HashMap<i32, i64> = attachment::Entity::find()
        .select_only()
        .column(attachment::Column::OwnerId)
        .column_as(attachment::Column::Id.count(), "n")
        .filter(attachment::Column::OwnerType.eq(super::OWNER))
        .filter(attachment::Column::OwnerId.is_in(ids))
        .group_by(attachment::Column::OwnerId)
        .into_tuple::<(Option<i32>, i64)>()
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(o, n)| o.map(|o| (o, n)))
        .collect();
    let mut items = Vec::with_capacity(p.items.len());
    for c in &p.items {
        let Some(pl) = payloads.get(&c.id) else { continue };
        let verification = match (pl.identity.as_str(), pl.face_check_id) {
            ("in_person", _) => offline::describe(app, pl.cpa_id, pl.year).await?,
            (_, Some(f)) => face::describe(db, f).await?,
            _ => "人脸认证".into(),
        };
        items.push(BatchCpa {
            case_id: c.id,
            cpa_no: c.number.clone(),
            name: c.name.clone(),
            state: CheckState::parse(&c.state).map_err(anyhow::Error::from)?,
            retired: pl.retired,
            verification,
            hours_required: Hours::from_hundredths(pl.hours_required_x100),
            hours_done: Hours::from_hundredths(pl.hours_done_x100),
            files: file_counts.get(&c.id).copied().unwrap_or(0) as u64,
        });
    }
    Ok(BatchView {
        id: b.id,
        batch_no: b.number.clone(),
        firm: b.name.clone(),
        year: b.year.unwrap_or_default(),
        state: b.state,
        first_submitted_at: b.first_submitted_at,
        submitted_at: b.submitted_at,
        return_reason: b.return_reason.clone(),
        days_left: b.days_left(app.today()),
        files,
        cpas: Page { items, page: p.page, pages: p.pages, total: p.total },
        by_state,
        trail: approval::trail(db, b.subject()).await?,
    })
}

/// The batch an application is in: (id, number). The caller has opened the
/// application (scope checked).
pub async fn of_case(app: &App, case_id: i32) -> AppResult<Option<(i32, String)>> {
    let db = app.db.conn();
    let Some(b) = payload::Entity::find_by_id(case_id).one(db).await?.and_then(|p| p.batch_id) else {
        return Ok(None);
    };
    Ok(case_row::Entity::find_by_id(b).one(db).await?.map(|r| (r.id, r.number)))
}

/// The batch number of some applications, for the association's CPA queue.
pub(crate) async fn numbers_of<C: ConnectionTrait>(db: &C, case_ids: &[i32]) -> AppResult<HashMap<i32, String>> {
    let links: Vec<(i32, Option<i32>)> = payload::Entity::find()
        .select_only()
        .column(payload::Column::CaseId)
        .column(payload::Column::BatchId)
        .filter(payload::Column::CaseId.is_in(case_ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    let batch_ids: Vec<i32> = links.iter().filter_map(|(_, b)| *b).collect();
    let numbers: HashMap<i32, String> = case_row::Entity::find()
        .select_only()
        .column(case_row::Column::Id)
        .column(case_row::Column::Number)
        .filter(case_row::Column::Id.is_in(batch_ids))
        .into_tuple::<(i32, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(links.into_iter().filter_map(|(c, b)| b.and_then(|b| numbers.get(&b)).map(|n| (c, n.clone()))).collect())
}

// ---- 注师待申请 and 提醒 ----

/// A CPA of the firm who has not applied this year, or whose application
/// was returned (by the association out of a batch, or by the firm).
#[derive(Debug, Clone, Serialize)]
pub struct NotApplied {
    pub cpa_id: i32,
    pub cpa_no: String,
    pub name: String,
    /// The firm or branch they are at.
    pub firm: String,
    /// None: 未申请; else the application's state (地方注协退回, 事务所退回).
    pub state: Option<CheckState>,
    pub return_reason: Option<String>,
}

impl NotApplied {
    pub fn state_label(&self) -> &'static str {
        self.state.map_or("未申请", |s| s.label())
    }
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NotAppliedFilter {
    pub keyword: String,
    /// `none` (未申请), `returned` (地方注协退回 or 事务所退回), or every one.
    pub which: String,
    pub page: u64,
}

/// The CPAs of the firm (and its branches) still registered.
fn firm_cpas(actor: &Actor) -> sea_orm::Select<cpa::Entity> {
    cpa::Entity::find()
        .filter(cpa::Column::FirmId.is_in(actor.firm_ids.clone()))
        .filter(cpa::Column::Status.ne("cancelled"))
}

/// The CPAs with an application of `year` in one of `states` (all states when empty).
fn applied(year: i32, states: &[CheckState]) -> sea_orm::sea_query::SelectStatement {
    let mut q = Query::select()
        .column((payload::Entity, payload::Column::CpaId))
        .from(payload::Entity)
        .inner_join(
            case_row::Entity,
            Expr::col((case_row::Entity, case_row::Column::Id)).equals((payload::Entity, payload::Column::CaseId)),
        )
        .and_where(Expr::col((payload::Entity, payload::Column::Year)).eq(year))
        .to_owned();
    if !states.is_empty() {
        q.and_where(Expr::col((case_row::Entity, case_row::Column::State)).is_in(states.iter().map(|s| s.code())));
    }
    q
}

/// The states that count as not applied: the association returned the CPA out of a batch.
/// Returned to the CPA, by the association out of a batch or by the firm itself: they must apply again.
const RETURNED_OUT: [CheckState; 2] = [CheckState::ProvinceReturned, CheckState::FirmReturned];

fn waiting_query(year: i32, f: &NotAppliedFilter, actor: &Actor) -> sea_orm::Select<cpa::Entity> {
    let pending: Vec<CheckState> = CheckState::ALL.iter().copied().filter(|s| !RETURNED_OUT.contains(s)).collect();
    let mut q = firm_cpas(actor);
    q = match f.which.as_str() {
        "none" => q.filter(cpa::Column::Id.not_in_subquery(applied(year, &[]))),
        "returned" => q.filter(cpa::Column::Id.in_subquery(applied(year, &RETURNED_OUT))),
        _ => q.filter(cpa::Column::Id.not_in_subquery(applied(year, &pending))),
    };
    let kw = f.keyword.trim();
    if !kw.is_empty() {
        q = q.filter(sea_orm::Condition::any().add(cpa::Column::CpaNo.eq(kw)).add(cpa::Column::Name.contains(kw)));
    }
    q
}

async fn firm_names<C: ConnectionTrait>(db: &C, ids: impl IntoIterator<Item = i32>) -> AppResult<HashMap<i32, String>> {
    Ok(firm::Entity::find()
        .select_only()
        .column(firm::Column::Id)
        .column(firm::Column::Name)
        .filter(firm::Column::Id.is_in(ids))
        .into_tuple::<(i32, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// The applications of `year` of some CPAs: (state, return reason).
async fn applications_of<C: ConnectionTrait>(
    db: &C,
    year: i32,
    cpa_ids: &[i32],
) -> AppResult<HashMap<i32, (i32, CheckState, Option<String>)>> {
    let payloads: Vec<(i32, i32)> = payload::Entity::find()
        .select_only()
        .column(payload::Column::CpaId)
        .column(payload::Column::CaseId)
        .filter(payload::Column::Year.eq(year))
        .filter(payload::Column::CpaId.is_in(cpa_ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    let cases: HashMap<i32, case_row::Model> = case_row::Entity::find()
        .filter(case_row::Column::Id.is_in(payloads.iter().map(|(_, c)| *c)))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut out = HashMap::new();
    for (cpa_id, case_id) in payloads {
        if let Some(c) = cases.get(&case_id) {
            let s = CheckState::parse(&c.state).map_err(anyhow::Error::from)?;
            out.insert(cpa_id, (case_id, s, c.return_reason.clone()));
        }
    }
    Ok(out)
}

/// 注师待申请: the year's CPAs who have not applied, and those the association
/// returned out of a batch.
pub async fn not_applied(app: &App, actor: &Actor, f: &NotAppliedFilter) -> AppResult<(i32, Page<NotApplied>)> {
    Permission::SendCpaBatches.require(actor)?;
    let firm = own_firm(app, actor).await?;
    let year = settings::current_year(app, firm.association_id, app.today()).await?;
    let db = app.db.conn();
    let q = waiting_query(year, f, actor).order_by_asc(cpa::Column::CpaNo);
    let p = page::fetch(db, q, f.page, PAGE_SIZE).await?;
    let ids: Vec<i32> = p.items.iter().map(|c| c.id).collect();
    let apps = applications_of(db, year, &ids).await?;
    let firms = firm_names(db, p.items.iter().map(|c| c.firm_id)).await?;
    Ok((
        year,
        p.map(|c| {
            let a = apps.get(&c.id);
            NotApplied {
                cpa_id: c.id,
                cpa_no: c.cpa_no.to_string(),
                name: c.name,
                firm: firms.get(&c.firm_id).cloned().unwrap_or_default(),
                state: a.map(|(_, s, _)| *s),
                return_reason: a.and_then(|(_, _, r)| r.clone()),
            }
        }),
    ))
}

/// What 提醒 did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Reminded {
    pub sent: usize,
    /// Who was not reminded, and why.
    pub skipped: Vec<String>,
}

/// 提醒: a message and an SMS to each ticked CPA who still has to apply; at
/// most once a day per CPA, counted in one statement per CPA.
pub async fn remind(app: &App, actor: &Actor, cpa_ids: &[i32]) -> AppResult<Reminded> {
    Permission::SendCpaBatches.require(actor)?;
    let firm = own_firm(app, actor).await?;
    let mut seen = std::collections::HashSet::new();
    let ids: Vec<i32> = cpa_ids.iter().copied().filter(|id| seen.insert(*id)).collect();
    if ids.is_empty() {
        return Err(AppError::Refused("请勾选要提醒的注册会计师".into()));
    }
    if ids.len() > MOST_REMINDERS {
        return Err(AppError::Refused(format!("一次最多提醒{MOST_REMINDERS}人")));
    }
    let year = settings::current_year(app, firm.association_id, app.today()).await?;
    let s = settings::effective(app, firm.association_id, year).await?;
    let all = NotAppliedFilter::default();
    let found: Vec<cpa::Model> =
        waiting_query(year, &all, actor).filter(cpa::Column::Id.is_in(ids.clone())).all(app.db.conn()).await?;
    let users: HashMap<i32, i32> = user::Entity::find()
        .select_only()
        .column(user::Column::CpaId)
        .column(user::Column::Id)
        .filter(user::Column::CpaId.is_in(found.iter().map(|c| c.id)))
        .into_tuple::<(Option<i32>, i32)>()
        .all(app.db.conn())
        .await?
        .into_iter()
        .filter_map(|(c, u)| c.map(|c| (c, u)))
        .collect();
    let mut out = Reminded::default();
    let unknown = ids.iter().filter(|id| !found.iter().any(|c| c.id == **id)).count();
    if unknown > 0 {
        out.skipped.push(format!("{unknown}人不是本所待申请的注册会计师"));
    }
    let tx = app.write().await?;
    let day = crate::clock::date_of(tx.now());
    let once = cmis_domain::throttle::ThrottleRule {
        max_failures: 2,
        window: chrono::Duration::days(1),
        lockout: chrono::Duration::days(1),
        sliding: false,
    };
    let title = format!("{year}年度年检提醒");
    let body =
        format!("{}提醒您：请于{}前登录行业管理信息系统完成{year}年度注册会计师年检申请。", firm.name, s.window_end);
    for c in &found {
        // The day's count for this CPA, in one statement: a second 提醒 the
        // same day, from any page or account, is not sent.
        let hit = throttle::hit(&tx, &format!("cpa_remind:{}:{day}", c.id), once, tx.now()).await?;
        if hit.count > 1 {
            out.skipped.push(format!("{}（{}）：今日已提醒", c.name, c.cpa_no.as_str()));
            continue;
        }
        if let Some(u) = users.get(&c.id) {
            messages::send(&tx, *u, &title, &body, Some("/cpa-check")).await?;
        }
        if let Some(m) = c.mobile_enc.as_ref().and_then(|e| app.pii.decrypt(e).ok()) {
            deliveries::queue(
                app,
                &tx,
                Outgoing {
                    channel: Channel::Sms,
                    purpose: Purpose::Reminder,
                    to: &m,
                    subject: &title,
                    body: &body,
                    association_id: Some(c.association_id),
                },
            )
            .await?;
        }
        out.sent += 1;
    }
    audit::append(
        &tx,
        &actor.audit_name(),
        "cpa_check_reminded",
        &format!("firm:{}", firm.id),
        json!({ "year": year, "sent": out.sent, "skipped": out.skipped.len(), "cpa_ids": ids }),
    )
    .await?;
    tx.commit().await?;
    Ok(out)
}

// ---- 年检信息查询 of the firm ----

/// A CPA of the firm with the year's state.
#[derive(Debug, Clone, Serialize)]
pub struct FirmCpa {
    pub cpa_id: i32,
    pub cpa_no: String,
    pub name: String,
    pub firm: String,
    pub year: i32,
    /// The application, if any.
    pub case_id: Option<i32>,
    pub state: Option<CheckState>,
}

impl FirmCpa {
    pub fn state_label(&self) -> &'static str {
        self.state.map_or("未申请", |s| s.label())
    }
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct FirmCpaFilter {
    pub year: Option<i32>,
    /// A state code, `none` (未申请), or every CPA.
    pub state: String,
    pub keyword: String,
    pub page: u64,
}

/// 年检信息查询: every CPA of the firm (a head office: with its branches'),
/// with the year's 审批状态.
pub async fn firm_cpas_page(app: &App, actor: &Actor, f: &FirmCpaFilter) -> AppResult<(i32, Page<FirmCpa>)> {
    Permission::SendCpaBatches.require(actor)?;
    let firm = own_firm(app, actor).await?;
    let year = match f.year {
        Some(y) if cmis_domain::YEARS.contains(&y) => y,
        Some(_) => return Err(FieldErrors::one("year", "年度不正确")),
        None => settings::current_year(app, firm.association_id, app.today()).await?,
    };
    let mut q = firm_cpas(actor);
    match f.state.as_str() {
        "" | "all" => {}
        "none" => q = q.filter(cpa::Column::Id.not_in_subquery(applied(year, &[]))),
        code => {
            let s = CheckState::parse(code).map_err(|_| FieldErrors::one("state", "请选择审批状态"))?;
            q = q.filter(cpa::Column::Id.in_subquery(applied(year, &[s])));
        }
    }
    let kw = f.keyword.trim();
    if !kw.is_empty() {
        q = q.filter(sea_orm::Condition::any().add(cpa::Column::CpaNo.eq(kw)).add(cpa::Column::Name.contains(kw)));
    }
    let db = app.db.conn();
    let p = page::fetch(db, q.order_by_asc(cpa::Column::CpaNo), f.page, PAGE_SIZE).await?;
    let ids: Vec<i32> = p.items.iter().map(|c| c.id).collect();
    let apps = applications_of(db, year, &ids).await?;
    let firms = firm_names(db, p.items.iter().map(|c| c.firm_id)).await?;
    Ok((
        year,
        p.map(|c| {
            let a = apps.get(&c.id);
            FirmCpa {
                cpa_id: c.id,
                cpa_no: c.cpa_no.to_string(),
                name: c.name,
                firm: firms.get(&c.firm_id).cloned().unwrap_or_default(),
                year,
                case_id: a.map(|(id, _, _)| *id),
                state: a.map(|(_, s, _)| *s),
            }
        }),
    ))
}
