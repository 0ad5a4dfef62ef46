//! Emulated TPMs (`<tpm><backend type='emulator'>`) through swtpm, as libvirt 9.0 runs
//! them: the state lives in `swtpm/UUID/tpm2` (or `tpm1.2`) under the driver's state
//! directory and is manufactured once by `swtpm_setup` (EK and platform certificates,
//! NVRAM locked); each start runs `swtpm socket --terminate` on a control socket in the run
//! directory, which QEMU connects to (`-chardev socket` + `-tpmdev emulator`), and swtpm
//! ends when QEMU closes it. `undefine` removes the state unless asked to keep it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rvirt_xml::domain::{Device, DomainDef, GenericDevice};

use crate::argv::{esc, unsupported, ArgvResult, Cmd, Runtime};

pub const SWTPM: &str = "/usr/bin/swtpm";
pub const SWTPM_SETUP: &str = "/usr/bin/swtpm_setup";

#[derive(Debug, thiserror::Error)]
pub enum TpmError {
    #[error("Could not run '{program}': {reason}")]
    Run { program: String, reason: String },
    #[error("swtpm_setup failed for TPM state {dir}: {log}")]
    Setup { dir: String, log: String },
    #[error("swtpm did not create its control socket {0} in time")]
    NoSocket(String),
    #[error("cannot remove TPM state {path}: {reason}")]
    Remove { path: String, reason: String },
}

/// The emulated TPMs of a definition.
fn emulators(def: &DomainDef) -> impl Iterator<Item = &GenericDevice> {
    def.devices.iter().filter_map(|d| match d {
        Device::Generic(g)
            if g.element.name == "tpm"
                && g.element.child("backend").and_then(|b| b.attr("type")) == Some("emulator") =>
        {
            Some(&**g)
        }
        _ => None,
    })
}

fn version(g: &GenericDevice) -> &str {
    g.element
        .child("backend")
        .and_then(|b| b.attr("version"))
        .unwrap_or("2.0")
}

/// swtpm's control socket for the domain's emulated TPM.
pub fn socket(run_dir: &Path, name: &str) -> PathBuf {
    run_dir.join("swtpm").join(format!("{name}-swtpm.sock"))
}

/// The domain's TPM state directory, as libvirt lays it out (`UUID/tpm2`).
pub fn state_dir(state: &Path, def: &DomainDef, version: &str) -> PathBuf {
    let sub = if version == "2.0" { "tpm2" } else { "tpm1.2" };
    state.join("swtpm").join(def.uuid.to_string()).join(sub)
}

/// `-chardev`, `-tpmdev` and `-device` of one `<tpm>`.
pub fn argv(c: &mut Cmd, def: &DomainDef, g: &GenericDevice, rt: &Runtime) -> ArgvResult<()> {
    let backend = g.element.child("backend").and_then(|b| b.attr("type"));
    if backend != Some("emulator") {
        return unsupported(format!(
            "domain/devices/tpm/backend/@type '{}' is not supported (only emulator)",
            backend.unwrap_or_default()
        ));
    }
    let b = g.element.child("backend").expect("emulator backend");
    if let Some(c) = b.children.first() {
        return unsupported(format!(
            "domain/devices/tpm/backend/{} is not supported",
            c.name
        ));
    }
    if b.attr("persistent_state").is_some() {
        return unsupported("domain/devices/tpm/backend/@persistent_state is not supported");
    }
    let model = g.element.attr("model").unwrap_or("tpm-tis");
    if !matches!(model, "tpm-tis" | "tpm-crb") {
        return unsupported(format!(
            "domain/devices/tpm/@model '{model}' is not supported"
        ));
    }
    let sock = socket(&rt.run_dir, &def.name);
    c.opt(
        "-chardev",
        format!("socket,id=chrtpm,path={}", esc(&sock.display().to_string())),
    );
    c.opt("-tpmdev", "emulator,id=tpm-tpm0,chardev=chrtpm");
    c.opt("-device", format!("{model},tpmdev=tpm-tpm0,id=tpm0"));
    Ok(())
}

fn run_quiet(program: &str, args: &[String]) -> Result<std::process::Output, TpmError> {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| TpmError::Run {
            program: program.into(),
            reason: e.to_string(),
        })
}

