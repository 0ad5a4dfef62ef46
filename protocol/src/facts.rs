//! libvirt's numbered facts that every driver shares: domain states and their reasons,
//! event types and details, and the bits of `virConnectGetAllDomainStats`. Declared once
//! here; drivers import them (a driver's own module may re-export one under a short name).

/// `virDomainState`.
pub mod domain_state {
    pub const NOSTATE: i32 = 0;
    pub const RUNNING: i32 = 1;
    pub const BLOCKED: i32 = 2;
    pub const PAUSED: i32 = 3;
    pub const SHUTDOWN: i32 = 4;
    pub const SHUTOFF: i32 = 5;
    pub const CRASHED: i32 = 6;
    pub const PMSUSPENDED: i32 = 7;
}

/// The reasons of each state (`virDomainRunningReason`, `virDomainPausedReason`,
/// `virDomainShutdownReason`, `virDomainShutoffReason`), prefixed with their state.
pub mod domain_reason {
    pub const UNKNOWN: i32 = 0;

    pub const RUNNING_BOOTED: i32 = 1;
    pub const RUNNING_MIGRATED: i32 = 2;
    pub const RUNNING_RESTORED: i32 = 3;
    pub const RUNNING_FROM_SNAPSHOT: i32 = 4;
    pub const RUNNING_UNPAUSED: i32 = 5;
    pub const RUNNING_MIGRATION_CANCELED: i32 = 6;
    pub const RUNNING_SAVE_CANCELED: i32 = 7;
    pub const RUNNING_WAKEUP: i32 = 8;
    pub const RUNNING_CRASHED: i32 = 9;

    pub const PAUSED_USER: i32 = 1;
    pub const PAUSED_MIGRATION: i32 = 2;
    pub const PAUSED_SAVE: i32 = 3;
    pub const PAUSED_DUMP: i32 = 4;
    pub const PAUSED_IOERROR: i32 = 5;
    pub const PAUSED_WATCHDOG: i32 = 6;
    pub const PAUSED_FROM_SNAPSHOT: i32 = 7;
    pub const PAUSED_SHUTTING_DOWN: i32 = 8;
    pub const PAUSED_SNAPSHOT: i32 = 9;
    pub const PAUSED_CRASHED: i32 = 10;
    pub const PAUSED_STARTING_UP: i32 = 11;

    pub const SHUTDOWN_USER: i32 = 1;

    pub const SHUTOFF_SHUTDOWN: i32 = 1;
    pub const SHUTOFF_DESTROYED: i32 = 2;
    pub const SHUTOFF_CRASHED: i32 = 3;
    pub const SHUTOFF_MIGRATED: i32 = 4;
    pub const SHUTOFF_SAVED: i32 = 5;
    pub const SHUTOFF_FAILED: i32 = 6;
    pub const SHUTOFF_FROM_SNAPSHOT: i32 = 7;
    pub const SHUTOFF_DAEMON: i32 = 8;
}

/// `virDomainEventType` and the details of each type, prefixed with their type.
pub mod domain_event {
    pub const DEFINED: i32 = 0;
    pub const UNDEFINED: i32 = 1;
    pub const STARTED: i32 = 2;
    pub const SUSPENDED: i32 = 3;
    pub const RESUMED: i32 = 4;
    pub const STOPPED: i32 = 5;
    pub const SHUTDOWN: i32 = 6;
    pub const PMSUSPENDED: i32 = 7;
    pub const CRASHED: i32 = 8;

    pub const DEFINED_ADDED: i32 = 0;
    pub const DEFINED_UPDATED: i32 = 1;
    pub const DEFINED_RENAMED: i32 = 2;
    pub const DEFINED_FROM_SNAPSHOT: i32 = 3;

    pub const UNDEFINED_REMOVED: i32 = 0;
    pub const UNDEFINED_RENAMED: i32 = 1;

    pub const STARTED_BOOTED: i32 = 0;
    pub const STARTED_MIGRATED: i32 = 1;
    pub const STARTED_RESTORED: i32 = 2;
    pub const STARTED_FROM_SNAPSHOT: i32 = 3;
    pub const STARTED_WAKEUP: i32 = 4;

    pub const SUSPENDED_PAUSED: i32 = 0;
    pub const SUSPENDED_MIGRATED: i32 = 1;
    pub const SUSPENDED_IOERROR: i32 = 2;
    pub const SUSPENDED_WATCHDOG: i32 = 3;
    pub const SUSPENDED_RESTORED: i32 = 4;
    pub const SUSPENDED_FROM_SNAPSHOT: i32 = 5;
    pub const SUSPENDED_API_ERROR: i32 = 6;

