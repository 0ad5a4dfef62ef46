//! Network namespaces for the network-driver tests: every bridge, address, dnsmasq and
//! nftables rule a test makes lives in namespaces created here, never in the machine's
//! own. A [`Netns`] is deleted on drop, after killing whatever still runs in it.

use std::process::{Command, Output};

/// libvirt's stock `default` network, as Debian ships it.
pub const DEFAULT_NETWORK_XML: &str = "<network>
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

/// A network namespace of the test, deleted on drop.
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates namespace `rvt-TAG-PID-N` with its loopback up.
    pub fn new(tag: &str) -> Netns {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("rvt-{tag}-{}-{n}", std::process::id());
        let ns = Netns { name };
        ns.ip(&["netns", "add", &ns.name]);
        ns.ip(&["-n", &ns.name, "link", "set", "lo", "up"]);
        ns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip ARGS` (outside any namespace), panicking when it fails.
    pub fn ip(&self, args: &[&str]) -> String {
        let out = Command::new("ip").args(args).output().expect("run ip");
        assert!(
            out.status.success(),
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `ip -n NS ARGS`, panicking when it fails.
    pub fn ip_in(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        self.ip(&all)
    }

    /// Runs `PROG ARGS` inside the namespace.
    pub fn exec(&self, prog: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name, prog])
            .args(args)
            .output()
            .expect("run ip netns exec")
    }

    /// The pids of the processes in the namespace.
    pub fn pids(&self) -> Vec<i32> {
        let out = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
            .expect("run ip netns pids");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    /// The names of the links in the namespace.
    pub fn links(&self) -> Vec<String> {
        self.ip_in(&["-o", "link", "show"])
            .lines()
            .filter_map(|l| l.split(':').nth(1))
            .map(|n| n.trim().split('@').next().unwrap_or("").to_string())
            .collect()
    }

    /// The pid of the QEMU (`/usr/bin/qemu-system-x86_64`) of guest `name` among the
    /// processes of the namespace.
    pub fn qemu_pid(&self, name: &str) -> Option<i32> {
        let needle = format!("guest={name}");
        self.pids().into_iter().find(|p| {
            std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| {
                let c = String::from_utf8_lossy(&c);
                c.starts_with("/usr/bin/qemu-system-x86_64") && c.contains(&needle)
            })
        })
    }

    /// The pid of rvirtd among the processes of the namespace.
    pub fn rvirtd_pid(&self) -> i32 {
        self.pids()
            .into_iter()
            .find(|p| {
                std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| {
                    c.split(|b| *b == 0)
                        .next()
                        .is_some_and(|argv0| argv0.ends_with(b"/rvirtd"))
                })
            })
            .expect("rvirtd runs in the namespace")
    }

    /// Connects this namespace to `other` with a veth pair: `here` in this one, `there`
    /// in `other`, both up.
    pub fn veth_to(&self, here: &str, other: &Netns, there: &str) {
        self.ip_in(&[
            "link",
            "add",
            here,
            "type",
            "veth",
            "peer",
            "name",
            there,
            "netns",
            &other.name,
        ]);
        self.ip_in(&["link", "set", here, "up"]);
        other.ip_in(&["link", "set", there, "up"]);
    }
}

impl Netns {
    /// `iptables-save` then `ip6tables-save` in the namespace, without comments and
    /// chain counters.
    pub fn iptables_save(&self) -> String {
        let mut all = String::new();
        for prog in ["iptables-save", "ip6tables-save"] {
            let out = self.exec(prog, &[]);
            assert!(
                out.status.success(),
                "{prog}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            for l in String::from_utf8_lossy(&out.stdout).lines() {
                if l.starts_with('#') {
                    continue;
                }
                let l = match l.rsplit_once(" [") {
                    Some((head, _)) if l.starts_with(':') => head,
                    _ => l,
                };
                all += l;
                all.push('\n');
            }
        }
        all
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Processes the test started in the namespace (rvirtd, dnsmasq, DHCP clients).
        for pid in self.pids() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Sends `signal` (`-KILL`, `-STOP`) to `pid`, failing the test when `kill` fails.
pub fn kill(pid: i32, signal: &str) {
    let ok = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill {signal} {pid}");
}

/// Whether the tools the namespace tests need are installed (`ip`, `nft`, `dnsmasq`).
pub fn tools_available() -> bool {
    ["/usr/sbin/ip", "/usr/sbin/nft", "/usr/sbin/dnsmasq"]
        .iter()
        .all(|p| std::path::Path::new(p).exists())
}

/// A `tc` that records each call (`ARGS -> STATUS`, one line each, in `DIR/tc.log`) and
/// runs a copy of the real one (`DIR/tc.real`), so that a test can compare the commands
/// two daemons run. Where this kernel lacks what a command needs (sfq, the fw
/// classifier, the police action: built as modules that a VM's kernel may not have),
/// the call is recorded with `(kernel lacks it)` and succeeds, so that both daemons go
/// on as on a full kernel. Answers the wrapper's path.
pub fn tc_recorder(dir: &std::path::Path) -> std::path::PathBuf {
    let real = dir.join("tc.real");
    std::fs::copy("/usr/sbin/tc", &real).expect("copy tc");
    let log = dir.join("tc.log");
    let script = format!(
        "#!/bin/sh\nerr=$({real} \"$@\" 2>&1 >/dev/null)\nrc=$?\n\
         case \"$err\" in\n\
         *'kind is unknown'*|*'classifier not found'*|*'Failed to load TC action'*)\n\
         echo \"$* -> 0 (kernel lacks it)\" >> {log}; exit 0;;\nesac\n\
         echo \"$* -> $rc\" >> {log}\n[ -n \"$err\" ] && echo \"$err\" >&2\nexit $rc\n",
        real = real.display(),
        log = log.display()
    );
    let path = dir.join("tc");
    std::fs::write(&path, script).expect("write tc wrapper");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod tc wrapper");
    path
}
