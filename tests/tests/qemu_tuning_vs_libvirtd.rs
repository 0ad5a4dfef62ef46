//! Tuning through the domain's cgroup against a real libvirtd 9.0 on the same machine:
//! the same firmware-only guest (running) and an inactive domain on both daemons;
//! virsh's `schedinfo`, `memtune`, `blkiotune` (get, set `--live`, set `--config`, bad
//! values, the inactive domain) and per-CPU `cpu-stats` print the same (time-dependent
//! numbers masked), the live and persistent XML carry the same tuning elements, each
//! QEMU sits in the same cgroups (`/proc/PID/cgroup`) whose files hold the same values,
//! and the group is gone once the guest stops.

use std::path::{Path, PathBuf};

use rvirt_tests::virsh::{masked, run as virsh, tiny_qemu_xml, VIRSH};
use rvirt_tests::{have_program, require_peer, Daemon, Libvirtd};

/// A block device of this machine, for the per-device throttles.
fn block_device() -> String {
    std::fs::read_dir("/sys/block")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| format!("/dev/{}", e.file_name().to_string_lossy()))
        .find(|p| Path::new(p).exists())
        .unwrap_or_else(|| "/dev/loop0".into())
}

/// The commands run against the running guest `g` and the inactive domain `i`; those
/// whose answers depend on time are masked.
fn commands(g: &str, i: &str, dev: &str) -> Vec<(Vec<String>, bool)> {
    let throttle = format!("{dev},1000000");
    let iops = format!("{dev},300");
    let list: Vec<(Vec<&str>, bool)> = vec![
        (vec!["schedinfo", g], false),
        (vec!["schedinfo", g, "--live"], false),
        (vec!["schedinfo", g, "--config"], false),
        (
            vec![
                "schedinfo",
                g,
                "--live",
                "cpu_shares=512",
                "vcpu_quota=50000",
                "vcpu_period=200000",
                "emulator_quota=30000",
                "global_quota=80000",
            ],
            false,
        ),
        (vec!["schedinfo", g, "--set", "emulator_period=4000"], false),
        (vec!["schedinfo", g, "--set", "vcpu_quota=5"], false),
        (vec!["schedinfo", g, "--set", "vcpu_period=5"], false),
        (
            vec!["schedinfo", g, "--set", "global_period=2000000"],
            false,
        ),
        (vec!["schedinfo", g, "--set", "cpu_shares=1"], false),
        (vec!["schedinfo", g, "--set", "cpu_shares=300000"], false),
        (vec!["schedinfo", g, "--set", "nosuch=1"], false),
        (vec!["schedinfo", g, "--set", "vcpu_quota=-1"], false),
        (
            vec!["schedinfo", g, "--set", "global_quota=18446744073709552"],
            false,
        ),
        (
            vec![
                "schedinfo",
                g,
                "--config",
                "cpu_shares=2048",
                "vcpu_period=300000",
                "emulator_quota=40000",
            ],
            false,
        ),
        (vec!["schedinfo", g, "--config"], false),
        (vec!["schedinfo", g], false),
        (vec!["memtune", g], false),
        (
            vec![
                "memtune",
                g,
                "--live",
                "--hard-limit",
                "1048576",
                "--soft-limit",
                "524288",
                "--swap-hard-limit",
                "2097152",
            ],
            false,
        ),
        (vec!["memtune", g, "--min-guarantee", "1000"], false),
        (
            vec!["memtune", g, "--live", "--hard-limit", "4000000"],
            false,
        ),
        (
            vec!["memtune", g, "--live", "--swap-hard-limit", "100"],
            false,
        ),
        (vec!["memtune", g, "--live", "--soft-limit", "-1"], false),
        (vec!["memtune", g], false),
        (
            vec!["memtune", g, "--config", "--hard-limit", "2000000"],
            false,
        ),
        (vec!["memtune", g, "--config"], false),
        (vec!["blkiotune", g], false),
        (vec!["blkiotune", g, "--live", "--weight", "500"], false),
        (
            vec![
                "blkiotune",
                g,
                "--live",
                "--device-read-bytes-sec",
                &throttle,
            ],
            false,
        ),
        (
            vec!["blkiotune", g, "--live", "--device-write-iops-sec", &iops],
            false,
        ),
        (
            vec![
                "blkiotune",
                g,
                "--live",
                "--device-read-bytes-sec",
                "/nonexistent,5",
            ],
            false,
        ),
        (vec!["blkiotune", g, "--config", "--weight", "300"], false),
        (
            vec![
                "blkiotune",
                g,
                "--config",
                "--device-write-bytes-sec",
                &throttle,
            ],
            false,
        ),
        (vec!["blkiotune", g, "--config"], false),
        (vec!["cpu-stats", g], true),
        (vec!["cpu-stats", g, "--start", "0", "--count", "1"], true),
        (vec!["schedinfo", i], false),
        (vec!["schedinfo", i, "--live"], false),
        (vec!["schedinfo", i, "cpu_shares=100"], false),
        (vec!["schedinfo", i, "--live", "cpu_shares=100"], false),
        (vec!["memtune", i], false),
        (vec!["memtune", i, "--live"], false),
        (
            vec!["schedinfo", i, "vcpu_quota=60000", "emulator_period=50000"],
            false,
        ),
        (vec!["memtune", i, "--soft-limit", "4000000"], false),
        (vec!["memtune", i], false),
        (vec!["blkiotune", i], false),
        (
            vec!["blkiotune", i, "--device-write-bytes-sec", &throttle],
            false,
        ),
        (vec!["blkiotune", i], false),
        (vec!["cpu-stats", i], false),
    ];
    list.into_iter()
        .map(|(a, m)| (a.into_iter().map(String::from).collect(), m))
        .collect()
}

