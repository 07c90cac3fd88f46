//! `guichet demo`: the demo towns, from `tenants/` when run from the
//! repository, else from the copy built into the binary.

use std::path::Path;

use crate::app::App;
use crate::config::{Config, DEMO_DIR};

use rust_embed::RustEmbed;

use crate::franceconnect::{FranceConnect, FranceConnectSettings};
use crate::towns::{LoadError, TownDefinition, TownFile, TownFiles, assemble, load_definitions};

#[derive(RustEmbed)]
#[folder = "../tenants/"]
#[include = "*/tenant.toml"]
#[include = "*/terms/*.md"]
#[include = "*/news/*.md"]
#[include = "*/pages/*.md"]
struct EmbeddedTenants;

/// The definitions of the demo towns.
pub fn town_definitions(dir: &Path) -> Result<Vec<TownDefinition>, LoadError> {
    if dir.is_dir() {
        return load_definitions(dir);
    }
    let mut files: Vec<String> = EmbeddedTenants::iter()
        .map(|path| path.into_owned())
        .collect();
    files.sort();
    let read = |path: &str, name: &str| TownFile {
        name: name.to_owned(),
        origin: format!("(built-in) tenants/{path}"),
        text: EmbeddedTenants::get(path)
            .map(|file| String::from_utf8_lossy(&file.data).into_owned())
            .unwrap_or_default(),
    };
    files
        .iter()
        .filter_map(|path| path.strip_suffix("/tenant.toml").map(|slug| (slug, path)))
        .map(|(slug, path)| {
            let in_folder = |folder: &str| {
                let prefix = format!("{slug}/{folder}/");
                files
                    .iter()
                    .filter_map(|file| {
                        let name = file.strip_prefix(&prefix)?.strip_suffix(".md")?;
                        Some(read(file, name))
                    })
                    .collect::<Vec<_>>()
            };
            assemble(&TownFiles {
                folder_slug: slug.to_owned(),
                definition: read(path, "tenant"),
                terms: in_folder("terms"),
                news: in_folder("news"),
                pages: in_folder("pages"),
            })
        })
        .collect()
}

/// The demo resident's credentials, printed by `guichet demo`.
#[derive(Debug, Clone)]
pub struct DemoResident {
    pub identifier: String,
    pub password: String,
}

/// Michel ARPEGE's password in the demo: long enough for every demo town's
/// rule, in none of their blocklists.
const DEMO_PASSWORD: &str = "arpege-demo-2020";

/// Makes sure every demo town has the seed's resident, Michel ARPEGE,
/// active, with a known password, and — as in the seed's screenshot — a
/// last login on 15/06/2020 at 12:55.
pub async fn ensure_residents(
    app: &App,
    definitions: &[TownDefinition],
) -> anyhow::Result<DemoResident> {
    use chrono::TimeZone as _;
    use sea_orm::{ColumnTrait as _, QueryFilter as _};

    use crate::accounts::entity::account::{self, Civility};

    let identifier = "michel.arpege";
    let hasher = crate::accounts::PasswordHasher::new(1, &app.secret_key)?;
    let password_hash = hasher.hash(DEMO_PASSWORD).await?;
    for town in definitions {
        let Some(tenant) = app.tenants.find_by_slug(&town.definition.slug).await? else {
            continue;
        };
        let scope = tenant.scope();
        let exists = scope
            .select::<account::Entity>()
            .filter(account::Column::Identifier.eq(identifier))
            .one(&app.db)
            .await?
            .is_some();
        if exists {
            continue;
        }
        let last_login = tenant
            .timezone
            .with_ymd_and_hms(2020, 6, 15, 12, 55, 0)
            .single()
            .map(|at| at.with_timezone(&chrono::Utc));
        let email = format!("michel.arpege@{}.example.fr", tenant.slug);
        let michel = insert_ready_resident(
            app,
            &tenant,
            &ReadyResident {
                identifier,
                email: &email,
                civility: Some(Civility::Monsieur),
                first_name: "Michel",
                last_name: "ARPEGE",
                address: Some("10 LA RUE CREUSE"),
                last_login,
            },
            &password_hash,
        )
        .await?;
        household_and_invoices(app, &tenant, michel.id).await?;
    }
    Ok(DemoResident {
        identifier: identifier.to_owned(),
        password: DEMO_PASSWORD.to_owned(),
    })
}

