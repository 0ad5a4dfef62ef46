//! Virtual network XML: `<network>`, parsed, checked and formatted as libvirt 9.0 does.
//!
//! Typed where a network driver reads (bridge, forward mode and devices, addresses and
//! DHCP, DNS, routes), with libvirt's semantic checks and their exact wording; the
//! shared netdev pieces (`<bandwidth>`, `<vlan>`, `<virtualport>`) live in [`netdev`]
//! for domain interfaces too.

pub mod addr;
pub mod dns;
pub mod forward;
pub mod ip;
pub mod netdev;
pub mod port;
pub mod prop;
pub mod route;
pub mod tc;
pub mod update;

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use crate::domain::normalize_mac;
use crate::out::{Attrs, Out};
use crate::tree::{parse_root, Element};
use crate::{Uuid, XmlError};

pub use dns::Dns;
pub use forward::Forward;
pub use ip::{DhcpHost, DhcpRange, NetworkIp};
pub use netdev::{Bandwidth, VirtualPort, Vlan};
pub use port::{NetworkPort, Plug};
pub use route::{PortGroup, Route};

use rvirt_protocol::error::code::{INTERNAL_ERROR, NO_NAME};

/// `<bridge>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bridge {
    /// `zone` (firewalld).
    pub zone: Option<String>,
    /// `stp` (on unless `off`).
    pub stp: bool,
    /// Whether `stp` was given at all (forward modes without a bridge refuse it).
    pub stp_given: bool,
    /// `delay` in seconds.
    pub delay: u64,
    /// `macTableManager` (`kernel`, `libvirt`).
    pub mac_table_manager: Option<&'static str>,
}

/// A network definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkDef {
    /// `<name>`.
    pub name: String,
    /// `<uuid>`, generated when absent.
    pub uuid: Uuid,
    /// `ipv6='yes'` on the root: guest-to-guest IPv6 without a gateway address.
    pub ipv6: bool,
    /// `trustGuestRxFilters` on the root.
    pub trust_guest_rx_filters: Option<bool>,
    /// `<title>` (one line; libvirt 9.7).
    pub title: Option<String>,
    /// `<description>` (libvirt 9.7).
    pub description: Option<String>,
    /// `<metadata>`, its foreign-namespace children kept (boxed: rarely present).
    pub metadata: Option<Box<Element>>,
    /// `<forward>`; `None` is an isolated network.
    pub forward: Option<Forward>,
    /// `<bridge name>`.
    pub bridge: Option<String>,
    /// The rest of `<bridge>`.
    pub bridge_def: Bridge,
    /// `<mtu size>`; 0 is unset.
    pub mtu: Option<u32>,
    /// `<mac address>`, normalised.
    pub mac: Option<String>,
    /// `<domain name>`.
    pub domain_name: Option<String>,
    /// `<domain localOnly>`.
    pub domain_local_only: Option<bool>,
    /// `<dns>`.
    pub dns: Dns,
    /// `<vlan>`.
    pub vlan: Option<Vlan>,
    /// `<bandwidth>`.
    pub bandwidth: Option<Bandwidth>,
    /// `<port isolated>`.
    pub isolated_port: Option<bool>,
    /// `<ip>` blocks.
    pub ips: Vec<NetworkIp>,
    /// `<route>`s.
    pub routes: Vec<Route>,
    /// `<virtualport>`.
    pub virtualport: Option<VirtualPort>,
    /// `<portgroup>`s.
    pub portgroups: Vec<PortGroup>,
}

impl NetworkDef {
    /// Parses a `<network>` document.
    pub fn parse(xml: &str) -> Result<NetworkDef, XmlError> {
        NetworkDef::from_element(&parse_root(xml, "network")?)
    }

    /// Parses a `<network>` document, validating it against libvirt's schema first when
    /// `opts` asks for it.
    ///
    /// Without validation the schema's word lists are not consulted: libvirt's network
    /// parser checks values itself (and takes some the schema does not, such as any
    /// `stp` word), which [`NetworkDef::from_element`] reproduces.
    pub fn parse_with(xml: &str, opts: crate::ParseOptions) -> Result<NetworkDef, XmlError> {
        let e = crate::schema::parse_lenient(xml, "network", crate::Schema::Network, opts)?;
        NetworkDef::from_element(&e)
    }

