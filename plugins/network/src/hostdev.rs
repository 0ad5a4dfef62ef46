//! SR-IOV pools, as libvirt's network driver keeps them: a `hostdev` network lists its
//! virtual functions by PCI address (each must be one) or names a physical function
//! (`<pf dev>`) whose VFs are the pool, read from sysfs when the network starts (for
//! the direct modes a PF's pool is its VFs' network devices). A port takes the first
//! function no other port uses.

use std::path::{Path, PathBuf};

use rvirt_xml::network::forward::PciAddress;
use rvirt_xml::network::{NetworkDef, NetworkPort, Plug};

use crate::error::{NResult, NetError};

fn sysfs_path(a: &PciAddress) -> PathBuf {
    PathBuf::from(format!(
        "/sys/bus/pci/devices/{:04x}:{:02x}:{:02x}.{:x}",
        a.domain, a.bus, a.slot, a.function
    ))
}

/// libvirt's define-time checks of a `hostdev` network's pool.
pub fn validate(def: &NetworkDef) -> NResult<()> {
    let Some(f) = def.forward.as_ref().filter(|f| f.mode == "hostdev") else {
        return Ok(());
    };
    if let Some(dev) = f.interfaces.first() {
        return Err(NetError::Unsupported(format!(
            "hostdev network '{}' lists '{dev}' in the device pool, but hostdev networks \
             require all devices to be listed by PCI address, not network device name",
            def.name
        ))
        .into());
    }
    for a in &f.pci {
        let path = sysfs_path(a);
        if !path.join("physfn").exists() {
            return Err(NetError::Unsupported(format!(
                "device '{}' in network '{}' is not an SR-IOV Virtual Function",
                path.display(),
                def.name
            ))
            .into());
        }
    }
    Ok(())
}

/// The PCI address in a sysfs device name (`0000:03:10.1`).
fn parse_address(name: &str) -> Option<PciAddress> {
    let (dom, rest) = name.split_once(':')?;
    let (bus, rest) = rest.split_once(':')?;
    let (slot, func) = rest.split_once('.')?;
    let hex = |s: &str| u32::from_str_radix(s, 16).ok();
    Some(PciAddress {
        domain: hex(dom)?,
        bus: hex(bus)?,
        slot: hex(slot)?,
        function: hex(func)?,
    })
}

/// The virtual functions of physical function `pf` (`virtfnN` links, in N's order).
fn virtual_functions(pf: &str) -> Vec<PathBuf> {
    let dev = Path::new("/sys/class/net").join(pf).join("device");
    let mut vfs: Vec<(u32, PathBuf)> = std::fs::read_dir(&dev)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e
                .file_name()
                .to_str()?
                .strip_prefix("virtfn")?
                .parse()
                .ok()?;
            Some((n, std::fs::canonicalize(e.path()).ok()?))
        })
        .collect();
    vfs.sort();
    vfs.into_iter().map(|(_, p)| p).collect()
}

/// At start, the live definition of a network with `<pf dev>` gets its pool: the VFs'
/// addresses (hostdev) or network devices (direct modes).
pub fn fill_pool(live: &mut NetworkDef) -> NResult<()> {
    let Some(f) = live.forward.as_mut() else {
        return Ok(());
    };
    let Some(pf) = f.pf.clone() else {
        return Ok(());
    };
    let vfs = virtual_functions(&pf);
    if f.mode == "hostdev" {
        f.pci = vfs
            .iter()
            .filter_map(|p| parse_address(p.file_name()?.to_str()?))
            .collect();
    } else {
        f.interfaces = vfs
            .iter()
            .filter_map(|p| std::fs::read_dir(p.join("net")).ok()?.flatten().next())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
    }
    if f.pci.is_empty() && f.interfaces.is_empty() {
        return Err(NetError::Internal(format!("No usable Vf's present on SRIOV PF {pf}")).into());
    }
    Ok(())
}

/// The plug of a new port of `hostdev` network `def`: the first function of its pool
/// none of `ports` uses.
pub fn allocate(def: &NetworkDef, ports: &[NetworkPort]) -> NResult<Plug> {
    let f = def.forward.as_ref();
    let used = |a: &PciAddress| {
        ports
            .iter()
            .any(|p| matches!(&p.plug, Some(Plug::HostdevPci { address, .. }) if address == a))
    };
    let free = f.and_then(|f| f.pci.iter().find(|a| !used(a)));
    match (f, free) {
        (Some(f), Some(a)) => Ok(Plug::HostdevPci {
            managed: f.managed,
            driver: f.driver,
            address: *a,
        }),
        _ => Err(NetError::Internal(format!(
            "network '{}' requires exclusive access to interfaces, but none are available",
            def.name
        ))
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(forward: &str) -> NetworkDef {
        NetworkDef::parse(&format!(
            "<network><name>h</name><forward mode='hostdev' managed='yes'>{forward}</forward></network>"
        ))
        .unwrap()
    }

    #[test]
    fn a_pool_must_be_virtual_functions_by_address() {
        let e = validate(&net("<interface dev='eth9'/>")).unwrap_err();
        assert!(e.text().contains(
            "hostdev network 'h' lists 'eth9' in the device pool, but hostdev networks require"
        ));
        // No function on this bus is a VF (a machine without SR-IOV, as here).
        let a = "<address type='pci' domain='0x0000' bus='0xfe' slot='0x1f' function='0x7'/>";
        let e = validate(&net(a)).unwrap_err();
        assert_eq!(
            e.text(),
            "unsupported configuration: device '/sys/bus/pci/devices/0000:fe:1f.7' in network 'h' is not an SR-IOV Virtual Function"
        );
    }

    #[test]
    fn ports_take_the_first_free_function() {
        let a = |f: u32| PciAddress {
            domain: 0,
            bus: 3,
            slot: 0x10,
            function: f,
        };
        let mut def = net("");
        def.forward.as_mut().unwrap().pci = vec![a(1), a(2)];
        let first = allocate(&def, &[]).unwrap();
        assert!(
            matches!(first, Plug::HostdevPci { managed: true, address, .. } if address == a(1))
        );
        let port = |plug: Plug| {
            let mut p = NetworkPort::parse(
                "<networkport><uuid>5eed0000-0000-4000-8000-000000000301</uuid>\
                 <owner><name>g</name><uuid>5eed0000-0000-4000-8000-000000000001</uuid></owner>\
                 <mac address='52:54:00:aa:cc:01'/></networkport>",
            )
            .unwrap();
            p.plug = Some(plug);
            p
        };
        let one = [port(first)];
        let second = allocate(&def, &one).unwrap();
        assert!(matches!(second, Plug::HostdevPci { address, .. } if address == a(2)));
        let full = [one[0].clone(), port(second)];
        let e = allocate(&def, &full).unwrap_err();
        assert!(e.text().contains("requires exclusive access"));
        assert_eq!(parse_address("0000:03:10.1"), Some(a(1)));
    }

    #[test]
    fn a_pf_without_vfs_cannot_start() {
        let mut def = net("<pf dev='lo'/>");
        let e = fill_pool(&mut def).unwrap_err();
        assert_eq!(
            e.text(),
            "internal error: No usable Vf's present on SRIOV PF lo"
        );
    }
}
