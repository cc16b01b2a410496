//! 非执业会员年检 (seed 000, DOMAIN §3): 完善信息 → 年检申请 (hours, fee,
//! 承诺书, materials) → 确认申请, or 暂缓年检申请; returns and 再次申请;
//! 年检信息查询 with the approval trail; the member's 年检二维码. Each year's
//! application is a review case (the kernel runs the association's review);
//! this module keeps what is the inspection's own beside it.

pub mod fees;
mod history;
pub mod learning;
pub mod qr;
pub mod report;
pub mod review;
pub mod settings;

use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use cmis_domain::member_inspection::{
    self as rules, FeeStatus, InspectionState, MemberInspection, submission_node, takes_part,
};
use cmis_domain::review::Workflow;
use cmis_domain::{Hours, UserType};
use cmis_store::entity::{attachment, member, member_inspection as payload, review_case as case_row};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::Serialize;
use serde_json::json;

use crate::approval::{self};
use crate::attachments::{self, Attachment, DEFERRAL_PROOF, INSPECTION_MATERIALS, Owner};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::review::{self as kernel, Case, NewCase};
use crate::{Actor, App, audit, member_profile};
pub(crate) use history::view_of;
pub use history::{HistoryRow, InspectionView, history, view};
use learning::HoursOwed;
use settings::InspectionSettings;

type W = MemberInspection;
/// Working days the association has to decide (shown as 剩余工作日; overdue after).
pub const REVIEW_DAYS: u32 = 20;
/// The owner of an application's files.
pub const OWNER: &str = W::KIND;
/// The owner of a submitted file a return named and a resubmission replaced.
const REPLACED: &str = "member_inspection_replaced";

/// 承诺书 of the application (seed 000 §2.1.3).
pub const COMMITMENT: &str = "本人承诺：所填报的个人信息及上传的材料真实、准确、完整；本人在年检年度内遵守法律法规和职业道德规范，按规定完成继续教育并缴纳会费；如有不实，本人愿意承担相应责任，并接受注册会计师协会的处理。";
/// 承诺书 of the deferral (seed 000 §2.1.4).
pub const DEFERRAL_COMMITMENT: &str = "本人承诺：申请暂缓年检的原因及上传的证明材料真实、有效；暂缓期满后本人将按时参加年检并补足继续教育学时；如有不实，本人愿意承担相应责任。";

pub(crate) async fn own_member(app: &App, actor: &Actor) -> AppResult<member::Model> {
    actor.require(UserType::NonPracticingMember)?;
    let id = actor.member_id.ok_or(AppError::Forbidden)?;
    member::Entity::find_by_id(id).one(app.db.conn()).await?.ok_or(AppError::NotFound("会员"))
}

/// A member's cases of this workflow.
fn cases_of(member_id: i32) -> sea_orm::Select<case_row::Entity> {
    case_row::Entity::find().filter(case_row::Column::Kind.eq(W::KIND)).filter(case_row::Column::MemberId.eq(member_id))
}

/// The application of the year, as the member's step page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Current {
    pub id: i32,
    pub state: InspectionState,
    pub return_reason: Option<String>,
    /// The fields and materials the reviewer named.
    pub return_items: Vec<String>,
    pub deferral_reason: Option<String>,
    pub submitted_at: DateTime<Utc>,
    /// The values the profile fields a return named had then (by key).
    #[serde(skip)]
    pub flagged_values: std::collections::BTreeMap<String, String>,
}

impl Current {
    /// The materials a return named (需修改：材料：…), by name.
    pub fn flagged_materials(&self) -> impl Iterator<Item = &str> {
        self.return_items.iter().filter_map(|i| i.strip_prefix(MATERIAL_ITEM))
    }

    /// Whether a return named `item`.
    pub fn flagged(&self, item: &str) -> bool {
        self.state.is_returned() && self.return_items.iter().any(|i| i == item)
    }
}

