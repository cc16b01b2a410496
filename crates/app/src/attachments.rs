//! Attachments (附件 / 材料): checked by content, size and count for the
//! context they are uploaded in; stored through object_store; downloaded
//! only by the uploader and by staff whose scope covers the uploader.

use bytes::Bytes;
use bytes::BytesMut;
use chrono::{Datelike, Utc};
use cmis_store::entity::{attachment, user};
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, Statement,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult, FieldErrors};
use crate::scope::{Filed, Scope};
use crate::{Actor, App, audit};
use cmis_domain::UserType;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FileKind {
    Pdf,
    Jpg,
    Png,
    /// Excel: the old binary format (OLE2) or the newer zip-based one.
    Xls,
}

impl FileKind {
    pub fn label(self) -> &'static str {
        match self {
            FileKind::Pdf => "pdf",
            FileKind::Jpg => "jpg",
            FileKind::Png => "png",
            FileKind::Xls => "xls",
        }
    }
    /// Whether a file name ends in one of this kind's extensions.
    pub fn names(self, file_name: &str) -> bool {
        let ext = file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
        let allowed: &[&str] = match self {
            FileKind::Pdf => &["pdf"],
            FileKind::Jpg => &["jpg", "jpeg"],
            FileKind::Png => &["png"],
            FileKind::Xls => &["xls", "xlsx"],
        };
        allowed.contains(&ext.as_str())
    }

    pub fn content_type(self) -> &'static str {
        match self {
            FileKind::Pdf => "application/pdf",
            FileKind::Jpg => "image/jpeg",
            FileKind::Png => "image/png",
            FileKind::Xls => "application/vnd.ms-excel",
        }
    }
}

