//! The `<cputune>`, `<memtune>` and `<blkiotune>` parts of a definition, read and
//! changed as the described elements they are ([`rvirt_xml::domain::simple::TOP`]).

use rvirt_xml::domain::simple::TOP;
use rvirt_xml::domain::DomainDef;
use rvirt_xml::tree::Element;

/// The text of `<elem><child>`.
pub fn get(def: &DomainDef, elem: &str, child: &str) -> Option<String> {
    def.extras()
        .simple
        .iter()
        .find(|e| e.name == elem)?
        .child_text(child)
}

/// The `<elem>` element, when there.
pub fn element<'a>(def: &'a DomainDef, elem: &str) -> Option<&'a Element> {
    def.extras().simple.iter().find(|e| e.name == elem)
}

/// Replaces `<elem>` with `new` (dropped when empty), in canonical form and order.
pub fn put(def: &mut DomainDef, mut new: Element) {
    let name = new.name.clone();
    let spec_at = TOP.iter().position(|(s, _)| s.name == name);
    if let Some(i) = spec_at {
        if let Ok(c) = TOP[i].0.parse(&new, &format!("domain/{name}")) {
            new = c;
        }
    }
    let simple = &mut def.extras_mut().simple;
    simple.retain(|e| e.name != name);
    if new.children.is_empty() && new.attrs.is_empty() {
        return;
    }
    let rank = |n: &str| TOP.iter().position(|(s, _)| s.name == n);
    let at = simple
        .iter()
        .position(|e| rank(&e.name) > spec_at)
        .unwrap_or(simple.len());
    simple.insert(at, new);
}

/// Sets (or, with `None`, removes) `<elem><child>` to `value`; `attrs` go on a new child.
pub fn set(
    def: &mut DomainDef,
    elem: &str,
    child: &str,
    value: Option<String>,
    attrs: &[(&str, &str)],
) {
    let mut e = element(def, elem).cloned().unwrap_or_else(|| Element {
        name: elem.to_string(),
        ..Element::default()
    });
    e.children.retain(|c| c.name != child);
    if let Some(v) = value {
        e.children.push(Element {
            name: child.to_string(),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            text: v,
            ..Element::default()
        });
    }
    put(def, e);
}
