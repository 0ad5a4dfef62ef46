//! Devices no driver reads, described declaratively (see [`crate::spec`]): sound, audio,
//! host devices, filesystems, smartcards, USB redirection and hubs, TPMs, NVRAM, panic
//! notifiers, shared memory, IOMMUs, vsock and leases. Each is kept as its canonical
//! element plus the common [`DeviceInfo`] (alias, address, boot order), which libvirt
//! writes last.

use super::info::DeviceInfo;
use crate::out::{Attrs, Out};
use crate::spec::{attr, leaf, node, text, AttrSpec, Spec, Value};
use crate::tree::Element;
use crate::XmlError;

/// A described device: its canonical element (without alias, address, boot) and info.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenericDevice {
    /// The element in canonical form.
    pub element: Element,
    /// Boot order, alias, address.
    pub info: DeviceInfo,
}

const T: Value = Value::Text;
const U: Value = Value::Unsigned;

const HOSTDEV_ADDR: &[AttrSpec] = &[
    attr("uuid", T),
    attr("domain", T),
    attr("bus", T),
    attr("device", T),
    attr("slot", T),
    attr("function", T),
    attr("target", T),
    attr("unit", T),
];

const AUDIO_IO: &[AttrSpec] = &[
    attr("mixingEngine", Value::YesNo),
    attr("fixedSettings", Value::YesNo),
    attr("voices", U),
    attr("bufferLength", U),
    attr("name", T),
    attr("streamName", T),
    attr("latency", U),
    attr("dev", T),
    attr("bufferCount", U),
    attr("tryPoll", Value::YesNo),
    attr("serverName", T),
    attr("clientName", T),
    attr("connectPorts", T),
    attr("exactName", Value::YesNo),
];

/// An audio stream's `<input>`/`<output>`: every backend's attributes (a document names
/// only its own backend's) and the fixed `<settings>`.
const AUDIO_STREAM: &[Spec] = &[
    Spec {
        name: "input",
        attrs: AUDIO_IO,
        children: &[AUDIO_SETTINGS],
        text: None,
    },
    Spec {
        name: "output",
        attrs: AUDIO_IO,
        children: &[AUDIO_SETTINGS],
        text: None,
    },
];

const AUDIO_SETTINGS: Spec = leaf(
    "settings",
    &[attr("frequency", U), attr("channels", U), attr("format", T)],
);

const ROM: Spec = leaf(
    "rom",
    &[
        attr("enabled", Value::YesNo),
        attr("bar", Value::OnOff),
        attr("file", T),
    ],
);

/// A character device source as smartcards and USB redirection take it.
const CHR_SOURCE: Spec = leaf(
    "source",
    &[
        attr("mode", T),
        attr("host", T),
        attr("service", T),
        attr("path", T),
    ],
);

const SIZED_SIZE: Spec = Spec {
    name: "size",
    attrs: &[attr("unit", T)],
    children: &[],
    text: Some(U),
};

const KIB_UNIT: &[AttrSpec] = &[attr("unit", Value::Unit)];

/// A memory amount written in KiB with `unit='KiB'`, whatever unit the document used.
const fn kib(name: &'static str) -> Spec {
    Spec {
        name,
        attrs: KIB_UNIT,
        children: &[],
        text: Some(Value::Kib),
    }
}

/// A filesystem space limit: any unit read, written in bytes by [`space_limits`].
const SPACE_HARD: Spec = Spec {
    name: "space_hard_limit",
    attrs: &[attr("unit", T)],
    children: &[],
    text: Some(T),
};

const SPACE_SOFT: Spec = Spec {
    name: "space_soft_limit",
    ..SPACE_HARD
};

const SIZED_PAGE: Spec = Spec {
    name: "pagesize",
    attrs: &[attr("unit", T)],
    children: &[],
    text: Some(U),
};

