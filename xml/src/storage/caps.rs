//! `<storagepoolCapabilities>`: for every pool type, whether the driver supports it and
//! the source and volume formats it takes, in libvirt's order and layout.

use crate::out::{Attrs, Out};

/// Image formats of file-backed volumes in libvirt's enumeration order (the order the
/// capabilities list them in).
const FILE_FORMATS: &[&str] = &[
    "none", "raw", "dir", "bochs", "cloop", "dmg", "iso", "vpc", "vdi", "fat", "vhd", "ploop",
    "cow", "qcow", "qcow2", "qed", "vmdk",
];
const FS_FORMATS: &[&str] = &[
    "auto", "ext2", "ext3", "ext4", "ufs", "iso9660", "udf", "gfs", "gfs2", "vfat", "hfs+", "xfs",
    "ocfs2", "vmfs",
];
const NETFS_FORMATS: &[&str] = &["auto", "nfs", "glusterfs", "cifs"];
const LOGICAL_FORMATS: &[&str] = &["unknown", "lvm2"];
const DISK_FORMATS: &[&str] = &[
    "unknown", "dos", "dvh", "gpt", "mac", "bsd", "pc98", "sun", "lvm2",
];
const DISK_VOL_FORMATS: &[&str] = &[
    "none",
    "linux",
    "fat16",
    "fat32",
    "linux-swap",
    "linux-lvm",
    "linux-raid",
    "extended",
];

type Options = Option<(&'static str, &'static [&'static str])>;

/// (type, pool source formats, volume formats), each with its default.
const TYPES: [(&str, Options, Options); 14] = [
    ("dir", None, Some(("raw", FILE_FORMATS))),
    (
        "fs",
        Some(("auto", FS_FORMATS)),
        Some(("raw", FILE_FORMATS)),
    ),
    (
        "netfs",
        Some(("auto", NETFS_FORMATS)),
        Some(("raw", FILE_FORMATS)),
    ),
    ("logical", Some(("lvm2", LOGICAL_FORMATS)), None),
    (
        "disk",
        Some(("unknown", DISK_FORMATS)),
        Some(("none", DISK_VOL_FORMATS)),
    ),
    ("iscsi", None, None),
    ("iscsi-direct", None, None),
    ("scsi", None, None),
    ("mpath", None, None),
    ("rbd", None, Some(("raw", &[]))),
    ("sheepdog", None, None),
    ("gluster", None, Some(("raw", FILE_FORMATS))),
    ("zfs", None, None),
    ("vstorage", None, Some(("raw", FILE_FORMATS))),
];

fn options(out: &mut Out, element: &str, enum_name: &str, opts: Options) {
    let Some((default, values)) = opts else {
        return;
    };
    out.open(element, &Attrs::new());
    out.empty("defaultFormat", &Attrs::new().add("type", default));
    out.open("enum", &Attrs::new().add("name", enum_name));
    for v in values {
        out.text("value", &Attrs::new(), v);
    }
    out.close("enum");
    out.close(element);
}

/// The capabilities document; `supported` says which pool types the driver runs.
pub fn pool_capabilities(supported: impl Fn(&str) -> bool) -> String {
    let mut out = Out::new();
    out.open("storagepoolCapabilities", &Attrs::new());
    for (name, pool, vol) in TYPES {
        let yes = if supported(name) { "yes" } else { "no" };
        out.open(
            "pool",
            &Attrs::new().add("type", name).add("supported", yes),
        );
        options(&mut out, "poolOptions", "sourceFormatType", pool);
        options(&mut out, "volOptions", "targetFormatType", vol);
        out.close("pool");
    }
    out.close("storagepoolCapabilities");
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libvirt 9.0's document (recorded from its `virsh pool-capabilities`) with every
    /// type it supported marked so.
    #[test]
    fn layout_as_libvirt_prints_it() {
        let libvirt_yes = |t: &str| {
            !matches!(
                t,
                "iscsi-direct" | "rbd" | "sheepdog" | "gluster" | "zfs" | "vstorage"
            )
        };
        let xml = pool_capabilities(libvirt_yes);
        assert!(xml.starts_with(
            "<storagepoolCapabilities>\n  <pool type='dir' supported='yes'>\n    <volOptions>\n      <defaultFormat type='raw'/>\n      <enum name='targetFormatType'>\n        <value>none</value>\n        <value>raw</value>\n"
        ), "{xml}");
        assert!(
            xml.contains("  <pool type='iscsi' supported='yes'>\n  </pool>\n"),
            "{xml}"
        );
        assert!(xml.contains(
            "  <pool type='rbd' supported='no'>\n    <volOptions>\n      <defaultFormat type='raw'/>\n      <enum name='targetFormatType'>\n      </enum>\n    </volOptions>\n  </pool>\n"
        ), "{xml}");
        assert!(xml.contains(
            "  <pool type='logical' supported='yes'>\n    <poolOptions>\n      <defaultFormat type='lvm2'/>\n      <enum name='sourceFormatType'>\n        <value>unknown</value>\n        <value>lvm2</value>\n      </enum>\n    </poolOptions>\n  </pool>\n"
        ), "{xml}");
        assert!(xml.ends_with("        <value>vmdk</value>\n      </enum>\n    </volOptions>\n  </pool>\n</storagepoolCapabilities>\n"));
        assert_eq!(xml.matches("<pool type=").count(), 14);
    }
}
