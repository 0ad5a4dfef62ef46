//! One connection to the drivers: opens the hypervisor driver for a URI (walking the
//! table in order, like libvirt), opens secondary drivers on first use, and applies the
//! public-API discipline to every call: connection-level procedures answered here,
//! writes refused on read-only connections, calls routed to the driver of the right
//! kind, and anything no driver implements answered with "not supported".

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use rvirt_protocol::error::{code, domain};
use rvirt_protocol::xdr::{from_bytes, to_bytes};
use rvirt_protocol::{
    procedure, remote_proc, DriverKind, ObjectKind, ProcedureInfo, RemoteError, RvirtOpenArgs,
    REMOTE_PROGRAM_NUMBER, RVIRT_OPEN_DECLINED,
};

use crate::events::{Callbacks, EventFamily, EventSink};
use crate::loader::ReplyBuf;
use crate::registry::{DriverEntry, Registry};
use crate::uri::Uri;

/// libvirt's `virDrvFeature` numbers that the core answers.
pub mod feature {
    pub const TYPED_PARAM_STRING: i32 = 9;
    pub const PROGRAM_KEEPALIVE: i32 = 10;
    pub const XML_MIGRATABLE: i32 = 11;
    pub const REMOTE_EVENT_CALLBACK: i32 = 14;
    pub const REMOTE_CLOSE_CALLBACK: i32 = 15;
    pub const NETWORK_UPDATE_HAS_CORRECT_ORDER: i32 = 16;
}

#[derive(Debug, Clone)]
pub(crate) struct OpenDriver {
    pub(crate) entry: DriverEntry,
    pub(crate) handle: u64,
}

impl OpenDriver {
    fn key(&self) -> (u64, u32, u64) {
        (
            self.entry.module.token,
            self.entry.driver.index,
            self.handle,
        )
    }
}

struct Inner {
    callbacks: Mutex<Callbacks>,
    outbound: Arc<dyn EventSink>,
}

impl EventSink for Inner {
    fn deliver(&self, program: u32, procedure: i32, payload: &[u8]) {
        let out = self
            .callbacks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fan_out(program, procedure, payload);
        for p in out {
            self.outbound.deliver(program, procedure, &p);
        }
    }
}

/// A connection bound to a hypervisor driver (and lazily to secondary drivers).
pub struct DriverConnection {
    registry: Arc<Registry>,
    uri: String,
    scheme: String,
    read_only: bool,
    /// The client is root or the daemon's user (see `open_for_client`).
    privileged: bool,
    hypervisor: OpenDriver,
    secondary: Mutex<HashMap<DriverKind, Option<OpenDriver>>>,
    inner: Arc<Inner>,
}

fn open_on(
    entry: &DriverEntry,
    uri: &str,
    flags: u32,
    read_only: bool,
    privileged: bool,
) -> Result<Option<u64>, RemoteError> {
    use rvirt_plugin_api::sdk::OPEN_FLAG_UNPRIVILEGED_CLIENT;
    let flags = if !privileged && entry.module.client_identity {
        flags | OPEN_FLAG_UNPRIVILEGED_CLIENT
    } else {
        flags & !OPEN_FLAG_UNPRIVILEGED_CLIENT
    };
    let args = RvirtOpenArgs {
        uri: uri.to_string(),
        flags,
        read_only,
    };
    let ret = entry.module.open(entry.driver.index, &args)?;
    Ok((ret.status != RVIRT_OPEN_DECLINED as i32).then_some(ret.handle))
}

/// Error for a write procedure on a read-only connection.
pub fn read_only_denied(info: &ProcedureInfo) -> RemoteError {
    RemoteError::new(
        code::OPERATION_DENIED,
        object_error_domain(info.object),
        format!(
            "operation forbidden: read only access prevents {}",
            info.api_name
        ),
    )
}