    pub const RESUMED_UNPAUSED: i32 = 0;
    pub const RESUMED_MIGRATED: i32 = 1;
    pub const RESUMED_FROM_SNAPSHOT: i32 = 2;

    pub const STOPPED_SHUTDOWN: i32 = 0;
    pub const STOPPED_DESTROYED: i32 = 1;
    pub const STOPPED_CRASHED: i32 = 2;
    pub const STOPPED_MIGRATED: i32 = 3;
    pub const STOPPED_SAVED: i32 = 4;
    pub const STOPPED_FAILED: i32 = 5;
    pub const STOPPED_FROM_SNAPSHOT: i32 = 6;

    pub const SHUTDOWN_FINISHED: i32 = 0;
    pub const SHUTDOWN_GUEST: i32 = 1;
    pub const SHUTDOWN_HOST: i32 = 2;
}

/// `virConnectDomainEventAgentLifecycleState` and `...Reason`: the guest agent's
/// channel opened or closed, and why.
pub mod agent_lifecycle {
    pub const STATE_CONNECTED: i32 = 1;
    pub const STATE_DISCONNECTED: i32 = 2;

    pub const REASON_UNKNOWN: i32 = 0;
    pub const REASON_DOMAIN_STARTED: i32 = 1;
    pub const REASON_CHANNEL: i32 = 2;
}

/// The guest-agent flags and values of the calls that use it:
/// `virDomainGetHostnameFlags`, `virDomainSetTimeFlags`, `virDomainGuestInfoTypes`,
/// `virDomainSetUserPasswordFlags`, `virIPAddrType` (shutdown modes are in
/// `domain_shutdown`, address sources in `interface_addresses_source`).
pub mod agent_flags {
    pub const HOSTNAME_LEASE: u32 = 1 << 0;
    pub const HOSTNAME_AGENT: u32 = 1 << 1;

    pub const SET_TIME_SYNC: u32 = 1 << 0;

    pub const GUEST_INFO_USERS: u32 = 1 << 0;
    pub const GUEST_INFO_OS: u32 = 1 << 1;
    pub const GUEST_INFO_TIMEZONE: u32 = 1 << 2;
    pub const GUEST_INFO_HOSTNAME: u32 = 1 << 3;
    pub const GUEST_INFO_FILESYSTEM: u32 = 1 << 4;
    pub const GUEST_INFO_DISKS: u32 = 1 << 5;
    pub const GUEST_INFO_INTERFACES: u32 = 1 << 6;

    pub const PASSWORD_ENCRYPTED: u32 = 1 << 0;

    pub const IP_ADDR_TYPE_IPV4: i32 = 0;
    pub const IP_ADDR_TYPE_IPV6: i32 = 1;
}

/// `virNetworkEventLifecycleType`.
pub mod network_event {
    pub const DEFINED: i32 = 0;
    pub const UNDEFINED: i32 = 1;
    pub const STARTED: i32 = 2;
    pub const STOPPED: i32 = 3;
}

/// `virNetworkEventID`: what a network event registration is for.
pub mod network_event_id {
    pub const LIFECYCLE: i32 = 0;
    /// Since libvirt 9.8 (procedure 446).
    pub const METADATA_CHANGE: i32 = 1;
}

/// `virNetworkMetadataType` (the same numbers as `virDomainMetadataType`).
pub mod metadata_type {
    pub const DESCRIPTION: i32 = 0;
    pub const TITLE: i32 = 1;
    pub const ELEMENT: i32 = 2;
}

/// `virNetworkUpdateFlags`' AFFECT bits, which the network metadata calls take too.
pub mod network_affect {
    pub const CURRENT: u32 = 0;
    pub const LIVE: u32 = 1;
    pub const CONFIG: u32 = 2;
}

/// `virStoragePoolEventLifecycleType`: the network's four, then two of pools' own.
pub mod pool_event {
    pub use super::network_event::{DEFINED, STARTED, STOPPED, UNDEFINED};
    pub const CREATED: i32 = 4;
    pub const DELETED: i32 = 5;
}

/// `virNodeDeviceEventLifecycleType`.
pub mod nodedev_event {
    pub const CREATED: i32 = 0;
    pub const DELETED: i32 = 1;
}

