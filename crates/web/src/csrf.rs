//! CSRF protection for every form, in one place.
//!
//! The browser holds a random secret in a SameSite=Strict, HttpOnly cookie.
//! A form's token is a keyed hash of that secret and of the logged-in user
//! (none before login), so a token is good only in the browser that holds
//! the secret and only for the user it was made for: a cookie planted by
//! someone else, or a token from before a login, is worth nothing. The
//! secret is replaced whenever the user of the session changes (login,
//! logout), so no token survives a change of identity.
//!
//! Each unsafe request repeats the token: in the `X-CSRF-Token` header
//! (htmx), in the form field `_csrf`, or, for file uploads, in a `_csrf`
//! field that comes first in the multipart body — never in the address,
//! where logs and the address bar would keep it. The JSON API is exempt: it
//! authenticates with a bearer token, which a browser never sends on its own.

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cmis_app::keys::Secrets;
use futures::StreamExt;
use rand::RngCore;
use tower_sessions::Session;

use crate::error::WebError;
use crate::shell::SESSION_USER;

pub const COOKIE: &str = "cmis_csrf";
pub const FIELD: &str = "_csrf";
const MAX_FORM: usize = 1024 * 1024;
/// How far into a multipart body the `_csrf` field must have ended.
const MULTIPART_PEEK: usize = 8 * 1024;

/// The token of this request, for templates to put in their forms.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

/// What the middleware needs: whether cookies are Secure, and the key tokens are made with.
#[derive(Clone)]
pub struct CsrfKeys {
    pub secure: bool,
    pub key: [u8; 32],
}

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

fn field_in(form: &str) -> Option<String> {
    form.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == FIELD).map(|(_, v)| v.to_owned())
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn random_secret() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// The token for a browser secret and a user (0 before login).
pub fn token_for(key: &[u8; 32], secret: &str, user: Option<i32>) -> String {
    let mac = Secrets::mac(key, &[secret.as_bytes(), &user.unwrap_or(0).to_be_bytes()]);
    mac[..32].to_owned()
}

/// Not from a browser form: the bearer-token API, and the payment and face
/// providers' server-to-server calls, which carry their own signatures.
fn exempt(path: &str) -> bool {
    path.starts_with("/api/")
        || path == cmis_app::payment::NOTIFY_PATH
        || path == "/dev/pay/orders"
        || path.starts_with("/dev/face/api/")
}

/// Requests that neither render a form nor take one: no token, no session read.
fn untouched(req: &Request) -> bool {
    let p = req.uri().path();
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    (safe && (p.starts_with("/static/") || p == "/favicon.ico" || p == "/healthz")) || p.starts_with("/api/")
}

async fn user_of(session: Option<&Session>) -> Option<i32> {
    session?.get::<i32>(SESSION_USER).await.ok().flatten()
}

