//! 非执业电子会员证 (seed 002 §5–9): the A4 PDF with the member's photo,
//! certificate number, association and date, and a QR code whose payload is
//! signed with Ed25519 so that anyone can check it offline against the
//! public key the system publishes; scanning opens the public standing page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::NaiveDate;
use cmis_domain::{UserType, mask};
use cmis_store::entity::member;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::text::{Font, TextDirection};
use object_store::ObjectStore;
use object_store::path::Path as StorePath;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::error::{AppError, AppResult};
use crate::scope::Permission;
use crate::{Actor, App, audit, member_profile};
use serde_json::json;

/// A subset of Noto Sans CJK SC (SIL OFL 1.1): GB2312, ASCII and CJK punctuation.
const FONT: &[u8] = include_bytes!("../assets/NotoSansSC-GB2312.otf");
const PREFIX: &str = "CMIS1";

pub struct CertificateSigner {
    key: SigningKey,
}

impl std::fmt::Debug for CertificateSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

impl CertificateSigner {
    pub fn new(key: &[u8; 32]) -> CertificateSigner {
        CertificateSigner { key: SigningKey::from_bytes(key) }
    }

    /// The public key names the signing key (see `keys`).
    pub fn fingerprint(key: &[u8; 32]) -> String {
        hex::encode(SigningKey::from_bytes(key).verifying_key().to_bytes())
    }

    /// The public key, base64: what the system publishes for offline checks.
    pub fn public_key(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.key.verifying_key().to_bytes())
    }

    /// `CMIS1.{certificate number}.{issue date}.{signature}`; the signature covers
    /// `CMIS1|{number}|{date}`.
    pub fn payload(&self, cert_no: &str, issued: NaiveDate) -> String {
        let date = issued.format("%Y%m%d").to_string();
        let sig = self.key.sign(format!("{PREFIX}|{cert_no}|{date}").as_bytes());
        format!("{PREFIX}.{cert_no}.{date}.{}", B64URL.encode(sig.to_bytes()))
    }

    /// A signature with the same key, for the other signed codes (年检二维码).
    pub fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The certificate number and date of a payload whose signature holds.
    pub fn verify(&self, payload: &str) -> Option<(String, NaiveDate)> {
        verify_with(&self.key.verifying_key(), payload)
    }
}

/// Offline check against a public key, as anyone can do it.
pub fn verify_with(key: &VerifyingKey, payload: &str) -> Option<(String, NaiveDate)> {
    let mut parts = payload.split('.');
    let (prefix, cert, date, sig) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if prefix != PREFIX || parts.next().is_some() {
        return None;
    }
    let sig: [u8; 64] = B64URL.decode(sig).ok()?.try_into().ok()?;
    key.verify(format!("{PREFIX}|{cert}|{date}").as_bytes(), &Signature::from_bytes(&sig)).ok()?;
    Some((cert.to_owned(), NaiveDate::parse_from_str(date, "%Y%m%d").ok()?))
}

/// What the public scan page shows: current standing, personal data masked.
pub struct Standing {
    pub cert_no: String,
    pub name: String,
    pub association: String,
    pub admitted_on: NaiveDate,
    pub issued: NaiveDate,
    pub active: bool,
}

pub async fn standing(app: &App, payload: &str) -> AppResult<Standing> {
    let (cert_no, issued) = app.signer.verify(payload).ok_or(AppError::Refused("二维码无效或已被篡改".into()))?;
    let m = member::Entity::find()
        .filter(member::Column::CertNo.eq(&cert_no))
        .one(app.db.conn())
        .await?
        .ok_or(AppError::NotFound("会员"))?;
    Ok(Standing {
        name: mask::name(&m.name),
        association: app.orgs().get(m.association_id).map_or_else(String::new, |a| a.name.clone()),
        admitted_on: m.admitted_on,
        active: m.status == "active",
        cert_no,
        issued,
    })
}

/// Why a member whose membership was cancelled has no certificate.
pub const CANCELLED: &str = "您的会籍已注销，不能下载非执业电子会员证";

