//! The public client API: [`Connect`] and the typed objects, over an embedded driver
//! connection (modules loaded in-process) or libvirt's remote protocol (rvirtd or a real
//! libvirtd). Every libvirt procedure is also reachable through the generated
//! [`RemoteClient`] and [`QemuClient`] traits, which `Connect` implements.

mod net_metadata;
mod objects;
pub mod stream;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rvirt_protocol::error::{code, domain};
use rvirt_protocol::{
    QemuClient, RemoteAuthListRet, RemoteClient, RemoteConnectOpenArgs, RemoteError,
    RemoteNonnullDomain, RemoteNonnullNetwork, RemoteNonnullNodeDevice, RemoteNonnullStoragePool,
    RemoteNonnullStorageVol,
};

pub use objects::{
    Domain, DomainInfo, Network, NodeDevice, NodeInfo, StoragePool, StoragePoolInfo, StorageVol,
    StorageVolInfo,
};
pub use stream::{Dense, SparseFile, StreamError, StreamSink, StreamStage};

use crate::dispatch::DriverConnection;
use crate::events::EventSink;
use crate::remote::RemoteTransport;
use crate::uri::Uri;

/// libvirt's `VIR_CONNECT_RO` open flag.
pub const CONNECT_RO: u32 = rvirt_protocol::facts::connect_open::RO;
/// The socket rvirt clients use when a remote URI names none.
pub const DEFAULT_SOCKET: &str = "/run/rvirt/rvirt-sock";
/// The read-only socket beside it.
pub const DEFAULT_SOCKET_RO: &str = "/run/rvirt/rvirt-sock-ro";

/// libvirt's own sockets, tried when no rvirtd socket exists, so the client reaches a
/// local libvirtd unchanged.
const LIBVIRT_SOCKET: &str = "/run/libvirt/libvirt-sock";
const LIBVIRT_SOCKET_RO: &str = "/run/libvirt/libvirt-sock-ro";

/// The local socket for URIs that name none: rvirtd's, else libvirtd's.
fn default_socket(read_only: bool) -> PathBuf {
    let (ours, theirs) = if read_only {
        (DEFAULT_SOCKET_RO, LIBVIRT_SOCKET_RO)
    } else {
        (DEFAULT_SOCKET, LIBVIRT_SOCKET)
    };
    if !std::path::Path::new(ours).exists() && std::path::Path::new(theirs).exists() {
        PathBuf::from(theirs)
    } else {
        PathBuf::from(ours)
    }
}

/// An event message received on a connection (callback id already set).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub program: u32,
    pub procedure: i32,
    pub payload: Vec<u8>,
}

impl Event {
    /// The typed message (for the REMOTE program).
    pub fn decode(&self) -> Result<rvirt_protocol::RemoteArgs, RemoteError> {
        Ok(rvirt_protocol::RemoteArgs::decode(
            self.procedure,
            &self.payload,
        )?)
    }
}

/// Queue of received events, filled by the transport or the embedded driver connection.
#[derive(Default)]
struct EventQueue {
    queue: Mutex<VecDeque<Event>>,
    ready: Condvar,
}

impl EventSink for EventQueue {
    fn deliver(&self, program: u32, procedure: i32, payload: &[u8]) {
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if q.len() < 100_000 {
            q.push_back(Event {
                program,
                procedure,
                payload: payload.to_vec(),
            });
        }
        self.ready.notify_all();
    }
}

enum Backend {
    Embedded(DriverConnection),
    Remote(RemoteTransport),
}

struct ConnInner {
    backend: Backend,
    uri: String,
    read_only: bool,
    events: Arc<EventQueue>,
}

/// A connection to a hypervisor, cheap to clone.
#[derive(Clone)]
pub struct Connect {
    inner: Arc<ConnInner>,
}

impl std::fmt::Debug for Connect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connect")
            .field("uri", &self.inner.uri)
            .finish_non_exhaustive()
    }
}

fn invalid_uri(uri: &str, e: impl std::fmt::Display) -> RemoteError {
    RemoteError::new(
        code::INVALID_ARG,
        domain::NONE,
        format!("invalid argument: cannot parse URI {uri}: {e}"),
    )
}

impl Connect {
    /// Opens a read-write connection.
    pub fn open(uri: &str) -> Result<Connect, RemoteError> {
        Connect::open_flags(uri, 0)
    }

    /// Opens a read-only connection.
    pub fn open_read_only(uri: &str) -> Result<Connect, RemoteError> {
        Connect::open_flags(uri, CONNECT_RO)
    }

    /// Opens with libvirt's open flags. URIs with a transport (`+unix`) or a host go over
    /// the remote protocol. A local URI whose scheme a module without a state driver serves
    /// (`test:///...`) is served in-process by that module, found through the driver table
    /// of the module directory (`RVIRT_MODULE_DIR`, else beside the executable, else
    /// `/usr/lib/rvirt/modules`); any other local URI goes to the local daemon's socket
    /// (rvirtd's `/run/rvirt/rvirt-sock`, else libvirtd's `/run/libvirt/libvirt-sock`).
    pub fn open_flags(uri: &str, flags: u32) -> Result<Connect, RemoteError> {
        let parsed = Uri::parse(uri).map_err(|e| invalid_uri(uri, e))?;
        let read_only = flags & CONNECT_RO != 0;
        let events = Arc::new(EventQueue::default());
        let local = parsed.transport.is_none() && parsed.host.is_none();
        let registry = local.then(|| crate::registry::embedded(&parsed.driver));
        let backend = if let Some(registry) = registry.filter(|r| r.serves(&parsed.driver)) {
            let sink: Arc<dyn EventSink> = events.clone();
            Backend::Embedded(DriverConnection::open(
                registry, uri, flags, read_only, sink,
            )?)
        } else {
            Backend::Remote(Connect::open_remote(
                &parsed,
                flags,
                read_only,
                events.clone(),
            )?)
        };
        Ok(Connect {
            inner: Arc::new(ConnInner {
                backend,
                uri: uri.to_string(),
                read_only,
                events,
            }),
        })
    }

