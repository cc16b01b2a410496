//! 非执业会员入会申请 (seed 003): the public application, its progress query,
//! review by the local association and confirmation by CICPA, returns and
//! resubmission under the same business number.

use bytes::Bytes;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use cmis_domain::admission::{self as rules, AdmissionAction, AdmissionState};
use cmis_domain::profile::Profile;
use cmis_domain::throttle::APPLICATION_OWNER;
use cmis_domain::{AssociationLevel, MemberCertNo, UserType, mask, workdays};
use cmis_store::entity::{admission_application as row, member, user};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, PutPayload};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Set,
};
use serde_json::json;

use crate::approval::{self, Step, Subject};
use crate::attachments::{self, PHOTO};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::page::{self, Page};
use crate::{Actor, App, audit, auth, throttle};

/// Days each reviewer has (DOMAIN §1; working days).
pub const LOCAL_DAYS: u32 = 20;
pub const CICPA_DAYS: u32 = 10;
pub const PAGE_SIZE: u64 = 20;

/// The eligibility declarations (会协〔2009〕51号) the applicant ticks, each of them.
pub const DECLARATIONS: &[&str] = &[
    "本人已通过注册会计师全国统一考试全科考试（或经考核取得全科合格证书），取得全科合格证书或离开注册会计师执业岗位未超过5年；超过5年的，已通过相应测试。",
    "本人未受过刑事处罚，或刑罚执行完毕之日起已满5年。",
    "本人未因在财务、会计、审计、企业管理或者其他经济管理工作中犯有严重错误受行政处罚、撤职以上处分，或自处罚、处分决定之日起已满2年。",
    "本人未被吊销注册会计师证书，或自吊销之日起已满5年。",
    "本人未被中国注册会计师协会开除会籍，或自开除之日起已满3年。",
    "本人承诺以上声明及所填信息真实、准确、完整，如有不实，愿承担相应责任。",
];

const SUBJECT: &str = "admission";

fn subject(id: i32) -> Subject<'static> {
    Subject { kind: SUBJECT, id }
}

/// What the applicant sends.
pub struct Application {
    pub profile: Profile,
    /// Indices of the ticked DECLARATIONS.
    pub declarations: Vec<usize>,
    /// (file name, bytes); optional only when resubmitting with the earlier photo.
    pub photo: Option<(String, Bytes)>,
}

fn state_of(r: &row::Model) -> AdmissionState {
    AdmissionState::from_code(&r.state).unwrap_or(AdmissionState::Submitted)
}

/// All rules of the form, then uniqueness against members and open applications.
async fn validate(app: &App, a: &Application, except: Option<i32>) -> AppResult<()> {
    let mut errors = FieldErrors::new();
    for (field, message) in a.profile.check(app.today()) {
        errors.add(field, message);
    }
    let region_ok = app.orgs.by_code(&a.profile.region).is_some_and(|o| o.level == AssociationLevel::Provincial);
    if !region_ok && errors.get("region").is_none() {
        errors.add("region", "请选择所在地区");
    }
    if (0..DECLARATIONS.len()).any(|i| !a.declarations.contains(&i)) {
        errors.add("declarations", "请阅读并勾选全部声明事项");
    }
    match &a.photo {
        None if except.is_none() => errors.add("photo", "请上传本人近期免冠证件照片"),
        None => {}
        Some((_, bytes)) => {
            if let Err(m) = check_photo(bytes) {
                errors.add("photo", m);
            }
        }
    }
    if errors.get("id_number").is_none() {
        let digest = app.pii.digest(&a.profile.id_number);
        let db = app.db.conn();
        if member::Entity::find().filter(member::Column::IdNumberDigest.eq(&digest)).one(db).await?.is_some() {
            errors.add("id_number", "该证件号码已是非执业会员，无需重复申请");
        } else if let Some(open) = open_application(app, row::Column::IdNumberDigest, &digest, except).await? {
            errors.add(
                "id_number",
                format!("该证件号码已有正在办理的入会申请（业务编号{}），请通过进度查询了解进度", open),
            );
        }
    }
    if errors.get("exam_cert_no").is_none() {
        let cert = a.profile.exam_cert_no.trim().to_uppercase();
        let db = app.db.conn();
        if member::Entity::find().filter(member::Column::ExamCertNo.eq(&cert)).one(db).await?.is_some() {
            errors.add("exam_cert_no", "该全科合格证号已属于一名会员，请核对");
        } else if let Some(open) = open_application(app, row::Column::ExamCertNo, &cert, except).await? {
            errors.add("exam_cert_no", format!("该全科合格证号已有正在办理的入会申请（业务编号{open}）"));
        }
    }
    errors.into_result()
}