/// A resident who can log in at once: active, with a password already
/// chosen (no activation mail, no forced change).
#[derive(Debug)]
pub struct ReadyResident<'a> {
    pub identifier: &'a str,
    pub email: &'a str,
    pub civility: Option<crate::accounts::Civility>,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub address: Option<&'a str>,
    pub last_login: Option<chrono::DateTime<chrono::Utc>>,
}

/// Inserts a [`ReadyResident`] (the demo's Michel ARPEGE, a module
/// preview's sample resident), indexed for the staff's search.
pub async fn insert_ready_resident(
    app: &App,
    tenant: &crate::tenancy::Tenant,
    resident: &ReadyResident<'_>,
    password_hash: &str,
) -> anyhow::Result<crate::accounts::entity::account::Model> {
    use sea_orm::{ActiveModelTrait as _, ActiveValue::Set};

    use crate::accounts::entity::account::{self, AccountStatus};

    let scope = tenant.scope();
    let now = chrono::Utc::now();
    let email_key = resident.email.trim().to_lowercase();
    let model = account::ActiveModel {
        tenant_id: Set(scope.tenant_id().get()),
        identifier: Set(resident.identifier.to_owned()),
        email: Set(resident.email.to_owned()),
        email_key: Set(email_key),
        civility: Set(resident.civility),
        first_name: Set(resident.first_name.to_owned()),
        last_name: Set(resident.last_name.to_owned()),
        address: Set(resident.address.map(str::to_owned)),
        phone: Set(None),
        password_hash: Set(password_hash.to_owned()),
        password_is_temporary: Set(false),
        temporary_password_expires_at: Set(None),
        status: Set(AccountStatus::Active),
        created_at: Set(now),
        activated_at: Set(Some(now)),
        password_changed_at: Set(Some(now)),
        last_login_at: Set(resident.last_login),
        previous_login_at: Set(None),
        ..Default::default()
    }
    .insert(&app.db)
    .await?;
    crate::accounts::index_account(&app.db, scope, &model).await?;
    Ok(model)
}

