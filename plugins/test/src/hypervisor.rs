//! The hypervisor connection: connect/node calls and every domain procedure.

use rvirt_plugin_api::protocol::{remote_proc as p, *};

use crate::conn::{impl_connection, Conn};
use crate::domain::{self as dm, find};
use crate::domain_info as di;
use crate::error::check_flags;
use crate::{caps, checkpoint as cp, snapshot as sn, stats};

/// The hypervisor connection.
pub struct HypervisorConn(pub Conn);

impl_connection!(HypervisorConn);

/// Procedures this driver implements (`tests::declared_procedures_are_the_implemented_ones`
/// proves the list and the handler agree).
pub const PROCEDURES: &[i32] = &[
    p::CONNECT_GET_TYPE,
    p::CONNECT_GET_VERSION,
    p::CONNECT_GET_HOSTNAME,
    p::CONNECT_GET_CAPABILITIES,
    p::CONNECT_GET_MAX_VCPUS,
    p::CONNECT_GET_SYSINFO,
    p::NODE_GET_INFO,
    p::NODE_GET_FREE_MEMORY,
    p::NODE_GET_CELLS_FREE_MEMORY,
    p::NODE_GET_SECURITY_MODEL,
    p::CONNECT_LIST_ALL_DOMAINS,
    p::CONNECT_NUM_OF_DOMAINS,
    p::CONNECT_LIST_DOMAINS,
    p::CONNECT_NUM_OF_DEFINED_DOMAINS,
    p::CONNECT_LIST_DEFINED_DOMAINS,
    p::DOMAIN_DEFINE_XML,
    p::DOMAIN_DEFINE_XML_FLAGS,
    p::DOMAIN_UNDEFINE,
    p::DOMAIN_UNDEFINE_FLAGS,
    p::DOMAIN_CREATE,
    p::DOMAIN_CREATE_WITH_FLAGS,
    p::DOMAIN_CREATE_XML,
    p::DOMAIN_DESTROY,
    p::DOMAIN_DESTROY_FLAGS,
    p::DOMAIN_SHUTDOWN,
    p::DOMAIN_SHUTDOWN_FLAGS,
    p::DOMAIN_REBOOT,
    p::DOMAIN_RESET,
    p::DOMAIN_SUSPEND,
    p::DOMAIN_RESUME,
    p::DOMAIN_LOOKUP_BY_ID,
    p::DOMAIN_LOOKUP_BY_NAME,
    p::DOMAIN_LOOKUP_BY_UUID,
    p::DOMAIN_GET_INFO,
    p::DOMAIN_GET_STATE,
    p::DOMAIN_GET_XML_DESC,
    p::DOMAIN_GET_OS_TYPE,
    p::DOMAIN_GET_MAX_MEMORY,
    p::DOMAIN_SET_MEMORY,
    p::DOMAIN_SET_MEMORY_FLAGS,
    p::DOMAIN_SET_METADATA,
    p::DOMAIN_GET_METADATA,
    p::DOMAIN_SET_MAX_MEMORY,
    p::DOMAIN_GET_VCPUS_FLAGS,
    p::DOMAIN_SET_VCPUS,
    p::DOMAIN_SET_VCPUS_FLAGS,
    p::DOMAIN_GET_MAX_VCPUS,
    p::DOMAIN_GET_VCPUS,
    p::DOMAIN_GET_AUTOSTART,
    p::DOMAIN_SET_AUTOSTART,
    p::DOMAIN_IS_ACTIVE,
    p::DOMAIN_IS_PERSISTENT,
    p::DOMAIN_IS_UPDATED,
    p::DOMAIN_MANAGED_SAVE,
    p::DOMAIN_HAS_MANAGED_SAVE_IMAGE,
    p::DOMAIN_MANAGED_SAVE_REMOVE,
    p::DOMAIN_SNAPSHOT_CREATE_XML,
    p::DOMAIN_LIST_ALL_SNAPSHOTS,
    p::DOMAIN_SNAPSHOT_NUM,
    p::DOMAIN_SNAPSHOT_LIST_NAMES,
    p::DOMAIN_SNAPSHOT_LOOKUP_BY_NAME,
    p::DOMAIN_SNAPSHOT_CURRENT,
    p::DOMAIN_REVERT_TO_SNAPSHOT,
    p::DOMAIN_SNAPSHOT_DELETE,
    p::DOMAIN_SNAPSHOT_GET_XML_DESC,
    p::DOMAIN_HAS_CURRENT_SNAPSHOT,
    p::DOMAIN_CHECKPOINT_CREATE_XML,
    p::DOMAIN_CHECKPOINT_GET_XML_DESC,
    p::DOMAIN_LIST_ALL_CHECKPOINTS,
    p::DOMAIN_CHECKPOINT_LIST_ALL_CHILDREN,
    p::DOMAIN_CHECKPOINT_LOOKUP_BY_NAME,
    p::DOMAIN_CHECKPOINT_GET_PARENT,
    p::DOMAIN_CHECKPOINT_DELETE,
    p::DOMAIN_GET_MESSAGES,
    p::DOMAIN_GET_SECURITY_LABEL,
    p::CONNECT_GET_ALL_DOMAIN_STATS,
];

