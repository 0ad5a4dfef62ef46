//! `virsh memtune` and `virsh blkiotune`: memory limits and block I/O weights and
//! throttles, live on the domain's cgroup and in `<memtune>`/`<blkiotune>`, as libvirt.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use rvirt_plugin_api::protocol::facts::tune_param::{
    BLKIO, MEMORY, MEMORY_MIN_GUARANTEE, MEMORY_UNLIMITED as UNLIMITED,
};
use rvirt_plugin_api::protocol::facts::typed_param_flags::STRING_OKAY;
use rvirt_plugin_api::protocol::{
    RemoteNonnullDomain, RemoteTypedParam, RemoteTypedParamValue as V,
};
use rvirt_xml::domain::DomainDef;
use rvirt_xml::tree::Element;

use super::calls::live_group;
use super::{read, write, xml, Ctl, Group};
use crate::driver::{Dom, Driver};
use crate::error::{check_flags, QResult, QemuError};
use crate::stats::Params;
use crate::tuning::{impact, persistent_def, selected_def, AFFECT_CONFIG, AFFECT_LIVE};

const NO_MEMORY: &str = "cgroup memory controller is not mounted";
const NO_BLKIO: &str = "blkio cgroup isn't mounted";

/// The memory files of each limit: (v1, v2).
fn mem_file(field: &str) -> (&'static str, &'static str) {
    match field {
        "hard_limit" => ("memory.limit_in_bytes", "memory.max"),
        "soft_limit" => ("memory.soft_limit_in_bytes", "memory.high"),
        _ => ("memory.memsw.limit_in_bytes", "memory.swap.max"),
    }
}

/// A limit in KiB from a cgroup file: the kernel's "no limit" is libvirt's unlimited.
fn read_limit(top: &Path, field: &str, v2: bool) -> QResult<u64> {
    let (f1, f2) = mem_file(field);
    let path = top.join(if v2 { f2 } else { f1 });
    if !path.exists() && field == "swap_hard_limit" {
        return Ok(UNLIMITED);
    }
    let t = read(&path)?;
    let bytes: u64 = if t == "max" {
        u64::MAX
    } else {
        t.parse().unwrap_or(u64::MAX)
    };
    Ok(if bytes >= 0x7FFF_FFFF_FFFF_F000 {
        UNLIMITED
    } else {
        bytes / 1024
    })
}

fn write_limit(top: &Path, field: &str, v2: bool, kib: u64) -> QResult<()> {
    let (f1, f2) = mem_file(field);
    let value = match (kib >= UNLIMITED, v2) {
        (true, true) => "max".to_string(),
        (true, false) => "-1".to_string(),
        _ => (kib << 10).to_string(),
    };
    write(&top.join(if v2 { f2 } else { f1 }), &value)
}

/// A limit of `<memtune>` (unlimited when unset).
fn xml_limit(def: &DomainDef, field: &str) -> u64 {
    xml::get(def, "memtune", field)
        .and_then(|t| t.parse().ok())
        .unwrap_or(UNLIMITED)
}

fn set_xml_limit(def: &mut DomainDef, field: &str, kib: u64) {
    let v = (kib < UNLIMITED).then(|| kib.to_string());
    xml::set(def, "memtune", field, v, &[("unit", "KiB")]);
}

/// What the get calls share: flags checked, the domain found, its group when the live
/// values are asked for, and libvirt's count alone when `nparams` is 0; `fill` adds the
/// values (from the group when there is one, else from the definition).
fn get_params(
    drv: &Driver,
    r: &RemoteNonnullDomain,
    (nparams, flags): (i32, u32),
    (ctl, missing, count, function): (Ctl, &str, usize, &'static str),
    fill: impl FnOnce(&Dom, Option<&Group>, &mut Params) -> QResult<()>,
) -> QResult<(Vec<RemoteTypedParam>, i32)> {
    check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG | STRING_OKAY, function)?;
    drv.read(|s| {
        let d = s.find(r)?;
        let (live, _) = impact(d, flags)?;
        let group = if live {
            Some(live_group(d, ctl, missing)?)
        } else {
            None
        };
        if nparams == 0 {
            return Ok((Vec::new(), count as i32));
        }
        let mut p = Params::default();
        fill(d, group.as_ref(), &mut p)?;
        p.0.truncate(nparams.max(0) as usize);
        let n = p.0.len() as i32;
        Ok((p.0, n))
    })
}

