//! 缴费情况 of a member for an inspection year, 去支付 through the payment
//! provider, 确认已缴费 (待确认), and the association's 会费确认.

use chrono::Utc;
use cmis_domain::member_inspection::FeeStatus;
use cmis_store::entity::{fee_payment as row, member, user};
use rand::Rng;
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;
use serde_json::json;

use super::settings::{self, InspectionSettings, yuan};
use super::{learning, own_member};
use crate::error::{AppError, AppResult};
use crate::page::{self, Page};
use crate::payment::{NOTIFY_PATH, Order};
use crate::scope::Permission;
use crate::{Actor, App, Tx, audit, messages};

pub const PAGE_SIZE: u64 = 20;

/// The fee status of member `m` for `year` under settings `s`.
pub async fn status_of<C: ConnectionTrait>(
    db: &C,
    m: &member::Model,
    year: i32,
    s: &InspectionSettings,
) -> AppResult<FeeStatus> {
    if s.fee_cents == 0 {
        return Ok(FeeStatus::Exempt);
    }
    let female = m.sex == cmis_domain::Sex::Female.code();
    if s.exempt_maternity && female && learning::has_maternity(db, m.id, year).await? {
        return Ok(FeeStatus::Exempt);
    }
    let p = payment_of(db, m.id, year).await?;
    Ok(match p.as_ref().map(|p| p.status.as_str()) {
        Some("confirmed") => FeeStatus::Confirmed,
        Some("pending_confirmation") => FeeStatus::PendingConfirmation,
        _ => FeeStatus::Unpaid,
    })
}

async fn payment_of<C: ConnectionTrait>(db: &C, member_id: i32, year: i32) -> AppResult<Option<row::Model>> {
    Ok(row::Entity::find()
        .filter(row::Column::MemberId.eq(member_id))
        .filter(row::Column::Year.eq(year))
        .one(db)
        .await?)
}

