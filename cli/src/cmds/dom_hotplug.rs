//! Device hotplug commands beyond attach-device/detach-device: detach-device-alias,
//! update-device, attach-disk, detach-disk, attach-interface, detach-interface and
//! change-media, with virsh's options, generated XML and messages.

use super::cmd;
use rvirt_protocol as p;
use rvirt_protocol::facts;
use rvirt_protocol::RemoteClient;
use rvirt_xml::out::{Attrs, Out};
use rvirt_xml::tree::Element;

use crate::ctl::{CmdError, Context, Ctl};
use crate::opts::{Args, Cmd, Opt};

use super::dom_extra::affect_flags;
use super::read_file;

pub const CMDS: &[Cmd] = &[
    cmd(
        "attach-disk",
        "attach disk device",
        "Attach new disk device.",
        ATTACH_DISK,
        attach_disk,
    ),
    cmd(
        "attach-interface",
        "attach network interface",
        "Attach new network interface.",
        ATTACH_IFACE,
        attach_interface,
    ),
    cmd(
        "change-media",
        "Change media of CD or floppy drive",
        "Change media of CD or floppy drive.",
        CHANGE_MEDIA,
        change_media,
    ),
    cmd(
        "detach-device-alias",
        "detach device from an alias",
        "Detach device identified by the given alias from a domain",
        DETACH_ALIAS,
        detach_alias,
    ),
    cmd(
        "detach-disk",
        "detach disk device",
        "Detach disk device.",
        DETACH_DISK,
        detach_disk,
    ),
    cmd(
        "detach-interface",
        "detach network interface",
        "Detach network interface.",
        DETACH_IFACE,
        detach_interface,
    ),
    cmd(
        "update-device",
        "update device from an XML file",
        "Update device from an XML <file>.",
        UPDATE,
        update_device,
    ),
];

const AFFECT: [Opt; 4] = [
    Opt::flag("persistent", "make live change persistent"),
    Opt::flag("config", "affect next boot"),
    Opt::flag("live", "affect running domain"),
    Opt::flag("current", "affect current domain"),
];

const DETACH_ALIAS: &[Opt] = &[
    Opt::domain(),
    Opt::req("alias", "device alias"),
    Opt::flag("config", "affect next boot"),
    Opt::flag("live", "affect running domain"),
    Opt::flag("current", "affect current domain"),
];
const UPDATE: &[Opt] = &[
    Opt::domain(),
    Opt::file("XML file"),
    AFFECT[0],
    AFFECT[1],
    AFFECT[2],
    AFFECT[3],
    Opt::flag("force", "force device update"),
];
const ATTACH_DISK: &[Opt] = &[
    Opt::domain(),
    Opt::req("source", "source of disk device or name of network disk"),
    Opt::req("target", "target of disk device"),
    Opt::named("targetbus", "target bus of disk device"),
    Opt::named("driver", "driver of disk device"),
    Opt::named("subdriver", "subdriver of disk device"),
    Opt::named("iothread", "IOThread to be used by supported device"),
    Opt::named("cache", "cache mode of disk device"),
    Opt::named("io", "io policy of disk device"),
    Opt::named("type", "target device type"),
    Opt::named("mode", "mode of device reading and writing"),
    Opt::named("sourcetype", "type of source (block|file|network)"),
    Opt::named("serial", "serial of disk device"),
    Opt::named("wwn", "wwn of disk device"),
    Opt::flag(
        "print-xml",
        "print XML document rather than attach the disk",
    ),
    AFFECT[0],
    AFFECT[1],
    AFFECT[2],
    AFFECT[3],
];
const DETACH_DISK: &[Opt] = &[
    Opt::domain(),
    Opt::req("target", "target of disk device"),
    AFFECT[0],
    AFFECT[1],
    AFFECT[2],
    AFFECT[3],
    Opt::flag(
        "print-xml",
        "print XML document rather than detach the disk",
    ),
];
const ATTACH_IFACE: &[Opt] = &[
    Opt::domain(),
    Opt::req("type", "network interface type"),
    Opt::req("source", "source of network interface"),
    Opt::named("target", "target network name"),
    Opt::named("mac", "MAC address"),
    Opt::named("script", "script used to bridge network interface"),
    Opt::named("model", "model type"),
    Opt::named("alias", "custom alias name of interface device"),
    AFFECT[0],
    AFFECT[1],
    AFFECT[2],
    AFFECT[3],
    Opt::flag(
        "print-xml",
        "print XML document rather than attach the interface",
    ),
];
const DETACH_IFACE: &[Opt] = &[
    Opt::domain(),
    Opt::req("type", "network interface type"),
    Opt::named("mac", "MAC address"),
    AFFECT[0],
    AFFECT[1],
    AFFECT[2],
    AFFECT[3],
];
const CHANGE_MEDIA: &[Opt] = &[
    Opt::domain(),
    Opt::req("path", "Fully-qualified path or target of disk device"),
    Opt::string("source", "source of the media"),
    Opt::flag("eject", "Eject the media"),
    Opt::flag("insert", "Insert the media"),
    Opt::flag("update", "Update the media"),
    Opt::flag(
        "current",
        "can be either or both of --live and --config, depends on implementation hypervisor driver",
    ),
    Opt::flag("live", "alter live configuration of running domain"),
    Opt::flag(
        "config",
        "alter persistent configuration, effect observed on next boot",
    ),
    Opt::flag("force", "force media changing"),
    Opt::flag("print-xml", "print XML document rather than change media"),
    Opt::flag("block", "source media is a block device"),
];

