//! rvirtd's configuration: the TOML schema, its defaults and validation. Unknown keys and
//! bad values are errors that name the file, the key and the reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Where rvirtd looks for its configuration by default.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/rvirt/rvirtd.toml";
/// The shipped default configuration.
pub const DEFAULT_CONFIG_TEXT: &str = include_str!("../rvirtd.toml");

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read: {reason}")]
    Read { file: String, reason: String },
    #[error("{file}: {reason}")]
    Parse { file: String, reason: String },
    #[error("{file}: key '{key}': {reason}")]
    Invalid {
        file: String,
        key: String,
        reason: String,
    },
}

/// Which socket file names the daemon binds in `socket_dir`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// `rvirt-sock` and `rvirt-sock-ro`.
    Rvirt,
    /// libvirt's `libvirt-sock`, `libvirt-sock-ro` and `libvirt-admin-sock`.
    Libvirt,
}

impl Layout {
    /// The (read-write, read-only, admin) socket file names; rvirt's own layout has no
    /// admin socket.
    pub fn socket_names(self) -> (&'static str, &'static str, Option<&'static str>) {
        match self {
            Layout::Rvirt => ("rvirt-sock", "rvirt-sock-ro", None),
            Layout::Libvirt => (
                "libvirt-sock",
                "libvirt-sock-ro",
                Some("libvirt-admin-sock"),
            ),
        }
    }
}

/// `[listen]`: the unix sockets.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Listen {
    /// Directory holding the sockets `layout` names.
    pub socket_dir: PathBuf,
    /// Socket file names: rvirt's own or libvirt's.
    pub layout: Layout,
    /// Octal permission of the read-write socket.
    pub socket_mode: String,
    /// Octal permission of the read-only socket.
    pub socket_ro_mode: String,
    /// Group owning both sockets (name or numeric id); empty keeps the daemon's group.
    pub socket_group: String,
    /// Seconds without clients after which a socket-activated daemon exits; 0: never.
    pub idle_timeout: u32,
}

impl Default for Listen {
    fn default() -> Self {
        Listen {
            socket_dir: PathBuf::from("/run/rvirt"),
            layout: Layout::Rvirt,
            socket_mode: "0600".into(),
            socket_ro_mode: "0666".into(),
            socket_group: String::new(),
            idle_timeout: 0,
        }
    }
}

/// `[modules]`: which driver modules to load.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Modules {
    pub dir: PathBuf,
    /// Only these module names, when non-empty.
    pub enable: Vec<String>,
    pub disable: Vec<String>,
}

impl Default for Modules {
    fn default() -> Self {
        Modules {
            dir: PathBuf::from("/usr/lib/rvirt/modules"),
            enable: Vec::new(),
            disable: Vec::new(),
        }
    }
}

/// `[limits]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub max_clients: u32,
    /// Largest accepted message, length word included (libvirt: 32 MiB).
    pub max_message_size: u32,
    /// Calls one client may have in flight at once.
    pub max_outstanding_calls: u32,
    /// Seconds of silence before the daemon pings a client; 0 disables keepalive.
    pub keepalive_interval: u32,
    /// Unanswered pings before the client is dropped.
    pub keepalive_count: u32,
    /// Threads running calls that may block.
    pub max_workers: u32,
    /// Threads running libvirt's high-priority calls, apart from the others.
    pub prio_workers: u32,
    /// Connections one unprivileged uid may hold (root and the daemon's user: unlimited).
    pub max_clients_per_uid: u32,
    /// Connections one unprivileged uid may hold before they open a driver connection.
    pub max_anonymous_clients: u32,
    /// Seconds a connection may stay without opening a driver connection; 0: no limit.
    pub open_timeout: u32,
    /// Unsent bytes to one client beyond which its requests are not read until it reads.
    pub max_client_queue: u32,
    /// Longest window, in microseconds, the I/O thread keeps polling for the next request
    /// after serving one (self-tuning below it); 0 turns polling off.
    pub io_poll_us: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_clients: 5000,
            max_message_size: 32 * 1024 * 1024,
            max_outstanding_calls: 64,
            keepalive_interval: 5,
            keepalive_count: 5,
            max_workers: 20,
            prio_workers: 5,
            max_clients_per_uid: 256,
            max_anonymous_clients: 20,
            open_timeout: 30,
            max_client_queue: 1024 * 1024,
            io_poll_us: 200,
        }
    }
}

/// `[logging]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Logging {
    /// A tracing filter, e.g. `info` or `info,rvirt::module=debug`.
    pub filter: String,
    /// `stderr`, or a file path.
    pub output: String,
}

impl Default for Logging {
    fn default() -> Self {
        Logging {
            filter: "info".into(),
            output: "stderr".into(),
        }
    }
}

/// `[state]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct State {
    /// Persistent state; each module gets a subdirectory named after it.
    pub dir: PathBuf,
}

impl Default for State {
    fn default() -> Self {
        State {
            dir: PathBuf::from("/var/lib/rvirt"),
        }
    }
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub listen: Listen,
    pub modules: Modules,
    pub limits: Limits,
    pub logging: Logging,
    pub state: State,
    /// One table per driver module, handed to that module as TOML text.
    pub drivers: BTreeMap<String, toml::Table>,
}

