//! `/admin/paiements`: the town's online payments for its staff (agents
//! and up) — filters (state, dates, resident), pages newest first, the CSV
//! of the same filter (`/admin/paiements/export`), each payment with every
//! answer of the provider (`/admin/paiements/<id>`) and a button that asks
//! the provider again; and the settings (`/admin/paiements/reglages`,
//! administrators).

use chrono::{DateTime, Utc};
use rocket::form::FromForm;
use rocket::http::{ContentType, Header, Status};
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{Either, Route, State, get, post, routes};
use serde::Serialize;

use super::{
    AdminPage, Csrf, CsrfForm, FieldError, Staff, day_range, resident_filter, staff_page,
    with_query,
};
use crate::audit::{Journal, Origin};
use crate::payments::entity::payment;
use crate::payments::{
    AnswerSource, PaymentFilter, PaymentState, Payments, Saisie, SettingsError, SettingsInput,
};
use crate::staff::{ManageTown, ReadPayments};
use crate::tenancy::Tenant;
use crate::web::kit::csrf::Button;
use crate::web::kit::{Page, PageError};

pub(super) fn routes() -> Vec<Route> {
    routes![list, export, detail, verify, settings_form, settings_save]
}

/// Payments per page.
const PAGE: u64 = 50;

#[derive(Debug, Default, FromForm)]
struct Query {
    etat: Option<String>,
    usager: Option<String>,
    du: Option<String>,
    au: Option<String>,
    apres: Option<i32>,
}

#[derive(Debug, Serialize)]
struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Debug, Default, Serialize)]
struct FormView {
    states: Vec<Choice>,
    usager: String,
    usager_error: Option<String>,
    du: String,
    du_error: Option<String>,
    au: String,
    au_error: Option<String>,
}

#[derive(Debug, Serialize)]
struct RowView {
    id: i32,
    href: String,
    created: String,
    created_iso: String,
    state: &'static str,
    tone: &'static str,
    resident: String,
    label: String,
    amount: String,
    event_pending: bool,
    test: bool,
}

#[derive(Debug, Serialize)]
struct ListView {
    form: FormView,
    errors: Vec<FieldError>,
    rows: Option<Vec<RowView>>,
    next: Option<String>,
    first: Option<String>,
    export: String,
    enabled: bool,
    /// Enabled in PayFiP's test environment: residents "pay" without any
    /// money moving.
    test_mode: bool,
    may_configure: bool,
}

struct Filters {
    filter: PaymentFilter,
    form: FormView,
    errors: Vec<FieldError>,
    query: String,
}

impl Filters {
    async fn check(query: &Query, tenant: &Tenant, journal: &Journal) -> Result<Self, PageError> {
        let text = |value: &Option<String>| value.as_deref().unwrap_or_default().trim().to_owned();
        let mut filter = PaymentFilter::default();
        let mut form = FormView::default();
        let state = text(&query.etat);
        filter.state = PaymentState::parse(&state);
        form.states = std::iter::once(Choice {
            value: "",
            label: "Tous les états",
            selected: filter.state.is_none(),
        })
        .chain(PaymentState::ALL.into_iter().map(|each| Choice {
            value: each.as_str(),
            label: each.label(),
            selected: filter.state == Some(each),
        }))
        .collect();
        form.usager = text(&query.usager);
        (filter.account_id, form.usager_error) =
            resident_filter(journal, tenant, &form.usager).await?;
        form.du = text(&query.du);
        form.au = text(&query.au);
        let range = day_range(tenant, &form.du, &form.au);
        (filter.from, filter.until) = (range.from, range.until);
        (form.du_error, form.au_error) = (range.du_error, range.au_error);
        let errors = [
            ("usager", &form.usager_error),
            ("du", &form.du_error),
            ("au", &form.au_error),
        ]
        .into_iter()
        .filter_map(|(field, error)| {
            error.as_ref().map(|message| FieldError {
                field,
                message: message.clone(),
            })
        })
        .collect();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                [
                    ("etat", filter.state.map_or("", PaymentState::as_str)),
                    ("usager", form.usager.as_str()),
                    ("du", form.du.as_str()),
                    ("au", form.au.as_str()),
                ]
                .into_iter()
                .filter(|(_, value)| !value.is_empty()),
            )
            .finish();
        Ok(Self {
            filter,
            form,
            errors,
            query,
        })
    }
}

