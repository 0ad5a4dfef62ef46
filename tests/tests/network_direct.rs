//! `direct` (macvtap) interfaces: `<interface type='direct'>` on a host device, and a
//! `network` interface on a network that forwards in `private` mode, whose port the
//! network driver plugs as `direct`. rvirtd runs in a fresh network namespace with a
//! veth `p0` as the macvtaps' parent, so nothing is made in the machine's own.

use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use rvirt_tests::netns::{self, Netns};
use rvirt_tests::{have_program, require_peer, virsh, Daemon};

const QEMU: &str = "/usr/bin/qemu-system-x86_64";
const MAC: &str = "52:54:00:d1:0e:01";

/// rvirtd in a namespace of its own with the parent `p0` (a veth, up); None without peers.
fn with_parent(tag: &str) -> Option<(Netns, Daemon, String)> {
    with_parent_and_config(tag, "")
}

/// [`with_parent`], rvirtd's configuration ending with `extra`.
fn with_parent_and_config(tag: &str, extra: &str) -> Option<(Netns, Daemon, String)> {
    let ok = require_peer("virsh (libvirt-clients)", have_program(virsh::VIRSH))
        && require_peer("ip, nft and dnsmasq", netns::tools_available())
        && require_peer("qemu-system-x86", have_program(QEMU));
    if !ok {
        return None;
    }
    let host = Netns::new(tag);
    host.ip_in(&["link", "add", "p0", "type", "veth", "peer", "name", "p1"]);
    host.ip_in(&["link", "set", "p0", "up"]);
    let d = Daemon::start_in_netns(&host, extra);
    let uri = d.uri("qemu:///system");
    Some((host, d, uri))
}

fn file(d: &Daemon, name: &str, text: &str) -> String {
    let f = d.dir.0.join(name);
    std::fs::write(&f, text).unwrap();
    f.display().to_string()
}

