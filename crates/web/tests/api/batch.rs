//! 事务所年检复核 (seed 001 chapter 3) and the provincial association's review
//! of batches: numbering, 撤回 only before the association starts, a whole
//! batch returned and sent again under its number, one CPA returned out of a
//! batch, a branch's own CPAs, reminders once a day, delegation to a city,
//! the year's progress, and what an outsider sends.

use cmis_app::cpa_check::batch::{self, BatchFilter, FirmCpaFilter, NotAppliedFilter, Selection};
use cmis_app::cpa_check::progress::{self, ProgressFilter};
use cmis_app::jobs::Progress;
use cmis_app::{Actor, AppError, organisations, regulator, review};
use cmis_domain::UserType;
use cmis_domain::cpa_check::CpaCheck;
use cmis_domain::inspection_batch::InspectionBatch;
use cmis_store::entity::{attachment, cpa_check as payload, message, review_case};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::admission::staff;
use crate::cpa_check::{actor_of, check_waiting_for_the_firm};
use crate::helpers::*;
use crate::inspection::PDF;

const HEAD: &str = "44010999";
const BRANCH: &str = "4401099901";

fn cpa_no(i: usize) -> String {
    format!("4401099900{i:02}")
}

/// A Guangzhou firm with a branch: CPAs 1–4 at the head office, 5 at the
/// branch, and 6 (at the head office) who has not applied. 1–5 wait for the firm.
async fn firm_with_applications(t: &TestApp) -> Vec<i32> {
    let mut lines = vec![
        format!(r#"{{"kind":"firm","firm_no":"{HEAD}","firm_name":"广州珠江会计师事务所","form":"合伙"}}"#),
        format!(
            r#"{{"kind":"firm","firm_no":"{BRANCH}","parent_no":"{HEAD}","firm_name":"广州珠江会计师事务所深圳分所","form":"合伙"}}"#
        ),
    ];
    for i in 1..=6 {
        let firm = if i == 5 { BRANCH } else { HEAD };
        let id = id_number(i);
        lines.push(format!(
            r#"{{"kind":"cpa","cpa_no":"{}","name":"注师{i}","id_type":"中国身份证","id_number":"{id}","firm_no":"{firm}","registered_on":"2012-03-01","mobile":"1390000{i:04}"}}"#,
            cpa_no(i)
        ));
    }
    let run = regulator::run(&t.app, "test", "测试", lines.join("\n").as_bytes(), &Progress::none()).await.unwrap();
    assert_eq!(run.state, "succeeded", "{:?}", run.counts);
    let mut cases = Vec::new();
    for i in 1..=5 {
        cases.push(check_waiting_for_the_firm(t, &cpa_no(i)).await.0);
    }
    cases
}

/// A valid resident ID number for the i-th test CPA (born 1980-01-0i).
fn id_number(i: usize) -> String {
    let body = format!("44010619800101{:02}{}", 10 + i, i % 10);
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body.chars().zip(weights).map(|(c, w)| c.to_digit(10).unwrap() * w).sum();
    let check = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize];
    format!("{body}{check}")
}

/// The firm sets a password (an imported account has none it knows).
async fn set_password(t: &TestApp, login: &str) {
    use sea_orm::{ActiveModelTrait, Set};
    cmis_store::entity::user::ActiveModel {
        id: Set(t.login_id(login).await),
        password_hash: Set(cmis_app::auth::hash_password(PASSWORD)),
        must_change_password: Set(false),
        ..Default::default()
    }
    .update(t.app.db.conn())
    .await
    .unwrap();
}

async fn upload_social_security(t: &TestApp, firm: &Actor) -> i32 {
    let file = cmis_app::attachments::Incoming::whole("社保证明.pdf", bytes::Bytes::from_static(PDF));
    batch::upload(&t.app, firm, "社保证明材料", file).await.unwrap().id
}

async fn state(t: &TestApp, id: i32) -> String {
    review_case::Entity::find_by_id(id).one(t.app.db.conn()).await.unwrap().unwrap().state
}

async fn batch_of(t: &TestApp, case: i32) -> Option<i32> {
    payload::Entity::find_by_id(case).one(t.app.db.conn()).await.unwrap().unwrap().batch_id
}

async fn nodes(t: &TestApp, id: i32) -> Vec<String> {
    review::trail::<InspectionBatch>(&t.app, id).await.unwrap().into_iter().map(|s| s.node).collect()
}

