//! The `iscsi-direct` pool backend: an iSCSI target reached from userspace through
//! libiscsi (`libiscsi.rs`, loaded at run time), no kernel initiator and no block
//! devices, as libvirt 9.0's backend does it.
//!
//! Nothing is built, started or stopped: every refresh (and so every start) connects
//! to the portal as the pool's initiator, logs in to the target, asks for its logical
//! units (REPORT LUNS) and, for each, waits until it is ready (TEST UNIT READY while it
//! reports a reset), reads its type (INQUIRY) and, for a direct-access unit, its size
//! (READ CAPACITY(16)); then logs out. Each unit is a `network` volume named
//! `unit:0:0:LUN`, its key and path `ip-HOST:PORT-iscsi-IQN-lun-LUN`, capacity and
//! allocation libvirt's product of the block length and the *last* block's address
//! (so one block short of the unit's size; 0 for units that are not disks, such as
//! tgt's controller at LUN 0). The pool's capacity and allocation are the sums.
//! A wipe with the zero algorithm writes zeros over the unit with WRITE(16), 128
//! blocks at a time; any other algorithm is refused after the login, as libvirt
//! does. Source discovery is a SendTargets discovery session at the portal. CHAP
//! authentication is not implemented (the storage module cannot read secrets).

use rvirt_xml::storage::{PoolDevice, PoolSource, StoragePoolDef, StorageVolDef};

use crate::backend::Backend;
use crate::error::{SResult, StorageError};
use crate::libiscsi::{self, Context, Failure};
use crate::state::Pool;

/// The `iscsi-direct` backend.
pub struct IscsiDirect;

const DEFAULT_PORT: i32 = 3260;
const VOL_PREFIX: &str = "unit:0:0:";
/// Blocks per WRITE(16) of a wipe.
const WIPE_BLOCKS: u64 = 128;

impl Backend for IscsiDirect {
    fn unavailable(&self) -> Option<String> {
        libiscsi::unavailable().map(|e| format!("cannot load {}: {e}", libiscsi::LIBRARY))
    }
    /// There is nothing to build: libvirt's backend has no build step.
    fn build(&self, _def: &StoragePoolDef, _flags: u32) -> SResult<()> {
        Ok(())
    }
    fn refresh(&self, p: &mut Pool) -> SResult<()> {
        refresh(p)
    }
    fn delete(&self, _def: &StoragePoolDef, _flags: u32) -> SResult<()> {
        Err(crate::backend::no_pool_delete())
    }
    fn find_sources(&self, _: &str, spec: Option<&str>, _flags: u32) -> SResult<String> {
        find_sources(spec)
    }
    fn streams(&self) -> bool {
        false
    }
    fn wipe_vol(&self, def: &StoragePoolDef, v: &StorageVolDef, algorithm: u32) -> SResult<()> {
        wipe(def, v, algorithm)
    }
}

fn failed(f: Failure) -> StorageError {
    StorageError::Internal(format!("{}: {}", f.step, f.text))
}

/// `HOST:PORT` (`[HOST]:PORT` for an IPv6 address with a port given), as libvirt
/// writes the portal.
fn portal(source: &PoolSource) -> SResult<String> {
    let [host] = &source.hosts[..] else {
        return Err(StorageError::Unsupported(
            "Expected exactly 1 host for the storage pool".into(),
        ));
    };
    Ok(if host.port == 0 {
        format!("{}:{DEFAULT_PORT}", host.name)
    } else if host.name.contains(':') {
        format!("[{}]:{}", host.name, host.port)
    } else {
        format!("{}:{}", host.name, host.port)
    })
}

/// A context of initiator `iqn` with its session set up (to `target`, or a discovery
/// session), connected and logged in at `portal`.
fn connect(iqn: &str, target: Option<&str>, portal: &str) -> SResult<Context> {
    let mut c = Context::new(iqn)
        .map_err(|e| StorageError::Internal(format!("cannot load {}: {e}", libiscsi::LIBRARY)))?
        .ok_or_else(|| {
            StorageError::Internal(format!("Failed to create iscsi context for {iqn}"))
        })?;
    c.set_session(target).map_err(failed)?;
    c.connect(portal).map_err(failed)?;
    Ok(c)
}

