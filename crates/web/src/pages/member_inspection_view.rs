//! One application as its member sees it (查看: the profile, files, hours and
//! trail), 年检二维码 with its PNG, and the public page a scanned code opens.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use cmis_app::member_inspection::{self, InspectionView, qr};
use cmis_app::scope::Permission;
use cmis_domain::hours::Hours;

use crate::AppState;
use crate::error::WebResult;
use crate::profile_form::{self, ShownGroup};
use crate::shell::{Auth, Shell, needs};
use crate::trail::TrailView;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/member-inspection/qr", get(qr_page))
        .route("/member-inspection/qr.png", get(qr_png))
        .route("/member-inspection/{id}", get(view))
        .route_layer(needs(Permission::ApplyMemberInspection))
        // The public page a QR code opens.
        .route("/q/{payload}", get(public_results))
}

#[derive(Template)]
#[template(path = "member_inspection/view.html")]
struct ViewPage {
    shell: Shell,
    v: InspectionView,
    groups: Vec<ShownGroup>,
    trail: TrailView,
    total_hours: Hours,
    qualifications: String,
}

impl ViewPage {}

/// The profile's 基本信息, titled 个人信息 as seed 000 §2.2.3 shows it.
pub fn personal_groups(state: &AppState, v: &InspectionView, mask_id: bool) -> Vec<ShownGroup> {
    profile_form::shown_groups(&state.app, &v.profile, mask_id)
        .into_iter()
        .filter(|g| g.title == "基本信息")
        .map(|mut g| {
            g.title = "个人信息";
            g
        })
        .collect()
}

fn view_page(state: &AppState, shell: Shell, v: InspectionView, mask_id: bool) -> ViewPage {
    let groups = personal_groups(state, &v, mask_id);
    let opinion_label = if v.row.state.is_deferral() { "暂缓信息" } else { "审批意见" };
    let trail = TrailView { steps: v.trail.clone(), opinion_label };
    let total_hours = v.records.iter().filter(|r| r.kind == "record").map(|r| r.hours).sum();
    let qualifications = profile_form::qualification_line(&v.profile);
    ViewPage { shell, v, groups, trail, total_hours, qualifications }
}

async fn view(State(state): State<AppState>, shell: Shell, Path(id): Path<i32>) -> WebResult<Html<String>> {
    let v = member_inspection::view(&state.app, &shell.actor, id).await?;
    Ok(Html(view_page(&state, shell, v, true).render()?))
}

// ---- 年检二维码 ----

#[derive(Template)]
#[template(path = "member_inspection/qr.html")]
struct QrPage {
    shell: Shell,
    q: qr::MemberQr,
    svg: String,
}

async fn qr_page(State(state): State<AppState>, shell: Shell) -> WebResult<Html<String>> {
    let q = qr::of_member(&state.app, &shell.actor).await?;
    let svg = cmis_app::qr::svg(&q.url)?;
    Ok(Html(QrPage { shell, q, svg }.render()?))
}

async fn qr_png(State(state): State<AppState>, Auth(actor): Auth) -> WebResult<Response> {
    let q = qr::of_member(&state.app, &actor).await?;
    let png = cmis_app::qr::png(&q.url, 10)?;
    let disposition = format!("attachment; filename=\"nianjian-qr-{}.png\"", q.cert_no);
    Ok((
        [
            (header::CONTENT_TYPE, "image/png".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        png,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "member_inspection/public.html")]
struct PublicPage {
    r: cmis_app::member_inspection::qr::PublicResults,
    public_key: String,
}

/// A scanned code: a member's or, by its prefix, a CPA's.
async fn public_results(State(state): State<AppState>, Path(payload): Path<String>) -> WebResult<Html<String>> {
    if payload.starts_with(cmis_app::cpa_check::qr::PREFIX) {
        let r = cmis_app::cpa_check::qr::public_results(&state.app, &payload).await?;
        let page = crate::pages::cpa_check::PublicPage { r, public_key: state.app.signer.public_key() };
        return Ok(Html(page.render()?));
    }
    let r = qr::public_results(&state.app, &payload).await?;
    Ok(Html(PublicPage { r, public_key: state.app.signer.public_key() }.render()?))
}
