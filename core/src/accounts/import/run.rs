//! The plan carried out in the caller's transaction: accounts inserted a
//! few hundred per statement (their ids come back with RETURNING), one
//! activation link and one mail each, the known residents updated, each
//! change audited, and the import itself. The same work for a simulation
//! (rolled back by the caller) and an execution (committed): a simulation
//! meets the same constraints an execution would.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, DatabaseTransaction, EntityTrait as _, QueryFilter as _,
};

use super::parse::Row;
use super::plan::{self, Creation};
use super::report::ImportReport;
use crate::accounts::AccountSettings;
use crate::accounts::entity::account::{self, AccountStatus};
use crate::accounts::entity::account_token::{self, LinkPurpose};
use crate::accounts::error::AccountError;
use crate::accounts::secrets::{new_temporary_password, new_token, token_hash};
use crate::accounts::service::Accounts;
use crate::audit::{self, Actor, AuditKind, Event, Origin};
use crate::tenancy::Tenant;

/// Accounts per INSERT: nineteen columns a row, within the parameter
/// limits of SQLite (32,766) and PostgreSQL (65,535).
const ACCOUNTS_PER_STATEMENT: usize = 500;
const TOKENS_PER_STATEMENT: usize = 1000;

/// An account inserted, with what its mail needs.
struct Inserted {
    account: account::Model,
    temporary_password: String,
}