/// `virDomainStatsTypes` and `virConnectGetAllDomainStatsFlags`.
pub mod domain_stats {
    pub const STATE: u32 = 1;
    pub const CPU_TOTAL: u32 = 1 << 1;
    pub const BALLOON: u32 = 1 << 2;
    pub const VCPU: u32 = 1 << 3;
    pub const INTERFACE: u32 = 1 << 4;
    pub const BLOCK: u32 = 1 << 5;
    pub const PERF: u32 = 1 << 6;
    pub const IOTHREAD: u32 = 1 << 7;
    pub const MEMORY: u32 = 1 << 8;
    pub const DIRTYRATE: u32 = 1 << 9;
    pub const VM: u32 = 1 << 10;

    /// The listing filters (`..._ACTIVE` through `..._OTHER`).
    pub const LIST_FILTERS: u32 = 0xff;
    pub const NOWAIT: u32 = 1 << 29;
    pub const BACKING: u32 = 1 << 30;
    pub const ENFORCE_STATS: u32 = 1 << 31;
}

/// `virDomainMemoryStatTags`.
pub mod memory_stat {
    pub const SWAP_IN: i32 = 0;
    pub const SWAP_OUT: i32 = 1;
    pub const MAJOR_FAULT: i32 = 2;
    pub const MINOR_FAULT: i32 = 3;
    pub const UNUSED: i32 = 4;
    pub const AVAILABLE: i32 = 5;
    pub const ACTUAL_BALLOON: i32 = 6;
    pub const RSS: i32 = 7;
    pub const USABLE: i32 = 8;
    pub const LAST_UPDATE: i32 = 9;
    pub const DISK_CACHES: i32 = 10;
}

/// `virVcpuState`.
pub mod vcpu_state {
    pub const OFFLINE: i32 = 0;
    pub const RUNNING: i32 = 1;
    pub const BLOCKED: i32 = 2;
}

/// `virDomainModificationImpact`: which definition a change applies to.
pub mod domain_affect {
    pub const CURRENT: u32 = 0;
    pub const LIVE: u32 = 1;
    pub const CONFIG: u32 = 2;
}

/// `virDomainUndefineFlagsValues`.
pub mod domain_undefine {
    pub const MANAGED_SAVE: u32 = 1 << 0;
    pub const SNAPSHOTS_METADATA: u32 = 1 << 1;
    pub const NVRAM: u32 = 1 << 2;
    pub const KEEP_NVRAM: u32 = 1 << 3;
    pub const CHECKPOINTS_METADATA: u32 = 1 << 4;
    pub const TPM: u32 = 1 << 5;
    pub const KEEP_TPM: u32 = 1 << 6;
}

/// `virDomainSnapshotCreateFlags`.
pub mod snapshot_create {
    pub const REDEFINE: u32 = 1 << 0;
    pub const CURRENT: u32 = 1 << 1;
    pub const NO_METADATA: u32 = 1 << 2;
    pub const HALT: u32 = 1 << 3;
    pub const DISK_ONLY: u32 = 1 << 4;
    pub const REUSE_EXT: u32 = 1 << 5;
    pub const QUIESCE: u32 = 1 << 6;
    pub const ATOMIC: u32 = 1 << 7;
    pub const LIVE: u32 = 1 << 8;
    pub const VALIDATE: u32 = 1 << 9;
}

/// `virDomainSnapshotListFlags` (also `virDomainSnapshotNum` and the children calls,
/// where bit 0 means descendants rather than roots).
pub mod snapshot_list {
    pub const ROOTS: u32 = 1 << 0;
    pub const DESCENDANTS: u32 = 1 << 0;
    pub const METADATA: u32 = 1 << 1;
    pub const LEAVES: u32 = 1 << 2;
    pub const NO_LEAVES: u32 = 1 << 3;
    pub const NO_METADATA: u32 = 1 << 4;
    pub const INACTIVE: u32 = 1 << 5;
    pub const ACTIVE: u32 = 1 << 6;
    pub const DISK_ONLY: u32 = 1 << 7;
    pub const INTERNAL: u32 = 1 << 8;
    pub const EXTERNAL: u32 = 1 << 9;
    pub const TOPOLOGICAL: u32 = 1 << 10;
}

/// `virDomainSnapshotRevertFlags`.
pub mod snapshot_revert {
    pub const RUNNING: u32 = 1 << 0;
    pub const PAUSED: u32 = 1 << 1;
    pub const FORCE: u32 = 1 << 2;
    pub const RESET_NVRAM: u32 = 1 << 3;
}