async fn open_application(app: &App, col: row::Column, value: &str, except: Option<i32>) -> AppResult<Option<String>> {
    let pending: Vec<&str> = AdmissionState::ALL.into_iter().filter(|s| s.is_pending()).map(|s| s.code()).collect();
    Ok(row::Entity::find()
        .filter(col.eq(value))
        .filter(row::Column::State.is_in(pending))
        .apply_if(except, |q, id| q.filter(row::Column::Id.ne(id)))
        .one(app.db.conn())
        .await?
        .map(|r| r.business_no))
}

fn check_photo(bytes: &Bytes) -> Result<(), String> {
    match attachments::sniff(bytes) {
        Some(k) if PHOTO.kinds.contains(&k) => {}
        _ => return Err("照片应为jpg或png格式的图片".into()),
    }
    if bytes.len() as u64 > PHOTO.max_bytes {
        return Err(format!("照片不能超过{}MB", PHOTO.max_bytes / 1024 / 1024));
    }
    Ok(())
}

async fn store_photo(app: &App, bytes: Bytes) -> AppResult<(String, String)> {
    let kind = attachments::sniff(&bytes).ok_or_else(|| FieldErrors::one("photo", "照片应为jpg或png格式的图片"))?;
    let mut rnd = [0u8; 16];
    rand::rng().fill_bytes(&mut rnd);
    let now = app.now();
    let key = format!("admission/{}/{:02}/{}", now.year(), now.month(), hex::encode(rnd));
    app.files.put(&StorePath::from(key.as_str()), PutPayload::from_bytes(bytes)).await.map_err(anyhow::Error::from)?;
    Ok((key, kind.content_type().to_owned()))
}

/// A 业务编号 nobody can guess: the date, then ten random digits (one in ten
/// billion a day), so that the number alone, which opens the progress
/// query, cannot be found by counting.
async fn new_business_no<C: ConnectionTrait>(db: &C, today: NaiveDate) -> AppResult<String> {
    use rand::Rng;
    loop {
        let no = format!("{}{:010}", today.format("%Y%m%d"), rand::rng().random_range(0..10_000_000_000u64));
        if row::Entity::find().filter(row::Column::BusinessNo.eq(&no)).one(db).await?.is_none() {
            return Ok(no);
        }
    }
}

/// 提交申请: returns the 业务编号 once the application is committed.
pub async fn submit(app: &App, a: Application) -> AppResult<String> {
    validate(app, &a, None).await?;
    let (_, bytes) = a.photo.clone().expect("validated");
    let (photo_key, photo_type) = store_photo(app, bytes).await?;
    let result = insert(app, &a, &photo_key, &photo_type).await;
    if result.is_err() {
        let _ = app.files.delete(&StorePath::from(photo_key.as_str())).await;
    }
    result
}

