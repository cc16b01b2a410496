//! Exports and imports as jobs: one worker runs a job once, a job whose
//! worker stopped is taken up again, an interrupted job is given up after a
//! few tries, and finished jobs go with their files after a week.

use chrono::Duration;
use cmis_app::jobs::{self, JobState};
use cmis_app::review::{self, QueueFilter};
use cmis_domain::member_inspection::MemberInspection;
use cmis_store::entity::{audit_event, job};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};

use crate::admission::staff;
use crate::helpers::*;

/// An export asked for by staff44, not yet run.
async fn export(t: &TestApp) -> i32 {
    let actor = staff(t, "staff44").await;
    review::request_export::<MemberInspection>(&t.app, &actor, &QueueFilter::default(), "年检审核").await.unwrap()
}

async fn row(t: &TestApp, id: i32) -> job::Model {
    job::Entity::find_by_id(id).one(t.app.db.conn()).await.unwrap().unwrap()
}

async fn exports_audited(t: &TestApp) -> u64 {
    audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq("member_inspection_exported"))
        .count(t.app.db.conn())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_at_once_run_a_job_once() {
    let t = TestApp::new().await;
    let id = export(&t).await;
    let second = t.second_instance_app().await;
    let (a, b) = tokio::join!(jobs::run_due(&t.app), jobs::run_due(&second));
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    let r = row(&t, id).await;
    assert_eq!((r.state.as_str(), r.attempts), ("done", 1));
    assert_eq!(exports_audited(&t).await, 1);
}

#[tokio::test]
async fn a_job_whose_worker_stopped_is_taken_up_again() {
    let t = TestApp::new().await;
    let id = export(&t).await;
    // A worker claimed it and its instance stopped (a restart) mid-way.
    job::ActiveModel {
        id: Set(id),
        state: Set("running".into()),
        attempts: Set(1),
        done: Set(3),
        total: Set(10),
        claimed_until: Set(Some(t.app.now() + Duration::seconds(jobs::CLAIM_SECONDS))),
        ..Default::default()
    }
    .update(t.app.db.conn())
    .await
    .unwrap();
    assert_eq!(t.run_jobs().await, 0, "held while its claim lasts");
    t.clock.advance(Duration::seconds(jobs::CLAIM_SECONDS + 1));
    assert_eq!(t.run_jobs().await, 1, "taken up once the claim ran out");
    let r = row(&t, id).await;
    assert_eq!((r.state.as_str(), r.attempts, r.done, r.total), ("done", 2, r.total, r.total));
    let actor = staff(&t, "staff44").await;
    let (name, bytes) = jobs::output(&t.app, &actor, id).await.unwrap();
    assert_eq!(name, "年检审核.xlsx");
    assert!(bytes.starts_with(b"PK"));
}

#[tokio::test]
async fn a_job_interrupted_three_times_is_given_up() {
    let t = TestApp::new().await;
    let id = export(&t).await;
    job::ActiveModel {
        id: Set(id),
        state: Set("running".into()),
        attempts: Set(3),
        claimed_until: Set(Some(t.app.now() - Duration::seconds(1))),
        ..Default::default()
    }
    .update(t.app.db.conn())
    .await
    .unwrap();
    assert_eq!(t.run_jobs().await, 1);
    let j = jobs::get(&t.app, &staff(&t, "staff44").await, id).await.unwrap();
    assert_eq!(j.state, JobState::Failed);
    assert_eq!(j.error.as_deref(), Some("处理多次中断，请重新提交"));
    assert_eq!(exports_audited(&t).await, 0, "it did not run a fourth time");
}

#[tokio::test]
async fn a_job_runs_with_its_owners_permissions_of_today() {
    let t = TestApp::new().await;
    let id = export(&t).await;
    // The account is disabled before the job runs: nothing is exported.
    let owner = t.login_id("staff44").await;
    cmis_store::entity::user::ActiveModel { id: Set(owner), disabled: Set(true), ..Default::default() }
        .update(t.app.db.conn())
        .await
        .unwrap();
    assert_eq!(t.run_jobs().await, 1);
    let r = row(&t, id).await;
    assert_eq!((r.state.as_str(), r.error.as_deref()), ("failed", Some("没有权限执行此任务")));
    assert!(r.output_key.is_none());
}

#[tokio::test]
async fn finished_jobs_go_with_their_files_after_a_week() {
    let t = TestApp::new().await;
    let id = export(&t).await;
    t.run_jobs().await;
    let key = row(&t, id).await.output_key.unwrap();
    assert!(t.app.read_file(&key).await.is_ok());
    t.clock.advance(Duration::days(jobs::KEEP_DAYS - 1));
    cmis_app::housekeeping::sweep(&t.app).await.unwrap();
    assert!(job::Entity::find_by_id(id).one(t.app.db.conn()).await.unwrap().is_some(), "kept for a week");
    t.clock.advance(Duration::days(2));
    cmis_app::housekeeping::sweep(&t.app).await.unwrap();
    assert!(job::Entity::find_by_id(id).one(t.app.db.conn()).await.unwrap().is_none());
    assert!(t.app.read_file(&key).await.is_err(), "the file went too");
}

#[tokio::test]
async fn an_export_refused_to_the_role_makes_no_job() {
    let t = TestApp::new().await;
    let mut member = member_client(&t).await;
    let r = member.post("/association/member-inspections/export", &[("state", "all")]).await;
    assert_eq!(r.status, 403);
    assert_eq!(job::Entity::find().count(t.app.db.conn()).await.unwrap(), 0);
}
