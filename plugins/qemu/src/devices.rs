//! `<devices>` → `-blockdev`, `-netdev`, `-chardev`, `-device` and friends.

use std::collections::BTreeSet;

use rvirt_xml::domain::{
    Address, CharDev, ChrKind, Controller, Device, DeviceInfo, DomainDef, Graphics, Input,
    Interface, MemBalloon, Rng, Video, Watchdog,
};

use crate::argv::{esc, is_q35, unsupported, ArgvResult, Cmd, Runtime};
use crate::controllers::{controller, controller_rank, ensure_controller};

/// The common device information of any device.
pub fn info(d: &Device) -> Option<&DeviceInfo> {
    d.info()
}

/// The QEMU chardev id of a character device (used to find pty paths after start).
pub fn chardev_id(c: &CharDev, index: usize) -> String {
    format!("char{}{index}", c.kind.element())
}

pub(crate) struct Ctx<'a> {
    pub(crate) def: &'a DomainDef,
    pub(crate) q35: bool,
    /// Controllers already emitted, as (type, index).
    pub(crate) controllers: BTreeSet<(String, u32)>,
}

/// Per-kind device numbers, counted as the arguments are written.
#[derive(Default)]
struct Numbers {
    disk: usize,
    net: usize,
    chr: [usize; 4],
    input: usize,
    sound: usize,
    video: usize,
    hostdev: usize,
    misc: crate::misc_devices::Counts,
}

/// The next number of a kind.
fn take(n: &mut usize) -> usize {
    *n += 1;
    *n - 1
}

/// The arguments of one device (controllers are written before, by [`build`]).
fn device(c: &mut Cmd, x: &mut Ctx, d: &Device, rt: &Runtime, n: &mut Numbers) -> ArgvResult<()> {
    match d {
        Device::Controller(_) => {}
        Device::Disk(k) => crate::disks::disk(c, x, k, take(&mut n.disk) + 1)?,
        Device::Interface(i) => interface(c, x, i, take(&mut n.net))?,
        Device::Chr(ch) => {
            let i = take(&mut n.chr[ch.kind as usize]);
            chardev(c, x, ch, i, rt)?
        }
        Device::Input(i) => input(c, x, i, take(&mut n.input))?,
        Device::Graphics(g) => graphics(c, g, rt)?,
        Device::Video(v) => video(c, x, v, take(&mut n.video))?,
        Device::Watchdog(w) => watchdog(c, x, w)?,
        Device::MemBalloon(m) => balloon(c, x, m)?,
        Device::Rng(r) => rng(c, x, r)?,
        Device::Generic(g) => match g.element.name.as_str() {
            "audio" => crate::sound::audio(c, g)?,
            "sound" => crate::sound::sound(c, x, g, take(&mut n.sound))?,
            "iommu" => {}
            "tpm" => crate::tpm::argv(c, x.def, g, rt)?,
            "hostdev" => crate::hostdev::argv(c, x, g, take(&mut n.hostdev))?,
            name => {
                // Never started without it: a device QEMU would not get is refused.
                if !crate::misc_devices::build(c, x, g, &mut n.misc)? {
                    return unsupported(format!(
                        "domain/devices/{name}: <{name}> devices are not supported by this driver yet"
                    ));
                }
            }
        },
    }
    Ok(())
}

pub fn build(c: &mut Cmd, def: &DomainDef, rt: &Runtime) -> ArgvResult<()> {
    let mut x = Ctx {
        def,
        q35: is_q35(def),
        controllers: BTreeSet::new(),
    };
    let mut ctls: Vec<&Controller> = def
        .devices
        .iter()
        .filter_map(|d| match d {
            Device::Controller(k) => Some(k),
            _ => None,
        })
        .collect();
    ctls.sort_by_key(|k| controller_rank(k));
    let mut n = Numbers::default();
    // The IOMMU comes first: the devices behind it find it already there.
    for d in &def.devices {
        if let Device::Generic(g) = d {
            if g.element.name == "iommu" {
                crate::misc_devices::build(c, &x, g, &mut n.misc)?;
            }
        }
    }
    for ctl in ctls {
        controller(c, &mut x, ctl)?;
    }
    let mut devs: Vec<&Device> = def.devices.iter().collect();
    devs.sort_by_key(|d| argv_rank(d));
    for d in devs {
        device(c, &mut x, d, rt, &mut n)?;
    }
    let has_graphics = def.devices.iter().any(|d| matches!(d, Device::Graphics(_)));
    let has_video = def.devices.iter().any(|d| matches!(d, Device::Video(_)));
    if has_graphics && !has_video {
        c.opt("-device", "VGA,id=video0");
    }
    Ok(())
}

