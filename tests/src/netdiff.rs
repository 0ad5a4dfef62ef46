//! Shared parts of the differentials of the network driver against libvirtd: cleanup
//! of libvirtd's networks, and dumps and dnsmasq files made comparable.

use crate::virsh;

/// Destroys and undefines a network on drop, whatever state it is in.
pub struct Undefine(pub String, pub &'static str);

impl Drop for Undefine {
    fn drop(&mut self) {
        let _ = virsh::run(&self.0, &["net-destroy", self.1]);
        let _ = virsh::run(&self.0, &["net-undefine", self.1]);
        // libvirt 9.0 leaves the pid file of the network's dnsmasq behind.
        let _ = std::fs::remove_file(format!("/run/libvirt/network/{}.pid", self.1));
        // And the (empty) port directories of a network that had ports.
        let dir = format!("/run/libvirt/network/{}", self.1);
        let _ = std::fs::remove_dir(format!("{dir}/ports"));
        let _ = std::fs::remove_dir(dir);
    }
}

/// The dump with the random parts (the bridge MAC chosen at define) replaced.
pub fn normalized(xml: &str) -> String {
    xml.lines()
        .map(|l| {
            if l.trim_start().starts_with("<mac address='52:54:00:") && !l.contains("12:34:56") {
                "  <mac address='RANDOM'/>".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The configuration lines with file paths reduced to their file names.
pub fn conf_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| match l.split_once('=') {
            Some((k, v)) if v.starts_with('/') && !k.starts_with("tftp") => {
                format!("{k}={}", v.rsplit('/').next().unwrap_or(v))
            }
            _ => l.to_string(),
        })
        .collect()
}

pub fn read(path: impl AsRef<std::path::Path>) -> String {
    let p = path.as_ref();
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// A real libvirtd 9.0 and rvirtd side by side, each in a network namespace of its own.
pub struct Pair {
    pub lns: crate::netns::Netns,
    pub lv: crate::Libvirtd,
    pub rns: crate::netns::Netns,
    pub rv: crate::Daemon,
    /// With [`Pair::with_tc_recorders`]: the directories of each daemon's recording tc
    /// (`tc.log`), libvirtd's first.
    pub tc_logs: Option<(crate::TempDir, crate::TempDir)>,
}

impl Pair {
    /// Whether what both daemons' network drivers run is here (under CI a missing one
    /// fails the test): virsh, ip, nft, dnsmasq, the iptables libvirt 9.0's firewall
    /// needs, and `tc` when `tc` is asked for.
    fn peers(tc: bool) -> bool {
        use crate::{have_program, require_peer};
        require_peer("virsh (libvirt-clients)", have_program(virsh::VIRSH))
            && require_peer("ip, nft and dnsmasq", crate::netns::tools_available())
            && (!tc || require_peer("tc (iproute2)", have_program("/usr/sbin/tc")))
            && require_peer(
                "iptables (libvirt 9's firewall)",
                have_program("/usr/sbin/iptables"),
            )
    }

    /// The pair with rvirtd on the iptables backend libvirt 9.0 uses, so that their
    /// rules compare; `None` without the peers (a failure under CI).
    pub fn on_iptables(tag: &str) -> Option<Pair> {
        if !Pair::peers(false) {
            return None;
        }
        let lns = crate::netns::Netns::new(&format!("lv{tag}"));
        let rns = crate::netns::Netns::new(&format!("rv{tag}"));
        let lv = crate::Libvirtd::start_in_netns(&lns)?;
        let rv = crate::Daemon::start_in_netns(
            &rns,
            "[drivers.network]\nfirewall_backend = \"iptables\"\n",
        );
        Some(Pair {
            lns,
            lv,
            rns,
            rv,
            tc_logs: None,
        })
    }

    /// The pair with each daemon's network driver running a recording `tc`
    /// ([`crate::netns::tc_recorder`]); `None` without the peers (a failure under CI).
    pub fn with_tc_recorders(tag: &str) -> Option<Pair> {
        if !Pair::peers(true) {
            return None;
        }
        let (ltc, rtc) = (
            crate::TempDir::new(&format!("tc-lv{tag}")),
            crate::TempDir::new(&format!("tc-rv{tag}")),
        );
        let lns = crate::netns::Netns::new(&format!("lv{tag}"));
        let rns = crate::netns::Netns::new(&format!("rv{tag}"));
        let lv = crate::Libvirtd::start_in_netns_with_tc(&lns, &crate::netns::tc_recorder(&ltc.0))?;
        let rtc_path = crate::netns::tc_recorder(&rtc.0);
        let rv = crate::Daemon::start_in_netns(
            &rns,
            &format!("[drivers.network]\ntc = \"{}\"\n", rtc_path.display()),
        );
        Some(Pair {
            lns,
            lv,
            rns,
            rv,
            tc_logs: Some((ltc, rtc)),
        })
    }
}
