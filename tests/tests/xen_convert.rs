//! The Xen module through rvirtd without a Xen host: xl.cfg → domain XML → xl.cfg for
//! every configuration under tests/data/xen (compared by meaning: the xl keys after
//! defaults, device strings parsed), conversion errors over the wire, and libvirt's
//! "libxenlight state driver is not active" for every domain call.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rvirt_core::Connect;
use rvirt_driver_xen::from_xl::{cmdline, guest_type, hvm_vfb};
use rvirt_driver_xen::xlcfg::{parse, Config};
use rvirt_driver_xen::xlspec::{Disk, Pci, Serial, Vfb, Vif};
use rvirt_protocol::error::{code, domain};
use rvirt_protocol::{
    RemoteClient, RemoteConnectDomainXmlFromNativeArgs, RemoteConnectDomainXmlToNativeArgs,
    RemoteError, REMOTE_PROGRAM_NUMBER,
};
use rvirt_tests::{have_program, repo_root, require_peer, virsh, Daemon};

const NOT_ACTIVE: &str = "internal error: libxenlight state driver is not active";

fn configs() -> Vec<(String, String)> {
    let dir: PathBuf = repo_root().join("tests/data/xen");
    let mut v: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("tests/data/xen")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "cfg"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("read cfg"))
        })
        .collect();
    v.sort();
    v
}

fn from_native(c: &Connect, format: &str, text: &str) -> Result<String, RemoteError> {
    c.connect_domain_xml_from_native(&RemoteConnectDomainXmlFromNativeArgs {
        native_format: format.into(),
        native_config: text.into(),
        flags: 0,
    })
    .map(|r| r.domain_xml)
}

fn to_native(c: &Connect, format: &str, xml: &str) -> Result<String, RemoteError> {
    c.connect_domain_xml_to_native(&RemoteConnectDomainXmlToNativeArgs {
        native_format: format.into(),
        domain_xml: xml.into(),
        flags: 0,
    })
    .map(|r| r.native_config)
}

fn put(m: &mut BTreeMap<String, String>, k: &str, v: impl std::fmt::Debug) {
    m.insert(k.to_string(), format!("{v:?}"));
}

fn each<T: std::fmt::Debug>(cfg: &Config, key: &str, f: impl Fn(&str) -> T) -> Vec<T> {
    cfg.strings(key).unwrap().iter().map(|s| f(s)).collect()
}

/// Domain XML never shows a VNC password (libvirt formats it only for
/// VIR_DOMAIN_XML_SECURE), so it cannot survive xl → XML → xl.
fn no_passwd(f: Vfb) -> Vfb {
    Vfb {
        vncpasswd: None,
        ..f
    }
}

/// What a configuration means, as the xl keys with their defaults applied.
fn meaning(cfg: &Config) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let ty = guest_type(cfg).unwrap();
    let mem = cfg.num("memory").unwrap().unwrap_or(128);
    let vcpus = cfg.num("vcpus").unwrap().unwrap_or(1);
    put(&mut m, "type", &ty);
    put(&mut m, "name", cfg.str("name").unwrap());
    put(&mut m, "memory", mem);
    put(
        &mut m,
        "maxmem",
        cfg.num("maxmem").unwrap().unwrap_or(mem).max(mem),
    );
    put(&mut m, "vcpus", vcpus);
    put(
        &mut m,
        "maxvcpus",
        cfg.num("maxvcpus").unwrap().unwrap_or(vcpus).max(vcpus),
    );
    put(&mut m, "cmdline", cmdline(cfg).unwrap());
    for k in [
        "cpus",
        "kernel",
        "ramdisk",
        "bootloader",
        "bootloader_args",
        "device_model_override",
    ] {
        put(&mut m, k, cfg.str(k).unwrap());
    }
    for (k, d) in [
        ("on_poweroff", "destroy"),
        ("on_reboot", "restart"),
        ("on_crash", "restart"),
    ] {
        put(&mut m, k, cfg.str(k).unwrap().unwrap_or_else(|| d.into()));
    }
    if ty == "hvm" {
        put(
            &mut m,
            "boot",
            cfg.str("boot").unwrap().unwrap_or_else(|| "c".into()),
        );
        for k in ["pae", "acpi", "apic"] {
            put(&mut m, k, cfg.flag(k).unwrap().unwrap_or(true));
        }
        put(&mut m, "vfb", hvm_vfb(cfg).unwrap().map(no_passwd));
    } else {
        put(
            &mut m,
            "vfb",
            each(cfg, "vfb", |s| no_passwd(Vfb::parse(s).unwrap())),
        );
    }
    for k in ["hap", "nestedhvm"] {
        put(&mut m, k, cfg.flag(k).unwrap());
    }
    put(
        &mut m,
        "localtime",
        cfg.flag("localtime").unwrap().unwrap_or(false),
    );
    put(&mut m, "rtc_timeoffset", cfg.num("rtc_timeoffset").unwrap());
    put(
        &mut m,
        "disk",
        each(cfg, "disk", |s| Disk::parse(s).unwrap()),
    );
    put(&mut m, "vif", each(cfg, "vif", |s| Vif::parse(s).unwrap()));
    put(&mut m, "pci", each(cfg, "pci", |s| Pci::parse(s).unwrap()));
    put(
        &mut m,
        "serial",
        each(cfg, "serial", |s| Serial::parse(s).unwrap()),
    );
    put(&mut m, "usbdevice", cfg.strings("usbdevice").unwrap());
    if cfg.get("uuid").is_some() {
        put(&mut m, "uuid", cfg.str("uuid").unwrap());
    }
    m
}

