//! The database layer under load and demo data.

use chrono::Datelike;
use cmis_app::demo;
use cmis_store::entity::{cpa, firm, member, user};
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::helpers::*;

async fn counts(t: &TestApp) -> (u64, u64, u64, u64) {
    let db = t.app.db.conn();
    (
        member::Entity::find().count(db).await.unwrap(),
        firm::Entity::find().count(db).await.unwrap(),
        cpa::Entity::find().count(db).await.unwrap(),
        user::Entity::find().count(db).await.unwrap(),
    )
}

#[tokio::test]
async fn demo_data_is_idempotent_and_a_larger_run_extends_it() {
    let t = TestApp::new().await;
    let first = counts(&t).await;
    assert_eq!(first.0, 6);
    assert_eq!(first.1, 3);
    assert_eq!(
        first.3,
        53 + 3 + first.0 + first.1 + first.2,
        "one account each, and staff for 53 associations and the 3 institutes"
    );
    demo::generate(&t.app, &demo_options(), &|_, _, _| {}).await.unwrap();
    assert_eq!(counts(&t).await, first);
    let bigger = demo::Options { members: 40, firms: 5, ..demo_options() };
    demo::generate(&t.app, &bigger, &|_, _, _| {}).await.unwrap();
    let after = counts(&t).await;
    assert_eq!((after.0, after.1), (40, 5));
}

#[tokio::test]
async fn demo_numbers_follow_the_formats() {
    let t = TestApp::new().await;
    let db = t.app.db.conn();
    for f in firm::Entity::find().all(db).await.unwrap() {
        cmis_domain::FirmNo::parse(&f.firm_no).unwrap();
    }
    for c in cpa::Entity::find().all(db).await.unwrap() {
        let n = cmis_domain::CpaNo::parse(&c.cpa_no).unwrap();
        let f = firm::Entity::find_by_id(c.firm_id).one(db).await.unwrap().unwrap();
        assert_eq!(n.firm_prefix(), f.firm_no.as_str(), "CPAs are numbered from their firm");
        cmis_domain::ExamCertNo::parse_exam(c.exam_cert_no.as_deref().unwrap()).unwrap();
    }
    for m in member::Entity::find().all(db).await.unwrap() {
        cmis_domain::MemberCertNo::parse(&m.cert_no).unwrap();
        let id = cmis_domain::ResidentId::parse(&t.app.pii.decrypt(&m.id_number_enc).unwrap()).unwrap();
        assert_eq!(id.birth_date(), m.birth_date);
        assert_eq!(id.sex().code(), m.sex);
        // Dates that follow one another: the exam at 18 or older, admission after it.
        let exam = m.exam_year.unwrap();
        assert!(exam >= m.birth_date.year() + 18, "{}: born {}, exam {exam}", m.cert_no, m.birth_date);
        assert!(m.admitted_on.year() > exam, "{}: exam {exam}, admitted {}", m.cert_no, m.admitted_on);
    }
    for c in cpa::Entity::find().all(db).await.unwrap() {
        let exam = c.exam_year.unwrap();
        assert!(exam >= c.birth_date.year() + 18, "{}: born {}, exam {exam}", c.cpa_no, c.birth_date);
        assert!(c.registered_on.year() > exam);
    }
}

#[tokio::test]
async fn concurrent_write_transactions_all_commit() {
    let t = TestApp::new().await;
    let uid = user::Entity::find().one(t.app.db.conn()).await.unwrap().unwrap().id;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let app = t.app.clone();
        tasks.push(tokio::spawn(async move {
            // Read, then write, in one transaction: the shape that fails with
            // SQLITE_BUSY when a deferred transaction has to upgrade its lock.
            let txn = app.write().await?;
            let _ = cmis_store::entity::message::Entity::find().count(&txn).await?;
            cmis_app::messages::send(&txn, uid, &format!("m{i}"), "body", None).await?;
            txn.commit().await
        }));
    }
    for task in tasks {
        task.await.unwrap().expect("no write fails under concurrency");
    }
    let n = cmis_store::entity::message::Entity::find().count(t.app.db.conn()).await.unwrap();
    assert_eq!(n, 40);
}

