//! The inspection's fee: online payment over the provider's protocol, the
//! maternity exemption, and the limit on deferrals.

use cmis_app::payment::{self, Notification};
use cmis_store::entity::{fee_payment, member_inspection, review_case};
use sea_orm::EntityTrait;

use crate::helpers::*;
use crate::inspection::*;

#[tokio::test]
async fn online_payment_over_the_provider_protocol() {
    let t = TestApp::served(|s, _| {
        s.payment.provider = "dev".into();
        s.payment.secret = "test-secret-0123456789".into();
    })
    .await;
    let (mut m, mut s, cert) = member_and_staff(&t).await;
    add_hours(&mut s, &cert, "40").await;
    let page = m.get("/member-inspection/pay").await.body;
    let before = page.split("\" data-testid=\"pay-link\"").next().unwrap();
    let code_url = before.rsplit("href=\"").next().unwrap().to_owned();
    assert!(code_url.contains("/dev/pay/cashier/"), "{page}");
    let order = payment::dev::order_of(&t.app.settings, code_url.rsplit('/').next().unwrap()).unwrap();
    assert_eq!(order.amount_cents, 10_000);

    // A forged notification is refused; a real one confirms, once.
    let note = Notification {
        order_no: order.order_no.clone(),
        amount_cents: 10_000,
        txn_id: "T1".into(),
        paid_at: t.app.now(),
    };
    let (body, sig) = payment::dev::sign_notification(&t.app.settings, &note);
    let forged = payment::dev::sign_notification(
        &{
            let mut x = t.app.settings.clone();
            x.payment.secret = "another-secret-000000".into();
            x
        },
        &note,
    );
    let post = |body: Vec<u8>, sig: String| {
        axum::http::Request::post("/pay/notify")
            .header("content-type", "application/json")
            .header("x-pay-signature", sig)
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    let mut c = t.client();
    assert_eq!(c.send(post(forged.0, forged.1)).await.status, 401);
    let cheaper = Notification { amount_cents: 1, ..note.clone() };
    let (cb, cs) = payment::dev::sign_notification(&t.app.settings, &cheaper);
    assert_eq!(c.send(post(cb, cs)).await.status, 422, "the amount must match the order");
    // The payer pays at the provider's cashier; it notifies us over HTTP.
    let reply = payment::dev::pay(&t.app.settings, code_url.rsplit('/').next().unwrap(), t.app.now()).await.unwrap();
    assert_eq!(reply, "SUCCESS");
    let r = c.send(post(body.clone(), sig.clone())).await;
    assert_eq!((r.status.as_u16(), r.body.as_str()), (200, "SUCCESS"), "a repeat is answered the same");
    let p = fee_payment::Entity::find().one(t.app.db.conn()).await.unwrap().unwrap();
    assert_eq!(p.status, "confirmed");
    assert!(p.provider_txn.unwrap().starts_with("DEV"), "the first notification's transaction stays");
    let page = m.get("/member-inspection/apply/materials?agreed=1").await.body;
    assert!(page.contains("会费已确认"));
    let r = m.post("/member-inspection/apply", &[("commitment", "1")]).await;
    assert!(r.location().starts_with("/member-inspection/done/"), "{}", r.body);
}

#[tokio::test]
async fn maternity_exempts_women_from_the_fee_and_deferral_has_a_limit() {
    use cmis_app::member_inspection::{fees, settings};
    use cmis_domain::member_inspection::FeeStatus;
    use cmis_store::entity::member;
    let t = TestApp::new().await;
    let members = member::Entity::find().all(t.app.db.conn()).await.unwrap();
    for m in members.iter().take(4) {
        let mut s = t.client();
        s.login("staff", &format!("staff{}", &m.cert_no[..2]), PASSWORD).await;
        let r = s
            .post(
                "/association/learning-records",
                &[
                    ("cert_no", &m.cert_no),
                    ("kind", "reduction"),
                    ("year", years("{Y}").as_str()),
                    ("hours", "20"),
                    ("category", "maternity"),
                    ("title", "产假"),
                ],
            )
            .await;
        assert!(r.location().contains("saved=1"), "{}", r.body);
        let st = settings::effective(&t.app, m.association_id, inspected()).await.unwrap();
        let fee = fees::status_of(t.app.db.conn(), m, inspected(), &st).await.unwrap();
        let expected = if m.sex == "F" { FeeStatus::Exempt } else { FeeStatus::Unpaid };
        assert_eq!(fee, expected, "{} {}", m.cert_no, m.sex);
    }

    // Deferred for the year before already: with the longest deferral of one year, no second one.
    let (mut c, _, cert) = member_and_staff(&t).await;
    let m = members.iter().find(|m| m.cert_no == cert).unwrap();
    let now = t.app.now();
    use sea_orm::{ActiveModelTrait, Set};
    let case = review_case::ActiveModel {
        kind: Set("member_inspection".into()),
        state: Set("deferred".into()),
        year: Set(Some(inspected() - 1)),
        association_id: Set(m.association_id),
        city_association_id: Set(None),
        firm_id: Set(None),
        member_id: Set(Some(m.id)),
        applicant_user_id: Set(None),
        number: Set(cert.clone()),
        name: Set(m.name.clone()),
        first_submitted_at: Set(now),
        submitted_at: Set(now),
        deadline: Set(now.date_naive()),
        decided_at: Set(Some(now)),
        return_reason: Set(None),
        return_items: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(t.app.db.conn())
    .await
    .unwrap();
    member_inspection::ActiveModel {
        case_id: Set(case.id),
        member_id: Set(m.id),
        year: Set(inspected() - 1),
        hours_required_x100: Set(4000),
        hours_done_x100: Set(0),
        fee_status: Set("unpaid".into()),
        deferral_reason: Set(Some("出国".into())),
        flagged_enc: Set(None),
        profile_enc: Set(None),
    }
    .insert(t.app.db.conn())
    .await
    .unwrap();
    c.multipart("/member-inspection/proofs", &[("证明.pdf", PDF)]).await;
    let r = c.post("/member-inspection/defer", &[("commitment", "1"), ("reason", "仍在国外")]).await;
    assert!(r.body.contains("您已连续暂缓年检1年，暂缓年检最长1年"), "{}", r.body);
}
