//! libvirt's two parse rules, through the real `virsh`, on rvirtd and on libvirt 9.0's own
//! test driver: without `--validate` an unknown element or attribute is ignored (the dumps
//! are byte for byte libvirt's, and rvirtd's debug log names what was ignored); with
//! `--validate` the document is refused with `XML_INVALID_SCHEMA` naming what the
//! schema does not allow.

use std::path::Path;
use std::process::Command;

use rvirt_tests::{have_program, require_peer, target_dir, Daemon, TempDir};

const DOMAIN: &str = "<domain type='test'>
  <name>unknown1</name>
  <uuid>5eed0001-0000-4000-8000-0000000000aa</uuid>
  <memory>65536</memory>
  <os><type>hvm</type></os>
  <frobnicate level='3'/>
  <devices><disk type='file' device='disk'><source file='/a.img'/><target dev='vda'/></disk></devices>
</domain>
";

/// Unknown only deep inside: libvirt's validator reports the enclosing interleave;
/// rvirt names the element itself.
const DOMAIN_NESTED: &str = "<domain type='test'>
  <name>unknown2</name>
  <uuid>5eed0001-0000-4000-8000-0000000000ab</uuid>
  <memory>65536</memory>
  <os><type>hvm</type></os>
  <devices><disk type='file' device='disk'><source file='/a.img'/><target dev='vda'/><wobble/></disk></devices>
</domain>
";

const DOMAIN_ATTR: &str = "<domain type='test' colour='red'>
  <name>unknown3</name>
  <uuid>5eed0001-0000-4000-8000-0000000000ac</uuid>
  <memory>65536</memory>
  <os><type>hvm</type></os>
</domain>
";

const NETWORK: &str = "<network>
  <name>unknown4</name>
  <uuid>5eed0002-0000-4000-8000-0000000000aa</uuid>
  <frobnicate/>
  <bridge name='virbr9'/>
</network>
";

const POOL: &str = "<pool type='dir'>
  <name>unknown5</name>
  <uuid>5eed0003-0000-4000-8000-0000000000aa</uuid>
  <frobnicate/>
  <target><path>/var/lib/unknown5</path></target>
</pool>
";

/// (document, define command, dump command, object name, whether rvirt's refusal text
/// must equal libvirt's, the word rvirt's refusal must name).
const CASES: &[(&str, &str, &str, &str, bool, &str)] = &[
    (DOMAIN, "define", "dumpxml", "unknown1", true, "frobnicate"),
    (
        DOMAIN_NESTED,
        "define",
        "dumpxml",
        "unknown2",
        false,
        "wobble",
    ),
    (DOMAIN_ATTR, "define", "dumpxml", "unknown3", true, "colour"),
    (
        NETWORK,
        "net-define",
        "net-dumpxml",
        "unknown4",
        true,
        "frobnicate",
    ),
    // libvirt's validator words the pool case after an interleave it cannot match.
    (
        POOL,
        "pool-define",
        "pool-dumpxml",
        "unknown5",
        false,
        "frobnicate",
    ),
];

/// `virsh -q -c URI ARGS...`: (success, stdout, stderr).
fn virsh(uri: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new("virsh")
        .arg("-q")
        .arg("-c")
        .arg(uri)
        .args(args)
        .output()
        .expect("run virsh");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Defines `file` without and then with `--validate` on `uri`: (the dump of the lenient
/// define, the refusal of the validating one).
fn both_rules(uri: &str, file: &Path, define: &str, dump: &str, name: &str) -> (String, String) {
    let file = file.to_str().unwrap();
    // One virsh session: libvirt's in-process test:///default lives as long as it.
    let undefine = define.replace("define", "undefine");
    let script = format!("{define} {file}; {dump} {name}; {undefine} {name}");
    let (ok, out, err) = virsh(uri, &[&script]);
    assert!(ok && err.is_empty(), "{uri}: {script}: {err}");
    assert!(out.starts_with('<'), "{uri}: {script} printed {out}");
    let dumped = out;
    let (ok, _, refusal) = virsh(uri, &[define, "--validate", file]);
    assert!(!ok, "{uri}: {define} --validate accepted {file}");
    (dumped, refusal)
}

#[test]
fn unknown_xml_is_ignored_without_validate_and_named_with_it() {
    if !require_peer("virsh (libvirt-clients)", have_program("/usr/bin/virsh")) {
        return;
    }
    let daemon = Daemon::start_with(&target_dir(), "", &[("RVIRT_LOG", "debug".into())]);
    let rvirt = daemon.uri("test:///default");
    let dir = TempDir::new("xml-validate");
    for (doc, define, dump, name, same_text, word) in CASES {
        let file = dir.0.join(format!("{name}.xml"));
        std::fs::write(&file, doc).unwrap();
        let (want_dump, want_err) = both_rules("test:///default", &file, define, dump, name);
        let (got_dump, got_err) = both_rules(&rvirt, &file, define, dump, name);
        assert_eq!(got_dump, want_dump, "{name}: lenient dump differs");
        assert!(!got_dump.contains(word), "{name}: {word} kept: {got_dump}");
        let schema_line = |e: &str| e.lines().nth(1).unwrap_or("").to_string();
        assert!(
            schema_line(&want_err).contains("XML document failed to validate against schema"),
            "{name}: libvirt's refusal is {want_err}"
        );
        assert_eq!(schema_line(&got_err), schema_line(&want_err), "{name}");
        assert!(
            got_err.contains(word),
            "{name}: refusal does not name {word}: {got_err}"
        );
        let log = daemon.log();
        assert!(
            log.contains(&format!("ignoring element <{word}> in "))
                || log.contains(&format!("ignoring attribute '{word}' of ")),
            "{name}: the debug log does not name the ignored {word}"
        );
        if *same_text {
            assert_eq!(got_err, want_err, "{name}: refusal text differs");
        }
    }
}
