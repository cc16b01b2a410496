//! The national accounting institutes' own pages: 课程管理 (courses and
//! their lessons, with the video or document streamed to storage as it
//! arrives), 学员学习情况 with its Excel export, 课程评价, and 接口密钥 for
//! the institute's own platform.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use cmis_app::learning::catalogue::{self, CourseDetail, CourseFilter, CourseForm, CourseRow, LessonForm};
use cmis_app::learning::catalogue_import;
use cmis_app::learning::records::{self, Key};
use cmis_app::learning::reports::{self, LearnerFilter, LearnerRow, LessonRating};
use cmis_app::learning::{self, Institute};
use cmis_app::page::Page;
use cmis_app::scope::Permission;
use cmis_app::{AppError, FieldErrors};
use cmis_domain::learning::{Audience, Category, CourseKind, CourseState, Form as LearningForm};
use serde::Deserialize;

use crate::AppState;
use crate::error::WebResult;
use crate::shell::{Shell, needs};
use crate::upload;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/institute/courses", get(courses).post(create))
        .route("/institute/courses/{id}", get(course).post(update))
        .route(
            "/institute/courses/{id}/lessons",
            post(add_lesson).layer(DefaultBodyLimit::max((catalogue::MAX_VIDEO_BYTES + 1024 * 1024) as usize)),
        )
        .route("/institute/courses/{id}/lessons/{lesson}/delete", post(remove_lesson))
        .route(
            "/institute/courses/{id}/lessons/{lesson}/material",
            post(attach_material).layer(DefaultBodyLimit::max((catalogue::MAX_VIDEO_BYTES + 1024 * 1024) as usize)),
        )
        .route(
            "/institute/courses/import",
            post(import).layer(DefaultBodyLimit::max(catalogue_import::MAX_BYTES + 64 * 1024)),
        )
        .route("/institute/courses/template", get(template))
        .route("/institute/courses/{id}/publish", post(publish))
        .route("/institute/courses/{id}/withdraw", post(withdraw))
        .route("/institute/learners", get(learners))
        .route("/institute/learners/export", get(export))
        .route("/institute/ratings", get(ratings))
        .route("/institute/keys", get(keys).post(create_key))
        .route("/institute/keys/{id}/revoke", post(revoke_key))
        .route_layer(needs(Permission::TeachCourses))
}

/// The choices of the course form.
pub struct Choices {
    pub kinds: &'static [CourseKind],
    pub audiences: &'static [Audience],
    pub categories: &'static [Category],
    pub forms: &'static [LearningForm],
}

const CHOICES: Choices =
    Choices { kinds: CourseKind::ALL, audiences: Audience::ALL, categories: Category::ALL, forms: LearningForm::ALL };

#[derive(Template)]
#[template(path = "institute/courses.html")]
struct CoursesPage {
    shell: Shell,
    institute: Institute,
    filter: CourseFilter,
    page: Page<CourseRow>,
    form: CourseForm,
    errors: FieldErrors,
    choices: Choices,
    states: &'static [CourseState],
    imported: Option<(usize, usize)>,
}

impl CoursesPage {
    fn error(&self, f: &str) -> Option<&str> {
        self.errors.get(f)
    }
    fn page_link(&self, n: u64) -> String {
        let year = self.filter.year.map_or_else(String::new, |y| y.to_string());
        format!("/institute/courses?year={year}&state={}&page={n}", self.filter.state)
    }
}

async fn render_courses(
    state: &AppState,
    shell: Shell,
    filter: CourseFilter,
    form: CourseForm,
    errors: FieldErrors,
) -> WebResult<Response> {
    let institute = learning::institute(&state.app, learning::own_institute(&shell.actor)?).await?;
    let page = catalogue::list(&state.app, &shell.actor, &filter).await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let imported = filter
        .imported
        .as_deref()
        .and_then(|v| v.split_once('-'))
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
    let p = CoursesPage {
        shell,
        institute,
        filter,
        page,
        form,
        errors,
        choices: CHOICES,
        states: CourseState::ALL,
        imported,
    };
    Ok((status, Html(p.render()?)).into_response())
}

