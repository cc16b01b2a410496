//! 线下人工核验 (seed 001 §2.1.6): a CPA who will not or cannot do the
//! online face check (a document other than the resident ID card or the
//! residence permit) brings a valid document matching their record to the
//! association, whose staff record what they saw. For that year the record
//! stands in for the face check: the CPA's 确认申请 goes straight to the firm.

use chrono::{Datelike, NaiveDate};
use cmis_domain::{CpaNo, IdType, mask};
use cmis_store::entity::{cpa, firm, offline_verification as row};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QueryTrait, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::settings;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::page::{self, Page};
use crate::scope::{Filed, Permission, Scope};
use crate::{Actor, App, audit};

/// Whether the CPA was verified in person for the year, with the document
/// their record names now (a record whose identity the regulator changed
/// since is someone else's verification).
pub async fn verified<C: ConnectionTrait>(app: &App, db: &C, c: &cpa::Model, year: i32) -> AppResult<bool> {
    let Some(r) =
        row::Entity::find().filter(row::Column::CpaId.eq(c.id)).filter(row::Column::Year.eq(year)).one(db).await?
    else {
        return Ok(false);
    };
    let seen = app.pii.decrypt(&r.document_no_enc)?;
    let on_record = app.pii.decrypt(&c.id_number_enc)?;
    Ok(r.document_type == c.id_type && seen.eq_ignore_ascii_case(&on_record))
}

/// The record as the reviewers read it.
pub(crate) async fn describe(app: &App, cpa_id: i32, year: i32) -> AppResult<String> {
    let r = row::Entity::find()
        .filter(row::Column::CpaId.eq(cpa_id))
        .filter(row::Column::Year.eq(year))
        .one(app.db.conn())
        .await?;
    Ok(match r {
        Some(r) => format!(
            "线下人工核验（{}，{}，核验证件：{}）",
            r.verified_on,
            r.verified_by_name,
            IdType::from_code(&r.document_type).map_or("", IdType::label)
        ),
        None => "线下人工核验".into(),
    })
}

/// A CPA as the page finds them: the name masked, the firm, and this year's record.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    pub cpa_no: String,
    pub name: String,
    pub firm: String,
    pub id_type: String,
    pub year: i32,
    pub record: Option<Record>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub id: i32,
    pub cpa_no: String,
    pub name: String,
    pub year: i32,
    pub document_type: String,
    /// Masked.
    pub document_no: String,
    pub verified_on: NaiveDate,
    pub verified_by: String,
    pub note: Option<String>,
}

async fn cpa_in_scope(app: &App, actor: &Actor, cpa_no: &str) -> AppResult<cpa::Model> {
    Permission::OfflineVerification.require(actor)?;
    let no = CpaNo::parse(cpa_no.trim()).map_err(|e| FieldErrors::one("cpa_no", e))?;
    let found = cpa::Entity::find().filter(cpa::Column::CpaNo.eq(no.as_str())).one(app.db.conn()).await?;
    let scope = Scope::of(app, actor);
    found
        .filter(|c| {
            scope.covers(&Filed {
                association_id: Some(c.association_id),
                city_association_id: c.city_association_id,
                firm_id: Some(c.firm_id),
                ..Filed::default()
            })
        })
        .ok_or_else(|| FieldErrors::one("cpa_no", "本单位管辖范围内没有该编号的注册会计师"))
}

fn to_record(app: &App, r: row::Model, cpa_no: String, name: String) -> AppResult<Record> {
    Ok(Record {
        id: r.id,
        cpa_no,
        name: mask::name(&name),
        year: r.year,
        document_type: IdType::from_code(&r.document_type).map_or("", IdType::label).to_owned(),
        document_no: mask::id_number(&app.pii.decrypt(&r.document_no_enc)?),
        verified_on: r.verified_on,
        verified_by: r.verified_by_name,
        note: r.note,
    })
}

/// 查找: a CPA of the actor's association, for the year checked now (audited).
pub async fn find(app: &App, actor: &Actor, cpa_no: &str) -> AppResult<Found> {
    let c = cpa_in_scope(app, actor, cpa_no).await?;
    let year = settings::current_year(app, c.association_id, app.today()).await?;
    audit::record(
        app,
        &actor.audit_name(),
        "cpa_looked_up",
        &format!("cpa:{}", c.id),
        json!({ "for": "offline_verification" }),
    )
    .await?;
    let record = row::Entity::find()
        .filter(row::Column::CpaId.eq(c.id))
        .filter(row::Column::Year.eq(year))
        .one(app.db.conn())
        .await?
        .map(|r| to_record(app, r, c.cpa_no.to_string(), c.name.clone()))
        .transpose()?;
    let f = firm::Entity::find_by_id(c.firm_id).one(app.db.conn()).await?;
    Ok(Found {
        cpa_no: c.cpa_no.to_string(),
        // In full: staff compare it with the document in front of them (the lookup is audited).
        name: c.name.clone(),
        firm: f.map(|f| f.name).unwrap_or_default(),
        id_type: IdType::from_code(&c.id_type).map_or("", IdType::label).to_owned(),
        year,
        record,
    })
}

