//! Network filter binding XML: `<filterbinding>`, which ties an nwfilter to one port.
//!
//! A binding names its owner (a domain's name and UUID), the port device (and, for
//! macvtap, the link device), the port's MAC address and the filter with its parameters.
//! Every part but the link device is required; libvirt reports a missing one as an
//! internal error naming it. Parameters are written back sorted by name (those of one
//! name keep their order); a parameter without a name or value is dropped. The MAC
//! address is written in lower case.

use crate::domain::normalize_mac;
use crate::out::{Attrs, Out};
use crate::schema::{validate, ParseOptions, Schema};
use crate::secret::{deep_text, libvirt_uuid};
use crate::tree::{parse_root, Element};
use crate::{Uuid, XmlError};
use rvirt_protocol::error::code::INTERNAL_ERROR;

/// One `<filterbinding>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NwFilterBinding {
    /// `<owner><name>`.
    pub owner_name: String,
    /// `<owner><uuid>`.
    pub owner_uuid: Uuid,
    /// `<portdev name>`: the port's host device.
    pub portdev: String,
    /// `<linkdev name>`: the link device under a macvtap port.
    pub linkdev: Option<String>,
    /// `<mac address>`, lower case.
    pub mac: String,
    /// `<filterref filter>`: the filter's name.
    pub filter: String,
    /// `<filterref><parameter name value>`, sorted by name.
    pub parameters: Vec<(String, String)>,
}

fn internal(msg: impl std::fmt::Display) -> XmlError {
    XmlError::reported(INTERNAL_ERROR, None, format!("internal error: {msg}"))
}

/// The `name` attribute of child `child`, `Err(missing)` when there is none.
fn named<'a>(
    root: &'a Element,
    child: &str,
    attr: &str,
    missing: &str,
) -> Result<&'a str, XmlError> {
    root.child(child)
        .and_then(|e| e.attr(attr))
        .filter(|v| !v.is_empty())
        .ok_or_else(|| internal(format!("filter binding has no {missing}")))
}

/// `<owner>`: its name and UUID.
fn parse_owner(root: &Element) -> Result<(String, Uuid), XmlError> {
    let owner = root.child("owner");
    let name = owner
        .and_then(|o| o.child("name"))
        .map(deep_text)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| internal("filter binding has no owner name"))?;
    let uuid = owner
        .and_then(|o| o.child("uuid"))
        .map(deep_text)
        .ok_or_else(|| internal("filter binding has no owner UUID"))?;
    let uuid =
        libvirt_uuid(&uuid).ok_or_else(|| internal(format!("Unable to parse UUID '{uuid}'")))?;
    Ok((name, uuid))
}

/// Whether libvirt keeps a parameter: a name of letters, digits and `_` (possibly
/// empty) and a non-empty value of letters, digits and `_ . :`. Others are dropped.
fn keeps_parameter(name: &str, value: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    name.chars().all(word)
        && !value.is_empty()
        && value.chars().all(|c| word(c) || c == '.' || c == ':')
}

/// `<filterref>`'s parameters libvirt keeps, sorted by name.
fn parameters(fref: &Element) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = fref
        .children_named("parameter")
        .filter_map(|p| Some((p.attr("name")?, p.attr("value")?)))
        .filter(|(n, v)| keeps_parameter(n, v))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The content checks of `nwfilterbinding.rng` beyond names: every part exactly once
