//! Shared fixtures for the integration tests: where the built binaries and modules are,
//! a throwaway rvirtd, and the rule for real peers (virsh, libvirt-python, libvirtd):
//! a missing peer fails the test under `CI=true` and skips it locally.

pub mod guest;
pub mod lab;
pub mod netdiff;
pub mod netns;
pub mod oot;
pub mod qemu_argv;
pub mod streams;
pub mod tgt;
pub mod virsh;
pub mod wire;
pub mod xmldiff;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The cargo target profile directory the tests were built into (e.g. target/debug).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.ancestors()
        .find(|d| d.join("rvirtd").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| {
            exe.parent()
                .and_then(Path::parent)
                .expect("target dir")
                .to_path_buf()
        })
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

/// The recordings of real libvirt 9.0.0 kept in the repository (`tests/data/compat`, see
/// `tests/data/README.md`). Panics if the directory is missing.
pub fn compat_dir() -> PathBuf {
    let d = repo_root().join("tests/data/compat");
    assert!(
        d.is_dir(),
        "compatibility fixtures not found at {}",
        d.display()
    );
    d
}

/// The path of one recorded fixture, `rel` under `tests/data/compat`; panics, naming the
/// file, if it is missing, so no test can pass without its data.
pub fn compat_file(rel: &str) -> PathBuf {
    let p = compat_dir().join(rel);
    assert!(p.is_file(), "fixture {} is missing", p.display());
    p
}

/// The text of one recorded fixture (see [`compat_file`]).
pub fn read_compat(rel: &str) -> String {
    let p = compat_file(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read fixture {}: {e}", p.display()))
}

/// The bytes of one recorded fixture (see [`compat_file`]).
pub fn read_compat_bytes(rel: &str) -> Vec<u8> {
    let p = compat_file(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("read fixture {}: {e}", p.display()))
}

/// Whether a real peer program is available; under CI a missing peer is a failure.
pub fn require_peer(what: &str, available: bool) -> bool {
    if available {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what} is required under CI=true but is not installed");
    }
    eprintln!("SKIP: {what} is not installed; install it to run this test");
    false
}

pub fn have_program(path: &str) -> bool {
    Path::new(path).exists()
}

/// Whether `s` is a UUID in its usual text form (8-4-4-4-12 hex digits).
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// A fresh temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("rvirt-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running rvirtd with a private socket directory and the built modules.
pub struct Daemon {
    pub dir: TempDir,
    pub child: Child,
    /// The network namespace it runs in (see [`Daemon::start_in_netns`]).
    netns: Option<String>,
}

impl Daemon {
    /// Starts rvirtd with every built module; `extra` is appended to the generated config.
    pub fn start(extra: &str) -> Daemon {
        Daemon::start_with(&target_dir(), extra, &[])
    }

    /// Starts rvirtd loading modules from `modules`, with extra config text and environment.
    /// The log goes to `rvirtd.log` in the daemon's directory.
    pub fn start_with(modules: &Path, extra: &str, env: &[(&str, String)]) -> Daemon {
        let dir = write_config(modules, extra);
        let child = spawn_rvirtd(&dir.0.join("rvirtd.toml"), env, None);
        let d = Daemon {
            dir,
            child,
            netns: None,
        };
        d.wait_ready();
        d
    }

    /// Starts rvirtd with every built module inside network namespace `ns` (through
    /// `ip netns exec`): whatever it creates on the network side stays there, while its
    /// sockets, being files, are reached from outside as usual.
    pub fn start_in_netns(ns: &netns::Netns, extra: &str) -> Daemon {
        let dir = write_config(&target_dir(), extra);
        let child = spawn_rvirtd(&dir.0.join("rvirtd.toml"), &[], Some(ns.name()));
        let d = Daemon {
            dir,
            child,
            netns: Some(ns.name().to_string()),
        };
        d.wait_ready();
        d
    }

