//! `<pool>`: the definition, libvirt's per-type rules and its canonical output.

use super::errs::{self, bad_attr, missing_attr};
use super::{sanitize_path, text_of, Permissions, PoolSource};
use crate::out::{Attrs, Out};
use crate::tree::parse_root;
use crate::tree::Element;
use crate::units::to_bytes;
use crate::{Uuid, XmlError};

pub(super) const SRC_HOST: u8 = 1;
pub(super) const SRC_DEVICE: u8 = 2;
pub(super) const SRC_DIR: u8 = 4;
pub(super) const SRC_ADAPTER: u8 = 8;
pub(super) const SRC_NAME: u8 = 16;
pub(super) const SRC_IQN: u8 = 32;
/// Network storage: no local target.
pub(super) const SRC_NETWORK: u8 = 64;

/// What libvirt knows of one pool type: which source parts it reads and shows, its
/// source formats and the formats of its volumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolType {
    /// The `type` attribute.
    pub name: &'static str,
    /// Which source parts count (`SRC_*` bits).
    pub(super) flags: u8,
    /// Source formats in libvirt's enumeration order, and the default.
    pub(super) formats: Option<(&'static [&'static str], &'static str)>,
    /// Volume formats, and the default.
    pub(super) vol_formats: Option<(&'static [&'static str], &'static str)>,
}

const FS_FORMATS: &[&str] = &[
    "auto", "ext2", "ext3", "ext4", "ufs", "iso9660", "udf", "gfs", "gfs2", "vfat", "hfs+", "xfs",
    "ocfs2", "vmfs",
];
const NETFS_FORMATS: &[&str] = &["auto", "nfs", "glusterfs", "cifs"];
const LOGICAL_FORMATS: &[&str] = &["unknown", "lvm2"];
const DISK_FORMATS: &[&str] = &[
    "unknown", "dos", "dvh", "gpt", "mac", "bsd", "pc98", "sun", "lvm2",
];
/// Image formats a file-backed volume may have.
pub(super) const FILE_VOL_FORMATS: &[&str] = &[
    "raw", "dir", "bochs", "cloop", "dmg", "iso", "vpc", "vdi", "fat", "vmdk", "qcow", "qcow2",
    "qed", "vhd", "ploop", "cow",
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
const FILE_VOLS: Option<(&[&str], &str)> = Some((FILE_VOL_FORMATS, "raw"));

const fn pt(
    name: &'static str,
    flags: u8,
    formats: Option<(&'static [&'static str], &'static str)>,
    vol_formats: Option<(&'static [&'static str], &'static str)>,
) -> PoolType {
    PoolType {
        name,
        flags,
        formats,
        vol_formats,
    }
}

/// Every pool type, in libvirt's enumeration order.
pub const POOL_TYPES: [PoolType; 14] = [
    pt("dir", 0, None, FILE_VOLS),
    pt("fs", SRC_DEVICE, Some((FS_FORMATS, "auto")), FILE_VOLS),
    pt(
        "netfs",
        SRC_HOST | SRC_DIR,
        Some((NETFS_FORMATS, "auto")),
        FILE_VOLS,
    ),
    pt(
        "logical",
        SRC_NAME | SRC_DEVICE,
        Some((LOGICAL_FORMATS, "lvm2")),
        None,
    ),
    pt(
        "disk",
        SRC_DEVICE,
        Some((DISK_FORMATS, "unknown")),
        Some((DISK_VOL_FORMATS, "none")),
    ),
    pt("iscsi", SRC_HOST | SRC_DEVICE | SRC_IQN, None, None),
    pt(
        "iscsi-direct",
        SRC_HOST | SRC_DEVICE | SRC_NETWORK | SRC_IQN,
        None,
        None,
    ),
    pt("scsi", SRC_ADAPTER, None, None),
    pt("mpath", 0, None, None),
    pt("rbd", SRC_HOST | SRC_NETWORK | SRC_NAME, None, FILE_VOLS),
    pt("sheepdog", SRC_HOST | SRC_NETWORK | SRC_NAME, None, None),
    pt(
        "gluster",
        SRC_HOST | SRC_NETWORK | SRC_NAME | SRC_DIR,
        None,
        FILE_VOLS,
    ),
    pt("zfs", SRC_NAME | SRC_DEVICE, None, None),
    pt("vstorage", SRC_NAME, None, FILE_VOLS),
];

/// Pool type names in the order of the `VIR_CONNECT_LIST_STORAGE_POOLS_<TYPE>` flag bits
/// (bit 6 for `dir` on); `iscsi-direct`, added later, comes last.
pub const LIST_FLAG_ORDER: [&str; 14] = [
    "dir",
    "fs",
    "netfs",
    "logical",
    "disk",
    "iscsi",
    "scsi",
    "mpath",
    "rbd",
    "sheepdog",
    "gluster",
    "zfs",
    "vstorage",
    "iscsi-direct",
];

/// The `VIR_CONNECT_LIST_STORAGE_POOLS_<TYPE>` bit of pool type `name`.
pub fn list_flag(name: &str) -> Option<u32> {
    LIST_FLAG_ORDER
        .iter()
        .position(|t| *t == name)
        .map(|i| 1 << (6 + i))
}

impl PoolType {
    /// libvirt's `virStoragePoolType` number of the type named `name`.
    pub fn number(name: &str) -> Option<usize> {
        POOL_TYPES.iter().position(|t| t.name == name)
    }

    /// The type named `name`.
    pub fn find(name: &str) -> Option<&'static PoolType> {
        POOL_TYPES.iter().find(|t| t.name == name)
    }

    /// Whether pools of this type have a local target.
    pub fn has_target(&self) -> bool {
        self.flags & SRC_NETWORK == 0
    }
}

