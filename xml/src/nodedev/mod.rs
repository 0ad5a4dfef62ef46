//! Host node device XML: `<device>`.

use crate::out::{Attrs, Out};
mod caps;
mod parse;
pub use parse::CAP_TYPES;
mod values;

pub use parse::{Mode, NEW_DEVICE};

use crate::tree::parse_root;
use crate::tree::Element;
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

    fn write(&self, out: &mut Out) {
        if let Capability::Other { raw, .. } = self {
            write_other(out, raw);
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

/// Writes a described capability. libvirt writes a USB product or vendor without a
/// name as `<product id='...' />`, with a space.
fn write_other(out: &mut Out, raw: &Element) {
    let bare_id = |c: &Element| {
        matches!(c.name.as_str(), "product" | "vendor")
            && c.text.is_empty()
            && c.children.is_empty()
            && c.attrs.len() == 1
    };
    if raw.attr("type") != Some("usb_device") || !raw.children.iter().any(bare_id) {
        raw.write(out);
        return;
    }
    let mut attrs = Attrs::new();
    for (k, v) in &raw.attrs {
        attrs = attrs.add(k, v);
    }
    out.open(&raw.name, &attrs);
    for c in &raw.children {
        if bare_id(c) {
            let id = crate::out::escape(&c.attrs[0].1);
            out.line(&format!("<{} id='{id}' />", c.name));
        } else {
            c.write(out);
        }
    }
    out.close(&raw.name);
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
    /// `<devnode type='dev'>`.
    pub devnode: Option<String>,
    /// `<devnode type='link'>` entries.
    pub devlinks: Vec<String>,
    /// `<parent>`: the parent's name.
    pub parent: Option<String>,
    /// `<parent wwnn>`: a vHBA's parent HBA by its node name (with `parent_wwpn`).
    pub parent_wwnn: Option<String>,
    /// `<parent wwpn>`.
    pub parent_wwpn: Option<String>,
    /// `<parent fabric_wwn>`: a vHBA's parent HBA by its fabric.
    pub parent_fabric_wwn: Option<String>,
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
        let e = crate::schema::parse_lenient(xml, "device", crate::Schema::NodeDevice, opts)?;
        NodeDeviceDef::from_element(&e)
    }

    /// Builds a definition of an existing device (a node file's) from a parsed
    /// `<device>` element.
    pub fn from_element(e: &Element) -> Result<NodeDeviceDef, XmlError> {
        parse::device(e, Mode::Existing)
    }

    /// Parses the document of a device to create (`nodeDeviceCreateXML`): libvirt names
    /// it `new device` and leaves SCSI host numbers to the host; validates it against
    /// libvirt's schema first when `opts` asks for it.
    pub fn parse_create(xml: &str, opts: crate::ParseOptions) -> Result<NodeDeviceDef, XmlError> {
        let e = crate::schema::parse_lenient(xml, "device", crate::Schema::NodeDevice, opts)?;
        parse::device(&e, Mode::Create)
    }

    /// Parses a device as libvirt's node-device driver reports a host's device
    /// (`virNodeDeviceGetXMLDesc` on a real host): unlike a document to define, what
    /// only the host can tell is kept too (the driver, a disk's block counts, a SCSI
    /// host's vport counts, SCSI generic devices, a mediated device's parent address,
    /// a CSS device's channel address, an empty `<pci-express/>`).
    pub fn parse_host(xml: &str) -> Result<NodeDeviceDef, XmlError> {
        parse::device(&parse_root(xml, "device")?, Mode::Host)
    }

    /// A device named `name` with nothing else.
    pub fn new(name: String) -> NodeDeviceDef {
        NodeDeviceDef {
            name,
            path: None,
            devnode: None,
            devlinks: Vec::new(),
            parent: None,
            parent_wwnn: None,
            parent_wwpn: None,
            parent_fabric_wwn: None,
            driver: None,
            caps: Vec::new(),
        }
    }

    /// The WWNs of the first SCSI host capability that is a Fibre Channel HBA.
    pub fn fc_wwns(&self) -> Option<(&str, &str)> {
        self.caps.iter().find_map(|c| match c {
            Capability::ScsiHost(ScsiHostCap {
                fc_host: Some(fc), ..
            }) => Some((
                fc.wwnn.as_deref().unwrap_or(""),
                fc.wwpn.as_deref().unwrap_or(""),
            )),
            _ => None,
        })
    }

    /// The first SCSI host capability, if there is one.
    pub fn scsi_host(&self) -> Option<&ScsiHostCap> {
        self.caps.iter().find_map(|c| match c {
            Capability::ScsiHost(s) => Some(s),
            _ => None,
        })
    }

    /// Formats the definition as libvirt does.
    pub fn to_xml(&self) -> String {
        let mut out = Out::new();
        out.open("device", &Attrs::new());
        out.opt_text("name", Some(&self.name));
        out.opt_text("path", self.path.as_ref());
        if let Some(d) = &self.devnode {
            out.text("devnode", &Attrs::new().add("type", "dev"), d);
        }
        for l in &self.devlinks {
            out.text("devnode", &Attrs::new().add("type", "link"), l);
        }
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

    /// Capability names as libvirt lists them, each followed by the sub-capabilities
    /// it lists too: a SCSI host's `fc_host` and `vports`, the `mdev_types` of a PCI
    /// device, CSS device or AP matrix and a PCI device's `vpd`.
    pub fn cap_names(&self) -> Vec<&str> {
        let mut v = Vec::new();
        for c in &self.caps {
            v.push(c.cap_type());
            match c {
                Capability::ScsiHost(s) => {
                    if s.fc_host.is_some() {
                        v.push("fc_host");
                    }
                    if s.vport_ops.is_some() {
                        v.push("vports");
                    }
                }
                Capability::Other { cap_type, raw } => {
                    let listed: &[&str] = match cap_type.as_str() {
                        "pci" => &["mdev_types", "vpd"],
                        "css" | "ap_matrix" => &["mdev_types"],
                        _ => &[],
                    };
                    let has = |t: &str| {
                        raw.children_named("capability")
                            .any(|s| s.attr("type") == Some(t))
                    };
                    v.extend(listed.iter().copied().filter(|t| has(t)));
                }
                _ => {}
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::strip_virsh;

    const FIXTURE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/compat/virsh-testdriver/nodedev-dumpxml-computer.txt"
    ));

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
        // libvirt never reads the vport counts from a document: they print as 0.
        let x = "<device>\n  <name>scsi_host1</name>\n  <parent>computer</parent>\n  <capability type='scsi_host'>\n    <host>1</host>\n    <unique_id>0</unique_id>\n    <capability type='fc_host'>\n      <wwnn>2000000012341234</wwnn>\n      <wwpn>1000000012341234</wwpn>\n      <fabric_wwn>2000000043214321</fabric_wwn>\n    </capability>\n    <capability type='vport_ops'>\n      <max_vports>0</max_vports>\n      <vports>0</vports>\n    </capability>\n  </capability>\n</device>\n";
        let d = NodeDeviceDef::parse(x).unwrap();
        assert_eq!(d.to_xml(), x);
        assert_eq!(d.cap_names(), vec!["scsi_host", "fc_host", "vports"]);
        assert_eq!(d.parent.as_deref(), Some("computer"));
    }

    /// Devices of a node file, and how libvirt 9.0's test driver prints them.
    pub(super) const NODE_DEVICES: &[(&str, &str)] = &[
        (
            "<device><name>computer</name><capability type='system'><hardware><uuid>11111111-2222-3333-4444-555555555555</uuid></hardware></capability></device>",
            "<device>\n  <name>computer</name>\n  <capability type='system'>\n    <hardware>\n      <uuid>11111111-2222-3333-4444-555555555555</uuid>\n    </hardware>\n    <firmware>\n    </firmware>\n  </capability>\n</device>\n",
        ),
        (
            "<device><name>pci_0000_00_02_0</name><path>/sys/devices/pci0000:00/0000:00:02.0</path><parent>computer</parent><driver><name>i915</name></driver><capability type='pci'><bogus/><vendor id='0x8086'>Intel Corporation</vendor><product id='0x0126'>2nd Generation Core</product><function>0</function><slot>2</slot><bus>0</bus><domain>0</domain><class>0x030000</class><iommuGroup number='1'><address domain='0x0000' bus='0x00' slot='0x02' function='0x0'/></iommuGroup><numa node='0'/><pci-express><link validity='cap' port='0' speed='8' width='16'/><link validity='sta' speed='2.5' width='1'/></pci-express><capability type='virt_functions' maxCount='7'><address domain='0x0000' bus='0x03' slot='0x10' function='0x0'/></capability></capability></device>",
            "<device>\n  <name>pci_0000_00_02_0</name>\n  <path>/sys/devices/pci0000:00/0000:00:02.0</path>\n  <parent>computer</parent>\n  <capability type='pci'>\n    <class>0x030000</class>\n    <domain>0</domain>\n    <bus>0</bus>\n    <slot>2</slot>\n    <function>0</function>\n    <product id='0x0126'>2nd Generation Core</product>\n    <vendor id='0x8086'>Intel Corporation</vendor>\n    <capability type='virt_functions' maxCount='7'>\n      <address domain='0x0000' bus='0x03' slot='0x10' function='0x0'/>\n    </capability>\n    <iommuGroup number='1'>\n      <address domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>\n    </iommuGroup>\n    <numa node='0'/>\n    <pci-express>\n      <link validity='cap' port='0' speed='8' width='16'/>\n      <link validity='sta' speed='2.5' width='1'/>\n    </pci-express>\n  </capability>\n</device>\n",
        ),
        (
            "<device><name>usb_1_1</name><parent>computer</parent><capability type='usb_device'><product id='0x0001'>Prod</product><vendor id='0x1d6b'>Linux</vendor><device>2</device><bus>1</bus></capability></device>",
            "<device>\n  <name>usb_1_1</name>\n  <parent>computer</parent>\n  <capability type='usb_device'>\n    <bus>1</bus>\n    <device>2</device>\n    <product id='0x0001'>Prod</product>\n    <vendor id='0x1d6b'>Linux</vendor>\n  </capability>\n</device>\n",
        ),
        (
            "<device><name>usb_1_1_0</name><parent>usb_1_1</parent><capability type='usb'><description>Hub</description><protocol>0</protocol><subclass>0</subclass><class>9</class><number>0</number></capability></device>",
            "<device>\n  <name>usb_1_1_0</name>\n  <parent>usb_1_1</parent>\n  <capability type='usb'>\n    <number>0</number>\n    <class>9</class>\n    <subclass>0</subclass>\n    <protocol>0</protocol>\n    <description>Hub</description>\n  </capability>\n</device>\n",
        ),
        (
            "<device><name>net_eth0</name><parent>computer</parent><capability type='net'><address>52:54:00:00:00:01</address><interface>eth0</interface><link state='up' speed='1000'/><feature name='rx'/><feature name='tso'/><capability type='80203'/></capability></device>",
            "<device>\n  <name>net_eth0</name>\n  <parent>computer</parent>\n  <capability type='net'>\n    <interface>eth0</interface>\n    <address>52:54:00:00:00:01</address>\n    <link speed='1000' state='up'/>\n    <feature name='rx'/>\n    <feature name='tso'/>\n    <capability type='80203'/>\n  </capability>\n</device>\n",
        ),
        (
            "<device><name>block_sda</name><parent>computer</parent><capability type='storage'><model>Disk</model><vendor>ATA</vendor><block>/dev/sda</block><bus>ata</bus><drive_type>disk</drive_type><serial>X1</serial><size>100</size><logical_block_size>512</logical_block_size><num_blocks>10</num_blocks></capability></device>",
            "<device>\n  <name>block_sda</name>\n  <parent>computer</parent>\n  <capability type='storage'>\n    <block>/dev/sda</block>\n    <bus>ata</bus>\n    <drive_type>disk</drive_type>\n    <model>Disk</model>\n    <vendor>ATA</vendor>\n    <serial>X1</serial>\n    <size>100</size>\n  </capability>\n</device>\n",
        ),
        (
            "<device><name>target0</name><parent>computer</parent><capability type='scsi_target'><target>target0:0:0</target></capability></device>",
            "<device>\n  <name>target0</name>\n  <parent>computer</parent>\n  <capability type='scsi_target'>\n    <target>target0:0:0</target>\n  </capability>\n</device>\n",
        ),
        (
            "<device><name>scsi_0_0_0_0</name><parent>computer</parent><capability type='scsi'><type>disk</type><lun>0</lun><target>0</target><bus>0</bus><host>0</host></capability></device>",
            "<device>\n  <name>scsi_0_0_0_0</name>\n  <parent>computer</parent>\n  <capability type='scsi'>\n    <host>0</host>\n    <bus>0</bus>\n    <target>0</target>\n    <lun>0</lun>\n    <type>disk</type>\n  </capability>\n</device>\n",
        ),
        (
            "<device><name>drm_card0</name><parent>computer</parent><devnode type='dev'>/dev/dri/card0</devnode><capability type='drm'><type>primary</type></capability></device>",
            "<device>\n  <name>drm_card0</name>\n  <devnode type='dev'>/dev/dri/card0</devnode>\n  <parent>computer</parent>\n  <capability type='drm'>\n    <type>primary</type>\n  </capability>\n</device>\n",
        ),
        (
            "<device><name>mdev_x</name><parent>computer</parent><capability type='mdev'><uuid>aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee</uuid><type id='nvidia-11'/><iommuGroup number='12'/></capability></device>",
            "<device>\n  <name>mdev_x</name>\n  <parent>computer</parent>\n  <capability type='mdev'>\n    <type id='nvidia-11'/>\n    <uuid>aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee</uuid>\n    <iommuGroup number='12'/>\n  </capability>\n</device>\n",
        ),
        (
            "<device><name>ccw_0</name><parent>computer</parent><capability type='ccw'><devno>0x0001</devno><ssid>0x0</ssid><cssid>0xfe</cssid></capability></device>",
            "<device>\n  <name>ccw_0</name>\n  <parent>computer</parent>\n  <capability type='ccw'>\n    <cssid>0xfe</cssid>\n    <ssid>0x0</ssid>\n    <devno>0x0001</devno>\n  </capability>\n</device>\n",
        ),
    ];

    #[test]
    fn capabilities_printed_as_libvirt() {
        for (input, want) in NODE_DEVICES {
            let d = NodeDeviceDef::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(&d.to_xml(), want, "{input}");
        }
        let n = "<device>\n  <name>net_eth0</name>\n  <capability type='net'>\n    <interface>eth0</interface>\n    <address>52:54:00:00:00:01</address>\n  </capability>\n</device>\n";
        assert_eq!(NodeDeviceDef::parse(n).unwrap().to_xml(), n);
    }

    #[test]
    fn errors() {
        assert_eq!(
            NodeDeviceDef::parse("<device><capability type='system'/></device>")
                .unwrap_err()
                .to_string(),
            "missing name information"
        );
        assert_eq!(
            NodeDeviceDef::parse("<device><name>x</name></device>")
                .unwrap_err()
                .to_string(),
            "internal error: no device capabilities for 'x'"
        );
        assert!(NodeDeviceDef::parse(
            "<device><name>x</name><capability type='system'><hardware><uuid>11111111-2222-3333-4444-555555555555</uuid></hardware></capability><frob/></device>"
        )
        .is_ok());
        assert!(NodeDeviceDef::parse(
            "<device><name>x</name><capability type='scsi'><host>a</host></capability></device>"
        )
        .is_err());
    }

    fn create_err(xml: &str) -> (i32, i32, String) {
        let e = NodeDeviceDef::parse_create(xml, crate::ParseOptions::default()).unwrap_err();
        (e.code(), e.error_domain(-1), e.to_string())
    }

    #[test]
    fn create_mode_reads_like_libvirt() {
        let d = NodeDeviceDef::parse_create(
            "<device><name>ignored</name><parent wwnn='1' wwpn='2'/><capability type='scsi_host'><host>x</host><capability type='fc_host'><wwnn> a </wwnn><wwpn>b</wwpn></capability><capability type='vport_ops'/></capability></device>",
            crate::ParseOptions::default(),
        )
        .unwrap();
        assert_eq!(d.name, NEW_DEVICE);
        assert_eq!(d.parent, None);
        assert_eq!(
            (d.parent_wwnn.as_deref(), d.parent_wwpn.as_deref()),
            (Some("1"), Some("2"))
        );
        assert_eq!(d.fc_wwns(), Some((" a ", "b")));
        let named = NodeDeviceDef::parse_create(
            "<device><parent wwnn='1' wwpn='2'>scsi_host2</parent><capability type='net'><interface>e</interface></capability></device>",
            crate::ParseOptions::default(),
        )
        .unwrap();
        assert_eq!(named.parent.as_deref(), Some("scsi_host2"));
        assert_eq!(named.fc_wwns(), None);
    }

    #[test]
    fn create_refusals_worded_like_libvirt() {
        let fc = |inner: &str| {
            format!("<device><capability type='scsi_host'>{inner}</capability></device>")
        };
        let cases: Vec<(String, i32, i32, &str)> = vec![
            (fc("<capability type='fc_host'><wwpn>1</wwpn></capability>"), 1, 22, "internal error: no WWNN supplied for 'new device', and auto-generation failed"),
            (fc("<capability type='fc_host'><wwnn>a</wwnn></capability>"), 1, 22, "internal error: no WWPN supplied for 'new device', and auto-generation failed"),
            (fc("<capability type='fc_host'><wwnn></wwnn><wwpn>b</wwpn></capability>"), 1, 22, "internal error: no WWNN supplied for 'new device', and auto-generation failed"),
            (fc("<capability/>"), 1, 22, "internal error: missing SCSI host capability type for 'new device'"),
            (fc("<capability type='bogus'/>"), 1, 22, "internal error: unknown SCSI host capability type 'bogus' for 'new device'"),
            ("<device><parent wwnn='1'/><capability type='system'/></device>".into(), 27, 22, "XML error: when providing parent wwnn='1', the wwpn must also be provided"),
            ("<device><parent wwpn='1'/><capability type='system'/></device>".into(), 27, 22, "XML error: when providing parent wwpn='1', the wwnn must also be provided"),
            ("<device><capability type='bogus'/></device>".into(), 27, 5, "XML error: Invalid value for attribute 'type' in element 'capability': 'bogus'."),
            ("<device><capability/></device>".into(), 27, 5, "XML error: Missing required attribute 'type' in element 'capability'"),
            ("<device></device>".into(), 1, 22, "internal error: no device capabilities for 'new device'"),
            ("<device><capability type='system'/></device>".into(), 1, 22, "internal error: no system UUID supplied for 'new device'"),
            ("<device><capability type='system'><hardware><uuid>zz</uuid></hardware></capability></device>".into(), 1, 22, "internal error: malformed uuid element for 'new device'"),
            ("<device><capability type='net'/></device>".into(), 1, 22, "internal error: no network interface supplied for 'new device'"),
            ("<device><capability type='net'><interface>e</interface><capability type='x'/></capability></device>".into(), 67, 22, "unsupported configuration: invalid network type supplied for 'new device'"),
            ("<device><capability type='pci'/></device>".into(), 1, 22, "internal error: no PCI domain ID supplied for 'new device'"),
            ("<device><capability type='pci'><domain>x</domain></capability></device>".into(), 1, 22, "internal error: invalid PCI domain ID supplied for 'new device'"),
            ("<device><capability type='pci'><domain>0</domain><bus>0</bus><slot>0</slot></capability></device>".into(), 1, 22, "internal error: no PCI function ID supplied for 'new device'"),
            ("<device><capability type='pci'><domain>0</domain><bus>0</bus><slot>0</slot><function>0</function></capability></device>".into(), 1, 22, "internal error: no PCI vendor ID supplied for 'new device'"),
            ("<device><capability type='usb_device'/></device>".into(), 1, 22, "internal error: no USB bus number supplied for 'new device'"),
            ("<device><capability type='fc_host'/></device>".into(), 1, 22, "internal error: unknown capability type '9' for 'new device'"),
            ("<device><capability type='scsi'><host>x</host></capability></device>".into(), 1, 22, "internal error: invalid SCSI host ID supplied for 'new device'"),
            ("<device><capability type='scsi'><host>1</host></capability></device>".into(), 1, 22, "internal error: no SCSI bus ID supplied for 'new device'"),
            ("<device><capability type='storage'/></device>".into(), 1, 22, "internal error: no block device path supplied for 'new device'"),
            ("<device><devnode>x</devnode><capability type='storage'/></device>".into(), 27, 5, "XML error: Missing required attribute 'type' in element 'devnode'"),
            ("<device><devnode type='bogus'>x</devnode><capability type='storage'/></device>".into(), 27, 5, "XML error: Invalid value for attribute 'type' in element 'devnode': 'bogus'."),
        ];
        for (xml, code, domain, msg) in &cases {
            assert_eq!(create_err(xml), (*code, *domain, msg.to_string()), "{xml}");
        }
    }

    #[test]
    fn wrong_root_worded_like_libvirt() {
        assert_eq!(
            create_err("<wrong/>"),
            (
                27,
                5,
                "XML error: expecting root element of 'device', not 'wrong'".into()
            )
        );
    }

    #[test]
    fn existing_scsi_hosts_need_numbers() {
        let e =
            NodeDeviceDef::parse("<device><name>h</name><capability type='scsi_host'/></device>")
                .unwrap_err();
        assert_eq!(
            e.to_string(),
            "internal error: no SCSI host ID supplied for 'h'"
        );
    }
}

#[cfg(test)]
mod tests_nodefile;

#[cfg(test)]
mod tests_host;
