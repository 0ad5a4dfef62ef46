//! Network metadata (libvirt 9.7's `virNetworkSetMetadata` / `GetMetadata`, 9.8's
//! METADATA_CHANGE event) on a real rvirtd running the network driver in a network
//! namespace of its own, through rvirsh and rvirt's client library: title, description
//! and elements, live and persistent, on an active persistent network; the event at a
//! client subscribed before; libvirt's errors; the persistent values after a restart.
//!
//! No differential against libvirt: the peers here are libvirt 9.0, whose virsh and
//! libvirt-python do not have these calls (procedures 444-446 came with 9.7/9.8).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rvirt_core::Connect;
use rvirt_tests::netns::{self, Netns};
use rvirt_tests::virsh::run_with;
use rvirt_tests::{require_peer, target_dir, Daemon};

const NET: &str = "<network><name>md</name><bridge name='br-md'/></network>";

fn rvirsh(uri: &str, args: &[&str]) -> (String, String, i32) {
    run_with(&target_dir().join("rvirsh"), uri, args)
}

/// Runs rvirsh and insists that it succeeds; answers its output.
fn ok(uri: &str, args: &[&str]) -> String {
    let (out, err, code) = rvirsh(uri, args);
    assert_eq!(code, 0, "rvirsh {args:?}: {err}");
    out
}

/// Runs rvirsh and insists that it fails; answers its error lines.
fn fails(uri: &str, args: &[&str]) -> String {
    let (_, err, code) = rvirsh(uri, args);
    assert_eq!(code, 1, "rvirsh {args:?} succeeded");
    err
}

