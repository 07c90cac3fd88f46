//! The module's storage, scoped by the host to the town of the call
//! ([`Scope::Town`]) or to its resident ([`Scope::Resident`]).
//!
//! Values are strings; the `_json` helpers store any serde type as JSON,
//! which is also what the town's software pushes through Guichet's data API.
//! Writes happen only in `act`, `act-staff` and `handle-event`, all at once
//! when the call returns successfully.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ModuleError;
use crate::bindings::guichet::module::host;

pub use host::{Entry, Scope, StorageError};

/// The most entries one page of [`list_after`] holds.
pub const PAGE: u32 = 500;

pub fn get(scope: Scope, key: &str) -> Result<Option<String>, StorageError> {
    host::get(scope, key)
}

pub fn put(scope: Scope, key: &str, value: &str) -> Result<(), StorageError> {
    host::put(scope, key, value)
}

pub fn delete(scope: Scope, key: &str) -> Result<(), StorageError> {
    host::delete(scope, key)
}

/// Entries whose key starts with `prefix`, in key order (at most 500; see
/// [`entries`] for all of them).
pub fn list(scope: Scope, prefix: &str) -> Result<Vec<Entry>, StorageError> {
    host::list(scope, prefix)
}

/// One page: the entries under `prefix` whose key comes after `after` (""
/// for the first page), in key order, at most `limit` (at most 500).
pub fn list_after(
    scope: Scope,
    prefix: &str,
    after: &str,
    limit: u32,
) -> Result<Vec<Entry>, StorageError> {
    host::list_after(scope, prefix, after, limit)
}

/// How many entries have a key starting with `prefix`, the call's own
/// pending writes included.
pub fn count(scope: Scope, prefix: &str) -> Result<u32, StorageError> {
    host::count(scope, prefix)
}

/// Locks `key` until the call's writes are committed: what the call reads
/// afterwards, of data every writer also locks, stays true until then
/// (read-decide-write is serializable per key). Lock few keys, always in
/// the same order (sorted), at most 32 per call; not in `render`.
pub fn lock(scope: Scope, key: &str) -> Result<(), StorageError> {
    host::lock(scope, key)
}

/// Every entry under `prefix`, in key order, fetched a page at a time as
/// the iterator is read.
pub fn entries(scope: Scope, prefix: &str) -> Entries {
    Entries {
        scope,
        prefix: prefix.to_owned(),
        after: String::new(),
        page: Vec::new().into_iter(),
        done: false,
    }
}

/// The iterator of [`entries`].
pub struct Entries {
    scope: Scope,
    prefix: String,
    after: String,
    page: std::vec::IntoIter<Entry>,
    done: bool,
}

impl Iterator for Entries {
    type Item = Result<Entry, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(entry) = self.page.next() {
            self.after.clone_from(&entry.key);
            return Some(Ok(entry));
        }
        if self.done {
            return None;
        }
        match list_after(self.scope, &self.prefix, &self.after, PAGE) {
            Err(error) => {
                self.done = true;
                Some(Err(error))
            }
            Ok(page) => {
                // A short page is the last one.
                self.done = page.len() < PAGE as usize;
                self.page = page.into_iter();
                let entry = self.page.next()?;
                self.after.clone_from(&entry.key);
                Some(Ok(entry))
            }
        }
    }
}

pub fn get_json<T: DeserializeOwned>(scope: Scope, key: &str) -> Result<Option<T>, ModuleError> {
    get(scope, key)?.map(|text| decode(key, &text)).transpose()
}

pub fn put_json<T: Serialize>(scope: Scope, key: &str, value: &T) -> Result<(), ModuleError> {
    let text = serde_json::to_string(value)
        .map_err(|error| ModuleError::Failed(format!("cannot encode `{key}`: {error}")))?;
    Ok(put(scope, key, &text)?)
}

/// The entries under `prefix` decoded as `T` (at most 500); an entry that
/// does not decode is an error naming its key.
pub fn list_json<T: DeserializeOwned>(
    scope: Scope,
    prefix: &str,
) -> Result<Vec<(String, T)>, ModuleError> {
    list(scope, prefix)?
        .into_iter()
        .map(|entry| decode(&entry.key, &entry.value).map(|value| (entry.key, value)))
        .collect()
}

/// Every entry under `prefix` decoded as `T`, paging through them.
pub fn entries_json<T: DeserializeOwned>(
    scope: Scope,
    prefix: &str,
) -> Result<Vec<(String, T)>, ModuleError> {
    entries(scope, prefix)
        .map(|entry| {
            let entry = entry?;
            decode(&entry.key, &entry.value).map(|value| (entry.key, value))
        })
        .collect()
}

fn decode<T: DeserializeOwned>(key: &str, text: &str) -> Result<T, ModuleError> {
    serde_json::from_str(text)
        .map_err(|error| ModuleError::Failed(format!("stored `{key}` is not valid: {error}")))
}

impl From<StorageError> for ModuleError {
    fn from(error: StorageError) -> Self {
        ModuleError::Failed(
            match error {
                StorageError::NotAllowed => "storage not allowed here",
                StorageError::InvalidKey => "invalid storage key",
                StorageError::TooLarge => "storage value too large",
                StorageError::Unavailable => "storage unavailable",
            }
            .to_owned(),
        )
    }
}
