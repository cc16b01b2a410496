//! 非执业会员年检, the association's side: 年检审核 (the review kernel's pages,
//! with this workflow's words and case body), 会费确认, 年检进度 with its Excel
//! export, 年检设置, and the learning-record ledger (学时记录: by hand or
//! imported from Excel).

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use cmis_app::member_inspection::InspectionView;
use cmis_app::member_inspection::fees::{self, FeeFilter, FeeRow};
use cmis_app::member_inspection::learning::{self, Ledger, NewRecord};
use cmis_app::member_inspection::report::{self, Progress};
use cmis_app::member_inspection::review;
use cmis_app::member_inspection::settings::{self, InspectionSettings, SettingsForm};
use cmis_app::page::Page;
use cmis_app::review::Case;
use cmis_app::scope::Permission;
use cmis_app::{AppError, FieldErrors};
use cmis_domain::member_inspection::{InspectionAction, InspectionState, MemberInspection};
use cmis_domain::review::Reviewer;
use serde::Deserialize;

use crate::AppState;
use crate::error::WebResult;
use crate::pages::member_inspection_view::personal_groups;
use crate::pages::review::ReviewPage;
use crate::profile_form::{self, ShownGroup};
use crate::shell::{Auth, Shell, needs};
use crate::upload;

pub fn routes() -> Router<AppState> {
    let fees = Router::new()
        .route("/association/member-inspection-fees", get(fee_queue).post(fee_confirm))
        .route_layer(needs(Permission::ConfirmFees));
    let progress = Router::new()
        .route("/association/member-inspection-progress", get(progress))
        .route("/association/member-inspection-progress/export", post(export))
        .route_layer(needs(Permission::InspectionProgress));
    let settings = Router::new()
        .route("/association/member-inspection-settings", get(settings_page).post(settings_save))
        .route_layer(needs(Permission::InspectionSettings));
    let ledger = Router::new()
        .route("/association/learning-records", get(ledger).post(add_record))
        .route(
            "/association/learning-records/import",
            post(import_preview).layer(DefaultBodyLimit::max(6 * 1024 * 1024)),
        )
        .route("/association/learning-records/template.xlsx", get(import_template))
        .route_layer(needs(Permission::LearningLedger));
    Router::new()
        .merge(super::review::routes::<MemberInspection>())
        .merge(fees)
        .merge(progress)
        .merge(settings)
        .merge(ledger)
}

fn enc(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

// ---- 年检审核, on the review kernel ----

#[derive(Template)]
#[template(path = "review/member_inspection.html")]
struct Body {
    v: InspectionView,
    groups: Vec<ShownGroup>,
    qualifications: String,
    d: BodyMeta,
}

struct BodyMeta {
    days_left: Option<i64>,
    is_deferral: bool,
    /// For a 年检不予通过 not yet final: the day it takes effect.
    final_on: Option<chrono::NaiveDate>,
}

#[async_trait::async_trait]
impl ReviewPage for MemberInspection {
    const SLUG: &'static str = "member-inspections";
    const KEYWORD_HINT: &'static str = "会员编号或姓名";
    const EMPTY: &'static str = "暂无年检申请";
    const WAITING: &'static str = "待审核（含暂缓）";
    const UNIT: &'static str = "市注协";

    fn title(_: &Shell) -> &'static str {
        "非执业会员年检审核"
    }

    fn case_title(case: &Case<Self>) -> &'static str {
        if case.state.is_deferral() { "暂缓年检审核" } else { "年检审核" }
    }

    fn batch_action(shell: &Shell) -> Option<InspectionAction> {
        (cmis_app::scope::reviewer(&shell.actor) == Some(Reviewer::Province)).then_some(InspectionAction::Pass)
    }

    fn unit(state: &AppState, case: &Case<Self>) -> String {
        case.city_association_id.and_then(|c| state.app.orgs().get(c).map(|a| a.short_name.clone())).unwrap_or_default()
    }

    async fn data(
        state: &AppState,
        actor: &cmis_app::Actor,
        case: &Case<Self>,
    ) -> WebResult<(serde_json::Value, Vec<String>)> {
        let b = review::body(&state.app, actor, case.id).await?;
        Ok((serde_json::to_value(&b.view).map_err(anyhow::Error::from)?, b.returnable))
    }

    async fn body(state: &AppState, shell: &Shell, case: &Case<Self>, _page: u64) -> WebResult<(String, Vec<String>)> {
        let b = review::body(&state.app, &shell.actor, case.id).await?;
        let final_on = (case.state == InspectionState::Failed).then(|| case.deadline + chrono::Days::new(1));
        let d =
            BodyMeta { days_left: case.days_left(state.app.today()), is_deferral: case.state.is_deferral(), final_on };
        let groups = personal_groups(state, &b.view, false);
        let qualifications = profile_form::qualification_line(&b.view.profile);
        Ok((Body { v: b.view, groups, qualifications, d }.render()?, b.returnable))
    }
}