/// The described devices, each with its rank in libvirt's `<devices>` order.
pub const DEVICES: &[(Spec, u8)] = &[
    (
        Spec {
            name: "lease",
            attrs: &[],
            children: &[
                text("lockspace", T),
                text("key", T),
                leaf("target", &[attr("path", T), attr("offset", U)]),
            ],
            text: None,
        },
        super::devices::RANK_LEASE,
    ),
    (
        Spec {
            name: "filesystem",
            attrs: &[
                attr("type", T),
                attr("accessmode", T),
                attr("model", T),
                attr("multidevs", T),
                attr("fmode", T),
                attr("dmode", T),
            ],
            children: &[
                leaf(
                    "driver",
                    &[
                        attr("type", T),
                        attr("format", T),
                        attr("queue", U),
                        attr("wrpolicy", T),
                    ],
                ),
                Spec {
                    name: "binary",
                    attrs: &[attr("path", T), attr("xattr", Value::OnOff)],
                    children: &[
                        leaf("cache", &[attr("mode", T)]),
                        leaf("sandbox", &[attr("mode", T)]),
                        leaf(
                            "lock",
                            &[attr("posix", Value::OnOff), attr("flock", Value::OnOff)],
                        ),
                        leaf("thread_pool", &[attr("size", U)]),
                    ],
                    text: None,
                },
                leaf(
                    "source",
                    &[
                        attr("dir", T),
                        attr("file", T),
                        attr("dev", T),
                        attr("name", T),
                        attr("usage", U),
                        attr("units", T),
                        attr("socket", T),
                    ],
                ),
                leaf("target", &[attr("dir", T)]),
                leaf("readonly", &[]),
                SPACE_HARD,
                SPACE_SOFT,
            ],
            text: None,
        },
        super::devices::RANK_FILESYSTEM,
    ),
    (
        Spec {
            name: "smartcard",
            attrs: &[attr("mode", T), attr("type", T)],
            children: &[
                text("certificate", T),
                text("database", T),
                CHR_SOURCE,
                leaf("protocol", &[attr("type", T)]),
            ],
            text: None,
        },
        super::devices::RANK_SMARTCARD,
    ),
    (
        Spec {
            name: "tpm",
            attrs: &[attr("model", T)],
            children: &[Spec {
                name: "backend",
                attrs: &[
                    attr("type", T),
                    attr("version", T),
                    attr("persistent_state", Value::YesNo),
                ],
                children: &[
                    leaf("device", &[attr("path", T)]),
                    leaf(
                        "source",
                        &[attr("type", T), attr("mode", T), attr("path", T)],
                    ),
                    leaf("encryption", &[attr("secret", T)]),
                    node(
                        "active_pcr_banks",
                        &[
                            leaf("sha1", &[]),
                            leaf("sha256", &[]),
                            leaf("sha384", &[]),
                            leaf("sha512", &[]),
                        ],
                    ),
                ],
                text: None,
            }],
            text: None,
        },
        super::devices::RANK_TPM,
    ),
    (
        Spec {
            name: "sound",
            attrs: &[attr("model", T)],
            children: &[
                leaf("codec", &[attr("type", T)]),
                leaf("audio", &[attr("id", U)]),
            ],
            text: None,
        },
        super::devices::RANK_SOUND,
    ),
    (
        Spec {
            name: "audio",
            attrs: &[
                attr("id", U),
                attr("type", T),
                attr("timerPeriod", U),
                attr("serverName", T),
                attr("driver", T),
                attr("path", T),
                attr("runtimeDir", T),
                attr("socketDir", T),
                attr("tryMMap", Value::YesNo),
                attr("exclusive", Value::YesNo),
                attr("dspPolicy", U),
            ],
            children: AUDIO_STREAM,
            text: None,
        },
        super::devices::RANK_AUDIO,
    ),
    (
        Spec {
            name: "hostdev",
            attrs: &[
                attr("mode", T),
                attr("type", T),
                attr("managed", Value::YesNo),
                attr("sgio", T),
                attr("rawio", Value::YesNo),
                attr("model", T),
                attr("display", Value::OnOff),
            ],
            children: &[
                leaf("driver", &[attr("name", T)]),
                Spec {
                    name: "source",
                    attrs: &[
                        attr("protocol", T),
                        attr("name", T),
                        attr("wwpn", T),
                        attr("startupPolicy", T),
                    ],
                    children: &[
                        leaf("host", &[attr("name", T), attr("port", T)]),
                        Spec {
                            name: "auth",
                            attrs: &[attr("username", T)],
                            children: &[leaf(
                                "secret",
                                &[attr("type", T), attr("usage", T), attr("uuid", T)],
                            )],
                            text: None,
                        },
                        node("initiator", &[leaf("iqn", &[attr("name", T)])]),
                        leaf("vendor", &[attr("id", T)]),
                        leaf("product", &[attr("id", T)]),
                        leaf("adapter", &[attr("name", T)]),
                        leaf("address", HOSTDEV_ADDR),
                        text("block", T),
                        text("char", T),
                        text("interface", T),
                    ],
                    text: None,
                },
                leaf("readonly", &[]),
                leaf("shareable", &[]),
            ],
            text: None,
        },
        super::devices::RANK_HOSTDEV,
    ),
    (
        Spec {
            name: "redirdev",
            attrs: &[attr("bus", T), attr("type", T)],
            children: &[CHR_SOURCE, leaf("protocol", &[attr("type", T)])],
            text: None,
        },
        super::devices::RANK_REDIRDEV,
    ),
    (
        node(
            "redirfilter",
            &[leaf(
                "usbdev",
                &[
                    attr("class", T),
                    attr("vendor", T),
                    attr("product", T),
                    attr("version", T),
                    attr("allow", Value::YesNo),
                ],
            )],
        ),
        super::devices::RANK_REDIRFILTER,
    ),
    (leaf("hub", &[attr("type", T)]), super::devices::RANK_HUB),
    (leaf("nvram", &[]), super::devices::RANK_NVRAM),
    (
        leaf("panic", &[attr("model", T)]),
        super::devices::RANK_PANIC,
    ),
    (
        Spec {
            name: "shmem",
            attrs: &[attr("name", T), attr("role", T)],
            children: &[
                leaf("model", &[attr("type", T)]),
                Spec {
                    name: "size",
                    attrs: &[attr("unit", T)],
                    children: &[],
                    text: Some(U),
                },
                leaf("server", &[attr("path", T)]),
                leaf(
                    "msi",
                    &[attr("vectors", U), attr("ioeventfd", Value::OnOff)],
                ),
            ],
            text: None,
        },
        super::devices::RANK_SHMEM,
    ),
    (
        Spec {
            name: "memory",
            attrs: &[
                attr("model", T),
                attr("access", T),
                attr("discard", Value::YesNo),
            ],
            children: &[
                Spec {
                    name: "source",
                    attrs: &[],
                    children: &[
                        text("nodemask", T),
                        SIZED_PAGE,
                        text("path", T),
                        kib("alignsize"),
                        leaf("pmem", &[]),
                    ],
                    text: None,
                },
                Spec {
                    name: "target",
                    attrs: &[attr("dynamicMemslots", Value::YesNo)],
                    children: &[
                        SIZED_SIZE,
                        text("node", U),
                        kib("block"),
                        kib("requested"),
                        Spec {
                            name: "label",
                            attrs: &[],
                            children: &[SIZED_SIZE],
                            text: None,
                        },
                        leaf("readonly", &[]),
                    ],
                    text: None,
                },
            ],
            text: None,
        },
        super::devices::RANK_MEMORY,
    ),
    (
        Spec {
            name: "iommu",
            attrs: &[attr("model", T)],
            children: &[leaf(
                "driver",
                &[
                    attr("intremap", Value::OnOff),
                    attr("caching_mode", Value::OnOff),
                    attr("eim", Value::OnOff),
                    attr("iotlb", Value::OnOff),
                    attr("aw_bits", U),
                ],
            )],
            text: None,
        },
        super::devices::RANK_IOMMU,
    ),
    (
        Spec {
            name: "vsock",
            attrs: &[attr("model", T)],
            children: &[leaf(
                "cid",
                &[attr("auto", Value::YesNo), attr("address", U)],
            )],
            text: None,
        },
        super::devices::RANK_VSOCK,
    ),
];