/// How a return names one of the association's materials.
pub const MATERIAL_ITEM: &str = "材料：";

/// 年检申请 step: the seed's table and everything that decides whether the member may go on.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    /// 年检年度
    pub year: i32,
    /// 最后年检年度: the last year passed.
    pub last_year: Option<i32>,
    pub hours: HoursOwed,
    pub fee: FeeStatus,
    pub fee_amount: String,
    pub settings: InspectionSettings,
    pub today: NaiveDate,
    pub takes_part: bool,
    /// Labels of required profile fields still empty (完善信息).
    pub missing: Vec<&'static str>,
    pub current: Option<Current>,
    /// Files uploaded for this application, not yet submitted.
    pub drafts: Vec<Attachment>,
    pub proofs: Vec<Attachment>,
    /// Years deferred in a row just before this one.
    pub deferred_years: i32,
    /// Files of the returned application, kept on resubmission.
    pub submitted: Vec<Attachment>,
    pub online_payment: bool,
}

impl Overview {
    /// Why the member cannot apply now, in the order they would meet them;
    /// the fee is `fee_blocker`, shown where the fee is paid.
    pub fn blockers(&self, deferral: bool) -> Vec<String> {
        let mut out = Vec::new();
        if !self.takes_part {
            out.push(format!("您于{}年以后入会，无需参加{}年度年检", self.year, self.year));
            return out;
        }
        if let Some(c) = &self.current
            && !c.state.is_returned()
        {
            out.push(format!("{}年度年检已申请，当前状态为“{}”", self.year, c.state.label()));
            return out;
        }
        if !self.settings.open_on(self.today) {
            out.push(format!(
                "不在{}年度年检时间内（{}至{}）",
                self.year, self.settings.window_start, self.settings.window_end
            ));
        }
        if !self.missing.is_empty() {
            out.push(format!("请先完善个人信息：{}", self.missing.join("、")));
        }
        if deferral && self.deferred_years >= self.settings.max_deferral_years {
            out.push(format!(
                "您已连续暂缓年检{}年，暂缓年检最长{}年，本年度请申请年检",
                self.deferred_years, self.settings.max_deferral_years
            ));
        }
        if !deferral && self.hours.short() > Hours::ZERO {
            out.push(format!("累计已完成学时{}，还需完成{}学时才能申请年检", self.hours.done, self.hours.short()));
        }
        out
    }

    /// 去支付 and 待确认 stop 确认申请 (not a deferral).
    pub fn fee_blocker(&self) -> Option<&'static str> {
        match self.fee {
            FeeStatus::Unpaid => Some("请先缴纳会费"),
            FeeStatus::PendingConfirmation => Some("会费待确认：需省注协确认会费缴纳后才能申请年检"),
            _ => None,
        }
    }
}

async fn last_passed<C: ConnectionTrait>(db: &C, member_id: i32) -> AppResult<Option<i32>> {
    Ok(cases_of(member_id)
        .filter(case_row::Column::State.eq(InspectionState::Passed.code()))
        .order_by_desc(case_row::Column::Year)
        .one(db)
        .await?
        .and_then(|r| r.year))
}

/// How many years right before `year` the member was deferred, in a row.
async fn deferred_streak<C: ConnectionTrait>(db: &C, member_id: i32, year: i32) -> AppResult<i32> {
    let rows = cases_of(member_id)
        .filter(case_row::Column::Year.lt(year))
        .order_by_desc(case_row::Column::Year)
        .all(db)
        .await?;
    let mut streak = 0;
    for r in rows {
        let deferred = r.state == InspectionState::Deferred.code();
        if r.year != Some(year - 1 - streak) || !deferred {
            break;
        }
        streak += 1;
    }
    Ok(streak)
}

