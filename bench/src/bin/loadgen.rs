//! A small load generator for multi-step scenarios (a login needs a captcha
//! and the CSRF cookie first). Bounded in time, loopback only. Prints one
//! markdown table row: requests/s, p50, p99, errors. One program, longer
//! than most, so that a scenario and the requests it sends read top to bottom.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;

#[derive(Parser, Clone)]
struct Args {
    /// The server, or several (comma-separated instances on one database):
    /// client `i` uses the `i`-th, round robin.
    #[arg(long)]
    url: String,
    /// portal | login | argon2 | home | qr | verify | reference | deadline (each account once, the whole flow) | admission-submit | admission-progress | inspection-submit | review-queue
    /// | batch-pass (`accounts`: lines of staff login, tab, an application waiting for that association)
    /// | cpa-face (`accounts`: CPAs who may apply; each applies once, through the face check)
    #[arg(long)]
    scenario: String,
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// A file of member login names, one a line.
    #[arg(long)]
    accounts: String,
    #[arg(long, default_value = "Cmis2026")]
    password: String,
    #[arg(long, default_value = "2468")]
    captcha: String,
    /// Label for the table row.
    #[arg(long)]
    label: String,
    /// For `admission-submit`: where to write the business numbers;
    /// for `admission-progress`: where to read them.
    #[arg(long, default_value = "bench/data/business-numbers.txt")]
    business_numbers: String,
}

/// A valid resident ID (GB 11643) for person `k`, unique for k < 10 million.
fn resident_id(k: u64) -> (String, String, &'static str) {
    let days = (k % 10_000) as i64;
    let birth = chrono_like(days);
    let seq = (k / 10_000) % 1000;
    let first17 = format!("330106{birth}{seq:03}");
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.bytes().zip(W).map(|(d, w)| (d - b'0') as u32 * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    let sex = if seq % 2 == 1 { "M" } else { "F" };
    let iso = format!("{}-{}-{}", &birth[..4], &birth[4..6], &birth[6..]);
    (format!("{first17}{check}"), iso, sex)
}

/// YYYYMMDD of 1970-01-01 plus `days` (civil calendar, no dependency).
fn chrono_like(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}{m:02}{d:02}")
}

/// A 1 KB JPEG-looking photo: the server checks the magic bytes, the size
/// and the frame's dimensions (here 413 × 579, an ID photo's).
fn photo() -> Vec<u8> {
    let mut p = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0];
    p.extend_from_slice(&[0xFF, 0xC0, 0, 0x11, 8, 0x02, 0x43, 0x01, 0x9D, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    p.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0]);
    p.resize(1022, 0x20);
    p.extend_from_slice(&[0xFF, 0xD9]);
    p
}

