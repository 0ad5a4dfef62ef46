//! `virConnectGetDomainCapabilities`: what a QEMU binary offers, probed from the binary and
//! cached per binary path until the binary's modification time or size changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use crate::caps::HostInfo;
use crate::error::{QResult, QemuError};

/// What identifies one build of a binary: a changed file is probed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    mtime: Option<SystemTime>,
    size: u64,
}

/// Probe results per emulator binary.
#[derive(Debug, Default)]
pub struct Cache {
    entries: Mutex<HashMap<PathBuf, (Stamp, Arc<HostInfo>)>>,
}

impl Cache {
    /// The probe of `emulator`, from the cache while the binary is unchanged; `probe` runs
    /// otherwise (outside the lock).
    pub fn get(
        &self,
        emulator: &str,
        probe: impl FnOnce(&str) -> HostInfo,
    ) -> QResult<Arc<HostInfo>> {
        let path = Path::new(emulator);
        let meta = std::fs::metadata(path)
            .map_err(|e| QemuError::io(format!("Cannot check QEMU binary {emulator}"), &e))?;
        let stamp = Stamp {
            mtime: meta.modified().ok(),
            size: meta.len(),
        };
        let lock = || self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((s, info)) = lock().get(path) {
            if *s == stamp {
                return Ok(info.clone());
            }
        }
        let info = Arc::new(probe(emulator));
        lock().insert(path.to_path_buf(), (stamp, info.clone()));
        Ok(info)
    }
}

/// The architecture a `qemu-system-ARCH` binary emulates.
pub fn binary_arch(emulator: &str) -> Option<&str> {
    Path::new(emulator)
        .file_name()?
        .to_str()?
        .strip_prefix("qemu-system-")
}

/// What the caller asked for (each may be absent).
#[derive(Debug, Default)]
pub struct Request<'a> {
    pub arch: Option<&'a str>,
    pub machine: Option<&'a str>,
    pub virttype: Option<&'a str>,
}

fn enum_values(out: &mut String, indent: &str, name: &str, values: &[&str]) {
    if values.is_empty() {
        out.push_str(&format!("{indent}<enum name='{name}'/>\n"));
        return;
    }
    out.push_str(&format!("{indent}<enum name='{name}'>\n"));
    for v in values {
        out.push_str(&format!("{indent}  <value>{v}</value>\n"));
    }
    out.push_str(&format!("{indent}</enum>\n"));
}

