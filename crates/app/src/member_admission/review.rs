//! The review of admission applications on the review kernel: what a
//! reviewer sees in the queue, what CICPA's confirmation creates (a member
//! with a new certificate number and an account), and what the applicant is
//! told of each decision.

use chrono::Datelike;
use cmis_domain::member_admission::{AdmissionAction, AdmissionState, MemberAdmission};
use cmis_domain::profile::Profile;
use cmis_domain::{ExamCertNo, IdNumber, IdType, MemberCertNo, UserType, mask};
use cmis_store::entity::{member, member_admission as payload, review_case as case_row, user};
use sea_orm::sea_query::{Query, SimpleExpr};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use serde_json::json;

use super::{CICPA_DAYS, LOCAL_DAYS, W, profile_json};
use crate::error::{AppError, AppResult};
use crate::review::{Case, Decided, Input, Notice, Reviewed};
use crate::scope::Permission;
use crate::{App, Tx, auth, exam_photos};

#[async_trait::async_trait]
impl Reviewed for MemberAdmission {
    const PERMISSION: Permission = Permission::ReviewMemberAdmissions;
    const NOUN: &'static str = "入会申请";
    const NUMBER: &'static str = "业务编号";
    const YEARLY: bool = false;
    const BY_CITY: bool = false;

    fn days(state: AdmissionState) -> u32 {
        if state == AdmissionState::LocalApproved { CICPA_DAYS } else { LOCAL_DAYS }
    }

    fn reason_label(action: AdmissionAction) -> &'static str {
        if action == AdmissionAction::LocalReject { "不予通过原因" } else { "退回原因" }
    }

    fn batchable(action: AdmissionAction) -> bool {
        // Each confirmation makes an account with its own password.
        action != AdmissionAction::CicpaConfirm
    }

    /// Also by 全科合格证号 and the full ID number.
    fn keyword(app: &App, keyword: &str) -> Option<SimpleExpr> {
        let ids = Query::select()
            .column(payload::Column::CaseId)
            .from(payload::Entity)
            .cond_where(
                sea_orm::Condition::any()
                    .add(payload::Column::ExamCertNo.eq(keyword.to_uppercase()))
                    .add(payload::Column::IdNumberDigest.eq(app.pii.digest(keyword))),
            )
            .to_owned();
        Some(case_row::Column::Id.in_subquery(ids))
    }

    fn columns() -> &'static [&'static str] {
        &["证件号码", "全科合格证号"]
    }

    async fn cells(app: &App, cases: &[Case<W>]) -> AppResult<Vec<Vec<String>>> {
        let found: std::collections::HashMap<i32, payload::Model> = payload::Entity::find()
            .filter(payload::Column::CaseId.is_in(cases.iter().map(|c| c.id)))
            .all(app.db.conn())
            .await?
            .into_iter()
            .map(|p| (p.case_id, p))
            .collect();
        Ok(cases
            .iter()
            .map(|c| match found.get(&c.id) {
                Some(p) => vec![
                    app.pii.decrypt(&p.id_number_enc).map(|v| mask::id_number(&v)).unwrap_or_default(),
                    p.exam_cert_no.clone(),
                ],
                None => vec![String::new(), String::new()],
            })
            .collect())
    }

    /// CICPA's confirmation carries the approval document (会员批准文件号, e.g.
    /// 会协〔2026〕12号) and its date: entered once for a confirmation batch,
    /// the page keeps them for the next case.
    fn inputs(action: AdmissionAction) -> &'static [Input] {
        const APPROVAL: &[Input] = &[
            Input {
                key: "approval_doc_no",
                label: "会员批准文件号",
                date: false,
                max: 50,
                hint: "如：会协〔2026〕12号",
            },
            Input { key: "approval_date", label: "会员批准日期", date: true, max: 10, hint: "" },
        ];
        if action == AdmissionAction::CicpaConfirm { APPROVAL } else { &[] }
    }

    /// 确认: the member is created with a new certificate number, the approval
    /// document, and an initial password that must be changed at the first login.
    async fn decided(app: &App, tx: &Tx, case: &Case<W>, d: &Decided<'_, W>) -> AppResult<serde_json::Value> {
        if d.next != AdmissionState::Confirmed {
            return Ok(json!({}));
        }
        let p = payload::Entity::find_by_id(case.id).one(tx).await?.ok_or(AppError::NotFound("入会申请"))?;
        let mut profile: Profile =
            serde_json::from_str(&app.pii.decrypt(&p.profile_enc)?).map_err(anyhow::Error::from)?;
        profile.approval_doc_no = d.inputs.get("approval_doc_no").to_owned();
        profile.approval_date = d.inputs.date("approval_date");
        let initial = auth::random_password();
        let hash = auth::hash_password_async(initial.clone()).await;
        let (member_id, cert_no) = create_member(app, tx, &profile, case.association_id, &p.photo_key, hash).await?;
        case_row::ActiveModel { id: Set(case.id), member_id: Set(Some(member_id)), ..Default::default() }
            .update(tx)
            .await?;
        let mut m: payload::ActiveModel = p.into();
        m.initial_password_enc = Set(Some(app.pii.encrypt(&initial)));
        m.update(tx).await?;
        Ok(json!({ "member": cert_no }))
    }

    /// The applicant has no account yet: an SMS to the mobile of the form.
    async fn notice(
        app: &App,
        tx: &Tx,
        case: &Case<W>,
        next: AdmissionState,
        opinion: &str,
        sign: &str,
    ) -> AppResult<Option<Notice>> {
        let opinion = cmis_domain::text::clause(opinion);
        let p = payload::Entity::find_by_id(case.id).one(tx).await?.ok_or(AppError::NotFound("入会申请"))?;
        let profile: Profile = serde_json::from_str(&app.pii.decrypt(&p.profile_enc)?).map_err(anyhow::Error::from)?;
        let no = &p.business_no;
        let body = match next {
            AdmissionState::Confirmed => {
                let cert = match case_row::Entity::find_by_id(case.id).one(tx).await?.and_then(|c| c.member_id) {
                    Some(mid) => member::Entity::find_by_id(mid).one(tx).await?.map(|m| m.cert_no.to_string()),
                    None => None,
                };
                format!(
                    "{sign}您的非执业会员入会申请（业务编号{no}）已审核通过，会员证书编号{}。请通过“非执业申请进度查询”查看登录名及初始密码。",
                    cert.unwrap_or_default()
                )
            }
            s if s.is_returned() => format!(
                "{sign}您的非执业会员入会申请（业务编号{no}）已被退回，原因：{opinion}。请通过进度查询修改后再次提交。"
            ),
            AdmissionState::Rejected => {
                format!("{sign}您的非执业会员入会申请（业务编号{no}）未予通过，原因：{opinion}。")
            }
            _ => return Ok(None),
        };
        Ok(Some(Notice {
            title: format!("入会申请：{}", next.label()),
            body,
            sms_to: Some(profile.mobile.trim().to_owned()),
            ..Notice::default()
        }))
    }
}

