//! Host node device XML: `<device>`.

use crate::out::{Attrs, Out};
use crate::tree::{num, parse_root, Element};
use crate::{Uuid, XmlError};

/// `system` capability.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SystemCap {
    /// `<product>`.
    pub product: Option<String>,
    /// `<hardware><vendor>`.
    pub hw_vendor: Option<String>,
    /// `<hardware><version>`.
    pub hw_version: Option<String>,
    /// `<hardware><serial>`.
    pub hw_serial: Option<String>,
    /// `<hardware><uuid>`.
    pub hw_uuid: Uuid,
    /// `<firmware><vendor>`.
    pub fw_vendor: Option<String>,
    /// `<firmware><version>`.
    pub fw_version: Option<String>,
    /// `<firmware><release_date>`.
    pub fw_release_date: Option<String>,
}

/// The `fc_host` sub-capability of a SCSI host.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FcHost {
    /// `<wwnn>`.
    pub wwnn: Option<String>,
    /// `<wwpn>`.
    pub wwpn: Option<String>,
    /// `<fabric_wwn>`.
    pub fabric_wwn: Option<String>,
}

/// `scsi_host` capability.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScsiHostCap {
    /// `<host>`.
    pub host: u32,
    /// `<unique_id>`.
    pub unique_id: Option<i32>,
    /// `<capability type='fc_host'>`.
    pub fc_host: Option<FcHost>,
    /// `<capability type='vport_ops'>` as (max_vports, vports).
    pub vport_ops: Option<(u32, u32)>,
}

/// One `<capability>` of a node device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// `system`.
    System(SystemCap),
    /// `scsi_host`.
    ScsiHost(ScsiHostCap),
    /// `scsi`: host, bus, target, lun, type.
    Scsi {
        /// `<host>`.
        host: u32,
        /// `<bus>`.
        bus: u32,
        /// `<target>`.
        target: u32,
        /// `<lun>`.
        lun: u32,
        /// `<type>`.
        scsi_type: Option<String>,
    },
    /// `net`: interface name and MAC.
    Net {
        /// `<interface>`.
        interface: String,
        /// `<address>`.
        address: Option<String>,
    },
    /// Any other type (pci, usb_device, storage, ...) kept as its element tree.
    Other {
        /// The `type` attribute.
        cap_type: String,
        /// The whole `<capability>` element.
        raw: Element,
    },
}

impl Capability {
    /// The `type` attribute.
    pub fn cap_type(&self) -> &str {
        match self {
            Capability::System(_) => "system",
            Capability::ScsiHost(_) => "scsi_host",
            Capability::Scsi { .. } => "scsi",
            Capability::Net { .. } => "net",
            Capability::Other { cap_type, .. } => cap_type,
        }
    }

    fn parse(e: &Element) -> Result<Capability, XmlError> {
        let t = e
            .attr_s("type")
            .ok_or_else(|| XmlError::MissingElement("device/capability/@type".into()))?;
        let p = format!("device/capability[{t}]");
        Ok(match t.as_str() {
            "system" => Capability::System(parse_system(e, &p)?),
            "scsi_host" => Capability::ScsiHost(parse_scsi_host(e, &p)?),
            "scsi" => {
                let n = |k: &str| -> Result<u32, XmlError> {
                    num(&format!("{p}/{k}"), &e.req_child(&p, k)?.text)
                };
                Capability::Scsi {
                    host: n("host")?,
                    bus: n("bus")?,
                    target: n("target")?,
                    lun: n("lun")?,
                    scsi_type: e.child_text("type"),
                }
            }
            "net"
                if e.children
                    .iter()
                    .all(|c| c.name == "interface" || c.name == "address") =>
            {
                Capability::Net {
                    interface: e.req_child(&p, "interface")?.text.trim().to_string(),
                    address: e.child_text("address"),
                }
            }
            _ => Capability::Other {
                cap_type: t,
                raw: e.clone(),
            },
        })
    }

    fn write(&self, out: &mut Out) {
        if let Capability::Other { raw, .. } = self {
            raw.write(out);
            return;
        }
        out.open("capability", &Attrs::new().add("type", self.cap_type()));
        match self {
            Capability::System(s) => write_system(out, s),
            Capability::ScsiHost(s) => write_scsi_host(out, s),
            Capability::Scsi {
                host,
                bus,
                target,
                lun,
                scsi_type,
            } => {
                out.opt_text("host", Some(host));
                out.opt_text("bus", Some(bus));
                out.opt_text("target", Some(target));
                out.opt_text("lun", Some(lun));
                out.opt_text("type", scsi_type.as_ref());
            }
            Capability::Net { interface, address } => {
                out.opt_text("interface", Some(interface));
                out.opt_text("address", address.as_ref());
            }
            Capability::Other { .. } => {}
        }
        out.close("capability");
    }
}

