//! What the provider says of a payment, judged ([`judge`], pure) and
//! applied once ([`Payments::settle`]): the answer is checked against the
//! payment, the change is a compare-and-set on the state read before
//! asking, and a payment recorded as paid queues its receipt and its event
//! in the same transaction.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait as _, DbErr, EntityTrait as _, QueryFilter as _};
use serde::Serialize;

use super::entity::{AnswerSource, PaymentState, Saisie, payment};
use super::provider::{Outcome, PaymentProvider as _, ProviderError, Report, Settlement};
use super::start::{describe, record_answer};
use super::{Payments, WAITING_FOR};
use crate::accounts::entity::account;
use crate::audit::{Actor, AuditKind, Event, Origin};
use crate::mail::MailKind;
use crate::tenancy::Tenant;

/// What an answer means for a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The state it moves to; none: unchanged.
    pub next: Option<PaymentState>,
    /// What the provider's answer says the payment is (before the state
    /// machine says whether the payment may go there).
    pub target: Option<PaymentState>,
    /// What Guichet made of it, in French, for the staff.
    pub outcome: String,
    /// The settlement believed (a result that matched the payment).
    pub settlement: Option<Settlement>,
    /// An answer refused (it does not match the payment): logged.
    pub refused: bool,
}

/// Where `current` may go when the provider says `target`: `paid` is
/// final; a payment refused, cancelled or expired gives way to `paid`
/// only (the provider, asked again, says the money was taken); open ones
/// go anywhere; `failed` never reached the provider.
pub fn transition(current: PaymentState, target: PaymentState) -> Option<PaymentState> {
    use PaymentState::{Cancelled, Created, Expired, Failed, Paid, Refused, Waiting};
    match (current, target) {
        (current, target) if current == target => None,
        (Paid | Failed, _) => None,
        (Created | Waiting, target) => Some(target),
        (Refused | Cancelled | Expired, Paid) => Some(Paid),
        (Refused | Cancelled | Expired, _) => None,
    }
}

/// What the provider's answer (or failure) means for `payment` at `now`.
pub fn judge(
    payment: &payment::Model,
    answer: &Result<Report, ProviderError>,
    now: DateTime<Utc>,
) -> Verdict {
    let young = now - payment.created_at < WAITING_FOR;
    let verdict = |target: Option<PaymentState>, outcome: String| Verdict {
        next: target.and_then(|target| transition(payment.state, target)),
        target,
        outcome,
        settlement: None,
        refused: false,
    };
    match answer {
        Err(error) => verdict(None, format!("Sans réponse : {}", describe(error))),
        Ok(Report::Unknown) => verdict(
            Some(PaymentState::Expired),
            "Opération inconnue du prestataire (P1) : expirée.".to_owned(),
        ),
        Ok(Report::NotYetKnown) if young => verdict(
            None,
            "Résultat pas encore connu (P5) : en attente.".to_owned(),
        ),
        Ok(Report::NotYetKnown) => verdict(
            Some(PaymentState::Expired),
            "Résultat toujours inconnu (P5) après 20 minutes : expirée.".to_owned(),
        ),
        Ok(Report::Settled(settlement)) => {
            if let Some(problem) = mismatch(payment, settlement) {
                return Verdict {
                    next: None,
                    target: None,
                    outcome: format!("Réponse refusée : {problem}."),
                    settlement: None,
                    refused: true,
                };
            }
            let target = match settlement.outcome {
                Outcome::PaidByCard | Outcome::PaidByDirectDebit => PaymentState::Paid,
                Outcome::CardRefused | Outcome::DirectDebitRefused => PaymentState::Refused,
                Outcome::Cancelled => PaymentState::Cancelled,
            };
            Verdict {
                settlement: Some(settlement.clone()),
                ..verdict(
                    Some(target),
                    format!(
                        "Résultat {} ({}){}.",
                        settlement.code,
                        settlement.outcome.label(),
                        settlement
                            .authorization
                            .as_ref()
                            .map(|number| format!(", autorisation {number}"))
                            .unwrap_or_default()
                    ),
                )
            }
        }
    }
}

