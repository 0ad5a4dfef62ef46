//! Secret XML: `<secret>`, what a client defines and what the secret driver dumps.
//!
//! A secret has two yes/no flags (`ephemeral`, `private`, both `no` unless given), a
//! UUID (made up when absent), an optional description and at most one `<usage>` naming
//! what the secret is for. libvirt writes it back in a fixed order: flags on the root,
//! then uuid, description, usage. Text values are kept as written (untrimmed); an empty
//! description or uuid counts as absent. The value itself is never part of the XML.

use crate::out::{Attrs, Out};
use crate::schema::{validate, ParseOptions, Schema};
use crate::tree::{parse_root, Element};
use crate::{Uuid, XmlError};
use rvirt_protocol::error::code::INTERNAL_ERROR;

/// What a secret is used for (`<usage type=...>` and its one child).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretUsage {
    /// `type='volume'`: `<volume>` holds the path of the encrypted volume.
    Volume(String),
    /// `type='ceph'`: `<name>` names the Ceph user.
    Ceph(String),
    /// `type='iscsi'`: `<target>` names the iSCSI target.
    Iscsi(String),
    /// `type='tls'`: `<name>` names the TLS credentials.
    Tls(String),
    /// `type='vtpm'`: `<name>` names the vTPM state.
    Vtpm(String),
}

impl SecretUsage {
    /// The `type` word, the child element's name and its text.
    pub fn parts(&self) -> (&'static str, &'static str, &str) {
        match self {
            SecretUsage::Volume(v) => ("volume", "volume", v),
            SecretUsage::Ceph(v) => ("ceph", "name", v),
            SecretUsage::Iscsi(v) => ("iscsi", "target", v),
            SecretUsage::Tls(v) => ("tls", "name", v),
            SecretUsage::Vtpm(v) => ("vtpm", "name", v),
        }
    }
}

/// One `<secret>` definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    /// `ephemeral='yes'`: kept in memory only.
    pub ephemeral: bool,
    /// `private='yes'`: the value cannot be read back.
    pub private: bool,
    /// `<uuid>`, random when the document gave none.
    pub uuid: Uuid,
    /// `<description>`, untrimmed.
    pub description: Option<String>,
    /// `<usage>`; `None` without one (or with `type='none'`).
    pub usage: Option<SecretUsage>,
}

/// All text below `e`: its own, then its children's, as libvirt's string value of a node.
pub(crate) fn deep_text(e: &Element) -> String {
    let mut s = e.text.clone();
    for c in &e.children {
        s.push_str(&deep_text(c));
    }
    s
}

/// Parses a UUID the way libvirt does: leading blanks, then 16 hex pairs each of which
/// may be preceded by dashes or spaces, then only blanks. `None` when it is not one.
pub(crate) fn libvirt_uuid(s: &str) -> Option<Uuid> {
    let mut rest = s.trim_start().as_bytes();
    let mut out = [0u8; 16];
    for byte in out.iter_mut() {
        while let [b'-' | b' ', tail @ ..] = rest {
            rest = tail;
        }
        let [hi, lo, tail @ ..] = rest else {
            return None;
        };
        let hi = (*hi as char).to_digit(16)?;
        let lo = (*lo as char).to_digit(16)?;
        *byte = (hi * 16 + lo) as u8;
        rest = tail;
    }
    rest.iter()
        .all(u8::is_ascii_whitespace)
        .then_some(Uuid(out))
}

/// What the names-only schema check ([`validate`]) leaves to each document: the content
/// models and datatypes of `secret.rng` / `nwfilterbinding.rng` (counts, required
/// children, value patterns). Used only when the caller asks for validation; the failure
/// is libvirt's `VIR_ERR_XML_INVALID_SCHEMA` with a one-line detail in libxml2's words.
pub(crate) mod content {
    use crate::tree::Element;
    use crate::XmlError;

