//! Network filter XML: `<filter>` (libvirt's nwfilter.rng).
//!
//! A filter has a name, a uuid (generated when the document has none), a chain with its
//! priority, and an ordered list of entries: `<rule>`s and `<filterref>`s. A rule's
//! action, direction, priority and state matching are typed (a filter driver reads
//! them); its protocol element (`<tcp>`, `<mac>`, ...) is described by the tables of
//! [`proto`] and kept as a canonical [`Element`]. Without the validate option, unknown
//! elements and attributes are ignored like libvirt does; bad values are refused with
//! libvirt's codes and wording.

pub mod proto;

use crate::out::{Attrs, Out};
use crate::schema::{validate, ParseOptions, Schema};
use crate::tree::Element;
use crate::{Uuid, XmlError};
use rvirt_protocol::error::code::{CONFIG_UNSUPPORTED, INVALID_ARG};

/// What a rule does with matching traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `drop`.
    Drop,
    /// `accept`.
    Accept,
    /// `reject`.
    Reject,
    /// `return`.
    Return,
    /// `continue`.
    Continue,
}

/// Which traffic a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `in`: traffic to the guest.
    In,
    /// `out`: traffic from the guest.
    Out,
    /// `inout`: both.
    InOut,
}

const ACTIONS: &[(&str, Action)] = &[
    ("drop", Action::Drop),
    ("accept", Action::Accept),
    ("reject", Action::Reject),
    ("return", Action::Return),
    ("continue", Action::Continue),
];
const DIRECTIONS: &[(&str, Direction)] = &[
    ("in", Direction::In),
    ("out", Direction::Out),
    ("inout", Direction::InOut),
];

/// The word `table` gives `v`.
fn word<T: Copy + PartialEq>(table: &[(&'static str, T)], v: T) -> &'static str {
    table.iter().find(|(_, x)| *x == v).map_or("", |(n, _)| n)
}

/// The default rule priority.
pub const RULE_PRIORITY: i32 = 500;

/// One `<rule>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `action`.
    pub action: Action,
    /// `direction`.
    pub direction: Direction,
    /// `priority`, -1000..=1000 ([`RULE_PRIORITY`] when absent or out of range).
    pub priority: i32,
    /// `statematch='false'` turns connection state matching off.
    pub statematch: bool,
    /// The protocol element, canonical (see [`proto::parse`]); `None` for an empty rule.
    pub protocol: Option<Element>,
}

impl Rule {
    /// The protocol element's name (`tcp`, `mac`, ...), if the rule has one.
    pub fn protocol_name(&self) -> Option<&str> {
        self.protocol.as_ref().map(|e| e.name.as_str())
    }
}

/// One `<filterref>`: another filter and the parameters passed to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterRef {
    /// `filter`: the referenced filter's name.
    pub filter: String,
    /// `<parameter name value>`s, in document order.
    pub parameters: Vec<(String, String)>,
}

/// One entry of a filter, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A `<rule>`.
    Rule(Rule),
    /// A `<filterref>`.
    FilterRef(FilterRef),
}

/// A `<filter>` document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NwFilter {
    /// `name`.
    pub name: String,
    /// `<uuid>`.
    pub uuid: Uuid,
    /// `chain`: `root` or a name starting with one of [`CHAINS`]' prefixes.
    pub chain: String,
    /// `priority` of the chain; 0 is not written.
    pub priority: i32,
    /// Rules and filter references.
    pub entries: Vec<Entry>,
}

/// The chain prefixes a filter's chain may start with, with their default priorities
/// (libvirt 9.0 gives `stp` none).
pub const CHAINS: &[(&str, i32)] = &[
    ("root", 0),
    ("mac", -800),
    ("vlan", -750),
    ("stp", 0),
    ("arp", -500),
    ("rarp", -400),
    ("ipv4", -700),
    ("ipv6", -600),
];

fn internal(msg: &str) -> XmlError {
    XmlError::Internal(msg.to_string())
}

fn invalid_arg(msg: String) -> XmlError {
    XmlError::reported(INVALID_ARG, None, format!("invalid argument: {msg}"))
}

/// The chain's default priority; refuses a chain that starts with no known prefix.
fn chain_priority(chain: &str) -> Result<i32, XmlError> {
    if chain == "root" {
        return Ok(0);
    }
    let known = CHAINS.iter().skip(1).find(|(p, _)| chain.starts_with(p));
    known.map(|(_, prio)| *prio).ok_or_else(|| {
        invalid_arg(format!(
            "Invalid chain name '{chain}'. Please use a chain name called 'root' or any of \
             the following prefixes: mac, vlan, stp, arp, rarp, ipv4, ipv6"
        ))
    })
}

fn parse_priority(v: &str) -> Result<i32, XmlError> {
    let n: i64 = v
        .trim()
        .parse()
        .map_err(|_| invalid_arg(format!("Could not parse chain priority '{v}'")))?;
    if !(-1000..=1000).contains(&n) {
        return Err(invalid_arg(format!(
            "Priority '{v}' is outside valid range of [-1000,1000]"
        )));
    }
    Ok(n as i32)
}

