//! Where the regulator's data comes from: a file someone was given, or the
//! regulator's interface, pulled. Both give the same bytes to the same
//! importer (`regulator::run`).

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

/// The most a pull may bring: the national data is about 50 MB as JSON lines.
pub const MAX_BYTES: u64 = 256 * 1024 * 1024;

/// What one pull brought.
pub struct Fetched {
    /// What the run is recorded as coming from.
    pub source: String,
    pub bytes: Bytes,
}

#[async_trait]
pub trait RegulatorFeed: Send + Sync {
    async fn fetch(&self) -> anyhow::Result<Fetched>;
}

/// A file on this machine (`cmis sync --file`).
pub struct FileFeed(pub PathBuf);

#[async_trait]
impl RegulatorFeed for FileFeed {
    async fn fetch(&self) -> anyhow::Result<Fetched> {
        use tokio::io::AsyncReadExt;
        // Read up to the limit whatever the file says of its length (a device
        // or a pipe says 0).
        let mut bytes = Vec::new();
        tokio::fs::File::open(&self.0).await?.take(MAX_BYTES + 1).read_to_end(&mut bytes).await?;
        anyhow::ensure!(bytes.len() as u64 <= MAX_BYTES, "{} is larger than {} MB", self.0.display(), MAX_BYTES >> 20);
        let name = self.0.file_name().map_or_else(|| self.0.display().to_string(), |n| n.to_string_lossy().into());
        Ok(Fetched { source: format!("文件 {name}"), bytes: bytes.into() })
    }
}

/// The regulator's interface: a GET that answers the current records as
/// JSON lines, with a bearer token (`regulator.url`, `regulator.token`).
pub struct HttpFeed {
    pub url: String,
    pub token: String,
    http: reqwest::Client,
}

impl HttpFeed {
    pub fn new(url: &str, token: &str) -> anyhow::Result<HttpFeed> {
        anyhow::ensure!(url.starts_with("https://") || url.starts_with("http://"), "regulator.url must be http(s)");
        Ok(HttpFeed {
            url: url.to_owned(),
            token: token.to_owned(),
            http: reqwest::Client::builder().timeout(Duration::from_secs(600)).build()?,
        })
    }
}

#[async_trait]
impl RegulatorFeed for HttpFeed {
    async fn fetch(&self) -> anyhow::Result<Fetched> {
        let mut res = self.http.get(&self.url).bearer_auth(&self.token).send().await?.error_for_status()?;
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await? {
            body.extend_from_slice(&chunk);
            anyhow::ensure!(
                body.len() as u64 <= MAX_BYTES,
                "the regulator's answer is larger than {} MB",
                MAX_BYTES >> 20
            );
        }
        Ok(Fetched { source: "注册会计师行业统一监管平台接口".into(), bytes: body.into() })
    }
}
