//! rvirsh's `net-port-*` commands against a real libvirtd print what virsh prints. The
//! network forwards to a host bridge that does not exist, so libvirtd sets up nothing on
//! the host; it is transient and goes with the daemon.

use std::path::PathBuf;

use rvirt_tests::virsh::{ok as virsh_ok, run_with, VIRSH};
use rvirt_tests::{have_program, require_peer, target_dir, Libvirtd, TempDir};

const PORT: &str = "11111111-2222-3333-4444-555555555555";

#[test]
fn network_port_commands_print_as_virsh_prints_them() {
    if !require_peer("virsh (libvirt-clients)", have_program(VIRSH)) {
        return;
    }
    let Some(libvirtd) = Libvirtd::start() else {
        return;
    };
    let uri = libvirtd.uri("qemu", "system");
    let dir = TempDir::new("rvirsh-net-ports");
    let net = format!("rvnp{}", std::process::id());
    let net_xml = dir.0.join("net.xml");
    std::fs::write(
        &net_xml,
        format!(
            "<network><name>{net}</name><forward mode='bridge'/><bridge name='rvnpx0'/></network>"
        ),
    )
    .unwrap();
    virsh_ok(&uri, &["net-create", net_xml.to_str().unwrap()]);
    let port_xml = dir.0.join("port.xml");
    std::fs::write(
        &port_xml,
        format!(
            "<networkport><uuid>{PORT}</uuid><owner><name>g</name>\
             <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid></owner>\
             <mac address='52:54:00:11:22:33'/></networkport>"
        ),
    )
    .unwrap();
    let px = port_xml.to_str().unwrap();
    let [virsh, rvirsh] = [PathBuf::from(VIRSH), target_dir().join("rvirsh")];
    let both = |args: &[&str]| {
        let want = run_with(&virsh, &uri, args);
        let got = run_with(&rvirsh, &uri, args);
        (want, got)
    };
    // One shell creates, both list and dump, the other deletes; then again the other way.
    for (creator, deleter) in [(&virsh, &rvirsh), (&rvirsh, &virsh)] {
        let (want, got) = both(&["net-port-list", &net]);
        assert_eq!(got, want);
        let created = run_with(creator, &uri, &["net-port-create", &net, px]);
        assert_eq!(
            created,
            (
                format!("Network port {PORT} created from {px}\n\n"),
                String::new(),
                0
            )
        );
        for args in [
            &["net-port-list", net.as_str()][..],
            &["net-port-list", &net, "--uuid"],
            &["net-port-dumpxml", &net, PORT],
            &["net-port-create", &net, px],
            &["net-port-create", &net, "/nonexistent.xml"],
        ] {
            let (want, got) = both(args);
            assert_eq!(got, want, "{args:?}");
        }
        let deleted = run_with(deleter, &uri, &["net-port-delete", &net, PORT]);
        assert_eq!(
            deleted,
            (format!("Network port {PORT} deleted\n\n"), String::new(), 0)
        );
    }
    // A port that is not there: the same message. virsh 9.0 then exits 0; rvirsh says
    // that it failed.
    for args in [
        &["net-port-dumpxml", net.as_str(), PORT][..],
        &["net-port-delete", &net, "not-a-uuid"],
    ] {
        let (want, got) = both(args);
        assert_eq!((&got.0, &got.1), (&want.0, &want.1), "{args:?}");
        assert!(
            want.1.starts_with("error: failed to get network port '"),
            "{want:?}"
        );
        assert_eq!((want.2, got.2), (0, 1), "{args:?}");
    }
    virsh_ok(&uri, &["net-destroy", &net]);
}
