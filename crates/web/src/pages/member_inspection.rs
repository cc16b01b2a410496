//! 非执业会员年检 (seed 000), the member's side: 非执业会员年检申请 (the list
//! and 新建申请), 完善信息 → 年检申请 → 承诺书 → 缴费 and 材料 → 确认申请,
//! 暂缓年检申请, 再次申请, 年检信息查询. One application, the QR code and the
//! public page it opens are `member_inspection_view`.

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};

use cmis_app::attachments::{self, Attachment, DEFERRAL_PROOF, INSPECTION_MATERIALS, Incoming};
use cmis_app::member_inspection::{self, Done, HistoryRow, MATERIAL_ITEM, Overview, fees};
use cmis_app::member_profile::{self, LOCKED};
use cmis_app::scope::Permission;
use cmis_app::{AppError, AppResult, FieldErrors};
use cmis_domain::member_inspection::{FeeStatus, InspectionState};
use cmis_domain::profile::Profile;
use serde::Deserialize;

use crate::AppState;
use crate::error::WebResult;
use crate::profile_form::{self, QualBox, Section};
use crate::shell::{Auth, Shell, needs};
use crate::upload;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/member-inspection", get(list))
        .route("/member-inspection/profile", get(profile).post(save_profile))
        .route("/member-inspection/apply", get(apply_page).post(apply))
        .route("/member-inspection/apply/materials", get(materials_page))
        .route("/member-inspection/pay", get(pay))
        .route("/member-inspection/fee-paid", post(fee_paid))
        .route("/member-inspection/materials", post(upload_material).layer(DefaultBodyLimit::max(12 * 1024 * 1024)))
        .route("/member-inspection/files/{id}/delete", post(delete_file))
        .route("/member-inspection/defer", get(defer_page).post(defer))
        .route("/member-inspection/defer/reason", get(reason_page))
        .route("/member-inspection/proofs", post(upload_proof).layer(DefaultBodyLimit::max(60 * 1024 * 1024)))
        .route("/member-inspection/done/{id}", get(done))
        .route("/member-inspection/history", get(history))
        .route("/member-inspection/results", get(results))
        .route_layer(needs(Permission::ApplyMemberInspection))
}

/// 完善信息 → 年检申请 → 完成, as the seed's phone screens number them.
pub const STEPS: [&str; 3] = ["完善信息", "年检申请", "完成"];

#[derive(Deserialize, Default)]
struct ListQuery {
    year: Option<String>,
    state: Option<String>,
}

#[derive(Template)]
#[template(path = "member_inspection/list.html")]
struct ListPage {
    shell: Shell,
    title: &'static str,
    action: &'static str,
    rows: Vec<HistoryRow>,
    year: String,
    state: String,
    states: Vec<(&'static str, &'static str)>,
    /// Whether 新建申请 / 再次申请 are offered (the application list, not the query).
    applying: bool,
}

/// The three lists of one member's inspections: the PC menu's 非执业会员年检申请
/// and 年检信息查询, and the phone's tile 历年年检结果查询 (seed 000 §2.1.6).
#[derive(Clone, Copy, PartialEq, Eq)]
enum List {
    Applications,
    Query,
    Results,
}

async fn list_for(state: AppState, shell: Shell, q: ListQuery, which: List) -> WebResult<Html<String>> {
    let applying = which == List::Applications;
    let year = q.year.as_deref().and_then(|y| y.trim().parse::<i32>().ok());
    let st = q.state.as_deref().and_then(|c| InspectionState::parse(c).ok());
    let rows = member_inspection::history(&state.app, &shell.actor, year, st).await?;
    let page = ListPage {
        title: match which {
            List::Applications => "非执业会员年检申请",
            List::Query => "年检信息查询",
            List::Results => "历年年检结果查询",
        },
        action: match which {
            List::Applications => "/member-inspection",
            List::Query => "/member-inspection/history",
            List::Results => "/member-inspection/results",
        },
        rows,
        year: year.map(|y| y.to_string()).unwrap_or_default(),
        state: q.state.unwrap_or_default(),
        // The member's words, and each state once: a returned deferral is
        // 地方注协退回 as a returned application is, so the two are told
        // apart in the filter only.
        states: InspectionState::ALL
            .iter()
            .map(|s| {
                (
                    s.code(),
                    if *s == InspectionState::DeferralReturned {
                        "地方注协退回（暂缓年检）"
                    } else {
                        s.label()
                    },
                )
            })
            .collect(),
        applying,
        shell,
    };
    Ok(Html(page.render()?))
}

