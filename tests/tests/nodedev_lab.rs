//! Giving a PCI device to a guest, in the test lab (this machine has no IOMMU): a q35
//! guest with an emulated Intel IOMMU, two virtio NICs (00:03.0 free, 00:04.0 carrying
//! the default route) and a virtio disk mounted on /mnt (the lab's root is an initramfs,
//! so this disk stands for the root disk), running rvirtd with the qemu and nodedev
//! modules and the host's QEMU.
//!
//! - `nodedev-detach` binds 00:03.0 to vfio-pci, `nodedev-reattach` gives it back to
//!   virtio-pci;
//! - the default route's NIC and the mounted disk's controller are refused;
//! - a domain with `<hostdev managed='yes'>` for 00:03.0 starts (TCG, QEMU nested in the
//!   lab's QEMU) with the device detached for it, QEMU's `query-pci` shows it as
//!   `hostdev0`, and after `destroy` it is back on virtio-pci.

use std::time::Duration;

use rvirt_tests::lab::{Lab, QEMU};

const DOMAIN: &str = "<domain type='qemu'>
  <name>pt</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x00' slot='0x03' function='0x0'/></source>
    </hostdev>
  </devices>
</domain>
";

const SCRIPT: &str = r#"
drv() { basename "$(readlink /sys/bus/pci/devices/0000:00:03.0/driver)"; }
ifc=$(ls /sys/bus/pci/devices/0000:00:04.0/virtio*/net)
ip link set "$ifc" up && ip addr add 10.0.2.15/24 dev "$ifc" && ip route add default via 10.0.2.2
/sbin/mke2fs -q -F -t ext4 /dev/vda
mount -t ext4 /dev/vda /mnt
disk=$(readlink -f /sys/block/vda); disk=${disk%/virtio*}; disk=${disk##*/}
echo "LAB-DISK pci_$(echo "$disk" | tr ':.' '__')"
step rvirsh nodedev-detach pci_0000_00_04_0
step rvirsh nodedev-detach "pci_$(echo "$disk" | tr ':.' '__')"
step drv
step rvirsh nodedev-detach pci_0000_00_03_0 --driver vfio
step drv
step rvirsh nodedev-reattach pci_0000_00_03_0
step drv
step rvirsh define /root/pt.xml
step rvirsh start pt
step drv
# Devices behind root ports show once the guest's firmware has numbered the buses.
n=0
while [ $n -lt 150 ] && ! rvirsh qemu-monitor-command pt '{"execute":"query-pci"}' | grep -q '"qdev_id":"hostdev0"'; do
    sleep 1; n=$((n+1))
done
step rvirsh qemu-monitor-command pt '{"execute":"query-pci"}'
rvirsh dumpxml pt
cat $(find /var/lib/rvirt /var/log -name "pt.log")
step rvirsh destroy pt
step drv
step rvirsh undefine pt
"#;

/// The (vendor, device) ids of the device `hostdev0` in QEMU's `query-pci` reply.
fn hostdev_in_query_pci(reply: &str) -> Option<(u64, u64)> {
    fn walk(devs: &serde_json::Value) -> Option<(u64, u64)> {
        for d in devs.as_array()? {
            if d["qdev_id"] == "hostdev0" {
                return Some((d["id"]["vendor"].as_u64()?, d["id"]["device"].as_u64()?));
            }
            if let Some(found) = walk(&d["pci_bridge"]["devices"]) {
                return Some(found);
            }
        }
        None
    }
    let v: serde_json::Value = serde_json::from_str(reply.trim()).ok()?;
    v["return"]
        .as_array()?
        .iter()
        .find_map(|bus| walk(&bus["devices"]))
}

#[test]
fn lab_detaches_a_nic_and_passes_it_to_a_guest() {
    if !Lab::available() {
        return;
    }
    let out = Lab::new()
        .iommu()
        .memory(2048)
        .modules(&["vfio-pci", "vfio_iommu_type1", "virtio_net"])
        .binaries(&[QEMU, "/sbin/mke2fs"])
        // Debian's QEMU loads TCG as a module.
        .binaries(&["/usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so"])
        .host_file("/usr/share/seabios/bios-256k.bin")
        .host_file("/usr/share/qemu/bios-256k.bin")
        .host_file("/usr/share/qemu/kvmvapic.bin")
        .disk_sized("root.img", 16 << 20)
        .qemu_args(&[
            "-netdev",
            "user,id=free0",
            "-device",
            "virtio-net-pci,netdev=free0,addr=0x3,disable-legacy=on,iommu_platform=on",
            "-netdev",
            "user,id=route0",
            "-device",
            "virtio-net-pci,netdev=route0,addr=0x4",
        ])
        .file("/root/pt.xml", 0o644, DOMAIN.as_bytes())
        .rvirt(&["qemu", "nodedev"])
        .script(&format!("{SCRIPT}\ncat /var/log/rvirtd.log\n"))
        .run(Duration::from_secs(420));
    let t = out.transcript();
    assert!(!out.timed_out, "the lab timed out:\n{t}\n{}", out.console);
    let steps = out.steps();
    let step = |i: usize| &steps[i];
    assert!(steps.len() >= 14, "{t}\n{}", out.console);
    let disk = out
        .lines
        .iter()
        .find_map(|l| l.strip_prefix("LAB-DISK "))
        .expect("the disk's PCI device");
    // The default route's NIC and the mounted disk's controller are the host's.
    let (route, mounted) = (step(0), step(1));
    assert_eq!(route.rc, 1, "{t}");
    assert!(
        route.out.contains(
            "Requested operation is not valid: PCI device 0000:00:04.0 is in use by the host: \
             it carries"
        ) && route.out.contains("the interface of a default route"),
        "{t}"
    );
    assert_eq!(mounted.rc, 1, "{t}");
    assert!(
        mounted.out.contains("/dev/vda mounted on /mnt"),
        "{disk} was not refused as the mounted disk's controller:\n{t}"
    );
    // Detach and re-attach by hand.
    assert_eq!(step(2).out.trim(), "virtio-pci", "{t}");
    assert_eq!(
        (step(3).rc, step(3).out.as_str()),
        (0, "Device pci_0000_00_03_0 detached\n\n"),
        "{t}"
    );
    assert_eq!(step(4).out.trim(), "vfio-pci", "{t}");
    assert_eq!(
        step(5).out,
        "Device pci_0000_00_03_0 re-attached\n\n",
        "{t}"
    );
    assert_eq!(step(6).out.trim(), "virtio-pci", "{t}");
    // A managed hostdev: detached at start, in QEMU, re-attached at destroy.
    assert_eq!(step(7).rc, 0, "{t}");
    assert_eq!(step(8).rc, 0, "start failed:\n{t}");
    assert_eq!(step(9).out.trim(), "vfio-pci", "{t}");
    let found = hostdev_in_query_pci(&step(10).out);
    // The lab's modern virtio-net (1af4:1041) is what the guest sees as hostdev0.
    assert_eq!(found, Some((0x1af4, 0x1041)), "query-pci:\n{t}");
    assert_eq!(step(11).rc, 0, "{t}");
    assert_eq!(step(12).out.trim(), "virtio-pci", "{t}");
}