fn open(d: &Daemon) -> Connect {
    Connect::open(&d.uri("xen:///system")).expect("open xen:///system")
}

#[test]
fn every_config_round_trips_through_domain_xml() {
    let d = Daemon::start("");
    let c = open(&d);
    let all = configs();
    assert!(all.len() >= 40, "only {} configurations", all.len());
    for (name, text) in &all {
        let xml = from_native(&c, "xen-xl", text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(xml.starts_with("<domain type='xen'"), "{name}: {xml}");
        let back = to_native(&c, "xen-xl", &xml).unwrap_or_else(|e| panic!("{name}: {e}\n{xml}"));
        let (a, b) = (parse(text).unwrap(), parse(&back).unwrap());
        let mut want = meaning(&a);
        let got = meaning(&b);
        if !want.contains_key("uuid") {
            assert!(b.get("uuid").is_some(), "{name}: a uuid is generated");
        }
        want.extend(got.get("uuid").map(|u| ("uuid".to_string(), u.clone())));
        assert_eq!(want, got, "{name}\n--- xml\n{xml}\n--- back\n{back}");
        // The XML of the converted text is the same document again.
        let again = from_native(&c, "xen-xl", &back).unwrap();
        assert_eq!(again, xml, "{name}: second conversion");
    }
    // xm's spelling of the same guest converts too.
    let (_, text) = all.iter().find(|(n, _)| n == "xm-hvm.cfg").unwrap();
    let xml = from_native(&c, "xen-xm", text).unwrap();
    let xm = to_native(&c, "xen-xm", &xml).unwrap();
    assert!(xm.contains("builder = \"hvm\""), "{xm}");
}

fn err(r: Result<String, RemoteError>) -> RemoteError {
    r.expect_err("an error")
}

#[test]
fn bad_input_gets_libvirt_errors_over_the_wire() {
    let d = Daemon::start("");
    let c = open(&d);
    let e = err(from_native(&c, "xen-xl", "name = \"a\"\nmemory = \n"));
    assert_eq!((e.code, e.domain), (code::CONF_SYNTAX, domain::CONF), "{e}");
    assert_eq!(
        e.text(),
        "configuration file syntax error: memory conf:2: expecting a value"
    );
    let e = err(from_native(&c, "qemu-argv", "name = \"a\""));
    assert_eq!(
        (e.code, e.domain),
        (code::INVALID_ARG, domain::LIBXL),
        "{e}"
    );
    assert_eq!(
        e.text(),
        "invalid argument: unsupported config type qemu-argv"
    );
    let e = err(from_native(
        &c,
        "xen-xl",
        "name = \"a\"\ndisk = [ \"/x,raw,xvda,maybe\" ]",
    ));
    assert_eq!(
        (e.code, e.domain),
        (code::INVALID_ARG, domain::LIBXL),
        "{e}"
    );
    let e = err(from_native(&c, "xen-xl", "name = \"a\"\nmemory = \"much\""));
    assert_eq!(e.text(), "config value memory was malformed");
    let e = err(from_native(
        &c,
        "xen-xl",
        &format!("a = {}1{}", "[".repeat(50), "]".repeat(50)),
    ));
    assert_eq!(e.code, code::CONF_SYNTAX, "{e}");
    let e = err(from_native(&c, "xen-xl", "vcpus = 99999999999999999999999"));
    assert_eq!(e.code, code::CONF_SYNTAX, "{e}");
    let e = err(to_native(&c, "xen-xl", "<domain type='xen'><name>x</name>"));
    assert_eq!(e.code, code::XML_DETAIL, "{e}");
    let e = err(to_native(&c, "xen-native", "<domain/>"));
    assert_eq!(e.code, code::INVALID_ARG, "{e}");
    // The daemon is still serving.
    assert_eq!(c.driver_type().unwrap(), "Xen");
}

#[test]
fn every_domain_call_answers_not_active() {
    let d = Daemon::start("");
    let c = open(&d);
    assert_eq!(c.driver_type().unwrap(), "Xen");
    assert!(!c.hostname().unwrap().is_empty());
    let mut checked = 0;
    let mut wrong = Vec::new();
    for n in rvirt_driver_xen::conn::procedures() {
        if rvirt_driver_xen::conn::SERVED.contains(&n) {
            continue;
        }
        let Some(args) = rvirt_protocol::default_args_remote(n) else {
            continue;
        };
        let name = rvirt_protocol::procedure(REMOTE_PROGRAM_NUMBER, n).map(|p| p.name);
        // Event callbacks are the daemon's own (its event fan-out answers them).
        if name.is_some_and(|n| n.contains("EVENT_CALLBACK")) {
            continue;
        }
        match c.raw_call(REMOTE_PROGRAM_NUMBER, n, args) {
            Err(e)
                if (e.code, e.domain, e.text())
                    == (code::INTERNAL_ERROR, domain::LIBXL, NOT_ACTIVE) => {}
            other => wrong.push(format!("{n} {name:?}: {other:?}")),
        }
        checked += 1;
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(checked > 200, "only {checked} domain procedures checked");
    assert!(
        d.log().contains("the xen driver is not active"),
        "{}",
        d.log()
    );
}

#[test]
fn real_virsh_converts_an_xl_config() {
    if !require_peer("virsh (libvirt-clients)", have_program(virsh::VIRSH)) {
        return;
    }
    let d = Daemon::start("");
    let file = repo_root().join("tests/data/xen/hvm-00.cfg");
    let out = virsh::ok(
        &d.uri("xen:///system"),
        &["domxml-from-native", "xen-xl", file.to_str().unwrap()],
    );
    assert!(out.contains("<name>hvm00</name>"), "{out}");
    assert!(
        out.contains("<type arch='x86_64' machine='xenfv'>hvm</type>"),
        "{out}"
    );
}

#[test]
fn rvirsh_converts_both_ways() {
    let d = Daemon::start("");
    let uri = d.uri("xen:///system");
    let rvirsh = rvirt_tests::target_dir().join("rvirsh");
    let file = repo_root().join("tests/data/xen/pv-01.cfg");
    let (xml, err, code) = virsh::run_with(
        &rvirsh,
        &uri,
        &["domxml-from-native", "xen-xl", file.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    assert!(xml.contains("<name>pv01</name>"), "{xml}");
    let dir = std::env::temp_dir().join(format!("xen-convert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let x = dir.join("pv01.xml");
    std::fs::write(&x, &xml).unwrap();
    let (cfg, err, code) = virsh::run_with(
        &rvirsh,
        &uri,
        &["domxml-to-native", "xen-xl", "--xml", x.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    assert!(cfg.contains("name = \"pv01\""), "{cfg}");
    let (_, err, code) = virsh::run_with(
        &rvirsh,
        &uri,
        &["domxml-from-native", "xen-xl", x.to_str().unwrap()],
    );
    assert_ne!(code, 0);
    assert!(err.contains("configuration file syntax error"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
