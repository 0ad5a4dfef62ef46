//! `<disk type='volume'>` on the qemu driver: the pool and volume are resolved through
//! the storage driver module by a host call (never by linking), when the guest starts
//! or its command line is asked for. Without a storage module the definition is still
//! accepted (libvirt resolves volumes only at start) and starting says what is missing.

use rvirt_tests::virsh::{ok as virsh_ok, run as virsh, tiny_qemu_xml, VIRSH};
use rvirt_tests::{have_program, require_peer, target_dir, Daemon, TempDir};

fn peers_ok() -> bool {
    require_peer("virsh (libvirt-clients)", have_program(VIRSH))
        && require_peer(
            "qemu-system-x86_64 (qemu-system-x86)",
            have_program("/usr/bin/qemu-system-x86_64"),
        )
}

/// The tiny guest `name` with one virtio disk on `pool`/`volume`.
fn volume_guest(name: &str, pool: &str, volume: &str) -> String {
    let disk = format!(
        "<disk type='volume' device='disk'><source pool='{pool}' volume='{volume}'/>\
         <target dev='vda' bus='virtio'/></disk>"
    );
    let xml = tiny_qemu_xml(name);
    let at = xml.find("<devices>").expect("fixture has <devices>") + "<devices>".len();
    format!("{}{disk}{}", &xml[..at], &xml[at..])
}

#[test]
fn volume_disk_without_a_storage_module_is_refused_clearly() {
    if !peers_ok() {
        return;
    }
    let modules = TempDir::new("qemu-only-modules");
    let so = "librvirt_driver_qemu.so";
    std::fs::copy(target_dir().join(so), modules.0.join(so)).expect("copy the qemu module");
    let d = Daemon::start_with(&modules.0, "", &[]);
    let uri = d.uri("qemu:///system");
    let name = format!("vol-none-{}", std::process::id());
    let xml = d.dir.0.join("guest.xml");
    std::fs::write(&xml, volume_guest(&name, "images", "disk.qcow2")).unwrap();
    let xml = xml.to_str().unwrap();

    virsh_ok(&uri, &["define", xml]);
    let dumped = virsh_ok(&uri, &["dumpxml", &name]);
    assert!(
        dumped.contains("<disk type='volume' device='disk'>")
            && dumped.contains("<source pool='images' volume='disk.qcow2'/>"),
        "{dumped}"
    );
    let want = "unsupported configuration: disk 'vda' uses volume 'disk.qcow2' of pool \
                'images', but no storage driver module is loaded";
    let (_, err, code) = virsh(&uri, &["domxml-to-native", "qemu-argv", xml]);
    assert!(code != 0 && err.contains(want), "{err}");
    let (_, err, code) = virsh(&uri, &["start", &name]);
    assert!(code != 0 && err.contains(want), "{err}");
    assert_eq!(virsh_ok(&uri, &["domstate", &name]).trim(), "shut off");
    virsh_ok(&uri, &["undefine", &name]);
}

#[test]
fn volume_disk_resolves_through_the_storage_module() {
    if !peers_ok() || !require_peer("qemu-img (qemu-utils)", have_program("/usr/bin/qemu-img")) {
        return;
    }
    let d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let pool_dir = TempDir::new("qemu-volume-pool");
    let pool = format!("volpool{}", std::process::id());
    let target = pool_dir.0.to_str().unwrap();
    virsh_ok(&uri, &["pool-create-as", &pool, "dir", "--target", target]);
    virsh_ok(
        &uri,
        &[
            "vol-create-as",
            &pool,
            "disk.qcow2",
            "16M",
            "--format",
            "qcow2",
        ],
    );
    let path = format!("{target}/disk.qcow2");
    let name = format!("vol-ok-{}", std::process::id());
    let xml = d.dir.0.join("guest.xml");
    std::fs::write(&xml, volume_guest(&name, &pool, "disk.qcow2")).unwrap();
    let xml = xml.to_str().unwrap();

    // The command line opens the volume's file with the volume's format.
    let argv = virsh_ok(&uri, &["domxml-to-native", "qemu-argv", xml]);
    assert!(
        argv.contains(&format!("\"filename\":\"{path}\"")) && argv.contains("\"driver\":\"qcow2\""),
        "{argv}"
    );
    virsh_ok(&uri, &["create", xml]);
    let live = virsh_ok(&uri, &["dumpxml", &name]);
    assert!(
        live.contains(&format!("<source pool='{pool}' volume='disk.qcow2'")),
        "{live}"
    );
    let cmdline = qemu_cmdline(&name);
    assert!(cmdline.contains(&path), "{cmdline}");
    virsh_ok(&uri, &["destroy", &name]);

    // A volume the pool does not have is the storage driver's error, as in libvirt.
    let missing = d.dir.0.join("missing.xml");
    std::fs::write(&missing, volume_guest(&name, &pool, "nope.qcow2")).unwrap();
    let (_, err, code) = virsh(&uri, &["create", missing.to_str().unwrap()]);
    assert!(
        code != 0
            && err.contains(
                "Storage volume not found: no storage vol with matching name 'nope.qcow2'"
            ),
        "{err}"
    );
    virsh_ok(&uri, &["pool-destroy", &pool]);
}

/// The command line of the QEMU process running guest `name`.
fn qemu_cmdline(name: &str) -> String {
    let needle = format!("guest={name},");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .find(|c| c.contains(&needle))
        .unwrap_or_default()
}
