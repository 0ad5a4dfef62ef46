//! The guest agent with the real qemu-guest-agent: a Linux guest (Debian's kernel under
//! TCG, a busybox initramfs running `/usr/sbin/qemu-ga` on its virtio port) runs on
//! rvirtd and on a real libvirtd 9.0; the same virsh commands (qemu-agent-command,
//! domhostname, domtime, domfsfreeze/thaw, domfsinfo, set-user-password, domifaddr
//! --source agent, guestinfo, an agent error, shutdown --mode agent), the channel's live XML and
//! the lifecycle and agent-lifecycle events must be equal. Before the guest has opened
//! its port, both answer the same "not connected" error.

use std::io::BufRead;
use std::path::Path;
use std::time::{Duration, Instant};

use rvirt_tests::guest::{self, boot_timeout, guest_kvm, Extras};
use rvirt_tests::virsh::run as virsh;

use rvirt_tests::xmldiff::require_python_libvirt;
use rvirt_tests::{have_program, repo_root, require_peer};

const QEMU_GA: &str = "/usr/sbin/qemu-ga";

const INIT: &str = r#"#!/bin/busybox sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_console; do
  insmod /modules/$m.ko
done
hostname rvguest
ifconfig lo 127.0.0.1 up
port=
for i in $(seq 100); do
  for n in /sys/class/virtio-ports/*; do
    [ "$(cat $n/name 2>/dev/null)" = org.qemu.guest_agent.0 ] && port=/dev/${n##*/}
  done
  [ -n "$port" ] && [ -e "$port" ] && break
  sleep 1
done
echo RVIRT-GUEST-UP $port
/usr/sbin/qemu-ga -m virtio-serial -p $port -t /tmp -f /tmp/qga.pid -l /tmp/qga.log &
sleep 3
cat /tmp/qga.log
while true; do sleep 1; done
"#;

/// qemu-ga runs `/sbin/shutdown` and `/sbin/hwclock`; busybox has neither by that name.
const SHUTDOWN: &str = "#!/bin/busybox sh\ncase \"$1\" in -r) exec /bin/busybox reboot -f;; *) exec /bin/busybox poweroff -f;; esac\n";
const HWCLOCK: &str = "#!/bin/busybox sh\nexec /bin/busybox hwclock \"$@\"\n";

fn guest_xml(name: &str, kernel: &Path, initrd: &Path, console: &Path) -> String {
    let ty = if guest_kvm() { "kvm" } else { "qemu" };
    format!(
        "<domain type='{ty}'><name>{name}</name><uuid>3c9e2b71-4a0d-4f6e-9b18-7e2d5a6c0f43</uuid>
  <memory unit='MiB'>192</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{}</kernel><initrd>{}</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet</cmdline></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'><source path='{}'/><target port='0'/></serial>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <memballoon model='none'/></devices></domain>",
        kernel.display(),
        initrd.display(),
        console.display()
    )
}

