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
    for sql in drop_guard_sql(&t) {
        db.execute_unprepared(sql).await.unwrap();
    }
    db.execute_unprepared(&format!(
        "UPDATE audit_events SET detail = '{{\"address\":\"1.2.3.4\"}}' WHERE id = {second}"
    ))
    .await
    .unwrap();
    let v = audit::verify(&t.app.db).await.unwrap();
    assert_eq!(v.first_broken, Some((second, "本条记录内容被修改")));

    // Restore nothing; delete the event: its chain breaks at the next one in it.
    let next_in_chain = next_in_chain(&t, second).await;
    db.execute_unprepared(&format!("DELETE FROM audit_events WHERE id = {second}")).await.unwrap();
    let v = audit::verify(&t.app.db).await.unwrap();
    assert_eq!(v.first_broken, Some((next_in_chain, "前一条记录被删除或修改")));
}

async fn next_in_chain(t: &TestApp, id: i64) -> i64 {
    use cmis_store::entity::audit_event;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let chain = audit_event::Entity::find_by_id(id).one(t.app.db.conn()).await.unwrap().unwrap().chain;
    audit_event::Entity::find()
        .filter(audit_event::Column::Chain.eq(chain))
        .filter(audit_event::Column::Id.gt(id))
        .order_by_asc(audit_event::Column::Id)
        .one(t.app.db.conn())
        .await
        .unwrap()
        .expect("a later event in the chain")
        .id
}

fn drop_guard_sql(t: &TestApp) -> &'static [&'static str] {
    if t.app.db.is_sqlite() {
        &["DROP TRIGGER audit_events_no_UPDATE", "DROP TRIGGER audit_events_no_DELETE"]
    } else {
        &["DROP TRIGGER audit_events_append_only ON audit_events"]
    }
}

// Many people at once: their events spread over the chains, appenders of
// different chains do not wait for each other, and every chain verifies. An
// event moved to another chain, or deleted from the middle of one, is found.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn appenders_spread_over_the_chains_and_each_chain_verifies() {
    use cmis_store::entity::audit_event;
    use sea_orm::{EntityTrait, QuerySelect};
    let t = TestApp::new().await;
    let base = audit::verify(&t.app.db).await.unwrap().checked;
    let mut tasks = Vec::new();
    for i in 0..48 {
        let app = t.app.clone();
        tasks.push(tokio::spawn(async move {
            let txn = app.write().await.unwrap();
            let actor = format!("member:{i}");
            // Two events of one transaction stay in one chain, even of another actor.
            audit::append(&txn, &actor, "concurrent", &format!("n:{i}"), serde_json::json!({})).await.unwrap();
            audit::append(&txn, "system", "concurrent", &format!("n:{i}"), serde_json::json!({})).await.unwrap();
            txn.commit().await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let v = audit::verify(&t.app.db).await.unwrap();
    assert_eq!((v.checked, v.first_broken), (base + 96, None));
    let chains: Vec<i16> = audit_event::Entity::find()
        .select_only()
        .column(audit_event::Column::Chain)
        .distinct()
        .into_tuple()
        .all(t.app.db.conn())
        .await
        .unwrap();
    assert!(chains.len() >= 8, "48 actors over 16 chains use most of them: {chains:?}");
    assert!(chains.iter().all(|c| (0..audit::CHAINS).contains(c)));
    let events = audit_event::Entity::find().all(t.app.db.conn()).await.unwrap();
    let mut by_subject = std::collections::BTreeMap::<&str, Vec<&audit_event::Model>>::new();
    for e in events.iter().filter(|e| e.action == "concurrent") {
        by_subject.entry(&e.subject).or_default().push(e);
    }
    for pair in by_subject.values() {
        assert_eq!(pair.len(), 2);
        assert_eq!(pair[0].chain, pair[1].chain, "a transaction's events are in one chain");
        assert_eq!(pair[0].chain, audit::chain_of(&pair[0].actor), "the chain of its first actor");
    }

    let db = t.app.db.conn();
    for sql in drop_guard_sql(&t) {
        db.execute_unprepared(sql).await.unwrap();
    }
    let victim = events.iter().rev().find(|e| e.action == "concurrent").unwrap().id - 10;
    let chain = events.iter().find(|e| e.id == victim).unwrap().chain;
    db.execute_unprepared(&format!("UPDATE audit_events SET chain = {} WHERE id = {victim}", (chain + 1) % 16))
        .await
        .unwrap();
    assert_eq!(audit::verify(&t.app.db).await.unwrap().first_broken.map(|b| b.0), Some(victim), "moved");
    db.execute_unprepared(&format!("UPDATE audit_events SET chain = 99 WHERE id = {victim}")).await.unwrap();
    assert_eq!(audit::verify(&t.app.db).await.unwrap().first_broken, Some((victim, "记录的链号被修改")));
    db.execute_unprepared(&format!("UPDATE audit_events SET chain = {chain} WHERE id = {victim}")).await.unwrap();
    assert_eq!(audit::verify(&t.app.db).await.unwrap().first_broken, None, "put back, it verifies again");
    let first_of_chain = events.iter().find(|e| e.chain == chain && e.id > base as i64 && e.action == "concurrent");
    let first_of_chain = first_of_chain.unwrap().id;
    let after = next_in_chain(&t, first_of_chain).await;
    db.execute_unprepared(&format!("DELETE FROM audit_events WHERE id = {first_of_chain}")).await.unwrap();
    assert_eq!(audit::verify(&t.app.db).await.unwrap().first_broken, Some((after, "前一条记录被删除或修改")));
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

// On PostgreSQL each chain has its own lock: a transaction holding one chain
// does not hold up an appender of another chain, and does hold up one of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_chain_waits_only_for_its_own_appenders() {
    use std::time::Duration;
    let t = TestApp::new().await;
    if t.app.db.is_sqlite() {
        return; // one writer at a time, whatever the chain
    }
    let held = t.app.write().await.unwrap();
    audit::append(&held, "member:a", "hold", "x", serde_json::json!({})).await.unwrap();
    let mine = audit::chain_of("member:a");
    let actor_in =
        |same: bool| (0..).map(|i| format!("member:{i}")).find(|a| (audit::chain_of(a) == mine) == same).unwrap();
    let append = |actor: String| {
        let app = t.app.clone();
        tokio::spawn(async move {
            let txn = app.write().await.unwrap();
            audit::append(&txn, &actor, "other", "y", serde_json::json!({})).await.unwrap();
            txn.commit().await.unwrap();
        })
    };
    let other = append(actor_in(false));
    tokio::time::timeout(Duration::from_secs(5), other).await.expect("another chain goes ahead").unwrap();
    let same = append(actor_in(true));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!same.is_finished(), "the same chain waits for the holder");
    held.commit().await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), same).await.expect("then goes ahead").unwrap();
    assert_eq!(audit::verify(&t.app.db).await.unwrap().first_broken, None);
}
