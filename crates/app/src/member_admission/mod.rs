//! 非执业会员入会申请 (seed 003): the public application and its progress
//! query, returns and resubmission under the same business number. The review
//! (the local association decides, CICPA confirms) is the review kernel's; this
//! module and `review` say what confirmation changes (a member with an
//! account) and what the applicant is told.

mod review;

use bytes::Bytes;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use cmis_domain::member_admission::{self as rules, AdmissionState, MemberAdmission, RESUBMITTED};
use cmis_domain::profile::{CheckedProfile, Profile};
use cmis_domain::review::Workflow;
use cmis_domain::throttle::APPLICATION_OWNER;
use cmis_domain::{AssociationLevel, ExamCertNo, IdNumber, IdType};
use cmis_store::entity::{member, member_admission as payload, review_case as case_row, user};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, PutPayload};
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::json;

use crate::approval::{self, Step};
use crate::attachments;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::review::{self as kernel, Case, NewCase, Reviewed};
use crate::{Actor, App, audit, throttle};

/// Working days each reviewer has (DOMAIN §1).
pub const LOCAL_DAYS: u32 = 20;
pub const CICPA_DAYS: u32 = 10;

/// The eligibility declarations (会协〔2009〕51号) the applicant ticks, each of them.
pub const DECLARATIONS: &[&str] = &[
    "本人已通过注册会计师全国统一考试全科考试（或经考核取得全科合格证书），取得全科合格证书或离开注册会计师执业岗位未超过5年；超过5年的，已通过相应测试。",
    "本人未受过刑事处罚，或刑罚执行完毕之日起已满5年。",
    "本人未因在财务、会计、审计、企业管理或者其他经济管理工作中犯有严重错误受行政处罚、撤职以上处分，或自处罚、处分决定之日起已满2年。",
    "本人未被吊销注册会计师证书，或自吊销之日起已满5年。",
    "本人未被中国注册会计师协会开除会籍，或自开除之日起已满3年。",
    "本人承诺以上声明及所填信息真实、准确、完整，如有不实，愿承担相应责任。",
];

type W = MemberAdmission;

/// What the applicant sends.
pub struct Application {
    pub profile: Profile,
    /// Indices of the ticked DECLARATIONS.
    pub declarations: Vec<usize>,
    /// (file name, bytes); optional only when resubmitting with the earlier photo.
    pub photo: Option<(String, Bytes)>,
}

/// The case and what the applicant sent, read together.
async fn by_case<C: ConnectionTrait>(db: &C, id: i32) -> AppResult<(Case<W>, payload::Model)> {
    let c = case_row::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound("入会申请"))?;
    let p = payload::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound("入会申请"))?;
    Ok((Case::try_from(c)?, p))
}

async fn by_number<C: ConnectionTrait>(db: &C, business_no: &str) -> AppResult<Option<(Case<W>, payload::Model)>> {
    let found = payload::Entity::find().filter(payload::Column::BusinessNo.eq(business_no.trim())).one(db).await?;
    match found {
        Some(p) => Ok(Some(by_case(db, p.case_id).await?)),
        None => Ok(None),
    }
}