    fn open_remote(
        uri: &Uri,
        flags: u32,
        read_only: bool,
        events: Arc<EventQueue>,
    ) -> Result<RemoteTransport, RemoteError> {
        match uri.transport.as_deref() {
            None | Some("unix") => {}
            Some(other) => {
                return Err(RemoteError::new(
                    code::INVALID_ARG,
                    domain::REMOTE,
                    format!("invalid argument: transport '{other}' is not supported yet"),
                ))
            }
        }
        let socket = match uri.query_value("socket") {
            Some(s) => PathBuf::from(s),
            None => default_socket(read_only),
        };
        let sink: Arc<dyn EventSink> = events;
        let t = RemoteTransport::connect_unix(&socket, sink)?;
        let auth: RemoteAuthListRet = rvirt_protocol::xdr::from_bytes(&t.call(
            rvirt_protocol::REMOTE_PROGRAM_NUMBER,
            rvirt_protocol::remote_proc::AUTH_LIST,
            Vec::new().as_slice(),
        )?)?;
        if !auth.types.is_empty() && !auth.types.contains(&0) {
            return Err(RemoteError::new(
                code::AUTH_FAILED,
                domain::REMOTE,
                "authentication failed: no supported method",
            ));
        }
        let open = RemoteConnectOpenArgs {
            name: Some(uri.server_uri()),
            flags,
        };
        t.call(
            rvirt_protocol::REMOTE_PROGRAM_NUMBER,
            rvirt_protocol::remote_proc::CONNECT_OPEN,
            &rvirt_protocol::xdr::to_bytes(&open),
        )?;
        Ok(t)
    }

    pub fn uri(&self) -> &str {
        &self.inner.uri
    }

    pub fn is_read_only(&self) -> bool {
        self.inner.read_only
    }

    /// Whether calls go over the remote protocol.
    pub fn is_remote(&self) -> bool {
        matches!(self.inner.backend, Backend::Remote(_))
    }

    /// Sends many calls at once (remote: pipelined; embedded: in turn).
    pub fn pipeline(
        &self,
        calls: &[(u32, i32, Vec<u8>)],
    ) -> Result<Vec<Result<Vec<u8>, RemoteError>>, RemoteError> {
        match &self.inner.backend {
            Backend::Remote(t) => t.pipeline(calls),
            Backend::Embedded(d) => Ok(calls.iter().map(|(p, n, a)| d.call(*p, *n, a)).collect()),
        }
    }

    /// Waits up to `timeout` for the next event.
    pub fn next_event(&self, timeout: Duration) -> Result<Option<Event>, RemoteError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(e) = self
                .inner
                .events
                .queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop_front()
            {
                return Ok(Some(e));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            match &self.inner.backend {
                Backend::Remote(t) => t.poll(left.min(Duration::from_millis(200)))?,
                Backend::Embedded(_) => {
                    let q = self
                        .inner
                        .events
                        .queue
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    if q.is_empty() {
                        let _ = self
                            .inner
                            .events
                            .ready
                            .wait_timeout(q, left)
                            .unwrap_or_else(PoisonError::into_inner);
                    }
                }
            }
        }
    }

    /// Closes the connection (also done on drop of the last clone).
    pub fn close(self) -> Result<(), RemoteError> {
        if let Backend::Remote(t) = &self.inner.backend {
            t.call(
                rvirt_protocol::REMOTE_PROGRAM_NUMBER,
                rvirt_protocol::remote_proc::CONNECT_CLOSE,
                &[],
            )?;
        }
        Ok(())
    }

    pub(crate) fn domain(&self, d: RemoteNonnullDomain) -> Domain {
        Domain::new(self.clone(), d)
    }

    pub(crate) fn network(&self, n: RemoteNonnullNetwork) -> Network {
        Network::new(self.clone(), n)
    }

    pub(crate) fn pool(&self, p: RemoteNonnullStoragePool) -> StoragePool {
        StoragePool::new(self.clone(), p)
    }

    pub(crate) fn vol(&self, v: RemoteNonnullStorageVol) -> StorageVol {
        StorageVol::new(self.clone(), v)
    }

    pub(crate) fn node_device(&self, d: RemoteNonnullNodeDevice) -> NodeDevice {
        NodeDevice::new(self.clone(), d)
    }
}

impl RemoteClient for Connect {
    fn raw_call(
        &self,
        program: u32,
        procedure: i32,
        args: Vec<u8>,
    ) -> Result<Vec<u8>, RemoteError> {
        match &self.inner.backend {
            Backend::Embedded(d) => d.call(program, procedure, &args),
            Backend::Remote(t) => t.call(program, procedure, &args),
        }
    }
}

impl QemuClient for Connect {
    fn raw_call(
        &self,
        program: u32,
        procedure: i32,
        args: Vec<u8>,
    ) -> Result<Vec<u8>, RemoteError> {
        RemoteClient::raw_call(self, program, procedure, args)
    }
}
