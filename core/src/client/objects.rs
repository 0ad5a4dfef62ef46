//! Typed objects: Domain, Network, StoragePool, StorageVol, NodeDevice, and the
//! connection-level convenience calls that create or find them.

use rvirt_protocol as p;
use rvirt_protocol::{RemoteClient, RemoteError};

use super::Connect;

/// `virDomainInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainInfo {
    pub state: u8,
    pub max_mem_kib: u64,
    pub memory_kib: u64,
    pub nr_virt_cpu: u16,
    pub cpu_time_ns: u64,
}

/// `virNodeInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    pub model: String,
    pub memory_kib: u64,
    pub cpus: i32,
    pub mhz: i32,
    pub nodes: i32,
    pub sockets: i32,
    pub cores: i32,
    pub threads: i32,
}

/// `virStoragePoolInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoragePoolInfo {
    pub state: u8,
    pub capacity: u64,
    pub allocation: u64,
    pub available: u64,
}

/// `virStorageVolInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageVolInfo {
    pub kind: i8,
    pub capacity: u64,
    pub allocation: u64,
}

/// Formats a UUID the way libvirt prints it.
pub fn uuid_string(u: &[u8; 16]) -> String {
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

impl Connect {
    pub fn hostname(&self) -> Result<String, RemoteError> {
        Ok(self.connect_get_hostname()?.hostname)
    }

    /// The hypervisor driver's name, e.g. `Test` or `QEMU`.
    pub fn driver_type(&self) -> Result<String, RemoteError> {
        Ok(self.connect_get_type()?.r#type)
    }

    pub fn hypervisor_version(&self) -> Result<u64, RemoteError> {
        Ok(self.connect_get_version()?.hv_ver)
    }

    pub fn lib_version(&self) -> Result<u64, RemoteError> {
        Ok(self.connect_get_lib_version()?.lib_ver)
    }

    pub fn capabilities(&self) -> Result<String, RemoteError> {
        Ok(self.connect_get_capabilities()?.capabilities)
    }

    pub fn node_info(&self) -> Result<NodeInfo, RemoteError> {
        let r = self.node_get_info()?;
        let model: Vec<u8> = r
            .model
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8)
            .collect();
        Ok(NodeInfo {
            model: String::from_utf8_lossy(&model).into_owned(),
            memory_kib: r.memory,
            cpus: r.cpus,
            mhz: r.mhz,
            nodes: r.nodes,
            sockets: r.sockets,
            cores: r.cores,
            threads: r.threads,
        })
    }

    pub fn list_all_domains(&self, flags: u32) -> Result<Vec<Domain>, RemoteError> {
        let r = self.connect_list_all_domains(&p::RemoteConnectListAllDomainsArgs {
            need_results: 1,
            flags,
        })?;
        Ok(r.domains.into_iter().map(|d| self.domain(d)).collect())
    }

    pub fn domain_by_name(&self, name: &str) -> Result<Domain, RemoteError> {
        let r =
            self.domain_lookup_by_name(&p::RemoteDomainLookupByNameArgs { name: name.into() })?;
        Ok(self.domain(r.dom))
    }

    pub fn domain_by_id(&self, id: i32) -> Result<Domain, RemoteError> {
        Ok(self.domain(
            self.domain_lookup_by_id(&p::RemoteDomainLookupByIdArgs { id })?
                .dom,
        ))
    }

    pub fn domain_by_uuid(&self, uuid: [u8; 16]) -> Result<Domain, RemoteError> {
        Ok(self.domain(
            self.domain_lookup_by_uuid(&p::RemoteDomainLookupByUuidArgs { uuid })?
                .dom,
        ))
    }

    pub fn define_domain(&self, xml: &str) -> Result<Domain, RemoteError> {
        Ok(self.domain(
            self.domain_define_xml(&p::RemoteDomainDefineXmlArgs { xml: xml.into() })?
                .dom,
        ))
    }

    pub fn create_domain(&self, xml: &str, flags: u32) -> Result<Domain, RemoteError> {
        Ok(self.domain(
            self.domain_create_xml(&p::RemoteDomainCreateXmlArgs {
                xml_desc: xml.into(),
                flags,
            })?
            .dom,
        ))
    }

    pub fn list_all_networks(&self, flags: u32) -> Result<Vec<Network>, RemoteError> {
        let r = self.connect_list_all_networks(&p::RemoteConnectListAllNetworksArgs {
            need_results: 1,
            flags,
        })?;
        Ok(r.nets.into_iter().map(|n| self.network(n)).collect())
    }

    pub fn network_by_name(&self, name: &str) -> Result<Network, RemoteError> {
        Ok(self.network(
            self.network_lookup_by_name(&p::RemoteNetworkLookupByNameArgs { name: name.into() })?
                .net,
        ))
    }

    pub fn define_network(&self, xml: &str) -> Result<Network, RemoteError> {
        Ok(self.network(
            self.network_define_xml(&p::RemoteNetworkDefineXmlArgs { xml: xml.into() })?
                .net,
        ))
    }

    pub fn list_all_storage_pools(&self, flags: u32) -> Result<Vec<StoragePool>, RemoteError> {
        let r = self.connect_list_all_storage_pools(&p::RemoteConnectListAllStoragePoolsArgs {
            need_results: 1,
            flags,
        })?;
        Ok(r.pools.into_iter().map(|x| self.pool(x)).collect())
    }

    pub fn storage_pool_by_name(&self, name: &str) -> Result<StoragePool, RemoteError> {
        let r = self.storage_pool_lookup_by_name(&p::RemoteStoragePoolLookupByNameArgs {
            name: name.into(),
        })?;
        Ok(self.pool(r.pool))
    }

    pub fn define_storage_pool(&self, xml: &str) -> Result<StoragePool, RemoteError> {
        Ok(self.pool(
            self.storage_pool_define_xml(&p::RemoteStoragePoolDefineXmlArgs {
                xml: xml.into(),
                flags: 0,
            })?
            .pool,
        ))
    }

    pub fn list_all_node_devices(&self, flags: u32) -> Result<Vec<NodeDevice>, RemoteError> {
        let r = self.connect_list_all_node_devices(&p::RemoteConnectListAllNodeDevicesArgs {
            need_results: 1,
            flags,
        })?;
        Ok(r.devices.into_iter().map(|d| self.node_device(d)).collect())
    }

    pub fn node_device_by_name(&self, name: &str) -> Result<NodeDevice, RemoteError> {
        let r = self.node_device_lookup_by_name(&p::RemoteNodeDeviceLookupByNameArgs {
            name: name.into(),
        })?;
        Ok(self.node_device(r.dev))
    }
}

/// A domain (virtual machine).
#[derive(Debug, Clone)]
pub struct Domain {
    conn: Connect,
    raw: p::RemoteNonnullDomain,
}

impl Domain {
    pub(crate) fn new(conn: Connect, raw: p::RemoteNonnullDomain) -> Domain {
        Domain { conn, raw }
    }

    fn r(&self) -> p::RemoteNonnullDomain {
        self.raw.clone()
    }

    pub fn name(&self) -> &str {
        &self.raw.name
    }

    pub fn uuid(&self) -> [u8; 16] {
        self.raw.uuid
    }

    pub fn uuid_string(&self) -> String {
        uuid_string(&self.raw.uuid)
    }

    /// The id at lookup time (-1 when inactive).
    pub fn id(&self) -> i32 {
        self.raw.id
    }

    pub fn info(&self) -> Result<DomainInfo, RemoteError> {
        let i = self
            .conn
            .domain_get_info(&p::RemoteDomainGetInfoArgs { dom: self.r() })?;
        Ok(DomainInfo {
            state: i.state,
            max_mem_kib: i.max_mem,
            memory_kib: i.memory,
            nr_virt_cpu: i.nr_virt_cpu,
            cpu_time_ns: i.cpu_time,
        })
    }

    /// (state, reason).
    pub fn state(&self) -> Result<(i32, i32), RemoteError> {
        let s = self.conn.domain_get_state(&p::RemoteDomainGetStateArgs {
            dom: self.r(),
            flags: 0,
        })?;
        Ok((s.state, s.reason))
    }

    pub fn xml_desc(&self, flags: u32) -> Result<String, RemoteError> {
        Ok(self
            .conn
            .domain_get_xml_desc(&p::RemoteDomainGetXmlDescArgs {
                dom: self.r(),
                flags,
            })?
            .xml)
    }

    pub fn os_type(&self) -> Result<String, RemoteError> {
        Ok(self
            .conn
            .domain_get_os_type(&p::RemoteDomainGetOsTypeArgs { dom: self.r() })?
            .r#type)
    }

    pub fn max_memory(&self) -> Result<u64, RemoteError> {
        Ok(self
            .conn
            .domain_get_max_memory(&p::RemoteDomainGetMaxMemoryArgs { dom: self.r() })?
            .memory)
    }

    pub fn create(&self) -> Result<(), RemoteError> {
        self.conn
            .domain_create(&p::RemoteDomainCreateArgs { dom: self.r() })
    }

    pub fn destroy(&self) -> Result<(), RemoteError> {
        self.conn
            .domain_destroy(&p::RemoteDomainDestroyArgs { dom: self.r() })
    }

    pub fn shutdown(&self) -> Result<(), RemoteError> {
        self.conn
            .domain_shutdown(&p::RemoteDomainShutdownArgs { dom: self.r() })
    }

    pub fn reboot(&self, flags: u32) -> Result<(), RemoteError> {
        self.conn.domain_reboot(&p::RemoteDomainRebootArgs {
            dom: self.r(),
            flags,
        })
    }

    pub fn reset(&self) -> Result<(), RemoteError> {
        self.conn.domain_reset(&p::RemoteDomainResetArgs {
            dom: self.r(),
            flags: 0,
        })
    }

    pub fn suspend(&self) -> Result<(), RemoteError> {
        self.conn
            .domain_suspend(&p::RemoteDomainSuspendArgs { dom: self.r() })
    }

    pub fn resume(&self) -> Result<(), RemoteError> {
        self.conn
            .domain_resume(&p::RemoteDomainResumeArgs { dom: self.r() })
    }

    pub fn undefine(&self) -> Result<(), RemoteError> {
        self.conn
            .domain_undefine(&p::RemoteDomainUndefineArgs { dom: self.r() })
    }

    pub fn undefine_flags(&self, flags: u32) -> Result<(), RemoteError> {
        self.conn
            .domain_undefine_flags(&p::RemoteDomainUndefineFlagsArgs {
                dom: self.r(),
                flags,
            })
    }

    pub fn set_memory(&self, kib: u64) -> Result<(), RemoteError> {
        self.conn.domain_set_memory(&p::RemoteDomainSetMemoryArgs {
            dom: self.r(),
            memory: kib,
        })
    }

    pub fn set_max_memory(&self, kib: u64) -> Result<(), RemoteError> {
        self.conn
            .domain_set_max_memory(&p::RemoteDomainSetMaxMemoryArgs {
                dom: self.r(),
                memory: kib,
            })
    }

    pub fn set_vcpus(&self, n: u32) -> Result<(), RemoteError> {
        self.conn.domain_set_vcpus(&p::RemoteDomainSetVcpusArgs {
            dom: self.r(),
            nvcpus: n,
        })
    }

    pub fn autostart(&self) -> Result<bool, RemoteError> {
        Ok(self
            .conn
            .domain_get_autostart(&p::RemoteDomainGetAutostartArgs { dom: self.r() })?
            .autostart
            != 0)
    }

    pub fn set_autostart(&self, on: bool) -> Result<(), RemoteError> {
        self.conn
            .domain_set_autostart(&p::RemoteDomainSetAutostartArgs {
                dom: self.r(),
                autostart: i32::from(on),
            })
    }

    pub fn is_active(&self) -> Result<bool, RemoteError> {
        Ok(self
            .conn
            .domain_is_active(&p::RemoteDomainIsActiveArgs { dom: self.r() })?
            .active
            != 0)
    }

    pub fn is_persistent(&self) -> Result<bool, RemoteError> {
        Ok(self
            .conn
            .domain_is_persistent(&p::RemoteDomainIsPersistentArgs { dom: self.r() })?
            .persistent
            != 0)
    }

    pub fn has_managed_save(&self) -> Result<bool, RemoteError> {
        let r =
            self.conn
                .domain_has_managed_save_image(&p::RemoteDomainHasManagedSaveImageArgs {
                    dom: self.r(),
                    flags: 0,
                })?;
        Ok(r.result != 0)
    }

    pub fn managed_save(&self) -> Result<(), RemoteError> {
        self.conn
            .domain_managed_save(&p::RemoteDomainManagedSaveArgs {
                dom: self.r(),
                flags: 0,
            })
    }
}

/// A virtual network.
#[derive(Debug, Clone)]
pub struct Network {
    pub(super) conn: Connect,
    pub(super) raw: p::RemoteNonnullNetwork,
}

impl Network {
    pub(crate) fn new(conn: Connect, raw: p::RemoteNonnullNetwork) -> Network {
        Network { conn, raw }
    }

    /// The network a reference names (from a lookup or a listing), on `conn`.
    pub fn from_ref(conn: &Connect, raw: p::RemoteNonnullNetwork) -> Network {
        Network::new(conn.clone(), raw)
    }

    fn r(&self) -> p::RemoteNonnullNetwork {
        self.raw.clone()
    }

    pub fn name(&self) -> &str {
        &self.raw.name
    }

    pub fn uuid_string(&self) -> String {
        uuid_string(&self.raw.uuid)
    }

    pub fn xml_desc(&self, flags: u32) -> Result<String, RemoteError> {
        Ok(self
            .conn
            .network_get_xml_desc(&p::RemoteNetworkGetXmlDescArgs {
                net: self.r(),
                flags,
            })?
            .xml)
    }

    pub fn create(&self) -> Result<(), RemoteError> {
        self.conn
            .network_create(&p::RemoteNetworkCreateArgs { net: self.r() })
    }

    pub fn destroy(&self) -> Result<(), RemoteError> {
        self.conn
            .network_destroy(&p::RemoteNetworkDestroyArgs { net: self.r() })
    }

    pub fn undefine(&self) -> Result<(), RemoteError> {
        self.conn
            .network_undefine(&p::RemoteNetworkUndefineArgs { net: self.r() })
    }

    pub fn is_active(&self) -> Result<bool, RemoteError> {
        Ok(self
            .conn
            .network_is_active(&p::RemoteNetworkIsActiveArgs { net: self.r() })?
            .active
            != 0)
    }

    pub fn is_persistent(&self) -> Result<bool, RemoteError> {
        Ok(self
            .conn
            .network_is_persistent(&p::RemoteNetworkIsPersistentArgs { net: self.r() })?
            .persistent
            != 0)
    }

    pub fn autostart(&self) -> Result<bool, RemoteError> {
        Ok(self
            .conn
            .network_get_autostart(&p::RemoteNetworkGetAutostartArgs { net: self.r() })?
            .autostart
            != 0)
    }

    pub fn bridge_name(&self) -> Result<String, RemoteError> {
        Ok(self
            .conn
            .network_get_bridge_name(&p::RemoteNetworkGetBridgeNameArgs { net: self.r() })?
            .name)
    }
}

/// A storage pool.
#[derive(Debug, Clone)]
pub struct StoragePool {
    conn: Connect,
    raw: p::RemoteNonnullStoragePool,
}

impl StoragePool {
    pub(crate) fn new(conn: Connect, raw: p::RemoteNonnullStoragePool) -> StoragePool {
        StoragePool { conn, raw }
    }

    fn r(&self) -> p::RemoteNonnullStoragePool {
        self.raw.clone()
    }

    pub fn name(&self) -> &str {
        &self.raw.name
    }

    pub fn uuid_string(&self) -> String {
        uuid_string(&self.raw.uuid)
    }

    pub fn info(&self) -> Result<StoragePoolInfo, RemoteError> {
        let i = self
            .conn
            .storage_pool_get_info(&p::RemoteStoragePoolGetInfoArgs { pool: self.r() })?;
        Ok(StoragePoolInfo {
            state: i.state,
            capacity: i.capacity,
            allocation: i.allocation,
            available: i.available,
        })
    }

    pub fn xml_desc(&self, flags: u32) -> Result<String, RemoteError> {
        Ok(self
            .conn
            .storage_pool_get_xml_desc(&p::RemoteStoragePoolGetXmlDescArgs {
                pool: self.r(),
                flags,
            })?
            .xml)
    }

    pub fn create(&self) -> Result<(), RemoteError> {
        self.conn
            .storage_pool_create(&p::RemoteStoragePoolCreateArgs {
                pool: self.r(),
                flags: 0,
            })
    }

    pub fn destroy(&self) -> Result<(), RemoteError> {
        self.conn
            .storage_pool_destroy(&p::RemoteStoragePoolDestroyArgs { pool: self.r() })
    }

    pub fn undefine(&self) -> Result<(), RemoteError> {
        self.conn
            .storage_pool_undefine(&p::RemoteStoragePoolUndefineArgs { pool: self.r() })
    }

    pub fn list_all_volumes(&self) -> Result<Vec<StorageVol>, RemoteError> {
        let a = p::RemoteStoragePoolListAllVolumesArgs {
            pool: self.r(),
            need_results: 1,
            flags: 0,
        };
        Ok(self
            .conn
            .storage_pool_list_all_volumes(&a)?
            .vols
            .into_iter()
            .map(|v| self.conn.vol(v))
            .collect())
    }

    pub fn volume_by_name(&self, name: &str) -> Result<StorageVol, RemoteError> {
        let a = p::RemoteStorageVolLookupByNameArgs {
            pool: self.r(),
            name: name.into(),
        };
        Ok(self.conn.vol(self.conn.storage_vol_lookup_by_name(&a)?.vol))
    }

    pub fn create_volume(&self, xml: &str) -> Result<StorageVol, RemoteError> {
        let a = p::RemoteStorageVolCreateXmlArgs {
            pool: self.r(),
            xml: xml.into(),
            flags: 0,
        };
        Ok(self.conn.vol(self.conn.storage_vol_create_xml(&a)?.vol))
    }
}

/// A storage volume.
#[derive(Debug, Clone)]
pub struct StorageVol {
    conn: Connect,
    raw: p::RemoteNonnullStorageVol,
}

impl StorageVol {
    pub(crate) fn new(conn: Connect, raw: p::RemoteNonnullStorageVol) -> StorageVol {
        StorageVol { conn, raw }
    }

    /// The connection and the wire identity, for the stream calls in `stream.rs`.
    pub(super) fn parts(&self) -> (&Connect, &p::RemoteNonnullStorageVol) {
        (&self.conn, &self.raw)
    }

    fn r(&self) -> p::RemoteNonnullStorageVol {
        self.raw.clone()
    }

    pub fn name(&self) -> &str {
        &self.raw.name
    }

    pub fn key(&self) -> &str {
        &self.raw.key
    }

    pub fn path(&self) -> Result<String, RemoteError> {
        Ok(self
            .conn
            .storage_vol_get_path(&p::RemoteStorageVolGetPathArgs { vol: self.r() })?
            .name)
    }

    pub fn info(&self) -> Result<StorageVolInfo, RemoteError> {
        let i = self
            .conn
            .storage_vol_get_info(&p::RemoteStorageVolGetInfoArgs { vol: self.r() })?;
        Ok(StorageVolInfo {
            kind: i.r#type,
            capacity: i.capacity,
            allocation: i.allocation,
        })
    }

    pub fn xml_desc(&self) -> Result<String, RemoteError> {
        Ok(self
            .conn
            .storage_vol_get_xml_desc(&p::RemoteStorageVolGetXmlDescArgs {
                vol: self.r(),
                flags: 0,
            })?
            .xml)
    }

    pub fn delete(&self) -> Result<(), RemoteError> {
        self.conn
            .storage_vol_delete(&p::RemoteStorageVolDeleteArgs {
                vol: self.r(),
                flags: 0,
            })
    }
}

/// A host device.
#[derive(Debug, Clone)]
pub struct NodeDevice {
    conn: Connect,
    raw: p::RemoteNonnullNodeDevice,
}

impl NodeDevice {
    pub(crate) fn new(conn: Connect, raw: p::RemoteNonnullNodeDevice) -> NodeDevice {
        NodeDevice { conn, raw }
    }

    pub fn name(&self) -> &str {
        &self.raw.name
    }

    pub fn xml_desc(&self) -> Result<String, RemoteError> {
        let a = p::RemoteNodeDeviceGetXmlDescArgs {
            name: self.raw.name.clone(),
            flags: 0,
        };
        Ok(self.conn.node_device_get_xml_desc(&a)?.xml)
    }

    pub fn parent(&self) -> Result<Option<String>, RemoteError> {
        let a = p::RemoteNodeDeviceGetParentArgs {
            name: self.raw.name.clone(),
        };
        Ok(self.conn.node_device_get_parent(&a)?.parent_name)
    }

    pub fn capabilities(&self) -> Result<Vec<String>, RemoteError> {
        let a = p::RemoteNodeDeviceListCapsArgs {
            name: self.raw.name.clone(),
            maxnames: 65536,
        };
        Ok(self.conn.node_device_list_caps(&a)?.names)
    }
}
