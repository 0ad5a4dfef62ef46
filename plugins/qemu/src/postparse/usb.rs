//! USB port assignment: every USB device without an address gets the next free port of
//! USB bus 0, in libvirt's order (hubs, host devices, disks, smartcards, inputs, sound
//! cards, redirected devices), when the guest has a USB controller.

use rvirt_xml::domain::{Address, Device, DomainDef};

/// The ports of the first USB controller's root hub, by model.
fn ports(def: &DomainDef) -> u32 {
    let usb = def.devices.iter().find_map(|d| match d {
        Device::Controller(c) if c.controller_type == "usb" && c.index == 0 => Some(c),
        _ => None,
    });
    let Some(c) = usb else { return 0 };
    if let Some(p) = c.ports {
        return p;
    }
    match c.model.as_deref() {
        Some("none") => 0,
        Some("piix3-uhci" | "piix4-uhci" | "vt82c686b-uhci") => 2,
        Some("ich9-ehci1") => 6,
        _ => 4,
    }
}

/// The placing group of a device that goes on USB.
fn group(d: &Device) -> Option<usize> {
    Some(match d {
        Device::Generic(g) if g.element.name == "hub" => 0,
        Device::Generic(g) if g.element.name == "hostdev" && g.attr("type") == Some("usb") => 1,
        Device::Disk(k) if k.target_bus == "usb" => 2,
        Device::Input(i) if i.bus.as_deref() == Some("usb") => 4,
        Device::Generic(g) => match g.element.name.as_str() {
            "smartcard" => 3,
            "sound" if g.attr("model") == Some("usb") => 5,
            "redirdev" => 6,
            _ => return None,
        },
        _ => return None,
    })
}

/// Gives every USB device without an address the next free port.
pub fn assign(def: &mut DomainDef) {
    let ports = ports(def);
    let mut taken: Vec<u32> = def
        .devices
        .iter()
        .filter_map(|d| match d.info()?.address {
            Some(Address::Usb {
                bus: 0,
                port: Some(ref p),
            }) => p.split('.').next()?.parse().ok(),
            _ => None,
        })
        .collect();
    let mut todo: Vec<(usize, usize)> = def
        .devices
        .iter()
        .enumerate()
        .filter(|(_, d)| d.info().is_some_and(|i| i.address.is_none()))
        .filter_map(|(i, d)| group(d).map(|g| (g, i)))
        .collect();
    todo.sort();
    for (_, i) in todo {
        let Some(port) = (1..=ports).find(|p| !taken.contains(p)) else {
            return;
        };
        taken.push(port);
        if let Some(info) = def.devices[i].info_mut() {
            info.address = Some(Address::Usb {
                bus: 0,
                port: Some(port.to_string()),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::postparse::tests::devices_after;

    #[test]
    fn usb_inputs_take_ports_in_order() {
        let d = devices_after(
            "pc",
            "<input type='tablet' bus='usb'/><input type='keyboard' bus='usb'/>",
        );
        let usb: Vec<&String> = d
            .iter()
            .filter(|l| l.starts_with("<address type='usb'"))
            .collect();
        assert_eq!(
            usb,
            [
                "<address type='usb' bus='0' port='1'/>",
                "<address type='usb' bus='0' port='2'/>"
            ]
        );
    }
}
