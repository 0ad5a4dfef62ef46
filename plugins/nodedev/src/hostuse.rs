//! What the host itself uses, so that it is never handed to a guest: block devices with
//! a mounted file system or active swap (through device-mapper and md to the disks
//! under them), and the interfaces of default routes (through bridges and bonds to the
//! devices under them). Each is found as a canonical sysfs path; a PCI device carries it
//! when that path runs through the device.

use std::fs;
use std::path::{Path, PathBuf};

use crate::assign::Host;

/// How deep stacked devices (dm on md on disks, a bridge on a bond) are followed.
const MAX_DEPTH: usize = 8;

/// What under the PCI device at `pci` (a sysfs path) the host uses, described for an
/// error message; `None` when nothing.
pub fn carried_by(host: &Host, pci: &Path) -> Option<String> {
    let pci = fs::canonicalize(pci).ok()?;
    used(host)
        .into_iter()
        .find(|(_, path)| path.starts_with(&pci))
        .map(|(what, _)| what)
}

/// Everything the host uses: (description, canonical sysfs path).
fn used(host: &Host) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for (devno, what) in mounted(host) {
        let path = host.sys.join("dev/block").join(&devno);
        stacked(&path, "slaves", &what, 0, &mut out);
    }
    for iface in default_route_ifaces(host) {
        let what = format!("{iface}, the interface of a default route");
        let path = host.sys.join("class/net").join(&iface);
        lower_ifaces(&path, &what, 0, &mut out);
    }
    out
}

/// A device and, for a stacked one, the devices in `dir` under it (`slaves`).
fn stacked(path: &Path, dir: &str, what: &str, depth: usize, out: &mut Vec<(String, PathBuf)>) {
    let Ok(canon) = fs::canonicalize(path) else {
        return;
    };
    if depth < MAX_DEPTH {
        for e in fs::read_dir(canon.join(dir))
            .into_iter()
            .flatten()
            .flatten()
        {
            stacked(&e.path(), dir, what, depth + 1, out);
        }
    }
    out.push((what.to_string(), canon));
}

/// A network interface and the ones under it (`lower_*` links of bridges, bonds, VLANs).
fn lower_ifaces(path: &Path, what: &str, depth: usize, out: &mut Vec<(String, PathBuf)>) {
    let Ok(canon) = fs::canonicalize(path) else {
        return;
    };
    if depth < MAX_DEPTH {
        for e in fs::read_dir(&canon).into_iter().flatten().flatten() {
            if e.file_name().to_string_lossy().starts_with("lower_") {
                lower_ifaces(&e.path(), what, depth + 1, out);
            }
        }
    }
    out.push((what.to_string(), canon));
}

/// `MAJOR:MINOR` of every block device with a mounted file system (from mountinfo) or
/// active swap, with a description.
fn mounted(host: &Host) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let info = fs::read_to_string(host.proc.join("self/mountinfo")).unwrap_or_default();
    for line in info.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let (Some(devno), Some(mnt)) = (f.get(2), f.get(4)) else {
            continue;
        };
        if devno.starts_with("0:") {
            continue;
        }
        let source = line
            .split(" - ")
            .nth(1)
            .and_then(|s| s.split(' ').nth(1))
            .unwrap_or("a block device");
        out.push((devno.to_string(), format!("{source} mounted on {mnt}")));
    }
    let swaps = fs::read_to_string(host.proc.join("swaps")).unwrap_or_default();
    for dev in swaps
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
    {
        if let Some(devno) = block_devno(Path::new(dev)) {
            out.push((devno, format!("{dev}, active swap")));
        }
    }
    out
}

/// `MAJOR:MINOR` of a block device node.
fn block_devno(path: &Path) -> Option<String> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let m = fs::metadata(path).ok()?;
    if !m.file_type().is_block_device() {
        return None;
    }
    let rdev = m.rdev();
    Some(format!("{}:{}", libc::major(rdev), libc::minor(rdev)))
}

