//! Single-use links sent by mail (activation, password reset, e-mail
//! change): the token is only in the mail, its SHA-256 in `account_token`.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, DatabaseTransaction, DbErr,
    QueryFilter as _,
};

use super::entity::account;
use super::entity::account_token::{self, LinkPurpose};
use super::error::AccountError;
use super::secrets::{new_token, token_hash};
use super::service::{Accounts, account_by_id};
use crate::audit::{self, AuditKind, Origin};
use crate::tenancy::{Tenant, TenantScope};

/// Why a link (activation, reset) cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    Unknown,
    Used,
    Expired,
}

impl Accounts {
    pub(super) async fn insert_token(
        &self,
        txn: &DatabaseTransaction,
        scope: TenantScope,
        account_id: i32,
        purpose: LinkPurpose,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<String, DbErr> {
        // A new link replaces the previous ones of the same purpose.
        scope
            .update::<account_token::Entity>()
            .col_expr(account_token::Column::UsedAt, Expr::value(Some(now)))
            .filter(account_token::Column::AccountId.eq(account_id))
            .filter(account_token::Column::Purpose.eq(purpose))
            .filter(account_token::Column::UsedAt.is_null())
            .exec(txn)
            .await?;
        let token = new_token();
        account_token::ActiveModel {
            tenant_id: Set(scope.tenant_id().get()),
            account_id: Set(account_id),
            purpose: Set(purpose),
            token_hash: Set(token_hash(&token)),
            created_at: Set(now),
            expires_at: Set(expires),
            used_at: Set(None),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        Ok(token)
    }

    /// Whether a link can be used, without using it (to show its page).
    pub async fn check_link(
        &self,
        tenant: &Tenant,
        purpose: LinkPurpose,
        token: &str,
    ) -> Result<Result<account::Model, LinkProblem>, AccountError> {
        let scope = tenant.scope();
        let Some(found) = scope
            .select::<account_token::Entity>()
            .filter(account_token::Column::TokenHash.eq(token_hash(token)))
            .filter(account_token::Column::Purpose.eq(purpose))
            .one(&self.db)
            .await?
        else {
            return Ok(Err(LinkProblem::Unknown));
        };
        if found.used_at.is_some() {
            return Ok(Err(LinkProblem::Used));
        }
        if found.expires_at <= Utc::now() {
            return Ok(Err(LinkProblem::Expired));
        }
        let owner = account_by_id(&self.db, scope, found.account_id).await?;
        Ok(owner.ok_or(LinkProblem::Unknown))
    }

    /// Why a link could not be used: rolls the transaction back, then
    /// tells an unknown link from a used or an expired one.
    async fn refused_link(
        &self,
        txn: DatabaseTransaction,
        tenant: &Tenant,
        purpose: LinkPurpose,
        token: &str,
    ) -> Result<LinkProblem, AccountError> {
        txn.rollback().await?;
        Ok(self
            .check_link(tenant, purpose, token)
            .await?
            .err()
            // Valid now, yet not consumed: another request used it meanwhile.
            .unwrap_or(LinkProblem::Used))
    }

    /// Uses a link: true for exactly one caller, however many race.
    pub(super) async fn consume_link(
        &self,
        txn: &DatabaseTransaction,
        scope: TenantScope,
        purpose: LinkPurpose,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<i32>, DbErr> {
        let hash = token_hash(token);
        let consumed = scope
            .update::<account_token::Entity>()
            .col_expr(account_token::Column::UsedAt, Expr::value(Some(now)))
            .filter(account_token::Column::TokenHash.eq(&hash))
            .filter(account_token::Column::Purpose.eq(purpose))
            .filter(account_token::Column::UsedAt.is_null())
            .filter(account_token::Column::ExpiresAt.gt(now))
            .exec(txn)
            .await?;
        if consumed.rows_affected != 1 {
            return Ok(None);
        }
        Ok(scope
            .select::<account_token::Entity>()
            .filter(account_token::Column::TokenHash.eq(&hash))
            .one(txn)
            .await?
            .map(|row| row.account_id))
    }

    /// Opens a write transaction and uses the link in it: the transaction
    /// and the link's account, or why the link cannot be used (then nothing
    /// was written).
    pub(super) async fn begin_with_link(
        &self,
        tenant: &Tenant,
        purpose: LinkPurpose,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<(DatabaseTransaction, i32), LinkProblem>, AccountError> {
        let txn = crate::db::begin_write(&self.db).await?;
        match self
            .consume_link(&txn, tenant.scope(), purpose, token, now)
            .await?
        {
            Some(account_id) => Ok(Ok((txn, account_id))),
            None => Ok(Err(self.refused_link(txn, tenant, purpose, token).await?)),
        }
    }
}

/// Ends what a link did: audits it, reads the account as it now is, and
/// commits.
pub(super) async fn commit_link_use(
    txn: DatabaseTransaction,
    scope: TenantScope,
    account_id: i32,
    kind: AuditKind,
    origin: &Origin,
) -> Result<Option<account::Model>, AccountError> {
    audit::record(&txn, scope, Some(account_id), kind, origin, None).await?;
    let changed = account_by_id(&txn, scope, account_id).await?;
    txn.commit().await?;
    Ok(changed)
}
