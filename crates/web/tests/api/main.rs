//! The one integration-test binary of the web crate (linking several costs
//! minutes on two cores). Every test opens its own fresh database, on SQLite,
//! or on PostgreSQL when CMIS_TEST_PG_URL is set; scripts/test runs both.

mod helpers;

mod admission;
mod api;
mod attachments;
mod audit;
mod batch;
mod certificate;
mod cpa_check;
mod exam_photos;
mod fidelity;
mod hardening;
mod inspection;
mod inspection_api;
mod inspection_fees;
mod instances;
mod jobs;
mod learning;
mod login;
mod notices;
mod online;
mod pages;
mod password;
mod profile;
mod regulator;
mod routes;
mod security;
mod store;
