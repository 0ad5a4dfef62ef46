//! Input, graphics, video, watchdog, memory balloon and RNG devices.

use super::info::DeviceInfo;
use crate::out::{Attrs, Out};
use crate::spec::{attr, leaf, AttrSpec, Spec, Value};
use crate::tree::Element;
use crate::XmlError;

fn req_attr(e: &Element, p: &str, name: &str) -> Result<String, XmlError> {
    e.attr_s(name)
        .ok_or_else(|| XmlError::MissingElement(format!("{p}/@{name}")))
}

const EVDEV_SOURCE: Spec = leaf(
    "source",
    &[
        attr("dev", Value::Text),
        attr("grab", Value::Text),
        attr("grabToggle", Value::Text),
        attr("repeat", Value::OnOff),
    ],
);

/// An `<input>` device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// `type`: mouse, tablet, keyboard.
    pub input_type: String,
    /// `bus`: ps2, usb, virtio, xen.
    pub bus: Option<String>,
    /// `<source evdev>` (passthrough inputs).
    pub source_evdev: Option<String>,
    /// `model` (virtio inputs).
    pub model: Option<String>,
    /// An evdev input's `<source>`, canonical.
    pub evdev_source: Option<Element>,
    /// Alias, address.
    pub info: DeviceInfo,
}

impl Input {
    /// Parses `<input>`; `hvm` selects libvirt's default bus.
    pub fn parse(e: &Element, hvm: bool) -> Result<Input, XmlError> {
        let p = "domain/devices/input";
        let input_type = e
            .attr_s("type")
            .ok_or_else(|| XmlError::Internal("missing input device type".into()))?;
        let evdev = input_type == "evdev";
        let bus = e.attr_s("bus").or_else(|| {
            if evdev {
                return None;
            }
            let b = match (hvm, input_type.as_str()) {
                (true, "tablet") => "usb",
                (true, _) => "ps2",
                (false, _) => "xen",
            };
            Some(b.to_string())
        });
        let evdev_source = match e.child("source").filter(|_| evdev) {
            Some(s) => Some(EVDEV_SOURCE.parse(s, &format!("{p}/source"))?),
            None => None,
        };
        Ok(Input {
            source_evdev: e.child("source").and_then(|s| s.attr_s("evdev")),
            model: e.attr_s("model"),
            evdev_source,
            input_type,
            bus,
            info: DeviceInfo::parse(e, p)?,
        })
    }

    /// Writes `<input>`.
    pub fn write(&self, out: &mut Out) {
        let a = Attrs::new()
            .add("type", &self.input_type)
            .opt("bus", self.bus.as_ref())
            .opt("model", self.model.as_ref());
        out.element_always("input", &a, |o| {
            if let Some(s) = &self.evdev_source {
                s.write(o);
            }
            if let Some(ev) = &self.source_evdev {
                o.empty("source", &Attrs::new().add("evdev", ev));
            }
            self.info.write(o, false)
        });
    }
}

/// A `<graphics>` device (vnc or spice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graphics {
    /// `type`: vnc or spice.
    pub graphics_type: String,
    /// Port (0 when unset).
    pub port: i32,
    /// `autoport`.
    pub autoport: bool,
    /// `<listen type>`: address, socket, network or none.
    pub listen_type: String,
    /// Listen address.
    pub listen_address: Option<String>,
    /// Listen socket path.
    pub listen_socket: Option<String>,
    /// Listen network name.
    pub listen_network: Option<String>,
    /// `keymap`.
    pub keymap: Option<String>,
    /// `passwd` (kept, never formatted).
    pub passwd: Option<String>,
    /// The other attributes the type takes (sdl's `display`, dbus's `p2p`, ...), in
    /// libvirt's order.
    pub attrs: Vec<(String, String)>,
    /// Children other than `<listen>` (spice channels and compression, `<gl>`), canonical.
    pub children: Vec<Element>,
}

const GT: Value = Value::Text;
const COMPRESSION: &[AttrSpec] = &[attr("compression", GT)];

