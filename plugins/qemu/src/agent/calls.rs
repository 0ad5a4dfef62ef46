//! The API calls the guest agent answers, as libvirt's qemu driver makes them.

use rvirt_plugin_api::protocol::facts::agent_flags as f;
use rvirt_plugin_api::protocol::*;
use rvirt_xml::domain::{Device, DomainDef};
use serde_json::{json, Value};

use super::channel::agent_of;
use super::{AgentError, TIMEOUT_BLOCK};
use crate::driver::Driver;
use crate::error::{check_flags, QResult, QemuError};

/// QEMU program DOMAIN_AGENT_COMMAND: the client's JSON, the agent's whole reply.
pub fn agent_command(drv: &Driver, a: &QemuDomainAgentCommandArgs) -> QResult<Option<String>> {
    check_flags(a.flags, 0, "qemuDomainQemuAgentCommand")?;
    if a.timeout < TIMEOUT_BLOCK {
        return Err(AgentError::Invalid(format!(
            "guest agent timeout '{}' is less than the minimum '{TIMEOUT_BLOCK}'",
            a.timeout
        ))
        .into());
    }
    let agent = agent_of(drv, &a.dom)?;
    let cmd: Value = serde_json::from_str(&a.cmd)
        .map_err(|e| QemuError::Internal(format!("cannot parse json {}: {e}", a.cmd)))?;
    let name = cmd
        .get("execute")
        .and_then(Value::as_str)
        .unwrap_or("<unknown>")
        .to_string();
    let reply = agent.raw(&cmd, a.timeout)?;
    super::check_reply(&name, reply.clone())?;
    Ok(Some(reply.to_string()))
}