/// Michel ARPEGE's household (Léa, and Hugo, under six: the invoices'
/// attestation fiscale), invoices pushed as the town's billing software
/// would, and a request, so that the demo's home page shows the seed's
/// screen filled.
async fn household_and_invoices(
    app: &App,
    tenant: &crate::tenancy::Tenant,
    account_id: i32,
) -> anyhow::Result<()> {
    use crate::modules::storage::{self, DataScope};

    let scope = tenant.scope();
    for (first_name, birth_date, external_ref) in [
        ("Léa", "2012-09-03", "ENF-0042"),
        ("Hugo", "2021-05-14", "ENF-0043"),
    ] {
        app.households
            .add(
                scope,
                account_id,
                crate::households::MemberInput {
                    first_name: first_name.to_owned(),
                    last_name: "ARPEGE".to_owned(),
                    birth_date: birth_date.to_owned(),
                    relation: "enfant".to_owned(),
                    external_ref: Some(external_ref.to_owned()),
                }
                .validate(chrono::Utc::now().date_naive())?,
            )
            .await?;
    }
    let transaction = crate::db::begin_write(&app.db).await?;
    if crate::modules::towns::enablements(tenant)
        .iter()
        .any(|module| module.id == "invoices")
    {
        let invoices = DataScope::resident(tenant, "invoices", account_id);
        let listed: Vec<serde_json::Value> = serde_json::from_str(DEMO_INVOICES)?;
        for value in listed {
            let number = value["number"].as_str().unwrap_or_default();
            storage::write(
                &transaction,
                &invoices,
                &format!("facture:{number}"),
                Some(&value.to_string()),
            )
            .await?;
        }
    }
    // Michel's quotient familial, as the town's software pushes it: the
    // bookings' prices come from his bracket of the tariff grid.
    if crate::modules::towns::enablements(tenant)
        .iter()
        .any(|module| module.id == "bookings")
    {
        storage::write(
            &transaction,
            &DataScope::resident(tenant, "bookings", account_id),
            "quotient",
            Some(r#"{"quotient": 650}"#),
        )
        .await?;
    }
    crate::requests::create(
        &transaction,
        scope,
        account_id,
        &crate::requests::NewRequest {
            kind: "attestation-residence".to_owned(),
            module_id: None,
            title: "Demander une attestation de résidence".to_owned(),
            details: vec![(
                "Message".to_owned(),
                "Pour l'inscription de Léa au conservatoire.".to_owned(),
            )],
        },
    )
    .await?;
    transaction.commit().await?;
    Ok(())
}

/// The billing software's invoices of Michel ARPEGE, in the invoices
/// module's format (modules/invoices/README.md). 2020 (the seed's): Léa's,
/// two paid, June's due. 2025, all paid (`payments`, line `kind`s): Hugo's
/// March (périscolaire, meals, a late pick-up, by card; his birth date on
/// the invoice), Léa's May (périscolaire and meals, by cheque: twelve on 1
/// January, no tax attestation), Hugo's July at the holiday centre (by two
/// direct debits; his birth date from the household), Hugo's December
/// (paid online on 8 January 2026: 2026's). One file for the demo and the
/// module's tests, which assert the 2025 attestations from it: fiscale
/// 137,20 € for Hugo, paiement 285,70 €.
const DEMO_INVOICES: &str = include_str!("../../modules/invoices/demo-invoices.json");

/// What the demo did about FranceConnect, for its banner.
#[derive(Debug)]
pub struct DemoFranceConnect {
    /// Running while the demo runs.
    pub provider: Option<crate::franceconnect::local_provider::LocalProvider>,
    /// One line for the banner, if any town asked for FranceConnect.
    pub note: Option<String>,
}

/// Starts the local OpenID provider for the towns whose FranceConnect
/// issuer is on this machine, points them at it, and gives the app their
/// (made-up) client secrets. When it cannot start, those towns go without
/// FranceConnect and the note says how to get it.
pub async fn start_franceconnect(
    app: &App,
    definitions: &mut [TownDefinition],
) -> DemoFranceConnect {
    use crate::franceconnect::local_provider::{LocalClient, LocalProvider, SCRIPT};

    let local = |town: &TownDefinition| {
        FranceConnect::declared(&town.definition)
            .filter(|settings| {
                settings.enabled
                    && url::Url::parse(&settings.issuer).is_ok_and(|issuer| {
                        matches!(issuer.host_str(), Some("127.0.0.1" | "localhost"))
                    })
            })
            .cloned()
    };
    let mut clients = Vec::new();
    for town in definitions.iter() {
        if let Some(settings) = local(town) {
            let slug = &town.definition.slug;
            let secret = crate::franceconnect::seal::random_token();
            app.franceconnect
                .give_secret(&settings.client_secret_env, &secret);
            clients.push(LocalClient {
                client_id: settings.client_id.clone(),
                client_secret: secret,
                redirect_uris: vec![app.franceconnect.callback_url(slug)],
                post_logout_redirect_uris: vec![app.franceconnect.logout_return_url(slug)],
            });
        }
    }
    if clients.is_empty() {
        return DemoFranceConnect {
            provider: None,
            note: None,
        };
    }
    // Points each local town at the provider, or turns FranceConnect off.
    let mut change = |edit: &dyn Fn(&mut FranceConnectSettings)| {
        let mut towns = Vec::new();
        for town in definitions.iter_mut() {
            if let Some(mut settings) = local(town) {
                edit(&mut settings);
                if let Err(error) = town.definition.set_section(&Some(settings)) {
                    tracing::error!(town = %town.definition.slug, %error, "cannot change the FranceConnect settings");
                }
                towns.push(town.definition.display_name.clone());
            }
        }
        towns
    };
    match LocalProvider::start(Path::new(SCRIPT), &clients).await {
        Ok(provider) => {
            let towns = change(&|settings| settings.issuer = provider.issuer.clone());
            let note = format!(
                "FranceConnect ({}): local OpenID provider at {}",
                towns.join(", "),
                provider.issuer
            );
            DemoFranceConnect {
                provider: Some(provider),
                note: Some(note),
            }
        }
        Err(error) => {
            change(&|settings| settings.enabled = false);
            DemoFranceConnect {
                provider: None,
                note: Some(format!(
                    "FranceConnect is off in this demo: the local OpenID provider cannot start: {error}"
                )),
            }
        }
    }
}

/// Where the local server in PayFiP's shape lives, from the repository's
/// root.
pub const PAYFIP_SCRIPT: &str = "tests/payfip/server.mjs";

/// What the demo did about online payment, for its banner.
#[derive(Debug)]
pub struct DemoPayFiP {
    /// Running while the demo runs.
    pub server: Option<crate::local_server::LocalServer>,
    pub note: Option<String>,
}

/// Starts the local server in PayFiP's shape for the towns that take
/// payments online, when the configuration keeps PayFiP's own address
/// (residents of a demo pay nothing real), and points `config` at it.
/// When it cannot start, those towns go without online payment and the
/// note says why.
pub async fn start_payfip(config: &mut Config, definitions: &mut [TownDefinition]) -> DemoPayFiP {
    use crate::payments::PaymentSection;

    let paying: Vec<(String, String)> = definitions
        .iter()
        .filter_map(|town| {
            let section = town.definition.section::<PaymentSection>();
            let numcli = section.numcli.clone()?;
            section
                .enabled
                .then(|| (numcli, town.definition.display_name.clone()))
        })
        .collect();
    if paying.is_empty() {
        return DemoPayFiP {
            server: None,
            note: None,
        };
    }
    let names = paying
        .iter()
        .map(|(_, name)| name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if config.payfip_url != crate::payments::payfip::DEFAULT_BASE_URL {
        return DemoPayFiP {
            server: None,
            note: Some(format!(
                "Online payment ({names}): PayFiP at {}",
                config.payfip_url
            )),
        };
    }
    let clients: Vec<serde_json::Value> = paying
        .iter()
        .map(|(numcli, name)| {
            serde_json::json!({
                "numcli": numcli,
                "libelle": format!("REGIE DE {}", crate::payments::payfip::object(name).to_uppercase()),
            })
        })
        .collect();
    let started = crate::local_server::LocalServer::start(
        Path::new(PAYFIP_SCRIPT),
        &[("CLIENTS", serde_json::Value::Array(clients).to_string())],
        None,
        "payments::local_payfip",
        |_| false,
    )
    .await;
    match started {
        Ok(server) => {
            config.payfip_url = format!("{}/tpa", server.url);
            let note = format!(
                "Online payment ({names}): local server in PayFiP's shape at {} (no money moves)",
                server.url
            );
            DemoPayFiP {
                server: Some(server),
                note: Some(note),
            }
        }
        Err(error) => {
            for town in definitions.iter_mut() {
                let mut section = town.definition.section::<PaymentSection>().clone();
                if section.enabled {
                    section.enabled = false;
                    if let Err(error) = town.definition.set_section(&section) {
                        tracing::error!(town = %town.definition.slug, %error, "cannot change the payment settings");
                    }
                }
            }
            DemoPayFiP {
                server: None,
                note: Some(format!(
                    "Online payment is off in this demo: the local PayFiP server cannot start: {error}"
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_towns_are_those_of_the_folder() {
        let built_in = town_definitions(Path::new("no-such-folder")).unwrap();
        let folder =
            load_definitions(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../tenants")).unwrap();
        assert_eq!(built_in.len(), folder.len());
        for (built_in, folder) in built_in.iter().zip(&folder) {
            assert_eq!(built_in.definition, folder.definition);
            let sources = |town: &TownDefinition| {
                town.terms
                    .iter()
                    .map(|file| (file.kind, file.source.clone()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(sources(built_in), sources(folder));
            assert!(!built_in.terms.is_empty());
        }
    }
}

/// One demo staff member's credentials, printed by `guichet demo`.
#[derive(Debug, Clone)]
pub struct DemoStaff {
    pub town: String,
    pub role: crate::staff::StaffRole,
    pub email: String,
    /// The TOTP secret in base32, for an authenticator app.
    pub secret: String,
}

/// The demo staff's password (every town, every role).
pub const DEMO_STAFF_PASSWORD: &str = "espace-agents-2026";

/// Makes sure every demo town has one staff member per role, logged in
/// with [`DEMO_STAFF_PASSWORD`] and a TOTP secret that is the same at every
/// run (derived from the town and role: a demo needs no secrecy, and an
/// authenticator app set up once keeps working). `/demo/codes` shows their
/// current codes.
pub async fn ensure_staff(
    app: &App,
    definitions: &[TownDefinition],
) -> anyhow::Result<Vec<DemoStaff>> {
    use sha2::{Digest as _, Sha256};

    use crate::staff::StaffRole;

    let people = [
        (StaffRole::Administrateur, ("Claire", "MARTIN")),
        (StaffRole::Gestionnaire, ("Paul", "BERNARD")),
        (StaffRole::Agent, ("Sophie", "PETIT")),
    ];
    let mut staff = Vec::new();
    for town in definitions {
        let Some(tenant) = app.tenants.find_by_slug(&town.definition.slug).await? else {
            continue;
        };
        for (role, names) in people {
            let email = format!("{}@{}.example.fr", role.as_str(), tenant.slug);
            let seed = Sha256::digest(format!(
                "guichet-demo-totp:{}:{}",
                tenant.slug,
                role.as_str()
            ));
            let secret = seed[..20].to_vec();
            app.staff
                .provision_ready_member(
                    &tenant,
                    &email,
                    names,
                    role,
                    DEMO_STAFF_PASSWORD,
                    Some(secret.clone()),
                )
                .await?;
            staff.push(DemoStaff {
                town: tenant.slug.clone(),
                role,
                email,
                secret: crate::staff::totp::base32(&secret),
            });
        }
    }
    Ok(staff)
}

/// What `guichet demo` keeps in [`DEMO_DIR`] from one run to the next: its
/// secret key (so that sessions, temporary passwords and the compiled
/// modules' cache outlive a restart), and the configuration it runs with,
/// written at each start for the commands run beside it with `--demo`.
#[derive(Debug, Clone)]
pub struct DemoFolder {
    dir: std::path::PathBuf,
}

impl DemoFolder {
    /// The folder under the working directory, as the demo's database.
    pub fn here() -> Self {
        Self {
            dir: std::path::PathBuf::from(DEMO_DIR),
        }
    }

    /// The demo's secret key: the one kept in `secret.key`, else a new one
    /// written there (readable by its owner only).
    pub fn secret_key(&self) -> anyhow::Result<String> {
        use anyhow::Context as _;
        use base64::Engine as _;
        let path = self.dir.join("secret.key");
        match std::fs::read_to_string(&path) {
            Ok(key) if !key.trim().is_empty() => return Ok(key.trim().to_owned()),
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(error).with_context(|| format!("cannot read {}", path.display()));
            }
        }
        let bytes: [u8; 32] = rand::RngExt::random(&mut rand::rng());
        let key = base64::engine::general_purpose::STANDARD.encode(bytes);
        write_private(&path, &format!("{key}\n"))?;
        Ok(key)
    }

    /// Writes `config` to [`crate::config::DEMO_CONFIG_PATH`], its paths made absolute so
    /// that `--config data/demo/guichet.toml` works from anywhere too.
    pub fn write_config(&self, config: &Config) -> anyhow::Result<()> {
        use anyhow::Context as _;
        let mut config = config.clone();
        let absolute =
            |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        if let Some(file) = config.sqlite_file() {
            let query = config
                .database_url
                .split_once('?')
                .map(|(_, query)| format!("?{query}"))
                .unwrap_or_default();
            config.database_url = format!("sqlite://{}{query}", absolute(&file).display());
        }
        config.themes_dir = absolute(&config.themes_dir);
        config.module_cache_dir = absolute(&config.module_cache_dir);
        let text = toml::to_string(&config).context("cannot write the demo's configuration")?;
        let text = format!(
            "# Written by `guichet demo` at each start: the running demo's configuration,\n\
             # read by the commands run beside it with --demo\n\
             # (`guichet --demo account create …`). Edit guichet.toml instead.\n{text}"
        );
        write_private(&self.dir.join("guichet.toml"), &text)
    }
}

/// Writes a file readable by its owner only (it holds the secret key).
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use std::io::Write as _;
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
    }
    let mut file = crate::private_file::create(path, crate::private_file::Existing::Replaced)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}