// ---- 会费确认 ----

#[derive(Deserialize, Default)]
struct FeeQuery {
    year: Option<String>,
    keyword: Option<String>,
    all: Option<String>,
    page: Option<u64>,
    confirmed: Option<usize>,
}

#[derive(Template)]
#[template(path = "association/inspection_fees.html")]
struct FeePage {
    shell: Shell,
    rows: Page<FeeRow>,
    year: String,
    keyword: String,
    all: bool,
    message: Option<String>,
}

impl FeePage {
    fn page_link(&self, page: u64) -> String {
        format!(
            "/association/member-inspection-fees?year={}&keyword={}{}&page={page}",
            self.year,
            enc(&self.keyword),
            if self.all { "&all=1" } else { "" }
        )
    }
}

async fn fee_queue(State(state): State<AppState>, shell: Shell, Query(q): Query<FeeQuery>) -> WebResult<Html<String>> {
    let f = FeeFilter {
        year: super::year_of(q.year.as_deref()),
        keyword: q.keyword.clone().unwrap_or_default(),
        all: q.all.is_some(),
        page: q.page.unwrap_or(1),
    };
    let rows = fees::queue(&state.app, &shell.actor, &f).await?;
    let page = FeePage {
        rows,
        year: q.year.unwrap_or_default(),
        keyword: f.keyword,
        all: f.all,
        message: q.confirmed.map(|n| format!("已确认{n}条会费缴纳记录")),
        shell,
    };
    Ok(Html(page.render()?))
}

async fn fee_confirm(
    State(state): State<AppState>,
    shell: Shell,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let ids: Vec<i32> = pairs.iter().filter(|(k, _)| k == "id").filter_map(|(_, v)| v.parse().ok()).collect();
    let n = fees::confirm(&state.app, &shell.actor, &ids).await?;
    Ok(Redirect::to(&format!("/association/member-inspection-fees?confirmed={n}")).into_response())
}

// ---- 年检进度 ----

#[derive(Deserialize, Default)]
struct YearQuery {
    year: Option<String>,
    state: Option<String>,
    saved: Option<String>,
}

#[derive(Template)]
#[template(path = "association/inspection_progress.html")]
struct ProgressPage {
    shell: Shell,
    p: Progress,
    states: Vec<(&'static str, &'static str)>,
}

async fn progress(State(state): State<AppState>, shell: Shell, Query(q): Query<YearQuery>) -> WebResult<Html<String>> {
    let year = super::year_of(q.year.as_deref());
    let p = report::progress(&state.app, &shell.actor, year).await?;
    let states = InspectionState::ALL.iter().map(|s| (s.code(), s.label())).collect();
    Ok(Html(ProgressPage { shell, p, states }.render()?))
}