/// DOMAIN_GET_MEMORY_PARAMETERS: (parameters, how many there are).
pub fn get_memory(
    drv: &Driver,
    r: &RemoteNonnullDomain,
    nparams: i32,
    flags: u32,
) -> QResult<(Vec<RemoteTypedParam>, i32)> {
    let ctl = (
        Ctl::Memory,
        NO_MEMORY,
        MEMORY.len(),
        "qemuDomainGetMemoryParameters",
    );
    get_params(drv, r, (nparams, flags), ctl, |d, group, p| {
        let live = group.map(|g| {
            let v2 = g.mounts.place(Ctl::Memory).is_some_and(|x| x.1);
            (g.dir(Ctl::Memory, None).unwrap_or_default(), v2)
        });
        for f in MEMORY {
            let v = match &live {
                Some((dir, v2)) => read_limit(dir, f, *v2)?,
                None => xml_limit(selected_def(d, false), f),
            };
            p.ullong(f, v);
        }
        Ok(())
    })
}

/// The limits asked for: (hard, soft, swap), each when given.
fn asked_limits(params: &[RemoteTypedParam]) -> QResult<[Option<u64>; 3]> {
    let mut out = [None; 3];
    for t in params {
        if t.field == MEMORY_MIN_GUARANTEE {
            return Err(QemuError::ArgUnsupported(format!(
                "parameter '{}' not supported",
                t.field
            ))
            .into());
        }
        let Some(i) = MEMORY.iter().position(|f| *f == t.field) else {
            return Err(
                QemuError::InvalidArg(format!("parameter '{}' not supported", t.field)).into(),
            );
        };
        let V::Ullong(v) = t.value else {
            return Err(
                QemuError::InvalidArg(format!("invalid type for parameter '{}'", t.field)).into(),
            );
        };
        out[i] = Some(v.min(UNLIMITED));
    }
    Ok(out)
}

const SWAP_BELOW_HARD: &str =
    "memory hard_limit tunable value must be lower than or equal to swap_hard_limit";

/// Writes the limits to the running domain's group: the swap limit first when it grows,
/// as the kernel keeps it at or above the hard limit.
fn set_live_limits(g: &Group, asked: &[Option<u64>; 3]) -> QResult<()> {
    let top = g.dir(Ctl::Memory, None).unwrap_or_default();
    let v2 = g.mounts.place(Ctl::Memory).is_some_and(|x| x.1);
    let hard = asked[0].map_or_else(|| read_limit(&top, "hard_limit", v2), Ok)?;
    let swap = asked[2].map_or_else(|| read_limit(&top, "swap_hard_limit", v2), Ok)?;
    if (asked[0].is_some() || asked[2].is_some()) && hard > swap {
        return Err(QemuError::InvalidArg(SWAP_BELOW_HARD.into()).into());
    }
    let swap_first =
        asked[2].is_some_and(|s| s >= read_limit(&top, "swap_hard_limit", v2).unwrap_or(0));
    if swap_first {
        write_limit(&top, "swap_hard_limit", v2, swap)?;
    }
    for (i, f) in MEMORY.iter().enumerate() {
        match asked[i] {
            Some(v) if !(i == 2 && swap_first) => write_limit(&top, f, v2, v)?,
            _ => {}
        }
    }
    Ok(())
}

