//! `<disk>` and `<controller>` devices.

use super::info::DeviceInfo;
use crate::out::{Attrs, Out};
use crate::spec::{attr, leaf, node, text, Spec, Value};
use crate::tree::Element;
use crate::XmlError;

/// The children of `e` that `specs` describe, each in canonical form, in `specs` order.
pub(super) fn spec_children(
    e: &Element,
    specs: &[Spec],
    path: &str,
) -> Result<Vec<Element>, XmlError> {
    let mut out = Vec::new();
    for s in specs {
        for c in e.children_named(s.name) {
            out.push(s.parse(c, &format!("{path}/{}", s.name))?);
        }
    }
    Ok(out)
}

/// `<driver>` of a disk.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DiskDriver {
    /// `name='qemu'`.
    pub name: Option<String>,
    /// `type='qcow2'` (image format).
    pub format: Option<String>,
    /// `cache='none'`.
    pub cache: Option<String>,
    /// `error_policy`.
    pub error_policy: Option<String>,
    /// `io='native'`.
    pub io: Option<String>,
    /// `discard='unmap'`.
    pub discard: Option<String>,
    /// The other attributes (`iothread`, `queues`, `detect_zeroes`, ...) as written.
    pub extra: Vec<(String, String)>,
    /// `<metadata_cache><max_size>`: the qcow2 metadata cache's limit in bytes.
    pub metadata_cache_max: Option<u64>,
}

/// `<driver>` attributes in libvirt's order.
const DRIVER_ATTRS: &[&str] = &[
    "name",
    "type",
    "cache",
    "error_policy",
    "rerror_policy",
    "io",
    "ioeventfd",
    "event_idx",
    "copy_on_read",
    "discard",
    "iothread",
    "detect_zeroes",
    "queues",
    "queue_size",
];

const DT: Value = Value::Text;

/// The `<source>` of a disk whose source is not a path (network, volume, nvme,
/// vhostuser), canonical.
const SOURCE: Spec = Spec {
    name: "source",
    attrs: &[
        attr("protocol", DT),
        attr("name", DT),
        attr("query", DT),
        attr("tls", Value::YesNo),
        attr("pool", DT),
        attr("volume", DT),
        attr("mode", DT),
        attr("type", DT),
        attr("managed", Value::YesNo),
        attr("namespace", Value::Unsigned),
        attr("path", DT),
        attr("startupPolicy", DT),
    ],
    children: &[
        leaf(
            "host",
            &[
                attr("name", DT),
                attr("port", DT),
                attr("transport", DT),
                attr("socket", DT),
            ],
        ),
        leaf("identity", &[attr("user", DT), attr("group", DT)]),
        leaf("snapshot", &[attr("name", DT)]),
        leaf("config", &[attr("file", DT)]),
        node("initiator", &[leaf("iqn", &[attr("name", DT)])]),
        leaf("ssl", &[attr("verify", Value::YesNo)]),
        leaf("readahead", &[attr("size", Value::Unsigned)]),
        leaf("timeout", &[attr("seconds", Value::Unsigned)]),
        SLICES,
        leaf(
            "reconnect",
            &[attr("enabled", Value::YesNo), attr("timeout", DT)],
        ),
        Spec {
            name: "auth",
            attrs: &[attr("username", DT)],
            children: &[SECRET],
            text: None,
        },
        leaf(
            "address",
            &[
                attr("domain", DT),
                attr("bus", DT),
                attr("slot", DT),
                attr("function", DT),
            ],
        ),
    ],
    text: None,
};

const SECRET: Spec = leaf(
    "secret",
    &[attr("type", DT), attr("usage", DT), attr("uuid", DT)],
);

/// `<slices>`: the part of the storage the guest sees.
const SLICES: Spec = node(
    "slices",
    &[leaf(
        "slice",
        &[
            attr("type", DT),
            attr("offset", Value::Unsigned),
            attr("size", Value::Unsigned),
        ],
    )],
);