/// Why a settlement is not this payment's, if it is not.
fn mismatch(payment: &payment::Model, settlement: &Settlement) -> Option<String> {
    if settlement.amount_cents != Some(payment.amount_cents) {
        return Some(format!(
            "le montant annoncé ({}) n'est pas celui du paiement ({})",
            settlement
                .amount_cents
                .map_or_else(|| "absent".to_owned(), crate::format::amount),
            crate::format::amount(payment.amount_cents)
        ));
    }
    // PayFiP gives the reference back as it was sent; a case changed on
    // the way is the same debt.
    if !settlement
        .reference
        .eq_ignore_ascii_case(&payment.reference)
    {
        return Some(format!(
            "la référence annoncée ({}) n'est pas celle du paiement ({})",
            settlement.reference, payment.reference
        ));
    }
    if settlement.numcli != payment.numcli {
        return Some(format!(
            "le numéro de client annoncé ({}) n'est pas celui de la commune ({})",
            settlement.numcli, payment.numcli
        ));
    }
    if !settlement.provider_id.is_empty()
        && Some(&settlement.provider_id) != payment.provider_id.as_ref()
    {
        return Some("l'opération annoncée n'est pas celle du paiement".to_owned());
    }
    None
}

/// The receipt's data (`mail/payment_receipt`).
#[derive(Debug, Serialize)]
struct ReceiptMail<'a> {
    first_name: &'a str,
    last_name: &'a str,
    label: &'a str,
    amount: String,
    paid_at: String,
    number: i32,
    provider: &'static str,
    transaction: &'a str,
    authorization: Option<&'a str>,
    documents_url: String,
    payment_url: String,
    /// Made in PayFiP's test environment: no money moved.
    test: bool,
}

impl Payments {
    /// Asks the provider about a payment and applies its answer (see the
    /// policy in mod.rs); the payment as it is afterwards.
    pub async fn settle(
        &self,
        tenant: &Arc<Tenant>,
        payment: payment::Model,
        source: AnswerSource,
        now: DateTime<Utc>,
    ) -> Result<payment::Model, DbErr> {
        if payment.state == PaymentState::Paid || payment.state == PaymentState::Failed {
            // Nothing the provider says changes it: nothing to ask.
            return Ok(payment);
        }
        let Some(provider_id) = payment.provider_id.clone() else {
            // Recorded, never created at the provider (the server stopped
            // in between): the resident never reached it.
            if now - payment.created_at >= WAITING_FOR {
                let verdict = Verdict {
                    next: transition(payment.state, PaymentState::Expired),
                    target: Some(PaymentState::Expired),
                    outcome: "Jamais transmis au prestataire : expiré.".to_owned(),
                    settlement: None,
                    refused: false,
                };
                return self
                    .apply(
                        tenant,
                        payment,
                        source,
                        verdict,
                        serde_json::Value::Null,
                        now,
                    )
                    .await;
            }
            return Ok(payment);
        };
        let answer = self.provider(payment.provider).report(&provider_id).await;
        let verdict = judge(&payment, &answer, now);
        if verdict.refused {
            tracing::warn!(
                town = %tenant.slug,
                payment = payment.id,
                "payment answer refused: {}",
                verdict.outcome
            );
        } else if let Err(error) = &answer {
            tracing::warn!(town = %tenant.slug, payment = payment.id, %error, "payment provider");
        }
        // The rounds ask every minute: what changes nothing is not kept,
        // but for the answers someone came with (a return, a
        // notification, an agent).
        let keep =
            verdict.next.is_some() || verdict.refused || source != AnswerSource::Reconciliation;
        if !keep {
            return Ok(payment);
        }
        let detail = match &answer {
            Ok(Report::Settled(settlement)) => serde_json::json!({
                "resultrans": settlement.code,
                "montant": settlement.amount_cents,
                "refdet": settlement.reference,
                "numcli": settlement.numcli,
                "numauto": settlement.authorization,
                "idOp": settlement.provider_id,
                "date": settlement.at.map(|at| at.to_rfc3339()),
            }),
            Ok(Report::NotYetKnown) => serde_json::json!({ "code": "P5" }),
            Ok(Report::Unknown) => serde_json::json!({ "code": "P1" }),
            Err(error) => serde_json::json!({ "error": error.to_string() }),
        };
        self.apply(tenant, payment, source, verdict, detail, now)
            .await
    }

