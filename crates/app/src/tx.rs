//! A write transaction that knows the time it runs at: the clock is read once
//! when it begins, and everything it records (audit events, trail steps,
//! messages) carries that instant.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult, Statement};

pub struct Tx {
    txn: DatabaseTransaction,
    now: DateTime<Utc>,
    audit_chain: OnceLock<i16>,
}

impl Tx {
    pub(crate) fn new(txn: DatabaseTransaction, now: DateTime<Utc>) -> Tx {
        Tx { txn, now, audit_chain: OnceLock::new() }
    }

    /// The audit chain this transaction appends to, chosen by `choose` at its
    /// first event; and whether this is that first event.
    pub(crate) fn audit_chain(&self, choose: impl FnOnce() -> i16) -> (i16, bool) {
        let mut first = false;
        let chain = *self.audit_chain.get_or_init(|| {
            first = true;
            choose()
        });
        (chain, first)
    }

    /// The instant of this transaction.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Tx {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }
}
