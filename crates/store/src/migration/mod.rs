//! One set of migrations for SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

mod helpers;
mod m0001_foundation;
mod m0002_audit_append_only;
mod m0003_admission;
mod m0004_password_reset;
mod m0005_notices;
mod m0006_inspection;
mod m0007_security;
mod m0008_review_cases;
mod m0009_deliveries;
mod m0010_credentials;
mod m0011_jobs;
mod m0012_audit_chains;
mod m0013_codes_per_recovery;
mod m0014_seed_fidelity;
mod m0015_member_cases_index;
mod m0016_queue_index_covers_state;
mod m0017_cpa_check;
mod m0018_inspection_batches;
mod m0019_learning;
mod m0020_learning_choice_city;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_foundation::Migration),
            Box::new(m0002_audit_append_only::Migration),
            Box::new(m0003_admission::Migration),
            Box::new(m0004_password_reset::Migration),
            Box::new(m0005_notices::Migration),
            Box::new(m0006_inspection::Migration),
            Box::new(m0007_security::Migration),
            Box::new(m0008_review_cases::Migration),
            Box::new(m0009_deliveries::Migration),
            Box::new(m0010_credentials::Migration),
            Box::new(m0011_jobs::Migration),
            Box::new(m0012_audit_chains::Migration),
            Box::new(m0013_codes_per_recovery::Migration),
            Box::new(m0014_seed_fidelity::Migration),
            Box::new(m0015_member_cases_index::Migration),
            Box::new(m0016_queue_index_covers_state::Migration),
            Box::new(m0017_cpa_check::Migration),
            Box::new(m0018_inspection_batches::Migration),
            Box::new(m0019_learning::Migration),
            Box::new(m0020_learning_choice_city::Migration),
        ]
    }
}
