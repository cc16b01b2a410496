//! A test app on a fresh database: SQLite in a temporary file, or, when
//! `CMIS_TEST_PG_URL` names a PostgreSQL server, a new database on it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cmis_app::clock::FixedClock;
use cmis_app::{App, Settings, demo};
use cmis_store::Db;
use http_body_util::BodyExt;
use sea_orm::{ConnectionTrait, Database};
use tower::ServiceExt;

pub const CAPTCHA: &str = "test";

/// The instant every test app's clock stands at: `CMIS_TEST_NOW` (RFC 3339),
/// or a day in the middle of an inspection window. scripts/test runs the
/// suite again at the turn of a year.
pub fn test_now() -> chrono::DateTime<chrono::Utc> {
    let at = std::env::var("CMIS_TEST_NOW").ok().filter(|v| !v.is_empty());
    let at = at.unwrap_or_else(|| "2026-06-15T10:00:00+08:00".into());
    chrono::DateTime::parse_from_rfc3339(&at).expect("CMIS_TEST_NOW is RFC 3339").to_utc()
}

/// The year inspected now: the year before today's, in China.
pub fn inspected() -> i32 {
    chrono::Datelike::year(&cmis_app::clock::date_of(test_now())) - 1
}

/// `text` with {P}, {Y} and {N} filled in: the year before the inspected one,
/// the inspected year, and this year.
pub fn years(text: &str) -> String {
    let y = inspected();
    text.replace("{P}", &(y - 1).to_string()).replace("{Y}", &y.to_string()).replace("{N}", &(y + 1).to_string())
}
pub const PASSWORD: &str = demo::DEMO_PASSWORD;

pub struct TestApp {
    pub app: Arc<App>,
    /// The app's clock, to move forward.
    pub clock: FixedClock,
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

pub const PII_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
pub const SIGN_KEY: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

/// Keys given, files in memory, and a data directory outside the source tree:
/// a test writes nothing beside the code (scripts/test checks).
pub fn settings() -> Settings {
    let mut s = Settings {
        data_dir: std::env::temp_dir().join("cmis-test-data").display().to_string(),
        pii_key: PII_KEY.into(),
        sign_key: SIGN_KEY.into(),
        dev_outbox: true,
        ..Settings::default()
    };
    s.storage.kind = "memory".into();
    s
}

/// An app on `db` with the test clock (for tests that build their own).
pub async fn app_on(db: Db, s: Settings) -> App {
    App::with_clock(db, s, Arc::new(FixedClock::at(test_now()))).await.unwrap()
}

impl TestApp {
    /// A fresh database with a few demo accounts of every type.
    pub async fn new() -> TestApp {
        TestApp::with_settings(|_| {}).await
    }

    /// A fresh database, with settings changed by `f`.
    pub async fn with_settings(f: impl FnOnce(&mut Settings)) -> TestApp {
        let (db, url, dir) = database_with_url().await;
        let mut s = settings();
        f(&mut s);
        let clock = FixedClock::at(test_now());
        let app = App::with_clock(db, s, Arc::new(clock.clone())).await.unwrap().with_fixed_captcha(CAPTCHA);
        demo::generate(&app, &demo_options(), &|_, _, _| {}).await.unwrap();
        let app = Arc::new(app);
        TestApp { router: web(app.clone()), app, clock, url, _dir: dir }
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
        web(Arc::new(self.second_instance_app().await))
    }

    /// The application of another instance on the same database.
    pub async fn second_instance_app(&self) -> App {
        let db = Db::connect(&self.url).await.unwrap();
        let app = App::with_clock(db, settings(), Arc::new(self.clock.clone())).await.unwrap();
        app.with_fixed_captcha(CAPTCHA)
    }

    /// Runs the jobs that wait (the worker of `cmis serve`); returns how many ended.
    pub async fn run_jobs(&self) -> usize {
        cmis_app::jobs::run_due(&self.app).await.unwrap()
    }

    pub fn client(&self) -> Client {
        Client {
            router: self.router.clone(),
            cookies: HashMap::new(),
            address: format!("10.0.{}.{}", rand_byte(), rand_byte()),
            token: None,
        }
    }

