//! xl.cfg → domain XML, following libvirt's documented xen-xl mapping (drvxen). The
//! document is built as text, then parsed and formatted by rvirt-xml, so what comes out
//! is a validated definition in libvirt's canonical form.

use rvirt_xml::domain::{DomainDef, LIFECYCLE_ACTIONS};
use rvirt_xml::out::escape;

use crate::error::XenError;
use crate::xlcfg::{self, Config};
use crate::xlspec::{Disk, Pci, Serial, Vfb, Vif};

/// The native formats the driver converts.
pub const FORMATS: &[&str] = &["xen-xl", "xen-xm"];

/// hvmloader, the firmware libvirt names for HVM guests.
pub const HVMLOADER: &str = "/usr/lib/xen/boot/hvmloader";

/// Checks the format name as libvirt's libxl driver does.
pub fn check_format(format: &str) -> Result<(), XenError> {
    if FORMATS.contains(&format) {
        Ok(())
    } else {
        Err(XenError::Format(format.into()))
    }
}

/// Converts xl.cfg text to domain XML.
pub fn convert(format: &str, text: &str) -> Result<String, XenError> {
    check_format(format)?;
    let cfg = xlcfg::parse(text)?;
    let xml = build(&cfg)?;
    let def = DomainDef::parse(&xml)?;
    Ok(def.to_xml(None))
}

/// The guest type: `hvm`, `pvh` or `pv`.
pub fn guest_type(cfg: &Config) -> Result<String, XenError> {
    if let Some(t) = cfg.str("type")? {
        return match t.as_str() {
            "hvm" | "pv" | "pvh" => Ok(t),
            _ => Err(XenError::Value("type".into())),
        };
    }
    Ok(match cfg.str("builder")?.as_deref() {
        Some("hvm") => "hvm".into(),
        _ => "pv".into(),
    })
}

fn el(out: &mut String, name: &str, text: &str) {
    out.push_str(&format!("<{name}>{}</{name}>", escape(text)));
}

/// The kernel command line: `cmdline`, else `root=` and `extra` joined as xl does.
pub fn cmdline(cfg: &Config) -> Result<Option<String>, XenError> {
    if let Some(c) = cfg.str("cmdline")? {
        return Ok(Some(c));
    }
    let root = cfg.str("root")?.map(|r| format!("root={r}"));
    let extra = cfg.str("extra")?;
    Ok(match (root, extra) {
        (Some(r), Some(e)) => Some(format!("{r} {e}")),
        (r, e) => r.or(e),
    })
}

fn os(cfg: &Config, ty: &str, out: &mut String) -> Result<(), XenError> {
    let (machine, os_type) = match ty {
        "hvm" => ("xenfv", "hvm"),
        "pvh" => ("xenpvh", "xenpvh"),
        _ => ("xenpv", "linux"),
    };
    out.push_str(&format!(
        "<os><type arch='x86_64' machine='{machine}'>{os_type}</type>"
    ));
    if ty == "hvm" {
        el(out, "loader", HVMLOADER);
    }
    for (key, name) in [("kernel", "kernel"), ("ramdisk", "initrd")] {
        if let Some(v) = cfg.str(key)? {
            el(out, name, &v);
        }
    }
    if let Some(c) = cmdline(cfg)? {
        el(out, "cmdline", &c);
    }
    if ty == "hvm" {
        for c in cfg.str("boot")?.unwrap_or_else(|| "c".into()).chars() {
            let dev = match c {
                'a' => "fd",
                'c' => "hd",
                'd' => "cdrom",
                'n' => "network",
                _ => return Err(XenError::Value("boot".into())),
            };
            out.push_str(&format!("<boot dev='{dev}'/>"));
        }
    }
    out.push_str("</os>");
    Ok(())
}

fn features(cfg: &Config, ty: &str, out: &mut String) -> Result<(), XenError> {
    let mut f = String::new();
    if ty == "hvm" {
        for key in ["pae", "acpi", "apic"] {
            if cfg.flag(key)?.unwrap_or(true) {
                f.push_str(&format!("<{key}/>"));
            }
        }
    }
    if let Some(h) = cfg.flag("hap")? {
        f.push_str(&format!("<hap state='{}'/>", if h { "on" } else { "off" }));
    }
    if !f.is_empty() {
        out.push_str(&format!("<features>{f}</features>"));
    }
    match cfg.flag("nestedhvm")? {
        Some(true) => out.push_str("<cpu mode='host-passthrough'/>"),
        Some(false) => out
            .push_str("<cpu mode='host-passthrough'><feature policy='disable' name='vmx'/></cpu>"),
        None => {}
    }
    Ok(())
}

fn clock(cfg: &Config, out: &mut String) -> Result<(), XenError> {
    let basis = if cfg.flag("localtime")?.unwrap_or(false) {
        "localtime"
    } else {
        "utc"
    };
    match cfg.num("rtc_timeoffset")? {
        Some(n) => out.push_str(&format!(
            "<clock offset='variable' adjustment='{n}' basis='{basis}'/>"
        )),
        None => out.push_str(&format!("<clock offset='{basis}'/>")),
    }
    Ok(())
}

