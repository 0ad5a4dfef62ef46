//! PCI address assignment as libvirt's QEMU driver makes it at define.
//!
//! The chipset's fixed functions are reserved first (i440FX: slot 1 for the PIIX3 ISA
//! bridge, IDE and UHCI, slot 2 for the primary video; Q35: slot 0x1f for the LPC bridge,
//! SATA and SMBus, 0x1d for ICH9 USB, 0x1b for ICH9 audio, slot 1 for the primary video),
//! then every device without an address gets the first free slot that takes it, in
//! libvirt's order ([`order`]). A first dry pass finds how many buses are needed and adds
//! the controllers that make them (on Q35 a `pcie-root-port` per PCIe device plus one
//! spare for hotplug, and a `pcie-to-pci-bridge` for conventional PCI devices); the real
//! pass then places the controllers first and the devices after them.

use rvirt_xml::domain::{Address, Controller, Device, DomainDef};
use rvirt_xml::tree::Element;

use super::pci_order::{order, Conn};
use super::Chipset;

/// What kind of bus a PCI controller provides, as far as automatic placement goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BusKind {
    PciRoot,
    PcieRoot,
    RootPort,
    PcieToPciBridge,
    PciBridge,
    /// A bus nothing is placed on automatically (expanders, switches, ...).
    Other,
}

impl BusKind {
    fn of_model(model: Option<&str>) -> BusKind {
        match model {
            Some("pci-root") => BusKind::PciRoot,
            Some("pcie-root") => BusKind::PcieRoot,
            Some("pcie-root-port") => BusKind::RootPort,
            Some("pcie-to-pci-bridge") => BusKind::PcieToPciBridge,
            Some("pci-bridge") => BusKind::PciBridge,
            _ => BusKind::Other,
        }
    }

    fn model(self) -> &'static str {
        match self {
            BusKind::PciRoot => "pci-root",
            BusKind::PcieRoot => "pcie-root",
            BusKind::RootPort => "pcie-root-port",
            BusKind::PcieToPciBridge => "pcie-to-pci-bridge",
            BusKind::PciBridge | BusKind::Other => "pci-bridge",
        }
    }

    fn accepts(self, c: Conn) -> bool {
        match self {
            BusKind::PciRoot | BusKind::PciBridge | BusKind::PcieToPciBridge => {
                matches!(c, Conn::Pci | Conn::PciBridge)
            }
            BusKind::PcieRoot => c == Conn::RootPort,
            BusKind::RootPort => matches!(c, Conn::Pcie | Conn::PcieToPciBridge),
            BusKind::Other => false,
        }
    }

    fn slots(self) -> std::ops::RangeInclusive<u32> {
        match self {
            BusKind::RootPort => 0..=0,
            _ => 1..=31,
        }
    }
}

#[derive(Debug, Clone)]
struct Bus {
    kind: BusKind,
    /// Functions in use, a bit per function, per slot.
    used: [u8; 32],
    /// Slots filled with root ports function after function.
    aggregate: [bool; 32],
}

impl Bus {
    fn new(kind: BusKind) -> Bus {
        Bus {
            kind,
            used: [0; 32],
            aggregate: [false; 32],
        }
    }
}

/// The buses of one pass and what is taken on them.
struct Set {
    buses: Vec<Bus>,
    /// Whether missing buses may be added (the dry pass).
    grow: bool,
    chipset: Chipset,
    /// A bridge found no bus and none can be added for it: libvirt gives up there.
    stuck: bool,
}

type Slot = (u32, u32, u32);

impl Set {
    fn reserve(&mut self, (bus, slot, function): Slot) {
        if let Some(b) = self.buses.get_mut(bus as usize) {
            if slot < 32 && function < 8 {
                b.used[slot as usize] |= 1 << function;
            }
        }
    }

    fn is_free(&self, (bus, slot, function): Slot) -> bool {
        self.buses
            .get(bus as usize)
            .is_some_and(|b| slot < 32 && b.used[slot as usize] & (1 << function) == 0)
    }

