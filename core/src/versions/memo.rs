//! What pages computed, kept while the counters it was computed under
//! still hold.

use std::hash::Hash;
use std::sync::Mutex;

use hashlink::LruCache;

/// A bounded map of computed values, each with the counters it was
/// computed under. The least recently used entry goes first when it is
/// full; an entry whose counters moved is simply read again (and
/// replaced). Values are cloned out: keep them small or behind an `Arc`.
#[derive(Debug)]
pub struct Memo<K: Hash + Eq, V> {
    entries: Option<Mutex<LruCache<K, V>>>,
}

impl<K: Hash + Eq, V: Clone> Memo<K, V> {
    /// At most `capacity` entries; 0 keeps nothing (every read goes to the
    /// database, as without a memo).
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: (capacity > 0).then(|| Mutex::new(LruCache::new(capacity))),
        }
    }

    /// The entry of `key`, if `current` says it still holds.
    pub fn get(&self, key: &K, current: impl FnOnce(&V) -> bool) -> Option<V> {
        let mut entries = self.entries.as_ref()?.lock().ok()?;
        let value = entries.get(key)?;
        current(value).then(|| value.clone())
    }

    /// Keeps `value` for `key`, replacing what was there.
    pub fn put(&self, key: K, value: V) {
        if let Some(mut entries) = self
            .entries
            .as_ref()
            .and_then(|entries| entries.lock().ok())
        {
            entries.insert(key, value);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries
            .as_ref()
            .and_then(|entries| entries.lock().ok())
            .map_or(0, |entries| entries.len())
    }
}

impl<K: Hash + Eq, S: PartialEq + Clone, T: Clone> Memo<K, (S, T)> {
    /// The value kept for `key` under the counters `seen`; else what `read`
    /// gives, kept under them (`read` runs only then).
    pub async fn get_or_read<E>(
        &self,
        key: K,
        seen: S,
        read: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        if let Some((_, value)) = self.get(&key, |(kept, _)| *kept == seen) {
            return Ok(value);
        }
        let value = read.await?;
        self.put(key, (seen, value.clone()));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_serves_while_current_and_the_oldest_goes_first() {
        let memo: Memo<u32, (i64, &str)> = Memo::new(2);
        memo.put(1, (5, "one"));
        assert_eq!(memo.get(&1, |(version, _)| *version == 5), Some((5, "one")));
        assert_eq!(memo.get(&1, |(version, _)| *version == 6), None);
        memo.put(2, (1, "two"));
        memo.get(&1, |_| true);
        memo.put(3, (1, "three"));
        assert_eq!(memo.get(&2, |_| true), None, "the least recently used went");
        assert_eq!(memo.len(), 2);
        let off: Memo<u32, u32> = Memo::new(0);
        off.put(1, 1);
        assert_eq!(off.get(&1, |_| true), None);
    }
}
