//! `save` and `restore` as libvirt does them: the guest's CPUs stop, QEMU migrates its
//! state into a file behind libvirt's image header ([`image`]) and exits; a restore
//! starts QEMU with `-incoming defer`, feeds it the stream from the file and resumes
//! the CPUs when the image says the guest was running (or `--running`/`--paused` say
//! otherwise). Managed save ([`managed`]) is the same with a file the driver owns.

pub mod image;
pub mod managed;

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rvirt_plugin_api::protocol::{RemoteError, RemoteNonnullDomain};
use rvirt_xml::domain::DomainDef;
use serde_json::{json, Value};

use crate::driver::{reason, st, Driver};
use crate::error::{check_flags, QResult, QemuError};
use crate::events::{ev, Event};
use crate::lifecycle::{self, monitor_error, Boot};
use crate::qmp::{Qmp, QmpError};
use image::{Image, ImageError};

/// `virDomainSaveRestoreFlags`.
pub const BYPASS_CACHE: u32 = rvirt_plugin_api::protocol::facts::domain_save::BYPASS_CACHE;
pub const RUNNING: u32 = rvirt_plugin_api::protocol::facts::domain_save::RUNNING;
pub const PAUSED: u32 = rvirt_plugin_api::protocol::facts::domain_save::PAUSED;
/// `VIR_DOMAIN_SAVE_IMAGE_XML_SECURE`.
const XML_SECURE: u32 = rvirt_plugin_api::protocol::facts::domain_xml::SECURE;

/// How long QEMU may take to write or read its state.
const MIGRATION_TIMEOUT: Duration = Duration::from_secs(600);

/// Failures of a save or restore.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("{0}")]
    Monitor(QmpError),
    #[error("migration {0}")]
    Migration(String),
}

impl From<SaveError> for RemoteError {
    fn from(e: SaveError) -> RemoteError {
        match e {
            SaveError::Image(ImageError::Io { what, path, source }) => {
                let what = match what {
                    "open" => "Failed to open file",
                    "create" => "Failed to create file",
                    _ => "Failed to write file",
                };
                QemuError::io(format!("{what} '{path}'"), &source).into()
            }
            SaveError::Image(other) => QemuError::Failed(other.to_string()).into(),
            SaveError::Monitor(e) => monitor_error(e),
            SaveError::Migration(m) => QemuError::Failed(m).into(),
        }
    }
}

/// Refuses flags outside `allowed` and `--running` with `--paused`.
fn check_save_flags(flags: u32, allowed: u32, func: &'static str) -> QResult<()> {
    check_flags(flags, allowed, func)?;
    if flags & RUNNING != 0 && flags & PAUSED != 0 {
        return Err(QemuError::InvalidArg(
            "Flags 'VIR_DOMAIN_SAVE_RUNNING' and 'VIR_DOMAIN_SAVE_PAUSED' are mutually exclusive"
                .into(),
        )
        .into());
    }
    Ok(())
}

/// A definition given to replace an image's: parsed, and the same domain
/// (libvirt checks full ABI stability; here name and UUID).
fn replacement(drv: &Driver, old: &DomainDef, xml: &str) -> QResult<DomainDef> {
    let mut def = crate::domain::parse(xml)?;
    crate::domain::post_parse(drv, &mut def);
    if def.name != old.name {
        return Err(QemuError::Unsupported(format!(
            "Target domain name '{}' does not match source '{}'",
            def.name, old.name
        ))
        .into());
    }
    if def.uuid != old.uuid {
        return Err(QemuError::Unsupported(format!(
            "Target domain uuid {} does not match source {}",
            def.uuid, old.uuid
        ))
        .into());
    }
    Ok(def)
}

/// `virDomainSaveFlags`: the running domain `dom` into the image at `path`.
pub fn save(
    drv: &Arc<Driver>,
    dom: &RemoteNonnullDomain,
    path: &Path,
    dxml: Option<&str>,
    flags: u32,
) -> QResult<()> {
    check_save_flags(
        flags,
        BYPASS_CACHE | RUNNING | PAUSED,
        "qemuDomainSaveFlags",
    )?;
    save_to(drv, dom, path, dxml, flags).map(|_| ())
}