/// The member's application for a year: the case and the inspection's own.
/// A member's application for a year; with `lock`, held until the
/// transaction ends (PostgreSQL), so that two submissions at once are taken
/// one after the other.
async fn application<C: ConnectionTrait>(
    db: &C,
    member_id: i32,
    year: i32,
    lock: bool,
) -> AppResult<Option<(Case<W>, payload::Model)>> {
    let mut q = cases_of(member_id).filter(case_row::Column::Year.eq(year));
    if lock {
        q = q.lock_exclusive();
    }
    let Some(c) = q.one(db).await? else {
        return Ok(None);
    };
    let p = payload::Entity::find_by_id(c.id).one(db).await?.ok_or(AppError::NotFound("年检申请"))?;
    Ok(Some((Case::try_from(c)?, p)))
}

const DRAFT: Owner<'static> = Owner { kind: "draft", id: None };

pub async fn overview(app: &App, actor: &Actor) -> AppResult<Overview> {
    let m = own_member(app, actor).await?;
    let today = app.today();
    let year = settings::current_year(app, m.association_id, today).await?;
    overview_for(app, actor, &m, year, today).await
}

async fn overview_for(app: &App, actor: &Actor, m: &member::Model, year: i32, today: NaiveDate) -> AppResult<Overview> {
    let db = app.db.conn();
    let s = settings::effective(app, m.association_id, year).await?;
    let current = application(db, m.id, year, false).await?;
    let flagged = match current.as_ref().and_then(|(_, p)| p.flagged_enc.as_deref()) {
        Some(enc) => serde_json::from_str(&app.pii.decrypt(enc)?).map_err(anyhow::Error::from)?,
        None => Default::default(),
    };
    let submitted = match &current {
        Some((c, _)) => {
            attachments::list(app, actor, INSPECTION_MATERIALS, Owner { kind: OWNER, id: Some(c.id) }).await?
        }
        None => vec![],
    };
    Ok(Overview {
        year,
        last_year: last_passed(db, m.id).await?,
        hours: learning::hours_of(app, db, m, year).await?,
        fee: fees::status_of(db, m, year, &s).await?,
        fee_amount: s.fee_yuan(),
        takes_part: takes_part(m.admitted_on, year),
        missing: member_profile::profile_of(app, m)?.missing(),
        current: current.map(|(c, p)| Current {
            id: c.id,
            state: c.state,
            return_items: c.return_items,
            return_reason: c.return_reason,
            deferral_reason: p.deferral_reason,
            submitted_at: c.submitted_at,
            flagged_values: flagged,
        }),
        drafts: attachments::list(app, actor, INSPECTION_MATERIALS, DRAFT).await?,
        proofs: attachments::list(app, actor, DEFERRAL_PROOF, DRAFT).await?,
        deferred_years: deferred_streak(db, m.id, year).await?,
        submitted,
        online_payment: app.payments.is_some(),
        settings: s,
        today,
    })
}

/// 点击上传 for one of the association's materials.
pub async fn upload_material(
    app: &App,
    actor: &Actor,
    label: &str,
    file: attachments::Incoming<'_>,
) -> AppResult<Attachment> {
    let m = own_member(app, actor).await?;
    let year = settings::current_year(app, m.association_id, app.today()).await?;
    let s = settings::effective(app, m.association_id, year).await?;
    let Some(material) = s.materials.iter().find(|x| x.name == label) else {
        return Err(FieldErrors::one("file", "请选择要上传的材料名称"));
    };
    let already = attachments::list(app, actor, INSPECTION_MATERIALS, DRAFT).await?;
    if already.iter().filter(|a| a.label.as_deref() == Some(label)).count() as u64 >= material.max_count {
        return Err(FieldErrors::one("file", format!("“{label}”最多可上传{}个附件", material.max_count)));
    }
    // The association's limits for this material, inside the seed's, checked as the file arrives.
    let narrower = attachments::Narrower {
        kinds: Some((&material.kinds, format!("“{label}”支持的类型为{}", material.kinds.join("、")))),
        max_bytes: Some((material.max_mb * 1024 * 1024, format!("“{label}”单个附件大小不能超过{}MB", material.max_mb))),
        max_with_label: Some((material.max_count, format!("“{label}”最多可上传{}个附件", material.max_count))),
    };
    attachments::upload_stream(app, actor, INSPECTION_MATERIALS, DRAFT, Some(label), file, narrower).await
}

