//! 继续教育, part 1 (seed 004 chapters 1–2): online learning with the
//! national accounting institutes, and the hours ledger it feeds.
//!
//! - `catalogue`: the institutes' staff keep their courses and lessons.
//! - `study`: a learner chooses one institute a year (当年不可更改), studies
//!   required courses before electives, and 评价s each finished lesson.
//! - `fees`: a non-practicing member pays a course's fee first (交费).
//! - `credit`: the next day's run puts evaluated lessons into the ledger.
//! - `records`: institutes' own platforms post records, signed.
//! - `reports`: what institutes and associations see of their learners.
//! - `ledger`: a learner's records and hours, the one source of hours.

pub mod catalogue;
pub mod catalogue_import;
pub mod credit;
pub mod fees;
pub mod ledger;
pub mod records;
pub mod reports;
pub mod study;

use cmis_domain::learning::Learner;
use cmis_store::entity::institute as row;
use sea_orm::{EntityTrait, QueryOrder};
use serde::Serialize;

use crate::error::{AppError, AppResult};
use crate::scope::Permission;
use crate::{Actor, App};

#[derive(Debug, Clone, Serialize)]
pub struct Institute {
    pub id: i32,
    pub code: String,
    pub name: String,
    pub phone: String,
}

impl From<row::Model> for Institute {
    fn from(r: row::Model) -> Institute {
        Institute { id: r.id, code: r.code, name: r.name, phone: r.phone }
    }
}

/// The three national accounting institutes, in their order.
pub async fn institutes(app: &App) -> AppResult<Vec<Institute>> {
    Ok(row::Entity::find()
        .order_by_asc(row::Column::Id)
        .all(app.db.conn())
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

pub async fn institute(app: &App, id: i32) -> AppResult<Institute> {
    Ok(row::Entity::find_by_id(id).one(app.db.conn()).await?.ok_or(AppError::NotFound("国家会计学院"))?.into())
}

/// The institute of a code (bnai, snai, xnai).
pub async fn institute_by_code(app: &App, code: &str) -> AppResult<Institute> {
    use sea_orm::{ColumnTrait, QueryFilter};
    Ok(row::Entity::find()
        .filter(row::Column::Code.eq(code))
        .one(app.db.conn())
        .await?
        .ok_or(AppError::NotFound("国家会计学院"))?
        .into())
}

/// An operator adds a staff account of an institute; the initial password
/// it returns must be changed at the first login.
pub async fn add_staff(app: &App, by: &str, code: &str, login: &str, name: &str) -> AppResult<String> {
    use cmis_domain::UserType;
    use cmis_store::entity::user;
    use sea_orm::{ActiveModelTrait, Set};
    let inst = institute_by_code(app, code).await?;
    let login = login.trim();
    if login.len() < 4 || login.len() > 32 || !login.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(AppError::Refused("账号应为4至32位字母、数字或下划线".into()));
    }
    let txn = app.write().await?;
    user::ActiveModel {
        user_type: Set(UserType::InstituteStaff.code().into()),
        login_name: Set(login.to_owned()),
        display_name: Set(if name.trim().is_empty() { inst.name.clone() } else { name.trim().to_owned() }),
        // No password can match until the initial one is issued below.
        password_hash: Set("!".into()),
        must_change_password: Set(true),
        association_id: Set(app.orgs().national().id),
        institute_id: Set(Some(inst.id)),
        disabled: Set(false),
        created_at: Set(txn.now()),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => AppError::Refused("该账号已存在".into()),
        _ => e.into(),
    })?;
    crate::audit::append(
        &txn,
        by,
        "institute_staff_added",
        &format!("institute:{}", inst.code),
        serde_json::json!({ "login": login }),
    )
    .await?;
    txn.commit().await?;
    crate::auth::issue_initial_password(app, by, UserType::InstituteStaff, login).await
}

/// The institute an institute's staff member works for.
pub fn own_institute(actor: &Actor) -> AppResult<i32> {
    Permission::TeachCourses.require(actor)?;
    actor.institute_id.ok_or(AppError::Forbidden)
}

/// Who studies: a practicing CPA or a non-practicing member.
pub fn learner_of(actor: &Actor) -> AppResult<Learner> {
    Permission::StudyOnline.require(actor)?;
    match (actor.cpa_id, actor.member_id) {
        (Some(_), _) => Ok(Learner::Cpa),
        (None, Some(_)) => Ok(Learner::Member),
        _ => Err(AppError::Forbidden),
    }
}

/// The year of continuing education: the calendar year, in China.
pub fn year_of(app: &App) -> i32 {
    use chrono::Datelike;
    app.today().year()
}

/// Yuan as shown, from cents.
pub fn yuan(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}