/// 阅读入会须知 → 验证 (untimed), then the timed POST of the application.
async fn submit_application(c: &reqwest::Client, a: &Args, k: u64) -> anyhow::Result<(Duration, String)> {
    let mut jar = Jar::default();
    get(c, &mut jar, &format!("{}/member-admission", a.url)).await?;
    let csrf = jar.token();
    let post = |path: &str, body: String, jar: &Jar| {
        c.post(format!("{}{path}", a.url))
            .header("cookie", jar.header())
            .header("x-forwarded-for", &jar.2)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    };
    let r = post("/member-admission/accept", format!("_csrf={csrf}&accept=1"), &jar).send().await?;
    jar.take(&r);
    let (_, page) = get(c, &mut jar, &format!("{}/member-admission/verify", a.url)).await?;
    let captcha_id = between(&page, "name=\"captcha_id\" value=\"", "\"").unwrap_or_default().to_owned();
    let r =
        post("/member-admission/verify", format!("_csrf={csrf}&captcha_id={captcha_id}&captcha={}", a.captcha), &jar)
            .send()
            .await?;
    jar.take(&r);
    let (id, birth, sex) = resident_id(k);
    let mut form = reqwest::multipart::Form::new().text("_csrf", csrf);
    for (name, value) in [
        ("name", "压测申请人".to_owned()),
        ("sex", sex.to_owned()),
        ("id_type", "resident".to_owned()),
        ("id_number", id),
        ("birth_date", birth),
        ("ethnicity", "汉族".to_owned()),
        ("political_status", "群众".to_owned()),
        ("region", "33".to_owned()),
        ("mobile", "13912345678".to_owned()),
        ("email", "bench@example.cn".to_owned()),
        ("mailing_address", "杭州市西湖区文三路100号".to_owned()),
        ("postal_code", "310012".to_owned()),
        ("employment_status", "在职".to_owned()),
        ("work_unit", "浙江某集团有限公司".to_owned()),
        ("unit_nature", "民营企业".to_owned()),
        ("education", "大学本科".to_owned()),
        ("school", "浙江财经大学".to_owned()),
        ("qualification_method", "exam".to_owned()),
        // Years 90–99 keep clear of the demo members' certificates.
        ("exam_cert_no", format!("QZ{}33{:05}", 90 + (k / 100_000) % 10, k % 100_000)),
        ("exam_year", "2023".to_owned()),
    ] {
        form = form.text(name, value);
    }
    for i in 0..6 {
        form = form.text("declaration", i.to_string());
    }
    form = form.part("photo", reqwest::multipart::Part::bytes(photo()).file_name("photo.jpg"));
    let t = Instant::now();
    let res = c
        .post(format!("{}/member-admission/apply", a.url))
        .header("cookie", jar.header())
        .header("x-forwarded-for", &jar.2)
        .multipart(form)
        .send()
        .await?;
    let took = t.elapsed();
    let location = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    anyhow::ensure!(res.status().as_u16() == 303 && location.contains("no="), "application refused: {}", res.status());
    Ok((took, location.rsplit('=').next().unwrap_or_default().to_owned()))
}

/// 业务编号查询: the captcha page untimed, then the timed query.
async fn query_progress(c: &reqwest::Client, a: &Args, no: &str) -> anyhow::Result<Duration> {
    let mut jar = Jar::default();
    let (_, page) = get(c, &mut jar, &format!("{}/member-admission/progress/number", a.url)).await?;
    let captcha_id = between(&page, "name=\"captcha_id\" value=\"", "\"").unwrap_or_default().to_owned();
    let csrf = jar.token();
    let t = Instant::now();
    let res = c
        .post(format!("{}/member-admission/progress/number", a.url))
        .header("cookie", jar.header())
        .header("x-forwarded-for", &jar.2)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("_csrf={csrf}&business_no={no}&captcha_id={captcha_id}&captcha={}", a.captcha))
        .send()
        .await?;
    let status = res.status().as_u16();
    let body = res.text().await?;
    let took = t.elapsed();
    anyhow::ensure!(status == 200 && body.contains("地方注协待审核"), "progress query failed: {status}");
    Ok(took)
}

/// Cookies, the CSRF token of the last page that carried one (a token is
/// bound to the browser's secret and the logged-in user, so it comes from a
/// page), and the browser's own address: each browser comes from an address
/// of its own (sent as X-Forwarded-For; the servers trust one proxy), as
/// people at a deadline do, so that per-address limits count per person.
struct Jar(HashMap<String, String>, String, String);

static ADDRESSES: AtomicUsize = AtomicUsize::new(0);

impl Default for Jar {
    fn default() -> Jar {
        let n = ADDRESSES.fetch_add(1, Ordering::Relaxed);
        Jar(HashMap::new(), String::new(), format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255))
    }
}

impl Jar {
    fn token(&self) -> String {
        self.1.clone()
    }
    fn read_token(&mut self, page: &str) {
        let field = between(page, "name=\"_csrf\" value=\"", "\"");
        if let Some(t) = field.or_else(|| between(page, "<meta name=\"csrf-token\" content=\"", "\"")) {
            self.1 = t.to_owned();
        }
    }
    fn header(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }
    fn take(&mut self, res: &reqwest::Response) {
        for v in res.headers().get_all("set-cookie") {
            if let Ok(s) = v.to_str() {
                let kv = s.split(';').next().unwrap_or("");
                if let Some((k, v)) = kv.split_once('=') {
                    self.0.insert(k.to_owned(), v.to_owned());
                }
            }
        }
    }
}

