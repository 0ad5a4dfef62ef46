//! Host facts: QEMU version and machine types (asked of the emulator once), node info from
//! /proc, host capabilities XML.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use rvirt_plugin_api::protocol::RemoteNodeGetInfoRet;

/// A machine type QEMU reports (`query-machines`), or an alias of one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Machine {
    pub name: String,
    /// The versioned machine this alias stands for (`pc` → `pc-i440fx-7.2`).
    pub canonical: Option<String>,
    pub is_default: bool,
    /// QEMU marks it deprecated.
    pub deprecated: bool,
    /// The CPU model QEMU gives its guests (`default-cpu-type` without its
    /// `-x86_64-cpu` suffix: `qemu64`), which libvirt writes into definitions.
    pub default_cpu: Option<String>,
}

/// What the driver learned about the host at initialize.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HostInfo {
    pub emulator: String,
    /// libvirt's encoding: major * 1,000,000 + minor * 1,000 + micro; 0 when unknown.
    pub qemu_version: u64,
    pub machines: Vec<Machine>,
    pub kvm: bool,
    /// Most vCPUs per machine type (names and aliases), from QMP `query-machines`.
    pub max_cpus: BTreeMap<String, u32>,
}

/// The vCPU limit of a machine type QEMU did not report: QEMU 7.2's for its x86 machines.
fn fallback_max_cpus(machine: &str) -> u32 {
    if machine == "q35" || machine.starts_with("pc-q35") {
        288
    } else {
        255
    }
}

/// Reads `cpu-max` for each machine (and its alias) from a QMP session's replies.
pub fn parse_query_machines(replies: &str) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for line in replies.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(list) = v.get("return").and_then(|r| r.as_array()) else {
            continue;
        };
        for m in list {
            let Some(max) = m.get("cpu-max").and_then(|c| c.as_u64()) else {
                continue;
            };
            let max = u32::try_from(max).unwrap_or(u32::MAX);
            for key in ["name", "alias"] {
                if let Some(n) = m.get(key).and_then(|n| n.as_str()) {
                    out.insert(n.to_string(), max);
                }
            }
        }
    }
    out
}

/// The machine types of a QMP session's `query-machines` reply in libvirt's order: the
/// default first, then QEMU's order, each alias right after its machine; `none` left out.
pub fn machines_from_query(replies: &str) -> Vec<Machine> {
    let mut out = Vec::new();
    for line in replies.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(list) = v.get("return").and_then(|r| r.as_array()) else {
            continue;
        };
        let flag =
            |m: &serde_json::Value, k: &str| m.get(k).and_then(|d| d.as_bool()) == Some(true);
        let mut listed: Vec<&serde_json::Value> = list.iter().collect();
        listed.sort_by_key(|m| !flag(m, "is-default"));
        for m in listed {
            let Some(name) = m.get("name").and_then(|n| n.as_str()) else {
                continue;
            };
            if name == "none" {
                continue;
            }
            let default_cpu = m
                .get("default-cpu-type")
                .and_then(|t| t.as_str())
                .map(|t| t.strip_suffix("-x86_64-cpu").unwrap_or(t).to_string());
            out.push(Machine {
                name: name.to_string(),
                canonical: None,
                is_default: flag(m, "is-default"),
                deprecated: flag(m, "deprecated"),
                default_cpu: default_cpu.clone(),
            });
            if let Some(alias) = m.get("alias").and_then(|a| a.as_str()) {
                out.push(Machine {
                    name: alias.to_string(),
                    canonical: Some(name.to_string()),
                    is_default: false,
                    deprecated: flag(m, "deprecated"),
                    default_cpu,
                });
            }
        }
    }
    out
}

