//! libiscsi (`libiscsi.so.7`, Debian's libiscsi7), loaded at run time so that the
//! storage module loads on hosts without it: the `iscsi-direct` backend is then
//! unavailable (as libvirt's is without its backend module) and says why.
//!
//! Only the synchronous calls libvirt's backend makes are bound. The SCSI replies are
//! read from the task's data-in buffer here (REPORT LUNS, INQUIRY, READ CAPACITY(16)
//! as SPC/SBC lay them out, the way libiscsi's own unmarshalling reads them), so that
//! of libiscsi's structures only the head of `struct scsi_task` and the discovery list
//! are mirrored; their layout is checked against libiscsi 1.19's headers in the tests.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr::NonNull;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The library's name as the dynamic loader finds it.
pub const LIBRARY: &str = "libiscsi.so.7";

/// `struct scsi_sense` (libiscsi's `scsi-lowlevel.h`; its three one-bit fields share
/// the byte `bits`).
#[repr(C)]
struct Sense {
    error_type: u8,
    key: c_int,
    ascq: c_int,
    bits: u8,
    bit_pointer: u8,
    field_pointer: u16,
}

/// `struct scsi_data`.
#[repr(C)]
struct Data {
    size: c_int,
    data: *mut u8,
}

/// The head of `struct scsi_task`, up to its data-in buffer (the rest is libiscsi's).
#[repr(C)]
struct RawTask {
    status: c_int,
    cdb_size: c_int,
    xfer_dir: c_int,
    expxferlen: c_int,
    cdb: [u8; 16],
    residual_status: c_int,
    residual: usize,
    sense: Sense,
    datain: Data,
}

/// `struct iscsi_discovery_address`, up to the target name.
#[repr(C)]
struct DiscoveryAddress {
    next: *mut DiscoveryAddress,
    target_name: *const c_char,
}

type Ctx = c_void;
type TaskFn1 = unsafe extern "C" fn(*mut Ctx, c_int) -> *mut RawTask;
type Write16 = unsafe extern "C" fn(
    *mut Ctx,
    c_int,
    u64,
    *mut u8,
    u32,
    c_int,
    c_int,
    c_int,
    c_int,
    c_int,
    c_int,
) -> *mut RawTask;

/// The bound functions of a loaded libiscsi (kept loaded for the process's life).
struct Api {
    create_context: unsafe extern "C" fn(*const c_char) -> *mut Ctx,
    destroy_context: unsafe extern "C" fn(*mut Ctx) -> c_int,
    get_error: unsafe extern "C" fn(*mut Ctx) -> *const c_char,
    init_transport: unsafe extern "C" fn(*mut Ctx, c_int) -> c_int,
    set_targetname: unsafe extern "C" fn(*mut Ctx, *const c_char) -> c_int,
    set_session_type: unsafe extern "C" fn(*mut Ctx, c_int) -> c_int,
    connect_sync: unsafe extern "C" fn(*mut Ctx, *const c_char) -> c_int,
    login_sync: unsafe extern "C" fn(*mut Ctx) -> c_int,
    logout_sync: unsafe extern "C" fn(*mut Ctx) -> c_int,
    disconnect: unsafe extern "C" fn(*mut Ctx) -> c_int,
    reportluns_sync: unsafe extern "C" fn(*mut Ctx, c_int, c_int) -> *mut RawTask,
    testunitready_sync: TaskFn1,
    inquiry_sync: unsafe extern "C" fn(*mut Ctx, c_int, c_int, c_int, c_int) -> *mut RawTask,
    readcapacity16_sync: TaskFn1,
    write16_sync: Write16,
    free_scsi_task: unsafe extern "C" fn(*mut RawTask),
    discovery_sync: unsafe extern "C" fn(*mut Ctx) -> *mut DiscoveryAddress,
    free_discovery_data: unsafe extern "C" fn(*mut Ctx, *mut DiscoveryAddress),
    _lib: libloading::Library,
}

