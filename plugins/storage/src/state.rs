//! The driver's state: every pool, its definition on disk and whether it is running.
//!
//! Layout under the module's state directory: `pools/NAME.xml` holds a persistent pool's
//! definition, `pools/autostart/NAME.xml` is a link to it when the pool autostarts, and
//! `run/NAME.xml` marks a running pool (holding the definition of a transient one). Every
//! file is written to a temporary name, synced and renamed, so a crash at any point
//! leaves either the old or the new file, never a half-written one.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rvirt_xml::storage::{StoragePoolDef, StorageVolDef};

use crate::error::{SResult, StorageError};
use crate::events::{Event, Listener};

/// Where the driver keeps its files.
#[derive(Debug, Clone)]
pub struct Dirs {
    pub config: PathBuf,
    pub autostart: PathBuf,
    pub run: PathBuf,
}

impl Dirs {
    /// The directories under `state_dir` (a temporary one when the host gives none).
    pub fn new(state_dir: &str) -> Dirs {
        let base = if state_dir.is_empty() {
            std::env::temp_dir().join(format!("rvirt-storage-{}", std::process::id()))
        } else {
            PathBuf::from(state_dir)
        };
        Dirs {
            config: base.join("pools"),
            autostart: base.join("pools/autostart"),
            run: base.join("run"),
        }
    }

    pub fn create(&self) -> SResult<()> {
        for d in [&self.config, &self.autostart, &self.run] {
            std::fs::create_dir_all(d).map_err(|e| {
                StorageError::io(format!("cannot create directory '{}'", d.display()), &e)
            })?;
        }
        Ok(())
    }

    pub fn config_file(&self, name: &str) -> PathBuf {
        self.config.join(format!("{name}.xml"))
    }

    pub fn autostart_link(&self, name: &str) -> PathBuf {
        self.autostart.join(format!("{name}.xml"))
    }

    pub fn run_file(&self, name: &str) -> PathBuf {
        self.run.join(format!("{name}.xml"))
    }
}

/// Writes `data` to `path` atomically: temporary file, fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("xml.new");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    sync_dir(path);
    Ok(())
}

/// Makes a rename or unlink in `path`'s directory durable.
fn sync_dir(path: &Path) {
    if let Some(d) = path.parent().and_then(|d| std::fs::File::open(d).ok()) {
        let _ = d.sync_all();
    }
}

/// Removes `path` if it exists.
pub fn remove(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => {
            sync_dir(path);
            Ok(())
        }
    }
}

/// One pool.
#[derive(Debug, Clone)]
pub struct Pool {
    pub def: StoragePoolDef,
    pub active: bool,
    pub persistent: bool,
    pub autostart: bool,
    /// The volumes found by the last refresh (running pools only).
    pub vols: Vec<StorageVolDef>,
    /// A definition given while the pool ran, taking effect when it stops.
    pub new_def: Option<StoragePoolDef>,
    /// Volumes a long job (a build, a copy, a wipe) works on without holding the lock:
    /// the pool cannot stop or refresh meanwhile, nor these volumes go.
    pub jobs: Vec<String>,
}

impl Pool {
    pub fn new(def: StoragePoolDef) -> Pool {
        Pool {
            def,
            active: false,
            persistent: false,
            autostart: false,
            vols: Vec::new(),
            new_def: None,
            jobs: Vec::new(),
        }
    }
}

/// The driver: its directories and its pools behind one lock.
#[derive(Debug)]
pub struct Driver {
    pub dirs: Dirs,
    pub privileged: bool,
    pools: Mutex<Vec<Pool>>,
    listeners: Mutex<Vec<Listener>>,
}

impl Driver {
    pub fn new(dirs: Dirs, privileged: bool) -> Driver {
        Driver {
            dirs,
            privileged,
            pools: Mutex::new(Vec::new()),
            listeners: Mutex::new(Vec::new()),
        }
    }

