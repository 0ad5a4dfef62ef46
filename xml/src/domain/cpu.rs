//! `<cpu>`: the typed parts drivers read (mode, model, topology, features) and the
//! rest described declaratively (see [`crate::spec`]).

use crate::out::{Attrs, Out};
use crate::spec::{attr, leaf, node, AttrSpec, Spec, Value};
use crate::tree::Element;
use crate::XmlError;

/// `<cpu>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CpuDef {
    /// `mode`: custom, host-model, host-passthrough, maximum.
    pub mode: Option<String>,
    /// `match`.
    pub match_: Option<String>,
    /// `check`.
    pub check: Option<String>,
    /// `migratable`.
    pub migratable: Option<String>,
    /// `<model>` text.
    pub model: Option<String>,
    /// `<model fallback>`.
    pub model_fallback: Option<String>,
    /// `<model vendor_id>`.
    pub model_vendor_id: Option<String>,
    /// `<vendor>`.
    pub vendor: Option<String>,
    /// `<topology>` as (sockets, dies, cores, threads).
    pub topology: Option<(u32, u32, u32, u32)>,
    /// `<feature policy name>` pairs.
    pub features: Vec<(String, String)>,
    /// `<cache>`, `<maxphysaddr>` and `<numa>` in canonical form.
    pub extra: Vec<Element>,
}

const CELL_ATTRS: &[AttrSpec] = &[
    attr("id", Value::Unsigned),
    attr("cpus", Value::Bitmap),
    attr("memory", Value::Kib),
    attr("unit", Value::Unit),
    attr("memAccess", Value::Enum(&["shared", "private"])),
    attr("discard", Value::YesNo),
];

/// The described parts of `<cpu>`, in libvirt's order.
const EXTRA: &[Spec] = &[
    leaf(
        "cache",
        &[
            attr("level", Value::Unsigned),
            attr("mode", Value::Enum(&["emulate", "passthrough", "disable"])),
        ],
    ),
    leaf(
        "maxphysaddr",
        &[
            attr("mode", Value::Enum(&["emulate", "passthrough"])),
            attr("bits", Value::Unsigned),
        ],
    ),
    node(
        "numa",
        &[
            Spec {
                name: "cell",
                attrs: CELL_ATTRS,
                children: &[
                    node(
                        "distances",
                        &[leaf(
                            "sibling",
                            &[attr("id", Value::Unsigned), attr("value", Value::Unsigned)],
                        )],
                    ),
                    Spec {
                        name: "cache",
                        attrs: &[
                            attr("level", Value::Unsigned),
                            attr("associativity", Value::Enum(&["none", "direct", "full"])),
                            attr(
                                "policy",
                                Value::Enum(&["none", "writeback", "writethrough"]),
                            ),
                        ],
                        children: &[leaf("size", SIZED), leaf("line", SIZED)],
                        text: None,
                    },
                ],
                text: None,
            },
            node(
                "interconnects",
                &[leaf("latency", LINK), leaf("bandwidth", LINK_BW)],
            ),
        ],
    ),
];

/// A NUMA cache's `<size>` and `<line>`.
const SIZED: &[AttrSpec] = &[attr("value", Value::Unsigned), attr("unit", Value::Text)];
const ACCESS: Value = Value::Enum(&["access", "read", "write"]);
/// An interconnect `<latency>` between two NUMA cells.
const LINK: &[AttrSpec] = &[
    attr("initiator", Value::Unsigned),
    attr("target", Value::Unsigned),
    attr("cache", Value::Unsigned),
    attr("type", ACCESS),
    attr("value", Value::Unsigned),
];
/// An interconnect `<bandwidth>`.
const LINK_BW: &[AttrSpec] = &[
    attr("initiator", Value::Unsigned),
    attr("target", Value::Unsigned),
    attr("cache", Value::Unsigned),
    attr("type", ACCESS),
    attr("value", Value::Unsigned),
    attr("unit", Value::Text),
];

/// libvirt's check that the interconnects name existing NUMA cells.
fn check_interconnects(numa: &Element) -> Result<(), XmlError> {
    let cells = numa.children.iter().filter(|c| c.name == "cell").count();
    let Some(ic) = numa.child("interconnects") else {
        return Ok(());
    };
    for link in &ic.children {
        for end in ["initiator", "target"] {
            let n = link.attr(end).and_then(|v| v.parse::<usize>().ok());
            if n.is_some_and(|n| n >= cells) {
                return Err(XmlError::Message(format!(
                    "'{end}' refers to a non-existent NUMA node"
                )));
            }
        }
    }
    Ok(())
}

