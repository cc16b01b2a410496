//! The synchronisation of the regulator's data (注册会计师行业统一监管平台):
//! new, changed, moved and cancelled CPAs and firms, refused rows with
//! their reasons, idempotence, a run that fails half-way changing nothing,
//! the pull from the regulator's interface, and the staff's page.

use cmis_app::cpa_check::{self, Applied, face};
use cmis_app::jobs::Progress;
use cmis_app::regulator::{self, feed};
use cmis_app::{AppError, review};
use cmis_domain::cpa_check::CpaCheck;
use cmis_store::entity::{cpa, firm, regulator_refusal, regulator_run, review_case, session, user};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Statement};

use crate::admission::staff;
use crate::cpa_check::{actor_of, give_hours, upload_materials, with_faces};
use crate::helpers::*;

const FIRM: &str = r#"{"kind":"firm","firm_no":"33010999","firm_name":"杭州西湖会计师事务所","form":"合伙"}"#;
const BRANCH: &str = r#"{"kind":"firm","firm_no":"3301099901","parent_no":"33010999","firm_name":"杭州西湖会计师事务所宁波分所","form":"合伙"}"#;
const OTHER: &str = r#"{"kind":"firm","firm_no":"33010998","firm_name":"杭州钱江会计师事务所","form":"有限责任"}"#;

fn cpa_line(no: &str, firm: &str, id: &str, status: &str) -> String {
    format!(
        r#"{{"kind":"cpa","cpa_no":"{no}","name":"周明","id_type":"中国身份证","id_number":"{id}","firm_no":"{firm}","registered_on":"2012-03-01","mobile":"13900001111","status":"{status}","ethnicity":"汉族","archive_unit":"浙江省注册会计师协会"}}"#
    )
}

async fn run(t: &TestApp, lines: &[&str]) -> regulator::Run {
    regulator::run(&t.app, "test", "测试文件", lines.join("\n").as_bytes(), &Progress::none()).await.unwrap()
}

async fn cpa_of(t: &TestApp, no: &str) -> Option<cpa::Model> {
    cpa::Entity::find().filter(cpa::Column::CpaNo.eq(no)).one(t.app.db.conn()).await.unwrap()
}

/// The CPA sets a password (in life, through 忘记密码 by the registered mobile).
async fn set_password(t: &TestApp, login: &str) {
    use sea_orm::{ActiveModelTrait, Set};
    let id = t.login_id(login).await;
    user::ActiveModel {
        id: Set(id),
        password_hash: Set(cmis_app::auth::hash_password(PASSWORD)),
        ..Default::default()
    }
    .update(t.app.db.conn())
    .await
    .unwrap();
}

const ID1: &str = "11010519491231002X";
const ID2: &str = "110105194912310038";