/// The order libvirt writes device arguments in, by kind.
fn argv_rank(d: &Device) -> u8 {
    match d {
        Device::Controller(_) => 0,
        Device::Disk(_) => 1,
        Device::Interface(_) => 3,
        Device::Chr(c) => match c.kind {
            ChrKind::Serial => 5,
            ChrKind::Parallel => 6,
            ChrKind::Channel => 7,
            ChrKind::Console => 8,
        },
        Device::Input(_) => 10,
        Device::Graphics(_) => 11,
        Device::Video(_) => 13,
        Device::Watchdog(_) => 15,
        Device::MemBalloon(_) => 18,
        Device::Rng(_) => 19,
        Device::Generic(g) => match g.element.name.as_str() {
            "filesystem" => 2,
            "tpm" => 9,
            "audio" => 12,
            "sound" => 14,
            "redirdev" => 16,
            "hostdev" => 17,
            "hub" => 0,
            _ => 20,
        },
    }
}

/// `,bus=pci.N,addr=0xN` for a PCI address (bus 0 is the root: `pci.0` or `pcie.0`);
/// refuses other address types on PCI devices.
pub(crate) fn pci_addr(x: &Ctx, info: &DeviceInfo, what: &str) -> ArgvResult<String> {
    match &info.address {
        None => Ok(String::new()),
        Some(Address::Pci {
            domain: 0,
            bus,
            slot,
            function,
            multifunction,
            ..
        }) => {
            let root = match (*bus, x.q35) {
                (0, true) => "pcie.0".to_string(),
                (n, _) => format!("pci.{n}"),
            };
            let mut s = format!(",bus={root},addr={slot:#x}");
            if *function != 0 {
                s.push_str(&format!(".{function:#x}"));
            }
            if multifunction.as_deref() == Some("on") {
                s.push_str(",multifunction=on");
            }
            Ok(s)
        }
        Some(Address::Pci { .. }) => unsupported(format!(
            "{what}/address in a PCI domain other than 0 is not supported"
        )),
        Some(_) => unsupported(format!(
            "{what}/address of this type is not supported for this device"
        )),
    }
}

pub(crate) fn boot_prop(info: &DeviceInfo) -> String {
    info.boot_order
        .map(|b| format!(",bootindex={b}"))
        .unwrap_or_default()
}