async fn list(State(state): State<AppState>, shell: Shell, Query(q): Query<ListQuery>) -> WebResult<Html<String>> {
    list_for(state, shell, q, List::Applications).await
}

async fn history(State(state): State<AppState>, shell: Shell, Query(q): Query<ListQuery>) -> WebResult<Html<String>> {
    list_for(state, shell, q, List::Query).await
}

async fn results(State(state): State<AppState>, shell: Shell, Query(q): Query<ListQuery>) -> WebResult<Html<String>> {
    list_for(state, shell, q, List::Results).await
}

// ---- 完善信息 ----

#[derive(Template)]
#[template(path = "member_inspection/profile.html")]
struct ProfilePage {
    shell: Shell,
    sections: Vec<Section>,
    qualifications: Vec<QualBox>,
    errors: FieldErrors,
    year: i32,
    /// After a return: the reason and what the reviewer named.
    returned: Option<member_inspection::Current>,
}

impl ProfilePage {
    fn locked(&self, key: &str) -> bool {
        LOCKED.contains(&key)
    }
    fn step(&self) -> usize {
        1
    }
}

async fn profile(State(state): State<AppState>, shell: Shell) -> WebResult<Html<String>> {
    let o = member_inspection::overview(&state.app, &shell.actor).await?;
    let own = member_profile::load(&state.app, &shell.actor).await?;
    let mut errors = FieldErrors::new();
    for key in missing_keys(&own.profile) {
        errors.add(key, "请填写此项");
    }
    let page = ProfilePage {
        sections: profile_form::sections(&state.app, &own.profile, &errors),
        qualifications: profile_form::qualifications(&own.profile, &errors),
        errors,
        year: o.year,
        returned: o.current.filter(|c| c.state.is_returned()),
        shell,
    };
    Ok(Html(page.render()?))
}

fn missing_keys(p: &Profile) -> Vec<&'static str> {
    cmis_domain::profile::FIELDS
        .iter()
        .filter(|f| f.required && p.get(f.key).trim().is_empty())
        .map(|f| f.key)
        .collect()
}