#[tokio::test]
async fn the_approval_trail_keeps_its_order() {
    use cmis_app::approval::{self, Subject};
    let t = TestApp::new().await;
    let s = Subject { kind: "annual_inspection", id: 7 };
    let txn = t.app.write().await.unwrap();
    approval::record(&txn, s, "会员提交申请", "张三", "member:1", "").await.unwrap();
    approval::record(&txn, s, "地方注协非执业会员审核暂缓退回", "浙江省注册会计师协会", "staff:33", "请重新上传材料。")
        .await
        .unwrap();
    txn.commit().await.unwrap();
    let trail = approval::trail(t.app.db.conn(), s).await.unwrap();
    assert_eq!(trail.len(), 2);
    assert_eq!(trail[1].node, "地方注协非执业会员审核暂缓退回");
    assert_eq!(trail[1].opinion, "请重新上传材料。");
    assert!(approval::trail(t.app.db.conn(), Subject { kind: "annual_inspection", id: 8 }).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_backend_is_the_one_asked_for() {
    let t = TestApp::new().await;
    let want_pg = std::env::var("CMIS_TEST_PG_URL").is_ok_and(|u| !u.is_empty());
    assert_eq!(t.app.db.is_sqlite(), !want_pg);
}

#[tokio::test]
async fn an_online_backup_is_a_working_database() {
    let t = TestApp::new().await;
    if !t.app.db.is_sqlite() {
        assert!(t.app.db.backup_sqlite(std::path::Path::new("/tmp/x")).await.is_err(), "PostgreSQL uses pg_dump");
        return;
    }
    let dir = std::env::temp_dir().join(format!("cmis-backup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    let dest = dir.join("copy.sqlite3");
    t.app.db.backup_sqlite(&dest).await.unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a backup holds every account: its owner only");
    }
    assert!(t.app.db.backup_sqlite(&dest).await.is_err(), "never overwrites");
    let copy = cmis_store::Db::connect(&format!("sqlite://{}", dest.display())).await.unwrap();
    let n = member::Entity::find().count(copy.conn()).await.unwrap();
    assert_eq!(n, demo_options().members);
    assert_eq!(cmis_app::audit::verify(&copy).await.unwrap().first_broken, None);
    drop(copy);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Writes back to back with readers beside them never let SQLite start its
/// write-ahead log again (a 20-million-record import grew it to 32 GB): past
/// its limit the log is checkpointed and truncated, and nothing is lost.
#[tokio::test]
async fn the_write_ahead_log_is_truncated_past_its_limit() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let (db, dir) = database().await;
    let Some(dir) = dir else {
        assert!(!db.bound_wal_past(0).await.unwrap(), "PostgreSQL keeps its own log");
        return;
    };
    let wal = dir.0.join("t.sqlite3-wal");
    let size = || std::fs::metadata(&wal).map_or(0, |m| m.len());
    db.conn().execute_unprepared("CREATE TABLE wal_probe (x BLOB)").await.unwrap();
    // A reader inside the log the whole time, as the institutes' calls are.
    let reader = db.conn().begin().await.unwrap();
    assert_eq!(member::Entity::find().count(&reader).await.unwrap(), 0);
    for _ in 0..20 {
        let txn = db.write().await.unwrap();
        txn.execute_unprepared("INSERT INTO wal_probe VALUES (randomblob(100000))").await.unwrap();
        txn.commit().await.unwrap();
    }
    reader.commit().await.unwrap();
    let grown = size();
    assert!(grown > 2_000_000, "twenty writes of 100 kB in the log: {grown}");
    assert!(!db.bound_wal().await.unwrap(), "below the limit it is left to SQLite");
    assert_eq!(size(), grown);
    assert!(db.bound_wal_past(1_000_000).await.unwrap());
    assert_eq!(size(), 0, "truncated");
    let n: i64 = db
        .conn()
        .query_one_raw(sea_orm::Statement::from_string(db.backend(), "SELECT count(*) FROM wal_probe"))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap();
    assert_eq!(n, 20, "every write kept");
}

// Numbers are column types: a stored number that does not parse is an error
// when read, never a member with a malformed number.
#[tokio::test]
async fn a_malformed_stored_number_is_an_error_when_read() {
    use sea_orm::ConnectionTrait;
    let t = TestApp::new().await;
    let db = t.app.db.conn();
    let m = member::Entity::find().one(db).await.unwrap().unwrap();
    assert_eq!(m.cert_no.as_str().len(), 11);
    db.execute_unprepared(&format!("UPDATE members SET cert_no = '99x' WHERE id = {}", m.id)).await.unwrap();
    assert!(member::Entity::find_by_id(m.id).one(db).await.is_err());
}

/// A member's latest annual inspection (the home page's tile, the public QR
/// page) is found through the member's own cases, never by reading every
/// case of the kind: that plan served one request a second at national scale.
#[tokio::test]
async fn a_members_latest_case_is_found_by_the_member_index() {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
    let t = TestApp::new().await;
    let db = t.app.db.conn();
    let sql =
        "SELECT * FROM review_cases WHERE kind = 'member_inspection' AND member_id = 1 ORDER BY year DESC LIMIT 1";
    let plan: String = match db.get_database_backend() {
        DatabaseBackend::Sqlite => db
            .query_all_raw(Statement::from_string(DatabaseBackend::Sqlite, format!("EXPLAIN QUERY PLAN {sql}")))
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<String>("", "detail").unwrap())
            .collect::<Vec<_>>()
            .join("; "),
        // PostgreSQL plans a table of a few rows by scanning it: ask for the index itself.
        _ => db
            .query_all_raw(Statement::from_string(
                DatabaseBackend::Postgres,
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_cases_member_kind_year'",
            ))
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<String>("", "indexdef").unwrap())
            .filter(|d| d.contains("(member_id, kind, year)"))
            .map(|_| "ix_cases_member_kind_year".to_owned())
            .collect(),
    };
    assert!(plan.contains("ix_cases_member_kind_year"), "{plan}");
}
