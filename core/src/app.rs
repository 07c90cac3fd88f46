//! The assembled application: configuration, database, towns and themes,
//! opened once at startup and shared by the web server and the CLI.
//!
//! Error policy: everything here runs before the first request; a failure is
//! a [`StartupError`] that names what to fix, and the process stops.

use std::sync::Arc;

use rocket::{Build, Rocket};
use sea_orm::DatabaseConnection;

use crate::accounts::{Accounts, HashingError, PasswordHasher, SessionPolicy};
use crate::config::{Config, ConfigError};
use crate::db::{self, DbSetupError};
use crate::mail::{Delivery, MailWorker, Mailer, PublicLinks, WorkerReport};
use crate::tenancy::TenantDirectory;
use crate::theme::{ThemeError, ThemeSet};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Database(#[from] DbSetupError),
    #[error("cannot load the themes: {0}")]
    Themes(#[from] ThemeError),
    #[error("invalid configuration: `smtp_url` cannot be used: {0}")]
    Smtp(String),
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    ModuleHost(#[from] crate::modules::HostSetupError),
    #[error(transparent)]
    ModuleCache(#[from] crate::modules::CacheError),
    #[error("cannot set up the FranceConnect client: {0}")]
    FranceConnect(#[from] crate::franceconnect::FranceConnectError),
    #[error("cannot load the documents' layout: {0}")]
    Documents(String),
    #[error("cannot set up the PayFiP client: {0}")]
    Payments(String),
}

/// How the process was started: `demo` keeps mail in a local mailbox when
/// no SMTP server is configured, and shows it on a page; `preview` (a
/// module author's `guichet module preview`) does too, and its pages say
/// what a failed module call hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Serve,
    Demo,
    Preview,
}

impl Mode {
    /// Whether mail stays in the local mailbox shown at `/demo/courriels`
    /// (when no SMTP server is configured).
    pub fn keeps_mail_locally(self) -> bool {
        matches!(self, Self::Demo | Self::Preview)
    }
}

#[derive(Debug, Clone)]
pub struct App {
    pub config: Config,
    pub mode: Mode,
    pub db: DatabaseConnection,
    pub tenants: TenantDirectory,
    pub themes: Arc<ThemeSet>,
    pub accounts: Accounts,
    pub terms: crate::terms::Terms,
    pub mailer: Mailer,
    pub modules: crate::modules::Modules,
    pub households: crate::households::Households,
    pub franceconnect: crate::franceconnect::FranceConnect,
    pub requests: crate::requests::Requests,
    /// The staff's side of requests (and the resident's answers).
    pub request_desk: crate::requests::RequestDesk,
    pub feedback: crate::feedback::Feedback,
    pub staff: crate::staff::StaffService,
    /// The back-office's edits of news and pages.
    pub content: crate::content::ContentService,
    /// Documents issued (attestations as PDF) and their verification.
    pub documents: crate::documents::Documents,
    /// Online payments (PayFiP) and their reconciliation.
    pub payments: crate::payments::Payments,
    /// Residents' rights over their data: exports, closures, retention.
    pub privacy: crate::privacy::Privacy,
    /// Where the outbox worker delivers; none keeps mail in the outbox.
    pub delivery: Option<Delivery>,
    /// What `/metrics` serves.
    pub metrics: crate::metrics::Metrics,
    /// Residents' home pages kept while nothing on them changes.
    pub pages: Arc<crate::web::kit::page_cache::PageCache>,
    /// Keys the CSRF tokens.
    pub secret_key: Arc<[u8]>,
}

impl App {
    /// Connects to the database, migrates it, loads the themes, and sets up
    /// the services.
    pub async fn open(config: Config, mode: Mode) -> Result<Self, StartupError> {
        let secret_key: Arc<[u8]> = config.require_secret_key()?.into();
        let delivery = match (&config.smtp_url, mode) {
            (Some(url), _) => Some(
                Delivery::smtp(url, config.mail_concurrency)
                    .map_err(|error| StartupError::Smtp(error.to_string()))?,
            ),
            (None, mode) if mode.keeps_mail_locally() => Some(Delivery::LocalMailbox),
            (None, _) => None,
        };
        let themes = Arc::new(ThemeSet::load(&config.themes_dir, config.dev_mode)?);
        let db = db::open(&config.database_url, config.database_acquire_timeout()).await?;
        let tenants = TenantDirectory::new(db.clone(), &config.base_domain);
        let hash_threads = config.hash_threads(cores());
        let hasher = PasswordHasher::new(hash_threads, &secret_key)?;
        let mailer = Mailer::new(themes.clone(), PublicLinks::new(&config));
        let sessions = SessionPolicy {
            idle: chrono::Duration::minutes(i64::from(config.session_idle_minutes)),
            absolute: chrono::Duration::hours(i64::from(config.session_absolute_hours)),
        };
        let staff = crate::staff::StaffService::new(
            db.clone(),
            hasher.clone(),
            mailer.clone(),
            secret_key.clone(),
        );
        let accounts = Accounts::new(
            db.clone(),
            hasher,
            mailer.clone(),
            sessions,
            secret_key.clone(),
        );
        let terms = crate::terms::Terms::new(db.clone());
        let cache = crate::modules::ArtifactCache::new(
            config.module_cache_dir.clone(),
            secret_key.clone(),
        )?;
        let host = crate::modules::ModuleHost::new(
            db.clone(),
            crate::modules::ModuleLimits::from_config(&config),
            cache,
        )?;
        let modules = crate::modules::Modules::new(db.clone(), host, mailer.clone());
        let modules = if mode == Mode::Preview {
            modules.showing_failures()
        } else {
            modules
        };
        let households = crate::households::Households::new(db.clone());
        let requests = crate::requests::Requests::new(db.clone());
        let request_desk = crate::requests::RequestDesk::new(db.clone(), mailer.clone());
        let feedback = crate::feedback::Feedback::new(db.clone(), mailer.clone());
        let franceconnect =
            crate::franceconnect::FranceConnect::new(db.clone(), PublicLinks::new(&config))?;
        let content = crate::content::ContentService::new(db.clone(), tenants.clone());
        let documents = crate::documents::Documents::new(
            db.clone(),
            modules.clone(),
            PublicLinks::new(&config),
            &themes,
        )
        .map_err(StartupError::Documents)?;
        let payments = crate::payments::Payments::new(
            db.clone(),
            modules.clone(),
            mailer.clone(),
            PublicLinks::new(&config),
            &config.payfip_url,
        )
        .map_err(StartupError::Payments)?;
        let privacy = crate::privacy::Privacy::new(
            db.clone(),
            mailer.clone(),
            themes.clone(),
            tenants.clone(),
        );
        let pages_reused = prometheus_client::metrics::counter::Counter::default();
        let pages = Arc::new(crate::web::kit::page_cache::PageCache::new(
            config.page_cache_mib as usize * 1024 * 1024,
            pages_reused.clone(),
        ));
        let metrics = crate::metrics::Metrics::new(db.clone(), modules.clone(), pages_reused);
        Ok(Self {
            metrics,
            pages,
            config,
            mode,
            db,
            tenants,
            themes,
            accounts,
            terms,
            mailer,
            modules,
            households,
            franceconnect,
            requests,
            request_desk,
            feedback,
            staff,
            content,
            documents,
            payments,
            privacy,
            delivery,
            secret_key,
        })
    }

    /// The outbox worker, if mail is delivered at all.
    pub fn mail_worker(&self) -> Option<MailWorker> {
        let delivery = self.delivery.clone()?;
        let concurrency = usize::try_from(self.config.mail_concurrency).unwrap_or(1);
        Some(
            MailWorker::new(
                self.db.clone(),
                delivery,
                self.mailer.wake_handle(),
                self.config.mail_retry_seconds,
            )
            .with_concurrency(concurrency),
        )
    }

    /// The Rocket configuration derived from ours; Rocket's own sources
    /// (`Rocket.toml`, `ROCKET_*`) are deliberately not read.
    pub fn rocket_config(&self) -> rocket::Config {
        rocket::Config {
            address: self.config.address,
            port: self.config.port,
            ident: rocket::config::Ident::none(),
            ip_header: self.config.ip_header.clone().map(Into::into),
            log_level: rocket::config::LogLevel::Off,
            cli_colors: false,
            // The CSV import's file (accounts::import::MAX_FILE_BYTES) with
            // room to spare: past it the page says the limit in French,
            // not a bare 413.
            limits: rocket::data::Limits::default()
                .limit("data-form", rocket::data::ByteUnit::Mebibyte(6))
                .limit("file", rocket::data::ByteUnit::Mebibyte(6)),
            ..rocket::Config::release_default()
        }
    }

    pub fn rocket(&self) -> Rocket<Build> {
        crate::web::build(self, self.rocket_config())
    }

    /// Binds and serves until a shutdown signal, with the outbox worker,
    /// the rounds (journal purge, payments' reconciliation, exports and
    /// retention) and the watcher of town changes beside it. `on_ready` is given the port
    /// actually bound (useful with port 0) and a handle that stops the
    /// server. Returns once the server and the worker have both stopped: the
    /// worker hands back the mails it holds before the process exits
    /// (mail/worker.rs).
    pub async fn serve(
        &self,
        on_ready: impl FnOnce(u16, rocket::Shutdown) + Send + Sync + 'static,
    ) -> Result<(), Box<rocket::Error>> {
        // Compiled (or loaded from the cache) before the first resident asks.
        match self.modules.prewarm().await {
            Ok(count) => tracing::info!(count, "modules ready"),
            Err(error) => tracing::error!(%error, "cannot prepare the towns' modules"),
        }
        let on_ready = std::sync::Mutex::new(Some(on_ready));
        let worker = std::sync::Mutex::new(self.mail_worker());
        if worker.lock().is_ok_and(|worker| worker.is_none()) {
            tracing::warn!("no smtp_url: mail stays in the outbox until one is configured");
        }
        let tenants = self.tenants.clone();
        // The running worker and the handle that stops it, for after launch.
        type Running = (tokio::task::JoinHandle<WorkerReport>, rocket::Shutdown);
        let running: Arc<std::sync::Mutex<Option<Running>>> = Arc::default();
        let started = running.clone();
        // The rounds beside the server (the journal's purge, the payments'
        // reconciliation, the exports and the retention), stopped with it.
        let purge = crate::audit::JournalPurge::new(self.db.clone(), self.tenants.clone());
        let reconciler =
            crate::payments::Reconciler::new(self.payments.clone(), self.tenants.clone());
        let privacy = self.privacy.clone();
        let rounds: [Round; 3] = Default::default();
        let served = self
            .rocket()
            .attach(rocket::fairing::AdHoc::on_liftoff(
                "town changes",
                move |rocket| {
                    Box::pin(async move {
                        tokio::spawn(tenants.watch_changes(rocket.shutdown()));
                    })
                },
            ))
            .attach(rocket::fairing::AdHoc::on_liftoff(
                "mail worker",
                move |rocket| {
                    Box::pin(async move {
                        if let Some(worker) = worker.lock().ok().and_then(|mut slot| slot.take()) {
                            let task = tokio::spawn(worker.run(rocket.shutdown()));
                            if let Ok(mut slot) = started.lock() {
                                *slot = Some((task, rocket.shutdown()));
                            }
                        }
                    })
                },
            ))
            .attach(beside("journal purge", rounds[0].clone(), |stop| {
                purge.run(stop)
            }))
            .attach(beside(
                "payments reconciliation",
                rounds[1].clone(),
                |stop| reconciler.run(stop),
            ))
            .attach(beside("privacy", rounds[2].clone(), |stop| {
                privacy.run(stop)
            }))
            .attach(rocket::fairing::AdHoc::on_liftoff("ready", move |rocket| {
                Box::pin(async move {
                    if let Some(on_ready) = on_ready.lock().ok().and_then(|mut slot| slot.take()) {
                        on_ready(rocket.config().port, rocket.shutdown());
                    }
                })
            }))
            .launch()
            .await;
        let running = running.lock().ok().and_then(|mut slot| slot.take());
        if let Some((task, shutdown)) = running {
            // Already requested, unless the server failed on its own.
            shutdown.notify();
            if let Err(error) = task.await {
                tracing::error!(%error, "the mail worker failed");
            }
        }
        // Already stopped by the shutdown signal; aborted if the server
        // failed without one (a batch under way rolls back: purge.rs).
        for (name, slot) in ["journal purge", "payments reconciliation", "privacy"]
            .iter()
            .zip(&rounds)
        {
            let task = slot.lock().ok().and_then(|mut slot| slot.take());
            if let Some(task) = task {
                task.abort();
                if let Err(error) = task.await
                    && !error.is_cancelled()
                {
                    tracing::error!(%error, round = name, "a round beside the server failed");
                }
            }
        }
        served.map(|_| ()).map_err(Box::new)
    }
}

/// A round's task, once the server lifted off.
type Round = Arc<std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>;

/// The cores this process may run on (1 where unknown).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Starts `start` beside the server at its liftoff, given the server's
/// shutdown to stop on; its task goes in `slot` for `serve` to wait for.
fn beside<F, Fut>(name: &'static str, slot: Round, start: F) -> rocket::fairing::AdHoc
where
    F: FnOnce(rocket::Shutdown) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    rocket::fairing::AdHoc::on_liftoff(name, move |rocket| {
        Box::pin(async move {
            let task = tokio::spawn(start(rocket.shutdown()));
            if let Ok(mut slot) = slot.lock() {
                *slot = Some(task);
            }
        })
    })
}

impl App {
    /// Creates or updates towns from their definitions, all or nothing
    /// (see [`crate::towns::apply`]).
    pub async fn apply_towns(
        &self,
        towns: &[crate::towns::TownDefinition],
    ) -> Result<crate::towns::Applied, crate::towns::ApplyError> {
        crate::towns::apply(&self.db, &self.tenants, &self.themes, &self.modules, towns).await
    }
}