/// Children of a disk `<source>` besides hosts: slices, security labels, auth,
/// persistent reservations, encryption.
const SOURCE_CHILDREN: &[Spec] = &[
    SLICES,
    Spec {
        name: "seclabel",
        attrs: &[attr("model", DT), attr("relabel", Value::YesNo)],
        children: &[text("label", DT)],
        text: None,
    },
    Spec {
        name: "auth",
        attrs: &[attr("username", DT)],
        children: &[SECRET],
        text: None,
    },
    Spec {
        name: "reservations",
        attrs: &[attr("managed", Value::YesNo)],
        children: &[leaf(
            "source",
            &[attr("type", DT), attr("path", DT), attr("mode", DT)],
        )],
        text: None,
    },
    Spec {
        name: "encryption",
        attrs: &[attr("format", DT), attr("engine", DT)],
        children: &[SECRET, CIPHER, IVGEN],
        text: None,
    },
];

/// `<encryption><cipher>`: refused in a domain's disk (see `encryption_cipher`), kept
/// in a snapshot's.
const CIPHER: Spec = leaf(
    "cipher",
    &[
        attr("name", DT),
        attr("size", Value::Unsigned),
        attr("mode", DT),
        attr("hash", DT),
    ],
);

const IVGEN: Spec = leaf("ivgen", &[attr("name", DT), attr("hash", DT)]);

const BACKING_SOURCE: Spec = leaf(
    "source",
    &[attr("file", DT), attr("dev", DT), attr("dir", DT)],
);

/// Children libvirt writes between `<source>` and `<target>`.
const AFTER_SOURCE: &[Spec] = &[
    Spec {
        name: "backingStore",
        attrs: &[attr("type", DT), attr("index", Value::Unsigned)],
        children: &[leaf("format", &[attr("type", DT)]), BACKING_SOURCE],
        text: None,
    },
    leaf(
        "geometry",
        &[
            attr("cyls", Value::Unsigned),
            attr("heads", Value::Unsigned),
            attr("secs", Value::Unsigned),
            attr("trans", DT),
        ],
    ),
    leaf(
        "blockio",
        &[
            attr("logical_block_size", Value::Unsigned),
            attr("physical_block_size", Value::Unsigned),
        ],
    ),
];

const IOTUNE_FIELDS: &[Spec] = &[
    text("total_bytes_sec", Value::Unsigned),
    text("read_bytes_sec", Value::Unsigned),
    text("write_bytes_sec", Value::Unsigned),
    text("total_iops_sec", Value::Unsigned),
    text("read_iops_sec", Value::Unsigned),
    text("write_iops_sec", Value::Unsigned),
    text("total_bytes_sec_max", Value::Unsigned),
    text("read_bytes_sec_max", Value::Unsigned),
    text("write_bytes_sec_max", Value::Unsigned),
    text("total_iops_sec_max", Value::Unsigned),
    text("read_iops_sec_max", Value::Unsigned),
    text("write_iops_sec_max", Value::Unsigned),
    text("size_iops_sec", Value::Unsigned),
    text("group_name", DT),
    text("total_bytes_sec_max_length", Value::Unsigned),
    text("read_bytes_sec_max_length", Value::Unsigned),
    text("write_bytes_sec_max_length", Value::Unsigned),
    text("total_iops_sec_max_length", Value::Unsigned),
    text("read_iops_sec_max_length", Value::Unsigned),
    text("write_iops_sec_max_length", Value::Unsigned),
];

const TRANSIENT: Spec = leaf("transient", &[attr("shareBackingImage", Value::YesNo)]);

/// Children libvirt writes right after `<target>`.
const AFTER_TARGET: &[Spec] = &[node("iotune", IOTUNE_FIELDS)];

/// Children libvirt writes after `<serial>`.
const AFTER_SERIAL: &[Spec] = &[text("wwn", DT), text("vendor", DT), text("product", DT)];