pub(crate) fn interface(c: &mut Cmd, x: &Ctx, i: &Interface, n: usize) -> ArgvResult<()> {
    let p = format!("domain/devices/interface[@type='{}']", i.iface_type);
    // A link that is down is set so over the monitor before the CPUs start
    // (crate::netplug::set_link_states).
    if i.portgroup.is_some()
        || i.link_state
            .as_deref()
            .is_some_and(|l| l != "up" && l != "down")
    {
        return unsupported(format!("{p}: portgroup and link state are not supported"));
    }
    let netdev = match (i.iface_type.as_str(), &i.source) {
        ("user", _) => format!("user,id=hostnet{n}"),
        // Plugged in by crate::netplug (a tap, or a macvtap for `direct`): the start
        // passes its descriptor instead of the name (netplug::Taps::pass_by_fd).
        ("network" | "bridge" | "direct", _) if i.target_dev.is_some() => format!(
            "tap,id=hostnet{n},ifname={},script=no,downscript=no",
            esc(i.target_dev.as_deref().unwrap_or_default())
        ),
        ("bridge", Some(br)) => format!("bridge,id=hostnet{n},br={}", esc(br)),
        // Not plugged in yet (a definition checked before any start).
        ("network" | "direct", _) => format!("tap,id=hostnet{n},script=no,downscript=no"),
        ("ethernet", _) => {
            let mut s = format!("tap,id=hostnet{n}");
            match &i.target_dev {
                Some(t) => s.push_str(&format!(",ifname={}", esc(t))),
                None => {
                    return unsupported(format!("{p}/target/@dev is required for type 'ethernet'"))
                }
            }
            match &i.script {
                Some(sc) => s.push_str(&format!(",script={},downscript=no", esc(sc))),
                None => s.push_str(",script=no,downscript=no"),
            }
            s
        }
        (t, _) => return unsupported(format!("{p}: interface type '{t}' is not supported yet")),
    };
    let model = match i.model.as_deref() {
        None | Some("rtl8139") => "rtl8139",
        Some("virtio") => "virtio-net-pci",
        Some("virtio-transitional") => "virtio-net-pci-transitional",
        Some("virtio-non-transitional") => "virtio-net-pci-non-transitional",
        Some(m @ ("e1000" | "e1000e" | "vmxnet3")) => m,
        Some("ne2k_pci") => "ne2k_pci",
        Some(other) => return unsupported(format!("{p}/model/@type '{other}' is not supported")),
    };
    let mut dev = format!("{model},netdev=hostnet{n},id=net{n},mac={}", i.mac);
    if let Some(mtu) = i.mtu {
        if model != "virtio-net-pci" {
            return unsupported(format!("{p}/mtu needs model 'virtio'"));
        }
        dev.push_str(&format!(",host_mtu={mtu}"));
    }
    dev.push_str(&pci_addr(x, &i.info, &p)?);
    dev.push_str(&boot_prop(&i.info));
    c.opt("-netdev", netdev);
    c.opt("-device", dev);
    Ok(())
}

/// The `-chardev` backend of a character device.
fn chr_backend(ch: &CharDev, id: &str, rt: &Runtime, p: &str) -> ArgvResult<String> {
    Ok(match (ch.source_type.as_str(), &ch.source_path) {
        ("pty", _) => format!("pty,id={id}"),
        ("null", _) => format!("null,id={id}"),
        ("file", Some(path)) => {
            let append = if ch.source_append.as_deref() == Some("on") {
                ",append=on"
            } else {
                ""
            };
            format!("file,id={id},path={}{append}", esc(path))
        }
        ("unix", path) => {
            let path = match path {
                Some(pp) => pp.clone(),
                None => rt.run_dir.join(format!("{id}.sock")).display().to_string(),
            };
            let server = if ch.source_mode.as_deref() == Some("connect") {
                ""
            } else {
                ",server=on,wait=off"
            };
            format!("socket,id={id},path={}{server}", esc(&path))
        }
        (t, _) => return unsupported(format!("{p}/@type '{t}' is not supported")),
    })
}

