//! 非执业会员入会申请 (seed 003), for the public: 阅读入会须知 → 填写验证信息
//! → 填写申请单 → 提交申请. The progress query and the correction of a
//! returned application are `member_admission_progress`.

use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use bytes::Bytes;
use cmis_app::member_admission::{self, Application};
use cmis_app::{AppError, FieldErrors, captcha};
use cmis_domain::IdType;
use cmis_domain::profile::Profile;
use serde::Deserialize;
use tower_sessions::Session;

use super::ClientAddr;
use super::portal::{CaptchaPartial, new_captcha};
use crate::AppState;
use crate::csrf::CsrfToken;
use crate::error::{WebError, WebResult};
use crate::profile_form::{self, QualBox, Section};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/member-admission", get(notice))
        .route("/member-admission/accept", post(accept))
        .route("/member-admission/verify", get(verify_page).post(verify))
        .route(
            "/member-admission/apply",
            get(apply_page).post(apply).layer(axum::extract::DefaultBodyLimit::max(4 * 1024 * 1024)),
        )
        .route("/member-admission/submitted", get(submitted))
}

/// The steps of seed 003 §1, shown above each page of the application.
pub const STEPS: [&str; 4] = ["阅读入会须知", "填写验证信息", "填写申请单", "提交申请"];

const NOTICE_READ: &str = "admission_notice";
const VERIFIED_AT: &str = "admission_verified";
pub(super) const EDITING: &str = "admission_editing";
/// The business number whose progress this browser was last shown (after a
/// captcha): the only one it may ask to correct.
pub(super) const SHOWN: &str = "admission_shown";
/// Minutes the verification step stays good for filling in the form.
const VERIFIED_MINUTES: i64 = 60;

#[derive(Template)]
#[template(path = "member_admission/notice.html")]
struct NoticePage {
    csrf: String,
    error: Option<&'static str>,
}

async fn notice(Extension(csrf): Extension<CsrfToken>) -> WebResult<Html<String>> {
    Ok(Html(NoticePage { csrf: csrf.0, error: None }.render()?))
}

#[derive(Deserialize)]
struct AcceptForm {
    accept: Option<String>,
}

async fn accept(
    Extension(csrf): Extension<CsrfToken>,
    session: Session,
    Form(f): Form<AcceptForm>,
) -> WebResult<Response> {
    if f.accept.is_none() {
        let page =
            NoticePage { csrf: csrf.0, error: Some("请阅读入会须知并勾选“我已阅读并接受”") };
        return Ok(Html(page.render()?).into_response());
    }
    session.insert(NOTICE_READ, true).await?;
    Ok(Redirect::to("/member-admission/verify").into_response())
}

#[derive(Template)]
#[template(path = "member_admission/verify.html")]
struct VerifyPage {
    csrf: String,
    captcha: CaptchaPartial,
    error: Option<&'static str>,
}

async fn verify_page(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Extension(csrf): Extension<CsrfToken>,
    session: Session,
) -> WebResult<Response> {
    if session.get::<bool>(NOTICE_READ).await.ok().flatten().is_none() {
        return Ok(Redirect::to("/member-admission").into_response());
    }
    Ok(Html(VerifyPage { csrf: csrf.0, captcha: new_captcha(&state, &addr).await?, error: None }.render()?)
        .into_response())
}

#[derive(Deserialize)]
struct CaptchaForm {
    captcha_id: String,
    captcha: String,
}

async fn verify(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Extension(csrf): Extension<CsrfToken>,
    session: Session,
    Form(f): Form<CaptchaForm>,
) -> WebResult<Response> {
    if !captcha::check(&state.app, &f.captcha_id, &f.captcha).await? {
        let page = VerifyPage {
            csrf: csrf.0,
            captcha: new_captcha(&state, &addr).await?,
            error: Some("验证码错误或已过期，请点击图片刷新后重新填写"),
        };
        return Ok(Html(page.render()?).into_response());
    }
    session.insert(VERIFIED_AT, state.app.now().timestamp()).await?;
    Ok(Redirect::to("/member-admission/apply").into_response())
}

