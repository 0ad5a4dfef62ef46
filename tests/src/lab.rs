//! The test lab: a throwaway Linux guest for tests that need what this machine's kernel
//! lacks (device-mapper, NFS, iSCSI, an IOMMU, ...).
//!
//! A [`Lab`] boots Debian's kernel (`linux-image-cloud-amd64`, found by
//! [`guest::guest_kernel`]) under QEMU with TCG (`-accel tcg`: KVM hangs Linux kernels on
//! this project's nested hosts) and an initramfs written here as a newc cpio
//! ([`guest::Cpio`]) that holds:
//!
//! - busybox (the static one, `busybox-static`), its applets installed as symlinks;
//! - the kernel modules asked for with [`Lab::modules`] and everything they depend on
//!   (from the kernel's `modules.dep`; built-in ones are skipped), loaded in dependency
//!   order with `insmod` before the script runs (`.ko.xz`/`.ko.zst` are unpacked on the
//!   host with `xz`/`zstd`, as busybox's insmod cannot);
//! - host programs ([`Lab::binaries`]) at their own paths with every shared library `ldd`
//!   names and the dynamic loader; a path that is a symlink (`/sbin/pvcreate`) is kept as
//!   one. The guest's file system is usr-merged as Debian's (`/bin` → `usr/bin`, ...);
//! - data files ([`Lab::file`], [`Lab::host_file`]);
//! - with [`Lab::rvirt`], the built `rvirtd`, `rvirsh` and the named driver modules from
//!   the target directory (stripped when `strip` is there, to keep the image small), a
//!   config `/etc/rvirt/rvirtd.toml`, and rvirtd started before the script;
//!   `LIBVIRT_DEFAULT_URI` points `rvirsh` at it.
//!
//! Disks ([`Lab::disk`]) are raw image files on virtio-blk (`/dev/vda`, `/dev/vdb`, ... in
//! the order given) or virtio-scsi (`/dev/sda`, ...); the modules they need are added.
//! [`Lab::memory`], [`Lab::machine`] (`q35`), [`Lab::iommu`] (an `intel-iommu` device and
//! `intel_iommu=on`) and [`Lab::qemu_args`] shape the machine.
//!
//! The script ([`Lab::script`], busybox `sh`) runs as the init's last step, its stdout and
//! stderr on the second serial port, which the host reads into [`LabOutput::lines`]; the
//! kernel's console is the first serial port ([`LabOutput::console`]). The init then
//! prints `LAB-EXIT RC` and powers off. Inside the script:
//!
//! - busybox's shell runs its own applets before `PATH` (Debian's busybox-static prefers
//!   applets): call a host program that is also an applet by its full path
//!   (`/usr/bin/xz`); programs run by rvirtd are found on `PATH` as usual;
//! - `step CMD ARGS...` runs a command between `LAB-STEP CMD ARGS` and `LAB-RC N`
//!   lines: [`LabOutput::steps`] gives each command (its words joined by spaces, quotes
//!   gone) with its output and exit code;
//! - `rvirtd_start` / `rvirtd_stop` (with [`Lab::rvirt`]) start and stop the daemon,
//!   `rvirtd_kill9` kills it; its log is `/var/log/rvirtd.log`.
//!
//! Servers for network storage run in the guest before the script, on `127.0.0.1`:
//! [`Lab::nfs_server`] (the kernel's NFS server exporting a tmpfs, with the NFS client)
//! and [`Lab::iscsi_target`] (tgt's target with file-backed LUNs, with open-iscsi's
//! initiator and `/dev/disk/by-path` links made as udev would).
//!
//! [`Lab::run`] is bounded by its timeout: QEMU is killed at the deadline (and always, on
//! drop), and the output says whether the run timed out. A boot to the script takes
//! 3-6 s under TCG here (kernel, 20-40 MB initramfs with rvirt; see [`LabOutput::boot`]).
//!
//! Tests call [`Lab::available`] first: QEMU, the kernel and a static busybox are
//! required under `CI=true` (a missing one fails the test) and skip the test locally.
//!
//! ```no_run
//! # use rvirt_tests::lab::Lab;
//! let out = Lab::new()
//!     .modules(&["dm-mod"])
//!     .binaries(&["/sbin/lvm", "/sbin/pvs"])
//!     .disk_sized("pv.img", 64 << 20)
//!     .script("step pvcreate /dev/vda\n")
//!     .run(std::time::Duration::from_secs(90));
//! assert_eq!(out.steps()[0].rc, 0, "{}", out.transcript());
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod kmod;
mod servers;

