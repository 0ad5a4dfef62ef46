//! The state behind one test URI: objects, node description and the open connections
//! that receive its events. All connections to the same URI share one [`Driver`].

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use rvirt_plugin_api::protocol::DriverKind;
use rvirt_xml::domain::DomainDef;
use rvirt_xml::network::NetworkDef;
use rvirt_xml::nodedev::NodeDeviceDef;
use rvirt_xml::storage::{StoragePoolDef, StorageVolDef};
use rvirt_xml::testnode::{NodeCpu, TestNode};

use crate::checkpoint::Checkpoint;
use crate::error::{TestError, TestResult};
use crate::events::Event;
use crate::interface::Interface;
use crate::snapshot::Snapshot;
use crate::store::{Keyed, Store};

pub use rvirt_plugin_api::protocol::facts::domain_state as dstate;

/// One NUMA cell of the fake host.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub cpus: u32,
    /// Memory in KiB, as libvirt's test driver counts it.
    pub mem: u64,
    pub free_mem: u64,
}

/// A domain and its runtime state.
#[derive(Debug, Clone)]
pub struct Domain {
    /// The live definition while active, the persistent one otherwise.
    pub def: DomainDef,
    /// The persistent definition while a persistent domain is active.
    pub new_def: Option<Box<DomainDef>>,
    pub persistent: bool,
    pub state: i32,
    pub reason: i32,
    pub id: i32,
    pub autostart: bool,
    pub managed_save: bool,
    pub snapshots: Vec<Snapshot>,
    pub current_snapshot: Option<String>,
    pub checkpoints: Vec<Checkpoint>,
    /// The newest checkpoint: the parent of the next one.
    pub current_checkpoint: Option<String>,
}

impl Domain {
    pub fn new(def: DomainDef) -> Domain {
        Domain {
            def,
            new_def: None,
            persistent: false,
            state: dstate::SHUTOFF,
            reason: 0,
            id: -1,
            autostart: false,
            managed_save: false,
            snapshots: Vec::new(),
            current_snapshot: None,
            checkpoints: Vec::new(),
            current_checkpoint: None,
        }
    }

    pub fn is_active(&self) -> bool {
        self.state != dstate::SHUTOFF
    }

    /// The persistent configuration (the live one for an inactive domain).
    pub fn persistent_def(&self) -> &DomainDef {
        self.new_def.as_deref().unwrap_or(&self.def)
    }
}

impl Keyed for Domain {
    fn name(&self) -> &str {
        &self.def.name
    }
    fn uuid(&self) -> &[u8; 16] {
        &self.def.uuid.0
    }
    fn live_id(&self) -> Option<i32> {
        self.is_active().then_some(self.id)
    }
}

impl Keyed for Network {
    fn name(&self) -> &str {
        &self.def.name
    }
    fn uuid(&self) -> &[u8; 16] {
        &self.def.uuid.0
    }
}

impl Keyed for Pool {
    fn name(&self) -> &str {
        &self.def.name
    }
    fn uuid(&self) -> &[u8; 16] {
        &self.def.uuid.0
    }
}

/// A virtual network.
#[derive(Debug, Clone)]
pub struct Network {
    pub def: NetworkDef,
    pub new_def: Option<NetworkDef>,
    pub active: bool,
    pub persistent: bool,
    pub autostart: bool,
}

/// A storage pool with its volumes.
#[derive(Debug, Clone)]
pub struct Pool {
    pub def: StoragePoolDef,
    pub vols: Vec<StorageVolDef>,
    /// Volume contents by volume name (see `storage_data`).
    pub data: std::collections::HashMap<String, crate::storage_data::VolData>,
    pub active: bool,
    pub persistent: bool,
    pub autostart: bool,
}

/// Everything behind one URI.
#[derive(Debug)]
pub struct Inner {
    pub cpu: NodeCpu,
    pub memory_kib: u64,
    pub cells: Vec<Cell>,
    pub next_dom_id: i32,
    /// Domains in definition order, indexed by name, UUID and (while running) id.
    pub domains: Store<Domain>,
    pub networks: Store<Network>,
    pub pools: Store<Pool>,
    pub devices: Vec<NodeDeviceDef>,
    /// Host interfaces in definition order.
    pub interfaces: Vec<Interface>,
    /// The interfaces as they were when a change transaction began.
    pub iface_backup: Option<Vec<Interface>>,
}

