//! `<disk type='volume'>`: the pool and volume a disk names are resolved through the
//! storage driver (another module, reached by a host call, never linked) into the path,
//! kind and format QEMU opens. The definition keeps the volume; only the command line
//! sees the path.

use rvirt_plugin_api::calls::call_driver;
use rvirt_plugin_api::protocol::{
    self as p, remote_proc, DriverKind, RemoteError, RemoteNonnullStoragePool,
    RemoteNonnullStorageVol,
};
use rvirt_xml::domain::{Device, Disk, DomainDef};
use rvirt_xml::storage::StorageVolDef;

use crate::error::{QResult, QemuError};

/// Where a volume disk leads, as the command line needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// `file` or `block`.
    pub disk_type: String,
    pub path: String,
    /// The volume's format (`raw`, `qcow2`, ...), when it has one.
    pub format: Option<String>,
}

/// Asks the storage driver serving `uri` for `pool`/`volume`.
fn lookup(uri: &str, pool: &str, volume: &str) -> Result<StorageVolDef, RemoteError> {
    let ret: p::RemoteStoragePoolLookupByNameRet = call_driver(
        DriverKind::Storage,
        uri,
        remote_proc::STORAGE_POOL_LOOKUP_BY_NAME,
        &p::RemoteStoragePoolLookupByNameArgs {
            name: pool.to_string(),
        },
    )?;
    let pool: RemoteNonnullStoragePool = ret.pool;
    let ret: p::RemoteStorageVolLookupByNameRet = call_driver(
        DriverKind::Storage,
        uri,
        remote_proc::STORAGE_VOL_LOOKUP_BY_NAME,
        &p::RemoteStorageVolLookupByNameArgs {
            pool,
            name: volume.to_string(),
        },
    )?;
    let vol: RemoteNonnullStorageVol = ret.vol;
    let ret: p::RemoteStorageVolGetXmlDescRet = call_driver(
        DriverKind::Storage,
        uri,
        remote_proc::STORAGE_VOL_GET_XML_DESC,
        &p::RemoteStorageVolGetXmlDescArgs { vol, flags: 0 },
    )?;
    StorageVolDef::parse(&ret.xml).map_err(|e| QemuError::Xml(e).into())
}

/// Resolves one volume disk of a guest whose driver serves `uri`.
pub fn resolve_disk(uri: &str, disk: &Disk) -> QResult<Resolved> {
    let src = disk.source_element.as_ref();
    let attr = |name: &str| src.and_then(|s| s.attr(name)).map(str::to_string);
    let (Some(pool), Some(volume)) = (attr("pool"), attr("volume")) else {
        return Err(QemuError::Unsupported(format!(
            "disk '{}' of type 'volume' needs a source pool and volume",
            disk.target_dev
        ))
        .into());
    };
    let vol = lookup(uri, &pool, &volume).map_err(|e| {
        if e.code == p::error::code::NO_SUPPORT {
            QemuError::Unsupported(format!(
                "disk '{}' uses volume '{volume}' of pool '{pool}', but no storage driver \
                 module is loaded",
                disk.target_dev
            ))
            .into()
        } else {
            e
        }
    })?;
    let disk_type = match vol.vol_type.as_deref().unwrap_or("file") {
        "file" => "file",
        "block" => "block",
        other => {
            return Err(QemuError::Unsupported(format!(
                "disk '{}': volume '{volume}' of pool '{pool}' is of type '{other}', which \
                 this driver cannot open",
                disk.target_dev
            ))
            .into())
        }
    };
    let path = vol.target_path.clone().ok_or_else(|| {
        QemuError::Internal(format!("volume '{volume}' of pool '{pool}' has no path"))
    })?;
    Ok(Resolved {
        disk_type: disk_type.to_string(),
        path,
        format: vol.format.clone(),
    })
}

/// `def` with every volume disk replaced by the file or block device it leads to; a
/// disk's own `<driver type>` wins over the volume's format.
pub fn resolve(uri: &str, def: &DomainDef) -> QResult<DomainDef> {
    let mut out = def.clone();
    for dev in out.devices.iter_mut() {
        let Device::Disk(disk) = dev else { continue };
        if disk.disk_type != "volume" {
            continue;
        }
        let r = resolve_disk(uri, disk)?;
        apply(disk, r);
    }
    Ok(out)
}

/// Turns a volume disk into the file or block disk `r` describes.
fn apply(disk: &mut Disk, r: Resolved) {
    disk.disk_type = r.disk_type;
    disk.source = Some(r.path);
    disk.source_element = None;
    let driver = disk.driver.get_or_insert_with(Default::default);
    if driver.format.is_none() {
        driver.format = r.format;
    }
}

/// `def` with every volume disk standing on a placeholder file, so that a definition can
/// be checked against the command line builder before any pool is running (libvirt
/// resolves volumes only when a guest starts).
pub fn placeholders(def: &DomainDef) -> DomainDef {
    let mut out = def.clone();
    for dev in out.devices.iter_mut() {
        if let Device::Disk(disk) = dev {
            if disk.disk_type == "volume" {
                apply(
                    disk,
                    Resolved {
                        disk_type: "file".into(),
                        path: "/dev/null".into(),
                        format: None,
                    },
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(disks: &str) -> DomainDef {
        let x = format!(
            "<domain type='kvm'><name>v</name><memory>65536</memory><os><type>hvm</type></os>\
             <devices>{disks}</devices></domain>"
        );
        DomainDef::parse(&x).unwrap()
    }

    fn disk(d: &DomainDef) -> &Disk {
        d.devices
            .iter()
            .find_map(|x| match x {
                Device::Disk(k) => Some(k),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn applying_keeps_the_disks_own_format() {
        let d = def(
            "<disk type='volume' device='disk'><driver name='qemu' type='raw'/>\
                     <source pool='p' volume='v'/><target dev='vda' bus='virtio'/></disk>",
        );
        let mut k = disk(&d).clone();
        apply(
            &mut k,
            Resolved {
                disk_type: "block".into(),
                path: "/dev/vg/v".into(),
                format: Some("qcow2".into()),
            },
        );
        assert_eq!(k.disk_type, "block");
        assert_eq!(k.source.as_deref(), Some("/dev/vg/v"));
        assert_eq!(k.driver.unwrap().format.as_deref(), Some("raw"));
    }

    #[test]
    fn without_a_host_the_storage_driver_is_missing() {
        let d = def(
            "<disk type='volume' device='disk'><source pool='p' volume='v'/>\
                     <target dev='vda' bus='virtio'/></disk>",
        );
        // No host is attached in a unit test: the call fails before reaching any module.
        let e = resolve("qemu:///system", &d).unwrap_err();
        assert!(e.text().contains("not attached to a host"), "{}", e.text());
        let p = placeholders(&d);
        assert_eq!(disk(&p).disk_type, "file");
    }
}
