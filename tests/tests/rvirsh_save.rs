//! rvirsh's save commands print what the real virsh prints: the same steps (save,
//! restore, the saved image's XML, managed save and its XML, removal) run through
//! virsh against one rvirtd and through rvirsh against another, on a firmware-only
//! QEMU guest; every step's output and exit code must be identical.

use std::path::Path;
use std::process::{Command, Stdio};

use rvirt_tests::virsh::{tiny_qemu_xml, VIRSH};
use rvirt_tests::{have_program, require_peer, target_dir, Daemon, TempDir};

const NAME: &str = "rvsavecli";

/// Runs one tool in `cwd` with stdout and stderr merged; returns (output, exit code)
/// with `cwd` written as `DIR`.
fn run(tool: &Path, uri: &str, args: &[&str], cwd: &Path) -> (String, i32) {
    let args: Vec<String> = args
        .iter()
        .map(|a| a.replace("DIR", cwd.to_str().unwrap()))
        .collect();
    let out = Command::new("sh")
        .arg("-c")
        .arg("exec \"$0\" \"$@\" 2>&1")
        .arg(tool)
        .arg("-c")
        .arg(uri)
        .args(&args)
        .current_dir(cwd)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .expect("run tool");
    let text = String::from_utf8_lossy(&out.stdout).replace(cwd.to_str().unwrap(), "DIR");
    (text, out.status.code().unwrap_or(-1))
}

const STEPS: &[&[&str]] = &[
    &["define", "dom.xml"],
    &["start", NAME],
    &["save", NAME, "DIR/a.save"],
    &["save", NAME, "DIR/a.save"],
    &["save-image-dumpxml", "DIR/a.save"],
    &["save-image-define", "DIR/a.save", "dom2.xml"],
    &[
        "save-image-define",
        "DIR/a.save",
        "dom2.xml",
        "--running",
        "--paused",
    ],
    &["save-image-define", "DIR/none.save", "dom2.xml"],
    &["save-image-dumpxml", "DIR/none.save"],
    &["restore", "DIR/a.save", "--paused"],
    &["domstate", NAME, "--reason"],
    &["restore", "DIR/none.save"],
    &["managedsave", NAME],
    &["dominfo", NAME],
    &["list", "--all", "--managed-save"],
    &["list", "--all", "--with-managed-save", "--name"],
    &["managedsave-dumpxml", NAME],
    &["managedsave-define", NAME, "dom2.xml", "--running"],
    &[
        "managedsave-define",
        NAME,
        "dom2.xml",
        "--running",
        "--paused",
    ],
    &["undefine", NAME],
    &["start", NAME],
    &["domstate", NAME, "--reason"],
    &["managedsave", NAME, "--paused"],
    &["managedsave-remove", NAME],
    &["managedsave-remove", NAME],
    &["managedsave-dumpxml", NAME],
    &["managedsave-define", NAME, "dom2.xml"],
    &["managedsave", NAME],
    &["undefine", NAME, "--managed-save"],
];

#[test]
fn save_commands_print_what_virsh_prints() {
    if !require_peer("virsh (libvirt-clients)", have_program(VIRSH)) || !rvirt_tests::require_qemu()
    {
        return;
    }
    let xml = tiny_qemu_xml(NAME).replace(
        "<name>",
        "<uuid>5b1e9c0a-3f7d-4e2a-8c61-9d0b7a4e2f13</uuid><name>",
    );
    let edited = xml.replace(
        "<on_crash>destroy</on_crash>",
        "<on_crash>preserve</on_crash>",
    );
    let dirs = [TempDir::new("rvsave-virsh"), TempDir::new("rvsave-rvirsh")];
    for d in &dirs {
        std::fs::write(d.0.join("dom.xml"), &xml).unwrap();
        std::fs::write(d.0.join("dom2.xml"), &edited).unwrap();
    }
    let (for_virsh, for_rvirsh) = (Daemon::start(""), Daemon::start(""));
    let rvirsh = target_dir().join("rvirsh");
    let mut differences = Vec::new();
    for step in STEPS {
        let want = run(
            Path::new(VIRSH),
            &for_virsh.uri("qemu:///system"),
            step,
            &dirs[0].0,
        );
        let got = run(&rvirsh, &for_rvirsh.uri("qemu:///system"), step, &dirs[1].0);
        if want != got {
            differences.push(format!(
                "{}:\n--- virsh (exit {})\n{}--- rvirsh (exit {})\n{}",
                step.join(" "),
                want.1,
                want.0,
                got.1,
                got.0
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} steps differ:\n{}",
        differences.len(),
        STEPS.len(),
        differences.join("\n")
    );
}
