//! The module's `[drivers.network]` configuration and the directories derived from it.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// `[drivers.network]` keys.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Where persistent network XML lives (default: the host's state dir for this module).
    pub state_dir: Option<String>,
    /// Where status files of running networks, dnsmasq configs, pid and lease files live.
    pub run_dir: Option<String>,
    /// The dnsmasq binary.
    pub dnsmasq: Option<String>,
    /// The nft binary.
    pub nft: Option<String>,
    /// The tc binary (traffic shaping of `<bandwidth>`).
    pub tc: Option<String>,
    /// `nftables` or `iptables` (default: nftables when `nft` is found, else iptables).
    pub firewall_backend: Option<String>,
    /// The iptables binary (iptables backend, IPv4).
    pub iptables: Option<String>,
    /// The ip6tables binary (iptables backend, IPv6).
    pub ip6tables: Option<String>,
    /// The lease helper dnsmasq runs as its `dhcp-script`.
    pub leases_helper: Option<String>,
}

/// Resolved configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub state_dir: PathBuf,
    pub run_dir: PathBuf,
    pub dnsmasq: String,
    pub nft: String,
    pub tc: String,
    pub firewall_backend: FirewallBackend,
    pub iptables: String,
    pub ip6tables: String,
    pub leases_helper: PathBuf,
}

/// Where a network's firewall rules go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirewallBackend {
    /// Tables of our own (`table ip rvirt_BRIDGE`).
    Nftables,
    /// libvirt 9.0's `LIBVIRT_*` chains.
    Iptables,
}

/// Whether `prog` names an executable: a path that exists, or a name on `PATH`.
fn program_exists(prog: &str) -> bool {
    if prog.contains('/') {
        return Path::new(prog).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(prog).is_file()))
}

fn backend(raw: Option<&str>, nft: &str) -> Result<FirewallBackend, ConfigError> {
    match raw {
        Some("nftables") => Ok(FirewallBackend::Nftables),
        Some("iptables") => Ok(FirewallBackend::Iptables),
        Some(other) => Err(ConfigError::Parse(format!(
            "firewall_backend must be \"nftables\" or \"iptables\", not \"{other}\""
        ))),
        None if program_exists(nft) => Ok(FirewallBackend::Nftables),
        None => Ok(FirewallBackend::Iptables),
    }
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid [drivers.network] configuration: {0}")]
    Parse(String),
    #[error("cannot create directory {path}: {reason}")]
    Dir { path: String, reason: String },
}

/// The lease helper installed beside the running program (rvirtd), if any.
/// `rvirt-leaseshelper` next to the daemon (a build tree), else in `../lib/rvirt/` from it
/// (the packaged layout: `/usr/sbin/rvirtd`, `/usr/lib/rvirt/rvirt-leaseshelper`).
fn default_helper() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    let beside = dir.join("rvirt-leaseshelper");
    let packaged = dir.join("../lib/rvirt/rvirt-leaseshelper");
    if !beside.exists() && packaged.exists() {
        return packaged.canonicalize().unwrap_or(packaged);
    }
    beside
}