fn chardev(c: &mut Cmd, x: &mut Ctx, ch: &CharDev, index: usize, rt: &Runtime) -> ArgvResult<()> {
    let p = format!("domain/devices/{}", ch.kind.element());
    if ch.log_file.is_some() || ch.protocol.is_some() {
        return unsupported(format!("{p}/log and protocol are not supported"));
    }
    let id = chardev_id(ch, index);
    let port = ch.target_port.unwrap_or(index as u32);
    let dev = match (ch.kind, ch.target_type.as_deref()) {
        (ChrKind::Serial, None | Some("isa-serial")) => {
            format!("isa-serial,chardev={id},id=serial{index},index={port}")
        }
        (ChrKind::Parallel, None) => format!("isa-parallel,chardev={id},id=parallel{index}"),
        (ChrKind::Console, None | Some("serial")) => {
            let is_serial = |d: &Device| matches!(d, Device::Chr(s) if s.kind == ChrKind::Serial && s.target_port.unwrap_or(0) == port);
            if x.def.devices.iter().any(is_serial) {
                // The console is the same device as serial PORT.
                return Ok(());
            }
            format!("isa-serial,chardev={id},id=console{index},index={port}")
        }
        (ChrKind::Console, Some("virtio")) => {
            ensure_controller(c, x, "virtio-serial", 0)?;
            format!("virtconsole,chardev={id},id=console{index}")
        }
        (ChrKind::Channel, Some("virtio")) => {
            // On the controller and port its address names (given or assigned at define).
            let (ctl, bus, nr) = match ch.info.address {
                Some(Address::VirtioSerial {
                    controller,
                    bus,
                    port,
                }) => (controller, bus, format!(",nr={port}")),
                _ => (0, 0, String::new()),
            };
            ensure_controller(c, x, "virtio-serial", ctl)?;
            let name = ch
                .target_name
                .as_deref()
                .map(|n| format!(",name={}", esc(n)))
                .unwrap_or_default();
            format!(
                "virtserialport,bus=virtio-serial{ctl}.{bus}{nr},chardev={id},id=channel{index}{name}"
            )
        }
        (_, t) => {
            return unsupported(format!(
                "{p}/target/@type '{}' is not supported",
                t.unwrap_or("default")
            ))
        }
    };
    c.opt("-chardev", chr_backend(ch, &id, rt, &p)?);
    c.opt("-device", dev);
    Ok(())
}

pub(crate) fn input(c: &mut Cmd, x: &mut Ctx, i: &Input, n: usize) -> ArgvResult<()> {
    let p = format!("domain/devices/input[@type='{}']", i.input_type);
    let dev = match (i.input_type.as_str(), i.bus.as_deref().unwrap_or("ps2")) {
        ("mouse" | "keyboard", "ps2") => return Ok(()),
        (t, "usb") => {
            ensure_controller(c, x, "usb", 0)?;
            let model = match t {
                "tablet" => "usb-tablet",
                "mouse" => "usb-mouse",
                "keyboard" => "usb-kbd",
                other => {
                    return unsupported(format!(
                        "{p}: input type '{other}' on usb is not supported"
                    ))
                }
            };
            format!(
                "{model},id=input{n}{}",
                crate::controllers::usb_place(&i.info)
            )
        }
        (t @ ("tablet" | "mouse" | "keyboard"), "virtio") => {
            format!("virtio-{t}-pci,id=input{n}{}", pci_addr(x, &i.info, &p)?)
        }
        (_, b) => return unsupported(format!("{p}/@bus '{b}' is not supported")),
    };
    c.opt("-device", dev);
    Ok(())
}

fn graphics(c: &mut Cmd, g: &Graphics, rt: &Runtime) -> ArgvResult<()> {
    let p = "domain/devices/graphics";
    match g.graphics_type.as_str() {
        "vnc" => {}
        "spice" => return crate::spice::spice(c, g, rt),
        other => {
            return unsupported(format!(
                "{p}/@type '{other}' is not supported (only vnc and spice)"
            ))
        }
    }
    if g.passwd.is_some() {
        return unsupported(format!("{p}/@passwd is not supported"));
    }
    let mut v = match g.listen_type.as_str() {
        "socket" => match &g.listen_socket {
            Some(s) => format!("unix:{}", esc(s)),
            None => return unsupported(format!("{p}/listen/@socket is required")),
        },
        "address" | "" => {
            let port = if g.autoport || g.port < 5900 {
                rt.vnc_port.unwrap_or(5900) as i32
            } else {
                g.port
            };
            let addr = g.listen_address.as_deref().unwrap_or("127.0.0.1");
            let addr = if addr.contains(':') {
                format!("[{addr}]")
            } else {
                addr.to_string()
            };
            format!("{addr}:{}", port - 5900)
        }
        "none" => "none".into(),
        other => return unsupported(format!("{p}/listen/@type '{other}' is not supported")),
    };
    if let Some(k) = &g.keymap {
        v.push_str(&format!(",lossy=on,keyboard-layout={}", esc(k)));
    }
    c.opt("-vnc", v);
    Ok(())
}