/// The description of device element `name`, with its rank, when it is one of [`DEVICES`].
pub fn lookup(name: &str) -> Option<&'static (Spec, u8)> {
    DEVICES.iter().find(|(s, _)| s.name == name)
}

impl GenericDevice {
    /// Parses `e` against `spec`, keeps its info apart and fills libvirt's defaults.
    pub fn parse(e: &Element, spec: &Spec) -> Result<GenericDevice, XmlError> {
        let path = format!("domain/devices/{}", spec.name);
        required(e)?;
        let mut element = spec.parse(e, &path)?;
        if spec.name == "filesystem" {
            space_limits(&mut element, &path)?;
        }
        if spec.name == "tpm" {
            pcr_banks(e, &mut element)?;
        }
        defaults(&mut element);
        let mut info = DeviceInfo::parse(e, &path)?;
        if let (Some(r), "hostdev") = (e.child("rom"), spec.name) {
            info.rom = Some(Box::new(ROM.parse(r, &format!("{path}/rom"))?));
        }
        Ok(GenericDevice { element, info })
    }

    /// The value of attribute `name` of the device element.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.element.attr(name)
    }

    /// Writes the device, its info last.
    pub fn write(&self, out: &mut Out) {
        let e = &self.element;
        let mut attrs = Attrs::new();
        for (k, v) in &e.attrs {
            attrs = attrs.add(k, v);
        }
        let body = |o: &mut Out| {
            for c in &e.children {
                c.write(o);
            }
            self.info.write(o, true);
        };
        if matches!(e.name.as_str(), "nvram" | "redirdev") {
            // libvirt opens and closes these even when they hold nothing.
            out.open(&e.name, &attrs);
            body(out);
            out.close(&e.name);
        } else {
            out.element_always(&e.name, &attrs, body);
        }
    }
}

