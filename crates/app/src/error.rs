use std::fmt;

/// Messages beside the fields of a form: (field name, message in Chinese).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<(String, String)>);

impl FieldErrors {
    pub fn new() -> FieldErrors {
        FieldErrors::default()
    }
    pub fn add(&mut self, field: &str, message: impl fmt::Display) {
        self.0.push((field.to_owned(), message.to_string()));
    }
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// `Ok(())` when no field has a message, else the whole set as an error.
    pub fn into_result(self) -> AppResult<()> {
        if self.is_empty() { Ok(()) } else { Err(AppError::Invalid(self)) }
    }
    /// One message, as a set (for pages that show the set).
    pub fn one_set(field: &str, message: impl fmt::Display) -> FieldErrors {
        let mut e = FieldErrors::new();
        e.add(field, message);
        e
    }

    pub fn one(field: &str, message: impl fmt::Display) -> AppError {
        let mut e = FieldErrors::new();
        e.add(field, message);
        AppError::Invalid(e)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("请先登录")]
    Unauthenticated,
    #[error("您无权进行此操作")]
    Forbidden,
    #[error("您正在使用初始密码，请先修改密码")]
    PasswordChangeRequired,
    #[error("{0}不存在")]
    NotFound(&'static str),
    #[error("填写的信息有误，请按提示修改")]
    Invalid(FieldErrors),
    /// A business rule said no; the message says why.
    #[error("{0}")]
    Refused(String),
    #[error("操作过于频繁，请{0}分钟后再试")]
    TooMany(i64),
    #[error("系统繁忙，请稍后再试")]
    Internal(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        AppError::Internal(e.into())
    }
}

pub type AppResult<T> = Result<T, AppError>;

impl From<cmis_domain::coded::UnknownCode> for AppError {
    fn from(e: cmis_domain::coded::UnknownCode) -> Self {
        AppError::Internal(e.into())
    }
}
