//! Domain XML → xl.cfg: the document is parsed (and so validated) by rvirt-xml,
//! formatted canonically, and the settings are read from that canonical tree.

use rvirt_xml::domain::{Device, DomainDef};
use rvirt_xml::tree::{parse_document, Element};

use crate::error::XenError;
use crate::from_xl::{check_format, HVMLOADER};
use crate::xlcfg::{format, Config, Value};
use crate::xlspec::{Disk, Pci, Serial, Vfb, Vif};

/// Converts domain XML to xl.cfg (`xen-xl`) or xm-style (`xen-xm`) text.
pub fn convert(fmt: &str, xml: &str) -> Result<String, XenError> {
    check_format(fmt)?;
    let def = DomainDef::parse(xml)?;
    let root = parse_document(&def.to_xml(None))?;
    // libvirt never formats a VNC password, but it belongs in the native config.
    let passwd = def.devices.iter().find_map(|d| match d {
        Device::Graphics(g) if g.graphics_type == "vnc" => g.passwd.clone(),
        _ => None,
    });
    let cfg = settings(&root, fmt == "xen-xm", passwd)?;
    format(&cfg)
}

fn s(v: impl Into<String>) -> Value {
    Value::Str(v.into())
}

fn n(v: impl TryInto<i64>) -> Value {
    Value::Num(v.try_into().unwrap_or(i64::MAX))
}

fn kib_to_mib(text: Option<String>) -> Option<i64> {
    text.and_then(|t| t.trim().parse::<i64>().ok())
        .map(|k| k / 1024)
}

fn general(root: &Element, cfg: &mut Config) {
    if let Some(v) = root.child_text("name") {
        cfg.set("name", s(v));
    }
    if let Some(v) = root.child_text("uuid") {
        cfg.set("uuid", s(v));
    }
    if let Some(m) = kib_to_mib(root.child_text("currentMemory")) {
        cfg.set("memory", n(m));
    }
    if let Some(m) = kib_to_mib(root.child_text("memory")) {
        cfg.set("maxmem", n(m));
    }
    if let Some(v) = root.child("vcpu") {
        let max: i64 = v.text.trim().parse().unwrap_or(1);
        let cur = v
            .attr("current")
            .and_then(|c| c.parse().ok())
            .unwrap_or(max);
        cfg.set("vcpus", n(cur));
        cfg.set("maxvcpus", n(max));
        if let Some(c) = v.attr("cpuset") {
            cfg.set("cpus", s(c));
        }
    }
}

fn os(root: &Element, cfg: &mut Config, xm: bool) -> String {
    let Some(os) = root.child("os") else {
        return "pv".into();
    };
    let ty = match os.child_text("type").as_deref() {
        Some("hvm") => "hvm",
        Some("xenpvh") => "pvh",
        _ => "pv",
    };
    if xm {
        if ty == "hvm" {
            cfg.set("builder", s("hvm"));
        }
    } else {
        cfg.set("type", s(ty));
    }
    for (name, key) in [
        ("kernel", "kernel"),
        ("initrd", "ramdisk"),
        ("cmdline", "cmdline"),
    ] {
        if let Some(v) = os.child_text(name) {
            cfg.set(key, s(v));
        }
    }
    if ty == "hvm" {
        if let Some(l) = os.child_text("loader").filter(|l| l != HVMLOADER) {
            cfg.set("firmware_override", s(l));
        }
        let boot: String = os
            .children_named("boot")
            .filter_map(|b| match b.attr("dev") {
                Some("fd") => Some('a'),
                Some("hd") => Some('c'),
                Some("cdrom") => Some('d'),
                Some("network") => Some('n'),
                _ => None,
            })
            .collect();
        if !boot.is_empty() {
            cfg.set("boot", s(boot));
        }
    }
    if let Some(b) = os
        .child_text("bootloader")
        .or(root.child_text("bootloader"))
    {
        cfg.set("bootloader", s(b));
    }
    if let Some(a) = root.child_text("bootloader_args") {
        cfg.set("bootloader_args", s(a));
    }
    ty.into()
}