use crate::guest::{self, Cpio};
use crate::{have_program, require_peer, target_dir, TempDir};
use kmod::{module_file_name, read_module, resolve_modules};

pub const QEMU: &str = "/usr/bin/qemu-system-x86_64";

/// How a disk is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bus {
    /// virtio-blk: `/dev/vdX`.
    VirtioBlk,
    /// A `scsi-hd` on a virtio-scsi controller: `/dev/sdX`.
    VirtioScsi,
}

/// A guest to boot: what goes into its initramfs, its disks and its script.
pub struct Lab {
    dir: TempDir,
    modules: Vec<String>,
    binaries: Vec<String>,
    files: Vec<(String, u32, Vec<u8>)>,
    disks: Vec<(PathBuf, Bus)>,
    rvirt: Option<Vec<String>>,
    script: String,
    /// Shell run before the script (servers the lab starts, see `servers.rs`).
    prelude: String,
    memory_mib: u32,
    machine: String,
    iommu: bool,
    cmdline: String,
    qemu_args: Vec<String>,
}

/// One `step` of the script: the command line, what it printed and its exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub cmd: String,
    pub out: String,
    pub rc: i32,
}

/// What a run gave.
#[derive(Debug, Clone)]
pub struct LabOutput {
    /// The script's output (stdout and stderr), line by line.
    pub lines: Vec<String>,
    /// The kernel console (first serial port).
    pub console: String,
    /// The script's exit code (`LAB-EXIT`), `None` if it never finished.
    pub exit: Option<i32>,
    /// Whether the deadline was reached and QEMU killed.
    pub timed_out: bool,
    /// From QEMU's start to the end of the run.
    pub elapsed: Duration,
    /// From QEMU's start to the script's first output (`LAB-READY`), when seen.
    pub boot: Option<Duration>,
}

impl LabOutput {
    /// The `step` commands in order.
    pub fn steps(&self) -> Vec<Step> {
        let mut steps = Vec::new();
        let mut cur: Option<Step> = None;
        for l in &self.lines {
            if let Some(cmd) = l.strip_prefix("LAB-STEP ") {
                cur = Some(Step {
                    cmd: cmd.to_string(),
                    out: String::new(),
                    rc: -1,
                });
            } else if let Some(rc) = l.strip_prefix("LAB-RC ") {
                if let Some(mut s) = cur.take() {
                    s.rc = rc.trim().parse().unwrap_or(-1);
                    steps.push(s);
                }
            } else if let Some(s) = cur.as_mut() {
                s.out.push_str(l);
                s.out.push('\n');
            }
        }
        steps.extend(cur);
        steps
    }

    /// The first step whose command line is `cmd`; panics with the transcript if none.
    pub fn step(&self, cmd: &str) -> Step {
        self.steps()
            .into_iter()
            .find(|s| s.cmd == cmd)
            .unwrap_or_else(|| panic!("no step `{cmd}` in:\n{}", self.transcript()))
    }

    /// Asserts that the script finished with 0 and every step exited 0 (the transcript
    /// in the message otherwise).
    pub fn assert_steps_ok(&self) {
        let t = self.transcript();
        assert_eq!(self.exit, Some(0), "{t}");
        for s in self.steps() {
            assert_eq!(s.rc, 0, "{}: {}\n{t}", s.cmd, s.out);
        }
    }

    /// Everything, for assertion messages: the script's lines, then the console's tail.
    pub fn transcript(&self) -> String {
        let tail: Vec<&str> = self.console.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!(
            "--- script (exit {:?}, timed out {}, {:?}) ---\n{}\n--- console (tail) ---\n{}",
            self.exit,
            self.timed_out,
            self.elapsed,
            self.lines.join("\n"),
            tail.join("\n")
        )
    }
}

impl Default for Lab {
    fn default() -> Lab {
        Lab::new()
    }
}

