//! `virsh metadata`, `desc`: the title, description and namespaced metadata elements of
//! a domain, live and persistent with libvirt's flag semantics, and the METADATA_CHANGE
//! event each change sends.

use rvirt_plugin_api::protocol::{RemoteDomainSetMetadataArgs, RemoteNonnullDomain};
use rvirt_xml::domain::metadata::{self, MetadataError};

use crate::driver::Driver;
use crate::error::{check_flags, QResult, QemuError};
use crate::events::Event;
use crate::tuning::{impact, persistent_def, AFFECT_CONFIG, AFFECT_LIVE};

impl From<MetadataError> for QemuError {
    fn from(e: MetadataError) -> QemuError {
        match e {
            MetadataError::Xml(x) => QemuError::Xml(x),
            other => QemuError::Metadata(other),
        }
    }
}

/// DOMAIN_SET_METADATA.
pub fn set(drv: &Driver, a: &RemoteDomainSetMetadataArgs) -> QResult<()> {
    check_flags(
        a.flags,
        AFFECT_LIVE | AFFECT_CONFIG,
        "qemuDomainSetMetadata",
    )?;
    let (r, kind) = (&a.dom, a.r#type);
    let (value, key, uri) = (a.metadata.as_deref(), a.key.as_deref(), a.uri.as_deref());
    drv.write(|s, events| {
        let d = s.find_mut(r)?;
        let (live, config) = impact(d, a.flags)?;
        if let (true, Some(run)) = (live, d.run.as_mut()) {
            metadata::set(&mut run.live, kind, value, key, uri).map_err(QemuError::from)?;
        }
        if config {
            let def = persistent_def(d);
            metadata::set(def, kind, value, key, uri).map_err(QemuError::from)?;
            drv.save_config(def)?;
        }
        let d = s.find(r)?;
        drv.save_status(d);
        let nsuri = (kind == metadata::ELEMENT).then(|| uri.unwrap_or_default().to_string());
        events.push(Event::MetadataChange(d.reference(), kind, nsuri));
        Ok(())
    })
}

/// DOMAIN_GET_METADATA.
pub fn get(
    drv: &Driver,
    r: &RemoteNonnullDomain,
    kind: i32,
    uri: Option<&str>,
    flags: u32,
) -> QResult<String> {
    check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "qemuDomainGetMetadata")?;
    drv.read(|s| {
        let d = s.find(r)?;
        let (live, _) = impact(d, flags)?;
        let def = match (&d.run, live) {
            (Some(run), true) => &run.live,
            _ => d.next_def.as_ref().unwrap_or(&d.def),
        };
        Ok(metadata::get(def, kind, uri).map_err(QemuError::from)?)
    })
}
