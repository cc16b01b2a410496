//! Bearer tokens of the JSON API. A token is 32 random bytes given to the
//! client once; the database keeps only a keyed hash of it, in a table of its
//! own, so that no other kind of row (a page session, a password-recovery
//! proof) can ever pass for one. A new password ends every token.

use chrono::Duration;
use cmis_store::entity::api_token;
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::error::{AppError, AppResult};
use crate::keys::Secrets;
use crate::{Actor, App, auth};

pub const TOKEN_HOURS: i64 = 12;

/// A token as its holder presented it: the actor, and the row to end at logout.
pub struct Authenticated {
    pub actor: Actor,
    id: String,
}

fn token_id(app: &App, token: &str) -> String {
    Secrets::mac(&app.secrets.token, &[b"api", token.trim().as_bytes()])
}

/// A new token for an actor who has just logged in.
pub async fn issue(app: &App, actor: &Actor) -> AppResult<String> {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let token = hex::encode(raw);
    let now = app.now();
    api_token::ActiveModel {
        id: Set(token_id(app, &token)),
        user_id: Set(actor.user_id),
        credential: Set(actor.credential.clone()),
        created_at: Set(now),
        expires_at: Set(now + Duration::hours(TOKEN_HOURS)),
    }
    .insert(app.db.conn())
    .await?;
    Ok(token)
}

/// The actor of a token that exists, has not expired, and whose account is
/// enabled and has the password the token was issued with.
pub async fn authenticate(app: &App, token: &str) -> AppResult<Authenticated> {
    let id = token_id(app, token);
    let row = api_token::Entity::find_by_id(id.clone())
        .filter(api_token::Column::ExpiresAt.gt(app.now()))
        .one(app.db.conn())
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let actor = auth::still_current(app, row.user_id, &row.credential).await?.ok_or(AppError::Unauthenticated)?;
    Ok(Authenticated { actor, id })
}

/// Ends the token that was presented (logout).
pub async fn revoke(app: &App, a: &Authenticated) -> AppResult<()> {
    api_token::Entity::delete_by_id(a.id.clone()).exec(app.db.conn()).await?;
    Ok(())
}
