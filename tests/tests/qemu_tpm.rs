//! Emulated TPMs (swtpm) on the qemu driver against a real libvirtd 9.0 running the same
//! guests: a TPM 2.0 on `tpm-crb` (q35) and on `tpm-tis` (i440fx) reaches QEMU
//! (`query-tpm`), its state is manufactured once by swtpm_setup and outlives a restart
//! of the guest, and undefine removes it unless `--keep-tpm` is given.

use std::path::{Path, PathBuf};

use rvirt_tests::virsh::run as virsh;
use rvirt_tests::{have_program, Libvirtd};

fn doc(name: &str, machine: &str, model: &str) -> String {
    format!(
        "<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>\
         <os><type arch='x86_64' machine='{machine}'>hvm</type></os><devices>\
         <emulator>/usr/bin/qemu-system-x86_64</emulator><tpm model='{model}'>\
         <backend type='emulator' version='2.0'/></tpm></devices></domain>"
    )
}

fn step(out: &mut String, uri: &str, args: &[&str]) -> String {
    let (stdout, stderr, code) = virsh(uri, args);
    *out += &format!("$ {}\n{}[{code}]\n", args.join(" "), stderr.trim());
    stdout
}

/// Whether a manufactured TPM 2.0 state exists under `root` for the domain `uuid`.
fn has_state(root: &Path, uuid: &str) -> bool {
    root.join(uuid).join("tpm2/tpm2-00.permall").exists()
}

/// What one daemon does, as comparable text; `states` is where it keeps TPM state.
fn transcript(uri: &str, dir: &Path, states: &Path, pid: u32) -> String {
    let mut out = String::new();
    for (tag, machine, model, keep) in [
        ("crb", "pc-q35-7.2", "tpm-crb", false),
        ("tis", "pc-i440fx-7.2", "tpm-tis", true),
    ] {
        let name = format!("rvqtpm{tag}{pid}");
        let file = dir.join(format!("tpm-{tag}.xml"));
        std::fs::write(&file, doc(&name, machine, model)).unwrap();
        step(&mut out, uri, &["define", file.to_str().unwrap()]);
        let uuid = step(&mut out, uri, &["domuuid", &name]).trim().to_string();
        out += &format!("state before start: {}\n", has_state(states, &uuid));
        step(&mut out, uri, &["start", &name]);
        let tpm = step(
            &mut out,
            uri,
            &["qemu-monitor-command", &name, r#"{"execute":"query-tpm"}"#],
        );
        let v: serde_json::Value = serde_json::from_str(&tpm).unwrap_or_default();
        out += &format!("query-tpm: {}\n", v["return"]);
        let made = has_state(states, &uuid);
        out += &format!("state after start: {made}\n");
        step(&mut out, uri, &["destroy", &name]);
        step(&mut out, uri, &["start", &name]);
        step(&mut out, uri, &["destroy", &name]);
        out += &format!("state kept over a restart: {}\n", has_state(states, &uuid));
        let mut undefine = vec!["undefine", name.as_str()];
        if keep {
            undefine.push("--keep-tpm");
        }
        step(&mut out, uri, &undefine);
        out += &format!("state after undefine: {}\n", has_state(states, &uuid));
        let _ = std::fs::remove_dir_all(states.join(&uuid));
    }
    transient(&mut out, uri, dir, states, pid);
    out.replace(&pid.to_string(), "PID")
}

/// A transient guest's TPM state is made at start and goes when the guest stops.
fn transient(out: &mut String, uri: &str, dir: &Path, states: &Path, pid: u32) {
    let name = format!("rvqtpmtr{pid}");
    let file = dir.join("tpm-transient.xml");
    std::fs::write(&file, doc(&name, "pc-q35-7.2", "tpm-crb")).unwrap();
    step(out, uri, &["create", file.to_str().unwrap()]);
    let uuid = step(out, uri, &["domuuid", &name]).trim().to_string();
    *out += &format!(
        "transient state while running: {}\n",
        has_state(states, &uuid)
    );
    step(out, uri, &["destroy", &name]);
    *out += &format!(
        "transient state after destroy: {}\n",
        has_state(states, &uuid)
    );
    let _ = std::fs::remove_dir_all(states.join(&uuid));
}

fn libvirt_states(l: &Libvirtd) -> PathBuf {
    l.dir.0.join("lib/swtpm")
}

#[test]
fn emulated_tpms_match_libvirtd() {
    let swtpm = (
        "swtpm and swtpm_setup (swtpm, swtpm-tools)",
        have_program("/usr/bin/swtpm") && have_program("/usr/bin/swtpm_setup"),
    );
    let Some((libvirtd, rvirtd)) = rvirt_tests::guest_daemons(&[swtpm]) else {
        return;
    };
    let pid = std::process::id();
    let dir = &rvirtd.dir.0;
    let theirs = transcript(
        &libvirtd.uri("qemu", "system"),
        dir,
        &libvirt_states(&libvirtd),
        pid,
    );
    let ours = transcript(
        &rvirtd.uri("qemu:///system"),
        dir,
        &dir.join("state/qemu/swtpm"),
        pid,
    );
    assert!(
        theirs.contains("state after start: true")
            && theirs.contains("tpm-crb")
            && theirs.contains("transient state while running: true"),
        "libvirtd did not run swtpm as expected:\n{theirs}"
    );
    assert_eq!(ours, theirs, "rvirtd's, then libvirtd's");
}
