//! `virsh schedinfo`: the scheduler type and parameters of a domain, live from its
//! cgroup ([`super::Group`]) or from `<cputune>` of its definition, as libvirt 9.0.

use std::path::{Path, PathBuf};

use rvirt_plugin_api::protocol::facts::tune_param::SCHEDULER as FIELDS;
use rvirt_plugin_api::protocol::facts::typed_param_flags::STRING_OKAY;
use rvirt_plugin_api::protocol::{
    RemoteNonnullDomain, RemoteTypedParam, RemoteTypedParamValue as V,
};

use super::{read, read_num, write, xml, Ctl, Group};
use crate::driver::{Dom, Driver};
use crate::error::{check_flags, QResult, QemuError};
use crate::stats::Params;
use crate::tuning::{impact, persistent_def, AFFECT_CONFIG, AFFECT_LIVE};

const MIN_PERIOD: u64 = 1000;
const MAX_PERIOD: u64 = 1_000_000;
const MIN_QUOTA: i64 = 1000;
const MAX_QUOTA: i64 = 17_592_186_044_415;

/// The `<cputune>` element of each field.
fn xml_name(field: &str) -> &'static str {
    match field {
        "cpu_shares" => "shares",
        "vcpu_period" => "period",
        "vcpu_quota" => "quota",
        "emulator_period" => "emulator_period",
        "emulator_quota" => "emulator_quota",
        "global_period" => "global_period",
        "global_quota" => "global_quota",
        "iothread_period" => "iothread_period",
        _ => "iothread_quota",
    }
}

/// The running domain's group, with a cpu controller: libvirt's error when there is none.
pub(crate) fn live_group(d: &Dom, c: Ctl, missing: &str) -> QResult<Group> {
    let run = d.run.as_ref().ok_or(QemuError::NotRunning)?;
    let g = Group::of(run.id, &d.def.name);
    if g.dir(c, None).is_none() {
        return Err(QemuError::Invalid(missing.into()).into());
    }
    Ok(g)
}

const NO_CPU: &str = "cgroup CPU controller is not mounted";

/// DOMAIN_GET_SCHEDULER_TYPE: "posix" and how many parameters there are.
pub fn sched_type(drv: &Driver, r: &RemoteNonnullDomain) -> QResult<(String, i32)> {
    drv.read(|s| {
        let d = s.find(r)?;
        if d.run.is_none() {
            return Ok(("posix".into(), FIELDS.len() as i32));
        }
        let g = live_group(d, Ctl::Cpu, NO_CPU)?;
        let bw = bandwidth_file(&g.dir(Ctl::Cpu, None).unwrap_or_default(), &g).is_some();
        Ok(("posix".into(), if bw { FIELDS.len() as i32 } else { 1 }))
    })
}

/// The file holding a group's CFS bandwidth (`cpu.cfs_*` on v1, `cpu.max` on v2).
fn bandwidth_file(dir: &Path, g: &Group) -> Option<bool> {
    let v2 = g.mounts.place(Ctl::Cpu)?.1;
    let f = if v2 { "cpu.max" } else { "cpu.cfs_period_us" };
    dir.join(f).exists().then_some(v2)
}

/// (period, quota) of a group's CFS bandwidth.
fn bandwidth(dir: &Path, v2: bool) -> QResult<(u64, i64)> {
    if v2 {
        let t = read(&dir.join("cpu.max"))?;
        let mut it = t.split_whitespace();
        let quota = it.next().unwrap_or("max");
        let period = it.next().and_then(|p| p.parse().ok()).unwrap_or(100_000);
        return Ok((period, quota.parse().unwrap_or(-1)));
    }
    Ok((
        read_num(&dir.join("cpu.cfs_period_us"))?,
        read_num(&dir.join("cpu.cfs_quota_us"))?,
    ))
}

