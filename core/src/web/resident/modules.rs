//! The pages of service modules: their tiles on "Mon accueil", each view
//! as a page (`/services/<module>/<view>`), and their forms
//! (`POST /services/<module>/actions/<action>`).
//!
//! A module answers data; this file turns it into what the theme renders
//! (`partials/module_view`): text is escaped by the templates, links only
//! ever point to the module's own views, forms always carry the CSRF token.
//! A module that fails shows "indisponible"; the rest of the page renders.

use std::sync::Arc;

use rocket::http::Status;
use rocket::http::uri::Origin as RequestUri;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{Either, Route, State, get, post, routes};
use serde::Serialize;

use super::{Checked, Csrf, PageError, Resident, TownPage, resident_page};
use crate::accounts::entity::account;
use crate::modules::{
    ActError, ActOutcome, CallFailure, EnabledModule, Modules, Slot, View, ViewRequest,
};
use crate::payments::Payments;
use crate::tenancy::Tenant;
use crate::versions::Stamp;
use crate::web::kit::module_view::{
    ModuleFields, PayOffer, ViewFace, ViewHtml, has_payable, with_values,
};
use crate::web::kit::{Page, flash_with_details, refusal_message};

pub fn routes() -> Vec<Route> {
    routes![service_page, service_action]
}

/// A tile on the home page.
#[derive(Debug, Serialize)]
pub struct TileView {
    pub title: String,
    /// One of the theme's icons.
    pub icon: &'static str,
    pub href: String,
    /// None when the module failed: "indisponible".
    pub view: Option<ViewHtml>,
    /// In the author's preview, what the failed call hit.
    pub failure: Option<String>,
}

/// The home page's module tiles, by slot.
#[derive(Debug, Default, Serialize)]
pub struct Tiles {
    pub dashboard: Vec<TileView>,
    pub family: Vec<TileView>,
}

/// The views of the town's modules' tiles, asked for all at once, in the
/// page's order.
pub struct TileViews {
    enabled: Arc<[EnabledModule]>,
    /// (index in `enabled`, index of the tile in its manifest, the view).
    rendered: Vec<(usize, usize, Result<Arc<View>, CallFailure>)>,
}

/// Asks every tile of the town's modules for its view (each reused from
/// memory while nothing it read has changed).
pub async fn tile_views(
    modules: &Modules,
    tenant: &Arc<Tenant>,
    account: &account::Model,
    stamp: &Stamp,
) -> Result<TileViews, sea_orm::DbErr> {
    let enabled = modules.enabled_at(tenant, stamp).await?;
    let wanted: Vec<(usize, usize)> = enabled
        .iter()
        .enumerate()
        .flat_map(|(index, module)| (0..module.manifest.tiles.len()).map(move |tile| (index, tile)))
        .collect();
    let views = rocket::futures::future::join_all(wanted.iter().map(|&(index, tile)| {
        let module = &enabled[index];
        let request = ViewRequest {
            view: module.manifest.tiles[tile].id.clone(),
            params: vec![(
                crate::modules::TILE_PARAM.0.to_owned(),
                crate::modules::TILE_PARAM.1.to_owned(),
            )],
        };
        async move {
            modules
                .render_at(tenant, module, account, &request, stamp)
                .await
        }
    }))
    .await;
    let rendered = wanted
        .into_iter()
        .zip(views)
        .map(|((index, tile), view)| (index, tile, view))
        .collect();
    Ok(TileViews { enabled, rendered })
}

impl TileViews {
    /// Every tile's view, or `None` when one failed.
    pub fn all_shown(&self) -> Option<Vec<Arc<View>>> {
        self.rendered
            .iter()
            .map(|(_, _, view)| view.as_ref().ok().cloned())
            .collect()
    }

