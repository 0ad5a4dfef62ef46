//! A pool's `<source>`: hosts, devices, directory, adapter, name, initiator, format,
//! authentication, protocol version, vendor and product.

use super::errs::{self, bad_attr, check_wwn};
use super::{sanitize_path, text_of};
use crate::out::{Attrs, Out};
use crate::spec::{attr, leaf, Spec, Value};
use crate::tree::Element;
use crate::{Uuid, XmlError};

/// `<host name port>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PoolHost {
    /// `name`.
    pub name: String,
    /// `port` (0 when not given; not written then).
    pub port: i32,
}

/// `<device path part_separator>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PoolDevice {
    /// `path`.
    pub path: String,
    /// `part_separator`.
    pub part_separator: Option<bool>,
    /// `<freeExtent start end>` children (display only: a driver fills them in for a
    /// running `disk` pool, the parser does not read them).
    pub free_extents: Vec<(u64, u64)>,
}

/// A PCI address (`<address domain bus slot function>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PciAddress {
    /// `domain`.
    pub domain: u32,
    /// `bus`.
    pub bus: u32,
    /// `slot`.
    pub slot: u32,
    /// `function`.
    pub function: u32,
}

/// `<adapter>` of a SCSI pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Adapter {
    /// `type='scsi_host'`: by name, or by its parent's PCI address and unique id.
    ScsiHost {
        /// `name`.
        name: Option<String>,
        /// `<parentaddr unique_id>` and its `<address>`.
        parent: Option<(i32, PciAddress)>,
    },
    /// `type='fc_host'`: a (v)HBA by its WWNs.
    FcHost {
        /// `parent`.
        parent: Option<String>,
        /// `parent_wwnn`.
        parent_wwnn: Option<String>,
        /// `parent_wwpn`.
        parent_wwpn: Option<String>,
        /// `parent_fabric_wwn`.
        parent_fabric_wwn: Option<String>,
        /// `managed`.
        managed: Option<bool>,
        /// `wwnn`.
        wwnn: Option<String>,
        /// `wwpn`.
        wwpn: Option<String>,
    },
}

/// `<source>` of a pool.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PoolSource {
    /// `<host>` entries.
    pub hosts: Vec<PoolHost>,
    /// `<device>` entries.
    pub devices: Vec<PoolDevice>,
    /// `<dir path>`.
    pub dir: Option<String>,
    /// `<adapter>`.
    pub adapter: Option<Adapter>,
    /// `<name>` (e.g. volume group).
    pub name: Option<String>,
    /// `<initiator><iqn name>`.
    pub initiator_iqn: Option<String>,
    /// `<format type>`, for the pool types that have formats.
    pub format: Option<String>,
    /// `<auth>`, in canonical form.
    pub auth: Option<Element>,
    /// `<protocol ver>`.
    pub protocol_ver: Option<String>,
    /// `<vendor name>`.
    pub vendor: Option<String>,
    /// `<product name>`.
    pub product: Option<String>,
}

/// `<auth>`: the order libvirt writes its attributes and its `<secret>` in.
const AUTH: Spec = Spec {
    name: "auth",
    attrs: &[attr("type", Value::Text), attr("username", Value::Text)],
    children: &[leaf(
        "secret",
        &[
            attr("type", Value::Text),
            attr("uuid", Value::Text),
            attr("usage", Value::Text),
        ],
    )],
    text: None,
};

/// Checks `<auth>` as libvirt does and returns it in canonical form.
fn parse_auth(e: &Element) -> Result<Element, XmlError> {
    // libvirt reads both through XPath, where an empty value is no value.
    let auth_type = e.attr("type").filter(|t| !t.is_empty());
    if e.attr("username").is_none_or(str::is_empty) {
        return Err(errs::xml("missing username for auth"));
    }
    match auth_type {
        None | Some("chap" | "ceph") => {}
        Some(t) => return Err(errs::unsupported(format!("unknown auth type '{t}'"))),
    }
    let Some(secret) = e.child("secret") else {
        return Err(errs::xml("Missing <secret> element in auth"));
    };
    let mut auth = AUTH.parse(e, "pool/source/auth")?;
    auth.children.truncate(1);
    canonical_secret(secret, &mut auth.children[0])?;
    if auth_type.is_none() {
        return Err(errs::unsupported("storage pool missing auth type"));
    }
    Ok(auth)
}