const MODES: &[&str] = &["custom", "host-model", "host-passthrough", "maximum"];
const POLICIES: &[&str] = &["force", "require", "optional", "disable", "forbid"];

fn topology(t: &Element) -> Result<(u32, u32, u32, u32), XmlError> {
    let n = |k: &str| -> Result<u32, XmlError> {
        let Some(v) = t.attr(k) else {
            if k == "dies" {
                return Ok(1);
            }
            return Err(super::errs::missing_attr(k.into(), "topology".into()));
        };
        let bad = |why: &str| {
            super::errs::xml_util(format!(
                "Invalid value for attribute '{k}' in element 'topology': {why}"
            ))
        };
        match v.trim().parse::<u32>() {
            Ok(0) => Err(bad("Zero is not permitted")),
            Ok(n) => Ok(n),
            Err(_) => Err(bad(&format!("'{v}'. Expected non-negative integer value"))),
        }
    };
    Ok((n("sockets")?, n("dies")?, n("cores")?, n("threads")?))
}

fn features(e: &Element) -> Result<Vec<(String, String)>, XmlError> {
    let mut out = Vec::new();
    for f in e.children_named("feature") {
        let name = f
            .attr_s("name")
            .ok_or_else(|| super::errs::cpu_xml("Invalid CPU feature name".into()))?;
        let policy = f.attr("policy").unwrap_or("require");
        if !POLICIES.contains(&policy) {
            return Err(super::errs::cpu_unsupported(
                "Invalid CPU feature policy".into(),
            ));
        }
        out.push((policy.to_string(), name));
    }
    Ok(out)
}

impl CpuDef {
    /// Parses `<cpu>` with libvirt's defaults and refusals.
    pub fn parse(e: &Element) -> Result<CpuDef, XmlError> {
        let m = model(e)?;
        let mut extra = Vec::new();
        for s in EXTRA {
            if let Some(x) = s.parse_child(e, "domain/cpu")? {
                extra.push(x);
            }
        }
        if let Some(numa) = extra.iter_mut().find(|x| x.name == "numa") {
            number_cells(numa);
            fill_distances(numa);
            check_interconnects(numa)?;
        }
        let with_model = custom_mode(&m.mode) && m.model.is_some();
        Ok(CpuDef {
            mode: if with_model {
                Some("custom".into())
            } else {
                m.mode
            },
            match_: e
                .attr_s("match")
                .or_else(|| with_model.then(|| "exact".into())),
            check: e.attr_s("check"),
            migratable: e.attr_s("migratable"),
            model_fallback: m
                .model
                .as_ref()
                .map(|_| m.fallback.unwrap_or_else(|| "allow".into())),
            model_vendor_id: m.vendor_id,
            model: m.model,
            vendor: m.vendor,
            topology: e.child("topology").map(topology).transpose()?,
            features: features(e)?,
            extra,
        })
    }

    /// The memory of all guest NUMA cells together, in KiB (0 without cells).
    pub fn numa_memory_kib(&self) -> u64 {
        let Some(numa) = self.extra.iter().find(|x| x.name == "numa") else {
            return 0;
        };
        numa.children
            .iter()
            .filter(|c| c.name == "cell")
            .filter_map(|c| crate::units::to_kib("memory", c.attr("memory")?, c.attr("unit")).ok())
            .sum()
    }

    /// Gives NUMA cell 0 the vCPUs below `vcpus` that no cell names, as libvirt's QEMU
    /// driver does when the cells name fewer CPUs than the guest has.
    pub fn fill_numa_cell0(&mut self, vcpus: u32) {
        use crate::spec::{bitmap_members, canonical_bitmap};
        let Some(numa) = self.extra.iter_mut().find(|x| x.name == "numa") else {
            return;
        };
        let named: std::collections::BTreeSet<u32> = numa
            .children
            .iter()
            .filter_map(|c| bitmap_members(c.attr("cpus")?))
            .flatten()
            .collect();
        let missing: Vec<u32> = (0..vcpus).filter(|c| !named.contains(c)).collect();
        let Some(cell) = numa.children.iter_mut().find(|c| c.attr("id") == Some("0")) else {
            return;
        };
        if missing.is_empty() {
            return;
        }
        let mut list: Vec<String> = cell.attr("cpus").map(str::to_string).into_iter().collect();
        list.extend(missing.iter().map(u32::to_string));
        let Some(cpus) = canonical_bitmap(&list.join(",")) else {
            return;
        };
        match cell.attrs.iter_mut().find(|(k, _)| k == "cpus") {
            Some(a) => a.1 = cpus,
            None => cell.attrs.push(("cpus".into(), cpus)),
        }
    }

