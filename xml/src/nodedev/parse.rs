//! Reading `<device>` as libvirt does, for a device that exists (a node file) or one a
//! caller asks to create (`nodeDeviceCreateXML`), with libvirt's checks and wording.

use super::{Capability, FcHost, NodeDeviceDef, ScsiHostCap, SystemCap};
use crate::storage::errs::{self, bad_attr, missing_attr};
use crate::tree::Element;
use crate::{Uuid, XmlError};

/// Which kind of document is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A device that exists: it has a name, SCSI hosts have numbers.
    Existing,
    /// A device to create: named `new device`, SCSI host numbers are the host's.
    Create,
    /// A device as libvirt's node-device driver reports a host's device: everything
    /// libvirt writes is kept (the driver, block counts, vport counts, SCSI generic
    /// devices, ...), as a node-device driver of rvirt's would fill it in.
    Host,
}

/// The name libvirt gives a device being created, in its messages.
pub const NEW_DEVICE: &str = "new device";

/// Capability types libvirt knows, in its enumeration order: the index is the number
/// its "unknown capability type" message shows and the bit of the capability in
/// `VIR_CONNECT_LIST_NODE_DEVICES_CAP_*` filters.
pub const CAP_TYPES: &[&str] = &[
    "system",
    "pci",
    "usb_device",
    "usb",
    "net",
    "scsi_host",
    "scsi_target",
    "scsi",
    "storage",
    "fc_host",
    "vports",
    "scsi_generic",
    "drm",
    "mdev_types",
    "mdev",
    "ccw",
    "css",
    "vdpa",
    "ap_card",
    "ap_queue",
    "ap_matrix",
    "vpd",
];

/// Types that are only sub-capabilities: refused at the top level.
const SUB_ONLY: &[&str] = &[
    "fc_host",
    "vports",
    "scsi_generic",
    "mdev_types",
    "vdpa",
    "vpd",
];

/// Values of capabilities whose absence libvirt reports as unsupported configuration:
/// element (or `element@attribute`) and what the message calls it.
const WANTED: &[(&str, &[(&str, &str)])] = &[
    ("mdev", &[("type@id", "type id attribute")]),
    (
        "ccw",
        &[
            ("cssid", "cssid value"),
            ("ssid", "ssid value"),
            ("devno", "devno value"),
        ],
    ),
    (
        "css",
        &[
            ("cssid", "cssid value"),
            ("ssid", "ssid value"),
            ("devno", "devno value"),
        ],
    ),
    ("ap_card", &[("ap-adapter", "ap-adapter value")]),
    (
        "ap_queue",
        &[
            ("ap-adapter", "ap-adapter value"),
            ("ap-domain", "ap-domain value"),
        ],
    ),
];

/// Network device features libvirt knows, in its order (the order it writes them in).
pub(super) const NET_FEATURES: &[&str] = &[
    "rx",
    "tx",
    "sg",
    "tso",
    "gso",
    "gro",
    "lro",
    "rxvlan",
    "txvlan",
    "ntuple",
    "rxhash",
    "rdma",
    "txudptnl",
    "switchdev",
];
const LINK_STATES: &[&str] = &[
    "unknown",
    "notpresent",
    "down",
    "lowerlayerdown",
    "testing",
    "dormant",
    "up",
];

fn unsupported(msg: String) -> XmlError {
    errs::reported(errs::CONFIG_UNSUPPORTED, errs::FROM_NODEDEV, msg)
}

/// The checks libvirt reports as unsupported configuration, and a disk's size.
fn check_wanted(t: &str, e: &Element, name: &str) -> Result<(), XmlError> {
    if t == "drm" {
        let v = text(e, "type");
        if !matches!(v.as_deref(), Some("primary" | "control" | "render")) {
            let v = v.unwrap_or_else(|| "(null)".into());
            return Err(unsupported(format!("unknown drm type '{v}' for '{name}'")));
        }
    }
    if t == "storage" {
        let removable = e
            .children_named("capability")
            .any(|c| c.attr("type") == Some("removable"));
        if !removable && text(e, "size").is_none() {
            return Err(err(format!("no size supplied for '{name}'")));
        }
    }
    let Some((_, fields)) = WANTED.iter().find(|(n, _)| *n == t) else {
        return Ok(());
    };
    for (path, what) in *fields {
        let v = match path.split_once('@') {
            Some((el, at)) => e
                .child(el)
                .and_then(|c| c.attr_s(at))
                .filter(|v| !v.is_empty()),
            None => text(e, path),
        };
        if v.is_none() {
            return Err(unsupported(format!("missing {what} for '{name}'")));
        }
    }
    Ok(())
}

