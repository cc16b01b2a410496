//! 年检进度: counts by state and by city for a year, and the list as Excel.

use chrono::{Datelike, NaiveDate};
use cmis_domain::member_inspection::{InspectionState, MemberInspection};
use cmis_store::entity::member;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde::Serialize;

use crate::error::AppResult;
use crate::review::{self as kernel, QueueFilter, Reviewed};
use crate::scope::{Permission, Scope};
use crate::{Actor, App};

type W = MemberInspection;

#[derive(Debug, Clone, Serialize)]
pub struct CityCount {
    pub city: String,
    /// In the order of `InspectionState::ALL`.
    pub counts: Vec<u64>,
    pub total: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub year: i32,
    /// Members who take part this year (admitted by 31 Dec, not cancelled).
    pub members: u64,
    /// Applications by state, in the order of `InspectionState::ALL`.
    pub by_state: Vec<(InspectionState, u64)>,
    pub applied: u64,
    pub by_city: Vec<CityCount>,
}

impl Progress {
    pub fn not_applied(&self) -> u64 {
        self.members.saturating_sub(self.applied)
    }
    /// Share of the largest bar, for the chart.
    pub fn percent(&self, n: u64) -> u64 {
        let max = self.by_state.iter().map(|(_, n)| *n).max().unwrap_or(0).max(self.not_applied()).max(1);
        n * 100 / max
    }
}

pub async fn progress(app: &App, actor: &Actor, year: Option<i32>) -> AppResult<Progress> {
    Permission::InspectionProgress.require(actor)?;
    let year = match year {
        Some(y) => y,
        None => W::default_year(app, actor).await?.unwrap_or_else(|| app.today().year() - 1),
    };
    let counts = kernel::counts::<W>(app, actor, Some(year)).await?;
    let idx = |s: InspectionState| InspectionState::ALL.iter().position(|x| *x == s).expect("a state of ALL");
    let mut by_state = vec![0u64; InspectionState::ALL.len()];
    let orgs = app.orgs();
    let mut cities: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    for (city, state, n) in counts {
        by_state[idx(state)] += n;
        let name = city.and_then(|c| orgs.get(c)).map_or_else(|| "未指定市注协".to_owned(), |a| a.short_name.clone());
        cities.entry(name).or_insert_with(|| vec![0; InspectionState::ALL.len()])[idx(state)] += n;
    }
    // Members who take part: in the actor's scope, admitted by the end of the year, not cancelled.
    let end = NaiveDate::from_ymd_opt(year, 12, 31).expect("valid date");
    let mut mq = member::Entity::find()
        .filter(member::Column::AdmittedOn.lte(end))
        .filter(member::Column::Status.ne("cancelled"));
    if let Some(c) = Scope::of(app, actor)
        .association_condition(member::Column::AssociationId, Some(member::Column::CityAssociationId))
    {
        mq = mq.filter(c);
    }
    let members = mq.count(app.db.conn()).await?;
    let applied = by_state.iter().sum();
    Ok(Progress {
        year,
        members,
        applied,
        by_state: InspectionState::ALL.iter().copied().zip(by_state).collect(),
        by_city: cities
            .into_iter()
            .map(|(city, counts)| CityCount { total: counts.iter().sum(), city, counts })
            .collect(),
    })
}

/// The year's applications in the actor's scope, in any state or one, as an
/// xlsx workbook: the review kernel's export, run as a job.
pub async fn request_export(app: &App, actor: &Actor, year: i32, state: Option<InspectionState>) -> AppResult<i32> {
    Permission::InspectionProgress.require(actor)?;
    let f = QueueFilter {
        year: Some(year),
        state: Some(state.map_or("all", |s| s.code()).to_owned()),
        ..QueueFilter::default()
    };
    kernel::request_export::<W>(app, actor, &f, &format!("{year}年度非执业会员年检")).await
}
