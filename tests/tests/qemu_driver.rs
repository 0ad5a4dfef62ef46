//! The qemu driver module end to end: rvirtd with real `virsh`, real `qemu-system-x86_64`.
//! Tiny VMs boot nothing; that is enough for lifecycle and the monitor. A real guest
//! (Debian's kernel and a busybox initramfs the test writes) checks that a guest's own
//! poweroff and an ACPI `virsh shutdown` end the domain with the right events.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rvirt_tests::guest::{self, boot_timeout, guest_kvm};
use rvirt_tests::{have_program, require_peer, Daemon};

const QEMU: &str = "/usr/bin/qemu-system-x86_64";

fn peers_ok() -> bool {
    require_peer("virsh (libvirt-clients)", have_program(VIRSH))
        && require_peer("qemu-system-x86_64 (qemu-system-x86)", have_program(QEMU))
}

use rvirt_tests::virsh::{ok as virsh_ok, run as virsh, tiny_qemu_xml as tiny_xml, VIRSH};

/// PIDs of processes whose command line mentions `guest=NAME,`.
fn qemu_pids(name: &str) -> Vec<u32> {
    let needle = format!("guest={name},");
    std::fs::read_dir("/proc")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter(|pid| {
                    std::fs::read(format!("/proc/{pid}/cmdline"))
                        .map(|c| String::from_utf8_lossy(&c).contains(&needle))
                        .unwrap_or(false)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn wait_no_qemu(name: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !qemu_pids(name).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        qemu_pids(name).is_empty(),
        "qemu for {name} is still running"
    );
}

/// Kills any QEMU a failed test left behind.
struct Reaper(String);

impl Drop for Reaper {
    fn drop(&mut self) {
        for pid in qemu_pids(&self.0) {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
        }
    }
}

fn unique(tag: &str) -> String {
    format!("rvq{tag}{}", std::process::id())
}

#[test]
fn create_monitor_destroy() {
    if !peers_ok() {
        return;
    }
    let d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let name = unique("c");
    let _reaper = Reaper(name.clone());
    let xml_path = d.dir.0.join("dom.xml");
    std::fs::write(&xml_path, tiny_xml(&name)).unwrap();

    assert!(virsh_ok(&uri, &["uri"]).starts_with("qemu+unix:///system"));
    let out = virsh_ok(&uri, &["create", xml_path.to_str().unwrap()]);
    assert!(out.contains(&format!("Domain '{name}' created")), "{out}");
    assert_eq!(qemu_pids(&name).len(), 1);
    assert_eq!(
        virsh_ok(&uri, &["domstate", &name, "--reason"]).trim(),
        "running (booted)"
    );

    let out = virsh_ok(
        &uri,
        &[
            "qemu-monitor-command",
            &name,
            r#"{"execute":"query-status"}"#,
        ],
    );
    assert!(out.contains("\"running\""), "{out}");
    let out = virsh_ok(
        &uri,
        &["qemu-monitor-command", &name, "--hmp", "info status"],
    );
    assert!(out.contains("running"), "{out}");
    monitor_output_matches_virsh(&uri, &name);

    virsh_ok(&uri, &["suspend", &name]);
    assert_eq!(
        virsh_ok(&uri, &["domstate", &name, "--reason"]).trim(),
        "paused (user)"
    );
    virsh_ok(&uri, &["resume", &name]);
    assert_eq!(virsh_ok(&uri, &["domstate", &name]).trim(), "running");

    let xml = virsh_ok(&uri, &["dumpxml", &name]);
    assert!(
        xml.contains("<domain type=") && xml.contains(" id='"),
        "{xml}"
    );
    let list = virsh_ok(&uri, &["list"]);
    assert!(list.contains(&name), "{list}");
    let info = virsh_ok(&uri, &["dominfo", &name]);
    assert!(info.contains("Persistent:     no"), "{info}");

    let out = virsh_ok(&uri, &["destroy", &name]);
    assert!(out.contains("destroyed"), "{out}");
    wait_no_qemu(&name);
    let (_, err, code) = virsh(&uri, &["domstate", &name]);
    assert_ne!(code, 0, "transient domain must be gone after destroy");
    assert!(err.contains("failed to get domain"), "{err}");
}

/// rvirsh re-prints QMP replies as virsh does: `--pretty` beautified as libvirt's JSON
/// writer writes (empty arrays included), `--return-value` compact, both together.
fn monitor_output_matches_virsh(uri: &str, name: &str) {
    let rvirsh = rvirt_tests::target_dir().join("rvirsh");
    // Each reply carries the monitor's own command id, different on every call.
    let mask = |s: String| s.split("\"id\"").next().unwrap_or_default().to_string();
    for cmd in [
        r#"{"execute":"query-status"}"#,
        r#"{"execute":"query-iothreads"}"#,
        r#"{"execute":"query-cpus-fast"}"#,
        r#"{"execute":"query-name"}"#,
    ] {
        for flags in [
            &["--pretty"][..],
            &["--return-value"],
            &["--pretty", "--return-value"],
        ] {
            let mut args = vec!["qemu-monitor-command", name];
            args.extend_from_slice(flags);
            args.push(cmd);
            let theirs = virsh(uri, &args);
            let ours = rvirt_tests::virsh::run_with(&rvirsh, uri, &args);
            assert_eq!(theirs.2, 0, "virsh {args:?}: {}", theirs.1);
            assert_eq!(
                (mask(ours.0), ours.2),
                (mask(theirs.0), theirs.2),
                "rvirsh, then virsh: {args:?}"
            );
        }
    }
}

/// `<vcpu cpuset>` confines QEMU, every thread of it, to those host CPUs (set before
/// exec, as libvirt sets it); the definition keeps the list in canonical form.
#[test]
fn vcpu_cpuset_pins_qemu_to_its_cpus() {
    if !peers_ok() {
        return;
    }
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        eprintln!("skipped: needs two CPUs to pin to one of them");
        return;
    }
    let d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let name = unique("pin");
    let _reaper = Reaper(name.clone());
    let xml = tiny_xml(&name).replace("<vcpu>1</vcpu>", "<vcpu cpuset='0-1,^0'>1</vcpu>");
    let xml_path = d.dir.0.join("pinned.xml");
    std::fs::write(&xml_path, xml).unwrap();
    virsh_ok(&uri, &["create", xml_path.to_str().unwrap()]);
    let dump = virsh_ok(&uri, &["dumpxml", &name]);
    assert!(
        dump.contains("<vcpu placement='static' cpuset='1'>1</vcpu>"),
        "{dump}"
    );
    let pids = qemu_pids(&name);
    assert_eq!(pids.len(), 1);
    let tasks = std::fs::read_dir(format!("/proc/{}/task", pids[0])).unwrap();
    let mut seen = 0;
    for t in tasks.flatten() {
        let status = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
        let allowed = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .map(str::trim);
        assert_eq!(allowed, Some("1"), "thread {:?}", t.file_name());
        seen += 1;
    }
    assert!(seen > 1, "QEMU runs more than one thread");
    virsh_ok(&uri, &["destroy", &name]);
    wait_no_qemu(&name);
}

#[test]
fn persistent_define_start_destroy_undefine() {
    if !peers_ok() {
        return;
    }
    let d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let name = unique("p");
    let _reaper = Reaper(name.clone());
    let xml_path = d.dir.0.join("dom.xml");
    std::fs::write(&xml_path, tiny_xml(&name)).unwrap();

    virsh_ok(&uri, &["define", xml_path.to_str().unwrap()]);
    let cfg = d.dir.0.join(format!("state/qemu/{name}.xml"));
    assert!(cfg.is_file(), "persistent XML at {}", cfg.display());
    assert_eq!(virsh_ok(&uri, &["domstate", &name]).trim(), "shut off");
    let list = virsh_ok(&uri, &["list", "--all", "--inactive"]);
    assert!(list.contains(&name), "{list}");

    virsh_ok(&uri, &["start", &name]);
    assert_eq!(qemu_pids(&name).len(), 1);
    let id = virsh_ok(&uri, &["domid", &name]).trim().to_string();
    assert!(id.parse::<i32>().is_ok_and(|i| i > 0), "{id}");
    virsh_ok(&uri, &["autostart", &name]);
    assert!(virsh_ok(&uri, &["dominfo", &name]).contains("Autostart:      enable"));
    virsh_ok(&uri, &["autostart", "--disable", &name]);

    virsh_ok(&uri, &["destroy", &name]);
    wait_no_qemu(&name);
    assert_eq!(
        virsh_ok(&uri, &["domstate", &name, "--reason"]).trim(),
        "shut off (destroyed)"
    );

    virsh_ok(&uri, &["undefine", &name]);
    assert!(!cfg.exists());
    let (_, err, code) = virsh(&uri, &["domstate", &name]);
    assert!(code != 0 && err.contains("failed to get domain"), "{err}");
}

#[test]
fn host_information_and_native_argv() {
    if !peers_ok() {
        return;
    }
    let d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let version = virsh_ok(&uri, &["version"]);
    assert!(version.contains("Running hypervisor: QEMU "), "{version}");
    let caps = virsh_ok(&uri, &["capabilities"]);
    assert!(
        caps.contains("<arch name='x86_64'>") && caps.contains("pc-i440fx"),
        "{caps}"
    );
    let domcaps = virsh_ok(&uri, &["domcapabilities"]);
    assert!(
        domcaps.contains("<path>/usr/bin/qemu-system-x86_64</path>")
            && domcaps.contains("<machine>pc-i440fx-")
            && domcaps.contains("<arch>x86_64</arch>"),
        "{domcaps}"
    );
    // What the driver can do, as libvirt lists it: PCI hostdevs (a VFIO backend only where
    // the host has VFIO), SPICE beside VNC, emulated TPMs when swtpm is installed.
    let backend = if std::path::Path::new("/dev/vfio/vfio").exists() {
        "<enum name='pciBackend'>\n        <value>default</value>\n        <value>vfio</value>"
    } else {
        "<enum name='pciBackend'/>"
    };
    assert!(
        domcaps.contains(
            "<hostdev supported='yes'>\n      <enum name='mode'>\n        <value>subsystem</value>"
        ) && domcaps
            .contains("<enum name='subsysType'>\n        <value>pci</value>\n      </enum>")
            && domcaps.contains(backend)
            && domcaps.contains("<value>vnc</value>\n        <value>spice</value>"),
        "{domcaps}"
    );
    let swtpm = std::path::Path::new("/usr/bin/swtpm").exists();
    assert_eq!(
        domcaps.contains(
            "<tpm supported='yes'>\n      <enum name='model'>\n        <value>tpm-tis</value>"
        ),
        swtpm,
        "{domcaps}"
    );
    let q35 = virsh_ok(
        &uri,
        &["domcapabilities", "--machine", "q35", "--virttype", "qemu"],
    );
    assert!(
        q35.contains("<domain>qemu</domain>") && q35.contains("<machine>pc-q35-"),
        "{q35}"
    );
    let (_, err, code) = virsh(
        &uri,
        &["domcapabilities", "--emulatorbin", "/nonexistent/qemu"],
    );
    assert!(
        code != 0 && err.contains("Cannot check QEMU binary /nonexistent/qemu"),
        "{err}"
    );
    let node = virsh_ok(&uri, &["nodeinfo"]);
    assert!(node.contains("CPU(s):"), "{node}");
    assert!(!virsh_ok(&uri, &["hostname"]).trim().is_empty());

    let name = unique("n");
    let xml_path = d.dir.0.join("dom.xml");
    std::fs::write(&xml_path, tiny_xml(&name)).unwrap();
    let argv = virsh_ok(
        &uri,
        &["domxml-to-native", "qemu-argv", xml_path.to_str().unwrap()],
    );
    assert!(
        argv.starts_with("/usr/bin/qemu-system-x86_64 -name guest="),
        "{argv}"
    );
    assert!(
        argv.contains(" -S ") && argv.contains(" -nodefaults"),
        "{argv}"
    );
}

#[test]
fn crash_is_reported() {
    if !peers_ok() {
        return;
    }
    let d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let name = unique("k");
    let _reaper = Reaper(name.clone());
    let xml_path = d.dir.0.join("dom.xml");
    std::fs::write(&xml_path, tiny_xml(&name)).unwrap();
    virsh_ok(&uri, &["define", xml_path.to_str().unwrap()]);
    virsh_ok(&uri, &["start", &name]);
    for pid in qemu_pids(&name) {
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg(pid.to_string())
            .status();
    }
    wait_no_qemu(&name);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut state = String::new();
    while Instant::now() < deadline {
        state = virsh_ok(&uri, &["domstate", &name, "--reason"])
            .trim()
            .to_string();
        if state.starts_with("shut off") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(state, "shut off (crashed)");
    virsh_ok(&uri, &["undefine", &name]);
}

#[test]
fn lifecycle_events_reach_another_client() {
    if !peers_ok() {
        return;
    }
    let d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let name = unique("e");
    let _reaper = Reaper(name.clone());
    let xml_path = d.dir.0.join("dom.xml");
    // With on_reboot=destroy a reset would end the domain (as in libvirt).
    let xml = tiny_xml(&name).replace(
        "<on_reboot>destroy</on_reboot>",
        "<on_reboot>restart</on_reboot>",
    );
    std::fs::write(&xml_path, xml).unwrap();
    virsh_ok(&uri, &["define", xml_path.to_str().unwrap()]);
    let watcher = Command::new(VIRSH)
        .args(["-c", &uri, "event", "--all", "--loop", "--timeout", "8"])
        .env("LC_ALL", "C")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn virsh event");
    std::thread::sleep(Duration::from_millis(2000));
    virsh_ok(&uri, &["start", &name]);
    virsh_ok(&uri, &["suspend", &name]);
    virsh_ok(&uri, &["resume", &name]);
    virsh_ok(&uri, &["reset", &name]);
    virsh_ok(&uri, &["destroy", &name]);
    virsh_ok(&uri, &["start", &name]);
    for pid in qemu_pids(&name) {
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg(pid.to_string())
            .status();
    }
    let out = watcher.wait_with_output().expect("virsh event");
    let text = String::from_utf8_lossy(&out.stdout);
    let ev = |what: &str| format!("event '{what}' for domain '{name}'");
    // The sequence libvirt sends (tests/tests/qemu_events_vs_libvirtd.rs compares them).
    let expected = [
        format!("{}: Resumed Unpaused", ev("lifecycle")),
        format!("{}: Started Booted", ev("lifecycle")),
        format!("{}: Suspended Paused", ev("lifecycle")),
        format!("{}: Resumed Unpaused", ev("lifecycle")),
        ev("reboot"),
        format!("{}: Shutdown Finished after host request", ev("lifecycle")),
        format!("{}: Stopped Destroyed", ev("lifecycle")),
        format!("{}: Resumed Unpaused", ev("lifecycle")),
        format!("{}: Started Booted", ev("lifecycle")),
        format!("{}: Stopped Failed", ev("lifecycle")),
    ];
    let got: Vec<&str> = text.lines().filter(|l| l.starts_with("event '")).collect();
    assert_eq!(
        got,
        expected,
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    virsh_ok(&uri, &["undefine", &name]);
}

#[test]
fn restarted_daemon_reconnects_to_running_domain() {
    if !peers_ok() {
        return;
    }
    let shared = rvirt_tests::TempDir::new("qemu-shared");
    let extra = format!(
        "[drivers.qemu]\nstate_dir = \"{d}/state\"\nrun_dir = \"{d}/run\"\n",
        d = shared.0.display()
    );
    let name = unique("r");
    let _reaper = Reaper(name.clone());
    let mut first = Daemon::start(&extra);
    let xml_path = shared.0.join("dom.xml");
    std::fs::write(&xml_path, tiny_xml(&name)).unwrap();
    let uri = first.uri("qemu:///system");
    virsh_ok(&uri, &["create", xml_path.to_str().unwrap()]);
    let id = virsh_ok(&uri, &["domid", &name]).trim().to_string();
    let pids = qemu_pids(&name);
    assert_eq!(pids.len(), 1);
    assert!(shared.0.join(format!("run/{name}.xml")).is_file());
    first.stop();
    assert_eq!(qemu_pids(&name), pids, "QEMU outlives the daemon");

    let second = Daemon::start(&extra);
    let uri = second.uri("qemu:///system");
    assert_eq!(virsh_ok(&uri, &["domid", &name]).trim(), id);
    assert_eq!(virsh_ok(&uri, &["domstate", &name]).trim(), "running");
    let out = virsh_ok(
        &uri,
        &[
            "qemu-monitor-command",
            &name,
            r#"{"execute":"query-status"}"#,
        ],
    );
    assert!(out.contains("\"running\""), "{out}");
    virsh_ok(&uri, &["destroy", &name]);
    wait_no_qemu(&name);
    assert!(!shared.0.join(format!("run/{name}.xml")).exists());
}

/// Waits until a file mentions `needle`.
fn wait_for_text(path: &std::path::Path, needle: &str, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if std::fs::read_to_string(path).is_ok_and(|t| t.contains(needle)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Every file in the driver's state, run and log directories of a daemon started with
/// `Daemon::start("")`, relative to its state directory, logs left out.
fn driver_files(d: &Daemon) -> Vec<String> {
    fn walk(dir: &std::path::Path, base: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, base, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let base = d.dir.0.join("state/qemu");
    let mut out = Vec::new();
    walk(&base, &base, &mut out);
    out.retain(|f| !f.starts_with("log/"));
    out.sort();
    out
}

#[test]
fn bad_definitions_leave_nothing_behind() {
    if !peers_ok() {
        return;
    }
    let d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let name = unique("b");
    let _reaper = Reaper(name.clone());
    let base = tiny_xml(&name);
    let garbage = d.dir.0.join("not-a-qcow2.img");
    std::fs::write(&garbage, b"").unwrap();
    let with_device = |dev: &str| base.replace("<memballoon", &format!("{dev}<memballoon"));
    let cases: Vec<(&str, String, bool, Vec<String>)> = vec![
        (
            // Unknown elements are ignored like libvirt does; a known one with a bad
            // value is an XML error.
            "bad value in a known element",
            with_device("<frobnicator/><disk type='weird'><target dev='vdz'/></disk>"),
            false,
            vec!["XML error".into(), "'weird'".into()],
        ),
        (
            "missing emulator",
            base.replace(
                "/usr/bin/qemu-system-x86_64",
                "/nonexistent/bin/qemu-system-x86_64",
            ),
            false,
            vec![
                "Cannot check QEMU binary /nonexistent/bin/qemu-system-x86_64".into(),
                "No such file or directory".into(),
            ],
        ),
        (
            "missing disk source",
            with_device(
                "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
                 <source file='/nonexistent/rvirt-disk.qcow2'/><target dev='vda' bus='virtio'/></disk>",
            ),
            true,
            vec![
                "Cannot access storage file '/nonexistent/rvirt-disk.qcow2'".into(),
                "No such file or directory".into(),
            ],
        ),
        (
            "disk QEMU itself refuses",
            with_device(&format!(
                "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
                 <source file='{}'/><target dev='vda' bus='virtio'/></disk>",
                garbage.display()
            )),
            true,
            vec![
                "process exited while connecting to monitor".into(),
                "qcow2".into(),
            ],
        ),
    ];
    for (what, xml, definable, needles) in cases {
        let path = d.dir.0.join("bad.xml");
        std::fs::write(&path, &xml).unwrap();
        let (out, err, code) = virsh(&uri, &["create", path.to_str().unwrap()]);
        assert_ne!(code, 0, "{what}: create must fail: {out}");
        for n in &needles {
            assert!(err.contains(n.as_str()), "{what}: error lacks {n:?}: {err}");
        }
        assert!(!err.contains("XML error: XML error"), "{what}: {err}");
        let (out, err, code) = virsh(&uri, &["define", path.to_str().unwrap()]);
        if definable {
            assert_eq!(code, 0, "{what}: define: {err}{out}");
            let (_, err, code) = virsh(&uri, &["start", &name]);
            assert_ne!(code, 0, "{what}: start must fail");
            for n in &needles {
                assert!(err.contains(n.as_str()), "{what}: error lacks {n:?}: {err}");
            }
            assert_eq!(
                virsh_ok(&uri, &["domstate", &name]).trim(),
                "shut off",
                "{what}"
            );
            virsh_ok(&uri, &["undefine", &name]);
        } else {
            assert_ne!(code, 0, "{what}: define must fail: {out}");
            for n in &needles {
                assert!(err.contains(n.as_str()), "{what}: error lacks {n:?}: {err}");
            }
        }
        let (_, _, code) = virsh(&uri, &["domstate", &name]);
        assert_ne!(code, 0, "{what}: no domain may remain");
        assert!(
            qemu_pids(&name).is_empty(),
            "{what}: a QEMU was left running"
        );
        assert_eq!(
            driver_files(&d),
            Vec::<String>::new(),
            "{what}: files left behind"
        );
    }
}

#[test]
fn daemon_killed_with_sigkill_is_recovered() {
    if !peers_ok() {
        return;
    }
    let shared = rvirt_tests::TempDir::new("qemu-kill9");
    let extra = format!(
        "[drivers.qemu]\nstate_dir = \"{d}/state\"\nrun_dir = \"{d}/run\"\n",
        d = shared.0.display()
    );
    let name = unique("x");
    let _reaper = Reaper(name.clone());
    let mut first = Daemon::start(&extra);
    let xml_path = shared.0.join("dom.xml");
    std::fs::write(&xml_path, tiny_xml(&name)).unwrap();
    let uri = first.uri("qemu:///system");
    virsh_ok(&uri, &["define", xml_path.to_str().unwrap()]);
    virsh_ok(&uri, &["start", &name]);
    let id = virsh_ok(&uri, &["domid", &name]).trim().to_string();
    let pids = qemu_pids(&name);
    assert_eq!(pids.len(), 1);
    first.child.kill().expect("SIGKILL rvirtd");
    first.child.wait().expect("reap rvirtd");
    assert_eq!(qemu_pids(&name), pids, "QEMU outlives a killed daemon");

    let second = Daemon::start(&extra);
    let uri = second.uri("qemu:///system");
    let list = virsh_ok(&uri, &["list"]);
    let row = list
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(name.as_str()))
        .unwrap_or_else(|| panic!("{name} not listed: {list}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!((cols[0], cols[2]), (id.as_str(), "running"), "{list}");
    let out = virsh_ok(
        &uri,
        &[
            "qemu-monitor-command",
            &name,
            r#"{"execute":"query-status"}"#,
        ],
    );
    assert!(out.contains("\"running\""), "{out}");
    virsh_ok(&uri, &["destroy", &name]);
    wait_no_qemu(&name);
    assert_eq!(
        virsh_ok(&uri, &["domstate", &name, "--reason"]).trim(),
        "shut off (destroyed)"
    );
    assert!(!shared.0.join(format!("run/{name}.xml")).exists());
    virsh_ok(&uri, &["undefine", &name]);
}

// ---------------------------------------------------------------------------------------
// A real guest: Debian's kernel and a busybox initramfs this test writes itself.

/// What the guest is and needs; `None` (locally) when the kernel or busybox is missing.
fn guest_peers() -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    if !peers_ok() {
        return None;
    }
    guest::peers()
}

/// The guest's /init. It says it is up on the serial console, then either powers off at
/// once or (kernel parameter `rvirt_mode=acpi`) loads the ACPI power button driver and
/// waits for the button (QEMU's `system_powerdown`) before powering off. busybox's acpid
/// would do too; reading one input event from the button's device is all that is needed.
const GUEST_INIT: &str = r#"#!/bin/busybox sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox --install -s
echo "RVIRT-GUEST-UP $(uname -r)"
if grep -q rvirt_mode=acpi /proc/cmdline; then
    insmod /modules/evdev.ko
    insmod /modules/button.ko
    dev=
    for i in $(seq 1 100); do
        for n in /sys/class/input/event*; do
            if grep -q "Power Button" "$n/device/name" 2>/dev/null; then
                dev=/dev/input/${n##*/}
            fi
        done
        [ -n "$dev" ] && [ -c "$dev" ] && break
        sleep 0.1
    done
    echo "RVIRT-ACPI-READY $dev"
    dd if="$dev" of=/dev/null bs=24 count=1 2>/dev/null
    echo RVIRT-POWER-BUTTON
fi
echo RVIRT-POWEROFF
poweroff -f
"#;

/// Writes the initramfs: /init, busybox and its links, the two ACPI button modules.
fn build_initramfs(modules: &std::path::Path, out: &std::path::Path) {
    guest::build_initramfs(
        modules,
        out,
        GUEST_INIT,
        &[
            "sh", "mount", "echo", "grep", "insmod", "dd", "sleep", "seq",
        ],
        &[
            ("evdev.ko", "kernel/drivers/input/evdev.ko"),
            ("button.ko", "kernel/drivers/acpi/button.ko"),
        ],
    );
}

/// A guest booting `kernel` with `initrd`, serial console logged to `console`.
fn guest_xml(
    name: &str,
    kernel: &std::path::Path,
    initrd: &std::path::Path,
    console: &std::path::Path,
    mode: &str,
) -> String {
    let ty = if guest_kvm() { "kvm" } else { "qemu" };
    format!(
        "<domain type='{ty}'>
  <name>{name}</name>
  <memory unit='MiB'>192</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet rvirt_mode={mode}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'><source path='{console}'/><target port='0'/></serial>
    <console type='file'><source path='{console}'/><target type='serial' port='0'/></console>
    <memballoon model='none'/>
  </devices>
</domain>",
        kernel = kernel.display(),
        initrd = initrd.display(),
        console = console.display(),
    )
}

use rvirt_core::protocol::facts::domain_event::{
    DEFINED as EV_DEFINED, RESUMED as EV_RESUMED, SHUTDOWN as EV_SHUTDOWN,
    SHUTDOWN_GUEST as SHUTDOWN_FINISHED_GUEST, STARTED as EV_STARTED, STOPPED as EV_STOPPED,
    STOPPED_SHUTDOWN,
};

/// Collects lifecycle events `(event, detail)` for `name` until `last` shows or `timeout`.
fn events_until(
    c: &rvirt_core::Connect,
    name: &str,
    last: i32,
    timeout: Duration,
) -> Vec<(i32, i32)> {
    use rvirt_core::protocol as p;
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        let Ok(Some(ev)) = c.next_event(Duration::from_millis(200)) else {
            continue;
        };
        if let Ok(p::RemoteArgs::DomainEventCallbackLifecycle(m)) = ev.decode() {
            if m.msg.dom.name == name {
                seen.push((m.msg.event, m.msg.detail));
                if m.msg.event == last {
                    break;
                }
            }
        }
    }
    seen
}

fn lifecycle_listener(uri: &str) -> rvirt_core::Connect {
    use rvirt_core::protocol::{self as p, RemoteClient};
    let c = rvirt_core::Connect::open(uri).expect("open");
    c.connect_domain_event_callback_register_any(
        &p::RemoteConnectDomainEventCallbackRegisterAnyArgs {
            event_id: 0,
            dom: None,
        },
    )
    .expect("register lifecycle callback");
    c
}

/// A daemon, a direct-kernel-boot guest definition whose init behaves as `mode` says, and
/// a lifecycle-event listener registered before anything happens.
struct Guest {
    _d: Daemon,
    uri: String,
    name: String,
    _reaper: Reaper,
    console: std::path::PathBuf,
    xml_path: std::path::PathBuf,
    events: rvirt_core::Connect,
}

fn guest(tag: &str, mode: &str) -> Option<Guest> {
    let (kernel, modules) = guest_peers()?;
    let d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let name = unique(tag);
    let initrd = d.dir.0.join("initrd.cpio");
    build_initramfs(&modules, &initrd);
    let console = d.dir.0.join("console.log");
    let xml_path = d.dir.0.join("guest.xml");
    std::fs::write(
        &xml_path,
        guest_xml(&name, &kernel, &initrd, &console, mode),
    )
    .unwrap();
    let events = lifecycle_listener(&uri);
    Some(Guest {
        _reaper: Reaper(name.clone()),
        _d: d,
        uri,
        name,
        console,
        xml_path,
        events,
    })
}

impl Guest {
    fn console_text(&self) -> String {
        std::fs::read_to_string(&self.console).unwrap_or_default()
    }

    /// The guest shut itself down: the events of a guest-initiated shutdown, no QEMU
    /// left, and the domain shut off with reason shutdown.
    fn expect_guest_shutdown(&self, must_say: &str, why: &str) {
        let seen = events_until(&self.events, &self.name, EV_STOPPED, boot_timeout());
        let text = self.console_text();
        assert!(text.contains(must_say), "{why}; console:\n{text}");
        assert_eq!(
            seen,
            [
                (EV_DEFINED, 0),
                (EV_RESUMED, 0),
                (EV_STARTED, 0),
                (EV_SHUTDOWN, SHUTDOWN_FINISHED_GUEST),
                (EV_STOPPED, STOPPED_SHUTDOWN)
            ],
            "console:\n{text}"
        );
        wait_no_qemu(&self.name);
        assert_eq!(
            virsh_ok(&self.uri, &["domstate", &self.name, "--reason"]).trim(),
            "shut off (shutdown)"
        );
    }
}

#[test]
fn real_guest_boots_and_powers_itself_off() {
    let Some(g) = guest("g", "poweroff") else {
        return;
    };
    virsh_ok(&g.uri, &["define", g.xml_path.to_str().unwrap()]);
    virsh_ok(&g.uri, &["start", &g.name]);
    let up = wait_for_text(&g.console, "RVIRT-GUEST-UP", boot_timeout());
    assert!(
        up,
        "the guest never said it was up; console:\n{}",
        g.console_text()
    );
    g.expect_guest_shutdown("RVIRT-POWEROFF", "the guest did not power itself off");
    virsh_ok(&g.uri, &["undefine", &g.name]);
}

#[test]
fn real_guest_define_start_acpi_shutdown_undefine() {
    let Some(g) = guest("s", "acpi") else {
        return;
    };
    let (uri, name) = (&g.uri, &g.name);
    let out = virsh_ok(uri, &["define", g.xml_path.to_str().unwrap()]);
    assert!(out.contains(&format!("Domain '{name}' defined")), "{out}");
    assert_eq!(virsh_ok(uri, &["domstate", name]).trim(), "shut off");
    virsh_ok(uri, &["start", name]);
    assert_eq!(virsh_ok(uri, &["domstate", name]).trim(), "running");
    let ready = wait_for_text(
        &g.console,
        "RVIRT-ACPI-READY /dev/input/event",
        boot_timeout(),
    );
    assert!(
        ready,
        "the guest's power button never got ready; console:\n{}",
        g.console_text()
    );
    let out = virsh_ok(uri, &["shutdown", name]);
    assert!(out.contains("is being shutdown"), "{out}");
    g.expect_guest_shutdown(
        "RVIRT-POWER-BUTTON",
        "the guest did not see the power button",
    );
    virsh_ok(uri, &["undefine", name]);
    let (_, err, code) = virsh(uri, &["domstate", name]);
    assert!(code != 0 && err.contains("failed to get domain"), "{err}");
}

#[test]
fn qemu_monitor_event_reports_qmp_events() {
    if !peers_ok() {
        return;
    }
    let d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let name = unique("me");
    let _reaper = Reaper(name.clone());
    let xml_path = d.dir.0.join("dom.xml");
    std::fs::write(&xml_path, tiny_xml(&name)).unwrap();
    virsh_ok(&uri, &["create", xml_path.to_str().unwrap()]);
    let watcher = std::process::Command::new(VIRSH)
        .args([
            "-c",
            &uri,
            "qemu-monitor-event",
            "--domain",
            &name,
            "--loop",
            "--timeout",
            "5",
        ])
        .env("LC_ALL", "C")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn virsh qemu-monitor-event");
    let filtered = std::process::Command::new(VIRSH)
        .args([
            "-c",
            &uri,
            "qemu-monitor-event",
            "--domain",
            &name,
            "--event",
            "resume",
        ])
        .args(["--no-case", "--timeout", "5"])
        .env("LC_ALL", "C")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn filtered virsh qemu-monitor-event");
    std::thread::sleep(Duration::from_millis(2000));
    virsh_ok(&uri, &["suspend", &name]);
    virsh_ok(&uri, &["resume", &name]);
    let out = watcher
        .wait_with_output()
        .expect("virsh qemu-monitor-event");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("event ") && l.contains(" for domain "))
        .collect();
    assert_eq!(
        lines.len(),
        2,
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        lines[0].starts_with("event STOP at ")
            && lines[0].ends_with(&format!("for domain '{name}': <null>")),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with("event RESUME at "), "{}", lines[1]);
    let out = filtered.wait_with_output().expect("filtered virsh");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("event ") && l.contains(" for domain "))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "only RESUME matches 'resume' ignoring case: {text}"
    );
    assert!(lines[0].starts_with("event RESUME at "), "{}", lines[0]);
    virsh_ok(&uri, &["destroy", &name]);
    wait_no_qemu(&name);
}

#[test]
fn memory_balloon_and_vcpu_settings() {
    if !peers_ok() {
        return;
    }
    let d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let name = unique("mem");
    let _reaper = Reaper(name.clone());
    let xml_path = d.dir.0.join("dom.xml");
    let xml = tiny_xml(&name)
        .replace("<memballoon model='none'/>", "<memballoon model='virtio'/>")
        .replace("<vcpu>1</vcpu>", "<vcpu current='1'>2</vcpu>");
    std::fs::write(&xml_path, xml).unwrap();
    virsh_ok(&uri, &["define", xml_path.to_str().unwrap()]);
    virsh_ok(&uri, &["setmem", &name, "65536", "--config"]);
    virsh_ok(&uri, &["setvcpus", &name, "2", "--config"]);
    let inactive = virsh_ok(&uri, &["dumpxml", &name, "--inactive"]);
    assert!(
        inactive.contains("<currentMemory unit='KiB'>65536</currentMemory>"),
        "{inactive}"
    );
    assert!(
        inactive.contains("current='2'") || inactive.contains(">2</vcpu>"),
        "{inactive}"
    );
    virsh_ok(&uri, &["start", &name]);
    assert_eq!(
        virsh_ok(&uri, &["vcpucount", &name, "--live", "--current"]).trim(),
        "2"
    );
    virsh_ok(&uri, &["setmem", &name, "98304", "--live"]);
    let info = virsh_ok(&uri, &["dominfo", &name]);
    assert!(info.contains("Used memory:    98304 KiB"), "{info}");
    let (_, err, code) = virsh(&uri, &["setmem", &name, "999999", "--live"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("cannot set memory higher than max memory"),
        "{err}"
    );
    let (_, err, code) = virsh(&uri, &["setvcpus", &name, "1", "--live"]);
    assert_ne!(code, 0);
    assert!(err.contains("Operation not supported"), "{err}");
    virsh_ok(&uri, &["destroy", &name]);
    virsh_ok(&uri, &["undefine", &name]);
    wait_no_qemu(&name);
}

/// The `<machine>` lines of the x86_64 guest of a capabilities document.
fn x86_64_machines(caps: &str) -> Vec<String> {
    caps.split("<arch name='x86_64'>")
        .nth(1)
        .and_then(|rest| rest.split("</arch>").next())
        .unwrap_or_default()
        .lines()
        .filter(|l| l.trim_start().starts_with("<machine"))
        .map(str::to_string)
        .collect()
}

#[test]
fn machine_types_listed_as_libvirtd_lists_them() {
    if !peers_ok() {
        return;
    }
    let Some(libvirtd) = rvirt_tests::Libvirtd::start() else {
        return;
    };
    let d = Daemon::start("");
    let (luri, ruri) = (libvirtd.uri("qemu", "system"), d.uri("qemu:///system"));
    let want = x86_64_machines(&virsh_ok(&luri, &["capabilities"]));
    let got = x86_64_machines(&virsh_ok(&ruri, &["capabilities"]));
    assert!(
        want.first().is_some_and(|m| m.contains(">pc-i440fx-")),
        "{want:?}"
    );
    assert_eq!(got, want);
    // A definition's `machine='pc'` is stored as the versioned machine it stands for.
    let name = unique("mach");
    let xml_path = d.dir.0.join("dom.xml");
    std::fs::write(&xml_path, tiny_xml(&name)).unwrap();
    let os_line = |uri: &str| {
        virsh_ok(uri, &["define", xml_path.to_str().unwrap()]);
        let dumped = virsh_ok(uri, &["dumpxml", "--inactive", &name]);
        virsh_ok(uri, &["undefine", &name]);
        dumped
            .lines()
            .find(|l| l.contains("<type arch="))
            .map(str::to_string)
            .unwrap_or_default()
    };
    let want = os_line(&luri);
    assert!(want.contains("machine='pc-i440fx-"), "{want}");
    assert_eq!(os_line(&ruri), want);
}
