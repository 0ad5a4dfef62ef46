//! The storage connection: typed procedures over [`crate::pool`] and [`crate::vol`].

use std::sync::Arc;

use rvirt_plugin_api::protocol::{remote_proc as p, *};

use crate::events::Listener;
use crate::pool;
use crate::state::Driver;
use crate::vol;

/// One connection; every connection shares the driver and receives its pool events.
pub struct StorageConn(pub Arc<Driver>, pub Listener);

impl StorageConn {
    pub fn open(drv: Arc<Driver>, listener: Listener) -> StorageConn {
        drv.add_listener(listener);
        StorageConn(drv, listener)
    }
}

impl rvirt_plugin_api::sdk::Connection for StorageConn {
    fn call(&self, program: u32, procedure: i32, args: &[u8]) -> Result<Vec<u8>, RemoteError> {
        rvirt_plugin_api::sdk::dispatch_remote(self, program, procedure, args)
    }

    /// Volume upload and download ([`crate::stream`]); both calls reply nothing.
    fn open_stream(
        &self,
        program: u32,
        procedure: i32,
        args: &[u8],
    ) -> Result<(Vec<u8>, Box<dyn rvirt_plugin_api::sdk::Stream>), RemoteError> {
        if program != REMOTE_PROGRAM_NUMBER
            || !rvirt_plugin_api::sdk::VOLUME_STREAM_OPENERS.contains(&procedure)
        {
            return Err(rvirt_plugin_api::sdk::stream_unsupported(
                program, procedure,
            ));
        }
        Ok((Vec::new(), crate::stream::open(&self.0, procedure, args)?))
    }

    fn close(&self) {
        self.0.remove_listener(self.1);
    }
}

/// Procedures this driver implements (`tests::declared_procedures_are_the_implemented_ones`
/// in lib.rs proves the list and the handler agree).
pub const PROCEDURES: &[i32] = &[
    p::CONNECT_NUM_OF_STORAGE_POOLS,
    p::CONNECT_LIST_STORAGE_POOLS,
    p::CONNECT_NUM_OF_DEFINED_STORAGE_POOLS,
    p::CONNECT_LIST_DEFINED_STORAGE_POOLS,
    p::CONNECT_LIST_ALL_STORAGE_POOLS,
    p::STORAGE_POOL_LOOKUP_BY_NAME,
    p::STORAGE_POOL_LOOKUP_BY_UUID,
    p::STORAGE_POOL_LOOKUP_BY_VOLUME,
    p::STORAGE_POOL_LOOKUP_BY_TARGET_PATH,
    p::STORAGE_POOL_DEFINE_XML,
    p::STORAGE_POOL_CREATE_XML,
    p::STORAGE_POOL_BUILD,
    p::STORAGE_POOL_UNDEFINE,
    p::STORAGE_POOL_CREATE,
    p::STORAGE_POOL_DESTROY,
    p::STORAGE_POOL_DELETE,
    p::STORAGE_POOL_REFRESH,
    p::STORAGE_POOL_GET_INFO,
    p::STORAGE_POOL_GET_XML_DESC,
    p::STORAGE_POOL_GET_AUTOSTART,
    p::STORAGE_POOL_SET_AUTOSTART,
    p::STORAGE_POOL_IS_ACTIVE,
    p::STORAGE_POOL_IS_PERSISTENT,
    p::STORAGE_POOL_NUM_OF_VOLUMES,
    p::STORAGE_POOL_LIST_VOLUMES,
    p::STORAGE_POOL_LIST_ALL_VOLUMES,
    p::STORAGE_VOL_LOOKUP_BY_NAME,
    p::STORAGE_VOL_LOOKUP_BY_KEY,
    p::STORAGE_VOL_LOOKUP_BY_PATH,
    p::STORAGE_VOL_CREATE_XML,
    p::STORAGE_VOL_CREATE_XML_FROM,
    p::STORAGE_VOL_DELETE,
    p::STORAGE_VOL_WIPE,
    p::STORAGE_VOL_WIPE_PATTERN,
    p::STORAGE_VOL_RESIZE,
    p::STORAGE_VOL_GET_INFO,
    p::STORAGE_VOL_GET_INFO_FLAGS,
    p::STORAGE_VOL_GET_XML_DESC,
    p::STORAGE_VOL_GET_PATH,
    p::CONNECT_GET_STORAGE_POOL_CAPABILITIES,
    p::CONNECT_FIND_STORAGE_POOL_SOURCES,
];

