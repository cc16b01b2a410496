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
}

impl Db {
    /// `sqlite://path?mode=rwc` or `postgres://…`.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
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
                .connect_with(opts)
                .await
                .context("opening the SQLite database")?;
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
        Ok(Db { conn })
    }

    /// Connects and applies every pending migration, then loads the
    /// organisations. The migrations run on connections of their own, closed
    /// before the pool that serves is opened: SQLite connections that saw the
    /// schema before an `ALTER TABLE` can describe a statement's columns from
    /// the old schema, and a row read through them then misses the new column.
    pub async fn open(url: &str) -> anyhow::Result<Db> {
        let migrating = Db::connect(url).await?;
        Migrator::up(&migrating.conn, None).await.context("applying migrations")?;
        migrating.conn.close().await.context("closing the migration connections")?;
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
        self.conn.begin_with_options(options).await
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
