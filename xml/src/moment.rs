//! The tree of a domain's snapshots (libvirt's "moments"): each names its parent; what
//! the list calls select of it, and what a delete removes and re-parents. Shared by
//! every driver that keeps snapshots (test, qemu), so both walk the tree alike.

use rvirt_protocol::facts::snapshot_list as list;

/// One node of the tree.
pub trait Moment {
    fn name(&self) -> &str;
    fn parent(&self) -> Option<&str>;
    fn set_parent(&mut self, parent: Option<String>);
}

/// Whether `name` has a child.
pub fn has_children<M: Moment>(all: &[M], name: &str) -> bool {
    all.iter().any(|m| m.parent() == Some(name))
}

/// The moments under `name`, parents before their children (depth first, each
/// level in the order of `all`).
pub fn descendants<'a, M: Moment>(all: &'a [M], name: &str) -> Vec<&'a M> {
    let mut out = Vec::new();
    for c in all.iter().filter(|m| m.parent() == Some(name)) {
        out.push(c);
        out.extend(descendants(all, c.name()));
    }
    out
}

/// Every moment, parents before their children (`VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL`).
pub fn topological<M: Moment>(all: &[M]) -> Vec<&M> {
    let known = |p: &str| all.iter().any(|m| m.name() == p);
    let mut out = Vec::with_capacity(all.len());
    for root in all.iter().filter(|m| m.parent().is_none_or(|p| !known(p))) {
        out.push(root);
        out.extend(descendants(all, root.name()));
    }
    out
}

/// What a list call selects: under `from` (a children call: direct children, every
/// descendant with `DESCENDANTS`) or of the whole tree (only roots with `ROOTS`); the
/// leaf and metadata filters of `flags`; `keep` for the driver's own filters (state,
/// location). Every moment here has metadata.
pub fn select<'a, M: Moment>(
    all: &'a [M],
    from: Option<&str>,
    flags: u32,
    keep: impl Fn(&M) -> bool,
) -> Vec<&'a M> {
    let pool: Vec<&M> = match from {
        Some(n) if flags & list::DESCENDANTS != 0 => descendants(all, n),
        Some(n) => all.iter().filter(|m| m.parent() == Some(n)).collect(),
        None if flags & list::ROOTS != 0 => all.iter().filter(|m| m.parent().is_none()).collect(),
        None => topological(all),
    };
    let leaf_filter = flags & (list::LEAVES | list::NO_LEAVES);
    let meta_filter = flags & (list::METADATA | list::NO_METADATA);
    pool.into_iter()
        .filter(|m| match leaf_filter {
            list::LEAVES => !has_children(all, m.name()),
            list::NO_LEAVES => has_children(all, m.name()),
            _ => true,
        })
        .filter(|_| meta_filter != list::NO_METADATA)
        .filter(|m| keep(m))
        .collect()
}

/// libvirt's state and location filters of a snapshot list: `state` is the snapshot's
/// `<state>` word, `external` whether its memory or a disk went to a new file.
pub fn snapshot_filter(flags: u32, state: &str, external: bool) -> bool {
    let states = flags & (list::INACTIVE | list::ACTIVE | list::DISK_ONLY);
    let by_state = states == 0
        || match state {
            "shutoff" => states & list::INACTIVE != 0,
            "disk-snapshot" => states & list::DISK_ONLY != 0,
            _ => states & list::ACTIVE != 0,
        };
    let places = flags & (list::INTERNAL | list::EXTERNAL);
    let by_place = places == 0
        || (external && places & list::EXTERNAL != 0)
        || (!external && places & list::INTERNAL != 0);
    by_state && by_place
}

/// The names a delete of `name` removes, children before parents: its descendants
/// with `children` or `children_only`, then itself unless `children_only`.
pub fn doomed<M: Moment>(
    all: &[M],
    name: &str,
    children: bool,
    children_only: bool,
) -> Vec<String> {
    let mut out: Vec<String> = if children || children_only {
        descendants(all, name)
            .iter()
            .rev()
            .map(|m| m.name().to_string())
            .collect()
    } else {
        Vec::new()
    };
    if !children_only {
        out.push(name.to_string());
    }
    out
}