fn lifecycle(cfg: &Config, out: &mut String) -> Result<(), XenError> {
    for (key, default) in [
        ("on_poweroff", "destroy"),
        ("on_reboot", "restart"),
        ("on_crash", "restart"),
    ] {
        let v = cfg.str(key)?.unwrap_or_else(|| default.into());
        if !LIFECYCLE_ACTIONS.contains(&v.as_str()) {
            return Err(XenError::Value(key.into()));
        }
        el(out, key, &v);
    }
    Ok(())
}

fn disk_xml(d: &Disk) -> String {
    let block = d.backend == "phy" || d.target.as_deref().is_some_and(|t| t.starts_with("/dev/"));
    let driver = match d.backend.as_str() {
        "phy" => "phy",
        "tap" => "tap",
        _ => "qemu",
    };
    let bus = if d.vdev.starts_with("hd") {
        "ide"
    } else if d.vdev.starts_with("sd") {
        "scsi"
    } else {
        "xen"
    };
    let mut s = format!(
        "<disk type='{}' device='{}'><driver name='{driver}' type='{}'/>",
        if block { "block" } else { "file" },
        if d.cdrom { "cdrom" } else { "disk" },
        escape(&d.format)
    );
    if let Some(t) = &d.target {
        let attr = if block { "dev" } else { "file" };
        s.push_str(&format!("<source {attr}='{}'/>", escape(t)));
    }
    s.push_str(&format!("<target dev='{}' bus='{bus}'/>", escape(&d.vdev)));
    if d.readonly {
        s.push_str("<readonly/>");
    }
    s.push_str("</disk>");
    s
}

fn vif_xml(v: &Vif) -> String {
    let kind = if v.bridge.is_some() {
        "bridge"
    } else {
        "ethernet"
    };
    let mut s = format!("<interface type='{kind}'>");
    if let Some(m) = &v.mac {
        s.push_str(&format!("<mac address='{}'/>", escape(m)));
    }
    if let Some(b) = &v.bridge {
        s.push_str(&format!("<source bridge='{}'/>", escape(b)));
    }
    if let Some(ip) = &v.ip {
        s.push_str(&format!("<ip address='{}'/>", escape(ip)));
    }
    if let Some(sc) = &v.script {
        s.push_str(&format!("<script path='{}'/>", escape(sc)));
    }
    if let Some(n) = &v.vifname {
        s.push_str(&format!("<target dev='{}'/>", escape(n)));
    }
    if let Some(m) = &v.model {
        s.push_str(&format!("<model type='{}'/>", escape(m)));
    }
    s.push_str("</interface>");
    s
}

fn graphics_xml(f: &Vfb) -> String {
    let mut s = String::new();
    if f.vnc {
        s.push_str("<graphics type='vnc'");
        match f.vncdisplay {
            Some(d) => s.push_str(&format!(" port='{}' autoport='no'", 5900 + d)),
            None => s.push_str(" port='-1' autoport='yes'"),
        }
        if let Some(l) = &f.vnclisten {
            s.push_str(&format!(" listen='{}'", escape(l)));
        }
        if let Some(k) = &f.keymap {
            s.push_str(&format!(" keymap='{}'", escape(k)));
        }
        if let Some(p) = &f.vncpasswd {
            s.push_str(&format!(" passwd='{}'", escape(p)));
        }
        s.push_str("/>");
    }
    if f.sdl {
        s.push_str("<graphics type='sdl'/>");
    }
    s
}

/// HVM's frame buffer from the top-level settings (vnc, sdl, vnclisten, ...).
pub fn hvm_vfb(cfg: &Config) -> Result<Option<Vfb>, XenError> {
    let vnc = cfg.flag("vnc")?.unwrap_or(false);
    let sdl = cfg.flag("sdl")?.unwrap_or(false);
    if !vnc && !sdl {
        return Ok(None);
    }
    let unused = cfg.flag("vncunused")?.unwrap_or(true);
    let display = cfg.unsigned("vncdisplay", 1)?;
    Ok(Some(Vfb {
        vnc,
        sdl,
        vnclisten: cfg.str("vnclisten")?,
        vncdisplay: if unused {
            None
        } else {
            display.map(|d| d as u32)
        },
        vncpasswd: cfg.str("vncpasswd")?,
        keymap: cfg.str("keymap")?,
    }))
}

