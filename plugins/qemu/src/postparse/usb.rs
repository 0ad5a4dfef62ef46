//! USB port assignment: every USB device without an address gets the next free port of
//! USB bus 0 (hubs are added when the devices outnumber the ports), in libvirt's order (hubs, host devices, disks, smartcards, inputs, sound
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

/// Ports of a USB hub.
const HUB_PORTS: usize = 8;

/// The bus-0 port of a device, as written (`2`, `1.3`).
fn port_of(d: &Device) -> Option<String> {
    match &d.info()?.address {
        Some(Address::Usb {
            bus: 0,
            port: Some(p),
        }) => Some(p.clone()),
        _ => None,
    }
}

/// The USB devices without an address, in placing order (hubs first).
fn unplaced(def: &DomainDef) -> Vec<usize> {
    let mut todo: Vec<(usize, usize)> = def
        .devices
        .iter()
        .enumerate()
        .filter(|(_, d)| d.info().is_some_and(|i| i.address.is_none()))
        .filter_map(|(i, d)| group(d).map(|g| (g, i)))
        .collect();
    todo.sort();
    todo.into_iter().map(|(_, i)| i).collect()
}

/// Adds the hubs libvirt adds when the devices outnumber the ports: each takes a port
/// and gives eight.
fn add_hubs(def: &mut DomainDef, root: usize) {
    let hubs = def
        .devices
        .iter()
        .filter(|d| matches!(d, Device::Generic(g) if g.element.name == "hub"))
        .count();
    let available = root + hubs * HUB_PORTS;
    let count = unplaced(def).len();
    if count <= available {
        return;
    }
    let needed = (count - available + 1).div_ceil(HUB_PORTS - 1);
    for _ in 0..needed {
        let hub = Device::from_xml("<hub type='usb'/>", true).expect("a fixed, valid device");
        def.devices.push(hub);
    }
}

/// Gives every USB device without an address the next free port: the root hub's first,
/// then those of the hubs, in order.
pub fn assign(def: &mut DomainDef) {
    let root = ports(def) as usize;
    if root == 0 {
        return;
    }
    add_hubs(def, root);
    let mut taken: Vec<String> = def.devices.iter().filter_map(port_of).collect();
    for i in unplaced(def) {
        let hubs: Vec<String> = def
            .devices
            .iter()
            .filter(|d| matches!(d, Device::Generic(g) if g.element.name == "hub"))
            .filter_map(port_of)
            .collect();
        let mut free = (1..=root)
            .map(|p| p.to_string())
            .chain(
                hubs.iter()
                    .flat_map(|h| (1..=HUB_PORTS).map(move |k| format!("{h}.{k}"))),
            )
            .filter(|p| !taken.contains(p));
        let Some(port) = free.next() else {
            return;
        };
        taken.push(port.clone());
        if let Some(info) = def.devices[i].info_mut() {
            info.address = Some(Address::Usb {
                bus: 0,
                port: Some(port),
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

    #[test]
    fn a_hub_is_added_when_ports_run_out() {
        let d = devices_after(
            "pc",
            "<input type='tablet' bus='usb'/><input type='keyboard' bus='usb'/>\
             <input type='mouse' bus='usb'/>",
        )
        .join("");
        assert!(
            d.contains("<input type='tablet' bus='usb'><address type='usb' bus='0' port='2'/>"),
            "{d}"
        );
        assert!(
            d.contains("<input type='keyboard' bus='usb'><address type='usb' bus='0' port='1.1'/>"),
            "{d}"
        );
        assert!(
            d.contains("<input type='mouse' bus='usb'><address type='usb' bus='0' port='1.2'/>"),
            "{d}"
        );
        assert!(
            d.contains("<hub type='usb'><address type='usb' bus='0' port='1'/></hub>"),
            "{d}"
        );
    }
}
