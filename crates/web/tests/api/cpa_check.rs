//! 注册会计师年检 (seed 001 chapter 2): the CPA's flow through the pages and
//! the use cases, the face check over the provider's HTTP protocol (the
//! development provider, served on loopback), and what an outsider sends.

use cmis_app::cpa_check::{self, Applied, face, offline, settings};
use cmis_app::face::Notification;
use cmis_app::jobs::Progress;
use cmis_app::regulator;
use cmis_app::review;
use cmis_app::{Actor, AppError, auth};
use cmis_domain::UserType;
use cmis_domain::cpa_check::{CheckAction, CheckState, CpaCheck};
use cmis_store::entity::{
    attachment, cpa, cpa_check as payload, face_check, learning_record, message, review_case, user,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};

use crate::admission::staff;
use crate::helpers::*;
use crate::inspection::PDF;

pub const FACE_SECRET: &str = "face-test-secret-0123456789";

/// A served test app with the development face provider.
pub async fn with_faces() -> TestApp {
    TestApp::served(|s, _| {
        s.face.provider = "dev".into();
        s.face.secret = FACE_SECRET.into();
    })
    .await
}

pub async fn actor_of(t: &TestApp, login: &str) -> Actor {
    auth::actor_for(&t.app, t.login_id(login).await).await.unwrap().unwrap()
}

/// The first demo CPA, with the year's hours in the ledger.
pub async fn ready_cpa(t: &TestApp) -> (String, Actor) {
    let login = t.login_of(UserType::Cpa).await;
    give_hours(t, &login, 40).await;
    (login.clone(), actor_of(t, &login).await)
}

pub async fn cpa_row(t: &TestApp, cpa_no: &str) -> cpa::Model {
    cpa::Entity::find().filter(cpa::Column::CpaNo.eq(cpa_no)).one(t.app.db.conn()).await.unwrap().unwrap()
}

pub async fn give_hours(t: &TestApp, cpa_no: &str, hours: i64) {
    let c = cpa_row(t, cpa_no).await;
    learning_record::ActiveModel {
        member_id: Set(None),
        cpa_id: Set(Some(c.id)),
        year: Set(inspected()),
        kind: Set("record".into()),
        hours_x100: Set(hours * 100),
        category: Set("professional".into()),
        title: Set("测试课程".into()),
        source: Set("manual".into()),
        recorded_by: Set("test".into()),
        created_at: Set(t.app.now()),
        ..Default::default()
    }
    .insert(t.app.db.conn())
    .await
    .unwrap();
}

/// Uploads every required material of the CPA's list.
pub async fn upload_materials(t: &TestApp, a: &Actor) {
    let o = cpa_check::overview(&t.app, a).await.unwrap();
    for m in o.materials().iter().filter(|m| m.required) {
        let file = cmis_app::attachments::Incoming::whole("材料.pdf", bytes::Bytes::from_static(PDF));
        cpa_check::upload_material(&t.app, a, &m.name, file).await.unwrap();
    }
}

/// The provider's token of a started check.
async fn biz_of(t: &TestApp, id: i32) -> String {
    face_check::Entity::find_by_id(id).one(t.app.db.conn()).await.unwrap().unwrap().provider_token.unwrap()
}

fn started(a: Applied) -> face::Started {
    match a {
        Applied::Face(s) => s,
        Applied::Submitted(d) => panic!("submitted without a face check: {d:?}"),
    }
}

/// The person finishes on the provider's page.
async fn finish(t: &TestApp, id: i32, pass: bool, notify: bool) {
    let biz = biz_of(t, id).await;
    let o = cmis_app::face::dev::Outcome { pass, notify, frame: false };
    cmis_app::face::dev::finish(&t.app, &biz, o, t.app.now()).await.unwrap();
}

async fn case_of(t: &TestApp, id: i32) -> review_case::Model {
    review_case::Entity::find_by_id(id).one(t.app.db.conn()).await.unwrap().unwrap()
}

