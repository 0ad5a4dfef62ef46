//! Storage pool (`<pool>`) and volume (`<volume>`) XML. Sizes are bytes.

use crate::out::{Attrs, Out};
use crate::tree::{num, parse_root, Element};
use crate::units::to_bytes;
use crate::{Uuid, XmlError};

/// `<permissions>` of a pool or volume target.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Permissions {
    /// `<mode>` (octal in XML).
    pub mode: Option<u32>,
    /// `<owner>` uid.
    pub owner: Option<i64>,
    /// `<group>` gid.
    pub group: Option<i64>,
    /// `<label>`.
    pub label: Option<String>,
}

impl Permissions {
    fn parse(e: &Element, path: &str) -> Result<Permissions, XmlError> {
        let mode = match e.child_text("mode") {
            Some(m) => Some(
                u32::from_str_radix(&m, 8)
                    .map_err(|_| XmlError::invalid(format!("{path}/mode"), m))?,
            ),
            None => None,
        };
        let id = |n: &str| -> Result<Option<i64>, XmlError> {
            e.child_text(n)
                .map(|v| num(&format!("{path}/{n}"), &v))
                .transpose()
        };
        Ok(Permissions {
            mode,
            owner: id("owner")?,
            group: id("group")?,
            label: e.child_text("label"),
        })
    }

    fn write(&self, out: &mut Out) {
        out.element("permissions", &Attrs::new(), |o| {
            o.opt_text("mode", self.mode.map(|m| format!("0{m:o}")));
            o.opt_text("owner", self.owner);
            o.opt_text("group", self.group);
            o.opt_text("label", self.label.as_ref());
        });
    }
}

/// `<source>` of a pool.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PoolSource {
    /// `<host name port>` entries.
    pub hosts: Vec<(String, Option<u16>)>,
    /// `<device path>` entries.
    pub devices: Vec<String>,
    /// `<dir path>`.
    pub dir: Option<String>,
    /// `<name>` (e.g. volume group).
    pub name: Option<String>,
    /// `<format type>`.
    pub format: Option<String>,
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
    /// `<source>`.
    pub source: PoolSource,
    /// `<target><path>`.
    pub target_path: Option<String>,
    /// `<target><permissions>`.
    pub permissions: Option<Permissions>,
}

const POOL_TYPES: [&str; 14] = [
    "dir",
    "fs",
    "netfs",
    "logical",
    "disk",
    "iscsi",
    "iscsi-direct",
    "scsi",
    "mpath",
    "rbd",
    "sheepdog",
    "gluster",
    "zfs",
    "vstorage",
];

fn has_target(pool_type: &str) -> bool {
    !matches!(pool_type, "rbd" | "sheepdog" | "gluster" | "iscsi-direct")
}

fn size(e: &Element, path: &str, name: &str) -> Result<Option<u64>, XmlError> {
    e.child(name)
        .map(|c| to_bytes(&format!("{path}/{name}"), &c.text, c.attr("unit"), "bytes"))
        .transpose()
}

impl StoragePoolDef {
    /// Parses a `<pool>` document.
    pub fn parse(xml: &str) -> Result<StoragePoolDef, XmlError> {
        StoragePoolDef::from_element(&parse_root(xml, "pool")?)
    }

    /// Parses a `<pool>` document, validating it against libvirt's schema first when
    /// `opts` asks for it.
    pub fn parse_with(xml: &str, opts: crate::ParseOptions) -> Result<StoragePoolDef, XmlError> {
        let e = crate::schema::parse_root_with(xml, "pool", crate::Schema::StoragePool, opts)?;
        StoragePoolDef::from_element(&e)
    }

