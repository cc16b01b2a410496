//! 注册会计师年检 (seed 001 chapter 2, DOMAIN §4), the CPA's side: 新建申请
//! (the association's notice) → 确认信息 (read-only: the regulator's data) →
//! 申请年检 → 上传材料 (离退休 or serving, each with the association's list)
//! → 确认申请 → 人脸认证 (`face`), or the association's in-person
//! verification (`offline`) → the firm's queue (事务所审核) on its own.
//! Returns by the firm or the association, and 再次申请 without a second
//! face check; 年检信息查询 with the trail; the 年检二维码 (`qr`).

pub mod batch;
pub mod face;
pub mod offline;
pub mod progress;
pub mod qr;
pub mod review;
pub mod settings;

use chrono::{DateTime, NaiveDate, Utc};
use cmis_domain::cpa_check::{self as rules, CheckState, CpaCheck, IdentityCheck, face_supported, submission_node};
use cmis_domain::member_inspection::hours_required;
use cmis_domain::review::Workflow;
use cmis_domain::{Hours, IdType, Sex, UserType, mask};
use cmis_store::entity::{attachment, cpa, cpa_check as payload, firm, learning_record, review_case as case_row, user};
use object_store::path::Path as StorePath;
use rand::RngCore;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::Serialize;
use serde_json::json;

use crate::approval;
use crate::attachments::{self, Attachment, CPA_MATERIALS, Owner};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::review::{self as kernel, Case, NewCase};
use crate::{Actor, App, Tx, audit, messages};
use settings::CheckSettings;

type W = CpaCheck;
/// Working days the firm has to decide.
pub const FIRM_DAYS: u32 = 10;
/// The owner of an application's files.
pub const OWNER: &str = W::KIND;
/// The owner of a submitted file that a return named and a resubmission replaced.
const REPLACED: &str = "cpa_check_replaced";
const DRAFT: Owner<'static> = Owner { kind: "draft", id: None };
/// How a return names one of the materials.
pub const MATERIAL_ITEM: &str = "材料：";

/// Where a CPA's personal information is changed (seed 001 §2.1.3).
pub const REGULATOR_URL: &str = "https://acc.mof.gov.cn/";

pub(crate) async fn own_cpa(app: &App, actor: &Actor) -> AppResult<cpa::Model> {
    actor.require(UserType::Cpa)?;
    let id = actor.cpa_id.ok_or(AppError::Forbidden)?;
    cpa::Entity::find_by_id(id).one(app.db.conn()).await?.ok_or(AppError::NotFound("注册会计师"))
}

/// A CPA's cases of this workflow.
fn cases_of(cpa_id: i32) -> sea_orm::Select<case_row::Entity> {
    case_row::Entity::find().filter(case_row::Column::Kind.eq(W::KIND)).filter(
        case_row::Column::Id.in_subquery(
            sea_orm::sea_query::Query::select()
                .column(payload::Column::CaseId)
                .from(payload::Entity)
                .and_where(payload::Column::CpaId.eq(cpa_id))
                .to_owned(),
        ),
    )
}

/// The personal information of seed 001 §2.3.4, as the regulator's data has it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Personal {
    pub name: String,
    pub ethnicity: String,
    pub sex: String,
    pub birth_date: NaiveDate,
    /// 有效证件名称
    pub id_type: String,
    /// 有效证件号码, masked.
    pub id_number: String,
    pub native_place: String,
    pub region: String,
    pub household: String,
    pub political_status: String,
    pub cpa_no: String,
    pub firm: String,
    pub firm_no: String,
    pub association: String,
    pub registered_on: NaiveDate,
    /// Masked.
    pub mobile: String,
}

