//! The payment provider's notifications (/pay/notify), and, when configured,
//! the development provider: its order endpoint and the cashier page its QR
//! codes open, playing the payment company over the same HTTP protocol.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use cmis_app::AppError;
use cmis_app::member_inspection::fees;
use cmis_app::payment::{self, NOTIFY_PATH, SIGNATURE_HEADER};

use crate::AppState;
use crate::csrf::CsrfToken;
use crate::error::{WebError, WebResult};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(NOTIFY_PATH, post(notify))
        .route("/dev/pay/orders", post(dev_order))
        .route("/dev/pay/cashier/{token}", get(cashier).post(cashier_pay))
}

fn signature(h: &HeaderMap) -> String {
    h.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}

/// Answers `SUCCESS` once the notification is applied (or was before), so the
/// provider stops repeating it.
async fn notify(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match fees::notify(&state.app, &body, &signature(&headers)).await {
        Ok(()) => (StatusCode::OK, "SUCCESS").into_response(),
        Err(AppError::Forbidden) => (StatusCode::UNAUTHORIZED, "BAD SIGNATURE").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "payment notification refused");
            (WebError::from(e).status(), "FAIL").into_response()
        }
    }
}

fn dev_on(state: &AppState) -> WebResult<()> {
    if state.app.settings.payment.provider == "dev" { Ok(()) } else { Err(WebError::NotFound) }
}

async fn dev_order(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> WebResult<Response> {
    dev_on(&state)?;
    match payment::dev::accept_order(&state.app.settings, &body, &signature(&headers)) {
        Some(code_url) => Ok(axum::Json(serde_json::json!({ "code_url": code_url })).into_response()),
        None => Ok((StatusCode::UNAUTHORIZED, "BAD SIGNATURE").into_response()),
    }
}

#[derive(Template)]
#[template(path = "dev/cashier.html")]
struct Cashier {
    order: payment::Order,
    amount: String,
    csrf: String,
    result: Option<Result<String, String>>,
}

/// The cashier page a payment QR code opens.
async fn cashier(
    State(state): State<AppState>,
    axum::Extension(csrf): axum::Extension<CsrfToken>,
    Path(token): Path<String>,
) -> WebResult<Html<String>> {
    cashier_page(&state, csrf, &token, false).await
}

/// 确认支付: the provider notifies the merchant, and says how it answered.
async fn cashier_pay(
    State(state): State<AppState>,
    axum::Extension(csrf): axum::Extension<CsrfToken>,
    Path(token): Path<String>,
) -> WebResult<Html<String>> {
    cashier_page(&state, csrf, &token, true).await
}

async fn cashier_page(state: &AppState, csrf: CsrfToken, token: &str, pay: bool) -> WebResult<Html<String>> {
    dev_on(state)?;
    let order = payment::dev::order_of(&state.app.settings, token).ok_or(WebError::NotFound)?;
    let amount = cmis_app::member_inspection::settings::yuan(order.amount_cents);
    let result = if pay {
        Some(payment::dev::pay(&state.app.settings, token, state.app.now()).await.map_err(|e| e.to_string()))
    } else {
        None
    };
    Ok(Html(Cashier { order, amount, csrf: csrf.0, result }.render()?))
}
