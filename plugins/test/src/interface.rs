//! The interface driver: host network interfaces, kept in memory.
//!
//! rvirt's XML crate has no typed interface definition, so a definition is kept as its
//! element tree after the checks libvirt's parser makes (type, name, start mode, MTU,
//! protocol families, the element each type needs). Formatting follows libvirt's
//! element order: `<start>`, `<mtu>`, `<protocol>`, `<link>`, then `<mac>` (ethernet
//! only) or the type's own `<bridge>` / `<bond>` / `<vlan>`; other content is dropped.
//!
//! Like libvirt's test driver, interfaces have no events, and a node file's interfaces
//! start active. `INTERFACE_CHANGE_*` snapshot and restore the whole list.

use rvirt_plugin_api::protocol::{remote_proc as p, *};
use rvirt_xml::out::{Attrs, Out};
use rvirt_xml::tree::{parse_root, Element};

use crate::conn::{impl_connection, Conn};
use crate::error::{check_flags, parse_error, TestError, TestResult};
use crate::state::Inner;
use rvirt_plugin_api::sdk::domain;

/// One host interface.
#[derive(Debug, Clone, PartialEq)]
pub struct Interface {
    /// The definition, in libvirt's element order.
    pub def: Element,
    pub name: String,
    /// `<mac address>` of an ethernet interface.
    pub mac: Option<String>,
    pub active: bool,
}

/// `virInterfaceType` names.
const TYPES: [&str; 4] = ["ethernet", "bridge", "bond", "vlan"];

fn xml_err(msg: impl Into<String>) -> RemoteError {
    TestError::InterfaceXml(msg.into()).into()
}

/// The children libvirt keeps for a top-level interface of type `ty`, in its order.
fn kept_children(ty: &str) -> Vec<&'static str> {
    let mut names = vec!["start", "mtu", "protocol"];
    if ty != "bridge" {
        names.push("link");
    }
    names.push(match ty {
        "ethernet" => "mac",
        "bridge" => "bridge",
        "bond" => "bond",
        _ => "vlan",
    });
    names
}

impl Interface {
    /// Checks a top-level `<interface>` element as libvirt's parser does and keeps it.
    pub fn from_element(e: &Element) -> TestResult<Interface> {
        let ty = e
            .attr("type")
            .ok_or_else(|| xml_err("Missing required attribute 'type' in element 'interface'"))?;
        if !TYPES.contains(&ty) {
            return Err(xml_err(format!(
                "Invalid value for attribute 'type' in element 'interface': '{ty}'."
            )));
        }
        let name = e
            .attr("name")
            .ok_or_else(|| xml_err("interface has no name"))?
            .to_string();
        if let Some(mode) = e.child("start").and_then(|s| s.attr("mode")) {
            if !["onboot", "hotplug", "none"].contains(&mode) {
                return Err(xml_err(format!("unknown interface startmode {mode}")));
            }
        }
        if let Some(size) = e.child("mtu").and_then(|m| m.attr("size")) {
            let v: u64 = size.trim().parse().map_err(|_| {
                xml_err(format!(
                    "invalid value '{size}' of the 'size' attribute of 'mtu' element"
                ))
            })?;
            if v > 100_000 {
                return Err(xml_err(
                    "value of the 'size' attribute of 'mtu' element must be at most 100000",
                ));
            }
        }
        for proto in e.children_named("protocol") {
            match proto.attr("family") {
                None => return Err(xml_err("protocol misses the family attribute")),
                Some("ipv4" | "ipv6") => {}
                Some(f) => return Err(xml_err(format!("unsupported protocol family '{f}'"))),
            }
        }
        if ty != "ethernet" && e.child(ty).is_none() {
            return Err(xml_err(format!("{ty} interface misses the {ty} element")));
        }
        let mac = match ty {
            "ethernet" => e
                .child("mac")
                .and_then(|m| m.attr("address"))
                .filter(|a| !a.is_empty())
                .map(str::to_string),
            _ => None,
        };
        let mut def = Element {
            name: "interface".into(),
            attrs: vec![("type".into(), ty.into()), ("name".into(), name.clone())],
            ..Element::default()
        };
        for child in kept_children(ty) {
            let wanted = |c: &&Element| {
                c.name == child
                    && match child {
                        "start" => c.attr("mode").is_some(),
                        "mtu" => c.attr("size").is_some_and(|s| s.trim() != "0"),
                        "mac" => mac.is_some(),
                        _ => true,
                    }
            };
            let found: Vec<Element> = e.children.iter().filter(wanted).cloned().collect();
            // One of each, except protocols (one per family).
            let take = if child == "protocol" { found.len() } else { 1 };
            def.children.extend(found.into_iter().take(take));
        }
        Ok(Interface {
            def,
            name,
            mac,
            active: false,
        })
    }

