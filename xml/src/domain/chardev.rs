//! Character devices: `<serial>`, `<parallel>`, `<console>`, `<channel>`.

use super::info::DeviceInfo;
use crate::out::{Attrs, Out};
use crate::spec::{attr, leaf, Spec, Value};
use crate::tree::Element;
use crate::XmlError;

/// Which element a character device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChrKind {
    /// `<serial>`.
    Serial,
    /// `<parallel>`.
    Parallel,
    /// `<console>`.
    Console,
    /// `<channel>`.
    Channel,
}

impl ChrKind {
    /// The element name.
    pub fn element(self) -> &'static str {
        match self {
            ChrKind::Serial => "serial",
            ChrKind::Parallel => "parallel",
            ChrKind::Console => "console",
            ChrKind::Channel => "channel",
        }
    }
}

/// A character device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharDev {
    /// The element.
    pub kind: ChrKind,
    /// `type`: pty, file, unix, tcp, udp, dev, pipe, null, vc, stdio, spicevmc.
    pub source_type: String,
    /// Path for pty/file/dev/pipe/unix (a pty's path is only shown when live).
    pub source_path: Option<String>,
    /// `mode` for unix/tcp (`bind` or `connect`).
    pub source_mode: Option<String>,
    /// `host` for tcp.
    pub source_host: Option<String>,
    /// `service` for tcp.
    pub source_service: Option<String>,
    /// `append` for file.
    pub source_append: Option<String>,
    /// `<protocol type>` for tcp.
    pub protocol: Option<String>,
    /// `tls` of a tcp source.
    pub source_tls: Option<String>,
    /// `<reconnect>` and `<seclabel>`s of the source, canonical.
    pub source_seclabels: Vec<Element>,
    /// The source of a spiceport, nmdm or qemu-vdagent device, canonical.
    pub other_source: Option<Element>,
    /// `<log file>`.
    pub log_file: Option<String>,
    /// `<log append>`.
    pub log_append: Option<String>,
    /// A udp device's `<source mode='bind'>` host and service.
    pub udp_bind: Option<(Option<String>, Option<String>)>,
    /// `<target type>`.
    pub target_type: Option<String>,
    /// `<target port>` (serial, parallel, console).
    pub target_port: Option<u32>,
    /// `<target name>` (channel).
    pub target_name: Option<String>,
    /// `<target address>` (guestfwd channel).
    pub target_address: Option<String>,
    /// `<target><model name/></target>` (serial).
    pub target_model: Option<String>,
    /// `<target state>` of a virtio channel: whether the guest has the port open
    /// (`connected`/`disconnected`), runtime data shown only in the live XML.
    pub target_state: Option<String>,
    /// Alias, address.
    pub info: DeviceInfo,
}

const TYPES: [&str; 14] = [
    "pty",
    "file",
    "unix",
    "tcp",
    "udp",
    "dev",
    "pipe",
    "null",
    "vc",
    "stdio",
    "spicevmc",
    "spiceport",
    "nmdm",
    "qemu-vdagent",
];

const RECONNECT: Spec = leaf(
    "reconnect",
    &[
        attr("enabled", Value::YesNo),
        attr("timeout", Value::Unsigned),
    ],
);

const SECLABEL: Spec = Spec {
    name: "seclabel",
    attrs: &[attr("model", Value::Text), attr("relabel", Value::YesNo)],
    children: &[crate::spec::text("label", Value::Text)],
    text: None,
};

/// The `<source>` of the types without a path or host (spiceport, nmdm, qemu-vdagent).
const OTHER_SOURCE: Spec = Spec {
    name: "source",
    attrs: &[
        attr("channel", Value::Text),
        attr("master", Value::Text),
        attr("slave", Value::Text),
    ],
    children: &[
        leaf("clipboard", &[attr("copypaste", Value::YesNo)]),
        leaf("mouse", &[attr("mode", Value::Text)]),
    ],
    text: None,
};

