//! HTTP: the pages people use (PC and phone), the JSON API for other clients,
//! and the operational endpoints. Handlers parse, call `cmis_app`, render.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use cmis_app::App;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

pub mod api;
pub mod assets;
pub mod csrf;
pub mod error;
pub mod ops;
pub mod pages;
pub mod profile_form;
pub mod rate;
pub mod session;
pub mod shell;
pub mod trail;
pub mod upload;

/// Options that belong to HTTP rather than to the use cases.
#[derive(Debug, Clone)]
pub struct WebOptions {
    /// Mark cookies Secure (behind TLS).
    pub secure_cookies: bool,
    /// How many proxies you trust stand in front (load balancers that append
    /// to X-Forwarded-For); 0 takes the client address from the socket.
    pub trusted_proxies: usize,
}

#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    pub options: Arc<WebOptions>,
    /// Captchas drawn on request, per address.
    pub captchas: Arc<rate::RateLimit>,
    /// Captchas drawn by pages, per address.
    pub page_captchas: Arc<rate::RateLimit>,
    /// Institutes' batches of records running at once, per institute.
    pub institute_calls: Arc<rate::InFlight>,
}

pub fn router(app: Arc<App>, options: WebOptions) -> Router {
    let idle = chrono::Duration::minutes(app.settings.session_minutes);
    let store = session::DbSessionStore::new(app.clone(), idle);
    let secure = options.secure_cookies;
    let sessions = SessionManagerLayer::new(store)
        .with_name("cmis_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        // The cookie lasts as long as the browser; the store ends idle sessions.
        .with_expiry(Expiry::OnSessionEnd);
    let csrf_keys = csrf::CsrfKeys { secure, key: app.secrets.csrf };
    let state = AppState {
        app,
        options: Arc::new(options),
        captchas: Arc::new(rate::captchas()),
        page_captchas: Arc::new(rate::page_captchas()),
        institute_calls: Arc::new(rate::InFlight::new(rate::INSTITUTE_CALLS)),
    };
    Router::new()
        .merge(pages::routes())
        .nest("/api/v1", api::routes())
        .merge(api::docs())
        .merge(ops::routes())
        .merge(assets::routes())
        .fallback(pages::not_found)
        .layer(DefaultBodyLimit::max(2 * 1024 * 1024))
        .layer(middleware::from_fn(move |req, next| csrf::protect(csrf_keys.clone(), req, next)))
        .layer(sessions)
        .layer(middleware::from_fn(assets::security_headers))
        .layer(middleware::from_fn(ops::track))
        .layer(CompressionLayer::new())
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, Duration::from_secs(60)))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}