/// The attributes of the graphics types without listeners, in libvirt's order.
const PLAIN_ATTRS: &[&str] = &[
    "display",
    "xauth",
    "fullscreen",
    "p2p",
    "address",
    "replaceUser",
    "multiUser",
    "websocket",
    "sharePolicy",
    "powerControl",
    "tlsPort",
    "defaultMode",
    "passwdValidTo",
    "connected",
];

/// The children of `<graphics>` other than `<listen>`, in libvirt's order.
const GRAPHICS_CHILDREN: &[Spec] = &[
    leaf("channel", &[attr("name", GT), attr("mode", GT)]),
    leaf("image", COMPRESSION),
    leaf("jpeg", COMPRESSION),
    leaf("zlib", COMPRESSION),
    leaf("playback", COMPRESSION),
    leaf("streaming", &[attr("mode", GT)]),
    leaf("mouse", &[attr("mode", GT)]),
    leaf("clipboard", &[attr("copypaste", Value::YesNo)]),
    leaf("filetransfer", &[attr("enable", Value::YesNo)]),
    leaf(
        "gl",
        &[attr("enable", Value::YesNo), attr("rendernode", GT)],
    ),
    leaf("audio", &[attr("id", Value::Unsigned)]),
];

impl Graphics {
    /// Parses `<graphics>`.
    pub fn parse(e: &Element) -> Result<Graphics, XmlError> {
        let p = "domain/devices/graphics";
        let graphics_type = e
            .attr_s("type")
            .ok_or_else(|| super::generic::missing_attr("type", "graphics"))?;
        if !matches!(
            graphics_type.as_str(),
            "vnc" | "spice" | "sdl" | "rdp" | "egl-headless" | "dbus"
        ) {
            return Err(XmlError::invalid(format!("{p}/@type"), graphics_type));
        }
        let spice = graphics_type == "spice";
        let port: i32 = match e.attr("port") {
            Some(v) => v.trim().parse().map_err(|_| {
                XmlError::Internal(format!("cannot parse {graphics_type} port {v}"))
            })?,
            None => 0,
        };
        let rdp = graphics_type == "rdp";
        let autoport = match e.attr("autoport") {
            Some(v) => v == "yes",
            None => port <= 0 && !spice,
        } || (port == -1 && !spice)
            || (rdp && port == 0);
        let mut g = Graphics {
            graphics_type,
            port: if port < 0 && !spice || spice && autoport {
                0
            } else {
                port
            },
            autoport,
            listen_type: "address".into(),
            listen_address: e.attr_s("listen"),
            listen_socket: e.attr_s("socket"),
            listen_network: None,
            keymap: e.attr_s("keymap"),
            passwd: e.attr_s("passwd"),
            attrs: PLAIN_ATTRS
                .iter()
                .filter_map(|n| e.attr(n).map(|v| (n.to_string(), v.to_string())))
                .collect(),
            children: super::disk::spec_children(e, GRAPHICS_CHILDREN, p)?,
        };
        g.parse_listen(e, p)?;
        Ok(g)
    }

    /// The listen type and address, from `<listen>` or the old attributes.
    fn parse_listen(&mut self, e: &Element, p: &str) -> Result<(), XmlError> {
        let spice_unset = self.graphics_type == "spice"
            && e.child("listen").is_none()
            && self.listen_address.is_none()
            && self.port == 0
            && !self.autoport;
        if !self.has_listeners() || spice_unset {
            self.listen_type = "none".into();
        }
        if self.listen_socket.is_some() {
            self.listen_type = "socket".into();
        }
        if let Some(l) = e.child("listen") {
            self.listen_type = l.attr("type").unwrap_or("address").to_string();
            self.listen_address = l.attr_s("address").or(self.listen_address.take());
            self.listen_socket = l.attr_s("socket").or(self.listen_socket.take());
            self.listen_network = l.attr_s("network");
        }
        if !matches!(
            self.listen_type.as_str(),
            "address" | "socket" | "network" | "none"
        ) {
            return Err(XmlError::invalid(
                format!("{p}/listen/@type"),
                &self.listen_type,
            ));
        }
        Ok(())
    }

