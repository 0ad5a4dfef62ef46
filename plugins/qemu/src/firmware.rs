//! UEFI firmware for `<os firmware='efi'>` and pflash loaders, as libvirt 9.0 does it at
//! start: the first of QEMU's firmware descriptors (`/etc/qemu/firmware`, then
//! `/usr/share/qemu/firmware`, by file name; a name in `/etc` hides the same name below)
//! that fits the domain's machine, architecture and firmware features becomes a read-only
//! pflash loader, its NVRAM template is copied to the domain's variable store
//! (`NAME_VARS.fd` in the driver's `nvram` directory) on first use, and a firmware that
//! requires SMM turns SMM on. The live definition then carries the loader and NVRAM and no
//! longer asks for autoselection, as libvirt's live XML does.

use std::path::{Path, PathBuf};

use rvirt_xml::domain::{feature_on, insert_feature, DomainDef, Loader, Nvram};
use serde::Deserialize;

/// Where QEMU's firmware descriptors live, highest precedence first.
pub const DESCRIPTOR_DIRS: &[&str] = &["/etc/qemu/firmware", "/usr/share/qemu/firmware"];

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FirmwareError {
    /// libvirt: qemuFirmwareFillDomain finding nothing.
    #[error("Unable to find any firmware to satisfy '{0}'")]
    NoneFits(String),
    /// libvirt: no template for a variable store that does not exist yet.
    #[error("unable to find any master var store for loader: {0}")]
    NoTemplate(String),
    #[error("cannot create NVRAM file {path}: {reason}")]
    Nvram { path: String, reason: String },
}

/// One descriptor, the parts selection reads (QEMU's `firmware.json` schema).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Descriptor {
    #[serde(rename = "interface-types")]
    pub interface_types: Vec<String>,
    pub mapping: Mapping,
    pub targets: Vec<Target>,
    #[serde(default)]
    pub features: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Mapping {
    pub device: String,
    pub executable: Option<FlashFile>,
    #[serde(rename = "nvram-template")]
    pub nvram_template: Option<FlashFile>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct FlashFile {
    pub filename: String,
    #[serde(default)]
    pub format: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Target {
    pub architecture: String,
    pub machines: Vec<String>,
}

impl Descriptor {
    fn has(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }
}

/// The descriptors of `dirs`, in selection order; unreadable or malformed files are skipped
/// (logged), as libvirt skips them.
pub fn descriptors(dirs: &[&str]) -> Vec<Descriptor> {
    let mut by_name = std::collections::BTreeMap::new();
    for dir in dirs.iter().rev() {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") {
                by_name.insert(name, e.path());
            }
        }
    }
    by_name
        .values()
        .filter_map(|p| {
            let text = std::fs::read_to_string(p).ok()?;
            serde_json::from_str(&text)
                .inspect_err(|e| {
                    tracing::warn!("ignoring firmware descriptor {}: {e}", p.display())
                })
                .ok()
        })
        .collect()
}

/// `fnmatch`-style match of QEMU machine globs (`pc-q35-*`); only `*` occurs in them.
fn glob_matches(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(tail) = text.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len()).any(|i| tail.is_char_boundary(i) && glob_matches(rest, &tail[i..]))
        }
    }
}

/// The domain's `<os><firmware><feature enabled name/>` wishes.
fn wanted_features(def: &DomainDef) -> Vec<(String, bool)> {
    def.os
        .opts()
        .extra
        .iter()
        .filter(|e| e.name == "firmware")
        .flat_map(|e| e.children.iter())
        .filter(|f| f.name == "feature")
        .filter_map(|f| Some((f.attr("name")?.to_string(), f.attr("enabled")? == "yes")))
        .collect()
}

fn smm_state(def: &DomainDef) -> Option<bool> {
    def.features
        .iter()
        .find(|f| f.name == "smm")
        .map(|f| f.enabled)
}

/// Whether `d` is UEFI on flash for `machine` (canonical) of `arch`.
fn serves(d: &Descriptor, arch: &str, machine: &str) -> bool {
    let target = d
        .targets
        .iter()
        .any(|t| t.architecture == arch && t.machines.iter().any(|m| glob_matches(m, machine)));
    target
        && d.interface_types.iter().any(|i| i == "uefi")
        && d.mapping.device == "flash"
        && d.mapping.executable.is_some()
}