    /// Builds a definition from a parsed `<pool>` element.
    pub fn from_element(e: &Element) -> Result<StoragePoolDef, XmlError> {
        let p = "pool";
        let pool_type = e
            .attr_s("type")
            .ok_or_else(|| XmlError::MissingElement("pool/@type".into()))?;
        if !POOL_TYPES.contains(&pool_type.as_str()) {
            return Err(XmlError::invalid("pool/@type", pool_type));
        }
        let name = e
            .child_text("name")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| XmlError::MissingElement("pool/name".into()))?;
        // libvirt's pool parser refuses '/' (a newline is accepted there).
        if name.contains('/') {
            return Err(XmlError::NameSlash(name));
        }
        let uuid = match e.child_text("uuid") {
            Some(u) => Uuid::parse(&u).map_err(|_| XmlError::invalid("pool/uuid", u))?,
            None => Uuid::random(),
        };
        let target = e.child("target");
        let target_path = target
            .and_then(|t| t.child_text("path"))
            .filter(|s| !s.is_empty());
        if has_target(&pool_type) && target_path.is_none() {
            return Err(XmlError::MissingElement("pool/target/path".into()));
        }
        // libvirt's pool parser does not read the sizes (they are the driver's to fill
        // in), so a size it could not read is no error.
        let pool_size = |name: &str| size(e, p, name).ok().flatten().unwrap_or(0);
        Ok(StoragePoolDef {
            capacity: pool_size("capacity"),
            allocation: pool_size("allocation"),
            available: pool_size("available"),
            source: parse_source(e.child("source"), &pool_type)?,
            permissions: target
                .and_then(|t| t.child("permissions"))
                .map(|x| Permissions::parse(x, "pool/target/permissions"))
                .transpose()?,
            target_path,
            pool_type,
            name,
            uuid,
        })
    }

    /// Formats the definition as libvirt does.
    pub fn to_xml(&self) -> String {
        let mut out = Out::new();
        out.open("pool", &Attrs::new().add("type", &self.pool_type));
        out.text("name", &Attrs::new(), &self.name);
        out.text("uuid", &Attrs::new(), &self.uuid.to_string());
        let bytes = Attrs::new().add("unit", "bytes");
        out.text("capacity", &bytes, &self.capacity.to_string());
        out.text("allocation", &bytes, &self.allocation.to_string());
        out.text("available", &bytes, &self.available.to_string());
        self.write_source(&mut out);
        if has_target(&self.pool_type) {
            out.open("target", &Attrs::new());
            out.opt_text("path", self.target_path.as_ref());
            if let Some(p) = &self.permissions {
                p.write(&mut out);
            }
            out.close("target");
        }
        out.close("pool");
        out.finish()
    }

    fn write_source(&self, out: &mut Out) {
        let s = &self.source;
        out.open("source", &Attrs::new());
        for (h, port) in &s.hosts {
            out.empty("host", &Attrs::new().add("name", h).opt("port", *port));
        }
        for d in &s.devices {
            out.empty("device", &Attrs::new().add("path", d));
        }
        if let Some(d) = &s.dir {
            out.empty("dir", &Attrs::new().add("path", d));
        }
        out.opt_text("name", s.name.as_ref());
        if let Some(f) = &s.format {
            out.empty("format", &Attrs::new().add("type", f));
        }
        out.close("source");
    }
}

fn default_pool_format(pool_type: &str) -> Option<&'static str> {
    match pool_type {
        "fs" | "netfs" => Some("auto"),
        "logical" => Some("lvm2"),
        "disk" => Some("unknown"),
        _ => None,
    }
}

fn parse_source(e: Option<&Element>, pool_type: &str) -> Result<PoolSource, XmlError> {
    let mut s = PoolSource {
        format: default_pool_format(pool_type).map(str::to_string),
        ..PoolSource::default()
    };
    let Some(e) = e else {
        return Ok(s);
    };
    let p = "pool/source";
    for h in e.children_named("host") {
        let name = h
            .attr_s("name")
            .ok_or_else(|| XmlError::MissingElement(format!("{p}/host/@name")))?;
        s.hosts
            .push((name, h.attr_num(&format!("{p}/host"), "port")?));
    }
    s.devices = e
        .children_named("device")
        .filter_map(|d| d.attr_s("path"))
        .collect();
    s.dir = e.child("dir").and_then(|d| d.attr_s("path"));
    s.name = e.child_text("name");
    if let Some(f) = e.child("format").and_then(|f| f.attr_s("type")) {
        s.format = Some(f);
    }
    Ok(s)
}

