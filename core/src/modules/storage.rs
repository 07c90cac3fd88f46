//! Module storage: string values under string keys, for one (town, module)
//! or one (town, module, resident). The scope is built from a resolved
//! [`Tenant`]; neither modules nor the data API ever name a town.
//!
//! Every write keeps two counters up to date in the same transaction: what a
//! module stores in a town (`module_usage`, the town's data and every
//! resident's) and for one resident (`module_resident_usage`). A module's
//! `act` writes through [`commit`], which checks them against the module's
//! [`StorageQuota`] after writing, inside the transaction: a refused commit
//! is rolled back whole, and concurrent commits wait for each other on the
//! counter rows, so none can overrun the quota. The data API (the town's own
//! software) writes through [`ModuleData`] (each call its own transaction,
//! using [`write`]): counted, not held to the quota.

use std::collections::BTreeMap;

use chrono::Utc;
use sea_orm::sea_query::{Alias, Expr, ExprTrait as _, OnConflict};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DatabaseConnection,
    DbErr, EntityTrait as _, PaginatorTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _,
};

use super::entity::{module_data, module_resident_usage, module_usage};
use crate::tenancy::{Tenant, TenantScope};

pub const MAX_KEY_BYTES: usize = 200;
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Entries one scope may hold (the town scope of a 0.2.0 module:
/// [`MAX_ENTRIES_PER_TOWN_SCOPE`]).
pub const MAX_ENTRIES_PER_SCOPE: u64 = 10_000;
/// Entries the town scope of a module built against interface 0.2.0 may
/// hold (every booking of a town's year); its quota in bytes still applies.
pub const MAX_ENTRIES_PER_TOWN_SCOPE: u64 = 1_000_000;
/// Entries one `list` answers at most.
pub const MAX_LISTED: u64 = 500;
/// What one stored entry counts for against a quota, beside its key and
/// value: the row itself (ids, dates, index entries). A million empty
/// values are not free.
pub const ENTRY_OVERHEAD_BYTES: u64 = 64;

/// How much a module may write: in one `act` call, and in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageLimits {
    /// `put` and `delete` calls of one `act`, counted together.
    pub writes_per_call: u32,
    /// Bytes one `act` may put (keys and values).
    pub bytes_per_call: u64,
    pub quota: StorageQuota,
    /// Entries the module's town scope may hold (more for 0.2.0 modules).
    pub town_entries: u64,
}

impl StorageLimits {
    pub const WRITES_PER_CALL: u32 = 100;
    pub const BYTES_PER_CALL: u64 = 256 * 1024;
}

impl Default for StorageLimits {
    fn default() -> Self {
        Self {
            writes_per_call: Self::WRITES_PER_CALL,
            bytes_per_call: Self::BYTES_PER_CALL,
            quota: StorageQuota::default(),
            town_entries: MAX_ENTRIES_PER_SCOPE,
        }
    }
}

/// How much a module may store in one town, counted as
/// [`entry_bytes`] summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageQuota {
    /// One resident's data.
    pub resident_bytes: u64,
    /// All of the module's data in the town: the town's and every
    /// resident's.
    pub town_bytes: u64,
}

impl StorageQuota {
    pub const DEFAULT_RESIDENT_KIB: u32 = 1024;
    pub const DEFAULT_TOWN_KIB: u32 = 256 * 1024;

    pub fn from_kib(resident_kib: u64, town_kib: u64) -> Self {
        Self {
            resident_bytes: resident_kib.saturating_mul(1024),
            town_bytes: town_kib.saturating_mul(1024),
        }
    }
}

impl Default for StorageQuota {
    fn default() -> Self {
        Self::from_kib(
            u64::from(Self::DEFAULT_RESIDENT_KIB),
            u64::from(Self::DEFAULT_TOWN_KIB),
        )
    }
}

/// Which quota a write ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaScope {
    Resident,
    Town,
}

