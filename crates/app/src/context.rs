use std::sync::Arc;

use anyhow::Context as _;
use cmis_store::Db;
use object_store::ObjectStore;

use crate::notify::Senders;
use crate::organisations::Organisations;
use crate::pii::Pii;
use crate::settings::{Settings, StorageSettings};

/// Everything a use case needs: the database, the key for personal
/// information, file storage and the notification senders.
pub struct App {
    pub db: Db,
    pub pii: Pii,
    pub files: Arc<dyn ObjectStore>,
    pub senders: Senders,
    pub orgs: Organisations,
    pub signer: crate::certificate::CertificateSigner,
    pub settings: Settings,
    /// The payment provider, when one is configured.
    pub payments: Option<Arc<dyn crate::payment::PaymentProvider>>,
    /// Browser tests only: every captcha has this answer. Set by `cmis serve
    /// --e2e-fixed-captcha`, which refuses to start unless bound to loopback.
    fixed_captcha: Option<String>,
}

impl App {
    pub async fn new(db: Db, settings: Settings) -> anyhow::Result<App> {
        let pii = Pii::from_settings(&settings)?;
        let files = object_store_from(&settings.storage)?;
        let senders = Senders::outbox(db.clone());
        let orgs = Organisations::load(&db).await?;
        let signer = crate::certificate::CertificateSigner::from_settings(&settings)?;
        let payments = crate::payment::from_settings(&settings)?;
        Ok(App { db, pii, files, senders, orgs, signer, settings, payments, fixed_captcha: None })
    }

    pub fn with_fixed_captcha(mut self, answer: &str) -> App {
        self.fixed_captcha = Some(answer.to_owned());
        self
    }

    /// The bytes of a stored file (photo, attachment).
    pub async fn read_file(&self, key: &str) -> anyhow::Result<bytes::Bytes> {
        Ok(self.files.get(&object_store::path::Path::from(key)).await?.bytes().await?)
    }

    pub fn fixed_captcha(&self) -> Option<&str> {
        self.fixed_captcha.as_deref()
    }
}

fn object_store_from(s: &StorageSettings) -> anyhow::Result<Arc<dyn ObjectStore>> {
    match s.kind.as_str() {
        "local" => {
            std::fs::create_dir_all(&s.path).with_context(|| format!("creating {}", s.path))?;
            Ok(Arc::new(object_store::local::LocalFileSystem::new_with_prefix(&s.path)?))
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