/// One image of a running disk's backing chain as libvirt's live XML shows it: the
/// top's `index` on `<source>`, the others as nested `<backingStore>`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainImage {
    pub index: u32,
    pub format: String,
    pub path: String,
}

/// A `<disk>` device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disk {
    /// `type`: file, block or dir.
    pub disk_type: String,
    /// `device`: disk, cdrom, floppy, lun.
    pub device: String,
    /// `rawio='yes|no'`.
    pub rawio: Option<String>,
    /// `sgio` (filtered; libvirt refuses unfiltered).
    pub sgio: Option<String>,
    /// `snapshot` (internal, external, no, manual).
    pub snapshot: Option<String>,
    /// `<driver>`.
    pub driver: Option<DiskDriver>,
    /// Source path (`file`, `dev` or `dir` attribute by type); none for an empty drive.
    pub source: Option<String>,
    /// `startupPolicy` on `<source>`.
    pub startup_policy: Option<String>,
    /// Children of a path `<source>` (`<seclabel>`, `<auth>`, `<encryption>`), canonical.
    pub source_children: Vec<Element>,
    /// `model` (virtio-transitional, ...).
    pub model: Option<String>,
    /// `<transient/>`, canonical.
    pub transient: Option<Element>,
    /// The whole `<source>` of a network, volume, nvme or vhostuser disk, canonical.
    pub source_element: Option<Element>,
    /// Described children (`<backingStore>`, `<iotune>`, `<wwn>`, ...), canonical, in
    /// libvirt's order.
    pub extras: Vec<Element>,
    /// The running disk's chain, top first (a driver fills it in for the live XML;
    /// never parsed). When set it replaces any `<backingStore>` of the definition.
    pub live_chain: Vec<ChainImage>,
    /// Whether the request's `<encryption>` named a `<cipher>` (refused once the whole
    /// definition is parsed, as libvirt's validation refuses it).
    pub encryption_cipher: bool,
    /// `<target dev>`.
    pub target_dev: String,
    /// `<target bus>` (derived from the device name when absent).
    pub target_bus: String,
    /// `<target tray>` for cdrom/floppy.
    pub tray: Option<String>,
    /// `<target removable>` (usb disks).
    pub removable: Option<String>,
    /// `<target rotation_rate>`.
    pub rotation_rate: Option<u32>,
    /// `<readonly/>`.
    pub readonly: bool,
    /// `<shareable/>`.
    pub shareable: bool,
    /// `<serial>`.
    pub serial: Option<String>,
    /// Boot order, alias, address.
    pub info: DeviceInfo,
}