#[tokio::test]
async fn new_changed_and_unchanged_records_and_a_second_run_changes_nothing() {
    let t = TestApp::new().await;
    let a = cpa_line("330109990001", "33010999", ID1, "正常");
    let b = cpa_line("330109990002", "3301099901", ID2, "正常");
    let r = run(&t, &[&b, BRANCH, FIRM, &a]).await;
    assert_eq!(r.state, "succeeded");
    let c = r.counts;
    assert_eq!((c.firms_new, c.cpas_new, c.refused), (2, 2, 0), "a branch before its head office in the file is fine");
    let head =
        firm::Entity::find().filter(firm::Column::FirmNo.eq("33010999")).one(t.app.db.conn()).await.unwrap().unwrap();
    let branch =
        firm::Entity::find().filter(firm::Column::FirmNo.eq("3301099901")).one(t.app.db.conn()).await.unwrap().unwrap();
    assert_eq!(branch.parent_id, Some(head.id));
    let zj = t.app.orgs().by_code("33").unwrap().id;
    let x = cpa_of(&t, "330109990001").await.unwrap();
    assert_eq!((x.association_id, x.firm_id, x.ethnicity.as_deref()), (zj, head.id, Some("汉族")));
    assert_eq!(x.archive_unit.as_deref(), Some("浙江省注册会计师协会"));
    assert_eq!(t.app.pii.decrypt(&x.id_number_enc).unwrap(), ID1, "kept encrypted");
    // Accounts exist, with no password until the CPA sets one (忘记密码).
    let u = user::Entity::find().filter(user::Column::CpaId.eq(x.id)).one(t.app.db.conn()).await.unwrap().unwrap();
    assert_eq!(u.password_hash, cmis_app::auth::NO_PASSWORD);
    let mut c = t.client();
    assert_ne!(c.login("cpa", "330109990001", "").await.location(), "/home");
    assert!(
        user::Entity::find()
            .filter(user::Column::LoginName.eq("3301099901"))
            .one(t.app.db.conn())
            .await
            .unwrap()
            .is_some()
    );

    // The same data again: nothing changes.
    let again = run(&t, &[FIRM, BRANCH, &a, &b]).await.counts;
    assert_eq!((again.unchanged, again.firms_new, again.cpas_new, again.cpas_changed), (4, 0, 0, 0));
    // A change of mobile number is a change.
    let changed = a.replace("13900001111", "13900002222");
    let r = run(&t, &[FIRM, BRANCH, &changed, &b]).await.counts;
    assert_eq!((r.cpas_changed, r.unchanged), (1, 3));
    let x = cpa_of(&t, "330109990001").await.unwrap();
    assert_eq!(t.app.pii.decrypt(x.mobile_enc.as_ref().unwrap()).unwrap(), "13900002222");
}

#[tokio::test]
async fn a_malformed_row_is_refused_with_its_reason_and_nothing_of_it_is_saved() {
    let t = TestApp::new().await;
    let good = cpa_line("330109990001", "33010999", ID1, "正常");
    let bad_id = cpa_line("330109990002", "33010999", "110105194912310021", "正常");
    let no_firm = cpa_line("330109990003", "33019999", ID2, "正常");
    let same_id = cpa_line("330109990004", "33010999", ID1, "正常");
    let r = run(&t, &[FIRM, &good, &bad_id, "这不是JSON", &no_firm, &same_id]).await;
    assert_eq!((r.counts.cpas_new, r.counts.refused), (1, 4));
    for no in ["330109990002", "330109990003", "330109990004"] {
        assert!(cpa_of(&t, no).await.is_none(), "{no} saved half-way");
        assert_eq!(
            user::Entity::find().filter(user::Column::LoginName.eq(no)).count(t.app.db.conn()).await.unwrap(),
            0
        );
    }
    let gl = staff(&t, "staffcicpa").await;
    let (_, rows) = regulator::refusals(&t.app, &gl, r.id, 1).await.unwrap();
    let got: Vec<(usize, String, String)> =
        rows.items.iter().map(|r| (r.line, r.key.clone(), r.reason.clone())).collect();
    assert_eq!(got[0].0, 3);
    assert!(got[0].2.starts_with("有效证件号码"), "{got:?}");
    assert_eq!(got[1], (4, String::new(), "该行不是有效的JSON对象".into()));
    assert_eq!(got[0].1, "330109990002", "a row that cannot be read still names its number");
    assert_eq!(got[2], (5, "330109990003".into(), "所在事务所编号33019999不存在".into()));
    assert_eq!(got[3], (6, "330109990004".into(), "有效证件号码与注册会计师330109990001相同".into()));
    // Only CICPA's staff run and read synchronisations.
    let gd = staff(&t, "staff44").await;
    assert!(matches!(regulator::runs(&t.app, &gd, 1).await, Err(AppError::Forbidden)));
}

