//! More domain management: managedsave, save, restore, autostart, setmem, setmaxmem,
//! setvcpus, edit, attach-device, detach-device, qemu-monitor-command.

use super::cmd;
use rvirt_protocol as p;
use rvirt_protocol::facts;

use crate::qmp_json;
use rvirt_protocol::RemoteClient;

use crate::ctl::{CmdError, Context, Ctl};
use crate::opts::{Args, Cmd, Complete, Opt};

use super::{flag_bits, read_file};

pub const CMDS: &[Cmd] = &[
    cmd("attach-device", "attach device from an XML file", "Attach device from an XML <file>.", DEVICE, attach_device),
    cmd("autostart", "autostart a domain", "Configure a domain to be automatically started at boot.", AUTOSTART, autostart),
    cmd("detach-device", "detach device from an XML file", "Detach device from an XML <file>", DEVICE, detach_device),
    cmd("edit", "edit XML configuration for a domain", "Edit the XML configuration for a domain.", &[Opt::domain()], edit),
    cmd("managedsave", "managed save of a domain state", "Save and destroy a running domain, so it can be restarted from\n    the same state at a later time.  When the virsh 'start'\n    command is next run for the domain, it will automatically\n    be started from this saved state.", MANAGEDSAVE, managedsave),
    cmd("qemu-monitor-command", "QEMU Monitor Command", "QEMU Monitor Command", QMC, qemu_monitor_command),
    cmd("restore", "restore a domain from a saved state in a file", "Restore a domain.", RESTORE, restore),
    cmd("save", "save a domain state to a file", "Save the RAM state of a running domain.", SAVE, save),
    cmd("setmaxmem", "change maximum memory limit", "Change the maximum memory allocation limit in the guest domain.", SETMEM, setmaxmem),
    cmd("setmem", "change memory allocation", "Change the current memory allocation in the guest domain.", SETMEM, setmem),
    cmd("setvcpus", "change number of virtual CPUs", "Change the number of virtual CPUs in the guest domain.", SETVCPUS, setvcpus),
];

const DEVICE: &[Opt] = &[
    Opt::domain(),
    Opt::file("XML file"),
    Opt::flag("persistent", "make live change persistent"),
    Opt::flag("config", "affect next boot"),
    Opt::flag("live", "affect running domain"),
    Opt::flag("current", "affect current domain"),
];
const AUTOSTART: &[Opt] = &[Opt::domain(), Opt::flag("disable", "disable autostarting")];
const MANAGEDSAVE: &[Opt] = &[
    Opt::domain(),
    Opt::flag("bypass-cache", "avoid file system cache when saving"),
    Opt::flag("running", "set domain to be running on next start"),
    Opt::flag("paused", "set domain to be paused on next start"),
    Opt::flag("verbose", "display the progress of save"),
];
const QMC: &[Opt] = &[
    Opt::domain(),
    Opt::flag("hmp", "command is in human monitor protocol"),
    Opt::flag("pretty", "pretty-print any qemu monitor protocol output"),
    Opt::flag(
        "return-value",
        "extract the value of the 'return' key from the returned string",
    ),
    Opt::argv("cmd", "command").required(),
];
const RESTORE: &[Opt] = &[
    Opt::req("file", "the state to restore").completes(Complete::File),
    Opt::flag("bypass-cache", "avoid file system cache when restoring"),
    Opt::named("xml", "filename containing updated XML for the target"),
    Opt::flag("running", "restore domain into running state"),
    Opt::flag("paused", "restore domain into paused state"),
    Opt::flag(
        "reset-nvram",
        "re-initialize NVRAM from its pristine template",
    ),
];
const SAVE: &[Opt] = &[
    Opt::domain(),
    Opt::req("file", "where to save the data").completes(Complete::File),
    Opt::flag("bypass-cache", "avoid file system cache when saving"),
    Opt::named("xml", "filename containing updated XML for the target"),
    Opt::flag("running", "set domain to be running on restore"),
    Opt::flag("paused", "set domain to be paused on restore"),
    Opt::flag("verbose", "display the progress of save"),
];
const SETMEM: &[Opt] = &[
    Opt::domain(),
    Opt::req("size", "new memory size, as scaled integer (default KiB)"),
    Opt::flag("config", "affect next boot"),
    Opt::flag("live", "affect running domain"),
    Opt::flag("current", "affect current domain"),
];
const SETVCPUS: &[Opt] = &[
    Opt::domain(),
    Opt::req("count", "number of virtual CPUs"),
    Opt::flag("maximum", "set maximum limit on next boot"),
    Opt::flag("config", "affect next boot"),
    Opt::flag("live", "affect running domain"),
    Opt::flag("current", "affect current domain"),
    Opt::flag("guest", "modify cpu state in the guest"),
    Opt::flag("hotpluggable", "make added vcpus hot(un)pluggable"),
];

