//! The pages of service modules: their tiles on "Mon accueil", each view
//! as a page (`/services/<module>/<view>`), and their forms
//! (`POST /services/<module>/actions/<action>`).
//!
//! A module answers data; this file turns it into what the theme renders
//! (`partials/module_view`): text is escaped by the templates, links only
//! ever point to the module's own views, forms always carry the CSRF token.
//! A module that fails shows "indisponible"; the rest of the page renders.

use std::sync::Arc;

use rocket::form::{self, DataField, FromForm, ValueField};
use rocket::http::Status;
use rocket::http::uri::Origin as RequestUri;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{Either, Route, State, get, post, routes};
use serde::Serialize;

use super::{Checked, Csrf, PageError, Resident, TownPage, resident_page};
use crate::accounts::entity::account;
use crate::modules::{
    ActError, ActOutcome, Block, CallFailure, EnabledModule, FieldKind, Modules, Slot, Tone, Value,
    View, ViewRequest,
};
use crate::tenancy::Tenant;
use crate::web::kit::{Page, refusal_message};

pub fn routes() -> Vec<Route> {
    routes![service_page, service_action]
}

/// A tile on the home page.
#[derive(Debug, Serialize)]
pub struct TileView {
    pub title: String,
    pub href: String,
    /// None when the module failed: "indisponible".
    pub view: Option<ViewHtml>,
}

/// The home page's module tiles, by slot.
#[derive(Debug, Default, Serialize)]
pub struct Tiles {
    pub dashboard: Vec<TileView>,
    pub family: Vec<TileView>,
}

/// Renders every tile of the town's modules, all at once.
pub async fn home_tiles(
    modules: &Modules,
    tenant: &Arc<Tenant>,
    account: &account::Model,
    csrf: &Csrf,
) -> Result<Tiles, sea_orm::DbErr> {
    let enabled = modules.enabled(tenant).await?;
    let mut wanted = Vec::new();
    for module in &enabled {
        for tile in &module.manifest.tiles {
            wanted.push((module, tile));
        }
    }
    let rendered = rocket::futures::future::join_all(wanted.iter().map(|(module, tile)| {
        let request = ViewRequest {
            view: tile.id.clone(),
            params: Vec::new(),
        };
        async move {
            modules
                .render(tenant, module, Some(account), &request)
                .await
        }
    }))
    .await;
    let mut tiles = Tiles::default();
    for ((module, tile), outcome) in wanted.into_iter().zip(rendered) {
        let view = outcome
            .ok()
            .map(|view| ViewHtml::of(&view, &module.module_id, csrf.token(), true));
        let tile_view = TileView {
            title: tile.title.clone(),
            href: view_href(&module.module_id, &tile.id, &[]).unwrap_or_default(),
            view,
        };
        match tile.slot {
            Slot::Dashboard => tiles.dashboard.push(tile_view),
            Slot::Family => tiles.family.push(tile_view),
        }
    }
    Ok(tiles)
}

/// `/services/<module>/<view>?<params>`, when both names are plain.
fn view_href(module_id: &str, view: &str, params: &[(String, String)]) -> Option<String> {
    if !is_plain_name(module_id) || !is_plain_name(view) {
        return None;
    }
    let mut href = format!("/services/{module_id}/{view}");
    if !params.is_empty() {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        href.push('?');
        href.push_str(&query);
    }
    Some(href)
}

fn is_plain_name(name: &str) -> bool {
    crate::modules::registry::is_valid_module_id(name)
}

#[derive(Debug, Serialize)]
pub struct ViewHtml {
    title: String,
    /// Inside a tile of the home page (headings one level lower).
    in_tile: bool,
    blocks: Vec<BlockHtml>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum BlockHtml {
    Heading {
        text: String,
    },
    Paragraph {
        text: String,
    },
    KeyValues {
        pairs: Vec<PairHtml>,
    },
    Table {
        caption: String,
        headers: Vec<String>,
        rows: Vec<Vec<ValueHtml>>,
    },
    Notice {
        tone: &'static str,
        text: String,
    },
    Link {
        label: String,
        href: Option<String>,
    },
    Form {
        href: Option<String>,
        submit_label: String,
        csrf: String,
        fields: Vec<FieldHtml>,
        errors: Vec<ErrorLink>,
    },
}

#[derive(Debug, Serialize)]
struct PairHtml {
    key: String,
    value: ValueHtml,
}

#[derive(Debug, Serialize)]
struct ValueHtml {
    text: String,
    href: Option<String>,
    tone: Option<&'static str>,
    numeric: bool,
    /// Kept on one line (dates).
    date: bool,
}

#[derive(Debug, Serialize)]
struct ChoiceHtml {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Debug, Serialize)]
struct FieldHtml {
    id: String,
    name: String,
    label: String,
    kind: &'static str,
    value: String,
    required: bool,
    hint: Option<String>,
    error: Option<String>,
    choices: Vec<ChoiceHtml>,
}