fn devices(cfg: &Config, ty: &str, out: &mut String) -> Result<(), XenError> {
    out.push_str("<devices>");
    if let Some(e) = cfg.str("device_model_override")? {
        el(out, "emulator", &e);
    }
    for d in cfg.strings("disk")? {
        out.push_str(&disk_xml(&Disk::parse(&d)?));
    }
    for v in cfg.strings("vif")? {
        out.push_str(&vif_xml(&Vif::parse(&v)?));
    }
    for p in cfg.strings("pci")? {
        let p = Pci::parse(&p)?;
        out.push_str(&format!(
            "<hostdev mode='subsystem' type='pci' managed='no'><source>\
             <address domain='0x{:04x}' bus='0x{:02x}' slot='0x{:02x}' function='0x{:x}'/>\
             </source></hostdev>",
            p.domain, p.bus, p.slot, p.function
        ));
    }
    for (i, s) in cfg.strings("serial")?.iter().enumerate() {
        let s = Serial::parse(s)?;
        out.push_str(&format!("<serial type='{}'>", s.kind));
        if let Some(p) = &s.path {
            out.push_str(&format!("<source path='{}'/>", escape(p)));
        }
        out.push_str(&format!("<target port='{i}'/></serial>"));
    }
    if cfg.flag("usb")?.unwrap_or(false) || ty == "hvm" {
        for u in cfg.strings("usbdevice")? {
            match u.as_str() {
                "tablet" | "mouse" => {
                    out.push_str(&format!("<input type='{u}' bus='usb'/>"));
                }
                _ => return Err(XenError::Value("usbdevice".into())),
            }
        }
    }
    let vfbs = if ty == "hvm" {
        hvm_vfb(cfg)?.into_iter().collect()
    } else {
        cfg.strings("vfb")?
            .iter()
            .map(|s| Vfb::parse(s))
            .collect::<Result<Vec<_>, _>>()?
    };
    for f in &vfbs {
        out.push_str(&graphics_xml(f));
    }
    out.push_str("</devices>");
    Ok(())
}

fn build(cfg: &Config) -> Result<String, XenError> {
    let ty = guest_type(cfg)?;
    let name = cfg
        .str("name")?
        .ok_or_else(|| XenError::Spec("configuration has no name".into()))?;
    let mut out = String::from("<domain type='xen'>");
    el(&mut out, "name", &name);
    if let Some(u) = cfg.str("uuid")? {
        el(&mut out, "uuid", &u);
    }
    let cur = cfg.unsigned("memory", 1024)?.unwrap_or(128 * 1024);
    let max = cfg.unsigned("maxmem", 1024)?.unwrap_or(cur).max(cur);
    out.push_str(&format!(
        "<memory unit='KiB'>{max}</memory><currentMemory unit='KiB'>{cur}</currentMemory>"
    ));
    let vcpus = cfg.unsigned("vcpus", 1)?.unwrap_or(1);
    let maxv = cfg.unsigned("maxvcpus", 1)?.unwrap_or(vcpus).max(vcpus);
    let cpuset = match cfg.str("cpus")? {
        Some(c) => format!(" cpuset='{}'", escape(&c)),
        None => String::new(),
    };
    out.push_str(&format!(
        "<vcpu placement='static'{cpuset} current='{vcpus}'>{maxv}</vcpu>"
    ));
    os(cfg, &ty, &mut out)?;
    if let Some(b) = cfg.str("bootloader")? {
        el(&mut out, "bootloader", &b);
        if let Some(a) = cfg.str("bootloader_args")? {
            el(&mut out, "bootloader_args", &a);
        }
    }
    features(cfg, &ty, &mut out)?;
    clock(cfg, &mut out)?;
    lifecycle(cfg, &mut out)?;
    devices(cfg, &ty, &mut out)?;
    out.push_str("</domain>");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pv_guest() {
        let xml = convert(
            "xen-xl",
            "name = \"pv1\"\nmemory = 512\nmaxmem = 1024\nvcpus = 2\n\
             kernel = \"/boot/vmlinuz\"\nroot = \"/dev/xvda1\"\nextra = \"console=hvc0\"\n\
             disk = [ 'phy:/dev/vg/pv1,xvda,w' ]\nvif = [ 'mac=00:16:3e:00:00:01,bridge=xenbr0' ]\n",
        )
        .unwrap();
        assert!(xml.contains("<name>pv1</name>"), "{xml}");
        assert!(xml.contains("<memory unit='KiB'>1048576</memory>"), "{xml}");
        assert!(
            xml.contains("<cmdline>root=/dev/xvda1 console=hvc0</cmdline>"),
            "{xml}"
        );
        assert!(xml.contains("<source dev='/dev/vg/pv1'/>"), "{xml}");
        assert!(xml.contains("<source bridge='xenbr0'/>"), "{xml}");
    }

    #[test]
    fn errors() {
        assert!(matches!(
            convert("qemu-argv", "name='a'"),
            Err(XenError::Format(_))
        ));
        assert!(matches!(
            convert("xen-xl", "name ="),
            Err(XenError::Syntax { .. })
        ));
        assert!(matches!(
            convert("xen-xl", "memory = 3"),
            Err(XenError::Spec(_))
        ));
        assert!(matches!(
            convert("xen-xl", "name='a'\non_crash='explode'"),
            Err(XenError::Value(_))
        ));
    }
}