    /// Parses an interface document.
    pub fn parse(xml: &str) -> TestResult<Interface> {
        let e = parse_root(xml, "interface").map_err(parse_error(domain::INTERFACE))?;
        Interface::from_element(&e)
    }

    /// The definition as libvirt formats it.
    pub fn to_xml(&self) -> String {
        let mut out = Out::new();
        let mut attrs = Attrs::new();
        for (k, v) in &self.def.attrs {
            attrs = attrs.add(k, v);
        }
        out.open("interface", &attrs);
        for c in &self.def.children {
            c.write(&mut out);
        }
        out.close("interface");
        out.finish()
    }

    pub fn iface_ref(&self) -> RemoteNonnullInterface {
        RemoteNonnullInterface {
            name: self.name.clone(),
            mac: self.mac.clone().unwrap_or_default(),
        }
    }
}

fn position(s: &Inner, name: &str) -> TestResult<usize> {
    s.interfaces
        .iter()
        .position(|i| i.name == name)
        .ok_or_else(|| {
            TestError::NoInterface(format!("no interface with matching name '{name}'")).into()
        })
}

pub fn find<'a>(s: &'a Inner, name: &str) -> TestResult<&'a Interface> {
    Ok(&s.interfaces[position(s, name)?])
}

/// INTERFACE_LOOKUP_BY_MAC_STRING: the one interface with that MAC (any case).
pub fn lookup_mac(s: &Inner, mac: &str) -> TestResult<RemoteNonnullInterface> {
    let mut hits = s.interfaces.iter().filter(|i| {
        i.mac
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case(mac))
    });
    match (hits.next(), hits.next()) {
        (None, _) => {
            Err(TestError::NoInterface(format!("no interface with matching mac '{mac}'")).into())
        }
        (Some(_), Some(_)) => Err(TestError::MultipleInterfaces.into()),
        // libvirt answers with the MAC as the caller spelled it.
        (Some(i), None) => Ok(RemoteNonnullInterface {
            name: i.name.clone(),
            mac: mac.to_string(),
        }),
    }
}

/// `VIR_INTERFACE_DEFINE_VALIDATE`.
const DEFINE_VALIDATE: u32 = rvirt_plugin_api::protocol::facts::DEFINE_VALIDATE;

/// INTERFACE_DEFINE_XML: adds an inactive interface or replaces a definition (keeping
/// its state).
pub fn define(s: &mut Inner, xml: &str, flags: u32) -> TestResult<RemoteNonnullInterface> {
    check_flags(flags, DEFINE_VALIDATE, "testInterfaceDefineXML")?;
    let new = Interface::parse(xml)?;
    let r = new.iface_ref();
    match s.interfaces.iter_mut().find(|i| i.name == new.name) {
        Some(old) => {
            old.def = new.def;
            old.mac = new.mac;
        }
        None => s.interfaces.push(new),
    }
    Ok(r)
}

pub fn undefine(s: &mut Inner, name: &str) -> TestResult<()> {
    let i = position(s, name)?;
    s.interfaces.remove(i);
    Ok(())
}

