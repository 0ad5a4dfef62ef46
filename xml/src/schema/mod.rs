//! Validation against the names in libvirt's RelaxNG schemas.
//!
//! libvirt parses leniently: elements and attributes it does not know are ignored. Only
//! when a caller passes a VALIDATE flag is the document checked against the schema first,
//! and anything outside it is `VIR_ERR_XML_INVALID_SCHEMA`. rvirt does the same: the typed
//! parsers ignore what they do not model, and [`validate`] checks, before parsing, that
//! every element, every attribute and every enumerated attribute value is one the schema
//! allows at that place. The table comes from libvirt's grammars
//! (`xml/schema/gen-names.py`); it keeps names, not content models, so element order,
//! counts and text values are left to the typed parsers. Without the flag, what the
//! schema does not know is logged at debug level as it is ignored, as libvirt does.

#[rustfmt::skip]
mod names;

use crate::tree::Element;
use crate::XmlError;

/// The kinds of document that can be validated; each is one of libvirt's schema files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Schema {
    /// `domain.rng`.
    Domain,
    /// `network.rng`.
    Network,
    /// `storagepool.rng`.
    StoragePool,
    /// `storagevol.rng`.
    StorageVol,
    /// `nodedev.rng`.
    NodeDevice,
    /// `secret.rng`.
    Secret,
    /// `interface.rng`.
    Interface,
    /// `networkport.rng`.
    NetworkPort,
    /// `domainsnapshot.rng`.
    DomainSnapshot,
    /// `domaincheckpoint.rng`.
    DomainCheckpoint,
    /// `nwfilterbinding.rng`.
    NwFilterBinding,
    /// `nwfilter.rng`.
    NwFilter,
}

/// One attribute an element may carry; `values` lists the words it takes when the schema
/// enumerates them.
pub(crate) struct Attr {
    name: &'static str,
    values: Option<&'static [&'static str]>,
}

/// One element pattern of the grammar.
pub(crate) struct Node {
    attrs: &'static [Attr],
    /// Any attribute is allowed (foreign elements in `<metadata>`).
    any_attr: bool,
    /// Child element names (`{uri}local` for namespaced ones, `*` for any) and the
    /// patterns they may match.
    children: &'static [(&'static str, &'static [u16])],
}

/// Where libvirt installs its schemas; its error message names the file there.
const SCHEMA_DIR: &str = "/usr/share/libvirt/schemas";

/// Options for the typed parsers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Check the document against the schema first (libvirt's VALIDATE flags).
    pub validate: bool,
    /// The driver gives a guest without a USB controller one (QEMU's post-parse), so
    /// USB devices need only that USB is not switched off (`model='none'`).
    pub default_usb: bool,
}

impl ParseOptions {
    /// Options with validation on or off.
    pub fn validate(validate: bool) -> ParseOptions {
        ParseOptions {
            validate,
            default_usb: false,
        }
    }

    /// These options for a driver that adds a default USB controller.
    pub fn with_default_usb(self) -> ParseOptions {
        ParseOptions {
            default_usb: true,
            ..self
        }
    }
}

/// Checks `root` against `schema`: refuses the first element, attribute or enumerated
/// value the schema does not allow where it appears.
pub fn validate(root: &Element, schema: Schema) -> Result<(), XmlError> {
    let (file, roots) = names::roots(schema);
    let fail = |detail: String| XmlError::InvalidSchema {
        schema: format!("{SCHEMA_DIR}/{file}"),
        detail,
    };
    let mut scopes = Scopes::default();
    scopes.enter(root);
    let name = scopes.expand(&root.name, true);
    let Some(cands) = lookup(roots, &name) else {
        return Err(fail(format!(
            "Expecting element {}, got {}",
            roots.first().map(|r| r.0).unwrap_or_default(),
            local(&root.name)
        )));
    };
    let r = check(root, cands.to_vec(), &mut scopes, Mode::Names).map_err(|f| match f {
        Failure::Schema(d) => fail(d),
        Failure::Value(e) => e,
    });
    scopes.leave(root);
    r
}

/// Checks only the values of the attributes the schema enumerates, wherever `root` holds
/// elements the schema knows, and ignores what it does not know: libvirt's parsers refuse
/// a bad value of an enumerated attribute even without the validate flag.
pub fn check_values(root: &Element, schema: Schema) -> Result<(), XmlError> {
    let (_, roots) = names::roots(schema);
    let mut scopes = Scopes::default();
    scopes.enter(root);
    let name = scopes.expand(&root.name, true);
    let Some(cands) = lookup(roots, &name) else {
        return Ok(());
    };
    match check(root, cands, &mut scopes, Mode::Values) {
        Err(Failure::Value(e)) => Err(e),
        _ => Ok(()),
    }
}

/// Logs at debug level what of `root` the schema does not know and a lenient parse
/// therefore ignores; refuses nothing. For the parsers that check values themselves.
pub fn log_ignored(root: &Element, schema: Schema) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let (_, roots) = names::roots(schema);
    let mut scopes = Scopes::default();
    scopes.enter(root);
    let name = scopes.expand(&root.name, true);
    if let Some(cands) = lookup(roots, &name) {
        let _ = check(root, cands, &mut scopes, Mode::Log);
    }
}

