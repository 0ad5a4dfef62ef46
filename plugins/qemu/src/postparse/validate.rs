//! The checks libvirt's QEMU driver makes on a definition after its post-parse step,
//! with libvirt's texts: the PCI root must be the machine's, Q35 has no IDE and i440FX one
//! IDE controller, SPICE
//! channels and audio need SPICE graphics, the Intel IOMMU needs Q35, virtiofs needs
//! shared memory, BIOS serial output needs a serial port, the CPU topology must hold
//! the vCPUs, and an emulated TPM 2.0 needs swtpm.

use rvirt_xml::domain::{ChrKind, Device, DomainDef, GenericDevice};
use rvirt_xml::XmlError;

use super::Chipset;
use crate::error::QemuError;

/// Refuses what libvirt's validation refuses of a post-parsed definition.
pub fn check(def: &DomainDef) -> Result<(), QemuError> {
    let Some(chipset) = Chipset::of(def) else {
        return Ok(());
    };
    pci_root(def, chipset)?;
    bios_serial(def)?;
    topology(def)?;
    let spice = def
        .devices
        .iter()
        .any(|d| matches!(d, Device::Graphics(g) if g.graphics_type == "spice"));
    for d in &def.devices {
        match d {
            Device::Controller(c) if c.controller_type == "ide" && chipset == Chipset::Q35 => {
                return Err(unsupported(
                    "IDE controllers are unsupported for this QEMU binary or machine type",
                ));
            }
            Device::Controller(c) if c.controller_type == "ide" && c.index > 0 => {
                return Err(unsupported(
                    "Only a single IDE controller is supported for this machine type",
                ));
            }
            Device::Controller(c)
                if c.controller_type == "pci"
                    && c.model.as_deref() == Some("pcie-to-pci-bridge")
                    && c.info.address.is_none() =>
            {
                // No free root port took it, and libvirt adds none for a bridge.
                return Err(QemuError::Xml(XmlError::reported(
                    rvirt_plugin_api::sdk::code::INTERNAL_ERROR,
                    Some(rvirt_plugin_api::sdk::domain::DOMAIN),
                    "internal error: Cannot automatically add a new PCI bus for a device \
                     with connect flags 2000",
                )));
            }
            Device::Chr(c) if c.source_type == "spicevmc" && !spice => {
                return Err(spicevmc());
            }
            Device::Generic(g) => generic(def, g, chipset, spice)?,
            _ => {}
        }
    }
    Ok(())
}

/// `VIR_ERR_XML_ERROR` from the QEMU driver (libvirt reports these from its domain, not
/// the XML parser's).
fn xml_error(msg: String) -> QemuError {
    QemuError::Xml(XmlError::reported(
        rvirt_xml::XML_ERROR,
        Some(rvirt_plugin_api::sdk::domain::QEMU),
        format!("XML error: {msg}"),
    ))
}

fn unsupported(msg: &str) -> QemuError {
    QemuError::Unsupported(msg.to_string())
}

fn spicevmc() -> QemuError {
    unsupported("chardev 'spicevmc' not supported without spice graphics")
}

fn generic(
    def: &DomainDef,
    g: &GenericDevice,
    chipset: Chipset,
    spice: bool,
) -> Result<(), QemuError> {
    let attr = |n: &str| g.attr(n);
    match g.element.name.as_str() {
        "redirdev" | "smartcard" if attr("type") == Some("spicevmc") && !spice => Err(spicevmc()),
        "audio" if attr("type") == Some("spice") && !spice => Err(unsupported(
            "Spice audio is not supported without spice graphics",
        )),
        "iommu" if attr("model") == Some("intel") && chipset != Chipset::Q35 => Err(unsupported(
            "IOMMU device: 'intel' is only supported with Q35 machines",
        )),
        "filesystem" if fs_driver(g) == Some("virtiofs") && !shared_memory(def) => {
            Err(unsupported("'virtiofs' requires shared memory"))
        }
        "tpm" => tpm(g),
        _ => Ok(()),
    }
}

fn fs_driver(g: &GenericDevice) -> Option<&str> {
    g.element.child("driver").and_then(|d| d.attr("type"))
}

/// Whether guest memory is shared: `<memoryBacking><access mode='shared'/>` or every
/// NUMA cell `memAccess='shared'`.
fn shared_memory(def: &DomainDef) -> bool {
    let backing = def.extras().simple.iter().any(|e| {
        e.name == "memoryBacking"
            && e.child("access").and_then(|a| a.attr("mode")) == Some("shared")
    });
    let cells: Vec<_> = def
        .cpu
        .iter()
        .flat_map(|c| c.extra.iter())
        .filter(|x| x.name == "numa")
        .flat_map(|n| n.children.iter())
        .collect();
    backing || (!cells.is_empty() && cells.iter().all(|c| c.attr("memAccess") == Some("shared")))
}