/// 暂缓证明材料.
/// Whether the actor may upload materials or proof at all (a member): asked
/// before the upload is read.
pub fn may_upload(actor: &Actor) -> AppResult<()> {
    actor.require(UserType::NonPracticingMember)
}

pub async fn upload_proof(app: &App, actor: &Actor, file: attachments::Incoming<'_>) -> AppResult<Attachment> {
    let m = own_member(app, actor).await?;
    let year = settings::current_year(app, m.association_id, app.today()).await?;
    let flagged = application(app.db.conn(), m.id, year, false)
        .await?
        .is_some_and(|(c, _)| c.state.is_returned() && c.return_items.iter().any(|i| i == "暂缓证明材料"));
    if !settings::effective(app, m.association_id, year).await?.deferral_proof && !flagged {
        return Err(FieldErrors::one("file", "本单位暂缓年检无需上传证明材料"));
    }
    attachments::upload_stream(app, actor, DEFERRAL_PROOF, DRAFT, None, file, Default::default()).await
}

/// The state of the member's latest application, for the 年检申请 tile (已退回).
pub async fn latest_state(app: &App, actor: &Actor) -> AppResult<Option<InspectionState>> {
    let Some(member_id) = actor.member_id else { return Ok(None) };
    let latest = cases_of(member_id).order_by_desc(case_row::Column::Year).one(app.db.conn()).await?;
    Ok(latest.map(|r| InspectionState::parse(&r.state)).transpose().map_err(anyhow::Error::from)?)
}

/// What the success page shows.
#[derive(Debug, Clone, Serialize)]
pub struct Done {
    pub id: i32,
    pub year: i32,
    pub state: InspectionState,
    /// 省注协自定义通知.
    pub notice: String,
}

/// 确认申请 (and 再次申请 after a return).
pub async fn apply(app: &App, actor: &Actor, commitment: bool) -> AppResult<Done> {
    submit(app, actor, false, commitment, "").await
}

/// 暂缓年检申请 → 确定提交.
pub async fn defer(app: &App, actor: &Actor, commitment: bool, reason: &str) -> AppResult<Done> {
    submit(app, actor, true, commitment, reason).await
}

