//! The command table, grouped like virsh's `help` shows it.

mod dom;
mod dom_agent;
mod dom_devices;
mod dom_extra;
mod dom_hotplug;
mod dom_info;
mod dom_save;
mod event;
mod host;
mod misc;
pub mod names;
mod net;
mod net_meta;
mod net_port;
mod net_update;
mod nodedev;
mod nodedev_ops;
mod object_event;
mod pool;
mod snapshot;
mod snapshot_more;
mod storage_extra;
mod virsh;
mod vol;

use rvirt_protocol as p;

use crate::opts::{Args, Cmd, Group};

pub use event::utc_time as event_time;
pub use host::LIBVIRT_COMPAT_VERSION;

/// All command groups in `help` order.
pub static GROUPS: &[Group] = &[
    Group {
        title: "Domain Management",
        keyword: "domain",
        cmds: dom::CMDS,
    },
    Group {
        title: "Domain Management",
        keyword: "domain",
        cmds: dom_extra::CMDS,
    },
    Group {
        title: "Domain Management",
        keyword: "domain",
        cmds: dom_hotplug::CMDS,
    },
    Group {
        title: "Domain Management",
        keyword: "domain",
        cmds: dom_save::CMDS,
    },
    Group {
        title: "Domain Management",
        keyword: "domain",
        cmds: dom_agent::CMDS,
    },
    Group {
        title: "Domain Monitoring",
        keyword: "monitor",
        cmds: dom_info::CMDS,
    },
    Group {
        title: "Domain Monitoring",
        keyword: "monitor",
        cmds: dom_devices::CMDS,
    },
    Group {
        title: "Domain Events",
        keyword: "events",
        cmds: event::CMDS,
    },
    Group {
        title: "Host and Hypervisor",
        keyword: "host",
        cmds: host::CMDS,
    },
    Group {
        title: "Interface",
        keyword: "interface",
        cmds: misc::IFACE_CMDS,
    },
    Group {
        title: "Network Filter",
        keyword: "filter",
        cmds: misc::NWFILTER_CMDS,
    },
    Group {
        title: "Networking",
        keyword: "network",
        cmds: net::CMDS,
    },
    Group {
        title: "Node Device",
        keyword: "nodedev",
        cmds: nodedev::CMDS,
    },
    Group {
        title: "Secret",
        keyword: "secret",
        cmds: misc::SECRET_CMDS,
    },
    Group {
        title: "Snapshot",
        keyword: "snapshot",
        cmds: snapshot::CMDS,
    },
    Group {
        title: "Snapshot",
        keyword: "snapshot",
        cmds: snapshot_more::CMDS,
    },
    Group {
        title: "Storage Pool",
        keyword: "pool",
        cmds: pool::CMDS,
    },
    Group {
        title: "Storage Volume",
        keyword: "volume",
        cmds: vol::CMDS,
    },
    Group {
        title: "Virsh itself",
        keyword: "virsh",
        cmds: virsh::CMDS,
    },
];

/// Whether `quit`/`exit` ran.
pub fn quit_requested() -> bool {
    virsh::QUIT.load(std::sync::atomic::Ordering::SeqCst)
}

/// Finds a command by name.
pub fn find(name: &str) -> Option<&'static Cmd> {
    all().find(|c| c.name == name)
}

/// Every command.
pub fn all() -> impl Iterator<Item = &'static Cmd> {
    GROUPS.iter().flat_map(|g| g.cmds.iter())
}

/// How virsh names an object in its messages: `network net0`, `domain 'vm'`.
#[derive(Debug, Clone, Copy)]
pub struct Noun {
    kind: &'static str,
    quoted: bool,
}

pub const DOMAIN: Noun = Noun {
    kind: "domain",
    quoted: true,
};
pub const NETWORK: Noun = Noun {
    kind: "network",
    quoted: false,
};
pub const POOL: Noun = Noun {
    kind: "pool",
    quoted: false,
};

impl Noun {
    /// `network net0`, `domain 'vm'`.
    pub fn of(self, name: &str) -> String {
        if self.quoted {
            format!("{} '{name}'", self.kind)
        } else {
            format!("{} {name}", self.kind)
        }
    }