/// Interfaces with an IPv4 or IPv6 default route.
fn default_route_ifaces(host: &Host) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let v4 = fs::read_to_string(host.proc.join("net/route")).unwrap_or_default();
    for line in v4.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() > 7 && f[1] == "00000000" && f[7] == "00000000" {
            out.push(f[0].to_string());
        }
    }
    let v6 = fs::read_to_string(host.proc.join("net/ipv6_route")).unwrap_or_default();
    for line in v6.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let default = f.len() == 10 && f[0].bytes().all(|b| b == b'0') && f[1] == "00";
        if default && f[9] != "lo" {
            out.push(f[9].to_string());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The process holding `node` (a `/dev/vfio/N`) open, described: `process PID (COMM)`.
pub fn holder_of(proc: &Path, node: &Path) -> Option<String> {
    for p in fs::read_dir(proc).ok()?.flatten() {
        let name = p.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let fds = fs::read_dir(p.path().join("fd"))
            .into_iter()
            .flatten()
            .flatten();
        if fds
            .into_iter()
            .any(|fd| fs::read_link(fd.path()).is_ok_and(|l| l == node))
        {
            let comm = fs::read_to_string(p.path().join("comm")).unwrap_or_default();
            return Some(format!("process {name} ({})", comm.trim()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn fake(tag: &str) -> (PathBuf, Host) {
        let d = std::env::temp_dir().join(format!("rvirt-hostuse-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        let host = Host {
            sys: d.join("sys"),
            proc: d.join("proc"),
            dev: d.join("dev"),
        };
        for p in [
            "sys/dev/block",
            "sys/class/net",
            "proc/self",
            "proc/net",
            "dev",
        ] {
            fs::create_dir_all(d.join(p)).unwrap();
        }
        (d, host)
    }

    #[test]
    fn the_root_disk_and_the_default_route_are_found_under_their_pci_devices() {
        let (d, host) = fake("pci");
        let devices = d.join("sys/devices/pci0000:00");
        // vda1 on a virtio disk at 00:04.0, mounted on /.
        let vda1 = devices.join("0000:00:04.0/virtio1/block/vda/vda1");
        fs::create_dir_all(&vda1).unwrap();
        symlink(&vda1, d.join("sys/dev/block/254:1")).unwrap();
        fs::write(
            d.join("proc/self/mountinfo"),
            "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n\
             23 22 0:5 / /proc rw - proc proc rw\n",
        )
        .unwrap();
        // br0 over eth0 at 00:03.0 carries the default route.
        let eth0 = devices.join("0000:00:03.0/net/eth0");
        let br0 = d.join("sys/devices/virtual/net/br0");
        fs::create_dir_all(&eth0).unwrap();
        fs::create_dir_all(&br0).unwrap();
        symlink(&br0, d.join("sys/class/net/br0")).unwrap();
        symlink(&eth0, br0.join("lower_eth0")).unwrap();
        fs::write(
            d.join("proc/net/route"),
            "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n\
             br0\t00000000\t0102000A\t0003\t0\t0\t0\t00000000\n",
        )
        .unwrap();
        fs::create_dir_all(devices.join("0000:00:05.0")).unwrap();
        assert_eq!(
            carried_by(&host, &devices.join("0000:00:04.0")).as_deref(),
            Some("/dev/vda1 mounted on /")
        );
        assert_eq!(
            carried_by(&host, &devices.join("0000:00:03.0")).as_deref(),
            Some("br0, the interface of a default route")
        );
        assert_eq!(carried_by(&host, &devices.join("0000:00:05.0")), None);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn the_holder_of_a_vfio_group_is_named() {
        let (d, _) = fake("holder");
        let node = d.join("dev/vfio-7");
        fs::write(&node, "").unwrap();
        let p = d.join("proc/4242");
        fs::create_dir_all(p.join("fd")).unwrap();
        fs::write(p.join("comm"), "qemu-system-x86\n").unwrap();
        assert_eq!(holder_of(&d.join("proc"), &node), None);
        symlink(&node, p.join("fd/3")).unwrap();
        assert_eq!(
            holder_of(&d.join("proc"), &node).as_deref(),
            Some("process 4242 (qemu-system-x86)")
        );
        fs::remove_dir_all(&d).unwrap();
    }
}
