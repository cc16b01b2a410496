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
