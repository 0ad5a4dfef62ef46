//! What a file in a pool is: its format (asked of `qemu-img info`), sizes, permissions
//! and times, as libvirt's directory backend reports them.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use rvirt_xml::storage::{BackingStore, Permissions, StorageVolDef, Timestamp, Timestamps};

use crate::error::{SResult, StorageError};

/// `qemu-img`, found on the usual paths.
pub fn qemu_img() -> &'static str {
    ["/usr/bin/qemu-img", "/usr/local/bin/qemu-img"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("qemu-img")
}

/// Runs `qemu-img ARGS`, turning a failure into libvirt's "command failed" error.
pub fn run_qemu_img<S: AsRef<str>>(args: &[S]) -> SResult<String> {
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    let out = Command::new(qemu_img())
        .args(&args)
        .output()
        .map_err(|e| StorageError::io(format!("Cannot run {}", qemu_img()), &e))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(StorageError::Internal(format!(
            "Child process ({} {}) unexpected exit status {}: {}",
            qemu_img(),
            args.join(" "),
            out.status.code().unwrap_or(-1),
            err.trim_end()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Permissions of a file as libvirt reports them.
pub fn permissions(md: &std::fs::Metadata) -> Permissions {
    Permissions {
        mode: Some(md.mode() & 0o777),
        owner: Some(md.uid()),
        group: Some(md.gid()),
        label: None,
    }
}

/// Access, modification and change times; `stat` has no birth time, printed as 0.
pub fn timestamps(md: &std::fs::Metadata) -> Timestamps {
    let t = |sec: i64, nsec: i64| Timestamp {
        sec,
        nsec: nsec as u32,
    };
    Timestamps {
        atime: t(md.atime(), md.atime_nsec()),
        mtime: t(md.mtime(), md.mtime_nsec()),
        ctime: t(md.ctime(), md.ctime_nsec()),
        btime: Timestamp::default(),
    }
}

/// Refreshes what the file itself says of a volume: allocation, physical size,
/// permissions and times (capacity and format stay as they are).
pub fn update_file_info(v: &mut StorageVolDef, path: &Path) -> SResult<()> {
    let md = std::fs::metadata(path)
        .map_err(|e| StorageError::io(format!("cannot stat file '{}'", path.display()), &e))?;
    if md.is_dir() {
        v.allocation = 0;
        v.physical = None;
    } else {
        v.allocation = md.blocks() * 512;
        v.physical = Some(md.size());
    }
    v.permissions = Some(permissions(&md));
    v.timestamps = Some(timestamps(&md));
    Ok(())
}

/// The parts of `qemu-img info --output=json` a volume shows.
#[derive(Debug, Default, PartialEq)]
pub struct ImageInfo {
    pub format: String,
    pub virtual_size: u64,
    pub cluster_size: Option<u64>,
    pub compat: Option<String>,
    pub lazy_refcounts: bool,
    pub extended_l2: bool,
    pub backing: Option<String>,
    pub backing_format: Option<String>,
}

/// Reads `qemu-img info` output.
pub fn parse_info(json: &str) -> Option<ImageInfo> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let data = &v["format-specific"]["data"];
    Some(ImageInfo {
        format: v["format"].as_str()?.to_string(),
        virtual_size: v["virtual-size"].as_u64()?,
        cluster_size: v["cluster-size"].as_u64(),
        compat: data["compat"].as_str().map(str::to_string),
        lazy_refcounts: data["lazy-refcounts"].as_bool().unwrap_or(false),
        extended_l2: data["extended-l2"].as_bool().unwrap_or(false),
        backing: v["full-backing-filename"]
            .as_str()
            .or(v["backing-filename"].as_str())
            .map(str::to_string),
        backing_format: v["backing-filename-format"].as_str().map(str::to_string),
    })
}

/// Asks `qemu-img` what `path` holds (`format` forces one); `None` when it cannot tell.
pub fn image_info(path: &Path, format: Option<&str>) -> Option<ImageInfo> {
    let p = path.to_str()?;
    let mut args = vec!["info", "-U", "--output=json"];
    if let Some(f) = format {
        args.extend(["-f", f]);
    }
    args.push(p);
    parse_info(&run_qemu_img(&args).ok()?)
}

/// Formats libvirt knows for file volumes; anything else `qemu-img` names is shown raw.
const KNOWN_FORMATS: &[&str] = &[
    "raw", "bochs", "cloop", "dmg", "iso", "vpc", "vdi", "vhd", "ploop", "cow", "qcow", "qcow2",
    "qed", "vmdk",
];

/// The volume a file found in a pool directory is, or `None` for files that are not
/// volumes (sockets, dangling links).
pub fn probe_volume(dir: &str, name: &str) -> Option<StorageVolDef> {
    let path = Path::new(dir).join(name);
    let md = std::fs::metadata(&path).ok()?;
    let spath = path.to_str()?.to_string();
    let mut v = StorageVolDef {
        name: name.to_string(),
        key: Some(spath.clone()),
        target_path: Some(spath),
        ..StorageVolDef::default()
    };
    if md.is_dir() {
        v.vol_type = Some("dir".into());
        v.format = Some("dir".into());
    } else if md.is_file() {
        v.vol_type = Some("file".into());
        apply_image_info(&mut v, &path, &md);
    } else {
        return None;
    }
    update_file_info(&mut v, &path).ok()?;
    Some(v)
}

/// Whether the file holds an ISO 9660 image (`qemu-img` calls those raw): the volume
/// descriptor's "CD001" at byte 32769.
fn is_iso(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let mut magic = [0u8; 5];
    std::fs::File::open(path)
        .and_then(|mut f| {
            f.seek(SeekFrom::Start(32769))?;
            f.read_exact(&mut magic)
        })
        .is_ok_and(|()| &magic == b"CD001")
}

/// Format, capacity and qcow2 details of a regular file.
fn apply_image_info(v: &mut StorageVolDef, path: &Path, md: &std::fs::Metadata) {
    let info = image_info(path, None).unwrap_or_default();
    let format = if KNOWN_FORMATS.contains(&info.format.as_str()) && info.format != "raw" {
        info.format.clone()
    } else if is_iso(path) {
        "iso".to_string()
    } else {
        "raw".to_string()
    };
    v.capacity = if info.format.is_empty() || format == "raw" || format == "iso" {
        md.size()
    } else {
        info.virtual_size
    };
    if format == "qcow2" {
        // Version 2 images (compat 0.10) show only their cluster size.
        v.compat = info.compat.clone().filter(|c| c != "0.10");
        v.cluster_size = info.cluster_size;
        if v.compat.is_some() {
            let mut f = Vec::new();
            if info.lazy_refcounts {
                f.push("lazy_refcounts");
            }
            if info.extended_l2 {
                f.push("extended_l2");
            }
            v.features = Some(f);
        }
    }
    if let Some(b) = info.backing.filter(|b| !b.is_empty()) {
        v.backing = Some(backing_store(&b, info.backing_format));
    }
    v.format = Some(format);
}

/// A backing store as libvirt shows it, with the backing file's own permissions and times.
pub fn backing_store(path: &str, format: Option<String>) -> BackingStore {
    let md = std::fs::metadata(path).ok();
    BackingStore {
        path: path.to_string(),
        format,
        permissions: md.as_ref().map(permissions).unwrap_or_default(),
        timestamps: md.as_ref().map(timestamps),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_img_json_read() {
        let json = r#"{"virtual-size": 8388608, "filename": "/p/c.qcow2", "cluster-size": 131072,
            "format": "qcow2", "actual-size": 397312, "format-specific": {"type": "qcow2",
            "data": {"compat": "1.1", "compression-type": "zlib", "lazy-refcounts": true,
            "refcount-bits": 16, "corrupt": false, "extended-l2": false}},
            "backing-filename": "b.img", "full-backing-filename": "/p/b.img",
            "backing-filename-format": "raw", "dirty-flag": false}"#;
        let i = parse_info(json).unwrap();
        assert_eq!(
            i,
            ImageInfo {
                format: "qcow2".into(),
                virtual_size: 8388608,
                cluster_size: Some(131072),
                compat: Some("1.1".into()),
                lazy_refcounts: true,
                extended_l2: false,
                backing: Some("/p/b.img".into()),
                backing_format: Some("raw".into()),
            }
        );
        assert_eq!(parse_info("{}"), None);
    }
}
