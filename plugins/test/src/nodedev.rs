//! The node device driver: the fake host's device tree.

use rvirt_plugin_api::protocol::{remote_proc as p, *};
use rvirt_xml::nodedev::NodeDeviceDef;

use crate::conn::{impl_connection, Conn};
use crate::error::{check_flags, TestError, TestResult};
use crate::events::{dev as ev, Event};
use crate::state::Inner;

/// Capability names by VIR_CONNECT_LIST_NODE_DEVICES_CAP_* bit.
const CAP_BITS: [&str; 22] = [
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
const LIST_INACTIVE: u32 = 1 << 30;
const LIST_ACTIVE: u32 = 1 << 31;

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
        ((1 << CAP_BITS.len()) - 1) | LIST_INACTIVE | LIST_ACTIVE,
        "testConnectListAllNodeDevices",
    )?;
    let state_bits = flags & (LIST_ACTIVE | LIST_INACTIVE);
    if state_bits == LIST_INACTIVE {
        return Ok(Vec::new());
    }
    let wanted: Vec<&str> = CAP_BITS
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
const VALIDATE: u32 = 1;

/// NODE_DEVICE_CREATE_XML: adds the described device under an existing parent.
pub fn create(s: &mut Inner, evs: &mut Vec<Event>, xml: &str, flags: u32) -> TestResult<String> {
    check_flags(flags, VALIDATE, "testNodeDeviceCreateXML")?;
    let opts = rvirt_xml::ParseOptions::validate(flags & VALIDATE != 0);
    let def = NodeDeviceDef::parse_with(xml, opts).map_err(TestError::from)?;
    if let Some(parent) = &def.parent {
        find(s, parent)?;
    }
    if s.devices.iter().any(|d| d.name == def.name) {
        return Err(TestError::Failed(format!("node device '{}' already exists", def.name)).into());
    }
    let name = def.name.clone();
    s.devices.push(def);
    evs.push(Event::Device(name.clone(), ev::CREATED));
    Ok(name)
}

/// NODE_DEVICE_DESTROY: removes a device that has a parent.
pub fn destroy(s: &mut Inner, evs: &mut Vec<Event>, name: &str) -> TestResult<()> {
    if find(s, name)?.parent.is_none() {
        return Err(TestError::Internal("no parent for this device".into()).into());
    }
    s.devices.retain(|d| d.name != name);
    evs.push(Event::Device(name.to_string(), ev::DELETED));
    Ok(())
}

/// The node device connection.
pub struct NodeDevConn(pub Conn);

impl_connection!(NodeDevConn);

/// Procedures this driver implements; keep in step with the handler below.
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
            let xml = "<device><name>scsi_host12</name><parent>scsi_host1</parent>\
                <capability type='scsi_host'><host>12</host></capability></device>";
            assert_eq!(create(s, e, xml, 0)?, "scsi_host12");
            assert!(create(s, e, xml, 0).is_err());
            destroy(s, e, "scsi_host12")?;
            assert!(find(s, "scsi_host12").is_err());
            assert_eq!(e.len(), 2);
            Ok(())
        })
        .unwrap();
    }
}
