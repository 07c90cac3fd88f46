//! Passwords: a logged-in resident changes theirs; a forgotten one is reset
//! through a mailed link. Either way the other sessions close and the
//! resident is told by mail.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait as _, QueryFilter as _};
use serde::Serialize;

use super::entity::account::{self, AccountStatus};
use super::entity::account_token::LinkPurpose;
use super::error::{AccountError, FieldError};
use super::identifier;
use super::links::LinkProblem;
use super::mail_bound::{self, MailAllowance, MailBound};
use super::service::{Accounts, Addressee};
use super::sessions;
use super::throttle;
use crate::audit::{AuditKind, Origin};
use crate::format::long_date_time;
use crate::mail::MailKind;
use crate::tenancy::Tenant;

/// What a resident typed to change their password.
#[derive(Debug, Clone, Copy)]
pub struct PasswordChange<'a> {
    /// Not asked while the password is the temporary one.
    pub current: Option<&'a str>,
    pub new: &'a str,
    pub confirmation: &'a str,
}

#[derive(Serialize)]
struct ResetMail<'a> {
    #[serde(flatten)]
    to: Addressee<'a>,
    link: String,
    identifier: &'a str,
    valid_minutes: u32,
}

#[derive(Serialize)]
struct ChangedMail<'a> {
    #[serde(flatten)]
    to: Addressee<'a>,
    identifier: &'a str,
    changed_at: String,
    forgot_link: String,
}

impl Accounts {
    /// Checks a new password and its confirmation against the town's policy.
    fn check_new_password(
        tenant: &Tenant,
        identifier: &str,
        new: &str,
        confirmation: &str,
    ) -> Vec<FieldError> {
        let mut errors: Vec<FieldError> = super::PasswordPolicy::of(tenant)
            .check(new, identifier)
            .into_iter()
            .map(|message| FieldError {
                field: "password",
                message,
            })
            .collect();
        if new != confirmation {
            errors.push(FieldError {
                field: "confirmation",
                message: "La confirmation ne correspond pas au mot de passe saisi.".to_owned(),
            });
        }
        errors
    }

    /// Whether `password` is the account's: a confirmation before an act
    /// that cannot be undone (the closure of the account), throttled on
    /// the account like a login so that a session left open does not let
    /// anyone guess it.
    pub async fn confirm_password(
        &self,
        tenant: &Tenant,
        owner: &account::Model,
        password: &str,
    ) -> Result<PasswordConfirmation, AccountError> {
        let scope = tenant.scope();
        let key = throttle::ThrottleKey::Account(owner.id);
        if let Some(wait) = self.admit(scope, std::slice::from_ref(&key)).await? {
            return Ok(PasswordConfirmation::Wait(wait.num_seconds().max(1)));
        }
        if self
            .hasher
            .verify(password, Some(&owner.password_hash))
            .await?
        {
            throttle::clear(&self.db, scope, &key).await?;
            Ok(PasswordConfirmation::Confirmed)
        } else {
            Ok(PasswordConfirmation::Wrong)
        }
    }

    /// Changes the password of a logged-in resident. `current` is required
    /// unless the account still has its temporary password (the resident
    /// has just typed it to log in). Other sessions are closed.
    pub async fn change_password(
        &self,
        tenant: &Tenant,
        owner: &account::Model,
        session_id: i32,
        change: PasswordChange<'_>,
        origin: &Origin,
    ) -> Result<Vec<FieldError>, AccountError> {
        let PasswordChange {
            current,
            new,
            confirmation,
        } = change;
        let mut errors = Vec::new();
        if !owner.password_is_temporary {
            let current_ok = match current {
                Some(current) => {
                    self.hasher
                        .verify(current, Some(&owner.password_hash))
                        .await?
                }
                None => false,
            };
            if !current_ok {
                errors.push(FieldError {
                    field: "current",
                    message: "Le mot de passe actuel est incorrect.".to_owned(),
                });
            }
        }
        errors.extend(Self::check_new_password(
            tenant,
            &owner.identifier,
            new,
            confirmation,
        ));
        if self.hasher.verify(new, Some(&owner.password_hash)).await? {
            errors.push(FieldError {
                field: "password",
                message: "Le nouveau mot de passe doit être différent de l'actuel.".to_owned(),
            });
        }
        if !errors.is_empty() {
            return Ok(errors);
        }
        self.set_password(tenant, owner, Some(session_id), new, None, origin)
            .await?;
        Ok(Vec::new())
    }