    /// Records a verdict: the answer, and the change if the payment is
    /// still in the state it was read in. If another answer changed it
    /// meanwhile, this one is applied to what that one left, as far as
    /// the state machine allows (a payment expired a moment ago still
    /// gives way to the payment the provider confirms now).
    async fn apply(
        &self,
        tenant: &Arc<Tenant>,
        mut payment: payment::Model,
        source: AnswerSource,
        verdict: Verdict,
        detail: serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<payment::Model, DbErr> {
        let mut next = verdict.next;
        let mut mails = false;
        let mut changed = None;
        // Each lost race leaves a later state; `paid` is final: a few
        // rounds at most.
        let mut rounds = 0;
        let transaction = loop {
            let transaction = crate::db::begin_write(&self.db).await?;
            let Some(state) = next else {
                break transaction;
            };
            let mut update = payment::Entity::update_many()
                .col_expr(payment::Column::State, Expr::value(state))
                .col_expr(payment::Column::UpdatedAt, Expr::value(Utc::now()))
                // When it is recorded, not when it was asked: the data
                // API's feed reads in this order.
                .col_expr(payment::Column::RecordedAt, Expr::value(Some(Utc::now())))
                .filter(payment::Column::Id.eq(payment.id))
                .filter(payment::Column::TenantId.eq(tenant.scope().tenant_id().get()))
                .filter(payment::Column::State.eq(payment.state));
            if let Some(settlement) = &verdict.settlement {
                update = update
                    .col_expr(
                        payment::Column::Result,
                        Expr::value(Some(settlement.code.clone())),
                    )
                    .col_expr(
                        payment::Column::Authorization,
                        Expr::value(settlement.authorization.clone()),
                    )
                    .col_expr(
                        payment::Column::PaidAt,
                        Expr::value(
                            (state == PaymentState::Paid).then(|| settlement.at.unwrap_or(now)),
                        ),
                    );
            }
            if update.exec(&transaction).await?.rows_affected == 1 {
                if state == PaymentState::Paid {
                    mails = self
                        .received(
                            &transaction,
                            tenant,
                            &payment,
                            verdict.settlement.as_ref(),
                            now,
                        )
                        .await?;
                }
                changed = Some(state);
                break transaction;
            }
            drop(transaction);
            payment = self
                .find(tenant, payment.id)
                .await?
                .ok_or_else(|| DbErr::RecordNotFound(format!("payment {}", payment.id)))?;
            rounds += 1;
            next = verdict
                .target
                .and_then(|target| transition(payment.state, target))
                .filter(|_| rounds < 4);
        };
        let mut outcome = verdict.outcome;
        if verdict.next.is_some() && changed.is_none() {
            outcome.push_str(" Sans effet : une autre réponse l'a déjà enregistré.");
        }
        record_answer(&transaction, tenant, payment.id, source, outcome, &detail).await?;
        transaction.commit().await?;
        if mails {
            self.mailer.wake();
        }
        let settled = self
            .find(tenant, payment.id)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound(format!("payment {}", payment.id)))?;
        if changed == Some(PaymentState::Paid) {
            // At once, so that the invoice shows paid when the resident
            // comes back; a failure is left to the reconciliation's rounds.
            if let Err(error) = self.deliver(tenant, settled.id, Utc::now()).await {
                tracing::warn!(town = %tenant.slug, payment = settled.id, %error, "payment event not delivered yet");
            }
            return Ok(self.find(tenant, payment.id).await?.unwrap_or(settled));
        }
        Ok(settled)
    }