/// The tuning elements of a domain's XML, each on its lines.
fn tuning_xml(uri: &str, name: &str, inactive: bool) -> String {
    let mut args = vec!["dumpxml", name];
    if inactive {
        args.push("--inactive");
    }
    let (xml, err, code) = virsh(uri, &args);
    assert_eq!(code, 0, "{uri}: dumpxml {name}: {err}");
    let mut out = String::new();
    for tag in ["blkiotune", "memtune", "cputune", "resource"] {
        let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
        if let (Some(a), Some(b)) = (xml.find(&open), xml.find(&close)) {
            out += &xml[a..b + close.len()];
            out.push('\n');
        }
    }
    out
}

/// The hierarchy mounted for a `/proc/PID/cgroup` controller list (`""`: cgroup2).
fn mount_of(controllers: &str) -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let hit = if controllers.is_empty() {
            f.get(2) == Some(&"cgroup2")
        } else {
            f.get(2) == Some(&"cgroup")
                && controllers
                    .split(',')
                    .all(|c| f.get(3).is_some_and(|o| o.split(',').any(|x| x == c)))
        };
        hit.then(|| PathBuf::from(f[1]))
    })
}

/// `/proc/PID/cgroup` of QEMU (only the groups under the partition), and the values of
/// the tuning files in them.
fn cgroup_files(pid: u32) -> String {
    let text =
        std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("read /proc/PID/cgroup");
    let mut out = String::new();
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctl, path) = (f.next(), f.next().unwrap_or(""), f.next().unwrap_or(""));
        if !path.starts_with("/machine/") {
            continue;
        }
        out += &format!("{ctl}:{path}\n");
        let Some(mount) = mount_of(ctl) else { continue };
        let dir = mount.join(&path[1..]);
        let top = if dir.ends_with("emulator") {
            dir.parent().unwrap().to_path_buf()
        } else {
            dir.clone()
        };
        let files: &[&str] = &[
            "cpu.shares",
            "cpu.cfs_period_us",
            "cpu.cfs_quota_us",
            "cpu.weight",
            "cpu.max",
            "memory.limit_in_bytes",
            "memory.soft_limit_in_bytes",
            "memory.memsw.limit_in_bytes",
            "memory.max",
            "memory.high",
            "memory.swap.max",
            "blkio.weight",
            "blkio.throttle.read_bps_device",
            "blkio.throttle.write_iops_device",
            "io.max",
        ];
        for sub in ["", "emulator", "vcpu0"] {
            let d = top.join(sub);
            for file in files {
                if let Ok(v) = std::fs::read_to_string(d.join(file)) {
                    out += &format!("  {sub}/{file} = {}\n", v.trim());
                }
            }
        }
    }
    out
}

/// PIDs of processes whose command line mentions `guest=NAME,`.
fn qemu_pid(name: &str) -> u32 {
    let needle = format!("guest={name},");
    std::fs::read_dir("/proc")
        .expect("read /proc")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(&needle))
                .unwrap_or(false)
        })
        .expect("QEMU of the guest")
}

