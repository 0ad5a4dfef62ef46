//! Domain statistics of the qemu driver against a real libvirtd 9.0's, on the same
//! machine and the same guests (two running firmware-only KVM or TCG guests, each with a
//! qcow2 disk, a user-mode interface and a balloon) plus an inactive domain: `GetAllDomainStats` must
//! give the same fields in the same order with the same types, and the same values where
//! they do not depend on time; virsh's `domstats`, `dommemstat`, `domblkstat`,
//! `domblkinfo`, `vcpuinfo`, `cpu-stats --total` and `domifstat` print the same lines
//! (numbers aside) and the same errors.

use rvirt_core::protocol::{self as p, RemoteClient, RemoteTypedParamValue as V};
use rvirt_core::Connect;
use rvirt_tests::virsh::{masked, qcow2_vda, run as virsh, tiny_qemu_xml, VIRSH};
use rvirt_tests::{have_program, require_peer, Daemon, Libvirtd};

/// Fields whose values are counters or sizes that change while the guest runs.
fn volatile(field: &str) -> bool {
    let last = field.rsplit('.').next().unwrap_or("");
    field.starts_with("cpu.")
        || field.starts_with("vm.")
        || (field.starts_with("vcpu.") && field.matches('.').count() >= 2)
        || field == "balloon.rss"
        || matches!(last, "reqs" | "bytes" | "times" | "allocation" | "physical")
}

/// `(field, type[=value])` of each parameter; values kept for the stable fields.
fn described(params: &[p::RemoteTypedParam]) -> Vec<String> {
    params
        .iter()
        .map(|t| {
            let (kind, value) = match &t.value {
                V::Int(v) => ("int", v.to_string()),
                V::Uint(v) => ("uint", v.to_string()),
                V::Llong(v) => ("llong", v.to_string()),
                V::Ullong(v) => ("ullong", v.to_string()),
                V::Double(v) => ("double", v.to_string()),
                V::Boolean(v) => ("boolean", v.to_string()),
                V::String(v) => ("string", v.clone()),
            };
            if volatile(&t.field) {
                format!("{} {kind}", t.field)
            } else {
                format!("{} {kind}={value}", t.field)
            }
        })
        .collect()
}

/// Whether a field is one of KVM's counters (`query-stats`), which libvirt lists in the
/// order of a hash table.
fn kvm_counter(described: &str) -> bool {
    let field = described
        .trim_start()
        .split([' ', '='])
        .next()
        .unwrap_or("");
    [".sum", ".cur", ".max"].iter().any(|s| field.ends_with(s))
}

/// `fields` with each run of KVM counters sorted.
fn kvm_runs_sorted(mut fields: Vec<String>) -> Vec<String> {
    let mut i = 0;
    while i < fields.len() {
        let run = fields[i..].iter().take_while(|f| kvm_counter(f)).count();
        fields[i..i + run].sort();
        i += run.max(1);
    }
    fields
}

/// Every record, by domain name, as [`described`].
fn all_stats(uri: &str) -> Vec<(String, Vec<String>)> {
    let c = Connect::open(uri).expect("open");
    let ret = c
        .connect_get_all_domain_stats(&p::RemoteConnectGetAllDomainStatsArgs {
            doms: Vec::new(),
            stats: 0,
            flags: 0,
        })
        .expect("GetAllDomainStats");
    let mut v: Vec<_> = ret
        .ret_stats
        .iter()
        .map(|r| (r.dom.name.clone(), kvm_runs_sorted(described(&r.params))))
        .collect();
    v.sort();
    v
}

/// virsh's answers to the statistics commands, numbers masked.
fn virsh_transcript(uri: &str, name: &str) -> String {
    let commands: &[&[&str]] = &[
        &["dommemstat", name],
        &["domblkstat", name, "vda"],
        &["domblkstat", name, "vdz"],
        &["domblkinfo", name, "vda"],
        &["vcpuinfo", name],
        &["cpu-stats", name, "--total"],
        &["domifstat", name, "nosuch0"],
        &[
            "domstats",
            name,
            "--state",
            "--balloon",
            "--vcpu",
            "--interface",
        ],
    ];
    let mut out = String::new();
    for args in commands {
        let (stdout, stderr, code) = virsh(uri, args);
        out += &format!(
            "$ {}\n{}{}[{code}]\n",
            args.join(" "),
            masked(&stdout),
            masked(&stderr)
        );
    }
    kvm_runs_sorted(out.lines().map(str::to_string).collect()).join("\n")
}

