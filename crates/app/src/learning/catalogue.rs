//! 课程管理: an institute's staff keep its courses for each year: 必修 or
//! 选修, for whom, 职业道德 or 专业, online or face-to-face, the fee a
//! non-practicing member pays, and lessons with their hours and material (a
//! video or a document in the object store). A course is prepared as
//! 未发布, 发布 makes it visible to learners who chose the institute, 撤回
//! takes it away again. A published course's lessons are fixed: learners'
//! progress and credited hours refer to them.

use bytes::BytesMut;
use chrono::Datelike;
use cmis_domain::Hours;
use cmis_domain::learning::{Audience, Category, CourseKind, CourseState, Form, Material};
use cmis_store::entity::{course, lesson};
use futures::StreamExt;
use object_store::path::Path as StorePath;
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;
use serde_json::json;

use super::{own_institute, yuan};
use crate::attachments::{Broken, Incoming, MB, PART, store_stream};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::page::{self, Page};
use crate::{Actor, App, audit};

pub const PAGE_SIZE: u64 = 20;
pub const MAX_LESSONS: u64 = 100;
pub const MAX_VIDEO_BYTES: u64 = 2048 * MB;
pub const MAX_DOCUMENT_BYTES: u64 = 50 * MB;
/// Fees above this are a typing error.
const MAX_FEE_CENTS: i64 = 1_000_000;

#[derive(Debug, Clone, Serialize)]
pub struct Course {
    pub id: i32,
    pub institute_id: i32,
    pub year: i32,
    pub title: String,
    pub kind: CourseKind,
    pub audience: Audience,
    pub category: Category,
    pub form: Form,
    pub fee_cents: i64,
    pub intro: String,
    pub state: CourseState,
}

impl Course {
    pub fn fee(&self) -> String {
        yuan(self.fee_cents)
    }
}

