//! The qemu driver module end to end: rvirtd with real `virsh`, real `qemu-system-x86_64`.
//! Tiny VMs boot nothing; that is enough for lifecycle and the monitor.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rvirt_tests::{have_program, require_peer, Daemon};

const VIRSH: &str = "/usr/bin/virsh";
const QEMU: &str = "/usr/bin/qemu-system-x86_64";

fn peers_ok() -> bool {
    require_peer("virsh (libvirt-clients)", have_program(VIRSH))
        && require_peer("qemu-system-x86_64 (qemu-system-x86)", have_program(QEMU))
}

fn virsh(uri: &str, args: &[&str]) -> (String, String, i32) {
    let out = Command::new(VIRSH)
        .arg("-c")
        .arg(uri)
        .args(args)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .expect("run virsh");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn virsh_ok(uri: &str, args: &[&str]) -> String {
    let (out, err, code) = virsh(uri, args);
    assert_eq!(code, 0, "virsh {args:?} failed: {err}{out}");
    out
}

/// A tiny domain definition named `name` (KVM when /dev/kvm is usable).
fn tiny_xml(name: &str) -> String {
    let kvm = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    let fixture = if kvm { "tiny-kvm.xml" } else { "tiny-tcg.xml" };
    let text = std::fs::read_to_string(rvirt_tests::compat_dir().join("qemu").join(fixture))
        .expect("fixture");
    let old = if kvm { "anchortiny" } else { "anchortinytcg" };
    text.replace(
        &format!("<name>{old}</name>"),
        &format!("<name>{name}</name>"),
    )
}

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
    let expected = [
        format!("{}: Started Booted", ev("lifecycle")),
        format!("{}: Suspended Paused", ev("lifecycle")),
        format!("{}: Resumed Unpaused", ev("lifecycle")),
        ev("reboot"),
        format!("{}: Stopped Destroyed", ev("lifecycle")),
        format!("{}: Started Booted", ev("lifecycle")),
        format!("{}: Stopped Crashed", ev("lifecycle")),
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
            "unknown device element",
            with_device("<frobnicator/>"),
            false,
            vec![
                "XML error".into(),
                "unsupported element <domain/devices/frobnicator>".into(),
            ],
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
        assert!(qemu_pids(&name).is_empty(), "{what}: a QEMU was left running");
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