/// INTERFACE_CREATE / INTERFACE_DESTROY.
pub fn set_active(s: &mut Inner, name: &str, active: bool, flags: u32) -> TestResult<()> {
    let func = if active {
        "testInterfaceCreate"
    } else {
        "testInterfaceDestroy"
    };
    check_flags(flags, 0, func)?;
    let i = position(s, name)?;
    let iface = &mut s.interfaces[i];
    if iface.active == active {
        return Err(TestError::InvalidBare.into());
    }
    iface.active = active;
    Ok(())
}

/// VIR_CONNECT_LIST_INTERFACES_{INACTIVE,ACTIVE} filter.
fn matches(i: &Interface, flags: u32) -> bool {
    use rvirt_plugin_api::protocol::facts::interface_list as l;
    flags & (l::ACTIVE | l::INACTIVE) == 0
        || (i.active && flags & l::ACTIVE != 0)
        || (!i.active && flags & l::INACTIVE != 0)
}

pub fn list_all(s: &Inner, flags: u32) -> TestResult<Vec<RemoteNonnullInterface>> {
    check_flags(flags, 3, "testConnectListAllInterfaces")?;
    Ok(s.interfaces
        .iter()
        .filter(|i| matches(i, flags))
        .map(Interface::iface_ref)
        .collect())
}

fn names(s: &Inner, active: bool, max: i32) -> Vec<String> {
    s.interfaces
        .iter()
        .filter(|i| i.active == active)
        .map(|i| i.name.clone())
        .take(max.max(0) as usize)
        .collect()
}

/// INTERFACE_CHANGE_BEGIN: remembers the current interfaces.
pub fn change_begin(s: &mut Inner, flags: u32) -> TestResult<()> {
    check_flags(flags, 0, "testInterfaceChangeBegin")?;
    if s.iface_backup.is_some() {
        return Err(TestError::Invalid("there is another transaction running.".into()).into());
    }
    s.iface_backup = Some(s.interfaces.clone());
    Ok(())
}

/// INTERFACE_CHANGE_COMMIT / INTERFACE_CHANGE_ROLLBACK.
pub fn change_end(s: &mut Inner, rollback: bool, flags: u32) -> TestResult<()> {
    let (func, what) = if rollback {
        ("testInterfaceChangeRollback", "nothing to rollback.")
    } else {
        ("testInterfaceChangeCommit", "nothing to be committed.")
    };
    check_flags(flags, 0, func)?;
    let Some(backup) = s.iface_backup.take() else {
        return Err(TestError::Invalid(format!("no transaction running, {what}")).into());
    };
    if rollback {
        s.interfaces = backup;
    }
    Ok(())
}

/// The interface connection.
pub struct InterfaceConn(pub Conn);

impl_connection!(InterfaceConn);

/// Procedures this driver implements (`tests::declared_procedures_are_the_implemented_ones`
/// in lib.rs proves the list and the handler agree).
pub const PROCEDURES: &[i32] = &[
    p::CONNECT_NUM_OF_INTERFACES,
    p::CONNECT_LIST_INTERFACES,
    p::CONNECT_NUM_OF_DEFINED_INTERFACES,
    p::CONNECT_LIST_DEFINED_INTERFACES,
    p::CONNECT_LIST_ALL_INTERFACES,
    p::INTERFACE_LOOKUP_BY_NAME,
    p::INTERFACE_LOOKUP_BY_MAC_STRING,
    p::INTERFACE_GET_XML_DESC,
    p::INTERFACE_DEFINE_XML,
    p::INTERFACE_UNDEFINE,
    p::INTERFACE_CREATE,
    p::INTERFACE_DESTROY,
    p::INTERFACE_IS_ACTIVE,
    p::INTERFACE_CHANGE_BEGIN,
    p::INTERFACE_CHANGE_COMMIT,
    p::INTERFACE_CHANGE_ROLLBACK,
];

type R<T> = Result<T, RemoteError>;

