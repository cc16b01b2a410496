//! 在线学习 (seed 004 §1.2–1.5, §2.3–2.6): the learner chooses one
//! institute for the year — 每年只能选择一家会计学院进行学习，当年不可更改 —
//! and studies its courses for their audience: required courses first
//! (需先完成必修课程，才可以学习选修课程), one lesson at a time, progress
//! counted from the player by the time that passed (skipping ahead earns
//! nothing, a second tab earns nothing), and every finished lesson 评价'd:
//! 未进行评价的学时数将暂时不记录在系统. The hours reach the ledger the
//! next day (`credit`).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use cmis_domain::Hours;
use cmis_domain::learning::{self as rules, Audience, CourseKind, CourseState, Evaluation, Learner, TAB_HOLD_SECS};
use cmis_store::entity::{course, course_payment, learning_choice as choice_row, lesson, lesson_progress as progress};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder, Set,
    Statement,
};
use serde::Serialize;
use serde_json::json;

use super::catalogue::{Course, Lesson};
use super::{Institute, institute, learner_of, year_of};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::scope::{Filed, Permission, Scope};
use crate::{Actor, App, audit, messages};

/// The seed's warning, shown before the choice is made.
pub const WARNING: &str = "每年只能选择一家会计学院进行学习，当年不可更改。";
pub const EVALUATE_FIRST: &str = "每节课学习完都须进行“评价”，未进行评价的学时数将暂时不记录在系统。";

#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    pub id: i32,
    pub year: i32,
    pub institute: Institute,
    pub chosen_at: DateTime<Utc>,
}

async fn standing<C: ConnectionTrait>(db: &C, user_id: i32, year: i32) -> AppResult<Option<choice_row::Model>> {
    Ok(choice_row::Entity::find()
        .filter(choice_row::Column::UserId.eq(user_id))
        .filter(choice_row::Column::Year.eq(year))
        .filter(choice_row::Column::ReleasedAt.is_null())
        .one(db)
        .await?)
}

/// The learner's institute of `year`, if chosen.
pub async fn choice_of(app: &App, actor: &Actor, year: i32) -> AppResult<Option<Choice>> {
    learner_of(actor)?;
    match standing(app.db.conn(), actor.user_id, year).await? {
        Some(c) => Ok(Some(Choice {
            id: c.id,
            year,
            institute: institute(app, c.institute_id).await?,
            chosen_at: c.chosen_at,
        })),
        None => Ok(None),
    }
}

/// 选择 an institute for this year: once; a second choice is refused
/// (the unique index decides, so two at once make one).
pub async fn choose(app: &App, actor: &Actor, institute_id: i32) -> AppResult<Choice> {
    learner_of(actor)?;
    let year = year_of(app);
    let inst = institute(app, institute_id).await?;
    let city = city_of(app, actor).await?;
    let txn = app.write().await?;
    if let Some(c) = standing(&txn, actor.user_id, year).await? {
        let chosen = institute(app, c.institute_id).await?;
        return Err(AppError::Refused(format!("您已选择{}作为{year}年度的学习机构，当年不可更改", chosen.name)));
    }
    let m = choice_row::ActiveModel {
        user_id: Set(actor.user_id),
        year: Set(year),
        institute_id: Set(inst.id),
        association_id: Set(actor.association_id),
        city_association_id: Set(city),
        chosen_at: Set(txn.now()),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            AppError::Refused(format!("您已选择{year}年度的学习机构，当年不可更改"))
        }
        _ => e.into(),
    })?;
    audit::append(
        &txn,
        &actor.audit_name(),
        "learning_institute_chosen",
        &format!("learning_choice:{}", m.id),
        json!({ "year": year, "institute": inst.code }),
    )
    .await?;
    txn.commit().await?;
    Ok(Choice { id: m.id, year, institute: inst, chosen_at: m.chosen_at })
}

