//! Disks (`storage`) and the SCSI tree (`scsi_host`, `scsi_target`, `scsi`), as
//! libvirt's node-device driver reports them.

use std::fmt::Write;

use crate::sysfs::{esc, num, sanitize, SysDev};

/// libvirt's drive type: udev's `ID_TYPE` (`cd` spelled `cdrom`), else what udev's
/// other flags or the node's name tell; `None` for block devices libvirt skips (loop,
/// zram, ... without udev, or a type it does not handle).
fn drive_type(dev: &SysDev, node: &str) -> Option<&'static str> {
    let flag = |k: &str| dev.prop(k) == Some("1");
    let t = match dev.prop("ID_TYPE") {
        Some("disk") => "disk",
        Some("cd") => "cdrom",
        Some("floppy") => "floppy",
        Some("sd") => "sd",
        Some(_) => return None,
        None if flag("ID_DRIVE_FLOPPY") => "floppy",
        None if flag("ID_CDROM") => "cdrom",
        None if flag("ID_DRIVE_FLASH_SD") => "sd",
        None if node.starts_with("/dev/vd") => "disk",
        None => return None,
    };
    Some(t)
}

fn opt(o: &mut String, tag: &str, v: Option<String>) {
    if let Some(v) = v {
        let _ = write!(o, "<{tag}>{}</{tag}>", esc(&v));
    }
}

/// `storage`: a whole disk (partitions are not node devices), named `block_DEV` or
/// `block_DEV_SERIAL` when udev knows the serial.
pub fn storage(dev: &SysDev) -> Option<(String, String)> {
    let node = dev.devnode()?;
    let kind = drive_type(dev, &node)?;
    let serial = dev.prop("ID_SERIAL").map(str::to_string);
    let name = match &serial {
        Some(s) => format!("block_{}_{}", sanitize(&dev.sysname), sanitize(s)),
        None => format!("block_{}", sanitize(&dev.sysname)),
    };
    let prop = |k: &str| dev.prop(k).map(str::to_string);
    let mut o = format!("<capability type='storage'><block>{}</block>", esc(&node));
    opt(&mut o, "bus", prop("ID_BUS"));
    let _ = write!(o, "<drive_type>{kind}</drive_type>");
    opt(
        &mut o,
        "model",
        prop("ID_MODEL").or_else(|| dev.attr("device/model")),
    );
    opt(
        &mut o,
        "vendor",
        prop("ID_VENDOR").or_else(|| dev.attr("device/vendor")),
    );
    opt(&mut o, "serial", serial);
    let blocks = dev.attr("size").and_then(|s| num(&s)).unwrap_or(0);
    let lbs = dev
        .attr("queue/logical_block_size")
        .and_then(|s| num(&s))
        .unwrap_or(512);
    let sizes =
        format!("<logical_block_size>{lbs}</logical_block_size><num_blocks>{blocks}</num_blocks>");
    if kind == "cdrom" || kind == "floppy" {
        let media = if kind == "cdrom" {
            dev.prop("ID_CDROM_MEDIA") == Some("1")
        } else {
            blocks > 0
        };
        let _ = write!(
            o,
            "<capability type='removable'><media_available>{}</media_available>\
             <media_size>{}</media_size>",
            u8::from(media),
            blocks * lbs
        );
        opt(&mut o, "media_label", prop("ID_FS_LABEL"));
        let _ = write!(o, "{sizes}</capability>");
    } else {
        let _ = write!(o, "<size>{}</size>{sizes}", blocks * lbs);
    }
    if dev.attr("removable").as_deref() == Some("1") {
        o.push_str("<capability type='hotpluggable'/>");
    }
    o.push_str("</capability>");
    Some((name, o))
}

/// A Fibre Channel WWN as sysfs shows it (`0x2000...`), as libvirt writes it.
fn wwn(dev: &SysDev, attr: &str) -> Option<String> {
    let v = dev.attr(attr)?;
    Some(v.strip_prefix("0x").unwrap_or(&v).to_string())
}

/// `scsi_host`: its number, unique id, and the Fibre Channel HBA's names and vports.
pub fn scsi_host(dev: &SysDev) -> Option<String> {
    let n: u32 = dev.sysname.strip_prefix("host")?.parse().ok()?;
    let mut o = format!("<capability type='scsi_host'><host>{n}</host>");
    let uid = dev.attr(&format!("scsi_host/{}/unique_id", dev.sysname));
    if let Some(u) = uid.and_then(|u| u.parse::<i32>().ok()) {
        let _ = write!(o, "<unique_id>{u}</unique_id>");
    }
    let fc = format!("fc_host/{}", dev.sysname);
    if dev.path.join(&fc).is_dir() {
        o.push_str("<capability type='fc_host'>");
        opt(&mut o, "wwnn", wwn(dev, &format!("{fc}/node_name")));
        opt(&mut o, "wwpn", wwn(dev, &format!("{fc}/port_name")));
        opt(&mut o, "fabric_wwn", wwn(dev, &format!("{fc}/fabric_name")));
        o.push_str("</capability>");
        if dev.path.join(format!("{fc}/vport_create")).exists() {
            let count = |a: &str| dev.attr(&format!("{fc}/{a}")).unwrap_or_else(|| "0".into());
            let _ = write!(
                o,
                "<capability type='vport_ops'><max_vports>{}</max_vports><vports>{}</vports>\
                 </capability>",
                esc(&count("max_npiv_vports")),
                esc(&count("npiv_vports_inuse"))
            );
        }
    }
    o.push_str("</capability>");
    Some(o)
}

