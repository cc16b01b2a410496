//! The database: sea-orm entities, migrations, and the connection that picks
//! SQLite or PostgreSQL from the URL.

pub mod db;
pub mod entity;
pub mod migration;
pub mod seed;

pub use db::Db;
pub use sea_orm;