impl TryFrom<course::Model> for Course {
    type Error = AppError;
    fn try_from(r: course::Model) -> AppResult<Course> {
        Ok(Course {
            id: r.id,
            institute_id: r.institute_id,
            year: r.year,
            kind: CourseKind::parse(&r.kind)?,
            audience: Audience::parse(&r.audience)?,
            category: Category::parse(&r.category)?,
            form: Form::parse(&r.form)?,
            state: CourseState::parse(&r.state)?,
            fee_cents: r.fee_cents,
            intro: r.intro,
            title: r.title,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Lesson {
    pub id: i32,
    pub course_id: i32,
    pub seq: i32,
    pub title: String,
    pub hours: Hours,
    pub duration_secs: i32,
    pub material: Material,
    pub file_name: Option<String>,
    pub size: i64,
}

impl Lesson {
    /// 时长 as 分:秒.
    pub fn duration(&self) -> String {
        format!("{}:{:02}", self.duration_secs / 60, self.duration_secs % 60)
    }
    pub fn has_material(&self) -> bool {
        self.file_name.is_some()
    }
}

impl TryFrom<lesson::Model> for Lesson {
    type Error = AppError;
    fn try_from(r: lesson::Model) -> AppResult<Lesson> {
        Ok(Lesson {
            id: r.id,
            course_id: r.course_id,
            seq: r.seq,
            title: r.title,
            hours: Hours::from_hundredths(r.hours_x100),
            duration_secs: r.duration_secs,
            material: Material::parse(&r.material_kind)?,
            file_name: r.object_key.and(r.file_name),
            size: r.size,
        })
    }
}

/// A course with its lessons, in order.
#[derive(Debug, Clone, Serialize)]
pub struct CourseDetail {
    pub course: Course,
    pub lessons: Vec<Lesson>,
}

impl CourseDetail {
    pub fn hours(&self) -> Hours {
        self.lessons.iter().map(|l| l.hours).sum()
    }
}

pub async fn lessons_of<C: sea_orm::ConnectionTrait>(db: &C, course_id: i32) -> AppResult<Vec<Lesson>> {
    lesson::Entity::find()
        .filter(lesson::Column::CourseId.eq(course_id))
        .order_by_asc(lesson::Column::Seq)
        .order_by_asc(lesson::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Lesson::try_from)
        .collect()
}

/// A course of the staff member's own institute (another's answers 404).
async fn own_course(app: &App, actor: &Actor, id: i32) -> AppResult<course::Model> {
    let institute = own_institute(actor)?;
    course::Entity::find_by_id(id)
        .one(app.db.conn())
        .await?
        .filter(|c| c.institute_id == institute)
        .ok_or(AppError::NotFound("课程"))
}

pub async fn detail(app: &App, actor: &Actor, id: i32) -> AppResult<CourseDetail> {
    let c = own_course(app, actor, id).await?;
    Ok(CourseDetail { lessons: lessons_of(app.db.conn(), c.id).await?, course: c.try_into()? })
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CourseFilter {
    #[serde(default)]
    pub year: Option<i32>,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub page: u64,
    /// After an import: "{courses}-{lessons}".
    #[serde(default)]
    pub imported: Option<String>,
}

/// One row of 课程管理.
#[derive(Debug, Clone, Serialize)]
pub struct CourseRow {
    pub course: Course,
    pub lessons: u64,
}

pub async fn list(app: &App, actor: &Actor, f: &CourseFilter) -> AppResult<Page<CourseRow>> {
    let institute = own_institute(actor)?;
    let mut q = course::Entity::find().filter(course::Column::InstituteId.eq(institute));
    if let Some(y) = f.year {
        q = q.filter(course::Column::Year.eq(y));
    }
    if let Ok(s) = CourseState::parse(&f.state) {
        q = q.filter(course::Column::State.eq(s.code()));
    }
    let q = q.order_by_desc(course::Column::Year).order_by_asc(course::Column::Kind).order_by_asc(course::Column::Id);
    let p = page::fetch(app.db.conn(), q, f.page, PAGE_SIZE).await?;
    let mut items = Vec::new();
    for c in p.items {
        let lessons = lesson::Entity::find().filter(lesson::Column::CourseId.eq(c.id)).count(app.db.conn()).await?;
        items.push(CourseRow { course: c.try_into()?, lessons });
    }
    Ok(Page { items, page: p.page, pages: p.pages, total: p.total })
}

/// 新增课程 / 修改 as typed.
#[derive(Debug, Clone, Default, serde::Deserialize, Serialize)]
pub struct CourseForm {
    #[serde(default)]
    pub year: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub audience: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub form: String,
    /// 费用（元）: what a non-practicing member pays; 0 or empty = free.
    #[serde(default)]
    pub fee: String,
    #[serde(default)]
    pub intro: String,
}

/// A course's fields as checked, from the form or an imported row.
pub(super) struct Checked {
    pub year: i32,
    pub title: String,
    pub kind: CourseKind,
    pub audience: Audience,
    pub category: Category,
    pub form: Form,
    pub fee_cents: i64,
    pub intro: String,
}

/// A course of `institute`, 未发布.
pub(super) async fn insert_draft(txn: &crate::Tx, institute: i32, c: Checked) -> AppResult<course::Model> {
    let now = txn.now();
    Ok(course::ActiveModel {
        institute_id: Set(institute),
        year: Set(c.year),
        title: Set(c.title),
        kind: Set(c.kind.code().into()),
        audience: Set(c.audience.code().into()),
        category: Set(c.category.code().into()),
        form: Set(c.form.code().into()),
        fee_cents: Set(c.fee_cents),
        intro: Set(c.intro),
        state: Set(CourseState::Draft.code().into()),
        sort: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?)
}

/// Money as typed in yuan: at most two decimals.
pub fn parse_yuan(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() {
        return Some(0);
    }
    let h = Hours::parse(t, MAX_FEE_CENTS / 100).ok();
    match h {
        Some(h) => Some(h.hundredths()),
        None if t.trim_start_matches('0').trim_start_matches('.').trim_start_matches('0').is_empty() => Some(0),
        None => None,
    }
}

fn check(app: &App, f: &CourseForm) -> Result<Checked, FieldErrors> {
    let mut e = FieldErrors::new();
    let this = app.today().year();
    let year = f.year.trim().parse::<i32>().ok().filter(|y| (this - 1..=this + 1).contains(y));
    if year.is_none() {
        e.add("year", format!("年度应为{}至{}年", this - 1, this + 1));
    }
    let title = f.title.trim();
    if title.is_empty() || cmis_domain::text::check(title, 100, false).is_err() {
        e.add("title", "请填写课程名称（不超过100字）");
    }
    let pick = |code: &str| code.trim().to_owned();
    let kind = CourseKind::parse(&pick(&f.kind)).ok();
    if kind.is_none() {
        e.add("kind", "请选择课程类型：必修或选修");
    }
    let audience = Audience::parse(&pick(&f.audience)).ok();
    if audience.is_none() {
        e.add("audience", "请选择适用对象");
    }
    let category = Category::parse(&pick(&f.category)).ok();
    if category.is_none() {
        e.add("category", "请选择课程类别：专业或职业道德");
    }
    let form = Form::parse(&pick(&f.form)).ok();
    if form.is_none() {
        e.add("form", "请选择学习形式：网络或面授");
    }
    let fee_cents = parse_yuan(&f.fee);
    if fee_cents.is_none() {
        e.add("fee", "费用应为0至10000元，最多两位小数");
    }
    let intro = f.intro.trim();
    if cmis_domain::text::check(intro, 2000, true).is_err() {
        e.add("intro", "课程简介不超过2000字");
    }
    if !e.is_empty() {
        return Err(e);
    }
    Ok(Checked {
        year: year.expect("checked"),
        title: title.to_owned(),
        kind: kind.expect("checked"),
        audience: audience.expect("checked"),
        category: category.expect("checked"),
        form: form.expect("checked"),
        fee_cents: fee_cents.expect("checked"),
        intro: intro.to_owned(),
    })
}

/// 新增课程: a course of the institute, 未发布.
pub async fn create(app: &App, actor: &Actor, f: &CourseForm) -> AppResult<i32> {
    let institute = own_institute(actor)?;
    let c = check(app, f).map_err(AppError::Invalid)?;
    let txn = app.write().await?;
    let year = c.year;
    let m = insert_draft(&txn, institute, c).await?;
    audit::append(&txn, &actor.audit_name(), "course_created", &format!("course:{}", m.id), json!({ "year": year }))
        .await?;
    txn.commit().await?;
    Ok(m.id)
}

/// 修改: what a course says. Its year, type, audience and category are fixed
/// once published (learners' order and hours depend on them).
pub async fn update(app: &App, actor: &Actor, id: i32, f: &CourseForm) -> AppResult<()> {
    let old = own_course(app, actor, id).await?;
    let c = check(app, f).map_err(AppError::Invalid)?;
    let draft = old.state == CourseState::Draft.code();
    let changes_rules = old.year != c.year
        || old.kind != c.kind.code()
        || old.audience != c.audience.code()
        || old.category != c.category.code()
        || old.form != c.form.code();
    if !draft && changes_rules {
        return Err(AppError::Refused("课程已发布，年度、课程类型、适用对象、类别和学习形式不能修改".into()));
    }
    let txn = app.write().await?;
    let mut m: course::ActiveModel = old.into();
    m.year = Set(c.year);
    m.title = Set(c.title);
    m.kind = Set(c.kind.code().into());
    m.audience = Set(c.audience.code().into());
    m.category = Set(c.category.code().into());
    m.form = Set(c.form.code().into());
    m.fee_cents = Set(c.fee_cents);
    m.intro = Set(c.intro);
    m.updated_at = Set(txn.now());
    m.update(&txn).await?;
    audit::append(&txn, &actor.audit_name(), "course_updated", &format!("course:{id}"), json!({})).await?;
    txn.commit().await?;
    Ok(())
}

/// 发布 (every lesson with its material) or 撤回.
pub async fn set_state(app: &App, actor: &Actor, id: i32, to: CourseState) -> AppResult<()> {
    let c = own_course(app, actor, id).await?;
    let from = CourseState::parse(&c.state)?;
    match (from, to) {
        (CourseState::Draft | CourseState::Withdrawn, CourseState::Published) => {
            let lessons = lessons_of(app.db.conn(), id).await?;
            if lessons.is_empty() {
                return Err(AppError::Refused("请先添加课时，再发布课程".into()));
            }
            if let Some(l) = lessons.iter().find(|l| !l.has_material()) {
                return Err(AppError::Refused(format!("课时“{}”尚未上传视频或文档，不能发布", l.title)));
            }
        }
        (CourseState::Published, CourseState::Withdrawn) => {}
        _ => return Err(AppError::Refused(format!("课程{}，不能{}", from.label(), action(to)))),
    }
    let txn = app.write().await?;
    // One conditional statement: two clicks at once change it once.
    let r = course::Entity::update_many()
        .col_expr(course::Column::State, sea_orm::sea_query::Expr::value(to.code()))
        .col_expr(course::Column::UpdatedAt, sea_orm::sea_query::Expr::value(txn.now()))
        .filter(course::Column::Id.eq(id))
        .filter(course::Column::State.eq(from.code()))
        .exec(&txn)
        .await?;
    if r.rows_affected == 0 {
        return Err(AppError::Refused("课程状态已变化，请刷新页面".into()));
    }
    audit::append(&txn, &actor.audit_name(), "course_state", &format!("course:{id}"), json!({ "to": to.code() }))
        .await?;
    txn.commit().await?;
    Ok(())
}

fn action(to: CourseState) -> &'static str {
    match to {
        CourseState::Published => "发布",
        CourseState::Withdrawn => "撤回",
        CourseState::Draft => "修改",
    }
}

/// A lesson as typed, with its material.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct LessonForm {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub hours: String,
    /// 时长: 分:秒 (45:00) or minutes (45).
    #[serde(default)]
    pub duration: String,
}

/// 时长 as typed: `分:秒` or whole minutes; more than zero, at most ten hours.
pub fn parse_duration(text: &str) -> Option<i32> {
    let t = text.trim().replace('：', ":");
    let secs = match t.split_once(':') {
        Some((m, s)) => {
            let s: i64 = s.parse().ok().filter(|s| (0..60).contains(s))?;
            m.parse::<i64>().ok()? * 60 + s
        }
        None => t.parse::<i64>().ok()? * 60,
    };
    (1..=36_000).contains(&secs).then_some(secs as i32)
}

fn check_lesson(f: &LessonForm) -> Result<(String, Hours, i32), FieldErrors> {
    let mut e = FieldErrors::new();
    let title = f.title.trim();
    if title.is_empty() || cmis_domain::text::check(title, 100, false).is_err() {
        e.add("title", "请填写课时名称（不超过100字）");
    }
    let hours = Hours::parse(&f.hours, 24);
    if let Err(err) = &hours {
        e.add("hours", err);
    }
    let duration = parse_duration(&f.duration);
    if duration.is_none() {
        e.add("duration", "请填写时长，如 45:00（分:秒）或 45（分钟），不超过10小时");
    }
    if !e.is_empty() {
        return Err(e);
    }
    Ok((title.to_owned(), hours.expect("checked"), duration.expect("checked")))
}

/// What a lesson's material is, from its first bytes.
pub fn sniff(head: &[u8]) -> Option<(Material, &'static str, &'static [&'static str])> {
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        Some((Material::Video, "video/mp4", &["mp4", "m4v"]))
    } else if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        Some((Material::Video, "video/webm", &["webm"]))
    } else if head.starts_with(b"%PDF-") {
        Some((Material::Document, "application/pdf", &["pdf"]))
    } else {
        None
    }
}

/// A lesson's material as stored: what it is, where, and its name.
struct Stored {
    material: Material,
    content_type: &'static str,
    key: String,
    size: u64,
    name: String,
}

/// Reads an upload's first part, checks it by content, name and size, and
/// streams it to the object store (never whole in memory).
async fn receive(app: &App, mut file: Incoming<'_>) -> AppResult<Stored> {
    let name = file.file_name.rsplit(['/', '\\']).next().unwrap_or_default().trim().to_owned();
    let mut buf = BytesMut::new();
    let mut ended = false;
    while buf.len() < PART {
        match file.chunks.next().await {
            Some(Ok(b)) => {
                if buf.len() as u64 + b.len() as u64 > MAX_VIDEO_BYTES {
                    return Err(FieldErrors::one("file", "视频不能超过2048MB"));
                }
                buf.extend_from_slice(&b);
            }
            Some(Err(Broken)) => return Err(FieldErrors::one("file", "上传失败：连接中断，请重新上传")),
            None => {
                ended = true;
                break;
            }
        }
    }
    if buf.is_empty() {
        return Err(FieldErrors::one("file", "请选择课时的视频（mp4、webm）或文档（pdf）"));
    }
    let Some((material, content_type, exts)) = sniff(&buf[..buf.len().min(4096)]) else {
        return Err(FieldErrors::one("file", format!("“{name}”不是mp4、webm视频或pdf文档")));
    };
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    if !exts.contains(&ext.as_str()) {
        return Err(FieldErrors::one("file", format!("“{name}”的扩展名与文件内容不符（内容为{}）", exts[0])));
    }
    let (max, too_large) = match material {
        Material::Video => (MAX_VIDEO_BYTES, "视频不能超过2048MB"),
        Material::Document => (MAX_DOCUMENT_BYTES, "文档不能超过50MB"),
    };
    if buf.len() as u64 > max {
        return Err(FieldErrors::one("file", too_large));
    }
    let now = app.now();
    let mut rnd = [0u8; 16];
    rand::rng().fill_bytes(&mut rnd);
    let key = format!("lessons/{}/{}", now.year(), hex::encode(rnd));
    let (size, _sha) = store_stream(app, &key, buf, ended, &mut file, max, too_large).await?;
    Ok(Stored { material, content_type, key, size, name })
}

/// Whether the course (read in the writing transaction) still takes changes
/// to its lessons: not while published.
async fn still_draft(txn: &crate::Tx, course_id: i32) -> AppResult<()> {
    let still = course::Entity::find_by_id(course_id).one(txn).await?;
    if still.is_none_or(|c| c.state == CourseState::Published.code()) {
        return Err(AppError::Refused(PUBLISHED.into()));
    }
    Ok(())
}

const PUBLISHED: &str = "课程已发布，不能修改课时；请先撤回";

/// 添加课时: checked before a byte of the file is stored; the material is
/// streamed to the object store and refused past its size. Only while the
/// course is not published.
pub async fn add_lesson(
    app: &App,
    actor: &Actor,
    course_id: i32,
    f: &LessonForm,
    file: Incoming<'_>,
) -> AppResult<i32> {
    let c = own_course(app, actor, course_id).await?;
    if c.state == CourseState::Published.code() {
        return Err(AppError::Refused(PUBLISHED.into()));
    }
    let (title, hours, duration) = check_lesson(f).map_err(AppError::Invalid)?;
    let count = lesson::Entity::find().filter(lesson::Column::CourseId.eq(course_id)).count(app.db.conn()).await?;
    if count >= MAX_LESSONS {
        return Err(FieldErrors::one("file", format!("每门课程最多{MAX_LESSONS}个课时")));
    }
    let st = receive(app, file).await?;
    let key = st.key.clone();
    let saved = async {
        let txn = app.write().await?;
        still_draft(&txn, course_id).await?;
        let seq = lesson::Entity::find().filter(lesson::Column::CourseId.eq(course_id)).count(&txn).await? as i32 + 1;
        let m = lesson::ActiveModel {
            course_id: Set(course_id),
            seq: Set(seq),
            title: Set(title),
            hours_x100: Set(hours.hundredths()),
            duration_secs: Set(duration),
            material_kind: Set(st.material.code().into()),
            object_key: Set(Some(st.key)),
            file_name: Set(Some(st.name)),
            content_type: Set(Some(st.content_type.into())),
            size: Set(st.size as i64),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        audit::append(
            &txn,
            &actor.audit_name(),
            "lesson_added",
            &format!("course:{course_id}"),
            json!({ "lesson": m.id, "size": st.size, "kind": st.material.code() }),
        )
        .await?;
        txn.commit().await?;
        Ok::<_, AppError>(m.id)
    }
    .await;
    if saved.is_err() {
        let _ = app.files.delete(&StorePath::from(key.as_str())).await;
    }
    saved
}

/// 上传资料 of a lesson made by an import (or replacing its material) while
/// the course is not published; the old file goes once the new one is saved.
pub async fn attach_material(
    app: &App,
    actor: &Actor,
    course_id: i32,
    lesson_id: i32,
    file: Incoming<'_>,
) -> AppResult<()> {
    let c = own_course(app, actor, course_id).await?;
    if c.state == CourseState::Published.code() {
        return Err(AppError::Refused(PUBLISHED.into()));
    }
    let l = lesson::Entity::find_by_id(lesson_id)
        .one(app.db.conn())
        .await?
        .filter(|l| l.course_id == course_id)
        .ok_or(AppError::NotFound("课时"))?;
    let st = receive(app, file).await?;
    let key = st.key.clone();
    let saved = async {
        let txn = app.write().await?;
        still_draft(&txn, course_id).await?;
        let old = l.object_key.clone();
        let mut m: lesson::ActiveModel = l.into();
        m.material_kind = Set(st.material.code().into());
        m.object_key = Set(Some(st.key));
        m.file_name = Set(Some(st.name));
        m.content_type = Set(Some(st.content_type.into()));
        m.size = Set(st.size as i64);
        m.update(&txn).await?;
        audit::append(
            &txn,
            &actor.audit_name(),
            "lesson_material",
            &format!("course:{course_id}"),
            json!({ "lesson": lesson_id, "size": st.size }),
        )
        .await?;
        txn.commit().await?;
        Ok::<_, AppError>(old)
    }
    .await;
    match saved {
        Ok(old) => {
            if let Some(old) = old {
                let _ = app.files.delete(&StorePath::from(old.as_str())).await;
            }
            Ok(())
        }
        Err(e) => {
            let _ = app.files.delete(&StorePath::from(key.as_str())).await;
            Err(e)
        }
    }
}

/// 删除 a lesson of a course not published, with its material.
pub async fn remove_lesson(app: &App, actor: &Actor, course_id: i32, lesson_id: i32) -> AppResult<()> {
    let c = own_course(app, actor, course_id).await?;
    if c.state == CourseState::Published.code() {
        return Err(AppError::Refused("课程已发布，不能删除课时；请先撤回".into()));
    }
    let l = lesson::Entity::find_by_id(lesson_id)
        .one(app.db.conn())
        .await?
        .filter(|l| l.course_id == course_id)
        .ok_or(AppError::NotFound("课时"))?;
    let studied = cmis_store::entity::lesson_progress::Entity::find()
        .filter(cmis_store::entity::lesson_progress::Column::LessonId.eq(lesson_id))
        .count(app.db.conn())
        .await?;
    if studied > 0 {
        return Err(AppError::Refused("已有学员学习该课时，不能删除".into()));
    }
    let txn = app.write().await?;
    lesson::Entity::delete_by_id(lesson_id).exec(&txn).await?;
    audit::append(
        &txn,
        &actor.audit_name(),
        "lesson_removed",
        &format!("course:{course_id}"),
        json!({ "lesson": lesson_id }),
    )
    .await?;
    txn.commit().await?;
    if let Some(key) = l.object_key {
        let _ = app.files.delete(&StorePath::from(key.as_str())).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_fees() {
        assert_eq!(parse_duration("45:00"), Some(2700));
        assert_eq!(parse_duration("0:04"), Some(4));
        assert_eq!(parse_duration("45"), Some(2700));
        assert_eq!(parse_duration("1:60"), None);
        assert_eq!(parse_duration("0"), None);
        assert_eq!(parse_duration("601"), None);
        assert_eq!(parse_yuan(""), Some(0));
        assert_eq!(parse_yuan("0"), Some(0));
        assert_eq!(parse_yuan("120.5"), Some(12050));
        assert_eq!(parse_yuan("-1"), None);
        assert_eq!(parse_yuan("1.234"), None);
    }

    #[test]
    fn materials_by_content() {
        let mp4 = b"\0\0\0\x20ftypisom\0\0\0\0";
        assert_eq!(sniff(mp4).map(|s| s.0), Some(Material::Video));
        assert_eq!(sniff(b"%PDF-1.4").map(|s| s.0), Some(Material::Document));
        assert!(sniff(b"MZ\x90\0").is_none());
    }
}