fn features(root: &Element, cfg: &mut Config, ty: &str) {
    let f = root.child("features");
    if ty == "hvm" {
        for key in ["pae", "acpi", "apic"] {
            let on = f.and_then(|f| f.child(key)).is_some();
            cfg.set(key, n(on as i64));
        }
    }
    if let Some(h) = f.and_then(|f| f.child("hap")) {
        cfg.set("hap", n((h.attr("state") != Some("off")) as i64));
    }
    if let Some(cpu) = root
        .child("cpu")
        .filter(|c| c.attr("mode") == Some("host-passthrough"))
    {
        let off = cpu.children_named("feature").any(|f| {
            f.attr("policy") == Some("disable") && matches!(f.attr("name"), Some("vmx" | "svm"))
        });
        cfg.set("nestedhvm", n((!off) as i64));
    }
}

fn clock_lifecycle(root: &Element, cfg: &mut Config) {
    if let Some(c) = root.child("clock") {
        match c.attr("offset") {
            Some("localtime") => cfg.set("localtime", n(1)),
            Some("variable") => {
                let adj: i64 = c
                    .attr("adjustment")
                    .and_then(|a| a.parse().ok())
                    .unwrap_or(0);
                cfg.set("rtc_timeoffset", n(adj));
                if c.attr("basis") == Some("localtime") {
                    cfg.set("localtime", n(1));
                }
            }
            _ => {}
        }
    }
    for key in ["on_poweroff", "on_reboot", "on_crash"] {
        if let Some(v) = root.child_text(key) {
            cfg.set(key, s(v));
        }
    }
}

fn disk(e: &Element) -> Disk {
    let src = e.child("source");
    let target = src
        .and_then(|s| s.attr("dev").or(s.attr("file")))
        .map(str::to_string);
    let driver = e.child("driver");
    Disk {
        target,
        format: driver
            .and_then(|d| d.attr("type"))
            .unwrap_or("raw")
            .to_string(),
        vdev: e
            .child("target")
            .and_then(|t| t.attr("dev"))
            .unwrap_or("")
            .to_string(),
        readonly: e.child("readonly").is_some(),
        cdrom: e.attr("device") == Some("cdrom"),
        backend: match driver.and_then(|d| d.attr("name")) {
            Some("phy") => "phy",
            Some("tap") => "tap",
            Some(_) => "qdisk",
            None if e.attr("type") == Some("block") => "phy",
            None => "qdisk",
        }
        .to_string(),
    }
}

fn vif(e: &Element) -> Vif {
    let attr = |child: &str, a: &str| e.child(child).and_then(|c| c.attr(a)).map(str::to_string);
    Vif {
        mac: attr("mac", "address"),
        bridge: attr("source", "bridge"),
        model: attr("model", "type"),
        ip: attr("ip", "address"),
        script: attr("script", "path"),
        vifname: attr("target", "dev"),
    }
}

fn pci(e: &Element) -> Option<Pci> {
    let a = e.child("source")?.child("address")?;
    let hex = |k: &str| {
        let v = a.attr(k).unwrap_or("0");
        u16::from_str_radix(v.trim_start_matches("0x"), 16).unwrap_or(0)
    };
    Some(Pci {
        domain: hex("domain"),
        bus: hex("bus") as u8,
        slot: hex("slot") as u8,
        function: hex("function") as u8,
    })
}

fn vfb(devs: &Element) -> Option<Vfb> {
    let mut f = Vfb::default();
    for g in devs.children_named("graphics") {
        match g.attr("type") {
            Some("vnc") => {
                f.vnc = true;
                let port: i64 = g.attr("port").and_then(|p| p.parse().ok()).unwrap_or(-1);
                if g.attr("autoport") != Some("yes") && port >= 5900 {
                    f.vncdisplay = Some((port - 5900) as u32);
                }
                f.vnclisten = g
                    .attr("listen")
                    .or_else(|| g.child("listen").and_then(|l| l.attr("address")))
                    .map(str::to_string);
                f.keymap = g.attr_s("keymap");
                f.vncpasswd = g.attr_s("passwd");
            }
            Some("sdl") => f.sdl = true,
            _ => {}
        }
    }
    (f.vnc || f.sdl).then_some(f)
}

fn hvm_vfb(f: &Vfb, cfg: &mut Config) {
    cfg.set("vnc", n(f.vnc as i64));
    if f.vnc {
        cfg.set("vncunused", n(f.vncdisplay.is_none() as i64));
        if let Some(d) = f.vncdisplay {
            cfg.set("vncdisplay", n(d));
        }
        for (k, v) in [
            ("vnclisten", &f.vnclisten),
            ("vncpasswd", &f.vncpasswd),
            ("keymap", &f.keymap),
        ] {
            if let Some(v) = v {
                cfg.set(k, s(v.clone()));
            }
        }
    }
    cfg.set("sdl", n(f.sdl as i64));
}

