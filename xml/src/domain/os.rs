//! `<os>`, `<features>`, `<cpu>` and `<clock>`.

use crate::out::{Attrs, Out};
use crate::spec::{attr, leaf, node, text, Spec, Value};
use crate::tree::Element;
use crate::XmlError;

/// Where a described `<os>` child goes among the typed ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Right after `<type>` (container init settings).
    AfterType,
    /// After `<root>`, before `<boot>`.
    BeforeBoot,
    /// After `<bootmenu>`.
    Last,
}

/// The `<os>` children described declaratively, in libvirt's order within each slot.
const EXTRA: &[(Spec, Slot)] = &[
    (
        node(
            "firmware",
            &[leaf(
                "feature",
                &[
                    attr("enabled", Value::YesNo),
                    attr("name", Value::Enum(&["enrolled-keys", "secure-boot"])),
                ],
            )],
        ),
        Slot::AfterType,
    ),
    (text("init", Value::Text), Slot::AfterType),
    (text("initarg", Value::Text), Slot::AfterType),
    (
        Spec {
            name: "initenv",
            attrs: &[attr("name", Value::Text)],
            children: &[],
            text: Some(Value::Text),
        },
        Slot::AfterType,
    ),
    (text("initdir", Value::Text), Slot::AfterType),
    (text("inituser", Value::Text), Slot::AfterType),
    (text("initgroup", Value::Text), Slot::AfterType),
    (
        node(
            "acpi",
            &[Spec {
                name: "table",
                attrs: &[attr(
                    "type",
                    Value::Enum(&["raw", "rawset", "msdm", "slic"]),
                )],
                children: &[],
                text: Some(Value::Text),
            }],
        ),
        Slot::BeforeBoot,
    ),
    (
        leaf(
            "bios",
            &[
                attr("useserial", Value::Text),
                attr("rebootTimeout", Value::Int),
            ],
        ),
        Slot::Last,
    ),
    (leaf("smbios", &[attr("mode", Value::Text)]), Slot::Last),
];

fn in_range(what: &str, v: Option<&str>, lo: i64, hi: i64) -> Result<(), XmlError> {
    match v.map(|v| v.trim().parse::<i64>()) {
        Some(Ok(n)) if !(lo..=hi).contains(&n) => Err(super::errs::unsupported(format!(
            "invalid value for {what}, must be in range [{lo},{hi}]"
        ))),
        _ => Ok(()),
    }
}

/// libvirt's checks on `<os>` as a whole: its firmware, boot menu timeout, the NVRAM's
/// need for a loader.
fn check_os(e: &Element) -> Result<(), XmlError> {
    if let Some(f) = e.attr("firmware").filter(|f| !matches!(*f, "bios" | "efi")) {
        return Err(super::errs::xml(format!("unknown firmware value {f}")));
    }
    if let Some(b) = e.child("bootmenu") {
        in_range("boot menu timeout", b.attr("timeout"), 0, 65535)?;
    }
    if let Some(b) = e.child("bios") {
        in_range("rebootTimeout", b.attr("rebootTimeout"), -1, 65535)?;
    }
    let loader = e.child("loader").is_some_and(|l| !l.text.trim().is_empty());
    let wants_loader = e.child("nvram").is_some() || e.child("loader").is_some();
    if wants_loader && !loader && e.attr("firmware").is_none() {
        return Err(super::errs::detail(
            "no loader path specified and firmware auto selection disabled".into(),
        ));
    }
    let os_type = e.child("type").map(|t| t.text.trim()).unwrap_or_default();
    if os_type == "exe" && e.child("init").is_none() {
        return Err(super::errs::xml("init binary must be specified".into()));
    }
    Ok(())
}

/// Applies libvirt's reading of a described `<os>` child.
fn fix_extra(e: &mut Element) -> Result<(), XmlError> {
    match e.name.as_str() {
        // Firmware features come in libvirt's order: enrolled-keys, secure-boot.
        "firmware" => e
            .children
            .sort_by(|a, b| a.attr("name").cmp(&b.attr("name"))),
        "bios" => {
            for (k, v) in e.attrs.iter_mut() {
                if k == "useserial" && v != "yes" {
                    *v = "no".into();
                }
            }
        }
        "acpi" => {
            if let Some(t) = e.children.iter().find(|t| t.attr("type") != Some("slic")) {
                return Err(super::errs::xml(format!(
                    "Unknown acpi table type: {}",
                    t.attr("type").unwrap_or_default()
                )));
            }
        }
        "smbios" => match e.attr("mode") {
            Some("emulate" | "host" | "sysinfo") => {}
            other => {
                return Err(super::errs::unsupported(format!(
                    "unknown smbios mode '{}'",
                    other.unwrap_or_default()
                )))
            }
        },
        _ => {}
    }
    Ok(())
}