    /// Kills the daemon with SIGKILL (nothing of it runs any cleanup) and starts it again
    /// on the same configuration, state and namespace.
    pub fn kill9_and_restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.respawn();
    }

    fn respawn(&mut self) {
        let _ = std::fs::remove_file(self.socket());
        let _ = std::fs::remove_file(self.socket_ro());
        self.child = spawn_rvirtd(&self.dir.0.join("rvirtd.toml"), &[], self.netns.as_deref());
        self.wait_ready();
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("rvirtd.log")).unwrap_or_default()
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::os::unix::net::UnixStream::connect(self.socket()).is_ok()
                && std::os::unix::net::UnixStream::connect(self.socket_ro()).is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "rvirtd did not start listening on {}",
            self.socket().display()
        );
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.0.join("run/rvirt-sock")
    }

    pub fn socket_ro(&self) -> PathBuf {
        self.dir.0.join("run/rvirt-sock-ro")
    }

    /// `DRIVER+unix:///PATH?socket=SOCK` for this daemon.
    pub fn uri(&self, driver_path: &str) -> String {
        let (driver, path) = driver_path
            .split_once(":///")
            .expect("uri like test:///default");
        format!("{driver}+unix:///{path}?socket={}", self.socket().display())
    }

    pub fn uri_ro(&self, driver_path: &str) -> String {
        let (driver, path) = driver_path
            .split_once(":///")
            .expect("uri like test:///default");
        format!(
            "{driver}+unix:///{path}?socket={}",
            self.socket_ro().display()
        )
    }

    /// Ends the daemon (with SIGKILL when `hard`, else SIGTERM and a clean exit) and
    /// starts it again on the same configuration, sockets and state directory.
    pub fn restart(&mut self, hard: bool) {
        if hard {
            let _ = self.child.kill();
            let _ = self.child.wait();
        } else {
            self.stop();
        }
        self.child = Command::new(target_dir().join("rvirtd"))
            .arg("--config")
            .arg(self.dir.0.join("rvirtd.toml"))
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn rvirtd again");
        self.wait_ready();
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit status code.
    pub fn stop(&mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        None
    }
}

/// A fresh daemon directory with its `rvirtd.toml`: private sockets, state and log, the
/// modules of `modules`, and `extra` appended.
fn write_config(modules: &Path, extra: &str) -> TempDir {
    let dir = TempDir::new("rvirtd");
    let cfg = format!(
        "[listen]\nsocket_dir = \"{d}/run\"\n[modules]\ndir = \"{m}\"\n[state]\ndir = \"{d}/state\"\n[logging]\nfilter = \"info\"\noutput = \"{d}/rvirtd.log\"\n{extra}",
        d = dir.0.display(),
        m = modules.display()
    );
    std::fs::write(dir.0.join("rvirtd.toml"), cfg).expect("write config");
    dir
}

/// Spawns rvirtd on `cfg_path`, in network namespace `netns` when given.
fn spawn_rvirtd(cfg_path: &Path, env: &[(&str, String)], netns: Option<&str>) -> Child {
    let rvirtd = target_dir().join("rvirtd");
    let mut cmd = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(rvirtd);
            c
        }
        None => Command::new(rvirtd),
    };
    cmd.arg("--config")
        .arg(cfg_path)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn rvirtd")
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where a test's libvirtd runs.
enum Setting<'a> {
    /// On the host, in the machine's libvirt directories.
    Host,
    /// Inside network namespace `ns`, with `tc` bound over `/usr/sbin/tc` if given.
    Netns(&'a str, Option<&'a Path>),
    /// In a private mount namespace with its own libvirt directories.
    PrivateFiles,
}

/// libvirtd's command in a private mount namespace with `dir`'s copies of libvirt's
/// fixed directories bound over them (see [`Libvirtd::start_for_guests`]).
fn private_libvirt(dir: &Path) -> Command {
    const QEMU_CONF: &str =
        "user = \"root\"\ngroup = \"root\"\nsecurity_driver = \"none\"\nstdio_handler = \"file\"\n";
    let mut binds = String::new();
    for (own, fixed) in [
        ("etc", "/etc/libvirt"),
        ("var-run", "/run/libvirt"),
        ("lib", "/var/lib/libvirt"),
        ("cache", "/var/cache/libvirt"),
        ("log", "/var/log/libvirt"),
    ] {
        std::fs::create_dir_all(dir.join(own)).expect("create a libvirt directory");
        binds += &format!(
            "mkdir -p {fixed} && mount --bind '{}' {fixed} && ",
            dir.join(own).display()
        );
    }
    std::fs::write(dir.join("etc/qemu.conf"), QEMU_CONF).expect("write qemu.conf");
    let mut c = Command::new("unshare");
    c.args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(format!("{binds}exec /usr/sbin/libvirtd \"$@\""))
        .arg("libvirtd");
    c
}