#[test]
fn domain_statistics_match_libvirtd() {
    if !rvirt_tests::require_qemu() || !require_peer("virsh (libvirt-clients)", have_program(VIRSH))
    {
        return;
    }
    let Some(libvirtd) = Libvirtd::start_for_guests() else {
        return;
    };
    let rvirtd = Daemon::start("");
    let pid = std::process::id();
    // Two running guests, so that rvirtd gathers their records on threads of their own.
    let (run, other, idle) = (
        format!("rvqst{pid}"),
        format!("rvqsu{pid}"),
        format!("rvqsi{pid}"),
    );
    let xml = |name: &str, uuid: &str, disk: &str| {
        let image = rvirtd.dir.0.join(disk);
        let made = std::process::Command::new("qemu-img")
            .args(["create", "-q", "-f", "qcow2"])
            .arg(&image)
            .arg("64M")
            .status()
            .expect("run qemu-img");
        assert!(made.success());
        let devices = format!(
            "{}<interface type='user'><mac address='52:54:00:5a:00:01'/>\
             <model type='virtio'/></interface>",
            qcow2_vda(&image)
        );
        tiny_qemu_xml(name)
            .replace("<name>", &format!("<uuid>{uuid}</uuid><name>"))
            .replace(
                "<memballoon model='none'/>",
                &format!("{devices}<memballoon model='virtio'/>"),
            )
    };
    let docs = [
        (&run, "6d3a1f52-5d0e-4b9c-9e61-3c1f7a2b9e03", true),
        (&other, "6d3a1f52-5d0e-4b9c-9e61-3c1f7a2b9e05", true),
        (&idle, "6d3a1f52-5d0e-4b9c-9e61-3c1f7a2b9e04", false),
    ]
    .map(|(name, uuid, start)| {
        let path = rvirtd.dir.0.join(format!("{name}.xml"));
        std::fs::write(&path, xml(name, uuid, &format!("{name}.qcow2"))).unwrap();
        (path, name, start)
    });
    let uris = [libvirtd.uri("qemu", "system"), rvirtd.uri("qemu:///system")];
    let mut seen = Vec::new();
    for uri in &uris {
        for (path, name, start) in &docs {
            let (_, err, code) = virsh(uri, &["define", path.to_str().unwrap()]);
            assert_eq!(code, 0, "{uri}: {err}");
            if *start {
                let (_, err, code) = virsh(uri, &["start", name]);
                assert_eq!(code, 0, "{uri}: {err}");
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        seen.push((all_stats(uri), virsh_transcript(uri, &run)));
        for name in [&run, &other, &idle] {
            virsh(uri, &["destroy", name]);
            virsh(uri, &["undefine", name]);
        }
    }
    let (theirs, ours) = (&seen[0], &seen[1]);
    assert!(
        theirs
            .0
            .iter()
            .any(|(_, f)| f.iter().any(|x| x.starts_with("block.0.capacity"))),
        "libvirtd reported no block statistics: {:?}",
        theirs.0
    );
    for ((their_name, their_fields), (our_name, our_fields)) in theirs.0.iter().zip(&ours.0) {
        assert_eq!(our_name, their_name);
        // libvirt 9.0 gives a shut-off domain "CPU times" read from /proc for pid 0,
        // which are its own daemon's; rvirt reports none.
        let their_fields: Vec<String> = their_fields
            .iter()
            .filter(|f| !(our_name == &idle && f.starts_with("cpu.")))
            .cloned()
            .collect();
        let their_fields = &their_fields;
        assert_eq!(
            our_fields, their_fields,
            "GetAllDomainStats of {our_name}: rvirtd's, then libvirtd's"
        );
    }
    assert_eq!(theirs.0.len(), 3, "libvirtd's records: {:?}", theirs.0);
    assert_eq!(ours.0.len(), theirs.0.len());
    assert_eq!(
        ours.1, theirs.1,
        "virsh through rvirtd, then through libvirtd"
    );
}