/// 导出Excel of the year's applications: a job.
async fn export(State(state): State<AppState>, shell: Shell, Form(q): Form<YearQuery>) -> WebResult<Response> {
    let year = match super::year_of(q.year.as_deref()) {
        Some(y) => y,
        None => report::progress(&state.app, &shell.actor, None).await?.year,
    };
    let st = q.state.as_deref().and_then(|c| InspectionState::parse(c).ok());
    let job = report::request_export(&state.app, &shell.actor, year, st).await?;
    Ok(Redirect::to(&format!("/jobs/{job}")).into_response())
}

// ---- 年检设置 ----

#[derive(Template)]
#[template(path = "association/inspection_settings.html")]
struct SettingsPage {
    shell: Shell,
    year: i32,
    s: InspectionSettings,
    f: SettingsForm,
    errors: FieldErrors,
    saved: bool,
}

impl SettingsPage {
    fn error(&self, key: &str) -> Option<&str> {
        self.errors.get(key)
    }
}

async fn settings_year(state: &AppState, shell: &Shell, q: &YearQuery) -> WebResult<i32> {
    Ok(match super::year_of(q.year.as_deref()) {
        Some(y) => y,
        None => <MemberInspection as cmis_app::review::Reviewed>::default_year(&state.app, &shell.actor)
            .await?
            .unwrap_or_else(|| chrono::Datelike::year(&state.app.today())),
    })
}

async fn settings_page(
    State(state): State<AppState>,
    shell: Shell,
    Query(q): Query<YearQuery>,
) -> WebResult<Html<String>> {
    let year = settings_year(&state, &shell, &q).await?;
    let s = settings::for_editing(&state.app, &shell.actor, year).await?;
    let f = SettingsForm::from_settings(&s);
    Ok(Html(SettingsPage { shell, year, s, f, errors: FieldErrors::new(), saved: q.saved.is_some() }.render()?))
}

