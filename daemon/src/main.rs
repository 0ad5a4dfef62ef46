//! rvirtd: the rvirt daemon.

mod args;
mod logging;
mod outbox;
mod pidfile;
mod preflight;
mod server;
mod session;
mod spin;
mod stream;
mod systemd;
mod workers;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use rvirt_config::{Config, DEFAULT_CONFIG_PATH};
use rvirt_core::registry::{ModuleFilter, Registry};

/// The configuration and the name errors give its source.
fn load_config(path: Option<&Path>) -> anyhow::Result<(Config, String)> {
    let path = path.or_else(|| Some(Path::new(DEFAULT_CONFIG_PATH)).filter(|p| p.exists()));
    match path {
        Some(p) => Ok((Config::load(p)?, p.display().to_string())),
        None => {
            let name = "<built-in defaults>";
            Ok((
                Config::parse(rvirt_config::DEFAULT_CONFIG_TEXT, name)?,
                name.into(),
            ))
        }
    }
}

/// Everything `--check-config` checks, which is everything start-up checks before it
/// touches the system; warnings are returned for the caller to report.
fn validated_config(path: Option<&Path>) -> anyhow::Result<(Config, String, Vec<String>)> {
    let (cfg, file) = load_config(path)?;
    let warnings = preflight::check(&cfg, &file)?;
    Ok((cfg, file, warnings))
}

fn check_module(path: &Path) -> ExitCode {
    let mut reg = Registry::default();
    match reg.add_file(path) {
        Ok(m) => {
            print!("{}", m.summary());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rvirtd: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Left in the socket directory (a runtime directory, emptied at boot) by a daemon that
/// exited when idle: the next start resumes it and does not autostart again.
fn idle_marker(cfg: &Config) -> PathBuf {
    cfg.listen.socket_dir.join("rvirtd.idle-exit")
}

/// When the previous daemon exited idle (its marker is there), tells the drivers so that
/// they skip autostart; the marker is used up.
fn resume_after_idle_exit(registry: &mut Registry, marker: &Path) {
    if std::fs::remove_file(marker).is_ok() {
        tracing::info!("resuming after an idle exit: drivers skip autostart");
        registry.set_host_features(vec![rvirt_core::registry::HOST_FEATURE_RESUMED.into()]);
    }
}

fn run(config: Option<PathBuf>, timeout: Option<u32>) -> anyhow::Result<()> {
    // While this is the only thread: it changes the environment.
    let activation = systemd::take_activation();
    let (mut cfg, file, warnings) = validated_config(config.as_deref())?;
    if let Some(t) = timeout {
        cfg.listen.idle_timeout = t;
    }
    logging::init(&cfg.logging)?;
    for w in &warnings {
        tracing::warn!("{w}");
    }
    // Before any module initialises: a second daemon on this state must not start
    // guests or touch files the first one owns. The lock lives in the state directory,
    // which is what two daemons must never share (socket activation or not).
    let dir = &cfg.state.dir;
    std::fs::create_dir_all(dir).map_err(|e| {
        anyhow::anyhow!(
            "{file}: key 'state.dir': cannot create {}: {e}",
            dir.display()
        )
    })?;
    let pid_file = pidfile::PidFile::acquire(&dir.join("rvirtd.pid"))?;
    tracing::debug!("holding {}", pid_file.path().display());
    let filter = ModuleFilter {
        enable: cfg.modules.enable.clone(),
        disable: cfg.modules.disable.clone(),
    };
    let mut registry = Registry::load_dir(&cfg.modules.dir, &filter);
    let marker = idle_marker(&cfg);
    resume_after_idle_exit(&mut registry, &marker);
    let privileged = nix::unistd::geteuid().is_root();
    registry.initialize(privileged, &|name| cfg.driver_section(name), &cfg.state.dir);
    tracing::info!(
        "{} driver modules loaded, {} skipped, from {}",
        registry.modules().len(),
        registry.failures().len(),
        cfg.modules.dir.display()
    );
    let registry = Arc::new(registry);
    // One I/O thread serves every client: calls that provably never block are answered
    // on it, the rest go to the worker pools (docs/threads.md). A multi-threaded
    // scheduler would move tasks between CPUs, and each cross-CPU wake-up costs more
    // than most calls.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let stopped = runtime.block_on(async {
        let listeners =
            server::listen(&cfg, activation).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        for p in &listeners.owned {
            tracing::info!("listening on {}", p.display());
        }
        let stopped = server::run(cfg, registry, listeners).await?;
        anyhow::Ok(stopped)
    })?;
    if stopped == server::Stopped::Idle {
        // Read by the next start, which systemd makes on the next connection.
        if let Err(e) = std::fs::write(&marker, b"") {
            tracing::warn!("cannot write {}: {e}", marker.display());
        }
    }
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    drop(pid_file);
    Ok(())
}

fn main() -> ExitCode {
    let command = match args::parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rvirtd: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        args::Command::Help => {
            print!("{}", args::HELP);
            Ok(())
        }
        args::Command::Version => {
            println!(
                "rvirtd {} (libvirt protocol 9.0.0, plugin-api ABI {})",
                env!("CARGO_PKG_VERSION"),
                rvirt_plugin_abi()
            );
            Ok(())
        }
        args::Command::CheckModule(p) => return check_module(&p),
        args::Command::CheckConfig { config } => {
            validated_config(config.as_deref()).map(|(_, _, warnings)| {
                for w in warnings {
                    eprintln!("rvirtd: warning: {w}");
                }
                println!("configuration is valid");
            })
        }
        args::Command::Run { config, timeout } => run(config, timeout),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rvirtd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn rvirt_plugin_abi() -> String {
    format!(
        "{}.{}",
        rvirt_core::loader::HOST_ABI.0,
        rvirt_core::loader::HOST_ABI.1
    )
}
