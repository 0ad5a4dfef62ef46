//! `virDomainSetMetadata` / `virNetworkSetMetadata` and their getters on a definition:
//! the `<title>`, the `<description>` and the elements of `<metadata>`, each in a
//! namespace of its own. Domains and networks follow the same rules; a definition says
//! where it keeps the three through [`Described`].

use crate::tree::{parse_named, Element};

/// `virDomainMetadataType` / `virNetworkMetadataType`.
pub use rvirt_protocol::facts::metadata_type::{DESCRIPTION, ELEMENT, TITLE};

/// Why a metadata call failed, with libvirt's words.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetadataError {
    /// `VIR_ERR_NO_DOMAIN_METADATA` / `VIR_ERR_NO_NETWORK_METADATA` (same text).
    #[error("metadata not found: Requested metadata element is not present")]
    NotFound,
    /// `VIR_ERR_INVALID_ARG`.
    #[error("invalid argument: unknown metadata type '{0}'")]
    UnknownType(i32),
    /// `VIR_ERR_INVALID_ARG`, worded as libvirt words it (no prefix).
    #[error("metadata title can't contain newlines")]
    TitleNewline,
    /// `VIR_ERR_INVALID_ARG`.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// A `key` that is no XML name (`VIR_ERR_INTERNAL_ERROR`, libvirt's text).
    #[error("internal error: failed to validate prefix for a new XML namespace")]
    BadPrefix,
    /// The fragment is not XML (`VIR_ERR_XML_DETAIL`).
    #[error("{0}")]
    Xml(#[from] crate::XmlError),
}

/// Where a definition keeps its title, description and `<metadata>`.
pub trait Described {
    fn title(&self) -> Option<&str>;
    fn description(&self) -> Option<&str>;
    fn metadata(&self) -> Option<&Element>;
    fn set_title(&mut self, title: Option<String>);
    fn set_description(&mut self, description: Option<String>);
    fn metadata_mut(&mut self) -> &mut Option<Box<Element>>;
}

/// The attribute that declares the prefix of `name` (`xmlns` for none).
fn namespace_decl(name: &str) -> String {
    match name.split_once(':') {
        Some((prefix, _)) => format!("xmlns:{prefix}"),
        None => "xmlns".to_string(),
    }
}

/// The namespace URI of child `e` of `<metadata>` `parent`: its own declaration, else
/// the one on `<metadata>` (where a parser moves the root's declarations).
fn namespace<'a>(e: &'a Element, parent: &'a Element) -> Option<&'a str> {
    let decl = namespace_decl(&e.name);
    e.attr(&decl).or_else(|| parent.attr(&decl))
}

fn local_name(name: &str) -> &str {
    name.split_once(':').map_or(name, |(_, l)| l)
}

/// The metadata `kind` of `def` as the getters return it: the title, the description,
/// or the element in namespace `uri` without its prefix.
pub fn get<D: Described + ?Sized>(
    def: &D,
    kind: i32,
    uri: Option<&str>,
) -> Result<String, MetadataError> {
    let found = match kind {
        TITLE => def.title().map(str::to_string),
        DESCRIPTION => def.description().map(str::to_string),
        ELEMENT => def.metadata().and_then(|m| {
            m.children.iter().find(|c| namespace(c, m) == uri).map(|c| {
                let mut plain = c.clone();
                let decl = namespace_decl(&c.name);
                plain.attrs.retain(|(k, _)| *k != decl);
                plain.name = local_name(&c.name).to_string();
                dump(&plain)
            })
        }),
        other => return Err(MetadataError::UnknownType(other)),
    };
    found
        .filter(|s| !s.is_empty())
        .ok_or(MetadataError::NotFound)
}

/// An element as libxml2 dumps a node with formatting: indented by two spaces per level,
/// except that an element with text among its children is written on one line.
fn dump(e: &Element) -> String {
    if !e.children.is_empty() && !e.text.trim().is_empty() {
        return e.foreign_inline();
    }
    let mut out = crate::out::Out::new();
    e.write_foreign(&mut out);
    out.finish().trim_end().to_string()
}

/// Sets (or, with `value` None or empty, removes) the metadata `kind` of `def`. An
/// element replaces the one already in namespace `uri`, and takes prefix `key`.
pub fn set<D: Described + ?Sized>(
    def: &mut D,
    kind: i32,
    value: Option<&str>,
    key: Option<&str>,
    uri: Option<&str>,
) -> Result<(), MetadataError> {
    let value = value.filter(|v| !v.is_empty());
    match kind {
        TITLE => {
            if value.is_some_and(|v| v.contains('\n')) {
                return Err(MetadataError::TitleNewline);
            }
            def.set_title(value.map(str::to_string));
        }
        DESCRIPTION => def.set_description(value.map(str::to_string)),
        ELEMENT => set_element(def.metadata_mut(), value, key, uri)?,
        other => return Err(MetadataError::UnknownType(other)),
    }
    Ok(())
}