/// How a required value is read.
#[derive(Clone, Copy)]
enum Kind {
    /// A decimal number (XPath `number()`).
    Dec,
    /// A hexadecimal number.
    Hex,
    /// Any text.
    Text,
}

/// A value a capability must have: its element, the attribute holding it (else the
/// element's text), how it reads, and what libvirt calls it.
type Required = (&'static str, Option<&'static str>, Kind, &'static str);

/// The values libvirt requires of each capability type, in the order it checks them.
const REQUIRED: &[(&str, &[Required])] = &[
    (
        "pci",
        &[
            ("domain", None, Kind::Dec, "PCI domain ID"),
            ("bus", None, Kind::Dec, "PCI bus ID"),
            ("slot", None, Kind::Dec, "PCI slot ID"),
            ("function", None, Kind::Dec, "PCI function ID"),
            ("vendor", Some("id"), Kind::Hex, "PCI vendor ID"),
            ("product", Some("id"), Kind::Hex, "PCI product ID"),
        ],
    ),
    (
        "usb_device",
        &[
            ("bus", None, Kind::Dec, "USB bus number"),
            ("device", None, Kind::Dec, "USB device number"),
            ("vendor", Some("id"), Kind::Hex, "USB vendor ID"),
            ("product", Some("id"), Kind::Hex, "USB product ID"),
        ],
    ),
    (
        "usb",
        &[
            ("number", None, Kind::Dec, "USB interface number"),
            ("class", None, Kind::Dec, "USB interface class"),
            ("subclass", None, Kind::Dec, "USB interface subclass"),
            ("protocol", None, Kind::Dec, "USB interface protocol"),
        ],
    ),
    (
        "scsi",
        &[
            ("host", None, Kind::Dec, "SCSI host ID"),
            ("bus", None, Kind::Dec, "SCSI bus ID"),
            ("target", None, Kind::Dec, "SCSI target ID"),
            ("lun", None, Kind::Dec, "SCSI LUN ID"),
        ],
    ),
    (
        "scsi_target",
        &[("target", None, Kind::Text, "target name")],
    ),
    (
        "storage",
        &[("block", None, Kind::Text, "block device path")],
    ),
];

fn err(msg: impl AsRef<str>) -> XmlError {
    errs::nodedev(msg)
}

/// XPath's `string()` of `e`'s first child `name`: `None` when missing or empty.
fn text(e: &Element, name: &str) -> Option<String> {
    e.child_text_raw(name).filter(|t| !t.is_empty())
}

fn reads(kind: Kind, v: &str) -> bool {
    let t = v.trim();
    match kind {
        Kind::Text => true,
        Kind::Dec => !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()),
        Kind::Hex => {
            let h = t.strip_prefix("0x").unwrap_or(t);
            !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit())
        }
    }
}

