//! 入会申请审核 (local association) and 入会申请确认 (CICPA): the review
//! kernel's pages with this workflow's words, the form as sent, and the photo.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use cmis_app::member_admission;
use cmis_app::review::Case;
use cmis_app::scope::Permission;
use cmis_domain::AssociationLevel;
use cmis_domain::member_admission::{AdmissionAction, AdmissionState, MemberAdmission};
use cmis_domain::review::{Reviewer, Workflow};

use crate::AppState;
use crate::error::WebResult;
use crate::pages::review::ReviewPage;
use crate::profile_form::{self, ShownGroup};
use crate::shell::{Auth, Shell, needs};

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(super::review::routes::<MemberAdmission>())
        .route("/association/member-admissions/{id}/photo", get(photo))
        .route_layer(needs(Permission::ReviewMemberAdmissions))
}

#[derive(Template)]
#[template(path = "review/member_admission.html")]
struct Body {
    d: Sent,
    groups: Vec<ShownGroup>,
    qualifications: String,
}

struct Sent {
    id: i32,
    business_no: String,
    state: AdmissionState,
    association: String,
    submitted_at: DateTime<Utc>,
    days_left: Option<i64>,
    return_reason: Option<String>,
}

#[async_trait::async_trait]
impl ReviewPage for MemberAdmission {
    const SLUG: &'static str = "member-admissions";
    const KEYWORD_HINT: &'static str = "业务编号、姓名、证件号码、全科合格证号";
    const EMPTY: &'static str = "暂无入会申请";
    const WAITING: &'static str = "待本单位办理";
    const UNIT: &'static str = "所在地区注协";

    fn title(shell: &Shell) -> &'static str {
        if shell.actor.association_level == AssociationLevel::National {
            "入会申请确认"
        } else {
            "入会申请审核"
        }
    }

    fn case_title(_: &Case<Self>) -> &'static str {
        "入会申请详情"
    }

    fn batch_action(shell: &Shell) -> Option<AdmissionAction> {
        (cmis_app::scope::reviewer(&shell.actor) == Some(Reviewer::Province)).then_some(AdmissionAction::LocalApprove)
    }

    fn unit(state: &AppState, case: &Case<Self>) -> String {
        state.app.orgs().get(case.association_id).map_or_else(String::new, |a| a.short_name.clone())
    }

    async fn data(
        state: &AppState,
        actor: &cmis_app::Actor,
        case: &Case<Self>,
    ) -> WebResult<(serde_json::Value, Vec<String>)> {
        let sent = member_admission::sent(&state.app, actor, case.id).await?;
        let application = serde_json::json!({ "business_no": sent.business_no, "profile": sent.profile });
        Ok((application, vec![]))
    }

    async fn body(state: &AppState, shell: &Shell, case: &Case<Self>, _page: u64) -> WebResult<(String, Vec<String>)> {
        let sent = member_admission::sent(&state.app, &shell.actor, case.id).await?;
        let groups = profile_form::shown_groups(&state.app, &sent.profile, false);
        let qualifications = profile_form::qualification_line(&sent.profile);
        let d = Sent {
            id: case.id,
            business_no: sent.business_no,
            state: case.state,
            association: state.app.orgs().get(case.association_id).map_or_else(String::new, |a| a.name.clone()),
            submitted_at: case.submitted_at,
            days_left: case.days_left(state.app.today()),
            return_reason: case.return_reason.clone(),
        };
        Ok((Body { d, groups, qualifications }.render()?, vec![]))
    }

    /// The trail's words: 已办理：地方注协审核通过.
    fn done(action: AdmissionAction) -> &'static str {
        MemberAdmission::node(action)
    }
}

async fn photo(State(state): State<AppState>, Auth(actor): Auth, Path(id): Path<i32>) -> WebResult<Response> {
    let (content_type, bytes) = member_admission::photo(&state.app, &actor, id).await?;
    Ok(([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "private, no-store".into())], bytes)
        .into_response())
}
