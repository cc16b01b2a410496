//! A test app on a fresh database: SQLite in a temporary file, or, when
//! `CMIS_TEST_PG_URL` names a PostgreSQL server, a new database on it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cmis_app::{App, Settings, demo};
use cmis_store::Db;
use http_body_util::BodyExt;
use sea_orm::{ConnectionTrait, Database};
use tower::ServiceExt;

pub const CAPTCHA: &str = "test";
pub const PASSWORD: &str = demo::DEMO_PASSWORD;

pub struct TestApp {
    pub app: Arc<App>,
    pub router: Router,
    /// The database's URL, for a second instance on the same data.
    pub url: String,
    _dir: Option<TempDir>,
}

pub struct TempDir(pub std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn unique() -> String {
    use rand::Rng;
    format!("{:016x}", rand::rng().random::<u64>())
}

pub async fn database() -> (Db, Option<TempDir>) {
    let (db, _, dir) = database_with_url().await;
    (db, dir)
}

pub async fn database_with_url() -> (Db, String, Option<TempDir>) {
    match std::env::var("CMIS_TEST_PG_URL") {
        Ok(admin) if !admin.is_empty() => {
            let name = format!("cmis_test_{}", unique());
            let conn = Database::connect(&admin).await.expect("PostgreSQL for tests");
            conn.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create database");
            conn.close().await.ok();
            let base = admin.rsplit_once('/').expect("url with a database").0;
            let url = format!("{base}/{name}");
            (Db::open(&url).await.expect("open"), url, None)
        }
        _ => {
            let dir = std::env::temp_dir().join(format!("cmis-test-{}", unique()));
            std::fs::create_dir_all(&dir).unwrap();
            let url = format!("sqlite://{}/t.sqlite3?mode=rwc", dir.display());
            (Db::open(&url).await.expect("open"), url, Some(TempDir(dir)))
        }
    }
}

pub fn settings() -> Settings {
    let mut s = Settings {
        pii_key: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into(),
        dev_outbox: true,
        ..Settings::default()
    };
    s.storage.kind = "memory".into();
    s
}

impl TestApp {
    /// A fresh database with a few demo accounts of every type.
    pub async fn new() -> TestApp {
        let (db, url, dir) = database_with_url().await;
        let app = App::new(db, settings()).await.unwrap().with_fixed_captcha(CAPTCHA);
        demo::generate(&app, &demo_options(), &|_, _, _| {}).await.unwrap();
        let app = Arc::new(app);
        TestApp { router: web(app.clone()), app, url, _dir: dir }
    }

    /// A fresh database, with settings changed by `f`.
    pub async fn with_settings(f: impl FnOnce(&mut Settings)) -> TestApp {
        let (db, url, dir) = database_with_url().await;
        let mut s = settings();
        f(&mut s);
        let app = App::new(db, s).await.unwrap().with_fixed_captcha(CAPTCHA);
        demo::generate(&app, &demo_options(), &|_, _, _| {}).await.unwrap();
        let app = Arc::new(app);
        TestApp { router: web(app.clone()), app, url, _dir: dir }
    }

    /// Also listening on a loopback port, for calls the system makes to itself
    /// over HTTP (the development payment provider). `f` gets the address.
    pub async fn served(f: impl FnOnce(&mut Settings, &str)) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let t = TestApp::with_settings(|s| {
            s.public_url = base.clone();
            f(s, &base);
        })
        .await;
        let router = t.router.clone();
        tokio::spawn(async move {
            axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).await.unwrap();
        });
        t
    }

    /// Another instance of the system on the same database.
    pub async fn second_instance(&self) -> Router {
        let db = Db::connect(&self.url).await.unwrap();
        web(Arc::new(App::new(db, settings()).await.unwrap().with_fixed_captcha(CAPTCHA)))
    }

    pub fn client(&self) -> Client {
        Client {
            router: self.router.clone(),
            cookies: HashMap::new(),
            address: format!("10.0.{}.{}", rand_byte(), rand_byte()),
        }
    }

    /// The login names the demo gave each role.
    pub async fn login_of(&self, t: cmis_domain::UserType) -> String {
        use cmis_store::entity::user;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        user::Entity::find()
            .filter(user::Column::UserType.eq(t.code()))
            .order_by_asc(user::Column::Id)
            .one(self.app.db.conn())
            .await
            .unwrap()
            .unwrap()
            .login_name
    }
}

