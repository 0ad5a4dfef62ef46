//! The devices libvirt's QEMU driver adds to every x86 guest at define, and the default
//! models it writes in: the USB controller (PIIX3 UHCI on i440FX, QEMU XHCI on Q35), the
//! Q35 SATA controller, the PCI root (`pci-root` or `pcie-root`), a PS/2 mouse and
//! keyboard, an audio backend for the graphics (`none`, or `spice` under SPICE), and a
//! virtio memory balloon. Controllers go after those written in the document but before
//! the ones the generic parser added for devices that need them, as libvirt's order is.

use rvirt_xml::domain::{Address, ChrKind, Controller, Device, DomainDef};

use super::Chipset;

/// Adds the implicit devices of `chipset` to `def` and writes in default models.
pub fn add(def: &mut DomainDef, chipset: Chipset) {
    controllers(def, chipset);
    default_models(def, chipset);
    chardevs(def);
    inputs(def);
    audio(def);
    balloon(def);
}

/// Whether the document has the controller; one the parser added is taken out to be put
/// back where the machine's own go.
fn has_controller(def: &mut DomainDef, kind: &str, index: u32) -> bool {
    let at = def.devices.iter().position(
        |d| matches!(d, Device::Controller(c) if c.controller_type == kind && c.index == index),
    );
    match at {
        Some(i) if matches!(&def.devices[i], Device::Controller(c) if c.implicit) => {
            def.devices.remove(i);
            false
        }
        Some(_) => true,
        None => false,
    }
}

fn controller(kind: &str, index: u32, model: Option<&str>) -> Device {
    let mut c = Controller::new(kind, index);
    c.model = model.map(str::to_string);
    Device::Controller(c)
}

/// USB, SATA and PCI root controllers the machine has, placed before the parser's
/// implicit controllers.
fn controllers(def: &mut DomainDef, chipset: Chipset) {
    let mut add = Vec::new();
    if !has_controller(def, "usb", 0) {
        let model = match chipset {
            Chipset::I440fx => "piix3-uhci",
            Chipset::Q35 => "qemu-xhci",
        };
        add.push(controller("usb", 0, Some(model)));
    }
    if chipset == Chipset::Q35 && !has_controller(def, "sata", 0) {
        add.push(controller("sata", 0, None));
    }
    if !has_controller(def, "pci", 0) {
        let model = match chipset {
            Chipset::I440fx => "pci-root",
            Chipset::Q35 => "pcie-root",
        };
        add.push(controller("pci", 0, Some(model)));
    }
    let at = def
        .devices
        .iter()
        .position(|d| matches!(d, Device::Controller(c) if c.implicit))
        .unwrap_or(def.devices.len());
    def.devices.splice(at..at, add);
}

/// The models libvirt writes for controllers and interfaces that name none.
fn default_models(def: &mut DomainDef, chipset: Chipset) {
    for d in &mut def.devices {
        match d {
            Device::Controller(c) if c.model.is_none() => {
                c.model = match c.controller_type.as_str() {
                    "usb" if c.info.master_startport.is_none() => Some(match chipset {
                        Chipset::I440fx => "piix3-uhci".into(),
                        Chipset::Q35 => "qemu-xhci".into(),
                    }),
                    "scsi" => Some("lsilogic".into()),
                    _ => None,
                }
            }
            Device::Interface(i) if i.model.is_none() && i.iface_type != "hostdev" => {
                i.model = Some("rtl8139".into());
            }
            Device::Video(v) if v.model == "qxl" => {
                v.vgamem.get_or_insert(16384);
            }
            _ => {}
        }
    }
}

/// ISA serial ports get their target type and model written in; virtio channels take
/// ports 1, 2, ... of the first virtio-serial controller.
fn chardevs(def: &mut DomainDef) {
    let mut taken: Vec<u32> = def
        .devices
        .iter()
        .filter_map(|d| match d.info()?.address {
            Some(Address::VirtioSerial {
                controller: 0,
                port,
                ..
            }) => Some(port),
            _ => None,
        })
        .collect();
    for d in &mut def.devices {
        let Device::Chr(c) = d else { continue };
        match c.kind {
            ChrKind::Serial if matches!(c.target_type.as_deref(), None | Some("isa-serial")) => {
                c.target_type = Some("isa-serial".into());
                c.target_model.get_or_insert_with(|| "isa-serial".into());
            }
            ChrKind::Channel
                if c.target_type.as_deref() == Some("virtio") && c.info.address.is_none() =>
            {
                let port = (1..).find(|p| !taken.contains(p)).unwrap_or(1);
                taken.push(port);
                c.info.address = Some(Address::VirtioSerial {
                    controller: 0,
                    bus: 0,
                    port,
                });
            }
            _ => {}
        }
    }
}

