//! Giving PCI devices to guests: `nodedev-detach` binds a device to `vfio-pci`,
//! `nodedev-reattach` gives it back to its host driver, `nodedev-reset` resets it, as
//! libvirt does it through sysfs (`driver_override`, the driver's `unbind`, the bus's
//! `drivers_probe`, the device's `reset`).
//!
//! Unlike libvirt, which detaches whatever it is asked to, devices the host uses are
//! refused: one that carries a mounted file system or active swap, one under the
//! interface of a default route (through bridges and bonds), and one whose IOMMU group
//! holds such a device or a device bound to a host driver (a group QEMU could not use).
//! A device a process holds through `/dev/vfio/N` is not re-attached or reset (the
//! kernel's unbind would wait for it to close).

use std::fs;
use std::path::{Path, PathBuf};

use rvirt_plugin_api::protocol::RemoteError;
use rvirt_plugin_api::sdk::{code, domain};

/// The VFIO driver for PCI devices.
pub const VFIO_PCI: &str = "vfio-pci";

/// Host drivers a device may keep without making its IOMMU group unusable (the kernel's
/// VFIO allows bridges on `pcieport` and devices held by `pci-stub`).
const GROUP_DRIVERS_ALLOWED: &[&str] = &[VFIO_PCI, "pci-stub", "pcieport"];

/// Why a device is not detached, re-attached or reset.
#[derive(Debug, thiserror::Error)]
pub enum AssignError {
    #[error("device {0} is not a PCI device")]
    NotPci(String),
    #[error("KVM device assignment is no longer supported on this system")]
    KvmAssignment,
    #[error("Unknown driver name '{0}'")]
    UnknownDriver(String),
    #[error("VFIO device assignment is currently not supported on this system")]
    NoVfio,
    #[error("PCI device {0} is not assignable: it is in no IOMMU group")]
    NoGroup(String),
    #[error("PCI device {addr} is in use by the host: it carries {what}")]
    HostUse { addr: String, what: String },
    #[error(
        "PCI device {addr} is not assignable: IOMMU group {group} is not viable, \
         {other} is bound to host driver {driver}"
    )]
    GroupNotViable {
        addr: String,
        group: String,
        other: String,
        driver: String,
    },
    #[error("PCI device {addr} is in use by {holder}")]
    InUse { addr: String, holder: String },
    #[error("Failed to load PCI stub module {0}")]
    StubModule(String),
    #[error("Failed to bind PCI device '{addr}' to {driver}")]
    Bind { addr: String, driver: String },
    #[error("Unable to reset PCI device {addr}: {reason}")]
    Reset { addr: String, reason: String },
    #[error("cannot write '{path}': {err}")]
    Write { path: String, err: std::io::Error },
}

impl AssignError {
    fn code(&self) -> i32 {
        match self {
            AssignError::NotPci(_) | AssignError::UnknownDriver(_) => code::INVALID_ARG,
            AssignError::KvmAssignment | AssignError::NoVfio => code::ARGUMENT_UNSUPPORTED,
            AssignError::NoGroup(_)
            | AssignError::HostUse { .. }
            | AssignError::GroupNotViable { .. }
            | AssignError::InUse { .. } => code::OPERATION_INVALID,
            AssignError::StubModule(_) | AssignError::Bind { .. } => code::INTERNAL_ERROR,
            AssignError::Reset { .. } | AssignError::Write { .. } => code::SYSTEM_ERROR,
        }
    }

    /// The message with libvirt's prefix for its code.
    fn text(&self) -> String {
        let prefix = match self.code() {
            code::INVALID_ARG => "invalid argument: ",
            code::ARGUMENT_UNSUPPORTED => "argument unsupported: ",
            code::OPERATION_INVALID => "Requested operation is not valid: ",
            code::INTERNAL_ERROR => "internal error: ",
            _ => "",
        };
        format!("{prefix}{self}")
    }
}

impl From<AssignError> for RemoteError {
    fn from(e: AssignError) -> RemoteError {
        // libvirt's qemu driver checks the driver name itself, in its own domain.
        let dom = match e {
            AssignError::KvmAssignment | AssignError::NoVfio => domain::QEMU,
            _ => domain::NODEDEV,
        };
        RemoteError::reported(e.code(), dom, e.text())
    }
}

type R<T> = Result<T, AssignError>;

