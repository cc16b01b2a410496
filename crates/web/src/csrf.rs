//! CSRF protection for every form, in one place: a random token in a
//! SameSite=Strict cookie that each unsafe request must repeat, in the form
//! field `_csrf`, the `X-CSRF-Token` header (htmx) or, for file uploads, the
//! query string. The JSON API is exempt: it authenticates with a bearer
//! token, which a browser never sends on its own.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;

use crate::error::WebError;

pub const COOKIE: &str = "cmis_csrf";
pub const FIELD: &str = "_csrf";
const MAX_FORM: usize = 1024 * 1024;

/// The token of this request, for templates to put in their forms.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

fn cookie_value(req: &Request) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
        .filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn field_in(query_or_form: &str) -> Option<String> {
    query_or_form.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == FIELD).map(|(_, v)| v.to_owned())
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Not from a browser form: the bearer-token API, and the payment provider's
/// server-to-server calls, which carry their own signatures.
fn exempt(path: &str) -> bool {
    path.starts_with("/api/") || path == cmis_app::payment::NOTIFY_PATH || path == "/dev/pay/orders"
}

pub async fn protect(secure: bool, mut req: Request, next: Next) -> Response {
    let existing = cookie_value(&req);
    let token = existing.clone().unwrap_or_else(|| {
        let mut b = [0u8; 16];
        rand::rng().fill_bytes(&mut b);
        hex::encode(b)
    });
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method && !exempt(req.uri().path()) {
        let Some(expected) = existing.as_deref() else {
            return WebError::Csrf.into_response();
        };
        let mut given = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| req.uri().query().and_then(field_in));
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if given.is_none() && is_form {
            let (parts, body) = req.into_parts();
            let Ok(bytes) = to_bytes(body, MAX_FORM).await else {
                return WebError::Csrf.into_response();
            };
            given = field_in(&String::from_utf8_lossy(&bytes));
            req = Request::from_parts(parts, Body::from(bytes));
        }
        if !given.is_some_and(|g| same(&g, expected)) {
            return WebError::Csrf.into_response();
        }
    }
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let mut res = next.run(req).await;
    if existing.is_none() {
        let secure = if secure { "; Secure" } else { "" };
        let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}");
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}
