//! `guichet module new NAME`: a module crate that builds with one command
//! and passes its tests, from the module template (`modules/template/`:
//! a tile, a page, a form and its action, the resident's storage, the
//! town's configuration and its schema, unit tests of the plain logic),
//! with the id and name of the new module.
//!
//! Outside a Guichet checkout the crate stands alone (its own workspace,
//! the toolchain file with the wasm target, the SDK by path: `--sdk`, else
//! the `modules/sdk/` of the checkout this binary was built from). Inside
//! `modules/` it joins that workspace, as the first-party modules do.

use std::path::{Path, PathBuf};

use super::AuthoringError;
use crate::modules::registry::is_valid_module_id;

/// The template's source, whose id and name lines are replaced.
const TEMPLATE: &str = include_str!("../../../modules/template/src/lib.rs");
const TOOLCHAIN: &str = include_str!("../../../rust-toolchain.toml");
/// The lock file of `modules/`: a new crate starts from the versions the
/// SDK is built and tested with (cargo drops the packages it does not use).
const LOCK: &str = include_str!("../../../modules/Cargo.lock");
const ID_LINE: &str = "const ID: &str = \"bloc-notes\";";
const NAME_LINE: &str = "const NAME: &str = \"Bloc-notes\";";
/// The SDK of the checkout this binary was built from, when it is there.
const BUILT_FROM_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../modules/sdk");

/// What was written, and how to go on.
#[derive(Debug)]
pub struct Scaffold {
    pub dir: PathBuf,
    pub module_id: String,
    /// The component `cargo build --release --target wasm32-wasip2` makes,
    /// from the crate's folder.
    pub wasm: PathBuf,
    /// Joined the `modules/` workspace of a Guichet checkout.
    pub in_workspace: bool,
}

/// Where the new crate takes the SDK from, outside a Guichet checkout.
#[derive(Debug, Clone)]
pub enum SdkSource {
    /// By path: the given folder, else the checkout this binary was built
    /// from.
    Path(Option<PathBuf>),
    /// By version, from a registry that holds it (`0.2`).
    Version(String),
}

/// Creates `PARENT/NAME`.
pub fn new_module(name: &str, parent: &Path, sdk: &SdkSource) -> Result<Scaffold, AuthoringError> {
    check_name(name)?;
    let dir = parent.join(name);
    if dir.exists() {
        return Err(AuthoringError::Refused(format!(
            "{} already exists: choose another name, or another folder (--dir)",
            dir.display()
        )));
    }
    let library = name.replace('-', "_");
    let source = module_source(name)?;
    let workspace = guichet_modules_workspace(parent);
    let (manifest, wasm) = match &workspace {
        Some(_) => (
            workspace_member_manifest(name),
            PathBuf::from("../target/wasm32-wasip2/release").join(format!("{library}.wasm")),
        ),
        None => {
            let dependency = match sdk {
                SdkSource::Path(path) => {
                    format!(
                        "{{ path = {:?} }}",
                        sdk_path(path.as_deref())?.display().to_string()
                    )
                }
                SdkSource::Version(version) => {
                    semver::VersionReq::parse(version).map_err(|error| {
                        AuthoringError::Refused(format!(
                            "--sdk-version `{version}` is not a version requirement: {error}"
                        ))
                    })?;
                    format!("{version:?}")
                }
            };
            (
                standalone_manifest(name, &dependency),
                PathBuf::from("target/wasm32-wasip2/release").join(format!("{library}.wasm")),
            )
        }
    };
    let write = |path: PathBuf, text: &str| -> Result<(), AuthoringError> {
        std::fs::write(&path, text).map_err(AuthoringError::file(path))
    };
    // The workspace's members list is edited first: refused, nothing is
    // written.
    let members = workspace
        .as_ref()
        .map(|root| with_member(&root.join("Cargo.toml"), name))
        .transpose()?;
    std::fs::create_dir_all(dir.join("src")).map_err(AuthoringError::file(&dir))?;
    write(dir.join("Cargo.toml"), &manifest)?;
    write(dir.join("src/lib.rs"), &source)?;
    write(dir.join(super::preview::DEFAULT_SAMPLE), &sample_file())?;
    if workspace.is_none() {
        write(dir.join("rust-toolchain.toml"), TOOLCHAIN)?;
        write(dir.join("Cargo.lock"), LOCK)?;
        write(
            dir.join(".gitignore"),
            "target/\n# A publisher's secret key never goes into a repository.\n*.key\n",
        )?;
    }
    if let (Some(root), Some(members)) = (&workspace, members) {
        let manifest = root.join("Cargo.toml");
        std::fs::write(&manifest, members).map_err(AuthoringError::file(manifest))?;
    }
    Ok(Scaffold {
        dir,
        module_id: name.to_owned(),
        wasm,
        in_workspace: workspace.is_some(),
    })
}