impl Lab {
    pub fn new() -> Lab {
        Lab {
            dir: TempDir::new("lab"),
            modules: Vec::new(),
            binaries: Vec::new(),
            files: Vec::new(),
            disks: Vec::new(),
            rvirt: None,
            script: String::new(),
            prelude: String::new(),
            memory_mib: 512,
            machine: "pc".into(),
            iommu: false,
            cmdline: String::new(),
            qemu_args: Vec::new(),
        }
    }

    /// Whether a lab can run here: QEMU, a kernel with modules and a static busybox.
    /// Under `CI=true` a missing one panics; locally the test should return (skip).
    pub fn available() -> bool {
        require_peer("qemu-system-x86 (the lab guest)", have_program(QEMU))
            && require_peer(
                "a Linux kernel under /boot with modules (linux-image-cloud-amd64)",
                guest::guest_kernel().is_some(),
            )
            && require_peer("a static busybox (busybox-static)", guest::static_busybox())
    }

    /// A scratch directory that lives as long as the lab (for disk images and the like).
    pub fn dir(&self) -> &Path {
        &self.dir.0
    }

    /// Kernel modules by name (`dm-mod`, `dm_thin_pool`), with their dependencies.
    pub fn modules(mut self, names: &[&str]) -> Lab {
        self.modules.extend(names.iter().map(|s| s.to_string()));
        self
    }

    /// Host programs, copied with their shared libraries.
    pub fn binaries(mut self, paths: &[&str]) -> Lab {
        self.binaries.extend(paths.iter().map(|s| s.to_string()));
        self
    }

    /// A file in the guest at `path` (absolute) with `mode`.
    pub fn file(mut self, path: &str, mode: u32, body: &[u8]) -> Lab {
        self.files.push((path.to_string(), mode, body.to_vec()));
        self
    }

    /// A host file copied to the same path in the guest (skipped if it does not exist).
    pub fn host_file(self, path: &str) -> Lab {
        match std::fs::read(path) {
            Ok(body) => self.file(path, 0o644, &body),
            Err(_) => self,
        }
    }

    /// A raw image file as a virtio-blk disk.
    pub fn disk(self, image: &Path) -> Lab {
        self.disk_on(image, Bus::VirtioBlk)
    }

    /// A raw image file on the given bus.
    pub fn disk_on(mut self, image: &Path, bus: Bus) -> Lab {
        let mods: &[&str] = match bus {
            Bus::VirtioBlk => &["virtio_pci", "virtio_blk"],
            Bus::VirtioScsi => &["virtio_pci", "virtio_scsi", "sd_mod"],
        };
        self.modules.extend(mods.iter().map(|s| s.to_string()));
        self.disks.push((image.to_path_buf(), bus));
        self
    }

    /// A new sparse raw image of `size` bytes in the lab's directory, as a virtio-blk disk.
    pub fn disk_sized(self, name: &str, size: u64) -> Lab {
        let path = self.dir.0.join(name);
        let f = std::fs::File::create(&path).expect("create disk image");
        f.set_len(size).expect("size disk image");
        self.disk(&path)
    }

    /// The built rvirtd and rvirsh with the driver modules `modules` (`["storage"]`);
    /// rvirtd runs before the script starts.
    pub fn rvirt(mut self, modules: &[&str]) -> Lab {
        self.rvirt = Some(modules.iter().map(|s| s.to_string()).collect());
        self
    }

    /// The test script (busybox sh), run as the init's last step.
    pub fn script(mut self, sh: &str) -> Lab {
        self.script = sh.to_string();
        self
    }

    pub fn memory(mut self, mib: u32) -> Lab {
        self.memory_mib = mib;
        self
    }

    /// QEMU's machine type (`pc`, the default, or `q35`).
    pub fn machine(mut self, machine: &str) -> Lab {
        self.machine = machine.to_string();
        self
    }

    /// An emulated Intel IOMMU (implies `q35`), enabled on the kernel's command line.
    pub fn iommu(mut self) -> Lab {
        self.iommu = true;
        self.machine = "q35".into();
        self
    }

    /// Words added to the kernel's command line.
    pub fn cmdline(mut self, extra: &str) -> Lab {
        self.cmdline = extra.to_string();
        self
    }

    /// Arguments added to QEMU's command line.
    pub fn qemu_args(mut self, args: &[&str]) -> Lab {
        self.qemu_args.extend(args.iter().map(|s| s.to_string()));
        self
    }