/// The member's payment row for the year, made if missing.
async fn ensure_payment(db: &Tx, m: &member::Model, year: i32, amount: i64) -> AppResult<row::Model> {
    if let Some(p) = payment_of(db, m.id, year).await? {
        return Ok(p);
    }
    let now = db.now();
    let order_no = format!("F{year}{:08}{:04}", m.id, rand::rng().random_range(0..10_000));
    Ok(row::ActiveModel {
        member_id: Set(m.id),
        year: Set(year),
        association_id: Set(m.association_id),
        amount_cents: Set(amount),
        status: Set("unpaid".into()),
        method: Set("online".into()),
        order_no: Set(order_no),
        provider_txn: Set(None),
        paid_at: Set(None),
        confirmed_by: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// What 去支付 shows.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentQr {
    pub year: i32,
    pub order_no: String,
    pub amount: String,
    /// What the QR code carries: the provider's cashier address.
    pub code_url: String,
}

/// The inspection year open now for the member's association.
async fn member_year(app: &App, m: &member::Model) -> AppResult<i32> {
    settings::current_year(app, m.association_id, app.today()).await
}

/// 去支付: an order with the provider for this year's fee, for the QR code.
pub async fn start_payment(app: &App, actor: &Actor) -> AppResult<PaymentQr> {
    let m = own_member(app, actor).await?;
    let year = member_year(app, &m).await?;
    let provider = app
        .payments
        .clone()
        .ok_or_else(|| AppError::Refused("暂未开通在线支付，请按所属注协公布的方式缴费后点击“确认已缴费”".into()))?;
    let s = settings::effective(app, m.association_id, year).await?;
    match status_of(app.db.conn(), &m, year, &s).await? {
        FeeStatus::Unpaid => {}
        st => return Err(AppError::Refused(format!("{year}年度会费状态为“{}”，无需支付", st.label()))),
    }
    let txn = app.write().await?;
    let p = ensure_payment(&txn, &m, year, s.fee_cents).await?;
    txn.commit().await?;
    let order = Order {
        order_no: p.order_no.clone(),
        amount_cents: p.amount_cents,
        subject: format!("{year}年度非执业会员会费"),
        notify_url: format!("{}{NOTIFY_PATH}", app.settings.public_url.trim_end_matches('/')),
    };
    let code_url = provider.create_order(&order).await.map_err(|e| {
        tracing::warn!(error = %e, "payment order not created");
        AppError::Refused("支付服务暂时不可用，请稍后再试".into())
    })?;
    Ok(PaymentQr { year, order_no: p.order_no, amount: yuan(p.amount_cents), code_url })
}

/// 确认已缴费: confirmed if the provider said so; otherwise 待确认 for the association.
pub async fn claim_paid(app: &App, actor: &Actor) -> AppResult<FeeStatus> {
    let m = own_member(app, actor).await?;
    let year = member_year(app, &m).await?;
    let s = settings::effective(app, m.association_id, year).await?;
    let status = status_of(app.db.conn(), &m, year, &s).await?;
    if status != FeeStatus::Unpaid {
        return Ok(status);
    }
    let txn = app.write().await?;
    let p = ensure_payment(&txn, &m, year, s.fee_cents).await?;
    let id = p.id;
    let mut am: row::ActiveModel = p.into();
    am.status = Set("pending_confirmation".into());
    am.method = Set("offline".into());
    am.updated_at = Set(app.now());
    am.update(&txn).await?;
    audit::append(&txn, &actor.audit_name(), "fee_claimed", &format!("fee_payment:{id}"), json!({ "year": year }))
        .await?;
    txn.commit().await?;
    Ok(FeeStatus::PendingConfirmation)
}

/// A notification from the provider: verified, checked against the order,
/// applied once. Repeats of a confirmed order are answered the same way.
/// Course fees (交费) are passed to `learning::fees`.
pub async fn notify(app: &App, body: &[u8], signature: &str) -> AppResult<()> {
    let provider = app.payments.clone().ok_or(AppError::NotFound("支付服务"))?;
    let n = provider.verify_notification(body, signature).ok_or(AppError::Forbidden)?;
    if n.order_no.starts_with(crate::learning::fees::ORDER_PREFIX) {
        return crate::learning::fees::paid(app, &n).await;
    }
    let txn = app.write().await?;
    let p = row::Entity::find()
        .filter(row::Column::OrderNo.eq(&n.order_no))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("订单"))?;
    if p.amount_cents != n.amount_cents {
        return Err(AppError::Refused("金额与订单不符".into()));
    }
    if p.status == "confirmed" {
        return Ok(());
    }
    let (id, member_id, year) = (p.id, p.member_id, p.year);
    let mut am: row::ActiveModel = p.into();
    am.status = Set("confirmed".into());
    am.method = Set("online".into());
    am.provider_txn = Set(Some(n.txn_id.clone()));
    am.paid_at = Set(Some(n.paid_at));
    am.confirmed_by = Set(Some("payment-provider".into()));
    am.updated_at = Set(app.now());
    am.update(&txn).await?;
    audit::append(&txn, "payment-provider", "fee_paid", &format!("fee_payment:{id}"), json!({ "txn": n.txn_id }))
        .await?;
    if let Some(u) = user::Entity::find().filter(user::Column::MemberId.eq(member_id)).one(&txn).await? {
        messages::send(
            &txn,
            u.id,
            &format!("{year}年度会费已缴纳"),
            &format!("您的{year}年度会费{}元已支付成功。", yuan(n.amount_cents)),
            Some("/member-inspection/apply"),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Provincial staff confirm fees of members of their association.
fn confirming_staff(actor: &Actor) -> AppResult<()> {
    Permission::ConfirmFees.require(actor)
}

#[derive(Debug, Clone, Serialize)]
pub struct FeeRow {
    pub id: i32,
    pub year: i32,
    pub cert_no: String,
    pub name: String,
    pub amount: String,
    pub status: FeeStatus,
    pub method: String,
    pub updated_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct FeeFilter {
    pub year: Option<i32>,
    pub keyword: String,
    /// false: 待确认 only; true: confirmed ones too.
    pub all: bool,
    pub page: u64,
}

/// 会费确认: the 待确认 of the association, oldest first.
pub async fn queue(app: &App, actor: &Actor, f: &FeeFilter) -> AppResult<Page<FeeRow>> {
    confirming_staff(actor)?;
    let mut q = row::Entity::find().filter(row::Column::AssociationId.eq(actor.association_id));
    if !f.all {
        q = q.filter(row::Column::Status.eq("pending_confirmation"));
    }
    if let Some(y) = f.year {
        q = q.filter(row::Column::Year.eq(y));
    }
    let kw = f.keyword.trim();
    if !kw.is_empty() {
        let ids: Vec<i32> = member::Entity::find()
            .filter(Condition::any().add(member::Column::CertNo.eq(kw)).add(member::Column::Name.eq(kw)))
            .filter(member::Column::AssociationId.eq(actor.association_id))
            .all(app.db.conn())
            .await?
            .into_iter()
            .map(|m| m.id)
            .collect();
        q = q.filter(row::Column::MemberId.is_in(ids));
    }
    let p = page::fetch(app.db.conn(), q.order_by_asc(row::Column::UpdatedAt), f.page, PAGE_SIZE).await?;
    let ids: Vec<i32> = p.items.iter().map(|r| r.member_id).collect();
    let members: std::collections::HashMap<i32, member::Model> = member::Entity::find()
        .filter(member::Column::Id.is_in(ids))
        .all(app.db.conn())
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    Ok(p.map(|r| {
        let m = members.get(&r.member_id);
        FeeRow {
            id: r.id,
            year: r.year,
            cert_no: m.map(|m| m.cert_no.to_string()).unwrap_or_default(),
            name: m.map(|m| m.name.clone()).unwrap_or_default(),
            amount: yuan(r.amount_cents),
            status: match r.status.as_str() {
                "confirmed" => FeeStatus::Confirmed,
                "pending_confirmation" => FeeStatus::PendingConfirmation,
                _ => FeeStatus::Unpaid,
            },
            method: if r.method == "online" { "在线支付".into() } else { "线下缴费".into() },
            updated_at: r.updated_at,
        }
    }))
}

/// 确认缴费 for the selected rows; returns how many were confirmed.
pub async fn confirm(app: &App, actor: &Actor, ids: &[i32]) -> AppResult<usize> {
    confirming_staff(actor)?;
    if ids.len() > crate::review::BATCH_MAX {
        return Err(AppError::Refused(format!("一次最多确认{}条", crate::review::BATCH_MAX)));
    }
    let txn = app.write().await?;
    let rows = row::Entity::find()
        .filter(row::Column::Id.is_in(ids.to_vec()))
        .filter(row::Column::AssociationId.eq(actor.association_id))
        .filter(row::Column::Status.eq("pending_confirmation"))
        .all(&txn)
        .await?;
    let n = rows.len();
    for p in rows {
        let (id, member_id, year) = (p.id, p.member_id, p.year);
        let mut am: row::ActiveModel = p.into();
        am.status = Set("confirmed".into());
        am.confirmed_by = Set(Some(actor.audit_name()));
        am.paid_at = Set(Some(app.now()));
        am.updated_at = Set(app.now());
        am.update(&txn).await?;
        audit::append(
            &txn,
            &actor.audit_name(),
            "fee_confirmed",
            &format!("fee_payment:{id}"),
            json!({ "year": year }),
        )
        .await?;
        if let Some(u) = user::Entity::find().filter(user::Column::MemberId.eq(member_id)).one(&txn).await? {
            messages::send(
                &txn,
                u.id,
                &format!("{year}年度会费已确认"),
                &format!("{}已确认您的{year}年度会费缴纳情况，请继续办理年检申请。", actor.association_name),
                Some("/member-inspection/apply"),
            )
            .await?;
        }
    }
    txn.commit().await?;
    Ok(n)
}
