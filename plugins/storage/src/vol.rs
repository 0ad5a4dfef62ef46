//! Volume operations in directory pools: files made with `ftruncate`/`fallocate` (raw)
//! or `qemu-img` (every other format), copied, wiped, resized and deleted.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use rvirt_plugin_api::protocol::{RemoteNonnullStorageVol, RemoteStorageVolGetInfoRet};
use rvirt_xml::storage::{sanitize_path, StorageVolDef};
use rvirt_xml::ParseOptions;

use crate::dir::chown;
use crate::error::{check_flags, SResult, StorageError};
use crate::pool::{active, active_mut, check_no_jobs, target};
use crate::probe::{self, run_qemu_img};
use crate::state::{Driver, Pool};

/// `VIR_STORAGE_VOL_CREATE_*`.
const CREATE_PREALLOC_METADATA: u32 =
    rvirt_plugin_api::protocol::facts::vol_create::PREALLOC_METADATA;
const CREATE_REFLINK: u32 = rvirt_plugin_api::protocol::facts::vol_create::REFLINK;
const CREATE_VALIDATE: u32 = rvirt_plugin_api::protocol::facts::vol_create::VALIDATE;
/// `VIR_STORAGE_VOL_GET_PHYSICAL`.
const GET_PHYSICAL: u32 = rvirt_plugin_api::protocol::facts::vol_info::GET_PHYSICAL;
/// Mode of a new volume when its definition gives none.
const DEFAULT_VOL_MODE: u32 = 0o600;

pub fn vol_ref(p: &Pool, v: &StorageVolDef) -> RemoteNonnullStorageVol {
    RemoteNonnullStorageVol {
        pool: p.def.name.clone(),
        name: v.name.clone(),
        key: v.key.clone().unwrap_or_default(),
    }
}

fn no_vol(what: &'static str, value: &str) -> StorageError {
    StorageError::NoVol {
        what,
        value: value.to_string(),
    }
}

/// Index of volume `name` in `p`.
pub(crate) fn index(p: &Pool, name: &str) -> SResult<usize> {
    p.vols
        .iter()
        .position(|v| v.name == name)
        .ok_or_else(|| no_vol("name", name))
}

pub fn lookup_name(drv: &Driver, pool: &str, name: &str) -> SResult<RemoteNonnullStorageVol> {
    let pools = drv.lock();
    let p = active(&pools, pool)?;
    Ok(vol_ref(p, &p.vols[index(p, name)?]))
}

/// A volume of any running pool by key or (sanitized) path.
pub fn lookup_where(drv: &Driver, key: bool, what: &str) -> SResult<RemoteNonnullStorageVol> {
    let pools = drv.lock();
    let want = if key {
        what.to_string()
    } else {
        sanitize_path(what)
    };
    for p in pools.iter().filter(|p| p.active) {
        let hit = p.vols.iter().find(|v| {
            let have = if key { &v.key } else { &v.target_path };
            have.as_deref() == Some(want.as_str())
        });
        if let Some(v) = hit {
            return Ok(vol_ref(p, v));
        }
    }
    Err(if key {
        no_vol("key", what)
    } else {
        no_vol("path", what)
    })
}

pub fn list(drv: &Driver, pool: &str) -> SResult<Vec<RemoteNonnullStorageVol>> {
    let pools = drv.lock();
    let p = active(&pools, pool)?;
    Ok(p.vols.iter().map(|v| vol_ref(p, v)).collect())
}

/// Runs `f` on the refreshed volume `r` (libvirt re-reads the file on every query).
pub fn with_vol<T>(
    drv: &Driver,
    r: &RemoteNonnullStorageVol,
    f: impl FnOnce(&Pool, &StorageVolDef) -> SResult<T>,
) -> SResult<T> {
    let mut pools = drv.lock();
    let p = active_mut(&mut pools, &r.pool)?;
    let i = index(p, &r.name)?;
    refresh_vol(&mut p.vols[i])?;
    f(p, &p.vols[i])
}