    /// Builds the initramfs, boots the guest and collects its output; QEMU is killed at
    /// `timeout` at the latest.
    pub fn run(self, timeout: Duration) -> LabOutput {
        let (kernel, modules_dir) = guest::guest_kernel().expect("a guest kernel");
        let initrd = self.dir.0.join("initrd.cpio");
        std::fs::write(&initrd, self.initramfs(&modules_dir)).expect("write initramfs");
        let console = self.dir.0.join("console.log");
        let out = self.dir.0.join("script.log");
        let mut qemu = Command::new(QEMU);
        qemu.args(self.qemu_command(&kernel, &initrd, &console, &out))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let start = Instant::now();
        let child = qemu.spawn().expect("spawn qemu");
        let mut guard = Killer(child);
        let mut boot = None;
        let timed_out = loop {
            if boot.is_none()
                && std::fs::read_to_string(&out).is_ok_and(|t| t.contains("LAB-READY"))
            {
                boot = Some(start.elapsed());
            }
            if let Ok(Some(_)) = guard.0.try_wait() {
                break false;
            }
            if start.elapsed() > timeout {
                break true;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let _ = guard.0.kill();
        let _ = guard.0.wait();
        let mut qemu_err = String::new();
        if let Some(mut e) = guard.0.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut qemu_err);
        }
        let text =
            String::from_utf8_lossy(&std::fs::read(&out).unwrap_or_default()).replace('\r', "");
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let exit = lines
            .iter()
            .find_map(|l| l.strip_prefix("LAB-EXIT ")?.trim().parse().ok());
        let mut console =
            String::from_utf8_lossy(&std::fs::read(&console).unwrap_or_default()).replace('\r', "");
        console.push_str(&qemu_err);
        LabOutput {
            lines,
            console,
            exit,
            timed_out,
            elapsed: start.elapsed(),
            boot,
        }
    }