/// `rvirsh net-event --event metadata-change --loop`, registered before it returns.
fn subscribe(uri: &str) -> Child {
    let child = Command::new(target_dir().join("rvirsh"))
        .args(["-c", uri, "net-event", "--event", "metadata-change"])
        .args(["--loop", "--timeout", "10"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Give it time to connect and register before anything happens.
    std::thread::sleep(Duration::from_millis(1500));
    child
}

fn define_and_start(d: &Daemon, uri: &str) {
    let file = d.dir.0.join("md.xml");
    std::fs::write(&file, NET).unwrap();
    ok(uri, &["net-define", file.to_str().unwrap()]);
    ok(uri, &["net-start", "md"]);
}

/// Sets, reads back and refuses; answers what the subscriber printed.
fn changes(uri: &str, events: Child) -> Vec<String> {
    let set = |args: &[&str], what: &str| assert_eq!(ok(uri, args), format!("{what}\n"));
    set(
        &["net-desc", "md", "--live", "--new-desc", "live", "text"],
        "Network description updated successfully",
    );
    set(
        &[
            "net-desc",
            "md",
            "--config",
            "--title",
            "--new-desc",
            "Config title",
        ],
        "Network title updated successfully",
    );
    set(
        &[
            "net-metadata",
            "md",
            "urn:x",
            "--key",
            "app",
            "--set",
            "<e k='1'><f/></e>",
            "--config",
        ],
        "Metadata modified\n",
    );
    // CURRENT on a running network is its live definition.
    assert_eq!(ok(uri, &["net-desc", "md"]), "live text\n");
    assert_eq!(
        ok(uri, &["net-desc", "md", "--title"]),
        "No title for network: md\n"
    );
    assert_eq!(
        ok(uri, &["net-desc", "md", "--config"]),
        "No description for network: md\n"
    );
    assert_eq!(
        ok(uri, &["net-desc", "md", "--config", "--title"]),
        "Config title\n"
    );
    assert_eq!(
        ok(uri, &["net-metadata", "md", "urn:x", "--config"]),
        "<e k=\"1\">\n  <f/>\n</e>\n\n"
    );
    let live = ok(uri, &["net-dumpxml", "md"]);
    assert!(
        live.contains("  <description>live text</description>\n"),
        "{live}"
    );
    let config = ok(uri, &["net-dumpxml", "md", "--inactive"]);
    assert!(
        config.contains("<uuid>")
            && config.contains("</uuid>\n  <title>Config title</title>\n  <metadata>\n    <app:e xmlns:app=\"urn:x\" k=\"1\">"),
        "{config}"
    );
    errors(uri);
    let out = events.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&out.stdout);
    out.lines()
        .filter(|l| l.starts_with("event '"))
        .map(str::to_string)
        .collect()
}

/// libvirt's refusals, as rvirsh prints them.
fn errors(uri: &str) {
    assert_eq!(
        fails(uri, &["net-metadata", "md", "urn:none"]),
        "error: metadata not found: Requested metadata element is not present\n"
    );
    assert_eq!(
        fails(uri, &["net-desc", "md", "--title", "--new-desc", "a\nb"]),
        "error: Failed to set new network title\nerror: metadata title can't contain newlines\n"
    );
    assert_eq!(
        fails(uri, &["net-metadata", "md", "urn:x", "--set", "<e/>"]),
        "error: namespace key is required when modifying metadata\n"
    );
    let bad = fails(
        uri,
        &["net-metadata", "md", "urn:x", "--key", "k", "--set", "<e"],
    );
    assert!(
        bad.starts_with("error: ") && bad.contains("(metadata_xml)"),
        "{bad}"
    );
    assert_eq!(
        fails(uri, &["net-desc", "md", "--live", "--current"]),
        "error: Options --current and --live are mutually exclusive\n"
    );
    // The client library and the wire: code 111 in the network domain; a get takes one
    // of live and config.
    let c = Connect::open(uri).unwrap();
    let n = c.network_by_name("md").unwrap();
    let e = n.get_metadata(2, Some("urn:none"), 0).unwrap_err();
    assert_eq!((e.code, e.domain), (111, 19));
    let e = n.get_metadata(1, None, 3).unwrap_err();
    assert_eq!(
        (e.code, e.text()),
        (8, "Flags 'VIR_NETWORK_UPDATE_AFFECT_LIVE' and 'VIR_NETWORK_UPDATE_AFFECT_CONFIG' are mutually exclusive")
    );
    let e = n.get_metadata(2, None, 0).unwrap_err();
    assert_eq!(e.text(), "uri in virNetworkGetMetadata must not be NULL");
}

#[test]
fn metadata_live_config_events_errors_and_restart() {
    if !require_peer("ip, nft and dnsmasq", netns::tools_available()) {
        return;
    }
    let host = Netns::new("meta");
    let mut d = Daemon::start_in_netns(&host, "");
    let uri = d.uri("qemu:///system");
    define_and_start(&d, &uri);
    let events = subscribe(&uri);
    assert_eq!(
        changes(&uri, events),
        [
            "event 'metadata-change' for network md: type description, uri <null>",
            "event 'metadata-change' for network md: type title, uri <null>",
            "event 'metadata-change' for network md: type element, uri urn:x",
        ]
    );
    // Read-only connections read; they do not write.
    let ro = d.uri_ro("qemu:///system");
    assert_eq!(ok(&ro, &["net-desc", "md"]), "live text\n");
    let err = fails(&ro, &["net-desc", "md", "--new-desc", "x"]);
    assert!(
        err.contains("read only access prevents virNetworkSetMetadata"),
        "{err}"
    );
    // A transient network has no persistent config to change.
    let t = d.dir.0.join("t.xml");
    std::fs::write(&t, "<network><name>t</name><bridge name='br-t'/></network>").unwrap();
    ok(&uri, &["net-create", t.to_str().unwrap()]);
    assert_eq!(
        fails(&uri, &["net-desc", "t", "--config", "--new-desc", "x"]),
        // virsh reads the description first, and that is what fails.
        "error: Requested operation is not valid: cannot change persistent config of a transient network\n"
    );
    ok(&uri, &["net-destroy", "t"]);
    // Both definitions outlive the daemon; stopping the network brings the config in.
    d.kill9_and_restart();
    assert_eq!(ok(&uri, &["net-desc", "md"]), "live text\n");
    assert_eq!(
        ok(&uri, &["net-desc", "md", "--config", "--title"]),
        "Config title\n"
    );
    ok(&uri, &["net-destroy", "md"]);
    assert_eq!(ok(&uri, &["net-desc", "md", "--title"]), "Config title\n");
    assert_eq!(
        ok(&uri, &["net-desc", "md"]),
        "No description for network: md\n"
    );
    assert!(fails(&uri, &["net-desc", "md", "--live"]).contains("network is not running"));
    d.kill9_and_restart();
    assert_eq!(
        ok(&uri, &["net-metadata", "md", "urn:x"]),
        "<e k=\"1\">\n  <f/>\n</e>\n\n"
    );
    assert_eq!(
        ok(&uri, &["net-metadata", "md", "urn:x", "--remove"]),
        "Metadata removed\n\n"
    );
    assert!(!ok(&uri, &["net-dumpxml", "md"]).contains("<metadata"));
    ok(&uri, &["net-undefine", "md"]);
}
