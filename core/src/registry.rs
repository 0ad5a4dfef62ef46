//! The driver tables: loaded modules, their state drivers and connection drivers by kind,
//! in deterministic (file name) order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rvirt_plugin_api::abi::hook;
use rvirt_protocol::{DriverKind, RemoteError, RvirtInitArgs};

use crate::loader::{load_module, module_files, DriverInfo, InitOutcome, LoadError, LoadedModule};

static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// A library is loaded once per process and keeps the host services (and token) it was
/// first attached with, so a path keeps its token across registries.
fn token_for(path: &Path) -> u64 {
    static TOKENS: Mutex<BTreeMap<PathBuf, u64>> = Mutex::new(BTreeMap::new());
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut tokens = TOKENS.lock().unwrap_or_else(PoisonError::into_inner);
    *tokens
        .entry(key)
        .or_insert_with(|| NEXT_TOKEN.fetch_add(1, Ordering::Relaxed))
}

/// Which modules of a directory to load.
#[derive(Debug, Clone, Default)]
pub struct ModuleFilter {
    /// When non-empty, only these module names (file `librvirt_driver_NAME.so`).
    pub enable: Vec<String>,
    pub disable: Vec<String>,
}

impl ModuleFilter {
    fn allows(&self, path: &Path) -> bool {
        let name = crate::loader::module_name(path).unwrap_or("");
        (self.enable.is_empty() || self.enable.iter().any(|e| e == name))
            && !self.disable.iter().any(|d| d == name)
    }
}

/// The host feature of a daemon start that resumes after an idle exit.
pub use rvirt_plugin_api::sdk::HOST_FEATURE_RESUMED;

/// Loaded modules and the tables built from them.
#[derive(Debug, Default)]
pub struct Registry {
    modules: Vec<Arc<LoadedModule>>,
    failures: Vec<LoadError>,
    /// What [`Registry::initialize`] tells modules the host offers (`host_features`).
    host_features: Vec<String>,
}

/// A connection driver entry of a table.
#[derive(Debug, Clone)]
pub struct DriverEntry {
    pub module: Arc<LoadedModule>,
    pub driver: Arc<DriverInfo>,
}

impl DriverEntry {
    /// Whether this driver may serve a URI with the given driver scheme.
    pub fn serves(&self, scheme: &str) -> bool {
        self.driver.serves(scheme)
    }
}

