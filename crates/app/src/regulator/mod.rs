//! Synchronisation with 注册会计师行业统一监管平台 (https://acc.mof.gov.cn/):
//! a CPA's personal information is changed there and synchronised here
//! (seed 001 §2.1.3), with the firms and their branches.
//!
//! A run reads the regulator's current records (a file, or the interface
//! pulled: `feed`), and in one transaction adds the new firms and CPAs with
//! their accounts, changes what changed, moves CPAs between firms (an open
//! annual check follows the CPA to the new firm) and cancels what was
//! cancelled (the account closes, an open check ends). A row that cannot be
//! read, or that names a firm that does not exist, is refused with its
//! reason and nothing of it is written; the rest goes in. A run that fails
//! part-way changes nothing: what people see is always the last good run.
//! Running the same data again changes nothing (each record's keyed digest
//! is kept), so a run can be repeated safely.

pub mod feed;
pub mod parse;

use std::collections::{HashMap, HashSet};

use cmis_domain::UserType;
use cmis_domain::regulator::{CpaRecord, FirmRecord, Record};
use cmis_store::entity::{api_token, cpa, firm, regulator_refusal, regulator_run, session, user};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{AppError, AppResult};
use crate::jobs::Progress;
use crate::keys::Secrets;
use crate::page::{self, Page};
use crate::scope::Permission;
use crate::{Actor, App, Tx, audit, auth};

/// Records written per statement batch.
const CHUNK: usize = 400;
/// Refused rows kept per run (the count goes on).
pub const REFUSALS_KEPT: usize = 10_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub firms_new: u32,
    pub firms_changed: u32,
    pub cpas_new: u32,
    pub cpas_changed: u32,
    pub cpas_moved: u32,
    pub cpas_cancelled: u32,
    pub unchanged: u32,
    pub refused: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    pub line: usize,
    pub kind: &'static str,
    pub key: String,
    pub reason: String,
}

/// The password new accounts get.
#[derive(Debug, Clone, Copy)]
pub enum Accounts<'a> {
    /// None: the person sets one through 忘记密码 (the regulator's data).
    Unset,
    /// This hash (the demo data set).
    Hash(&'a str),
}

impl Accounts<'_> {
    fn hash(&self) -> &str {
        match self {
            Accounts::Unset => auth::NO_PASSWORD,
            Accounts::Hash(h) => h,
        }
    }
}

#[derive(Debug, Clone)]
struct FirmRef {
    id: i32,
    name: String,
    association_id: i32,
    city_id: Option<i32>,
    cancelled: bool,
}

/// Applies records inside a transaction. Firms are given before CPAs, and
/// head offices before branches, as `apply_rows` orders them.
pub struct Applier<'a> {
    app: &'a App,
    tx: &'a Tx,
    accounts: Accounts<'a>,
    pub counts: Counts,
    pub refused: Vec<Refused>,
    firms: HashMap<String, FirmRef>,
    seen_firms: HashSet<String>,
    seen_cpas: HashSet<String>,
    seen_ids: HashMap<String, String>,
}

fn digest(app: &App, canonical: &str) -> String {
    Secrets::mac(&app.secrets.token, &[b"regulator", canonical.as_bytes()])
}

fn firm_canonical(f: &FirmRecord) -> String {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        f.firm_no.as_str().to_owned(),
        f.name.clone(),
        f.parent_no.as_ref().map(|p| p.as_str().to_owned()).unwrap_or_default(),
        f.form.code().to_owned(),
        o(&f.address),
        o(&f.phone),
        o(&f.contact_person),
        f.cancelled.to_string(),
    ]
    .join("\u{1f}")
}

fn cpa_canonical(c: &CpaRecord) -> String {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        c.cpa_no.as_str().to_owned(),
        c.name.clone(),
        c.sex.code().to_owned(),
        c.birth_date.to_string(),
        c.id.id_type().code().to_owned(),
        c.id.as_str().to_owned(),
        o(&c.mobile),
        o(&c.email),
        c.firm_no.as_str().to_owned(),
        c.registered_on.to_string(),
        c.partner.to_string(),
        c.cancelled.to_string(),
        o(&c.archive_unit),
        o(&c.ethnicity),
        o(&c.native_place),
        o(&c.region),
        o(&c.household),
        o(&c.political_status),
        c.qualification_method.to_owned(),
        o(&c.exam_cert_no),
        c.exam_year.map(|y| y.to_string()).unwrap_or_default(),
    ]
    .join("\u{1f}")
}

