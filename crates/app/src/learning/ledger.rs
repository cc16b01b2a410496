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

/// A year of one's own ledger, newest first, and its hours done.
pub async fn mine(app: &App, actor: &Actor, year: i32) -> AppResult<(Vec<Entry>, Hours)> {
    learner_of(actor)?;
    let mut q = rec::Entity::find().filter(rec::Column::Year.eq(year));
    q = match (actor.cpa_id, actor.member_id) {
        (Some(c), _) => q.filter(rec::Column::CpaId.eq(c)),
        (None, Some(m)) => q.filter(rec::Column::MemberId.eq(m)),
        _ => return Ok((Vec::new(), Hours::ZERO)),
    };
    let names = institutes(app).await?;
    let rows = q.order_by_desc(rec::Column::Id).limit(1000).all(app.db.conn()).await?;
    let entries: Vec<Entry> = rows
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
    let total = entries.iter().filter(|e| !e.reduction).map(|e| e.hours).sum();
    Ok((entries, total))
}

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