fn list(cfg: &mut Config, key: &str, items: Vec<String>) {
    if !items.is_empty() {
        cfg.set(
            key,
            Value::List(items.into_iter().map(Value::Str).collect()),
        );
    }
}

fn devices(
    root: &Element,
    cfg: &mut Config,
    ty: &str,
    passwd: Option<String>,
) -> Result<(), XenError> {
    let Some(devs) = root.child("devices") else {
        return Ok(());
    };
    if let Some(e) = devs.child_text("emulator") {
        cfg.set("device_model_override", s(e));
    }
    list(
        cfg,
        "disk",
        devs.children_named("disk")
            .map(|d| disk(d).format())
            .collect(),
    );
    list(
        cfg,
        "vif",
        devs.children_named("interface")
            .map(|i| vif(i).format())
            .collect(),
    );
    let pcis = devs
        .children_named("hostdev")
        .filter(|h| h.attr("type") == Some("pci"))
        .filter_map(pci)
        .map(|p| p.format())
        .collect();
    list(cfg, "pci", pcis);
    let mut serials = Vec::new();
    for e in devs.children_named("serial") {
        let kind = e.attr("type").unwrap_or("pty").to_string();
        let path = e
            .child("source")
            .and_then(|s| s.attr("path"))
            .map(str::to_string);
        let spec = Serial { kind, path }.format();
        Serial::parse(&spec)?;
        serials.push(spec);
    }
    list(cfg, "serial", serials);
    let usb: Vec<String> = devs
        .children_named("input")
        .filter(|i| i.attr("bus") == Some("usb"))
        .filter_map(|i| i.attr_s("type"))
        .filter(|t| t == "tablet" || t == "mouse")
        .collect();
    if !usb.is_empty() {
        cfg.set("usb", n(1));
        if usb.len() == 1 {
            cfg.set("usbdevice", s(usb[0].clone()));
        } else {
            list(cfg, "usbdevice", usb);
        }
    }
    if let Some(mut f) = vfb(devs) {
        if f.vnc && f.vncpasswd.is_none() {
            f.vncpasswd = passwd;
        }
        if ty == "hvm" {
            hvm_vfb(&f, cfg);
        } else {
            list(cfg, "vfb", vec![f.format()]);
        }
    }
    Ok(())
}

fn settings(root: &Element, xm: bool, passwd: Option<String>) -> Result<Config, XenError> {
    let mut cfg = Config::default();
    general(root, &mut cfg);
    let ty = os(root, &mut cfg, xm);
    features(root, &mut cfg, &ty);
    clock_lifecycle(root, &mut cfg);
    devices(root, &mut cfg, &ty, passwd)?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hvm_round_trip_prints() {
        let text = "name='h'\ntype='hvm'\nmemory=1024\nvcpus=2\nmaxvcpus=4\ncpus='0-3'\n\
                    boot='dc'\nacpi=1\napic=0\nhap=1\nnestedhvm=1\nlocaltime=1\nrtc_timeoffset=3600\n\
                    disk=['/a.img,qcow2,hda,rw','/iso,raw,hdc:cdrom,r']\n\
                    vif=['mac=00:16:3e:11:22:33,bridge=br0,model=e1000']\n\
                    vnc=1\nvncdisplay=2\nvncunused=0\nvnclisten='0.0.0.0'\nusb=1\nusbdevice='tablet'\n\
                    serial='pty'\npci=['01:00.0']\n";
        let xml = crate::from_xl::convert("xen-xl", text).unwrap();
        let back = convert("xen-xl", &xml).unwrap();
        assert!(back.contains("boot = \"dc\""), "{xml}\n{back}");
        assert!(back.contains("apic = 0"), "{back}");
        assert!(back.contains("vncdisplay = 2"), "{back}");
        assert!(back.contains("rtc_timeoffset = 3600"), "{back}");
        assert!(back.contains("pci = [ \"0000:01:00.0\" ]"), "{back}");
        assert!(back.contains("usbdevice = \"tablet\""), "{back}");
        assert!(back.contains("nestedhvm = 1"), "{back}");
    }

    #[test]
    fn bad_xml_and_format() {
        assert!(matches!(
            convert("xen-xl", "<domain"),
            Err(XenError::Xml(_))
        ));
        assert!(matches!(
            convert("vmware-vmx", "<domain/>"),
            Err(XenError::Format(_))
        ));
    }
}
