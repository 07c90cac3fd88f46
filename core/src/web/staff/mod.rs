//! The town staff's face: the back-office at `/admin` on the town's own
//! host. Its own session cookie (`guichet_staff`), login page, layout
//! (`themes/default/templates/admin/layout.hbs`), menu and catchers; a
//! resident session opens nothing here, and a staff session nothing on the
//! residents' side.
//!
//! One file per area, each with `routes()` listed in [`routes`]: `account`
//! (login, second factor, enrolment, invitations, logout), `overview`
//! (`/admin`), `agents` (the team), `requests` (`/admin/demandes`: the
//! requests' inbox and pages), `residents` (residents' accounts),
//! `import` (their CSV import), `documents` (a resident's documents issued
//! at the counter; who signs them),
//! `feedback` (`/admin/avis`), `content` and `terms` (news, pages, terms of
//! use), `modules` (the town's modules and their configuration forms),
//! `services` (the modules' staff views and actions, `/admin/services`),
//! `journal` (the account journal and its CSV export), `payments`
//! (`/admin/paiements`: online payments, their CSV, each payment's
//! answers from the provider; the payment settings). Every page takes a
//! [`Staff<P>`] guard
//! (session.rs), `P` the permission it needs (`crate::staff::ManageStaff`…):
//! roles are checked by guards, never in handlers. Each page renders with
//! [`staff_page`] (the member's name, role and logout in the header, the
//! menu of their role). Every mounted route has a row in
//! `tests/integration/admin_routes.rs` (the least role it needs).

mod account;
mod agents;
mod content;
mod documents;
mod feedback;
mod import;
mod journal;
mod modules;
mod overview;
mod payments;
mod privacy;
mod requests;
mod residents;
mod services;
pub mod session;
mod terms;

use rocket::{Catcher, Route};
use serde::Serialize;

use crate::staff::{
    EnterBackOffice, HandleFeedback, HandleRequests, ImportResidents, ManageStaff, ManageTown,
    Permission, PublishContent, ReadJournal, ReadPayments, ReadResidents, StaffRole,
};
use crate::web::kit::{self, Face, MenuEntry};

pub use crate::web::kit::PageError;
pub use session::{AnyStaffSession, Staff};

/// The base every route of the face is mounted at.
pub const BASE: &str = "/admin";

/// The town's staff.
#[derive(Debug)]
pub struct Staffs;

impl Face for Staffs {
    const SESSION_COOKIE: &'static str = session::SESSION_COOKIE;
    const LOGIN_PATH: &'static str = "/admin/connexion";
    /// Outside a session (login, error pages): no menu; a member's pages
    /// get their role's menu from [`staff_page`].
    const MENU: &'static [MenuEntry] = &[];
    const ERROR_TEMPLATE: &'static str = "admin/error";
}

impl Staffs {
    /// The login page (the password step).
    pub const LOGIN: &'static str = "/admin/connexion";
    /// The second factor's step (or the enrolment, for a new member).
    pub const CODE: &'static str = "/admin/connexion/code";
}

/// One entry of the back-office menu, shown to the roles from `least` up.
#[derive(Debug, Clone, Copy)]
pub struct StaffMenuEntry {
    pub href: &'static str,
    pub label: &'static str,
    /// One of the theme's icons (`static/icons.svg`).
    pub icon: &'static str,
    pub least: StaffRole,
}

