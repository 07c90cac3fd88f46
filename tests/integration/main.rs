//! Integration tests: the real server on a real socket, on SQLite and on
//! PostgreSQL, and the real `guichet` binary.
//!
//! Every test that touches storage is written once with
//! [`on_both_databases!`] and runs on both backends.

// Test code: a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod harness;

mod account_abuse;
mod account_import;
mod accounts;
mod admin_content;
mod admin_modules;
mod admin_requests;
mod admin_residents;
mod admin_routes;
mod api_contract;
mod bookings;
mod cli;
mod csrf;
mod dashboard;
mod data_api;
mod documents;
mod franceconnect;
mod households;
mod journal;
mod mail;
mod metrics;
mod module_authors;
mod module_releases;
mod module_storage;
mod modules;
mod modules_v2;
mod outages;
mod payments;
mod privacy;
mod requests;
mod staff;
mod tenancy;
mod tenant_removal;
mod terms;
mod themes;
mod towns;
mod view_cache;
mod web;