/// Asks the emulator for its machine types over QMP on stdio: the session's replies.
fn query_machines(emulator: &str) -> String {
    let child = Command::new(emulator)
        .args([
            "-machine",
            "none",
            "-nodefaults",
            "-display",
            "none",
            "-qmp",
            "stdio",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        return String::new();
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(
            b"{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"query-machines\"}\n{\"execute\":\"quit\"}\n",
        );
    }
    match child.wait_with_output() {
        Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
        Err(_) => String::new(),
    }
}

/// Parses `QEMU emulator version 7.2.22 (...)`.
pub fn parse_version(text: &str) -> Option<u64> {
    let rest = text.split("version ").nth(1)?;
    let ver = rest
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()?;
    let mut parts = ver.split('.').map(|p| p.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next().flatten().unwrap_or(0);
    let micro = parts.next().flatten().unwrap_or(0);
    Some(major * 1_000_000 + minor * 1_000 + micro)
}

fn run(emulator: &str, args: &[&str]) -> String {
    Command::new(emulator)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

impl HostInfo {
    pub fn probe(emulator: &str) -> HostInfo {
        let replies = query_machines(emulator);
        HostInfo {
            emulator: emulator.to_string(),
            qemu_version: parse_version(&run(emulator, &["-version"])).unwrap_or(0),
            machines: machines_from_query(&replies),
            kvm: std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/kvm")
                .is_ok(),
            max_cpus: parse_query_machines(&replies),
        }
    }

    /// Most vCPUs `machine` takes: what QEMU reported, else QEMU 7.2's x86 limits.
    pub fn machine_max_cpus(&self, machine: &str) -> u32 {
        self.max_cpus
            .get(machine)
            .copied()
            .unwrap_or_else(|| fallback_max_cpus(&self.canonical_machine(machine)))
    }

    /// The versioned name of `machine` when it is an alias.
    /// The CPU model QEMU gives guests of machine type `machine`, if it says.
    pub fn default_cpu(&self, machine: &str) -> Option<&str> {
        self.machines
            .iter()
            .find(|m| m.name == machine)
            .and_then(|m| m.default_cpu.as_deref())
    }

    pub fn canonical_machine(&self, machine: &str) -> String {
        self.machines
            .iter()
            .find(|m| m.name == machine)
            .and_then(|m| m.canonical.clone())
            .unwrap_or_else(|| machine.to_string())
    }
}

pub fn hostname() -> String {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let h = h.trim();
    if h.is_empty() {
        "localhost".into()
    } else {
        h.to_string()
    }
}

fn meminfo_kib(key: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub fn free_memory_bytes() -> u64 {
    meminfo_kib("MemFree:") * 1024
}

/// `NODE_GET_INFO` from /proc/cpuinfo and /proc/meminfo.
pub fn node_info() -> RemoteNodeGetInfoRet {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    node_info_from(&cpuinfo, meminfo_kib("MemTotal:"))
}

pub fn node_info_from(cpuinfo: &str, memory_kib: u64) -> RemoteNodeGetInfoRet {
    let field = |name: &str| -> Vec<&str> {
        cpuinfo
            .lines()
            .filter(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
            .filter_map(|l| l.split_once(':').map(|(_, v)| v.trim()))
            .collect()
    };
    let cpus = field("processor").len().max(1) as i32;
    let mhz = field("cpu MHz")
        .first()
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0) as i32;
    let mut sockets: Vec<&str> = field("physical id");
    sockets.sort_unstable();
    sockets.dedup();
    let sockets = sockets.len().max(1) as i32;
    let cores = field("cpu cores")
        .first()
        .and_then(|v| v.parse::<i32>().ok())
        .unwrap_or(cpus / sockets)
        .max(1);
    let threads = (cpus / (sockets * cores)).max(1);
    let mut model = [0i8; 32];
    for (i, b) in std::env::consts::ARCH.bytes().take(31).enumerate() {
        model[i] = b as i8;
    }
    RemoteNodeGetInfoRet {
        model,
        memory: memory_kib,
        cpus,
        mhz,
        nodes: 1,
        sockets,
        cores,
        threads,
    }
}

/// Host capabilities XML: host CPU arch and topology, one x86_64 hvm guest with QEMU
/// (and KVM when usable) domains.
pub fn capabilities_xml(h: &HostInfo, uuid: &str) -> String {
    let ni = node_info();
    let mut s = String::from("<capabilities>\n\n  <host>\n");
    s.push_str(&format!(
        "    <uuid>{uuid}</uuid>\n    <cpu>\n      <arch>x86_64</arch>\n"
    ));
    s.push_str(&format!(
        "      <topology sockets='{}' dies='1' cores='{}' threads='{}'/>\n    </cpu>\n",
        ni.sockets, ni.cores, ni.threads
    ));
    s.push_str("    <power_management/>\n    <iommu support='no'/>\n");
    s.push_str("    <migration_features>\n      <live/>\n    </migration_features>\n");
    s.push_str("  </host>\n\n  <guest>\n    <os_type>hvm</os_type>\n");
    s.push_str("    <arch name='x86_64'>\n      <wordsize>64</wordsize>\n");
    s.push_str(&format!("      <emulator>{}</emulator>\n", h.emulator));
    for m in &h.machines {
        let max = h.machine_max_cpus(&m.name);
        let canonical = m
            .canonical
            .as_ref()
            .map(|c| format!("canonical='{c}' "))
            .unwrap_or_default();
        let deprecated = if m.deprecated {
            " deprecated='yes'"
        } else {
            ""
        };
        s.push_str(&format!(
            "      <machine {canonical}maxCpus='{max}'{deprecated}>{}</machine>\n",
            m.name
        ));
    }
    s.push_str("      <domain type='qemu'/>\n");
    if h.kvm {
        s.push_str("      <domain type='kvm'/>\n");
    }
    s.push_str("    </arch>\n    <features>\n      <acpi default='on' toggle='yes'/>\n");
    s.push_str(
        "      <apic default='on' toggle='no'/>\n    </features>\n  </guest>\n\n</capabilities>\n",
    );
    s
}

/// A stable host UUID: /etc/machine-id when present.
pub fn host_uuid() -> String {
    let id = std::fs::read_to_string("/etc/machine-id").unwrap_or_default();
    let hex: String = id
        .trim()
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .take(32)
        .collect();
    if hex.len() != 32 {
        return "00000000-0000-0000-0000-000000000000".into();
    }
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_and_machines() {
        let v = "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022\n";
        assert_eq!(parse_version(v), Some(7_002_022));
        let replies = "{\"QMP\": {}}\n{\"return\": {}}\n{\"return\": [\
            {\"name\": \"microvm\", \"cpu-max\": 288},\
            {\"name\": \"pc-i440fx-1.4\", \"deprecated\": true},\
            {\"name\": \"none\"},\
            {\"name\": \"pc-i440fx-7.2\", \"alias\": \"pc\", \"is-default\": true}]}\n";
        let ms = machines_from_query(replies);
        let names: Vec<&str> = ms.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["pc-i440fx-7.2", "pc", "microvm", "pc-i440fx-1.4"]);
        assert!(ms[0].is_default && !ms[1].is_default && ms[3].deprecated);
        assert_eq!(ms[1].canonical.as_deref(), Some("pc-i440fx-7.2"));
        let h = HostInfo {
            machines: ms,
            ..HostInfo::default()
        };
        assert_eq!(h.canonical_machine("pc"), "pc-i440fx-7.2");
        assert_eq!(h.canonical_machine("q35"), "q35");
        let xml = capabilities_xml(&h, "u");
        assert!(
            xml.contains("<machine maxCpus='255'>pc-i440fx-7.2</machine>\n      <machine canonical='pc-i440fx-7.2' maxCpus='255'>pc</machine>\n      <machine maxCpus='255'>microvm</machine>")
                && xml.contains("<machine maxCpus='255' deprecated='yes'>pc-i440fx-1.4</machine>"),
            "{xml}"
        );
    }

    #[test]
    fn machine_vcpu_limits() {
        let replies = "{\"QMP\": {}}\n{\"return\": {}}\n{\"return\": [\
            {\"name\": \"pc-i440fx-7.2\", \"alias\": \"pc\", \"cpu-max\": 255},\
            {\"name\": \"isapc\", \"cpu-max\": 1}, {\"name\": \"odd\"}]}\n";
        let max_cpus = parse_query_machines(replies);
        assert_eq!(max_cpus.len(), 3);
        let h = HostInfo {
            max_cpus,
            machines: vec![Machine {
                name: "q35".into(),
                canonical: Some("pc-q35-7.2".into()),
                ..Machine::default()
            }],
            ..HostInfo::default()
        };
        assert_eq!(h.machine_max_cpus("pc"), 255);
        assert_eq!(h.machine_max_cpus("isapc"), 1);
        // Not reported: QEMU 7.2's limits by family.
        assert_eq!(h.machine_max_cpus("q35"), 288);
        assert_eq!(h.machine_max_cpus("odd"), 255);
    }

    #[test]
    fn probes_the_installed_emulator() {
        let qemu = "/usr/bin/qemu-system-x86_64";
        if !std::path::Path::new(qemu).exists() {
            eprintln!("SKIP: {qemu} is not installed");
            return;
        }
        let replies = query_machines(qemu);
        let m = parse_query_machines(&replies);
        assert_eq!(m.get("isapc"), Some(&1), "{m:?}");
        assert!(m.get("pc").is_some_and(|n| *n >= 255), "{m:?}");
        let machines = machines_from_query(&replies);
        assert!(machines[0].is_default && machines[0].name.starts_with("pc-i440fx-"));
        assert_eq!(
            machines[1].canonical.as_deref(),
            Some(machines[0].name.as_str())
        );
    }

    #[test]
    fn node_info_parsing() {
        let ci = "processor\t: 0\ncpu MHz\t\t: 2399.998\nphysical id\t: 0\ncpu cores\t: 2\n\n\
                  processor\t: 1\ncpu MHz\t\t: 2399.998\nphysical id\t: 0\ncpu cores\t: 2\n";
        let n = node_info_from(ci, 4096);
        assert_eq!(
            (n.cpus, n.mhz, n.sockets, n.cores, n.threads, n.memory),
            (2, 2399, 1, 2, 1, 4096)
        );
        let xml = capabilities_xml(
            &HostInfo {
                emulator: "/q".into(),
                ..HostInfo::default()
            },
            &host_uuid(),
        );
        assert!(
            xml.contains("<arch name='x86_64'>") && xml.contains("<domain type='qemu'/>"),
            "{xml}"
        );
        assert!(rvirt_xml::tree::parse_root(&xml, "capabilities").is_ok());
    }
}