/// Why the host refused a module's write. The module is answered
/// `too-large`; the reason goes to the logs and `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageRefusal {
    /// More `put`/`delete` calls than [`StorageLimits::writes_per_call`].
    WritesPerCall,
    /// More bytes than [`StorageLimits::bytes_per_call`].
    BytesPerCall,
    ResidentQuota,
    TownQuota,
}

impl StorageRefusal {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WritesPerCall => "writes_per_call",
            Self::BytesPerCall => "bytes_per_call",
            Self::ResidentQuota => "resident_quota",
            Self::TownQuota => "town_quota",
        }
    }
}

impl From<QuotaScope> for StorageRefusal {
    fn from(scope: QuotaScope) -> Self {
        match scope {
            QuotaScope::Resident => Self::ResidentQuota,
            QuotaScope::Town => Self::TownQuota,
        }
    }
}

/// A commit that would leave a module above its quota: nothing of it is
/// written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the module's {} storage would hold {used} bytes, over its quota of {quota}", match .scope { QuotaScope::Resident => "resident", QuotaScope::Town => "town" })]
pub struct QuotaExceeded {
    pub scope: QuotaScope,
    pub used: u64,
    pub quota: u64,
}

/// What an entry counts for against a quota.
pub fn entry_bytes(key: &str, value: &str) -> u64 {
    (key.len() + value.len()) as u64 + ENTRY_OVERHEAD_BYTES
}

/// A change of what a scope stores.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delta {
    pub bytes: i64,
    pub entries: i64,
}

impl Delta {
    fn is_zero(self) -> bool {
        self.bytes == 0 && self.entries == 0
    }

    fn add(&mut self, other: Self) {
        self.bytes += other.bytes;
        self.entries += other.entries;
    }

    /// From an entry's stored size (none: absent) to its new one.
    pub fn between(before: Option<u64>, after: Option<u64>) -> Self {
        let size =
            |bytes: Option<u64>| bytes.map_or(0, |bytes| i64::try_from(bytes).unwrap_or(i64::MAX));
        Self {
            bytes: size(after) - size(before),
            entries: i64::from(after.is_some()) - i64::from(before.is_some()),
        }
    }
}

/// Whether `delta` on top of `used` breaks `quota`. An act that shrinks
/// (or keeps) what it stores is never refused, even above its quota (a
/// quota lowered, data pushed by the town's software).
pub fn exceeds(used: u64, delta: i64, quota: u64) -> bool {
    delta > 0 && used.saturating_add_signed(delta) > quota
}

/// One module's storage for a town, or for one of its residents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataScope {
    tenant: TenantScope,
    module_id: String,
    account_id: Option<i32>,
    /// Entries it may hold.
    max_entries: u64,
}

impl DataScope {
    pub fn town(tenant: &Tenant, module_id: &str) -> Self {
        Self {
            tenant: tenant.scope(),
            module_id: module_id.to_owned(),
            account_id: None,
            max_entries: MAX_ENTRIES_PER_SCOPE,
        }
    }

    /// The same scope, holding up to `max_entries` entries.
    pub fn with_max_entries(mut self, max_entries: u64) -> Self {
        self.max_entries = max_entries;
        self
    }