    /// The value of a kept attribute.
    fn extra(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether this graphics type has `<listen>` elements (vnc, spice, rdp).
    pub fn has_listeners(&self) -> bool {
        matches!(self.graphics_type.as_str(), "vnc" | "spice" | "rdp")
    }

    /// Writes `<graphics>`; `live` shows an automatically chosen port.
    pub fn write(&self, out: &mut Out, live: bool) {
        let mut a = Attrs::new().add("type", &self.graphics_type);
        if !self.has_listeners() {
            for (k, v) in &self.attrs {
                // libvirt writes dbus's p2p only when it is on.
                if !(k == "p2p" && v != "yes") {
                    a = a.add(k, v);
                }
            }
            out.element("graphics", &a, |o| self.write_children(o));
            return;
        }
        a = self.port_attrs(a, live);
        a = a
            .opt("keymap", self.keymap.as_ref())
            .opt("sharePolicy", self.extra("sharePolicy"))
            .opt("powerControl", self.extra("powerControl"))
            .opt("defaultMode", self.extra("defaultMode"))
            .opt("passwdValidTo", self.extra("passwdValidTo"))
            .opt("connected", self.extra("connected"));
        out.open("graphics", &a);
        let l = Attrs::new()
            .add("type", &self.listen_type)
            .opt(
                "address",
                self.listen_address
                    .as_ref()
                    .filter(|_| self.listen_type == "address"),
            )
            .opt("network", self.listen_network.as_ref())
            .opt(
                "socket",
                self.listen_socket
                    .as_ref()
                    .filter(|_| self.listen_type == "socket"),
            );
        out.empty("listen", &l);
        self.write_children(out);
        out.close("graphics");
    }

    /// The port and listen attributes of a graphics type with listeners.
    fn port_attrs(&self, mut a: Attrs, live: bool) -> Attrs {
        if self.graphics_type == "spice" {
            return self.spice_port_attrs(a);
        }
        match self.listen_type.as_str() {
            _ if self.graphics_type == "rdp" => {
                a = a.add("port", self.port);
                if self.autoport {
                    a = a.add("autoport", "yes");
                }
                a = a
                    .opt("replaceUser", self.extra("replaceUser"))
                    .opt("multiUser", self.extra("multiUser"));
                if self.listen_type == "address" {
                    a = a.opt("listen", self.listen_address.as_ref());
                }
            }
            "address" | "network" => {
                if self.port > 0 && (!self.autoport || live) {
                    a = a.add("port", self.port);
                } else if self.autoport {
                    a = a.add("port", -1);
                }
                a = a
                    .add("autoport", if self.autoport { "yes" } else { "no" })
                    .opt("websocket", self.extra("websocket"));
                if self.listen_type == "address" {
                    a = a.opt("listen", self.listen_address.as_ref());
                }
            }
            "socket" if self.graphics_type == "vnc" => {
                a = a.opt("socket", self.listen_socket.as_ref());
            }
            _ => {}
        }
        a
    }

    /// Spice's: a port or TLS port written with autoport yes or no, else autoport yes
    /// alone when set.
    fn spice_port_attrs(&self, mut a: Attrs) -> Attrs {
        let tls = self
            .extra("tlsPort")
            .filter(|t| *t != "0" && !self.autoport);
        let port = (self.port != 0).then_some(self.port);
        a = a.opt("port", port).opt("tlsPort", tls);
        if port.is_some() || tls.is_some() {
            a = a.add("autoport", if self.autoport { "yes" } else { "no" });
        } else if self.autoport {
            a = a.add("autoport", "yes");
        }
        if self.listen_type == "address" {
            a = a.opt("listen", self.listen_address.as_ref());
        }
        a
    }

    fn write_children(&self, out: &mut Out) {
        for c in &self.children {
            c.write(out);
        }
    }
}

/// A `<video>` device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Video {
    /// `<model type>`: vga, cirrus, qxl, virtio, bochs, ramfb, none.
    pub model: String,
    /// `ram` (qxl).
    pub ram: Option<u32>,
    /// `vram`.
    pub vram: Option<u32>,
    /// `vgamem`.
    pub vgamem: Option<u32>,
    /// `heads`.
    pub heads: Option<u32>,
    /// The document gave no `<model type>`: [`Video::model`] is the generic default,
    /// which a driver may replace by its own.
    pub implicit_model: bool,
    /// `primary='yes'` (libvirt marks the first video device).
    pub primary: bool,
    /// `<model><acceleration/></model>`, canonical.
    pub acceleration: Option<Element>,
    /// `vram64` (qxl).
    pub vram64: Option<u32>,
    /// `<driver name>` (vhostuser).
    pub driver_name: Option<String>,
    /// `<model><resolution/></model>`, canonical.
    pub resolution: Option<Element>,
    /// Alias, address.
    pub info: DeviceInfo,
}