/// The `<domainCapabilities>` document for `info` (a probe of `info.emulator`).
pub fn xml(info: &HostInfo, req: &Request<'_>) -> QResult<String> {
    let emulator = info.emulator.as_str();
    let bin_arch = binary_arch(emulator).unwrap_or("x86_64");
    let arch = req.arch.unwrap_or(bin_arch);
    if arch != bin_arch {
        return Err(QemuError::Unsupported(format!(
            "Emulator '{emulator}' does not support arch '{arch}'"
        ))
        .into());
    }
    let virttype = match req.virttype {
        None if info.kvm => "kvm",
        None => "qemu",
        Some(t @ ("kvm" | "qemu")) => t,
        Some(t) => {
            return Err(QemuError::InvalidArg(format!("unknown virttype: {t}")).into());
        }
    };
    if virttype == "kvm" && !info.kvm {
        return Err(QemuError::Unsupported(format!(
            "KVM is not supported by '{emulator}' on this host"
        ))
        .into());
    }
    let machine = match req.machine {
        Some(m) => {
            if !info.machines.iter().any(|x| x.name == m) {
                return Err(QemuError::InvalidArg(format!(
                    "the machine '{m}' is not supported by emulator '{emulator}'"
                ))
                .into());
            }
            info.canonical_machine(m)
        }
        None => info
            .machines
            .iter()
            .find(|m| m.is_default)
            .map(|m| info.canonical_machine(&m.name))
            .unwrap_or_else(|| "pc".into()),
    };
    let max_vcpus = info.machine_max_cpus(&machine);
    let mut s = String::from("<domainCapabilities>\n");
    s.push_str(&format!("  <path>{emulator}</path>\n"));
    s.push_str(&format!("  <domain>{virttype}</domain>\n"));
    s.push_str(&format!("  <machine>{machine}</machine>\n"));
    s.push_str(&format!("  <arch>{arch}</arch>\n"));
    s.push_str(&format!("  <vcpu max='{max_vcpus}'/>\n"));
    s.push_str("  <iothreads supported='yes'/>\n");
    os_section(&mut s, arch, &machine);
    s.push_str("  <cpu>\n");
    let passthrough = if virttype == "kvm" { "yes" } else { "no" };
    s.push_str(&format!(
        "    <mode name='host-passthrough' supported='{passthrough}'/>\n"
    ));
    s.push_str("    <mode name='maximum' supported='yes'/>\n");
    s.push_str("    <mode name='host-model' supported='no'/>\n");
    s.push_str("    <mode name='custom' supported='no'/>\n");
    s.push_str("  </cpu>\n");
    s.push_str("  <devices>\n");
    s.push_str("    <disk supported='yes'>\n");
    enum_values(&mut s, "      ", "diskDevice", &["disk", "cdrom", "floppy"]);
    enum_values(
        &mut s,
        "      ",
        "bus",
        &["ide", "fdc", "scsi", "virtio", "sata"],
    );
    enum_values(&mut s, "      ", "model", &["virtio"]);
    s.push_str("    </disk>\n");
    s.push_str("    <graphics supported='yes'>\n");
    enum_values(&mut s, "      ", "type", &["vnc", "spice"]);
    s.push_str("    </graphics>\n");
    s.push_str("    <video supported='yes'>\n");
    enum_values(
        &mut s,
        "      ",
        "modelType",
        &["vga", "cirrus", "virtio", "none"],
    );
    s.push_str("    </video>\n");
    hostdev_section(&mut s);
    s.push_str("    <rng supported='yes'>\n");
    enum_values(&mut s, "      ", "model", &["virtio"]);
    enum_values(&mut s, "      ", "backendModel", &["random"]);
    s.push_str("    </rng>\n");
    tpm_section(&mut s);
    s.push_str("  </devices>\n");
    s.push_str("  <features>\n");
    s.push_str("    <gic supported='no'/>\n");
    s.push_str("    <vmcoreinfo supported='yes'/>\n");
    s.push_str("    <genid supported='no'/>\n");
    s.push_str("    <sev supported='no'/>\n");
    s.push_str("  </features>\n");
    s.push_str("</domainCapabilities>\n");
    Ok(s)
}

/// `<hostdev>`: PCI devices through VFIO (crate::hostdev), the backend listed as libvirt
/// lists it, only when the host has VFIO.
fn hostdev_section(s: &mut String) {
    s.push_str("    <hostdev supported='yes'>\n");
    enum_values(s, "      ", "mode", &["subsystem"]);
    enum_values(s, "      ", "subsysType", &["pci"]);
    enum_values(s, "      ", "capsType", &[]);
    let vfio: &[&str] = if Path::new("/dev/vfio/vfio").exists() {
        &["default", "vfio"]
    } else {
        &[]
    };
    enum_values(s, "      ", "pciBackend", vfio);
    s.push_str("    </hostdev>\n");
}

/// `<tpm>`: emulated TPMs (crate::tpm), offered when swtpm is installed.
fn tpm_section(s: &mut String) {
    if !Path::new(crate::tpm::SWTPM).exists() {
        s.push_str("    <tpm supported='no'/>\n");
        return;
    }
    s.push_str("    <tpm supported='yes'>\n");
    enum_values(s, "      ", "model", &["tpm-tis", "tpm-crb"]);
    enum_values(s, "      ", "backendModel", &["emulator"]);
    enum_values(s, "      ", "backendVersion", &["1.2", "2.0"]);
    s.push_str("    </tpm>\n");
}