/// DOMAIN_AGENT_SET_RESPONSE_TIMEOUT: the timeout of this run's later agent calls.
pub fn set_response_timeout(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    t: i32,
    flags: u32,
) -> QResult<i32> {
    check_flags(flags, 0, "qemuDomainAgentSetResponseTimeout")?;
    if t < TIMEOUT_BLOCK {
        return Err(QemuError::InvalidArg(format!(
            "guest agent timeout '{t}' is less than the minimum '{TIMEOUT_BLOCK}'"
        ))
        .into());
    }
    drv.write(|s, _| {
        let d = s.find_mut(dom)?;
        let run = d.run.as_mut().ok_or(QemuError::NotRunning)?;
        run.agent_timeout = t;
        if let Some(a) = &run.agent {
            a.timeout.store(t, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(0)
    })
}

/// DOMAIN_FSFREEZE / DOMAIN_FSTHAW: how many filesystems the agent froze or thawed.
pub fn fs_freeze(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    mounts: &[String],
    freeze: bool,
    flags: u32,
) -> QResult<i32> {
    let func = if freeze {
        "qemuDomainFSFreeze"
    } else {
        "qemuDomainFSThaw"
    };
    check_flags(flags, 0, func)?;
    if !freeze && !mounts.is_empty() {
        return Err(
            QemuError::ArgUnsupported("specifying mountpoints is not supported".into()).into(),
        );
    }
    let agent = agent_of(drv, dom)?;
    let r = match (freeze, mounts.is_empty()) {
        (true, true) => agent.execute("guest-fsfreeze-freeze", None)?,
        (true, false) => agent.execute(
            "guest-fsfreeze-freeze-list",
            Some(json!({ "mountpoints": mounts })),
        )?,
        (false, _) => agent.execute("guest-fsfreeze-thaw", None)?,
    };
    r.as_i64()
        .map(|n| n as i32)
        .ok_or_else(|| AgentError::Reply("malformed return value".into()).into())
}

/// The live definition of a running domain.
fn live_def(drv: &Driver, dom: &RemoteNonnullDomain) -> QResult<DomainDef> {
    drv.read(|s| {
        let d = s.find(dom)?;
        Ok(d.run.as_ref().ok_or(QemuError::NotRunning)?.live.clone())
    })
}

/// The target of the disk an agent disk entry names (by its PCI address, bus, unit).
pub fn disk_target(def: &DomainDef, disk: &Value) -> Option<String> {
    let pci = disk.get("pci-controller")?;
    let num = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64);
    let (slot, function) = (num(pci, "slot")?, num(pci, "function")?);
    let bus_type = disk.get("bus-type").and_then(Value::as_str).unwrap_or("");
    def.devices.iter().find_map(|d| {
        let Device::Disk(k) = d else { return None };
        let Some(rvirt_xml::domain::Address::Pci {
            slot: s,
            function: fun,
            ..
        }) = &k.info.address
        else {
            return None;
        };
        // A virtio disk is its own PCI device; a SCSI/IDE disk sits on a controller.
        let same_pci = u64::from(*s) == slot && u64::from(*fun) == function;
        (same_pci && (bus_type == "virtio" || k.target_bus == bus_type))
            .then(|| k.target_dev.clone())
    })
}

/// DOMAIN_GET_FSINFO: the guest's mounted filesystems, newest mount first, with the
/// targets of the disks they are on.
pub fn fs_info(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    flags: u32,
) -> QResult<Vec<RemoteDomainFsinfo>> {
    check_flags(flags, 0, "qemuDomainGetFSInfo")?;
    let agent = agent_of(drv, dom)?;
    let list = agent.execute("guest-get-fsinfo", None)?;
    let live = live_def(drv, dom)?;
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut out: Vec<RemoteDomainFsinfo> = list
        .as_array()
        .into_iter()
        .flatten()
        .map(|fs| RemoteDomainFsinfo {
            mountpoint: text(fs, "mountpoint"),
            name: text(fs, "name"),
            fstype: text(fs, "type"),
            dev_aliases: fs
                .get("disk")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|d| disk_target(&live, d))
                .collect(),
        })
        .collect();
    out.reverse();
    Ok(out)
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// DOMAIN_SET_USER_PASSWORD through `guest-set-user-password`.
pub fn set_user_password(drv: &Driver, a: &RemoteDomainSetUserPasswordArgs) -> QResult<()> {
    check_flags(a.flags, f::PASSWORD_ENCRYPTED, "qemuDomainSetUserPassword")?;
    let agent = agent_of(drv, &a.dom)?;
    let args = json!({
        "crypted": a.flags & f::PASSWORD_ENCRYPTED != 0,
        "username": a.user.clone().unwrap_or_default(),
        "password": base64(a.password.clone().unwrap_or_default().as_bytes()),
    });
    agent.execute("guest-set-user-password", Some(args))?;
    Ok(())
}

/// DOMAIN_GET_TIME: the guest's clock.
pub fn get_time(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    flags: u32,
) -> QResult<RemoteDomainGetTimeRet> {
    check_flags(flags, 0, "qemuDomainGetTime")?;
    let agent = agent_of(drv, dom)?;
    let ns = agent
        .execute("guest-get-time", None)?
        .as_i64()
        .ok_or_else(|| AgentError::Reply("malformed return value".into()))?;
    Ok(RemoteDomainGetTimeRet {
        seconds: ns.div_euclid(1_000_000_000),
        nseconds: ns.rem_euclid(1_000_000_000) as u32,
    })
}

/// DOMAIN_SET_TIME: sets the guest's clock (from its RTC with SYNC), then resets the
/// RTC's tick reinjection as libvirt does.
pub fn set_time(drv: &Driver, a: &RemoteDomainSetTimeArgs) -> QResult<()> {
    check_flags(a.flags, f::SET_TIME_SYNC, "qemuDomainSetTime")?;
    let sync = a.flags & f::SET_TIME_SYNC != 0;
    if !sync && a.seconds > i64::MAX / 1_000_000_000 {
        return Err(QemuError::InvalidArg(format!(
            "Time '{}' is too big for guest agent",
            a.seconds
        ))
        .into());
    }
    let agent = agent_of(drv, &a.dom)?;
    let args =
        (!sync).then(|| json!({ "time": a.seconds * 1_000_000_000 + i64::from(a.nseconds) }));
    agent.execute("guest-set-time", args)?;
    let qmp = crate::lifecycle::qmp_of(drv, &a.dom)?;
    qmp.execute("rtc-reset-reinjection", None)
        .map_err(crate::lifecycle::monitor_error)?;
    Ok(())
}

/// DOMAIN_GET_HOSTNAME: the agent's answer (the default source), or an error for the
/// lease source this driver does not have.
pub fn hostname(drv: &Driver, dom: &RemoteNonnullDomain, flags: u32) -> QResult<String> {
    check_flags(
        flags,
        f::HOSTNAME_LEASE | f::HOSTNAME_AGENT,
        "qemuDomainGetHostname",
    )?;
    if flags == f::HOSTNAME_LEASE | f::HOSTNAME_AGENT {
        return Err(QemuError::InvalidArg(
            "Flags 'VIR_DOMAIN_GET_HOSTNAME_LEASE' and 'VIR_DOMAIN_GET_HOSTNAME_AGENT' are mutually exclusive".into(),
        )
        .into());
    }
    if flags & f::HOSTNAME_LEASE != 0 {
        return Err(QemuError::NotSupported(
            "getting the host name from DHCP leases is not supported by this driver".into(),
        )
        .into());
    }
    let agent = agent_of(drv, dom)?;
    let r = agent.execute("guest-get-host-name", None)?;
    r.get("host-name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| AgentError::Reply("malformed return value".into()).into())
}

/// Whether a shutdown or reboot with `flags` goes to the agent, as libvirt decides it
/// (asked for, or no method named while an agent is connected); the agent, then.
pub fn power_agent(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    flags: u32,
) -> QResult<Option<std::sync::Arc<super::Agent>>> {
    let asked = flags & rvirt_plugin_api::protocol::facts::domain_shutdown::GUEST_AGENT != 0;
    if asked {
        return agent_of(drv, dom).map(Some);
    }
    if flags & rvirt_plugin_api::protocol::facts::domain_shutdown::ACPI_POWER_BTN != 0 {
        return Ok(None);
    }
    Ok(agent_of(drv, dom).ok())
}

/// Shutdown or reboot through the agent (`guest-shutdown` mode powerdown or reboot);
/// done once QEMU reports the guest's shutdown or reset.
pub fn power(agent: &super::Agent, reboot: bool) -> QResult<()> {
    let mode = if reboot { "reboot" } else { "powerdown" };
    agent.execute_awaiting_event("guest-shutdown", Some(json!({ "mode": mode })))?;
    Ok(())
}

/// DOMAIN_INTERFACE_ADDRESSES with the agent source: the guest's interfaces, aliases
/// (`eth0:1`) folded into their interface.
pub fn interface_addresses(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
) -> QResult<Vec<RemoteDomainInterface>> {
    let agent = agent_of(drv, dom)?;
    let list = agent.execute("guest-network-get-interfaces", None)?;
    Ok(interfaces_of(&list))
}

/// The interfaces of a `guest-network-get-interfaces` answer.
pub fn interfaces_of(list: &Value) -> Vec<RemoteDomainInterface> {
    let mut out: Vec<RemoteDomainInterface> = Vec::new();
    for i in list.as_array().into_iter().flatten() {
        let full = i.get("name").and_then(Value::as_str).unwrap_or("");
        let name = full.split(':').next().unwrap_or(full).to_string();
        let addrs = i
            .get("ip-addresses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| {
                let ty = match a.get("ip-address-type").and_then(Value::as_str)? {
                    "ipv4" => f::IP_ADDR_TYPE_IPV4,
                    "ipv6" => f::IP_ADDR_TYPE_IPV6,
                    _ => return None,
                };
                Some(RemoteDomainIpAddr {
                    r#type: ty,
                    addr: a.get("ip-address")?.as_str()?.to_string(),
                    prefix: a.get("prefix").and_then(Value::as_u64).unwrap_or(0) as u32,
                })
            });
        match out.iter_mut().find(|o| o.name == name) {
            Some(o) => o.addrs.extend(addrs),
            None => out.push(RemoteDomainInterface {
                name,
                hwaddr: i
                    .get("hardware-address")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                addrs: addrs.collect(),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_as_qemu_ga_decodes_it() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"secret!"), "c2VjcmV0IQ==");
    }

    #[test]
    fn interface_aliases_fold() {
        let list = json!([
            {"name": "lo", "hardware-address": "00:00:00:00:00:00",
             "ip-addresses": [{"ip-address-type": "ipv4", "ip-address": "127.0.0.1", "prefix": 8}]},
            {"name": "eth0", "hardware-address": "52:54:00:00:00:01", "ip-addresses": []},
            {"name": "eth0:1", "ip-addresses": [{"ip-address-type": "ipv6", "ip-address": "fe80::1", "prefix": 64}]}
        ]);
        let out = interfaces_of(&list);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].addrs[0].addr, "fe80::1");
        assert_eq!(out[1].addrs[0].r#type, f::IP_ADDR_TYPE_IPV6);
        assert_eq!(out[0].addrs[0].prefix, 8);
    }
}
