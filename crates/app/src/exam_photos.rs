//! 全科合格证电子照片: the exam system's photos, which CICPA imports as a ZIP
//! of JPGs named by 全科合格证号 (seed 002 §5: the certificate's photo is
//! by default the exam certificate's electronic photo). The ZIP is checked
//! by a job whose page previews the good, the unmatched (no member holds the
//! number yet: kept for when they are admitted) and the bad files; 确认导入
//! runs a second job that stores the good ones and makes each the photo of
//! the member with that number, unless their association approved another.
//!
//! A ZIP is read entry by entry, never whole: each entry is read to at most
//! the photo limit (2 MB) whatever its header declares, and the entries
//! together to at most `MAX_UNPACKED`, so a small file that expands to
//! gigabytes stops at the limit.

use std::collections::{BTreeSet, HashSet};
use std::io::{Cursor, Read};

use bytes::Bytes;
use cmis_domain::ExamCertNo;
use cmis_store::entity::{exam_photo, member};
use object_store::PutPayload;
use object_store::path::Path as StorePath;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::attachments::{FileKind, MB, PHOTO, sniff};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::jobs::{self, Input, JobKind, JobState, NewJob, Outcome, Running};
use crate::scope::Permission;
use crate::{Actor, App, audit};

/// The largest ZIP accepted in one upload.
pub const MAX_ZIP_BYTES: u64 = 100 * MB;
/// The most photos in one ZIP.
pub const MAX_ENTRIES: usize = 10_000;
/// What the entries of one ZIP may unpack to, together.
pub const MAX_UNPACKED: u64 = 1024 * MB;
/// The most the ZIP's central directory may take: ten thousand names.
const MAX_DIRECTORY: u64 = 4 * MB;
/// The names shown in the preview, of each kind.
const SHOWN: usize = 200;

/// Where a member's photo came from.
pub const SOURCE_EXAM: &str = "exam";
pub const SOURCE_APPLICATION: &str = "application";
pub const SOURCE_ASSOCIATION: &str = "association";

/// The photo's name on screen, by where it came from.
pub fn source_label(source: Option<&str>) -> &'static str {
    match source {
        Some(SOURCE_EXAM) => "全科合格证电子照片",
        Some(SOURCE_ASSOCIATION) => "所属地方注协审核通过的电子照片",
        _ => "入会申请时上传的照片",
    }
}

/// Whether the actor may import exam photos (CICPA's staff): asked before the upload is read.
pub fn may_import(actor: &Actor) -> AppResult<()> {
    Permission::ExamPhotos.require(actor)
}

/// What a check found, as the job page shows it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PhotoPreview {
    pub entries: u64,
    /// Good photos whose number a member holds.
    pub matched: u64,
    /// Good photos no member holds yet.
    pub unmatched: u64,
    pub bad: u64,
    pub unmatched_names: Vec<String>,
    /// (file name, why).
    pub bad_files: Vec<(String, String)>,
}

impl PhotoPreview {
    pub fn good(&self) -> u64 {
        self.matched + self.unmatched
    }
}

/// One good photo of the ZIP.
struct Good {
    cert: String,
    bytes: Vec<u8>,
}

/// Reads the ZIP entry by entry: `each` gets every good photo; the bad are
/// named with their reason. Refuses a ZIP that is not one, has too many
/// entries, or unpacks past the limit.
fn read_zip(zip: &[u8], mut each: impl FnMut(Good), bad: &mut Vec<(String, String)>) -> AppResult<u64> {
    check_directory(zip)?;
    let mut archive =
        zip::ZipArchive::new(Cursor::new(zip)).map_err(|_| FieldErrors::one("file", "文件不是有效的ZIP压缩包"))?;
    if archive.len() > MAX_ENTRIES {
        return Err(FieldErrors::one("file", format!("一个压缩包最多{MAX_ENTRIES}张照片，请分批导入")));
    }
    let mut seen: HashSet<String> = HashSet::new();
    let mut starts: HashSet<u64> = HashSet::new();
    let mut unpacked: u64 = 0;
    let mut entries = 0;
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).map_err(|_| FieldErrors::one("file", "压缩包已损坏，请重新打包后上传"))?;
        let Ok(path) = f.name().map(|n| n.into_owned()) else {
            entries += 1;
            bad.push((format!("第{}个文件", i + 1), "文件名无法识别".into()));
            continue;
        };
        if f.is_dir() || path.starts_with("__MACOSX/") || path.rsplit('/').next().is_some_and(|n| n.starts_with('.')) {
            continue;
        }
        entries += 1;
        // Two names for the same bytes: a ZIP made to unpack more than it holds.
        if !starts.insert(f.header_start()) {
            return Err(FieldErrors::one("file", "压缩包中的文件相互重叠，请重新打包后上传"));
        }
        let name = path.rsplit(['/', '\\']).next().unwrap_or(&path).to_owned();
        let mut refuse = |why: &str| bad.push((name.clone(), why.to_owned()));
        let Some((stem, ext)) = name.rsplit_once('.') else {
            refuse("不是JPG照片");
            continue;
        };
        if !matches!(ext.to_ascii_lowercase().as_str(), "jpg" | "jpeg") {
            refuse("不是JPG照片");
            continue;
        }
        let Ok(cert) = ExamCertNo::parse_exam(stem) else {
            refuse("文件名不是有效的全科合格证号");
            continue;
        };
        let cert = cert.as_str().to_owned();
        if !seen.insert(cert.clone()) {
            refuse("同一全科合格证号的照片重复");
            continue;
        }
        if f.size() > PHOTO.max_bytes {
            refuse("照片超过2MB");
            continue;
        }
        // Read to the limit whatever the header says.
        let mut bytes = Vec::new();
        let read = (&mut f).take(PHOTO.max_bytes + 1).read_to_end(&mut bytes);
        unpacked += bytes.len() as u64;
        if unpacked > MAX_UNPACKED {
            return Err(FieldErrors::one("file", "文件解压后过大，请分批导入"));
        }
        if read.is_err() {
            refuse("照片已损坏");
            continue;
        }
        if bytes.len() as u64 > PHOTO.max_bytes {
            refuse("照片超过2MB");
            continue;
        }
        if sniff(&bytes) != Some(FileKind::Jpg) {
            refuse("不是JPG照片");
            continue;
        }
        if let Err(e) = crate::photo::dimensions_ok(&bytes) {
            refuse(&e);
            continue;
        }
        each(Good { cert, bytes });
    }
    Ok(entries)
}

