//! Image captchas. The answer stays on the server; a captcha expires after
//! five minutes and is deleted when it is checked, right or wrong.

use chrono::{Duration, Utc};
use cmis_store::entity::captcha;
use rand::{Rng, RngCore};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

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

pub async fn issue(app: &App) -> AppResult<Captcha> {
    let text: String = match app.fixed_captcha() {
        Some(fixed) => fixed.to_owned(),
        None => {
            let mut rng = rand::rng();
            (0..4).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())]).collect()
        }
    };
    let mut idb = [0u8; 16];
    rand::rng().fill_bytes(&mut idb);
    let id = hex::encode(idb);
    let drawn = text.clone();
    let image = tokio::task::spawn_blocking(move || {
        captcha_rs::CaptchaBuilder::new()
            .text(drawn)
            .width(120)
            .height(40)
            .complexity(2)
            .compression(60)
            .build()
            .to_base64()
    })
    .await
    .map_err(anyhow::Error::from)?;
    let now = Utc::now();
    // Expired captchas are removed now and then, not on every request.
    if rand::rng().random_ratio(1, 50) {
        captcha::Entity::delete_many().filter(captcha::Column::ExpiresAt.lt(now)).exec(app.db.conn()).await?;
    }
    captcha::ActiveModel { id: Set(id.clone()), answer: Set(text.to_lowercase()), expires_at: Set(now + LIFETIME) }
        .insert(app.db.conn())
        .await?;
    Ok(Captcha { id, image })
}

/// Checks an answer and uses the captcha up, whatever the outcome.
pub async fn check(app: &App, id: &str, answer: &str) -> AppResult<bool> {
    if id.is_empty() {
        return Ok(false);
    }
    let found = captcha::Entity::find_by_id(id.to_owned()).one(app.db.conn()).await?;
    let Some(c) = found else { return Ok(false) };
    let deleted = captcha::Entity::delete_by_id(id.to_owned()).exec(app.db.conn()).await?;
    // Two requests racing with one captcha: only the one that deleted it may pass.
    Ok(deleted.rows_affected == 1 && c.expires_at > Utc::now() && c.answer == answer.trim().to_lowercase())
}
