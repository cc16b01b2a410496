//! 人脸认证 of the CPA's first submission of a year (seed 001 §2.1.6–2.1.8,
//! §2.2.4–2.2.7), our side of the provider protocol (`crate::face`).
//!
//! 确认申请 starts a check: one of the CPA's 20 a day is counted (one atomic
//! statement; the 21st is refused, and a check the provider could not start
//! is given back), the provider is asked to start it, and the CPA gets the
//! address of the page that begins it: opened on the phone, or shown on PC as
//! a QR code to scan. That address carries an unguessable token (only its
//! keyed hash is stored) and expires. The phone ticks the agreement, reads
//! the 注意事项, and goes to the provider.
//!
//! The result arrives by the provider's signed notification, or by asking
//! the provider when the phone comes back, when the PC page looks, or when
//! the sweep finds a check nobody finished. Whichever comes first finishes
//! the check, once: a pass submits the application to the firm in the same
//! transaction; a failure sends the CPA back to 确认申请.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use chrono::{DateTime, Duration, Utc};
use cmis_domain::cpa_check::{FACE_CHECKS_A_DAY, FaceVerdict, IdentityCheck, face_supported, verdict};
use cmis_domain::throttle::ThrottleRule;
use cmis_domain::{UserType, mask};
use cmis_store::entity::{cpa, face_check as row, provider_notice, user};
use object_store::PutPayload;
use object_store::path::Path as StorePath;
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::Serialize;
use serde_json::json;

use super::{Overview, own_cpa, settings, submit_in};
use crate::error::{AppError, AppResult};
use crate::face::{FaceResult, NOTICE_MAX_AGE_SECONDS, NOTIFY_PATH, StartRequest};
use crate::keys::Secrets;
use crate::{Actor, App, audit, auth, throttle};

/// How long a started check may be finished.
pub const VALID_MINUTES: i64 = 30;
/// How often the provider is asked about one check, at most.
const QUERY_GAP_SECONDS: i64 = 3;
/// The largest best frame kept.
const MAX_FRAME: usize = 2 * 1024 * 1024;

const PER_DAY: ThrottleRule = ThrottleRule {
    max_failures: FACE_CHECKS_A_DAY,
    window: Duration::hours(48),
    lockout: Duration::hours(48),
    sliding: false,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Channel {
    /// The phone itself goes on to the check.
    Phone,
    /// A QR code on the PC, scanned by a phone.
    Pc,
}

impl Channel {
    pub fn code(self) -> &'static str {
        match self {
            Channel::Phone => "phone",
            Channel::Pc => "pc",
        }
    }
}

/// A check started: where the phone begins it.
#[derive(Debug, Clone, Serialize)]
pub struct Started {
    pub id: i32,
    pub token: String,
    /// The phone page (the QR code's content).
    pub url: String,
    pub expires_at: DateTime<Utc>,
    pub left: u32,
}

fn key_of(cpa_id: i32, day: chrono::NaiveDate) -> String {
    format!("face:{cpa_id}:{day}")
}

fn digest(app: &App, token: &str) -> String {
    Secrets::mac(&app.secrets.token, &[b"face", token.as_bytes()])
}

fn public(app: &App) -> String {
    app.settings.public_url.trim_end_matches('/').to_owned()
}

/// The phone page of a check.
pub fn page_url(app: &App, token: &str) -> String {
    format!("{}/face/{token}", public(app))
}

/// Face checks the CPA may still start today.
pub async fn left_today(app: &App, cpa_id: i32) -> AppResult<u32> {
    let used = cmis_store::entity::throttle::Entity::find_by_id(key_of(cpa_id, app.today()))
        .one(app.db.conn())
        .await?
        .map_or(0, |r| r.failures.max(0) as u32);
    Ok(FACE_CHECKS_A_DAY.saturating_sub(used))
}

