//! SPICE and VNC displays on the qemu driver against a real libvirtd 9.0 starting the same
//! guests: the live `<graphics>` (port picked, listen address filled in), `domdisplay`,
//! and what QEMU itself serves (`query-spice`, `query-vnc`).

use rvirt_tests::virsh::run as virsh;

fn doc(name: &str, graphics: &str, video: &str) -> String {
    format!(
        "<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>\
         <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>\
         <emulator>/usr/bin/qemu-system-x86_64</emulator>{graphics}\
         <video><model type='{video}'/></video></devices></domain>"
    )
}

/// Every `<graphics …>…</graphics>` of a live XML.
fn graphics_block(xml: &str) -> String {
    let blocks: Vec<&str> = xml
        .match_indices("<graphics")
        .filter_map(|(a, _)| Some(&xml[a..a + xml[a..].find("</graphics>")?]))
        .collect();
    if blocks.is_empty() {
        "no <graphics>".into()
    } else {
        blocks.join("\n")
    }
}

/// The fields of QEMU's answer both daemons must agree on.
fn served(uri: &str, name: &str, command: &str) -> String {
    let (out, err, _) = virsh(
        uri,
        &[
            "qemu-monitor-command",
            name,
            &format!(r#"{{"execute":"{command}"}}"#),
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    let r = &v["return"];
    let port = r["port"]
        .as_i64()
        .or_else(|| r["service"].as_str()?.parse().ok());
    format!(
        "{command}: enabled={} host={} port={port:?} auth={} {err}",
        r["enabled"], r["host"], r["auth"]
    )
}

fn transcript(uri: &str, dir: &std::path::Path, pid: u32) -> String {
    let mut out = String::new();
    let cases = [
        (
            "spice",
            "<graphics type='spice' autoport='yes'><listen type='address'/><image compression='off'/></graphics>",
            "qxl",
            "query-spice",
        ),
        (
            "spicetls",
            "<graphics type='spice' port='-1' tlsPort='-1' autoport='yes'/>",
            "qxl",
            "query-spice",
        ),
        (
            "vnc",
            "<graphics type='vnc' port='-1' autoport='yes'/>",
            "vga",
            "query-vnc",
        ),
        (
            "both",
            "<graphics type='vnc' autoport='yes'/><graphics type='spice' autoport='yes'/>",
            "qxl",
            "query-vnc query-spice",
        ),
    ];
    for (tag, graphics, video, query) in cases {
        let name = format!("rvqgfx{tag}{pid}");
        let file = dir.join(format!("gfx-{tag}.xml"));
        std::fs::write(&file, doc(&name, graphics, video)).unwrap();
        let (_, err, code) = virsh(uri, &["create", file.to_str().unwrap()]);
        out += &format!("create {tag}: [{code}] {err}\n");
        let (xml, _, _) = virsh(uri, &["dumpxml", &name]);
        out += &format!("{}\n", graphics_block(&xml));
        let (display, _, _) = virsh(uri, &["domdisplay", &name]);
        out += &format!("domdisplay: {display}");
        for query in query.split(' ') {
            out += &served(uri, &name, query);
            out += "\n";
        }
        virsh(uri, &["destroy", &name]);
    }
    out.replace(&pid.to_string(), "PID")
}

#[test]
fn spice_and_vnc_displays_match_libvirtd() {
    let Some((libvirtd, rvirtd)) = rvirt_tests::guest_daemons(&[]) else {
        return;
    };
    let pid = std::process::id();
    let dir = &rvirtd.dir.0;
    let theirs = transcript(&libvirtd.uri("qemu", "system"), dir, pid);
    let ours = transcript(&rvirtd.uri("qemu:///system"), dir, pid);
    assert!(
        theirs.contains("query-spice: enabled=true"),
        "libvirtd's guest serves no SPICE:\n{theirs}"
    );
    assert_eq!(ours, theirs, "rvirtd's, then libvirtd's");
}
