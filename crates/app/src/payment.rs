//! The payment-provider protocol: create an order → show its QR code → the
//! provider sends a signed notification when the payer has paid → the
//! signature is verified and the payment confirmed, once, however often the
//! notification repeats.
//!
//! The development provider plays the payment company over the same HTTP
//! protocol (HMAC-SHA256 signatures over the JSON body, in `X-Pay-Signature`).
//! It exists only when `payment.provider = "dev"` is configured.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::settings::Settings;

pub const SIGNATURE_HEADER: &str = "x-pay-signature";
/// Where providers send notifications.
pub const NOTIFY_PATH: &str = "/pay/notify";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub order_no: String,
    pub amount_cents: i64,
    pub subject: String,
    pub notify_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub order_no: String,
    pub amount_cents: i64,
    pub txn_id: String,
    pub paid_at: DateTime<Utc>,
}

#[async_trait::async_trait]
pub trait PaymentProvider: Send + Sync {
    /// Registers the order with the provider; returns what the QR code carries.
    async fn create_order(&self, order: &Order) -> anyhow::Result<String>;
    /// The notification, if its signature is the provider's.
    fn verify_notification(&self, body: &[u8], signature: &str) -> Option<Notification>;
}

pub fn from_settings(s: &Settings) -> anyhow::Result<Option<Arc<dyn PaymentProvider>>> {
    match s.payment.provider.as_str() {
        "" => Ok(None),
        "dev" => Ok(Some(Arc::new(DevProvider::new(s)?))),
        other => anyhow::bail!("payment.provider must be empty or dev, not {other}"),
    }
}

fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn verify(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Ok(sig) = hex::decode(signature.trim()) else { return false };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("any key length");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// The development provider. Its server side (the cashier the QR code opens)
/// is served by this system under /dev/pay when configured.
pub struct DevProvider {
    secret: Vec<u8>,
    base: String,
    http: reqwest::Client,
}

impl DevProvider {
    pub fn new(s: &Settings) -> anyhow::Result<DevProvider> {
        if s.payment.secret.len() < 16 {
            anyhow::bail!("payment.secret must be at least 16 characters for the dev provider");
        }
        let base = if s.payment.url.is_empty() { s.public_url.clone() } else { s.payment.url.clone() };
        Ok(DevProvider {
            secret: s.payment.secret.as_bytes().to_vec(),
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build()?,
        })
    }
}

#[derive(Deserialize)]
struct Created {
    code_url: String,
}

#[async_trait::async_trait]
impl PaymentProvider for DevProvider {
    async fn create_order(&self, order: &Order) -> anyhow::Result<String> {
        let body = serde_json::to_vec(order)?;
        let res = self
            .http
            .post(format!("{}/dev/pay/orders", self.base))
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, sign(&self.secret, &body))
            .body(body)
            .send()
            .await?
            .error_for_status()?;
        let created: Created = serde_json::from_slice(&res.bytes().await?)?;
        Ok(created.code_url)
    }

    fn verify_notification(&self, body: &[u8], signature: &str) -> Option<Notification> {
        if !verify(&self.secret, body, signature) {
            return None;
        }
        serde_json::from_slice(body).ok()
    }
}

/// The payment company's side of the development provider.
pub mod dev {
    use super::*;

    fn secret(s: &Settings) -> Option<&[u8]> {
        (s.payment.provider == "dev").then_some(s.payment.secret.as_bytes())
    }

    /// POST /dev/pay/orders: a signed order in, the cashier's address out.
    pub fn accept_order(s: &Settings, body: &[u8], signature: &str) -> Option<String> {
        let secret = secret(s)?;
        if !verify(secret, body, signature) {
            return None;
        }
        let order: Order = serde_json::from_slice(body).ok()?;
        let json = serde_json::to_vec(&order).ok()?;
        let token = format!("{}.{}", B64URL.encode(&json), sign(secret, &json));
        let base = if s.payment.url.is_empty() { &s.public_url } else { &s.payment.url };
        Some(format!("{}/dev/pay/cashier/{token}", base.trim_end_matches('/')))
    }

    /// The order a cashier address stands for, if the provider made it.
    pub fn order_of(s: &Settings, token: &str) -> Option<Order> {
        let secret = secret(s)?;
        let (data, sig) = token.split_once('.')?;
        let json = B64URL.decode(data).ok()?;
        if !verify(secret, &json, sig) {
            return None;
        }
        serde_json::from_slice(&json).ok()
    }

    /// The payer pays: the provider signs a notification and sends it to the
    /// merchant; returns the merchant's reply.
    pub async fn pay(s: &Settings, token: &str, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<String> {
        let order = order_of(s, token).ok_or_else(|| anyhow::anyhow!("unknown order"))?;
        let secret = secret(s).ok_or_else(|| anyhow::anyhow!("dev provider off"))?;
        let note = Notification {
            txn_id: format!("DEV{}", now.format("%Y%m%d%H%M%S%f")),
            order_no: order.order_no,
            amount_cents: order.amount_cents,
            paid_at: now,
        };
        let body = serde_json::to_vec(&note)?;
        let res = reqwest::Client::new()
            .post(&order.notify_url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, sign(secret, &body))
            .body(body)
            .send()
            .await?;
        let status = res.status();
        let text = res.text().await?;
        anyhow::ensure!(status.is_success(), "merchant answered {status}: {text}");
        Ok(text)
    }

    /// Signs a notification as the provider would (for tests and tools).
    pub fn sign_notification(s: &Settings, n: &Notification) -> (Vec<u8>, String) {
        let body = serde_json::to_vec(n).expect("serializable");
        let sig = sign(s.payment.secret.as_bytes(), &body);
        (body, sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        let mut s = Settings::default();
        s.payment.provider = "dev".into();
        s.payment.secret = "0123456789abcdef0123".into();
        s.public_url = "http://127.0.0.1:1".into();
        s
    }

    #[test]
    fn notifications_verify_only_with_the_secret() {
        let s = settings();
        let p = DevProvider::new(&s).unwrap();
        let paid_at = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        let n = Notification { order_no: "F1".into(), amount_cents: 10_000, txn_id: "T".into(), paid_at };
        let (body, sig) = dev::sign_notification(&s, &n);
        assert_eq!(p.verify_notification(&body, &sig), Some(n));
        let mut forged = body.clone();
        forged[5] ^= 1;
        assert_eq!(p.verify_notification(&forged, &sig), None);
        assert_eq!(p.verify_notification(&body, "00"), None);
    }

    #[test]
    fn cashier_tokens_cannot_be_altered() {
        let s = settings();
        let order = Order {
            order_no: "F2".into(),
            amount_cents: 100,
            subject: "会费".into(),
            notify_url: "http://x/pay/notify".into(),
        };
        let body = serde_json::to_vec(&order).unwrap();
        let url = dev::accept_order(&s, &body, &sign(s.payment.secret.as_bytes(), &body)).unwrap();
        let token = url.rsplit('/').next().unwrap();
        assert_eq!(dev::order_of(&s, token), Some(order));
        assert_eq!(dev::accept_order(&s, &body, "bad"), None);
        let (data, sig) = token.split_once('.').unwrap();
        let cheaper = B64URL.encode(String::from_utf8(B64URL.decode(data).unwrap()).unwrap().replace("100", "1"));
        assert_eq!(dev::order_of(&s, &format!("{cheaper}.{sig}")), None);
    }
}
