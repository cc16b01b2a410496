//! Use cases. Every call authorizes its actor here, by role and association
//! scope; web handlers and the JSON API only parse and render.

pub mod actor;
pub mod approval;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod captcha;
pub mod certificate;
pub mod clock;
pub mod cpa_check;
pub mod cpa_records;
pub mod deliveries;
pub mod demo;
pub mod error;
pub mod exam_photos;
pub mod face;
pub mod home;
pub mod housekeeping;
pub mod jobs;
pub mod keys;
pub mod learning;
pub mod member_admission;
pub mod member_inspection;
pub mod member_profile;
pub mod messages;
pub mod notices;
pub mod notify;
pub mod organisations;
pub mod page;
pub mod password_reset;
pub mod payment;
pub mod photo;
pub mod pii;
pub mod qr;
pub mod regulator;
pub mod review;
pub mod scope;
pub mod settings;
pub mod spreadsheet;
pub mod throttle;
pub mod tokens;
pub mod tx;
pub mod workflows;

mod context;

pub use actor::Actor;
pub use context::App;
pub use error::{AppError, AppResult, FieldErrors};
pub use settings::Settings;
pub use tx::Tx;
