//! The storage commands beside the pool and volume basics: `pool-capabilities`,
//! `find-storage-pool-sources(-as)` and `vol-create-from`.

use rvirt_protocol as p;
use rvirt_protocol::facts;
use rvirt_protocol::RemoteClient;

use crate::ctl::{CmdError, Context, Ctl};
use crate::opts::{Args, Opt};

use super::{flag_bits, read_file};

pub const FIND: &[Opt] = &[
    Opt::req("type", "type of storage pool sources to discover"),
    Opt::string("srcSpec", "optional file of source xml to query for pools"),
];
pub const FIND_AS: &[Opt] = &[
    Opt::req("type", "type of storage pool sources to find"),
    Opt::string("host", "optional host to query"),
    Opt::string("port", "optional port to query"),
    Opt::string("initiator", "optional initiator IQN to use for query"),
];
pub const CREATE_FROM: &[Opt] = &[
    Opt::pool(),
    Opt::file("file containing an XML vol description"),
    Opt::req("vol", "vol name, key or path"),
    Opt::string("inputpool", "pool name or uuid of the input volume's pool"),
    Opt::flag(
        "prealloc-metadata",
        "preallocate metadata (for qcow2 instead of full allocation)",
    ),
    Opt::flag("reflink", "use btrfs COW lightweight copy"),
    Opt::flag("validate", "validate the XML against the schema"),
];

pub fn pool_capabilities(ctl: &mut Ctl, _a: &Args) -> Result<(), CmdError> {
    let c = ctl.conn()?;
    let caps = c
        .connect_get_storage_pool_capabilities(&p::RemoteConnectGetStoragePoolCapabilitiesArgs {
            flags: 0,
        })
        .ctx(|| "failed to get storage pool capabilities".into())?
        .capabilities;
    println!("{caps}");
    Ok(())
}

/// Asks the driver for the sources of `kind` pools matching `spec`; prints the document.
fn find_sources(ctl: &mut Ctl, kind: &str, spec: Option<String>) -> Result<(), CmdError> {
    let c = ctl.conn()?;
    let args = p::RemoteConnectFindStoragePoolSourcesArgs {
        r#type: kind.to_string(),
        src_spec: spec,
        flags: 0,
    };
    let xml = c
        .connect_find_storage_pool_sources(&args)
        .ctx(|| format!("Failed to find any {kind} pool sources"))?
        .xml;
    print!("{xml}");
    Ok(())
}

pub fn find_storage_pool_sources(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let spec = a.get("srcSpec").map(read_file).transpose()?;
    find_sources(ctl, a.req("type")?, spec)
}

/// The `<source>` document virsh writes for `--host`, `--port` and `--initiator`.
fn source_spec(host: Option<&str>, port: Option<&str>, initiator: Option<&str>) -> Option<String> {
    let host = host?;
    let mut s = format!("<source>\n  <host name='{host}'");
    if let Some(port) = port {
        s.push_str(&format!(" port='{port}'"));
    }
    s.push_str("/>\n");
    if let Some(iqn) = initiator {
        s.push_str(&format!(
            "  <initiator>\n    <iqn name='{iqn}'/>\n  </initiator>\n"
        ));
    }
    s.push_str("</source>\n");
    Some(s)
}

pub fn find_storage_pool_sources_as(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let spec = source_spec(a.get("host"), a.get("port"), a.get("initiator"));
    find_sources(ctl, a.req("type")?, spec)
}

pub fn vol_create_from(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let pool = ctl.pool(a.req("pool")?)?;
    let input = ctl.vol(a.req("vol")?, a.get("inputpool"))?;
    let file = a.req("file")?;
    let xml = read_file(file)?;
    let flags = flag_bits(
        a,
        &[
            ("prealloc-metadata", facts::vol_create::PREALLOC_METADATA),
            ("reflink", facts::vol_create::REFLINK),
            ("validate", facts::vol_create::VALIDATE),
        ],
    );
    let c = ctl.conn()?;
    let args = p::RemoteStorageVolCreateXmlFromArgs {
        pool,
        xml,
        clonevol: input.clone(),
        flags,
    };
    let vol = c
        .storage_vol_create_xml_from(&args)
        .ctx(|| format!("Failed to create vol from {file}"))?
        .vol;
    println!("Vol {} created from input vol {}", vol.name, input.name);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_specs_as_virsh_writes_them() {
        assert_eq!(source_spec(None, Some("1"), None), None);
        assert_eq!(
            source_spec(Some("h"), Some("3260"), Some("iqn.x:y")).unwrap(),
            "<source>\n  <host name='h' port='3260'/>\n  <initiator>\n    <iqn name='iqn.x:y'/>\n  </initiator>\n</source>\n"
        );
        assert_eq!(
            source_spec(Some("h"), None, None).unwrap(),
            "<source>\n  <host name='h'/>\n</source>\n"
        );
    }
}