#[tokio::test]
async fn a_run_that_fails_half_way_changes_nothing() {
    let t = TestApp::new().await;
    let a = cpa_line("330109990001", "33010999", ID1, "正常");
    run(&t, &[FIRM, &a]).await;
    // The database refuses one CPA of the next run, after others were written.
    let db = t.app.db.conn();
    let sqlite = db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite;
    let traps = if sqlite {
        vec![
            "CREATE TRIGGER trap BEFORE INSERT ON cpas WHEN NEW.cpa_no = '330109990009' BEGIN SELECT RAISE(ABORT, 'trap'); END"
                .to_owned(),
        ]
    } else {
        vec![
            "CREATE FUNCTION trap() RETURNS trigger AS $$ BEGIN IF NEW.cpa_no = '330109990009' THEN RAISE EXCEPTION 'trap'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql".to_owned(),
            "CREATE TRIGGER trap BEFORE INSERT ON cpas FOR EACH ROW EXECUTE FUNCTION trap()".to_owned(),
        ]
    };
    for sql in traps {
        db.execute_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
    }
    let changed = a.replace("13900001111", "13900003333");
    let trapped = cpa_line("330109990009", "33010998", ID2, "正常");
    let lines = [FIRM, OTHER, changed.as_str(), trapped.as_str()].join("\n");
    let e = regulator::run(&t.app, "test", "测试", lines.as_bytes(), &Progress::none()).await.unwrap_err();
    assert!(matches!(e, AppError::Internal(_)), "{e:?}");
    assert!(firm::Entity::find().filter(firm::Column::FirmNo.eq("33010998")).one(db).await.unwrap().is_none());
    let x = cpa_of(&t, "330109990001").await.unwrap();
    assert_eq!(t.app.pii.decrypt(x.mobile_enc.as_ref().unwrap()).unwrap(), "13900001111", "the last good run stands");
    let runs = regulator_run::Entity::find().all(db).await.unwrap();
    let failed = runs.iter().find(|r| r.state == "failed").expect("the failed run is recorded");
    assert_eq!(failed.error.as_deref(), Some("同步过程中出错，本次同步未做任何更改"));
    assert_eq!(regulator_refusal::Entity::find().count(db).await.unwrap(), 0);
}

#[tokio::test]
async fn a_cpa_moved_to_another_firm_mid_check_takes_the_application_along() {
    let t = with_faces().await;
    run(&t, &[FIRM, OTHER, &cpa_line("330109990001", "33010999", ID1, "正常")]).await;
    let login = "330109990001";
    set_password(&t, login).await;
    give_hours(&t, login, 40).await;
    let a = actor_of(&t, login).await;
    upload_materials(&t, &a).await;
    let Applied::Face(s) = cpa_check::apply(&t.app, &a, face::Channel::Pc).await.unwrap() else { panic!() };
    let biz = cmis_store::entity::face_check::Entity::find_by_id(s.id).one(t.app.db.conn()).await.unwrap().unwrap();
    let o = cmis_app::face::dev::Outcome { pass: true, notify: true, frame: true };
    cmis_app::face::dev::finish(&t.app, &biz.provider_token.unwrap(), o, t.app.now()).await.unwrap();
    let case_id = face::status(&t.app, &a, s.id).await.unwrap().case_id.unwrap();
    let framed = cmis_store::entity::face_check::Entity::find_by_id(s.id).one(t.app.db.conn()).await.unwrap().unwrap();
    assert!(framed.frame_key.is_some(), "the provider's frame is kept, encrypted");
    // The regulator moves the CPA to another firm.
    let r = run(&t, &[FIRM, OTHER, &cpa_line("330109990001", "33010998", ID1, "正常")]).await;
    assert_eq!(r.counts.cpas_moved, 1);
    let other =
        firm::Entity::find().filter(firm::Column::FirmNo.eq("33010998")).one(t.app.db.conn()).await.unwrap().unwrap();
    let k = review_case::Entity::find_by_id(case_id).one(t.app.db.conn()).await.unwrap().unwrap();
    assert_eq!((k.firm_id, k.state.as_str()), (Some(other.id), "firm_review"));
    let trail = review::trail::<CpaCheck>(&t.app, case_id).await.unwrap();
    assert_eq!(trail.last().unwrap().node, "注册会计师转所（监管平台同步）");
    assert!(trail.last().unwrap().opinion.contains("杭州钱江会计师事务所"));
    // The new firm reviews it; the old one no longer sees it.
    let old_firm = actor_of(&t, "33010999").await;
    let new_firm = actor_of(&t, "33010998").await;
    assert!(matches!(
        review::load::<CpaCheck, _>(t.app.db.conn(), &t.app, &old_firm, case_id).await,
        Err(AppError::NotFound(_))
    ));
    review::decide::<CpaCheck>(&t.app, &new_firm, case_id, "firm_return", "请补充材料", &[], &[]).await.unwrap();
    // The year's check ends: the frame is deleted.
    t.clock.advance(chrono::Duration::days(800));
    cmis_app::housekeeping::sweep(&t.app).await.unwrap();
    let framed = cmis_store::entity::face_check::Entity::find_by_id(s.id).one(t.app.db.conn()).await.unwrap().unwrap();
    assert!(framed.frame_key.is_none());
}