    /// The user id of a login name.
    pub async fn login_id(&self, login: &str) -> i32 {
        use cmis_store::entity::user;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let u = user::Entity::find().filter(user::Column::LoginName.eq(login)).one(self.app.db.conn()).await.unwrap();
        u.unwrap().id
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
    cmis_web::router(app, cmis_web::WebOptions { secure_cookies: false, trusted_proxies: 1 })
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
    /// The body as sent (a download).
    pub bytes: bytes::Bytes,
}

impl Response {
    pub fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

/// A browser-like client: keeps cookies, and the CSRF token of the last page
/// that had one (forgotten when the browser secret or the session changes).
pub struct Client {
    pub router: Router,
    pub cookies: HashMap<String, String>,
    pub address: String,
    pub token: Option<String>,
}

/// The CSRF token a page carries, in a form field or the shell's meta tag.
pub fn token_in(body: &str) -> Option<String> {
    ["name=\"_csrf\" value=\"", "<meta name=\"csrf-token\" content=\""].iter().find_map(|start| {
        let i = body.find(start)? + start.len();
        Some(body[i..i + body[i..].find('"')?].to_owned())
    })
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
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(t) = token_in(&body) {
            self.token = Some(t);
        }
        let had_secret = self.cookies.contains_key("cmis_csrf");
        for v in headers.get_all(header::SET_COOKIE) {
            let s = v.to_str().unwrap();
            let (kv, _) = s.split_once(';').unwrap_or((s, ""));
            let (k, val) = kv.split_once('=').unwrap();
            if s.contains("Max-Age=0") || s.contains("max-age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), val.to_owned());
            }
            // A new browser secret (the user changed): earlier tokens are void.
            if k == "cmis_csrf" && had_secret {
                self.token = None;
            }
        }
        Response { status, headers, body, bytes }
    }

    pub async fn get(&mut self, path: &str) -> Response {
        self.send(Request::get(path).body(Body::empty()).unwrap()).await
    }

    /// The token of the last page seen (empty if none).
    pub fn csrf(&self) -> String {
        self.token.clone().unwrap_or_default()
    }

    /// A token valid now: from the last page, or from the portal.
    pub async fn fresh_csrf(&mut self) -> String {
        if self.token.is_none() {
            self.get("/").await;
        }
        self.csrf()
    }

    /// Posts a form with the CSRF token added.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.fresh_csrf().await;
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

    /// Opens the portal, and the captcha its login box draws when first used.
    pub async fn portal_captcha(&mut self) -> String {
        let portal = self.get("/").await;
        assert!(!portal.body.contains("name=\"captcha_id\""), "the portal draws no captcha before the form is used");
        let captcha = self.get("/captcha/login").await;
        assert_eq!(captcha.status, 200, "{}", captcha.body);
        between(&captcha.body, "name=\"captcha_id\" value=\"", "\"").to_owned()
    }

    /// Opens the portal (for a captcha) and logs in.
    pub async fn login(&mut self, user_type: &str, login: &str, password: &str) -> Response {
        self.login_with_captcha(user_type, login, password, CAPTCHA).await
    }

    pub async fn login_with_captcha(&mut self, user_type: &str, login: &str, password: &str, answer: &str) -> Response {
        let captcha_id = self.portal_captcha().await;
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
        let token = self.fresh_csrf().await;
        let mut body = Vec::new();
        // The token comes first, as the forms send it.
        let mut fields: Vec<(&str, &str)> = fields.to_vec();
        fields.insert(0, ("_csrf", &token));
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
        self.send(
            Request::post(path)
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

/// A captcha of the JSON API (its answer is `CAPTCHA` in tests).
pub async fn api_captcha(c: &mut Client) -> String {
    let (_, cap) = c.json("GET", "/api/v1/captcha", None, serde_json::json!(null)).await;
    cap["id"].as_str().unwrap().to_owned()
}

/// A bearer token for an account, through the JSON API's login.
pub async fn api_login(c: &mut Client, user_type: &str, login: &str, password: &str) -> String {
    let body = serde_json::json!({ "user_type": user_type, "login_name": login, "password": password,
        "captcha_id": api_captcha(c).await, "captcha": CAPTCHA });
    let (s, r) = c.json("POST", "/api/v1/auth/login", None, body).await;
    assert_eq!(s, 200, "{r}");
    r["token"].as_str().unwrap().to_owned()
}

/// A browser logged in as the first demo member.
pub async fn member_client(t: &TestApp) -> Client {
    let mut c = t.client();
    let r = c.login("member", &t.login_of(cmis_domain::UserType::NonPracticingMember).await, PASSWORD).await;
    assert_eq!(r.location(), "/home");
    c
}

impl Client {
    /// Another browser tab: the same cookies and address.
    pub fn tab(&self) -> Client {
        Client {
            router: self.router.clone(),
            cookies: self.cookies.clone(),
            address: self.address.clone(),
            token: self.token.clone(),
        }
    }
}
