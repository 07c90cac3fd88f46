//! `GET /api/v1/payments?since=…`: the payments residents made online and
//! the provider confirmed, for the town's billing software to record them
//! (the invoices module already did, through its event).

use chrono::{DateTime, Utc};
use rocket::serde::json::Json;
use rocket::{State, get};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiError, Client, ErrorBody, doc};
use crate::payments::{ApiPayment, Payments, PaymentsCursor};

/// Payments per page, at most.
const MAX_LIMIT: u64 = 500;
/// Payments per page when `limit` is not given.
pub(super) const DEFAULT_LIMIT: u64 = 100;

// The doc comments are the document's descriptions (French).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Payments)]
pub struct PaymentsBody {
    payments: Vec<ApiPayment>,
    /// À passer en `after` pour la page suivante ; `null` sur la dernière.
    #[schema(required = true)]
    next: Option<String>,
}

// The town's paid payments recorded at or after `since` (RFC 3339), in
// recording order, a page at a time (`after`: the previous page's `next`).
#[utoipa::path(
    get,
    path = "/payments",
    operation_id = "listPayments",
    tag = "Paiements",
    summary = "Paiements en ligne reçus depuis une date",
    description = "Les paiements en ligne que le prestataire (PayFiP) a confirmés, enregistrés par Guichet à partir de `since`, dans l'ordre de leur enregistrement, par pages (`after` : la valeur `next` de la page précédente). Le module de factures en a déjà été informé ; le logiciel de facturation les reprend ici. Un paiement apparaît une minute après son enregistrement (un paiement en cours d'enregistrement pendant la lecture n'est ainsi jamais sauté). L'heure d'enregistrement n'est pas strictement croissante entre deux paiements enregistrés au même instant par deux serveurs : pour relever les paiements régulièrement, repartir de la dernière heure d'enregistrement lue moins quelques minutes et ignorer les `id` déjà connus.",
    params(
        ("since" = String, Query, description = "Date RFC 3339 (`2026-12-01T08:00:00Z`) ou jour (`2026-12-01`, minuit UTC) à partir duquel lire les enregistrements."),
        ("after" = Option<String>, Query, description = "La valeur `next` de la page précédente."),
        ("limit" = Option<u64>, Query, description = "Paiements par page, de 1 à 500 (100 par défaut).", minimum = 1, maximum = 500),
    ),
    responses(
        (status = 200, description = "Une page de paiements.", body = PaymentsBody),
        (status = 404, description = super::UNKNOWN_TOWN, body = ErrorBody),
        (status = 422, description = "Paramètre `since` absent (`missing_parameter`), `since`, `after` ou `limit` illisible (`invalid_parameter`), ou texte contenant le caractère NUL (`invalid_text`).", body = ErrorBody),
        (status = 401, response = doc::Unauthenticated),
        (status = 500, response = doc::Internal),
        (status = 503, response = doc::Unavailable),
    ),
)]
#[get("/payments?<since>&<after>&<limit>")]
pub async fn list_payments(
    client: Client,
    since: Option<&str>,
    after: Option<&str>,
    limit: Option<u64>,
    payments: &State<Payments>,
) -> Result<Json<PaymentsBody>, ApiError> {
    let client = client?;
    let since = since
        .map(str::trim)
        .filter(|since| !since.is_empty())
        .ok_or(ApiError::MissingParameter("since"))?;
    let since = DateTime::parse_from_rfc3339(since)
        .map(|since| since.with_timezone(&Utc))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(since, "%Y-%m-%d")
                .map(|day| day.and_time(chrono::NaiveTime::MIN).and_utc())
        })
        .map_err(|_| {
            ApiError::InvalidParameter(
                "since",
                "une date RFC 3339 (2026-12-01T08:00:00Z) ou un jour (2026-12-01)",
            )
        })?;
    let cursor =
        match after {
            Some(after) => Some(PaymentsCursor::decode(after).ok_or(
                ApiError::InvalidParameter("after", "la valeur `next` d'une page précédente"),
            )?),
            None => None,
        };
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::InvalidParameter("limit", "un nombre de 1 à 500"));
    }
    let (found, next) = payments
        .recorded_since(&client.tenant, since, cursor, limit)
        .await?;
    Ok(Json(PaymentsBody {
        payments: found,
        next: next.map(|cursor| cursor.encode()),
    }))
}
