//! One page of a list, for every list with pagination.

use sea_orm::{ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, Select};

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
    let paginator = query.paginate(db, size);
    let counts = paginator.num_items_and_pages().await?;
    let pages = counts.number_of_pages.max(1);
    let page = page.clamp(1, pages);
    let items = paginator.fetch_page(page - 1).await?;
    Ok(Page { items, page, pages, total: counts.number_of_items })
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), page: self.page, pages: self.pages, total: self.total }
    }
}