    /// The first free place for a device connecting as `c`, taken; adds buses in the
    /// dry pass when none is left.
    fn next(&mut self, c: Conn) -> Option<Slot> {
        if let Some(a) = self.find(c) {
            self.reserve(a);
            if c == Conn::RootPort {
                self.buses[a.0 as usize].aggregate[a.1 as usize] = true;
            }
            return Some(a);
        }
        if !self.grow || !self.add_buses(c) {
            self.stuck |= self.grow && c == Conn::PcieToPciBridge;
            return None;
        }
        self.next(c)
    }

    fn find(&self, c: Conn) -> Option<Slot> {
        let fits = self
            .buses
            .iter()
            .enumerate()
            .filter(|(_, b)| b.kind.accepts(c));
        if c == Conn::RootPort {
            for (i, b) in fits.clone() {
                for s in b.kind.slots() {
                    let used = b.used[s as usize];
                    if b.aggregate[s as usize] && used != 0xff {
                        return Some((i as u32, s, used.trailing_ones()));
                    }
                }
            }
        }
        for (i, b) in fits {
            if let Some(s) = b.kind.slots().find(|s| b.used[*s as usize] == 0) {
                return Some((i as u32, s, 0));
            }
        }
        None
    }

    /// Adds the buses a device connecting as `c` needs; false when none would take it.
    fn add_buses(&mut self, c: Conn) -> bool {
        match (c, self.chipset) {
            (Conn::Pcie, Chipset::Q35) => self.buses.push(Bus::new(BusKind::RootPort)),
            (Conn::Pci | Conn::PciBridge, Chipset::Q35) => {
                let any = self.buses.iter().any(|b| b.kind.accepts(Conn::PciBridge));
                if !any {
                    // The root port the bridge itself takes.
                    let mut port = Bus::new(BusKind::RootPort);
                    port.used[0] = 1;
                    self.buses.push(port);
                    self.buses.push(Bus::new(BusKind::PcieToPciBridge));
                } else {
                    self.buses.push(Bus::new(BusKind::PciBridge));
                }
            }
            (Conn::Pci | Conn::PciBridge, Chipset::I440fx) => {
                self.buses.push(Bus::new(BusKind::PciBridge))
            }
            _ => return false,
        }
        true
    }
}

/// The PCI address of a device, if it has one.
fn pci_of(d: &Device) -> Option<Slot> {
    match d.info()?.address {
        Some(Address::Pci {
            domain: 0,
            bus,
            slot,
            function,
            ..
        }) => Some((bus, slot, function)),
        _ => None,
    }
}

fn set_pci(d: &mut Device, (bus, slot, function): Slot) {
    if let Some(info) = d.info_mut() {
        info.address = Some(Address::Pci {
            domain: 0,
            bus,
            slot,
            function,
            multifunction: None,
            zpci: None,
        });
    }
}

/// The buses the definition's PCI controllers make, by index.
fn buses_of(def: &DomainDef) -> Vec<Bus> {
    let mut buses: Vec<Bus> = Vec::new();
    for d in &def.devices {
        let Device::Controller(c) = d else { continue };
        if c.controller_type != "pci" {
            continue;
        }
        let i = c.index as usize;
        if buses.len() <= i {
            buses.resize(i + 1, Bus::new(BusKind::Other));
        }
        buses[i] = Bus::new(BusKind::of_model(c.model.as_deref()));
    }
    buses
}