/// All rules of the form, then uniqueness against members and open
/// applications; the profile with its identifiers parsed, once, when all hold.
async fn validate(app: &App, a: &Application, except: Option<i32>) -> AppResult<CheckedProfile> {
    let mut errors = FieldErrors::new();
    let checked = a.profile.checked(app.today());
    if let Err(e) = &checked {
        for (field, message) in e {
            errors.add(field, message);
        }
    }
    let region_ok = app.orgs().by_code(&a.profile.region).is_some_and(|o| o.level == AssociationLevel::Provincial);
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
    // Uniqueness is told even while other fields still need correcting.
    let id_number = IdType::from_code(&a.profile.id_type).and_then(|t| IdNumber::parse(t, &a.profile.id_number).ok());
    if let Some(id) = id_number.filter(|_| errors.get("id_number").is_none()) {
        let digest = app.pii.digest(id.as_str());
        let db = app.db.conn();
        if member::Entity::find().filter(member::Column::IdNumberDigest.eq(&digest)).one(db).await?.is_some() {
            errors.add("id_number", "该证件号码已是非执业会员，无需重复申请");
        } else if let Some(open) = open_application(app, payload::Column::IdNumberDigest, &digest, except).await? {
            errors.add(
                "id_number",
                format!("该证件号码已有正在办理的入会申请（业务编号{open}），请通过进度查询了解进度"),
            );
        }
    }
    let exam_cert_no = match a.profile.qualification_method.as_str() {
        "exam" => ExamCertNo::parse_exam(&a.profile.exam_cert_no).ok(),
        "assessment" => ExamCertNo::parse_assessment(&a.profile.exam_cert_no).ok(),
        _ => None,
    };
    if let Some(cert) = exam_cert_no.filter(|_| errors.get("exam_cert_no").is_none()) {
        let db = app.db.conn();
        if member::Entity::find().filter(member::Column::ExamCertNo.eq(cert.as_str())).one(db).await?.is_some() {
            errors.add("exam_cert_no", "该全科合格证号已属于一名会员，请核对");
        } else if let Some(open) = open_application(app, payload::Column::ExamCertNo, cert.as_str(), except).await? {
            errors.add("exam_cert_no", format!("该全科合格证号已有正在办理的入会申请（业务编号{open}）"));
        }
    }
    match checked {
        Ok(c) if errors.is_empty() => Ok(c),
        _ => Err(AppError::Invalid(errors)),
    }
}

/// An application still in someone's hands with this value, other than `except`.
async fn open_application(
    app: &App,
    col: payload::Column,
    value: &str,
    except: Option<i32>,
) -> AppResult<Option<String>> {
    let pending: Vec<&str> = AdmissionState::ALL.iter().filter(|s| s.is_pending()).map(|s| s.code()).collect();
    let db = app.db.conn();
    for p in payload::Entity::find().filter(col.eq(value)).all(db).await? {
        if Some(p.case_id) == except {
            continue;
        }
        let open = case_row::Entity::find_by_id(p.case_id)
            .filter(case_row::Column::State.is_in(pending.clone()))
            .one(db)
            .await?
            .is_some();
        if open {
            return Ok(Some(p.business_no));
        }
    }
    Ok(None)
}

fn check_photo(bytes: &Bytes) -> Result<(), String> {
    crate::photo::check(bytes).map(|_| ())
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
        if payload::Entity::find().filter(payload::Column::BusinessNo.eq(&no)).one(db).await?.is_none() {
            return Ok(no);
        }
    }
}

fn profile_json(p: &Profile) -> AppResult<String> {
    Ok(serde_json::to_string(p).map_err(anyhow::Error::from)?)
}

/// 提交申请: returns the 业务编号 once the application is committed.
pub async fn submit(app: &App, a: Application) -> AppResult<String> {
    let checked = validate(app, &a, None).await?;
    let (_, bytes) = a.photo.clone().expect("validated");
    let (photo_key, photo_type) = store_photo(app, bytes).await?;
    let result = insert(app, &checked, &photo_key, &photo_type).await;
    if result.is_err() {
        let _ = app.files.delete(&StorePath::from(photo_key.as_str())).await;
    }
    result
}

