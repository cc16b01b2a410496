//! The transactional outbox. A use case writes each SMS, bound-account code
//! or mail as a row in the same transaction as the change it announces
//! (`queue`), so nothing a user is told can be undone by a rollback and
//! nothing committed goes unannounced. A worker on every instance claims due
//! rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer),
//! hands them to the provider, and retries with backoff; staff read the log.
//! With `dev_outbox` the rows themselves are the development outbox.

use std::time::Duration as StdDuration;

use chrono::Duration;
use cmis_domain::mask;
use cmis_store::entity::delivery as row;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, Statement, Value,
};
use serde::Serialize;

use crate::error::AppResult;
use crate::page::{self, Page};
use crate::scope::{Permission, Scope};
use crate::{Actor, App, Tx};

cmis_domain::coded! {
    /// 渠道
    pub enum Channel {
        Sms = ("sms", "短信"),
        Bound = ("bound", "公众号"),
        Mail = ("mail", "邮件"),
    }
}

cmis_domain::coded! {
    /// 用途: what the staff log shows instead of the text, which may hold a code.
    pub enum Purpose {
        ResetCode = ("reset_code", "找回密码验证码"),
        Decision = ("decision", "审核结果通知"),
        /// The account changed: a password reset, a recovery fact set by staff.
        Account = ("account", "账户安全通知"),
        /// A firm reminds its CPAs to apply (注师待申请).
        Reminder = ("reminder", "年检提醒"),
    }
}

cmis_domain::coded! {
    pub enum Status {
        Pending = ("pending", "待发送"),
        Sent = ("sent", "已发送"),
        Failed = ("failed", "发送失败"),
    }
}

/// Tries before a message is given up.
pub const MAX_ATTEMPTS: i32 = 8;
const BATCH: i64 = 50;
/// How long a worker holds a claimed message before another may take it.
const CLAIM_SECONDS: i64 = 120;

/// A message to send.
pub struct Outgoing<'a> {
    pub channel: Channel,
    pub purpose: Purpose,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// The association of the person it goes to (the staff log's scope).
    pub association_id: Option<i32>,
}

/// A recipient as logs and lists show it.
pub fn mask_recipient(r: &str) -> String {
    if r.len() == 11 && r.bytes().all(|b| b.is_ascii_digit()) {
        mask::phone(r)
    } else {
        format!("{}****", r.chars().take(3).collect::<String>())
    }
}

/// Writes a message in the caller's transaction; the worker sends it after the commit.
pub async fn queue(app: &App, tx: &Tx, o: Outgoing<'_>) -> AppResult<()> {
    row::ActiveModel {
        channel: Set(o.channel.code().into()),
        purpose: Set(o.purpose.code().into()),
        recipient_masked: Set(mask_recipient(o.to)),
        recipient_enc: Set(app.pii.encrypt(o.to)),
        subject: Set(o.subject.to_owned()),
        body_enc: Set(app.pii.encrypt(o.body)),
        association_id: Set(o.association_id),
        status: Set(Status::Pending.code().into()),
        attempts: Set(0),
        next_attempt_at: Set(tx.now()),
        claimed_until: Set(None),
        last_error: Set(None),
        created_at: Set(tx.now()),
        sent_at: Set(None),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    app.wake_deliveries();
    Ok(())
}

/// The same message to many recipients, in the caller's transaction (a
/// whole batch passed at once): as `queue`, a few hundred rows a statement.
#[allow(clippy::too_many_arguments)]
pub async fn queue_many(
    app: &App,
    tx: &Tx,
    channel: Channel,
    purpose: Purpose,
    to: &[String],
    subject: &str,
    body: &str,
    association_id: Option<i32>,
) -> AppResult<()> {
    for chunk in to.chunks(300) {
        let rows = chunk.iter().map(|to| row::ActiveModel {
            channel: Set(channel.code().into()),
            purpose: Set(purpose.code().into()),
            recipient_masked: Set(mask_recipient(to)),
            recipient_enc: Set(app.pii.encrypt(to)),
            subject: Set(subject.to_owned()),
            body_enc: Set(app.pii.encrypt(body)),
            association_id: Set(association_id),
            status: Set(Status::Pending.code().into()),
            attempts: Set(0),
            next_attempt_at: Set(tx.now()),
            claimed_until: Set(None),
            last_error: Set(None),
            created_at: Set(tx.now()),
            sent_at: Set(None),
            ..Default::default()
        });
        row::Entity::insert_many(rows).exec(tx).await?;
    }
    if !to.is_empty() {
        app.wake_deliveries();
    }
    Ok(())
}

/// The wait before the next try: 30 s, doubling, at most an hour.
fn backoff(attempts: i32) -> Duration {
    Duration::seconds((30i64 << (attempts.clamp(1, 8) - 1)).min(3600))
}

/// Claims the messages that are due and sends them; returns how many it handled.
pub async fn deliver_due(app: &App) -> anyhow::Result<usize> {
    let db = app.db.conn();
    let now = app.now();
    let backend = db.get_database_backend();
    let lock = if backend == DatabaseBackend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE deliveries SET claimed_until = $1, attempts = attempts + 1 WHERE id IN \
         (SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $2 \
          AND (claimed_until IS NULL OR claimed_until < $2) ORDER BY id LIMIT $3{lock}) \
         RETURNING id, channel, recipient_enc, subject, body_enc, attempts"
    );
    let values: Vec<Value> = vec![(now + Duration::seconds(CLAIM_SECONDS)).into(), now.into(), BATCH.into()];
    let claimed = db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    let n = claimed.len();
    for r in claimed {
        let id: i32 = r.try_get("", "id")?;
        let attempts: i32 = r.try_get("", "attempts")?;
        let channel = Channel::parse(&r.try_get::<String>("", "channel")?)?;
        let to = app.pii.decrypt(&r.try_get::<String>("", "recipient_enc")?)?;
        let subject: String = r.try_get("", "subject")?;
        let body = app.pii.decrypt(&r.try_get::<String>("", "body_enc")?)?;
        let sent = match channel {
            Channel::Sms => app.senders.sms.send_sms(&to, &body).await,
            Channel::Bound => app.senders.bound.send_to_account(&to, &body).await,
            Channel::Mail => app.senders.mail.send_mail(&to, &subject, &body).await,
        };
        let now = app.now();
        let mut am = row::ActiveModel { id: Set(id), claimed_until: Set(None), ..Default::default() };
        match sent {
            Ok(()) => {
                am.status = Set(Status::Sent.code().into());
                am.sent_at = Set(Some(now));
                am.last_error = Set(None);
            }
            Err(e) => {
                tracing::warn!(delivery = id, attempts, error = %e, "message not sent");
                am.last_error = Set(Some(e.to_string().chars().take(500).collect()));
                if attempts >= MAX_ATTEMPTS {
                    am.status = Set(Status::Failed.code().into());
                } else {
                    am.next_attempt_at = Set(now + backoff(attempts));
                }
            }
        }
        am.update(db).await?;
    }
    Ok(n)
}