fn parse_rule(e: &Element) -> Result<Rule, XmlError> {
    let action = e
        .attr("action")
        .ok_or_else(|| internal("rule node requires action attribute"))?;
    let direction = e
        .attr("direction")
        .ok_or_else(|| internal("rule node requires direction attribute"))?;
    let unknown = |what: &str| {
        XmlError::reported(
            CONFIG_UNSUPPORTED,
            None,
            format!("unsupported configuration: unknown rule {what} attribute value"),
        )
    };
    let action = ACTIONS
        .iter()
        .find(|(n, _)| *n == action)
        .map(|(_, a)| *a)
        .ok_or_else(|| unknown("action"))?;
    let direction = DIRECTIONS
        .iter()
        .find(|(n, _)| *n == direction)
        .map(|(_, d)| *d)
        .ok_or_else(|| unknown("direction"))?;
    let priority = e
        .attr("priority")
        .and_then(|p| p.trim().parse::<i32>().ok())
        .filter(|p| (-1000..=1000).contains(p))
        .unwrap_or(RULE_PRIORITY);
    let statematch = !matches!(e.attr("statematch"), Some("false" | "0"));
    let protocol = e
        .children
        .iter()
        .find_map(|c| proto::attributes(&c.name).map(|a| (c, a)))
        .map(|(c, a)| proto::parse(c, a))
        .transpose()?;
    Ok(Rule {
        action,
        direction,
        priority,
        statematch,
        protocol,
    })
}

fn parse_filterref(e: &Element) -> Result<FilterRef, XmlError> {
    // libvirt 9.0 words a filterref without its filter like a rule without an action.
    let filter = e
        .attr("filter")
        .ok_or_else(|| internal("rule node requires action attribute"))?;
    let parameters = e
        .children_named("parameter")
        .filter_map(|p| Some((p.attr("name")?.to_string(), p.attr("value")?.to_string())))
        .collect();
    Ok(FilterRef {
        filter: filter.to_string(),
        parameters,
    })
}

impl NwFilter {
    /// Parses a `<filter>` document leniently (no schema validation).
    pub fn parse(xml: &str) -> Result<NwFilter, XmlError> {
        NwFilter::parse_with(xml, ParseOptions::default())
    }

    /// Parses a `<filter>` document; with `opts.validate`, against nwfilter.rng first.
    pub fn parse_with(xml: &str, opts: ParseOptions) -> Result<NwFilter, XmlError> {
        let root = crate::tree::parse_root(xml, "filter")?;
        if opts.validate {
            validate(&root, Schema::NwFilter)?;
        }
        NwFilter::from_element(&root)
    }

    fn from_element(root: &Element) -> Result<NwFilter, XmlError> {
        let name = root
            .attr("name")
            .ok_or_else(|| internal("filter has no name"))?;
        let chain = root.attr("chain").unwrap_or("root");
        let mut priority = chain_priority(chain)?;
        if let Some(p) = root.attr("priority") {
            priority = parse_priority(p)?;
        }
        let uuid = match root.child_text("uuid") {
            Some(u) => {
                Uuid::parse(u.trim()).map_err(|_| XmlError::xml("malformed uuid element"))?
            }
            None => Uuid::random(),
        };
        let mut entries = Vec::new();
        for c in &root.children {
            match c.name.as_str() {
                "rule" => entries.push(Entry::Rule(parse_rule(c)?)),
                "filterref" => entries.push(Entry::FilterRef(parse_filterref(c)?)),
                _ => {}
            }
        }
        Ok(NwFilter {
            name: name.to_string(),
            uuid,
            chain: chain.to_string(),
            priority,
            entries,
        })
    }

    /// The document in libvirt's canonical form.
    pub fn to_xml(&self) -> String {
        let mut o = Out::new();
        let attrs = Attrs::new()
            .add("name", &self.name)
            .add("chain", &self.chain)
            .opt("priority", (self.priority != 0).then_some(self.priority));
        o.open("filter", &attrs);
        o.text("uuid", &Attrs::new(), &self.uuid.to_string());
        for e in &self.entries {
            match e {
                Entry::Rule(r) => write_rule(&mut o, r),
                Entry::FilterRef(f) => write_filterref(&mut o, f),
            }
        }
        o.close("filter");
        o.finish()
    }
}

fn write_rule(o: &mut Out, r: &Rule) {
    let attrs = Attrs::new()
        .add("action", word(ACTIONS, r.action))
        .add("direction", word(DIRECTIONS, r.direction))
        .add("priority", r.priority)
        .opt("statematch", (!r.statematch).then_some("false"));
    match &r.protocol {
        Some(p) => {
            o.open("rule", &attrs);
            p.write(o);
            o.close("rule");
        }
        None => o.empty("rule", &attrs),
    }
}

fn write_filterref(o: &mut Out, f: &FilterRef) {
    let attrs = Attrs::new().add("filter", &f.filter);
    o.element("filterref", &attrs, |o| {
        for (name, value) in &f.parameters {
            o.empty(
                "parameter",
                &Attrs::new().add("name", name).add("value", value),
            );
        }
    });
}

#[cfg(test)]
mod tests;
