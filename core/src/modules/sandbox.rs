//! What one module call runs with: a fresh store holding an empty WASI
//! context, a memory cap, and the call's scope. The host functions of the
//! WIT interface are implemented here, against that scope only: a module
//! cannot name a town, a resident or another module.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use sea_orm::DatabaseConnection;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::metrics::ModuleMetrics;
use super::storage::{self, DataScope, StorageLimits, StorageRefusal};
use super::wit::v0_1::host::{self, Entry, HostError, Level, Member, Scope, StorageError};
use super::wit::v0_1::types::DateTime;
use crate::tenancy::Tenant;

/// Which export is running: only `act` may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading the manifest at publication: no town, no resident, no data.
    Describe,
    Render,
    Act,
}

/// What the manifest asked for, as the host checks it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub town_storage: bool,
    pub resident_storage: bool,
    pub household: bool,
    pub requests: bool,
}

/// The town, module and resident of a call.
#[derive(Debug, Clone)]
pub struct CallScope {
    pub tenant: Arc<Tenant>,
    pub module_id: String,
    pub version: String,
    pub capabilities: Capabilities,
    pub account_id: Option<i32>,
    /// What the module may write in this call and store in this town.
    pub storage: StorageLimits,
}

/// Writes of an `act` call, applied when it returns successfully.
#[derive(Debug, Default)]
pub struct PendingWrites {
    /// (resident scope?, key) → new value, or deletion.
    pub data: BTreeMap<(bool, String), Option<String>>,
    pub requests: Vec<crate::requests::NewRequest>,
    /// `put` and `delete` calls accepted so far.
    operations: u32,
    /// Bytes of the accepted `put`s (keys and values).
    bytes: u64,
    /// What the module stored when the call first wrote: (town, resident).
    stored_at_start: Option<(u64, u64)>,
    /// What each written key counted for before the call (none: absent).
    stored_entries: HashMap<(bool, String), Option<u64>>,
    /// A write was refused: logged and counted once per call, however
    /// often the module tries again.
    refused: bool,
}

impl PendingWrites {
    /// What the pending writes change, in bytes: (town, resident).
    fn delta(&self) -> (i64, i64) {
        let mut town = 0;
        let mut resident = 0;
        for (entry, value) in &self.data {
            let before = self.stored_entries.get(entry).copied().flatten();
            let after = value
                .as_deref()
                .map(|value| storage::entry_bytes(&entry.1, value));
            let delta = storage::Delta::between(before, after).bytes;
            town += delta;
            if entry.0 {
                resident += delta;
            }
        }
        (town, resident)
    }
}

/// Why a call was stopped by the sandbox itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the module asked for more than {limit_bytes} bytes of memory")]
pub struct MemoryLimitExceeded {
    pub limit_bytes: usize,
}

/// Caps linear memories and tables; growing past the cap stops the call
/// with [`MemoryLimitExceeded`] (a typed error, not a silent failure).
#[derive(Debug)]
pub struct MemoryCap {
    pub limit_bytes: usize,
}

const MAX_TABLE_ELEMENTS: usize = 100_000;

impl wasmtime::ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit_bytes {
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                limit_bytes: self.limit_bytes,
            }));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// The data of one call's store.
pub struct Sandbox {
    wasi: WasiCtx,
    table: ResourceTable,
    pub memory: MemoryCap,
    pub phase: Phase,
    pub scope: Option<CallScope>,
    pub writes: PendingWrites,
    db: DatabaseConnection,
    metrics: ModuleMetrics,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Sandbox")
            .field("phase", &self.phase)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    pub fn new(
        db: DatabaseConnection,
        metrics: ModuleMetrics,
        memory_limit_bytes: usize,
        phase: Phase,
        scope: Option<CallScope>,
    ) -> Self {
        // Nothing given: no files, no environment, no arguments, stdin
        // closed, stdout and stderr discarded, no network, no name lookup.
        let mut wasi = WasiCtx::builder();
        wasi.allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        Self {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            memory: MemoryCap {
                limit_bytes: memory_limit_bytes,
            },
            phase,
            scope,
            writes: PendingWrites::default(),
            db,
            metrics,
        }
    }