    /// How many guest NUMA cells `<numa>` declares.
    pub fn numa_cells(&self) -> usize {
        self.extra.iter().find(|x| x.name == "numa").map_or(0, |n| {
            n.children.iter().filter(|c| c.name == "cell").count()
        })
    }

    /// The vCPU ids the NUMA cells name, and how many there are.
    pub fn numa_cpus(&self) -> (u32, Option<u32>) {
        let mut count = 0u32;
        let mut max = None;
        let Some(numa) = self.extra.iter().find(|x| x.name == "numa") else {
            return (0, None);
        };
        for c in &numa.children {
            for (lo, hi) in crate::domain::validate::cpu_ranges(c.attr("cpus").unwrap_or("")) {
                count = count.saturating_add(hi.saturating_sub(lo) + 1);
                max = max.max(Some(hi));
            }
        }
        (count, max)
    }

    /// Writes `<cpu>`.
    pub fn write(&self, out: &mut Out) {
        let a = Attrs::new()
            .opt("mode", self.mode.as_ref())
            .opt("match", self.match_.as_ref())
            .opt("check", self.check.as_ref())
            .opt("migratable", self.migratable.as_ref());
        out.element("cpu", &a, |o| {
            if let Some(m) = &self.model {
                let ma = Attrs::new()
                    .opt("fallback", self.model_fallback.as_ref())
                    .opt("vendor_id", self.model_vendor_id.as_ref());
                o.text("model", &ma, m);
            }
            o.opt_text("vendor", self.vendor.as_ref());
            if let Some((s, d, c, t)) = self.topology {
                let ta = Attrs::new()
                    .add("sockets", s)
                    .add("dies", d)
                    .add("cores", c)
                    .add("threads", t);
                o.empty("topology", &ta);
            }
            for x in self.extra.iter().filter(|x| x.name != "numa") {
                x.write(o);
            }
            for (policy, name) in &self.features {
                o.empty(
                    "feature",
                    &Attrs::new().add("policy", policy).add("name", name),
                );
            }
            for x in self.extra.iter().filter(|x| x.name == "numa") {
                x.write(o);
            }
        });
    }
}

/// The mode and model parts of `<cpu>`, as libvirt keeps them.
struct Model {
    mode: Option<String>,
    model: Option<String>,
    fallback: Option<String>,
    vendor_id: Option<String>,
    vendor: Option<String>,
}

fn model(e: &Element) -> Result<Model, XmlError> {
    let mode = e.attr_s("mode");
    if let Some(m) = mode.as_deref().filter(|m| !MODES.contains(m)) {
        return Err(super::errs::cpu_unsupported(format!(
            "Invalid mode attribute '{m}'"
        )));
    }
    let model_el = e.child("model");
    let fallback = model_el.and_then(|m| m.attr_s("fallback"));
    if fallback
        .as_deref()
        .is_some_and(|f| !matches!(f, "allow" | "forbid"))
    {
        return Err(super::errs::cpu_unsupported(
            "Invalid fallback attribute".into(),
        ));
    }
    // host-passthrough and maximum take the host's CPU: libvirt drops any model and
    // vendor given with them.
    let keep = matches!(mode.as_deref(), None | Some("custom" | "host-model"));
    let model = model_el
        .map(|m| m.text.trim().to_string())
        .filter(|m| keep && !m.is_empty());
    let vendor = e.child_text("vendor").filter(|_| keep);
    if vendor.is_some() && model.is_none() {
        return Err(super::errs::cpu_xml(
            "CPU vendor specified without CPU model".into(),
        ));
    }
    if custom_mode(&mode) && model.is_none() && e.child("feature").is_some() {
        return Err(super::errs::cpu_xml(
            "Non-empty feature list specified without CPU model".into(),
        ));
    }
    Ok(Model {
        vendor_id: model_el
            .and_then(|m| m.attr_s("vendor_id"))
            .filter(|_| model.is_some()),
        mode,
        model,
        fallback,
        vendor,
    })
}

fn custom_mode(mode: &Option<String>) -> bool {
    matches!(mode.as_deref(), None | Some("custom"))
}