    /// The tiles as the home page shows them, by slot.
    pub fn tiles(&self, modules: &Modules, csrf: &Csrf) -> Tiles {
        let mut tiles = Tiles::default();
        for (index, tile, outcome) in &self.rendered {
            let module = &self.enabled[*index];
            let tile = &module.manifest.tiles[*tile];
            let failure = outcome
                .as_ref()
                .err()
                .and_then(|failure| modules.failure_for_author(failure));
            let view = outcome.as_ref().ok().map(|view| {
                ViewHtml::of(
                    view,
                    &module.module_id,
                    csrf.token(),
                    true,
                    ViewFace::Resident,
                )
            });
            let tile_view = TileView {
                title: tile.title.clone(),
                icon: tile_icon(&module.module_id, tile.slot),
                href: view_href(&module.module_id, &tile.id, &[]).unwrap_or_default(),
                view,
                failure,
            };
            match tile.slot {
                Slot::Dashboard => tiles.dashboard.push(tile_view),
                Slot::Family => tiles.family.push(tile_view),
            }
        }
        tiles
    }
}

/// The icon of a tile: the first-party modules' own, else one per slot.
fn tile_icon(module_id: &str, slot: Slot) -> &'static str {
    match (module_id, slot) {
        ("invoices", _) => "euro",
        ("bookings" | "absences", _) => "calendar",
        ("tariffs", _) => "calculator",
        (_, Slot::Dashboard) => "grid",
        (_, Slot::Family) => "users",
    }
}

/// `/services/<module>/<view>?<params>`, when both names are plain.
fn view_href(module_id: &str, view: &str, params: &[(String, String)]) -> Option<String> {
    crate::modules::view_path(module_id, view, params)
}

#[derive(Debug, Serialize)]
struct ServiceView {
    module_name: String,
    view: Option<ViewHtml>,
    /// What the resident submitted, shown back when the module could not
    /// take it (so nothing typed is lost).
    submitted: Vec<(String, String)>,
    /// In the author's preview, what the failed call hit.
    failure: Option<String>,
}