/// Video card number `n`: the primary one has VGA compatibility, the others not.
fn video(c: &mut Cmd, x: &Ctx, v: &Video, n: usize) -> ArgvResult<()> {
    let p = format!("domain/devices/video[model/@type='{}']", v.model);
    let model = match v.model.as_str() {
        "none" => return Ok(()),
        "qxl" if n > 0 => "qxl",
        "virtio" if n > 0 => "virtio-gpu-pci",
        _ if n > 0 => {
            return unsupported(format!("{p}: only qxl and virtio video can be secondary"))
        }
        "vga" => "VGA",
        "cirrus" => "cirrus-vga",
        "virtio" => "virtio-vga",
        "bochs" => "bochs-display",
        "qxl" => "qxl-vga",
        other => return unsupported(format!("{p} is not supported ({other})")),
    };
    let mut dev = format!("{model},id=video{n}{}", pci_addr(x, &v.info, &p)?);
    if let (Some(vram), "VGA") = (v.vram, model) {
        dev.push_str(&format!(",vgamem_mb={}", (vram / 1024).max(1)));
    }
    c.opt("-device", dev);
    Ok(())
}

fn watchdog(c: &mut Cmd, x: &Ctx, w: &Watchdog) -> ArgvResult<()> {
    let p = format!("domain/devices/watchdog[@model='{}']", w.model);
    let dev = match w.model.as_str() {
        "i6300esb" => format!("i6300esb,id=watchdog0{}", pci_addr(x, &w.info, &p)?),
        "ib700" => "ib700,id=watchdog0".into(),
        other => return unsupported(format!("{p}: model '{other}' is not supported")),
    };
    let action = match w.action.as_str() {
        a @ ("reset" | "shutdown" | "poweroff" | "pause" | "none" | "inject-nmi") => a,
        other => return unsupported(format!("{p}/@action '{other}' is not supported")),
    };
    c.opt("-device", dev);
    c.opt("-watchdog-action", action);
    Ok(())
}

/// The device-name suffix of a virtio model: `-transitional` (legacy and modern
/// virtio, a conventional PCI device), `-non-transitional` (modern only) or none.
fn transitional(model: &str) -> &'static str {
    match model {
        "virtio-transitional" => "-transitional",
        "virtio-non-transitional" => "-non-transitional",
        _ => "",
    }
}

fn balloon(c: &mut Cmd, x: &Ctx, m: &MemBalloon) -> ArgvResult<()> {
    let p = "domain/devices/memballoon";
    match m.model.as_str() {
        "none" => Ok(()),
        model @ ("virtio" | "virtio-transitional" | "virtio-non-transitional") => {
            // `<stats period>` is set over the monitor at start (lifecycle).
            let dev = format!("virtio-balloon-pci{}", transitional(model));
            let mut dev = format!("{dev},id=balloon0{}", pci_addr(x, &m.info, p)?);
            if m.autodeflate.as_deref() == Some("on") {
                dev.push_str(",deflate-on-oom=on");
            }
            c.opt("-device", dev);
            Ok(())
        }
        other => unsupported(format!("{p}/@model '{other}' is not supported")),
    }
}

