//! Byte differentials of the capability documents, through the real `virsh`:
//! - `capabilities` and `domcapabilities` (every arch and virttype the test driver
//!   knows, with and without machine and emulator) of rvirtd's test driver against
//!   libvirt 9.0's own test driver (`virsh -c test:///default`, in-process): stdout,
//!   stderr and exit status must be identical. libvirt's test driver has no domain
//!   capabilities at all, so there both must refuse alike.
//! - `pool-capabilities` of rvirtd's storage module against a real libvirtd's storage
//!   driver. Debian's libvirt-daemon 9.0 here has the backends disk, fs (dir, fs, netfs),
//!   iscsi, iscsi-direct, logical, mpath and scsi installed, not rbd, gluster, zfs or
//!   vstorage. Every `<pool>` element must be byte-identical but for its `supported`
//!   value, and that must agree wherever both daemons have the backend; the pool types
//!   where it differs are printed and pinned (rvirt's storage module has no mpath backend
//!   yet). The rest of the document must be identical.

use rvirt_tests::{have_program, require_peer, virsh, Daemon, Libvirtd};

/// virsh's whole answer: exit status, stdout, stderr.
fn answer(uri: &str, args: &[&str]) -> String {
    let (out, err, code) = virsh::run(uri, args);
    format!("[rc={code}]\n{out}{err}")
}

/// The `domcapabilities` requests compared: every arch and virttype the test driver's
/// capabilities list, none of them, and ones it does not know.
const DOMCAPS: &[&[&str]] = &[
    &[],
    &["--virttype", "test"],
    &["--arch", "i686"],
    &["--arch", "i686", "--virttype", "test"],
    &["--arch", "x86_64"],
    &["--arch", "x86_64", "--virttype", "test"],
    &["--virttype", "kvm"],
    &["--arch", "i686", "--machine", "pc"],
    &["--emulatorbin", "/usr/bin/qemu-system-x86_64"],
    &["--arch", "sparc", "--virttype", "bogus"],
];

#[test]
fn test_driver_capabilities_and_domcapabilities_match_libvirt() {
    if !require_peer("virsh (libvirt-clients)", have_program(virsh::VIRSH)) {
        return;
    }
    let rv = Daemon::start("");
    let ruri = rv.uri("test:///default");
    let luri = "test:///default";
    let caps = ["capabilities"];
    assert_eq!(answer(&ruri, &caps), answer(luri, &caps), "capabilities");
    for extra in DOMCAPS {
        let args: Vec<&str> = std::iter::once("domcapabilities")
            .chain(extra.iter().copied())
            .collect();
        let (want, got) = (answer(luri, &args), answer(&ruri, &args));
        println!(
            "domcapabilities {extra:?}: {}",
            want.lines().last().unwrap_or("")
        );
        assert_eq!(
            got, want,
            "domcapabilities {extra:?}: rvirt's, then libvirt's"
        );
    }
    println!(
        "capabilities identical; {} domcapabilities requests answered alike",
        DOMCAPS.len()
    );
}

/// The pool types whose backend Debian's libvirt-daemon 9.0 here has installed.
const LIBVIRTD_BACKENDS: &[&str] = &[
    "dir",
    "fs",
    "netfs",
    "logical",
    "disk",
    "iscsi",
    "iscsi-direct",
    "scsi",
    "mpath",
];

/// The document split into its `<pool type=...>` elements (by type) and the rest.
fn pools(doc: &str) -> (Vec<(String, String)>, String) {
    let mut out = Vec::new();
    let mut rest = String::new();
    let mut s = doc;
    while let Some(at) = s.find("<pool type='") {
        rest.push_str(&s[..at]);
        let end = s[at..].find("</pool>").map_or(s.len(), |i| at + i + 7);
        let elem = &s[at..end];
        let ty = elem["<pool type='".len()..]
            .split('\'')
            .next()
            .unwrap_or("")
            .to_string();
        out.push((ty, elem.to_string()));
        rest.push_str("<pool/>");
        s = &s[end..];
    }
    rest.push_str(s);
    (out, rest)
}

#[test]
fn pool_capabilities_match_libvirtd_like_with_like() {
    if !require_peer("virsh (libvirt-clients)", have_program(virsh::VIRSH)) {
        return;
    }
    let Some(lv) = Libvirtd::start() else {
        return;
    };
    let rv = Daemon::start("");
    let want = virsh::ok(&lv.uri("qemu", "system"), &["pool-capabilities"]);
    let got = virsh::ok(&rv.uri("qemu:///system"), &["pool-capabilities"]);
    let ((lp, lrest), (rp, rrest)) = (pools(&want), pools(&got));
    assert_eq!(
        rrest, lrest,
        "pool-capabilities outside <pool>: rvirt's, then libvirt's"
    );
    let types = |p: &[(String, String)]| p.iter().map(|(t, _)| t.clone()).collect::<Vec<_>>();
    assert_eq!(types(&rp), types(&lp), "pool types and their order");
    let supported = |e: &str| {
        if e.contains("supported='yes'") {
            "yes"
        } else {
            "no"
        }
    };
    let (mut like, mut differ) = (Vec::new(), Vec::new());
    for ((ty, l), (_, r)) in lp.iter().zip(&rp) {
        let installed = LIBVIRTD_BACKENDS.contains(&ty.as_str());
        assert_eq!(
            supported(l),
            if installed { "yes" } else { "no" },
            "libvirtd's {ty}: {l}"
        );
        // The element as libvirtd writes it, with rvirt's answer to "supported".
        let as_ours = l.replacen(
            &format!("supported='{}'", supported(l)),
            &format!("supported='{}'", supported(r)),
            1,
        );
        assert_eq!(
            r, &as_ours,
            "pool type {ty}: rvirt's, then libvirt's (but supported)"
        );
        if supported(l) == supported(r) {
            like.push(ty.clone());
        } else {
            differ.push(format!(
                "{ty} (libvirtd {}, rvirt {})",
                supported(l),
                supported(r)
            ));
        }
    }
    println!(
        "pool-capabilities: {} pool types identical ({}); supported differs for: {}",
        like.len(),
        like.join(" "),
        differ.join(", ")
    );
    // The backend libvirtd has here and rvirt's storage module does not have yet (refused
    // at define, docs/storage.md): mpath (device-mapper multipath). Any other difference
    // fails.
    assert_eq!(differ, ["mpath (libvirtd yes, rvirt no)"]);
}
