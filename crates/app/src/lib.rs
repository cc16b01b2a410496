//! Use cases. Every call authorizes its actor here, by role and association
//! scope; web handlers and the JSON API only parse and render.

pub mod actor;
pub mod admission;
pub mod approval;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod captcha;
pub mod certificate;
pub mod clock;
pub mod demo;
pub mod error;
pub mod home;
pub mod housekeeping;
pub mod inspection;
pub mod keys;
pub mod member_profile;
pub mod messages;
pub mod notices;
pub mod notify;
pub mod organisations;
pub mod page;
pub mod password_reset;
pub mod payment;
pub mod pii;
pub mod qr;
pub mod settings;
pub mod spreadsheet;
pub mod throttle;
pub mod tokens;
pub mod tx;

mod context;

pub use actor::Actor;
pub use context::App;
pub use error::{AppError, AppResult, FieldErrors};
pub use settings::Settings;
pub use tx::Tx;
