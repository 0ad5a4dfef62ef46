//! `net-desc` and `net-metadata` on the test driver's networks: the rules of
//! [`rvirt_xml::metadata`] on the definition the AFFECT flags select (libvirt's network
//! object rules), and the network METADATA_CHANGE event.

use rvirt_plugin_api::protocol::facts::network_affect::{CONFIG, LIVE};
use rvirt_plugin_api::protocol::{
    RemoteNetworkGetMetadataArgs, RemoteNetworkSetMetadataArgs, RemoteNonnullNetwork,
};
use rvirt_xml::metadata::{self, MetadataError};
use rvirt_xml::network::NetworkDef;

use crate::error::{check_flags, TestError, TestResult};
use crate::events::Event;
use crate::state::{Inner, Network};

fn net_error(e: MetadataError) -> TestError {
    match e {
        MetadataError::Xml(x) => TestError::Xml(x),
        other => TestError::NetMetadata(other),
    }
}

fn find<'a>(s: &'a mut Inner, r: &RemoteNonnullNetwork) -> TestResult<&'a mut Network> {
    let name = &r.name;
    let k = s
        .networks
        .key_by_name(name)
        .ok_or_else(|| TestError::NoNetwork(format!("no network with matching name '{name}'")))?;
    Ok(&mut s.networks[k])
}

/// The flags with CURRENT resolved and refused where they cannot apply; answers
/// (live, config).
fn impact(n: &Network, flags: u32) -> TestResult<(bool, bool)> {
    let mut flags = flags;
    if flags & (LIVE | CONFIG) == 0 {
        flags |= if n.active { LIVE } else { CONFIG };
    }
    if !n.active && flags & LIVE != 0 {
        return Err(TestError::Invalid("network is not running".into()).into());
    }
    if flags & CONFIG != 0 && !n.persistent {
        return Err(TestError::Invalid(
            "cannot change persistent config of a transient network".into(),
        )
        .into());
    }
    Ok((flags & LIVE != 0, flags & CONFIG != 0))
}

/// NETWORK_SET_METADATA: `def` is the live definition of a running network and the
/// only one of an inactive one; `new_def` the persistent one while running.
pub fn set(
    s: &mut Inner,
    evs: &mut Vec<Event>,
    a: &RemoteNetworkSetMetadataArgs,
) -> TestResult<()> {
    check_flags(a.flags, LIVE | CONFIG, "testNetworkSetMetadata")?;
    let n = find(s, &a.network)?;
    let (live, config) = impact(n, a.flags)?;
    let (value, key, uri) = (a.metadata.as_deref(), a.key.as_deref(), a.uri.as_deref());
    let change = |d: &NetworkDef| -> TestResult<NetworkDef> {
        let mut d = d.clone();
        metadata::set(&mut d, a.r#type, value, key, uri).map_err(net_error)?;
        Ok(d)
    };
    let new_live = (live || !n.active).then(|| change(&n.def)).transpose()?;
    let new_config = match (n.active, config) {
        (true, true) => Some(change(n.new_def.as_ref().unwrap_or(&n.def))?),
        _ => None,
    };
    if let Some(d) = new_live {
        n.def = d;
    }
    if let Some(d) = new_config {
        n.new_def = Some(d);
    }
    let r = RemoteNonnullNetwork {
        name: n.def.name.clone(),
        uuid: n.def.uuid.0,
    };
    evs.push(Event::NetMetadata(r, a.r#type, a.uri.clone()));
    Ok(())
}

/// NETWORK_GET_METADATA.
pub fn get(s: &Inner, a: &RemoteNetworkGetMetadataArgs) -> TestResult<String> {
    check_flags(a.flags, LIVE | CONFIG, "testNetworkGetMetadata")?;
    if a.flags & (LIVE | CONFIG) == LIVE | CONFIG {
        return Err(TestError::InvalidArgText(
            "Flags 'VIR_NETWORK_UPDATE_AFFECT_LIVE' and 'VIR_NETWORK_UPDATE_AFFECT_CONFIG' are mutually exclusive".into(),
        )
        .into());
    }
    let name = &a.network.name;
    let n = s
        .networks
        .by_name(name)
        .ok_or_else(|| TestError::NoNetwork(format!("no network with matching name '{name}'")))?;
    let (_, config) = impact(n, a.flags)?;
    let def = match (n.active, config) {
        (true, true) => n.new_def.as_ref().unwrap_or(&n.def),
        _ => &n.def,
    };
    Ok(metadata::get(def, a.r#type, a.uri.as_deref()).map_err(net_error)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Driver;
    use rvirt_xml::metadata::{DESCRIPTION, ELEMENT};

    fn default_net() -> RemoteNonnullNetwork {
        RemoteNonnullNetwork {
            name: "default".into(),
            uuid: [0; 16],
        }
    }

    fn set_args(
        kind: i32,
        value: Option<&str>,
        uri: Option<&str>,
        flags: u32,
    ) -> RemoteNetworkSetMetadataArgs {
        RemoteNetworkSetMetadataArgs {
            network: default_net(),
            r#type: kind,
            metadata: value.map(str::to_string),
            key: uri.map(|_| "k".to_string()),
            uri: uri.map(str::to_string),
            flags,
        }
    }

    fn get_args(kind: i32, uri: Option<&str>, flags: u32) -> RemoteNetworkGetMetadataArgs {
        RemoteNetworkGetMetadataArgs {
            network: default_net(),
            r#type: kind,
            uri: uri.map(str::to_string),
            flags,
        }
    }

    #[test]
    fn live_and_config_of_the_running_default_network() {
        let d = Driver::new_default();
        d.write(|s, evs| {
            let e = get(s, &get_args(DESCRIPTION, None, 0)).unwrap_err();
            assert_eq!((e.code, e.domain), (111, 19));
            set(s, evs, &set_args(DESCRIPTION, Some("live"), None, 0))?;
            set(
                s,
                evs,
                &set_args(ELEMENT, Some("<x/>"), Some("urn:x"), CONFIG),
            )?;
            assert_eq!(get(s, &get_args(DESCRIPTION, None, LIVE))?, "live");
            // As in libvirt's test driver, a started network gets its own persistent
            // copy only at the first config change, a copy of the live definition then.
            assert_eq!(get(s, &get_args(DESCRIPTION, None, CONFIG))?, "live");
            set(s, evs, &set_args(DESCRIPTION, None, None, LIVE))?;
            assert_eq!(get(s, &get_args(DESCRIPTION, None, CONFIG))?, "live");
            assert!(get(s, &get_args(DESCRIPTION, None, LIVE)).is_err());
            assert_eq!(get(s, &get_args(ELEMENT, Some("urn:x"), CONFIG))?, "<x/>");
            assert!(get(s, &get_args(ELEMENT, Some("urn:x"), 0)).is_err());
            assert_eq!(get(s, &get_args(DESCRIPTION, None, 3)).unwrap_err().code, 8);
            assert_eq!(evs.len(), 3);
            assert_eq!(
                evs[1],
                Event::NetMetadata(
                    RemoteNonnullNetwork {
                        name: "default".into(),
                        uuid: s.networks.by_name("default").unwrap().def.uuid.0,
                    },
                    ELEMENT,
                    Some("urn:x".into())
                )
            );
            Ok(())
        })
        .unwrap();
    }
}