/// DOMAIN_SET_MEMORY_PARAMETERS.
pub fn set_memory(
    drv: &Driver,
    r: &RemoteNonnullDomain,
    params: &[RemoteTypedParam],
    flags: u32,
) -> QResult<()> {
    check_flags(
        flags,
        AFFECT_LIVE | AFFECT_CONFIG,
        "qemuDomainSetMemoryParameters",
    )?;
    let asked = asked_limits(params)?;
    drv.write(|s, _| {
        let d = s.find_mut(r)?;
        let (live, config) = impact(d, flags)?;
        if live {
            let g = live_group(d, Ctl::Memory, NO_MEMORY)?;
            set_live_limits(&g, &asked)?;
            if let Some(run) = d.run.as_mut() {
                for (i, f) in MEMORY.iter().enumerate() {
                    if let Some(v) = asked[i] {
                        set_xml_limit(&mut run.live, f, v);
                    }
                }
            }
            drv.save_status(d);
        }
        if config {
            let def = persistent_def(d);
            let hard = asked[0].unwrap_or_else(|| xml_limit(def, "hard_limit"));
            let swap = asked[2].unwrap_or_else(|| xml_limit(def, "swap_hard_limit"));
            if (asked[0].is_some() || asked[2].is_some()) && hard > swap {
                return Err(QemuError::InvalidArg(SWAP_BELOW_HARD.into()).into());
            }
            for (i, f) in MEMORY.iter().enumerate() {
                if let Some(v) = asked[i] {
                    set_xml_limit(def, f, v);
                }
            }
            drv.save_config(def)?;
        }
        Ok(())
    })
}

/// The `<blkiotune><device>` element of each per-device field.
fn device_child(field: &str) -> &'static str {
    match field {
        "device_weight" => "weight",
        "device_read_iops_sec" => "read_iops_sec",
        "device_write_iops_sec" => "write_iops_sec",
        "device_read_bytes_sec" => "read_bytes_sec",
        _ => "write_bytes_sec",
    }
}

/// `path,value,path,value` of the devices with a `field` setting.
fn device_list(def: &DomainDef, field: &str) -> String {
    let Some(b) = xml::element(def, "blkiotune") else {
        return String::new();
    };
    let mut out = Vec::new();
    for dev in b.children_named("device") {
        if let (Some(p), Some(v)) = (dev.child_text("path"), dev.child_text(device_child(field))) {
            out.push(format!("{p},{v}"));
        }
    }
    out.join(",")
}

/// The weight file of a blkio group (BFQ's first), libvirt's error when neither is there.
fn weight_file(top: &Path, v2: bool) -> QResult<std::path::PathBuf> {
    let names: [&str; 2] = if v2 {
        ["io.bfq.weight", "io.weight"]
    } else {
        ["blkio.bfq.weight", "blkio.weight"]
    };
    names
        .iter()
        .map(|n| top.join(n))
        .find(|p| p.exists())
        .ok_or_else(|| {
            QemuError::Invalid("blkio device weight is valid only for bfq or cfq scheduler".into())
                .into()
        })
}

/// DOMAIN_GET_BLKIO_PARAMETERS: (parameters, how many there are).
pub fn get_blkio(
    drv: &Driver,
    r: &RemoteNonnullDomain,
    nparams: i32,
    flags: u32,
) -> QResult<(Vec<RemoteTypedParam>, i32)> {
    let ctl = (
        Ctl::Blkio,
        NO_BLKIO,
        BLKIO.len(),
        "qemuDomainGetBlkioParameters",
    );
    get_params(drv, r, (nparams, flags), ctl, |d, group, p| {
        let def = selected_def(d, group.is_some());
        let weight = match group {
            Some(g) => {
                let v2 = g.mounts.place(Ctl::Blkio).is_some_and(|x| x.1);
                let f = weight_file(&g.dir(Ctl::Blkio, None).unwrap_or_default(), v2)?;
                let t = read(&f)?;
                t.split_whitespace()
                    .last()
                    .and_then(|w| w.parse().ok())
                    .unwrap_or(0)
            }
            None => xml::get(def, "blkiotune", "weight")
                .and_then(|w| w.parse().ok())
                .unwrap_or(0),
        };
        p.uint(BLKIO[0], weight);
        for f in &BLKIO[1..] {
            p.string(*f, &device_list(def, f));
        }
        Ok(())
    })
}

