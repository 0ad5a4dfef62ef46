//! tracing setup from the `[logging]` section.

use rvirt_config::Logging;
use tracing_subscriber::EnvFilter;

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    #[error("logging.filter '{0}' is not a valid filter: {1}")]
    Filter(String, String),
    #[error("cannot open log file {0}: {1}")]
    File(String, std::io::Error),
}

pub fn init(cfg: &Logging) -> Result<(), LoggingError> {
    let filter = std::env::var("RVIRT_LOG").unwrap_or_else(|_| cfg.filter.clone());
    let filter = EnvFilter::try_new(&filter)
        .map_err(|e| LoggingError::Filter(filter.clone(), e.to_string()))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    if cfg.output == "stderr" {
        builder.with_writer(std::io::stderr).init();
    } else {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&cfg.output)
            .map_err(|e| LoggingError::File(cfg.output.clone(), e))?;
        builder
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(f))
            .init();
    }
    Ok(())
}