/// The container init settings, which libvirt reads for `exe` guests only.
const INIT: &[&str] = &[
    "init",
    "initarg",
    "initenv",
    "initdir",
    "inituser",
    "initgroup",
];

fn parse_extra(os: &Element) -> Result<Vec<Element>, XmlError> {
    let mut out = Vec::new();
    let exe = os.child("type").is_some_and(|t| t.text.trim() == "exe");
    for (spec, _) in EXTRA {
        if !exe && INIT.contains(&spec.name) {
            continue;
        }
        for c in os.children_named(spec.name) {
            let mut e = spec.parse(c, &format!("domain/os/{}", spec.name))?;
            fix_extra(&mut e)?;
            out.push(e);
        }
    }
    Ok(out)
}

fn write_extra(out: &mut Out, have: &[Element], slot: Slot) {
    for e in have {
        let at = EXTRA
            .iter()
            .find(|(s, _)| s.name == e.name)
            .map(|(_, a)| *a);
        if at == Some(slot) {
            e.write(out);
        }
    }
}

/// `<loader>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Loader {
    /// `readonly`.
    pub readonly: Option<String>,
    /// `secure`.
    pub secure: Option<String>,
    /// `type`: rom or pflash.
    pub loader_type: Option<String>,
    /// `stateless`.
    pub stateless: Option<String>,
    /// Firmware path.
    pub path: Option<String>,
}

/// `<nvram>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Nvram {
    /// `template`.
    pub template: Option<String>,
    /// Variable store path.
    pub path: Option<String>,
}

/// The parts of `<os>` other than `<type>` (which live on `DomainDef`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OsDef {
    /// `<loader>` (boxed: rarely present).
    pub loader: Option<Box<Loader>>,
    /// `<nvram>` (boxed: rarely present).
    pub nvram: Option<Box<Nvram>>,
    /// `<boot dev>` in order: hd, cdrom, fd, network.
    pub boot_devs: Vec<super::Word>,
    /// Firmware selection, direct kernel boot and boot menu (boxed: most domains have none
    /// of them, and a record per defined domain should stay small). Read with
    /// [`OsDef::opts`], change with [`OsDef::opts_mut`].
    pub opts: Option<Box<OsOpts>>,
}

/// The rarely-set parts of `<os>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OsOpts {
    /// `<os firmware>`.
    pub firmware: Option<String>,
    /// `<kernel>`.
    pub kernel: Option<String>,
    /// `<initrd>`.
    pub initrd: Option<String>,
    /// `<cmdline>` (kept verbatim).
    pub cmdline: Option<String>,
    /// `<dtb>`.
    pub dtb: Option<String>,
    /// `<root>`.
    pub root: Option<String>,
    /// `<bootmenu enable>`.
    pub bootmenu: Option<String>,
    /// `<bootmenu timeout>`.
    pub bootmenu_timeout: Option<u32>,
    /// Container init settings, ACPI tables, `<bios>` and `<smbios>` in canonical form.
    pub extra: Vec<Element>,
}

static NO_OS_OPTS: OsOpts = OsOpts {
    firmware: None,
    kernel: None,
    initrd: None,
    cmdline: None,
    dtb: None,
    root: None,
    bootmenu: None,
    bootmenu_timeout: None,
    extra: Vec::new(),
};

impl OsOpts {
    fn is_empty(&self) -> bool {
        *self == NO_OS_OPTS
    }
}

impl OsDef {
    /// Firmware, direct kernel boot and boot menu settings (all unset when absent).
    pub fn opts(&self) -> &OsOpts {
        self.opts.as_deref().unwrap_or(&NO_OS_OPTS)
    }

    /// Mutable access to them, allocating on first change.
    pub fn opts_mut(&mut self) -> &mut OsOpts {
        self.opts.get_or_insert_with(Default::default)
    }

