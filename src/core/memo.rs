//! What an isolate keeps between requests because deriving it again costs CPU (a user's
//! data key, a value already decrypted): a map with a ceiling that starts over when full,
//! so an isolate serving many users never grows without bound.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

pub struct Bounded<K, V> {
    map: HashMap<K, V>,
    max: usize,
}

impl<K: Eq + Hash, V> Bounded<K, V> {
    pub fn new(max: usize) -> Self {
        Bounded { map: HashMap::new(), max }
    }

    pub fn get<Q: Eq + Hash + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.map.get(key)
    }

    /// Adds or replaces `key`; a new key past the ceiling empties the memo first.
    pub fn insert(&mut self, key: K, value: V) {
        if self.map.len() >= self.max && !self.map.contains_key(&key) {
            self.map.clear();
        }
        self.map.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::Bounded;

    #[test]
    fn starts_over_past_its_ceiling_and_replaces_in_place() {
        let mut m = Bounded::new(2);
        m.insert("a", 1);
        m.insert("b", 2);
        m.insert("b", 3);
        assert_eq!((m.get("a"), m.get("b")), (Some(&1), Some(&3)), "a replacement is not a new key");
        m.insert("c", 4);
        assert_eq!((m.get("a"), m.get("b"), m.get("c")), (None, None, Some(&4)));
    }
}
