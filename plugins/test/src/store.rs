//! An indexed object table: entries are boxed, kept in definition order, and found by
//! name, UUID or (for running domains) id in O(1); removal is O(log n).
//!
//! Mutable access through [`Store::get_mut`] / `IndexMut` must not change an entry's
//! name, UUID or live id; changes to those go through [`Store::update`], which re-indexes.

use std::collections::{BTreeMap, HashMap};
use std::ops::{Index, IndexMut};

/// What a [`Store`] indexes its entries by.
pub trait Keyed {
    fn name(&self) -> &str;
    fn uuid(&self) -> &[u8; 16];
    /// The id the entry can be looked up by, while it has one (a running domain).
    fn live_id(&self) -> Option<i32> {
        None
    }
}

/// A stable handle to one entry: its definition sequence number, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(u64);

#[derive(Debug)]
pub struct Store<T> {
    next: u64,
    entries: BTreeMap<u64, Box<T>>,
    by_name: HashMap<String, u64>,
    by_uuid: HashMap<[u8; 16], u64>,
    by_id: HashMap<i32, u64>,
}

impl<T> Default for Store<T> {
    fn default() -> Self {
        Store {
            next: 0,
            entries: BTreeMap::new(),
            by_name: HashMap::new(),
            by_uuid: HashMap::new(),
            by_id: HashMap::new(),
        }
    }
}

impl<T: Keyed> Store<T> {
    pub fn new() -> Self {
        Self::default()
    }

    #[cfg_attr(not(test), allow(dead_code))]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg_attr(not(test), allow(dead_code))]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in definition order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.entries.values().map(|b| &**b)
    }

    /// Appends an entry. Its name and UUID must not be in use (callers check for clashes
    /// first, with libvirt's error texts).
    pub fn insert(&mut self, v: T) -> Key {
        let k = self.next;
        self.next += 1;
        debug_assert!(!self.by_name.contains_key(v.name()), "duplicate name");
        debug_assert!(!self.by_uuid.contains_key(v.uuid()), "duplicate uuid");
        self.by_name.insert(v.name().to_string(), k);
        self.by_uuid.insert(*v.uuid(), k);
        if let Some(id) = v.live_id() {
            self.by_id.insert(id, k);
        }
        self.entries.insert(k, Box::new(v));
        Key(k)
    }

    /// Removes an entry and its index entries.
    pub fn remove(&mut self, k: Key) -> Option<Box<T>> {
        let v = self.entries.remove(&k.0)?;
        self.unindex(k.0, &v);
        Some(v)
    }

    fn unindex(&mut self, k: u64, v: &T) {
        if self.by_name.get(v.name()) == Some(&k) {
            self.by_name.remove(v.name());
        }
        if self.by_uuid.get(v.uuid()) == Some(&k) {
            self.by_uuid.remove(v.uuid());
        }
        if let Some(id) = v.live_id() {
            if self.by_id.get(&id) == Some(&k) {
                self.by_id.remove(&id);
            }
        }
    }

    pub fn get(&self, k: Key) -> Option<&T> {
        self.entries.get(&k.0).map(|b| &**b)
    }

    /// Mutable access that must keep name, UUID and live id (see [`Store::update`]).
    pub fn get_mut(&mut self, k: Key) -> Option<&mut T> {
        self.entries.get_mut(&k.0).map(|b| &mut **b)
    }

    /// Changes an entry in a way that may change its name, UUID or live id, and
    /// re-indexes it. Panics when `k` is not in the store.
    pub fn update<R>(&mut self, k: Key, f: impl FnOnce(&mut T) -> R) -> R {
        let entry = self.entries.get_mut(&k.0).expect("store key");
        let old_id = entry.live_id();
        let r = f(entry);
        let (new_id, name_ok, uuid_ok) = (
            entry.live_id(),
            self.by_name.get(entry.name()) == Some(&k.0),
            self.by_uuid.get(entry.uuid()) == Some(&k.0),
        );
        if old_id != new_id {
            if let Some(id) = old_id {
                if self.by_id.get(&id) == Some(&k.0) {
                    self.by_id.remove(&id);
                }
            }
            if let Some(id) = new_id {
                self.by_id.insert(id, k.0);
            }
        }
        // Renames are rare: drop the stale index entry by scanning, then re-add.
        if !name_ok {
            self.by_name.retain(|_, v| *v != k.0);
            self.by_name.insert(entry.name().to_string(), k.0);
        }
        if !uuid_ok {
            self.by_uuid.retain(|_, v| *v != k.0);
            self.by_uuid.insert(*entry.uuid(), k.0);
        }
        r
    }

    pub fn key_by_name(&self, name: &str) -> Option<Key> {
        self.by_name.get(name).map(|&k| Key(k))
    }

    pub fn key_by_uuid(&self, uuid: &[u8; 16]) -> Option<Key> {
        self.by_uuid.get(uuid).map(|&k| Key(k))
    }

    pub fn key_by_id(&self, id: i32) -> Option<Key> {
        self.by_id.get(&id).map(|&k| Key(k))
    }

    pub fn by_name(&self, name: &str) -> Option<&T> {
        self.key_by_name(name).and_then(|k| self.get(k))
    }

    pub fn by_uuid(&self, uuid: &[u8; 16]) -> Option<&T> {
        self.key_by_uuid(uuid).and_then(|k| self.get(k))
    }

    pub fn by_id(&self, id: i32) -> Option<&T> {
        self.key_by_id(id).and_then(|k| self.get(k))
    }

    /// Checks that every index agrees with the entries (for tests).
    #[cfg(test)]
    pub fn check_indexes(&self) {
        assert_eq!(self.by_name.len(), self.entries.len(), "name index size");
        assert_eq!(self.by_uuid.len(), self.entries.len(), "uuid index size");
        let mut ids = 0;
        for (k, v) in &self.entries {
            assert_eq!(self.by_name.get(v.name()), Some(k), "name index");
            assert_eq!(self.by_uuid.get(v.uuid()), Some(k), "uuid index");
            if let Some(id) = v.live_id() {
                ids += 1;
                assert_eq!(self.by_id.get(&id), Some(k), "id index");
            }
        }
        assert_eq!(self.by_id.len(), ids, "id index size");
    }
}

