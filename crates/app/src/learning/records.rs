//! Records from an institute's own platform (the institutes' API): each call
//! is signed with one of the institute's keys (HMAC-SHA256 over the method,
//! path, time and body digest; at most five minutes old), carries at most
//! `MAX_ROWS` records, and is answered row by row: accepted, already there
//! (the institute's record id makes a repeated call change nothing), or
//! refused with its reason. A correction is a reversal (a record that names
//! the record it takes back) and a new record, never an edit. Every call is
//! in the audit trail; keys are made, shown once, and revoked by the
//! institute's staff.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use cmis_domain::Hours;
use cmis_domain::learning::{Category, Form};
use cmis_store::entity::{institute, institute_key as key_row, learning_record as rec};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::own_institute;
use crate::error::{AppError, AppResult};
use crate::{Actor, App, audit};

pub const MAX_ROWS: usize = 10_000;
/// How far a call's time may be from ours.
pub const MAX_SKEW_SECS: i64 = 300;
pub const KEY_HEADER: &str = "x-institute-key";
pub const TIME_HEADER: &str = "x-institute-timestamp";
pub const SIGNATURE_HEADER: &str = "x-institute-signature";
/// Rows inserted by one statement (SQLite binds at most 32,766 values).
const INSERT_ROWS: usize = 1_000;
/// Record ids the system makes itself (`credit`) and institutes may not use.
const RESERVED: &str = "study:";

/// What an institute's staff see of a key; the secret is shown once, when made.
#[derive(Debug, Clone, Serialize)]
pub struct Key {
    pub id: i32,
    pub key_id: String,
    pub created_by: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
}

pub async fn keys(app: &App, actor: &Actor) -> AppResult<Vec<Key>> {
    let institute = own_institute(actor)?;
    Ok(key_row::Entity::find()
        .filter(key_row::Column::InstituteId.eq(institute))
        .order_by_desc(key_row::Column::Id)
        .all(app.db.conn())
        .await?
        .into_iter()
        .map(|k| Key {
            id: k.id,
            key_id: k.key_id,
            created_by: k.created_by,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
            last_used_at: k.last_used_at,
        })
        .collect())
}

/// 新建密钥: a key and its secret, which is shown this once.
pub async fn create_key(app: &App, actor: &Actor) -> AppResult<(String, String)> {
    let institute = own_institute(actor)?;
    create_key_for(app, institute, &actor.audit_name()).await
}

