//! Outgoing notifications. Providers (an SMS gateway, a mail server, the
//! bound notification account) implement these traits; the development
//! implementation writes to the outbox table that a dev page shows.

use std::sync::Arc;

use chrono::Utc;
use cmis_store::Db;
use cmis_store::entity::outbox;
use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, QuerySelect, Set};

#[async_trait::async_trait]
pub trait SmsSender: Send + Sync {
    async fn send_sms(&self, phone: &str, text: &str) -> anyhow::Result<()>;
}

#[async_trait::async_trait]
pub trait MailSender: Send + Sync {
    async fn send_mail(&self, to: &str, subject: &str, body: &str) -> anyhow::Result<()>;
}

/// The notification account a member bound at their first password reset.
#[async_trait::async_trait]
pub trait BoundAccountSender: Send + Sync {
    async fn send_to_account(&self, account: &str, text: &str) -> anyhow::Result<()>;
}

#[derive(Clone)]
pub struct Senders {
    pub sms: Arc<dyn SmsSender>,
    pub mail: Arc<dyn MailSender>,
    pub bound: Arc<dyn BoundAccountSender>,
}

impl Senders {
    pub fn outbox(db: Db) -> Senders {
        let o = Arc::new(Outbox { db });
        Senders { sms: o.clone(), mail: o.clone(), bound: o }
    }
}

pub struct Outbox {
    db: Db,
}

impl Outbox {
    async fn put(&self, channel: &str, recipient: &str, subject: &str, body: &str) -> anyhow::Result<()> {
        outbox::ActiveModel {
            channel: Set(channel.to_owned()),
            recipient: Set(recipient.to_owned()),
            subject: Set(subject.to_owned()),
            body: Set(body.to_owned()),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(self.db.conn())
        .await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl SmsSender for Outbox {
    async fn send_sms(&self, phone: &str, text: &str) -> anyhow::Result<()> {
        self.put("短信", phone, "", text).await
    }
}

#[async_trait::async_trait]
impl MailSender for Outbox {
    async fn send_mail(&self, to: &str, subject: &str, body: &str) -> anyhow::Result<()> {
        self.put("邮件", to, subject, body).await
    }
}

#[async_trait::async_trait]
impl BoundAccountSender for Outbox {
    async fn send_to_account(&self, account: &str, text: &str) -> anyhow::Result<()> {
        self.put("公众号", account, "", text).await
    }
}

/// The newest outbox entries, for the development page.
pub async fn recent(db: &Db, limit: u64) -> anyhow::Result<Vec<outbox::Model>> {
    Ok(outbox::Entity::find().order_by_desc(outbox::Column::Id).limit(limit).all(db.conn()).await?)
}
