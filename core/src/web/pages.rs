//! The home page: the login form of the seed for visitors, "Mon accueil"
//! for residents.

use rocket::Either;
use rocket::request::FlashMessage;
use rocket::response::Redirect;
use rocket::{Route, State, get, routes};
use serde::Serialize;

use super::PageError;
use super::account_pages::LoginView;
use super::csrf::Csrf;
use super::render::{Page, TownPage};
use super::session::{Gate, Visitor, gate};
use crate::accounts::Civility;
use crate::terms::Terms;

pub fn routes() -> Vec<Route> {
    routes![home]
}

#[derive(Serialize)]
struct HomeView {
    greeting: String,
    last_login: String,
    full_name: String,
    address: Option<String>,
    email: String,
    tiles: super::module_pages::Tiles,
}

#[get("/")]
async fn home(
    page: TownPage,
    visitor: Visitor,
    terms: &State<Terms>,
    modules: &State<crate::modules::Modules>,
    csrf: Csrf,
    flash: Option<FlashMessage<'_>>,
) -> Result<Either<Page, Redirect>, PageError> {
    let page = page.with_flash(flash);
    let Some(resident) = visitor.0 else {
        let view = LoginView {
            csrf: csrf.token().to_owned(),
            ..LoginView::default()
        };
        return Ok(Either::Left(page.ok("pages/home", "Accueil", view)?));
    };
    let notice = match gate(terms, &resident, "/").await? {
        Gate::Redirect(target) => return Ok(Either::Right(Redirect::to(target))),
        Gate::Pass(notice) => notice,
    };
    let account = &resident.account;
    let last_name = account.last_name.to_uppercase();
    let greeting = match Civility::title(account.civility.as_deref()) {
        Some(title) => format!("Bonjour {title} {last_name}."),
        None => format!("Bonjour {} {last_name}.", account.first_name),
    };
    let last_login = match account.previous_login_at {
        Some(at) => format!(
            "Dernière connexion le {}",
            at.with_timezone(&resident.tenant.timezone)
                .format("%d/%m/%Y à %H:%M")
        ),
        None => "Bienvenue : c'est votre première connexion.".to_owned(),
    };
    let tiles =
        super::module_pages::home_tiles(modules, &resident.tenant, &resident.account, &csrf)
            .await?;
    let view = HomeView {
        tiles,
        greeting,
        last_login,
        full_name: format!("{} {last_name}", account.first_name),
        address: account.address.clone(),
        email: account.email.clone(),
    };
    let page = page
        .for_resident(&resident, &csrf)
        .with_terms_notice(notice.as_ref());
    Ok(Either::Left(page.ok(
        "pages/dashboard",
        "Mon accueil",
        view,
    )?))
}
