//! Kernel modules for the lab's initramfs: names, dependencies from `modules.dep`,
//! compressed module files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// A module's name as the kernel spells it: `dm-mod` → `dm_mod`.
pub(super) fn module_name(s: &str) -> String {
    let base = s.rsplit('/').next().unwrap_or(s);
    let base = [".ko.xz", ".ko.zst", ".ko.gz", ".ko"]
        .iter()
        .find_map(|e| base.strip_suffix(e))
        .unwrap_or(base);
    base.replace('-', "_")
}

/// The file name a module gets in the guest (always uncompressed).
pub(super) fn module_file_name(rel: &str) -> String {
    format!("{}.ko", module_name(rel))
}

/// The modules `names` and their dependencies (paths under the modules directory), each
/// after what it depends on; built-in modules and unknown names are left out (an unknown
/// name is reported by the guest's missing device, and printed here).
pub fn resolve_modules(modules_dir: &Path, names: &[String]) -> Vec<String> {
    let dep = std::fs::read_to_string(modules_dir.join("modules.dep")).unwrap_or_default();
    let mut deps: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for line in dep.lines() {
        let Some((m, d)) = line.split_once(':') else {
            continue;
        };
        deps.insert(
            module_name(m),
            (
                m.to_string(),
                d.split_whitespace().map(str::to_string).collect(),
            ),
        );
    }
    let builtin = std::fs::read_to_string(modules_dir.join("modules.builtin")).unwrap_or_default();
    let builtin: BTreeSet<String> = builtin.lines().map(module_name).collect();
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    fn visit(
        n: &str,
        deps: &BTreeMap<String, (String, Vec<String>)>,
        seen: &mut BTreeSet<String>,
        order: &mut Vec<String>,
    ) {
        if !seen.insert(n.to_string()) {
            return;
        }
        let Some((path, ds)) = deps.get(n) else {
            return;
        };
        for d in ds {
            visit(&module_name(d), deps, seen, order);
        }
        order.push(path.clone());
    }
    for n in names {
        let n = module_name(n);
        if !deps.contains_key(&n) && !builtin.contains(&n) {
            eprintln!(
                "lab: kernel module {n} not found in {}",
                modules_dir.display()
            );
        }
        visit(&n, &deps, &mut seen, &mut order);
    }
    order
}

/// A module file's bytes, decompressed when it is `.xz` or `.zst`.
pub(super) fn read_module(path: &Path) -> Vec<u8> {
    let s = path.to_string_lossy();
    let tool = if s.ends_with(".xz") {
        Some("xz")
    } else if s.ends_with(".zst") {
        Some("zstd")
    } else if s.ends_with(".gz") {
        Some("gzip")
    } else {
        None
    };
    match tool {
        None => std::fs::read(path).expect("read kernel module"),
        Some(t) => {
            let out = Command::new(t)
                .args(["-dc"])
                .arg(path)
                .output()
                .unwrap_or_else(|e| panic!("run {t} for {s}: {e}"));
            assert!(out.status.success(), "{t} -dc {s} failed");
            out.stdout
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TempDir;

    #[test]
    fn module_names_are_normalised() {
        assert_eq!(module_name("kernel/drivers/md/dm-mod.ko"), "dm_mod");
        assert_eq!(
            module_name("kernel/drivers/md/dm-thin-pool.ko.xz"),
            "dm_thin_pool"
        );
        assert_eq!(module_name("dm_mod"), "dm_mod");
        assert_eq!(module_file_name("a/b/dm-bufio.ko.zst"), "dm_bufio.ko");
    }

    #[test]
    fn dependencies_come_first() {
        let dir = TempDir::new("lab-deps");
        std::fs::write(
            dir.0.join("modules.dep"),
            "kernel/a/dm-thin-pool.ko.xz: kernel/a/dm-persistent-data.ko.xz kernel/a/dm-bio-prison.ko.xz kernel/a/dm-mod.ko.xz\n\
             kernel/a/dm-persistent-data.ko.xz: kernel/a/dm-bufio.ko.xz kernel/a/dm-mod.ko.xz\n\
             kernel/a/dm-bufio.ko.xz:\nkernel/a/dm-bio-prison.ko.xz: kernel/a/dm-mod.ko.xz\nkernel/a/dm-mod.ko.xz:\n",
        )
        .unwrap();
        std::fs::write(dir.0.join("modules.builtin"), "kernel/x/virtio.ko\n").unwrap();
        let got = resolve_modules(
            &dir.0,
            &["dm-thin-pool".into(), "dm_mod".into(), "virtio".into()],
        );
        assert_eq!(
            got,
            [
                "kernel/a/dm-bufio.ko.xz",
                "kernel/a/dm-mod.ko.xz",
                "kernel/a/dm-persistent-data.ko.xz",
                "kernel/a/dm-bio-prison.ko.xz",
                "kernel/a/dm-thin-pool.ko.xz",
            ]
        );
    }
}