async fn save_profile(
    State(state): State<AppState>,
    shell: Shell,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let mut p = Profile::default();
    let mut go = "apply".to_owned();
    for (k, v) in &pairs {
        if k == "go" {
            go = v.clone();
        } else {
            p.set(k, v);
        }
    }
    match member_profile::update(&state.app, &shell.actor, p.clone()).await {
        Ok(()) => Ok(Redirect::to(if go == "defer" { "/member-inspection/defer" } else { "/member-inspection/apply" })
            .into_response()),
        Err(AppError::Invalid(errors)) => {
            let own = member_profile::load(&state.app, &shell.actor).await?;
            for key in LOCKED {
                p.set(key, &own.profile.get(key));
            }
            let o = member_inspection::overview(&state.app, &shell.actor).await?;
            let page = ProfilePage {
                sections: profile_form::sections(&state.app, &p, &errors),
                qualifications: profile_form::qualifications(&p, &errors),
                errors,
                year: o.year,
                returned: o.current.filter(|c| c.state.is_returned()),
                shell,
            };
            Ok(Html(page.render()?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

// ---- 年检申请 ----

#[derive(Template)]
#[template(path = "member_inspection/apply.html")]
struct ApplyPage {
    shell: Shell,
    o: Overview,
    /// "apply": table + 承诺书; "materials": fee + materials + 确认申请;
    /// "defer": table + 暂缓承诺书; "reason": 暂缓原因 + proof.
    stage: &'static str,
    blockers: Vec<String>,
    errors: FieldErrors,
    message: Option<String>,
    commitment: &'static str,
    material_hint: String,
    proof_hint: String,
}

impl ApplyPage {
    fn step(&self) -> usize {
        2
    }
    fn error(&self, key: &str) -> Option<&str> {
        self.errors.get(key)
    }
    fn fee_label(&self) -> &'static str {
        self.o.fee.label()
    }
    fn unpaid(&self) -> bool {
        self.o.fee == FeeStatus::Unpaid
    }
    fn deferral(&self) -> bool {
        self.stage == "defer" || self.stage == "reason"
    }
    fn files_of(&self, name: &str) -> Vec<&attachments::Attachment> {
        self.o.drafts.iter().chain(&self.o.submitted).filter(|a| a.label.as_deref() == Some(name)).collect()
    }
    fn is_draft(&self, a: &attachments::Attachment) -> bool {
        self.o.drafts.iter().any(|d| d.id == a.id) || self.o.proofs.iter().any(|d| d.id == a.id)
    }
    /// Whether the reviewer named this item in the return.
    fn named(&self, item: &str) -> bool {
        self.o
            .current
            .as_ref()
            .is_some_and(|c| c.return_items.iter().any(|i| i == item || i.strip_prefix(MATERIAL_ITEM) == Some(item)))
    }
    /// Whether the deferral asks for proof: the association's setting, or a
    /// return that named it.
    fn proof_needed(&self) -> bool {
        self.o.settings.deferral_proof || self.named("暂缓证明材料")
    }
}

#[derive(Deserialize, Default)]
struct StageQuery {
    agreed: Option<String>,
    error: Option<String>,
    fee: Option<String>,
}

async fn render_stage(
    state: &AppState,
    shell: Shell,
    stage: &'static str,
    errors: FieldErrors,
    message: Option<String>,
) -> WebResult<Response> {
    let o = member_inspection::overview(&state.app, &shell.actor).await?;
    let deferral = stage == "defer" || stage == "reason";
    if !o.missing.is_empty() {
        // 完善信息 first: the missing fields are named there.
        return Ok(Redirect::to("/member-inspection/profile").into_response());
    }
    let page = ApplyPage {
        blockers: o.blockers(deferral),
        commitment: if deferral { member_inspection::DEFERRAL_COMMITMENT } else { member_inspection::COMMITMENT },
        material_hint: INSPECTION_MATERIALS.hint(),
        proof_hint: DEFERRAL_PROOF.hint(),
        o,
        stage,
        errors,
        message,
        shell,
    };
    Ok(Html(page.render()?).into_response())
}

async fn apply_page(State(state): State<AppState>, shell: Shell, Query(q): Query<StageQuery>) -> WebResult<Response> {
    let mut errors = FieldErrors::new();
    if q.error.as_deref() == Some("commitment") {
        errors.add("commitment", "请阅读并勾选承诺书");
    }
    render_stage(&state, shell, "apply", errors, None).await
}

async fn materials_page(
    State(state): State<AppState>,
    shell: Shell,
    Query(q): Query<StageQuery>,
) -> WebResult<Response> {
    if q.agreed.is_none() {
        return Ok(Redirect::to("/member-inspection/apply?error=commitment").into_response());
    }
    let message = match q.fee.as_deref() {
        Some("pending_confirmation") => Some("已提交缴费确认，会费状态为“待确认”，请等待省注协确认。".to_owned()),
        Some("confirmed") => Some("会费已确认。".to_owned()),
        _ => None,
    };
    render_stage(&state, shell, "materials", FieldErrors::new(), message).await
}

#[derive(Deserialize)]
struct ApplyForm {
    commitment: Option<String>,
}

pub(crate) fn stage_error(e: AppError) -> Result<FieldErrors, AppError> {
    match e {
        AppError::Invalid(f) => Ok(f),
        AppError::Refused(m) => Ok(FieldErrors::one_set("form", m)),
        e => Err(e),
    }
}

async fn apply(State(state): State<AppState>, shell: Shell, Form(f): Form<ApplyForm>) -> WebResult<Response> {
    match member_inspection::apply(&state.app, &shell.actor, f.commitment.is_some()).await {
        Ok(d) => Ok(Redirect::to(&format!("/member-inspection/done/{}", d.id)).into_response()),
        Err(e) => render_stage(&state, shell, "materials", stage_error(e)?, None).await,
    }
}

#[derive(Template)]
#[template(path = "member_inspection/pay.html")]
struct PayPage {
    shell: Shell,
    p: fees::PaymentQr,
    svg: String,
}

async fn pay(State(state): State<AppState>, shell: Shell) -> WebResult<Response> {
    match fees::start_payment(&state.app, &shell.actor).await {
        Ok(p) => {
            let svg = cmis_app::qr::svg(&p.code_url)?;
            Ok(Html(PayPage { shell, p, svg }.render()?).into_response())
        }
        Err(AppError::Refused(m)) => {
            render_stage(&state, shell, "materials", FieldErrors::one_set("fee", m), None).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn fee_paid(State(state): State<AppState>, shell: Shell) -> WebResult<Response> {
    let s = fees::claim_paid(&state.app, &shell.actor).await?;
    Ok(Redirect::to(&format!("/member-inspection/apply/materials?agreed=1&fee={}", s.code())).into_response())
}

/// The form's one file, streamed to the use case `store` as it arrives,
/// after the text fields before it (the material's name); or the message to show.
pub(crate) async fn stream_upload(
    mp: &mut Multipart,
    store: impl AsyncFnOnce(&str, Incoming<'_>) -> AppResult<Attachment>,
) -> WebResult<Option<String>> {
    let mut label = String::new();
    let mut file_name = String::new();
    loop {
        match upload::next_part(mp, &mut file_name).await {
            Ok(upload::Part::Text(k, v)) => {
                if k == "label" {
                    label = v;
                }
            }
            Ok(upload::Part::File(file)) => {
                return match store(&label, file).await {
                    Ok(_) => Ok(None),
                    Err(e) => Ok(Some(stage_error(e)?.0.into_iter().next().map(|(_, m)| m).unwrap_or_default())),
                };
            }
            Ok(upload::Part::Empty) => {}
            Ok(upload::Part::End) => return Ok(Some("请选择要上传的文件".to_owned())),
            Err(_) => return Ok(Some("上传失败：文件过大或连接中断".to_owned())),
        }
    }
}

async fn upload_material(State(state): State<AppState>, shell: Shell, mut mp: Multipart) -> WebResult<Response> {
    member_inspection::may_upload(&shell.actor)?;
    let (app, actor) = (&state.app, &shell.actor);
    let error =
        stream_upload(&mut mp, async |label, file| member_inspection::upload_material(app, actor, label, file).await)
            .await?;
    match error {
        None => Ok(Redirect::to("/member-inspection/apply/materials?agreed=1").into_response()),
        Some(m) => render_stage(&state, shell, "materials", FieldErrors::one_set("file", m), None).await,
    }
}

async fn upload_proof(State(state): State<AppState>, shell: Shell, mut mp: Multipart) -> WebResult<Response> {
    member_inspection::may_upload(&shell.actor)?;
    let (app, actor) = (&state.app, &shell.actor);
    let error = stream_upload(&mut mp, async |_, file| member_inspection::upload_proof(app, actor, file).await).await?;
    match error {
        None => Ok(Redirect::to("/member-inspection/defer/reason?agreed=1").into_response()),
        Some(m) => render_stage(&state, shell, "reason", FieldErrors::one_set("file", m), None).await,
    }
}

#[derive(Deserialize)]
struct BackQuery {
    back: Option<String>,
}

async fn delete_file(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i32>,
    Query(q): Query<BackQuery>,
) -> WebResult<Response> {
    attachments::delete(&state.app, &actor, id).await?;
    let back = if q.back.as_deref() == Some("reason") {
        "/member-inspection/defer/reason?agreed=1"
    } else {
        "/member-inspection/apply/materials?agreed=1"
    };
    Ok(Redirect::to(back).into_response())
}

// ---- 暂缓年检申请 ----

async fn defer_page(State(state): State<AppState>, shell: Shell, Query(q): Query<StageQuery>) -> WebResult<Response> {
    let mut errors = FieldErrors::new();
    if q.error.as_deref() == Some("commitment") {
        errors.add("commitment", "请阅读并勾选承诺书");
    }
    render_stage(&state, shell, "defer", errors, None).await
}

async fn reason_page(State(state): State<AppState>, shell: Shell, Query(q): Query<StageQuery>) -> WebResult<Response> {
    if q.agreed.is_none() {
        return Ok(Redirect::to("/member-inspection/defer?error=commitment").into_response());
    }
    render_stage(&state, shell, "reason", FieldErrors::new(), None).await
}

#[derive(Deserialize)]
struct DeferForm {
    commitment: Option<String>,
    #[serde(default)]
    reason: String,
}

async fn defer(State(state): State<AppState>, shell: Shell, Form(f): Form<DeferForm>) -> WebResult<Response> {
    match member_inspection::defer(&state.app, &shell.actor, f.commitment.is_some(), &f.reason).await {
        Ok(d) => Ok(Redirect::to(&format!("/member-inspection/done/{}", d.id)).into_response()),
        Err(e) => render_stage(&state, shell, "reason", stage_error(e)?, None).await,
    }
}

// ---- 完成 ----

#[derive(Template)]
#[template(path = "member_inspection/done.html")]
struct DonePage {
    shell: Shell,
    d: Done,
}

impl DonePage {
    fn step(&self) -> usize {
        3
    }
}

async fn done(State(state): State<AppState>, shell: Shell, Path(id): Path<i32>) -> WebResult<Html<String>> {
    let v = member_inspection::view(&state.app, &shell.actor, id).await?;
    let o = member_inspection::settings::effective(&state.app, shell.actor.association_id, v.row.year).await?;
    let d = Done { id, year: v.row.year, state: v.row.state, notice: o.success_notice };
    Ok(Html(DonePage { shell, d }.render()?))
}