impl Personal {
    /// The table of seed 001 §2.3.4, pair by pair.
    pub fn rows(&self) -> Vec<[(&'static str, String); 2]> {
        vec![
            [("姓名", self.name.clone()), ("民族", self.ethnicity.clone())],
            [("性别", self.sex.clone()), ("出生日期", self.birth_date.to_string())],
            [("有效证件名称", self.id_type.clone()), ("有效证件号码", self.id_number.clone())],
            [("籍贯", self.native_place.clone()), ("所在地区", self.region.clone())],
            [("户口所在地", self.household.clone()), ("政治面貌", self.political_status.clone())],
        ]
    }
}

pub(crate) async fn personal_of<C: ConnectionTrait>(app: &App, db: &C, c: &cpa::Model) -> AppResult<Personal> {
    let f = firm::Entity::find_by_id(c.firm_id).one(db).await?;
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    Ok(Personal {
        name: c.name.clone(),
        ethnicity: o(&c.ethnicity),
        sex: Sex::from_code(&c.sex).map_or("", Sex::label).to_owned(),
        birth_date: c.birth_date,
        id_type: IdType::from_code(&c.id_type).map_or("", IdType::label).to_owned(),
        id_number: app.pii.decrypt(&c.id_number_enc).map(|v| mask::id_number(&v))?,
        native_place: o(&c.native_place),
        region: o(&c.region),
        household: o(&c.household),
        political_status: o(&c.political_status),
        cpa_no: c.cpa_no.to_string(),
        firm: f.as_ref().map(|f| f.name.clone()).unwrap_or_default(),
        firm_no: f.as_ref().map(|f| f.firm_no.to_string()).unwrap_or_default(),
        association: app.orgs().get(c.association_id).map_or_else(String::new, |a| a.name.clone()),
        registered_on: c.registered_on,
        mobile: match &c.mobile_enc {
            Some(e) => app.pii.decrypt(e).map(|v| mask::phone(&v))?,
            None => String::new(),
        },
    })
}

/// A CPA's hours for a year, from the learning ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HoursOwed {
    pub required: Hours,
    pub done: Hours,
}

impl HoursOwed {
    pub fn short(&self) -> Hours {
        self.required.saturating_sub(self.done)
    }
}

pub async fn hours_of<C: ConnectionTrait>(db: &C, c: &cpa::Model, s: &CheckSettings) -> AppResult<HoursOwed> {
    let rows = learning_record::Entity::find()
        .filter(learning_record::Column::CpaId.eq(c.id))
        .filter(learning_record::Column::Year.eq(s.year))
        .all(db)
        .await?;
    let sum = |kind: &str| {
        rows.iter().filter(|r| r.kind == kind).map(|r| Hours::from_hundredths(r.hours_x100)).sum::<Hours>()
    };
    // Registered after 1 July of the year: half (DOMAIN §6), as members admitted then.
    Ok(HoursOwed {
        required: hours_required(s.annual_hours, c.registered_on, s.year, sum("reduction")),
        done: sum("record"),
    })
}

/// The application of the year, as the CPA's pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct Current {
    pub id: i32,
    pub state: CheckState,
    pub return_reason: Option<String>,
    pub return_items: Vec<String>,
    pub submitted_at: DateTime<Utc>,
    pub retired: bool,
}

impl Current {
    pub fn flagged_materials(&self) -> impl Iterator<Item = &str> {
        self.return_items.iter().filter_map(|i| i.strip_prefix(MATERIAL_ITEM))
    }
}

/// Everything the apply pages show and decide by.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub year: i32,
    pub today: NaiveDate,
    pub settings: CheckSettings,
    pub personal: Personal,
    pub id_type: Option<IdType>,
    pub cancelled: bool,
    pub hours: HoursOwed,
    pub current: Option<Current>,
    /// 离退休, as chosen now (last year's choice until changed).
    pub retired: bool,
    pub drafts: Vec<Attachment>,
    /// Files of the returned application, kept on resubmission.
    pub submitted: Vec<Attachment>,
    /// 线下人工核验 recorded for the year.
    pub verified_in_person: bool,
    /// Face checks left today.
    pub face_left: u32,
    /// Whether an online face check is possible (a provider, a supported document).
    pub face_online: bool,
    pub last_passed: Option<i32>,
}

impl Overview {
    pub fn again(&self) -> bool {
        self.current.is_some()
    }

    /// What the next 确认申请 needs: nothing (a resubmission, or verified in person) or a face check.
    pub fn identity_needed(&self) -> Option<IdentityCheck> {
        rules::identity_needed(self.again(), self.verified_in_person)
    }

