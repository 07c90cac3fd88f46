//! The assembled application: configuration, database, towns and themes,
//! opened once at startup and shared by the web server and the CLI.
//!
//! Error policy: everything here runs before the first request; a failure is
//! a [`StartupError`] that names what to fix, and the process stops.

use std::sync::Arc;

use rocket::{Build, Rocket};
use sea_orm::DatabaseConnection;

use crate::config::Config;
use crate::db::{self, DbSetupError};
use crate::tenancy::TenantDirectory;
use crate::theme::{ThemeError, ThemeSet};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] DbSetupError),
    #[error("cannot load the themes: {0}")]
    Themes(#[from] ThemeError),
}

#[derive(Debug, Clone)]
pub struct App {
    pub config: Config,
    pub db: DatabaseConnection,
    pub tenants: TenantDirectory,
    pub themes: Arc<ThemeSet>,
}

impl App {
    /// Connects to the database, migrates it, and loads the themes.
    pub async fn open(config: Config) -> Result<Self, StartupError> {
        let themes = Arc::new(ThemeSet::load(&config.themes_dir, config.dev_mode)?);
        let db = db::open(&config.database_url).await?;
        let tenants = TenantDirectory::new(db.clone(), &config.base_domain);
        Ok(Self {
            config,
            db,
            tenants,
            themes,
        })
    }

    /// The Rocket configuration derived from ours; Rocket's own sources
    /// (`Rocket.toml`, `ROCKET_*`) are deliberately not read.
    pub fn rocket_config(&self) -> rocket::Config {
        rocket::Config {
            address: self.config.address,
            port: self.config.port,
            ident: rocket::config::Ident::none(),
            log_level: rocket::config::LogLevel::Off,
            cli_colors: false,
            ..rocket::Config::release_default()
        }
    }

    pub fn rocket(&self) -> Rocket<Build> {
        crate::web::build(self, self.rocket_config())
    }

    /// Binds and serves until a shutdown signal. `on_ready` is given the port
    /// actually bound (useful with port 0) and a handle that stops the server.
    pub async fn serve(
        &self,
        on_ready: impl FnOnce(u16, rocket::Shutdown) + Send + Sync + 'static,
    ) -> Result<(), Box<rocket::Error>> {
        let on_ready = std::sync::Mutex::new(Some(on_ready));
        self.rocket()
            .attach(rocket::fairing::AdHoc::on_liftoff("ready", move |rocket| {
                Box::pin(async move {
                    if let Some(on_ready) = on_ready.lock().ok().and_then(|mut slot| slot.take()) {
                        on_ready(rocket.config().port, rocket.shutdown());
                    }
                })
            }))
            .launch()
            .await
            .map(|_| ())
            .map_err(Box::new)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(
        "town `{town}` asks for the theme `{theme}`, which does not exist (themes: {available})"
    )]
    UnknownTheme {
        town: String,
        theme: String,
        available: String,
    },
    #[error(transparent)]
    Tenancy(#[from] crate::tenancy::TenancyError),
}

impl App {
    /// Creates or updates towns, after checking that their themes exist.
    pub async fn apply_towns(
        &self,
        definitions: &[crate::tenancy::TenantDefinition],
    ) -> Result<Vec<crate::tenancy::ApplyOutcome>, ApplyError> {
        for town in definitions {
            if !self.themes.contains(&town.theme) {
                return Err(ApplyError::UnknownTheme {
                    town: town.slug.clone(),
                    theme: town.theme.clone(),
                    available: self.themes.names().join(", "),
                });
            }
        }
        Ok(self.tenants.apply(definitions).await?)
    }
}
