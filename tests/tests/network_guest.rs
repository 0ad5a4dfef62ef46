//! Guests on virtual networks: the network driver's ports (`virNetworkPort*`, what the
//! qemu driver asks for when it plugs an interface in), with rvirtd inside a network
//! namespace of its own so that the bridges and dnsmasq it starts stay there.

use std::path::Path;
use std::time::{Duration, Instant};

use rvirt_tests::guest;
use rvirt_tests::netdiff::Pair;
use rvirt_tests::netns::{self, Netns, DEFAULT_NETWORK_XML as DEFAULT_XML};
use rvirt_tests::xmldiff::python_libvirt;
use rvirt_tests::{have_program, require_peer, target_dir, virsh, Daemon, TempDir};

const PORT_UUID: &str = "5eed0000-0000-4000-8000-0000000000aa";

fn peers() -> bool {
    require_peer("virsh (libvirt-clients)", have_program(virsh::VIRSH))
        && require_peer("ip, nft and dnsmasq", netns::tools_available())
        && require_peer("python3-libvirt (libvirt-python)", python_libvirt())
}

/// Writes `text` into the daemon's directory and returns the path.
fn file(d: &Daemon, name: &str, text: &str) -> String {
    let f = d.dir.0.join(name);
    std::fs::write(&f, text).unwrap();
    f.display().to_string()
}

fn port_xml(bandwidth: &str) -> String {
    format!(
        "<networkport><uuid>{PORT_UUID}</uuid><owner><name>g</name>\
         <uuid>5eed0000-0000-4000-8000-000000000001</uuid></owner>\
         <mac address='52:54:00:aa:bb:cc'/>{bandwidth}</networkport>"
    )
}

