//! `<os>`, `<features>`, `<cpu>` and `<clock>`.

use crate::out::{Attrs, Out};
use crate::tree::Element;
use crate::XmlError;

/// `<loader>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Loader {
    /// `readonly`.
    pub readonly: Option<String>,
    /// `secure`.
    pub secure: Option<String>,
    /// `type`: rom or pflash.
    pub loader_type: Option<String>,
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
        for b in e.children_named("boot") {
            let dev = b
                .attr_s("dev")
                .ok_or_else(|| XmlError::MissingElement(format!("{p}/boot/@dev")))?;
            if !matches!(dev.as_str(), "hd" | "cdrom" | "fd" | "network") {
                return Err(XmlError::invalid(format!("{p}/boot/@dev"), dev));
            }
            boot_devs.push(super::word(&dev));
        }
        let text = |n: &str| e.child_text(n).filter(|t| !t.is_empty());
        let opts = OsOpts {
            firmware: e.attr_s("firmware"),
            kernel: text("kernel"),
            initrd: text("initrd"),
            cmdline: e.child_text_raw("cmdline"),
            dtb: text("dtb"),
            root: text("root"),
            bootmenu: e.child("bootmenu").and_then(|b| b.attr_s("enable")),
            bootmenu_timeout: match e.child("bootmenu") {
                Some(b) => b.attr_num(&format!("{p}/bootmenu"), "timeout")?,
                None => None,
            },
        };
        boot_devs.shrink_to_fit();
        Ok(OsDef {
            loader: e.child("loader").map(|l| {
                Box::new(Loader {
                    readonly: l.attr_s("readonly"),
                    secure: l.attr_s("secure"),
                    loader_type: l.attr_s("type"),
                    path: Some(l.text.trim().to_string()).filter(|t| !t.is_empty()),
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
        if let Some(l) = &self.loader {
            let a = Attrs::new()
                .opt("readonly", l.readonly.as_ref())
                .opt("secure", l.secure.as_ref())
                .opt("type", l.loader_type.as_ref());
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
        for b in &self.boot_devs {
            out.empty("boot", &Attrs::new().add("dev", b));
        }
        if let Some(m) = &o.bootmenu {
            let a = Attrs::new()
                .add("enable", m)
                .opt("timeout", o.bootmenu_timeout);
            out.empty("bootmenu", &a);
        }
    }
}

/// Feature names we accept, in the order libvirt writes them.
const FEATURES: [&str; 14] = [
    "acpi",
    "apic",
    "pae",
    "hap",
    "viridian",
    "privnet",
    "pvspinlock",
    "pmu",
    "vmport",
    "smm",
    "vmcoreinfo",
    "htm",
    "nested-hv",
    "ccf-assist",
];

/// One `<features>` flag: name and on/off state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    /// Element name (`acpi`, `apic`, `pae`, ...).
    pub name: String,
    /// False when written with `state='off'`.
    pub enabled: bool,
}

/// Parses `<features>` into libvirt order.
pub fn parse_features(e: &Element) -> Result<Vec<Feature>, XmlError> {
    let p = "domain/features";
    let mut v = Vec::new();
    for name in FEATURES {
        if let Some(f) = e.child(name) {
            let enabled = match f.attr("state") {
                None | Some("on") => true,
                Some("off") => false,
                Some(x) => return Err(XmlError::invalid(format!("{p}/{name}/@state"), x)),
            };
            v.push(Feature {
                name: name.to_string(),
                enabled,
            });
        }
    }
    Ok(v)
}

/// Writes `<features>` when non-empty.
pub fn write_features(out: &mut Out, features: &[Feature]) {
    out.element("features", &Attrs::new(), |o| {
        for f in features {
            let a = Attrs::new().opt("state", (!f.enabled).then_some("off"));
            o.empty(&f.name, &a);
        }
    });
}

/// `<cpu>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CpuDef {
    /// `mode`: custom, host-model, host-passthrough, maximum.
    pub mode: Option<String>,
    /// `match`.
    pub match_: Option<String>,
    /// `check`.
    pub check: Option<String>,
    /// `migratable`.
    pub migratable: Option<String>,
    /// `<model>` text.
    pub model: Option<String>,
    /// `<model fallback>`.
    pub model_fallback: Option<String>,
    /// `<vendor>`.
    pub vendor: Option<String>,
    /// `<topology>` as (sockets, dies, cores, threads).
    pub topology: Option<(u32, u32, u32, u32)>,
    /// `<feature policy name>` pairs.
    pub features: Vec<(String, String)>,
}

impl CpuDef {
    /// Parses `<cpu>`.
    pub fn parse(e: &Element) -> Result<CpuDef, XmlError> {
        let p = "domain/cpu";
        let topology = match e.child("topology") {
            Some(t) => {
                let tp = format!("{p}/topology");
                let n = |k: &str| -> Result<u32, XmlError> { Ok(t.attr_num(&tp, k)?.unwrap_or(1)) };
                Some((n("sockets")?, n("dies")?, n("cores")?, n("threads")?))
            }
            None => None,
        };
        let mut features = Vec::new();
        for f in e.children_named("feature") {
            let name = f
                .attr_s("name")
                .ok_or_else(|| XmlError::MissingElement(format!("{p}/feature/@name")))?;
            features.push((f.attr("policy").unwrap_or("require").to_string(), name));
        }
        Ok(CpuDef {
            mode: e.attr_s("mode"),
            match_: e.attr_s("match"),
            check: e.attr_s("check"),
            migratable: e.attr_s("migratable"),
            model: e.child_text("model").filter(|m| !m.is_empty()),
            model_fallback: e.child("model").and_then(|m| m.attr_s("fallback")),
            vendor: e.child_text("vendor"),
            topology,
            features,
        })
    }

    /// Writes `<cpu>`.
    pub fn write(&self, out: &mut Out) {
        let a = Attrs::new()
            .opt("mode", self.mode.as_ref())
            .opt("match", self.match_.as_ref())
            .opt("check", self.check.as_ref())
            .opt("migratable", self.migratable.as_ref());
        out.element("cpu", &a, |o| {
            if let Some(m) = &self.model {
                let ma = Attrs::new().opt("fallback", self.model_fallback.as_ref());
                o.text("model", &ma, m);
            }
            o.opt_text("vendor", self.vendor.as_ref());
            if let Some((s, d, c, t)) = self.topology {
                let ta = Attrs::new()
                    .add("sockets", s)
                    .add("dies", d)
                    .add("cores", c)
                    .add("threads", t);
                o.empty("topology", &ta);
            }
            for (policy, name) in &self.features {
                o.empty(
                    "feature",
                    &Attrs::new().add("policy", policy).add("name", name),
                );
            }
        });
    }
}

/// `<clock>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockDef {
    /// `offset`: utc, localtime, timezone, variable.
    pub offset: super::Word,
    /// `adjustment`, `basis` and `timezone` (boxed: only some offsets use them).
    pub offset_params: Option<Box<ClockOffsetParams>>,
    /// `<timer>`s: name, present, tickpolicy, track.
    pub timers: Vec<Timer>,
}

/// The attributes that qualify a `<clock offset>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClockOffsetParams {
    /// `adjustment`.
    pub adjustment: Option<String>,
    /// `basis` (variable).
    pub basis: Option<String>,
    /// `timezone`.
    pub timezone: Option<String>,
}

impl Default for ClockDef {
    fn default() -> ClockDef {
        ClockDef {
            offset: super::Word::Borrowed("utc"),
            offset_params: None,
            timers: Vec::new(),
        }
    }
}

/// `<timer>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Timer {
    /// `name`: rtc, pit, hpet, kvmclock, tsc, ...
    pub name: String,
    /// `present`.
    pub present: Option<String>,
    /// `tickpolicy`.
    pub tickpolicy: Option<String>,
    /// `track`.
    pub track: Option<String>,
}