/// `--config`/`--live`/`--current` (and `--persistent`) as libvirt's affect flags.
pub(super) fn affect_flags(a: &Args) -> Result<u32, CmdError> {
    if a.has("current") && (a.has("live") || a.has("config")) {
        return Err(CmdError::Msg(
            "Options --current and --live/--config are mutually exclusive".into(),
        ));
    }
    Ok(flag_bits(
        a,
        &[
            ("live", facts::domain_affect::LIVE),
            ("config", facts::domain_affect::CONFIG),
            ("persistent", facts::domain_affect::CONFIG),
        ],
    ))
}

fn device(ctl: &mut Ctl, a: &Args, attach: bool) -> Result<(), CmdError> {
    let dom = ctl.domain(a.req("domain")?)?;
    let file = a.req("file")?;
    let xml = read_file(file)?;
    let verb = if attach { "attach" } else { "detach" };
    super::dom_hotplug::change(ctl, a, dom, xml, attach)?
        .ctx(|| format!("Failed to {verb} device from {file}"))?;
    println!("Device {verb}ed successfully");
    Ok(())
}

fn attach_device(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    device(ctl, a, true)
}

fn detach_device(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    device(ctl, a, false)
}

fn autostart(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let dom = ctl.domain(a.req("domain")?)?;
    let name = dom.name.clone();
    let on = !a.has("disable");
    let r = ctl
        .conn()?
        .domain_set_autostart(&p::RemoteDomainSetAutostartArgs {
            dom,
            autostart: i32::from(on),
        });
    if on {
        r.ctx(|| format!("Failed to mark domain '{name}' as autostarted"))?;
        println!("Domain '{name}' marked as autostarted");
    } else {
        r.ctx(|| format!("Failed to unmark domain '{name}' as autostarted"))?;
        println!("Domain '{name}' unmarked as autostarted");
    }
    Ok(())
}

fn save_flags(a: &Args) -> Result<u32, CmdError> {
    if a.has("running") && a.has("paused") {
        return Err(CmdError::Msg(
            "Options --running and --paused are mutually exclusive".into(),
        ));
    }
    Ok(flag_bits(
        a,
        &[
            ("bypass-cache", facts::domain_save::BYPASS_CACHE),
            ("running", facts::domain_save::RUNNING),
            ("paused", facts::domain_save::PAUSED),
            ("reset-nvram", facts::domain_save::RESET_NVRAM),
        ],
    ))
}

fn managedsave(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let flags = save_flags(a)?;
    let dom = ctl.domain(a.req("domain")?)?;
    let name = dom.name.clone();
    let r = ctl
        .conn()?
        .domain_managed_save(&p::RemoteDomainManagedSaveArgs { dom, flags });
    r.ctx(|| format!("Failed to save domain '{name}' state"))?;
    println!("\nDomain '{name}' state saved by libvirt");
    Ok(())
}

fn save(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let flags = save_flags(a)?;
    let dom = ctl.domain(a.req("domain")?)?;
    let to = a.req("file")?.to_string();
    let dxml = a.get("xml").map(read_file).transpose()?;
    let name = dom.name.clone();
    let c = ctl.conn()?;
    let r = if flags == 0 && dxml.is_none() {
        c.domain_save(&p::RemoteDomainSaveArgs {
            dom,
            to: to.clone(),
        })
    } else {
        c.domain_save_flags(&p::RemoteDomainSaveFlagsArgs {
            dom,
            to: to.clone(),
            dxml,
            flags,
        })
    };
    r.ctx(|| format!("Failed to save domain '{name}' to {to}"))?;
    println!("\nDomain '{name}' saved to {to}");
    Ok(())
}

fn restore(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let flags = save_flags(a)?;
    let from = a.req("file")?.to_string();
    let dxml = a.get("xml").map(read_file).transpose()?;
    let c = ctl.conn()?;
    let r = if flags == 0 && dxml.is_none() {
        c.domain_restore(&p::RemoteDomainRestoreArgs { from: from.clone() })
    } else {
        c.domain_restore_flags(&p::RemoteDomainRestoreFlagsArgs {
            from: from.clone(),
            dxml,
            flags,
        })
    };
    r.ctx(|| format!("Failed to restore domain from {from}"))?;
    println!("Domain restored from {from}");
    Ok(())
}

/// A scaled size (`512M`, `2GiB`, plain numbers in KiB) in KiB.
pub fn parse_kib(s: &str) -> Option<u64> {
    let bytes = parse_scaled(s, 1024)?;
    Some(bytes.div_ceil(1024))
}

/// A scaled integer in bytes; `default_scale` applies to plain numbers.
pub fn parse_scaled(s: &str, default_scale: u64) -> Option<u64> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let scale: u64 = match unit {
        "" => default_scale,
        "b" | "B" | "byte" | "bytes" => 1,
        "k" | "K" | "KiB" | "kib" => 1 << 10,
        "KB" | "kb" => 1000,
        "m" | "M" | "MiB" | "mib" => 1 << 20,
        "MB" | "mb" => 1_000_000,
        "g" | "G" | "GiB" | "gib" => 1 << 30,
        "GB" | "gb" => 1_000_000_000,
        "t" | "T" | "TiB" | "tib" => 1 << 40,
        "TB" | "tb" => 1_000_000_000_000,
        "p" | "P" | "PiB" | "pib" => 1 << 50,
        "PB" | "pb" => 1_000_000_000_000_000,
        _ => return None,
    };
    n.checked_mul(scale)
}