/// What domain capabilities report for `machine`: the loaders that could boot it, in
/// selection order, and whether one of them does secure boot.
pub fn loaders(found: &[Descriptor], arch: &str, machine: &str) -> (Vec<String>, bool) {
    let mut paths: Vec<String> = Vec::new();
    let mut secure = false;
    for d in found.iter().filter(|d| serves(d, arch, machine)) {
        let exe = &d
            .mapping
            .executable
            .as_ref()
            .expect("serves() checked")
            .filename;
        if !paths.contains(exe) {
            paths.push(exe.clone());
        }
        secure |= d.has("secure-boot");
    }
    (paths, secure)
}

/// Whether `d` can boot `def` (libvirt's qemuFirmwareMatchDomain, for UEFI on flash).
fn fits(d: &Descriptor, def: &DomainDef) -> bool {
    let arch = def.arch.as_deref().unwrap_or("x86_64");
    let machine = def.machine.as_deref().unwrap_or("pc");
    if !serves(d, arch, machine) {
        return false;
    }
    let wishes_met = wanted_features(def)
        .iter()
        .all(|(name, on)| d.has(name) == *on);
    let secure = def.os.loader.as_ref().and_then(|l| l.secure.as_deref());
    let secure_met = match secure {
        Some("yes") => d.has("secure-boot"),
        Some("no") => !d.has("secure-boot"),
        _ => true,
    };
    let smm_met = !(d.has("requires-smm") && smm_state(def) == Some(false));
    wishes_met && secure_met && smm_met
}

/// libvirt's define-time check of a UEFI domain (qemu_validate.c).
pub fn check(def: &DomainDef) -> Result<(), String> {
    let uefi = def.os.opts().firmware.as_deref() == Some("efi")
        || def
            .os
            .loader
            .as_ref()
            .is_some_and(|l| l.loader_type.as_deref() == Some("pflash"));
    let acpi = def.features.iter().any(|f| f.name == "acpi" && f.enabled);
    if uefi && !acpi {
        return Err("UEFI requires ACPI on this architecture".into());
    }
    Ok(())
}

/// The variable store libvirt gives a domain without an explicit one.
pub fn default_nvram(nvram_dir: &Path, name: &str) -> PathBuf {
    nvram_dir.join(format!("{name}_VARS.fd"))
}

/// Resolves `<os firmware='efi'>` into a loader and NVRAM (and SMM when the firmware
/// needs it), and gives a pflash loader without `<nvram>` its variable store. Definitions
/// with neither are left alone.
pub fn fill(
    def: &mut DomainDef,
    nvram_dir: &Path,
    found: &[Descriptor],
) -> Result<(), FirmwareError> {
    if def.os.opts().firmware.as_deref() == Some("efi") {
        let d = found.iter().find(|d| fits(d, def)).ok_or_else(|| {
            FirmwareError::NoneFits(def.os.opts().firmware.clone().unwrap_or_default())
        })?;
        let exe = d.mapping.executable.as_ref().expect("fits() checked");
        let old = def.os.loader.take().map(|l| *l).unwrap_or_default();
        def.os.loader = Some(Box::new(Loader {
            readonly: Some("yes".into()),
            secure: d.has("secure-boot").then(|| "yes".into()),
            loader_type: Some("pflash".into()),
            stateless: old.stateless,
            path: Some(exe.filename.clone()),
        }));
        let nvram = def.os.nvram.get_or_insert_with(Default::default);
        if nvram.template.is_none() {
            nvram.template = d
                .mapping
                .nvram_template
                .as_ref()
                .map(|t| t.filename.clone());
        }
        if d.has("requires-smm") && smm_state(def).is_none() {
            insert_feature(&mut def.features, feature_on("smm"));
        }
        // The `<firmware>` wishes stay, as in libvirt's live XML.
        def.os.opts_mut().firmware = None;
    }
    let pflash = def.os.loader.as_ref().is_some_and(|l| {
        l.loader_type.as_deref() == Some("pflash") && l.readonly.as_deref() == Some("yes")
    });
    if pflash {
        let loader_path = def.os.loader.as_ref().and_then(|l| l.path.clone());
        let name = def.name.clone();
        let nvram = def.os.nvram.get_or_insert_with(Default::default);
        if nvram.path.is_none() {
            nvram.path = Some(default_nvram(nvram_dir, &name).display().to_string());
        }
        if nvram.template.is_none() {
            nvram.template = found
                .iter()
                .find(|d| {
                    d.mapping.executable.as_ref().map(|e| &e.filename) == loader_path.as_ref()
                })
                .and_then(|d| d.mapping.nvram_template.as_ref())
                .map(|t| t.filename.clone());
        }
    }
    Ok(())
}

