//! Towns ("tenants"): their declarative definitions (`tenants/<slug>/tenant.toml`),
//! their rows in the database, and how a request finds its town.
//!
//! The town of a request comes from its `Host` header, and only from there,
//! through the [`CurrentTenant`] request guard. Rows owned by a town are read
//! and written through its [`TenantScope`], which adds the `tenant_id`
//! condition that a hand-written query could forget.
//!
//! Error policy: [`TenancyError`] covers definitions that do not validate and
//! applies that conflict (operator-facing, one sentence naming the file or the
//! town); database errors pass through unchanged. On the request path an
//! unknown host is not an error but a neutral 404 (see `web`).

mod definition;
pub mod entity;
mod guard;
mod host;
mod scope;
mod service;

pub use definition::{
    AccountSettings, DefinitionError, HouseholdSettings, MailSender, RequestType, TenantDefinition,
    TownContact, is_plausible_email, load_definitions, parse_definition,
};
pub use guard::{CurrentTenant, TenantResolution};
pub use host::{HostLookup, classify_host};
pub use scope::{TenantOwned, TenantScope};
pub use service::{ApplyOutcome, TenancyError, Tenant, TenantDirectory, TenantId, TenantSummary};
