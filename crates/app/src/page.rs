//! One page of a list, for every list with pagination.

use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QuerySelect, QueryTrait, Select};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// From 1.
    pub page: u64,
    pub pages: u64,
    pub total: u64,
}

/// Fetches page `page` (from 1, clamped to what exists) of `query`.
pub async fn fetch<E, C>(db: &C, query: Select<E>, page: u64, size: u64) -> Result<Page<E::Model>, sea_orm::DbErr>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Sized + Send + Sync,
    C: ConnectionTrait,
{
    let total = count(db, &query).await?;
    fetch_of(db, query, page, size, total).await
}

/// `fetch` with the total already known (kept by the caller).
pub async fn fetch_of<E, C>(
    db: &C,
    query: Select<E>,
    page: u64,
    size: u64,
    total: u64,
) -> Result<Page<E::Model>, sea_orm::DbErr>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Sized + Send + Sync,
    C: ConnectionTrait,
{
    let pages = total.div_ceil(size).max(1);
    let page = page.clamp(1, pages);
    let items = query.paginate(db, size).fetch_page(page - 1).await?;
    Ok(Page { items, page, pages, total })
}

/// COUNT(*) of a query without its ORDER BY: the database counts from an index
/// instead of sorting every row first (the paginator's own count keeps the order).
pub async fn count<E: EntityTrait, C: ConnectionTrait>(db: &C, query: &Select<E>) -> Result<u64, sea_orm::DbErr> {
    let mut inner = query.clone().select_only().column_as(Expr::val(1), "one").into_query();
    inner.clear_order_by();
    let stmt = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from_subquery(inner, Alias::new("sub"))
        .to_owned();
    let row = db.query_one(&stmt).await?.ok_or_else(|| sea_orm::DbErr::RecordNotFound("count".into()))?;
    Ok(row.try_get::<i64>("", "n")? as u64)
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), page: self.page, pages: self.pages, total: self.total }
    }

    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        let items = self.items.into_iter().map(f).collect::<Result<Vec<U>, E>>()?;
        Ok(Page { items, page: self.page, pages: self.pages, total: self.total })
    }
}
