//! The append-only audit log. Each event carries the hash of the one before
//! it in its chain, so that editing or deleting an event breaks the chain at
//! that point. The log is kept in sixteen chains so that appenders in
//! different chains, on any instance, do not wait for each other.

use chrono::{DateTime, SubsecRound, Utc};

use crate::{App, Tx};
use cmis_store::Db;
use cmis_store::entity::audit_event;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, Statement,
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

/// How many chains the log is kept in. Appenders on different chains do
/// not wait for each other; each chain is verified on its own.
pub const CHAINS: i16 = 16;

/// The hash a chain starts from. Chain 0 is the log as it was before there
/// were chains; the others start from a genesis of their own, so that no
/// two chains ever share a previous hash.
pub fn genesis(chain: i16) -> String {
    if chain == 0 {
        return GENESIS.to_owned();
    }
    hex::encode(Sha256::digest(format!("cmis audit chain {chain}").as_bytes()))
}

/// The chain of an actor: one person's events stay in one chain, in order.
pub fn chain_of(actor: &str) -> i16 {
    let d = Sha256::digest(actor.as_bytes());
    (u16::from_be_bytes([d[0], d[1]]) % CHAINS as u16) as i16
}

/// Appends an event inside the caller's write transaction, so that the event
/// commits with the change it records, or not at all. Only a transaction will
/// do: reading the last hash of the chain and inserting the next event must
/// be one unit, or two appenders extend the same link and the chain forks (on
/// SQLite a write transaction holds the write lock; on PostgreSQL the chain's
/// advisory lock lasts until the transaction ends). A unique index on
/// `prev_hash` refuses a fork should one ever be attempted.
///
/// A transaction keeps to the chain of its first event's actor, so that it
/// holds one lock only and two transactions never wait for each other's.
pub async fn append(
    txn: &Tx,
    actor: &str,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
) -> Result<(), DbErr> {
    let (chain, first) = txn.audit_chain(|| chain_of(actor));
    if first && txn.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_advisory_xact_lock(72616469, $1)",
            [i32::from(chain).into()],
        ))
        .await?;
    }
    let prev = audit_event::Entity::find()
        .filter(audit_event::Column::Chain.eq(chain))
        .order_by_desc(audit_event::Column::Id)
        .limit(1)
        .one(txn)
        .await?
        .map(|e| e.hash)
        .unwrap_or_else(|| genesis(chain));
    let at = txn.now().trunc_subsecs(6);
    let detail = detail.to_string();
    let h = hash(&prev, &at, actor, action, subject, &detail);
    audit_event::ActiveModel {
        at: Set(at),
        actor: Set(actor.to_owned()),
        action: Set(action.to_owned()),
        subject: Set(subject.to_owned()),
        detail: Set(detail),
        chain: Set(chain),
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

/// Walks every event in order, a page at a time, each against the one
/// before it in its chain.
///
/// The whole walk reads one snapshot (a repeatable-read transaction), page
/// after page by id: on PostgreSQL a long transaction commits a lower id
/// after higher ones of other chains are visible, and pages read at
/// different moments would see a chain with a gap that is not there.
pub async fn verify(db: &Db) -> anyhow::Result<Verification> {
    use sea_orm::{AccessMode, IsolationLevel, TransactionTrait};
    let snapshot = match db.conn().get_database_backend() {
        DatabaseBackend::Postgres => {
            db.conn().begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly)).await?
        }
        // A read transaction in WAL mode sees one snapshot from its first read.
        _ => db.conn().begin().await?,
    };
    let mut last: Vec<String> = (0..CHAINS).map(genesis).collect();
    let mut checked = 0u64;
    let mut after = i64::MIN;
    loop {
        let events = audit_event::Entity::find()
            .filter(audit_event::Column::Id.gt(after))
            .order_by_asc(audit_event::Column::Id)
            .limit(1000)
            .all(&snapshot)
            .await?;
        let Some(end) = events.last().map(|e| e.id) else { break };
        after = end;
        for e in events {
            checked += 1;
            let Some(prev) = usize::try_from(e.chain).ok().and_then(|c| last.get_mut(c)) else {
                return Ok(Verification { checked, first_broken: Some((e.id, "记录的链号被修改")) });
            };
            if e.prev_hash != *prev {
                return Ok(Verification { checked, first_broken: Some((e.id, "前一条记录被删除或修改")) });
            }
            if hash(&e.prev_hash, &e.at, &e.actor, &e.action, &e.subject, &e.detail) != e.hash {
                return Ok(Verification { checked, first_broken: Some((e.id, "本条记录内容被修改")) });
            }
            *prev = e.hash;
        }
    }
    snapshot.rollback().await?;
    Ok(Verification { checked, first_broken: None })
}