async fn insert(app: &App, c: &CheckedProfile, photo_key: &str, photo_type: &str) -> AppResult<String> {
    let p = c.profile();
    let orgs = app.orgs();
    let association = orgs.by_code(&p.region).expect("validated");
    let tx = app.write().await?;
    let business_no = new_business_no(&tx, app.today()).await?;
    let id = kernel::open_case(
        &tx,
        NewCase {
            kind: W::KIND,
            state: AdmissionState::Submitted.code(),
            year: None,
            association_id: association.id,
            city_association_id: None,
            firm_id: None,
            member_id: None,
            applicant_user_id: None,
            number: &business_no,
            name: &p.name,
            days: LOCAL_DAYS,
        },
    )
    .await?;
    payload::ActiveModel {
        case_id: Set(id),
        business_no: Set(business_no.clone()),
        id_type: Set(c.id_number.id_type().code().to_owned()),
        id_number_enc: Set(app.pii.encrypt(c.id_number.as_str())),
        id_number_digest: Set(app.pii.digest(c.id_number.as_str())),
        qualification_method: Set(p.qualification_method.clone()),
        exam_cert_no: Set(c.exam_cert_no.as_str().to_owned()),
        profile_enc: Set(app.pii.encrypt(&profile_json(p)?)),
        photo_key: Set(photo_key.to_owned()),
        photo_type: Set(photo_type.to_owned()),
        initial_password_enc: Set(None),
    }
    .insert(&tx)
    .await?;
    approval::record(&tx, Case::<W>::subject_of(id), "申请人提交申请", &p.name, "applicant", "").await?;
    audit::append(
        &tx,
        "applicant",
        "member_admission_submitted",
        &format!("{}:{id}", W::KIND),
        json!({ "business_no": business_no }),
    )
    .await?;
    tx.commit().await?;
    Ok(business_no)
}

/// What the progress query shows.
#[derive(Debug, Clone)]
pub struct Progress {
    pub business_no: String,
    pub name: String,
    pub state: AdmissionState,
    pub association: String,
    /// The first submission; the latest, when submitted again after a return.
    pub first_submitted_at: DateTime<Utc>,
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
    /// 会员批准文件号 and 会员批准日期 of CICPA's confirmation.
    pub approval_doc_no: String,
    pub approval_date: Option<chrono::NaiveDate>,
    pub login_name: String,
    pub initial_password: Option<String>,
    /// The initial password is still valid but was not shown: the query gave
    /// only the business number (基本信息查询 shows it).
    pub password_withheld: bool,
}

/// The progress of an application; the initial password only when the query
/// proved more than the business number (`by_info`).
async fn progress_of(app: &App, case: Case<W>, p: payload::Model, reveal_password: bool) -> AppResult<Progress> {
    let credentials = match case.member_id {
        None => None,
        Some(mid) => {
            let m = member::Entity::find_by_id(mid).one(app.db.conn()).await?.ok_or(AppError::NotFound("会员"))?;
            let u = user::Entity::find()
                .filter(user::Column::MemberId.eq(mid))
                .one(app.db.conn())
                .await?
                .ok_or(AppError::NotFound("账户"))?;
            let unused = u.must_change_password && u.last_login_at.is_none();
            let initial_password = match (&p.initial_password_enc, unused && reveal_password) {
                (Some(enc), true) => Some(app.pii.decrypt(enc)?),
                _ => None,
            };
            let password_withheld = unused && !reveal_password;
            let profile = crate::member_profile::profile_of(app, &m)?;
            Some(Credentials {
                approval_doc_no: profile.approval_doc_no.clone(),
                approval_date: profile.approval_date,
                cert_no: m.cert_no.to_string(),
                login_name: u.login_name,
                initial_password,
                password_withheld,
            })
        }
    };
    Ok(Progress {
        trail: kernel::trail::<W>(app, case.id).await?,
        state: case.state,
        association: app.orgs().get(case.association_id).map_or_else(String::new, |a| a.name.clone()),
        business_no: p.business_no,
        name: case.name,
        first_submitted_at: case.first_submitted_at,
        submitted_at: case.submitted_at,
        return_reason: case.return_reason,
        credentials,
    })
}

const NOT_FOUND: &str = "未查询到入会申请，请核对填写的信息";

/// 业务编号查询. The initial password of a confirmed application is not
/// shown this way: the number alone proves too little (基本信息查询 shows it).
pub async fn progress_by_business_no(app: &App, business_no: &str) -> AppResult<Progress> {
    let (case, p) =
        by_number(app.db.conn(), business_no).await?.ok_or_else(|| FieldErrors::one("business_no", NOT_FOUND))?;
    progress_of(app, case, p, false).await
}