const ACCELERATION: Spec = leaf(
    "acceleration",
    &[
        attr("accel3d", Value::YesNo),
        attr("accel2d", Value::YesNo),
        attr("rendernode", Value::Text),
    ],
);

const RESOLUTION: Spec = leaf(
    "resolution",
    &[attr("x", Value::Unsigned), attr("y", Value::Unsigned)],
);

/// libvirt's default `vram` (KiB) for a video model, and `ram` for qxl.
fn default_vram(model: &str) -> (Option<u32>, Option<u32>) {
    match model {
        "vga" | "cirrus" | "vmvga" | "bochs" => (None, Some(16384)),
        "xen" => (None, Some(4096)),
        "qxl" => (Some(65536), Some(65536)),
        _ => (None, None),
    }
}

impl Video {
    /// Parses `<video>`.
    pub fn parse(e: &Element) -> Result<Video, XmlError> {
        let p = "domain/devices/video";
        let mp = format!("{p}/model");
        let (model, m) = match e.child("model") {
            Some(m) => (
                m.attr("type").unwrap_or("cirrus").to_string(),
                Some(m).filter(|m| m.attr("type").is_some()),
            ),
            None => ("cirrus".to_string(), None),
        };
        let num = |n: &str| -> Result<Option<u32>, XmlError> {
            match m.and_then(|m| m.attr(n)) {
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| XmlError::Message(format!("cannot parse video {n} '{v}'"))),
                None => Ok(None),
            }
        };
        let implicit_model = m.is_none();
        let (ram, vram) = default_vram(&model);
        let none = model == "none";
        Ok(Video {
            ram: num("ram")?.or(ram),
            vram: num("vram")?.or(vram),
            vgamem: num("vgamem")?,
            heads: num("heads")?.or((!none).then_some(1)),
            primary: m.and_then(|m| m.attr("primary")) == Some("yes"),
            implicit_model,
            vram64: num("vram64")?,
            driver_name: e.child("driver").and_then(|d| d.attr_s("name")),
            resolution: match m.and_then(|m| m.child("resolution")) {
                Some(r) => Some(RESOLUTION.parse(r, &format!("{mp}/resolution"))?),
                None => None,
            },
            acceleration: match m.and_then(|m| m.child("acceleration")) {
                Some(a) => Some(ACCELERATION.parse(a, &format!("{mp}/acceleration"))?),
                None => None,
            },
            info: DeviceInfo::parse(e, p)?,
            model,
        })
    }

    /// Writes `<video>`.
    pub fn write(&self, out: &mut Out) {
        out.open("video", &Attrs::new());
        if let Some(n) = &self.driver_name {
            out.empty("driver", &Attrs::new().add("name", n));
        }
        let a = Attrs::new()
            .add("type", &self.model)
            .opt("ram", self.ram)
            .opt("vram", self.vram)
            .opt("vram64", self.vram64)
            .opt("vgamem", self.vgamem)
            .opt("heads", self.heads)
            .opt("primary", self.primary.then_some("yes"));
        out.element_always("model", &a, |o| {
            if let Some(x) = &self.acceleration {
                x.write(o);
            }
            if let Some(x) = &self.resolution {
                x.write(o);
            }
        });
        self.info.write(out, false);
        out.close("video");
    }
}

/// A `<watchdog>` device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watchdog {
    /// `model`: i6300esb, ib700, diag288, itco.
    pub model: String,
    /// `action` (default reset).
    pub action: String,
    /// Alias, address.
    pub info: DeviceInfo,
}

