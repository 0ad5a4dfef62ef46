//! Domain snapshot XML: `<domainsnapshot>`, what a client asks for and what a driver
//! answers.
//!
//! A client's document names the snapshot and says, per disk and for memory, how each is
//! to be snapshotted; the driver completes it (state, creation time, every disk of the
//! domain, the domain's definition) and formats it in libvirt's order: name,
//! description, state, parent, creationTime, memory, disks, domain.

use crate::domain::Disk;
use crate::out::{Attrs, Out};
use crate::schema::{parse_root_with, ParseOptions, Schema};
use crate::tree::Element;
use crate::XmlError;

/// How one disk, or the memory, is snapshotted (`snapshot='...'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotMode {
    /// `no`: left out.
    No,
    /// `internal`: inside the image itself.
    Internal,
    /// `external`: into a new file.
    External,
    /// `manual`: left to the user.
    Manual,
}

impl SnapshotMode {
    /// libvirt's word for the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotMode::No => "no",
            SnapshotMode::Internal => "internal",
            SnapshotMode::External => "external",
            SnapshotMode::Manual => "manual",
        }
    }

    fn parse(v: &str) -> Option<SnapshotMode> {
        Some(match v {
            "no" => SnapshotMode::No,
            "internal" => SnapshotMode::Internal,
            "external" => SnapshotMode::External,
            "manual" => SnapshotMode::Manual,
            _ => return None,
        })
    }
}

/// One `<disks><disk>` of a snapshot request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotDisk {
    /// The disk, by target (`vda`) or by source path.
    pub name: String,
    /// Its mode, when the request gives one.
    pub mode: Option<SnapshotMode>,
    /// Its type, `<driver>` and `<source>` (an external snapshot's new file), read by
    /// the domain disk parser; none when the request gives neither.
    pub source: Option<Disk>,
}

/// A snapshot request as a client writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotRequest {
    /// `<name>`; the driver names it after its creation time when absent.
    pub name: Option<String>,
    /// `<description>`.
    pub description: Option<String>,
    /// `<memory snapshot>`.
    pub memory: Option<SnapshotMode>,
    /// `<memory file>`.
    pub memory_file: Option<String>,
    /// `<disks>`.
    pub disks: Vec<SnapshotDisk>,
}

fn mode_attr(e: &Element, element: &str) -> Result<Option<SnapshotMode>, XmlError> {
    e.attr("snapshot")
        .map(|v| {
            SnapshotMode::parse(v).ok_or_else(|| XmlError::BadAttribute {
                attr: "snapshot".into(),
                element: element.into(),
                value: v.into(),
            })
        })
        .transpose()
}

/// The words of `<state>`, indexed by libvirt's snapshot state number (the domain
/// states, then `disk-snapshot` for a disk-only snapshot).
pub const STATES: [&str; 9] = [
    "nostate",
    "running",
    "blocked",
    "paused",
    "shutdown",
    "shutoff",
    "crashed",
    "pmsuspended",
    "disk-snapshot",
];

/// What only a redefinition (`VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE`) reads of a
/// `<domainsnapshot>`: the snapshot as it was recorded. Nothing is checked here; the
/// driver applies libvirt's rules (and their order) for redefinitions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SnapshotRecord {
    /// `<state>` as written.
    pub state: Option<String>,
    /// `<parent><name>`.
    pub parent: Option<String>,
    /// `<creationTime>` as written.
    pub creation_time: Option<String>,
    /// `<domain>`: the definition when the snapshot was taken.
    pub domain: Option<Element>,
    /// `<inactiveDomain>`: the inactive definition of a snapshot of a running domain.
    pub inactive_domain: Option<Element>,
    /// `<active>1</active>`: a driver's own copy marks its current snapshot so.
    pub active: bool,
}

impl SnapshotRequest {
    /// Parses a `<domainsnapshot>` request; what libvirt ignores is ignored, unless
    /// `opts` asks for validation against `domainsnapshot.rng`.
    pub fn parse_with(xml: &str, opts: ParseOptions) -> Result<SnapshotRequest, XmlError> {
        let root = parse_root_with(xml, "domainsnapshot", Schema::DomainSnapshot, opts)?;
        SnapshotRequest::from_root(&root)
    }

