//! Online payment on the residents' face:
//!
//! - `POST /paiements/payer`: "Payer en ligne" on a module's `payable`
//!   (the form names the module, the view it was shown on and the
//!   reference; the amount is read again from the module) → the provider's
//!   payment page, or a page saying in French why not;
//! - `GET|POST /paiements/retour/<token>`: where the provider sends the
//!   resident back, the payment's secret in the address. It needs no
//!   session (a provider's POST back carries no `SameSite=Lax` cookie): it
//!   asks the provider, then sends the browser on to the payment's page,
//!   which does;
//! - `GET /paiements/<id>`: a payment of the resident, as it stands;
//! - `GET|POST /paiements/notification`: the provider's notification
//!   (`idOp`, or `idop`), server to server, unsigned: only a reason to ask
//!   the provider. It answers the same whatever the operation, so that it
//!   tells nothing about the town's payments.

use chrono::Utc;
use rocket::form::{Form, FromForm, Lenient};
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::Redirect;
use rocket::{Either, Route, State, get, post, routes};
use serde::Serialize;

use super::Csrf;
use super::{CsrfForm, PageError, Resident, TownPage, resident_page};
use crate::audit::Origin;
use crate::modules::{Modules, ViewRequest};
use crate::payments::{PayChoice, PaymentState, Payments, StartError};
use crate::tenancy::CurrentTenant;
use crate::web::kit::Page;

pub fn routes() -> Vec<Route> {
    routes![
        pay,
        returned_get,
        returned_post,
        payment_page,
        notification_get,
        notification_post
    ]
}

#[derive(Debug, FromForm)]
struct PayForm<'r> {
    module: &'r str,
    vue: &'r str,
    /// The view's parameters, as a query string.
    params: &'r str,
    reference: &'r str,
}

#[derive(Debug, Serialize)]
struct RefusedView {
    message: String,
    /// Where to go on: the view paid from, or the payment under way.
    back_href: String,
    back_label: &'static str,
}

#[post("/paiements/payer", data = "<form>")]
async fn pay(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    origin: Origin,
    payments: &State<Payments>,
    form: CsrfForm<PayForm<'_>>,
) -> Result<Either<Redirect, Page>, PageError> {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(form.params.as_bytes())
        .into_owned()
        .collect();
    let choice = PayChoice {
        module_id: form.module.to_owned(),
        view: ViewRequest {
            view: form.vue.to_owned(),
            params,
        },
        reference: form.reference.to_owned(),
    };
    let back = crate::modules::view_path(&choice.module_id, &choice.view.view, &choice.view.params)
        .unwrap_or_else(|| "/".to_owned());
    match payments
        .start(
            &resident.tenant,
            &resident.account,
            &choice,
            &origin,
            Utc::now(),
        )
        .await
    {
        // 303: the provider's page is read with GET.
        Ok(started) => Ok(Either::Left(Redirect::to(started.redirect_url))),
        Err(StartError::Database(error)) => Err(error.into()),
        Err(error) => {
            let status = match &error {
                StartError::Disabled | StartError::NotPayable => Status::NotFound,
                StartError::InProgress { .. } | StartError::AlreadyPaid { .. } => Status::Conflict,
                StartError::Amount | StartError::Email => Status::UnprocessableEntity,
                StartError::Provider(_) | StartError::Module(_) | StartError::Database(_) => {
                    Status::ServiceUnavailable
                }
            };
            let (back_href, back_label) = match &error {
                StartError::InProgress { payment_id } | StartError::AlreadyPaid { payment_id } => {
                    (format!("/paiements/{payment_id}"), "Voir ce paiement")
                }
                StartError::Email => ("/coordonnees".to_owned(), "Mes coordonnées"),
                _ => (back, "Revenir à la page précédente"),
            };
            let view = RefusedView {
                message: error.message(),
                back_href,
                back_label,
            };
            Ok(Either::Right(
                resident_page(page, &resident, &csrf).render(
                    status,
                    "pages/payment_refused",
                    "Paiement impossible",
                    view,
                )?,
            ))
        }
    }
}

/// Asks the provider, then on to the payment's page. The address holds
/// the payment's secret (only the resident and the provider have it): a
/// guessed one is a 404, and never makes Guichet call the provider.
async fn returned(
    tenant: &CurrentTenant,
    payments: &Payments,
    token: &str,
) -> Result<Option<Redirect>, PageError> {
    Ok(payments
        .returned(&tenant.0, token, Utc::now())
        .await?
        .map(|payment| Redirect::to(format!("/paiements/{}", payment.id))))
}

#[get("/paiements/retour/<token>")]
async fn returned_get(
    token: &str,
    tenant: CurrentTenant,
    payments: &State<Payments>,
) -> Result<Option<Redirect>, PageError> {
    returned(&tenant, payments, token).await
}

/// Whatever the provider posts back (its `idOp`) is not needed: the
/// address names the payment.
#[post("/paiements/retour/<token>")]
async fn returned_post(
    token: &str,
    tenant: CurrentTenant,
    payments: &State<Payments>,
) -> Result<Option<Redirect>, PageError> {
    returned(&tenant, payments, token).await
}