/// The error of looking the port up by UUID, through libvirt-python.
fn lookup_error(uri: &str) -> String {
    let script = format!(
        "import libvirt\nc = libvirt.open('{uri}')\n\
         try:\n    c.networkLookupByName('default').portLookupByUUIDString('{PORT_UUID}')\n\
         except libvirt.libvirtError as e:\n    print(e.get_error_code(), e)\n"
    );
    let out = std::process::Command::new("/usr/bin/python3")
        .args(["-c", &script])
        .output()
        .expect("run python3");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The port's error texts are libvirtd 9.0's (compared by hand with one in a namespace).
#[test]
fn ports_are_plugged_listed_kept_across_restart_and_deleted() {
    if !peers() {
        return;
    }
    let host = Netns::new("ports");
    let mut d = Daemon::start_in_netns(&host, "");
    let uri = d.uri("qemu:///system");
    let net = file(&d, "default.xml", DEFAULT_XML);
    virsh::ok(&uri, &["net-define", &net]);
    let port = file(
        &d,
        "port.xml",
        &port_xml("<bandwidth><inbound average='100' peak='200' burst='300'/></bandwidth>"),
    );
    let (_, err, rc) = virsh::run(&uri, &["net-port-create", "default", &port]);
    assert_ne!(rc, 0);
    assert!(
        err.contains("Requested operation is not valid: network 'default' is not active"),
        "{err}"
    );
    virsh::ok(&uri, &["net-start", "default"]);
    virsh::ok(&uri, &["net-port-create", "default", &port]);
    let (_, err, _) = virsh::run(&uri, &["net-port-create", "default", &port]);
    assert!(
        err.contains(&format!(
            "network port Network port with UUID {PORT_UUID} already exists exists already"
        )),
        "{err}"
    );
    let list = virsh::ok(&uri, &["net-port-list", "default", "--uuid"]);
    assert_eq!(list.trim(), PORT_UUID);
    let net = virsh::ok(&uri, &["net-dumpxml", "default"]);
    assert!(net.starts_with("<network connections='1'>"), "{net}");
    let net = virsh::ok(&uri, &["net-dumpxml", "default", "--inactive"]);
    assert!(net.starts_with("<network>"), "{net}");
    let xml = virsh::ok(&uri, &["net-port-dumpxml", "default", PORT_UUID]);
    assert!(
        xml.contains("<plug type='network' bridge='virbr0'/>"),
        "{xml}"
    );
    assert!(
        xml.contains("<inbound average='100' peak='200' burst='300'/>"),
        "{xml}"
    );

    // The port lives in the network's status: a killed daemon's successor keeps it.
    d.kill9_and_restart();
    let xml = virsh::ok(&uri, &["net-port-dumpxml", "default", PORT_UUID]);
    assert!(xml.contains("<mac address='52:54:00:aa:bb:cc'/>"), "{xml}");

    virsh::ok(&uri, &["net-port-delete", "default", PORT_UUID]);
    // virsh 9.0 exits 0 and hides the daemon's error when a port lookup fails.
    let (_, err, _) = virsh::run(&uri, &["net-port-dumpxml", "default", PORT_UUID]);
    assert!(err.contains("failed to get network port"), "{err}");
    let err = lookup_error(&uri);
    assert!(
        err.contains(&format!(
            "107 network port not found: Network port with UUID {PORT_UUID} does not exist"
        )),
        "{err}"
    );
    assert_eq!(
        virsh::ok(&uri, &["net-port-list", "default", "--uuid"]).trim(),
        ""
    );
    let net = virsh::ok(&uri, &["net-dumpxml", "default"]);
    assert!(net.starts_with("<network>"), "{net}");
    virsh::ok(&uri, &["net-destroy", "default"]);
    virsh::ok(&uri, &["net-undefine", "default"]);
}

/// The port calls both daemons answer (libvirt-python; arguments: the URI and the
/// daemon's network namespace). Networks in `bridge`, `vepa` and `private` mode create
/// nothing on the host, so libvirtd's own files get only definitions, undefined again at
/// the end; the NAT network with `<bandwidth>` (floors set, changed, refused and removed
/// through `setParameters`, with the bridge's tc classes after each step) lives in the
/// namespace. The script is `tests/data/network/ports.py`.
fn ports_script(uri: &str, ns: &Netns) -> String {
    let script = rvirt_tests::repo_root().join("tests/data/network/ports.py");
    rvirt_tests::python_output(&[script.to_str().expect("UTF-8 path"), uri, ns.name()])
}

#[test]
fn ports_answer_as_libvirtd_answers() {
    if !peers() {
        return;
    }
    let Some(Pair {
        lns,
        lv,
        rns,
        rv,
        tc_logs: Some((ltc, rtc)),
    }) = Pair::with_tc_recorders("ports")
    else {
        return;
    };
    let theirs = ports_script(&lv.uri("qemu", "system"), &lns);
    drop(lv);
    // libvirtd leaves an empty port directory per network in its (the host's) state.
    // and the pid file of the dnsmasq of its NAT network.
    let _ = std::fs::remove_file("/run/libvirt/network/rvnp-c.pid");
    for n in ["rvnp-a", "rvnp-b", "rvnp-c", "rvnp-d", "rvnp-f"] {
        let _ = std::fs::remove_dir_all(format!("/run/libvirt/network/{n}"));
    }
    let ours = ports_script(&rv.uri("qemu:///system"), &rns);
    assert!(theirs.contains("dump OK <networkport>"), "{theirs}");
    assert!(theirs.contains("floor-over ERR"), "{theirs}");
    assert!(theirs.contains("classID='3'"), "{theirs}");
    assert!(theirs.contains("<inbound average='111'/>"), "{theirs}");
    assert!(theirs.contains("vport-nat ERR"), "{theirs}");
    let (t, o): (Vec<&str>, Vec<&str>) = (theirs.lines().collect(), ours.lines().collect());
    for (a, b) in t.iter().zip(&o) {
        assert_eq!(a, b, "libvirtd (left) and rvirtd (right) differ");
    }
    assert_eq!(t.len(), o.len(), "libvirtd:\n{theirs}\nrvirtd:\n{ours}");
    let log = |d: &TempDir| std::fs::read_to_string(d.0.join("tc.log")).unwrap_or_default();
    assert!(log(&ltc).contains("class change"), "{}", log(&ltc));
    assert_eq!(log(&rtc), log(&ltc), "tc commands: rvirt's, then libvirt's");
}

// ---------------------------------------------------------------------------------------
// A real guest on the `default` network.

const QEMU: &str = "/usr/bin/qemu-system-x86_64";
/// The guest's interface on `default` (NET_INIT finds it by this address).
const GUEST_MAC: &str = "52:54:00:5e:ed:01";
/// A second interface, whose link starts down.
const DOWN_MAC: &str = "52:54:00:5e:ed:02";

/// The guest's /init: loads virtio-net, reports each interface's carrier, asks for a lease with udhcpc, pings the gateway
/// and reports each step on the serial console, then waits to be destroyed.
const NET_INIT: &str = r#"#!/bin/busybox sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox --install -s
echo "RVIRT-GUEST-UP $(uname -r)"
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
         failover net_failover virtio_net; do
    insmod /modules/$m.ko
done
cat > /udhcpc.sh <<'SCRIPT'
#!/bin/sh
case "$1" in
bound|renew)
  ifconfig "$interface" "$ip" netmask "$subnet"
  [ -n "$router" ] && route add default gw "$router" dev "$interface"
  ;;
