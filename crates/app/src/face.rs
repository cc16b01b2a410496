//! The face-verification protocol (人脸认证, seed 001 §2.1.6, §2.2.4), in the
//! shape such providers share (e.g. Tencent Cloud's 人脸核身 SaaS flow):
//!
//! 1. `start`: the system asks the provider to check a named person against
//!    their ID, with an address to send the person back to, an address for
//!    the notification and an opaque field of its own; the provider answers
//!    a token (BizToken) and a hand-off address, which a QR code or a
//!    redirect opens on the phone.
//! 2. The person does the liveness check and the comparison with the ID
//!    photo on the provider's pages, and is sent back.
//! 3. The provider pushes a signed notification with the result; it may be
//!    lost, so the system also asks for the result with the token (`result`),
//!    which stays available for days.
//!
//! The result: a final code (0 = passed), the liveness and comparison codes
//! with their messages, the similarity (0–100) and, from some providers, the
//! best frame. Requests, answers and notifications are signed with
//! HMAC-SHA256 over the body (`X-Face-Signature`).
//!
//! The development provider plays the verification company over the same
//! HTTP protocol; it exists only when `face.provider = "dev"`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::settings::Settings;

pub const SIGNATURE_HEADER: &str = "x-face-signature";
/// Where providers send notifications.
pub const NOTIFY_PATH: &str = "/api/v1/face/notify";
/// How old a notification may be: an older one is a replay.
pub const NOTICE_MAX_AGE_SECONDS: i64 = 300;

/// What the system asks the provider to check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartRequest {
    pub name: String,
    /// resident or residence_permit.
    pub id_type: String,
    pub id_number: String,
    /// Where the person's phone is sent when the check ends.
    pub return_url: String,
    pub notify_url: String,
    /// The system's own reference, returned in the notification.
    pub extra: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    pub biz_token: String,
    /// The provider's page for the person (the QR code opens it).
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaceResult {
    /// 0: passed.
    pub code: i32,
    pub liveness_code: i32,
    pub liveness_msg: String,
    pub compare_code: i32,
    pub compare_msg: String,
    /// 0–100.
    pub similarity: f64,
    /// Base64 of a JPEG, when the provider returns one.
    #[serde(default)]
    pub best_frame: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Unique per notification: a second one with the same id is a replay.
    pub notice_id: String,
    pub biz_token: String,
    pub extra: String,
    pub sent_at: DateTime<Utc>,
    pub result: FaceResult,
}

/// What a result query answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultAnswer {
    /// waiting (the person has not finished) or done.
    pub state: String,
    pub result: Option<FaceResult>,
}

#[async_trait::async_trait]
pub trait FaceProvider: Send + Sync {
    /// The name its notifications are kept under.
    fn name(&self) -> &'static str;
    async fn start(&self, req: &StartRequest) -> anyhow::Result<Started>;
    /// The result, or None while the person has not finished.
    async fn result(&self, biz_token: &str) -> anyhow::Result<Option<FaceResult>>;
    /// The notification, if its signature is the provider's.
    fn verify_notification(&self, body: &[u8], signature: &str) -> Option<Notification>;
}

pub fn from_settings(s: &Settings) -> anyhow::Result<Option<Arc<dyn FaceProvider>>> {
    match s.face.provider.as_str() {
        "" => Ok(None),
        "dev" => Ok(Some(Arc::new(DevProvider::new(s)?))),
        other => anyhow::bail!("face.provider must be empty or dev, not {other}"),
    }
}

pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