/// Starts a check for the application `o` describes.
pub(crate) async fn start(app: &App, actor: &Actor, o: &Overview, channel: Channel) -> AppResult<Started> {
    let provider = app.faces.clone().ok_or_else(|| {
        AppError::Refused("本系统暂未开通线上人脸认证，请携带有效身份证件到当地注协进行线下人工核验".into())
    })?;
    if !o.id_type.is_some_and(face_supported) {
        return Err(AppError::Refused(
            "人脸认证支持的身份证件类型为居民身份证和港澳台居民居住证，请携带有效身份证件到当地注协进行线下人工核验"
                .into(),
        ));
    }
    let c = own_cpa(app, actor).await?;
    let now = app.now();
    let day = app.today();
    let key = key_of(c.id, day);
    // The count and the check in one write: each synced commit costs.
    let tx = app.write().await?;
    let hit = throttle::attempt(&tx, &key, PER_DAY, now).await?;
    if !hit.allowed(&PER_DAY) {
        tx.commit().await?;
        return Err(AppError::Refused(format!(
            "今日人脸认证次数已用完（每天{FACE_CHECKS_A_DAY}次），请明天再进行人脸认证"
        )));
    }
    let mut rnd = [0u8; 32];
    rand::rng().fill_bytes(&mut rnd);
    let token = B64URL.encode(rnd);
    let expires_at = now + Duration::minutes(VALID_MINUTES);
    let m = row::ActiveModel {
        token_digest: Set(digest(app, &token)),
        token_enc: Set(app.pii.encrypt(&token)),
        cpa_id: Set(c.id),
        year: Set(o.year),
        channel: Set(channel.code().into()),
        state: Set("started".into()),
        retired: Set(o.retired),
        day: Set(day),
        created_at: Set(now),
        expires_at: Set(expires_at),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    tx.commit().await?;
    let id_number = app.pii.decrypt(&c.id_number_enc)?;
    let req = StartRequest {
        name: c.name.clone(),
        id_type: c.id_type.clone(),
        id_number,
        return_url: format!("{}/back", page_url(app, &token)),
        notify_url: format!("{}{NOTIFY_PATH}", public(app)),
        extra: m.id.to_string(),
    };
    let started = match provider.start(&req).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "starting a face check");
            let tx = app.write().await?;
            throttle::give_back(&tx, &key, PER_DAY).await?;
            row::ActiveModel {
                id: Set(m.id),
                state: Set("failed".into()),
                message: Set(Some("人脸认证服务暂时不可用".into())),
                finished_at: Set(Some(now)),
                ..Default::default()
            }
            .update(&tx)
            .await?;
            tx.commit().await?;
            return Err(AppError::Refused("人脸认证服务暂时不可用，请稍后再试".into()));
        }
    };
    let tx = app.write().await?;
    row::ActiveModel {
        id: Set(m.id),
        provider_token: Set(Some(started.biz_token.clone())),
        handoff_url: Set(Some(started.url.clone())),
        ..Default::default()
    }
    .update(&tx)
    .await?;
    audit::append(
        &tx,
        &actor.audit_name(),
        "face_check_started",
        &format!("face_check:{}", m.id),
        json!({ "channel": channel.code(), "count": hit.count }),
    )
    .await?;
    tx.commit().await?;
    Ok(Started { id: m.id, url: page_url(app, &token), token, expires_at, left: FACE_CHECKS_A_DAY - hit.count })
}

/// Where a check stands, as the PC page and the phone show it.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub id: i32,
    /// started, passed, failed or expired.
    pub state: String,
    pub message: Option<String>,
    /// The application a pass submitted.
    pub case_id: Option<i32>,
    pub year: i32,
    pub success_notice: String,
    pub expires_at: DateTime<Utc>,
}

impl Status {
    pub fn finished(&self) -> bool {
        self.state != "started"
    }
}

async fn status_of(app: &App, r: &row::Model) -> AppResult<Status> {
    let c = cpa::Entity::find_by_id(r.cpa_id).one(app.db.conn()).await?.ok_or(AppError::NotFound("注册会计师"))?;
    Ok(Status {
        id: r.id,
        state: r.state.clone(),
        message: r.message.clone(),
        case_id: r.case_id,
        year: r.year,
        success_notice: settings::effective(app, c.association_id, r.year).await?.success_notice,
        expires_at: r.expires_at,
    })
}

/// The PC page looks (every few seconds): the provider is asked when the
/// notification is late.
pub async fn status(app: &App, actor: &Actor, id: i32) -> AppResult<Status> {
    let c = own_cpa(app, actor).await?;
    let r = row::Entity::find_by_id(id)
        .one(app.db.conn())
        .await?
        .filter(|r| r.cpa_id == c.id)
        .ok_or(AppError::NotFound("人脸认证"))?;
    let r = catch_up(app, r).await?;
    status_of(app, &r).await
}

/// The PC page of one of the CPA's checks: where it stands, and the address
/// its QR code carries.
pub async fn pc_view(app: &App, actor: &Actor, id: i32) -> AppResult<(Status, String)> {
    let st = status(app, actor, id).await?;
    let r = row::Entity::find_by_id(id).one(app.db.conn()).await?.ok_or(AppError::NotFound("人脸认证"))?;
    let token = app.pii.decrypt(&r.token_enc)?;
    Ok((st, page_url(app, &token)))
}