/// What the file says now: sizes, permissions, times, and the capacity its format
/// header gives (the file size when it has none or cannot be read as that format).
pub(crate) fn refresh_vol(v: &mut StorageVolDef) -> SResult<()> {
    if v.vol_type.as_deref() == Some("network") {
        // A LUN reached over the network: what the pool's refresh found is all.
        return Ok(());
    }
    let path = v.target_path.clone().unwrap_or_default();
    if v.vol_type.as_deref() == Some("block") {
        // A partition: its extent is the pool's to know; the node gives the rest.
        if let Ok(md) = std::fs::metadata(&path) {
            v.permissions = Some(probe::permissions(&md));
            v.timestamps = Some(probe::timestamps(&md));
        }
        return Ok(());
    }
    probe::update_file_info(v, Path::new(&path))?;
    if let Some(b) = &mut v.backing {
        *b = probe::backing_store(&b.path, b.format.take());
    }
    if v.vol_type.as_deref() == Some("dir") {
        return Ok(());
    }
    let size = v.physical.unwrap_or(0);
    v.capacity = match v.format.as_deref() {
        None | Some("raw") => size,
        Some(f) => probe::image_info(Path::new(&path), Some(f))
            .map(|i| i.virtual_size)
            .unwrap_or(size),
    };
    Ok(())
}

pub fn info(
    drv: &Driver,
    r: &RemoteNonnullStorageVol,
    flags: u32,
) -> SResult<RemoteStorageVolGetInfoRet> {
    check_flags(flags, GET_PHYSICAL, "storageVolGetInfoFlags")?;
    with_vol(drv, r, |_, v| {
        Ok(RemoteStorageVolGetInfoRet {
            r#type: vol_type_number(v),
            capacity: v.capacity,
            allocation: if flags & GET_PHYSICAL != 0 {
                v.physical.unwrap_or(v.allocation)
            } else {
                v.allocation
            },
        })
    })
}

/// `virStorageVolType` of a volume.
fn vol_type_number(v: &StorageVolDef) -> i8 {
    match v.vol_type.as_deref() {
        Some("block") => 1,
        Some("dir") => 2,
        Some("network") => 3,
        Some("netdir") => 4,
        Some("ploop") => 5,
        _ => 0,
    }
}

pub fn xml(drv: &Driver, r: &RemoteNonnullStorageVol, flags: u32) -> SResult<String> {
    check_flags(flags, 0, "storageVolGetXMLDesc")?;
    with_vol(drv, r, |_, v| Ok(v.to_xml()))
}

/// Volumes marked busy in their pools while a job runs without the lock; unmarked when
/// dropped.
pub(crate) struct Job<'a> {
    drv: &'a Driver,
    vols: Vec<(String, String)>,
}

impl<'a> Job<'a> {
    /// Marks `vols` (pool, volume) busy; the caller holds the lock in `pools`.
    pub(crate) fn start(
        drv: &'a Driver,
        pools: &mut [Pool],
        vols: Vec<(String, String)>,
    ) -> Job<'a> {
        for (pool, name) in &vols {
            if let Ok(p) = active_mut(pools, pool) {
                p.jobs.push(name.clone());
            }
        }
        Job { drv, vols }
    }
}

impl Drop for Job<'_> {
    fn drop(&mut self) {
        let mut pools = self.drv.lock();
        for (pool, name) in &self.vols {
            if let Ok(p) = active_mut(&mut pools, pool) {
                if let Some(i) = p.jobs.iter().position(|j| j == name) {
                    p.jobs.remove(i);
                }
            }
        }
    }
}

/// Refuses to change or remove a volume a job works on.
pub(crate) fn check_idle(p: &Pool, name: &str) -> SResult<()> {
    if p.jobs.iter().any(|j| j == name) {
        return Err(StorageError::Invalid(format!(
            "volume '{name}' is still in use."
        )));
    }
    Ok(())
}

