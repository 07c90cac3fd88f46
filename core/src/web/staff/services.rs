//! `/admin/services`: the town's modules' staff views and actions
//! (interface 0.2.0 `render-staff` and `act-staff`), in the back-office
//! layout. Every member of the staff reaches the list; each view and action
//! needs the least role its module declared (agent < gestionnaire <
//! administrateur) — a role the module chooses, so it is checked here
//! against the manifest rather than by a permission type, answering 403
//! with the face's error page. A module's failure is the page's
//! "indisponible", never the back-office's; what a staff action writes is
//! journaled as the member's (modules::Modules::act_staff).

use rocket::Either;
use rocket::http::uri::Origin as RequestUri;
use rocket::http::{ContentType, Header, Status};
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{Route, State, get, post, routes};
use serde::Serialize;

use super::{AdminPage, Checked, Csrf, Staff, staff_page};
use crate::audit::Origin;
use crate::modules::registry::is_valid_module_id;
use crate::modules::{
    ActError, ActOutcome, CallFailure, EnabledModule, Modules, View, ViewRequest,
};
use crate::staff::EnterBackOffice;
use crate::web::kit::module_view::{ModuleFields, ViewFace, ViewHtml, with_values};
use crate::web::kit::{Page, PageError, flash_with_details, refusal_message};

pub(super) fn routes() -> Vec<Route> {
    routes![services, staff_view, staff_view_csv, staff_action]
}

#[derive(Debug, Serialize)]
struct ServiceLink {
    title: String,
    href: String,
}

#[derive(Debug, Serialize)]
struct ModuleServices {
    name: String,
    views: Vec<ServiceLink>,
}

#[derive(Debug, Serialize)]
struct ServicesList {
    modules: Vec<ModuleServices>,
}

/// The staff views of the town's modules that the member's role opens.
#[get("/services")]
async fn services(
    page: AdminPage,
    staff: Staff<EnterBackOffice>,
    modules: &State<Modules>,
    csrf: Csrf,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    let role = staff.member.role;
    let listed = modules
        .enabled(&staff.tenant)
        .await?
        .into_iter()
        .filter_map(|module| {
            let views: Vec<ServiceLink> = module
                .manifest
                .staff_views
                .iter()
                .filter(|view| EnabledModule::staff_may(role, view.role))
                .filter_map(|view| {
                    Some(ServiceLink {
                        title: view.title.clone(),
                        href: crate::modules::staff_view_path(&module.module_id, &view.id, &[])?,
                    })
                })
                .collect();
            (!views.is_empty()).then(|| ModuleServices {
                name: module.manifest.name.clone(),
                views,
            })
        })
        .collect();
    staff_page(page.with_flash(flash), &staff, &csrf).render(
        Status::Ok,
        "admin/services",
        "Services",
        ServicesList { modules: listed },
    )
}

