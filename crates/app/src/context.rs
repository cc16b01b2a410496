use std::sync::Arc;

use anyhow::Context as _;
use cmis_store::Db;
use object_store::ObjectStore;

use chrono::{DateTime, NaiveDate, Utc};

use crate::certificate::CertificateSigner;
use crate::clock::{self, Clock, SystemClock};
use crate::keys::{self, KeySpec, Secrets};
use crate::notify::Senders;
use crate::organisations::{Organisations, Tree};
use crate::pii::Pii;
use crate::settings::Settings;
use crate::tx::Tx;

/// Everything a use case needs: the database, the key for personal
/// information, file storage and the notification senders.
pub struct App {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub pii: Pii,
    /// Keys derived from the personal-information key.
    pub secrets: Secrets,
    pub files: Arc<dyn ObjectStore>,
    pub senders: Senders,
    /// The association tree, re-read when its stamp moves (`organisations::watch`).
    pub tree: Tree,
    pub signer: CertificateSigner,
    pub settings: Settings,
    /// The payment provider, when one is configured.
    pub payments: Option<Arc<dyn crate::payment::PaymentProvider>>,
    /// The face verification provider, when one is configured.
    pub faces: Option<Arc<dyn crate::face::FaceProvider>>,
    /// Rings when a message is queued, so the outbox worker sends it at once.
    outbox_queued: Arc<tokio::sync::Notify>,
    jobs_queued: Arc<tokio::sync::Notify>,
    /// Browser tests only: every captcha has this answer. Set by `cmis serve
    /// --e2e-fixed-captcha`, which refuses to start unless bound to loopback.
    fixed_captcha: Option<String>,
    /// The portal's lists of notices, kept for a while (`notices::Cache`).
    pub notices: crate::notices::Cache,
    /// The totals of review queues, kept for a few seconds (`review::Totals`).
    pub review_totals: crate::review::Totals,
}

impl App {
    /// The system on the machine's clock.
    pub async fn new(db: Db, settings: Settings) -> anyhow::Result<App> {
        App::with_clock(db, settings, Arc::new(SystemClock)).await
    }

    /// The system on a given clock (tests; browser tests with a fixed date).
    pub async fn with_clock(db: Db, settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
        let written = keys::holds_personal_data(&db).await?;
        let pii_file = settings.in_data_dir(&settings.pii_key_file);
        let now = clock.now();
        let pii_key = keys::load(
            &db,
            now,
            KeySpec { name: "pii_key", value: &settings.pii_key, file: &pii_file },
            written,
            Pii::fingerprint,
        )
        .await?;
        let sign_file = settings.in_data_dir(&settings.sign_key_file);
        let sign_key = keys::load(
            &db,
            now,
            KeySpec { name: "sign_key", value: &settings.sign_key, file: &sign_file },
            written,
            CertificateSigner::fingerprint,
        )
        .await?;
        let pii = Pii::new(&pii_key);
        let secrets = Secrets::derive(&pii_key);
        let files = object_store_from(&settings)?;
        let senders = Senders::from_settings(&settings);
        let tree = Tree::load(&db).await?;
        let signer = CertificateSigner::new(&sign_key);
        let payments = crate::payment::from_settings(&settings)?;
        let faces = crate::face::from_settings(&settings)?;
        Ok(App {
            db,
            clock,
            pii,
            secrets,
            files,
            senders,
            tree,
            signer,
            settings,
            payments,
            faces,
            fixed_captcha: None,
            notices: Default::default(),
            review_totals: Default::default(),
            outbox_queued: Arc::new(tokio::sync::Notify::new()),
            jobs_queued: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// The association tree as this instance holds it now. Keep the value
    /// for the length of one use case, so that it sees one tree throughout.
    pub fn orgs(&self) -> Arc<Organisations> {
        self.tree.current()
    }

    /// Now, by the application's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Today in China.
    pub fn today(&self) -> NaiveDate {
        clock::date_of(self.now())
    }

    /// A write transaction at the clock's present instant (see `Db::write`).
    pub async fn write(&self) -> Result<Tx, sea_orm::DbErr> {
        Ok(Tx::new(self.db.write().await?, self.now()))
    }

    /// Tells this instance's outbox worker that a message waits.
    pub fn wake_deliveries(&self) {
        self.outbox_queued.notify_one();
    }

    /// Until a message is queued on this instance.
    pub async fn deliveries_waiting(&self) {
        self.outbox_queued.notified().await
    }

    /// Tells this instance's job worker that a job waits.
    pub fn wake_jobs(&self) {
        self.jobs_queued.notify_one();
    }

    /// Until a job is submitted on this instance.
    pub async fn jobs_waiting(&self) {
        self.jobs_queued.notified().await
    }

    pub fn with_fixed_captcha(mut self, answer: &str) -> App {
        self.fixed_captcha = Some(answer.to_owned());
        self
    }

    /// Makes a file just stored survive a power cut before its row is
    /// committed (the database commits with synchronous=FULL): on local
    /// storage the file and its directory are flushed to disk; an S3 store
    /// has acknowledged a durable write already.
    pub async fn made_durable(&self, key: &str) -> anyhow::Result<()> {
        if self.settings.storage.kind != "local" {
            return Ok(());
        }
        let file = self.settings.in_data_dir(&self.settings.storage.path).join(key);
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            std::fs::File::open(&file)?.sync_all()?;
            if let Some(dir) = file.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        })
        .await??;
        Ok(())
    }

    /// The bytes of a stored file (photo, attachment).
    pub async fn read_file(&self, key: &str) -> anyhow::Result<bytes::Bytes> {
        Ok(self.files.get(&object_store::path::Path::from(key)).await?.bytes().await?)
    }

    pub fn fixed_captcha(&self) -> Option<&str> {
        self.fixed_captcha.as_deref()
    }
}

fn object_store_from(settings: &Settings) -> anyhow::Result<Arc<dyn ObjectStore>> {
    let s = &settings.storage;
    match s.kind.as_str() {
        "local" => {
            let dir = settings.in_data_dir(&s.path);
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            Ok(Arc::new(object_store::local::LocalFileSystem::new_with_prefix(&dir)?))
        }
        "memory" => Ok(Arc::new(object_store::memory::InMemory::new())),
        "s3" => {
            let mut b = object_store::aws::AmazonS3Builder::new()
                .with_bucket_name(&s.bucket)
                .with_region(&s.region)
                .with_allow_http(s.allow_http);
            if !s.endpoint.is_empty() {
                b = b.with_endpoint(&s.endpoint).with_virtual_hosted_style_request(false);
            }
            if !s.access_key_id.is_empty() {
                b = b.with_access_key_id(&s.access_key_id).with_secret_access_key(&s.secret_access_key);
            }
            Ok(Arc::new(b.build()?))
        }
        other => anyhow::bail!("storage.kind must be local, s3 or memory, not {other}"),
    }
}