impl Disk {
    fn source_attr(&self) -> &'static str {
        match self.disk_type.as_str() {
            "block" => "dev",
            "dir" => "dir",
            _ => "file",
        }
    }

    /// Parses `<disk>`.
    pub fn parse(e: &Element) -> Result<Disk, XmlError> {
        let p = "domain/devices/disk";
        let disk_type = e.attr("type").unwrap_or("file").to_string();
        const TYPES: &[&str] = &[
            "file",
            "block",
            "dir",
            "network",
            "volume",
            "nvme",
            "vhostuser",
        ];
        if !TYPES.contains(&disk_type.as_str()) {
            return Err(XmlError::invalid(format!("{p}/@type"), disk_type));
        }
        let no_target = || {
            let src = e.child("source").and_then(|s| {
                ["file", "dev", "dir", "name", "volume"]
                    .iter()
                    .find_map(|a| s.attr(a))
            });
            XmlError::NoTarget(src.unwrap_or_default().to_string())
        };
        let target = e.child("target").ok_or_else(no_target)?;
        let target_dev = target.attr_s("dev").ok_or_else(no_target)?;
        let target_bus = match target.attr("bus") {
            Some(b) => b.to_string(),
            None => default_bus(&target_dev)?,
        };
        check_ivgen(e)?;
        let mut d = Disk {
            disk_type,
            device: e.attr("device").unwrap_or("disk").to_string(),
            rawio: e.attr_s("rawio"),
            sgio: e.attr_s("sgio"),
            // A vhost-user disk cannot be snapshotted; libvirt says so in its output.
            snapshot: e
                .attr_s("snapshot")
                .or_else(|| (e.attr("type") == Some("vhostuser")).then(|| "no".into())),
            driver: e.child("driver").map(parse_driver).transpose()?,
            source: None,
            startup_policy: None,
            source_element: None,
            source_children: Vec::new(),
            model: e.attr_s("model"),
            transient: match e.child("transient") {
                Some(t) => Some(TRANSIENT.parse(t, &format!("{p}/transient"))?),
                None => None,
            },
            extras: Vec::new(),
            live_chain: Vec::new(),
            encryption_cipher: encryptions(e).any(|x| x.child("cipher").is_some()),
            target_dev,
            target_bus,
            tray: target.attr_s("tray"),
            removable: target.attr_s("removable"),
            rotation_rate: target.attr_num(&format!("{p}/target"), "rotation_rate")?,
            readonly: e.child("readonly").is_some(),
            shareable: e.child("shareable").is_some(),
            serial: e.child_text("serial"),
            info: DeviceInfo::parse(e, p)?,
        };
        d.parse_described(e, p)?;
        Ok(d)
    }

    /// The source and the described children.
    fn parse_described(&mut self, e: &Element, p: &str) -> Result<(), XmlError> {
        if let Some(s) = e.child("source") {
            let sp = format!("{p}/source");
            if self.path_source() {
                self.source = s.attr_s(self.source_attr());
                self.startup_policy = s.attr_s("startupPolicy");
                self.source_children = spec_children(s, SOURCE_CHILDREN, &sp)?;
            } else {
                let mut x = SOURCE.parse(s, &sp)?;
                for a in x.children.iter_mut().filter(|c| c.name == "address") {
                    super::generic::pci_source(a);
                }
                host_defaults(&mut x);
                self.source_element = Some(x);
            }
        }
        if let Some(t) = e.child("iotune") {
            check_iotune(t)?;
        }
        for group in [AFTER_SOURCE, AFTER_TARGET, AFTER_SERIAL] {
            self.extras.extend(spec_children(e, group, p)?);
        }
        Ok(())
    }

    /// Whether the source is one path attribute (file, block and dir disks).
    fn path_source(&self) -> bool {
        matches!(self.disk_type.as_str(), "file" | "block" | "dir")
    }

    fn write_extras(&self, out: &mut Out, group: &[Spec]) {
        for x in &self.extras {
            if !self.live_chain.is_empty() && x.name == "backingStore" {
                continue;
            }
            if group.iter().any(|s| s.name == x.name) {
                x.write(out);
            }
        }
    }

    /// Parses a snapshot's `<disk>` (`domainsnapshot/disks/disk`): its type, driver and
    /// source, read as a domain's disk reads them. The snapshot names the disk instead
    /// of giving it a target.
    pub fn parse_snapshot(e: &Element, name: &str) -> Result<Disk, XmlError> {
        let mut x = e.clone();
        x.attrs.retain(|(k, _)| k != "name" && k != "snapshot");
        x.children.retain(|c| c.name != "target");
        x.children.push(Element {
            name: "target".into(),
            attrs: vec![("dev".into(), name.into()), ("bus".into(), "virtio".into())],
            ..Element::default()
        });
        Disk::parse(&x)
    }

    /// Writes `<driver>` and `<source>` as a snapshot's disk has them.
    pub fn write_snapshot_source(&self, out: &mut Out) {
        if let Some(d) = &self.driver {
            d.write(out);
        }
        self.write_source(out);
    }

    fn write_source(&self, out: &mut Out) {
        match &self.source_element {
            Some(s) => s.write(out),
            None => {
                let src = Attrs::new()
                    .opt(self.source_attr(), self.source.as_ref())
                    .opt("startupPolicy", self.startup_policy.as_ref())
                    .opt("index", self.live_chain.first().map(|c| c.index));
                out.element("source", &src, |o| {
                    for c in &self.source_children {
                        c.write(o);
                    }
                });
            }
        }
    }

    /// The live chain below the top: nested `<backingStore>`s ending in an empty one.
    fn write_chain(&self, out: &mut Out) {
        let Some((_, below)) = self.live_chain.split_first() else {
            return;
        };
        for c in below {
            let attrs = Attrs::new().add("type", "file").add("index", c.index);
            out.open("backingStore", &attrs);
            out.empty("format", &Attrs::new().add("type", &c.format));
            out.empty("source", &Attrs::new().add("file", &c.path));
        }
        out.empty("backingStore", &Attrs::new());
        for _ in below {
            out.close("backingStore");
        }
    }

    /// Writes `<disk>`.
    pub fn write(&self, out: &mut Out) {
        let attrs = Attrs::new()
            .add("type", &self.disk_type)
            .add("device", &self.device)
            .opt("model", self.model.as_ref())
            .opt("rawio", self.rawio.as_ref())
            .opt("sgio", self.sgio.as_ref())
            .opt("snapshot", self.snapshot.as_ref());
        out.open("disk", &attrs);
        if let Some(d) = &self.driver {
            d.write(out);
        }
        self.write_source(out);
        self.write_chain(out);
        self.write_extras(out, AFTER_SOURCE);
        let mut t = Attrs::new()
            .add("dev", &self.target_dev)
            .add("bus", &self.target_bus);
        if matches!(self.device.as_str(), "cdrom" | "floppy") {
            t = t.opt("tray", self.tray.as_ref().filter(|t| *t != "closed"));
        }
        t = t
            .opt("removable", self.removable.as_ref())
            .opt("rotation_rate", self.rotation_rate);
        out.empty("target", &t);
        self.write_extras(out, AFTER_TARGET);
        if self.readonly {
            out.empty("readonly", &Attrs::new());
        }
        if self.shareable {
            out.empty("shareable", &Attrs::new());
        }
        if let Some(t) = &self.transient {
            t.write(out);
        }
        out.opt_text("serial", self.serial.as_ref());
        self.write_extras(out, AFTER_SERIAL);
        self.info.write(out, true);
        out.close("disk");
    }
}