/// What 下载会员证 shows before downloading, and what stops it.
pub struct Preview {
    pub cert_no: String,
    pub name: String,
    pub association: String,
    pub admitted_on: NaiveDate,
    /// 会员批准文件号 and 会员批准日期 (empty for members admitted before they were kept).
    pub approval_doc_no: String,
    pub approval_date: Option<NaiveDate>,
    pub has_photo: bool,
    /// The membership stands (a final 年检不予通过 cancels it).
    pub active: bool,
    /// What the photo is: 全科合格证电子照片, the one uploaded with the
    /// application, or the one the association approved.
    pub photo_label: &'static str,
    pub missing: Vec<&'static str>,
}

async fn own(app: &App, actor: &Actor) -> AppResult<member::Model> {
    actor.require(UserType::NonPracticingMember)?;
    member::Entity::find_by_id(actor.member_id.ok_or(AppError::Forbidden)?)
        .one(app.db.conn())
        .await?
        .ok_or(AppError::NotFound("会员"))
}

pub async fn preview(app: &App, actor: &Actor) -> AppResult<Preview> {
    let m = own(app, actor).await?;
    let profile = member_profile::profile_of(app, &m)?;
    let missing = profile.missing();
    Ok(Preview {
        approval_doc_no: profile.approval_doc_no.clone(),
        approval_date: profile.approval_date,
        association: app.orgs().get(m.association_id).map_or_else(String::new, |a| a.name.clone()),
        has_photo: m.photo_key.is_some(),
        active: m.status == "active",
        photo_label: crate::exam_photos::source_label(m.photo_source.as_deref()),
        cert_no: m.cert_no.to_string(),
        name: m.name,
        admitted_on: m.admitted_on,
        missing,
    })
}

/// The member's photo (the exam certificate photo, or the one the association approved).
pub async fn photo(app: &App, actor: &Actor) -> AppResult<bytes::Bytes> {
    let m = own(app, actor).await?;
    let key = m.photo_key.ok_or(AppError::NotFound("照片"))?;
    Ok(app.read_file(&key).await?)
}

fn fill(r: u8, g: u8, b: u8) -> Fill {
    Fill { paint: rgb::Color::new(r, g, b).into(), opacity: NormalizedF32::ONE, rule: Default::default() }
}

/// The PDF. Refused while required fields are missing or there is no photo.
pub async fn pdf(app: &App, actor: &Actor) -> AppResult<Vec<u8>> {
    let m = own(app, actor).await?;
    if m.status != "active" {
        return Err(AppError::Refused(CANCELLED.into()));
    }
    let profile = member_profile::profile_of(app, &m)?;
    let missing = profile.missing();
    if !missing.is_empty() {
        return Err(AppError::Refused(format!("请先将基本信息中的必填信息补充完整：{}", missing.join("、"))));
    }
    let photo = photo(app, actor)
        .await
        .map_err(|_| AppError::Refused("未获取到您的电子照片，请前往所属地方注协现场提交".into()))?;
    let issued = app.today();
    let association = app.orgs().get(m.association_id).map_or_else(String::new, |a| a.name.clone());
    let base = if app.settings.public_url.is_empty() {
        String::new()
    } else {
        app.settings.public_url.trim_end_matches('/').to_owned()
    };
    let url = format!("{base}/v/{}", app.signer.payload(m.cert_no.as_str(), issued));
    let name = m.name.clone();
    let cert_no = m.cert_no.to_string();
    let mut rows = vec![
        ("姓　　名", name),
        ("会员证书编号", cert_no),
        ("所属注协", association),
        ("入会日期", m.admitted_on.format("%Y年%m月%d日").to_string()),
    ];
    if !profile.approval_doc_no.is_empty() {
        rows.push(("会员批准文件号", profile.approval_doc_no.clone()));
    }
    if let Some(d) = profile.approval_date {
        rows.push(("会员批准日期", d.format("%Y年%m月%d日").to_string()));
    }
    rows.push(("发证日期", issued.format("%Y年%m月%d日").to_string()));
    tokio::task::spawn_blocking(move || render(&rows, &photo, &url)).await.map_err(anyhow::Error::from)?
}