    /// The forward mode, `None` for an isolated network.
    pub fn forward_mode(&self) -> Option<&'static str> {
        self.forward.as_ref().map(|f| f.mode)
    }

    /// Builds a definition from a parsed `<network>` element, checking it as libvirt
    /// does, in libvirt's order (so the first error is libvirt's first error).
    pub fn from_element(e: &Element) -> Result<NetworkDef, XmlError> {
        let mut n = NetworkDef::head(e)?;
        let name = n.name.clone();
        n.parse_middle(e, &name)?;
        for p in e.children_named("portgroup") {
            n.portgroups.push(PortGroup::parse(p)?);
        }
        for i in e.children_named("ip") {
            n.ips.push(NetworkIp::parse(i, &name)?);
        }
        for r in e.children_named("route") {
            n.routes.push(Route::parse(r, &name)?);
        }
        n.check_gateways()?;
        if let Some(f) = e.child("forward") {
            n.forward = Forward::parse(f, &name)?;
        }
        n.check_forward_mode()?;
        n.metadata = e
            .child("metadata")
            .map(|m| Box::new(sanitize_metadata(m, e)));
        Ok(n)
    }

    /// Name, UUID and the root's attributes.
    fn head(e: &Element) -> Result<NetworkDef, XmlError> {
        let name = e
            .child("name")
            .map(|c| c.text.clone())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| XmlError::reported(NO_NAME, None, "missing name information"))?;
        // libvirt's network parser refuses '/' alone, as an illegal character.
        XmlError::check_illegal_chars("name", &name, &['/'])?;
        let uuid = match e
            .child("uuid")
            .map(|u| u.text.as_str())
            .filter(|u| !u.is_empty())
        {
            Some(u) => Uuid::parse(u).map_err(|_| {
                XmlError::reported(
                    INTERNAL_ERROR,
                    None,
                    "internal error: malformed uuid element",
                )
            })?,
            None => Uuid::random(),
        };
        // libvirt 9.7's title and description; 9.0 ignores both elements.
        let title = e.child_text_raw("title").filter(|t| !t.is_empty());
        if title.as_deref().is_some_and(|t| t.contains('\n')) {
            return Err(XmlError::xml("Network title can't contain newlines"));
        }
        let description = e.child_text_raw("description").filter(|t| !t.is_empty());
        let ipv6 = match e.attr("ipv6").filter(|v| !v.is_empty()) {
            None => false,
            Some("yes") => true,
            Some("no") => false,
            Some(v) => {
                return Err(XmlError::xml(format!(
                    "Invalid ipv6 setting '{v}' in network '{name}'"
                )))
            }
        };
        Ok(NetworkDef {
            trust_guest_rx_filters: prop::yes_no(e, "trustGuestRxFilters")?,
            name,
            uuid,
            ipv6,
            title,
            description,
            metadata: None,
            forward: None,
            bridge_def: Bridge::default(),
            bridge: None,
            mtu: None,
            mac: None,
            domain_name: None,
            domain_local_only: None,
            dns: Dns::default(),
            vlan: None,
            bandwidth: None,
            isolated_port: None,
            ips: Vec::new(),
            routes: Vec::new(),
            virtualport: None,
            portgroups: Vec::new(),
        })
    }

    /// Domain, bandwidth, vlan, port, bridge, mac, mtu, dns and virtualport.
    fn parse_middle(&mut self, e: &Element, name: &str) -> Result<(), XmlError> {
        if let Some(d) = e.child("domain") {
            self.domain_name = d.attr_s("name");
            self.domain_local_only = prop::yes_no(d, "localOnly")?;
        }
        if let Some(b) = e.child("bandwidth") {
            self.bandwidth = Bandwidth::parse(b, false)?;
        }
        self.vlan = e.child("vlan").map(Vlan::parse).transpose()?;
        if let Some(p) = e.child("port") {
            self.isolated_port = prop::yes_no(p, "isolated")?;
        }
        let b = e.child("bridge");
        self.bridge_def = parse_bridge(b, name)?;
        self.bridge = b
            .and_then(|b| b.attr("name"))
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        self.mac = parse_mac(e, name)?;
        let mtu = e
            .child("mtu")
            .and_then(|m| m.attr("size"))
            .filter(|s| !s.is_empty());
        if let Some(m) = mtu {
            let v = prop::to_u32(m, 10).ok_or_else(|| {
                XmlError::xml(format!("Invalid mtu size '{m}' in network '{name}'"))
            })?;
            self.mtu = (v != 0).then_some(v);
        }
        if let Some(d) = e.child("dns") {
            self.dns = Dns::parse(d, name)?;
        }
        if let Some(v) = e.child("virtualport") {
            self.virtualport = Some(VirtualPort::parse(v, true)?);
        }
        Ok(())
    }

    /// libvirt refuses a static route whose gateway no `<ip>` of its family reaches.
    /// The networks are gathered per prefix first (at most 129 prefixes), so many routes
    /// and many addresses stay linear to check.
    fn check_gateways(&self) -> Result<(), XmlError> {
        if self.routes.is_empty() {
            return Ok(());
        }
        let mut nets: HashMap<(bool, u32), HashSet<IpAddr>> = HashMap::new();
        for ip in &self.ips {
            let Some(p) = ip.effective_prefix() else {
                continue;
            };
            if let Some(n) = addr::mask_by_prefix(&ip.address, p) {
                nets.entry((ip.address.is_ipv4(), p)).or_default().insert(n);
            }
        }
        for r in &self.routes {
            let v4 = r.gateway.is_ipv4();
            let reachable = nets.iter().any(|((f, p), set)| {
                *f == v4 && addr::mask_by_prefix(&r.gateway, *p).is_some_and(|g| set.contains(&g))
            });
            if !reachable {
                return Err(XmlError::unsupported(format!(
                    "unreachable static route gateway '{}' specified for network '{}'",
                    r.gateway, self.name
                )));
            }
        }
        Ok(())
    }

    /// The checks that tie bridge, devices, addresses and MTU to the forward mode.
    fn check_forward_mode(&self) -> Result<(), XmlError> {
        let n = &self.name;
        let Some(f) = &self.forward else {
            return Ok(());
        };
        let m = f.mode;
        let b = &self.bridge_def;
        let err = |msg: String| Err(XmlError::xml(msg));
        if matches!(m, "nat" | "route" | "open") {
            if self.ips.is_empty() {
                return err(format!(
                    "{m} forwarding requested, but no IP address provided for network '{n}'"
                ));
            }
            if f.interfaces.len() + f.pci.len() > 1 {
                return err(format!("multiple forwarding interfaces specified for network '{n}', only one is supported"));
            }
            if m == "open" && !(f.interfaces.is_empty() && f.pci.is_empty()) {
                return err(format!(
                    "forward dev not allowed for network '{n}' with forward mode='open'"
                ));
            }
            return Ok(());
        }
        if m != "bridge" {
            if self.bridge.is_some() {
                return err(format!(
                    "bridge name not allowed in {m} mode (network '{n}')"
                ));
            }
            if b.zone.is_some() {
                return err(format!(
                    "bridge zone not allowed in {m} mode (network '{n}')"
                ));
            }
            if b.mac_table_manager.is_some() {
                return err(format!(
                    "bridge macTableManager setting not allowed in {m} mode (network '{n}')"
                ));
            }
        }
        if b.delay != 0 || b.stp_given || b.zone.is_some() {
            return err(format!("bridge delay/stp/zone options only allowed in route, nat, and isolated mode, not in {m} (network '{n}')"));
        }
        let has_devices = !(f.interfaces.is_empty() && f.pci.is_empty()) || f.pf.is_some();
        if self.bridge.is_some() && has_devices {
            return err(format!("A network with forward mode='{m}' can specify a bridge name or a forward dev, but not both (network '{n}')"));
        }
        if self.mtu.is_some() {
            return err(format!("mtu size only allowed in open, route, nat, and isolated mode, not in {m} (network '{n}')"));
        }
        Ok(())
    }

    /// True when the network owns a bridge libvirt configures (none, nat, route, open).
    fn has_bridge(&self) -> bool {
        matches!(self.forward_mode(), None | Some("nat" | "route" | "open"))
    }

    /// Formats the definition as libvirt does.
    pub fn to_xml(&self) -> String {
        let mut out = Out::new();
        let root = Attrs::new().opt("ipv6", self.ipv6.then_some("yes")).opt(
            "trustGuestRxFilters",
            self.trust_guest_rx_filters.map(prop::yn),
        );
        out.open("network", &root);
        out.text("name", &Attrs::new(), &self.name);
        out.text("uuid", &Attrs::new(), &self.uuid.to_string());
        out.opt_text("title", self.title.as_ref());
        out.opt_text("description", self.description.as_ref());
        if let Some(m) = &self.metadata {
            // Copied through libxml2 by libvirt, so dumped the way libxml2 does.
            m.write_foreign(&mut out);
        }
        if let Some(f) = &self.forward {
            f.write(&mut out);
        }
        self.write_bridge(&mut out);
        if let Some(m) = self.mtu {
            out.empty("mtu", &Attrs::new().add("size", m));
        }
        if let Some(m) = &self.mac {
            out.empty("mac", &Attrs::new().add("address", m));
        }
        if let Some(d) = &self.domain_name {
            let a = Attrs::new()
                .add("name", d)
                .opt("localOnly", self.domain_local_only.map(prop::yn));
            out.empty("domain", &a);
        }
        self.write_rest(&mut out);
        out.close("network");
        out.finish()
    }

    fn write_bridge(&self, out: &mut Out) {
        let b = &self.bridge_def;
        let has = self.has_bridge();
        if !(has || self.bridge.is_some() || b.mac_table_manager.is_some()) {
            return;
        }
        let mut a = Attrs::new()
            .opt("name", self.bridge.as_ref())
            .opt("zone", b.zone.as_ref());
        if has {
            a = a
                .add("stp", if b.stp { "on" } else { "off" })
                .add("delay", b.delay);
        }
        out.empty("bridge", &a.opt("macTableManager", b.mac_table_manager));
    }

    fn write_rest(&self, out: &mut Out) {
        self.dns.write(out);
        if let Some(v) = &self.vlan {
            v.write(out);
        }
        if let Some(b) = &self.bandwidth {
            b.write(out);
        }
        if let Some(p) = self.isolated_port {
            out.empty("port", &Attrs::new().add("isolated", prop::yn(p)));
        }
        for ip in &self.ips {
            ip.write(out);
        }
        for r in &self.routes {
            r.write(out);
        }
        if let Some(v) = &self.virtualport {
            v.write(out);
        }
        for p in &self.portgroups {
            p.write(out);
        }
    }
}