/// libvirt's checks of a `<secret>` lookup (exactly one of `uuid` and `usage`); writes
/// the uuid of `out` (the canonical copy of `secret`) in canonical form.
pub(super) fn canonical_secret(secret: &Element, out: &mut Element) -> Result<(), XmlError> {
    let secret_err = |m: String| errs::reported(errs::XML_ERROR, errs::FROM_NONE, m);
    match (secret.attr("uuid"), secret.attr("usage")) {
        (None, None) => Err(secret_err("missing secret uuid or usage attribute".into())),
        (Some(_), Some(_)) => Err(secret_err("either secret uuid or usage expected".into())),
        (Some(u), None) => {
            let uuid =
                Uuid::parse(u).map_err(|_| secret_err(format!("invalid secret uuid '{u}'")))?;
            if let Some(a) = out.attrs.iter_mut().find(|a| a.0 == "uuid") {
                a.1 = uuid.to_string();
            }
            Ok(())
        }
        (None, Some(_)) => Ok(()),
    }
}

fn parse_hosts(e: &Element) -> Result<Vec<PoolHost>, XmlError> {
    e.children_named("host")
        .map(|h| {
            let name = h
                .attr_s("name")
                .ok_or_else(|| errs::xml("missing storage pool host name"))?;
            let port = match h.attr("port") {
                None => 0,
                Some(p) => p.parse::<i32>().map_err(|_| {
                    errs::reported(
                        errs::XML_ERROR,
                        errs::FROM_XML,
                        format!("Invalid value for attribute 'port' in element 'host': '{p}'. Expected integer value"),
                    )
                })?,
            };
            Ok(PoolHost { name, port })
        })
        .collect()
}

fn parse_devices(e: &Element) -> Result<Vec<PoolDevice>, XmlError> {
    e.children_named("device")
        .map(|d| {
            let path = d
                .attr_s("path")
                .ok_or_else(|| errs::xml("missing storage pool source device path"))?;
            let part_separator = match d.attr("part_separator") {
                None => None,
                Some("yes") => Some(true),
                Some("no") => Some(false),
                Some(v) => return Err(bad_attr("part_separator", "device", v)),
            };
            Ok(PoolDevice {
                path,
                part_separator,
                free_extents: Vec::new(),
            })
        })
        .collect()
}

/// An unsigned attribute of a PCI address in any base C's `strtoul` reads.
fn pci_part(e: &Element, name: &str) -> Result<u32, XmlError> {
    let Some(v) = e.attr(name) else {
        return Ok(0);
    };
    let parsed = if let Some(h) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()
    } else if v.len() > 1 && v.starts_with('0') {
        u32::from_str_radix(&v[1..], 8).ok()
    } else {
        v.parse().ok()
    };
    parsed.ok_or_else(|| {
        errs::reported(
            errs::XML_ERROR,
            errs::FROM_XML,
            format!("Invalid value for attribute '{name}' in element 'address': '{v}'. Expected integer value"),
        )
    })
}

fn parse_scsi_host(e: &Element) -> Result<Adapter, XmlError> {
    let parent = match e.child("parentaddr") {
        None => None,
        Some(pa) => {
            let a = pa
                .child("address")
                .ok_or_else(|| errs::xml("Missing scsi_host PCI address element"))?;
            let addr = PciAddress {
                domain: pci_part(a, "domain")?,
                bus: pci_part(a, "bus")?,
                slot: pci_part(a, "slot")?,
                function: pci_part(a, "function")?,
            };
            let id = pa
                .attr("unique_id")
                .and_then(|u| u.trim().parse::<i32>().ok())
                .filter(|u| *u >= 0)
                .ok_or_else(|| errs::xml("Missing or invalid scsi adapter 'unique_id' value"))?;
            Some((id, addr))
        }
    };
    Ok(Adapter::ScsiHost {
        name: e.attr_s("name"),
        parent,
    })
}

fn parse_fc_host(e: &Element) -> Result<Adapter, XmlError> {
    let managed = match e.attr("managed") {
        None => None,
        Some("yes") => Some(true),
        Some("no") => Some(false),
        Some(v) => return Err(bad_attr("managed", "adapter", v)),
    };
    Ok(Adapter::FcHost {
        parent: e.attr_s("parent"),
        parent_wwnn: e.attr_s("parent_wwnn"),
        parent_wwpn: e.attr_s("parent_wwpn"),
        parent_fabric_wwn: e.attr_s("parent_fabric_wwn"),
        managed,
        wwnn: e.attr_s("wwnn"),
        wwpn: e.attr_s("wwpn"),
    })
}

