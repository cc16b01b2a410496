//! What institutes and associations see of learners: an institute its
//! learners of a year with their progress, the completions and 评价 of each
//! lesson, and an Excel export; an association its members' and CPAs'
//! choices and progress (在线学习情况), where it can 解除锁定.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use cmis_domain::Hours;
use cmis_store::entity::{
    course, learning_choice as choice_row, learning_record as rec, lesson_progress as progress, user,
};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Statement,
};
use serde::Serialize;
use serde_json::json;

use super::{institutes, own_institute};
use crate::error::AppResult;
use crate::page::{self, Page};
use crate::scope::{Permission, Scope};
use crate::{Actor, App, audit};

pub const PAGE_SIZE: u64 = 20;
pub const MAX_EXPORT_ROWS: u64 = 200_000;

#[derive(Debug, Clone, Serialize)]
pub struct LearnerRow {
    pub choice_id: i32,
    pub name: String,
    pub number: String,
    pub learner: &'static str,
    pub institute: String,
    pub association: String,
    pub chosen_at: DateTime<Utc>,
    pub released: bool,
    pub completed: i64,
    pub evaluated: i64,
    pub credited: Hours,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct LearnerFilter {
    #[serde(default)]
    pub year: Option<i32>,
    /// 姓名 or 证书编号.
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub page: u64,
}

/// Choices read back at a time (a page is 20; the export up to 200,000).
const ROWS_AT_ONCE: usize = 1000;

/// The rows of `choices`: their learners, and their progress and hours
/// counted by the database, a few grouped queries for each thousand.
async fn rows(app: &App, choices: Vec<choice_row::Model>) -> AppResult<Vec<LearnerRow>> {
    let db = app.db.conn();
    let names = institutes(app).await?;
    let mut out = Vec::with_capacity(choices.len());
    for chunk in choices.chunks(ROWS_AT_ONCE) {
        let user_ids: Vec<i32> = chunk.iter().map(|c| c.user_id).collect();
        let mut years: Vec<i32> = chunk.iter().map(|c| c.year).collect();
        years.sort_unstable();
        years.dedup();
        let users: HashMap<i32, user::Model> = user::Entity::find()
            .filter(user::Column::Id.is_in(user_ids.clone()))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        // Lessons finished and evaluated, by learner, institute and year.
        let progressed: HashMap<(i32, i32, i32), (i64, i64)> = progress::Entity::find()
            .select_only()
            .column(progress::Column::UserId)
            .column(progress::Column::InstituteId)
            .column(progress::Column::Year)
            .column_as(Expr::from(Func::count(Expr::col(progress::Column::CompletedAt))), "completed")
            .column_as(Expr::from(Func::count(Expr::col(progress::Column::EvaluatedAt))), "evaluated")
            .filter(progress::Column::UserId.is_in(user_ids))
            .filter(progress::Column::Year.is_in(years.clone()))
            .group_by(progress::Column::UserId)
            .group_by(progress::Column::InstituteId)
            .group_by(progress::Column::Year)
            .into_tuple::<(i32, i32, i32, i64, i64)>()
            .all(db)
            .await?
            .into_iter()
            .map(|(u, i, y, c, e)| ((u, i, y), (c, e)))
            .collect();
        // Hours in the ledger from the institute (its lessons credited, its
        // platform's records), by learner, institute and year.
        let cpas: Vec<i32> = users.values().filter_map(|u| u.cpa_id).collect();
        let members: Vec<i32> = users.values().filter_map(|u| u.member_id).collect();
        let recorded = |column: rec::Column, ids: Vec<i32>| {
            rec::Entity::find()
                .select_only()
                .column(column)
                .column(rec::Column::InstituteId)
                .column(rec::Column::Year)
                // PostgreSQL sums a bigint as numeric: cast back.
                .column_as(Expr::cust("CAST(SUM(hours_x100) AS BIGINT)"), "hours")
                .filter(column.is_in(ids))
                .filter(rec::Column::Year.is_in(years.clone()))
                .filter(rec::Column::InstituteId.is_not_null())
                .group_by(column)
                .group_by(rec::Column::InstituteId)
                .group_by(rec::Column::Year)
                .into_tuple::<(i32, i32, i32, i64)>()
        };
        let by_cpa: HashMap<(i32, i32, i32), i64> =
            recorded(rec::Column::CpaId, cpas).all(db).await?.into_iter().map(|(l, i, y, h)| ((l, i, y), h)).collect();
        let by_member: HashMap<(i32, i32, i32), i64> = recorded(rec::Column::MemberId, members)
            .all(db)
            .await?
            .into_iter()
            .map(|(l, i, y, h)| ((l, i, y), h))
            .collect();
        for c in chunk {
            let u = users.get(&c.user_id);
            let (completed, evaluated) =
                progressed.get(&(c.user_id, c.institute_id, c.year)).copied().unwrap_or_default();
            let hours = match (u.and_then(|u| u.cpa_id), u.and_then(|u| u.member_id)) {
                (Some(cpa), _) => by_cpa.get(&(cpa, c.institute_id, c.year)),
                (None, Some(member)) => by_member.get(&(member, c.institute_id, c.year)),
                (None, None) => None,
            };
            out.push(LearnerRow {
                choice_id: c.id,
                name: u.map_or_else(String::new, |u| u.display_name.clone()),
                number: u.map_or_else(String::new, |u| u.login_name.clone()),
                learner: if u.is_some_and(|u| u.cpa_id.is_some()) { "执业会员" } else { "非执业会员" },
                institute: names.iter().find(|i| i.id == c.institute_id).map_or_else(String::new, |i| i.name.clone()),
                association: app.orgs().get(c.association_id).map_or_else(String::new, |a| a.name.clone()),
                chosen_at: c.chosen_at,
                released: c.released_at.is_some(),
                completed,
                evaluated,
                credited: Hours::from_hundredths(hours.copied().unwrap_or(0)),
            });
        }
    }
    Ok(out)
}

fn search(q: &str) -> Option<Condition> {
    let q = q.trim();
    (!q.is_empty()).then(|| {
        let like = format!("%{}%", q.replace(['%', '_'], ""));
        let users = sea_orm::sea_query::Query::select()
            .column(user::Column::Id)
            .from(user::Entity)
            .cond_where(Condition::any().add(user::Column::DisplayName.like(&like)).add(user::Column::LoginName.eq(q)))
            .to_owned();
        Condition::all().add(choice_row::Column::UserId.in_subquery(users))
    })
}

/// 学员学习情况: the institute's learners of a year.
pub async fn institute_learners(app: &App, actor: &Actor, f: &LearnerFilter, year: i32) -> AppResult<Page<LearnerRow>> {
    let id = own_institute(actor)?;
    let q = choice_row::Entity::find()
        .filter(choice_row::Column::InstituteId.eq(id))
        .filter(choice_row::Column::Year.eq(f.year.unwrap_or(year)))
        .filter(choice_row::Column::ReleasedAt.is_null())
        .apply_if(search(&f.q), |q, c| q.filter(c))
        .order_by_desc(choice_row::Column::Id);
    let p = page::fetch(app.db.conn(), q, f.page, PAGE_SIZE).await?;
    let items = rows(app, p.items).await?;
    Ok(Page { items, page: p.page, pages: p.pages, total: p.total })
}

/// 在线学习情况: the association's learners' choices and progress.
pub async fn association_learners(
    app: &App,
    actor: &Actor,
    f: &LearnerFilter,
    year: i32,
) -> AppResult<Page<LearnerRow>> {
    Permission::LearningChoices.require(actor)?;
    let scope = Scope::of(app, actor);
    let q = choice_row::Entity::find()
        .filter(choice_row::Column::Year.eq(f.year.unwrap_or(year)))
        .apply_if(
            scope.association_condition(choice_row::Column::AssociationId, Some(choice_row::Column::CityAssociationId)),
            |q, c| q.filter(c),
        )
        .apply_if(search(&f.q), |q, c| q.filter(c))
        .order_by_desc(choice_row::Column::Id);
    let p = page::fetch(app.db.conn(), q, f.page, PAGE_SIZE).await?;
    let items = rows(app, p.items).await?;
    Ok(Page { items, page: p.page, pages: p.pages, total: p.total })
}

/// One lesson's completions and 评价.
#[derive(Debug, Clone, Serialize)]
pub struct LessonRating {
    pub course: String,
    pub lesson: String,
    pub completed: i64,
    pub evaluated: i64,
    /// Average rating in hundredths (4.50 is 450); None without a 评价.
    pub average_x100: Option<i64>,
}

impl LessonRating {
    pub fn average(&self) -> String {
        self.average_x100.map_or_else(|| "—".to_owned(), |a| format!("{}.{:02}", a / 100, a % 100))
    }
}

/// 课程评价: each lesson of the year's courses, counted by the database.
pub async fn ratings(app: &App, actor: &Actor, year: i32) -> AppResult<Vec<LessonRating>> {
    let id = own_institute(actor)?;
    let db = app.db.conn();
    let backend = db.get_database_backend();
    let counted = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            "SELECT lesson_id, COUNT(completed_at) AS completed, COUNT(evaluated_at) AS evaluated, \
             CAST(COALESCE(SUM(rating), 0) AS BIGINT) AS rating_sum FROM lesson_progress \
             WHERE institute_id = $1 AND year = $2 GROUP BY lesson_id",
            [id.into(), year.into()],
        ))
        .await?;
    let mut by_lesson: HashMap<i32, (i64, i64, i64)> = HashMap::new();
    for r in counted {
        by_lesson.insert(
            r.try_get("", "lesson_id")?,
            (r.try_get("", "completed")?, r.try_get("", "evaluated")?, r.try_get("", "rating_sum")?),
        );
    }
    let courses = course::Entity::find()
        .filter(course::Column::InstituteId.eq(id))
        .filter(course::Column::Year.eq(year))
        .order_by_asc(course::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::new();
    for c in courses {
        for l in super::catalogue::lessons_of(db, c.id).await? {
            let (completed, evaluated, sum) = by_lesson.get(&l.id).copied().unwrap_or_default();
            out.push(LessonRating {
                course: c.title.clone(),
                lesson: l.title,
                completed,
                evaluated,
                average_x100: (evaluated > 0).then(|| sum * 100 / evaluated),
            });
        }
    }
    Ok(out)
}

