//! The network driver: virtual networks kept in memory.

use rvirt_plugin_api::protocol::{remote_proc as p, *};
use rvirt_xml::network::NetworkDef;
use rvirt_xml::ParseOptions;

use crate::conn::{impl_connection, Conn};
use crate::error::{check_flags, parse_error, TestError, TestResult};
use crate::events::{obj as ev, Event};
use crate::state::{Inner, Network};
use crate::store::Key;
use rvirt_plugin_api::sdk::domain;

fn net_ref(n: &Network) -> RemoteNonnullNetwork {
    RemoteNonnullNetwork {
        name: n.def.name.clone(),
        uuid: n.def.uuid.0,
    }
}

fn by_name<'a>(s: &'a mut Inner, name: &str) -> TestResult<(Key, &'a mut Network)> {
    let k = s
        .networks
        .key_by_name(name)
        .ok_or_else(|| TestError::NoNetwork(format!("no network with matching name '{name}'")))?;
    Ok((k, &mut s.networks[k]))
}

fn find<'a>(s: &'a Inner, name: &str) -> TestResult<&'a Network> {
    s.networks.by_name(name).ok_or_else(|| {
        TestError::NoNetwork(format!("no network with matching name '{name}'")).into()
    })
}

fn lookup_uuid(s: &Inner, uuid: &[u8; 16]) -> TestResult<RemoteNonnullNetwork> {
    s.networks.by_uuid(uuid).map(net_ref).ok_or_else(|| {
        let u = rvirt_xml::Uuid(*uuid);
        TestError::NoNetwork(format!("no network with matching uuid '{u}'")).into()
    })
}

/// Adds or replaces a network definition, refusing name/UUID clashes like libvirt.
fn assign(s: &mut Inner, def: NetworkDef, live: bool) -> TestResult<Key> {
    if let Some(i) = s.networks.key_by_uuid(&def.uuid.0) {
        let n = &mut s.networks[i];
        if n.def.name != def.name {
            let msg = format!(
                "network '{}' is already defined with uuid {}",
                n.def.name, n.def.uuid
            );
            return Err(TestError::ConfFailed(msg).into());
        }
        if live {
            if n.active {
                return Err(TestError::ConfInvalid(format!(
                    "network is already active as '{}'",
                    n.def.name
                ))
                .into());
            }
            n.new_def = Some(std::mem::replace(&mut n.def, def));
        } else if n.active {
            n.new_def = Some(def);
        } else {
            n.def = def;
        }
        return Ok(i);
    }
    if let Some(n) = s.networks.by_name(&def.name) {
        let msg = format!(
            "network '{}' already exists with uuid {}",
            def.name, n.def.uuid
        );
        return Err(TestError::ConfFailed(msg).into());
    }
    Ok(s.networks.insert(Network {
        def,
        new_def: None,
        active: false,
        persistent: false,
        autostart: false,
    }))
}

/// `VIR_NETWORK_DEFINE_VALIDATE` and `VIR_NETWORK_CREATE_VALIDATE`.
const VALIDATE: u32 = rvirt_plugin_api::protocol::facts::DEFINE_VALIDATE;

/// Parses a definition; parser errors carry libvirt's network error domain unless
/// libvirt reports them from elsewhere (its XML or socket helpers).
fn parse(xml: &str, flags: u32) -> TestResult<NetworkDef> {
    let opts = ParseOptions::validate(flags & VALIDATE != 0);
    NetworkDef::parse_with(xml, opts).map_err(parse_error(domain::NETWORK))
}

pub fn define(
    s: &mut Inner,
    evs: &mut Vec<Event>,
    xml: &str,
    flags: u32,
) -> TestResult<RemoteNonnullNetwork> {
    check_flags(flags, VALIDATE, "testNetworkDefineXMLFlags")?;
    let i = assign(s, parse(xml, flags)?, false)?;
    let n = &mut s.networks[i];
    n.persistent = true;
    evs.push(Event::Network(net_ref(n), ev::DEFINED));
    Ok(net_ref(n))
}