/// The back-office menu, in order. A new area adds its row here, with the
/// least role of the page it links to (`<Permission as Permission>::LEAST`).
pub const MENU: &[StaffMenuEntry] = &[
    StaffMenuEntry {
        href: "/admin",
        label: "Tableau de bord",
        icon: "home",
        least: <EnterBackOffice as Permission>::LEAST,
    },
    StaffMenuEntry {
        href: "/admin/demandes",
        label: "Demandes",
        icon: "inbox",
        least: <HandleRequests as Permission>::LEAST,
    },
    StaffMenuEntry {
        href: "/admin/services",
        label: "Services",
        icon: "grid",
        least: <EnterBackOffice as Permission>::LEAST,
    },
    StaffMenuEntry {
        href: "/admin/usagers",
        label: "Usagers",
        icon: "users",
        least: <ReadResidents as Permission>::LEAST,
    },
    StaffMenuEntry {
        href: "/admin/usagers/import",
        label: "Import d'usagers",
        icon: "list",
        least: <ImportResidents as Permission>::LEAST,
    },
    StaffMenuEntry {
        href: "/admin/paiements",
        label: "Paiements",
        icon: "euro",
        least: <ReadPayments as Permission>::LEAST,
    },
    StaffMenuEntry {
        href: "/admin/avis",
        label: "Avis",
        icon: "chat",
        least: <HandleFeedback as Permission>::LEAST,
    },
    StaffMenuEntry {
        href: "/admin/actualites",
        label: "Actualités",
        icon: "news",
        least: <PublishContent as Permission>::LEAST,
    },
    StaffMenuEntry {
        href: "/admin/pages",
        label: "Pages",
        icon: "document",
        least: <PublishContent as Permission>::LEAST,
    },
    StaffMenuEntry {
        href: "/admin/cgu",
        label: "Conditions d'utilisation",
        icon: "document",
        least: <ManageTown as Permission>::LEAST,
    },
    StaffMenuEntry {
        href: "/admin/modules",
        label: "Modules",
        icon: "settings",
        least: <ManageTown as Permission>::LEAST,
    },
    StaffMenuEntry {
        href: "/admin/documents",
        label: "Documents",
        icon: "document",
        least: <ManageTown as Permission>::LEAST,
    },
    StaffMenuEntry {
        href: "/admin/donnees-personnelles",
        label: "Données personnelles",
        icon: "lock",
        least: <ManageTown as Permission>::LEAST,
    },
    StaffMenuEntry {
        href: "/admin/journal",
        label: "Journal",
        icon: "journal",
        least: <ReadJournal as Permission>::LEAST,
    },
    StaffMenuEntry {
        href: "/admin/agents",
        label: "Équipe",
        icon: "user",
        least: <ManageStaff as Permission>::LEAST,
    },
];

/// The kit's types, for this face.
pub type AdminPage = kit::TownPage<Staffs>;
pub type Csrf = kit::Csrf<Staffs>;
pub type CsrfForm<T> = kit::CsrfForm<T, Staffs>;
/// A form whose refusal the handler sees, to show the input again.
pub type Checked<'r, T> = Result<CsrfForm<T>, kit::Refused<'r, T>>;

/// The face's routes, mounted at [`BASE`] (paths here are relative to it).
pub fn routes() -> Vec<Route> {
    [
        account::routes(),
        overview::routes(),
        agents::routes(),
        requests::routes(),
        residents::routes(),
        documents::routes(),
        import::routes(),
        feedback::routes(),
        content::routes(),
        terms::routes(),
        modules::routes(),
        services::routes(),
        journal::routes(),
        payments::routes(),
        privacy::routes(),
    ]
    .concat()
}

/// The face's catchers, registered at [`BASE`].
pub fn catchers() -> Vec<Catcher> {
    kit::errors::catchers::<Staffs>()
}

/// A back-office page: the member's name and role with the logout button in
/// the header, and the menu of their role.
pub fn staff_page<P: Permission>(page: AdminPage, staff: &Staff<P>, csrf: &Csrf) -> AdminPage {
    let role = staff.member.role;
    page.with_session(
        format!("{} — {}", staff.member.display_name(), role.label()),
        csrf.token(),
    )
    .with_menu(
        MENU.iter()
            .filter(|entry| role >= entry.least)
            .map(|entry| MenuEntry {
                href: entry.href,
                label: entry.label,
                icon: entry.icon,
            })
            .collect(),
    )
}

/// A form error, tied to its field for the summary's link.
#[derive(Debug, Clone, Serialize)]
struct FieldError {
    field: &'static str,
    message: String,
}

impl From<crate::accounts::FieldError> for FieldError {
    fn from(error: crate::accounts::FieldError) -> Self {
        Self {
            field: error.field,
            message: error.message,
        }
    }
}

/// One option of a `<select>`.
#[derive(Debug, Serialize)]
struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

