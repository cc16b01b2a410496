//! `cmis`: the one binary of the system.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use cmis_app::clock::{Clock, FixedClock, SystemClock};
use cmis_app::{App, Settings, audit, auth, demo};
use cmis_domain::UserType;
use cmis_store::Db;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Deserialize;

#[derive(Parser)]
#[command(name = "cmis", version, about = "中国注册会计师协会行业管理信息系统")]
struct Cli {
    /// Configuration file (TOML). `CMIS_*` environment variables override it.
    #[arg(long, env = "CMIS_CONFIG", default_value = "cmis.toml", global = true)]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server (the default).
    Serve {
        /// Browser tests only: every captcha answers this. Refused unless listening on loopback.
        #[arg(long, value_name = "ANSWER")]
        e2e_fixed_captcha: Option<String>,
        /// Browser tests only: the clock stands at this instant (RFC 3339). Refused unless on loopback.
        #[arg(long, value_name = "INSTANT")]
        e2e_clock: Option<String>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Generate demo data (idempotent; a larger run extends a smaller one).
    Demo {
        #[arg(long, default_value_t = 200)]
        members: u64,
        #[arg(long, default_value_t = 20)]
        firms: u64,
        #[arg(long, default_value_t = 12)]
        max_cpas_per_firm: u64,
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Generate as of this instant (RFC 3339) instead of now: browser tests run on a fixed date.
        #[arg(long, value_name = "INSTANT")]
        e2e_clock: Option<String>,
    },
    /// Check the audit log's hash chain and name the first broken link.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Copy the SQLite database to a file while the server runs.
    Backup { dest: PathBuf },
    /// Give an account a new random password that must be changed at next login.
    InitialPassword {
        /// member, cpa, firm or staff.
        #[arg(long = "type")]
        user_type: String,
        #[arg(long)]
        login: String,
    },
    /// List account login names of one type.
    Accounts {
        #[arg(long = "type")]
        user_type: String,
        #[arg(long, default_value_t = 20)]
        limit: u64,
        /// Members only: also the public addresses of each one's 年检 QR code
        /// (/q/…) and certificate check (/v/…), for load tests.
        #[arg(long)]
        links: bool,
    },
    /// Change the association tree: every running instance re-reads it within seconds.
    Associations {
        #[command(subcommand)]
        action: AssociationAction,
    },
    /// Synchronise the CPAs' and firms' records from the regulator
    /// (注册会计师行业统一监管平台): its interface (`regulator.url`), or a file.
    Sync {
        /// A file of the regulator's records (CSV, JSON lines or xlsx) instead of the interface.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Write the demo's firms and CPAs as the regulator's records (JSON lines),
    /// for trying and measuring `cmis sync`.
    RegulatorFile {
        #[arg(long, default_value_t = 20)]
        firms: u64,
        #[arg(long, default_value_t = 12)]
        max_cpas_per_firm: u64,
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// 学时入账: credit every lesson evaluated before today (China time) to
    /// its learner's ledger. The server runs it once a day by itself; running
    /// it again credits nothing twice.
    CreditLearning {
        /// Browser tests only: run as of this instant (RFC 3339).
        #[arg(long, value_name = "INSTANT")]
        e2e_clock: Option<String>,
    },
    /// Add a staff account of a national accounting institute (bnai, snai,
    /// xnai); prints its initial password, to be changed at the first login.
    InstituteStaff {
        #[arg(long)]
        institute: String,
        #[arg(long)]
        login: String,
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Make an API key of an institute for its own platform (接口密钥); prints
    /// the key id and the secret, which is not shown again.
    InstituteKey {
        #[arg(long)]
        institute: String,
    },
    /// Import an institute's learning records from a file of JSON lines, one
    /// record a line as the institutes' API takes them ("-" reads standard
    /// input), in calls of 10,000 with the API's checks; a refused row is
    /// printed with its line and reason.
    ImportLearning {
        #[arg(long)]
        institute: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// Lift a login lockout.
    Unlock {
        #[arg(long = "type")]
        user_type: String,
        #[arg(long)]
        login: String,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    Verify,
}

#[derive(Subcommand)]
enum AssociationAction {
    /// Add a city association under a provincial one (e.g. --province 44 --code 4420 --name 中山市注册会计师协会).
    AddCity {
        #[arg(long)]
        province: String,
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
    },
    /// Set an association's address and phones (those not given are cleared).
    SetContact {
        #[arg(long)]
        code: String,
        #[arg(long)]
        address: Option<String>,
        #[arg(long)]
        phone_practicing: Option<String>,
        #[arg(long)]
        phone_non_practicing: Option<String>,
        #[arg(long)]
        phone_firm: Option<String>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(default)]
struct Config {
    database_url: String,
    listen: String,
    /// Cookies only over TLS: set behind an HTTPS load balancer.
    secure_cookies: bool,
    /// Take the client address from X-Forwarded-For, written by `trusted_proxies` proxies.
    trust_forwarded: bool,
    /// How many proxies you trust stand in front (each appends to X-Forwarded-For).
    trusted_proxies: usize,
    /// Where Prometheus scrapes /metrics (e.g. 127.0.0.1:9090); empty: not served.
    metrics_listen: String,
    /// `pretty` or `json`.
    log_format: String,
    /// Load the small demo data set when the database has no accounts.
    demo_on_first_start: bool,
    #[serde(flatten)]
    app: Settings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite://data/cmis.sqlite3?mode=rwc".into(),
            listen: "127.0.0.1:8080".into(),
            secure_cookies: false,
            trust_forwarded: false,
            trusted_proxies: 1,
            metrics_listen: String::new(),
            log_format: "pretty".into(),
            demo_on_first_start: true,
            app: Settings::default(),
        }
    }
}

fn load_config(path: &std::path::Path) -> anyhow::Result<Config> {
    let mut b = config::Config::builder()
        .add_source(config::File::from(path.to_owned()).required(false))
        .add_source(config::Environment::with_prefix("CMIS").prefix_separator("_").separator("__").try_parsing(true));
    if let Ok(url) = std::env::var("DATABASE_URL") {
        b = b.set_override("database_url", url)?;
    }
    let c: Config = b.build()?.try_deserialize().context("reading the configuration")?;
    Ok(c)
}

fn init_logs(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,sea_orm=warn,tower_http=info".into());
    let b = tracing_subscriber::fmt().with_env_filter(filter);
    if format == "json" {
        b.json().init();
    } else {
        b.init();
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Everything this process creates (the SQLite database and its journal,
    // uploaded files, backups, keys) is readable by its own user only.
    // SAFETY: umask only sets the process's file-creation mask; it cannot fail.
    unsafe { libc::umask(0o077) };
    // Four malloc arenas, not eight a core: with threads for tokio, for each
    // SQLite connection and for argon2id, glibc's default let every thread
    // keep freed memory of its own (a member's home page under load held
    // 272 MiB). Measured in bench/README.md.
    // SAFETY: mallopt only tunes the allocator; called before any thread
    // of ours allocates in earnest.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, 4) };
    let cli = Cli::parse();
    let cfg = load_config(&cli.config)?;
    init_logs(&cfg.log_format);
    match cli.command.unwrap_or(Command::Serve { e2e_fixed_captcha: None, e2e_clock: None }) {
        Command::Serve { e2e_fixed_captcha, e2e_clock } => serve(cfg, e2e_fixed_captcha, e2e_clock).await,
        Command::Migrate => {
            let db = Db::open(&cfg.database_url).await?;
            println!("数据库已是最新版本");
            db.close().await?;
            Ok(())
        }
        Command::Demo { members, firms, max_cpas_per_firm, seed, e2e_clock } => {
            let db = Db::open(&cfg.database_url).await?;
            let app = App::with_clock(db, cfg.app.clone(), clock(e2e_clock.as_deref())?).await?;
            let opts = demo::Options { members, firms, max_cpas_per_firm, seed };
            let logins = run_demo(&app, &opts).await?;
            print_logins(&logins);
            Ok(())
        }
        Command::Audit { action: AuditAction::Verify } => {
            let db = Db::open(&cfg.database_url).await?;
            let v = audit::verify(&db).await?;
            match v.first_broken {
                None => {
                    println!("审计日志完整：已校验 {} 条记录，哈希链无断点", v.checked);
                    Ok(())
                }
                Some((id, why)) => {
                    println!("审计日志在第 {id} 条记录处断开：{why}（已校验 {} 条）", v.checked);
                    std::process::exit(1);
                }
            }
        }
        Command::CreditLearning { e2e_clock } => {
            let db = Db::open(&cfg.database_url).await?;
            let app = App::with_clock(db, cfg.app.clone(), clock(e2e_clock.as_deref())?).await?;
            let by = format!("cli:{}", std::env::var("USER").unwrap_or_default());
            let (n, hours) = cmis_app::learning::credit::run(&app, app.today(), &by).await.map_err(shown)?;
            println!("{} 学时入账：{n} 节课，{hours} 学时", app.today());
            Ok(())
        }
        Command::InstituteStaff { institute, login, name } => {
            let app = open(&cfg).await?;
            let by = format!("cli:{}", std::env::var("USER").unwrap_or_default());
            let pw = cmis_app::learning::add_staff(&app, &by, &institute, &login, &name).await.map_err(shown)?;
            println!("{pw}");
            Ok(())
        }
        Command::InstituteKey { institute } => {
            let app = open(&cfg).await?;
            let by = format!("cli:{}", std::env::var("USER").unwrap_or_default());
            let inst = cmis_app::learning::institute_by_code(&app, &institute).await.map_err(shown)?;
            let (key, secret) = cmis_app::learning::records::create_key_for(&app, inst.id, &by).await.map_err(shown)?;
            println!("{key}\t{secret}");
            Ok(())
        }
        Command::ImportLearning { institute, file } => import_learning(&cfg, &institute, &file).await,
        Command::Backup { dest } => {
            let db = Db::connect(&cfg.database_url).await?;
            db.backup_sqlite(&dest).await?;
            println!("已备份到 {}", dest.display());
            Ok(())
        }
        Command::InitialPassword { user_type, login } => {
            let app = open(&cfg).await?;
            let t = UserType::from_code(&user_type).context("--type must be member, cpa, firm or staff")?;
            let pw = auth::issue_initial_password(&app, "operator:cli", t, &login).await?;
            println!("{pw}");
            Ok(())
        }
        Command::Accounts { user_type, limit, links } => {
            let app = open(&cfg).await?;
            let t = UserType::from_code(&user_type).context("--type must be member, cpa, firm or staff")?;
            anyhow::ensure!(!links || t == UserType::NonPracticingMember, "--links is for members");
            for (login, name) in auth::accounts(&app, t, limit).await? {
                if links {
                    let qr = cmis_app::member_inspection::qr::payload(&app, &login);
                    let v = app.signer.payload(&login, app.today());
                    println!("{login}\t{name}\t/q/{qr}\t/v/{v}");
                } else {
                    println!("{login}\t{name}");
                }
            }
            Ok(())
        }
        Command::Associations { action } => {
            use cmis_app::organisations;
            let app = open(&cfg).await?;
            let by = format!("cli:{}", std::env::var("USER").unwrap_or_default());
            match action {
                AssociationAction::AddCity { province, code, name } => {
                    let id = organisations::add_city(&app, &by, &province, &code, &name).await.map_err(shown)?;
                    println!(
                        "已新增市注协（编号 {id}）；运行中的实例将在{}秒内更新",
                        organisations::REFRESH_EVERY.as_secs()
                    );
                }
                AssociationAction::SetContact { code, address, phone_practicing, phone_non_practicing, phone_firm } => {
                    let c = organisations::Contact { address, phone_practicing, phone_non_practicing, phone_firm };
                    organisations::set_contact(&app, &by, &code, &c).await.map_err(shown)?;
                    println!("已修改联系方式；运行中的实例将在{}秒内更新", organisations::REFRESH_EVERY.as_secs());
                }
            }
            Ok(())
        }
        Command::Sync { file } => {
            use cmis_app::regulator::{self, feed};
            let app = open(&cfg).await?;
            let by = format!("cli:{}", std::env::var("USER").unwrap_or_default());
            let source: Box<dyn feed::RegulatorFeed> = match file {
                Some(path) => Box::new(feed::FileFeed(path)),
                None => {
                    anyhow::ensure!(!cfg.app.regulator.url.is_empty(), "give --file, or set regulator.url");
                    Box::new(feed::HttpFeed::new(&cfg.app.regulator.url, &cfg.app.regulator.token)?)
                }
            };
            let started = std::time::Instant::now();
            let r =
                regulator::sync(&app, &by, source.as_ref(), &cmis_app::jobs::Progress::none()).await.map_err(shown)?;
            let c = r.counts;
            println!(
                "同步完成（{:.1} 秒）：新增事务所 {}，变更事务所 {}；新增注师 {}，变更 {}，转所 {}，注销 {}；未变化 {}，未导入 {}",
                started.elapsed().as_secs_f64(),
                c.firms_new,
                c.firms_changed,
                c.cpas_new,
                c.cpas_changed,
                c.cpas_moved,
                c.cpas_cancelled,
                c.unchanged,
                c.refused
            );
            Ok(())
        }
        Command::RegulatorFile { firms, max_cpas_per_firm, seed, out } => {
            let app = open(&cfg).await?;
            let opts = demo::Options { members: 0, firms, max_cpas_per_firm, seed };
            let mut w = std::io::BufWriter::new(
                std::fs::File::create(&out).with_context(|| format!("creating {}", out.display()))?,
            );
            let (f, c) = demo::regulator_file(&app, &opts, &mut w).await?;
            std::io::Write::flush(&mut w)?;
            println!("已写入 {}：事务所 {f} 家（含分所），注册会计师 {c} 人", out.display());
            Ok(())
        }
        Command::Unlock { user_type, login } => {
            let app = open(&cfg).await?;
            let t = UserType::from_code(&user_type).context("--type must be member, cpa, firm or staff")?;
            auth::unlock(&app, &format!("cli:{}", std::env::var("USER").unwrap_or_default()), t, &login).await?;
            println!("已解除锁定");
            Ok(())
        }
    }
}

/// `cmis import-learning`: JSON lines in calls of `MAX_ROWS`, read as they
/// come (a file of 20 million lines is never held whole). A thread reads the
/// lines; the next call's rows are checked while the previous call's are
/// saved.
async fn import_learning(cfg: &Config, institute: &str, file: &std::path::Path) -> anyhow::Result<()> {
    use cmis_app::learning::records::{self, Caller, Checked, MAX_ROWS};
    use std::io::BufRead;
    let app = open(cfg).await?;
    let by = std::env::var("USER").unwrap_or_default();
    let inst = cmis_app::learning::institute_by_code(&app, institute).await.map_err(shown)?;
    let caller = Caller::file_import(&inst, &by);
    let reader: Box<dyn BufRead + Send> = if file.as_os_str() == "-" {
        Box::new(std::io::BufReader::with_capacity(1 << 20, std::io::stdin()))
    } else {
        Box::new(std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(file).context("the file")?))
    };
    let started = std::time::Instant::now();
    // Calls of (line number, line), two ahead at most.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<(usize, String)>>(2);
    // The thread returns how many lines it read and how many were not text.
    let lines = std::thread::spawn(move || -> anyhow::Result<(usize, usize)> {
        let mut call = Vec::with_capacity(MAX_ROWS);
        let (mut line_no, mut not_text) = (0, 0);
        for line in reader.split(b'\n') {
            let mut line = line.with_context(|| format!("reading the file after line {line_no}"))?;
            line_no += 1;
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let Ok(line) = String::from_utf8(line) else {
                // Refused as any other wrong row: the file goes on.
                eprintln!("第{line_no}行：不是UTF-8编码的文本");
                not_text += 1;
                continue;
            };
            if !line.trim().is_empty() {
                call.push((line_no, line));
            }
            if call.len() == MAX_ROWS
                && tx.blocking_send(std::mem::replace(&mut call, Vec::with_capacity(MAX_ROWS))).is_err()
            {
                return Ok((line_no, not_text));
            }
        }
        if !call.is_empty() {
            let _ = tx.blocking_send(call);
        }
        Ok((line_no, not_text))
    });
    let (mut accepted, mut duplicates, mut refused) = (0usize, 0usize, 0usize);
    let mut pending: Option<(Vec<usize>, Checked)> = None;
    loop {
        let next = rx.recv().await;
        if next.is_none() && pending.is_none() {
            break;
        }
        let saving = async {
            match pending.take() {
                Some((line_nos, c)) => Some((line_nos, records::save(&app, &caller, c).await)),
                None => None,
            }
        };
        let checking = async {
            match next {
                Some(call) => {
                    let texts: Vec<&str> = call.iter().map(|(_, l)| l.as_str()).collect();
                    let checked = records::check(&app, &texts).await;
                    Some((call.iter().map(|(n, _)| *n).collect::<Vec<_>>(), checked))
                }
                None => None,
            }
        };
        let (saved, checked) = tokio::join!(saving, checking);
        if let Some((line_nos, p)) = saved {
            let p = p.map_err(|e| stopped(accepted, duplicates, refused, shown(e)))?;
            accepted += p.accepted;
            duplicates += p.duplicates;
            refused += p.refused.len();
            for r in p.refused {
                eprintln!("第{}行（{}）：{}", line_nos[r.index], r.record_id, r.reason);
            }
            app.db.bound_wal().await?;
        }
        if let Some((line_nos, c)) = checked {
            pending = Some((line_nos, c.map_err(|e| stopped(accepted, duplicates, refused, shown(e)))?));
        }
    }
    let (line_no, not_text) = lines
        .join()
        .map_err(|_| anyhow::anyhow!("the reading thread stopped"))?
        .map_err(|e| stopped(accepted, duplicates, refused, e))?;
    refused += not_text;
    println!(
        "导入{line_no}行：新增{accepted}条，已存在{duplicates}条，拒绝{refused}条，用时{:.1}秒",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// An import that stops part way says what it saved before: a second run
/// counts those records as already there.
fn stopped(accepted: usize, duplicates: usize, refused: usize, e: anyhow::Error) -> anyhow::Error {
    eprintln!(
        "导入中止：此前已新增{accepted}条，已存在{duplicates}条，拒绝{refused}条（重新导入时，已新增的记录按已存在计）"
    );
    e
}

/// The system clock, or a fixed instant for browser tests.
fn clock(fixed: Option<&str>) -> anyhow::Result<Arc<dyn Clock>> {
    Ok(match fixed {
        None => Arc::new(SystemClock),
        Some(at) => {
            let at = chrono::DateTime::parse_from_rfc3339(at).context("--e2e-clock takes an RFC 3339 instant")?;
            Arc::new(FixedClock::at(at.to_utc()))
        }
    })
}

async fn open(cfg: &Config) -> anyhow::Result<App> {
    let db = Db::open(&cfg.database_url).await?;
    App::new(db, cfg.app.clone()).await
}

async fn run_demo(app: &App, opts: &demo::Options) -> anyhow::Result<demo::Logins> {
    let bars = MultiProgress::new();
    let style = ProgressStyle::with_template("{prefix:>8} [{bar:40}] {pos}/{len} {per_sec} 剩余 {eta}")
        .expect("valid template")
        .progress_chars("=> ");
    let mk = |label: &str, len: u64| {
        let b = bars.add(ProgressBar::new(len));
        b.set_style(style.clone());
        b.set_prefix(label.to_owned());
        b
    };
    let firms = mk(demo::Stage::Firms.label(), opts.firms);
    let members = mk(demo::Stage::Members.label(), opts.members);
    let progress = |stage: demo::Stage, done: u64, _total: u64| match stage {
        demo::Stage::Firms => firms.set_position(done),
        demo::Stage::Members => members.set_position(done),
        _ => {}
    };
    let logins = demo::generate(app, opts, &progress).await?;
    firms.finish();
    members.finish();
    Ok(logins)
}

fn print_logins(l: &demo::Logins) {
    println!("演示账户（密码均为 {}）：", demo::DEMO_PASSWORD);
    for (t, login, _) in &l.rows {
        println!("  {:<12} {}", t.label(), login);
    }
}

fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

async fn serve(mut cfg: Config, e2e_fixed_captcha: Option<String>, e2e_clock: Option<String>) -> anyhow::Result<()> {
    let addr: SocketAddr = cfg.listen.parse().with_context(|| format!("listen = {}", cfg.listen))?;
    if cfg.app.public_url.is_empty() {
        // QR codes need an absolute address; behind a load balancer set public_url.
        cfg.app.public_url = format!("http://{addr}");
    }
    if (e2e_fixed_captcha.is_some() || e2e_clock.is_some()) && !is_loopback(&addr) {
        anyhow::bail!(
            "--e2e-fixed-captcha and --e2e-clock are for browser tests and only allowed on a loopback address"
        );
    }
    let db = Db::open(&cfg.database_url).await?;
    if e2e_clock.is_some() {
        tracing::warn!("browser-test mode: the clock stands still");
    }
    let mut app = App::with_clock(db, cfg.app.clone(), clock(e2e_clock.as_deref())?).await?;
    if let Some(answer) = &e2e_fixed_captcha {
        tracing::warn!("browser-test mode: every captcha has a fixed answer");
        app = app.with_fixed_captcha(answer);
    }
    if cfg.demo_on_first_start && !cmis_app::demo::has_accounts(&app).await? {
        println!("首次启动：正在生成演示数据……");
        let logins = run_demo(&app, &demo::Options::default()).await?;
        print_logins(&logins);
    }
    let app = Arc::new(app);
    let swept = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            if let Err(e) = cmis_app::housekeeping::sweep(&swept).await {
                tracing::warn!(error = %e, "removing expired rows");
            }
        }
    });
    // SQLite's write-ahead log, kept from growing without end under writes back to back.
    let bounded = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tick.tick().await;
            if let Err(e) = bounded.db.bound_wal().await {
                tracing::warn!(error = %e, "checkpointing the write-ahead log");
            }
        }
    });
    // The outbox's worker: sends what committed transactions queued.
    tokio::spawn(cmis_app::deliveries::run(app.clone()));
    // The job worker: exports and imports, taken up again after a restart.
    tokio::spawn(cmis_app::jobs::run(app.clone()));
    // The association tree, re-read when another instance or `cmis associations` changed it.
    tokio::spawn(cmis_app::organisations::watch(app.clone(), cmis_app::organisations::REFRESH_EVERY));
    if !cfg.metrics_listen.is_empty() {
        let at: SocketAddr =
            cfg.metrics_listen.parse().with_context(|| format!("metrics_listen = {}", cfg.metrics_listen))?;
        let listener = tokio::net::TcpListener::bind(at).await.with_context(|| format!("binding {at}"))?;
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, cmis_web::ops::metrics_router()).await {
                tracing::error!(error = %e, "metrics listener stopped");
            }
        });
    }
    let trusted_proxies = if cfg.trust_forwarded { cfg.trusted_proxies } else { 0 };
    let router = cmis_web::router(app, cmis_web::WebOptions { secure_cookies: cfg.secure_cookies, trusted_proxies });
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
    println!("中国注册会计师协会行业管理信息系统已启动：http://{addr}/");
    axum_serve(listener, router).await
}

async fn axum_serve(listener: tokio::net::TcpListener, router: axum::Router) -> anyhow::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown())
        .await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing requests in flight");
}

/// A use case's refusal as the operator should read it: with each field's message.
fn shown(e: cmis_app::AppError) -> anyhow::Error {
    match e {
        cmis_app::AppError::Invalid(f) => {
            anyhow::anyhow!(
                f.0.iter()
                    .map(|(field, m)| format!("--{}: {m}", field.replace('_', "-")))
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        }
        other => anyhow::anyhow!("{other}"),
    }
}