/// STORAGE_VOL_CREATE_XML(_FROM): `clone_of` is the volume to copy. The file is made
/// without holding the driver lock (copies and preallocation take long).
pub fn create(
    drv: &Driver,
    pool: &str,
    xml: &str,
    clone_of: Option<&RemoteNonnullStorageVol>,
    flags: u32,
) -> SResult<RemoteNonnullStorageVol> {
    let func = if clone_of.is_some() {
        "storageVolCreateXMLFrom"
    } else {
        "storageVolCreateXML"
    };
    check_flags(
        flags,
        CREATE_PREALLOC_METADATA | CREATE_REFLINK | CREATE_VALIDATE,
        func,
    )?;
    let mut pools = drv.lock();
    let backend = crate::backend::of(&active(&pools, pool)?.def)?;
    if !backend.file_volumes() {
        return create_on_backend(backend, &mut pools, pool, xml, clone_of, flags);
    }
    let (mut v, source) = prepare(&pools, pool, xml, clone_of, flags)?;
    let mut busy = vec![(pool.to_string(), v.name.clone())];
    if let Some(c) = clone_of {
        busy.push((c.pool.clone(), c.name.clone()));
    }
    let job = Job::start(drv, &mut pools, busy);
    drop(pools);
    let built = match &source {
        Some(src) => clone_file(&mut v, src, flags),
        None => build_file(&v, flags),
    };
    let path = v.target_path.clone().unwrap_or_default();
    if let Err(e) = built
        .and_then(|()| apply_permissions(&v))
        .and_then(|()| probe::update_file_info(&mut v, Path::new(&path)))
    {
        let _ = remove_path(&v);
        return Err(e);
    }
    let mut pools = drv.lock();
    let p = active_mut(&mut pools, pool)?;
    // The file system's figures, as libvirt reports them right after a new volume.
    let requested = v.allocation;
    if crate::dir::update_sizes(p).is_err() {
        p.def.allocation = p.def.allocation.saturating_add(requested);
        p.def.available = p.def.available.saturating_sub(requested);
    }
    let r = vol_ref(p, &v);
    let at = p.vols.partition_point(|x| x.name < v.name);
    p.vols.insert(at, v);
    // The volume is listed before its name is free again.
    drop(pools);
    drop(job);
    Ok(r)
}

/// A new volume of a pool whose volumes are not files (a partition, a logical
/// volume, ...), made by its backend; for a clone with the source's bytes.
fn create_on_backend(
    backend: &dyn crate::backend::Backend,
    pools: &mut [Pool],
    pool: &str,
    xml: &str,
    clone_of: Option<&RemoteNonnullStorageVol>,
    flags: u32,
) -> SResult<RemoteNonnullStorageVol> {
    let source = match clone_of {
        Some(c) => {
            let sp = active(pools, &c.pool)?;
            Some(
                sp.vols[index(sp, &c.name)?]
                    .target_path
                    .clone()
                    .unwrap_or_default(),
            )
        }
        None => None,
    };
    let p = active_mut(pools, pool)?;
    let opts = ParseOptions::validate(flags & CREATE_VALIDATE != 0);
    let v = StorageVolDef::parse_with(xml, &p.def.pool_type, opts)?;
    if p.vols.iter().any(|x| x.name == v.name) {
        return Err(StorageError::VolExists(v.name));
    }
    check_no_jobs(p)?;
    backend.create_vol(p, &v, flags).map_err(|e| match e {
        StorageError::NoSupport(m) if source.is_some() && m == crate::backend::NO_CREATE => {
            StorageError::NoSupport(format!("{m} from an existing volume"))
        }
        e => e,
    })?;
    let new = p.vols[index(p, &v.name)?].clone();
    if let Some(src) = source {
        copy_into_volume(&src, &new)?;
    }
    Ok(vol_ref(p, &new))
}

/// A clone's bytes: the source volume's, as far as the new volume holds them.
fn copy_into_volume(src: &str, to: &StorageVolDef) -> SResult<()> {
    let dst = to.target_path.as_deref().unwrap_or_default();
    let input = File::open(src)
        .map_err(|e| StorageError::io(format!("could not open input path '{src}'"), &e))?;
    let mut output = OpenOptions::new()
        .write(true)
        .open(dst)
        .map_err(|e| StorageError::io(format!("could not open '{dst}'"), &e))?;
    std::io::copy(&mut input.take(to.capacity), &mut output)
        .map_err(|e| StorageError::io(format!("failed writing '{dst}'"), &e))?;
    output
        .sync_all()
        .map_err(|e| StorageError::io(format!("cannot sync data to file '{dst}'"), &e))
}

/// Refuses a volume name that would reach outside the pool (it becomes a path).
pub(crate) fn check_path_free_name(name: &str) -> SResult<()> {
    if name.contains('/') {
        return Err(StorageError::InvalidArg(format!(
            "volume name '{name}' cannot contain '/'"
        )));
    }
    Ok(())
}

