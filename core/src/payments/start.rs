//! A resident starts paying: the amount and the label are the module's,
//! read again here from the view the resident paid from (never from the
//! form), one payment at a time per debt, recorded before the resident
//! leaves for the provider.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike as _, Utc};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, DbErr, EntityTrait as _,
    QueryFilter as _,
};

use super::entity::{AnswerSource, PaymentState, payment, payment_answer};
use super::payfip::{self, MAX_AMOUNT_CENTS, MIN_AMOUNT_CENTS};
use super::provider::{Order, PaymentProvider as _, ProviderError};
use super::{Payments, WAITING_FOR};
use crate::accounts::entity::account;
use crate::audit::{Actor, AuditKind, Event, Origin};
use crate::modules::{Block, CallFailure, Payable, ViewRequest};
use crate::tenancy::Tenant;

/// What the resident chose to pay: a `payable` of a module's view.
#[derive(Debug, Clone)]
pub struct PayChoice {
    pub module_id: String,
    /// The view it was shown on (rendered again to read the amount).
    pub view: ViewRequest,
    pub reference: String,
}

/// A payment created at the provider: send the resident there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub payment_id: i32,
    pub redirect_url: String,
}

/// Why a payment cannot start; each says so in French.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the town does not take payments online")]
    Disabled,
    /// The module does not offer this amount now (paid meanwhile, or a
    /// form made up).
    #[error("nothing to pay under this reference")]
    NotPayable,
    #[error("the amount is outside the provider's bounds")]
    Amount,
    #[error("the resident's address cannot be given to the provider")]
    Email,
    /// A payment of the same debt is under way.
    #[error("a payment is under way")]
    InProgress { payment_id: i32 },
    /// Paid; the module is being told.
    #[error("already paid")]
    AlreadyPaid { payment_id: i32 },
    #[error("the provider did not create the payment: {0}")]
    Provider(ProviderError),
    #[error("the module did not answer: {0}")]
    Module(CallFailure),
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

impl StartError {
    /// What the resident reads.
    pub fn message(&self) -> String {
        match self {
            Self::Disabled => "Le paiement en ligne n'est pas proposé par votre commune.".to_owned(),
            Self::NotPayable => "Ce montant n'est plus à payer en ligne : il a peut-être été réglé entre-temps. Consultez à nouveau vos factures.".to_owned(),
            Self::Amount => format!(
                "Ce montant ne peut pas être payé en ligne : le paiement en ligne accepte de {} à {}. Adressez-vous à la régie.",
                crate::format::amount(MIN_AMOUNT_CENTS),
                crate::format::amount(MAX_AMOUNT_CENTS)
            ),
            Self::Email => "Votre adresse électronique ne peut pas être transmise au service de paiement (elle doit compter de 6 à 80 caractères sans accent). Modifiez-la dans « Mes coordonnées », puis recommencez.".to_owned(),
            Self::InProgress { .. } => "Un paiement de ce montant est déjà en cours. Terminez-le, ou attendez 20 minutes qu'il expire avant de recommencer.".to_owned(),
            Self::AlreadyPaid { .. } => "Ce montant est déjà payé : votre paiement a été reçu et sera bientôt visible sur votre facture.".to_owned(),
            Self::Provider(ProviderError::Refused { .. }) => "Le service de paiement a refusé ce paiement. Réessayez plus tard ou adressez-vous à la régie.".to_owned(),
            Self::Provider(_) => "Le service de paiement ne répond pas pour le moment. Réessayez dans quelques minutes.".to_owned(),
            Self::Module(_) | Self::Database(_) => "Le paiement en ligne est momentanément indisponible. Réessayez dans quelques minutes.".to_owned(),
        }
    }
}

/// What "Payer en ligne" becomes for a debt, given its payments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayableState {
    /// A payment is under way (its page).
    InProgress { payment_id: i32 },
    /// Paid, the module not told yet.
    Received { payment_id: i32 },
}