async fn verified(state: &AppState, session: &Session) -> bool {
    let at: Option<i64> = session.get(VERIFIED_AT).await.ok().flatten();
    at.is_some_and(|t| state.app.now().timestamp() - t < VERIFIED_MINUTES * 60)
}

#[derive(Template)]
#[template(path = "member_admission/form.html")]
pub(super) struct FormPage {
    csrf: String,
    sections: Vec<Section>,
    qualifications: Vec<QualBox>,
    declarations: Vec<(usize, &'static str, bool)>,
    errors: FieldErrors,
    /// Some when correcting a returned application.
    editing: Option<Editing>,
}

pub(super) struct Editing {
    pub(super) business_no: String,
    pub(super) return_reason: String,
}

impl FormPage {
    pub(super) fn new(
        state: &AppState,
        csrf: String,
        p: &Profile,
        ticked: &[usize],
        errors: FieldErrors,
        editing: Option<Editing>,
    ) -> FormPage {
        FormPage {
            csrf,
            sections: profile_form::sections(&state.app, p, &errors),
            qualifications: profile_form::qualifications(p, &errors),
            declarations: member_admission::DECLARATIONS
                .iter()
                .enumerate()
                .map(|(i, d)| (i, *d, ticked.contains(&i)))
                .collect(),
            errors,
            editing,
        }
    }

    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }

    /// An applicant fills every field.
    fn locked(&self, _key: &str) -> bool {
        false
    }

    fn action(&self) -> &'static str {
        if self.editing.is_some() { "/member-admission/edit/submit" } else { "/member-admission/apply" }
    }
}

async fn apply_page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    session: Session,
) -> WebResult<Response> {
    if !verified(&state, &session).await {
        return Ok(Redirect::to("/member-admission").into_response());
    }
    let blank = Profile {
        id_type: IdType::ResidentId.code().into(),
        qualification_method: "exam".into(),
        ..Profile::default()
    };
    Ok(Html(FormPage::new(&state, csrf.0, &blank, &[], FieldErrors::new(), None).render()?).into_response())
}

/// The form's fields and the photo, from a multipart body.
pub(super) async fn read_form(mut multipart: Multipart) -> WebResult<Application> {
    let mut profile = Profile::default();
    let mut declarations = Vec::new();
    let mut photo = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| WebError::BadRequest("上传失败：照片过大或连接中断，照片不能超过2MB".into()))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "photo" {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let bytes: Bytes = field.bytes().await.map_err(|_| WebError::BadRequest("照片上传失败，请重试".into()))?;
            if !bytes.is_empty() {
                photo = Some((file_name, bytes));
            }
            continue;
        }
        let value = field.text().await.map_err(|_| WebError::BadRequest("表单提交失败，请重试".into()))?;
        if name == "declaration" {
            if let Ok(i) = value.parse::<usize>() {
                declarations.push(i);
            }
        } else {
            profile.set(&name, &value);
        }
    }
    Ok(Application { profile, declarations, photo })
}

async fn apply(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    session: Session,
    multipart: Multipart,
) -> WebResult<Response> {
    if !verified(&state, &session).await {
        return Ok(Redirect::to("/member-admission").into_response());
    }
    let a = read_form(multipart).await?;
    let (profile, ticked) = (a.profile.clone(), a.declarations.clone());
    match member_admission::submit(&state.app, a).await {
        Ok(no) => {
            session.remove::<i64>(VERIFIED_AT).await?;
            Ok(Redirect::to(&format!("/member-admission/submitted?no={no}")).into_response())
        }
        Err(AppError::Invalid(errors)) => {
            Ok(Html(FormPage::new(&state, csrf.0, &profile, &ticked, errors, None).render()?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "member_admission/submitted.html")]
struct SubmittedPage {
    business_no: String,
}

#[derive(Deserialize)]
struct NoQuery {
    no: String,
}

async fn submitted(Query(q): Query<NoQuery>) -> WebResult<Html<String>> {
    let business_no: String = q.no.chars().filter(char::is_ascii_digit).take(20).collect();
    Ok(Html(SubmittedPage { business_no }.render()?))
}
