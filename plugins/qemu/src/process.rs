//! QEMU processes: spawn with stderr to a log file, watch for exit (reaping at once),
//! terminate with SIGTERM then SIGKILL.

use std::fs::OpenOptions;
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Why a process could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("cannot open log file {path}: {reason}")]
    Log { path: String, reason: String },
    #[error("cannot execute {binary}: {reason}")]
    Spawn { binary: String, reason: String },
    #[error("CPU {0} of <vcpu cpuset> is beyond what this host can name")]
    Affinity(usize),
}

/// A running (or just exited) QEMU process.
#[derive(Debug, Clone)]
pub struct Proc {
    pub pid: i32,
    exited: Arc<(Mutex<bool>, Condvar)>,
}

/// Called once the process is gone (and reaped when it was our child).
pub type ExitFn = Box<dyn FnOnce() + Send + 'static>;

impl Proc {
    /// Spawns `binary args`, stdout and stderr appended to `log`, in its own process group
    /// (so a terminal's signals to the daemon do not reach it), inheriting `keep_fds`
    /// (tap devices QEMU gets as `fd=N`), confined to the host CPUs `cpus` unless that
    /// is empty (`<vcpu cpuset>`, set before exec as libvirt sets it, so every thread
    /// QEMU makes has it). `on_exit` runs on the watcher thread after the child is reaped.
    pub fn spawn(
        binary: &str,
        args: &[String],
        log: &Path,
        keep_fds: &[RawFd],
        cpus: &[usize],
        on_exit: ExitFn,
    ) -> Result<Proc, ProcessError> {
        let log_err = |e: std::io::Error| ProcessError::Log {
            path: log.display().to_string(),
            reason: e.to_string(),
        };
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(log_err)?;
        let err = out.try_clone().map_err(log_err)?;
        let mut cmd = Command::new(binary);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        Self::prepare_child(&mut cmd, keep_fds, cpus)?;
        let mut child = cmd.spawn().map_err(|e| ProcessError::Spawn {
            binary: binary.to_string(),
            reason: e.to_string(),
        })?;
        let p = Proc {
            pid: child.id() as i32,
            exited: Arc::default(),
        };
        let flag = p.exited.clone();
        std::thread::Builder::new()
            .name(format!("qemu-wait-{}", p.pid))
            .spawn(move || {
                let _ = child.wait();
                mark_exited(&flag);
                on_exit();
            })
            .map_err(|e| ProcessError::Spawn {
                binary: binary.to_string(),
                reason: e.to_string(),
            })?;
        Ok(p)
    }

    /// Watches a process this daemon did not start (found again after a restart).
    pub fn adopt(pid: i32, on_exit: ExitFn) -> Proc {
        let p = Proc {
            pid,
            exited: Arc::default(),
        };
        let flag = p.exited.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("qemu-watch-{pid}"))
            .spawn(move || {
                while pid_alive(pid) {
                    std::thread::sleep(Duration::from_millis(100));
                }
                mark_exited(&flag);
                on_exit();
            });
        if spawned.is_err() {
            tracing::warn!("cannot watch QEMU process {pid}");
        }
        p
    }

    pub fn has_exited(&self) -> bool {
        *self.exited.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits up to `timeout` for the process to be gone.
    pub fn wait_exit(&self, timeout: Duration) -> bool {
        let (m, cv) = &*self.exited;
        let deadline = Instant::now() + timeout;
        let mut done = m.lock().unwrap_or_else(PoisonError::into_inner);
        while !*done {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            done = cv
                .wait_timeout(done, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    /// Sends `sig` unless the process is already gone (never signals a reaped pid).
    pub fn signal(&self, sig: Signal) {
        let done = self.exited.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !*done {
            let _ = kill(Pid::from_raw(self.pid), sig);
        }
    }

    /// Lets the child `cmd` spawns inherit `fds` (which stay close-on-exec in this
    /// process) and run on `cpus` only (all when empty).
    fn prepare_child(cmd: &mut Command, fds: &[RawFd], cpus: &[usize]) -> Result<(), ProcessError> {
        if fds.is_empty() && cpus.is_empty() {
            return Ok(());
        }
        let keep = fds.to_vec();
        let affinity = Self::cpu_set(cpus)?;
        // SAFETY: the closure runs in the child between fork and exec; it calls only fcntl
        // and sched_setaffinity (async-signal-safe system calls) on descriptors the parent
        // holds open and a set built before the fork, and neither allocates nor takes
        // locks. Clearing FD_CLOEXEC there, not in the parent, keeps the descriptors out
        // of processes other threads spawn meanwhile.
        unsafe {
            cmd.pre_exec(move || {
                for fd in &keep {
                    if nix::libc::fcntl(*fd, nix::libc::F_SETFD, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                if let Some(set) = &affinity {
                    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), set)
                        .map_err(std::io::Error::from)?;
                }
                Ok(())
            });
        }
        Ok(())
    }

    /// The affinity set of host CPUs `cpus`; `None` when empty.
    fn cpu_set(cpus: &[usize]) -> Result<Option<nix::sched::CpuSet>, ProcessError> {
        if cpus.is_empty() {
            return Ok(None);
        }
        let mut set = nix::sched::CpuSet::new();
        for c in cpus {
            set.set(*c).map_err(|_| ProcessError::Affinity(*c))?;
        }
        Ok(Some(set))
    }

    /// SIGTERM, then SIGKILL after `grace` unless `graceful`; true once the process is gone.
    pub fn terminate(&self, grace: Duration, graceful: bool) -> bool {
        self.signal(Signal::SIGTERM);
        if self.wait_exit(grace) {
            return true;
        }
        if graceful {
            return false;
        }
        self.signal(Signal::SIGKILL);
        self.wait_exit(Duration::from_secs(10))
    }
}

fn mark_exited(flag: &(Mutex<bool>, Condvar)) {
    *flag.0.lock().unwrap_or_else(PoisonError::into_inner) = true;
    flag.1.notify_all();
}

/// Whether `pid` names a live (non-zombie) process.
pub fn pid_alive(pid: i32) -> bool {
    if pid <= 0 || kill(Pid::from_raw(pid), None).is_err() {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                != Some("Z")
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[test]
    fn spawn_terminate_reaps() {
        let log = std::env::temp_dir().join(format!("rvirt-proc-{}.log", std::process::id()));
        let (tx, rx) = channel();
        let p = Proc::spawn(
            "/bin/sh",
            &["-c".into(), "echo hi >&2; exec sleep 30".into()],
            &log,
            &[],
            &[],
            Box::new(move || {
                let _ = tx.send(());
            }),
        )
        .unwrap();
        assert!(pid_alive(p.pid));
        let deadline = Instant::now() + Duration::from_secs(5);
        while !std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("hi")
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(p.terminate(Duration::from_secs(2), false));
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(!pid_alive(p.pid), "no zombie left");
        assert!(std::fs::read_to_string(&log).unwrap().contains("hi"));
        let _ = std::fs::remove_file(&log);
    }

    #[test]
    fn adopted_process_exit_is_seen() {
        let mut child = Command::new("/bin/sleep").arg("0.2").spawn().unwrap();
        let (tx, rx) = channel();
        let p = Proc::adopt(
            child.id() as i32,
            Box::new(move || {
                let _ = tx.send(());
            }),
        );
        let _ = child.wait();
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(p.has_exited());
    }
}