/// The affect flags of `a`, `--persistent` adding live on a running domain.
fn flags_for(ctl: &mut Ctl, a: &Args, dom: &p::RemoteNonnullDomain) -> Result<u32, CmdError> {
    let mut flags = affect_flags(a)?;
    if a.has("persistent") {
        let active = ctl
            .conn()?
            .domain_is_active(&p::RemoteDomainIsActiveArgs { dom: dom.clone() })?
            .active;
        if active != 0 {
            flags |= facts::domain_affect::LIVE;
        }
    }
    Ok(flags)
}

/// Attaches (or detaches) `xml` as virsh does: the flag-less call unless a flag or
/// `--current` is given. The outer error is the shell's, the inner the daemon's.
pub(super) fn change(
    ctl: &mut Ctl,
    a: &Args,
    dom: p::RemoteNonnullDomain,
    xml: String,
    attach: bool,
) -> Result<Result<(), p::RemoteError>, CmdError> {
    let flags = flags_for(ctl, a, &dom)?;
    let with_flags = flags != 0 || a.has("current");
    let c = ctl.conn()?;
    Ok(match (attach, with_flags) {
        (true, true) => {
            c.domain_attach_device_flags(&p::RemoteDomainAttachDeviceFlagsArgs { dom, xml, flags })
        }
        (true, false) => c.domain_attach_device(&p::RemoteDomainAttachDeviceArgs { dom, xml }),
        (false, true) => {
            c.domain_detach_device_flags(&p::RemoteDomainDetachDeviceFlagsArgs { dom, xml, flags })
        }
        (false, false) => c.domain_detach_device(&p::RemoteDomainDetachDeviceArgs { dom, xml }),
    })
}

fn detach_alias(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let dom = ctl.domain(a.req("domain")?)?;
    let alias = a.req("alias")?.to_string();
    let flags = affect_flags(a)?;
    ctl.conn()?
        .domain_detach_device_alias(&p::RemoteDomainDetachDeviceAliasArgs {
            dom,
            alias: alias.clone(),
            flags,
        })
        .ctx(|| format!("Failed to detach device with alias {alias}"))?;
    println!("Device detach request sent successfully");
    Ok(())
}

