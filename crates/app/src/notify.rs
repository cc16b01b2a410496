//! The providers that deliver messages (an SMS gateway, a mail server, the
//! bound notification account) implement these traits; the outbox worker
//! (`deliveries`) hands them what use cases queued. With `dev_outbox` the
//! development provider accepts everything and sends nothing: the queued rows
//! are the development outbox. Without it and without a provider, sending
//! fails and use cases that must send now (reset codes) say so first.

use std::sync::Arc;

use crate::deliveries::mask_recipient;
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
    /// Whether a provider is there at all (development included).
    pub configured: bool,
}

impl Senders {
    /// The development provider when `dev_outbox` is on, else none.
    pub fn from_settings(settings: &Settings) -> Senders {
        if settings.dev_outbox {
            let d = Arc::new(Development);
            Senders { sms: d.clone(), mail: d.clone(), bound: d, configured: true }
        } else {
            let n = Arc::new(Unconfigured);
            Senders { sms: n.clone(), mail: n.clone(), bound: n, configured: false }
        }
    }
}

/// Development: accepted, not sent (the outbox row shows what would have gone).
pub struct Development;

#[async_trait::async_trait]
impl SmsSender for Development {
    async fn send_sms(&self, _phone: &str, _text: &str) -> anyhow::Result<()> {
        Ok(())
    }
}

#[async_trait::async_trait]
impl MailSender for Development {
    async fn send_mail(&self, _to: &str, _subject: &str, _body: &str) -> anyhow::Result<()> {
        Ok(())
    }
}

#[async_trait::async_trait]
impl BoundAccountSender for Development {
    async fn send_to_account(&self, _account: &str, _text: &str) -> anyhow::Result<()> {
        Ok(())
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
