//! Devices described declaratively in the XML model (`Device::Generic`) → QEMU arguments:
//! USB hubs and redirected USB devices, the ISA panic device, the Intel IOMMU, 9p
//! filesystems, ivshmem shared memory, with libvirt's ids. Sound cards are in
//! [`crate::sound`].

use rvirt_xml::domain::GenericDevice;

use crate::argv::{esc, unsupported, ArgvResult, Cmd};
use crate::controllers::usb_place;
use crate::devices::{pci_addr, Ctx};

/// Per-kind counters for device ids (`hub0`, `redir0`, `fs0`, `shmem0`).
#[derive(Default)]
pub(crate) struct Counts {
    hub: usize,
    redir: usize,
    fs: usize,
    shmem: usize,
}

/// The arguments of one generic device; `Ok(false)` when it is none of these kinds.
pub(crate) fn build(c: &mut Cmd, x: &Ctx, g: &GenericDevice, n: &mut Counts) -> ArgvResult<bool> {
    match g.element.name.as_str() {
        "hub" => {
            let id = format!("hub{}", n.hub);
            n.hub += 1;
            c.opt("-device", format!("usb-hub,id={id}{}", usb_place(&g.info)));
        }
        "redirdev" => {
            let id = format!("redir{}", n.redir);
            n.redir += 1;
            redirdev(c, g, &id)?;
        }
        "panic" => match g.attr("model") {
            None | Some("isa") => c.opt("-device", "pvpanic"),
            Some(m) => {
                return unsupported(format!(
                    "domain/devices/panic/@model '{m}' is not supported"
                ))
            }
        },
        "iommu" => match g.attr("model") {
            Some("intel") => c.opt("-device", "intel-iommu,id=iommu0"),
            m => {
                return unsupported(format!(
                    "domain/devices/iommu/@model '{}' is not supported",
                    m.unwrap_or_default()
                ))
            }
        },
        "filesystem" => {
            let id = format!("fs{}", n.fs);
            n.fs += 1;
            filesystem(c, x, g, &id)?;
        }
        "shmem" => {
            let id = format!("shmem{}", n.shmem);
            n.shmem += 1;
            shmem(c, x, g, &id)?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn redirdev(c: &mut Cmd, g: &GenericDevice, id: &str) -> ArgvResult<()> {
    let p = "domain/devices/redirdev";
    let src = g.element.child("source");
    let attr = |k: &str| src.and_then(|s| s.attr(k));
    let chardev = match g.attr("type") {
        Some("tcp") => {
            let (Some(host), Some(port)) = (attr("host"), attr("service")) else {
                return unsupported(format!("{p}/source needs host and service"));
            };
            let server = if attr("mode") == Some("bind") {
                ",server=on,wait=off"
            } else {
                ""
            };
            format!(
                "socket,id=char{id},host={},port={}{server}",
                esc(host),
                esc(port)
            )
        }
        Some("unix") => match attr("path") {
            Some(path) => format!("socket,id=char{id},path={}", esc(path)),
            None => return unsupported(format!("{p}/source/@path is required")),
        },
        t => {
            return unsupported(format!(
                "{p}/@type '{}' is not supported",
                t.unwrap_or_default()
            ))
        }
    };
    c.opt("-chardev", chardev);
    c.opt(
        "-device",
        format!("usb-redir,chardev=char{id},id={id}{}", usb_place(&g.info)),
    );
    Ok(())
}

fn filesystem(c: &mut Cmd, x: &Ctx, g: &GenericDevice, id: &str) -> ArgvResult<()> {
    let p = "domain/devices/filesystem";
    let driver = g.element.child("driver").and_then(|d| d.attr("type"));
    if !matches!(g.attr("type"), None | Some("mount")) || !matches!(driver, None | Some("path")) {
        return unsupported(format!(
            "{p}: only 9p filesystems of type 'mount' are supported"
        ));
    }
    let source = g.element.child("source").and_then(|s| s.attr("dir"));
    let target = g.element.child("target").and_then(|t| t.attr("dir"));
    let (Some(source), Some(target)) = (source, target) else {
        return unsupported(format!("{p}: source and target dir are required"));
    };
    let model = match g.attr("accessmode") {
        None | Some("passthrough") => "passthrough",
        Some("mapped") => "mapped-xattr",
        Some("squash") => "none",
        Some(m) => return unsupported(format!("{p}/@accessmode '{m}' is not supported")),
    };
    let ro = if g.element.child("readonly").is_some() {
        ",readonly=on"
    } else {
        ""
    };
    c.opt(
        "-fsdev",
        format!(
            "local,security_model={model},id=fsdev-{id},path={}{ro}",
            esc(source)
        ),
    );
    c.opt(
        "-device",
        format!(
            "virtio-9p-pci,id={id},fsdev=fsdev-{id},mount_tag={}{}",
            esc(target),
            pci_addr(x, &g.info, p)?
        ),
    );
    Ok(())
}

fn shmem(c: &mut Cmd, x: &Ctx, g: &GenericDevice, id: &str) -> ArgvResult<()> {
    let p = "domain/devices/shmem";
    let model = g.element.child("model").and_then(|m| m.attr("type"));
    if !matches!(model, None | Some("ivshmem-plain")) || g.element.child("server").is_some() {
        return unsupported(format!("{p}: only ivshmem-plain is supported"));
    }
    let name = g.attr("name").unwrap_or_default();
    let kib = match g.element.child("size") {
        Some(s) => rvirt_xml::units::to_kib("size", &s.text, s.attr("unit"))
            .map_err(|e| crate::argv::ArgvError::Unsupported(e.to_string()))?,
        None => 4096,
    };
    c.opt(
        "-object",
        format!(
            "memory-backend-file,id=shmmem-{id},mem-path=/dev/shm/{},size={},share=on",
            esc(name),
            kib * 1024
        ),
    );
    c.opt(
        "-device",
        format!(
            "ivshmem-plain,id={id},memdev=shmmem-{id}{}",
            pci_addr(x, &g.info, p)?
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use rvirt_xml::domain::DomainDef;

    use crate::argv::{build, Runtime};

    fn args(devices: &str) -> String {
        let xml = format!(
            "<domain type='qemu'><name>d</name><memory>65536</memory>\
             <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>{devices}</devices></domain>"
        );
        let rt = Runtime {
            monitor: "/r/m".into(),
            pidfile: "/r/p".into(),
            run_dir: "/r".into(),
            vnc_port: None,
            spice_port: None,
        };
        build(&DomainDef::parse(&xml).unwrap(), &rt)
            .map(|a| a.join(" "))
            .unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn hub_redirdev_panic_fs_shmem() {
        let a = args(
            "<controller type='usb' model='piix3-uhci'/><hub type='usb'><address type='usb' bus='0' port='1'/></hub>\
             <redirdev bus='usb' type='tcp'><source mode='connect' host='h' service='4000'/></redirdev>\
             <panic model='isa'/><filesystem type='mount' accessmode='passthrough'>\
             <source dir='/srv/s'/><target dir='s'/><readonly/></filesystem>\
             <shmem name='sh'><model type='ivshmem-plain'/><size unit='M'>4</size></shmem>",
        );
        assert!(
            a.contains("-device usb-hub,id=hub0,bus=usb.0,port=1"),
            "{a}"
        );
        assert!(
            a.contains("-chardev socket,id=charredir0,host=h,port=4000 -device usb-redir,chardev=charredir0,id=redir0,bus=usb.0"),
            "{a}"
        );
        assert!(a.contains("-device pvpanic"), "{a}");
        assert!(
            a.contains("-fsdev local,security_model=passthrough,id=fsdev-fs0,path=/srv/s,readonly=on -device virtio-9p-pci,id=fs0,fsdev=fsdev-fs0,mount_tag=s"),
            "{a}"
        );
        assert!(
            a.contains(
                "memory-backend-file,id=shmmem-shmem0,mem-path=/dev/shm/sh,size=4194304,share=on"
            ),
            "{a}"
        );
        let fs = "<filesystem type='mount'><driver type='virtiofs'/><source dir='/s'/><target dir='s'/></filesystem>";
        assert!(args(fs).starts_with("ERR"), "virtiofs needs virtiofsd");
    }
}
