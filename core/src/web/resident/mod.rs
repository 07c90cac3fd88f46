//! The residents' face: every page a resident (or a visitor of a town) sees.
//!
//! One file per area: the home page ("Mon accueil"), the way in (login,
//! activation, passwords), FranceConnect, the terms of use, news and the
//! town's pages, requests, the household, contact details, feedback, the
//! account's history, and the modules' tiles and pages. Guards give the
//! context (session.rs: [`Resident`], [`AnyResident`], [`Visitor`]),
//! services do the work, the kit renders. Every POST takes a [`CsrfForm`] (or [`Checked`] to show the
//! input again when the token is refused).

mod account;
mod contact;
mod content;
mod documents;
mod feedback;
mod franceconnect;
mod history;
mod home;
mod household;
mod modules;
mod payments;
mod privacy;
mod requests;
pub mod session;
mod terms;

use chrono::NaiveDate;
use rocket::{Catcher, Route};
use serde::Serialize;

use crate::tenancy::Tenant;
use crate::web::kit::{self, Face, MenuEntry};

pub use crate::web::kit::PageError;
pub use session::{AnyResident, Resident, Visitor};

/// Residents and visitors of a town.
#[derive(Debug)]
pub struct Residents;

impl Face for Residents {
    const SESSION_COOKIE: &'static str = session::SESSION_COOKIE;
    const LOGIN_PATH: &'static str = "/connexion";
    /// The menu of the seed, in its order.
    const MENU: &'static [MenuEntry] = &[
        MenuEntry {
            href: "/",
            label: "Accueil",
            icon: "home",
        },
        MenuEntry {
            href: "/demarches/nouvelle",
            label: "Nouvelle démarche",
            icon: "plus",
        },
        MenuEntry {
            href: "/actualites",
            label: "Actualités",
            icon: "news",
        },
        MenuEntry {
            href: "/avis",
            label: "Votre avis nous intéresse",
            icon: "chat",
        },
        MenuEntry {
            href: "/documents",
            label: "Edition de documents",
            icon: "document",
        },
        MenuEntry {
            href: "/activites",
            label: "Activités",
            icon: "star",
        },
        MenuEntry {
            href: "/infos-pratiques",
            label: "Infos pratiques",
            icon: "info",
        },
    ];
}

/// The kit's types, for this face.
pub type TownPage = kit::TownPage<Residents>;
pub type Csrf = kit::Csrf<Residents>;
pub type CsrfForm<T> = kit::CsrfForm<T, Residents>;
/// A form whose refusal the handler sees, to show the input again.
pub type Checked<'r, T> = Result<CsrfForm<T>, kit::Refused<'r, T>>;

/// The face's routes, mounted at `/`.
pub fn routes() -> Vec<Route> {
    [
        home::routes(),
        account::routes(),
        terms::routes(),
        modules::routes(),
        content::routes(),
        documents::routes(),
        payments::routes(),
        requests::routes(),
        household::routes(),
        feedback::routes(),
        contact::routes(),
        franceconnect::routes(),
        history::routes(),
        privacy::routes(),
    ]
    .concat()
}

/// The face's catchers, registered at `/`.
pub fn catchers() -> Vec<Catcher> {
    kit::errors::catchers::<Residents>()
}

/// A resident page: their name and logout button in the header, and the
/// notice of a minor terms version they have not seen.
fn resident_page(page: TownPage, resident: &Resident, csrf: &Csrf) -> TownPage {
    page.with_session(session_name(resident), csrf.token())
        .with_terms_notice(resident.terms_notice.as_ref())
}

/// The name the header shows.
fn session_name(resident: &AnyResident) -> String {
    crate::format::full_name(&resident.account.first_name, &resident.account.last_name)
}

/// A page open to visitors, with the header of a resident when one is
/// logged in.
fn visitor_page(page: TownPage, visitor: &Visitor, csrf: &Csrf) -> TownPage {
    match &visitor.0 {
        Some(resident) => page.with_session(session_name(resident), csrf.token()),
        None => page,
    }
}

/// Today in the town's time zone.
fn today(tenant: &Tenant) -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&tenant.timezone)
        .date_naive()
}

/// Trims a field; none when empty.
fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// A form error, tied to its field for the summary's link.
#[derive(Debug, Clone, Serialize)]
struct FieldError {
    field: &'static str,
    message: String,
}

/// The summary's errors, from each field's own message, in the form's order.
fn field_errors(fields: &[(&'static str, &Option<String>)]) -> Vec<FieldError> {
    fields
        .iter()
        .filter_map(|(field, error)| {
            error.as_ref().map(|message| FieldError {
                field,
                message: message.clone(),
            })
        })
        .collect()
}

/// One option of a `<select>`.
#[derive(Debug, Serialize)]
struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}
