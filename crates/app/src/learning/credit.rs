//! 学时入账: lessons evaluated before a day begins are credited to their
//! learners' ledger by that day's run (seed 004 §1.6: 第二天可查询学时情况).
//! Each lesson becomes one record whose id is `study:{progress}` under its
//! institute, so a run repeated — by the schedule, by CICPA's 立即入账, on
//! two instances at once — credits nothing twice. A day's run is kept with
//! its counts.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use cmis_domain::Hours;
use cmis_store::entity::{
    course, learning_credit_run as run_row, learning_record, lesson, lesson_progress as progress, user,
};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement};
use serde::Serialize;
use serde_json::json;

use crate::clock::{cst, date_of};
use crate::error::AppResult;
use crate::page::{self, Page};
use crate::scope::Permission;
use crate::{Actor, App, audit};

/// Lessons credited in one transaction.
const CHUNK: u64 = 500;
pub const PAGE_SIZE: u64 = 20;

/// The instant a day begins in China.
pub fn start_of(day: NaiveDate) -> DateTime<Utc> {
    cst().from_local_datetime(&day.and_time(NaiveTime::MIN)).single().expect("CST has no gaps").to_utc()
}

#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub day: NaiveDate,
    pub runs: i32,
    pub credited: i64,
    pub hours: Hours,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub run_by: String,
}

impl Run {
    /// 执行人 as staff read it: the scheduled job, a staff login, or the
    /// command line and its system user.
    pub fn by_label(&self) -> String {
        match self.run_by.split_once(':') {
            None if self.run_by == "system" => "系统定时".to_owned(),
            Some(("staff", login)) => login.to_owned(),
            Some(("cli", "")) => "命令行".to_owned(),
            Some(("cli", user)) => format!("命令行（{user}）"),
            _ => self.run_by.clone(),
        }
    }
}

/// Credits every lesson evaluated before `day` began and not credited yet;
/// returns how many lessons and hours this run credited.
pub async fn run(app: &App, day: NaiveDate, by: &str) -> AppResult<(u64, Hours)> {
    let started = app.now();
    let cutoff = start_of(day);
    let mut after = 0;
    let mut credited = 0u64;
    let mut hours = Hours::ZERO;
    loop {
        let batch = progress::Entity::find()
            .filter(progress::Column::RecordId.is_null())
            .filter(progress::Column::EvaluatedAt.lt(cutoff))
            .filter(progress::Column::Id.gt(after))
            .order_by_asc(progress::Column::Id)
            .limit(CHUNK)
            .all(app.db.conn())
            .await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        let (n, h) = credit(app, &batch).await?;
        credited += n;
        hours = hours + h;
    }
    let db = app.db.conn();
    let backend = db.get_database_backend();
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        "INSERT INTO learning_credit_runs (day, runs, credited, hours_x100, started_at, finished_at, run_by) \
         VALUES ($1, 1, $2, $3, $4, $5, $6) ON CONFLICT (day) DO UPDATE SET \
         runs = learning_credit_runs.runs + 1, credited = learning_credit_runs.credited + excluded.credited, \
         hours_x100 = learning_credit_runs.hours_x100 + excluded.hours_x100, \
         finished_at = excluded.finished_at, run_by = excluded.run_by",
        [
            day.into(),
            (credited as i64).into(),
            hours.hundredths().into(),
            started.into(),
            app.now().into(),
            by.to_owned().into(),
        ],
    ))
    .await?;
    if credited > 0 {
        tracing::info!(%day, credited, "learning hours credited");
    }
    Ok((credited, hours))
}

