//! The system's keys: the personal-information key and the certificate
//! signing key, each from the configuration or from a key file in the data
//! directory, made on first start so that a default installation needs no
//! setup. The database keeps a fingerprint of each key (never the key), and
//! the system refuses to start with a key that is missing or different from
//! the one its data was written with: a restore without `pii.key` would
//! otherwise make a new key, fail to read every ID number, and write new
//! rows that the old key cannot read.
//!
//! Secondary secrets (captchas, CSRF tokens, reset codes) are derived from
//! the personal-information key, so that every instance that shares it agrees
//! on them and there is nothing more to back up.

use std::path::Path;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::Utc;
use cmis_store::Db;
use cmis_store::entity::{cpa, key_fingerprint, member, member_admission};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sea_orm::sea_query::OnConflict;
use sea_orm::{EntityTrait, PaginatorTrait, Set};
use sha2::Sha256;

/// Which key, for messages and the fingerprint row.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec<'a> {
    /// `pii_key` or `sign_key`: the setting's name.
    pub name: &'static str,
    /// The configured base64 value; empty to use the file.
    pub value: &'a str,
    pub file: &'a Path,
}

/// A keyed digest with a label, for fingerprints and derived secrets.
pub fn derive(key: &[u8; 32], label: &str) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    mac.update(b"cmis/");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Whether the database already holds personal information encrypted with some key.
pub async fn holds_personal_data(db: &Db) -> anyhow::Result<bool> {
    let c = db.conn();
    Ok(member::Entity::find().count(c).await? > 0
        || cpa::Entity::find().count(c).await? > 0
        || member_admission::Entity::find().count(c).await? > 0)
}

/// The key of `spec`, checked against the fingerprint the database recorded.
/// `fingerprint` names the key without revealing it.
pub async fn load(
    db: &Db,
    now: chrono::DateTime<Utc>,
    spec: KeySpec<'_>,
    data_written: bool,
    fingerprint: impl Fn(&[u8; 32]) -> String,
) -> anyhow::Result<[u8; 32]> {
    let recorded =
        key_fingerprint::Entity::find_by_id(spec.name.to_owned()).one(db.conn()).await?.map(|r| r.fingerprint);
    let encoded = if !spec.value.is_empty() {
        spec.value.to_owned()
    } else if spec.file.exists() {
        std::fs::read_to_string(spec.file).with_context(|| format!("reading {}", spec.file.display()))?
    } else if recorded.is_some() || data_written {
        anyhow::bail!(
            "the database holds data written with a {name} that is not here: restore the key file {file} \
             (or set {name}) from your backup; a new key would not read the data and would write rows the \
             old key cannot read",
            name = spec.name,
            file = spec.file.display()
        );
    } else {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        write_private(spec.file, &B64.encode(key))?;
        tracing::info!(file = %spec.file.display(), "made a new {}", spec.name);
        B64.encode(key)
    };
    let bytes = B64.decode(encoded.trim()).with_context(|| format!("{} is not base64", spec.name))?;
    let key: [u8; 32] = bytes.try_into().map_err(|_| anyhow::anyhow!("{} must be 32 bytes", spec.name))?;
    let fp = fingerprint(&key);
    if recorded.is_none() {
        // Two instances starting at once both try; the first one's fingerprint stands.
        key_fingerprint::Entity::insert(key_fingerprint::ActiveModel {
            name: Set(spec.name.to_owned()),
            fingerprint: Set(fp.clone()),
            created_at: Set(now),
        })
        .on_conflict(OnConflict::column(key_fingerprint::Column::Name).do_nothing().to_owned())
        .exec_without_returning(db.conn())
        .await?;
    }
    let stored = key_fingerprint::Entity::find_by_id(spec.name.to_owned())
        .one(db.conn())
        .await?
        .map(|r| r.fingerprint)
        .unwrap_or_default();
    anyhow::ensure!(
        stored == fp,
        "{name} is not the key this database was written with (its fingerprint differs): \
         configure the original {name} or restore {file}",
        name = spec.name,
        file = spec.file.display()
    );
    Ok(key)
}

fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path).with_context(|| format!("creating {}", path.display()))?.write_all(content.as_bytes())?;
    Ok(())
}

/// Secrets derived from the personal-information key, one per purpose.
pub struct Secrets {
    /// Binds a form's CSRF token to its browser and its user.
    pub csrf: [u8; 32],
    /// Seals a captcha's answer into its id.
    pub captcha: [u8; 32],
    /// Keys the hash of a password-reset code.
    pub reset_code: [u8; 32],
    /// Keys the hash of API tokens and recovery proofs.
    pub token: [u8; 32],
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

impl Secrets {
    pub fn derive(pii_key: &[u8; 32]) -> Secrets {
        Secrets {
            csrf: derive(pii_key, "csrf"),
            captcha: derive(pii_key, "captcha"),
            reset_code: derive(pii_key, "reset-code"),
            token: derive(pii_key, "token"),
        }
    }

    /// A keyed hash of `parts`, hex, with `key`.
    pub fn mac(key: &[u8; 32], parts: &[&[u8]]) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
        for p in parts {
            mac.update(&(p.len() as u64).to_be_bytes());
            mac.update(p);
        }
        hex::encode(mac.finalize().into_bytes())
    }
}