    /// The journal entry and the receipt of a payment just recorded as
    /// paid, in its transaction; whether a mail was queued.
    async fn received(
        &self,
        transaction: &sea_orm::DatabaseTransaction,
        tenant: &Tenant,
        payment: &payment::Model,
        settlement: Option<&Settlement>,
        now: DateTime<Utc>,
    ) -> Result<bool, DbErr> {
        let transaction_id = payment.provider_id.as_deref().unwrap_or_default();
        crate::audit::record_event(
            transaction,
            tenant.scope(),
            Event {
                kind: AuditKind::PaymentReceived,
                actor: Actor::System,
                subject: payment.account_id,
                origin: &Origin::default(),
                detail: Some(format!(
                    "Paiement n° {} : {} — {} ({} {})",
                    payment.id,
                    payment.label,
                    crate::format::amount(payment.amount_cents),
                    payment.provider.label(),
                    transaction_id
                )),
            },
        )
        .await?;
        let Some(account_id) = payment.account_id else {
            return Ok(false);
        };
        let Some(resident) = tenant
            .scope()
            .select::<account::Entity>()
            .filter(account::Column::Id.eq(account_id))
            .one(transaction)
            .await?
        else {
            return Ok(false);
        };
        if resident.email.trim().is_empty() {
            return Ok(false);
        }
        let paid_at = settlement.and_then(|s| s.at).unwrap_or(now);
        let data = ReceiptMail {
            first_name: &resident.first_name,
            last_name: &resident.last_name,
            label: &payment.label,
            amount: crate::format::amount(payment.amount_cents),
            paid_at: crate::format::date_time(&paid_at.with_timezone(&tenant.timezone)),
            number: payment.id,
            provider: payment.provider.label(),
            transaction: transaction_id,
            authorization: settlement.and_then(|s| s.authorization.as_deref()),
            documents_url: self.links.town_url(tenant, "/documents"),
            payment_url: self
                .links
                .town_url(tenant, &format!("/paiements/{}", payment.id)),
            test: payment.saisie == Saisie::Test,
        };
        // The receipt never decides whether a payment is recorded: a
        // town's template that cannot be composed is logged, the payment
        // recorded all the same (its page shows it).
        match self
            .mailer
            .compose(tenant, MailKind::PaymentReceipt, &resident.email, data)
        {
            Ok(mail) => {
                self.mailer
                    .queue_many(transaction, vec![mail])
                    .await
                    .map_err(|error| match error {
                        crate::mail::MailError::Database(error) => error,
                        other => DbErr::Custom(other.to_string()),
                    })?;
                Ok(true)
            }
            Err(error) => {
                tracing::error!(town = %tenant.slug, payment = payment.id, %error, "payment receipt not composed");
                Ok(false)
            }
        }
    }

