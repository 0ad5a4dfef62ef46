//! Each guest's QEMU in a cgroup of its own when no systemd scope holds it, laid out as
//! libvirt 9.0 lays it out without systemd-machined: partition `/machine`, domain group
//! `qemu-ID-NAME.libvirt-qemu`, and in the controllers that act on threads (cpu,
//! cpuacct, cpuset and the unified hierarchy) an `emulator` group for QEMU's own threads
//! and a `vcpuN` group for each vCPU thread.
//!
//! With cgroup v1 every controller has its own mount; a unified (v2) hierarchy mounted
//! beside them (hybrid) takes cpu accounting, as libvirt's v2 backend does. With
//! cgroup v2 alone, the domain group is a threaded domain and its children threaded.
//! The layout is found again from the paths, so nothing is stored per run.

pub mod api;
pub mod calls;
pub mod memblk;
pub mod percpu;
pub mod xml;

use std::path::{Path, PathBuf};

use crate::error::{QResult, QemuError};

/// The partition libvirt uses without machined.
pub const PARTITION: &str = "/machine";

/// A cgroup controller as libvirt names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ctl {
    Cpu,
    Cpuacct,
    Cpuset,
    Memory,
    Blkio,
    Freezer,
}

impl Ctl {
    const V1: [Ctl; 6] = [
        Ctl::Cpu,
        Ctl::Cpuacct,
        Ctl::Cpuset,
        Ctl::Memory,
        Ctl::Blkio,
        Ctl::Freezer,
    ];

    fn v1_name(self) -> &'static str {
        match self {
            Ctl::Cpu => "cpu",
            Ctl::Cpuacct => "cpuacct",
            Ctl::Cpuset => "cpuset",
            Ctl::Memory => "memory",
            Ctl::Blkio => "blkio",
            Ctl::Freezer => "freezer",
        }
    }

    /// The controller's name in a v2 `cgroup.controllers`.
    fn v2_name(self) -> Option<&'static str> {
        match self {
            Ctl::Cpu => Some("cpu"),
            Ctl::Cpuset => Some("cpuset"),
            Ctl::Memory => Some("memory"),
            Ctl::Blkio => Some("io"),
            Ctl::Cpuacct | Ctl::Freezer => None,
        }
    }

    /// Controllers whose groups hold threads: QEMU goes into `emulator`.
    fn per_thread(self) -> bool {
        matches!(self, Ctl::Cpu | Ctl::Cpuacct | Ctl::Cpuset)
    }
}

/// The mounted hierarchies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mounts {
    /// v1 controllers and their mount points.
    pub v1: Vec<(Ctl, PathBuf)>,
    /// The cgroup2 mount, alone or beside v1 ones.
    pub unified: Option<PathBuf>,
}

impl Mounts {
    /// Reads `/proc/self/mounts`.
    pub fn detect() -> Mounts {
        let text = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        Mounts::parse(&text)
    }

    fn parse(text: &str) -> Mounts {
        let mut m = Mounts::default();
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 4 {
                continue;
            }
            let (dir, kind, opts) = (PathBuf::from(f[1]), f[2], f[3]);
            if kind == "cgroup2" && m.unified.is_none() {
                m.unified = Some(dir);
            } else if kind == "cgroup" {
                for c in Ctl::V1 {
                    let on = opts.split(',').any(|o| o == c.v1_name());
                    if on && !m.v1.iter().any(|(x, _)| *x == c) {
                        m.v1.push((c, dir.clone()));
                    }
                }
            }
        }
        m
    }

    /// Whether only cgroup v2 is there.
    pub fn v2_only(&self) -> bool {
        self.v1.is_empty() && self.unified.is_some()
    }

    /// Where controller `c` is handled: a v1 mount, or the unified hierarchy (libvirt's
    /// v2 backend takes cpu accounting whenever a unified hierarchy is mounted, and the
    /// controllers it lists when it is alone).
    pub fn place(&self, c: Ctl) -> Option<(PathBuf, bool)> {
        if let Some(u) = &self.unified {
            if c == Ctl::Cpuacct {
                return Some((u.clone(), true));
            }
            if self.v2_only() {
                let have = std::fs::read_to_string(u.join("cgroup.controllers")).ok()?;
                let name = c.v2_name()?;
                return have
                    .split_whitespace()
                    .any(|x| x == name)
                    .then(|| (u.clone(), true));
            }
        }
        self.v1
            .iter()
            .find(|(x, _)| *x == c)
            .map(|(_, d)| (d.clone(), false))
    }
}

