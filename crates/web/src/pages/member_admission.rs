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
use crate::error::WebResult;
use crate::profile_form::{self, QualBox, Section};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/member-admission", get(notice))
        .route("/member-admission/accept", post(accept))
        .route("/member-admission/verify", get(verify_page).post(verify))
        .route(
            "/member-admission/apply",
            get(apply_page).post(apply).layer(axum::extract::DefaultBodyLimit::max(FORM_BODY_MAX)),
        )
        .route("/member-admission/submitted", get(submitted))
}

/// The most an application's body may carry. A photo over its 2 MB is read
/// through (never held: only its first 2 MB are kept) so that the form comes
/// back with everything typed and the limit named beside the photo.
pub(super) const FORM_BODY_MAX: usize = 32 * 1024 * 1024;

/// The steps of seed 003 §1, shown above each page of the application.
pub const STEPS: [&str; 4] = ["阅读入会须知", "填写验证信息", "填写申请单", "提交申请"];

const NOTICE_READ: &str = "admission_notice";
const VERIFIED_AT: &str = "admission_verified";
pub(super) const EDITING: &str = "admission_editing";
/// The business number whose progress this browser was last shown (after a
/// captcha): the only one it may ask to correct.
pub(super) const SHOWN: &str = "admission_shown";
/// The business number this browser's last application was given: going
/// back to the form after submitting says so, instead of starting again.
const SUBMITTED: &str = "admission_submitted";
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
    session.remove::<String>(SUBMITTED).await?;
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

/// The form without a fresh verification: after a submission (后退, or the
/// same form sent again), the page that says it was submitted, with its
/// number; otherwise the start.
async fn not_verified(session: &Session) -> WebResult<Response> {
    match session.get::<String>(SUBMITTED).await.ok().flatten() {
        Some(no) => Ok(Redirect::to(&format!("/member-admission/submitted?no={no}&again=1")).into_response()),
        None => Ok(Redirect::to("/member-admission").into_response()),
    }
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
        return not_verified(&session).await;
    }
    let blank = Profile {
        id_type: IdType::ResidentId.code().into(),
        qualification_method: "exam".into(),
        ..Profile::default()
    };
    Ok(Html(FormPage::new(&state, csrf.0, &blank, &[], FieldErrors::new(), None).render()?).into_response())
}

/// What the photo field said when it could not be taken.
const PHOTO_TOO_LARGE: &str = "照片不能超过2MB，请压缩或更换照片后重新选择，其他已填写的信息已保留";
const BROKEN: &str = "上传中断，请重新选择照片后再提交，其他已填写的信息已保留";
const TOO_LONG: &str = "填写的内容过长，请检查后重新提交";
const TOO_MANY_PARTS: &str = "表单内容有误，请刷新页面后重新填写";
/// The most a text field of the form holds, and the most parts a form has
/// (its fields, the qualifications, the declarations and the photo).
const MAX_TEXT: usize = 64 * 1024;
const MAX_PARTS: usize = 200;

/// The form's fields and the photo, from a multipart body, and why the
/// photo was not taken (too large, or the upload broke off): the fields
/// are kept either way, for the form to come back filled in.
pub(super) async fn read_form(mut multipart: Multipart) -> (Application, Option<FieldErrors>) {
    let (a, why) = read_parts(&mut multipart).await;
    let errors = why.map(|w| {
        let key = if w == TOO_LONG || w == TOO_MANY_PARTS { "form" } else { "photo" };
        FieldErrors::one_set(key, w)
    });
    (a, errors)
}

async fn read_parts(multipart: &mut Multipart) -> (Application, Option<&'static str>) {
    let max = cmis_app::attachments::PHOTO.max_bytes as usize;
    let mut a = Application { profile: Profile::default(), declarations: Vec::new(), photo: None };
    let mut refused = None;
    let mut parts = 0;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => return (a, Some(refused.unwrap_or(BROKEN))),
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "photo" {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let mut buf = Vec::new();
            loop {
                match field.chunk().await {
                    Ok(Some(c)) if buf.len() + c.len() <= max => buf.extend_from_slice(&c),
                    Ok(Some(_)) => {
                        // Past the limit: the rest is read and dropped.
                        refused = Some(PHOTO_TOO_LARGE);
                        buf = Vec::new();
                        while let Ok(Some(_)) = field.chunk().await {}
                        break;
                    }
                    Ok(None) => break,
                    Err(_) => return (a, Some(refused.unwrap_or(BROKEN))),
                }
            }
            if refused.is_none() && !buf.is_empty() {
                a.photo = Some((file_name, Bytes::from(buf)));
            }
            continue;
        }
        parts += 1;
        if parts > MAX_PARTS {
            return (a, Some(refused.unwrap_or(TOO_MANY_PARTS)));
        }
        // A text field is read to 64 KB at most, then the form is refused as too long.
        let mut text = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(c)) if text.len() + c.len() <= MAX_TEXT => text.extend_from_slice(&c),
                Ok(Some(_)) => return (a, Some(refused.unwrap_or(TOO_LONG))),
                Ok(None) => break,
                Err(_) => return (a, Some(refused.unwrap_or(BROKEN))),
            }
        }
        let value = String::from_utf8_lossy(&text).into_owned();
        if name == "declaration" {
            if let Ok(i) = value.parse::<usize>() {
                a.declarations.push(i);
            }
        } else {
            a.profile.set(&name, &value);
        }
    }
    (a, refused)
}

async fn apply(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    session: Session,
    multipart: Multipart,
) -> WebResult<Response> {
    if !verified(&state, &session).await {
        return not_verified(&session).await;
    }
    let (a, photo_refused) = read_form(multipart).await;
    let (profile, ticked) = (a.profile.clone(), a.declarations.clone());
    if let Some(errors) = photo_refused {
        return Ok(Html(FormPage::new(&state, csrf.0, &profile, &ticked, errors, None).render()?).into_response());
    }
    match member_admission::submit(&state.app, a).await {
        Ok(no) => {
            session.remove::<i64>(VERIFIED_AT).await?;
            session.insert(SUBMITTED, no.clone()).await?;
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
    /// Come back to after submitting (后退): it was already submitted.
    again: bool,
}

#[derive(Deserialize)]
struct NoQuery {
    no: String,
    again: Option<String>,
}

async fn submitted(Query(q): Query<NoQuery>) -> WebResult<Html<String>> {
    let business_no: String = q.no.chars().filter(char::is_ascii_digit).take(20).collect();
    Ok(Html(SubmittedPage { business_no, again: q.again.is_some() }.render()?))
}