/// Whether the call carries a flag refused on read-only connections. The generator
/// guarantees such a procedure's arguments end with `unsigned int flags`.
fn denied_flags(info: &ProcedureInfo, args: &[u8]) -> bool {
    if info.ro_deny_flags == 0 {
        return false;
    }
    let last = args
        .len()
        .checked_sub(4)
        .and_then(|at| xdr_word(&args[at..]));
    last.is_some_and(|flags| flags & info.ro_deny_flags != 0)
}

/// The unsigned XDR word of exactly four bytes.
fn xdr_word(bytes: &[u8]) -> Option<u32> {
    bytes.try_into().ok().map(u32::from_be_bytes)
}

/// A list reply longer than the protocol allows would not decode on any client; libvirt's
/// daemon refuses it with an RPC error, and so does this.
fn check_reply_list(info: &ProcedureInfo, reply: &[u8]) -> Result<(), RemoteError> {
    let Some((max, what)) = info.reply_list else {
        return Ok(());
    };
    let Some(n) = reply.get(..4).and_then(xdr_word) else {
        return Ok(());
    };
    if n <= max {
        return Ok(());
    }
    Err(RemoteError::new(
        code::RPC,
        domain::RPC,
        format!("Too many {what} '{n}' for limit '{max}'"),
    ))
}

/// Error for a secure-XML flag on a read-only connection, as libvirt words it.
fn secure_flag_denied(info: &ProcedureInfo) -> RemoteError {
    RemoteError::new(
        code::OPERATION_DENIED,
        object_error_domain(info.object),
        format!("operation forbidden: {} with secure flag", info.api_name),
    )
}

fn object_error_domain(object: ObjectKind) -> i32 {
    match object {
        ObjectKind::Domain => domain::DOMAIN,
        ObjectKind::DomainSnapshot => domain::DOMAIN_SNAPSHOT,
        ObjectKind::DomainCheckpoint => domain::DOMAIN_CHECKPOINT,
        ObjectKind::Network | ObjectKind::NetworkPort => domain::NETWORK,
        ObjectKind::StoragePool | ObjectKind::StorageVol => domain::STORAGE,
        ObjectKind::NodeDevice => domain::NODEDEV,
        _ => domain::NONE,
    }
}

impl DriverConnection {
    /// Opens `uri` on the first hypervisor driver that accepts it. Events for callbacks
    /// registered on this connection go to `outbound` with their callback ids filled in.
    pub fn open(
        registry: Arc<Registry>,
        uri: &str,
        flags: u32,
        read_only: bool,
        outbound: Arc<dyn EventSink>,
    ) -> Result<DriverConnection, RemoteError> {
        DriverConnection::open_for_client(registry, uri, flags, read_only, true, outbound)
    }

