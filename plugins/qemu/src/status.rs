//! Runtime status files (`run_dir/NAME.xml`): what a restarted daemon needs to find a
//! running domain again: pid, id, monitor socket, state and the live definition,
//! including what a definition never carries: the network ports its interfaces have
//! and where they are plugged in (`<source network portid bridge>`, or `dev` and `mode`
//! for a port plugged as a macvtap).

use std::path::{Path, PathBuf};

use rvirt_xml::domain::{Device, DomainDef};
use rvirt_xml::tree::{parse_root, Element};
use rvirt_xml::XmlError;

/// One running domain's status.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub state: i32,
    pub reason: i32,
    pub pid: i32,
    pub id: i32,
    pub monitor: PathBuf,
    pub live: DomainDef,
}

fn esc_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('\'', "&apos;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The live definition of a status file's `<domain>`, with its interfaces' ports.
fn live_def(dom: &Element) -> Result<DomainDef, XmlError> {
    let mut live = DomainDef::from_element(dom)?;
    let Some(devices) = dom.child("devices") else {
        return Ok(live);
    };
    // Interfaces keep their order among themselves in the written document.
    let ifaces = live.devices.iter_mut().filter_map(|d| match d {
        Device::Interface(i) => Some(i),
        _ => None,
    });
    for (iface, e) in ifaces.zip(devices.children_named("interface")) {
        iface.restore_live_port(e);
    }
    Ok(live)
}

impl Status {
    /// The file's text: a `<domstatus>` root around the live `<domain>`.
    pub fn to_xml(&self) -> String {
        let mut s = format!(
            "<domstatus state='{}' reason='{}' pid='{}' id='{}' monitor='{}'>\n",
            self.state,
            self.reason,
            self.pid,
            self.id,
            esc_attr(&self.monitor.display().to_string())
        );
        for line in self.live.to_xml(Some(self.id)).lines() {
            s.push_str("  ");
            s.push_str(line);
            s.push('\n');
        }
        s.push_str("</domstatus>\n");
        s
    }

    pub fn parse(xml: &str) -> Result<Status, XmlError> {
        let root = parse_root(xml, "domstatus")?;
        let p = "domstatus";
        let num = |k: &str| -> Result<i32, XmlError> {
            root.attr_num(p, k)?
                .ok_or_else(|| XmlError::MissingElement(format!("{p}/@{k}")))
        };
        let monitor = root
            .attr_s("monitor")
            .ok_or_else(|| XmlError::MissingElement(format!("{p}/@monitor")))?;
        let dom = root.req_child(p, "domain")?;
        Ok(Status {
            state: num("state")?,
            reason: num("reason")?,
            pid: num("pid")?,
            id: num("id")?,
            monitor: PathBuf::from(monitor),
            live: live_def(dom)?,
        })
    }

    pub fn load(path: &Path) -> Result<Status, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        Status::parse(&text).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut live = DomainDef::parse(include_str!("../testdata/tiny-tcg.xml")).unwrap();
        live.name = "a'b&c".into();
        let s = Status {
            state: 3,
            reason: 1,
            pid: 4242,
            id: 7,
            monitor: "/run/x/a'b.monitor".into(),
            live,
        };
        let text = s.to_xml();
        assert!(
            text.starts_with("<domstatus state='3' reason='1' pid='4242' id='7'"),
            "{text}"
        );
        assert!(text.contains("<domain type='qemu' id='7'>"), "{text}");
        assert_eq!(Status::parse(&text).unwrap(), s);
        assert!(Status::parse("<domstatus/>").is_err());
    }

    /// A restarted daemon shows the same `<source>` for a plugged interface.
    #[test]
    fn interface_ports_survive() {
        use rvirt_xml::domain::{LivePlug, LivePort};
        let x = include_str!("../testdata/tiny-tcg.xml").replace(
            "<devices>",
            "<devices><interface type='user'/>\
             <interface type='network'><source network='default'/></interface>\
             <interface type='network'><source network='priv'/></interface>",
        );
        let mut live = DomainDef::parse(&x).unwrap();
        let plugs = [
            LivePlug::Bridge("virbr0".into()),
            LivePlug::Direct {
                dev: "p0".into(),
                mode: "private".into(),
            },
        ];
        let mut plugs = plugs.into_iter();
        for d in live.devices.iter_mut() {
            if let Device::Interface(i) = d {
                if i.iface_type == "network" {
                    i.live_port = plugs.next().map(|plug| LivePort {
                        portid: "5eed0000-0000-4000-8000-0000000000aa".into(),
                        plug,
                    });
                }
            }
        }
        let s = Status {
            state: 1,
            reason: 1,
            pid: 1,
            id: 1,
            monitor: "/m".into(),
            live,
        };
        let text = s.to_xml();
        assert!(text.contains("bridge='virbr0'/>"), "{text}");
        assert!(text.contains("<interface type='direct'>"), "{text}");
        assert_eq!(Status::parse(&text).unwrap(), s);
    }
}
