//! The XML audit: when `RVIRT_XML_AUDIT_DIR` names a directory, every XML document a call
//! returns (domain, network, pool, volume, node device, capabilities, ...) is written
//! there as `SCHEMA-HASH.xml`, SCHEMA being the name `virt-xml-validate` knows it by.
//! The test suite sets it and `scripts/validate-xml-audit.sh` checks every document
//! against libvirt's RelaxNG schemas afterwards, so whatever any test made rvirt return,
//! through the daemon or an embedded connection, is held to the schemas. Identical
//! documents share a file. Unset (the default) costs one cached lookup per call.

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use rvirt_protocol::procedure::ProcedureInfo;

/// The variable naming the audit directory.
pub const AUDIT_DIR_VAR: &str = "RVIRT_XML_AUDIT_DIR";

/// Procedures (names without `REMOTE_PROC_`) whose reply starts with one XML document,
/// and the `virt-xml-validate` schema of that document.
const XML_REPLIES: &[(&str, &str)] = &[
    ("DOMAIN_GET_XML_DESC", "domain"),
    ("CONNECT_DOMAIN_XML_FROM_NATIVE", "domain"),
    ("NETWORK_GET_XML_DESC", "network"),
    ("NETWORK_PORT_GET_XML_DESC", "networkport"),
    ("STORAGE_POOL_GET_XML_DESC", "storagepool"),
    ("STORAGE_VOL_GET_XML_DESC", "storagevol"),
    ("NODE_DEVICE_GET_XML_DESC", "nodedev"),
    ("CONNECT_GET_CAPABILITIES", "capability"),
    ("CONNECT_GET_DOMAIN_CAPABILITIES", "domaincaps"),
    ("CONNECT_GET_STORAGE_POOL_CAPABILITIES", "storagepoolcaps"),
    ("DOMAIN_SNAPSHOT_GET_XML_DESC", "domainsnapshot"),
    ("DOMAIN_CHECKPOINT_GET_XML_DESC", "domaincheckpoint"),
    ("SECRET_GET_XML_DESC", "secret"),
    ("NWFILTER_GET_XML_DESC", "nwfilter"),
    ("NWFILTER_BINDING_GET_XML_DESC", "nwfilterbinding"),
    ("INTERFACE_GET_XML_DESC", "interface"),
];

fn audit_dir() -> Option<&'static PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(std::env::var_os(AUDIT_DIR_VAR)?);
        std::fs::create_dir_all(&dir).ok()?;
        Some(dir)
    })
    .as_ref()
}

/// The schema of the document `info`'s reply carries, if it carries one.
pub fn schema_of(info: &ProcedureInfo) -> Option<&'static str> {
    XML_REPLIES
        .iter()
        .find(|(name, _)| *name == info.name)
        .map(|(_, schema)| *schema)
}

/// The XML string at the start of an XDR reply: a length, then that many bytes.
fn leading_string(reply: &[u8]) -> Option<&[u8]> {
    let len = u32::from_be_bytes(reply.get(..4)?.try_into().ok()?) as usize;
    reply.get(4..4 + len)
}

/// 64-bit FNV-1a: a stable file name for a document.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Writes the document `reply` carries, when the audit is on and `info` returns one.
/// Failures to write are ignored: the audit never changes what a call answers.
pub fn record(info: &ProcedureInfo, reply: &[u8]) {
    let Some(dir) = audit_dir() else { return };
    let Some(schema) = schema_of(info) else {
        return;
    };
    let Some(doc) = leading_string(reply) else {
        return;
    };
    let path = dir.join(format!("{schema}-{:016x}.xml", fnv1a(doc)));
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        let _ = f.write_all(doc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvirt_protocol::procedure::procedures;
    use rvirt_protocol::REMOTE_PROGRAM_NUMBER;

    #[test]
    fn every_audited_procedure_exists() {
        let table = procedures(REMOTE_PROGRAM_NUMBER).unwrap();
        for (name, _) in XML_REPLIES {
            let info = table.iter().find(|p| p.name == *name);
            let info = info.unwrap_or_else(|| panic!("no procedure {name}"));
            assert!(!info.ret.is_empty(), "{name} returns nothing");
        }
    }

    #[test]
    fn the_leading_string_is_the_document() {
        let mut reply = 5u32.to_be_bytes().to_vec();
        reply.extend_from_slice(b"<a/>\n\0\0\0");
        assert_eq!(leading_string(&reply), Some(&b"<a/>\n"[..]));
        assert_eq!(leading_string(&reply[..6]), None);
    }
}