    /// Like [`DriverConnection::open`] for a remote client; `privileged` says whether it is
    /// root or the daemon's own user. Modules declaring the client-identity feature learn
    /// it and refuse unprivileged clients whatever would make them touch host files.
    pub fn open_for_client(
        registry: Arc<Registry>,
        uri: &str,
        flags: u32,
        read_only: bool,
        privileged: bool,
        outbound: Arc<dyn EventSink>,
    ) -> Result<DriverConnection, RemoteError> {
        let parsed = Uri::parse(uri).map_err(|e| {
            RemoteError::new(
                code::INVALID_ARG,
                domain::NONE,
                format!("invalid argument: cannot parse URI {uri}: {e}"),
            )
        })?;
        let inner = Arc::new(Inner {
            callbacks: Mutex::new(Callbacks::default()),
            outbound,
        });
        for entry in registry
            .drivers(DriverKind::Hypervisor)
            .into_iter()
            .filter(|e| e.serves(&parsed.driver))
        {
            if let Some(handle) = open_on(&entry, uri, flags, read_only, privileged)? {
                let hypervisor = OpenDriver { entry, handle };
                let (t, d, h) = hypervisor.key();
                let sink: Arc<dyn EventSink> = inner.clone();
                crate::events::subscribe(t, d, h, Arc::downgrade(&sink));
                return Ok(DriverConnection {
                    registry,
                    uri: uri.to_string(),
                    scheme: parsed.driver,
                    read_only,
                    privileged,
                    hypervisor,
                    secondary: Mutex::new(HashMap::new()),
                    inner,
                });
            }
        }
        Err(RemoteError::new(
            code::NO_CONNECT,
            domain::NONE,
            format!("no connection driver available for {uri}"),
        ))
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The driver serving `kind` for this connection, opening it on first use.
    pub(crate) fn driver_for(&self, kind: DriverKind) -> Result<Option<OpenDriver>, RemoteError> {
        if kind == DriverKind::Hypervisor {
            return Ok(Some(self.hypervisor.clone()));
        }
        let mut secondary = self
            .secondary
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(d) = secondary.get(&kind) {
            return Ok(d.clone());
        }
        let mut found = None;
        let mut candidates: Vec<DriverEntry> = self
            .registry
            .drivers(kind)
            .into_iter()
            .filter(|e| e.serves(&self.scheme))
            .collect();
        // A driver naming this connection's scheme (the hypervisor module's own, such as
        // the test driver's storage) comes before the catch-all secondary drivers,
        // whatever order the modules loaded in.
        candidates.sort_by_key(|e| e.driver.uri_schemes.is_empty());
        for entry in candidates {
            if let Some(handle) = open_on(&entry, &self.uri, 0, self.read_only, self.privileged)? {
                let d = OpenDriver { entry, handle };
                let (t, dr, h) = d.key();
                let sink: Arc<dyn EventSink> = self.inner.clone();
                crate::events::subscribe(t, dr, h, Arc::downgrade(&sink));
                found = Some(d);
                break;
            }
        }
        secondary.insert(kind, found.clone());
        Ok(found)
    }

    /// Whether a call is known never to block: the driver that would serve it is already
    /// open and its module declares [`rvirt_plugin_api::sdk::FEATURE_NONBLOCKING_CALLS`].
    pub fn never_blocks(&self, info: &ProcedureInfo) -> bool {
        if info.driver == DriverKind::Hypervisor {
            return self.hypervisor.entry.module.nonblocking;
        }
        let secondary = self
            .secondary
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        matches!(secondary.get(&info.driver), Some(Some(d)) if d.entry.module.nonblocking)
    }

    /// One call with libvirt's public-API discipline.
    pub fn call(&self, program: u32, number: i32, args: &[u8]) -> Result<Vec<u8>, RemoteError> {
        self.call_buf(program, number, args).map(ReplyBuf::into_vec)
    }

    /// [`DriverConnection::call`] returning the reply in the buffer the driver wrote it
    /// to, for the daemon to send without copying it.
    pub fn call_buf(
        &self,
        program: u32,
        number: i32,
        args: &[u8],
    ) -> Result<ReplyBuf, RemoteError> {
        let info = procedure(program, number)
            .ok_or_else(|| RemoteError::unknown_procedure(program, number))?;
        let reply = self.call_procedure(info, args)?;
        crate::audit::record(info, &reply);
        Ok(reply)
    }

    /// The checks every call passes before it reaches a driver: no event numbers, no
    /// writes or secure flags on a read-only connection.
    pub(crate) fn admit(&self, info: &ProcedureInfo, args: &[u8]) -> Result<(), RemoteError> {
        if info.event {
            return Err(RemoteError::new(
                code::RPC,
                domain::RPC,
                format!("{} is an event message, not a call", info.name),
            ));
        }
        if self.read_only && !info.read_only {
            return Err(read_only_denied(info));
        }
        if self.read_only && denied_flags(info, args) {
            return Err(secure_flag_denied(info));
        }
        Ok(())
    }

    fn call_procedure(&self, info: &ProcedureInfo, args: &[u8]) -> Result<ReplyBuf, RemoteError> {
        let (program, number) = (info.program, info.number);
        self.admit(info, args)?;
        if info.stream != rvirt_protocol::StreamKind::None {
            // Its data would have nowhere to go: stream calls go through `open_stream`.
            return Err(RemoteError::unsupported(info.api_name));
        }
        if program == REMOTE_PROGRAM_NUMBER {
            if let Some(reply) = self.connection_level(number, args)? {
                return Ok(reply.into());
            }
        }
        if program == rvirt_protocol::QEMU_PROGRAM_NUMBER {
            if let Some(reply) = self.qemu_connection_level(number, args)? {
                return Ok(reply.into());
            }
        }
        let unsupported = || RemoteError::unsupported(info.api_name);
        let driver = self.driver_for(info.driver)?.ok_or_else(unsupported)?;
        if !driver.entry.driver.implements(program, number) {
            return Err(unsupported());
        }
        let reply = driver.entry.module.call_buf(
            driver.entry.driver.index,
            driver.handle,
            program,
            number,
            args,
        )?;
        check_reply_list(info, &reply)?;
        Ok(reply)
    }

    /// Procedures answered by the core itself, not by a driver.
    fn connection_level(&self, number: i32, args: &[u8]) -> Result<Option<Vec<u8>>, RemoteError> {
        use remote_proc as rp;
        use rvirt_protocol as p;
        let reply = match number {
            rp::CONNECT_GET_URI => to_bytes(&p::RemoteConnectGetUriRet {
                uri: self.uri.clone(),
            }),
            rp::CONNECT_IS_SECURE => to_bytes(&p::RemoteConnectIsSecureRet { secure: 1 }),
            rp::CONNECT_GET_LIB_VERSION => to_bytes(&p::RemoteConnectGetLibVersionRet {
                lib_ver: crate::LIBVIRT_VERSION,
            }),
            rp::CONNECT_SUPPORTS_FEATURE => {
                let a: p::RemoteConnectSupportsFeatureArgs = from_bytes(args)?;
                let supported = matches!(
                    a.feature,
                    feature::TYPED_PARAM_STRING
                        | feature::REMOTE_EVENT_CALLBACK
                        | feature::REMOTE_CLOSE_CALLBACK
                        | feature::NETWORK_UPDATE_HAS_CORRECT_ORDER
                );
                to_bytes(&p::RemoteConnectSupportsFeatureRet {
                    supported: i32::from(supported),
                })
            }
            rp::CONNECT_REGISTER_CLOSE_CALLBACK | rp::CONNECT_UNREGISTER_CLOSE_CALLBACK => {
                Vec::new()
            }
            rp::CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY => {
                let a: p::RemoteConnectDomainEventCallbackRegisterAnyArgs = from_bytes(args)?;
                let id = self.register(EventFamily::Domain, a.event_id, a.dom.map(|d| d.name))?;
                to_bytes(&p::RemoteConnectDomainEventCallbackRegisterAnyRet { callback_id: id })
            }
            rp::CONNECT_NETWORK_EVENT_REGISTER_ANY => {
                let a: p::RemoteConnectNetworkEventRegisterAnyArgs = from_bytes(args)?;
                let id = self.register(EventFamily::Network, a.event_id, a.net.map(|n| n.name))?;
                to_bytes(&p::RemoteConnectNetworkEventRegisterAnyRet { callback_id: id })
            }
            rp::CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY => {
                let a: p::RemoteConnectStoragePoolEventRegisterAnyArgs = from_bytes(args)?;
                let id =
                    self.register(EventFamily::StoragePool, a.event_id, a.pool.map(|n| n.name))?;
                to_bytes(&p::RemoteConnectStoragePoolEventRegisterAnyRet { callback_id: id })
            }
            rp::CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY => {
                let a: p::RemoteConnectNodeDeviceEventRegisterAnyArgs = from_bytes(args)?;
                let id =
                    self.register(EventFamily::NodeDevice, a.event_id, a.dev.map(|n| n.name))?;
                to_bytes(&p::RemoteConnectNodeDeviceEventRegisterAnyRet { callback_id: id })
            }
            rp::CONNECT_SECRET_EVENT_REGISTER_ANY => {
                let a: p::RemoteConnectSecretEventRegisterAnyArgs = from_bytes(args)?;
                let id = self.register(EventFamily::Secret, a.event_id, None)?;
                to_bytes(&p::RemoteConnectSecretEventRegisterAnyRet { callback_id: id })
            }
            rp::CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY
            | rp::CONNECT_NETWORK_EVENT_DEREGISTER_ANY
            | rp::CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY
            | rp::CONNECT_NODE_DEVICE_EVENT_DEREGISTER_ANY
            | rp::CONNECT_SECRET_EVENT_DEREGISTER_ANY => {
                // Every deregister call carries just the callback id.
                let id: i32 = from_bytes(args)?;
                self.deregister(id)?;
                Vec::new()
            }
            _ => return Ok(None),
        };
        Ok(Some(reply))
    }

    /// QEMU-program procedures answered by the core: monitor event (de)registration.
    fn qemu_connection_level(
        &self,
        number: i32,
        args: &[u8],
    ) -> Result<Option<Vec<u8>>, RemoteError> {
        use crate::events::{MONITOR_EVENT_NOCASE, MONITOR_EVENT_REGEX};
        use rvirt_protocol as p;
        let reply = match number {
            p::qemu_proc::CONNECT_DOMAIN_MONITOR_EVENT_REGISTER => {
                let a: p::QemuConnectDomainMonitorEventRegisterArgs = from_bytes(args)?;
                let unknown = a.flags & !(MONITOR_EVENT_REGEX | MONITOR_EVENT_NOCASE);
                if unknown != 0 {
                    return Err(RemoteError::new(
                        code::INVALID_ARG,
                        domain::QEMU,
                        format!(
                            "unsupported flags ({unknown:#x}) in function virConnectDomainQemuMonitorEventRegister"
                        ),
                    ));
                }
                if a.flags & MONITOR_EVENT_REGEX != 0 {
                    return Err(RemoteError::new(
                        code::ARGUMENT_UNSUPPORTED,
                        domain::QEMU,
                        "argument unsupported: regular expressions for QEMU monitor event names are not supported",
                    ));
                }
                let nocase = a.flags & MONITOR_EVENT_NOCASE != 0;
                let id = self
                    .inner
                    .callbacks
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .add_monitor(a.dom.map(|d| d.name), a.event, nocase);
                to_bytes(&p::QemuConnectDomainMonitorEventRegisterRet { callback_id: id })
            }
            p::qemu_proc::CONNECT_DOMAIN_MONITOR_EVENT_DEREGISTER => {
                let a: p::QemuConnectDomainMonitorEventDeregisterArgs = from_bytes(args)?;
                self.deregister(a.callback_id)?;
                Vec::new()
            }
            _ => return Ok(None),
        };
        Ok(Some(reply))
    }

    fn register(
        &self,
        family: EventFamily,
        event_id: i32,
        object: Option<String>,
    ) -> Result<i32, RemoteError> {
        if event_id < 0 {
            return Err(RemoteError::new(
                code::INVALID_ARG,
                domain::NONE,
                format!("invalid argument: unsupported event ID {event_id}"),
            ));
        }
        // A secondary driver's events reach this connection once the driver is open for
        // it, so open it now rather than at the connection's first call to it.
        self.driver_for(family.driver_kind())?;
        Ok(self
            .inner
            .callbacks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .add(family, event_id, object))
    }

    fn deregister(&self, id: i32) -> Result<(), RemoteError> {
        match self
            .inner
            .callbacks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)
        {
            Some(_) => Ok(()),
            None => Err(RemoteError::new(
                code::INVALID_ARG,
                domain::NONE,
                format!("invalid argument: could not find event callback {id} for deletion"),
            )),
        }
    }
}

impl Drop for DriverConnection {
    fn drop(&mut self) {
        let secondary = std::mem::take(
            &mut *self
                .secondary
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for d in std::iter::once(self.hypervisor.clone()).chain(secondary.into_values().flatten()) {
            let (t, dr, h) = d.key();
            crate::events::unsubscribe(t, dr, h);
            d.entry.module.close(d.entry.driver.index, d.handle);
        }
    }
}
