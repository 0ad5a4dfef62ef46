//! Storage volume commands.

use super::cmd;
use rvirt_protocol as p;
use rvirt_protocol::facts;
use rvirt_protocol::RemoteClient;

use rvirt_core::client::{SparseFile, StreamError, StreamStage};

use crate::ctl::{CmdError, Context, Ctl};
use crate::fmt::{obj, pretty_capacity, Json, Table};
use crate::opts::{Args, Cmd, Complete, Opt};

use super::dom_extra::parse_scaled;
use super::names::vol_type;
use super::{flag_bits, read_file, sort_by_name};

pub const CMDS: &[Cmd] = &[
    cmd("vol-clone", "clone a volume.", "Clone an existing volume within the parent pool.", CLONE, vol_clone),
    cmd("vol-create", "create a vol from an XML file", "Create a vol.", CREATE, vol_create),
    cmd("vol-create-as", "create a volume from a set of args", "Create a vol.", CREATE_AS, vol_create_as),
    cmd("vol-create-from", "create a vol, using another volume as input", "Create a vol from an existing volume.", super::storage_extra::CREATE_FROM, super::storage_extra::vol_create_from),
    cmd("vol-delete", "delete a vol", "Delete a given vol.", VOL, vol_delete),
    cmd("vol-download", "download volume contents to a file", "Download volume contents to a file", DOWNLOAD, vol_download),
    cmd("vol-dumpxml", "vol information in XML", "Output the vol information as an XML dump to stdout.", VOL, vol_dumpxml),
    cmd("vol-info", "storage vol information", "Returns basic information about the storage vol.", INFO, vol_info),
    cmd("vol-key", "returns the volume key for a given volume name or path", "", VOL, vol_key),
    cmd("vol-list", "list vols", "Returns list of vols by pool.", LIST, vol_list),
    cmd("vol-name", "returns the volume name for a given volume key or path", "", &[Opt::req("vol", "volume key or path")], vol_name),
    cmd("vol-path", "returns the volume path for a given volume name or key", "", VOL, vol_path),
    cmd("vol-pool", "returns the storage pool for a given volume key or path", "", &[Opt::req("vol", "volume key or path"), Opt::flag("uuid", "return the pool uuid rather than pool name")], vol_pool),
    cmd("vol-resize", "resize a vol", "Resizes a storage volume. This is safe only for storage volumes not in use by an active guest.", RESIZE, vol_resize),
    cmd("vol-upload", "upload file contents to a volume", "Upload file contents to a volume", UPLOAD, vol_upload),
    cmd("vol-wipe", "wipe a vol", "Ensure data previously on a volume is not accessible to future reads.", WIPE, vol_wipe),
];

const VOL_OPT: Opt = Opt::req("vol", "vol name, key or path");
const POOL_OPT: Opt = Opt::string("pool", "pool name or uuid").completes(Complete::Pool);
const VOL: &[Opt] = &[VOL_OPT, POOL_OPT];
const CLONE: &[Opt] = &[
    Opt::req("vol", "orig vol name or key"),
    Opt::req("newname", "clone name"),
    POOL_OPT,
    Opt::flag(
        "prealloc-metadata",
        "preallocate metadata (for qcow2 instead of full allocation)",
    ),
    Opt::flag("reflink", "use btrfs COW lightweight copy"),
];
const CREATE: &[Opt] = &[
    Opt::pool(),
    Opt::file("file containing an XML vol description"),
    Opt::flag(
        "prealloc-metadata",
        "preallocate metadata (for qcow2 instead of full allocation)",
    ),
    Opt::flag("validate", "validate the XML against the schema"),
];
const CREATE_AS: &[Opt] = &[
    Opt::pool(),
    Opt::req("name", "name of the volume"),
    Opt::req(
        "capacity",
        "size of the vol, as scaled integer (default bytes)",
    ),
    Opt::named(
        "allocation",
        "initial allocation size, as scaled integer (default bytes)",
    ),
    Opt::named("format", "file format type raw,bochs,qcow,qcow2,qed,vmdk"),
    Opt::named("backing-vol", "the backing volume if taking a snapshot"),
    Opt::named(
        "backing-vol-format",
        "format of backing volume if taking a snapshot",
    ),
    Opt::flag(
        "prealloc-metadata",
        "preallocate metadata (for qcow2 instead of full allocation)",
    ),
    Opt::flag("print-xml", "print XML document, but don't define/create"),
];
const INFO: &[Opt] = &[
    VOL_OPT,
    POOL_OPT,
    Opt::flag(
        "bytes",
        "sizes are represented in bytes rather than pretty units",
    ),
    Opt::flag(
        "physical",
        "return the physical size of the volume in allocation field",
    ),
    Opt::json(),
];
const LIST: &[Opt] = &[
    Opt::pool(),
    Opt::flag("details", "display extended details for volumes"),
    Opt::json(),
];
const RESIZE: &[Opt] = &[
    VOL_OPT,
    Opt::req(
        "capacity",
        "new capacity for the vol, as scaled integer (default bytes)",
    ),
    POOL_OPT,
    Opt::flag(
        "allocate",
        "allocate the new capacity, rather than leaving it sparse",
    ),
    Opt::flag(
        "delta",
        "use capacity as a delta to current size, rather than the new size",
    ),
    Opt::flag("shrink", "allow the resize to shrink the volume"),
];
const WIPE: &[Opt] = &[
    VOL_OPT,
    POOL_OPT,
    Opt::named("algorithm", "perform selected wiping algorithm"),
];

