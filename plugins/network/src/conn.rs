//! The network connection: libvirt's `virNetwork*` API on the driver state.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rvirt_plugin_api::protocol::{remote_proc as p, *};

use crate::error::{check_flags, NResult, NetError};
use crate::lifecycle as lc;
use crate::ports;
use crate::state::{Driver, Inner, Listener, Net};

/// `VIR_NETWORK_XML_INACTIVE`.
const XML_INACTIVE: u32 = rvirt_plugin_api::protocol::facts::network_xml::INACTIVE;

/// One open connection.
#[derive(Debug)]
pub struct NetworkConn {
    drv: Arc<Driver>,
    listener: Listener,
    closed: AtomicBool,
}

impl NetworkConn {
    /// Opens a connection registered for the driver's events.
    pub fn open(drv: Arc<Driver>, listener: Listener) -> NetworkConn {
        drv.add_listener(listener);
        NetworkConn {
            drv,
            listener,
            closed: AtomicBool::new(false),
        }
    }

    fn read<R>(&self, r: &RemoteNonnullNetwork, f: impl FnOnce(&Net) -> NResult<R>) -> NResult<R> {
        let s = self.drv.lock();
        let i = s.find(r)?;
        f(&s.nets[i])
    }

    fn write<R>(
        &self,
        f: impl FnOnce(&Driver, &mut Inner, &mut Vec<crate::state::Event>) -> NResult<R>,
    ) -> NResult<R> {
        self.drv.write(|s, e| f(&self.drv, s, e))
    }
}

impl rvirt_plugin_api::sdk::Connection for NetworkConn {
    fn call(&self, program: u32, procedure: i32, args: &[u8]) -> Result<Vec<u8>, RemoteError> {
        rvirt_plugin_api::sdk::dispatch_remote(self, program, procedure, args)
    }

    fn close(&self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            self.drv.remove_listener(self.listener);
        }
    }
}

impl Drop for NetworkConn {
    fn drop(&mut self) {
        rvirt_plugin_api::sdk::Connection::close(self);
    }
}

/// Procedures this driver implements (`tests::declared_procedures_are_the_implemented_ones`
/// in lib.rs proves the list and the handler agree).
pub const PROCEDURES: &[i32] = &[
    p::CONNECT_NUM_OF_NETWORKS,
    p::CONNECT_LIST_NETWORKS,
    p::CONNECT_NUM_OF_DEFINED_NETWORKS,
    p::CONNECT_LIST_DEFINED_NETWORKS,
    p::CONNECT_LIST_ALL_NETWORKS,
    p::NETWORK_LOOKUP_BY_NAME,
    p::NETWORK_LOOKUP_BY_UUID,
    p::NETWORK_DEFINE_XML,
    p::NETWORK_DEFINE_XML_FLAGS,
    p::NETWORK_CREATE_XML,
    p::NETWORK_CREATE_XML_FLAGS,
    p::NETWORK_UNDEFINE,
    p::NETWORK_CREATE,
    p::NETWORK_DESTROY,
    p::NETWORK_GET_XML_DESC,
    p::NETWORK_GET_BRIDGE_NAME,
    p::NETWORK_GET_AUTOSTART,
    p::NETWORK_SET_AUTOSTART,
    p::NETWORK_IS_ACTIVE,
    p::NETWORK_IS_PERSISTENT,
    p::NETWORK_GET_DHCP_LEASES,
    p::NETWORK_UPDATE,
    p::NETWORK_LIST_ALL_PORTS,
    p::NETWORK_PORT_LOOKUP_BY_UUID,
    p::NETWORK_PORT_CREATE_XML,
    p::NETWORK_PORT_GET_PARAMETERS,
    p::NETWORK_PORT_SET_PARAMETERS,
    p::NETWORK_PORT_GET_XML_DESC,
    p::NETWORK_PORT_DELETE,
    p::NETWORK_SET_METADATA,
    p::NETWORK_GET_METADATA,
];

