//! The second attack on the release build, as regression tests: each is the
//! request that got through, and the answer that must come back now.

use cmis_app::review;
use cmis_domain::member_admission::{AdmissionAction, AdmissionState, MemberAdmission};
use cmis_store::entity::{audit_event, member, review_case, session, throttle, user};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::json;

use crate::admission::{application, profile, staff};
use crate::helpers::*;

// 1. One shared string of 15 MB in every cell of a 98 KB workbook kept a core
// busy for five minutes: now it is read once and cut, off the request threads.
#[tokio::test]
async fn a_workbook_of_one_huge_shared_string_is_checked_quickly() {
    use std::io::Write;
    let t = TestApp::new().await;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let parts = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="s" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        ),
    ];
    for (name, xml) in parts {
        zip.start_file(name, opts).unwrap();
        zip.write_all(xml.as_bytes()).unwrap();
    }
    zip.start_file("xl/sharedStrings.xml", opts).unwrap();
    write!(zip, "<sst><si><t>会员编号</t></si><si><t>年度</t></si><si><t>学时</t></si><si><t>类别</t></si><si><t>内容</t></si><si><t>").unwrap();
    let chunk = "a".repeat(1 << 20);
    for _ in 0..15 {
        zip.write_all(chunk.as_bytes()).unwrap();
    }
    zip.write_all(b"</t></si></sst>").unwrap();
    zip.start_file("xl/worksheets/sheet1.xml", opts).unwrap();
    zip.write_all(b"<worksheet><sheetData><row r=\"1\">").unwrap();
    for (i, c) in "ABCDE".chars().enumerate() {
        write!(zip, r#"<c r="{c}1" t="s"><v>{i}</v></c>"#).unwrap();
    }
    zip.write_all(b"</row>").unwrap();
    for r in 2..=5001 {
        write!(zip, r#"<row r="{r}">"#).unwrap();
        for c in "ABCDE".chars() {
            write!(zip, r#"<c r="{c}{r}" t="s"><v>5</v></c>"#).unwrap();
        }
        zip.write_all(b"</row>").unwrap();
    }
    zip.write_all(b"</sheetData></worksheet>").unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    assert!(bytes.len() < 200 * 1024, "{} KB", bytes.len() / 1024);

    let mut city = t.client();
    city.login("staff", "staff4401", PASSWORD).await;
    let r = city.multipart("/association/learning-records/import", &[("学时.xlsx", &bytes)]).await;
    let job = r.location().to_owned();
    let started = std::time::Instant::now();
    assert_eq!(t.run_jobs().await, 1);
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "checked in {:?}", started.elapsed());
    let page = city.get(&job).await;
    assert!(page.body.contains("5000 行有错误"), "every row refused");
    assert!(page.body.len() < 1024 * 1024, "the page shows a hundred rows, not 5,000: {} KB", page.body.len() / 1024);
}

// 2. A login racing a password change made a session or token with the old
// password after the change had ended the others: it is refused at first use.
#[tokio::test]
async fn a_session_or_token_made_with_an_old_password_is_refused() {
    let t = TestApp::new().await;
    let login = t.login_of(cmis_domain::UserType::NonPracticingMember).await;
    let mut page = member_client(&t).await;
    let token = api_login(&mut page, "member", &login, PASSWORD).await;
    // The password changes, and these two were made just after (the race):
    // nothing deleted them.
    let id = t.login_id(&login).await;
    let hash = cmis_app::auth::hash_password("Changed2026x");
    user::ActiveModel { id: Set(id), password_hash: Set(hash), ..Default::default() }
        .update(t.app.db.conn())
        .await
        .unwrap();
    assert_eq!(page.get("/home").await.location(), "/?expired=1");
    assert_eq!(page.json("GET", "/api/v1/me", Some(&token), json!(null)).await.0, 401);
    // The new password works.
    let mut again = t.client();
    assert_eq!(again.login("member", &login, "Changed2026x").await.location(), "/home");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logins_racing_a_password_change_leave_nothing_usable() {
    let t = TestApp::new().await;
    let login = t.login_of(cmis_domain::UserType::NonPracticingMember).await;
    let mut owner = member_client(&t).await;
    let mut racers = Vec::new();
    for _ in 0..4 {
        let mut c = t.client();
        let captcha = api_captcha(&mut c).await;
        let login = login.clone();
        racers.push(tokio::spawn(async move {
            let body = json!({ "user_type": "member", "login_name": login, "password": PASSWORD,
                "captcha_id": captcha, "captcha": CAPTCHA });
            let (s, r) = c.json("POST", "/api/v1/auth/login", None, body).await;
            (c, (s == 200).then(|| r["token"].as_str().unwrap().to_owned()))
        }));
    }
    let change = [("old_password", PASSWORD), ("new_password", "Changed2026x"), ("confirm", "Changed2026x")];
    assert_eq!(owner.post("/account/password", &change).await.location(), "/?changed=1");
    for r in racers {
        let (mut c, token) = r.await.unwrap();
        if let Some(token) = token {
            assert_eq!(c.json("GET", "/api/v1/me", Some(&token), json!(null)).await.0, 401);
        }
    }
}

// 4. A login name of two megabytes was counted and written to the audit trail.
#[tokio::test]
async fn a_huge_or_binary_login_name_is_refused_before_it_is_counted() {
    let t = TestApp::new().await;
    let mut c = t.client();
    let before = audit_event::Entity::find().count(t.app.db.conn()).await.unwrap();
    for name in ["A".repeat(1_900_000), "staff\0x".to_owned()] {
        let body = json!({ "user_type": "member", "login_name": name, "password": "x",
            "captcha_id": api_captcha(&mut c).await, "captcha": CAPTCHA });
        let (s, e) = c.json("POST", "/api/v1/auth/login", None, body).await;
        assert_eq!((s.as_u16(), e["fields"]["login_name"].as_str()), (422, Some("用户名称不正确，请核对")));
    }
    assert_eq!(audit_event::Entity::find().count(t.app.db.conn()).await.unwrap(), before, "nothing audited");
    let long_keys = throttle::Entity::find().all(t.app.db.conn()).await.unwrap();
    assert!(long_keys.iter().all(|k| k.key.len() < 200), "nothing counted");
    // The page does not echo it back either.
    let r = c.login("member", &"B".repeat(900_000), "x").await;
    assert!(r.body.len() < 100_000, "{} bytes", r.body.len());
}

// 5. The captcha refresh (换一张) and the pages that draw one had no limit.
#[tokio::test]
async fn captchas_on_pages_and_refreshes_are_limited_per_address() {
    let t = TestApp::new().await;
    let mut c = t.client();
    let codes: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..31 {
            v.push(c.get("/captcha").await.status.as_u16());
        }
        v
    };
    assert!(codes[..30].iter().all(|s| *s == 200));
    assert_eq!(codes[30], 429);
    let mut pages = t.client();
    let mut last = 0;
    for _ in 0..121 {
        last = pages.get("/password/forgot").await.status.as_u16();
    }
    assert_eq!(last, 429, "a page draws from its own, larger budget");
    assert_eq!(pages.get("/captcha/login").await.status, 429, "the login box's first captcha shares it");
    let mut logins = t.client();
    for _ in 0..120 {
        assert_eq!(logins.get("/captcha/login").await.status, 200);
    }
    assert_eq!(logins.get("/captcha/login").await.status, 429);
    assert_eq!(logins.get("/").await.status, 200, "the portal itself draws nothing, so it is not held back");
    assert_eq!(t.client().get("/password/forgot").await.status, 200, "another address is not held back");
}

// 6. The sessions table held ID numbers and recovery tokens in clear, keyed by
// the cookie's own session id.
#[tokio::test]
async fn session_rows_hold_no_id_number_and_no_session_id() {
    let t = TestApp::new().await;
    let p = profile(77);
    let no = cmis_app::member_admission::submit(&t.app, application(p.clone())).await.unwrap();
    crate::admission::return_it(&t, &no).await;
    let mut c = t.client();
    let page = c.get("/member-admission/progress/number").await;
    let captcha_id = between(&page.body, "name=\"captcha_id\" value=\"", "\"").to_owned();
    let shown = c
        .post(
            "/member-admission/progress/number",
            &[("business_no", &no), ("captcha_id", &captcha_id), ("captcha", CAPTCHA)],
        )
        .await;
    assert!(shown.body.contains("地方注协退回"), "{}", shown.body);
    let r = c.post("/member-admission/edit", &[("business_no", &no), ("id_number", &p.id_number)]).await;
    assert_eq!(r.status, 200, "the form to correct: {}", r.location());
    let cookie = c.cookies.get("cmis_session").cloned().unwrap();
    let rows = session::Entity::find().all(t.app.db.conn()).await.unwrap();
    assert!(!rows.is_empty());
    for s in rows {
        assert!(!s.data.contains(&p.id_number) && !s.data.contains(&no), "data in clear: {}", s.data);
        assert_ne!(s.id, cookie, "the row is not the cookie's id");
    }
}

// 7. Two decisions at once on one application were both taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_decisions_at_once_are_taken_one_after_the_other() {
    let t = TestApp::new().await;
    cmis_app::member_admission::submit(&t.app, application(profile(78))).await.unwrap();
    let zj = staff(&t, "staff33").await;
    let id = review::queue::<MemberAdmission>(&t.app, &zj, &Default::default()).await.unwrap().rows.items[0].case.id;
    let (a, b) = tokio::join!(
        review::decide::<MemberAdmission>(
            &t.app,
            &zj,
            id,
            AdmissionAction::LocalReject.code(),
            "不符合入会条件",
            &[],
            &[]
        ),
        review::decide::<MemberAdmission>(&t.app, &zj, id, AdmissionAction::LocalApprove.code(), "", &[], &[]),
    );
    assert_eq!([&a, &b].iter().filter(|r| r.is_ok()).count(), 1, "{a:?} {b:?}");
    assert!([&a, &b].iter().any(|r| matches!(r, Err(cmis_app::AppError::Refused(_)))));
    let steps = review::trail::<MemberAdmission>(&t.app, id).await.unwrap();
    assert_eq!(steps.len(), 2, "the submission and one decision");

    // Four confirmations at once: one member, three refusals, no server error.
    cmis_app::member_admission::submit(&t.app, application(profile(79))).await.unwrap();
    let case = review_case::Entity::find()
        .filter(review_case::Column::Kind.eq("member_admission"))
        .filter(review_case::Column::State.eq("submitted"))
        .one(t.app.db.conn())
        .await
        .unwrap()
        .unwrap();
    review::decide::<MemberAdmission>(&t.app, &zj, case.id, AdmissionAction::LocalApprove.code(), "", &[], &[])
        .await
        .unwrap();
    let cicpa = staff(&t, "staffcicpa").await;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (app, cicpa) = (t.app.clone(), cicpa.clone());
        tasks.push(tokio::spawn(async move {
            review::decide::<MemberAdmission>(
                &app,
                &cicpa,
                case.id,
                AdmissionAction::CicpaConfirm.code(),
                "",
                &[],
                &crate::admission::approval(app.today()),
            )
            .await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(s) => {
                assert_eq!(s, AdmissionState::Confirmed);
                ok += 1;
            }
            Err(cmis_app::AppError::Refused(m)) => assert!(m.contains("中注协审核通过"), "{m}"),
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(ok, 1);
}

// 8. A year of 300000 in a staff page's address closed the connection (a panic).
#[tokio::test]
async fn a_year_out_of_range_is_the_default_year_not_a_panic() {
    let t = TestApp::new().await;
    let mut s = t.client();
    s.login("staff", "staff44", PASSWORD).await;
    for path in [
        "/association/member-inspection-progress?year=300000",
        "/association/member-inspection-settings?year=2147483647",
        "/association/member-inspections?year=-5",
    ] {
        assert_eq!(s.get(path).await.status, 200, "{path}");
    }
    let token = api_login(&mut s, "staff", "staff44", PASSWORD).await;
    let (st, _) = s.json("GET", "/api/v1/reviews/member-inspections?year=300000", Some(&token), json!(null)).await;
    assert_eq!(st, 422);
}

// 9. What a return names (items) was stored unchecked: a NUL byte, 870 KB.
#[tokio::test]
async fn what_a_return_names_is_checked_like_any_text() {
    let t = TestApp::new().await;
    cmis_app::member_admission::submit(&t.app, application(profile(80))).await.unwrap();
    let zj = staff(&t, "staff33").await;
    let id = review::queue::<MemberAdmission>(&t.app, &zj, &Default::default()).await.unwrap().rows.items[0].case.id;
    let decide = |items: Vec<String>| {
        let (app, zj) = (t.app.clone(), zj.clone());
        async move {
            review::decide::<MemberAdmission>(&app, &zj, id, AdmissionAction::LocalReturn.code(), "请修改", &items, &[])
                .await
        }
    };
    for items in [vec!["a\0b\u{1b}[31m".to_owned()], vec!["x".repeat(30_000)], vec!["工作单位".to_owned(); 31]] {
        match decide(items).await {
            Err(cmis_app::AppError::Invalid(f)) => assert!(f.get("items").is_some()),
            other => panic!("{other:?}"),
        }
    }
    let case = review_case::Entity::find_by_id(id).one(t.app.db.conn()).await.unwrap().unwrap();
    assert_eq!(case.state, "submitted", "nothing saved");
    assert_eq!(decide(vec!["工作单位".to_owned()]).await.unwrap(), AdmissionState::ReturnedByLocal);
}

// 10. A link could make the staff queue page say anything.
#[tokio::test]
async fn the_queue_page_says_nothing_a_link_wrote() {
    let t = TestApp::new().await;
    let mut s = t.client();
    s.login("staff", "staff44", PASSWORD).await;
    let r = s
        .get("/association/member-inspections?decided=200&skipped=%E8%AF%B7%E5%8F%91%E9%80%81%E5%AF%86%E7%A0%81")
        .await;
    assert_eq!(r.status, 200);
    assert!(!r.body.contains("请发送密码") && !r.body.contains("已批量通过"));
}

// 11. Looking at a member's photo left no trace.
#[tokio::test]
async fn looking_at_a_members_photo_is_audited() {
    let t = TestApp::new().await;
    let m = member::Entity::find()
        .filter(member::Column::AssociationId.eq(t.app.orgs().by_code("44").unwrap().id))
        .one(t.app.db.conn())
        .await
        .unwrap()
        .expect("a Guangdong member");
    let photo = crate::certificate::jpeg(&t).await;
    cmis_app::certificate::approve_photo(&t.app, &staff(&t, "staff44").await, &m.cert_no, photo).await.unwrap();
    let mut s = t.client();
    s.login("staff", "staff44", PASSWORD).await;
    let before = audit_event::Entity::find().count(t.app.db.conn()).await.unwrap();
    s.get(&format!("/association/member-photo?cert_no={}", m.cert_no)).await;
    assert_eq!(s.get(&format!("/association/member-photo/image?cert_no={}", m.cert_no)).await.status, 200);
    let after = audit_event::Entity::find().count(t.app.db.conn()).await.unwrap();
    assert_eq!(after, before + 2);
    cmis_app::member_admission::submit(&t.app, application(profile(81))).await.unwrap();
    let mut zj = t.client();
    zj.login("staff", "staff33", PASSWORD).await;
    let id = review::queue::<MemberAdmission>(&t.app, &staff(&t, "staff33").await, &Default::default())
        .await
        .unwrap()
        .rows
        .items[0]
        .case
        .id;
    assert_eq!(zj.get(&format!("/association/member-admissions/{id}/photo")).await.status, 200);
    let viewed = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq("member_admission_photo_viewed"))
        .count(t.app.db.conn())
        .await
        .unwrap();
    assert_eq!(viewed, 1);
}

// Smaller: unknown API addresses answered with an HTML page; the by-information
// progress query had no counter.
#[tokio::test]
async fn unknown_api_addresses_answer_json_and_information_queries_are_counted() {
    let t = TestApp::new().await;
    let mut c = t.client();
    let (s, e) = c.json("GET", "/api/v1/no/such/thing", None, json!(null)).await;
    assert_eq!((s.as_u16(), e["error"].is_string()), (404, true));

    let p = profile(82);
    cmis_app::member_admission::submit(&t.app, application(p.clone())).await.unwrap();
    let mut query = cmis_app::member_admission::InfoQuery {
        name: p.name.clone(),
        id_type: p.id_type.clone(),
        id_number: p.id_number.clone(),
        qualification_method: p.qualification_method.clone(),
        exam_cert_no: "QZ233300000".into(),
    };
    for _ in 0..5 {
        assert!(matches!(
            cmis_app::member_admission::progress_by_info(&t.app, &query).await,
            Err(cmis_app::AppError::Invalid(_))
        ));
    }
    query.exam_cert_no = p.exam_cert_no.clone();
    match cmis_app::member_admission::progress_by_info(&t.app, &query).await {
        Err(cmis_app::AppError::Refused(m)) => assert!(m.starts_with("查询次数过多"), "{m}"),
        other => panic!("the sixth try is not even compared: {other:?}"),
    }
}
