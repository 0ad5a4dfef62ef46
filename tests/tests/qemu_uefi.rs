//! UEFI guests (`<os firmware='efi'>`, OVMF from Debian's `ovmf` package) on the qemu
//! driver against a real libvirtd 9.0 running the same documents: the firmware each picks
//! from QEMU's descriptors (secure boot with SMM on q35, the plain one on i440fx, the
//! plain one on q35 when secure boot is declined), the live `<os>` and `<features>`, the
//! pflash block devices and `-machine` properties of `domxml-to-native`, and undefine's
//! rules for the variable store, and the firmware domain capabilities offer per machine.
//! Both start the guests under TCG, and OVMF runs.

use std::path::Path;

use rvirt_tests::virsh::{run as virsh, VIRSH};
use rvirt_tests::{have_program, require_peer, Daemon};

const OVMF_DESCRIPTORS: &str = "/usr/share/qemu/firmware";

/// Debian's OVMF, as a peer.
fn ovmf() -> (&'static str, bool) {
    (
        "OVMF firmware descriptors (ovmf)",
        Path::new(OVMF_DESCRIPTORS)
            .join("60-edk2-x86_64.json")
            .exists(),
    )
}

fn doc(name: &str, machine: &str, os_extra: &str, features: &str) -> String {
    format!(
        "<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>\
         <os firmware='efi'><type arch='x86_64' machine='{machine}'>hvm</type>{os_extra}</os>\
         <features>{features}</features><devices><emulator>/usr/bin/qemu-system-x86_64</emulator>\
         </devices></domain>"
    )
}

/// The text between `<tag` and `</tag>` in `xml`, variable store paths masked.
fn block(xml: &str, tag: &str) -> String {
    let (Some(a), Some(b)) = (xml.find(&format!("<{tag}")), xml.find(&format!("</{tag}>"))) else {
        return format!("no <{tag}>");
    };
    mask_nvram(&xml[a..b])
}

/// Each daemon keeps variable stores in its own directory: `DIR/NAME_VARS.fd` → `NVRAM/…`.
fn mask_nvram(s: &str) -> String {
    s.split_inclusive(['>', '<', '"', '\''])
        .map(|part| match part.find("_VARS.fd") {
            Some(end) if !part.contains("/usr/share/") => {
                let start = part[..end].rfind('/').map_or(0, |i| i + 1);
                let head = &part[..start];
                let cut = head.rfind(['>', '"', '\'']).map_or(0, |i| i + 1);
                format!("{}NVRAM/{}", &head[..cut], &part[start..])
            }
            _ => part.to_string(),
        })
        .collect()
}

/// The pflash `-blockdev` objects (as JSON values) and the `-machine` properties that
/// concern firmware, from a `qemu-argv` line; plus whether secure flash is on.
fn firmware_argv(native: &str) -> Vec<String> {
    let words = rvirt_tests::qemu_argv::words(native);
    let mut out = Vec::new();
    for pair in words.windows(2) {
        match pair[0].as_str() {
            "-blockdev" if pair[1].contains("pflash") => {
                let v: serde_json::Value = serde_json::from_str(&pair[1]).expect("blockdev JSON");
                out.push(mask_nvram(&format!("blockdev {v}")));
            }
            "-machine" => out.extend(
                pair[1]
                    .split(',')
                    .filter(|p| p.starts_with("smm=") || p.starts_with("pflash"))
                    .map(|p| format!("machine {p}")),
            ),
            "-global" => out.push(format!("global {}", pair[1])),
            _ => {}
        }
    }
    out
}

fn step(out: &mut String, uri: &str, args: &[&str]) -> String {
    let (stdout, stderr, code) = virsh(uri, args);
    *out += &format!("$ {}\n{}[{code}]\n", args.join(" "), stderr.trim());
    stdout
}