/// A check by the token of its phone page (no login: the phone that scanned
/// the PC's code may be anyone's until it shows its face).
pub async fn by_token(app: &App, token: &str) -> AppResult<row::Model> {
    if token.len() > 64 {
        return Err(AppError::NotFound("人脸认证"));
    }
    row::Entity::find()
        .filter(row::Column::TokenDigest.eq(digest(app, token)))
        .one(app.db.conn())
        .await?
        .ok_or(AppError::NotFound("人脸认证"))
}

/// Whether a check is the one of the CPA logged in as `user_id` (the phone
/// that comes back may go on to the success page only then).
pub async fn belongs_to(app: &App, token: &str, user_id: i32) -> AppResult<bool> {
    let r = by_token(app, token).await?;
    Ok(user::Entity::find_by_id(user_id).one(app.db.conn()).await?.is_some_and(|u| u.cpa_id == Some(r.cpa_id)))
}

/// What the phone page shows before the provider's: the name masked, and
/// whether the check may still begin.
#[derive(Debug, Clone, Serialize)]
pub struct PhoneView {
    pub name: String,
    pub year: i32,
    pub state: String,
    pub expired: bool,
}

pub async fn phone_view(app: &App, token: &str) -> AppResult<PhoneView> {
    let r = by_token(app, token).await?;
    let c = cpa::Entity::find_by_id(r.cpa_id).one(app.db.conn()).await?.ok_or(AppError::NotFound("人脸认证"))?;
    Ok(PhoneView { name: mask::name(&c.name), year: r.year, expired: r.expires_at <= app.now(), state: r.state })
}

/// 同意并继续 → the 注意事项 → 开始认证: the provider's page for the check.
pub async fn handoff(app: &App, token: &str) -> AppResult<String> {
    let r = by_token(app, token).await?;
    if r.state != "started" {
        return Err(AppError::Refused("该人脸认证已结束，请返回确认申请页面".into()));
    }
    if r.expires_at <= app.now() {
        return Err(AppError::Refused("该人脸认证二维码已过期，请重新确认申请".into()));
    }
    r.handoff_url.ok_or(AppError::NotFound("人脸认证"))
}

/// The phone is back from the provider: the result is asked for at once.
pub async fn back(app: &App, token: &str) -> AppResult<Status> {
    let r = by_token(app, token).await?;
    // The first return asks the provider at once (`catch_up` asks a check
    // never asked); a page reloaded asks no more often than the PC's look.
    let r = catch_up(app, r).await?;
    status_of(app, &r).await
}

/// Asks the provider for the result of a check still open (not more often
/// than every few seconds), and finishes it when there is one; an open check
/// past its time is expired.
async fn catch_up(app: &App, r: row::Model) -> AppResult<row::Model> {
    if r.state != "started" {
        return Ok(r);
    }
    let now = app.now();
    // The notification comes within a second or two: the provider is asked
    // only when it is late, and then not more often than every few seconds.
    let due = r.queried_at.is_none_or(|q| now - q >= Duration::seconds(QUERY_GAP_SECONDS))
        && (r.queried_at.is_none() || now - r.created_at >= Duration::seconds(QUERY_GAP_SECONDS));
    if let (true, Some(provider), Some(biz)) = (due, app.faces.clone(), r.provider_token.clone()) {
        row::ActiveModel { id: Set(r.id), queried_at: Set(Some(now)), ..Default::default() }
            .update(app.db.conn())
            .await?;
        match provider.result(&biz).await {
            Ok(Some(result)) => {
                finish(app, r.id, &result).await?;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, check = r.id, "asking the face provider for a result"),
        }
    }
    let r = row::Entity::find_by_id(r.id).one(app.db.conn()).await?.ok_or(AppError::NotFound("人脸认证"))?;
    if r.state == "started" && r.expires_at <= now {
        let expired = row::Entity::update_many()
            .col_expr(row::Column::State, "expired".into())
            .col_expr(row::Column::FinishedAt, Some(now).into())
            .col_expr(row::Column::Message, Some("人脸认证已超时，请重新确认申请".to_owned()).into())
            .filter(row::Column::Id.eq(r.id))
            .filter(row::Column::State.eq("started"))
            .exec(app.db.conn())
            .await?;
        if expired.rows_affected > 0 {
            return row::Entity::find_by_id(r.id).one(app.db.conn()).await?.ok_or(AppError::NotFound("人脸认证"));
        }
    }
    Ok(r)
}

/// How a provider's notification was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noticed {
    /// Acted on (or the check had finished already: nothing to do).
    Taken,
    /// This notification's id was taken before: ignored.
    Replayed,
}