fn has_input(def: &DomainDef, kind: &str, bus: &str) -> bool {
    def.devices.iter().any(
        |d| matches!(d, Device::Input(i) if i.input_type == kind && i.bus.as_deref() == Some(bus)),
    )
}

/// The i8042 controller's PS/2 mouse and keyboard.
fn inputs(def: &mut DomainDef) {
    for kind in ["mouse", "keyboard"] {
        if !has_input(def, kind, "ps2") {
            let xml = format!("<input type='{kind}' bus='ps2'/>");
            def.devices.push(parse(&xml));
        }
    }
}

/// One audio backend when the document has none: SPICE's under SPICE graphics, else
/// `none` (no host audio for VNC, libvirt's default `vnc_allow_host_audio=0`). Headless
/// EGL graphics alone take no backend.
fn audio(def: &mut DomainDef) {
    let generic =
        |d: &Device, name: &str| matches!(d, Device::Generic(g) if g.element.name == name);
    if def.devices.iter().any(|d| generic(d, "audio")) {
        return;
    }
    let graphics: Vec<&str> = def
        .devices
        .iter()
        .filter_map(|d| match d {
            Device::Graphics(g) => Some(g.graphics_type.as_str()),
            _ => None,
        })
        .collect();
    let sound = def.devices.iter().any(|d| generic(d, "sound"));
    if !sound && !graphics.is_empty() && graphics.iter().all(|g| *g == "egl-headless") {
        return;
    }
    let kind = if graphics.contains(&"spice") {
        "spice"
    } else {
        "none"
    };
    def.devices
        .push(parse(&format!("<audio id='1' type='{kind}'/>")));
}

/// A virtio memory balloon unless the document describes one.
fn balloon(def: &mut DomainDef) {
    if !def
        .devices
        .iter()
        .any(|d| matches!(d, Device::MemBalloon(_)))
    {
        def.devices.push(parse("<memballoon model='virtio'/>"));
    }
}

fn parse(xml: &str) -> Device {
    Device::from_xml(xml, true).expect("a fixed, valid device")
}

#[cfg(test)]
mod tests {
    use crate::postparse::tests::devices_after;

    #[test]
    fn i440fx_guest_gets_usb_root_inputs_audio_balloon() {
        let d = devices_after("pc", "");
        assert_eq!(d[0], "<controller type='usb' index='0' model='piix3-uhci'>");
        assert!(d.contains(&"<controller type='pci' index='0' model='pci-root'/>".to_string()));
        assert!(d.contains(&"<input type='mouse' bus='ps2'/>".to_string()));
        assert!(d.contains(&"<input type='keyboard' bus='ps2'/>".to_string()));
        assert!(d.contains(&"<audio id='1' type='none'/>".to_string()));
        assert!(d.contains(&"<memballoon model='virtio'>".to_string()));
    }

    #[test]
    fn defaults_go_before_the_parsers_implicit_controllers() {
        let d = devices_after(
            "pc",
            "<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/></disk>",
        );
        let pos = |s: &str| d.iter().position(|l| l.starts_with(s)).unwrap();
        assert!(pos("<controller type='usb'") < pos("<controller type='pci'"));
        assert!(pos("<controller type='pci'") < pos("<controller type='ide'"));
    }

    #[test]
    fn serial_target_and_channel_ports() {
        let d = devices_after(
            "pc",
            "<serial type='pty'/><channel type='unix'><target type='virtio' name='a'/></channel>\
             <channel type='unix'><target type='virtio' name='b'/></channel>",
        )
        .join("");
        assert!(
            d.contains("<target type='isa-serial' port='0'><model name='isa-serial'/></target>"),
            "{d}"
        );
        assert!(
            d.contains("<console type='pty'><target type='serial' port='0'/></console>"),
            "{d}"
        );
        assert!(
            d.contains("name='a'/><address type='virtio-serial' controller='0' bus='0' port='1'/>"),
            "{d}"
        );
        assert!(
            d.contains("name='b'/><address type='virtio-serial' controller='0' bus='0' port='2'/>"),
            "{d}"
        );
    }

    #[test]
    fn implicit_sata_goes_where_the_machines_own_does() {
        let d = devices_after(
            "q35",
            "<disk type='file' device='cdrom'><target dev='sda' bus='sata'/></disk>",
        );
        let pos = |s: &str| d.iter().position(|l| l.starts_with(s)).unwrap();
        assert!(pos("<controller type='sata'") < pos("<controller type='pci' index='0'"));
    }

    #[test]
    fn spice_graphics_get_a_spice_audio_backend() {
        let d = devices_after("q35", "<graphics type='spice' autoport='yes'/>");
        assert!(
            d.contains(&"<audio id='1' type='spice'/>".to_string()),
            "{d:?}"
        );
    }
}
