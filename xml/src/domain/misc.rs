//! Input, graphics, video, watchdog, memory balloon and RNG devices.

use super::info::DeviceInfo;
use crate::out::{Attrs, Out};
use crate::tree::Element;
use crate::XmlError;

fn req_attr(e: &Element, p: &str, name: &str) -> Result<String, XmlError> {
    e.attr_s(name)
        .ok_or_else(|| XmlError::MissingElement(format!("{p}/@{name}")))
}

/// An `<input>` device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// `type`: mouse, tablet, keyboard.
    pub input_type: String,
    /// `bus`: ps2, usb, virtio, xen.
    pub bus: Option<String>,
    /// Alias, address.
    pub info: DeviceInfo,
}

impl Input {
    /// Parses `<input>`; `hvm` selects libvirt's default bus.
    pub fn parse(e: &Element, hvm: bool) -> Result<Input, XmlError> {
        let p = "domain/devices/input";
        let input_type = req_attr(e, p, "type")?;
        let bus = e.attr_s("bus").or_else(|| {
            let b = match (hvm, input_type.as_str()) {
                (true, "tablet") => "usb",
                (true, _) => "ps2",
                (false, _) => "xen",
            };
            Some(b.to_string())
        });
        Ok(Input {
            input_type,
            bus,
            info: DeviceInfo::parse(e, p)?,
        })
    }

    /// Writes `<input>`.
    pub fn write(&self, out: &mut Out) {
        let a = Attrs::new()
            .add("type", &self.input_type)
            .opt("bus", self.bus.as_ref());
        out.element_always("input", &a, |o| self.info.write(o, false));
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
}

impl Graphics {
    /// Parses `<graphics>`.
    pub fn parse(e: &Element) -> Result<Graphics, XmlError> {
        let p = "domain/devices/graphics";
        let graphics_type = req_attr(e, p, "type")?;
        if !matches!(graphics_type.as_str(), "vnc" | "spice") {
            return Err(XmlError::invalid(format!("{p}/@type"), graphics_type));
        }
        let port: i32 = e.attr_num(p, "port")?.unwrap_or(0);
        let autoport = match e.attr("autoport") {
            Some(v) => v == "yes",
            None => port <= 0,
        } || port == -1;
        let mut g = Graphics {
            graphics_type,
            port: if port < 0 { 0 } else { port },
            autoport,
            listen_type: "address".into(),
            listen_address: e.attr_s("listen"),
            listen_socket: e.attr_s("socket"),
            listen_network: None,
            keymap: e.attr_s("keymap"),
            passwd: e.attr_s("passwd"),
        };
        if g.listen_socket.is_some() {
            g.listen_type = "socket".into();
        }
        if let Some(l) = e.child("listen") {
            g.listen_type = l.attr("type").unwrap_or("address").to_string();
            g.listen_address = l.attr_s("address").or(g.listen_address);
            g.listen_socket = l.attr_s("socket").or(g.listen_socket);
            g.listen_network = l.attr_s("network");
        }
        if !matches!(
            g.listen_type.as_str(),
            "address" | "socket" | "network" | "none"
        ) {
            return Err(XmlError::invalid(
                format!("{p}/listen/@type"),
                &g.listen_type,
            ));
        }
        Ok(g)
    }

    /// Writes `<graphics>`; `live` shows an automatically chosen port.
    pub fn write(&self, out: &mut Out, live: bool) {
        let mut a = Attrs::new().add("type", &self.graphics_type);
        match self.listen_type.as_str() {
            "address" | "network" => {
                if self.port > 0 && (!self.autoport || live) {
                    a = a.add("port", self.port);
                } else if self.autoport {
                    a = a.add("port", -1);
                }
                a = a.add("autoport", if self.autoport { "yes" } else { "no" });
                if self.listen_type == "address" {
                    a = a.opt("listen", self.listen_address.as_ref());
                }
            }
            "socket" if self.graphics_type == "vnc" => {
                a = a.opt("socket", self.listen_socket.as_ref());
            }
            _ => {}
        }
        a = a.opt("keymap", self.keymap.as_ref());
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
        out.close("graphics");
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
    /// `primary='yes'`.
    pub primary: bool,
    /// Alias, address.
    pub info: DeviceInfo,
}

impl Video {
    /// Parses `<video>`.
    pub fn parse(e: &Element) -> Result<Video, XmlError> {
        let p = "domain/devices/video";
        let mp = format!("{p}/model");
        let (model, m) = match e.child("model") {
            Some(m) => (req_attr(m, &mp, "type")?, Some(m)),
            None => ("vga".to_string(), None),
        };
        let num = |n: &str| -> Result<Option<u32>, XmlError> {
            m.map(|m| m.attr_num(&mp, n))
                .transpose()
                .map(Option::flatten)
        };
        Ok(Video {
            ram: num("ram")?,
            vram: num("vram")?,
            vgamem: num("vgamem")?,
            heads: num("heads")?,
            primary: m.and_then(|m| m.attr("primary")) == Some("yes"),
            info: DeviceInfo::parse(e, p)?,
            model,
        })
    }

    /// Writes `<video>`.
    pub fn write(&self, out: &mut Out) {
        out.open("video", &Attrs::new());
        let a = Attrs::new()
            .add("type", &self.model)
            .opt("ram", self.ram)
            .opt("vram", self.vram)
            .opt("vgamem", self.vgamem)
            .opt("heads", self.heads)
            .opt("primary", self.primary.then_some("yes"));
        out.empty("model", &a);
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
            model: req_attr(e, p, "model")?,
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
    /// `<stats period>`.
    pub stats_period: Option<i32>,
    /// Alias, address.
    pub info: DeviceInfo,
}

impl MemBalloon {
    /// Parses `<memballoon>`.
    pub fn parse(e: &Element) -> Result<MemBalloon, XmlError> {
        let p = "domain/devices/memballoon";
        Ok(MemBalloon {
            model: req_attr(e, p, "model")?,
            autodeflate: e.attr_s("autodeflate"),
            stats_period: match e.child("stats") {
                Some(s) => s.attr_num(&format!("{p}/stats"), "period")?,
                None => None,
            },
            info: DeviceInfo::parse(e, p)?,
        })
    }

    /// Writes `<memballoon>`.
    pub fn write(&self, out: &mut Out) {
        let a = Attrs::new()
            .add("model", &self.model)
            .opt("autodeflate", self.autodeflate.as_ref());
        out.element_always("memballoon", &a, |o| {
            if let Some(p) = self.stats_period {
                o.empty("stats", &Attrs::new().add("period", p));
            }
            self.info.write(o, false);
        });
    }
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
        let b = e.req_child(p, "backend")?;
        let backend_model = req_attr(b, &format!("{p}/backend"), "model")?;
        if !matches!(backend_model.as_str(), "random" | "builtin" | "egd") {
            return Err(XmlError::BadAttribute {
                attr: "model".into(),
                element: "backend".into(),
                value: backend_model,
            });
        }
        let backend_egd = (backend_model == "egd").then(|| Box::new(b.clone()));
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
            backend_path: Some(b.text.trim().to_string()).filter(|t| !t.is_empty()),
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
        assert!(Graphics::parse(&el("<graphics type='rdp'/>")).is_err());
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