    /// The resident's browser back from the provider, at the address with
    /// the payment's secret: the payment, settled; none for a token the
    /// town does not have.
    pub async fn returned(
        &self,
        tenant: &Arc<Tenant>,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<payment::Model>, DbErr> {
        let Some(payment) = tenant
            .scope()
            .select::<payment::Entity>()
            .filter(payment::Column::ReturnToken.eq(token))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        self.settle(tenant, payment, AnswerSource::Return, now)
            .await
            .map(Some)
    }

    /// The provider's notification for `provider_id`: the town's payment
    /// of that operation, settled; none for an operation the town does
    /// not have (unknown, or another town's — nothing is done).
    pub async fn notified(
        &self,
        tenant: &Arc<Tenant>,
        provider_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<payment::Model>, DbErr> {
        let Some(payment) = tenant
            .scope()
            .select::<payment::Entity>()
            .filter(payment::Column::ProviderId.eq(provider_id))
            .one(&self.db)
            .await?
        else {
            tracing::info!(town = %tenant.slug, "payment notification for an operation the town does not have");
            return Ok(None);
        };
        self.settle(tenant, payment, AnswerSource::Notification, now)
            .await
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::{ProviderKind, Saisie};
    use PaymentState::{Cancelled, Created, Expired, Failed, Paid, Refused, Waiting};

    fn payment(state: PaymentState, minutes_old: i64) -> payment::Model {
        let now = Utc::now();
        payment::Model {
            id: 1,
            tenant_id: 1,
            account_id: Some(1),
            resident_identifier: "michel.arpege".to_owned(),
            provider: ProviderKind::PayFiP,
            module_id: "invoices".to_owned(),
            reference: "2026060042".to_owned(),
            label: "Facture".to_owned(),
            amount_cents: 4500,
            email: "m@example.org".to_owned(),
            numcli: "123456".to_owned(),
            saisie: Saisie::Test,
            return_path: "/".to_owned(),
            return_token: "t".to_owned(),
            provider_id: Some("op".to_owned()),
            state,
            result: None,
            authorization: None,
            paid_at: None,
            created_at: now - chrono::Duration::minutes(minutes_old),
            updated_at: now,
            recorded_at: None,
            asked_at: None,
            event_delivered_at: None,
            event_next_at: None,
            event_attempts: 0,
            event_error: None,
        }
    }

    fn settled(code: &str, outcome: Outcome, amount: i64) -> Result<Report, ProviderError> {
        Ok(Report::Settled(Settlement {
            outcome,
            code: code.to_owned(),
            authorization: Some("123456".to_owned()),
            at: None,
            amount_cents: Some(amount),
            reference: "2026060042".to_owned(),
            numcli: "123456".to_owned(),
            provider_id: "op".to_owned(),
        }))
    }

    #[test]
    fn paid_is_final_and_the_others_give_way_to_paid_only() {
        assert_eq!(transition(Paid, Refused), None);
        assert_eq!(transition(Paid, Paid), None);
        assert_eq!(transition(Failed, Paid), None);
        assert_eq!(transition(Waiting, Paid), Some(Paid));
        assert_eq!(transition(Created, Expired), Some(Expired));
        for closed in [Refused, Cancelled, Expired] {
            assert_eq!(transition(closed, Paid), Some(Paid));
            assert_eq!(transition(closed, Waiting), None);
            assert_eq!(transition(closed, Refused), None);
        }
    }

    #[test]
    fn answers_are_judged_against_the_payment() {
        let now = Utc::now();
        let waiting = payment(Waiting, 1);
        assert_eq!(
            judge(&waiting, &settled("P", Outcome::PaidByCard, 4500), now).next,
            Some(Paid)
        );
        assert_eq!(
            judge(
                &waiting,
                &settled("V", Outcome::PaidByDirectDebit, 4500),
                now
            )
            .next,
            Some(Paid)
        );
        assert_eq!(
            judge(
                &waiting,
                &settled("Z", Outcome::DirectDebitRefused, 4500),
                now
            )
            .next,
            Some(Refused)
        );
        assert_eq!(
            judge(&waiting, &settled("A", Outcome::Cancelled, 4500), now).next,
            Some(Cancelled)
        );
        let wrong = judge(&waiting, &settled("P", Outcome::PaidByCard, 4600), now);
        assert_eq!((wrong.next, wrong.refused), (None, true));
        assert!(wrong.outcome.contains("46,00"), "{}", wrong.outcome);
        assert_eq!(judge(&waiting, &Ok(Report::NotYetKnown), now).next, None);
        assert_eq!(
            judge(&payment(Waiting, 21), &Ok(Report::NotYetKnown), now).next,
            Some(Expired)
        );
        assert_eq!(
            judge(&waiting, &Ok(Report::Unknown), now).next,
            Some(Expired)
        );
        assert_eq!(
            judge(
                &waiting,
                &Err(ProviderError::Unavailable("down".to_owned())),
                now
            )
            .next,
            None
        );
        let cancelled = payment(Cancelled, 30);
        assert_eq!(
            judge(&cancelled, &settled("P", Outcome::PaidByCard, 4500), now).next,
            Some(Paid)
        );
        assert_eq!(
            judge(
                &payment(Paid, 30),
                &settled("A", Outcome::Cancelled, 4500),
                now
            )
            .next,
            None
        );
    }
}