impl<T: Keyed> FromIterator<T> for Store<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut s = Store::new();
        for v in iter {
            s.insert(v);
        }
        s
    }
}

impl<T: Keyed> Index<Key> for Store<T> {
    type Output = T;

    fn index(&self, k: Key) -> &T {
        self.get(k).expect("store key")
    }
}

impl<T: Keyed> IndexMut<Key> for Store<T> {
    fn index_mut(&mut self, k: Key) -> &mut T {
        self.get_mut(k).expect("store key")
    }
}

/// Positional access in definition order (O(n); for tests and diagnostics).
impl<T: Keyed> Index<usize> for Store<T> {
    type Output = T;

    fn index(&self, i: usize) -> &T {
        self.iter().nth(i).expect("store position")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Obj {
        name: String,
        uuid: [u8; 16],
        id: Option<i32>,
    }

    impl Keyed for Obj {
        fn name(&self) -> &str {
            &self.name
        }
        fn uuid(&self) -> &[u8; 16] {
            &self.uuid
        }
        fn live_id(&self) -> Option<i32> {
            self.id
        }
    }

    fn obj(n: u8) -> Obj {
        Obj {
            name: format!("o{n}"),
            uuid: [n; 16],
            id: None,
        }
    }

    #[test]
    fn order_lookup_update_remove() {
        let mut s: Store<Obj> = (0..5).map(obj).collect();
        let k2 = s.key_by_name("o2").unwrap();
        assert_eq!(s.key_by_uuid(&[2; 16]), Some(k2));
        s.update(k2, |o| o.id = Some(7));
        assert_eq!(s.key_by_id(7), Some(k2));
        s.update(k2, |o| o.name = "renamed".into());
        assert!(s.key_by_name("o2").is_none());
        assert_eq!(s.key_by_name("renamed"), Some(k2));
        s.check_indexes();
        assert_eq!(s.remove(k2).unwrap().name, "renamed");
        assert!(s.key_by_id(7).is_none());
        assert!(s.remove(k2).is_none());
        s.insert(obj(2));
        let names: Vec<_> = s.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["o0", "o1", "o3", "o4", "o2"]);
        assert_eq!(s[1].name, "o1");
        assert_eq!(s.len(), 5);
        assert!(!s.is_empty() && Store::<Obj>::new().is_empty());
        s.check_indexes();
    }
}