impl Config {
    /// Parses the TOML text the host hands over; `host_state_dir` is the default state dir.
    pub fn parse(text: &str, host_state_dir: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| ConfigError::Parse(e.message().to_string()))?;
        let base = if host_state_dir.is_empty() {
            std::env::temp_dir().join("rvirt-network")
        } else {
            PathBuf::from(host_state_dir)
        };
        let state_dir = raw.state_dir.map(PathBuf::from).unwrap_or(base);
        let run_dir = raw
            .run_dir
            .map(PathBuf::from)
            .unwrap_or_else(|| state_dir.join("run"));
        let nft = raw.nft.unwrap_or_else(|| "nft".into());
        Ok(Config {
            firewall_backend: backend(raw.firewall_backend.as_deref(), &nft)?,
            state_dir,
            run_dir,
            dnsmasq: raw.dnsmasq.unwrap_or_else(|| "dnsmasq".into()),
            nft,
            tc: raw.tc.unwrap_or_else(|| "tc".into()),
            iptables: raw.iptables.unwrap_or_else(|| "iptables".into()),
            ip6tables: raw.ip6tables.unwrap_or_else(|| "ip6tables".into()),
            leases_helper: raw
                .leases_helper
                .map(PathBuf::from)
                .unwrap_or_else(default_helper),
        })
    }

    /// Creates the directories the driver writes to.
    pub fn create_dirs(&self) -> Result<(), ConfigError> {
        for d in [&self.state_dir, &self.run_dir, &self.autostart_dir()] {
            std::fs::create_dir_all(d).map_err(|e| ConfigError::Dir {
                path: d.display().to_string(),
                reason: e.to_string(),
            })?;
        }
        Ok(())
    }

    pub fn autostart_dir(&self) -> PathBuf {
        self.state_dir.join("autostart")
    }

    pub fn config_file(&self, name: &str) -> PathBuf {
        self.state_dir.join(format!("{name}.xml"))
    }

    pub fn autostart_file(&self, name: &str) -> PathBuf {
        self.autostart_dir().join(format!("{name}.xml"))
    }

    /// The status of a running network (live XML and what its start created).
    pub fn status_file(&self, name: &str) -> PathBuf {
        self.run_dir.join(format!("{name}.json"))
    }

    pub fn dnsmasq_conf(&self, name: &str) -> PathBuf {
        self.run_dir.join(format!("{name}.conf"))
    }

    pub fn dnsmasq_hostsfile(&self, name: &str) -> PathBuf {
        self.run_dir.join(format!("{name}.hostsfile"))
    }

    pub fn dnsmasq_addnhosts(&self, name: &str) -> PathBuf {
        self.run_dir.join(format!("{name}.addnhosts"))
    }

    pub fn pid_file(&self, name: &str) -> PathBuf {
        self.run_dir.join(format!("{name}.pid"))
    }

    /// The leases of the network on `bridge`, kept by the lease helper.
    pub fn leases_file(&self, bridge: &str) -> PathBuf {
        self.run_dir.join(format!("{bridge}.status"))
    }
}

/// Writes `data` to `path` atomically: temporary file, fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".new");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let c = Config::parse("", "/var/lib/rvirt/network").unwrap();
        assert_eq!(c.run_dir, PathBuf::from("/var/lib/rvirt/network/run"));
        assert_eq!(c.dnsmasq, "dnsmasq");
        let c = Config::parse("run_dir = \"/run/n\"\ndnsmasq = \"/x/dnsmasq\"\n", "/s").unwrap();
        assert_eq!(c.status_file("a"), PathBuf::from("/run/n/a.json"));
        assert_eq!(c.config_file("a"), PathBuf::from("/s/a.xml"));
        let e = Config::parse("bogus = 1\n", "/s").unwrap_err().to_string();
        assert!(e.contains("bogus"), "{e}");
        let c = Config::parse("firewall_backend = \"iptables\"\n", "/s").unwrap();
        assert_eq!(c.firewall_backend, FirewallBackend::Iptables);
        // Without nft, iptables is the fallback.
        let c = Config::parse("nft = \"/nonexistent/nft\"\n", "/s").unwrap();
        assert_eq!(c.firewall_backend, FirewallBackend::Iptables);
        let c = Config::parse("nft = \"/bin/sh\"\n", "/s").unwrap();
        assert_eq!(c.firewall_backend, FirewallBackend::Nftables);
        assert!(Config::parse("firewall_backend = \"pf\"\n", "/s").is_err());
    }

    #[test]
    fn atomic_write_replaces() {
        let dir = std::env::temp_dir().join(format!("rvirt-net-aw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("d.xml");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        assert!(!dir.join("d.xml.new").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