/// What [`check`] refuses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Unknown names and bad values (the VALIDATE flags).
    Names,
    /// Bad values of known attributes only.
    Values,
    /// Nothing: unknown names are only logged.
    Log,
}

enum Failure {
    /// Outside the schema (detail line).
    Schema(String),
    /// A bad enumerated value, reported as libvirt's parsers do.
    Value(XmlError),
}

/// The patterns `name` may match in `children`, including wildcards.
fn lookup(children: &'static [(&'static str, &'static [u16])], name: &str) -> Option<Vec<u16>> {
    let mut out: Vec<u16> = Vec::new();
    let ns_any = name
        .strip_prefix('{')
        .and_then(|r| r.split_once('}'))
        .map(|(uri, _)| format!("{{{uri}}}*"));
    for (n, ids) in children {
        if *n == name || *n == "*" || ns_any.as_deref() == Some(n) {
            out.extend_from_slice(ids);
        }
    }
    (!out.is_empty()).then_some(out)
}

fn local(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, l)| l)
}

/// Checks one element whose possible patterns are `cands`, then its subtree.
fn check(e: &Element, mut cands: Vec<u16>, scopes: &mut Scopes, mode: Mode) -> Result<(), Failure> {
    for (k, v) in &e.attrs {
        if k == "xmlns" || k.starts_with("xmlns:") {
            continue;
        }
        let name = scopes.expand(k, false);
        let allows = |id: &u16| {
            let n = &names::NODES[*id as usize];
            n.any_attr || n.attrs.iter().any(|a| a.name == name)
        };
        if mode != Mode::Names && !cands.iter().any(allows) {
            tracing::debug!(
                "ignoring attribute '{}' of <{}>: not in libvirt's schema",
                local(k),
                local(&e.name)
            );
            continue;
        }
        cands.retain(allows);
        if cands.is_empty() {
            return Err(Failure::Schema(format!(
                "Invalid attribute {} for element {}",
                local(k),
                local(&e.name)
            )));
        }
        let takes = |id: &u16| {
            let n = &names::NODES[*id as usize];
            n.any_attr
                || n.attrs
                    .iter()
                    .any(|a| a.name == name && a.values.is_none_or(|vs| vs.contains(&v.trim())))
        };
        if mode == Mode::Log {
            continue;
        }
        if !cands.iter().any(takes) {
            return Err(match mode {
                Mode::Names => Failure::Schema(format!(
                    "Invalid value '{v}' for attribute {} of element {}",
                    local(k),
                    local(&e.name)
                )),
                Mode::Values | Mode::Log => Failure::Value(XmlError::BadAttribute {
                    attr: local(k).to_string(),
                    element: local(&e.name).to_string(),
                    value: v.clone(),
                }),
            });
        }
        cands.retain(takes);
    }
    for c in &e.children {
        scopes.enter(c);
        let name = scopes.expand(&c.name, true);
        let mut next: Vec<u16> = Vec::new();
        for id in &cands {
            if let Some(ids) = lookup(names::NODES[*id as usize].children, &name) {
                next.extend(ids);
            }
        }
        next.sort_unstable();
        next.dedup();
        if next.is_empty() {
            if mode != Mode::Names {
                tracing::debug!(
                    "ignoring element <{}> in <{}>: not in libvirt's schema",
                    local(&c.name),
                    local(&e.name)
                );
                scopes.leave(c);
                continue;
            }
            return Err(Failure::Schema(format!(
                "Element {} has extra content: {}",
                local(&e.name),
                local(&c.name)
            )));
        }
        check(c, next, scopes, mode)?;
        scopes.leave(c);
    }
    Ok(())
}

/// Namespace declarations in scope: (prefix, uri), innermost last; `""` is the default
/// namespace.
#[derive(Default)]
struct Scopes {
    decls: Vec<(String, String)>,
}

impl Scopes {
    fn enter(&mut self, e: &Element) {
        for (k, v) in &e.attrs {
            if k == "xmlns" {
                self.decls.push((String::new(), v.clone()));
            } else if let Some(p) = k.strip_prefix("xmlns:") {
                self.decls.push((p.to_string(), v.clone()));
            }
        }
    }

    fn leave(&mut self, e: &Element) {
        let n = e
            .attrs
            .iter()
            .filter(|(k, _)| k == "xmlns" || k.starts_with("xmlns:"))
            .count();
        self.decls.truncate(self.decls.len() - n);
    }