/// `virDomainSnapshotDeleteFlags`.
pub mod snapshot_delete {
    pub const CHILDREN: u32 = 1 << 0;
    pub const METADATA_ONLY: u32 = 1 << 1;
    pub const CHILDREN_ONLY: u32 = 1 << 2;
}

/// `virDomainSnapshotXMLFlags`.
pub mod snapshot_xml {
    pub const SECURE: u32 = 1 << 0;
}

/// `virDomainConsoleFlags`.
pub mod console_flags {
    pub const FORCE: u32 = 1;
    pub const SAFE: u32 = 2;
}

/// `virTypedParameterFlags` a client may add to typed-parameter calls.
pub mod typed_param_flags {
    pub const STRING_OKAY: u32 = 1 << 2;
}

/// `virDomainDefineFlags`.
pub mod domain_define {
    pub const VALIDATE: u32 = 1 << 0;
}

/// `virDomainCreateFlags`: how a domain is started.
pub mod domain_start {
    pub const PAUSED: u32 = 1 << 0;
    pub const AUTODESTROY: u32 = 1 << 1;
    pub const BYPASS_CACHE: u32 = 1 << 2;
    pub const FORCE_BOOT: u32 = 1 << 3;
    pub const VALIDATE: u32 = 1 << 4;
    pub const RESET_NVRAM: u32 = 1 << 5;
}

/// `virDomainDestroyFlagsValues`.
pub mod domain_destroy {
    pub const GRACEFUL: u32 = 1 << 0;
    pub const REMOVE_LOGS: u32 = 1 << 1;
}

/// `virDomainShutdownFlagValues` and `virDomainRebootFlagValues` (the same bits).
pub mod domain_shutdown {
    pub const ACPI_POWER_BTN: u32 = 1 << 0;
    pub const GUEST_AGENT: u32 = 1 << 1;
    pub const INITCTL: u32 = 1 << 2;
    pub const SIGNAL: u32 = 1 << 3;
    pub const PARAVIRT: u32 = 1 << 4;
    /// Every mode libvirt defines.
    pub const ALL: u32 = (1 << 5) - 1;
}

/// `virDomainSaveRestoreFlags`.
pub mod domain_save {
    pub const BYPASS_CACHE: u32 = 1 << 0;
    pub const RUNNING: u32 = 1 << 1;
    pub const PAUSED: u32 = 1 << 2;
    pub const RESET_NVRAM: u32 = 1 << 3;
}

/// `virDomainXMLFlags` (`virDomainSaveImageXMLFlags` shares `SECURE`).
pub mod domain_xml {
    pub const SECURE: u32 = 1 << 0;
    pub const INACTIVE: u32 = 1 << 1;
    pub const UPDATE_CPU: u32 = 1 << 2;
    pub const MIGRATABLE: u32 = 1 << 3;
}

/// `virDomainDeviceModifyFlags` beyond the `domain_affect` bits.
pub mod domain_device_modify {
    pub const FORCE: u32 = 1 << 2;
}

/// `virDomainMessageType`.
pub mod domain_message {
    pub const DEPRECATION: u32 = 1 << 0;
    pub const TAINTING: u32 = 1 << 1;
}

/// `virDomainQemuMonitorCommandFlags`.
pub mod qemu_monitor_command {
    pub const HMP: u32 = 1 << 0;
}

/// `virDomainInterfaceAddressesSource` (a value, not bits).
pub mod interface_addresses_source {
    pub const LEASE: u32 = 0;
    pub const AGENT: u32 = 1;
    pub const ARP: u32 = 2;
}

/// `virConnectListAllDomainsFlags`.
pub mod domain_list {
    pub const ACTIVE: u32 = 1 << 0;
    pub const INACTIVE: u32 = 1 << 1;
    pub const PERSISTENT: u32 = 1 << 2;
    pub const TRANSIENT: u32 = 1 << 3;
    pub const RUNNING: u32 = 1 << 4;
    pub const PAUSED: u32 = 1 << 5;
    pub const SHUTOFF: u32 = 1 << 6;
    pub const OTHER: u32 = 1 << 7;
    pub const MANAGEDSAVE: u32 = 1 << 8;
    pub const NO_MANAGEDSAVE: u32 = 1 << 9;
    pub const AUTOSTART: u32 = 1 << 10;
    pub const NO_AUTOSTART: u32 = 1 << 11;
    pub const HAS_SNAPSHOT: u32 = 1 << 12;
    pub const NO_SNAPSHOT: u32 = 1 << 13;
    pub const HAS_CHECKPOINT: u32 = 1 << 14;
    pub const NO_CHECKPOINT: u32 = 1 << 15;
    /// Every filter libvirt defines.
    pub const ALL: u32 = (1 << 16) - 1;
}