fn local(tenant: &Tenant, at: DateTime<Utc>) -> (String, String) {
    let at = at.with_timezone(&tenant.timezone);
    (crate::format::date_time(&at), at.to_rfc3339())
}

#[get("/paiements?<query..>")]
async fn list(
    page: AdminPage,
    staff: Staff<ReadPayments>,
    csrf: Csrf,
    payments: &State<Payments>,
    journal: &State<Journal>,
    flash: Option<FlashMessage<'_>>,
    query: Query,
) -> Result<Page, PageError> {
    let tenant = &staff.tenant;
    let settings = payments.settings(tenant).await?;
    let filters = Filters::check(&query, tenant, journal).await?;
    let (rows, next, status) = if filters.errors.is_empty() {
        let found = payments
            .page(tenant, &filters.filter, query.apres, PAGE)
            .await?;
        let rows = found
            .payments
            .iter()
            .map(|row| {
                let (created, created_iso) = local(tenant, row.created_at);
                RowView {
                    id: row.id,
                    href: format!("/admin/paiements/{}", row.id),
                    created,
                    created_iso,
                    state: row.state.label(),
                    tone: row.state.tone(),
                    resident: row.resident_identifier.clone(),
                    label: row.label.clone(),
                    amount: crate::format::amount(row.amount_cents),
                    event_pending: row.state == PaymentState::Paid
                        && row.event_delivered_at.is_none(),
                    test: row.saisie == Saisie::Test,
                }
            })
            .collect();
        let next = found
            .next
            .map(|after| with_query("/admin/paiements", &filters.query, Some(&after.to_string())));
        (Some(rows), next, Status::Ok)
    } else {
        (None, None, Status::UnprocessableEntity)
    };
    let view = ListView {
        first: query
            .apres
            .map(|_| with_query("/admin/paiements", &filters.query, None)),
        export: with_query("/admin/paiements/export", &filters.query, None),
        form: filters.form,
        errors: filters.errors,
        rows,
        next,
        enabled: settings.is_active(),
        test_mode: settings.is_active() && settings.saisie == Saisie::Test,
        may_configure: staff.member.role.may::<ManageTown>(),
    };
    staff_page(page.with_flash(flash), &staff, &csrf).render(
        status,
        "admin/payments",
        "Paiements",
        view,
    )
}

/// The CSV file and the name it is saved under.
#[derive(Debug, rocket::Responder)]
struct CsvDownload {
    body: Vec<u8>,
    content_type: ContentType,
    disposition: Header<'static>,
}

/// The payments of the same filter as CSV (refused filters: the page with
/// its messages).
#[get("/paiements/export?<query..>")]
#[allow(clippy::too_many_arguments)]
async fn export(
    page: AdminPage,
    staff: Staff<ReadPayments>,
    csrf: Csrf,
    payments: &State<Payments>,
    journal: &State<Journal>,
    query: Query,
) -> Result<Either<Page, CsvDownload>, PageError> {
    let tenant = staff.tenant.clone();
    let filters = Filters::check(&query, &tenant, journal).await?;
    if !filters.errors.is_empty() {
        return list(page, staff, csrf, payments, journal, None, query)
            .await
            .map(Either::Left);
    }
    let body = payments
        .export_csv(&tenant, &filters.filter)
        .await
        .map_err(|error| match error {
            crate::payments::ExportError::Database(error) => PageError::Database(error),
            other => PageError::internal(other),
        })?;
    let today = Utc::now().with_timezone(&tenant.timezone).date_naive();
    Ok(Either::Right(CsvDownload {
        body,
        content_type: ContentType::CSV,
        disposition: Header::new(
            "Content-Disposition",
            format!(
                "attachment; filename=\"paiements-{}-{}.csv\"",
                tenant.slug,
                today.format("%Y-%m-%d")
            ),
        ),
    }))
}

#[derive(Debug, Serialize)]
struct AnswerView {
    at: String,
    at_iso: String,
    source: &'static str,
    outcome: String,
    detail: String,
}

