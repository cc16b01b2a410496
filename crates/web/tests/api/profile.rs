//! 基本信息 / 修改信息 and the completeness check.

use cmis_app::member_profile;
use cmis_domain::UserType;

use crate::helpers::*;

#[tokio::test]
async fn a_member_completes_the_profile_and_cannot_change_who_they_are() {
    let t = TestApp::new().await;
    let login = t.login_of(UserType::NonPracticingMember).await;
    let mut c = t.client();
    c.login("member", &login, PASSWORD).await;

    let page = c.get("/profile").await.body;
    let missing = between(&page, "<b>", "</b>").to_owned();
    for label in ["民族", "政治面貌", "通讯地址", "邮政编码", "职业状态", "单位性质", "学历", "毕业院校"]
    {
        assert!(missing.contains(label), "{label} in {missing}");
    }
    let member_id = {
        use cmis_store::entity::user;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        user::Entity::find()
            .filter(user::Column::LoginName.eq(&login))
            .one(t.app.db.conn())
            .await
            .unwrap()
            .unwrap()
            .member_id
            .unwrap()
    };
    assert_eq!(member_profile::missing_fields(&t.app, member_id).await.unwrap().join("、"), missing);

    let form = |postal: &'static str| {
        vec![
            ("name", "冒名顶替"),
            ("id_number", "11010519491231002X"),
            ("ethnicity", "汉族"),
            ("political_status", "中共党员"),
            ("mobile", "13800138000"),
            ("email", "member@example.cn"),
            ("mailing_address", "广州市天河区体育西路191号"),
            ("postal_code", postal),
            ("employment_status", "在职"),
            ("work_unit", "广州某会计咨询公司"),
            ("unit_nature", "民营企业"),
            ("education", "硕士研究生"),
            ("school", "中山大学"),
            ("exam_year", "2009"),
            ("domestic_quals", "税务师"),
            ("domestic_quals", "律师"),
            ("international_quals", "国际注册会计师(ACCA)"),
        ]
    };
    let r = c.post("/profile/edit", &form("5100")).await;
    assert!(r.body.contains("邮政编码应为6位数字"), "{}", r.body);
    let r = c.post("/profile/edit", &form("510620")).await;
    assert_eq!(r.location(), "/profile?saved=1");
    let page = c.get("/profile?saved=1").await.body;
    assert!(page.contains("信息已保存"));
    assert!(!page.contains("data-testid=\"missing\""), "complete now");
    assert!(page.contains("税务师、律师、国际注册会计师(ACCA)"));
    assert!(!page.contains("冒名顶替"), "the name is not the member's to change");
    assert!(member_profile::missing_fields(&t.app, member_id).await.unwrap().is_empty());

    let mut cpa = t.client();
    cpa.login("cpa", &t.login_of(UserType::Cpa).await, PASSWORD).await;
    assert_eq!(cpa.get("/profile").await.status, 403);
}
