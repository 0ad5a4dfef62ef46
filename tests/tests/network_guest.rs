//! Guests on virtual networks: the network driver's ports (`virNetworkPort*`, what the
//! qemu driver asks for when it plugs an interface in), with rvirtd inside a network
//! namespace of its own so that the bridges and dnsmasq it starts stay there.

use rvirt_tests::netns::{self, Netns};
use rvirt_tests::xmldiff::python_libvirt;
use rvirt_tests::{have_program, require_peer, virsh, Daemon};

/// libvirt's stock `default` network.
const DEFAULT_XML: &str = "<network>
  <name>default</name>
  <bridge name='virbr0'/>
  <forward/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>
";

const PORT_UUID: &str = "5eed0000-0000-4000-8000-0000000000aa";

fn peers() -> bool {
    require_peer("virsh (libvirt-clients)", have_program(virsh::VIRSH))
        && require_peer("ip, nft and dnsmasq", netns::tools_available())
        && require_peer("python3-libvirt (libvirt-python)", python_libvirt())
}

/// Writes `text` into the daemon's directory and returns the path.
fn file(d: &Daemon, name: &str, text: &str) -> String {
    let f = d.dir.0.join(name);
    std::fs::write(&f, text).unwrap();
    f.display().to_string()
}

fn port_xml(bandwidth: &str) -> String {
    format!(
        "<networkport><uuid>{PORT_UUID}</uuid><owner><name>g</name>\
         <uuid>5eed0000-0000-4000-8000-000000000001</uuid></owner>\
         <mac address='52:54:00:aa:bb:cc'/>{bandwidth}</networkport>"
    )
}

/// The error of looking the port up by UUID, through libvirt-python.
fn lookup_error(uri: &str) -> String {
    let script = format!(
        "import libvirt\nc = libvirt.open('{uri}')\n\
         try:\n    c.networkLookupByName('default').portLookupByUUIDString('{PORT_UUID}')\n\
         except libvirt.libvirtError as e:\n    print(e.get_error_code(), e)\n"
    );
    let out = std::process::Command::new("/usr/bin/python3")
        .args(["-c", &script])
        .output()
        .expect("run python3");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The port's error texts are libvirtd 9.0's (compared by hand with one in a namespace).
#[test]
fn ports_are_plugged_listed_kept_across_restart_and_deleted() {
    if !peers() {
        return;
    }
    let host = Netns::new("ports");
    let mut d = Daemon::start_in_netns(&host, "");
    let uri = d.uri("qemu:///system");
    let net = file(&d, "default.xml", DEFAULT_XML);
    virsh::ok(&uri, &["net-define", &net]);
    let port = file(
        &d,
        "port.xml",
        &port_xml("<bandwidth><inbound average='100' peak='200' burst='300'/></bandwidth>"),
    );
    let (_, err, rc) = virsh::run(&uri, &["net-port-create", "default", &port]);
    assert_ne!(rc, 0);
    assert!(
        err.contains("Requested operation is not valid: network 'default' is not active"),
        "{err}"
    );
    virsh::ok(&uri, &["net-start", "default"]);
    virsh::ok(&uri, &["net-port-create", "default", &port]);
    let (_, err, _) = virsh::run(&uri, &["net-port-create", "default", &port]);
    assert!(
        err.contains(&format!(
            "network port Network port with UUID {PORT_UUID} already exists exists already"
        )),
        "{err}"
    );
    let list = virsh::ok(&uri, &["net-port-list", "default", "--uuid"]);
    assert_eq!(list.trim(), PORT_UUID);
    let xml = virsh::ok(&uri, &["net-port-dumpxml", "default", PORT_UUID]);
    assert!(
        xml.contains("<plug type='network' bridge='virbr0'/>"),
        "{xml}"
    );
    assert!(
        xml.contains("<inbound average='100' peak='200' burst='300'/>"),
        "{xml}"
    );

    // The port lives in the network's status: a killed daemon's successor keeps it.
    d.kill9_and_restart();
    let xml = virsh::ok(&uri, &["net-port-dumpxml", "default", PORT_UUID]);
    assert!(xml.contains("<mac address='52:54:00:aa:bb:cc'/>"), "{xml}");

    virsh::ok(&uri, &["net-port-delete", "default", PORT_UUID]);
    // virsh 9.0 exits 0 and hides the daemon's error when a port lookup fails.
    let (_, err, _) = virsh::run(&uri, &["net-port-dumpxml", "default", PORT_UUID]);
    assert!(err.contains("failed to get network port"), "{err}");
    let err = lookup_error(&uri);
    assert!(
        err.contains(&format!(
            "107 network port not found: Network port with UUID {PORT_UUID} does not exist"
        )),
        "{err}"
    );
    assert_eq!(
        virsh::ok(&uri, &["net-port-list", "default", "--uuid"]).trim(),
        ""
    );
    virsh::ok(&uri, &["net-destroy", "default"]);
    virsh::ok(&uri, &["net-undefine", "default"]);
}