fn status(cancelled: bool) -> String {
    if cancelled { "cancelled" } else { "active" }.to_owned()
}

impl<'a> Applier<'a> {
    pub fn new(app: &'a App, tx: &'a Tx, accounts: Accounts<'a>) -> Applier<'a> {
        Applier {
            app,
            tx,
            accounts,
            counts: Counts::default(),
            refused: Vec::new(),
            firms: HashMap::new(),
            seen_firms: HashSet::new(),
            seen_cpas: HashSet::new(),
            seen_ids: HashMap::new(),
        }
    }

    pub fn refuse(&mut self, line: usize, kind: &'static str, key: &str, reason: impl Into<String>) {
        self.counts.refused += 1;
        if self.refused.len() < REFUSALS_KEPT {
            // What a row said may be anything: kept short, without control or
            // invisible characters (PostgreSQL refuses NUL in text).
            let plain = |t: &str, n: usize| -> String {
                t.chars().filter(|c| !c.is_control() && !cmis_domain::text::invisible(*c)).take(n).collect()
            };
            self.refused.push(Refused { line, kind, key: plain(key, 30), reason: plain(&reason.into(), 200) });
        }
    }

    /// The firms with these numbers that exist, into the map.
    async fn load_firms(&mut self, nos: &[String]) -> AppResult<()> {
        let wanted: Vec<String> = nos.iter().filter(|n| !self.firms.contains_key(*n)).cloned().collect();
        if wanted.is_empty() {
            return Ok(());
        }
        for f in firm::Entity::find().filter(firm::Column::FirmNo.is_in(wanted)).all(self.tx).await? {
            self.firms.insert(
                f.firm_no.to_string(),
                FirmRef {
                    id: f.id,
                    name: f.name,
                    association_id: f.association_id,
                    city_id: f.city_association_id,
                    cancelled: f.status == "cancelled",
                },
            );
        }
        Ok(())
    }

    /// A chunk of firm records: the head offices first, then the branches,
    /// which name a head office of this chunk or of an earlier one.
    pub async fn firms(&mut self, chunk: Vec<(usize, FirmRecord)>) -> AppResult<()> {
        let (branches, heads): (Vec<_>, Vec<_>) = chunk.into_iter().partition(|(_, f)| f.firm_no.is_branch());
        self.firms_of_one_kind(heads).await?;
        self.firms_of_one_kind(branches).await
    }

    async fn firms_of_one_kind(&mut self, chunk: Vec<(usize, FirmRecord)>) -> AppResult<()> {
        let orgs = self.app.orgs();
        let now = self.tx.now();
        let mut nos: Vec<String> = chunk.iter().map(|(_, f)| f.firm_no.as_str().to_owned()).collect();
        nos.extend(chunk.iter().filter_map(|(_, f)| f.parent_no.as_ref().map(|p| p.as_str().to_owned())));
        self.load_firms(&nos).await?;
        let existing: HashMap<String, firm::Model> = firm::Entity::find()
            .filter(firm::Column::FirmNo.is_in(chunk.iter().map(|(_, f)| f.firm_no.as_str().to_owned())))
            .all(self.tx)
            .await?
            .into_iter()
            .map(|f| (f.firm_no.to_string(), f))
            .collect();
        let mut new = Vec::new();
        for (line, f) in chunk {
            let no = f.firm_no.as_str().to_owned();
            if !self.seen_firms.insert(no.clone()) {
                self.refuse(line, "firm", &no, "文件中该事务所编号重复");
                continue;
            }
            let Some((association_id, city_id)) = orgs.for_firm(&f.firm_no) else {
                self.refuse(line, "firm", &no, "事务所编号的地区代码没有对应的注协");
                continue;
            };
            let parent_id = match &f.parent_no {
                None => None,
                Some(p) => match self.firms.get(p.as_str()) {
                    Some(r) => Some(r.id),
                    None => {
                        self.refuse(line, "firm", &no, format!("总所编号{}不存在", p.as_str()));
                        continue;
                    }
                },
            };
            let d = digest(self.app, &firm_canonical(&f));
            match existing.get(&no) {
                Some(e) if e.sync_digest.as_deref() == Some(d.as_str()) => self.counts.unchanged += 1,
                Some(e) => {
                    firm::ActiveModel {
                        id: Set(e.id),
                        name: Set(f.name.clone()),
                        form: Set(f.form.code().into()),
                        address: Set(f.address.clone()),
                        phone: Set(f.phone.clone()),
                        contact_person: Set(f.contact_person.clone()),
                        status: Set(status(f.cancelled)),
                        parent_id: Set(parent_id),
                        sync_digest: Set(Some(d)),
                        ..Default::default()
                    }
                    .update(self.tx)
                    .await?;
                    user::Entity::update_many()
                        .col_expr(user::Column::DisplayName, f.name.clone().into())
                        .col_expr(user::Column::Disabled, f.cancelled.into())
                        .filter(user::Column::FirmId.eq(e.id))
                        .filter(user::Column::UserType.eq(UserType::Firm.code()))
                        .exec(self.tx)
                        .await?;
                    if f.cancelled {
                        end_sessions_of_firm(self.tx, e.id).await?;
                    }
                    self.counts.firms_changed += 1;
                    self.firms.insert(
                        no,
                        FirmRef { id: e.id, name: f.name, association_id, city_id, cancelled: f.cancelled },
                    );
                }
                None => {
                    self.counts.firms_new += 1;
                    new.push(firm::ActiveModel {
                        firm_no: Set(f.firm_no.clone()),
                        name: Set(f.name.clone()),
                        association_id: Set(association_id),
                        city_association_id: Set(city_id),
                        form: Set(f.form.code().into()),
                        address: Set(f.address.clone()),
                        phone: Set(f.phone.clone()),
                        contact_person: Set(f.contact_person.clone()),
                        status: Set(status(f.cancelled)),
                        created_at: Set(now),
                        parent_id: Set(parent_id),
                        sync_digest: Set(Some(d)),
                        ..Default::default()
                    });
                }
            }
        }
        if new.is_empty() {
            return Ok(());
        }
        let nos: Vec<String> = new.iter().map(|f| f.firm_no.clone().unwrap().to_string()).collect();
        firm::Entity::insert_many(new).exec_without_returning(self.tx).await?;
        self.load_firms(&nos).await?;
        let hash = self.accounts.hash().to_owned();
        let accounts: Vec<user::ActiveModel> = nos
            .iter()
            .map(|no| {
                let r = &self.firms[no];
                account(UserType::Firm, no.clone(), r.name.clone(), r.association_id, &hash, now, |u| {
                    u.firm_id = Set(Some(r.id));
                    u.disabled = Set(r.cancelled);
                })
            })
            .collect();
        insert_accounts(self.tx, accounts).await
    }

    /// A chunk of CPA records.
    pub async fn cpas(&mut self, chunk: Vec<(usize, CpaRecord)>) -> AppResult<()> {
        let now = self.tx.now();
        let firm_nos: Vec<String> = chunk.iter().map(|(_, c)| c.firm_no.as_str().to_owned()).collect();
        self.load_firms(&firm_nos).await?;
        let existing: HashMap<String, cpa::Model> = cpa::Entity::find()
            .filter(cpa::Column::CpaNo.is_in(chunk.iter().map(|(_, c)| c.cpa_no.as_str().to_owned())))
            .all(self.tx)
            .await?
            .into_iter()
            .map(|c| (c.cpa_no.to_string(), c))
            .collect();
        let id_digests: Vec<String> = chunk.iter().map(|(_, c)| self.app.pii.digest(c.id.as_str())).collect();
        let holders: HashMap<String, String> = cpa::Entity::find()
            .select_only()
            .columns([cpa::Column::IdNumberDigest, cpa::Column::CpaNo])
            .filter(cpa::Column::IdNumberDigest.is_in(id_digests.clone()))
            .into_tuple::<(String, String)>()
            .all(self.tx)
            .await?
            .into_iter()
            .collect();
        let mut new = Vec::new();
        for ((line, c), id_digest) in chunk.into_iter().zip(id_digests) {
            let no = c.cpa_no.as_str().to_owned();
            if !self.seen_cpas.insert(no.clone()) {
                self.refuse(line, "cpa", &no, "文件中该注册会计师证书编号重复");
                continue;
            }
            let Some(f) = self.firms.get(c.firm_no.as_str()).cloned() else {
                self.refuse(line, "cpa", &no, format!("所在事务所编号{}不存在", c.firm_no.as_str()));
                continue;
            };
            if f.cancelled && !c.cancelled {
                self.refuse(line, "cpa", &no, format!("所在事务所{}已注销", c.firm_no.as_str()));
                continue;
            }
            let holder = self.seen_ids.get(&id_digest).or_else(|| holders.get(&id_digest));
            if let Some(other) = holder.filter(|o| **o != no) {
                self.refuse(line, "cpa", &no, format!("有效证件号码与注册会计师{other}相同"));
                continue;
            }
            self.seen_ids.insert(id_digest.clone(), no.clone());
            let d = digest(self.app, &cpa_canonical(&c));
            match existing.get(&no) {
                Some(e) if e.sync_digest.as_deref() == Some(d.as_str()) => self.counts.unchanged += 1,
                Some(e) => self.change(e, &c, &f, d, id_digest).await?,
                None => {
                    self.counts.cpas_new += 1;
                    new.push(self.new_cpa(&c, &f, d, id_digest, now));
                }
            }
        }
        if new.is_empty() {
            return Ok(());
        }
        let meta: Vec<(String, String, i32, i32, bool)> = new
            .iter()
            .map(|c| {
                (
                    c.cpa_no.clone().unwrap().to_string(),
                    c.name.clone().unwrap(),
                    c.association_id.clone().unwrap(),
                    c.firm_id.clone().unwrap(),
                    c.status.clone().unwrap() == "cancelled",
                )
            })
            .collect();
        cpa::Entity::insert_many(new).exec_without_returning(self.tx).await?;
        let ids: HashMap<String, i32> = cpa::Entity::find()
            .select_only()
            .columns([cpa::Column::CpaNo, cpa::Column::Id])
            .filter(cpa::Column::CpaNo.is_in(meta.iter().map(|m| m.0.clone())))
            .into_tuple::<(String, i32)>()
            .all(self.tx)
            .await?
            .into_iter()
            .collect();
        let hash = self.accounts.hash().to_owned();
        let accounts = meta
            .into_iter()
            .map(|(no, name, association_id, firm_id, cancelled)| {
                let id = ids[&no];
                account(UserType::Cpa, no, name, association_id, &hash, now, |u| {
                    u.cpa_id = Set(Some(id));
                    u.firm_id = Set(Some(firm_id));
                    u.disabled = Set(cancelled);
                })
            })
            .collect();
        insert_accounts(self.tx, accounts).await
    }

    fn new_cpa(
        &self,
        c: &CpaRecord,
        f: &FirmRef,
        d: String,
        id_digest: String,
        now: chrono::DateTime<chrono::Utc>,
    ) -> cpa::ActiveModel {
        let pii = &self.app.pii;
        cpa::ActiveModel {
            cpa_no: Set(c.cpa_no.clone()),
            name: Set(c.name.clone()),
            sex: Set(c.sex.code().into()),
            birth_date: Set(c.birth_date),
            id_type: Set(c.id.id_type().code().into()),
            id_number_enc: Set(pii.encrypt(c.id.as_str())),
            id_number_digest: Set(id_digest),
            mobile_enc: Set(c.mobile.as_deref().map(|m| pii.encrypt(m))),
            mobile_digest: Set(c.mobile.as_deref().map(|m| pii.digest(m))),
            email: Set(c.email.clone()),
            association_id: Set(f.association_id),
            city_association_id: Set(f.city_id),
            qualification_method: Set(c.qualification_method.into()),
            exam_cert_no: Set(c.exam_cert_no.clone()),
            exam_year: Set(c.exam_year),
            status: Set(status(c.cancelled)),
            created_at: Set(now),
            firm_id: Set(f.id),
            registered_on: Set(c.registered_on),
            is_partner: Set(c.partner),
            archive_unit: Set(c.archive_unit.clone()),
            ethnicity: Set(c.ethnicity.clone()),
            native_place: Set(c.native_place.clone()),
            region: Set(c.region.clone()),
            household: Set(c.household.clone()),
            political_status: Set(c.political_status.clone()),
            sync_digest: Set(Some(d)),
            synced_at: Set(Some(now)),
            ..Default::default()
        }
    }

    /// A CPA whose record changed: moved, cancelled, or otherwise changed.
    async fn change(
        &mut self,
        e: &cpa::Model,
        c: &CpaRecord,
        f: &FirmRef,
        d: String,
        id_digest: String,
    ) -> AppResult<()> {
        let now = self.tx.now();
        let was_cancelled = e.status == "cancelled";
        // A new identity document for the same number: whoever held the
        // account may not be the person it now names. Everything that proves
        // the account's holder ends: sessions, API tokens, the password, the
        // bound notification account; the old mobile number is told.
        let new_identity = e.id_number_digest != id_digest;
        let mut m = self.new_cpa(c, f, d, id_digest, now);
        m.id = Set(e.id);
        m.created_at = sea_orm::ActiveValue::NotSet;
        m.update(self.tx).await?;
        user::Entity::update_many()
            .col_expr(user::Column::DisplayName, c.name.clone().into())
            .col_expr(user::Column::AssociationId, f.association_id.into())
            .col_expr(user::Column::FirmId, Some(f.id).into())
            .col_expr(user::Column::Disabled, c.cancelled.into())
            .filter(user::Column::CpaId.eq(e.id))
            .exec(self.tx)
            .await?;
        if new_identity {
            self.identity_changed(e).await?;
        }
        if c.cancelled && !was_cancelled {
            self.counts.cpas_cancelled += 1;
            end_sessions_of_cpa(self.tx, e.id).await?;
            crate::cpa_check::registration_cancelled(self.tx, e.id).await?;
        } else if e.firm_id != f.id {
            self.counts.cpas_moved += 1;
            let from = firm::Entity::find_by_id(e.firm_id).one(self.tx).await?.map(|x| x.name).unwrap_or_default();
            crate::cpa_check::moved(self.tx, e.id, f.id, f.association_id, f.city_id, &from, &f.name).await?;
        } else {
            self.counts.cpas_changed += 1;
        }
        Ok(())
    }
}

impl Applier<'_> {
    /// The account of a CPA whose identity document changed: its sessions,
    /// tokens, password and bound account end (the person recovers a
    /// password as the record now names them), and the old mobile number
    /// hears of it. An in-person verification no longer matches either
    /// (`cpa_check::offline::verified` compares the document).
    async fn identity_changed(&mut self, e: &cpa::Model) -> AppResult<()> {
        end_sessions_of_cpa(self.tx, e.id).await?;
        user::Entity::update_many()
            .col_expr(user::Column::PasswordHash, auth::NO_PASSWORD.into())
            .col_expr(user::Column::BoundAccount, Option::<String>::None.into())
            .filter(user::Column::CpaId.eq(e.id))
            .exec(self.tx)
            .await?;
        if let Some(old) = e.mobile_enc.as_deref().map(|m| self.app.pii.decrypt(m)).transpose()? {
            let told = crate::review::Notice {
                user_id: None,
                title: "注册会计师身份信息已变更".into(),
                body: format!(
                    "【中注协】注册会计师证书编号{}的有效证件信息已根据注册会计师行业统一监管平台的数据变更，原登录状态已失效，请通过“忘记密码”重新设置密码。如非本人变更，请联系所属注协。",
                    e.cpa_no.as_str()
                ),
                link: None,
                sms_to: Some(old),
            };
            crate::review::tell_for(self.app, self.tx, e.association_id, &told, crate::deliveries::Purpose::Account)
                .await?;
        }
        Ok(())
    }
}

