//! Real `virt-install` against rvirtd's `qemu:///system` creating the guest's disk through
//! the storage module: in a named pool, and in the `default` pool that virt-install
//! defines itself at `/var/lib/libvirt/images` when there is none (removed afterwards,
//! with the directory when the test made it).

use std::process::{Command, Stdio};

use rvirt_tests::{have_program, require_peer, Daemon, TempDir};

const VIRSH: &str = "/usr/bin/virsh";
const VIRT_INSTALL: &str = "/usr/bin/virt-install";
const QEMU_IMG: &str = "/usr/bin/qemu-img";
const IMAGES: &str = "/var/lib/libvirt/images";

fn peers_ok() -> bool {
    require_peer("virsh (libvirt-clients)", have_program(VIRSH))
        && require_peer("virt-install (virtinst)", have_program(VIRT_INSTALL))
        && require_peer("qemu-img (qemu-utils)", have_program(QEMU_IMG))
}

fn virsh(uri: &str, args: &[&str]) -> String {
    let out = Command::new(VIRSH)
        .arg("-c")
        .arg(uri)
        .args(args)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .expect("run virsh");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "virsh {args:?}: {}{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
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