/// libvirt's parse-time check of `<iotune>`: every number field an unsigned integer.
/// The `<encryption>` elements of a disk (under `<source>` or the disk itself).
fn encryptions(e: &Element) -> impl Iterator<Item = &Element> {
    e.child("source")
        .and_then(|s| s.child("encryption"))
        .into_iter()
        .chain(e.child("encryption"))
}

/// The storage encryption parser's check: an `<ivgen>` needs a `<cipher>`.
fn check_ivgen(e: &Element) -> Result<(), XmlError> {
    use rvirt_protocol::error::{code, domain};
    if encryptions(e).any(|x| x.child("ivgen").is_some() && x.child("cipher").is_none()) {
        return Err(XmlError::reported(
            code::XML_ERROR,
            Some(domain::STORAGE),
            "XML error: ivgen element found, but cipher is missing",
        ));
    }
    Ok(())
}

fn check_iotune(t: &Element) -> Result<(), XmlError> {
    for c in &t.children {
        let numeric = IOTUNE_FIELDS
            .iter()
            .any(|f| f.name == c.name && matches!(f.text, Some(Value::Unsigned)));
        if numeric && c.text.parse::<u64>().is_err() {
            return Err(XmlError::Message(format!(
                "disk iotune field '{}' must be an integer",
                c.name
            )));
        }
    }
    Ok(())
}

