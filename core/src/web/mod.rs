//! The HTTP face of Guichet: routes, request guards, fairings and catchers.
//!
//! Handlers are thin: request guards give the context (the town from the
//! `Host` header, later the resident and the CSRF token), services do the
//! work, and [`render::TownPage`] renders the answer through the town's theme.
//!
//! Error policy: handlers return [`PageError`]; it is logged with the request
//! id and answered with a French error page in the town's theme, never with
//! internal details. Unknown hosts get a neutral page naming no town.

mod account_pages;
mod assets;
pub mod csrf;
mod demo_mailbox;
mod errors;
mod fairings;
mod franceconnect_pages;
mod module_pages;
mod ops;
mod pages;
pub mod render;
mod resident_pages;
pub mod session;
mod terms_pages;

use std::sync::Arc;

use rocket::{Build, Rocket};

use crate::app::{App, Mode};
use crate::theme::ThemeSet;

pub use errors::PageError;
pub use fairings::RequestId;

/// The themes, as managed Rocket state.
#[derive(Debug, Clone)]
pub struct Themes(pub Arc<ThemeSet>);

/// Builds the Rocket of an opened application, bound as `rocket_config` says.
pub fn build(app: &App, rocket_config: rocket::Config) -> Rocket<Build> {
    let settings = session::WebSettings {
        secret_key: app.secret_key.clone(),
        secure_cookies: app.config.public_scheme == crate::config::PublicScheme::Https,
    };
    let rocket = rocket::custom(rocket_config)
        .manage(app.tenants.clone())
        .manage(Themes(app.themes.clone()))
        .manage(app.db.clone())
        .manage(app.accounts.clone())
        .manage(app.terms.clone())
        .manage(app.modules.clone())
        .manage(app.households.clone())
        .manage(app.franceconnect.clone())
        .manage(crate::api::ApiKeys::new(app.db.clone()))
        .manage(crate::modules::ModuleData::new(app.db.clone()))
        .manage(crate::requests::Requests::new(app.db.clone()))
        .manage(settings)
        .attach(fairings::RequestLog)
        .attach(fairings::SecurityHeaders)
        .mount("/", pages::routes())
        .mount("/", account_pages::routes())
        .mount("/", terms_pages::routes())
        .mount("/", module_pages::routes())
        .mount("/", resident_pages::routes())
        .mount("/", franceconnect_pages::routes())
        .mount(crate::api::BASE, crate::api::routes())
        .mount("/", ops::routes())
        .mount("/", assets::routes())
        .register("/", errors::catchers())
        .register(crate::api::BASE, crate::api::catchers());
    // The demo's mailbox shows every mail of a town, passwords included:
    // it exists only in `guichet demo`, never in `serve`.
    if app.mode == Mode::Demo {
        rocket.mount("/", demo_mailbox::routes())
    } else {
        rocket
    }
}