impl Watchdog {
    /// Parses `<watchdog>`.
    pub fn parse(e: &Element) -> Result<Watchdog, XmlError> {
        let p = "domain/devices/watchdog";
        Ok(Watchdog {
            model: e
                .attr_s("model")
                .ok_or_else(|| XmlError::Internal("watchdog must contain model name".into()))?,
            action: e.attr("action").unwrap_or("reset").to_string(),
            info: DeviceInfo::parse(e, p)?,
        })
    }

    /// Writes `<watchdog>`.
    pub fn write(&self, out: &mut Out) {
        let a = Attrs::new()
            .add("model", &self.model)
            .add("action", &self.action);
        out.element_always("watchdog", &a, |o| self.info.write(o, false));
    }
}

/// The `<memballoon>` device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemBalloon {
    /// `model`: virtio, xen, none.
    pub model: String,
    /// `autodeflate`.
    pub autodeflate: Option<String>,
    /// `freePageReporting`.
    pub free_page_reporting: Option<String>,
    /// `<stats period>`.
    pub stats_period: Option<i32>,
    /// Alias, address.
    pub info: DeviceInfo,
    /// `<driver>`: the virtio options (iommu, ats, packed, page_per_vq), canonical.
    pub driver: Option<Element>,
}

/// libvirt's virtio options, `<driver>` of a virtio device.
const VIRTIO_DRIVER: crate::spec::Spec = crate::spec::leaf(
    "driver",
    &[
        attr("iommu", Value::OnOff),
        attr("ats", Value::OnOff),
        attr("packed", Value::OnOff),
        attr("page_per_vq", Value::OnOff),
    ],
);

impl MemBalloon {
    /// Parses `<memballoon>`.
    pub fn parse(e: &Element) -> Result<MemBalloon, XmlError> {
        let p = "domain/devices/memballoon";
        Ok(MemBalloon {
            model: e
                .attr_s("model")
                .ok_or_else(|| super::generic::missing_attr("model", "memballoon"))?,
            autodeflate: e.attr_s("autodeflate"),
            free_page_reporting: e.attr_s("freePageReporting"),
            stats_period: match e.child("stats") {
                Some(s) => s.attr_num(&format!("{p}/stats"), "period")?,
                None => None,
            },
            info: DeviceInfo::parse(e, p)?,
            driver: VIRTIO_DRIVER
                .parse_child(e, p)?
                .filter(|d| !d.attrs.is_empty()),
        })
    }

    /// Writes `<memballoon>`.
    pub fn write(&self, out: &mut Out) {
        let a = Attrs::new()
            .add("model", &self.model)
            .opt("autodeflate", self.autodeflate.as_ref())
            .opt("freePageReporting", self.free_page_reporting.as_ref());
        out.element_always("memballoon", &a, |o| {
            if let Some(p) = self.stats_period {
                o.empty("stats", &Attrs::new().add("period", p));
            }
            self.info.write(o, false);
            if let Some(d) = &self.driver {
                d.write(o);
            }
        });
    }
}

/// An egd backend as libvirt writes it: a tcp or udp source gets its protocol.
fn egd_backend(b: &Element) -> Element {
    let mut x = b.clone();
    let tcp = matches!(x.attr("type"), Some("tcp"));
    if tcp && !x.children.iter().any(|c| c.name == "protocol") {
        let mut p = Element {
            name: "protocol".into(),
            ..Element::default()
        };
        p.attrs.push(("type".into(), "raw".into()));
        x.children.push(p);
    }
    x
}

/// An `<rng>` device with the `random` backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng {
    /// `model` (virtio).
    pub model: String,
    /// `<rate bytes>`.
    pub rate_bytes: Option<u32>,
    /// `<rate period>`.
    pub rate_period: Option<u32>,
    /// `<backend model>`: random, builtin or egd.
    pub backend_model: String,
    /// Host source, e.g. /dev/urandom.
    pub backend_path: Option<String>,
    /// An `egd` backend's character device, kept as written (boxed: rare).
    pub backend_egd: Option<Box<Element>>,
    /// Alias, address.
    pub info: DeviceInfo,
}