fn account(
    t: UserType,
    login: String,
    name: String,
    association_id: i32,
    hash: &str,
    now: chrono::DateTime<chrono::Utc>,
    more: impl FnOnce(&mut user::ActiveModel),
) -> user::ActiveModel {
    let mut u = user::ActiveModel {
        user_type: Set(t.code().into()),
        login_name: Set(login),
        display_name: Set(name),
        password_hash: Set(hash.to_owned()),
        must_change_password: Set(false),
        association_id: Set(association_id),
        disabled: Set(false),
        created_at: Set(now),
        ..Default::default()
    };
    more(&mut u);
    u
}

async fn insert_accounts(tx: &Tx, accounts: Vec<user::ActiveModel>) -> AppResult<()> {
    let mut it = accounts.into_iter().peekable();
    while it.peek().is_some() {
        let chunk: Vec<user::ActiveModel> = it.by_ref().take(CHUNK).collect();
        // An account of that name may exist already (made by hand): it is kept.
        user::Entity::insert_many(chunk)
            .on_conflict(OnConflict::columns([user::Column::UserType, user::Column::LoginName]).do_nothing().to_owned())
            .exec_without_returning(tx)
            .await?;
    }
    Ok(())
}

/// Ends every session and API token of these accounts.
async fn end_access(tx: &Tx, ids: Vec<i32>) -> AppResult<()> {
    session::Entity::delete_many().filter(session::Column::UserId.is_in(ids.clone())).exec(tx).await?;
    api_token::Entity::delete_many().filter(api_token::Column::UserId.is_in(ids)).exec(tx).await?;
    Ok(())
}