pub fn create_xml(
    s: &mut Inner,
    evs: &mut Vec<Event>,
    xml: &str,
    flags: u32,
) -> TestResult<RemoteNonnullNetwork> {
    check_flags(flags, VALIDATE, "testNetworkCreateXMLFlags")?;
    let i = assign(s, parse(xml, flags)?, true)?;
    let n = &mut s.networks[i];
    n.active = true;
    evs.push(Event::Network(net_ref(n), ev::STARTED));
    Ok(net_ref(n))
}

pub fn undefine(s: &mut Inner, evs: &mut Vec<Event>, name: &str) -> TestResult<()> {
    let (i, n) = by_name(s, name)?;
    if n.active {
        return Err(TestError::Invalid(format!("Network '{name}' is still running")).into());
    }
    evs.push(Event::Network(net_ref(n), ev::UNDEFINED));
    s.networks.remove(i);
    Ok(())
}

pub fn start(s: &mut Inner, evs: &mut Vec<Event>, name: &str) -> TestResult<()> {
    let (_, n) = by_name(s, name)?;
    if n.active {
        return Err(TestError::Invalid(format!("Network '{name}' is already running")).into());
    }
    n.active = true;
    evs.push(Event::Network(net_ref(n), ev::STARTED));
    Ok(())
}

pub fn destroy(s: &mut Inner, evs: &mut Vec<Event>, name: &str) -> TestResult<()> {
    let (i, n) = by_name(s, name)?;
    n.active = false;
    if let Some(d) = n.new_def.take() {
        n.def = d;
    }
    evs.push(Event::Network(net_ref(n), ev::STOPPED));
    if !n.persistent {
        s.networks.remove(i);
    }
    Ok(())
}

/// VIR_CONNECT_LIST_NETWORKS_* filter.
fn matches(n: &Network, flags: u32) -> bool {
    let pair = |yes: u32, no: u32, v: bool| {
        flags & (yes | no) == 0 || (v && flags & yes != 0) || (!v && flags & no != 0)
    };
    pair(2, 1, n.active) && pair(4, 8, n.persistent) && pair(16, 32, n.autostart)
}

pub fn list_all(s: &Inner, flags: u32) -> TestResult<Vec<RemoteNonnullNetwork>> {
    check_flags(flags, 0x3f, "testConnectListAllNetworks")?;
    Ok(s.networks
        .iter()
        .filter(|n| matches(n, flags))
        .map(net_ref)
        .collect())
}

fn names(s: &Inner, active: bool, max: i32) -> Vec<String> {
    s.networks
        .iter()
        .filter(|n| n.active == active)
        .map(|n| n.def.name.clone())
        .take(max.max(0) as usize)
        .collect()
}

/// The network connection.
pub struct NetworkConn(pub Conn);

impl_connection!(NetworkConn);

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
    p::NETWORK_SET_METADATA,
    p::NETWORK_GET_METADATA,
];

type R<T> = Result<T, RemoteError>;

