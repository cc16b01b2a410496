//! Sessions in the database, so that any instance serves any request.
//!
//! A session ends after `idle` without a request. The store enforces that
//! itself: `save` sets the deadline, and `load` moves it forward once less
//! than half of it remains, so an active user is never logged out and a
//! session row is written at most once per half-period, not on every page.
//!
//! Each row names its user, so that a new password can end every session of
//! the account (`cmis_app::auth`). A session once deleted stays deleted: a
//! request still in flight saves by UPDATE only, and cannot bring it back.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use cmis_app::clock::Clock;
use cmis_store::Db;
use cmis_store::entity::session;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

#[derive(Clone)]
pub struct DbSessionStore {
    db: Db,
    idle: chrono::Duration,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for DbSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbSessionStore").field("idle", &self.idle).finish()
    }
}

impl DbSessionStore {
    pub fn new(db: Db, idle: chrono::Duration, clock: Arc<dyn Clock>) -> Self {
        DbSessionStore { db, idle, clock }
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn row(record: &Record, expires_at: DateTime<Utc>) -> session_store::Result<session::ActiveModel> {
    Ok(session::ActiveModel {
        id: Set(record.id.to_string()),
        data: Set(serde_json::to_string(&record.data).map_err(backend)?),
        user_id: Set(record.data.get(crate::shell::SESSION_USER).and_then(|v| v.as_i64()).map(|v| v as i32)),
        expires_at: Set(expires_at),
    })
}

#[async_trait::async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        loop {
            match row(record, self.clock.now() + self.idle)?.insert(self.db.conn()).await {
                Ok(_) => return Ok(()),
                // A 128-bit id that exists already: draw another.
                Err(e) if cmis_store::db::is_unique_violation(&e) => record.id = Id::default(),
                Err(e) => return Err(backend(e)),
            }
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let r = row(record, self.clock.now() + self.idle)?;
        session::Entity::update_many()
            .set(r)
            .filter(session::Column::Id.eq(record.id.to_string()))
            .exec(self.db.conn())
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let row = session::Entity::find_by_id(id.to_string())
            .filter(session::Column::ExpiresAt.gt(self.clock.now()))
            .one(self.db.conn())
            .await
            .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let now = self.clock.now();
        if row.expires_at - now < self.idle / 2 {
            let extended = session::ActiveModel {
                id: Set(row.id.clone()),
                expires_at: Set(now + self.idle),
                ..Default::default()
            };
            if let Err(e) = session::Entity::update(extended).exec(self.db.conn()).await {
                tracing::warn!(error = %e, "extending a session");
            }
        }
        let expiry = time::OffsetDateTime::from_unix_timestamp(row.expires_at.timestamp()).map_err(backend)?;
        Ok(Some(Record { id: *id, data: serde_json::from_str(&row.data).map_err(backend)?, expiry_date: expiry }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        session::Entity::delete_by_id(id.to_string()).exec(self.db.conn()).await.map_err(backend)?;
        Ok(())
    }
}