fn between<'a>(s: &'a str, a: &str, b: &str) -> Option<&'a str> {
    let i = s.find(a)? + a.len();
    let j = s[i..].find(b)? + i;
    Some(&s[i..j])
}

async fn get(c: &reqwest::Client, jar: &mut Jar, url: &str) -> anyhow::Result<(u16, String)> {
    let res = c.get(url).header("cookie", jar.header()).header("x-forwarded-for", &jar.2).send().await?;
    jar.take(&res);
    let status = res.status().as_u16();
    let page = res.text().await?;
    jar.read_token(&page);
    Ok((status, page))
}

/// Opens the portal, then logs in as a member. Returns the POST's latency.
async fn login(c: &reqwest::Client, jar: &mut Jar, a: &Args, user: &str) -> anyhow::Result<Duration> {
    login_as(c, jar, a, "member", user).await
}

async fn login_as(
    c: &reqwest::Client,
    jar: &mut Jar,
    a: &Args,
    user_type: &str,
    user: &str,
) -> anyhow::Result<Duration> {
    get(c, jar, &format!("{}/", a.url)).await?;
    let csrf = jar.token();
    // The login box draws its captcha when first used.
    let (_, captcha) = get(c, jar, &format!("{}/captcha/login", a.url)).await?;
    let captcha_id = between(&captcha, "name=\"captcha_id\" value=\"", "\"").unwrap_or_default().to_owned();
    let body = format!(
        "_csrf={csrf}&user_type={user_type}&login_name={user}&password={}&captcha_id={captcha_id}&captcha={}",
        a.password, a.captcha
    );
    let t = Instant::now();
    let res = c
        .post(format!("{}/login", a.url))
        .header("cookie", jar.header())
        .header("x-forwarded-for", &jar.2)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await?;
    let took = t.elapsed();
    jar.take(&res);
    // The user changed: tokens from before the login are void.
    jar.1.clear();
    let ok =
        res.status().as_u16() == 303 && res.headers().get("location").and_then(|v| v.to_str().ok()) == Some("/home");
    if !ok {
        let status = res.status();
        let page = res.text().await.unwrap_or_default();
        let why = ["class=\"alert\" role=\"alert\">", "class=\"field-error\">"]
            .iter()
            .find_map(|m| between(&page, m, "<"))
            .unwrap_or("");
        anyhow::bail!("login of {user} refused: {status} {why}");
    }
    Ok(took)
}

async fn post_form(
    c: &reqwest::Client,
    jar: &mut Jar,
    url: &str,
    fields: &[(&str, &str)],
) -> anyhow::Result<reqwest::Response> {
    if jar.1.is_empty() {
        get(c, jar, url.split("/").take(3).collect::<Vec<_>>().join("/").as_str()).await?;
    }
    let csrf = jar.token();
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    all.push(("_csrf", &csrf));
    let body = serde_urlencoded(&all);
    let res = c
        .post(url)
        .header("cookie", jar.header())
        .header("x-forwarded-for", &jar.2)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await?;
    jar.take(&res);
    Ok(res)
}

