//! Long work as jobs: an Excel export or a learning-record import is a row in
//! `jobs`, made by the request that asks for it and run by a worker on any
//! instance. The worker claims a job for `CLAIM_SECONDS` and renews the claim
//! as it reports progress; a job whose instance stopped (a restart, a crash)
//! keeps its row, its claim runs out, and the next worker takes it from the
//! start. Each kind is written to be run again: an export writes its file
//! anew, an import inserts its rows in one transaction.
//!
//! A job runs as its owner, through the same use cases as a request, so the
//! permission and scope are checked again when it runs. Only the owner sees
//! a job, its progress and what it made.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use cmis_store::entity::job as row;
use object_store::PutPayload;
use object_store::path::Path as StorePath;
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder, Set,
    Statement, Value,
};
use serde::Serialize;

use crate::error::{AppError, AppResult};
use crate::page::{self, Page};
use crate::scope::{Filed, Scope};
use crate::{Actor, App, auth};

cmis_domain::coded! {
    /// What a job does.
    pub enum JobKind {
        /// An Excel export of a review queue.
        ReviewExport = ("review_export", "导出"),
        /// Checking an uploaded learning-record workbook, row by row.
        LearningCheck = ("learning_check", "学时记录导入校验"),
        /// Importing a checked workbook.
        LearningImport = ("learning_import", "学时记录导入"),
        /// Checking a ZIP of the exam system's photos.
        ExamPhotoCheck = ("exam_photo_check", "全科合格证电子照片导入校验"),
        /// Importing a checked ZIP of photos.
        ExamPhotoImport = ("exam_photo_import", "全科合格证电子照片导入"),
        /// A synchronisation with the regulator's data, from an uploaded file.
        RegulatorSync = ("regulator_sync", "注册会计师信息同步"),
        /// 注册会计师年检进度 as Excel.
        CpaCheckProgress = ("cpa_check_progress", "注册会计师年检进度导出"),
    }
}

cmis_domain::coded! {
    pub enum JobState {
        Queued = ("queued", "排队中"),
        Running = ("running", "处理中"),
        Done = ("done", "已完成"),
        Failed = ("failed", "失败"),
    }
}

/// How long a worker holds a job between reports of progress.
pub const CLAIM_SECONDS: i64 = 30;
/// Runs that were interrupted before a job is given up.
const MAX_ATTEMPTS: i32 = 3;
/// Days a finished job and its files are kept.
pub const KEEP_DAYS: i64 = 7;
pub const PAGE_SIZE: u64 = 20;

/// A job as its owner sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub id: i32,
    pub kind: JobKind,
    pub title: String,
    pub state: JobState,
    pub done: u64,
    pub total: u64,
    /// The name of what it made, to download.
    pub output_name: Option<String>,
    pub summary: Option<serde_json::Value>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Job {
    /// Per cent done, for the progress bar.
    pub fn percent(&self) -> u64 {
        match self.state {
            JobState::Done => 100,
            _ if self.total == 0 => 0,
            _ => (self.done * 100 / self.total).min(99),
        }
    }

    pub fn finished(&self) -> bool {
        matches!(self.state, JobState::Done | JobState::Failed)
    }

    /// A number from the summary.
    pub fn count(&self, key: &str) -> u64 {
        self.summary.as_ref().and_then(|s| s.get(key)).and_then(|v| v.as_u64()).unwrap_or(0)
    }
}

impl TryFrom<row::Model> for Job {
    type Error = AppError;
    fn try_from(r: row::Model) -> AppResult<Job> {
        Ok(Job {
            id: r.id,
            kind: JobKind::parse(&r.kind).map_err(anyhow::Error::from)?,
            state: JobState::parse(&r.state).map_err(anyhow::Error::from)?,
            title: r.title,
            done: r.done.max(0) as u64,
            total: r.total.max(0) as u64,
            output_name: r.output_key.and(r.output_name),
            summary: r.summary.and_then(|s| serde_json::from_str(&s).ok()),
            error: r.error,
            created_at: r.created_at,
            finished_at: r.finished_at,
        })
    }
}

