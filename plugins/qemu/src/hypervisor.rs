//! The hypervisor connection: REMOTE program procedures and the QEMU program.

use std::sync::Arc;

use rvirt_plugin_api::protocol::{qemu_proc as q, remote_proc as p, *};

use crate::agent::calls as ag;
use crate::blockjob as bj;
use crate::caps;
use crate::cgroup::api as cg;
use crate::domain as dm;
use crate::driver::{reason, st, Driver};
use crate::error::{check_flags, QemuError};
use crate::events::{ev, Event, Listener};
use crate::lifecycle::{self as lc, monitor_error, qmp_of};
use crate::snapshot as sn;
use crate::stats;

/// One open `qemu:///` connection.
pub struct QemuConn {
    pub drv: Arc<Driver>,
    pub listener: Listener,
}

impl QemuConn {
    pub fn open(drv: Arc<Driver>, listener: Listener) -> QemuConn {
        drv.add_listener(listener);
        QemuConn { drv, listener }
    }
}

impl rvirt_plugin_api::sdk::Connection for QemuConn {
    fn call(&self, program: u32, procedure: i32, args: &[u8]) -> Result<Vec<u8>, RemoteError> {
        rvirt_plugin_api::sdk::dispatch_remote_and_qemu(self, program, procedure, args)
    }

    fn open_stream(
        &self,
        program: u32,
        procedure: i32,
        args: &[u8],
    ) -> Result<(Vec<u8>, Box<dyn rvirt_plugin_api::sdk::Stream>), RemoteError> {
        if program != REMOTE_PROGRAM_NUMBER || !STREAM_OPENERS.contains(&procedure) {
            return Err(rvirt_plugin_api::sdk::stream_unsupported(
                program, procedure,
            ));
        }
        use rvirt_plugin_api::protocol::xdr::{from_bytes, to_bytes};
        if procedure == p::DOMAIN_SCREENSHOT {
            let a: RemoteDomainScreenshotArgs = from_bytes(args)?;
            let image = crate::screenshot::take(&self.drv, &a)?;
            let ret = RemoteDomainScreenshotRet {
                mime: Some(crate::screenshot::MIME.into()),
            };
            return Ok((to_bytes(&ret), image));
        }
        let a: RemoteDomainOpenConsoleArgs = from_bytes(args)?;
        Ok((Vec::new(), crate::console::open(&self.drv, &a)?))
    }

    fn close(&self) {
        self.drv.remove_listener(self.listener);
    }
}

/// The stream-opening REMOTE procedures (declared with rvirt's stream program, see
/// docs/abi.md "Streams").
pub const STREAM_OPENERS: &[i32] = &[p::DOMAIN_OPEN_CONSOLE, p::DOMAIN_SCREENSHOT];

/// REMOTE procedures this driver implements (`tests::declared_procedures_are_the_implemented_ones`
/// in lib.rs proves the lists and the handler agree).
pub const PROCEDURES: &[i32] = &[
    p::CONNECT_GET_TYPE,
    p::CONNECT_GET_VERSION,
    p::CONNECT_GET_HOSTNAME,
    p::CONNECT_GET_CAPABILITIES,
    p::CONNECT_GET_DOMAIN_CAPABILITIES,
    p::CONNECT_GET_MAX_VCPUS,
    p::CONNECT_DOMAIN_XML_TO_NATIVE,
    p::NODE_GET_INFO,
    p::NODE_GET_FREE_MEMORY,
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
    p::DOMAIN_INTERFACE_ADDRESSES,
    p::DOMAIN_GET_OS_TYPE,
    p::DOMAIN_GET_MAX_MEMORY,
    p::DOMAIN_SET_MEMORY,
    p::DOMAIN_SET_MEMORY_FLAGS,
    p::DOMAIN_SET_MAX_MEMORY,
    p::DOMAIN_SET_VCPUS,
    p::DOMAIN_SET_VCPUS_FLAGS,
    p::DOMAIN_GET_VCPUS_FLAGS,
    p::DOMAIN_GET_AUTOSTART,
    p::DOMAIN_SET_AUTOSTART,
    p::DOMAIN_IS_ACTIVE,
    p::DOMAIN_IS_PERSISTENT,
    p::DOMAIN_IS_UPDATED,
    p::DOMAIN_HAS_MANAGED_SAVE_IMAGE,
    p::DOMAIN_GET_SECURITY_LABEL,
    p::DOMAIN_GET_MESSAGES,
    p::CONNECT_GET_ALL_DOMAIN_STATS,
    p::DOMAIN_MEMORY_STATS,
    p::DOMAIN_BLOCK_STATS,
    p::DOMAIN_BLOCK_STATS_FLAGS,
    p::DOMAIN_INTERFACE_STATS,
    p::DOMAIN_GET_VCPUS,
    p::DOMAIN_GET_CPU_STATS,
    // Tuning through the domain's cgroup (crate::cgroup).
    p::DOMAIN_GET_SCHEDULER_TYPE,
    p::DOMAIN_GET_SCHEDULER_PARAMETERS,
    p::DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS,
    p::DOMAIN_SET_SCHEDULER_PARAMETERS,
    p::DOMAIN_SET_SCHEDULER_PARAMETERS_FLAGS,
    p::DOMAIN_GET_MEMORY_PARAMETERS,
    p::DOMAIN_SET_MEMORY_PARAMETERS,
    p::DOMAIN_GET_BLKIO_PARAMETERS,
    p::DOMAIN_SET_BLKIO_PARAMETERS,
    p::DOMAIN_GET_BLOCK_INFO,
    p::DOMAIN_SET_METADATA,
    p::DOMAIN_GET_METADATA,
    p::DOMAIN_ATTACH_DEVICE,
    p::DOMAIN_ATTACH_DEVICE_FLAGS,
    p::DOMAIN_DETACH_DEVICE,
    p::DOMAIN_DETACH_DEVICE_FLAGS,
    p::DOMAIN_DETACH_DEVICE_ALIAS,
    p::DOMAIN_UPDATE_DEVICE_FLAGS,
    // Save and restore (crate::save).
    p::DOMAIN_SAVE,
    p::DOMAIN_SAVE_FLAGS,
    p::DOMAIN_RESTORE,
    p::DOMAIN_RESTORE_FLAGS,
    p::DOMAIN_SAVE_IMAGE_GET_XML_DESC,
    p::DOMAIN_SAVE_IMAGE_DEFINE_XML,
    p::DOMAIN_MANAGED_SAVE,
    p::DOMAIN_MANAGED_SAVE_REMOVE,
    p::DOMAIN_MANAGED_SAVE_GET_XML_DESC,
    p::DOMAIN_MANAGED_SAVE_DEFINE_XML,
    // Snapshots (crate::snapshot).
    p::DOMAIN_SNAPSHOT_CREATE_XML,
    p::DOMAIN_SNAPSHOT_GET_XML_DESC,
    p::DOMAIN_SNAPSHOT_NUM,
    p::DOMAIN_SNAPSHOT_LIST_NAMES,
    p::DOMAIN_SNAPSHOT_LOOKUP_BY_NAME,
    p::DOMAIN_HAS_CURRENT_SNAPSHOT,
    p::DOMAIN_SNAPSHOT_CURRENT,
    p::DOMAIN_REVERT_TO_SNAPSHOT,
    p::DOMAIN_SNAPSHOT_DELETE,
    p::DOMAIN_SNAPSHOT_GET_PARENT,
    p::DOMAIN_SNAPSHOT_NUM_CHILDREN,
    p::DOMAIN_SNAPSHOT_LIST_CHILDREN_NAMES,
    p::DOMAIN_SNAPSHOT_IS_CURRENT,
    p::DOMAIN_SNAPSHOT_HAS_METADATA,
    p::DOMAIN_LIST_ALL_SNAPSHOTS,
    p::DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN,
    // The guest agent (crate::agent::calls).
    p::DOMAIN_FSFREEZE,
    p::DOMAIN_FSTHAW,
    p::DOMAIN_GET_FSINFO,
    p::DOMAIN_SET_USER_PASSWORD,
    p::DOMAIN_GET_TIME,
    p::DOMAIN_SET_TIME,
    p::DOMAIN_GET_HOSTNAME,
    p::DOMAIN_AGENT_SET_RESPONSE_TIMEOUT,
    p::DOMAIN_GET_GUEST_INFO,
    // Block jobs (crate::blockjob).
    p::DOMAIN_BLOCK_RESIZE,
    p::DOMAIN_GET_BLOCK_JOB_INFO,
    p::DOMAIN_BLOCK_JOB_ABORT,
    p::DOMAIN_BLOCK_JOB_SET_SPEED,
    p::DOMAIN_BLOCK_PULL,
    p::DOMAIN_BLOCK_REBASE,
    p::DOMAIN_BLOCK_COMMIT,
    p::DOMAIN_BLOCK_COPY,
];