/// The domain group's name: `qemu-ID-NAME.libvirt-qemu`, NAME in the characters libvirt
/// keeps for machine names (letters, digits, `-`, `_`, `.`; no `..`), 64 at most with
/// `qemu-ID-`.
pub fn group_name(id: i32, name: &str) -> String {
    let mut m = format!("qemu-{id}-");
    for c in name.chars() {
        if m.len() >= 64 {
            break;
        }
        if c.is_ascii_alphanumeric() || "-_".contains(c) || (c == '.' && !m.ends_with('.')) {
            m.push(c);
        }
    }
    let m = m.trim_end_matches('-');
    format!("{m}.libvirt-qemu")
}

/// The group of one running domain.
#[derive(Debug, Clone)]
pub struct Group {
    pub mounts: Mounts,
    /// Path of the domain group inside each hierarchy, e.g. `machine/qemu-1-g.libvirt-qemu`.
    pub rel: PathBuf,
}

impl Group {
    /// The group domain `id` named `name` has (or would have).
    pub fn of(id: i32, name: &str) -> Group {
        Group {
            mounts: Mounts::detect(),
            rel: Path::new(&PARTITION[1..]).join(group_name(id, name)),
        }
    }

    /// The domain group's directory for controller `c`, when it is there; `sub` names a
    /// thread group (`emulator`, `vcpu0`).
    pub fn dir(&self, c: Ctl, sub: Option<&str>) -> Option<PathBuf> {
        let (mount, _) = self.mounts.place(c)?;
        let mut d = mount.join(&self.rel);
        if let Some(s) = sub {
            d.push(s);
        }
        d.is_dir().then_some(d)
    }

    /// Every hierarchy the group lives in: (mount, threads go in subgroups, is v2).
    fn hierarchies(&self) -> Vec<(PathBuf, bool, bool)> {
        let mut out: Vec<(PathBuf, bool, bool)> = Vec::new();
        for c in Ctl::V1 {
            if let Some((m, v2)) = self.mounts.place(c) {
                if let Some(h) = out.iter_mut().find(|h| h.0 == m) {
                    h.1 |= c.per_thread() || v2;
                } else {
                    out.push((m, c.per_thread() || v2, v2));
                }
            }
        }
        out
    }

    /// Makes the group, moves QEMU `pid` in (its threads into `emulator` where
    /// threads count) and each vCPU thread `(index, tid)` into `vcpuN`.
    pub fn create(&self, pid: i32, vcpus: &[(u32, i64)]) -> QResult<()> {
        for (mount, threads, v2) in self.hierarchies() {
            let top = mount.join(&self.rel);
            make_dir(&mount, &top, v2)?;
            if !threads {
                write(&top.join("cgroup.procs"), &pid.to_string())?;
                continue;
            }
            let emulator = top.join("emulator");
            make_dir(&mount, &emulator, v2)?;
            if v2 {
                enable_threaded(&top, &emulator)?;
            }
            write(&emulator.join("cgroup.procs"), &pid.to_string())?;
            for (i, tid) in vcpus {
                let g = top.join(format!("vcpu{i}"));
                make_dir(&mount, &g, v2)?;
                let file = if v2 {
                    enable_threaded(&top, &g)?;
                    "cgroup.threads"
                } else {
                    "tasks"
                };
                write(&g.join(file), &tid.to_string())?;
            }
        }
        Ok(())
    }

    /// Removes the group and its thread groups (QEMU has gone).
    pub fn remove(&self) {
        for (mount, _, _) in self.hierarchies() {
            let top = mount.join(&self.rel);
            if let Ok(rd) = std::fs::read_dir(&top) {
                for e in rd.flatten() {
                    if e.path().is_dir() {
                        let _ = std::fs::remove_dir(e.path());
                    }
                }
            }
            let _ = std::fs::remove_dir(&top);
        }
    }