pub struct InfoQuery {
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub qualification_method: String,
    pub exam_cert_no: String,
}

/// 基本信息查询: every field must match the application. It shows an
/// initial password, so tries are counted per ID number before anything is
/// compared: knowing someone's name and ID number does not let anyone try
/// certificate numbers one after another.
pub async fn progress_by_info(app: &App, q: &InfoQuery) -> AppResult<Progress> {
    // Parsed at the door: a malformed number is told beside its field, and
    // is not a try.
    let id_type = IdType::from_code(&q.id_type).ok_or_else(|| FieldErrors::one("id_type", "请选择证件类型"))?;
    let id_number = IdNumber::parse(id_type, &q.id_number).map_err(|e| FieldErrors::one("id_number", e))?;
    let exam_cert_no = match q.qualification_method.as_str() {
        "exam" => ExamCertNo::parse_exam(&q.exam_cert_no),
        "assessment" => ExamCertNo::parse_assessment(&q.exam_cert_no),
        _ => return Err(FieldErrors::one("qualification_method", "请选择资格取得方式")),
    }
    .map_err(|e| FieldErrors::one("exam_cert_no", e))?;
    let digest = app.pii.digest(id_number.as_str());
    let db = app.db.conn();
    let now = app.now();
    let key = format!("admission_info:{digest}");
    let hit = throttle::hit(db, &key, APPLICATION_OWNER, now).await?;
    if !hit.allowed(&APPLICATION_OWNER) {
        return Err(AppError::Refused(format!("查询次数过多，请{}分钟后再试", hit.minutes_locked(now))));
    }
    let candidates = payload::Entity::find()
        .filter(payload::Column::IdNumberDigest.eq(&digest))
        .filter(payload::Column::IdType.eq(id_type.code()))
        .filter(payload::Column::QualificationMethod.eq(&q.qualification_method))
        .filter(payload::Column::ExamCertNo.eq(exam_cert_no.as_str()))
        .order_by_desc(payload::Column::CaseId)
        .all(db)
        .await?;
    for p in candidates {
        let (case, p) = by_case(db, p.case_id).await?;
        if case.name == q.name.trim() {
            throttle::clear(db, &key).await?;
            return progress_of(app, case, p, true).await;
        }
    }
    Err(FieldErrors::one("form", NOT_FOUND))
}

/// The application as its applicant sent it, for correcting after a return.
/// `id_number` proves it is theirs.
pub async fn returned_for_edit(app: &App, business_no: &str, id_number: &str) -> AppResult<Profile> {
    let (case, p) = own_application(app, business_no, id_number).await?;
    if !case.state.is_returned() {
        return Err(AppError::Refused(format!("该申请当前状态为“{}”，不能修改", case.state.label())));
    }
    Ok(serde_json::from_str(&app.pii.decrypt(&p.profile_enc)?).map_err(anyhow::Error::from)?)
}

/// The application, once its ID number proves the caller is the applicant.
/// Each try is counted first, per business number: the number alone must not
/// let anyone test ID numbers. An unknown number and a wrong ID number get
/// the same answer.
async fn own_application(app: &App, business_no: &str, id_number: &str) -> AppResult<(Case<W>, payload::Model)> {
    let business_no = business_no.trim();
    let now = app.now();
    let key = format!("application:{business_no}");
    let hit = throttle::hit(app.db.conn(), &key, APPLICATION_OWNER, now).await?;
    if !hit.allowed(&APPLICATION_OWNER) {
        return Err(AppError::Refused(format!("核对次数过多，请{}分钟后再试", hit.minutes_locked(now))));
    }
    match by_number(app.db.conn(), business_no).await? {
        Some((case, p)) if p.id_number_digest == app.pii.digest(id_number) => {
            throttle::clear(app.db.conn(), &key).await?;
            Ok((case, p))
        }
        _ => Err(FieldErrors::one("id_number", "业务编号或证件号码不正确，请核对")),
    }
}