impl RemoteHandler for NetworkConn {
    fn connect_num_of_networks(&self) -> R<RemoteConnectNumOfNetworksRet> {
        self.0.read(|s| {
            Ok(RemoteConnectNumOfNetworksRet {
                num: names(s, true, i32::MAX).len() as i32,
            })
        })
    }
    fn connect_list_networks(
        &self,
        a: RemoteConnectListNetworksArgs,
    ) -> R<RemoteConnectListNetworksRet> {
        self.0.read(|s| {
            Ok(RemoteConnectListNetworksRet {
                names: names(s, true, a.maxnames),
            })
        })
    }
    fn connect_num_of_defined_networks(&self) -> R<RemoteConnectNumOfDefinedNetworksRet> {
        self.0.read(|s| {
            Ok(RemoteConnectNumOfDefinedNetworksRet {
                num: names(s, false, i32::MAX).len() as i32,
            })
        })
    }
    fn connect_list_defined_networks(
        &self,
        a: RemoteConnectListDefinedNetworksArgs,
    ) -> R<RemoteConnectListDefinedNetworksRet> {
        self.0.read(|s| {
            Ok(RemoteConnectListDefinedNetworksRet {
                names: names(s, false, a.maxnames),
            })
        })
    }
    fn connect_list_all_networks(
        &self,
        a: RemoteConnectListAllNetworksArgs,
    ) -> R<RemoteConnectListAllNetworksRet> {
        self.0.read(|s| {
            let nets = list_all(s, a.flags)?;
            Ok(RemoteConnectListAllNetworksRet {
                ret: nets.len() as u32,
                nets,
            })
        })
    }
    fn network_lookup_by_name(
        &self,
        a: RemoteNetworkLookupByNameArgs,
    ) -> R<RemoteNetworkLookupByNameRet> {
        self.0.read(|s| {
            Ok(RemoteNetworkLookupByNameRet {
                net: net_ref(find(s, &a.name)?),
            })
        })
    }
    fn network_lookup_by_uuid(
        &self,
        a: RemoteNetworkLookupByUuidArgs,
    ) -> R<RemoteNetworkLookupByUuidRet> {
        self.0.read(|s| {
            Ok(RemoteNetworkLookupByUuidRet {
                net: lookup_uuid(s, &a.uuid)?,
            })
        })
    }
    fn network_define_xml(&self, a: RemoteNetworkDefineXmlArgs) -> R<RemoteNetworkDefineXmlRet> {
        self.0.write(|s, e| {
            Ok(RemoteNetworkDefineXmlRet {
                net: define(s, e, &a.xml, 0)?,
            })
        })
    }
    fn network_define_xml_flags(
        &self,
        a: RemoteNetworkDefineXmlFlagsArgs,
    ) -> R<RemoteNetworkDefineXmlFlagsRet> {
        self.0.write(|s, e| {
            Ok(RemoteNetworkDefineXmlFlagsRet {
                net: define(s, e, &a.xml, a.flags)?,
            })
        })
    }
    fn network_create_xml(&self, a: RemoteNetworkCreateXmlArgs) -> R<RemoteNetworkCreateXmlRet> {
        self.0.write(|s, e| {
            Ok(RemoteNetworkCreateXmlRet {
                net: create_xml(s, e, &a.xml, 0)?,
            })
        })
    }
    fn network_create_xml_flags(
        &self,
        a: RemoteNetworkCreateXmlFlagsArgs,
    ) -> R<RemoteNetworkCreateXmlFlagsRet> {
        self.0.write(|s, e| {
            Ok(RemoteNetworkCreateXmlFlagsRet {
                net: create_xml(s, e, &a.xml, a.flags)?,
            })
        })
    }
    fn network_undefine(&self, a: RemoteNetworkUndefineArgs) -> R<()> {
        self.0.write(|s, e| undefine(s, e, &a.net.name))
    }
    fn network_create(&self, a: RemoteNetworkCreateArgs) -> R<()> {
        self.0.write(|s, e| start(s, e, &a.net.name))
    }
    fn network_destroy(&self, a: RemoteNetworkDestroyArgs) -> R<()> {
        self.0.write(|s, e| destroy(s, e, &a.net.name))
    }
    fn network_get_xml_desc(
        &self,
        a: RemoteNetworkGetXmlDescArgs,
    ) -> R<RemoteNetworkGetXmlDescRet> {
        check_flags(a.flags, 0, "testNetworkGetXMLDesc")?;
        self.0.read(|s| {
            Ok(RemoteNetworkGetXmlDescRet {
                xml: find(s, &a.net.name)?.def.to_xml(),
            })
        })
    }
    fn network_get_bridge_name(
        &self,
        a: RemoteNetworkGetBridgeNameArgs,
    ) -> R<RemoteNetworkGetBridgeNameRet> {
        self.0.read(|s| {
            let n = find(s, &a.net.name)?;
            let name = n.def.bridge.clone().ok_or_else(|| {
                TestError::Internal(format!(
                    "network '{}' does not have a bridge name.",
                    n.def.name
                ))
            })?;
            Ok(RemoteNetworkGetBridgeNameRet { name })
        })
    }
    fn network_get_autostart(
        &self,
        a: RemoteNetworkGetAutostartArgs,
    ) -> R<RemoteNetworkGetAutostartRet> {
        self.0.read(|s| {
            Ok(RemoteNetworkGetAutostartRet {
                autostart: find(s, &a.net.name)?.autostart as i32,
            })
        })
    }
    fn network_set_autostart(&self, a: RemoteNetworkSetAutostartArgs) -> R<()> {
        self.0.write(|s, _| {
            by_name(s, &a.net.name)?.1.autostart = a.autostart != 0;
            Ok(())
        })
    }
    fn network_is_active(&self, a: RemoteNetworkIsActiveArgs) -> R<RemoteNetworkIsActiveRet> {
        self.0.read(|s| {
            Ok(RemoteNetworkIsActiveRet {
                active: find(s, &a.net.name)?.active as i32,
            })
        })
    }
    fn network_is_persistent(
        &self,
        a: RemoteNetworkIsPersistentArgs,
    ) -> R<RemoteNetworkIsPersistentRet> {
        self.0.read(|s| {
            Ok(RemoteNetworkIsPersistentRet {
                persistent: find(s, &a.net.name)?.persistent as i32,
            })
        })
    }
    fn network_set_metadata(&self, a: RemoteNetworkSetMetadataArgs) -> R<()> {
        self.0.write(|s, e| crate::net_metadata::set(s, e, &a))
    }
    fn network_get_metadata(
        &self,
        a: RemoteNetworkGetMetadataArgs,
    ) -> R<RemoteNetworkGetMetadataRet> {
        let metadata = self.0.read(|s| crate::net_metadata::get(s, &a))?;
        Ok(RemoteNetworkGetMetadataRet { metadata })
    }
    fn network_get_dhcp_leases(
        &self,
        a: RemoteNetworkGetDhcpLeasesArgs,
    ) -> R<RemoteNetworkGetDhcpLeasesRet> {
        check_flags(a.flags, 0, "testNetworkGetDHCPLeases")?;
        self.0.read(|s| {
            find(s, &a.net.name)?;
            Ok(RemoteNetworkGetDhcpLeasesRet {
                leases: Vec::new(),
                ret: 0,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Driver;

    const NET: &str = "<network><name>n2</name><uuid>dd8fe884-6c02-601e-7551-cca97df1c5d0</uuid>\
        <bridge name='virbr9'/></network>";

    #[test]
    fn default_network_and_lifecycle() {
        let d = Driver::new_default();
        d.write(|s, e| {
            assert_eq!(list_all(s, 0)?.len(), 1);
            assert_eq!(list_all(s, 1)?.len(), 0);
            let r = define(s, e, NET, 0)?;
            assert_eq!(list_all(s, 1)?, std::slice::from_ref(&r));
            start(s, e, "n2")?;
            assert_eq!(
                start(s, e, "n2").unwrap_err().text(),
                "Requested operation is not valid: Network 'n2' is already running"
            );
            assert_eq!(undefine(s, e, "n2").unwrap_err().code, 55);
            destroy(s, e, "n2")?;
            undefine(s, e, "n2")?;
            assert_eq!(
                find(s, "n2").unwrap_err().text(),
                "Network not found: no network with matching name 'n2'"
            );
            assert_eq!(
                *e,
                [
                    Event::Network(r.clone(), ev::DEFINED),
                    Event::Network(r.clone(), ev::STARTED),
                    Event::Network(r.clone(), ev::STOPPED),
                    Event::Network(r, ev::UNDEFINED),
                ]
            );
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn default_network_xml_matches_fixture() {
        let d = Driver::new_default();
        let want = crate::testutil::fixture("net-dumpxml-default.txt");
        assert_eq!(
            d.read(|s| Ok(find(s, "default")?.def.to_xml())).unwrap(),
            want
        );
    }

    #[test]
    fn transient_network_disappears_on_destroy() {
        let d = Driver::new_default();
        d.write(|s, e| {
            create_xml(s, e, NET, 0)?;
            assert_eq!(list_all(s, 8)?.len(), 1);
            destroy(s, e, "n2")?;
            assert!(find(s, "n2").is_err());
            Ok(())
        })
        .unwrap();
    }
}
