//! Loading driver modules: `librvirt_driver_*.so` files checked by abi_stable, described
//! through the frozen envelope, attached to the host services.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use abi_stable::library::lib_header_from_path;
use abi_stable::std_types::{RResult, RSlice, RVec};
use rvirt_plugin_api::abi::{hook, ModuleRootRef, Reply};
use rvirt_protocol::xdr::{from_bytes, to_bytes};
use rvirt_protocol::{
    DriverKind, RemoteError, RvirtInitArgs, RvirtInitRet, RvirtModuleDescriptor, RVIRT_INIT_SKIPPED,
};

/// Why a module could not be loaded. The Display text is the one-line reason; the
/// abi_stable detail, when there is one, is in `detail`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: not a loadable rvirt driver module: {reason}")]
    NotAModule {
        path: String,
        reason: String,
        detail: String,
    },
    #[error("{path}: driver ABI is incompatible with this host (plugin-api {host}): {reason}")]
    Incompatible {
        path: String,
        host: String,
        reason: String,
        detail: String,
    },
    #[error("{path}: module description is invalid: {reason}")]
    BadDescriptor { path: String, reason: String },
    #[error("{path}: module name '{name}' is already loaded from {other}")]
    Duplicate {
        path: String,
        name: String,
        other: String,
    },
    /// The file or a directory above it fails the ownership and permission rules of
    /// [`crate::trust`]; nothing of the file was read.
    #[error(transparent)]
    Untrusted(#[from] crate::trust::TrustError),
}

impl LoadError {
    /// The long diagnostic (for debug logs).
    pub fn detail(&self) -> &str {
        match self {
            LoadError::NotAModule { detail, .. } | LoadError::Incompatible { detail, .. } => detail,
            _ => "",
        }
    }
}

/// One connection driver declared by a module.
#[derive(Debug, Clone)]
pub struct DriverInfo {
    pub index: u32,
    pub kind: DriverKind,
    pub name: String,
    pub uri_schemes: Vec<String>,
    /// (program, procedure) pairs the driver implements, sorted.
    pub procedures: Vec<(u32, i32)>,
}

impl DriverInfo {
    /// Whether this driver may serve a URI with the given driver scheme: it names the
    /// scheme, or names none (a secondary driver for every connection).
    pub fn serves(&self, scheme: &str) -> bool {
        self.uri_schemes.is_empty() || self.uri_schemes.iter().any(|s| s == scheme)
    }

    /// Whether the driver declared `procedure` of `program`.
    pub fn implements(&self, program: u32, procedure: i32) -> bool {
        self.procedures.binary_search(&(program, procedure)).is_ok()
    }
}

/// A loaded module.
pub struct LoadedModule {
    pub path: PathBuf,
    pub name: String,
    pub version: String,
    pub abi_major: u32,
    pub abi_minor: u32,
    pub has_state_driver: bool,
    pub drivers: Vec<Arc<DriverInfo>>,
    pub features: Vec<String>,
    /// The module declares that none of its calls block.
    pub nonblocking: bool,
    /// The module tells privileged clients from the rest (the `client-identity` feature).
    pub client_identity: bool,
    pub token: u64,
    root: ModuleRootRef,
}

impl std::fmt::Debug for LoadedModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModule")
            .field("name", &self.name)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// abi_stable's multi-line error text folded into one line.
fn one_line(s: &str) -> String {
    let folded = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut line: String = folded.chars().take(240).collect();
    if line.len() < folded.len() {
        line.push('…');
    }
    if line.is_empty() {
        "unknown error".into()
    } else {
        line
    }
}

/// A call's reply payload as the module encoded it. The daemon writes it to the socket
/// from this buffer, so a reply's bytes are never copied between the module's encoder and
/// the kernel (a `Vec` made in the host converts into one without a copy too).
pub type ReplyBuf = RVec<u8>;

/// Converts an envelope reply into bytes or a remote error.
pub fn reply_result(reply: Reply) -> Result<Vec<u8>, RemoteError> {
    reply_buf(reply).map(RVec::into_vec)
}

