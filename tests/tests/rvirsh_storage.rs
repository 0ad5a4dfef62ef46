//! rvirsh's storage commands beside the pool and volume basics print what virsh prints
//! against the same rvirtd `qemu:///system` (the storage module): `pool-capabilities`,
//! `find-storage-pool-sources(-as)` and `vol-create-from`, successes and refusals.

use std::path::PathBuf;

use rvirt_tests::virsh::{ok as virsh_ok, run_with, VIRSH};
use rvirt_tests::{have_program, require_peer, target_dir, Daemon, TempDir};

#[test]
fn storage_extras_print_as_virsh_prints_them() {
    if !require_peer("virsh (libvirt-clients)", have_program(VIRSH))
        || !require_peer("qemu-img (qemu-utils)", have_program("/usr/bin/qemu-img"))
    {
        return;
    }
    let d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let dir = TempDir::new("rvirsh-storage");
    let target = dir.0.join("pool");
    std::fs::create_dir(&target).unwrap();
    let pool = format!("rvs{}", std::process::id());
    virsh_ok(
        &uri,
        &[
            "pool-create-as",
            &pool,
            "dir",
            "--target",
            target.to_str().unwrap(),
        ],
    );
    virsh_ok(&uri, &["vol-create-as", &pool, "src.img", "1M"]);
    let spec = dir.0.join("new.xml");
    let shells = [PathBuf::from(VIRSH), target_dir().join("rvirsh")];
    for (i, shell) in shells.iter().enumerate() {
        let new = format!("copy{i}.img");
        std::fs::write(
            &spec,
            format!("<volume><name>{new}</name><capacity>1048576</capacity></volume>"),
        )
        .unwrap();
        let spec = spec.to_str().unwrap();
        let (out, err, code) = run_with(
            shell,
            &uri,
            &[
                "vol-create-from",
                &pool,
                spec,
                "src.img",
                "--inputpool",
                &pool,
            ],
        );
        assert_eq!(
            (out.as_str(), err.as_str(), code),
            (
                format!("Vol {new} created from input vol src.img\n\n").as_str(),
                "",
                0
            ),
            "{}",
            shell.display()
        );
        assert!(target.join(&new).exists());
    }
    let spec = spec.to_str().unwrap();
    for args in [
        &["pool-capabilities"][..],
        &["find-storage-pool-sources", "dir"],
        &[
            "find-storage-pool-sources-as",
            "netfs",
            "--host",
            "localhost",
        ],
        &[
            "vol-create-from",
            &pool,
            spec,
            "nope.img",
            "--inputpool",
            &pool,
        ],
        &[
            "vol-create-from",
            &pool,
            "/nonexistent.xml",
            "src.img",
            "--inputpool",
            &pool,
        ],
    ] {
        let [virsh, rvirsh] = shells.clone().map(|s| run_with(&s, &uri, args));
        assert_eq!(rvirsh, virsh, "{args:?}");
    }
    let caps = virsh_ok(&uri, &["pool-capabilities"]);
    assert!(caps.contains("<pool type='dir' supported='yes'>"), "{caps}");
    virsh_ok(&uri, &["pool-destroy", &pool]);
}