/// One pass over `def`; the dry one (`grow`) adds buses and writes no address.
fn pass(def: &mut DomainDef, chipset: Chipset, grow: bool) -> Set {
    let mut set = Set {
        buses: buses_of(def),
        grow,
        chipset,
        stuck: false,
    };
    for d in &def.devices {
        if let Some(a) = pci_of(d) {
            set.reserve(a);
        }
    }
    let mut placed = vec![false; def.devices.len()];
    let (fixed, displaced) = chipset_slots(def, &mut set);
    for (i, a) in fixed {
        // As libvirt's dry pass, which does not record where a displaced primary video
        // went, and so places it a second time in its turn.
        placed[i] = !(grow && displaced == Some(i));
        if !grow {
            set_pci(&mut def.devices[i], a);
        }
    }
    if grow && chipset == Chipset::I440fx {
        // Room for a future bridge, as libvirt keeps on a PCI root bus.
        set.next(Conn::Pci);
    }
    let mut usb_masters: Vec<(u32, Slot)> = Vec::new();
    for (i, c) in order(def, chipset) {
        if placed[i] || pci_of(&def.devices[i]).is_some() {
            continue;
        }
        let a = match ich9_usb(&def.devices[i]) {
            Some((index, f)) => ich9_usb_place(&mut set, &mut usb_masters, index, f),
            None => set.next(c),
        };
        if let Some(a) = a {
            if !grow {
                set_pci(&mut def.devices[i], a);
            }
        }
    }
    set
}

/// An ICH9 USB controller's index and PCI function: EHCI at 7, UHCI companions at 0-2.
fn ich9_usb(d: &Device) -> Option<(u32, u32)> {
    let Device::Controller(c) = d else {
        return None;
    };
    let f = match c.model.as_deref()? {
        "ich9-ehci1" => 7,
        "ich9-uhci1" => 0,
        "ich9-uhci2" => 1,
        "ich9-uhci3" => 2,
        _ => return None,
    };
    (c.controller_type == "usb").then_some((c.index, f))
}

/// An ICH9 USB controller shares its bus's slot: the first of a bus takes a free slot,
/// the others their function in it.
fn ich9_usb_place(
    set: &mut Set,
    masters: &mut Vec<(u32, Slot)>,
    index: u32,
    function: u32,
) -> Option<Slot> {
    let (bus, slot) = match masters.iter().find(|m| m.0 == index) {
        Some((_, a)) => (a.0, a.1),
        None => {
            let a = set.find(Conn::Pci)?;
            masters.push((index, a));
            (a.0, a.1)
        }
    };
    let a = (bus, slot, function);
    if !set.is_free(a) {
        return set.next(Conn::Pci);
    }
    set.reserve(a);
    Some(a)
}

/// Assigns PCI addresses to every device of `def` that needs one and has none, adding
/// the buses that takes.
pub fn assign(def: &mut DomainDef, chipset: Chipset) {
    let max_index = def
        .devices
        .iter()
        .filter_map(|d| match d {
            Device::Controller(c) if c.controller_type == "pci" => Some(c.index),
            _ => None,
        })
        .max();
    let Some(max_index) = max_index else { return };
    let mut dry = pass(def, chipset, true);
    if dry.stuck {
        // Left without addresses; validation refuses the bridge as libvirt does.
        return;
    }
    if chipset == Chipset::Q35 && max_index == 0 && dry.buses.len() > 1 {
        // A spare root port for hotplug.
        dry.next(Conn::Pcie);
    }
    for (i, bus) in dry.buses.iter().enumerate().skip(1) {
        if !def.devices.iter().any(|d| {
            matches!(d, Device::Controller(c) if c.controller_type == "pci" && c.index as usize == i)
        }) {
            let mut c = Controller::new("pci", i as u32);
            c.model = Some(bus.kind.model().into());
            def.devices.push(Device::Controller(c));
        }
    }
    pass(def, chipset, false);
    multifunction(def);
    controller_details(def);
}