fn update_device(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let dom = ctl.domain(a.req("domain")?)?;
    let file = a.req("file")?;
    let xml = read_file(file)?;
    let mut flags = flags_for(ctl, a, &dom)?;
    if a.has("force") {
        flags |= facts::domain_device_modify::FORCE;
    }
    ctl.conn()?
        .domain_update_device_flags(&p::RemoteDomainUpdateDeviceFlagsArgs { dom, xml, flags })
        .ctx(|| format!("Failed to update device from {file}"))?;
    println!("Device updated successfully");
    Ok(())
}

/// The `<disk>` attach-disk makes of its options.
fn disk_xml(a: &Args) -> Result<String, CmdError> {
    let source = a.req("source")?;
    let block = std::fs::metadata(source)
        .map(|m| std::os::unix::fs::FileTypeExt::is_block_device(&m.file_type()))
        .unwrap_or(false);
    let kind = a
        .get("sourcetype")
        .unwrap_or(if block { "block" } else { "file" });
    let mut out = Out::new();
    let attrs = Attrs::new().add("type", kind).opt("device", a.get("type"));
    out.open("disk", &attrs);
    let driver = Attrs::new()
        .opt("name", a.get("driver"))
        .opt("type", a.get("subdriver"))
        .opt("iothread", a.get("iothread"))
        .opt("cache", a.get("cache"))
        .opt("io", a.get("io"));
    if !driver.is_empty() {
        out.empty("driver", &driver);
    }
    let attr = if kind == "block" { "dev" } else { "file" };
    out.empty("source", &Attrs::new().add(attr, source));
    out.empty(
        "target",
        &Attrs::new()
            .add("dev", a.req("target")?)
            .opt("bus", a.get("targetbus")),
    );
    match a.get("mode") {
        Some("readonly") => out.empty("readonly", &Attrs::new()),
        Some("shareable") => out.empty("shareable", &Attrs::new()),
        Some(other) => {
            return Err(CmdError::Msg(format!(
                "No support for {other} in command 'attach-disk'"
            )))
        }
        None => {}
    }
    out.opt_text("serial", a.get("serial"));
    out.opt_text("wwn", a.get("wwn"));
    out.close("disk");
    Ok(out.finish())
}

fn attach_disk(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    attach_built(ctl, a, disk_xml(a)?, ("disk", "Disk"))
}

/// attach-disk and attach-interface once their XML is built: print it (`--print-xml`)
/// or attach it, with virsh's messages for `what` ("disk", "Disk").
fn attach_built(ctl: &mut Ctl, a: &Args, xml: String, what: (&str, &str)) -> Result<(), CmdError> {
    if a.has("print-xml") {
        print!("{xml}");
        return Ok(());
    }
    let dom = ctl.domain(a.req("domain")?)?;
    change(ctl, a, dom, xml, true)?.ctx(|| format!("Failed to attach {}", what.0))?;
    println!("{} attached successfully", what.1);
    Ok(())
}

/// The domain's XML as detach-disk and friends read it: the inactive one for a
/// `--config`-only change.
fn domain_tree(ctl: &mut Ctl, a: &Args, dom: &p::RemoteNonnullDomain) -> Result<Element, CmdError> {
    let inactive = affect_flags(a)? == 2 && !a.has("persistent");
    let xml = ctl
        .conn()?
        .domain_get_xml_desc(&p::RemoteDomainGetXmlDescArgs {
            dom: dom.clone(),
            flags: if inactive { 2 } else { 0 },
        })?
        .xml;
    rvirt_xml::tree::parse_document(&xml).map_err(|e| CmdError::Msg(e.to_string()))
}

/// The text of element `e`.
fn element_xml(e: &Element) -> String {
    let mut out = Out::new();
    e.write(&mut out);
    out.finish()
}

