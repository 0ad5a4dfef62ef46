//! The module's `[drivers.qemu]` configuration and the directories derived from it.

use std::path::PathBuf;

use serde::Deserialize;

/// `[drivers.qemu]` keys.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// QEMU binary used when a domain names no `<emulator>`.
    pub emulator: Option<String>,
    /// Where persistent domain XML lives (default: the host's state dir for this module).
    pub state_dir: Option<String>,
    /// Where runtime status files, QMP sockets and pid files live.
    pub run_dir: Option<String>,
    /// Where per-domain QEMU logs go.
    pub log_dir: Option<String>,
    /// The `tc` that shapes guests' taps (`<bandwidth>`; default `tc` from PATH).
    pub tc: Option<String>,
    /// Whether each QEMU gets its own systemd scope (`auto`, `systemd`, `none`).
    pub scope: Option<crate::scope::ScopeMode>,
}

/// Resolved configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub emulator: String,
    pub state_dir: PathBuf,
    pub run_dir: PathBuf,
    pub log_dir: PathBuf,
    pub tc: String,
    pub scope: crate::scope::ScopeMode,
}

pub const DEFAULT_EMULATOR: &str = "/usr/bin/qemu-system-x86_64";

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid [drivers.qemu] configuration: {0}")]
    Parse(String),
    #[error("cannot create directory {path}: {reason}")]
    Dir { path: String, reason: String },
}

impl Config {
    /// Parses the TOML text the host hands over; `host_state_dir` is the default state dir.
    pub fn parse(text: &str, host_state_dir: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| ConfigError::Parse(e.message().to_string()))?;
        let base = if host_state_dir.is_empty() {
            std::env::temp_dir().join("rvirt-qemu")
        } else {
            PathBuf::from(host_state_dir)
        };
        let state_dir = raw
            .state_dir
            .map(PathBuf::from)
            .unwrap_or_else(|| base.clone());
        let run_dir = raw
            .run_dir
            .map(PathBuf::from)
            .unwrap_or_else(|| state_dir.join("run"));
        let log_dir = raw
            .log_dir
            .map(PathBuf::from)
            .unwrap_or_else(|| state_dir.join("log"));
        Ok(Config {
            emulator: raw.emulator.unwrap_or_else(|| DEFAULT_EMULATOR.into()),
            state_dir,
            run_dir,
            log_dir,
            tc: raw.tc.unwrap_or_else(|| "tc".into()),
            scope: raw.scope.unwrap_or_default(),
        })
    }

    /// Creates the directories the driver writes to.
    pub fn create_dirs(&self) -> Result<(), ConfigError> {
        for d in [
            &self.state_dir,
            &self.run_dir,
            &self.log_dir,
            &self.autostart_dir(),
        ] {
            std::fs::create_dir_all(d).map_err(|e| ConfigError::Dir {
                path: d.display().to_string(),
                reason: e.to_string(),
            })?;
        }
        Ok(())
    }

    /// UEFI variable stores (`NAME_VARS.fd`), as libvirt's `qemu/nvram`.
    pub fn nvram_dir(&self) -> PathBuf {
        self.state_dir.join("nvram")
    }

    pub fn autostart_dir(&self) -> PathBuf {
        self.state_dir.join("autostart")
    }

    /// The snapshots of domain `name`, one `SNAPSHOT.xml` each (libvirt:
    /// `/var/lib/libvirt/qemu/snapshot/DOMAIN/`).
    pub fn snapshot_dir(&self, name: &str) -> PathBuf {
        self.state_dir.join("snapshot").join(name)
    }

    pub fn config_file(&self, name: &str) -> PathBuf {
        self.state_dir.join(format!("{name}.xml"))
    }

    pub fn autostart_file(&self, name: &str) -> PathBuf {
        self.autostart_dir().join(format!("{name}.xml"))
    }

    pub fn status_file(&self, name: &str) -> PathBuf {
        self.run_dir.join(format!("{name}.xml"))
    }

    pub fn monitor_path(&self, name: &str) -> PathBuf {
        self.run_dir.join(format!("{name}.monitor"))
    }

    pub fn pid_file(&self, name: &str) -> PathBuf {
        self.run_dir.join(format!("{name}.pid"))
    }

    pub fn log_file(&self, name: &str) -> PathBuf {
        self.log_dir.join(format!("{name}.log"))
    }

    /// Where the sockets of run `id`'s unix channels without a path go, as libvirt's
    /// `channel/target/domain-ID-NAME` (the name cut to 20 characters) under the state
    /// directory.
    pub fn channel_target_dir(&self, id: i32, name: &str) -> PathBuf {
        let short: String = name.chars().take(20).collect();
        self.state_dir
            .join("channel/target")
            .join(format!("domain-{id}-{short}"))
    }
}

/// Writes `data` to `path` atomically: temporary file, fsync, rename, fsync of the directory.
pub fn write_atomic(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("xml.new");
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
        let c = Config::parse("", "/var/lib/rvirt/qemu").unwrap();
        assert_eq!(c.emulator, DEFAULT_EMULATOR);
        assert_eq!(c.run_dir, PathBuf::from("/var/lib/rvirt/qemu/run"));
        let c = Config::parse("emulator = \"/x/qemu\"\nrun_dir = \"/run/q\"\n", "/s").unwrap();
        assert_eq!(
            (c.emulator.as_str(), c.run_dir.to_str().unwrap()),
            ("/x/qemu", "/run/q")
        );
        assert_eq!(c.config_file("a"), PathBuf::from("/s/a.xml"));
        assert_eq!(
            c.channel_target_dir(3, "a-domain-with-a-long-name"),
            PathBuf::from("/s/channel/target/domain-3-a-domain-with-a-long")
        );
        let e = Config::parse("bogus = 1\n", "/s").unwrap_err().to_string();
        assert!(e.contains("bogus"), "{e}");
    }

    #[test]
    fn atomic_write_replaces() {
        let dir = std::env::temp_dir().join(format!("rvirt-qemu-aw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("d.xml");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        assert!(!dir.join("d.xml.new").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
