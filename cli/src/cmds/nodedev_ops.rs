//! Node device changes: nodedev-create, -destroy, -define, -undefine, -start,
//! -autostart, -detach, -reattach and -reset, with virsh's texts.

use rvirt_protocol as p;
use rvirt_protocol::RemoteClient;

use crate::ctl::{CmdError, Context, Ctl};
use crate::opts::Args;

use super::{flag_bits, read_file};

/// `VIR_NODE_DEVICE_CREATE_XML_VALIDATE` / `VIR_NODE_DEVICE_DEFINE_XML_VALIDATE`.
const VALIDATE: u32 = rvirt_protocol::facts::DEFINE_VALIDATE;

pub fn nodedev_create(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let file = a.req("file")?;
    let xml_desc = read_file(file)?;
    let flags = flag_bits(a, &[("validate", VALIDATE)]);
    let dev = ctl
        .conn()?
        .node_device_create_xml(&p::RemoteNodeDeviceCreateXmlArgs { xml_desc, flags })
        .ctx(|| format!("Failed to create node device from {file}"))?
        .dev;
    println!("Node device {} created from {file}", dev.name);
    Ok(())
}

pub fn nodedev_define(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let file = a.req("file")?;
    let xml_desc = read_file(file)?;
    let flags = flag_bits(a, &[("validate", VALIDATE)]);
    let dev = ctl
        .conn()?
        .node_device_define_xml(&p::RemoteNodeDeviceDefineXmlArgs { xml_desc, flags })
        .ctx(|| format!("Failed to define node device from '{file}'"))?
        .dev;
    println!("Node device '{}' defined from '{file}'", dev.name);
    Ok(())
}

/// The device `--device` names (a name, or a `wwnn,wwpn` pair of a SCSI host).
fn device(ctl: &mut Ctl, a: &Args) -> Result<String, CmdError> {
    let arg = a.req("device")?;
    let Some((wwnn, wwpn)) = arg.split_once(',') else {
        return Ok(ctl.nodedev(arg)?.name);
    };
    let r = ctl.conn()?.node_device_lookup_scsi_host_by_wwn(
        &p::RemoteNodeDeviceLookupScsiHostByWwnArgs {
            wwnn: wwnn.into(),
            wwpn: wwpn.into(),
            flags: 0,
        },
    );
    Ok(r.ctx(|| format!("Could not find matching device '{arg}'"))?
        .dev
        .name)
}

pub fn nodedev_destroy(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let name = device(ctl, a)?;
    ctl.conn()?
        .node_device_destroy(&p::RemoteNodeDeviceDestroyArgs { name: name.clone() })
        .ctx(|| format!("Failed to destroy node device '{name}'"))?;
    println!("Destroyed node device '{name}'");
    Ok(())
}

pub fn nodedev_undefine(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let name = device(ctl, a)?;
    ctl.conn()?
        .node_device_undefine(&p::RemoteNodeDeviceUndefineArgs {
            name: name.clone(),
            flags: 0,
        })
        .ctx(|| format!("Failed to undefine node device '{name}'"))?;
    println!("Undefined node device '{name}'");
    Ok(())
}

pub fn nodedev_start(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let name = device(ctl, a)?;
    ctl.conn()?
        .node_device_create(&p::RemoteNodeDeviceCreateArgs {
            name: name.clone(),
            flags: 0,
        })
        .ctx(|| format!("Failed to start device {name}"))?;
    println!("Device {name} started");
    Ok(())
}

pub fn nodedev_autostart(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let name = device(ctl, a)?;
    let on = !a.has("disable");
    let (verb, done) = if on {
        ("mark", "marked")
    } else {
        ("unmark", "unmarked")
    };
    ctl.conn()?
        .node_device_set_autostart(&p::RemoteNodeDeviceSetAutostartArgs {
            name: name.clone(),
            autostart: on as i32,
        })
        .ctx(|| format!("failed to {verb} device {name} as autostarted"))?;
    println!("Device {name} {done} as autostarted");
    Ok(())
}

pub fn nodedev_detach(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let name = device(ctl, a)?;
    let c = ctl.conn()?;
    // Like virsh: the flags call only when a driver is named, for older servers.
    let r = match a.get("driver") {
        Some(d) => c.node_device_detach_flags(&p::RemoteNodeDeviceDetachFlagsArgs {
            name: name.clone(),
            driver_name: Some(d.to_string()),
            flags: 0,
        }),
        None => c.node_device_dettach(&p::RemoteNodeDeviceDettachArgs { name: name.clone() }),
    };
    r.ctx(|| format!("Failed to detach device {name}"))?;
    println!("Device {name} detached");
    Ok(())
}

pub fn nodedev_reattach(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let name = device(ctl, a)?;
    ctl.conn()?
        .node_device_re_attach(&p::RemoteNodeDeviceReAttachArgs { name: name.clone() })
        .ctx(|| format!("Failed to re-attach device {name}"))?;
    println!("Device {name} re-attached");
    Ok(())
}

pub fn nodedev_reset(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let name = device(ctl, a)?;
    ctl.conn()?
        .node_device_reset(&p::RemoteNodeDeviceResetArgs { name: name.clone() })
        .ctx(|| format!("Failed to reset device {name}"))?;
    println!("Device {name} reset");
    Ok(())
}