type R<T> = Result<T, RemoteError>;

impl RemoteHandler for StorageConn {
    fn connect_find_storage_pool_sources(
        &self,
        a: RemoteConnectFindStoragePoolSourcesArgs,
    ) -> R<RemoteConnectFindStoragePoolSourcesRet> {
        Ok(RemoteConnectFindStoragePoolSourcesRet {
            xml: pool::find_sources(&a.r#type, a.src_spec.as_deref(), a.flags)?,
        })
    }
    fn connect_get_storage_pool_capabilities(
        &self,
        a: RemoteConnectGetStoragePoolCapabilitiesArgs,
    ) -> R<RemoteConnectGetStoragePoolCapabilitiesRet> {
        crate::error::check_flags(a.flags, 0, "storageConnectGetStoragePoolCapabilities")?;
        let capabilities = rvirt_xml::storage::pool_capabilities(crate::backend::supports);
        Ok(RemoteConnectGetStoragePoolCapabilitiesRet { capabilities })
    }
    fn connect_num_of_storage_pools(&self) -> R<RemoteConnectNumOfStoragePoolsRet> {
        let num = pool::names(&self.0, true, i32::MAX).len() as i32;
        Ok(RemoteConnectNumOfStoragePoolsRet { num })
    }
    fn connect_list_storage_pools(
        &self,
        a: RemoteConnectListStoragePoolsArgs,
    ) -> R<RemoteConnectListStoragePoolsRet> {
        let names = pool::names(&self.0, true, a.maxnames);
        Ok(RemoteConnectListStoragePoolsRet { names })
    }
    fn connect_num_of_defined_storage_pools(&self) -> R<RemoteConnectNumOfDefinedStoragePoolsRet> {
        let num = pool::names(&self.0, false, i32::MAX).len() as i32;
        Ok(RemoteConnectNumOfDefinedStoragePoolsRet { num })
    }
    fn connect_list_defined_storage_pools(
        &self,
        a: RemoteConnectListDefinedStoragePoolsArgs,
    ) -> R<RemoteConnectListDefinedStoragePoolsRet> {
        let names = pool::names(&self.0, false, a.maxnames);
        Ok(RemoteConnectListDefinedStoragePoolsRet { names })
    }
    fn connect_list_all_storage_pools(
        &self,
        a: RemoteConnectListAllStoragePoolsArgs,
    ) -> R<RemoteConnectListAllStoragePoolsRet> {
        let pools = pool::list_all(&self.0, a.flags)?;
        Ok(RemoteConnectListAllStoragePoolsRet {
            ret: pools.len() as u32,
            pools,
        })
    }
    fn storage_pool_lookup_by_name(
        &self,
        a: RemoteStoragePoolLookupByNameArgs,
    ) -> R<RemoteStoragePoolLookupByNameRet> {
        let pools = self.0.lock();
        Ok(RemoteStoragePoolLookupByNameRet {
            pool: pool::pool_ref(pool::find(&pools, &a.name)?),
        })
    }
    fn storage_pool_lookup_by_uuid(
        &self,
        a: RemoteStoragePoolLookupByUuidArgs,
    ) -> R<RemoteStoragePoolLookupByUuidRet> {
        let pools = self.0.lock();
        Ok(RemoteStoragePoolLookupByUuidRet {
            pool: pool::pool_ref(pool::find_uuid(&pools, &a.uuid)?),
        })
    }
    fn storage_pool_lookup_by_volume(
        &self,
        a: RemoteStoragePoolLookupByVolumeArgs,
    ) -> R<RemoteStoragePoolLookupByVolumeRet> {
        let pools = self.0.lock();
        Ok(RemoteStoragePoolLookupByVolumeRet {
            pool: pool::pool_ref(pool::find(&pools, &a.vol.pool)?),
        })
    }
    fn storage_pool_lookup_by_target_path(
        &self,
        a: RemoteStoragePoolLookupByTargetPathArgs,
    ) -> R<RemoteStoragePoolLookupByTargetPathRet> {
        Ok(RemoteStoragePoolLookupByTargetPathRet {
            pool: pool::lookup_target(&self.0, &a.path)?,
        })
    }
    fn storage_pool_define_xml(
        &self,
        a: RemoteStoragePoolDefineXmlArgs,
    ) -> R<RemoteStoragePoolDefineXmlRet> {
        Ok(RemoteStoragePoolDefineXmlRet {
            pool: pool::define(&self.0, &a.xml, a.flags)?,
        })
    }
    fn storage_pool_create_xml(
        &self,
        a: RemoteStoragePoolCreateXmlArgs,
    ) -> R<RemoteStoragePoolCreateXmlRet> {
        Ok(RemoteStoragePoolCreateXmlRet {
            pool: pool::create_xml(&self.0, &a.xml, a.flags)?,
        })
    }
    fn storage_pool_build(&self, a: RemoteStoragePoolBuildArgs) -> R<()> {
        Ok(pool::build(&self.0, &a.pool.name, a.flags)?)
    }
    fn storage_pool_undefine(&self, a: RemoteStoragePoolUndefineArgs) -> R<()> {
        Ok(pool::undefine(&self.0, &a.pool.name)?)
    }
    fn storage_pool_create(&self, a: RemoteStoragePoolCreateArgs) -> R<()> {
        Ok(pool::start(&self.0, &a.pool.name, a.flags)?)
    }
    fn storage_pool_destroy(&self, a: RemoteStoragePoolDestroyArgs) -> R<()> {
        Ok(pool::destroy(&self.0, &a.pool.name)?)
    }
    fn storage_pool_delete(&self, a: RemoteStoragePoolDeleteArgs) -> R<()> {
        Ok(pool::delete(&self.0, &a.pool.name, a.flags)?)
    }
    fn storage_pool_refresh(&self, a: RemoteStoragePoolRefreshArgs) -> R<()> {
        Ok(pool::refresh(&self.0, &a.pool.name, a.flags)?)
    }
    fn storage_pool_get_info(
        &self,
        a: RemoteStoragePoolGetInfoArgs,
    ) -> R<RemoteStoragePoolGetInfoRet> {
        Ok(pool::info(&self.0, &a.pool.name)?)
    }
    fn storage_pool_get_xml_desc(
        &self,
        a: RemoteStoragePoolGetXmlDescArgs,
    ) -> R<RemoteStoragePoolGetXmlDescRet> {
        Ok(RemoteStoragePoolGetXmlDescRet {
            xml: pool::xml(&self.0, &a.pool.name, a.flags)?,
        })
    }
    fn storage_pool_get_autostart(
        &self,
        a: RemoteStoragePoolGetAutostartArgs,
    ) -> R<RemoteStoragePoolGetAutostartRet> {
        let pools = self.0.lock();
        Ok(RemoteStoragePoolGetAutostartRet {
            autostart: pool::find(&pools, &a.pool.name)?.autostart as i32,
        })
    }
    fn storage_pool_set_autostart(&self, a: RemoteStoragePoolSetAutostartArgs) -> R<()> {
        Ok(pool::set_autostart(
            &self.0,
            &a.pool.name,
            a.autostart != 0,
        )?)
    }
    fn storage_pool_is_active(
        &self,
        a: RemoteStoragePoolIsActiveArgs,
    ) -> R<RemoteStoragePoolIsActiveRet> {
        let pools = self.0.lock();
        Ok(RemoteStoragePoolIsActiveRet {
            active: pool::find(&pools, &a.pool.name)?.active as i32,
        })
    }
    fn storage_pool_is_persistent(
        &self,
        a: RemoteStoragePoolIsPersistentArgs,
    ) -> R<RemoteStoragePoolIsPersistentRet> {
        let pools = self.0.lock();
        Ok(RemoteStoragePoolIsPersistentRet {
            persistent: pool::find(&pools, &a.pool.name)?.persistent as i32,
        })
    }
    fn storage_pool_num_of_volumes(
        &self,
        a: RemoteStoragePoolNumOfVolumesArgs,
    ) -> R<RemoteStoragePoolNumOfVolumesRet> {
        Ok(RemoteStoragePoolNumOfVolumesRet {
            num: vol::list(&self.0, &a.pool.name)?.len() as i32,
        })
    }
    fn storage_pool_list_volumes(
        &self,
        a: RemoteStoragePoolListVolumesArgs,
    ) -> R<RemoteStoragePoolListVolumesRet> {
        let names = vol::list(&self.0, &a.pool.name)?
            .into_iter()
            .map(|v| v.name)
            .take(a.maxnames.max(0) as usize)
            .collect();
        Ok(RemoteStoragePoolListVolumesRet { names })
    }
    fn storage_pool_list_all_volumes(
        &self,
        a: RemoteStoragePoolListAllVolumesArgs,
    ) -> R<RemoteStoragePoolListAllVolumesRet> {
        crate::error::check_flags(a.flags, 0, "storagePoolListAllVolumes")?;
        let vols = vol::list(&self.0, &a.pool.name)?;
        Ok(RemoteStoragePoolListAllVolumesRet {
            ret: vols.len() as u32,
            vols,
        })
    }
    fn storage_vol_lookup_by_name(
        &self,
        a: RemoteStorageVolLookupByNameArgs,
    ) -> R<RemoteStorageVolLookupByNameRet> {
        Ok(RemoteStorageVolLookupByNameRet {
            vol: vol::lookup_name(&self.0, &a.pool.name, &a.name)?,
        })
    }
    fn storage_vol_lookup_by_key(
        &self,
        a: RemoteStorageVolLookupByKeyArgs,
    ) -> R<RemoteStorageVolLookupByKeyRet> {
        Ok(RemoteStorageVolLookupByKeyRet {
            vol: vol::lookup_where(&self.0, true, &a.key)?,
        })
    }
    fn storage_vol_lookup_by_path(
        &self,
        a: RemoteStorageVolLookupByPathArgs,
    ) -> R<RemoteStorageVolLookupByPathRet> {
        Ok(RemoteStorageVolLookupByPathRet {
            vol: vol::lookup_where(&self.0, false, &a.path)?,
        })
    }
    fn storage_vol_create_xml(
        &self,
        a: RemoteStorageVolCreateXmlArgs,
    ) -> R<RemoteStorageVolCreateXmlRet> {
        Ok(RemoteStorageVolCreateXmlRet {
            vol: vol::create(&self.0, &a.pool.name, &a.xml, None, a.flags)?,
        })
    }
    fn storage_vol_create_xml_from(
        &self,
        a: RemoteStorageVolCreateXmlFromArgs,
    ) -> R<RemoteStorageVolCreateXmlFromRet> {
        let vol = vol::create(&self.0, &a.pool.name, &a.xml, Some(&a.clonevol), a.flags)?;
        Ok(RemoteStorageVolCreateXmlFromRet { vol })
    }
    fn storage_vol_delete(&self, a: RemoteStorageVolDeleteArgs) -> R<()> {
        Ok(vol::delete(&self.0, &a.vol, a.flags)?)
    }
    fn storage_vol_wipe(&self, a: RemoteStorageVolWipeArgs) -> R<()> {
        Ok(crate::change::wipe(&self.0, &a.vol, 0, a.flags)?)
    }
    fn storage_vol_wipe_pattern(&self, a: RemoteStorageVolWipePatternArgs) -> R<()> {
        Ok(crate::change::wipe(&self.0, &a.vol, a.algorithm, a.flags)?)
    }
    fn storage_vol_resize(&self, a: RemoteStorageVolResizeArgs) -> R<()> {
        Ok(crate::change::resize(&self.0, &a.vol, a.capacity, a.flags)?)
    }
    fn storage_vol_get_info(
        &self,
        a: RemoteStorageVolGetInfoArgs,
    ) -> R<RemoteStorageVolGetInfoRet> {
        Ok(vol::info(&self.0, &a.vol, 0)?)
    }
    fn storage_vol_get_info_flags(
        &self,
        a: RemoteStorageVolGetInfoFlagsArgs,
    ) -> R<RemoteStorageVolGetInfoFlagsRet> {
        let i = vol::info(&self.0, &a.vol, a.flags)?;
        Ok(RemoteStorageVolGetInfoFlagsRet {
            r#type: i.r#type,
            capacity: i.capacity,
            allocation: i.allocation,
        })
    }
    fn storage_vol_get_xml_desc(
        &self,
        a: RemoteStorageVolGetXmlDescArgs,
    ) -> R<RemoteStorageVolGetXmlDescRet> {
        Ok(RemoteStorageVolGetXmlDescRet {
            xml: vol::xml(&self.0, &a.vol, a.flags)?,
        })
    }
    fn storage_vol_get_path(
        &self,
        a: RemoteStorageVolGetPathArgs,
    ) -> R<RemoteStorageVolGetPathRet> {
        let name = vol::with_vol(&self.0, &a.vol, |_, v| {
            Ok(v.target_path.clone().unwrap_or_default())
        })?;
        Ok(RemoteStorageVolGetPathRet { name })
    }
}
