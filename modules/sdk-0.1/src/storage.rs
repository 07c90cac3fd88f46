//! The module's storage, scoped by the host to the town of the call
//! ([`Scope::Town`]) or to its resident ([`Scope::Resident`]).
//!
//! Values are strings; the `_json` helpers store any serde type as JSON,
//! which is also what the town's software pushes through Guichet's data API.
//! Writes happen only in `act`, all at once when it returns successfully.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ModuleError;
use crate::bindings::guichet::module::host;

pub use host::{Entry, Scope, StorageError};

pub fn get(scope: Scope, key: &str) -> Result<Option<String>, StorageError> {
    host::get(scope, key)
}

pub fn put(scope: Scope, key: &str, value: &str) -> Result<(), StorageError> {
    host::put(scope, key, value)
}

pub fn delete(scope: Scope, key: &str) -> Result<(), StorageError> {
    host::delete(scope, key)
}

/// Entries whose key starts with `prefix`, in key order (at most 500).
pub fn list(scope: Scope, prefix: &str) -> Result<Vec<Entry>, StorageError> {
    host::list(scope, prefix)
}

pub fn get_json<T: DeserializeOwned>(scope: Scope, key: &str) -> Result<Option<T>, ModuleError> {
    get(scope, key)?.map(|text| decode(key, &text)).transpose()
}

pub fn put_json<T: Serialize>(scope: Scope, key: &str, value: &T) -> Result<(), ModuleError> {
    let text = serde_json::to_string(value)
        .map_err(|error| ModuleError::Failed(format!("cannot encode `{key}`: {error}")))?;
    Ok(put(scope, key, &text)?)
}

/// The entries under `prefix` decoded as `T`; an entry that does not decode
/// is an error naming its key.
pub fn list_json<T: DeserializeOwned>(
    scope: Scope,
    prefix: &str,
) -> Result<Vec<(String, T)>, ModuleError> {
    list(scope, prefix)?
        .into_iter()
        .map(|entry| decode(&entry.key, &entry.value).map(|value| (entry.key, value)))
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