/// A storage volume definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageVolDef {
    /// `<name>`.
    pub name: String,
    /// `<key>`.
    pub key: Option<String>,
    /// `<volume type>`: file, block, dir, network, netdir, ploop (default file).
    pub vol_type: Option<String>,
    /// `<capacity>` in bytes.
    pub capacity: u64,
    /// `<allocation>` in bytes (defaults to capacity).
    pub allocation: u64,
    /// `<physical>` in bytes (display only).
    pub physical: Option<u64>,
    /// `<target><path>`.
    pub target_path: Option<String>,
    /// `<target><format type>`.
    pub format: Option<String>,
    /// `<target><permissions>`.
    pub permissions: Option<Permissions>,
}

impl StorageVolDef {
    /// Parses a `<volume>` document.
    pub fn parse(xml: &str) -> Result<StorageVolDef, XmlError> {
        StorageVolDef::from_element(&parse_root(xml, "volume")?)
    }

    /// Parses a `<volume>` document, validating it against libvirt's schema first when
    /// `opts` asks for it.
    pub fn parse_with(xml: &str, opts: crate::ParseOptions) -> Result<StorageVolDef, XmlError> {
        let e = crate::schema::parse_root_with(xml, "volume", crate::Schema::StorageVol, opts)?;
        StorageVolDef::from_element(&e)
    }