/// The learner's city association, as their CPA or member record has it.
async fn city_of(app: &App, actor: &Actor) -> AppResult<Option<i32>> {
    use cmis_store::entity::{cpa, member};
    Ok(match (actor.cpa_id, actor.member_id) {
        (Some(id), _) => cpa::Entity::find_by_id(id).one(app.db.conn()).await?.and_then(|c| c.city_association_id),
        (None, Some(id)) => {
            member::Entity::find_by_id(id).one(app.db.conn()).await?.and_then(|m| m.city_association_id)
        }
        (None, None) => None,
    })
}

/// 解除锁定: the association lets a learner choose again this year, with a reason.
pub async fn release(app: &App, actor: &Actor, choice_id: i32, reason: &str) -> AppResult<()> {
    Permission::ReleaseLearningChoices.require(actor)?;
    let c =
        choice_row::Entity::find_by_id(choice_id).one(app.db.conn()).await?.ok_or(AppError::NotFound("选课记录"))?;
    let filed = Filed {
        association_id: Some(c.association_id),
        city_association_id: c.city_association_id,
        ..Filed::default()
    };
    Scope::of(app, actor).check(&filed, "选课记录")?;
    let reason = reason.trim();
    if reason.is_empty() || cmis_domain::text::check(reason, 200, true).is_err() {
        return Err(FieldErrors::one("reason", "请填写解除锁定的原因（不超过200字）"));
    }
    let txn = app.write().await?;
    let r = choice_row::Entity::update_many()
        .col_expr(choice_row::Column::ReleasedAt, Expr::value(txn.now()))
        .col_expr(choice_row::Column::ReleasedBy, Expr::value(actor.audit_name()))
        .col_expr(choice_row::Column::ReleaseReason, Expr::value(reason))
        .filter(choice_row::Column::Id.eq(choice_id))
        .filter(choice_row::Column::ReleasedAt.is_null())
        .exec(&txn)
        .await?;
    if r.rows_affected == 0 {
        return Err(AppError::Refused("该选择已解除锁定".into()));
    }
    audit::append(
        &txn,
        &actor.audit_name(),
        "learning_choice_released",
        &format!("learning_choice:{choice_id}"),
        json!({ "reason": reason }),
    )
    .await?;
    messages::send(
        &txn,
        c.user_id,
        &format!("{}年度学习机构已解除锁定", c.year),
        &format!(
            "{}已解除您{}年度所选国家会计学院的锁定，原因：{reason}。请在“在线学习”中重新选择。",
            actor.acting_unit(),
            c.year
        ),
        Some("/learning"),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Where a learner stands in a lesson.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LessonState {
    NotStarted,
    Studying,
    /// Finished, waiting for its 评价: the hours are not recorded yet.
    ToEvaluate,
    /// Evaluated: credited the next day.
    Evaluated,
    Credited,
}

impl LessonState {
    pub fn label(self) -> &'static str {
        match self {
            LessonState::NotStarted => "未开始",
            LessonState::Studying => "学习中",
            LessonState::ToEvaluate => "待评价",
            LessonState::Evaluated => "已评价，次日记录学时",
            LessonState::Credited => "学时已记录",
        }
    }

    fn of(p: Option<&progress::Model>) -> LessonState {
        match p {
            None => LessonState::NotStarted,
            Some(p) if p.record_id.is_some() => LessonState::Credited,
            Some(p) if p.evaluated_at.is_some() => LessonState::Evaluated,
            Some(p) if p.completed_at.is_some() => LessonState::ToEvaluate,
            Some(_) => LessonState::Studying,
        }
    }

    /// Done as the order of courses counts it: evaluated.
    pub fn done(self) -> bool {
        matches!(self, LessonState::Evaluated | LessonState::Credited)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LessonRow {
    pub lesson: Lesson,
    pub state: LessonState,
    pub reached_secs: i32,
}

impl LessonRow {
    pub fn percent(&self) -> i32 {
        if self.lesson.duration_secs == 0 { 0 } else { (self.reached_secs * 100 / self.lesson.duration_secs).min(100) }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CourseCard {
    pub course: Course,
    pub lessons: Vec<LessonRow>,
    /// A member has a fee to pay before studying.
    pub fee_due: bool,
    /// An elective while required courses are unfinished.
    pub locked: bool,
}

impl CourseCard {
    pub fn hours(&self) -> Hours {
        self.lessons.iter().map(|l| l.lesson.hours).sum()
    }
    pub fn done(&self) -> usize {
        self.lessons.iter().filter(|l| l.state.done()).count()
    }
    pub fn finished(&self) -> bool {
        !self.lessons.is_empty() && self.done() == self.lessons.len()
    }
    pub fn started(&self) -> bool {
        self.lessons.iter().any(|l| l.state != LessonState::NotStarted)
    }
    pub fn to_evaluate(&self) -> usize {
        self.lessons.iter().filter(|l| l.state == LessonState::ToEvaluate).count()
    }
}

/// The chosen institute's catalogue for the learner, with their progress.
#[derive(Debug, Clone, Serialize)]
pub struct Catalogue {
    pub choice: Choice,
    pub learner: &'static str,
    pub required: Vec<CourseCard>,
    pub electives: Vec<CourseCard>,
}

impl Catalogue {
    /// 必修课程, then 选修课程.
    pub fn sections(&self) -> [(&'static str, &[CourseCard]); 2] {
        [("必修课程", &self.required), ("选修课程", &self.electives)]
    }

    pub fn required_left(&self) -> usize {
        self.required.iter().filter(|c| !c.finished()).count()
    }
}

/// The catalogue of the year's choice; None before a choice.
pub async fn catalogue(app: &App, actor: &Actor) -> AppResult<Option<Catalogue>> {
    let learner = learner_of(actor)?;
    let Some(choice) = choice_of(app, actor, year_of(app)).await? else { return Ok(None) };
    let (required, electives) = cards(app, actor, learner, &choice).await?;
    let label = if learner == Learner::Cpa { "执业会员" } else { "非执业会员" };
    Ok(Some(Catalogue { choice, learner: label, required, electives }))
}

async fn cards(
    app: &App,
    actor: &Actor,
    learner: Learner,
    choice: &Choice,
) -> AppResult<(Vec<CourseCard>, Vec<CourseCard>)> {
    let db = app.db.conn();
    let courses = course::Entity::find()
        .filter(course::Column::InstituteId.eq(choice.institute.id))
        .filter(course::Column::Year.eq(choice.year))
        .filter(course::Column::State.eq(CourseState::Published.code()))
        .filter(course::Column::Audience.is_in(Audience::of(learner).map(|a| a.code())))
        .order_by_asc(course::Column::Sort)
        .order_by_asc(course::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i32> = courses.iter().map(|c| c.id).collect();
    let mut lessons: HashMap<i32, Vec<Lesson>> = HashMap::new();
    for l in lesson::Entity::find()
        .filter(lesson::Column::CourseId.is_in(ids.clone()))
        .order_by_asc(lesson::Column::Seq)
        .order_by_asc(lesson::Column::Id)
        .all(db)
        .await?
    {
        lessons.entry(l.course_id).or_default().push(l.try_into()?);
    }
    let mine: HashMap<i32, progress::Model> = progress::Entity::find()
        .filter(progress::Column::UserId.eq(actor.user_id))
        .filter(progress::Column::CourseId.is_in(ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.lesson_id, p))
        .collect();
    let paid = paid_courses(db, actor.user_id, &ids).await?;
    let mut required = Vec::new();
    let mut electives = Vec::new();
    for c in courses {
        let c: Course = c.try_into()?;
        let rows = lessons
            .remove(&c.id)
            .unwrap_or_default()
            .into_iter()
            .map(|l| {
                let p = mine.get(&l.id);
                LessonRow { state: LessonState::of(p), reached_secs: p.map_or(0, |p| p.reached_secs), lesson: l }
            })
            .collect();
        let fee_due = learner == Learner::Member && c.fee_cents > 0 && !paid.contains(&c.id);
        let card = CourseCard { fee_due, locked: false, lessons: rows, course: c };
        match card.course.kind {
            CourseKind::Required => required.push(card),
            CourseKind::Elective => electives.push(card),
        }
    }
    let left = required.iter().filter(|c| !c.finished()).count();
    for e in &mut electives {
        e.locked = rules::may_open(CourseKind::Elective, left).is_err();
    }
    Ok((required, electives))
}

pub(super) async fn paid_courses<C: ConnectionTrait>(db: &C, user_id: i32, ids: &[i32]) -> AppResult<HashSet<i32>> {
    Ok(course_payment::Entity::find()
        .filter(course_payment::Column::UserId.eq(user_id))
        .filter(course_payment::Column::CourseId.is_in(ids.to_vec()))
        .filter(course_payment::Column::Status.eq("paid"))
        .all(db)
        .await?
        .into_iter()
        .map(|p| p.course_id)
        .collect())
}

/// 开始学习 on a course: the institute of the year, the audience and the
/// order. Anything not in the learner's catalogue answers 404. A course with
/// a fee still opens (its introduction and lessons); its lessons wait for
/// 交费 (`CourseCard::fee_due`, checked by `open_lesson`).
pub async fn open_course(app: &App, actor: &Actor, course_id: i32) -> AppResult<(CourseCard, Institute)> {
    let learner = learner_of(actor)?;
    let c = course::Entity::find_by_id(course_id)
        .one(app.db.conn())
        .await?
        .filter(|c| c.state == CourseState::Published.code())
        // The year's courses only: last year's close when the year ends.
        .filter(|c| c.year == year_of(app))
        .ok_or(AppError::NotFound("课程"))?;
    let choice = choice_of(app, actor, c.year).await?;
    let choice = match choice {
        Some(ch) if ch.institute.id == c.institute_id => ch,
        _ => return Err(AppError::NotFound("课程")),
    };
    let (required, electives) = cards(app, actor, learner, &choice).await?;
    let left = required.iter().filter(|c| !c.finished()).count();
    let card =
        required.into_iter().chain(electives).find(|k| k.course.id == course_id).ok_or(AppError::NotFound("课程"))?;
    rules::may_open(card.course.kind, left).map_err(|e| AppError::Refused(e.to_string()))?;
    Ok((card, choice.institute))
}

/// A lesson with its course, as the player page shows it.
pub struct LessonView {
    pub card: CourseCard,
    pub institute: Institute,
    pub row: LessonRow,
    pub next: Option<i32>,
}

/// A lesson to study now, or its course when 交费 comes first.
pub async fn open_lesson(app: &App, actor: &Actor, lesson_id: i32) -> AppResult<Result<LessonView, Course>> {
    let l = lesson::Entity::find_by_id(lesson_id).one(app.db.conn()).await?.ok_or(AppError::NotFound("课时"))?;
    let (card, institute) = open_course(app, actor, l.course_id).await?;
    if card.fee_due {
        return Ok(Err(card.course));
    }
    let at = card.lessons.iter().position(|r| r.lesson.id == lesson_id).ok_or(AppError::NotFound("课时"))?;
    let row = card.lessons[at].clone();
    let next = card.lessons.get(at + 1).map(|r| r.lesson.id);
    Ok(Ok(LessonView { card, institute, row, next }))
}

/// Where a lesson's material is, once the actor may see it: the learner who
/// may study it now, or the staff of its institute.
pub async fn material_of(app: &App, actor: &Actor, lesson_id: i32) -> AppResult<(String, String, u64)> {
    let l = lesson::Entity::find_by_id(lesson_id).one(app.db.conn()).await?.ok_or(AppError::NotFound("课时"))?;
    if actor.can(Permission::TeachCourses) {
        let c = course::Entity::find_by_id(l.course_id).one(app.db.conn()).await?.ok_or(AppError::NotFound("课时"))?;
        if Some(c.institute_id) != actor.institute_id {
            return Err(AppError::NotFound("课时"));
        }
    } else if open_lesson(app, actor, lesson_id).await?.is_err() {
        return Err(AppError::Refused("请先交费".into()));
    }
    match (l.object_key, l.content_type) {
        (Some(k), Some(t)) => Ok((k, t, l.size.max(0) as u64)),
        _ => Err(AppError::NotFound("课时")),
    }
}

/// What the player is told after each report.
#[derive(Debug, Clone, Serialize)]
pub struct Beat {
    pub reached: i32,
    pub duration: i32,
    pub finished: bool,
    pub state: LessonState,
}

fn valid_tab(tab: &str) -> bool {
    (8..=64).contains(&tab.len()) && tab.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The player reports where it is (`position` seconds) from tab `tab`. The
/// learner's one study session is taken by this tab unless another tab
/// reported within `TAB_HOLD_SECS`; the time counted is what passed since
/// this tab's last report on this lesson.
pub async fn beat(app: &App, actor: &Actor, lesson_id: i32, tab: &str, position: i32) -> AppResult<Beat> {
    let view = match open_lesson(app, actor, lesson_id).await? {
        Ok(v) => v,
        Err(_) => return Err(AppError::Refused("请先交费".into())),
    };
    if !valid_tab(tab) {
        return Err(AppError::Refused("请刷新页面后继续学习".into()));
    }
    let l = &view.row.lesson;
    let position = position.clamp(0, l.duration_secs);
    let txn = app.write().await?;
    let now = txn.now();
    let backend = txn.get_database_backend();
    let fresh = cmis_store::entity::study_session::Entity::insert(cmis_store::entity::study_session::ActiveModel {
        user_id: Set(actor.user_id),
        tab: Set(tab.to_owned()),
        lesson_id: Set(lesson_id),
        beat_at: Set(now),
    })
    .on_conflict(OnConflict::column(cmis_store::entity::study_session::Column::UserId).do_nothing().to_owned())
    .exec_without_returning(&txn)
    .await?
        == 1;
    let elapsed = if fresh {
        0
    } else {
        let lock = if backend == DatabaseBackend::Postgres { " FOR UPDATE" } else { "" };
        let row = txn
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                format!("SELECT tab, lesson_id, beat_at FROM study_sessions WHERE user_id = $1{lock}"),
                [actor.user_id.into()],
            ))
            .await?
            .ok_or_else(|| anyhow::anyhow!("study session vanished"))?;
        let (held_tab, held_lesson, held_at): (String, i32, DateTime<Utc>) =
            (row.try_get("", "tab")?, row.try_get("", "lesson_id")?, row.try_get("", "beat_at")?);
        let idle = (now - held_at).num_milliseconds();
        if held_tab != tab && idle < TAB_HOLD_SECS * 1000 {
            return Err(AppError::Refused("您正在其他窗口学习，同一时间只能学习一节课".into()));
        }
        cmis_store::entity::study_session::Entity::update_many()
            .col_expr(cmis_store::entity::study_session::Column::Tab, Expr::value(tab))
            .col_expr(cmis_store::entity::study_session::Column::LessonId, Expr::value(lesson_id))
            .col_expr(cmis_store::entity::study_session::Column::BeatAt, Expr::value(now))
            .filter(cmis_store::entity::study_session::Column::UserId.eq(actor.user_id))
            .exec(&txn)
            .await?;
        if held_tab == tab && held_lesson == lesson_id { idle } else { 0 }
    };
    progress::Entity::insert(progress::ActiveModel {
        user_id: Set(actor.user_id),
        lesson_id: Set(lesson_id),
        course_id: Set(l.course_id),
        institute_id: Set(view.institute.id),
        year: Set(view.card.course.year),
        reached_secs: Set(0),
        watched_ms: Set(0),
        beat_at: Set(now),
        ..Default::default()
    })
    .on_conflict(OnConflict::columns([progress::Column::UserId, progress::Column::LessonId]).do_nothing().to_owned())
    .exec_without_returning(&txn)
    .await?;
    let p = progress::Entity::find()
        .filter(progress::Column::UserId.eq(actor.user_id))
        .filter(progress::Column::LessonId.eq(lesson_id))
        .one(&txn)
        .await?
        .ok_or_else(|| anyhow::anyhow!("progress vanished"))?;
    let (reached, watched) = rules::advance(p.reached_secs, p.watched_ms, l.duration_secs, position, elapsed);
    let finished = rules::finished(reached, l.duration_secs);
    let completed_now = finished && p.completed_at.is_none();
    let mut m: progress::ActiveModel = p.clone().into();
    m.reached_secs = Set(reached);
    m.watched_ms = Set(watched);
    m.beat_at = Set(now);
    if completed_now {
        m.completed_at = Set(Some(now));
    }
    let p = m.update(&txn).await?;
    txn.commit().await?;
    Ok(Beat { reached, duration: l.duration_secs, finished, state: LessonState::of(Some(&p)) })
}

/// 评价 a finished lesson: once. Until then its hours are not recorded.
pub async fn evaluate(app: &App, actor: &Actor, lesson_id: i32, rating: &str, comment: &str) -> AppResult<()> {
    learner_of(actor)?;
    let e = Evaluation::parse(rating, comment).map_err(|e| {
        let field = if matches!(e, cmis_domain::learning::EvaluationError::Rating) { "rating" } else { "comment" };
        FieldErrors::one(field, e)
    })?;
    // A withdrawn course's lessons are evaluated no more (and so not credited).
    let l = lesson::Entity::find_by_id(lesson_id).one(app.db.conn()).await?.ok_or(AppError::NotFound("课时"))?;
    let published = course::Entity::find_by_id(l.course_id)
        .one(app.db.conn())
        .await?
        .is_some_and(|c| c.state == CourseState::Published.code());
    if !published {
        return Err(AppError::Refused("该课程已撤回，不能评价".into()));
    }
    let txn = app.write().await?;
    let r = progress::Entity::update_many()
        .col_expr(progress::Column::Rating, Expr::value(e.rating))
        .col_expr(progress::Column::Comment, Expr::value(e.comment.clone()))
        .col_expr(progress::Column::EvaluatedAt, Expr::value(txn.now()))
        .filter(progress::Column::UserId.eq(actor.user_id))
        .filter(progress::Column::LessonId.eq(lesson_id))
        .filter(progress::Column::CompletedAt.is_not_null())
        .filter(progress::Column::EvaluatedAt.is_null())
        .exec(&txn)
        .await?;
    if r.rows_affected == 0 {
        let p = progress::Entity::find()
            .filter(progress::Column::UserId.eq(actor.user_id))
            .filter(progress::Column::LessonId.eq(lesson_id))
            .one(&txn)
            .await?;
        return Err(match p {
            Some(p) if p.evaluated_at.is_some() => AppError::Refused("本节课已评价".into()),
            _ => AppError::Refused("请学完本节课后再评价".into()),
        });
    }
    audit::append(
        &txn,
        &actor.audit_name(),
        "lesson_evaluated",
        &format!("lesson:{lesson_id}"),
        json!({ "rating": e.rating }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Bytes [start, end) of a lesson's material, as a stream (a video is never
/// read whole).
pub async fn read_material(
    app: &App,
    key: &str,
    start: u64,
    end: u64,
) -> AppResult<futures::stream::BoxStream<'static, Result<bytes::Bytes, std::io::Error>>> {
    use futures::StreamExt;
    use object_store::{GetOptions, GetRange};
    let opts = GetOptions { range: (end > start).then_some(GetRange::Bounded(start..end)), ..Default::default() };
    let got = app.files.get_opts(&object_store::path::Path::from(key), opts).await.map_err(anyhow::Error::from)?;
    Ok(got.into_stream().map(|c| c.map_err(std::io::Error::other)).boxed())
}