#[tokio::test]
async fn a_firm_sends_a_numbered_batch_withdraws_it_and_the_province_decides_it() {
    let t = TestApp::new().await;
    let cases = firm_with_applications(&t).await;
    let head = actor_of(&t, HEAD).await;
    let year = inspected();

    // * 社保证明材料 is required.
    let e = batch::send(&t.app, &head, &Selection::Ticked(vec![cases[0], cases[1]])).await.unwrap_err();
    assert!(matches!(&e, AppError::Invalid(f) if f.get("file").is_some_and(|m| m.contains("社保证明材料"))), "{e:?}");
    assert_eq!(state(&t, cases[0]).await, "firm_review", "nothing sent half-way");
    assert!(batch::dialog(&t.app, &head).await.unwrap().hint.contains("最多可上传10个附件"));
    upload_social_security(&t, &head).await;
    let first = batch::send(&t.app, &head, &Selection::Ticked(vec![cases[0], cases[1]])).await.unwrap();
    assert_eq!(first.batch_no, format!("{HEAD}-{year}-1"));
    assert_eq!(first.cpas, 2);
    assert_eq!(state(&t, cases[0]).await, "province_review");
    assert_eq!(batch_of(&t, cases[1]).await, Some(first.id));
    let listed = batch::batches(&t.app, &head, &BatchFilter::default()).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    assert!(listed.items[0].may_withdraw());
    assert_eq!(listed.items[0].cpas, 2);

    // 撤回 while the association has not started: the CPAs wait for the firm again.
    batch::withdraw(&t.app, &head, first.id).await.unwrap();
    assert_eq!(state(&t, first.id).await, "withdrawn");
    let told = message::Entity::find()
        .filter(message::Column::UserId.eq(t.login_id(&cpa_no(1)).await))
        .filter(message::Column::Title.contains("撤回"))
        .count(t.app.db.conn())
        .await
        .unwrap();
    assert_eq!(told, 1, "the CPA is told");
    assert_eq!(state(&t, cases[0]).await, "firm_review");
    assert_eq!(batch_of(&t, cases[0]).await, None);
    assert!(batch::withdraw(&t.app, &head, first.id).await.is_err(), "once");

    // 全部申请: every application waiting, the branch's included; the next number.
    upload_social_security(&t, &head).await;
    let second = batch::send(&t.app, &head, &Selection::AllWaiting).await.unwrap();
    assert_eq!(second.batch_no, format!("{HEAD}-{year}-2"));
    assert_eq!(second.cpas, 5);

    // Another province, another firm: as if it did not exist.
    let zhejiang = staff(&t, "staff33").await;
    assert!(matches!(batch::view(&t.app, &zhejiang, second.id, 1).await, Err(AppError::NotFound(_))));
    let other_firm = actor_of(&t, &t.login_of(UserType::Firm).await).await;
    assert!(matches!(batch::view(&t.app, &other_firm, second.id, 1).await, Err(AppError::NotFound(_))));
    assert!(matches!(batch::withdraw(&t.app, &other_firm, second.id).await, Err(AppError::NotFound(_))));
    // A firm cannot decide its own batch.
    let e = review::decide::<InspectionBatch>(&t.app, &head, second.id, "pass", "", &[], &[]).await.unwrap_err();
    assert!(matches!(e, AppError::Forbidden | AppError::NotFound(_)), "{e:?}");

    // The province opens it: 审核中, and 撤回 is no more.
    let province = staff(&t, "staff44").await;
    // CICPA looking does not start the province's review.
    let cicpa = staff(&t, "staffcicpa").await;
    review::open::<InspectionBatch>(&t.app, &cicpa, second.id).await.unwrap();
    assert_eq!(state(&t, second.id).await, "submitted");
    let opened = review::open::<InspectionBatch>(&t.app, &province, second.id).await.unwrap();
    assert_eq!(opened.case.state.code(), "in_review");
    assert_eq!(opened.trail.last().unwrap().node, "地方注协开始审核", "on the trail the page shows");
    assert_eq!(state(&t, second.id).await, "in_review");
    // A second look adds no step.
    review::open::<InspectionBatch>(&t.app, &province, second.id).await.unwrap();
    assert_eq!(nodes(&t, second.id).await.iter().filter(|n| n.contains("开始审核")).count(), 1);
    let e = batch::withdraw(&t.app, &head, second.id).await.unwrap_err();
    assert!(e.to_string().contains("撤回"), "{e}");
    let v = batch::view(&t.app, &head, second.id, 1).await.unwrap();
    assert!(!v.may_withdraw());
    assert_eq!(v.total(), 5);
    assert_eq!(v.files.len(), 1, "the firm's 社保证明材料");

    // One CPA returned out of the batch: back to the firm's 注师待申请 and to the CPA.
    review::decide::<CpaCheck>(&t.app, &province, cases[3], "return", "任职资格检查表未签字", &[], &[]).await.unwrap();
    assert_eq!(state(&t, cases[3]).await, "province_returned");
    assert_eq!(batch_of(&t, cases[3]).await, None);
    let (_, waiting) =
        batch::not_applied(&t.app, &head, &NotAppliedFilter { which: "returned".into(), ..Default::default() })
            .await
            .unwrap();
    assert_eq!(waiting.items.len(), 1);
    assert_eq!(waiting.items[0].cpa_no, cpa_no(4));
    assert_eq!(waiting.items[0].return_reason.as_deref(), Some("任职资格检查表未签字"));
    let (_, none) = batch::not_applied(&t.app, &head, &NotAppliedFilter { which: "none".into(), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(none.items.iter().map(|n| n.cpa_no.clone()).collect::<Vec<_>>(), [cpa_no(6)], "未申请");
    // One the firm itself returned is there to apply again, and can be reminded.
    let firm_returned = check_waiting_for_the_firm(&t, &cpa_no(6)).await.0;
    review::decide::<CpaCheck>(&t.app, &head, firm_returned, "firm_return", "请补充任职资格检查表", &[], &[])
        .await
        .unwrap();
    let (_, returned) =
        batch::not_applied(&t.app, &head, &NotAppliedFilter { which: "returned".into(), ..Default::default() })
            .await
            .unwrap();
    assert!(returned.items.iter().any(|n| n.cpa_no == cpa_no(6) && n.state_label() == "事务所退回"));
    // A special outcome for one: 暂缓通过 stays what it is when the batch passes.
    review::decide::<CpaCheck>(&t.app, &province, cases[2], "defer", "继续教育学时待补", &[], &[]).await.unwrap();

    // 审核通过: every CPA still waiting passes, and the batch is 已审核.
    review::decide::<InspectionBatch>(&t.app, &province, second.id, "pass", "", &[], &[]).await.unwrap();
    assert_eq!(state(&t, second.id).await, "decided");
    for (i, want) in [(0, "passed"), (1, "passed"), (2, "deferred"), (3, "province_returned"), (4, "passed")] {
        assert_eq!(state(&t, cases[i]).await, want, "CPA {}", i + 1);
    }
    // 暂缓通过 is final: no decision is left on it.
    let opened = review::open::<CpaCheck>(&t.app, &province, cases[2]).await.unwrap();
    assert!(opened.decisions.is_empty(), "{:?}", opened.decisions);
    // Deciding a CPA of a decided batch is refused.
    assert!(review::decide::<CpaCheck>(&t.app, &province, cases[0], "fail", "x", &[], &[]).await.is_err());
    let trail = nodes(&t, second.id).await;
    assert!(trail.iter().any(|n| n.contains("地方注协开始审核")), "{trail:?}");
    assert!(trail.iter().any(|n| n.contains("审核通过")), "{trail:?}");

    // 年检信息查询: each CPA with the year's 审批状态; the CPAs were told.
    let (_, cpas) = batch::firm_cpas_page(&t.app, &head, &FirmCpaFilter::default()).await.unwrap();
    let label = |no: String| cpas.items.iter().find(|c| c.cpa_no == no).unwrap().state_label();
    assert_eq!(label(cpa_no(1)), "年检通过");
    assert_eq!(label(cpa_no(3)), "暂缓通过");
    assert_eq!(label(cpa_no(6)), "事务所退回");
    let told = message::Entity::find()
        .filter(message::Column::UserId.eq(t.login_id(&cpa_no(1)).await))
        .count(t.app.db.conn())
        .await
        .unwrap();
    assert!(told >= 1, "the CPA is told of the pass");
}

#[tokio::test]
async fn a_returned_batch_is_sent_again_under_its_number_with_changed_files() {
    let t = TestApp::new().await;
    let cases = firm_with_applications(&t).await;
    let head = actor_of(&t, HEAD).await;
    let old = upload_social_security(&t, &head).await;
    let sent = batch::send(&t.app, &head, &Selection::Ticked(vec![cases[0], cases[1]])).await.unwrap();
    let province = staff(&t, "staff44").await;
    let e = review::decide::<InspectionBatch>(&t.app, &province, sent.id, "return", " ", &[], &[]).await.unwrap_err();
    assert!(matches!(e, AppError::Invalid(_)) || e.to_string().contains("原因"), "a reason is required: {e:?}");
    review::decide::<InspectionBatch>(&t.app, &province, sent.id, "return", "社保证明材料不清晰", &[], &[])
        .await
        .unwrap();
    assert_eq!(state(&t, sent.id).await, "returned");
    // Its CPAs are told, and the return is on their trail.
    let trail = review::trail::<CpaCheck>(&t.app, cases[0]).await.unwrap();
    assert!(trail.iter().any(|s| s.node == "地方注协退回年检批次" && s.opinion == "社保证明材料不清晰"), "{trail:?}");
    let told = message::Entity::find()
        .filter(message::Column::UserId.eq(t.login_id(&cpa_no(1)).await))
        .filter(message::Column::Title.contains("批次被退回"))
        .count(t.app.db.conn())
        .await
        .unwrap();
    assert_eq!(told, 1);
    let returned = batch::batches(&t.app, &head, &BatchFilter { returned: true, ..Default::default() }).await.unwrap();
    assert_eq!(returned.items.len(), 1);
    assert_eq!(returned.items[0].return_reason.as_deref(), Some("社保证明材料不清晰"));
    assert!(batch::batches(&t.app, &head, &BatchFilter::default()).await.unwrap().items.is_empty(), "已提交省注协");
    // The CPAs stay in the batch while it is with the firm; nobody may decide them.
    assert_eq!(batch_of(&t, cases[0]).await, Some(sent.id));
    assert!(review::decide::<CpaCheck>(&t.app, &province, cases[0], "pass", "", &[], &[]).await.is_err());

    // Removing the only 社保证明材料 without a new one is refused, and changes nothing.
    let e = batch::resubmit(&t.app, &head, sent.id, &[old]).await.unwrap_err();
    assert!(matches!(&e, AppError::Invalid(f) if f.get("file").is_some()), "{e:?}");
    assert_eq!(state(&t, sent.id).await, "returned");
    // 再次申请-修改附件: a new file in place of the old, the same number.
    let new = upload_social_security(&t, &head).await;
    // Removing files it does not have (another batch's, none at all) removes nothing.
    let e = batch::resubmit(&t.app, &head, sent.id, &(1..=11).collect::<Vec<_>>()).await.unwrap_err();
    assert!(matches!(e, AppError::Invalid(_)), "{e:?}");
    batch::resubmit(&t.app, &head, sent.id, &[old, 99_999, -1]).await.unwrap();
    assert_eq!(state(&t, sent.id).await, "in_review", "the association has worked on it");
    assert!(batch::withdraw(&t.app, &head, sent.id).await.is_err(), "no 撤回 after a return");
    let step = review::trail::<InspectionBatch>(&t.app, sent.id).await.unwrap().pop().unwrap();
    assert!(step.opinion.contains("删除1个"), "{step:?}");
    let trail = review::trail::<CpaCheck>(&t.app, cases[0]).await.unwrap();
    assert_eq!(trail.last().unwrap().node, "事务所再次提交年检批次");
    let v = batch::view(&t.app, &head, sent.id, 1).await.unwrap();
    assert_eq!(v.batch_no, sent.batch_no, "the same number");
    assert_eq!(v.files.iter().map(|f| f.id).collect::<Vec<_>>(), [new]);
    let kept = attachment::Entity::find_by_id(old).one(t.app.db.conn()).await.unwrap().unwrap();
    assert_eq!(kept.owner_type, "inspection_batch_replaced", "kept for the record");
    assert!(batch::resubmit(&t.app, &head, sent.id, &[]).await.is_err(), "only a returned batch");
    // Another firm's batch cannot be sent again by this one, nor its files removed.
    let other_firm = actor_of(&t, &t.login_of(UserType::Firm).await).await;
    assert!(matches!(batch::resubmit(&t.app, &other_firm, sent.id, &[]).await, Err(AppError::NotFound(_))));
}

#[tokio::test]
async fn a_branch_sends_only_its_own_cpas_and_the_head_office_sees_all() {
    let t = TestApp::new().await;
    let cases = firm_with_applications(&t).await;
    let branch = actor_of(&t, BRANCH).await;
    let head = actor_of(&t, HEAD).await;
    let (_, mine) = batch::firm_cpas_page(&t.app, &branch, &FirmCpaFilter::default()).await.unwrap();
    assert_eq!(mine.items.iter().map(|c| c.cpa_no.clone()).collect::<Vec<_>>(), [cpa_no(5)]);
    let (_, all) = batch::firm_cpas_page(&t.app, &head, &FirmCpaFilter::default()).await.unwrap();
    assert_eq!(all.items.len(), 6);
    // The head office's CPA, ticked by the branch: as if it did not exist.
    upload_social_security(&t, &branch).await;
    let e = batch::send(&t.app, &branch, &Selection::Ticked(vec![cases[0], cases[4]])).await.unwrap_err();
    assert!(matches!(e, AppError::NotFound(_)), "{e:?}");
    assert_eq!(state(&t, cases[4]).await, "firm_review", "nothing sent half-way");
    let sent = batch::send(&t.app, &branch, &Selection::AllWaiting).await.unwrap();
    assert_eq!(sent.cpas, 1);
    assert!(sent.batch_no.starts_with(&format!("{BRANCH}-")), "{}", sent.batch_no);
    // The head office sees the branch's batch; the branch does not see the head office's.
    upload_social_security(&t, &head).await;
    let head_batch = batch::send(&t.app, &head, &Selection::AllWaiting).await.unwrap();
    assert_eq!(head_batch.cpas, 4);
    assert_eq!(batch::batches(&t.app, &head, &BatchFilter::default()).await.unwrap().items.len(), 2);
    assert_eq!(batch::batches(&t.app, &branch, &BatchFilter::default()).await.unwrap().items.len(), 1);
    assert!(matches!(batch::view(&t.app, &branch, head_batch.id, 1).await, Err(AppError::NotFound(_))));
    batch::view(&t.app, &head, sent.id, 1).await.unwrap();
}

#[tokio::test]
async fn ten_sends_at_once_of_the_same_cpas_make_one_batch() {
    let t = TestApp::new().await;
    let cases = firm_with_applications(&t).await;
    let head = actor_of(&t, HEAD).await;
    for _ in 0..3 {
        upload_social_security(&t, &head).await;
    }
    let tries = (0..10).map(|i| {
        let (app, head) = (t.app.clone(), head.clone());
        let sel = if i % 2 == 0 { Selection::AllWaiting } else { Selection::Ticked(vec![cases[0], cases[1]]) };
        async move { batch::send(&app, &head, &sel).await }
    });
    let results = futures::future::join_all(tries).await;
    let ok: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(ok.len(), 1, "{results:?}");
    let batches = review_case::Entity::find()
        .filter(review_case::Column::Kind.eq("inspection_batch"))
        .count(t.app.db.conn())
        .await
        .unwrap();
    assert_eq!(batches, 1);
    for c in &cases[..2] {
        assert_eq!(batch_of(&t, *c).await, Some(ok[0].id));
    }
}

#[tokio::test]
async fn a_reminder_reaches_a_cpa_once_a_day_even_when_sent_twenty_times_at_once() {
    let t = TestApp::new().await;
    firm_with_applications(&t).await;
    let head = actor_of(&t, HEAD).await;
    let (_, none) = batch::not_applied(&t.app, &head, &NotAppliedFilter { which: "none".into(), ..Default::default() })
        .await
        .unwrap();
    let cpa = none.items[0].cpa_id;
    let tries = (0..20).map(|_| {
        let (app, head) = (t.app.clone(), head.clone());
        async move { batch::remind(&app, &head, &[cpa]).await }
    });
    let sent: usize = futures::future::join_all(tries).await.into_iter().map(|r| r.unwrap().sent).sum();
    assert_eq!(sent, 1);
    let user = t.login_id(&cpa_no(6)).await;
    let messages = || async {
        message::Entity::find().filter(message::Column::UserId.eq(user)).count(t.app.db.conn()).await.unwrap()
    };
    assert_eq!(messages().await, 1);
    // A CPA who applied, or of another firm, is not reminded.
    let other_firm = actor_of(&t, &t.login_of(UserType::Firm).await).await;
    assert_eq!(batch::remind(&t.app, &other_firm, &[cpa]).await.map(|r| r.sent).unwrap_or(0), 0);
    t.clock.advance(chrono::Duration::days(1));
    assert_eq!(batch::remind(&t.app, &head, &[cpa]).await.unwrap().sent, 1, "the next day");
    assert_eq!(messages().await, 2);
    let many = vec![cpa; 100_000];
    assert!(batch::remind(&t.app, &head, &many).await.is_ok_and(|r| r.sent == 0), "repeated ids are one CPA");
}

#[tokio::test]
async fn a_city_reviews_batches_only_when_its_province_delegates() {
    let t = TestApp::new().await;
    let cases = firm_with_applications(&t).await;
    let head = actor_of(&t, HEAD).await;
    upload_social_security(&t, &head).await;
    let sent = batch::send(&t.app, &head, &Selection::AllWaiting).await.unwrap();
    let city = staff(&t, "staff4401").await;
    let e = review::decide::<InspectionBatch>(&t.app, &city, sent.id, "pass", "", &[], &[]).await.unwrap_err();
    assert!(matches!(e, AppError::Forbidden), "{e:?}");
    assert!(review::decide::<CpaCheck>(&t.app, &city, cases[0], "pass", "", &[], &[]).await.is_err());
    // Only the province delegates, and only its own cities.
    assert!(organisations::delegate_cpa_review(&t.app, &city, &[city.association_id]).await.is_err());
    let province = staff(&t, "staff44").await;
    let hangzhou = t.app.orgs().children(staff(&t, "staff33").await.association_id).next().map(|c| c.id);
    if let Some(h) = hangzhou {
        assert!(organisations::delegate_cpa_review(&t.app, &province, &[h]).await.is_err(), "another province's city");
    }
    organisations::delegate_cpa_review(&t.app, &province, &[city.association_id]).await.unwrap();
    let city = staff(&t, "staff4401").await;
    review::decide::<CpaCheck>(&t.app, &city, cases[0], "pass", "", &[], &[]).await.unwrap();
    review::decide::<InspectionBatch>(&t.app, &city, sent.id, "pass", "", &[], &[]).await.unwrap();
    assert_eq!(state(&t, sent.id).await, "decided");
    // Taken back: the city reviews no more.
    organisations::delegate_cpa_review(&t.app, &province, &[]).await.unwrap();
    let city = staff(&t, "staff4401").await;
    assert!(review::decide::<CpaCheck>(&t.app, &city, cases[1], "pass", "", &[], &[]).await.is_err());
}

#[tokio::test]
async fn the_years_progress_counts_by_city_and_firm_and_exports() {
    let t = TestApp::new().await;
    let cases = firm_with_applications(&t).await;
    let head = actor_of(&t, HEAD).await;
    upload_social_security(&t, &head).await;
    let sent = batch::send(&t.app, &head, &Selection::Ticked(vec![cases[0], cases[1]])).await.unwrap();
    let province = staff(&t, "staff44").await;
    review::decide::<InspectionBatch>(&t.app, &province, sent.id, "pass", "", &[], &[]).await.unwrap();
    let p = progress::progress(&t.app, &province, &ProgressFilter::default()).await.unwrap();
    assert_eq!(p.year, inspected());
    // By firm, a branch its own row.
    let row = |no: &str| p.firms.items.iter().find(|f| f.number == no).cloned().unwrap();
    let f = row(HEAD);
    assert_eq!(f.cpas, 5);
    assert_eq!(f.applied(), 4);
    assert_eq!(f.not_applied(), 1);
    assert_eq!(f.of(cmis_domain::cpa_check::CheckState::Passed), 2);
    assert_eq!((row(BRANCH).cpas, row(BRANCH).applied()), (1, 1));
    assert!(p.units.iter().any(|u| u.name.contains("广州")), "by city");
    assert!(p.total.cpas >= 6);
    // CICPA sees the provinces; a firm sees no association's progress.
    let national = staff(&t, "staffcicpa").await;
    let n = progress::progress(&t.app, &national, &ProgressFilter::default()).await.unwrap();
    assert!(n.units.iter().any(|u| u.name.contains("广东")), "by province");
    assert!(progress::progress(&t.app, &head, &ProgressFilter::default()).await.is_err());
    let zhejiang = staff(&t, "staff33").await;
    let z = progress::progress(&t.app, &zhejiang, &ProgressFilter::default()).await.unwrap();
    assert!(z.firms.items.iter().all(|f| f.number != HEAD), "another province's firms are not counted");
    // The Excel export runs as a job.
    let job = progress::request_export(&t.app, &province, None).await.unwrap();
    assert_eq!(t.run_jobs().await, 1);
    let j = cmis_store::entity::job::Entity::find_by_id(job).one(t.app.db.conn()).await.unwrap().unwrap();
    assert_eq!(j.state, "done", "{j:?}");
    assert!(j.output_name.as_deref().is_some_and(|n| n.ends_with("年检进度.xlsx")), "{j:?}");
    // The firm's own year at a glance: a head office with its branch.
    let (_, mine) = progress::firm_year(&t.app, &head).await.unwrap();
    assert_eq!(mine.cpas, 6);
    assert_eq!(mine.of(cmis_domain::cpa_check::CheckState::Passed), 2);
}

#[tokio::test]
async fn what_an_outsider_sends_is_refused_and_saves_nothing() {
    let t = TestApp::new().await;
    let cases = firm_with_applications(&t).await;
    let head = actor_of(&t, HEAD).await;
    // A hundred thousand ids: refused before anything is read.
    let many: Vec<i32> = (1..=100_000).collect();
    assert!(batch::send(&t.app, &head, &Selection::Ticked(many)).await.is_err());
    // An executable named .pdf, and an unknown material.
    let exe = cmis_app::attachments::Incoming::whole("社保.pdf", bytes::Bytes::from_static(b"MZ\x90\x00\x03\x00"));
    assert!(batch::upload(&t.app, &head, "社保证明材料", exe).await.is_err());
    let pdf = cmis_app::attachments::Incoming::whole("x.pdf", bytes::Bytes::from_static(PDF));
    assert!(batch::upload(&t.app, &head, "不存在的材料", pdf).await.is_err());
    // Eleven files: the list allows ten.
    for _ in 0..10 {
        upload_social_security(&t, &head).await;
    }
    let pdf = cmis_app::attachments::Incoming::whole("x.pdf", bytes::Bytes::from_static(PDF));
    assert!(batch::upload(&t.app, &head, "社保证明材料", pdf).await.is_err(), "at most 10");
    // A CPA or staff cannot upload or send a firm's batch.
    let cpa = actor_of(&t, &cpa_no(1)).await;
    assert!(batch::may_upload(&cpa).is_err());
    let province = staff(&t, "staff44").await;
    assert!(batch::send(&t.app, &province, &Selection::AllWaiting).await.is_err());
    // A reason of a megabyte.
    let sent = batch::send(&t.app, &head, &Selection::Ticked(vec![cases[0]])).await.unwrap();
    let huge = "退".repeat(1 << 20);
    assert!(review::decide::<InspectionBatch>(&t.app, &province, sent.id, "return", &huge, &[], &[]).await.is_err());
    assert_eq!(state(&t, sent.id).await, "submitted");
}

/// The firm's and the association's screens through the JSON API.
#[tokio::test]
async fn the_firm_and_the_association_through_the_api() {
    let t = TestApp::new().await;
    let cases = firm_with_applications(&t).await;
    let head = actor_of(&t, HEAD).await;
    upload_social_security(&t, &head).await;
    set_password(&t, HEAD).await;
    let mut c = t.client();
    let token = api_login(&mut c, "firm", HEAD, PASSWORD).await;
    let tok = Some(token.as_str());
    let (s, m) = c.json("GET", "/api/v1/firm/cpa-batch-materials", tok, serde_json::json!(null)).await;
    assert_eq!(s, 200, "{m}");
    assert!(m.to_string().contains("社保证明材料"));
    let (s, sent) =
        c.json("POST", "/api/v1/firm/cpa-batches", tok, serde_json::json!({ "ids": [cases[0], cases[1]] })).await;
    assert_eq!(s, 200, "{sent}");
    let id = sent["id"].as_i64().unwrap();
    assert!(sent["batch_no"].as_str().unwrap().starts_with(HEAD));
    let (s, list) = c.json("GET", "/api/v1/firm/cpa-batches", tok, serde_json::json!(null)).await;
    assert_eq!(s, 200);
    assert_eq!(list["items"][0]["may_withdraw"], true);
    let (s, one) = c.json("GET", &format!("/api/v1/firm/cpa-batches/{id}"), tok, serde_json::json!(null)).await;
    assert_eq!(s, 200, "{one}");
    let (s, _) = c.json("POST", &format!("/api/v1/firm/cpa-batches/{id}/withdraw"), tok, serde_json::json!({})).await;
    assert_eq!(s, 204);
    let (s, na) = c.json("GET", "/api/v1/firm/not-applied?which=none", tok, serde_json::json!(null)).await;
    assert_eq!(s, 200, "{na}");
    let cpa = na["items"][0]["cpa_id"].as_i64().unwrap();
    let (s, r) = c.json("POST", "/api/v1/firm/reminders", tok, serde_json::json!({ "cpa_ids": [cpa] })).await;
    assert_eq!((s.as_u16(), r["sent"].as_u64()), (200, Some(1)), "{r}");
    let (s, _) = c.json("GET", "/api/v1/firm/cpas", tok, serde_json::json!(null)).await;
    assert_eq!(s, 200);
    let (s, y) = c.json("GET", "/api/v1/firm/cpa-year", tok, serde_json::json!(null)).await;
    assert_eq!(s, 200, "{y}");
    // The association's progress is not the firm's.
    let (s, _) = c.json("GET", "/api/v1/cpa-check-progress", tok, serde_json::json!(null)).await;
    assert_eq!(s, 403);
    let (s, _) = c.json("GET", "/api/v1/reviews/cpa-batches", tok, serde_json::json!(null)).await;
    assert_eq!(s, 403);
    // The province through the API: its batch queue and its progress.
    let mut p = t.client();
    let staff_token = api_login(&mut p, "staff", "staff44", PASSWORD).await;
    let st = Some(staff_token.as_str());
    let (s, q) = p.json("GET", "/api/v1/reviews/cpa-batches", st, serde_json::json!(null)).await;
    assert_eq!(s, 200, "{q}");
    let (s, pr) = p.json("GET", "/api/v1/cpa-check-progress", st, serde_json::json!(null)).await;
    assert_eq!(s, 200, "{pr}");
}

/// What the attack on the release build found, held.
#[tokio::test]
async fn what_the_attack_found_stays_closed() {
    let t = TestApp::new().await;
    let cases = firm_with_applications(&t).await;
    let head = actor_of(&t, HEAD).await;
    // A file's name must say what its content is: a PDF named .hta is refused.
    let lying = cmis_app::attachments::Incoming::whole("报表.hta", bytes::Bytes::from_static(PDF));
    let e = batch::upload(&t.app, &head, "社保证明材料", lying).await.unwrap_err();
    assert!(
        e.to_string().contains("扩展名")
            || matches!(&e, AppError::Invalid(f) if f.get("file").is_some_and(|m| m.contains("扩展名"))),
        "{e:?}"
    );
    // A city its province lets review sees the firm's 社保证明材料.
    let file = upload_social_security(&t, &head).await;
    batch::send(&t.app, &head, &Selection::AllWaiting).await.unwrap();
    let city = staff(&t, "staff4401").await;
    let province = staff(&t, "staff44").await;
    organisations::delegate_cpa_review(&t.app, &province, &[city.association_id]).await.unwrap();
    let city = staff(&t, "staff4401").await;
    cmis_app::attachments::download(&t.app, &city, file).await.unwrap();
    let zhejiang = staff(&t, "staff33").await;
    assert!(cmis_app::attachments::download(&t.app, &zhejiang, file).await.is_err());
    // The trail a CPA or a firm reads names no staff login.
    review::decide::<CpaCheck>(&t.app, &province, cases[0], "pass", "", &[], &[]).await.unwrap();
    let trail = review::trail::<CpaCheck>(&t.app, cases[0]).await.unwrap();
    let json = serde_json::to_string(&trail).unwrap();
    assert!(!json.contains("staff44"), "{json}");
    // The attachment box takes no unnamed files for a batch, from a firm either.
    let mut c = t.client();
    c.login("firm", &t.login_of(UserType::Firm).await, PASSWORD).await;
    let r = c.multipart("/attachments?context=firm_batch", &[("x.pdf", PDF)]).await;
    assert_eq!(r.status, 403);
}