/// `scsi_target`: its name, and the remote port it is reached through on an FC fabric.
pub fn scsi_target(dev: &SysDev) -> String {
    let mut o = format!(
        "<capability type='scsi_target'><target>{}</target>",
        esc(&dev.sysname)
    );
    let rport = dev.path.parent().and_then(|p| {
        let name = p.file_name()?.to_string_lossy().into_owned();
        name.starts_with("rport-").then(|| (p.to_path_buf(), name))
    });
    if let Some((dir, name)) = rport {
        let port =
            std::fs::read_to_string(dir.join("fc_remote_ports").join(&name).join("port_name"));
        let _ = write!(
            o,
            "<capability type='fc_remote_port'><rport>{}</rport>",
            esc(&name)
        );
        opt(&mut o, "wwpn", port.ok().map(|p| p.trim().to_string()));
        o.push_str("</capability>");
    }
    o.push_str("</capability>");
    o
}

/// SCSI peripheral device types as libvirt names them.
fn scsi_type(t: u64) -> Option<&'static str> {
    Some(match t {
        0 => "disk",
        1 => "tape",
        2 => "printer",
        3 => "processor",
        4 => "worm",
        5 => "cdrom",
        6 => "scanner",
        7 => "optical",
        8 => "changer",
        9 => "comm",
        12 => "array",
        13 => "enclosure",
        14 => "rbc",
        15 => "ospd",
        _ => return None,
    })
}

/// `scsi`: a SCSI device's address and type.
pub fn scsi(dev: &SysDev) -> Option<String> {
    let n: Vec<u32> = dev
        .sysname
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, b, t, l] = n[..] else { return None };
    let mut o = format!(
        "<capability type='scsi'><host>{h}</host><bus>{b}</bus><target>{t}</target><lun>{l}</lun>"
    );
    if let Some(ty) = dev.attr("type").and_then(|t| num(&t)).and_then(scsi_type) {
        let _ = write!(o, "<type>{ty}</type>");
    }
    o.push_str("</capability>");
    Some(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::path::PathBuf;

    fn dev(path: PathBuf, props: &[(&str, &str)]) -> SysDev {
        SysDev {
            sysname: path.file_name().unwrap().to_string_lossy().into_owned(),
            path,
            subsystem: "block".into(),
            props: props
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>(),
            links: Vec::new(),
        }
    }

    #[test]
    fn cdrom_with_media_and_a_hotpluggable_flag() {
        let dir = std::env::temp_dir().join(format!("rvirt-nodedev-sr-{}", std::process::id()));
        let sr = dir.join("sr0");
        std::fs::create_dir_all(sr.join("queue")).unwrap();
        std::fs::write(sr.join("size"), "732\n").unwrap();
        std::fs::write(sr.join("queue/logical_block_size"), "2048\n").unwrap();
        std::fs::write(sr.join("removable"), "1\n").unwrap();
        let d = dev(
            sr,
            &[
                ("DEVNAME", "sr0"),
                ("ID_TYPE", "cd"),
                ("ID_CDROM_MEDIA", "1"),
                ("ID_SERIAL", "QEMU_DVD-ROM_QM00003"),
                ("ID_BUS", "ata"),
                ("ID_FS_LABEL", "CIDATA"),
            ],
        );
        let (name, cap) = storage(&d).unwrap();
        assert_eq!(name, "block_sr0_QEMU_DVD_ROM_QM00003");
        assert_eq!(
            cap,
            "<capability type='storage'><block>/dev/sr0</block><bus>ata</bus>\
             <drive_type>cdrom</drive_type><serial>QEMU_DVD-ROM_QM00003</serial>\
             <capability type='removable'><media_available>1</media_available>\
             <media_size>1499136</media_size><media_label>CIDATA</media_label>\
             <logical_block_size>2048</logical_block_size><num_blocks>732</num_blocks>\
             </capability><capability type='hotpluggable'/></capability>"
        );
        let loop0 = dev(dir.join("loop0"), &[("DEVNAME", "loop0")]);
        assert!(storage(&loop0).is_none());
        let tape = dev(dir.join("st0"), &[("DEVNAME", "st0"), ("ID_TYPE", "tape")]);
        assert!(storage(&tape).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn scsi_addresses() {
        let mut d = dev(PathBuf::from("/nonexistent/5:0:1:2"), &[]);
        d.subsystem = "scsi".into();
        assert_eq!(
            scsi(&d).unwrap(),
            "<capability type='scsi'><host>5</host><bus>0</bus><target>1</target>\
             <lun>2</lun></capability>"
        );
        let t = dev(
            PathBuf::from("/nonexistent/host5/rport-5:0-0/target5:0:0"),
            &[],
        );
        assert_eq!(
            scsi_target(&t),
            "<capability type='scsi_target'><target>target5:0:0</target>\
             <capability type='fc_remote_port'><rport>rport-5:0-0</rport></capability>\
             </capability>"
        );
        assert_eq!(scsi_type(5), Some("cdrom"));
    }
}