/// Manufactures the TPM state once (libvirt's swtpm_setup arguments).
fn setup(def: &DomainDef, dir: &Path, version: &str, log: &Path) -> Result<(), TpmError> {
    if dir
        .join(if version == "2.0" {
            "tpm2-00.permall"
        } else {
            "tpm-00.permall"
        })
        .exists()
    {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| TpmError::Setup {
        dir: dir.display().to_string(),
        log: e.to_string(),
    })?;
    let mut args: Vec<String> = Vec::new();
    if version == "2.0" {
        args.push("--tpm2".into());
    }
    args.extend([
        "--tpm-state".into(),
        dir.display().to_string(),
        "--vmid".into(),
        format!("{}:{}", def.name, def.uuid),
        "--logfile".into(),
        log.display().to_string(),
        "--createek".into(),
        "--create-ek-cert".into(),
        "--create-platform-cert".into(),
        "--lock-nvram".into(),
        "--not-overwrite".into(),
    ]);
    let out = run_quiet(SWTPM_SETUP, &args)?;
    if !out.status.success() {
        let log = std::fs::read_to_string(log).unwrap_or_default();
        return Err(TpmError::Setup {
            dir: dir.display().to_string(),
            log: log.lines().last().unwrap_or("no log").to_string(),
        });
    }
    Ok(())
}

/// Starts swtpm for the domain's emulated TPM (if it has one) and waits for its control
/// socket; swtpm forks into the background (`--daemon`), so nothing is left to reap, and
/// exits when QEMU closes the socket (`--terminate`). Answers the pid file to
/// [`stop`] it with when QEMU never connects.
pub fn start(
    def: &DomainDef,
    state: &Path,
    rt: &Runtime,
    logs: &Path,
) -> Result<Option<PathBuf>, TpmError> {
    let Some(g) = emulators(def).next() else {
        return Ok(None);
    };
    let version = version(g);
    let dir = state_dir(state, def, version);
    let log = logs.join(format!("{}-swtpm.log", def.name));
    setup(def, &dir, version, &log)?;
    let sock = socket(&rt.run_dir, &def.name);
    let pid_file = sock.with_extension("pid");
    if let Some(d) = sock.parent() {
        let _ = std::fs::create_dir_all(d);
    }
    let _ = std::fs::remove_file(&sock);
    let mut args = vec![
        "socket".to_string(),
        "--ctrl".into(),
        format!("type=unixio,path={},mode=0600", sock.display()),
        "--tpmstate".into(),
        format!("dir={},mode=0600", dir.display()),
        "--log".into(),
        format!("file={}", log.display()),
        "--terminate".into(),
        "--daemon".into(),
        "--pid".into(),
        format!("file={}", pid_file.display()),
    ];
    if version == "2.0" {
        args.push("--tpm2".into());
    }
    let out = run_quiet(SWTPM, &args)?;
    if !out.status.success() {
        return Err(TpmError::Run {
            program: SWTPM.into(),
            reason: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while !sock.exists() {
        if Instant::now() > deadline {
            stop(&pid_file);
            return Err(TpmError::NoSocket(sock.display().to_string()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(Some(pid_file))
}

/// Ends a swtpm that QEMU never connected to.
pub fn stop(pid_file: &Path) {
    let pid = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok());
    // The pid file outlives a swtpm that already exited: signal only the process that
    // still names this pid file on its command line.
    if let Some(pid) = pid.filter(|p| *p > 1 && names_pid_file(*p, pid_file)) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    let _ = std::fs::remove_file(pid_file);
}

/// Whether process `pid` is a swtpm started with `--pid file=PID_FILE`.
fn names_pid_file(pid: i32, pid_file: &Path) -> bool {
    let want = format!("file={}", pid_file.display());
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| c.split(|b| *b == 0).any(|arg| arg == want.as_bytes()))
        .unwrap_or(false)
}

/// What undefine does with the TPM state: removed unless `KEEP_TPM` (libvirt's default).
pub fn undefine(def: &DomainDef, state: &Path, flags: u32) -> Result<(), TpmError> {
    use rvirt_plugin_api::protocol::facts::domain_undefine::KEEP_TPM;
    if flags & KEEP_TPM != 0 || emulators(def).next().is_none() {
        return Ok(());
    }
    let dir = state.join("swtpm").join(def.uuid.to_string());
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(TpmError::Remove {
            path: dir.display().to_string(),
            reason: e.to_string(),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_process_naming_the_pid_file_is_signalled() {
        let dir = std::env::temp_dir().join(format!("rvirt-tpm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pid_file = dir.join("swtpm.pid");
        // A shell keeps its extra arguments in its command line while it waits (GNU
        // sleep would refuse the argument and exit at once).
        let mut child = std::process::Command::new("sh")
            .args(["-c", "while :; do sleep 1; done", "sh"])
            .arg(format!("file={}", pid_file.display()))
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        // Until the child has exec'd, its command line is still the test's.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !names_pid_file(pid, &pid_file) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(names_pid_file(pid, &pid_file));
        assert!(!names_pid_file(pid, &dir.join("other.pid")));
        // A stale pid file naming this test process must not kill it.
        std::fs::write(&pid_file, std::process::id().to_string()).unwrap();
        stop(&pid_file);
        assert!(!pid_file.exists());
        std::fs::write(&pid_file, pid.to_string()).unwrap();
        stop(&pid_file);
        let status = child.wait().unwrap();
        assert!(!status.success(), "the named process was signalled");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