    /// Builds a definition from a parsed `<volume>` element.
    pub fn from_element(e: &Element) -> Result<StorageVolDef, XmlError> {
        let p = "volume";
        let name = e
            .child_text("name")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| XmlError::MissingElement("volume/name".into()))?;
        let capacity = size(e, p, "capacity")?
            .ok_or_else(|| XmlError::MissingElement("volume/capacity".into()))?;
        let target = e.child("target");
        Ok(StorageVolDef {
            name,
            key: e.child_text("key"),
            vol_type: Some(e.attr("type").unwrap_or("file").to_string()),
            capacity,
            allocation: size(e, p, "allocation")?.unwrap_or(capacity),
            physical: size(e, p, "physical")?,
            target_path: target
                .and_then(|t| t.child_text("path"))
                .filter(|s| !s.is_empty()),
            format: target
                .and_then(|t| t.child("format"))
                .and_then(|f| f.attr_s("type")),
            permissions: target
                .and_then(|t| t.child("permissions"))
                .map(|x| Permissions::parse(x, "volume/target/permissions"))
                .transpose()?,
        })
    }

    /// Formats the definition as libvirt does.
    pub fn to_xml(&self) -> String {
        let mut out = Out::new();
        let t = self.vol_type.as_deref().unwrap_or("file");
        out.open("volume", &Attrs::new().add("type", t));
        out.text("name", &Attrs::new(), &self.name);
        out.opt_text("key", self.key.as_ref());
        let bytes = Attrs::new().add("unit", "bytes");
        out.text("capacity", &bytes, &self.capacity.to_string());
        out.text("allocation", &bytes, &self.allocation.to_string());
        if let Some(p) = self.physical {
            out.text("physical", &bytes, &p.to_string());
        }
        out.open("target", &Attrs::new());
        out.opt_text("path", self.target_path.as_ref());
        if let Some(f) = &self.format {
            out.empty("format", &Attrs::new().add("type", f));
        }
        if let Some(p) = &self.permissions {
            p.write(&mut out);
        }
        out.close("target");
        out.close("volume");
        out.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/compat/virsh-testdriver/pool-dumpxml-default-pool.txt"
    ));

    fn strip_virsh(s: &str) -> String {
        let body = s.split_once('\n').map(|x| x.1).unwrap_or("");
        let end = body
            .rfind("\n\n[exit=")
            .expect("fixture has an exit marker");
        format!("{}\n", &body[..end])
    }

    #[test]
    fn fixture_round_trip() {
        let want = strip_virsh(FIXTURE);
        let p = StoragePoolDef::parse(&want).unwrap();
        assert_eq!(p.to_xml(), want);
        assert_eq!(p.capacity, 107374182400);
        assert_eq!(p.target_path.as_deref(), Some("/default-pool"));
        let mut d = StoragePoolDef::parse("<pool type='dir'><name>default-pool</name><uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid><target><path>/default-pool</path></target></pool>").unwrap();
        d.capacity = 107374182400;
        d.available = 107374182400;
        assert_eq!(d.to_xml(), want);
    }

    #[test]
    fn permissions_and_source() {
        let x = "<pool type='netfs'>\n  <name>n</name>\n  <uuid>35bb2ad9-388a-cdfe-461a-b8907f6e53fe</uuid>\n  <capacity unit='bytes'>1024</capacity>\n  <allocation unit='bytes'>0</allocation>\n  <available unit='bytes'>1024</available>\n  <source>\n    <host name='nfs.example'/>\n    <dir path='/export'/>\n    <format type='nfs'/>\n  </source>\n  <target>\n    <path>/mnt</path>\n    <permissions>\n      <mode>0700</mode>\n      <owner>10736</owner>\n      <group>10736</group>\n    </permissions>\n  </target>\n</pool>\n";
        let p = StoragePoolDef::parse(x).unwrap();
        assert_eq!(p.to_xml(), x);
        assert_eq!(p.permissions.as_ref().unwrap().mode, Some(0o700));
        let k = StoragePoolDef::parse("<pool type='dir'><name>k</name><capacity unit='KiB'>2</capacity><target><path>/k</path></target></pool>").unwrap();
        assert_eq!(k.capacity, 2048);
    }

    #[test]
    fn pool_errors() {
        assert_eq!(
            StoragePoolDef::parse("<pool type='dir'><name>x</name></pool>"),
            Err(XmlError::MissingElement("pool/target/path".into()))
        );
        assert_eq!(
            StoragePoolDef::parse("<pool type='dir'><target><path>/x</path></target></pool>"),
            Err(XmlError::MissingElement("pool/name".into()))
        );
        assert!(StoragePoolDef::parse("<pool type='tape'><name>x</name></pool>").is_err());
        assert!(StoragePoolDef::parse("<pool type='rbd'><name>x</name></pool>").is_ok());
        let slash = "<pool type='dir'><name>a/b</name><target><path>/x</path></target></pool>";
        let e = StoragePoolDef::parse(slash).unwrap_err();
        assert_eq!(e.to_string(), "XML error: name a/b cannot contain '/'");
    }

    #[test]
    fn volume_round_trip_and_units() {
        let v = StorageVolDef::parse("<volume><name>default-vol</name><capacity>1000000</capacity><allocation>50000</allocation><target/></volume>").unwrap();
        assert_eq!(v.capacity, 1000000);
        assert_eq!(v.allocation, 50000);
        let mut v2 = v.clone();
        v2.target_path = Some("/default-pool/default-vol".into());
        v2.format = Some("raw".into());
        let x = v2.to_xml();
        assert_eq!(
            x,
            "<volume type='file'>\n  <name>default-vol</name>\n  <capacity unit='bytes'>1000000</capacity>\n  <allocation unit='bytes'>50000</allocation>\n  <target>\n    <path>/default-pool/default-vol</path>\n    <format type='raw'/>\n  </target>\n</volume>\n"
        );
        assert_eq!(StorageVolDef::parse(&x).unwrap(), v2);
        let g =
            StorageVolDef::parse("<volume><name>g</name><capacity unit='G'>10</capacity></volume>")
                .unwrap();
        assert_eq!((g.capacity, g.allocation), (10 << 30, 10 << 30));
    }

    #[test]
    fn volume_errors() {
        assert_eq!(
            StorageVolDef::parse("<volume><capacity>1</capacity></volume>"),
            Err(XmlError::MissingElement("volume/name".into()))
        );
        assert_eq!(
            StorageVolDef::parse("<volume><name>v</name></volume>"),
            Err(XmlError::MissingElement("volume/capacity".into()))
        );
        assert!(StorageVolDef::parse(
            "<volume><name>v</name><capacity>1</capacity><frob/></volume>"
        )
        .is_ok());
        assert!(StorageVolDef::parse(
            "<volume><name>v</name><capacity unit='Q'>1</capacity></volume>"
        )
        .is_err());
    }
}
