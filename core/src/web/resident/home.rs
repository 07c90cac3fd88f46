//! The home page: the login form of the seed for visitors, "Mon accueil"
//! for residents.

use std::sync::Arc;

use rocket::Either;
use rocket::request::FlashMessage;
use rocket::response::Redirect;
use rocket::{Route, State, get, routes};
use serde::Serialize;

use super::account::LoginView;
use super::session::{Gate, gate};
use super::{Csrf, PageError, TownPage, Visitor};
use crate::accounts::Civility;
use crate::requests::Requests;
use crate::terms::Terms;
use crate::web::kit::Page;
use crate::web::kit::page_cache::{PageCache, PageInputs, PageKey};

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
    news: Vec<super::content::NewsView>,
    requests: Vec<super::requests::RequestView>,
    /// "Mon tableau de bord": Dernières demandes | the modules' tiles |
    /// Coordonnées | Edition de documents, as in the seed.
    dashboard_tabs: Vec<Tab>,
    /// "Ma famille": Dossier administratif | the modules' tiles.
    family_tabs: Vec<Tab>,
    tiles: super::modules::Tiles,
    members: Vec<super::household::MemberView>,
}

#[derive(Serialize)]
struct Tab {
    label: String,
    href: String,
}

fn tab(label: &str, href: &str) -> Tab {
    Tab {
        label: label.to_owned(),
        href: href.to_owned(),
    }
}

#[get("/")]
// A handler's arguments are its request guards: one per service it reads.
#[allow(clippy::too_many_arguments)]
async fn home(
    page: TownPage,
    visitor: Visitor,
    terms: &State<Terms>,
    modules: &State<crate::modules::Modules>,
    households: &State<crate::households::Households>,
    requests: &State<Requests>,
    pages: &State<Arc<PageCache>>,
    csrf: Csrf,
    flash: Option<FlashMessage<'_>>,
) -> Result<Either<Page, Redirect>, PageError> {
    let page = page.with_flash(flash);
    let Some(resident) = visitor.0 else {
        let view = LoginView::new(&page, &csrf);
        return Ok(Either::Left(page.ok("pages/home", "Accueil", view)?));
    };
    // Before anything the page shows is read: a page kept under this
    // minute was computed from what it shows now at the earliest.
    let minute = PageInputs::minute_now();
    let notice = match gate(terms, &resident, "/").await? {
        Gate::Redirect(target) => return Ok(Either::Right(Redirect::to(target))),
        Gate::Pass(notice) => notice,
    };
    let account = &resident.account;
    let tenant = &resident.tenant;
    let tile_views = super::modules::tile_views(modules, tenant, account, &resident.stamp).await?;
    // Kept only when shown whole: no flash (shown once), no tile failed.
    let kept_as = match (page.flash_shown(), tile_views.all_shown()) {
        (false, Some(tiles)) => Some((
            PageKey {
                tenant_id: tenant.id().get(),
                session_id: resident.session.id,
                path: "/",
            },
            PageInputs {
                tenant: tenant.clone(),
                theme: page.theme.clone(),
                account: account.clone(),
                csrf: csrf.token().to_owned(),
                stamp: resident.stamp.clone(),
                minute,
                tiles,
            },
        )),
        _ => None,
    };
    if let Some((key, inputs)) = &kept_as
        && let Some(kept) = pages.get(key, inputs)
    {
        return Ok(Either::Left(kept));
    }
    let greeting = format!(
        "Bonjour {}.",
        crate::format::formal_name(
            account.civility.map(Civility::title),
            &account.first_name,
            &account.last_name
        )
    );
    let last_login = match account.previous_login_at {
        Some(at) => format!(
            "Dernière connexion le {}",
            crate::format::date_time(&at.with_timezone(&resident.tenant.timezone))
        ),
        None => "Bienvenue : c'est votre première connexion.".to_owned(),
    };
    let tiles = tile_views.tiles(modules, &csrf);
    let mut dashboard_tabs = vec![tab("Dernières demandes", "/demarches")];
    dashboard_tabs.extend(
        tiles
            .dashboard
            .iter()
            .map(|tile| tab(&tile.title, &tile.href)),
    );
    dashboard_tabs.push(tab("Coordonnées", "/coordonnees"));
    dashboard_tabs.push(tab("Edition de documents", "/documents"));
    let mut family_tabs = vec![tab("Dossier administratif", "/famille")];
    family_tabs.extend(tiles.family.iter().map(|tile| tab(&tile.title, &tile.href)));
    let view = HomeView {
        news: super::content::home_news(tenant, 3),
        requests: requests
            .latest_at(tenant, account.id, 3, &resident.stamp)
            .await?
            .iter()
            .map(|request| super::requests::RequestView::of(tenant, request))
            .collect(),
        members: households
            .members_at(tenant.scope(), account.id, &resident.stamp)
            .await?
            .iter()
            .map(super::household::MemberView::of)
            .collect(),
        dashboard_tabs,
        family_tabs,
        tiles,
        greeting,
        last_login,
        full_name: crate::format::full_name(&account.first_name, &account.last_name),
        address: account.address.clone(),
        email: account.email.clone(),
    };
    let page = page
        .with_session(
            crate::format::full_name(&account.first_name, &account.last_name),
            csrf.token(),
        )
        .with_terms_notice(notice.as_ref());
    let page = page.ok("pages/dashboard", "Mon accueil", view)?;
    if let Some((key, inputs)) = kept_as {
        pages.put(key, inputs, &page);
    }
    Ok(Either::Left(page))
}
