//! Differential: a network with a pool of forward interfaces (vepa, bridge, private,
//! passthrough) hands its ports the interface fewest ports use, shows the counts in its
//! live XML and runs out of passthrough interfaces with libvirt's error; a real
//! libvirtd 9.0 and rvirtd, each in a network namespace of its own, answer the same
//! libvirt-python script (tests/data/network/direct_pool.py) alike; so they do for pools
//! of SR-IOV functions on this machine, which has none (hostdev_pool.py: functions that
//! are not VFs, PFs without VFs, names where addresses belong, an empty pool). Nothing
//! is created on the host: ports name devices, only the hypervisor driver opens them.

use rvirt_tests::netns::{self, Netns};
use rvirt_tests::xmldiff::python_libvirt;
use rvirt_tests::{repo_root, require_peer, Daemon, Libvirtd};

/// Runs tests/data/network/NAME.py against `uri`; answers what it printed.
fn run_script(name: &str, uri: &str) -> String {
    let script = repo_root().join(format!("tests/data/network/{name}.py"));
    rvirt_tests::python_output(&[script.to_str().expect("UTF-8 path"), uri])
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
    let lv_uri = lv.uri("qemu", "system");
    let (theirs, their_sriov) = (
        run_script("direct_pool", &lv_uri),
        run_script("hostdev_pool", &lv_uri),
    );
    drop(lv);
    // A privileged libvirtd keeps its definitions in the host's /etc/libvirt.
    for n in ["rvdp", "rvhp"] {
        let _ = std::fs::remove_file(format!("/etc/libvirt/qemu/networks/{n}.xml"));
    }
    let rv = Daemon::start_in_netns(&rns, "");
    let rv_uri = rv.uri("qemu:///system");
    let (ours, our_sriov) = (
        run_script("direct_pool", &rv_uri),
        run_script("hostdev_pool", &rv_uri),
    );
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
    for fact in [
        "start hostdev <pf dev='lo'/> ERR 1 19 internal error: No usable Vf's present on SRIOV PF lo",
        "is not an SR-IOV Virtual Function",
        "port hostdev  ERR 1 19 internal error: network 'rvhp' requires exclusive access",
    ] {
        assert!(their_sriov.contains(fact), "libvirtd did not answer {fact:?}:\n{their_sriov}");
    }
    assert_same(&theirs, &ours);
    assert_same(&their_sriov, &our_sriov);
}

fn assert_same(theirs: &str, ours: &str) {
    let (t, o): (Vec<&str>, Vec<&str>) = (theirs.lines().collect(), ours.lines().collect());
    for (a, b) in t.iter().zip(&o) {
        assert_eq!(a, b, "libvirtd (left) and rvirtd (right) differ");
    }
    assert_eq!(t.len(), o.len(), "rvirtd:\n{ours}");
}
