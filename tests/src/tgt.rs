//! tgt's userspace iSCSI target (`tgtd`) inside a network namespace of the test, for
//! pools that reach iSCSI from userspace (`iscsi-direct`, libiscsi): the portal is
//! `127.0.0.1:3260` on the namespace's own loopback, so nothing of it is seen from the
//! machine's network. Each target runs on its own management port (`tgtd -C N`), so
//! that two tests (or a tgtd of the machine) do not meet on the control socket.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::netns::Netns;

pub const TGTD: &str = "/usr/sbin/tgtd";
pub const TGTADM: &str = "/usr/sbin/tgtadm";

/// A running tgtd in a namespace, killed on drop.
pub struct Target {
    child: Child,
    port: String,
    ns: String,
}

impl Target {
    /// Starts tgtd in `ns` serving target `iqn` with one logical unit per size in `luns`
    /// (LUN 1, 2, ...: sparse files `lunN.img` in `dir`), open to every initiator.
    pub fn start(ns: &Netns, dir: &Path, iqn: &str, luns: &[u64]) -> Target {
        std::fs::create_dir_all("/var/run/tgtd").expect("create /var/run/tgtd");
        let port = (1000 + std::process::id() % 5000).to_string();
        let child = Command::new("ip")
            .args(["netns", "exec", ns.name(), TGTD, "-f", "-C", &port])
            .args(["--iscsi", "portal=127.0.0.1:3260"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn tgtd");
        let t = Target {
            child,
            port,
            ns: ns.name().to_string(),
        };
        t.wait_ready();
        t.adm(&["--op", "new", "--mode", "target", "--tid", "1", "-T", iqn]);
        for (i, size) in luns.iter().enumerate() {
            let img = lun_image(dir, i + 1);
            let f = std::fs::File::create(&img).expect("create LUN image");
            f.set_len(*size).expect("size LUN image");
            let lun = (i + 1).to_string();
            let img = img.display().to_string();
            t.adm_lun(&lun, &img);
        }
        t.adm(&[
            "--op", "bind", "--mode", "target", "--tid", "1", "-I", "ALL",
        ]);
        t
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("ip")
            .args([
                "netns", "exec", &self.ns, TGTADM, "-C", &self.port, "--lld", "iscsi",
            ])
            .args(args)
            .output()
            .expect("run tgtadm")
    }

    /// `tgtadm --lld iscsi ARGS`, panicking when it fails.
    pub fn adm(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "tgtadm {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn adm_lun(&self, lun: &str, img: &str) {
        self.adm(&[
            "--op",
            "new",
            "--mode",
            "logicalunit",
            "--tid",
            "1",
            "--lun",
            lun,
            "-b",
            img,
        ]);
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self
                .run(&["--op", "show", "--mode", "target"])
                .status
                .success()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("tgtd did not start in namespace {}", self.ns);
    }
}

/// The backing file of LUN `n` of a target started in `dir`.
pub fn lun_image(dir: &Path, n: usize) -> PathBuf {
    dir.join(format!("lun{n}.img"))
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether tgt is installed.
pub fn available() -> bool {
    Path::new(TGTD).exists() && Path::new(TGTADM).exists()
}
