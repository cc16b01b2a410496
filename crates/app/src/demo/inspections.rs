//! The demo's annual inspections: members from the 21st on get learning
//! records, fee payments and applications for the last two years in every
//! state, with their trails, as the review kernel files them.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use cmis_store::entity::user;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};

use super::{chunks, mix};

pub(super) struct DemoMember {
    pub(super) m: u64,
    pub(super) cert: String,
    pub(super) name: String,
    pub(super) association_id: i32,
    pub(super) city_id: Option<i32>,
    pub(super) admitted: NaiveDate,
}

/// Members from the 21st on get learning records and annual inspections for
/// the last two years in every state; the first twenty stay untouched, for
/// trying the flow by hand and for the browser tests.
pub(super) async fn inspections<C: sea_orm::ConnectionTrait>(
    txn: &C,
    today: chrono::NaiveDate,
    now: DateTime<Utc>,
    seed: u64,
    people: &[DemoMember],
    ids: &std::collections::HashMap<String, i32>,
) -> anyhow::Result<()> {
    use chrono::Datelike;
    use cmis_domain::Hours;
    use cmis_domain::member_inspection::{FeeStatus, InspectionState as S, hours_required};
    use cmis_domain::review::Workflow;
    use cmis_store::entity::{fee_payment, learning_record, member_inspection, review_case};
    type W = cmis_domain::member_inspection::MemberInspection;
    let people: Vec<&DemoMember> = people.iter().filter(|p| p.m >= 20).collect();
    let Some(first) = people.first() else { return Ok(()) };
    let first_id = ids[&first.cert];
    let done_before = learning_record::Entity::find()
        .filter(learning_record::Column::MemberId.eq(first_id))
        .one(txn)
        .await?
        .is_some();
    if done_before {
        return Ok(());
    }
    let this = today.year() - 1;
    let (mut records, mut apps, mut fees) = (Vec::new(), Vec::new(), Vec::new());
    for p in people {
        let id = ids[&p.cert];
        for year in [this - 1, this] {
            if p.admitted.year() > year {
                continue;
            }
            let required = hours_required(Hours::whole(40), p.admitted, year, Hours::ZERO);
            let short = year == this && mix(seed, p.m, 40) % 100 < 15;
            let done = if short {
                Hours::whole((mix(seed, p.m, 41) % 9 * 4) as i64)
            } else {
                required + Hours::whole((mix(seed, p.m, 42) % 3 * 4) as i64)
            };
            for (category, title, hours) in [
                ("ethics", "职业道德与执业规范", done.min(Hours::whole(4))),
                ("professional", "企业会计准则专题", done.saturating_sub(Hours::whole(4))),
            ] {
                if hours > Hours::ZERO {
                    records.push(learning_record::ActiveModel {
                        member_id: Set(Some(id)),
                        year: Set(year),
                        kind: Set("record".into()),
                        hours_x100: Set(hours.hundredths()),
                        category: Set(category.into()),
                        title: Set(title.into()),
                        source: Set("import".into()),
                        recorded_by: Set("demo".into()),
                        created_at: Set(now),
                        ..Default::default()
                    });
                }
            }
            let roll = mix(seed, p.m, 43 + year as u64) % 10;
            let state = match (year == this, short, roll) {
                (false, _, _) => Some(S::Passed),
                (true, true, 8) => Some(S::DeferralSubmitted),
                (true, true, 7) => Some(S::Deferred),
                (true, true, 6) => Some(S::DeferralReturned),
                (true, true, _) => None,
                (true, false, 0..=3) => Some(S::Submitted),
                (true, false, 4..=6) => Some(S::Passed),
                (true, false, 7) => Some(S::Returned),
                (true, false, 8) => Some(S::DeferralSubmitted),
                // One in a hundred fails; the other nine in ten of this roll are
                // ready to apply (hours done, fee paid), as the load tests need.
                (true, false, 9) if mix(seed, p.m, 97).is_multiple_of(10) => Some(S::Failed),
                _ => None,
            };
            let fee = if state.is_some_and(|s| !s.is_deferral()) { FeeStatus::Confirmed } else { FeeStatus::Unpaid };
            if fee == FeeStatus::Confirmed || (state.is_none() && roll == 9) {
                fees.push(fee_payment::ActiveModel {
                    member_id: Set(id),
                    year: Set(year),
                    association_id: Set(p.association_id),
                    amount_cents: Set(10_000),
                    status: Set(if fee == FeeStatus::Confirmed { "confirmed" } else { "pending_confirmation" }.into()),
                    method: Set(if fee == FeeStatus::Confirmed { "online" } else { "offline" }.into()),
                    order_no: Set(format!("D{year}{id:08}")),
                    provider_txn: Set(None),
                    paid_at: Set(None),
                    confirmed_by: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                });
            }
            let Some(state) = state else { continue };
            let submitted =
                now - Duration::days((mix(seed, p.m, 44) % 40) as i64) - Duration::days(365 * (this - year) as i64);
            let case = review_case::ActiveModel {
                kind: Set(W::KIND.into()),
                state: Set(state.code().into()),
                year: Set(Some(year)),
                association_id: Set(p.association_id),
                city_association_id: Set(p.city_id),
                firm_id: Set(None),
                member_id: Set(Some(id)),
                applicant_user_id: Set(None),
                number: Set(p.cert.clone()),
                name: Set(p.name.clone()),
                first_submitted_at: Set(submitted),
                submitted_at: Set(submitted),
                // A 年检不予通过 may be reversed for 30 days from its decision.
                deadline: Set(if state == S::Failed {
                    (submitted + Duration::days(3 + 30)).date_naive()
                } else {
                    cmis_domain::workdays::add(submitted.date_naive(), crate::member_inspection::REVIEW_DAYS, &[])
                }),
                decided_at: Set((!state.is_pending()).then_some(submitted + Duration::days(3))),
                return_reason: Set(match state {
                    S::Returned => Some("请补充上传社保缴纳证明".to_owned()),
                    S::DeferralReturned => Some("请补充出国（境）证明材料".to_owned()),
                    _ => None,
                }),
                return_items: Set(None),
                created_at: Set(submitted),
                updated_at: Set(submitted),
                ..Default::default()
            };
            let inspection = member_inspection::ActiveModel {
                case_id: Set(0),
                member_id: Set(id),
                year: Set(year),
                hours_required_x100: Set(required.hundredths()),
                hours_done_x100: Set(done.hundredths()),
                fee_status: Set(fee.code().into()),
                deferral_reason: Set(state.is_deferral().then(|| "出国（境）学习，时间超过6个月".to_owned())),
                flagged_enc: Set(None),
                profile_enc: Set(None),
            };
            apps.push((case, inspection));
        }
    }
    for chunk in chunks(records, 400) {
        learning_record::Entity::insert_many(chunk).exec_without_returning(txn).await?;
    }
    // Cases first; then each payload under the id its case got.
    // The accounts of this chunk's members only: reading every member's
    // account once per chunk made generation quadratic (16 min at 300,000).
    let mut users = std::collections::HashMap::<i32, i32>::new();
    for chunk in ids.values().copied().collect::<Vec<_>>().chunks(500) {
        users.extend(
            user::Entity::find()
                .filter(user::Column::MemberId.is_in(chunk.iter().copied()))
                .select_only()
                .column(user::Column::MemberId)
                .column(user::Column::Id)
                .into_tuple::<(Option<i32>, i32)>()
                .all(txn)
                .await?
                .into_iter()
                .filter_map(|(m, u)| m.map(|m| (m, u))),
        );
    }
    for chunk in chunks(apps, 200) {
        let members: Vec<i32> = chunk.iter().map(|(_, p)| *p.member_id.as_ref()).collect();
        let (cases, mut payloads): (Vec<_>, Vec<_>) = chunk.into_iter().unzip();
        let cases: Vec<review_case::ActiveModel> = cases
            .into_iter()
            .map(|mut c| {
                let member = *c.member_id.as_ref();
                c.applicant_user_id = Set(member.and_then(|m| users.get(&m).copied()));
                c
            })
            .collect();
        review_case::Entity::insert_many(cases).exec_without_returning(txn).await?;
        let ids: std::collections::HashMap<(i32, i32), i32> = review_case::Entity::find()
            .filter(review_case::Column::Kind.eq(W::KIND))
            .filter(review_case::Column::MemberId.is_in(members))
            .all(txn)
            .await?
            .into_iter()
            .filter_map(|c| Some(((c.member_id?, c.year?), c.id)))
            .collect();
        for p in payloads.iter_mut() {
            p.case_id = Set(ids[&(*p.member_id.as_ref(), *p.year.as_ref())]);
        }
        member_inspection::Entity::insert_many(payloads).exec_without_returning(txn).await?;
    }
    for chunk in chunks(fees, 300) {
        fee_payment::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::columns([fee_payment::Column::MemberId, fee_payment::Column::Year]).do_nothing().to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}
