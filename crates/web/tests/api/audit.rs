use cmis_app::audit;
use cmis_domain::UserType;
use sea_orm::ConnectionTrait;

use crate::helpers::*;

#[tokio::test]
async fn the_audit_chain_verifies_and_names_the_first_broken_link() {
    let t = TestApp::new().await;
    let base = audit::verify(&t.app.db).await.unwrap().checked as i64;
    let login = t.login_of(UserType::NonPracticingMember).await;
    for _ in 0..3 {
        t.client().login("member", &login, PASSWORD).await;
    }
    t.client().login("member", &login, "Wrong1234").await;
    let v = audit::verify(&t.app.db).await.unwrap();
    assert_eq!((v.checked as i64, v.first_broken), (base + 4, None));

    let db = t.app.db.conn();
    // The database refuses to change history…
    let second = base + 2;
    assert!(
        db.execute_unprepared(&format!("UPDATE audit_events SET detail = '{{}}' WHERE id = {second}")).await.is_err()
    );
    assert!(db.execute_unprepared(&format!("DELETE FROM audit_events WHERE id = {second}")).await.is_err());
    // …so a tamperer must first drop the guard, as someone with schema rights could.
    if t.app.db.is_sqlite() {
        db.execute_unprepared("DROP TRIGGER audit_events_no_UPDATE").await.unwrap();
        db.execute_unprepared("DROP TRIGGER audit_events_no_DELETE").await.unwrap();
    } else {
        db.execute_unprepared("DROP TRIGGER audit_events_append_only ON audit_events").await.unwrap();
    }
    db.execute_unprepared(&format!(
        "UPDATE audit_events SET detail = '{{\"address\":\"1.2.3.4\"}}' WHERE id = {second}"
    ))
    .await
    .unwrap();
    let v = audit::verify(&t.app.db).await.unwrap();
    assert_eq!(v.first_broken, Some((second, "本条记录内容被修改")));

    // Restore nothing; delete a later event: the chain breaks at the one after it.
    db.execute_unprepared(&format!("DELETE FROM audit_events WHERE id = {second}")).await.unwrap();
    let v = audit::verify(&t.app.db).await.unwrap();
    assert_eq!(v.first_broken, Some((second + 1, "前一条记录被删除或修改")));
}

#[tokio::test]
async fn concurrent_appends_keep_one_chain() {
    let t = TestApp::new().await;
    let base = audit::verify(&t.app.db).await.unwrap().checked;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let app = t.app.clone();
        tasks.push(tokio::spawn(async move {
            let txn = app.write().await.unwrap();
            audit::append(&txn, "test", "concurrent", &format!("n:{i}"), serde_json::json!({})).await.unwrap();
            txn.commit().await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let v = audit::verify(&t.app.db).await.unwrap();
    assert_eq!((v.checked, v.first_broken), (base + 20, None));
}
