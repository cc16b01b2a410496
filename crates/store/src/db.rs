use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sea_orm::sqlx::postgres::PgPoolOptions;
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode,
    SqlxPostgresConnector, SqlxSqliteConnector, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

use crate::migration::Migrator;

/// One database, SQLite or PostgreSQL, chosen by the URL.
#[derive(Clone, Debug)]
pub struct Db {
    conn: DatabaseConnection,
    /// SQLite in a file: the one connection write transactions run on (see `write`).
    writer: Option<DatabaseConnection>,
    /// SQLite in a file: its write-ahead log (see `bound_wal`).
    wal: Option<std::path::PathBuf>,
}

/// A WAL larger than this is checkpointed and truncated by `bound_wal`.
const WAL_LIMIT: u64 = 64 << 20;

impl Db {
    /// `sqlite://path?mode=rwc` or `postgres://…`.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        let mut writer = None;
        let mut wal = None;
        let conn = if url.starts_with("sqlite:") {
            if let Some(dir) = sqlite_path(url).and_then(|p| std::path::Path::new(p).parent().map(|d| d.to_owned()))
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            // WAL lets readers run beside the writer; writers wait on busy_timeout and
            // begin IMMEDIATE (see `write`), so a transaction never upgrades a read lock.
            // synchronous=FULL: every commit reaches the disk before it is
            // acknowledged, so a submission the user was told of survives a power
            // cut, not only a crash of the process (NORMAL could lose the last
            // commits; bench/README.md measures what FULL costs).
            // 8 MB of page cache a connection: the OS keeps the rest of the file
            // in its own cache. Four connections: eight measured no faster on two
            // cores and held twice the page caches.
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .pragma("cache_size", "-8000")
                .pragma("temp_store", "memory");
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .min_connections(1)
                .after_connect(|conn, _| Box::pin(async move { stable_plans(conn).await }))
                .connect_with(opts.clone())
                .await
                .context("opening the SQLite database")?;
            // Write transactions queue for one connection of their own. SQLite
            // lets one writer in at a time anyway; on its own connection the
            // writer keeps its page cache from one transaction to the next
            // (a connection drops its cache whenever another one committed
            // since it last read), so a bulk import reads the pages of its
            // indexes once, not again for every call (bench/README.md).
            if let Some(path) = sqlite_path(url) {
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(10))
                    .after_connect(|conn, _| Box::pin(async move { stable_plans(conn).await }))
                    .connect_with(opts.pragma("cache_size", "-65536"))
                    .await
                    .context("opening the SQLite database for writing")?;
                writer = Some(SqlxSqliteConnector::from_sqlx_sqlite_pool(pool));
                wal = Some(std::path::PathBuf::from(format!("{path}-wal")));
            }
            SqlxSqliteConnector::from_sqlx_sqlite_pool(pool)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new()
                .max_connections(32)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .context("connecting to PostgreSQL")?;
            SqlxPostgresConnector::from_sqlx_postgres_pool(pool)
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite: or postgres:");
        };
        Ok(Db { conn, writer, wal })
    }

    /// Connects and applies every pending migration, then loads the
    /// organisations. The migrations run on connections of their own, closed
    /// before the pool that serves is opened: SQLite connections that saw the
    /// schema before an `ALTER TABLE` can describe a statement's columns from
    /// the old schema, and a row read through them then misses the new column.
    pub async fn open(url: &str) -> anyhow::Result<Db> {
        let migrating = Db::connect(url).await?;
        Migrator::up(&migrating.conn, None).await.context("applying migrations")?;
        migrating.close().await.context("closing the migration connections")?;
        let db = Db::connect(url).await?;
        crate::seed::organisations(&db).await.context("loading the organisations")?;
        Ok(db)
    }

    /// For reads and single-statement writes.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// A write transaction. On SQLite it begins IMMEDIATE: it takes the write lock at
    /// once (waiting up to busy_timeout), so it can never fail with SQLITE_BUSY later
    /// when a deferred transaction would upgrade from reading to writing.
    pub async fn write(&self) -> Result<DatabaseTransaction, DbErr> {
        let options = TransactionOptions {
            isolation_level: None,
            access_mode: None,
            sqlite_transaction_mode: self.is_sqlite().then_some(SqliteTransactionMode::Immediate),
        };
        self.writer.as_ref().unwrap_or(&self.conn).begin_with_options(options).await
    }

    /// Keeps SQLite's write-ahead log from growing without end. The automatic
    /// checkpoint copies the log into the database after commits, but starts
    /// the log again from its beginning only at a moment no reader is using
    /// it; with writes back to back and reads beside them that moment never
    /// comes, and a 20-million-record import grew the log to 32 GB. Past
    /// `WAL_LIMIT` this waits for the readers of the moment (busy_timeout)
    /// and truncates the log. Returns whether it did; PostgreSQL: never.
    pub async fn bound_wal(&self) -> Result<bool, DbErr> {
        self.bound_wal_past(WAL_LIMIT).await
    }

    /// `bound_wal` with a limit of the caller's (tests).
    pub async fn bound_wal_past(&self, limit: u64) -> Result<bool, DbErr> {
        let Some(wal) = &self.wal else { return Ok(false) };
        if std::fs::metadata(wal).map_or(0, |m| m.len()) <= limit {
            return Ok(false);
        }
        let row = self
            .writer
            .as_ref()
            .unwrap_or(&self.conn)
            .query_one_raw(sea_orm::Statement::from_string(DatabaseBackend::Sqlite, "PRAGMA wal_checkpoint(TRUNCATE)"))
            .await?;
        // (busy, frames in the log, frames checkpointed): busy 0 is done.
        Ok(row.map(|r| r.try_get_by_index::<i32>(0)).transpose()?.is_some_and(|busy| busy == 0))
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.conn.get_database_backend()
    }

    pub fn is_sqlite(&self) -> bool {
        self.backend() == DatabaseBackend::Sqlite
    }

    pub async fn ping(&self) -> Result<(), DbErr> {
        self.conn.ping().await
    }

    /// An online copy of a SQLite database into `dest` (`VACUUM INTO`), consistent
    /// while the server keeps running, readable by its owner only (it holds every
    /// account). PostgreSQL is backed up with pg_dump.
    pub async fn backup_sqlite(&self, dest: &std::path::Path) -> anyhow::Result<()> {
        anyhow::ensure!(self.is_sqlite(), "cmis backup copies SQLite databases; use pg_dump for PostgreSQL");
        // An empty file made first, owner-only: VACUUM INTO fills it and keeps its mode.
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        opts.open(dest).with_context(|| format!("creating {} (it must not exist)", dest.display()))?;
        let path = dest.to_str().context("backup path is not UTF-8")?.replace('\'', "''");
        if let Err(e) = self.conn.execute_unprepared(&format!("VACUUM INTO '{path}'")).await {
            let _ = std::fs::remove_file(dest);
            return Err(e.into());
        }
        #[cfg(unix)]
        std::fs::set_permissions(dest, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        Ok(())
    }

    pub async fn close(self) -> Result<(), DbErr> {
        if let Some(w) = self.writer {
            w.close().await?;
        }
        self.conn.close().await
    }
}