/// A real libvirtd 9.0 with a private socket directory, as a comparison peer. `None`
/// (locally) when libvirtd is not installed; under CI that is a failure.
pub struct Libvirtd {
    pub dir: TempDir,
    pub child: Child,
    /// Held while this libvirtd runs: two libvirtd instances running as root share state
    /// paths and the second fails to start, so tests (even in other processes) take turns.
    _turn: std::fs::File,
}

impl Libvirtd {
    pub fn start() -> Option<Libvirtd> {
        Libvirtd::start_inner(Setting::Host)
    }

    /// Like [`Libvirtd::start`], with libvirtd inside network namespace `ns`: what its
    /// network driver creates (bridges, dnsmasq, firewall rules) stays there. Its files
    /// are still the host's (`/etc/libvirt`, `/var/lib/libvirt`, `/run/libvirt`), so the
    /// test must undefine what it defines.
    pub fn start_in_netns(ns: &netns::Netns) -> Option<Libvirtd> {
        Libvirtd::start_inner(Setting::Netns(ns.name(), None))
    }

    /// Like [`Libvirtd::start_in_netns`], with `tc` (e.g. [`netns::tc_recorder`]) bound
    /// over `/usr/sbin/tc` (the path libvirt runs) in the mount namespace `ip netns exec`
    /// makes for it: the machine's own `/usr/sbin/tc` is untouched.
    pub fn start_in_netns_with_tc(ns: &netns::Netns, tc: &Path) -> Option<Libvirtd> {
        Libvirtd::start_inner(Setting::Netns(ns.name(), Some(tc)))
    }

    /// Like [`Libvirtd::start`], able to run guests: in a private mount namespace its
    /// `/etc/libvirt`, `/run/libvirt`, `/var/lib/libvirt`, `/var/cache/libvirt` and
    /// `/var/log/libvirt` are the test's own directories, with a `qemu.conf` that runs QEMU
    /// as root without labelling and writes QEMU's output to a file (no virtlogd runs).
    /// The machine's own libvirt files are untouched.
    pub fn start_for_guests() -> Option<Libvirtd> {
        Libvirtd::start_inner(Setting::PrivateFiles)
    }

