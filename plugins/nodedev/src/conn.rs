//! The node device connection: the typed procedures over the driver's device list.

use std::sync::Arc;

use rvirt_plugin_api::protocol::{remote_proc as p, *};
use rvirt_xml::nodedev::{NodeDeviceDef, CAP_TYPES};

use crate::assign::{self, AssignError};
use crate::devices::Device;
use crate::error::{check_flags, NodeDevError};
use crate::state::{Driver, Listener};

const LIST_INACTIVE: u32 = rvirt_plugin_api::protocol::facts::nodedev_list::INACTIVE;
const LIST_ACTIVE: u32 = rvirt_plugin_api::protocol::facts::nodedev_list::ACTIVE;

/// One connection; every connection shares the driver and receives its device events.
pub struct NodeDevConn(pub Arc<Driver>, pub Listener);

impl NodeDevConn {
    pub fn open(drv: Arc<Driver>, listener: Listener) -> NodeDevConn {
        drv.add_listener(listener);
        NodeDevConn(drv, listener)
    }
}

impl rvirt_plugin_api::sdk::Connection for NodeDevConn {
    fn call(&self, program: u32, procedure: i32, args: &[u8]) -> Result<Vec<u8>, RemoteError> {
        rvirt_plugin_api::sdk::dispatch_remote(self, program, procedure, args)
    }

    fn close(&self) {
        self.0.remove_listener(self.1);
    }
}

/// Procedures this driver implements (`tests::declared_procedures_are_the_implemented_ones`
/// in lib.rs proves the list and the handler agree).
pub const PROCEDURES: &[i32] = &[
    p::CONNECT_LIST_ALL_NODE_DEVICES,
    p::NODE_NUM_OF_DEVICES,
    p::NODE_LIST_DEVICES,
    p::NODE_DEVICE_LOOKUP_BY_NAME,
    p::NODE_DEVICE_LOOKUP_SCSI_HOST_BY_WWN,
    p::NODE_DEVICE_GET_XML_DESC,
    p::NODE_DEVICE_GET_PARENT,
    p::NODE_DEVICE_NUM_OF_CAPS,
    p::NODE_DEVICE_LIST_CAPS,
    p::NODE_DEVICE_DETTACH,
    p::NODE_DEVICE_DETACH_FLAGS,
    p::NODE_DEVICE_RE_ATTACH,
    p::NODE_DEVICE_RESET,
];

type R<T> = Result<T, RemoteError>;

fn has_cap(def: &NodeDeviceDef, cap: &str) -> bool {
    def.cap_names().contains(&cap)
}

fn find<'a>(devs: &'a [Device], name: &str) -> Result<&'a NodeDeviceDef, NodeDevError> {
    devs.iter()
        .map(|d| &d.def)
        .find(|d| d.name == name)
        .ok_or_else(|| NodeDevError::NoDevice(name.to_string()))
}

/// CONNECT_LIST_ALL_NODE_DEVICES: the capability bits, and ACTIVE/INACTIVE (every host
/// device is active).
pub fn list_all(devs: &[Device], flags: u32) -> Result<Vec<String>, NodeDevError> {
    let caps = (1u32 << CAP_TYPES.len()) - 1;
    check_flags(
        flags,
        caps | LIST_INACTIVE | LIST_ACTIVE,
        "nodeConnectListAllNodeDevices",
    )?;
    if flags & (LIST_ACTIVE | LIST_INACTIVE) == LIST_INACTIVE {
        return Ok(Vec::new());
    }
    let wanted: Vec<&str> = CAP_TYPES
        .iter()
        .enumerate()
        .filter(|(i, _)| flags & (1 << i) != 0)
        .map(|(_, c)| *c)
        .collect();
    Ok(devs
        .iter()
        .filter(|d| wanted.is_empty() || wanted.iter().any(|c| has_cap(&d.def, c)))
        .map(|d| d.def.name.clone())
        .collect())
}

/// NODE_NUM_OF_DEVICES / NODE_LIST_DEVICES: devices with capability `cap` (all when none).
pub fn names(
    devs: &[Device],
    cap: Option<&str>,
    flags: u32,
    func: &'static str,
) -> Result<Vec<String>, NodeDevError> {
    check_flags(flags, 0, func)?;
    Ok(devs
        .iter()
        .filter(|d| cap.is_none_or(|c| has_cap(&d.def, c)))
        .map(|d| d.def.name.clone())
        .collect())
}

/// The PCI address of the PCI device `name`.
fn pci_of(devs: &[Device], name: &str) -> R<String> {
    let d = devs
        .iter()
        .find(|d| d.def.name == name)
        .ok_or_else(|| NodeDevError::NoDevice(name.to_string()))?;
    Ok(assign::pci_address(&d.sys_path, &d.def.cap_names())
        .ok_or_else(|| AssignError::NotPci(name.to_string()))?)
}

impl NodeDevConn {
    /// NODE_DEVICE_DETTACH / NODE_DEVICE_DETACH_FLAGS: the driver name is checked first,
    /// as libvirt's qemu driver checks it before it looks the device up.
    fn detach(&self, name: &str, driver: Option<&str>, flags: u32) -> R<()> {
        check_flags(flags, 0, "qemuNodeDeviceDetachFlags")?;
        let host = self.0.host();
        assign::check_driver(driver, &host)?;
        let addr = pci_of(&self.0.devices(), name)?;
        let r = assign::detach(&host, &addr);
        self.0.rescan();
        Ok(r?)
    }

