//! The association tree: 中注协 → 32 local associations → city associations.
//! It is reference data, held in memory by every instance. A change to it
//! bumps a version stamp in the database in the same transaction; each
//! instance looks at the stamp every few seconds and re-reads the tree when
//! it moved, so that a city association added on one instance is in every
//! instance's scopes within seconds.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use cmis_domain::AssociationLevel;
use cmis_store::Db;
use cmis_store::entity::{association, contact_line, sequence};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, QueryOrder, Set, Statement};
use serde::Serialize;
use serde_json::json;

use crate::error::{AppError, AppResult, FieldErrors};
use crate::{App, audit};

#[derive(Debug, Clone, Serialize)]
pub struct Association {
    pub id: i32,
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub level: AssociationLevel,
    pub parent_id: Option<i32>,
    pub province_code: Option<String>,
    pub phone_practicing: Option<String>,
    pub phone_non_practicing: Option<String>,
    pub phone_firm: Option<String>,
    pub address: Option<String>,
    /// A city association its province lets review CPAs' checks and batches
    /// (委托市注协审核).
    pub reviews_cpa_checks: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContactLine {
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Organisations {
    list: Vec<Association>,
    by_id: HashMap<i32, usize>,
    lines: Vec<ContactLine>,
}

/// The version stamp of the tree: a row of `sequences`.
const VERSION: &str = "associations";

/// The stamp as it is in the database now (0 before any change).
pub async fn version<C: ConnectionTrait>(db: &C) -> Result<i64, DbErr> {
    Ok(sequence::Entity::find_by_id(VERSION.to_owned()).one(db).await?.map_or(0, |r| r.value))
}

/// Moves the stamp, inside the transaction that changes the tree.
async fn bump<C: ConnectionTrait>(txn: &C) -> Result<(), DbErr> {
    txn.execute_raw(Statement::from_sql_and_values(
        txn.get_database_backend(),
        "INSERT INTO sequences (name, value) VALUES ($1, 1) \
         ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1",
        [VERSION.into()],
    ))
    .await?;
    Ok(())
}

/// The tree an instance holds, and the stamp it was read at.
pub struct Tree {
    held: RwLock<(i64, Arc<Organisations>)>,
}

impl Tree {
    pub async fn load(db: &Db) -> anyhow::Result<Tree> {
        // The stamp is read first: a change made meanwhile shows as a newer
        // stamp at the next look, never as a newer tree under an older stamp.
        let v = version(db.conn()).await?;
        Ok(Tree { held: RwLock::new((v, Arc::new(Organisations::load(db).await?))) })
    }

    /// The tree as this instance holds it now.
    pub fn current(&self) -> Arc<Organisations> {
        self.held.read().unwrap_or_else(|e| e.into_inner()).1.clone()
    }

    /// Re-reads the tree if the stamp moved; whether it did.
    pub async fn refresh(&self, db: &Db) -> anyhow::Result<bool> {
        let v = version(db.conn()).await?;
        if v == self.held.read().unwrap_or_else(|e| e.into_inner()).0 {
            return Ok(false);
        }
        let fresh = Arc::new(Organisations::load(db).await?);
        // Two looks at once (the watcher, a change on this instance): the
        // newer stamp wins whichever finishes last.
        let mut held = self.held.write().unwrap_or_else(|e| e.into_inner());
        if v > held.0 {
            *held = (v, fresh);
        }
        Ok(true)
    }
}

/// How often an instance looks at the stamp.
pub const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Looks at the stamp every `every` ([`REFRESH_EVERY`] when serving), for
/// as long as the instance runs.
pub async fn watch(app: Arc<App>, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match app.tree.refresh(&app.db).await {
            Ok(true) => tracing::info!("association tree re-read"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "could not look at the association tree's stamp"),
        }
    }
}

/// A local association's contact details, as the portal and the seeds'
/// 联系方式 list show them.
#[derive(Debug, Clone, Default)]
pub struct Contact {
    pub address: Option<String>,
    pub phone_practicing: Option<String>,
    pub phone_non_practicing: Option<String>,
    pub phone_firm: Option<String>,
}

fn clean(v: &Option<String>, field: &'static str, errors: &mut FieldErrors) -> Option<String> {
    let v = v.as_deref().map(str::trim).filter(|v| !v.is_empty())?;
    if v.chars().count() > 100 || v.chars().any(char::is_control) {
        errors.add(field, "内容过长或含有不可见字符");
    }
    Some(v.to_owned())
}

/// Changes an association's contact details (by an operator, `by`).
pub async fn set_contact(app: &App, by: &str, code: &str, c: &Contact) -> AppResult<()> {
    let tree = app.orgs();
    let a = tree.by_code(code).ok_or(AppError::NotFound("注协"))?;
    let mut errors = FieldErrors::new();
    let address = clean(&c.address, "address", &mut errors);
    let practicing = clean(&c.phone_practicing, "phone_practicing", &mut errors);
    let non_practicing = clean(&c.phone_non_practicing, "phone_non_practicing", &mut errors);
    let firm = clean(&c.phone_firm, "phone_firm", &mut errors);
    errors.into_result()?;
    let txn = app.write().await?;
    association::ActiveModel {
        id: Set(a.id),
        address: Set(address.clone()),
        phone_practicing: Set(practicing.clone()),
        phone_non_practicing: Set(non_practicing.clone()),
        phone_firm: Set(firm.clone()),
        ..Default::default()
    }
    .update(&txn)
    .await?;
    bump(&txn).await?;
    let detail = json!({ "address": address, "phone_practicing": practicing,
        "phone_non_practicing": non_practicing, "phone_firm": firm });
    audit::append(&txn, by, "association_contact_changed", &format!("association:{}", a.id), detail).await?;
    txn.commit().await?;
    app.tree.refresh(&app.db).await?;
    Ok(())
}

/// 委托市注协审核: the city associations of a province that review its CPAs'
/// checks and firms' batches (the province still may). Only the province's
/// own staff choose, among its own cities.
pub async fn delegate_cpa_review(app: &App, actor: &crate::Actor, cities: &[i32]) -> AppResult<()> {
    crate::scope::Permission::CpaCheckSettings.require(actor)?;
    if actor.association_level != AssociationLevel::Provincial {
        return Err(AppError::Forbidden);
    }
    let tree = app.orgs();
    let own: Vec<i32> = tree.children(actor.association_id).map(|c| c.id).collect();
    if let Some(other) = cities.iter().find(|c| !own.contains(c)) {
        return Err(FieldErrors::one("cities", format!("市注协#{other}不属于本省")));
    }
    let txn = app.write().await?;
    for id in &own {
        let on = cities.contains(id);
        if tree.get(*id).is_some_and(|c| c.reviews_cpa_checks != on) {
            association::ActiveModel { id: Set(*id), reviews_cpa_checks: Set(on), ..Default::default() }
                .update(&txn)
                .await?;
        }
    }
    bump(&txn).await?;
    audit::append(
        &txn,
        &actor.audit_name(),
        "cpa_review_delegated",
        &format!("association:{}", actor.association_id),
        json!({ "cities": cities }),
    )
    .await?;
    txn.commit().await?;
    app.tree.refresh(&app.db).await?;
    Ok(())
}

/// Adds a city association under a provincial one (by an operator, `by`):
/// from then on the province's staff see it in their scope, on every
/// instance, and it can be chosen as a member's 市注协.
pub async fn add_city(app: &App, by: &str, province_code: &str, code: &str, name: &str) -> AppResult<i32> {
    let tree = app.orgs();
    let province = tree
        .by_code(province_code)
        .filter(|p| p.level == AssociationLevel::Provincial)
        .ok_or(AppError::NotFound("省注协"))?;
    let (code, name) = (code.trim(), name.trim());
    let mut errors = FieldErrors::new();
    if !(code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit()) && code.starts_with(&province.code)) {
        errors.add("code", format!("市注协代码为4位数字，以所属省注协代码{}开头", province.code));
    } else if tree.by_code(code).is_some() {
        errors.add("code", "该代码已被使用");
    }
    if name.is_empty() || name.chars().count() > 50 || name.chars().any(char::is_control) {
        errors.add("name", "请填写市注协名称（不超过50个字）");
    } else if tree.all().iter().any(|a| a.name == name) {
        errors.add("name", "该名称已被使用");
    }
    errors.into_result()?;
    // 广州市注册会计师协会 → 广州, as the seeded cities are named.
    let short_name = name.trim_end_matches("注册会计师协会").trim_end_matches('市').to_owned();
    let last = association::Entity::find()
        .order_by_desc(association::Column::SortOrder)
        .one(app.db.conn())
        .await?
        .map_or(0, |a| a.sort_order);
    let txn = app.write().await?;
    let row = association::ActiveModel {
        code: Set(code.to_owned()),
        name: Set(name.to_owned()),
        short_name: Set(short_name),
        level: Set(AssociationLevel::City.code().to_owned()),
        parent_id: Set(Some(province.id)),
        province_code: Set(Some(province.code.clone())),
        sort_order: Set(last + 1),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    bump(&txn).await?;
    audit::append(
        &txn,
        by,
        "association_added",
        &format!("association:{}", row.id),
        json!({ "code": code, "name": name, "parent": province.code }),
    )
    .await?;
    txn.commit().await?;
    app.tree.refresh(&app.db).await?;
    Ok(row.id)
}

impl Organisations {
    pub async fn load(db: &Db) -> anyhow::Result<Organisations> {
        let rows = association::Entity::find().order_by_asc(association::Column::SortOrder).all(db.conn()).await?;
        let list: Vec<Association> = rows
            .into_iter()
            .map(|r| {
                Ok(Association {
                    level: AssociationLevel::from_code(&r.level)
                        .ok_or_else(|| anyhow::anyhow!("unknown level {}", r.level))?,
                    id: r.id,
                    code: r.code,
                    name: r.name,
                    short_name: r.short_name,
                    parent_id: r.parent_id,
                    province_code: r.province_code,
                    phone_practicing: r.phone_practicing,
                    phone_non_practicing: r.phone_non_practicing,
                    phone_firm: r.phone_firm,
                    address: r.address,
                    reviews_cpa_checks: r.reviews_cpa_checks,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        let by_id = list.iter().enumerate().map(|(i, a)| (a.id, i)).collect();
        let lines = contact_line::Entity::find()
            .order_by_asc(contact_line::Column::SortOrder)
            .all(db.conn())
            .await?
            .into_iter()
            .map(|l| ContactLine { name: l.name, phone: l.phone, email: l.email })
            .collect();
        Ok(Organisations { list, by_id, lines })
    }

    pub fn all(&self) -> &[Association] {
        &self.list
    }

    pub fn get(&self, id: i32) -> Option<&Association> {
        self.by_id.get(&id).map(|&i| &self.list[i])
    }

    pub fn by_code(&self, code: &str) -> Option<&Association> {
        self.list.iter().find(|a| a.code == code)
    }

    pub fn national(&self) -> &Association {
        self.list
            .iter()
            .find(|a| a.level == AssociationLevel::National)
            .expect("CICPA is seeded with the first migration")
    }

    pub fn provincial(&self) -> impl Iterator<Item = &Association> {
        self.list.iter().filter(|a| a.level == AssociationLevel::Provincial)
    }

    pub fn children(&self, id: i32) -> impl Iterator<Item = &Association> {
        self.list.iter().filter(move |a| a.parent_id == Some(id))
    }

    /// Whether `id` is `ancestor` or lies below it: the scope of a staff account.
    pub fn is_within(&self, id: i32, ancestor: i32) -> bool {
        let mut cur = Some(id);
        while let Some(c) = cur {
            if c == ancestor {
                return true;
            }
            cur = self.get(c).and_then(|a| a.parent_id);
        }
        false
    }

    /// The ids in the scope of `ancestor`, itself included.
    pub fn scope(&self, ancestor: i32) -> Vec<i32> {
        self.list.iter().filter(|a| self.is_within(a.id, ancestor)).map(|a| a.id).collect()
    }

    /// The associations a firm is filed under, by its number: 10 is CICPA's
    /// own; a provincial-level association may have a four-digit code of its
    /// own (深圳, 4403); otherwise the province's, and the city association
    /// with the number's first four digits where there is one.
    pub fn for_firm(&self, no: &cmis_domain::FirmNo) -> Option<(i32, Option<i32>)> {
        if no.province_code() == "10" {
            return Some((self.national().id, None));
        }
        let four = &no.as_str()[..4];
        if let Some(a) = self.provincial().find(|a| a.code == four) {
            return Some((a.id, None));
        }
        let p = self.provincial().find(|a| a.code == no.province_code())?;
        Some((p.id, self.children(p.id).find(|c| c.code == four).map(|c| c.id)))
    }

    pub fn contact_lines(&self) -> &[ContactLine] {
        &self.lines
    }
}