/// An open connection that receives events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listener {
    pub kind: DriverKind,
    pub driver: u32,
    pub handle: u64,
}

/// Shared state of one test URI.
#[derive(Debug)]
pub struct Driver {
    inner: Mutex<Inner>,
    listeners: Mutex<Vec<Listener>>,
    /// Serialises sending events in the order of the changes (see `write`).
    emitting: Mutex<()>,
}

const DEFAULT_NODE: &str = include_str!("default-node.xml");

/// libvirt's default pool size: 100 GiB.
pub const DEFAULT_POOL_CAPACITY: u64 = 100 * 1024 * 1024 * 1024;

impl Driver {
    /// Builds the state from a parsed node description.
    pub fn from_node(node: TestNode, is_default: bool) -> TestResult<Driver> {
        let mut inner = Inner {
            cpu: node.cpu,
            memory_kib: node.memory_kib,
            cells: Vec::new(),
            next_dom_id: 1,
            domains: Store::new(),
            networks: Store::new(),
            pools: Store::new(),
            devices: node.devices,
            interfaces: Vec::new(),
            iface_backup: None,
        };
        for e in &node.interfaces {
            let mut iface = Interface::from_element(e)?;
            iface.active = true;
            match inner.interfaces.iter_mut().find(|i| i.name == iface.name) {
                Some(old) => *old = iface,
                None => inner.interfaces.push(iface),
            }
        }
        if is_default {
            inner.cells = (0..2u64)
                .map(|i| Cell {
                    cpus: 8,
                    mem: (i + 1) * 2048 * 1024,
                    free_mem: (i + 1) * 1024 * 1024,
                })
                .collect();
        }
        for def in node.domains {
            let mut d = Domain::new(def);
            d.persistent = true;
            d.id = inner.next_dom_id;
            inner.next_dom_id += 1;
            d.state = dstate::RUNNING;
            d.new_def = Some(Box::new(d.def.clone()));
            inner.domains.insert(d);
        }
        inner.networks = node
            .networks
            .into_iter()
            .map(|def| Network {
                def,
                new_def: None,
                active: true,
                persistent: true,
                autostart: false,
            })
            .collect();
        inner.pools = node
            .pools
            .into_iter()
            .map(|(def, vols)| new_pool(def, vols))
            .collect();
        Ok(Driver {
            inner: Mutex::new(inner),
            listeners: Mutex::new(Vec::new()),
            emitting: Mutex::new(()),
        })
    }

    /// The built-in default state, freshly parsed.
    pub fn new_default() -> Driver {
        let node = TestNode::parse(DEFAULT_NODE, Path::new("/"))
            .unwrap_or_else(|e| panic!("the built-in default node description is invalid: {e}"));
        Driver::from_node(node, true)
            .unwrap_or_else(|e| panic!("the built-in default node description is invalid: {e}"))
    }

    /// Loads a node description file.
    pub fn from_file(path: &str) -> TestResult<Driver> {
        let text =
            rvirt_xml::file::read_document(Path::new(path)).map_err(|e| TestError::File {
                path: path.to_string(),
                reason: e.to_string(),
            })?;
        let base = Path::new(path).parent().unwrap_or(Path::new("/"));
        let node = TestNode::parse(&text, base).map_err(TestError::from)?;
        Driver::from_node(node, false)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the state.
    pub fn read<R>(&self, f: impl FnOnce(&Inner) -> TestResult<R>) -> TestResult<R> {
        f(&self.lock())
    }

    /// Changes the state; events the change produced are sent after the state lock is
    /// released, in the order of the changes.
    pub fn write<R>(
        &self,
        f: impl FnOnce(&mut Inner, &mut Vec<Event>) -> TestResult<R>,
    ) -> TestResult<R> {
        let mut events = Vec::new();
        let mut g = self.lock();
        let r = f(&mut g, &mut events);
        if events.is_empty() {
            return r;
        }
        // Taken before the state lock is let go: events leave in the order of the
        // changes that made them, whichever threads made them.
        let order = self.emitting.lock().unwrap_or_else(PoisonError::into_inner);
        drop(g);
        let listeners = self
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for ev in &events {
            ev.send(&listeners);
        }
        drop(order);
        r
    }

    pub fn add_listener(&self, l: Listener) {
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(l);
    }

    pub fn remove_listener(&self, l: Listener) {
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|x| *x != l);
    }