/// A job to make.
pub struct NewJob {
    pub kind: JobKind,
    pub title: String,
    pub params: serde_json::Value,
    /// A file it reads (an uploaded workbook), kept until the job is removed.
    pub input: Input,
}

pub enum Input {
    None,
    /// A new file.
    Upload(Bytes),
    /// The file of an earlier job of the same owner (an import after its check).
    Reuse(String),
}

fn random_key(prefix: &str) -> String {
    let mut rnd = [0u8; 16];
    rand::rng().fill_bytes(&mut rnd);
    format!("jobs/{prefix}/{}", hex::encode(rnd))
}

/// Records a job for the actor and wakes this instance's worker. The caller
/// has asked the permission; the job asks it again when it runs.
pub async fn submit(app: &App, actor: &Actor, new: NewJob) -> AppResult<i32> {
    let input_key = match new.input {
        Input::None => None,
        Input::Reuse(key) => Some(key),
        Input::Upload(bytes) => {
            let key = random_key("input");
            app.files
                .put(&StorePath::from(key.as_str()), PutPayload::from_bytes(bytes))
                .await
                .map_err(anyhow::Error::from)?;
            Some(key)
        }
    };
    let m = row::ActiveModel {
        kind: Set(new.kind.code().to_owned()),
        owner_user_id: Set(actor.user_id),
        title: Set(new.title),
        params: Set(new.params.to_string()),
        input_key: Set(input_key),
        state: Set(JobState::Queued.code().to_owned()),
        done: Set(0),
        total: Set(0),
        attempts: Set(0),
        created_at: Set(app.now()),
        ..Default::default()
    }
    .insert(app.db.conn())
    .await?;
    app.wake_jobs();
    Ok(m.id)
}

/// One's own job, as a row (404 for anyone else's).
async fn own(app: &App, actor: &Actor, id: i32) -> AppResult<row::Model> {
    let r = row::Entity::find_by_id(id).one(app.db.conn()).await?.ok_or(AppError::NotFound("任务"))?;
    Scope::own(actor).check(&Filed { user_id: Some(r.owner_user_id), ..Filed::default() }, "任务")?;
    Ok(r)
}

/// One's own job.
pub async fn get(app: &App, actor: &Actor, id: i32) -> AppResult<Job> {
    Job::try_from(own(app, actor, id).await?)
}

/// The file a job read (an import after its check reuses it).
pub async fn input_of(app: &App, actor: &Actor, id: i32) -> AppResult<String> {
    own(app, actor, id).await?.input_key.ok_or(AppError::NotFound("文件"))
}