/// The worker: delivers as soon as something is queued, and looks every few
/// seconds for retries and for messages other instances queued.
pub async fn run(app: std::sync::Arc<App>) {
    loop {
        match deliver_due(&app).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "delivering messages"),
        }
        let _ = tokio::time::timeout(StdDuration::from_secs(3), app.deliveries_waiting()).await;
    }
}

/// One message of the outbox, decrypted: the development outbox page, and tests.
#[derive(Debug, Clone)]
pub struct Sent {
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub status: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The newest messages, whatever their status, in full. Development only:
/// the page that shows them exists only with `dev_outbox`.
pub async fn recent(app: &App, limit: u64) -> anyhow::Result<Vec<Sent>> {
    let rows = row::Entity::find().order_by_desc(row::Column::Id).limit(limit).all(app.db.conn()).await?;
    rows.into_iter()
        .map(|m| {
            Ok(Sent {
                channel: Channel::parse(&m.channel)?.label().to_owned(),
                recipient: app.pii.decrypt(&m.recipient_enc)?,
                body: app.pii.decrypt(&m.body_enc)?,
                status: Status::parse(&m.status)?.label().to_owned(),
                subject: m.subject,
                created_at: m.created_at,
            })
        })
        .collect()
}

/// A line of 消息发送记录: never the text.
#[derive(Debug, Clone, Serialize)]
pub struct LogRow {
    pub id: i32,
    pub channel: &'static str,
    pub purpose: &'static str,
    pub recipient: String,
    pub status: Status,
    pub attempts: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub status: Option<Status>,
    pub page: u64,
}

pub const PAGE_SIZE: u64 = 20;

/// 消息发送记录 for staff: what was sent to the people in their scope.
pub async fn log(app: &App, actor: &Actor, f: &LogFilter) -> AppResult<Page<LogRow>> {
    Permission::DeliveryLog.require(actor)?;
    let scope = Scope::of(app, actor);
    let mut q = row::Entity::find();
    if let Some(c) = scope.association_condition(row::Column::AssociationId, None) {
        q = q.filter(c);
    }
    if let Some(s) = f.status {
        q = q.filter(row::Column::Status.eq(s.code()));
    }
    let p = page::fetch(app.db.conn(), q.order_by_desc(row::Column::Id), f.page, PAGE_SIZE).await?;
    p.try_map(|m| {
        Ok(LogRow {
            id: m.id,
            channel: Channel::parse(&m.channel)?.label(),
            purpose: Purpose::parse(&m.purpose)?.label(),
            recipient: m.recipient_masked,
            status: Status::parse(&m.status)?,
            attempts: m.attempts,
            created_at: m.created_at,
            sent_at: m.sent_at,
            last_error: m.last_error,
        })
    })
}
