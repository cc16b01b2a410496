//! 基本信息 / 修改信息: a non-practicing member's own profile, and the
//! completeness check other workflows call (下载会员证, 年检 完善信息).

use cmis_domain::profile::Profile;
use cmis_domain::{MemberCertNo, UserType};
use cmis_store::entity::member;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

use crate::error::{AppError, AppResult, FieldErrors};
use crate::scope::{Filed, Scope};
use crate::{Actor, App, audit};

/// Fields that identify the member: set at admission, changed only by the
/// association, so the member's form shows them read-only.
pub const LOCKED: &[&str] =
    &["name", "sex", "id_type", "id_number", "birth_date", "qualification_method", "exam_cert_no", "region"];

async fn own(app: &App, actor: &Actor) -> AppResult<member::Model> {
    actor.require(UserType::NonPracticingMember)?;
    let id = actor.member_id.ok_or(AppError::Forbidden)?;
    member::Entity::find_by_id(id).one(app.db.conn()).await?.ok_or(AppError::NotFound("会员"))
}

/// A member by certificate number, as staff look one up in a form: the
/// number parsed first (a malformed one is told as such), then one answer,
/// beside the field, whether it does not exist or is outside their scope.
pub async fn member_in_scope(app: &App, actor: &Actor, cert_no: &str) -> AppResult<member::Model> {
    let cert_no = MemberCertNo::parse(cert_no).map_err(|e| FieldErrors::one("cert_no", e))?;
    let found = member::Entity::find().filter(member::Column::CertNo.eq(cert_no.as_str())).one(app.db.conn()).await?;
    let scope = Scope::of(app, actor);
    found
        .filter(|m| {
            let filed = Filed {
                association_id: Some(m.association_id),
                city_association_id: m.city_association_id,
                member_id: Some(m.id),
                ..Filed::default()
            };
            scope.covers(&filed)
        })
        .ok_or_else(|| FieldErrors::one("cert_no", "本单位管辖范围内没有该会员编号的非执业会员"))
}

/// The profile of a member: the stored one, or, for members admitted before
/// profiles were collected, what their record holds.
pub fn profile_of(app: &App, m: &member::Model) -> AppResult<Profile> {
    if let Some(enc) = &m.profile_enc {
        return Ok(serde_json::from_str(&app.pii.decrypt(enc)?).map_err(anyhow::Error::from)?);
    }
    Ok(Profile {
        name: m.name.clone(),
        sex: m.sex.clone(),
        id_type: m.id_type.clone(),
        id_number: app.pii.decrypt(&m.id_number_enc)?,
        birth_date: Some(m.birth_date),
        region: app.orgs().get(m.association_id).map(|a| a.code.clone()).unwrap_or_default(),
        mobile: m.mobile_enc.as_deref().map(|e| app.pii.decrypt(e)).transpose()?.unwrap_or_default(),
        email: m.email.clone().unwrap_or_default(),
        work_unit: m.work_unit.clone().unwrap_or_default(),
        qualification_method: m.qualification_method.clone(),
        exam_cert_no: m.exam_cert_no.clone().unwrap_or_default(),
        exam_year: m.exam_year,
        ..Profile::default()
    })
}

pub struct Own {
    pub cert_no: String,
    pub association: String,
    pub admitted_on: chrono::NaiveDate,
    pub profile: Profile,
    /// Labels of the required fields still empty.
    pub missing: Vec<&'static str>,
}

/// 基本信息.
pub async fn load(app: &App, actor: &Actor) -> AppResult<Own> {
    let m = own(app, actor).await?;
    let profile = profile_of(app, &m)?;
    Ok(Own {
        missing: profile.missing(),
        cert_no: m.cert_no.to_string(),
        association: app.orgs().get(m.association_id).map_or_else(String::new, |a| a.name.clone()),
        admitted_on: m.admitted_on,
        profile,
    })
}

/// The completeness check for other workflows: the labels of the missing
/// required fields of member `member_id`.
pub async fn missing_fields(app: &App, member_id: i32) -> AppResult<Vec<&'static str>> {
    let m = member::Entity::find_by_id(member_id).one(app.db.conn()).await?.ok_or(AppError::NotFound("会员"))?;
    Ok(profile_of(app, &m)?.missing())
}

/// 修改信息: every rule of the form applies; the identifying fields keep their values.
pub async fn update(app: &App, actor: &Actor, mut changes: Profile) -> AppResult<()> {
    let m = own(app, actor).await?;
    let current = profile_of(app, &m)?;
    for key in LOCKED {
        changes.set(key, &current.get(key));
    }
    changes.approval_doc_no = current.approval_doc_no.clone();
    changes.approval_date = current.approval_date;
    let mut errors = FieldErrors::new();
    for (field, message) in changes.check(app.today()) {
        errors.add(field, message);
    }
    errors.into_result()?;
    let id = m.id;
    let txn = app.write().await?;
    let mut am: member::ActiveModel = m.into();
    am.mobile_enc = Set(Some(app.pii.encrypt(changes.mobile.trim())));
    am.mobile_digest = Set(Some(app.pii.digest(&changes.mobile)));
    am.email = Set(Some(changes.email.trim().to_owned()));
    am.work_unit = Set(Some(changes.work_unit.trim().to_owned()));
    am.exam_year = Set(changes.exam_year);
    am.profile_enc = Set(Some(app.pii.encrypt(&serde_json::to_string(&changes).map_err(anyhow::Error::from)?)));
    am.update(&txn).await?;
    audit::append(&txn, &actor.audit_name(), "profile_updated", &format!("member:{id}"), json!({ "at": app.now() }))
        .await?;
    txn.commit().await?;
    Ok(())
}