    /// Sets the password, closes the other sessions and queues the notice,
    /// in one transaction. With `reset_token`, the reset link is used in
    /// the same transaction (false if it no longer can be), and a pending
    /// account becomes active: the link proved the mail address.
    async fn set_password(
        &self,
        tenant: &Tenant,
        owner: &account::Model,
        keep_session: Option<i32>,
        new: &str,
        reset_token: Option<&str>,
        origin: &Origin,
    ) -> Result<bool, AccountError> {
        let scope = tenant.scope();
        let hash = self.hasher.hash(new).await?;
        let now = Utc::now();
        let txn = crate::db::begin_write(&self.db).await?;
        if let Some(token) = reset_token {
            if self
                .consume_link(&txn, scope, LinkPurpose::PasswordReset, token, now)
                .await?
                .is_none()
            {
                txn.rollback().await?;
                return Ok(false);
            }
            scope
                .update::<account::Entity>()
                .col_expr(account::Column::Status, Expr::value(AccountStatus::Active))
                .col_expr(
                    account::Column::ActivatedAt,
                    Expr::value(owner.activated_at.or(Some(now))),
                )
                .filter(account::Column::Id.eq(owner.id))
                .exec(&txn)
                .await?;
        }
        scope
            .update::<account::Entity>()
            .col_expr(account::Column::PasswordHash, Expr::value(hash))
            .col_expr(account::Column::PasswordIsTemporary, Expr::value(false))
            .col_expr(
                account::Column::TemporaryPasswordExpiresAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(account::Column::PasswordChangedAt, Expr::value(Some(now)))
            .filter(account::Column::Id.eq(owner.id))
            .exec(&txn)
            .await?;
        sessions::close_others(&txn, scope, owner.id, keep_session).await?;
        let data = ChangedMail {
            to: Addressee::of(owner),
            identifier: &owner.identifier,
            changed_at: long_date_time(now.with_timezone(&tenant.timezone)),
            forgot_link: self.mailer.links().town_url(tenant, "/mot-de-passe/oublie"),
        };
        self.mailer
            .queue(&txn, tenant, MailKind::PasswordChanged, &owner.email, data)
            .await?;
        let kind = if reset_token.is_some() {
            AuditKind::PasswordReset
        } else {
            AuditKind::PasswordChanged
        };
        self.commit_with_mail(txn, scope, owner.id, kind, origin)
            .await?;
        Ok(true)
    }

    /// Sends a reset link if `login` (identifier or e-mail) is an account of
    /// the town, within the mail bound ([`MailBound::PUBLIC_FORMS`]). Says
    /// nothing of whether it is, not even by the time it takes: it returns
    /// once the work is handed to a background task (the lookup, the link,
    /// the mail), the same for every `login`.
    pub async fn request_reset(&self, tenant: &Arc<Tenant>, login: &str, origin: &Origin) {
        let (accounts, tenant, origin) = (self.clone(), tenant.clone(), origin.clone());
        let town = tenant.slug.clone();
        let typed = identifier::normalize_login(login);
        self.in_background(&town, "password reset", async move {
            accounts.send_reset(&tenant, &typed, &origin).await
        })
        .await;
    }

    async fn send_reset(
        &self,
        tenant: &Tenant,
        typed: &str,
        origin: &Origin,
    ) -> Result<(), AccountError> {
        let scope = tenant.scope();
        let Some(owner) = self.find_by_login(scope, typed).await? else {
            return Ok(());
        };
        let now = Utc::now();
        let allowance = mail_bound::take(
            &self.db,
            scope,
            MailBound::PUBLIC_FORMS,
            owner.id,
            origin,
            now,
        )
        .await?;
        if allowance != MailAllowance::Send {
            tracing::info!(town = %tenant.slug, account = owner.id, ?allowance, "reset link not sent: mail bound");
            return Ok(());
        }
        let minutes = super::AccountSettings::of(tenant).password_reset_validity_minutes;
        let txn = crate::db::begin_write(&self.db).await?;
        let token = self
            .insert_token(
                &txn,
                scope,
                owner.id,
                LinkPurpose::PasswordReset,
                now,
                now + Duration::minutes(i64::from(minutes)),
            )
            .await?;
        let data = ResetMail {
            to: Addressee::of(&owner),
            link: self
                .mailer
                .links()
                .town_url(tenant, &format!("/mot-de-passe/reinitialiser/{token}")),
            identifier: &owner.identifier,
            valid_minutes: minutes,
        };
        self.mailer
            .queue(&txn, tenant, MailKind::PasswordReset, &owner.email, data)
            .await?;
        self.commit_with_mail(
            txn,
            scope,
            owner.id,
            AuditKind::PasswordResetRequested,
            origin,
        )
        .await?;
        Ok(())
    }

    /// Sets a new password through a reset link. The link proves the mail
    /// address, so a pending account becomes active. Every session closes.
    pub async fn reset_password(
        &self,
        tenant: &Tenant,
        token: &str,
        new: &str,
        confirmation: &str,
        origin: &Origin,
    ) -> Result<Result<Vec<FieldError>, LinkProblem>, AccountError> {
        let owner = match self
            .check_link(tenant, LinkPurpose::PasswordReset, token)
            .await?
        {
            Ok(owner) => owner,
            Err(problem) => return Ok(Err(problem)),
        };
        let errors = Self::check_new_password(tenant, &owner.identifier, new, confirmation);
        if !errors.is_empty() {
            return Ok(Ok(errors));
        }
        if !self
            .set_password(tenant, &owner, None, new, Some(token), origin)
            .await?
        {
            return Ok(Err(LinkProblem::Used));
        }
        Ok(Ok(Vec::new()))
    }
}

/// The answer to [`Accounts::confirm_password`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordConfirmation {
    Confirmed,
    Wrong,
    /// Too many wrong attempts: seconds to wait.
    Wait(i64),
}
