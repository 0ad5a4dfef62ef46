//! Runtime status files (`run_dir/NAME.xml`): what a restarted daemon needs to find a
//! running domain again: pid, id, monitor socket, state and the live definition.

use std::path::{Path, PathBuf};

use rvirt_xml::domain::DomainDef;
use rvirt_xml::tree::parse_root;
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
            live: DomainDef::from_element(dom)?,
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
}
