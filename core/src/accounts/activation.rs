//! Activation: the link of the creation mail makes a pending account
//! active; a resident who lost it asks for a new one.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait as _, DatabaseTransaction, QueryFilter as _};
use serde::Serialize;

use super::entity::account::{self, AccountStatus};
use super::entity::account_token::LinkPurpose;
use super::error::AccountError;
use super::links::{LinkProblem, commit_link_use};
use super::mail_bound::{self, MailAllowance, MailBound};
use super::secrets::new_temporary_password;
use super::service::{Accounts, Addressee};
use crate::audit::{AuditKind, Origin};
use crate::format::long_date;
use crate::mail::{ComposedMail, MailError, MailKind};
use crate::tenancy::Tenant;

#[derive(Serialize)]
struct ActivationMail<'a> {
    #[serde(flatten)]
    to: Addressee<'a>,
    link: String,
    identifier: &'a str,
    temporary_password: &'a str,
    valid_until: String,
}

impl Accounts {
    /// Queues the activation mail, with a new link, in `txn`.
    pub(super) async fn queue_activation(
        &self,
        txn: &DatabaseTransaction,
        tenant: &Tenant,
        owner: &account::Model,
        temporary_password: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AccountError> {
        let expires = now
            + Duration::days(i64::from(
                super::AccountSettings::of(tenant).activation_validity_days,
            ));
        let token = self
            .insert_token(
                txn,
                tenant.scope(),
                owner.id,
                LinkPurpose::Activation,
                now,
                expires,
            )
            .await?;
        let mail = self.compose_activation(tenant, owner, &token, temporary_password, expires)?;
        self.mailer.queue_many(txn, vec![mail]).await?;
        Ok(())
    }

    /// The activation mail of `owner`, with its link's `token`.
    pub(super) fn compose_activation(
        &self,
        tenant: &Tenant,
        owner: &account::Model,
        token: &str,
        temporary_password: &str,
        expires: DateTime<Utc>,
    ) -> Result<ComposedMail, MailError> {
        let data = ActivationMail {
            to: Addressee::of(owner),
            link: self
                .mailer
                .links()
                .town_url(tenant, &format!("/activation/{token}")),
            identifier: &owner.identifier,
            temporary_password,
            valid_until: long_date(expires.with_timezone(&tenant.timezone)),
        };
        self.mailer
            .compose(tenant, MailKind::Activation, &owner.email, data)
    }

    /// Activates the account of an activation link.
    pub async fn activate(
        &self,
        tenant: &Tenant,
        token: &str,
        origin: &Origin,
    ) -> Result<Result<account::Model, LinkProblem>, AccountError> {
        let scope = tenant.scope();
        let now = Utc::now();
        let (txn, account_id) = match self
            .begin_with_link(tenant, LinkPurpose::Activation, token, now)
            .await?
        {
            Ok(used) => used,
            Err(problem) => return Ok(Err(problem)),
        };
        scope
            .update::<account::Entity>()
            .col_expr(account::Column::Status, Expr::value(AccountStatus::Active))
            .col_expr(account::Column::ActivatedAt, Expr::value(Some(now)))
            .filter(account::Column::Id.eq(account_id))
            .filter(account::Column::Status.eq(AccountStatus::Pending))
            .exec(&txn)
            .await?;
        let activated =
            commit_link_use(txn, scope, account_id, AuditKind::AccountActivated, origin).await?;
        Ok(activated.ok_or(LinkProblem::Unknown))
    }

    /// Sends a new activation mail (with a new temporary password) if
    /// `email` belongs to a pending account of the town, within the mail
    /// bound ([`MailBound::PUBLIC_FORMS`]). Says nothing of whether it does,
    /// not even by the time it takes: it returns once the work is handed to
    /// a background task, the same for every `email`.
    pub async fn resend_activation(&self, tenant: &Arc<Tenant>, email: &str, origin: &Origin) {
        let (accounts, tenant, origin) = (self.clone(), tenant.clone(), origin.clone());
        let town = tenant.slug.clone();
        let email_key = email.trim().to_lowercase();
        self.in_background(&town, "activation mail", async move {
            accounts
                .send_activation_again(&tenant, &email_key, &origin)
                .await
        })
        .await;
    }

    async fn send_activation_again(
        &self,
        tenant: &Tenant,
        email_key: &str,
        origin: &Origin,
    ) -> Result<(), AccountError> {
        let scope = tenant.scope();
        let Some(owner) = scope
            .select::<account::Entity>()
            .filter(account::Column::EmailKey.eq(email_key))
            .filter(account::Column::Status.eq(AccountStatus::Pending))
            .filter(account::Column::DisabledAt.is_null())
            .one(&self.db)
            .await?
        else {
            return Ok(());
        };
        let allowance = mail_bound::take(
            &self.db,
            scope,
            MailBound::PUBLIC_FORMS,
            owner.id,
            origin,
            Utc::now(),
        )
        .await?;
        if allowance != MailAllowance::Send {
            tracing::info!(town = %tenant.slug, account = owner.id, ?allowance, "activation mail not sent: mail bound");
            return Ok(());
        }
        let temporary_password = new_temporary_password();
        let password_hash = self.hasher.hash_temporary(&temporary_password);
        let now = Utc::now();
        let txn = crate::db::begin_write(&self.db).await?;
        self.renew_activation(
            &txn,
            tenant,
            &owner,
            &temporary_password,
            password_hash,
            now,
        )
        .await?;
        self.commit_with_mail(txn, scope, owner.id, AuditKind::ActivationMailSent, origin)
            .await?;
        Ok(())
    }

    /// Gives a pending account a new temporary password (the old one stops
    /// working) and queues a new activation mail (whose link replaces the
    /// old ones), in `txn`.
    pub(super) async fn renew_activation(
        &self,
        txn: &DatabaseTransaction,
        tenant: &Tenant,
        owner: &account::Model,
        temporary_password: &str,
        password_hash: String,
        now: DateTime<Utc>,
    ) -> Result<(), AccountError> {
        tenant
            .scope()
            .update::<account::Entity>()
            .col_expr(account::Column::PasswordHash, Expr::value(password_hash))
            .col_expr(account::Column::PasswordIsTemporary, Expr::value(true))
            .col_expr(
                account::Column::TemporaryPasswordExpiresAt,
                Expr::value(Some(
                    now + Duration::days(i64::from(
                        super::AccountSettings::of(tenant).temporary_password_validity_days,
                    )),
                )),
            )
            .filter(account::Column::Id.eq(owner.id))
            .exec(txn)
            .await?;
        self.queue_activation(txn, tenant, owner, temporary_password, now)
            .await
    }
}
