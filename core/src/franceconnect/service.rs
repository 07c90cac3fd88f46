//! The FranceConnect service: a town's settings and secret, the URLs of
//! the provider, and the links between identities and accounts.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DatabaseConnection,
    DbErr, QueryFilter as _, QueryOrder as _,
};

use super::client::{FranceConnectError, Identity, OidcClient};
use super::entity::franceconnect_link;
use super::seal::FlowCookie;
use super::settings::FranceConnectSettings;
use crate::accounts::entity::account::{self, AccountStatus};
use crate::audit::{self, AuditKind, Origin};
use crate::mail::PublicLinks;
use crate::tenancy::{Tenant, TenantDefinition, TenantScope};

/// Where the provider sends the browser back after login, and after logout.
pub const CALLBACK_PATH: &str = "/franceconnect/callback";
pub const LOGOUT_RETURN_PATH: &str = "/franceconnect/deconnexion";

/// An identity FranceConnect vouched for, with the id_token that says so.
#[derive(Debug, Clone)]
pub struct VerifiedIdentity {
    pub issuer: String,
    pub identity: Identity,
    pub id_token: String,
}

/// What linking an identity to an account did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOutcome {
    Linked,
    /// It was already linked to this very account.
    AlreadyLinked,
    /// The identity is linked to another account of the town.
    IdentityTaken,
    /// The account is linked to another identity of this provider.
    AccountTaken,
}

/// The FranceConnect service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct FranceConnect {
    db: DatabaseConnection,
    client: OidcClient,
    links: PublicLinks,
    /// Secrets given by the process itself (the demo's local provider),
    /// by variable name; they come before the environment.
    given_secrets: Arc<RwLock<HashMap<String, String>>>,
}

impl FranceConnect {
    pub fn new(db: DatabaseConnection, links: PublicLinks) -> Result<Self, FranceConnectError> {
        Ok(Self {
            db,
            client: OidcClient::new()?,
            links,
            given_secrets: Arc::default(),
        })
    }

    /// The town's settings, if it has FranceConnect enabled.
    pub fn settings(tenant: &Tenant) -> Option<&FranceConnectSettings> {
        Self::declared(&tenant.definition).filter(|settings| settings.enabled)
    }

    /// The `[franceconnect]` section of a definition, enabled or not.
    pub fn declared(definition: &TenantDefinition) -> Option<&FranceConnectSettings> {
        definition
            .section::<Option<FranceConnectSettings>>()
            .as_ref()
    }

    /// Gives the secret of `variable` without the environment (the demo
    /// starts its own provider and makes up its secret).
    pub fn give_secret(&self, variable: &str, secret: &str) {
        if let Ok(mut secrets) = self.given_secrets.write() {
            secrets.insert(variable.to_owned(), secret.to_owned());
        }
    }

    fn client_secret(
        &self,
        settings: &FranceConnectSettings,
    ) -> Result<String, FranceConnectError> {
        let variable = &settings.client_secret_env;
        if let Some(secret) = self
            .given_secrets
            .read()
            .ok()
            .and_then(|secrets| secrets.get(variable).cloned())
        {
            return Ok(secret);
        }
        std::env::var(variable)
            .ok()
            .filter(|secret| !secret.is_empty())
            .ok_or_else(|| FranceConnectError::MissingSecret(variable.clone()))
    }

    /// Whether the secret of the town's client can be found (checked at
    /// startup and when towns are applied, to warn early).
    pub fn has_secret(&self, settings: &FranceConnectSettings) -> bool {
        self.client_secret(settings).is_ok()
    }

    /// Where the provider sends the browser back after login (the
    /// client's registered `redirect_uri`).
    pub fn callback_url(&self, slug: &str) -> String {
        self.links.slug_url(slug, CALLBACK_PATH)
    }

    /// The client's registered `post_logout_redirect_uri`.
    pub fn logout_return_url(&self, slug: &str) -> String {
        self.links.slug_url(slug, LOGOUT_RETURN_PATH)
    }

    fn enabled(tenant: &Tenant) -> Result<&FranceConnectSettings, FranceConnectError> {
        Self::settings(tenant).ok_or(FranceConnectError::Disabled)
    }