/// `VIR_CONNECT_LIST_NETWORKS_*` filter.
fn matches(n: &Net, flags: u32) -> bool {
    let pair = |yes: u32, no: u32, v: bool| {
        flags & (yes | no) == 0 || (v && flags & yes != 0) || (!v && flags & no != 0)
    };
    pair(2, 1, n.is_active()) && pair(4, 8, n.persistent) && pair(16, 32, n.autostart)
}

fn names(s: &Inner, active: bool, max: i32) -> Vec<String> {
    s.nets
        .iter()
        .filter(|n| n.is_active() == active)
        .map(|n| n.def.name.clone())
        .take(max.max(0) as usize)
        .collect()
}

type R<T> = Result<T, RemoteError>;

impl RemoteHandler for NetworkConn {
    fn connect_num_of_networks(&self) -> R<RemoteConnectNumOfNetworksRet> {
        let num = names(&self.drv.lock(), true, i32::MAX).len() as i32;
        Ok(RemoteConnectNumOfNetworksRet { num })
    }
    fn connect_list_networks(
        &self,
        a: RemoteConnectListNetworksArgs,
    ) -> R<RemoteConnectListNetworksRet> {
        let names = names(&self.drv.lock(), true, a.maxnames);
        Ok(RemoteConnectListNetworksRet { names })
    }
    fn connect_num_of_defined_networks(&self) -> R<RemoteConnectNumOfDefinedNetworksRet> {
        let num = names(&self.drv.lock(), false, i32::MAX).len() as i32;
        Ok(RemoteConnectNumOfDefinedNetworksRet { num })
    }
    fn connect_list_defined_networks(
        &self,
        a: RemoteConnectListDefinedNetworksArgs,
    ) -> R<RemoteConnectListDefinedNetworksRet> {
        let names = names(&self.drv.lock(), false, a.maxnames);
        Ok(RemoteConnectListDefinedNetworksRet { names })
    }
    fn connect_list_all_networks(
        &self,
        a: RemoteConnectListAllNetworksArgs,
    ) -> R<RemoteConnectListAllNetworksRet> {
        check_flags(a.flags, 0x3f, "networkConnectListAllNetworks")?;
        let nets: Vec<_> = {
            let s = self.drv.lock();
            s.nets
                .iter()
                .filter(|n| matches(n, a.flags))
                .map(Net::reference)
                .collect()
        };
        Ok(RemoteConnectListAllNetworksRet {
            ret: nets.len() as u32,
            nets,
        })
    }
    fn network_lookup_by_name(
        &self,
        a: RemoteNetworkLookupByNameArgs,
    ) -> R<RemoteNetworkLookupByNameRet> {
        let s = self.drv.lock();
        let i = s.by_name(&a.name)?;
        Ok(RemoteNetworkLookupByNameRet {
            net: s.nets[i].reference(),
        })
    }
    fn network_lookup_by_uuid(
        &self,
        a: RemoteNetworkLookupByUuidArgs,
    ) -> R<RemoteNetworkLookupByUuidRet> {
        let s = self.drv.lock();
        let i = s.by_uuid(&a.uuid)?;
        Ok(RemoteNetworkLookupByUuidRet {
            net: s.nets[i].reference(),
        })
    }
    fn network_define_xml(&self, a: RemoteNetworkDefineXmlArgs) -> R<RemoteNetworkDefineXmlRet> {
        let net = self.write(|d, s, e| lc::define(d, s, e, &a.xml, 0))?;
        Ok(RemoteNetworkDefineXmlRet { net })
    }
    fn network_define_xml_flags(
        &self,
        a: RemoteNetworkDefineXmlFlagsArgs,
    ) -> R<RemoteNetworkDefineXmlFlagsRet> {
        check_flags(a.flags, lc::VALIDATE, "networkDefineXMLFlags")?;
        let net = self.write(|d, s, e| lc::define(d, s, e, &a.xml, a.flags))?;
        Ok(RemoteNetworkDefineXmlFlagsRet { net })
    }
    fn network_create_xml(&self, a: RemoteNetworkCreateXmlArgs) -> R<RemoteNetworkCreateXmlRet> {
        let net = self.write(|d, s, e| lc::create_xml(d, s, e, &a.xml, 0))?;
        Ok(RemoteNetworkCreateXmlRet { net })
    }
    fn network_create_xml_flags(
        &self,
        a: RemoteNetworkCreateXmlFlagsArgs,
    ) -> R<RemoteNetworkCreateXmlFlagsRet> {
        check_flags(a.flags, lc::VALIDATE, "networkCreateXMLFlags")?;
        let net = self.write(|d, s, e| lc::create_xml(d, s, e, &a.xml, a.flags))?;
        Ok(RemoteNetworkCreateXmlFlagsRet { net })
    }
    fn network_undefine(&self, a: RemoteNetworkUndefineArgs) -> R<()> {
        self.write(|d, s, e| lc::undefine(d, s, e, &a.net))
    }
    fn network_create(&self, a: RemoteNetworkCreateArgs) -> R<()> {
        self.write(|d, s, e| lc::start(d, s, e, &a.net))
    }
    fn network_destroy(&self, a: RemoteNetworkDestroyArgs) -> R<()> {
        self.write(|d, s, e| lc::destroy(d, s, e, &a.net))
    }
    fn network_get_xml_desc(
        &self,
        a: RemoteNetworkGetXmlDescArgs,
    ) -> R<RemoteNetworkGetXmlDescRet> {
        check_flags(a.flags, XML_INACTIVE, "networkGetXMLDesc")?;
        let xml = self.read(&a.net, |n| Ok(n.xml(a.flags & XML_INACTIVE != 0)))?;
        Ok(RemoteNetworkGetXmlDescRet { xml })
    }
    fn network_get_bridge_name(
        &self,
        a: RemoteNetworkGetBridgeNameArgs,
    ) -> R<RemoteNetworkGetBridgeNameRet> {
        let name = self.read(&a.net, |n| {
            n.current().bridge.clone().ok_or_else(|| {
                NetError::Internal(format!(
                    "network '{}' does not have a bridge name.",
                    n.def.name
                ))
                .into()
            })
        })?;
        Ok(RemoteNetworkGetBridgeNameRet { name })
    }
    fn network_get_autostart(
        &self,
        a: RemoteNetworkGetAutostartArgs,
    ) -> R<RemoteNetworkGetAutostartRet> {
        let autostart = self.read(&a.net, |n| Ok(i32::from(n.autostart)))?;
        Ok(RemoteNetworkGetAutostartRet { autostart })
    }
    fn network_set_autostart(&self, a: RemoteNetworkSetAutostartArgs) -> R<()> {
        self.write(|d, s, _| {
            let i = s.find(&a.net)?;
            let n = &mut s.nets[i];
            if !n.persistent {
                return Err(
                    NetError::Invalid("cannot set autostart for transient network".into()).into(),
                );
            }
            let on = a.autostart != 0;
            if n.autostart != on {
                d.set_autostart_link(&n.def.name, on)?;
                n.autostart = on;
            }
            Ok(())
        })
    }
    fn network_is_active(&self, a: RemoteNetworkIsActiveArgs) -> R<RemoteNetworkIsActiveRet> {
        let active = self.read(&a.net, |n| Ok(i32::from(n.is_active())))?;
        Ok(RemoteNetworkIsActiveRet { active })
    }
    fn network_is_persistent(
        &self,
        a: RemoteNetworkIsPersistentArgs,
    ) -> R<RemoteNetworkIsPersistentRet> {
        let persistent = self.read(&a.net, |n| Ok(i32::from(n.persistent)))?;
        Ok(RemoteNetworkIsPersistentRet { persistent })
    }
    fn network_get_dhcp_leases(
        &self,
        a: RemoteNetworkGetDhcpLeasesArgs,
    ) -> R<RemoteNetworkGetDhcpLeasesRet> {
        check_flags(a.flags, 0, "networkGetDHCPLeases")?;
        let leases = self.read(&a.net, |n| {
            Ok(crate::dhcp::leases(&self.drv.cfg, n, a.mac.as_deref()))
        })?;
        let ret = leases.len() as u32;
        let leases = if a.need_results != 0 {
            leases
        } else {
            Vec::new()
        };
        Ok(RemoteNetworkGetDhcpLeasesRet { leases, ret })
    }
    fn network_update(&self, a: RemoteNetworkUpdateArgs) -> R<()> {
        use crate::update::{AFFECT_CONFIG, AFFECT_LIVE};
        check_flags(a.flags, AFFECT_LIVE | AFFECT_CONFIG, "networkUpdate")?;
        self.write(|d, s, _| {
            let i = s.find(&a.net)?;
            let u = lc::Update {
                command: a.command,
                section: a.section,
                parent: a.parent_index,
                xml: &a.xml,
                flags: a.flags,
            };
            lc::update(d, &mut s.nets[i], &u)
        })
    }
    fn network_list_all_ports(
        &self,
        a: RemoteNetworkListAllPortsArgs,
    ) -> R<RemoteNetworkListAllPortsRet> {
        let all = ports::list(&self.drv.lock(), &a.network, a.flags)?;
        let ret = all.len() as u32;
        let ports = if a.need_results != 0 { all } else { Vec::new() };
        Ok(RemoteNetworkListAllPortsRet { ports, ret })
    }
    fn network_port_lookup_by_uuid(
        &self,
        a: RemoteNetworkPortLookupByUuidArgs,
    ) -> R<RemoteNetworkPortLookupByUuidRet> {
        let port = ports::lookup(&self.drv.lock(), &a.network, &a.uuid)?;
        Ok(RemoteNetworkPortLookupByUuidRet { port })
    }
    fn network_port_create_xml(
        &self,
        a: RemoteNetworkPortCreateXmlArgs,
    ) -> R<RemoteNetworkPortCreateXmlRet> {
        let port = self.write(|d, s, _| ports::create(d, s, &a.network, &a.xml, a.flags))?;
        Ok(RemoteNetworkPortCreateXmlRet { port })
    }
    fn network_port_get_parameters(
        &self,
        a: RemoteNetworkPortGetParametersArgs,
    ) -> R<RemoteNetworkPortGetParametersRet> {
        let params = ports::get_parameters(&self.drv.lock(), &a.port, a.flags)?;
        Ok(RemoteNetworkPortGetParametersRet {
            nparams: params.len() as i32,
            params,
        })
    }
    fn network_port_set_parameters(&self, a: RemoteNetworkPortSetParametersArgs) -> R<()> {
        self.write(|d, s, _| ports::set_parameters(d, s, &a.port, &a.params, a.flags))
    }
    fn network_port_get_xml_desc(
        &self,
        a: RemoteNetworkPortGetXmlDescArgs,
    ) -> R<RemoteNetworkPortGetXmlDescRet> {
        let xml = ports::xml_desc(&self.drv.lock(), &a.port, a.flags)?;
        Ok(RemoteNetworkPortGetXmlDescRet { xml })
    }
    fn network_port_delete(&self, a: RemoteNetworkPortDeleteArgs) -> R<()> {
        self.write(|d, s, _| ports::delete(d, s, &a.port, a.flags))
    }
    fn network_set_metadata(&self, a: RemoteNetworkSetMetadataArgs) -> R<()> {
        self.write(|d, s, e| crate::metadata::set(d, s, e, &a))
    }
    fn network_get_metadata(
        &self,
        a: RemoteNetworkGetMetadataArgs,
    ) -> R<RemoteNetworkGetMetadataRet> {
        let metadata = crate::metadata::get(&self.drv.lock(), &a)?;
        Ok(RemoteNetworkGetMetadataRet { metadata })
    }
}