/// `virConnectFlags`.
pub mod connect_open {
    pub const RO: u32 = 1 << 0;
    pub const NO_ALIASES: u32 = 1 << 1;
}

/// `virConnectDomainQemuMonitorEventRegisterFlags`.
pub mod qemu_monitor_event {
    pub const REGEX: u32 = 1 << 0;
    pub const NOCASE: u32 = 1 << 1;
}

/// `VALIDATE` of `virNetworkDefineFlags`, `virNetworkCreateFlags`,
/// `virStoragePoolDefineFlags`, `virNodeDeviceCreateXMLFlags`,
/// `virNodeDeviceDefineXMLFlags` and `virInterfaceDefineFlags`: all bit 0.
pub const DEFINE_VALIDATE: u32 = 1 << 0;

/// `virNetworkXMLFlags`.
pub mod network_xml {
    pub const INACTIVE: u32 = 1 << 0;
}

/// `virNetworkPortCreateFlags`.
pub mod network_port_create {
    pub const RECLAIM: u32 = 1 << 0;
    pub const VALIDATE: u32 = 1 << 1;
}

/// `virStoragePoolBuildFlags`.
pub mod pool_build {
    pub const REPAIR: u32 = 1 << 0;
    pub const RESIZE: u32 = 1 << 1;
    pub const NO_OVERWRITE: u32 = 1 << 2;
    pub const OVERWRITE: u32 = 1 << 3;
}

/// `virStoragePoolCreateFlags`.
pub mod pool_create {
    pub const WITH_BUILD: u32 = 1 << 0;
    pub const WITH_BUILD_OVERWRITE: u32 = 1 << 1;
    pub const WITH_BUILD_NO_OVERWRITE: u32 = 1 << 2;
}

/// `virStorageXMLFlags`.
pub mod storage_xml {
    pub const INACTIVE: u32 = 1 << 0;
}

/// `virStorageVolCreateFlags`.
pub mod vol_create {
    pub const PREALLOC_METADATA: u32 = 1 << 0;
    pub const REFLINK: u32 = 1 << 1;
    pub const VALIDATE: u32 = 1 << 2;
}

/// `virStorageVolInfoFlags`.
pub mod vol_info {
    pub const GET_PHYSICAL: u32 = 1 << 0;
}

/// `virStorageVolUploadFlags` / `virStorageVolDownloadFlags`.
pub mod vol_stream {
    pub const SPARSE_STREAM: u32 = 1 << 0;
}

/// `virStorageVolResizeFlags`.
pub mod vol_resize {
    pub const ALLOCATE: u32 = 1 << 0;
    pub const DELTA: u32 = 1 << 1;
    pub const SHRINK: u32 = 1 << 2;
}

/// `virConnectListAllNodeDeviceFlags`: the two state filters.
pub mod nodedev_list {
    pub const INACTIVE: u32 = 1 << 30;
    pub const ACTIVE: u32 = 1 << 31;
}

/// `virDomainMemoryModFlags` / `virDomainVcpuFlags` beyond the `domain_affect` bits.
pub mod domain_tune {
    pub const MAXIMUM: u32 = 1 << 2;
    pub const VCPU_GUEST: u32 = 1 << 3;
    pub const VCPU_HOTPLUGGABLE: u32 = 1 << 4;
}

/// `virStorageVolWipeAlgorithm` values that are not a pattern.
pub mod vol_wipe {
    pub const TRIM: u32 = 9;
}

/// `virConnectListAllStoragePoolsFlags` before the per-type bits (those follow
/// `rvirt_xml::storage::LIST_FLAG_ORDER` from bit 6).
pub mod pool_list {
    pub const INACTIVE: u32 = 1 << 0;
    pub const ACTIVE: u32 = 1 << 1;
    pub const PERSISTENT: u32 = 1 << 2;
    pub const TRANSIENT: u32 = 1 << 3;
    pub const AUTOSTART: u32 = 1 << 4;
    pub const NO_AUTOSTART: u32 = 1 << 5;
}