fn content_type(req: &Request) -> &str {
    req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// The value of the first part of a multipart body, if that part is `_csrf`.
/// Reads at most `MULTIPART_PEEK` bytes, and gives the body back whole.
async fn first_part(req: Request, boundary: &str) -> (Request, Option<String>) {
    let (parts, body) = req.into_parts();
    let mut stream = body.into_data_stream();
    let mut seen: Vec<u8> = Vec::new();
    let opening = format!("--{boundary}\r\n");
    let closing = format!("\r\n--{boundary}");
    let mut found = None;
    let mut failed = None;
    while seen.len() < MULTIPART_PEEK {
        if let Some(v) = parse_first(&seen, &opening, &closing) {
            found = v;
            break;
        }
        match stream.next().await {
            Some(Ok(chunk)) => seen.extend_from_slice(&chunk),
            Some(Err(e)) => {
                failed = Some(e);
                break;
            }
            None => break,
        }
    }
    if found.is_none() {
        found = parse_first(&seen, &opening, &closing).flatten();
    }
    let head = futures::stream::iter([Ok::<Bytes, axum::Error>(Bytes::from(seen))]);
    let tail = futures::stream::iter(failed.map(Err));
    let body = Body::from_stream(head.chain(tail).chain(stream));
    (Request::from_parts(parts, body), found)
}

/// `None` while more bytes are needed; `Some(None)` when the first part is not `_csrf`.
fn parse_first(seen: &[u8], opening: &str, closing: &str) -> Option<Option<String>> {
    let start = find(seen, opening.as_bytes())? + opening.len();
    let head_end = find(&seen[start..], b"\r\n\r\n")? + start;
    let headers = String::from_utf8_lossy(&seen[start..head_end]).to_ascii_lowercase();
    let named = headers.lines().any(|l| {
        l.starts_with("content-disposition:") && l.split(';').any(|p| p.trim() == format!("name=\"{FIELD}\""))
    });
    if !named {
        return Some(None);
    }
    let value_start = head_end + 4;
    let value_end = find(&seen[value_start..], closing.as_bytes())? + value_start;
    Some(std::str::from_utf8(&seen[value_start..value_end]).ok().map(|v| v.trim().to_owned()))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

pub async fn protect(keys: CsrfKeys, mut req: Request, next: Next) -> Response {
    if untouched(&req) {
        return next.run(req).await;
    }
    let session = req.extensions().get::<Session>().cloned();
    let user = user_of(session.as_ref()).await;
    let existing = cookie_value(&req);
    let secret = existing.clone().unwrap_or_else(random_secret);
    let expected = token_for(&keys.key, &secret, user);
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method && !exempt(req.uri().path()) {
        if existing.is_none() {
            return WebError::Csrf.into_response();
        }
        let mut given = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let ct = content_type(&req).to_owned();
        if given.is_none() && ct.starts_with("application/x-www-form-urlencoded") {
            let (parts, body) = req.into_parts();
            let Ok(bytes) = to_bytes(body, MAX_FORM).await else {
                return WebError::Csrf.into_response();
            };
            given = field_in(&String::from_utf8_lossy(&bytes));
            req = Request::from_parts(parts, Body::from(bytes));
        } else if given.is_none() && ct.starts_with("multipart/form-data") {
            let boundary = ct.split(';').find_map(|p| p.trim().strip_prefix("boundary=")).map(|b| b.trim_matches('"'));
            if let Some(b) = boundary.map(str::to_owned) {
                let (r, v) = first_part(req, &b).await;
                req = r;
                given = v;
            }
        }
        if !given.is_some_and(|g| same(&g, &expected)) {
            return WebError::Csrf.into_response();
        }
    }
    req.extensions_mut().insert(CsrfToken(expected));
    let mut res = next.run(req).await;
    // The secret of a new browser (its forms were made with it), and a new
    // secret whenever the session's user changed.
    let renewed = if user_of(session.as_ref()).await != user {
        Some(random_secret())
    } else {
        existing.is_none().then_some(secret)
    };
    if let Some(secret) = renewed {
        let secure = if keys.secure { "; Secure" } else { "" };
        let cookie = format!("{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict{secure}");
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_part_only_when_it_is_the_token() {
        let o = "--b\r\n";
        let c = "\r\n--b";
        let body = b"--b\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\nabc123\r\n--b\r\n";
        assert_eq!(parse_first(body, o, c), Some(Some("abc123".into())));
        let other = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\nzz";
        assert_eq!(parse_first(other, o, c), Some(None));
        assert_eq!(parse_first(b"--b\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\nab", o, c), None);
        // A field merely ending in _csrf is not the token.
        let sly = b"--b\r\nContent-Disposition: form-data; name=\"x_csrf\"\r\n\r\nabc\r\n--b";
        assert_eq!(parse_first(sly, o, c), Some(None));
    }

    #[test]
    fn a_token_is_bound_to_the_secret_and_the_user() {
        let k = [9u8; 32];
        let t = token_for(&k, "00112233445566778899aabbccddeeff", Some(7));
        assert_eq!(t.len(), 32);
        assert_ne!(t, token_for(&k, "00112233445566778899aabbccddeeff", Some(8)));
        assert_ne!(t, token_for(&k, "00112233445566778899aabbccddeeff", None));
        assert_ne!(t, token_for(&k, "ffeeddccbbaa99887766554433221100", Some(7)));
        assert_ne!(t, token_for(&[8u8; 32], "00112233445566778899aabbccddeeff", Some(7)));
    }
}