    /// NODE_DEVICE_RE_ATTACH or NODE_DEVICE_RESET of the PCI device `name`.
    fn on_pci(&self, name: &str, op: fn(&assign::Host, &str) -> Result<(), AssignError>) -> R<()> {
        let addr = pci_of(&self.0.devices(), name)?;
        let r = op(&self.0.host(), &addr);
        self.0.rescan();
        Ok(r?)
    }
}

fn dev(name: String) -> RemoteNonnullNodeDevice {
    RemoteNonnullNodeDevice { name }
}

impl RemoteHandler for NodeDevConn {
    fn connect_list_all_node_devices(
        &self,
        a: RemoteConnectListAllNodeDevicesArgs,
    ) -> R<RemoteConnectListAllNodeDevicesRet> {
        let devices: Vec<_> = list_all(&self.0.devices(), a.flags)?
            .into_iter()
            .map(dev)
            .collect();
        Ok(RemoteConnectListAllNodeDevicesRet {
            ret: devices.len() as u32,
            devices,
        })
    }
    fn node_num_of_devices(&self, a: RemoteNodeNumOfDevicesArgs) -> R<RemoteNodeNumOfDevicesRet> {
        let n = names(
            &self.0.devices(),
            a.cap.as_deref(),
            a.flags,
            "nodeNumOfDevices",
        )?;
        Ok(RemoteNodeNumOfDevicesRet {
            num: n.len() as i32,
        })
    }
    fn node_list_devices(&self, a: RemoteNodeListDevicesArgs) -> R<RemoteNodeListDevicesRet> {
        let mut names = names(
            &self.0.devices(),
            a.cap.as_deref(),
            a.flags,
            "nodeListDevices",
        )?;
        names.truncate(a.maxnames.max(0) as usize);
        Ok(RemoteNodeListDevicesRet { names })
    }
    fn node_device_lookup_by_name(
        &self,
        a: RemoteNodeDeviceLookupByNameArgs,
    ) -> R<RemoteNodeDeviceLookupByNameRet> {
        let devs = self.0.devices();
        Ok(RemoteNodeDeviceLookupByNameRet {
            dev: dev(find(&devs, &a.name)?.name.clone()),
        })
    }
    fn node_device_lookup_scsi_host_by_wwn(
        &self,
        a: RemoteNodeDeviceLookupScsiHostByWwnArgs,
    ) -> R<RemoteNodeDeviceLookupScsiHostByWwnRet> {
        check_flags(a.flags, 0, "nodeDeviceLookupSCSIHostByWWN")?;
        let devs = self.0.devices();
        let found = devs
            .iter()
            .find(|d| d.def.fc_wwns() == Some((a.wwnn.as_str(), a.wwpn.as_str())));
        match found {
            Some(d) => Ok(RemoteNodeDeviceLookupScsiHostByWwnRet {
                dev: dev(d.def.name.clone()),
            }),
            None => Err(NodeDevError::NoWwn(a.wwnn, a.wwpn).into()),
        }
    }
    fn node_device_get_xml_desc(
        &self,
        a: RemoteNodeDeviceGetXmlDescArgs,
    ) -> R<RemoteNodeDeviceGetXmlDescRet> {
        check_flags(a.flags, 0, "nodeDeviceGetXMLDesc")?;
        let devs = self.0.devices();
        Ok(RemoteNodeDeviceGetXmlDescRet {
            xml: find(&devs, &a.name)?.to_xml(),
        })
    }
    fn node_device_get_parent(
        &self,
        a: RemoteNodeDeviceGetParentArgs,
    ) -> R<RemoteNodeDeviceGetParentRet> {
        let devs = self.0.devices();
        match &find(&devs, &a.name)?.parent {
            Some(p) => Ok(RemoteNodeDeviceGetParentRet {
                parent_name: Some(p.clone()),
            }),
            None => Err(NodeDevError::NoParent.into()),
        }
    }
    fn node_device_num_of_caps(
        &self,
        a: RemoteNodeDeviceNumOfCapsArgs,
    ) -> R<RemoteNodeDeviceNumOfCapsRet> {
        let devs = self.0.devices();
        Ok(RemoteNodeDeviceNumOfCapsRet {
            num: find(&devs, &a.name)?.cap_names().len() as i32,
        })
    }
    fn node_device_list_caps(
        &self,
        a: RemoteNodeDeviceListCapsArgs,
    ) -> R<RemoteNodeDeviceListCapsRet> {
        let devs = self.0.devices();
        let mut names: Vec<String> = find(&devs, &a.name)?
            .cap_names()
            .into_iter()
            .map(str::to_string)
            .collect();
        names.truncate(a.maxnames.max(0) as usize);
        Ok(RemoteNodeDeviceListCapsRet { names })
    }
    fn node_device_dettach(&self, a: RemoteNodeDeviceDettachArgs) -> R<()> {
        self.detach(&a.name, None, 0)
    }
    fn node_device_detach_flags(&self, a: RemoteNodeDeviceDetachFlagsArgs) -> R<()> {
        self.detach(&a.name, a.driver_name.as_deref(), a.flags)
    }
    fn node_device_re_attach(&self, a: RemoteNodeDeviceReAttachArgs) -> R<()> {
        self.on_pci(&a.name, assign::reattach)
    }
    fn node_device_reset(&self, a: RemoteNodeDeviceResetArgs) -> R<()> {
        self.on_pci(&a.name, assign::reset)
    }
}