async fn settings_save(
    State(state): State<AppState>,
    shell: Shell,
    Query(q): Query<YearQuery>,
    Form(f): Form<SettingsFormIn>,
) -> WebResult<Response> {
    let year = settings_year(&state, &shell, &q).await?;
    let form = f.into_form();
    match settings::save(&state.app, &shell.actor, year, &form).await {
        Ok(_) => {
            Ok(Redirect::to(&format!("/association/member-inspection-settings?year={year}&saved=1")).into_response())
        }
        Err(AppError::Invalid(errors)) => {
            let s = settings::for_editing(&state.app, &shell.actor, year).await?;
            Ok(Html(SettingsPage { shell, year, s, f: form, errors, saved: false }.render()?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// The form as posted: the checkbox is absent when unticked.
#[derive(Deserialize)]
struct SettingsFormIn {
    window_start: String,
    window_end: String,
    annual_hours: String,
    fee_yuan: String,
    exempt_maternity: Option<String>,
    #[serde(default)]
    materials: String,
    #[serde(default)]
    pre_notice: String,
    #[serde(default)]
    success_notice: String,
    max_deferral_years: String,
    deferral_proof: Option<String>,
    #[serde(default)]
    failure_final_days: String,
}

impl SettingsFormIn {
    fn into_form(self) -> SettingsForm {
        SettingsForm {
            window_start: self.window_start,
            window_end: self.window_end,
            annual_hours: self.annual_hours,
            fee_yuan: self.fee_yuan,
            exempt_maternity: self.exempt_maternity.is_some(),
            materials: self.materials,
            pre_notice: self.pre_notice,
            success_notice: self.success_notice,
            max_deferral_years: self.max_deferral_years,
            deferral_proof: self.deferral_proof.is_some(),
            failure_final_days: self.failure_final_days,
        }
    }
}

// ---- 学时记录 ----

#[derive(Deserialize, Default)]
struct LedgerQuery {
    cert_no: Option<String>,
    saved: Option<String>,
}

#[derive(Template)]
#[template(path = "association/learning_records.html")]
struct LedgerPage {
    shell: Shell,
    cert_no: String,
    ledger: Option<Ledger>,
    form: NewRecord,
    errors: FieldErrors,
    message: Option<String>,
    categories: &'static [(&'static str, &'static str)],
    grounds: &'static [(&'static str, &'static str)],
    header: String,
}

impl LedgerPage {
    fn error(&self, key: &str) -> Option<&str> {
        self.errors.get(key)
    }
}

fn ledger_page(shell: Shell, cert_no: String) -> LedgerPage {
    LedgerPage {
        shell,
        form: NewRecord { cert_no: cert_no.clone(), kind: "record".into(), ..Default::default() },
        cert_no,
        ledger: None,
        errors: FieldErrors::new(),
        message: None,
        categories: learning::CATEGORIES,
        grounds: learning::REDUCTION_GROUNDS,
        header: learning::IMPORT_HEADER.join("、"),
    }
}

async fn ledger(State(state): State<AppState>, shell: Shell, Query(q): Query<LedgerQuery>) -> WebResult<Html<String>> {
    let cert_no = q.cert_no.clone().unwrap_or_default().trim().to_owned();
    let mut page = ledger_page(shell, cert_no.clone());
    if !cert_no.is_empty() {
        match learning::ledger(&state.app, &page.shell.actor, &cert_no).await {
            Ok(l) => page.ledger = Some(l),
            Err(AppError::Invalid(e)) => page.errors = e,
            Err(e) => return Err(e.into()),
        }
    }
    page.message = q.saved.is_some().then(|| "已保存".into());
    Ok(Html(page.render()?))
}

async fn add_record(State(state): State<AppState>, shell: Shell, Form(f): Form<NewRecord>) -> WebResult<Response> {
    match learning::add(&state.app, &shell.actor, &f).await {
        Ok(()) => {
            Ok(Redirect::to(&format!("/association/learning-records?cert_no={}&saved=1", enc(&f.cert_no)))
                .into_response())
        }
        Err(AppError::Invalid(errors)) => {
            let mut page = ledger_page(shell, f.cert_no.clone());
            page.ledger = learning::ledger(&state.app, &page.shell.actor, &f.cert_no).await.ok();
            page.form = f;
            page.errors = errors;
            Ok(Html(page.render()?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// 预览: the workbook is checked by a job, whose page shows the progress,
/// then every row with its errors and 确认导入.
async fn import_preview(State(state): State<AppState>, shell: Shell, mut mp: Multipart) -> WebResult<Response> {
    learning::may_import(&shell.actor)?;
    let read = upload::read(&mut mp, learning::MAX_IMPORT_BYTES, 1).await;
    let mut page = ledger_page(shell, String::new());
    let file = match read {
        Ok(form) => form.file("file").map(|f| f.bytes.clone()),
        Err(r) => {
            let m = match r.why {
                upload::Refused::TooLarge(_) => format!("文件不能超过{}MB", learning::MAX_IMPORT_BYTES / 1024 / 1024),
                _ => "上传失败，请重新选择文件".to_owned(),
            };
            page.errors = FieldErrors::one_set("file", m);
            return Ok(Html(page.render()?).into_response());
        }
    };
    match file.filter(|b| !b.is_empty()) {
        None => page.errors = FieldErrors::one_set("file", "请选择要导入的Excel文件"),
        Some(bytes) => match learning::request_check(&state.app, &page.shell.actor, bytes).await {
            Ok(job) => return Ok(Redirect::to(&format!("/jobs/{job}")).into_response()),
            Err(AppError::Invalid(e)) => page.errors = e,
            Err(e) => return Err(e.into()),
        },
    }
    Ok(Html(page.render()?).into_response())
}

async fn import_template(Auth(actor): Auth) -> WebResult<Response> {
    if !actor.is_staff() {
        return Err(AppError::Forbidden.into());
    }
    let bytes = learning::template_workbook(&[["44202500001", "2025", "8", "专业", "企业会计准则专题"]])?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename*=UTF-8''{}", enc("学时记录导入模板.xlsx"))),
        ],
        bytes,
    )
        .into_response())
}