fn load(name: &str) -> Result<Api, String> {
    // SAFETY: loading libiscsi runs only its ELF initialisers, which set up nothing
    // outside the library; it stays loaded (in the static below) while its functions
    // are in use.
    let lib = unsafe { libloading::Library::new(name) }.map_err(|e| e.to_string())?;
    macro_rules! sym {
        ($name:literal) => {
            // SAFETY: the field's type is the C prototype of this symbol in libiscsi
            // 1.19's iscsi.h / scsi-lowlevel.h, and the pointer is used only while
            // `lib` lives (it is kept with the pointers).
            *unsafe { lib.get($name) }.map_err(|e| e.to_string())?
        };
    }
    Ok(Api {
        create_context: sym!(b"iscsi_create_context\0"),
        destroy_context: sym!(b"iscsi_destroy_context\0"),
        get_error: sym!(b"iscsi_get_error\0"),
        init_transport: sym!(b"iscsi_init_transport\0"),
        set_targetname: sym!(b"iscsi_set_targetname\0"),
        set_session_type: sym!(b"iscsi_set_session_type\0"),
        connect_sync: sym!(b"iscsi_connect_sync\0"),
        login_sync: sym!(b"iscsi_login_sync\0"),
        logout_sync: sym!(b"iscsi_logout_sync\0"),
        disconnect: sym!(b"iscsi_disconnect\0"),
        reportluns_sync: sym!(b"iscsi_reportluns_sync\0"),
        testunitready_sync: sym!(b"iscsi_testunitready_sync\0"),
        inquiry_sync: sym!(b"iscsi_inquiry_sync\0"),
        readcapacity16_sync: sym!(b"iscsi_readcapacity16_sync\0"),
        write16_sync: sym!(b"iscsi_write16_sync\0"),
        free_scsi_task: sym!(b"scsi_free_scsi_task\0"),
        discovery_sync: sym!(b"iscsi_discovery_sync\0"),
        free_discovery_data: sym!(b"iscsi_free_discovery_data\0"),
        _lib: lib,
    })
}

fn api() -> Result<&'static Api, &'static str> {
    static API: OnceLock<Result<Api, String>> = OnceLock::new();
    API.get_or_init(|| {
        let r = load(LIBRARY);
        if let Err(e) = &r {
            tracing::warn!("iscsi-direct pools are unavailable: {e}");
        }
        r
    })
    .as_ref()
    .map_err(String::as_str)
}

/// Why libiscsi cannot be used (the loader's message), `None` when it loads.
pub fn unavailable() -> Option<&'static str> {
    api().err()
}

/// `SCSI_STATUS_GOOD`, `SCSI_STATUS_CHECK_CONDITION`.
const GOOD: c_int = 0;
const CHECK_CONDITION: c_int = 2;
/// `SCSI_SENSE_UNIT_ATTENTION` with `SCSI_SENSE_ASCQ_BUS_RESET` (power on or reset).
const UNIT_ATTENTION: c_int = 6;
const ASCQ_BUS_RESET: c_int = 0x2900;
/// `ISCSI_SESSION_DISCOVERY`, `ISCSI_SESSION_NORMAL`, `TCP_TRANSPORT`.
const SESSION_DISCOVERY: c_int = 1;
const SESSION_NORMAL: c_int = 2;
const TCP_TRANSPORT: c_int = 0;

/// What a failed call says: the step (libvirt's words) and libiscsi's error text.
#[derive(Debug)]
pub struct Failure {
    pub step: &'static str,
    pub text: String,
}

pub type IResult<T> = Result<T, Failure>;

/// A finished SCSI command, freed on drop.
pub struct Task {
    api: &'static Api,
    raw: NonNull<RawTask>,
}

impl Task {
    fn head(&self) -> &RawTask {
        // SAFETY: `raw` is a live task libiscsi returned (freed only in drop), and
        // `RawTask` mirrors the head of its `struct scsi_task`.
        unsafe { self.raw.as_ref() }
    }

    pub fn good(&self) -> bool {
        self.head().status == GOOD
    }

    /// Whether the unit reports a power on or reset (asked again by libvirt).
    fn reset_reported(&self) -> bool {
        let h = self.head();
        h.status == CHECK_CONDITION
            && h.sense.key == UNIT_ATTENTION
            && h.sense.ascq == ASCQ_BUS_RESET
    }

    /// The data-in bytes the target sent.
    pub fn data(&self) -> &[u8] {
        let d = &self.head().datain;
        if d.data.is_null() || d.size <= 0 {
            return &[];
        }
        // SAFETY: libiscsi keeps `size` readable bytes at `data` while the task lives.
        unsafe { std::slice::from_raw_parts(d.data, d.size as usize) }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        // SAFETY: the task came from libiscsi and is freed once, here.
        unsafe { (self.api.free_scsi_task)(self.raw.as_ptr()) }
    }
}

/// An iSCSI context (one connection), destroyed on drop.
pub struct Context {
    api: &'static Api,
    ctx: NonNull<Ctx>,
}

fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

