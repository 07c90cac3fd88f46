//! Module storage: string values under string keys, for one (town, module)
//! or one (town, module, resident). The scope is built from a resolved
//! [`Tenant`]; neither modules nor the data API ever name a town.
//!
//! The functions run in the caller's connection or transaction (a module's
//! action writes with its requests, in one transaction); [`ModuleData`] is
//! the same storage as a service owning its connection, for the data API.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait as _, LikeExpr};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DatabaseConnection,
    DbErr, PaginatorTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};

use super::entity::module_data;
use crate::tenancy::{Tenant, TenantScope};

pub const MAX_KEY_BYTES: usize = 200;
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Entries one scope may hold.
pub const MAX_ENTRIES_PER_SCOPE: u64 = 10_000;
/// Entries one `list` answers at most.
pub const MAX_LISTED: u64 = 500;

/// One module's storage for a town, or for one of its residents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataScope {
    tenant: TenantScope,
    module_id: String,
    account_id: Option<i32>,
}

impl DataScope {
    pub fn town(tenant: &Tenant, module_id: &str) -> Self {
        Self {
            tenant: tenant.scope(),
            module_id: module_id.to_owned(),
            account_id: None,
        }
    }

    pub fn resident(tenant: &Tenant, module_id: &str, account_id: i32) -> Self {
        Self {
            tenant: tenant.scope(),
            module_id: module_id.to_owned(),
            account_id: Some(account_id),
        }
    }

    fn select(&self) -> sea_orm::Select<module_data::Entity> {
        let select = self
            .tenant
            .select::<module_data::Entity>()
            .filter(module_data::Column::ModuleId.eq(&self.module_id));
        match self.account_id {
            Some(account_id) => select.filter(module_data::Column::AccountId.eq(account_id)),
            None => select.filter(module_data::Column::AccountId.is_null()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    #[error("la clé doit faire de 1 à {MAX_KEY_BYTES} octets, sans caractère de contrôle")]
    InvalidKey,
    #[error("la valeur dépasse {MAX_VALUE_BYTES} octets")]
    ValueTooLarge,
    #[error("cet espace de stockage contient déjà {MAX_ENTRIES_PER_SCOPE} entrées")]
    ScopeFull,
}

pub fn check_key(key: &str) -> Result<(), DataError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES || key.chars().any(char::is_control) {
        return Err(DataError::InvalidKey);
    }
    Ok(())
}

pub fn check_value(value: &str) -> Result<(), DataError> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(DataError::ValueTooLarge);
    }
    Ok(())
}

/// A refused key or value, or the database failing.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Database(#[from] DbErr),
}

pub async fn get(
    connection: &impl ConnectionTrait,
    scope: &DataScope,
    key: &str,
) -> Result<Option<String>, DbErr> {
    Ok(scope
        .select()
        .filter(module_data::Column::Key.eq(key))
        .one(connection)
        .await?
        .map(|row| row.value))
}

/// Entries whose key starts with `prefix`, in key order.
pub async fn list(
    connection: &impl ConnectionTrait,
    scope: &DataScope,
    prefix: &str,
) -> Result<Vec<(String, String)>, DbErr> {
    let pattern = format!("{}%", escape_like(prefix));
    let rows = scope
        .select()
        .filter(Expr::col(module_data::Column::Key).like(LikeExpr::new(pattern).escape('\\')))
        .order_by_asc(module_data::Column::Key)
        .limit(MAX_LISTED)
        .all(connection)
        .await?;
    // SQLite's LIKE ignores ASCII case: keep exact prefixes only.
    Ok(rows
        .into_iter()
        .filter(|row| row.key.starts_with(prefix))
        .map(|row| (row.key, row.value))
        .collect())
}

/// Writes (`Some`) or deletes (`None`) one value, in the caller's
/// transaction.
pub async fn write(
    connection: &impl ConnectionTrait,
    scope: &DataScope,
    key: &str,
    value: Option<&str>,
) -> Result<(), StorageError> {
    check_key(key)?;
    let Some(value) = value else {
        remove(connection, scope, key).await?;
        return Ok(());
    };
    check_value(value)?;
    let now = Utc::now();
    let existing = scope
        .select()
        .filter(module_data::Column::Key.eq(key))
        .one(connection)
        .await?;
    if let Some(row) = existing {
        let mut row: module_data::ActiveModel = row.into();
        row.value = Set(value.to_owned());
        row.updated_at = Set(now);
        row.update(connection).await?;
        return Ok(());
    }
    if scope.select().count(connection).await? >= MAX_ENTRIES_PER_SCOPE {
        return Err(DataError::ScopeFull.into());
    }
    module_data::ActiveModel {
        tenant_id: Set(scope.tenant.tenant_id().get()),
        module_id: Set(scope.module_id.clone()),
        account_id: Set(scope.account_id),
        key: Set(key.to_owned()),
        value: Set(value.to_owned()),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(connection)
    .await?;
    Ok(())
}

/// Deletes the value under `key`; answers how many rows went (0 or 1).
async fn remove(
    connection: &impl ConnectionTrait,
    scope: &DataScope,
    key: &str,
) -> Result<u64, DbErr> {
    let delete = scope
        .tenant
        .delete::<module_data::Entity>()
        .filter(module_data::Column::Key.eq(key))
        .filter(module_data::Column::ModuleId.eq(&scope.module_id));
    let delete = match scope.account_id {
        Some(account_id) => delete.filter(module_data::Column::AccountId.eq(account_id)),
        None => delete.filter(module_data::Column::AccountId.is_null()),
    };
    Ok(delete.exec(connection).await?.rows_affected)
}

/// Module storage as a service: each call is one statement or one
/// transaction of its own (the data API's reads and writes).
#[derive(Debug, Clone)]
pub struct ModuleData {
    db: DatabaseConnection,
}

impl ModuleData {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Entries whose key starts with `prefix`, in key order
    /// ([`MAX_LISTED`] at most).
    pub async fn list(
        &self,
        scope: &DataScope,
        prefix: &str,
    ) -> Result<Vec<(String, String)>, DbErr> {
        list(&self.db, scope, prefix).await
    }

    /// The value under `key`, if any.
    pub async fn get(&self, scope: &DataScope, key: &str) -> Result<Option<String>, StorageError> {
        check_key(key)?;
        Ok(get(&self.db, scope, key).await?)
    }

    /// Writes the value under `key`, in a transaction of its own (the size
    /// cap of the scope is counted inside it).
    pub async fn put(&self, scope: &DataScope, key: &str, value: &str) -> Result<(), StorageError> {
        check_key(key)?;
        check_value(value)?;
        let transaction = crate::db::begin_write(&self.db).await?;
        write(&transaction, scope, key, Some(value)).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Deletes the value under `key`; false when there was none.
    pub async fn delete(&self, scope: &DataScope, key: &str) -> Result<bool, StorageError> {
        check_key(key)?;
        Ok(remove(&self.db, scope, key).await? > 0)
    }
}

fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_bounded_and_printable() {
        assert_eq!(check_key("facture:2020-05"), Ok(()));
        assert_eq!(check_key(""), Err(DataError::InvalidKey));
        assert_eq!(check_key("a\u{0}b"), Err(DataError::InvalidKey));
        assert_eq!(check_key(&"k".repeat(201)), Err(DataError::InvalidKey));
        assert_eq!(
            check_value(&"v".repeat(MAX_VALUE_BYTES + 1)),
            Err(DataError::ValueTooLarge)
        );
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like(r"50%_a\b"), r"50\%\_a\\b");
    }
}
