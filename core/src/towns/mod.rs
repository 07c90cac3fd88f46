//! Towns as wholes: loading a town's folder and applying towns. This is the
//! one place that knows every feature that keeps a section in a town's
//! definition; tenancy below it knows none, and each feature parses,
//! defaults and checks its own section.
//!
//! - [`definition`]: `tenants/<slug>/` → a [`TownDefinition`]: `tenant.toml`
//!   (the town's own keys, then each feature's section, unknown keys
//!   refused), `terms/*.md`, `news/*.md`, `pages/*.md`.
//! - [`apply`](apply()): everything checked first (themes, sections, host
//!   names, modules resolved and their configurations validated), then the
//!   towns' rows and host names, enabled modules, terms versions, news and
//!   pages written in one transaction: all or nothing.
//!
//! Error policy: [`LoadError`] names the file and the problem, and
//! [`ApplyError`] the town (both operator-facing, one sentence, printed by
//! the CLI); a failed apply writes nothing.

mod apply;
mod definition;

pub use apply::{Applied, ApplyError, apply};
pub use definition::{
    LoadError, TownDefinition, TownFile, TownFiles, assemble, check_sections, load_definitions,
    parse_town,
};