#[derive(Debug, Serialize)]
struct PaymentView {
    id: i32,
    tone: &'static str,
    heading: &'static str,
    message: String,
    label: String,
    amount: String,
    state: &'static str,
    created: String,
    paid_at: Option<String>,
    transaction: Option<String>,
    authorization: Option<String>,
    back_href: String,
    /// "Revenir à « Mes factures »".
    back_label: String,
    waiting: bool,
    retry: bool,
    paid: bool,
    /// Made in PayFiP's test environment: no money moved.
    test: bool,
}

#[get("/paiements/<id>")]
#[allow(clippy::too_many_arguments)]
async fn payment_page(
    id: i32,
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    payments: &State<Payments>,
    modules: &State<Modules>,
    flash: Option<FlashMessage<'_>>,
) -> Result<Option<Page>, PageError> {
    let tenant = &resident.tenant;
    let Some(payment) = payments.find_for(tenant, resident.account.id, id).await? else {
        return Ok(None);
    };
    let local =
        |at: chrono::DateTime<Utc>| crate::format::date_time(&at.with_timezone(&tenant.timezone));
    let (heading, message) = match payment.state {
        PaymentState::Paid => (
            "Paiement reçu",
            "Votre paiement a été confirmé par le service de paiement. Un reçu vous a été envoyé par courriel ; votre facture est marquée payée.".to_owned(),
        ),
        PaymentState::Created | PaymentState::Waiting => (
            "Paiement en cours de confirmation",
            "Le service de paiement n'a pas encore confirmé votre paiement. Cela peut prendre quelques minutes : actualisez cette page. Ne payez pas une seconde fois.".to_owned(),
        ),
        PaymentState::Refused => (
            "Paiement refusé",
            "Votre banque a refusé le paiement : aucune somme n'a été prélevée. Vous pouvez réessayer, avec une autre carte par exemple.".to_owned(),
        ),
        PaymentState::Cancelled => (
            "Paiement annulé",
            "Vous avez annulé le paiement : aucune somme n'a été prélevée. Vous pouvez le reprendre quand vous voulez.".to_owned(),
        ),
        PaymentState::Expired => (
            "Paiement non abouti",
            "Le paiement n'a pas été terminé dans le délai imparti : aucune somme n'a été prélevée. Vous pouvez recommencer.".to_owned(),
        ),
        PaymentState::Failed => (
            "Paiement impossible",
            "Le service de paiement n'a pas pu préparer ce paiement : aucune somme n'a été prélevée. Réessayez plus tard ou adressez-vous à la régie.".to_owned(),
        ),
    };
    let view = PaymentView {
        id: payment.id,
        tone: payment.state.tone(),
        heading,
        message,
        label: payment.label.clone(),
        amount: crate::format::amount(payment.amount_cents),
        state: payment.state.label(),
        created: local(payment.created_at),
        paid_at: payment.paid_at.map(local),
        transaction: payment.provider_id.clone(),
        authorization: payment.authorization.clone(),
        back_href: payment.return_path.clone(),
        back_label: match modules.enabled_module(tenant, &payment.module_id).await? {
            Some(module) => format!("Revenir à « {} »", module.manifest.name),
            None => "Revenir au service".to_owned(),
        },
        waiting: payment.state.is_open(),
        retry: matches!(
            payment.state,
            PaymentState::Refused
                | PaymentState::Cancelled
                | PaymentState::Expired
                | PaymentState::Failed
        ),
        paid: payment.state == PaymentState::Paid,
        test: payment.saisie == crate::payments::Saisie::Test,
    };
    resident_page(page.with_flash(flash), &resident, &csrf)
        .ok(
            "pages/payment",
            &format!("Paiement n° {id} — {heading}"),
            view,
        )
        .map(Some)
}

/// The notification's fields: PayFiP sends `idOp`; some send `idop`.
#[derive(Debug, Default, FromForm)]
struct Notification<'r> {
    #[field(name = "idOp")]
    id_op: Option<&'r str>,
    idop: Option<&'r str>,
}

async fn notified(
    tenant: &CurrentTenant,
    payments: &Payments,
    notification: &Notification<'_>,
) -> Result<&'static str, PageError> {
    let id = notification
        .id_op
        .or(notification.idop)
        .map(str::trim)
        .filter(|id| !id.is_empty() && id.len() <= 64);
    if let Some(id) = id {
        payments.notified(&tenant.0, id, Utc::now()).await?;
    }
    Ok("OK")
}

#[get("/paiements/notification?<notification..>", rank = 1)]
async fn notification_get(
    tenant: CurrentTenant,
    payments: &State<Payments>,
    notification: Notification<'_>,
) -> Result<&'static str, PageError> {
    notified(&tenant, payments, &notification).await
}

#[post("/paiements/notification?<query..>", data = "<form>")]
async fn notification_post(
    tenant: CurrentTenant,
    payments: &State<Payments>,
    query: Notification<'_>,
    form: Option<Form<Lenient<Notification<'_>>>>,
) -> Result<&'static str, PageError> {
    let body = form.map(|form| form.into_inner().into_inner());
    let notification = Notification {
        id_op: body.as_ref().and_then(|body| body.id_op).or(query.id_op),
        idop: body.as_ref().and_then(|body| body.idop).or(query.idop),
    };
    notified(&tenant, payments, &notification).await
}