#[tokio::test]
async fn the_pc_page_shows_a_qr_code_and_turns_to_success_when_the_phone_passes() {
    let t = with_faces().await;
    let (login, a) = ready_cpa(&t).await;
    upload_materials(&t, &a).await;
    let mut pc = t.client();
    pc.login("cpa", &login, PASSWORD).await;
    let confirm = pc.get("/cpa-check/confirm?new=1").await;
    assert!(confirm.body.contains("注册会计师行业统一监管平台"), "the seed's note");
    assert!(confirm.body.contains("acc.mof.gov.cn"));
    assert!(confirm.body.contains("data-testid=\"pre-notice\""), "the association's notice pops up first");
    let again = pc.get("/cpa-check/confirm").await;
    assert!(!again.body.contains("data-testid=\"pre-notice\""), "only on 年检申请 / 新建申请, not on 上一步");
    let page = pc.get("/cpa-check/materials").await;
    assert!(page.body.contains("您将进行人脸认证操作，人脸认证支持的身份证件类型为居民身份证和港澳台居民居住证。"));
    assert!(page.body.contains("是否继续?") && page.body.contains(&format!("确认要申请 {} 年度年检吗？", inspected())));
    let r = pc.post("/cpa-check/apply", &[("channel", "pc")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let face_page = r.location().to_owned();
    assert!(face_page.starts_with("/cpa-check/face/"));
    let qr = pc.get(&face_page).await;
    assert!(qr.body.contains("人脸认证二维码") && qr.body.contains("<svg"));
    let phone_url = between(&qr.body, "data-testid=\"face-url\">", "<").to_owned();
    let path = phone_url.split_once("/face/").map(|(_, p)| format!("/face/{p}")).unwrap();
    let status = pc.get(&format!("{face_page}/status")).await;
    assert!(status.body.contains("hx-trigger=\"every 2s\""), "the PC page looks again by itself");

    // The phone that scanned it: not logged in.
    let mut phone = t.client();
    let agree = phone.get(&path).await;
    assert!(agree.body.contains("同意并继续"));
    assert!(!agree.body.contains(&cpa_row(&t, &login).await.name), "the name is masked");
    let refused = phone.post(&path, &[]).await;
    assert!(refused.body.contains("请阅读并勾选"), "the agreement must be ticked");
    let r = phone.post(&path, &[("agree", "1")]).await;
    assert_eq!(r.location(), format!("{path}/tips"));
    let tips = phone.get(&format!("{path}/tips")).await;
    for tip in ["30-50cm", "口罩、帽子、墨镜、头巾", "浓妆、戴美瞳", "网络连接稳定"] {
        assert!(tips.body.contains(tip), "{tip}");
    }
    let go = phone.get(&format!("{path}/go")).await;
    let provider = go.location().to_owned();
    assert!(provider.contains("/dev/face/h5/"), "{provider}");
    let provider_path = provider.split_once("/dev/").map(|(_, p)| format!("/dev/{p}")).unwrap();
    phone.get(&provider_path).await;
    let back = phone.post(&provider_path, &[("outcome", "pass")]).await;
    assert!(back.location().ends_with("/back"), "{}", back.location());
    let result = phone.get(&format!("{path}/back")).await;
    assert!(result.body.contains("人脸认证通过"));
    assert!(result.body.contains("请在电脑上查看"), "a phone not logged in as the CPA learns nothing more");

    let status = pc.get(&format!("{face_page}/status")).await;
    assert!(status.body.contains("人脸认证通过，申请成功"), "{}", status.body);
    assert!(!status.body.contains("hx-trigger"), "the page stops looking");
    let case_id: i32 = between(&status.body, "/cpa-check/done/", "\"").parse().unwrap();
    let done = pc.get(&format!("/cpa-check/done/{case_id}")).await;
    assert!(done.body.contains("年检申请成功") && done.body.contains("事务所待审核"));
    let k = case_of(&t, case_id).await;
    assert_eq!(k.state, "firm_review");
    let p = payload::Entity::find_by_id(case_id).one(t.app.db.conn()).await.unwrap().unwrap();
    assert_eq!((p.identity.as_str(), p.face_check_id.is_some()), ("face", true));
    let trail = review::trail::<CpaCheck>(&t.app, case_id).await.unwrap();
    assert_eq!(trail[0].node, "注册会计师提交年检申请（人脸认证通过）");
    let files = attachment::Entity::find().filter(attachment::Column::OwnerId.eq(case_id)).count(t.app.db.conn()).await;
    assert_eq!(files.unwrap(), 1, "the material went with the application");
    // The firm is told, and finds it in 注师待审核.
    let firm_user = user::Entity::find()
        .filter(user::Column::UserType.eq("firm"))
        .filter(user::Column::FirmId.eq(k.firm_id))
        .one(t.app.db.conn())
        .await
        .unwrap()
        .unwrap();
    let told = message::Entity::find().filter(message::Column::UserId.eq(firm_user.id)).all(t.app.db.conn()).await;
    assert!(told.unwrap().iter().any(|m| m.title == "注师年检申请待审核"));
    let mut firm = t.client();
    firm.login("firm", &firm_user.login_name, PASSWORD).await;
    let queue = firm.get("/firm/cpa-checks").await;
    assert!(queue.body.contains("注师待审核") && queue.body.contains(&login), "{}", queue.body);
    let detail = firm.get(&format!("/firm/cpa-checks/{case_id}")).await;
    assert!(detail.body.contains("人脸认证通过（") && detail.body.contains("相似度92.37"), "{}", detail.body);
}

#[tokio::test]
async fn a_failed_check_goes_back_to_confirm_and_a_retry_passes() {
    let t = with_faces().await;
    let (_, a) = ready_cpa(&t).await;
    upload_materials(&t, &a).await;
    let first = started(cpa_check::apply(&t.app, &a, face::Channel::Phone).await.unwrap());
    finish(&t, first.id, false, true).await;
    let st = face::status(&t.app, &a, first.id).await.unwrap();
    assert_eq!(st.state, "failed");
    assert!(st.message.unwrap().starts_with("人脸识别未通过"));
    assert!(cpa_check::overview(&t.app, &a).await.unwrap().current.is_none(), "nothing was submitted");
    let second = started(cpa_check::apply(&t.app, &a, face::Channel::Phone).await.unwrap());
    assert_eq!(second.left, 18, "two of twenty used today");
    finish(&t, second.id, true, true).await;
    let st = face::status(&t.app, &a, second.id).await.unwrap();
    assert_eq!(st.state, "passed");
    assert_eq!(case_of(&t, st.case_id.unwrap()).await.state, "firm_review");
}

#[tokio::test]
async fn a_lost_notification_is_made_up_by_asking_the_provider() {
    let t = with_faces().await;
    let (_, a) = ready_cpa(&t).await;
    upload_materials(&t, &a).await;
    let s = started(cpa_check::apply(&t.app, &a, face::Channel::Pc).await.unwrap());
    finish(&t, s.id, true, false).await;
    let row = face_check::Entity::find_by_id(s.id).one(t.app.db.conn()).await.unwrap().unwrap();
    assert_eq!(row.state, "started", "no notification came");
    let st = face::status(&t.app, &a, s.id).await.unwrap();
    assert_eq!(st.state, "passed", "the PC page's look asked the provider");
    assert!(st.case_id.is_some());
}

#[tokio::test]
async fn an_abandoned_check_is_asked_about_and_expires() {
    let t = with_faces().await;
    let (_, a) = ready_cpa(&t).await;
    upload_materials(&t, &a).await;
    let s = started(cpa_check::apply(&t.app, &a, face::Channel::Pc).await.unwrap());
    // Another CPA starts too, and will never finish.
    let other_login = user::Entity::find()
        .filter(user::Column::UserType.eq("cpa"))
        .order_by_desc(user::Column::Id)
        .one(t.app.db.conn())
        .await
        .unwrap()
        .unwrap()
        .login_name;
    give_hours(&t, &other_login, 40).await;
    let b = actor_of(&t, &other_login).await;
    upload_materials(&t, &b).await;
    let abandoned = started(cpa_check::apply(&t.app, &b, face::Channel::Pc).await.unwrap());
    // The person passes on the provider's page, the notification is lost,
    // and nobody comes back: the sweep finds the result.
    finish(&t, s.id, true, false).await;
    t.clock.advance(chrono::Duration::minutes(2));
    cmis_app::housekeeping::sweep(&t.app).await.unwrap();
    let row = face_check::Entity::find_by_id(s.id).one(t.app.db.conn()).await.unwrap().unwrap();
    assert_eq!(row.state, "passed");
    // The other: expired after its time.
    let s = abandoned;
    t.clock.advance(chrono::Duration::minutes(face::VALID_MINUTES + 1));
    cmis_app::housekeeping::sweep(&t.app).await.unwrap();
    let st = face::status(&t.app, &b, s.id).await.unwrap();
    assert_eq!(st.state, "expired");
    assert!(face::handoff(&t.app, &s.token).await.is_err(), "an expired code does not open the provider");
}

fn notice(
    t: &TestApp,
    id: &str,
    biz: &str,
    extra: i32,
    code: i32,
    at: chrono::DateTime<chrono::Utc>,
) -> (Vec<u8>, String) {
    let n = Notification {
        notice_id: id.into(),
        biz_token: biz.into(),
        extra: extra.to_string(),
        sent_at: at,
        result: cmis_app::face::FaceResult {
            code,
            liveness_code: 0,
            liveness_msg: String::new(),
            compare_code: code,
            compare_msg: String::new(),
            similarity: if code == 0 { 88.0 } else { 10.0 },
            best_frame: None,
        },
    };
    cmis_app::face::dev::sign_notification(&t.app, &n).unwrap()
}

async fn post_notice(c: &mut Client, body: Vec<u8>, sig: &str) -> Response {
    c.send(
        axum::http::Request::post("/api/v1/face/notify")
            .header("content-type", "application/json")
            .header("x-face-signature", sig)
            .body(axum::body::Body::from(body))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn notifications_forged_replayed_stale_or_late_change_nothing() {
    let t = with_faces().await;
    let (_, a) = ready_cpa(&t).await;
    upload_materials(&t, &a).await;
    let s = started(cpa_check::apply(&t.app, &a, face::Channel::Pc).await.unwrap());
    let biz = biz_of(&t, s.id).await;
    let mut outsider = t.client();
    let now = t.app.now();
    // Forged: signed with another secret, or altered after signing.
    let (body, sig) = notice(&t, "n1", &biz, s.id, 0, now);
    let r = post_notice(&mut outsider, body.clone(), "00ff").await;
    assert_eq!(r.status, 401);
    let mut altered = body.clone();
    let at = altered.iter().position(|b| *b == b'0').unwrap();
    altered[at] = b'1';
    assert_eq!(post_notice(&mut outsider, altered, &sig).await.status, 401);
    // A failure for someone else's check id (extra) is refused as unknown.
    let (wrong, wsig) = notice(&t, "n2", &biz, s.id + 1000, 1, now);
    assert_eq!(post_notice(&mut outsider, wrong, &wsig).await.status, 404);
    // Stale: sent more than five minutes ago.
    let (old, osig) = notice(&t, "n3", &biz, s.id, 1, now - chrono::Duration::minutes(6));
    assert_eq!(post_notice(&mut outsider, old, &osig).await.status, 422);
    assert_eq!(face_check::Entity::find_by_id(s.id).one(t.app.db.conn()).await.unwrap().unwrap().state, "started");
    // The genuine one: taken once.
    let r = post_notice(&mut outsider, body.clone(), &sig).await;
    assert_eq!((r.status.as_u16(), r.body.as_str()), (200, "SUCCESS"));
    let row = face_check::Entity::find_by_id(s.id).one(t.app.db.conn()).await.unwrap().unwrap();
    assert_eq!(row.state, "passed");
    let case_id = row.case_id.unwrap();
    // Replayed: acknowledged, not acted on (no second trail step).
    assert_eq!(post_notice(&mut outsider, body, &sig).await.status, 200);
    // Late: a failure notification after the check finished changes nothing.
    let (late, lsig) = notice(&t, "n4", &biz, s.id, 1, t.app.now());
    assert_eq!(post_notice(&mut outsider, late, &lsig).await.status, 200);
    assert_eq!(face_check::Entity::find_by_id(s.id).one(t.app.db.conn()).await.unwrap().unwrap().state, "passed");
    assert_eq!(review::trail::<CpaCheck>(&t.app, case_id).await.unwrap().len(), 1);
    assert_eq!(case_of(&t, case_id).await.state, "firm_review");
}

#[tokio::test]
async fn twenty_face_checks_a_day_even_when_asked_for_at_once() {
    let t = with_faces().await;
    let (_, a) = ready_cpa(&t).await;
    upload_materials(&t, &a).await;
    let mut tasks = Vec::new();
    for _ in 0..25 {
        let app = t.app.clone();
        let a = a.clone();
        tasks.push(tokio::spawn(async move { cpa_check::apply(&app, &a, face::Channel::Pc).await }));
    }
    let mut ok = 0;
    let mut refused = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(Applied::Face(_)) => ok += 1,
            Ok(other) => panic!("{other:?}"),
            Err(e) => refused.push(e.to_string()),
        }
    }
    assert_eq!(ok, 20, "{refused:?}");
    assert!(refused.iter().all(|e| e.contains("今日人脸认证次数已用完")), "{refused:?}");
    assert_eq!(cpa_check::overview(&t.app, &a).await.unwrap().face_left, 0);
    // The next day, twenty more (the next day may be in the next year's check).
    give_hours_in(&t, &a, inspected() + 1, 40).await;
    t.clock.advance(chrono::Duration::days(1));
    assert_eq!(cpa_check::overview(&t.app, &a).await.unwrap().face_left, 20);
    assert!(cpa_check::apply(&t.app, &a, face::Channel::Pc).await.is_ok());
}

#[tokio::test]
async fn without_a_provider_a_check_cannot_start_and_a_refused_start_is_given_back() {
    // No provider configured: the CPA is told to go in person.
    let t = TestApp::new().await;
    let (_, a) = ready_cpa(&t).await;
    upload_materials(&t, &a).await;
    let e = cpa_check::apply(&t.app, &a, face::Channel::Pc).await.unwrap_err();
    assert!(e.to_string().contains("线下人工核验"), "{e}");
    // A provider that does not answer: the attempt is not counted.
    let t = TestApp::with_settings(|s| {
        s.face.provider = "dev".into();
        s.face.secret = FACE_SECRET.into();
        s.public_url = "http://127.0.0.1:9".into();
    })
    .await;
    let (_, a) = ready_cpa(&t).await;
    upload_materials(&t, &a).await;
    let e = cpa_check::apply(&t.app, &a, face::Channel::Pc).await.unwrap_err();
    assert_eq!(e.to_string(), "人脸认证服务暂时不可用，请稍后再试");
    assert_eq!(cpa_check::overview(&t.app, &a).await.unwrap().face_left, 20);
}

#[tokio::test]
async fn a_return_is_resubmitted_without_a_second_face_check() {
    let t = with_faces().await;
    let (login, a) = ready_cpa(&t).await;
    upload_materials(&t, &a).await;
    let s = started(cpa_check::apply(&t.app, &a, face::Channel::Pc).await.unwrap());
    finish(&t, s.id, true, true).await;
    let case_id = face::status(&t.app, &a, s.id).await.unwrap().case_id.unwrap();
    let firm = actor_of(&t, &login[..8]).await;
    let item = format!("{}注册会计师任职资格检查表", cpa_check::MATERIAL_ITEM);
    review::decide::<CpaCheck>(&t.app, &firm, case_id, "firm_return", "检查表未签字", &[item], &[]).await.unwrap();
    assert_eq!(case_of(&t, case_id).await.state, "firm_returned");
    let told = message::Entity::find().filter(message::Column::UserId.eq(a.user_id)).all(t.app.db.conn()).await;
    assert!(told.unwrap().iter().any(|m| m.body.contains("事务所退回") && m.body.contains("检查表未签字")));
    // The home tile says 已退回.
    let mut c = t.client();
    c.login("cpa", &login, PASSWORD).await;
    assert!(c.get("/home").await.body.contains("已退回"));
    // The named material must be uploaded again.
    let e = cpa_check::apply(&t.app, &a, face::Channel::Pc).await.unwrap_err();
    assert!(matches!(&e, AppError::Invalid(f) if f.0.iter().any(|(_, m)| m.contains("退回时要求修改"))), "{e:?}");
    upload_materials(&t, &a).await;
    let left = cpa_check::overview(&t.app, &a).await.unwrap().face_left;
    match cpa_check::apply(&t.app, &a, face::Channel::Pc).await.unwrap() {
        Applied::Submitted(d) => assert_eq!((d.id, d.state), (case_id, CheckState::FirmReview)),
        Applied::Face(_) => panic!("a resubmission asks for no face check"),
    }
    assert_eq!(cpa_check::overview(&t.app, &a).await.unwrap().face_left, left, "no check was counted");
    let trail = review::trail::<CpaCheck>(&t.app, case_id).await.unwrap();
    let nodes: Vec<&str> = trail.iter().map(|s| s.node.as_str()).collect();
    assert_eq!(nodes, ["注册会计师提交年检申请（人脸认证通过）", "事务所审核退回", "注册会计师再次提交年检申请"]);
    // Applying twice is refused as such.
    let e = cpa_check::apply(&t.app, &a, face::Channel::Pc).await.unwrap_err();
    assert!(e.to_string().contains("年度年检已申请"), "{e}");
}

#[tokio::test]
async fn the_association_returns_and_decides_from_its_review() {
    let t = with_faces().await;
    let (_, a) = ready_cpa(&t).await;
    upload_materials(&t, &a).await;
    let s = started(cpa_check::apply(&t.app, &a, face::Channel::Pc).await.unwrap());
    finish(&t, s.id, true, true).await;
    let case_id = face::status(&t.app, &a, s.id).await.unwrap().case_id.unwrap();
    // The firm's batch (its own workflow) puts the case before the association.
    review_case::ActiveModel { id: Set(case_id), state: Set("province_review".into()), ..Default::default() }
        .update(t.app.db.conn())
        .await
        .unwrap();
    let province = staff(&t, "staff44").await;
    let e = review::decide::<CpaCheck>(&t.app, &province, case_id, "return", " ", &[], &[]).await.unwrap_err();
    assert!(e.to_string().contains("原因") || matches!(e, AppError::Invalid(_)), "{e}");
    review::decide::<CpaCheck>(&t.app, &province, case_id, "return", "证明材料不清晰", &[], &[]).await.unwrap();
    assert_eq!(case_of(&t, case_id).await.state, "province_returned");
    let o = cpa_check::overview(&t.app, &a).await.unwrap();
    assert_eq!(o.current.as_ref().unwrap().state, CheckState::ProvinceReturned);
    assert!(o.identity_needed().is_none());
    // Another province cannot see it: the same answer as a case that does not exist.
    let zhejiang = staff(&t, "staff33").await;
    let e = review::decide::<CpaCheck>(&t.app, &zhejiang, case_id, "pass", "", &[], &[]).await.unwrap_err();
    assert!(matches!(e, AppError::NotFound(_)), "{e:?}");
    // A firm can only return: passing is the association's.
    let mut c = t.client();
    let r = c.get(&format!("/firm/cpa-checks/{case_id}")).await;
    assert_eq!(r.location(), "/?expired=1");
    let _ = CheckAction::Pass;
}

#[tokio::test]
async fn a_retired_cpa_uploads_the_retired_list_and_finds_it_again_next_year() {
    let t = with_faces().await;
    let (_, a) = ready_cpa(&t).await;
    cpa_check::choose_retired(&t.app, &a, true).await.unwrap();
    let o = cpa_check::overview(&t.app, &a).await.unwrap();
    let names: Vec<&str> = o.materials().iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["离退休证明", "注册会计师任职资格检查表"], "the retired list");
    // A serving CPA's material is not one of the retired list.
    let file = cmis_app::attachments::Incoming::whole("x.pdf", bytes::Bytes::from_static(PDF));
    assert!(cpa_check::upload_material(&t.app, &a, "不存在的材料", file).await.is_err());
    upload_materials(&t, &a).await;
    let s = started(cpa_check::apply(&t.app, &a, face::Channel::Pc).await.unwrap());
    finish(&t, s.id, true, true).await;
    let case_id = face::status(&t.app, &a, s.id).await.unwrap().case_id.unwrap();
    let p = payload::Entity::find_by_id(case_id).one(t.app.db.conn()).await.unwrap().unwrap();
    assert!(p.retired);

    // A year on: the choice and the materials are there already.
    t.clock.advance(chrono::Duration::days(365));
    give_hours_in(&t, &a, inspected() + 1, 40).await;
    let o = cpa_check::overview(&t.app, &a).await.unwrap();
    assert_eq!(o.year, inspected() + 1);
    assert!(o.retired, "离退休 carried over");
    let carried: Vec<&str> = o.drafts.iter().filter_map(|d| d.label.as_deref()).collect();
    assert_eq!(carried.len(), 2, "{carried:?}");
    // Once: looking again does not copy them twice.
    assert_eq!(cpa_check::overview(&t.app, &a).await.unwrap().drafts.len(), 2);
    // They go with the new application, as new files of their own.
    let s = started(cpa_check::apply(&t.app, &a, face::Channel::Pc).await.unwrap());
    finish(&t, s.id, true, true).await;
    let new_case = face::status(&t.app, &a, s.id).await.unwrap().case_id.unwrap();
    assert_ne!(new_case, case_id);
    let files = attachment::Entity::find().filter(attachment::Column::OwnerId.eq(new_case)).all(t.app.db.conn()).await;
    assert_eq!(files.unwrap().len(), 2);
}

async fn give_hours_in(t: &TestApp, a: &Actor, year: i32, hours: i64) {
    learning_record::ActiveModel {
        member_id: Set(None),
        cpa_id: Set(a.cpa_id),
        year: Set(year),
        kind: Set("record".into()),
        hours_x100: Set(hours * 100),
        category: Set("ethics".into()),
        title: Set("测试".into()),
        source: Set("manual".into()),
        recorded_by: Set("test".into()),
        created_at: Set(t.app.now()),
        ..Default::default()
    }
    .insert(t.app.db.conn())
    .await
    .unwrap();
}

#[tokio::test]
async fn a_cpa_short_of_hours_is_told_how_many_remain() {
    let t = with_faces().await;
    let login = t.login_of(UserType::Cpa).await;
    let a = actor_of(&t, &login).await;
    learning_record::Entity::delete_many()
        .filter(learning_record::Column::CpaId.eq(a.cpa_id))
        .exec(t.app.db.conn())
        .await
        .unwrap();
    give_hours(&t, &login, 25).await;
    let o = cpa_check::overview(&t.app, &a).await.unwrap();
    assert!(o.blockers().iter().any(|b| b.contains("还需完成15.00学时")), "{:?}", o.blockers());
    let e = cpa_check::apply(&t.app, &a, face::Channel::Pc).await.unwrap_err();
    assert!(e.to_string().contains("还需完成15.00学时"), "{e}");
}

#[tokio::test]
async fn a_cpa_verified_in_person_applies_without_a_face_check() {
    let t = with_faces().await;
    // A demo CPA holding a passport: no online check for them.
    let c = cpa::Entity::find().filter(cpa::Column::IdType.eq("passport")).one(t.app.db.conn()).await.unwrap().unwrap();
    let login = c.cpa_no.to_string();
    give_hours(&t, &login, 40).await;
    let a = actor_of(&t, &login).await;
    upload_materials(&t, &a).await;
    let o = cpa_check::overview(&t.app, &a).await.unwrap();
    assert!(!o.face_online);
    let e = cpa_check::apply(&t.app, &a, face::Channel::Phone).await.unwrap_err();
    assert!(e.to_string().contains("线下人工核验"), "{e}");
    // The association records the document it saw; it must be the one on record.
    let staff44 = staff(&t, "staff44").await;
    let zhejiang = staff(&t, "staff33").await;
    let assoc = t.app.orgs().get(c.association_id).unwrap().code.clone();
    let own_staff = staff(&t, &format!("staff{assoc}")).await;
    let other = if assoc == "33" { staff44 } else { zhejiang };
    let form = |doc: &str, no: &str| offline::NewRecord {
        cpa_no: login.clone(),
        document_type: doc.into(),
        document_no: no.into(),
        verified_on: t.app.today().to_string(),
        note: String::new(),
    };
    let number = t.app.pii.decrypt(&c.id_number_enc).unwrap();
    let e = offline::record(&t.app, &other, &form("passport", &number)).await.unwrap_err();
    assert!(matches!(&e, AppError::Invalid(f) if f.get("cpa_no").is_some()), "another province: {e:?}");
    let e = offline::record(&t.app, &own_staff, &form("passport", "E00000000")).await.unwrap_err();
    assert!(matches!(&e, AppError::Invalid(f) if f.get("document_no").is_some()), "{e:?}");
    let r = offline::record(&t.app, &own_staff, &form("passport", &number.to_lowercase())).await.unwrap();
    assert!(r.document_no.contains('*'), "masked: {}", r.document_no);
    let e = offline::record(&t.app, &own_staff, &form("passport", &number)).await.unwrap_err();
    assert!(e.to_string().contains("填写") || matches!(e, AppError::Invalid(_)), "once a year");
    match cpa_check::apply(&t.app, &a, face::Channel::Phone).await.unwrap() {
        Applied::Submitted(d) => {
            let p = payload::Entity::find_by_id(d.id).one(t.app.db.conn()).await.unwrap().unwrap();
            assert_eq!(p.identity, "in_person");
            let trail = review::trail::<CpaCheck>(&t.app, d.id).await.unwrap();
            assert_eq!(trail[0].node, "注册会计师提交年检申请（线下人工核验）");
        }
        Applied::Face(_) => panic!("verified in person: no face check"),
    }
}

#[tokio::test]
async fn settings_are_checked_saved_per_association_and_audited() {
    let t = TestApp::new().await;
    let year = inspected();
    let gd = staff(&t, "staff44").await;
    let bad = settings::SettingsForm {
        window_start: format!("{year}-01-01"),
        window_end: "2000-01-01".into(),
        annual_hours: "abc".into(),
        success_notice: String::new(),
        serving_materials: "*证明|doc".into(),
        ..Default::default()
    };
    let e = settings::save(&t.app, &gd, year, &bad).await.unwrap_err();
    let AppError::Invalid(f) = e else { panic!("{e:?}") };
    for key in ["window_start", "window_end", "annual_hours", "success_notice", "serving_materials"] {
        assert!(f.get(key).is_some(), "{key}: {f:?}");
    }
    let good = settings::SettingsForm {
        window_start: format!("{}-01-01", year + 1),
        window_end: format!("{}-04-30", year + 1),
        annual_hours: "40".into(),
        pre_notice: "广东省注协提示：请于4月30日前完成年检申请。".into(),
        success_notice: "广东省注协：申请已提交事务所。".into(),
        serving_materials: "*执业情况说明|pdf|1|5".into(),
        retired_materials: "*离退休证明\n*返聘协议".into(),
        batch_materials: "*社保证明材料|pdf,jpg|10|5".into(),
    };
    let s = settings::save(&t.app, &gd, year, &good).await.unwrap();
    assert!(s.own && s.retired_materials.len() == 2);
    let gd_id = t.app.orgs().by_code("44").unwrap().id;
    let zj_id = t.app.orgs().by_code("33").unwrap().id;
    assert_eq!(settings::effective(&t.app, gd_id, year).await.unwrap().serving_materials[0].name, "执业情况说明");
    assert_eq!(
        settings::effective(&t.app, zj_id, year).await.unwrap().source,
        "系统默认",
        "Zhejiang keeps the default"
    );
    let city = staff(&t, "staff4401").await;
    assert!(matches!(settings::save(&t.app, &city, year, &good).await, Err(AppError::Forbidden)));
    let audited = cmis_store::entity::audit_event::Entity::find()
        .filter(cmis_store::entity::audit_event::Column::Action.eq("cpa_check_settings_saved"))
        .count(t.app.db.conn())
        .await
        .unwrap();
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn the_qr_code_is_the_same_every_year_and_opens_the_history() {
    let t = with_faces().await;
    let (login, a) = ready_cpa(&t).await;
    let q1 = cpa_check::qr::of_cpa(&t.app, &a).await.unwrap();
    t.clock.advance(chrono::Duration::days(400));
    let q2 = cpa_check::qr::of_cpa(&t.app, &a).await.unwrap();
    assert_eq!(q1.payload, q2.payload);
    assert_eq!(cpa_check::qr::verify_with(&t.app.signer.verifying_key(), &q1.payload), Some(login.clone()));
    let forged = q1.payload.replace(&login, &format!("{}9", &login[..11]));
    assert_eq!(cpa_check::qr::verify_with(&t.app.signer.verifying_key(), &forged), None);
    let mut anyone = t.client();
    let page = anyone.get(&format!("/q/{}", q1.payload)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("注册会计师年检结果") && page.body.contains(&login));
    assert_eq!(anyone.get(&format!("/q/{forged}")).await.status, 404);
    // Its firm sees it too; another firm does not.
    let firm = actor_of(&t, &login[..8]).await;
    assert!(cpa_check::qr::of(&t.app, &firm, &login).await.is_ok());
    let other_firm = user::Entity::find()
        .filter(user::Column::UserType.eq("firm"))
        .filter(user::Column::LoginName.ne(&login[..8]))
        .one(t.app.db.conn())
        .await
        .unwrap()
        .unwrap();
    let other = actor_of(&t, &other_firm.login_name).await;
    assert!(matches!(cpa_check::qr::of(&t.app, &other, &login).await, Err(AppError::NotFound(_))));
}

#[tokio::test]
async fn the_api_runs_the_flow_and_the_face_hand_off() {
    let t = with_faces().await;
    let (login, _) = ready_cpa(&t).await;
    let mut c = t.client();
    let token = api_login(&mut c, "cpa", &login, PASSWORD).await;
    let (s, o) = c.json("GET", "/api/v1/me/cpa-check", Some(&token), serde_json::json!(null)).await;
    assert_eq!(s, 200, "{o}");
    assert_eq!(o["identity_needed"], "face");
    assert_eq!(o["regulator_url"], "https://acc.mof.gov.cn/");
    let (s, _) =
        c.json("POST", "/api/v1/me/cpa-check/retired", Some(&token), serde_json::json!({ "retired": false })).await;
    assert_eq!(s, 204);
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(PDF);
    let name = o["materials"][0]["name"].as_str().unwrap().to_owned();
    let body = serde_json::json!({ "label": name, "file_name": "表.pdf", "data_base64": data });
    let (s, r) = c.json("POST", "/api/v1/me/cpa-check/materials", Some(&token), body).await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = c.json("POST", "/api/v1/me/cpa-check", Some(&token), serde_json::json!({ "channel": "phone" })).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["outcome"], "face");
    let id = r["face_check"].as_i64().unwrap() as i32;
    assert!(r["url"].as_str().unwrap().contains("/face/"));
    finish(&t, id, true, true).await;
    let (_, st) =
        c.json("GET", &format!("/api/v1/me/cpa-check/face-checks/{id}"), Some(&token), serde_json::json!(null)).await;
    assert_eq!(st["state"], "passed", "{st}");
    let case_id = st["case_id"].as_i64().unwrap();
    let (_, h) = c.json("GET", "/api/v1/me/cpa-checks", Some(&token), serde_json::json!(null)).await;
    assert_eq!(h[0]["state"]["code"], "firm_review");
    let (s, v) =
        c.json("GET", &format!("/api/v1/me/cpa-checks/{case_id}"), Some(&token), serde_json::json!(null)).await;
    assert_eq!(s, 200);
    assert_eq!(v["trail"][0]["node"], "注册会计师提交年检申请（人脸认证通过）");
    // A member's token is refused here; another CPA's check is not found.
    let member = t.login_of(UserType::NonPracticingMember).await;
    let mt = api_login(&mut c, "member", &member, PASSWORD).await;
    let (s, _) = c.json("GET", "/api/v1/me/cpa-check", Some(&mt), serde_json::json!(null)).await;
    assert_eq!(s, 403);
    let (s, _) = c
        .json("GET", &format!("/api/v1/me/cpa-check/face-checks/{}", id + 100), Some(&token), serde_json::json!(null))
        .await;
    assert_eq!(s, 404);
    let (_, doc) = c.json("GET", "/api/openapi.json", None, serde_json::json!(null)).await;
    for p in ["/me/cpa-check", "/me/cpa-check/face-checks/{id}", "/face/notify"] {
        assert!(doc["paths"].get(p).is_some(), "{p} in the OpenAPI document");
    }
}

/// A Zhejiang CPA (from the regulator's data) with a check waiting for their
/// firm and a face check, and the synchronisation run that brought them:
/// records of another scope for the route policy test.
pub async fn zhejiang_cpa_with_a_check(t: &TestApp) -> (i32, i32, i32) {
    let lines = [
        r#"{"kind":"firm","firm_no":"33010999","firm_name":"杭州测试会计师事务所","form":"合伙"}"#,
        r#"{"kind":"cpa","cpa_no":"330109990001","name":"钱塘","id_type":"中国身份证","id_number":"11010519491231002X","firm_no":"33010999","registered_on":"2010-05-01","mobile":"13900000001"}"#,
    ];
    let run = regulator::run(&t.app, "test", "测试", lines.join("\n").as_bytes(), &Progress::none()).await.unwrap();
    let (case, face) = check_waiting_for_the_firm(t, "330109990001").await;
    (case, face, run.id)
}

/// A check of `cpa_no` waiting for their firm, filed as the kernel files it,
/// with a failed face check before it.
pub async fn check_waiting_for_the_firm(t: &TestApp, cpa_no: &str) -> (i32, i32) {
    let c = cpa_row(t, cpa_no).await;
    let u = user::Entity::find().filter(user::Column::CpaId.eq(c.id)).one(t.app.db.conn()).await.unwrap().unwrap();
    let now = t.app.now();
    let case = review_case::ActiveModel {
        kind: Set("cpa_check".into()),
        state: Set("firm_review".into()),
        year: Set(Some(inspected())),
        association_id: Set(c.association_id),
        city_association_id: Set(c.city_association_id),
        firm_id: Set(Some(c.firm_id)),
        member_id: Set(None),
        applicant_user_id: Set(Some(u.id)),
        number: Set(c.cpa_no.to_string()),
        name: Set(c.name.clone()),
        first_submitted_at: Set(now),
        submitted_at: Set(now),
        deadline: Set(now.date_naive()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(t.app.db.conn())
    .await
    .unwrap();
    payload::ActiveModel {
        case_id: Set(case.id),
        cpa_id: Set(c.id),
        year: Set(inspected()),
        retired: Set(false),
        identity: Set("face".into()),
        face_check_id: Set(None),
        hours_required_x100: Set(4000),
        hours_done_x100: Set(4000),
        profile_enc: Set(None),
        batch_id: Set(None),
    }
    .insert(t.app.db.conn())
    .await
    .unwrap();
    let f = face_check::ActiveModel {
        token_digest: Set(format!("{:0>64}", c.id)),
        token_enc: Set(t.app.pii.encrypt("t")),
        cpa_id: Set(c.id),
        year: Set(inspected()),
        channel: Set("pc".into()),
        state: Set("failed".into()),
        retired: Set(false),
        day: Set(t.app.today()),
        created_at: Set(now),
        expires_at: Set(now),
        ..Default::default()
    }
    .insert(t.app.db.conn())
    .await
    .unwrap();
    (case.id, f.id)
}

#[tokio::test]
async fn many_checks_passing_at_once_all_submit() {
    // Each pass submits inside a write transaction; on SQLite that
    // transaction holds the only write lock and must read nothing through
    // another connection, or a few at once wait on each other until they fail.
    let t = with_faces().await;
    let cpas = cpa::Entity::find().filter(cpa::Column::IdType.eq("resident")).all(t.app.db.conn()).await.unwrap();
    let mut started = Vec::new();
    for c in &cpas {
        give_hours(&t, c.cpa_no.as_str(), 40).await;
        let a = actor_of(&t, c.cpa_no.as_str()).await;
        upload_materials(&t, &a).await;
        started.push((a.clone(), self::started(cpa_check::apply(&t.app, &a, face::Channel::Pc).await.unwrap())));
    }
    assert!(started.len() >= 4, "{} CPAs", started.len());
    let began = std::time::Instant::now();
    let mut tasks = Vec::new();
    for (_, s) in &started {
        let biz = biz_of(&t, s.id).await;
        let app = t.app.clone();
        tasks.push(tokio::spawn(async move {
            let o = cmis_app::face::dev::Outcome { pass: true, notify: true, frame: false };
            cmis_app::face::dev::finish(&app, &biz, o, app.now()).await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    for (a, s) in &started {
        let st = face::status(&t.app, a, s.id).await.unwrap();
        assert_eq!(st.state, "passed");
        assert!(st.case_id.is_some(), "{:?}", st.message);
    }
    assert!(began.elapsed() < std::time::Duration::from_secs(8), "took {:?}", began.elapsed());
}

#[tokio::test]
async fn a_return_naming_a_material_not_on_the_list_holds_nobody_up() {
    let t = with_faces().await;
    let (login, a) = ready_cpa(&t).await;
    upload_materials(&t, &a).await;
    let s = started(cpa_check::apply(&t.app, &a, face::Channel::Pc).await.unwrap());
    finish(&t, s.id, true, true).await;
    let case_id = face::status(&t.app, &a, s.id).await.unwrap().case_id.unwrap();
    let firm = actor_of(&t, &login[..8]).await;
    let item = format!("{}不存在的材料", cpa_check::MATERIAL_ITEM);
    review::decide::<CpaCheck>(&t.app, &firm, case_id, "firm_return", "请补充", &[item], &[]).await.unwrap();
    assert!(matches!(cpa_check::apply(&t.app, &a, face::Channel::Pc).await.unwrap(), Applied::Submitted(_)));
}

#[tokio::test]
async fn uploads_at_once_keep_to_a_materials_count_and_drafts_are_the_cpas_alone() {
    let t = with_faces().await;
    let (login, a) = ready_cpa(&t).await;
    let name = cpa_check::overview(&t.app, &a).await.unwrap().materials()[0].clone();
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let (app, a, label) = (t.app.clone(), a.clone(), name.name.clone());
        tasks.push(tokio::spawn(async move {
            let file = cmis_app::attachments::Incoming::whole("表.pdf", bytes::Bytes::from_static(PDF));
            cpa_check::upload_material(&app, &a, &label, file).await.map(|f| f.id)
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        if let Ok(id) = task.await.unwrap() {
            ids.push(id);
        }
    }
    assert_eq!(ids.len() as u64, name.max_count, "at most {} of “{}”", name.max_count, name.name);
    // A draft: its firm and its association do not open it; the CPA does.
    let firm = actor_of(&t, &login[..8]).await;
    let province = staff(&t, "staff44").await;
    for other in [&firm, &province] {
        let e = cmis_app::attachments::download(&t.app, other, ids[0]).await.unwrap_err();
        assert!(matches!(e, AppError::NotFound(_)), "{e:?}");
    }
    assert!(cmis_app::attachments::download(&t.app, &a, ids[0]).await.is_ok());
    // Submitted, the firm of the application opens it.
    let s = started(cpa_check::apply(&t.app, &a, face::Channel::Pc).await.unwrap());
    finish(&t, s.id, true, true).await;
    assert!(cmis_app::attachments::download(&t.app, &firm, ids[0]).await.is_ok());
}