#[derive(Debug, Serialize)]
struct StaffServiceView {
    module_name: String,
    view: Option<ViewHtml>,
    /// The view's tables as CSV, when it has any.
    csv_href: Option<String>,
    /// What the member submitted, shown back when the module could not
    /// take it.
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

/// The module, if the town enabled it.
async fn enabled(
    modules: &Modules,
    staff: &Staff<EnterBackOffice>,
    module_id: &str,
) -> Result<EnabledModule, PageError> {
    if !is_valid_module_id(module_id) {
        return Err(PageError::not_found());
    }
    modules
        .enabled_module(&staff.tenant, module_id)
        .await?
        .ok_or_else(PageError::not_found)
}

/// A staff view the member's role opens: 404 when the module declares no
/// such view, 403 when the role is below the declared one.
fn check_view(
    module: &EnabledModule,
    staff: &Staff<EnterBackOffice>,
    view: &str,
) -> Result<(), PageError> {
    let declared = module.staff_view(view).ok_or_else(PageError::not_found)?;
    if !EnabledModule::staff_may(staff.member.role, declared.role) {
        return Err(PageError::forbidden());
    }
    Ok(())
}

fn show_view(
    page: AdminPage,
    staff: &Staff<EnterBackOffice>,
    csrf: &Csrf,
    module: &EnabledModule,
    view_id: &str,
    view: &View,
    status: Status,
) -> Result<Page, PageError> {
    show_view_with(page, staff, csrf, module, view_id, view, status, &[])
}

/// [`show_view`], with the view's parameters for its CSV link.
#[allow(clippy::too_many_arguments)]
fn show_view_with(
    page: AdminPage,
    staff: &Staff<EnterBackOffice>,
    csrf: &Csrf,
    module: &EnabledModule,
    view_id: &str,
    view: &View,
    status: Status,
    params: &[(String, String)],
) -> Result<Page, PageError> {
    let has_table = view
        .blocks
        .iter()
        .any(|block| matches!(block, crate::modules::Block::Table(_)));
    let csv_href = has_table
        .then(|| crate::modules::staff_view_path(&module.module_id, view_id, params))
        .flatten()
        .map(|path| match path.split_once('?') {
            Some((path, query)) => format!("{path}/csv?{query}"),
            None => format!("{path}/csv"),
        });
    let title = if view.title.trim().is_empty() {
        module.manifest.name.clone()
    } else {
        view.title.clone()
    };
    staff_page(page, staff, csrf).render(
        status,
        "admin/service",
        &title,
        StaffServiceView {
            module_name: module.manifest.name.clone(),
            view: Some(ViewHtml::of(
                view,
                &module.module_id,
                csrf.token(),
                false,
                ViewFace::Staff { view: view_id },
            )),
            submitted: Vec::new(),
            csv_href,
        },
    )
}

fn unavailable(
    page: AdminPage,
    staff: &Staff<EnterBackOffice>,
    csrf: &Csrf,
    module: &EnabledModule,
    submitted: Vec<(String, String)>,
) -> Result<Page, PageError> {
    staff_page(page, staff, csrf).render(
        Status::ServiceUnavailable,
        "admin/service",
        &format!("{} (indisponible)", module.manifest.name),
        StaffServiceView {
            module_name: module.manifest.name.clone(),
            view: None,
            submitted,
            csv_href: None,
        },
    )
}

#[get("/services/<module_id>/<view>")]
#[allow(clippy::too_many_arguments)]
async fn staff_view(
    module_id: &str,
    view: &str,
    uri: &RequestUri<'_>,
    page: AdminPage,
    staff: Staff<EnterBackOffice>,
    modules: &State<Modules>,
    csrf: Csrf,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    let module = enabled(modules, &staff, module_id).await?;
    check_view(&module, &staff, view)?;
    let request = ViewRequest {
        view: view.to_owned(),
        params: query_params(uri),
    };
    let page = page.with_flash(flash);
    match modules
        .render_staff(&staff.tenant, &module, &staff.member, &request)
        .await
    {
        Ok(rendered) => show_view_with(
            page,
            &staff,
            &csrf,
            &module,
            view,
            &rendered,
            Status::Ok,
            &request.params,
        ),
        Err(CallFailure::NotFound(_)) => Err(PageError::not_found()),
        Err(_) => unavailable(page, &staff, &csrf, &module, Vec::new()),
    }
}

/// A staff view's tables as a CSV file (e.g. the children booked on a day):
/// the same view, the same role, the same parameters.
#[get("/services/<module_id>/<view>/csv")]
async fn staff_view_csv(
    module_id: &str,
    view: &str,
    uri: &RequestUri<'_>,
    staff: Staff<EnterBackOffice>,
    modules: &State<Modules>,
) -> Result<CsvDownload, PageError> {
    let module = enabled(modules, &staff, module_id).await?;
    check_view(&module, &staff, view)?;
    let request = ViewRequest {
        view: view.to_owned(),
        params: query_params(uri),
    };
    let rendered = match modules
        .render_staff(&staff.tenant, &module, &staff.member, &request)
        .await
    {
        Ok(rendered) => rendered,
        Err(CallFailure::NotFound(_)) => return Err(PageError::not_found()),
        Err(_) => return Err(PageError::status(Status::ServiceUnavailable)),
    };
    let body = crate::web::kit::module_view::tables_csv(&rendered)
        .map_err(|_| PageError::status(Status::InternalServerError))?
        .ok_or_else(PageError::not_found)?;
    // The file is named after the view and its parameters' values (e.g.
    // "bookings-jour-cantine-2026-06-08.csv"), in letters, digits and
    // hyphens only.
    let mut name = format!("{module_id}-{view}");
    for (_, value) in &request.params {
        let cleaned: String = value
            .chars()
            .map(|character| {
                if character.is_ascii_alphanumeric() {
                    character
                } else {
                    '-'
                }
            })
            .take(40)
            .collect();
        if !cleaned.trim_matches('-').is_empty() {
            name.push('-');
            name.push_str(cleaned.trim_matches('-'));
        }
    }
    Ok(CsvDownload {
        body,
        content_type: ContentType::new("text", "csv").with_params(("charset", "utf-8")),
        disposition: Header::new(
            "Content-Disposition",
            format!("attachment; filename=\"{name}.csv\""),
        ),
    })
}

/// A CSV file to save.
#[derive(rocket::Responder)]
struct CsvDownload {
    body: Vec<u8>,
    content_type: ContentType,
    disposition: Header<'static>,
}

/// A staff action: `?vue=` names the staff view the form was on, shown
/// again (with the input) when the form is refused before the module sees
/// it.
#[post("/services/<module_id>/<action>?<vue>", data = "<form>")]
#[allow(clippy::too_many_arguments)]
async fn staff_action(
    module_id: &str,
    action: &str,
    vue: Option<&str>,
    page: AdminPage,
    staff: Staff<EnterBackOffice>,
    modules: &State<Modules>,
    csrf: Csrf,
    origin: Origin,
    form: Checked<'_, ModuleFields>,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
    let form = match form {
        Ok(form) => Ok(form.into_inner().0),
        Err(refused) => Err(refused.stale_input()?),
    };
    let fields = match form {
        Ok(fields) => fields,
        // An old page or another site: the view the form was on again,
        // input kept; the refusal's page when there is none to show.
        Err((ModuleFields(fields), status)) => {
            return refused_again(
                page, &staff, modules, &csrf, module_id, action, vue, fields, status,
            )
            .await
            .map(Either::Left);
        }
    };
    let module = enabled(modules, &staff, module_id).await?;
    let declared = module
        .staff_action(action)
        .ok_or_else(PageError::not_found)?;
    if !EnabledModule::staff_may(staff.member.role, declared.role) {
        return Err(PageError::forbidden());
    }
    match modules
        .act_staff(
            &staff.tenant,
            &module,
            &staff.member,
            action,
            &fields,
            &origin,
        )
        .await
    {
        Ok(ActOutcome::Done {
            notice,
            details,
            next,
            ..
        }) => {
            let target =
                crate::modules::staff_view_path(&module.module_id, &next.view, &next.params)
                    .unwrap_or_else(|| "/admin/services".to_owned());
            Ok(Either::Right(Flash::success(
                Redirect::to(target),
                flash_with_details(&notice.text, &details),
            )))
        }
        Ok(ActOutcome::Invalid(view)) => {
            let view_id = vue.unwrap_or(action);
            show_view(
                page,
                &staff,
                &csrf,
                &module,
                view_id,
                &view,
                Status::UnprocessableEntity,
            )
            .map(Either::Left)
        }
        Err(ActError::Call(CallFailure::NotFound(_))) => Err(PageError::not_found()),
        Err(error) => {
            tracing::warn!(module = %module.module_id, "module staff action failed: {error}");
            unavailable(page, &staff, &csrf, &module, fields).map(Either::Left)
        }
    }
}

/// A staff form refused before the module saw it (no or a foreign CSRF
/// token): the staff view named by `?vue=` again with what was typed, when
/// the member may see it; the refusal's error page otherwise.
#[allow(clippy::too_many_arguments)]
async fn refused_again(
    page: AdminPage,
    staff: &Staff<EnterBackOffice>,
    modules: &Modules,
    csrf: &Csrf,
    module_id: &str,
    action: &str,
    vue: Option<&str>,
    fields: Vec<(String, String)>,
    status: Status,
) -> Result<Page, PageError> {
    let module = match modules.enabled_module(&staff.tenant, module_id).await? {
        Some(module) if is_valid_module_id(module_id) => module,
        _ => return Err(PageError::status(status)),
    };
    let role = staff.member.role;
    let may_act = module
        .staff_action(action)
        .is_some_and(|declared| EnabledModule::staff_may(role, declared.role));
    let view_id = vue.filter(|view| {
        module
            .staff_view(view)
            .is_some_and(|declared| EnabledModule::staff_may(role, declared.role))
    });
    let (true, Some(view_id)) = (may_act, view_id) else {
        return Err(PageError::status(status));
    };
    let request = ViewRequest {
        view: view_id.to_owned(),
        params: Vec::new(),
    };
    let page = page.with_flash_text(refusal_message(status));
    match modules
        .render_staff(&staff.tenant, &module, &staff.member, &request)
        .await
    {
        Ok(view) => show_view(
            page,
            staff,
            csrf,
            &module,
            view_id,
            &with_values(view, &fields),
            status,
        ),
        Err(_) => unavailable(page, staff, csrf, &module, fields),
    }
}
