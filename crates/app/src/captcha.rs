//! Image captchas. The answer never reaches the client in a form it can read:
//! it is sealed (AES-256-GCM, with a key derived from the personal-information
//! key) into the captcha's id together with its expiry, five minutes on. So
//! drawing a captcha writes nothing to the database; checking one writes its
//! id once, right or wrong, and a second check of the same id fails.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::{DateTime, Duration, Utc};
use cmis_store::entity::captcha_use;
use rand::{Rng, RngCore};
use sea_orm::{EntityTrait, Set};

use crate::App;
use crate::error::AppResult;

pub const LIFETIME: Duration = Duration::minutes(5);

pub struct Captcha {
    pub id: String,
    /// `data:image/jpeg;base64,…`, ready for an `<img src>`.
    pub image: String,
}

/// Digits and letters that cannot be mistaken for one another.
const ALPHABET: &[char] = &[
    '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f', 'h', 'k', 'm', 'n', 'p', 'r', 's', 't', 'u',
    'v', 'w', 'x', 'y',
];

fn cipher(app: &App) -> Aes256Gcm {
    Aes256Gcm::new((&app.secrets.captcha).into())
}

/// The id of a captcha with this answer and expiry. `issue` draws its image;
/// tests use this to make one that has already expired.
pub fn seal(app: &App, answer: &str, expires: DateTime<Utc>) -> String {
    let mut nonce = [0u8; 12];
    rand::rng().fill_bytes(&mut nonce);
    let plain = format!("{}:{}", expires.timestamp(), answer.to_lowercase());
    let sealed =
        cipher(app).encrypt(Nonce::from_slice(&nonce), plain.as_bytes()).expect("AES-GCM encryption of a short text");
    let mut out = nonce.to_vec();
    out.extend(sealed);
    B64URL.encode(out)
}

/// (answer, expiry) of a sealed id, if it is one of ours.
fn open(app: &App, id: &str) -> Option<(String, DateTime<Utc>)> {
    let raw = B64URL.decode(id).ok().filter(|r| r.len() > 12 && r.len() < 128)?;
    let plain = cipher(app).decrypt(Nonce::from_slice(&raw[..12]), &raw[12..]).ok()?;
    let (at, answer) = std::str::from_utf8(&plain).ok()?.split_once(':')?;
    Some((answer.to_owned(), DateTime::from_timestamp(at.parse().ok()?, 0)?))
}

pub async fn issue(app: &App) -> AppResult<Captcha> {
    let text: String = match app.fixed_captcha() {
        Some(fixed) => fixed.to_owned(),
        None => {
            let mut rng = rand::rng();
            (0..4).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())]).collect()
        }
    };
    let id = seal(app, &text, app.now() + LIFETIME);
    let image = tokio::task::spawn_blocking(move || {
        captcha_rs::CaptchaBuilder::new()
            .text(text)
            .width(120)
            .height(40)
            .complexity(2)
            .compression(60)
            .build()
            .to_base64()
    })
    .await
    .map_err(anyhow::Error::from)?;
    Ok(Captcha { id, image })
}

/// Checks an answer and uses the captcha up, whatever the outcome.
pub async fn check(app: &App, id: &str, answer: &str) -> AppResult<bool> {
    let Some((expected, expires)) = open(app, id.trim()) else { return Ok(false) };
    if expires <= app.now() {
        return Ok(false);
    }
    // Two requests racing with one captcha: only the one whose row went in may pass.
    let used = captcha_use::ActiveModel { id: Set(id.trim().to_owned()), expires_at: Set(expires) };
    match captcha_use::Entity::insert(used).exec_without_returning(app.db.conn()).await {
        Ok(_) => {}
        Err(e) if cmis_store::db::is_unique_violation(&e) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    Ok(expected == answer.trim().to_lowercase())
}
