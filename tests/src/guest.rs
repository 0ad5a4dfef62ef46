//! A real guest for tests that boot one: Debian's kernel (it boots under TCG in seconds)
//! and a busybox initramfs the test writes itself, as a newc cpio archive.

use std::time::Duration;

/// Debian's kernel (`linux-image-cloud-amd64`): the vmlinuz under /boot and its modules
/// directory; the cloud flavour is preferred, any kernel with modules will do.
pub fn guest_kernel() -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let mut found: Vec<(std::path::PathBuf, std::path::PathBuf)> = std::fs::read_dir("/boot")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let version = name.strip_prefix("vmlinuz-")?;
            let modules = std::path::PathBuf::from(format!("/lib/modules/{version}"));
            (modules.join("kernel/drivers/acpi/button.ko").is_file()
                && std::fs::File::open(e.path()).is_ok())
            .then(|| (e.path(), modules))
        })
        .collect();
    found.sort_by_key(|(k, _)| !k.to_string_lossy().contains("cloud"));
    found.into_iter().next()
}

pub const BUSYBOX: &str = "/bin/busybox";

/// Whether `elf` is a 64-bit little-endian ELF executable without a program interpreter.
pub fn is_static_elf64(elf: &[u8]) -> bool {
    let u16_at = |o: usize| {
        elf.get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u64_at = |o: usize| {
        elf.get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()) as usize)
    };
    if !elf.starts_with(b"\x7fELF\x02\x01") {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return false;
    };
    (0..phnum).all(|i| {
        elf.get(phoff + i * phentsize..phoff + i * phentsize + 4)
            .is_some_and(|t| t != 3u32.to_le_bytes())
    })
}

/// A newc ("070701") cpio archive, the format the kernel unpacks as initramfs.
#[derive(Default)]
pub struct Cpio {
    data: Vec<u8>,
    ino: u32,
}

impl Cpio {
    pub fn entry(&mut self, name: &str, mode: u32, body: &[u8], rdev: (u32, u32)) {
        self.ino += 1;
        let fields = [
            self.ino,
            mode,
            0,
            0,
            if mode & 0o170000 == 0o040000 { 2 } else { 1 },
            0,
            body.len() as u32,
            0,
            0,
            rdev.0,
            rdev.1,
            name.len() as u32 + 1,
            0,
        ];
        self.data.extend_from_slice(b"070701");
        for f in fields {
            self.data.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.data.extend_from_slice(name.as_bytes());
        self.data.push(0);
        self.pad();
        self.data.extend_from_slice(body);
        self.pad();
    }

    pub fn pad(&mut self) {
        while !self.data.len().is_multiple_of(4) {
            self.data.push(0);
        }
    }

    pub fn dir(&mut self, name: &str) {
        self.entry(name, 0o040755, b"", (0, 0));
    }

    pub fn file(&mut self, name: &str, mode: u32, body: &[u8]) {
        self.entry(name, 0o100000 | mode, body, (0, 0));
    }

    pub fn symlink(&mut self, name: &str, target: &str) {
        self.entry(name, 0o120777, target.as_bytes(), (0, 0));
    }

    pub fn chardev(&mut self, name: &str, major: u32, minor: u32) {
        self.entry(name, 0o020600, b"", (major, minor));
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, b"", (0, 0));
        self.data
    }
}

/// An initramfs: the usual directories, /dev/console, busybox with `links` in /bin,
/// `/init` and each `(name, path under modules)` kernel module as `/modules/NAME`.
pub fn build_initramfs(
    modules: &std::path::Path,
    out: &std::path::Path,
    init: &str,
    links: &[&str],
    kmods: &[(&str, &str)],
) {
    build_initramfs_with(modules, out, init, links, kmods, &Extras::default());
}

/// What a guest gets beyond busybox: host programs at their own paths with every
/// shared library `ldd` names (the dynamic loader included), and files `(path, mode,
/// body)`; their directories are made as needed.
#[derive(Default)]
pub struct Extras<'a> {
    pub programs: &'a [&'a str],
    pub files: &'a [(&'a str, u32, &'a [u8])],
}