fn set_mem(ctl: &mut Ctl, a: &Args, max: bool) -> Result<(), CmdError> {
    let dom = ctl.domain(a.req("domain")?)?;
    let size = a.req("size")?;
    let kib = parse_kib(size).ok_or_else(|| {
        CmdError::Msg(format!(
            "Scaled numeric value '{size}' for <size> option is malformed or out of range"
        ))
    })?;
    let flags = affect_flags(a)? | if max { 4 } else { 0 };
    let c = ctl.conn()?;
    let what = if max { "maximum memory" } else { "memory" };
    let r = if flags == 0 {
        c.domain_set_memory(&p::RemoteDomainSetMemoryArgs { dom, memory: kib })
    } else if max && flags == 4 {
        c.domain_set_max_memory(&p::RemoteDomainSetMaxMemoryArgs { dom, memory: kib })
    } else {
        c.domain_set_memory_flags(&p::RemoteDomainSetMemoryFlagsArgs {
            dom,
            memory: kib,
            flags,
        })
    };
    r.ctx(|| format!("Unable to change {what}"))?;
    Ok(())
}

fn setmem(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    set_mem(ctl, a, false)
}

fn setmaxmem(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    set_mem(ctl, a, true)
}

fn setvcpus(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let dom = ctl.domain(a.req("domain")?)?;
    let count: u32 = a.int("count")?.unwrap_or(0);
    if count == 0 {
        return Err(CmdError::Msg("Invalid number of virtual CPUs".into()));
    }
    let flags = affect_flags(a)?
        | flag_bits(
            a,
            &[
                ("maximum", facts::domain_tune::MAXIMUM),
                ("guest", facts::domain_tune::VCPU_GUEST),
                ("hotpluggable", facts::domain_tune::VCPU_HOTPLUGGABLE),
            ],
        );
    let c = ctl.conn()?;
    if flags == 0 {
        c.domain_set_vcpus(&p::RemoteDomainSetVcpusArgs { dom, nvcpus: count })?;
    } else {
        c.domain_set_vcpus_flags(&p::RemoteDomainSetVcpusFlagsArgs {
            dom,
            nvcpus: count,
            flags,
        })?;
    }
    Ok(())
}

fn qemu_monitor_command(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let dom = ctl.domain(a.req("domain")?)?;
    let cmd = a.all("cmd").join(" ");
    let flags = u32::from(a.has("hmp"));
    if a.has("hmp") && (a.has("pretty") || a.has("return-value")) {
        return Err(CmdError::Msg(
            "Options --hmp and --pretty/--return-value are mutually exclusive".into(),
        ));
    }
    let args = p::QemuDomainMonitorCommandArgs { dom, cmd, flags };
    let r = rvirt_protocol::QemuClient::domain_monitor_command(ctl.conn()?, &args)?;
    // As virsh: the reply as QEMU wrote it, unless it is to be re-printed (libvirt's
    // JSON writer: compact, or beautified with --pretty).
    let pretty = a.has("pretty");
    let parsed = (pretty || a.has("return-value"))
        .then(|| qmp_json::Value::parse(&r.result))
        .flatten();
    let out = match (&parsed, a.has("return-value")) {
        (Some(v), true) => v
            .get("return")
            .ok_or_else(|| CmdError::Msg("monitor reply doesn't contain a 'return' field".into()))?
            .write(pretty),
        (None, true) => {
            return Err(CmdError::Msg(
                "monitor reply doesn't contain a 'return' field".into(),
            ))
        }
        (Some(v), false) => v.write(pretty),
        (None, false) => {
            println!("{}", r.result.trim_end_matches('\n'));
            return Ok(());
        }
    };
    // virsh prints a re-printed reply without a newline of its own: the blank line every
    // command ends with in command mode ends it.
    if ctl.interactive {
        println!("{out}");
    } else {
        print!("{out}");
    }
    Ok(())
}

fn edit(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let dom = ctl.domain(a.req("domain")?)?;
    let name = dom.name.clone();
    let xml = ctl
        .conn()?
        .domain_get_xml_desc(&p::RemoteDomainGetXmlDescArgs {
            dom,
            flags: facts::domain_xml::SECURE | facts::domain_xml::INACTIVE,
        })?
        .xml;
    let conn = ctl.conn()?;
    super::virsh::edit_and_define(
        &xml,
        "domain",
        &name,
        |n| format!("Domain '{n}'"),
        |new| {
            let r = conn.domain_define_xml(&p::RemoteDomainDefineXmlArgs { xml: new });
            Ok(r.ctx(|| format!("Failed to define domain '{name}'"))?
                .dom
                .name)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_kib("1024"), Some(1024));
        assert_eq!(parse_kib("1G"), Some(1024 * 1024));
        assert_eq!(parse_kib("1500b"), Some(2));
        assert_eq!(parse_kib("x"), None);
        assert_eq!(parse_scaled("10M", 1), Some(10 << 20));
    }
}
