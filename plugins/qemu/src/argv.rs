//! Domain XML → QEMU command line: a pure function of the definition and a few runtime paths.
//!
//! Anything in the definition this driver cannot express is refused with an error naming the
//! element; nothing is silently dropped. Device arguments are in [`crate::devices`].

use std::path::PathBuf;

use rvirt_xml::domain::{Device, DomainDef};

use crate::devices;

/// Why a definition cannot be turned into a command line.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ArgvError {
    /// An element or value this driver does not support; names it.
    #[error("{0}")]
    Unsupported(String),
}

pub type ArgvResult<T> = Result<T, ArgvError>;

/// Whether the domain has a working memory balloon.
pub fn has_balloon(def: &DomainDef) -> bool {
    def.devices
        .iter()
        .any(|d| matches!(d, Device::MemBalloon(m) if m.model != "none"))
}

pub fn unsupported<T>(what: impl Into<String>) -> ArgvResult<T> {
    Err(ArgvError::Unsupported(what.into()))
}

/// Per-start values that are not part of the definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Runtime {
    /// QMP socket path.
    pub monitor: PathBuf,
    /// `-pidfile` path.
    pub pidfile: PathBuf,
    /// Directory for generated sockets (channels).
    pub run_dir: PathBuf,
    /// VNC port picked for `autoport='yes'` graphics.
    pub vnc_port: Option<u16>,
    /// SPICE port picked for `autoport='yes'` graphics (another than VNC's).
    pub spice_port: Option<u16>,
}

/// The command line being built.
#[derive(Debug, Default)]
pub struct Cmd {
    pub args: Vec<String>,
}

impl Cmd {
    pub fn opt(&mut self, name: &str, value: impl Into<String>) {
        self.args.push(name.to_string());
        self.args.push(value.into());
    }

    pub fn flag(&mut self, name: &str) {
        self.args.push(name.to_string());
    }
}

/// Escapes a value for QEMU's `key=value,...` syntax (commas are doubled).
pub fn esc(s: &str) -> String {
    s.replace(',', ",,")
}

/// Whether the machine type is a Q35 one (PCIe root, built-in AHCI).
pub fn is_q35(def: &DomainDef) -> bool {
    def.machine
        .as_deref()
        .is_some_and(|m| m == "q35" || m.starts_with("pc-q35"))
}

/// The emulator binary for `def`.
pub fn emulator<'a>(def: &'a DomainDef, default: &'a str) -> &'a str {
    def.emulator.as_deref().unwrap_or(default)
}

/// Builds the argument list (without the emulator itself).
pub fn build(def: &DomainDef, rt: &Runtime) -> ArgvResult<Vec<String>> {
    check_general(def)?;
    let mut c = Cmd::default();
    c.opt(
        "-name",
        format!("guest={},debug-threads=on", esc(&def.name)),
    );
    c.flag("-S");
    machine(&mut c, def)?;
    cpu(&mut c, def)?;
    c.opt("-m", format!("size={}k", def.memory_kib));
    c.opt("-overcommit", "mem-lock=off");
    c.opt("-smp", smp(def));
    c.opt("-uuid", def.uuid.to_string());
    let graphics = def.devices.iter().any(|d| matches!(d, Device::Graphics(_)));
    if !graphics {
        c.opt("-display", "none");
    }
    c.flag("-no-user-config");
    c.flag("-nodefaults");
    let mon = esc(&rt.monitor.display().to_string());
    c.opt(
        "-chardev",
        format!("socket,id=charmonitor,path={mon},server=on,wait=off"),
    );
    c.opt("-mon", "chardev=charmonitor,id=monitor,mode=control");
    c.opt("-pidfile", rt.pidfile.display().to_string());
    clock(&mut c, def)?;
    lifecycle(&mut c, def)?;
    if !def.features.iter().any(|f| f.name == "acpi" && f.enabled) {
        c.flag("-no-acpi");
    }
    boot(&mut c, def)?;
    devices::build(&mut c, def, rt)?;
    c.opt("-msg", "timestamp=on");
    Ok(c.args)
}

