//! libvirt's post-parse step for QEMU guests: what a definition gains between parse and
//! store. The machine type becomes its versioned name, the CPU model and the emulator are
//! written in ([`defaults`] adds the implicit controllers, inputs, audio backend and memory
//! balloon of the machine), then every PCI device gets its address ([`pci`]) and every USB
//! device its port ([`usb`]). The inactive XML after define is this result.

mod alias;
mod defaults;
mod pci;
mod pci_order;
mod usb;
mod validate;

pub use alias::assign as assign_aliases;
pub use validate::check;

use rvirt_xml::domain::DomainDef;

use crate::caps::HostInfo;

/// Runs the whole post-parse step on `def`; `emulator` is the driver's default binary.
pub fn run(host: &HostInfo, emulator: &str, def: &mut DomainDef) {
    let machine = match def.machine.as_deref() {
        Some(m) => host.canonical_machine(m),
        None => host
            .machines
            .iter()
            .find(|m| m.is_default)
            .map(|m| m.name.clone())
            .unwrap_or_else(|| host.canonical_machine("pc")),
    };
    numa_memory(def);
    set_default_cpu(def, host.default_cpu(&machine));
    def.machine = Some(machine);
    // As libvirt's post-parse: the emulator the capabilities name is written in.
    def.emulator.get_or_insert_with(|| emulator.to_string());
    let Some(chipset) = Chipset::of(def) else {
        return;
    };
    defaults::add(def, chipset);
    pci::assign(def, chipset);
    usb::assign(def);
}

/// Gives the devices of `def` that have none their PCI address and USB port, as the
/// post-parse step does (for a device hotplugged into a live definition).
pub fn assign_addresses(def: &mut DomainDef) {
    if let Some(chipset) = Chipset::of(def) {
        pci::assign(def, chipset);
        usb::assign(def);
    }
}

/// A new definition with guest NUMA cells has their sum as its memory size (libvirt's
/// ABI-update parse); a current size equal to the old memory size counts as unset.
/// vCPUs no cell names go to cell 0.
fn numa_memory(def: &mut DomainDef) {
    let total = def.cpu.as_ref().map_or(0, |c| c.numa_memory_kib());
    if total == 0 {
        return;
    }
    let vcpus = def.vcpus;
    if let Some(cpu) = def.cpu.as_mut() {
        cpu.fill_numa_cell0(vcpus);
    }
    if def.current_memory_kib == def.memory_kib || def.current_memory_kib > total {
        def.current_memory_kib = total;
    }
    def.memory_kib = total;
}

/// What `domxml-to-native` does after the post-parse step, as libvirt: the interfaces
/// are written anew (as `ethernet` ones in libvirt), so they lose their PCI addresses and
/// are placed again after every other device.
pub fn for_native(def: &mut DomainDef) {
    let Some(chipset) = Chipset::of(def) else {
        return;
    };
    for i in def.interfaces_mut() {
        if matches!(i.info.address, Some(rvirt_xml::domain::Address::Pci { .. })) {
            i.info.address = None;
        }
    }
    pci::assign(def, chipset);
}

/// The x86 chipsets whose implicit devices and PCI layout libvirt knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chipset {
    /// i440FX with PIIX3 (`pc-i440fx-*`): a conventional PCI root bus.
    I440fx,
    /// Q35 with ICH9 (`pc-q35-*`): a PCIe root complex.
    Q35,
}

impl Chipset {
    /// The chipset of an x86 guest's (canonical) machine type.
    pub fn of(def: &DomainDef) -> Option<Chipset> {
        if def
            .arch
            .as_deref()
            .is_some_and(|a| a != "x86_64" && a != "i686")
        {
            return None;
        }
        let m = def.machine.as_deref()?;
        if m == "q35" || m.starts_with("pc-q35") {
            Some(Chipset::Q35)
        } else if m == "pc" || m.starts_with("pc-i440fx") || m.starts_with("pc-") {
            Some(Chipset::I440fx)
        } else {
            None
        }
    }
}

