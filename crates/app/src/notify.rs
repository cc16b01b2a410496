//! Outgoing notifications. Providers (an SMS gateway, a mail server, the
//! bound notification account) implement these traits. With `dev_outbox`
//! the development implementation writes them to the outbox table that a dev
//! page shows, recipient and text encrypted like any personal information;
//! without it and without a provider, nothing is written anywhere and the
//! sender answers that no provider is configured.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use cmis_domain::mask;
use cmis_store::Db;
use cmis_store::entity::outbox;
use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, QuerySelect, Set};

use crate::clock::Clock;
use crate::pii::Pii;
use crate::settings::Settings;

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
    /// The development outbox when `dev_outbox` is on, else no provider.
    pub fn from_settings(db: &Db, settings: &Settings, pii_key: &[u8; 32], clock: Arc<dyn Clock>) -> Senders {
        if settings.dev_outbox {
            let o = Arc::new(Outbox { db: db.clone(), pii: Pii::new(pii_key), clock });
            Senders { sms: o.clone(), mail: o.clone(), bound: o }
        } else {
            let n = Arc::new(Unconfigured);
            Senders { sms: n.clone(), mail: n.clone(), bound: n }
        }
    }
}

/// A recipient as logs and lists show it: a phone number masked, anything
/// else cut to its first characters.
pub fn mask_recipient(r: &str) -> String {
    if r.len() == 11 && r.bytes().all(|b| b.is_ascii_digit()) {
        mask::phone(r)
    } else {
        format!("{}****", r.chars().take(3).collect::<String>())
    }
}

/// No SMS gateway, mail server or notification account is configured: say so
/// in the log (never the text, which may hold a code) and fail the send.
pub struct Unconfigured;

impl Unconfigured {
    fn refuse(channel: &str, to: &str) -> anyhow::Result<()> {
        tracing::warn!(channel, to = %mask_recipient(to), "no provider configured: message not sent");
        anyhow::bail!("no {channel} provider configured")
    }
}

#[async_trait::async_trait]
impl SmsSender for Unconfigured {
    async fn send_sms(&self, phone: &str, _text: &str) -> anyhow::Result<()> {
        Unconfigured::refuse("sms", phone)
    }
}

#[async_trait::async_trait]
impl MailSender for Unconfigured {
    async fn send_mail(&self, to: &str, _subject: &str, _body: &str) -> anyhow::Result<()> {
        Unconfigured::refuse("mail", to)
    }
}

#[async_trait::async_trait]
impl BoundAccountSender for Unconfigured {
    async fn send_to_account(&self, account: &str, _text: &str) -> anyhow::Result<()> {
        Unconfigured::refuse("bound account", account)
    }
}

pub struct Outbox {
    db: Db,
    pii: Pii,
    clock: Arc<dyn Clock>,
}

impl Outbox {
    async fn put(&self, channel: &str, recipient: &str, subject: &str, body: &str) -> anyhow::Result<()> {
        outbox::ActiveModel {
            channel: Set(channel.to_owned()),
            recipient: Set(mask_recipient(recipient)),
            recipient_enc: Set(Some(self.pii.encrypt(recipient))),
            subject: Set(subject.to_owned()),
            body: Set(self.pii.encrypt(body)),
            created_at: Set(self.clock.now()),
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

/// One message of the development outbox, decrypted.
#[derive(Debug, Clone)]
pub struct Sent {
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// The newest outbox entries, for the development page (and tests).
pub async fn recent(app: &crate::App, limit: u64) -> anyhow::Result<Vec<Sent>> {
    let rows = outbox::Entity::find().order_by_desc(outbox::Column::Id).limit(limit).all(app.db.conn()).await?;
    rows.into_iter()
        .map(|m| {
            Ok(Sent {
                recipient: match &m.recipient_enc {
                    Some(r) => app.pii.decrypt(r)?,
                    None => m.recipient,
                },
                body: app.pii.decrypt(&m.body)?,
                channel: m.channel,
                subject: m.subject,
                created_at: m.created_at,
            })
        })
        .collect()
}