/// A storage pool definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoragePoolDef {
    /// `<pool type>`: dir, fs, netfs, logical, disk, iscsi, ...
    pub pool_type: String,
    /// `<name>`.
    pub name: String,
    /// `<uuid>`, generated when absent.
    pub uuid: Uuid,
    /// `<capacity>` in bytes.
    pub capacity: u64,
    /// `<allocation>` in bytes.
    pub allocation: u64,
    /// `<available>` in bytes.
    pub available: u64,
    /// `<features><cow state>`.
    pub cow: Option<bool>,
    /// `<source>`.
    pub source: PoolSource,
    /// `<target><path>`: for logical and zfs pools where their volume group or dataset
    /// lives, whatever the document says.
    pub target_path: Option<String>,
    /// `<target><permissions>`.
    pub permissions: Option<Permissions>,
    /// `<refresh><volume allocation>`: how a refresh computes a volume's allocation
    /// (`default` or `capacity`).
    pub refresh_allocation: Option<String>,
    /// `<fs:mount_opts>` of an `fs` or `netfs` pool: the `<fs:option name>`s, in order.
    pub mount_opts: Vec<String>,
}

/// The namespace of a file system pool's extra mount options.
const FS_NS: &str = "http://libvirt.org/schemas/storagepool/fs/1.0";

/// The `<fs:mount_opts>` options of a pool of type `kind` (only `fs` and `netfs` have
/// them), the element found by its namespace whatever prefix the document uses.
fn parse_mount_opts(e: &Element, kind: &str) -> Vec<String> {
    if !matches!(kind, "fs" | "netfs") {
        return Vec::new();
    }
    let declares = |x: &Element, prefix: &str| x.attr(&format!("xmlns:{prefix}")) == Some(FS_NS);
    e.children
        .iter()
        .find(|c| {
            c.name
                .strip_suffix(":mount_opts")
                .is_some_and(|prefix| declares(c, prefix) || declares(e, prefix))
        })
        .map(|m| {
            m.children
                .iter()
                .filter(|o| o.name.ends_with(":option"))
                .filter_map(|o| o.attr_s("name"))
                .collect()
        })
        .unwrap_or_default()
}

/// `<refresh><volume allocation>`, one of the two values libvirt knows.
fn parse_refresh(e: &Element) -> Result<Option<String>, XmlError> {
    let Some(v) = e
        .child("refresh")
        .and_then(|r| r.child("volume"))
        .and_then(|v| v.attr("allocation"))
    else {
        return Ok(None);
    };
    if !matches!(v, "default" | "capacity") {
        return Err(errs::unsupported(format!(
            "unknown storage pool volume refresh allocation type {v}"
        )));
    }
    Ok(Some(v.to_string()))
}

