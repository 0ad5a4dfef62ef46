//! xl's device specification strings (xl-disk-configuration, xl.cfg's vif, pci, vfb
//! and serial settings): parsed into plain values and formatted back, so a round trip
//! can compare what the strings mean rather than how they are written.

use crate::error::XenError;

/// The longest specification string accepted.
pub const MAX_SPEC: usize = 4096;

fn spec_err(kind: &str, spec: &str, why: &str) -> XenError {
    XenError::Spec(format!("{kind} specification '{spec}': {why}"))
}

/// Splits `a,b=c, d` into trimmed items; `target=` swallows the rest, commas and all.
fn items(spec: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = spec;
    while !rest.is_empty() {
        let trimmed = rest.trim_start();
        if let Some(t) = trimmed.strip_prefix("target=") {
            out.push(format!("target={}", t.trim()));
            break;
        }
        match trimmed.split_once(',') {
            Some((item, more)) => {
                out.push(item.trim().to_string());
                rest = more;
            }
            None => {
                out.push(trimmed.trim().to_string());
                break;
            }
        }
    }
    out
}

/// A disk (xl-disk-configuration).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Disk {
    /// The backing file or device; None for an empty CD-ROM drive.
    pub target: Option<String>,
    /// raw, qcow2, qcow, vhd, ...
    pub format: String,
    pub vdev: String,
    pub readonly: bool,
    pub cdrom: bool,
    /// phy, qdisk, tap (inferred when not given: phy for /dev paths, qdisk otherwise).
    pub backend: String,
}

fn backend_prefix(target: &str) -> (Option<(&'static str, Option<&'static str>)>, &str) {
    const PREFIXES: &[(&str, &str, Option<&str>)] = &[
        ("phy:", "phy", None),
        ("file:", "qdisk", None),
        ("qdisk:", "qdisk", None),
        ("tap:aio:", "tap", Some("raw")),
        ("tap:qcow2:", "tap", Some("qcow2")),
        ("tap:qcow:", "tap", Some("qcow")),
        ("tap:vhd:", "tap", Some("vhd")),
        ("tap2:tapdisk:aio:", "tap", Some("raw")),
    ];
    for (p, b, f) in PREFIXES {
        if let Some(rest) = target.strip_prefix(p) {
            return (Some((b, *f)), rest);
        }
    }
    (None, target)
}

impl Disk {
    pub fn parse(spec: &str) -> Result<Disk, XenError> {
        if spec.len() > MAX_SPEC {
            return Err(spec_err("disk", "...", "too long"));
        }
        let mut d = Disk::default();
        let (mut backend, mut format, mut access) = (None, None, None);
        let mut positional = Vec::new();
        for item in items(spec) {
            match item.split_once('=') {
                Some((k, v)) => match k.trim() {
                    "target" => d.target = Some(v.to_string()),
                    "format" => format = Some(v.to_string()),
                    "vdev" => d.vdev = v.to_string(),
                    "access" => access = Some(v.to_string()),
                    "devtype" => d.cdrom = v == "cdrom",
                    "backendtype" => backend = Some(v.to_string()),
                    "script" | "backend" | "discard" | "no-discard" => {}
                    other => return Err(spec_err("disk", spec, &format!("unknown key {other}"))),
                },
                None if item == "cdrom" => d.cdrom = true,
                None => positional.push(item),
            }
        }
        let fields: Vec<Option<&mut Option<String>>> = match positional.len() {
            0 => Vec::new(),
            1 => vec![None],
            2 => vec![None, Some(&mut format)],
            3 => vec![None, None, Some(&mut access)],
            4 => vec![None, Some(&mut format), None, Some(&mut access)],
            _ => return Err(spec_err("disk", spec, "too many positional parameters")),
        };
        let n = positional.len();
        for (i, slot) in fields.into_iter().enumerate() {
            let v = positional[i].clone();
            match slot {
                Some(s) => *s = Some(v),
                None if i == 0 => d.target = Some(v),
                None => d.vdev = v,
            }
        }
        if n == 2 {
            // target,vdev (no format): xm's short form.
            d.vdev = format.take().unwrap_or_default();
        }
        if let Some(v) = d.vdev.strip_suffix(":cdrom") {
            d.vdev = v.to_string();
            d.cdrom = true;
        }
        if let Some(t) = d.target.take() {
            let (prefix, path) = backend_prefix(&t);
            if let Some((b, f)) = prefix {
                backend.get_or_insert(b.to_string());
                if let Some(f) = f {
                    format.get_or_insert(f.to_string());
                }
            }
            d.target = Some(path.to_string()).filter(|p| !p.is_empty());
        }
        d.readonly = match access.as_deref() {
            None | Some("w") | Some("rw") => d.cdrom && access.is_none(),
            Some("r") | Some("ro") => true,
            Some(a) => return Err(spec_err("disk", spec, &format!("bad access {a}"))),
        };
        d.format = format.unwrap_or_else(|| "raw".into());
        d.backend = backend.unwrap_or_else(|| match &d.target {
            Some(t) if t.starts_with("/dev/") => "phy".into(),
            _ => "qdisk".into(),
        });
        if d.vdev.is_empty() {
            return Err(spec_err("disk", spec, "no vdev"));
        }
        Ok(d)
    }