    #[cfg(test)]
    pub fn listener_count(&self) -> usize {
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// What libvirt's test driver puts before a volume's name when its pool has no target
/// (network pools): C's rendering of a missing string.
pub const NO_TARGET: &str = "(null)";

/// Makes an active persistent pool with the test driver's fixed capacity and the
/// allocation of its volumes.
pub fn new_pool(mut def: StoragePoolDef, vols: Vec<StorageVolDef>) -> Pool {
    def.capacity = DEFAULT_POOL_CAPACITY;
    let target = def.target_path.clone().unwrap_or_else(|| NO_TARGET.into());
    // Volumes a node file describes keep the path and key it gives them.
    let vols: Vec<StorageVolDef> = vols
        .into_iter()
        .map(|mut v| {
            let path = v
                .target_path
                .get_or_insert_with(|| format!("{target}/{}", v.name))
                .clone();
            v.key.get_or_insert(path);
            v
        })
        .collect();
    def.allocation = vols.iter().map(|v| v.allocation).sum();
    def.available = def.capacity.saturating_sub(def.allocation);
    Pool {
        def,
        vols,
        data: Default::default(),
        active: true,
        persistent: true,
        autostart: false,
    }
}

/// Gives a volume its path and key inside a pool, as the test driver does.
pub fn place_vol(pool_target: &str, mut v: StorageVolDef) -> StorageVolDef {
    let path = format!("{pool_target}/{}", v.name);
    v.target_path = Some(path.clone());
    v.key = Some(path);
    v
}

/// One state of the process-wide table and how many connections use it.
struct SharedState {
    drv: Arc<Driver>,
    conns: usize,
}

type StateTable = Mutex<HashMap<String, SharedState>>;

fn states() -> &'static StateTable {
    static STATES: OnceLock<StateTable> = OnceLock::new();
    STATES.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The state for a URI path (`test:///default` or a node file), shared by every open
/// connection to it; counts one more connection, which [`release`] gives back.
pub fn shared(path: &str) -> TestResult<Arc<Driver>> {
    let mut table = states().lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(s) = table.get_mut(path) {
        s.conns += 1;
        return Ok(s.drv.clone());
    }
    let d = if path == "/default" {
        Driver::new_default()
    } else {
        Driver::from_file(path)?
    };
    let drv = Arc::new(d);
    let entry = SharedState {
        drv: drv.clone(),
        conns: 1,
    };
    table.insert(path.to_string(), entry);
    Ok(drv)
}

/// One connection to `path` is closed. When it was the last, the state is discarded, as
/// libvirt does: the next connection starts from the initial objects again.
pub fn release(path: &str, drv: &Arc<Driver>) {
    let mut table = states().lock().unwrap_or_else(PoisonError::into_inner);
    let Some(s) = table.get_mut(path).filter(|s| Arc::ptr_eq(&s.drv, drv)) else {
        return;
    };
    s.conns = s.conns.saturating_sub(1);
    if s.conns == 0 {
        table.remove(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_state_has_libvirt_objects() {
        let d = Driver::new_default();
        d.read(|s| {
            assert_eq!(s.domains.len(), 1);
            assert_eq!(s.domains[0].def.name, "test");
            assert_eq!(s.domains[0].id, 1);
            assert!(s.domains[0].is_active());
            assert_eq!(s.networks[0].def.name, "default");
            assert_eq!(s.pools[0].def.name, "default-pool");
            assert_eq!(s.pools[0].def.capacity, DEFAULT_POOL_CAPACITY);
            let names: Vec<_> = s.devices.iter().map(|d| d.name.as_str()).collect();
            assert_eq!(
                names,
                ["computer", "scsi_host1", "scsi_host2", "scsi_host11"]
            );
            assert_eq!(s.cells.len(), 2);
            Ok(())
        })
        .unwrap();
    }

    /// As libvirt 9.0's test driver shows a node file's pools and volumes: sizes its
    /// own, volume paths and keys as the file gives them or inside the pool.
    #[test]
    fn node_file_pools_and_volumes() {
        let dir = std::env::temp_dir().join(format!("rvirt-nodepools-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("node.xml");
        std::fs::write(
            &file,
            "<node><pool type='dir'><name>p1</name><capacity>1000000</capacity><allocation>10</allocation>\
             <target><path>/p1</path></target>\
             <volume><name>v1</name><key>mykey</key><capacity>100</capacity><target><path>/elsewhere/v1</path><format type='qcow2'/></target></volume>\
             <volume><name>v2</name><capacity>200</capacity><allocation>50</allocation></volume></pool>\
             <pool type='logical'><name>vg</name><source><name>vg</name></source>\
             <volume><name>lv</name><capacity>100</capacity></volume></pool></node>",
        )
        .unwrap();
        let d = Driver::from_file(file.to_str().unwrap()).unwrap();
        d.read(|s| {
            let p1 = &s.pools[0];
            assert_eq!(
                (p1.def.capacity, p1.def.allocation, p1.def.available),
                (107374182400, 150, 107374182250)
            );
            let v1 = &p1.vols[0];
            assert_eq!(v1.to_xml(), "<volume type='file'>\n  <name>v1</name>\n  <key>mykey</key>\n  <capacity unit='bytes'>100</capacity>\n  <allocation unit='bytes'>100</allocation>\n  <target>\n    <path>/elsewhere/v1</path>\n    <format type='qcow2'/>\n  </target>\n</volume>\n");
            assert_eq!(p1.vols[1].key.as_deref(), Some("/p1/v2"));
            let lv = &s.pools[1].vols[0];
            assert_eq!(lv.to_xml(), "<volume type='file'>\n  <name>lv</name>\n  <key>/dev/vg/lv</key>\n  <capacity unit='bytes'>100</capacity>\n  <allocation unit='bytes'>100</allocation>\n  <target>\n    <path>/dev/vg/lv</path>\n  </target>\n</volume>\n");
            Ok(())
        })
        .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn default_state_is_shared_until_the_last_release() {
        // A node file of its own, so other tests using /default do not interfere.
        let dir = std::env::temp_dir().join(format!("rvirt-shared-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("node.xml");
        std::fs::write(&file, "<node/>").unwrap();
        let path = file.to_str().unwrap();
        let a = shared(path).unwrap();
        let b = shared(path).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        release(path, &a);
        let c = shared(path).unwrap();
        assert!(Arc::ptr_eq(&b, &c), "a second connection keeps the state");
        release(path, &b);
        release(path, &c);
        let d = shared(path).unwrap();
        assert!(!Arc::ptr_eq(&c, &d), "the last close discards the state");
        release(path, &d);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[cfg(test)]
mod size_report {
    use super::*;
    use rvirt_xml::domain::*;
    use std::mem::size_of;

    /// Prints the inline sizes (run with `--nocapture`) and guards against regressions:
    /// a defined domain should stay around 1 KiB (it was 2480 bytes before boxing).
    #[test]
    fn domain_sizes() {
        eprintln!(
            "SIZES Domain {} DomainDef {} OsDef {} CpuDef {} ClockDef {} Loader {} Nvram {} Element {} Device {}",
            size_of::<Domain>(),
            size_of::<DomainDef>(),
            size_of::<OsDef>(),
            size_of::<CpuDef>(),
            size_of::<ClockDef>(),
            size_of::<Loader>(),
            size_of::<Nvram>(),
            size_of::<rvirt_xml::tree::Element>(),
            size_of::<Device>()
        );
        if cfg!(target_pointer_width = "64") {
            assert!(size_of::<Domain>() <= 1024, "{}", size_of::<Domain>());
        }
    }
}