pub fn verify(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Ok(sig) = hex::decode(signature.trim()) else { return false };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("any key length");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// The development provider's client side. Its server side (the API and
/// the page the phone opens) is served by this system under /dev/face.
pub struct DevProvider {
    secret: Vec<u8>,
    base: String,
    http: reqwest::Client,
}

impl DevProvider {
    pub fn new(s: &Settings) -> anyhow::Result<DevProvider> {
        if s.face.secret.len() < 16 {
            anyhow::bail!("face.secret must be at least 16 characters for the dev provider");
        }
        let base = if s.face.url.is_empty() { s.public_url.clone() } else { s.face.url.clone() };
        Ok(DevProvider {
            secret: s.face.secret.as_bytes().to_vec(),
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build()?,
        })
    }

    /// A signed POST whose answer must be signed too.
    async fn call<T: serde::de::DeserializeOwned>(&self, path: &str, body: Vec<u8>) -> anyhow::Result<T> {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, sign(&self.secret, &body))
            .body(body)
            .send()
            .await?
            .error_for_status()?;
        let signature =
            res.headers().get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let bytes = res.bytes().await?;
        anyhow::ensure!(verify(&self.secret, &bytes, &signature), "the face provider's answer is not signed");
        Ok(serde_json::from_slice(&bytes)?)
    }
}

#[derive(Serialize)]
struct Token<'a> {
    biz_token: &'a str,
}

#[async_trait::async_trait]
impl FaceProvider for DevProvider {
    fn name(&self) -> &'static str {
        "dev"
    }

    async fn start(&self, req: &StartRequest) -> anyhow::Result<Started> {
        self.call("/dev/face/api/start", serde_json::to_vec(req)?).await
    }

    async fn result(&self, biz_token: &str) -> anyhow::Result<Option<FaceResult>> {
        let a: ResultAnswer = self.call("/dev/face/api/result", serde_json::to_vec(&Token { biz_token })?).await?;
        Ok(if a.state == "done" { a.result } else { None })
    }

    fn verify_notification(&self, body: &[u8], signature: &str) -> Option<Notification> {
        if !verify(&self.secret, body, signature) {
            return None;
        }
        serde_json::from_slice(body).ok()
    }
}

