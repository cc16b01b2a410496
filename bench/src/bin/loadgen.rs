//! A small load generator for multi-step scenarios (a login needs a captcha
//! and the CSRF cookie first). Bounded in time, loopback only. Prints one
//! markdown table row: requests/s, p50, p99, errors.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;

#[derive(Parser, Clone)]
struct Args {
    #[arg(long)]
    url: String,
    /// portal | login | home | reference
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
}

struct Jar(HashMap<String, String>);

impl Jar {
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
    let res = c.get(url).header("cookie", jar.header()).send().await?;
    jar.take(&res);
    let status = res.status().as_u16();
    Ok((status, res.text().await?))
}

/// Opens the portal, then logs in. Returns the POST's latency.
async fn login(c: &reqwest::Client, jar: &mut Jar, a: &Args, user: &str) -> anyhow::Result<Duration> {
    let (_, page) = get(c, jar, &format!("{}/", a.url)).await?;
    let captcha_id = between(&page, "name=\"captcha_id\" value=\"", "\"").unwrap_or_default().to_owned();
    let csrf = jar.0.get("cmis_csrf").cloned().unwrap_or_default();
    let body = format!(
        "_csrf={csrf}&user_type=member&login_name={user}&password={}&captcha_id={captcha_id}&captcha={}",
        a.password, a.captcha
    );
    let t = Instant::now();
    let res = c
        .post(format!("{}/login", a.url))
        .header("cookie", jar.header())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await?;
    let took = t.elapsed();
    jar.take(&res);
    let ok =
        res.status().as_u16() == 303 && res.headers().get("location").and_then(|v| v.to_str().ok()) == Some("/home");
    anyhow::ensure!(ok, "login refused: {}", res.status());
    Ok(took)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    anyhow::ensure!(
        a.url.starts_with("http://127.0.0.1") || a.url.starts_with("http://localhost"),
        "load goes to loopback only"
    );
    let accounts: Arc<Vec<String>> = Arc::new(
        std::fs::read_to_string(&a.accounts)?.lines().map(|l| l.split('\t').next().unwrap_or("").to_owned()).collect(),
    );
    anyhow::ensure!(!accounts.is_empty(), "no accounts");
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(a.seconds);
    let mut tasks = Vec::new();
    for _ in 0..a.concurrency {
        let (a, accounts, next) = (a.clone(), accounts.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut jar = Jar(HashMap::new());
            let pick = || accounts[next.fetch_add(1, Ordering::Relaxed) % accounts.len()].clone();
            if a.scenario == "home" {
                let user = pick();
                login(&c, &mut jar, &a, &user).await.expect("log in before measuring");
            }
            while Instant::now() < deadline {
                let r: anyhow::Result<Duration> = match a.scenario.as_str() {
                    "portal" => {
                        let t = Instant::now();
                        get(&c, &mut jar, &format!("{}/", a.url)).await.and_then(|(s, _)| {
                            anyhow::ensure!(s == 200, "status {s}");
                            Ok(t.elapsed())
                        })
                    }
                    "login" => {
                        let mut fresh = Jar(HashMap::new());
                        login(&c, &mut fresh, &a, &pick()).await
                    }
                    "home" => {
                        let t = Instant::now();
                        get(&c, &mut jar, &format!("{}/home", a.url)).await.and_then(|(s, body)| {
                            anyhow::ensure!(s == 200 && body.contains("基本信息"), "status {s}");
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
                    other => panic!("unknown scenario {other}"),
                };
                match r {
                    Ok(d) => lat.push(d.as_micros() as u64),
                    Err(_) => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        all.extend(l);
        errors += e;
    }
    all.sort_unstable();
    let pct =
        |p: f64| all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or(0);
    println!(
        "| {} | {:.0} | {:.1} | {:.1} | {} |",
        a.label,
        all.len() as f64 / a.seconds as f64,
        pct(0.50) as f64 / 1000.0,
        pct(0.99) as f64 / 1000.0,
        errors
    );
    Ok(())
}