async fn submit(app: &App, actor: &Actor, deferral: bool, commitment: bool, reason: &str) -> AppResult<Done> {
    let m = own_member(app, actor).await?;
    let today = app.today();
    let year = settings::current_year(app, m.association_id, today).await?;
    let o = overview_for(app, actor, &m, year, today).await?;
    let refused = |e: cmis_domain::review::Refusal| AppError::Refused(e.to_string());
    // The state machine first: applying twice is refused as such.
    let next = rules::apply(year, o.current.as_ref().map(|c| c.state), deferral).map_err(refused)?;
    if let Some(first) = o.blockers(deferral).into_iter().next() {
        return Err(AppError::Refused(first));
    }
    if !deferral && let Some(fee) = o.fee_blocker() {
        return Err(AppError::Refused(fee.to_owned()));
    }
    let mut errors = FieldErrors::new();
    if !commitment {
        errors.add("commitment", "请阅读并勾选承诺书");
    }
    let reason = reason.trim();
    if deferral {
        if reason.is_empty() {
            errors.add("reason", "请填写暂缓原因");
        } else if let Err(e) = cmis_domain::text::check(reason, 500, true) {
            errors.add("reason", format!("暂缓原因{e}"));
        }
        let flagged = |item: &str| o.current.as_ref().is_some_and(|c| c.flagged(item));
        if flagged("暂缓原因") && o.current.as_ref().and_then(|c| c.deferral_reason.as_deref()) == Some(reason) {
            errors.add("reason", "退回时要求修改暂缓原因，请修改后再提交");
        }
    }
    let drafts: Vec<(i32, Option<String>)> =
        if deferral { &o.proofs } else { &o.drafts }.iter().map(|a| (a.id, a.label.clone())).collect();
    file_errors(&o, deferral, &drafts, &mut errors);
    // What a return named must change: each named field different from what it was.
    if let Some(c) = o.current.as_ref().filter(|c| c.state.is_returned()) {
        let profile = member_profile::profile_of(app, &m)?;
        // Only what the member can edit (a return that named an identity
        // field, which the association corrects, does not hold them up).
        let editable = |key: &str| !member_profile::LOCKED.contains(&key);
        for f in cmis_domain::profile::FIELDS.iter().filter(|f| c.flagged_values.contains_key(f.key) && editable(f.key))
        {
            if c.flagged_values.get(f.key).map(String::as_str) == Some(profile.get(f.key).as_str()) {
                errors.add("form", format!("退回时要求修改“{}”，请在“完善信息”中修改后再提交", f.label));
            }
        }
    }
    errors.into_result()?;

    let again = o.current.is_some();
    // What the association will review: the profile as it is now.
    let profile = member_profile::profile_of(app, &m)?;
    let snapshot = app.pii.encrypt(&serde_json::to_string(&profile).map_err(anyhow::Error::from)?);
    let tx = app.write().await?;
    // Re-read inside the write transaction: two submissions at once cannot both pass.
    let existing = application(&tx, m.id, year, true).await?;
    rules::apply(year, existing.as_ref().map(|(c, _)| c.state), deferral).map_err(refused)?;
    // The files, again, locked: a file deleted while this was checked is
    // not counted, and the files attached are exactly those counted.
    let context = if deferral { DEFERRAL_PROOF.code } else { INSPECTION_MATERIALS.code };
    let drafts: Vec<(i32, Option<String>)> = attachment::Entity::find()
        .filter(attachment::Column::OwnerType.eq("draft"))
        .filter(attachment::Column::OwnerId.is_null())
        .filter(attachment::Column::UploadedBy.eq(actor.user_id))
        .filter(attachment::Column::Context.eq(context))
        .lock_exclusive()
        .all(&tx)
        .await?
        .into_iter()
        .map(|a| (a.id, a.label))
        .collect();
    let mut errors = FieldErrors::new();
    file_errors(&o, deferral, &drafts, &mut errors);
    errors.into_result()?;
    let id = match existing {
        Some((c, p)) => {
            kernel::resubmit_case(&tx, c.id, next.code(), REVIEW_DAYS, &m.name, m.association_id).await?;
            let mut am: payload::ActiveModel = p.into();
            am.hours_required_x100 = Set(o.hours.required.hundredths());
            am.hours_done_x100 = Set(o.hours.done.hundredths());
            am.fee_status = Set(o.fee.code().into());
            am.deferral_reason = Set(deferral.then(|| reason.to_owned()));
            am.profile_enc = Set(Some(snapshot.clone()));
            am.update(&tx).await?;
            c.id
        }
        None => {
            let id = kernel::open_case(
                &tx,
                NewCase {
                    kind: W::KIND,
                    state: next.code(),
                    year: Some(year),
                    association_id: m.association_id,
                    city_association_id: m.city_association_id,
                    firm_id: None,
                    member_id: Some(m.id),
                    applicant_user_id: Some(actor.user_id),
                    number: m.cert_no.as_str(),
                    name: &m.name,
                    days: REVIEW_DAYS,
                },
            )
            .await?;
            // Two submissions at once on PostgreSQL: the unique (member, year) index refuses the second.
            payload::ActiveModel {
                case_id: Set(id),
                member_id: Set(m.id),
                year: Set(year),
                hours_required_x100: Set(o.hours.required.hundredths()),
                hours_done_x100: Set(o.hours.done.hundredths()),
                fee_status: Set(o.fee.code().into()),
                deferral_reason: Set(deferral.then(|| reason.to_owned())),
                flagged_enc: Set(None),
                profile_enc: Set(Some(snapshot.clone())),
            }
            .insert(&tx)
            .await
            .map_err(|e| match e.sql_err() {
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                    AppError::Refused(format!("{year}年度年检已申请，不能重复申请"))
                }
                _ => e.into(),
            })?;
            id
        }
    };
    // The files of the materials a return named give way to the new ones:
    // kept (the trail's history), no longer the application's.
    if let Some(c) = o.current.as_ref().filter(|c| c.state.is_returned()) {
        let names: Vec<&str> = c.flagged_materials().collect();
        if !names.is_empty() {
            attachment::Entity::update_many()
                .col_expr(attachment::Column::OwnerType, Expr::value(REPLACED))
                .filter(attachment::Column::OwnerType.eq(OWNER))
                .filter(attachment::Column::OwnerId.eq(c.id))
                .filter(attachment::Column::Label.is_in(names))
                .exec(&tx)
                .await?;
        }
    }
    attachment::Entity::update_many()
        .col_expr(attachment::Column::OwnerType, Expr::value(OWNER))
        .col_expr(attachment::Column::OwnerId, Expr::value(id))
        .filter(attachment::Column::Id.is_in(drafts.iter().map(|(id, _)| *id)))
        .exec(&tx)
        .await?;
    approval::record(
        &tx,
        Case::<W>::subject_of(id),
        submission_node(deferral, again),
        &m.name,
        &actor.audit_name(),
        reason,
    )
    .await?;
    audit::append(
        &tx,
        &actor.audit_name(),
        if deferral { "member_inspection_deferral_submitted" } else { "member_inspection_submitted" },
        &format!("{}:{id}", W::KIND),
        json!({ "year": year, "again": again, "fee": o.fee.code(), "hours_done": o.hours.done }),
    )
    .await?;
    tx.commit().await?;
    Ok(Done { id, year, state: next, notice: o.settings.success_notice.clone() })
}