/// Saves the running domain `dom` into `path`; answers its name. One save at a time.
pub(crate) fn save_to(
    drv: &Arc<Driver>,
    dom: &RemoteNonnullDomain,
    path: &Path,
    dxml: Option<&str>,
    flags: u32,
) -> QResult<String> {
    let (qmp, live, state) = drv.write(|s, _| {
        let d = s.find_mut(dom)?;
        let run = d.run.as_mut().ok_or(QemuError::NotRunning)?;
        if run.stopping.is_some() {
            return Err(QemuError::Invalid("domain is not running".into()).into());
        }
        if run.saving {
            return Err(QemuError::Invalid("domain is being saved".into()).into());
        }
        run.saving = true;
        Ok((run.qmp.clone(), run.live.clone(), run.state))
    })?;
    let r = save_run(drv, dom, (&qmp, live, state), path, dxml, flags);
    if r.is_err() {
        let _ = drv.write(|s, _| {
            if let Some(run) = s.find_mut(dom)?.run.as_mut() {
                run.saving = false;
            }
            Ok(())
        });
    }
    r
}

/// The rest of [`save_to`], once the run is marked as being saved.
fn save_run(
    drv: &Arc<Driver>,
    dom: &RemoteNonnullDomain,
    (qmp, live, state): (&Qmp, DomainDef, i32),
    path: &Path,
    dxml: Option<&str>,
    flags: u32,
) -> QResult<String> {
    let def = match dxml {
        Some(x) => replacement(drv, &live, x)?,
        None => live,
    };
    let was_running = state == st::RUNNING;
    if was_running {
        // QEMU's STOP event reports the pause (SUSPENDED/paused) as libvirt does.
        qmp.execute("stop", None).map_err(monitor_error)?;
        set_reason(drv, dom, st::PAUSED, reason::PAUSED_SAVE);
    }
    let running = if flags & (RUNNING | PAUSED) != 0 {
        flags & RUNNING != 0
    } else {
        was_running
    };
    let mut img = Image::new(def.to_xml(None), running);
    if let Err(e) = write_image(qmp, &mut img, path, flags & BYPASS_CACHE != 0) {
        let _ = std::fs::remove_file(path);
        if was_running && qmp.execute("cont", None).is_ok() {
            set_reason(drv, dom, st::RUNNING, reason::RUNNING_SAVE_CANCELED);
        }
        return Err(e.into());
    }
    // The monitor closes first (no SHUTDOWN event, as libvirt): shut off, reason saved.
    crate::lifecycle::stop_closed(drv, dom, reason::SHUTOFF_SAVED)?;
    Ok(def.name)
}

/// Records a state the driver caused (QEMU's events set the state, not the reason).
fn set_reason(drv: &Driver, dom: &RemoteNonnullDomain, state: i32, why: i32) {
    let _ = drv.write(|s, _| {
        let d = s.find_mut(dom)?;
        if let Some(run) = d.run.as_mut() {
            run.state = state;
            run.reason = why;
        }
        drv.save_status(d);
        Ok(())
    });
}

/// Header, data, QEMU's stream, then the complete magic.
fn write_image(qmp: &Qmp, img: &mut Image, path: &Path, bypass: bool) -> Result<(), SaveError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(ImageError::io("create", path))?;
    let head = img.encode()?;
    f.write_all(&head).map_err(ImageError::io("write", path))?;
    migrate_to(qmp, &f)?;
    img.finish(&mut f, path)?;
    if bypass {
        drop_cache(&f);
    }
    Ok(())
}

/// `--bypass-cache`: the image's pages leave the page cache once written or read
/// (libvirt streams through O_DIRECT; the effect on the cache is the same).
fn drop_cache(f: &File) {
    let _ = f.sync_data();
    let _ = nix::fcntl::posix_fadvise(
        f.as_raw_fd(),
        0,
        0,
        nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
    );
}