pub(super) fn missing_attr(attr: &str, element: &str) -> XmlError {
    XmlError::Message(format!(
        "Missing required attribute '{attr}' in element '{element}'"
    ))
}

/// libvirt's refusals of described devices missing what they need.
fn required(e: &Element) -> Result<(), XmlError> {
    let has = |a: &str| e.attr(a).is_some();
    let child = |c: &str| e.child(c).is_some();
    let msg = |m: &str| Err(XmlError::Message(m.to_string()));
    match e.name.as_str() {
        "sound" if !has("model") => Err(missing_attr("model", "sound")),
        "audio" if !has("type") => Err(missing_attr("type", "audio")),
        "iommu" if !has("model") => Err(missing_attr("model", "iommu")),
        "smartcard" if !has("mode") => Err(missing_attr("mode", "smartcard")),
        "tpm" if !child("backend") => msg("missing TPM device backend"),
        "shmem" if !has("name") => msg("shmem element must contain 'name' attribute"),
        "lease" if !child("key") => msg("Missing 'key' element for lease"),
        "redirdev" if !has("type") => Err(XmlError::Internal("missing type in redirdev".into())),
        "hub" if !has("type") => Err(XmlError::Internal("missing hub device type".into())),
        "hostdev" if e.attr("mode").unwrap_or("subsystem") == "subsystem" => {
            if !has("type") {
                msg("missing source address type")
            } else if !child("source") {
                msg("Missing <source> element in hostdev device")
            } else {
                scsi_host_source(e)
            }
        }
        "filesystem" => {
            let src = e.child("source").and_then(|s| {
                ["dir", "file", "dev", "name", "usage", "socket"]
                    .iter()
                    .find_map(|a| s.attr(a))
            });
            match (src, e.child("target").and_then(|t| t.attr("dir"))) {
                (None, _) => Err(XmlError::NoSource(String::new())),
                (Some(s), None) => Err(XmlError::NoTarget(s.to_string())),
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// A SCSI hostdev on a host adapter (not iSCSI) names the adapter, as libvirt requires.
fn scsi_host_source(e: &Element) -> Result<(), XmlError> {
    let src = e.child("source");
    if e.attr("type") != Some("scsi") || src.and_then(|s| s.attr("protocol")) == Some("iscsi") {
        return Ok(());
    }
    let text = match src.and_then(|s| s.child("adapter")) {
        None => "'adapter' must be specified for scsi hostdev source",
        Some(a) if a.attr("name").is_none() => {
            "'adapter' name must be specified for scsi hostdev source"
        }
        Some(_) => return Ok(()),
    };
    Err(XmlError::Message(text.to_string()))
}

/// A shared memory size as libvirt writes it: in MiB.
fn shmem_size(e: &mut Element) {
    for s in e.children.iter_mut().filter(|c| c.name == "size") {
        if let Ok(kib) = crate::units::to_kib("domain/devices/shmem/size", &s.text, s.attr("unit"))
        {
            s.text = (kib / 1024).to_string();
            s.attrs = vec![("unit".into(), "M".into())];
        }
    }
}

/// A host PCI address written the way libvirt formats it (`0x0000`, `0x06`, `0x0`).
pub(super) fn pci_source(a: &mut Element) {
    for (k, v) in a.attrs.iter_mut() {
        let width = match k.as_str() {
            "domain" => 4,
            "bus" | "slot" => 2,
            "function" => 1,
            _ => continue,
        };
        let n = match v.strip_prefix("0x") {
            Some(h) => u32::from_str_radix(h, 16),
            None => v.parse(),
        };
        if let Ok(n) = n {
            *v = format!("0x{n:0width$x}");
        }
    }
}

fn set_default(e: &mut Element, name: &str, value: &str, at: usize) {
    if e.attr(name).is_none() {
        let at = at.min(e.attrs.len());
        e.attrs.insert(at, (name.to_string(), value.to_string()));
    }
}

/// libvirt's parse defaults for the described devices.
/// A USB release number as libvirt writes it: major and minor read as hexadecimal
/// (binary-coded decimal), the minor in two digits (`2.0` is `2.00`).
fn usb_version(v: &str) -> String {
    let (major, minor) = v.split_once('.').unwrap_or((v, "0"));
    match (
        u32::from_str_radix(major, 16),
        u32::from_str_radix(minor, 16),
    ) {
        (Ok(a), Ok(b)) => format!("{a:x}.{b:02x}"),
        _ => v.to_string(),
    }
}

/// A filesystem's space limits in bytes (their default unit), as libvirt writes them.
/// The PCR banks of an emulated TPM, as libvirt takes them: only a TPM 2.0 emulator has
/// them, an empty list or another backend's list is dropped, an unknown bank refused.
/// `raw` is the document's `<tpm>`, `tpm` the parsed one (which no longer holds unknown
/// banks).
fn pcr_banks(raw: &Element, tpm: &mut Element) -> Result<(), XmlError> {
    let Some(banks) = raw
        .child("backend")
        .and_then(|b| b.child("active_pcr_banks"))
    else {
        return Ok(());
    };
    let Some(backend) = tpm.children.iter_mut().find(|c| c.name == "backend") else {
        return Ok(());
    };
    if backend.attr("type") == Some("emulator") {
        const KNOWN: [&str; 4] = ["sha1", "sha256", "sha384", "sha512"];
        if let Some(bad) = banks
            .children
            .iter()
            .find(|c| !KNOWN.contains(&c.name.as_str()))
        {
            return Err(XmlError::ConfigUnsupported(format!(
                "Unsupported PCR banks '{}'",
                bad.name
            )));
        }
        if !banks.children.is_empty() {
            if backend.attr("version") != Some("2.0") {
                return Err(XmlError::Message(
                    "<active_pcr_banks/> requires TPM version '2.0'".into(),
                ));
            }
            return Ok(());
        }
    }
    backend.children.retain(|c| c.name != "active_pcr_banks");
    Ok(())
}

fn space_limits(fs: &mut Element, path: &str) -> Result<(), XmlError> {
    for c in fs.children.iter_mut() {
        if !c.name.starts_with("space_") {
            continue;
        }
        let p = format!("{path}/{}", c.name);
        let bytes = crate::units::to_bytes(&p, &c.text, c.attr("unit"), "bytes")?;
        c.text = bytes.to_string();
        c.attrs = vec![("unit".into(), "bytes".into())];
    }
    Ok(())
}

fn defaults(e: &mut Element) {
    match e.name.as_str() {
        "memory" if e.attr("model") == Some("virtio-pmem") => {
            set_default(e, "access", "shared", 1);
        }
        "audio" => {
            // libvirt writes a stream only when something of it is set.
            e.children
                .retain(|c| !c.attrs.is_empty() || !c.children.is_empty());
        }
        "filesystem" => {
            set_default(e, "type", "mount", 0);
            set_default(e, "accessmode", "passthrough", 1);
        }
        "hostdev" if e.attr("mode").unwrap_or("subsystem") == "subsystem" => {
            set_default(e, "mode", "subsystem", 0);
            set_default(e, "managed", "no", 2);
            if e.attr("type") == Some("pci") {
                for s in e.children.iter_mut().filter(|c| c.name == "source") {
                    for a in s.children.iter_mut().filter(|c| c.name == "address") {
                        pci_source(a);
                    }
                }
            }
        }
        "redirfilter" => {
            for u in e.children.iter_mut() {
                for (k, v) in u.attrs.iter_mut() {
                    if k == "version" {
                        *v = usb_version(v);
                        continue;
                    }
                    let width = match k.as_str() {
                        "class" => 2,
                        "vendor" | "product" => 4,
                        _ => continue,
                    };
                    let n = match v.strip_prefix("0x") {
                        Some(h) => u32::from_str_radix(h, 16),
                        None => v.parse(),
                    };
                    if let Ok(n) = n {
                        *v = format!("0x{n:0width$X}");
                    }
                }
            }
        }
        "redirdev"
            if e.attr("type") == Some("tcp")
                && !e.children.iter().any(|c| c.name == "protocol") =>
        {
            let mut p = Element {
                name: "protocol".into(),
                ..Element::default()
            };
            p.attrs.push(("type".into(), "raw".into()));
            let at = e
                .children
                .iter()
                .position(|c| c.name == "source")
                .map_or(0, |i| i + 1);
            e.children.insert(at, p);
        }
        "shmem" => {
            shmem_size(e);
            if e.children.iter().any(|c| c.name == "model") {
                return;
            }
            let mut m = Element {
                name: "model".into(),
                ..Element::default()
            };
            m.attrs.push(("type".into(), "ivshmem".into()));
            e.children.insert(0, m);
        }
        "vsock" if !e.children.iter().any(|c| c.name == "cid") => {
            let mut c = Element {
                name: "cid".into(),
                ..Element::default()
            };
            c.attrs.push(("auto".into(), "yes".into()));
            e.children.push(c);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::parse_document;

    fn rt(xml: &str) -> String {
        let e = parse_document(xml).unwrap();
        let (spec, _) = lookup(&e.name).unwrap();
        let mut o = Out::new();
        GenericDevice::parse(&e, spec).unwrap().write(&mut o);
        o.finish()
    }

    #[test]
    fn canonical_with_defaults() {
        assert_eq!(
            rt("<hostdev type='pci'><source><address slot='2' bus='6' domain='0' function='0'/></source><frob/></hostdev>"),
            "<hostdev mode='subsystem' type='pci' managed='no'>\n  <source>\n    \
             <address domain='0x0000' bus='0x06' slot='0x02' function='0x0'/>\n  </source>\n</hostdev>\n"
        );
        assert_eq!(
            rt("<filesystem><target dir='b'/><source dir='/a'/></filesystem>"),
            "<filesystem type='mount' accessmode='passthrough'>\n  <source dir='/a'/>\n  \
             <target dir='b'/>\n</filesystem>\n"
        );
        assert_eq!(
            rt("<shmem name='s'><size unit='KiB'>4096</size></shmem>"),
            "<shmem name='s'>\n  <model type='ivshmem'/>\n  <size unit='M'>4</size>\n</shmem>\n"
        );
        assert_eq!(rt("<nvram/>"), "<nvram>\n</nvram>\n");
    }
}