/// (the link device at most once), the UUID, MAC, filter name and parameter patterns.
fn check_content(root: &Element) -> Result<(), XmlError> {
    use crate::secret::content::*;
    const F: &str = "nwfilterbinding.rng";
    let owner = exactly_one(F, root, "owner")?;
    exactly_one(F, owner, "name")?;
    text_matches(F, exactly_one(F, owner, "uuid")?, is_uuid)?;
    let attr = |e: &Element, a: &str, ok: &dyn Fn(&str) -> bool| match e.attr(a) {
        Some(v) if ok(v) => Ok(()),
        _ => Err(fail(
            F,
            format!("Element {} failed to validate attributes", e.name),
        )),
    };
    attr(exactly_one(F, root, "portdev")?, "name", &|_| true)?;
    at_most_one(F, root, "linkdev")?;
    if let Some(l) = root.child("linkdev") {
        attr(l, "name", &|_| true)?;
    }
    attr(exactly_one(F, root, "mac")?, "address", &is_unicast_mac)?;
    let fref = exactly_one(F, root, "filterref")?;
    attr(fref, "filter", &crate::spec::is_ncname)?;
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for p in fref.children_named("parameter") {
        attr(p, "name", &|v| !v.is_empty() && v.chars().all(word))?;
        attr(p, "value", &|v| {
            !v.is_empty() && v.chars().all(|c| word(c) || c == '.' || c == ':')
        })?;
    }
    Ok(())
}

/// basictypes.rng's `uniMacAddr`: six two-digit hex groups, the first one even.
fn is_unicast_mac(m: &str) -> bool {
    let parts: Vec<&str> = m.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
        && u8::from_str_radix(parts[0], 16).is_ok_and(|b| b & 1 == 0)
}

impl NwFilterBinding {
    /// Parses a `<filterbinding>` without schema validation.
    pub fn parse(xml: &str) -> Result<NwFilterBinding, XmlError> {
        NwFilterBinding::parse_with(xml, ParseOptions::default())
    }

    /// Parses a `<filterbinding>`, checking it against `nwfilterbinding.rng` first when
    /// `opts` asks.
    pub fn parse_with(xml: &str, opts: ParseOptions) -> Result<NwFilterBinding, XmlError> {
        let root = parse_root(xml, "filterbinding")?;
        if opts.validate {
            validate(&root, Schema::NwFilterBinding)?;
            check_content(&root)?;
        }
        let portdev = named(&root, "portdev", "name", "port dev name")?.to_string();
        let linkdev = match root.child("linkdev") {
            Some(_) => Some(named(&root, "linkdev", "name", "link dev name")?.to_string()),
            None => None,
        };
        let (owner_name, owner_uuid) = parse_owner(&root)?;
        let mac = named(&root, "mac", "address", "MAC address")?;
        let mac =
            normalize_mac(mac).map_err(|_| internal(format!("Unable to parse MAC '{mac}'")))?;
        let fref = root.child("filterref");
        let filter = fref
            .and_then(|f| f.attr("filter"))
            .filter(|v| !v.is_empty())
            .ok_or_else(|| internal("filter binding has no filter reference"))?
            .to_string();
        Ok(NwFilterBinding {
            owner_name,
            owner_uuid,
            portdev,
            linkdev,
            mac,
            filter,
            parameters: fref.map(parameters).unwrap_or_default(),
        })
    }

