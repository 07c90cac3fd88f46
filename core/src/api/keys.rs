//! API keys: one per back-office system of a town, created by the CLI,
//! shown once, stored as a SHA-256 (they carry 256 random bits, so a slow
//! hash adds nothing), revocable.

use base64::Engine as _;
use chrono::Utc;
use rand::RngExt as _;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, DatabaseConnection, DbErr,
    QueryFilter as _, QueryOrder as _,
};
use sha2::Digest as _;

use super::entity::api_key;
use crate::tenancy::Tenant;

/// Every key starts with this, so a leaked one is recognisable (secret
/// scanners) and a pasted password is not mistaken for a key.
pub const KEY_PREFIX: &str = "gk_";
/// Characters of a key kept in clear, to tell keys apart in lists.
const SHOWN_CHARS: usize = 10;

#[derive(Debug, Clone)]
pub struct ApiKeys {
    db: DatabaseConnection,
}

/// A key just created: the only time its secret is known.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    pub secret: String,
    pub key: api_key::Model,
}

fn hash(secret: &str) -> String {
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

impl ApiKeys {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    pub async fn create(&self, tenant: &Tenant, name: &str) -> Result<CreatedKey, DbErr> {
        let random: [u8; 32] = rand::rng().random();
        let secret = format!(
            "{KEY_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
        );
        let key = api_key::ActiveModel {
            tenant_id: Set(tenant.id().get()),
            name: Set(name.to_owned()),
            prefix: Set(secret.chars().take(SHOWN_CHARS).collect()),
            token_hash: Set(hash(&secret)),
            created_at: Set(Utc::now()),
            last_used_at: Set(None),
            revoked_at: Set(None),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        Ok(CreatedKey { secret, key })
    }

    pub async fn list(&self, tenant: &Tenant) -> Result<Vec<api_key::Model>, DbErr> {
        tenant
            .scope()
            .select::<api_key::Entity>()
            .order_by_asc(api_key::Column::Id)
            .all(&self.db)
            .await
    }

    /// Revokes the town's live keys starting with `prefix`; answers how many.
    pub async fn revoke(&self, tenant: &Tenant, prefix: &str) -> Result<u64, DbErr> {
        let result = tenant
            .scope()
            .update::<api_key::Entity>()
            .col_expr(
                api_key::Column::RevokedAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(api_key::Column::Prefix.eq(prefix))
            .filter(api_key::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected)
    }

    /// The live key of this town with this secret, if any.
    pub async fn authenticate(
        &self,
        tenant: &Tenant,
        secret: &str,
    ) -> Result<Option<api_key::Model>, DbErr> {
        if !secret.starts_with(KEY_PREFIX) {
            return Ok(None);
        }
        let Some(key) = tenant
            .scope()
            .select::<api_key::Entity>()
            .filter(api_key::Column::TokenHash.eq(hash(secret)))
            .filter(api_key::Column::RevokedAt.is_null())
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        // Recorded at most once a minute: a busy importer does not turn
        // every read into a write.
        let now = Utc::now();
        if key
            .last_used_at
            .is_none_or(|at| now - at > chrono::Duration::minutes(1))
        {
            tenant
                .scope()
                .update::<api_key::Entity>()
                .col_expr(
                    api_key::Column::LastUsedAt,
                    sea_orm::sea_query::Expr::value(now),
                )
                .filter(api_key::Column::Id.eq(key.id))
                .exec(&self.db)
                .await?;
        }
        Ok(Some(key))
    }
}
