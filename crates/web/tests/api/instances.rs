//! Two instances on one database: what one changes, the other sees.

use std::sync::Arc;
use std::time::Duration;

use cmis_app::AppError;
use cmis_app::organisations::{self, Contact};
use cmis_store::Db;

use crate::helpers::*;

#[tokio::test]
async fn a_city_added_on_one_instance_is_in_the_others_scopes_once_it_looks() {
    let t = TestApp::new().await;
    let other = Arc::new(app_on(Db::open(&t.url).await.unwrap(), settings()).await);
    let zj = t.app.orgs().by_code("33").unwrap().id;
    let before = other.orgs().scope(zj).len();

    let id = organisations::add_city(&t.app, "cli:test", "33", "3301", "杭州市注册会计师协会").await.unwrap();
    let city = t.app.orgs().get(id).cloned().expect("the instance that changed it has it at once");
    assert_eq!((city.short_name.as_str(), city.parent_id), ("杭州", Some(zj)));
    assert!(other.orgs().get(id).is_none(), "the other holds its tree until it looks");
    assert!(other.tree.refresh(&other.db).await.unwrap(), "the stamp moved");
    assert_eq!(other.orgs().scope(zj).len(), before + 1, "Zhejiang's staff now see the new city");
    assert!(!other.tree.refresh(&other.db).await.unwrap(), "nothing new: not read again");

    // The watcher does the looking on its own.
    let watching = tokio::spawn(organisations::watch(other.clone(), Duration::from_millis(20)));
    let c = Contact {
        address: Some(" 杭州市西湖区学院路1号 ".into()),
        phone_firm: Some("0571-88888888".into()),
        ..Contact::default()
    };
    organisations::set_contact(&t.app, "cli:test", "3301", &c).await.unwrap();
    let mut seen = None;
    for _ in 0..100 {
        seen = other.orgs().get(id).and_then(|a| a.address.clone());
        if seen.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    watching.abort();
    assert_eq!(seen.as_deref(), Some("杭州市西湖区学院路1号"), "re-read within moments");
    assert_eq!(other.orgs().get(id).unwrap().phone_practicing, None, "a phone not given is cleared");

    // Bad input is refused with the field's message, and nothing is written.
    let field = |r: Result<i32, AppError>, f: &str| match r {
        Err(AppError::Invalid(e)) => e.get(f).map(str::to_owned),
        other => panic!("expected a message for {f}: {other:?}"),
    };
    let msg = field(organisations::add_city(&t.app, "cli:test", "33", "4520", "某市注册会计师协会").await, "code");
    assert!(msg.unwrap().contains("以所属省注协代码33开头"));
    let msg = field(organisations::add_city(&t.app, "cli:test", "33", "3301", "某市注册会计师协会").await, "code");
    assert_eq!(msg.as_deref(), Some("该代码已被使用"));
    let msg = field(organisations::add_city(&t.app, "cli:test", "33", "3302", &"长".repeat(51)).await, "name");
    assert!(msg.is_some());
    let msg = field(organisations::add_city(&t.app, "cli:test", "33", "3302", "杭州市注册会计师协会").await, "name");
    assert_eq!(msg.as_deref(), Some("该名称已被使用"));
    assert!(
        matches!(
            organisations::add_city(&t.app, "cli:test", "4401", "4421", "某市注册会计师协会").await,
            Err(AppError::NotFound(_))
        ),
        "only under a provincial association"
    );
    let long = Contact { address: Some("地".repeat(101)), ..Contact::default() };
    assert!(matches!(organisations::set_contact(&t.app, "cli:test", "3301", &long).await, Err(AppError::Invalid(_))));
    assert_eq!(t.app.orgs().all().len(), other.orgs().all().len());
    assert_eq!(organisations::version(t.app.db.conn()).await.unwrap(), 2, "two changes, two stamps");

    // Both changes are on the audit trail.
    use cmis_store::entity::audit_event;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let events = audit_event::Entity::find()
        .filter(audit_event::Column::Subject.eq(format!("association:{id}")))
        .all(t.app.db.conn())
        .await
        .unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["association_added", "association_contact_changed"]);
}