/// QEMU program procedures this driver implements.
pub const QEMU_PROCEDURES: &[i32] = &[q::DOMAIN_MONITOR_COMMAND, q::DOMAIN_AGENT_COMMAND];

type R<T> = Result<T, RemoteError>;

/// A NUL-terminated `char` array as the wire carries security model strings.
fn chars(s: &str) -> Vec<i8> {
    s.bytes()
        .map(|b| b as i8)
        .chain(std::iter::once(0))
        .collect()
}

const DESTROY_GRACEFUL: u32 = rvirt_plugin_api::protocol::facts::domain_destroy::GRACEFUL;
const SHUTDOWN_ACPI: u32 = rvirt_plugin_api::protocol::facts::domain_shutdown::ACPI_POWER_BTN;
const REBOOT_ACPI: u32 = rvirt_plugin_api::protocol::facts::domain_shutdown::ACPI_POWER_BTN;
/// Shutdown and reboot through the guest agent.
const AGENT: u32 = rvirt_plugin_api::protocol::facts::domain_shutdown::GUEST_AGENT;

impl QemuConn {
    fn domain_stop(&self, dom: &RemoteNonnullDomain, flags: u32) -> R<()> {
        check_flags(flags, DESTROY_GRACEFUL, "qemuDomainDestroyFlags")?;
        lc::stop(
            &self.drv,
            dom,
            reason::SHUTOFF_DESTROYED,
            flags & DESTROY_GRACEFUL != 0,
        )
    }

    fn shutdown(&self, dom: &RemoteNonnullDomain, flags: u32) -> R<()> {
        check_flags(flags, SHUTDOWN_ACPI | AGENT, "qemuDomainShutdownFlags")?;
        if let Some(agent) = crate::agent::calls::power_agent(&self.drv, dom, flags)? {
            return crate::agent::calls::power(&agent, false);
        }
        let qmp = qmp_of(&self.drv, dom)?;
        qmp.execute("system_powerdown", None)
            .map(|_| ())
            .map_err(monitor_error)
    }

    /// Pauses or resumes; the state changes (and the event) once QEMU confirms.
    fn pause(&self, dom: &RemoteNonnullDomain, pause: bool) -> R<()> {
        let qmp = self.drv.read(|s| {
            let d = s.find(dom)?;
            let run = d.run.as_ref().ok_or(QemuError::NotRunning)?;
            if run.stopping.is_some() {
                return Err(QemuError::Invalid("domain is being stopped".into()).into());
            }
            if run.saving {
                return Err(QemuError::Invalid("domain is being saved".into()).into());
            }
            if !pause && run.state != st::PAUSED {
                return Err(QemuError::Invalid("domain is not paused".into()).into());
            }
            Ok(run.qmp.clone())
        })?;
        let cmd = if pause { "stop" } else { "cont" };
        qmp.execute(cmd, None).map_err(monitor_error)?;
        self.drv.write(|s, events| {
            let (d, _) = s.running_mut(dom)?;
            let dref = d.reference();
            let run = d.run.as_mut().expect("running");
            let (state, why, event) = if pause {
                (
                    st::PAUSED,
                    reason::PAUSED_USER,
                    (ev::SUSPENDED, ev::SUSPENDED_PAUSED),
                )
            } else {
                (
                    st::RUNNING,
                    reason::RUNNING_UNPAUSED,
                    (ev::RESUMED, ev::RESUMED_UNPAUSED),
                )
            };
            if run.state != state {
                events.push(Event::Lifecycle(dref, event.0, event.1));
            }
            run.state = state;
            run.reason = why;
            self.drv.save_status(d);
            Ok(())
        })
    }

