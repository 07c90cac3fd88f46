//! `/admin/modules`: the town's modules, for administrators — those it
//! uses, the releases it may use (with what each capability lets a module
//! reach), and the configuration form generated from a release's JSON
//! Schema (`modules::config_form`), which also enables a module or moves it
//! to another release. The service (`modules::town_admin`) writes, journals
//! and marks the module as the back-office's.

use rocket::Either;
use rocket::form::{self, DataField, FromForm, Options, ValueField};
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{Route, State, get, post, routes};
use serde::Serialize;
use serde_json::Value;

use super::{AdminPage, Checked, Csrf, CsrfForm, Staff, staff_page};
use crate::audit::Origin;
use crate::modules::config_form::{FieldErrors, FormAction, FormField, FormInput};
use crate::modules::registry::is_valid_module_id;
use crate::modules::town_admin::{ChangeRefused, Changed, OfferedRelease, TownModule};
use crate::modules::{Modules, Publisher};
use crate::staff::ManageTown;
use crate::web::kit::csrf::input_of;
use crate::web::kit::{Button, Page, PageError, refusal_message};

pub(super) fn routes() -> Vec<Route> {
    routes![modules, configuration, save, disable]
}

const PATH: &str = "/admin/modules";

/// Who vouches for a release, as an administrator reads it: the name the
/// operator gave the key that signed it, or that nobody does.
fn publisher_label(release: &OfferedRelease) -> String {
    match (release.publisher, &release.publisher_name) {
        (Publisher::Guichet, _) => "Guichet (module fourni avec Guichet, signé)".to_owned(),
        (Publisher::Signed, Some(name)) => {
            format!("{name} (signature vérifiée par l'hébergeur)")
        }
        (Publisher::Signed, None) => "Éditeur tiers (signature vérifiée)".to_owned(),
        (Publisher::Unsigned, _) => "Éditeur non vérifié (module non signé)".to_owned(),
    }
}

#[derive(Serialize)]
struct CapabilityView {
    reach: String,
}

fn capabilities(release: &OfferedRelease) -> Vec<CapabilityView> {
    release
        .manifest
        .capabilities
        .iter()
        .map(|capability| CapabilityView {
            reach: capability.reach(),
        })
        .collect()
}

#[derive(Serialize)]
struct EnabledView {
    module_id: String,
    name: String,
    version: String,
    publisher: String,
    edited: Option<String>,
}

#[derive(Serialize)]
struct ReleaseView {
    version: String,
    publisher: String,
    description: String,
    capabilities: Vec<CapabilityView>,
    current: bool,
    /// The configuration form that enables it or moves the module to it.
    href: String,
    action: &'static str,
}

#[derive(Serialize)]
struct OfferView {
    module_id: String,
    name: String,
    enabled: bool,
    releases: Vec<ReleaseView>,
}

#[derive(Serialize)]
struct ModulesView {
    csrf: String,
    enabled: Vec<EnabledView>,
    offers: Vec<OfferView>,
}

#[get("/modules")]
async fn modules(
    page: AdminPage,
    staff: Staff<ManageTown>,
    service: &State<Modules>,
    csrf: Csrf,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    let town = service.town_modules(&staff.tenant).await?;
    let timezone = staff.tenant.timezone;
    let enabled = town
        .enabled
        .iter()
        .map(|module| EnabledView {
            module_id: module.module_id.clone(),
            name: module.release.manifest.name.clone(),
            version: module.release.version.clone(),
            publisher: publisher_label(&module.release),
            edited: module
                .edited_at
                .map(|at| crate::format::date_time(&at.with_timezone(&timezone))),
        })
        .collect();
    let mut offers: Vec<OfferView> = Vec::new();
    for release in &town.offered {
        let is_enabled = town
            .enabled
            .iter()
            .any(|module| module.module_id == release.module_id);
        if offers
            .last()
            .is_none_or(|offer| offer.module_id != release.module_id)
        {
            offers.push(OfferView {
                module_id: release.module_id.clone(),
                name: release.manifest.name.clone(),
                enabled: is_enabled,
                releases: Vec::new(),
            });
        }
        if let Some(offer) = offers.last_mut() {
            offer.releases.push(ReleaseView {
                version: release.version.clone(),
                publisher: publisher_label(release),
                description: release.manifest.description.clone(),
                capabilities: capabilities(release),
                current: release.current,
                href: format!(
                    "{PATH}/{}/configuration?version={}",
                    release.module_id, release.id
                ),
                action: if is_enabled {
                    "Passer à cette version"
                } else {
                    "Activer cette version"
                },
            });
        }
    }
    let view = ModulesView {
        csrf: csrf.token().to_owned(),
        enabled,
        offers,
    };
    staff_page(page.with_flash(flash), &staff, &csrf).ok("admin/modules", "Modules", view)
}