    /// A schema failure of `file` (`secret.rng`) saying `detail`.
    pub fn fail(file: &str, detail: impl Into<String>) -> XmlError {
        XmlError::InvalidSchema {
            schema: format!("/usr/share/libvirt/schemas/{file}"),
            detail: detail.into(),
        }
    }

    /// Refuses more than one child `name` of `e` (an interleave's element).
    pub fn at_most_one(file: &str, e: &Element, name: &str) -> Result<(), XmlError> {
        match e.children_named(name).count() {
            0 | 1 => Ok(()),
            _ => Err(fail(file, format!("Extra element {name} in interleave"))),
        }
    }

    /// The one child `name` of `e`; refuses none or several.
    pub fn exactly_one<'a>(
        file: &str,
        e: &'a Element,
        name: &str,
    ) -> Result<&'a Element, XmlError> {
        at_most_one(file, e, name)?;
        e.child(name)
            .ok_or_else(|| fail(file, format!("Expecting an element {name}, got nothing")))
    }

    /// Refuses a text value outside its datatype (`ok`), or an element with children.
    pub fn text_matches(
        file: &str,
        e: &Element,
        ok: impl Fn(&str) -> bool,
    ) -> Result<(), XmlError> {
        if !e.children.is_empty() || !ok(&e.text) {
            return Err(fail(file, "Error validating datatype string"));
        }
        Ok(())
    }

    /// basictypes.rng's `UUID`: 32 hex digits, or the dashed 8-4-4-4-12 form.
    pub fn is_uuid(s: &str) -> bool {
        let hex = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit());
        let parts: Vec<&str> = s.split('-').collect();
        match parts.as_slice() {
            [all] => hex(all, 32),
            [a, b, c, d, e] => hex(a, 8) && hex(b, 4) && hex(c, 4) && hex(d, 4) && hex(e, 12),
            _ => false,
        }
    }

    /// A pattern's `.`: any character but a line end.
    pub fn any_line(s: &str) -> bool {
        !s.is_empty() && !s.contains(['\n', '\r'])
    }
}

/// The content checks of `secret.rng` beyond names (see [`content`]).
fn check_content(root: &Element) -> Result<(), XmlError> {
    use content::*;
    const F: &str = "secret.rng";
    for name in ["uuid", "description", "usage"] {
        at_most_one(F, root, name)?;
    }
    if let Some(u) = root.child("uuid") {
        text_matches(F, u, is_uuid)?;
    }
    let Some(usage) = root.child("usage") else {
        return Ok(());
    };
    let (child, abs) = match usage.attr("type").unwrap_or("") {
        "volume" => ("volume", true),
        "iscsi" => ("target", false),
        _ => ("name", false),
    };
    if let Some(other) = usage.children.iter().find(|c| c.name != child) {
        return Err(fail(
            F,
            format!("Expecting element {child}, got {}", other.name),
        ));
    }
    let c = exactly_one(F, usage, child)?;
    text_matches(F, c, |t| {
        if abs {
            let rest = t.strip_prefix('/').or_else(|| {
                let b = t.as_bytes();
                (b.len() > 3 && b[0].is_ascii_alphabetic() && &b[1..3] == b":\\").then(|| &t[3..])
            });
            rest.is_some_and(any_line)
        } else {
            !t.is_empty() && !t.contains(['/', '\n'])
        }
    })
}

/// A yes/no attribute of the root; absent or empty is `no`.
fn flag(root: &Element, name: &str) -> Result<bool, XmlError> {
    match root.attr(name).unwrap_or("") {
        "" | "no" => Ok(false),
        "yes" => Ok(true),
        _ => Err(XmlError::xml(format!("invalid value of '{name}'"))),
    }
}

fn internal(msg: &str) -> XmlError {
    XmlError::reported(INTERNAL_ERROR, None, format!("internal error: {msg}"))
}