fn prepare(
    pools: &[Pool],
    pool: &str,
    xml: &str,
    clone_of: Option<&RemoteNonnullStorageVol>,
    flags: u32,
) -> SResult<(StorageVolDef, Option<StorageVolDef>)> {
    let p = active(pools, pool)?;
    let opts = ParseOptions::validate(flags & CREATE_VALIDATE != 0);
    let mut v = StorageVolDef::parse_with(xml, &p.def.pool_type, opts)?;
    check_path_free_name(&v.name)?;
    if p.vols.iter().any(|x| x.name == v.name) || p.jobs.contains(&v.name) {
        return Err(StorageError::VolExists(v.name));
    }
    let source = match clone_of {
        Some(c) => {
            let sp = active(pools, &c.pool)?;
            Some(sp.vols[index(sp, &c.name)?].clone())
        }
        None => None,
    };
    let path = format!("{}/{}", target(&p.def)?, v.name);
    // A file the pool has not listed yet is never overwritten (nor removed on failure).
    if std::fs::symlink_metadata(&path).is_ok() {
        return Err(StorageError::System(format!(
            "cannot create path '{path}': File exists"
        )));
    }
    v.key = Some(path.clone());
    v.target_path = Some(path);
    Ok((v, source))
}

/// Makes a new volume's file (or directory).
fn build_file(v: &StorageVolDef, flags: u32) -> SResult<()> {
    let path = v.target_path.as_deref().unwrap_or_default();
    match v.format.as_deref() {
        Some("dir") => std::fs::create_dir(path)
            .map_err(|e| StorageError::io(format!("cannot create path '{path}'"), &e)),
        None | Some("raw") => {
            if flags & CREATE_PREALLOC_METADATA != 0 {
                return Err(StorageError::NotSupported(
                    "metadata preallocation is not supported for raw volumes".into(),
                ));
            }
            let f = create_new(path, v)?;
            extend(&f, path, v.capacity)?;
            allocate(&f, path, v.allocation.min(v.capacity))
        }
        Some(fmt) => run_qemu_img(&qemu_img_create_args(v, fmt, flags)).map(|_| ()),
    }
}

fn create_new(path: &str, v: &StorageVolDef) -> SResult<File> {
    let mode = v
        .permissions
        .as_ref()
        .and_then(|p| p.mode)
        .unwrap_or(DEFAULT_VOL_MODE);
    OpenOptions::new()
        .write(true)
        .read(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| StorageError::io(format!("cannot create path '{path}'"), &e))
}

fn extend(f: &File, path: &str, size: u64) -> SResult<()> {
    f.set_len(size)
        .map_err(|e| StorageError::io(format!("cannot extend file '{path}'"), &e))
}

/// Allocates the first `len` bytes of the file with `posix_fallocate`, as libvirt does:
/// where the file system cannot (NFSv3, ...) the C library writes the unallocated
/// blocks instead, leaving data in place.
pub(crate) fn allocate(f: &File, path: &str, len: u64) -> SResult<()> {
    if len == 0 {
        return Ok(());
    }
    use std::os::fd::AsRawFd;
    nix::fcntl::posix_fallocate(f.as_raw_fd(), 0, len as i64).map_err(|e| {
        StorageError::errno(format!("cannot allocate {len} bytes in file '{path}'"), e)
    })
}

/// `qemu-img create` arguments for volume `v` in format `fmt`; sizes go in KiB, rounded
/// up, as libvirt passes them.
fn qemu_img_create_args(v: &StorageVolDef, fmt: &str, flags: u32) -> Vec<String> {
    let mut args = vec!["create".to_string(), "-f".into(), fmt.into()];
    if let Some(b) = &v.backing {
        args.extend(["-b".into(), b.path.clone()]);
        args.extend([
            "-F".into(),
            b.format.clone().unwrap_or_else(|| "raw".into()),
        ]);
    }
    let opts = format_options(v, fmt, flags);
    if !opts.is_empty() {
        args.extend(["-o".into(), opts.join(",")]);
    }
    args.push(v.target_path.clone().unwrap_or_default());
    args.push(format!("{}K", v.capacity.div_ceil(1024)));
    args
}

/// `-o` options: qcow2 compatibility level, cluster size, lazy refcounts, preallocation.
fn format_options(v: &StorageVolDef, fmt: &str, flags: u32) -> Vec<String> {
    let mut opts = Vec::new();
    if fmt == "qcow2" {
        // libvirt's default is the oldest level; asking for features implies 1.1.
        opts.push(format!("compat={}", v.compat.as_deref().unwrap_or("0.10")));
        if let Some(c) = v.cluster_size {
            opts.push(format!("cluster_size={c}"));
        }
        for f in v.features.iter().flatten() {
            opts.push(format!("{f}=on"));
        }
    }
    if flags & CREATE_PREALLOC_METADATA != 0 {
        let mode = if v.allocation >= v.capacity {
            "falloc"
        } else {
            "metadata"
        };
        opts.push(format!("preallocation={mode}"));
    }
    opts
}