async fn end_sessions_of_cpa(tx: &Tx, cpa_id: i32) -> AppResult<()> {
    let ids: Vec<i32> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::CpaId.eq(cpa_id))
        .into_tuple()
        .all(tx)
        .await?;
    end_access(tx, ids).await
}

async fn end_sessions_of_firm(tx: &Tx, firm_id: i32) -> AppResult<()> {
    let ids: Vec<i32> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::FirmId.eq(firm_id))
        .filter(user::Column::UserType.eq(UserType::Firm.code()))
        .into_tuple()
        .all(tx)
        .await?;
    end_access(tx, ids).await
}

/// Applies a file's rows: firms first (head offices before branches), then
/// CPAs, each in chunks; a row that cannot be read is refused.
pub async fn apply_rows(applier: &mut Applier<'_>, bytes: &[u8], progress: &Progress<'_>) -> AppResult<()> {
    // For the progress bar: lines, counted without reading them.
    let total = bytes.iter().filter(|b| **b == b'\n').count() as u64 + 1;
    let mut firms: Vec<(usize, FirmRecord)> = Vec::new();
    for (line, r) in parse::rows(bytes).map_err(AppError::Refused)? {
        match r {
            Ok(Record::Firm(f)) => firms.push((line, f)),
            Ok(Record::Cpa(_)) => {}
            Err((key, reason)) => applier.refuse(line, "row", &key, reason),
        }
    }
    firms.sort_by_key(|(line, f)| (f.firm_no.is_branch(), *line));
    let mut done = 0u64;
    let mut it = firms.into_iter().peekable();
    while it.peek().is_some() {
        let chunk: Vec<_> = it.by_ref().take(CHUNK).collect();
        done += chunk.len() as u64;
        applier.firms(chunk).await?;
        progress.set(done, total).await?;
    }
    let mut chunk = Vec::with_capacity(CHUNK);
    for (line, r) in parse::rows(bytes).map_err(AppError::Refused)? {
        if let Ok(Record::Cpa(c)) = r {
            chunk.push((line, *c));
            if chunk.len() == CHUNK {
                done += CHUNK as u64;
                applier.cpas(std::mem::take(&mut chunk)).await?;
                progress.set(done, total).await?;
            }
        }
    }
    applier.cpas(chunk).await?;
    progress.set(total, total).await?;
    applier.refused.sort_by_key(|r| r.line);
    Ok(())
}