/// [`reply_result`] keeping the module's buffer.
pub fn reply_buf(reply: Reply) -> Result<ReplyBuf, RemoteError> {
    match reply {
        RResult::ROk(v) => Ok(v),
        RResult::RErr(e) => Err(from_bytes(&e).unwrap_or_else(|x| {
            RemoteError::new(
                rvirt_protocol::error::code::INTERNAL_ERROR,
                rvirt_protocol::error::domain::NONE,
                format!("driver module returned an undecodable error: {x}"),
            )
        })),
    }
}

/// `opened` is the name the library was `dlopen`ed by (`/proc/self/fd/N`); messages name
/// `path` instead.
fn classify(path: &Path, opened: &Path, err: abi_stable::library::LibraryError) -> LoadError {
    use abi_stable::library::LibraryError as E;
    let detail = err
        .to_string()
        .replace(&*opened.to_string_lossy(), &path.to_string_lossy());
    let p = path.display().to_string();
    match err {
        E::OpenError { .. } | E::GetSymbolError { .. } => LoadError::NotAModule {
            path: p,
            reason: one_line(&detail),
            detail,
        },
        E::InvalidAbiHeader(_) | E::InvalidCAbi { .. } => LoadError::Incompatible {
            path: p,
            host: env_version(),
            reason: "the abi_stable header differs".into(),
            detail,
        },
        E::IncompatibleVersionNumber {
            expected_version,
            actual_version,
            ..
        } => LoadError::Incompatible {
            path: p,
            host: env_version(),
            reason: format!(
                "module plugin-api {actual_version}, host needs {}.x",
                expected_version.major
            ),
            detail,
        },
        _ => LoadError::Incompatible {
            path: p,
            host: env_version(),
            reason: "layout check failed".into(),
            detail,
        },
    }
}

/// The plugin-api ABI (major, minor) this host implements.
pub const HOST_ABI: (u32, u32) = (rvirt_plugin_api::ABI_MAJOR, rvirt_plugin_api::ABI_MINOR);

fn env_version() -> String {
    format!(
        "{}.{}",
        rvirt_plugin_api::ABI_MAJOR,
        rvirt_plugin_api::ABI_MINOR
    )
}

/// Loads and describes one module file. `token` identifies it in host-service calls.
///
/// The file must pass [`crate::trust::open_module`] first; the ELF check reads the opened
/// descriptor and `dlopen` loads that same descriptor, so the checked file is the loaded one.
pub fn load_module(path: &Path, token: u64) -> Result<LoadedModule, LoadError> {
    let p = path.display().to_string();
    let trusted = crate::trust::open_module(path)?;
    let mut bytes = Vec::new();
    (&trusted.file)
        .read_to_end(&mut bytes)
        .map_err(|e| LoadError::NotAModule {
            path: p.clone(),
            reason: format!("cannot read the file: {e}"),
            detail: String::new(),
        })?;
    crate::elf::check_shared_object(&bytes).map_err(|e| LoadError::NotAModule {
        path: p.clone(),
        reason: e.to_string(),
        detail: String::new(),
    })?;
    drop(bytes);
    let opened = trusted.dlopen_path();
    let header = lib_header_from_path(&opened).map_err(|e| classify(path, &opened, e))?;
    let root = header
        .init_root_module::<ModuleRootRef>()
        .map_err(|e| classify(path, &opened, e))?;
    (root.attach_host())(crate::host::services(), token);
    let bytes = reply_result((root.describe())()).map_err(|e| LoadError::BadDescriptor {
        path: p.clone(),
        reason: e.text().to_string(),
    })?;
    let d: RvirtModuleDescriptor = from_bytes(&bytes).map_err(|e| LoadError::BadDescriptor {
        path: p.clone(),
        reason: e.to_string(),
    })?;
    if d.abi_major != rvirt_plugin_api::ABI_MAJOR {
        return Err(LoadError::Incompatible {
            path: p,
            host: env_version(),
            reason: format!("module declares ABI {}.{}", d.abi_major, d.abi_minor),
            detail: String::new(),
        });
    }
    if d.name.is_empty() {
        return Err(LoadError::BadDescriptor {
            path: p,
            reason: "the module has no name".into(),
        });
    }
    let mut drivers = Vec::new();
    for (i, drv) in d.drivers.into_iter().enumerate() {
        let kind = DriverKind::from_code(drv.kind).ok_or_else(|| LoadError::BadDescriptor {
            path: p.clone(),
            reason: format!("driver {} has unknown kind {}", drv.name, drv.kind),
        })?;
        let mut procedures: Vec<(u32, i32)> = drv
            .procedures
            .iter()
            .flat_map(|set| set.procedures.iter().map(move |n| (set.program, *n)))
            .collect();
        procedures.sort_unstable();
        procedures.dedup();
        drivers.push(Arc::new(DriverInfo {
            index: i as u32,
            kind,
            name: drv.name,
            uri_schemes: drv.uri_schemes,
            procedures,
        }));
    }
    let declares = |feature: &str| d.features.iter().any(|f| f == feature);
    let nonblocking = declares(rvirt_plugin_api::sdk::FEATURE_NONBLOCKING_CALLS);
    let client_identity = declares(rvirt_plugin_api::sdk::FEATURE_CLIENT_IDENTITY);
    Ok(LoadedModule {
        path: path.to_path_buf(),
        name: d.name,
        version: d.version,
        abi_major: d.abi_major,
        abi_minor: d.abi_minor,
        has_state_driver: d.has_state_driver,
        drivers,
        features: d.features,
        nonblocking,
        client_identity,
        token,
        root,
    })
}

