//! Cases as the workflows that receive applications open and reopen them,
//! and the trail of one.

use cmis_domain::review::Workflow;
use cmis_domain::workdays;
use cmis_store::entity::review_case as row;
use sea_orm::{ActiveModelTrait, Set};

use crate::approval::{self, Step, Subject};
use crate::error::AppResult;
use crate::{App, Tx};

/// A new case, written by the workflow that receives the application.
pub struct NewCase<'a> {
    pub kind: &'static str,
    pub state: &'static str,
    pub year: Option<i32>,
    pub association_id: i32,
    pub city_association_id: Option<i32>,
    pub firm_id: Option<i32>,
    pub member_id: Option<i32>,
    pub applicant_user_id: Option<i32>,
    pub number: &'a str,
    pub name: &'a str,
    pub days: u32,
}

/// Opens a case in the caller's transaction; returns its id.
pub async fn open_case(tx: &Tx, c: NewCase<'_>) -> AppResult<i32> {
    let now = tx.now();
    let m = row::ActiveModel {
        kind: Set(c.kind.to_owned()),
        state: Set(c.state.to_owned()),
        year: Set(c.year),
        association_id: Set(c.association_id),
        city_association_id: Set(c.city_association_id),
        firm_id: Set(c.firm_id),
        member_id: Set(c.member_id),
        applicant_user_id: Set(c.applicant_user_id),
        number: Set(c.number.to_owned()),
        name: Set(c.name.to_owned()),
        first_submitted_at: Set(now),
        submitted_at: Set(now),
        deadline: Set(workdays::add(crate::clock::date_of(now), c.days, &[])),
        decided_at: Set(None),
        return_reason: Set(None),
        return_items: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    Ok(m.id)
}

/// A returned case submitted again: the new state, a new deadline, the
/// return's reason kept for the trail only. `name` and `association_id` may change.
pub async fn resubmit_case(
    tx: &Tx,
    id: i32,
    state: &'static str,
    days: u32,
    name: &str,
    association_id: i32,
) -> AppResult<()> {
    let now = tx.now();
    row::ActiveModel {
        id: Set(id),
        state: Set(state.to_owned()),
        name: Set(name.to_owned()),
        association_id: Set(association_id),
        submitted_at: Set(now),
        deadline: Set(workdays::add(crate::clock::date_of(now), days, &[])),
        decided_at: Set(None),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(tx)
    .await?;
    Ok(())
}

/// The trail of a case the caller already holds (its own pages).
pub async fn trail<W: Workflow>(app: &App, id: i32) -> AppResult<Vec<Step>> {
    Ok(approval::trail(app.db.conn(), Subject { kind: W::KIND, id }).await?)
}