    /// `Network net0`, `Domain 'vm'`.
    pub fn title_of(self, name: &str) -> String {
        let mut s = self.of(name);
        s[..1].make_ascii_uppercase();
        s
    }
}

/// virsh's plain one-object action: `call` on `obj`, then `{Noun} {name} {done}`, or the
/// error `Failed to {fail} {noun} {name}`.
pub fn act<T>(
    ctl: &mut crate::ctl::Ctl,
    noun: Noun,
    obj: T,
    name: &str,
    call: impl FnOnce(&rvirt_core::client::Connect, T) -> Result<(), rvirt_protocol::RemoteError>,
    fail: &str,
    done: &str,
) -> Result<(), crate::ctl::CmdError> {
    use crate::ctl::Context;
    call(ctl.conn()?, obj).ctx(|| format!("Failed to {fail} {}", noun.of(name)))?;
    println!("{} {done}", noun.title_of(name));
    Ok(())
}

/// The end of `net-autostart` and `pool-autostart` (virsh words domains differently).
pub fn autostart_done(
    noun: Noun,
    name: &str,
    on: bool,
    r: Result<(), rvirt_protocol::RemoteError>,
) -> Result<(), crate::ctl::CmdError> {
    use crate::ctl::Context;
    let (verb, done) = if on {
        ("mark", "marked")
    } else {
        ("unmark", "unmarked")
    };
    r.ctx(|| format!("failed to {verb} {} as autostarted", noun.of(name)))?;
    println!("{} {done} as autostarted", noun.title_of(name));
    Ok(())
}

/// ORs together the bits of the boolean options that are present.
/// A command that needs a connection.
pub const fn cmd(
    name: &'static str,
    help: &'static str,
    desc: &'static str,
    opts: &'static [crate::opts::Opt],
    run: crate::opts::Handler,
) -> Cmd {
    Cmd {
        name,
        help,
        desc,
        opts,
        run,
        needs_conn: true,
    }
}

pub fn flag_bits(a: &Args, bits: &[(&str, u32)]) -> u32 {
    bits.iter()
        .filter(|(n, _)| a.has(n))
        .fold(0, |acc, (_, b)| acc | b)
}

/// virsh's domain order: running domains by id, then inactive ones by name.
pub fn sort_domains(doms: &mut [p::RemoteNonnullDomain]) {
    doms.sort_by(|a, b| match (a.id >= 0, b.id >= 0) {
        (true, true) => a.id.cmp(&b.id),
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        (false, false) => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
    });
}

/// Sorts by name, case-insensitively, like virsh's listings.
pub fn sort_by_name<T>(v: &mut [T], name: impl Fn(&T) -> &str) {
    v.sort_by_key(|a| name(a).to_lowercase());
}

/// Reads a file named on the command line.
pub fn read_file(path: &str) -> Result<String, crate::ctl::CmdError> {
    std::fs::read_to_string(path).map_err(|e| {
        crate::ctl::CmdError::Msg(format!(
            "Failed to open file '{path}': {}",
            os_error_text(&e)
        ))
    })
}

/// An I/O error's text without Rust's ` (os error N)` suffix, like strerror.
pub fn os_error_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_unique_and_sane() {
        let mut names: Vec<&str> = all().map(|c| c.name).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "duplicate command names");
        for c in all() {
            let mut o: Vec<&str> = c.opts.iter().map(|o| o.name).collect();
            let k = o.len();
            o.sort_unstable();
            o.dedup();
            assert_eq!(o.len(), k, "duplicate option in {}", c.name);
        }
    }

    #[test]
    fn domain_order() {
        let d = |name: &str, id: i32| p::RemoteNonnullDomain {
            name: name.into(),
            uuid: [0; 16],
            id,
        };
        let mut v = vec![d("b", -1), d("z", 3), d("A", -1), d("y", 1)];
        sort_domains(&mut v);
        let names: Vec<&str> = v.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["y", "z", "A", "b"]);
    }
}
