//! Real `virt-install` against rvirtd's `qemu:///system` creating the guest's disk through
//! the storage module: in a named pool, and in the `default` pool that virt-install
//! defines itself at `/var/lib/libvirt/images` when there is none (removed afterwards,
//! with the directory when the test made it). Real `virt-clone` copies a guest's qcow2
//! disk through the storage module.

use std::process::{Command, Stdio};

use rvirt_tests::virsh::{ok as virsh, VIRSH};
use rvirt_tests::{have_program, require_peer, Daemon, TempDir};

const VIRT_INSTALL: &str = "/usr/bin/virt-install";
const VIRT_CLONE: &str = "/usr/bin/virt-clone";
const QEMU_IMG: &str = "/usr/bin/qemu-img";
const IMAGES: &str = "/var/lib/libvirt/images";

fn peers_ok() -> bool {
    require_peer("virsh (libvirt-clients)", have_program(VIRSH))
        && require_peer("virt-install (virtinst)", have_program(VIRT_INSTALL))
        && require_peer("qemu-img (qemu-utils)", have_program(QEMU_IMG))
}

/// `virt-install --print-xml` of a guest `name` with `disk`; returns the printed XML.
fn virt_install(uri: &str, name: &str, disk: &str) -> String {
    let out = Command::new(VIRT_INSTALL)
        .args([
            "--connect",
            uri,
            "--name",
            name,
            "--memory",
            "64",
            "--disk",
            disk,
        ])
        .args(["--import", "--osinfo", "detect=on,require=off"])
        .args(["--print-xml", "--noautoconsole"])
        .stdin(Stdio::null())
        .output()
        .expect("run virt-install");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "virt-install: {}{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The volume's XML must say qcow2 of 1 GiB, and so must the file.
fn check_volume(uri: &str, pool: &str, vol: &str, path: &str) {
    let xml = virsh(uri, &["vol-dumpxml", "--pool", pool, vol]);
    assert!(
        xml.contains("<capacity unit='bytes'>1073741824</capacity>"),
        "{xml}"
    );
    assert!(xml.contains("<format type='qcow2'/>"), "{xml}");
    let info = Command::new(QEMU_IMG)
        .args(["info", "-U", path])
        .output()
        .expect("qemu-img info");
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.contains("file format: qcow2") && info.contains("virtual size: 1 GiB"),
        "{info}"
    );
}

#[test]
fn virt_install_creates_the_disk_in_a_pool() {
    if !peers_ok() {
        return;
    }
    let d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let tmp = TempDir::new("storage-vi");
    let dir = tmp.0.join("images");
    virsh(
        &uri,
        &[
            "pool-create-as",
            "vi",
            "dir",
            "--target",
            dir.to_str().unwrap(),
            "--build",
        ],
    );
    let xml = virt_install(&uri, "rvirt-vi1", "pool=vi,size=1");
    let path = dir.join("rvirt-vi1.qcow2");
    assert!(
        xml.contains(&format!("<source file=\"{}\"/>", path.display())),
        "{xml}"
    );
    check_volume(&uri, "vi", "rvirt-vi1.qcow2", path.to_str().unwrap());
}