/// The live `<channel>` element, its socket path (which differs by daemon) masked.
fn live_channel(uri: &str, name: &str) -> String {
    let (xml, _, _) = virsh(uri, &["dumpxml", name]);
    let a = xml.find("<channel").unwrap_or(0);
    let b = xml.find("</channel>").map_or(xml.len(), |i| i + 10);
    xml[a..b]
        .lines()
        .map(|l| match l.find("path='") {
            Some(i) => {
                let rest = &l[i + 6..];
                let end = rest.find('\'').unwrap_or(0);
                format!("{}path='PATH'{}", &l[..i], &rest[end + 1..])
            }
            None => l.to_string(),
        })
        .map(|l| l.trim().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn step(uri: &str, name: &str, cmd: &[&str]) -> String {
    step_with(Path::new(rvirt_tests::virsh::VIRSH), uri, name, cmd)
}

fn step_with(shell: &Path, uri: &str, name: &str, cmd: &[&str]) -> String {
    let mut args: Vec<&str> = vec![cmd[0], name];
    args.extend(&cmd[1..]);
    let (o, e, code) = rvirt_tests::virsh::run_with(shell, uri, &args);
    // The guest's clock is not the same twice.
    let o: String = o
        .lines()
        .map(|l| match l.strip_prefix("Time: ") {
            Some(_) => "Time: T".to_string(),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        "$ {}\n{}[{code}]\n",
        cmd.join(" "),
        format!("{o}{e}").trim_end()
    )
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

const STEPS: &[&[&str]] = &[
    &["qemu-agent-command", r#"{"execute":"guest-ping"}"#],
    &["domhostname"],
    &["domhostname", "--source", "agent"],
    &["domtime"],
    &["domtime", "--sync"],
    &["domtime", "--time", "1700000000"],
    &["domtime", "--pretty"],
    &["domfsfreeze"],
    &["domfsthaw"],
    &["domfsinfo"],
    &["set-user-password", "root", "s3cret"],
    &["domifaddr", "--source", "agent"],
    &["guestinfo"],
    &["guestinfo", "--os", "--hostname"],
    &["guestinfo", "--disk"],
    &[
        "qemu-agent-command",
        r#"{"execute":"guest-no-such-command"}"#,
    ],
];

/// The agent commands rvirsh has (cli/src/cmds/dom_agent.rs).
const RVIRSH_CMDS: &[&str] = &["domhostname", "domtime", "domfsfreeze", "domfsthaw"];

fn run_on(
    uri: &str,
    dir: &Path,
    name: &str,
    console: &Path,
    rvirsh: Option<&Path>,
) -> (String, String) {
    let (_, err, code) = virsh(uri, &["define", dir.join("dom.xml").to_str().unwrap()]);
    assert_eq!(code, 0, "{uri}: {err}");
    let _ = std::fs::remove_file(console);
    let script = repo_root().join("tests/data/qemu-agent/agent_events.py");
    let mut listener = std::process::Command::new("/usr/bin/python3")
        .args([script.to_str().unwrap(), uri, name])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run the event listener");
    let mut lines = std::io::BufReader::new(listener.stdout.take().unwrap()).lines();
    assert_eq!(
        lines.next().and_then(Result::ok).as_deref(),
        Some("listening")
    );
    let (_, err, code) = virsh(uri, &["start", name]);
    assert_eq!(code, 0, "{uri}: {err}");
    // Right after the start the guest is still booting: the agent is not there yet.
    let mut out = step(uri, name, &["domtime"]);
    out += &live_channel(uri, name);
    out.push('\n');
    let deadline = Instant::now() + boot_timeout() / 2;
    while virsh(uri, &["domtime", name]).2 != 0 {
        assert!(
            Instant::now() < deadline,
            "{uri}: the agent never answered: {:?}\nconsole:\n{}",
            virsh(uri, &["domtime", name]),
            std::fs::read_to_string(console).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    for cmd in STEPS {
        out += &step(uri, name, cmd);
    }
    if let Some(rvirsh) = rvirsh {
        // rvirsh's own agent commands print what virsh printed for the same steps.
        let mut theirs = String::new();
        let mut ours = String::new();
        for cmd in STEPS.iter().filter(|c| RVIRSH_CMDS.contains(&c[0])) {
            theirs += &step(uri, name, cmd);
            ours += &step_with(rvirsh, uri, name, cmd);
        }
        assert_eq!(ours, theirs, "rvirsh's output, then virsh's");
    }
    out += &live_channel(uri, name);
    out.push('\n');
    out += &step(uri, name, &["shutdown", "--mode", "agent"]);
    wait_for(
        &format!("{uri}: the guest did not shut down"),
        Duration::from_secs(60),
        || virsh(uri, &["domstate", name]).0.trim() == "shut off",
    );
    std::thread::sleep(Duration::from_secs(1));
    let _ = listener.kill();
    let _ = listener.wait();
    let events: Vec<String> = lines.map_while(Result::ok).collect();
    virsh(uri, &["undefine", name]);
    (out, events.join("\n"))
}

/// The events without the agent's disconnect as the guest shuts down: libvirtd handles
/// the port change on a worker thread and sends it before the guest's SHUTDOWN, after
/// it, or (the domain already gone) not at all; rvirtd sends it after (checked apart).
fn settled(events: &str) -> Vec<String> {
    let mut v: Vec<String> = events.lines().map(str::to_string).collect();
    if let Some(i) = v.iter().rposition(|e| e == "agent 2 2") {
        v.remove(i);
    }
    v
}

#[test]
fn guest_agent_calls_match_libvirtd() {
    if !require_python_libvirt()
        || !require_peer("qemu-ga (qemu-guest-agent)", have_program(QEMU_GA))
    {
        return;
    }
    let Some((kernel, modules)) = guest::peers() else {
        return;
    };
    let Some((libvirtd, rvirtd)) = rvirt_tests::guest_daemons(&[]) else {
        return;
    };
    let dir = rvirtd.dir.0.join("guest");
    std::fs::create_dir_all(&dir).unwrap();
    let initrd = dir.join("initrd.cpio");
    let kmods: Vec<(String, String)> = [
        "virtio/virtio",
        "virtio/virtio_ring",
        "virtio/virtio_pci_legacy_dev",
        "virtio/virtio_pci_modern_dev",
        "virtio/virtio_pci",
        "char/virtio_console",
    ]
    .iter()
    .map(|m| {
        let base = m.rsplit('/').next().unwrap();
        (format!("{base}.ko"), format!("kernel/drivers/{m}.ko"))
    })
    .collect();
    let kmods: Vec<(&str, &str)> = kmods
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let files: &[(&str, u32, &[u8])] = &[
        ("/sbin/shutdown", 0o755, SHUTDOWN.as_bytes()),
        ("/sbin/hwclock", 0o755, HWCLOCK.as_bytes()),
        ("/etc/passwd", 0o644, b"root:x:0:0:root:/:/bin/sh\n"),
        ("/etc/shadow", 0o600, b"root:*:19000:0:99999:7:::\n"),
        ("/etc/group", 0o644, b"root:x:0:\n"),
    ];
    guest::build_initramfs_with(
        &modules,
        &initrd,
        INIT,
        &[
            "sh", "mount", "echo", "sleep", "insmod", "hostname", "ifconfig", "cat", "seq",
            "chpasswd", "poweroff", "reboot",
        ],
        &kmods,
        &Extras {
            programs: &[QEMU_GA],
            files,
        },
    );
    let console = dir.join("console.log");
    let name = format!("rvagent{}", std::process::id());
    std::fs::write(
        dir.join("dom.xml"),
        guest_xml(&name, &kernel, &initrd, &console),
    )
    .unwrap();
    let theirs = run_on(&libvirtd.uri("qemu", "system"), &dir, &name, &console, None);
    let rvirsh = rvirt_tests::target_dir().join("rvirsh");
    let ours = run_on(
        &rvirtd.uri("qemu:///system"),
        &dir,
        &name,
        &console,
        Some(&rvirsh),
    );
    assert!(
        theirs.0.contains("$ domfsfreeze"),
        "libvirtd's run:\n{}",
        theirs.0
    );
    assert_eq!(
        ours.0, theirs.0,
        "virsh and live XML: rvirtd's, then libvirtd's"
    );
    // The guest's poweroff closes qemu-ga's port first, unless QEMU exits before it
    // reports the port's close (seen under load, 2026-12-08): then there is no
    // VSERPORT_CHANGE and no disconnect to send. When there is one, rvirtd sends it
    // after the SHUTDOWN it came with and before STOPPED.
    assert!(
        ours.1.ends_with("lifecycle 6 1\nagent 2 2\nlifecycle 5 0")
            || (ours.1.ends_with("lifecycle 6 1\nlifecycle 5 0") && !ours.1.contains("agent 2 2")),
        "rvirtd's events: {}",
        ours.1
    );
    assert_eq!(
        settled(&ours.1),
        settled(&theirs.1),
        "events: rvirtd's, then libvirtd's"
    );
}