/// A new member and their account, inside the confirming transaction.
async fn create_member(
    app: &App,
    tx: &Tx,
    p: &Profile,
    association_id: i32,
    photo_key: &str,
    password_hash: String,
) -> AppResult<(i32, String)> {
    // The application was checked when it was sent; its identifiers are
    // parsed again from what was stored, and a stored value that does not
    // parse is an error, never a member with a malformed number.
    let id_number = IdType::from_code(&p.id_type)
        .and_then(|t| IdNumber::parse(t, &p.id_number).ok())
        .ok_or_else(|| anyhow::anyhow!("a stored application has an invalid ID number"))?;
    let exam_cert_no = match p.qualification_method.as_str() {
        "exam" => ExamCertNo::parse_exam(&p.exam_cert_no),
        _ => ExamCertNo::parse_assessment(&p.exam_cert_no),
    }
    .map_err(|e| anyhow::anyhow!("a stored application's certificate number: {e}"))?;
    let orgs = app.orgs();
    let association = orgs.get(association_id).ok_or(AppError::NotFound("注协"))?;
    let province = association.province_code.clone().unwrap_or_else(|| "11".into());
    let today = crate::clock::date_of(tx.now());
    let year = today.year();
    // Never reuse a number: continue after the highest one issued for this province and year.
    let prefix = format!("{province}{year}");
    let highest: Option<String> = member::Entity::find()
        .select_only()
        .column_as(member::Column::CertNo.max(), "max")
        .filter(member::Column::CertNo.starts_with(&prefix))
        .into_tuple()
        .one(tx)
        .await?
        .flatten();
    let serial = highest.and_then(|h| h[prefix.len()..].parse::<u32>().ok()).unwrap_or(0) + 1;
    let cert = MemberCertNo::compose(&province, year, serial).map_err(anyhow::Error::from)?;
    let cert_no = cert.to_string();
    let now = tx.now();
    let exam_photo = exam_photos::key_for(tx, exam_cert_no.as_str()).await?;
    let m = member::ActiveModel {
        cert_no: Set(cert),
        name: Set(p.name.trim().to_owned()),
        sex: Set(p.sex.clone()),
        birth_date: Set(p.birth_date.unwrap_or(today)),
        id_type: Set(p.id_type.clone()),
        id_number_enc: Set(app.pii.encrypt(id_number.as_str())),
        id_number_digest: Set(app.pii.digest(id_number.as_str())),
        mobile_enc: Set(Some(app.pii.encrypt(p.mobile.trim()))),
        mobile_digest: Set(Some(app.pii.digest(&p.mobile))),
        email: Set(Some(p.email.trim().to_owned())),
        association_id: Set(association_id),
        city_association_id: Set(None),
        qualification_method: Set(p.qualification_method.clone()),
        exam_cert_no: Set(Some(exam_cert_no.as_str().to_owned())),
        exam_year: Set(p.exam_year),
        status: Set("active".into()),
        created_at: Set(now),
        admitted_on: Set(today),
        work_unit: Set(Some(p.work_unit.trim().to_owned())),
        profile_enc: Set(Some(app.pii.encrypt(&profile_json(p)?))),
        // The exam system's photo when CICPA imported it (seed 002 §5: the
        // default); otherwise the application's, until the association
        // approves another.
        photo_key: Set(Some(exam_photo.clone().unwrap_or_else(|| photo_key.to_owned()))),
        photo_source: Set(Some(
            if exam_photo.is_some() { exam_photos::SOURCE_EXAM } else { exam_photos::SOURCE_APPLICATION }.into(),
        )),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    user::ActiveModel {
        user_type: Set(UserType::NonPracticingMember.code().into()),
        login_name: Set(cert_no.clone()),
        display_name: Set(m.name.clone()),
        password_hash: Set(password_hash),
        must_change_password: Set(true),
        association_id: Set(association_id),
        member_id: Set(Some(m.id)),
        disabled: Set(false),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    Ok((m.id, cert_no))
}