    /// The thread groups of the domain group in controller `c` whose names start with
    /// `prefix` (`vcpu`, `iothread`), sorted by number.
    pub fn subgroups(&self, c: Ctl, prefix: &str) -> Vec<PathBuf> {
        let Some(top) = self.dir(c, None) else {
            return Vec::new();
        };
        let mut v: Vec<(u32, PathBuf)> = std::fs::read_dir(&top)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let n = e.file_name().to_str()?.strip_prefix(prefix)?.parse().ok()?;
                Some((n, e.path()))
            })
            .collect();
        v.sort();
        v.into_iter().map(|(_, p)| p).collect()
    }
}

/// `mkdir` of `dir` and the groups above it under `mount`; cpuset groups get their
/// parent's CPUs and memory nodes, v2 groups the parent's controllers enabled.
fn make_dir(mount: &Path, dir: &Path, v2: bool) -> QResult<()> {
    let rel = dir.strip_prefix(mount).unwrap_or(dir);
    let mut at = mount.to_path_buf();
    for part in rel.components() {
        let parent = at.clone();
        at.push(part);
        if v2 && !at.ends_with("emulator") && !is_thread_group(&at) {
            enable_all(&parent);
        }
        if !at.is_dir() {
            std::fs::create_dir(&at)
                .map_err(|e| QemuError::io(format!("Unable to create '{}'", at.display()), &e))?;
        }
        for f in ["cpuset.cpus", "cpuset.mems"] {
            let mine = at.join(f);
            let empty = std::fs::read_to_string(&mine).is_ok_and(|t| t.trim().is_empty());
            if empty && !v2 {
                if let Ok(t) = std::fs::read_to_string(parent.join(f)) {
                    let _ = std::fs::write(&mine, t.trim());
                }
            }
        }
    }
    Ok(())
}

fn is_thread_group(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("vcpu") || n.starts_with("iothread"))
}

/// Turns on in `dir`'s children every controller `dir` has (v2), one at a time so that
/// one the kernel refuses does not keep the others off.
fn enable_all(dir: &Path) {
    let have = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    for c in have.split_whitespace() {
        let _ = std::fs::write(dir.join("cgroup.subtree_control"), format!("+{c}"));
    }
}

/// Makes `child` of domain group `top` threaded (v2), with the thread controllers on.
fn enable_threaded(top: &Path, child: &Path) -> QResult<()> {
    for c in ["cpu", "cpuset"] {
        let _ = std::fs::write(top.join("cgroup.subtree_control"), format!("+{c}"));
    }
    let kind = std::fs::read_to_string(child.join("cgroup.type")).unwrap_or_default();
    if kind.trim() != "threaded" {
        write(&child.join("cgroup.type"), "threaded")?;
    }
    Ok(())
}

/// Writes a cgroup file, failing as libvirt's `virCgroupSetValueRaw` does.
pub fn write(path: &Path, value: &str) -> QResult<()> {
    std::fs::write(path, value).map_err(|e| {
        let what = if e.raw_os_error() == Some(nix::libc::EINVAL) {
            let file = path.file_name().unwrap_or_default().to_string_lossy();
            format!("Invalid value '{value}' for '{file}'")
        } else {
            format!("Unable to write to '{}'", path.display())
        };
        QemuError::io(what, &e).into()
    })
}

/// Reads a cgroup file, trimmed.
pub fn read(path: &Path) -> QResult<String> {
    std::fs::read_to_string(path)
        .map(|t| t.trim().to_string())
        .map_err(|e| QemuError::io(format!("Unable to read from '{}'", path.display()), &e).into())
}

/// Reads a number from a cgroup file.
pub fn read_num<T: std::str::FromStr>(path: &Path) -> QResult<T> {
    let t = read(path)?;
    t.parse().map_err(|_| {
        QemuError::Internal(format!(
            "Unable to parse '{t}' as an integer in '{}'",
            path.display()
        ))
        .into()
    })
}

/// Raises the locked-memory limit of QEMU `pid` to the definition's `<memtune>` hard limit,
/// as libvirt 9.0 does when one is set, failing the start with libvirt's message.
pub fn limit_memlock(pid: i32, def: &rvirt_xml::domain::DomainDef) -> QResult<()> {
    let Some(kib) = xml::get(def, "memtune", "hard_limit").and_then(|t| t.parse::<u64>().ok())
    else {
        return Ok(());
    };
    let bytes = kib.saturating_mul(1024);
    let limit = nix::libc::rlimit {
        rlim_cur: bytes,
        rlim_max: bytes,
    };
    // SAFETY: prlimit reads `limit` and writes nothing (the old-limit pointer is null).
    let rc =
        unsafe { nix::libc::prlimit(pid, nix::libc::RLIMIT_MEMLOCK, &limit, std::ptr::null_mut()) };
    if rc == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    Err(QemuError::Internal(format!(
        "Process exited prior to exec: libvirt:  error : cannot limit locked memory of process {pid} to {bytes}: {}",
        crate::error::strerror(&e)
    ))
    .into())
}

