//! A guest's `<bandwidth>` on its tap, as libvirt's qemu driver applies it
//! (`virNetDevBandwidthSet` on the tap, not hierarchical, swapped: what the guest
//! receives is what the tap transmits). A `network` interface takes its port's
//! bandwidth (the interface's own, or what the network gives the port), a `bridge`
//! interface its own. The shaping goes with the tap.

use std::process::Command;

use rvirt_xml::domain::{Device, DomainDef, Interface, LivePlug};
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

/// The bandwidth to shape the tap of plugged interface `iface` with.
fn tap_bandwidth(uri: &str, iface: &Interface) -> QResult<Option<Bandwidth>> {
    match (iface.iface_type.as_str(), &iface.live_port, &iface.source) {
        // A macvtap (a direct plug) is not a tap: libvirt shapes it unswapped, which
        // this driver does not do yet.
        ("network", Some(lp), Some(net)) if matches!(lp.plug, LivePlug::Bridge(_)) => {
            Ok(crate::netplug::port_of(uri, net, &lp.portid)?.bandwidth)
        }
        ("bridge", ..) => own_bandwidth(iface),
        _ => Ok(None),
    }
}

/// Shapes the tap of every plugged interface of `live` that has a bandwidth.
pub fn shape_taps(tc_prog: &str, uri: &str, live: &DomainDef) -> QResult<()> {
    for dev in &live.devices {
        let Device::Interface(iface) = dev else {
            continue;
        };
        let (Some(tap), Some(bw)) = (&iface.target_dev, tap_bandwidth(uri, iface)?) else {
            continue;
        };
        for c in tc::shape(tap, &bw, false) {
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