/// What staff enter.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewRecord {
    pub cpa_no: String,
    /// The document seen (its code).
    pub document_type: String,
    pub document_no: String,
    pub verified_on: String,
    #[serde(default)]
    pub note: String,
}

/// 保存: the document seen must be one of the seed's and match the CPA's
/// record (type and number); recorded once a year, audited, the CPA told.
pub async fn record(app: &App, actor: &Actor, f: &NewRecord) -> AppResult<Record> {
    let c = cpa_in_scope(app, actor, &f.cpa_no).await?;
    if c.status == "cancelled" {
        return Err(FieldErrors::one("cpa_no", "该注册会计师注册已注销"));
    }
    let year = settings::current_year(app, c.association_id, app.today()).await?;
    let mut errors = FieldErrors::new();
    let doc_type = IdType::from_code(f.document_type.trim());
    if doc_type.is_none() {
        errors.add("document_type", "请选择核验的证件类型");
    }
    let no = f.document_no.trim().to_ascii_uppercase();
    if no.is_empty() {
        errors.add("document_no", "请填写证件号码");
    } else if let Some(t) = doc_type {
        // The document seen must be the one the CPA's record names.
        let on_record = app.pii.decrypt(&c.id_number_enc)?;
        if t.code() != c.id_type || no != on_record.to_ascii_uppercase() {
            errors.add("document_no", "证件类型或号码与该注册会计师的基本信息不一致，不能核验");
        }
    }
    let on = NaiveDate::parse_from_str(f.verified_on.trim(), "%Y-%m-%d").ok();
    match on {
        None => errors.add("verified_on", "请填写核验日期，格式如2026-03-15"),
        Some(d) if d > app.today() => errors.add("verified_on", "核验日期不能晚于今天"),
        Some(d) if d.year() <= year => errors.add("verified_on", format!("核验日期应在{}年", year + 1)),
        _ => {}
    }
    if let Err(e) = cmis_domain::text::check(f.note.trim(), 200, true) {
        errors.add("note", format!("备注{e}"));
    }
    errors.into_result()?;
    let tx = app.write().await?;
    let m = row::ActiveModel {
        cpa_id: Set(c.id),
        year: Set(year),
        association_id: Set(actor.association_id),
        document_type: Set(doc_type.expect("checked").code().into()),
        document_no_enc: Set(app.pii.encrypt(&no)),
        verified_on: Set(on.expect("checked")),
        verified_by: Set(actor.user_id),
        verified_by_name: Set(format!("{}（{}）", actor.display_name, actor.association_name)),
        note: Set(Some(f.note.trim().to_owned()).filter(|n| !n.is_empty())),
        created_at: Set(tx.now()),
        ..Default::default()
    }
    .insert(&tx)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            FieldErrors::one("cpa_no", format!("该注册会计师{year}年度已完成线下人工核验"))
        }
        _ => e.into(),
    })?;
    audit::append(
        &tx,
        &actor.audit_name(),
        "cpa_verified_in_person",
        &format!("cpa:{}", c.id),
        json!({ "year": year, "record": m.id }),
    )
    .await?;
    if let Some(u) = cmis_store::entity::user::Entity::find()
        .filter(cmis_store::entity::user::Column::CpaId.eq(c.id))
        .one(&tx)
        .await?
    {
        crate::messages::send(
            &tx,
            u.id,
            "线下人工核验已完成",
            &format!(
                "{}您已于{}完成{year}年度年检线下人工核验，申请年检时无需再进行人脸认证。",
                cmis_domain::text::signature(&actor.association_name),
                m.verified_on
            ),
            Some("/cpa-check"),
        )
        .await?;
    }
    tx.commit().await?;
    to_record(app, m, c.cpa_no.to_string(), c.name)
}

/// The association's records, newest first.
pub async fn list(app: &App, actor: &Actor, page_no: u64) -> AppResult<Page<Record>> {
    Permission::OfflineVerification.require(actor)?;
    let scope = Scope::of(app, actor);
    let q = row::Entity::find()
        .apply_if(scope.association_condition(row::Column::AssociationId, None), |q, c| q.filter(c))
        .order_by_desc(row::Column::Id);
    let page = page::fetch(app.db.conn(), q, page_no, 20).await?;
    let ids: Vec<i32> = page.items.iter().map(|r| r.cpa_id).collect();
    let cpas: std::collections::HashMap<i32, cpa::Model> = cpa::Entity::find()
        .filter(cpa::Column::Id.is_in(ids))
        .all(app.db.conn())
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    page.try_map(|r| {
        let c = cpas.get(&r.cpa_id).ok_or(AppError::NotFound("注册会计师"))?;
        to_record(app, r, c.cpa_no.to_string(), c.name.clone())
    })
}