async fn insert(app: &App, a: &Application, photo_key: &str, photo_type: &str) -> AppResult<String> {
    let p = &a.profile;
    let association = app.orgs.by_code(&p.region).expect("validated");
    let now = app.now();
    let today = app.today();
    let txn = app.write().await?;
    let business_no = new_business_no(&txn, today).await?;
    let m = row::ActiveModel {
        business_no: Set(business_no.clone()),
        state: Set(AdmissionState::Submitted.code().into()),
        association_id: Set(association.id),
        name: Set(p.name.trim().to_owned()),
        id_type: Set(p.id_type.clone()),
        id_number_enc: Set(app.pii.encrypt(p.id_number.trim())),
        id_number_digest: Set(app.pii.digest(&p.id_number)),
        qualification_method: Set(p.qualification_method.clone()),
        exam_cert_no: Set(p.exam_cert_no.trim().to_uppercase()),
        profile_enc: Set(app.pii.encrypt(&serde_json::to_string(p).map_err(anyhow::Error::from)?)),
        photo_key: Set(photo_key.to_owned()),
        photo_type: Set(photo_type.to_owned()),
        return_reason: Set(None),
        submitted_at: Set(now),
        deadline: Set(workdays::add(today, LOCAL_DAYS, &[])),
        member_id: Set(None),
        initial_password_enc: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    approval::record(&txn, subject(m.id), "申请人提交申请", &m.name, "applicant", "").await?;
    audit::append(
        &txn,
        "applicant",
        "admission_submitted",
        &format!("admission:{}", m.id),
        json!({ "business_no": business_no }),
    )
    .await?;
    txn.commit().await?;
    Ok(business_no)
}

/// What the progress query shows.
#[derive(Debug, Clone)]
pub struct Progress {
    pub business_no: String,
    pub name: String,
    pub state: AdmissionState,
    pub association: String,
    pub submitted_at: DateTime<Utc>,
    pub return_reason: Option<String>,
    pub trail: Vec<Step>,
    /// On confirmation (seed 003 §2.5): 会员编号, 登录名, and the initial
    /// password until the member first logs in.
    pub credentials: Option<Credentials>,
}

#[derive(Debug, Clone)]
pub struct Credentials {
    pub cert_no: String,
    pub login_name: String,
    pub initial_password: Option<String>,
    /// The initial password is still valid but was not shown: the query gave
    /// only the business number (基本信息查询 shows it).
    pub password_withheld: bool,
}

/// The progress of an application; the initial password only when the query
/// proved more than the business number (`by_info`).
async fn progress_of(app: &App, r: row::Model, reveal_password: bool) -> AppResult<Progress> {
    let credentials = match r.member_id {
        None => None,
        Some(mid) => {
            let m = member::Entity::find_by_id(mid).one(app.db.conn()).await?.ok_or(AppError::NotFound("会员"))?;
            let u = user::Entity::find()
                .filter(user::Column::MemberId.eq(mid))
                .one(app.db.conn())
                .await?
                .ok_or(AppError::NotFound("账户"))?;
            let unused = u.must_change_password && u.last_login_at.is_none();
            let initial_password = match (&r.initial_password_enc, unused && reveal_password) {
                (Some(enc), true) => Some(app.pii.decrypt(enc)?),
                _ => None,
            };
            let password_withheld = unused && !reveal_password;
            Some(Credentials { cert_no: m.cert_no, login_name: u.login_name, initial_password, password_withheld })
        }
    };
    Ok(Progress {
        state: state_of(&r),
        association: app.orgs.get(r.association_id).map_or_else(String::new, |a| a.name.clone()),
        trail: approval::trail(app.db.conn(), subject(r.id)).await?,
        business_no: r.business_no,
        name: r.name,
        submitted_at: r.submitted_at,
        return_reason: r.return_reason,
        credentials,
    })
}

const NOT_FOUND: &str = "未查询到入会申请，请核对填写的信息";

/// 业务编号查询. The initial password of a confirmed application is not
/// shown this way: the number alone proves too little (基本信息查询 shows it).
pub async fn progress_by_business_no(app: &App, business_no: &str) -> AppResult<Progress> {
    let r = row::Entity::find()
        .filter(row::Column::BusinessNo.eq(business_no.trim()))
        .one(app.db.conn())
        .await?
        .ok_or_else(|| FieldErrors::one("business_no", NOT_FOUND))?;
    progress_of(app, r, false).await
}

pub struct InfoQuery {
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub qualification_method: String,
    pub exam_cert_no: String,
}

/// 基本信息查询: every field must match the application.
pub async fn progress_by_info(app: &App, q: &InfoQuery) -> AppResult<Progress> {
    let r = row::Entity::find()
        .filter(row::Column::IdNumberDigest.eq(app.pii.digest(&q.id_number)))
        .filter(row::Column::Name.eq(q.name.trim()))
        .filter(row::Column::IdType.eq(&q.id_type))
        .filter(row::Column::QualificationMethod.eq(&q.qualification_method))
        .filter(row::Column::ExamCertNo.eq(q.exam_cert_no.trim().to_uppercase()))
        .order_by_desc(row::Column::Id)
        .one(app.db.conn())
        .await?
        .ok_or_else(|| FieldErrors::one("form", NOT_FOUND))?;
    progress_of(app, r, true).await
}

/// The application as its applicant sent it, for correcting after a return.
/// `id_number` proves it is theirs.
pub async fn returned_for_edit(app: &App, business_no: &str, id_number: &str) -> AppResult<Profile> {
    let r = own_application(app, business_no, id_number).await?;
    if !state_of(&r).is_returned() {
        return Err(AppError::Refused(format!("该申请当前状态为“{}”，不能修改", state_of(&r).label())));
    }
    Ok(serde_json::from_str(&app.pii.decrypt(&r.profile_enc)?).map_err(anyhow::Error::from)?)
}

/// The application, once its ID number proves the caller is the applicant.
/// Each try is counted first, per business number: the number alone must not
/// let anyone test ID numbers. An unknown number and a wrong ID number get
/// the same answer.
async fn own_application(app: &App, business_no: &str, id_number: &str) -> AppResult<row::Model> {
    let business_no = business_no.trim();
    let now = app.now();
    let key = format!("application:{business_no}");
    let hit = throttle::hit(app.db.conn(), &key, APPLICATION_OWNER, now).await?;
    if !hit.allowed(&APPLICATION_OWNER) {
        return Err(AppError::Refused(format!("核对次数过多，请{}分钟后再试", hit.minutes_locked(now))));
    }
    let r = row::Entity::find().filter(row::Column::BusinessNo.eq(business_no)).one(app.db.conn()).await?;
    match r {
        Some(r) if r.id_number_digest == app.pii.digest(id_number) => {
            throttle::clear(app.db.conn(), &key).await?;
            Ok(r)
        }
        _ => Err(FieldErrors::one("id_number", "业务编号或证件号码不正确，请核对")),
    }
}

/// 再次提交 after a return, under the same business number.
pub async fn resubmit(app: &App, business_no: &str, id_number: &str, a: Application) -> AppResult<()> {
    let r = own_application(app, business_no, id_number).await?;
    let next =
        rules::transition(state_of(&r), AdmissionAction::Resubmit, "").map_err(|e| AppError::Refused(e.to_string()))?;
    validate(app, &a, Some(r.id)).await?;
    if app.pii.digest(&a.profile.id_number) != r.id_number_digest {
        return Err(FieldErrors::one("id_number", "再次提交时不能更改证件号码；如证件号码有误，请重新申请"));
    }
    let new_photo = match a.photo.clone() {
        Some((_, bytes)) => Some(store_photo(app, bytes).await?),
        None => None,
    };
    let p = &a.profile;
    let association = app.orgs.by_code(&p.region).expect("validated");
    let txn = app.write().await?;
    let id = r.id;
    let old_photo = r.photo_key.clone();
    let mut m: row::ActiveModel = r.into();
    m.state = Set(next.code().into());
    m.association_id = Set(association.id);
    m.name = Set(p.name.trim().to_owned());
    m.qualification_method = Set(p.qualification_method.clone());
    m.exam_cert_no = Set(p.exam_cert_no.trim().to_uppercase());
    m.profile_enc = Set(app.pii.encrypt(&serde_json::to_string(p).map_err(anyhow::Error::from)?));
    if let Some((key, kind)) = &new_photo {
        m.photo_key = Set(key.clone());
        m.photo_type = Set(kind.clone());
    }
    m.submitted_at = Set(app.now());
    m.deadline = Set(workdays::add(app.today(), LOCAL_DAYS, &[]));
    m.updated_at = Set(app.now());
    m.update(&txn).await?;
    approval::record(&txn, subject(id), AdmissionAction::Resubmit.node(), p.name.trim(), "applicant", "").await?;
    audit::append(&txn, "applicant", "admission_resubmitted", &format!("admission:{id}"), json!({})).await?;
    txn.commit().await?;
    if new_photo.is_some() {
        let _ = app.files.delete(&StorePath::from(old_photo.as_str())).await;
    }
    Ok(())
}

/// Who reviews what: the provincial association its own applications, CICPA the
/// confirmations. City associations take no part in admission.
fn review_role(actor: &Actor) -> AppResult<AssociationLevel> {
    match (actor.user_type, actor.association_level) {
        (UserType::AssociationStaff, l @ (AssociationLevel::National | AssociationLevel::Provincial)) => Ok(l),
        _ => Err(AppError::Forbidden),
    }
}

#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// None: the reviewer's own queue (待审核 for a province, 待确认 for CICPA).
    pub state: Option<AdmissionState>,
    pub keyword: String,
    pub overdue: bool,
    pub page: u64,
}

