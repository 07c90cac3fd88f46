//! What one module call runs with: a fresh store holding an empty WASI
//! context, a memory cap, and the call's scope. The host functions of the
//! WIT interface are implemented here, against that scope only: a module
//! cannot name a town, a resident or another module (but for reading the
//! configuration of another module of its own town, when its manifest asks
//! for it). The logic is written once, in 0.2.0 types; the 0.1.0 host
//! functions convert to and from them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use sea_orm::{ColumnTrait as _, DatabaseConnection, QueryFilter as _, QuerySelect as _};
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::entity::town_module;
use super::lock::{HeldLocks, LOCK_WAIT, LockKey, LockTable, MAX_LOCKS_PER_CALL, WaitClock};
use super::metrics::ModuleMetrics;
use super::storage::{self, DataScope, StorageLimits, StorageRefusal};
use super::view_cache::Reads;
use super::wit::v0_1::host as host1;
use super::wit::v0_2::host::{
    self, Entry, HostError, Level, Member, Notification, Recipient, Scope, StorageError,
};
use super::wit::v0_2::types::DateTime;
use crate::accounts::entity::account;
use crate::tenancy::Tenant;

/// Which export is running: only `act` and `act-staff` may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading the manifest at publication: no town, no resident, no data.
    Describe,
    Render,
    Act,
    RenderStaff,
    ActStaff,
    /// Producing a document: reads only, like a render.
    Document,
    /// Handling an event (a payment confirmed): writes, as `act` does.
    HandleEvent,
}

impl Phase {
    /// Whether the call may write, lock and notify.
    pub fn writes(self) -> bool {
        matches!(self, Self::Act | Self::ActStaff | Self::HandleEvent)
    }
}

/// What the manifest asked for, as the host checks it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub town_storage: bool,
    pub resident_storage: bool,
    pub household: bool,
    pub requests: bool,
    pub notifications: bool,
    /// Modules whose configuration (in the same town) it may read.
    pub module_configs: Vec<String>,
}

/// The town, module and resident of a call.
#[derive(Debug, Clone)]
pub struct CallScope {
    pub tenant: Arc<Tenant>,
    pub module_id: String,
    pub version: String,
    pub capabilities: Capabilities,
    /// The resident of the call; none in public views and staff calls.
    pub account_id: Option<i32>,
    /// What the module may write in this call and store in this town.
    pub storage: StorageLimits,
}

/// A mail a call asked for, sent when its writes are committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingNotification {
    pub account_id: i32,
    pub subject: String,
    pub paragraphs: Vec<String>,
    /// One of the module's resident views.
    pub link: Option<NotificationLink>,
}

/// (label, view, params) of a notification's link.
pub type NotificationLink = (String, String, Vec<(String, String)>);

/// Mails one call may ask for.
pub const MAX_NOTIFICATIONS_PER_CALL: usize = 50;
const MAX_SUBJECT_CHARS: usize = 150;
const MAX_PARAGRAPHS: usize = 20;
const MAX_NOTIFICATION_BYTES: usize = 8 * 1024;

/// Writes of an `act` call, applied when it returns successfully.
#[derive(Debug, Default)]
pub struct PendingWrites {
    /// (resident scope?, key) → new value, or deletion.
    pub data: BTreeMap<(bool, String), Option<String>>,
    pub requests: Vec<crate::requests::NewRequest>,
    pub notifications: Vec<PendingNotification>,
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

    /// What the pending writes change to the number of entries of one
    /// scope whose key starts with `prefix`.
    fn entries_delta(&self, resident: bool, prefix: &str) -> i64 {
        self.data
            .iter()
            .filter(|((in_resident, key), _)| *in_resident == resident && key.starts_with(prefix))
            .map(|(entry, value)| {
                let before = self.stored_entries.get(entry).copied().flatten();
                i64::from(value.is_some()) - i64::from(before.is_some())
            })
            .sum()
    }
}