    /// Parses a redefinition: the request and the recorded snapshot.
    pub fn parse_redefinition(
        xml: &str,
        opts: ParseOptions,
    ) -> Result<(SnapshotRequest, SnapshotRecord), XmlError> {
        let root = parse_root_with(xml, "domainsnapshot", Schema::DomainSnapshot, opts)?;
        let req = SnapshotRequest::from_root(&root)?;
        let record = SnapshotRecord {
            state: root.child_text("state").map(|t| t.trim().to_string()),
            parent: root
                .child("parent")
                .and_then(|p| p.child_text("name"))
                .map(|t| t.trim().to_string()),
            creation_time: root.child_text("creationTime"),
            domain: root.child("domain").cloned(),
            inactive_domain: root.child("inactiveDomain").cloned(),
            active: root.child_text("active").is_some_and(|t| t.trim() == "1"),
        };
        Ok((req, record))
    }

    fn from_root(root: &Element) -> Result<SnapshotRequest, XmlError> {
        let text = |name: &str| root.child_text(name).filter(|t| !t.trim().is_empty());
        let mut req = SnapshotRequest {
            name: text("name").map(|t| t.trim().to_string()),
            description: text("description"),
            ..SnapshotRequest::default()
        };
        if let Some(m) = root.child("memory") {
            req.memory = mode_attr(m, "memory")?;
            req.memory_file = m.attr("file").map(str::to_string);
        }
        for d in root
            .child("disks")
            .into_iter()
            .flat_map(|d| d.children_named("disk"))
        {
            let name = d.attr("name").ok_or_else(|| {
                XmlError::MissingElement("domainsnapshot/disks/disk/@name".into())
            })?;
            let source = if d.child("source").is_some() || d.child("driver").is_some() {
                Some(Disk::parse_snapshot(d, name)?)
            } else {
                None
            };
            req.disks.push(SnapshotDisk {
                name: name.to_string(),
                mode: mode_attr(d, "disk")?,
                source,
            });
        }
        Ok(req)
    }
}

/// What a driver answers for one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotView<'a> {
    /// `<name>`.
    pub name: &'a str,
    /// `<description>`.
    pub description: Option<&'a str>,
    /// `<state>`: the domain's state when taken (`running`, `paused`, `shutoff`).
    pub state: &'a str,
    /// `<parent><name>`.
    pub parent: Option<&'a str>,
    /// `<creationTime>`, seconds since the epoch.
    pub creation_time: u64,
    /// `<memory snapshot>`.
    pub memory: SnapshotMode,
    /// `<memory file>`.
    pub memory_file: Option<&'a str>,
    /// `<disks>`: every disk of the domain (target) and its mode; `None` writes no
    /// `<disks>` element (a domain without disks).
    pub disks: Option<&'a [(String, SnapshotMode)]>,
    /// The sources the snapshot gave its disks, by disk name.
    pub disk_sources: &'a [(String, Disk)],
    /// The domain's definition as its driver formats it.
    pub domain_xml: &'a str,
    /// The inactive definition (a `<domain>` document, written as `<inactiveDomain>`).
    pub inactive_domain_xml: Option<&'a str>,
}