/// A module id that is also a crate name, and not one of Guichet's.
fn check_name(name: &str) -> Result<(), AuthoringError> {
    if !is_valid_module_id(name) || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(AuthoringError::Refused(format!(
            "`{name}` cannot be a module id: 1 to 64 lowercase letters, digits and inner hyphens, starting with a letter (e.g. `agenda-sportif`)"
        )));
    }
    if crate::modules::FIRST_PARTY_MODULES
        .iter()
        .any(|module| module.id == name)
        || name.starts_with("guichet")
    {
        return Err(AuthoringError::Refused(format!(
            "`{name}` is Guichet's own: give your module an id of its own"
        )));
    }
    Ok(())
}

/// The template with the new id and name.
fn module_source(name: &str) -> Result<String, AuthoringError> {
    if !TEMPLATE.contains(ID_LINE) || !TEMPLATE.contains(NAME_LINE) {
        return Err(AuthoringError::Refused(
            "the module template of this binary has no id or name line".to_owned(),
        ));
    }
    let title = display_name(name);
    Ok(TEMPLATE
        .replacen(
            "//! Bloc-notes: the resident keeps short notes",
            &format!("//! {title}: the resident keeps short notes"),
            1,
        )
        .replacen(ID_LINE, &format!("const ID: &str = {name:?};"), 1)
        .replacen(NAME_LINE, &format!("const NAME: &str = {title:?};"), 1))
}

/// "agenda-sportif" → "Agenda sportif".
fn display_name(name: &str) -> String {
    let spaced = name.replace('-', " ");
    let mut characters = spaced.chars();
    characters
        .next()
        .map(|first| first.to_uppercase().chain(characters).collect())
        .unwrap_or_default()
}

/// The `modules/` folder of a Guichet checkout, when `parent` is it.
fn guichet_modules_workspace(parent: &Path) -> Option<PathBuf> {
    let root = parent.canonicalize().ok()?;
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).ok()?;
    let sdk = std::fs::read_to_string(root.join("sdk/Cargo.toml")).ok()?;
    (manifest.contains("[workspace]") && sdk.contains("name = \"guichet-module-sdk\""))
        .then_some(root)
}

fn sdk_path(given: Option<&Path>) -> Result<PathBuf, AuthoringError> {
    let candidate = given.map_or_else(|| PathBuf::from(BUILT_FROM_SDK), Path::to_path_buf);
    let sdk = candidate.canonicalize().ok().filter(|path| {
        std::fs::read_to_string(path.join("Cargo.toml"))
            .is_ok_and(|text| text.contains("name = \"guichet-module-sdk\""))
    });
    sdk.ok_or_else(|| {
        AuthoringError::Refused(format!(
            "Guichet's module SDK is not at {}: pass --sdk PATH, the modules/sdk folder of a Guichet checkout",
            candidate.display()
        ))
    })
}