    pub fn format(&self) -> String {
        let mut s = format!(
            "format={}, vdev={}, access={}, backendtype={}",
            self.format,
            self.vdev,
            if self.readonly { "ro" } else { "rw" },
            self.backend
        );
        if self.cdrom {
            s.push_str(", devtype=cdrom");
        }
        if let Some(t) = &self.target {
            s.push_str(", target=");
            s.push_str(t);
        }
        s
    }
}

/// `key=value,key=value` pairs.
fn pairs(kind: &str, spec: &str, known: &[&str]) -> Result<Vec<(String, String)>, XenError> {
    if spec.len() > MAX_SPEC {
        return Err(spec_err(kind, "...", "too long"));
    }
    let mut out = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (k, v) = item
            .split_once('=')
            .ok_or_else(|| spec_err(kind, spec, &format!("'{item}' is not key=value")))?;
        let k = k.trim();
        if !known.contains(&k) {
            return Err(spec_err(kind, spec, &format!("unknown key {k}")));
        }
        out.push((k.to_string(), v.trim().to_string()));
    }
    Ok(out)
}

fn join(pairs: &[(&str, &Option<String>)]) -> String {
    pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join(",")
}

/// A network interface (xl.cfg `vif`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vif {
    pub mac: Option<String>,
    pub bridge: Option<String>,
    pub model: Option<String>,
    pub ip: Option<String>,
    pub script: Option<String>,
    pub vifname: Option<String>,
}

const VIF_KEYS: &[&str] = &[
    "mac", "bridge", "model", "ip", "script", "vifname", "type", "backend", "rate",
];

impl Vif {
    pub fn parse(spec: &str) -> Result<Vif, XenError> {
        let mut v = Vif::default();
        for (k, val) in pairs("vif", spec, VIF_KEYS)? {
            let slot = match k.as_str() {
                "mac" => &mut v.mac,
                "bridge" => &mut v.bridge,
                "model" => &mut v.model,
                "ip" => &mut v.ip,
                "script" => &mut v.script,
                "vifname" => &mut v.vifname,
                _ => continue,
            };
            *slot = Some(val);
        }
        if let Some(m) = &v.mac {
            v.mac = Some(m.to_ascii_lowercase());
        }
        Ok(v)
    }

    pub fn format(&self) -> String {
        join(&[
            ("mac", &self.mac),
            ("bridge", &self.bridge),
            ("model", &self.model),
            ("ip", &self.ip),
            ("script", &self.script),
            ("vifname", &self.vifname),
        ])
    }
}

/// A PCI host device (xl.cfg `pci`): `[DDDD:]BB:SS.F[,options]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pci {
    pub domain: u16,
    pub bus: u8,
    pub slot: u8,
    pub function: u8,
}

impl Pci {
    pub fn parse(spec: &str) -> Result<Pci, XenError> {
        let bad = || spec_err("pci", spec, "expected [DDDD:]BB:SS.F");
        let bdf = spec.split(',').next().unwrap_or("").trim();
        let bdf = bdf.split('@').next().unwrap_or("");
        let parts: Vec<&str> = bdf.split(':').collect();
        let (dom, bus, sf) = match parts.as_slice() {
            [b, sf] => ("0", *b, *sf),
            [d, b, sf] => (*d, *b, *sf),
            _ => return Err(bad()),
        };
        let (slot, func) = sf.split_once('.').ok_or_else(bad)?;
        let hex16 = |s: &str| u16::from_str_radix(s, 16).map_err(|_| bad());
        let hex8 = |s: &str| u8::from_str_radix(s, 16).map_err(|_| bad());
        let p = Pci {
            domain: hex16(dom)?,
            bus: hex8(bus)?,
            slot: hex8(slot)?,
            function: hex8(func)?,
        };
        if p.slot > 0x1f || p.function > 7 {
            return Err(bad());
        }
        Ok(p)
    }

    pub fn format(&self) -> String {
        format!(
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.domain, self.bus, self.slot, self.function
        )
    }
}

/// A virtual frame buffer (xl.cfg `vfb`, or HVM's top-level vnc/sdl settings).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vfb {
    pub vnc: bool,
    pub sdl: bool,
    pub vnclisten: Option<String>,
    /// None with vncunused: the port is chosen when the guest starts.
    pub vncdisplay: Option<u32>,
    pub vncpasswd: Option<String>,
    pub keymap: Option<String>,
}

const VFB_KEYS: &[&str] = &[
    "vnc",
    "sdl",
    "vnclisten",
    "vncdisplay",
    "vncunused",
    "vncpasswd",
    "keymap",
    "display",
    "xauthority",
    "opengl",
    "type",
];