impl Context {
    /// A context for initiator `iqn`; `Err` is the loader's message when libiscsi is
    /// missing, `Ok(None)` when libiscsi cannot make the context.
    pub fn new(iqn: &str) -> Result<Option<Context>, &'static str> {
        let api = api()?;
        let name = cstring(iqn);
        // SAFETY: `name` is a valid C string for the call; libiscsi copies it.
        let ctx = unsafe { (api.create_context)(name.as_ptr()) };
        Ok(NonNull::new(ctx).map(|ctx| Context { api, ctx }))
    }

    /// libiscsi's text for the last error on this context.
    pub fn error(&self) -> String {
        // SAFETY: the context is live; the text is libiscsi's, valid until the next
        // call on the context, and copied at once.
        let p = unsafe { (self.api.get_error)(self.ctx.as_ptr()) };
        if p.is_null() {
            return String::new();
        }
        // SAFETY: libiscsi returns a NUL-terminated string.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }

    fn check(&self, rc: c_int, step: &'static str) -> IResult<()> {
        if rc < 0 {
            return Err(Failure {
                step,
                text: self.error(),
            });
        }
        Ok(())
    }

    /// TCP transport and the session type: a normal session to `target`, or a
    /// discovery session when `None`.
    pub fn set_session(&mut self, target: Option<&str>) -> IResult<()> {
        let c = self.ctx.as_ptr();
        // SAFETY: the context is live and used by this thread only.
        let rc = unsafe { (self.api.init_transport)(c, TCP_TRANSPORT) };
        self.check(rc, "Failed to init transport")?;
        if let Some(t) = target {
            let t = cstring(t);
            // SAFETY: as above; `t` is a valid C string that libiscsi copies.
            let rc = unsafe { (self.api.set_targetname)(c, t.as_ptr()) };
            self.check(rc, "Failed to set target name")?;
        }
        let kind = if target.is_some() {
            SESSION_NORMAL
        } else {
            SESSION_DISCOVERY
        };
        // SAFETY: as above.
        let rc = unsafe { (self.api.set_session_type)(c, kind) };
        self.check(rc, "Failed to set session type")
    }

    /// Connects to `portal` (`HOST:PORT`) and logs in.
    pub fn connect(&mut self, portal: &str) -> IResult<()> {
        let p = cstring(portal);
        // SAFETY: the context is live; `p` is a valid C string for the call.
        let rc = unsafe { (self.api.connect_sync)(self.ctx.as_ptr(), p.as_ptr()) };
        self.check(rc, "Failed to connect")?;
        // SAFETY: as above.
        let rc = unsafe { (self.api.login_sync)(self.ctx.as_ptr()) };
        self.check(rc, "Failed to login")
    }

    /// Logs out and disconnects (errors are only logged, as libvirt keeps the error of
    /// what went before).
    pub fn disconnect(&mut self) {
        // SAFETY: the context is live.
        if unsafe { (self.api.logout_sync)(self.ctx.as_ptr()) } < 0 {
            tracing::debug!("Failed to logout: {}", self.error());
            return;
        }
        // SAFETY: the context is live.
        if unsafe { (self.api.disconnect)(self.ctx.as_ptr()) } < 0 {
            tracing::debug!("Failed to disconnect: {}", self.error());
        }
    }

    fn task(&self, raw: *mut RawTask) -> Option<Task> {
        NonNull::new(raw).map(|raw| Task { api: self.api, raw })
    }

    /// REPORT LUNS (select report 0) with room for `len` bytes.
    pub fn report_luns(&mut self, len: c_int) -> Option<Task> {
        // SAFETY: the context is live; libiscsi allocates the task.
        self.task(unsafe { (self.api.reportluns_sync)(self.ctx.as_ptr(), 0, len) })
    }

    pub fn test_unit_ready(&mut self, lun: c_int) -> Option<Task> {
        // SAFETY: as for `report_luns`.
        self.task(unsafe { (self.api.testunitready_sync)(self.ctx.as_ptr(), lun) })
    }

    /// Standard INQUIRY data (64 bytes at most).
    pub fn inquiry(&mut self, lun: c_int) -> Option<Task> {
        // SAFETY: as for `report_luns`.
        self.task(unsafe { (self.api.inquiry_sync)(self.ctx.as_ptr(), lun, 0, 0, 64) })
    }

    pub fn read_capacity16(&mut self, lun: c_int) -> Option<Task> {
        // SAFETY: as for `report_luns`.
        self.task(unsafe { (self.api.readcapacity16_sync)(self.ctx.as_ptr(), lun) })
    }

    /// WRITE(16) of `data` (whole blocks of `block_size`) at `lba`.
    pub fn write16(
        &mut self,
        lun: c_int,
        lba: u64,
        data: &mut [u8],
        block_size: u32,
    ) -> Option<Task> {
        let len = data.len() as u32;
        let bs = block_size as c_int;
        let c = self.ctx.as_ptr();
        // SAFETY: `data` is valid for `len` bytes during the call, which libiscsi reads
        // before it returns (the call is synchronous).
        let t = unsafe {
            (self.api.write16_sync)(c, lun, lba, data.as_mut_ptr(), len, bs, 0, 0, 0, 0, 0)
        };
        self.task(t)
    }

    /// A `SendTargets` discovery on a discovery session: the target names.
    pub fn discover(&mut self) -> IResult<Vec<String>> {
        // SAFETY: the context is live and logged in to a discovery session.
        let list = unsafe { (self.api.discovery_sync)(self.ctx.as_ptr()) };
        if list.is_null() {
            return Err(Failure {
                step: "Failed to discover session",
                text: self.error(),
            });
        }
        let mut names = Vec::new();
        let mut at = list;
        while !at.is_null() {
            // SAFETY: `at` is an entry of the list libiscsi returned, not yet freed.
            let entry = unsafe { &*at };
            if !entry.target_name.is_null() {
                // SAFETY: libiscsi's target names are NUL-terminated strings.
                let n = unsafe { CStr::from_ptr(entry.target_name) };
                names.push(n.to_string_lossy().into_owned());
            }
            at = entry.next;
        }
        // SAFETY: the list came from this context's discovery and is freed once.
        unsafe { (self.api.free_discovery_data)(self.ctx.as_ptr(), list) };
        Ok(names)
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: the context came from libiscsi and is destroyed once, here.
        unsafe { (self.api.destroy_context)(self.ctx.as_ptr()) };
    }
}