    /// Accepts one `put` (`Some`) or `delete` (`None`) into the pending
    /// writes, or refuses it, within the call's bounds and the module's
    /// quota as stored when the call began. The quota is checked again, for
    /// good, when the writes are committed (storage::commit): this early
    /// check lets the module answer the resident itself.
    async fn admit(
        &mut self,
        data_scope: &DataScope,
        resident: bool,
        key: String,
        value: Option<String>,
    ) -> Result<(), StorageError> {
        let Some(call) = self.scope.as_ref() else {
            return Err(StorageError::NotAllowed);
        };
        let limits = call.storage;
        let account_id = call.account_id;
        let tenant = call.tenant.scope();
        let module_id = call.module_id.clone();
        let what = if value.is_some() { "put" } else { "delete" };
        let bytes = value
            .as_ref()
            .map_or(0, |value| (key.len() + value.len()) as u64);
        if self.writes.operations >= limits.writes_per_call {
            return Err(self.refuse(StorageRefusal::WritesPerCall));
        }
        if self.writes.bytes.saturating_add(bytes) > limits.bytes_per_call {
            return Err(self.refuse(StorageRefusal::BytesPerCall));
        }
        if self.writes.stored_at_start.is_none() {
            let stored = storage::usage(&self.db, tenant, &module_id, account_id)
                .await
                .map_err(|error| {
                    self.log_unavailable(what, &error);
                    StorageError::Unavailable
                })?;
            self.writes.stored_at_start = Some(stored);
        }
        let entry = (resident, key);
        if !self.writes.stored_entries.contains_key(&entry) {
            let before = storage::stored_bytes(&self.db, data_scope, &entry.1)
                .await
                .map_err(|error| {
                    self.log_unavailable(what, &error);
                    StorageError::Unavailable
                })?;
            self.writes.stored_entries.insert(entry.clone(), before);
        }
        let previous = self.writes.data.insert(entry.clone(), value);
        let (town_delta, resident_delta) = self.writes.delta();
        let (town_stored, resident_stored) = self.writes.stored_at_start.unwrap_or_default();
        let refusal =
            if storage::exceeds(resident_stored, resident_delta, limits.quota.resident_bytes) {
                Some(StorageRefusal::ResidentQuota)
            } else if storage::exceeds(town_stored, town_delta, limits.quota.town_bytes) {
                Some(StorageRefusal::TownQuota)
            } else {
                None
            };
        if let Some(refusal) = refusal {
            // Back to what it was before this write.
            match previous {
                Some(previous) => self.writes.data.insert(entry, previous),
                None => self.writes.data.remove(&entry),
            };
            return Err(self.refuse(refusal));
        }
        self.writes.operations += 1;
        self.writes.bytes += bytes;
        Ok(())
    }

    /// Counts and logs a call's first refused write; the module is told
    /// `too-large`.
    fn refuse(&mut self, refusal: StorageRefusal) -> StorageError {
        if std::mem::replace(&mut self.writes.refused, true) {
            return StorageError::TooLarge;
        }
        if let Some(call) = &self.scope {
            tracing::warn!(
                town = %call.tenant.slug,
                module = %call.module_id,
                version = %call.version,
                refusal = refusal.as_str(),
                "module storage write refused"
            );
            self.metrics
                .count_refusal(&call.tenant.slug, &call.module_id, &call.version, refusal);
        }
        StorageError::TooLarge
    }

    /// The storage scope a host call asks for, if the call may use it.
    fn data_scope(&self, scope: Scope) -> Result<(DataScope, bool), StorageError> {
        let call = self.scope.as_ref().ok_or(StorageError::NotAllowed)?;
        match scope {
            Scope::Town if call.capabilities.town_storage => {
                Ok((DataScope::town(&call.tenant, &call.module_id), false))
            }
            Scope::Resident if call.capabilities.resident_storage => {
                let account_id = call.account_id.ok_or(StorageError::NotAllowed)?;
                Ok((
                    DataScope::resident(&call.tenant, &call.module_id, account_id),
                    true,
                ))
            }
            _ => Err(StorageError::NotAllowed),
        }
    }

    fn log_unavailable(&self, what: &str, error: &sea_orm::DbErr) {
        if let Some(call) = &self.scope {
            tracing::error!(
                town = %call.tenant.slug,
                module = %call.module_id,
                version = %call.version,
                "module host call `{what}` failed: {error}"
            );
        }
    }
}

impl Sandbox {
    pub fn io_table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    pub fn random(&mut self) -> &mut wasmtime_wasi::random::WasiRandomCtx {
        self.wasi.random()
    }
}

impl WasiView for Sandbox {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl host::Host for Sandbox {
    async fn get(&mut self, scope: Scope, key: String) -> Result<Option<String>, StorageError> {
        let (data_scope, resident) = self.data_scope(scope)?;
        storage::check_key(&key).map_err(|_| StorageError::InvalidKey)?;
        if let Some(pending) = self.writes.data.get(&(resident, key.clone())) {
            return Ok(pending.clone());
        }
        storage::get(&self.db, &data_scope, &key)
            .await
            .map_err(|error| {
                self.log_unavailable("get", &error);
                StorageError::Unavailable
            })
    }

