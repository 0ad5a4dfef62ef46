//! Command line of rvirtd.

use std::path::PathBuf;

/// What rvirtd was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Run {
        config: Option<PathBuf>,
        /// `--timeout`: overrides `listen.idle_timeout`.
        timeout: Option<u32>,
    },
    CheckModule(PathBuf),
    CheckConfig {
        config: Option<PathBuf>,
    },
    Help,
    Version,
}

/// Why the command line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgsError {
    #[error("option {0} needs a value")]
    Missing(String),
    #[error("option {0} needs a number of seconds, not '{1}'")]
    NotSeconds(String, String),
    #[error("unknown argument '{0}' (see --help)")]
    Unknown(String),
}

pub const HELP: &str = "\
Usage: rvirtd [OPTIONS]

The rvirt virtualization daemon: serves libvirt's remote protocol on unix sockets
(rvirt-sock read-write, rvirt-sock-ro read-only; libvirt's libvirt-sock, libvirt-sock-ro
and libvirt-admin-sock with [listen] layout = \"libvirt\"; or the sockets systemd passes)
with drivers loaded as modules.

Options:
  -f, --config FILE        configuration file (default /etc/rvirt/rvirtd.toml;
                           built-in defaults when it does not exist)
  -t, --timeout SECS       when socket-activated, exit after SECS without clients
                           (overrides listen.idle_timeout; 0: never)
      --check-config       validate the configuration and exit
      --check-module PATH  load one driver module, print its name, version, ABI
                           version and drivers, and exit (non-zero if it cannot load)
  -h, --help               show this help
  -V, --version            show the version

Signals: SIGHUP reloads the state drivers; SIGTERM and SIGINT shut down gracefully.
";

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, ArgsError> {
    let mut config = None;
    let mut timeout = None;
    let mut check_config = false;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "-f" | "--config" => {
                config = Some(PathBuf::from(
                    it.next().ok_or_else(|| ArgsError::Missing(a.clone()))?,
                ))
            }
            "-t" | "--timeout" => {
                let v = it.next().ok_or_else(|| ArgsError::Missing(a.clone()))?;
                timeout = Some(seconds(&a, &v)?);
            }
            "--check-config" => check_config = true,
            "--check-module" => {
                return Ok(Command::CheckModule(PathBuf::from(
                    it.next().ok_or_else(|| ArgsError::Missing(a.clone()))?,
                )))
            }
            other => {
                if let Some(v) = other.strip_prefix("--config=") {
                    config = Some(PathBuf::from(v));
                } else if let Some(v) = other.strip_prefix("--timeout=") {
                    timeout = Some(seconds("--timeout", v)?);
                } else if let Some(v) = other.strip_prefix("--check-module=") {
                    return Ok(Command::CheckModule(PathBuf::from(v)));
                } else {
                    return Err(ArgsError::Unknown(other.to_string()));
                }
            }
        }
    }
    Ok(if check_config {
        Command::CheckConfig { config }
    } else {
        Command::Run { config, timeout }
    })
}

fn seconds(option: &str, v: &str) -> Result<u32, ArgsError> {
    v.parse()
        .map_err(|_| ArgsError::NotSeconds(option.to_string(), v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &[&str]) -> Result<Command, ArgsError> {
        parse(a.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_options() {
        assert_eq!(
            p(&[]).unwrap(),
            Command::Run {
                config: None,
                timeout: None
            }
        );
        assert_eq!(
            p(&["--config", "x.toml", "--timeout", "120"]).unwrap(),
            Command::Run {
                config: Some("x.toml".into()),
                timeout: Some(120)
            }
        );
        assert!(p(&["--timeout", "soon"]).is_err());
        assert_eq!(
            p(&["--check-module", "a.so"]).unwrap(),
            Command::CheckModule("a.so".into())
        );
        assert_eq!(
            p(&["--config=y", "--check-config"]).unwrap(),
            Command::CheckConfig {
                config: Some("y".into())
            }
        );
        assert!(p(&["--bogus"]).is_err());
        assert!(p(&["--config"]).is_err());
    }
}