/// Runs `$body` with `$connection` bound to the call's lock transaction
/// when it has one (PostgreSQL, after a `lock`), to the pool otherwise: a
/// call holding locks never waits for a second connection.
macro_rules! on_connection {
    ($sandbox:expr, |$connection:ident| $body:expr) => {
        match $sandbox.locks.transaction() {
            Some($connection) => $body,
            None => {
                let $connection = &$sandbox.db;
                $body
            }
        }
    };
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
    /// What the call read through the host: a render's view is reused
    /// while none of it changed (view_cache.rs).
    pub reads: Reads,
    /// The locks the call holds, released once its writes are committed.
    pub locks: HeldLocks,
    /// Time spent waiting for locks, not charged to the call.
    pub clock: Arc<WaitClock>,
    lock_table: Arc<LockTable>,
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

/// What a sandbox shares with the host.
#[derive(Debug, Clone)]
pub struct SandboxShared {
    pub db: DatabaseConnection,
    pub metrics: ModuleMetrics,
    pub lock_table: Arc<LockTable>,
}

impl Sandbox {
    pub fn new(
        shared: &SandboxShared,
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
            reads: Reads::default(),
            locks: HeldLocks::default(),
            clock: Arc::default(),
            lock_table: shared.lock_table.clone(),
            db: shared.db.clone(),
            metrics: shared.metrics.clone(),
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
            let stored = on_connection!(self, |connection| storage::usage(
                connection, tenant, &module_id, account_id
            )
            .await)
            .map_err(|error| {
                self.log_unavailable(what, &error);
                StorageError::Unavailable
            })?;
            self.writes.stored_at_start = Some(stored);
        }
        let entry = (resident, key);
        if !self.writes.stored_entries.contains_key(&entry) {
            let before = on_connection!(self, |connection| storage::stored_bytes(
                connection, data_scope, &entry.1
            )
            .await)
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

    /// The storage scope a host call asks for, if the call may use it
    /// (recorded among the call's reads).
    fn data_scope(&mut self, scope: Scope) -> Result<(DataScope, bool), StorageError> {
        let call = self.scope.as_ref().ok_or(StorageError::NotAllowed)?;
        match scope {
            Scope::Town if call.capabilities.town_storage => {
                let data_scope = DataScope::town(&call.tenant, &call.module_id)
                    .with_max_entries(call.storage.town_entries);
                self.reads.town_storage = true;
                Ok((data_scope, false))
            }
            Scope::Resident if call.capabilities.resident_storage => {
                let account_id = call.account_id.ok_or(StorageError::NotAllowed)?;
                let data_scope = DataScope::resident(&call.tenant, &call.module_id, account_id);
                self.reads.resident_storage = true;
                Ok((data_scope, true))
            }
            _ => Err(StorageError::NotAllowed),
        }
    }

    /// Logs a host call the database could not answer, and marks the call:
    /// a render that met one is not kept (view_cache.rs).
    fn log_unavailable(&mut self, what: &str, error: &dyn std::fmt::Display) {
        self.reads.failed = true;
        if let Some(call) = &self.scope {
            tracing::error!(
                town = %call.tenant.slug,
                module = %call.module_id,
                version = %call.version,
                "module host call `{what}` failed: {error}"
            );
        }
    }

    /// Stored entries and pending writes merged: whose key starts with
    /// `prefix` and comes after `after`, at most `limit`.
    async fn listed(
        &mut self,
        scope: Scope,
        prefix: &str,
        after: &str,
        limit: u64,
    ) -> Result<Vec<Entry>, StorageError> {
        let (data_scope, resident) = self.data_scope(scope)?;
        // Pending deletions may hide stored entries: read as many more.
        let deletions = self
            .writes
            .data
            .iter()
            .filter(|((in_resident, key), value)| {
                *in_resident == resident && value.is_none() && key.starts_with(prefix)
            })
            .count() as u64;
        let stored = on_connection!(self, |connection| storage::list_after(
            connection,
            &data_scope,
            prefix,
            after,
            limit + deletions
        )
        .await)
        .map_err(|error| {
            self.log_unavailable("list", &error);
            StorageError::Unavailable
        })?;
        let mut merged: BTreeMap<String, String> = stored.into_iter().collect();
        for ((pending_resident, key), value) in &self.writes.data {
            if *pending_resident != resident || !key.starts_with(prefix) || key.as_str() <= after {
                continue;
            }
            match value {
                Some(value) => merged.insert(key.clone(), value.clone()),
                None => merged.remove(key),
            };
        }
        Ok(merged
            .into_iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|(key, value)| Entry { key, value })
            .collect())
    }

    /// The account a recipient names, in the call's town.
    // `&mut`: a future holding `&Sandbox` would need it `Sync` (WASI's
    // context is not).
    async fn recipient(&mut self, to: &Recipient) -> Result<i32, HostError> {
        let call = self.scope.as_ref().ok_or(HostError::NotAllowed)?;
        match to {
            Recipient::ResidentOfCall => call.account_id.ok_or(HostError::NotAllowed),
            Recipient::Resident(reference) => {
                let found = on_connection!(self, |connection| call
                    .tenant
                    .scope()
                    .select::<account::Entity>()
                    .filter(account::Column::Identifier.eq(reference.as_str()))
                    // A closed account's pseudonym: nobody to write to.
                    .filter(account::Column::Status.ne(account::AccountStatus::Closed))
                    .select_only()
                    .column(account::Column::Id)
                    .into_tuple::<i32>()
                    .one(connection)
                    .await)
                .map_err(|error| {
                    self.log_unavailable("notify", &error);
                    HostError::Unavailable
                })?;
                found.ok_or_else(|| {
                    HostError::Invalid(format!(
                        "no resident of this town has the reference `{reference}`"
                    ))
                })
            }
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

/// The checks of a notification's text (the WIT's bounds).
fn check_notification(notification: &Notification) -> Result<(), HostError> {
    let subject = notification.subject.trim();
    if subject.is_empty() || subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(HostError::Invalid(format!(
            "the subject must hold 1 to {MAX_SUBJECT_CHARS} characters"
        )));
    }
    let size: usize = notification.subject.len()
        + notification
            .paragraphs
            .iter()
            .map(String::len)
            .sum::<usize>();
    if notification.paragraphs.len() > MAX_PARAGRAPHS || size > MAX_NOTIFICATION_BYTES {
        return Err(HostError::Invalid(format!(
            "at most {MAX_PARAGRAPHS} paragraphs and {MAX_NOTIFICATION_BYTES} bytes in all"
        )));
    }
    if let Some(link) = &notification.link
        && (!super::registry::is_valid_module_id(&link.view) || link.label.trim().is_empty())
    {
        return Err(HostError::Invalid(
            "a link needs a label and one of the module's views".to_owned(),
        ));
    }
    Ok(())
}

impl host::Host for Sandbox {
    async fn get(&mut self, scope: Scope, key: String) -> Result<Option<String>, StorageError> {
        let (data_scope, resident) = self.data_scope(scope)?;
        storage::check_key(&key).map_err(|_| StorageError::InvalidKey)?;
        if let Some(pending) = self.writes.data.get(&(resident, key.clone())) {
            return Ok(pending.clone());
        }
        on_connection!(self, |connection| storage::get(
            connection,
            &data_scope,
            &key
        )
        .await)
        .map_err(|error| {
            self.log_unavailable("get", &error);
            StorageError::Unavailable
        })
    }

    async fn put(&mut self, scope: Scope, key: String, value: String) -> Result<(), StorageError> {
        let (data_scope, resident) = self.data_scope(scope)?;
        if !self.phase.writes() {
            return Err(StorageError::NotAllowed);
        }
        storage::check_key(&key).map_err(|_| StorageError::InvalidKey)?;
        storage::check_value(&value).map_err(|_| StorageError::TooLarge)?;
        self.admit(&data_scope, resident, key, Some(value)).await
    }

    async fn delete(&mut self, scope: Scope, key: String) -> Result<(), StorageError> {
        let (data_scope, resident) = self.data_scope(scope)?;
        if !self.phase.writes() {
            return Err(StorageError::NotAllowed);
        }
        storage::check_key(&key).map_err(|_| StorageError::InvalidKey)?;
        self.admit(&data_scope, resident, key, None).await
    }

    async fn list(&mut self, scope: Scope, prefix: String) -> Result<Vec<Entry>, StorageError> {
        self.listed(scope, &prefix, "", storage::MAX_LISTED).await
    }

    async fn list_after(
        &mut self,
        scope: Scope,
        prefix: String,
        after: String,
        limit: u32,
    ) -> Result<Vec<Entry>, StorageError> {
        let limit = u64::from(limit).min(storage::MAX_LISTED);
        self.listed(scope, &prefix, &after, limit).await
    }

    async fn count(&mut self, scope: Scope, prefix: String) -> Result<u32, StorageError> {
        let (data_scope, resident) = self.data_scope(scope)?;
        let stored = on_connection!(self, |connection| storage::count(
            connection,
            &data_scope,
            &prefix
        )
        .await)
        .map_err(|error| {
            self.log_unavailable("count", &error);
            StorageError::Unavailable
        })?;
        let counted = i64::try_from(stored)
            .unwrap_or(i64::MAX)
            .saturating_add(self.writes.entries_delta(resident, &prefix));
        Ok(u32::try_from(counted.max(0)).unwrap_or(u32::MAX))
    }

    async fn lock(&mut self, scope: Scope, key: String) -> Result<(), StorageError> {
        let (_, resident) = self.data_scope(scope)?;
        if !self.phase.writes() {
            return Err(StorageError::NotAllowed);
        }
        storage::check_key(&key).map_err(|_| StorageError::InvalidKey)?;
        let Some(call) = self.scope.as_ref() else {
            return Err(StorageError::NotAllowed);
        };
        let lock_key = LockKey {
            tenant_id: call.tenant.id().get(),
            module_id: call.module_id.clone(),
            account_id: if resident { call.account_id } else { None },
            key,
        };
        if self.locks.holds(&lock_key) {
            return Ok(());
        }
        if self.locks.len() >= MAX_LOCKS_PER_CALL {
            return Err(StorageError::TooLarge);
        }
        self.clock.start();
        let locked = self
            .locks
            .acquire(&self.lock_table, &self.db, lock_key, LOCK_WAIT)
            .await;
        self.clock.stop();
        locked.map_err(|error| {
            self.log_unavailable("lock", &error);
            StorageError::Unavailable
        })
    }

    async fn module_config(&mut self, module: String) -> Result<Option<String>, HostError> {
        let call = self.scope.as_ref().ok_or(HostError::NotAllowed)?;
        if !call.capabilities.module_configs.contains(&module) {
            return Err(HostError::NotAllowed);
        }
        self.reads.module_configs = true;
        on_connection!(self, |connection| call
            .tenant
            .scope()
            .select::<town_module::Entity>()
            .filter(town_module::Column::ModuleId.eq(module.as_str()))
            .select_only()
            .column(town_module::Column::Config)
            .into_tuple::<String>()
            .one(connection)
            .await)
        .map_err(|error| {
            self.log_unavailable("module-config", &error);
            HostError::Unavailable
        })
    }

    async fn household(&mut self) -> Result<Vec<Member>, HostError> {
        let call = self.scope.as_ref().ok_or(HostError::NotAllowed)?;
        if !call.capabilities.household {
            return Err(HostError::NotAllowed);
        }
        let account_id = call.account_id.ok_or(HostError::NotAllowed)?;
        self.reads.household = true;
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

    async fn notify(&mut self, to: Recipient, notification: Notification) -> Result<(), HostError> {
        let call = self.scope.as_ref().ok_or(HostError::NotAllowed)?;
        if !call.capabilities.notifications || !self.phase.writes() {
            return Err(HostError::NotAllowed);
        }
        check_notification(&notification)?;
        if self.writes.notifications.len() >= MAX_NOTIFICATIONS_PER_CALL {
            return Err(HostError::Invalid(format!(
                "at most {MAX_NOTIFICATIONS_PER_CALL} notifications per call"
            )));
        }
        let account_id = self.recipient(&to).await?;
        self.writes.notifications.push(PendingNotification {
            account_id,
            subject: notification.subject.trim().to_owned(),
            paragraphs: notification.paragraphs,
            link: notification
                .link
                .map(|link| (link.label, link.view, link.params)),
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

impl super::wit::v0_2::types::Host for Sandbox {}

/// Interface 0.1.0: the same functions, in its types.
mod v0_1_host {
    use super::{Sandbox, host, host1};
    use crate::modules::wit::v0_1::types::DateTime;

    fn scope(scope: host1::Scope) -> host::Scope {
        match scope {
            host1::Scope::Town => host::Scope::Town,
            host1::Scope::Resident => host::Scope::Resident,
        }
    }

    fn storage_error(error: host::StorageError) -> host1::StorageError {
        match error {
            host::StorageError::NotAllowed => host1::StorageError::NotAllowed,
            host::StorageError::InvalidKey => host1::StorageError::InvalidKey,
            host::StorageError::TooLarge => host1::StorageError::TooLarge,
            host::StorageError::Unavailable => host1::StorageError::Unavailable,
        }
    }

    fn host_error(error: host::HostError) -> host1::HostError {
        match error {
            host::HostError::NotAllowed => host1::HostError::NotAllowed,
            host::HostError::Invalid(message) => host1::HostError::Invalid(message),
            host::HostError::Unavailable => host1::HostError::Unavailable,
        }
    }

    impl host1::Host for Sandbox {
        async fn get(
            &mut self,
            on: host1::Scope,
            key: String,
        ) -> Result<Option<String>, host1::StorageError> {
            host::Host::get(self, scope(on), key)
                .await
                .map_err(storage_error)
        }

        async fn put(
            &mut self,
            on: host1::Scope,
            key: String,
            value: String,
        ) -> Result<(), host1::StorageError> {
            host::Host::put(self, scope(on), key, value)
                .await
                .map_err(storage_error)
        }

        async fn delete(
            &mut self,
            on: host1::Scope,
            key: String,
        ) -> Result<(), host1::StorageError> {
            host::Host::delete(self, scope(on), key)
                .await
                .map_err(storage_error)
        }

        async fn list(
            &mut self,
            on: host1::Scope,
            prefix: String,
        ) -> Result<Vec<host1::Entry>, host1::StorageError> {
            Ok(host::Host::list(self, scope(on), prefix)
                .await
                .map_err(storage_error)?
                .into_iter()
                .map(|entry| host1::Entry {
                    key: entry.key,
                    value: entry.value,
                })
                .collect())
        }

        async fn household(&mut self) -> Result<Vec<host1::Member>, host1::HostError> {
            Ok(host::Host::household(self)
                .await
                .map_err(host_error)?
                .into_iter()
                .map(|member| host1::Member {
                    id: member.id,
                    first_name: member.first_name,
                    last_name: member.last_name,
                    birth_date: member.birth_date,
                    relation: member.relation,
                })
                .collect())
        }

        async fn create_request(
            &mut self,
            request: host1::NewRequest,
        ) -> Result<(), host1::HostError> {
            host::Host::create_request(
                self,
                host::NewRequest {
                    kind: request.kind,
                    title: request.title,
                    details: request.details,
                },
            )
            .await
            .map_err(host_error)
        }

        async fn log(&mut self, level: host1::Level, message: String) {
            let level = match level {
                host1::Level::Debug => host::Level::Debug,
                host1::Level::Info => host::Level::Info,
                host1::Level::Warn => host::Level::Warn,
                host1::Level::Error => host::Level::Error,
            };
            host::Host::log(self, level, message).await;
        }

        async fn now(&mut self) -> DateTime {
            let now = host::Host::now(self).await;
            DateTime {
                date: now.date,
                time: now.time,
            }
        }
    }

    impl crate::modules::wit::v0_1::types::Host for Sandbox {}
}