    pub fn add_listener(&self, l: Listener) {
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(l);
    }

    pub fn remove_listener(&self, l: Listener) {
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|x| *x != l);
    }

    /// Sends `ev` to every open connection.
    pub fn emit(&self, ev: Event) {
        let listeners = self
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        ev.send(&listeners);
    }

    pub fn lock(&self) -> MutexGuard<'_, Vec<Pool>> {
        self.pools.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes a persistent pool's definition.
    pub fn save_config(&self, def: &StoragePoolDef) -> SResult<()> {
        let path = self.dirs.config_file(&def.name);
        write_atomic(&path, config_xml(def).as_bytes()).map_err(|e| {
            StorageError::io(format!("cannot write config file '{}'", path.display()), &e)
        })
    }

    /// Records that a pool runs (with its definition, which a transient pool has nowhere else).
    pub fn save_status(&self, def: &StoragePoolDef) -> SResult<()> {
        let path = self.dirs.run_file(&def.name);
        write_atomic(&path, config_xml(def).as_bytes()).map_err(|e| {
            StorageError::io(format!("cannot write state file '{}'", path.display()), &e)
        })
    }

    pub fn remove_status(&self, name: &str) {
        if let Err(e) = remove(&self.dirs.run_file(name)) {
            tracing::warn!("cannot remove state file of pool {name}: {e}");
        }
    }

    /// Creates or removes the autostart link of `name`.
    pub fn set_autostart_link(&self, name: &str, on: bool) -> SResult<()> {
        let link = self.dirs.autostart_link(name);
        if !on {
            return remove(&link).map_err(|e| {
                StorageError::io(format!("Failed to delete symlink '{}'", link.display()), &e)
            });
        }
        if std::fs::symlink_metadata(&link).is_ok() {
            return Ok(());
        }
        let target = self.dirs.config_file(name);
        std::os::unix::fs::symlink(&target, &link).map_err(|e| {
            StorageError::io(
                format!(
                    "Failed to create symlink '{}' to '{}'",
                    link.display(),
                    target.display()
                ),
                &e,
            )
        })?;
        sync_dir(&link);
        Ok(())
    }

    /// Loads the persistent definitions and the running state; returns the names of the
    /// pools that ran before (to be started again) in load order.
    pub fn load(&self) -> Vec<String> {
        let mut pools = self.lock();
        for (name, def) in read_defs(&self.dirs.config) {
            let mut p = Pool::new(def);
            p.persistent = true;
            p.autostart = self.dirs.autostart_link(&name).exists();
            pools.push(p);
        }
        let mut running = Vec::new();
        for (name, def) in read_defs(&self.dirs.run) {
            if !pools.iter().any(|p| p.def.name == name) {
                pools.push(Pool::new(def));
            }
            running.push(name);
        }
        running
    }
}

impl Driver {
    /// Reads the persistent definitions again (on SIGHUP): new ones are added, a changed
    /// one replaces an inactive pool's definition or waits for a running pool to stop,
    /// and autostart links are re-read. A file naming a known pool with another UUID
    /// is ignored.
    pub fn reload_configs(&self) {
        let mut pools = self.lock();
        for (name, def) in read_defs(&self.dirs.config) {
            let autostart = self.dirs.autostart_link(&name).exists();
            let p = match pools.iter_mut().position(|p| p.def.name == name) {
                Some(i) if pools[i].def.uuid != def.uuid => {
                    tracing::warn!("pool config '{name}' names another UUID; ignored");
                    continue;
                }
                Some(i) => {
                    let p = &mut pools[i];
                    let current = p.new_def.as_ref().unwrap_or(&p.def);
                    if p.active && same_config(current, &def) {
                        // Unchanged: nothing pending.
                    } else if p.active {
                        p.new_def = Some(def);
                    } else {
                        p.def = def;
                    }
                    p
                }
                None => {
                    pools.push(Pool::new(def));
                    pools.last_mut().expect("just pushed")
                }
            };
            p.persistent = true;
            p.autostart = autostart;
        }
    }
}

