//! The CPA's 年检二维码 (seed 001 §2.3.3–2.3.4, §3.1.6): one code per CPA,
//! the same every year. The payload `CMISC1.{证书编号}.{signature}` is
//! signed with the system's Ed25519 key, as the members' is, and opens the
//! CPA's annual-check results by year at `/q/{payload}`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use cmis_domain::cpa_check::CheckState;
use cmis_domain::mask;
use cmis_store::entity::{cpa, cpa_check as payload, firm, review_case as case_row};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use super::own_cpa;
use crate::error::{AppError, AppResult};
use crate::scope::{Filed, Scope};
use crate::{Actor, App};

pub const PREFIX: &str = "CMISC1";

fn message(cpa_no: &str) -> String {
    format!("{PREFIX}|{cpa_no}")
}

pub fn payload_of(app: &App, cpa_no: &str) -> String {
    let sig = app.signer.sign_bytes(message(cpa_no).as_bytes());
    format!("{PREFIX}.{cpa_no}.{}", B64URL.encode(sig))
}

/// The certificate number of a payload whose signature holds under `key`.
pub fn verify_with(key: &VerifyingKey, payload: &str) -> Option<String> {
    let mut parts = payload.split('.');
    let (prefix, no, sig) = (parts.next()?, parts.next()?, parts.next()?);
    if prefix != PREFIX || parts.next().is_some() {
        return None;
    }
    let sig: [u8; 64] = B64URL.decode(sig).ok()?.try_into().ok()?;
    key.verify(message(no).as_bytes(), &Signature::from_bytes(&sig)).ok()?;
    Some(no.to_owned())
}

#[derive(Debug, Clone, Serialize)]
pub struct CpaQr {
    pub payload: String,
    pub url: String,
    pub name: String,
    pub cpa_no: String,
    pub firm: String,
}

fn qr_of(app: &App, c: &cpa::Model, firm: String) -> CpaQr {
    let payload = payload_of(app, c.cpa_no.as_str());
    CpaQr {
        url: crate::member_inspection::qr::url_of(app, &payload),
        payload,
        name: c.name.clone(),
        cpa_no: c.cpa_no.to_string(),
        firm,
    }
}

/// The CPA's own code.
pub async fn of_cpa(app: &App, actor: &Actor) -> AppResult<CpaQr> {
    let c = own_cpa(app, actor).await?;
    let f = firm::Entity::find_by_id(c.firm_id).one(app.db.conn()).await?.map(|f| f.name).unwrap_or_default();
    Ok(qr_of(app, &c, f))
}

/// A CPA's code, for their firm or an association over them (二维码 of 年检信息查询).
pub async fn of(app: &App, actor: &Actor, cpa_no: &str) -> AppResult<CpaQr> {
    let c = cpa::Entity::find()
        .filter(cpa::Column::CpaNo.eq(cpa_no))
        .one(app.db.conn())
        .await?
        .ok_or(AppError::NotFound("注册会计师"))?;
    let filed = Filed {
        association_id: Some(c.association_id),
        city_association_id: c.city_association_id,
        firm_id: Some(c.firm_id),
        user_id: None,
        institute_id: None,
        member_id: None,
    };
    if !actor.is_staff() && actor.firm_id != Some(c.firm_id) && actor.cpa_id != Some(c.id) {
        return Err(AppError::NotFound("注册会计师"));
    }
    if actor.is_staff() {
        Scope::of(app, actor).check(&filed, "注册会计师")?;
    }
    let f = firm::Entity::find_by_id(c.firm_id).one(app.db.conn()).await?.map(|f| f.name).unwrap_or_default();
    Ok(qr_of(app, &c, f))
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicResults {
    pub cpa_no: String,
    /// Masked.
    pub name: String,
    pub firm: String,
    pub status: &'static str,
    pub years: Vec<(i32, CheckState)>,
}

/// What scanning shows anyone: the results by year, the name masked.
pub async fn public_results(app: &App, payload: &str) -> AppResult<PublicResults> {
    let no = verify_with(&app.signer.verifying_key(), payload).ok_or(AppError::NotFound("二维码"))?;
    let db = app.db.conn();
    let c = cpa::Entity::find()
        .filter(cpa::Column::CpaNo.eq(&no))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("注册会计师"))?;
    let checks = payload::Entity::find()
        .filter(payload::Column::CpaId.eq(c.id))
        .order_by_desc(payload::Column::Year)
        .all(db)
        .await?;
    let states: std::collections::HashMap<i32, String> = case_row::Entity::find()
        .filter(case_row::Column::Id.is_in(checks.iter().map(|p| p.case_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|k| (k.id, k.state))
        .collect();
    let years = checks
        .iter()
        .filter_map(|p| states.get(&p.case_id).map(|s| (p.year, s)))
        .map(|(y, s)| Ok((y, CheckState::parse(s).map_err(anyhow::Error::from)?)))
        .collect::<AppResult<_>>()?;
    let f = firm::Entity::find_by_id(c.firm_id).one(db).await?.map(|f| f.name).unwrap_or_default();
    Ok(PublicResults {
        cpa_no: c.cpa_no.to_string(),
        name: mask::name(&c.name),
        firm: f,
        status: if c.status == "cancelled" { "注册已注销" } else { "执业" },
        years,
    })
}