    fn qemu_command(
        &self,
        kernel: &Path,
        initrd: &Path,
        console: &Path,
        out: &Path,
    ) -> Vec<String> {
        let mut append = "console=ttyS0 panic=-1 quiet loglevel=4 rdinit=/init".to_string();
        if self.iommu {
            append.push_str(" intel_iommu=on");
        }
        if !self.cmdline.is_empty() {
            append.push(' ');
            append.push_str(&self.cmdline);
        }
        let mut a: Vec<String> = [
            "-nodefaults",
            "-no-user-config",
            "-no-reboot",
            "-display",
            "none",
            "-accel",
            "tcg",
            "-smp",
            "1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend([
            "-machine".into(),
            self.machine.clone(),
            "-m".into(),
            self.memory_mib.to_string(),
            "-kernel".into(),
            kernel.display().to_string(),
            "-initrd".into(),
            initrd.display().to_string(),
            "-append".into(),
            append,
            "-serial".into(),
            format!("file:{}", console.display()),
            "-serial".into(),
            format!("file:{}", out.display()),
        ]);
        if self.iommu {
            a.extend(["-device".into(), "intel-iommu".into()]);
        }
        if self.disks.iter().any(|(_, b)| *b == Bus::VirtioScsi) {
            a.extend(["-device".into(), "virtio-scsi-pci,id=scsi0".into()]);
        }
        for (i, (img, bus)) in self.disks.iter().enumerate() {
            a.push("-drive".into());
            a.push(format!(
                "file={},format=raw,if=none,id=lab{i},cache=unsafe",
                img.display()
            ));
            a.push("-device".into());
            a.push(match bus {
                Bus::VirtioBlk => format!("virtio-blk-pci,drive=lab{i},serial=lab{i}"),
                Bus::VirtioScsi => format!("scsi-hd,bus=scsi0.0,drive=lab{i},serial=lab{i}"),
            });
        }
        a.extend(self.qemu_args.iter().cloned());
        a
    }

    /// The initramfs: layout, busybox, modules, binaries, files, rvirt and /init.
    fn initramfs(&self, modules_dir: &Path) -> Vec<u8> {
        let mut fs = Tree::default();
        for d in [
            "usr/bin",
            "usr/sbin",
            "usr/lib",
            "usr/lib64",
            "proc",
            "sys",
            "dev",
        ] {
            fs.dir(d);
        }
        for d in ["tmp", "run", "var/log", "var/lib", "etc", "root", "mnt"] {
            fs.dir(d);
        }
        for l in ["bin", "sbin", "lib", "lib64"] {
            fs.symlink(l, &format!("usr/{l}"));
        }
        fs.cpio.chardev("dev/console", 5, 1);
        let busybox = std::fs::read(guest::BUSYBOX).expect("read busybox");
        fs.file("usr/bin/busybox", 0o755, &busybox);
        fs.file("etc/passwd", 0o644, b"root:x:0:0:root:/root:/bin/sh\n");
        fs.file("etc/group", 0o644, b"root:x:0:\n");
        let kmods = resolve_modules(modules_dir, &self.modules);
        let mut load = String::new();
        for rel in &kmods {
            let guest_path = format!("usr/lib/modules/lab/{}", module_file_name(rel));
            fs.file(&guest_path, 0o644, &read_module(&modules_dir.join(rel)));
            load.push_str(&format!(
                "insmod /{guest_path} || echo LAB-INSMOD-FAILED {rel}\n"
            ));
        }
        let mut binaries = self.binaries.clone();
        if let Some(mods) = &self.rvirt {
            self.add_rvirt(&mut fs, mods, &mut binaries);
        }
        for b in &binaries {
            fs.host_program(Path::new(b));
        }
        for (path, mode, body) in &self.files {
            fs.file(path.trim_start_matches('/'), *mode, body);
        }
        let script = format!("{}{}", self.prelude, self.script);
        fs.file("lab.sh", 0o755, script.as_bytes());
        fs.file(
            "init",
            0o755,
            init_script(&load, self.rvirt.is_some()).as_bytes(),
        );
        fs.cpio.finish()
    }

    /// rvirtd, rvirsh and the driver modules (stripped copies), and rvirtd's config.
    fn add_rvirt(&self, fs: &mut Tree, mods: &[String], binaries: &mut Vec<String>) {
        let t = target_dir();
        let stage = self.dir.0.join("rvirt");
        std::fs::create_dir_all(&stage).expect("stage dir");
        let mut files = vec![("usr/sbin/rvirtd", t.join("rvirtd"))];
        files.push(("usr/bin/rvirsh", t.join("rvirsh")));
        let so: Vec<(String, PathBuf)> = mods
            .iter()
            .map(|m| {
                let n = format!("librvirt_driver_{m}.so");
                (format!("usr/lib/rvirt/modules/{n}"), t.join(n))
            })
            .collect();
        for (guest_path, host) in files
            .iter()
            .map(|(g, h)| (g.to_string(), h.clone()))
            .chain(so)
        {
            let staged = stage.join(host.file_name().unwrap());
            let stripped = Command::new("strip")
                .arg("-o")
                .arg(&staged)
                .arg(&host)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            let src = if stripped { &staged } else { &host };
            let body = std::fs::read(src)
                .unwrap_or_else(|e| panic!("read {} (is it built?): {e}", host.display()));
            fs.file(&guest_path, 0o755, &body);
            for lib in shared_libraries(src) {
                binaries.push(lib);
            }
        }
        fs.file(
            "etc/rvirt/rvirtd.toml",
            0o644,
            b"[listen]\nsocket_dir = \"/run/rvirt\"\n[modules]\ndir = \"/usr/lib/rvirt/modules\"\n\
              [state]\ndir = \"/var/lib/rvirt\"\n[logging]\nfilter = \"info\"\n\
              output = \"/var/log/rvirtd.log\"\n",
        );
    }
}

/// Kills QEMU when dropped (a panicking test included).
struct Killer(std::process::Child);

