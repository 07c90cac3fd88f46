//! The staff's actions on a resident's account (and the data API's): send
//! the activation again, disable and re-enable, force a password change,
//! correct the e-mail address. Each is one transaction with its journal
//! event, whose actor is the staff member (or the API key) and whose
//! subject is the resident; a mail it sends is queued in it.
//!
//! Each change is conditional on the state it changes (`… WHERE
//! disabled_at IS NULL`): two staff members acting at once do not both
//! succeed, and the second is told why.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait as _, DatabaseTransaction, DbErr, QueryFilter as _, QuerySelect as _};
use serde::Serialize;

use super::entity::account::{self, AccountStatus};
use super::error::AccountError;
use super::search::index_account;
use super::secrets::new_temporary_password;
use super::service::{Accounts, Addressee, account_by_id};
use super::sessions;
use crate::audit::{self, Actor, AuditKind, Event, Origin};
use crate::format::long_date_time;
use crate::mail::MailKind;
use crate::tenancy::{Tenant, is_plausible_email};

/// The longest reason kept for a disabling or re-enabling.
pub const MAX_REASON_CHARS: usize = 500;

/// Why an action was not done: the account is not (or no longer) in the
/// state it needs, or what was typed is wrong. Each has its French message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdministrationProblem {
    /// Not in this town (or gone).
    UnknownAccount,
    /// The activation can be sent only to an account awaiting it.
    NotPending,
    /// Nothing but re-enabling is done to a disabled account.
    Disabled,
    AlreadyDisabled,
    NotDisabled,
    /// A password change is forced on an active account only (a pending
    /// one changes its temporary password anyway).
    NotActive,
    ReasonMissing,
    ReasonTooLong,
    InvalidEmail,
    SameEmail,
    /// Another account of the town has this address: its identifier.
    EmailTaken(String),
    /// Not a refused mail of this account (or queued again meanwhile).
    NoSuchRefusedMail,
}

impl AdministrationProblem {
    pub fn message(&self) -> String {
        match self {
            Self::UnknownAccount => "Ce compte n'existe pas ou plus.".to_owned(),
            Self::NotPending => {
                "Ce compte est déjà activé : il n'a pas besoin d'un courriel d'activation."
                    .to_owned()
            }
            Self::Disabled => "Ce compte est désactivé : réactivez-le d'abord.".to_owned(),
            Self::AlreadyDisabled => "Ce compte est déjà désactivé.".to_owned(),
            Self::NotDisabled => "Ce compte n'est pas désactivé.".to_owned(),
            Self::NotActive => {
                "Ce compte n'est pas encore activé : l'usager choisira son mot de passe à sa \
                 première connexion."
                    .to_owned()
            }
            Self::ReasonMissing => "Indiquez le motif.".to_owned(),
            Self::ReasonTooLong => {
                format!("Le motif doit faire au plus {MAX_REASON_CHARS} caractères.")
            }
            Self::InvalidEmail => {
                "Saisissez une adresse électronique valide, par exemple nom@exemple.fr.".to_owned()
            }
            Self::SameEmail => "C'est déjà l'adresse de ce compte.".to_owned(),
            Self::EmailTaken(identifier) => format!(
                "Un autre compte de la commune utilise déjà cette adresse (identifiant {identifier})."
            ),
            Self::NoSuchRefusedMail => {
                "Ce courriel n'est plus en attente d'un nouvel envoi.".to_owned()
            }
        }
    }
}

type Outcome = Result<Result<(), AdministrationProblem>, AccountError>;

#[derive(Serialize)]
struct EmailCorrectedMail<'a> {
    #[serde(flatten)]
    to: Addressee<'a>,
    old_email: &'a str,
    new_email: &'a str,
    /// Whether this copy goes to the new address.
    to_new_address: bool,
    corrected_at: String,
}

