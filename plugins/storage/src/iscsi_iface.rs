//! open-iscsi interfaces for an `iscsi` pool's `<initiator><iqn name>`, as libvirt
//! makes and finds them: the interface whose initiator name is the IQN (`iscsiadm
//! --mode iface`), or a new one, `libvirt-iface-XXXXXXXX`, with that name.

use crate::cmd::{program, run};
use crate::error::{SResult, StorageError};

/// The interface of `iscsiadm --mode iface` output whose initiator name is `iqn`
/// (lines `NAME TRANSPORT,HWADDRESS,IPADDRESS,NETIFACE,INITIATORNAME`).
fn iface_of(text: &str, iqn: &str) -> SResult<Option<String>> {
    for line in text.lines() {
        let malformed = || {
            StorageError::Internal(format!(
                "malformed output of {}: {line}",
                program("iscsiadm")
            ))
        };
        let (name, rest) = line.split_once(' ').ok_or_else(malformed)?;
        let initiator = rest.splitn(5, ',').nth(4).ok_or_else(malformed)?;
        if initiator == iqn {
            return Ok(Some(name.to_string()));
        }
    }
    Ok(None)
}

/// The interface with initiator name `iqn`, if there is one.
pub fn find(iqn: &str) -> SResult<Option<String>> {
    iface_of(&run(&program("iscsiadm"), &["--mode", "iface"])?, iqn)
}

/// A new interface with initiator name `iqn` (iscsiadm's exit codes are not trusted,
/// as libvirt does not: the interface must be found afterwards).
pub fn create(iqn: &str) -> SResult<String> {
    let r = rvirt_xml::Uuid::random().0;
    let name = format!(
        "libvirt-iface-{:02x}{:02x}{:02x}{:02x}",
        r[0], r[1], r[2], r[3]
    );
    let adm = program("iscsiadm");
    let spawn = |args: &[&str]| std::process::Command::new(&adm).args(args).output();
    spawn(&["--mode", "iface", "--interface", &name, "--op", "new"]).map_err(|_| {
        StorageError::Internal(format!(
            "Failed to run command '{adm}' to create new iscsi interface"
        ))
    })?;
    let update = [
        "--mode",
        "iface",
        "--interface",
        &name,
        "--op",
        "update",
        "--name",
        "iface.initiatorname",
        "--value",
        iqn,
    ];
    spawn(&update).map_err(|_| {
        StorageError::Internal(format!(
            "Failed to run command '{adm}' to update iscsi interface with IQN '{iqn}'"
        ))
    })?;
    find(iqn)?.ok_or_else(|| {
        StorageError::Internal(format!(
            "Failed to find interface '{name}' with IQN '{iqn}' after attempting to create it"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interfaces_are_found_by_initiator_name() {
        let out = "default tcp,<empty>,<empty>,<empty>,<empty>\n\
                   iser iser,<empty>,<empty>,<empty>,<empty>\n\
                   libvirt-iface-253db048 tcp,<empty>,<empty>,<empty>,iqn.2017-03.com.user:client\n";
        assert_eq!(
            iface_of(out, "iqn.2017-03.com.user:client")
                .unwrap()
                .as_deref(),
            Some("libvirt-iface-253db048")
        );
        assert_eq!(iface_of(out, "iqn.other").unwrap(), None);
        assert!(iface_of("garbage\n", "x").is_err());
    }
}