/// One chunk in one transaction: a record per lesson (none if its id is
/// there already), and the progress pointed at it.
async fn credit(app: &App, batch: &[progress::Model]) -> AppResult<(u64, Hours)> {
    let db = app.db.conn();
    let lesson_ids: Vec<i32> = batch.iter().map(|p| p.lesson_id).collect();
    let lessons: HashMap<i32, lesson::Model> = lesson::Entity::find()
        .filter(lesson::Column::Id.is_in(lesson_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect();
    let course_ids: Vec<i32> = batch.iter().map(|p| p.course_id).collect();
    let courses: HashMap<i32, course::Model> = course::Entity::find()
        .filter(course::Column::Id.is_in(course_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let user_ids: Vec<i32> = batch.iter().map(|p| p.user_id).collect();
    let users: HashMap<i32, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(user_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let txn = app.write().await?;
    let now = txn.now();
    let mut n = 0;
    let mut hours = Hours::ZERO;
    for p in batch {
        let (Some(l), Some(c), Some(u)) = (lessons.get(&p.lesson_id), courses.get(&p.course_id), users.get(&p.user_id))
        else {
            continue;
        };
        if u.member_id.is_none() && u.cpa_id.is_none() {
            continue;
        }
        let external = format!("study:{}", p.id);
        let inserted = learning_record::Entity::insert(learning_record::ActiveModel {
            member_id: Set(u.member_id.filter(|_| u.cpa_id.is_none())),
            cpa_id: Set(u.cpa_id),
            year: Set(p.year),
            kind: Set("record".into()),
            hours_x100: Set(l.hours_x100),
            category: Set(c.category.clone()),
            title: Set(format!("{}：{}", c.title, l.title)),
            source: Set("study".into()),
            recorded_by: Set("learning-credit".into()),
            created_at: Set(now),
            form: Set(c.form.clone()),
            institute_id: Set(Some(p.institute_id)),
            external_id: Set(Some(external.clone())),
            learned_on: Set(p.evaluated_at.map(date_of)),
            reverses_id: Set(None),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([learning_record::Column::InstituteId, learning_record::Column::ExternalId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        let record: Option<i32> = learning_record::Entity::find()
            .select_only()
            .column(learning_record::Column::Id)
            .filter(learning_record::Column::InstituteId.eq(p.institute_id))
            .filter(learning_record::Column::ExternalId.eq(external))
            .into_tuple()
            .one(&txn)
            .await?;
        progress::Entity::update_many()
            .col_expr(progress::Column::RecordId, Expr::value(record))
            .filter(progress::Column::Id.eq(p.id))
            .filter(progress::Column::RecordId.is_null())
            .exec(&txn)
            .await?;
        if inserted == 1 {
            n += 1;
            hours = hours + Hours::from_hundredths(l.hours_x100);
        }
    }
    txn.commit().await?;
    Ok((n, hours))
}

/// The scheduled run: once a day, the first sweep after midnight.
pub async fn run_due(app: &App) -> AppResult<u64> {
    let today = app.today();
    let done = run_row::Entity::find().filter(run_row::Column::Day.eq(today)).one(app.db.conn()).await?.is_some();
    if done {
        return Ok(0);
    }
    Ok(run(app, today, "system").await?.0)
}

/// 立即入账: CICPA runs today's crediting again (it credits what the
/// scheduled run has not, nothing twice).
pub async fn run_now(app: &App, actor: &Actor) -> AppResult<(u64, Hours)> {
    Permission::CreditLearning.require(actor)?;
    let day = app.today();
    let (n, h) = run(app, day, &actor.audit_name()).await?;
    audit::record(
        app,
        &actor.audit_name(),
        "learning_credit_run",
        "learning_credit_runs",
        json!({ "day": day, "credited": n }),
    )
    .await?;
    Ok((n, h))
}

/// 学时入账记录, newest first.
pub async fn runs(app: &App, actor: &Actor, page_no: u64) -> AppResult<Page<Run>> {
    Permission::CreditLearning.require(actor)?;
    let q = run_row::Entity::find().order_by_desc(run_row::Column::Day);
    Ok(page::fetch(app.db.conn(), q, page_no, PAGE_SIZE).await?.map(|r| Run {
        day: r.day,
        runs: r.runs,
        credited: r.credited,
        hours: Hours::from_hundredths(r.hours_x100),
        started_at: r.started_at,
        finished_at: r.finished_at,
        run_by: r.run_by,
    }))
}

/// Lessons evaluated and waiting for the next run.
pub async fn waiting(app: &App, actor: &Actor) -> AppResult<u64> {
    Permission::CreditLearning.require(actor)?;
    use sea_orm::PaginatorTrait;
    Ok(progress::Entity::find()
        .filter(progress::Column::RecordId.is_null())
        .filter(progress::Column::EvaluatedAt.is_not_null())
        .count(app.db.conn())
        .await?)
}