/// A size the pool parser does not check (they are the driver's to fill in).
fn size(e: &Element, name: &str) -> u64 {
    e.child(name)
        .and_then(|c| to_bytes(name, &c.text, c.attr("unit"), "bytes").ok())
        .unwrap_or(0)
}

/// `<features><cow state>`: only `fs` and `dir` pools may have it.
fn parse_cow(e: &Element, t: &PoolType) -> Result<Option<bool>, XmlError> {
    let Some(cow) = e.child("features").and_then(|f| f.child("cow")) else {
        return Ok(None);
    };
    let state = match cow.attr("state") {
        None => return Ok(None),
        Some("yes") => true,
        Some("no") => false,
        Some(v) => return Err(bad_attr("state", "cow", v)),
    };
    if !matches!(t.name, "fs" | "dir") {
        return Err(errs::reported(
            errs::NO_SUPPORT,
            errs::FROM_STORAGE,
            "cow feature may only be used for 'fs' and 'dir' pools",
        ));
    }
    Ok(Some(state))
}

/// libvirt's checks of the source parts a pool type needs.
fn check_source(t: &PoolType, s: &mut PoolSource, name: &str) -> Result<(), XmlError> {
    if t.flags & SRC_HOST != 0 && s.hosts.is_empty() {
        return Err(errs::xml("missing storage pool source host name"));
    }
    if t.name == "gluster" && s.dir.is_none() {
        s.dir = Some("/".into());
    }
    if t.flags & SRC_DIR != 0 && s.dir.is_none() {
        return Err(errs::xml("missing storage pool source path"));
    }
    if t.flags & SRC_NAME != 0 && s.name.is_none() {
        s.name = Some(name.to_string());
    }
    if t.flags & SRC_ADAPTER != 0 {
        match &s.adapter {
            None => return Err(errs::xml("missing storage pool source adapter")),
            Some(a) => a.validate()?,
        }
    }
    if t.flags == SRC_DEVICE && s.devices.is_empty() {
        return Err(errs::xml("missing storage pool source device name"));
    }
    Ok(())
}

/// The target path: where a logical or zfs pool lives, or the document's.
fn target_path(e: &Element, t: &PoolType, s: &PoolSource) -> Result<String, XmlError> {
    let src_name = s.name.as_deref().unwrap_or("");
    let path = match t.name {
        "logical" => format!("/dev/{src_name}"),
        "zfs" => format!("/dev/zvol/{src_name}"),
        _ => e
            .child("target")
            .and_then(|x| text_of(x, "path"))
            .ok_or_else(|| errs::xml("missing storage pool target path"))?,
    };
    Ok(sanitize_path(&path))
}

impl StoragePoolDef {
    /// Parses a `<pool>` document.
    pub fn parse(xml: &str) -> Result<StoragePoolDef, XmlError> {
        StoragePoolDef::from_element(&parse_root(xml, "pool")?)
    }

    /// Parses a `<pool>` document, validating it against libvirt's schema first when
    /// `opts` asks for it.
    pub fn parse_with(xml: &str, opts: crate::ParseOptions) -> Result<StoragePoolDef, XmlError> {
        let e = crate::schema::parse_lenient(xml, "pool", crate::Schema::StoragePool, opts)?;
        StoragePoolDef::from_element(&e)
    }

