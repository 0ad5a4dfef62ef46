//! What every connection kind shares: the state it works on and its event registration.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::TestResult;
use crate::events::Event;
use crate::state::{Driver, Inner, Listener};

/// One open connection of some driver kind.
#[derive(Debug)]
pub struct Conn {
    pub drv: Arc<Driver>,
    pub listener: Listener,
    /// The shared-state path this connection counts against (see `state::shared`).
    shared: Option<String>,
    closed: AtomicBool,
}

impl Conn {
    /// Registers the connection for events of its kind.
    #[cfg(test)]
    pub fn open(drv: Arc<Driver>, listener: Listener) -> Conn {
        drv.add_listener(listener);
        Conn {
            drv,
            listener,
            shared: None,
            closed: AtomicBool::new(false),
        }
    }

    /// Like [`Conn::open`] on a state obtained from `state::shared(path)`, released on
    /// close.
    pub fn open_shared(drv: Arc<Driver>, listener: Listener, path: String) -> Conn {
        drv.add_listener(listener);
        Conn {
            drv,
            listener,
            shared: Some(path),
            closed: AtomicBool::new(false),
        }
    }

    /// Unregisters the connection and gives its state back (once, however often called).
    pub fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.drv.remove_listener(self.listener);
        if let Some(p) = &self.shared {
            crate::state::release(p, &self.drv);
        }
    }

    pub fn read<R>(&self, f: impl FnOnce(&Inner) -> TestResult<R>) -> TestResult<R> {
        self.drv.read(f)
    }

    pub fn write<R>(
        &self,
        f: impl FnOnce(&mut Inner, &mut Vec<Event>) -> TestResult<R>,
    ) -> TestResult<R> {
        self.drv.write(f)
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.close();
    }
}

/// Implements `sdk::Connection` for a connection type wrapping a [`Conn`] in field `0`.
macro_rules! impl_connection {
    ($t:ty) => {
        impl rvirt_plugin_api::sdk::Connection for $t {
            fn call(
                &self,
                program: u32,
                procedure: i32,
                args: &[u8],
            ) -> Result<Vec<u8>, rvirt_plugin_api::protocol::RemoteError> {
                rvirt_plugin_api::sdk::dispatch_remote(self, program, procedure, args)
            }

            fn close(&self) {
                self.0.close();
            }
        }
    };
}
pub(crate) use impl_connection;