/// The `<disk>` whose target or source is `path`.
fn find_disk<'a>(root: &'a Element, path: &str) -> Option<&'a Element> {
    let devices = root.child("devices")?;
    devices.children_named("disk").find(|d| {
        let target = d.child("target").and_then(|t| t.attr("dev"));
        let source = d.child("source").and_then(|s| {
            ["file", "dev", "dir", "name"]
                .iter()
                .find_map(|k| s.attr(k))
        });
        target == Some(path) || source == Some(path)
    })
}

fn detach_disk(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let dom = ctl.domain(a.req("domain")?)?;
    let target = a.req("target")?;
    let root = domain_tree(ctl, a, &dom)?;
    let disk = find_disk(&root, target).ok_or_else(|| {
        CmdError::Msg(format!(
            "No disk found whose source path or target is {target}"
        ))
    })?;
    let xml = element_xml(disk);
    if a.has("print-xml") {
        print!("{xml}");
        return Ok(());
    }
    change(ctl, a, dom, xml, false)?.ctx(|| "Failed to detach disk".to_string())?;
    println!("Disk detached successfully");
    Ok(())
}

/// The `<interface>` attach-interface makes of its options.
fn interface_xml(a: &Args) -> Result<String, CmdError> {
    let kind = a.req("type")?;
    let mut out = Out::new();
    out.open("interface", &Attrs::new().add("type", kind));
    let src = a.req("source")?;
    let key = match kind {
        "network" => "network",
        "bridge" => "bridge",
        "direct" => "dev",
        other => {
            return Err(CmdError::Msg(format!(
                "No support for {other} in command 'attach-interface'"
            )))
        }
    };
    out.empty("source", &Attrs::new().add(key, src));
    if let Some(t) = a.get("target") {
        out.empty("target", &Attrs::new().add("dev", t));
    }
    if let Some(m) = a.get("mac") {
        out.empty("mac", &Attrs::new().add("address", m));
    }
    if let Some(s) = a.get("script") {
        out.empty("script", &Attrs::new().add("path", s));
    }
    if let Some(m) = a.get("model") {
        out.empty("model", &Attrs::new().add("type", m));
    }
    if let Some(x) = a.get("alias") {
        out.empty("alias", &Attrs::new().add("name", x));
    }
    out.close("interface");
    Ok(out.finish())
}

fn attach_interface(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    attach_built(ctl, a, interface_xml(a)?, ("interface", "Interface"))
}

fn detach_interface(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let dom = ctl.domain(a.req("domain")?)?;
    let kind = a.req("type")?;
    let mac = a.get("mac").map(str::to_lowercase);
    let root = domain_tree(ctl, a, &dom)?;
    let all: Vec<&Element> = root
        .child("devices")
        .map(|d| {
            d.children_named("interface")
                .filter(|i| i.attr("type") == Some(kind))
                .collect()
        })
        .unwrap_or_default();
    let found: Vec<&Element> = all
        .iter()
        .copied()
        .filter(|i| {
            mac.as_deref().is_none_or(|m| {
                i.child("mac")
                    .and_then(|x| x.attr("address"))
                    .map(str::to_lowercase)
                    .as_deref()
                    == Some(m)
            })
        })
        .collect();
    let iface = match (found.as_slice(), &mac) {
        ([one], _) => *one,
        ([], found_mac) => {
            let what = match found_mac {
                Some(m) => {
                    format!("No interface found whose type is {kind} and mac address is {m}")
                }
                None => format!("No interface found whose type is {kind}"),
            };
            return Err(CmdError::Lines(vec![
                what,
                "Failed to detach interface".into(),
            ]));
        }
        (many, _) => {
            return Err(CmdError::Msg(format!(
                "Domain has {} interfaces. Please specify which one to detach using --mac",
                many.len()
            )))
        }
    };
    change(ctl, a, dom, element_xml(iface), false)?
        .ctx(|| "Failed to detach interface".to_string())?;
    println!("Interface detached successfully");
    Ok(())
}