/// A key of `institute` made by `by` (its staff, or an operator handing an
/// institute its first key).
pub async fn create_key_for(app: &App, institute: i32, by: &str) -> AppResult<(String, String)> {
    let mut rnd = [0u8; 40];
    rand::rng().fill_bytes(&mut rnd);
    let key_id = format!("ik_{}", hex::encode(&rnd[..8]));
    let secret = hex::encode(&rnd[8..]);
    let txn = app.write().await?;
    let active = key_row::Entity::find()
        .filter(key_row::Column::InstituteId.eq(institute))
        .filter(key_row::Column::RevokedAt.is_null())
        .count(&txn)
        .await?;
    if active >= 5 {
        return Err(AppError::Refused("最多同时启用5个密钥，请先停用不再使用的密钥".into()));
    }
    key_row::ActiveModel {
        institute_id: Set(institute),
        key_id: Set(key_id.clone()),
        secret_enc: Set(app.pii.encrypt(&secret)),
        created_by: Set(by.to_owned()),
        created_at: Set(txn.now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::append(&txn, by, "institute_key_created", &format!("institute_key:{key_id}"), json!({})).await?;
    txn.commit().await?;
    Ok((key_id, secret))
}

/// 停用: a key no longer signs anything, at once.
pub async fn revoke_key(app: &App, actor: &Actor, id: i32) -> AppResult<()> {
    let institute = own_institute(actor)?;
    let txn = app.write().await?;
    let r = key_row::Entity::update_many()
        .col_expr(key_row::Column::RevokedAt, Expr::value(txn.now()))
        .filter(key_row::Column::Id.eq(id))
        .filter(key_row::Column::InstituteId.eq(institute))
        .filter(key_row::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    if r.rows_affected == 0 {
        return Err(AppError::NotFound("密钥"));
    }
    audit::append(&txn, &actor.audit_name(), "institute_key_revoked", &format!("institute_key:{id}"), json!({}))
        .await?;
    txn.commit().await?;
    Ok(())
}

/// What is signed: method, path, the time and the body's SHA-256, a line each.
pub fn signing_string(method: &str, path: &str, timestamp: &str, body: &[u8]) -> String {
    format!("{method}\n{path}\n{timestamp}\n{}", hex::encode(Sha256::digest(body)))
}

pub fn sign(secret: &str, message: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The institute that signed a call; 401-like refusals say nothing more.
#[derive(Debug, Clone)]
pub struct Caller {
    pub institute_id: i32,
    pub code: String,
    pub key_id: String,
}

impl Caller {
    fn audit_name(&self) -> String {
        format!("institute:{}:{}", self.code, self.key_id)
    }

    /// An operator importing an institute's file (`cmis import-learning`):
    /// the same checks as the institute's own calls.
    pub fn file_import(institute: &super::Institute, by: &str) -> Caller {
        Caller { institute_id: institute.id, code: institute.code.clone(), key_id: format!("file:{by}") }
    }
}

pub async fn verify(
    app: &App,
    key_id: &str,
    timestamp: &str,
    signature: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> AppResult<Caller> {
    let ts: i64 = timestamp.trim().parse().map_err(|_| AppError::Unauthenticated)?;
    if app.now().timestamp().checked_sub(ts).is_none_or(|d| d.unsigned_abs() > MAX_SKEW_SECS as u64) {
        return Err(AppError::Unauthenticated);
    }
    let k = key_row::Entity::find()
        .filter(key_row::Column::KeyId.eq(key_id))
        .filter(key_row::Column::RevokedAt.is_null())
        .one(app.db.conn())
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let secret = app.pii.decrypt(&k.secret_enc)?;
    let Ok(sig) = hex::decode(signature.trim()) else { return Err(AppError::Unauthenticated) };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(signing_string(method, path, timestamp.trim(), body).as_bytes());
    mac.verify_slice(&sig).map_err(|_| AppError::Unauthenticated)?;
    let inst =
        institute::Entity::find_by_id(k.institute_id).one(app.db.conn()).await?.ok_or(AppError::Unauthenticated)?;
    Ok(Caller { institute_id: inst.id, code: inst.code, key_id: k.key_id })
}

/// One record as an institute sends it.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordIn {
    /// The institute's own id of the record: a repeat changes nothing.
    pub record_id: String,
    /// `cpa` (注册会计师证书编号) or `member` (非执业会员证书编号).
    pub learner_type: String,
    pub learner_no: String,
    pub year: i32,
    /// Hours, at most two decimals (a number or a string), read from their
    /// text: a number is never rounded through a float. Ignored for a reversal.
    #[serde(default)]
    pub hours: Option<Box<serde_json::value::RawValue>>,
    /// `professional` (专业) or `ethics` (职业道德).
    #[serde(default)]
    pub category: String,
    /// `online` (网络) or `face_to_face` (面授).
    #[serde(default)]
    pub form: String,
    #[serde(default)]
    pub title: String,
    /// YYYY-MM-DD, within `year`.
    #[serde(default)]
    pub learned_on: String,
    /// A reversal: the record_id of this institute's record it takes back.
    #[serde(default)]
    pub reverses: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Refusal {
    /// The row's place in the call, from 0.
    pub index: usize,
    pub record_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Posted {
    pub accepted: usize,
    /// Records whose record_id was there already: a repeated call.
    pub duplicates: usize,
    pub refused: Vec<Refusal>,
}

struct Row {
    index: usize,
    record_id: String,
    member_id: Option<i32>,
    cpa_id: Option<i32>,
    year: i32,
    hours: Hours,
    category: &'static str,
    form: &'static str,
    title: String,
    learned_on: Option<NaiveDate>,
    reverses: Option<String>,
}

fn valid_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        && !s.starts_with(RESERVED)
}

fn parse_category(s: &str) -> Option<Category> {
    Category::ALL.iter().copied().find(|c| c.code() == s.trim() || c.label() == s.trim())
}

fn parse_form(s: &str) -> Option<Form> {
    Form::ALL.iter().copied().find(|f| f.code() == s.trim() || f.label() == s.trim())
}

/// A call's rows after every check that needs no write lock: the good ones,
/// and the refused with their reasons.
pub struct Checked {
    good: Vec<Row>,
    refused: Vec<Refusal>,
}

/// Posts a call's records: every row checked, the good ones saved in one
/// transaction, and the call audited with its counts. Each row is the JSON
/// text of one record.
pub async fn post(app: &App, caller: &Caller, rows: &[&str]) -> AppResult<Posted> {
    let checked = check(app, rows).await?;
    save(app, caller, checked).await
}

/// A record's id as far as it can be read, for the refusal of a row that is
/// not a record.
#[derive(Deserialize)]
struct IdOnly {
    #[serde(default)]
    record_id: serde_json::Value,
}

/// The checks of `post` before its transaction: each row's fields, and its
/// learner looked up. `cmis import-learning` checks the next rows while the
/// previous ones are saved.
pub async fn check(app: &App, rows: &[&str]) -> AppResult<Checked> {
    if rows.is_empty() || rows.len() > MAX_ROWS {
        return Err(AppError::Refused(format!("每次提交1至{MAX_ROWS}条记录")));
    }
    let today = app.today();
    let mut refused = Vec::new();
    let mut parsed: Vec<(usize, RecordIn)> = Vec::with_capacity(rows.len());
    let mut seen = HashSet::new();
    for (index, text) in rows.iter().enumerate() {
        let rid = || {
            serde_json::from_str::<IdOnly>(text)
                .ok()
                .and_then(|i| i.record_id.as_str().map(str::to_owned))
                .unwrap_or_default()
        };
        match serde_json::from_str::<RecordIn>(text) {
            Err(e) => refused.push(Refusal { index, record_id: rid(), reason: format!("格式错误：{e}") }),
            Ok(r) if !valid_id(&r.record_id) => {
                refused.push(Refusal {
                    index, record_id: rid(), reason: "record_id应为1至64位字母、数字或-_.:".into()
                })
            }
            Ok(r) if !seen.insert(r.record_id.clone()) => {
                refused
                    .push(Refusal { index, record_id: r.record_id, reason: "record_id在本次提交中重复".into() })
            }
            Ok(r) => parsed.push((index, r)),
        }
    }
    // Learners, by number, in two queries.
    let cpa_nos: Vec<String> = parsed
        .iter()
        .filter(|(_, r)| r.learner_type == "cpa" && cmis_domain::CpaNo::parse(&r.learner_no).is_ok())
        .map(|(_, r)| r.learner_no.clone())
        .collect();
    let member_nos: Vec<String> = parsed
        .iter()
        .filter(|(_, r)| r.learner_type == "member" && cmis_domain::MemberCertNo::parse(&r.learner_no).is_ok())
        .map(|(_, r)| r.learner_no.clone())
        .collect();
    let db = app.db.conn();
    let cpas = numbered(db, "cpas", "cpa_no", &cpa_nos).await?;
    let members = numbered(db, "members", "cert_no", &member_nos).await?;
    let mut good = Vec::with_capacity(parsed.len());
    for (index, r) in parsed {
        let refuse = |reason: &str| Refusal { index, record_id: r.record_id.clone(), reason: reason.to_owned() };
        let (member_id, cpa_id) = match r.learner_type.as_str() {
            "cpa" => (None, cpas.get(&r.learner_no).copied()),
            "member" => (members.get(&r.learner_no).copied(), None),
            _ => {
                refused.push(refuse("learner_type应为cpa或member"));
                continue;
            }
        };
        if member_id.is_none() && cpa_id.is_none() {
            refused.push(refuse("学员不存在：证书编号无效或未登记"));
            continue;
        }
        if !cmis_domain::YEARS.contains(&r.year) || r.year > today.year() {
            refused.push(refuse("年度无效"));
            continue;
        }
        if let Some(rev) = &r.reverses {
            if !valid_id(rev) {
                refused.push(refuse("reverses应为本学院一条记录的record_id"));
                continue;
            }
            good.push(Row {
                index,
                member_id,
                cpa_id,
                year: r.year,
                hours: Hours::ZERO,
                category: "professional",
                form: "online",
                // A reversal's own title is optional: the record's is used otherwise.
                title: Some(r.title.trim())
                    .filter(|t| cmis_domain::text::check(t, 200, false).is_ok())
                    .unwrap_or_default()
                    .to_owned(),
                learned_on: None,
                reverses: Some(rev.clone()),
                record_id: r.record_id,
            });
            continue;
        }
        let hours_text = match r.hours.as_deref().map(|h| h.get()) {
            Some(t) if t.starts_with('"') => serde_json::from_str::<String>(t).unwrap_or_default(),
            Some(t) if t.starts_with(|c: char| c.is_ascii_digit()) => t.to_owned(),
            _ => String::new(),
        };
        let Ok(hours) = Hours::parse(&hours_text, 200) else {
            refused.push(refuse("学时应大于0、不超过200，最多两位小数"));
            continue;
        };
        let (Some(category), Some(form)) = (parse_category(&r.category), parse_form(&r.form)) else {
            refused.push(refuse("category应为professional或ethics，form应为online或face_to_face"));
            continue;
        };
        let title = r.title.trim();
        if title.is_empty() || cmis_domain::text::check(title, 200, false).is_err() {
            refused.push(refuse("title应为1至200字"));
            continue;
        }
        // Exactly YYYY-MM-DD: the parser alone also takes 2026-3-1 and +2026-03-01.
        let text = r.learned_on.trim();
        let Some(on) =
            NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().filter(|d| d.format("%Y-%m-%d").to_string() == text)
        else {
            refused.push(refuse("learned_on应为YYYY-MM-DD"));
            continue;
        };
        if on.year() != r.year || on > today {
            refused.push(refuse("learned_on应在该年度内且不晚于今天"));
            continue;
        }
        good.push(Row {
            index,
            member_id,
            cpa_id,
            year: r.year,
            hours,
            category: category.code(),
            form: form.code(),
            title: title.to_owned(),
            learned_on: Some(on),
            reverses: None,
            record_id: r.record_id,
        });
    }

    Ok(Checked { good, refused })
}

/// The transaction of `post`: the checked rows saved, a repeated record id
/// counted as a duplicate, reversals matched with what they take back.
pub async fn save(app: &App, caller: &Caller, checked: Checked) -> AppResult<Posted> {
    let Checked { good, mut refused } = checked;
    let txn = app.write().await?;
    let (originals, reversals): (Vec<Row>, Vec<Row>) = good.into_iter().partition(|r| r.reverses.is_none());
    let now = txn.now();
    // A record id the institute sent before is skipped by the insert itself:
    // what it did not insert is a repeated call's.
    let mut accepted = insert_all(&txn, caller, &originals, now).await?;
    let mut duplicates = originals.len() - accepted;
    let ids: Vec<String> = reversals.iter().map(|r| r.record_id.clone()).collect();
    let existing = existing_ids(&txn, caller.institute_id, &ids).await?;
    let reversals: Vec<Row> = reversals
        .into_iter()
        .filter(|r| {
            let dup = existing.contains(&r.record_id);
            duplicates += usize::from(dup);
            !dup
        })
        .collect();
    let model = |r: &Row, hours: Hours, reverses_id: Option<i32>, category: &str, form: &str| rec::ActiveModel {
        member_id: Set(r.member_id),
        cpa_id: Set(r.cpa_id),
        year: Set(r.year),
        kind: Set("record".into()),
        hours_x100: Set(hours.hundredths()),
        category: Set(category.to_owned()),
        title: Set(r.title.clone()),
        source: Set("institute".into()),
        recorded_by: Set(caller.audit_name()),
        created_at: Set(now),
        form: Set(form.to_owned()),
        institute_id: Set(Some(caller.institute_id)),
        external_id: Set(Some(r.record_id.clone())),
        learned_on: Set(r.learned_on),
        reverses_id: Set(reverses_id),
        ..Default::default()
    };
    let conflict = || OnConflict::columns([rec::Column::InstituteId, rec::Column::ExternalId]).do_nothing().to_owned();
    // Reversals, after the records of the same call they may take back.
    let targets: Vec<String> = reversals.iter().filter_map(|r| r.reverses.clone()).collect();
    let mut found: HashMap<String, rec::Model> = HashMap::new();
    for chunk in targets.chunks(INSERT_ROWS) {
        for m in rec::Entity::find()
            .filter(rec::Column::InstituteId.eq(caller.institute_id))
            .filter(rec::Column::ExternalId.is_in(chunk.to_vec()))
            .all(&txn)
            .await?
        {
            found.insert(m.external_id.clone().unwrap_or_default(), m);
        }
    }
    let taken: HashSet<i32> = if found.is_empty() {
        HashSet::new()
    } else {
        rec::Entity::find()
            .select_only()
            .column(rec::Column::ReversesId)
            .filter(rec::Column::ReversesId.is_in(found.values().map(|m| m.id).collect::<Vec<_>>()))
            .into_tuple::<Option<i32>>()
            .all(&txn)
            .await?
            .into_iter()
            .flatten()
            .collect()
    };
    let mut claimed = HashSet::new();
    let mut models = Vec::new();
    for r in &reversals {
        let refuse =
            |reason: &str| Refusal { index: r.index, record_id: r.record_id.clone(), reason: reason.to_owned() };
        let target = r.reverses.as_deref().and_then(|t| found.get(t));
        match target {
            None => refused.push(refuse("要冲销的记录不存在")),
            Some(t) if t.reverses_id.is_some() => refused.push(refuse("冲销记录不能再被冲销")),
            Some(t) if t.member_id != r.member_id || t.cpa_id != r.cpa_id => {
                refused.push(refuse("冲销记录的学员与原记录不一致"))
            }
            Some(t) if taken.contains(&t.id) || !claimed.insert(t.id) => refused.push(refuse("该记录已被冲销")),
            Some(t) => {
                let mut row = Row { year: t.year, ..clone_row(r) };
                if row.title.is_empty() {
                    row.title = format!("冲销：{}", t.title);
                }
                models.push(model(&row, Hours::from_hundredths(-t.hours_x100), Some(t.id), &t.category, &t.form));
            }
        }
    }
    for chunk in models.chunks(INSERT_ROWS) {
        // Two calls reversing one record at once (PostgreSQL runs them side
        // by side): the unique index takes one, the other is told.
        accepted += rec::Entity::insert_many(chunk.to_vec())
            .on_conflict(conflict())
            .exec_without_returning(&txn)
            .await
            .map_err(|e| match e.sql_err() {
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                    AppError::Refused("冲销的记录已被另一次提交冲销，请重新提交".into())
                }
                _ => e.into(),
            })? as usize;
    }
    refused.sort_by_key(|r| r.index);
    key_row::Entity::update_many()
        .col_expr(key_row::Column::LastUsedAt, Expr::value(now))
        .filter(key_row::Column::KeyId.eq(&caller.key_id))
        .exec(&txn)
        .await?;
    audit::append(
        &txn,
        &caller.audit_name(),
        "learning_records_posted",
        "learning_records",
        json!({ "accepted": accepted, "duplicates": duplicates, "refused": refused.len() }),
    )
    .await?;
    txn.commit().await?;
    Ok(Posted { accepted, duplicates, refused })
}

/// The ids of the rows of `table` whose `column` is one of `numbers`, by
/// number: one statement, the numbers passed as one JSON array.
async fn numbered<C: ConnectionTrait>(
    db: &C,
    table: &str,
    column: &str,
    numbers: &[String],
) -> AppResult<HashMap<String, i32>> {
    if numbers.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = db.get_database_backend();
    let list = json_texts(backend, 1);
    let sql = format!("SELECT id, {column} AS number FROM {table} WHERE {column} IN ({list})");
    let json = serde_json::to_string(numbers).map_err(anyhow::Error::from)?;
    let mut out = HashMap::with_capacity(numbers.len());
    for r in db.query_all_raw(Statement::from_sql_and_values(backend, sql, [json.into()])).await? {
        out.insert(r.try_get::<String>("", "number")?, r.try_get::<i32>("", "id")?);
    }
    Ok(out)
}

/// The texts of the JSON array bound as parameter `$n`, as a subquery.
fn json_texts(backend: DatabaseBackend, n: u8) -> String {
    match backend {
        DatabaseBackend::Postgres => format!("SELECT jsonb_array_elements_text(${n}::jsonb)"),
        _ => format!("SELECT value FROM json_each(${n})"),
    }
}

/// Which of `ids` the institute has sent before.
async fn existing_ids<C: ConnectionTrait>(db: &C, institute_id: i32, ids: &[String]) -> AppResult<HashSet<String>> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let backend = db.get_database_backend();
    let list = json_texts(backend, 2);
    let sql = format!("SELECT external_id FROM learning_records WHERE institute_id = $1 AND external_id IN ({list})");
    let json = serde_json::to_string(ids).map_err(anyhow::Error::from)?;
    let rows =
        db.query_all_raw(Statement::from_sql_and_values(backend, sql, [institute_id.into(), json.into()])).await?;
    rows.into_iter().map(|r| Ok(r.try_get::<String>("", "external_id")?)).collect()
}

/// The call's records, inserted by one statement that reads them from one
/// JSON array (binding 15 values a row costs more than SQLite's own work);
/// a record id already there is skipped. Returns how many were inserted.
async fn insert_all(
    txn: &crate::Tx,
    caller: &Caller,
    rows: &[Row],
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let backend = txn.get_database_backend();
    let json = serde_json::to_string(
        &rows
            .iter()
            .map(|r| {
                json!([
                    r.member_id,
                    r.cpa_id,
                    r.year,
                    r.hours.hundredths(),
                    r.category,
                    r.title,
                    r.form,
                    r.record_id,
                    r.learned_on.map(|d| d.format("%Y-%m-%d").to_string()),
                ])
            })
            .collect::<Vec<_>>(),
    )
    .map_err(anyhow::Error::from)?;
    let cols = "(member_id, cpa_id, year, kind, hours_x100, category, title, source, recorded_by, created_at, form, \
                institute_id, external_id, learned_on)";
    let sql = match backend {
        DatabaseBackend::Postgres => format!(
            "INSERT INTO learning_records {cols} SELECT (r->>0)::int, (r->>1)::int, (r->>2)::int, 'record', \
             (r->>3)::bigint, r->>4, r->>5, 'institute', $2, $3, r->>6, $4, r->>7, (r->>8)::date \
             FROM jsonb_array_elements($1::jsonb) AS r ON CONFLICT (institute_id, external_id) DO NOTHING"
        ),
        _ => format!(
            "INSERT INTO learning_records {cols} SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), \
             json_extract(value, '$[2]'), 'record', json_extract(value, '$[3]'), json_extract(value, '$[4]'), \
             json_extract(value, '$[5]'), 'institute', $2, $3, json_extract(value, '$[6]'), $4, \
             json_extract(value, '$[7]'), json_extract(value, '$[8]') FROM json_each($1) WHERE true \
             ON CONFLICT (institute_id, external_id) DO NOTHING"
        ),
    };
    let values: Vec<sea_orm::Value> =
        vec![json.into(), caller.audit_name().into(), now.into(), caller.institute_id.into()];
    let r = txn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    Ok(r.rows_affected() as usize)
}

fn clone_row(r: &Row) -> Row {
    Row {
        index: r.index,
        record_id: r.record_id.clone(),
        member_id: r.member_id,
        cpa_id: r.cpa_id,
        year: r.year,
        hours: r.hours,
        category: r.category,
        form: r.form,
        title: r.title.clone(),
        learned_on: r.learned_on,
        reverses: r.reverses.clone(),
    }
}

/// For tests and the benchmark: the signature headers of a call.
pub fn headers(key_id: &str, secret: &str, path: &str, at: i64, body: &[u8]) -> [(&'static str, String); 3] {
    let ts = at.to_string();
    let sig = sign(secret, &signing_string("POST", path, &ts, body));
    [(KEY_HEADER, key_id.to_owned()), (TIME_HEADER, ts), (SIGNATURE_HEADER, sig)]
}
