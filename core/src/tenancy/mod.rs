//! Towns ("tenants"), the ground floor every feature stands on: what makes a
//! town a town (slug, name, theme, host names, time zone, mail sender,
//! contact), the [`Section`]s its features keep in its definition, its rows
//! in the database, and how a request finds its town. Tenancy knows no
//! feature: each feature owns its section (`towns` loads and applies whole
//! towns).
//!
//! The town of a request comes from its `Host` header, and only from there,
//! through the [`CurrentTenant`] request guard. Rows owned by a town are read
//! and written through its [`TenantScope`], which adds the `tenant_id`
//! condition that a hand-written query could forget. Found towns are kept in
//! memory by host (`cache.rs`), in step with the database on every instance
//! (`watch.rs`: `LISTEN`/`NOTIFY` on PostgreSQL, a polled change stamp on
//! SQLite; see [`TenantDirectory::watch_changes`]).
//!
//! Error policy: [`InvalidDefinition`] is a `tenant.toml` whose town keys do
//! not validate, and [`TenancyError`] an apply that conflicts (both
//! operator-facing, one sentence naming the file or the town); database
//! errors pass through unchanged. A stored section that no longer parses is
//! logged and read as its default (see [`TenantDefinition::section`]). On the
//! request path an unknown host is not an error but a neutral 404 (see `web`).

mod cache;
mod definition;
pub mod entity;
mod guard;
mod host;
pub mod personal_data;
pub mod removal;
mod scope;
mod service;
mod watch;

pub use cache::{Freshness, TOWN_CACHE_UNWATCHED, TOWN_CACHE_WATCHED};
pub use definition::{
    DEFINITION_FILE, InvalidDefinition, MailSender, Section, TOWN_KEYS, TenantDefinition,
    TownContact, is_plausible_email, is_valid_slug,
};
pub use guard::{CurrentTenant, TenantResolution, database_silent};
pub use host::{HostLookup, classify_host};
pub use scope::{TenantOwned, TenantScope};
pub use service::{
    ApplyOutcome, Served, TenancyError, Tenant, TenantDirectory, TenantId, TenantSummary,
};
pub use watch::{POLL_INTERVAL, TOWNS_CHANNEL};