    fn start_inner(setting: Setting) -> Option<Libvirtd> {
        if !require_peer(
            "libvirtd (libvirt-daemon)",
            have_program("/usr/sbin/libvirtd"),
        ) {
            return None;
        }
        let turn = std::fs::File::create(std::env::temp_dir().join("rvirt-tests-libvirtd.lock"))
            .expect("lock file");
        turn.lock().expect("wait for the libvirtd turn");
        let dir = TempDir::new("libvirtd");
        std::fs::create_dir_all(dir.0.join("run")).expect("create libvirtd socket dir");
        let conf = dir.0.join("libvirtd.conf");
        std::fs::write(
            &conf,
            format!(
                "unix_sock_dir = \"{d}/run\"\nunix_sock_rw_perms = \"0700\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n",
                d = dir.0.display()
            ),
        )
        .expect("write libvirtd.conf");
        let mut cmd = match setting {
            Setting::PrivateFiles => private_libvirt(&dir.0),
            Setting::Netns(ns, Some(tc)) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, "sh", "-c"])
                    .arg("mount --bind \"$0\" /usr/sbin/tc && exec /usr/sbin/libvirtd \"$@\"")
                    .arg(tc);
                c
            }
            Setting::Netns(ns, None) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, "/usr/sbin/libvirtd"]);
                c
            }
            Setting::Host => Command::new("/usr/sbin/libvirtd"),
        };
        let child = cmd
            .arg("--config")
            .arg(&conf)
            .arg("--pid-file")
            .arg(dir.0.join("libvirtd.pid"))
            .env(
                "LIBVIRT_LOG_OUTPUTS",
                format!("3:file:{}/libvirtd.log", dir.0.display()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn libvirtd");
        let l = Libvirtd {
            dir,
            child,
            _turn: turn,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::os::unix::net::UnixStream::connect(l.socket()).is_ok() {
                return Some(l);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "libvirtd did not start; see {}/libvirtd.log",
            l.dir.0.display()
        );
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.0.join("run/libvirt-sock")
    }

    pub fn uri(&self, driver: &str, path: &str) -> String {
        format!("{driver}+unix:///{path}?socket={}", self.socket().display())
    }
}

impl Drop for Libvirtd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loop device over a sparse file of `size` bytes, detached on drop; `None` where loop
/// devices cannot be set up (no free device, not root).
pub struct LoopDevice {
    pub dev: String,
}

impl LoopDevice {
    pub fn new(image: &Path, size: u64) -> Option<LoopDevice> {
        LoopDevice::setup(image, size, false)
    }

    /// Like [`LoopDevice::new`], with the kernel scanning its partition table
    /// (`losetup -P`: partitions appear as `/dev/loopNpM`).
    pub fn with_partitions(image: &Path, size: u64) -> Option<LoopDevice> {
        LoopDevice::setup(image, size, true)
    }

    fn setup(image: &Path, size: u64, partitions: bool) -> Option<LoopDevice> {
        let f = std::fs::File::create(image).ok()?;
        f.set_len(size).ok()?;
        let out = Command::new("losetup")
            .args(if partitions {
                &["-P", "-f", "--show"][..]
            } else {
                &["-f", "--show"][..]
            })
            .arg(image)
            .output()
            .ok()?;
        let dev = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !dev.is_empty()).then_some(LoopDevice { dev })
    }

    /// Zeroes the first 4 MiB of the device, so that it holds no file system.
    pub fn blank(&self) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&self.dev)
            .expect("open loop device");
        f.write_all(&vec![0u8; 4 << 20]).expect("blank loop device");
        f.sync_all().expect("sync loop device");
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.dev]).status();
    }
}

/// Real QEMU (`/usr/bin/qemu-system-x86_64`) as a peer: a failure under CI when missing,
/// a skip message locally.
pub fn require_qemu() -> bool {
    require_peer(
        "qemu-system-x86_64 (qemu-system-x86)",
        have_program(lab::QEMU),
    )
}

/// What a test running the same guests on a real libvirtd and on rvirtd starts with: real
/// QEMU, virsh and each of `more` (a peer's name and whether it is there) as peers, then
/// a libvirtd for guests and an rvirtd. `None` when a peer is missing (a failure under
/// CI, a skip message locally).
pub fn guest_daemons(more: &[(&str, bool)]) -> Option<(Libvirtd, Daemon)> {
    let peers = require_qemu()
        && require_peer("virsh (libvirt-clients)", have_program(virsh::VIRSH))
        && more.iter().all(|(what, there)| require_peer(what, *there));
    if !peers {
        return None;
    }
    let libvirtd = Libvirtd::start_for_guests()?;
    Some((libvirtd, Daemon::start("")))
}

/// Runs `/usr/bin/python3 ARGS` (a script and its arguments, or `-c CODE ...`), failing
/// the test with its standard error unless it exits 0; answers its standard output.
pub fn python_output(args: &[&str]) -> String {
    let out = Command::new("/usr/bin/python3")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run /usr/bin/python3");
    assert!(
        out.status.success(),
        "python3 {:?}: {}",
        args.first(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What the libvirt-python script `tests/data/SCRIPT` prints when run against `uri` with
/// a domain document and a work directory: the transcripts the differential tests compare.
pub fn script_transcript(script: &str, uri: &str, xml: &Path, dir: &Path) -> String {
    let script = repo_root().join("tests/data").join(script);
    python_output(&[
        script.to_str().expect("UTF-8 path"),
        uri,
        xml.to_str().expect("UTF-8 path"),
        dir.to_str().expect("UTF-8 path"),
    ])
}

/// The descriptor QEMU process `pid` got for its first tap netdev, as libvirt passes
/// one (`-netdev tap,id=hostnet0,fd=N`).
pub fn qemu_tap_fd(pid: i32) -> String {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).expect("QEMU's command line");
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    cmdline
        .split("tap,id=hostnet0,fd=")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_else(|| panic!("no tap fd in {cmdline}"))
        .to_string()
}