impl CharDev {
    /// Parses a character device; `index` is its position among devices of
    /// the same kind (used as the default port).
    pub fn parse(e: &Element, kind: ChrKind, index: u32) -> Result<CharDev, XmlError> {
        let p = format!("domain/devices/{}", kind.element());
        let source_type = e.attr("type").unwrap_or("pty").to_string();
        if !TYPES.contains(&source_type.as_str()) {
            return Err(XmlError::invalid(format!("{p}/@type"), source_type));
        }
        let src = e.child("source");
        let sattr = |n: &str| src.and_then(|s| s.attr_s(n));
        let target = e.child("target");
        let tattr = |n: &str| target.and_then(|t| t.attr_s(n));
        let mut c = CharDev {
            kind,
            source_path: sattr("path").or_else(|| e.attr_s("tty")),
            source_mode: sattr("mode"),
            source_host: sattr("host"),
            source_service: sattr("service"),
            source_append: sattr("append"),
            protocol: e.child("protocol").and_then(|x| x.attr_s("type")),
            source_tls: sattr("tls"),
            source_seclabels: match src {
                Some(s) => super::disk::spec_children(s, &[RECONNECT, SECLABEL], &p)?,
                None => Vec::new(),
            },
            other_source: None,
            log_file: e.child("log").and_then(|x| x.attr_s("file")),
            log_append: e.child("log").and_then(|x| x.attr_s("append")),
            udp_bind: None,
            target_type: tattr("type"),
            target_port: match target {
                Some(t) => t.attr_num(&format!("{p}/target"), "port")?,
                None => None,
            },
            target_name: tattr("name"),
            target_state: tattr("state")
                .filter(|s| matches!(s.as_str(), "connected" | "disconnected")),
            target_address: tattr("address"),
            target_model: target
                .and_then(|t| t.child("model"))
                .and_then(|m| m.attr_s("name")),
            info: DeviceInfo::parse(e, &p)?,
            source_type,
        };
        c.finish(e, src, &p)?;
        c.apply_defaults(index);
        Ok(c)
    }

    /// libvirt's checks of the source mode and a channel's target type, and the sources
    /// of udp, spiceport, nmdm and qemu-vdagent devices.
    fn finish(&mut self, e: &Element, src: Option<&Element>, p: &str) -> Result<(), XmlError> {
        if let Some(m) = self
            .source_mode
            .as_deref()
            .filter(|m| !matches!(*m, "bind" | "connect"))
        {
            return Err(XmlError::BadAttribute {
                attr: "mode".into(),
                element: "source".into(),
                value: m.to_string(),
            });
        }
        if self.kind == ChrKind::Channel && self.target_type.is_none() {
            return Err(XmlError::Message(
                "target type must be specified for channel device".into(),
            ));
        }
        if self.source_type == "udp" {
            self.parse_udp(e);
        }
        if matches!(
            self.source_type.as_str(),
            "spiceport" | "nmdm" | "qemu-vdagent"
        ) {
            if let Some(s) = src {
                self.other_source = Some(OTHER_SOURCE.parse(s, &format!("{p}/source"))?);
            }
        }
        Ok(())
    }

    /// A udp device has a bind source and a connect source.
    fn parse_udp(&mut self, e: &Element) {
        self.source_mode = None;
        self.source_host = None;
        self.source_service = None;
        for s in e.children_named("source") {
            let hs = (s.attr_s("host"), s.attr_s("service"));
            if s.attr("mode") == Some("bind") {
                self.udp_bind = Some(hs);
            } else {
                self.source_mode = Some("connect".into());
                (self.source_host, self.source_service) = hs;
            }
        }
    }

    fn apply_defaults(&mut self, index: u32) {
        match self.kind {
            ChrKind::Serial | ChrKind::Parallel => {
                self.target_port.get_or_insert(index);
            }
            ChrKind::Console => {
                self.target_port.get_or_insert(index);
                self.target_type.get_or_insert_with(|| "serial".into());
            }
            ChrKind::Channel => {}
        }
        if self.source_type == "unix" && self.source_path.is_some() {
            self.source_mode.get_or_insert_with(|| "connect".into());
        }
        if self.source_type == "tcp" {
            self.source_mode.get_or_insert_with(|| "connect".into());
            self.protocol.get_or_insert_with(|| "raw".into());
        }
    }

    /// Writes the device; `live` shows runtime data such as a pty's path.
    pub fn write(&self, out: &mut Out, live: bool) {
        let name = self.kind.element();
        let tty = self.kind == ChrKind::Console
            && self.target_port == Some(0)
            && self.source_type == "pty"
            && live;
        let attrs = Attrs::new()
            .add("type", &self.source_type)
            .opt("tty", self.source_path.as_ref().filter(|_| tty));
        out.open(name, &attrs);
        self.write_source(out, live);
        self.write_target(out, live);
        self.info.write(out, false);
        out.close(name);
    }