impl Accounts {
    /// Sends the activation mail again with a new temporary password and
    /// link: the old password and link stop working. No mail bound: a
    /// staff member (or the town's software) asks, not a stranger.
    pub async fn reissue_activation(
        &self,
        tenant: &Tenant,
        account_id: i32,
        actor: Actor,
        origin: &Origin,
    ) -> Outcome {
        let temporary_password = new_temporary_password();
        let password_hash = self.hasher.hash_temporary(&temporary_password);
        let now = Utc::now();
        let txn = crate::db::begin_write(&self.db).await?;
        let owner = match self.locked(&txn, tenant, account_id).await? {
            Ok(owner) => owner,
            Err(problem) => return refused(txn, problem).await,
        };
        if owner.disabled_at.is_some() {
            return refused(txn, AdministrationProblem::Disabled).await;
        }
        if owner.status != AccountStatus::Pending {
            return refused(txn, AdministrationProblem::NotPending).await;
        }
        self.renew_activation(
            &txn,
            tenant,
            &owner,
            &temporary_password,
            password_hash,
            now,
        )
        .await?;
        self.commit_with_mail_by(
            txn,
            tenant.scope(),
            event(
                AuditKind::ActivationMailSent,
                actor,
                account_id,
                origin,
                None,
            ),
        )
        .await?;
        Ok(Ok(()))
    }

    /// Disables the account: no login from now on, and its sessions close
    /// at once.
    pub async fn disable(
        &self,
        tenant: &Tenant,
        account_id: i32,
        reason: &str,
        actor: Actor,
        origin: &Origin,
    ) -> Outcome {
        let reason = match checked_reason(reason) {
            Ok(reason) => reason,
            Err(problem) => return Ok(Err(problem)),
        };
        let scope = tenant.scope();
        let txn = crate::db::begin_write(&self.db).await?;
        let changed = scope
            .update::<account::Entity>()
            .col_expr(account::Column::DisabledAt, Expr::value(Some(Utc::now())))
            .col_expr(
                account::Column::DisabledReason,
                Expr::value(Some(reason.clone())),
            )
            .filter(account::Column::Id.eq(account_id))
            .filter(account::Column::DisabledAt.is_null())
            .exec(&txn)
            .await?;
        if changed.rows_affected != 1 {
            let problem = match account_by_id(&txn, scope, account_id).await? {
                Some(_) => AdministrationProblem::AlreadyDisabled,
                None => AdministrationProblem::UnknownAccount,
            };
            return refused(txn, problem).await;
        }
        sessions::close_others(&txn, scope, account_id, None).await?;
        let done = event(
            AuditKind::AccountDisabled,
            actor,
            account_id,
            origin,
            Some(reason),
        );
        audit::record_event(&txn, scope, done).await?;
        txn.commit().await?;
        Ok(Ok(()))
    }

    /// Re-enables a disabled account: it is again what it was (awaiting
    /// activation, or active).
    pub async fn enable(
        &self,
        tenant: &Tenant,
        account_id: i32,
        reason: &str,
        actor: Actor,
        origin: &Origin,
    ) -> Outcome {
        let reason = match checked_reason(reason) {
            Ok(reason) => reason,
            Err(problem) => return Ok(Err(problem)),
        };
        let scope = tenant.scope();
        let txn = crate::db::begin_write(&self.db).await?;
        let changed = scope
            .update::<account::Entity>()
            .col_expr(
                account::Column::DisabledAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                account::Column::DisabledReason,
                Expr::value(Option::<String>::None),
            )
            .filter(account::Column::Id.eq(account_id))
            .filter(account::Column::DisabledAt.is_not_null())
            .exec(&txn)
            .await?;
        if changed.rows_affected != 1 {
            let problem = match account_by_id(&txn, scope, account_id).await? {
                Some(_) => AdministrationProblem::NotDisabled,
                None => AdministrationProblem::UnknownAccount,
            };
            return refused(txn, problem).await;
        }
        let done = event(
            AuditKind::AccountEnabled,
            actor,
            account_id,
            origin,
            Some(reason),
        );
        audit::record_event(&txn, scope, done).await?;
        txn.commit().await?;
        Ok(Ok(()))
    }

