//! The `guichet` command line.
//!
//! Error policy: commands return `anyhow::Result` (this is not the request
//! path); `main` prints the error chain as one sentence on stderr and exits
//! with status 1. Usage errors are clap's, with status 2.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use base64::Engine as _;
use clap::{Parser, Subcommand};
use rand::RngExt as _;

use crate::accounts::{Civility, NewAccount};
use crate::app::{App, Mode};
use crate::audit::Origin;
use crate::config::{Config, ConfigFile, LogFormat};
use crate::tenancy::ApplyOutcome;
use crate::terms::{PublishOutcome, TermsKind};
use crate::towns::{TownDefinition, load_definitions};

#[derive(Debug, Parser)]
#[command(
    name = "guichet",
    version,
    about = "Multi-tenant citizen portal for French municipalities"
)]
struct Cli {
    /// Configuration file (default: guichet.toml, or $GUICHET_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Act on the demo started from this folder (its database, key and
    /// links: data/demo/guichet.toml, written by `guichet demo`).
    #[arg(long, global = true, conflicts_with = "config")]
    demo: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve every town (migrates the database first).
    Serve,
    /// Run the demo: the demo towns on SQLite, at http://<town>.localhost:PORT.
    Demo {
        /// Port to listen on (default: the configured port, 8000).
        #[arg(long)]
        port: Option<u16>,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Manage towns.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage resident accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage terms of use (CGU).
    #[command(subcommand)]
    Terms(TermsCommand),
    /// Manage service modules (WebAssembly components).
    #[command(subcommand)]
    Module(ModuleCommand),
    /// Manage the data API keys of a town's back-office systems.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Manage a town's staff (the back-office at /admin).
    #[command(subcommand)]
    Staff(StaffCommand),
}

#[derive(Debug, Subcommand)]
enum StaffCommand {
    /// Invite a member of a town's staff: the mail's link (printed too)
    /// lets them choose a password and enrol their second factor.
    Invite {
        /// The town's slug.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        /// agent, gestionnaire or administrateur.
        #[arg(long)]
        role: String,
    },
}

#[derive(Debug, Subcommand)]
enum ModuleCommand {
    /// Create a module crate to start from: a tile, a page, a form and its
    /// action, storage, a configuration schema, unit tests, sample data.
    New {
        /// The module's id (lowercase letters, digits, hyphens).
        name: String,
        /// Where to create it (default: here). In a Guichet checkout's
        /// modules/ folder, it joins that workspace.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Guichet's module SDK (modules/sdk of a Guichet checkout); by
        /// default the checkout this binary was built from.
        #[arg(long, value_name = "PATH", conflicts_with = "sdk_version")]
        sdk: Option<PathBuf>,
        /// The SDK by version, from a registry that holds it (e.g. 0.2).
        #[arg(long, value_name = "VERSION")]
        sdk_version: Option<String>,
    },
    /// Run the publication checks on a component, without publishing it.
    Check {
        file: PathBuf,
        /// The signature file (default: FILE.minisig, if present).
        #[arg(long, value_name = "FILE")]
        signature: Option<PathBuf>,
    },
    /// Serve a module's tile, pages and forms on a local page with sample
    /// data; reloads when the file changes.
    Preview {
        file: PathBuf,
        /// The sample data (default: apercu.toml, if present).
        #[arg(long, value_name = "FILE")]
        sample: Option<PathBuf>,
        /// Port to listen on.
        #[arg(long, default_value_t = 8400)]
        port: u16,
    },
    /// Create a publisher's key pair (minisign format): PREFIX.key, PREFIX.pub.
    Keygen {
        /// Path and name of the two files, without extension.
        #[arg(long, value_name = "PREFIX", default_value = "guichet-module")]
        output: PathBuf,
    },
    /// Sign a component with a publisher's secret key: writes FILE.minisig.
    Sign {
        #[arg(long, value_name = "KEY")]
        key: PathBuf,
        file: PathBuf,
    },
    /// Check a component and its signature, and store it as a new release.
    Publish {
        file: PathBuf,
        /// The signature file (default: FILE.minisig, if present).
        #[arg(long, value_name = "FILE")]
        signature: Option<PathBuf>,
    },
    /// List the published releases.
    List,
    /// Move a town's modules to the newest release their requirement
    /// allows (a town keeps its release until then), and say what changes.
    Upgrade {
        #[arg(long)]
        tenant: String,
        /// Only this module.
        module: Option<String>,
        /// Say what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// What a town's modules store, against their quotas.
    Usage {
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Debug, Subcommand)]
enum ApiKeyCommand {
    /// Create a key (printed once) for a back-office system of a town.
    Create {
        #[arg(long)]
        tenant: String,
        /// Which system uses it, e.g. "Logiciel de facturation".
        #[arg(long)]
        name: String,
    },
    /// List a town's keys.
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Revoke a town's key, named by the first characters `list` shows.
    Revoke {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        prefix: String,
    },
}

#[derive(Debug, Subcommand)]
enum TermsCommand {
    /// Publish a Markdown file as the town's next terms version.
    Publish {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        file: PathBuf,
        /// A minor version: residents are told, not asked to accept again.
        #[arg(long)]
        minor: bool,
    },
    /// Export the town's acceptances as CSV (to stdout, or --output FILE).
    Export {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum AccountCommand {
    /// Create a resident account and send its activation mail.
    Create {
        /// The town's slug.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        first_name: String,
        #[arg(long)]
        last_name: String,
        /// M or Mme.
        #[arg(long)]
        civility: Option<String>,
        #[arg(long)]
        address: Option<String>,
        #[arg(long)]
        phone: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Create or update towns from DIR/tenant.toml or DIR/*/tenant.toml.
    Apply { dir: PathBuf },
    /// List the towns.
    List,
    /// Remove a town and every row it owns (residents, requests, documents,
    /// payments, staff, mail, journal, module data) in one transaction,
    /// after a confirmation naming what goes.
    Remove {
        /// The town's slug.
        slug: String,
        /// Write the town's rows to this ZIP file first (one JSON file per
        /// table); the town is removed only once it is written.
        #[arg(long, value_name = "FILE")]
        export: Option<PathBuf>,
        /// The folder towns are applied from: a town it still defines is
        /// not removed (the next `tenant apply` would create it again).
        #[arg(long, value_name = "DIR", default_value = "tenants")]
        folder: PathBuf,
        /// Remove it even though the folder above still defines it.
        #[arg(long)]
        despite_folder: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match rocket::execute(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let file = ConfigFile::from_cli_or_env(cli.config, cli.demo);
    if file.is_demo() && matches!(cli.command, Command::Demo { .. } | Command::Serve) {
        anyhow::bail!(
            "--demo is for the commands run beside a running demo, not for serve or demo"
        );
    }
    match cli.command {
        Command::Serve => serve(&file).await,
        Command::Demo { port } => demo(&file, port).await,
        Command::Migrate => migrate(&file).await,
        Command::Tenant(TenantCommand::Apply { dir }) => tenant_apply(&file, &dir).await,
        Command::Tenant(TenantCommand::List) => tenant_list(&file).await,
        Command::Tenant(TenantCommand::Remove {
            slug,
            export,
            folder,
            despite_folder,
            yes,
        }) => {
            let options = RemoveOptions {
                export,
                folder,
                despite_folder,
                yes,
            };
            tenant_remove(&file, &slug, &options).await
        }
        Command::Terms(TermsCommand::Publish {
            tenant,
            file: terms_file,
            minor,
        }) => terms_publish(&file, &tenant, &terms_file, minor).await,
        Command::Terms(TermsCommand::Export { tenant, output }) => {
            terms_export(&file, &tenant, output.as_deref()).await
        }
        Command::Module(ModuleCommand::Publish {
            file: wasm,
            signature,
        }) => module_publish(&file, &wasm, signature.as_deref()).await,
        Command::Module(ModuleCommand::New {
            name,
            dir,
            sdk,
            sdk_version,
        }) => {
            let sdk = match sdk_version {
                Some(version) => crate::authoring::scaffold::SdkSource::Version(version),
                None => crate::authoring::scaffold::SdkSource::Path(sdk),
            };
            module_new(&name, dir.as_deref(), &sdk)
        }
        Command::Module(ModuleCommand::Check {
            file: wasm,
            signature,
        }) => module_check(&file, &wasm, signature.as_deref()).await,
        Command::Module(ModuleCommand::Preview {
            file: wasm,
            sample,
            port,
        }) => module_preview(&file, wasm, sample, port).await,
        Command::Module(ModuleCommand::Keygen { output }) => module_keygen(&output),
        Command::Module(ModuleCommand::Sign { key, file: wasm }) => module_sign(&key, &wasm),
        Command::Module(ModuleCommand::List) => module_list(&file).await,
        Command::Module(ModuleCommand::Upgrade {
            tenant,
            module,
            dry_run,
        }) => module_upgrade(&file, &tenant, module.as_deref(), dry_run).await,
        Command::Module(ModuleCommand::Usage { tenant }) => module_usage(&file, &tenant).await,
        Command::ApiKey(command) => api_key(&file, command).await,
        Command::Staff(StaffCommand::Invite {
            tenant,
            email,
            role,
        }) => staff_invite(&file, &tenant, &email, &role).await,
        Command::Account(AccountCommand::Create {
            tenant,
            email,
            first_name,
            last_name,
            civility,
            address,
            phone,
        }) => {
            let civility = match civility.as_deref().map(Civility::parse) {
                None => None,
                Some(Some(civility)) => Some(civility),
                Some(None) => anyhow::bail!("--civility must be M or Mme"),
            };
            let new = NewAccount {
                email,
                first_name,
                last_name,
                civility,
                address,
                phone,
            };
            account_create(&file, &tenant, new).await
        }
    }
}

async fn serve(file: &ConfigFile) -> anyhow::Result<()> {
    let config = Config::load(file)?;
    config.require_secret_key()?;
    init_logging(&config);
    for doubt in config.public_url_doubts() {
        tracing::warn!("{doubt}");
    }
    for doubt in config.scheduling_doubts(kernel_autogroup(), crate::app::cores()) {
        tracing::warn!("{doubt}");
    }
    let app = App::open(config, Mode::Serve).await?;
    tracing::info!(themes = ?app.themes.files(), "themes loaded");
    let address = app.config.address;
    app.serve(move |port, _| tracing::info!(%address, port, "listening"))
        .await
        .context("the server stopped")?;
    Ok(())
}

/// Whether Linux schedules processes by session ("autogroups",
/// `kernel.sched_autogroup_enabled`); `None` where it cannot be read.
fn kernel_autogroup() -> Option<bool> {
    let value = std::fs::read_to_string("/proc/sys/kernel/sched_autogroup_enabled").ok()?;
    Some(value.trim() == "1")
}

async fn demo(file: &ConfigFile, port: Option<u16>) -> anyhow::Result<()> {
    let mut config = Config::load_over(Config::demo_defaults(), file)?;
    if let Some(port) = port {
        config.port = port;
    }
    if config.public_port.is_none() && config.port != 80 {
        config.public_port = Some(config.port);
    }
    // One key for every run from this folder: the sessions, the temporary
    // passwords of accounts created beside the demo and the compiled
    // modules' cache (signed with it) outlive a restart.
    let folder = crate::demo::DemoFolder::here();
    if config.secret_key.is_none() {
        config.secret_key = Some(folder.secret_key()?);
    }
    init_logging(&config);
    let mut definitions = crate::demo::town_definitions(std::path::Path::new("tenants"))?;
    // Kept until the demo stops, as FranceConnect's provider below.
    let payfip = crate::demo::start_payfip(&mut config, &mut definitions).await;
    let app = App::open(config, Mode::Demo).await?;
    // What `guichet --demo …` reads, written once the configuration is
    // known to work.
    folder.write_config(&app.config)?;
    // Kept until the demo stops: dropping it stops the provider.
    let franceconnect = crate::demo::start_franceconnect(&app, &mut definitions).await;
    apply(&app, &definitions).await?;
    let resident = crate::demo::ensure_residents(&app, &definitions).await?;
    let staff = crate::demo::ensure_staff(&app, &definitions).await?;

    let towns: Vec<(String, String)> = definitions
        .iter()
        .map(|town| {
            let town = &town.definition;
            (town.display_name.clone(), town.slug.clone())
        })
        .collect();
    let base_domain = app.config.base_domain.clone();
    let mailbox = app.config.smtp_url.is_none();
    let franceconnect_note = franceconnect.note.clone();
    let payfip_note = payfip.note.clone();
    app.serve(move |port, _| {
        // Written, not printed: a closed stdout must not stop the demo.
        let mut out = std::io::stdout().lock();
        let mut banner = vec!["Guichet demo is ready:".to_owned()];
        for (name, slug) in &towns {
            banner.push(format!("  {name:<24} http://{slug}.{base_domain}:{port}/"));
        }
        banner.push(format!(
            "Demo resident (every town): identifiant {}, mot de passe {}",
            resident.identifier, resident.password
        ));
        banner.push(format!(
            "Demo staff (http://<town>.{base_domain}:{port}/admin), mot de passe {} ; \
             codes TOTP du moment : http://<town>.{base_domain}:{port}/demo/codes",
            crate::demo::DEMO_STAFF_PASSWORD
        ));
        for member in &staff {
            banner.push(format!(
                "  {:<14} {:<40} secret TOTP {}",
                member.role.as_str(),
                member.email,
                member.secret
            ));
        }
        if mailbox {
            banner.push(format!(
                "Mail is kept in a local mailbox: http://<town>.{base_domain}:{port}/demo/courriels"
            ));
        }
        banner.push(
            "Commands beside the demo take --demo (in another terminal, from this folder): \
             guichet --demo account create --tenant villeneuve --email …"
                .to_owned(),
        );
        if let Some(note) = &franceconnect_note {
            banner.push(note.clone());
        }
        if let Some(note) = &payfip_note {
            banner.push(note.clone());
        }
        banner.push("Press Ctrl+C to stop.".to_owned());
        for line in banner {
            let _ = writeln!(out, "{line}");
        }
        let _ = out.flush();
    })
    .await
    .context("the server stopped")?;
    drop(franceconnect);
    drop(payfip);
    Ok(())
}

async fn migrate(file: &ConfigFile) -> anyhow::Result<()> {
    let config = Config::load(file)?;
    init_logging(&config);
    let db =
        crate::db::connect_with(&config.database_url, config.database_acquire_timeout()).await?;
    let applied = crate::db::migrate(&db).await?;
    println!("{applied} migration(s) applied; the database schema is up to date.");
    Ok(())
}

async fn tenant_apply(file: &ConfigFile, dir: &std::path::Path) -> anyhow::Result<()> {
    let definitions = load_definitions(dir)?;
    let app = open_app(file, Database::Created, Key::Ephemeral).await?;
    apply(&app, &definitions).await
}

async fn apply(app: &App, towns: &[TownDefinition]) -> anyhow::Result<()> {
    let applied = app.apply_towns(towns).await?;
    for town in towns.iter().map(|town| &town.definition) {
        if let Some(settings) = crate::franceconnect::FranceConnect::declared(town)
            .as_ref()
            .filter(|s| s.enabled)
            && !app.franceconnect.has_secret(settings)
        {
            eprintln!(
                "warning: town {}: FranceConnect needs its client secret in the environment \
                 variable {} (set it for `guichet serve`)",
                town.slug, settings.client_secret_env
            );
        }
    }
    for outcome in applied.towns {
        match outcome {
            ApplyOutcome::Created(slug) => println!("created   {slug}"),
            ApplyOutcome::Updated(slug) => println!("updated   {slug}"),
            ApplyOutcome::Unchanged(slug) => println!("unchanged {slug}"),
        }
    }
    for (slug, modules) in applied.modules {
        let list: Vec<String> = modules
            .iter()
            .map(|module| format!("{} {}", module.module_id, module.version))
            .collect();
        let list = if list.is_empty() {
            "none".to_owned()
        } else {
            list.join(", ")
        };
        println!("modules   {slug}: {list}");
    }
    // Edited in the back-office: the database's now (ARCHITECTURE.md, "Who
    // owns what").
    for (slug, kept) in applied.modules_kept {
        println!(
            "kept      {slug}: modules {} as edited in the back-office (tenant.toml left alone for them)",
            kept.join(", ")
        );
    }
    // Towns keep their releases: say where a newer one waits for them.
    for town in towns.iter().map(|town| &town.definition) {
        let Some(tenant) = app.tenants.find_by_slug(&town.slug).await? else {
            continue;
        };
        for change in app.modules.available_upgrades(&tenant).await? {
            println!(
                "available {}: {} {} (guichet module upgrade --tenant {} {})",
                town.slug, change.module_id, change.to.version, town.slug, change.module_id
            );
        }
    }
    // What the database owns is kept: say so, item by item.
    for (slug, item) in applied.left_alone {
        let why = match item.reason {
            crate::content::LeftAloneReason::EditedInBackOffice => "edited in the back-office",
            crate::content::LeftAloneReason::NotInFolder => "not in this folder",
        };
        println!("left alone {slug}: {} {} ({why})", item.kind, item.slug);
    }
    for (slug, outcome) in applied.terms {
        if let PublishOutcome::Published { number, kind } = outcome {
            println!(
                "published {slug} terms version {number} ({})",
                kind_name(kind)
            );
        }
    }
    Ok(())
}

fn kind_name(kind: TermsKind) -> &'static str {
    match kind {
        TermsKind::Major => "major",
        TermsKind::Minor => "minor",
    }
}

/// The town of `slug`, or an error that says how to list them.
async fn town(app: &App, slug: &str) -> anyhow::Result<crate::tenancy::Tenant> {
    app.tenants
        .find_by_slug(slug)
        .await?
        .with_context(|| format!("there is no town `{slug}` (see `guichet tenant list`)"))
}

async fn terms_publish(
    file: &ConfigFile,
    slug: &str,
    path: &std::path::Path,
    minor: bool,
) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let parsed = crate::terms::parse_terms_file(&text, &path.display().to_string())?;
    let kind = if minor { TermsKind::Minor } else { parsed.kind };
    let app = open_app(file, Database::Existing, Key::Ephemeral).await?;
    let tenant = town(&app, slug).await?;
    match app.terms.publish(&tenant, &parsed.source, kind).await? {
        PublishOutcome::Published { number, kind } => {
            println!(
                "published {slug} terms version {number} ({})",
                kind_name(kind)
            );
        }
        PublishOutcome::Unchanged { number } => {
            println!("unchanged: this text is already {slug} terms version {number}");
        }
    }
    Ok(())
}

async fn terms_export(
    file: &ConfigFile,
    slug: &str,
    output: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let app = open_app(file, Database::Existing, Key::Ephemeral).await?;
    let tenant = town(&app, slug).await?;
    let count = match output {
        Some(path) => {
            let out = std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            app.terms.export_csv(&tenant, out).await?
        }
        None => app.terms.export_csv(&tenant, std::io::stdout()).await?,
    };
    eprintln!("{count} acceptance(s) exported.");
    Ok(())
}

#[derive(Debug)]
struct RemoveOptions {
    export: Option<PathBuf>,
    folder: PathBuf,
    despite_folder: bool,
    yes: bool,
}

/// What the confirmation names first, by table: what an operator counts.
const REMOVAL_HEADLINE: &[(&str, &str)] = &[
    ("account", "residents' accounts"),
    ("household_member", "household members"),
    ("request", "requests"),
    ("issued_document", "documents"),
    ("payment", "payments"),
    ("staff_member", "staff members"),
    ("module_data", "module data entries"),
    ("mail_outbox", "mails"),
    ("audit_event", "journal events"),
];

async fn tenant_remove(
    file: &ConfigFile,
    slug: &str,
    options: &RemoveOptions,
) -> anyhow::Result<()> {
    let app = open_app(file, Database::Existing, Key::Ephemeral).await?;
    let tenant = town(&app, slug).await?;
    if !options.despite_folder && folder_defines(&options.folder, slug) {
        anyhow::bail!(
            "{}/ still defines the town `{slug}`: the next `guichet tenant apply {}` would create \
             it again, empty. Remove its folder first, or pass --despite-folder",
            options.folder.join(slug).display(),
            options.folder.display()
        );
    }
    if let Some(path) = &options.export
        && path.exists()
    {
        anyhow::bail!(
            "{} already exists: the export never overwrites a file",
            path.display()
        );
    }
    let counts = crate::tenancy::removal::count(&app.db, &tenant).await?;
    // Written whole, then printed: a lock on stdout must not be held
    // across the awaits below.
    let mut summary = format!(
        "Removing {} ({}) takes away, for good:\n",
        tenant.slug, tenant.display_name
    );
    for (table, noun) in REMOVAL_HEADLINE {
        summary.push_str(&format!("  {noun:<24} {}\n", counts.of(table)));
    }
    let tables = counts.rows.values().filter(|rows| **rows > 0).count();
    summary.push_str(&format!(
        "  {} rows in {tables} tables in all, and the town itself.\n",
        counts.total()
    ));
    match &options.export {
        Some(path) => summary.push_str(&format!(
            "Its rows are first written to {}.\n",
            path.display()
        )),
        None => summary.push_str("No export is written (--export FILE writes one first).\n"),
    }
    print!("{summary}");
    std::io::stdout().flush()?;
    if !options.yes {
        confirm_removal(slug)?;
    }
    let mut write_export = |bytes: Vec<u8>| -> std::io::Result<String> {
        let Some(path) = &options.export else {
            return Ok(String::new());
        };
        // Written in full and synced before the removal commits; readable
        // by its owner only (it holds residents' data and the hashes of
        // their passwords and tokens).
        let mut file = crate::private_file::create(path, crate::private_file::Existing::Refused)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        Ok(std::path::absolute(path)
            .unwrap_or_else(|_| path.clone())
            .display()
            .to_string())
    };
    let export: Option<&mut (dyn FnMut(Vec<u8>) -> std::io::Result<String> + Send)> =
        if options.export.is_some() {
            Some(&mut write_export)
        } else {
            None
        };
    let removed = crate::tenancy::removal::remove(&app.db, &tenant, export).await?;
    app.tenants.forget_resolved();
    let tables = removed
        .counts
        .rows
        .values()
        .filter(|rows| **rows > 0)
        .count();
    println!(
        "removed   {slug}: {} rows in {tables} tables, and the town",
        removed.counts.total()
    );
    if let (Some(path), Some(bytes)) = (&options.export, removed.export_bytes) {
        println!("exported  {} ({})", path.display(), human_bytes(bytes));
    }
    Ok(())
}

/// Whether the folder towns are applied from still holds `slug`'s
/// definition (as `DIR/<slug>/tenant.toml`, or `DIR/tenant.toml` naming it).
fn folder_defines(folder: &std::path::Path, slug: &str) -> bool {
    if folder
        .join(slug)
        .join(crate::tenancy::DEFINITION_FILE)
        .is_file()
    {
        return true;
    }
    load_definitions(folder)
        .is_ok_and(|towns| towns.iter().any(|town| town.definition.slug == slug))
}

/// Asks for the slug on the terminal; refuses without one.
fn confirm_removal(slug: &str) -> anyhow::Result<()> {
    use std::io::IsTerminal as _;
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "not removed: no terminal to confirm on; pass --yes to remove without asking"
        );
    }
    print!("Type the town's slug ({slug}) to remove it: ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if answer.trim() != slug {
        anyhow::bail!("not removed: the answer was not `{slug}`");
    }
    Ok(())
}

async fn tenant_list(file: &ConfigFile) -> anyhow::Result<()> {
    let app = open_app(file, Database::Existing, Key::Ephemeral).await?;
    let towns = app.tenants.list().await?;
    if towns.is_empty() {
        println!("No town yet: add one with `guichet tenant apply DIR`.");
        return Ok(());
    }
    println!("{:<24} {:<32} {:<16} HOSTS", "SLUG", "NAME", "THEME");
    for town in towns {
        let mut hosts = vec![format!("{}.{}", town.slug, app.config.base_domain)];
        hosts.extend(town.hostnames);
        println!(
            "{:<24} {:<32} {:<16} {}",
            town.slug,
            town.display_name,
            town.theme,
            hosts.join(", ")
        );
    }
    Ok(())
}

async fn account_create(file: &ConfigFile, slug: &str, new: NewAccount) -> anyhow::Result<()> {
    // The temporary password is an HMAC keyed by the server's key: with
    // another key, the server could not check it.
    let app = open_app(file, Database::Existing, Key::Server).await?;
    let tenant = town(&app, slug).await?;
    let origin = Origin {
        ip: None,
        user_agent: Some("guichet account create".to_owned()),
    };
    let created = app.accounts.create(&tenant, new, &origin).await??;
    println!(
        "Account created in {}: identifier {}",
        tenant.slug, created.identifier
    );
    println!(
        "The activation mail (with the temporary password) is queued: {}",
        mail_fate(&app, &tenant)
    );
    Ok(())
}

/// What happens to a mail a command queued: said as it is, since the
/// command itself sends nothing (the servers' outbox worker does).
fn mail_fate(app: &App, tenant: &crate::tenancy::Tenant) -> String {
    match (app.mode, &app.config.smtp_url) {
        (Mode::Demo, None) => format!(
            "the demo shows it in its mailbox (while it runs), {}",
            app.mailer.links().town_url(tenant, "/demo/courriels")
        ),
        (Mode::Demo, Some(_)) => {
            "the demo sends it through its smtp_url (while it runs).".to_owned()
        }
        (_, Some(_)) => "the servers on this database (`guichet serve`) send it; \
                         it waits in the outbox until one runs."
            .to_owned(),
        (_, None) => "no smtp_url is configured here; it waits in the outbox until a \
                      `guichet serve` with smtp_url runs on this database."
            .to_owned(),
    }
}

async fn staff_invite(
    file: &ConfigFile,
    slug: &str,
    email: &str,
    role: &str,
) -> anyhow::Result<()> {
    let role = crate::staff::StaffRole::parse(role)
        .context("--role must be agent, gestionnaire or administrateur")?;
    let app = open_app(file, Database::Existing, Key::Ephemeral).await?;
    let tenant = town(&app, slug).await?;
    let origin = Origin {
        ip: None,
        user_agent: Some("guichet staff invite".to_owned()),
    };
    let invited = match app
        .staff
        .invite(&tenant, email, role, crate::audit::Actor::System, &origin)
        .await?
    {
        Ok(invited) => invited,
        Err(crate::staff::InviteRefused::InvalidEmail) => {
            anyhow::bail!("--email `{email}` is not an e-mail address")
        }
        Err(crate::staff::InviteRefused::AlreadyMember) => {
            anyhow::bail!(
                "{email} is already a member of the staff of {}",
                tenant.slug
            )
        }
    };
    println!(
        "Invitation queued for {email} ({}) in {}; the link works once, for {} hours:",
        role.as_str(),
        tenant.slug,
        crate::staff::INVITATION_VALIDITY_HOURS
    );
    println!("{}", invited.link);
    println!(
        "The invitation mail is queued: {}",
        mail_fate(&app, &tenant)
    );
    Ok(())
}

/// A component and its signature file (named, else beside it, if any).
fn release_files(
    path: &std::path::Path,
    signature_file: Option<&std::path::Path>,
) -> anyhow::Result<(Vec<u8>, Option<String>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let signature = crate::authoring::signing::read_signature(path, signature_file)?;
    Ok((bytes, signature))
}

async fn module_publish(
    file: &ConfigFile,
    path: &std::path::Path,
    signature_file: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let (bytes, signature) = release_files(path, signature_file)?;
    let app = open_app(file, Database::Created, Key::Ephemeral).await?;
    let trust = app.config.publisher_trust()?;
    let published = app
        .modules
        .publish_signed(&bytes, signature.as_deref(), &trust)
        .await
        .with_context(|| format!("{} cannot be published", path.display()))?;
    let manifest = &published.manifest;
    if published.already {
        println!(
            "unchanged: {} {} is already published with these bytes",
            manifest.id, manifest.version
        );
    } else {
        println!(
            "published {} {} ({}), sha256 {}",
            manifest.id, manifest.version, manifest.name, published.sha256
        );
    }
    let tiles: Vec<&str> = manifest
        .tiles
        .iter()
        .map(|tile| tile.title.as_str())
        .collect();
    println!("  tiles: {}", tiles.join(", "));
    let capabilities: Vec<String> = manifest
        .capabilities
        .iter()
        .map(crate::modules::capability_name)
        .collect();
    println!("  capabilities: {}", capabilities.join(", "));
    println!(
        "  publisher: {}",
        crate::modules::registry::publisher_label(
            published.publisher,
            published.publisher_name.as_deref()
        )
    );
    println!(
        "Towns use it once their tenant.toml names it and `guichet tenant apply` runs; \
         a town already using an older release keeps it until `guichet module upgrade --tenant SLUG`."
    );
    Ok(())
}

fn module_new(
    name: &str,
    dir: Option<&std::path::Path>,
    sdk: &crate::authoring::scaffold::SdkSource,
) -> anyhow::Result<()> {
    let parent = dir.unwrap_or_else(|| std::path::Path::new("."));
    let made = crate::authoring::scaffold::new_module(name, parent, sdk)?;
    println!(
        "created {} (module `{}`)",
        made.dir.display(),
        made.module_id
    );
    if made.in_workspace {
        println!(
            "  added to the members of modules/Cargo.toml: run `cargo update -w` in modules/ once, for its Cargo.lock (Guichet's build uses it --locked)"
        );
    }
    println!("Next:");
    println!("  cd {}", made.dir.display());
    println!("  cargo test                                     # its unit tests");
    println!("  cargo build --release --target wasm32-wasip2   # the component");
    println!("  guichet module check {}", made.wasm.display());
    println!(
        "  guichet module preview {}   # on http://apercu.localhost:8400/",
        made.wasm.display()
    );
    Ok(())
}

async fn module_check(
    file: &ConfigFile,
    path: &std::path::Path,
    signature_file: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let config = Config::load(file)?;
    init_logging(&config);
    let (bytes, signature) = release_files(path, signature_file)?;
    let trust = config.publisher_trust()?;
    let (host, _scratch) = crate::authoring::standalone_host(&config).await?;
    let report = crate::authoring::check::check(&host, &bytes, signature.as_deref(), &trust).await;
    println!(
        "{}: {} KiB (at most {} KiB)",
        path.display(),
        report.size.div_ceil(1024),
        crate::modules::registry::MAX_COMPONENT_BYTES / 1024
    );
    if let Some(interface) = report.interface {
        println!("  interface: guichet:module@{interface}");
    }
    if let Some(manifest) = &report.manifest {
        println!(
            "  module: {} {} ({})",
            manifest.id, manifest.version, manifest.name
        );
        for tile in &manifest.tiles {
            println!("  tile: {} ({})", tile.title, tile.id);
        }
        for action in &manifest.actions {
            println!("  action: {} -> view {}", action.id, action.view);
        }
        for document in &manifest.documents {
            println!("  document: {} ({})", document.title, document.id);
        }
        if manifest.capabilities.is_empty() {
            println!("  capabilities: none (it reaches nothing beyond its configuration)");
        }
        for capability in &manifest.capabilities {
            println!(
                "  capability {}: towns read \"{}\"",
                crate::modules::capability_name(capability),
                capability.reach()
            );
        }
    }
    println!("  signature: {}", report.signature);
    if report.problems.is_empty() {
        println!("ok: nothing stops its publication");
        return Ok(());
    }
    for problem in &report.problems {
        println!("problem: {problem}");
    }
    anyhow::bail!(
        "{} problem(s) would stop the publication of {}",
        report.problems.len(),
        path.display()
    )
}

async fn module_preview(
    file: &ConfigFile,
    wasm: PathBuf,
    sample: Option<PathBuf>,
    port: u16,
) -> anyhow::Result<()> {
    let options = crate::authoring::preview::PreviewOptions {
        file: wasm,
        sample,
        port,
    };
    let config = Config::load_over(Config::demo_defaults(), file)?;
    init_logging(&config);
    crate::authoring::preview::run(file, &options, |served| {
        println!(
            "Preview of {} {} ({}): {}",
            served.module_id, served.version, served.name, served.url
        );
        println!(
            "  resident: identifiant {}, mot de passe {}",
            served.identifier, served.password
        );
        println!("  mail sent: {}demo/courriels", served.url);
        println!("Rebuild the module and the page serves the new build; Ctrl+C stops.");
    })
    .await?;
    Ok(())
}

fn module_keygen(output: &std::path::Path) -> anyhow::Result<()> {
    let pair = crate::authoring::signing::keygen(output)?;
    println!(
        "secret key: {} (keep it private: it signs as you)",
        pair.secret.display()
    );
    println!(
        "public key: {} (key id {})",
        pair.public.display(),
        pair.key.id
    );
    println!("  {}", pair.key.encoded());
    println!("An operator trusts your releases with, in guichet.toml:");
    println!(
        "  module_publishers = {{ \"your-name\" = \"{}\" }}",
        pair.key.encoded()
    );
    Ok(())
}

fn module_sign(key: &std::path::Path, wasm: &std::path::Path) -> anyhow::Result<()> {
    let (signature, public) = crate::authoring::signing::sign(key, wasm)?;
    println!(
        "signed {} with key {}: {}",
        wasm.display(),
        public.id,
        signature.display()
    );
    Ok(())
}

async fn module_list(file: &ConfigFile) -> anyhow::Result<()> {
    let app = open_app(file, Database::Existing, Key::Ephemeral).await?;
    let releases = app.modules.releases().await?;
    if releases.is_empty() {
        println!("No module yet: publish one with `guichet module publish FILE.wasm`.");
        return Ok(());
    }
    println!(
        "{:<24} {:<10} {:<10} {:<24} {:<16} PUBLISHED",
        "MODULE", "VERSION", "INTERFACE", "PUBLISHER", "SHA256"
    );
    for release in releases {
        println!(
            "{:<24} {:<10} {:<10} {:<24} {:<16} {}",
            release.module_id,
            release.version,
            release.interface,
            release.publisher_label(),
            release.sha256.get(..16).unwrap_or(&release.sha256),
            release.published_at.format("%Y-%m-%d %H:%M UTC")
        );
    }
    Ok(())
}

async fn module_upgrade(
    file: &ConfigFile,
    slug: &str,
    module: Option<&str>,
    dry_run: bool,
) -> anyhow::Result<()> {
    let app = open_app(file, Database::Existing, Key::Ephemeral).await?;
    let tenant = town(&app, slug).await?;
    let changes = app.modules.upgrade(&tenant, module, dry_run).await?;
    if changes.is_empty() {
        match module {
            Some(module) => println!(
                "unchanged {slug}: {module} is on the newest release its requirement allows"
            ),
            None => println!(
                "unchanged {slug}: every module is on the newest release its requirement allows"
            ),
        }
        return Ok(());
    }
    let verb = if dry_run { "would upgrade" } else { "upgraded" };
    for change in changes {
        let from = change
            .from
            .as_ref()
            .map_or("none".to_owned(), |from| from.version.clone());
        println!(
            "{verb} {slug} {}: {from} -> {}",
            change.module_id, change.to.version
        );
        let label = |facts: &crate::modules::towns::ReleaseFacts| {
            crate::modules::registry::publisher_label(
                facts.publisher,
                facts.publisher_name.as_deref(),
            )
        };
        let publisher = match &change.from {
            Some(from) if label(from) != label(&change.to) => {
                format!("{} -> {}", label(from), label(&change.to))
            }
            _ => label(&change.to),
        };
        println!("  publisher: {publisher}");
        let list = |capabilities: Vec<String>| {
            if capabilities.is_empty() {
                "none".to_owned()
            } else {
                capabilities.join(", ")
            }
        };
        println!(
            "  capabilities added: {}",
            list(change.capabilities_added())
        );
        println!(
            "  capabilities removed: {}",
            list(change.capabilities_removed())
        );
    }
    if dry_run {
        println!("Nothing changed: run it again without --dry-run to upgrade.");
    }
    Ok(())
}

async fn module_usage(file: &ConfigFile, slug: &str) -> anyhow::Result<()> {
    let app = open_app(file, Database::Existing, Key::Ephemeral).await?;
    let tenant = town(&app, slug).await?;
    let usage = app.modules.storage_usage(&tenant).await?;
    if usage.is_empty() {
        println!("No module stores anything for {slug} yet.");
        return Ok(());
    }
    println!(
        "{:<24} {:>10} {:>10} {:>5} {:>8} {:>9} {:>10} {:>14}",
        "MODULE", "STORED", "QUOTA", "USED", "ENTRIES", "RESIDENTS", "LARGEST", "RESIDENT QUOTA"
    );
    for module in usage {
        println!(
            "{:<24} {:>10} {:>10} {:>4}% {:>8} {:>9} {:>10} {:>14}",
            module.module_id,
            human_bytes(module.bytes),
            human_bytes(module.quota.town_bytes),
            percent(module.bytes, module.quota.town_bytes),
            module.entries,
            module.residents,
            human_bytes(module.largest_resident_bytes),
            human_bytes(module.quota.resident_bytes),
        );
    }
    println!(
        "STORED counts keys and values plus 64 bytes per entry; LARGEST is the resident who stores the most."
    );
    Ok(())
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS.get(unit).copied().unwrap_or("GiB"))
    }
}

fn percent(part: u64, whole: u64) -> u64 {
    if whole == 0 {
        return 100;
    }
    u64::try_from(u128::from(part) * 100 / u128::from(whole)).unwrap_or(u64::MAX)
}

async fn api_key(file: &ConfigFile, command: ApiKeyCommand) -> anyhow::Result<()> {
    let app = open_app(file, Database::Existing, Key::Ephemeral).await?;
    let keys = crate::api::ApiKeys::new(app.db.clone());
    match command {
        ApiKeyCommand::Create { tenant, name } => {
            let tenant = town(&app, &tenant).await?;
            anyhow::ensure!(
                !name.trim().is_empty(),
                "--name must say which system uses the key"
            );
            let created = keys.create(&tenant, name.trim()).await?;
            println!("API key for {} ({}):", tenant.slug, created.key.name);
            println!("{}", created.secret);
            println!("It is shown only now: store it in the system that uses it.");
        }
        ApiKeyCommand::List { tenant } => {
            let tenant = town(&app, &tenant).await?;
            let list = keys.list(&tenant).await?;
            if list.is_empty() {
                println!("No API key for {}.", tenant.slug);
            }
            for key in list {
                let state = match (key.revoked_at, key.last_used_at) {
                    (Some(at), _) => format!("revoked {}", at.format("%Y-%m-%d")),
                    (None, Some(at)) => format!("last used {}", at.format("%Y-%m-%d %H:%M UTC")),
                    (None, None) => "never used".to_owned(),
                };
                println!("{:<12} {:<32} {state}", key.prefix, key.name);
            }
        }
        ApiKeyCommand::Revoke { tenant, prefix } => {
            let tenant = town(&app, &tenant).await?;
            match keys.revoke(&tenant, &prefix).await? {
                0 => anyhow::bail!(
                    "{} has no live key starting with `{prefix}` (see `guichet api-key list`)",
                    tenant.slug
                ),
                count => println!("{count} key(s) revoked."),
            }
        }
    }
    Ok(())
}

/// Whether a command may create the database it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Database {
    /// It sets one up (`tenant apply`, `module publish`): migrated if new.
    Created,
    /// It acts on towns that must exist: a SQLite file that does not is a
    /// mistaken path (or a demo's database named without --demo), refused
    /// rather than silently created empty.
    Existing,
}

/// What a command needs of the secret key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    /// Nothing it writes depends on the key: a random one will do.
    Ephemeral,
    /// It writes what the server checks with its key (a temporary
    /// password): the server's own, configured.
    Server,
}

/// Loads the configuration (with `--demo`, the running demo's) and opens
/// the app, as every command that touches data does.
async fn open_app(file: &ConfigFile, database: Database, key: Key) -> anyhow::Result<App> {
    let config = Config::load(file)?;
    init_logging(&config);
    if database == Database::Existing
        && let Some(path) = config.sqlite_file()
        && !path.exists()
    {
        let hint = if file.is_demo() {
            "start `guichet demo` from this folder first"
        } else if std::path::Path::new(crate::config::DEMO_CONFIG_PATH).is_file() {
            "to act on the demo started from this folder, add --demo (`guichet --demo …`)"
        } else {
            "check database_url, or create it with `guichet migrate` and `guichet tenant apply`"
        };
        anyhow::bail!("the database {} does not exist: {hint}", path.display());
    }
    let config = match key {
        Key::Ephemeral => with_ephemeral_key(config),
        Key::Server => {
            config.require_secret_key()?;
            config
        }
    };
    let mode = if file.is_demo() {
        Mode::Demo
    } else {
        Mode::Serve
    };
    Ok(App::open(config, mode).await?)
}

/// Commands that serve no page need no lasting secret key: they get a
/// random one when none is configured.
fn with_ephemeral_key(mut config: Config) -> Config {
    if config.secret_key.is_none() {
        let key: [u8; 32] = rand::rng().random();
        config.secret_key = Some(base64::engine::general_purpose::STANDARD.encode(key));
    }
    config
}

fn init_logging(config: &Config) {
    // `validate` already parsed the filter; fall back to `info` regardless.
    let filter = tracing_subscriber::EnvFilter::builder()
        .parse(&config.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    // A second initialisation (only in tests) keeps the first subscriber.
    let _ = match config.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