type R<T> = Result<T, RemoteError>;

fn chars(s: &str) -> Vec<i8> {
    s.bytes()
        .map(|b| b as i8)
        .chain(std::iter::once(0))
        .collect()
}

impl HypervisorConn {
    fn lifecycle(
        &self,
        f: impl FnOnce(&mut crate::state::Inner, &mut Vec<crate::events::Event>) -> R<()>,
    ) -> R<()> {
        self.0.write(f)
    }
}

impl RemoteHandler for HypervisorConn {
    fn connect_get_type(&self) -> R<RemoteConnectGetTypeRet> {
        Ok(RemoteConnectGetTypeRet {
            r#type: "TEST".into(),
        })
    }
    fn connect_get_version(&self) -> R<RemoteConnectGetVersionRet> {
        Ok(RemoteConnectGetVersionRet {
            hv_ver: caps::HV_VERSION,
        })
    }
    fn connect_get_hostname(&self) -> R<RemoteConnectGetHostnameRet> {
        Ok(RemoteConnectGetHostnameRet {
            hostname: caps::hostname(),
        })
    }
    fn connect_get_capabilities(&self) -> R<RemoteConnectGetCapabilitiesRet> {
        self.0.read(|s| {
            Ok(RemoteConnectGetCapabilitiesRet {
                capabilities: caps::capabilities(s),
            })
        })
    }
    fn connect_get_max_vcpus(
        &self,
        _a: RemoteConnectGetMaxVcpusArgs,
    ) -> R<RemoteConnectGetMaxVcpusRet> {
        Ok(RemoteConnectGetMaxVcpusRet {
            max_vcpus: di::MAX_VCPUS,
        })
    }
    fn connect_get_sysinfo(&self, a: RemoteConnectGetSysinfoArgs) -> R<RemoteConnectGetSysinfoRet> {
        check_flags(a.flags, 0, "testConnectGetSysinfo")?;
        Ok(RemoteConnectGetSysinfoRet {
            sysinfo: caps::SYSINFO.into(),
        })
    }
    fn node_get_info(&self) -> R<RemoteNodeGetInfoRet> {
        self.0.read(|s| Ok(caps::node_info(s)))
    }
    fn node_get_free_memory(&self) -> R<RemoteNodeGetFreeMemoryRet> {
        self.0.read(|s| {
            Ok(RemoteNodeGetFreeMemoryRet {
                free_mem: caps::free_memory(s),
            })
        })
    }
    fn node_get_cells_free_memory(
        &self,
        a: RemoteNodeGetCellsFreeMemoryArgs,
    ) -> R<RemoteNodeGetCellsFreeMemoryRet> {
        self.0.read(|s| {
            Ok(RemoteNodeGetCellsFreeMemoryRet {
                cells: caps::cells_free_memory(s, a.start_cell, a.maxcells)?,
            })
        })
    }
    fn node_get_security_model(&self) -> R<RemoteNodeGetSecurityModelRet> {
        Ok(RemoteNodeGetSecurityModelRet {
            model: chars("testSecurity"),
            doi: chars(""),
        })
    }
    fn connect_list_all_domains(
        &self,
        a: RemoteConnectListAllDomainsArgs,
    ) -> R<RemoteConnectListAllDomainsRet> {
        self.0.read(|s| {
            let domains = di::list_all(s, a.flags)?;
            Ok(RemoteConnectListAllDomainsRet {
                ret: domains.len() as u32,
                domains,
            })
        })
    }
    fn connect_get_all_domain_stats(
        &self,
        a: RemoteConnectGetAllDomainStatsArgs,
    ) -> R<RemoteConnectGetAllDomainStatsRet> {
        self.0.read(|s| {
            Ok(RemoteConnectGetAllDomainStatsRet {
                ret_stats: stats::get_all(s, &a.doms, a.stats, a.flags)?,
            })
        })
    }
    fn connect_num_of_domains(&self) -> R<RemoteConnectNumOfDomainsRet> {
        self.0.read(|s| {
            Ok(RemoteConnectNumOfDomainsRet {
                num: di::active_ids(s, i32::MAX).len() as i32,
            })
        })
    }
    fn connect_list_domains(
        &self,
        a: RemoteConnectListDomainsArgs,
    ) -> R<RemoteConnectListDomainsRet> {
        self.0.read(|s| {
            Ok(RemoteConnectListDomainsRet {
                ids: di::active_ids(s, a.maxids),
            })
        })
    }
    fn connect_num_of_defined_domains(&self) -> R<RemoteConnectNumOfDefinedDomainsRet> {
        self.0.read(|s| {
            Ok(RemoteConnectNumOfDefinedDomainsRet {
                num: di::defined_names(s, i32::MAX).len() as i32,
            })
        })
    }
    fn connect_list_defined_domains(
        &self,
        a: RemoteConnectListDefinedDomainsArgs,
    ) -> R<RemoteConnectListDefinedDomainsRet> {
        self.0.read(|s| {
            Ok(RemoteConnectListDefinedDomainsRet {
                names: di::defined_names(s, a.maxnames),
            })
        })
    }
    fn domain_define_xml(&self, a: RemoteDomainDefineXmlArgs) -> R<RemoteDomainDefineXmlRet> {
        self.0.write(|s, e| {
            Ok(RemoteDomainDefineXmlRet {
                dom: dm::define(s, e, &a.xml, 0)?,
            })
        })
    }
    fn domain_define_xml_flags(
        &self,
        a: RemoteDomainDefineXmlFlagsArgs,
    ) -> R<RemoteDomainDefineXmlFlagsRet> {
        self.0.write(|s, e| {
            Ok(RemoteDomainDefineXmlFlagsRet {
                dom: dm::define(s, e, &a.xml, a.flags)?,
            })
        })
    }
    fn domain_undefine(&self, a: RemoteDomainUndefineArgs) -> R<()> {
        self.lifecycle(|s, e| dm::undefine(s, e, &a.dom, 0))
    }
    fn domain_undefine_flags(&self, a: RemoteDomainUndefineFlagsArgs) -> R<()> {
        self.lifecycle(|s, e| dm::undefine(s, e, &a.dom, a.flags))
    }
    fn domain_create(&self, a: RemoteDomainCreateArgs) -> R<()> {
        self.lifecycle(|s, e| dm::create(s, e, &a.dom, 0).map(|_| ()))
    }
    fn domain_create_with_flags(
        &self,
        a: RemoteDomainCreateWithFlagsArgs,
    ) -> R<RemoteDomainCreateWithFlagsRet> {
        self.0.write(|s, e| {
            Ok(RemoteDomainCreateWithFlagsRet {
                dom: dm::create(s, e, &a.dom, a.flags)?,
            })
        })
    }
    fn domain_create_xml(&self, a: RemoteDomainCreateXmlArgs) -> R<RemoteDomainCreateXmlRet> {
        self.0.write(|s, e| {
            Ok(RemoteDomainCreateXmlRet {
                dom: dm::create_xml(s, e, &a.xml_desc, a.flags)?,
            })
        })
    }
    fn domain_destroy(&self, a: RemoteDomainDestroyArgs) -> R<()> {
        self.lifecycle(|s, e| dm::destroy(s, e, &a.dom, 0))
    }
    fn domain_destroy_flags(&self, a: RemoteDomainDestroyFlagsArgs) -> R<()> {
        self.lifecycle(|s, e| dm::destroy(s, e, &a.dom, a.flags))
    }
    fn domain_shutdown(&self, a: RemoteDomainShutdownArgs) -> R<()> {
        self.lifecycle(|s, e| dm::shutdown(s, e, &a.dom, 0))
    }
    fn domain_shutdown_flags(&self, a: RemoteDomainShutdownFlagsArgs) -> R<()> {
        self.lifecycle(|s, e| dm::shutdown(s, e, &a.dom, a.flags))
    }
    fn domain_reboot(&self, a: RemoteDomainRebootArgs) -> R<()> {
        self.lifecycle(|s, e| dm::reboot(s, e, &a.dom, a.flags))
    }
    fn domain_reset(&self, a: RemoteDomainResetArgs) -> R<()> {
        self.0.read(|s| dm::reset(s, &a.dom, a.flags))
    }
    fn domain_suspend(&self, a: RemoteDomainSuspendArgs) -> R<()> {
        self.lifecycle(|s, e| dm::suspend(s, e, &a.dom))
    }
    fn domain_resume(&self, a: RemoteDomainResumeArgs) -> R<()> {
        self.lifecycle(|s, e| dm::resume(s, e, &a.dom))
    }
    fn domain_lookup_by_id(&self, a: RemoteDomainLookupByIdArgs) -> R<RemoteDomainLookupByIdRet> {
        self.0.read(|s| {
            Ok(RemoteDomainLookupByIdRet {
                dom: dm::lookup_by_id(s, a.id)?,
            })
        })
    }
    fn domain_lookup_by_name(
        &self,
        a: RemoteDomainLookupByNameArgs,
    ) -> R<RemoteDomainLookupByNameRet> {
        self.0.read(|s| {
            Ok(RemoteDomainLookupByNameRet {
                dom: dm::lookup_by_name(s, &a.name)?,
            })
        })
    }
    fn domain_lookup_by_uuid(
        &self,
        a: RemoteDomainLookupByUuidArgs,
    ) -> R<RemoteDomainLookupByUuidRet> {
        self.0.read(|s| {
            Ok(RemoteDomainLookupByUuidRet {
                dom: dm::lookup_by_uuid(s, &a.uuid)?,
            })
        })
    }
    fn domain_get_info(&self, a: RemoteDomainGetInfoArgs) -> R<RemoteDomainGetInfoRet> {
        self.0.read(|s| di::get_info(s, &a.dom))
    }
    fn domain_get_state(&self, a: RemoteDomainGetStateArgs) -> R<RemoteDomainGetStateRet> {
        let (state, reason) = self.0.read(|s| di::get_state(s, &a.dom, a.flags))?;
        Ok(RemoteDomainGetStateRet { state, reason })
    }
    fn domain_get_xml_desc(&self, a: RemoteDomainGetXmlDescArgs) -> R<RemoteDomainGetXmlDescRet> {
        self.0.read(|s| {
            Ok(RemoteDomainGetXmlDescRet {
                xml: di::get_xml(s, &a.dom, a.flags)?,
            })
        })
    }
    fn domain_get_os_type(&self, a: RemoteDomainGetOsTypeArgs) -> R<RemoteDomainGetOsTypeRet> {
        self.0.read(|s| {
            find(s, &a.dom).map(|_| RemoteDomainGetOsTypeRet {
                r#type: "linux".into(),
            })
        })
    }
    fn domain_get_max_memory(
        &self,
        a: RemoteDomainGetMaxMemoryArgs,
    ) -> R<RemoteDomainGetMaxMemoryRet> {
        self.0.read(|s| {
            Ok(RemoteDomainGetMaxMemoryRet {
                memory: find(s, &a.dom)?.def.memory_kib,
            })
        })
    }
    fn domain_set_memory(&self, a: RemoteDomainSetMemoryArgs) -> R<()> {
        self.0.write(|s, _| di::set_memory(s, &a.dom, a.memory, 1))
    }
    fn domain_set_memory_flags(&self, a: RemoteDomainSetMemoryFlagsArgs) -> R<()> {
        self.0
            .write(|s, _| di::set_memory(s, &a.dom, a.memory, a.flags))
    }
    fn domain_set_metadata(&self, a: RemoteDomainSetMetadataArgs) -> R<()> {
        self.0.write(|s, evs| crate::metadata::set(s, evs, &a))
    }
    fn domain_get_metadata(&self, a: RemoteDomainGetMetadataArgs) -> R<RemoteDomainGetMetadataRet> {
        self.0.read(|s| {
            Ok(RemoteDomainGetMetadataRet {
                metadata: crate::metadata::get(s, &a.dom, a.r#type, a.uri.as_deref(), a.flags)?,
            })
        })
    }
    fn domain_set_max_memory(&self, a: RemoteDomainSetMaxMemoryArgs) -> R<()> {
        self.0.write(|s, _| di::set_memory(s, &a.dom, a.memory, 4))
    }
    fn domain_get_vcpus_flags(
        &self,
        a: RemoteDomainGetVcpusFlagsArgs,
    ) -> R<RemoteDomainGetVcpusFlagsRet> {
        self.0.read(|s| {
            Ok(RemoteDomainGetVcpusFlagsRet {
                num: di::get_vcpus_flags(s, &a.dom, a.flags)?,
            })
        })
    }
    fn domain_set_vcpus(&self, a: RemoteDomainSetVcpusArgs) -> R<()> {
        self.0.write(|s, _| di::set_vcpus(s, &a.dom, a.nvcpus, 0))
    }
    fn domain_set_vcpus_flags(&self, a: RemoteDomainSetVcpusFlagsArgs) -> R<()> {
        self.0
            .write(|s, _| di::set_vcpus(s, &a.dom, a.nvcpus, a.flags))
    }
    fn domain_get_max_vcpus(
        &self,
        a: RemoteDomainGetMaxVcpusArgs,
    ) -> R<RemoteDomainGetMaxVcpusRet> {
        self.0.read(|s| {
            Ok(RemoteDomainGetMaxVcpusRet {
                num: di::get_vcpus_flags(s, &a.dom, 1 | 4)?,
            })
        })
    }
    fn domain_get_vcpus(&self, a: RemoteDomainGetVcpusArgs) -> R<RemoteDomainGetVcpusRet> {
        let (info, cpumaps) = self
            .0
            .read(|s| di::get_vcpus(s, &a.dom, a.maxinfo, a.maplen))?;
        Ok(RemoteDomainGetVcpusRet { info, cpumaps })
    }
    fn domain_get_autostart(
        &self,
        a: RemoteDomainGetAutostartArgs,
    ) -> R<RemoteDomainGetAutostartRet> {
        self.0.read(|s| {
            Ok(RemoteDomainGetAutostartRet {
                autostart: find(s, &a.dom)?.autostart as i32,
            })
        })
    }
    fn domain_set_autostart(&self, a: RemoteDomainSetAutostartArgs) -> R<()> {
        self.0
            .write(|s, _| di::set_autostart(s, &a.dom, a.autostart != 0))
    }
    fn domain_is_active(&self, a: RemoteDomainIsActiveArgs) -> R<RemoteDomainIsActiveRet> {
        self.0.read(|s| {
            Ok(RemoteDomainIsActiveRet {
                active: find(s, &a.dom)?.is_active() as i32,
            })
        })
    }
    fn domain_is_persistent(
        &self,
        a: RemoteDomainIsPersistentArgs,
    ) -> R<RemoteDomainIsPersistentRet> {
        self.0.read(|s| {
            Ok(RemoteDomainIsPersistentRet {
                persistent: find(s, &a.dom)?.persistent as i32,
            })
        })
    }
    fn domain_is_updated(&self, a: RemoteDomainIsUpdatedArgs) -> R<RemoteDomainIsUpdatedRet> {
        // libvirt's test driver never reports a pending update.
        self.0
            .read(|s| find(s, &a.dom).map(|_| RemoteDomainIsUpdatedRet { updated: 0 }))
    }
    fn domain_managed_save(&self, a: RemoteDomainManagedSaveArgs) -> R<()> {
        self.lifecycle(|s, e| dm::managed_save(s, e, &a.dom, a.flags))
    }
    fn domain_has_managed_save_image(
        &self,
        a: RemoteDomainHasManagedSaveImageArgs,
    ) -> R<RemoteDomainHasManagedSaveImageRet> {
        self.0.read(|s| {
            Ok(RemoteDomainHasManagedSaveImageRet {
                result: dm::has_managed_save(s, &a.dom, a.flags)?,
            })
        })
    }
    fn domain_managed_save_remove(&self, a: RemoteDomainManagedSaveRemoveArgs) -> R<()> {
        self.0
            .write(|s, _| dm::managed_save_remove(s, &a.dom, a.flags))
    }
    fn domain_snapshot_create_xml(
        &self,
        a: RemoteDomainSnapshotCreateXmlArgs,
    ) -> R<RemoteDomainSnapshotCreateXmlRet> {
        self.0.write(|s, e| {
            Ok(RemoteDomainSnapshotCreateXmlRet {
                snap: sn::create(s, e, &a.dom, &a.xml_desc, a.flags)?,
            })
        })
    }
    fn domain_list_all_snapshots(
        &self,
        a: RemoteDomainListAllSnapshotsArgs,
    ) -> R<RemoteDomainListAllSnapshotsRet> {
        self.0.read(|s| {
            let snapshots = sn::list_all(s, &a.dom, a.flags)?;
            Ok(RemoteDomainListAllSnapshotsRet {
                ret: snapshots.len() as i32,
                snapshots,
            })
        })
    }
    fn domain_snapshot_num(&self, a: RemoteDomainSnapshotNumArgs) -> R<RemoteDomainSnapshotNumRet> {
        self.0.read(|s| {
            Ok(RemoteDomainSnapshotNumRet {
                num: sn::num(s, &a.dom, a.flags)?,
            })
        })
    }
    fn domain_snapshot_list_names(
        &self,
        a: RemoteDomainSnapshotListNamesArgs,
    ) -> R<RemoteDomainSnapshotListNamesRet> {
        self.0.read(|s| {
            Ok(RemoteDomainSnapshotListNamesRet {
                names: sn::names(s, &a.dom, a.maxnames, a.flags)?,
            })
        })
    }
    fn domain_snapshot_lookup_by_name(
        &self,
        a: RemoteDomainSnapshotLookupByNameArgs,
    ) -> R<RemoteDomainSnapshotLookupByNameRet> {
        self.0.read(|s| {
            Ok(RemoteDomainSnapshotLookupByNameRet {
                snap: sn::lookup(s, &a.dom, &a.name, a.flags)?,
            })
        })
    }
    fn domain_snapshot_current(
        &self,
        a: RemoteDomainSnapshotCurrentArgs,
    ) -> R<RemoteDomainSnapshotCurrentRet> {
        self.0.read(|s| {
            Ok(RemoteDomainSnapshotCurrentRet {
                snap: sn::current(s, &a.dom, a.flags)?,
            })
        })
    }
    fn domain_revert_to_snapshot(&self, a: RemoteDomainRevertToSnapshotArgs) -> R<()> {
        self.lifecycle(|s, e| sn::revert(s, e, &a.snap, a.flags))
    }
    fn domain_snapshot_delete(&self, a: RemoteDomainSnapshotDeleteArgs) -> R<()> {
        self.0.write(|s, _| sn::delete(s, &a.snap, a.flags))
    }
    fn domain_snapshot_get_xml_desc(
        &self,
        a: RemoteDomainSnapshotGetXmlDescArgs,
    ) -> R<RemoteDomainSnapshotGetXmlDescRet> {
        self.0.read(|s| {
            Ok(RemoteDomainSnapshotGetXmlDescRet {
                xml: sn::get_xml(s, &a.snap, a.flags)?,
            })
        })
    }
    fn domain_has_current_snapshot(
        &self,
        a: RemoteDomainHasCurrentSnapshotArgs,
    ) -> R<RemoteDomainHasCurrentSnapshotRet> {
        self.0.read(|s| {
            Ok(RemoteDomainHasCurrentSnapshotRet {
                result: sn::has_current(s, &a.dom, a.flags)?,
            })
        })
    }
    fn domain_checkpoint_create_xml(
        &self,
        a: RemoteDomainCheckpointCreateXmlArgs,
    ) -> R<RemoteDomainCheckpointCreateXmlRet> {
        self.0.write(|s, _| {
            Ok(RemoteDomainCheckpointCreateXmlRet {
                checkpoint: cp::create(s, &a.dom, &a.xml_desc, a.flags)?,
            })
        })
    }
    fn domain_checkpoint_get_xml_desc(
        &self,
        a: RemoteDomainCheckpointGetXmlDescArgs,
    ) -> R<RemoteDomainCheckpointGetXmlDescRet> {
        self.0.read(|s| {
            Ok(RemoteDomainCheckpointGetXmlDescRet {
                xml: cp::get_xml(s, &a.checkpoint, a.flags)?,
            })
        })
    }
    fn domain_list_all_checkpoints(
        &self,
        a: RemoteDomainListAllCheckpointsArgs,
    ) -> R<RemoteDomainListAllCheckpointsRet> {
        self.0.read(|s| {
            let checkpoints = cp::list_all(s, &a.dom, a.flags)?;
            Ok(RemoteDomainListAllCheckpointsRet {
                ret: checkpoints.len() as i32,
                checkpoints,
            })
        })
    }
    fn domain_checkpoint_list_all_children(
        &self,
        a: RemoteDomainCheckpointListAllChildrenArgs,
    ) -> R<RemoteDomainCheckpointListAllChildrenRet> {
        self.0.read(|s| {
            let checkpoints = cp::list_children(s, &a.checkpoint, a.flags)?;
            Ok(RemoteDomainCheckpointListAllChildrenRet {
                ret: checkpoints.len() as i32,
                checkpoints,
            })
        })
    }
    fn domain_checkpoint_lookup_by_name(
        &self,
        a: RemoteDomainCheckpointLookupByNameArgs,
    ) -> R<RemoteDomainCheckpointLookupByNameRet> {
        self.0.read(|s| {
            Ok(RemoteDomainCheckpointLookupByNameRet {
                checkpoint: cp::lookup(s, &a.dom, &a.name, a.flags)?,
            })
        })
    }
    fn domain_checkpoint_get_parent(
        &self,
        a: RemoteDomainCheckpointGetParentArgs,
    ) -> R<RemoteDomainCheckpointGetParentRet> {
        self.0.read(|s| {
            Ok(RemoteDomainCheckpointGetParentRet {
                parent: cp::parent(s, &a.checkpoint, a.flags)?,
            })
        })
    }
    fn domain_checkpoint_delete(&self, a: RemoteDomainCheckpointDeleteArgs) -> R<()> {
        self.0.write(|s, _| cp::delete(s, &a.checkpoint, a.flags))
    }
    fn domain_get_messages(&self, a: RemoteDomainGetMessagesArgs) -> R<RemoteDomainGetMessagesRet> {
        self.0.read(|s| {
            Ok(RemoteDomainGetMessagesRet {
                msgs: di::get_messages(s, &a.dom, a.flags)?,
            })
        })
    }
    fn domain_get_security_label(
        &self,
        a: RemoteDomainGetSecurityLabelArgs,
    ) -> R<RemoteDomainGetSecurityLabelRet> {
        let (label, enforcing) = self.0.read(|s| di::security_label(s, &a.dom))?;
        Ok(RemoteDomainGetSecurityLabelRet {
            label: chars(&label),
            enforcing,
        })
    }
}