#[derive(Debug, Clone)]
pub struct QueueRow {
    pub id: i32,
    pub business_no: String,
    pub name: String,
    /// Masked.
    pub id_number: String,
    pub exam_cert_no: String,
    pub association: String,
    pub submitted_at: DateTime<Utc>,
    pub state: AdmissionState,
    /// Working days left to decide; negative when overdue. None once decided.
    pub days_left: Option<i64>,
}

fn awaiting(level: AssociationLevel) -> AdmissionState {
    if level == AssociationLevel::National { AdmissionState::LocalApproved } else { AdmissionState::Submitted }
}

/// The review queue: filters, overdue first by deadline, a page at a time.
pub async fn queue(app: &App, actor: &Actor, f: &QueueFilter) -> AppResult<Page<QueueRow>> {
    let level = review_role(actor)?;
    let state = f.state.unwrap_or(awaiting(level));
    let mut q = row::Entity::find().filter(row::Column::State.eq(state.code()));
    if level == AssociationLevel::Provincial {
        q = q.filter(row::Column::AssociationId.is_in(app.orgs.scope(actor.association_id)));
    }
    let kw = f.keyword.trim();
    if !kw.is_empty() {
        q = q.filter(
            Condition::any()
                .add(row::Column::BusinessNo.eq(kw))
                .add(row::Column::Name.contains(kw))
                .add(row::Column::ExamCertNo.eq(kw.to_uppercase()))
                .add(row::Column::IdNumberDigest.eq(app.pii.digest(kw))),
        );
    }
    let today = app.today();
    if f.overdue {
        q = q.filter(row::Column::Deadline.lt(today));
    }
    let q = q.order_by_asc(row::Column::Deadline).order_by_asc(row::Column::Id);
    let p = page::fetch(app.db.conn(), q, f.page, PAGE_SIZE).await?;
    Ok(p.map(|r| {
        let s = state_of(&r);
        let waiting = matches!(s, AdmissionState::Submitted | AdmissionState::LocalApproved);
        QueueRow {
            id: r.id,
            id_number: app.pii.decrypt(&r.id_number_enc).map(|v| mask::id_number(&v)).unwrap_or_default(),
            association: app.orgs.get(r.association_id).map_or_else(String::new, |a| a.short_name.clone()),
            days_left: waiting.then(|| workdays::left(today, r.deadline, &[])),
            business_no: r.business_no,
            name: r.name,
            exam_cert_no: r.exam_cert_no,
            submitted_at: r.submitted_at,
            state: s,
        }
    }))
}