impl crate::metadata::Described for NetworkDef {
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

fn parse_bridge(b: Option<&Element>, name: &str) -> Result<Bridge, XmlError> {
    let Some(b) = b else {
        return Ok(Bridge {
            stp: true,
            ..Bridge::default()
        });
    };
    let get = |k: &str| b.attr(k).filter(|v| !v.is_empty());
    let stp = get("stp");
    let delay = match get("delay") {
        Some(d) => prop::to_u64_positive(d)
            .ok_or_else(|| XmlError::xml(format!("Invalid delay value in network '{name}'")))?,
        None => 0,
    };
    let mac_table_manager = match get("macTableManager") {
        Some(m) => Some(
            ["kernel", "libvirt"]
                .into_iter()
                .find(|k| *k == m)
                .ok_or_else(|| {
                    XmlError::xml(format!(
                        "Invalid macTableManager setting '{m}' in network '{name}'"
                    ))
                })?,
        ),
        None => None,
    };
    Ok(Bridge {
        zone: get("zone").map(str::to_string),
        // libvirt turns STP off only for exactly `off`; any other word means on.
        stp: stp != Some("off"),
        stp_given: stp.is_some(),
        delay,
        mac_table_manager,
    })
}

fn parse_mac(e: &Element, name: &str) -> Result<Option<String>, XmlError> {
    let Some(m) = e
        .child("mac")
        .and_then(|m| m.attr("address"))
        .filter(|m| !m.is_empty())
    else {
        return Ok(None);
    };
    let n = normalize_mac(m).map_err(|_| {
        XmlError::xml(format!(
            "Invalid bridge mac address '{m}' in network '{name}'"
        ))
    })?;
    if ip::is_multicast(&n) {
        return Err(XmlError::xml(format!(
            "Invalid multicast bridge mac address '{m}' in network '{name}'"
        )));
    }
    Ok(Some(n))
}

/// The prefix of a qualified name (`""` for none) and the attribute declaring it.
fn ns_key(name: &str) -> String {
    match name.split_once(':') {
        Some((p, _)) => format!("xmlns:{p}"),
        None => "xmlns".to_string(),
    }
}

/// Adds to `decls` the declarations from `outer` (the root's) that `e`'s subtree uses
/// without declaring them itself, in document order: libxml2 declares those on the
/// copied `<metadata>`.
fn outer_decls(
    e: &Element,
    scope: &mut Vec<String>,
    outer: &Element,
    decls: &mut Vec<(String, String)>,
) {
    let mark = scope.len();
    scope.extend(
        e.attrs
            .iter()
            .filter(|(k, _)| k == "xmlns" || k.starts_with("xmlns:"))
            .map(|(k, _)| k.clone()),
    );
    let key = ns_key(&e.name);
    if !scope.contains(&key) && !decls.iter().any(|(k, _)| *k == key) {
        if let Some(v) = outer.attr(&key) {
            decls.push((key, v.to_string()));
        }
    }
    for c in &e.children {
        outer_decls(c, scope, outer, decls);
    }
    scope.truncate(mark);
}

/// `<metadata>` as libvirt keeps it: only elements in a namespace, the first per
/// namespace, no text; namespaces declared on `<network>` are declared on it instead.
fn sanitize_metadata(m: &Element, root: &Element) -> Element {
    let mut out = Element {
        name: "metadata".into(),
        attrs: m.attrs.clone(),
        ..Element::default()
    };
    let mut decls = Vec::new();
    outer_decls(m, &mut Vec::new(), root, &mut decls);
    out.attrs
        .retain(|(k, _)| k == "xmlns" || k.starts_with("xmlns:"));
    out.attrs.extend(decls);
    let mut seen: HashSet<&str> = HashSet::new();
    for c in &m.children {
        let key = ns_key(&c.name);
        let ns = c
            .attr(&key)
            .or_else(|| m.attr(&key))
            .or_else(|| root.attr(&key));
        match ns {
            Some(ns) if seen.insert(ns) => out.children.push(c.clone()),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::strip_virsh;

    const FIXTURE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/compat/virsh-testdriver/net-dumpxml-default.txt"
    ));

    const DEFAULT_TEST_NET: &str = "<network>
  <name>default</name>
  <uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>
  <bridge name='virbr0'/>
  <forward/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>";

    #[test]
    fn fixture_round_trip() {
        let want = strip_virsh(FIXTURE);
        let n = NetworkDef::parse(&want).unwrap();
        assert_eq!(n.to_xml(), want);
        assert_eq!(n.forward_mode(), Some("nat"));
        assert_eq!(n.bridge.as_deref(), Some("virbr0"));
        let d = NetworkDef::parse(DEFAULT_TEST_NET).unwrap();
        assert_eq!(d.to_xml(), want);
    }

    /// Fragments and libvirt's answers to them (see the file's head).
    const CASES: &str = include_str!("testdata/cases.txt");

    /// Formats `n`, checking that the output parses back to the same output. libvirt
    /// itself is not stable in two places, kept for byte-identical output: a bandwidth
    /// direction with neither average nor floor leaves `<bandwidth>` empty, and a
    /// parameter the port type does not print leaves `<parameters/>`; read again, both
    /// say nothing.
    fn stable(n: &NetworkDef) -> String {
        let x = n.to_xml();
        let again = NetworkDef::parse(&x).map(|a| a.to_xml());
        if !x.contains("<bandwidth>\n  </bandwidth>") && !x.contains("<parameters/>") {
            assert_eq!(again.as_ref(), Ok(&x), "formatting is not stable");
        }
        x
    }

    /// What rvirt answers to one fragment (or whole document), in the file's notation.
    fn answer(frag: &str) -> String {
        if frag.starts_with("<network") {
            return match NetworkDef::parse(frag) {
                Ok(n) => stable(&n),
                Err(e) => format!("ERR {} {} {e}\n", e.code(), e.error_domain(19)),
            };
        }
        const HEAD: &str =
            "<network>\n  <name>p</name>\n  <uuid>5eed0002-0000-4000-8002-000000000000</uuid>\n";
        let doc = format!(
            "<network><name>p</name><uuid>5eed0002-0000-4000-8002-000000000000</uuid>{frag}</network>"
        );
        match NetworkDef::parse(&doc) {
            Ok(n) => {
                let x = stable(&n);
                let body = x
                    .strip_prefix(HEAD)
                    .and_then(|b| b.strip_suffix("</network>\n"));
                body.unwrap_or(&x).to_string()
            }
            Err(e) => format!("ERR {} {} {e}\n", e.code(), e.error_domain(19)),
        }
    }

    /// `xml` without the network's `<title>` and `<description>`: libvirt 9.7 added
    /// them, and the cases are libvirt 9.0's answers, which drop both.
    fn without_9_7_elements(xml: &str) -> String {
        let mut out = xml.to_string();
        for name in ["title", "description"] {
            let (open, close) = (format!("  <{name}>"), format!("</{name}>\n"));
            if let Some(i) = out.find(&open) {
                if let Some(j) = out[i..].find(&close) {
                    out.replace_range(i..i + j + close.len(), "");
                }
            }
        }
        out
    }

    #[test]
    fn title_and_description_follow_uuid() {
        let n = NetworkDef::parse(
            "<network><name>t</name><metadata><a:x xmlns:a='urn:a'/></metadata>\
             <description>two &amp;\nlines</description><title>T</title>\
             <uuid>5eed0002-0000-4000-8002-000000000000</uuid></network>",
        )
        .unwrap();
        let want =
            "<network>\n  <name>t</name>\n  <uuid>5eed0002-0000-4000-8002-000000000000</uuid>\n  \
            <title>T</title>\n  <description>two &amp;\nlines</description>\n  <metadata>\n    \
            <a:x xmlns:a=\"urn:a\"/>\n  </metadata>\n  <bridge stp='on' delay='0'/>\n</network>\n";
        assert_eq!(n.to_xml(), want);
        assert_eq!(NetworkDef::parse(want).unwrap().to_xml(), want);
        assert_eq!(without_9_7_elements(want).matches("<title>").count(), 0);
        // The validating parse knows libvirt 9.7's two elements.
        let opts = crate::ParseOptions::validate(true);
        assert!(NetworkDef::parse_with(want, opts).is_ok());
        let e =
            NetworkDef::parse("<network><name>t</name><title>a\nb</title></network>").unwrap_err();
        assert_eq!(
            (e.code(), e.to_string().as_str()),
            (
                crate::XML_ERROR,
                "XML error: Network title can't contain newlines"
            )
        );
    }

    #[test]
    fn metadata_calls_on_a_network() {
        use crate::metadata::{get, set, ELEMENT, TITLE};
        let mut n = NetworkDef::parse("<network><name>m</name></network>").unwrap();
        set(&mut n, TITLE, Some("T"), None, None).unwrap();
        set(
            &mut n,
            ELEMENT,
            Some("<e k='v'/>"),
            Some("app"),
            Some("urn:x"),
        )
        .unwrap();
        assert_eq!(get(&n, TITLE, None).unwrap(), "T");
        assert_eq!(get(&n, ELEMENT, Some("urn:x")).unwrap(), "<e k=\"v\"/>");
        let x = n.to_xml();
        assert!(
            x.contains("<title>T</title>\n  <metadata>\n    <app:e xmlns:app=\"urn:x\" k=\"v\"/>"),
            "{x}"
        );
        let again = NetworkDef::parse(&x).unwrap();
        assert_eq!(get(&again, ELEMENT, Some("urn:x")).unwrap(), "<e k=\"v\"/>");
    }

    /// Every case libvirt answered gets the same answer here: the same dump, or the same
    /// error code, domain and message.
    #[test]
    fn agrees_with_libvirt_on_every_case() {
        let mut cases: Vec<(&str, String)> = Vec::new();
        for line in CASES.lines() {
            match (line.strip_prefix("### "), cases.last_mut()) {
                (Some(frag), _) => cases.push((frag, String::new())),
                (None, Some((_, want))) => {
                    want.push_str(line);
                    want.push('\n');
                }
                (None, None) => {}
            }
        }
        let count = cases.len();
        let mut bad = Vec::new();
        for (frag, want) in &cases {
            let got = without_9_7_elements(&answer(frag));
            if got != *want {
                bad.push(format!("{frag}\n  libvirt: {want:?}\n  rvirt:   {got:?}"));
            }
        }
        assert!(count > 150);
        assert!(
            bad.is_empty(),
            "{} of {count} differ:\n{}",
            bad.len(),
            bad.join("\n")
        );
    }

    #[test]
    fn errors() {
        let e = NetworkDef::parse(
            "<network><uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid></network>",
        )
        .unwrap_err();
        assert_eq!(
            (e.code(), e.to_string().as_str()),
            (21, "missing name information")
        );
        // Unknown elements are ignored, as libvirt does without a validate flag.
        assert!(NetworkDef::parse("<network><name>x</name><frob/></network>").is_ok());
        assert!(matches!(
            NetworkDef::parse("<network>"),
            Err(XmlError::Malformed(_))
        ));
        let e = NetworkDef::parse("<network><name>a</name><uuid>bad</uuid></network>").unwrap_err();
        assert_eq!(e.to_string(), "internal error: malformed uuid element");
        let e = NetworkDef::parse("<network ipv6='maybe'><name>a</name></network>").unwrap_err();
        assert_eq!(
            e.to_string(),
            "XML error: Invalid ipv6 setting 'maybe' in network 'a'"
        );
    }

    #[test]
    fn root_attributes() {
        let n = NetworkDef::parse(
            "<network ipv6='yes' trustGuestRxFilters='no' connections='4'><name>a</name><uuid>5eed0002-0000-4000-8002-000000000000</uuid></network>",
        )
        .unwrap();
        assert_eq!(
            n.to_xml(),
            "<network ipv6='yes' trustGuestRxFilters='no'>\n  <name>a</name>\n  <uuid>5eed0002-0000-4000-8002-000000000000</uuid>\n  <bridge stp='on' delay='0'/>\n</network>\n"
        );
        assert_eq!(NetworkDef::parse(&n.to_xml()).unwrap().to_xml(), n.to_xml());
    }

    #[test]
    fn stp_takes_any_word_without_validation() {
        let doc = "<network><name>s</name><bridge name='b' stp='maybe'/></network>";
        let n = NetworkDef::parse_with(doc, crate::ParseOptions::validate(false)).unwrap();
        assert!(n.bridge_def.stp);
        let e = NetworkDef::parse_with(doc, crate::ParseOptions::validate(true)).unwrap_err();
        assert_eq!(e.code(), crate::XML_INVALID_SCHEMA);
    }

    /// Long device, address and route lists: each check is linear, so this is quick.
    #[test]
    fn long_lists_stay_linear() {
        let n = 20_000;
        let mut doc = String::from("<network><name>big</name><forward mode='nat'>");
        for i in 0..n {
            doc.push_str(&format!(
                "<address type='pci' bus='{}' slot='{}'/>",
                i / 32 % 256,
                i % 32
            ));
        }
        doc.push_str("</forward>");
        for i in 0..n {
            doc.push_str(&format!(
                "<ip address='10.{}.{}.1' prefix='24'/>",
                i / 256,
                i % 256
            ));
            doc.push_str(&format!(
                "<route address='172.16.{}.0' prefix='24' gateway='10.{}.{}.9'/>",
                i % 256,
                i / 256,
                i % 256
            ));
        }
        doc.push_str("</network>");
        let start = std::time::Instant::now();
        let e = NetworkDef::parse(&doc).unwrap_err();
        // 8192 distinct PCI functions, then the first repeat is refused.
        assert!(e.to_string().contains("can only be listed once"), "{e}");
        let ok = doc
            .replace("<forward mode='nat'>", "<forward mode='nat'><!--")
            .replace("</forward>", "--></forward>");
        let net = NetworkDef::parse(&ok).unwrap();
        assert_eq!(net.routes.len(), n);
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn names_with_slash_are_refused_as_libvirt_does() {
        let e = NetworkDef::parse("<network><name>a/b</name></network>").unwrap_err();
        assert_eq!(e.to_string(), "invalid char in name: /");
        assert_eq!(e.code(), crate::XML_DETAIL);
        assert_eq!(
            NetworkDef::parse("<network><name>a\nb</name></network>")
                .unwrap()
                .name,
            "a\nb"
        );
    }
}
