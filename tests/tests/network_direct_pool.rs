//! Differential: a network with a pool of forward interfaces (vepa, bridge, private,
//! passthrough) hands its ports the interface fewest ports use, shows the counts in its
//! live XML and runs out of passthrough interfaces with libvirt's error; a real
//! libvirtd 9.0 and rvirtd, each in a network namespace of its own, answer the same
//! libvirt-python script (tests/data/network/direct_pool.py) alike. Nothing is created on
//! the host: direct ports name devices, only the hypervisor driver opens them.

use rvirt_tests::netns::{self, Netns};
use rvirt_tests::xmldiff::python_libvirt;
use rvirt_tests::{repo_root, require_peer, Daemon, Libvirtd};

fn run_script(uri: &str) -> String {
    let script = repo_root().join("tests/data/network/direct_pool.py");
    let out = std::process::Command::new("/usr/bin/python3")
        .arg(&script)
        .arg(uri)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn direct_ports_share_the_interface_pool_as_libvirtd_does() {
    if !require_peer("ip, nft and dnsmasq", netns::tools_available())
        || !require_peer("libvirt-python (python3-libvirt)", python_libvirt())
    {
        return;
    }
    let (lns, rns) = (Netns::new("lvdpool"), Netns::new("rvdpool"));
    let Some(lv) = Libvirtd::start_in_netns(&lns) else {
        return;
    };
    let theirs = run_script(&lv.uri("qemu", "system"));
    drop(lv);
    // A privileged libvirtd keeps its definitions in the host's /etc/libvirt.
    let _ = std::fs::remove_file("/etc/libvirt/qemu/networks/rvdp.xml");
    let rv = Daemon::start_in_netns(&rns, "");
    let ours = run_script(&rv.uri("qemu:///system"));
    // What libvirtd does, so that a script that stopped early cannot pass.
    for fact in [
        "vepa 3 OK <plug type='direct' dev='eth1' mode='vepa'/>",
        "<interface dev='eth1' connections='2'/>",
        "passthrough 3 ERR 1 19 internal error: network 'rvdp' requires exclusive access \
         to interfaces, but none are available",
        "passthrough after-delete OK <plug type='direct' dev='eth2' mode='passthrough'/>",
    ] {
        assert!(
            theirs.contains(fact),
            "libvirtd did not answer {fact:?}:\n{theirs}"
        );
    }
    let (t, o): (Vec<&str>, Vec<&str>) = (theirs.lines().collect(), ours.lines().collect());
    for (a, b) in t.iter().zip(&o) {
        assert_eq!(a, b, "libvirtd (left) and rvirtd (right) differ");
    }
    assert_eq!(t.len(), o.len(), "rvirtd:\n{ours}");
}