/// An emulated TPM is checked against the swtpm found on the host.
fn tpm(g: &GenericDevice) -> Result<(), QemuError> {
    let Some(backend) = g.element.child("backend") else {
        return Ok(());
    };
    if backend.attr("type") != Some("emulator") {
        return Ok(());
    }
    let version = backend.attr("version").unwrap_or("2.0");
    // libvirt needs all of swtpm's programs; the driver runs these two.
    let found = [crate::tpm::SWTPM, crate::tpm::SWTPM_SETUP]
        .iter()
        .all(|p| std::path::Path::new(p).exists());
    if !found {
        return Err(QemuError::Unsupported(format!(
            "TPM version '{version}' is not supported"
        )));
    }
    Ok(())
}

fn pci_root(def: &DomainDef, chipset: Chipset) -> Result<(), QemuError> {
    let want = match chipset {
        Chipset::I440fx => "pci-root",
        Chipset::Q35 => "pcie-root",
    };
    let root = def.devices.iter().find_map(|d| match d {
        Device::Controller(c) if c.controller_type == "pci" && c.index == 0 => c.model.as_deref(),
        _ => None,
    });
    match root {
        Some(m) if m != want => Err(xml_error(format!(
            "The PCI controller with index='0' must be model='{want}' for this machine type, \
             but model='{m}' was found instead"
        ))),
        _ => Ok(()),
    }
}

fn bios_serial(def: &DomainDef) -> Result<(), QemuError> {
    let useserial = def
        .os
        .opts()
        .extra
        .iter()
        .any(|e| e.name == "bios" && e.attr("useserial") == Some("yes"));
    let serial = def
        .devices
        .iter()
        .any(|d| matches!(d, Device::Chr(c) if c.kind == ChrKind::Serial));
    if useserial && !serial {
        return Err(xml_error(
            "need at least one serial port to use BIOS serial output".into(),
        ));
    }
    Ok(())
}

fn topology(def: &DomainDef) -> Result<(), QemuError> {
    let Some((s, d, c, t)) = def.cpu.as_ref().and_then(|c| c.topology) else {
        return Ok(());
    };
    if s.saturating_mul(d.max(1))
        .saturating_mul(c)
        .saturating_mul(t)
        != def.vcpus
    {
        return Err(unsupported("CPU topology doesn't match maximum vcpu count"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::HostInfo;

    fn refusal(machine: &str, extra: &str, devices: &str) -> Option<String> {
        let xml = format!(
            "<domain type='kvm'><name>t</name><memory>131072</memory><vcpu>2</vcpu>\
             <os><type arch='x86_64' machine='{machine}'>hvm</type></os>{extra}\
             <devices>{devices}</devices></domain>"
        );
        let opts = rvirt_xml::ParseOptions::default().with_default_usb();
        let mut def = DomainDef::parse_with(&xml, opts).unwrap();
        super::super::run(
            &HostInfo::default(),
            "/usr/bin/qemu-system-x86_64",
            &mut def,
        );
        check(&def).err().map(|e| e.to_string())
    }

    #[test]
    fn libvirts_refusals() {
        assert_eq!(
            refusal(
                "pc",
                "",
                "<disk type='file'><source file='/a'/><target dev='vda' bus='virtio'/></disk>"
            ),
            None
        );
        assert_eq!(
            refusal("q35", "", "<controller type='ide' index='0'/>").unwrap(),
            "unsupported configuration: IDE controllers are unsupported for this QEMU binary or machine type"
        );
        assert!(refusal(
            "q35",
            "",
            "<controller type='pci' index='0' model='pci-root'/>"
        )
        .unwrap()
        .contains("must be model='pcie-root' for this machine type, but model='pci-root'"));
        assert!(refusal("pc", "", "<redirdev bus='usb' type='spicevmc'/>")
            .unwrap()
            .ends_with("chardev 'spicevmc' not supported without spice graphics"));
        assert!(refusal("pc", "", "<iommu model='intel'/>").is_some());
        assert_eq!(refusal("q35", "", "<iommu model='intel'/>"), None);
        assert!(refusal(
            "pc",
            "<cpu><topology sockets='1' dies='1' cores='1' threads='1'/></cpu>",
            ""
        )
        .unwrap()
        .ends_with("CPU topology doesn't match maximum vcpu count"));
        let fs = "<filesystem type='mount'><driver type='virtiofs'/><source dir='/s'/><target dir='s'/></filesystem>";
        assert!(refusal("pc", "", fs)
            .unwrap()
            .ends_with("'virtiofs' requires shared memory"));
        let shared = "<memoryBacking><access mode='shared'/></memoryBacking>";
        assert_eq!(refusal("pc", shared, fs), None);
    }
}
