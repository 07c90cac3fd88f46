//! The HTTP faces of Guichet, on one shared kit.
//!
//! - [`kit`]: what every face uses — the town guard and rendering through
//!   its theme, errors and catchers, cookies, CSRF-checked forms, fairings,
//!   static assets.
//! - [`resident`]: the residents' face, mounted at `/`.
//! - [`staff`]: the town staff's back-office, mounted at `/admin`.
//! - `crate::api`: the data API for towns' back-office software, at `/api/v1`.
//! - `ops`: health, readiness and metrics for operators; `demo_mailbox`: the
//!   demo's mailbox, mounted only by `guichet demo`.
//!
//! Handlers are thin: request guards give the context (the town from the
//! `Host` header, the session, the CSRF-checked form), services do the work,
//! and the kit renders the answer through the town's theme. No handler
//! touches the database connection: it is not even managed state, so a
//! handler asking for it fails the launch.
//!
//! Error policy: handlers return [`PageError`]; it is logged with the request
//! id and answered by the face's catcher with a French error page in the
//! town's theme, never with internal details. Unknown hosts get a neutral
//! page naming no town.

mod demo_mailbox;
pub mod kit;
mod ops;
pub mod resident;
pub mod staff;

use rocket::{Build, Rocket};

use crate::app::App;

pub use kit::{PageError, RequestId, Themes, WebSettings};

/// Builds the Rocket of an opened application, bound as `rocket_config` says.
pub fn build(app: &App, rocket_config: rocket::Config) -> Rocket<Build> {
    let settings = WebSettings {
        secret_key: app.secret_key.clone(),
        secure_cookies: app.config.public_scheme == crate::config::PublicScheme::Https,
        form_origins: url::Url::parse(&app.config.payfip_url)
            .ok()
            .map(|url| url.origin())
            .filter(url::Origin::is_tuple)
            .map(|origin| origin.ascii_serialization())
            .into_iter()
            .collect(),
    };
    let rocket = rocket::custom(rocket_config)
        .manage(app.tenants.clone())
        .manage(Themes(app.themes.clone()))
        .manage(app.accounts.clone())
        .manage(app.terms.clone())
        .manage(app.modules.clone())
        .manage(app.households.clone())
        .manage(app.franceconnect.clone())
        .manage(app.requests.clone())
        .manage(app.request_desk.clone())
        .manage(app.feedback.clone())
        .manage(app.staff.clone())
        .manage(app.content.clone())
        .manage(app.documents.clone())
        .manage(app.payments.clone())
        .manage(app.privacy.clone())
        .manage(app.metrics.clone())
        .manage(app.pages.clone())
        .manage(crate::db::Readiness::new(app.db.clone()))
        .manage(crate::api::ApiKeys::new(app.db.clone()))
        .manage(crate::audit::Journal::new(app.db.clone()))
        .manage(crate::modules::ModuleData::new(app.db.clone()))
        .manage(settings)
        .attach(kit::fairings::RequestLog)
        .attach(kit::fairings::SecurityHeaders)
        .mount("/", resident::routes())
        .mount(staff::BASE, staff::routes())
        .mount(crate::api::BASE, crate::api::routes())
        .mount(crate::api::BASE, crate::api::undeclared_method_routes())
        .mount("/", ops::routes())
        .mount("/", kit::assets::routes())
        .register("/", resident::catchers())
        .register(staff::BASE, staff::catchers())
        .register(crate::api::BASE, crate::api::catchers());
    // The demo's mailbox shows every mail of a town, passwords included:
    // it exists only in `guichet demo` and an author's `module preview`,
    // never in `serve`.
    if app.mode.keeps_mail_locally() {
        rocket
            .manage(crate::mail::Outbox::new(app.db.clone()))
            .mount("/", demo_mailbox::routes())
    } else {
        rocket
    }
}