/// Counts for the reviewer's menu badge and tabs.
pub async fn awaiting_count(app: &App, actor: &Actor) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    let level = review_role(actor)?;
    let mut q = row::Entity::find().filter(row::Column::State.eq(awaiting(level).code()));
    if level == AssociationLevel::Provincial {
        q = q.filter(row::Column::AssociationId.is_in(app.orgs.scope(actor.association_id)));
    }
    Ok(q.count(app.db.conn()).await?)
}

/// Everything a reviewer sees of one application. Opening it is audited.
pub struct Detail {
    pub id: i32,
    pub business_no: String,
    pub state: AdmissionState,
    pub association: String,
    pub profile: Profile,
    pub submitted_at: DateTime<Utc>,
    pub days_left: Option<i64>,
    pub return_reason: Option<String>,
    pub trail: Vec<Step>,
    /// The decisions this reviewer may take now.
    pub actions: Vec<AdmissionAction>,
}

async fn authorized(app: &App, actor: &Actor, id: i32) -> AppResult<(row::Model, AssociationLevel)> {
    let level = review_role(actor)?;
    let r = row::Entity::find_by_id(id).one(app.db.conn()).await?.ok_or(AppError::NotFound("入会申请"))?;
    if level == AssociationLevel::Provincial {
        actor.require_staff_over(app, r.association_id)?;
    }
    Ok((r, level))
}