/// Whether two definitions are the same once what a refresh fills in is left out.
fn same_config(a: &StoragePoolDef, b: &StoragePoolDef) -> bool {
    let strip = |d: &StoragePoolDef| {
        let mut d = d.clone();
        d.permissions = None;
        config_xml(&d)
    };
    strip(a) == strip(b)
}

/// The definition as it is stored: without the sizes and permissions a refresh fills in.
fn config_xml(def: &StoragePoolDef) -> String {
    let mut d = def.clone();
    d.capacity = 0;
    d.allocation = 0;
    d.available = 0;
    d.to_xml()
}

/// Every `NAME.xml` in `dir` whose content parses as a pool named NAME.
fn read_defs(dir: &Path) -> Vec<(String, StoragePoolDef)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml") && p.is_file())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let name = f.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        match std::fs::read_to_string(&f)
            .map_err(|e| e.to_string())
            .and_then(|t| StoragePoolDef::parse(&t).map_err(|e| e.to_string()))
        {
            Ok(def) if def.name == name => out.push((name.to_string(), def)),
            Ok(def) => tracing::warn!(
                "pool config filename '{}' does not match pool name '{}'",
                f.display(),
                def.name
            ),
            Err(e) => tracing::warn!("cannot load pool config {}: {e}", f.display()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rvirt-storage-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn configs_round_trip_and_leave_no_temporaries() {
        let base = tmp("state");
        let dirs = Dirs::new(base.to_str().unwrap());
        dirs.create().unwrap();
        let drv = Driver::new(dirs.clone(), true);
        let def = StoragePoolDef::parse(
            "<pool type='dir'><name>a</name><target><path>/x</path></target></pool>",
        )
        .unwrap();
        drv.save_config(&def).unwrap();
        drv.save_config(&def).unwrap();
        drv.set_autostart_link("a", true).unwrap();
        drv.save_status(&def).unwrap();
        // A stray temporary file (a crash before the rename) is not a pool.
        std::fs::write(dirs.config.join("b.xml.new"), "<pool").unwrap();
        let again = Driver::new(dirs.clone(), true);
        assert_eq!(again.load(), vec!["a".to_string()]);
        let pools = again.lock();
        assert_eq!(pools.len(), 1);
        assert!(pools[0].persistent && pools[0].autostart);
        assert_eq!(pools[0].def.uuid, def.uuid);
        drop(pools);
        drv.set_autostart_link("a", false).unwrap();
        assert!(!dirs.autostart_link("a").exists());
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn reload_adds_and_updates_definitions() {
        let base = tmp("reload");
        let dirs = Dirs::new(base.to_str().unwrap());
        dirs.create().unwrap();
        let drv = Driver::new(dirs, true);
        let def = |path: &str| {
            StoragePoolDef::parse(&format!(
                "<pool type='dir'><name>a</name><uuid>0b6e8d4e-5b0a-4c55-9d2e-1f6a3b2c4d5e</uuid><target><path>{path}</path></target></pool>"
            ))
            .unwrap()
        };
        drv.save_config(&def("/x")).unwrap();
        drv.reload_configs();
        assert_eq!(drv.lock()[0].def.target_path.as_deref(), Some("/x"));
        drv.lock()[0].active = true;
        drv.reload_configs();
        assert!(
            drv.lock()[0].new_def.is_none(),
            "unchanged: nothing pending"
        );
        drv.save_config(&def("/y")).unwrap();
        drv.reload_configs();
        let pending = drv.lock()[0].new_def.clone().unwrap();
        assert_eq!(pending.target_path.as_deref(), Some("/y"));
        assert_eq!(drv.lock().len(), 1);
        let _ = std::fs::remove_dir_all(&base);
    }
}
