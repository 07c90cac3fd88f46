//! Guichet: a multi-tenant citizen portal for French municipalities.
//!
//! See `ARCHITECTURE.md` at the root of the repository for the code map and
//! the invariants every change must keep.

pub mod accounts;
pub mod api;
pub mod app;
pub mod audit;
pub mod authoring;
pub mod cli;
pub mod config;
pub mod content;
pub mod db;
pub mod demo;
pub mod documents;
pub mod feedback;
pub mod format;
pub mod franceconnect;
pub mod households;
pub mod local_server;
pub mod mail;
pub mod metrics;
pub mod modules;
pub mod payments;
pub mod periodic;
pub mod privacy;
pub mod private_file;
pub mod requests;
pub mod spreadsheet;
pub mod staff;
pub mod tenancy;
pub mod terms;
pub mod theme;
pub mod towns;
pub mod versions;
pub mod web;