/// A run as staff see it.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub id: i32,
    pub source: String,
    pub run_by: String,
    pub state: String,
    pub counts: Counts,
    pub error: Option<String>,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Run {
    pub fn state_label(&self) -> &'static str {
        match self.state.as_str() {
            "succeeded" => "成功",
            "failed" => "失败（未做任何更改）",
            _ => "进行中",
        }
    }
}

fn to_run(r: regulator_run::Model) -> Run {
    let n = |v: i32| v.max(0) as u32;
    Run {
        id: r.id,
        counts: Counts {
            firms_new: n(r.firms_new),
            firms_changed: n(r.firms_changed),
            cpas_new: n(r.cpas_new),
            cpas_changed: n(r.cpas_changed),
            cpas_moved: n(r.cpas_moved),
            cpas_cancelled: n(r.cpas_cancelled),
            unchanged: n(r.unchanged),
            refused: n(r.refused),
        },
        source: r.source,
        run_by: r.run_by,
        state: r.state,
        error: r.error,
        started_at: r.started_at,
        finished_at: r.finished_at,
    }
}

/// One run of the synchronisation: recorded first, then applied in one
/// transaction with its counts and refused rows; if anything fails, nothing
/// of it is written and the run is recorded as failed, with why.
pub async fn run(app: &App, by: &str, source: &str, bytes: &[u8], progress: &Progress<'_>) -> AppResult<Run> {
    // A run an instance left half-way (stopped, crashed) changed nothing: say so.
    regulator_run::Entity::update_many()
        .col_expr(regulator_run::Column::State, "failed".into())
        .col_expr(regulator_run::Column::Error, Some("同步中断，本次同步未做任何更改".to_owned()).into())
        .filter(regulator_run::Column::State.eq("running"))
        .filter(regulator_run::Column::StartedAt.lt(app.now() - chrono::Duration::hours(2)))
        .exec(app.db.conn())
        .await?;
    let started = regulator_run::ActiveModel {
        source: Set(source.chars().take(200).collect()),
        run_by: Set(by.to_owned()),
        state: Set("running".into()),
        firms_new: Set(0),
        firms_changed: Set(0),
        cpas_new: Set(0),
        cpas_changed: Set(0),
        cpas_moved: Set(0),
        cpas_cancelled: Set(0),
        unchanged: Set(0),
        refused: Set(0),
        started_at: Set(app.now()),
        ..Default::default()
    }
    .insert(app.db.conn())
    .await?;
    let id = started.id;
    // A workbook becomes JSON lines once, off the async threads and before
    // the write lock is taken.
    let normalized: Result<std::borrow::Cow<[u8]>, String> = match parse::format_of(bytes) {
        Ok(parse::Format::Xlsx) => {
            let owned = bytes.to_vec();
            tokio::task::spawn_blocking(move || parse::normalized(&owned).map(|c| c.into_owned()))
                .await
                .map_err(anyhow::Error::from)?
                .map(std::borrow::Cow::Owned)
        }
        Ok(_) => Ok(std::borrow::Cow::Borrowed(bytes)),
        Err(e) => Err(e),
    };
    let applied = async {
        let bytes = normalized.map_err(AppError::Refused)?;
        let bytes: &[u8] = &bytes;
        let tx = app.write().await?;
        let mut applier = Applier::new(app, &tx, Accounts::Unset);
        // On SQLite this transaction holds the only write lock: a progress
        // report (a write of its own) would wait for it until it timed out.
        let none = Progress::none();
        let progress = if app.db.is_sqlite() { &none } else { progress };
        apply_rows(&mut applier, bytes, progress).await?;
        let (counts, refused) = (applier.counts, applier.refused);
        for chunk in refused.chunks(CHUNK) {
            regulator_refusal::Entity::insert_many(chunk.iter().map(|r| regulator_refusal::ActiveModel {
                run_id: Set(id),
                line: Set(r.line as i32),
                record_kind: Set(r.kind.into()),
                record_key: Set(r.key.clone()),
                reason: Set(r.reason.clone()),
                ..Default::default()
            }))
            .exec_without_returning(&tx)
            .await?;
        }
        let c = |v: u32| Set(v as i32);
        regulator_run::ActiveModel {
            id: Set(id),
            state: Set("succeeded".into()),
            firms_new: c(counts.firms_new),
            firms_changed: c(counts.firms_changed),
            cpas_new: c(counts.cpas_new),
            cpas_changed: c(counts.cpas_changed),
            cpas_moved: c(counts.cpas_moved),
            cpas_cancelled: c(counts.cpas_cancelled),
            unchanged: c(counts.unchanged),
            refused: c(counts.refused),
            finished_at: Set(Some(tx.now())),
            ..Default::default()
        }
        .update(&tx)
        .await?;
        audit::append(&tx, by, "regulator_synced", &format!("regulator_run:{id}"), json!(counts)).await?;
        tx.commit().await?;
        crate::review::changed();
        Ok::<_, AppError>(())
    }
    .await;
    if let Err(e) = applied {
        let shown = match &e {
            AppError::Refused(m) => m.clone(),
            other => {
                tracing::error!(error = %other, run = id, "regulator synchronisation failed");
                "同步过程中出错，本次同步未做任何更改".to_owned()
            }
        };
        regulator_run::ActiveModel {
            id: Set(id),
            state: Set("failed".into()),
            error: Set(Some(shown)),
            finished_at: Set(Some(app.now())),
            ..Default::default()
        }
        .update(app.db.conn())
        .await?;
        return Err(e);
    }
    let row = regulator_run::Entity::find_by_id(id).one(app.db.conn()).await?.ok_or(AppError::NotFound("同步记录"))?;
    Ok(to_run(row))
}

