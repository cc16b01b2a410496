//! The learning-record ledger: an import from Excel is checked row by row by a
//! job and saved all or nothing; a reduction lowers the hours owed.

use cmis_app::member_inspection::learning;
use cmis_domain::{Hours, UserType};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::helpers::*;

#[tokio::test]
async fn learning_records_import_shows_errors_before_saving() {
    let t = TestApp::new().await;
    let login = t.login_of(UserType::NonPracticingMember).await;
    let mut s = t.client();
    s.login("staff", "staff44", PASSWORD).await;
    let sheet = |rows: &[[&str; 5]]| learning::template_workbook(rows).unwrap();
    let bad = sheet(&[
        [&login, years("{Y}").as_str(), "8", "专业", "审计准则"],
        ["99999999999", years("{Y}").as_str(), "x", "娱乐", ""],
    ]);
    // Each upload is checked by a job, whose page then shows every row.
    let mut check = async |bytes: &[u8]| {
        let r = s.multipart("/association/learning-records/import", &[("学时.xlsx", bytes)]).await;
        let job = r.location().to_owned();
        assert!(job.starts_with("/jobs/"), "{}", r.body);
        t.run_jobs().await;
        (job.clone(), s.get(&job).await.body)
    };
    let (bad_job, body) = check(&bad).await;
    assert!(body.contains("1 行有错误"), "{body}");
    assert!(body.contains("会员编号不存在或不属于本单位管辖") && body.contains("类别应为"));
    assert!(!body.contains(">确认导入</button>"), "no import while any row is wrong");
    let good = sheet(&[
        [&login, years("{Y}").as_str(), "8", "专业", "审计准则"],
        [&login, years("{Y}").as_str(), "4", "职业道德", "职业道德"],
    ]);
    let (good_job, body) = check(&good).await;
    assert!(body.contains("全部无误"), "{body}");
    // Only its uploader imports it, and only a check without errors.
    let mut other = t.client();
    other.login("staff", "staff11", PASSWORD).await;
    assert_eq!(other.post(&format!("{good_job}/import"), &[]).await.status, 404);
    let refused = s.post(&format!("{bad_job}/import"), &[]).await;
    assert!(refused.body.contains("请先上传并通过校验"), "{}", refused.body);
    let r = s.post(&format!("{good_job}/import"), &[]).await;
    let import = r.location().to_owned();
    assert!(import.starts_with("/jobs/") && import != good_job, "{import}");
    assert_eq!(t.run_jobs().await, 1);
    assert!(s.get(&import).await.body.contains("已导入2条学时记录"));
    let m = cmis_store::entity::member::Entity::find()
        .filter(cmis_store::entity::member::Column::CertNo.eq(&login))
        .one(t.app.db.conn())
        .await
        .unwrap()
        .unwrap();
    let h = learning::hours_of(&t.app, t.app.db.conn(), &m, inspected()).await.unwrap();
    assert_eq!((h.done, h.ethics), (Hours::whole(12), Hours::whole(4)));
    // A maternity reduction lowers the hours owed.
    s.post(
        "/association/learning-records",
        &[
            ("cert_no", &login),
            ("kind", "reduction"),
            ("year", years("{Y}").as_str()),
            ("hours", "20"),
            ("category", "maternity"),
            ("title", "产假"),
        ],
    )
    .await;
    let h2 = learning::hours_of(&t.app, t.app.db.conn(), &m, inspected()).await.unwrap();
    assert_eq!(h2.required, h.required.saturating_sub(Hours::whole(20)));
}