    async fn put(&mut self, scope: Scope, key: String, value: String) -> Result<(), StorageError> {
        let (data_scope, resident) = self.data_scope(scope)?;
        if self.phase != Phase::Act {
            return Err(StorageError::NotAllowed);
        }
        storage::check_key(&key).map_err(|_| StorageError::InvalidKey)?;
        storage::check_value(&value).map_err(|_| StorageError::TooLarge)?;
        self.admit(&data_scope, resident, key, Some(value)).await
    }

    async fn delete(&mut self, scope: Scope, key: String) -> Result<(), StorageError> {
        let (data_scope, resident) = self.data_scope(scope)?;
        if self.phase != Phase::Act {
            return Err(StorageError::NotAllowed);
        }
        storage::check_key(&key).map_err(|_| StorageError::InvalidKey)?;
        self.admit(&data_scope, resident, key, None).await
    }

    async fn list(&mut self, scope: Scope, prefix: String) -> Result<Vec<Entry>, StorageError> {
        let (data_scope, resident) = self.data_scope(scope)?;
        let stored = storage::list(&self.db, &data_scope, &prefix)
            .await
            .map_err(|error| {
                self.log_unavailable("list", &error);
                StorageError::Unavailable
            })?;
        let mut merged: BTreeMap<String, String> = stored.into_iter().collect();
        for ((pending_resident, key), value) in &self.writes.data {
            if *pending_resident != resident || !key.starts_with(&prefix) {
                continue;
            }
            match value {
                Some(value) => merged.insert(key.clone(), value.clone()),
                None => merged.remove(key),
            };
        }
        Ok(merged
            .into_iter()
            .take(storage::MAX_LISTED as usize)
            .map(|(key, value)| Entry { key, value })
            .collect())
    }

    async fn household(&mut self) -> Result<Vec<Member>, HostError> {
        let call = self.scope.as_ref().ok_or(HostError::NotAllowed)?;
        if !call.capabilities.household {
            return Err(HostError::NotAllowed);
        }
        let account_id = call.account_id.ok_or(HostError::NotAllowed)?;
        let scope = call.tenant.scope();
        let households = crate::households::Households::new(self.db.clone());
        let members = households
            .members(scope, account_id)
            .await
            .map_err(|error| {
                self.log_unavailable("household", &error);
                HostError::Unavailable
            })?;
        Ok(members
            .into_iter()
            .map(|member| Member {
                id: format!("m{}", member.id),
                first_name: member.first_name,
                last_name: member.last_name,
                birth_date: member.birth_date.map(|date| date.to_string()),
                relation: member.relation.code().to_owned(),
            })
            .collect())
    }

    async fn create_request(&mut self, request: host::NewRequest) -> Result<(), HostError> {
        let call = self.scope.as_ref().ok_or(HostError::NotAllowed)?;
        if !call.capabilities.requests || call.account_id.is_none() || self.phase != Phase::Act {
            return Err(HostError::NotAllowed);
        }
        let valid = |text: &str, max: usize| !text.trim().is_empty() && text.chars().count() <= max;
        if !valid(&request.kind, 64) || !valid(&request.title, 200) || request.details.len() > 50 {
            return Err(HostError::Invalid(
                "kind (64), title (200) and at most 50 details are required".to_owned(),
            ));
        }
        if self.writes.requests.len() >= 10 {
            return Err(HostError::Invalid(
                "at most 10 requests per call".to_owned(),
            ));
        }
        self.writes.requests.push(crate::requests::NewRequest {
            kind: request.kind,
            module_id: Some(call.module_id.clone()),
            title: request.title,
            details: request.details,
        });
        Ok(())
    }

    async fn log(&mut self, level: Level, message: String) {
        let message: String = message.chars().take(1000).collect();
        let (town, module, version) = match &self.scope {
            Some(call) => (
                call.tenant.slug.as_str(),
                call.module_id.as_str(),
                call.version.as_str(),
            ),
            None => ("-", "-", "-"),
        };
        match level {
            Level::Debug => tracing::debug!(town, module, version, "module: {message}"),
            Level::Info => tracing::info!(town, module, version, "module: {message}"),
            Level::Warn => tracing::warn!(town, module, version, "module: {message}"),
            Level::Error => tracing::error!(town, module, version, "module: {message}"),
        }
    }

    async fn now(&mut self) -> DateTime {
        let now = chrono::Utc::now();
        let local = match &self.scope {
            Some(call) => now.with_timezone(&call.tenant.timezone).naive_local(),
            None => now.naive_utc(),
        };
        DateTime {
            date: local.format("%Y-%m-%d").to_string(),
            time: local.format("%H:%M").to_string(),
        }
    }
}

impl super::wit::v0_1::types::Host for Sandbox {}