/// Reserves the chipset's fixed functions; returns the devices that live there, with
/// their places, and the primary video if another device held its slot.
fn chipset_slots(def: &DomainDef, set: &mut Set) -> (Vec<(usize, Slot)>, Option<usize>) {
    let primary_video = def.devices.iter().position(|d| match d {
        Device::Video(v) => !matches!(v.model.as_str(), "none" | "ramfb"),
        _ => false,
    });
    let first_video = def
        .devices
        .iter()
        .position(|d| matches!(d, Device::Video(_)));
    let video_slot = (primary_video.is_some() && primary_video == first_video)
        .then_some(primary_video)
        .flatten();
    let fixed: Vec<(usize, Slot)> = match set.chipset {
        Chipset::I440fx => {
            let mut v = Vec::new();
            v.extend(find_controller(def, "ide", 0, |_| true).map(|i| (i, (0, 1, 1))));
            v.extend(
                find_controller(def, "usb", 0, |m| matches!(m, None | Some("piix3-uhci")))
                    .map(|i| (i, (0, 1, 2))),
            );
            v.extend(video_slot.map(|i| (i, (0, 2, 0))));
            v
        }
        Chipset::Q35 => {
            let mut v = Vec::new();
            v.extend(find_controller(def, "sata", 0, |_| true).map(|i| (i, (0, 0x1f, 2))));
            for (model, f) in [
                ("ich9-ehci1", 7),
                ("ich9-uhci1", 0),
                ("ich9-uhci2", 1),
                ("ich9-uhci3", 2),
            ] {
                v.extend(
                    find_controller(def, "usb", 0, |m| m == Some(model)).map(|i| (i, (0, 0x1d, f))),
                );
            }
            let sound = def.devices.iter().position(|d| {
                matches!(d, Device::Generic(g) if g.element.name == "sound" && g.attr("model") == Some("ich9"))
            });
            v.extend(sound.map(|i| (i, (0, 0x1b, 0))));
            v.extend(video_slot.map(|i| (i, (0, 1, 0))));
            v
        }
    };
    let mut fixed: Vec<(usize, Slot)> = fixed
        .into_iter()
        .filter(|(i, a)| pci_of(&def.devices[*i]).is_none() && set.is_free(*a))
        .collect();
    for (_, a) in &fixed {
        set.reserve(*a);
    }
    let (slot, functions) = match set.chipset {
        Chipset::I440fx => (1, 0..4),
        Chipset::Q35 => (0x1f, 0..8),
    };
    for f in functions {
        set.reserve((0, slot, f));
    }
    // A primary video whose slot is taken gets the first free one, before any other.
    let mut displaced = None;
    if let Some(i) = video_slot.filter(|i| pci_of(&def.devices[*i]).is_none()) {
        if !fixed.iter().any(|(j, _)| *j == i) {
            let conn = match (&def.devices[i], set.chipset) {
                (Device::Video(v), Chipset::Q35) if v.model == "virtio" => Conn::Pcie,
                _ => Conn::Pci,
            };
            fixed.extend(set.next(conn).map(|a| (i, a)));
            displaced = Some(i);
        }
    }
    (fixed, displaced)
}

fn find_controller(
    def: &DomainDef,
    kind: &str,
    index: u32,
    model: impl Fn(Option<&str>) -> bool,
) -> Option<usize> {
    def.devices.iter().position(|d| {
        matches!(d, Device::Controller(c) if c.controller_type == kind && c.index == index
            && model(c.model.as_deref()))
    })
}

/// `multifunction='on'` on function 0 of every slot another function shares.
fn multifunction(def: &mut DomainDef) {
    let taken: Vec<Slot> = def.devices.iter().filter_map(pci_of).collect();
    for d in &mut def.devices {
        let Some(info) = d.info_mut() else { continue };
        if let Some(Address::Pci {
            bus,
            slot,
            function: 0,
            multifunction: m @ None,
            ..
        }) = &mut info.address
        {
            if taken
                .iter()
                .any(|t| t.0 == *bus && t.1 == *slot && t.2 != 0)
            {
                *m = Some("on".into());
            }
        }
    }
}

fn element(name: &str, attrs: &[(&str, String)]) -> Element {
    Element {
        name: name.into(),
        attrs: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        children: Vec::new(),
        text: String::new(),
    }
}