/// The pool's connection: its initiator logged in to its target (libvirt's order of
/// checks); and the portal.
fn pool_connection(def: &StoragePoolDef) -> SResult<(Context, String)> {
    let iqn = def
        .source
        .initiator_iqn
        .as_deref()
        .ok_or_else(|| StorageError::Unsupported("missing initiator IQN".into()))?;
    let portal = portal(&def.source)?;
    if def.source.auth.is_some() {
        return Err(StorageError::NotSupported(
            "iscsi-direct pools with CHAP authentication".into(),
        ));
    }
    let target = def.source.devices.first().map(|d| d.path.as_str());
    let target = target.ok_or_else(|| StorageError::Internal("missing source device".into()))?;
    Ok((connect(iqn, Some(target), &portal)?, portal))
}

/// TEST UNIT READY until the unit is past a reset; an error unless it is then ready.
fn unit_ready(c: &mut Context, lun: i32) -> SResult<()> {
    match libiscsi::test_unit_ready(c, lun) {
        Some(t) if t.good() => Ok(()),
        _ => Err(StorageError::Internal(format!(
            "Failed testunitready: {}",
            c.error()
        ))),
    }
}

/// `(block length, last block address)` of a direct-access unit, `(0, 0)` of others.
fn unit_capacity(c: &mut Context, lun: i32) -> SResult<(u32, u64)> {
    let inq = c.inquiry(lun).filter(|t| t.good()).ok_or_else(|| {
        StorageError::Internal(format!("Failed to send inquiry command: {}", c.error()))
    })?;
    let unmarshall =
        |c: &Context| StorageError::Internal(format!("Failed to unmarshall reply: {}", c.error()));
    if libiscsi::device_type(inq.data()).ok_or_else(|| unmarshall(c))? != 0 {
        return Ok((0, 0));
    }
    drop(inq);
    let rc = c.read_capacity16(lun).filter(|t| t.good()).ok_or_else(|| {
        StorageError::Internal(format!("Failed to get capacity of lun: {}", c.error()))
    })?;
    libiscsi::capacity16(rc.data()).ok_or_else(|| unmarshall(c))
}

/// The target's logical unit numbers (REPORT LUNS, asked again with room for all).
fn report_luns(c: &mut Context) -> SResult<Vec<u16>> {
    let err = |c: &Context| StorageError::Internal(format!("Failed to reportluns: {}", c.error()));
    let mut t = c.report_luns(16).ok_or_else(|| err(c))?;
    let full = libiscsi::report_luns_size(t.data());
    if full > t.data().len() {
        drop(t);
        t = c.report_luns(full as i32).ok_or_else(|| err(c))?;
    }
    if t.data().len() < 8 {
        return Err(StorageError::Internal(format!(
            "Failed to unmarshall reportluns: {}",
            c.error()
        )));
    }
    Ok(libiscsi::luns_of(t.data()))
}

/// The volume of unit `lun`.
fn unit_volume(
    c: &mut Context,
    def: &StoragePoolDef,
    portal: &str,
    lun: u16,
) -> SResult<StorageVolDef> {
    unit_ready(c, lun.into())?;
    let (block, blocks) = unit_capacity(c, lun.into())?;
    let size = u64::from(block) * blocks;
    let iqn = def.source.devices.first().map_or("", |d| d.path.as_str());
    let path = format!("ip-{portal}-iscsi-{iqn}-lun-{lun}");
    Ok(StorageVolDef {
        name: format!("{VOL_PREFIX}{lun}"),
        key: Some(path.clone()),
        vol_type: Some("network".into()),
        capacity: size,
        allocation: size,
        target_path: Some(path),
        ..StorageVolDef::default()
    })
}

fn refresh(p: &mut Pool) -> SResult<()> {
    let (mut c, portal) = pool_connection(&p.def)?;
    let found = report_luns(&mut c).and_then(|luns| {
        luns.into_iter()
            .map(|lun| unit_volume(&mut c, &p.def, &portal, lun))
            .collect::<SResult<Vec<_>>>()
    });
    c.disconnect();
    let vols = found?;
    p.def.capacity = vols.iter().map(|v| v.capacity).sum();
    p.def.allocation = vols.iter().map(|v| v.allocation).sum();
    p.vols = vols;
    Ok(())
}