/// The largest file staff may upload to run a synchronisation.
pub const MAX_UPLOAD: u64 = 100 * 1024 * 1024;

/// 上传同步文件: the file is checked for its format and run as a job, with
/// its progress on the job's page.
pub async fn submit_file(app: &App, actor: &Actor, file_name: &str, bytes: bytes::Bytes) -> AppResult<i32> {
    Permission::RegulatorSync.require(actor)?;
    if bytes.is_empty() {
        return Err(crate::FieldErrors::one("file", "请选择要上传的文件"));
    }
    if bytes.len() as u64 > MAX_UPLOAD {
        return Err(crate::FieldErrors::one("file", format!("文件不能超过{}MB", MAX_UPLOAD >> 20)));
    }
    // The format and the heading row, before a job is made for it (a
    // workbook is read off the async threads).
    let probe = bytes.clone();
    tokio::task::spawn_blocking(move || -> Result<(), String> {
        let text = parse::normalized(&probe)?;
        parse::rows(&text).map(|_| ())
    })
    .await
    .map_err(anyhow::Error::from)?
    .map_err(|e| crate::FieldErrors::one("file", e))?;
    let name: String =
        file_name.rsplit(['/', '\\']).next().unwrap_or("").chars().filter(|c| !c.is_control()).take(100).collect();
    crate::jobs::submit(
        app,
        actor,
        crate::jobs::NewJob {
            kind: crate::jobs::JobKind::RegulatorSync,
            title: format!("注册会计师信息同步：{name}"),
            params: json!({ "source": format!("文件 {name}") }),
            input: crate::jobs::Input::Upload(bytes),
        },
    )
    .await
}