/// Reads `path` inside the namespace (its own /sys).
fn read_in(host: &Netns, path: &str) -> String {
    let out = host.exec("cat", &[path]);
    assert!(out.status.success(), "cat {path}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `major:minor` of a device number, as sysfs writes it (Linux's encoding).
fn dev_numbers(rdev: u64) -> String {
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    format!("{major}:{minor}")
}

/// Guest `name` runs on `macvtap0`: on `p0` in `mode` with the guest's own MAC, shown
/// in the live XML, and QEMU holds the macvtap's character device as its tap descriptor.
fn assert_on_macvtap(host: &Netns, uri: &str, name: &str, mode: &str) -> String {
    let link = host.ip_in(&["-d", "link", "show", "dev", "macvtap0"]);
    assert!(link.contains("macvtap0@p0:"), "{link}");
    assert!(link.contains(&format!("macvtap mode {mode} ")), "{link}");
    assert!(link.contains(&format!("link/ether {MAC} ")), "{link}");
    assert!(link.contains(",UP"), "{link}");
    let live = virsh::ok(uri, &["dumpxml", name]);
    assert!(live.contains("<target dev='macvtap0'/>"), "{live}");
    assert!(live.contains("<interface type='direct'>"), "{live}");
    let pid = host.qemu_pid(name).expect("QEMU runs");
    let fd = rvirt_tests::qemu_tap_fd(pid);
    let held = std::fs::metadata(format!("/proc/{pid}/fd/{fd}")).unwrap();
    let index = read_in(host, "/sys/class/net/macvtap0/ifindex");
    let want = read_in(
        host,
        &format!("/sys/class/net/macvtap0/macvtap/tap{index}/dev"),
    );
    assert_eq!(
        dev_numbers(held.rdev()),
        want,
        "QEMU's fd {fd} is not the macvtap"
    );
    live
}

/// Whether `macvtap0` is gone within a few seconds.
fn macvtap_gone(host: &Netns) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if !host.links().iter().any(|l| l.starts_with("macvtap")) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn a_direct_interface_gets_a_macvtap_on_its_device() {
    let Some((host, d, uri)) = with_parent("direct") else {
        return;
    };
    let name = format!("rvdirect-{}", std::process::id());
    let iface = format!(
        "<interface type='direct'><mac address='{MAC}'/><source dev='p0' mode='bridge'/>\
         <model type='virtio'/></interface>"
    );
    let xml = file(&d, "g.xml", &virsh::tiny_qemu_xml_with(&name, &iface));
    virsh::ok(&uri, &["create", &xml]);
    let live = assert_on_macvtap(&host, &uri, &name, "bridge");
    assert!(live.contains("<source dev='p0' mode='bridge'/>"), "{live}");
    virsh::ok(&uri, &["destroy", &name]);
    assert!(macvtap_gone(&host), "the macvtap outlived the guest");

    // A macvtap whose QEMU dies goes too.
    virsh::ok(&uri, &["create", &xml]);
    assert_on_macvtap(&host, &uri, &name, "bridge");
    netns::kill(host.qemu_pid(&name).expect("QEMU runs"), "-KILL");
    assert!(macvtap_gone(&host), "a crashed guest's macvtap stayed");
    let bogus = iface.replace("mode='bridge'", "mode='bogus'");
    let bad = file(&d, "bad.xml", &virsh::tiny_qemu_xml_with(&name, &bogus));
    let (_, err, code) = virsh::run(&uri, &["create", &bad]);
    assert!(
        code != 0 && err.contains("Unknown mode has been specified"),
        "{err}"
    );
    assert!(macvtap_gone(&host));
}

const PRIVATE_NET: &str = "<network><name>priv</name>\
    <forward mode='private'><interface dev='p0'/></forward></network>";

/// The `<source>` line of the interface on `priv` in the live XML.
fn live_source(live: &str) -> String {
    live.lines()
        .map(str::trim)
        .find(|l| l.starts_with("<source network='priv'"))
        .unwrap_or_else(|| panic!("no network source in {live}"))
        .to_string()
}

fn ports(uri: &str) -> Vec<String> {
    let out = virsh::ok(uri, &["net-port-list", "priv", "--uuid"]);
    out.split_whitespace().map(str::to_string).collect()
}

#[test]
fn a_private_network_plugs_its_guests_as_macvtaps() {
    let Some((host, mut d, uri)) = with_parent("privnet") else {
        return;
    };
    virsh::ok(&uri, &["net-define", &file(&d, "priv.xml", PRIVATE_NET)]);
    virsh::ok(&uri, &["net-start", "priv"]);
    let name = format!("rvprivnet-{}", std::process::id());
    let iface = format!(
        "<interface type='network'><mac address='{MAC}'/><source network='priv'/>\
         <model type='virtio'/></interface>"
    );
    let xml = file(&d, "g.xml", &virsh::tiny_qemu_xml_with(&name, &iface));
    virsh::ok(&uri, &["create", &xml]);
    let live = assert_on_macvtap(&host, &uri, &name, "private");
    let port = ports(&uri);
    assert_eq!(port.len(), 1, "{port:?}");
    let source = live_source(&live);
    let want = format!(
        "<source network='priv' portid='{}' dev='p0' mode='private'/>",
        port[0]
    );
    assert_eq!(source, want);

    // A killed daemon's successor shows the same and still unplugs.
    d.kill9_and_restart();
    let live = assert_on_macvtap(&host, &uri, &name, "private");
    assert_eq!(live_source(&live), source, "{live}");
    virsh::ok(&uri, &["destroy", &name]);
    assert!(macvtap_gone(&host), "the macvtap outlived the guest");
    assert_eq!(
        ports(&uri),
        Vec::<String>::new(),
        "the port outlived the guest"
    );

    // QEMU dies while the daemon is stopped: its successor deletes macvtap and port.
    virsh::ok(&uri, &["create", &xml]);
    assert_on_macvtap(&host, &uri, &name, "private");
    netns::kill(host.rvirtd_pid(), "-STOP");
    netns::kill(host.qemu_pid(&name).expect("QEMU runs"), "-KILL");
    d.kill9_and_restart();
    assert!(macvtap_gone(&host), "an orphaned guest's macvtap stayed");
    assert_eq!(ports(&uri), Vec::<String>::new());
    virsh::ok(&uri, &["net-destroy", "priv"]);
    virsh::ok(&uri, &["net-undefine", "priv"]);
}

/// A direct interface's `<bandwidth>` goes on its macvtap the other way round from a
/// tap's (libvirt's unswapped shaping: the guest's outbound rate is the macvtap's
/// transmit side, its inbound rate is policed), through a recording `tc`.
#[test]
fn a_macvtap_is_shaped_unswapped() {
    if !require_peer("tc (iproute2)", have_program("/usr/sbin/tc")) {
        return;
    }
    let tcdir = rvirt_tests::TempDir::new("tc-macvtap");
    let tc = netns::tc_recorder(&tcdir.0);
    let extra = format!("[drivers.qemu]\ntc = \"{}\"\n", tc.display());
    let Some((host, d, uri)) = with_parent_and_config("dirshape", &extra) else {
        return;
    };
    let name = format!("rvdirshape-{}", std::process::id());
    let iface = format!(
        "<interface type='direct'><mac address='{MAC}'/><source dev='p0' mode='bridge'/>\
         <bandwidth><inbound average='1000'/><outbound average='200' peak='400'/></bandwidth>\
         </interface>"
    );
    let xml = file(&d, "g.xml", &virsh::tiny_qemu_xml_with(&name, &iface));
    virsh::ok(&uri, &["create", &xml]);
    let log = std::fs::read_to_string(tcdir.0.join("tc.log")).unwrap_or_default();
    let got: Vec<&str> = log
        .lines()
        .map(|l| l.split(" -> ").next().unwrap_or(l))
        .collect();
    assert_eq!(
        got,
        [
            "qdisc add dev macvtap0 root handle 1: htb default 1",
            "class add dev macvtap0 parent 1: classid 1:1 htb rate 200kbps ceil 400kbps quantum 17",
            "qdisc add dev macvtap0 parent 1:1 handle 2: sfq perturb 10",
            "filter add dev macvtap0 parent 1:0 protocol all prio 1 handle 1 fw flowid 1",
            "qdisc add dev macvtap0 ingress",
            "filter add dev macvtap0 parent ffff: protocol all u32 match u32 0 0 police rate 1000kbps burst 1000kb mtu 64kb drop flowid :1",
        ],
        "{log}"
    );
    virsh::ok(&uri, &["destroy", &name]);
    assert!(macvtap_gone(&host), "the shaped macvtap outlived the guest");
}
