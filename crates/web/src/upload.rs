//! Reading a multipart form with limits, for every upload route: text fields
//! of at most 64 KB, files of at most the context's size and count. A file
//! is read chunk by chunk and refused as soon as it passes its limit, so no
//! request holds more in memory than the limits of the upload it is for.
//! Handlers ask the use case whether the actor may upload at all before
//! they read a byte of the body.
//!
//! `next_part` hands a file over as it arrives instead, for the use case to
//! check and store chunk by chunk (年检材料 and 暂缓证明材料, up to 50 MB).

use axum::body::Bytes;
use axum::extract::Multipart;
use axum::extract::multipart::Field;
use cmis_app::attachments::{Broken, Incoming};
use futures::{StreamExt, TryStreamExt};

const MAX_TEXT: usize = 64 * 1024;

pub struct File {
    /// The form field it came in.
    pub field: String,
    pub name: String,
    pub bytes: Bytes,
}

#[derive(Default)]
pub struct Form {
    pub fields: Vec<(String, String)>,
    pub files: Vec<File>,
}

impl Form {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    pub fn file(&self, field: &str) -> Option<&File> {
        self.files.iter().find(|f| f.field == field)
    }
}

/// Why a form was not read.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// A file passed the size limit (its name).
    TooLarge(String),
    /// More files than the limit.
    TooMany,
    /// A text field passed 64 KB.
    TextTooLong,
    /// The body broke off, or was not multipart.
    Broken,
}

async fn read_limited(mut f: Field<'_>, max: usize) -> Result<Option<Bytes>, ()> {
    let mut buf = Vec::new();
    while let Some(chunk) = f.chunk().await.map_err(|_| ())? {
        if buf.len() + chunk.len() > max {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Some(Bytes::from(buf)))
}

/// A form that was refused, with what had been read before the refusal (the
/// fields that came first), so the page can keep them.
pub struct Rejected {
    pub form: Form,
    pub why: Refused,
}

/// Reads the whole form: files (parts with a file name) of at most
/// `max_file` bytes, at most `max_files` non-empty ones; other parts as text.
pub async fn read(mp: &mut Multipart, max_file: u64, max_files: usize) -> Result<Form, Rejected> {
    let mut form = Form::default();
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(form),
            Err(_) => return Err(Rejected { form, why: Refused::Broken }),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let max = if file_name.is_some() { max_file as usize } else { MAX_TEXT };
        let bytes = match read_limited(field, max).await {
            Ok(Some(b)) => b,
            Ok(None) => {
                let why = match file_name {
                    Some(f) => Refused::TooLarge(f),
                    None => Refused::TextTooLong,
                };
                return Err(Rejected { form, why });
            }
            Err(()) => return Err(Rejected { form, why: Refused::Broken }),
        };
        match file_name {
            Some(f) if bytes.is_empty() && f.is_empty() => {}
            Some(_) if form.files.len() >= max_files => return Err(Rejected { form, why: Refused::TooMany }),
            Some(f) => form.files.push(File { field: name, name: f, bytes }),
            None => form.fields.push((name, String::from_utf8_lossy(&bytes).into_owned())),
        }
    }
}

/// One part of a multipart form, as `next_part` reads it.
pub enum Part<'a> {
    /// A text field, read whole (at most 64 KB).
    Text(String, String),
    /// A chosen file, not yet read: its bytes arrive through the stream.
    File(Incoming<'a>),
    /// A file input left empty.
    Empty,
    /// The form ended.
    End,
}

/// The next part of a form: text fields whole, a file as a stream.
pub async fn next_part<'a>(mp: &'a mut Multipart, file_name: &'a mut String) -> Result<Part<'a>, Refused> {
    let field = match mp.next_field().await {
        Ok(Some(f)) => f,
        Ok(None) => return Ok(Part::End),
        Err(_) => return Err(Refused::Broken),
    };
    let name = field.name().unwrap_or_default().to_owned();
    match field.file_name().map(str::to_owned) {
        Some(f) if f.is_empty() => {
            // <input type=file> with nothing chosen: an empty part.
            match read_limited(field, 0).await {
                Ok(Some(_)) => Ok(Part::Empty),
                _ => Err(Refused::Broken),
            }
        }
        Some(f) => {
            *file_name = f;
            let chunks = field.map_err(|_| Broken).boxed();
            Ok(Part::File(Incoming { file_name: file_name.as_str(), chunks }))
        }
        None => match read_limited(field, MAX_TEXT).await {
            Ok(Some(b)) => Ok(Part::Text(name, String::from_utf8_lossy(&b).into_owned())),
            Ok(None) => Err(Refused::TextTooLong),
            Err(()) => Err(Refused::Broken),
        },
    }
}
