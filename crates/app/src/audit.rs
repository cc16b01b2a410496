//! The append-only audit log. Each event carries the hash of the one before
//! it, so that editing or deleting an event breaks the chain at that point.

use chrono::{DateTime, SubsecRound, Utc};

use crate::{App, Tx};
use cmis_store::Db;
use cmis_store::entity::audit_event;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, PaginatorTrait, QueryOrder, QuerySelect,
    Set, Statement,
};
use sha2::{Digest, Sha256};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn hash(prev: &str, at: &DateTime<Utc>, actor: &str, action: &str, subject: &str, detail: &str) -> String {
    let mut h = Sha256::new();
    for part in [prev, &at.to_rfc3339(), actor, action, subject, detail] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Appends an event inside the caller's write transaction, so that the event
/// commits with the change it records, or not at all. Only a transaction will
/// do: reading the last hash and inserting the next event must be one unit,
/// or two appenders extend the same link and the chain forks (on SQLite a
/// write transaction holds the write lock; on PostgreSQL the advisory lock
/// lasts until the transaction ends). A unique index on `prev_hash` refuses a
/// fork should one ever be attempted.
pub async fn append(
    txn: &Tx,
    actor: &str,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
) -> Result<(), DbErr> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        // Serialise appenders: two transactions must not both extend the same link.
        txn.execute_raw(Statement::from_string(DatabaseBackend::Postgres, "SELECT pg_advisory_xact_lock(72616469)"))
            .await?;
    }
    let prev = audit_event::Entity::find()
        .order_by_desc(audit_event::Column::Id)
        .limit(1)
        .one(txn)
        .await?
        .map(|e| e.hash)
        .unwrap_or_else(|| GENESIS.to_owned());
    let at = txn.now().trunc_subsecs(6);
    let detail = detail.to_string();
    let h = hash(&prev, &at, actor, action, subject, &detail);
    audit_event::ActiveModel {
        at: Set(at),
        actor: Set(actor.to_owned()),
        action: Set(action.to_owned()),
        subject: Set(subject.to_owned()),
        detail: Set(detail),
        prev_hash: Set(prev),
        hash: Set(h),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Records an event that goes with no other change (someone viewed a
/// record), in a write transaction of its own.
pub async fn record(
    app: &App,
    actor: &str,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
) -> Result<(), DbErr> {
    let txn = app.write().await?;
    append(&txn, actor, action, subject, detail).await?;
    txn.commit().await
}

#[derive(Debug, PartialEq, Eq)]
pub struct Verification {
    pub checked: u64,
    /// The first event that does not follow from the one before it, and why.
    pub first_broken: Option<(i64, &'static str)>,
}

/// Walks the whole chain in order, a page at a time.
pub async fn verify(db: &Db) -> anyhow::Result<Verification> {
    let mut prev = GENESIS.to_owned();
    let mut checked = 0u64;
    let mut pages = audit_event::Entity::find().order_by_asc(audit_event::Column::Id).paginate(db.conn(), 1000);
    while let Some(events) = pages.fetch_and_next().await? {
        for e in events {
            checked += 1;
            if e.prev_hash != prev {
                return Ok(Verification { checked, first_broken: Some((e.id, "前一条记录被删除或修改")) });
            }
            if hash(&e.prev_hash, &e.at, &e.actor, &e.action, &e.subject, &e.detail) != e.hash {
                return Ok(Verification { checked, first_broken: Some((e.id, "本条记录内容被修改")) });
            }
            prev = e.hash;
        }
    }
    Ok(Verification { checked, first_broken: None })
}