#[tokio::test]
async fn a_cancelled_cpa_loses_the_account_and_an_open_check_ends() {
    let t = TestApp::new().await;
    let line = cpa_line("330109990001", "33010999", ID1, "正常");
    run(&t, &[FIRM, &line]).await;
    set_password(&t, "330109990001").await;
    let (case_id, _) = crate::cpa_check::check_waiting_for_the_firm(&t, "330109990001").await;
    let mut c = t.client();
    assert_eq!(c.login("cpa", "330109990001", PASSWORD).await.location(), "/home");
    let uid = t.login_id("330109990001").await;
    assert!(session::Entity::find().filter(session::Column::UserId.eq(uid)).count(t.app.db.conn()).await.unwrap() > 0);
    let r = run(&t, &[FIRM, &cpa_line("330109990001", "33010999", ID1, "注销")]).await;
    assert_eq!(r.counts.cpas_cancelled, 1);
    assert_eq!(cpa_of(&t, "330109990001").await.unwrap().status, "cancelled");
    assert_eq!(
        session::Entity::find().filter(session::Column::UserId.eq(uid)).count(t.app.db.conn()).await.unwrap(),
        0
    );
    assert_eq!(c.get("/home").await.location(), "/?expired=1", "the session ended");
    assert_ne!(c.login("cpa", "330109990001", PASSWORD).await.location(), "/home");
    let k = review_case::Entity::find_by_id(case_id).one(t.app.db.conn()).await.unwrap().unwrap();
    assert_eq!(k.state, "closed");
    let trail = review::trail::<CpaCheck>(&t.app, case_id).await.unwrap();
    assert_eq!(trail.last().unwrap().node, "注册会计师注销（监管平台同步），年检终止");
}

#[tokio::test]
async fn csv_and_excel_files_read_by_their_headings() {
    let t = TestApp::new().await;
    let csv = format!(
        "\u{feff}记录类型,事务所编号,事务所名称,组织形式,注册会计师证书编号,姓名,有效证件名称,有效证件号码,批准注册日期,民族\n\
         事务所,33010999,\"杭州西湖会计师事务所（特殊普通合伙）\",合伙,,,,,,\n\
         注册会计师,33010999,,,330109990001,周明,中国身份证,{ID1},2012-03-01,汉族\n"
    );
    let r = run(&t, &[&csv]).await;
    assert_eq!((r.counts.firms_new, r.counts.cpas_new, r.counts.refused), (1, 1, 0));
    // The same records as a workbook.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let rows = [
        [
            "记录类型",
            "事务所编号",
            "事务所名称",
            "组织形式",
            "注册会计师证书编号",
            "姓名",
            "有效证件名称",
            "有效证件号码",
            "批准注册日期",
        ],
        ["事务所", "33010998", "杭州钱江会计师事务所", "有限责任", "", "", "", "", ""],
        ["注册会计师", "33010998", "", "", "330109980001", "王芳", "中国身份证", ID2, "2015-09-01"],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    let bytes = book.save_to_buffer().unwrap();
    let r = regulator::run(&t.app, "test", "x.xlsx", &bytes, &Progress::none()).await.unwrap();
    assert_eq!((r.counts.firms_new, r.counts.cpas_new), (1, 1));
    assert_eq!(cpa_of(&t, "330109980001").await.unwrap().name, "王芳");
    // GBK text and an empty file are refused as a whole, and recorded.
    let e = regulator::run(&t.app, "test", "gbk.csv", b"\xbc\xc7\xc2\xbc,\xff\n", &Progress::none()).await.unwrap_err();
    assert!(e.to_string().contains("UTF-8"), "{e}");
}