    /// Builds a definition from a parsed `<pool>` element, with libvirt's checks in its
    /// order.
    pub fn from_element(e: &Element) -> Result<StoragePoolDef, XmlError> {
        let t = match e.attr("type") {
            None => return Err(missing_attr("type", "pool")),
            Some(v) => PoolType::find(v).ok_or_else(|| bad_attr("type", "pool", v))?,
        };
        let mut source = match e.child("source") {
            Some(s) => PoolSource::parse(s, t.name == "rbd", t.formats)?,
            None => PoolSource {
                format: t.formats.map(|f| f.1.to_string()),
                ..PoolSource::default()
            },
        };
        let name = match text_of(e, "name") {
            Some(n) => n,
            None if t.flags & SRC_NAME != 0 && source.name.is_some() => {
                source.name.clone().unwrap_or_default()
            }
            None => return Err(errs::xml("missing pool source name element")),
        };
        if name.contains('/') {
            return Err(errs::xml(format!("name {name} cannot contain '/'")));
        }
        let uuid = match text_of(e, "uuid") {
            Some(u) => Uuid::parse(&u).map_err(|_| errs::xml("malformed uuid element"))?,
            None => Uuid::random(),
        };
        let cow = parse_cow(e, t)?;
        let refresh_allocation = parse_refresh(e)?;
        let mount_opts = parse_mount_opts(e, t.name);
        check_source(t, &mut source, &name)?;
        let (target_path, permissions) = if t.has_target() {
            let path = target_path(e, t, &source)?;
            let perms = e
                .child("target")
                .and_then(|x| x.child("permissions"))
                .map(Permissions::parse)
                .transpose()?;
            (Some(path), perms)
        } else {
            (None, None)
        };
        if t.name == "iscsi-direct" && source.initiator_iqn.is_none() {
            return Err(errs::unsupported("missing initiator IQN"));
        }
        Ok(StoragePoolDef {
            pool_type: t.name.to_string(),
            capacity: size(e, "capacity"),
            allocation: size(e, "allocation"),
            available: size(e, "available"),
            name,
            uuid,
            cow,
            source,
            target_path,
            permissions,
            refresh_allocation,
            mount_opts,
        })
    }

    /// This pool's type.
    pub fn kind(&self) -> &'static PoolType {
        PoolType::find(&self.pool_type).unwrap_or(&POOL_TYPES[0])
    }

    /// Formats the definition as libvirt does.
    pub fn to_xml(&self) -> String {
        let t = self.kind();
        let mut out = Out::new();
        let mut root = Attrs::new().add("type", &self.pool_type);
        if !self.mount_opts.is_empty() {
            root = root.add("xmlns:fs", FS_NS);
        }
        out.open("pool", &root);
        out.text("name", &Attrs::new(), &self.name);
        out.text("uuid", &Attrs::new(), &self.uuid.to_string());
        let bytes = Attrs::new().add("unit", "bytes");
        out.text("capacity", &bytes, &self.capacity.to_string());
        out.text("allocation", &bytes, &self.allocation.to_string());
        out.text("available", &bytes, &self.available.to_string());
        if let Some(cow) = self.cow {
            out.open("features", &Attrs::new());
            out.empty(
                "cow",
                &Attrs::new().add("state", if cow { "yes" } else { "no" }),
            );
            out.close("features");
        }
        self.source.write(&mut out, t.flags);
        if t.has_target() {
            out.open("target", &Attrs::new());
            out.opt_text("path", self.target_path.as_ref());
            if let Some(p) = &self.permissions {
                p.write(&mut out);
            }
            out.close("target");
        }
        if let Some(a) = &self.refresh_allocation {
            out.open("refresh", &Attrs::new());
            out.empty("volume", &Attrs::new().add("allocation", a));
            out.close("refresh");
        }
        if !self.mount_opts.is_empty() {
            out.open("fs:mount_opts", &Attrs::new());
            for o in &self.mount_opts {
                out.empty("fs:option", &Attrs::new().add("name", o));
            }
            out.close("fs:mount_opts");
        }
        out.close("pool");
        out.finish()
    }
}

/// The `<source>` document a `virConnectFindStoragePoolSources` caller passes, read as
/// the source of a pool of `pool_type` (with that type's formats).
pub fn parse_source_spec(xml: &str, pool_type: &str) -> Result<PoolSource, XmlError> {
    let t = PoolType::find(pool_type).unwrap_or(&POOL_TYPES[0]);
    PoolSource::parse(&parse_root(xml, "source")?, t.name == "rbd", t.formats)
}

/// The `<sources>` document of `virConnectFindStoragePoolSources`: each source as a pool
/// of `pool_type` writes its `<source>`.
pub fn sources_to_xml(pool_type: &str, sources: &[PoolSource]) -> String {
    let flags = PoolType::find(pool_type).unwrap_or(&POOL_TYPES[0]).flags;
    let mut out = Out::new();
    out.open("sources", &Attrs::new());
    for s in sources {
        s.write(&mut out, flags);
    }
    out.close("sources");
    out.finish()
}