impl Registry {
    /// Loads every allowed module of `dir`. Failures are logged in one line each (with the
    /// long detail at debug level) and kept in [`Registry::failures`]; the rest load.
    pub fn load_dir(dir: &Path, filter: &ModuleFilter) -> Registry {
        let files = match module_files(dir) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!("cannot read module directory {}: {e}", dir.display());
                Vec::new()
            }
        };
        let mut reg = Registry::default();
        // A directory others may write to could hold a planted module: load nothing from it.
        if !files.is_empty() {
            if let Err(e) = crate::trust::check_module_dir(dir) {
                tracing::error!("not loading any driver module: {e}");
                reg.failures.push(e.into());
                return reg;
            }
        }
        for path in files.into_iter().filter(|p| filter.allows(p)) {
            if let Err(e) = reg.add_file(&path) {
                tracing::error!("skipping driver module: {e}");
                if !e.detail().is_empty() {
                    tracing::debug!("module load detail for {}: {}", path.display(), e.detail());
                }
                reg.failures.push(e);
            }
        }
        reg
    }

    /// Loads one module file into the tables.
    pub fn add_file(&mut self, path: &Path) -> Result<Arc<LoadedModule>, LoadError> {
        let module = load_module(path, token_for(path))?;
        if let Some(other) = self.modules.iter().find(|m| m.name == module.name) {
            return Err(LoadError::Duplicate {
                path: path.display().to_string(),
                name: module.name,
                other: other.path.display().to_string(),
            });
        }
        crate::host::name_token(module.token, &module.name);
        tracing::info!(
            "loaded driver module {} {} from {} ({} drivers)",
            module.name,
            module.version,
            path.display(),
            module.drivers.len()
        );
        let m = Arc::new(module);
        self.modules.push(m.clone());
        Ok(m)
    }

    /// Whether some hypervisor driver claims `scheme` by name.
    pub fn serves(&self, scheme: &str) -> bool {
        self.drivers(DriverKind::Hypervisor)
            .iter()
            .any(|d| d.driver.uri_schemes.iter().any(|s| s == scheme))
    }

    pub fn modules(&self) -> &[Arc<LoadedModule>] {
        &self.modules
    }

    pub fn failures(&self) -> &[LoadError] {
        &self.failures
    }

    /// The connection drivers of one kind, in table order.
    pub fn drivers(&self, kind: DriverKind) -> Vec<DriverEntry> {
        self.modules
            .iter()
            .flat_map(|m| {
                m.drivers
                    .iter()
                    .filter(move |d| d.kind == kind)
                    .map(move |d| DriverEntry {
                        module: m.clone(),
                        driver: d.clone(),
                    })
            })
            .collect()
    }

    /// Host features handed to every module at [`Registry::initialize`].
    pub fn set_host_features(&mut self, features: Vec<String>) {
        self.host_features = features;
    }

    /// Runs every state driver's initialize, secondary drivers first, each group in module
    /// order. A module whose initialize fails is reported in one line and removed from the
    /// tables; the outcome list names each.
    pub fn initialize(
        &mut self,
        privileged: bool,
        config_for: &dyn Fn(&str) -> String,
        state_dir: &Path,
    ) -> Vec<(String, Result<InitOutcome, RemoteError>)> {
        crate::calls::publish(&self.modules);
        // Secondary drivers (storage, network, ...) come up first, as in libvirt, so a
        // hypervisor driver's autostart can reach them through host calls.
        let mut order: Vec<&Arc<LoadedModule>> =
            self.modules.iter().filter(|m| m.has_state_driver).collect();
        order.sort_by_key(|m| m.drivers.iter().any(|d| d.kind == DriverKind::Hypervisor));
        let outcomes: Vec<(String, Result<InitOutcome, RemoteError>)> = order
            .into_iter()
            .map(|m| {
                let dir: PathBuf = state_dir.join(&m.name);
                let args = RvirtInitArgs {
                    privileged,
                    config_toml: config_for(&m.name),
                    host_version: env!("CARGO_PKG_VERSION").to_string(),
                    host_features: self.host_features.clone(),
                    module_token: m.token,
                    state_dir: dir.display().to_string(),
                };
                (m.name.clone(), m.initialize(&args))
            })
            .collect();
        for (name, outcome) in &outcomes {
            match outcome {
                Ok(InitOutcome::Complete) => tracing::info!("state driver {name} initialized"),
                Ok(InitOutcome::Skipped) => {
                    tracing::info!("state driver {name} skipped initialization")
                }
                Err(e) => {
                    tracing::error!("skipping driver module {name}: initialization failed: {e}");
                    self.modules.retain(|m| &m.name != name);
                }
            }
        }
        outcomes
    }

    fn each_state(&self, hook_id: u32, what: &str) {
        for m in self.modules.iter().filter(|m| m.has_state_driver) {
            if let Err(e) = m.state_hook(hook_id) {
                tracing::warn!("{what} of driver module {} failed: {e}", m.name);
            }
        }
    }

    pub fn reload(&self) {
        self.each_state(hook::RELOAD, "reload");
    }

    /// shutdown_prepare, shutdown_wait and cleanup, each across all modules in turn.
    pub fn shutdown(&self) {
        self.each_state(hook::SHUTDOWN_PREPARE, "shutdown preparation");
        self.each_state(hook::SHUTDOWN_WAIT, "shutdown wait");
        self.each_state(hook::CLEANUP, "cleanup");
    }
}

/// Where embedded clients find modules: `RVIRT_MODULE_DIR`, else the directory of the
/// running executable (and its parent, for cargo's `deps/`), else the system directory.
pub fn default_module_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("RVIRT_MODULE_DIR") {
        return PathBuf::from(dir);
    }
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1).take(2) {
            if module_files(dir).is_ok_and(|f| !f.is_empty()) {
                return dir.to_path_buf();
            }
        }
    }
    PathBuf::from("/usr/lib/rvirt/modules")
}

/// The registry an embedded connection to `scheme` uses, loaded on first use and kept for
/// the process. Only modules serving the scheme without a state driver are kept: the
/// module named after the scheme is tried first, so a one-shot client loads one library.
pub fn embedded(scheme: &str) -> Arc<Registry> {
    static REGS: Mutex<BTreeMap<String, Arc<Registry>>> = Mutex::new(BTreeMap::new());
    let mut regs = REGS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(r) = regs.get(scheme) {
        return r.clone();
    }
    let dir = default_module_dir();
    let mut reg = Registry::default();
    let named = dir.join(format!("librvirt_driver_{scheme}.so"));
    if !(named.exists() && reg.add_file(&named).is_ok() && reg.serves(scheme)) {
        reg = Registry::load_dir(&dir, &ModuleFilter::default());
    }
    // Drivers with a state driver (qemu, xen, ...) manage host resources and belong in the
    // daemon; a client reaches them over the remote protocol.
    reg.modules.retain(|m| {
        !m.has_state_driver
            && m.drivers
                .iter()
                .any(|d| d.uri_schemes.iter().any(|s| s == scheme))
    });
    let state = std::env::temp_dir().join(format!("rvirt-embedded-{}", std::process::id()));
    reg.initialize(false, &|_| String::new(), &state);
    let reg = Arc::new(reg);
    regs.insert(scheme.to_string(), reg.clone());
    reg
}
