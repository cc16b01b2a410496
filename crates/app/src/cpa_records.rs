//! A CPA's 档案存放单位 (where the CPA's file is kept), which password
//! recovery by other information asks CPAs for (seed 000 appendix 2.1.2.2).
//! It arrives with the CPAs' data from the regulator's platform; until that
//! synchronisation runs, the CPA's association sets it here, audited.

use cmis_domain::{CpaNo, mask};
use cmis_store::entity::{cpa, firm, user};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

use crate::deliveries::Purpose;
use crate::error::{AppResult, FieldErrors};
use crate::review::{self, Notice};
use crate::scope::{Filed, Permission, Scope};
use crate::{Actor, App, audit};

/// What the page shows of a CPA.
#[derive(Debug, Clone)]
pub struct CpaRecord {
    pub cpa_no: String,
    pub name: String,
    pub firm: String,
    pub association: String,
    pub archive_unit: Option<String>,
}

/// The longest 档案存放单位.
pub const ARCHIVE_UNIT_MAX: usize = 100;

async fn cpa_in_scope(app: &App, actor: &Actor, cpa_no: &str) -> AppResult<cpa::Model> {
    Permission::CpaRecords.require(actor)?;
    let no = CpaNo::parse(cpa_no.trim()).map_err(|e| FieldErrors::one("cpa_no", e))?;
    let found = cpa::Entity::find().filter(cpa::Column::CpaNo.eq(no.as_str())).one(app.db.conn()).await?;
    let scope = Scope::of(app, actor);
    found
        .filter(|c| {
            scope.covers(&Filed {
                association_id: Some(c.association_id),
                city_association_id: c.city_association_id,
                firm_id: Some(c.firm_id),
                ..Filed::default()
            })
        })
        .ok_or_else(|| FieldErrors::one("cpa_no", "本单位管辖范围内没有该编号的注册会计师"))
}

/// Finds a CPA of the actor's association (audited: staff looked them up).
pub async fn find(app: &App, actor: &Actor, cpa_no: &str) -> AppResult<CpaRecord> {
    let c = cpa_in_scope(app, actor, cpa_no).await?;
    audit::record(app, &actor.audit_name(), "cpa_looked_up", &format!("cpa:{}", c.id), json!({})).await?;
    let firm = firm::Entity::find_by_id(c.firm_id).one(app.db.conn()).await?.map(|f| f.name).unwrap_or_default();
    Ok(CpaRecord {
        cpa_no: c.cpa_no.to_string(),
        name: mask::name(&c.name),
        firm,
        association: app.orgs().get(c.association_id).map_or_else(String::new, |a| a.name.clone()),
        archive_unit: c.archive_unit,
    })
}

/// 保存 a CPA's 档案存放单位: checked, written and audited in one transaction.
pub async fn set_archive_unit(app: &App, actor: &Actor, cpa_no: &str, unit: &str) -> AppResult<()> {
    let c = cpa_in_scope(app, actor, cpa_no).await?;
    let unit = unit.trim();
    if unit.is_empty() {
        return Err(FieldErrors::one("archive_unit", "请填写档案存放单位"));
    }
    if let Err(e) = cmis_domain::text::check(unit, ARCHIVE_UNIT_MAX, false) {
        return Err(FieldErrors::one("archive_unit", format!("档案存放单位{e}")));
    }
    let tx = app.write().await?;
    let before = c.archive_unit.clone();
    cpa::ActiveModel { id: Set(c.id), archive_unit: Set(Some(unit.to_owned())), ..Default::default() }
        .update(&tx)
        .await?;
    audit::append(
        &tx,
        &actor.audit_name(),
        "cpa_archive_unit_set",
        &format!("cpa:{}", c.id),
        json!({ "before": before, "after": unit }),
    )
    .await?;
    // The CPA hears of it: a fact that can prove who they are was set by
    // someone else.
    let account = user::Entity::find().filter(user::Column::CpaId.eq(c.id)).one(&tx).await?;
    let mobile = c.mobile_enc.as_deref().map(|e| app.pii.decrypt(e)).transpose()?;
    let told = Notice {
        user_id: account.map(|u| u.id),
        title: "档案存放单位已设置".into(),
        body: format!(
            "{}您在行业管理信息系统中的档案存放单位已设置为“{unit}”，可用于找回密码。如有疑问，请联系所属注协。",
            cmis_domain::text::signature(&actor.association_name)
        ),
        link: None,
        sms_to: mobile,
    };
    review::tell_for(app, &tx, c.association_id, &told, Purpose::Account).await?;
    tx.commit().await?;
    app.wake_deliveries();
    Ok(())
}