/// 再次提交 after a return, under the same business number.
pub async fn resubmit(app: &App, business_no: &str, id_number: &str, a: Application) -> AppResult<()> {
    let (case, p) = own_application(app, business_no, id_number).await?;
    let next = rules::resubmit(case.state).map_err(|e| AppError::Refused(e.to_string()))?;
    let checked = validate(app, &a, Some(case.id)).await?;
    if app.pii.digest(checked.id_number.as_str()) != p.id_number_digest {
        return Err(FieldErrors::one("id_number", "再次提交时不能更改证件号码；如证件号码有误，请重新申请"));
    }
    let new_photo = match a.photo.clone() {
        Some((_, bytes)) => Some(store_photo(app, bytes).await?),
        None => None,
    };
    let prof = checked.profile();
    let orgs = app.orgs();
    let association = orgs.by_code(&prof.region).expect("validated");
    let tx = app.write().await?;
    // Re-read and locked inside the write transaction: a second resubmission,
    // or a decision at the same moment, finds it submitted.
    case_row::Entity::find_by_id(case.id).lock_exclusive().one(&tx).await?;
    let (case, p) = by_case(&tx, case.id).await?;
    rules::resubmit(case.state).map_err(|e| AppError::Refused(e.to_string()))?;
    let old_photo = p.photo_key.clone();
    kernel::resubmit_case(&tx, case.id, next.code(), LOCAL_DAYS, &prof.name, association.id).await?;
    let mut m: payload::ActiveModel = p.into();
    m.qualification_method = Set(prof.qualification_method.clone());
    m.exam_cert_no = Set(checked.exam_cert_no.as_str().to_owned());
    m.profile_enc = Set(app.pii.encrypt(&profile_json(prof)?));
    if let Some((key, kind)) = &new_photo {
        m.photo_key = Set(key.clone());
        m.photo_type = Set(kind.clone());
    }
    m.update(&tx).await?;
    approval::record(&tx, case.subject(), RESUBMITTED, &prof.name, "applicant", "").await?;
    audit::append(&tx, "applicant", "member_admission_resubmitted", &format!("{}:{}", W::KIND, case.id), json!({}))
        .await?;
    tx.commit().await?;
    if new_photo.is_some() {
        let _ = app.files.delete(&StorePath::from(old_photo.as_str())).await;
    }
    Ok(())
}

/// What a reviewer sees of an application beside the case: the form as sent.
pub struct Sent {
    pub business_no: String,
    pub profile: Profile,
}

/// The application of a case the reviewer may see (the kernel opened and audited it).
pub async fn sent(app: &App, actor: &Actor, id: i32) -> AppResult<Sent> {
    W::PERMISSION.require(actor)?;
    kernel::load::<W, _>(app.db.conn(), app, actor, id).await?;
    let p = payload::Entity::find_by_id(id).one(app.db.conn()).await?.ok_or(AppError::NotFound("入会申请"))?;
    let profile = serde_json::from_str(&app.pii.decrypt(&p.profile_enc)?).map_err(anyhow::Error::from)?;
    Ok(Sent { business_no: p.business_no, profile })
}

/// The applicant's photo, for reviewers.
pub async fn photo(app: &App, actor: &Actor, id: i32) -> AppResult<(String, Bytes)> {
    W::PERMISSION.require(actor)?;
    kernel::load::<W, _>(app.db.conn(), app, actor, id).await?;
    let p = payload::Entity::find_by_id(id).one(app.db.conn()).await?.ok_or(AppError::NotFound("入会申请"))?;
    let bytes = app.read_file(&p.photo_key).await?;
    audit::record(app, &actor.audit_name(), "member_admission_photo_viewed", &format!("{}:{id}", W::KIND), json!({}))
        .await?;
    Ok((p.photo_type, bytes))
}