fn check_general(def: &DomainDef) -> ArgvResult<()> {
    if def.os_type != "hvm" {
        return unsupported(format!(
            "domain/os/type '{}' is not supported by QEMU here (only hvm)",
            def.os_type
        ));
    }
    if let Some(a) = def.arch.as_deref().filter(|a| *a != "x86_64") {
        return unsupported(format!(
            "domain/os/type/@arch '{a}' is not supported (only x86_64)"
        ));
    }
    if def.vcpu_placement != "static" {
        return unsupported(format!(
            "domain/vcpu/@placement '{}' is not supported",
            def.vcpu_placement
        ));
    }
    // The partition of a live definition (a snapshot's, a saved image's) is the one the
    // driver puts guests in (crate::cgroup); another is not made.
    let partition = def.extras().resource_partition.as_deref();
    if partition.is_some_and(|p| p != crate::cgroup::PARTITION) {
        return unsupported("domain/resource is not supported");
    }
    if def.current_memory_kib != def.memory_kib && !has_balloon(def) {
        // Without a balloon QEMU cannot run below <memory>; with one the driver inflates
        // it to <currentMemory> right after start.
        return unsupported("domain/currentMemory below domain/memory needs a memballoon device");
    }
    if def.vcpus == 0 || def.current_vcpus == 0 {
        return unsupported("domain/vcpu must be at least 1");
    }
    Ok(())
}

fn machine(c: &mut Cmd, def: &DomainDef) -> ArgvResult<()> {
    let accel = match &*def.domain_type {
        "kvm" => "kvm",
        "qemu" => "tcg",
        other => {
            return unsupported(format!(
                "domain/@type '{other}' is not supported by the QEMU driver"
            ))
        }
    };
    let mut m = format!(
        "{},accel={accel},usb=off,dump-guest-core=off",
        esc(def.machine.as_deref().unwrap_or("pc"))
    );
    for f in &def.features {
        let on_off = if f.enabled { "on" } else { "off" };
        match f.name.as_str() {
            "acpi" | "apic" | "pae" => {}
            "vmport" => m.push_str(&format!(",vmport={on_off}")),
            "smm" if f.element.children.is_empty() => m.push_str(&format!(",smm={on_off}")),
            "smm" => return unsupported("domain/features/smm/tseg is not supported"),
            other => return unsupported(format!("domain/features/{other} is not supported")),
        }
    }
    let (props, secure) = pflash(c, def)?;
    m.push_str(&props);
    c.opt("-machine", m);
    if secure {
        c.opt("-global", "driver=cfi.pflash01,property=secure,value=on");
    }
    Ok(())
}

/// A pflash loader (and its variable store) as libvirt 9.0 gives them: two `-blockdev`
/// pairs before `-machine`, which names them; returns the `-machine` properties and
/// whether the flash is secure (SMM-only writes, for secure boot).
fn pflash(c: &mut Cmd, def: &DomainDef) -> ArgvResult<(String, bool)> {
    let Some(l) = def.os.loader.as_deref() else {
        return Ok((String::new(), false));
    };
    if l.loader_type.as_deref() != Some("pflash") {
        return Ok((String::new(), false));
    }
    let Some(path) = &l.path else {
        return unsupported("domain/os/loader of type pflash needs a path");
    };
    let readonly = l.readonly.as_deref() == Some("yes");
    let mut units = vec![(path.clone(), readonly)];
    if let Some(nv) = def.os.nvram.as_deref().and_then(|n| n.path.clone()) {
        units.push((nv, false));
    }
    let mut props = String::new();
    for (unit, (file, ro)) in units.into_iter().enumerate() {
        let node = format!("libvirt-pflash{unit}");
        let storage = serde_json::json!({
            "driver": "file", "filename": file, "node-name": format!("{node}-storage"),
            "auto-read-only": true, "discard": "unmap",
        });
        let format = serde_json::json!({
            "node-name": format!("{node}-format"), "read-only": ro, "driver": "raw",
            "file": format!("{node}-storage"),
        });
        c.opt("-blockdev", storage.to_string());
        c.opt("-blockdev", format.to_string());
        props.push_str(&format!(",pflash{unit}={node}-format"));
    }
    Ok((props, l.secure.as_deref() == Some("yes")))
}