/// `path,value,...` parsed.
fn parse_devices(field: &str, text: &str) -> QResult<Vec<(String, u64)>> {
    let parts: Vec<&str> = text.split(',').collect();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let bad = || -> crate::error::QResult<Vec<(String, u64)>> {
        Err(
            QemuError::InvalidArg(format!("unable to parse blkio device '{field}' '{text}'"))
                .into(),
        )
    };
    if !parts.len().is_multiple_of(2) {
        return bad();
    }
    let mut out = Vec::new();
    for pair in parts.chunks(2) {
        match pair[1].parse() {
            Ok(v) => out.push((pair[0].to_string(), v)),
            Err(_) => return bad(),
        }
    }
    Ok(out)
}

/// Sets (value 0: removes) `<device><path>`'s `child` in `<blkiotune>`.
fn set_device(def: &mut DomainDef, path: &str, child: &str, v: u64) {
    let mut b = xml::element(def, "blkiotune")
        .cloned()
        .unwrap_or_else(|| Element {
            name: "blkiotune".into(),
            ..Element::default()
        });
    let at = b
        .children
        .iter()
        .position(|c| c.name == "device" && c.child_text("path").as_deref() == Some(path));
    let i = at.unwrap_or_else(|| {
        b.children.push(Element {
            name: "device".into(),
            children: vec![Element {
                name: "path".into(),
                text: path.into(),
                ..Element::default()
            }],
            ..Element::default()
        });
        b.children.len() - 1
    });
    let dev = &mut b.children[i];
    dev.children.retain(|c| c.name != child);
    if v != 0 {
        dev.children.push(Element {
            name: child.into(),
            text: v.to_string(),
            ..Element::default()
        });
    }
    if dev.children.len() <= 1 {
        b.children.remove(i);
    }
    xml::put(def, b);
}

/// Writes one device throttle or weight to the running domain's blkio group.
fn set_live_device(g: &Group, field: &str, path: &str, v: u64) -> QResult<()> {
    let top = g.dir(Ctl::Blkio, None).unwrap_or_default();
    let v2 = g.mounts.place(Ctl::Blkio).is_some_and(|x| x.1);
    let meta = std::fs::metadata(path)
        .map_err(|e| QemuError::io(format!("Path '{path}' is not accessible"), &e))?;
    if !std::os::unix::fs::FileTypeExt::is_block_device(&meta.file_type()) {
        return Err(QemuError::InvalidArg(format!("Path '{path}' must be a block device")).into());
    }
    let rdev = meta.rdev();
    let (major, minor) = (nix::sys::stat::major(rdev), nix::sys::stat::minor(rdev));
    if field == "device_weight" {
        let f = weight_file(&top, v2)?;
        let dev = f.with_file_name(format!(
            "{}_device",
            f.file_name().unwrap_or_default().to_string_lossy()
        ));
        let file = if v2 { f } else { dev };
        return write(&file, &format!("{major}:{minor} {v}"));
    }
    if v2 {
        let key = match field {
            "device_read_iops_sec" => "riops",
            "device_write_iops_sec" => "wiops",
            "device_read_bytes_sec" => "rbps",
            _ => "wbps",
        };
        let v = if v == 0 {
            "max".to_string()
        } else {
            v.to_string()
        };
        return write(&top.join("io.max"), &format!("{major}:{minor} {key}={v}"));
    }
    let file = match field {
        "device_read_iops_sec" => "blkio.throttle.read_iops_device",
        "device_write_iops_sec" => "blkio.throttle.write_iops_device",
        "device_read_bytes_sec" => "blkio.throttle.read_bps_device",
        _ => "blkio.throttle.write_bps_device",
    };
    write(&top.join(file), &format!("{major}:{minor} {v}"))
}

