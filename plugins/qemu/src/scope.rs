//! Each guest's QEMU in its own systemd scope under `machine.slice`, as libvirt puts it,
//! so stopping, restarting or upgrading the daemon's service never touches guests (the
//! service runs with `KillMode=process`) and each guest is accounted for on its own.
//!
//! `systemd-run --scope` registers a transient scope for its own pid and then executes
//! QEMU in place, so the process the driver spawns and watches is QEMU itself. When
//! systemd-machined runs, the guest is registered with it too (`machinectl list` shows
//! `rvirt-qemu-ID-NAME`); machined forgets it when the scope ends.

use serde::Deserialize;

/// `[drivers.qemu] scope`: where QEMU processes go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScopeMode {
    /// A scope when the daemon is a systemd service's main process, else none.
    #[default]
    Auto,
    /// Always a scope (fails to start guests when systemd cannot make one).
    Systemd,
    /// No scope: QEMU gets a cgroup of its own ([`crate::cgroup`]).
    None,
}

const SYSTEMD_RUN: &str = "/usr/bin/systemd-run";

impl ScopeMode {
    /// Whether guests started now get their own scope.
    pub fn active(self) -> bool {
        match self {
            ScopeMode::Systemd => true,
            ScopeMode::None => false,
            // systemd starts a service's main process itself (its parent is PID 1) with
            // INVOCATION_ID set; /run/systemd/system exists only when systemd is the
            // init system. A daemon that merely inherited INVOCATION_ID (started by a
            // test under some other service) has another parent.
            ScopeMode::Auto => {
                std::env::var_os("INVOCATION_ID").is_some()
                    && std::os::unix::process::parent_id() == 1
                    && std::path::Path::new("/run/systemd/system").is_dir()
                    && std::path::Path::new(SYSTEMD_RUN).exists()
            }
        }
    }
}

/// The scope unit of domain `id` named `name`: `rvirt-qemu-ID-NAME.scope`, characters
/// systemd does not take in unit names replaced by `_`.
pub fn unit_name(id: i32, name: &str) -> String {
    let clean: String = name
        .chars()
        .take(200)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.:-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("rvirt-qemu-{id}-{clean}.scope")
}

/// The program and arguments that run `emulator args` in the scope of domain `id`.
pub fn wrap(id: i32, name: &str, emulator: &str, args: &[String]) -> (String, Vec<String>) {
    let mut out = vec![
        "--scope".to_string(),
        "--quiet".into(),
        "--collect".into(),
        "--slice=machine.slice".into(),
        format!("--unit={}", unit_name(id, name)),
        format!("--description=rvirt QEMU guest {name}"),
        "--".into(),
        emulator.to_string(),
    ];
    out.extend(args.iter().cloned());
    (SYSTEMD_RUN.to_string(), out)
}

const BUSCTL: &str = "/usr/bin/busctl";
const MACHINED: &str = "/usr/lib/systemd/systemd-machined";
const SYSTEM_BUS: &str = "/run/dbus/system_bus_socket";

/// The machine name of domain `id` named `name`: `rvirt-qemu-ID-NAME`, in the characters
/// machined takes (letters, digits, `-`, `.`), at most 64.
pub fn machine_name(id: i32, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut m = format!("rvirt-qemu-{id}-{clean}");
    m.truncate(64);
    m.trim_end_matches(['-', '.']).to_string()
}

/// The `busctl` arguments of machined's `RegisterMachine` for QEMU process `pid`.
fn register_args(id: i32, name: &str, uuid: &[u8; 16], pid: i32) -> Vec<String> {
    let mut a: Vec<String> = [
        "call",
        "--quiet",
        "org.freedesktop.machine1",
        "/org/freedesktop/machine1",
        "org.freedesktop.machine1.Manager",
        "RegisterMachine",
        "sayssus",
    ]
    .map(String::from)
    .to_vec();
    a.push(machine_name(id, name));
    a.push("16".into());
    a.extend(uuid.iter().map(|b| b.to_string()));
    a.extend([
        "rvirt-qemu".into(),
        "vm".into(),
        pid.to_string(),
        String::new(),
    ]);
    a
}

/// Registers the guest whose QEMU (in its scope) is `pid` with systemd-machined, when
/// machined and the system bus are there; a failure is logged, the guest runs anyway.
pub fn register_machine(id: i32, name: &str, uuid: &[u8; 16], pid: i32) {
    let present = [BUSCTL, MACHINED, SYSTEM_BUS]
        .iter()
        .all(|p| std::path::Path::new(p).exists());
    if !present {
        return;
    }
    let out = std::process::Command::new(BUSCTL)
        .args(register_args(id, name, uuid, pid))
        .stdin(std::process::Stdio::null())
        .output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => tracing::warn!(
            "cannot register guest '{name}' with systemd-machined: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => tracing::warn!("cannot run {BUSCTL}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names_are_valid() {
        assert_eq!(unit_name(3, "web-1"), "rvirt-qemu-3-web-1.scope");
        assert_eq!(unit_name(4, "a b/c\\é"), "rvirt-qemu-4-a_b_c__.scope");
    }

    #[test]
    fn wrap_runs_qemu_last() {
        let (bin, args) = wrap(1, "g", "/usr/bin/qemu", &["-S".into()]);
        assert_eq!(bin, SYSTEMD_RUN);
        assert_eq!(&args[args.len() - 3..], ["--", "/usr/bin/qemu", "-S"]);
        assert!(args.contains(&"--slice=machine.slice".to_string()));
        assert!(!ScopeMode::None.active());
    }

    #[test]
    fn machine_names_and_registration() {
        assert_eq!(machine_name(2, "web_1 a"), "rvirt-qemu-2-web-1-a");
        assert_eq!(machine_name(1, &"x".repeat(80)).len(), 64);
        let a = register_args(1, "g", &[7; 16], 42);
        assert_eq!(a[6], "sayssus");
        assert_eq!(a[7], "rvirt-qemu-1-g");
        assert_eq!(a[8], "16");
        assert_eq!(&a[a.len() - 4..], ["rvirt-qemu", "vm", "42", ""]);
    }
}