impl SnapshotView<'_> {
    /// The document, in libvirt's layout.
    pub fn to_xml(&self) -> String {
        let none = Attrs::new();
        let mut o = Out::new();
        o.open("domainsnapshot", &none);
        o.text("name", &none, self.name);
        o.opt_text("description", self.description);
        o.text("state", &none, self.state);
        if let Some(p) = self.parent {
            o.open("parent", &none);
            o.text("name", &none, p);
            o.close("parent");
        }
        o.opt_text("creationTime", Some(self.creation_time));
        o.empty(
            "memory",
            &Attrs::new()
                .add("snapshot", self.memory.as_str())
                .opt("file", self.memory_file),
        );
        if let Some(disks) = self.disks {
            o.open("disks", &none);
            for (name, mode) in disks {
                let attrs = Attrs::new()
                    .add("name", name)
                    .add("snapshot", mode.as_str());
                match self.disk_sources.iter().find(|(n, _)| n == name) {
                    Some((_, src)) => {
                        o.open("disk", &attrs.add("type", &src.disk_type));
                        src.write_snapshot_source(&mut o);
                        o.close("disk");
                    }
                    None => o.empty("disk", &attrs),
                }
            }
            o.close("disks");
        }
        for line in self.domain_xml.lines() {
            o.raw_line(0, line);
        }
        if let Some(inactive) = self.inactive_domain_xml {
            let lines: Vec<&str> = inactive.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let renamed = if i == 0 {
                    line.replacen("<domain", "<inactiveDomain", 1)
                } else if i + 1 == lines.len() {
                    line.replacen("</domain>", "</inactiveDomain>", 1)
                } else {
                    line.to_string()
                };
                o.raw_line(0, &renamed);
            }
        }
        o.close("domainsnapshot");
        o.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_reads_what_libvirt_reads() {
        let r = SnapshotRequest::parse_with(
            "<domainsnapshot><name> s1 </name><description>a &amp; b</description><frob/>\
             <memory snapshot='no'/><disks><disk name='vda' snapshot='internal'/><disk name='/a'/></disks>\
             </domainsnapshot>",
            ParseOptions::default(),
        )
        .unwrap();
        assert_eq!(r.name.as_deref(), Some("s1"));
        assert_eq!(r.description.as_deref(), Some("a & b"));
        assert_eq!(r.memory, Some(SnapshotMode::No));
        assert_eq!(
            r.disks[1],
            SnapshotDisk {
                name: "/a".into(),
                mode: None,
                source: None
            }
        );
    }

    #[test]
    fn external_disk_source_read_and_written_as_a_domain_disk() {
        let r = SnapshotRequest::parse_with(
            "<domainsnapshot><disks><disk name='vda' snapshot='external' type='network'>\
             <driver type='qcow2'/><source protocol='nbd' name='e'><host name='h'/></source>\
             </disk><disk name='vdb'/></disks></domainsnapshot>",
            ParseOptions::default(),
        )
        .unwrap();
        assert!(r.disks[1].source.is_none());
        let src = r.disks[0].source.clone().unwrap();
        let disks = vec![("vda".to_string(), SnapshotMode::External)];
        let sources = vec![("vda".to_string(), src)];
        let v = SnapshotView {
            name: "s",
            description: None,
            state: "disk-snapshot",
            parent: None,
            creation_time: 1,
            memory: SnapshotMode::No,
            memory_file: None,
            disks: Some(&disks),
            disk_sources: &sources,
            domain_xml: "",
            inactive_domain_xml: None,
        };
        assert!(v.to_xml().contains(
            "    <disk name='vda' snapshot='external' type='network'>\n      <driver type='qcow2'/>\n      <source protocol='nbd' name='e'>\n        <host name='h' port='10809'/>\n      </source>\n    </disk>\n"
        ));
    }

    #[test]
    fn bad_requests_worded_like_libvirt() {
        let e = SnapshotRequest::parse_with("<snapshot/>", ParseOptions::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "XML error: expecting root element of 'domainsnapshot', not 'snapshot'"
        );
        let e = SnapshotRequest::parse_with(
            "<domainsnapshot><memory snapshot='bogus'/></domainsnapshot>",
            ParseOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "XML error: Invalid value for attribute 'snapshot' in element 'memory': 'bogus'."
        );
    }

    #[test]
    fn view_in_libvirts_order() {
        let disks = vec![("vda".to_string(), SnapshotMode::Internal)];
        let v = SnapshotView {
            name: "a<b",
            description: None,
            state: "running",
            parent: Some("p"),
            creation_time: 7,
            memory: SnapshotMode::Internal,
            memory_file: None,
            disks: Some(&disks),
            disk_sources: &[],
            domain_xml: "<domain type='test'>\n</domain>\n",
            inactive_domain_xml: Some("<domain type='test'>\n  <name>t</name>\n</domain>\n"),
        };
        assert_eq!(
            v.to_xml(),
            "<domainsnapshot>\n  <name>a&lt;b</name>\n  <state>running</state>\n  <parent>\n    <name>p</name>\n  </parent>\n  <creationTime>7</creationTime>\n  <memory snapshot='internal'/>\n  <disks>\n    <disk name='vda' snapshot='internal'/>\n  </disks>\n  <domain type='test'>\n  </domain>\n  <inactiveDomain type='test'>\n    <name>t</name>\n  </inactiveDomain>\n</domainsnapshot>\n"
        );
    }
}