/// Removes `gone` from `all`; the children of each removed moment go to its parent.
/// Answers the new current moment when `current` was removed: the deleted moment's
/// parent, or `name` itself when only its children went.
pub fn remove<M: Moment>(
    all: &mut Vec<M>,
    name: &str,
    gone: &[String],
    current: Option<&str>,
) -> Option<Option<String>> {
    let top_parent = all
        .iter()
        .find(|m| m.name() == name)
        .and_then(|m| m.parent().map(str::to_string));
    for g in gone {
        let Some(parent) = all
            .iter()
            .find(|m| m.name() == g)
            .map(|m| m.parent().map(str::to_string))
        else {
            continue;
        };
        for c in all.iter_mut().filter(|m| m.parent() == Some(g.as_str())) {
            c.set_parent(parent.clone());
        }
    }
    all.retain(|m| !gone.iter().any(|g| g == m.name()));
    let current = current?;
    if !gone.iter().any(|g| g == current) {
        return None;
    }
    Some(if gone.iter().any(|g| g == name) {
        top_parent
    } else {
        Some(name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct N(String, Option<String>);

    impl Moment for N {
        fn name(&self) -> &str {
            &self.0
        }
        fn parent(&self) -> Option<&str> {
            self.1.as_deref()
        }
        fn set_parent(&mut self, parent: Option<String>) {
            self.1 = parent;
        }
    }

    /// a ─ b ─ c, a ─ d
    fn tree() -> Vec<N> {
        let n = |a: &str, p: Option<&str>| N(a.into(), p.map(Into::into));
        vec![
            n("a", None),
            n("b", Some("a")),
            n("c", Some("b")),
            n("d", Some("a")),
        ]
    }

    fn names(v: Vec<&N>) -> Vec<&str> {
        v.into_iter().map(|m| m.name()).collect()
    }

    #[test]
    fn lists_select_like_libvirt() {
        let t = tree();
        assert_eq!(names(select(&t, None, 0, |_| true)), ["a", "b", "c", "d"]);
        assert_eq!(names(select(&t, None, list::ROOTS, |_| true)), ["a"]);
        assert_eq!(names(select(&t, None, list::LEAVES, |_| true)), ["c", "d"]);
        assert_eq!(
            names(select(&t, None, list::NO_LEAVES, |_| true)),
            ["a", "b"]
        );
        assert_eq!(
            select(&t, None, list::LEAVES | list::NO_LEAVES, |_| true).len(),
            4
        );
        assert!(select(&t, None, list::NO_METADATA, |_| true).is_empty());
        assert_eq!(names(select(&t, Some("a"), 0, |_| true)), ["b", "d"]);
        assert_eq!(
            names(select(&t, Some("a"), list::DESCENDANTS, |_| true)),
            ["b", "c", "d"]
        );
        assert!(snapshot_filter(list::INACTIVE, "shutoff", false));
        assert!(!snapshot_filter(list::ACTIVE, "shutoff", false));
        assert!(!snapshot_filter(list::EXTERNAL, "running", false));
    }

    #[test]
    fn delete_reparents_and_moves_current() {
        let mut t = tree();
        let gone = doomed(&t, "b", false, false);
        assert_eq!(gone, ["b"]);
        assert_eq!(
            remove(&mut t, "b", &gone, Some("b")),
            Some(Some("a".into()))
        );
        assert_eq!(t[1].parent(), Some("a"), "c moved up to a");
        let mut t = tree();
        let gone = doomed(&t, "a", false, true);
        assert_eq!(gone, ["d", "c", "b"]);
        assert_eq!(
            remove(&mut t, "a", &gone, Some("c")),
            Some(Some("a".into()))
        );
        assert_eq!(names(t.iter().collect()), ["a"]);
        let mut t = tree();
        let gone = doomed(&t, "a", true, false);
        assert_eq!(remove(&mut t, "a", &gone, Some("d")), Some(None));
        assert!(t.is_empty());
    }
}
