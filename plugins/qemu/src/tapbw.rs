//! A guest's `<bandwidth>` on its tap or macvtap, as libvirt's qemu driver applies it
//! (`virNetDevBandwidthSet` on the device, not hierarchical; swapped on a tap, where
//! what the guest receives is what the tap transmits, unswapped on a macvtap, which
//! shares the host's view). A `network` interface takes its port's bandwidth (the
//! interface's own, or what the network gives the port), a `bridge` or `direct`
//! interface its own. The shaping goes with the device.

use std::process::Command;

use rvirt_xml::domain::{DomainDef, Interface, LivePlug};
use rvirt_xml::network::netdev::Bandwidth;
use rvirt_xml::network::tc;

use crate::error::{QResult, QemuError};

/// An interface's own `<bandwidth>` (a `floor` is for its network to grant).
pub fn own_bandwidth(iface: &Interface) -> QResult<Option<Bandwidth>> {
    match iface.extras.iter().find(|e| e.name == "bandwidth") {
        Some(e) => Bandwidth::parse(e, true).map_err(|e| QemuError::Xml(e).into()),
        None => Ok(None),
    }
}

/// How a plugged interface's device is shaped: a tap swapped, a macvtap not.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Device {
    Tap,
    Macvtap,
}

/// The bandwidth to shape the device of plugged interface `iface` with, and its kind.
fn device_bandwidth(uri: &str, iface: &Interface) -> QResult<Option<(Bandwidth, Device)>> {
    let (bw, kind) = match (iface.iface_type.as_str(), &iface.live_port, &iface.source) {
        ("network", Some(lp), Some(net)) => {
            let kind = match lp.plug {
                LivePlug::Bridge(_) => Device::Tap,
                _ => Device::Macvtap,
            };
            (
                crate::netplug::port_of(uri, net, &lp.portid)?.bandwidth,
                kind,
            )
        }
        ("bridge", ..) => (own_bandwidth(iface)?, Device::Tap),
        ("direct", ..) => (own_bandwidth(iface)?, Device::Macvtap),
        _ => (None, Device::Tap),
    };
    Ok(bw.map(|b| (b, kind)))
}

/// Shapes the device (tap or macvtap) of every plugged interface of `live` that has a
/// bandwidth.
pub fn shape_taps(tc_prog: &str, uri: &str, live: &DomainDef) -> QResult<()> {
    for dev in &live.devices {
        let rvirt_xml::domain::Device::Interface(iface) = dev else {
            continue;
        };
        let (Some(tap), Some((bw, kind))) = (&iface.target_dev, device_bandwidth(uri, iface)?)
        else {
            continue;
        };
        let cmds = match kind {
            Device::Tap => tc::shape(tap, &bw, false),
            Device::Macvtap => tc::shape_unswapped(tap, &bw),
        };
        for c in cmds {
            run_tc(tc_prog, &c)?;
        }
    }
    Ok(())
}

/// Runs one `tc` command; a failure is libvirt's child-process error.
fn run_tc(tc_prog: &str, args: &[String]) -> QResult<()> {
    let out = Command::new(tc_prog)
        .args(args)
        .output()
        .map_err(|e| QemuError::Failed(format!("cannot run {tc_prog}: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let how = out
        .status
        .code()
        .map_or("fatal signal".to_string(), |c| format!("exit status {c}"));
    Err(QemuError::Internal(format!(
        "Child process ({tc_prog} {}) unexpected {how}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    ))
    .into())
}