const UPLOAD: &[Opt] = &[
    VOL_OPT,
    Opt::file("file"),
    POOL_OPT,
    Opt::int("offset", "volume offset to upload to"),
    Opt::int("length", "amount of data to upload"),
    Opt::flag("sparse", "preserve sparseness of volume"),
];
const DOWNLOAD: &[Opt] = &[
    VOL_OPT,
    Opt::file("file"),
    POOL_OPT,
    Opt::int("offset", "volume offset to download from"),
    Opt::int("length", "amount of data to download"),
    Opt::flag("sparse", "preserve sparseness of volume"),
];

/// `VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM` and `VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM`.
const SPARSE_STREAM: u32 = rvirt_protocol::facts::vol_stream::SPARSE_STREAM;

const WIPE_ALGS: &[&str] = &[
    "zero",
    "nnsa",
    "dod",
    "bsi",
    "gutmann",
    "schneier",
    "pfitzner7",
    "pfitzner33",
    "random",
    "trim",
];

fn vol(ctl: &mut Ctl, a: &Args) -> Result<p::RemoteNonnullStorageVol, CmdError> {
    let key = a.req("vol")?.to_string();
    let pool = a.get("pool").map(str::to_string);
    ctl.vol(&key, pool.as_deref())
}

fn vol_list(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let pool = ctl.pool(a.req("pool")?)?;
    let details = a.has("details");
    let c = ctl.conn()?;
    let args = p::RemoteStoragePoolListAllVolumesArgs {
        pool,
        need_results: 1,
        flags: 0,
    };
    let mut vols = c
        .storage_pool_list_all_volumes(&args)
        .ctx(|| "Failed to list volumes".into())?
        .vols;
    sort_by_name(&mut vols, |v| &v.name);
    let mut rows = Vec::new();
    for v in vols {
        let path = c
            .storage_vol_get_path(&p::RemoteStorageVolGetPathArgs { vol: v.clone() })
            .map(|r| r.name)
            .unwrap_or_else(|_| "unknown".into());
        let info = if details || a.has("json") {
            c.storage_vol_get_info(&p::RemoteStorageVolGetInfoArgs { vol: v.clone() })
                .ok()
        } else {
            None
        };
        rows.push((v.name, path, info));
    }
    if a.has("json") {
        let items = rows
            .into_iter()
            .map(|(n, path, i)| {
                let i = i.as_ref();
                obj([
                    ("name", n.into()),
                    ("path", path.into()),
                    ("type", i.map(|i| vol_type(i.r#type.into())).into()),
                    ("capacity", i.map(|i| i.capacity).into()),
                    ("allocation", i.map(|i| i.allocation).into()),
                ])
            })
            .collect();
        print!("{}", Json::Arr(items).render());
        return Ok(());
    }
    let mut t = if details {
        Table::new(&["Name", "Path", "Type", "Capacity", "Allocation"])
    } else {
        Table::new(&["Name", "Path"])
    };
    for (name, path, info) in rows {
        if !details {
            t.row(vec![name, path]);
            continue;
        }
        match info {
            Some(i) => t.row(vec![
                name,
                path,
                vol_type(i.r#type.into()).into(),
                pretty_capacity(i.capacity),
                pretty_capacity(i.allocation),
            ]),
            None => t.row(vec![
                name,
                path,
                "unknown".into(),
                "unknown".into(),
                "unknown".into(),
            ]),
        }
    }
    print!("{}", t.render());
    Ok(())
}

fn vol_info(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let v = vol(ctl, a)?;
    let c = ctl.conn()?;
    let physical = a.has("physical");
    let i = if physical {
        let r = c.storage_vol_get_info_flags(&p::RemoteStorageVolGetInfoFlagsArgs {
            vol: v.clone(),
            flags: facts::vol_info::GET_PHYSICAL,
        })?;
        (r.r#type, r.capacity, r.allocation)
    } else {
        let r = c.storage_vol_get_info(&p::RemoteStorageVolGetInfoArgs { vol: v.clone() })?;
        (r.r#type, r.capacity, r.allocation)
    };
    if a.has("json") {
        let j = obj([
            ("name", v.name.as_str().into()),
            ("type", vol_type(i.0.into()).into()),
            ("capacity", i.1.into()),
            (if physical { "physical" } else { "allocation" }, i.2.into()),
        ]);
        print!("{}", j.render());
        return Ok(());
    }
    let f = |x: u64| {
        if a.has("bytes") {
            format!("{x} bytes")
        } else {
            pretty_capacity(x)
        }
    };
    println!("{:<15} {}", "Name:", v.name);
    println!("{:<15} {}", "Type:", vol_type(i.0.into()));
    println!("{:<15} {}", "Capacity:", f(i.1));
    println!(
        "{:<15} {}",
        if physical { "Physical:" } else { "Allocation:" },
        f(i.2)
    );
    Ok(())
}

fn vol_dumpxml(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let vol = vol(ctl, a)?;
    print!(
        "{}",
        ctl.conn()?
            .storage_vol_get_xml_desc(&p::RemoteStorageVolGetXmlDescArgs { vol, flags: 0 })?
            .xml
    );
    Ok(())
}

fn create_in_pool(
    ctl: &mut Ctl,
    pool: p::RemoteNonnullStoragePool,
    xml: String,
    flags: u32,
) -> Result<p::RemoteNonnullStorageVol, rvirt_protocol::RemoteError> {
    let c = ctl
        .conn()
        .map_err(|e| rvirt_protocol::RemoteError::new(1, 0, e.to_string()))?;
    c.storage_vol_create_xml(&p::RemoteStorageVolCreateXmlArgs { pool, xml, flags })
        .map(|r| r.vol)
}

fn vol_create(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let pool = ctl.pool(a.req("pool")?)?;
    let file = a.req("file")?;
    let flags = flag_bits(
        a,
        &[
            ("prealloc-metadata", facts::vol_create::PREALLOC_METADATA),
            ("validate", facts::vol_create::VALIDATE),
        ],
    );
    let v = create_in_pool(ctl, pool, read_file(file)?, flags)
        .ctx(|| format!("Failed to create vol from {file}"))?;
    println!("Vol {} created from {file}", v.name);
    Ok(())
}

fn size_arg(a: &Args, name: &str) -> Result<Option<u64>, CmdError> {
    match a.get(name) {
        None => Ok(None),
        Some(s) => parse_scaled(s, 1)
            .map(Some)
            .ok_or_else(|| CmdError::Msg(format!("Malformed size {s}"))),
    }
}

fn vol_create_as(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let pool = ctl.pool(a.req("pool")?)?;
    let name = a.req("name")?.to_string();
    let capacity = size_arg(a, "capacity")?.unwrap_or(0);
    let mut xml = format!("<volume>\n  <name>{name}</name>\n  <capacity>{capacity}</capacity>\n");
    if let Some(alloc) = size_arg(a, "allocation")? {
        xml.push_str(&format!("  <allocation>{alloc}</allocation>\n"));
    }
    if let Some(f) = a.get("format") {
        xml.push_str(&format!(
            "  <target>\n    <format type='{f}'/>\n  </target>\n"
        ));
    }
    if let Some(b) = a.get("backing-vol") {
        let c = ctl.conn()?;
        let by_name = c.storage_vol_lookup_by_name(&p::RemoteStorageVolLookupByNameArgs {
            pool: pool.clone(),
            name: b.into(),
        });
        let bv = match by_name {
            Ok(r) => r.vol,
            Err(_) => ctl.vol(b, None)?,
        };
        let path = ctl
            .conn()?
            .storage_vol_get_path(&p::RemoteStorageVolGetPathArgs { vol: bv })?
            .name;
        xml.push_str(&format!("  <backingStore>\n    <path>{path}</path>\n"));
        if let Some(bf) = a.get("backing-vol-format") {
            xml.push_str(&format!("    <format type='{bf}'/>\n"));
        }
        xml.push_str("  </backingStore>\n");
    }
    xml.push_str("</volume>\n");
    if a.has("print-xml") {
        print!("{xml}");
        return Ok(());
    }
    let flags = flag_bits(
        a,
        &[("prealloc-metadata", facts::vol_create::PREALLOC_METADATA)],
    );
    create_in_pool(ctl, pool, xml, flags).ctx(|| format!("Failed to create vol {name}"))?;
    println!("Vol {name} created");
    Ok(())
}

fn vol_clone(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let orig = vol(ctl, a)?;
    let newname = a.req("newname")?.to_string();
    let flags = flag_bits(
        a,
        &[
            ("prealloc-metadata", facts::vol_create::PREALLOC_METADATA),
            ("reflink", facts::vol_create::REFLINK),
        ],
    );
    let c = ctl.conn()?;
    let pool = c
        .storage_pool_lookup_by_volume(&p::RemoteStoragePoolLookupByVolumeArgs {
            vol: orig.clone(),
        })
        .ctx(|| "failed to get parent pool".into())?
        .pool;
    let xml = c
        .storage_vol_get_xml_desc(&p::RemoteStorageVolGetXmlDescArgs {
            vol: orig.clone(),
            flags: 0,
        })?
        .xml;
    let xml = replace_name(&xml, &newname)
        .ok_or_else(|| CmdError::Msg("Failed to allocate XML buffer".into()))?;
    let args = p::RemoteStorageVolCreateXmlFromArgs {
        pool,
        xml,
        clonevol: orig.clone(),
        flags,
    };
    c.storage_vol_create_xml_from(&args)
        .ctx(|| format!("Failed to clone vol from {}", orig.name))?;
    println!("Vol {newname} cloned from {}", orig.name);
    Ok(())
}

/// Replaces the first `<name>…</name>` and drops `<key>`/`<path>` lines that tie the copy to
/// the original.
fn replace_name(xml: &str, new: &str) -> Option<String> {
    let start = xml.find("<name>")?;
    let end = start + xml[start..].find("</name>")?;
    let out = format!("{}<name>{new}{}", &xml[..start], &xml[end..]);
    Some(
        out.lines()
            .filter(|l| !l.trim_start().starts_with("<key>"))
            .map(|l| format!("{l}\n"))
            .collect(),
    )
}

/// Looks up the volume, runs one call, prints virsh's texts.
fn simple(
    ctl: &mut Ctl,
    a: &Args,
    call: impl FnOnce(
        &rvirt_core::client::Connect,
        p::RemoteNonnullStorageVol,
    ) -> Result<(), rvirt_protocol::RemoteError>,
    fail: &str,
    done: &str,
) -> Result<(), CmdError> {
    let v = vol(ctl, a)?;
    let name = v.name.clone();
    call(ctl.conn()?, v).ctx(|| format!("Failed to {fail} vol {name}"))?;
    println!("Vol {name} {done}");
    Ok(())
}

fn vol_delete(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    simple(
        ctl,
        a,
        |c, vol| c.storage_vol_delete(&p::RemoteStorageVolDeleteArgs { vol, flags: 0 }),
        "delete",
        "deleted",
    )
}

fn vol_wipe(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let alg = match a.get("algorithm") {
        None => None,
        Some(s) => Some(
            WIPE_ALGS
                .iter()
                .position(|x| *x == s)
                .ok_or_else(|| CmdError::Msg(format!("Unsupported algorithm '{s}'")))?
                as u32,
        ),
    };
    simple(
        ctl,
        a,
        |c, vol| match alg {
            None => c.storage_vol_wipe(&p::RemoteStorageVolWipeArgs { vol, flags: 0 }),
            Some(algorithm) => c.storage_vol_wipe_pattern(&p::RemoteStorageVolWipePatternArgs {
                vol,
                algorithm,
                flags: 0,
            }),
        },
        "wipe",
        "wiped",
    )
}

fn vol_resize(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let cap_str = a.req("capacity")?.to_string();
    let (neg, digits) = match cap_str.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, cap_str.as_str()),
    };
    let capacity = parse_scaled(digits, 1)
        .ok_or_else(|| CmdError::Msg(format!("Malformed size {cap_str}")))?;
    let delta = a.has("delta");
    use facts::vol_resize as r;
    let mut flags = flag_bits(
        a,
        &[
            ("allocate", r::ALLOCATE),
            ("delta", r::DELTA),
            ("shrink", r::SHRINK),
        ],
    );
    if neg {
        if !delta {
            return Err(CmdError::Msg("negative size requires --delta".into()));
        }
        flags |= facts::vol_resize::SHRINK;
    }
    let v = vol(ctl, a)?;
    let name = v.name.clone();
    let r = ctl
        .conn()?
        .storage_vol_resize(&p::RemoteStorageVolResizeArgs {
            vol: v,
            capacity,
            flags,
        });
    let how = if delta { "by" } else { "to" };
    r.ctx(|| format!("Failed to change size of volume '{name}' {how} {cap_str}"))?;
    println!("Size of volume '{name}' successfully changed {how} {cap_str}");
    Ok(())
}

fn vol_path(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let vol = vol(ctl, a)?;
    println!(
        "{}",
        ctl.conn()?
            .storage_vol_get_path(&p::RemoteStorageVolGetPathArgs { vol })?
            .name
    );
    Ok(())
}

fn vol_name(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    println!("{}", vol(ctl, a)?.name);
    Ok(())
}

fn vol_key(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    println!("{}", vol(ctl, a)?.key);
    Ok(())
}

fn vol_pool(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let v = vol(ctl, a)?;
    let pool = ctl
        .conn()?
        .storage_pool_lookup_by_volume(&p::RemoteStoragePoolLookupByVolumeArgs { vol: v })
        .ctx(|| "failed to get parent pool".into())?
        .pool;
    if a.has("uuid") {
        println!("{}", crate::ctl::uuid_str(&pool.uuid));
    } else {
        println!("{}", pool.name);
    }
    Ok(())
}

/// virsh's unsigned option parsing: base 10, leading blanks and a sign allowed; a minus
/// sign is refused unless `wrap` (then `-1` means the largest value, like strtoull).
fn ull_arg(a: &Args, name: &str, wrap: bool) -> Result<u64, CmdError> {
    let Some(v) = a.get(name) else {
        return Ok(0);
    };
    let bad = || {
        CmdError::Msg(format!(
            "Numeric value '{v}' for <{name}> option is malformed or out of range"
        ))
    };
    let t = v.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || (neg && !wrap) {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    Ok(if neg { n.wrapping_neg() } else { n })
}

fn stderr_is_terminal() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stderr())
}

/// A `[####    ] 42%` line on stderr, redrawn in place; only when stderr is a terminal.
struct Progress {
    total: u64,
    shown: Option<u64>,
}

impl Progress {
    fn new(total: u64) -> Option<Progress> {
        std::io::IsTerminal::is_terminal(&std::io::stderr())
            .then_some(Progress { total, shown: None })
    }

    fn update(&mut self, done: u64) {
        const WIDTH: u64 = 40;
        let pct = (u128::from(done.min(self.total)) * 100).checked_div(u128::from(self.total));
        let text = if let Some(pct) = pct {
            let pct = pct.min(100) as u64;
            if self.shown == Some(pct) {
                return;
            }
            self.shown = Some(pct);
            let fill = (pct * WIDTH / 100) as usize;
            format!(
                "\r[{}{}] {pct:3}%",
                "#".repeat(fill),
                " ".repeat(WIDTH as usize - fill)
            )
        } else {
            format!("\r{done} bytes")
        };
        let mut e = std::io::stderr();
        let _ = std::io::Write::write_all(&mut e, text.as_bytes());
        let _ = std::io::Write::flush(&mut e);
    }

    fn done(&self) {
        if self.shown.is_some() || self.total == 0 {
            eprintln!();
        }
    }
}

/// Runs a transfer with the progress bar (if any), ending its line afterwards.
fn with_progress<T>(total: u64, run: impl FnOnce(&mut dyn FnMut(u64)) -> T) -> T {
    let mut bar = Progress::new(total);
    let r = run(&mut |n| {
        if let Some(b) = bar.as_mut() {
            b.update(n);
        }
    });
    if let Some(b) = &bar {
        b.done();
    }
    r
}

/// virsh's messages for the three steps of a stream transfer.
fn stream_failed(e: StreamError, open: String, data: String, name: &str) -> CmdError {
    let msg = match e.stage {
        StreamStage::Open => open,
        StreamStage::Transfer => data,
        StreamStage::Finish => format!("cannot close volume {name}"),
    };
    CmdError::Ctx { msg, err: e.error }
}

fn vol_upload(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let offset = ull_arg(a, "offset", false)?;
    let length = ull_arg(a, "length", true)?;
    let v = vol(ctl, a)?;
    let name = a.req("vol")?.to_string();
    let file = a.req("file")?;
    let f = std::fs::File::open(file).map_err(|_| CmdError::Msg(format!("cannot read {file}")))?;
    let size = f
        .metadata()
        .map_err(|_| CmdError::Msg(format!("unable to stat {file}")))?
        .len();
    let total = if length > 0 { size.min(length) } else { size };
    let flags = if a.has("sparse") { SPARSE_STREAM } else { 0 };
    let c = ctl.conn()?;
    with_progress(total, |progress| {
        c.storage_vol_upload_from(&v, offset, length, flags, f, progress)
    })
    .map_err(|e| {
        stream_failed(
            e,
            format!("cannot upload to volume {name}"),
            format!("cannot send data to volume {name}"),
            &name,
        )
    })?;
    Ok(())
}

/// The bytes a download will bring: `length`, else the volume's size past `offset`.
fn download_size(
    c: &rvirt_core::client::Connect,
    v: &p::RemoteNonnullStorageVol,
    offset: u64,
    length: u64,
) -> u64 {
    if length > 0 {
        return length;
    }
    let physical = c
        .storage_vol_get_info_flags(&p::RemoteStorageVolGetInfoFlagsArgs {
            vol: v.clone(),
            flags: facts::vol_info::GET_PHYSICAL,
        })
        .map(|i| i.allocation)
        .or_else(|_| {
            c.storage_vol_get_info(&p::RemoteStorageVolGetInfoArgs { vol: v.clone() })
                .map(|i| i.capacity)
        })
        .unwrap_or(0);
    physical.saturating_sub(offset)
}

fn vol_download(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let offset = ull_arg(a, "offset", false)?;
    let length = ull_arg(a, "length", true)?;
    let v = vol(ctl, a)?;
    let name = a.req("vol")?.to_string();
    let file = a.req("file")?.to_string();
    let cannot_create = || CmdError::Msg(format!("cannot create {file}"));
    let (f, created) = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&file)
    {
        Ok(f) => (f, true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => (
            std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&file)
                .map_err(|_| cannot_create())?,
            false,
        ),
        Err(_) => return Err(cannot_create()),
    };
    let c = ctl.conn()?;
    let total = if stderr_is_terminal() {
        download_size(c, &v, offset, length)
    } else {
        0
    };
    // With --sparse, holes the daemon reports are skipped in the file, not written.
    let mut sparse_file = match a.has("sparse") {
        true => Some(f.try_clone().map_err(|_| cannot_create())?),
        false => None,
    };
    let r = with_progress(total, |progress| match sparse_file.as_mut() {
        Some(file) => {
            let mut sink = SparseFile::new(file);
            c.storage_vol_download_into(&v, offset, length, SPARSE_STREAM, &mut sink, progress)
        }
        None => c.storage_vol_download_to(&v, offset, length, 0, &f, progress),
    })
    .map_err(|e| {
        stream_failed(
            e,
            format!("cannot download from volume {name}"),
            format!("cannot receive data from volume {name}"),
            &name,
        )
    })
    .and_then(|_| {
        f.sync_all()
            .map_err(|_| CmdError::Msg(format!("cannot close file {file}")))
    });
    if r.is_err() && created {
        let _ = std::fs::remove_file(&file);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_xml() {
        let x = "<volume type='file'>\n  <name>a.img</name>\n  <key>/p/a.img</key>\n  <capacity>1</capacity>\n</volume>\n";
        assert_eq!(
            replace_name(x, "b.img").unwrap(),
            "<volume type='file'>\n  <name>b.img</name>\n  <capacity>1</capacity>\n</volume>\n"
        );
    }

    #[test]
    fn unsigned_options() {
        let cmd = super::super::find("vol-upload").unwrap();
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let a = crate::opts::parse(cmd, &words(&["v", "f", "--offset", "7", "--length", "-1"]))
            .unwrap();
        assert_eq!(ull_arg(&a, "offset", false).unwrap(), 7);
        assert_eq!(ull_arg(&a, "length", true).unwrap(), u64::MAX);
        assert!(ull_arg(&a, "length", false).is_err());
        assert_eq!(ull_arg(&a, "missing", false).unwrap(), 0);
        let a = crate::opts::parse(cmd, &words(&["v", "f", "--offset", "1x"])).unwrap();
        assert_eq!(
            ull_arg(&a, "offset", false).unwrap_err().to_string(),
            "Numeric value '1x' for <offset> option is malformed or out of range"
        );
    }
}