/// Reads the end of the ZIP before anything else: a central directory that
/// names more than `MAX_ENTRIES` files, or is larger than ten thousand names
/// need, or is ZIP64 (never needed under 100 MB), is refused before the
/// directory is parsed (a 95 MB file can name millions).
fn check_directory(zip: &[u8]) -> AppResult<()> {
    let too_many = || FieldErrors::one("file", format!("一个压缩包最多{MAX_ENTRIES}张照片，请分批导入"));
    let from = zip.len().saturating_sub(22 + 65_535);
    let eocd = (from..zip.len().saturating_sub(21))
        .rev()
        .find(|&i| zip[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])
        .ok_or_else(|| FieldErrors::one("file", "文件不是有效的ZIP压缩包"))?;
    let u16_at = |i: usize| u16::from_le_bytes([zip[i], zip[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([zip[i], zip[i + 1], zip[i + 2], zip[i + 3]]);
    let (entries, size) = (u16_at(eocd + 10), u32_at(eocd + 12));
    if entries == u16::MAX || size == u32::MAX || usize::from(entries) > MAX_ENTRIES || u64::from(size) > MAX_DIRECTORY
    {
        return Err(too_many());
    }
    Ok(())
}

/// The numbers of `certs` that members hold.
async fn held(app: &App, certs: &[String]) -> AppResult<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for chunk in certs.chunks(500) {
        let found: Vec<Option<String>> = member::Entity::find()
            .select_only()
            .column(member::Column::ExamCertNo)
            .filter(member::Column::ExamCertNo.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(app.db.conn())
            .await?;
        out.extend(found.into_iter().flatten());
    }
    Ok(out)
}

/// 导入 step 1: the ZIP is kept and checked, as a job.
pub async fn request_check(app: &App, actor: &Actor, zip: Bytes) -> AppResult<i32> {
    may_import(actor)?;
    if zip.len() as u64 > MAX_ZIP_BYTES {
        return Err(FieldErrors::one("file", format!("压缩包不能超过{}MB，请分批导入", MAX_ZIP_BYTES / MB)));
    }
    if !zip.starts_with(b"PK\x03\x04") {
        return Err(FieldErrors::one("file", "文件不是有效的ZIP压缩包"));
    }
    let job = NewJob {
        kind: JobKind::ExamPhotoCheck,
        title: "全科合格证电子照片导入校验".into(),
        params: json!({}),
        input: Input::Upload(zip),
    };
    jobs::submit(app, actor, job).await
}

/// The job of `request_check`.
pub async fn check_job(app: &App, job: &Running<'_>) -> AppResult<Outcome> {
    may_import(&job.actor)?;
    let zip = job.input.clone().ok_or(AppError::NotFound("文件"))?;
    let (entries, bad, certs) = tokio::task::spawn_blocking(move || {
        let (mut bad, mut certs) = (Vec::new(), Vec::new());
        read_zip(&zip, |g| certs.push(g.cert), &mut bad).map(|n| (n, bad, certs))
    })
    .await
    .map_err(anyhow::Error::from)??;
    job.progress.set(entries / 2, entries.max(1)).await?;
    let held = held(app, &certs).await?;
    let unmatched: Vec<String> = certs.iter().filter(|c| !held.contains(*c)).cloned().collect();
    let preview = PhotoPreview {
        entries,
        matched: (certs.len() - unmatched.len()) as u64,
        unmatched: unmatched.len() as u64,
        bad: bad.len() as u64,
        unmatched_names: unmatched.into_iter().take(SHOWN).map(|c| format!("{c}.jpg")).collect(),
        bad_files: bad.into_iter().take(SHOWN).collect(),
    };
    Ok(Outcome { file: None, summary: serde_json::to_value(&preview).map_err(anyhow::Error::from)? })
}

/// 导入 step 2 (确认导入) after a check that found good photos.
pub async fn request_import(app: &App, actor: &Actor, check_id: i32) -> AppResult<i32> {
    may_import(actor)?;
    let check = jobs::get(app, actor, check_id).await?;
    let good = check.count("matched") + check.count("unmatched");
    if check.kind != JobKind::ExamPhotoCheck || check.state != JobState::Done || good == 0 {
        return Err(AppError::Refused("请先上传压缩包并通过校验，再确认导入".into()));
    }
    // One import per check: 确认导入 pressed twice (or twenty times at once)
    // does not import the same ZIP again.
    let input = jobs::input_of(app, actor, check_id).await?;
    if !jobs::consume(app, actor, check_id).await? {
        return Err(AppError::Refused("该压缩包已确认导入，请勿重复导入".into()));
    }
    let job = NewJob {
        kind: JobKind::ExamPhotoImport,
        title: "全科合格证电子照片导入".into(),
        params: json!({ "check": check_id }),
        input: Input::Reuse(input),
    };
    jobs::submit(app, actor, job).await
}

/// The store key of the exam photo of `cert`.
fn key_of(cert: &str) -> String {
    format!("exam-photos/{cert}.jpg")
}

/// The job of `request_import`: every good photo stored under its number
/// (again if imported before: the newer wins), then in one transaction the
/// rows and the members' photos, audited.
pub async fn import_job(app: &App, job: &Running<'_>) -> AppResult<Outcome> {
    may_import(&job.actor)?;
    let zip = job.input.clone().ok_or(AppError::NotFound("文件"))?;
    let (tx_good, mut rx_good) = tokio::sync::mpsc::channel::<Good>(8);
    let reader = tokio::task::spawn_blocking(move || {
        let mut bad = Vec::new();
        read_zip(&zip, |g| drop(tx_good.blocking_send(g)), &mut bad)
    });
    let mut certs = Vec::new();
    while let Some(g) = rx_good.recv().await {
        app.files
            .put(&StorePath::from(key_of(&g.cert).as_str()), PutPayload::from(g.bytes))
            .await
            .map_err(anyhow::Error::from)?;
        certs.push(g.cert);
        if certs.len() % 100 == 0 {
            job.progress.set(certs.len() as u64, (certs.len() as u64) * 2).await?;
        }
    }
    reader.await.map_err(anyhow::Error::from)??;
    let now = app.now();
    let tx = app.write().await?;
    for chunk in certs.chunks(400) {
        exam_photo::Entity::insert_many(chunk.iter().map(|c| exam_photo::ActiveModel {
            exam_cert_no: sea_orm::Set(c.clone()),
            file_key: sea_orm::Set(key_of(c)),
            job_id: sea_orm::Set(Some(job.id)),
            imported_at: sea_orm::Set(now),
            ..Default::default()
        }))
        .on_conflict(
            OnConflict::column(exam_photo::Column::ExamCertNo)
                .update_columns([
                    exam_photo::Column::FileKey,
                    exam_photo::Column::JobId,
                    exam_photo::Column::ImportedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&tx)
        .await?;
    }
    // Each member's photo becomes the exam photo of their number, unless
    // their association approved one they brought in person.
    let mut members = 0;
    for c in &certs {
        members += member::Entity::update_many()
            .col_expr(member::Column::PhotoKey, Expr::value(key_of(c)))
            .col_expr(member::Column::PhotoSource, Expr::value(SOURCE_EXAM))
            .filter(member::Column::ExamCertNo.eq(c.as_str()))
            .filter(
                Condition::any()
                    .add(member::Column::PhotoSource.is_null())
                    .add(member::Column::PhotoSource.ne(SOURCE_ASSOCIATION)),
            )
            .exec(&tx)
            .await?
            .rows_affected;
    }
    audit::append(
        &tx,
        &job.actor.audit_name(),
        "exam_photos_imported",
        "exam_photos",
        json!({ "photos": certs.len(), "members": members, "job": job.id }),
    )
    .await?;
    tx.commit().await?;
    job.progress.set(certs.len() as u64, certs.len() as u64).await?;
    Ok(Outcome { file: None, summary: json!({ "imported": certs.len(), "members": members }) })
}

/// The exam photo of a certificate number, if one was imported (its store key).
pub async fn key_for<C: sea_orm::ConnectionTrait>(db: &C, cert: &str) -> AppResult<Option<String>> {
    Ok(exam_photo::Entity::find()
        .filter(exam_photo::Column::ExamCertNo.eq(cert.trim().to_ascii_uppercase()))
        .one(db)
        .await?
        .map(|p| p.file_key))
}