fn serde_urlencoded(fields: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

fn location(res: &reqwest::Response) -> &str {
    res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// The material every submission uploads: 1 MiB that the server takes for a PDF.
fn material() -> Vec<u8> {
    let mut p = b"%PDF-1.4\n".to_vec();
    p.resize(1024 * 1024, b' ');
    p
}

const MATERIAL: &str = "社保缴纳证明";

/// CICPA's default for 2025, as its staff save it: no fee, one required material.
async fn inspection_settings(c: &reqwest::Client, a: &Args) -> anyhow::Result<()> {
    let mut jar = Jar::default();
    login_as(c, &mut jar, a, "staff", "staffcicpa").await?;
    let res = post_form(
        c,
        &mut jar,
        &format!("{}/association/member-inspection-settings?year=2025", a.url),
        &[
            ("window_start", "2026-05-29"),
            ("window_end", "2026-12-31"),
            ("annual_hours", "40"),
            ("fee_yuan", "0"),
            ("materials", &format!("*{MATERIAL}")),
            ("pre_notice", ""),
            ("success_notice", "申请成功，请明年按时参加年检。"),
            ("max_deferral_years", "1"),
        ],
    )
    .await?;
    anyhow::ensure!(location(&res).contains("saved=1"), "settings not saved: {}", res.status());
    Ok(())
}

/// Logs a member in and completes 完善信息 (untimed): ready to submit.
async fn ready_member(c: &reqwest::Client, a: &Args, user: &str) -> anyhow::Result<Jar> {
    let mut jar = Jar::default();
    login(c, &mut jar, a, user).await?;
    complete_profile(c, a, &mut jar).await?;
    Ok(jar)
}

/// 完善信息: the profile form as a member fills it, then on to 年检申请.
async fn complete_profile(c: &reqwest::Client, a: &Args, jar: &mut Jar) -> anyhow::Result<()> {
    let res = post_form(
        c,
        jar,
        &format!("{}/member-inspection/profile", a.url),
        &[
            ("ethnicity", "汉族"),
            ("political_status", "中共党员"),
            ("mobile", "13800138000"),
            ("email", "member@example.cn"),
            ("mailing_address", "广州市天河区体育西路191号"),
            ("postal_code", "510620"),
            ("employment_status", "在职"),
            ("work_unit", "广州某会计咨询公司"),
            ("unit_nature", "民营企业"),
            ("education", "硕士研究生"),
            ("school", "中山大学"),
            ("exam_year", "2009"),
            ("go", "apply"),
        ],
    )
    .await?;
    anyhow::ensure!(location(&res) == "/member-inspection/apply", "profile not saved: {}", res.status());
    Ok(())
}

/// The deadline: one member's whole flow, timed from the portal to 退出登录:
/// log in, 首页, 年检申请 (完善信息 first where the profile is incomplete), the
/// material upload, 确认申请, log out.
async fn whole_flow(c: &reqwest::Client, a: &Args, user: &str, file: &[u8]) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let mut jar = Jar::default();
    login(c, &mut jar, a, user).await?;
    let (status, home) = get(c, &mut jar, &format!("{}/home", a.url)).await?;
    anyhow::ensure!(status == 200 && home.contains("基本信息"), "home: status {status}");
    let res = c
        .get(format!("{}/member-inspection/apply", a.url))
        .header("cookie", jar.header())
        .header("x-forwarded-for", &jar.2)
        .send()
        .await?;
    jar.take(&res);
    let to_profile = location(&res) == "/member-inspection/profile";
    let status = res.status().as_u16();
    let page = res.text().await?;
    jar.read_token(&page);
    if to_profile {
        get(c, &mut jar, &format!("{}/member-inspection/profile", a.url)).await?;
        complete_profile(c, a, &mut jar).await?;
        get(c, &mut jar, &format!("{}/member-inspection/apply", a.url)).await?;
    } else {
        anyhow::ensure!(status == 200, "年检申请: status {status}");
    }
    submit_inspection(c, a, &mut jar, file).await?;
    let res = post_form(c, &mut jar, &format!("{}/logout", a.url), &[]).await?;
    anyhow::ensure!(res.status().as_u16() == 303, "logout: {}", res.status());
    Ok(t.elapsed())
}

/// The timed submission: the 1 MiB material, then 确认申请.
async fn submit_inspection(c: &reqwest::Client, a: &Args, jar: &mut Jar, file: &[u8]) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let form = reqwest::multipart::Form::new().text("_csrf", jar.token()).text("label", MATERIAL).part(
        "file",
        reqwest::multipart::Part::bytes(file.to_vec()).file_name("社保缴纳证明.pdf").mime_str("application/pdf")?,
    );
    let res = c
        .post(format!("{}/member-inspection/materials", a.url))
        .header("cookie", jar.header())
        .header("x-forwarded-for", &jar.2)
        .multipart(form)
        .send()
        .await?;
    anyhow::ensure!(
        location(&res).starts_with("/member-inspection/apply/materials"),
        "upload refused: {}",
        res.status()
    );
    let res = post_form(c, jar, &format!("{}/member-inspection/apply", a.url), &[("commitment", "1")]).await?;
    anyhow::ensure!(location(&res).starts_with("/member-inspection/done/"), "submission refused: {}", res.status());
    Ok(t.elapsed())
}