fn parse_system(e: &Element, p: &str) -> Result<SystemCap, XmlError> {
    let hw = e.child("hardware");
    let fw = e.child("firmware");
    let hw_uuid = match hw.and_then(|h| h.child_text("uuid")) {
        Some(u) => {
            Uuid::parse(&u).map_err(|_| XmlError::invalid(format!("{p}/hardware/uuid"), u))?
        }
        None => Uuid::default(),
    };
    Ok(SystemCap {
        product: e.child_text("product"),
        hw_vendor: hw.and_then(|h| h.child_text("vendor")),
        hw_version: hw.and_then(|h| h.child_text("version")),
        hw_serial: hw.and_then(|h| h.child_text("serial")),
        hw_uuid,
        fw_vendor: fw.and_then(|f| f.child_text("vendor")),
        fw_version: fw.and_then(|f| f.child_text("version")),
        fw_release_date: fw.and_then(|f| f.child_text("release_date")),
    })
}

fn write_system(out: &mut Out, s: &SystemCap) {
    out.opt_text("product", s.product.as_ref());
    out.open("hardware", &Attrs::new());
    out.opt_text("vendor", s.hw_vendor.as_ref());
    out.opt_text("version", s.hw_version.as_ref());
    out.opt_text("serial", s.hw_serial.as_ref());
    out.opt_text("uuid", Some(s.hw_uuid));
    out.close("hardware");
    out.open("firmware", &Attrs::new());
    out.opt_text("vendor", s.fw_vendor.as_ref());
    out.opt_text("version", s.fw_version.as_ref());
    out.opt_text("release_date", s.fw_release_date.as_ref());
    out.close("firmware");
}

fn parse_scsi_host(e: &Element, p: &str) -> Result<ScsiHostCap, XmlError> {
    let mut s = ScsiHostCap {
        host: num(&format!("{p}/host"), &e.req_child(p, "host")?.text)?,
        unique_id: e
            .child_text("unique_id")
            .map(|u| num(&format!("{p}/unique_id"), &u))
            .transpose()?,
        ..ScsiHostCap::default()
    };
    for sub in e.children_named("capability") {
        match sub.attr("type") {
            Some("fc_host") => {
                s.fc_host = Some(FcHost {
                    wwnn: sub.child_text("wwnn"),
                    wwpn: sub.child_text("wwpn"),
                    fabric_wwn: sub.child_text("fabric_wwn"),
                })
            }
            Some("vport_ops") => {
                let n = |k: &str| -> Result<u32, XmlError> {
                    sub.child_text(k)
                        .map(|v| num(&format!("{p}/vport_ops/{k}"), &v))
                        .transpose()
                        .map(Option::unwrap_or_default)
                };
                s.vport_ops = Some((n("max_vports")?, n("vports")?));
            }
            other => {
                return Err(XmlError::Unexpected(format!(
                    "{p}/capability[{}]",
                    other.unwrap_or("")
                )))
            }
        }
    }
    Ok(s)
}

fn write_scsi_host(out: &mut Out, s: &ScsiHostCap) {
    out.opt_text("host", Some(s.host));
    out.opt_text("unique_id", s.unique_id);
    if let Some(fc) = &s.fc_host {
        out.open("capability", &Attrs::new().add("type", "fc_host"));
        out.opt_text("wwnn", fc.wwnn.as_ref());
        out.opt_text("wwpn", fc.wwpn.as_ref());
        out.opt_text("fabric_wwn", fc.fabric_wwn.as_ref());
        out.close("capability");
    }
    if let Some((max, cur)) = s.vport_ops {
        out.open("capability", &Attrs::new().add("type", "vport_ops"));
        out.opt_text("max_vports", Some(max));
        out.opt_text("vports", Some(cur));
        out.close("capability");
    }
}

/// A node device definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeDeviceDef {
    /// `<name>`.
    pub name: String,
    /// `<path>` (sysfs path).
    pub path: Option<String>,
    /// `<parent>`.
    pub parent: Option<String>,
    /// `<driver><name>`.
    pub driver: Option<String>,
    /// Capabilities in order.
    pub caps: Vec<Capability>,
}

impl NodeDeviceDef {
    /// Parses a `<device>` document.
    pub fn parse(xml: &str) -> Result<NodeDeviceDef, XmlError> {
        NodeDeviceDef::from_element(&parse_root(xml, "device")?)
    }

    /// Parses a `<device>` document, validating it against libvirt's schema first when
    /// `opts` asks for it.
    pub fn parse_with(xml: &str, opts: crate::ParseOptions) -> Result<NodeDeviceDef, XmlError> {
        let e = crate::schema::parse_root_with(xml, "device", crate::Schema::NodeDevice, opts)?;
        NodeDeviceDef::from_element(&e)
    }

