//! Removing what has expired: sessions, API tokens, password recoveries,
//! used captchas, reset codes, throttle counters, and finished jobs with
//! their files; and making final the 年检不予通过 decisions whose period ran
//! out; asking the face provider about checks nobody finished, and deleting
//! best frames of years whose check has ended; and crediting the day's
//! learning hours, once a day. `cmis serve` runs it every ten
//! minutes; any instance may, at any time.

use chrono::Duration;
use cmis_store::entity::{api_token, captcha_use, recovery_proof, reset_code, session};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{App, jobs, throttle};

/// Deletes every expired row; returns how many went.
pub async fn sweep(app: &App) -> anyhow::Result<u64> {
    let db = app.db.conn();
    let now = app.now();
    let mut n = 0;
    n += session::Entity::delete_many().filter(session::Column::ExpiresAt.lt(now)).exec(db).await?.rows_affected;
    n += api_token::Entity::delete_many().filter(api_token::Column::ExpiresAt.lt(now)).exec(db).await?.rows_affected;
    n += recovery_proof::Entity::delete_many()
        .filter(recovery_proof::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?
        .rows_affected;
    n +=
        captcha_use::Entity::delete_many().filter(captcha_use::Column::ExpiresAt.lt(now)).exec(db).await?.rows_affected;
    n += reset_code::Entity::delete_many()
        .filter(reset_code::Column::ExpiresAt.lt(now - Duration::days(1)))
        .exec(db)
        .await?
        .rows_affected;
    n += throttle::sweep(db, now).await?;
    n += jobs::sweep(app).await?;
    n += crate::member_inspection::review::finalise_due(app).await?;
    n += crate::cpa_check::face::sweep(app).await?;
    n += crate::learning::credit::run_due(app).await?;
    n += cmis_store::entity::provider_notice::Entity::delete_many()
        .filter(cmis_store::entity::provider_notice::Column::ReceivedAt.lt(now - Duration::days(7)))
        .exec(db)
        .await?
        .rows_affected;
    Ok(n)
}