/// Parses an octal permission string such as `0660`.
pub fn parse_mode(s: &str) -> Option<u32> {
    u32::from_str_radix(s.trim_start_matches("0o"), 8)
        .ok()
        .filter(|m| *m <= 0o7777)
}

impl Config {
    /// Parses and validates configuration text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            file: file.to_string(),
            reason: e
                .to_string()
                .trim_end()
                .replace('\n', " ")
                .replace("  ", " "),
        })?;
        cfg.validate(file)?;
        Ok(cfg)
    }

    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        Config::parse(&text, &file)
    }

    fn validate(&self, file: &str) -> Result<(), ConfigError> {
        let bad = |key: &str, reason: &str| ConfigError::Invalid {
            file: file.into(),
            key: key.into(),
            reason: reason.into(),
        };
        if parse_mode(&self.listen.socket_mode).is_none() {
            return Err(bad(
                "listen.socket_mode",
                "must be an octal permission such as \"0600\"",
            ));
        }
        if parse_mode(&self.listen.socket_ro_mode).is_none() {
            return Err(bad(
                "listen.socket_ro_mode",
                "must be an octal permission such as \"0666\"",
            ));
        }
        if self.listen.socket_dir.as_os_str().is_empty() {
            return Err(bad("listen.socket_dir", "must not be empty"));
        }
        if self.limits.max_clients == 0 {
            return Err(bad("limits.max_clients", "must be at least 1"));
        }
        if !(28..=32 * 1024 * 1024).contains(&self.limits.max_message_size) {
            return Err(bad(
                "limits.max_message_size",
                "must be between 28 and 33554432 bytes",
            ));
        }
        if self.limits.max_outstanding_calls == 0 {
            return Err(bad("limits.max_outstanding_calls", "must be at least 1"));
        }
        for (key, value) in [
            ("limits.max_workers", self.limits.max_workers),
            ("limits.prio_workers", self.limits.prio_workers),
            (
                "limits.max_clients_per_uid",
                self.limits.max_clients_per_uid,
            ),
            (
                "limits.max_anonymous_clients",
                self.limits.max_anonymous_clients,
            ),
        ] {
            if value == 0 {
                return Err(bad(key, "must be at least 1"));
            }
        }
        if self.limits.io_poll_us > 10_000 {
            return Err(bad(
                "limits.io_poll_us",
                "must be at most 10000 microseconds",
            ));
        }
        if self.limits.max_client_queue < 64 * 1024 {
            return Err(bad(
                "limits.max_client_queue",
                "must be at least 65536 bytes",
            ));
        }
        if self.limits.keepalive_interval > 0 && self.limits.keepalive_count == 0 {
            return Err(bad(
                "limits.keepalive_count",
                "must be at least 1 when keepalive_interval is set",
            ));
        }
        if self.logging.output.is_empty() {
            return Err(bad("logging.output", "must be \"stderr\" or a file path"));
        }
        if let Some(both) = self
            .modules
            .enable
            .iter()
            .find(|e| self.modules.disable.contains(e))
        {
            return Err(bad(
                "modules.enable",
                &format!("module '{both}' is both enabled and disabled"),
            ));
        }
        Ok(())
    }

    /// The `[drivers.NAME]` table of one module as TOML text (empty when absent).
    pub fn driver_section(&self, name: &str) -> String {
        self.drivers
            .get(name)
            .map(|t| toml::to_string(t).unwrap_or_default())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_default_is_valid() {
        let c = Config::parse(DEFAULT_CONFIG_TEXT, "rvirtd.toml").unwrap();
        assert_eq!(c.limits.max_message_size, 32 * 1024 * 1024);
        assert_eq!(parse_mode(&c.listen.socket_ro_mode), Some(0o666));
    }

    #[test]
    fn unknown_keys_name_file_and_key() {
        let e = Config::parse("[limits]\nmax_clientz = 3\n", "/etc/x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("/etc/x.toml: "), "{e}");
        assert!(e.contains("max_clientz"), "{e}");
    }

    #[test]
    fn bad_values_name_the_key() {
        let e = Config::parse("[limits]\nmax_clients = 0\n", "f.toml")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "f.toml: key 'limits.max_clients': must be at least 1");
        let e = Config::parse("[listen]\nsocket_mode = \"rw\"\n", "f.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("listen.socket_mode"), "{e}");
        let e = Config::parse("[limits]\nmax_clients = \"many\"\n", "f.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_clients"), "{e}");
    }

    #[test]
    fn driver_tables_pass_through_as_text() {
        let c = Config::parse(
            "[drivers.qemu]\nemulator = \"/usr/bin/qemu-system-x86_64\"\n",
            "f",
        )
        .unwrap();
        assert!(c
            .driver_section("qemu")
            .contains("emulator = \"/usr/bin/qemu-system-x86_64\""));
        assert_eq!(c.driver_section("xen"), "");
    }

    #[test]
    fn layout_names_the_sockets() {
        let c = Config::parse("[listen]\nlayout = \"libvirt\"\n", "f").unwrap();
        assert_eq!(
            c.listen.layout.socket_names(),
            (
                "libvirt-sock",
                "libvirt-sock-ro",
                Some("libvirt-admin-sock")
            )
        );
        assert_eq!(Config::default().listen.layout, Layout::Rvirt);
        let e = Config::parse("[listen]\nlayout = \"xen\"\n", "f")
            .unwrap_err()
            .to_string();
        assert!(e.contains("layout"), "{e}");
    }
}
