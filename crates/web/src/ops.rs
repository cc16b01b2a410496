//! Health, Prometheus metrics and request accounting. The metrics are not
//! served on the public address: `metrics_router` is for a listener of their
//! own (`metrics_listen`), reachable by the scraper only.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::AppState;

fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets(&[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])
            .expect("static buckets")
            .install_recorder()
            .expect("one recorder per process")
    })
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

/// `/metrics` alone, for the metrics listener.
pub fn metrics_router() -> Router {
    Router::new().route("/metrics", get(metrics_page))
}

async fn healthz(State(s): State<AppState>) -> Response {
    match s.app.db.ping().await {
        Ok(()) => Json(serde_json::json!({ "status": "ok" })).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "status": "database unreachable" })))
                .into_response()
        }
    }
}

async fn metrics_page() -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], prometheus().render()).into_response()
}

/// Counts requests and their latency by route pattern (not by raw path, so
/// identifiers do not explode the label set).
pub async fn track(req: Request, next: Next) -> Response {
    prometheus();
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let res = next.run(req).await;
    let labels = [("method", method), ("route", route), ("status", res.status().as_u16().to_string())];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(start.elapsed().as_secs_f64());
    res
}
