//! 非执业申请进度查询 (seed 003 §2): by business number (业务编号查询) or by
//! the applicant's information (基本信息查询, which alone shows an initial
//! password), and the correction and resubmission of a returned application.

use askama::Template;
use axum::extract::{Multipart, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use chrono::Utc;
use cmis_app::approval::Step;
use cmis_app::member_admission::{self, Credentials, InfoQuery, Progress};
use cmis_app::{AppError, FieldErrors, captcha};
use cmis_domain::IdType;
use cmis_domain::member_admission::AdmissionState;
use rand::Rng;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::ClientAddr;
use super::member_admission::{EDITING, Editing, FormPage, SHOWN, read_form};
use super::portal::{CaptchaPartial, new_captcha};
use crate::AppState;
use crate::csrf::CsrfToken;
use crate::error::WebResult;
use crate::trail::TrailView;

/// The sum the 基本信息查询 form asks, kept for its answer.
const ARITHMETIC: &str = "admission_arithmetic";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/member-admission/progress", get(choose))
        .route("/member-admission/progress/number", get(number_page).post(by_number))
        .route("/member-admission/progress/info", get(info_page).post(by_info))
        .route("/member-admission/edit", post(edit_page))
        .route(
            "/member-admission/edit/submit",
            post(resubmit).layer(axum::extract::DefaultBodyLimit::max(super::member_admission::FORM_BODY_MAX)),
        )
}

#[derive(Template)]
#[template(path = "member_admission/progress_choose.html")]
struct ChoosePage;

async fn choose() -> WebResult<Html<String>> {
    Ok(Html(ChoosePage.render()?))
}

#[derive(Template)]
#[template(path = "member_admission/progress_number.html")]
struct NumberPage {
    csrf: String,
    captcha: CaptchaPartial,
    business_no: String,
    errors: FieldErrors,
}

impl NumberPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