/// Where the host's state is read and written (the real paths, or a copy in tests).
#[derive(Debug, Clone)]
pub struct Host {
    pub sys: PathBuf,
    pub proc: PathBuf,
    pub dev: PathBuf,
}

impl Host {
    pub fn new(sys: &Path) -> Host {
        Host {
            sys: sys.to_path_buf(),
            proc: PathBuf::from("/proc"),
            dev: PathBuf::from("/dev"),
        }
    }

    fn pci(&self, addr: &str) -> PathBuf {
        self.sys.join("bus/pci/devices").join(addr)
    }

    /// The driver a PCI device is bound to.
    pub fn driver_of(&self, addr: &str) -> Option<String> {
        let l = fs::read_link(self.pci(addr).join("driver")).ok()?;
        Some(l.file_name()?.to_string_lossy().into_owned())
    }

    /// The IOMMU group number of a PCI device.
    pub fn group_of(&self, addr: &str) -> Option<String> {
        let l = fs::read_link(self.pci(addr).join("iommu_group")).ok()?;
        Some(l.file_name()?.to_string_lossy().into_owned())
    }

    /// libvirt's `virHostdevHostSupportsPassthroughVFIO`: an IOMMU (a populated
    /// `/sys/kernel/iommu_groups`) and the VFIO container device.
    fn has_vfio(&self) -> bool {
        let groups = fs::read_dir(self.sys.join("kernel/iommu_groups"))
            .map(|mut d| d.next().is_some())
            .unwrap_or(false);
        groups && self.dev.join("vfio/vfio").exists()
    }

    fn write(&self, path: &Path, value: &str) -> R<()> {
        fs::write(path, value).map_err(|err| AssignError::Write {
            path: path.display().to_string(),
            err,
        })
    }
}

/// The PCI address (`0000:00:03.0`) of a device by its canonical sysfs path, when it is
/// a PCI device.
pub fn pci_address(sys_path: &Path, caps: &[&str]) -> Option<String> {
    caps.first().filter(|c| **c == "pci")?;
    Some(sys_path.file_name()?.to_string_lossy().into_owned())
}

/// The driver name asked for (`None` is libvirt's default, VFIO), checked as libvirt does.
pub fn check_driver(name: Option<&str>, host: &Host) -> R<()> {
    match name.unwrap_or("vfio") {
        "vfio" if host.has_vfio() => Ok(()),
        "vfio" => Err(AssignError::NoVfio),
        "kvm" => Err(AssignError::KvmAssignment),
        other => Err(AssignError::UnknownDriver(other.to_string())),
    }
}

/// Binds `addr` to vfio-pci (nothing to do when it already is).
pub fn detach(host: &Host, addr: &str) -> R<()> {
    if host.driver_of(addr).as_deref() == Some(VFIO_PCI) {
        return Ok(());
    }
    let group = host
        .group_of(addr)
        .ok_or(AssignError::NoGroup(addr.into()))?;
    if let Some(what) = crate::hostuse::carried_by(host, &host.pci(addr)) {
        return Err(AssignError::HostUse {
            addr: addr.into(),
            what,
        });
    }
    check_group(host, addr, &group)?;
    load_vfio_pci(host)?;
    let dev = host.pci(addr);
    host.write(&dev.join("driver_override"), VFIO_PCI)?;
    if let Some(cur) = host.driver_of(addr) {
        host.write(
            &host.sys.join("bus/pci/drivers").join(cur).join("unbind"),
            addr,
        )?;
    }
    host.write(&host.sys.join("bus/pci/drivers_probe"), addr)?;
    if host.driver_of(addr).as_deref() != Some(VFIO_PCI) {
        return Err(AssignError::Bind {
            addr: addr.into(),
            driver: VFIO_PCI.into(),
        });
    }
    Ok(())
}

/// The other devices of the group must be free for VFIO or harmless to the host.
fn check_group(host: &Host, addr: &str, group: &str) -> R<()> {
    let dir = host
        .sys
        .join("kernel/iommu_groups")
        .join(group)
        .join("devices");
    for e in fs::read_dir(&dir).into_iter().flatten().flatten() {
        let other = e.file_name().to_string_lossy().into_owned();
        if other == addr {
            continue;
        }
        if let Some(what) = crate::hostuse::carried_by(host, &host.pci(&other)) {
            return Err(AssignError::HostUse {
                addr: addr.into(),
                what: format!("nothing, but {other} of its IOMMU group {group} carries {what}"),
            });
        }
        match host.driver_of(&other) {
            Some(d) if !GROUP_DRIVERS_ALLOWED.contains(&d.as_str()) => {
                return Err(AssignError::GroupNotViable {
                    addr: addr.into(),
                    group: group.into(),
                    other,
                    driver: d,
                })
            }
            _ => {}
        }
    }
    Ok(())
}