/// Adds the directories of `path` (relative, no leading '/') not yet in `made`.
fn parents(c: &mut Cpio, made: &mut std::collections::BTreeSet<String>, path: &str) {
    let mut at = String::new();
    let parts: Vec<&str> = path.split('/').collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        if !at.is_empty() {
            at.push('/');
        }
        at.push_str(part);
        if made.insert(at.clone()) {
            c.dir(&at);
        }
    }
}

fn add_extras(c: &mut Cpio, made: &mut std::collections::BTreeSet<String>, x: &Extras) {
    let mut paths: Vec<String> = Vec::new();
    for p in x.programs {
        paths.push(p.to_string());
        paths.extend(crate::lab::shared_libraries(std::path::Path::new(p)));
    }
    paths.sort();
    paths.dedup();
    for p in paths {
        let rel = p.trim_start_matches('/');
        parents(c, made, rel);
        let body = std::fs::read(&p).unwrap_or_else(|e| panic!("read {p}: {e}"));
        c.file(rel, 0o755, &body);
    }
    for (path, mode, body) in x.files {
        let rel = path.trim_start_matches('/');
        parents(c, made, rel);
        c.file(rel, *mode, body);
    }
}

/// [`build_initramfs`] with [`Extras`].
pub fn build_initramfs_with(
    modules: &std::path::Path,
    out: &std::path::Path,
    init: &str,
    links: &[&str],
    kmods: &[(&str, &str)],
    extras: &Extras,
) {
    let mut c = Cpio::default();
    let mut made = std::collections::BTreeSet::new();
    for d in [
        "bin", "sbin", "usr", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp", "modules", "etc",
        "run", "var",
    ] {
        c.dir(d);
        made.insert(d.to_string());
    }
    c.chardev("dev/console", 5, 1);
    c.file("init", 0o755, init.as_bytes());
    c.file(
        "bin/busybox",
        0o755,
        &std::fs::read(BUSYBOX).expect("read busybox"),
    );
    for l in links {
        c.symlink(&format!("bin/{l}"), "busybox");
    }
    c.symlink("sbin/poweroff", "../bin/busybox");
    for (name, rel) in kmods {
        let body = std::fs::read(modules.join(rel)).expect("read kernel module");
        c.file(&format!("modules/{name}"), 0o644, &body);
    }
    add_extras(&mut c, &mut made, extras);
    std::fs::write(out, c.finish()).expect("write initramfs");
}

/// Whether busybox is the static binary (busybox-static) a guest can run.
/// The kernel and modules directory a real guest needs, with a static busybox (the
/// initramfs's only program); `None` (locally) when either is missing.
pub fn peers() -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let kernel = guest_kernel();
    if !crate::require_peer(
        "a Linux kernel under /boot with modules (linux-image-cloud-amd64)",
        kernel.is_some(),
    ) {
        return None;
    }
    // busybox-static is a static binary; a dynamic busybox would need its libraries.
    if !crate::require_peer("a static busybox (busybox-static)", static_busybox()) {
        return None;
    }
    kernel
}

pub fn static_busybox() -> bool {
    std::fs::read(BUSYBOX).is_ok_and(|b| is_static_elf64(&b))
}

pub fn have_kvm() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok()
}

/// Whether the real guest runs under KVM. Off unless `RVIRT_GUEST_KVM=1`: on the nested
/// (AMD, svm) hosts this project runs on, /dev/kvm works for the QEMU process, but a Linux
/// kernel under KVM does not get past its decompressor in minutes (seen with the default
/// CPU model, kvm64 and qemu64), while TCG boots it in seconds.
pub fn guest_kvm() -> bool {
    std::env::var("RVIRT_GUEST_KVM").is_ok_and(|v| v == "1") && have_kvm()
}

/// How long a guest may take to boot (TCG on a loaded 2-core machine included).
pub fn boot_timeout() -> Duration {
    Duration::from_secs(180)
}
