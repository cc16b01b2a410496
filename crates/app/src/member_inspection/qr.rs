//! 年检二维码: one code per member, the same every year. The payload
//! `CMISQ1.{会员编号}.{signature}` is signed with the system's Ed25519 key (the
//! certificate's), so a printed code can be checked offline against the
//! published public key; scanning opens the member's results by year.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use cmis_domain::mask;
use cmis_domain::member_inspection::InspectionState;
use cmis_store::entity::{member, review_case as case_row};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use super::own_member;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

const PREFIX: &str = "CMISQ1";

fn message(cert_no: &str) -> String {
    format!("{PREFIX}|{cert_no}")
}

pub fn payload(app: &App, cert_no: &str) -> String {
    let sig = app.signer.sign_bytes(message(cert_no).as_bytes());
    format!("{PREFIX}.{cert_no}.{}", B64URL.encode(sig))
}

/// The member number of a payload whose signature holds under `key`.
pub fn verify_with(key: &VerifyingKey, payload: &str) -> Option<String> {
    let mut parts = payload.split('.');
    let (prefix, cert, sig) = (parts.next()?, parts.next()?, parts.next()?);
    if prefix != PREFIX || parts.next().is_some() {
        return None;
    }
    let sig: [u8; 64] = B64URL.decode(sig).ok()?.try_into().ok()?;
    key.verify(message(cert).as_bytes(), &Signature::from_bytes(&sig)).ok()?;
    Some(cert.to_owned())
}

pub fn url_of(app: &App, payload: &str) -> String {
    format!("{}/q/{payload}", app.settings.public_url.trim_end_matches('/'))
}

#[derive(Debug, Clone, Serialize)]
pub struct MemberQr {
    pub payload: String,
    pub url: String,
    pub name: String,
    pub cert_no: String,
    pub association: String,
}

pub async fn of_member(app: &App, actor: &Actor) -> AppResult<MemberQr> {
    let m = own_member(app, actor).await?;
    let payload = payload(app, m.cert_no.as_str());
    Ok(MemberQr {
        url: url_of(app, &payload),
        payload,
        name: m.name,
        cert_no: m.cert_no.to_string(),
        association: app.orgs().get(m.association_id).map_or_else(String::new, |a| a.name.clone()),
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicResults {
    pub cert_no: String,
    /// Masked.
    pub name: String,
    pub association: String,
    pub member_status: &'static str,
    pub years: Vec<(i32, InspectionState)>,
}

/// What scanning shows anyone: the results by year, the name masked.
pub async fn public_results(app: &App, payload: &str) -> AppResult<PublicResults> {
    let cert = verify_with(&app.signer.verifying_key(), payload).ok_or(AppError::NotFound("二维码"))?;
    let db = app.db.conn();
    let m = member::Entity::find()
        .filter(member::Column::CertNo.eq(&cert))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("会员"))?;
    let years = super::cases_of(m.id)
        .order_by_desc(case_row::Column::Year)
        .all(db)
        .await?
        .iter()
        .map(|r| Ok((r.year.unwrap_or_default(), InspectionState::parse(&r.state).map_err(anyhow::Error::from)?)))
        .collect::<AppResult<_>>()?;
    Ok(PublicResults {
        cert_no: m.cert_no.to_string(),
        name: mask::name(&m.name),
        association: app.orgs().get(m.association_id).map_or_else(String::new, |a| a.name.clone()),
        member_status: if m.status == "cancelled" { "会籍已注销" } else { "有效" },
        years,
    })
}