fn standalone_manifest(name: &str, dependency: &str) -> String {
    format!(
        r#"# A Guichet module (interface 0.2.0). Build it with
#   cargo build --release --target wasm32-wasip2
# test its logic with `cargo test`, try it with `guichet module preview`.
[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
rust-version = "1.95"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
guichet-module-sdk = {dependency}
serde = {{ version = "1", features = ["derive"] }}

[lints.clippy]
unwrap_used = "deny"
expect_used = "deny"

# Small components: published, stored and compiled by every server.
[profile.release]
opt-level = "s"
debug = false
strip = true

# A crate of its own, not a member of a workspace above it.
[workspace]
"#
    )
}

fn workspace_member_manifest(name: &str) -> String {
    format!(
        r#"# A Guichet module (interface 0.2.0), a member of modules/.
[package]
name = "{name}"
version = "0.1.0"
edition.workspace = true
rust-version.workspace = true
license.workspace = true
publish.workspace = true

[lib]
crate-type = ["cdylib"]

[dependencies]
guichet-module-sdk.workspace = true
serde.workspace = true

[lints]
workspace = true
"#
    )
}

/// The workspace's `Cargo.toml` with `name` added to its `members`.
fn with_member(manifest: &Path, name: &str) -> Result<String, AuthoringError> {
    let text = std::fs::read_to_string(manifest).map_err(AuthoringError::file(manifest))?;
    let start = text.find("members = [").ok_or_else(|| {
        AuthoringError::Refused(format!("{}: no `members = [` list", manifest.display()))
    })?;
    let end = text[start..]
        .find(']')
        .map(|offset| start + offset)
        .ok_or_else(|| {
            AuthoringError::Refused(format!("{}: unclosed members", manifest.display()))
        })?;
    let mut list = text[start..end].trim_end().to_owned();
    if !list.ends_with(',') && !list.ends_with('[') {
        list.push(',');
    }
    list.push_str(&format!("\n    {name:?},\n"));
    let updated = format!("{}{list}{}", &text[..start], &text[end..]);
    // The list edited as text keeps its comments; the result must still be
    // the same workspace plus the new member, or nothing is written.
    let members = |text: &str| -> Option<Vec<String>> {
        let table: toml::Table = toml::from_str(text).ok()?;
        table
            .get("workspace")?
            .get("members")?
            .as_array()?
            .iter()
            .map(|member| member.as_str().map(str::to_owned))
            .collect()
    };
    let mut expected = members(&text).unwrap_or_default();
    expected.push(name.to_owned());
    if members(&updated) != Some(expected) {
        return Err(AuthoringError::Refused(format!(
            "{}: the members list could not be edited safely; add \"{name}\" to it yourself",
            manifest.display()
        )));
    }
    Ok(updated)
}

/// The sample data of the preview, for the template: the town's words and
/// one note.
fn sample_file() -> String {
    String::from(
        r#"# The sample data of `guichet module preview`: the town, the resident who
# logs in, their household, the town's configuration of the module and what
# the module finds stored. Edit it, then start the preview again.

[town]
name = "Commune d'aperçu"

[resident]
civility = "M"
first_name = "Michel"
last_name = "ARPEGE"
email = "michel.arpege@example.org"
address = "10 LA RUE CREUSE"

[[household]]
first_name = "Léa"
last_name = "ARPEGE"
birth_date = "2015-09-03"
relation = "enfant"

# The town's configuration of the module, as its tenant.toml or its
# back-office sets it (checked against the module's schema).
[config]
intro = "Vos notes ne sont visibles que par vous."

# What the module finds stored: key = value (written as JSON).
[storage.town]

[storage.resident]
"note:2026-11-30T09:00:00:0000" = { written_on = "2026-11-30", text = "Rapporter le dossier de cantine" }
"#,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_has_the_lines_a_new_module_replaces() {
        let source = module_source("agenda-sportif").unwrap();
        assert!(source.contains("const ID: &str = \"agenda-sportif\";"));
        assert!(source.contains("const NAME: &str = \"Agenda sportif\";"));
        assert!(!source.contains("\"bloc-notes\""));
    }

    #[test]
    fn names_are_module_ids_of_the_authors_own() {
        for bad in [
            "Agenda",
            "agenda_sportif",
            "-agenda",
            "2agenda",
            "invoices",
            "guichet-x",
            "",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_name("agenda-sportif").is_ok());
    }

    #[test]
    fn the_sample_file_is_what_the_preview_reads() {
        let sample: super::super::preview::Sample = toml::from_str(&sample_file()).unwrap();
        assert_eq!(sample.identifier(), "michel.arpege");
        assert_eq!(sample.household.len(), 1);
        assert_eq!(sample.storage.resident.len(), 1);
    }

    #[test]
    fn a_member_is_added_to_the_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("Cargo.toml");
        std::fs::write(
            &manifest,
            "[workspace]\nmembers = [\n    \"sdk\",\n    \"template\",\n]\n",
        )
        .unwrap();
        let text = with_member(&manifest, "agenda").unwrap();
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        let members = parsed["workspace"]["members"].as_array().unwrap();
        assert_eq!(members.last().and_then(|m| m.as_str()), Some("agenda"));

        // A `]` in a comment: refused rather than broken.
        let odd = "[workspace]\nmembers = [\n    \"sdk\", # [x]\n    \"template\",\n]\n";
        std::fs::write(&manifest, odd).unwrap();
        assert!(with_member(&manifest, "agenda").is_err());
    }

    #[test]
    fn the_sdk_may_come_by_version() {
        let dir = tempfile::tempdir().unwrap();
        let made = new_module("agenda", dir.path(), &SdkSource::Version("0.2".to_owned())).unwrap();
        let manifest = std::fs::read_to_string(made.dir.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains("guichet-module-sdk = \"0.2\""),
            "{manifest}"
        );
        let parsed: toml::Table = toml::from_str(&manifest).unwrap();
        assert!(parsed.contains_key("workspace"));
        assert!(new_module("autre", dir.path(), &SdkSource::Version("deux".to_owned())).is_err());
    }
}