fn set_element(
    slot: &mut Option<Box<Element>>,
    value: Option<&str>,
    key: Option<&str>,
    uri: Option<&str>,
) -> Result<(), MetadataError> {
    let uri = uri.ok_or_else(|| MetadataError::Invalid("uri must not be NULL".into()))?;
    let added = match value {
        Some(xml) => {
            let key = key.ok_or_else(|| MetadataError::Invalid("key must not be NULL".into()))?;
            // It becomes an element and attribute name: anything else would store a
            // definition that no longer parses.
            if !crate::spec::is_ncname(key) {
                return Err(MetadataError::BadPrefix);
            }
            let mut e = parse_named(xml, "(metadata_xml)")?;
            e.attrs
                .retain(|(k, _)| *k != "xmlns" && !k.starts_with("xmlns:"));
            e.attrs.insert(0, (format!("xmlns:{key}"), uri.to_string()));
            e.name = format!("{key}:{}", local_name(&e.name));
            Some(e)
        }
        None => None,
    };
    let m = slot.get_or_insert_with(|| {
        Box::new(Element {
            name: "metadata".into(),
            ..Element::default()
        })
    });
    let parent = Element {
        attrs: m.attrs.clone(),
        ..Element::default()
    };
    m.children.retain(|c| namespace(c, &parent) != Some(uri));
    m.children.extend(added);
    if m.children.is_empty() {
        *slot = None;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest definition with the three places.
    #[derive(Default)]
    struct Def {
        title: Option<String>,
        description: Option<String>,
        metadata: Option<Box<Element>>,
    }

    impl Described for Def {
        fn title(&self) -> Option<&str> {
            self.title.as_deref()
        }
        fn description(&self) -> Option<&str> {
            self.description.as_deref()
        }
        fn metadata(&self) -> Option<&Element> {
            self.metadata.as_deref()
        }
        fn set_title(&mut self, title: Option<String>) {
            self.title = title;
        }
        fn set_description(&mut self, description: Option<String>) {
            self.description = description;
        }
        fn metadata_mut(&mut self) -> &mut Option<Box<Element>> {
            &mut self.metadata
        }
    }

    #[test]
    fn elements_declared_on_metadata_are_found_and_replaced() {
        let mut d = Def {
            metadata: Some(Box::new(
                crate::tree::parse_root(
                    "<metadata xmlns:a='urn:a'><a:x k='1'/></metadata>",
                    "metadata",
                )
                .unwrap(),
            )),
            ..Def::default()
        };
        assert_eq!(get(&d, ELEMENT, Some("urn:a")).unwrap(), "<x k=\"1\"/>");
        set(&mut d, ELEMENT, Some("<y/>"), Some("b"), Some("urn:a")).unwrap();
        let m = d.metadata.as_deref().unwrap();
        let names: Vec<&str> = m.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["b:y"]);
        assert_eq!(get(&d, ELEMENT, Some("urn:a")).unwrap(), "<y/>");
        set(&mut d, ELEMENT, None, None, Some("urn:a")).unwrap();
        assert!(d.metadata.is_none());
    }

    #[test]
    fn element_arguments_are_checked() {
        let mut d = Def::default();
        assert_eq!(
            set(&mut d, ELEMENT, Some("<y/>"), None, Some("urn:a")),
            Err(MetadataError::Invalid("key must not be NULL".into()))
        );
        assert_eq!(
            set(&mut d, ELEMENT, Some("<y/>"), Some("k"), None),
            Err(MetadataError::Invalid("uri must not be NULL".into()))
        );
        // A key is a namespace prefix: libvirt refuses what is no XML name.
        for key in ["a b", "x\"><y", "1a", ""] {
            assert_eq!(
                set(&mut d, ELEMENT, Some("<y/>"), Some(key), Some("urn:a")),
                Err(MetadataError::BadPrefix),
                "{key:?}"
            );
        }
        assert!(matches!(
            set(&mut d, ELEMENT, Some("<y"), Some("k"), Some("urn:a")),
            Err(MetadataError::Xml(_))
        ));
        assert_eq!(get(&d, 3, None), Err(MetadataError::UnknownType(3)));
        assert_eq!(get(&d, DESCRIPTION, None), Err(MetadataError::NotFound));
    }
}
