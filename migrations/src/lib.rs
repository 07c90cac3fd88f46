//! The database schema of Guichet, as an ordered list of migrations.
//!
//! Every migration must run unchanged on SQLite and PostgreSQL (the test suite
//! runs both). A released migration is never edited: add a new one.
//!
//! Every tenant-owned table carries a non-null `tenant_id` referencing
//! `tenant(id)`; the core only reaches those rows through its tenant scope.

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_tenants;
mod m20261126_000002_accounts;
mod m20261126_000003_terms;
mod m20261126_000004_modules;
mod m20261126_000005_resident_pages;
mod m20261126_000006_franceconnect;
mod m20261126_000007_request_indexes;
mod m20261126_000008_request_counter;
mod m20261126_000009_module_quotas_and_publishers;
mod m20261126_000010_mail_delivery;
mod m20261126_000011_journal;
mod m20261126_000012_staff;
mod m20261126_000013_account_administration;
mod m20261126_000014_account_import;
mod m20261126_000015_module_edits;
mod m20261126_000016_request_handling;
mod m20261202_000017_module_keys_in_byte_order;
mod m20261202_000018_documents;
mod m20261202_000019_payments;
mod m20261202_000020_privacy;
mod m20261202_000021_module_signatures;
mod m20261203_000022_tenant_removal;
mod m20261203_000023_data_versions;

#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_tenants::Migration),
            Box::new(m20261126_000002_accounts::Migration),
            Box::new(m20261126_000003_terms::Migration),
            Box::new(m20261126_000004_modules::Migration),
            Box::new(m20261126_000005_resident_pages::Migration),
            Box::new(m20261126_000006_franceconnect::Migration),
            Box::new(m20261126_000007_request_indexes::Migration),
            Box::new(m20261126_000008_request_counter::Migration),
            Box::new(m20261126_000009_module_quotas_and_publishers::Migration),
            Box::new(m20261126_000010_mail_delivery::Migration),
            Box::new(m20261126_000011_journal::Migration),
            Box::new(m20261126_000012_staff::Migration),
            Box::new(m20261126_000013_account_administration::Migration),
            Box::new(m20261126_000015_module_edits::Migration),
            Box::new(m20261126_000016_request_handling::Migration),
            Box::new(m20261126_000014_account_import::Migration),
            Box::new(m20261202_000017_module_keys_in_byte_order::Migration),
            Box::new(m20261202_000018_documents::Migration),
            Box::new(m20261202_000019_payments::Migration),
            Box::new(m20261202_000020_privacy::Migration),
            Box::new(m20261202_000021_module_signatures::Migration),
            Box::new(m20261203_000022_tenant_removal::Migration),
            Box::new(m20261203_000023_data_versions::Migration),
        ]
    }
}
