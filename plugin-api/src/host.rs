//! Host services as seen from inside a module: event sink, host calls and the log bridge
//! that forwards this module's own `tracing` records to the host's subscriber.

use std::fmt::Write;
use std::sync::OnceLock;

use abi_stable::std_types::{RResult, RSlice, RStr};
use rvirt_protocol::{RemoteError, Xdr};

use crate::abi::HostServices;

static HOST: OnceLock<(HostServices, u64)> = OnceLock::new();

/// Called once by the glue when the host attaches; installs the log bridge.
pub(crate) fn attach(host: HostServices, token: u64) {
    if HOST.set((host, token)).is_ok() {
        // A module has its own copy of `tracing`; route it to the host. Fails only if the
        // module installed a subscriber itself, which is its choice.
        let _ = tracing::subscriber::set_global_default(Bridge);
    }
}

/// Sends an event for connection `handle` of driver `driver`. Dropped when no host is attached.
pub fn emit_event<T: Xdr>(driver: u32, handle: u64, program: u32, procedure: i32, payload: &T) {
    if let Some((host, token)) = HOST.get() {
        let bytes = rvirt_protocol::xdr::to_bytes(payload);
        (host.emit_event)(
            *token,
            driver,
            handle,
            program,
            procedure,
            RSlice::from_slice(&bytes),
        );
    }
}

/// Sends a domain lifecycle event (libvirt's callback form, procedure 318; the host fills in
/// each subscriber's callback id) to connection `handle` of driver `driver`.
pub fn emit_domain_lifecycle(
    driver: u32,
    handle: u64,
    dom: &rvirt_protocol::RemoteNonnullDomain,
    event: i32,
    detail: i32,
) {
    let msg = rvirt_protocol::RemoteDomainEventCallbackLifecycleMsg {
        callback_id: 0,
        msg: rvirt_protocol::RemoteDomainEventLifecycleMsg {
            dom: dom.clone(),
            event,
            detail,
        },
    };
    emit_event(
        driver,
        handle,
        rvirt_protocol::REMOTE_PROGRAM_NUMBER,
        rvirt_protocol::remote_proc::DOMAIN_EVENT_CALLBACK_LIFECYCLE,
        &msg,
    );
}

/// Sends a domain METADATA_CHANGE event (procedure 379): `kind` is the
/// `virDomainMetadataType`, `nsuri` the namespace of a changed element.
pub fn emit_domain_metadata_change(
    driver: u32,
    handle: u64,
    dom: &rvirt_protocol::RemoteNonnullDomain,
    kind: i32,
    nsuri: Option<String>,
) {
    let msg = rvirt_protocol::RemoteDomainEventCallbackMetadataChangeMsg {
        callback_id: 0,
        dom: dom.clone(),
        r#type: kind,
        nsuri,
    };
    emit_event(
        driver,
        handle,
        rvirt_protocol::REMOTE_PROGRAM_NUMBER,
        rvirt_protocol::remote_proc::DOMAIN_EVENT_CALLBACK_METADATA_CHANGE,
        &msg,
    );
}

/// Sends a network METADATA_CHANGE event (procedure 446, network event id 1): `kind` is
/// the `virNetworkMetadataType`, `nsuri` the namespace of a changed element.
pub fn emit_network_metadata_change(
    driver: u32,
    handle: u64,
    net: &rvirt_protocol::RemoteNonnullNetwork,
    kind: i32,
    nsuri: Option<String>,
) {
    let msg = rvirt_protocol::RemoteNetworkEventCallbackMetadataChangeMsg {
        callback_id: 0,
        net: net.clone(),
        r#type: kind,
        nsuri,
    };
    emit_event(
        driver,
        handle,
        rvirt_protocol::REMOTE_PROGRAM_NUMBER,
        rvirt_protocol::remote_proc::NETWORK_EVENT_CALLBACK_METADATA_CHANGE,
        &msg,
    );
}

/// A message-level request to the host.
pub fn host_call(kind: u32, payload: &[u8]) -> Result<Vec<u8>, RemoteError> {
    let Some((host, token)) = HOST.get() else {
        return Err(RemoteError::new(
            rvirt_protocol::error::code::INTERNAL_ERROR,
            rvirt_protocol::error::domain::NONE,
            "the module is not attached to a host",
        ));
    };
    match (host.host_call)(*token, kind, RSlice::from_slice(payload)) {
        RResult::ROk(v) => Ok(v.into_vec()),
        RResult::RErr(e) => {
            Err(rvirt_protocol::xdr::from_bytes(&e).unwrap_or_else(RemoteError::from))
        }
    }
}

/// Tells the host how many of this module's objects need the daemon to stay (running
/// domains): while any module holds one, an idle daemon does not exit. A host that does
/// not know the call keeps its own idle rule.
pub fn hold_idle_exit(holds: u32) {
    let req = rvirt_protocol::RvirtHostHoldIdleExit { holds };
    let _ = host_call(
        rvirt_protocol::RVIRT_HOST_CALL_HOLD_IDLE_EXIT as u32,
        &rvirt_protocol::xdr::to_bytes(&req),
    );
}

fn level_code(level: &tracing::Level) -> u32 {
    match *level {
        tracing::Level::ERROR => 1,
        tracing::Level::WARN => 2,
        tracing::Level::INFO => 3,
        tracing::Level::DEBUG => 4,
        tracing::Level::TRACE => 5,
    }
}

/// A `tracing` subscriber that forwards events to the host's log function.
struct Bridge;

#[derive(Default)]
struct Collect(String);

impl tracing::field::Visit for Collect {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl tracing::Subscriber for Bridge {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() <= tracing::Level::DEBUG
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::DEBUG)
    }

    fn new_span(&self, _span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _span: &tracing::span::Id, _values: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _span: &tracing::span::Id, _follows: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let Some((host, token)) = HOST.get() else {
            return;
        };
        let mut text = Collect::default();
        event.record(&mut text);
        let meta = event.metadata();
        (host.log)(
            *token,
            level_code(meta.level()),
            RStr::from_str(meta.target()),
            RStr::from_str(&text.0),
        );
    }

    fn enter(&self, _span: &tracing::span::Id) {}

    fn exit(&self, _span: &tracing::span::Id) {}
}