impl Drop for Killer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The init: mounts, modules, then the script with its output on ttyS1.
fn init_script(load: &str, rvirt: bool) -> String {
    let rvirt_start = if rvirt { "rvirtd_start\n" } else { "" };
    format!(
        r#"#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin HOME=/root
export LIBVIRT_DEFAULT_URI='qemu+unix:///system?socket=/run/rvirt/rvirt-sock'
# No udev in the lab: device-mapper users create their nodes themselves.
export DM_DISABLE_UDEV=1
# No dmeventd either: LVM monitors nothing.
export LVM_SUPPRESS_FD_WARNINGS=1
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts
{load}
step() {{
    echo "LAB-STEP $*"
    "$@"
    echo "LAB-RC $?"
}}
rvirtd_start() {{
    rvirtd --config /etc/rvirt/rvirtd.toml </dev/null >>/var/log/rvirtd.log 2>&1 &
    RVIRTD_PID=$!
    n=0
    while [ ! -S /run/rvirt/rvirt-sock ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n+1)); done
    [ -S /run/rvirt/rvirt-sock ] || {{ echo LAB-RVIRTD-DID-NOT-START; cat /var/log/rvirtd.log; }}
}}
rvirtd_stop() {{
    kill "$RVIRTD_PID"; wait "$RVIRTD_PID"; rm -f /run/rvirt/rvirt-sock /run/rvirt/rvirt-sock-ro
}}
rvirtd_kill9() {{
    kill -9 "$RVIRTD_PID"; wait "$RVIRTD_PID"; rm -f /run/rvirt/rvirt-sock /run/rvirt/rvirt-sock-ro
}}
{{
echo LAB-READY
{rvirt_start}( . /lab.sh )
rc=$?
echo "LAB-EXIT $rc"
}} >/dev/ttyS1 2>&1
sync
poweroff -f
"#
    )
}

/// The files of an initramfs being written: directories are made once, parents first.
#[derive(Default)]
struct Tree {
    cpio: Cpio,
    made: BTreeSet<String>,
}

impl Tree {
    fn dir(&mut self, path: &str) {
        let mut cur = String::new();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            if !cur.is_empty() {
                cur.push('/');
            }
            cur.push_str(part);
            if self.made.insert(cur.clone()) {
                self.cpio.dir(&cur);
            }
        }
    }

    fn parent(&mut self, path: &str) {
        if let Some((p, _)) = path.rsplit_once('/') {
            self.dir(p);
        }
    }

    fn file(&mut self, path: &str, mode: u32, body: &[u8]) {
        if self.made.insert(path.to_string()) {
            self.parent(path);
            self.cpio.file(path, mode, body);
        }
    }

    fn symlink(&mut self, path: &str, target: &str) {
        if self.made.insert(path.to_string()) {
            self.parent(path);
            self.cpio.symlink(path, target);
        }
    }

    /// A host file at its real path (usr-merged like the guest), and `path` as a symlink
    /// to it when `path` itself is one.
    fn host_program(&mut self, path: &Path) {
        let real = std::fs::canonicalize(path)
            .unwrap_or_else(|e| panic!("lab: {} not found: {e}", path.display()));
        let body = std::fs::read(&real).expect("read host program");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&real).expect("stat").permissions(),
        ) & 0o7777;
        let real_s = real.to_string_lossy().trim_start_matches('/').to_string();
        self.file(&real_s, mode, &body);
        let via = path
            .parent()
            .and_then(|p| std::fs::canonicalize(p).ok())
            .map(|p| p.join(path.file_name().unwrap()));
        if let Some(via) = via.filter(|v| *v != real) {
            let via = via.to_string_lossy().trim_start_matches('/').to_string();
            self.symlink(&via, &format!("/{real_s}"));
        }
        for lib in shared_libraries(&real) {
            self.host_program(Path::new(&lib));
        }
    }
}

/// The shared libraries `ldd` finds for `path`, the dynamic loader included.
pub fn shared_libraries(path: &Path) -> Vec<String> {
    let Ok(out) = Command::new("ldd").arg(path).output() else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let p = match l.split_once("=>") {
                Some((_, right)) => right.split_whitespace().next()?,
                None => l.split_whitespace().next()?,
            };
            p.starts_with('/').then(|| p.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_parsed_from_marker_lines() {
        let out = LabOutput {
            lines: [
                "LAB-READY",
                "LAB-STEP echo hi",
                "hi",
                "LAB-RC 0",
                "LAB-STEP false",
                "LAB-RC 1",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            console: String::new(),
            exit: Some(0),
            timed_out: false,
            elapsed: Duration::ZERO,
            boot: None,
        };
        let s = out.steps();
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].cmd.as_str(), s[0].out.as_str(), s[0].rc),
            ("echo hi", "hi\n", 0)
        );
        assert_eq!(out.step("false").rc, 1);
    }

    #[test]
    fn ldd_names_the_loader() {
        let libs = shared_libraries(Path::new("/bin/sh"));
        if !libs.is_empty() {
            assert!(libs.iter().any(|l| l.contains("ld-linux")), "{libs:?}");
        }
    }
}
