//! Procedure metadata shared by the generated tables.

/// What a procedure acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    Connect,
    Domain,
    Network,
    NetworkPort,
    Interface,
    StoragePool,
    StorageVol,
    NodeDevice,
    NwFilter,
    NwFilterBinding,
    Secret,
    DomainSnapshot,
    DomainCheckpoint,
    Stream,
}

/// The driver table that serves a procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DriverKind {
    Hypervisor,
    Network,
    Storage,
    NodeDevice,
    Interface,
    NwFilter,
    Secret,
}

impl DriverKind {
    /// Every kind, in table order.
    pub const ALL: [DriverKind; 7] = [
        DriverKind::Hypervisor,
        DriverKind::Network,
        DriverKind::Storage,
        DriverKind::NodeDevice,
        DriverKind::Interface,
        DriverKind::NwFilter,
        DriverKind::Secret,
    ];

    /// The lower-case name used in descriptors, configs and logs.
    pub fn name(self) -> &'static str {
        match self {
            DriverKind::Hypervisor => "hypervisor",
            DriverKind::Network => "network",
            DriverKind::Storage => "storage",
            DriverKind::NodeDevice => "nodedev",
            DriverKind::Interface => "interface",
            DriverKind::NwFilter => "nwfilter",
            DriverKind::Secret => "secret",
        }
    }

    /// The wire code used in module descriptors (index into [`DriverKind::ALL`]).
    pub fn code(self) -> u32 {
        DriverKind::ALL.iter().position(|k| *k == self).unwrap_or(0) as u32
    }

    pub fn from_code(code: u32) -> Option<DriverKind> {
        DriverKind::ALL.get(code as usize).copied()
    }
}

/// Whether a procedure opens a data stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    None,
    Read,
    Write,
}

/// Static facts about one procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcedureInfo {
    pub program: u32,
    pub number: i32,
    /// Name without the `REMOTE_PROC_` prefix, e.g. `DOMAIN_LOOKUP_BY_NAME`.
    pub name: &'static str,
    /// libvirt's public API name, e.g. `virDomainLookupByName`.
    pub api_name: &'static str,
    pub args: &'static str,
    pub ret: &'static str,
    pub object: ObjectKind,
    pub driver: DriverKind,
    /// Allowed on a read-only connection.
    pub read_only: bool,
    /// Flag bits libvirt refuses on a read-only connection even though the call itself
    /// is allowed there (such as `VIR_DOMAIN_XML_SECURE`). The arguments of such a
    /// procedure end with `unsigned int flags` (the generator checks it).
    pub ro_deny_flags: u32,
    /// The reply starts with a list of objects bounded by a `REMOTE_*_LIST_MAX` constant:
    /// (that bound, what the objects are called). A driver's longer list is refused with
    /// libvirt's "Too many ..." error instead of a reply no client can decode.
    pub reply_list: Option<(u32, &'static str)>,
    /// libvirt's high priority: must not queue behind slow calls. It does NOT mean the
    /// call never blocks (qemu's destroy is high priority and may wait for seconds).
    pub high_priority: bool,
    /// A server-to-client event message.
    pub event: bool,
    pub stream: StreamKind,
}

/// The procedure table of a program, if rvirt knows the program.
pub fn procedures(program: u32) -> Option<&'static [ProcedureInfo]> {
    match program {
        crate::REMOTE_PROGRAM_NUMBER => Some(crate::REMOTE_PROCEDURES),
        crate::QEMU_PROGRAM_NUMBER => Some(crate::QEMU_PROCEDURES),
        crate::KEEPALIVE_PROGRAM_NUMBER => Some(crate::KEEPALIVE_PROCEDURES),
        _ => None,
    }
}

/// Looks up one procedure.
pub fn procedure(program: u32, number: i32) -> Option<&'static ProcedureInfo> {
    let table = procedures(program)?;
    table
        .binary_search_by_key(&number, |p| p.number)
        .ok()
        .map(|i| &table[i])
}
