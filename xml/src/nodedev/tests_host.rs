//! Devices as libvirt's node-device driver reports a host's devices
//! ([`NodeDeviceDef::parse_host`]): what only the host can tell is kept, and the rest
//! is put in libvirt's order.

use super::NodeDeviceDef;

/// A PCI device of a real host, as libvirt 9.0 wrote it (no product name, PCI Express
/// without link details).
const HOST_PCI: &str = "<device>\n  <name>pci_0000_00_00_0</name>\n  <path>/sys/devices/pci0000:00/0000:00:00.0</path>\n  <parent>computer</parent>\n  <driver>\n    <name>virtio-pci</name>\n  </driver>\n  <capability type='pci'>\n    <class>0x060000</class>\n    <domain>0</domain>\n    <bus>0</bus>\n    <slot>0</slot>\n    <function>0</function>\n    <product id='0x0d57'/>\n    <vendor id='0x8086'>Intel Corporation</vendor>\n    <pci-express/>\n  </capability>\n</device>\n";

/// A disk of a real host, as libvirt 9.0 wrote it.
const HOST_DISK: &str = "<device>\n  <name>block_vda</name>\n  <path>/sys/devices/pci0000:00/0000:00:02.0/virtio1/block/vda</path>\n  <devnode type='dev'>/dev/vda</devnode>\n  <parent>pci_0000_00_02_0</parent>\n  <capability type='storage'>\n    <block>/dev/vda</block>\n    <drive_type>disk</drive_type>\n    <vendor>0x1af4</vendor>\n    <size>274877906944</size>\n    <logical_block_size>512</logical_block_size>\n    <num_blocks>536870912</num_blocks>\n  </capability>\n</device>\n";

#[test]
fn host_devices_keep_what_the_host_tells() {
    for x in [HOST_PCI, HOST_DISK] {
        let d = NodeDeviceDef::parse_host(x).unwrap();
        assert_eq!(d.to_xml(), x);
        // A document to define loses them, as libvirt's parser does.
        let defined = NodeDeviceDef::parse(x).unwrap().to_xml();
        assert_ne!(defined, x);
        assert!(!defined.contains("<driver>") && !defined.contains("num_blocks"));
        assert!(!defined.contains("<pci-express/>"));
    }
    assert_eq!(
        NodeDeviceDef::parse_host(HOST_PCI)
            .unwrap()
            .driver
            .as_deref(),
        Some("virtio-pci")
    );
}

#[test]
fn host_counts_and_host_only_capabilities() {
    let x = "<device>\n  <name>scsi_host5</name>\n  <capability type='scsi_host'>\n    <host>5</host>\n    <capability type='vport_ops'>\n      <max_vports>127</max_vports>\n      <vports>3</vports>\n    </capability>\n  </capability>\n</device>\n";
    assert_eq!(NodeDeviceDef::parse_host(x).unwrap().to_xml(), x);
    assert!(NodeDeviceDef::parse(x)
        .unwrap()
        .to_xml()
        .contains("<vports>0</vports>"));
    let sg = "<device>\n  <name>scsi_generic_sg0</name>\n  <capability type='scsi_generic'>\n    <char>/dev/sg0</char>\n  </capability>\n</device>\n";
    assert_eq!(NodeDeviceDef::parse_host(sg).unwrap().to_xml(), sg);
    assert_eq!(
        NodeDeviceDef::parse(sg).unwrap_err().to_string(),
        "internal error: unknown capability type '11' for 'scsi_generic_sg0'"
    );
}

#[test]
fn features_and_pci_functions_in_libvirts_order() {
    let net = "<device><name>n</name><capability type='net'><interface>e</interface><feature name='gro'/><feature name='rx'/><feature name='gro'/><capability type='80203'/></capability></device>";
    let want = "<device>\n  <name>n</name>\n  <capability type='net'>\n    <interface>e</interface>\n    <feature name='rx'/>\n    <feature name='gro'/>\n    <capability type='80203'/>\n  </capability>\n</device>\n";
    assert_eq!(NodeDeviceDef::parse_host(net).unwrap().to_xml(), want);
    assert_eq!(NodeDeviceDef::parse(net).unwrap().to_xml(), want);
    let pci = "<device><name>p</name><capability type='pci'><domain>0</domain><bus>0</bus><slot>0</slot><function>0</function><product id='0x1'/><vendor id='0x2'/><capability type='pci-bridge'/><capability type='phys_function'><address domain='0x0000' bus='0x00' slot='0x00' function='0x0'/></capability></capability></device>";
    let out = NodeDeviceDef::parse_host(pci).unwrap().to_xml();
    let (pf, bridge) = (
        out.find("phys_function").unwrap(),
        out.find("pci-bridge").unwrap(),
    );
    assert!(pf < bridge, "{out}");
}

#[test]
fn listed_capabilities_include_mdev_types_and_vpd() {
    let pci = "<device><name>p</name><capability type='pci'><domain>0</domain><bus>0</bus><slot>0</slot><function>0</function><product id='0x1'/><vendor id='0x2'/><capability type='vpd'><name>n</name></capability><capability type='mdev_types'><type id='t'><deviceAPI>vfio-pci</deviceAPI><availableInstances>1</availableInstances></type></capability></capability></device>";
    let d = NodeDeviceDef::parse_host(pci).unwrap();
    assert_eq!(d.cap_names(), vec!["pci", "mdev_types", "vpd"]);
    let matrix = "<device><name>ap_matrix</name><capability type='ap_matrix'/></device>";
    assert_eq!(
        NodeDeviceDef::parse_host(matrix).unwrap().cap_names(),
        vec!["ap_matrix"]
    );
}