async fn number_page(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Extension(csrf): Extension<CsrfToken>,
) -> WebResult<Html<String>> {
    let page = NumberPage {
        csrf: csrf.0,
        captcha: new_captcha(&state, &addr).await?,
        business_no: String::new(),
        errors: FieldErrors::new(),
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
struct NumberForm {
    business_no: String,
    captcha_id: String,
    captcha: String,
}

async fn by_number(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Extension(csrf): Extension<CsrfToken>,
    session: Session,
    Form(f): Form<NumberForm>,
) -> WebResult<Response> {
    let mut errors = FieldErrors::new();
    if f.business_no.trim().is_empty() {
        errors.add("business_no", "请输入业务编号");
    }
    if !captcha::check(&state.app, &f.captcha_id, &f.captcha).await? {
        errors.add("captcha", "验证码错误或已过期，请刷新后重新输入");
    }
    let result = match errors.is_empty() {
        true => member_admission::progress_by_business_no(&state.app, &f.business_no).await,
        false => Err(AppError::Invalid(errors)),
    };
    match result {
        Ok(p) => show_progress(&session, p, csrf.0).await,
        Err(AppError::Invalid(errors)) => {
            let page = NumberPage {
                csrf: csrf.0,
                captcha: new_captcha(&state, &addr).await?,
                business_no: f.business_no,
                errors,
            };
            Ok(Html(page.render()?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "member_admission/progress_info.html")]
struct InfoPage {
    csrf: String,
    captcha: CaptchaPartial,
    question: String,
    id_types: Vec<(&'static str, &'static str)>,
    form: InfoForm,
    errors: FieldErrors,
}

impl InfoPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

#[derive(Deserialize, Default)]
struct InfoForm {
    name: String,
    id_type: String,
    id_number: String,
    qualification_method: String,
    exam_cert_no: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    captcha_id: String,
    #[serde(default)]
    captcha: String,
}

#[derive(Serialize, Deserialize)]
struct Arithmetic {
    a: u32,
    b: u32,
}

/// The security question of seed 002 §2 ("9973 + 2 = "), answer kept in the session.
async fn new_question(session: &Session) -> WebResult<String> {
    let q = {
        let mut rng = rand::rng();
        Arithmetic { a: rng.random_range(1000..10000), b: rng.random_range(1..10) }
    };
    let text = format!("{} + {} =", q.a, q.b);
    session.insert(ARITHMETIC, q).await?;
    Ok(text)
}

async fn info_page(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Extension(csrf): Extension<CsrfToken>,
    session: Session,
) -> WebResult<Html<String>> {
    let page = InfoPage {
        csrf: csrf.0,
        captcha: new_captcha(&state, &addr).await?,
        question: new_question(&session).await?,
        id_types: IdType::ALL.iter().map(|t| (t.code(), t.label())).collect(),
        form: InfoForm {
            id_type: IdType::ResidentId.code().into(),
            qualification_method: "exam".into(),
            ..Default::default()
        },
        errors: FieldErrors::new(),
    };
    Ok(Html(page.render()?))
}

async fn by_info(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Extension(csrf): Extension<CsrfToken>,
    session: Session,
    Form(f): Form<InfoForm>,
) -> WebResult<Response> {
    let mut errors = FieldErrors::new();
    for (key, value, label) in [
        ("name", &f.name, "请输入您的姓名"),
        ("id_number", &f.id_number, "请输入证件号码"),
        ("exam_cert_no", &f.exam_cert_no, "请输入全科合格证号"),
    ] {
        if value.trim().is_empty() {
            errors.add(key, label);
        }
    }
    let expected: Option<Arithmetic> = session.remove(ARITHMETIC).await.ok().flatten();
    if expected.is_none_or(|q| f.answer.trim().parse::<u32>().ok() != Some(q.a + q.b)) {
        errors.add("answer", "安全问答的答案不正确");
    }
    if !captcha::check(&state.app, &f.captcha_id, &f.captcha).await? {
        errors.add("captcha", "验证码错误或已过期，请刷新后重新输入");
    }
    let q = InfoQuery {
        name: f.name.clone(),
        id_type: f.id_type.clone(),
        id_number: f.id_number.clone(),
        qualification_method: f.qualification_method.clone(),
        exam_cert_no: f.exam_cert_no.clone(),
    };
    let result = match errors.is_empty() {
        true => member_admission::progress_by_info(&state.app, &q).await,
        false => Err(AppError::Invalid(errors)),
    };
    match result {
        Ok(p) => show_progress(&session, p, csrf.0).await,
        Err(AppError::Invalid(errors)) => {
            let page = InfoPage {
                csrf: csrf.0,
                captcha: new_captcha(&state, &addr).await?,
                question: new_question(&session).await?,
                id_types: IdType::ALL.iter().map(|t| (t.code(), t.label())).collect(),
                form: f,
                errors,
            };
            Ok(Html(page.render()?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "member_admission/progress_result.html")]
struct ResultPage {
    csrf: String,
    business_no: String,
    name: String,
    association: String,
    state: AdmissionState,
    first_submitted_at: chrono::DateTime<Utc>,
    submitted_at: chrono::DateTime<Utc>,
    return_reason: Option<String>,
    credentials: Option<Credentials>,
    trail: TrailView,
    /// Beside the ID number of 修改申请.
    edit_error: Option<String>,
}

impl ResultPage {
    fn new(p: Progress, csrf: String) -> ResultPage {
        let trail: Vec<Step> = p.trail;
        ResultPage {
            csrf,
            business_no: p.business_no,
            name: p.name,
            association: p.association,
            state: p.state,
            first_submitted_at: p.first_submitted_at,
            submitted_at: p.submitted_at,
            return_reason: p.return_reason,
            credentials: p.credentials,
            trail: TrailView { steps: trail, opinion_label: "审批意见" },
            edit_error: None,
        }
    }

    /// Where the state stands among 地方注协待审核 → 待中注协确认 → 审核通过.
    fn stage(&self) -> u8 {
        match self.state {
            AdmissionState::Submitted | AdmissionState::ReturnedByLocal => 1,
            AdmissionState::LocalApproved | AdmissionState::ReturnedByCicpa => 2,
            AdmissionState::Confirmed | AdmissionState::Rejected => 3,
        }
    }
}

/// The progress page; a returned application may then be corrected from this
/// browser (only then is anything kept in the session).
async fn show_progress(session: &Session, p: Progress, csrf: String) -> WebResult<Response> {
    if p.state.is_returned() {
        session.insert(SHOWN, p.business_no.clone()).await?;
    }
    Ok(Html(ResultPage::new(p, csrf).render()?).into_response())
}

#[derive(Serialize, Deserialize)]
struct EditKey {
    business_no: String,
    id_number: String,
}

#[derive(Deserialize)]
struct EditForm {
    business_no: String,
    id_number: String,
}

/// 修改申请: the returned application, after the applicant proves it is theirs
/// with the ID number. Only for the application this browser was just shown
/// by a progress query (which took a captcha); a wrong ID number stays on
/// that page, with the message beside the field.
async fn edit_page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    session: Session,
    Form(f): Form<EditForm>,
) -> WebResult<Response> {
    let shown: Option<String> = session.get(SHOWN).await.ok().flatten();
    if shown.as_deref() != Some(f.business_no.trim()) {
        return Ok(Redirect::to("/member-admission/progress").into_response());
    }
    let progress = member_admission::progress_by_business_no(&state.app, &f.business_no).await?;
    let profile = match member_admission::returned_for_edit(&state.app, &f.business_no, &f.id_number).await {
        Ok(p) => p,
        Err(e @ (AppError::Invalid(_) | AppError::Refused(_))) => {
            let message = match &e {
                AppError::Invalid(errors) => errors.get("id_number").unwrap_or_default().to_owned(),
                other => other.to_string(),
            };
            let mut page = ResultPage::new(progress, csrf.0);
            page.edit_error = Some(message);
            return Ok(Html(page.render()?).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    session
        .insert(
            EDITING,
            EditKey { business_no: f.business_no.trim().to_owned(), id_number: f.id_number.trim().to_owned() },
        )
        .await?;
    let all: Vec<usize> = (0..member_admission::DECLARATIONS.len()).collect();
    let editing =
        Editing { business_no: progress.business_no, return_reason: progress.return_reason.unwrap_or_default() };
    Ok(Html(FormPage::new(&state, csrf.0, &profile, &all, FieldErrors::new(), Some(editing)).render()?).into_response())
}

async fn resubmit(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    session: Session,
    multipart: Multipart,
) -> WebResult<Response> {
    let Some(key) = session.get::<EditKey>(EDITING).await.ok().flatten() else {
        return Ok(Redirect::to("/member-admission/progress").into_response());
    };
    let (a, photo_refused) = read_form(multipart).await;
    let (profile, ticked) = (a.profile.clone(), a.declarations.clone());
    let outcome = match photo_refused {
        Some(errors) => Err(AppError::Invalid(errors)),
        None => member_admission::resubmit(&state.app, &key.business_no, &key.id_number, a).await,
    };
    match outcome {
        Ok(()) => {
            session.remove::<EditKey>(EDITING).await?;
            Ok(Redirect::to(&format!("/member-admission/submitted?no={}", key.business_no)).into_response())
        }
        Err(AppError::Invalid(errors)) => {
            let progress = member_admission::progress_by_business_no(&state.app, &key.business_no).await?;
            let editing =
                Editing { business_no: key.business_no, return_reason: progress.return_reason.unwrap_or_default() };
            Ok(Html(FormPage::new(&state, csrf.0, &profile, &ticked, errors, Some(editing)).render()?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
