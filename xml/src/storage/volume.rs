//! `<volume>`: the definition, libvirt's checks and its canonical output.

use super::errs;
use super::pool::PoolType;
use super::{storage_size, text_of, Permissions};
use crate::out::{Attrs, Out};
use crate::spec::{attr, leaf, Spec, Value};
use crate::tree::parse_root;
use crate::tree::Element;
use crate::XmlError;

/// A volume's backing store (`<backingStore>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BackingStore {
    /// `<path>`.
    pub path: String,
    /// `<format type>`, for pool types whose volumes have formats.
    pub format: Option<String>,
    /// `<permissions>`.
    pub permissions: Permissions,
    /// `<timestamps>` (display only: a driver fills them in from the file).
    pub timestamps: Option<Timestamps>,
}

/// One file time as libvirt prints it: seconds, and nanoseconds when there are any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timestamp {
    pub sec: i64,
    pub nsec: u32,
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.nsec == 0 {
            write!(f, "{}", self.sec)
        } else {
            write!(f, "{}.{:09}", self.sec, self.nsec)
        }
    }
}

/// `<timestamps>` of a volume target or backing store: access, modification, change
/// and birth time (libvirt prints a birth time of 0 where the file system has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timestamps {
    pub atime: Timestamp,
    pub mtime: Timestamp,
    pub ctime: Timestamp,
    pub btime: Timestamp,
}

impl Timestamps {
    fn write(&self, out: &mut Out) {
        out.open("timestamps", &Attrs::new());
        out.text("atime", &Attrs::new(), &self.atime.to_string());
        out.text("mtime", &Attrs::new(), &self.mtime.to_string());
        out.text("ctime", &Attrs::new(), &self.ctime.to_string());
        out.text("btime", &Attrs::new(), &self.btime.to_string());
        out.close("timestamps");
    }
}

/// A storage volume definition.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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
    /// `<physical>` in bytes (display only: a driver fills it in, the parser does not).
    pub physical: Option<u64>,
    /// `<target><path>`.
    pub target_path: Option<String>,
    /// `<target><format type>`.
    pub format: Option<String>,
    /// `<target><permissions>`.
    pub permissions: Option<Permissions>,
    /// `<target><timestamps>` (display only).
    pub timestamps: Option<Timestamps>,
    /// `<target><encryption>`, in canonical form.
    pub encryption: Option<Element>,
    /// `<target><compat>` (qcow2 compatibility level).
    pub compat: Option<String>,
    /// `<target><nocow/>`.
    pub nocow: bool,
    /// `<target><clusterSize>` in bytes.
    pub cluster_size: Option<u64>,
    /// `<target><features>`: the qcow2 features set, in libvirt's order.
    pub features: Option<Vec<&'static str>>,
    /// `<backingStore>`.
    pub backing: Option<BackingStore>,
    /// `<source><device path><extent start end>`: where a partition lies on its disk
    /// (display only: a driver fills it in, the parser does not read it).
    pub source_extents: Option<(String, Vec<(u64, u64)>)>,
}

const VOL_TYPES: &[&str] = &["file", "block", "dir", "network", "netdir", "ploop"];
/// qcow2 features, in libvirt's order.
const FEATURES: &[&str] = &["lazy_refcounts", "extended_l2"];
const ENC_FORMATS: &[&str] = &["default", "qcow", "luks", "luks2"];

/// `<encryption>`: the order libvirt writes it in.
const ENCRYPTION: Spec = Spec {
    name: "encryption",
    attrs: &[attr("format", Value::Text), attr("engine", Value::Text)],
    children: &[
        leaf(
            "secret",
            &[
                attr("type", Value::Text),
                attr("uuid", Value::Text),
                attr("usage", Value::Text),
            ],
        ),
        leaf(
            "cipher",
            &[
                attr("name", Value::Text),
                attr("size", Value::Text),
                attr("mode", Value::Text),
                attr("hash", Value::Text),
            ],
        ),
        leaf(
            "ivgen",
            &[attr("name", Value::Text), attr("hash", Value::Text)],
        ),
    ],
    text: None,
};

fn check_encryption_secret(sec: &Element, out: &mut Element) -> Result<(), XmlError> {
    match sec.attr("type") {
        None => return Err(errs::xml("unknown volume encryption secret type")),
        Some("passphrase") => {}
        Some(t) => {
            return Err(errs::unsupported(format!(
                "unknown volume encryption secret type {t}"
            )))
        }
    }
    super::source::canonical_secret(sec, out)
}