/// Everything one daemon shows: the transcript, the XML, the cgroup files, and whether
/// the group went with the guest.
fn session(uri: &str, docs: &[(PathBuf, String, bool)], dev: &str) -> (String, String, bool) {
    for (path, name, start) in docs {
        let (_, err, code) = virsh(uri, &["define", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{uri}: {err}");
        if *start {
            let (_, err, code) = virsh(uri, &["start", name]);
            assert_eq!(code, 0, "{uri}: {err}");
        }
    }
    let (g, i) = (&docs[0].1, &docs[1].1);
    let pid = qemu_pid(g);
    let mut out = String::new();
    for (args, mask) in commands(g, i, dev) {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let (stdout, stderr, code) = virsh(uri, &a);
        let text = format!("{stdout}{stderr}[{code}]\n");
        out += &format!(
            "$ {}\n{}",
            args.join(" "),
            if mask { masked(&text) } else { text }
        );
    }
    out += "-- live\n";
    out += &tuning_xml(uri, g, false);
    out += "-- persistent\n";
    out += &tuning_xml(uri, g, true);
    out += &tuning_xml(uri, i, true);
    let files = cgroup_files(pid);
    let groups: Vec<PathBuf> = files
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| {
            let (ctl, path) = l.split_once(':')?;
            Some(mount_of(ctl)?.join(&path[1..]))
        })
        .collect();
    virsh(uri, &["destroy", g]);
    let gone = groups.iter().all(|d| !d.exists());
    // Started again, each domain gets the tuning of its definition (the guest's blkio
    // weight cannot be had here: its start fails).
    let mut files = files;
    for name in [g, i] {
        let (stdout, stderr, code) = virsh(uri, &["start", name]);
        // (an error names QEMU's pid)
        out += &masked(&format!("$ start {name}\n{stdout}{stderr}[{code}]\n"));
        if code == 0 {
            files += &cgroup_files(qemu_pid(name));
            virsh(uri, &["destroy", name]);
        }
    }
    for (_, name, _) in docs {
        virsh(uri, &["undefine", name]);
    }
    (out, files, gone)
}

#[test]
fn tuning_matches_libvirtd() {
    if !rvirt_tests::require_qemu() || !require_peer("virsh (libvirt-clients)", have_program(VIRSH))
    {
        return;
    }
    let Some(libvirtd) = Libvirtd::start_for_guests() else {
        return;
    };
    let rvirtd = Daemon::start("");
    let pid = std::process::id();
    let (run, idle) = (format!("rvqtu{pid}"), format!("rvqti{pid}"));
    let docs: Vec<(PathBuf, String, bool)> = [
        (&run, "6d3a1f52-5d0e-4b9c-9e61-3c1f7a2b9f01", true),
        (&idle, "6d3a1f52-5d0e-4b9c-9e61-3c1f7a2b9f02", false),
    ]
    .iter()
    .map(|(name, uuid, start)| {
        let path = rvirtd.dir.0.join(format!("{name}.xml"));
        let xml = tiny_qemu_xml(name).replace("<name>", &format!("<uuid>{uuid}</uuid><name>"));
        std::fs::write(&path, xml).unwrap();
        (path, name.to_string(), *start)
    })
    .collect();
    let dev = block_device();
    let theirs = session(&libvirtd.uri("qemu", "system"), &docs, &dev);
    let ours = session(&rvirtd.uri("qemu:///system"), &docs, &dev);
    assert!(
        theirs.1.contains("/machine/"),
        "libvirtd's QEMU is in no group of its own: {}",
        theirs.1
    );
    assert!(
        ["/cpu.shares = 512", "/cpu.weight = 512"]
            .iter()
            .any(|f| theirs.1.contains(f)),
        "the shares set are not in libvirtd's group: {}",
        theirs.1
    );
    assert!(
        theirs.0.contains("Domain 'rvqtiN' started") && theirs.1.contains("shares = 100"),
        "the inactive domain did not start with its tuning on libvirtd: {}",
        theirs.1
    );
    assert_eq!(
        ours.0, theirs.0,
        "virsh through rvirtd, then through libvirtd"
    );
    assert_eq!(
        ours.1, theirs.1,
        "cgroups of rvirtd's QEMU, then libvirtd's"
    );
    assert!(theirs.2, "libvirtd left the group behind");
    assert!(ours.2, "rvirtd left the group behind");
}
