//! Host-level answers: capabilities XML, sysinfo, node info and host name.

use std::fmt::Write;

use rvirt_plugin_api::protocol::RemoteNodeGetInfoRet;

use crate::error::{TestError, TestResult};
use crate::state::Inner;

/// The test hypervisor's fixed SMBIOS description.
pub const SYSINFO: &str =
    "<sysinfo type='smbios'>\n  <bios>\n    <entry name='vendor'>LENOVO</entry>\n    \
<entry name='version'>G4ETA1WW (2.61 )</entry>\n    <entry name='date'>05/07/2014</entry>\n    \
<entry name='release'>2.61</entry>\n  </bios>\n</sysinfo>\n";

/// Version reported by CONNECT_GET_VERSION (0.0.2).
pub const HV_VERSION: u64 = 2;

/// Page sizes (KiB) the fake host offers.
const PAGE_SIZES: [u64; 4] = [4, 8, 2048, 1024 * 1024];

/// The name of the machine rvirt runs on.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

pub fn node_info(s: &Inner) -> RemoteNodeGetInfoRet {
    let mut model = [0i8; 32];
    for (dst, b) in model.iter_mut().zip(s.cpu.model.bytes().take(31)) {
        *dst = b as i8;
    }
    RemoteNodeGetInfoRet {
        model,
        memory: s.memory_kib,
        cpus: s.cpu.active as i32,
        mhz: s.cpu.mhz as i32,
        nodes: s.cpu.nodes as i32,
        sockets: s.cpu.sockets as i32,
        cores: s.cpu.cores as i32,
        threads: s.cpu.threads as i32,
    }
}

/// Free memory of the host, summed over NUMA cells.
pub fn free_memory(s: &Inner) -> u64 {
    s.cells.iter().map(|c| c.free_mem).sum()
}

/// Memory of cells `start..start+max`.
pub fn cells_free_memory(s: &Inner, start: i32, max: i32) -> TestResult<Vec<u64>> {
    if start < 0 || start as usize >= s.cells.len() {
        return Err(TestError::InvalidArg("Range exceeds available cells".into()).into());
    }
    Ok(s.cells
        .iter()
        .skip(start as usize)
        .take(max.max(0) as usize)
        .map(|c| c.mem)
        .collect())
}

fn write_cells(x: &mut String, s: &Inner) {
    let _ = writeln!(x, "    <topology>\n      <cells num='{}'>", s.cells.len());
    let mut cpu_id = 0;
    for (i, c) in s.cells.iter().enumerate() {
        let _ = writeln!(
            x,
            "        <cell id='{i}'>\n          <memory unit='KiB'>{}</memory>",
            c.mem
        );
        let first = if i == 1 { PAGE_SIZES[1] } else { PAGE_SIZES[0] };
        let _ = writeln!(
            x,
            "          <pages unit='KiB' size='{first}'>{}</pages>",
            c.mem / first
        );
        for size in &PAGE_SIZES[2..] {
            let _ = writeln!(x, "          <pages unit='KiB' size='{size}'>0</pages>");
        }
        let _ = writeln!(x, "          <cpus num='{}'>", c.cpus);
        for core in 0..c.cpus {
            let _ = writeln!(
                x,
                "            <cpu id='{cpu_id}' socket_id='{i}' die_id='0' core_id='{core}' siblings='{cpu_id}'/>"
            );
            cpu_id += 1;
        }
        x.push_str("          </cpus>\n        </cell>\n");
    }
    x.push_str("      </cells>\n    </topology>\n");
}

fn write_guest(x: &mut String, os_type: &str) {
    let _ = write!(
        x,
        "  <guest>\n    <os_type>{os_type}</os_type>\n    <arch name='i686'>\n      <wordsize>32</wordsize>\n      \
<emulator>/usr/bin/test-hv</emulator>\n      <domain type='test'/>\n    </arch>\n    <features>\n      <pae/>\n      \
<nonpae/>\n    </features>\n  </guest>\n"
    );
}

/// The capabilities document of the test hypervisor.
pub fn capabilities(s: &Inner) -> String {
    let mut x = String::from(
        "<capabilities>\n\n  <host>\n    <cpu>\n      <arch>i686</arch>\n      <features>\n        <pae/>\n        \
<nonpae/>\n      </features>\n",
    );
    for size in PAGE_SIZES {
        let _ = writeln!(x, "      <pages unit='KiB' size='{size}'/>");
    }
    x.push_str("    </cpu>\n    <power_management/>\n    <iommu support='no'/>\n");
    write_cells(&mut x, s);
    x.push_str("    <secmodel>\n      <model>testSecurity</model>\n      <doi></doi>\n    </secmodel>\n  </host>\n\n");
    write_guest(&mut x, "hvm");
    x.push('\n');
    write_guest(&mut x, "xen");
    x.push_str("\n</capabilities>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Driver;

    #[test]
    fn capabilities_match_fixture() {
        let want = crate::testutil::fixture("capabilities-full.txt");
        let got = Driver::new_default().read(|s| Ok(capabilities(s))).unwrap();
        assert_eq!(got, want);
        assert_eq!(got.len(), 2799);
    }

    #[test]
    fn node_values_match_fixtures() {
        Driver::new_default()
            .read(|s| {
                let ni = node_info(s);
                assert_eq!(
                    (ni.memory, ni.cpus, ni.mhz, ni.nodes, ni.sockets),
                    (3145728, 16, 1400, 2, 2)
                );
                assert_eq!(
                    ni.model[..5],
                    [b'i' as i8, b'6' as i8, b'8' as i8, b'6' as i8, 0]
                );
                assert_eq!(free_memory(s) / 1024, 3072);
                assert_eq!(cells_free_memory(s, 0, 8)?, [2097152, 4194304]);
                assert_eq!(cells_free_memory(s, 2, 1).unwrap_err().code, 8);
                Ok(())
            })
            .unwrap();
    }
}