fn web(app: Arc<App>) -> Router {
    cmis_web::router(app, cmis_web::WebOptions { secure_cookies: false, trust_forwarded: true })
}

fn rand_byte() -> u8 {
    use rand::Rng;
    rand::rng().random()
}

pub fn demo_options() -> demo::Options {
    demo::Options { members: 6, firms: 3, max_cpas_per_firm: 3, seed: 7 }
}

pub struct Response {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Response {
    pub fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

/// A browser-like client: keeps cookies, finds the CSRF token in pages.
pub struct Client {
    pub router: Router,
    pub cookies: HashMap<String, String>,
    pub address: String,
}

impl Client {
    pub async fn send(&mut self, req: Request<Body>) -> Response {
        let mut req = req;
        let cookie: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if !cookie.is_empty() {
            req.headers_mut().insert(header::COOKIE, cookie.join("; ").parse().unwrap());
        }
        req.headers_mut().insert("x-forwarded-for", self.address.parse().unwrap());
        let res = self.router.clone().oneshot(req).await.unwrap();
        for v in res.headers().get_all(header::SET_COOKIE) {
            let s = v.to_str().unwrap();
            let (kv, _) = s.split_once(';').unwrap_or((s, ""));
            let (k, val) = kv.split_once('=').unwrap();
            if s.contains("Max-Age=0") || s.contains("max-age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), val.to_owned());
            }
        }
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Response { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    pub async fn get(&mut self, path: &str) -> Response {
        self.send(Request::get(path).body(Body::empty()).unwrap()).await
    }

    pub fn csrf(&self) -> String {
        self.cookies.get("cmis_csrf").cloned().unwrap_or_default()
    }

    /// Posts a form with the CSRF token added.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Response {
        if !self.cookies.contains_key("cmis_csrf") {
            self.get("/healthz").await;
        }
        let mut all: Vec<(&str, String)> = fields.iter().map(|(k, v)| (*k, v.to_string())).collect();
        all.push(("_csrf", self.csrf()));
        self.post_raw(path, &all).await
    }

    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, String)]) -> Response {
        let body = fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&");
        self.send(
            Request::post(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    /// Opens the portal (for a captcha) and logs in.
    pub async fn login(&mut self, user_type: &str, login: &str, password: &str) -> Response {
        self.login_with_captcha(user_type, login, password, CAPTCHA).await
    }

    pub async fn login_with_captcha(&mut self, user_type: &str, login: &str, password: &str, answer: &str) -> Response {
        let portal = self.get("/").await;
        let captcha_id = between(&portal.body, "name=\"captcha_id\" value=\"", "\"").to_owned();
        self.post(
            "/login",
            &[
                ("user_type", user_type),
                ("login_name", login),
                ("password", password),
                ("captcha_id", &captcha_id),
                ("captcha", answer),
            ],
        )
        .await
    }

    pub async fn json(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: serde_json::Value,
    ) -> (StatusCode, serde_json::Value) {
        let mut b = Request::builder().method(method).uri(path).header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let body = if method == "GET" { Body::empty() } else { Body::from(body.to_string()) };
        let r = self.send(b.body(body).unwrap()).await;
        (r.status, serde_json::from_str(&r.body).unwrap_or(serde_json::Value::Null))
    }

    /// A multipart form with text fields and files: (field, file name, bytes).
    pub async fn multipart_fields(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> Response {
        let boundary = "----cmisboundary";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        for (name, file, bytes) in files {
            body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
            body.extend(*bytes);
            body.extend(b"\r\n");
        }
        body.extend(format!("--{boundary}--\r\n").as_bytes());
        let sep = if path.contains('?') { '&' } else { '?' };
        let uri = format!("{path}{sep}_csrf={}", self.csrf());
        self.send(
            Request::post(uri)
                .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    /// Files in the `file` field, as the attachment box sends them.
    pub async fn multipart(&mut self, path: &str, files: &[(&str, &[u8])]) -> Response {
        let files: Vec<(&str, &str, &[u8])> = files.iter().map(|(name, bytes)| ("file", *name, *bytes)).collect();
        self.multipart_fields(path, &[], &files).await
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let i = s.find(start).unwrap_or_else(|| panic!("{start:?} not in page")) + start.len();
    let j = s[i..].find(end).unwrap() + i;
    &s[i..j]
}
