//! `virsh screenshot` on the qemu driver against a real libvirtd 9.0: the same two
//! firmware-only guests (one with VGA and VNC, one without a display) on both daemons;
//! virsh must print the same, the images must be PNGs of the same size, and asking for a
//! screen that does not exist must fail alike.

use std::path::Path;

use rvirt_tests::virsh::{run as virsh, tiny_qemu_xml, tiny_qemu_xml_with, VIRSH};
use rvirt_tests::{have_program, require_peer, Daemon, Libvirtd};

/// Width and height from a PNG's IHDR chunk.
fn png_size(path: &Path) -> Option<(u32, u32)> {
    let b = std::fs::read(path).ok()?;
    if b.len() < 24 || &b[..8] != b"\x89PNG\r\n\x1a\n" || &b[12..16] != b"IHDR" {
        return None;
    }
    let be = |o: usize| u32::from_be_bytes(b[o..o + 4].try_into().unwrap());
    Some((be(16), be(20)))
}

/// What virsh prints for each screenshot request, and the size of the image taken.
fn transcript(uri: &str, dir: &Path, shown: &str, blank: &str) -> (String, Option<(u32, u32)>) {
    let image = dir.join("screen.img");
    let mut out = String::new();
    for args in [
        vec!["screenshot", shown, image.to_str().unwrap()],
        vec!["screenshot", shown, "--screen", "1", "/dev/null"],
        vec!["screenshot", blank, "/dev/null"],
    ] {
        let (stdout, stderr, code) = virsh(uri, &args);
        let stdout = stdout.replace(image.to_str().unwrap(), "IMAGE");
        out += &format!("$ {}\n{stdout}{stderr}[{code}]\n", args[..2].join(" "));
    }
    let size = png_size(&image);
    let _ = std::fs::remove_file(&image);
    (out, size)
}

/// Waits (up to 20 s) until the screen has kept one size for 1.5 s (six screenshots,
/// 300 ms apart): the firmware has then left its early modes.
fn settle(uri: &str, dir: &Path, name: &str) {
    let image = dir.join("settle.img");
    let (mut last, mut same) = (None, 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while same < 5 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(300));
        virsh(uri, &["screenshot", name, image.to_str().unwrap()]);
        let size = png_size(&image);
        same = if size.is_some() && size == last {
            same + 1
        } else {
            0
        };
        last = size;
    }
    let _ = std::fs::remove_file(&image);
}

#[test]
fn screenshots_match_libvirtd() {
    if !rvirt_tests::require_qemu() || !require_peer("virsh (libvirt-clients)", have_program(VIRSH))
    {
        return;
    }
    let Some(libvirtd) = Libvirtd::start_for_guests() else {
        return;
    };
    let rvirtd = Daemon::start("");
    let pid = std::process::id();
    let (shown, blank) = (format!("rvqshot{pid}"), format!("rvqblank{pid}"));
    let display =
        "<graphics type='vnc' port='-1' autoport='yes'/><video><model type='vga'/></video>";
    let dir = &rvirtd.dir.0;
    std::fs::write(dir.join("shown.xml"), tiny_qemu_xml_with(&shown, display)).unwrap();
    std::fs::write(dir.join("blank.xml"), tiny_qemu_xml(&blank)).unwrap();
    let mut seen = Vec::new();
    for uri in [libvirtd.uri("qemu", "system"), rvirtd.uri("qemu:///system")] {
        for f in ["shown.xml", "blank.xml"] {
            let (_, err, code) = virsh(&uri, &["create", dir.join(f).to_str().unwrap()]);
            assert_eq!(code, 0, "{uri}: {err}");
        }
        // Let the firmware reach its text screen (720x400 under SeaBIOS); a loaded machine
        // can take seconds, and a screenshot before that is of an earlier mode.
        settle(&uri, dir, &shown);
        seen.push(transcript(&uri, dir, &shown, &blank));
        for name in [&shown, &blank] {
            virsh(&uri, &["destroy", name]);
        }
    }
    let (theirs, ours) = (&seen[0], &seen[1]);
    assert!(
        theirs.1.is_some(),
        "libvirtd's screenshot is not a PNG:\n{}",
        theirs.0
    );
    assert_eq!(ours, theirs, "rvirtd's, then libvirtd's");
}