/// One blkio parameter: (field, weight or devices).
enum Blkio {
    Weight(u32),
    Devices(&'static str, Vec<(String, u64)>),
}

fn asked_blkio(params: &[RemoteTypedParam]) -> QResult<Vec<Blkio>> {
    let mut out = Vec::new();
    for t in params {
        let Some(f) = BLKIO.iter().find(|f| **f == t.field) else {
            return Err(
                QemuError::InvalidArg(format!("parameter '{}' not supported", t.field)).into(),
            );
        };
        match (&t.value, *f) {
            (V::Uint(w), "weight") => out.push(Blkio::Weight(*w)),
            (V::String(s), f) if f != "weight" => out.push(Blkio::Devices(f, parse_devices(f, s)?)),
            _ => {
                return Err(QemuError::InvalidArg(format!(
                    "invalid type for parameter '{}'",
                    t.field
                ))
                .into())
            }
        }
    }
    Ok(out)
}

/// DOMAIN_SET_BLKIO_PARAMETERS.
pub fn set_blkio(
    drv: &Driver,
    r: &RemoteNonnullDomain,
    params: &[RemoteTypedParam],
    flags: u32,
) -> QResult<()> {
    check_flags(
        flags,
        AFFECT_LIVE | AFFECT_CONFIG,
        "qemuDomainSetBlkioParameters",
    )?;
    let asked = asked_blkio(params)?;
    drv.write(|s, _| {
        let d = s.find_mut(r)?;
        let (live, config) = impact(d, flags)?;
        if live {
            let g = live_group(d, Ctl::Blkio, NO_BLKIO)?;
            let v2 = g.mounts.place(Ctl::Blkio).is_some_and(|x| x.1);
            let top = g.dir(Ctl::Blkio, None).unwrap_or_default();
            for a in &asked {
                let run = d.run.as_mut().ok_or(QemuError::NotRunning)?;
                match a {
                    Blkio::Weight(w) => {
                        write(&weight_file(&top, v2)?, &w.to_string())?;
                        xml::set(
                            &mut run.live,
                            "blkiotune",
                            "weight",
                            Some(w.to_string()),
                            &[],
                        );
                    }
                    Blkio::Devices(f, devs) => {
                        for (path, v) in devs {
                            set_live_device(&g, f, path, *v)?;
                            set_device(&mut run.live, path, device_child(f), *v);
                        }
                    }
                }
            }
            drv.save_status(d);
        }
        if config {
            let def = persistent_def(d);
            for a in &asked {
                match a {
                    Blkio::Weight(w) => {
                        xml::set(def, "blkiotune", "weight", Some(w.to_string()), &[])
                    }
                    Blkio::Devices(f, devs) => {
                        for (path, v) in devs {
                            set_device(def, path, device_child(f), *v);
                        }
                    }
                }
            }
            drv.save_config(def)?;
        }
        Ok(())
    })
}

/// Applies the `<memtune>` limits and `<blkiotune>` settings of a starting domain.
pub fn apply_def(g: &Group, def: &DomainDef) -> QResult<()> {
    if g.dir(Ctl::Memory, None).is_some() {
        let asked = MEMORY.map(|f| Some(xml_limit(def, f)).filter(|v| *v < UNLIMITED));
        if asked.iter().any(Option::is_some) {
            set_live_limits(g, &asked)?;
        }
    }
    let Some(b) = xml::element(def, "blkiotune") else {
        return Ok(());
    };
    let top = g
        .dir(Ctl::Blkio, None)
        .ok_or_else(|| QemuError::Invalid(NO_BLKIO.into()))?;
    let v2 = g.mounts.place(Ctl::Blkio).is_some_and(|x| x.1);
    if let Some(w) = b.child_text("weight") {
        write(&weight_file(&top, v2)?, &w)?;
    }
    for dev in b.children_named("device") {
        let Some(path) = dev.child_text("path") else {
            continue;
        };
        for f in &BLKIO[1..] {
            if let Some(v) = dev.child_text(device_child(f)).and_then(|t| t.parse().ok()) {
                set_live_device(g, f, &path, v)?;
            }
        }
    }
    Ok(())
}
