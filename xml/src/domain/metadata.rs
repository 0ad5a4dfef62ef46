//! `virDomainSetMetadata` / `virDomainGetMetadata` on a domain definition: the rules of
//! [`crate::metadata`], on the domain's `<title>`, `<description>` and `<metadata>`.

use crate::tree::Element;

use super::{DomainDef, DomainExtras};

pub use crate::metadata::{get, set, Described, MetadataError, DESCRIPTION, ELEMENT, TITLE};

impl Described for DomainDef {
    fn title(&self) -> Option<&str> {
        self.extras.as_deref().and_then(|x| x.title.as_deref())
    }
    fn description(&self) -> Option<&str> {
        self.extras
            .as_deref()
            .and_then(|x| x.description.as_deref())
    }
    fn metadata(&self) -> Option<&Element> {
        self.metadata.as_deref()
    }
    fn set_title(&mut self, title: Option<String>) {
        extras(self).title = title;
    }
    fn set_description(&mut self, description: Option<String>) {
        extras(self).description = description;
    }
    fn metadata_mut(&mut self) -> &mut Option<Box<Element>> {
        &mut self.metadata
    }
}

fn extras(def: &mut DomainDef) -> &mut DomainExtras {
    def.extras.get_or_insert_with(Default::default)
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