/// Undefine's check of the domain's variable store (libvirt's rules: refused while it
/// exists unless `NVRAM` removes it or `KEEP_NVRAM` keeps it); answers the store to
/// remove once every check has passed. The error is the text of an "operation is not
/// valid".
pub fn undefine_nvram(
    def: &DomainDef,
    nvram_dir: &Path,
    flags: u32,
) -> Result<Option<PathBuf>, String> {
    use rvirt_plugin_api::protocol::facts::domain_undefine::{KEEP_NVRAM, NVRAM};
    if flags & NVRAM != 0 && flags & KEEP_NVRAM != 0 {
        return Err("cannot both keep and delete nvram".into());
    }
    let explicit = def.os.nvram.as_deref().and_then(|n| n.path.clone());
    let uefi = def.os.opts().firmware.as_deref() == Some("efi")
        || def
            .os
            .loader
            .as_ref()
            .is_some_and(|l| l.loader_type.as_deref() == Some("pflash"));
    let path = match explicit {
        Some(p) => PathBuf::from(p),
        None if uefi => default_nvram(nvram_dir, &def.name),
        None => return Ok(None),
    };
    if !path.exists() {
        return Ok(None);
    }
    if flags & NVRAM != 0 {
        return Ok(Some(path));
    }
    if flags & KEEP_NVRAM == 0 {
        return Err("cannot undefine domain with nvram".into());
    }
    Ok(None)
}