fn check_cipher(e: &Element) -> Result<(), XmlError> {
    let cipher = e.child("cipher");
    if let Some(c) = cipher {
        if c.attr("name").is_none() {
            return Err(errs::xml("cipher info missing 'name' attribute"));
        }
        match c.attr("size") {
            None => return Err(errs::missing_attr("size", "cipher")),
            Some(v) if v.trim().parse::<u32>().is_err() => {
                return Err(errs::reported(
                    errs::XML_ERROR,
                    errs::FROM_XML,
                    format!("Invalid value for attribute 'size' in element 'cipher': '{v}'. Expected non-negative integer value"),
                ));
            }
            Some(_) => {}
        }
    }
    if let Some(iv) = e.child("ivgen") {
        if cipher.is_none() {
            return Err(errs::xml("ivgen element found, but cipher is missing"));
        }
        if iv.attr("name").is_none() {
            return Err(errs::xml("ivgen info missing 'name' attribute"));
        }
    }
    Ok(())
}

/// Checks `<encryption>` as libvirt does and returns it in canonical form.
fn parse_encryption(e: &Element) -> Result<Element, XmlError> {
    match e.attr("format") {
        None => return Err(errs::xml("unknown volume encryption format")),
        Some(f) if ENC_FORMATS.contains(&f) => {}
        Some(f) => {
            return Err(errs::unsupported(format!(
                "unknown volume encryption format type {f}"
            )))
        }
    }
    if let Some(engine) = e.attr("engine") {
        if !matches!(engine, "qemu" | "librbd") {
            return Err(errs::bad_attr("engine", "encryption", engine));
        }
    }
    let mut out = ENCRYPTION.parse(e, "volume/target/encryption")?;
    let mut secrets = out.children.iter_mut().filter(|c| c.name == "secret");
    for sec in e.children_named("secret") {
        if let Some(o) = secrets.next() {
            check_encryption_secret(sec, o)?;
        }
    }
    check_cipher(e)?;
    Ok(out)
}

/// A format from `<x><format type>`, checked against the pool type's volume formats.
fn vol_format(parent: Option<&Element>, t: &PoolType) -> Result<Option<String>, XmlError> {
    let Some((list, default)) = t.vol_formats else {
        return Ok(None);
    };
    let given = parent
        .and_then(|p| p.child("format"))
        .and_then(|f| f.attr_s("type"))
        .filter(|f| !f.is_empty());
    match given {
        None => Ok(Some(default.to_string())),
        Some(f) if list.contains(&f.as_str()) => Ok(Some(f)),
        Some(f) => Err(errs::unsupported(format!("unknown volume format type {f}"))),
    }
}

fn size(e: &Element, name: &str) -> Result<Option<u64>, XmlError> {
    e.child(name)
        .filter(|c| !c.text.is_empty())
        .map(|c| storage_size(&c.text, c.attr("unit")))
        .transpose()
}

/// libvirt's check of `<compat>`: two dot-separated unsigned numbers.
fn check_compat(c: &str) -> Result<(), XmlError> {
    let num = |s: &str| {
        let d = s.strip_prefix('+').unwrap_or(s);
        !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
    };
    match c.split_once('.') {
        Some((a, b)) if num(a) && num(b) => Ok(()),
        _ => Err(errs::xml("forbidden characters in 'compat' attribute")),
    }
}

fn cluster_size(t: &Element) -> Result<Option<u64>, XmlError> {
    t.child("clusterSize")
        .map(|c| super::scaled_value(&c.text, c.attr("unit"), "./target/clusterSize"))
        .transpose()
}

fn features(t: &Element) -> Result<Option<Vec<&'static str>>, XmlError> {
    let Some(f) = t.child("features") else {
        return Ok(None);
    };
    let mut set = Vec::new();
    for c in &f.children {
        let Some(known) = FEATURES.iter().find(|k| **k == c.name) else {
            return Err(errs::unsupported(format!("unsupported feature {}", c.name)));
        };
        if !set.contains(known) {
            set.push(*known);
        }
    }
    set.sort_by_key(|f| FEATURES.iter().position(|k| k == f));
    Ok(Some(set))
}

fn backing(e: &Element, t: &PoolType) -> Result<Option<BackingStore>, XmlError> {
    let Some(b) = e.child("backingStore") else {
        return Ok(None);
    };
    let Some(path) = text_of(b, "path") else {
        return Ok(None);
    };
    Ok(Some(BackingStore {
        path,
        format: vol_format(Some(b), t)?,
        permissions: b
            .child("permissions")
            .map(Permissions::parse)
            .transpose()?
            .unwrap_or_default(),
        timestamps: None,
    }))
}

impl StorageVolDef {
    /// Parses a `<volume>` document for a directory pool.
    pub fn parse(xml: &str) -> Result<StorageVolDef, XmlError> {
        StorageVolDef::from_element(&parse_root(xml, "volume")?, "dir")
    }