fn cpu(c: &mut Cmd, def: &DomainDef) -> ArgvResult<()> {
    let Some(cpu) = &def.cpu else { return Ok(()) };
    let base = match cpu.mode.as_deref().unwrap_or("custom") {
        "host-passthrough" | "host-model" if def.domain_type == "kvm" => "host".to_string(),
        "host-passthrough" | "host-model" => {
            return unsupported("domain/cpu/@mode host-passthrough needs a KVM domain (type='kvm')")
        }
        "maximum" => "max".to_string(),
        "custom" => match &cpu.model {
            Some(m) => esc(m),
            None if cpu.features.is_empty() => return Ok(()),
            None => return unsupported("domain/cpu/feature without domain/cpu/model"),
        },
        other => return unsupported(format!("domain/cpu/@mode '{other}' is not supported")),
    };
    let mut s = base;
    for (policy, name) in &cpu.features {
        let sign = match policy.as_str() {
            "require" | "force" => '+',
            "disable" | "forbid" => '-',
            other => {
                return unsupported(format!(
                    "domain/cpu/feature/@policy '{other}' is not supported"
                ))
            }
        };
        s.push_str(&format!(",{sign}{}", esc(name)));
    }
    c.opt("-cpu", s);
    Ok(())
}

fn smp(def: &DomainDef) -> String {
    let mut s = format!("{},maxcpus={}", def.current_vcpus, def.vcpus);
    match def.cpu.as_ref().and_then(|c| c.topology) {
        Some((sockets, dies, cores, threads)) => s.push_str(&format!(
            ",sockets={sockets},dies={dies},cores={cores},threads={threads}"
        )),
        None => s.push_str(&format!(",sockets={},cores=1,threads=1", def.vcpus)),
    }
    s
}

fn clock(c: &mut Cmd, def: &DomainDef) -> ArgvResult<()> {
    let base = match &*def.clock.offset {
        "utc" => "utc",
        "localtime" => "localtime",
        other => return unsupported(format!("domain/clock/@offset '{other}' is not supported")),
    };
    let params = def.clock.offset_params.as_deref();
    if params.is_some_and(|p| p.adjustment.is_some() || p.timezone.is_some()) {
        return unsupported("domain/clock adjustment/timezone is not supported");
    }
    let mut rtc = format!("base={base}");
    for t in &def.clock.timers {
        let present = t.present.as_deref() != Some("no");
        match (t.name.as_str(), t.tickpolicy.as_deref()) {
            ("rtc", Some("catchup")) => rtc.push_str(",driftfix=slew"),
            ("rtc", None) if present => {}
            ("pit", Some("delay")) if def.domain_type == "kvm" => {
                c.opt("-global", "kvm-pit.lost_tick_policy=delay")
            }
            ("pit", None) if present => {}
            ("hpet", None) if !present => c.flag("-no-hpet"),
            ("hpet", None) => {}
            _ => {
                return unsupported(format!(
                    "domain/clock/timer '{}' with these settings is not supported",
                    t.name
                ))
            }
        }
    }
    c.opt("-rtc", rtc);
    Ok(())
}

