//! Hotplugged interfaces plugged into host networks, in a network namespace of the test's
//! own: a `network` interface gets a port from the network driver and a tap on its bridge,
//! a `bridge` interface a tap on the bridge it names; QEMU gets each tap's descriptor
//! (`getfd`, as libvirt passes it); a stop removes the taps and deletes the port.

use std::path::Path;
use std::time::{Duration, Instant};

use rvirt_tests::netns::{self, Netns, DEFAULT_NETWORK_XML};
use rvirt_tests::virsh::{self, tiny_qemu_xml};
use rvirt_tests::{have_program, require_peer, Daemon};

fn file(d: &Daemon, name: &str, text: &str) -> String {
    let f = d.dir.0.join(name);
    std::fs::write(&f, text).unwrap();
    f.display().to_string()
}

/// The descriptors of process `pid` open on `/dev/net/tun`.
fn tun_fds(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| std::fs::read_link(e.path()).is_ok_and(|t| t == Path::new("/dev/net/tun")))
        .count()
}

#[test]
fn hotplugged_interfaces_are_plugged_and_unplugged() {
    if !rvirt_tests::require_qemu()
        || !require_peer("virsh (libvirt-clients)", have_program(virsh::VIRSH))
        || !require_peer("ip, nft and dnsmasq", netns::tools_available())
    {
        return;
    }
    let host = Netns::new("hpnet");
    let d = Daemon::start_in_netns(&host, "");
    let uri = d.uri("qemu:///system");
    virsh::ok(
        &uri,
        &["net-define", &file(&d, "default.xml", DEFAULT_NETWORK_XML)],
    );
    virsh::ok(&uri, &["net-start", "default"]);
    let name = format!("rvhpn{}", std::process::id());
    let xml = tiny_qemu_xml(&name).replace("</os>", "</os><features><acpi/></features>");
    virsh::ok(&uri, &["define", &file(&d, "dom.xml", &xml)]);
    virsh::ok(&uri, &["start", &name]);
    let pid = host.qemu_pid(&name).expect("QEMU runs");
    assert_eq!(tun_fds(pid), 0);
    let on_net = file(
        &d,
        "net.xml",
        "<interface type='network'><mac address='52:54:00:6b:00:11'/>\
         <source network='default'/><model type='virtio'/></interface>",
    );
    let on_bridge = file(
        &d,
        "br.xml",
        "<interface type='bridge'><mac address='52:54:00:6b:00:12'/>\
         <source bridge='virbr0'/><model type='virtio'/></interface>",
    );
    virsh::ok(&uri, &["attach-device", &name, &on_net, "--live"]);
    virsh::ok(&uri, &["attach-device", &name, &on_bridge, "--live"]);
    let live = virsh::ok(&uri, &["dumpxml", &name]);
    for (tap, mac, alias) in [
        ("vnet0", "fe:54:00:6b:00:11", "net0"),
        ("vnet1", "fe:54:00:6b:00:12", "net1"),
    ] {
        assert!(live.contains(&format!("<target dev='{tap}'/>")), "{live}");
        assert!(live.contains(&format!("<alias name='{alias}'/>")), "{live}");
        let link = host.ip_in(&["-d", "link", "show", "dev", tap]);
        assert!(link.contains("master virbr0"), "{link}");
        assert!(link.contains(&format!("link/ether {mac}")), "{link}");
    }
    let ports = virsh::ok(&uri, &["net-port-list", "default", "--uuid"]);
    assert_eq!(ports.trim().lines().count(), 1, "{ports}");
    assert!(
        live.contains(&format!(
            "<source network='default' portid='{}' bridge='virbr0'/>",
            ports.trim()
        )),
        "{live}"
    );
    // QEMU holds both taps (passed with getfd); the daemon kept no copy.
    assert_eq!(tun_fds(pid), 2);
    assert_eq!(tun_fds(host.rvirtd_pid()), 0);
    let info = virsh::ok(
        &uri,
        &["qemu-monitor-command", &name, "--hmp", "info network"],
    );
    assert!(
        info.contains("hostnet0") && info.contains("hostnet1"),
        "{info}"
    );
    virsh::ok(&uri, &["destroy", &name]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ports = virsh::ok(&uri, &["net-port-list", "default", "--uuid"]);
        let taps = host.links().iter().any(|l| l.starts_with("vnet"));
        if ports.trim().is_empty() && !taps {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "left plugged: {ports} {:?}",
            host.links()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    virsh::ok(&uri, &["undefine", &name]);
}