async fn courses(State(state): State<AppState>, shell: Shell, Query(f): Query<CourseFilter>) -> WebResult<Response> {
    let form = CourseForm { year: learning::year_of(&state.app).to_string(), ..CourseForm::default() };
    render_courses(&state, shell, f, form, FieldErrors::new()).await
}

async fn create(State(state): State<AppState>, shell: Shell, Form(f): Form<CourseForm>) -> WebResult<Response> {
    match catalogue::create(&state.app, &shell.actor, &f).await {
        Ok(id) => Ok(Redirect::to(&format!("/institute/courses/{id}")).into_response()),
        Err(AppError::Invalid(e)) => render_courses(&state, shell, CourseFilter::default(), f, e).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "institute/course.html")]
struct CoursePage {
    shell: Shell,
    d: CourseDetail,
    form: CourseForm,
    errors: FieldErrors,
    lesson: LessonForm,
    notice: Option<String>,
    choices: Choices,
}

impl CoursePage {
    fn error(&self, f: &str) -> Option<&str> {
        self.errors.get(f)
    }
    fn published(&self) -> bool {
        self.d.course.state == CourseState::Published
    }
}

fn form_of(d: &CourseDetail) -> CourseForm {
    let c = &d.course;
    CourseForm {
        year: c.year.to_string(),
        title: c.title.clone(),
        kind: c.kind.code().into(),
        audience: c.audience.code().into(),
        category: c.category.code().into(),
        form: c.form.code().into(),
        fee: c.fee(),
        intro: c.intro.clone(),
    }
}

async fn render_course(
    state: &AppState,
    shell: Shell,
    id: i32,
    form: Option<CourseForm>,
    lesson: LessonForm,
    errors: FieldErrors,
    notice: Option<String>,
) -> WebResult<Response> {
    let d = catalogue::detail(&state.app, &shell.actor, id).await?;
    let form = form.unwrap_or_else(|| form_of(&d));
    let status = if errors.is_empty() && notice.is_none() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let p = CoursePage { shell, d, form, errors, lesson, notice, choices: CHOICES };
    Ok((status, Html(p.render()?)).into_response())
}

async fn course(State(state): State<AppState>, shell: Shell, Path(id): Path<i32>) -> WebResult<Response> {
    render_course(&state, shell, id, None, LessonForm::default(), FieldErrors::new(), None).await
}

