//! Domain checkpoint XML: `<domaincheckpoint>`, what a client asks for and what a driver
//! answers.
//!
//! libvirt always checks a checkpoint request against `domaincheckpoint.rng`, with or
//! without a validate flag. The answer is written in libvirt's order: name, description,
//! parent, creationTime, disks, domain.

use crate::out::{Attrs, Out};
use crate::schema::{parse_root_with, ParseOptions, Schema};
use crate::XmlError;

/// One `<disks><disk>` of a checkpoint request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointDisk {
    /// The disk, by target (`vda`) or by source path.
    pub name: String,
    /// `checkpoint='bitmap'` (true) or `'no'` (false); `None` when not given.
    pub bitmap: Option<bool>,
    /// `bitmap='...'`: the bitmap's name.
    pub bitmap_name: Option<String>,
}

/// A checkpoint request as a client writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckpointRequest {
    /// `<name>`; the driver names it after its creation time when absent.
    pub name: Option<String>,
    /// `<description>`.
    pub description: Option<String>,
    /// `<disks>`.
    pub disks: Vec<CheckpointDisk>,
}

impl CheckpointRequest {
    /// Parses and schema-checks a `<domaincheckpoint>` request.
    pub fn parse(xml: &str) -> Result<CheckpointRequest, XmlError> {
        let root = parse_root_with(
            xml,
            "domaincheckpoint",
            Schema::DomainCheckpoint,
            ParseOptions::validate(true),
        )?;
        let text = |name: &str| root.child_text(name).filter(|t| !t.trim().is_empty());
        let mut req = CheckpointRequest {
            name: text("name").map(|t| t.trim().to_string()),
            description: text("description"),
            disks: Vec::new(),
        };
        let disks = root.child("disks").into_iter();
        for d in disks.flat_map(|d| d.children_named("disk")) {
            let name = d.attr("name").ok_or_else(|| {
                XmlError::MissingElement("domaincheckpoint/disks/disk/@name".into())
            })?;
            req.disks.push(CheckpointDisk {
                name: name.to_string(),
                bitmap: d.attr("checkpoint").map(|v| v == "bitmap"),
                bitmap_name: d.attr("bitmap").map(str::to_string),
            });
        }
        Ok(req)
    }
}

/// What a driver answers for one checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointView<'a> {
    /// `<name>`.
    pub name: &'a str,
    /// `<description>`.
    pub description: Option<&'a str>,
    /// `<parent><name>`.
    pub parent: Option<&'a str>,
    /// `<creationTime>`, seconds since the epoch.
    pub creation_time: u64,
    /// `<disks>`: every disk of the domain (target) and its bitmap, `None` for a disk
    /// left out; `None` writes no `<disks>` (a domain without disks).
    pub disks: Option<&'a [(String, Option<String>)]>,
    /// The domain's definition as its driver formats it; `None` leaves it out
    /// (`VIR_DOMAIN_CHECKPOINT_XML_NO_DOMAIN`).
    pub domain_xml: Option<&'a str>,
}

impl CheckpointView<'_> {
    /// The document, in libvirt's layout.
    pub fn to_xml(&self) -> String {
        let none = Attrs::new();
        let mut o = Out::new();
        o.open("domaincheckpoint", &none);
        o.text("name", &none, self.name);
        o.opt_text("description", self.description);
        if let Some(p) = self.parent {
            o.open("parent", &none);
            o.text("name", &none, p);
            o.close("parent");
        }
        o.opt_text("creationTime", Some(self.creation_time));
        if let Some(disks) = self.disks {
            o.open("disks", &none);
            for (name, bitmap) in disks {
                let attrs = Attrs::new().add("name", name);
                let attrs = match bitmap {
                    Some(b) => attrs.add("checkpoint", "bitmap").add("bitmap", b),
                    None => attrs.add("checkpoint", "no"),
                };
                o.empty("disk", &attrs);
            }
            o.close("disks");
        }
        for line in self.domain_xml.unwrap_or("").lines() {
            o.raw_line(0, line);
        }
        o.close("domaincheckpoint");
        o.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_is_always_schema_checked() {
        let r = CheckpointRequest::parse(
            "<domaincheckpoint><name>c</name><disks><disk name='vda' checkpoint='bitmap' bitmap='b'/>\
             <disk name='vdb' checkpoint='no'/></disks></domaincheckpoint>",
        )
        .unwrap();
        assert_eq!(r.disks[0].bitmap_name.as_deref(), Some("b"));
        assert_eq!(r.disks[1].bitmap, Some(false));
        let e =
            CheckpointRequest::parse("<domaincheckpoint><frob/></domaincheckpoint>").unwrap_err();
        assert_eq!(e.code(), crate::XML_INVALID_SCHEMA);
        assert!(e
            .to_string()
            .contains("Element domaincheckpoint has extra content: frob"));
    }

    #[test]
    fn view_in_libvirts_order() {
        let disks = vec![
            ("vda".to_string(), Some("c1".to_string())),
            ("hdc".to_string(), None),
        ];
        let v = CheckpointView {
            name: "c1",
            description: Some("a & b"),
            parent: None,
            creation_time: 9,
            disks: Some(&disks),
            domain_xml: None,
        };
        assert_eq!(
            v.to_xml(),
            "<domaincheckpoint>\n  <name>c1</name>\n  <description>a &amp; b</description>\n  <creationTime>9</creationTime>\n  <disks>\n    <disk name='vda' checkpoint='bitmap' bitmap='c1'/>\n    <disk name='hdc' checkpoint='no'/>\n  </disks>\n</domaincheckpoint>\n"
        );
    }
}