esac
exit 0
SCRIPT
chmod 755 /udhcpc.sh
ip link set lo up
dev=
for n in /sys/class/net/eth*; do
    ip link set "${n##*/}" up
    [ "$(cat $n/address)" = 52:54:00:5e:ed:01 ] && dev=${n##*/}
done
sleep 1
for n in /sys/class/net/eth*; do
    echo "RVIRT-CARRIER $(cat $n/address) $(cat $n/carrier)"
done
if udhcpc -i "$dev" -s /udhcpc.sh -n -q -t 20 -T 2; then
    echo "RVIRT-LEASE $(ip -4 -o addr show dev "$dev" | grep -o 'inet [0-9.]*')"
else
    echo RVIRT-NO-LEASE
fi
if ping -c 3 -W 3 192.168.122.1 >/dev/null; then echo RVIRT-PING-OK; else echo RVIRT-PING-FAIL; fi
echo RVIRT-NET-DONE
while true; do sleep 1; done
"#;

/// The kernel modules virtio-net needs, in load order.
const NET_MODULES: [(&str, &str); 8] = [
    ("virtio_ring.ko", "kernel/drivers/virtio/virtio_ring.ko"),
    ("virtio.ko", "kernel/drivers/virtio/virtio.ko"),
    (
        "virtio_pci_legacy_dev.ko",
        "kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
    ),
    (
        "virtio_pci_modern_dev.ko",
        "kernel/drivers/virtio/virtio_pci_modern_dev.ko",
    ),
    ("virtio_pci.ko", "kernel/drivers/virtio/virtio_pci.ko"),
    ("failover.ko", "kernel/net/core/failover.ko"),
    ("net_failover.ko", "kernel/drivers/net/net_failover.ko"),
    ("virtio_net.ko", "kernel/drivers/net/virtio_net.ko"),
];

fn guest_peers() -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    if !peers() || !require_peer("qemu-system-x86", have_program(QEMU)) {
        return None;
    }
    let kernel = guest::guest_kernel();
    let ok = require_peer(
        "a Linux kernel under /boot with modules (linux-image-cloud-amd64)",
        kernel.is_some(),
    ) && require_peer("a static busybox (busybox-static)", guest::static_busybox());
    kernel.filter(|_| ok)
}