    /// `{uri}local` for a namespaced name, the name itself otherwise. Unprefixed
    /// attributes are in no namespace; unprefixed elements are in the default one.
    fn expand(&self, qname: &str, element: bool) -> String {
        let (prefix, local) = match qname.split_once(':') {
            Some((p, l)) => (p, l),
            None if element => ("", qname),
            None => return qname.to_string(),
        };
        match self.decls.iter().rev().find(|(p, _)| p == prefix) {
            Some((_, uri)) if !uri.is_empty() => format!("{{{uri}}}{local}"),
            Some(_) => local.to_string(),
            None if prefix.is_empty() => local.to_string(),
            // An undeclared prefix: keep the name as written, which no pattern matches.
            None => qname.to_string(),
        }
    }
}

/// Parses `xml`, whose root must be `<root>`; checks it against `schema` when `opts`
/// asks for it, and otherwise logs what a lenient parse ignores. For the parsers that
/// check values themselves.
pub(crate) fn parse_lenient(
    xml: &str,
    root: &str,
    schema: Schema,
    opts: ParseOptions,
) -> Result<Element, XmlError> {
    let e = crate::tree::parse_root(xml, root)?;
    if opts.validate {
        validate(&e, schema)?;
    } else {
        log_ignored(&e, schema);
    }
    Ok(e)
}

/// Parses `xml`, checking it against `schema` first when `opts` asks for it.
pub(crate) fn parse_root_with(
    xml: &str,
    root: &str,
    schema: Schema,
    opts: ParseOptions,
) -> Result<Element, XmlError> {
    let e = crate::tree::parse_root(xml, root)?;
    if opts.validate {
        validate(&e, schema)?;
    } else {
        check_values(&e, schema)?;
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::parse_document;

    fn v(xml: &str, s: Schema) -> Result<(), XmlError> {
        validate(&parse_document(xml).unwrap(), s)
    }

    const DOM: &str =
        "<domain type='test'><name>a</name><memory>1024</memory><os><type>hvm</type></os>";

    #[test]
    fn unknown_element_is_named_like_libvirt() {
        let e = v(&format!("{DOM}<bogus foo='1'/></domain>"), Schema::Domain).unwrap_err();
        assert_eq!(
            e.to_string(),
            "XML document failed to validate against schema: Unable to validate doc against \
             /usr/share/libvirt/schemas/domain.rng\nElement domain has extra content: bogus\n"
        );
        assert_eq!(e.code(), crate::XML_INVALID_SCHEMA);
    }

    #[test]
    fn attributes_and_values() {
        let e = v(
            "<domain type='test' x='1'><name>a</name></domain>",
            Schema::Domain,
        );
        assert!(e
            .unwrap_err()
            .to_string()
            .ends_with("\nInvalid attribute x for element domain\n"));
        let e = v(
            "<domain type='warp'><name>a</name></domain>",
            Schema::Domain,
        );
        assert!(e.unwrap_err().to_string().contains("'warp'"));
        let disk = "<devices><disk type='file' device='disk'><source file='/a'/><target dev='vda'/></disk></devices>";
        assert_eq!(v(&format!("{DOM}{disk}</domain>"), Schema::Domain), Ok(()));
        let bad = disk.replace("<target", "<foo/><target");
        let e = v(&format!("{DOM}{bad}</domain>"), Schema::Domain).unwrap_err();
        assert!(e
            .to_string()
            .contains("Element disk has extra content: foo"));
    }

    #[test]
    fn values_checked_without_the_flag() {
        let bad = "<domain type='test'><name>a</name><frob x='y'/><devices><disk type='file'><target dev='vda' bus='bogus'/></disk></devices></domain>";
        let e = check_values(&parse_document(bad).unwrap(), Schema::Domain).unwrap_err();
        assert_eq!(
            e.to_string(),
            "XML error: Invalid value for attribute 'bus' in element 'target': 'bogus'."
        );
        let ok = bad.replace("bogus", "virtio");
        assert_eq!(
            check_values(&parse_document(&ok).unwrap(), Schema::Domain),
            Ok(())
        );
    }

    #[test]
    fn known_schema_elements_pass() {
        let pm = "<pm><suspend-to-mem enabled='no'/><suspend-to-disk enabled='no'/></pm>";
        assert_eq!(v(&format!("{DOM}{pm}</domain>"), Schema::Domain), Ok(()));
        let meta = "<metadata><app:x xmlns:app='urn:a' k='v'><app:y/></app:x></metadata>";
        assert_eq!(v(&format!("{DOM}{meta}</domain>"), Schema::Domain), Ok(()));
        let qemu = "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>a</name><qemu:commandline><qemu:arg value='-x'/></qemu:commandline></domain>";
        assert_eq!(v(qemu, Schema::Domain), Ok(()));
        let bad = qemu.replace("qemu:arg", "qemu:frob");
        assert!(v(&bad, Schema::Domain).is_err());
        assert_eq!(
            v(
                "<network><name>n</name><dns><forwarder addr='8.8.8.8'/></dns></network>",
                Schema::Network
            ),
            Ok(())
        );
        assert!(v("<network><name>n</name><bogus/></network>", Schema::Network).is_err());
        assert!(v(
            "<pool type='dir'><name>p</name></pool>",
            Schema::StoragePool
        )
        .is_ok());
        assert!(v("<network/>", Schema::Domain).is_err());
    }
}
