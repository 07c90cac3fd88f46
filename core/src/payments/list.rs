//! Reading payments: the staff's list (filters by state, dates and
//! resident, pages newest first, the CSV of the same filter) and the data
//! API's feed of payments recorded since a date.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait as _, DbErr, QueryFilter as _, QueryOrder as _, QuerySelect as _};
use serde::Serialize;

use super::Payments;
use super::entity::{PaymentState, payment};
use crate::tenancy::Tenant;

/// How long a paid payment is recorded before the data API's feed gives it.
pub const FEED_DELAY: chrono::Duration = chrono::Duration::minutes(1);

/// Rows per round of the CSV.
const EXPORT_ROUND: u64 = 1000;

/// What the staff filters on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentFilter {
    pub state: Option<PaymentState>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created before.
    pub until: Option<DateTime<Utc>>,
    pub account_id: Option<i32>,
}

/// A page of payments, newest first, and the cursor of the next (the
/// last id shown).
#[derive(Debug, Clone)]
pub struct PaymentPage {
    pub payments: Vec<payment::Model>,
    pub next: Option<i32>,
}

/// Where the data API's feed goes on: after this (recorded_at, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentsCursor {
    pub recorded_at: DateTime<Utc>,
    pub id: i32,
}

impl PaymentsCursor {
    /// `<rfc3339>,<id>` as base64url, opaque to the API's clients.
    pub fn encode(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
            "{},{}",
            self.recorded_at.to_rfc3339(),
            self.id
        ))
    }

    pub fn decode(text: &str) -> Option<Self> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (at, id) = text.rsplit_once(',')?;
        Some(Self {
            recorded_at: DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc),
            id: id.parse().ok()?,
        })
    }
}

// A paid payment as the data API gives it. The doc comments are the API
// document's descriptions (`api::doc`), hence French.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Payment)]
pub struct ApiPayment {
    /// Le numéro du paiement dans Guichet.
    pub id: i32,
    /// L'identifiant du résident qui a payé.
    pub resident: String,
    /// Le module de l'objet payé, p. ex. `invoices`.
    pub module: String,
    /// La référence de l'objet payé donnée par le module (pour une facture : son numéro sans ses tirets), transmise à PayFiP comme `refdet`.
    pub reference: String,
    /// L'objet payé, p. ex. « Facture 2026-06-0042 — Juin 2026 ».
    pub label: String,
    /// Le montant payé, en centimes.
    pub amount_cents: i64,
    #[schema(schema_with = provider_schema)]
    pub provider: &'static str,
    /// L'opération du prestataire (`idOp` de PayFiP).
    pub transaction: String,
    /// Le numéro d'autorisation bancaire (`numauto`).
    #[schema(required = true)]
    pub authorization: Option<String>,
    #[schema(schema_with = means_schema, required = true)]
    pub means: Option<&'static str>,
    /// Quand le prestataire dit que le paiement a eu lieu.
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub paid_at: Option<DateTime<Utc>>,
    /// Quand Guichet l'a enregistré (ce que lit `since`).
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub recorded_at: Option<DateTime<Utc>>,
    /// Paiement fait dans l'environnement de test de PayFiP (`saisie` T) : aucune somme n'a été prélevée.
    pub test: bool,
}

/// The providers a payment may come from, as the API names them.
fn provider_schema() -> utoipa::openapi::Schema {
    crate::api::text_enum(&["PayFiP"], false)
}

/// How a payment was made, when the provider says.
fn means_schema() -> utoipa::openapi::Schema {
    let mut schema = crate::api::text_enum(&["carte", "prelevement"], true);
    if let utoipa::openapi::Schema::Object(object) = &mut schema {
        object.description = Some("Carte bancaire ou prélèvement.".to_owned());
    }
    schema
}

impl ApiPayment {
    fn of(row: payment::Model) -> Self {
        let means = match row.result.as_deref() {
            Some("P") => Some("carte"),
            Some("V") => Some("prelevement"),
            _ => None,
        };
        Self {
            id: row.id,
            resident: row.resident_identifier,
            module: row.module_id,
            reference: row.reference,
            label: row.label,
            amount_cents: row.amount_cents,
            provider: row.provider.label(),
            transaction: row.provider_id.unwrap_or_default(),
            authorization: row.authorization,
            means,
            paid_at: row.paid_at,
            recorded_at: row.recorded_at,
            test: row.saisie == super::Saisie::Test,
        }
    }
}