impl Rng {
    /// Parses `<rng>`.
    pub fn parse(e: &Element) -> Result<Rng, XmlError> {
        let p = "domain/devices/rng";
        let b = e
            .child("backend")
            .ok_or_else(|| XmlError::Message("only one RNG backend is supported".into()))?;
        let backend_model = b
            .attr_s("model")
            .ok_or_else(|| XmlError::Message("missing RNG device backend model".into()))?;
        if !matches!(backend_model.as_str(), "random" | "builtin" | "egd") {
            return Err(XmlError::BadAttribute {
                attr: "model".into(),
                element: "backend".into(),
                value: backend_model,
            });
        }
        let backend_egd = (backend_model == "egd").then(|| Box::new(egd_backend(b)));
        let rate = e.child("rate");
        let rp = format!("{p}/rate");
        Ok(Rng {
            model: req_attr(e, p, "model")?,
            rate_bytes: rate
                .map(|r| r.attr_num(&rp, "bytes"))
                .transpose()?
                .flatten(),
            rate_period: rate
                .map(|r| r.attr_num(&rp, "period"))
                .transpose()?
                .flatten(),
            backend_path: Some(b.text.trim().to_string())
                .filter(|t| !t.is_empty())
                .or_else(|| (backend_model == "random").then(|| "/dev/random".to_string())),
            backend_model,
            backend_egd,
            info: DeviceInfo::parse(e, p)?,
        })
    }

    /// Writes `<rng>`.
    pub fn write(&self, out: &mut Out) {
        out.open("rng", &Attrs::new().add("model", &self.model));
        if let Some(b) = self.rate_bytes {
            out.empty(
                "rate",
                &Attrs::new().add("bytes", b).opt("period", self.rate_period),
            );
        }
        let a = Attrs::new().add("model", &self.backend_model);
        match (&self.backend_egd, &self.backend_path) {
            (Some(egd), _) => egd.write(out),
            (None, Some(path)) => out.text("backend", &a, path),
            (None, None) => out.empty("backend", &a),
        }
        self.info.write(out, false);
        out.close("rng");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::parse_document;

    fn el(x: &str) -> Element {
        parse_document(x).unwrap()
    }

    #[test]
    fn graphics_vnc() {
        let g = Graphics::parse(&el("<graphics type='vnc' port='5904'/>")).unwrap();
        let mut o = Out::new();
        g.write(&mut o, false);
        assert_eq!(
            o.finish(),
            "<graphics type='vnc' port='5904' autoport='no'>\n  <listen type='address'/>\n</graphics>\n"
        );
        let g = Graphics::parse(&el(
            "<graphics type='vnc' autoport='yes' listen='127.0.0.1'/>",
        ))
        .unwrap();
        let mut o = Out::new();
        g.write(&mut o, false);
        assert_eq!(
            o.finish(),
            "<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'>\n  <listen type='address' address='127.0.0.1'/>\n</graphics>\n"
        );
        assert!(Graphics::parse(&el("<graphics type='hologram'/>")).is_err());
    }

    #[test]
    fn video_input_watchdog_rng() {
        let mut o = Out::new();
        Video::parse(&el(
            "<video><model type='vga' vram='16384' heads='1' primary='yes'/></video>",
        ))
        .unwrap()
        .write(&mut o);
        Input::parse(&el("<input type='tablet'/>"), true)
            .unwrap()
            .write(&mut o);
        Input::parse(&el("<input type='mouse'/>"), true)
            .unwrap()
            .write(&mut o);
        Watchdog::parse(&el("<watchdog model='i6300esb'/>"))
            .unwrap()
            .write(&mut o);
        Rng::parse(&el(
            "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>",
        ))
        .unwrap()
        .write(&mut o);
        MemBalloon::parse(&el("<memballoon model='none'/>"))
            .unwrap()
            .write(&mut o);
        assert_eq!(
            o.finish(),
            "<video>\n  <model type='vga' vram='16384' heads='1' primary='yes'/>\n</video>\n\
             <input type='tablet' bus='usb'/>\n<input type='mouse' bus='ps2'/>\n\
             <watchdog model='i6300esb' action='reset'/>\n\
             <rng model='virtio'>\n  <backend model='random'>/dev/urandom</backend>\n</rng>\n\
             <memballoon model='none'/>\n"
        );
        assert!(Rng::parse(&el("<rng model='virtio'><backend model='frob'/></rng>")).is_err());
    }
}
