//! `guichet module preview FILE.wasm`: the module on a local page, in the
//! default theme, with a sample town, resident, household and storage read
//! from a small TOML file the author edits (`apercu.toml`, written by
//! `module new`).
//!
//! It is the real server, not an imitation: a whole [`App`] in
//! [`Mode::Preview`] on a throw-away SQLite database, one town (`apercu`)
//! with the module enabled, the same host, sandbox and limits as the
//! configuration's (the production defaults unless a `guichet.toml` says
//! otherwise). What differs: unsigned modules are taken, mail stays in the
//! local mailbox (`/demo/courriels`, where the module's notifications land),
//! and a failed call's page says what it hit instead of "indisponible".
//!
//! When the file changes (a new build), the server stops, the previous
//! build is forgotten (this database is the preview's own) and the new one
//! is published and served: the resident's session and what the module
//! stored stay. A build the registry refuses is reported and the preview
//! waits for the next one.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use serde::Deserialize;

use super::AuthoringError;
use crate::app::{App, Mode};
use crate::config::{Config, ConfigFile};
use crate::modules::entity::{module_release, town_module};
use crate::modules::registry::{self, Publisher};
use crate::modules::storage::{self, DataScope};
use crate::towns::{TownFile, TownFiles, assemble};

/// The preview town's slug: it answers on `apercu.localhost`.
pub const SLUG: &str = "apercu";
/// The sample resident's password (a local page, for the author only).
pub const PASSWORD: &str = "apercu-module";
/// The sample file read when none is named.
pub const DEFAULT_SAMPLE: &str = "apercu.toml";
/// How often the file is looked at.
const POLL: Duration = Duration::from_millis(300);

/// The sample data of a preview, as the author writes it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    #[serde(default)]
    pub town: SampleTown,
    #[serde(default)]
    pub resident: SampleResident,
    #[serde(default)]
    pub household: Vec<SampleMember>,
    /// The town's configuration of the module (checked against its schema).
    #[serde(default)]
    pub config: toml::Table,
    #[serde(default)]
    pub storage: SampleStorage,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleTown {
    pub name: String,
}