/// Reads `<adapter>`; `None` for a legacy adapter without a type or name.
fn parse_adapter(e: &Element) -> Result<Option<Adapter>, XmlError> {
    match e.attr("type") {
        Some("scsi_host") => parse_scsi_host(e).map(Some),
        Some("fc_host") => parse_fc_host(e).map(Some),
        Some(t) => Err(bad_attr("type", "adapter", t)),
        None => {
            if ["wwnn", "wwpn", "parent"]
                .iter()
                .any(|a| e.attr(a).is_some())
            {
                return Err(errs::xml("Use of 'wwnn', 'wwpn', and 'parent' attributes requires use of the adapter 'type'"));
            }
            if e.child("parentaddr").is_some() {
                return Err(errs::xml(
                    "Use of 'parentaddr' element requires use of the adapter 'type'",
                ));
            }
            Ok(e.attr_s("name").map(|n| Adapter::ScsiHost {
                name: Some(n),
                parent: None,
            }))
        }
    }
}

impl Adapter {
    /// libvirt's checks of a SCSI pool's adapter once parsed.
    pub fn validate(&self) -> Result<(), XmlError> {
        match self {
            Adapter::ScsiHost { name, parent } => match (name, parent) {
                (None, None) => Err(errs::xml(
                    "Either 'name' or 'parent' must be specified for the 'scsi_host' adapter",
                )),
                (Some(_), Some(_)) => Err(errs::xml(
                    "Both 'name' and 'parent' cannot be specified for the 'scsi_host' adapter",
                )),
                _ => Ok(()),
            },
            Adapter::FcHost {
                parent_wwnn,
                parent_wwpn,
                parent_fabric_wwn,
                wwnn,
                wwpn,
                ..
            } => {
                let (Some(wwnn), Some(wwpn)) = (wwnn, wwpn) else {
                    return Err(errs::xml(
                        "'wwnn' and 'wwpn' must be specified for adapter type 'fchost'",
                    ));
                };
                check_wwn(wwnn)?;
                check_wwn(wwpn)?;
                match (parent_wwnn, parent_wwpn) {
                    (Some(n), None) => Err(errs::xml(format!(
                        "when providing parent_wwnn='{n}', the parent_wwpn must also be provided"
                    ))),
                    (None, Some(p)) => Err(errs::xml(format!(
                        "when providing parent_wwpn='{p}', the parent_wwnn must also be provided"
                    ))),
                    _ => {
                        for w in [parent_wwnn, parent_wwpn, parent_fabric_wwn]
                            .into_iter()
                            .flatten()
                        {
                            check_wwn(w)?;
                        }
                        Ok(())
                    }
                }
            }
        }
    }

    fn write(&self, out: &mut Out) {
        match self {
            Adapter::ScsiHost { name: Some(n), .. } => {
                out.empty(
                    "adapter",
                    &Attrs::new().add("type", "scsi_host").add("name", n),
                );
            }
            Adapter::ScsiHost { name: None, parent } => {
                let (id, a) = parent.unwrap_or_default();
                out.open("adapter", &Attrs::new().add("type", "scsi_host"));
                out.open("parentaddr", &Attrs::new().add("unique_id", id));
                let attrs = Attrs::new()
                    .add("domain", format_args!("0x{:04x}", a.domain))
                    .add("bus", format_args!("0x{:02x}", a.bus))
                    .add("slot", format_args!("0x{:02x}", a.slot))
                    .add("function", format_args!("0x{:x}", a.function));
                out.empty("address", &attrs);
                out.close("parentaddr");
                out.close("adapter");
            }
            Adapter::FcHost {
                parent,
                parent_wwnn,
                parent_wwpn,
                parent_fabric_wwn,
                managed,
                wwnn,
                wwpn,
            } => {
                let attrs = Attrs::new()
                    .add("type", "fc_host")
                    .opt("parent", parent.as_ref())
                    .opt("parent_wwnn", parent_wwnn.as_ref())
                    .opt("parent_wwpn", parent_wwpn.as_ref())
                    .opt("parent_fabric_wwn", parent_fabric_wwn.as_ref())
                    .opt("managed", managed.map(|m| if m { "yes" } else { "no" }))
                    .add("wwnn", wwnn.as_deref().unwrap_or("(null)"))
                    .add("wwpn", wwpn.as_deref().unwrap_or("(null)"));
                out.empty("adapter", &attrs);
            }
        }
    }
}

/// The `name` attribute of `e`'s child `child`, as libvirt's `string(./x/@name)`.
fn child_attr(e: &Element, child: &str, name: &str) -> Option<String> {
    e.child(child)
        .and_then(|c| c.attr_s(name))
        .filter(|v| !v.is_empty())
}