impl Vfb {
    pub fn parse(spec: &str) -> Result<Vfb, XenError> {
        let mut f = Vfb::default();
        let mut unused = true;
        for (k, v) in pairs("vfb", spec, VFB_KEYS)? {
            match k.as_str() {
                "vnc" => f.vnc = v != "0",
                "sdl" => f.sdl = v != "0",
                "type" => {
                    f.vnc |= v == "vnc";
                    f.sdl |= v == "sdl";
                }
                "vnclisten" => f.vnclisten = Some(v),
                "vncdisplay" => {
                    f.vncdisplay = Some(
                        v.parse()
                            .map_err(|_| spec_err("vfb", spec, "bad vncdisplay"))?,
                    )
                }
                "vncunused" => unused = v != "0",
                "vncpasswd" => f.vncpasswd = Some(v),
                "keymap" => f.keymap = Some(v),
                _ => {}
            }
        }
        if unused && f.vncdisplay.is_some() && !spec.contains("vncunused") {
            unused = false;
        }
        if unused {
            f.vncdisplay = None;
        }
        Ok(f)
    }

    pub fn format(&self) -> String {
        let mut s = Vec::new();
        if self.vnc {
            s.push("vnc=1".to_string());
            match self.vncdisplay {
                Some(d) => s.push(format!("vncunused=0,vncdisplay={d}")),
                None => s.push("vncunused=1".into()),
            }
            for (k, v) in [
                ("vnclisten", &self.vnclisten),
                ("vncpasswd", &self.vncpasswd),
                ("keymap", &self.keymap),
            ] {
                if let Some(v) = v {
                    s.push(format!("{k}={v}"));
                }
            }
        }
        if self.sdl {
            s.push("sdl=1".into());
        }
        s.join(",")
    }
}

/// A serial port (xl.cfg `serial`): pty, null, stdio, vc, file:PATH, pipe:PATH, /dev/X.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serial {
    /// libvirt's character device type.
    pub kind: String,
    pub path: Option<String>,
}

impl Serial {
    pub fn parse(spec: &str) -> Result<Serial, XenError> {
        let (kind, path) = match spec {
            "pty" | "null" | "stdio" | "vc" => (spec, None),
            s if s.starts_with("/dev/") => ("dev", Some(s)),
            s => match s.split_once(':') {
                Some((k @ ("file" | "pipe"), p)) if !p.is_empty() => (k, Some(p)),
                _ => return Err(spec_err("serial", spec, "unsupported serial device")),
            },
        };
        Ok(Serial {
            kind: kind.to_string(),
            path: path.map(str::to_string),
        })
    }

    pub fn format(&self) -> String {
        match (self.kind.as_str(), &self.path) {
            ("dev", Some(p)) => p.clone(),
            (k, Some(p)) => format!("{k}:{p}"),
            (k, None) => k.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_forms() {
        let a = Disk::parse("/var/lib/xen/a.img,raw,xvda,rw").unwrap();
        let b = Disk::parse("format=raw, vdev=xvda, access=rw, target=/var/lib/xen/a.img").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.backend, "qdisk");
        let c = Disk::parse("phy:/dev/vg/lv,xvdb,w").unwrap();
        assert_eq!((c.backend.as_str(), c.vdev.as_str()), ("phy", "xvdb"));
        let d = Disk::parse("/iso/x.iso,raw,hdc:cdrom,r").unwrap();
        assert!(d.cdrom && d.readonly);
        let e = Disk::parse("vdev=hdc, devtype=cdrom, access=ro, target=").unwrap();
        assert_eq!(e.target, None);
        let f = Disk::parse("format=raw,vdev=xvdc,target=/p/with,comma.img").unwrap();
        assert_eq!(f.target.as_deref(), Some("/p/with,comma.img"));
        assert_eq!(Disk::parse(&a.format()).unwrap(), a);
        assert!(Disk::parse("/a,raw,xvda,rw,extra").is_err());
        assert!(Disk::parse("/a,raw,xvda,sometimes").is_err());
        assert!(Disk::parse("/a").is_err());
    }

    #[test]
    fn vif_pci_vfb_serial() {
        let v = Vif::parse("mac=00:16:3E:00:00:01, bridge=xenbr0,model=e1000").unwrap();
        assert_eq!(v.mac.as_deref(), Some("00:16:3e:00:00:01"));
        assert_eq!(Vif::parse(&v.format()).unwrap(), v);
        assert!(Vif::parse("colour=blue").is_err());
        let p = Pci::parse("01:00.1,permissive=1").unwrap();
        assert_eq!(p.format(), "0000:01:00.1");
        assert!(Pci::parse("01:00").is_err());
        assert!(Pci::parse("zz:00.0").is_err());
        let f = Vfb::parse("vnc=1,vncdisplay=3,vnclisten=0.0.0.0").unwrap();
        assert_eq!(f.vncdisplay, Some(3));
        assert_eq!(Vfb::parse(&f.format()).unwrap(), f);
        assert_eq!(Serial::parse("file:/tmp/s").unwrap().kind, "file");
        assert!(Serial::parse("tcp:1.2.3.4:5").is_err());
    }
}