/// Copies `src` into new volume `v`: raw to raw directly (holes stay holes), anything
/// else through `qemu-img convert`. The copy is at least as large as its source.
fn clone_file(v: &mut StorageVolDef, src: &StorageVolDef, flags: u32) -> SResult<()> {
    v.capacity = v.capacity.max(src.capacity);
    let from = src.target_path.clone().unwrap_or_default();
    let to = v.target_path.clone().unwrap_or_default();
    let raw = |f: &Option<String>| matches!(f.as_deref(), None | Some("raw"));
    if raw(&v.format) && raw(&src.format) {
        let f = create_new(&to, v)?;
        if flags & CREATE_REFLINK != 0 {
            reflink(&from, &to)?;
        } else {
            allocate(&f, &to, v.allocation.min(v.capacity))?;
            copy_sparse(&from, &f, &to)?;
        }
        return extend(&f, &to, v.capacity);
    }
    let dst_fmt = v.format.clone().unwrap_or_else(|| "raw".into());
    let mut args = vec![
        "convert".to_string(),
        "-f".into(),
        src.format.clone().unwrap_or_else(|| "raw".into()),
        "-O".into(),
        dst_fmt.clone(),
    ];
    let opts = format_options(v, &dst_fmt, flags);
    if !opts.is_empty() {
        args.extend(["-o".into(), opts.join(",")]);
    }
    args.extend([from, to.clone()]);
    run_qemu_img(&args)?;
    if v.capacity > src.capacity {
        run_qemu_img(&["resize", "-f", &dst_fmt, &to, &v.capacity.to_string()])?;
    }
    Ok(())
}

/// Makes `to` share `from`'s blocks (`FICLONE`, through `cp --reflink=always`); file
/// systems without reflinks refuse.
fn reflink(from: &str, to: &str) -> SResult<()> {
    let out = std::process::Command::new("cp")
        .args(["--reflink=always", from, to])
        .output()
        .map_err(|e| StorageError::io("Cannot run cp", &e))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let reason = err
        .trim_end()
        .rsplit(": ")
        .next()
        .unwrap_or_default()
        .to_string();
    Err(StorageError::System(format!(
        "failed to clone files from '{from}': {reason}"
    )))
}

/// Copies the file `from` into `to`, seeking over all-zero blocks.
fn copy_sparse(from: &str, mut to: &File, to_path: &str) -> SResult<()> {
    let mut src = File::open(from)
        .map_err(|e| StorageError::io(format!("could not open input path '{from}'"), &e))?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = src
            .read(&mut buf)
            .map_err(|e| StorageError::io(format!("failed reading from file '{from}'"), &e))?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        let res = if chunk.iter().all(|b| *b == 0) {
            to.seek(SeekFrom::Current(n as i64)).map(|_| ())
        } else {
            to.write_all(chunk)
        };
        res.map_err(|e| StorageError::io(format!("failed writing to file '{to_path}'"), &e))?;
    }
    let end = to
        .stream_position()
        .map_err(|e| StorageError::io(format!("failed writing to file '{to_path}'"), &e))?;
    if to.metadata().map(|m| m.len()).unwrap_or(0) < end {
        extend(to, to_path, end)?;
    }
    to.sync_all()
        .map_err(|e| StorageError::io(format!("cannot sync file '{to_path}'"), &e))
}

/// Mode and owner from the definition (the mode a new file got at creation is set
/// again, since `qemu-img` and the umask decide otherwise).
fn apply_permissions(v: &StorageVolDef) -> SResult<()> {
    let path = v.target_path.as_deref().unwrap_or_default();
    let perms = v.permissions.clone().unwrap_or_default();
    let dir = v.format.as_deref() == Some("dir");
    let mode = perms
        .mode
        .unwrap_or(if dir { 0o755 } else { DEFAULT_VOL_MODE });
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| StorageError::io(format!("cannot set mode of '{path}' to {mode:04o}"), &e))?;
    if perms.owner.is_some() || perms.group.is_some() {
        chown(path, perms.owner, perms.group)?;
    }
    Ok(())
}