#[derive(Serialize)]
struct SummaryError {
    id: String,
    label: String,
    message: String,
}

#[derive(Serialize)]
struct ConfigView {
    csrf: String,
    module_id: String,
    name: String,
    description: String,
    version: String,
    publisher: String,
    release_id: i32,
    /// Enabling the module (it is not enabled yet).
    enabling: bool,
    /// Moving from this version to the form's.
    from_version: Option<String>,
    capabilities: Vec<CapabilityView>,
    fields: Vec<FormField>,
    errors: Vec<SummaryError>,
    /// An error of the whole configuration or of the form (stale token).
    error: Option<String>,
}

fn collect_errors(fields: &[FormField], errors: &mut Vec<SummaryError>) {
    for field in fields {
        if let Some(message) = &field.error {
            errors.push(SummaryError {
                id: field.id.clone(),
                label: field.label.clone(),
                message: message.clone(),
            });
        }
        collect_errors(&field.children, errors);
        for item in &field.items {
            collect_errors(&item.fields, errors);
        }
    }
}

fn schema_of(release: &OfferedRelease) -> Value {
    serde_json::from_str(&release.manifest.config_schema)
        .unwrap_or_else(|_| serde_json::json!({"type": "object"}))
}

#[allow(clippy::too_many_arguments)]
fn render(
    page: AdminPage,
    staff: &Staff<ManageTown>,
    csrf: &Csrf,
    status: Status,
    release: &OfferedRelease,
    current: Option<&TownModule>,
    input: &FormInput,
    field_errors: &FieldErrors,
    error: Option<String>,
) -> Result<Page, PageError> {
    let fields = input.fields(&schema_of(release), field_errors);
    let mut errors = Vec::new();
    collect_errors(&fields, &mut errors);
    // An error no field shows (the root's) is said above the form.
    let error = error.or_else(|| {
        field_errors
            .get(crate::modules::config_form::ROOT)
            .filter(|_| errors.is_empty())
            .cloned()
    });
    let name = release.manifest.name.clone();
    let view = ConfigView {
        csrf: csrf.token().to_owned(),
        module_id: release.module_id.clone(),
        description: release.manifest.description.clone(),
        version: release.version.clone(),
        publisher: publisher_label(release),
        release_id: release.id,
        enabling: current.is_none(),
        from_version: current
            .filter(|current| current.release.id != release.id)
            .map(|current| current.release.version.clone()),
        capabilities: capabilities(release),
        fields,
        errors,
        error,
        name: name.clone(),
    };
    staff_page(page, staff, csrf).render(
        status,
        "admin/module_config",
        &format!("Configuration — {name}"),
        view,
    )
}

#[get("/modules/<module>/configuration?<version>")]
async fn configuration(
    page: AdminPage,
    staff: Staff<ManageTown>,
    service: &State<Modules>,
    csrf: Csrf,
    module: &str,
    version: Option<i32>,
) -> Result<Page, PageError> {
    if !is_valid_module_id(module) {
        return Err(PageError::not_found());
    }
    let Some((release, current)) = service.town_release(&staff.tenant, module, version).await?
    else {
        return Err(PageError::not_found());
    };
    let config = current
        .as_ref()
        .map_or(Value::Object(serde_json::Map::new()), |current| {
            current.config.clone()
        });
    let input = FormInput::from_config(&schema_of(&release), &config);
    render(
        page,
        &staff,
        &csrf,
        Status::Ok,
        &release,
        current.as_ref(),
        &input,
        &FieldErrors::new(),
        None,
    )
}

/// The configuration form as submitted: the release it is for, the button
/// pressed and every configuration field (names generated from the
/// schema, hence read raw).
#[derive(Debug, Default)]
struct ConfigForm {
    release: Option<i32>,
    action: Option<String>,
    fields: Vec<(String, String)>,
}

#[rocket::async_trait]
impl<'r> FromForm<'r> for ConfigForm {
    type Context = ConfigForm;

    fn init(_: Options) -> Self::Context {
        <ConfigForm as Default>::default()
    }