    /// The provider's `/authorize` URL for this flow.
    pub async fn authorization_url(
        &self,
        tenant: &Tenant,
        flow: &FlowCookie,
    ) -> Result<String, FranceConnectError> {
        let settings = Self::enabled(tenant)?;
        let metadata = self.client.discover(settings.issuer()).await?;
        let mut url = url::Url::parse(&metadata.authorization_endpoint).map_err(|error| {
            FranceConnectError::Protocol(format!("authorization_endpoint: {error}"))
        })?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &settings.client_id)
            .append_pair("redirect_uri", &self.callback_url(&tenant.slug))
            .append_pair("scope", &settings.scopes.join(" "))
            .append_pair("acr_values", super::ACR)
            .append_pair("state", &flow.state)
            .append_pair("nonce", &flow.nonce);
        Ok(url.into())
    }

    /// Exchanges the code of the callback and verifies what the provider
    /// says (see [`OidcClient::finish`]).
    pub async fn finish(
        &self,
        tenant: &Tenant,
        code: &str,
        flow: &FlowCookie,
    ) -> Result<VerifiedIdentity, FranceConnectError> {
        let settings = Self::enabled(tenant)?;
        let secret = self.client_secret(settings)?;
        let metadata = self.client.discover(settings.issuer()).await?;
        let (identity, id_token) = self
            .client
            .finish(
                &metadata,
                &settings.client_id,
                &secret,
                &self.callback_url(&tenant.slug),
                code,
                &flow.nonce,
            )
            .await?;
        Ok(VerifiedIdentity {
            issuer: settings.issuer().to_owned(),
            identity,
            id_token,
        })
    }

    /// The provider's `/session/end` URL that ends the resident's
    /// FranceConnect session and comes back to the town.
    pub async fn logout_url(
        &self,
        tenant: &Tenant,
        id_token: &str,
        state: &str,
    ) -> Result<String, FranceConnectError> {
        let settings = Self::enabled(tenant)?;
        let metadata = self.client.discover(settings.issuer()).await?;
        let endpoint = metadata.end_session_endpoint.as_deref().ok_or_else(|| {
            FranceConnectError::Protocol("the provider has no end_session_endpoint".to_owned())
        })?;
        let mut url = url::Url::parse(endpoint).map_err(|error| {
            FranceConnectError::Protocol(format!("end_session_endpoint: {error}"))
        })?;
        url.query_pairs_mut()
            .append_pair("id_token_hint", id_token)
            .append_pair("state", state)
            .append_pair(
                "post_logout_redirect_uri",
                &self.logout_return_url(&tenant.slug),
            );
        Ok(url.into())
    }

    /// The active account this identity is linked to, in this town.
    pub async fn linked_account(
        &self,
        tenant: &Tenant,
        issuer: &str,
        sub: &str,
    ) -> Result<Option<account::Model>, DbErr> {
        let scope = tenant.scope();
        let Some(link) = scope
            .select::<franceconnect_link::Entity>()
            .filter(franceconnect_link::Column::Issuer.eq(issuer))
            .filter(franceconnect_link::Column::Subject.eq(sub))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        scope
            .select::<account::Entity>()
            .filter(account::Column::Id.eq(link.account_id))
            .filter(account::Column::Status.eq(AccountStatus::Active))
            .filter(account::Column::DisabledAt.is_null())
            .one(&self.db)
            .await
    }

    /// Links an identity to an account of the town.
    pub async fn link(
        &self,
        tenant: &Tenant,
        account_id: i32,
        issuer: &str,
        sub: &str,
        origin: &Origin,
    ) -> Result<LinkOutcome, DbErr> {
        let scope = tenant.scope();
        let txn = crate::db::begin_write(&self.db).await?;
        let outcome = insert_link(&txn, scope, account_id, issuer, sub, Utc::now()).await?;
        if outcome == LinkOutcome::Linked {
            audit::record(
                &txn,
                scope,
                Some(account_id),
                AuditKind::FranceConnectLinked,
                origin,
                None,
            )
            .await?;
        }
        txn.commit().await?;
        Ok(outcome)
    }

    /// The identities linked to an account, oldest first.
    pub async fn links_of(
        &self,
        tenant: &Tenant,
        account_id: i32,
    ) -> Result<Vec<franceconnect_link::Model>, DbErr> {
        tenant
            .scope()
            .select::<franceconnect_link::Entity>()
            .filter(franceconnect_link::Column::AccountId.eq(account_id))
            .order_by_asc(franceconnect_link::Column::LinkedAt)
            .all(&self.db)
            .await
    }

    /// Removes one of the account's links; false if it has no such link.
    pub async fn unlink(
        &self,
        tenant: &Tenant,
        account_id: i32,
        link_id: i32,
        origin: &Origin,
    ) -> Result<bool, DbErr> {
        let scope = tenant.scope();
        let txn = crate::db::begin_write(&self.db).await?;
        let removed = scope
            .delete::<franceconnect_link::Entity>()
            .filter(franceconnect_link::Column::Id.eq(link_id))
            .filter(franceconnect_link::Column::AccountId.eq(account_id))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if removed {
            audit::record(
                &txn,
                scope,
                Some(account_id),
                AuditKind::FranceConnectUnlinked,
                origin,
                None,
            )
            .await?;
        }
        txn.commit().await?;
        Ok(removed)
    }
}

/// Inserts a link in the caller's transaction, after checking that
/// neither the identity nor the account is linked elsewhere (the unique
/// indexes stand behind this check).
pub async fn insert_link(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    account_id: i32,
    issuer: &str,
    sub: &str,
    now: DateTime<Utc>,
) -> Result<LinkOutcome, DbErr> {
    if let Some(existing) = scope
        .select::<franceconnect_link::Entity>()
        .filter(franceconnect_link::Column::Issuer.eq(issuer))
        .filter(franceconnect_link::Column::Subject.eq(sub))
        .one(db)
        .await?
    {
        return Ok(if existing.account_id == account_id {
            LinkOutcome::AlreadyLinked
        } else {
            LinkOutcome::IdentityTaken
        });
    }
    let account_has_one = scope
        .select::<franceconnect_link::Entity>()
        .filter(franceconnect_link::Column::AccountId.eq(account_id))
        .filter(franceconnect_link::Column::Issuer.eq(issuer))
        .one(db)
        .await?
        .is_some();
    if account_has_one {
        return Ok(LinkOutcome::AccountTaken);
    }
    franceconnect_link::ActiveModel {
        tenant_id: Set(scope.tenant_id().get()),
        account_id: Set(account_id),
        issuer: Set(issuer.to_owned()),
        subject: Set(sub.to_owned()),
        linked_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(LinkOutcome::Linked)
}
