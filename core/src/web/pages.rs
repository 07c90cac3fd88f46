//! The town's public pages.

use rocket::{Route, get, routes};
use serde::Serialize;

use super::PageError;
use super::render::{Page, TownPage};

pub fn routes() -> Vec<Route> {
    routes![home, login]
}

#[derive(Serialize)]
struct LoginForm {
    /// The form's heading level: the home page has its own `h1`.
    standalone: bool,
}

/// "Accueil": the login form of the seed, until the resident is logged in.
#[get("/")]
fn home(page: TownPage) -> Result<Page, PageError> {
    page.ok("pages/home", "Accueil", LoginForm { standalone: false })
}

/// The same login form, on its own page.
#[get("/connexion")]
fn login(page: TownPage) -> Result<Page, PageError> {
    page.ok("pages/login", "Connexion", LoginForm { standalone: true })
}