/// Sends TEST UNIT READY until the unit stops reporting a reset (with libvirt's
/// back-off: 1 ms doubling up to 1 s between tries, 30 s in all): the last reply.
pub fn test_unit_ready(c: &mut Context, lun: c_int) -> Option<Task> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut wait = Duration::from_millis(1);
    loop {
        let t = c.test_unit_ready(lun)?;
        if !t.reset_reported() || Instant::now() >= deadline {
            return Some(t);
        }
        drop(t);
        std::thread::sleep(wait);
        wait = (wait * 2).min(Duration::from_secs(1));
    }
}

/// The LUNs of REPORT LUNS data: the first two bytes of each 8-byte entry after the
/// 8-byte header (what libiscsi's unmarshalling takes).
pub fn luns_of(data: &[u8]) -> Vec<u16> {
    let Some(len) = data.get(..4) else {
        return Vec::new();
    };
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    data.get(8..)
        .unwrap_or_default()
        .chunks_exact(8)
        .take(len / 8)
        .map(|e| u16::from_be_bytes([e[0], e[1]]))
        .collect()
}

/// The full length of REPORT LUNS data (its header's length plus the header).
pub fn report_luns_size(data: &[u8]) -> usize {
    data.get(..4)
        .map(|l| u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize + 8)
        .unwrap_or(0)
}

/// The peripheral device type of standard INQUIRY data (0: direct access).
pub fn device_type(data: &[u8]) -> Option<u8> {
    data.first().map(|b| b & 0x1f)
}

/// `(block length, returned LBA)` of READ CAPACITY(16) data: the last block's address,
/// which libvirt multiplies by the block length for the capacity.
pub fn capacity16(data: &[u8]) -> Option<(u32, u64)> {
    let lba = u64::from_be_bytes(data.get(..8)?.try_into().ok()?);
    let bl = u32::from_be_bytes(data.get(8..12)?.try_into().ok()?);
    Some((bl, lba))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    /// The offsets libiscsi 1.19's headers give on x86_64 (checked with offsetof).
    #[test]
    fn mirrored_structures_match_libiscsi() {
        assert_eq!(offset_of!(Sense, key), 4);
        assert_eq!(offset_of!(Sense, ascq), 8);
        assert_eq!(size_of::<Sense>(), 16);
        assert_eq!(offset_of!(RawTask, sense), 48);
        assert_eq!(offset_of!(RawTask, datain), 64);
        assert_eq!(offset_of!(RawTask, datain) + offset_of!(Data, data), 72);
        assert_eq!(offset_of!(DiscoveryAddress, target_name), 8);
    }

    #[test]
    fn scsi_replies_are_read() {
        let mut rl = vec![0, 0, 0, 24, 0, 0, 0, 0];
        for lun in [0u8, 1, 2] {
            rl.extend([0, lun, 0, 0, 0, 0, 0, 0]);
        }
        assert_eq!(luns_of(&rl), [0, 1, 2]);
        assert_eq!(report_luns_size(&rl), 32);
        assert_eq!(luns_of(&rl[..16]), [0]);
        assert_eq!(luns_of(&[]), Vec::<u16>::new());
        assert_eq!(device_type(&[0x0c, 0]), Some(12));
        let mut rc = 16383u64.to_be_bytes().to_vec();
        rc.extend(512u32.to_be_bytes());
        assert_eq!(capacity16(&rc), Some((512, 16383)));
        assert_eq!(capacity16(&rc[..10]), None);
    }

    #[test]
    fn a_missing_library_is_told() {
        let e = load("libiscsi-nosuch.so.7").err().unwrap();
        assert!(e.contains("libiscsi-nosuch.so.7"), "{e}");
    }
}