    pub fn resident(tenant: &Tenant, module_id: &str, account_id: i32) -> Self {
        Self {
            tenant: tenant.scope(),
            module_id: module_id.to_owned(),
            account_id: Some(account_id),
            max_entries: MAX_ENTRIES_PER_SCOPE,
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
    #[error("cet espace de stockage contient déjà le nombre d'entrées maximal")]
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

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Why [`commit`] wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error(transparent)]
    Quota(QuotaExceeded),
    #[error(transparent)]
    Write(#[from] StorageError),
}

impl From<DbErr> for CommitError {
    fn from(error: DbErr) -> Self {
        Self::Write(StorageError::Database(error))
    }
}

pub async fn get(
    connection: &impl ConnectionTrait,
    scope: &DataScope,
    key: &str,
) -> Result<Option<String>, DbErr> {
    scope
        .select()
        .filter(module_data::Column::Key.eq(key))
        .select_only()
        .column(module_data::Column::Value)
        .into_tuple::<String>()
        .one(connection)
        .await
}

/// What an entry counts for now (none: absent).
pub async fn stored_bytes(
    connection: &impl ConnectionTrait,
    scope: &DataScope,
    key: &str,
) -> Result<Option<u64>, DbErr> {
    Ok(get(connection, scope, key)
        .await?
        .map(|value| entry_bytes(key, &value)))
}

/// Entries whose key starts with `prefix`, in key order ([`MAX_LISTED`]
/// at most).
pub async fn list(
    connection: &impl ConnectionTrait,
    scope: &DataScope,
    prefix: &str,
) -> Result<Vec<(String, String)>, DbErr> {
    list_after(connection, scope, prefix, "", MAX_LISTED).await
}

/// Keys starting with `prefix`: a range of the key index, exact because
/// both databases compare keys byte by byte (SQLite's `BINARY`, the `"C"`
/// collation of the column on PostgreSQL), where UTF-8 orders as code
/// points do. (`LIKE` could not use the index on PostgreSQL and ignores
/// ASCII case on SQLite.)
fn prefixed(
    select: sea_orm::Select<module_data::Entity>,
    prefix: &str,
) -> sea_orm::Select<module_data::Entity> {
    if prefix.is_empty() {
        return select;
    }
    let select = select.filter(module_data::Column::Key.gte(prefix));
    match crate::db::prefix_end(prefix) {
        Some(end) => select.filter(module_data::Column::Key.lt(end)),
        None => select,
    }
}

/// Entries whose key starts with `prefix` and comes after `after`, in key
/// order, at most `limit`.
pub async fn list_after(
    connection: &impl ConnectionTrait,
    scope: &DataScope,
    prefix: &str,
    after: &str,
    limit: u64,
) -> Result<Vec<(String, String)>, DbErr> {
    let mut select = prefixed(scope.select(), prefix);
    if !after.is_empty() {
        select = select.filter(module_data::Column::Key.gt(after));
    }
    // The two columns read, not the row: every tile lists its storage, and
    // decoding the five others (a timestamp parsed on SQLite) cost twice
    // what the pair does (docs/PERFORMANCE.md, ninth round).
    select
        .select_only()
        .columns([module_data::Column::Key, module_data::Column::Value])
        .order_by_asc(module_data::Column::Key)
        .limit(limit)
        .into_tuple::<(String, String)>()
        .all(connection)
        .await
}

/// How many entries have a key starting with `prefix`.
pub async fn count(
    connection: &impl ConnectionTrait,
    scope: &DataScope,
    prefix: &str,
) -> Result<u64, DbErr> {
    // Counted on the query itself, not in the subquery sea-orm's
    // `count()` wraps it in.
    let counted: Option<i64> = prefixed(scope.select(), prefix)
        .select_only()
        .column_as(Expr::col(module_data::Column::Key).count(), "entries")
        .into_tuple()
        .one(connection)
        .await?;
    Ok(counted.map_or(0, |entries| u64::try_from(entries).unwrap_or(0)))
}

/// Writes (`Some`) or deletes (`None`) one value, in the caller's
/// transaction, and counts it. Not held to a quota: for the town's own
/// software (the data API) and the demo.
pub async fn write(
    connection: &impl ConnectionTrait,
    scope: &DataScope,
    key: &str,
    value: Option<&str>,
) -> Result<(), StorageError> {
    let delta = write_entry(connection, scope, key, value).await?;
    if delta.is_zero() {
        return Ok(());
    }
    // The resident's counter first, then the town's, as in `commit`:
    // concurrent writers lock them in the same order.
    let resident_used = match scope.account_id {
        Some(account_id) => Some(
            add_usage(
                connection,
                scope.tenant,
                &scope.module_id,
                Some(account_id),
                delta,
            )
            .await?,
        ),
        None => None,
    };
    let town_used = add_usage(connection, scope.tenant, &scope.module_id, None, delta).await?;
    if delta.entries > 0 {
        check_entries(connection, scope, resident_used.unwrap_or(town_used)).await?;
    }
    Ok(())
}

/// Writes an `act`'s buffered changes — `(resident scope?, key) → value or
/// deletion` — in the caller's transaction, then checks the module's quota
/// against the counters as they now stand. On [`CommitError::Quota`] the
/// caller must not commit the transaction (dropping it rolls everything
/// back).
pub async fn commit(
    connection: &impl ConnectionTrait,
    town: &DataScope,
    resident: Option<&DataScope>,
    writes: &BTreeMap<(bool, String), Option<String>>,
    quota: StorageQuota,
) -> Result<(), CommitError> {
    let mut town_delta = Delta::default();
    let mut resident_delta = Delta::default();
    for ((in_resident_scope, key), value) in writes {
        let scope = match (*in_resident_scope, resident) {
            (false, _) => town,
            (true, Some(resident)) => resident,
            (true, None) => {
                return Err(DbErr::Custom("a resident write without a resident".to_owned()).into());
            }
        };
        let delta = write_entry(connection, scope, key, value.as_deref()).await?;
        town_delta.add(delta);
        if *in_resident_scope {
            resident_delta.add(delta);
        }
    }
    if let Some(resident) = resident.filter(|_| !resident_delta.is_zero()) {
        let used = add_usage(
            connection,
            resident.tenant,
            &resident.module_id,
            resident.account_id,
            resident_delta,
        )
        .await?;
        let before = used.bytes.saturating_add_signed(-resident_delta.bytes);
        if exceeds(before, resident_delta.bytes, quota.resident_bytes) {
            return Err(CommitError::Quota(QuotaExceeded {
                scope: QuotaScope::Resident,
                used: used.bytes,
                quota: quota.resident_bytes,
            }));
        }
        if resident_delta.entries > 0 {
            check_entries(connection, resident, used).await?;
        }
    }
    if !town_delta.is_zero() {
        let used = add_usage(connection, town.tenant, &town.module_id, None, town_delta).await?;
        let before = used.bytes.saturating_add_signed(-town_delta.bytes);
        if exceeds(before, town_delta.bytes, quota.town_bytes) {
            return Err(CommitError::Quota(QuotaExceeded {
                scope: QuotaScope::Town,
                used: used.bytes,
                quota: quota.town_bytes,
            }));
        }
        // The town's counter holds its residents' entries too.
        if town_delta.entries > resident_delta.entries {
            check_entries(connection, town, used).await?;
        }
    }
    Ok(())
}

/// Refuses a scope that grew past the entries it may hold, given its
/// counter as just updated by [`add_usage`] — so locked, on PostgreSQL,
/// until the commit: of two commits racing for the last entry, the second
/// sees the first. The counter is exact for a resident's scope, a bound
/// for the town's (it counts the residents' entries too): only past it is
/// the scope counted. A call that does not grow a scope is never refused,
/// nor is one entry replaced by another in the same call.
async fn check_entries(
    connection: &impl ConnectionTrait,
    scope: &DataScope,
    counted: Usage,
) -> Result<(), StorageError> {
    if counted.entries <= scope.max_entries
        || scope.select().count(connection).await? <= scope.max_entries
    {
        return Ok(());
    }
    Err(DataError::ScopeFull.into())
}

/// Writes or deletes one entry, uncounted; what it changed.
async fn write_entry(
    connection: &impl ConnectionTrait,
    scope: &DataScope,
    key: &str,
    value: Option<&str>,
) -> Result<Delta, StorageError> {
    check_key(key)?;
    if let Some(value) = value {
        check_value(value)?;
    }
    let existing = scope
        .select()
        .filter(module_data::Column::Key.eq(key))
        .one(connection)
        .await?;
    let before = existing.as_ref().map(|row| entry_bytes(key, &row.value));
    let Some(value) = value else {
        let Some(row) = existing else {
            return Ok(Delta::default());
        };
        // By id, within the town: the row read above.
        let deleted = scope
            .tenant
            .delete::<module_data::Entity>()
            .filter(module_data::Column::Id.eq(row.id))
            .exec(connection)
            .await?;
        // A concurrent delete (outside a transaction) got there first.
        if deleted.rows_affected == 0 {
            return Ok(Delta::default());
        }
        return Ok(Delta::between(before, None));
    };
    let now = Utc::now();
    let after = Some(entry_bytes(key, value));
    if let Some(row) = existing {
        let mut row: module_data::ActiveModel = row.into();
        row.value = Set(value.to_owned());
        row.updated_at = Set(now);
        row.update(connection).await?;
        return Ok(Delta::between(before, after));
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
    Ok(Delta::between(None, after))
}

/// Adds `delta` to a module's counter in a town (`account_id` none) or for
/// one resident, creating it at need; what it now holds. On
/// PostgreSQL the row stays locked until the transaction ends: concurrent
/// commits of the same module and town take turns.
async fn add_usage(
    connection: &impl ConnectionTrait,
    tenant: TenantScope,
    module_id: &str,
    account_id: Option<i32>,
    delta: Delta,
) -> Result<Usage, DbErr> {
    let excluded = Alias::new("excluded");
    match account_id {
        None => {
            use module_usage::{ActiveModel, Column, Entity};
            Entity::insert(ActiveModel {
                tenant_id: Set(tenant.tenant_id().get()),
                module_id: Set(module_id.to_owned()),
                bytes: Set(delta.bytes),
                entries: Set(delta.entries),
                ..Default::default()
            })
            .on_conflict(
                OnConflict::columns([Column::TenantId, Column::ModuleId])
                    .value(
                        Column::Bytes,
                        Expr::col((Entity, Column::Bytes))
                            .add(Expr::col((excluded.clone(), Column::Bytes))),
                    )
                    .value(
                        Column::Entries,
                        Expr::col((Entity, Column::Entries))
                            .add(Expr::col((excluded, Column::Entries))),
                    )
                    .to_owned(),
            )
            .exec_without_returning(connection)
            .await?;
        }
        Some(account_id) => {
            use module_resident_usage::{ActiveModel, Column, Entity};
            Entity::insert(ActiveModel {
                tenant_id: Set(tenant.tenant_id().get()),
                module_id: Set(module_id.to_owned()),
                account_id: Set(account_id),
                bytes: Set(delta.bytes),
                entries: Set(delta.entries),
                ..Default::default()
            })
            .on_conflict(
                OnConflict::columns([Column::TenantId, Column::ModuleId, Column::AccountId])
                    .value(
                        Column::Bytes,
                        Expr::col((Entity, Column::Bytes))
                            .add(Expr::col((excluded.clone(), Column::Bytes))),
                    )
                    .value(
                        Column::Entries,
                        Expr::col((Entity, Column::Entries))
                            .add(Expr::col((excluded, Column::Entries))),
                    )
                    .to_owned(),
            )
            .exec_without_returning(connection)
            .await?;
        }
    }
    read_usage(connection, tenant, module_id, account_id).await
}

/// What a usage counter holds (zeros when it has no row yet).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Usage {
    bytes: u64,
    entries: u64,
}

/// A module's counter in a town (`account_id` none) or for one resident.
async fn read_usage(
    connection: &impl ConnectionTrait,
    tenant: TenantScope,
    module_id: &str,
    account_id: Option<i32>,
) -> Result<Usage, DbErr> {
    let row: Option<(i64, i64)> = match account_id {
        None => {
            use module_usage::{Column, Entity};
            tenant
                .select::<Entity>()
                .filter(Column::ModuleId.eq(module_id))
                .select_only()
                .columns([Column::Bytes, Column::Entries])
                .into_tuple()
                .one(connection)
                .await?
        }
        Some(account_id) => {
            use module_resident_usage::{Column, Entity};
            tenant
                .select::<Entity>()
                .filter(Column::ModuleId.eq(module_id))
                .filter(Column::AccountId.eq(account_id))
                .select_only()
                .columns([Column::Bytes, Column::Entries])
                .into_tuple()
                .one(connection)
                .await?
        }
    };
    let count = |value: i64| u64::try_from(value).unwrap_or(0);
    Ok(row.map_or_else(Usage::default, |(bytes, entries)| Usage {
        bytes: count(bytes),
        entries: count(entries),
    }))
}

/// What a module stores in a town and, if `account_id`, for one resident:
/// (town bytes, resident bytes).
pub async fn usage(
    connection: &impl ConnectionTrait,
    tenant: TenantScope,
    module_id: &str,
    account_id: Option<i32>,
) -> Result<(u64, u64), DbErr> {
    let town = read_usage(connection, tenant, module_id, None).await?;
    let resident = match account_id {
        Some(account_id) => read_usage(connection, tenant, module_id, Some(account_id)).await?,
        None => Usage::default(),
    };
    Ok((town.bytes, resident.bytes))
}

/// Module storage as a service: each call is one statement or one
/// transaction of its own (the data API's reads and writes), counted like
/// every write.
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

    /// Entries whose key starts with `prefix` and comes after `after`, in
    /// key order ([`MAX_LISTED`] at most).
    pub async fn list_after(
        &self,
        scope: &DataScope,
        prefix: &str,
        after: &str,
    ) -> Result<Vec<(String, String)>, DbErr> {
        list_after(&self.db, scope, prefix, after, MAX_LISTED).await
    }

    /// The value under `key`, if any.
    pub async fn get(&self, scope: &DataScope, key: &str) -> Result<Option<String>, StorageError> {
        check_key(key)?;
        Ok(get(&self.db, scope, key).await?)
    }

    /// Writes the value under `key`, in a transaction of its own.
    pub async fn put(&self, scope: &DataScope, key: &str, value: &str) -> Result<(), StorageError> {
        check_key(key)?;
        check_value(value)?;
        let transaction = crate::db::begin_write(&self.db).await?;
        write(&transaction, scope, key, Some(value)).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Deletes the value under `key`, in a transaction of its own that also
    /// keeps the counters; false when there was none.
    pub async fn delete(&self, scope: &DataScope, key: &str) -> Result<bool, StorageError> {
        check_key(key)?;
        let transaction = crate::db::begin_write(&self.db).await?;
        let existed = get(&transaction, scope, key).await?.is_some();
        if existed {
            write(&transaction, scope, key, None).await?;
        }
        transaction.commit().await?;
        Ok(existed)
    }
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
    fn a_quota_refuses_growth_past_it_and_never_shrinking() {
        assert!(!exceeds(900, 100, 1000), "up to the quota");
        assert!(exceeds(900, 101, 1000));
        assert!(!exceeds(2000, -1, 1000), "shrinking above the quota");
        assert!(!exceeds(2000, 0, 1000));
        assert_eq!(entry_bytes("k", "vv"), 3 + ENTRY_OVERHEAD_BYTES);
        assert_eq!(
            Delta::between(None, Some(70)),
            Delta {
                bytes: 70,
                entries: 1
            }
        );
        assert_eq!(
            Delta::between(Some(70), None),
            Delta {
                bytes: -70,
                entries: -1
            }
        );
        assert_eq!(
            Delta::between(Some(70), Some(75)),
            Delta {
                bytes: 5,
                entries: 0
            }
        );
    }
}
