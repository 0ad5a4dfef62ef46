//! `virDomainSetMetadata` / `virDomainGetMetadata` on a definition: the `<title>`, the
//! `<description>` and the elements of `<metadata>`, each in a namespace of its own.

use crate::tree::{parse_named, Element};

use super::{DomainDef, DomainExtras};

/// `virDomainMetadataType`.
pub const DESCRIPTION: i32 = 0;
pub const TITLE: i32 = 1;
pub const ELEMENT: i32 = 2;

/// Why a metadata call failed, with libvirt's words.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetadataError {
    /// `VIR_ERR_NO_DOMAIN_METADATA`.
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
    /// The fragment is not XML (`VIR_ERR_XML_DETAIL`).
    #[error("{0}")]
    Xml(#[from] crate::XmlError),
}

/// The prefix-qualified element's namespace URI, from its own declaration.
fn namespace(e: &Element) -> Option<&str> {
    let decl = match e.name.split_once(':') {
        Some((prefix, _)) => format!("xmlns:{prefix}"),
        None => "xmlns".to_string(),
    };
    e.attr(&decl)
}

fn local_name(name: &str) -> &str {
    name.split_once(':').map_or(name, |(_, l)| l)
}

/// The metadata `kind` of `def` as `virDomainGetMetadata` returns it: the title, the
/// description, or the element in namespace `uri` without its prefix.
pub fn get(def: &DomainDef, kind: i32, uri: Option<&str>) -> Result<String, MetadataError> {
    let extras = def.extras.as_deref();
    let found = match kind {
        TITLE => extras.and_then(|x| x.title.clone()),
        DESCRIPTION => extras.and_then(|x| x.description.clone()),
        ELEMENT => def
            .metadata
            .as_deref()
            .and_then(|m| m.children.iter().find(|c| namespace(c) == uri))
            .map(|c| {
                let mut plain = c.clone();
                let decl = namespace_decl(&c.name);
                plain.attrs.retain(|(k, _)| *k != decl);
                plain.name = local_name(&c.name).to_string();
                dump(&plain)
            }),
        other => return Err(MetadataError::UnknownType(other)),
    };
    found
        .filter(|s| !s.is_empty())
        .ok_or(MetadataError::NotFound)
}

fn namespace_decl(name: &str) -> String {
    match name.split_once(':') {
        Some((prefix, _)) => format!("xmlns:{prefix}"),
        None => "xmlns".to_string(),
    }
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
pub fn set(
    def: &mut DomainDef,
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
            extras(def).title = value.map(str::to_string);
        }
        DESCRIPTION => extras(def).description = value.map(str::to_string),
        ELEMENT => set_element(def, value, key, uri)?,
        other => return Err(MetadataError::UnknownType(other)),
    }
    Ok(())
}

fn extras(def: &mut DomainDef) -> &mut DomainExtras {
    def.extras.get_or_insert_with(Default::default)
}

fn set_element(
    def: &mut DomainDef,
    value: Option<&str>,
    key: Option<&str>,
    uri: Option<&str>,
) -> Result<(), MetadataError> {
    let uri = uri.ok_or_else(|| MetadataError::Invalid("uri must not be NULL".into()))?;
    let added = match value {
        Some(xml) => {
            let key = key.ok_or_else(|| MetadataError::Invalid("key must not be NULL".into()))?;
            let mut e = parse_named(xml, "(metadata_xml)")?;
            e.attrs
                .retain(|(k, _)| *k != "xmlns" && !k.starts_with("xmlns:"));
            e.attrs.insert(0, (format!("xmlns:{key}"), uri.to_string()));
            e.name = format!("{key}:{}", local_name(&e.name));
            Some(e)
        }
        None => None,
    };
    let m = def.metadata.get_or_insert_with(|| {
        Box::new(Element {
            name: "metadata".into(),
            ..Element::default()
        })
    });
    m.children.retain(|c| namespace(c) != Some(uri));
    m.children.extend(added);
    if m.children.is_empty() {
        def.metadata = None;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def() -> DomainDef {
        DomainDef::parse(
            "<domain type='test'><name>m</name><memory>1024</memory>\
             <os><type>hvm</type></os></domain>",
        )
        .unwrap()
    }

    #[test]
    fn elements_replace_their_namespace_and_read_back_unprefixed() {
        let mut d = def();
        assert_eq!(
            get(&d, ELEMENT, Some("http://x/")),
            Err(MetadataError::NotFound)
        );
        set(
            &mut d,
            ELEMENT,
            Some("<foo a='1'><b/></foo>"),
            Some("app"),
            Some("http://x/"),
        )
        .unwrap();
        set(
            &mut d,
            ELEMENT,
            Some("<other/>"),
            Some("o"),
            Some("http://y/"),
        )
        .unwrap();
        set(
            &mut d,
            ELEMENT,
            Some("<foo2/>"),
            Some("app"),
            Some("http://x/"),
        )
        .unwrap();
        let m = d.metadata.as_deref().unwrap();
        let names: Vec<&str> = m.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["o:other", "app:foo2"]);
        assert_eq!(get(&d, ELEMENT, Some("http://x/")).unwrap(), "<foo2/>");
        set(
            &mut d,
            ELEMENT,
            Some("<foo a='1'><b/></foo>"),
            Some("app"),
            Some("http://x/"),
        )
        .unwrap();
        assert_eq!(
            get(&d, ELEMENT, Some("http://x/")).unwrap(),
            "<foo a=\"1\">\n  <b/>\n</foo>"
        );
        // Text among the children: libxml2 writes the element on one line.
        set(
            &mut d,
            ELEMENT,
            Some("<m>t<b/></m>"),
            Some("app"),
            Some("http://x/"),
        )
        .unwrap();
        assert_eq!(get(&d, ELEMENT, Some("http://x/")).unwrap(), "<m>t<b/></m>");
        set(&mut d, ELEMENT, None, None, Some("http://y/")).unwrap();
        set(&mut d, ELEMENT, None, None, Some("http://x/")).unwrap();
        assert!(d.metadata.is_none());
    }

    #[test]
    fn titles_have_one_line_and_empty_means_none() {
        let mut d = def();
        assert_eq!(
            set(&mut d, TITLE, Some("a\nb"), None, None),
            Err(MetadataError::TitleNewline)
        );
        set(&mut d, TITLE, Some("T"), None, None).unwrap();
        set(&mut d, DESCRIPTION, Some("two\nlines"), None, None).unwrap();
        assert_eq!(get(&d, TITLE, None).unwrap(), "T");
        assert_eq!(get(&d, DESCRIPTION, None).unwrap(), "two\nlines");
        set(&mut d, TITLE, Some(""), None, None).unwrap();
        assert_eq!(get(&d, TITLE, None), Err(MetadataError::NotFound));
        assert_eq!(get(&d, 7, None), Err(MetadataError::UnknownType(7)));
    }
}