/// Loads the vfio-pci module when its driver is not there yet (libvirt loads the stub
/// driver's module the same way).
fn load_vfio_pci(host: &Host) -> R<()> {
    let drv = host.sys.join("bus/pci/drivers").join(VFIO_PCI);
    if drv.exists() {
        return Ok(());
    }
    let ok = std::process::Command::new("modprobe")
        .arg(VFIO_PCI)
        .status()
        .is_ok_and(|s| s.success());
    if ok && drv.exists() {
        Ok(())
    } else {
        Err(AssignError::StubModule(VFIO_PCI.into()))
    }
}

/// Gives `addr` back to its host driver: off vfio-pci, `driver_override` cleared, probed
/// (nothing to do for a device not on vfio-pci).
pub fn reattach(host: &Host, addr: &str) -> R<()> {
    if host.driver_of(addr).as_deref() != Some(VFIO_PCI) {
        return Ok(());
    }
    not_held(host, addr)?;
    let dev = host.pci(addr);
    host.write(&dev.join("driver_override"), "\n")?;
    let unbind = host
        .sys
        .join("bus/pci/drivers")
        .join(VFIO_PCI)
        .join("unbind");
    host.write(&unbind, addr)?;
    host.write(&host.sys.join("bus/pci/drivers_probe"), addr)
}

/// Resets `addr` through its `reset` attribute. A device on vfio-pci is skipped as
/// libvirt skips it (VFIO resets it when it is opened and released).
pub fn reset(host: &Host, addr: &str) -> R<()> {
    if host.driver_of(addr).as_deref() == Some(VFIO_PCI) {
        return Ok(());
    }
    if let Some(what) = crate::hostuse::carried_by(host, &host.pci(addr)) {
        return Err(AssignError::HostUse {
            addr: addr.into(),
            what,
        });
    }
    let path = host.pci(addr).join("reset");
    if !path.exists() {
        return Err(AssignError::Reset {
            addr: addr.into(),
            reason: "the kernel offers no reset method for it".into(),
        });
    }
    fs::write(&path, "1").map_err(|e| AssignError::Reset {
        addr: addr.into(),
        reason: e.to_string(),
    })
}

