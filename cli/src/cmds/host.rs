//! Host and hypervisor commands.

use super::cmd;
use rvirt_protocol as p;
use rvirt_protocol::RemoteClient;

use crate::ctl::{chars_to_string, CmdError, Context, Ctl};
use crate::fmt::obj;
use crate::opts::{Args, Cmd, Opt};

/// The libvirt release whose client behaviour rvirsh reproduces.
pub const LIBVIRT_COMPAT_VERSION: u64 = 9_000_000;

fn version_str(v: u64) -> String {
    format!("{}.{}.{}", v / 1_000_000, (v % 1_000_000) / 1000, v % 1000)
}

pub const CMDS: &[Cmd] = &[
    cmd(
        "capabilities",
        "capabilities",
        "Prints the hypervisor capabilities as XML.",
        &[],
        capabilities,
    ),
    cmd(
        "domcapabilities",
        "domain capabilities",
        "Prints what the hypervisor offers for a domain type, as XML.",
        DOMCAPS,
        domcapabilities,
    ),
    cmd(
        "freecell",
        "NUMA free memory",
        "Prints free memory on the host, per NUMA cell or in total.",
        FREECELL,
        freecell,
    ),
    cmd(
        "hostname",
        "print the hypervisor hostname",
        "",
        &[],
        hostname,
    ),
    cmd(
        "nodeinfo",
        "node information",
        "Prints basic facts about the host machine.",
        &[Opt::json()],
        nodeinfo,
    ),
    cmd(
        "sysinfo",
        "print the hypervisor sysinfo",
        "Prints the host's SMBIOS data as XML.",
        &[],
        sysinfo,
    ),
    cmd("uri", "print the hypervisor canonical URI", "", &[], uri),
    cmd(
        "version",
        "show version",
        "Prints the library and hypervisor versions.",
        VERSION,
        version,
    ),
];

const DOMCAPS: &[Opt] = &[
    Opt::string("virttype", "virtualization type (/domain/@type)"),
    Opt::string(
        "emulatorbin",
        "path to emulator binary (/domain/devices/emulator)",
    ),
    Opt::string("arch", "domain architecture (/domain/os/type/@arch)"),
    Opt::string("machine", "machine type (/domain/os/type/@machine)"),
];
const FREECELL: &[Opt] = &[
    Opt::int("cellno", "NUMA cell number"),
    Opt::flag("all", "show free memory for all NUMA cells"),
];
const VERSION: &[Opt] = &[
    Opt::flag("daemon", "also report the daemon version"),
    Opt::json(),
];

fn capabilities(ctl: &mut Ctl, _: &Args) -> Result<(), CmdError> {
    let caps = ctl
        .conn()?
        .connect_get_capabilities()
        .ctx(|| "failed to get capabilities".into())?;
    println!("{}", caps.capabilities);
    Ok(())
}

fn domcapabilities(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let args = p::RemoteConnectGetDomainCapabilitiesArgs {
        emulatorbin: a.get("emulatorbin").map(Into::into),
        arch: a.get("arch").map(Into::into),
        machine: a.get("machine").map(Into::into),
        virttype: a.get("virttype").map(Into::into),
        flags: 0,
    };
    let r = ctl
        .conn()?
        .connect_get_domain_capabilities(&args)
        .ctx(|| "failed to get emulator capabilities".into())?;
    println!("{}", r.capabilities);
    Ok(())
}

fn freecell(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let all = a.has("all");
    let cell: Option<i32> = a.int("cellno")?;
    if all && cell.is_some() {
        return Err(CmdError::Msg(
            "Options --all and --cellno are mutually exclusive".into(),
        ));
    }
    let c = ctl.conn()?;
    if let Some(cell) = cell {
        let r = c.node_get_cells_free_memory(&p::RemoteNodeGetCellsFreeMemoryArgs {
            start_cell: cell,
            maxcells: 1,
        })?;
        let mem = r.cells.first().copied().unwrap_or(0);
        println!("{cell}: {} KiB", mem / 1024);
        return Ok(());
    }
    if !all {
        let mem = c.node_get_free_memory()?.free_mem;
        println!("Total: {} KiB", mem / 1024);
        return Ok(());
    }
    let caps = c
        .connect_get_capabilities()
        .ctx(|| "unable to get node capabilities".into())?
        .capabilities;
    let ids = cell_ids(&caps);
    let mut total = 0u64;
    for id in ids {
        let r = c
            .node_get_cells_free_memory(&p::RemoteNodeGetCellsFreeMemoryArgs {
                start_cell: id,
                maxcells: 1,
            })
            .ctx(|| format!("failed to get free memory for NUMA node number: {id}"))?;
        let mem = r.cells.first().copied().unwrap_or(0);
        println!("{id:>5}: {:>10} KiB", mem / 1024);
        total += mem;
    }
    println!("--------------------");
    println!("{:>5}: {:>10} KiB", "Total", total / 1024);
    Ok(())
}