impl RemoteHandler for InterfaceConn {
    fn connect_num_of_interfaces(&self) -> R<RemoteConnectNumOfInterfacesRet> {
        self.0.read(|s| {
            Ok(RemoteConnectNumOfInterfacesRet {
                num: names(s, true, i32::MAX).len() as i32,
            })
        })
    }
    fn connect_list_interfaces(
        &self,
        a: RemoteConnectListInterfacesArgs,
    ) -> R<RemoteConnectListInterfacesRet> {
        self.0.read(|s| {
            Ok(RemoteConnectListInterfacesRet {
                names: names(s, true, a.maxnames),
            })
        })
    }
    fn connect_num_of_defined_interfaces(&self) -> R<RemoteConnectNumOfDefinedInterfacesRet> {
        self.0.read(|s| {
            Ok(RemoteConnectNumOfDefinedInterfacesRet {
                num: names(s, false, i32::MAX).len() as i32,
            })
        })
    }
    fn connect_list_defined_interfaces(
        &self,
        a: RemoteConnectListDefinedInterfacesArgs,
    ) -> R<RemoteConnectListDefinedInterfacesRet> {
        self.0.read(|s| {
            Ok(RemoteConnectListDefinedInterfacesRet {
                names: names(s, false, a.maxnames),
            })
        })
    }
    fn connect_list_all_interfaces(
        &self,
        a: RemoteConnectListAllInterfacesArgs,
    ) -> R<RemoteConnectListAllInterfacesRet> {
        self.0.read(|s| {
            let mut ifaces = list_all(s, a.flags)?;
            let ret = ifaces.len() as u32;
            if a.need_results == 0 {
                ifaces.clear();
            }
            Ok(RemoteConnectListAllInterfacesRet { ifaces, ret })
        })
    }
    fn interface_lookup_by_name(
        &self,
        a: RemoteInterfaceLookupByNameArgs,
    ) -> R<RemoteInterfaceLookupByNameRet> {
        self.0.read(|s| {
            Ok(RemoteInterfaceLookupByNameRet {
                iface: find(s, &a.name)?.iface_ref(),
            })
        })
    }
    fn interface_lookup_by_mac_string(
        &self,
        a: RemoteInterfaceLookupByMacStringArgs,
    ) -> R<RemoteInterfaceLookupByMacStringRet> {
        self.0.read(|s| {
            Ok(RemoteInterfaceLookupByMacStringRet {
                iface: lookup_mac(s, &a.mac)?,
            })
        })
    }
    fn interface_get_xml_desc(
        &self,
        a: RemoteInterfaceGetXmlDescArgs,
    ) -> R<RemoteInterfaceGetXmlDescRet> {
        check_flags(a.flags, 0, "testInterfaceGetXMLDesc")?;
        self.0.read(|s| {
            Ok(RemoteInterfaceGetXmlDescRet {
                xml: find(s, &a.iface.name)?.to_xml(),
            })
        })
    }
    fn interface_define_xml(
        &self,
        a: RemoteInterfaceDefineXmlArgs,
    ) -> R<RemoteInterfaceDefineXmlRet> {
        self.0.write(|s, _| {
            Ok(RemoteInterfaceDefineXmlRet {
                iface: define(s, &a.xml, a.flags)?,
            })
        })
    }
    fn interface_undefine(&self, a: RemoteInterfaceUndefineArgs) -> R<()> {
        self.0.write(|s, _| undefine(s, &a.iface.name))
    }
    fn interface_create(&self, a: RemoteInterfaceCreateArgs) -> R<()> {
        self.0
            .write(|s, _| set_active(s, &a.iface.name, true, a.flags))
    }
    fn interface_destroy(&self, a: RemoteInterfaceDestroyArgs) -> R<()> {
        self.0
            .write(|s, _| set_active(s, &a.iface.name, false, a.flags))
    }
    fn interface_is_active(&self, a: RemoteInterfaceIsActiveArgs) -> R<RemoteInterfaceIsActiveRet> {
        self.0.read(|s| {
            Ok(RemoteInterfaceIsActiveRet {
                active: find(s, &a.iface.name)?.active as i32,
            })
        })
    }
    fn interface_change_begin(&self, a: RemoteInterfaceChangeBeginArgs) -> R<()> {
        self.0.write(|s, _| change_begin(s, a.flags))
    }
    fn interface_change_commit(&self, a: RemoteInterfaceChangeCommitArgs) -> R<()> {
        self.0.write(|s, _| change_end(s, false, a.flags))
    }
    fn interface_change_rollback(&self, a: RemoteInterfaceChangeRollbackArgs) -> R<()> {
        self.0.write(|s, _| change_end(s, true, a.flags))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Driver;

    const ETH1_XML: &str = "<interface type='ethernet' name='eth1'>
  <start mode='onboot'/>
  <mtu size='1492'/>
  <protocol family='ipv4'>
    <ip address='192.168.0.5' prefix='24'/>
    <route gateway='192.168.0.1'/>
  </protocol>
  <mac address='aa:bb:cc:dd:ee:ff'/>
</interface>
";

    const BR: &str = "<interface type='bridge' name='br0'><start mode='none'/>\
        <mac address='11:22:33:44:55:66'/><bridge stp='off'>\
        <interface type='ethernet' name='eth0'/></bridge></interface>";

    #[test]
    fn default_interface_matches_libvirt() {
        let d = Driver::new_default();
        d.read(|s| {
            assert_eq!(s.interfaces.len(), 1);
            let eth1 = find(s, "eth1")?;
            assert!(eth1.active);
            assert_eq!(
                eth1.iface_ref(),
                RemoteNonnullInterface {
                    name: "eth1".into(),
                    mac: "aa:bb:cc:dd:ee:ff".into()
                }
            );
            assert_eq!(eth1.to_xml(), ETH1_XML);
            assert_eq!(list_all(s, 2)?.len(), 1);
            assert_eq!(list_all(s, 1)?.len(), 0);
            assert_eq!(list_all(s, 3)?.len(), 1);
            assert_eq!(
                list_all(s, 4).unwrap_err().text(),
                "unsupported flags (0x4) in function testConnectListAllInterfaces"
            );
            assert_eq!(names(s, true, 10), ["eth1"]);
            assert!(names(s, false, 10).is_empty());
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn iface_list_fixture_rows() {
        let want = crate::testutil::fixture("iface-list.txt");
        let d = Driver::new_default();
        let row = d
            .read(|s| {
                let i = &list_all(s, 3)?[0];
                let active = find(s, &i.name)?.active;
                Ok(format!(
                    " {}   {}   {}",
                    i.name,
                    if active { "active" } else { "inactive" },
                    i.mac
                ))
            })
            .unwrap();
        assert!(want.lines().any(|l| l == row), "{row:?} not in {want}");
    }

    #[test]
    fn lookup_by_mac() {
        let d = Driver::new_default();
        d.write(|s, _| {
            let r = lookup_mac(s, "AA:BB:CC:DD:EE:FF")?;
            assert_eq!((r.name.as_str(), r.mac.as_str()), ("eth1", "AA:BB:CC:DD:EE:FF"));
            let e = lookup_mac(s, "00:00:00:00:00:00").unwrap_err();
            assert_eq!((e.code, e.domain), (57, 12));
            assert_eq!(
                e.text(),
                "Interface not found: no interface with matching mac '00:00:00:00:00:00'"
            );
            define(
                s,
                "<interface type='ethernet' name='eth2'><mac address='aa:bb:cc:dd:ee:ff'/></interface>",
                0,
            )?;
            let e = lookup_mac(s, "aa:bb:cc:dd:ee:ff").unwrap_err();
            assert_eq!(
                (e.code, e.text()),
                (60, "multiple matching interfaces found")
            );
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn define_start_stop_undefine() {
        let d = Driver::new_default();
        d.write(|s, _| {
            let r = define(s, BR, 0)?;
            // Only ethernet interfaces carry a MAC.
            assert_eq!((r.name.as_str(), r.mac.as_str()), ("br0", ""));
            assert!(!find(s, "br0")?.active);
            assert_eq!(names(s, false, 10), ["br0"]);
            assert_eq!(
                find(s, "br0")?.to_xml(),
                "<interface type='bridge' name='br0'>\n  <start mode='none'/>\n  \
                 <bridge stp='off'>\n    <interface type='ethernet' name='eth0'/>\n  \
                 </bridge>\n</interface>\n"
            );
            set_active(s, "br0", true, 0)?;
            let e = set_active(s, "br0", true, 0).unwrap_err();
            assert_eq!((e.code, e.text()), (55, "Requested operation is not valid"));
            // Redefining keeps the state.
            define(s, BR, 0)?;
            assert!(find(s, "br0")?.active);
            set_active(s, "br0", false, 0)?;
            assert!(set_active(s, "br0", false, 0).is_err());
            assert_eq!(
                set_active(s, "br0", true, 1).unwrap_err().text(),
                "unsupported flags (0x1) in function testInterfaceCreate"
            );
            undefine(s, "br0")?;
            let e = find(s, "br0").unwrap_err();
            assert_eq!(
                (e.code, e.text()),
                (
                    57,
                    "Interface not found: no interface with matching name 'br0'"
                )
            );
            // An active interface can be undefined too.
            undefine(s, "eth1")?;
            assert!(s.interfaces.is_empty());
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn parser_refusals() {
        for (xml, msg) in [
            (
                "<interface name='x'/>",
                "XML error: Missing required attribute 'type' in element 'interface'",
            ),
            (
                "<interface type='wifi' name='x'/>",
                "XML error: Invalid value for attribute 'type' in element 'interface': 'wifi'.",
            ),
            (
                "<interface type='ethernet'/>",
                "XML error: interface has no name",
            ),
            (
                "<interface type='bridge' name='b'/>",
                "XML error: bridge interface misses the bridge element",
            ),
            (
                "<interface type='ethernet' name='e'><start mode='never'/></interface>",
                "XML error: unknown interface startmode never",
            ),
            (
                "<interface type='ethernet' name='e'><mtu size='100001'/></interface>",
                "XML error: value of the 'size' attribute of 'mtu' element must be at most 100000",
            ),
            (
                "<interface type='ethernet' name='e'><protocol family='ipx'/></interface>",
                "XML error: unsupported protocol family 'ipx'",
            ),
        ] {
            let e = Interface::parse(xml).unwrap_err();
            assert_eq!((e.code, e.domain), (27, 26), "{xml}");
            assert_eq!(e.text(), msg, "{xml}");
        }
        let e = Interface::parse("<interface").unwrap_err();
        assert_eq!((e.code, e.domain), (35, 26), "malformed");
        assert!(
            e.text().starts_with("(interface_definition):1: "),
            "{}",
            e.text()
        );
        let d = Driver::new_default();
        assert_eq!(
            d.write(|s, _| define(s, BR, 2)).unwrap_err().text(),
            "unsupported flags (0x2) in function testInterfaceDefineXML"
        );
    }

    #[test]
    fn transactions() {
        let d = Driver::new_default();
        d.write(|s, _| {
            assert_eq!(
                change_end(s, false, 0).unwrap_err().text(),
                "Requested operation is not valid: no transaction running, nothing to be committed."
            );
            assert_eq!(
                change_end(s, true, 0).unwrap_err().text(),
                "Requested operation is not valid: no transaction running, nothing to rollback."
            );
            change_begin(s, 0)?;
            assert_eq!(
                change_begin(s, 0).unwrap_err().text(),
                "Requested operation is not valid: there is another transaction running."
            );
            undefine(s, "eth1")?;
            change_end(s, true, 0)?;
            assert!(find(s, "eth1")?.active);
            change_begin(s, 0)?;
            define(s, BR, 0)?;
            change_end(s, false, 0)?;
            assert_eq!(s.interfaces.len(), 2);
            Ok(())
        })
        .unwrap();
    }
}