pub(crate) fn rng(c: &mut Cmd, x: &Ctx, r: &Rng) -> ArgvResult<()> {
    let p = "domain/devices/rng";
    if !matches!(
        r.model.as_str(),
        "virtio" | "virtio-transitional" | "virtio-non-transitional"
    ) {
        return unsupported(format!("{p}/@model '{}' is not supported", r.model));
    }
    let obj = match (r.backend_model.as_str(), &r.backend_path) {
        ("random", path) => {
            let f = path.as_deref().unwrap_or("/dev/urandom");
            format!("rng-random,id=objrng0,filename={}", esc(f))
        }
        ("builtin", _) => "rng-builtin,id=objrng0".into(),
        (other, _) => return unsupported(format!("{p}/backend/@model '{other}' is not supported")),
    };
    let mut dev = format!(
        "virtio-rng-pci{},rng=objrng0,id=rng0{}",
        transitional(&r.model),
        pci_addr(x, &r.info, p)?
    );
    if let Some(b) = r.rate_bytes {
        dev.push_str(&format!(
            ",max-bytes={b},period={}",
            r.rate_period.unwrap_or(1000)
        ));
    }
    c.opt("-object", obj);
    c.opt("-device", dev);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::argv::build as argv;

    fn rt() -> Runtime {
        Runtime {
            monitor: "/r/m".into(),
            pidfile: "/r/p".into(),
            run_dir: "/r".into(),
            vnc_port: Some(5903),
            spice_port: Some(5904),
        }
    }

    fn args(devices: &str) -> String {
        let xml = format!(
            "<domain type='qemu'><name>d</name><memory>65536</memory><vcpu>1</vcpu>\
             <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>{devices}</devices></domain>"
        );
        argv(&DomainDef::parse(&xml).unwrap(), &rt())
            .map(|a| a.join(" "))
            .unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn ich9_usb_master_and_companions() {
        let a = args(
            "<controller type='usb' model='ich9-ehci1'/>\
             <controller type='usb' model='ich9-uhci1'><master startport='0'/></controller>\
             <controller type='usb' model='ich9-uhci3'><master startport='4'/></controller>",
        );
        let ehci = a.find("-device ich9-usb-ehci1,id=usb").expect(&a);
        let uhci1 = a
            .find("-device ich9-usb-uhci1,masterbus=usb.0,firstport=0")
            .expect(&a);
        assert!(ehci < uhci1, "{a}");
        assert!(
            a.contains("-device ich9-usb-uhci3,masterbus=usb.0,firstport=4"),
            "{a}"
        );
        assert!(!a.contains("piix3-usb-uhci"), "{a}");
    }

    #[test]
    fn sound_cards_and_their_backend() {
        let a = args(
            "<sound model='ich6'><codec type='micro'/></sound><sound model='ac97'/>\
             <audio id='1' type='none'/>",
        );
        assert!(a.contains("-audiodev none,id=audio1"), "{a}");
        assert!(a.contains("-device intel-hda,id=sound0 -device hda-micro,id=sound0-codec0,bus=sound0.0,cad=0,audiodev=audio1"), "{a}");
        assert!(a.contains("-device AC97,id=sound1,audiodev=audio1"), "{a}");
        assert!(a.find("-audiodev") < a.find("intel-hda"), "{a}");
        assert!(args("<sound model='sb16'/>").starts_with("ERR"));
    }

    #[test]
    fn virtio_scsi_disks_address_target_and_lun() {
        let a = args(
            "<controller type='scsi' index='0' model='virtio-scsi'/>\
             <disk type='file' device='disk'><source file='/i/s.img'/><target dev='sdb' bus='scsi'/>\
             <address type='drive' controller='0' bus='0' target='2' unit='3'/></disk>",
        );
        assert!(
            a.contains("scsi-hd,bus=scsi0.0,channel=0,scsi-id=2,lun=3,id=scsi0-0-2-3"),
            "{a}"
        );
    }

    #[test]
    fn parallel_port_and_usb_disk() {
        let a = args(
            "<parallel type='pty'/><disk type='file' device='disk'><source file='/i/u.img'/>\
             <target dev='sdb' bus='usb'/><address type='usb' bus='0' port='1'/></disk>",
        );
        assert!(
            a.contains("-chardev pty,id=charparallel0 -device isa-parallel,chardev=charparallel0,id=parallel0"),
            "{a}"
        );
        assert!(
            a.contains("-device usb-storage,bus=usb.0,port=1,id=usb-disk1,removable=off,drive=libvirt-1-format"),
            "{a}"
        );
    }

    #[test]
    fn disk_index_from_target() {
        use crate::disks::disk_index;
        assert_eq!(disk_index("vda"), Some(0));
        assert_eq!(disk_index("hdc"), Some(2));
        assert_eq!(disk_index("sdb"), Some(1));
        assert_eq!(disk_index("sdaa"), Some(26));
    }

    #[test]
    fn disks() {
        let a = args(
            "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/i/a.qcow2'/>\
             <target dev='vda' bus='virtio'/><boot order='1'/></disk>\
             <disk type='file' device='cdrom'><source file='/i/b,c.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>",
        );
        assert!(a.contains(r#"-blockdev {"auto-read-only":true,"cache":{"direct":false,"no-flush":false},"discard":"unmap","driver":"file","filename":"/i/a.qcow2","node-name":"libvirt-1-storage"}"#), "{a}");
        assert!(a.contains(r#""driver":"qcow2","file":"libvirt-1-storage","node-name":"libvirt-1-format","read-only":false}"#), "{a}");
        assert!(
            a.contains("-device virtio-blk-pci,id=virtio-disk0,drive=libvirt-1-format,bootindex=1"),
            "{a}"
        );
        assert!(
            a.contains("-device ide-cd,bus=ide.1,unit=0,id=ide0-1-0,drive=libvirt-2-format"),
            "{a}"
        );
        assert!(a.contains("-boot strict=on"), "{a}");
        let a = args("<disk type='file' device='disk'><source file='/i/s.img'/><target dev='sda' bus='scsi'/></disk>");
        assert!(a.contains("-device lsi,id=scsi0 "), "{a}");
        assert!(
            a.contains("scsi-hd,bus=scsi0.0,scsi-id=0,id=scsi0-0-0"),
            "{a}"
        );
        let a = args("<disk type='file' device='disk'><source file='/i/s.img'/><target dev='sda' bus='sata'/></disk>");
        assert!(
            a.contains("-device ahci,id=sata0 ") && a.contains("ide-hd,bus=sata0.0,id=sata0-0-0"),
            "{a}"
        );
        let a = args(
            "<disk type='file' device='floppy'><source file='/f.img'/><target dev='fda'/></disk>",
        );
        assert!(
            a.starts_with("ERR") && a.contains("@device 'floppy'"),
            "{a}"
        );
    }

    #[test]
    fn net_serial_console_vnc() {
        let a = args(
            "<interface type='user'><mac address='52:54:00:00:00:01'/><model type='virtio'/></interface>\
             <serial type='pty'><target port='0'/></serial><console type='pty'><target type='serial' port='0'/></console>\
             <graphics type='vnc' autoport='yes'/><memballoon model='virtio'/>\
             <input type='tablet' bus='usb'/>",
        );
        assert!(a.contains("-netdev user,id=hostnet0 -device virtio-net-pci,netdev=hostnet0,id=net0,mac=52:54:00:00:00:01"), "{a}");
        assert!(a.contains("-chardev pty,id=charserial0 -device isa-serial,chardev=charserial0,id=serial0,index=0"), "{a}");
        assert!(!a.contains("charconsole0"), "{a}");
        assert!(
            a.contains("-vnc 127.0.0.1:3") && !a.contains("-display none"),
            "{a}"
        );
        assert!(a.contains("-device cirrus-vga,id=video0"), "{a}");
        assert!(a.contains("-device virtio-balloon-pci,id=balloon0"), "{a}");
        assert!(
            a.contains("-device piix3-usb-uhci,id=usb -device usb-tablet,id=input0,bus=usb.0"),
            "{a}"
        );
        let a = args(
            "<interface type='network'><source network='default'/>\
             <target dev='vnet3'/><model type='virtio'/></interface>",
        );
        assert!(
            a.contains("-netdev tap,id=hostnet0,ifname=vnet3,script=no,downscript=no"),
            "{a}"
        );
        // A macvtap is passed as a tap too (by descriptor once plugged).
        let a = args(
            "<interface type='direct'><source dev='eth0' mode='bridge'/>\
             <target dev='macvtap0'/><model type='virtio'/></interface>",
        );
        assert!(
            a.contains("-netdev tap,id=hostnet0,ifname=macvtap0,script=no,downscript=no"),
            "{a}"
        );
    }
}
