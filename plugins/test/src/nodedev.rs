//! The node device driver: the fake host's device tree.

use rvirt_plugin_api::protocol::{remote_proc as p, *};
use rvirt_xml::nodedev::CAP_TYPES;
use rvirt_xml::nodedev::{Capability, NodeDeviceDef};

use crate::conn::{impl_connection, Conn};
use crate::error::{check_flags, parse_error, TestError, TestResult};
use crate::events::{dev as ev, Event};
use crate::state::Inner;
use rvirt_plugin_api::sdk::domain;

const LIST_INACTIVE: u32 = rvirt_plugin_api::protocol::facts::nodedev_list::INACTIVE;
const LIST_ACTIVE: u32 = rvirt_plugin_api::protocol::facts::nodedev_list::ACTIVE;

/// Capability types named in a device's XML; `nested` adds sub-capabilities
/// (fc_host, vports, ...), which filters match but the caps list does not show.
fn caps(def: &NodeDeviceDef, nested: bool) -> Vec<String> {
    let xml = def.to_xml();
    let prefix = "<capability type='";
    xml.lines()
        .filter(|l| {
            if nested {
                l.trim_start().starts_with(prefix)
            } else {
                l.starts_with(&format!("  {prefix}"))
            }
        })
        .filter_map(|l| l.trim_start()[prefix.len()..].split('\'').next())
        .map(|c| {
            if c == "vport_ops" {
                "vports".to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn has_cap(def: &NodeDeviceDef, cap: &str) -> bool {
    caps(def, true).iter().any(|c| c == cap)
}

fn find<'a>(s: &'a Inner, name: &str) -> TestResult<&'a NodeDeviceDef> {
    s.devices.iter().find(|d| d.name == name).ok_or_else(|| {
        TestError::NoDevice(format!("no node device with matching name '{name}'")).into()
    })
}

/// CONNECT_LIST_ALL_NODE_DEVICES: every cap bit, and ACTIVE/INACTIVE (all test devices are active).
pub fn list_all(s: &Inner, flags: u32) -> TestResult<Vec<String>> {
    check_flags(
        flags,
        ((1 << CAP_TYPES.len()) - 1) | LIST_INACTIVE | LIST_ACTIVE,
        "testConnectListAllNodeDevices",
    )?;
    let state_bits = flags & (LIST_ACTIVE | LIST_INACTIVE);
    if state_bits == LIST_INACTIVE {
        return Ok(Vec::new());
    }
    let wanted: Vec<&str> = CAP_TYPES
        .iter()
        .enumerate()
        .filter(|(i, _)| flags & (1 << i) != 0)
        .map(|(_, c)| *c)
        .collect();
    Ok(s.devices
        .iter()
        .filter(|d| wanted.is_empty() || wanted.iter().any(|c| has_cap(d, c)))
        .map(|d| d.name.clone())
        .collect())
}

/// NODE_NUM_OF_DEVICES / NODE_LIST_DEVICES: devices with capability `cap` (all when none).
pub fn names(s: &Inner, cap: Option<&str>, flags: u32) -> TestResult<Vec<String>> {
    check_flags(flags, 0, "testNodeListDevices")?;
    Ok(s.devices
        .iter()
        .filter(|d| cap.is_none() || cap.is_some_and(|c| has_cap(d, c)))
        .map(|d| d.name.clone())
        .collect())
}

/// `VIR_NODE_DEVICE_CREATE_XML_VALIDATE`.
const VALIDATE: u32 = rvirt_plugin_api::protocol::facts::DEFINE_VALIDATE;

/// A node device refusal worded and numbered as libvirt's node device code reports it.
fn nodedev_err(msg: impl AsRef<str>) -> RemoteError {
    TestError::Xml(rvirt_xml::storage::errs::nodedev(msg)).into()
}

/// Whether `d` is an HBA that can create vports.
fn vport_capable(d: &NodeDeviceDef) -> bool {
    d.scsi_host().is_some_and(|h| h.vport_ops.is_some())
}

/// Finds the HBA a vHBA would be created on, as libvirt checks it: by the parent's
/// name, by its WWNs, by its fabric, or any vport-capable HBA.
fn parent_host(s: &Inner, def: &NodeDeviceDef) -> TestResult<()> {
    let missing = || nodedev_err(format!("Could not find parent device for '{}'", def.name));
    let fc = |d: &NodeDeviceDef| d.scsi_host().and_then(|h| h.fc_host.clone());
    if let Some(name) = &def.parent {
        let p = s
            .devices
            .iter()
            .find(|d| &d.name == name)
            .ok_or_else(missing)?;
        if !vport_capable(p) {
            return Err(nodedev_err(format!(
                "Parent device {} is not capable of vport operations",
                p.name
            )));
        }
        return Ok(());
    }
    let found = if let (Some(n), Some(p)) = (&def.parent_wwnn, &def.parent_wwpn) {
        s.devices.iter().any(|d| {
            vport_capable(d)
                && fc(d).is_some_and(|f| f.wwnn.as_ref() == Some(n) && f.wwpn.as_ref() == Some(p))
        })
    } else if let Some(fabric) = &def.parent_fabric_wwn {
        s.devices.iter().any(|d| {
            vport_capable(d) && fc(d).is_some_and(|f| f.fabric_wwn.as_ref() == Some(fabric))
        })
    } else if s.devices.iter().any(vport_capable) {
        true
    } else {
        return Err(nodedev_err("Could not find any vport capable device"));
    };
    if found {
        Ok(())
    } else {
        Err(missing())
    }
}

/// The name libvirt's test driver gives every vHBA it creates.
const NEW_VHBA: &str = "scsi_host12";
/// The vHBA its mock copies.
const TEMPLATE_VHBA: &str = "scsi_host11";

/// NODE_DEVICE_CREATE_XML: creates a vHBA the way libvirt's test driver mocks it. The
/// document must describe a Fibre Channel HBA whose parent HBA can be found; the new
/// device is a copy of `scsi_host11` named `scsi_host12` with the document's WWNs
/// (replacing any earlier `scsi_host12`).
pub fn create(s: &mut Inner, evs: &mut Vec<Event>, xml: &str, flags: u32) -> TestResult<String> {
    check_flags(flags, VALIDATE, "testNodeDeviceCreateXML")?;
    let opts = rvirt_xml::ParseOptions::validate(flags & VALIDATE != 0);
    let def = NodeDeviceDef::parse_create(xml, opts).map_err(parse_error(domain::NODEDEV))?;
    let (wwnn, wwpn) = def
        .fc_wwns()
        .map(|(n, p)| (n.to_string(), p.to_string()))
        .ok_or_else(|| nodedev_err("Device is not a fibre channel HBA"))?;
    parent_host(s, &def)?;
    let Some(template) = s.devices.iter().find(|d| d.name == TEMPLATE_VHBA) else {
        return Err(
            TestError::Internal("An error occurred, but the cause is unknown".into()).into(),
        );
    };
    let mut vhba = template.clone();
    vhba.name = NEW_VHBA.to_string();
    for c in &mut vhba.caps {
        if let Capability::ScsiHost(h) = c {
            match &mut h.fc_host {
                Some(fc) => {
                    fc.wwnn = Some(wwnn.clone());
                    fc.wwpn = Some(wwpn.clone());
                }
                None => {
                    h.host = 12;
                    h.unique_id = Some(12);
                }
            }
        }
    }
    match s.devices.iter_mut().find(|d| d.name == NEW_VHBA) {
        Some(d) => *d = vhba,
        None => s.devices.push(vhba),
    }
    evs.push(Event::Device(NEW_VHBA.to_string(), ev::CREATED));
    Ok(NEW_VHBA.to_string())
}

/// NODE_DEVICE_DESTROY: removes the device (libvirt's test driver removes any).
pub fn destroy(s: &mut Inner, evs: &mut Vec<Event>, name: &str) -> TestResult<()> {
    find(s, name)?;
    s.devices.retain(|d| d.name != name);
    evs.push(Event::Device(name.to_string(), ev::DELETED));
    Ok(())
}

/// The node device connection.
pub struct NodeDevConn(pub Conn);

impl_connection!(NodeDevConn);

/// Procedures this driver implements (`tests::declared_procedures_are_the_implemented_ones`
/// in lib.rs proves the list and the handler agree).
pub const PROCEDURES: &[i32] = &[
    p::CONNECT_LIST_ALL_NODE_DEVICES,
    p::NODE_NUM_OF_DEVICES,
    p::NODE_LIST_DEVICES,
    p::NODE_DEVICE_LOOKUP_BY_NAME,
    p::NODE_DEVICE_GET_XML_DESC,
    p::NODE_DEVICE_GET_PARENT,
    p::NODE_DEVICE_NUM_OF_CAPS,
    p::NODE_DEVICE_LIST_CAPS,
    p::NODE_DEVICE_CREATE_XML,
    p::NODE_DEVICE_DESTROY,
];

type R<T> = Result<T, RemoteError>;

fn dev(name: String) -> RemoteNonnullNodeDevice {
    RemoteNonnullNodeDevice { name }
}

impl RemoteHandler for NodeDevConn {
    fn connect_list_all_node_devices(
        &self,
        a: RemoteConnectListAllNodeDevicesArgs,
    ) -> R<RemoteConnectListAllNodeDevicesRet> {
        self.0.read(|s| {
            let devices: Vec<_> = list_all(s, a.flags)?.into_iter().map(dev).collect();
            Ok(RemoteConnectListAllNodeDevicesRet {
                ret: devices.len() as u32,
                devices,
            })
        })
    }
    fn node_num_of_devices(&self, a: RemoteNodeNumOfDevicesArgs) -> R<RemoteNodeNumOfDevicesRet> {
        self.0.read(|s| {
            Ok(RemoteNodeNumOfDevicesRet {
                num: names(s, a.cap.as_deref(), a.flags)?.len() as i32,
            })
        })
    }
    fn node_list_devices(&self, a: RemoteNodeListDevicesArgs) -> R<RemoteNodeListDevicesRet> {
        self.0.read(|s| {
            let mut names = names(s, a.cap.as_deref(), a.flags)?;
            names.truncate(a.maxnames.max(0) as usize);
            Ok(RemoteNodeListDevicesRet { names })
        })
    }
    fn node_device_lookup_by_name(
        &self,
        a: RemoteNodeDeviceLookupByNameArgs,
    ) -> R<RemoteNodeDeviceLookupByNameRet> {
        self.0.read(|s| {
            Ok(RemoteNodeDeviceLookupByNameRet {
                dev: dev(find(s, &a.name)?.name.clone()),
            })
        })
    }
    fn node_device_get_xml_desc(
        &self,
        a: RemoteNodeDeviceGetXmlDescArgs,
    ) -> R<RemoteNodeDeviceGetXmlDescRet> {
        check_flags(a.flags, 0, "testNodeDeviceGetXMLDesc")?;
        self.0.read(|s| {
            Ok(RemoteNodeDeviceGetXmlDescRet {
                xml: find(s, &a.name)?.to_xml(),
            })
        })
    }
    fn node_device_get_parent(
        &self,
        a: RemoteNodeDeviceGetParentArgs,
    ) -> R<RemoteNodeDeviceGetParentRet> {
        self.0.read(|s| match &find(s, &a.name)?.parent {
            Some(p) => Ok(RemoteNodeDeviceGetParentRet {
                parent_name: Some(p.clone()),
            }),
            None => Err(TestError::Internal("no parent for this device".into()).into()),
        })
    }
    fn node_device_num_of_caps(
        &self,
        a: RemoteNodeDeviceNumOfCapsArgs,
    ) -> R<RemoteNodeDeviceNumOfCapsRet> {
        self.0.read(|s| {
            Ok(RemoteNodeDeviceNumOfCapsRet {
                num: caps(find(s, &a.name)?, false).len() as i32,
            })
        })
    }
    fn node_device_list_caps(
        &self,
        a: RemoteNodeDeviceListCapsArgs,
    ) -> R<RemoteNodeDeviceListCapsRet> {
        self.0.read(|s| {
            let mut names = caps(find(s, &a.name)?, false);
            names.truncate(a.maxnames.max(0) as usize);
            Ok(RemoteNodeDeviceListCapsRet { names })
        })
    }
    fn node_device_create_xml(
        &self,
        a: RemoteNodeDeviceCreateXmlArgs,
    ) -> R<RemoteNodeDeviceCreateXmlRet> {
        self.0.write(|s, e| {
            Ok(RemoteNodeDeviceCreateXmlRet {
                dev: dev(create(s, e, &a.xml_desc, a.flags)?),
            })
        })
    }
    fn node_device_destroy(&self, a: RemoteNodeDeviceDestroyArgs) -> R<()> {
        self.0.write(|s, e| destroy(s, e, &a.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Driver;

    #[test]
    fn cap_filtering() {
        let d = Driver::new_default();
        d.read(|s| {
            assert_eq!(list_all(s, 0)?.len(), 4);
            assert_eq!(list_all(s, LIST_ACTIVE)?.len(), 4);
            assert_eq!(list_all(s, LIST_ACTIVE | LIST_INACTIVE)?.len(), 4);
            assert!(list_all(s, LIST_INACTIVE)?.is_empty());
            assert!(list_all(s, LIST_ACTIVE | 2)?.is_empty());
            assert_eq!(list_all(s, 1)?, ["computer"]);
            assert_eq!(
                list_all(s, 1 << 5)?,
                ["scsi_host1", "scsi_host2", "scsi_host11"]
            );
            assert_eq!(list_all(s, 1 << 10)?, ["scsi_host1", "scsi_host2"]);
            assert_eq!(list_all(s, 1 << 9)?.len(), 3);
            assert_eq!(list_all(s, 1 << 29).unwrap_err().code, 8);
            assert_eq!(names(s, Some("system"), 0)?, ["computer"]);
            assert_eq!(caps(find(s, "scsi_host1")?, false), ["scsi_host"]);
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn computer_xml_matches_fixture() {
        let d = Driver::new_default();
        let want = crate::testutil::fixture("nodedev-dumpxml-computer.txt");
        assert_eq!(d.read(|s| Ok(find(s, "computer")?.to_xml())).unwrap(), want);
    }

    #[test]
    fn create_and_destroy() {
        let d = Driver::new_default();
        d.write(|s, e| {
            let xml = "<device><parent>scsi_host1</parent><capability type='scsi_host'>\
                <capability type='fc_host'><wwnn>a</wwnn><wwpn>b</wwpn></capability>\
                </capability></device>";
            assert_eq!(create(s, e, xml, 0)?, "scsi_host12");
            let want = "<device>\n  <name>scsi_host12</name>\n  <parent>scsi_host1</parent>\n  \
                <capability type='scsi_host'>\n    <host>11</host>\n    <unique_id>10</unique_id>\n    \
                <capability type='fc_host'>\n      <wwnn>a</wwnn>\n      <wwpn>b</wwpn>\n      \
                <fabric_wwn>2000000043214321</fabric_wwn>\n    </capability>\n  </capability>\n</device>\n";
            assert_eq!(find(s, "scsi_host12")?.to_xml(), want);
            // A second one replaces the first.
            assert_eq!(create(s, e, xml, 0)?, "scsi_host12");
            assert_eq!(list_all(s, 0)?.len(), 5);
            destroy(s, e, "scsi_host12")?;
            assert!(find(s, "scsi_host12").is_err());
            assert_eq!(e.len(), 3);
            destroy(s, e, "computer")?;
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn create_refusals_as_libvirt() {
        let d = Driver::new_default();
        let fc = "<capability type='scsi_host'><capability type='fc_host'><wwnn>a</wwnn><wwpn>b</wwpn></capability></capability>";
        let cases = [
            (format!("<device><parent>nonexistent</parent>{fc}</device>"), "internal error: Could not find parent device for 'new device'"),
            (format!("<device><parent>computer</parent>{fc}</device>"), "internal error: Parent device computer is not capable of vport operations"),
            (format!("<device><parent>scsi_host11</parent>{fc}</device>"), "internal error: Parent device scsi_host11 is not capable of vport operations"),
            (format!("<device><parent wwnn='2000000034563456' wwpn='1000000034563456'/>{fc}</device>"), "internal error: Could not find parent device for 'new device'"),
            (format!("<device><parent fabric_wwn='2000000043214329'/>{fc}</device>"), "internal error: Could not find parent device for 'new device'"),
            ("<device><capability type='net'><interface>e</interface></capability></device>".into(), "internal error: Device is not a fibre channel HBA"),
        ];
        d.write(|s, e| {
            for (xml, msg) in &cases {
                let err = create(s, e, xml, 0).unwrap_err();
                assert_eq!((err.code, err.domain, err.text()), (1, 22, *msg), "{xml}");
            }
            for ok in [
                format!("<device><parent wwnn='2000000012341234' wwpn='1000000012341234'/>{fc}</device>"),
                format!("<device><parent fabric_wwn='2000000043214321'/>{fc}</device>"),
                format!("<device>{fc}</device>"),
            ] {
                assert_eq!(create(s, e, &ok, 0)?, "scsi_host12");
            }
            Ok(())
        })
        .unwrap();
    }
}
#[cfg(test)]
mod oracle {
    //! Documents outside the differential corpus and what libvirt 9.0's test driver
    //! answers to `nodeDeviceCreateXML` with each (the new device's XML, or the error's
    //! code, domain and message).
    use super::*;
    use crate::state::Driver;

    const CASES: &[(&str, &str)] = &[
        (
            "<device><name>x</name><path>/sys/x</path><capability type='scsi_host'><capability type='fc_host'><wwnn>2001000000000001</wwnn><wwpn>1001000000000001</wwpn></capability></capability></device>",
            "<device>\n  <name>scsi_host12</name>\n  <parent>scsi_host1</parent>\n  <capability type='scsi_host'>\n    <host>11</host>\n    <unique_id>10</unique_id>\n    <capability type='fc_host'>\n      <wwnn>2001000000000001</wwnn>\n      <wwpn>1001000000000001</wwpn>\n      <fabric_wwn>2000000043214321</fabric_wwn>\n    </capability>\n  </capability>\n</device>\n",
        ),
        (
            "<device><parent>scsi_host2</parent><capability type='scsi_host'><capability type='fc_host'><wwnn>2001000000000001</wwnn><wwpn>1001000000000001</wwpn></capability></capability></device>",
            "<device>\n  <name>scsi_host12</name>\n  <parent>scsi_host1</parent>\n  <capability type='scsi_host'>\n    <host>11</host>\n    <unique_id>10</unique_id>\n    <capability type='fc_host'>\n      <wwnn>2001000000000001</wwnn>\n      <wwpn>1001000000000001</wwpn>\n      <fabric_wwn>2000000043214321</fabric_wwn>\n    </capability>\n  </capability>\n</device>\n",
        ),
        (
            "<device><parent></parent><capability type='scsi_host'><capability type='fc_host'><wwnn>2001000000000001</wwnn><wwpn>1001000000000001</wwpn></capability></capability></device>",
            "<device>\n  <name>scsi_host12</name>\n  <parent>scsi_host1</parent>\n  <capability type='scsi_host'>\n    <host>11</host>\n    <unique_id>10</unique_id>\n    <capability type='fc_host'>\n      <wwnn>2001000000000001</wwnn>\n      <wwpn>1001000000000001</wwpn>\n      <fabric_wwn>2000000043214321</fabric_wwn>\n    </capability>\n  </capability>\n</device>\n",
        ),
        (
            "<device><parent wwnn='2000000056785678' wwpn='1000000056785678'/><capability type='scsi_host'><capability type='fc_host'><wwnn>2001000000000001</wwnn><wwpn>1001000000000001</wwpn></capability></capability></device>",
            "<device>\n  <name>scsi_host12</name>\n  <parent>scsi_host1</parent>\n  <capability type='scsi_host'>\n    <host>11</host>\n    <unique_id>10</unique_id>\n    <capability type='fc_host'>\n      <wwnn>2001000000000001</wwnn>\n      <wwpn>1001000000000001</wwpn>\n      <fabric_wwn>2000000043214321</fabric_wwn>\n    </capability>\n  </capability>\n</device>\n",
        ),
        (
            "<device><parent fabric_wwn='2000000087658765'/><capability type='scsi_host'><capability type='fc_host'><wwnn>2001000000000001</wwnn><wwpn>1001000000000001</wwpn></capability></capability></device>",
            "<device>\n  <name>scsi_host12</name>\n  <parent>scsi_host1</parent>\n  <capability type='scsi_host'>\n    <host>11</host>\n    <unique_id>10</unique_id>\n    <capability type='fc_host'>\n      <wwnn>2001000000000001</wwnn>\n      <wwpn>1001000000000001</wwpn>\n      <fabric_wwn>2000000043214321</fabric_wwn>\n    </capability>\n  </capability>\n</device>\n",
        ),
        (
            "<device><parent wwnn='2000000056785678' wwpn='1000000056785678' fabric_wwn='bogus'/><capability type='scsi_host'><capability type='fc_host'><wwnn>2001000000000001</wwnn><wwpn>1001000000000001</wwpn></capability></capability></device>",
            "<device>\n  <name>scsi_host12</name>\n  <parent>scsi_host1</parent>\n  <capability type='scsi_host'>\n    <host>11</host>\n    <unique_id>10</unique_id>\n    <capability type='fc_host'>\n      <wwnn>2001000000000001</wwnn>\n      <wwpn>1001000000000001</wwpn>\n      <fabric_wwn>2000000043214321</fabric_wwn>\n    </capability>\n  </capability>\n</device>\n",
        ),
        (
            "<device><parent fabric_wwn=''/><capability type='scsi_host'><capability type='fc_host'><wwnn>2001000000000001</wwnn><wwpn>1001000000000001</wwpn></capability></capability></device>",
            "<device>\n  <name>scsi_host12</name>\n  <parent>scsi_host1</parent>\n  <capability type='scsi_host'>\n    <host>11</host>\n    <unique_id>10</unique_id>\n    <capability type='fc_host'>\n      <wwnn>2001000000000001</wwnn>\n      <wwpn>1001000000000001</wwpn>\n      <fabric_wwn>2000000043214321</fabric_wwn>\n    </capability>\n  </capability>\n</device>\n",
        ),
        (
            "<device><devnode type='dev'>/dev/x</devnode><devnode type='link'>/dev/y</devnode><capability type='scsi_host'><capability type='fc_host'><wwnn>2001000000000001</wwnn><wwpn>1001000000000001</wwpn></capability></capability></device>",
            "<device>\n  <name>scsi_host12</name>\n  <parent>scsi_host1</parent>\n  <capability type='scsi_host'>\n    <host>11</host>\n    <unique_id>10</unique_id>\n    <capability type='fc_host'>\n      <wwnn>2001000000000001</wwnn>\n      <wwpn>1001000000000001</wwpn>\n      <fabric_wwn>2000000043214321</fabric_wwn>\n    </capability>\n  </capability>\n</device>\n",
        ),
        (
            "<device><capability type='scsi_host'><capability type='vport_ops'/><capability type='fc_host'><wwnn>a</wwnn><wwpn>b</wwpn><fabric_wwn>f</fabric_wwn></capability></capability></device>",
            "<device>\n  <name>scsi_host12</name>\n  <parent>scsi_host1</parent>\n  <capability type='scsi_host'>\n    <host>11</host>\n    <unique_id>10</unique_id>\n    <capability type='fc_host'>\n      <wwnn>a</wwnn>\n      <wwpn>b</wwpn>\n      <fabric_wwn>2000000043214321</fabric_wwn>\n    </capability>\n  </capability>\n</device>\n",
        ),
        (
            "<device><capability type='scsi_host'><capability type='fc_host'><wwnn>a</wwnn><wwpn>b</wwpn></capability><capability type='fc_host'><wwnn>c</wwnn><wwpn>d</wwpn></capability></capability></device>",
            "<device>\n  <name>scsi_host12</name>\n  <parent>scsi_host1</parent>\n  <capability type='scsi_host'>\n    <host>11</host>\n    <unique_id>10</unique_id>\n    <capability type='fc_host'>\n      <wwnn>c</wwnn>\n      <wwpn>d</wwpn>\n      <fabric_wwn>2000000043214321</fabric_wwn>\n    </capability>\n  </capability>\n</device>\n",
        ),
        (
            "<device><capability type='net'><interface>e</interface></capability><capability type='scsi_host'><capability type='fc_host'><wwnn>a</wwnn><wwpn>b</wwpn></capability></capability></device>",
            "<device>\n  <name>scsi_host12</name>\n  <parent>scsi_host1</parent>\n  <capability type='scsi_host'>\n    <host>11</host>\n    <unique_id>10</unique_id>\n    <capability type='fc_host'>\n      <wwnn>a</wwnn>\n      <wwpn>b</wwpn>\n      <fabric_wwn>2000000043214321</fabric_wwn>\n    </capability>\n  </capability>\n</device>\n",
        ),
        (
            "<device><capability type='scsi_host'/></device>",
            "ERR 1 22 internal error: Device is not a fibre channel HBA",
        ),
        (
            "<device><capability type='scsi_host'><capability type='fc_host'><wwnn>a</wwnn><wwpn>b</wwpn></capability></capability><capability type='pci'/></device>",
            "ERR 1 22 internal error: no PCI domain ID supplied for 'new device'",
        ),
        (
            "<device><capability type='usb'/></device>",
            "ERR 1 22 internal error: no USB interface number supplied for 'new device'",
        ),
        (
            "<device><capability type='usb'><number>1</number><class>x</class></capability></device>",
            "ERR 1 22 internal error: invalid USB interface class supplied for 'new device'",
        ),
        (
            "<device><capability type='scsi_target'/></device>",
            "ERR 1 22 internal error: no target name supplied for 'new device'",
        ),
        (
            "<device><capability type='drm'/></device>",
            "ERR 67 22 unsupported configuration: unknown drm type '(null)' for 'new device'",
        ),
        (
            "<device><capability type='mdev'/></device>",
            "ERR 67 22 unsupported configuration: missing type id attribute for 'new device'",
        ),
        (
            "<device><capability type='ccw'/></device>",
            "ERR 67 22 unsupported configuration: missing cssid value for 'new device'",
        ),
        (
            "<device><capability type='css'/></device>",
            "ERR 67 22 unsupported configuration: missing cssid value for 'new device'",
        ),
        (
            "<device><capability type='vdpa'/></device>",
            "ERR 1 22 internal error: unknown capability type '17' for 'new device'",
        ),
        (
            "<device><capability type='ap_card'/></device>",
            "ERR 67 22 unsupported configuration: missing ap-adapter value for 'new device'",
        ),
        (
            "<device><capability type='ap_queue'/></device>",
            "ERR 67 22 unsupported configuration: missing ap-adapter value for 'new device'",
        ),
        (
            "<device><capability type='ap_matrix'/></device>",
            "ERR 1 22 internal error: Device is not a fibre channel HBA",
        ),
        (
            "<device><capability type='scsi_generic'/></device>",
            "ERR 1 22 internal error: unknown capability type '11' for 'new device'",
        ),
        (
            "<device><capability type='vports'/></device>",
            "ERR 1 22 internal error: unknown capability type '10' for 'new device'",
        ),
        (
            "<device><capability type='mdev_types'/></device>",
            "ERR 1 22 internal error: unknown capability type '13' for 'new device'",
        ),
        (
            "<device><capability type='vpd'/></device>",
            "ERR 1 22 internal error: unknown capability type '21' for 'new device'",
        ),
        (
            "<device><capability type='system'><hardware><uuid>11111111-2222-3333-4444-555555555555</uuid></hardware></capability></device>",
            "ERR 1 22 internal error: Device is not a fibre channel HBA",
        ),
        (
            "<device><capability type='pci'><domain>0</domain><bus>0</bus><slot>0</slot><function>0</function><vendor id='zz'/></capability></device>",
            "ERR 1 22 internal error: invalid PCI vendor ID supplied for 'new device'",
        ),
        (
            "<device><capability type='pci'><domain>0</domain><bus>0</bus><slot>0</slot><function>0</function><vendor id='0x8086'/><product id='0x1'/></capability></device>",
            "ERR 1 22 internal error: Device is not a fibre channel HBA",
        ),
        (
            "<device><capability type='usb_device'><bus>1</bus><device>2</device><vendor id='0x1'/><product id='0x2'/></capability></device>",
            "ERR 1 22 internal error: Device is not a fibre channel HBA",
        ),
        (
            "<device><capability type='storage'><block>/dev/sda</block></capability></device>",
            "ERR 1 22 internal error: no size supplied for 'new device'",
        ),
        (
            "<device><capability type='scsi'><host>1</host><bus>0</bus><target>0</target><lun>0</lun></capability></device>",
            "ERR 1 22 internal error: Device is not a fibre channel HBA",
        ),
        (
            "<device><capability type='net'><interface>e</interface><capability/></capability></device>",
            "ERR 1 22 internal error: Device is not a fibre channel HBA",
        ),
        (
            "<device><capability type='net'><interface>e</interface><feature name='bogus'/></capability></device>",
            "ERR 27 22 XML error: unknown network device feature 'bogus'",
        ),
        (
            "<device><capability type='net'><interface>e</interface><link state='bogus'/></capability></device>",
            "ERR 27 5 XML error: Invalid value for attribute 'state' in element 'link': 'bogus'.",
        ),
        (
            "<device><capability type='net'><interface></interface></capability></device>",
            "ERR 1 22 internal error: no network interface supplied for 'new device'",
        ),
    ];

    #[test]
    fn create_agrees_with_libvirt() {
        let d = Driver::new_default();
        for (xml, want) in CASES {
            let got = d.write(|s, e| {
                let n = create(s, e, xml, 0)?;
                let out = find(s, &n)?.to_xml();
                destroy(s, e, &n)?;
                Ok(out)
            });
            let got = match got {
                Ok(x) => x,
                Err(e) => format!("ERR {} {} {}", e.code, e.domain, e.text()),
            };
            assert_eq!(&got, want, "{xml}");
        }
    }
}