/// What the first bytes say the file is, whatever its name claims.
pub fn sniff(bytes: &[u8]) -> Option<FileKind> {
    if bytes.starts_with(b"%PDF-") {
        Some(FileKind::Pdf)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(FileKind::Jpg)
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some(FileKind::Png)
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
        || (bytes.starts_with(b"PK\x03\x04") && contains(&bytes[..bytes.len().min(4096)], b"xl/"))
    {
        Some(FileKind::Xls)
    } else {
        None
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The limits of one upload context, as the seeds state them, and who may
/// upload in it.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub code: &'static str,
    pub kinds: &'static [FileKind],
    pub max_count: u64,
    pub max_bytes: u64,
    /// The user types that upload in this context through the attachment box.
    pub uploaders: &'static [UserType],
}

pub const MB: u64 = 1024 * 1024;
const DOCS: &[FileKind] = &[FileKind::Pdf, FileKind::Jpg, FileKind::Png, FileKind::Xls];

/// 年检材料 (seed 000): pdf, jpg, png, xls; at most 5 files of 5 MB.
pub const INSPECTION_MATERIALS: Limits = Limits {
    code: "inspection_materials",
    kinds: DOCS,
    max_count: 5,
    max_bytes: 5 * MB,
    uploaders: &[UserType::NonPracticingMember],
};
/// 暂缓证明材料 (seed 000): at most 5 files of 50 MB.
pub const DEFERRAL_PROOF: Limits = Limits {
    code: "deferral_proof",
    kinds: DOCS,
    max_count: 5,
    max_bytes: 50 * MB,
    uploaders: &[UserType::NonPracticingMember],
};
/// 注册会计师年检材料 (seed 001 §2.1.4–2.1.5): the association's list for
/// serving or retired CPAs; at most 10 files of 5 MB in all.
pub const CPA_MATERIALS: Limits =
    Limits { code: "cpa_materials", kinds: DOCS, max_count: 10, max_bytes: 5 * MB, uploaders: &[UserType::Cpa] };
/// 事务所附件 (seed 001): at most 10 files of 5 MB.
pub const FIRM_BATCH: Limits =
    Limits { code: "firm_batch", kinds: DOCS, max_count: 10, max_bytes: 5 * MB, uploaders: &[UserType::Firm] };
/// 照片: one jpg or png of at most 2 MB; sent with the admission form, or by
/// the association (会员照片), never through the attachment box.
pub const PHOTO: Limits =
    Limits { code: "photo", kinds: &[FileKind::Jpg, FileKind::Png], max_count: 1, max_bytes: 2 * MB, uploaders: &[] };

pub const CONTEXTS: &[Limits] = &[INSPECTION_MATERIALS, DEFERRAL_PROOF, CPA_MATERIALS, FIRM_BATCH, PHOTO];

pub fn limits(code: &str) -> Option<Limits> {
    CONTEXTS.iter().copied().find(|l| l.code == code)
}

/// Whether the actor may upload in this context at all: asked before a byte
/// of the upload is read, and again by `upload`.
pub fn may_upload(actor: &Actor, limits: Limits) -> AppResult<()> {
    if limits.uploaders.contains(&actor.user_type) { Ok(()) } else { Err(AppError::Forbidden) }
}

impl Limits {
    /// The line the upload box shows, in the seeds' words.
    pub fn hint(&self) -> String {
        let kinds: Vec<&str> = self.kinds.iter().map(|k| k.label()).collect();
        format!(
            "支持类型：{}，最多可上传{}个附件，单个附件大小不能超过{}MB",
            kinds.join("、"),
            self.max_count,
            self.max_bytes / MB
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Attachment {
    pub id: i32,
    pub context: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub created_at: chrono::DateTime<Utc>,
    /// Which of a workflow's materials the file is for.
    pub label: Option<String>,
}

/// Whom an attachment belongs to: a record, or the uploader's draft until the
/// record it is for is submitted.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub kind: &'a str,
    pub id: Option<i32>,
}

/// An upload as it arrives: the file's name and its bytes, chunk by chunk
/// (an `Err` when the connection broke). Never held whole.
pub struct Incoming<'a> {
    pub file_name: &'a str,
    pub chunks: BoxStream<'a, Result<Bytes, Broken>>,
}

/// The connection broke off during an upload.
#[derive(Debug)]
pub struct Broken;

impl<'a> Incoming<'a> {
    /// A file already in memory (the JSON API's base64 upload).
    pub fn whole(file_name: &'a str, bytes: Bytes) -> Incoming<'a> {
        Incoming { file_name, chunks: futures::stream::once(async move { Ok(bytes) }).boxed() }
    }
}

/// What a workflow narrows the context's limits to: one material's types and
/// size, with the message for each.
#[derive(Default)]
pub struct Narrower<'a> {
    pub kinds: Option<(&'a [String], String)>,
    pub max_bytes: Option<(u64, String)>,
    /// At most this many files with the upload's label, counted again in
    /// the write (uploads at once must not pass it), and the message.
    pub max_with_label: Option<(u64, String)>,
}

/// How much of a file's start `sniff` looks at.
const HEAD: usize = 4096;
/// Files up to this size are stored in one request; larger ones as a
/// multipart upload in parts of this size (S3's minimum part is 5 MiB), so an
/// upload holds at most about two parts in memory, whatever its size.
pub const PART: usize = 5 * 1024 * 1024;

/// Checks an upload as it arrives (type from its first bytes, size as it
/// grows, count before a byte is stored), streams it to the object store, and
/// records it. A refusal part-way removes what was stored.
pub async fn upload_stream(
    app: &App,
    actor: &Actor,
    limits: Limits,
    owner: Owner<'_>,
    label: Option<&str>,
    mut file: Incoming<'_>,
    narrower: Narrower<'_>,
) -> AppResult<Attachment> {
    may_upload(actor, limits)?;
    let field = "file";
    let name = clean_name(file.file_name);
    let full = || FieldErrors::one(field, format!("最多可上传{}个附件", limits.max_count));
    if list_query(actor, limits, owner).count(app.db.conn()).await? >= limits.max_count {
        return Err(full());
    }
    let (max, too_large) = match narrower.max_bytes {
        Some((n, m)) if n < limits.max_bytes => (n, m),
        _ => (
            limits.max_bytes,
            format!("“{name}”超过{}MB，单个附件大小不能超过{}MB", limits.max_bytes / MB, limits.max_bytes / MB),
        ),
    };
    let broken = || FieldErrors::one(field, "上传失败：连接中断，请重新上传");

    // The first part: the head to sniff, and all of a file up to PART.
    let mut buf = BytesMut::new();
    let mut ended = false;
    while buf.len() < PART {
        match file.chunks.next().await {
            Some(Ok(c)) => {
                if (buf.len() + c.len()) as u64 > max {
                    return Err(FieldErrors::one(field, too_large));
                }
                buf.extend_from_slice(&c);
            }
            Some(Err(Broken)) => return Err(broken()),
            None => {
                ended = true;
                break;
            }
        }
    }
    if buf.is_empty() {
        return Err(FieldErrors::one(field, "文件为空，请重新选择"));
    }
    let kind = match sniff(&buf[..buf.len().min(HEAD)]) {
        Some(k) if limits.kinds.contains(&k) => k,
        _ => return Err(FieldErrors::one(field, format!("“{name}”不是允许的文件类型。{}", limits.hint()))),
    };
    if let Some((kinds, message)) = narrower.kinds
        && !kinds.iter().any(|k| k == kind.label())
    {
        return Err(FieldErrors::one(field, message));
    }
    // The name is what a reviewer's computer opens it by: it must say what the content is.
    if !kind.names(&name) {
        return Err(FieldErrors::one(
            field,
            format!("“{name}”的扩展名与文件内容不符（内容为{}文件），请检查后重新上传", kind.label()),
        ));
    }

    let now = app.now();
    let mut rnd = [0u8; 16];
    rand::rng().fill_bytes(&mut rnd);
    let key = format!("{}/{}/{:02}/{}", limits.code, now.year(), now.month(), hex::encode(rnd));
    let (size, sha) = store_stream(app, &key, buf, ended, &mut file, max, &too_large).await?;
    let size = size as i64;

    let saved = async {
        let txn = app.write().await?;
        // Uploads at the same moment must not both take the last place: count
        // again, holding the uploader's row (SQLite's write transaction already
        // serialises; PostgreSQL needs the row lock).
        if txn.get_database_backend() == DatabaseBackend::Postgres {
            let lock = "SELECT id FROM users WHERE id = $1 FOR UPDATE";
            txn.execute_raw(Statement::from_sql_and_values(DatabaseBackend::Postgres, lock, [actor.user_id.into()]))
                .await?;
        }
        if list_query(actor, limits, owner).count(&txn).await? >= limits.max_count {
            return Err(full());
        }
        if let (Some((max, message)), Some(label)) = (&narrower.max_with_label, label) {
            let same = list_query(actor, limits, owner).filter(attachment::Column::Label.eq(label)).count(&txn).await?;
            if same >= *max {
                return Err(FieldErrors::one(field, message.clone()));
            }
        }
        let m = attachment::ActiveModel {
            context: Set(limits.code.to_owned()),
            owner_type: Set(owner.kind.to_owned()),
            owner_id: Set(owner.id),
            uploaded_by: Set(actor.user_id),
            file_name: Set(name.clone()),
            content_type: Set(kind.content_type().to_owned()),
            size_bytes: Set(size),
            sha256: Set(sha),
            storage_key: Set(key.clone()),
            label: Set(label.map(str::to_owned)),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        audit::append(
            &txn,
            &actor.audit_name(),
            "attachment_uploaded",
            &format!("attachment:{}", m.id),
            serde_json::json!({ "context": limits.code, "size": size }),
        )
        .await?;
        txn.commit().await?;
        Ok::<_, AppError>(m)
    }
    .await;
    match saved {
        Ok(m) => Ok(to_attachment(m)),
        Err(e) => {
            // Nothing half-saved: the stored file goes if its row could not be written.
            let _ = app.files.delete(&StorePath::from(key.as_str())).await;
            Err(e)
        }
    }
}

/// Streams an upload whose first part (`buf`, the whole file if `ended`) was
/// read already to `key` in the object store, refusing it past `max` bytes
/// with `too_large`; returns its size and SHA-256. A refusal part-way removes
/// what was stored; what is returned is durable.
pub(crate) async fn store_stream(
    app: &App,
    key: &str,
    buf: BytesMut,
    ended: bool,
    file: &mut Incoming<'_>,
    max: u64,
    too_large: &str,
) -> AppResult<(u64, String)> {
    let field = "file";
    let broken = || FieldErrors::one(field, "上传失败：连接中断，请重新上传");
    let path = StorePath::from(key);
    let mut sha = Sha256::new();
    sha.update(&buf);
    let mut size = buf.len() as u64;
    if ended {
        app.files.put(&path, PutPayload::from_bytes(buf.freeze())).await.map_err(anyhow::Error::from)?;
    } else {
        let mut w = WriteMultipart::new_with_chunk_size(
            app.files.put_multipart(&path).await.map_err(anyhow::Error::from)?,
            PART,
        );
        w.put(buf.freeze());
        let refused = loop {
            match file.chunks.next().await {
                Some(Ok(c)) => {
                    size += c.len() as u64;
                    if size > max {
                        break Some(FieldErrors::one(field, too_large.to_owned()));
                    }
                    sha.update(&c);
                    // At most two parts in flight: memory stays bounded.
                    if let Err(e) = w.wait_for_capacity(2).await {
                        return Err(anyhow::Error::from(e).into());
                    }
                    w.put(c);
                }
                Some(Err(Broken)) => break Some(broken()),
                None => break None,
            }
        };
        if let Some(e) = refused {
            let _ = w.abort().await;
            return Err(e);
        }
        w.finish().await.map_err(anyhow::Error::from)?;
    }
    app.made_durable(key).await?;
    Ok((size, hex::encode(sha.finalize())))
}

pub(crate) fn list_query(actor: &Actor, limits: Limits, owner: Owner<'_>) -> sea_orm::Select<attachment::Entity> {
    let mut q = attachment::Entity::find()
        .filter(attachment::Column::Context.eq(limits.code))
        .filter(attachment::Column::OwnerType.eq(owner.kind));
    q = match owner.id {
        Some(id) => q.filter(attachment::Column::OwnerId.eq(id)),
        None => {
            q.filter(attachment::Column::OwnerId.is_null()).filter(attachment::Column::UploadedBy.eq(actor.user_id))
        }
    };
    q
}

pub async fn list(app: &App, actor: &Actor, limits: Limits, owner: Owner<'_>) -> AppResult<Vec<Attachment>> {
    Ok(list_query(actor, limits, owner)
        .order_by_asc(attachment::Column::Id)
        .all(app.db.conn())
        .await?
        .into_iter()
        .map(to_attachment)
        .collect())
}

/// A file, if its uploader is in the actor's scope (the uploader themselves,
/// or staff of the association, or the city association, they are filed under).
async fn authorized(app: &App, actor: &Actor, id: i32) -> AppResult<attachment::Model> {
    let db = app.db.conn();
    let m = attachment::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound("附件"))?;
    let uploader = user::Entity::find_by_id(m.uploaded_by).one(db).await?.ok_or(AppError::NotFound("附件"))?;
    let filed = if uploader.cpa_id.is_some() {
        // A CPA's file is seen by the firm and the associations of the
        // application it went with (as the case is filed, whichever firm the
        // CPA is at now); a draft, or a file a resubmission replaced, by the
        // CPA alone.
        let case = match m.owner_id.filter(|_| m.owner_type == crate::cpa_check::OWNER) {
            Some(case) => cmis_store::entity::review_case::Entity::find_by_id(case).one(db).await?,
            None => None,
        };
        match case {
            Some(c) => Filed {
                association_id: Some(c.association_id),
                city_association_id: c.city_association_id,
                firm_id: c.firm_id,
                member_id: None,
                user_id: Some(uploader.id),
                institute_id: None,
            },
            None => Filed { user_id: Some(uploader.id), ..Filed::default() },
        }
    } else {
        // A member's city, or a firm's (a city its province lets review the firm's batches sees their files).
        let city = match (uploader.member_id, uploader.firm_id) {
            (Some(mid), _) => {
                cmis_store::entity::member::Entity::find_by_id(mid).one(db).await?.and_then(|m| m.city_association_id)
            }
            (None, Some(fid)) => {
                cmis_store::entity::firm::Entity::find_by_id(fid).one(db).await?.and_then(|f| f.city_association_id)
            }
            (None, None) => None,
        };
        Filed {
            association_id: Some(uploader.association_id),
            city_association_id: city,
            firm_id: uploader.firm_id,
            member_id: uploader.member_id,
            user_id: Some(uploader.id),
            institute_id: None,
        }
    };
    Scope::of(app, actor).check(&filed, "附件")?;
    Ok(m)
}

/// The file, for the uploader or staff over them; staff views are audited.
pub async fn download(app: &App, actor: &Actor, id: i32) -> AppResult<(Attachment, Bytes)> {
    let m = authorized(app, actor, id).await?;
    let bytes = app.read_file(&m.storage_key).await?;
    if m.uploaded_by != actor.user_id {
        audit::record(
            app,
            &actor.audit_name(),
            "attachment_viewed",
            &format!("attachment:{}", m.id),
            serde_json::json!({}),
        )
        .await?;
    }
    Ok((to_attachment(m), bytes))
}

/// Only the uploader removes a draft attachment, before it is submitted.
pub async fn delete(app: &App, actor: &Actor, id: i32) -> AppResult<()> {
    let m = attachment::Entity::find_by_id(id)
        .one(app.db.conn())
        .await?
        .filter(|m| m.uploaded_by == actor.user_id)
        .ok_or(AppError::NotFound("附件"))?;
    if m.owner_id.is_some() {
        return Err(AppError::Refused("已提交的附件不能删除".into()));
    }
    let txn = app.write().await?;
    // Only while still a draft, decided in the write: a submission that
    // took the file a moment ago keeps it.
    let gone = attachment::Entity::delete_many()
        .filter(attachment::Column::Id.eq(m.id))
        .filter(attachment::Column::OwnerId.is_null())
        .exec(&txn)
        .await?
        .rows_affected;
    if gone == 0 {
        return Err(AppError::Refused("已提交的附件不能删除".into()));
    }
    audit::append(
        &txn,
        &actor.audit_name(),
        "attachment_deleted",
        &format!("attachment:{}", m.id),
        serde_json::json!({}),
    )
    .await?;
    txn.commit().await?;
    let _ = app.files.delete(&StorePath::from(m.storage_key.as_str())).await;
    Ok(())
}

fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    // Control characters go, and so do the marks that reorder text: a name
    // "\u{202E}gpj.pdf" would read "fdp.jpg" in the list.
    let reorders = |c: &char| matches!(*c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    let cleaned: String = base.chars().filter(|c| !c.is_control() && !reorders(c)).take(100).collect();
    if cleaned.trim().is_empty() { "附件".into() } else { cleaned }
}

pub(crate) fn to_attachment(m: attachment::Model) -> Attachment {
    Attachment {
        id: m.id,
        context: m.context,
        file_name: m.file_name,
        content_type: m.content_type,
        size_bytes: m.size_bytes,
        created_at: m.created_at,
        label: m.label,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_their_path_controls_and_reordering_marks() {
        assert_eq!(clean_name("..\\..\\etc/\u{202E}gpj.pdf"), "gpj.pdf");
        assert_eq!(clean_name("a\u{2066}b\u{200F}\n.pdf"), "ab.pdf");
        assert_eq!(clean_name("\u{202E}"), "附件");
    }

    #[test]
    fn sniffs_by_content_not_name() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some(FileKind::Pdf));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some(FileKind::Jpg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(FileKind::Png));
        assert_eq!(sniff(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0]), Some(FileKind::Xls));
        assert_eq!(sniff(b"PK\x03\x04....[Content_Types].xml..xl/workbook.xml"), Some(FileKind::Xls));
        assert_eq!(sniff(b"PK\x03\x04....word/document.xml"), None, "a Word file is not Excel");
        assert_eq!(sniff(b"<script>alert(1)</script>"), None);
        assert_eq!(sniff(b"MZ\x90\x00"), None);
    }

    #[test]
    fn hints_read_as_the_seed() {
        assert_eq!(
            INSPECTION_MATERIALS.hint(),
            "支持类型：pdf、jpg、png、xls，最多可上传5个附件，单个附件大小不能超过5MB"
        );
        assert_eq!(DEFERRAL_PROOF.max_bytes, 50 * MB);
    }

    #[test]
    fn names_lose_their_paths() {
        assert_eq!(clean_name("C:\\Users\\a\\社保证明.pdf"), "社保证明.pdf");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name(""), "附件");
    }
}
