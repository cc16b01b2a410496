//! 全科合格证电子照片: CICPA's ZIP import (checked, previewed, imported by
//! jobs), the member's default photo, and what an attacker's ZIP gets.

use std::io::Write;

use cmis_domain::UserType;
use cmis_store::entity::member;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::admission::PHOTO;
use crate::helpers::*;

fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

async fn first_member(t: &TestApp) -> member::Model {
    let login = t.login_of(UserType::NonPracticingMember).await;
    member::Entity::find().filter(member::Column::CertNo.eq(&login)).one(t.app.db.conn()).await.unwrap().unwrap()
}

#[tokio::test]
async fn cicpa_imports_exam_photos_and_they_become_the_default() {
    let t = TestApp::new().await;
    let m = first_member(&t).await;
    let cert = m.exam_cert_no.clone().unwrap();
    // Another member's photo was approved by their association: it stays.
    let kept = member::Entity::find().filter(member::Column::Id.ne(m.id)).one(t.app.db.conn()).await.unwrap().unwrap();
    let kept_cert = kept.exam_cert_no.clone().unwrap();
    let mut am: member::ActiveModel = kept.clone().into();
    am.photo_source = Set(Some("association".into()));
    am.photo_key = Set(Some("member-photo/approved".into()));
    am.update(t.app.db.conn()).await.unwrap();

    let huge = vec![0u8; 3 * 1024 * 1024];
    let zip = zip_of(&[
        (&format!("{cert}.jpg"), PHOTO),
        (&format!("照片/{kept_cert}.JPG"), PHOTO),
        ("QZ204499999.jpg", PHOTO),
        ("张三.jpg", PHOTO),
        ("QZ204499998.png", PHOTO),
        ("QZ204499997.jpg", b"not a photo at all"),
        ("QZ204499996.jpg", &huge),
        (&format!("again/{cert}.jpg"), PHOTO),
        ("__MACOSX/._x.jpg", b"junk"),
    ]);
    assert!(zip.len() < 40_000, "3 MB of zeros packs small: {}", zip.len());

    let mut s = t.client();
    s.login("staff", "staffcicpa", PASSWORD).await;
    let r = s.multipart_fields("/association/exam-photos", &[], &[("file", "photos.zip", &zip)]).await;
    let job = r.location().to_owned();
    assert!(job.starts_with("/jobs/"), "{}", r.body);
    t.run_jobs().await;
    let page = s.get(&job).await.body;
    let summary = between(&page, r#"data-testid="photo-summary">"#, "</p>");
    assert!(summary.contains("共 8 个文件") && summary.contains("可导入 <b>3</b> 张"), "{summary}");
    assert!(summary.contains("2 张对应已有会员") && summary.contains("1 张暂无对应会员"), "{summary}");
    for (name, why) in [
        ("张三.jpg", "文件名不是有效的全科合格证号"),
        ("QZ204499998.png", "不是JPG照片"),
        ("QZ204499997.jpg", "不是JPG照片"),
        ("QZ204499996.jpg", "照片超过2MB"),
        (&format!("{cert}.jpg"), "同一全科合格证号的照片重复"),
    ] {
        let row =
            format!(r#"<td data-label="文件名">{name}</td><td data-label="原因"><span class="late">{why}</span>"#);
        assert!(page.contains(&row), "{name}: {page}");
    }
    let before = member::Entity::find_by_id(m.id).one(t.app.db.conn()).await.unwrap().unwrap();
    assert_eq!(before.photo_source, m.photo_source, "nothing changes before 确认导入");

    let check_id = job.trim_start_matches("/jobs/");
    let r = s.post(&format!("/jobs/{check_id}/import"), &[]).await;
    let import = r.location().to_owned();
    let again = s.post(&format!("/jobs/{check_id}/import"), &[]).await;
    assert!(again.body.contains("该压缩包已确认导入，请勿重复导入"), "imported once: {}", again.status);
    t.run_jobs().await;
    let done = s.get(&import).await.body;
    assert!(done.contains("已导入3张全科合格证电子照片，其中1名会员的照片已更新"), "{done}");
    let after = member::Entity::find_by_id(m.id).one(t.app.db.conn()).await.unwrap().unwrap();
    assert_eq!(after.photo_source.as_deref(), Some("exam"));
    assert_eq!(after.photo_key.as_deref(), Some(format!("exam-photos/{cert}.jpg").as_str()));
    let still = member::Entity::find_by_id(kept.id).one(t.app.db.conn()).await.unwrap().unwrap();
    assert_eq!(still.photo_key.as_deref(), Some("member-photo/approved"), "the association's photo stays");

    // The member's 下载会员证 names the photo for what it is.
    let mut c = t.client();
    c.login("member", m.cert_no.as_str(), PASSWORD).await;
    let preview = c.get("/certificate").await.body;
    assert!(preview.contains(r#"data-testid="photo-label">全科合格证电子照片"#), "{preview}");
    assert_eq!(c.get("/certificate/photo").await.status, 200);

    // Only CICPA imports; a province is refused before anything is read.
    let mut p = t.client();
    p.login("staff", "staff44", PASSWORD).await;
    assert_eq!(p.get("/association/exam-photos").await.status, 403);
    // Not a ZIP: said beside the field.
    let r = s.multipart_fields("/association/exam-photos", &[], &[("file", "photos.zip", b"hello")]).await;
    assert!(r.body.contains("文件不是有效的ZIP压缩包"), "{}", r.body);
}

#[tokio::test]
async fn an_admitted_applicant_gets_the_exam_photo_and_others_their_own() {
    use cmis_app::member_admission;
    let t = TestApp::new().await;
    let with = crate::admission::profile(51);
    let mut without = crate::admission::profile(52);
    without.exam_cert_no = "QZ183300052".into();
    let zip = zip_of(&[(&format!("{}.jpg", with.exam_cert_no), PHOTO)]);
    let mut s = t.client();
    s.login("staff", "staffcicpa", PASSWORD).await;
    let job =
        s.multipart_fields("/association/exam-photos", &[], &[("file", "p.zip", &zip)]).await.location().to_owned();
    t.run_jobs().await;
    s.post(&format!("{job}/import"), &[]).await;
    t.run_jobs().await;
    for (p, source) in [(with, "exam"), (without, "application")] {
        let no = member_admission::submit(&t.app, crate::admission::application(p.clone())).await.unwrap();
        crate::admission::confirm(&t, &no).await;
        let cr = crate::admission::credentials_of(&t, &p).await;
        let m = member::Entity::find()
            .filter(member::Column::CertNo.eq(&cr.cert_no))
            .one(t.app.db.conn())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.photo_source.as_deref(), Some(source), "{}", p.exam_cert_no);
    }
}

/// One entry's bytes named twice in the central directory (a ZIP that
/// unpacks to more than it holds), and a directory that claims too many names.
#[tokio::test]
async fn zips_made_to_unpack_more_than_they_hold_are_refused() {
    let t = TestApp::new().await;
    let one = zip_of(&[("QZ204400001.jpg", PHOTO)]);
    let u32_at = |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
    let eocd = one.len() - 22;
    let (cd_size, cd_off) = (u32_at(&one, eocd + 12), u32_at(&one, eocd + 16));
    let entry = &one[cd_off..cd_off + cd_size];
    let mut twice = one[..cd_off].to_vec();
    twice.extend(entry);
    // The same bytes again under another name.
    let mut other = entry.to_vec();
    let at = other.windows(11).position(|w| w == b"QZ204400001").unwrap();
    other[at + 10] = b'2';
    twice.extend(other);
    let mut end = one[eocd..].to_vec();
    end[8..10].copy_from_slice(&2u16.to_le_bytes());
    end[10..12].copy_from_slice(&2u16.to_le_bytes());
    end[12..16].copy_from_slice(&((cd_size * 2) as u32).to_le_bytes());
    twice.extend(end);
    let mut many = one.clone();
    let n = many.len() - 22;
    many[n + 10..n + 12].copy_from_slice(&u16::MAX.to_le_bytes());

    let mut s = t.client();
    s.login("staff", "staffcicpa", PASSWORD).await;
    for (zip, why) in [(twice, "压缩包中的文件相互重叠"), (many, "一个压缩包最多10000张照片")] {
        let job =
            s.multipart_fields("/association/exam-photos", &[], &[("file", "p.zip", &zip)]).await.location().to_owned();
        t.run_jobs().await;
        let page = s.get(&job).await.body;
        assert!(page.contains(why), "{why}: {page}");
    }
}
