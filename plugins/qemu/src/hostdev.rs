//! Host PCI devices given to guests: `<hostdev mode='subsystem' type='pci'>`.
//!
//! At start a managed device (`managed='yes'`) is detached from its host driver and bound
//! to vfio-pci by the node device driver (another module, reached by host call, never
//! linked: `NODE_DEVICE_DETACH_FLAGS` with driver `vfio`, as libvirt's qemu driver asks
//! its host device manager); an unmanaged one must be on vfio-pci already. QEMU gets
//! `-device vfio-pci,host=DDDD:BB:SS.F,id=hostdevN,bus=…,addr=…` as libvirt 9.0 writes it.
//! When the domain stops (or its start fails) managed devices are re-attached to their
//! host drivers (`NODE_DEVICE_RE_ATTACH`).

use rvirt_plugin_api::calls::call_driver;
use rvirt_plugin_api::protocol::{self as p, remote_proc, DriverKind, RemoteError};
use rvirt_xml::domain::{Device, DomainDef, GenericDevice};

use crate::argv::{unsupported, ArgvResult, Cmd};
use crate::devices::{boot_prop, pci_addr, Ctx};
use crate::error::{QResult, QemuError};

/// One host PCI device of a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciHostdev {
    /// `DDDD:BB:SS.F`.
    pub addr: String,
    pub managed: bool,
}

impl PciHostdev {
    /// The node device's name (`pci_0000_00_03_0`).
    pub fn nodedev_name(&self) -> String {
        format!("pci_{}", self.addr.replace([':', '.'], "_"))
    }
}