fn remove_path(v: &StorageVolDef) -> std::io::Result<()> {
    let path = v.target_path.as_deref().unwrap_or_default();
    if v.format.as_deref() == Some("dir") {
        std::fs::remove_dir(path)
    } else {
        std::fs::remove_file(path)
    }
}

pub fn delete(drv: &Driver, r: &RemoteNonnullStorageVol, flags: u32) -> SResult<()> {
    let mut pools = drv.lock();
    let p = active_mut(&mut pools, &r.pool)?;
    let i = index(p, &r.name)?;
    check_idle(p, &r.name)?;
    let backend = crate::backend::of(&p.def)?;
    if !backend.file_volumes() {
        return backend.delete_vol(p, &r.name, flags);
    }
    check_flags(flags, 0, "virStorageBackendVolDeleteLocal")?;
    let v = &p.vols[i];
    if let Err(e) = remove_path(v) {
        if e.kind() != std::io::ErrorKind::NotFound {
            let path = v.target_path.as_deref().unwrap_or_default();
            return Err(StorageError::io(format!("cannot unlink file '{path}'"), &e));
        }
    }
    let v = p.vols.remove(i);
    if crate::dir::update_sizes(p).is_err() {
        p.def.allocation = p.def.allocation.saturating_sub(v.allocation);
        p.def.available = p.def.available.saturating_add(v.allocation);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Dirs;
    use rvirt_plugin_api::protocol::RemoteError;

    fn driver(tag: &str) -> (Driver, std::path::PathBuf) {
        let base =
            std::env::temp_dir().join(format!("rvirt-storage-vol-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let dirs = Dirs::new(base.join("state").to_str().unwrap());
        dirs.create().unwrap();
        let drv = Driver::new(dirs, true);
        let xml = format!(
            "<pool type='dir'><name>p</name><target><path>{}</path></target></pool>",
            base.join("pool").display()
        );
        crate::pool::define(&drv, &xml, 0).unwrap();
        crate::pool::build(&drv, "p", 0).unwrap();
        crate::pool::start(&drv, "p", 0).unwrap();
        (drv, base)
    }

    const RAW: &str =
        "<volume><name>v</name><capacity>4096</capacity><allocation>0</allocation></volume>";

    /// While a job works on a volume without the lock, the volume cannot go and the pool
    /// cannot stop or re-read its directory; afterwards all of that works.
    #[test]
    fn busy_volumes_and_pools_refuse_changes() {
        let (drv, base) = driver("jobs");
        let v = create(&drv, "p", RAW, None, 0).unwrap();
        let job = Job::start(&drv, &mut drv.lock(), vec![("p".into(), "v".into())]);
        let text = |e: StorageError| RemoteError::from(e).text().to_string();
        assert_eq!(
            text(delete(&drv, &v, 0).unwrap_err()),
            "Requested operation is not valid: volume 'v' is still in use."
        );
        assert!(
            text(crate::change::resize(&drv, &v, 8192, 0).unwrap_err()).contains("still in use")
        );
        assert_eq!(
            text(crate::pool::destroy(&drv, "p").unwrap_err()),
            "Requested operation is not valid: pool 'p' has asynchronous jobs running."
        );
        assert!(text(crate::pool::refresh(&drv, "p", 0).unwrap_err()).contains("jobs running"));
        drop(job);
        crate::change::resize(&drv, &v, 8192, 0).unwrap();
        assert_eq!(std::fs::metadata(base.join("pool/v")).unwrap().len(), 8192);
        delete(&drv, &v, 0).unwrap();
        crate::pool::destroy(&drv, "p").unwrap();
        let _ = std::fs::remove_dir_all(&base);
    }

    /// A file the pool has not listed is neither overwritten nor removed.
    #[test]
    fn unlisted_files_are_left_alone() {
        let (drv, base) = driver("unlisted");
        std::fs::write(base.join("pool/v"), "mine").unwrap();
        let e = RemoteError::from(create(&drv, "p", RAW, None, 0).unwrap_err());
        assert_eq!(
            e.text(),
            format!(
                "cannot create path '{}': File exists",
                base.join("pool/v").display()
            )
        );
        assert_eq!(
            std::fs::read_to_string(base.join("pool/v")).unwrap(),
            "mine"
        );
        crate::pool::destroy(&drv, "p").unwrap();
        let _ = std::fs::remove_dir_all(&base);
    }
}