    /// Parses `<os>` (excluding `<type>`).
    pub fn parse(e: &Element) -> Result<OsDef, XmlError> {
        let p = "domain/os";
        let mut boot_devs = Vec::new();
        // libvirt keeps at most four boot devices.
        for b in e.children_named("boot").take(4) {
            let dev = b
                .attr_s("dev")
                .ok_or_else(|| super::errs::missing_attr("dev".into(), "boot".into()))?;
            if !matches!(dev.as_str(), "hd" | "cdrom" | "fd" | "network") {
                return Err(XmlError::BadAttribute {
                    attr: "dev".into(),
                    element: "boot".into(),
                    value: dev,
                });
            }
            boot_devs.push(super::word(&dev));
        }
        check_os(e)?;
        let text = |n: &str| e.child_text(n).filter(|t| !t.is_empty());
        let opts = OsOpts {
            firmware: e.attr_s("firmware"),
            kernel: text("kernel"),
            initrd: text("initrd"),
            cmdline: e.child_text_raw("cmdline").filter(|c| !c.is_empty()),
            dtb: text("dtb"),
            root: text("root"),
            bootmenu: e.child("bootmenu").and_then(|b| b.attr_s("enable")),
            // A timeout only counts with the menu on.
            bootmenu_timeout: match e.child("bootmenu") {
                Some(b) if b.attr("enable") == Some("yes") => {
                    b.attr_num(&format!("{p}/bootmenu"), "timeout")?
                }
                _ => None,
            },
            extra: parse_extra(e)?,
        };
        boot_devs.shrink_to_fit();
        Ok(OsDef {
            loader: e.child("loader").map(|l| {
                let path = Some(l.text.trim().to_string()).filter(|t| !t.is_empty());
                Box::new(Loader {
                    readonly: l.attr_s("readonly"),
                    secure: l.attr_s("secure"),
                    // libvirt takes a loader given by path alone for a ROM.
                    loader_type: l
                        .attr_s("type")
                        .or_else(|| path.as_ref().map(|_| "rom".to_string())),
                    stateless: l.attr_s("stateless"),
                    path,
                })
            }),
            nvram: e.child("nvram").map(|n| {
                Box::new(Nvram {
                    template: n.attr_s("template"),
                    path: Some(n.text.trim().to_string()).filter(|t| !t.is_empty()),
                })
            }),
            boot_devs,
            opts: (!opts.is_empty()).then(|| Box::new(opts)),
        })
    }

    /// Writes the `<os>` children after `<type>`.
    pub fn write_body(&self, out: &mut Out) {
        let extra = &self.opts().extra;
        write_extra(out, extra, Slot::AfterType);
        if let Some(l) = &self.loader {
            let a = Attrs::new()
                .opt("readonly", l.readonly.as_ref())
                .opt("secure", l.secure.as_ref())
                .opt("type", l.loader_type.as_ref())
                .opt("stateless", l.stateless.as_ref());
            match &l.path {
                Some(p) => out.text("loader", &a, p),
                None => out.element("loader", &a, |_| {}),
            }
        }
        if let Some(n) = &self.nvram {
            let a = Attrs::new().opt("template", n.template.as_ref());
            match &n.path {
                Some(p) => out.text("nvram", &a, p),
                None => out.element("nvram", &a, |_| {}),
            }
        }
        let o = self.opts();
        out.opt_text("kernel", o.kernel.as_ref());
        out.opt_text("initrd", o.initrd.as_ref());
        out.opt_text("cmdline", o.cmdline.as_ref());
        out.opt_text("dtb", o.dtb.as_ref());
        out.opt_text("root", o.root.as_ref());
        write_extra(out, extra, Slot::BeforeBoot);
        for b in &self.boot_devs {
            out.empty("boot", &Attrs::new().add("dev", b));
        }
        if let Some(m) = &o.bootmenu {
            let a = Attrs::new()
                .add("enable", m)
                .opt("timeout", o.bootmenu_timeout);
            out.empty("bootmenu", &a);
        }
        write_extra(out, extra, Slot::Last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::parse_document;

    #[test]
    fn os_body() {
        let e = parse_document(
            "<os><type>hvm</type><loader readonly='yes' type='pflash'>/c.fd</loader><nvram template='/t.fd'>/v.fd</nvram><kernel>/k</kernel><cmdline> ro</cmdline><boot dev='cdrom'/><boot dev='hd'/><bootmenu enable='yes'/></os>",
        )
        .unwrap();
        let os = OsDef::parse(&e).unwrap();
        let mut o = Out::new();
        os.write_body(&mut o);
        assert_eq!(
            o.finish(),
            "<loader readonly='yes' type='pflash'>/c.fd</loader>\n<nvram template='/t.fd'>/v.fd</nvram>\n<kernel>/k</kernel>\n<cmdline> ro</cmdline>\n<boot dev='cdrom'/>\n<boot dev='hd'/>\n<bootmenu enable='yes'/>\n"
        );
        let odd = parse_document("<os><type>hvm</type><frob mode='host'/></os>").unwrap();
        assert!(OsDef::parse(&odd).is_ok());
    }
}
