//! Terms of use (CGU): immutable versions per town, the acceptance gate, and
//! the append-only proof of acceptance.
//!
//! A town publishes versions (from `tenants/<slug>/terms/*.md` or
//! `guichet terms publish`); a *major* version must be accepted before any
//! resident page, a *minor* one only shows a notice. Each acceptance is a
//! row that is never updated: town, account, version, hash of the text
//! accepted, time, address and browser.
//!
//! Error policy: database failures are [`sea_orm::DbErr`]; a refused
//! acceptance (a version that is not the town's current one) is a value,
//! [`AcceptError`], shown to the resident.

mod diff;
pub mod entity;
mod file;
mod markdown;
pub mod personal_data;
mod service;

pub use diff::{Change, DiffLine, diff_lines};
pub use file::{TermsFile, TermsFileError, parse_terms_file};
pub use markdown::render as render_markdown;
pub use service::{
    AcceptError, ExportError, PublishOutcome, Terms, TermsFigures, TermsKind, TermsStatus,
};
