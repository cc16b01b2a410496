//! Server-rendered pages.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::WebError;

mod account;
mod attachments;
mod certificate;
mod cpa_archive;
mod cpa_batch_review;
pub mod cpa_check;
mod cpa_check_staff;
mod dev;
mod exam_photos;
mod face;
mod firm_review;
mod home;
mod institute;
mod jobs;
mod learning;
mod learning_staff;
pub mod member_admission;
mod member_admission_progress;
mod member_admission_staff;
pub mod member_inspection;
mod member_inspection_staff;
mod member_inspection_view;
mod member_photo;
mod messages;
mod notices;
pub mod password;
mod payment;
mod portal;
mod profile;
pub mod review;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(portal::routes())
        .merge(home::routes())
        .merge(jobs::routes())
        .merge(account::routes())
        .merge(member_admission::routes())
        .merge(member_admission_progress::routes())
        .merge(member_admission_staff::routes())
        .merge(member_photo::routes())
        .merge(cpa_archive::routes())
        .merge(exam_photos::routes())
        .merge(messages::routes())
        .merge(notices::routes())
        .merge(profile::routes())
        .merge(password::routes())
        .merge(attachments::routes())
        .merge(certificate::routes())
        .merge(dev::routes())
        .merge(member_inspection::routes())
        .merge(member_inspection_staff::routes())
        .merge(member_inspection_view::routes())
        .merge(payment::routes())
        .merge(cpa_check::routes())
        .merge(cpa_check_staff::routes())
        .merge(face::routes())
        .merge(firm_review::routes())
        .merge(cpa_batch_review::routes())
        .merge(learning::routes())
        .merge(institute::routes())
        .merge(learning_staff::routes())
}

pub async fn not_found() -> Response {
    WebError::NotFound.into_response()
}

/// The client's address, for throttling. Behind `trusted_proxies` proxies,
/// each of which appends the address it received the request from to
/// X-Forwarded-For, the client is the entry that many places from the right:
/// everything left of it was written by the client and proves nothing. With
/// no trusted proxy, or a header shorter than the proxy chain, it is the
/// socket peer.
pub struct ClientAddr(pub String);

/// The client's address in an X-Forwarded-For value, behind `hops` trusted proxies.
pub fn forwarded_client(header: &str, hops: usize) -> Option<String> {
    let entries: Vec<&str> = header.split(',').map(str::trim).collect();
    let i = entries.len().checked_sub(hops)?;
    let ip: std::net::IpAddr = entries.get(i)?.parse().ok()?;
    Some(ip.to_string())
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let hops = state.options.trusted_proxies;
        let forwarded: Vec<&str> =
            parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
        if hops > 0
            && let Some(client) = forwarded_client(&forwarded.join(","), hops)
        {
            return Ok(ClientAddr(client));
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string());
        Ok(ClientAddr(peer))
    }
}

/// A year typed into a filter: a number among the years the system knows,
/// else none (the page's default year).
/// A value for an address's query, every byte but letters and digits escaped.
pub fn enc(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// Whether two texts are the same (for templates, whatever references they hold).
pub fn same(a: &str, b: &str) -> bool {
    a == b
}

pub fn year_of(text: Option<&str>) -> Option<i32> {
    text.and_then(|y| y.trim().parse().ok()).filter(|y| cmis_domain::YEARS.contains(y))
}

/// A review page has one reason box (and list of items) per decision: a
/// refusal goes beside the box of the decision `action` that was pressed.
pub fn reason_errors(mut errors: cmis_app::FieldErrors, action: &str) -> cmis_app::FieldErrors {
    for (k, _) in errors.0.iter_mut() {
        if k == "reason" || k == "items" {
            *k = format!("{k}_{action}");
        }
    }
    errors
}

/// Template helpers shared by pages.
pub mod fmt {
    use chrono::{DateTime, FixedOffset, Utc};

    /// Times are shown in China Standard Time.
    pub fn date(t: &DateTime<Utc>) -> String {
        let cst = FixedOffset::east_opt(8 * 3600).expect("valid offset");
        t.with_timezone(&cst).format("%Y-%m-%d").to_string()
    }

    pub fn time(t: &DateTime<Utc>) -> String {
        let cst = FixedOffset::east_opt(8 * 3600).expect("valid offset");
        t.with_timezone(&cst).format("%Y-%m-%d %H:%M:%S").to_string()
    }

    /// A file's size as people read it: 15 B, 3 KB, 1.2 MB.
    pub fn size(bytes: &i64) -> String {
        match *bytes {
            b if b < 1024 => format!("{b} B"),
            b if b < 1024 * 1024 => format!("{} KB", (b + 512) / 1024),
            b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn sizes_read_as_people_say_them() {
            assert_eq!(super::size(&15), "15 B");
            assert_eq!(super::size(&3000), "3 KB");
            assert_eq!(super::size(&(5 * 1024 * 1024)), "5.0 MB");
        }
    }
}
