//! Start-up validation beyond the schema: what the configuration names must exist on
//! this host (the socket group, a writable log file, the modules it enables). The same
//! checks run for `--check-config` and before the daemon starts, so a configuration that
//! passes the check does not then fail at start-up; each error names file, key, reason.

use std::path::Path;

use rvirt_config::{Config, ConfigError};

/// Checks `cfg` (read from `file`) against the host; returns warnings worth logging.
pub fn check(cfg: &Config, file: &str) -> Result<Vec<String>, ConfigError> {
    let bad = |key: &str, reason: String| ConfigError::Invalid {
        file: file.into(),
        key: key.into(),
        reason,
    };
    let group = &cfg.listen.socket_group;
    if !group.is_empty() && group.parse::<u32>().is_err() {
        match nix::unistd::Group::from_name(group) {
            Ok(Some(_)) => {}
            _ => {
                return Err(bad(
                    "listen.socket_group",
                    format!("group '{group}' does not exist"),
                ))
            }
        }
    }
    let filter = std::env::var("RVIRT_LOG").unwrap_or_else(|_| cfg.logging.filter.clone());
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&filter) {
        return Err(bad(
            "logging.filter",
            format!("'{filter}' is not a valid filter: {e}"),
        ));
    }
    if cfg.logging.output != "stderr" {
        writable_file(Path::new(&cfg.logging.output)).map_err(|r| bad("logging.output", r))?;
    }
    socket_dir_usable(&cfg.listen.socket_dir).map_err(|r| bad("listen.socket_dir", r))?;
    Ok(missing_modules(cfg, file))
}

/// The log file can be appended to, or created in its directory.
fn writable_file(path: &Path) -> Result<(), String> {
    use nix::unistd::{access, AccessFlags};
    if path.exists() {
        if path.is_dir() {
            return Err(format!("{} is a directory", path.display()));
        }
        return access(path, AccessFlags::W_OK)
            .map_err(|e| format!("cannot write {}: {}", path.display(), e.desc()));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(format!("directory {} does not exist", dir.display()));
    }
    access(dir, AccessFlags::W_OK)
        .map_err(|e| format!("cannot create files in {}: {}", dir.display(), e.desc()))
}

/// The socket directory exists as a directory, or its nearest existing ancestor is one.
fn socket_dir_usable(dir: &Path) -> Result<(), String> {
    let existing = dir.ancestors().find(|a| a.exists());
    match existing {
        Some(a) if a.is_dir() => Ok(()),
        Some(a) => Err(format!("{} is not a directory", a.display())),
        None => Err(format!("no ancestor of {} exists", dir.display())),
    }
}

/// Modules named in `modules.enable` that the module directory does not hold.
fn missing_modules(cfg: &Config, file: &str) -> Vec<String> {
    let files = rvirt_core::loader::module_files(&cfg.modules.dir).unwrap_or_default();
    let present: Vec<&str> = files
        .iter()
        .filter_map(|p| rvirt_core::loader::module_name(p))
        .collect();
    cfg.modules
        .enable
        .iter()
        .filter(|name| !present.contains(&name.as_str()))
        .map(|name| {
            format!(
                "{file}: key 'modules.enable': no module '{name}' (librvirt_driver_{name}.so) in {}",
                cfg.modules.dir.display()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        Config::parse(text, "t.toml").unwrap()
    }

    #[test]
    fn a_missing_group_names_the_key() {
        let e = check(
            &cfg("[listen]\nsocket_group = \"no-such-group-xyz\"\n"),
            "t.toml",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "t.toml: key 'listen.socket_group': group 'no-such-group-xyz' does not exist"
        );
    }

    #[test]
    fn an_invalid_filter_names_the_key() {
        let e = check(&cfg("[logging]\nfilter = \"info,[[\"\n"), "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.toml: key 'logging.filter': "), "{e}");
    }

    #[test]
    fn an_unwritable_log_names_the_key() {
        let e = check(
            &cfg("[logging]\noutput = \"/nonexistent-dir/x/rvirtd.log\"\n"),
            "t.toml",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "t.toml: key 'logging.output': directory /nonexistent-dir/x does not exist"
        );
    }

    #[test]
    fn enabling_an_absent_module_warns() {
        let w = check(
            &cfg("[modules]\ndir = \"/nonexistent\"\nenable = [\"nosuch\"]\n"),
            "t.toml",
        )
        .unwrap();
        assert_eq!(w.len(), 1);
        assert!(
            w[0].contains("key 'modules.enable': no module 'nosuch'"),
            "{}",
            w[0]
        );
    }
}