    /// The document as libvirt's nwfilter driver dumps it.
    pub fn to_xml(&self) -> String {
        let none = Attrs::new();
        let mut o = Out::new();
        o.open("filterbinding", &none);
        o.open("owner", &none);
        o.text("name", &none, &self.owner_name);
        o.opt_text("uuid", Some(self.owner_uuid));
        o.close("owner");
        o.empty("portdev", &Attrs::new().add("name", &self.portdev));
        if let Some(l) = &self.linkdev {
            o.empty("linkdev", &Attrs::new().add("name", l));
        }
        o.empty("mac", &Attrs::new().add("address", &self.mac));
        let fref = Attrs::new().add("filter", &self.filter);
        if self.parameters.is_empty() {
            o.empty("filterref", &fref);
        } else {
            o.open("filterref", &fref);
            for (n, v) in &self.parameters {
                o.empty("parameter", &Attrs::new().add("name", n).add("value", v));
            }
            o.close("filterref");
        }
        o.close("filterbinding");
        o.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: &str =
        "<owner><name>vm</name><uuid>0b1c3e4e3c1a4d559a7e1c2b3d4e5f60</uuid></owner>";

    fn doc(body: &str) -> String {
        format!("<filterbinding>{OWNER}{body}</filterbinding>")
    }

    #[test]
    fn canonical_layout_sorts_parameters() {
        let b = NwFilterBinding::parse(&doc(
            "<portdev name='vnet0'/><mac address='52:54:00:AA:bb:01'/>\
             <filterref filter='clean-traffic'><parameter name='IP' value='10.0.0.2'/>\
             <parameter name='A' value='x'/><parameter name='IP' value='10.0.0.1'/>\
             <parameter name='B'/></filterref>",
        ))
        .unwrap();
        assert_eq!(
            b.to_xml(),
            "<filterbinding>\n  <owner>\n    <name>vm</name>\n    \
             <uuid>0b1c3e4e-3c1a-4d55-9a7e-1c2b3d4e5f60</uuid>\n  </owner>\n  \
             <portdev name='vnet0'/>\n  <mac address='52:54:00:aa:bb:01'/>\n  \
             <filterref filter='clean-traffic'>\n    \
             <parameter name='A' value='x'/>\n    \
             <parameter name='IP' value='10.0.0.2'/>\n    \
             <parameter name='IP' value='10.0.0.1'/>\n  </filterref>\n</filterbinding>\n"
        );
    }

    #[test]
    fn missing_parts_are_internal_errors() {
        let cases = [
            ("<filterbinding/>", "filter binding has no port dev name"),
            (
                "<filterbinding><portdev name='p'/></filterbinding>",
                "filter binding has no owner name",
            ),
            (
                &doc("<mac address='52:54:00:00:00:01'/>") as &str,
                "filter binding has no port dev name",
            ),
            (
                &doc("<portdev name='p'/>"),
                "filter binding has no MAC address",
            ),
            (
                &doc("<portdev name='p'/><mac address='zz'/>"),
                "Unable to parse MAC 'zz'",
            ),
            (
                &doc("<portdev name='p'/><mac address='52:54:00:00:00:01'/><filterref/>"),
                "filter binding has no filter reference",
            ),
        ];
        for (x, msg) in cases {
            let e = NwFilterBinding::parse(x).unwrap_err();
            assert_eq!(e.code(), INTERNAL_ERROR);
            assert_eq!(e.to_string(), format!("internal error: {msg}"));
        }
        let e = NwFilterBinding::parse(
            "<filterbinding><portdev name='p'/><owner><name>a</name><uuid>zz</uuid></owner></filterbinding>",
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "internal error: Unable to parse UUID 'zz'");
    }

    #[test]
    fn validation_checks_content() {
        let base = "<portdev name='p'/><mac address='52:54:00:00:00:01'/>";
        for bad in [
            doc("<portdev name='p'/><mac address='01:00:00:00:00:01'/><filterref filter='f'/>"),
            doc("<portdev name='p'/><mac address='52:54:0:0:0:1'/><filterref filter='f'/>"),
            doc(&format!(
                "{base}<filterref filter='f'><parameter name='a-b' value='1'/></filterref>"
            )),
            doc(&format!(
                "{base}<filterref filter='f'><parameter name='A'/></filterref>"
            )),
            doc(&format!(
                "{base}<filterref filter='f'/><filterref filter='g'/>"
            )),
            doc(&format!("{base}<filterref filter='1f'/>")),
        ] {
            let e = NwFilterBinding::parse_with(&bad, ParseOptions::validate(true)).unwrap_err();
            assert_eq!(e.code(), crate::XML_INVALID_SCHEMA, "{bad}");
            assert!(NwFilterBinding::parse(&bad).is_ok(), "{bad}");
        }
    }

    #[test]
    fn validation_is_opt_in() {
        let x =
            doc("<portdev name='p'/><mac address='52:54:00:00:00:01'/><filterref filter='f'/><x/>");
        assert!(NwFilterBinding::parse(&x).is_ok());
        let e = NwFilterBinding::parse_with(&x, ParseOptions::validate(true)).unwrap_err();
        assert_eq!(e.code(), crate::XML_INVALID_SCHEMA);
    }
}