impl Payments {
    /// A page of the town's payments under `filter`, after `after` (an id).
    pub async fn page(
        &self,
        tenant: &Tenant,
        filter: &PaymentFilter,
        after: Option<i32>,
        size: u64,
    ) -> Result<PaymentPage, DbErr> {
        let mut query = tenant.scope().select::<payment::Entity>();
        if let Some(state) = filter.state {
            query = query.filter(payment::Column::State.eq(state));
        }
        if let Some(from) = filter.from {
            query = query.filter(payment::Column::CreatedAt.gte(from));
        }
        if let Some(until) = filter.until {
            query = query.filter(payment::Column::CreatedAt.lt(until));
        }
        if let Some(account_id) = filter.account_id {
            query = query.filter(payment::Column::AccountId.eq(account_id));
        }
        if let Some(after) = after {
            query = query.filter(payment::Column::Id.lt(after));
        }
        let mut payments = query
            .order_by_desc(payment::Column::Id)
            .limit(size + 1)
            .all(&self.db)
            .await?;
        let more = payments.len() as u64 > size;
        payments.truncate(usize::try_from(size).unwrap_or(usize::MAX));
        let next = more.then(|| payments.last().map(|last| last.id)).flatten();
        Ok(PaymentPage { payments, next })
    }

    /// The CSV of the payments under `filter` (every page), for a
    /// spreadsheet: amounts in euros with a comma, dates in the town's time.
    pub async fn export_csv(
        &self,
        tenant: &Tenant,
        filter: &PaymentFilter,
    ) -> Result<Vec<u8>, ExportError> {
        let mut bytes = Vec::new();
        let mut writer = crate::spreadsheet::CsvWriter::new(&mut bytes);
        writer.write_row([
            "Numéro",
            "Créé le",
            "État",
            "Usager",
            "Objet",
            "Référence",
            "Montant (€)",
            "Prestataire",
            "Opération",
            "Résultat",
            "Autorisation",
            "Payé le",
            "Enregistré par le module le",
        ])?;
        let local = |at: Option<DateTime<Utc>>| {
            at.map(|at| {
                at.with_timezone(&tenant.timezone)
                    .format("%d/%m/%Y %H:%M")
                    .to_string()
            })
            .unwrap_or_default()
        };
        let mut after = None;
        loop {
            let page = self.page(tenant, filter, after, EXPORT_ROUND).await?;
            for row in &page.payments {
                writer.write_row([
                    row.id.to_string(),
                    local(Some(row.created_at)),
                    row.state.label().to_owned(),
                    row.resident_identifier.clone(),
                    row.label.clone(),
                    row.reference.clone(),
                    crate::format::amount(row.amount_cents)
                        .trim_end_matches('€')
                        .trim()
                        .replace(['\u{202f}', '\u{a0}'], " "),
                    row.provider.label().to_owned(),
                    row.provider_id.clone().unwrap_or_default(),
                    row.result.clone().unwrap_or_default(),
                    row.authorization.clone().unwrap_or_default(),
                    local(row.paid_at),
                    local(row.event_delivered_at),
                ])?;
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        writer.flush()?;
        drop(writer);
        Ok(bytes)
    }

    /// The data API's feed: the town's paid payments recorded at or after
    /// `since`, in recording order, after `cursor`.
    pub async fn recorded_since(
        &self,
        tenant: &Tenant,
        since: DateTime<Utc>,
        cursor: Option<PaymentsCursor>,
        limit: u64,
    ) -> Result<(Vec<ApiPayment>, Option<PaymentsCursor>), DbErr> {
        use sea_orm::Condition;
        let mut query = tenant
            .scope()
            .select::<payment::Entity>()
            .filter(payment::Column::State.eq(PaymentState::Paid))
            .filter(payment::Column::RecordedAt.gte(since))
            // Recorded for a minute: a payment being recorded as this is
            // read (its time taken, its transaction not yet committed)
            // cannot be passed over by the cursor.
            .filter(payment::Column::RecordedAt.lt(Utc::now() - FEED_DELAY));
        if let Some(cursor) = cursor {
            query = query.filter(
                Condition::any()
                    .add(payment::Column::RecordedAt.gt(cursor.recorded_at))
                    .add(
                        Condition::all()
                            .add(payment::Column::RecordedAt.eq(cursor.recorded_at))
                            .add(payment::Column::Id.gt(cursor.id)),
                    ),
            );
        }
        let mut rows = query
            .order_by_asc(payment::Column::RecordedAt)
            .order_by_asc(payment::Column::Id)
            .limit(limit + 1)
            .all(&self.db)
            .await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next = if more {
            rows.last().and_then(|last| {
                Some(PaymentsCursor {
                    recorded_at: last.recorded_at?,
                    id: last.id,
                })
            })
        } else {
            None
        };
        Ok((rows.into_iter().map(ApiPayment::of).collect(), next))
    }
}

/// Why the CSV could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Database(#[from] DbErr),
    #[error("cannot write the CSV: {0}")]
    Csv(#[from] csv::Error),
}