/// Gives each NUMA cell without an `id` its position and writes the cells in id
/// order, as libvirt does.
fn number_cells(numa: &mut Element) {
    let cells = numa.children.iter_mut().filter(|c| c.name == "cell");
    for (i, c) in cells.enumerate() {
        if c.attr("id").is_none() {
            c.attrs.insert(0, ("id".into(), i.to_string()));
        }
    }
    // Cells by id; `<interconnects>` after them.
    numa.children.sort_by_key(|c| {
        (
            c.name != "cell",
            c.attr("id").and_then(|i| i.parse::<u32>().ok()),
        )
    });
}

/// Completes the NUMA distance tables as libvirt does: a distance given one way holds
/// both ways, and a cell with any distance to another is 10 from itself; distances
/// nothing names are not written.
fn fill_distances(numa: &mut Element) {
    if !numa.children.iter().any(|c| c.child("distances").is_some()) {
        return;
    }
    let ids: Vec<String> = numa
        .children
        .iter()
        .map(|c| c.attr("id").unwrap_or_default().to_string())
        .collect();
    let given = |from: &str, to: &str| -> Option<String> {
        let cell = numa.children.iter().find(|c| c.attr("id") == Some(from))?;
        let s = cell
            .child("distances")?
            .children
            .iter()
            .find(|s| s.attr("id") == Some(to))?;
        s.attr_s("value")
    };
    let mut tables = Vec::new();
    for from in &ids {
        let known = |to: &String| given(from, to).or_else(|| given(to, from));
        let siblings: Vec<Element> = ids
            .iter()
            .filter_map(|to| {
                let v = known(to).or_else(|| (from == to).then(|| "10".into()))?;
                Some(Element {
                    name: "sibling".into(),
                    attrs: vec![("id".into(), to.clone()), ("value".into(), v)],
                    ..Element::default()
                })
            })
            .collect();
        let any = ids.iter().any(|to| to != from && known(to).is_some());
        tables.push(if any { siblings } else { Vec::new() });
    }
    for (cell, siblings) in numa.children.iter_mut().zip(tables) {
        cell.children.clear();
        if !siblings.is_empty() {
            cell.children.push(Element {
                name: "distances".into(),
                children: siblings,
                ..Element::default()
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::parse_document;

    fn round(x: &str) -> Result<String, XmlError> {
        let c = CpuDef::parse(&parse_document(x).unwrap())?;
        let mut o = Out::new();
        c.write(&mut o);
        Ok(o.finish())
    }

    /// Outputs checked against libvirt 9.0's test driver.
    #[test]
    fn libvirt_defaults_and_order() {
        let x = "<cpu mode='custom' match='exact'>\n  <model fallback='allow'>qemu64</model>\n  <topology sockets='1' dies='1' cores='2' threads='1'/>\n  <feature policy='require' name='vmx'/>\n</cpu>\n";
        assert_eq!(round(x).unwrap(), x);
        assert_eq!(
            round("<cpu><model>qemu64</model><feature name='vmx'/></cpu>").unwrap(),
            "<cpu mode='custom' match='exact'>\n  <model fallback='allow'>qemu64</model>\n  <feature policy='require' name='vmx'/>\n</cpu>\n"
        );
        assert_eq!(
            round("<cpu mode='host-passthrough'><numa><cell cpus='0' memory='1' unit='GiB'/></numa><cache level='3' mode='emulate'/></cpu>").unwrap(),
            "<cpu mode='host-passthrough'>\n  <cache level='3' mode='emulate'/>\n  <numa>\n    <cell id='0' cpus='0' memory='1048576' unit='KiB'/>\n  </numa>\n</cpu>\n"
        );
        assert_eq!(
            round("<cpu mode='host-model'><model fallback='forbid'/></cpu>").unwrap(),
            "<cpu mode='host-model'/>\n"
        );
    }

    #[test]
    fn refusals_worded_like_libvirt() {
        let e = |x: &str| round(x).unwrap_err();
        let m = e("<cpu mode='warp-drive'/>");
        assert_eq!(
            m.to_string(),
            "unsupported configuration: Invalid mode attribute 'warp-drive'"
        );
        assert_eq!(m.error_domain(20), super::super::errs::FROM_CPU);
        assert_eq!(
            e("<cpu><model>q</model><feature policy='x' name='y'/></cpu>").to_string(),
            "unsupported configuration: Invalid CPU feature policy"
        );
        assert_eq!(
            e("<cpu><vendor>Intel</vendor></cpu>").to_string(),
            "XML error: CPU vendor specified without CPU model"
        );
    }
}