    fn write_source(&self, out: &mut Out, live: bool) {
        match self.source_type.as_str() {
            "pty" | "file" | "dev" | "pipe" if self.source_type != "pty" || live => {
                let a = Attrs::new()
                    .opt("path", self.source_path.as_ref())
                    .opt("append", self.source_append.as_ref());
                out.element("source", &a, |o| self.write_seclabels(o));
            }
            "unix" if self.source_path.is_some() => {
                let a = Attrs::new()
                    .opt("mode", self.source_mode.as_ref())
                    .opt("path", self.source_path.as_ref());
                out.element("source", &a, |o| self.write_seclabels(o));
            }
            "udp" => {
                if let Some((h, sv)) = &self.udp_bind {
                    let a = Attrs::new()
                        .add("mode", "bind")
                        .opt("host", h.as_ref())
                        .opt("service", sv.as_ref());
                    out.empty("source", &a);
                }
                if self.source_mode.is_some() {
                    let a = Attrs::new()
                        .add("mode", "connect")
                        .opt("host", self.source_host.as_ref())
                        .opt("service", self.source_service.as_ref());
                    out.empty("source", &a);
                }
            }
            "tcp" => {
                let a = Attrs::new()
                    .opt("mode", self.source_mode.as_ref())
                    .opt("host", self.source_host.as_ref())
                    .opt("service", self.source_service.as_ref())
                    .opt("tls", self.source_tls.as_ref());
                out.element("source", &a, |o| self.write_seclabels(o));
                out.empty(
                    "protocol",
                    &Attrs::new().opt("type", self.protocol.as_ref()),
                );
            }
            _ => {
                if let Some(x) = &self.other_source {
                    x.write(out);
                }
            }
        }
        if let Some(f) = &self.log_file {
            let a = Attrs::new()
                .add("file", f)
                .opt("append", self.log_append.as_ref());
            out.empty("log", &a);
        }
    }

    fn write_seclabels(&self, out: &mut Out) {
        for x in &self.source_seclabels {
            x.write(out);
        }
    }

    fn write_target(&self, out: &mut Out, live: bool) {
        match self.kind {
            ChrKind::Channel => {
                let a = Attrs::new()
                    .opt("type", self.target_type.as_ref())
                    .opt("name", self.target_name.as_ref())
                    .opt("state", self.target_state.as_ref().filter(|_| live))
                    .opt("address", self.target_address.as_ref())
                    .opt("port", self.target_port);
                out.empty("target", &a);
            }
            ChrKind::Console | ChrKind::Parallel => {
                let a = Attrs::new()
                    .opt("type", self.target_type.as_ref())
                    .opt("port", self.target_port);
                out.empty("target", &a);
            }
            ChrKind::Serial => {
                let a = Attrs::new()
                    .opt("type", self.target_type.as_ref())
                    .opt("port", self.target_port);
                out.element_always("target", &a, |o| {
                    if let Some(m) = &self.target_model {
                        o.empty("model", &Attrs::new().add("name", m));
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::parse_document;

    fn rt(xml: &str, kind: ChrKind, live: bool) -> String {
        let c = CharDev::parse(&parse_document(xml).unwrap(), kind, 0).unwrap();
        let mut o = Out::new();
        c.write(&mut o, live);
        o.finish()
    }

    #[test]
    fn serial_pty() {
        let x = "<serial type='pty'>\n  <source path='/dev/pts/3'/>\n  <target type='isa-serial' port='0'>\n    <model name='isa-serial'/>\n  </target>\n  <alias name='serial0'/>\n</serial>\n";
        assert_eq!(rt(x, ChrKind::Serial, true), x);
        assert!(!rt(x, ChrKind::Serial, false).contains("/dev/pts/3"));
    }

    #[test]
    fn console_defaults_and_tty() {
        let out = rt("<console tty='/dev/pts/5'/>", ChrKind::Console, true);
        assert_eq!(
            out,
            "<console type='pty' tty='/dev/pts/5'>\n  <source path='/dev/pts/5'/>\n  <target type='serial' port='0'/>\n</console>\n"
        );
    }

    #[test]
    fn channel_unix_and_file() {
        let x = "<channel type='unix'>\n  <source mode='bind' path='/tmp/ga.sock'/>\n  <target type='virtio' name='org.qemu.guest_agent.0'/>\n  <address type='virtio-serial' controller='0' bus='0' port='1'/>\n</channel>\n";
        assert_eq!(rt(x, ChrKind::Channel, false), x);
        let f =
            "<serial type='file'>\n  <source path='/tmp/log'/>\n  <target port='0'/>\n</serial>\n";
        assert_eq!(rt(f, ChrKind::Serial, false), f);
    }

    #[test]
    fn channel_state_is_live_only() {
        let x = "<channel type='unix'>\n  <source mode='bind' path='/tmp/ga.sock'/>\n  <target type='virtio' name='org.qemu.guest_agent.0' state='connected'/>\n</channel>\n";
        assert_eq!(rt(x, ChrKind::Channel, true), x);
        assert!(!rt(x, ChrKind::Channel, false).contains("state="));
        let bogus = x.replace("connected", "sideways");
        assert!(!rt(&bogus, ChrKind::Channel, true).contains("state="));
    }

    #[test]
    fn bad_type() {
        let e = parse_document("<serial type='teleport'/>").unwrap();
        assert!(CharDev::parse(&e, ChrKind::Serial, 0).is_err());
    }
}