/// The provider's notification (`POST /face/notify`): refused unless signed
/// by the provider and recent; taken once by its id; then it finishes the
/// check it names, unless the check already finished.
pub async fn notified(app: &App, body: &[u8], signature: &str) -> AppResult<Noticed> {
    let provider = app.faces.clone().ok_or(AppError::NotFound("人脸认证"))?;
    let n = provider.verify_notification(body, signature).ok_or(AppError::Unauthenticated)?;
    let now = app.now();
    if (now - n.sent_at).num_seconds().abs() > NOTICE_MAX_AGE_SECONDS {
        return Err(AppError::Refused("notification too old".into()));
    }
    let r = row::Entity::find()
        .filter(row::Column::ProviderToken.eq(n.biz_token.as_str()))
        .one(app.db.conn())
        .await?
        .filter(|r| r.id.to_string() == n.extra)
        .ok_or(AppError::NotFound("人脸认证"))?;
    let notice = (provider.name(), n.notice_id.chars().take(100).collect::<String>());
    if provider_notice::Entity::find()
        .filter(provider_notice::Column::Provider.eq(notice.0))
        .filter(provider_notice::Column::NoticeId.eq(&notice.1))
        .one(app.db.conn())
        .await?
        .is_some()
    {
        return Ok(Noticed::Replayed);
    }
    match finish_noticed(app, r.id, &n.result, Some(notice)).await {
        Err(AppError::Internal(e))
            if e.downcast_ref::<sea_orm::DbErr>().is_some_and(cmis_store::db::is_unique_violation) =>
        {
            Ok(Noticed::Replayed)
        }
        Err(e) => Err(e),
        Ok(()) => Ok(Noticed::Taken),
    }
}

/// Records a result, once: the first to arrive finishes the check; a pass
/// submits the application in the same transaction. A pass whose submission
/// is refused now (applied meanwhile, the window closed) is kept with why.
pub(crate) async fn finish(app: &App, id: i32, result: &FaceResult) -> AppResult<()> {
    finish_noticed(app, id, result, None).await
}