/// The `<model name>` and `<target>` libvirt writes for the PCI controllers it places.
fn controller_details(def: &mut DomainDef) {
    for d in &mut def.devices {
        let Device::Controller(c) = d else { continue };
        if c.controller_type != "pci" {
            continue;
        }
        let name = match c.model.as_deref() {
            Some("pcie-root-port") => "pcie-root-port",
            Some("pcie-to-pci-bridge") => "pcie-pci-bridge",
            Some("pci-bridge") => "pci-bridge",
            _ => continue,
        };
        if !c.children.iter().any(|e| e.name == "model") {
            c.children
                .insert(0, element("model", &[("name", name.into())]));
        }
        let target = match (c.model.as_deref(), &c.info.address) {
            (Some("pcie-root-port"), Some(Address::Pci { slot, function, .. })) => vec![
                ("chassis", c.index.to_string()),
                ("port", format!("{:#x}", slot << 3 | function)),
            ],
            (Some("pci-bridge"), _) => vec![("chassisNr", c.index.to_string())],
            _ => continue,
        };
        if !c.children.iter().any(|e| e.name == "target") {
            let at = c
                .children
                .iter()
                .position(|e| e.name == "model")
                .map_or(0, |p| p + 1);
            c.children.insert(at, element("target", &target));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::postparse::tests::devices_after;

    fn addresses(machine: &str, devices: &str) -> Vec<String> {
        let d = devices_after(machine, devices);
        let mut out = Vec::new();
        let mut dev = String::new();
        for l in d {
            let devices = [
                "<disk",
                "<controller",
                "<interface",
                "<video",
                "<memballoon",
            ];
            if devices.iter().any(|p| l.starts_with(p)) {
                dev = l.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
            }
            if let Some(rest) = l.strip_prefix("<address type='pci' domain='0x0000' ") {
                out.push(format!("{dev} {}", rest.trim_end_matches("/>")));
            }
        }
        out
    }

    #[test]
    fn i440fx_layout() {
        assert_eq!(
            addresses(
                "pc",
                "<disk type='file' device='disk'><source file='/a'/><target dev='vda' bus='virtio'/></disk>\
                 <interface type='user'><mac address='52:54:00:00:00:01'/></interface>\
                 <graphics type='vnc'/>"
            ),
            [
                "<disk type='file' bus='0x00' slot='0x04' function='0x0'",
                "<controller type='usb' bus='0x00' slot='0x01' function='0x2'",
                "<interface type='user'> bus='0x00' slot='0x03' function='0x0'",
                "<video> bus='0x00' slot='0x02' function='0x0'",
                "<memballoon model='virtio'> bus='0x00' slot='0x05' function='0x0'",
            ]
        );
    }

    #[test]
    fn a_displaced_primary_video_goes_first() {
        assert_eq!(
            addresses(
                "pc",
                "<interface type='user'><mac address='52:54:00:00:00:01'/><model type='virtio'/>\
                 <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/></interface>\
                 <video><model type='vga'/></video>"
            ),
            [
                "<controller type='usb' bus='0x00' slot='0x01' function='0x2'",
                "<interface type='user'> bus='0x00' slot='0x02' function='0x0'",
                "<video> bus='0x00' slot='0x03' function='0x0'",
                "<memballoon model='virtio'> bus='0x00' slot='0x04' function='0x0'",
            ]
        );
    }

    #[test]
    fn q35_root_ports_and_bridge() {
        let d = devices_after(
            "q35",
            "<interface type='user'><mac address='52:54:00:00:00:01'/><model type='e1000'/></interface>",
        );
        let text = d.join("\n");
        assert!(text.contains("<controller type='pci' index='2' model='pcie-to-pci-bridge'>\n<model name='pcie-pci-bridge'/>\n<address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>"), "{text}");
        assert!(text.contains("<controller type='pci' index='1' model='pcie-root-port'>\n<model name='pcie-root-port'/>\n<target chassis='1' port='0x8'/>\n<address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0' multifunction='on'/>"), "{text}");
        assert!(
            text.contains("<controller type='pci' index='5' model='pcie-root-port'>"),
            "{text}"
        );
        assert!(!text.contains("index='6'"), "{text}");
        assert!(text.contains("<mac address='52:54:00:00:00:01'/>\n<model type='e1000'/>\n<address type='pci' domain='0x0000' bus='0x02' slot='0x01' function='0x0'/>"), "{text}");
        assert!(text.contains("<controller type='sata' index='0'>\n<address type='pci' domain='0x0000' bus='0x00' slot='0x1f' function='0x2'/>"), "{text}");
    }
}
