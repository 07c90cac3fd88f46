//! The resident's contact details: postal address and phone at once; a new
//! e-mail address only once a link sent there is followed (the old address
//! is told).

use chrono::{Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait as _, DbErr, QueryFilter as _};
use serde::Serialize;

use super::entity::account;
use super::entity::account_token::{self, LinkPurpose};
use super::error::AccountError;
use super::links::{LinkProblem, commit_link_use};
use super::secrets::token_hash;
use super::service::{Accounts, Addressee, account_by_id};
use crate::audit::{AuditKind, Origin};
use crate::format::{long_date, long_date_time};
use crate::mail::MailKind;
use crate::tenancy::{Tenant, is_plausible_email};

/// Why an e-mail change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailChangeProblem {
    WrongPassword,
    InvalidEmail,
    SameEmail,
}

/// Why a confirmation link of an e-mail change gave nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailConfirmProblem {
    Link(LinkProblem),
    /// Another account of the town took this address meanwhile.
    Taken,
}

/// How long the confirmation link of an e-mail change stays valid.
const EMAIL_CHANGE_VALIDITY: Duration = Duration::hours(24);

#[derive(Serialize)]
struct EmailChangeMail<'a> {
    #[serde(flatten)]
    to: Addressee<'a>,
    new_email: &'a str,
    link: String,
    valid_until: String,
}

#[derive(Serialize)]
struct EmailChangedMail<'a> {
    #[serde(flatten)]
    to: Addressee<'a>,
    new_email: &'a str,
    changed_at: String,
}

impl Accounts {
    /// Sets the postal address and phone number ("Coordonnées").
    pub async fn update_contact(
        &self,
        tenant: &Tenant,
        account_id: i32,
        address: Option<String>,
        phone: Option<String>,
    ) -> Result<(), AccountError> {
        tenant
            .scope()
            .update::<account::Entity>()
            .col_expr(account::Column::Address, Expr::value(address))
            .col_expr(account::Column::Phone, Expr::value(phone))
            .filter(account::Column::Id.eq(account_id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Starts an e-mail change: checks the current password, then sends a
    /// confirmation link to the new address. The address changes only when
    /// the link is followed, proving the resident receives mail there.
    pub async fn request_email_change(
        &self,
        tenant: &Tenant,
        owner: &account::Model,
        password: &str,
        new_email: &str,
    ) -> Result<Result<(), EmailChangeProblem>, AccountError> {
        let new_email = new_email.trim();
        if !is_plausible_email(new_email) {
            return Ok(Err(EmailChangeProblem::InvalidEmail));
        }
        if new_email.to_lowercase() == owner.email_key {
            return Ok(Err(EmailChangeProblem::SameEmail));
        }
        if !self
            .hasher
            .verify(password, Some(&owner.password_hash))
            .await?
        {
            return Ok(Err(EmailChangeProblem::WrongPassword));
        }
        let now = Utc::now();
        let expires = now + EMAIL_CHANGE_VALIDITY;
        let txn = crate::db::begin_write(&self.db).await?;
        let token = self
            .insert_token(
                &txn,
                tenant.scope(),
                owner.id,
                LinkPurpose::EmailChange,
                now,
                expires,
            )
            .await?;
        tenant
            .scope()
            .update::<account_token::Entity>()
            .col_expr(
                account_token::Column::Payload,
                Expr::value(Some(new_email.to_owned())),
            )
            .filter(account_token::Column::TokenHash.eq(token_hash(&token)))
            .exec(&txn)
            .await?;
        let data = EmailChangeMail {
            to: Addressee::of(owner),
            new_email,
            link: self
                .mailer
                .links()
                .town_url(tenant, &format!("/coordonnees/courriel/{token}")),
            valid_until: long_date(expires.with_timezone(&tenant.timezone)),
        };
        self.mailer
            .queue(&txn, tenant, MailKind::EmailChange, new_email, data)
            .await?;
        txn.commit().await?;
        self.mailer.wake();
        Ok(Ok(()))
    }

    /// Follows the confirmation link of an e-mail change.
    pub async fn confirm_email_change(
        &self,
        tenant: &Tenant,
        token: &str,
        origin: &Origin,
    ) -> Result<Result<account::Model, EmailConfirmProblem>, AccountError> {
        let scope = tenant.scope();
        let now = Utc::now();
        let (txn, account_id) = match self
            .begin_with_link(tenant, LinkPurpose::EmailChange, token, now)
            .await?
        {
            Ok(used) => used,
            Err(problem) => return Ok(Err(EmailConfirmProblem::Link(problem))),
        };
        let new_email = scope
            .select::<account_token::Entity>()
            .filter(account_token::Column::TokenHash.eq(token_hash(token)))
            .one(&txn)
            .await?
            .and_then(|row| row.payload)
            .unwrap_or_default();
        let email_key = new_email.to_lowercase();
        let taken = scope
            .select::<account::Entity>()
            .filter(account::Column::EmailKey.eq(&email_key))
            .filter(account::Column::Id.ne(account_id))
            .one(&txn)
            .await?
            .is_some();
        if taken || new_email.is_empty() {
            txn.rollback().await?;
            return Ok(Err(EmailConfirmProblem::Taken));
        }
        let before =
            account_by_id(&txn, scope, account_id)
                .await?
                .ok_or(AccountError::Database(DbErr::RecordNotFound(
                    "the account of an e-mail change".to_owned(),
                )))?;
        // The old address is told, in case the change was not the
        // resident's doing.
        let notice = EmailChangedMail {
            to: Addressee::of(&before),
            new_email: &new_email,
            changed_at: long_date_time(now.with_timezone(&tenant.timezone)),
        };
        self.mailer
            .queue(&txn, tenant, MailKind::EmailChanged, &before.email, notice)
            .await?;
        scope
            .update::<account::Entity>()
            .col_expr(account::Column::Email, Expr::value(new_email.clone()))
            .col_expr(account::Column::EmailKey, Expr::value(email_key))
            .filter(account::Column::Id.eq(account_id))
            .exec(&txn)
            .await?;
        if let Some(after) = account_by_id(&txn, scope, account_id).await? {
            super::search::index_account(&txn, scope, &after).await?;
        }
        let changed =
            commit_link_use(txn, scope, account_id, AuditKind::EmailChanged, origin).await?;
        self.mailer.wake();
        Ok(changed.ok_or(EmailConfirmProblem::Link(LinkProblem::Unknown)))
    }
}