/// The certificate: `rows` of label and value beside the photo, and the QR code.
fn render(rows: &[(&str, String)], photo: &[u8], url: &str) -> AppResult<Vec<u8>> {
    const W: f32 = 595.0;
    const H: f32 = 842.0;
    let font = Font::new(FONT.to_vec().into(), 0).ok_or_else(|| anyhow::anyhow!("the embedded font does not load"))?;
    let mut doc = Document::new();
    let mut page = doc.start_page_with(PageSettings::from_wh(W, H).expect("A4"));
    let mut s = page.surface();

    // Frame.
    let mut frame = PathBuilder::new();
    frame.push_rect(Rect::from_xywh(28.0, 28.0, W - 56.0, H - 56.0).expect("rect"));
    frame.push_rect(Rect::from_xywh(36.0, 36.0, W - 72.0, H - 72.0).expect("rect"));
    s.set_fill(Some(Fill { rule: krilla::paint::FillRule::EvenOdd, ..fill(166, 27, 41) }));
    s.draw_path(&frame.finish().expect("path"));

    let centred = |s: &mut krilla::surface::Surface, y: f32, size: f32, text: &str| {
        let width = text.chars().map(|c| if c.is_ascii() { 0.55 } else { 1.0 }).sum::<f32>() * size;
        s.draw_text(Point::from_xy((W - width) / 2.0, y), font.clone(), size, text, false, TextDirection::Auto);
    };
    s.set_fill(Some(fill(166, 27, 41)));
    centred(&mut s, 130.0, 30.0, "中国注册会计师协会");
    centred(&mut s, 180.0, 26.0, "非执业会员证书");
    s.set_fill(Some(fill(90, 90, 90)));
    centred(&mut s, 210.0, 12.0, "（电子证书）");

    // Photo, 3:4, on the left. Its dimensions are asked again before it is
    // decoded: a photo stored before they were checked at intake is refused
    // here, not allowed to ask the decoder for gigabytes.
    let unreadable = || AppError::Refused("电子照片无法读取，请前往所属地方注协重新提交".into());
    crate::photo::dimensions_ok(photo).map_err(|_| unreadable())?;
    let image = Image::from_jpeg(photo.to_vec().into(), true)
        .or_else(|_| Image::from_png(photo.to_vec().into(), true))
        .map_err(|_| unreadable())?;
    s.push_transform(&Transform::from_translate(80.0, 260.0));
    s.draw_image(image, Size::from_wh(132.0, 176.0).expect("size"));
    s.pop();

    s.set_fill(Some(fill(31, 35, 41)));
    for (i, (label, value)) in rows.iter().enumerate() {
        let y = 280.0 + i as f32 * 30.0;
        s.draw_text(Point::from_xy(240.0, y), font.clone(), 13.0, label, false, TextDirection::Auto);
        s.draw_text(Point::from_xy(345.0, y), font.clone(), 13.0, value, false, TextDirection::Auto);
    }

    // QR code, module by module.
    let code = qrcode::QrCode::new(url.as_bytes()).map_err(anyhow::Error::from)?;
    let n = code.width();
    let size = 150.0;
    let module = size / n as f32;
    let (x0, y0) = ((W - size) / 2.0, 520.0);
    let mut qr = PathBuilder::new();
    for y in 0..n {
        for x in 0..n {
            if code[(x, y)] == qrcode::Color::Dark {
                qr.push_rect(
                    Rect::from_xywh(x0 + x as f32 * module, y0 + y as f32 * module, module, module).expect("rect"),
                );
            }
        }
    }
    s.set_fill(Some(fill(0, 0, 0)));
    s.draw_path(&qr.finish().expect("path"));
    s.set_fill(Some(fill(90, 90, 90)));
    centred(&mut s, 700.0, 10.0, "扫描二维码查验会员状态；二维码内容经电子签名，可使用中注协公布的公钥离线验证。");
    s.set_fill(Some(fill(166, 27, 41)));
    centred(&mut s, 760.0, 14.0, "中国注册会计师协会");

    s.finish();
    page.finish();
    doc.finish().map_err(|e| AppError::Internal(anyhow::anyhow!("PDF: {e:?}")))
}