/// `<os>`: the firmware QEMU's descriptors offer for this machine (crate::firmware).
fn os_section(s: &mut String, arch: &str, machine: &str) {
    let found = crate::firmware::descriptors(crate::firmware::DESCRIPTOR_DIRS);
    let (paths, secure) = crate::firmware::loaders(&found, arch, machine);
    s.push_str("  <os supported='yes'>\n");
    if !paths.is_empty() {
        enum_values(s, "    ", "firmware", &["efi"]);
    }
    s.push_str("    <loader supported='yes'>\n");
    for p in &paths {
        s.push_str(&format!("      <value>{p}</value>\n"));
    }
    enum_values(s, "      ", "type", &["rom", "pflash"]);
    enum_values(s, "      ", "readonly", &["yes", "no"]);
    let secure: &[&str] = if secure { &["yes", "no"] } else { &["no"] };
    enum_values(s, "      ", "secure", secure);
    s.push_str("    </loader>\n  </os>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::Machine;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn fake(emulator: &str, kvm: bool) -> HostInfo {
        HostInfo {
            emulator: emulator.to_string(),
            qemu_version: 7_002_000,
            machines: vec![
                Machine {
                    name: "pc".into(),
                    canonical: Some("pc-i440fx-7.2".into()),
                    is_default: true,
                    deprecated: false,
                    default_cpu: Some("qemu64".into()),
                },
                Machine {
                    name: "q35".into(),
                    canonical: Some("pc-q35-7.2".into()),
                    is_default: false,
                    deprecated: false,
                    default_cpu: Some("qemu64".into()),
                },
            ],
            kvm,
            max_cpus: Default::default(),
        }
    }

    #[test]
    fn cached_until_the_binary_changes() {
        let dir = std::env::temp_dir().join(format!("rvirt-domcaps-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("qemu-system-x86_64");
        std::fs::write(&bin, b"one").unwrap();
        let bin_s = bin.to_str().unwrap();
        let cache = Cache::default();
        let probes = AtomicU32::new(0);
        let probe = |e: &str| {
            probes.fetch_add(1, Ordering::SeqCst);
            fake(e, false)
        };
        let a = cache.get(bin_s, probe).unwrap();
        let b = cache.get(bin_s, probe).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(probes.load(Ordering::SeqCst), 1);
        // A new build of a different size is probed again.
        std::fs::write(&bin, b"second build").unwrap();
        cache.get(bin_s, probe).unwrap();
        assert_eq!(probes.load(Ordering::SeqCst), 2);
        // Same size, new modification time: probed again too.
        let f = std::fs::File::options().write(true).open(&bin).unwrap();
        f.set_modified(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000))
            .unwrap();
        drop(f);
        cache.get(bin_s, probe).unwrap();
        cache.get(bin_s, probe).unwrap();
        assert_eq!(probes.load(Ordering::SeqCst), 3);
        std::fs::remove_file(&bin).unwrap();
        let e = cache.get(bin_s, probe).unwrap_err();
        assert!(
            e.text().starts_with("Cannot check QEMU binary ")
                && e.text().ends_with("No such file or directory"),
            "{}",
            e.text()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn document_and_refusals() {
        let info = fake("/usr/bin/qemu-system-x86_64", false);
        let x = xml(&info, &Request::default()).unwrap();
        assert!(x.starts_with("<domainCapabilities>\n  <path>/usr/bin/qemu-system-x86_64</path>\n  <domain>qemu</domain>\n  <machine>pc-i440fx-7.2</machine>\n  <arch>x86_64</arch>\n  <vcpu max='255'/>"), "{x}");
        let x = xml(
            &info,
            &Request {
                machine: Some("q35"),
                ..Request::default()
            },
        )
        .unwrap();
        assert!(x.contains("<machine>pc-q35-7.2</machine>"), "{x}");
        let e = xml(
            &info,
            &Request {
                virttype: Some("kvm"),
                ..Request::default()
            },
        )
        .unwrap_err();
        assert!(e.text().contains("KVM is not supported"), "{}", e.text());
        let e = xml(
            &info,
            &Request {
                arch: Some("aarch64"),
                ..Request::default()
            },
        )
        .unwrap_err();
        assert!(
            e.text().contains("does not support arch 'aarch64'"),
            "{}",
            e.text()
        );
        let e = xml(
            &info,
            &Request {
                machine: Some("virt"),
                ..Request::default()
            },
        )
        .unwrap_err();
        assert!(
            e.text().contains("machine 'virt' is not supported"),
            "{}",
            e.text()
        );
        let kvm = fake("/usr/bin/qemu-system-x86_64", true);
        let x = xml(&kvm, &Request::default()).unwrap();
        assert!(
            x.contains("<domain>kvm</domain>")
                && x.contains("<mode name='host-passthrough' supported='yes'/>"),
            "{x}"
        );
    }
}