fn net_guest_xml(name: &str, kernel: &Path, initrd: &Path, console: &Path) -> String {
    let ty = if guest::guest_kvm() { "kvm" } else { "qemu" };
    format!(
        "<domain type='{ty}'>
  <name>{name}</name>
  <memory unit='MiB'>192</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>{QEMU}</emulator>
    <interface type='network'>
      <mac address='{GUEST_MAC}'/>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
    <interface type='user'>
      <mac address='{DOWN_MAC}'/>
      <model type='virtio'/>
      <link state='down'/>
    </interface>
    <serial type='file'><source path='{console}'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>",
        kernel = kernel.display(),
        initrd = initrd.display(),
        console = console.display(),
    )
}

/// Waits until the console says `needle` (or the guest gave up).
fn wait_console(console: &Path, needle: &str) -> String {
    let deadline = Instant::now() + guest::boot_timeout();
    loop {
        let text = std::fs::read_to_string(console).unwrap_or_default();
        if text.contains(needle) || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Whether `ip` answers pings from the daemon's namespace (where the bridge is).
fn pings(host: &Netns, ip: &str) -> bool {
    host.exec("busybox", &["ping", "-c", "2", "-W", "3", ip])
        .status
        .success()
}

/// The running guest `name` is plugged in: tap `vnet0` on `virbr0` (host-side MAC, QEMU
/// holding its descriptor), shown by the live XML and `domiflist`, and one port.
fn assert_plugged(host: &Netns, uri: &str, name: &str) {
    let live = virsh::ok(uri, &["dumpxml", name]);
    assert!(live.contains("<target dev='vnet0'/>"), "{live}");
    // QEMU got the tap as an inherited descriptor, as libvirt passes it.
    let pid = host.qemu_pid(name).expect("QEMU runs");
    let fd = rvirt_tests::qemu_tap_fd(pid);
    let target = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).unwrap();
    assert_eq!(target, Path::new("/dev/net/tun"));
    let iflist = virsh::ok(uri, &["domiflist", name]);
    let row: Vec<&str> = iflist
        .lines()
        .find(|l| l.contains(GUEST_MAC))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    assert_eq!(
        row,
        ["vnet0", "network", "default", "virtio", GUEST_MAC],
        "{iflist}"
    );
    let link = host.ip_in(&["-d", "link", "show", "dev", "vnet0"]);
    assert!(link.contains("master virbr0"), "{link}");
    assert!(link.contains("link/ether fe:54:00:5e:ed:01"), "{link}");
    let ports = virsh::ok(uri, &["net-port-list", "default", "--uuid"]);
    assert_eq!(ports.trim().lines().count(), 1, "{ports}");
    let port = virsh::ok(uri, &["net-port-dumpxml", "default", ports.trim()]);
    assert!(port.contains(&format!("<name>{name}</name>")), "{port}");
    // The live XML names the port and the bridge it is on, as libvirt's does.
    let source = format!(
        "<source network='default' portid='{}' bridge='virbr0'/>",
        ports.trim()
    );
    assert!(live.contains(&source), "{live}");
    assert!(
        port.contains(&format!("<mac address='{GUEST_MAC}'/>")),
        "{port}"
    );
}

/// The `<source>` line of the `network` interface on `default` in the live XML `live`.
fn live_source(live: &str) -> String {
    live.lines()
        .map(str::trim)
        .find(|l| l.starts_with("<source network='default'"))
        .unwrap_or_else(|| panic!("no network source in {live}"))
        .to_string()
}

/// What the guest said on `console`: a lease, the gateway answering, carrier on its
/// plugged link and none on the one set down. Answers the leased address, checked also
/// by `net-dhcp-leases`, `domifaddr --source lease` and a ping from the host.
fn assert_online(host: &Netns, uri: &str, name: &str, console: &Path) -> String {
    let text = wait_console(console, "RVIRT-NET-DONE");
    assert!(
        text.contains("RVIRT-LEASE inet 192.168.122."),
        "console:\n{text}"
    );
    assert!(text.contains("RVIRT-PING-OK"), "console:\n{text}");
    assert!(
        text.contains(&format!("RVIRT-CARRIER {GUEST_MAC} 1")),
        "console:\n{text}"
    );
    assert!(
        text.contains(&format!("RVIRT-CARRIER {DOWN_MAC} 0")),
        "console:\n{text}"
    );
    let leases = virsh::ok(uri, &["net-dhcp-leases", "default"]);
    assert!(leases.contains(GUEST_MAC), "{leases}");
    let ip = text
        .split("RVIRT-LEASE inet ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .expect("the guest's address")
        .to_string();
    assert!(leases.contains(&format!("{ip}/24")), "{leases}");
    assert!(pings(host, &ip), "the host cannot reach the guest at {ip}");
    let addrs = virsh::ok(uri, &["domifaddr", name, "--source", "lease"]);
    let row: Vec<&str> = addrs
        .lines()
        .find(|l| l.contains(GUEST_MAC))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    let cidr = format!("{ip}/24");
    assert_eq!(row, ["vnet0", GUEST_MAC, "ipv4", &cidr], "{addrs}");
    ip
}

#[test]
fn guest_on_the_default_network_gets_a_lease_and_pings_the_gateway() {
    let Some((kernel, modules)) = guest_peers() else {
        return;
    };
    let host = Netns::new("guestnet");
    let mut d = Daemon::start_in_netns(&host, "");
    let uri = d.uri("qemu:///system");
    virsh::ok(&uri, &["net-define", &file(&d, "default.xml", DEFAULT_XML)]);
    virsh::ok(&uri, &["net-start", "default"]);
    let initrd = d.dir.0.join("initrd.cpio");
    guest::build_initramfs(&modules, &initrd, NET_INIT, &["sh"], &NET_MODULES);
    let console = d.dir.0.join("console.log");
    let name = format!("rvnet-{}", std::process::id());
    let xml = net_guest_xml(&name, &kernel, &initrd, &console);
    virsh::ok(&uri, &["define", &file(&d, "guest.xml", &xml)]);
    virsh::ok(&uri, &["start", &name]);

    assert_plugged(&host, &uri, &name);
    let ip = assert_online(&host, &uri, &name, &console);
    let source = live_source(&virsh::ok(&uri, &["dumpxml", &name]));

    // A killed daemon's successor leaves the guest plugged in and still unplugs it.
    d.kill9_and_restart();
    assert!(
        pings(&host, &ip),
        "the guest lost its network with the daemon"
    );
    let live = virsh::ok(&uri, &["dumpxml", &name]);
    assert!(live.contains("<target dev='vnet0'/>"), "{live}");
    // The port and its bridge are kept in the status file.
    assert_eq!(live_source(&live), source, "{live}");
    assert_eq!(
        virsh::ok(&uri, &["net-port-list", "default", "--uuid"])
            .trim()
            .lines()
            .count(),
        1
    );

    virsh::ok(&uri, &["destroy", &name]);
    assert!(
        !host.links().iter().any(|l| l == "vnet0"),
        "the tap outlived the guest"
    );
    assert_eq!(
        virsh::ok(&uri, &["net-port-list", "default", "--uuid"]).trim(),
        "",
        "the port outlived the guest"
    );
    virsh::ok(&uri, &["undefine", &name]);
    virsh::ok(&uri, &["net-destroy", "default"]);
    virsh::ok(&uri, &["net-undefine", "default"]);
}

#[test]
fn network_interface_without_a_network_module_is_refused_clearly() {
    if !require_peer("virsh (libvirt-clients)", have_program(virsh::VIRSH))
        || !require_peer("qemu-system-x86", have_program(QEMU))
    {
        return;
    }
    let modules = TempDir::new("qemu-only-modules");
    let so = "librvirt_driver_qemu.so";
    std::fs::copy(target_dir().join(so), modules.0.join(so)).expect("copy the qemu module");
    let d = Daemon::start_with(&modules.0, "", &[]);
    let uri = d.uri("qemu:///system");
    let name = format!("rvnet-none-{}", std::process::id());
    let xml = virsh::tiny_qemu_xml_with(&name, &on_network("default"));
    virsh::ok(&uri, &["define", &file(&d, "guest.xml", &xml)]);
    let (_, err, code) = virsh::run(&uri, &["start", &name]);
    let want = "unsupported configuration: interface on network 'default' needs the network \
                driver, but no network driver module is loaded";
    assert!(code != 0 && err.contains(want), "{err}");
    assert_eq!(virsh::ok(&uri, &["domstate", &name]).trim(), "shut off");
    virsh::ok(&uri, &["undefine", &name]);
}

/// Whether every tap and the domain's port are gone within a few seconds.
fn unplugged(host: &Netns, uri: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let ports = virsh::ok(uri, &["net-port-list", "default", "--uuid"]);
        if ports.trim().is_empty() && !host.links().iter().any(|l| l.starts_with("vnet")) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn on_network(net: &str) -> String {
    format!("<interface type='network'><source network='{net}'/></interface>")
}

/// rvirtd in namespace `tag` with the `default` network running; None without peers.
fn with_default_network(tag: &str) -> Option<(Netns, Daemon, String)> {
    if !peers() || !require_peer("qemu-system-x86", have_program(QEMU)) {
        return None;
    }
    let host = Netns::new(tag);
    let d = Daemon::start_in_netns(&host, "");
    let uri = d.uri("qemu:///system");
    virsh::ok(&uri, &["net-define", &file(&d, "default.xml", DEFAULT_XML)]);
    virsh::ok(&uri, &["net-start", "default"]);
    Some((host, d, uri))
}

#[test]
fn refused_and_failed_starts_leave_nothing_plugged() {
    let Some((host, d, uri)) = with_default_network("refusenet") else {
        return;
    };
    let name = format!("rvnet-refuse-{}", std::process::id());
    // The network driver's refusals reach the caller as libvirt's qemu driver passes them.
    let nowhere = file(
        &d,
        "nowhere.xml",
        &virsh::tiny_qemu_xml_with(&name, &on_network("nosuch")),
    );
    let (_, err, _) = virsh::run(&uri, &["create", &nowhere]);
    assert!(
        err.contains("Network not found: no network with matching name 'nosuch'"),
        "{err}"
    );
    virsh::ok(&uri, &["net-destroy", "default"]);
    let xml = file(
        &d,
        "guest.xml",
        &virsh::tiny_qemu_xml_with(&name, &on_network("default")),
    );
    let (_, err, _) = virsh::run(&uri, &["create", &xml]);
    assert!(
        err.contains("Requested operation is not valid: network 'default' is not active"),
        "{err}"
    );
    assert!(!host.links().iter().any(|l| l.starts_with("vnet")));
    virsh::ok(&uri, &["net-start", "default"]);
    // A start that fails after the plugging unplugs again.
    let disk = "<disk type='file' device='disk'><source file='/nonexistent/rvnet.img'/>\
                <target dev='vda' bus='virtio'/></disk>";
    let devices = format!("{}{disk}", on_network("default"));
    let broken = file(
        &d,
        "broken.xml",
        &virsh::tiny_qemu_xml_with(&name, &devices),
    );
    let (_, err, _) = virsh::run(&uri, &["create", &broken]);
    assert!(err.contains("Cannot access storage file"), "{err}");
    assert!(unplugged(&host, &uri), "a failed start stayed plugged in");
    virsh::ok(&uri, &["net-destroy", "default"]);
    virsh::ok(&uri, &["net-undefine", "default"]);
}

#[test]
fn crashed_and_orphaned_guests_are_unplugged() {
    let Some((host, mut d, uri)) = with_default_network("crashnet") else {
        return;
    };
    let name = format!("rvnet-crash-{}", std::process::id());
    let xml = file(
        &d,
        "guest.xml",
        &virsh::tiny_qemu_xml_with(&name, &on_network("default")),
    );
    // QEMU dies under a running daemon.
    virsh::ok(&uri, &["create", &xml]);
    assert!(host.links().iter().any(|l| l == "vnet0"));
    netns::kill(host.qemu_pid(&name).expect("QEMU runs"), "-KILL");
    assert!(unplugged(&host, &uri), "a crashed guest stayed plugged in");
    // QEMU dies while the daemon is stopped; its successor cleans up. The new tap is
    // numbered on, as libvirt numbers them.
    virsh::ok(&uri, &["create", &xml]);
    assert!(
        host.links().iter().any(|l| l == "vnet1"),
        "{:?}",
        host.links()
    );
    netns::kill(host.rvirtd_pid(), "-STOP");
    netns::kill(host.qemu_pid(&name).expect("QEMU runs"), "-KILL");
    d.kill9_and_restart();
    assert!(
        unplugged(&host, &uri),
        "an orphaned guest stayed plugged in"
    );
    virsh::ok(&uri, &["net-destroy", "default"]);
    virsh::ok(&uri, &["net-undefine", "default"]);
}

/// type='bridge' names the bridge itself: a tap on it with the interface's MTU, no port.
#[test]
fn a_bridged_guest_gets_a_tap_and_no_port() {
    let Some((host, d, uri)) = with_default_network("bridgenet") else {
        return;
    };
    let name = format!("rvnet-bridge-{}", std::process::id());
    let iface = "<interface type='bridge'><source bridge='virbr0'/><mtu size='1400'/>\
                 <model type='virtio'/></interface>";
    virsh::ok(
        &uri,
        &[
            "create",
            &file(&d, "bridged.xml", &virsh::tiny_qemu_xml_with(&name, iface)),
        ],
    );
    let link = host.ip_in(&["link", "show", "dev", "vnet0"]);
    assert!(
        link.contains("master virbr0") && link.contains("mtu 1400"),
        "{link}"
    );
    let ports = virsh::ok(&uri, &["net-port-list", "default", "--uuid"]);
    assert_eq!(ports.trim(), "");
    virsh::ok(&uri, &["destroy", &name]);
    assert!(unplugged(&host, &uri), "a bridged guest's tap outlived it");
    virsh::ok(&uri, &["net-destroy", "default"]);
    virsh::ok(&uri, &["net-undefine", "default"]);
}

/// A guest's `<bandwidth>` goes on its tap with libvirt's tc commands (one class, not
/// hierarchical): a bridge interface's own, and a network interface's through its port,
/// whose dump carries it.
#[test]
fn guests_taps_are_shaped_with_their_bandwidth() {
    if !peers()
        || !require_peer("qemu-system-x86", have_program(QEMU))
        || !require_peer("tc (iproute2)", have_program("/usr/sbin/tc"))
    {
        return;
    }
    let tcdir = TempDir::new("tc-taps");
    let tc = netns::tc_recorder(&tcdir.0);
    let host = Netns::new("tapbw");
    let tc_keys = format!("tc = \"{}\"\n", tc.display());
    let d = Daemon::start_in_netns(
        &host,
        &format!("[drivers.network]\n{tc_keys}[drivers.qemu]\n{tc_keys}"),
    );
    let uri = d.uri("qemu:///system");
    virsh::ok(&uri, &["net-define", &file(&d, "default.xml", DEFAULT_XML)]);
    virsh::ok(&uri, &["net-start", "default"]);
    let bw = "<bandwidth><inbound average='1000' peak='5000' burst='1024'/>\
              <outbound average='128'/></bandwidth>";
    let name = format!("rvnet-tapbw-{}", std::process::id());
    let ifaces = format!(
        "<interface type='bridge'><source bridge='virbr0'/>{bw}</interface>\
         <interface type='network'><source network='default'/>{bw}</interface>"
    );
    virsh::ok(
        &uri,
        &[
            "create",
            &file(&d, "shaped.xml", &virsh::tiny_qemu_xml_with(&name, &ifaces)),
        ],
    );
    let log = std::fs::read_to_string(tcdir.0.join("tc.log")).unwrap_or_default();
    for tap in ["vnet0", "vnet1"] {
        let want = [
            format!("qdisc add dev {tap} root handle 1: htb default 1"),
            format!("class add dev {tap} parent 1: classid 1:1 htb rate 1000kbps ceil 5000kbps burst 1024kb quantum 85"),
            format!("qdisc add dev {tap} parent 1:1 handle 2: sfq perturb 10"),
            format!("filter add dev {tap} parent 1:0 protocol all prio 1 handle 1 fw flowid 1"),
            format!("qdisc add dev {tap} ingress"),
            format!("filter add dev {tap} parent ffff: protocol all u32 match u32 0 0 police rate 128kbps burst 128kb mtu 64kb drop flowid :1"),
        ];
        let got: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(&format!("dev {tap} ")))
            .map(|l| l.split(" -> ").next().unwrap_or(l))
            .collect();
        assert_eq!(got, want, "tc commands on {tap}; whole log:\n{log}");
        let qdisc = host.exec("tc", &["qdisc", "show", "dev", tap]);
        let qdisc = String::from_utf8_lossy(&qdisc.stdout);
        assert!(qdisc.contains("qdisc htb 1: root"), "{tap}: {qdisc}");
    }
    let port = virsh::ok(&uri, &["net-port-list", "default", "--uuid"]);
    let dump = virsh::ok(&uri, &["net-port-dumpxml", "default", port.trim()]);
    assert!(
        dump.contains("<inbound average='1000' peak='5000' burst='1024'/>"),
        "{dump}"
    );
    virsh::ok(&uri, &["destroy", &name]);
    assert!(unplugged(&host, &uri), "a shaped guest stayed plugged in");
    virsh::ok(&uri, &["net-destroy", "default"]);
    virsh::ok(&uri, &["net-undefine", "default"]);
}

/// Real `virt-install --network network=default` against rvirtd: the guest it creates
/// runs, plugged into `virbr0` through a port of the `default` network.
#[test]
fn virt_install_puts_a_guest_on_the_default_network() {
    const VIRT_INSTALL: &str = "/usr/bin/virt-install";
    if !require_peer("virt-install (virtinst)", have_program(VIRT_INSTALL)) {
        return;
    }
    let Some((host, _d, uri)) = with_default_network("vinet") else {
        return;
    };
    let name = format!("rvnet-vi-{}", std::process::id());
    let out = std::process::Command::new(VIRT_INSTALL)
        .args(["--connect", &uri, "--name", &name, "--memory", "128"])
        .args(["--disk", "none", "--pxe", "--network", "network=default"])
        .args(["--graphics", "none", "--noautoconsole"])
        .args(["--osinfo", "detect=on,require=off"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run virt-install");
    assert!(
        out.status.success(),
        "virt-install: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(virsh::ok(&uri, &["domstate", &name]).trim(), "running");
    let iflist = virsh::ok(&uri, &["domiflist", &name]);
    assert!(
        iflist.lines().any(|l| l
            .split_whitespace()
            .take(3)
            .eq(["vnet0", "network", "default"])),
        "{iflist}"
    );
    let link = host.ip_in(&["link", "show", "dev", "vnet0"]);
    assert!(link.contains("master virbr0"), "{link}");
    let ports = virsh::ok(&uri, &["net-port-list", "default", "--uuid"]);
    assert_eq!(ports.trim().lines().count(), 1, "{ports}");
    virsh::ok(&uri, &["destroy", &name]);
    virsh::ok(&uri, &["undefine", &name]);
    assert!(unplugged(&host, &uri), "the guest's tap outlived it");
    virsh::ok(&uri, &["net-destroy", "default"]);
    virsh::ok(&uri, &["net-undefine", "default"]);
}