/// The module name of a module file: `NAME` of `librvirt_driver_NAME.so`.
pub fn module_name(path: &Path) -> Option<&str> {
    path.file_name()?
        .to_str()?
        .strip_prefix("librvirt_driver_")?
        .strip_suffix(".so")
}

/// The module files of a directory, sorted by name (the deterministic table order).
pub fn module_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("librvirt_driver_") && n.ends_with(".so"))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// The state-driver initialize outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitOutcome {
    Complete,
    Skipped,
}

impl LoadedModule {
    pub fn initialize(&self, args: &RvirtInitArgs) -> Result<InitOutcome, RemoteError> {
        let payload = to_bytes(args);
        let reply = reply_result((self.root.state())(
            hook::INITIALIZE,
            RSlice::from_slice(&payload),
        ))?;
        let ret: RvirtInitRet = from_bytes(&reply)?;
        Ok(if ret.status == RVIRT_INIT_SKIPPED as i32 {
            InitOutcome::Skipped
        } else {
            InitOutcome::Complete
        })
    }

    /// Runs a payload-less state hook (reload, shutdown_prepare, shutdown_wait, cleanup).
    pub fn state_hook(&self, hook_id: u32) -> Result<(), RemoteError> {
        reply_result((self.root.state())(hook_id, RSlice::from_slice(&[]))).map(|_| ())
    }

    pub fn open(
        &self,
        driver: u32,
        args: &rvirt_protocol::RvirtOpenArgs,
    ) -> Result<rvirt_protocol::RvirtOpenRet, RemoteError> {
        let payload = to_bytes(args);
        let reply = reply_result((self.root.open())(driver, RSlice::from_slice(&payload)))?;
        Ok(from_bytes(&reply)?)
    }

    pub fn close(&self, driver: u32, handle: u64) {
        (self.root.close())(driver, handle);
    }

    pub fn call(
        &self,
        driver: u32,
        handle: u64,
        program: u32,
        procedure: i32,
        args: &[u8],
    ) -> Result<Vec<u8>, RemoteError> {
        self.call_buf(driver, handle, program, procedure, args)
            .map(RVec::into_vec)
    }

    /// [`LoadedModule::call`] keeping the module's reply buffer.
    pub fn call_buf(
        &self,
        driver: u32,
        handle: u64,
        program: u32,
        procedure: i32,
        args: &[u8],
    ) -> Result<ReplyBuf, RemoteError> {
        reply_buf((self.root.call())(
            driver,
            handle,
            program,
            procedure,
            RSlice::from_slice(args),
        ))
    }

    /// A one-paragraph description, as `rvirtd --check-module` prints it.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "module {} version {} (plugin-api ABI {}.{}) from {}\n",
            self.name,
            self.version,
            self.abi_major,
            self.abi_minor,
            self.path.display()
        );
        if self.has_state_driver {
            s.push_str("  state driver: yes\n");
        }
        for d in &self.drivers {
            s.push_str(&format!(
                "  driver {} kind={} uri-schemes={} procedures={}\n",
                d.name,
                d.kind.name(),
                if d.uri_schemes.is_empty() {
                    "*".to_string()
                } else {
                    d.uri_schemes.join(",")
                },
                d.procedures.len()
            ));
        }
        s
    }
}
