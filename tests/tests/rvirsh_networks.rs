//! rvirsh's `net-port-*` and `net-update` commands against a real libvirtd print what
//! virsh prints. The networks forward to a host bridge that does not exist, so libvirtd
//! sets up nothing on the host.

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
    // libvirtd 9.0 leaves the ports directory of a network that had ports.
    let _ = std::fs::remove_dir_all(format!("/run/libvirt/network/{net}"));
}

#[test]
fn net_update_prints_as_virsh_prints() {
    if !require_peer("virsh (libvirt-clients)", have_program(VIRSH)) {
        return;
    }
    let Some(libvirtd) = Libvirtd::start() else {
        return;
    };
    let uri = libvirtd.uri("qemu", "system");
    let dir = TempDir::new("rvirsh-net-update");
    let net = format!("rvnu{}", std::process::id());
    let net_xml = dir.0.join("net.xml");
    std::fs::write(
        &net_xml,
        format!(
            "<network><name>{net}</name><forward mode='bridge'/><bridge name='rvnux0'/></network>"
        ),
    )
    .unwrap();
    // Persistent (in the host's /etc/libvirt): undefined again whatever happens.
    struct Undefine<'a>(&'a str, &'a str);
    impl Drop for Undefine<'_> {
        fn drop(&mut self) {
            let _ = rvirt_tests::virsh::run(self.0, &["net-destroy", self.1]);
            let _ = rvirt_tests::virsh::run(self.0, &["net-undefine", self.1]);
        }
    }
    virsh_ok(&uri, &["net-define", net_xml.to_str().unwrap()]);
    let _undefine = Undefine(&uri, &net);
    let [virsh, rvirsh] = [PathBuf::from(VIRSH), target_dir().join("rvirsh")];
    let pg = |name: &str| format!("<portgroup name='{name}'/>");
    // Inactive: --current is the config. Then running: live, both, the config alone.
    let steps: Vec<(Vec<String>, bool)> = vec![
        (vec!["add".into(), "portgroup".into(), pg("a")], false),
        (
            vec![
                "delete".into(),
                "portgroup".into(),
                pg("a"),
                "--config".into(),
            ],
            false,
        ),
        (
            vec![
                "add-first".into(),
                "portgroup".into(),
                pg("b"),
                "--live".into(),
            ],
            true,
        ),
        (
            vec![
                "add".into(),
                "portgroup".into(),
                pg("c"),
                "--live".into(),
                "--config".into(),
            ],
            true,
        ),
        (vec!["delete".into(), "portgroup".into(), pg("b")], true),
        (
            vec![
                "modify".into(),
                "portgroup".into(),
                pg("nope"),
                "--live".into(),
            ],
            true,
        ),
        (vec!["frob".into(), "portgroup".into(), pg("x")], true),
        (vec!["add".into(), "bogus".into(), pg("x")], true),
        (
            vec![
                "add".into(),
                "portgroup".into(),
                pg("x"),
                "--current".into(),
                "--live".into(),
            ],
            true,
        ),
        (
            vec!["add".into(), "portgroup".into(), "/nonexistent.xml".into()],
            true,
        ),
    ];
    // One round of `steps` with `shell`: every output, then the live and persistent XML.
    let round = |shell: &PathBuf| {
        let mut started = false;
        let mut outputs = Vec::new();
        for (args, running) in &steps {
            if *running && !started {
                virsh_ok(&uri, &["net-start", &net]);
                started = true;
            }
            let mut words = vec!["net-update", net.as_str()];
            words.extend(args.iter().map(String::as_str));
            outputs.push(run_with(shell, &uri, &words));
        }
        let live = virsh_ok(&uri, &["net-dumpxml", &net]);
        let config = virsh_ok(&uri, &["net-dumpxml", "--inactive", &net]);
        virsh_ok(&uri, &["net-destroy", &net]);
        // Back to the network as defined, for the next round.
        for name in ["b", "c"] {
            let _ = rvirt_tests::virsh::run(
                &uri,
                &[
                    "net-update",
                    &net,
                    "delete",
                    "portgroup",
                    &pg(name),
                    "--config",
                ],
            );
        }
        (outputs, live, config)
    };
    let want = round(&virsh);
    assert_eq!(
        want.0[0].0,
        format!("Updated network {net} persistent config\n")
    );
    assert!(want.1.contains("<portgroup name='c'>"), "{}", want.1);
    assert_eq!(round(&rvirsh), want);
}