fn set_bandwidth(dir: &Path, v2: bool, period: Option<u64>, quota: Option<i64>) -> QResult<()> {
    if v2 {
        let (p0, q0) = bandwidth(dir, true)?;
        let (p, q) = (period.unwrap_or(p0), quota.unwrap_or(q0));
        let q = if q < 0 {
            "max".to_string()
        } else {
            q.to_string()
        };
        return write(&dir.join("cpu.max"), &format!("{q} {p}"));
    }
    if let Some(p) = period {
        write(&dir.join("cpu.cfs_period_us"), &p.to_string())?;
    }
    if let Some(q) = quota {
        write(&dir.join("cpu.cfs_quota_us"), &q.to_string())?;
    }
    Ok(())
}

/// The groups a field's bandwidth lives in: every vCPU's, the emulator's, the domain's,
/// every iothread's (the domain's when there is none, as libvirt reads it).
fn targets(g: &Group, field: &str) -> Vec<PathBuf> {
    let top = g.dir(Ctl::Cpu, None).unwrap_or_default();
    match field.split('_').next().unwrap_or("") {
        "vcpu" => g.subgroups(Ctl::Cpu, "vcpu"),
        "emulator" => g.dir(Ctl::Cpu, Some("emulator")).into_iter().collect(),
        "iothread" => {
            let v = g.subgroups(Ctl::Cpu, "iothread");
            if v.is_empty() {
                vec![top]
            } else {
                v
            }
        }
        _ => vec![top],
    }
}

fn shares_file(v2: bool) -> &'static str {
    if v2 {
        "cpu.weight"
    } else {
        "cpu.shares"
    }
}

/// The live parameters, from the cgroup files.
fn live_params(g: &Group) -> QResult<Params> {
    let top = g.dir(Ctl::Cpu, None).unwrap_or_default();
    let v2 = g.mounts.place(Ctl::Cpu).is_some_and(|p| p.1);
    let mut p = Params::default();
    p.ullong(FIELDS[0], read_num(&top.join(shares_file(v2)))?);
    for pair in FIELDS[1..].chunks(2) {
        let (period, quota) = match targets(g, pair[0]).first() {
            Some(dir) => bandwidth(dir, v2)?,
            None => (0, 0),
        };
        p.ullong(pair[0], period);
        p.llong(pair[1], quota);
    }
    Ok(p)
}

/// The persistent parameters, from `<cputune>` (0 where unset).
fn config_params(def: &rvirt_xml::domain::DomainDef) -> Params {
    let mut p = Params::default();
    for f in FIELDS {
        let t = xml::get(def, "cputune", xml_name(f)).unwrap_or_default();
        if f.ends_with("quota") {
            p.llong(f, t.parse().unwrap_or(0));
        } else {
            p.ullong(f, t.parse().unwrap_or(0));
        }
    }
    p
}

/// DOMAIN_GET_SCHEDULER_PARAMETERS(_FLAGS): up to `nparams` parameters.
pub fn get(
    drv: &Driver,
    r: &RemoteNonnullDomain,
    nparams: i32,
    flags: u32,
) -> QResult<Vec<RemoteTypedParam>> {
    check_flags(
        flags,
        AFFECT_LIVE | AFFECT_CONFIG | STRING_OKAY,
        "qemuDomainGetSchedulerParametersFlags",
    )?;
    let mut p = drv.read(|s| {
        let d = s.find(r)?;
        let (live, _) = impact(d, flags & !STRING_OKAY)?;
        if live {
            live_params(&live_group(d, Ctl::Cpu, NO_CPU)?)
        } else {
            Ok(config_params(d.next_def.as_ref().unwrap_or(&d.def)))
        }
    })?;
    p.0.truncate(nparams.max(0) as usize);
    Ok(p.0)
}