/// `virConnectListAllInterfacesFlags`.
pub mod interface_list {
    pub const INACTIVE: u32 = 1 << 0;
    pub const ACTIVE: u32 = 1 << 1;
}

/// `virConnectListAllNetworksFlags`.
pub mod network_list {
    pub const INACTIVE: u32 = 1 << 0;
    pub const ACTIVE: u32 = 1 << 1;
    pub const PERSISTENT: u32 = 1 << 2;
    pub const TRANSIENT: u32 = 1 << 3;
    pub const AUTOSTART: u32 = 1 << 4;
    pub const NO_AUTOSTART: u32 = 1 << 5;
}

/// `virDomainBlockJobType`: the `type` of job info and of the BLOCK_JOB events.
pub mod block_job_type {
    pub const UNKNOWN: i32 = 0;
    pub const PULL: i32 = 1;
    pub const COPY: i32 = 2;
    pub const COMMIT: i32 = 3;
    pub const ACTIVE_COMMIT: i32 = 4;
}

/// `virConnectDomainEventBlockJobStatus`.
pub mod block_job_status {
    pub const COMPLETED: i32 = 0;
    pub const FAILED: i32 = 1;
    pub const CANCELED: i32 = 2;
    pub const READY: i32 = 3;
}

/// `virDomainBlockJobAbortFlags`.
pub mod block_job_abort {
    pub const ASYNC: u32 = 1 << 0;
    pub const PIVOT: u32 = 1 << 1;
}

/// `virDomainBlockJobInfoFlags` and `virDomainBlockJobSetSpeedFlags` (same bit).
pub mod block_job_bandwidth {
    pub const BYTES: u32 = 1 << 0;
}

/// `virDomainBlockPullFlags`.
pub mod block_pull {
    pub const BANDWIDTH_BYTES: u32 = 1 << 6;
}

/// `virDomainBlockRebaseFlags`.
pub mod block_rebase {
    pub const SHALLOW: u32 = 1 << 0;
    pub const REUSE_EXT: u32 = 1 << 1;
    pub const COPY_RAW: u32 = 1 << 2;
    pub const COPY: u32 = 1 << 3;
    pub const RELATIVE: u32 = 1 << 4;
    pub const COPY_DEV: u32 = 1 << 5;
    pub const BANDWIDTH_BYTES: u32 = 1 << 6;
}

/// `virDomainBlockCommitFlags`.
pub mod block_commit {
    pub const SHALLOW: u32 = 1 << 0;
    pub const DELETE: u32 = 1 << 1;
    pub const ACTIVE: u32 = 1 << 2;
    pub const RELATIVE: u32 = 1 << 3;
    pub const BANDWIDTH_BYTES: u32 = 1 << 4;
}

/// `virDomainBlockResizeFlags`.
pub mod block_resize {
    pub const BYTES: u32 = 1 << 0;
}

/// `virDomainBlockCopyFlags`.
pub mod block_copy {
    pub const SHALLOW: u32 = 1 << 0;
    pub const REUSE_EXT: u32 = 1 << 1;
    pub const TRANSIENT_JOB: u32 = 1 << 2;
    pub const SYNCHRONOUS_WRITES: u32 = 1 << 3;
}

/// Typed-parameter fields of `virDomainGet/SetSchedulerParameters` (QEMU's, in libvirt's
/// order), `virDomainGet/SetMemoryParameters` and `virDomainGet/SetBlkioParameters`.
pub mod tune_param {
    pub const SCHEDULER: [&str; 9] = [
        "cpu_shares",
        "vcpu_period",
        "vcpu_quota",
        "emulator_period",
        "emulator_quota",
        "global_period",
        "global_quota",
        "iothread_period",
        "iothread_quota",
    ];
    pub const MEMORY: [&str; 3] = ["hard_limit", "soft_limit", "swap_hard_limit"];
    pub const MEMORY_MIN_GUARANTEE: &str = "min_guarantee";
    /// `VIR_DOMAIN_MEMORY_PARAM_UNLIMITED` (KiB).
    pub const MEMORY_UNLIMITED: u64 = 9_007_199_254_740_991;
    pub const BLKIO: [&str; 6] = [
        "weight",
        "device_weight",
        "device_read_iops_sec",
        "device_write_iops_sec",
        "device_read_bytes_sec",
        "device_write_bytes_sec",
    ];
}