async fn update(
    State(state): State<AppState>,
    shell: Shell,
    Path(id): Path<i32>,
    Form(f): Form<CourseForm>,
) -> WebResult<Response> {
    match catalogue::update(&state.app, &shell.actor, id, &f).await {
        Ok(()) => Ok(Redirect::to(&format!("/institute/courses/{id}")).into_response()),
        Err(AppError::Invalid(e)) => render_course(&state, shell, id, Some(f), LessonForm::default(), e, None).await,
        Err(AppError::Refused(m)) => {
            render_course(&state, shell, id, Some(f), LessonForm::default(), FieldErrors::new(), Some(m)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// 添加课时: the text fields come first in the form, then the file, which is
/// streamed to storage as it arrives.
async fn add_lesson(
    State(state): State<AppState>,
    shell: Shell,
    Path(id): Path<i32>,
    mut multipart: Multipart,
) -> WebResult<Response> {
    learning::own_institute(&shell.actor)?;
    let mut lesson = LessonForm::default();
    let mut file_name = String::new();
    let result = loop {
        match upload::next_part(&mut multipart, &mut file_name).await {
            Ok(upload::Part::Text(name, value)) => match name.as_str() {
                "title" => lesson.title = value,
                "hours" => lesson.hours = value,
                "duration" => lesson.duration = value,
                _ => {}
            },
            Ok(upload::Part::File(file)) => {
                break catalogue::add_lesson(&state.app, &shell.actor, id, &lesson, file).await.map(|_| ());
            }
            Ok(upload::Part::Empty | upload::Part::End) => {
                break Err(FieldErrors::one("file", "请选择课时的视频（mp4、webm）或文档（pdf）"));
            }
            Err(_) => break Err(FieldErrors::one("file", "上传失败：文件过大或连接中断")),
        }
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/institute/courses/{id}#lessons")).into_response()),
        Err(AppError::Invalid(e)) => render_course(&state, shell, id, None, lesson, e, None).await,
        Err(AppError::Refused(m)) => render_course(&state, shell, id, None, lesson, FieldErrors::new(), Some(m)).await,
        Err(e) => Err(e.into()),
    }
}

/// 导入课程目录: the workbook is read whole (at most 2 MB), checked, and its
/// courses saved all or nothing.
async fn import(State(state): State<AppState>, shell: Shell, mut multipart: Multipart) -> WebResult<Response> {
    learning::own_institute(&shell.actor)?;
    let file = match upload::read(&mut multipart, catalogue_import::MAX_BYTES as u64, 1).await {
        Ok(form) => form.file("catalogue").map(|f| f.bytes.clone()).filter(|b| !b.is_empty()),
        Err(_) => None,
    };
    let result = match file {
        Some(bytes) => catalogue_import::import(&state.app, &shell.actor, bytes).await,
        None => Err(FieldErrors::one("catalogue", "请选择不超过2MB的xlsx文件")),
    };
    match result {
        Ok((courses, lessons)) => {
            Ok(Redirect::to(&format!("/institute/courses?imported={courses}-{lessons}")).into_response())
        }
        Err(AppError::Invalid(e)) => {
            let form = CourseForm { year: learning::year_of(&state.app).to_string(), ..CourseForm::default() };
            render_courses(&state, shell, CourseFilter::default(), form, e).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn template(State(state): State<AppState>, shell: Shell) -> WebResult<Response> {
    learning::own_institute(&shell.actor)?;
    let bytes = catalogue_import::template(learning::year_of(&state.app)).map_err(AppError::from)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename*=UTF-8''{}", crate::pages::attachments::percent("课程目录导入模板.xlsx")),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// 上传资料 of one lesson (one made by an import, or a replacement).
async fn attach_material(
    State(state): State<AppState>,
    shell: Shell,
    Path((id, lesson)): Path<(i32, i32)>,
    mut multipart: Multipart,
) -> WebResult<Response> {
    learning::own_institute(&shell.actor)?;
    let mut file_name = String::new();
    let result = loop {
        match upload::next_part(&mut multipart, &mut file_name).await {
            Ok(upload::Part::Text(..)) => {}
            Ok(upload::Part::File(file)) => {
                break catalogue::attach_material(&state.app, &shell.actor, id, lesson, file).await;
            }
            Ok(upload::Part::Empty | upload::Part::End) => {
                break Err(FieldErrors::one("file", "请选择课时的视频（mp4、webm）或文档（pdf）"));
            }
            Err(_) => break Err(FieldErrors::one("file", "上传失败：文件过大或连接中断")),
        }
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/institute/courses/{id}#lessons")).into_response()),
        Err(AppError::Invalid(e)) => render_course(&state, shell, id, None, LessonForm::default(), e, None).await,
        Err(AppError::Refused(m)) => {
            render_course(&state, shell, id, None, LessonForm::default(), FieldErrors::new(), Some(m)).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn remove_lesson(
    State(state): State<AppState>,
    shell: Shell,
    Path((id, lesson)): Path<(i32, i32)>,
) -> WebResult<Response> {
    match catalogue::remove_lesson(&state.app, &shell.actor, id, lesson).await {
        Ok(()) => Ok(Redirect::to(&format!("/institute/courses/{id}#lessons")).into_response()),
        Err(AppError::Refused(m)) => {
            render_course(&state, shell, id, None, LessonForm::default(), FieldErrors::new(), Some(m)).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn set_state(state: &AppState, shell: Shell, id: i32, to: CourseState) -> WebResult<Response> {
    match catalogue::set_state(&state.app, &shell.actor, id, to).await {
        Ok(()) => Ok(Redirect::to(&format!("/institute/courses/{id}")).into_response()),
        Err(AppError::Refused(m)) => {
            render_course(state, shell, id, None, LessonForm::default(), FieldErrors::new(), Some(m)).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn publish(State(state): State<AppState>, shell: Shell, Path(id): Path<i32>) -> WebResult<Response> {
    set_state(&state, shell, id, CourseState::Published).await
}

async fn withdraw(State(state): State<AppState>, shell: Shell, Path(id): Path<i32>) -> WebResult<Response> {
    set_state(&state, shell, id, CourseState::Withdrawn).await
}

#[derive(Template)]
#[template(path = "institute/learners.html")]
pub struct LearnersPage {
    pub shell: Shell,
    pub title: &'static str,
    pub action: &'static str,
    pub year: i32,
    pub years: Vec<i32>,
    pub filter: LearnerFilter,
    pub page: Page<LearnerRow>,
    pub export: bool,
    pub release: bool,
    /// What 解除锁定 did: done, or why not.
    pub notice: Option<Result<String, String>>,
}

impl LearnersPage {
    pub fn page_link(&self, page: u64) -> String {
        format!(
            "{}?year={}&q={}&page={page}",
            self.action,
            self.year,
            crate::pages::attachments::percent(&self.filter.q)
        )
    }
}

pub fn years(this: i32) -> Vec<i32> {
    (this - 4..=this).rev().collect()
}

async fn learners(
    State(state): State<AppState>,
    shell: Shell,
    Query(f): Query<LearnerFilter>,
) -> WebResult<Html<String>> {
    let this = learning::year_of(&state.app);
    let year = f.year.filter(|y| (this - 10..=this + 1).contains(y)).unwrap_or(this);
    let page = reports::institute_learners(&state.app, &shell.actor, &f, year).await?;
    let p = LearnersPage {
        shell,
        title: "学员学习情况",
        action: "/institute/learners",
        year,
        years: years(this),
        filter: f,
        page,
        export: true,
        release: false,
        notice: None,
    };
    Ok(Html(p.render()?))
}

#[derive(Deserialize)]
struct YearQuery {
    year: Option<i32>,
}

async fn export(State(state): State<AppState>, shell: Shell, Query(q): Query<YearQuery>) -> WebResult<Response> {
    let year = q.year.unwrap_or_else(|| learning::year_of(&state.app));
    let (name, bytes) = reports::export(&state.app, &shell.actor, year).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename*=UTF-8''{}", crate::pages::attachments::percent(&name)),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "institute/ratings.html")]
struct RatingsPage {
    shell: Shell,
    year: i32,
    years: Vec<i32>,
    rows: Vec<LessonRating>,
}

async fn ratings(State(state): State<AppState>, shell: Shell, Query(q): Query<YearQuery>) -> WebResult<Html<String>> {
    let this = learning::year_of(&state.app);
    let year = q.year.filter(|y| (this - 10..=this + 1).contains(y)).unwrap_or(this);
    let rows = reports::ratings(&state.app, &shell.actor, year).await?;
    Ok(Html(RatingsPage { shell, year, years: years(this), rows }.render()?))
}

#[derive(Template)]
#[template(path = "institute/keys.html")]
struct KeysPage {
    shell: Shell,
    keys: Vec<Key>,
    /// A key just made: its secret, shown this once.
    made: Option<(String, String)>,
    error: Option<String>,
    path: &'static str,
}

async fn render_keys(
    state: &AppState,
    shell: Shell,
    made: Option<(String, String)>,
    error: Option<String>,
) -> WebResult<Response> {
    let keys = records::keys(&state.app, &shell.actor).await?;
    Ok(Html(KeysPage { shell, keys, made, error, path: crate::api::institute::RECORDS_PATH }.render()?).into_response())
}

async fn keys(State(state): State<AppState>, shell: Shell) -> WebResult<Response> {
    render_keys(&state, shell, None, None).await
}

async fn create_key(State(state): State<AppState>, shell: Shell) -> WebResult<Response> {
    match records::create_key(&state.app, &shell.actor).await {
        Ok(made) => render_keys(&state, shell, Some(made), None).await,
        Err(AppError::Refused(m)) => render_keys(&state, shell, None, Some(m)).await,
        Err(e) => Err(e.into()),
    }
}

async fn revoke_key(State(state): State<AppState>, shell: Shell, Path(id): Path<i32>) -> WebResult<Response> {
    records::revoke_key(&state.app, &shell.actor, id).await?;
    Ok(Redirect::to("/institute/keys").into_response())
}