pub async fn detail(app: &App, actor: &Actor, id: i32) -> AppResult<Detail> {
    let (r, level) = authorized(app, actor, id).await?;
    let s = state_of(&r);
    let actions = match (level, s) {
        (AssociationLevel::Provincial, AdmissionState::Submitted) => {
            vec![AdmissionAction::LocalApprove, AdmissionAction::LocalReturn, AdmissionAction::LocalReject]
        }
        (AssociationLevel::National, AdmissionState::LocalApproved) => {
            vec![AdmissionAction::CicpaConfirm, AdmissionAction::CicpaReturn]
        }
        _ => vec![],
    };
    let profile: Profile = serde_json::from_str(&app.pii.decrypt(&r.profile_enc)?).map_err(anyhow::Error::from)?;
    audit::record(app, &actor.audit_name(), "admission_viewed", &format!("admission:{id}"), json!({})).await?;
    let waiting = matches!(s, AdmissionState::Submitted | AdmissionState::LocalApproved);
    Ok(Detail {
        id: r.id,
        association: app.orgs.get(r.association_id).map_or_else(String::new, |a| a.name.clone()),
        trail: approval::trail(app.db.conn(), subject(r.id)).await?,
        days_left: waiting.then(|| workdays::left(app.today(), r.deadline, &[])),
        business_no: r.business_no,
        state: s,
        profile,
        submitted_at: r.submitted_at,
        return_reason: r.return_reason,
        actions,
    })
}

/// The applicant's photo, for reviewers.
pub async fn photo(app: &App, actor: &Actor, id: i32) -> AppResult<(String, Bytes)> {
    let (r, _) = authorized(app, actor, id).await?;
    let bytes = app.read_file(&r.photo_key).await?;
    Ok((r.photo_type, bytes))
}

/// 通过 / 退回 / 不予通过 / 确认. On 确认 the member is created with a new
/// certificate number and an initial password that must be changed.
pub async fn decide(
    app: &App,
    actor: &Actor,
    id: i32,
    action: AdmissionAction,
    reason: &str,
) -> AppResult<AdmissionState> {
    let (r, level) = authorized(app, actor, id).await?;
    let national_action = matches!(action, AdmissionAction::CicpaConfirm | AdmissionAction::CicpaReturn);
    if action == AdmissionAction::Resubmit || national_action != (level == AssociationLevel::National) {
        return Err(AppError::Forbidden);
    }
    let next = rules::transition(state_of(&r), action, reason).map_err(|e| match e {
        rules::AdmissionRefusal::ReasonRequired => FieldErrors::one("reason", "请填写原因"),
        e => AppError::Refused(e.to_string()),
    })?;
    if let Err(e) = cmis_domain::text::check(reason.trim(), 500, true) {
        return Err(FieldErrors::one("reason", format!("原因{e}")));
    }
    let profile: Profile = serde_json::from_str(&app.pii.decrypt(&r.profile_enc)?).map_err(anyhow::Error::from)?;
    let reason = reason.trim().to_owned();
    let id = r.id;
    let business_no = r.business_no.clone();
    let association_id = r.association_id;
    let photo_key = r.photo_key.clone();
    let initial = (next == AdmissionState::Confirmed).then(auth::random_password);
    let hash = match &initial {
        Some(p) => Some(auth::hash_password_async(p.clone()).await),
        None => None,
    };

    let txn = app.write().await?;
    let mut m: row::ActiveModel = r.into();
    m.state = Set(next.code().into());
    m.updated_at = Set(app.now());
    m.return_reason = Set(next.is_returned().then(|| reason.clone()));
    if next == AdmissionState::LocalApproved {
        m.deadline = Set(workdays::add(app.today(), CICPA_DAYS, &[]));
    }
    let mut cert = None;
    if let (Some(initial), Some(hash)) = (&initial, hash) {
        let (member_id, cert_no) = create_member(app, &txn, &profile, association_id, &photo_key, hash).await?;
        m.member_id = Set(Some(member_id));
        m.initial_password_enc = Set(Some(app.pii.encrypt(initial)));
        cert = Some(cert_no);
    }
    m.update(&txn).await?;
    approval::record(&txn, subject(id), action.node(), &actor.association_name, &actor.audit_name(), &reason).await?;
    audit::append(
        &txn,
        &actor.audit_name(),
        "admission_decided",
        &format!("admission:{id}"),
        json!({ "action": action.node(), "state": next.code(), "member": cert }),
    )
    .await?;
    txn.commit().await?;

    // Told after the commit: an SMS never announces what did not happen.
    let text = match next {
        AdmissionState::Confirmed => Some(format!(
            "【中注协】您的非执业会员入会申请（业务编号{business_no}）已审核通过，会员证书编号{}。请通过“非执业申请进度查询”查看登录名及初始密码。",
            cert.clone().unwrap_or_default()
        )),
        s if s.is_returned() => Some(format!(
            "【中注协】您的非执业会员入会申请（业务编号{business_no}）已被退回，原因：{reason}。请通过进度查询修改后再次提交。"
        )),
        AdmissionState::Rejected => {
            Some(format!("【中注协】您的非执业会员入会申请（业务编号{business_no}）未予通过，原因：{reason}。"))
        }
        _ => None,
    };
    if let Some(text) = text
        && let Err(e) = app.senders.sms.send_sms(&profile.mobile, &text).await
    {
        tracing::warn!(error = %e, "admission SMS not sent");
    }
    Ok(next)
}

