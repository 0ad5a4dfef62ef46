//! `virsh metadata` and `desc` on the test driver: the rules of
//! [`rvirt_xml::domain::metadata`] on the definition the AFFECT flags select, and the
//! METADATA_CHANGE event.

use rvirt_plugin_api::protocol::{RemoteDomainSetMetadataArgs, RemoteNonnullDomain};
use rvirt_xml::domain::metadata::{self, MetadataError};

use crate::domain::{dom_ref, find, find_mut};
use crate::domain_info::{impact, one_def_mut, AFFECT_CONFIG, AFFECT_LIVE};
use crate::error::{check_flags, TestError, TestResult};
use crate::events::Event;
use crate::state::Inner;

impl From<MetadataError> for TestError {
    fn from(e: MetadataError) -> TestError {
        match e {
            MetadataError::Xml(x) => TestError::Xml(x),
            other => TestError::Metadata(other),
        }
    }
}

/// DOMAIN_SET_METADATA.
pub fn set(s: &mut Inner, evs: &mut Vec<Event>, a: &RemoteDomainSetMetadataArgs) -> TestResult<()> {
    check_flags(
        a.flags,
        AFFECT_LIVE | AFFECT_CONFIG,
        "testDomainSetMetadata",
    )?;
    let (value, key, uri) = (a.metadata.as_deref(), a.key.as_deref(), a.uri.as_deref());
    let (def, _) = one_def_mut(find_mut(s, &a.dom)?, a.flags)?;
    metadata::set(def, a.r#type, value, key, uri).map_err(TestError::from)?;
    let nsuri = (a.r#type == metadata::ELEMENT).then(|| uri.unwrap_or_default().to_string());
    evs.push(Event::Metadata(dom_ref(find(s, &a.dom)?), a.r#type, nsuri));
    Ok(())
}

/// DOMAIN_GET_METADATA.
pub fn get(
    s: &Inner,
    r: &RemoteNonnullDomain,
    kind: i32,
    uri: Option<&str>,
    flags: u32,
) -> TestResult<String> {
    check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "testDomainGetMetadata")?;
    let d = find(s, r)?;
    let (live, _) = impact(d, flags)?;
    let def = if live { &d.def } else { d.persistent_def() };
    Ok(metadata::get(def, kind, uri).map_err(TestError::from)?)
}