#[tokio::test]
async fn the_regulators_interface_is_pulled_with_its_token() {
    use axum::routing::get;
    let t = TestApp::new().await;
    let body = [FIRM, &cpa_line("330109990001", "33010999", ID1, "正常")].join("\n");
    let app = axum::Router::new().route(
        "/cpas",
        get(move |h: axum::http::HeaderMap| {
            let body = body.clone();
            async move {
                if h.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer s3cret") {
                    (axum::http::StatusCode::OK, body)
                } else {
                    (axum::http::StatusCode::UNAUTHORIZED, String::new())
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cpas", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let wrong = feed::HttpFeed::new(&url, "guess").unwrap();
    assert!(regulator::sync(&t.app, "cli:test", &wrong, &Progress::none()).await.is_err());
    let right = feed::HttpFeed::new(&url, "s3cret").unwrap();
    let r = regulator::sync(&t.app, "cli:test", &right, &Progress::none()).await.unwrap();
    assert_eq!(r.counts.cpas_new, 1);
    assert_eq!(r.source, "注册会计师行业统一监管平台接口");
}

#[tokio::test]
async fn staff_upload_a_file_and_see_the_run_and_its_refusals() {
    let t = TestApp::new().await;
    let mut c = t.client();
    c.login("staff", "staffcicpa", PASSWORD).await;
    let empty = c.get("/association/regulator").await;
    assert!(empty.body.contains("暂无同步记录"));
    let file =
        [FIRM, &cpa_line("330109990001", "33010999", ID1, "正常"), &cpa_line("33010999000X", "33010999", ID2, "正常")]
            .join("\n");
    let r = c.multipart("/association/regulator", &[("regulator.jsonl", file.as_bytes())]).await;
    assert!(r.location().starts_with("/jobs/"), "{}", r.body);
    t.run_jobs().await;
    let job = c.get(r.location()).await;
    assert!(job.body.contains("同步完成"), "{}", job.body);
    let list = c.get("/association/regulator").await;
    assert!(list.body.contains("文件 regulator.jsonl"));
    let id = between(&list.body, "/association/regulator/", "\"").to_owned();
    let detail = c.get(&format!("/association/regulator/{id}")).await;
    assert!(detail.body.contains("注册会计师证书编号应为12位数字"));
    // A file that is not one of the formats is refused before it runs.
    let r = c.multipart("/association/regulator", &[("x.csv", "\u{feff}a,b\n".as_bytes())]).await;
    assert_eq!(r.status, 200);
    let mut gd = t.client();
    gd.login("staff", "staff44", PASSWORD).await;
    assert_eq!(gd.get("/association/regulator").await.status, 403);
}

#[tokio::test]
async fn a_new_identity_for_a_cpa_number_ends_whatever_proved_the_old_holder() {
    let t = TestApp::new().await;
    let line = cpa_line("330109990001", "33010999", ID1, "正常");
    run(&t, &[FIRM, &line]).await;
    set_password(&t, "330109990001").await;
    let mut c = t.client();
    assert_eq!(c.login("cpa", "330109990001", PASSWORD).await.location(), "/home");
    let token = api_login(&mut c, "cpa", "330109990001", PASSWORD).await;
    // Verified in person with the document on record.
    let zj = staff(&t, "staff33").await;
    let form = cmis_app::cpa_check::offline::NewRecord {
        cpa_no: "330109990001".into(),
        document_type: "resident".into(),
        document_no: ID1.into(),
        verified_on: t.app.today().to_string(),
        note: String::new(),
    };
    cmis_app::cpa_check::offline::record(&t.app, &zj, &form).await.unwrap();
    let a = actor_of(&t, "330109990001").await;
    assert!(cpa_check::overview(&t.app, &a).await.unwrap().verified_in_person);
    // The regulator's data now names another person for the same number.
    let other = line.replace(ID1, ID2).replace("周明", "王强").replace("13900001111", "13900009999");
    let r = run(&t, &[FIRM, &other]).await;
    assert_eq!(r.counts.cpas_changed, 1);
    assert_eq!(c.get("/home").await.location(), "/?expired=1", "the page session ended");
    let (s, _) = c.json("GET", "/api/v1/me", Some(&token), serde_json::json!(null)).await;
    assert_eq!(s, 401, "the API token ended");
    assert_ne!(c.login("cpa", "330109990001", PASSWORD).await.location(), "/home", "the password ended");
    let u = user::Entity::find().filter(user::Column::LoginName.eq("330109990001")).one(t.app.db.conn()).await.unwrap();
    assert_eq!(u.unwrap().password_hash, cmis_app::auth::NO_PASSWORD);
    let a = actor_of(&t, "330109990001").await;
    assert!(!cpa_check::overview(&t.app, &a).await.unwrap().verified_in_person, "someone else's verification");
    // The old number is told.
    let sms = cmis_store::entity::delivery::Entity::find().all(t.app.db.conn()).await.unwrap();
    let told = sms.iter().any(|d| t.app.pii.decrypt(&d.recipient_enc).is_ok_and(|r| r == "13900001111"));
    assert!(told, "an SMS to the old mobile number");
}

#[tokio::test]
async fn a_cancelled_cpas_lost_check_does_not_stop_the_sweep() {
    let t = with_faces().await;
    run(
        &t,
        &[FIRM, &cpa_line("330109990001", "33010999", ID1, "正常"), &cpa_line("330109990002", "33010999", ID2, "正常")],
    )
    .await;
    let mut checks = Vec::new();
    for no in ["330109990001", "330109990002"] {
        set_password(&t, no).await;
        give_hours(&t, no, 40).await;
        let a = actor_of(&t, no).await;
        upload_materials(&t, &a).await;
        let Applied::Face(s) = cpa_check::apply(&t.app, &a, face::Channel::Pc).await.unwrap() else { panic!() };
        checks.push((a, s));
    }
    // The first passes with its notification lost; then the CPA is cancelled.
    let biz = cmis_store::entity::face_check::Entity::find_by_id(checks[0].1.id).one(t.app.db.conn()).await.unwrap();
    let o = cmis_app::face::dev::Outcome { pass: true, notify: false, frame: false };
    cmis_app::face::dev::finish(&t.app, &biz.unwrap().provider_token.unwrap(), o, t.app.now()).await.unwrap();
    run(
        &t,
        &[FIRM, &cpa_line("330109990001", "33010999", ID1, "注销"), &cpa_line("330109990002", "33010999", ID2, "正常")],
    )
    .await;
    t.clock.advance(chrono::Duration::minutes(face::VALID_MINUTES + 1));
    cmis_app::housekeeping::sweep(&t.app).await.unwrap();
    let first =
        cmis_store::entity::face_check::Entity::find_by_id(checks[0].1.id).one(t.app.db.conn()).await.unwrap().unwrap();
    assert_eq!(first.state, "passed");
    assert!(first.case_id.is_none() && first.message.unwrap().contains("注册已注销"));
    let second =
        cmis_store::entity::face_check::Entity::find_by_id(checks[1].1.id).one(t.app.db.conn()).await.unwrap().unwrap();
    assert_eq!(second.state, "expired", "the sweep went on past the first");
}