/// libvirt's later check of `<iotune>`: no total limit together with a read or write
/// limit of the same kind.
pub(super) fn iotune_conflicts(d: &Disk) -> Result<(), XmlError> {
    let Some(t) = d.extras.iter().find(|x| x.name == "iotune") else {
        return Ok(());
    };
    let set = |n: &str| t.children.iter().any(|c| c.name == n);
    for kind in ["bytes_sec", "iops_sec", "bytes_sec_max", "iops_sec_max"] {
        if set(&format!("total_{kind}"))
            && (set(&format!("read_{kind}")) || set(&format!("write_{kind}")))
        {
            return Err(XmlError::Message(format!(
                "total and read/write {kind} cannot be set at the same time"
            )));
        }
    }
    Ok(())
}

/// The port libvirt fills in for a network disk's host reached over tcp, by protocol.
const DEFAULT_PORTS: &[(&str, &str)] = &[
    ("nbd", "10809"),
    ("iscsi", "3260"),
    ("gluster", "24007"),
    ("sheepdog", "7000"),
    ("http", "80"),
    ("https", "443"),
    ("ftp", "21"),
    ("ftps", "990"),
    ("tftp", "69"),
    ("ssh", "22"),
    ("vxhs", "9999"),
];

/// libvirt leaves the tcp transport (the default) of a network disk's host unwritten,
/// gives such a host its protocol's default port when it names none, and keeps only the
/// socket of a unix one.
fn host_defaults(source: &mut Element) {
    let port = source
        .attr("protocol")
        .and_then(|p| DEFAULT_PORTS.iter().find(|(name, _)| *name == p))
        .map(|(_, port)| *port);
    for h in source.children.iter_mut().filter(|c| c.name == "host") {
        match h.attr("transport") {
            Some("tcp") => h.attrs.retain(|(k, _)| k != "transport"),
            // A unix socket has neither a host name nor a port.
            Some("unix") => h.attrs.retain(|(k, _)| k != "name" && k != "port"),
            _ => {}
        }
        let Some(port) = port else { continue };
        if h.attr("transport").is_none() && h.attr("port").is_none() {
            let at = h
                .attrs
                .iter()
                .position(|(k, _)| k == "name")
                .map_or(0, |i| i + 1);
            h.attrs.insert(at, ("port".into(), port.into()));
        }
    }
}

fn parse_driver(e: &Element) -> Result<DiskDriver, XmlError> {
    let metadata_cache_max = e
        .child("metadata_cache")
        .and_then(|c| c.child("max_size"))
        .map(|m| crate::storage::scaled_value(&m.text, m.attr("unit"), "./metadata_cache/max_size"))
        .transpose()?;
    Ok(DiskDriver {
        name: e.attr_s("name"),
        format: e.attr_s("type"),
        cache: e.attr_s("cache"),
        error_policy: e.attr_s("error_policy"),
        io: e.attr_s("io"),
        discard: e.attr_s("discard"),
        extra: DRIVER_ATTRS
            .iter()
            .filter(|n| {
                !matches!(
                    **n,
                    "name" | "type" | "cache" | "error_policy" | "io" | "discard"
                )
            })
            .filter_map(|n| e.attr(n).map(|v| (n.to_string(), v.to_string())))
            .collect(),
        metadata_cache_max,
    })
}

impl DiskDriver {
    /// Writes `<driver>` with its attributes in libvirt's order.
    fn write(&self, out: &mut Out) {
        let mut a = Attrs::new();
        for n in DRIVER_ATTRS {
            let v = match *n {
                "name" => self.name.as_deref(),
                "type" => self.format.as_deref(),
                "cache" => self.cache.as_deref(),
                "error_policy" => self.error_policy.as_deref(),
                "io" => self.io.as_deref(),
                "discard" => self.discard.as_deref(),
                _ => self
                    .extra
                    .iter()
                    .find(|(k, _)| k == n)
                    .map(|(_, v)| v.as_str()),
            };
            a = a.opt(n, v);
        }
        out.element("driver", &a, |o| {
            if let Some(bytes) = self.metadata_cache_max {
                o.open("metadata_cache", &Attrs::new());
                o.text(
                    "max_size",
                    &Attrs::new().add("unit", "bytes"),
                    &bytes.to_string(),
                );
                o.close("metadata_cache");
            }
        });
    }
}