/// A SendTargets discovery at the portal of the specification's one host, as the
/// specification's initiator.
fn find_sources(spec: Option<&str>) -> SResult<String> {
    let Some(spec) = spec else {
        return Err(StorageError::InvalidArg(
            "hostname must be specified for iscsi sources".into(),
        ));
    };
    let source = rvirt_xml::storage::parse_source_spec(spec, "iscsi-direct")?;
    if source.hosts.len() != 1 {
        return Err(StorageError::Unsupported(
            "Expected exactly 1 host for the storage pool".into(),
        ));
    }
    let Some(iqn) = source.initiator_iqn.as_deref() else {
        return Err(StorageError::Unsupported("missing initiator IQN".into()));
    };
    let mut c = connect(iqn, None, &portal(&source)?)?;
    let found = c.discover();
    c.disconnect();
    let sources: Vec<PoolSource> = found
        .map_err(failed)?
        .into_iter()
        .map(|t| PoolSource {
            hosts: source.hosts.clone(),
            devices: vec![PoolDevice {
                path: t,
                ..Default::default()
            }],
            initiator_iqn: source.initiator_iqn.clone(),
            ..PoolSource::default()
        })
        .collect();
    Ok(rvirt_xml::storage::sources_to_xml("iscsi-direct", &sources))
}

/// The LUN of a volume named `unit:0:0:LUN`.
fn lun_of(name: &str) -> SResult<i32> {
    name.strip_prefix(VOL_PREFIX)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| StorageError::Internal(format!("Invalid volume name {name}")))
}

fn wipe(def: &StoragePoolDef, v: &StorageVolDef, algorithm: u32) -> SResult<()> {
    let (mut c, _) = pool_connection(def)?;
    let done = match algorithm {
        0 => wipe_zero(&mut c, &v.name),
        n => Err(StorageError::InvalidArg(format!(
            "unsupported algorithm {n}"
        ))),
    };
    c.disconnect();
    done
}

/// Zeros over the unit, `WIPE_BLOCKS` blocks per command, up to and including the
/// last block.
fn wipe_zero(c: &mut Context, name: &str) -> SResult<()> {
    let lun = lun_of(name)?;
    unit_ready(c, lun)?;
    let (block, last) = unit_capacity(c, lun)?;
    let mut data = vec![0u8; block as usize * WIPE_BLOCKS as usize];
    let mut lba = 0;
    while lba < last {
        let n = (last - lba + 1).min(WIPE_BLOCKS);
        let len = n as usize * block as usize;
        let ok = c
            .write16(lun, lba, &mut data[..len], block)
            .is_some_and(|t| t.good());
        if !ok {
            return Err(StorageError::Internal(format!(
                "failed to write to LUN {lun}: {}",
                c.error()
            )));
        }
        lba += n;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(xml: &str) -> PoolSource {
        rvirt_xml::storage::parse_source_spec(xml, "iscsi-direct").unwrap()
    }

    #[test]
    fn portals_as_libvirt_writes_them() {
        assert_eq!(
            portal(&src("<source><host name='h'/></source>")).unwrap(),
            "h:3260"
        );
        assert_eq!(
            portal(&src("<source><host name='::1' port='3261'/></source>")).unwrap(),
            "[::1]:3261"
        );
        // Without a port, an IPv6 address is not bracketed (libvirt's order of cases).
        assert_eq!(
            portal(&src("<source><host name='::1'/></source>")).unwrap(),
            "::1:3260"
        );
        assert_eq!(
            portal(&src("<source></source>")).unwrap_err().to_string(),
            "unsupported configuration: Expected exactly 1 host for the storage pool"
        );
    }

    #[test]
    fn discovery_and_volume_names_are_checked() {
        assert_eq!(
            find_sources(None).unwrap_err().to_string(),
            "invalid argument: hostname must be specified for iscsi sources"
        );
        assert_eq!(
            find_sources(Some("<source><host name='h'/></source>"))
                .unwrap_err()
                .to_string(),
            "unsupported configuration: missing initiator IQN"
        );
        assert_eq!(lun_of("unit:0:0:12").unwrap(), 12);
        assert_eq!(
            lun_of("unit:0:1:2").unwrap_err().to_string(),
            "internal error: Invalid volume name unit:0:1:2"
        );
    }

    #[test]
    fn chap_is_refused_before_connecting() {
        let def = StoragePoolDef::parse(
            "<pool type='iscsi-direct'><name>a</name><source><host name='h'/>\
             <device path='iqn.t'/><initiator><iqn name='iqn.i'/></initiator>\
             <auth type='chap' username='u'><secret usage='x'/></auth></source></pool>",
        )
        .unwrap();
        assert_eq!(
            pool_connection(&def).err().unwrap().to_string(),
            "Operation not supported: iscsi-direct pools with CHAP authentication"
        );
    }
}