/// The disk element with its `<source>` replaced by `source` (none: removed).
fn with_source(disk: &Element, source: Option<&str>, block: bool) -> Element {
    let mut d = disk.clone();
    d.children
        .retain(|c| c.name != "source" && c.name != "backingStore");
    if let Some(s) = source {
        let key = if block { "dev" } else { "file" };
        let src = Element {
            name: "source".into(),
            attrs: vec![(key.into(), s.into())],
            children: Vec::new(),
            text: String::new(),
        };
        let at = d
            .children
            .iter()
            .position(|c| c.name == "target")
            .unwrap_or(0);
        d.children.insert(at, src);
        if let Some(t) = d.attrs.iter_mut().find(|(k, _)| k == "type") {
            t.1 = if block { "block" } else { "file" }.into();
        }
    }
    d
}

fn change_media(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let dom = ctl.domain(a.req("domain")?)?;
    let path = a.req("path")?;
    let source = a.get("source");
    let action = match (a.has("eject"), a.has("insert"), a.has("update")) {
        (true, false, false) => "eject",
        (false, true, false) => "insert",
        (false, false, _) => "update",
        _ => {
            return Err(CmdError::Msg(
                "Options --eject, --insert and --update are mutually exclusive".into(),
            ))
        }
    };
    if action == "insert" && source.is_none() {
        return Err(CmdError::Msg(
            "No source is specified for inserting media".into(),
        ));
    }
    if action == "eject" && source.is_some() {
        return Err(CmdError::Msg(
            "The --source option is not supported for eject".into(),
        ));
    }
    let root = domain_tree(ctl, a, &dom)?;
    // As virsh: only removable drives are looked at.
    let disk = find_disk(&root, path)
        .filter(|d| matches!(d.attr("device"), Some("cdrom" | "floppy")))
        .ok_or_else(|| {
            CmdError::Msg(format!(
                "No disk found whose source path or target is {path}"
            ))
        })?;
    let has_media = disk.child("source").is_some_and(|s| !s.attrs.is_empty());
    if action == "insert" && has_media {
        return Err(CmdError::Msg(format!(
            "The disk device '{path}' already has media"
        )));
    }
    let new = with_source(disk, source, a.has("block"));
    let xml = element_xml(&new);
    if a.has("print-xml") {
        print!("{xml}");
        return Ok(());
    }
    let mut flags = affect_flags(a)?;
    if a.has("force") {
        flags |= facts::domain_device_modify::FORCE;
    }
    ctl.conn()?
        .domain_update_device_flags(&p::RemoteDomainUpdateDeviceFlagsArgs { dom, xml, flags })
        .ctx(|| format!("Failed to complete action {action} on media"))?;
    let done = match (action, source) {
        ("eject", _) | ("update", None) => "Successfully ejected media.",
        ("insert", _) => "Successfully inserted media.",
        _ => "Successfully updated media.",
    };
    // virsh ends this message with the one newline it ends every command with (no
    // blank line after it, unlike the attach and detach messages).
    if ctl.interactive || crate::run::quiet() {
        println!("{done}");
    } else {
        print!("{done}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_sources_are_replaced() {
        let disk = rvirt_xml::tree::parse_document(
            "<disk type='file' device='cdrom'><source file='/a.iso'/><target dev='hdc' bus='ide'/></disk>",
        )
        .unwrap();
        let out = element_xml(&with_source(&disk, None, false));
        assert!(!out.contains("source"), "{out}");
        let out = element_xml(&with_source(&disk, Some("/b.iso"), false));
        assert!(out.contains("<source file='/b.iso'/>\n  <target"), "{out}");
        assert!(find_disk(
            &rvirt_xml::tree::parse_document(&format!(
                "<domain><devices>{}</devices></domain>",
                element_xml(&disk)
            ))
            .unwrap(),
            "/a.iso"
        )
        .is_some());
    }
}
