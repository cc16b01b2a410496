//! Static files, embedded in the binary, and the headers every response carries.

use axum::Router;
use axum::extract::{Path, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

const FILES: &[(&str, &str, &[u8])] = &[
    ("app.css", "text/css; charset=utf-8", include_bytes!("../static/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("../static/app.js")),
    ("favicon.svg", "image/svg+xml", include_bytes!("../static/favicon.svg")),
    ("vendor/htmx.min.js", "text/javascript; charset=utf-8", include_bytes!("../static/vendor/htmx.min.js")),
    ("vendor/modern-normalize.css", "text/css; charset=utf-8", include_bytes!("../static/vendor/modern-normalize.css")),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/static/{*path}", get(file))
        .route("/favicon.ico", get(|| file(Path("favicon.svg".to_owned()))))
}

async fn file(Path(path): Path<String>) -> Response {
    match FILES.iter().find(|(p, _, _)| *p == path) {
        Some((_, ct, body)) => {
            ([(header::CONTENT_TYPE, *ct), (header::CACHE_CONTROL, "public, max-age=3600")], *body).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub async fn security_headers(req: Request, next: Next) -> Response {
    let docs = req.uri().path().starts_with("/api/docs");
    // A stored PDF shown inside a review page of this site.
    let embedded = req.uri().path().starts_with("/attachments/") && req.uri().query() == Some("inline=1");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let csp = if docs {
        // Swagger UI runs inline scripts of its own.
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'"
    } else if embedded {
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"
    } else {
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'"
    };
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    // Pages carry personal information: never kept in a cache, so that 后退 after
    // 退出 cannot show them again. Static files set their own caching.
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static(if embedded { "SAMEORIGIN" } else { "DENY" }));
    res
}
