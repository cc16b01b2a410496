//! 非执业会员年检, the association's side: 年检审核 (queue, detail,
//! decisions, batch 通过), 会费确认, 年检进度 with its Excel export, 年检设置,
//! and the learning-record ledger (学时记录: by hand or imported from Excel).

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use cmis_app::inspection::fees::{self, FeeFilter, FeeRow};
use cmis_app::inspection::learning::{self, ImportPreview, Ledger, NewRecord};
use cmis_app::inspection::report::{self, Progress};
use cmis_app::inspection::review::{self, Detail, QueueFilter, QueueRow};
use cmis_app::inspection::settings::{self, InspectionSettings, SettingsForm};
use cmis_app::page::Page;
use cmis_app::{AppError, FieldErrors};
use cmis_domain::AssociationLevel;
use cmis_domain::inspection::{InspectionAction, InspectionState};
use serde::Deserialize;

use crate::AppState;
use crate::error::WebResult;
use crate::pages::inspection::view_page;
use crate::shell::{Auth, Shell};
use crate::upload;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/association/inspections", get(queue))
        .route("/association/inspections/batch-pass", post(batch_pass))
        .route("/association/inspections/{id}", get(detail))
        .route("/association/inspections/{id}/decide", post(decide))
        .route("/association/inspection-fees", get(fee_queue).post(fee_confirm))
        .route("/association/inspection-progress", get(progress))
        .route("/association/inspection-progress/export.xlsx", get(export))
        .route("/association/inspection-settings", get(settings_page).post(settings_save))
        .route("/association/learning-records", get(ledger).post(add_record))
        .route(
            "/association/learning-records/import",
            post(import_preview).layer(DefaultBodyLimit::max(6 * 1024 * 1024)),
        )
        .route("/association/learning-records/import/confirm", post(import_confirm))
        .route("/association/learning-records/template.xlsx", get(import_template))
}

