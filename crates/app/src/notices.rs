//! 通知公告 and 常见问题 (seed 002 §1): CICPA staff write, publish and withdraw
//! them; the portal lists what is published.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use cmis_store::entity::notice;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set};
use serde_json::json;

use crate::error::{AppError, AppResult, FieldErrors};
use crate::page::{self, Page};
use crate::{Actor, App, audit};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Notice,
    Faq,
}

impl Kind {
    pub fn code(self) -> &'static str {
        match self {
            Kind::Notice => "notice",
            Kind::Faq => "faq",
        }
    }
    pub fn from_code(c: &str) -> Option<Kind> {
        [Kind::Notice, Kind::Faq].into_iter().find(|k| k.code() == c)
    }
    pub fn label(self) -> &'static str {
        match self {
            Kind::Notice => "通知公告",
            Kind::Faq => "常见问题",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Notice {
    pub id: i32,
    pub kind: Kind,
    pub title: String,
    pub body: String,
    pub published: bool,
    pub published_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

fn to_notice(m: notice::Model) -> Notice {
    Notice {
        kind: Kind::from_code(&m.kind).unwrap_or(Kind::Notice),
        id: m.id,
        title: m.title,
        body: m.body,
        published: m.published,
        published_at: m.published_at,
        updated_at: m.updated_at,
    }
}

fn require_editor(actor: &Actor) -> AppResult<()> {
    crate::scope::Permission::PortalNotices.require(actor)
}

/// How long an instance keeps the portal's lists. They change a few times a
/// year and the portal is the busiest page: reading them was a tenth of its
/// time. A save on this instance clears them at once; other instances show
/// it within this time.
pub const CACHE_FOR: std::time::Duration = std::time::Duration::from_secs(30);

/// A kept list: when it was read, and the list.
type Kept = (std::time::Instant, Arc<Vec<Notice>>);

/// The portal's lists, kept for `CACHE_FOR` (`App::notices`).
#[derive(Default)]
pub struct Cache {
    lists: std::sync::RwLock<std::collections::HashMap<(Kind, u64), Kept>>,
}

impl Cache {
    fn get(&self, key: (Kind, u64)) -> Option<Arc<Vec<Notice>>> {
        let lists = self.lists.read().unwrap_or_else(|e| e.into_inner());
        lists.get(&key).filter(|(at, _)| at.elapsed() < CACHE_FOR).map(|(_, l)| l.clone())
    }

    fn put(&self, key: (Kind, u64), list: Arc<Vec<Notice>>) {
        self.lists.write().unwrap_or_else(|e| e.into_inner()).insert(key, (std::time::Instant::now(), list));
    }

    fn clear(&self) {
        self.lists.write().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// The newest published entries of a kind, for the portal.
pub async fn latest(app: &App, kind: Kind, n: u64) -> AppResult<Arc<Vec<Notice>>> {
    if let Some(list) = app.notices.get((kind, n)) {
        return Ok(list);
    }
    let list: Arc<Vec<Notice>> = Arc::new(
        notice::Entity::find()
            .filter(notice::Column::Kind.eq(kind.code()))
            .filter(notice::Column::Published.eq(true))
            .order_by_desc(notice::Column::PublishedAt)
            .limit(n)
            .all(app.db.conn())
            .await?
            .into_iter()
            .map(to_notice)
            .collect(),
    );
    app.notices.put((kind, n), list.clone());
    Ok(list)
}

/// A published entry, for anyone.
pub async fn public(app: &App, id: i32) -> AppResult<Notice> {
    notice::Entity::find_by_id(id)
        .one(app.db.conn())
        .await?
        .filter(|n| n.published)
        .map(to_notice)
        .ok_or(AppError::NotFound("该条目"))
}

/// All published entries of a kind, a page at a time.
pub async fn public_list(app: &App, kind: Kind, page_no: u64) -> AppResult<Page<Notice>> {
    let q = notice::Entity::find()
        .filter(notice::Column::Kind.eq(kind.code()))
        .filter(notice::Column::Published.eq(true))
        .order_by_desc(notice::Column::PublishedAt);
    Ok(page::fetch(app.db.conn(), q, page_no, 20).await?.map(to_notice))
}

/// Every entry, drafts too, for the editors.
pub async fn manage_list(app: &App, actor: &Actor, kind: Option<Kind>, page_no: u64) -> AppResult<Page<Notice>> {
    require_editor(actor)?;
    let q = notice::Entity::find()
        .apply_if(kind, |q, k| q.filter(notice::Column::Kind.eq(k.code())))
        .order_by_desc(notice::Column::UpdatedAt);
    Ok(page::fetch(app.db.conn(), q, page_no, 20).await?.map(to_notice))
}

pub async fn get(app: &App, actor: &Actor, id: i32) -> AppResult<Notice> {
    require_editor(actor)?;
    notice::Entity::find_by_id(id).one(app.db.conn()).await?.map(to_notice).ok_or(AppError::NotFound("该条目"))
}

pub struct Draft {
    pub kind: Option<Kind>,
    pub title: String,
    pub body: String,
    pub publish: bool,
}

fn check(d: &Draft) -> AppResult<Kind> {
    let mut e = FieldErrors::new();
    if d.kind.is_none() {
        e.add("kind", "请选择栏目");
    }
    if d.title.trim().is_empty() {
        e.add("title", "请填写标题");
    } else if let Err(x) = cmis_domain::text::check(d.title.trim(), 100, false) {
        e.add("title", format!("标题{x}"));
    }
    if d.body.trim().is_empty() {
        e.add("body", "请填写正文");
    } else if let Err(x) = cmis_domain::text::check(d.body.trim(), 20_000, true) {
        e.add("body", format!("正文{x}"));
    }
    e.into_result()?;
    Ok(d.kind.expect("checked"))
}

/// 新增 (id None) or 编辑; `publish` publishes or withdraws it.
pub async fn save(app: &App, actor: &Actor, id: Option<i32>, d: Draft) -> AppResult<i32> {
    require_editor(actor)?;
    let kind = check(&d)?;
    let now = app.now();
    let txn = app.write().await?;
    let saved = match id {
        None => {
            notice::ActiveModel {
                kind: Set(kind.code().into()),
                title: Set(d.title.trim().into()),
                body: Set(d.body.trim().into()),
                published: Set(d.publish),
                created_by: Set(actor.user_id),
                created_at: Set(now),
                updated_at: Set(now),
                published_at: Set(d.publish.then_some(now)),
                ..Default::default()
            }
            .insert(&txn)
            .await?
        }
        Some(id) => {
            let old = notice::Entity::find_by_id(id).one(&txn).await?.ok_or(AppError::NotFound("该条目"))?;
            let first_publish = d.publish && !old.published;
            let mut m: notice::ActiveModel = old.into();
            m.kind = Set(kind.code().into());
            m.title = Set(d.title.trim().into());
            m.body = Set(d.body.trim().into());
            m.published = Set(d.publish);
            m.updated_at = Set(now);
            if first_publish {
                m.published_at = Set(Some(now));
            }
            m.update(&txn).await?
        }
    };
    audit::append(
        &txn,
        &actor.audit_name(),
        if id.is_none() { "notice_created" } else { "notice_updated" },
        &format!("notice:{}", saved.id),
        json!({ "published": d.publish }),
    )
    .await?;
    txn.commit().await?;
    app.notices.clear();
    Ok(saved.id)
}