/// A parameter's value as a number, with libvirt's range checks.
fn checked(t: &RemoteTypedParam) -> QResult<i64> {
    let v = match t.value {
        V::Ullong(v) => v as i64,
        V::Llong(v) => v,
        _ => {
            return Err(
                QemuError::InvalidArg(format!("invalid type for parameter '{}'", t.field)).into(),
            )
        }
    };
    let range = |lo: i64, hi: i64| -> QResult<i64> {
        if (v > 0 && v < lo) || v > hi || (v < 0 && t.field.ends_with("period")) {
            return Err(QemuError::InvalidArg(format!(
                "value of '{}' is out of range [{lo}, {hi}]",
                t.field
            ))
            .into());
        }
        Ok(v)
    };
    if t.field.ends_with("period") {
        range(MIN_PERIOD as i64, MAX_PERIOD as i64)
    } else if t.field.ends_with("quota") {
        range(MIN_QUOTA, MAX_QUOTA)
    } else {
        Ok(v)
    }
}

/// Applies one parameter to the running domain's cgroup; the value the live XML gets.
fn apply_live(g: &Group, field: &str, v: i64) -> QResult<Option<String>> {
    let v2 = g.mounts.place(Ctl::Cpu).is_some_and(|p| p.1);
    if field == "cpu_shares" {
        let (lo, hi) = if v2 { (1, 10_000) } else { (2, 262_144) };
        if !(lo..=hi).contains(&(v as u64)) {
            return Err(QemuError::InvalidArg(format!(
                "shares '{}' must be in range [{lo}, {hi}]",
                v as u64
            ))
            .into());
        }
        let top = g.dir(Ctl::Cpu, None).unwrap_or_default();
        write(&top.join(shares_file(v2)), &v.to_string())?;
        let back: u64 = read_num(&top.join(shares_file(v2)))?;
        return Ok(Some(back.to_string()));
    }
    if v == 0 {
        return Ok(None);
    }
    for dir in targets(g, field) {
        if field.ends_with("period") {
            set_bandwidth(&dir, v2, Some(v as u64), None)?;
        } else {
            set_bandwidth(&dir, v2, None, Some(v))?;
        }
    }
    Ok(Some(v.to_string()))
}

/// DOMAIN_SET_SCHEDULER_PARAMETERS(_FLAGS): each parameter in turn, live on the cgroup
/// and the live `<cputune>`, and/or in the persistent one.
pub fn set(
    drv: &Driver,
    r: &RemoteNonnullDomain,
    params: &[RemoteTypedParam],
    flags: u32,
) -> QResult<()> {
    check_flags(
        flags,
        AFFECT_LIVE | AFFECT_CONFIG,
        "qemuDomainSetSchedulerParametersFlags",
    )?;
    for t in params {
        if !FIELDS.contains(&t.field.as_str()) {
            return Err(
                QemuError::InvalidArg(format!("parameter '{}' not supported", t.field)).into(),
            );
        }
    }
    drv.write(|s, _| {
        let d = s.find_mut(r)?;
        let (live, config) = impact(d, flags)?;
        let g = if live {
            Some(live_group(d, Ctl::Cpu, NO_CPU)?)
        } else {
            None
        };
        for t in params {
            let v = checked(t)?;
            if let (Some(g), Some(run)) = (&g, d.run.as_mut()) {
                if let Some(text) = apply_live(g, &t.field, v)? {
                    xml::set(
                        &mut run.live,
                        "cputune",
                        xml_name(&t.field),
                        Some(text),
                        &[],
                    );
                }
            }
            if config && (v != 0 || t.field == "cpu_shares") {
                let def = persistent_def(d);
                xml::set(def, "cputune", xml_name(&t.field), Some(v.to_string()), &[]);
            }
        }
        if live {
            drv.save_status(d);
        }
        if config {
            let def = persistent_def(d);
            drv.save_config(def)?;
        }
        Ok(())
    })
}

/// Applies the `<cputune>` shares, periods and quotas of a starting domain's definition.
pub fn apply_def(g: &Group, def: &rvirt_xml::domain::DomainDef) -> QResult<()> {
    if g.dir(Ctl::Cpu, None).is_none() {
        return Ok(());
    }
    for f in FIELDS {
        let v = xml::get(def, "cputune", xml_name(f)).and_then(|t| t.parse::<i64>().ok());
        match v {
            Some(v) if v != 0 => {
                apply_live(g, f, v)?;
            }
            _ => {}
        }
    }
    Ok(())
}