fn enc(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

fn states() -> Vec<(&'static str, &'static str)> {
    InspectionState::ALL.iter().map(|s| (s.code(), s.label())).collect()
}

// ---- 年检审核 ----

#[derive(Deserialize, Default)]
struct QueueQuery {
    year: Option<String>,
    state: Option<String>,
    city: Option<String>,
    overdue: Option<String>,
    keyword: Option<String>,
    page: Option<u64>,
    passed: Option<usize>,
    skipped: Option<String>,
}

#[derive(Template)]
#[template(path = "association/inspections.html")]
struct QueuePage {
    shell: Shell,
    rows: Page<QueueRow>,
    year: i32,
    state: String,
    city: String,
    overdue: bool,
    keyword: String,
    states: Vec<(&'static str, &'static str)>,
    cities: Vec<(i32, String)>,
    decides: bool,
    message: Option<String>,
}

impl QueuePage {
    fn page_link(&self, page: u64) -> String {
        format!(
            "/association/inspections?year={}&state={}&city={}&keyword={}{}&page={page}",
            self.year,
            self.state,
            self.city,
            enc(&self.keyword),
            if self.overdue { "&overdue=1" } else { "" }
        )
    }
    fn overdue_row(&self, r: &QueueRow) -> bool {
        r.days_left.is_some_and(|d| d < 0)
    }
    fn city_selected(&self, id: &i32) -> bool {
        self.city == id.to_string()
    }
}

/// The city associations a staff member may filter by.
fn cities_of(state: &AppState, shell: &Shell) -> Vec<(i32, String)> {
    let orgs = &state.app.orgs;
    match shell.actor.association_level {
        AssociationLevel::Provincial => {
            orgs.children(shell.actor.association_id).map(|a| (a.id, a.short_name.clone())).collect()
        }
        AssociationLevel::National => {
            orgs.all().iter().filter(|a| a.level == AssociationLevel::City).map(|a| (a.id, a.name.clone())).collect()
        }
        AssociationLevel::City => vec![],
    }
}

async fn queue(State(state): State<AppState>, shell: Shell, Query(q): Query<QueueQuery>) -> WebResult<Html<String>> {
    let year = match q.year.as_deref().and_then(|y| y.trim().parse().ok()) {
        Some(y) => y,
        None => review::default_year(&state.app, &shell.actor).await?,
    };
    let filter = QueueFilter {
        year: Some(year),
        state: q.state.as_deref().and_then(InspectionState::from_code),
        city: q.city.as_deref().and_then(|c| c.parse().ok()),
        overdue: q.overdue.is_some(),
        keyword: q.keyword.clone().unwrap_or_default(),
        page: q.page.unwrap_or(1),
    };
    let rows = review::queue(&state.app, &shell.actor, &filter).await?;
    let message = q.passed.map(|n| {
        let skipped = q.skipped.clone().unwrap_or_default();
        if skipped.is_empty() {
            format!("已批量通过{n}条")
        } else {
            format!("已批量通过{n}条；未通过：{skipped}")
        }
    });
    let page = QueuePage {
        cities: cities_of(&state, &shell),
        decides: review::decides(&shell.actor),
        rows,
        year,
        state: q.state.unwrap_or_default(),
        city: q.city.unwrap_or_default(),
        overdue: filter.overdue,
        keyword: filter.keyword,
        states: states(),
        message,
        shell,
    };
    Ok(Html(page.render()?))
}

async fn batch_pass(
    State(state): State<AppState>,
    shell: Shell,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let ids: Vec<i32> = pairs.iter().filter(|(k, _)| k == "id").filter_map(|(_, v)| v.parse().ok()).collect();
    let back = pairs.iter().find(|(k, _)| k == "back").map(|(_, v)| v.clone()).unwrap_or_default();
    let (passed, skipped) = match review::batch_pass(&state.app, &shell.actor, &ids).await {
        Ok(r) => r,
        Err(AppError::Refused(m)) => (0, vec![m]),
        Err(e) => return Err(e.into()),
    };
    let year = if back.is_empty() { String::new() } else { format!("&year={}", enc(&back)) };
    Ok(Redirect::to(&format!("/association/inspections?passed={passed}&skipped={}{year}", enc(&skipped.join("；"))))
        .into_response())
}

#[derive(Template)]
#[template(path = "association/inspection.html")]
struct DetailPage {
    shell: Shell,
    view: crate::pages::inspection::ViewPage,
    d: DetailMeta,
    errors: FieldErrors,
    done: Option<String>,
}

struct DetailMeta {
    id: i32,
    actions: Vec<InspectionAction>,
    days_left: Option<i64>,
    returnable: Vec<String>,
    is_deferral: bool,
}

impl DetailPage {
    fn can(&self, code: &str) -> bool {
        self.d.actions.iter().any(|a| a.code() == code)
    }
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

async fn render_detail(
    state: &AppState,
    shell: Shell,
    id: i32,
    errors: FieldErrors,
    done: Option<String>,
) -> WebResult<Html<String>> {
    let Detail { view, actions, days_left, returnable, .. } = review::detail(&state.app, &shell.actor, id).await?;
    let d = DetailMeta { id, actions, days_left, returnable, is_deferral: view.row.state.is_deferral() };
    let view_shell = Shell {
        actor: shell.actor.clone(),
        csrf: shell.csrf.clone(),
        unread: shell.unread,
        path: shell.path.clone(),
        menu: vec![],
    };
    let view = view_page(state, view_shell, view, false);
    Ok(Html(DetailPage { shell, view, d, errors, done }.render()?))
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn detail(
    State(state): State<AppState>,
    shell: Shell,
    Path(id): Path<i32>,
    Query(q): Query<DoneQuery>,
) -> WebResult<Html<String>> {
    let done = q.done.as_deref().and_then(InspectionAction::from_code).map(|a| format!("已办理：{}", a.label()));
    render_detail(&state, shell, id, FieldErrors::new(), done).await
}

async fn decide(
    State(state): State<AppState>,
    shell: Shell,
    Path(id): Path<i32>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let code = get("action");
    let Some(action) = InspectionAction::from_code(&code) else {
        return Err(AppError::Refused("未知的操作".into()).into());
    };
    let items: Vec<String> = pairs.iter().filter(|(k, _)| k == "item").map(|(_, v)| v.clone()).collect();
    match review::decide(&state.app, &shell.actor, id, action, &get("reason"), &items).await {
        Ok(_) => Ok(Redirect::to(&format!("/association/inspections/{id}?done={code}")).into_response()),
        Err(AppError::Invalid(errors)) => {
            let errors = super::reason_errors(errors, &code);
            Ok(render_detail(&state, shell, id, errors, None).await?.into_response())
        }
        Err(e) => Err(e.into()),
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
            "/association/inspection-fees?year={}&keyword={}{}&page={page}",
            self.year,
            enc(&self.keyword),
            if self.all { "&all=1" } else { "" }
        )
    }
}

async fn fee_queue(State(state): State<AppState>, shell: Shell, Query(q): Query<FeeQuery>) -> WebResult<Html<String>> {
    let f = FeeFilter {
        year: q.year.as_deref().and_then(|y| y.trim().parse().ok()),
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
    Ok(Redirect::to(&format!("/association/inspection-fees?confirmed={n}")).into_response())
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
    let year = q.year.as_deref().and_then(|y| y.trim().parse().ok());
    let p = report::progress(&state.app, &shell.actor, year).await?;
    Ok(Html(ProgressPage { shell, p, states: states() }.render()?))
}

async fn export(State(state): State<AppState>, Auth(actor): Auth, Query(q): Query<YearQuery>) -> WebResult<Response> {
    let year = match q.year.as_deref().and_then(|y| y.trim().parse().ok()) {
        Some(y) => y,
        None => review::default_year(&state.app, &actor).await?,
    };
    let st = q.state.as_deref().and_then(InspectionState::from_code);
    let bytes = report::export(&state.app, &actor, year, st).await?;
    let name = format!("{year}年度非执业会员年检.xlsx");
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename*=UTF-8''{}", enc(&name))),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
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
    Ok(match q.year.as_deref().and_then(|y| y.trim().parse().ok()) {
        Some(y) => y,
        None => review::default_year(&state.app, &shell.actor).await?,
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
        Ok(_) => Ok(Redirect::to(&format!("/association/inspection-settings?year={year}&saved=1")).into_response()),
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
        }
    }
}

// ---- 学时记录 ----

#[derive(Deserialize, Default)]
struct LedgerQuery {
    cert_no: Option<String>,
    saved: Option<String>,
    imported: Option<usize>,
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
    preview: Option<ImportPreview>,
    categories: &'static [(&'static str, &'static str)],
    grounds: &'static [(&'static str, &'static str)],
    header: String,
}

impl LedgerPage {
    fn error(&self, key: &str) -> Option<&str> {
        self.errors.get(key)
    }
    fn hours(&self, h: &f64) -> String {
        cmis_app::inspection::fmt_hours(*h)
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
        preview: None,
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
    page.message = if q.saved.is_some() {
        Some("已保存".into())
    } else {
        q.imported.map(|n| format!("已导入{n}条学时记录"))
    };
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
        Some(bytes) => match learning::preview(&state.app, &page.shell.actor, bytes).await {
            Ok(p) => page.preview = Some(p),
            Err(AppError::Invalid(e)) => page.errors = e,
            Err(e) => return Err(e.into()),
        },
    }
    Ok(Html(page.render()?).into_response())
}

#[derive(Deserialize)]
struct ConfirmForm {
    token: String,
}

async fn import_confirm(
    State(state): State<AppState>,
    shell: Shell,
    Form(f): Form<ConfirmForm>,
) -> WebResult<Response> {
    match learning::confirm(&state.app, &shell.actor, &f.token).await {
        Ok(n) => Ok(Redirect::to(&format!("/association/learning-records?imported={n}")).into_response()),
        Err(AppError::Refused(m)) => {
            let mut page = ledger_page(shell, String::new());
            page.errors = FieldErrors::one_set("file", m);
            Ok(Html(page.render()?).into_response())
        }
        Err(e) => Err(e.into()),
    }
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