fn lifecycle(c: &mut Cmd, def: &DomainDef) -> ArgvResult<()> {
    // The driver decides what a guest shutdown means; QEMU only stops.
    c.flag("-no-shutdown");
    match &*def.on_reboot {
        "restart" => {}
        "destroy" => c.flag("-no-reboot"),
        other => return unsupported(format!("domain/on_reboot '{other}' is not supported")),
    }
    if def.on_poweroff != "destroy" {
        return unsupported(format!(
            "domain/on_poweroff '{}' is not supported",
            def.on_poweroff
        ));
    }
    Ok(())
}

fn boot(c: &mut Cmd, def: &DomainDef) -> ArgvResult<()> {
    let os = &def.os;
    if let Some(f) = &os.opts().firmware {
        // Resolved into a loader before a command line is built (crate::firmware).
        return unsupported(format!("domain/os/@firmware '{f}' was not resolved"));
    }
    if let Some(l) = &os.loader {
        match (l.loader_type.as_deref().unwrap_or("rom"), &l.path) {
            ("rom", Some(p)) => c.opt("-bios", p.clone()),
            ("pflash", Some(_)) => {} // with -machine (pflash)
            _ => return unsupported("domain/os/loader without a path is not supported"),
        }
    }
    if os.nvram.is_some()
        && os.loader.as_ref().and_then(|l| l.loader_type.as_deref()) != Some("pflash")
    {
        return unsupported("domain/os/nvram needs a pflash loader");
    }
    if os.opts().root.is_some() {
        return unsupported("domain/os/root is not supported");
    }
    let per_device = def
        .devices
        .iter()
        .any(|d| devices::info(d).is_some_and(|i| i.boot_order.is_some()));
    let mut b = String::new();
    if !per_device && !os.boot_devs.is_empty() {
        let mut order = String::new();
        for d in &os.boot_devs {
            order.push(match &**d {
                "hd" => 'c',
                "cdrom" => 'd',
                "fd" => 'a',
                "network" => 'n',
                other => {
                    return unsupported(format!("domain/os/boot/@dev '{other}' is not supported"))
                }
            });
        }
        b.push_str(&format!("order={order},"));
    }
    if os.opts().bootmenu.as_deref() == Some("yes") {
        b.push_str("menu=on,");
        if let Some(t) = os.opts().bootmenu_timeout {
            b.push_str(&format!("splash-time={t},"));
        }
    }
    b.push_str("strict=on");
    c.opt("-boot", b);
    if let Some(k) = &os.opts().kernel {
        c.opt("-kernel", k.clone());
    }
    if let Some(i) = &os.opts().initrd {
        c.opt("-initrd", i.clone());
    }
    if let Some(a) = &os.opts().cmdline {
        c.opt("-append", a.clone());
    }
    if let Some(d) = &os.opts().dtb {
        c.opt("-dtb", d.clone());
    }
    Ok(())
}

