//! `setvcpus --live` to a higher count: the missing vCPUs are plugged with `device_add`
//! of the CPU QEMU lists as hotpluggable (`query-hotpluggable-cpus`), lowest topology
//! first, as libvirt does; the live XML then describes each vCPU in `<vcpus>` (the ones
//! the guest booted with not hotpluggable, the others in the order they were enabled).

use rvirt_plugin_api::protocol::RemoteNonnullDomain;
use rvirt_xml::domain::DomainDef;
use rvirt_xml::tree::Element;
use serde_json::{json, Value};

use super::HotplugError;
use crate::driver::Driver;
use crate::error::{QResult, QemuError};
use crate::lifecycle::monitor_error;

fn vcpu_el(id: u32, enabled: bool, hotpluggable: bool, order: Option<u32>) -> Element {
    let yn = |b: bool| if b { "yes" } else { "no" }.to_string();
    let mut attrs = vec![
        ("id".into(), id.to_string()),
        ("enabled".into(), yn(enabled)),
        ("hotpluggable".into(), yn(hotpluggable)),
    ];
    if let Some(o) = order {
        attrs.push(("order".into(), o.to_string()));
    }
    Element {
        name: "vcpu".into(),
        attrs,
        ..Element::default()
    }
}

/// The live `<vcpus>` element, made from the boot-time count when there is none yet.
fn vcpus_of(live: &mut DomainDef) -> &mut Element {
    let (max, current) = (live.vcpus, live.current_vcpus);
    let simple = &mut live.extras_mut().simple;
    let i = match simple.iter().position(|e| e.name == "vcpus") {
        Some(i) => i,
        None => {
            let children = (0..max)
                .map(|id| {
                    vcpu_el(
                        id,
                        id < current,
                        id >= current,
                        (id < current).then_some(id + 1),
                    )
                })
                .collect();
            simple.push(Element {
                name: "vcpus".into(),
                children,
                ..Element::default()
            });
            simple.len() - 1
        }
    };
    &mut simple[i]
}

/// Marks vCPU `id` enabled, last in order.
fn enable(live: &mut DomainDef, id: u32) {
    let vs = vcpus_of(live);
    let order = vs
        .children
        .iter()
        .filter_map(|v| v.attr("order")?.parse::<u32>().ok())
        .max()
        .unwrap_or(0)
        + 1;
    let idt = id.to_string();
    for v in &mut vs.children {
        if v.attr("id") == Some(idt.as_str()) {
            let hot = v.attr("hotpluggable") != Some("no");
            *v = vcpu_el(id, true, hot, Some(order));
        }
    }
    live.current_vcpus += 1;
}

/// The hotpluggable CPUs QEMU has not plugged, lowest topology first.
fn unplugged(qmp: &crate::qmp::Qmp) -> QResult<Vec<(String, Value)>> {
    let list = qmp
        .execute("query-hotpluggable-cpus", None)
        .map_err(monitor_error)?;
    let key = |p: &Value| {
        ["socket-id", "die-id", "core-id", "thread-id"].map(|k| p.get(k).and_then(Value::as_u64))
    };
    let mut free: Vec<(String, Value)> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c.get("qom-path").is_none())
        .filter_map(|c| {
            Some((
                c.get("type")?.as_str()?.to_string(),
                c.get("props")?.clone(),
            ))
        })
        .collect();
    free.sort_by_key(|(_, p)| key(p));
    Ok(free)
}

/// `virDomainSetVcpusFlags` with `AFFECT_LIVE`: plugs vCPUs up to `n`.
pub fn set_live(drv: &Driver, r: &RemoteNonnullDomain, n: u32) -> QResult<()> {
    let (current, max, qmp, generation) = drv.read(|s| {
        let run = s.find(r)?.run.as_ref().ok_or(QemuError::NotRunning)?;
        Ok((
            run.live.current_vcpus,
            run.live.vcpus,
            run.qmp.clone(),
            run.generation,
        ))
    })?;
    if n > max {
        return Err(HotplugError::InvalidArg(format!(
            "requested vcpus is greater than max allowable vcpus for the live domain: {n} > {max}"
        ))
        .into());
    }
    if n < current {
        return Err(HotplugError::Unsupported(
            "unplugging vCPUs of a running QEMU domain is not implemented".into(),
        )
        .into());
    }
    let free = unplugged(&qmp)?;
    for (id, (driver, props)) in (current..n).zip(free) {
        let mut args = json!({ "driver": driver, "id": format!("vcpu{id}") });
        if let (Some(a), Some(p)) = (args.as_object_mut(), props.as_object()) {
            a.extend(p.clone());
        }
        qmp.execute("device_add", Some(args))
            .map_err(monitor_error)?;
        drv.write(|s, _| {
            let d = s.find_mut(r)?;
            if let Some(run) = d.run.as_mut().filter(|x| x.generation == generation) {
                enable(&mut run.live, id);
            }
            drv.save_status(d);
            Ok(())
        })?;
    }
    Ok(())
}