/// Creates the variable store of a filled definition from its template when it does not
/// exist yet (mode 0600, as libvirt makes it).
pub fn ensure_nvram(def: &DomainDef) -> Result<(), FirmwareError> {
    let Some(Nvram {
        path: Some(path),
        template,
    }) = def.os.nvram.as_deref()
    else {
        return Ok(());
    };
    if Path::new(path).exists() {
        return Ok(());
    }
    let loader = def
        .os
        .loader
        .as_ref()
        .and_then(|l| l.path.clone())
        .unwrap_or_default();
    let template = template.as_ref().ok_or(FirmwareError::NoTemplate(loader))?;
    let fail = |e: std::io::Error| FirmwareError::Nvram {
        path: path.clone(),
        reason: e.to_string(),
    };
    if let Some(dir) = Path::new(path).parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let data = std::fs::read(template).map_err(fail)?;
    let tmp = format!("{path}.new");
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(fail)?;
        f.write_all(&data).map_err(fail)?;
        f.sync_all().map_err(fail)?;
    }
    std::fs::rename(&tmp, path).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descriptor(exe: &str, machines: &[&str], features: &[&str]) -> Descriptor {
        Descriptor {
            interface_types: vec!["uefi".into()],
            mapping: Mapping {
                device: "flash".into(),
                executable: Some(FlashFile {
                    filename: exe.into(),
                    format: Some("raw".into()),
                }),
                nvram_template: Some(FlashFile {
                    filename: format!("{exe}.vars"),
                    format: Some("raw".into()),
                }),
            },
            targets: vec![Target {
                architecture: "x86_64".into(),
                machines: machines.iter().map(|m| m.to_string()).collect(),
            }],
            features: features.iter().map(|f| f.to_string()).collect(),
        }
    }

    /// Debian 12's three OVMF descriptors, in their file order.
    fn debian() -> Vec<Descriptor> {
        vec![
            descriptor(
                "/ovmf/ms",
                &["pc-q35-*"],
                &["enrolled-keys", "requires-smm", "secure-boot"],
            ),
            descriptor(
                "/ovmf/secure",
                &["pc-q35-*"],
                &["requires-smm", "secure-boot"],
            ),
            descriptor("/ovmf/plain", &["pc-i440fx-*", "pc-q35-*"], &[]),
        ]
    }

    fn efi(machine: &str, extra_os: &str) -> DomainDef {
        let xml = format!(
            "<domain type='qemu'><name>fw</name><memory>262144</memory>\
             <os firmware='efi'><type arch='x86_64' machine='{machine}'>hvm</type>{extra_os}</os>\
             <features><acpi/></features></domain>"
        );
        DomainDef::parse(&xml).unwrap()
    }

    #[test]
    fn capabilities_list_the_loaders_of_a_machine() {
        let all = vec![
            "/ovmf/ms".to_string(),
            "/ovmf/secure".into(),
            "/ovmf/plain".into(),
        ];
        assert_eq!(loaders(&debian(), "x86_64", "pc-q35-7.2"), (all, true));
        assert_eq!(
            loaders(&debian(), "x86_64", "pc-i440fx-7.2"),
            (vec!["/ovmf/plain".to_string()], false)
        );
        assert_eq!(loaders(&[], "x86_64", "pc-i440fx-7.2"), (vec![], false));
    }

    #[test]
    fn globs() {
        assert!(glob_matches("pc-q35-*", "pc-q35-7.2"));
        assert!(!glob_matches("pc-q35-*", "pc-i440fx-7.2"));
        assert!(glob_matches("*", "anything"));
        assert!(glob_matches("pc", "pc"));
    }

    #[test]
    fn q35_gets_the_enrolled_secure_firmware_with_smm() {
        let mut def = efi("pc-q35-7.2", "");
        fill(&mut def, Path::new("/nv"), &debian()).unwrap();
        let l = def.os.loader.as_deref().unwrap();
        assert_eq!(l.path.as_deref(), Some("/ovmf/ms"));
        assert_eq!(l.secure.as_deref(), Some("yes"));
        assert_eq!(l.readonly.as_deref(), Some("yes"));
        let n = def.os.nvram.as_deref().unwrap();
        assert_eq!(n.path.as_deref(), Some("/nv/fw_VARS.fd"));
        assert_eq!(n.template.as_deref(), Some("/ovmf/ms.vars"));
        assert_eq!(smm_state(&def), Some(true));
        assert_eq!(def.os.opts().firmware, None);
    }

    #[test]
    fn i440fx_and_unwanted_features_get_the_plain_firmware() {
        let mut def = efi("pc-i440fx-7.2", "");
        fill(&mut def, Path::new("/nv"), &debian()).unwrap();
        assert_eq!(
            def.os.loader.as_deref().unwrap().path.as_deref(),
            Some("/ovmf/plain")
        );
        assert_eq!(def.os.loader.as_deref().unwrap().secure, None);
        assert_eq!(smm_state(&def), None);
        let mut def = efi(
            "pc-q35-7.2",
            "<firmware><feature enabled='no' name='secure-boot'/></firmware>",
        );
        fill(&mut def, Path::new("/nv"), &debian()).unwrap();
        assert_eq!(
            def.os.loader.as_deref().unwrap().path.as_deref(),
            Some("/ovmf/plain")
        );
        let mut def = efi(
            "pc-q35-7.2",
            "<firmware><feature enabled='no' name='enrolled-keys'/></firmware>",
        );
        fill(&mut def, Path::new("/nv"), &debian()).unwrap();
        assert_eq!(
            def.os.loader.as_deref().unwrap().path.as_deref(),
            Some("/ovmf/secure")
        );
    }

    #[test]
    fn nothing_fits_without_descriptors() {
        let mut def = efi("pc-q35-7.2", "");
        assert_eq!(
            fill(&mut def, Path::new("/nv"), &[])
                .unwrap_err()
                .to_string(),
            "Unable to find any firmware to satisfy 'efi'"
        );
    }

    #[test]
    fn the_variable_store_is_copied_once_from_its_template() {
        let dir = std::env::temp_dir().join(format!("rvirt-fw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let template = dir.join("VARS.fd");
        std::fs::write(&template, b"template").unwrap();
        let mut def = efi("pc-q35-7.2", "");
        def.os.nvram = Some(Box::new(Nvram {
            template: Some(template.display().to_string()),
            path: Some(dir.join("nv/fw_VARS.fd").display().to_string()),
        }));
        ensure_nvram(&def).unwrap();
        let store = dir.join("nv/fw_VARS.fd");
        assert_eq!(std::fs::read(&store).unwrap(), b"template");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&store).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::write(&store, b"guest wrote this").unwrap();
        ensure_nvram(&def).unwrap();
        assert_eq!(std::fs::read(&store).unwrap(), b"guest wrote this");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
