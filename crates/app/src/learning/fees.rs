//! 交费 (seed 004 §2.5): a non-practicing member who clicks 开始学习 on a
//! course with a fee is shown the payment page first; the fee is paid once
//! per course (a course belongs to one year), through the payment provider
//! the annual inspection's fees use, and confirmed only by its signed
//! notification.

use cmis_store::entity::course_payment as row;
use rand::Rng;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use serde_json::json;

use super::catalogue::Course;
use super::study::open_course;
use super::yuan;
use crate::error::{AppError, AppResult};
use crate::payment::{NOTIFY_PATH, Notification, Order};
use crate::{Actor, App, Tx, audit, messages};

/// What 交费 answers for a course that is free or paid.
pub const NO_FEE: &str = "该课程无需交费或已交费，请直接学习";

/// Course orders are told from annual fees by their first letter.
pub const ORDER_PREFIX: &str = "K";

#[derive(Debug, Clone, Serialize)]
pub struct CoursePayment {
    pub course: Course,
    pub amount: String,
    pub order_no: String,
    /// What the QR code carries: the provider's cashier address.
    pub code_url: String,
}

async fn ensure(txn: &Tx, user_id: i32, c: &Course) -> AppResult<row::Model> {
    let order_no =
        format!("{ORDER_PREFIX}{}{:08}{:06}{:04}", c.year, user_id, c.id, rand::rng().random_range(0..10_000));
    if let Some(p) = row::Entity::find()
        .filter(row::Column::UserId.eq(user_id))
        .filter(row::Column::CourseId.eq(c.id))
        .one(txn)
        .await?
    {
        if p.amount_cents == c.fee_cents || p.status == "paid" {
            return Ok(p);
        }
        // The fee changed since this order: a new order at the new fee (the
        // old one's notification no longer matches an order).
        let mut m: row::ActiveModel = p.into();
        m.amount_cents = Set(c.fee_cents);
        m.order_no = Set(order_no);
        return Ok(m.update(txn).await?);
    }
    Ok(row::ActiveModel {
        user_id: Set(user_id),
        course_id: Set(c.id),
        year: Set(c.year),
        amount_cents: Set(c.fee_cents),
        order_no: Set(order_no),
        status: Set("unpaid".into()),
        created_at: Set(txn.now()),
        ..Default::default()
    }
    .insert(txn)
    .await?)
}

/// The 交费 page: an order for the course's fee and its QR code. A course
/// already paid, free, or not the learner's answers that it needs no payment.
pub async fn start(app: &App, actor: &Actor, course_id: i32) -> AppResult<CoursePayment> {
    let (card, _) = open_course(app, actor, course_id).await?;
    if !card.fee_due {
        return Err(AppError::Refused(NO_FEE.into()));
    }
    let c = card.course;
    let provider =
        app.payments.clone().ok_or_else(|| AppError::Refused("暂未开通在线支付，请联系所选国家会计学院".into()))?;
    let txn = app.write().await?;
    let p = ensure(&txn, actor.user_id, &c).await?;
    txn.commit().await?;
    let order = Order {
        order_no: p.order_no.clone(),
        amount_cents: p.amount_cents,
        subject: format!("{}年度继续教育课程：{}", c.year, c.title),
        notify_url: format!("{}{NOTIFY_PATH}", app.settings.public_url.trim_end_matches('/')),
    };
    let code_url = provider.create_order(&order).await.map_err(|e| {
        tracing::warn!(error = %e, "course payment order not created");
        AppError::Refused("支付服务暂时不可用，请稍后再试".into())
    })?;
    Ok(CoursePayment { amount: yuan(p.amount_cents), order_no: p.order_no, code_url, course: c })
}

/// A verified notification of a course order: applied once.
pub async fn paid(app: &App, n: &Notification) -> AppResult<()> {
    let txn = app.write().await?;
    let p = row::Entity::find()
        .filter(row::Column::OrderNo.eq(&n.order_no))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("订单"))?;
    if p.amount_cents != n.amount_cents {
        return Err(AppError::Refused("金额与订单不符".into()));
    }
    if p.status == "paid" {
        return Ok(());
    }
    let (id, user_id, course_id) = (p.id, p.user_id, p.course_id);
    let mut m: row::ActiveModel = p.into();
    m.status = Set("paid".into());
    m.provider_txn = Set(Some(n.txn_id.clone()));
    m.paid_at = Set(Some(n.paid_at));
    m.update(&txn).await?;
    audit::append(
        &txn,
        "payment-provider",
        "course_fee_paid",
        &format!("course_payment:{id}"),
        json!({ "txn": n.txn_id }),
    )
    .await?;
    let title =
        cmis_store::entity::course::Entity::find_by_id(course_id).one(&txn).await?.map(|c| c.title).unwrap_or_default();
    messages::send(
        &txn,
        user_id,
        "课程已交费",
        &format!("您已成功交费{}元，可以开始学习课程“{title}”。", yuan(n.amount_cents)),
        Some(&format!("/learning/courses/{course_id}")),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
