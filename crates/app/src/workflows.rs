//! Every workflow on the review kernel, in one list, for the work that names
//! a workflow by its `KIND` rather than by type: a job (an export) stored as
//! a row. A new workflow adds its line to `with_workflow!`.

use cmis_domain::cpa_check::CpaCheck;
use cmis_domain::inspection_batch::InspectionBatch;
use cmis_domain::member_admission::MemberAdmission;
use cmis_domain::member_inspection::MemberInspection;
use cmis_domain::review::Workflow;
use serde::Deserialize;
use serde_json::json;

use crate::App;
use crate::error::{AppError, AppResult};
use crate::jobs::{Outcome, Running};
use crate::review::{self, QueueFilter};

/// Runs `$body` with `$W` the workflow whose `KIND` is `$kind`.
macro_rules! with_workflow {
    ($kind:expr, $W:ident => $body:expr) => {
        match $kind {
            k if k == <MemberAdmission as Workflow>::KIND => {
                type $W = MemberAdmission;
                $body
            }
            k if k == <MemberInspection as Workflow>::KIND => {
                type $W = MemberInspection;
                $body
            }
            k if k == <CpaCheck as Workflow>::KIND => {
                type $W = CpaCheck;
                $body
            }
            k if k == <InspectionBatch as Workflow>::KIND => {
                type $W = InspectionBatch;
                $body
            }
            other => Err(AppError::from(anyhow::anyhow!("no workflow {other}"))),
        }
    };
}

#[derive(Deserialize)]
struct ExportParams {
    workflow: String,
    filter: QueueFilter,
    name: String,
}

/// The job of `review::request_export`.
pub async fn export(app: &App, job: &Running<'_>) -> AppResult<Outcome> {
    let p: ExportParams = serde_json::from_value(job.params.clone()).map_err(anyhow::Error::from)?;
    let (bytes, rows) = with_workflow!(p.workflow.as_str(), W => {
        review::export::<W>(app, &job.actor, &p.filter, &job.progress).await
    })?;
    Ok(Outcome { file: Some((format!("{}.xlsx", p.name), bytes)), summary: json!({ "rows": rows }) })
}
