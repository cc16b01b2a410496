//! 注册会计师年检, the firm's and the associations' side: the firm's queue
//! 注师待审核 on the review kernel (附件 in the page, 退回 with a reason),
//! 注册会计师年检设置 per association and year, 线下人工核验, and
//! 注册会计师信息同步 (the regulator's data: each run, and the rows it refused).

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use cmis_app::cpa_check::offline::{self, Found, NewRecord, Record};
use cmis_app::cpa_check::settings::{self, CheckSettings, SettingsForm};
use cmis_app::cpa_check::{CheckView, batch, review};
use cmis_app::page::Page;
use cmis_app::regulator::{self, Refused, Run};
use cmis_app::review::Case;
use cmis_app::scope::Permission;
use cmis_app::{AppError, FieldErrors};
use cmis_domain::UserType;
use cmis_domain::cpa_check::{CheckAction, CpaCheck};
use serde::Deserialize;

use crate::AppState;
use crate::error::WebResult;
use crate::pages::review::ReviewPage;
use crate::shell::{Shell, needs};
use crate::upload;

pub fn routes() -> Router<AppState> {
    let settings = Router::new()
        .route("/association/cpa-check-settings", get(settings_page).post(settings_save))
        .route_layer(needs(Permission::CpaCheckSettings));
    let offline = Router::new()
        .route("/association/offline-verifications", get(offline_page).post(offline_save))
        .route_layer(needs(Permission::OfflineVerification));
    let regulator = Router::new()
        .route(
            "/association/regulator",
            get(runs_page).post(upload_run).layer(DefaultBodyLimit::max(regulator::MAX_UPLOAD as usize + 64 * 1024)),
        )
        .route("/association/regulator/{id}", get(run_page))
        .route_layer(needs(Permission::RegulatorSync));
    Router::new().merge(super::review::routes::<CpaCheck>()).merge(settings).merge(offline).merge(regulator)
}

// ---- 注师待审核, on the review kernel ----

#[derive(Template)]
#[template(path = "review/cpa_check.html")]
struct Body {
    v: CheckView,
    days_left: Option<i64>,
    /// The batch it is in: (id, number).
    batch: Option<(i32, String)>,
    staff: bool,
}

#[async_trait::async_trait]
impl ReviewPage for CpaCheck {
    const SLUG: &'static str = "cpa-checks";
    const KEYWORD_HINT: &'static str = "注册会计师证书编号或姓名";
    const EMPTY: &'static str = "暂无注册会计师年检申请";
    const WAITING: &'static str = "待审核";
    const UNIT: &'static str = "所在地区";

    fn base() -> String {
        "/firm/cpa-checks".into()
    }

    fn title(shell: &Shell) -> &'static str {
        if shell.actor.user_type == UserType::Firm { "注师待审核" } else { "注册会计师年检查询" }
    }

    fn case_title(_: &Case<Self>) -> &'static str {
        "注册会计师年检申请"
    }

    /// The association passes many CPAs as their batch (年检批次审核), never here.
    fn batch_action(_shell: &Shell) -> Option<CheckAction> {
        None
    }

    /// The firm's 申请: the ticked CPAs go to the 年检信息 dialog.
    fn send_ticked(shell: &Shell) -> Option<(&'static str, &'static str)> {
        (shell.actor.user_type == UserType::Firm).then_some(("申请", "/firm/cpa-batches/new"))
    }

    fn tabs(shell: &Shell) -> &'static [(&'static str, &'static str)] {
        if shell.actor.user_type == UserType::Firm { crate::pages::firm_review::TABS } else { &[] }
    }

    /// A firm's 注师待审核 holds no batch yet; a firm without branches is
    /// every row's 事务所.
    fn hidden_columns(shell: &Shell) -> &'static [&'static str] {
        match shell.actor.user_type {
            UserType::Firm if shell.actor.firm_ids.len() > 1 => &["年检批次编号"],
            UserType::Firm => &["事务所", "年检批次编号"],
            _ => &[],
        }
    }

    fn row_links(shell: &Shell) -> &'static [(&'static str, &'static str, bool)] {
        if shell.actor.user_type == UserType::Firm {
            &[("附件", "#files", false), ("退回", "#decide", true)]
        } else {
            &[]
        }
    }

    fn unit(state: &AppState, case: &Case<Self>) -> String {
        case.city_association_id
            .or(Some(case.association_id))
            .and_then(|c| state.app.orgs().get(c).map(|a| a.short_name.clone()))
            .unwrap_or_default()
    }

    async fn data(
        state: &AppState,
        actor: &cmis_app::Actor,
        case: &Case<Self>,
    ) -> WebResult<(serde_json::Value, Vec<String>)> {
        let (v, returnable) = review::body(&state.app, actor, case.id).await?;
        Ok((serde_json::to_value(&v).map_err(anyhow::Error::from)?, returnable))
    }

    async fn body(state: &AppState, shell: &Shell, case: &Case<Self>, _page: u64) -> WebResult<(String, Vec<String>)> {
        let (v, returnable) = review::body(&state.app, &shell.actor, case.id).await?;
        let batch = batch::of_case(&state.app, case.id).await?;
        let staff = shell.actor.is_staff();
        Ok((Body { v, days_left: case.days_left(state.app.today()), batch, staff }.render()?, returnable))
    }
}