/// What the files of a submission lack: the proof of a deferral (unless the
/// association needs none and no return named it), the association's
/// required materials, and a new file for each material a return named.
/// `drafts` are the files uploaded for this submission (id, material name).
fn file_errors(o: &Overview, deferral: bool, drafts: &[(i32, Option<String>)], errors: &mut FieldErrors) {
    let flagged = |item: &str| o.current.as_ref().is_some_and(|c| c.flagged(item));
    let uploaded = |name: &str| drafts.iter().any(|(_, l)| l.as_deref() == Some(name));
    if deferral {
        // Seed 000 §2.2.2.3: no upload where the association has no materials module.
        if drafts.is_empty() && (o.settings.deferral_proof || flagged("暂缓证明材料")) {
            errors.add("file", "请上传暂缓证明材料");
        }
        return;
    }
    for need in o.settings.materials.iter().filter(|x| x.required) {
        let kept = o.submitted.iter().any(|a| a.label.as_deref() == Some(need.name.as_str()));
        if !uploaded(&need.name) && !kept {
            errors.add("file", format!("请上传“{}”", need.name));
        }
    }
    if let Some(c) = o.current.as_ref().filter(|c| c.state.is_returned()) {
        for name in c.flagged_materials() {
            if !uploaded(name) {
                errors.add("file", format!("退回时要求修改“{name}”，请重新上传后再提交"));
            }
        }
    }
}

/// A base64 image for the API's uploads.
pub fn decode_file(data: &str) -> AppResult<bytes::Bytes> {
    base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map(bytes::Bytes::from)
        .map_err(|_| FieldErrors::one("file", "文件内容应为base64编码"))
}