    /// Why the CPA cannot apply now, in the order they would meet them.
    pub fn blockers(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.cancelled {
            out.push("您的注册会计师注册已注销，不能申请年检".into());
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
        if self.hours.short() > Hours::ZERO {
            out.push(format!("累计已完成学时{}，还需完成{}学时才能申请年检", self.hours.done, self.hours.short()));
        }
        out
    }

    pub fn materials(&self) -> &[crate::member_inspection::settings::Material] {
        self.settings.materials(self.retired)
    }

    /// The materials a return named that are on the list now (a return may
    /// name one the association has since renamed or removed: it cannot
    /// hold the CPA up).
    pub fn named_materials(&self) -> Vec<&str> {
        match self.current.as_ref().filter(|c| c.state.is_returned()) {
            Some(c) => c.flagged_materials().filter(|n| self.materials().iter().any(|m| m.name == *n)).collect(),
            None => vec![],
        }
    }

    /// Whether a return named this material.
    pub fn named(&self, material: &str) -> bool {
        self.current.as_ref().is_some_and(|c| c.state.is_returned() && c.flagged_materials().any(|m| m == material))
    }

    /// What the files lack for a submission now.
    fn file_errors(&self, drafts: &[(i32, Option<String>)], errors: &mut FieldErrors) {
        let uploaded = |name: &str| drafts.iter().any(|(_, l)| l.as_deref() == Some(name));
        for need in self.materials().iter().filter(|m| m.required) {
            let kept = self.submitted.iter().any(|a| a.label.as_deref() == Some(need.name.as_str()));
            if !uploaded(&need.name) && !kept {
                errors.add("file", format!("请上传“{}”", need.name));
            }
        }
        for name in self.named_materials() {
            if !uploaded(name) {
                errors.add("file", format!("退回时要求修改“{name}”，请重新上传后再提交"));
            }
        }
    }
}

/// The CPA's application for a year: the case and its payload; with `lock`
/// held until the transaction ends (PostgreSQL).
async fn application<C: ConnectionTrait>(
    db: &C,
    cpa_id: i32,
    year: i32,
    lock: bool,
) -> AppResult<Option<(Case<W>, payload::Model)>> {
    let mut q =
        payload::Entity::find().filter(payload::Column::CpaId.eq(cpa_id)).filter(payload::Column::Year.eq(year));
    if lock {
        q = q.lock_exclusive();
    }
    let Some(p) = q.one(db).await? else { return Ok(None) };
    let c = case_row::Entity::find_by_id(p.case_id).one(db).await?.ok_or(AppError::NotFound("年检申请"))?;
    Ok(Some((Case::try_from(c)?, p)))
}

async fn last_passed<C: ConnectionTrait>(db: &C, cpa_id: i32) -> AppResult<Option<i32>> {
    Ok(cases_of(cpa_id)
        .filter(case_row::Column::State.eq(CheckState::Passed.code()))
        .order_by_desc(case_row::Column::Year)
        .one(db)
        .await?
        .and_then(|r| r.year))
}

pub async fn overview(app: &App, actor: &Actor) -> AppResult<Overview> {
    let c = own_cpa(app, actor).await?;
    let year = settings::current_year(app, c.association_id, app.today()).await?;
    carry_retired_materials(app, actor, &c, year).await?;
    let c = own_cpa(app, actor).await?;
    overview_for(app, actor, &c, year).await
}

async fn overview_for(app: &App, actor: &Actor, c: &cpa::Model, year: i32) -> AppResult<Overview> {
    let db = app.db.conn();
    let s = settings::effective(app, c.association_id, year).await?;
    let current = application(db, c.id, year, false).await?;
    let submitted = match &current {
        Some((k, _)) => attachments::list(app, actor, CPA_MATERIALS, Owner { kind: OWNER, id: Some(k.id) }).await?,
        None => vec![],
    };
    let id_type = IdType::from_code(&c.id_type);
    Ok(Overview {
        year,
        today: app.today(),
        personal: personal_of(app, db, c).await?,
        cancelled: c.status == "cancelled",
        hours: hours_of(db, c, &s).await?,
        retired: match &current {
            Some((k, p)) if !k.state.is_returned() => p.retired,
            _ => c.retired,
        },
        current: current.map(|(k, p)| Current {
            id: k.id,
            state: k.state,
            return_reason: k.return_reason,
            return_items: k.return_items,
            submitted_at: k.submitted_at,
            retired: p.retired,
        }),
        drafts: attachments::list(app, actor, CPA_MATERIALS, DRAFT).await?,
        submitted,
        verified_in_person: offline::verified(app, db, c, year).await?,
        face_left: face::left_today(app, c.id).await?,
        face_online: app.faces.is_some() && id_type.is_some_and(face_supported),
        id_type,
        last_passed: last_passed(db, c.id).await?,
        settings: s,
    })
}

/// Seed 001 §2.1.4: a CPA who chose 离退休 finds the choice and last year's
/// materials already there next year. Copied once a year, as drafts the CPA
/// may delete or replace.
async fn carry_retired_materials(app: &App, actor: &Actor, c: &cpa::Model, year: i32) -> AppResult<()> {
    if !c.retired || c.materials_carried_for == Some(year) {
        return Ok(());
    }
    let db = app.db.conn();
    if application(db, c.id, year, false).await?.is_some() {
        return Ok(());
    }
    let Some((last, p)) = application(db, c.id, year - 1, false).await? else { return Ok(()) };
    if !p.retired {
        return Ok(());
    }
    let s = settings::effective(app, c.association_id, year).await?;
    let wanted: Vec<&str> = s.retired_materials.iter().map(|m| m.name.as_str()).collect();
    let files = attachment::Entity::find()
        .filter(attachment::Column::OwnerType.eq(OWNER))
        .filter(attachment::Column::OwnerId.eq(last.id))
        .filter(attachment::Column::Context.eq(CPA_MATERIALS.code))
        .all(db)
        .await?;
    let mut copies = Vec::new();
    for f in files.into_iter().filter(|f| f.label.as_deref().is_some_and(|l| wanted.contains(&l))) {
        let mut rnd = [0u8; 16];
        rand::rng().fill_bytes(&mut rnd);
        let key = format!("{}/carried/{year}/{}", CPA_MATERIALS.code, hex::encode(rnd));
        app.files
            .copy(&StorePath::from(f.storage_key.as_str()), &StorePath::from(key.as_str()))
            .await
            .map_err(anyhow::Error::from)?;
        app.made_durable(&key).await?;
        copies.push(attachment::ActiveModel {
            context: Set(f.context),
            owner_type: Set(DRAFT.kind.to_owned()),
            owner_id: Set(None),
            uploaded_by: Set(actor.user_id),
            file_name: Set(f.file_name),
            content_type: Set(f.content_type),
            size_bytes: Set(f.size_bytes),
            sha256: Set(f.sha256),
            storage_key: Set(key),
            label: Set(f.label),
            created_at: Set(app.now()),
            ..Default::default()
        });
    }
    let tx = app.write().await?;
    // Once: a second request at the same moment finds the year marked.
    let marked = cpa::Entity::update_many()
        .col_expr(cpa::Column::MaterialsCarriedFor, Expr::value(year))
        .filter(cpa::Column::Id.eq(c.id))
        .filter(
            sea_orm::Condition::any()
                .add(cpa::Column::MaterialsCarriedFor.ne(year))
                .add(cpa::Column::MaterialsCarriedFor.is_null()),
        )
        .exec(&tx)
        .await?
        .rows_affected;
    if marked == 0 {
        for m in copies {
            let _ = app.files.delete(&StorePath::from(m.storage_key.unwrap().as_str())).await;
        }
        return Ok(());
    }
    let n = copies.len();
    for m in copies {
        m.insert(&tx).await?;
    }
    audit::append(
        &tx,
        &actor.audit_name(),
        "cpa_check_materials_carried",
        &format!("cpa:{}", c.id),
        json!({ "year": year, "files": n }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// 是否离退休: the choice, kept for the next year too.
pub async fn choose_retired(app: &App, actor: &Actor, retired: bool) -> AppResult<()> {
    let c = own_cpa(app, actor).await?;
    if c.retired == retired {
        return Ok(());
    }
    let tx = app.write().await?;
    cpa::ActiveModel { id: Set(c.id), retired: Set(retired), ..Default::default() }.update(&tx).await?;
    audit::append(
        &tx,
        &actor.audit_name(),
        "cpa_retired_declared",
        &format!("cpa:{}", c.id),
        json!({ "retired": retired }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether the actor may upload materials at all (a CPA): asked before the upload is read.
pub fn may_upload(actor: &Actor) -> AppResult<()> {
    actor.require(UserType::Cpa)
}

/// 点击上传 for one of the materials the CPA's choice asks for.
pub async fn upload_material(
    app: &App,
    actor: &Actor,
    label: &str,
    file: attachments::Incoming<'_>,
) -> AppResult<Attachment> {
    let c = own_cpa(app, actor).await?;
    let year = settings::current_year(app, c.association_id, app.today()).await?;
    let s = settings::effective(app, c.association_id, year).await?;
    let Some(material) = s.materials(c.retired).iter().find(|x| x.name == label) else {
        return Err(FieldErrors::one("file", "请选择要上传的材料名称"));
    };
    let already = attachments::list(app, actor, CPA_MATERIALS, DRAFT).await?;
    if already.iter().filter(|a| a.label.as_deref() == Some(label)).count() as u64 >= material.max_count {
        return Err(FieldErrors::one("file", format!("“{label}”最多可上传{}个附件", material.max_count)));
    }
    let narrower = attachments::Narrower {
        kinds: Some((&material.kinds, format!("“{label}”支持的类型为{}", material.kinds.join("、")))),
        max_bytes: Some((material.max_mb * 1024 * 1024, format!("“{label}”单个附件大小不能超过{}MB", material.max_mb))),
        max_with_label: Some((material.max_count, format!("“{label}”最多可上传{}个附件", material.max_count))),
    };
    attachments::upload_stream(app, actor, CPA_MATERIALS, DRAFT, Some(label), file, narrower).await
}

/// The state of the CPA's latest application, for the 年检申请 tile (已退回).
pub async fn latest_state(app: &App, actor: &Actor) -> AppResult<Option<CheckState>> {
    let Some(cpa_id) = actor.cpa_id else { return Ok(None) };
    let latest = payload::Entity::find()
        .filter(payload::Column::CpaId.eq(cpa_id))
        .order_by_desc(payload::Column::Year)
        .one(app.db.conn())
        .await?;
    let Some(p) = latest else { return Ok(None) };
    let row = case_row::Entity::find_by_id(p.case_id).one(app.db.conn()).await?;
    Ok(row.map(|r| CheckState::parse(&r.state)).transpose().map_err(anyhow::Error::from)?)
}

/// What the success page shows.
#[derive(Debug, Clone, Serialize)]
pub struct Done {
    pub id: i32,
    pub year: i32,
    pub state: CheckState,
    /// 地方注协初始化录入的提示信息.
    pub notice: String,
}

/// What 确认申请 leads to.
#[derive(Debug, Clone, Serialize)]
pub enum Applied {
    /// Submitted to the firm (a resubmission, or verified in person).
    Submitted(Done),
    /// A face check was started: the phone page's address (the QR code's).
    Face(face::Started),
}

/// Checks everything 确认申请 needs that does not depend on the identity check.
fn ready(o: &Overview, drafts: &[(i32, Option<String>)]) -> AppResult<CheckState> {
    let next =
        rules::apply(o.year, o.current.as_ref().map(|c| c.state)).map_err(|e| AppError::Refused(e.to_string()))?;
    if let Some(first) = o.blockers().into_iter().next() {
        return Err(AppError::Refused(first));
    }
    let mut errors = FieldErrors::new();
    o.file_errors(drafts, &mut errors);
    errors.into_result()?;
    Ok(next)
}

fn draft_ids(o: &Overview) -> Vec<(i32, Option<String>)> {
    o.drafts.iter().map(|a| (a.id, a.label.clone())).collect()
}

/// 确认申请 (and 再次申请): submitted at once when no face check is needed;
/// otherwise a face check begins (`channel`: phone or pc).
pub async fn apply(app: &App, actor: &Actor, channel: face::Channel) -> AppResult<Applied> {
    let o = overview(app, actor).await?;
    ready(&o, &draft_ids(&o))?;
    match o.identity_needed() {
        None => {
            let how = o.verified_in_person.then_some(IdentityCheck::InPerson);
            let tx = app.write().await?;
            let done = submit_in(app, &tx, actor, &o, how, None).await?;
            tx.commit().await?;
            app.wake_deliveries();
            Ok(Applied::Submitted(done))
        }
        Some(_) => Ok(Applied::Face(face::start(app, actor, &o, channel).await?)),
    }
}

/// The overview an application with this 离退休 choice would be submitted
/// with, if it could be submitted now (a face check's pass asks before it
/// submits).
pub(crate) async fn precheck(app: &App, actor: &Actor, year: i32, retired: bool) -> AppResult<Overview> {
    let c = own_cpa(app, actor).await?;
    let mut o = overview_for(app, actor, &c, year).await?;
    o.retired = retired;
    ready(&o, &draft_ids(&o))?;
    Ok(o)
}

/// The submission itself, inside `tx`, of the application `o` describes (read
/// before the write began: nothing here reads outside the transaction, whose
/// connection holds SQLite's only write lock). Checked again in the
/// transaction (two submissions at once cannot both pass; files deleted
/// meanwhile are not counted), then the case opened or reopened for the firm,
/// its files attached, the trail, the audit event and the firm told.
pub(crate) async fn submit_in(
    app: &App,
    tx: &Tx,
    actor: &Actor,
    o: &Overview,
    how: Option<IdentityCheck>,
    face_check_id: Option<i32>,
) -> AppResult<Done> {
    let (year, retired) = (o.year, o.retired);
    let c = cpa::Entity::find_by_id(actor.cpa_id.ok_or(AppError::Forbidden)?)
        .one(tx)
        .await?
        .ok_or(AppError::NotFound("注册会计师"))?;
    let existing = application(tx, c.id, year, true).await?;
    let next =
        rules::apply(year, existing.as_ref().map(|(k, _)| k.state)).map_err(|e| AppError::Refused(e.to_string()))?;
    let drafts: Vec<(i32, Option<String>)> = attachment::Entity::find()
        .filter(attachment::Column::OwnerType.eq(DRAFT.kind))
        .filter(attachment::Column::OwnerId.is_null())
        .filter(attachment::Column::UploadedBy.eq(actor.user_id))
        .filter(attachment::Column::Context.eq(CPA_MATERIALS.code))
        .lock_exclusive()
        .all(tx)
        .await?
        .into_iter()
        .map(|a| (a.id, a.label))
        .collect();
    ready(o, &drafts)?;
    // Only the files of the chosen list go with the application.
    let names: Vec<&str> = o.materials().iter().map(|m| m.name.as_str()).collect();
    let attached: Vec<i32> =
        drafts.iter().filter(|(_, l)| l.as_deref().is_some_and(|l| names.contains(&l))).map(|(id, _)| *id).collect();
    let snapshot = app.pii.encrypt(&serde_json::to_string(&o.personal).map_err(anyhow::Error::from)?);
    let again = existing.is_some();
    let id = match existing {
        Some((k, p)) => {
            kernel::resubmit_case(tx, k.id, next.code(), FIRM_DAYS, &c.name, c.association_id).await?;
            case_row::ActiveModel {
                id: Set(k.id),
                firm_id: Set(Some(c.firm_id)),
                city_association_id: Set(c.city_association_id),
                ..Default::default()
            }
            .update(tx)
            .await?;
            let mut am: payload::ActiveModel = p.into();
            am.retired = Set(retired);
            am.hours_required_x100 = Set(o.hours.required.hundredths());
            am.hours_done_x100 = Set(o.hours.done.hundredths());
            am.profile_enc = Set(Some(snapshot));
            am.update(tx).await?;
            // Files of the materials a return named give way to the new ones.
            if let Some(cur) = o.current.as_ref().filter(|x| x.state.is_returned()) {
                let named: Vec<&str> = cur.flagged_materials().collect();
                if !named.is_empty() {
                    attachment::Entity::update_many()
                        .col_expr(attachment::Column::OwnerType, Expr::value(REPLACED))
                        .filter(attachment::Column::OwnerType.eq(OWNER))
                        .filter(attachment::Column::OwnerId.eq(k.id))
                        .filter(attachment::Column::Label.is_in(named))
                        .exec(tx)
                        .await?;
                }
            }
            k.id
        }
        None => {
            let id = kernel::open_case(
                tx,
                NewCase {
                    kind: W::KIND,
                    state: next.code(),
                    year: Some(year),
                    association_id: c.association_id,
                    city_association_id: c.city_association_id,
                    firm_id: Some(c.firm_id),
                    member_id: None,
                    applicant_user_id: Some(actor.user_id),
                    number: c.cpa_no.as_str(),
                    name: &c.name,
                    days: FIRM_DAYS,
                },
            )
            .await?;
            payload::ActiveModel {
                case_id: Set(id),
                cpa_id: Set(c.id),
                year: Set(year),
                retired: Set(retired),
                identity: Set(match how {
                    Some(IdentityCheck::InPerson) => "in_person",
                    _ => "face",
                }
                .into()),
                face_check_id: Set(face_check_id),
                hours_required_x100: Set(o.hours.required.hundredths()),
                hours_done_x100: Set(o.hours.done.hundredths()),
                profile_enc: Set(Some(snapshot)),
                batch_id: Set(None),
            }
            .insert(tx)
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
    attachment::Entity::update_many()
        .col_expr(attachment::Column::OwnerType, Expr::value(OWNER))
        .col_expr(attachment::Column::OwnerId, Expr::value(id))
        .filter(attachment::Column::Id.is_in(attached))
        .exec(tx)
        .await?;
    approval::record(tx, Case::<W>::subject_of(id), submission_node(again, how), &c.name, &actor.audit_name(), "")
        .await?;
    audit::append(
        tx,
        &actor.audit_name(),
        "cpa_check_submitted",
        &format!("{}:{id}", W::KIND),
        json!({ "year": year, "again": again, "retired": retired, "identity": how.map(|h| format!("{h:?}")), "hours_done": o.hours.done }),
    )
    .await?;
    // The firm hears of it in its message centre.
    let firm_users: Vec<i32> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::FirmId.eq(c.firm_id))
        .filter(user::Column::UserType.eq(UserType::Firm.code()))
        .into_tuple()
        .all(tx)
        .await?;
    for u in firm_users {
        messages::send(
            tx,
            u,
            "注师年检申请待审核",
            &format!(
                "注册会计师{}（{}）{}提交了{year}年度年检申请，请在“注师待审核”中审核。",
                c.name,
                c.cpa_no.as_str(),
                if again { "再次" } else { "" }
            ),
            Some("/firm/cpa-checks"),
        )
        .await?;
    }
    Ok(Done { id, year, state: next, notice: o.settings.success_notice.clone() })
}

/// The success page of an application.
pub async fn done(app: &App, actor: &Actor, id: i32) -> AppResult<Done> {
    let c = own_cpa(app, actor).await?;
    let p = payload::Entity::find_by_id(id)
        .one(app.db.conn())
        .await?
        .filter(|p| p.cpa_id == c.id)
        .ok_or(AppError::NotFound("年检申请"))?;
    let k = case_row::Entity::find_by_id(id).one(app.db.conn()).await?.ok_or(AppError::NotFound("年检申请"))?;
    let state = CheckState::parse(&k.state).map_err(anyhow::Error::from)?;
    let s = settings::effective(app, c.association_id, p.year).await?;
    Ok(Done { id, year: p.year, state, notice: s.success_notice })
}

/// One row of 年检信息查询 / 注册会计师年检申请.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryRow {
    pub id: i32,
    pub year: i32,
    pub state: CheckState,
    pub submitted_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub retired: bool,
    pub identity: String,
}

impl HistoryRow {
    pub fn identity_label(&self) -> &'static str {
        if self.identity == "in_person" { "线下人工核验" } else { "人脸认证" }
    }
}

pub async fn history(
    app: &App,
    actor: &Actor,
    year: Option<i32>,
    state: Option<CheckState>,
) -> AppResult<Vec<HistoryRow>> {
    let c = own_cpa(app, actor).await?;
    rows_of(app, c.id, year, state).await
}

pub(crate) async fn rows_of(
    app: &App,
    cpa_id: i32,
    year: Option<i32>,
    state: Option<CheckState>,
) -> AppResult<Vec<HistoryRow>> {
    let db = app.db.conn();
    let mut q = payload::Entity::find().filter(payload::Column::CpaId.eq(cpa_id));
    if let Some(y) = year {
        q = q.filter(payload::Column::Year.eq(y));
    }
    let payloads = q.order_by_desc(payload::Column::Year).all(db).await?;
    let cases: std::collections::HashMap<i32, case_row::Model> = case_row::Entity::find()
        .filter(case_row::Column::Id.is_in(payloads.iter().map(|p| p.case_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|k| (k.id, k))
        .collect();
    let mut out = Vec::new();
    for p in payloads {
        let k = cases.get(&p.case_id).ok_or(AppError::NotFound("年检申请"))?;
        let s = CheckState::parse(&k.state).map_err(anyhow::Error::from)?;
        if state.is_some_and(|f| f != s) {
            continue;
        }
        out.push(HistoryRow {
            id: p.case_id,
            year: p.year,
            state: s,
            submitted_at: k.submitted_at,
            decided_at: k.decided_at,
            retired: p.retired,
            identity: p.identity,
        });
    }
    Ok(out)
}

/// 查看: one year's application as the CPA, the firm or the association sees it.
#[derive(Debug, Clone, Serialize)]
pub struct CheckView {
    pub id: i32,
    pub year: i32,
    pub state: CheckState,
    pub personal: Personal,
    pub retired: bool,
    pub identity: String,
    pub hours: HoursOwed,
    pub files: Vec<Attachment>,
    pub trail: Vec<approval::Step>,
    pub return_reason: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub first_submitted_at: DateTime<Utc>,
    /// The face check's similarity and time, or the in-person record.
    pub verification: String,
}

/// The view of a case the caller may see (the kernel's scope check done).
pub(crate) async fn view_of(app: &App, k: &Case<W>) -> AppResult<CheckView> {
    let db = app.db.conn();
    let p = payload::Entity::find_by_id(k.id).one(db).await?.ok_or(AppError::NotFound("年检申请"))?;
    let personal: Personal = match &p.profile_enc {
        Some(enc) => serde_json::from_str(&app.pii.decrypt(enc)?).map_err(anyhow::Error::from)?,
        None => {
            let c = cpa::Entity::find_by_id(p.cpa_id).one(db).await?.ok_or(AppError::NotFound("注册会计师"))?;
            personal_of(app, db, &c).await?
        }
    };
    let files = attachment::Entity::find()
        .filter(attachment::Column::OwnerType.eq(OWNER))
        .filter(attachment::Column::OwnerId.eq(k.id))
        .order_by_asc(attachment::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(attachments::to_attachment)
        .collect();
    let verification = match (p.identity.as_str(), p.face_check_id) {
        ("in_person", _) => offline::describe(app, p.cpa_id, p.year).await?,
        (_, Some(f)) => face::describe(db, f).await?,
        _ => "人脸认证".into(),
    };
    Ok(CheckView {
        id: k.id,
        year: p.year,
        state: k.state,
        personal,
        retired: p.retired,
        identity: p.identity,
        hours: HoursOwed {
            required: Hours::from_hundredths(p.hours_required_x100),
            done: Hours::from_hundredths(p.hours_done_x100),
        },
        files,
        trail: kernel::trail::<W>(app, k.id).await?,
        return_reason: k.return_reason.clone(),
        submitted_at: k.submitted_at,
        first_submitted_at: k.first_submitted_at,
        verification,
    })
}

/// 查看 of one of the CPA's own applications.
pub async fn view(app: &App, actor: &Actor, id: i32) -> AppResult<CheckView> {
    let c = own_cpa(app, actor).await?;
    let p = payload::Entity::find_by_id(id)
        .one(app.db.conn())
        .await?
        .filter(|p| p.cpa_id == c.id)
        .ok_or(AppError::NotFound("年检申请"))?;
    let k = case_row::Entity::find_by_id(p.case_id).one(app.db.conn()).await?.ok_or(AppError::NotFound("年检申请"))?;
    view_of(app, &Case::try_from(k)?).await
}

/// The regulator moved a CPA to another firm: an application still with a
/// firm, or returned to the CPA, follows them to the new firm, and the trail
/// says so. One already sent to the association stays with its batch.
pub(crate) async fn moved(
    tx: &Tx,
    cpa_id: i32,
    firm_id: i32,
    association_id: i32,
    city_id: Option<i32>,
    from: &str,
    to: &str,
) -> AppResult<()> {
    let follows = [CheckState::FirmReview, CheckState::FirmReturned, CheckState::ProvinceReturned];
    for k in open_cases(tx, cpa_id).await?.into_iter().filter(|k| follows.iter().any(|s| s.code() == k.state)) {
        case_row::ActiveModel {
            id: Set(k.id),
            firm_id: Set(Some(firm_id)),
            association_id: Set(association_id),
            city_association_id: Set(city_id),
            updated_at: Set(tx.now()),
            ..Default::default()
        }
        .update(tx)
        .await?;
        approval::record(
            tx,
            Case::<W>::subject_of(k.id),
            "注册会计师转所（监管平台同步）",
            "注册会计师行业统一监管平台",
            "system:regulator",
            &format!("由{from}转至{to}"),
        )
        .await?;
    }
    Ok(())
}

/// The regulator cancelled a CPA's registration: an open application ends.
pub(crate) async fn registration_cancelled(tx: &Tx, cpa_id: i32) -> AppResult<()> {
    // Their batches first, then the applications: the order a decision takes.
    let ids: Vec<i32> = cases_of(cpa_id).select_only().column(case_row::Column::Id).into_tuple().all(tx).await?;
    batch::lock_batch_of(tx, &ids).await?;
    let open = open_cases(tx, cpa_id).await?;
    let batches = batches_of(tx, &open.iter().map(|k| k.id).collect::<Vec<_>>()).await?;
    for k in open {
        case_row::ActiveModel {
            id: Set(k.id),
            state: Set(CheckState::Closed.code().into()),
            decided_at: Set(Some(tx.now())),
            updated_at: Set(tx.now()),
            ..Default::default()
        }
        .update(tx)
        .await?;
        approval::record(
            tx,
            Case::<W>::subject_of(k.id),
            "注册会计师注销（监管平台同步），年检终止",
            "注册会计师行业统一监管平台",
            "system:regulator",
            "",
        )
        .await?;
    }
    // A batch whose last waiting CPA this was is decided.
    batch::after_cancellation(tx, &batches).await?;
    Ok(())
}

/// The batches the CPA's open applications are in.
async fn batches_of(tx: &Tx, case_ids: &[i32]) -> AppResult<Vec<i32>> {
    let found: Vec<Option<i32>> = payload::Entity::find()
        .select_only()
        .column(payload::Column::BatchId)
        .filter(payload::Column::CaseId.is_in(case_ids.iter().copied()))
        .into_tuple()
        .all(tx)
        .await?;
    Ok(found.into_iter().flatten().collect())
}

async fn open_cases(tx: &Tx, cpa_id: i32) -> AppResult<Vec<case_row::Model>> {
    let open: Vec<&str> = CheckState::ALL.iter().filter(|s| s.is_open()).map(|s| s.code()).collect();
    Ok(cases_of(cpa_id).filter(case_row::Column::State.is_in(open)).lock_exclusive().all(tx).await?)
}
