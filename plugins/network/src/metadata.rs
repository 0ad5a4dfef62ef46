//! `virNetworkSetMetadata` / `virNetworkGetMetadata` (`net-desc`, `net-metadata`): the
//! rules of [`rvirt_xml::metadata`] on the definitions the AFFECT flags select, as
//! libvirt's network object applies them, and the METADATA_CHANGE event each change
//! sends.

use rvirt_plugin_api::protocol::facts::network_affect::{CONFIG, LIVE};
use rvirt_plugin_api::protocol::{RemoteNetworkGetMetadataArgs, RemoteNetworkSetMetadataArgs};
use rvirt_xml::metadata::{self, MetadataError};
use rvirt_xml::network::NetworkDef;

use crate::error::{check_flags, NResult, NetError};
use crate::state::{Driver, Event, Inner, Net};

impl From<MetadataError> for NetError {
    fn from(e: MetadataError) -> NetError {
        match e {
            MetadataError::Xml(x) => NetError::Xml(x),
            other => NetError::Metadata(other),
        }
    }
}

/// The flags with CURRENT resolved, refused where they cannot apply
/// (`virNetworkObjUpdateModificationImpact`): answers (live, config).
fn impact(n: &Net, flags: u32) -> NResult<(bool, bool)> {
    let mut flags = flags;
    if flags & (LIVE | CONFIG) == 0 {
        flags |= if n.is_active() { LIVE } else { CONFIG };
    }
    if !n.is_active() && flags & LIVE != 0 {
        return Err(NetError::Invalid("network is not running".into()).into());
    }
    if flags & CONFIG != 0 && !n.persistent {
        return Err(NetError::Invalid(
            "cannot change persistent config of a transient network".into(),
        )
        .into());
    }
    Ok((flags & LIVE != 0, flags & CONFIG != 0))
}

/// The persistent definition: the one saved while running, else the defined one.
fn persistent(n: &Net) -> &NetworkDef {
    n.next_def.as_ref().unwrap_or(&n.def)
}

/// NETWORK_SET_METADATA. Both definitions are changed on copies first, so a refused
/// change leaves neither touched; the live one goes to the status file, the persistent
/// one to the config file.
pub fn set(
    drv: &Driver,
    s: &mut Inner,
    evs: &mut Vec<Event>,
    a: &RemoteNetworkSetMetadataArgs,
) -> NResult<()> {
    check_flags(a.flags, LIVE | CONFIG, "networkSetMetadata")?;
    let i = s.find(&a.network)?;
    let n = &mut s.nets[i];
    let (live, config) = impact(n, a.flags)?;
    let (value, key, uri) = (a.metadata.as_deref(), a.key.as_deref(), a.uri.as_deref());
    let change = |d: &NetworkDef| -> NResult<NetworkDef> {
        let mut d = d.clone();
        metadata::set(&mut d, a.r#type, value, key, uri).map_err(NetError::from)?;
        Ok(d)
    };
    let new_live = match (&n.run, live) {
        (Some(r), true) => Some(change(&r.live)?),
        _ => None,
    };
    let new_config = if config || !n.is_active() {
        Some(change(persistent(n))?)
    } else {
        None
    };
    if let Some(c) = new_config {
        drv.save_config(&c)?;
        if n.is_active() {
            n.next_def = Some(c);
        } else {
            n.def = c;
        }
    }
    if let (Some(l), Some(run)) = (new_live, n.run.as_mut()) {
        run.live = l;
        run.status.xml = run.live.to_xml();
        drv.save_status(&run.live.name, &run.status)?;
    }
    evs.push(Event::Metadata(n.reference(), a.r#type, a.uri.clone()));
    Ok(())
}

/// NETWORK_GET_METADATA, from the one definition the flags select.
pub fn get(s: &Inner, a: &RemoteNetworkGetMetadataArgs) -> NResult<String> {
    check_flags(a.flags, LIVE | CONFIG, "networkGetMetadata")?;
    if a.flags & (LIVE | CONFIG) == LIVE | CONFIG {
        return Err(NetError::ArgText(
            "Flags 'VIR_NETWORK_UPDATE_AFFECT_LIVE' and 'VIR_NETWORK_UPDATE_AFFECT_CONFIG' are mutually exclusive".into(),
        )
        .into());
    }
    let n = &s.nets[s.find(&a.network)?];
    let (_, config) = impact(n, a.flags)?;
    let def = match &n.run {
        Some(_) if config => persistent(n),
        Some(r) => &r.live,
        None => &n.def,
    };
    Ok(metadata::get(def, a.r#type, a.uri.as_deref()).map_err(NetError::from)?)
}