/// A new member and their account, inside the confirming transaction.
async fn create_member<C: ConnectionTrait>(
    app: &App,
    txn: &C,
    p: &Profile,
    association_id: i32,
    photo_key: &str,
    password_hash: String,
) -> AppResult<(i32, String)> {
    let association = app.orgs.get(association_id).ok_or(AppError::NotFound("注协"))?;
    let province = association.province_code.clone().unwrap_or_else(|| "11".into());
    let today = app.today();
    let year = today.year();
    // Never reuse a number: continue after the highest one issued for this province and year.
    let prefix = format!("{province}{year}");
    let highest: Option<String> = member::Entity::find()
        .select_only()
        .column_as(member::Column::CertNo.max(), "max")
        .filter(member::Column::CertNo.starts_with(&prefix))
        .into_tuple()
        .one(txn)
        .await?
        .flatten();
    let serial = highest.and_then(|h| h[prefix.len()..].parse::<u32>().ok()).unwrap_or(0) + 1;
    let cert_no = MemberCertNo::compose(&province, year, serial).map_err(anyhow::Error::from)?.to_string();
    let now = app.now();
    let birth = p.birth_date.unwrap_or(today);
    let m = member::ActiveModel {
        cert_no: Set(cert_no.clone()),
        name: Set(p.name.trim().to_owned()),
        sex: Set(p.sex.clone()),
        birth_date: Set(birth),
        id_type: Set(p.id_type.clone()),
        id_number_enc: Set(app.pii.encrypt(p.id_number.trim())),
        id_number_digest: Set(app.pii.digest(&p.id_number)),
        mobile_enc: Set(Some(app.pii.encrypt(p.mobile.trim()))),
        mobile_digest: Set(Some(app.pii.digest(&p.mobile))),
        email: Set(Some(p.email.trim().to_owned())),
        association_id: Set(association_id),
        city_association_id: Set(None),
        qualification_method: Set(p.qualification_method.clone()),
        exam_cert_no: Set(Some(p.exam_cert_no.trim().to_uppercase())),
        exam_year: Set(p.exam_year),
        status: Set("active".into()),
        created_at: Set(now),
        admitted_on: Set(today),
        work_unit: Set(Some(p.work_unit.trim().to_owned())),
        profile_enc: Set(Some(app.pii.encrypt(&serde_json::to_string(p).map_err(anyhow::Error::from)?))),
        // The photo of the application is the member's photo until the association approves another.
        photo_key: Set(Some(photo_key.to_owned())),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    user::ActiveModel {
        user_type: Set(UserType::NonPracticingMember.code().into()),
        login_name: Set(cert_no.clone()),
        display_name: Set(m.name.clone()),
        password_hash: Set(password_hash),
        must_change_password: Set(true),
        association_id: Set(association_id),
        member_id: Set(Some(m.id)),
        disabled: Set(false),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok((m.id, cert_no))
}
