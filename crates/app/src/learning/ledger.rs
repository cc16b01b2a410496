//! A learner's ledger (学时查询): every record of a year, where it came
//! from, and the total. The annual inspections read the same rows
//! (`member_inspection::learning::hours_of`, `cpa_check`), so there is one
//! source of hours.

use chrono::NaiveDate;
use cmis_domain::Hours;
use cmis_domain::learning::{Category, Form};
use cmis_store::entity::learning_record as rec;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;

use super::{institutes, learner_of};
use crate::error::AppResult;
use crate::{Actor, App};

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub hours: Hours,
    pub title: String,
    pub category: &'static str,
    pub form: &'static str,
    /// 来源: the institute, or the association.
    pub source: String,
    pub learned_on: Option<NaiveDate>,
    pub reversal: bool,
    pub reduction: bool,
}

/// The latest `SHOWN` records of a year of one's own ledger, newest first
/// (the hours done are `Summary::done`, summed over them all).
pub async fn mine(app: &App, actor: &Actor, year: i32) -> AppResult<Vec<Entry>> {
    learner_of(actor)?;
    let mut q = rec::Entity::find().filter(rec::Column::Year.eq(year));
    q = match (actor.cpa_id, actor.member_id) {
        (Some(c), _) => q.filter(rec::Column::CpaId.eq(c)),
        (None, Some(m)) => q.filter(rec::Column::MemberId.eq(m)),
        _ => return Ok(Vec::new()),
    };
    let names = institutes(app).await?;
    let rows = q.order_by_desc(rec::Column::Id).limit(SHOWN).all(app.db.conn()).await?;
    let entries = rows
        .into_iter()
        .map(|r| Entry {
            hours: Hours::from_hundredths(r.hours_x100),
            category: Category::parse(&r.category)
                .map_or_else(|_| crate::member_inspection::learning::category_label(&r.category), |c| c.label()),
            form: Form::parse(&r.form).map_or("", |f| f.label()),
            source: match r.institute_id {
                Some(id) => names.iter().find(|i| i.id == id).map_or_else(String::new, |i| i.name.clone()),
                None => "注协录入".to_owned(),
            },
            learned_on: r.learned_on.or(Some(crate::clock::date_of(r.created_at))),
            reversal: r.reverses_id.is_some(),
            reduction: r.kind == "reduction",
            title: r.title,
        })
        .collect();
    Ok(entries)
}

/// Records 学时查询 lists.
pub const SHOWN: u64 = 1000;

/// A learner's hours done in a year, summed by the database (the query the
/// benchmark times with 20 million records present).
pub async fn total<C: ConnectionTrait>(
    db: &C,
    cpa_id: Option<i32>,
    member_id: Option<i32>,
    year: i32,
) -> AppResult<Hours> {
    let mut q = rec::Entity::find()
        .select_only()
        // PostgreSQL sums a bigint as numeric: cast back.
        .column_as(sea_orm::sea_query::Expr::cust("CAST(SUM(hours_x100) AS BIGINT)"), "sum")
        .filter(rec::Column::Year.eq(year))
        .filter(rec::Column::Kind.eq("record"));
    q = match (cpa_id, member_id) {
        (Some(c), _) => q.filter(rec::Column::CpaId.eq(c)),
        (None, Some(m)) => q.filter(rec::Column::MemberId.eq(m)),
        _ => return Ok(Hours::ZERO),
    };
    let sum: Option<Option<i64>> = q.into_tuple().one(db).await?;
    Ok(Hours::from_hundredths(sum.flatten().unwrap_or(0)))
}

/// What 学时查询 shows above the records: the year's hours owed and done
/// (as the annual inspection counts them), 职业道德 hours, and what is on its
/// way: lessons evaluated and credited tomorrow, lessons waiting for 评价.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub required: Hours,
    pub done: Hours,
    pub ethics: Hours,
    /// Evaluated, credited by the next run.
    pub pending: Hours,
    /// Finished lessons without their 评价.
    pub to_evaluate: u64,
}

impl Summary {
    pub fn short(&self) -> Hours {
        self.required.saturating_sub(self.done)
    }
}

pub async fn summary(app: &App, actor: &Actor, year: i32) -> AppResult<Summary> {
    use cmis_store::entity::{cpa, lesson, lesson_progress as progress, member};
    use sea_orm::PaginatorTrait;
    learner_of(actor)?;
    let db = app.db.conn();
    let (required, done, ethics) = match (actor.cpa_id, actor.member_id) {
        (Some(id), _) => {
            let c = cpa::Entity::find_by_id(id).one(db).await?.ok_or(crate::AppError::NotFound("注册会计师"))?;
            let s = crate::cpa_check::settings::effective(app, c.association_id, year).await?;
            let h = crate::cpa_check::hours_of(db, &c, &s).await?;
            (h.required, h.done, ethics_of(db, Some(id), None, year).await?)
        }
        (None, Some(id)) => {
            let m = member::Entity::find_by_id(id).one(db).await?.ok_or(crate::AppError::NotFound("会员"))?;
            let h = crate::member_inspection::learning::hours_of(app, db, &m, year).await?;
            (h.required, h.done, h.ethics)
        }
        _ => (Hours::ZERO, Hours::ZERO, Hours::ZERO),
    };
    let mine = progress::Entity::find()
        .filter(progress::Column::UserId.eq(actor.user_id))
        .filter(progress::Column::Year.eq(year));
    let waiting: Vec<i32> = mine
        .clone()
        .filter(progress::Column::EvaluatedAt.is_not_null())
        .filter(progress::Column::RecordId.is_null())
        .select_only()
        .column(progress::Column::LessonId)
        .into_tuple()
        .all(db)
        .await?;
    let pending = lesson::Entity::find()
        .filter(lesson::Column::Id.is_in(waiting))
        .all(db)
        .await?
        .iter()
        .map(|l| Hours::from_hundredths(l.hours_x100))
        .sum();
    let to_evaluate = mine
        .filter(progress::Column::CompletedAt.is_not_null())
        .filter(progress::Column::EvaluatedAt.is_null())
        .count(db)
        .await?;
    Ok(Summary { required, done, ethics, pending, to_evaluate })
}

async fn ethics_of<C: ConnectionTrait>(
    db: &C,
    cpa_id: Option<i32>,
    member_id: Option<i32>,
    year: i32,
) -> AppResult<Hours> {
    let mut q = rec::Entity::find()
        .filter(rec::Column::Year.eq(year))
        .filter(rec::Column::Kind.eq("record"))
        .filter(rec::Column::Category.eq("ethics"));
    q = match (cpa_id, member_id) {
        (Some(c), _) => q.filter(rec::Column::CpaId.eq(c)),
        (None, Some(m)) => q.filter(rec::Column::MemberId.eq(m)),
        _ => return Ok(Hours::ZERO),
    };
    Ok(q.all(db).await?.iter().map(|r| Hours::from_hundredths(r.hours_x100)).sum())
}