#[derive(Debug, Serialize)]
struct ErrorLink {
    id: String,
    label: String,
    error: String,
}

fn tone_name(tone: Tone) -> &'static str {
    match tone {
        Tone::Info => "info",
        Tone::Success => "success",
        Tone::Warning => "warning",
        Tone::Error => "error",
    }
}

impl ValueHtml {
    fn of(value: &Value, module_id: &str) -> Self {
        let plain = |text: String| Self {
            text,
            href: None,
            tone: None,
            numeric: false,
            date: false,
        };
        match value {
            Value::Text(text) => plain(text.clone()),
            Value::Amount(cents) => Self {
                numeric: true,
                ..plain(crate::format::amount(*cents))
            },
            Value::Date(iso) => Self {
                date: true,
                ..plain(crate::format::iso_date(iso))
            },
            Value::Link(link) => Self {
                href: view_href(module_id, &link.view, &link.params),
                ..plain(link.label.clone())
            },
            Value::Status(notice) => Self {
                tone: Some(tone_name(notice.tone)),
                ..plain(notice.text.clone())
            },
        }
    }
}

impl ViewHtml {
    pub fn of(view: &View, module_id: &str, csrf: &str, in_tile: bool) -> Self {
        let blocks = view
            .blocks
            .iter()
            .map(|block| match block {
                Block::Heading(text) => BlockHtml::Heading { text: text.clone() },
                Block::Paragraph(text) => BlockHtml::Paragraph { text: text.clone() },
                Block::KeyValues(pairs) => BlockHtml::KeyValues {
                    pairs: pairs
                        .iter()
                        .map(|pair| PairHtml {
                            key: pair.key.clone(),
                            value: ValueHtml::of(&pair.value, module_id),
                        })
                        .collect(),
                },
                Block::Table(table) => BlockHtml::Table {
                    caption: table.caption.clone(),
                    headers: table.headers.clone(),
                    rows: table
                        .rows
                        .iter()
                        .map(|row| {
                            row.iter()
                                .map(|value| ValueHtml::of(value, module_id))
                                .collect()
                        })
                        .collect(),
                },
                Block::Notice(notice) => BlockHtml::Notice {
                    tone: tone_name(notice.tone),
                    text: notice.text.clone(),
                },
                Block::Link(link) => BlockHtml::Link {
                    label: link.label.clone(),
                    href: view_href(module_id, &link.view, &link.params),
                },
                Block::Form(form) => {
                    let fields: Vec<FieldHtml> = form
                        .fields
                        .iter()
                        .map(|field| {
                            let (kind, choices) = match &field.kind {
                                FieldKind::Text => ("text", Vec::new()),
                                FieldKind::LongText => ("textarea", Vec::new()),
                                FieldKind::Number => ("number", Vec::new()),
                                FieldKind::Date => ("date", Vec::new()),
                                FieldKind::Select(choices) => (
                                    "select",
                                    choices
                                        .iter()
                                        .map(|choice| ChoiceHtml {
                                            selected: choice.value == field.value,
                                            value: choice.value.clone(),
                                            label: choice.label.clone(),
                                        })
                                        .collect(),
                                ),
                            };
                            FieldHtml {
                                id: format!("{module_id}-{}-{}", form.action, field.name),
                                name: field.name.clone(),
                                label: field.label.clone(),
                                kind,
                                value: field.value.clone(),
                                required: field.required,
                                hint: field.hint.clone(),
                                error: field.error.clone(),
                                choices,
                            }
                        })
                        .collect();
                    let errors = fields
                        .iter()
                        .filter_map(|field| {
                            field.error.as_ref().map(|error| ErrorLink {
                                id: field.id.clone(),
                                label: field.label.clone(),
                                error: error.clone(),
                            })
                        })
                        .collect();
                    BlockHtml::Form {
                        href: is_plain_name(&form.action)
                            .then(|| format!("/services/{module_id}/actions/{}", form.action)),
                        submit_label: form.submit_label.clone(),
                        csrf: csrf.to_owned(),
                        fields,
                        errors,
                    }
                }
            })
            .collect();
        Self {
            title: view.title.clone(),
            in_tile,
            blocks,
        }
    }
}

