//! `guichet demo`: the demo towns, from `tenants/` when run from the
//! repository, else from the copy built into the binary.

use std::path::Path;

use rust_embed::RustEmbed;

use crate::tenancy::{DefinitionError, TenantDefinition, load_definitions, parse_definition};

#[derive(RustEmbed)]
#[folder = "../tenants/"]
#[include = "*/tenant.toml"]
struct EmbeddedTenants;

/// The definitions of the demo towns.
pub fn town_definitions(dir: &Path) -> Result<Vec<TenantDefinition>, DefinitionError> {
    if dir.is_dir() {
        return load_definitions(dir);
    }
    let mut files: Vec<String> = EmbeddedTenants::iter()
        .map(|path| path.into_owned())
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|path| {
            let (slug, _) = path.split_once('/')?;
            let file = EmbeddedTenants::get(path)?;
            Some((slug.to_owned(), path.clone(), file.data))
        })
        .map(|(slug, path, data)| {
            let text = String::from_utf8_lossy(&data);
            parse_definition(&text, &slug, &format!("(built-in) tenants/{path}"))
        })
        .collect()
}
