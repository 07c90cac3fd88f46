//! `/admin`: the back-office's front page — the town, the member's role and
//! what it may do, links to the areas of the menu.

use rocket::request::FlashMessage;
use rocket::{Route, get, routes};
use serde::Serialize;

use super::{AdminPage, Csrf, MENU, Staff, staff_page};
use crate::staff::EnterBackOffice;
use crate::web::kit::{Page, PageError};

pub(super) fn routes() -> Vec<Route> {
    routes![overview]
}

#[derive(Serialize)]
struct Link {
    href: &'static str,
    label: &'static str,
}

#[derive(Serialize)]
struct OverviewView {
    name: String,
    role: &'static str,
    abilities: &'static [&'static str],
    links: Vec<Link>,
    last_login: Option<String>,
}

#[get("/")]
fn overview(
    page: AdminPage,
    staff: Staff<EnterBackOffice>,
    csrf: Csrf,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    let role = staff.member.role;
    let view = OverviewView {
        name: staff.member.display_name(),
        role: role.label(),
        abilities: role.abilities(),
        links: MENU
            .iter()
            .skip(1)
            .filter(|entry| role >= entry.least)
            .map(|entry| Link {
                href: entry.href,
                label: entry.label,
            })
            .collect(),
        last_login: staff
            .member
            .last_login_at
            .map(|at| crate::format::date_time(&at.with_timezone(&staff.tenant.timezone))),
    };
    staff_page(page, &staff, &csrf)
        .with_flash(flash)
        .ok("admin/overview", "Tableau de bord", view)
}
