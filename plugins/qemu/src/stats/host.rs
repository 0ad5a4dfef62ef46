//! What the host kernel knows about a QEMU process: CPU time of the process and of each
//! vCPU thread, resident memory, tap device counters, and image file sizes.

use std::path::Path;

/// Nanoseconds per clock tick of `/proc/PID/stat` (USER_HZ is 100 on Linux).
const NS_PER_TICK: u64 = 10_000_000;

/// CPU time of a process or thread, in nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    pub user: u64,
    pub system: u64,
}

impl CpuTimes {
    pub fn total(&self) -> u64 {
        self.user + self.system
    }
}

/// The fields of a `stat` line after the command name (`state` is the first).
fn stat_fields(text: &str) -> Option<Vec<&str>> {
    let (_, rest) = text.rsplit_once(')')?;
    Some(rest.split_whitespace().collect())
}

/// utime and stime of a `/proc/.../stat` text (fields 14 and 15).
pub fn parse_cpu_times(text: &str) -> Option<CpuTimes> {
    let f = stat_fields(text)?;
    let tick = |i: usize| f.get(i)?.parse::<u64>().ok().map(|t| t * NS_PER_TICK);
    Some(CpuTimes {
        user: tick(11)?,
        system: tick(12)?,
    })
}

/// CPU time of process `pid` (all its threads).
pub fn process_cpu(pid: i32) -> Option<CpuTimes> {
    parse_cpu_times(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// CPU time of thread `tid` of process `pid`.
pub fn thread_cpu(pid: i32, tid: i64) -> Option<CpuTimes> {
    parse_cpu_times(&std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).ok()?)
}

/// The host CPU thread `tid` last ran on (field 39 of its stat line).
pub fn thread_cpu_number(pid: i32, tid: i64) -> Option<i32> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).ok()?;
    stat_fields(&text)?.get(36)?.parse().ok()
}

/// Nanoseconds thread `tid` waited on a run queue (`schedstat`'s second field).
pub fn thread_run_delay(pid: i32, tid: i64) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/schedstat"))
        .ok()
        .and_then(|t| t.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// Nanoseconds thread `tid` spent waiting, from `sched`'s `wait_sum` (milliseconds, kept
/// only with `kernel.sched_schedstats` on; 0 otherwise).
pub fn thread_wait(pid: i32, tid: i64) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/sched")).unwrap_or_default();
    text.lines()
        .find(|l| {
            l.trim_start().starts_with("se.statistics.wait_sum")
                || l.trim_start().starts_with("wait_sum")
        })
        .and_then(|l| l.split(':').nth(1)?.trim().parse::<f64>().ok())
        .map(|ms| (ms * 1e6) as u64)
        .unwrap_or(0)
}

/// Resident memory of process `pid` in KiB (`statm`'s second field, in pages).
pub fn rss_kib(pid: i32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size() / 1024)
}

fn page_size() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .map_or(4096, |p| p as u64)
}

/// Counters of a host network device as the guest sees them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetCounters {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errs: u64,
    pub rx_drop: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errs: u64,
    pub tx_drop: u64,
}

/// The counters of host device `dev` under `sys_class_net`; `swapped` for a tap, whose
/// transmit is the guest's receive (a macvtap counts from the guest's side already).
pub fn net_counters(sys_class_net: &Path, dev: &str, swapped: bool) -> Option<NetCounters> {
    let dir = sys_class_net.join(dev).join("statistics");
    let read = |name: &str| -> Option<u64> {
        std::fs::read_to_string(dir.join(name))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    let (rx, tx) = if swapped { ("tx", "rx") } else { ("rx", "tx") };
    Some(NetCounters {
        rx_bytes: read(&format!("{rx}_bytes"))?,
        rx_packets: read(&format!("{rx}_packets"))?,
        rx_errs: read(&format!("{rx}_errors"))?,
        rx_drop: read(&format!("{rx}_dropped"))?,
        tx_bytes: read(&format!("{tx}_bytes"))?,
        tx_packets: read(&format!("{tx}_packets"))?,
        tx_errs: read(&format!("{tx}_errors"))?,
        tx_drop: read(&format!("{tx}_dropped"))?,
    })
}

/// Size and allocated bytes of an image file or block device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileSize {
    pub size: u64,
    pub allocated: u64,
}

