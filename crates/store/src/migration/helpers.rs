//! Helpers the migrations share: a named foreign key, a named index.

use sea_orm::DbErr;
use sea_orm_migration::prelude::*;

pub(super) fn fk(name: &str, from: &'static str, col: &'static str, to: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create().name(name).from(from, col).to(to, "id").take()
}

pub(super) async fn index(
    m: &SchemaManager<'_>,
    name: &str,
    table: &'static str,
    cols: &[&'static str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for c in cols {
        idx.col(*c);
    }
    if unique {
        idx.unique();
    }
    m.create_index(idx).await
}