    fn reboot(&self, dom: &RemoteNonnullDomain, flags: u32) -> R<()> {
        check_flags(flags, REBOOT_ACPI | AGENT, "qemuDomainReboot")?;
        if let Some(agent) = crate::agent::calls::power_agent(&self.drv, dom, flags)? {
            return crate::agent::calls::power(&agent, true);
        }
        let qmp = self.drv.write(|s, _| {
            let (d, _) = s.running_mut(dom)?;
            let run = d.run.as_mut().expect("running");
            run.fake_reboot = true;
            Ok(run.qmp.clone())
        })?;
        qmp.execute("system_powerdown", None)
            .map(|_| ())
            .map_err(monitor_error)
    }
}

impl RemoteHandler for QemuConn {
    fn connect_get_type(&self) -> R<RemoteConnectGetTypeRet> {
        Ok(RemoteConnectGetTypeRet {
            r#type: "QEMU".into(),
        })
    }
    fn connect_get_version(&self) -> R<RemoteConnectGetVersionRet> {
        Ok(RemoteConnectGetVersionRet {
            hv_ver: self.drv.host().qemu_version,
        })
    }
    fn connect_get_hostname(&self) -> R<RemoteConnectGetHostnameRet> {
        Ok(RemoteConnectGetHostnameRet {
            hostname: caps::hostname(),
        })
    }
    fn connect_get_capabilities(&self) -> R<RemoteConnectGetCapabilitiesRet> {
        Ok(RemoteConnectGetCapabilitiesRet {
            capabilities: caps::capabilities_xml(self.drv.host(), &caps::host_uuid()),
        })
    }
    fn connect_get_domain_capabilities(
        &self,
        a: RemoteConnectGetDomainCapabilitiesArgs,
    ) -> R<RemoteConnectGetDomainCapabilitiesRet> {
        // 1: VIR_CONNECT_GET_DOMAIN_CAPABILITIES_DISABLE_DEPRECATED_FEATURES (nothing to drop).
        check_flags(a.flags, 1, "qemuConnectGetDomainCapabilities")?;
        let emulator = a
            .emulatorbin
            .clone()
            .unwrap_or_else(|| self.drv.cfg.emulator.clone());
        let info = self.drv.domcaps.get(&emulator, caps::HostInfo::probe)?;
        let req = crate::domcaps::Request {
            arch: a.arch.as_deref(),
            machine: a.machine.as_deref(),
            virttype: a.virttype.as_deref(),
        };
        Ok(RemoteConnectGetDomainCapabilitiesRet {
            capabilities: crate::domcaps::xml(&info, &req)?,
        })
    }
    fn connect_get_max_vcpus(
        &self,
        _a: RemoteConnectGetMaxVcpusArgs,
    ) -> R<RemoteConnectGetMaxVcpusRet> {
        Ok(RemoteConnectGetMaxVcpusRet { max_vcpus: 255 })
    }
    fn connect_domain_xml_to_native(
        &self,
        a: RemoteConnectDomainXmlToNativeArgs,
    ) -> R<RemoteConnectDomainXmlToNativeRet> {
        check_flags(a.flags, 0, "qemuConnectDomainXMLToNative")?;
        if a.native_format != "qemu-argv" {
            return Err(
                QemuError::Invalid(format!("unsupported config type {}", a.native_format)).into(),
            );
        }
        let def = dm::parse(&a.domain_xml)?;
        let native = crate::native(&self.drv, &def)?;
        Ok(RemoteConnectDomainXmlToNativeRet {
            native_config: native,
        })
    }
    fn node_get_info(&self) -> R<RemoteNodeGetInfoRet> {
        Ok(caps::node_info())
    }
    fn node_get_free_memory(&self) -> R<RemoteNodeGetFreeMemoryRet> {
        Ok(RemoteNodeGetFreeMemoryRet {
            free_mem: caps::free_memory_bytes(),
        })
    }
    fn node_get_security_model(&self) -> R<RemoteNodeGetSecurityModelRet> {
        Ok(RemoteNodeGetSecurityModelRet {
            model: chars("none"),
            doi: chars("0"),
        })
    }
    fn connect_list_all_domains(
        &self,
        a: RemoteConnectListAllDomainsArgs,
    ) -> R<RemoteConnectListAllDomainsRet> {
        let domains = self.drv.read(|s| dm::list_all(s, a.flags))?;
        Ok(RemoteConnectListAllDomainsRet {
            ret: domains.len() as u32,
            domains,
        })
    }
    fn connect_num_of_domains(&self) -> R<RemoteConnectNumOfDomainsRet> {
        self.drv.read(|s| {
            Ok(RemoteConnectNumOfDomainsRet {
                num: dm::active_ids(s, i32::MAX).len() as i32,
            })
        })
    }
    fn connect_list_domains(
        &self,
        a: RemoteConnectListDomainsArgs,
    ) -> R<RemoteConnectListDomainsRet> {
        self.drv.read(|s| {
            Ok(RemoteConnectListDomainsRet {
                ids: dm::active_ids(s, a.maxids),
            })
        })
    }
    fn connect_num_of_defined_domains(&self) -> R<RemoteConnectNumOfDefinedDomainsRet> {
        self.drv.read(|s| {
            Ok(RemoteConnectNumOfDefinedDomainsRet {
                num: dm::defined_names(s, i32::MAX).len() as i32,
            })
        })
    }
    fn connect_list_defined_domains(
        &self,
        a: RemoteConnectListDefinedDomainsArgs,
    ) -> R<RemoteConnectListDefinedDomainsRet> {
        self.drv.read(|s| {
            Ok(RemoteConnectListDefinedDomainsRet {
                names: dm::defined_names(s, a.maxnames),
            })
        })
    }
    fn domain_define_xml(&self, a: RemoteDomainDefineXmlArgs) -> R<RemoteDomainDefineXmlRet> {
        Ok(RemoteDomainDefineXmlRet {
            dom: dm::define(&self.drv, &a.xml, 0)?,
        })
    }
    fn domain_define_xml_flags(
        &self,
        a: RemoteDomainDefineXmlFlagsArgs,
    ) -> R<RemoteDomainDefineXmlFlagsRet> {
        Ok(RemoteDomainDefineXmlFlagsRet {
            dom: dm::define(&self.drv, &a.xml, a.flags)?,
        })
    }
    fn domain_undefine(&self, a: RemoteDomainUndefineArgs) -> R<()> {
        dm::undefine(&self.drv, &a.dom, 0)
    }
    fn domain_undefine_flags(&self, a: RemoteDomainUndefineFlagsArgs) -> R<()> {
        dm::undefine(&self.drv, &a.dom, a.flags)
    }
    fn domain_create(&self, a: RemoteDomainCreateArgs) -> R<()> {
        dm::create(&self.drv, &a.dom, 0).map(|_| ())
    }
    fn domain_create_with_flags(
        &self,
        a: RemoteDomainCreateWithFlagsArgs,
    ) -> R<RemoteDomainCreateWithFlagsRet> {
        Ok(RemoteDomainCreateWithFlagsRet {
            dom: dm::create(&self.drv, &a.dom, a.flags)?,
        })
    }
    fn domain_create_xml(&self, a: RemoteDomainCreateXmlArgs) -> R<RemoteDomainCreateXmlRet> {
        Ok(RemoteDomainCreateXmlRet {
            dom: dm::create_xml(&self.drv, &a.xml_desc, a.flags)?,
        })
    }
    fn domain_destroy(&self, a: RemoteDomainDestroyArgs) -> R<()> {
        self.domain_stop(&a.dom, 0)
    }
    fn domain_destroy_flags(&self, a: RemoteDomainDestroyFlagsArgs) -> R<()> {
        self.domain_stop(&a.dom, a.flags)
    }
    fn domain_shutdown(&self, a: RemoteDomainShutdownArgs) -> R<()> {
        self.shutdown(&a.dom, 0)
    }
    fn domain_shutdown_flags(&self, a: RemoteDomainShutdownFlagsArgs) -> R<()> {
        self.shutdown(&a.dom, a.flags)
    }
    fn domain_reboot(&self, a: RemoteDomainRebootArgs) -> R<()> {
        self.reboot(&a.dom, a.flags)
    }
    fn domain_reset(&self, a: RemoteDomainResetArgs) -> R<()> {
        check_flags(a.flags, 0, "qemuDomainReset")?;
        let qmp = qmp_of(&self.drv, &a.dom)?;
        qmp.execute("system_reset", None)
            .map(|_| ())
            .map_err(monitor_error)
    }
    fn domain_suspend(&self, a: RemoteDomainSuspendArgs) -> R<()> {
        self.pause(&a.dom, true)
    }
    fn domain_resume(&self, a: RemoteDomainResumeArgs) -> R<()> {
        self.pause(&a.dom, false)
    }
    fn domain_lookup_by_id(&self, a: RemoteDomainLookupByIdArgs) -> R<RemoteDomainLookupByIdRet> {
        self.drv.read(|s| {
            Ok(RemoteDomainLookupByIdRet {
                dom: dm::lookup_by_id(s, a.id)?,
            })
        })
    }
    fn domain_lookup_by_name(
        &self,
        a: RemoteDomainLookupByNameArgs,
    ) -> R<RemoteDomainLookupByNameRet> {
        self.drv.read(|s| {
            Ok(RemoteDomainLookupByNameRet {
                dom: dm::lookup_by_name(s, &a.name)?,
            })
        })
    }
    fn domain_lookup_by_uuid(
        &self,
        a: RemoteDomainLookupByUuidArgs,
    ) -> R<RemoteDomainLookupByUuidRet> {
        self.drv.read(|s| {
            Ok(RemoteDomainLookupByUuidRet {
                dom: dm::lookup_by_uuid(s, &a.uuid)?,
            })
        })
    }
    fn domain_get_info(&self, a: RemoteDomainGetInfoArgs) -> R<RemoteDomainGetInfoRet> {
        self.drv.read(|s| dm::get_info(s, &a.dom))
    }
    fn domain_get_state(&self, a: RemoteDomainGetStateArgs) -> R<RemoteDomainGetStateRet> {
        let (state, reason) = self.drv.read(|s| dm::get_state(s, &a.dom, a.flags))?;
        Ok(RemoteDomainGetStateRet { state, reason })
    }
    fn domain_get_xml_desc(&self, a: RemoteDomainGetXmlDescArgs) -> R<RemoteDomainGetXmlDescRet> {
        check_flags(a.flags, 0xf, "qemuDomainGetXMLDesc")?;
        self.drv.read(|s| {
            Ok(RemoteDomainGetXmlDescRet {
                xml: s
                    .find(&a.dom)?
                    .xml(a.flags & rvirt_plugin_api::protocol::facts::domain_xml::INACTIVE != 0),
            })
        })
    }
    fn domain_interface_addresses(
        &self,
        a: RemoteDomainInterfaceAddressesArgs,
    ) -> R<RemoteDomainInterfaceAddressesRet> {
        check_flags(a.flags, 0, "qemuDomainInterfaceAddresses")?;
        if a.source == rvirt_plugin_api::protocol::facts::interface_addresses_source::AGENT {
            let ifaces = crate::agent::calls::interface_addresses(&self.drv, &a.dom)?;
            return Ok(RemoteDomainInterfaceAddressesRet { ifaces });
        }
        let live = self.drv.read(|s| {
            let d = s.find(&a.dom)?;
            let run = d.run.as_ref().ok_or(QemuError::NotRunning)?;
            Ok(run.live.clone())
        })?;
        let ifaces = crate::netplug::interface_addresses(self.drv.own_uri(), &live, a.source)?;
        Ok(RemoteDomainInterfaceAddressesRet { ifaces })
    }
    fn domain_get_os_type(&self, a: RemoteDomainGetOsTypeArgs) -> R<RemoteDomainGetOsTypeRet> {
        self.drv.read(|s| {
            Ok(RemoteDomainGetOsTypeRet {
                r#type: s.find(&a.dom)?.def.os_type.to_string(),
            })
        })
    }
    fn domain_get_max_memory(
        &self,
        a: RemoteDomainGetMaxMemoryArgs,
    ) -> R<RemoteDomainGetMaxMemoryRet> {
        self.drv.read(|s| {
            Ok(RemoteDomainGetMaxMemoryRet {
                memory: s.find(&a.dom)?.def.memory_kib,
            })
        })
    }
    fn domain_set_memory(&self, a: RemoteDomainSetMemoryArgs) -> R<()> {
        crate::tuning::set_memory(&self.drv, &a.dom, a.memory, crate::tuning::AFFECT_LIVE)
    }
    fn domain_set_memory_flags(&self, a: RemoteDomainSetMemoryFlagsArgs) -> R<()> {
        crate::tuning::set_memory(&self.drv, &a.dom, a.memory, a.flags)
    }
    fn domain_set_max_memory(&self, a: RemoteDomainSetMaxMemoryArgs) -> R<()> {
        crate::tuning::set_memory(&self.drv, &a.dom, a.memory, crate::tuning::MAXIMUM)
    }
    fn domain_set_vcpus(&self, a: RemoteDomainSetVcpusArgs) -> R<()> {
        crate::tuning::set_vcpus(&self.drv, &a.dom, a.nvcpus, crate::tuning::AFFECT_LIVE)
    }
    fn domain_set_vcpus_flags(&self, a: RemoteDomainSetVcpusFlagsArgs) -> R<()> {
        crate::tuning::set_vcpus(&self.drv, &a.dom, a.nvcpus, a.flags)
    }
    fn domain_get_vcpus_flags(
        &self,
        a: RemoteDomainGetVcpusFlagsArgs,
    ) -> R<RemoteDomainGetVcpusFlagsRet> {
        let num = crate::tuning::get_vcpus(&self.drv, &a.dom, a.flags)?;
        Ok(RemoteDomainGetVcpusFlagsRet { num: num as i32 })
    }
    fn domain_get_autostart(
        &self,
        a: RemoteDomainGetAutostartArgs,
    ) -> R<RemoteDomainGetAutostartRet> {
        self.drv.read(|s| {
            Ok(RemoteDomainGetAutostartRet {
                autostart: s.find(&a.dom)?.autostart as i32,
            })
        })
    }
    fn domain_set_autostart(&self, a: RemoteDomainSetAutostartArgs) -> R<()> {
        dm::set_autostart(&self.drv, &a.dom, a.autostart != 0)
    }
    fn domain_is_active(&self, a: RemoteDomainIsActiveArgs) -> R<RemoteDomainIsActiveRet> {
        self.drv.read(|s| {
            Ok(RemoteDomainIsActiveRet {
                active: s.find(&a.dom)?.is_active() as i32,
            })
        })
    }
    fn domain_is_persistent(
        &self,
        a: RemoteDomainIsPersistentArgs,
    ) -> R<RemoteDomainIsPersistentRet> {
        self.drv.read(|s| {
            Ok(RemoteDomainIsPersistentRet {
                persistent: s.find(&a.dom)?.persistent as i32,
            })
        })
    }
    fn domain_is_updated(&self, a: RemoteDomainIsUpdatedArgs) -> R<RemoteDomainIsUpdatedRet> {
        self.drv.read(|s| {
            Ok(RemoteDomainIsUpdatedRet {
                updated: s.find(&a.dom)?.next_def.is_some() as i32,
            })
        })
    }
    fn domain_has_managed_save_image(
        &self,
        a: RemoteDomainHasManagedSaveImageArgs,
    ) -> R<RemoteDomainHasManagedSaveImageRet> {
        check_flags(a.flags, 0, "qemuDomainHasManagedSaveImage")?;
        let has = crate::save::managed::has(&self.drv, &a.dom)?;
        Ok(RemoteDomainHasManagedSaveImageRet { result: has as i32 })
    }
    fn domain_save(&self, a: RemoteDomainSaveArgs) -> R<()> {
        crate::save::save(&self.drv, &a.dom, a.to.as_ref(), None, 0)
    }
    fn domain_save_flags(&self, a: RemoteDomainSaveFlagsArgs) -> R<()> {
        let to = std::path::Path::new(&a.to);
        crate::save::save(&self.drv, &a.dom, to, a.dxml.as_deref(), a.flags)
    }
    fn domain_restore(&self, a: RemoteDomainRestoreArgs) -> R<()> {
        crate::save::restore(&self.drv, a.from.as_ref(), None, 0)
    }
    fn domain_restore_flags(&self, a: RemoteDomainRestoreFlagsArgs) -> R<()> {
        let from = std::path::Path::new(&a.from);
        crate::save::restore(&self.drv, from, a.dxml.as_deref(), a.flags)
    }
    fn domain_save_image_get_xml_desc(
        &self,
        a: RemoteDomainSaveImageGetXmlDescArgs,
    ) -> R<RemoteDomainSaveImageGetXmlDescRet> {
        let xml = crate::save::image_xml(&self.drv, a.file.as_ref(), a.flags)?;
        Ok(RemoteDomainSaveImageGetXmlDescRet { xml })
    }
    fn domain_save_image_define_xml(&self, a: RemoteDomainSaveImageDefineXmlArgs) -> R<()> {
        let file = std::path::Path::new(&a.file);
        crate::save::define_image_xml(&self.drv, file, Some(&a.dxml), a.flags)
    }
    fn domain_managed_save(&self, a: RemoteDomainManagedSaveArgs) -> R<()> {
        crate::save::managed::save(&self.drv, &a.dom, a.flags)
    }
    fn domain_managed_save_remove(&self, a: RemoteDomainManagedSaveRemoveArgs) -> R<()> {
        crate::save::managed::remove(&self.drv, &a.dom, a.flags)
    }
    fn domain_managed_save_get_xml_desc(
        &self,
        a: RemoteDomainManagedSaveGetXmlDescArgs,
    ) -> R<RemoteDomainManagedSaveGetXmlDescRet> {
        let xml = crate::save::managed::xml(&self.drv, &a.dom, a.flags)?;
        Ok(RemoteDomainManagedSaveGetXmlDescRet { xml })
    }
    fn domain_managed_save_define_xml(&self, a: RemoteDomainManagedSaveDefineXmlArgs) -> R<()> {
        crate::save::managed::define_xml(&self.drv, &a.dom, a.dxml.as_deref(), a.flags)
    }
    fn domain_snapshot_create_xml(
        &self,
        a: RemoteDomainSnapshotCreateXmlArgs,
    ) -> R<RemoteDomainSnapshotCreateXmlRet> {
        let snap = sn::create::create(&self.drv, &a.dom, &a.xml_desc, a.flags)?;
        Ok(RemoteDomainSnapshotCreateXmlRet { snap })
    }
    fn domain_snapshot_get_xml_desc(
        &self,
        a: RemoteDomainSnapshotGetXmlDescArgs,
    ) -> R<RemoteDomainSnapshotGetXmlDescRet> {
        let xml = self.drv.read(|s| sn::get_xml(s, &a.snap, a.flags))?;
        Ok(RemoteDomainSnapshotGetXmlDescRet { xml })
    }
    fn domain_snapshot_num(&self, a: RemoteDomainSnapshotNumArgs) -> R<RemoteDomainSnapshotNumRet> {
        let all = self
            .drv
            .read(|s| sn::list_all(s, &a.dom, a.flags, "qemuDomainSnapshotNum"))?;
        Ok(RemoteDomainSnapshotNumRet {
            num: all.len() as i32,
        })
    }
    fn domain_snapshot_list_names(
        &self,
        a: RemoteDomainSnapshotListNamesArgs,
    ) -> R<RemoteDomainSnapshotListNamesRet> {
        let all = self
            .drv
            .read(|s| sn::list_all(s, &a.dom, a.flags, "qemuDomainSnapshotListNames"))?;
        Ok(RemoteDomainSnapshotListNamesRet {
            names: sn::names(all, a.maxnames),
        })
    }
    fn domain_snapshot_lookup_by_name(
        &self,
        a: RemoteDomainSnapshotLookupByNameArgs,
    ) -> R<RemoteDomainSnapshotLookupByNameRet> {
        let snap = self.drv.read(|s| sn::lookup(s, &a.dom, &a.name, a.flags))?;
        Ok(RemoteDomainSnapshotLookupByNameRet { snap })
    }
    fn domain_has_current_snapshot(
        &self,
        a: RemoteDomainHasCurrentSnapshotArgs,
    ) -> R<RemoteDomainHasCurrentSnapshotRet> {
        let result = self.drv.read(|s| sn::has_current(s, &a.dom, a.flags))?;
        Ok(RemoteDomainHasCurrentSnapshotRet { result })
    }
    fn domain_snapshot_current(
        &self,
        a: RemoteDomainSnapshotCurrentArgs,
    ) -> R<RemoteDomainSnapshotCurrentRet> {
        let snap = self.drv.read(|s| sn::current(s, &a.dom, a.flags))?;
        Ok(RemoteDomainSnapshotCurrentRet { snap })
    }
    fn domain_revert_to_snapshot(&self, a: RemoteDomainRevertToSnapshotArgs) -> R<()> {
        sn::revert::revert(&self.drv, &a.snap, a.flags)
    }
    fn domain_snapshot_delete(&self, a: RemoteDomainSnapshotDeleteArgs) -> R<()> {
        sn::revert::delete(&self.drv, &a.snap, a.flags)
    }
    fn domain_snapshot_get_parent(
        &self,
        a: RemoteDomainSnapshotGetParentArgs,
    ) -> R<RemoteDomainSnapshotGetParentRet> {
        let snap = self.drv.read(|s| sn::parent(s, &a.snap, a.flags))?;
        Ok(RemoteDomainSnapshotGetParentRet { snap })
    }
    fn domain_snapshot_num_children(
        &self,
        a: RemoteDomainSnapshotNumChildrenArgs,
    ) -> R<RemoteDomainSnapshotNumChildrenRet> {
        let all = self
            .drv
            .read(|s| sn::children(s, &a.snap, a.flags, "qemuDomainSnapshotNumChildren"))?;
        Ok(RemoteDomainSnapshotNumChildrenRet {
            num: all.len() as i32,
        })
    }
    fn domain_snapshot_list_children_names(
        &self,
        a: RemoteDomainSnapshotListChildrenNamesArgs,
    ) -> R<RemoteDomainSnapshotListChildrenNamesRet> {
        let all = self
            .drv
            .read(|s| sn::children(s, &a.snap, a.flags, "qemuDomainSnapshotListChildrenNames"))?;
        Ok(RemoteDomainSnapshotListChildrenNamesRet {
            names: sn::names(all, a.maxnames),
        })
    }
    fn domain_snapshot_is_current(
        &self,
        a: RemoteDomainSnapshotIsCurrentArgs,
    ) -> R<RemoteDomainSnapshotIsCurrentRet> {
        let current = self.drv.read(|s| sn::is_current(s, &a.snap, a.flags))?;
        Ok(RemoteDomainSnapshotIsCurrentRet { current })
    }
    fn domain_snapshot_has_metadata(
        &self,
        a: RemoteDomainSnapshotHasMetadataArgs,
    ) -> R<RemoteDomainSnapshotHasMetadataRet> {
        let metadata = self.drv.read(|s| sn::has_metadata(s, &a.snap, a.flags))?;
        Ok(RemoteDomainSnapshotHasMetadataRet { metadata })
    }
    fn domain_list_all_snapshots(
        &self,
        a: RemoteDomainListAllSnapshotsArgs,
    ) -> R<RemoteDomainListAllSnapshotsRet> {
        let snapshots = self
            .drv
            .read(|s| sn::list_all(s, &a.dom, a.flags, "qemuDomainListAllSnapshots"))?;
        Ok(RemoteDomainListAllSnapshotsRet {
            ret: snapshots.len() as i32,
            snapshots,
        })
    }
    fn domain_snapshot_list_all_children(
        &self,
        a: RemoteDomainSnapshotListAllChildrenArgs,
    ) -> R<RemoteDomainSnapshotListAllChildrenRet> {
        let snapshots = self
            .drv
            .read(|s| sn::children(s, &a.snapshot, a.flags, "qemuDomainSnapshotListAllChildren"))?;
        Ok(RemoteDomainSnapshotListAllChildrenRet {
            ret: snapshots.len() as i32,
            snapshots,
        })
    }
    fn domain_get_security_label(
        &self,
        a: RemoteDomainGetSecurityLabelArgs,
    ) -> R<RemoteDomainGetSecurityLabelRet> {
        self.drv.read(|s| {
            s.find(&a.dom).map(|_| RemoteDomainGetSecurityLabelRet {
                label: chars(""),
                enforcing: 0,
            })
        })
    }
    fn domain_get_messages(&self, a: RemoteDomainGetMessagesArgs) -> R<RemoteDomainGetMessagesRet> {
        check_flags(a.flags, 3, "qemuDomainGetMessages")?;
        self.drv.read(|s| {
            s.find(&a.dom)
                .map(|_| RemoteDomainGetMessagesRet { msgs: Vec::new() })
        })
    }
    fn connect_get_all_domain_stats(
        &self,
        a: RemoteConnectGetAllDomainStatsArgs,
    ) -> R<RemoteConnectGetAllDomainStatsRet> {
        Ok(RemoteConnectGetAllDomainStatsRet {
            ret_stats: stats::get_all(&self.drv, &a.doms, a.stats, a.flags)?,
        })
    }
    fn domain_memory_stats(&self, a: RemoteDomainMemoryStatsArgs) -> R<RemoteDomainMemoryStatsRet> {
        Ok(RemoteDomainMemoryStatsRet {
            stats: stats::calls::memory(&self.drv, &a.dom, a.max_stats, a.flags)?,
        })
    }
    fn domain_block_stats(&self, a: RemoteDomainBlockStatsArgs) -> R<RemoteDomainBlockStatsRet> {
        stats::calls::block(&self.drv, &a.dom, &a.path)
    }
    fn domain_block_stats_flags(
        &self,
        a: RemoteDomainBlockStatsFlagsArgs,
    ) -> R<RemoteDomainBlockStatsFlagsRet> {
        stats::calls::block_flags(&self.drv, &a.dom, &a.path, a.nparams, a.flags)
    }
    fn domain_interface_stats(
        &self,
        a: RemoteDomainInterfaceStatsArgs,
    ) -> R<RemoteDomainInterfaceStatsRet> {
        stats::calls::interface(&self.drv, &a.dom, &a.device)
    }
    fn domain_get_vcpus(&self, a: RemoteDomainGetVcpusArgs) -> R<RemoteDomainGetVcpusRet> {
        stats::calls::vcpus(&self.drv, &a.dom, a.maxinfo, a.maplen)
    }
    fn domain_get_cpu_stats(
        &self,
        a: RemoteDomainGetCpuStatsArgs,
    ) -> R<RemoteDomainGetCpuStatsRet> {
        cg::cpu_stats(&self.drv, &a)
    }
    fn domain_get_scheduler_type(
        &self,
        a: RemoteDomainGetSchedulerTypeArgs,
    ) -> R<RemoteDomainGetSchedulerTypeRet> {
        cg::sched_type(&self.drv, &a)
    }
    fn domain_get_scheduler_parameters(
        &self,
        a: RemoteDomainGetSchedulerParametersArgs,
    ) -> R<RemoteDomainGetSchedulerParametersRet> {
        cg::sched_get(&self.drv, &a)
    }
    fn domain_get_scheduler_parameters_flags(
        &self,
        a: RemoteDomainGetSchedulerParametersFlagsArgs,
    ) -> R<RemoteDomainGetSchedulerParametersFlagsRet> {
        cg::sched_get_flags(&self.drv, &a)
    }
    fn domain_set_scheduler_parameters(&self, a: RemoteDomainSetSchedulerParametersArgs) -> R<()> {
        crate::cgroup::calls::set(&self.drv, &a.dom, &a.params, 0)
    }
    fn domain_set_scheduler_parameters_flags(
        &self,
        a: RemoteDomainSetSchedulerParametersFlagsArgs,
    ) -> R<()> {
        crate::cgroup::calls::set(&self.drv, &a.dom, &a.params, a.flags)
    }
    fn domain_get_memory_parameters(
        &self,
        a: RemoteDomainGetMemoryParametersArgs,
    ) -> R<RemoteDomainGetMemoryParametersRet> {
        cg::mem_get(&self.drv, &a)
    }
    fn domain_set_memory_parameters(&self, a: RemoteDomainSetMemoryParametersArgs) -> R<()> {
        crate::cgroup::memblk::set_memory(&self.drv, &a.dom, &a.params, a.flags)
    }
    fn domain_get_blkio_parameters(
        &self,
        a: RemoteDomainGetBlkioParametersArgs,
    ) -> R<RemoteDomainGetBlkioParametersRet> {
        cg::blkio_get(&self.drv, &a)
    }
    fn domain_set_blkio_parameters(&self, a: RemoteDomainSetBlkioParametersArgs) -> R<()> {
        crate::cgroup::memblk::set_blkio(&self.drv, &a.dom, &a.params, a.flags)
    }
    fn domain_set_metadata(&self, a: RemoteDomainSetMetadataArgs) -> R<()> {
        crate::metadata::set(&self.drv, &a)
    }
    fn domain_get_metadata(&self, a: RemoteDomainGetMetadataArgs) -> R<RemoteDomainGetMetadataRet> {
        Ok(RemoteDomainGetMetadataRet {
            metadata: crate::metadata::get(&self.drv, &a.dom, a.r#type, a.uri.as_deref(), a.flags)?,
        })
    }
    fn domain_attach_device(&self, a: RemoteDomainAttachDeviceArgs) -> R<()> {
        crate::hotplug::attach(&self.drv, &a.dom, &a.xml, crate::tuning::AFFECT_LIVE)
    }
    fn domain_attach_device_flags(&self, a: RemoteDomainAttachDeviceFlagsArgs) -> R<()> {
        crate::hotplug::attach(&self.drv, &a.dom, &a.xml, a.flags)
    }
    fn domain_detach_device(&self, a: RemoteDomainDetachDeviceArgs) -> R<()> {
        crate::hotplug::detach(&self.drv, &a.dom, &a.xml, crate::tuning::AFFECT_LIVE)
    }
    fn domain_detach_device_flags(&self, a: RemoteDomainDetachDeviceFlagsArgs) -> R<()> {
        crate::hotplug::detach(&self.drv, &a.dom, &a.xml, a.flags)
    }
    fn domain_detach_device_alias(&self, a: RemoteDomainDetachDeviceAliasArgs) -> R<()> {
        crate::hotplug::detach_alias(&self.drv, &a.dom, &a.alias, a.flags)
    }
    fn domain_update_device_flags(&self, a: RemoteDomainUpdateDeviceFlagsArgs) -> R<()> {
        crate::hotplug::update(&self.drv, &a.dom, &a.xml, a.flags)
    }
    fn domain_get_block_info(
        &self,
        a: RemoteDomainGetBlockInfoArgs,
    ) -> R<RemoteDomainGetBlockInfoRet> {
        stats::calls::block_info(&self.drv, &a.dom, &a.path, a.flags)
    }
    fn domain_block_resize(&self, a: RemoteDomainBlockResizeArgs) -> R<()> {
        bj::start::resize(&self.drv, &a.dom, &a.disk, a.size, a.flags)
    }
    fn domain_get_block_job_info(
        &self,
        a: RemoteDomainGetBlockJobInfoArgs,
    ) -> R<RemoteDomainGetBlockJobInfoRet> {
        bj::control::info(&self.drv, &a.dom, &a.path, a.flags)
    }
    fn domain_block_job_abort(&self, a: RemoteDomainBlockJobAbortArgs) -> R<()> {
        bj::control::abort(&self.drv, &a.dom, &a.path, a.flags)
    }
    fn domain_block_job_set_speed(&self, a: RemoteDomainBlockJobSetSpeedArgs) -> R<()> {
        bj::control::set_speed(&self.drv, &a.dom, &a.path, a.bandwidth, a.flags)
    }
    fn domain_block_pull(&self, a: RemoteDomainBlockPullArgs) -> R<()> {
        let func = "qemuDomainBlockPull";
        bj::start::pull(&self.drv, &a.dom, &a.path, None, a.bandwidth, a.flags, func)
    }
    fn domain_block_rebase(&self, a: RemoteDomainBlockRebaseArgs) -> R<()> {
        let (base, func) = (a.base.as_deref(), "qemuDomainBlockRebase");
        let copy = rvirt_plugin_api::protocol::facts::block_rebase::COPY;
        if let (Some(dest), true) = (base, a.flags & copy != 0) {
            return bj::copy::copy(&self.drv, &a.dom, &a.path, dest, a.bandwidth, a.flags);
        }
        bj::start::pull(&self.drv, &a.dom, &a.path, base, a.bandwidth, a.flags, func)
    }
    fn domain_block_commit(&self, a: RemoteDomainBlockCommitArgs) -> R<()> {
        let (base, top) = (a.base.as_deref(), a.top.as_deref());
        bj::start::commit(&self.drv, &a.dom, &a.disk, base, top, a.bandwidth, a.flags)
    }
    fn domain_block_copy(&self, a: RemoteDomainBlockCopyArgs) -> R<()> {
        let (path, xml) = (&a.path, &a.destxml);
        bj::copy::block_copy(&self.drv, &a.dom, path, xml, &a.params, a.flags)
    }
    fn domain_fsfreeze(&self, a: RemoteDomainFsfreezeArgs) -> R<RemoteDomainFsfreezeRet> {
        let filesystems = ag::fs_freeze(&self.drv, &a.dom, &a.mountpoints, true, a.flags)?;
        Ok(RemoteDomainFsfreezeRet { filesystems })
    }
    fn domain_fsthaw(&self, a: RemoteDomainFsthawArgs) -> R<RemoteDomainFsthawRet> {
        let filesystems = ag::fs_freeze(&self.drv, &a.dom, &a.mountpoints, false, a.flags)?;
        Ok(RemoteDomainFsthawRet { filesystems })
    }
    fn domain_get_fsinfo(&self, a: RemoteDomainGetFsinfoArgs) -> R<RemoteDomainGetFsinfoRet> {
        let info = ag::fs_info(&self.drv, &a.dom, a.flags)?;
        Ok(RemoteDomainGetFsinfoRet {
            ret: info.len() as u32,
            info,
        })
    }
    fn domain_set_user_password(&self, a: RemoteDomainSetUserPasswordArgs) -> R<()> {
        ag::set_user_password(&self.drv, &a)
    }
    fn domain_get_time(&self, a: RemoteDomainGetTimeArgs) -> R<RemoteDomainGetTimeRet> {
        ag::get_time(&self.drv, &a.dom, a.flags)
    }
    fn domain_set_time(&self, a: RemoteDomainSetTimeArgs) -> R<()> {
        ag::set_time(&self.drv, &a)
    }
    fn domain_get_hostname(&self, a: RemoteDomainGetHostnameArgs) -> R<RemoteDomainGetHostnameRet> {
        let hostname = ag::hostname(&self.drv, &a.dom, a.flags)?;
        Ok(RemoteDomainGetHostnameRet { hostname })
    }
    fn domain_get_guest_info(
        &self,
        a: RemoteDomainGetGuestInfoArgs,
    ) -> R<RemoteDomainGetGuestInfoRet> {
        let params = crate::agent::guestinfo::get(&self.drv, &a.dom, a.types, a.flags)?;
        Ok(RemoteDomainGetGuestInfoRet { params })
    }
    fn domain_agent_set_response_timeout(
        &self,
        a: RemoteDomainAgentSetResponseTimeoutArgs,
    ) -> R<RemoteDomainAgentSetResponseTimeoutRet> {
        let result = ag::set_response_timeout(&self.drv, &a.dom, a.timeout, a.flags)?;
        Ok(RemoteDomainAgentSetResponseTimeoutRet { result })
    }
}

const MONITOR_COMMAND_HMP: u32 = rvirt_plugin_api::protocol::facts::qemu_monitor_command::HMP;

impl QemuHandler for QemuConn {
    fn domain_monitor_command(
        &self,
        a: QemuDomainMonitorCommandArgs,
    ) -> R<QemuDomainMonitorCommandRet> {
        check_flags(a.flags, MONITOR_COMMAND_HMP, "qemuDomainQemuMonitorCommand")?;
        let qmp = qmp_of(&self.drv, &a.dom)?;
        let result = if a.flags & MONITOR_COMMAND_HMP != 0 {
            qmp.hmp(&a.cmd)
        } else {
            qmp.passthrough(&a.cmd)
        };
        let result = result.map_err(|e| match e {
            crate::qmp::QmpError::Parse(m) => {
                QemuError::InvalidArg(format!("cannot parse monitor command: {m}")).into()
            }
            other => monitor_error(other),
        })?;
        Ok(QemuDomainMonitorCommandRet { result })
    }
    fn domain_agent_command(&self, a: QemuDomainAgentCommandArgs) -> R<QemuDomainAgentCommandRet> {
        let result = ag::agent_command(&self.drv, &a)?;
        Ok(QemuDomainAgentCommandRet { result })
    }
}
