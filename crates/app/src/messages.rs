//! The message centre (🔔): returns, decisions and notices addressed to a user.

use chrono::{DateTime, Utc};
use cmis_store::entity::message;
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;

use crate::error::{AppError, AppResult};
use crate::page::{self, Page};
use crate::{Actor, App, Tx};

#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub id: i32,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

pub const PAGE_SIZE: u64 = 10;

/// Sends a message inside the caller's transaction.
pub async fn send(txn: &Tx, user_id: i32, title: &str, body: &str, link: Option<&str>) -> Result<(), DbErr> {
    message::ActiveModel {
        user_id: Set(user_id),
        title: Set(title.to_owned()),
        body: Set(body.to_owned()),
        link: Set(link.map(str::to_owned)),
        created_at: Set(txn.now()),
        read_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}

pub async fn unread_count(app: &App, actor: &Actor) -> AppResult<u64> {
    Ok(message::Entity::find()
        .filter(message::Column::UserId.eq(actor.user_id))
        .filter(message::Column::ReadAt.is_null())
        .count(app.db.conn())
        .await?)
}

/// 消息列表, newest first, page numbers from 1.
pub async fn list(app: &App, actor: &Actor, page: u64) -> AppResult<Page<Message>> {
    let query =
        message::Entity::find().filter(message::Column::UserId.eq(actor.user_id)).order_by_desc(message::Column::Id);
    Ok(page::fetch(app.db.conn(), query, page, PAGE_SIZE).await?.map(to_message))
}

/// The latest messages, for the 🔔's preview (seed 000 §2.1.5).
pub const PREVIEW: u64 = 5;

pub async fn latest(app: &App, actor: &Actor) -> AppResult<Vec<Message>> {
    use sea_orm::QuerySelect;
    Ok(message::Entity::find()
        .filter(message::Column::UserId.eq(actor.user_id))
        .order_by_desc(message::Column::Id)
        .limit(PREVIEW)
        .all(app.db.conn())
        .await?
        .into_iter()
        .map(to_message)
        .collect())
}

/// 查看详情: a user reads only their own messages; reading marks it read.
pub async fn open(app: &App, actor: &Actor, id: i32) -> AppResult<Message> {
    let m = message::Entity::find_by_id(id)
        .one(app.db.conn())
        .await?
        .filter(|m| m.user_id == actor.user_id)
        .ok_or(AppError::NotFound("消息"))?;
    if m.read_at.is_none() {
        let mut am: message::ActiveModel = m.clone().into();
        am.read_at = Set(Some(app.now()));
        am.update(app.db.conn()).await?;
    }
    let mut msg = to_message(m);
    msg.read = true;
    Ok(msg)
}

fn to_message(m: message::Model) -> Message {
    Message {
        id: m.id,
        title: m.title,
        body: m.body,
        link: m.link,
        created_at: m.created_at,
        read: m.read_at.is_some(),
    }
}