/// The bus libvirt infers from a disk's target device name.
fn default_bus(dev: &str) -> Result<String, XmlError> {
    let bus = if dev.starts_with("hd") {
        "ide"
    } else if dev.starts_with("sd") {
        "scsi"
    } else if dev.starts_with("vd") {
        "virtio"
    } else if dev.starts_with("xvd") {
        "xen"
    } else if dev.starts_with("fd") {
        "fdc"
    } else if dev.starts_with("ubd") {
        "uml"
    } else {
        return Err(XmlError::invalid("domain/devices/disk/target/@bus", dev));
    };
    Ok(bus.to_string())
}

/// A `<controller>` device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controller {
    /// `type`: usb, pci, ide, sata, scsi, virtio-serial, ...
    pub controller_type: String,
    /// `index`.
    pub index: u32,
    /// `model`.
    pub model: Option<String>,
    /// `ports` (virtio-serial, usb).
    pub ports: Option<u32>,
    /// `vectors` (virtio-serial).
    pub vectors: Option<u32>,
    /// `maxGrantFrames` (xenbus).
    pub max_grant_frames: Option<u32>,
    /// `maxEventChannels` (xenbus).
    pub max_event_channels: Option<u32>,
    /// `<model>`, `<target>` and `<driver>` children, in canonical form.
    pub children: Vec<Element>,
    /// Alias, USB companion master and address.
    pub info: DeviceInfo,
    /// Added by the parser for devices that need it, not written in the document (a
    /// driver's post-parse puts its own implicit controllers before these, as libvirt).
    pub implicit: bool,
}

const CT: Value = Value::Text;

/// The described children of `<controller>`, in libvirt's order.
const CONTROLLER_CHILDREN: &[Spec] = &[
    leaf("model", &[attr("name", CT)]),
    Spec {
        name: "target",
        attrs: &[
            attr("chassisNr", CT),
            attr("chassis", CT),
            attr("port", CT),
            attr("busNr", CT),
            attr("hotplug", Value::OnOff),
            attr("index", CT),
            attr("memReserve", CT),
        ],
        children: &[text("node", Value::Unsigned)],
        text: None,
    },
    leaf(
        "driver",
        &[
            attr("queues", Value::Unsigned),
            attr("cmd_per_lun", Value::Unsigned),
            attr("max_sectors", Value::Unsigned),
            attr("ioeventfd", Value::OnOff),
            attr("iothread", Value::Unsigned),
            attr("iommu", Value::OnOff),
            attr("ats", Value::OnOff),
            attr("packed", Value::OnOff),
        ],
    ),
    Spec {
        name: "pcihole64",
        attrs: &[attr("unit", Value::Unit)],
        children: &[],
        text: Some(Value::Kib),
    },
];

impl Controller {
    /// A controller of `kind` with `index` and nothing else set.
    pub fn new(kind: &str, index: u32) -> Controller {
        Controller {
            controller_type: kind.to_string(),
            index,
            model: None,
            ports: None,
            vectors: None,
            max_grant_frames: None,
            max_event_channels: None,
            children: Vec::new(),
            info: DeviceInfo::default(),
            implicit: false,
        }
    }

