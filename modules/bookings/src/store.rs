//! The module's town storage behind a small trait, so the booking logic
//! runs natively in tests on an in-memory map, and in the host on
//! `storage` (town scope).

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why storage failed; the message is for the logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

pub trait Store {
    fn get(&mut self, key: &str) -> Result<Option<String>, StoreError>;
    fn put(&mut self, key: &str, value: String) -> Result<(), StoreError>;
    fn delete(&mut self, key: &str) -> Result<(), StoreError>;
    /// Entries under `prefix` after `after` ("" for the first), in key
    /// order, at most `limit` (at most 500).
    fn list_after(
        &mut self,
        prefix: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// Locks a key until the call's writes are committed (host `lock`).
    fn lock(&mut self, key: &str) -> Result<(), StoreError>;

    /// How many entries are under `prefix`, the call's own writes
    /// included (host `count`: no value is read).
    fn count(&mut self, prefix: &str) -> Result<u32, StoreError>;

    /// The first `limit` entries under `prefix` decoded, in key order.
    fn first_json<T: DeserializeOwned>(
        &mut self,
        prefix: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<(String, T)>, StoreError>
    where
        Self: Sized,
    {
        self.list_after(prefix, after, limit)?
            .into_iter()
            .map(|(key, text)| decode(&key, &text).map(|value| (key, value)))
            .collect()
    }

    /// Every entry under `prefix`, page after page.
    fn list_all(&mut self, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
        let mut all: Vec<(String, String)> = Vec::new();
        loop {
            let after = all.last().map(|(key, _)| key.clone()).unwrap_or_default();
            let page = self.list_after(prefix, &after, 500)?;
            let last = page.len() < 500;
            all.extend(page);
            if last {
                return Ok(all);
            }
        }
    }

    fn get_json<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<T>, StoreError>
    where
        Self: Sized,
    {
        self.get(key)?.map(|text| decode(key, &text)).transpose()
    }

    fn put_json<T: Serialize>(&mut self, key: &str, value: &T) -> Result<(), StoreError>
    where
        Self: Sized,
    {
        let text = serde_json::to_string(value)
            .map_err(|error| StoreError(format!("cannot encode `{key}`: {error}")))?;
        self.put(key, text)
    }

    fn list_json<T: DeserializeOwned>(
        &mut self,
        prefix: &str,
    ) -> Result<Vec<(String, T)>, StoreError>
    where
        Self: Sized,
    {
        self.list_all(prefix)?
            .into_iter()
            .map(|(key, text)| decode(&key, &text).map(|value| (key, value)))
            .collect()
    }
}

pub fn decode<T: DeserializeOwned>(key: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|error| StoreError(format!("stored `{key}`: {error}")))
}

/// The storage of the tests: a sorted map, recording the keys locked and
/// counting the writes (the host allows 100 per call).
#[derive(Debug, Default)]
pub struct MemoryStore {
    pub entries: BTreeMap<String, String>,
    pub locked: Vec<String>,
    pub writes: usize,
    /// Every call made, in order ("lock day:…", "get …", "put …"), to
    /// check that locks come before the reads they protect.
    pub calls: Vec<String>,
}

impl MemoryStore {
    /// A new call on the same data: no lock held, no write counted.
    pub fn next_call(&mut self) {
        self.locked.clear();
        self.writes = 0;
        self.calls.clear();
    }
}

impl Store for MemoryStore {
    fn get(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        self.calls.push(format!("get {key}"));
        Ok(self.entries.get(key).cloned())
    }

    fn put(&mut self, key: &str, value: String) -> Result<(), StoreError> {
        self.writes += 1;
        self.calls.push(format!("put {key}"));
        self.entries.insert(key.to_owned(), value);
        Ok(())
    }

    fn delete(&mut self, key: &str) -> Result<(), StoreError> {
        self.writes += 1;
        self.calls.push(format!("delete {key}"));
        self.entries.remove(key);
        Ok(())
    }

    fn list_after(
        &mut self,
        prefix: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.calls.push(format!("list {prefix}"));
        Ok(self
            .entries
            .range(prefix.to_owned()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .filter(|(key, _)| after.is_empty() || key.as_str() > after)
            .take(limit.min(500) as usize)
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect())
    }

    fn count(&mut self, prefix: &str) -> Result<u32, StoreError> {
        self.calls.push(format!("count {prefix}"));
        Ok(self
            .entries
            .range(prefix.to_owned()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .count() as u32)
    }

    fn lock(&mut self, key: &str) -> Result<(), StoreError> {
        if self.locked.len() >= 32 {
            return Err(StoreError("more than 32 locks".to_owned()));
        }
        self.calls.push(format!("lock {key}"));
        self.locked.push(key.to_owned());
        Ok(())
    }
}