/// The ids of `<cell id='N'>` elements in a capabilities document.
fn cell_ids(caps: &str) -> Vec<i32> {
    caps.split("<cell ")
        .skip(1)
        .filter_map(|s| {
            let s = s.split_once("id=")?.1;
            let q = s.chars().next()?;
            s[1..].split(q).next()?.parse().ok()
        })
        .collect()
}

fn hostname(ctl: &mut Ctl, _: &Args) -> Result<(), CmdError> {
    let h = ctl
        .conn()?
        .connect_get_hostname()
        .ctx(|| "failed to get hostname".into())?;
    println!("{}", h.hostname);
    Ok(())
}

fn nodeinfo(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let i = ctl
        .conn()?
        .node_get_info()
        .ctx(|| "failed to get node information".into())?;
    let model = chars_to_string(&i.model);
    if a.has("json") {
        let j = obj([
            ("cpu_model", model.into()),
            ("cpus", i.cpus.into()),
            ("mhz", i.mhz.into()),
            ("sockets", i.sockets.into()),
            ("cores_per_socket", i.cores.into()),
            ("threads_per_core", i.threads.into()),
            ("numa_cells", i.nodes.into()),
            ("memory_kib", i.memory.into()),
        ]);
        print!("{}", j.render());
        return Ok(());
    }
    println!("{:<20} {}", "CPU model:", model);
    println!("{:<20} {}", "CPU(s):", i.cpus);
    if i.mhz != 0 {
        println!("{:<20} {} MHz", "CPU frequency:", i.mhz);
    }
    println!("{:<20} {}", "CPU socket(s):", i.sockets);
    println!("{:<20} {}", "Core(s) per socket:", i.cores);
    println!("{:<20} {}", "Thread(s) per core:", i.threads);
    println!("{:<20} {}", "NUMA cell(s):", i.nodes);
    println!("{:<20} {} KiB", "Memory size:", i.memory);
    Ok(())
}

fn sysinfo(ctl: &mut Ctl, _: &Args) -> Result<(), CmdError> {
    let r = ctl
        .conn()?
        .connect_get_sysinfo(&p::RemoteConnectGetSysinfoArgs { flags: 0 })
        .ctx(|| "failed to get sysinfo".into())?;
    print!("{}", r.sysinfo);
    Ok(())
}

/// The canonical URI as the driver side knows it (virsh asks the server too, so a
/// `test+unix:///default?socket=...` connection prints `test:///default`).
fn uri(ctl: &mut Ctl, _: &Args) -> Result<(), CmdError> {
    let uri = ctl
        .conn()?
        .connect_get_uri()
        .ctx(|| "failed to get URI".into())?
        .uri;
    println!("{uri}");
    Ok(())
}

fn version(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let c = ctl.conn()?;
    let ty = c
        .connect_get_type()
        .ctx(|| "failed to get hypervisor type".into())?
        .r#type;
    let hv = c
        .connect_get_version()
        .ctx(|| "failed to get the hypervisor version".into())?
        .hv_ver;
    let daemon = if a.has("daemon") {
        Some(
            c.connect_get_lib_version()
                .ctx(|| "failed to get the daemon version".into())?
                .lib_ver,
        )
    } else {
        None
    };
    let lib = version_str(LIBVIRT_COMPAT_VERSION);
    if a.has("json") {
        let j = obj([
            ("library", lib.as_str().into()),
            ("api", format!("{ty} {lib}").into()),
            ("hypervisor_type", ty.into()),
            (
                "hypervisor_version",
                (hv != 0).then(|| version_str(hv)).into(),
            ),
            ("daemon_version", daemon.map(version_str).into()),
        ]);
        print!("{}", j.render());
        return Ok(());
    }
    println!("Compiled against library: libvirt {lib}");
    println!("Using library: libvirt {lib}");
    println!("Using API: {ty} {lib}");
    if hv == 0 {
        println!("Cannot extract running {ty} hypervisor version");
    } else {
        println!("Running hypervisor: {ty} {}", version_str(hv));
    }
    if let Some(d) = daemon {
        println!("Running against daemon: {}", version_str(d));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(version_str(9_000_000), "9.0.0");
        assert_eq!(version_str(2), "0.0.2");
        assert_eq!(version_str(8_002_013), "8.2.13");
    }

    #[test]
    fn cells() {
        assert_eq!(
            cell_ids("<cells num='2'><cell id='0'>x</cell><cell id='1'>"),
            vec![0, 1]
        );
    }
}