const CPA_MATERIAL: &str = "注册会计师任职资格检查表";

/// A CPA logged in with the required material uploaded (untimed): ready for 确认申请.
async fn ready_cpa(c: &reqwest::Client, a: &Args, user: &str) -> anyhow::Result<Jar> {
    let mut jar = Jar::default();
    login_as(c, &mut jar, a, "cpa", user).await?;
    get(c, &mut jar, &format!("{}/cpa-check/materials", a.url)).await?;
    let form = reqwest::multipart::Form::new().text("_csrf", jar.token()).text("label", CPA_MATERIAL).part(
        "file",
        reqwest::multipart::Part::bytes(b"%PDF-1.4\n%%EOF\n".to_vec())
            .file_name("表.pdf")
            .mime_str("application/pdf")?,
    );
    let res = c
        .post(format!("{}/cpa-check/files", a.url))
        .header("cookie", jar.header())
        .header("x-forwarded-for", &jar.2)
        .multipart(form)
        .send()
        .await?;
    anyhow::ensure!(location(&res) == "/cpa-check/materials", "upload refused: {}", res.status());
    Ok(jar)
}

/// The timed application with its face check, as a phone does it: 确认申请 →
/// the agreement → 注意事项 → the provider's page, passed → the provider's
/// signed notification (the server's own development provider, over HTTP)
/// → back to the result page, which must say the check passed.
async fn cpa_face_flow(c: &reqwest::Client, a: &Args, jar: &mut Jar) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let res = post_form(c, jar, &format!("{}/cpa-check/apply", a.url), &[("channel", "phone")]).await?;
    let face = location(&res).to_owned();
    anyhow::ensure!(face.starts_with("/face/"), "确认申请 refused: {}", res.status());
    get(c, jar, &format!("{}{face}", a.url)).await?;
    let res = post_form(c, jar, &format!("{}{face}", a.url), &[("agree", "1")]).await?;
    anyhow::ensure!(location(&res).ends_with("/tips"), "agreement: {}", res.status());
    get(c, jar, &format!("{}{face}/tips", a.url)).await?;
    let res = c
        .get(format!("{}{face}/go", a.url))
        .header("cookie", jar.header())
        .header("x-forwarded-for", &jar.2)
        .send()
        .await?;
    let provider = location(&res).to_owned();
    anyhow::ensure!(provider.contains("/dev/face/h5/"), "hand-off: {}", res.status());
    get(c, jar, &provider).await?;
    let res = post_form(c, jar, &provider, &[("outcome", "pass")]).await?;
    anyhow::ensure!(location(&res).ends_with("/back"), "provider: {}", res.status());
    let (status, page) = get(c, jar, &format!("{}{face}/back", a.url)).await?;
    anyhow::ensure!(status == 200 && page.contains("人脸认证通过"), "result: {status}");
    Ok(t.elapsed())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let urls: Vec<String> = a.url.split(',').map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()).collect();
    anyhow::ensure!(
        !urls.is_empty() && urls.iter().all(|u| u.starts_with("http://127.0.0.1") || u.starts_with("http://localhost")),
        "load goes to loopback only"
    );
    if a.scenario == "argon2" {
        return argon2_rate(&a);
    }
    let first = Args { url: urls[0].clone(), ..a.clone() };
    let accounts: Arc<Vec<String>> = Arc::new(
        std::fs::read_to_string(&a.accounts)?.lines().map(|l| l.split('\t').next().unwrap_or("").to_owned()).collect(),
    );
    anyhow::ensure!(!accounts.is_empty(), "no accounts");
    // qr | verify: the public address in the accounts file's third or fourth column.
    let column = match a.scenario.as_str() {
        "qr" => 2,
        "verify" => 3,
        _ => 0,
    };
    let links: Arc<Vec<String>> = Arc::new(if column > 0 {
        std::fs::read_to_string(&a.accounts)?
            .lines()
            .filter_map(|l| l.split('\t').nth(column).map(str::to_owned))
            .collect()
    } else {
        Vec::new()
    });
    anyhow::ensure!(column == 0 || !links.is_empty(), "the accounts file has no links (cmis accounts --links)");
    let next = Arc::new(AtomicUsize::new(0));
    let numbers: Arc<Vec<String>> = Arc::new(if a.scenario == "admission-progress" {
        std::fs::read_to_string(&a.business_numbers)?.lines().map(str::to_owned).collect()
    } else {
        Vec::new()
    });
    let submitted = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    // Person numbers for new applications start past any earlier run's.
    let first_person = std::fs::read_to_string(&a.business_numbers).map(|s| s.lines().count() as u64).unwrap_or(0) + 1;
    // Untimed preparation (logins, 完善信息) ends at this barrier; the clock starts after it.
    let barrier = Arc::new(tokio::sync::Barrier::new(a.concurrency));
    let file = Arc::new(material());
    if a.scenario == "inspection-submit" || a.scenario == "deadline" {
        let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
        inspection_settings(&c, &first).await?;
    }
    let per_client = (accounts.len() / a.concurrency).clamp(1, 60);
    // batch-pass: the waiting applications of each association, taken 200 at a time.
    let mut waiting: HashMap<String, Vec<String>> = HashMap::new();
    if a.scenario == "batch-pass" {
        for l in std::fs::read_to_string(&a.accounts)?.lines() {
            if let Some((staff, id)) = l.split_once(['\t', '|']) {
                waiting.entry(staff.to_owned()).or_default().push(id.to_owned());
            }
        }
    }
    let mut groups: Vec<(String, Vec<String>)> = waiting.into_iter().filter(|(_, v)| v.len() >= 200).collect();
    groups.sort_by_key(|g| std::cmp::Reverse(g.1.len()));
    let groups: Arc<Vec<(String, std::sync::Mutex<Vec<String>>)>> =
        Arc::new(groups.into_iter().map(|(k, v)| (k, std::sync::Mutex::new(v))).collect());
    // Staff clients share a few accounts: their untimed logins go one at a
    // time, as concurrent attempts at one account count against its limit.
    let staff_login = Arc::new(tokio::sync::Mutex::new(()));
    let mut tasks = Vec::new();
    for client in 0..a.concurrency {
        let groups = groups.clone();
        let links = links.clone();
        let staff_login = staff_login.clone();
        let (a, accounts, next, numbers, submitted, barrier, file) = (
            Args { url: urls[client % urls.len()].clone(), ..a.clone() },
            accounts.clone(),
            next.clone(),
            numbers.clone(),
            submitted.clone(),
            barrier.clone(),
            file.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut jar = Jar::default();
            let pick = || accounts[next.fetch_add(1, Ordering::Relaxed) % accounts.len()].clone();
            if a.scenario == "home" {
                let user = pick();
                login(&c, &mut jar, &a, &user).await.expect("log in before measuring");
            }
            if a.scenario == "review-queue" {
                let _one = staff_login.lock().await;
                login_as(&c, &mut jar, &a, "staff", "staffcicpa").await.expect("log in before measuring");
            }
            let group = if a.scenario == "batch-pass" && !groups.is_empty() {
                let g = client % groups.len();
                let _one = staff_login.lock().await;
                login_as(&c, &mut jar, &a, "staff", &groups[g].0).await.expect("log in before measuring");
                Some(g)
            } else {
                None
            };
            // Each inspection submission needs a member of its own, logged in and with a complete profile.
            let mut ready = Vec::new();
            if a.scenario == "inspection-submit" {
                for _ in 0..per_client {
                    match ready_member(&c, &a, &pick()).await {
                        Ok(j) => ready.push(j),
                        Err(_) => errors += 1,
                    }
                }
            }
            if a.scenario == "cpa-face" {
                for _ in 0..per_client {
                    match ready_cpa(&c, &a, &pick()).await {
                        Ok(j) => ready.push(j),
                        Err(e) => {
                            eprintln!("client {client}: {e:#}");
                            errors += 1
                        }
                    }
                }
            }
            barrier.wait().await;
            let started = Instant::now();
            let deadline = started + Duration::from_secs(a.seconds);
            let mut page = 0u64;
            while Instant::now() < deadline {
                let r: anyhow::Result<Duration> = match a.scenario.as_str() {
                    "portal" => {
                        // Each view a new visitor: people at a deadline come from many addresses.
                        let mut fresh = Jar::default();
                        let t = Instant::now();
                        get(&c, &mut fresh, &format!("{}/", a.url)).await.and_then(|(s, _)| {
                            anyhow::ensure!(s == 200, "status {s}");
                            Ok(t.elapsed())
                        })
                    }
                    "login" => {
                        let mut fresh = Jar::default();
                        login(&c, &mut fresh, &a, &pick()).await
                    }
                    "home" => {
                        let t = Instant::now();
                        get(&c, &mut jar, &format!("{}/home", a.url)).await.and_then(|(s, body)| {
                            anyhow::ensure!(s == 200 && body.contains("基本信息"), "status {s}");
                            Ok(t.elapsed())
                        })
                    }
                    "qr" | "verify" => {
                        let path = &links[next.fetch_add(1, Ordering::Relaxed) % links.len()];
                        let mut fresh = Jar::default();
                        let t = Instant::now();
                        get(&c, &mut fresh, &format!("{}{path}", a.url)).await.and_then(|(s, body)| {
                            anyhow::ensure!(s == 200 && body.contains("有效"), "status {s}");
                            Ok(t.elapsed())
                        })
                    }
                    "reference" => {
                        let t = Instant::now();
                        get(&c, &mut jar, &format!("{}/ref/{}", a.url, pick())).await.and_then(|(s, _)| {
                            anyhow::ensure!(s == 200, "status {s}");
                            Ok(t.elapsed())
                        })
                    }
                    "admission-submit" => {
                        let k = first_person + next.fetch_add(1, Ordering::Relaxed) as u64;
                        submit_application(&c, &a, k).await.map(|(d, no)| {
                            submitted.lock().expect("not poisoned").push(no);
                            d
                        })
                    }
                    "admission-progress" => {
                        let no = numbers[next.fetch_add(1, Ordering::Relaxed) % numbers.len().max(1)].clone();
                        query_progress(&c, &a, &no).await
                    }
                    "deadline" => {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        if k >= accounts.len() {
                            break;
                        }
                        whole_flow(&c, &a, &accounts[k], &file).await
                    }
                    "inspection-submit" => {
                        let Some(mut j) = ready.pop() else { break };
                        submit_inspection(&c, &a, &mut j, &file).await
                    }
                    "cpa-face" => {
                        let Some(mut j) = ready.pop() else { break };
                        cpa_face_flow(&c, &a, &mut j).await
                    }
                    "review-queue" => {
                        page = page % 50 + 1;
                        let t = Instant::now();
                        get(&c, &mut jar, &format!("{}/association/member-inspections?year=2025&page={page}", a.url))
                            .await
                            .and_then(|(s, body)| {
                                anyhow::ensure!(s == 200 && body.contains("地方注协待审核"), "status {s}");
                                Ok(t.elapsed())
                            })
                    }
                    "batch-pass" => {
                        let Some(g) = group else { break };
                        let ids: Vec<String> = {
                            let mut left = groups[g].1.lock().expect("not poisoned");
                            let keep = left.len().saturating_sub(200);
                            left.split_off(keep)
                        };
                        if ids.len() < 200 {
                            break;
                        }
                        let mut fields: Vec<(&str, &str)> = vec![("action", "pass")];
                        fields.extend(ids.iter().map(|id| ("id", id.as_str())));
                        let t = Instant::now();
                        let url = format!("{}/association/member-inspections/batch", a.url);
                        match post_form(&c, &mut jar, &url, &fields).await {
                            Ok(res) if res.status().as_u16() == 303 => Ok(t.elapsed()),
                            Ok(res) => Err(anyhow::anyhow!("status {}", res.status())),
                            Err(e) => Err(e),
                        }
                    }
                    other => panic!("unknown scenario {other}"),
                };
                match r {
                    Ok(d) => lat.push(d.as_micros() as u64),
                    Err(e) => {
                        // The first few reasons go to stderr: a count alone says nothing.
                        if errors < 3 {
                            eprintln!("client {client}: {e:#}");
                        }
                        errors += 1
                    }
                }
            }
            (lat, errors, started.elapsed())
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    let mut elapsed = Duration::ZERO;
    for t in tasks {
        let (l, e, took) = t.await?;
        all.extend(l);
        errors += e;
        elapsed = elapsed.max(took);
    }
    all.sort_unstable();
    let submitted = submitted.lock().expect("not poisoned");
    if !submitted.is_empty() {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&a.business_numbers)?;
        for no in submitted.iter() {
            writeln!(f, "{no}")?;
        }
    }
    let pct =
        |p: f64| all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or(0);
    let label = if a.scenario == "deadline" {
        // The nation's 400,000 non-practicing members at the rate measured.
        let rate = all.len() as f64 / elapsed.as_secs_f64().max(0.001);
        format!(
            "{}: {} members in {:.0} s, 400,000 would take {:.0} min",
            a.label,
            all.len(),
            elapsed.as_secs_f64(),
            400_000.0 / rate.max(0.001) / 60.0
        )
    } else {
        a.label.clone()
    };
    println!(
        "| {} | {:.0} | {:.1} | {:.1} | {} |",
        label,
        all.len() as f64 / elapsed.as_secs_f64().max(0.001),
        pct(0.50) as f64 / 1000.0,
        pct(0.99) as f64 / 1000.0,
        errors
    );
    Ok(())
}