    /// Parses a `<volume>` document for a pool of type `pool_type`, validating it
    /// against libvirt's schema first when `opts` asks for it.
    pub fn parse_with(
        xml: &str,
        pool_type: &str,
        opts: crate::ParseOptions,
    ) -> Result<StorageVolDef, XmlError> {
        let e = crate::schema::parse_lenient(xml, "volume", crate::Schema::StorageVol, opts)?;
        StorageVolDef::from_element(&e, pool_type)
    }

    /// Builds a definition from a parsed `<volume>` element, with libvirt's checks in
    /// its order; `pool_type` decides which formats the volume may have.
    pub fn from_element(e: &Element, pool_type: &str) -> Result<StorageVolDef, XmlError> {
        let t = PoolType::find(pool_type).unwrap_or(&super::pool::POOL_TYPES[0]);
        let name = text_of(e, "name").ok_or_else(|| errs::xml("missing volume name element"))?;
        let key = text_of(e, "key");
        let vol_type = match e.attr("type").filter(|t| !t.is_empty()) {
            None => "file",
            Some(v) => VOL_TYPES
                .iter()
                .find(|x| **x == v)
                .ok_or_else(|| errs::unsupported(format!("unknown volume type '{v}'")))?,
        };
        let backing = backing(e, t)?;
        let capacity = size(e, "capacity")?.ok_or_else(|| errs::xml("missing capacity element"))?;
        let allocation = size(e, "allocation")?.unwrap_or(capacity);
        let target = e.child("target");
        let format = vol_format(target, t)?;
        let mut def = StorageVolDef {
            name,
            key,
            vol_type: Some(vol_type.to_string()),
            capacity,
            allocation,
            target_path: target.and_then(|x| text_of(x, "path")),
            format,
            backing,
            ..StorageVolDef::default()
        };
        if let Some(x) = target {
            def.read_target(x)?;
        }
        Ok(def)
    }

    /// The rest of `<target>`: permissions, encryption, compat, nocow, cluster size
    /// and qcow2 features.
    fn read_target(&mut self, x: &Element) -> Result<(), XmlError> {
        self.permissions = x.child("permissions").map(Permissions::parse).transpose()?;
        self.encryption = x.child("encryption").map(parse_encryption).transpose()?;
        self.compat = text_of(x, "compat");
        if let Some(c) = &self.compat {
            check_compat(c)?;
        }
        self.nocow = x.child("nocow").is_some();
        self.cluster_size = cluster_size(x)?.filter(|c| *c > 0);
        self.features = features(x)?;
        if self.features.is_some() && self.compat.is_none() {
            self.compat = Some("1.1".into());
        }
        Ok(())
    }

    /// Formats the definition as libvirt does.
    pub fn to_xml(&self) -> String {
        let mut out = Out::new();
        let t = self.vol_type.as_deref().unwrap_or("file");
        out.open("volume", &Attrs::new().add("type", t));
        out.text("name", &Attrs::new(), &self.name);
        out.opt_text("key", self.key.as_ref());
        if let Some((dev, extents)) = &self.source_extents {
            out.open("source", &Attrs::new());
            out.open("device", &Attrs::new().add("path", dev));
            for (start, end) in extents {
                let (start, end) = (start.to_string(), end.to_string());
                out.empty(
                    "extent",
                    &Attrs::new().add("start", &start).add("end", &end),
                );
            }
            out.close("device");
            out.close("source");
        }
        let bytes = Attrs::new().add("unit", "bytes");
        out.text("capacity", &bytes, &self.capacity.to_string());
        out.text("allocation", &bytes, &self.allocation.to_string());
        if let Some(p) = self.physical.filter(|p| *p > 0) {
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
        if let Some(t) = &self.timestamps {
            t.write(&mut out);
        }
        if let Some(e) = &self.encryption {
            // libvirt writes it open and closed even with nothing inside.
            let mut attrs = Attrs::new();
            for (k, v) in &e.attrs {
                attrs = attrs.add(k, v);
            }
            out.open("encryption", &attrs);
            for c in &e.children {
                c.write(&mut out);
            }
            out.close("encryption");
        }
        out.opt_text("compat", self.compat.as_ref());
        if let Some(c) = self.cluster_size {
            out.text(
                "clusterSize",
                &Attrs::new().add("unit", "B"),
                &c.to_string(),
            );
        }
        if let Some(f) = &self.features {
            out.element_always("features", &Attrs::new(), |o| {
                for name in f {
                    o.empty(name, &Attrs::new());
                }
            });
        }
        out.close("target");
        if let Some(b) = &self.backing {
            out.open("backingStore", &Attrs::new());
            out.opt_text("path", Some(&b.path));
            if let Some(f) = &b.format {
                out.empty("format", &Attrs::new().add("type", f));
            }
            b.permissions.write(&mut out);
            if let Some(t) = &b.timestamps {
                t.write(&mut out);
            }
            out.close("backingStore");
        }
        out.close("volume");
        out.finish()
    }
}