impl Default for SampleTown {
    fn default() -> Self {
        Self {
            name: "Commune d'aperçu".to_owned(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleResident {
    /// "M" or "Mme".
    pub civility: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub address: Option<String>,
}

impl Default for SampleResident {
    fn default() -> Self {
        Self {
            civility: Some("M".to_owned()),
            first_name: "Michel".to_owned(),
            last_name: "ARPEGE".to_owned(),
            email: "michel.arpege@example.org".to_owned(),
            address: Some("10 LA RUE CREUSE".to_owned()),
        }
    }
}

impl SampleMember {
    fn input(&self) -> crate::households::MemberInput {
        crate::households::MemberInput {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            birth_date: self.birth_date.clone(),
            relation: self.relation.clone(),
            external_ref: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleMember {
    pub first_name: String,
    pub last_name: String,
    /// `AAAA-MM-JJ`.
    #[serde(default)]
    pub birth_date: String,
    /// conjoint, enfant, co-parent, responsable or autre.
    pub relation: String,
}

/// What the module finds stored, by key: values are written as JSON.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleStorage {
    #[serde(default)]
    pub town: toml::Table,
    #[serde(default)]
    pub resident: toml::Table,
}

impl Sample {
    /// Reads the sample file; a missing default file is the defaults.
    pub fn read(path: Option<&Path>) -> Result<Self, AuthoringError> {
        let (path, required) = match path {
            Some(path) => (path.to_owned(), true),
            None => (PathBuf::from(DEFAULT_SAMPLE), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if !required && error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::default());
            }
            Err(error) => return Err(AuthoringError::file(&path)(error)),
        };
        let sample: Self = toml::from_str(&text).map_err(|error| {
            AuthoringError::Refused(format!(
                "{}: {}",
                path.display(),
                error.to_string().trim_end()
            ))
        })?;
        sample
            .check()
            .map_err(|error| AuthoringError::Refused(format!("{}: {error}", path.display())))?;
        Ok(sample)
    }

    /// Everything the seeding would refuse, before anything is written.
    fn check(&self) -> Result<(), String> {
        self.civility()?;
        let today = chrono::Utc::now().date_naive();
        for (index, member) in self.household.iter().enumerate() {
            member
                .input()
                .validate(today)
                .map_err(|errors| format!("[[household]] number {}: {errors}", index + 1))?;
        }
        Ok(())
    }

    fn civility(&self) -> Result<Option<crate::accounts::Civility>, String> {
        match self.resident.civility.as_deref() {
            None | Some("") => Ok(None),
            Some(text) => crate::accounts::Civility::parse(text)
                .map(Some)
                .ok_or_else(|| format!("[resident] civility: `{text}` is neither M nor Mme")),
        }
    }

    /// The resident's identifier: `prenom.nom`, in ASCII.
    pub fn identifier(&self) -> String {
        let name = format!(
            "{}.{}",
            self.resident.first_name.trim(),
            self.resident.last_name.trim()
        );
        deunicode::deunicode(&name)
            .to_lowercase()
            .chars()
            .filter(|character| character.is_ascii_alphanumeric() || matches!(character, '.' | '-'))
            .collect()
    }
}

/// What the command line asks for.
#[derive(Debug, Clone)]
pub struct PreviewOptions {
    pub file: PathBuf,
    pub sample: Option<PathBuf>,
    pub port: u16,
}

/// Serves the preview until Ctrl+C, reloading the module when its file
/// changes, and starting again from the sample data when the sample file
/// does. `announce` is told each time a build is served.
pub async fn run(
    config_file: &ConfigFile,
    options: &PreviewOptions,
    announce: impl Fn(&Served) + Send + Sync + Clone + 'static,
) -> Result<(), AuthoringError> {
    let sample_path = options
        .sample
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SAMPLE));
    let mut sample = Sample::read(options.sample.as_deref())?;
    let mut scratch = tempfile::tempdir().map_err(AuthoringError::file(std::env::temp_dir()))?;
    let mut config = preview_config(config_file, scratch.path(), options.port)?;
    let mut seeded = false;
    let watched = [options.file.clone(), sample_path.clone()];
    loop {
        let stamps: Vec<Stamp> = watched.iter().map(|path| stamp(path)).collect();
        let bytes = std::fs::read(&options.file).map_err(AuthoringError::file(&options.file))?;
        let app = App::open(config.clone(), Mode::Preview).await?;
        // Whether the next round starts from an empty database.
        let mut afresh = false;
        let changed = match load(&app, &bytes, &sample, &mut seeded).await {
            Ok(served) => {
                let changed = Arc::new(AtomicUsize::new(usize::MAX));
                let watch_changed = changed.clone();
                let watch = watched.clone();
                let watch_stamps = stamps.clone();
                let announce = announce.clone();
                app.serve(move |_, shutdown| {
                    announce(&served);
                    tokio::spawn(async move {
                        let which = wait_for_change(&watch, &watch_stamps).await;
                        watch_changed.store(which, Ordering::SeqCst);
                        shutdown.notify();
                    });
                })
                .await
                .map_err(|error| AuthoringError::Host(error.to_string()))?;
                match changed.load(Ordering::SeqCst) {
                    usize::MAX => return Ok(()),
                    which => which,
                }
            }
            Err(problem) => {
                eprintln!("{}: {problem}", options.file.display());
                eprintln!(
                    "Waiting for a new build of {} or a change of {}…",
                    options.file.display(),
                    sample_path.display()
                );
                // The sample may be half written: start again from nothing.
                afresh = !seeded;
                wait_for_change(&watched, &stamps).await
            }
        };
        drop(app);
        if changed == 0 {
            eprintln!("{} changed: reloading the module…", options.file.display());
        } else {
            match Sample::read(options.sample.as_deref()) {
                Ok(read) => {
                    eprintln!(
                        "{} changed: starting again from the sample data…",
                        sample_path.display()
                    );
                    sample = read;
                    afresh = true;
                }
                Err(error) => eprintln!("{error} (the previous sample data stay)"),
            }
        }
        if afresh {
            scratch = tempfile::tempdir().map_err(AuthoringError::file(std::env::temp_dir()))?;
            config = preview_config(config_file, scratch.path(), options.port)?;
            seeded = false;
        }
    }
}

/// What a preview serves, for the banner.
#[derive(Debug, Clone)]
pub struct Served {
    pub module_id: String,
    pub name: String,
    pub version: String,
    pub url: String,
    pub identifier: String,
    pub password: &'static str,
}

fn preview_config(file: &ConfigFile, scratch: &Path, port: u16) -> Result<Config, AuthoringError> {
    let mut config = Config::load_over(Config::demo_defaults(), file)
        .map_err(|error| AuthoringError::Startup(error.into()))?;
    config.database_url = format!("sqlite://{}", scratch.join("apercu.sqlite").display());
    config.base_domain = "localhost".to_owned();
    // The mailbox and a resident with a known password: this machine only,
    // whatever the configuration says.
    config.address = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    config.port = port;
    config.public_port = Some(port);
    config.smtp_url = None;
    // Served over plain HTTP on this machine: cookies and links say so.
    config.public_scheme = crate::config::PublicScheme::Http;
    config.allow_unsigned_modules = true;
    // Compiled code is sealed with the secret key, new at each preview:
    // kept for this preview only (its reloads reuse it).
    config.module_cache_dir = scratch.join("modules");
    let mut key = [0u8; 32];
    rand::fill(&mut key);
    config.secret_key = Some(base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        key,
    ));
    Ok(config)
}

/// Publishes this build in place of the previous one, enables it in the
/// preview town, and the first time seeds the sample data.
async fn load(
    app: &App,
    bytes: &[u8],
    sample: &Sample,
    seeded: &mut bool,
) -> Result<Served, String> {
    let sha256 = registry::sha256_hex(bytes);
    let (_, manifest) = registry::inspect(app.modules.host(), &sha256, bytes)
        .await
        .map_err(|error| error.to_string())?;
    forget_previous_builds(app, &manifest.id)
        .await
        .map_err(|error| format!("the preview database: {error}"))?;
    let published = app
        .modules
        .publish(bytes)
        .await
        .map_err(|error| error.to_string())?;
    let definition = town_definition(&published.manifest, sample)?;
    app.apply_towns(std::slice::from_ref(&definition))
        .await
        .map_err(|error| error.to_string())?;
    let identifier = sample.identifier();
    if !*seeded {
        seed(app, sample, &identifier, &published.manifest.id)
            .await
            .map_err(|error| format!("the sample data: {error:#}"))?;
        *seeded = true;
    }
    Ok(Served {
        module_id: published.manifest.id.clone(),
        name: published.manifest.name.clone(),
        version: published.manifest.version.clone(),
        url: format!("http://{SLUG}.localhost:{}/", app.config.port),
        identifier,
        password: PASSWORD,
    })
}

/// This database is the preview's: the previous build of the module (same
/// version, other bytes) goes, with the town's pin to it; what the module
/// stored stays.
async fn forget_previous_builds(app: &App, module_id: &str) -> Result<(), sea_orm::DbErr> {
    town_module::Entity::delete_many()
        .filter(town_module::Column::ModuleId.eq(module_id))
        .exec(&app.db)
        .await?;
    module_release::Entity::delete_many()
        .filter(module_release::Column::ModuleId.eq(module_id))
        .filter(module_release::Column::Publisher.ne(Publisher::Guichet.as_str()))
        .exec(&app.db)
        .await?;
    Ok(())
}

/// The preview town's `tenant.toml`, as a town folder would hold it.
fn town_definition(
    manifest: &crate::modules::Manifest,
    sample: &Sample,
) -> Result<crate::towns::TownDefinition, String> {
    let mut module = toml::Table::new();
    module.insert("id".to_owned(), manifest.id.clone().into());
    module.insert(
        "version".to_owned(),
        format!("={}", manifest.version).into(),
    );
    module.insert(
        "config".to_owned(),
        toml::Value::Table(sample.config.clone()),
    );
    let mut mail = toml::Table::new();
    mail.insert("sender_name".to_owned(), sample.town.name.clone().into());
    mail.insert(
        "sender_address".to_owned(),
        "ne-pas-repondre@apercu.localhost".into(),
    );
    let mut table = toml::Table::new();
    table.insert("display_name".to_owned(), sample.town.name.clone().into());
    table.insert("theme".to_owned(), "default".into());
    table.insert("timezone".to_owned(), "Europe/Paris".into());
    table.insert("mail".to_owned(), toml::Value::Table(mail));
    table.insert(
        "modules".to_owned(),
        toml::Value::Array(vec![toml::Value::Table(module)]),
    );
    let text = toml::to_string(&table).map_err(|error| error.to_string())?;
    assemble(&TownFiles {
        folder_slug: SLUG.to_owned(),
        definition: TownFile {
            name: "tenant".to_owned(),
            origin: "(preview) apercu/tenant.toml".to_owned(),
            text,
        },
        terms: Vec::new(),
        news: Vec::new(),
        pages: Vec::new(),
    })
    .map_err(|error| error.to_string())
}

/// The sample resident, household and storage.
async fn seed(app: &App, sample: &Sample, identifier: &str, module_id: &str) -> anyhow::Result<()> {
    let tenant = app
        .tenants
        .find_by_slug(SLUG)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the preview town was not created"))?;
    let resident = &sample.resident;
    let civility = sample.civility().map_err(|error| anyhow::anyhow!(error))?;
    let hasher = crate::accounts::PasswordHasher::new(1, &app.secret_key)?;
    let password_hash = hasher.hash(PASSWORD).await?;
    let account = crate::demo::insert_ready_resident(
        app,
        &tenant,
        &crate::demo::ReadyResident {
            identifier,
            email: &resident.email,
            civility,
            first_name: &resident.first_name,
            last_name: &resident.last_name,
            address: resident.address.as_deref(),
            last_login: None,
        },
        &password_hash,
    )
    .await?;
    let today = chrono::Utc::now().date_naive();
    for (index, member) in sample.household.iter().enumerate() {
        let input = crate::households::MemberInput {
            first_name: member.first_name.clone(),
            last_name: member.last_name.clone(),
            birth_date: member.birth_date.clone(),
            relation: member.relation.clone(),
            external_ref: None,
        }
        .validate(today)
        .map_err(|errors| anyhow::anyhow!("[[household]] number {}: {errors:?}", index + 1))?;
        app.households
            .add(tenant.scope(), account.id, input)
            .await?;
    }
    let transaction = crate::db::begin_write(&app.db).await?;
    let town = DataScope::town(&tenant, module_id);
    let mine = DataScope::resident(&tenant, module_id, account.id);
    for (scope, entries, name) in [
        (&town, &sample.storage.town, "[storage.town]"),
        (&mine, &sample.storage.resident, "[storage.resident]"),
    ] {
        for (key, value) in entries {
            let json = json_of(value).to_string();
            storage::write(&transaction, scope, key, Some(&json))
                .await
                .map_err(|error| anyhow::anyhow!("{name} `{key}`: {error}"))?;
        }
    }
    transaction.commit().await?;
    Ok(())
}

/// A TOML value as the JSON a module reads (dates and times as their
/// text).
fn json_of(value: &toml::Value) -> serde_json::Value {
    match value {
        toml::Value::String(text) => text.clone().into(),
        toml::Value::Integer(number) => (*number).into(),
        toml::Value::Float(number) => serde_json::Number::from_f64(*number)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        toml::Value::Boolean(flag) => (*flag).into(),
        toml::Value::Datetime(datetime) => datetime.to_string().into(),
        toml::Value::Array(items) => items.iter().map(json_of).collect(),
        toml::Value::Table(table) => table
            .iter()
            .map(|(key, value)| (key.clone(), json_of(value)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
    }
}

/// When a file was last written, and its size (none: absent).
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

/// Returns the index of the first file that differs from its stamp in
/// `seen` and has stopped changing (a build writes in several steps).
async fn wait_for_change(paths: &[PathBuf], seen: &[Stamp]) -> usize {
    loop {
        tokio::time::sleep(POLL).await;
        for (index, (path, seen)) in paths.iter().zip(seen).enumerate() {
            let now = stamp(path);
            // A file that went away is being rebuilt (or was removed on
            // purpose: the sample data stay as they were).
            if now.is_some() && now != *seen {
                tokio::time::sleep(POLL).await;
                if stamp(path) == now {
                    return index;
                }
            }
        }
    }
}