/// Marks a finished check as taken by its import, in one statement: true the
/// first time, false after (确认导入 pressed twice, or twenty times at once,
/// imports once).
pub async fn consume(app: &App, actor: &Actor, id: i32) -> AppResult<bool> {
    own(app, actor, id).await?;
    let done = row::Entity::update_many()
        .col_expr(row::Column::Params, sea_orm::sea_query::Expr::value(r#"{"imported":true}"#))
        .filter(row::Column::Id.eq(id))
        .filter(row::Column::Params.ne(r#"{"imported":true}"#))
        .exec(app.db.conn())
        .await?;
    Ok(done.rows_affected == 1)
}

/// The parameters a job was made with.
pub async fn params_of(app: &App, actor: &Actor, id: i32) -> AppResult<serde_json::Value> {
    Ok(serde_json::from_str(&own(app, actor, id).await?.params).map_err(anyhow::Error::from)?)
}

/// One's jobs, newest first.
pub async fn mine(app: &App, actor: &Actor, page_no: u64) -> AppResult<Page<Job>> {
    let q = row::Entity::find().filter(row::Column::OwnerUserId.eq(actor.user_id)).order_by_desc(row::Column::Id);
    page::fetch(app.db.conn(), q, page_no, PAGE_SIZE).await?.try_map(Job::try_from)
}

/// What a finished job made: its name and bytes.
pub async fn output(app: &App, actor: &Actor, id: i32) -> AppResult<(String, Bytes)> {
    let r = own(app, actor, id).await?;
    match (r.state.as_str(), r.output_key, r.output_name) {
        ("done", Some(key), Some(name)) => Ok((name, app.read_file(&key).await?)),
        _ => Err(AppError::NotFound("文件")),
    }
}

/// Where a running job reports how far it is. Reports are written at most a
/// few times a second, and each renews the worker's claim.
pub struct Progress<'a> {
    target: Option<(&'a App, i32)>,
    last: std::sync::Mutex<Option<Instant>>,
}

impl<'a> Progress<'a> {
    /// For work run outside a job (tests, the command line).
    pub fn none() -> Progress<'static> {
        Progress { target: None, last: std::sync::Mutex::new(None) }
    }

    fn of(app: &'a App, id: i32) -> Progress<'a> {
        Progress { target: Some((app, id)), last: std::sync::Mutex::new(None) }
    }

    /// `done` of `total` steps are done.
    pub async fn set(&self, done: u64, total: u64) -> AppResult<()> {
        let Some((app, id)) = self.target else { return Ok(()) };
        {
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            let due = last.is_none_or(|t| t.elapsed() >= StdDuration::from_millis(300));
            if !due && done < total {
                return Ok(());
            }
            *last = Some(Instant::now());
        }
        row::ActiveModel {
            id: Set(id),
            done: Set(done as i64),
            total: Set(total as i64),
            claimed_until: Set(Some(app.now() + Duration::seconds(CLAIM_SECONDS))),
            ..Default::default()
        }
        .update(app.db.conn())
        .await?;
        Ok(())
    }
}

/// What a job made.
pub struct Outcome {
    /// A file to download: its name and bytes.
    pub file: Option<(String, Vec<u8>)>,
    pub summary: serde_json::Value,
}

/// A job being run: its owner (loaded again, with today's permissions), what
/// it was given, and where it reports.
pub struct Running<'a> {
    pub actor: Actor,
    pub id: i32,
    pub params: serde_json::Value,
    pub input: Option<Bytes>,
    pub progress: Progress<'a>,
}

/// Claims the next job that is queued, or whose worker let its claim run out.
async fn claim(app: &App) -> anyhow::Result<Option<row::Model>> {
    let db = app.db.conn();
    let backend = db.get_database_backend();
    let now = app.now();
    let lock = if backend == DatabaseBackend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE jobs SET state = 'running', claimed_until = $1, attempts = attempts + 1, \
         started_at = COALESCE(started_at, $2) WHERE id IN \
         (SELECT id FROM jobs WHERE state = 'queued' OR (state = 'running' AND claimed_until < $2) \
          ORDER BY id LIMIT 1{lock}) RETURNING id"
    );
    let values: Vec<Value> = vec![(now + Duration::seconds(CLAIM_SECONDS)).into(), now.into()];
    let Some(r) = db.query_one_raw(Statement::from_sql_and_values(backend, sql, values)).await? else {
        return Ok(None);
    };
    let id: i32 = r.try_get("", "id")?;
    Ok(row::Entity::find_by_id(id).one(db).await?)
}

/// Runs what is due until nothing is; returns how many jobs ended.
pub async fn run_due(app: &App) -> anyhow::Result<usize> {
    let mut n = 0;
    while let Some(job) = claim(app).await? {
        let id = job.id;
        let result = if job.attempts > MAX_ATTEMPTS {
            Err(AppError::Refused("处理多次中断，请重新提交".into()))
        } else {
            execute(app, job).await
        };
        finish(app, id, result).await?;
        n += 1;
    }
    Ok(n)
}

/// The worker of one instance: runs due jobs, then waits to be woken (or
/// for a claim elsewhere to run out).
pub async fn run(app: Arc<App>) {
    loop {
        if let Err(e) = run_due(&app).await {
            tracing::warn!(error = %e, "running jobs");
        }
        let _ = tokio::time::timeout(StdDuration::from_secs(5), app.jobs_waiting()).await;
    }
}

async fn execute(app: &App, job: row::Model) -> AppResult<Outcome> {
    let actor = auth::actor_for(app, job.owner_user_id).await?.ok_or(AppError::Forbidden)?;
    let input = match &job.input_key {
        Some(key) => {
            Some(app.read_file(key).await.map_err(|_| AppError::Refused("上传的文件已失效，请重新上传".into()))?)
        }
        None => None,
    };
    let kind = JobKind::parse(&job.kind).map_err(anyhow::Error::from)?;
    let running = Running {
        actor,
        id: job.id,
        params: serde_json::from_str(&job.params).map_err(anyhow::Error::from)?,
        input,
        progress: Progress::of(app, job.id),
    };
    match kind {
        JobKind::ReviewExport => crate::workflows::export(app, &running).await,
        JobKind::LearningCheck => crate::member_inspection::learning::check_job(app, &running).await,
        JobKind::LearningImport => crate::member_inspection::learning::import_job(app, &running).await,
        JobKind::ExamPhotoCheck => crate::exam_photos::check_job(app, &running).await,
        JobKind::ExamPhotoImport => crate::exam_photos::import_job(app, &running).await,
        JobKind::RegulatorSync => crate::regulator::sync_job(app, &running).await,
        JobKind::CpaCheckProgress => crate::cpa_check::progress::export_job(app, &running).await,
    }
}

/// Records how a job ended. A failure the user can act on keeps its words;
/// anything else is logged and told as a failure to try again.
async fn finish(app: &App, id: i32, result: AppResult<Outcome>) -> anyhow::Result<()> {
    let now = app.now();
    let mut m =
        row::ActiveModel { id: Set(id), claimed_until: Set(None), finished_at: Set(Some(now)), ..Default::default() };
    match result {
        Ok(o) => {
            if let Some((name, bytes)) = o.file {
                let key = random_key("output");
                app.files.put(&StorePath::from(key.as_str()), PutPayload::from(bytes)).await?;
                m.output_key = Set(Some(key));
                m.output_name = Set(Some(name));
            }
            m.summary = Set(Some(o.summary.to_string()));
            m.state = Set(JobState::Done.code().to_owned());
        }
        Err(e) => {
            let message = match e {
                AppError::Invalid(f) => f.0.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join("；"),
                AppError::Refused(m) => m,
                AppError::Forbidden | AppError::NotFound(_) => "没有权限执行此任务".to_owned(),
                e => {
                    tracing::error!(job = id, error = ?e, "job failed");
                    "处理失败，请重新提交".to_owned()
                }
            };
            m.error = Set(Some(message));
            m.state = Set(JobState::Failed.code().to_owned());
        }
    }
    m.update(app.db.conn()).await?;
    Ok(())
}

/// Removes jobs finished more than `KEEP_DAYS` ago, with their files.
pub async fn sweep(app: &App) -> anyhow::Result<u64> {
    let old = row::Entity::find()
        .filter(row::Column::FinishedAt.lt(app.now() - Duration::days(KEEP_DAYS)))
        .all(app.db.conn())
        .await?;
    let mut n = 0;
    for j in old {
        // An input another job still reads (an import after its check) goes with the last of them.
        for key in [j.output_key.as_deref(), j.input_key.as_deref()].into_iter().flatten() {
            let shared = row::Entity::find()
                .filter(row::Column::InputKey.eq(key))
                .filter(row::Column::Id.ne(j.id))
                .one(app.db.conn())
                .await?
                .is_some();
            if !shared {
                let _ = app.files.delete(&StorePath::from(key)).await;
            }
        }
        row::Entity::delete_by_id(j.id).exec(app.db.conn()).await?;
        n += 1;
    }
    Ok(n)
}