/// Migrates the (stopped) guest into `f` at its current offset and waits for the end.
fn migrate_to(qmp: &Qmp, f: &File) -> Result<(), SaveError> {
    // As libvirt for a save: no bandwidth limit (QEMU's default is 32 MiB/s).
    qmp.execute(
        "migrate-set-parameters",
        Some(json!({ "max-bandwidth": (i64::MAX as u64 >> 20) << 20 })),
    )
    .map_err(SaveError::Monitor)?;
    qmp.execute_with_fd("getfd", json!({ "fdname": "migrate" }), f.as_raw_fd())
        .map_err(SaveError::Monitor)?;
    if let Err(e) = qmp.execute("migrate", Some(json!({ "uri": "fd:migrate" }))) {
        // The migration never took the descriptor: QEMU would keep it open.
        let _ = qmp.execute("closefd", Some(json!({ "fdname": "migrate" })));
        return Err(SaveError::Monitor(e));
    }
    wait_migration(qmp, "out").inspect_err(|_| cancel_migration(qmp))
}

/// Stops a migration that failed or took too long, and waits (briefly) until QEMU has
/// let go of the image, so that removing the file leaves nothing writing into it.
fn cancel_migration(qmp: &Qmp) {
    let _ = qmp.execute("migrate_cancel", None);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let status = qmp.execute("query-migrate", None).ok().and_then(|info| {
            info.get("status")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        match status.as_deref() {
            Some("active" | "cancelling" | "setup" | "device" | "pre-switchover") => {
                std::thread::sleep(Duration::from_millis(20))
            }
            _ => return,
        }
    }
}

/// Feeds QEMU (started with `-incoming defer`) the stream on its descriptor `fd`
/// and waits until it has loaded it.
pub fn incoming(qmp: &Qmp, fd: std::os::fd::RawFd) -> Result<(), SaveError> {
    qmp.execute(
        "migrate-incoming",
        Some(json!({ "uri": format!("fd:{fd}") })),
    )
    .map_err(SaveError::Monitor)?;
    wait_migration(qmp, "in")
}

/// Polls `query-migrate` until the migration completed, failed or took too long.
fn wait_migration(qmp: &Qmp, dir: &str) -> Result<(), SaveError> {
    let deadline = Instant::now() + MIGRATION_TIMEOUT;
    let mut pause = Duration::from_millis(5);
    loop {
        let info = qmp
            .execute("query-migrate", None)
            .map_err(SaveError::Monitor)?;
        match info.get("status").and_then(Value::as_str).unwrap_or("") {
            "completed" => return Ok(()),
            "failed" | "cancelled" => {
                let why = info
                    .get("error-desc")
                    .and_then(Value::as_str)
                    .unwrap_or("unexpectedly failed");
                return Err(SaveError::Migration(format!(
                    "job 'migration {dir}' failed: {why}"
                )));
            }
            _ if Instant::now() >= deadline => {
                return Err(SaveError::Migration(format!(
                    "job 'migration {dir}' timed out"
                )))
            }
            _ => {}
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// `virDomainRestoreFlags`: a domain from the image at `path`.
pub fn restore(drv: &Arc<Driver>, path: &Path, dxml: Option<&str>, flags: u32) -> QResult<()> {
    check_save_flags(
        flags,
        BYPASS_CACHE | RUNNING | PAUSED,
        "qemuDomainRestoreFlags",
    )?;
    let (img, file) = Image::open(path, false).map_err(SaveError::from)?;
    let def = image_def(drv, &img)?;
    let def = match dxml {
        Some(x) => replacement(drv, &def, x)?,
        None => def,
    };
    let uuid = def.uuid.0;
    drv.write(|s, _| match crate::domain::slot_for(s, &def)? {
        Some(i) if s.doms[i].is_active() || s.doms[i].starting => {
            Err(QemuError::Invalid(format!("domain '{}' is already active", def.name)).into())
        }
        Some(_) => Ok(()),
        None => {
            s.doms.push(crate::driver::Dom::new(def.clone(), false));
            Ok(())
        }
    })?;
    let after = After::of(flags, img.header.was_running);
    restore_into(drv, uuid, def, file, after, flags).map(|_| ())
}

/// The definition in an image, as the driver reads every definition.
fn image_def(drv: &Driver, img: &Image) -> QResult<DomainDef> {
    if img.header.compressed != image::FORMAT_RAW {
        return Err(SaveError::Image(ImageError::Compressed(img.header.compressed)).into());
    }
    let mut def = crate::domain::parse(&img.xml)?;
    crate::domain::post_parse(drv, &mut def);
    // libvirt's live definitions name its default cgroup partition, which is where this
    // driver's guests go too (machine.slice): an image libvirt saved restores here.
    if def.extras().resource_partition.as_deref() == Some(LIBVIRT_PARTITION)
        && def.extras().resource_appid.is_none()
    {
        def.extras_mut().resource_partition = None;
    }
    Ok(def)
}

/// libvirt's default resource partition.
const LIBVIRT_PARTITION: &str = "/machine";

/// What a restored guest does once its state is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum After {
    Run,
    /// Stays paused, reported with this SUSPENDED detail (restored; paused for a
    /// managed-save start with `--paused`).
    Pause(i32),
}

impl After {
    fn of(flags: u32, was_running: bool) -> After {
        if flags & RUNNING != 0 || (was_running && flags & PAUSED == 0) {
            After::Run
        } else {
            After::Pause(ev::SUSPENDED_RESTORED)
        }
    }
}

/// Starts domain `uuid` running `def` from the stream in `file`, then resumes its CPUs
/// or not (`after`); events as libvirt: STARTED/restored, then RESUMED or SUSPENDED.
pub(crate) fn restore_into(
    drv: &Arc<Driver>,
    uuid: [u8; 16],
    def: DomainDef,
    file: File,
    after: After,
    flags: u32,
) -> QResult<RemoteNonnullDomain> {
    let dom = lifecycle::start_from(drv, uuid, Boot::Incoming(file.as_raw_fd()), Some(def))?;
    if flags & BYPASS_CACHE != 0 {
        drop_cache(&file);
    }
    drop(file);
    match after {
        After::Run => resume_restored(drv, &dom)?,
        After::Pause(detail) => drv.write(|s, events| {
            let d = s.find_mut(&dom)?;
            events.push(Event::Lifecycle(d.reference(), ev::SUSPENDED, detail));
            Ok(())
        })?,
    }
    Ok(dom)
}

/// Starts the CPUs of a restored guest; its state becomes running (restored) first, so
/// QEMU's RESUME event adds nothing, and the event says "from snapshot" as libvirt's.
fn resume_restored(drv: &Driver, dom: &RemoteNonnullDomain) -> QResult<()> {
    let qmp = lifecycle::qmp_of(drv, dom)?;
    set_reason(drv, dom, st::RUNNING, reason::RUNNING_RESTORED);
    if let Err(e) = qmp.execute("cont", None) {
        set_reason(drv, dom, st::PAUSED, reason::PAUSED_MIGRATION);
        return Err(monitor_error(e));
    }
    drv.write(|s, events| {
        let d = s.find_mut(dom)?;
        events.push(Event::Lifecycle(
            d.reference(),
            ev::RESUMED,
            ev::RESUMED_FROM_SNAPSHOT,
        ));
        Ok(())
    })
}

/// `virDomainSaveImageGetXMLDesc`.
pub fn image_xml(drv: &Driver, path: &Path, flags: u32) -> QResult<String> {
    check_flags(flags, XML_SECURE, "qemuDomainSaveImageGetXMLDesc")?;
    let (img, _) = Image::open(path, false).map_err(SaveError::from)?;
    Ok(image_def(drv, &img)?.to_xml(None))
}

/// `virDomainSaveImageDefineXML`: replaces the definition in an image (the same domain),
/// and with `--running`/`--paused` the state it restores to.
pub fn define_image_xml(drv: &Driver, path: &Path, dxml: Option<&str>, flags: u32) -> QResult<()> {
    check_save_flags(flags, RUNNING | PAUSED, "qemuDomainSaveImageDefineXML")?;
    let (mut img, mut file) = Image::open(path, true).map_err(SaveError::from)?;
    let old = image_def(drv, &img)?;
    if let Some(x) = dxml {
        img.xml = replacement(drv, &old, x)?.to_xml(None);
    }
    if flags & (RUNNING | PAUSED) != 0 {
        img.header.was_running = flags & RUNNING != 0;
    }
    img.rewrite(&mut file, path)
        .map_err(|e| SaveError::from(e).into())
}
