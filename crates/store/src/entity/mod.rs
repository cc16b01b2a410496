//! sea-orm entities, one module a table.

pub mod api_token;
pub mod approval_step;
pub mod association;
pub mod attachment;
pub mod audit_event;
pub mod captcha_use;
pub mod contact_line;
pub mod cpa;
pub mod delivery;
pub mod fee_payment;
pub mod firm;
pub mod inspection_setting;
pub mod key_fingerprint;
pub mod learning_record;
pub mod member;
pub mod member_admission;
pub mod member_inspection;
pub mod message;
pub mod notice;
pub mod recovery_proof;
pub mod reset_code;
pub mod review_case;
pub mod sequence;
pub mod session;
pub mod throttle;
pub mod user;