#[derive(Debug, Serialize)]
struct DetailView {
    id: i32,
    csrf: String,
    state: &'static str,
    tone: &'static str,
    open: bool,
    pairs: Vec<(&'static str, String)>,
    resident_href: String,
    event: String,
    event_error: Option<String>,
    answers: Vec<AnswerView>,
}

fn detail_view(
    tenant: &Tenant,
    row: &payment::Model,
    answers: Vec<AnswerView>,
    csrf: &str,
) -> DetailView {
    let when =
        |at: Option<DateTime<Utc>>| at.map_or_else(|| "—".to_owned(), |at| local(tenant, at).0);
    let event = match (row.state, row.event_delivered_at) {
        (_, Some(at)) => format!("Transmis au module le {}", local(tenant, at).0),
        (PaymentState::Paid, None) => format!(
            "Pas encore transmis au module ({} tentative(s))",
            row.event_attempts
        ),
        _ => "Sans objet (le paiement n'est pas payé)".to_owned(),
    };
    DetailView {
        id: row.id,
        csrf: csrf.to_owned(),
        state: row.state.label(),
        tone: row.state.tone(),
        open: row.state != PaymentState::Paid && row.state != PaymentState::Failed,
        pairs: vec![
            ("Numéro", row.id.to_string()),
            ("État", row.state.label().to_owned()),
            ("Usager", row.resident_identifier.clone()),
            ("Objet", row.label.clone()),
            ("Montant", crate::format::amount(row.amount_cents)),
            ("Service", row.module_id.clone()),
            ("Référence (refdet)", row.reference.clone()),
            ("Prestataire", row.provider.label().to_owned()),
            (
                "Contrat",
                format!("client {} — {}", row.numcli, row.saisie.label()),
            ),
            (
                "Opération (idOp)",
                row.provider_id.clone().unwrap_or_else(|| "—".to_owned()),
            ),
            (
                "Résultat",
                row.result.clone().unwrap_or_else(|| "—".to_owned()),
            ),
            (
                "Autorisation",
                row.authorization.clone().unwrap_or_else(|| "—".to_owned()),
            ),
            ("Adresse transmise", row.email.clone()),
            ("Créé le", when(Some(row.created_at))),
            ("Payé le", when(row.paid_at)),
            ("Enregistré le", when(row.recorded_at)),
        ],
        resident_href: format!(
            "/admin/usagers/{}",
            url::form_urlencoded::byte_serialize(row.resident_identifier.as_bytes())
                .collect::<String>()
        ),
        event,
        event_error: row
            .event_error
            .clone()
            .filter(|_| row.event_delivered_at.is_none()),
        answers,
    }
}

#[get("/paiements/<id>")]
async fn detail(
    id: i32,
    page: AdminPage,
    staff: Staff<ReadPayments>,
    csrf: Csrf,
    payments: &State<Payments>,
    flash: Option<FlashMessage<'_>>,
) -> Result<Option<Page>, PageError> {
    let tenant = &staff.tenant;
    let Some(row) = payments.find(tenant, id).await? else {
        return Ok(None);
    };
    let answers = payments
        .answers(tenant, id)
        .await?
        .into_iter()
        .map(|answer| {
            let (at, at_iso) = local(tenant, answer.received_at);
            AnswerView {
                at,
                at_iso,
                source: answer.source.label(),
                outcome: answer.outcome,
                detail: answer.detail,
            }
        })
        .collect();
    let view = detail_view(tenant, &row, answers, csrf.token());
    staff_page(page.with_flash(flash), &staff, &csrf)
        .ok("admin/payment", &format!("Paiement n° {id}"), view)
        .map(Some)
}

/// Asks the provider about the payment now (a resident at the counter, a
/// payment the reconciliation no longer asks about).
#[post("/paiements/<id>/verifier", data = "<_form>")]
async fn verify(
    id: i32,
    staff: Staff<ReadPayments>,
    payments: &State<Payments>,
    _form: CsrfForm<Button>,
) -> Result<Option<Flash<Redirect>>, PageError> {
    let tenant = &staff.tenant;
    let Some(row) = payments.find(tenant, id).await? else {
        return Ok(None);
    };
    let before = row.state;
    let after = payments
        .settle(tenant, row, AnswerSource::Staff, Utc::now())
        .await?;
    let message = if after.state == before {
        format!(
            "Le prestataire a été interrogé : le paiement reste « {} ». Sa réponse figure ci-dessous.",
            after.state.label()
        )
    } else {
        format!(
            "Le prestataire a été interrogé : le paiement est maintenant « {} ».",
            after.state.label()
        )
    };
    Ok(Some(Flash::success(
        Redirect::to(format!("/admin/paiements/{id}")),
        message,
    )))
}

#[derive(Debug, Default, Serialize)]
struct SettingsView {
    csrf: String,
    enabled: bool,
    numcli: String,
    saisies: Vec<Choice>,
    from_back_office: bool,
    updated_by: Option<String>,
    numcli_error: Option<String>,
    saisie_error: Option<String>,
    errors: Vec<FieldError>,
}

fn saisie_choices(selected: &str) -> Vec<Choice> {
    Saisie::ALL
        .into_iter()
        .map(|saisie| Choice {
            value: saisie.code(),
            label: saisie.label(),
            selected: saisie.code() == selected,
        })
        .collect()
}

#[get("/paiements/reglages")]
async fn settings_form(
    page: AdminPage,
    staff: Staff<ManageTown>,
    csrf: Csrf,
    payments: &State<Payments>,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    let current = payments.settings(&staff.tenant).await?;
    let view = SettingsView {
        csrf: csrf.token().to_owned(),
        enabled: current.enabled,
        numcli: current.numcli.clone(),
        saisies: saisie_choices(current.saisie.code()),
        from_back_office: current.from_back_office,
        updated_by: current.updated_by,
        ..SettingsView::default()
    };
    staff_page(page.with_flash(flash), &staff, &csrf).ok(
        "admin/payment_settings",
        "Paiement en ligne",
        view,
    )
}

#[derive(Debug, FromForm)]
struct SettingsForm<'r> {
    enabled: bool,
    numcli: &'r str,
    saisie: &'r str,
}