impl Payments {
    /// Starts paying `choice` for `resident` at `now`.
    pub async fn start(
        &self,
        tenant: &Arc<Tenant>,
        resident: &account::Model,
        choice: &PayChoice,
        origin: &Origin,
        now: DateTime<Utc>,
    ) -> Result<Started, StartError> {
        let settings = self.settings(tenant).await?;
        if !settings.is_active() {
            return Err(StartError::Disabled);
        }
        // What is under way or received first: the module may already
        // have stopped showing a debt paid a moment ago.
        if let Some(state) = self
            .state_of(
                tenant,
                resident.id,
                &choice.module_id,
                &choice.reference,
                now,
            )
            .await?
        {
            return self.under_way(tenant, resident.id, state, now).await;
        }
        let payable = self.payable(tenant, resident, choice).await?;
        if !payfip::is_refdet(&payable.reference) {
            tracing::warn!(
                town = %tenant.slug,
                module = %choice.module_id,
                "a payable's reference is not letters and digits (at most 30): not offered"
            );
            return Err(StartError::NotPayable);
        }
        if !(MIN_AMOUNT_CENTS..=MAX_AMOUNT_CENTS).contains(&payable.amount) {
            return Err(StartError::Amount);
        }
        let email = resident.email.trim().to_owned();
        if !payfip::is_mel(&email) {
            return Err(StartError::Email);
        }
        let return_path =
            crate::modules::view_path(&choice.module_id, &choice.view.view, &choice.view.params)
                .unwrap_or_else(|| "/".to_owned());
        let return_token = crate::franceconnect::seal::random_token();
        // One payment at a time per debt: the check and the insert hold
        // the debt's lock (PostgreSQL: an advisory lock of the
        // transaction; SQLite: its one writer), so two clicks, on two
        // instances, make one payment.
        let transaction = crate::db::begin_write(&self.db).await?;
        lock_debt(
            &transaction,
            tenant,
            resident.id,
            &choice.module_id,
            &payable.reference,
        )
        .await?;
        if let Some(state) = self
            .state_in(
                &transaction,
                tenant,
                resident.id,
                &choice.module_id,
                &payable.reference,
                now,
            )
            .await?
        {
            drop(transaction);
            return self.under_way(tenant, resident.id, state, now).await;
        }
        let row = payment::ActiveModel {
            tenant_id: Set(tenant.scope().tenant_id().get()),
            account_id: Set(Some(resident.id)),
            resident_identifier: Set(crate::modules::resident_reference(resident)),
            provider: Set(settings.provider),
            module_id: Set(choice.module_id.clone()),
            reference: Set(payable.reference.clone()),
            label: Set(payable.label.chars().take(200).collect()),
            amount_cents: Set(payable.amount),
            email: Set(email.clone()),
            numcli: Set(settings.numcli.clone()),
            saisie: Set(settings.saisie),
            return_path: Set(return_path.chars().take(600).collect()),
            return_token: Set(return_token.clone()),
            provider_id: Set(None),
            state: Set(PaymentState::Created),
            result: Set(None),
            authorization: Set(None),
            paid_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            recorded_at: Set(None),
            asked_at: Set(None),
            event_delivered_at: Set(None),
            event_next_at: Set(None),
            event_attempts: Set(0),
            event_error: Set(None),
            ..Default::default()
        }
        .insert(&transaction)
        .await?;
        transaction.commit().await?;
        let order = Order {
            reference: payable.reference.clone(),
            object: payable.label.clone(),
            amount_cents: payable.amount,
            email,
            year: now.with_timezone(&tenant.timezone).year(),
            notify_url: self.links.town_url(tenant, "/paiements/notification"),
            return_url: self
                .links
                .town_url(tenant, &format!("/paiements/retour/{return_token}")),
        };
        let created = self
            .provider(settings.provider)
            .create(&settings.contract(), &order)
            .await;
        let transaction = crate::db::begin_write(&self.db).await?;
        let (state, provider_id, outcome, detail) = match &created {
            Ok(created) => (
                PaymentState::Waiting,
                Some(created.provider_id.clone()),
                "Paiement créé chez le prestataire ; l'usager y est envoyé.".to_owned(),
                serde_json::json!({ "idOp": created.provider_id }),
            ),
            Err(error) => (
                PaymentState::Failed,
                None,
                format!("Création refusée : {}", describe(error)),
                serde_json::json!({ "error": error.to_string() }),
            ),
        };
        payment::Entity::update_many()
            .col_expr(
                payment::Column::State,
                sea_orm::sea_query::Expr::value(state),
            )
            .col_expr(
                payment::Column::ProviderId,
                sea_orm::sea_query::Expr::value(provider_id),
            )
            .col_expr(
                payment::Column::UpdatedAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(payment::Column::Id.eq(row.id))
            .exec(&transaction)
            .await?;
        record_answer(
            &transaction,
            tenant,
            row.id,
            AnswerSource::Creation,
            outcome,
            &detail,
        )
        .await?;
        if created.is_ok() {
            crate::audit::record_event(
                &transaction,
                tenant.scope(),
                Event {
                    kind: AuditKind::PaymentStarted,
                    actor: Actor::Resident(resident.id),
                    subject: Some(resident.id),
                    origin,
                    detail: Some(format!(
                        "Paiement n° {} : {} — {}",
                        row.id,
                        payable.label,
                        crate::format::amount(payable.amount)
                    )),
                },
            )
            .await?;
        }
        transaction.commit().await?;
        match created {
            Ok(created) => Ok(Started {
                payment_id: row.id,
                redirect_url: created.redirect_url,
            }),
            Err(error) => {
                tracing::warn!(town = %tenant.slug, payment = row.id, %error, "payment not created");
                Err(StartError::Provider(error))
            }
        }
    }

    /// The `payable` of `choice`, as the module shows it to this resident
    /// now.
    async fn payable(
        &self,
        tenant: &Arc<Tenant>,
        resident: &account::Model,
        choice: &PayChoice,
    ) -> Result<Payable, StartError> {
        let module = self
            .modules
            .enabled_module(tenant, &choice.module_id)
            .await?
            .ok_or(StartError::NotPayable)?;
        let view = match self
            .modules
            .render(tenant, &module, Some(resident), &choice.view)
            .await
        {
            Ok(view) => view,
            Err(CallFailure::NotFound(_)) => return Err(StartError::NotPayable),
            Err(failure) => return Err(StartError::Module(failure)),
        };
        view.blocks
            .into_iter()
            .find_map(|block| match block {
                Block::Payable(payable) if payable.reference == choice.reference => Some(payable),
                _ => None,
            })
            .ok_or(StartError::NotPayable)
    }

    /// A payment of the debt is under way or received: the resident is
    /// sent back to the provider's page of one still payable there (a
    /// second click, a tab reopened), else told why not.
    async fn under_way(
        &self,
        tenant: &Tenant,
        account_id: i32,
        state: PayableState,
        now: DateTime<Utc>,
    ) -> Result<Started, StartError> {
        let payment_id = match state {
            PayableState::Received { payment_id } => {
                return Err(StartError::AlreadyPaid { payment_id });
            }
            PayableState::InProgress { payment_id } => payment_id,
        };
        let resumable = self
            .find_for(tenant, account_id, payment_id)
            .await?
            .filter(|row| {
                row.state == PaymentState::Waiting && now - row.created_at < PAGE_LIFETIME
            })
            .and_then(|row| row.provider_id);
        match resumable {
            Some(provider_id) => Ok(Started {
                payment_id,
                redirect_url: self.provider_page(&provider_id),
            }),
            None => Err(StartError::InProgress { payment_id }),
        }
    }

    /// The provider's page of an operation.
    fn provider_page(&self, provider_id: &str) -> String {
        self.payfip.page_url(provider_id)
    }

    /// [`Self::state_of`] through the transaction that holds the debt's lock.
    async fn state_in(
        &self,
        connection: &impl sea_orm::ConnectionTrait,
        tenant: &Tenant,
        account_id: i32,
        module_id: &str,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PayableState>, DbErr> {
        Ok(blocking(
            self.open_payments(connection, tenant, account_id, module_id, reference, now)
                .await?,
        ))
    }

    /// The payments of a debt that block another: under way (younger than
    /// [`WAITING_FOR`]), or paid and not yet told to the module.
    async fn open_payments(
        &self,
        connection: &impl sea_orm::ConnectionTrait,
        tenant: &Tenant,
        account_id: i32,
        module_id: &str,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<payment::Model>, DbErr> {
        let rows = tenant
            .scope()
            .select::<payment::Entity>()
            .filter(payment::Column::AccountId.eq(account_id))
            .filter(payment::Column::ModuleId.eq(module_id))
            .filter(payment::Column::Reference.eq(reference))
            .filter(payment::Column::State.is_in([
                PaymentState::Created,
                PaymentState::Waiting,
                PaymentState::Paid,
            ]))
            .all(connection)
            .await?;
        Ok(rows
            .into_iter()
            .filter(|row| match row.state {
                PaymentState::Paid => row.event_delivered_at.is_none(),
                _ => row.created_at > now - WAITING_FOR,
            })
            .collect())
    }

    async fn state_of(
        &self,
        tenant: &Tenant,
        account_id: i32,
        module_id: &str,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PayableState>, DbErr> {
        self.state_in(&self.db, tenant, account_id, module_id, reference, now)
            .await
    }

    /// What "Payer en ligne" becomes for each reference of a module a
    /// resident has a payment of (absent: offered as usual).
    pub async fn payable_states(
        &self,
        tenant: &Tenant,
        account_id: i32,
        module_id: &str,
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, PayableState>, DbErr> {
        let rows = tenant
            .scope()
            .select::<payment::Entity>()
            .filter(payment::Column::AccountId.eq(account_id))
            .filter(payment::Column::ModuleId.eq(module_id))
            .filter(payment::Column::State.is_in([
                PaymentState::Created,
                PaymentState::Waiting,
                PaymentState::Paid,
            ]))
            .filter(payment::Column::EventDeliveredAt.is_null())
            .all(&self.db)
            .await?;
        let mut states = HashMap::new();
        for row in rows {
            let state = match row.state {
                PaymentState::Paid => PayableState::Received { payment_id: row.id },
                _ if row.created_at > now - WAITING_FOR => {
                    PayableState::InProgress { payment_id: row.id }
                }
                _ => continue,
            };
            // Received wins over a payment under way.
            let keep = matches!(
                states.get(&row.reference),
                Some(PayableState::Received { .. })
            );
            if !keep {
                states.insert(row.reference.clone(), state);
            }
        }
        Ok(states)
    }
}

/// How long the provider's page of an operation takes payment (PayFiP:
/// 15 minutes): a resident clicking again is sent back to it meanwhile.
const PAGE_LIFETIME: chrono::Duration = chrono::Duration::minutes(15);

/// What blocks another payment of a debt, received first.
fn blocking(rows: Vec<payment::Model>) -> Option<PayableState> {
    rows.into_iter()
        .map(|row| match row.state {
            PaymentState::Paid => PayableState::Received { payment_id: row.id },
            _ => PayableState::InProgress { payment_id: row.id },
        })
        .min_by_key(|state| matches!(state, PayableState::InProgress { .. }))
}

/// Holds the debt's lock until `transaction` ends: on PostgreSQL an
/// advisory lock of a hash of the town, resident, module and reference
/// (other instances wait for it); SQLite's write transaction already
/// admits one writer.
async fn lock_debt(
    transaction: &sea_orm::DatabaseTransaction,
    tenant: &Tenant,
    account_id: i32,
    module_id: &str,
    reference: &str,
) -> Result<(), DbErr> {
    use sea_orm::{ConnectionTrait as _, DatabaseBackend, Statement};
    use sha2::Digest as _;
    if transaction.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    let digest = sha2::Sha256::digest(format!(
        "payment\u{0}{}\u{0}{account_id}\u{0}{module_id}\u{0}{reference}",
        tenant.scope().tenant_id().get()
    ));
    let mut key = [0u8; 8];
    key.copy_from_slice(&digest[..8]);
    transaction
        .execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [i64::from_be_bytes(key).into()],
        ))
        .await?;
    Ok(())
}

/// A provider's failure, in French, for the staff.
pub(super) fn describe(error: &ProviderError) -> String {
    match error {
        ProviderError::Refused { code, label } => {
            format!("refus du prestataire ({code}) : {label}")
        }
        ProviderError::Unavailable(detail) => format!("le prestataire ne répond pas ({detail})"),
        ProviderError::Protocol(detail) => format!("réponse illisible ({detail})"),
    }
}

/// Keeps an answer of the provider on the payment.
pub(super) async fn record_answer(
    connection: &impl sea_orm::ConnectionTrait,
    tenant: &Tenant,
    payment_id: i32,
    source: AnswerSource,
    outcome: String,
    detail: &serde_json::Value,
) -> Result<(), DbErr> {
    payment_answer::ActiveModel {
        tenant_id: Set(tenant.scope().tenant_id().get()),
        payment_id: Set(payment_id),
        source: Set(source),
        outcome: Set(outcome.chars().take(300).collect()),
        detail: Set(detail.to_string()),
        received_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(connection)
    .await?;
    Ok(())
}