pub fn file_size(path: &str) -> Option<FileSize> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some(FileSize {
        size: m.size(),
        allocated: m.blocks() * 512,
    })
}

/// The virtual size in a qcow2 header (bytes 24..32, big-endian), or the file size.
pub fn image_capacity(path: &str, format: &str, size: u64) -> u64 {
    use std::io::Read;
    if format != "qcow2" {
        return size;
    }
    let mut head = [0u8; 32];
    match std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)) {
        Ok(()) if head[..4] == *b"QFI\xfb" => {
            u64::from_be_bytes(head[24..32].try_into().unwrap_or_default())
        }
        _ => size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_times_come_from_utime_and_stime() {
        // A command name with spaces and a parenthesis must not shift the fields.
        let line = "4242 (qemu (x) y) S 1 4242 4242 0 -1 4194624 100 0 0 0 7 120 0 0 20 0 3 0 5";
        let t = parse_cpu_times(line).unwrap();
        assert_eq!(
            (t.user, t.system, t.total()),
            (70_000_000, 1_200_000_000, 1_270_000_000)
        );
        assert_eq!(parse_cpu_times("4242 (qemu) S 1"), None);
    }

    #[test]
    fn own_process_reads_back() {
        let me = std::process::id() as i32;
        assert!(process_cpu(me).is_some());
        assert!(rss_kib(me).unwrap() > 0);
        let tid = nix::unistd::gettid().as_raw() as i64;
        assert!(thread_cpu(me, tid).is_some());
        assert!(thread_cpu_number(me, tid).unwrap() >= 0);
    }

    #[test]
    fn tap_counters_are_swapped_macvtap_ones_are_not() {
        let root = std::env::temp_dir().join(format!("rvirt-netstat-{}", std::process::id()));
        let dir = root.join("tap0/statistics");
        std::fs::create_dir_all(&dir).unwrap();
        let files = [
            ("rx_bytes", 1),
            ("rx_packets", 2),
            ("rx_errors", 3),
            ("rx_dropped", 4),
            ("tx_bytes", 5),
            ("tx_packets", 6),
            ("tx_errors", 7),
            ("tx_dropped", 8),
        ];
        for (name, v) in files {
            std::fs::write(dir.join(name), format!("{v}\n")).unwrap();
        }
        let plain = net_counters(&root, "tap0", false).unwrap();
        let swapped = net_counters(&root, "tap0", true).unwrap();
        assert_eq!((plain.rx_bytes, plain.tx_drop), (1, 8));
        assert_eq!(
            (
                swapped.rx_bytes,
                swapped.rx_packets,
                swapped.rx_errs,
                swapped.rx_drop
            ),
            (5, 6, 7, 8)
        );
        assert_eq!((swapped.tx_bytes, swapped.tx_drop), (1, 4));
        assert_eq!(net_counters(&root, "tap1", false), None);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn qcow2_capacity_comes_from_its_header() {
        let dir = std::env::temp_dir().join(format!("rvirt-blkinfo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let img = dir.join("a.qcow2");
        let mut head = b"QFI\xfb".to_vec();
        head.extend([0u8; 20]);
        head.extend((64u64 << 20).to_be_bytes());
        std::fs::write(&img, &head).unwrap();
        let p = img.to_str().unwrap();
        assert_eq!(image_capacity(p, "qcow2", 32), 64 << 20);
        assert_eq!(image_capacity(p, "raw", 32), 32);
        std::fs::write(&img, b"not an image, just bytes here...").unwrap();
        assert_eq!(image_capacity(p, "qcow2", 32), 32);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
