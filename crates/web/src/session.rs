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
//!
//! The database (and so every backup) holds neither the cookie's session id
//! nor what the session carries in clear: rows are keyed by a keyed hash of
//! the id, and the data (an application being corrected, a recovery in
//! progress) is encrypted with the personal-information key.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use cmis_app::App;
use cmis_app::keys::Secrets;
use cmis_store::entity::session;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

#[derive(Clone)]
pub struct DbSessionStore {
    app: Arc<App>,
    idle: chrono::Duration,
}

impl std::fmt::Debug for DbSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbSessionStore").field("idle", &self.idle).finish()
    }
}

impl DbSessionStore {
    pub fn new(app: Arc<App>, idle: chrono::Duration) -> Self {
        DbSessionStore { app, idle }
    }

    /// The row of a session id.
    fn key(&self, id: &Id) -> String {
        Secrets::mac(&self.app.secrets.token, &[b"session", id.to_string().as_bytes()])
    }

    fn row(&self, record: &Record, expires_at: DateTime<Utc>) -> session_store::Result<session::ActiveModel> {
        let data = serde_json::to_string(&record.data).map_err(backend)?;
        Ok(session::ActiveModel {
            id: Set(self.key(&record.id)),
            data: Set(self.app.pii.encrypt(&data)),
            user_id: Set(record.data.get(crate::shell::SESSION_USER).and_then(|v| v.as_i64()).map(|v| v as i32)),
            expires_at: Set(expires_at),
        })
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait::async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        loop {
            match self.row(record, self.app.now() + self.idle)?.insert(self.app.db.conn()).await {
                Ok(_) => return Ok(()),
                // A 128-bit id that exists already: draw another.
                Err(e) if cmis_store::db::is_unique_violation(&e) => record.id = Id::default(),
                Err(e) => return Err(backend(e)),
            }
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let r = self.row(record, self.app.now() + self.idle)?;
        session::Entity::update_many()
            .set(r)
            .filter(session::Column::Id.eq(self.key(&record.id)))
            .exec(self.app.db.conn())
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let row = session::Entity::find_by_id(self.key(id))
            .filter(session::Column::ExpiresAt.gt(self.app.now()))
            .one(self.app.db.conn())
            .await
            .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let now = self.app.now();
        if row.expires_at - now < self.idle / 2 {
            let extended = session::ActiveModel {
                id: Set(row.id.clone()),
                expires_at: Set(now + self.idle),
                ..Default::default()
            };
            if let Err(e) = session::Entity::update(extended).exec(self.app.db.conn()).await {
                tracing::warn!(error = %e, "extending a session");
            }
        }
        let expiry = time::OffsetDateTime::from_unix_timestamp(row.expires_at.timestamp()).map_err(backend)?;
        let data = self.app.pii.decrypt(&row.data).map_err(backend)?;
        Ok(Some(Record { id: *id, data: serde_json::from_str(&data).map_err(backend)?, expiry_date: expiry }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        session::Entity::delete_by_id(self.key(id)).exec(self.app.db.conn()).await.map_err(backend)?;
        Ok(())
    }
}