    fn push_value(ctxt: &mut Self::Context, field: ValueField<'r>) {
        let name = field.name.source().as_str();
        match name {
            "release" => ctxt.release = field.value.trim().parse().ok(),
            FormAction::FIELD => ctxt.action = Some(field.value.to_owned()),
            _ => ctxt.fields.push((name.to_owned(), field.value.to_owned())),
        }
    }

    async fn push_data(_: &mut Self::Context, _: DataField<'r, '_>) {}

    fn finalize(ctxt: Self::Context) -> form::Result<'r, Self> {
        Ok(ctxt)
    }
}

#[post("/modules/<module>/configuration", data = "<form>")]
#[allow(clippy::too_many_arguments)]
async fn save<'r>(
    page: AdminPage,
    staff: Staff<ManageTown>,
    service: &State<Modules>,
    csrf: Csrf,
    origin: Origin,
    module: &str,
    form: Checked<'r, ConfigForm>,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
    let (form, refused) = input_of(form)?;
    if !is_valid_module_id(module) {
        return Err(PageError::not_found());
    }
    let release_id = match (form.release, refused) {
        (Some(id), _) => id,
        // Not this form's (no release): the refusal, else a bad request.
        (None, Some(status)) => return Err(PageError::status(status)),
        (None, None) => return Err(PageError::bad_request()),
    };
    let Some((release, current)) = service
        .town_release(&staff.tenant, module, Some(release_id))
        .await?
    else {
        return Err(PageError::not_found());
    };
    let mut input = FormInput::from_pairs(form.fields);
    let show = |status: Status, input: &FormInput, errors: &FieldErrors, error: Option<String>| {
        render(
            page,
            &staff,
            &csrf,
            status,
            &release,
            current.as_ref(),
            input,
            errors,
            error,
        )
        .map(Either::Left)
    };
    if let Some(status) = refused {
        return show(
            status,
            &input,
            &FieldErrors::new(),
            Some(refusal_message(status).to_owned()),
        );
    }
    match FormAction::parse(form.action.as_deref()) {
        FormAction::Add(list) => {
            input.add_line(&list);
            return show(Status::Ok, &input, &FieldErrors::new(), None);
        }
        FormAction::Remove(line) => {
            input.remove_line(&line);
            return show(Status::Ok, &input, &FieldErrors::new(), None);
        }
        FormAction::Save => {}
    }
    let config = match input.check(&schema_of(&release)) {
        Ok(config) => config,
        Err(errors) => return show(Status::UnprocessableEntity, &input, &errors, None),
    };
    let name = release.manifest.name.clone();
    let outcome = service
        .save_town_module(
            &staff.tenant,
            module,
            release.id,
            &config,
            staff.actor(),
            &origin,
        )
        .await?;
    let message = match outcome {
        Ok(Changed::Enabled) => format!(
            "Module « {name} » activé en version {} : les usagers le voient dès leur prochaine page.",
            release.version
        ),
        Ok(Changed::ReleaseChanged) => format!(
            "Module « {name} » : la version {} est en service, avec la configuration enregistrée.",
            release.version
        ),
        Ok(Changed::Configured) => format!(
            "Configuration de « {name} » enregistrée : elle s'applique dès la prochaine page des usagers."
        ),
        Ok(Changed::Nothing) => {
            format!("Aucun changement : « {name} » était déjà ainsi configuré.")
        }
        Err(ChangeRefused::Invalid(_)) => {
            return show(
                Status::UnprocessableEntity,
                &input,
                &FieldErrors::new(),
                Some("Cette configuration n'est pas acceptée par le module.".to_owned()),
            );
        }
        Err(ChangeRefused::NotOffered | ChangeRefused::NotEnabled) => {
            return Err(PageError::not_found());
        }
    };
    Ok(Either::Right(Flash::success(Redirect::to(PATH), message)))
}

#[post("/modules/<module>/desactiver", data = "<form>")]
async fn disable(
    staff: Staff<ManageTown>,
    service: &State<Modules>,
    origin: Origin,
    module: &str,
    form: CsrfForm<Button>,
) -> Result<Flash<Redirect>, PageError> {
    let _ = form;
    if !is_valid_module_id(module) {
        return Err(PageError::not_found());
    }
    match service
        .disable_town_module(&staff.tenant, module, staff.actor(), &origin)
        .await?
    {
        Ok(()) => Ok(Flash::success(
            Redirect::to(PATH),
            format!(
                "Module « {module} » désactivé : les usagers ne le voient plus. Ses données sont gardées."
            ),
        )),
        Err(_) => Err(PageError::not_found()),
    }
}