/// Everything one daemon does with the three documents, as comparable text.
fn transcript(uri: &str, dir: &Path, pid: u32) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut stores = Vec::new();
    // What domain capabilities offer for each machine.
    for machine in ["pc-q35-7.2", "pc-i440fx-7.2"] {
        let caps = step(
            &mut out,
            uri,
            &[
                "domcapabilities",
                "--machine",
                machine,
                "--virttype",
                "qemu",
            ],
        );
        out += &format!("{}\n", block(&caps, "os"));
    }
    let cases = [
        ("q35", "pc-q35-7.2", ""),
        ("pc", "pc-i440fx-7.2", ""),
        (
            "nosb",
            "pc-q35-7.2",
            "<firmware><feature enabled='no' name='secure-boot'/></firmware>",
        ),
    ];
    for (tag, machine, extra) in cases {
        let name = format!("rvquefi{tag}{pid}");
        let file = dir.join(format!("{tag}.xml"));
        std::fs::write(&file, doc(&name, machine, extra, "<acpi/>")).unwrap();
        step(&mut out, uri, &["define", file.to_str().unwrap()]);
        let native = step(
            &mut out,
            uri,
            &["domxml-to-native", "qemu-argv", "--domain", &name],
        );
        out += &firmware_argv(&native).join("\n");
        out += "\n";
        step(&mut out, uri, &["start", &name]);
        let live = step(&mut out, uri, &["dumpxml", &name]);
        out += &format!("{}\n{}\n", block(&live, "os"), block(&live, "features"));
        if let Some(p) = live
            .split("</nvram>")
            .next()
            .and_then(|s| s.rsplit('>').next())
        {
            stores.push(p.to_string());
        }
        let status = step(&mut out, uri, &["domstate", &name]);
        out += &status;
        step(&mut out, uri, &["destroy", &name]);
        step(&mut out, uri, &["undefine", &name]);
        step(&mut out, uri, &["undefine", &name, "--nvram"]);
    }
    let name = format!("rvquefinoacpi{pid}");
    let file = dir.join("noacpi.xml");
    std::fs::write(&file, doc(&name, "pc-q35-7.2", "", "")).unwrap();
    step(&mut out, uri, &["define", file.to_str().unwrap()]);
    (out.replace(&pid.to_string(), "PID"), stores)
}

#[test]
fn uefi_guests_match_libvirtd() {
    let Some((libvirtd, rvirtd)) = rvirt_tests::guest_daemons(&[ovmf()]) else {
        return;
    };
    let pid = std::process::id();
    let dir = &rvirtd.dir.0;
    let (theirs, _) = transcript(&libvirtd.uri("qemu", "system"), dir, pid);
    let (ours, stores) = transcript(&rvirtd.uri("qemu:///system"), dir, pid);
    assert!(
        theirs.contains("OVMF_CODE_4M.ms.fd") && theirs.contains("OVMF_CODE_4M.fd"),
        "libvirtd did not pick Debian's OVMF builds:\n{theirs}"
    );
    assert_eq!(ours, theirs, "rvirtd's, then libvirtd's");
    // The stores were made from their templates and removed with --nvram.
    assert_eq!(stores.len(), 3, "{stores:?}");
    for s in &stores {
        assert!(s.ends_with("_VARS.fd"), "{s}");
        assert!(!Path::new(s).exists(), "{s} outlived undefine --nvram");
    }
}

/// The variable store rvirtd makes: a copy of the template, mode 0600, kept across starts.
/// The guests start paused, so the firmware never runs and never writes its variables.
#[test]
fn the_variable_store_is_made_from_its_template_once() {
    let (what, there) = ovmf();
    if !rvirt_tests::require_qemu()
        || !require_peer("virsh (libvirt-clients)", have_program(VIRSH))
        || !require_peer(what, there)
    {
        return;
    }
    use rvirt_tests::virsh::ok;
    use std::os::unix::fs::PermissionsExt;
    let rvirtd = Daemon::start("");
    let uri = rvirtd.uri("qemu:///system");
    let name = format!("rvquefistore{}", std::process::id());
    let file = rvirtd.dir.0.join("store.xml");
    std::fs::write(&file, doc(&name, "pc-i440fx-7.2", "", "<acpi/>")).unwrap();
    ok(&uri, &["define", file.to_str().unwrap()]);
    ok(&uri, &["start", "--paused", &name]);
    let store = rvirtd
        .dir
        .0
        .join(format!("state/qemu/nvram/{name}_VARS.fd"));
    let meta = std::fs::metadata(&store).expect("the variable store exists");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    ok(&uri, &["destroy", &name]);
    assert!(
        std::fs::read(&store).unwrap() == std::fs::read("/usr/share/OVMF/OVMF_VARS_4M.fd").unwrap(),
        "the store is not a copy of the template"
    );
    std::fs::write(&store, vec![7u8; meta.len() as usize]).unwrap();
    ok(&uri, &["start", "--paused", &name]);
    ok(&uri, &["destroy", &name]);
    assert!(
        std::fs::read(&store).unwrap().iter().all(|b| *b == 7),
        "a second start copied the template over the guest's variables"
    );
    ok(&uri, &["undefine", &name, "--keep-nvram"]);
    assert!(store.exists(), "--keep-nvram removed the store");
}