impl Accounts {
    /// Plans and carries out the import of `rows` in `txn`; `import_id`
    /// is the execution's (none for a simulation). The report says what
    /// was (or would be) done; with error lines, an execution stops there
    /// and the caller rolls back.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn import_in(
        &self,
        txn: &DatabaseTransaction,
        tenant: &Tenant,
        actor: &Actor,
        origin: &Origin,
        rows: &[Row],
        update_known: bool,
        import_id: Option<i32>,
        now: DateTime<Utc>,
    ) -> Result<ImportReport, AccountError> {
        let scope = tenant.scope();
        let started = std::time::Instant::now();
        let mut plan = plan::plan(txn, scope, rows, update_known).await?;
        let planned = started.elapsed();
        plan.report.executed = import_id.is_some();
        if import_id.is_some() && !plan.report.errors.is_empty() {
            return Ok(plan.report);
        }
        let detail = Some(match import_id {
            Some(id) => format!("import n° {id}"),
            None => "import".to_owned(),
        });

        let inserted = self
            .insert_accounts(txn, tenant, &plan.creations, now)
            .await?;
        let accounts_inserted = started.elapsed();
        self.queue_activations(txn, tenant, &inserted, now).await?;
        let mails_queued = started.elapsed();
        for update in &plan.updates {
            let resident = &update.resident;
            let mut change = scope
                .update::<account::Entity>()
                .col_expr(
                    account::Column::FirstName,
                    Expr::value(resident.first_name.clone()),
                )
                .col_expr(
                    account::Column::LastName,
                    Expr::value(resident.last_name.clone()),
                );
            if let Some(civility) = resident.civility {
                change = change.col_expr(account::Column::Civility, Expr::value(civility));
            }
            if let Some(address) = &resident.address {
                change = change.col_expr(account::Column::Address, Expr::value(address.clone()));
            }
            if let Some(phone) = &resident.phone {
                change = change.col_expr(account::Column::Phone, Expr::value(phone.clone()));
            }
            change
                .filter(account::Column::Id.eq(update.account_id))
                .exec(txn)
                .await?;
        }

        let event = |kind, subject| Event {
            kind,
            actor: actor.clone(),
            subject,
            origin,
            detail: detail.clone(),
        };
        // Collected before the await: an iterator of closures held across
        // it would make the future not `Send` for every lifetime.
        let mut events: Vec<Event<'_>> = inserted
            .iter()
            .map(|created| event(AuditKind::AccountCreated, Some(created.account.id)))
            .collect();
        for update in &plan.updates {
            events.push(event(
                AuditKind::AccountUpdatedByImport,
                Some(update.account_id),
            ));
        }
        audit::record_events(txn, scope, events).await?;
        let counts = plan.report.counts();
        audit::record_event(
            txn,
            scope,
            Event {
                detail: Some(format!(
                    "{} : {} créé(s), {} mis à jour, {} inchangé(s)",
                    detail.as_deref().unwrap_or_default(),
                    counts.to_create,
                    counts.to_update,
                    counts.unchanged
                )),
                ..event(AuditKind::AccountsImported, None)
            },
        )
        .await?;
        // Where an import's time goes (docs/PERFORMANCE.md).
        tracing::info!(
            town = %tenant.slug,
            lines = rows.len(),
            executed = import_id.is_some(),
            planned_ms = planned.as_millis(),
            accounts_inserted_ms = accounts_inserted.as_millis(),
            mails_queued_ms = mails_queued.as_millis(),
            total_ms = started.elapsed().as_millis(),
            "import run"
        );
        Ok(plan.report)
    }

    async fn insert_accounts(
        &self,
        txn: &DatabaseTransaction,
        tenant: &Tenant,
        creations: &[Creation],
        now: DateTime<Utc>,
    ) -> Result<Vec<Inserted>, AccountError> {
        let scope = tenant.scope();
        let temporary_until = now
            + Duration::days(i64::from(
                AccountSettings::of(tenant).temporary_password_validity_days,
            ));
        let mut passwords: HashMap<String, String> = HashMap::with_capacity(creations.len());
        let mut inserted = Vec::with_capacity(creations.len());
        for chunk in creations.chunks(ACCOUNTS_PER_STATEMENT) {
            let rows: Vec<account::ActiveModel> = chunk
                .iter()
                .map(|creation| {
                    let resident = &creation.resident;
                    let password = new_temporary_password();
                    let password_hash = self.hasher.hash_temporary(&password);
                    passwords.insert(resident.email_key.clone(), password);
                    account::ActiveModel {
                        tenant_id: Set(scope.tenant_id().get()),
                        identifier: Set(creation.identifier.clone()),
                        email: Set(resident.email.clone()),
                        email_key: Set(resident.email_key.clone()),
                        civility: Set(resident.civility),
                        first_name: Set(resident.first_name.clone()),
                        last_name: Set(resident.last_name.clone()),
                        address: Set(resident.address.clone()),
                        phone: Set(resident.phone.clone()),
                        password_hash: Set(password_hash),
                        password_is_temporary: Set(true),
                        temporary_password_expires_at: Set(Some(temporary_until)),
                        status: Set(AccountStatus::Pending),
                        created_at: Set(now),
                        activated_at: Set(None),
                        password_changed_at: Set(None),
                        last_login_at: Set(None),
                        previous_login_at: Set(None),
                        ..Default::default()
                    }
                })
                .collect();
            // RETURNING gives the rows in no promised order: matched back
            // by their (unique) e-mail key.
            for account in account::Entity::insert_many(rows)
                .exec_with_returning(txn)
                .await?
            {
                let temporary_password = passwords.remove(&account.email_key).unwrap_or_default();
                inserted.push(Inserted {
                    account,
                    temporary_password,
                });
            }
        }
        Ok(inserted)
    }

    /// One activation link and mail per new account.
    async fn queue_activations(
        &self,
        txn: &DatabaseTransaction,
        tenant: &Tenant,
        inserted: &[Inserted],
        now: DateTime<Utc>,
    ) -> Result<(), AccountError> {
        let scope = tenant.scope();
        let expires = now
            + Duration::days(i64::from(
                AccountSettings::of(tenant).activation_validity_days,
            ));
        let mut links = Vec::with_capacity(inserted.len());
        let mut mails = Vec::with_capacity(inserted.len());
        for created in inserted {
            let token = new_token();
            links.push(account_token::ActiveModel {
                tenant_id: Set(scope.tenant_id().get()),
                account_id: Set(created.account.id),
                purpose: Set(LinkPurpose::Activation),
                token_hash: Set(token_hash(&token)),
                created_at: Set(now),
                expires_at: Set(expires),
                used_at: Set(None),
                payload: Set(None),
                ..Default::default()
            });
            mails.push(self.compose_activation(
                tenant,
                &created.account,
                &token,
                &created.temporary_password,
                expires,
            )?);
        }
        let mut links = links.into_iter().peekable();
        while links.peek().is_some() {
            let chunk: Vec<_> = links.by_ref().take(TOKENS_PER_STATEMENT).collect();
            account_token::Entity::insert_many(chunk)
                .exec_without_returning(txn)
                .await?;
        }
        self.mailer.queue_many(txn, mails).await?;
        Ok(())
    }
}