/// The verification company's side of the development provider: its API
/// (start a check, answer its result) and what its phone page does. Its
/// records are kept in `dev_face_checks`, so that any instance serves them.
pub mod dev {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    use chrono::{DateTime, Utc};
    use cmis_domain::mask;
    use cmis_store::entity::dev_face_check as row;
    use rand::RngCore;
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};

    use super::*;
    use crate::App;
    use crate::error::{AppError, AppResult};

    fn secret(app: &App) -> AppResult<&[u8]> {
        if app.settings.face.provider == "dev" {
            Ok(app.settings.face.secret.as_bytes())
        } else {
            Err(AppError::NotFound("人脸认证服务"))
        }
    }

    /// A signed answer: its body and signature.
    pub type Signed = (Vec<u8>, String);

    fn signed(app: &App, value: &impl Serialize) -> AppResult<Signed> {
        let body = serde_json::to_vec(value).map_err(anyhow::Error::from)?;
        let sig = sign(secret(app)?, &body);
        Ok((body, sig))
    }

    fn checked<T: serde::de::DeserializeOwned>(app: &App, body: &[u8], signature: &str) -> AppResult<T> {
        if !verify(secret(app)?, body, signature) {
            return Err(AppError::Unauthenticated);
        }
        serde_json::from_slice(body).map_err(|_| AppError::Refused("bad request".into()))
    }

    /// POST /dev/face/api/start.
    pub async fn start(app: &App, body: &[u8], signature: &str) -> AppResult<Signed> {
        let req: StartRequest = checked(app, body, signature)?;
        let mut rnd = [0u8; 24];
        rand::rng().fill_bytes(&mut rnd);
        let biz_token = B64URL.encode(rnd);
        row::ActiveModel {
            biz_token: Set(biz_token.clone()),
            name: Set(mask::name(&req.name)),
            id_masked: Set(mask::id_number(&req.id_number)),
            return_url: Set(req.return_url),
            notify_url: Set(req.notify_url),
            extra: Set(req.extra),
            state: Set("waiting".into()),
            result: Set(None),
            created_at: Set(app.now()),
        }
        .insert(app.db.conn())
        .await?;
        let base = if app.settings.face.url.is_empty() { &app.settings.public_url } else { &app.settings.face.url };
        let url = format!("{}/dev/face/h5/{biz_token}", base.trim_end_matches('/'));
        signed(app, &Started { biz_token, url })
    }

    /// POST /dev/face/api/result.
    pub async fn result(app: &App, body: &[u8], signature: &str) -> AppResult<Signed> {
        #[derive(Deserialize)]
        struct Ask {
            biz_token: String,
        }
        let ask: Ask = checked(app, body, signature)?;
        let r =
            row::Entity::find_by_id(ask.biz_token).one(app.db.conn()).await?.ok_or(AppError::NotFound("人脸认证"))?;
        let result: Option<FaceResult> = r.result.as_deref().and_then(|j| serde_json::from_str(j).ok());
        let state = if result.is_some() { "done" } else { "waiting" };
        signed(app, &ResultAnswer { state: state.into(), result })
    }

    /// The check the phone page shows.
    pub async fn check(app: &App, biz_token: &str) -> AppResult<row::Model> {
        secret(app)?;
        row::Entity::find_by_id(biz_token.to_owned()).one(app.db.conn()).await?.ok_or(AppError::NotFound("人脸认证"))
    }

    /// The development provider's "best frame": the start of a JPEG (it is
    /// only kept, encrypted, never shown).
    const FRAME: &[u8] =
        &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xFF, 0xD9];

    /// What the person does on the provider's page.
    #[derive(Debug, Clone, Copy)]
    pub struct Outcome {
        pub pass: bool,
        /// Send the notification (off: it is "lost", and the system must ask).
        pub notify: bool,
        /// Return a best frame with the result.
        pub frame: bool,
    }

    /// The check ends: the result is kept, the notification sent (unless
    /// lost), and the phone goes back to the system's page.
    pub async fn finish(app: &App, biz_token: &str, o: Outcome, now: DateTime<Utc>) -> AppResult<String> {
        let r = check(app, biz_token).await?;
        if r.state != "waiting" {
            return Ok(r.return_url);
        }
        let result = if o.pass {
            FaceResult {
                code: 0,
                liveness_code: 0,
                liveness_msg: "活体检测通过".into(),
                compare_code: 0,
                compare_msg: "比对成功".into(),
                similarity: 92.37,
                best_frame: o.frame.then(|| base64::engine::general_purpose::STANDARD.encode(FRAME)),
            }
        } else {
            FaceResult {
                code: 1001,
                liveness_code: 0,
                liveness_msg: "活体检测通过".into(),
                compare_code: 1001,
                compare_msg: "比对相似度未达到通过标准".into(),
                similarity: 41.2,
                best_frame: None,
            }
        };
        row::ActiveModel {
            biz_token: Set(r.biz_token.clone()),
            state: Set(if o.pass { "passed" } else { "failed" }.into()),
            result: Set(Some(serde_json::to_string(&result).map_err(anyhow::Error::from)?)),
            ..Default::default()
        }
        .update(app.db.conn())
        .await?;
        if o.notify {
            let mut id = [0u8; 12];
            rand::rng().fill_bytes(&mut id);
            let n = Notification {
                notice_id: hex::encode(id),
                biz_token: r.biz_token,
                extra: r.extra,
                sent_at: now,
                result,
            };
            let (body, sig) = signed(app, &n)?;
            let sent = reqwest::Client::new()
                .post(&r.notify_url)
                .timeout(std::time::Duration::from_secs(10))
                .header("content-type", "application/json")
                .header(SIGNATURE_HEADER, sig)
                .body(body)
                .send()
                .await;
            if let Err(e) = sent {
                // A provider retries later; the system asks for the result meanwhile.
                tracing::warn!(error = %e, "dev face provider: notification not delivered");
            }
        }
        Ok(r.return_url)
    }

    /// Signs a notification as the provider would (tests and tools).
    pub fn sign_notification(app: &App, n: &Notification) -> AppResult<Signed> {
        signed(app, n)
    }
}