    /// The resident must choose a new password at their next page (the
    /// temporary-password gate of the resident's face, without expiry:
    /// their current password still opens the door to that form).
    pub async fn force_password_change(
        &self,
        tenant: &Tenant,
        account_id: i32,
        actor: Actor,
        origin: &Origin,
    ) -> Outcome {
        let scope = tenant.scope();
        let txn = crate::db::begin_write(&self.db).await?;
        let owner = match self.locked(&txn, tenant, account_id).await? {
            Ok(owner) => owner,
            Err(problem) => return refused(txn, problem).await,
        };
        if owner.disabled_at.is_some() {
            return refused(txn, AdministrationProblem::Disabled).await;
        }
        if owner.status != AccountStatus::Active {
            return refused(txn, AdministrationProblem::NotActive).await;
        }
        scope
            .update::<account::Entity>()
            .col_expr(account::Column::PasswordIsTemporary, Expr::value(true))
            .col_expr(
                account::Column::TemporaryPasswordExpiresAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(account::Column::Id.eq(account_id))
            .exec(&txn)
            .await?;
        let done = event(
            AuditKind::PasswordChangeForced,
            actor,
            account_id,
            origin,
            None,
        );
        audit::record_event(&txn, scope, done).await?;
        txn.commit().await?;
        Ok(Ok(()))
    }

    /// Corrects the account's e-mail address (a typing error of the town,
    /// a resident's new address given at the desk). Both addresses are
    /// told; the town's addresses stay unique.
    pub async fn correct_email(
        &self,
        tenant: &Tenant,
        account_id: i32,
        new_email: &str,
        actor: Actor,
        origin: &Origin,
    ) -> Outcome {
        let new_email = new_email.trim().to_owned();
        if !is_plausible_email(&new_email) {
            return Ok(Err(AdministrationProblem::InvalidEmail));
        }
        let email_key = new_email.to_lowercase();
        let scope = tenant.scope();
        let txn = crate::db::begin_write(&self.db).await?;
        let before = match self.locked(&txn, tenant, account_id).await? {
            Ok(owner) => owner,
            Err(problem) => return refused(txn, problem).await,
        };
        if before.email == new_email {
            return refused(txn, AdministrationProblem::SameEmail).await;
        }
        if let Some(other) = scope
            .select::<account::Entity>()
            .filter(account::Column::EmailKey.eq(&email_key))
            .filter(account::Column::Id.ne(account_id))
            .one(&txn)
            .await?
        {
            return refused(txn, AdministrationProblem::EmailTaken(other.identifier)).await;
        }
        scope
            .update::<account::Entity>()
            .col_expr(account::Column::Email, Expr::value(new_email.clone()))
            .col_expr(account::Column::EmailKey, Expr::value(email_key))
            .filter(account::Column::Id.eq(account_id))
            .exec(&txn)
            .await?;
        let after = account_by_id(&txn, scope, account_id)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("the corrected account".to_owned()))?;
        index_account(&txn, scope, &after).await?;
        let corrected_at = long_date_time(Utc::now().with_timezone(&tenant.timezone));
        for (to, to_new_address) in [(&before.email, false), (&new_email, true)] {
            let mail = EmailCorrectedMail {
                to: Addressee::of(&before),
                old_email: &before.email,
                new_email: &new_email,
                to_new_address,
                corrected_at: corrected_at.clone(),
            };
            self.mailer
                .queue(&txn, tenant, MailKind::EmailCorrected, to, mail)
                .await?;
        }
        let detail = format!("{} → {}", before.email, new_email);
        self.commit_with_mail_by(
            txn,
            scope,
            event(
                AuditKind::EmailCorrected,
                actor,
                account_id,
                origin,
                Some(detail),
            ),
        )
        .await?;
        Ok(Ok(()))
    }

    /// The account, read and locked in `txn` (`FOR UPDATE` on PostgreSQL;
    /// SQLite's write transaction holds the whole database): what is
    /// checked on it stays true until the commit.
    async fn locked(
        &self,
        txn: &DatabaseTransaction,
        tenant: &Tenant,
        account_id: i32,
    ) -> Result<Result<account::Model, AdministrationProblem>, DbErr> {
        Ok(tenant
            .scope()
            .select::<account::Entity>()
            .filter(account::Column::Id.eq(account_id))
            .lock_exclusive()
            .one(txn)
            .await?
            .ok_or(AdministrationProblem::UnknownAccount))
    }
}

fn event(
    kind: AuditKind,
    actor: Actor,
    account_id: i32,
    origin: &Origin,
    detail: Option<String>,
) -> Event<'_> {
    Event {
        kind,
        actor,
        subject: Some(account_id),
        origin,
        detail,
    }
}

/// Rolls back and answers why.
async fn refused(txn: DatabaseTransaction, problem: AdministrationProblem) -> Outcome {
    txn.rollback().await?;
    Ok(Err(problem))
}

fn checked_reason(reason: &str) -> Result<String, AdministrationProblem> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AdministrationProblem::ReasonMissing);
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(AdministrationProblem::ReasonTooLong);
    }
    Ok(reason.to_owned())
}