impl ClockDef {
    /// Parses `<clock>`.
    pub fn parse(e: &Element) -> Result<ClockDef, XmlError> {
        let p = "domain/clock";
        let mut timers = Vec::new();
        for t in e.children_named("timer") {
            timers.push(Timer {
                name: t
                    .attr_s("name")
                    .ok_or_else(|| XmlError::MissingElement(format!("{p}/timer/@name")))?,
                present: t.attr_s("present"),
                tickpolicy: t.attr_s("tickpolicy"),
                track: t.attr_s("track"),
            });
        }
        let offset = e.attr("offset").unwrap_or("utc").to_string();
        if !matches!(
            offset.as_str(),
            "utc" | "localtime" | "timezone" | "variable"
        ) {
            return Err(XmlError::invalid(format!("{p}/@offset"), offset));
        }
        Ok(ClockDef {
            offset: super::word(&offset),
            offset_params: {
                let params = ClockOffsetParams {
                    adjustment: e.attr_s("adjustment"),
                    basis: e.attr_s("basis"),
                    timezone: e.attr_s("timezone"),
                };
                (params != ClockOffsetParams::default()).then(|| Box::new(params))
            },
            timers,
        })
    }

    /// Writes `<clock>`.
    pub fn write(&self, out: &mut Out) {
        let params = self.offset_params.as_deref();
        let a = Attrs::new()
            .add("offset", &self.offset)
            .opt("adjustment", params.and_then(|p| p.adjustment.as_ref()))
            .opt("basis", params.and_then(|p| p.basis.as_ref()))
            .opt("timezone", params.and_then(|p| p.timezone.as_ref()));
        out.element_always("clock", &a, |o| {
            for t in &self.timers {
                let ta = Attrs::new()
                    .add("name", &t.name)
                    .opt("present", t.present.as_ref())
                    .opt("tickpolicy", t.tickpolicy.as_ref())
                    .opt("track", t.track.as_ref());
                o.empty("timer", &ta);
            }
        });
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

    #[test]
    fn features_ordered() {
        let e =
            parse_document("<features><apic/><pae/><acpi/><pmu state='off'/></features>").unwrap();
        let f = parse_features(&e).unwrap();
        let mut o = Out::new();
        write_features(&mut o, &f);
        assert_eq!(
            o.finish(),
            "<features>\n  <acpi/>\n  <apic/>\n  <pae/>\n  <pmu state='off'/>\n</features>\n"
        );
        let e = parse_document("<features><frob/></features>").unwrap();
        assert_eq!(parse_features(&e), Ok(Vec::new()));
    }

    #[test]
    fn cpu_and_clock() {
        let x = "<cpu mode='custom' match='exact'>\n  <model fallback='allow'>qemu64</model>\n  <topology sockets='1' dies='1' cores='2' threads='1'/>\n  <feature policy='require' name='vmx'/>\n</cpu>\n";
        let c = CpuDef::parse(&parse_document(x).unwrap()).unwrap();
        let mut o = Out::new();
        c.write(&mut o);
        assert_eq!(o.finish(), x);
        let x = "<clock offset='utc'>\n  <timer name='rtc' tickpolicy='catchup'/>\n</clock>\n";
        let c = ClockDef::parse(&parse_document(x).unwrap()).unwrap();
        let mut o = Out::new();
        c.write(&mut o);
        assert_eq!(o.finish(), x);
    }
}