fn hex(s: Option<&str>) -> Option<u32> {
    let s = s?;
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// The host device of a `<hostdev>`; `None` for what is not a PCI subsystem device.
pub fn pci_of(g: &GenericDevice) -> Option<PciHostdev> {
    if g.element.name != "hostdev"
        || g.attr("mode").unwrap_or("subsystem") != "subsystem"
        || g.attr("type") != Some("pci")
    {
        return None;
    }
    let a = g.element.child("source")?.child("address")?;
    let addr = format!(
        "{:04x}:{:02x}:{:02x}.{:x}",
        hex(a.attr("domain")).unwrap_or(0),
        hex(a.attr("bus"))?,
        hex(a.attr("slot"))?,
        hex(a.attr("function")).unwrap_or(0),
    );
    Some(PciHostdev {
        addr,
        managed: g.attr("managed") == Some("yes"),
    })
}

/// The PCI host devices of `def`.
pub fn pci_hostdevs(def: &DomainDef) -> Vec<PciHostdev> {
    def.devices
        .iter()
        .filter_map(|d| match d {
            Device::Generic(g) => pci_of(g),
            _ => None,
        })
        .collect()
}

/// The arguments of one `<hostdev>` (`n`: its place among the hostdevs, for the id when
/// it has no alias).
pub(crate) fn argv(c: &mut Cmd, x: &Ctx, g: &GenericDevice, n: usize) -> ArgvResult<()> {
    let path = "domain/devices/hostdev";
    let Some(dev) = pci_of(g) else {
        return unsupported(format!(
            "{path}: only <hostdev mode='subsystem' type='pci'> is supported by this driver"
        ));
    };
    if let Some(d) = g.element.child("driver").and_then(|d| d.attr("name")) {
        if d != "vfio" {
            return unsupported(format!(
                "{path}/driver/@name '{d}': only VFIO device assignment is supported"
            ));
        }
    }
    let id = g
        .info
        .alias
        .clone()
        .unwrap_or_else(|| format!("hostdev{n}"));
    let mut s = format!("vfio-pci,host={},id={id}", dev.addr);
    s.push_str(&pci_addr(x, &g.info, path)?);
    s.push_str(&boot_prop(&g.info));
    if let Some(rom) = g.element.child("rom") {
        match rom.attr("bar") {
            Some("off") => s.push_str(",rombar=0"),
            Some("on") => s.push_str(",rombar=1"),
            _ => {}
        }
        if let Some(f) = rom.attr("file") {
            s.push_str(&format!(",romfile={}", crate::argv::esc(f)));
        }
    }
    c.opt("-device", s);
    Ok(())
}

/// The empty reply of a procedure that returns nothing.
struct Void;

impl p::Xdr for Void {
    fn encode(&self, _: &mut Vec<u8>) {}
    fn decode(_: &mut p::Reader<'_>) -> Result<Void, p::XdrError> {
        Ok(Void)
    }
}

/// Calls the node device driver; a missing module is named as such.
fn nodedev_call<A: p::Xdr>(uri: &str, procedure: i32, args: &A) -> QResult<()> {
    call_driver::<A, Void>(DriverKind::NodeDevice, uri, procedure, args)
        .map(|_| ())
        .map_err(|e: RemoteError| {
            if e.code == p::error::code::NO_SUPPORT {
                QemuError::Unsupported(
                    "a managed <hostdev> needs the node device driver, but no node device \
                     driver module is loaded"
                        .into(),
                )
                .into()
            } else {
                e
            }
        })
}

/// Whether the host PCI device `addr` is bound to vfio-pci.
fn on_vfio(addr: &str) -> bool {
    std::fs::read_link(format!("/sys/bus/pci/devices/{addr}/driver"))
        .is_ok_and(|l| l.file_name().is_some_and(|n| n == "vfio-pci"))
}

/// Detaches the managed PCI host devices of `live` for QEMU and checks that the
/// unmanaged ones are detached already. On failure what was detached is re-attached.
pub fn prepare(uri: &str, live: &DomainDef) -> QResult<()> {
    let devs = pci_hostdevs(live);
    for (i, dev) in devs.iter().enumerate() {
        let r = if dev.managed {
            let args = p::RemoteNodeDeviceDetachFlagsArgs {
                name: dev.nodedev_name(),
                driver_name: Some("vfio".into()),
                flags: 0,
            };
            nodedev_call(uri, remote_proc::NODE_DEVICE_DETACH_FLAGS, &args)
        } else if !on_vfio(&dev.addr) {
            Err(QemuError::Invalid(format!(
                "Unmanaged PCI device {} must be manually detached from the host",
                dev.addr
            ))
            .into())
        } else {
            Ok(())
        };
        if let Err(e) = r {
            reattach(uri, &devs[..i]);
            return Err(e);
        }
    }
    Ok(())
}

/// Gives the managed PCI host devices of `live` back to their host drivers (after QEMU
/// has gone). Best effort: what fails is logged.
pub fn release(uri: &str, live: &DomainDef) {
    reattach(uri, &pci_hostdevs(live));
}

fn reattach(uri: &str, devs: &[PciHostdev]) {
    for dev in devs.iter().filter(|d| d.managed) {
        let args = p::RemoteNodeDeviceReAttachArgs {
            name: dev.nodedev_name(),
        };
        if let Err(e) = nodedev_call(uri, remote_proc::NODE_DEVICE_RE_ATTACH, &args) {
            tracing::warn!("cannot re-attach PCI device {}: {}", dev.addr, e.text());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(devices: &str) -> DomainDef {
        let x = format!(
            "<domain type='kvm'><name>v</name><memory>65536</memory><os><type machine='q35'>hvm</type>\
             </os><devices>{devices}</devices></domain>"
        );
        DomainDef::parse(&x).unwrap()
    }

    const HOSTDEV: &str = "<hostdev mode='subsystem' type='pci' managed='yes'><source>\
        <address domain='0x0000' bus='0x00' slot='0x03' function='0x0'/></source></hostdev>";

    #[test]
    fn the_host_address_and_node_device_name() {
        let d = def(HOSTDEV);
        let devs = pci_hostdevs(&d);
        assert_eq!(
            devs,
            [PciHostdev {
                addr: "0000:00:03.0".into(),
                managed: true
            }]
        );
        assert_eq!(devs[0].nodedev_name(), "pci_0000_00_03_0");
    }

    #[test]
    fn without_a_host_the_node_device_driver_is_not_reached() {
        let e = prepare("qemu:///system", &def(HOSTDEV)).unwrap_err();
        assert!(e.text().contains("not attached to a host"), "{}", e.text());
        // An unmanaged device not on vfio-pci is refused with libvirt's text.
        let unmanaged = HOSTDEV.replace("managed='yes'", "managed='no'");
        let e = prepare("qemu:///system", &def(&unmanaged)).unwrap_err();
        assert_eq!(
            e.text(),
            "Requested operation is not valid: Unmanaged PCI device 0000:00:03.0 must be \
             manually detached from the host"
        );
    }
}
