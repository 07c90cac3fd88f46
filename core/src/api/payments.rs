//! `GET /api/v1/payments?since=…`: the payments residents made online and
//! the provider confirmed, for the town's billing software to record them
//! (the invoices module already did, through its event).

use chrono::{DateTime, Utc};
use rocket::serde::json::Json;
use rocket::{State, get};
use serde::Serialize;

use super::{ApiError, Client};
use crate::payments::{ApiPayment, Payments, PaymentsCursor};

/// Payments per page, at most.
const MAX_LIMIT: u64 = 500;

#[derive(Debug, Serialize)]
pub struct PaymentsBody {
    payments: Vec<ApiPayment>,
    /// The next page's `after`, when there is one.
    next: Option<String>,
}

/// The town's paid payments recorded at or after `since` (RFC 3339), in
/// recording order, a page at a time (`after`: the previous page's
/// `next`).
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
    let limit = limit.unwrap_or(100);
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