fn query_params(uri: &RequestUri<'_>) -> Vec<(String, String)> {
    uri.query()
        .map(|query| {
            url::form_urlencoded::parse(query.as_str().as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

async fn enabled(
    modules: &Modules,
    tenant: &Tenant,
    module_id: &str,
) -> Result<Option<EnabledModule>, PageError> {
    Ok(modules.enabled_module(tenant, module_id).await?)
}

fn unavailable_page(
    page: &TownPage,
    module: &EnabledModule,
    submitted: Vec<(String, String)>,
    failure: Option<String>,
) -> Result<Page, PageError> {
    page.render(
        Status::ServiceUnavailable,
        "pages/service",
        &format!("{} (indisponible)", module.manifest.name),
        ServiceView {
            module_name: module.manifest.name.clone(),
            view: None,
            submitted,
            failure,
        },
    )
}

#[get("/services/<module_id>/<view>")]
#[allow(clippy::too_many_arguments)]
async fn service_page(
    module_id: &str,
    view: &str,
    uri: &RequestUri<'_>,
    page: TownPage,
    resident: Resident,
    modules: &State<Modules>,
    csrf: Csrf,
    payments: &State<Payments>,
    flash: Option<FlashMessage<'_>>,
) -> Result<Option<Page>, PageError> {
    let enabled = modules
        .enabled_at(&resident.tenant, &resident.stamp)
        .await?;
    let Some(module) = enabled.iter().find(|module| module.module_id == module_id) else {
        return Ok(None);
    };
    let page = resident_page(page.with_flash(flash), &resident, &csrf);
    let request = ViewRequest {
        view: view.to_owned(),
        params: query_params(uri),
    };
    match modules
        .render_at(
            &resident.tenant,
            module,
            &resident.account,
            &request,
            &resident.stamp,
        )
        .await
    {
        Ok(rendered) => {
            let offer = pay_offer(payments, &resident, module, &request, &rendered).await?;
            Ok(Some(show_view(
                &page,
                module,
                &rendered,
                csrf.token(),
                Status::Ok,
                offer.as_ref(),
            )?))
        }
        Err(CallFailure::NotFound(_)) => Ok(None),
        Err(failure) => Ok(Some(unavailable_page(
            &page,
            module,
            Vec::new(),
            modules.failure_for_author(&failure),
        )?)),
    }
}

/// What "Payer en ligne" needs on a view, when the view holds an amount
/// to pay and the town takes payments online.
async fn pay_offer<'a>(
    payments: &Payments,
    resident: &Resident,
    module: &EnabledModule,
    request: &'a ViewRequest,
    view: &View,
) -> Result<Option<PayOffer<'a>>, PageError> {
    if !has_payable(view) || !payments.settings(&resident.tenant).await?.is_active() {
        return Ok(None);
    }
    let states = payments
        .payable_states(
            &resident.tenant,
            resident.account.id,
            &module.module_id,
            chrono::Utc::now(),
        )
        .await?;
    Ok(Some(PayOffer {
        view: request,
        states,
    }))
}

fn show_view(
    page: &TownPage,
    module: &EnabledModule,
    view: &View,
    csrf: &str,
    status: Status,
    offer: Option<&PayOffer<'_>>,
) -> Result<Page, PageError> {
    let title = if view.title.trim().is_empty() {
        module.manifest.name.clone()
    } else {
        view.title.clone()
    };
    page.render(
        status,
        "pages/service",
        &title,
        ServiceView {
            module_name: module.manifest.name.clone(),
            view: Some({
                let html = ViewHtml::of(view, &module.module_id, csrf, false, ViewFace::Resident);
                match offer {
                    Some(offer) => html.with_payments(view, &module.module_id, csrf, offer),
                    None => html,
                }
            }),
            submitted: Vec::new(),
            failure: None,
        },
    )
}

#[post("/services/<module_id>/actions/<action>", data = "<form>")]
async fn service_action(
    module_id: &str,
    action: &str,
    page: TownPage,
    resident: Resident,
    modules: &State<Modules>,
    csrf: Csrf,
    form: Checked<'_, ModuleFields>,
) -> Result<Option<Either<Page, Flash<Redirect>>>, PageError> {
    let form = match form {
        Ok(form) => Ok(form.into_inner().0),
        Err(refused) => Err(refused.stale_input()?),
    };
    let Some(module) = enabled(modules, &resident.tenant, module_id).await? else {
        return Ok(None);
    };
    let page = resident_page(page, &resident, &csrf);
    let fields = match form {
        Ok(fields) => fields,
        Err((ModuleFields(fields), status)) => {
            // An old page or another site: show the form again, input kept.
            let request = ViewRequest {
                view: module
                    .manifest
                    .actions
                    .iter()
                    .find(|declared| declared.id == action)
                    .map_or_else(|| action.to_owned(), |declared| declared.view.clone()),
                params: Vec::new(),
            };
            let view = modules
                .render(&resident.tenant, &module, Some(&resident.account), &request)
                .await;
            let page = page.with_flash_text(refusal_message(status));
            return Ok(Some(Either::Left(match view {
                Ok(view) => show_view(
                    &page,
                    &module,
                    &with_values(view, &fields),
                    csrf.token(),
                    status,
                    None,
                )?,
                Err(failure) => {
                    let failure = modules.failure_for_author(&failure);
                    unavailable_page(&page, &module, fields, failure)?
                }
            })));
        }
    };
    match modules
        .act(
            &resident.tenant,
            &module,
            &resident.account,
            action,
            &fields,
        )
        .await
    {
        Ok(ActOutcome::Done {
            notice,
            details,
            next,
            references,
        }) => {
            let mut message = notice.text;
            for reference in references {
                message.push_str(&format!(" Référence de votre demande : {reference}."));
            }
            let message = flash_with_details(&message, &details);
            let target = view_href(&module.module_id, &next.view, &next.params)
                .unwrap_or_else(|| "/".to_owned());
            Ok(Some(Either::Right(Flash::success(
                Redirect::to(target),
                message,
            ))))
        }
        Ok(ActOutcome::Invalid(view)) => Ok(Some(Either::Left(show_view(
            &page,
            &module,
            &view,
            csrf.token(),
            Status::UnprocessableEntity,
            None,
        )?))),
        Err(ActError::Call(CallFailure::NotFound(_))) => Ok(None),
        Err(error) => {
            tracing::warn!(module = %module.module_id, "module action failed: {error}");
            let failure = modules.act_failure_for_author(&error);
            Ok(Some(Either::Left(unavailable_page(
                &page, &module, fields, failure,
            )?)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_only_reach_the_module_s_own_plain_views() {
        assert_eq!(
            view_href("invoices", "facture", &[("id".into(), "2020 05&x".into())]).as_deref(),
            Some("/services/invoices/facture?id=2020+05%26x")
        );
        assert_eq!(view_href("invoices", "../../admin", &[]), None);
        assert_eq!(view_href("invoices", "https://evil.example", &[]), None);
    }
}