/// Command line as one shell-readable string (the `qemu-argv` native format).
pub fn to_native(emulator: &str, args: &[String]) -> String {
    let quote = |s: &str| -> String {
        let plain = !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_=,./:+@".contains(&b));
        if plain {
            s.to_string()
        } else {
            format!("'{}'", s.replace('\'', "'\\''"))
        }
    };
    let mut out = quote(emulator);
    for a in args {
        out.push(' ');
        out.push_str(&quote(a));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn rt() -> Runtime {
        Runtime {
            monitor: "/run/q/d.monitor".into(),
            pidfile: "/run/q/d.pid".into(),
            run_dir: "/run/q".into(),
            vnc_port: Some(5901),
            spice_port: Some(5904),
        }
    }

    pub fn fixture(name: &str) -> DomainDef {
        let text = match name {
            "tiny-kvm.xml" => include_str!("../testdata/tiny-kvm.xml"),
            _ => include_str!("../testdata/tiny-tcg.xml"),
        };
        DomainDef::parse(text).unwrap()
    }

    fn golden(domain_type: &str, accel: &str, name: &str) -> Vec<String> {
        let uuid = "UUID";
        let s = format!(
            "-name guest={name},debug-threads=on -S -machine pc,accel={accel},usb=off,dump-guest-core=off \
             -m size=131072k -overcommit mem-lock=off -smp 1,maxcpus=1,sockets=1,cores=1,threads=1 -uuid {uuid} \
             -display none -no-user-config -nodefaults \
             -chardev socket,id=charmonitor,path=/run/q/d.monitor,server=on,wait=off \
             -mon chardev=charmonitor,id=monitor,mode=control -pidfile /run/q/d.pid -rtc base=utc \
             -no-shutdown -no-reboot -no-acpi -boot order=c,strict=on -msg timestamp=on"
        );
        let _ = domain_type;
        s.split_whitespace().map(String::from).collect()
    }

    fn with_uuid(mut args: Vec<String>) -> Vec<String> {
        let i = args.iter().position(|a| a == "-uuid").unwrap();
        args[i + 1] = "UUID".into();
        args
    }

    #[test]
    fn tiny_kvm_golden() {
        let def = fixture("tiny-kvm.xml");
        assert_eq!(
            with_uuid(build(&def, &rt()).unwrap()),
            golden("kvm", "kvm", "anchortiny")
        );
        assert_eq!(emulator(&def, "/other"), "/usr/bin/qemu-system-x86_64");
    }

    #[test]
    fn tiny_tcg_golden() {
        let def = fixture("tiny-tcg.xml");
        assert_eq!(
            with_uuid(build(&def, &rt()).unwrap()),
            golden("qemu", "tcg", "anchortinytcg")
        );
    }

    #[test]
    fn unsupported_elements_are_named() {
        let mut def = fixture("tiny-kvm.xml");
        def.domain_type = "xen".into();
        let e = build(&def, &rt()).unwrap_err().to_string();
        assert!(e.contains("domain/@type 'xen'"), "{e}");
        let mut def = fixture("tiny-kvm.xml");
        def.on_poweroff = "preserve".into();
        assert!(build(&def, &rt())
            .unwrap_err()
            .to_string()
            .contains("domain/on_poweroff"));
    }

    #[test]
    fn cpu_and_kernel() {
        let xml = "<domain type='kvm'><name>k</name><memory unit='MiB'>64</memory><vcpu current='1'>2</vcpu>\
            <os><type arch='x86_64' machine='q35'>hvm</type><kernel>/b/vmlinuz</kernel><initrd>/b/initrd</initrd>\
            <cmdline>console=ttyS0 quiet</cmdline></os><features><acpi/></features>\
            <cpu mode='custom'><model>qemu64</model><feature policy='disable' name='svm'/>\
            <topology sockets='1' dies='1' cores='2' threads='1'/></cpu></domain>";
        let def = DomainDef::parse(xml).unwrap();
        let a = build(&def, &rt()).unwrap().join(" ");
        assert!(a.contains("-cpu qemu64,-svm"), "{a}");
        assert!(
            a.contains("-smp 1,maxcpus=2,sockets=1,dies=1,cores=2,threads=1"),
            "{a}"
        );
        assert!(a.contains("-machine q35,accel=kvm"), "{a}");
        assert!(
            a.contains("-kernel /b/vmlinuz -initrd /b/initrd -append console=ttyS0 quiet"),
            "{a}"
        );
        assert!(!a.contains("-no-acpi"), "{a}");
        let pt = xml.replace(
            "<cpu mode='custom'><model>qemu64</model><feature policy='disable' name='svm'/>",
            "<cpu mode='host-passthrough'>",
        );
        let a = build(&DomainDef::parse(&pt).unwrap(), &rt())
            .unwrap()
            .join(" ");
        assert!(a.contains("-cpu host "), "{a}");
    }

    #[test]
    fn native_quoting() {
        let s = to_native(
            "/usr/bin/qemu",
            &["-append".into(), "a b".into(), "-name".into(), "x".into()],
        );
        assert_eq!(s, "/usr/bin/qemu -append 'a b' -name x");
    }
}