/// `finish`, taking the notification's id in the same transaction: a replay
/// of it is refused by the unique index, and nothing is done twice.
async fn finish_noticed(app: &App, id: i32, result: &FaceResult, notice: Option<(&str, String)>) -> AppResult<()> {
    let frame = match &result.best_frame {
        Some(b64) if b64.len() <= MAX_FRAME * 4 / 3 + 4 => B64.decode(b64.trim()).ok(),
        _ => None,
    };
    let r = row::Entity::find_by_id(id).one(app.db.conn()).await?.ok_or(AppError::NotFound("人脸认证"))?;
    if r.state != "started" {
        return Ok(());
    }
    let passed = verdict(result.code) == FaceVerdict::Passed;
    let account = user::Entity::find()
        .filter(user::Column::CpaId.eq(r.cpa_id))
        .one(app.db.conn())
        .await?
        .ok_or(AppError::NotFound("注册会计师"))?;
    // A CPA whose registration the regulator cancelled meanwhile has no
    // actor any more: the result is kept, nothing is submitted.
    let actor = auth::actor_for(app, account.id).await?;
    // Whether the application can go in now, asked before the write: a
    // refusal is kept on the check, and the pass is not lost with it.
    let ready = match (&actor, passed) {
        (Some(a), true) => Some(super::precheck(app, a, r.year, r.retired).await),
        (None, true) => Some(Err(AppError::Refused("注册已注销".into()))),
        (_, false) => None,
    };
    let (overview, refusal) = match ready {
        None => (None, None),
        Some(Ok(o)) => (Some(o), None),
        Some(Err(AppError::Refused(why))) => (None, Some(why)),
        Some(Err(AppError::Invalid(errors))) => {
            (None, Some(errors.0.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>().join("；")))
        }
        Some(Err(e)) => return Err(e),
    };
    let who = format!("{}:{}", UserType::Cpa.code(), account.login_name);
    let frame_key = match frame {
        Some(bytes) if passed => {
            let mut rnd = [0u8; 16];
            rand::rng().fill_bytes(&mut rnd);
            let key = format!("face_frames/{}/{}", r.year, hex::encode(rnd));
            let sealed = app.pii.encrypt(&B64.encode(&bytes));
            app.files
                .put(&StorePath::from(key.as_str()), PutPayload::from(sealed.into_bytes()))
                .await
                .map_err(anyhow::Error::from)?;
            Some(key)
        }
        _ => None,
    };
    let tx = app.write().await?;
    if let Some((provider, notice_id)) = notice {
        provider_notice::ActiveModel {
            provider: Set(provider.to_owned()),
            notice_id: Set(notice_id),
            received_at: Set(tx.now()),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
    }
    let r = row::Entity::find_by_id(id).lock_exclusive().one(&tx).await?.ok_or(AppError::NotFound("人脸认证"))?;
    if r.state != "started" {
        tx.commit().await?;
        if let Some(key) = frame_key {
            let _ = app.files.delete(&StorePath::from(key.as_str())).await;
        }
        return Ok(());
    }
    let (case_id, message) = match (passed, overview, refusal) {
        (true, Some(o), _) => {
            let actor = actor.as_ref().ok_or(AppError::Forbidden)?;
            let done = submit_in(app, &tx, actor, &o, Some(IdentityCheck::Face), Some(r.id)).await?;
            (Some(done.id), "人脸认证通过".to_owned())
        }
        (true, None, why) => (None, format!("人脸认证通过，但申请未能提交：{}", why.unwrap_or_default())),
        (false, _, _) => {
            let why = [&result.liveness_msg, &result.compare_msg]
                .into_iter()
                .filter(|m| !m.trim().is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join("；");
            (None, if why.is_empty() { "人脸识别未通过".into() } else { format!("人脸识别未通过：{why}") })
        }
    };
    row::ActiveModel {
        id: Set(r.id),
        state: Set(if passed { "passed" } else { "failed" }.into()),
        finished_at: Set(Some(tx.now())),
        result_code: Set(Some(result.code)),
        liveness_code: Set(Some(result.liveness_code)),
        compare_code: Set(Some(result.compare_code)),
        message: Set(Some(message.chars().take(300).collect())),
        similarity_x100: Set(Some((result.similarity.clamp(0.0, 100.0) * 100.0).round() as i32)),
        frame_key: Set(frame_key),
        case_id: Set(case_id),
        ..Default::default()
    }
    .update(&tx)
    .await?;
    audit::append(
        &tx,
        &who,
        if passed { "face_check_passed" } else { "face_check_failed" },
        &format!("face_check:{}", r.id),
        json!({ "code": result.code, "similarity": result.similarity, "case": case_id }),
    )
    .await?;
    tx.commit().await?;
    app.wake_deliveries();
    Ok(())
}

/// A passed check as the reviewers read it.
pub(crate) async fn describe<C: ConnectionTrait>(db: &C, id: i32) -> AppResult<String> {
    let Some(r) = row::Entity::find_by_id(id).one(db).await? else { return Ok("人脸认证".into()) };
    let at = r
        .finished_at
        .map(|t| t.with_timezone(&crate::clock::cst()).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default();
    Ok(match r.similarity_x100 {
        Some(s) => format!("人脸认证通过（{at}，相似度{}.{:02}）", s / 100, s % 100),
        None => format!("人脸认证通过（{at}）"),
    })
}

/// The housekeeping round: checks nobody finished are asked about (a lost
/// notification, a phone that never came back) and expired; best frames of
/// years whose check has ended are deleted.
pub async fn sweep(app: &App) -> anyhow::Result<u64> {
    let now = app.now();
    let open = row::Entity::find()
        .filter(row::Column::State.eq("started"))
        .filter(row::Column::CreatedAt.lt(now - Duration::minutes(1)))
        .order_by_asc(row::Column::Id)
        .all(app.db.conn())
        .await?;
    let mut n = 0;
    for r in open {
        // One check's trouble (a provider down, an account gone) must not
        // stop the others, nor the rest of the housekeeping.
        match catch_up(app, row::Model { queried_at: None, ..r }).await {
            Ok(r) if r.state != "started" => n += 1,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "sweeping a face check"),
        }
    }
    let framed = row::Entity::find().filter(row::Column::FrameKey.is_not_null()).all(app.db.conn()).await?;
    for r in framed {
        let c = cpa::Entity::find_by_id(r.cpa_id).one(app.db.conn()).await?;
        let ended = match c {
            Some(c) => settings::effective(app, c.association_id, r.year).await?.window_end < app.today(),
            None => true,
        };
        if ended && let Some(key) = &r.frame_key {
            if let Err(e) = app.files.delete(&StorePath::from(key.as_str())).await {
                tracing::warn!(error = %e, "deleting a face check's frame");
                continue;
            }
            row::ActiveModel { id: Set(r.id), frame_key: Set(None), ..Default::default() }
                .update(app.db.conn())
                .await?;
            n += 1;
        }
    }
    Ok(n)
}