/// The job of `submit_file`.
pub async fn sync_job(app: &App, job: &crate::jobs::Running<'_>) -> AppResult<crate::jobs::Outcome> {
    Permission::RegulatorSync.require(&job.actor)?;
    let input = job.input.as_ref().ok_or(AppError::Refused("上传的文件已失效，请重新上传".into()))?;
    let source = job.params.get("source").and_then(|v| v.as_str()).unwrap_or("文件").to_owned();
    let r = run(app, &job.actor.audit_name(), &source, input, &job.progress).await?;
    Ok(crate::jobs::Outcome { file: None, summary: json!({ "run": r.id, "counts": r.counts }) })
}

/// Pulls from a feed and runs.
pub async fn sync(app: &App, by: &str, feed: &dyn feed::RegulatorFeed, progress: &Progress<'_>) -> AppResult<Run> {
    let fetched = feed.fetch().await?;
    run(app, by, &fetched.source, &fetched.bytes, progress).await
}

pub const PAGE_SIZE: u64 = 20;

/// 同步记录: the runs, newest first.
pub async fn runs(app: &App, actor: &Actor, page_no: u64) -> AppResult<Page<Run>> {
    Permission::RegulatorSync.require(actor)?;
    let q = regulator_run::Entity::find().order_by_desc(regulator_run::Column::Id);
    Ok(page::fetch(app.db.conn(), q, page_no, PAGE_SIZE).await?.map(to_run))
}

/// One run and a page of the rows it refused.
pub async fn refusals(app: &App, actor: &Actor, id: i32, page_no: u64) -> AppResult<(Run, Page<Refused>)> {
    Permission::RegulatorSync.require(actor)?;
    let run = regulator_run::Entity::find_by_id(id).one(app.db.conn()).await?.ok_or(AppError::NotFound("同步记录"))?;
    let q = regulator_refusal::Entity::find()
        .filter(regulator_refusal::Column::RunId.eq(id))
        .order_by_asc(regulator_refusal::Column::Line)
        .order_by_asc(regulator_refusal::Column::Id);
    let rows = page::fetch(app.db.conn(), q, page_no, 50).await?.map(|r| Refused {
        line: r.line.max(0) as usize,
        kind: match r.record_kind.as_str() {
            "firm" => "事务所",
            "cpa" => "注册会计师",
            _ => "—",
        },
        key: r.record_key,
        reason: r.reason,
    });
    Ok((to_run(run), rows))
}