// ---- 注册会计师年检设置 ----

#[derive(Deserialize, Default)]
struct YearQuery {
    year: Option<String>,
    saved: Option<String>,
}

#[derive(Template)]
#[template(path = "association/cpa_check_settings.html")]
struct SettingsPage {
    shell: Shell,
    year: i32,
    s: CheckSettings,
    f: SettingsForm,
    errors: FieldErrors,
    saved: bool,
    /// A province's city associations and whether each reviews CPAs' checks (委托市注协审核).
    cities: Vec<(i32, String, bool)>,
}

fn cities_of(state: &AppState, shell: &Shell) -> Vec<(i32, String, bool)> {
    if shell.actor.association_level != cmis_domain::AssociationLevel::Provincial {
        return vec![];
    }
    state
        .app
        .orgs()
        .children(shell.actor.association_id)
        .map(|c| (c.id, c.name.clone(), c.reviews_cpa_checks))
        .collect()
}

impl SettingsPage {
    fn error(&self, key: &str) -> Option<&str> {
        self.errors.get(key)
    }
}

async fn year_or_current(state: &AppState, shell: &Shell, q: Option<&str>) -> WebResult<i32> {
    Ok(match crate::pages::year_of(q) {
        Some(y) => y,
        None => settings::current_year(&state.app, shell.actor.association_id, state.app.today()).await?,
    })
}