#[post("/paiements/reglages", data = "<form>")]
async fn settings_save(
    page: AdminPage,
    staff: Staff<ManageTown>,
    csrf: Csrf,
    origin: Origin,
    payments: &State<Payments>,
    form: CsrfForm<SettingsForm<'_>>,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
    let input = SettingsInput {
        enabled: form.enabled,
        numcli: form.numcli.trim().to_owned(),
        saisie: form.saisie.to_owned(),
    };
    match payments
        .save_settings(&staff.tenant, &staff.member, &input, &origin)
        .await
    {
        Ok(checked) => {
            let message = match (input.enabled, checked) {
                (true, Ok(contract)) => format!(
                    "Le paiement en ligne est activé. PayFiP reconnaît le contrat : {}.",
                    if contract.label.is_empty() {
                        "sans libellé".to_owned()
                    } else {
                        contract.label
                    }
                ),
                (true, Err(problem)) => format!(
                    "Les réglages sont enregistrés et le paiement en ligne est activé, mais {problem} Vérifiez le numéro de client."
                ),
                (false, _) => {
                    "Les réglages sont enregistrés : le paiement en ligne n'est pas proposé aux usagers.".to_owned()
                }
            };
            Ok(Either::Right(Flash::success(
                Redirect::to("/admin/paiements/reglages"),
                message,
            )))
        }
        Err(SettingsError::Invalid(errors)) => {
            let message = |name: &str| {
                errors
                    .iter()
                    .find(|(field, _)| *field == name)
                    .map(|(_, message)| message.clone())
            };
            let current = payments.settings(&staff.tenant).await?;
            let view = SettingsView {
                csrf: csrf.token().to_owned(),
                enabled: input.enabled,
                numcli: input.numcli.clone(),
                saisies: saisie_choices(&input.saisie),
                from_back_office: current.from_back_office,
                updated_by: current.updated_by,
                numcli_error: message("numcli"),
                saisie_error: message("saisie"),
                errors: errors
                    .iter()
                    .map(|(field, message)| FieldError {
                        field,
                        message: message.clone(),
                    })
                    .collect(),
            };
            Ok(Either::Left(staff_page(page, &staff, &csrf).render(
                Status::UnprocessableEntity,
                "admin/payment_settings",
                "Paiement en ligne",
                view,
            )?))
        }
        Err(SettingsError::Database(error)) => Err(error.into()),
    }
}
