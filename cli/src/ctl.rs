//! Shell state: the connection, error reporting, and object lookups by name, id or uuid.

use rvirt_core::client::Connect;
use rvirt_protocol as p;
use rvirt_protocol::error::code;
use rvirt_protocol::{RemoteClient, RemoteError};

/// A failed command. Printed as one or two `error: …` lines on stderr, like virsh.
#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    /// Our own message only.
    #[error("{0}")]
    Msg(String),
    /// Our message, then the driver's error.
    #[error("{msg}")]
    Ctx { msg: String, err: RemoteError },
    /// The driver's error only.
    #[error("{0}")]
    Remote(#[from] RemoteError),
    /// A local I/O problem.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Several lines of our own (virsh's detail first, then what failed).
    #[error("{}", .0.join("; "))]
    Lines(Vec<String>),
    /// A failure virsh reports through the exit status alone (an event command that
    /// received no event).
    #[error("")]
    Silent,
}

impl CmdError {
    /// The lines to print, without the `error: ` prefix.
    pub fn lines(&self) -> Vec<String> {
        match self {
            CmdError::Ctx { msg, err } => vec![msg.clone(), err.text().to_string()],
            CmdError::Silent => Vec::new(),
            CmdError::Lines(l) => l.clone(),
            other => vec![other.to_string()],
        }
    }
}

/// Adds a virsh-style context line in front of a driver error.
pub trait Context<T> {
    fn ctx(self, msg: impl FnOnce() -> String) -> Result<T, CmdError>;
}

impl<T> Context<T> for Result<T, RemoteError> {
    fn ctx(self, msg: impl FnOnce() -> String) -> Result<T, CmdError> {
        self.map_err(|err| CmdError::Ctx { msg: msg(), err })
    }
}

/// The shell's state.
pub struct Ctl {
    pub uri: String,
    pub read_only: bool,
    conn: Option<Connect>,
    /// Whether commands run from the interactive shell.
    pub interactive: bool,
}

impl Ctl {
    pub fn new(uri: String, read_only: bool) -> Ctl {
        Ctl {
            uri,
            read_only,
            conn: None,
            interactive: false,
        }
    }

    /// Opens the connection if it is not open yet.
    pub fn connect(&mut self) -> Result<&Connect, CmdError> {
        if self.conn.is_none() {
            let r = if self.read_only {
                Connect::open_read_only(&self.uri)
            } else {
                Connect::open(&self.uri)
            };
            self.conn = Some(r.ctx(|| "failed to connect to the hypervisor".into())?);
        }
        Ok(self.conn.as_ref().expect("connection just opened"))
    }

    /// Replaces the connection (the `connect` command).
    pub fn reconnect(&mut self, uri: Option<&str>, read_only: bool) -> Result<(), CmdError> {
        if let Some(c) = self.conn.take() {
            let _ = c.close();
        }
        if let Some(u) = uri {
            self.uri = u.to_string();
        }
        self.read_only = read_only;
        self.connect().map(|_| ())
    }

    /// A handle on the open connection, if any (for tab completion).
    pub fn connection(&self) -> Option<Connect> {
        self.conn.clone()
    }

    /// The open connection (commands marked `needs_conn` run only after `connect`).
    pub fn conn(&mut self) -> Result<&Connect, CmdError> {
        self.connect()
    }

    pub fn close(&mut self) {
        if let Some(c) = self.conn.take() {
            let _ = c.close();
        }
    }

    /// Finds a domain by id, uuid or name, like virsh.
    pub fn domain(&mut self, key: &str) -> Result<p::RemoteNonnullDomain, CmdError> {
        let c = self.conn()?;
        let mut found = None;
        if let Ok(id) = key.parse::<i32>() {
            if id >= 0 {
                found = c
                    .domain_lookup_by_id(&p::RemoteDomainLookupByIdArgs { id })
                    .ok()
                    .map(|r| r.dom);
            }
        }
        if found.is_none() {
            if let Some(uuid) = parse_uuid(key) {
                found = c
                    .domain_lookup_by_uuid(&p::RemoteDomainLookupByUuidArgs { uuid })
                    .ok()
                    .map(|r| r.dom);
            }
        }
        if found.is_none() {
            found = c
                .domain_lookup_by_name(&p::RemoteDomainLookupByNameArgs { name: key.into() })
                .ok()
                .map(|r| r.dom);
        }
        found.ok_or_else(|| CmdError::Msg(format!("failed to get domain '{key}'")))
    }