/// Parses `<usage>`: its type, then the one child that type needs.
fn parse_usage(u: &Element) -> Result<Option<SecretUsage>, XmlError> {
    let kind = u.attr("type").unwrap_or("");
    let (child, missing): (&str, &str) = match kind {
        "" => return Err(XmlError::xml("unknown secret usage type")),
        "none" => return Ok(None),
        "volume" => (
            "volume",
            "volume usage specified, but volume path is missing",
        ),
        "ceph" => ("name", "Ceph usage specified, but name is missing"),
        "iscsi" => ("target", "iSCSI usage specified, but target is missing"),
        "tls" => ("name", "TLS usage specified, but name is missing"),
        "vtpm" => ("name", "vTPM usage specified, but name is missing"),
        other => {
            return Err(XmlError::unsupported(format!(
                "unknown secret usage type {other}"
            )))
        }
    };
    let value = u
        .child(child)
        .map(deep_text)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| internal(missing))?;
    Ok(Some(match kind {
        "volume" => SecretUsage::Volume(value),
        "ceph" => SecretUsage::Ceph(value),
        "iscsi" => SecretUsage::Iscsi(value),
        "tls" => SecretUsage::Tls(value),
        _ => SecretUsage::Vtpm(value),
    }))
}

impl Secret {
    /// Parses a `<secret>` without schema validation.
    pub fn parse(xml: &str) -> Result<Secret, XmlError> {
        Secret::parse_with(xml, ParseOptions::default())
    }

    /// Parses a `<secret>`, checking it against `secret.rng` first when `opts` asks.
    pub fn parse_with(xml: &str, opts: ParseOptions) -> Result<Secret, XmlError> {
        let root = parse_root(xml, "secret")?;
        if opts.validate {
            validate(&root, Schema::Secret)?;
            check_content(&root)?;
        }
        let ephemeral = flag(&root, "ephemeral")?;
        let private = flag(&root, "private")?;
        let uuid = match root.child("uuid").map(deep_text).filter(|t| !t.is_empty()) {
            Some(t) => libvirt_uuid(&t).ok_or_else(|| internal("malformed uuid element"))?,
            None => Uuid::random(),
        };
        let description = root
            .child("description")
            .map(deep_text)
            .filter(|t| !t.is_empty());
        let usage = match root.child("usage") {
            Some(u) => parse_usage(u)?,
            None => None,
        };
        Ok(Secret {
            ephemeral,
            private,
            uuid,
            description,
            usage,
        })
    }