/// The roles as `<select>` options.
fn role_choices(selected: Option<StaffRole>) -> Vec<Choice> {
    StaffRole::ALL
        .into_iter()
        .map(|role| Choice {
            value: role.as_str(),
            label: role.label(),
            selected: Some(role) == selected,
        })
        .collect()
}

/// What a date filter says when it cannot be read.
const DATE_FORMAT: &str = "Indiquez une date au format JJ/MM/AAAA, par exemple 03/12/2026.";

/// A date filter: none when empty; Some(None) when unreadable.
/// `<input type="date">` sends `2026-12-03`; a browser without a date
/// picker lets one type `03/12/2026`.
fn parse_day(text: &str) -> Option<Option<chrono::NaiveDate>> {
    if text.is_empty() {
        return None;
    }
    Some(
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .or_else(|_| chrono::NaiveDate::parse_from_str(text, "%d/%m/%Y"))
            .ok(),
    )
}

/// The first instant of a day in the town's time zone.
fn start_of(
    tenant: &crate::tenancy::Tenant,
    day: chrono::NaiveDate,
) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone as _;
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    tenant
        .timezone
        .from_local_datetime(&midnight)
        .earliest()
        .map_or_else(
            // No midnight that day (a time change at midnight): its UTC one.
            || chrono::Utc.from_utc_datetime(&midnight),
            |local| local.with_timezone(&chrono::Utc),
        )
}

/// A "du … au …" filter in the town's time: from the first instant of
/// `du` to the first instant after `au` (the day `au` included), and each
/// field's message.
#[derive(Debug, Default)]
struct DayRange {
    from: Option<chrono::DateTime<chrono::Utc>>,
    until: Option<chrono::DateTime<chrono::Utc>>,
    du_error: Option<String>,
    au_error: Option<String>,
}

fn day_range(tenant: &crate::tenancy::Tenant, du: &str, au: &str) -> DayRange {
    let mut range = DayRange::default();
    let from = parse_day(du);
    let until = parse_day(au);
    match from {
        Some(Some(day)) => range.from = Some(start_of(tenant, day)),
        Some(None) => range.du_error = Some(DATE_FORMAT.to_owned()),
        None => {}
    }
    match until {
        Some(Some(day)) => range.until = day.succ_opt().map(|next| start_of(tenant, next)),
        Some(None) => range.au_error = Some(DATE_FORMAT.to_owned()),
        None => {}
    }
    if let (Some(Some(from)), Some(Some(until))) = (from, until)
        && until < from
    {
        range.au_error = Some("La date de fin est avant la date de début.".to_owned());
    }
    range
}

/// A list's "Usager (identifiant)" filter: the account it names, or the
/// field's message when the town has no such resident (empty: no filter).
async fn resident_filter(
    journal: &crate::audit::Journal,
    tenant: &crate::tenancy::Tenant,
    identifier: &str,
) -> Result<(Option<i32>, Option<String>), PageError> {
    if identifier.is_empty() {
        return Ok((None, None));
    }
    Ok(
        match journal.resident_by_identifier(tenant, identifier).await? {
            Some(resident) => (Some(resident.id), None),
            None => (
                None,
                Some(format!(
                    "Aucun usager de la commune n'a l'identifiant « {identifier} »."
                )),
            ),
        },
    )
}

/// `path?<query>&apres=<after>`: a list's page with its filters.
fn with_query(path: &str, query: &str, after: Option<&str>) -> String {
    let mut query = query.to_owned();
    if let Some(after) = after {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str("apres=");
        query.push_str(after);
    }
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// Where to go after logging in: a back-office path, else the overview.
fn next_page(suite: Option<&str>) -> String {
    crate::web::resident::session::safe_next(suite)
        .filter(|next| next == BASE || next.starts_with("/admin/") || next.starts_with("/admin?"))
        .unwrap_or_else(|| BASE.to_owned())
}

/// `path?suite=<back>`, or `path` when `back` is the overview.
fn with_suite(path: &str, back: &str) -> String {
    if back == BASE {
        path.to_owned()
    } else {
        let encoded: String = url::form_urlencoded::byte_serialize(back.as_bytes()).collect();
        format!("{path}?suite={encoded}")
    }
}