    /// Finds a network by uuid or name.
    pub fn network(&mut self, key: &str) -> Result<p::RemoteNonnullNetwork, CmdError> {
        let c = self.conn()?;
        if let Some(uuid) = parse_uuid(key) {
            if let Ok(r) = c.network_lookup_by_uuid(&p::RemoteNetworkLookupByUuidArgs { uuid }) {
                return Ok(r.net);
            }
        }
        let r = c.network_lookup_by_name(&p::RemoteNetworkLookupByNameArgs { name: key.into() });
        r.map(|r| r.net)
            .ctx(|| format!("failed to get network '{key}'"))
    }

    /// Finds a storage pool by uuid or name.
    pub fn pool(&mut self, key: &str) -> Result<p::RemoteNonnullStoragePool, CmdError> {
        let c = self.conn()?;
        if let Some(uuid) = parse_uuid(key) {
            if let Ok(r) =
                c.storage_pool_lookup_by_uuid(&p::RemoteStoragePoolLookupByUuidArgs { uuid })
            {
                return Ok(r.pool);
            }
        }
        let r = c.storage_pool_lookup_by_name(&p::RemoteStoragePoolLookupByNameArgs {
            name: key.into(),
        });
        r.map(|r| r.pool)
            .ctx(|| format!("failed to get pool '{key}'"))
    }

    /// Finds a volume: by name inside `pool` when given, else by key, then by path.
    /// A failure reports the last lookup's error, as virsh does.
    pub fn vol(
        &mut self,
        key: &str,
        pool: Option<&str>,
    ) -> Result<p::RemoteNonnullStorageVol, CmdError> {
        let pool = match pool {
            Some(p) => Some(self.pool(p)?),
            None => None,
        };
        let c = self.conn()?;
        if let Some(pl) = &pool {
            if let Ok(r) = c.storage_vol_lookup_by_name(&p::RemoteStorageVolLookupByNameArgs {
                pool: pl.clone(),
                name: key.into(),
            }) {
                return Ok(r.vol);
            }
        }
        let by_key =
            c.storage_vol_lookup_by_key(&p::RemoteStorageVolLookupByKeyArgs { key: key.into() });
        let found = by_key.map(|r| r.vol).or_else(|_| {
            c.storage_vol_lookup_by_path(&p::RemoteStorageVolLookupByPathArgs { path: key.into() })
                .map(|r| r.vol)
        });
        let msg = if pool.is_some() {
            format!("failed to get vol '{key}'")
        } else {
            format!("failed to get vol '{key}', specifying --pool might help")
        };
        // Like virsh, the error shown is the last lookup's (by path).
        found.map_err(|err| CmdError::Ctx { msg, err })
    }

    /// Finds a host device by name.
    pub fn nodedev(&mut self, name: &str) -> Result<p::RemoteNonnullNodeDevice, CmdError> {
        let c = self.conn()?;
        let r = c
            .node_device_lookup_by_name(&p::RemoteNodeDeviceLookupByNameArgs { name: name.into() });
        r.map(|r| r.dev)
            .ctx(|| format!("Could not find matching device '{name}'"))
    }
}

/// Parses a UUID in its 36-character printed form.
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    if s.len() != 36 || hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Formats a UUID the way libvirt prints it.
pub fn uuid_str(u: &[u8; 16]) -> String {
    let h: String = u.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Whether an error says the driver lacks the API (virsh falls back to older calls then).
pub fn is_no_support(e: &RemoteError) -> bool {
    e.code == code::NO_SUPPORT
}

/// Converts a fixed char array from the protocol to a string.
pub fn chars_to_string(v: &[i8]) -> String {
    let bytes: Vec<u8> = v
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_roundtrip() {
        let s = "6695eb01-f6a4-8304-79aa-97f2502e193f";
        assert_eq!(uuid_str(&parse_uuid(s).unwrap()), s);
        assert!(parse_uuid("test").is_none());
        assert!(parse_uuid("6695eb01-f6a4-8304-79aa-97f2502e193g").is_none());
    }

    #[test]
    fn error_lines() {
        let e = CmdError::Ctx {
            msg: "a".into(),
            err: RemoteError::new(1, 0, "b"),
        };
        assert_eq!(e.lines(), vec!["a", "b"]);
    }
}