/// libvirt's "no X supplied" / "invalid X supplied" checks of capability `t`.
fn check_required(t: &str, e: &Element, name: &str) -> Result<(), XmlError> {
    let Some((_, fields)) = REQUIRED.iter().find(|(n, _)| *n == t) else {
        return Ok(());
    };
    for (child, attr, kind, what) in *fields {
        let v = match attr {
            Some(a) => e
                .child(child)
                .and_then(|c| c.attr_s(a))
                .filter(|v| !v.is_empty()),
            None => text(e, child),
        };
        match v {
            None => return Err(err(format!("no {what} supplied for '{name}'"))),
            Some(v) if !reads(*kind, &v) => {
                return Err(err(format!("invalid {what} supplied for '{name}'")))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn parse_system(e: &Element, name: &str) -> Result<SystemCap, XmlError> {
    let hw = e.child("hardware");
    let fw = e.child("firmware");
    let uuid = hw
        .and_then(|h| text(h, "uuid"))
        .ok_or_else(|| err(format!("no system UUID supplied for '{name}'")))?;
    let hw_uuid =
        Uuid::parse(&uuid).map_err(|_| err(format!("malformed uuid element for '{name}'")))?;
    Ok(SystemCap {
        product: text(e, "product"),
        hw_vendor: hw.and_then(|h| text(h, "vendor")),
        hw_version: hw.and_then(|h| text(h, "version")),
        hw_serial: hw.and_then(|h| text(h, "serial")),
        hw_uuid,
        fw_vendor: fw.and_then(|f| text(f, "vendor")),
        fw_version: fw.and_then(|f| text(f, "version")),
        fw_release_date: fw.and_then(|f| text(f, "release_date")),
    })
}

/// A SCSI host's number fields, read only for an existing device.
fn host_numbers(e: &Element, s: &mut ScsiHostCap, name: &str) -> Result<(), XmlError> {
    let host =
        text(e, "host").ok_or_else(|| err(format!("no SCSI host ID supplied for '{name}'")))?;
    s.host = host
        .trim()
        .parse()
        .map_err(|_| err(format!("invalid SCSI host ID supplied for '{name}'")))?;
    if let Some(u) = text(e, "unique_id") {
        let id = u
            .trim()
            .parse()
            .map_err(|_| err(format!("invalid unique_id supplied for '{name}'")))?;
        s.unique_id = Some(id);
    }
    Ok(())
}

fn parse_scsi_host(e: &Element, mode: Mode, name: &str) -> Result<ScsiHostCap, XmlError> {
    let mut s = ScsiHostCap::default();
    if mode != Mode::Create {
        host_numbers(e, &mut s, name)?;
    }
    for sub in e.children_named("capability") {
        match sub.attr("type") {
            None => {
                return Err(err(format!(
                    "missing SCSI host capability type for '{name}'"
                )))
            }
            // The counts come from the host's sysfs, never from a document to define.
            Some("vport_ops") if mode != Mode::Host => s.vport_ops = Some((0, 0)),
            Some("vport_ops") => s.vport_ops = Some(vport_counts(sub, name)?),
            Some("fc_host") => {
                let wwn = |k: &str, what: &str| {
                    text(sub, k).ok_or_else(|| {
                        err(format!(
                            "no {what} supplied for '{name}', and auto-generation failed"
                        ))
                    })
                };
                s.fc_host = Some(FcHost {
                    wwnn: Some(wwn("wwnn", "WWNN")?),
                    wwpn: Some(wwn("wwpn", "WWPN")?),
                    fabric_wwn: text(sub, "fabric_wwn"),
                });
            }
            Some(t) => {
                return Err(err(format!(
                    "unknown SCSI host capability type '{t}' for '{name}'"
                )))
            }
        }
    }
    Ok(s)
}

/// The counts of a host's `vport_ops` capability.
fn vport_counts(e: &Element, name: &str) -> Result<(u32, u32), XmlError> {
    let n = |k: &str| {
        text(e, k)
            .unwrap_or_else(|| "0".into())
            .trim()
            .parse()
            .map_err(|_| err(format!("invalid {k} supplied for '{name}'")))
    };
    Ok((n("max_vports")?, n("vports")?))
}

fn parse_net(e: &Element, mode: Mode, name: &str) -> Result<Capability, XmlError> {
    let interface = text(e, "interface")
        .ok_or_else(|| err(format!("no network interface supplied for '{name}'")))?;
    if let Some(state) = e
        .child("link")
        .and_then(|l| l.attr("state"))
        .filter(|s| !s.is_empty())
    {
        if !LINK_STATES.contains(&state) {
            return Err(bad_attr("state", "link", state));
        }
    }
    let xml = |m: String| errs::reported(errs::XML_ERROR, errs::FROM_NODEDEV, m);
    for f in e.children_named("feature") {
        match f.attr("name") {
            None => return Err(xml("missing network device feature name".into())),
            Some(n) if !NET_FEATURES.contains(&n) => {
                return Err(xml(format!("unknown network device feature '{n}'")))
            }
            Some(_) => {}
        }
    }
    for sub in e.children_named("capability") {
        if sub
            .attr("type")
            .is_some_and(|t| !matches!(t, "" | "80203" | "80211"))
        {
            return Err(unsupported(format!(
                "invalid network type supplied for '{name}'"
            )));
        }
    }
    let simple = e
        .children
        .iter()
        .all(|c| c.name == "interface" || c.name == "address");
    if simple {
        return Ok(Capability::Net {
            interface: interface.trim().to_string(),
            address: e.child_text("address"),
        });
    }
    described("net", e, mode)
}

/// A capability kept in the canonical form its description gives.
fn described(t: &str, e: &Element, mode: Mode) -> Result<Capability, XmlError> {
    let host = mode == Mode::Host;
    let raw = match super::caps::spec(t, host) {
        Some(spec) => {
            let mut raw = spec.parse(e, &format!("device/capability[{t}]"))?;
            super::values::normalise(t, &mut raw, host);
            raw
        }
        None => e.clone(),
    };
    Ok(Capability::Other {
        cap_type: t.to_string(),
        raw,
    })
}

fn parse_cap(e: &Element, mode: Mode, name: &str) -> Result<Capability, XmlError> {
    let t = e
        .attr("type")
        .ok_or_else(|| missing_attr("type", "capability"))?;
    let Some(index) = CAP_TYPES.iter().position(|c| *c == t) else {
        return Err(bad_attr("type", "capability", t));
    };
    // libvirt reports a host's SCSI generic and vDPA devices; it reads neither from a
    // document.
    let host_only = mode == Mode::Host && matches!(t, "scsi_generic" | "vdpa");
    if SUB_ONLY.contains(&t) && !host_only {
        return Err(err(format!(
            "unknown capability type '{index}' for '{name}'"
        )));
    }
    check_required(t, e, name)?;
    check_wanted(t, e, name)?;
    super::values::check(t, e, name)?;
    Ok(match t {
        "system" => Capability::System(parse_system(e, name)?),
        "scsi_host" => Capability::ScsiHost(parse_scsi_host(e, mode, name)?),
        "net" => parse_net(e, mode, name)?,
        "scsi" => {
            let n = |k: &str| text(e, k).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
            Capability::Scsi {
                host: n("host"),
                bus: n("bus"),
                target: n("target"),
                lun: n("lun"),
                scsi_type: e.child_text("type").filter(|t| !t.is_empty()),
            }
        }
        _ => described(t, e, mode)?,
    })
}

/// `<devnode type>`: the device node (`dev`) and its links (`link`).
fn parse_devnodes(e: &Element, def: &mut NodeDeviceDef) -> Result<(), XmlError> {
    for d in e.children_named("devnode") {
        match d.attr("type") {
            None => return Err(missing_attr("type", "devnode")),
            Some("dev") => def.devnode = Some(d.text.clone()),
            Some("link") => def.devlinks.push(d.text.clone()),
            Some(t) => return Err(bad_attr("type", "devnode", t)),
        }
    }
    Ok(())
}

/// `<parent>`: a name, or a vHBA's parent by its WWNs or fabric.
fn parse_parent(e: &Element, def: &mut NodeDeviceDef) -> Result<(), XmlError> {
    let Some(p) = e.child("parent") else {
        return Ok(());
    };
    def.parent = Some(p.text.clone()).filter(|t| !t.is_empty());
    def.parent_wwnn = p.attr_s("wwnn").filter(|v| !v.is_empty());
    def.parent_wwpn = p.attr_s("wwpn").filter(|v| !v.is_empty());
    let xml = |m: String| errs::reported(errs::XML_ERROR, errs::FROM_NODEDEV, m);
    match (&def.parent_wwnn, &def.parent_wwpn) {
        (Some(n), None) => {
            return Err(xml(format!(
                "when providing parent wwnn='{n}', the wwpn must also be provided"
            )))
        }
        (None, Some(p)) => {
            return Err(xml(format!(
                "when providing parent wwpn='{p}', the wwnn must also be provided"
            )))
        }
        _ => {}
    }
    def.parent_fabric_wwn = p.attr_s("fabric_wwn").filter(|v| !v.is_empty());
    Ok(())
}

/// Reads a `<device>` element in `mode`.
pub fn device(e: &Element, mode: Mode) -> Result<NodeDeviceDef, XmlError> {
    let name = match mode {
        Mode::Create => NEW_DEVICE.to_string(),
        Mode::Existing | Mode::Host => text(e, "name").ok_or_else(|| {
            errs::reported(
                errs::NO_NAME,
                errs::FROM_NODEDEV,
                "missing name information",
            )
        })?,
    };
    let mut def = NodeDeviceDef {
        path: text(e, "path"),
        // The driver is the host's to tell (sysfs); libvirt does not read it from a
        // document to define.
        driver: e
            .child("driver")
            .filter(|_| mode == Mode::Host)
            .and_then(|d| text(d, "name")),
        ..NodeDeviceDef::new(name)
    };
    parse_devnodes(e, &mut def)?;
    parse_parent(e, &mut def)?;
    for c in e.children_named("capability") {
        def.caps.push(parse_cap(c, mode, &def.name)?);
    }
    if def.caps.is_empty() {
        return Err(err(format!("no device capabilities for '{}'", def.name)));
    }
    Ok(def)
}
