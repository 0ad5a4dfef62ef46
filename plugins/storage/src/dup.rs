//! libvirt's rule for two pools that use the same storage (its "Storage source conflict
//! with pool" check at define and create): directory pools on the same target; `netfs`
//! pools on the same directory of the same host (and port, when the new one gives
//! one); `scsi` pools on the same adapter; `iscsi` pools on the same target with the
//! same initiator; `fs`, `logical`, `disk`, `zfs` and `iscsi-direct` pools sharing a
//! source device with an `fs`, `logical`, `disk` or `zfs` pool (none with an existing
//! `iscsi-direct` one).

use rvirt_xml::storage::StoragePoolDef;

/// Pool types whose storage is their source devices.
const DEVICE_TYPES: &[&str] = &["iscsi", "iscsi-direct", "fs", "logical", "disk", "zfs"];

fn shares_device(a: &StoragePoolDef, b: &StoragePoolDef) -> bool {
    a.source
        .devices
        .iter()
        .any(|d| b.source.devices.iter().any(|e| e.path == d.path))
}

/// The one host of both sources is the same (`new`'s port, when it has one, too).
fn same_single_host(old: &StoragePoolDef, new: &StoragePoolDef) -> bool {
    match (old.source.hosts.first(), new.source.hosts.first()) {
        (Some(o), Some(n)) => (n.port == 0 || o.port == n.port) && o.name == n.name,
        _ => false,
    }
}

/// Whether the new pool `new` would use the storage of the pool `old`.
pub fn same_source(old: &StoragePoolDef, new: &StoragePoolDef) -> bool {
    let same_type = old.pool_type == new.pool_type;
    match old.pool_type.as_str() {
        "dir" => same_type && old.target_path == new.target_path,
        "netfs" => same_type && old.source.dir == new.source.dir && same_single_host(old, new),
        "gluster" => {
            same_type
                && old.source.name == new.source.name
                && old.source.dir == new.source.dir
                && same_single_host(old, new)
        }
        "scsi" => same_type && old.source.adapter == new.source.adapter,
        "iscsi" => {
            same_type
                && shares_device(old, new)
                && old.source.initiator_iqn == new.source.initiator_iqn
        }
        // libvirt 9.0 checks nothing for an existing `iscsi-direct` pool.
        "iscsi-direct" => false,
        t if DEVICE_TYPES.contains(&t) => {
            DEVICE_TYPES.contains(&new.pool_type.as_str()) && shares_device(old, new)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(t: &str, source: &str, target: &str) -> StoragePoolDef {
        StoragePoolDef::parse(&format!(
            "<pool type='{t}'><name>p</name><source>{source}</source>\
             <target><path>{target}</path></target></pool>"
        ))
        .unwrap()
    }

    #[test]
    fn pools_conflict_as_in_libvirt() {
        let by_path = "/dev/disk/by-path";
        let iscsi = |iqn: &str| {
            def(
                "iscsi",
                &format!("<host name='h'/><device path='{iqn}'/>"),
                by_path,
            )
        };
        // iSCSI pools share their target directory; only the same target conflicts.
        assert!(!same_source(&iscsi("iqn.a"), &iscsi("iqn.b")));
        assert!(same_source(&iscsi("iqn.a"), &iscsi("iqn.a")));
        let scsi = |h: &str| {
            def(
                "scsi",
                &format!("<adapter type='scsi_host' name='{h}'/>"),
                "/dev",
            )
        };
        assert!(!same_source(&scsi("host0"), &scsi("host1")));
        assert!(same_source(&scsi("host0"), &scsi("host0")));
        assert!(same_source(&def("dir", "", "/a"), &def("dir", "", "/a")));
        assert!(!same_source(&def("dir", "", "/a"), &def("dir", "", "/b")));
        let nfs = |dir: &str, port: &str| {
            def(
                "netfs",
                &format!("<host name='h'{port}/><dir path='{dir}'/>"),
                &format!("/mnt{dir}"),
            )
        };
        // The new pool's port counts, the old one's alone does not.
        assert!(!same_source(&nfs("/e", ""), &nfs("/e", " port='2049'")));
        assert!(same_source(&nfs("/e", " port='2049'"), &nfs("/e", "")));
        assert!(!same_source(&nfs("/e", ""), &nfs("/f", "")));
        // A device used by an fs pool cannot be a logical pool's.
        let fs = def("fs", "<device path='/dev/vda'/>", "/mnt");
        let lvm = def(
            "logical",
            "<device path='/dev/vda'/><name>vg</name>",
            "/dev/vg",
        );
        assert!(same_source(&fs, &lvm));
        assert!(!same_source(
            &fs,
            &def("fs", "<device path='/dev/vdb'/>", "/mnt")
        ));
    }
}