/// Puts a freshly started QEMU (`-S`: vCPUs made, not running) in its group and applies
/// the tuning of its definition, unless no cgroup hierarchy is mounted. A group that
/// cannot be made is logged and the guest runs on in the daemon's group; tuning that
/// cannot be applied fails the start, as libvirt's. Whether QEMU is in its group.
pub fn place(
    id: i32,
    def: &rvirt_xml::domain::DomainDef,
    pid: i32,
    qmp: &crate::qmp::Qmp,
) -> QResult<bool> {
    let g = Group::of(id, &def.name);
    if g.mounts.v1.is_empty() && g.mounts.unified.is_none() {
        return Ok(false);
    }
    let vcpus: Vec<(u32, i64)> = crate::stats::monitor::vcpus(qmp)
        .unwrap_or_default()
        .into_iter()
        .map(|v| (v.index, v.thread))
        .collect();
    if let Err(e) = g.create(pid, &vcpus) {
        tracing::warn!(
            "cannot put guest '{}' in a cgroup of its own: {}",
            def.name,
            e.message.as_deref().unwrap_or_default()
        );
        g.remove();
        return Ok(false);
    }
    memblk::apply_def(&g, def)?;
    calls::apply_def(&g, def)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_libvirt() {
        assert_eq!(group_name(1, "web-1"), "qemu-1-web-1.libvirt-qemu");
        assert_eq!(group_name(2, "a b/c..d-"), "qemu-2-abc.d.libvirt-qemu");
        assert_eq!(
            group_name(3, &"x".repeat(90)).len(),
            64 + ".libvirt-qemu".len()
        );
    }

    /// The layout in plain directories standing for a v1 cpu and memory mount and a
    /// unified one (the kernel's files are ordinary files there).
    #[test]
    fn layout_as_libvirt() {
        let root = std::env::temp_dir().join(format!("rvirt-cgroup-{}", std::process::id()));
        let mount = |n: &str| {
            let d = root.join(n);
            std::fs::create_dir_all(&d).unwrap();
            d
        };
        let g = Group {
            mounts: Mounts {
                v1: vec![(Ctl::Cpu, mount("cpu")), (Ctl::Memory, mount("memory"))],
                unified: Some(mount("unified")),
            },
            rel: Path::new("machine").join(group_name(4, "g")),
        };
        g.create(77, &[(0, 78), (1, 79)]).unwrap();
        let at = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
        let top = "machine/qemu-4-g.libvirt-qemu";
        assert_eq!(at(&format!("cpu/{top}/emulator/cgroup.procs")), "77");
        assert_eq!(at(&format!("cpu/{top}/vcpu1/tasks")), "79");
        assert_eq!(at(&format!("memory/{top}/cgroup.procs")), "77");
        assert!(!root.join(format!("memory/{top}/emulator")).exists());
        assert_eq!(at(&format!("unified/{top}/vcpu0/cgroup.threads")), "78");
        assert_eq!(at(&format!("unified/{top}/vcpu0/cgroup.type")), "threaded");
        assert_eq!(g.subgroups(Ctl::Cpu, "vcpu").len(), 2);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn hybrid_mounts() {
        let m = Mounts::parse(
            "cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\n\
             cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n\
             cgroup /sys/fs/cgroup/cpuacct cgroup rw,cpuacct 0 0\n\
             cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n",
        );
        assert!(!m.v2_only());
        assert_eq!(
            m.place(Ctl::Cpu),
            Some((PathBuf::from("/sys/fs/cgroup/cpu"), false))
        );
        assert_eq!(
            m.place(Ctl::Cpuacct),
            Some((PathBuf::from("/sys/fs/cgroup/unified"), true))
        );
        assert_eq!(m.place(Ctl::Blkio), None);
    }
}