/// A member as the association's photo page finds them.
pub struct PhotoSubject {
    pub member_id: i32,
    pub cert_no: String,
    pub name: String,
    pub association: String,
    pub has_photo: bool,
}

async fn member_in_scope(app: &App, actor: &Actor, cert_no: &str) -> AppResult<member::Model> {
    Permission::MemberPhotos.require(actor)?;
    member_profile::member_in_scope(app, actor, cert_no).await
}

/// 会员照片: staff find a member of their association.
pub async fn photo_subject(app: &App, actor: &Actor, cert_no: &str) -> AppResult<PhotoSubject> {
    let m = member_in_scope(app, actor, cert_no).await?;
    audit::record(app, &actor.audit_name(), "member_looked_up", &format!("member:{}", m.id), json!({})).await?;
    Ok(PhotoSubject {
        member_id: m.id,
        association: app.orgs().get(m.association_id).map_or_else(String::new, |a| a.name.clone()),
        has_photo: m.photo_key.is_some(),
        cert_no: m.cert_no.to_string(),
        name: m.name,
    })
}

/// The member's current photo, for staff of their association.
pub async fn member_photo(app: &App, actor: &Actor, cert_no: &str) -> AppResult<bytes::Bytes> {
    // Out of scope is as if there were no such member: 404, not a form's message.
    let m = member_in_scope(app, actor, cert_no).await.map_err(|e| match e {
        AppError::Invalid(_) => AppError::NotFound("会员"),
        e => e,
    })?;
    let key = m.photo_key.ok_or(AppError::NotFound("照片"))?;
    audit::record(app, &actor.audit_name(), "member_photo_viewed", &format!("member:{}", m.id), json!({})).await?;
    Ok(app.read_file(&key).await?)
}

/// The member brought a photo to the association: staff upload it, and it is
/// approved as the certificate photo. The member is told in the message centre.
/// The earlier photo stays stored: the admission application still shows it.
/// Whether the actor may approve members' photos (staff): asked before the upload is read.
pub fn may_approve_photo(actor: &Actor) -> AppResult<()> {
    Permission::MemberPhotos.require(actor)
}

pub async fn approve_photo(app: &App, actor: &Actor, cert_no: &str, photo: bytes::Bytes) -> AppResult<()> {
    use object_store::PutPayload;
    use rand::RngCore;
    use sea_orm::{ActiveModelTrait, Set};
    may_approve_photo(actor)?;
    let m = member_in_scope(app, actor, cert_no).await?;
    crate::photo::check(&photo).map_err(|m| crate::FieldErrors::one("photo", m))?;
    let mut rnd = [0u8; 16];
    rand::rng().fill_bytes(&mut rnd);
    let key = format!("member-photo/{}", hex::encode(rnd));
    app.files.put(&StorePath::from(key.as_str()), PutPayload::from_bytes(photo)).await.map_err(anyhow::Error::from)?;
    let user = cmis_store::entity::user::Entity::find()
        .filter(cmis_store::entity::user::Column::MemberId.eq(m.id))
        .one(app.db.conn())
        .await?;
    let id = m.id;
    let txn = app.write().await?;
    let mut am: member::ActiveModel = m.into();
    am.photo_key = Set(Some(key));
    am.photo_source = Set(Some(crate::exam_photos::SOURCE_ASSOCIATION.into()));
    am.update(&txn).await?;
    crate::audit::append(
        &txn,
        &actor.audit_name(),
        "member_photo_approved",
        &format!("member:{id}"),
        serde_json::json!({}),
    )
    .await?;
    if let Some(u) = user {
        crate::messages::send(
            &txn,
            u.id,
            "电子照片已审核通过",
            &format!(
                "您提交的电子照片已由{}审核通过，可在“下载会员证”中下载非执业电子会员证。",
                actor.association_name
            ),
            Some("/certificate"),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}