/// The ceiling of login on this machine: argon2id verifications of a hash made
/// with the server's parameters (the crate's defaults), on one thread per
/// core, for the same time as a scenario. No HTTP, no database.
fn argon2_rate(a: &Args) -> anyhow::Result<()> {
    use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
    let salt = SaltString::encode_b64(b"bench-salt-16byt").map_err(|e| anyhow::anyhow!("{e}"))?;
    let hash =
        argon2::Argon2::default().hash_password(a.password.as_bytes(), &salt).map_err(|e| anyhow::anyhow!("{e}"))?;
    let hash = hash.to_string();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let until = Instant::now() + Duration::from_secs(a.seconds);
    let started = Instant::now();
    let lat: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let hash = &hash;
                s.spawn(move || {
                    let parsed = PasswordHash::new(hash).expect("a hash just made");
                    let mut lat = Vec::new();
                    while Instant::now() < until {
                        let t = Instant::now();
                        let ok = argon2::Argon2::default().verify_password(a.password.as_bytes(), &parsed).is_ok();
                        assert!(ok);
                        lat.push(t.elapsed().as_micros() as u64);
                    }
                    lat
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("no panic")).collect()
    });
    let mut lat = lat;
    lat.sort_unstable();
    let pct =
        |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0);
    println!(
        "| {} | {:.0} | {:.1} | {:.1} | 0 |",
        a.label,
        lat.len() as f64 / started.elapsed().as_secs_f64(),
        pct(0.50) as f64 / 1000.0,
        pct(0.99) as f64 / 1000.0
    );
    Ok(())
}