#[derive(Debug, Serialize)]
struct ServiceView {
    module_name: String,
    view: Option<ViewHtml>,
    /// What the resident submitted, shown back when the module could not
    /// take it (so nothing typed is lost).
    submitted: Vec<(String, String)>,
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
) -> Result<Page, PageError> {
    page.render(
        Status::ServiceUnavailable,
        "pages/service",
        &format!("{} (indisponible)", module.manifest.name),
        ServiceView {
            module_name: module.manifest.name.clone(),
            view: None,
            submitted,
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
    flash: Option<FlashMessage<'_>>,
) -> Result<Option<Page>, PageError> {
    let Some(module) = enabled(modules, &resident.tenant, module_id).await? else {
        return Ok(None);
    };
    let page = resident_page(page.with_flash(flash), &resident, &csrf);
    let request = ViewRequest {
        view: view.to_owned(),
        params: query_params(uri),
    };
    match modules
        .render(&resident.tenant, &module, Some(&resident.account), &request)
        .await
    {
        Ok(rendered) => Ok(Some(show_view(
            &page,
            &module,
            &rendered,
            csrf.token(),
            Status::Ok,
        )?)),
        Err(CallFailure::NotFound(_)) => Ok(None),
        Err(_) => Ok(Some(unavailable_page(&page, &module, Vec::new())?)),
    }
}

fn show_view(
    page: &TownPage,
    module: &EnabledModule,
    view: &View,
    csrf: &str,
    status: Status,
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
            view: Some(ViewHtml::of(view, &module.module_id, csrf, false)),
            submitted: Vec::new(),
        },
    )
}

/// A module's form: its fields as posted, in order (a module declares its
/// own field names, so the host cannot name them in a struct).
#[derive(Debug, Default)]
struct ModuleFields(Vec<(String, String)>);

#[rocket::async_trait]
impl<'r> FromForm<'r> for ModuleFields {
    type Context = (Self, form::Errors<'r>);

    fn init(_: form::Options) -> Self::Context {
        (ModuleFields(Vec::new()), form::Errors::new())
    }

    fn push_value(ctxt: &mut Self::Context, field: ValueField<'r>) {
        ctxt.0.0.push((
            field.name.source().as_str().to_owned(),
            field.value.to_owned(),
        ));
    }

    async fn push_data(ctxt: &mut Self::Context, field: DataField<'r, '_>) {
        // Modules' forms are never multipart: a file is refused.
        ctxt.1
            .push(form::Error::from(form::error::ErrorKind::Unexpected).with_name(field.name));
    }

    fn push_error(ctxt: &mut Self::Context, error: form::Error<'r>) {
        ctxt.1.push(error);
    }

    fn finalize((fields, errors): Self::Context) -> form::Result<'r, Self> {
        if errors.is_empty() {
            Ok(fields)
        } else {
            Err(errors)
        }
    }
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
                )?,
                Err(_) => unavailable_page(&page, &module, fields)?,
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
            next,
            references,
        }) => {
            let mut message = notice.text;
            for reference in references {
                message.push_str(&format!(" Référence de votre demande : {reference}."));
            }
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
        )?))),
        Err(ActError::Call(CallFailure::NotFound(_))) => Ok(None),
        Err(error) => {
            tracing::warn!(module = %module.module_id, "module action failed: {error}");
            Ok(Some(Either::Left(unavailable_page(
                &page, &module, fields,
            )?)))
        }
    }
}

/// The view's forms with the values the resident submitted.
fn with_values(mut view: View, fields: &[(String, String)]) -> View {
    for block in &mut view.blocks {
        if let Block::Form(form) = block {
            for field in &mut form.fields {
                if let Some((_, value)) = fields.iter().find(|(name, _)| *name == field.name) {
                    field.value = value.clone();
                }
            }
        }
    }
    view
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
