use serde::Deserialize;

/// What the use cases need from configuration (the CLI reads the file and the
/// `CMIS_*` variables into this).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Where the system keeps its files by default: key files and local storage
    /// resolve against it (an absolute path stays as it is).
    pub data_dir: String,
    /// Base64 of 32 bytes: the key that encrypts personal information at rest.
    /// When empty, a key file in the data directory is made on first start (`pii_key_file`).
    pub pii_key: String,
    pub pii_key_file: String,
    pub storage: StorageSettings,
    /// Base64 of 32 bytes: the Ed25519 key that signs certificate QR codes.
    /// When empty, a key file is made on first start (`sign_key_file`).
    pub sign_key: String,
    pub sign_key_file: String,
    /// The address people reach the system at, for links printed in QR codes.
    pub public_url: String,
    /// The address the QR code of the notification account (“中国注册会计师协会
    /// 行业管理信息系统”公众号) opens, shown to people recovering a password
    /// whose account is not bound (seed 000 appendix, PC step 3). Empty: this
    /// system's own 找回密码 page, which a phone opens the same way.
    pub follow_url: String,
    /// Show the development outbox page (SMS and mail that were "sent").
    pub dev_outbox: bool,
    /// How long a login session lasts without activity, in minutes.
    pub session_minutes: i64,
    pub payment: PaymentSettings,
    pub face: FaceSettings,
    pub regulator: RegulatorSettings,
}

/// The face verification provider (人脸认证) of the CPAs' annual check.
/// Empty `provider`: no online check; CPAs are verified in person at the
/// association (线下人工核验).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FaceSettings {
    /// `dev` (the development provider, served by this system) or empty.
    pub provider: String,
    /// The secret requests and notifications are signed with.
    pub secret: String,
    /// The provider's address; for `dev`, defaults to public_url.
    pub url: String,
}

/// The regulator's interface (注册会计师行业统一监管平台) `cmis sync` pulls from.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RegulatorSettings {
    /// A GET answering the current records as JSON lines; empty: files only.
    pub url: String,
    /// Sent as a bearer token.
    pub token: String,
}

/// The payment provider for fees (去支付). Empty `provider`: no online payment;
/// members pay elsewhere and the association confirms (待确认).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PaymentSettings {
    /// `dev` (the development provider, served by this system) or empty.
    pub provider: String,
    /// The secret notifications are signed with.
    pub secret: String,
    /// The provider's address; for `dev`, defaults to public_url.
    pub url: String,
}

impl Settings {
    /// A path from the configuration, against the data directory.
    pub fn in_data_dir(&self, path: &str) -> std::path::PathBuf {
        std::path::Path::new(&self.data_dir).join(path)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data_dir: "data".into(),
            pii_key: String::new(),
            pii_key_file: "pii.key".into(),
            sign_key: String::new(),
            sign_key_file: "sign.key".into(),
            public_url: String::new(),
            follow_url: String::new(),
            storage: StorageSettings::default(),
            dev_outbox: false,
            session_minutes: 30,
            payment: PaymentSettings::default(),
            face: FaceSettings::default(),
            regulator: RegulatorSettings::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct StorageSettings {
    /// `local` or `s3`.
    pub kind: String,
    /// For `local`: the directory (relative to `data_dir`).
    pub path: String,
    pub bucket: String,
    pub endpoint: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// For S3-compatible stores reached over plain HTTP inside a private network.
    pub allow_http: bool,
}

impl Default for StorageSettings {
    fn default() -> Self {
        StorageSettings {
            kind: "local".into(),
            path: "files".into(),
            bucket: String::new(),
            endpoint: String::new(),
            region: "us-east-1".into(),
            access_key_id: String::new(),
            secret_access_key: String::new(),
            allow_http: false,
        }
    }
}