#[test]
fn virt_install_makes_the_default_pool() {
    if !peers_ok() {
        return;
    }
    let d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let made_dir = !std::path::Path::new(IMAGES).exists();
    let name = format!("rvirt-vi-{}", std::process::id());
    let xml = virt_install(&uri, &name, "size=1");
    let vol = format!("{name}.qcow2");
    let path = format!("{IMAGES}/{vol}");
    let checked = std::panic::catch_unwind(|| {
        assert!(xml.contains(&format!("<source file=\"{path}\"/>")), "{xml}");
        let list = virsh(&uri, &["pool-list", "--all"]);
        assert!(list.contains(" default   active   yes"), "{list}");
        check_volume(&uri, "default", &vol, &path);
    });
    virsh(&uri, &["vol-delete", "--pool", "default", &vol]);
    virsh(&uri, &["pool-destroy", "default"]);
    if made_dir {
        virsh(&uri, &["pool-delete", "default"]);
    }
    virsh(&uri, &["pool-undefine", "default"]);
    assert!(!std::path::Path::new(&path).exists());
    if let Err(e) = checked {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn virt_clone_copies_a_qcow2_disk() {
    if !peers_ok() || !require_peer("virt-clone (virtinst)", have_program(VIRT_CLONE)) {
        return;
    }
    let d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let tmp = TempDir::new("storage-clone");
    let dir = tmp.0.join("images");
    virsh(
        &uri,
        &[
            "pool-create-as",
            "vc",
            "dir",
            "--target",
            dir.to_str().unwrap(),
            "--build",
        ],
    );
    virsh(
        &uri,
        &[
            "vol-create-as",
            "vc",
            "src.qcow2",
            "1G",
            "--format",
            "qcow2",
        ],
    );
    let src = dir.join("src.qcow2");
    let xml = format!(
        "<domain type='qemu'><name>rvirt-vc1</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{}'/><target dev='vda' bus='virtio'/></disk></devices></domain>",
        src.display()
    );
    let dom = tmp.0.join("dom.xml");
    std::fs::write(&dom, xml).unwrap();
    virsh(&uri, &["define", dom.to_str().unwrap()]);
    let out = Command::new(VIRT_CLONE)
        .args([
            "--connect",
            &uri,
            "--original",
            "rvirt-vc1",
            "--name",
            "rvirt-vc2",
            "--auto-clone",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run virt-clone");
    // The daemon's state is its own temporary directory: nothing to undefine.
    assert!(
        out.status.success(),
        "virt-clone: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copy = dir.join("src-clone.qcow2");
    let dumped = virsh(&uri, &["dumpxml", "rvirt-vc2"]);
    assert!(
        dumped.contains(&format!("<source file='{}'/>", copy.display())),
        "{dumped}"
    );
    check_volume(&uri, "vc", "src-clone.qcow2", copy.to_str().unwrap());
}

/// Without `--print-xml`, virt-install creates the disk in the pool, defines the guest
/// and starts it: the guest runs on its new qcow2 volume.
#[test]
fn virt_install_guest_runs_on_its_new_disk() {
    if !peers_ok()
        || !require_peer(
            "qemu-system-x86_64 (qemu-system-x86)",
            have_program("/usr/bin/qemu-system-x86_64"),
        )
    {
        return;
    }
    let d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let dir = TempDir::new("virt-install-run");
    let pool = format!("vir{}", std::process::id());
    virsh(
        &uri,
        &[
            "pool-create-as",
            &pool,
            "dir",
            "--target",
            dir.0.to_str().unwrap(),
        ],
    );
    let name = format!("rvirt-vir-{}", std::process::id());
    let out = Command::new(VIRT_INSTALL)
        .args(["--connect", &uri, "--name", &name, "--memory", "128"])
        .args(["--disk", &format!("pool={pool},size=1")])
        .args(["--network", "none", "--graphics", "none", "--import"])
        .args(["--noautoconsole", "--osinfo", "detect=on,require=off"])
        .stdin(Stdio::null())
        .output()
        .expect("run virt-install");
    let checked = std::panic::catch_unwind(|| {
        assert!(
            out.status.success(),
            "virt-install: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(virsh(&uri, &["domstate", &name]).trim(), "running");
        let path = dir.0.join(format!("{name}.qcow2"));
        let disks = virsh(&uri, &["domblklist", &name]);
        assert!(disks.contains(path.to_str().unwrap()), "{disks}");
        check_volume(
            &uri,
            &pool,
            &format!("{name}.qcow2"),
            path.to_str().unwrap(),
        );
    });
    let _ = Command::new(VIRSH)
        .args(["-c", &uri, "destroy", &name])
        .output();
    virsh(&uri, &["undefine", &name, "--remove-all-storage"]);
    virsh(&uri, &["pool-destroy", &pool]);
    if let Err(e) = checked {
        std::panic::resume_unwind(e);
    }
}