/// Refuses a device whose VFIO group a process has open.
fn not_held(host: &Host, addr: &str) -> R<()> {
    let Some(group) = host.group_of(addr) else {
        return Ok(());
    };
    let node = host.dev.join("vfio").join(&group);
    if let Some(holder) = crate::hostuse::holder_of(&host.proc, &node) {
        return Err(AssignError::InUse {
            addr: addr.into(),
            holder,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A fake sysfs with PCI devices in IOMMU groups, bound to drivers.
    struct Fake(PathBuf);

    impl Fake {
        fn new(tag: &str) -> Fake {
            let d = std::env::temp_dir().join(format!("rvirt-assign-{tag}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&d);
            for sub in [
                "sys/bus/pci/devices",
                "sys/kernel/iommu_groups",
                "dev/vfio",
                "proc",
            ] {
                fs::create_dir_all(d.join(sub)).unwrap();
            }
            Fake(d)
        }
        fn host(&self) -> Host {
            Host {
                sys: self.0.join("sys"),
                proc: self.0.join("proc"),
                dev: self.0.join("dev"),
            }
        }
        fn device(&self, addr: &str, group: Option<&str>, driver: Option<&str>) {
            let sys = self.0.join("sys");
            let dev = sys.join("devices/pci0000:00").join(addr);
            fs::create_dir_all(&dev).unwrap();
            symlink(&dev, sys.join("bus/pci/devices").join(addr)).unwrap();
            if let Some(g) = group {
                let gd = sys.join("kernel/iommu_groups").join(g);
                fs::create_dir_all(gd.join("devices")).unwrap();
                symlink(&dev, gd.join("devices").join(addr)).unwrap();
                symlink(&gd, dev.join("iommu_group")).unwrap();
            }
            if let Some(d) = driver {
                let dd = sys.join("bus/pci/drivers").join(d);
                fs::create_dir_all(&dd).unwrap();
                symlink(&dd, dev.join("driver")).unwrap();
            }
        }
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn driver_names_and_vfio_support() {
        let f = Fake::new("drv");
        let h = f.host();
        let e: RemoteError = check_driver(None, &h).unwrap_err().into();
        assert_eq!(
            (e.code, e.domain),
            (code::ARGUMENT_UNSUPPORTED, domain::QEMU)
        );
        assert_eq!(
            e.text(),
            "argument unsupported: VFIO device assignment is currently not supported on this system"
        );
        let e: RemoteError = check_driver(Some("xen"), &h).unwrap_err().into();
        assert_eq!(e.text(), "invalid argument: Unknown driver name 'xen'");
        assert!(matches!(
            check_driver(Some("kvm"), &h),
            Err(AssignError::KvmAssignment)
        ));
        f.device("0000:00:03.0", Some("3"), Some("e1000e"));
        fs::write(f.0.join("dev/vfio/vfio"), "").unwrap();
        check_driver(Some("vfio"), &h).unwrap();
    }

    #[test]
    fn detach_refuses_a_device_without_group_or_in_a_busy_group() {
        let f = Fake::new("group");
        let h = f.host();
        f.device("0000:00:01.0", None, Some("e1000e"));
        f.device("0000:00:02.0", Some("2"), Some("e1000e"));
        f.device("0000:00:02.1", Some("2"), Some("snd_hda_intel"));
        f.device("0000:00:04.0", Some("4"), Some(VFIO_PCI));
        let e: RemoteError = detach(&h, "0000:00:01.0").unwrap_err().into();
        assert_eq!(
            e.text(),
            "Requested operation is not valid: PCI device 0000:00:01.0 is not assignable: it is in no IOMMU group"
        );
        let e = detach(&h, "0000:00:02.0").unwrap_err().to_string();
        assert!(
            e.contains(
                "IOMMU group 2 is not viable, 0000:00:02.1 is bound to host driver snd_hda_intel"
            ),
            "{e}"
        );
        // Already on vfio-pci: nothing to do, nothing written.
        detach(&h, "0000:00:04.0").unwrap();
        assert!(!f
            .0
            .join("sys/devices/pci0000:00/0000:00:04.0/driver_override")
            .exists());
        // Not on vfio-pci: reattach and reset of a vfio device change nothing.
        reattach(&h, "0000:00:02.0").unwrap();
        reset(&h, "0000:00:04.0").unwrap();
    }

    #[test]
    fn detach_writes_override_unbind_and_probe() {
        let f = Fake::new("write");
        let h = f.host();
        f.device("0000:00:03.0", Some("3"), Some("e1000e"));
        fs::create_dir_all(f.0.join("sys/bus/pci/drivers").join(VFIO_PCI)).unwrap();
        // Fake sysfs does not bind: the writes happen, then the bind is found missing.
        let e = detach(&h, "0000:00:03.0").unwrap_err().to_string();
        assert_eq!(e, "Failed to bind PCI device '0000:00:03.0' to vfio-pci");
        let dev = f.0.join("sys/devices/pci0000:00/0000:00:03.0");
        assert_eq!(
            fs::read_to_string(dev.join("driver_override")).unwrap(),
            VFIO_PCI
        );
        let unbind = f.0.join("sys/bus/pci/drivers/e1000e/unbind");
        assert_eq!(fs::read_to_string(unbind).unwrap(), "0000:00:03.0");
        let probe = f.0.join("sys/bus/pci/drivers_probe");
        assert_eq!(fs::read_to_string(probe).unwrap(), "0000:00:03.0");
    }

    #[test]
    fn reset_without_a_method_is_refused() {
        let f = Fake::new("reset");
        let h = f.host();
        f.device("0000:00:05.0", Some("5"), Some("e1000e"));
        let e = reset(&h, "0000:00:05.0").unwrap_err().to_string();
        assert!(
            e.starts_with("Unable to reset PCI device 0000:00:05.0"),
            "{e}"
        );
        fs::write(f.0.join("sys/devices/pci0000:00/0000:00:05.0/reset"), "").unwrap();
        reset(&h, "0000:00:05.0").unwrap();
    }

    #[test]
    fn pci_addresses_of_pci_devices_only() {
        let p = Path::new("/sys/devices/pci0000:00/0000:00:03.0");
        assert_eq!(pci_address(p, &["pci"]).as_deref(), Some("0000:00:03.0"));
        assert_eq!(pci_address(p, &["net"]), None);
    }
}