/// libvirt's CPU post-parse: a definition without a CPU model gets the one QEMU gives
/// the machine type, spelled out (`<cpu mode='custom' match='exact' check='none'><model
/// fallback='forbid'>qemu64</model></cpu>`); a custom model named by the user is
/// checked `partial`ly, a host-passthrough CPU not at all and migratable.
fn set_default_cpu(def: &mut DomainDef, machine_cpu: Option<&str>) {
    let unnamed = def
        .cpu
        .as_ref()
        .is_none_or(|c| c.mode.as_deref().is_none_or(|m| m == "custom") && c.model.is_none());
    if unnamed {
        let Some(model) = machine_cpu else { return };
        let cpu = def.cpu.get_or_insert_with(Default::default);
        cpu.mode = Some("custom".into());
        cpu.match_ = Some("exact".into());
        cpu.check.get_or_insert_with(|| "none".into());
        cpu.model = Some(model.into());
        cpu.model_fallback = Some("forbid".into());
        return;
    }
    let Some(cpu) = def.cpu.as_mut() else { return };
    match cpu.mode.as_deref().unwrap_or("custom") {
        "custom" => {
            cpu.check.get_or_insert_with(|| "partial".into());
        }
        "host-passthrough" => {
            cpu.check.get_or_insert_with(|| "none".into());
            cpu.migratable.get_or_insert_with(|| "on".into());
        }
        _ => {}
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `devices` defined on `machine` through the whole post-parse step, as the XML of
    /// `<devices>` (one line per element, emulator left out).
    pub fn devices_after(machine: &str, devices: &str) -> Vec<String> {
        let xml = format!(
            "<domain type='kvm'><name>t</name><memory>131072</memory>\
             <os><type arch='x86_64' machine='{machine}'>hvm</type></os>\
             <devices>{devices}</devices></domain>"
        );
        let mut def = DomainDef::parse(&xml).unwrap();
        run(
            &HostInfo::default(),
            "/usr/bin/qemu-system-x86_64",
            &mut def,
        );
        let out = def.to_xml(None);
        let a = out.find("<devices>").unwrap();
        let b = out.find("</devices>").unwrap();
        out[a + 9..b]
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty() && !l.starts_with("<emulator>"))
            .collect()
    }

    #[test]
    fn a_stored_definition_comes_back_unchanged() {
        for machine in ["pc", "q35"] {
            let xml = format!(
                "<domain type='kvm'><name>t</name><memory>131072</memory>\
                 <os><type arch='x86_64' machine='{machine}'>hvm</type></os><devices>\
                 <interface type='user'><mac address='52:54:00:00:00:01'/></interface>\
                 <disk type='file'><source file='/a'/><target dev='vda' bus='virtio'/></disk>\
                 <channel type='unix'><target type='virtio' name='a'/></channel>\
                 <input type='tablet' bus='usb'/><graphics type='vnc'/></devices></domain>"
            );
            let host = HostInfo::default();
            let mut def = DomainDef::parse(&xml).unwrap();
            run(&host, "/usr/bin/qemu-system-x86_64", &mut def);
            // Read back, the stored document is what the parser makes of it (which, as
            // libvirt's, sorts given controllers by index); post-parse adds nothing more.
            let stored = DomainDef::parse(&def.to_xml(None)).unwrap();
            let mut again = stored.clone();
            run(&host, "/usr/bin/qemu-system-x86_64", &mut again);
            assert_eq!(again.to_xml(None), stored.to_xml(None));
        }
    }

    #[test]
    fn numa_cells_make_the_memory_size() {
        let mut def = DomainDef::parse(
            "<domain type='kvm'><name>t</name><memory>262144</memory><vcpu>2</vcpu>\
             <os><type arch='x86_64' machine='pc'>hvm</type></os><cpu mode='host-passthrough'>\
             <numa><cell id='0' cpus='0' memory='1048576' unit='KiB'/></numa></cpu></domain>",
        )
        .unwrap();
        run(
            &HostInfo::default(),
            "/usr/bin/qemu-system-x86_64",
            &mut def,
        );
        assert_eq!((def.memory_kib, def.current_memory_kib), (1048576, 1048576));
        let xml = def.to_xml(None);
        assert!(
            xml.contains("<cell id='0' cpus='0-1' memory='1048576' unit='KiB'/>"),
            "{xml}"
        );
    }

    #[test]
    fn chipsets() {
        let def = |m: &str| {
            DomainDef::parse(&format!(
                "<domain type='kvm'><name>t</name><memory>1</memory>\
                 <os><type arch='x86_64' machine='{m}'>hvm</type></os></domain>"
            ))
            .unwrap()
        };
        assert_eq!(Chipset::of(&def("pc-i440fx-7.2")), Some(Chipset::I440fx));
        assert_eq!(Chipset::of(&def("pc-q35-6.2")), Some(Chipset::Q35));
        assert_eq!(Chipset::of(&def("microvm")), None);
        assert_eq!(Chipset::of(&def("isapc")), None);
    }
}