impl PoolSource {
    /// Reads `<source>`, all of it whatever the pool type (libvirt checks each part the
    /// same way for every type; which parts count is the pool's business).
    /// `formats` are the pool type's source formats, if it has any.
    pub(super) fn parse(
        e: &Element,
        is_rbd: bool,
        formats: Option<(&[&str], &str)>,
    ) -> Result<PoolSource, XmlError> {
        let name = text_of(e, "name");
        if is_rbd && name.is_none() {
            return Err(errs::xml("element 'name' is mandatory for RBD pool"));
        }
        let format = match formats {
            None => None,
            Some((list, default)) => match child_attr(e, "format", "type") {
                None => Some(default.to_string()),
                Some(f) if list.contains(&f.as_str()) => Some(f),
                Some(f) => return Err(errs::unsupported(format!("unknown pool format type {f}"))),
            },
        };
        let hosts = parse_hosts(e)?;
        let initiator_iqn = e
            .child("initiator")
            .and_then(|i| child_attr(i, "iqn", "name"));
        let devices = parse_devices(e)?;
        let dir = child_attr(e, "dir", "path").map(|d| sanitize_path(&d));
        let adapter = e.child("adapter").map(parse_adapter).transpose()?.flatten();
        let auth = e.child("auth").map(parse_auth).transpose()?;
        let protocol_ver = child_attr(e, "protocol", "ver");
        if protocol_ver.is_some() {
            check_protocol(format.as_deref(), formats)?;
        }
        Ok(PoolSource {
            hosts,
            devices,
            dir,
            adapter,
            name,
            initiator_iqn,
            format,
            auth,
            protocol_ver,
            vendor: child_attr(e, "vendor", "name"),
            product: child_attr(e, "product", "name"),
        })
    }

    /// Writes `<source>` with the parts `flags` (the pool type's) show.
    pub(super) fn write(&self, out: &mut Out, flags: u8) {
        use super::pool::{SRC_ADAPTER, SRC_DEVICE, SRC_DIR, SRC_HOST, SRC_IQN, SRC_NAME};
        out.open("source", &Attrs::new());
        if flags & SRC_HOST != 0 {
            for h in &self.hosts {
                let port = (h.port != 0).then_some(h.port);
                out.empty("host", &Attrs::new().add("name", &h.name).opt("port", port));
            }
        }
        if flags & SRC_DEVICE != 0 {
            for d in &self.devices {
                let sep = d.part_separator.map(|s| if s { "yes" } else { "no" });
                let attrs = Attrs::new().add("path", &d.path).opt("part_separator", sep);
                if d.free_extents.is_empty() {
                    out.empty("device", &attrs);
                    continue;
                }
                out.open("device", &attrs);
                for (start, end) in &d.free_extents {
                    let (start, end) = (start.to_string(), end.to_string());
                    out.empty(
                        "freeExtent",
                        &Attrs::new().add("start", &start).add("end", &end),
                    );
                }
                out.close("device");
            }
        }
        if flags & SRC_DIR != 0 {
            if let Some(d) = &self.dir {
                out.empty("dir", &Attrs::new().add("path", d));
            }
        }
        if let (true, Some(a)) = (flags & SRC_ADAPTER != 0, &self.adapter) {
            a.write(out);
        }
        if flags & SRC_NAME != 0 {
            out.opt_text("name", self.name.as_ref());
        }
        if let (true, Some(iqn)) = (flags & SRC_IQN != 0, &self.initiator_iqn) {
            out.open("initiator", &Attrs::new());
            out.empty("iqn", &Attrs::new().add("name", iqn));
            out.close("initiator");
        }
        if let Some(f) = &self.format {
            out.empty("format", &Attrs::new().add("type", f));
        }
        if let Some(a) = &self.auth {
            a.write(out);
        }
        if let Some(v) = &self.protocol_ver {
            out.empty("protocol", &Attrs::new().add("ver", v));
        }
        if let Some(v) = &self.vendor {
            out.empty("vendor", &Attrs::new().add("name", v));
        }
        if let Some(p) = &self.product {
            out.empty("product", &Attrs::new().add("name", p));
        }
        out.close("source");
    }
}

/// libvirt allows `<protocol ver>` when the source format's number is that of the
/// netfs formats `auto` or `nfs` (whatever the pool type), and names the netfs format
/// of that number otherwise.
fn check_protocol(format: Option<&str>, formats: Option<(&[&str], &str)>) -> Result<(), XmlError> {
    let index = match (format, formats) {
        (Some(f), Some((list, _))) => list.iter().position(|x| *x == f).unwrap_or(0),
        _ => 0,
    };
    if index <= 1 {
        return Ok(());
    }
    let name = ["auto", "nfs", "glusterfs", "cifs"]
        .get(index)
        .copied()
        .unwrap_or("(null)");
    Err(errs::unsupported(format!(
        "storage pool protocol ver unsupported for pool type '{name}'"
    )))
}