/// Turns on SQLite's query planner stability guarantee for a connection.
///
/// Without it, a statement whose `LIMIT ?` (every `.one()` of sea-orm) the
/// planner read as a value is marked to be compiled again whenever that
/// parameter is bound, which is every time it runs: the profile of a
/// member's home page showed 8.7 % of the server's time in
/// `sqlite3Reprepare`. With it, plans never depend on bound values, so the
/// statement cache holds.
async fn stable_plans(conn: &mut sea_orm::sqlx::SqliteConnection) -> Result<(), sea_orm::sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    let mut now_on: std::os::raw::c_int = 0;
    // SAFETY: `db` is this connection's open handle, held locked (no other
    // thread uses it) for the call; ENABLE_QPSG takes an int and an int*.
    let rc = unsafe {
        libsqlite3_sys::sqlite3_db_config(
            db,
            libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as std::os::raw::c_int,
            &mut now_on as *mut std::os::raw::c_int,
        )
    };
    if rc != libsqlite3_sys::SQLITE_OK || now_on != 1 {
        return Err(sea_orm::sqlx::Error::Configuration(format!("SQLITE_DBCONFIG_ENABLE_QPSG failed ({rc})").into()));
    }
    Ok(())
}

fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// Maps a unique-key violation to `Some(())`, so callers can answer with the field that clashed.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}
