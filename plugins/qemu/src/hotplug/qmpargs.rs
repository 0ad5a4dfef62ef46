//! A hotplugged device's monitor commands, made from the command-line arguments the start
//! path writes for it (so a hotplugged device is the device a start would have given):
//! `-blockdev JSON` → `blockdev-add`, `-netdev T,k=v` → `netdev_add`, `-object T,k=v` →
//! `object-add`, `-device D,k=v` → `device_add`.

use std::collections::BTreeSet;

use rvirt_xml::domain::{Device, DomainDef};
use serde_json::{Map, Value};

use super::HotplugError;
use crate::argv::{is_q35, Cmd};
use crate::devices::Ctx;

/// One monitor command.
pub type Command = (&'static str, Value);

/// Splits QEMU's `a,k=v,k2=v2` (commas doubled inside values) into its parts.
fn split_opts(s: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = s.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch == ',' {
            if chars.peek() == Some(&',') {
                chars.next();
                parts.last_mut().expect("never empty").push(',');
            } else {
                parts.push(String::new());
            }
        } else {
            parts.last_mut().expect("never empty").push(ch);
        }
    }
    parts
}

/// `T,k=v,...` as a JSON object with `T` under `first` and every value a string (what
/// QEMU's option parser makes of them too).
pub fn opts_object(first: &str, s: &str) -> Value {
    let mut m = Map::new();
    for (i, part) in split_opts(s).into_iter().enumerate() {
        match part.split_once('=') {
            Some((k, v)) => {
                m.insert(k.to_string(), Value::String(v.to_string()));
            }
            None if i == 0 => {
                m.insert(first.to_string(), Value::String(part));
            }
            None => {
                m.insert(part, Value::String("on".into()));
            }
        }
    }
    Value::Object(m)
}

/// The commands for the arguments `args` (pairs of option and value).
fn commands(args: &[String]) -> Result<Vec<Command>, HotplugError> {
    let mut out = Vec::new();
    for pair in args.chunks(2) {
        let [opt, value] = pair else {
            return Err(HotplugError::Internal("odd device arguments".into()));
        };
        out.push(match opt.as_str() {
            "-blockdev" => (
                "blockdev-add",
                serde_json::from_str(value)
                    .map_err(|e| HotplugError::Internal(format!("blockdev arguments: {e}")))?,
            ),
            "-netdev" => ("netdev_add", opts_object("type", value)),
            "-object" => ("object-add", opts_object("qom-type", value)),
            "-device" => ("device_add", opts_object("driver", value)),
            other => {
                return Err(HotplugError::Unsupported(format!(
                    "hotplug of a device that needs '{other}'"
                )))
            }
        });
    }
    Ok(out)
}

/// The number at the end of an alias (`net2` → 2).
fn alias_number(alias: &str) -> usize {
    let digits = alias.trim_start_matches(|c: char| !c.is_ascii_digit());
    digits.parse().unwrap_or(0)
}

/// The monitor commands that add `dev` (alias `alias`, already placed in `def`), its disk
/// nodes numbered `node`.
pub fn for_device(
    def: &DomainDef,
    dev: &Device,
    alias: &str,
    node: usize,
) -> Result<Vec<Command>, HotplugError> {
    let controllers: BTreeSet<(String, u32)> = def
        .devices
        .iter()
        .filter_map(|d| match d {
            Device::Controller(k) => Some((k.controller_type.clone(), k.index)),
            _ => None,
        })
        .collect();
    let mut x = Ctx {
        def,
        q35: is_q35(def),
        controllers,
    };
    let mut c = Cmd::default();
    let argv = |e: crate::argv::ArgvError| HotplugError::Config(e.to_string());
    match dev {
        Device::Disk(k) => crate::disks::disk(&mut c, &mut x, k, node).map_err(argv)?,
        Device::Interface(i) => {
            crate::devices::interface(&mut c, &x, i, alias_number(alias)).map_err(argv)?
        }
        Device::Input(i) => {
            crate::devices::input(&mut c, &mut x, i, alias_number(alias)).map_err(argv)?
        }
        Device::Rng(r) => {
            crate::devices::rng(&mut c, &x, r).map_err(argv)?;
            for a in &mut c.args {
                *a = a
                    .replace("objrng0", &format!("obj{alias}"))
                    .replace(",id=rng0", &format!(",id={alias}"));
            }
        }
        Device::Controller(k) => {
            x.controllers.remove(&(k.controller_type.clone(), k.index));
            crate::controllers::controller(&mut c, &mut x, k).map_err(argv)?
        }
        _ => {
            return Err(HotplugError::Unsupported(
                "hotplug of this device is not supported".into(),
            ))
        }
    }
    commands(&c.args)
}

/// The `blockdev-add` commands of a disk's medium (storage and format nodes), numbered
/// `node`; none for an empty drive.
pub fn medium(
    def: &DomainDef,
    k: &rvirt_xml::domain::Disk,
    node: usize,
) -> Result<Vec<Command>, HotplugError> {
    let dev = Device::Disk(k.clone());
    let all = for_device(def, &dev, "", node)?;
    Ok(all
        .into_iter()
        .filter(|(c, _)| *c == "blockdev-add")
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_become_objects() {
        let v = opts_object(
            "driver",
            "usb-storage,bus=usb.0,port=1,id=usb-disk1,removable=off",
        );
        assert_eq!(
            v,
            serde_json::json!({"driver": "usb-storage", "bus": "usb.0", "port": "1",
                "id": "usb-disk1", "removable": "off"})
        );
        let v = opts_object("qom-type", "rng-random,id=objrng1,filename=/a,,b");
        assert_eq!(v["filename"], "/a,b");
    }

    #[test]
    fn a_user_interface_is_netdev_and_device() {
        let def = DomainDef::parse(
            "<domain type='qemu'><name>t</name><memory>1024</memory>\
             <os><type arch='x86_64' machine='pc'>hvm</type></os></domain>",
        )
        .unwrap();
        let dev = Device::from_xml(
            "<interface type='user'><mac address='52:54:00:00:00:09'/><model type='virtio'/>\
             <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/></interface>",
            true,
        )
        .unwrap();
        let cmds = for_device(&def, &dev, "net2", 0).unwrap();
        assert_eq!(
            cmds[0],
            (
                "netdev_add",
                serde_json::json!({"type": "user", "id": "hostnet2"})
            )
        );
        assert_eq!(cmds[1].0, "device_add");
        assert_eq!(cmds[1].1["id"], "net2");
        assert_eq!(cmds[1].1["addr"], "0x5");
    }
}
