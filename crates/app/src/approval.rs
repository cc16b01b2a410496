//! The approval trail (审批信息): one step per decision, shown to the applicant
//! as 节点, 办理单位, 审批意见, 时间.

use chrono::{DateTime, Utc};
use cmis_store::entity::approval_step;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;

use crate::Tx;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Step {
    pub id: i32,
    pub node: String,
    pub unit: String,
    /// Who acted, for the audit; never sent out (a staff login name is half a credential).
    #[serde(skip_serializing)]
    pub actor: String,
    pub opinion: String,
    pub at: DateTime<Utc>,
}

/// What a step is about, e.g. ("annual_inspection", 42).
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub kind: &'a str,
    pub id: i32,
}

/// Records one step, inside the transaction that makes the decision.
pub async fn record(
    txn: &Tx,
    subject: Subject<'_>,
    node: &str,
    unit: &str,
    actor: &str,
    opinion: &str,
) -> Result<Step, DbErr> {
    let m = approval_step::ActiveModel {
        subject_type: Set(subject.kind.to_owned()),
        subject_id: Set(subject.id),
        node: Set(node.to_owned()),
        unit: Set(unit.to_owned()),
        actor: Set(actor.to_owned()),
        opinion: Set(opinion.to_owned()),
        created_at: Set(txn.now()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    crate::review::changed();
    Ok(to_step(m))
}

/// The whole trail of a subject, oldest first.
pub async fn trail<C: ConnectionTrait>(db: &C, subject: Subject<'_>) -> Result<Vec<Step>, DbErr> {
    Ok(approval_step::Entity::find()
        .filter(approval_step::Column::SubjectType.eq(subject.kind))
        .filter(approval_step::Column::SubjectId.eq(subject.id))
        .order_by_asc(approval_step::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(to_step)
        .collect())
}

fn to_step(m: approval_step::Model) -> Step {
    Step { id: m.id, node: m.node, unit: m.unit, actor: m.actor, opinion: m.opinion, at: m.created_at }
}