    /// Builds a definition from a parsed `<device>` element.
    pub fn from_element(e: &Element) -> Result<NodeDeviceDef, XmlError> {
        let name = e
            .child_text("name")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| XmlError::MissingElement("device/name".into()))?;
        let caps = e
            .children_named("capability")
            .map(Capability::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if caps.is_empty() {
            return Err(XmlError::MissingElement("device/capability".into()));
        }
        Ok(NodeDeviceDef {
            name,
            path: e.child_text("path"),
            parent: e.child_text("parent"),
            driver: e.child("driver").and_then(|d| d.child_text("name")),
            caps,
        })
    }

    /// Formats the definition as libvirt does.
    pub fn to_xml(&self) -> String {
        let mut out = Out::new();
        out.open("device", &Attrs::new());
        out.opt_text("name", Some(&self.name));
        out.opt_text("path", self.path.as_ref());
        out.opt_text("parent", self.parent.as_ref());
        if let Some(d) = &self.driver {
            out.open("driver", &Attrs::new());
            out.opt_text("name", Some(d));
            out.close("driver");
        }
        for c in &self.caps {
            c.write(&mut out);
        }
        out.close("device");
        out.finish()
    }

    /// Capability names as libvirt lists them, including a SCSI host's
    /// `fc_host` and `vports` sub-capabilities.
    pub fn cap_names(&self) -> Vec<&str> {
        let mut v = Vec::new();
        for c in &self.caps {
            v.push(c.cap_type());
            if let Capability::ScsiHost(s) = c {
                if s.fc_host.is_some() {
                    v.push("fc_host");
                }
                if s.vport_ops.is_some() {
                    v.push("vports");
                }
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/compat/virsh-testdriver/nodedev-dumpxml-computer.txt"
    ));

    fn strip_virsh(s: &str) -> String {
        let body = s.split_once('\n').map(|x| x.1).unwrap_or("");
        let end = body
            .rfind("\n\n[exit=")
            .expect("fixture has an exit marker");
        format!("{}\n", &body[..end])
    }

    #[test]
    fn fixture_round_trip() {
        let want = strip_virsh(FIXTURE);
        let d = NodeDeviceDef::parse(&want).unwrap();
        assert_eq!(d.to_xml(), want);
        assert_eq!(d.cap_names(), vec!["system"]);
        assert_eq!(d.parent, None);
    }

    #[test]
    fn scsi_host_round_trip() {
        let x = "<device>\n  <name>scsi_host1</name>\n  <parent>computer</parent>\n  <capability type='scsi_host'>\n    <host>1</host>\n    <unique_id>0</unique_id>\n    <capability type='fc_host'>\n      <wwnn>2000000012341234</wwnn>\n      <wwpn>1000000012341234</wwpn>\n      <fabric_wwn>2000000043214321</fabric_wwn>\n    </capability>\n    <capability type='vport_ops'>\n      <max_vports>127</max_vports>\n      <vports>1</vports>\n    </capability>\n  </capability>\n</device>\n";
        let d = NodeDeviceDef::parse(x).unwrap();
        assert_eq!(d.to_xml(), x);
        assert_eq!(d.cap_names(), vec!["scsi_host", "fc_host", "vports"]);
        assert_eq!(d.parent.as_deref(), Some("computer"));
    }

    #[test]
    fn other_caps_preserved() {
        let x = "<device>\n  <name>pci_0000_00_02_0</name>\n  <path>/sys/devices/pci0000:00/0000:00:02.0</path>\n  <parent>computer</parent>\n  <driver>\n    <name>i915</name>\n  </driver>\n  <capability type='pci'>\n    <domain>0</domain>\n    <bus>0</bus>\n    <slot>2</slot>\n    <function>0</function>\n    <product id='0x0126'>2nd Generation Core</product>\n    <vendor id='0x8086'>Intel Corporation</vendor>\n  </capability>\n</device>\n";
        let d = NodeDeviceDef::parse(x).unwrap();
        assert_eq!(d.to_xml(), x);
        assert_eq!(d.cap_names(), vec!["pci"]);
        let n = "<device>\n  <name>net_eth0</name>\n  <capability type='net'>\n    <interface>eth0</interface>\n    <address>52:54:00:00:00:01</address>\n  </capability>\n</device>\n";
        assert_eq!(NodeDeviceDef::parse(n).unwrap().to_xml(), n);
    }

    #[test]
    fn errors() {
        assert_eq!(
            NodeDeviceDef::parse("<device><capability type='system'/></device>"),
            Err(XmlError::MissingElement("device/name".into()))
        );
        assert_eq!(
            NodeDeviceDef::parse("<device><name>x</name></device>"),
            Err(XmlError::MissingElement("device/capability".into()))
        );
        assert!(NodeDeviceDef::parse(
            "<device><name>x</name><capability type='system'/><frob/></device>"
        )
        .is_ok());
        assert!(NodeDeviceDef::parse(
            "<device><name>x</name><capability type='scsi'><host>a</host></capability></device>"
        )
        .is_err());
    }
}
