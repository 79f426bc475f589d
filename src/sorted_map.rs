//! A small map kept as a sorted list: the report's per-feature and per-member totals and the
//! key ring have a handful of keys each. Serializes as a JSON object in key order, like a
//! `BTreeMap`, with a fraction of the code in the WebAssembly build.

use serde::ser::{Serialize, SerializeMap, Serializer};

/// String keys in ascending order, each with a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortedMap<V>(Vec<(String, V)>);

impl<V> Default for SortedMap<V> {
    fn default() -> Self {
        SortedMap(Vec::new())
    }
}

impl<V> SortedMap<V> {
    pub fn new() -> Self {
        SortedMap::default()
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    /// The value for `key`, inserted with `V::default()` when absent.
    pub fn entry_or_default(&mut self, key: &str) -> &mut V
    where
        V: Default,
    {
        let i = match self.find(key) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (key.to_owned(), V::default()));
                i
            }
        };
        &mut self.0[i].1
    }

    pub fn insert(&mut self, key: &str, value: V) {
        match self.find(key) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (key.to_owned(), value)),
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<V> {
        self.find(key).ok().map(|i| self.0.remove(i).1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<V: Serialize> Serialize for SortedMap<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_keys_sorted_and_unique() {
        // Proves inserts in any order give one entry per key, in key order, like a BTreeMap.
        let mut m = SortedMap::new();
        for k in ["ben", "ana", "cy", "ana"] {
            *m.entry_or_default(k) += 1u64;
        }
        assert_eq!(
            m.iter().collect::<Vec<_>>(),
            vec![("ana", &2), ("ben", &1), ("cy", &1)]
        );
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"ana":2,"ben":1,"cy":1}"#
        );
        assert_eq!(m.remove("ben"), Some(1));
        assert_eq!(m.get("ben"), None);
    }
}