    /// Parses `<controller>`.
    pub fn parse(e: &Element, index_default: u32) -> Result<Controller, XmlError> {
        let p = "domain/devices/controller";
        let controller_type = e.attr("type").unwrap_or("ide").to_string();
        // libvirt reads the index as a C int, and allows PCI buses 0 to 255.
        let index = match e.attr("index") {
            Some(v) => v
                .trim()
                .parse::<i32>()
                .ok()
                .and_then(|i| u32::try_from(i).ok())
                .ok_or_else(|| {
                    XmlError::Message(format!(
                        "Invalid value for attribute 'index' in element 'controller': '{v}'. \
                         Expected integer value"
                    ))
                })?,
            None => index_default,
        };
        if controller_type == "pci" && index > 255 {
            return Err(XmlError::ConfigUnsupported(format!(
                "PCI controller index {index} too high, maximum is 255"
            )));
        }
        Ok(Controller {
            controller_type,
            index,
            model: e.attr_s("model"),
            ports: e.attr_num(p, "ports")?,
            vectors: e.attr_num(p, "vectors")?,
            max_grant_frames: e.attr_num(p, "maxGrantFrames")?,
            max_event_channels: e.attr_num(p, "maxEventChannels")?,
            children: spec_children(e, CONTROLLER_CHILDREN, p)?,
            info: DeviceInfo::parse(e, p)?,
            implicit: false,
        })
    }

    /// Writes `<controller>`.
    pub fn write(&self, out: &mut Out) {
        let a = Attrs::new()
            .add("type", &self.controller_type)
            .add("index", self.index)
            .opt("model", self.model.as_ref())
            .opt("ports", self.ports)
            .opt("vectors", self.vectors)
            .opt("maxGrantFrames", self.max_grant_frames)
            .opt("maxEventChannels", self.max_event_channels);
        out.element_always("controller", &a, |o| {
            for c in &self.children {
                c.write(o);
            }
            self.info.write(o, false)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::parse_document;

    fn disk_rt(xml: &str) -> String {
        let d = Disk::parse(&parse_document(xml).unwrap()).unwrap();
        let mut o = Out::new();
        d.write(&mut o);
        o.finish()
    }

    #[test]
    fn controller_indexes_stay_in_libvirts_range() {
        let ctl = |x: &str| Controller::parse(&parse_document(x).unwrap(), 0);
        let e = ctl("<controller type='pci' index='4000000000' model='pci-bridge'/>").unwrap_err();
        assert_eq!(
            e.to_string(),
            "XML error: Invalid value for attribute 'index' in element 'controller': \
             '4000000000'. Expected integer value"
        );
        let e = ctl("<controller type='pci' index='300' model='pci-bridge'/>").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unsupported configuration: PCI controller index 300 too high, maximum is 255"
        );
        assert_eq!(
            ctl("<controller type='pci' index='255'/>").unwrap().index,
            255
        );
        assert_eq!(
            ctl("<controller type='usb' index='300'/>").unwrap().index,
            300
        );
    }

    #[test]
    fn disk_full() {
        let x = "<disk type='file' device='disk'>\n  <driver name='qemu' type='qcow2' cache='none' io='native'/>\n  <source file='/var/lib/a.qcow2'/>\n  <target dev='vda' bus='virtio'/>\n  <boot order='1'/>\n  <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>\n</disk>\n";
        assert_eq!(disk_rt(x), x);
        let b = "<disk type='block' device='cdrom'>\n  <source dev='/dev/sr0'/>\n  <target dev='hdb' bus='ide'/>\n  <readonly/>\n</disk>\n";
        assert_eq!(disk_rt(b), b);
    }

    #[test]
    fn disk_defaults() {
        let out = disk_rt("<disk type='file'><source file='/x'/><target dev='hda'/></disk>");
        assert!(out.contains("device='disk'"));
        assert!(out.contains("<target dev='hda' bus='ide'/>"));
        let e = parse_document("<disk type='file'><source file='/x'/></disk>").unwrap();
        assert_eq!(Disk::parse(&e), Err(XmlError::NoTarget("/x".into())));
        let e = parse_document("<disk type='file'><target dev='vda'/><frob/></disk>").unwrap();
        assert!(Disk::parse(&e).is_ok());
    }

    #[test]
    fn controller_round_trip() {
        let x = "<controller type='usb' index='0' model='piix3-uhci'>\n  <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x2'/>\n</controller>\n";
        let c = Controller::parse(&parse_document(x).unwrap(), 0).unwrap();
        let mut o = Out::new();
        c.write(&mut o);
        assert_eq!(o.finish(), x);
    }
}