    /// The document as libvirt's secret driver dumps it.
    pub fn to_xml(&self) -> String {
        let yn = |b: bool| if b { "yes" } else { "no" };
        let none = Attrs::new();
        let mut o = Out::new();
        let root = Attrs::new()
            .add("ephemeral", yn(self.ephemeral))
            .add("private", yn(self.private));
        o.open("secret", &root);
        o.opt_text("uuid", Some(self.uuid));
        o.opt_text("description", self.description.as_deref());
        if let Some(u) = &self.usage {
            let (kind, child, value) = u.parts();
            o.open("usage", &Attrs::new().add("type", kind));
            o.text(child, &none, value);
            o.close("usage");
        }
        o.close("secret");
        o.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "<uuid>0b1c3e4e-3c1a-4d55-9a7e-1c2b3d4e5f60</uuid>";

    fn err(xml: &str) -> (i32, String) {
        let e = Secret::parse(xml).unwrap_err();
        (e.code(), e.to_string())
    }

    #[test]
    fn canonical_layout() {
        let s = Secret::parse(&format!(
            "<secret private='yes'><usage type='ceph'><name>c</name></usage>\
             <description>a &amp; 'b'</description>{U}</secret>"
        ))
        .unwrap();
        assert_eq!(
            s.to_xml(),
            "<secret ephemeral='no' private='yes'>\n  \
             <uuid>0b1c3e4e-3c1a-4d55-9a7e-1c2b3d4e5f60</uuid>\n  \
             <description>a &amp; &apos;b&apos;</description>\n  \
             <usage type='ceph'>\n    <name>c</name>\n  </usage>\n</secret>\n"
        );
    }

    #[test]
    fn every_usage_type() {
        for (t, c) in [
            ("volume", "volume"),
            ("ceph", "name"),
            ("iscsi", "target"),
            ("tls", "name"),
            ("vtpm", "name"),
        ] {
            let x = format!("<secret>{U}<usage type='{t}'><{c}> v </{c}></usage></secret>");
            let s = Secret::parse(&x).unwrap();
            assert_eq!(s.usage.as_ref().unwrap().parts(), (t, c, " v "));
            let x = format!("<secret>{U}<usage type='{t}'/></secret>");
            assert_eq!(err(&x).0, INTERNAL_ERROR);
        }
        let s = Secret::parse(&format!("<secret>{U}<usage type='none'/></secret>")).unwrap();
        assert_eq!(s.usage, None);
    }

    #[test]
    fn libvirt_errors() {
        assert_eq!(
            err("<secret ephemeral='YES'/>"),
            (
                crate::XML_ERROR,
                "XML error: invalid value of 'ephemeral'".into()
            )
        );
        assert_eq!(
            err("<secret><usage type='foo'/></secret>").1,
            "unsupported configuration: unknown secret usage type foo"
        );
        assert_eq!(
            err("<secret><usage/></secret>").1,
            "XML error: unknown secret usage type"
        );
        assert_eq!(
            err("<secret><uuid>zz</uuid></secret>").1,
            "internal error: malformed uuid element"
        );
        assert!(Secret::parse("<secret private=''/>").is_ok());
    }

    #[test]
    fn uuid_forms() {
        let want = "0b1c3e4e-3c1a-4d55-9a7e-1c2b3d4e5f60";
        for ok in [
            "0b1c3e4e3c1a4d559a7e1c2b3d4e5f60",
            " -0b1c3e4e--3c1a-4d55-9a7e-1c2b3d4e5f60 ",
            "0b 1c 3e 4e 3c 1a 4d 55 9a 7e 1c 2b 3d 4e 5f 60",
        ] {
            assert_eq!(libvirt_uuid(ok).unwrap().to_string(), want, "{ok}");
        }
        for bad in [
            "0b1c3e4e-3c1a-4d55-9a7e-1c2b3d4e5f60-",
            "{0b1c3e4e-3c1a-4d55-9a7e-1c2b3d4e5f60}",
            "0b1c3e4e-3c1a-4d55-9a7e-1c2b3d4e5f6",
        ] {
            assert!(libvirt_uuid(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn validation_checks_content() {
        let v = |x: &str| Secret::parse_with(x, ParseOptions::validate(true));
        for bad in [
            format!("<secret>{U}{U}</secret>"),
            "<secret><uuid> 0b1c3e4e-3c1a-4d55-9a7e-1c2b3d4e5f60</uuid></secret>".into(),
            format!("<secret>{U}<usage type='volume'><volume> /a</volume></usage></secret>"),
            format!("<secret>{U}<usage type='ceph'><name>a/b</name></usage></secret>"),
            format!("<secret>{U}<usage type='tls'><name>a</name><name>b</name></usage></secret>"),
        ] {
            assert_eq!(
                v(&bad).unwrap_err().code(),
                crate::XML_INVALID_SCHEMA,
                "{bad}"
            );
            assert!(Secret::parse(&bad).is_ok(), "{bad}");
        }
        let ok = format!("<secret>{U}<usage type='volume'><volume>C:\\x</volume></usage></secret>");
        assert!(v(&ok).is_ok());
    }

    #[test]
    fn validation_is_opt_in() {
        let x = format!("<secret foo='1'>{U}</secret>");
        assert!(Secret::parse(&x).is_ok());
        let e = Secret::parse_with(&x, ParseOptions::validate(true)).unwrap_err();
        assert_eq!(e.code(), crate::XML_INVALID_SCHEMA);
    }
}