/// 导出Excel: the institute's learners of a year.
pub async fn export(app: &App, actor: &Actor, year: i32) -> AppResult<(String, Vec<u8>)> {
    let id = own_institute(actor)?;
    let choices = choice_row::Entity::find()
        .filter(choice_row::Column::InstituteId.eq(id))
        .filter(choice_row::Column::Year.eq(year))
        .filter(choice_row::Column::ReleasedAt.is_null())
        .order_by_asc(choice_row::Column::Id)
        .limit(MAX_EXPORT_ROWS)
        .all(app.db.conn())
        .await?;
    let rows = rows(app, choices).await?;
    let n = rows.len();
    let bytes = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.set_name("学员学习情况")?;
        let header = ["姓名", "证书编号", "会员类型", "所属注协", "选择时间", "已学完课时", "已评价课时", "已记录学时"];
        for (c, h) in header.iter().enumerate() {
            sheet.write_string(0, c as u16, *h)?;
        }
        for (i, r) in rows.iter().enumerate() {
            let at = r.chosen_at.with_timezone(&crate::clock::cst()).format("%Y-%m-%d %H:%M").to_string();
            let cells = [
                r.name.clone(),
                r.number.clone(),
                r.learner.to_owned(),
                r.association.clone(),
                at,
                r.completed.to_string(),
                r.evaluated.to_string(),
                r.credited.to_string(),
            ];
            for (c, v) in cells.iter().enumerate() {
                sheet.write_string(i as u32 + 1, c as u16, v)?;
            }
        }
        sheet.set_column_width(0, 10)?;
        sheet.set_column_width(1, 16)?;
        sheet.set_column_width(3, 22)?;
        sheet.set_column_width(4, 18)?;
        Ok(book.save_to_buffer()?)
    })
    .await
    .map_err(anyhow::Error::from)??;
    audit::record(
        app,
        &actor.audit_name(),
        "institute_learners_exported",
        "learning_choices",
        json!({ "year": year, "rows": n }),
    )
    .await?;
    Ok((format!("{year}年度学员学习情况.xlsx"), bytes))
}