async fn settings_page(
    State(state): State<AppState>,
    shell: Shell,
    Query(q): Query<YearQuery>,
) -> WebResult<Html<String>> {
    let year = year_or_current(&state, &shell, q.year.as_deref()).await?;
    let s = settings::for_editing(&state.app, &shell.actor, year).await?;
    let f = SettingsForm::from_settings(&s);
    let cities = cities_of(&state, &shell);
    let page = SettingsPage { shell, year, s, f, errors: FieldErrors::new(), saved: q.saved.is_some(), cities };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
struct SaveForm {
    #[serde(default)]
    window_start: String,
    #[serde(default)]
    window_end: String,
    #[serde(default)]
    annual_hours: String,
    #[serde(default)]
    pre_notice: String,
    #[serde(default)]
    success_notice: String,
    #[serde(default)]
    serving_materials: String,
    #[serde(default)]
    retired_materials: String,
    #[serde(default)]
    batch_materials: String,
}

async fn settings_save(
    State(state): State<AppState>,
    shell: Shell,
    Query(q): Query<YearQuery>,
    Form(form): Form<SaveForm>,
) -> WebResult<Response> {
    let year = year_or_current(&state, &shell, q.year.as_deref()).await?;
    let f = SettingsForm {
        window_start: form.window_start,
        window_end: form.window_end,
        annual_hours: form.annual_hours,
        pre_notice: form.pre_notice,
        success_notice: form.success_notice,
        serving_materials: form.serving_materials,
        retired_materials: form.retired_materials,
        batch_materials: form.batch_materials,
    };
    match settings::save(&state.app, &shell.actor, year, &f).await {
        Ok(_) => Ok(Redirect::to(&format!("/association/cpa-check-settings?year={year}&saved=1")).into_response()),
        Err(AppError::Invalid(errors)) => {
            let s = settings::for_editing(&state.app, &shell.actor, year).await?;
            let cities = cities_of(&state, &shell);
            Ok(Html(SettingsPage { shell, year, s, f, errors, saved: false, cities }.render()?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

// ---- 线下人工核验 ----

#[derive(Deserialize, Default)]
struct OfflineQuery {
    cpa_no: Option<String>,
    page: Option<u64>,
    saved: Option<String>,
}

#[derive(Template)]
#[template(path = "association/offline_verifications.html")]
struct OfflinePage {
    shell: Shell,
    cpa_no: String,
    found: Option<Found>,
    f: NewRecord,
    errors: FieldErrors,
    saved: bool,
    list: Page<Record>,
    documents: Vec<(&'static str, &'static str)>,
    today: String,
}

impl OfflinePage {
    fn error(&self, key: &str) -> Option<&str> {
        self.errors.get(key)
    }
}

fn documents() -> Vec<(&'static str, &'static str)> {
    cmis_domain::IdType::ALL.into_iter().map(|t| (t.code(), t.label())).collect()
}

async fn offline_render(
    state: &AppState,
    shell: Shell,
    cpa_no: String,
    f: NewRecord,
    mut errors: FieldErrors,
    page: u64,
    saved: bool,
) -> WebResult<Response> {
    let found = if cpa_no.trim().is_empty() {
        None
    } else {
        match offline::find(&state.app, &shell.actor, &cpa_no).await {
            Ok(f) => Some(f),
            Err(AppError::Invalid(e)) => {
                errors.0.extend(e.0);
                None
            }
            Err(e) => return Err(e.into()),
        }
    };
    let list = offline::list(&state.app, &shell.actor, page).await?;
    let page = OfflinePage {
        today: state.app.today().to_string(),
        shell,
        cpa_no,
        found,
        f,
        errors,
        saved,
        list,
        documents: documents(),
    };
    Ok(Html(page.render()?).into_response())
}

async fn offline_page(
    State(state): State<AppState>,
    shell: Shell,
    Query(q): Query<OfflineQuery>,
) -> WebResult<Response> {
    let cpa_no = q.cpa_no.unwrap_or_default();
    let f = NewRecord { cpa_no: cpa_no.clone(), ..Default::default() };
    offline_render(&state, shell, cpa_no, f, FieldErrors::new(), q.page.unwrap_or(1), q.saved.is_some()).await
}

async fn offline_save(State(state): State<AppState>, shell: Shell, Form(f): Form<NewRecord>) -> WebResult<Response> {
    match offline::record(&state.app, &shell.actor, &f).await {
        Ok(r) => {
            Ok(Redirect::to(&format!("/association/offline-verifications?cpa_no={}&saved=1", r.cpa_no)).into_response())
        }
        Err(AppError::Invalid(errors)) => {
            let cpa_no = f.cpa_no.clone();
            offline_render(&state, shell, cpa_no, f, errors, 1, false).await
        }
        Err(e) => Err(e.into()),
    }
}

// ---- 注册会计师信息同步 ----

#[derive(Deserialize, Default)]
struct PageQuery {
    page: Option<u64>,
}

#[derive(Template)]
#[template(path = "association/regulator_runs.html")]
struct RunsPage {
    shell: Shell,
    runs: Page<Run>,
    error: Option<String>,
}

async fn runs_page(State(state): State<AppState>, shell: Shell, Query(q): Query<PageQuery>) -> WebResult<Html<String>> {
    let runs = regulator::runs(&state.app, &shell.actor, q.page.unwrap_or(1)).await?;
    Ok(Html(RunsPage { shell, runs, error: None }.render()?))
}

/// 上传同步文件: the run is a job, with its progress on the job's page.
async fn upload_run(State(state): State<AppState>, shell: Shell, mut mp: Multipart) -> WebResult<Response> {
    Permission::RegulatorSync.require(&shell.actor)?;
    let error = match upload::read(&mut mp, regulator::MAX_UPLOAD, 1).await {
        Ok(form) => match form.file("file") {
            None => Some("请选择要上传的文件".to_owned()),
            Some(file) => {
                match regulator::submit_file(&state.app, &shell.actor, &file.name, file.bytes.clone()).await {
                    Ok(job) => return Ok(Redirect::to(&format!("/jobs/{job}")).into_response()),
                    Err(AppError::Invalid(e)) => e.0.into_iter().next().map(|(_, m)| m),
                    Err(e) => return Err(e.into()),
                }
            }
        },
        Err(r) => Some(match r.why {
            upload::Refused::TooLarge(_) => format!("文件不能超过{}MB", regulator::MAX_UPLOAD >> 20),
            _ => "上传失败，请重新选择文件".to_owned(),
        }),
    };
    let runs = regulator::runs(&state.app, &shell.actor, 1).await?;
    Ok(Html(RunsPage { shell, runs, error }.render()?).into_response())
}

#[derive(Template)]
#[template(path = "association/regulator_run.html")]
struct RunPage {
    shell: Shell,
    run: Run,
    refused: Page<Refused>,
}

async fn run_page(
    State(state): State<AppState>,
    shell: Shell,
    Path(id): Path<i32>,
    Query(q): Query<PageQuery>,
) -> WebResult<Html<String>> {
    let (run, refused) = regulator::refusals(&state.app, &shell.actor, id, q.page.unwrap_or(1)).await?;
    Ok(Html(RunPage { shell, run, refused }.render()?))
}
