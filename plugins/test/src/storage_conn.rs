//! The storage driver connection: typed procedures over [`crate::storage`].

use rvirt_plugin_api::protocol::{remote_proc as p, *};

use crate::conn::Conn;
use crate::error::check_flags;
use crate::storage::*;

/// The storage connection.
pub struct StorageConn(pub Conn);

impl rvirt_plugin_api::sdk::Connection for StorageConn {
    fn call(&self, program: u32, procedure: i32, args: &[u8]) -> R<Vec<u8>> {
        rvirt_plugin_api::sdk::dispatch_remote(self, program, procedure, args)
    }

    /// Volume upload and download (`storage_data`); both calls reply nothing.
    fn open_stream(
        &self,
        program: u32,
        procedure: i32,
        args: &[u8],
    ) -> R<(Vec<u8>, Box<dyn rvirt_plugin_api::sdk::Stream>)> {
        if program != REMOTE_PROGRAM_NUMBER
            || !rvirt_plugin_api::sdk::VOLUME_STREAM_OPENERS.contains(&procedure)
        {
            let name = procedure_name(program, procedure);
            return Err(RemoteError::unsupported(name));
        }
        let st = crate::storage_data::open(&self.0.drv, procedure, args)?;
        Ok((Vec::new(), st))
    }

    fn close(&self) {
        self.0.close();
    }
}

fn procedure_name(program: u32, procedure: i32) -> &'static str {
    rvirt_plugin_api::protocol::procedure(program, procedure).map_or("stream", |p| p.api_name)
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
    p::STORAGE_VOL_RESIZE,
    p::STORAGE_VOL_GET_INFO,
    p::STORAGE_VOL_GET_XML_DESC,
    p::STORAGE_VOL_GET_PATH,
];

type R<T> = Result<T, RemoteError>;

impl RemoteHandler for StorageConn {
    fn connect_num_of_storage_pools(&self) -> R<RemoteConnectNumOfStoragePoolsRet> {
        self.0.read(|s| {
            Ok(RemoteConnectNumOfStoragePoolsRet {
                num: names(s, true, i32::MAX).len() as i32,
            })
        })
    }
    fn connect_list_storage_pools(
        &self,
        a: RemoteConnectListStoragePoolsArgs,
    ) -> R<RemoteConnectListStoragePoolsRet> {
        self.0.read(|s| {
            Ok(RemoteConnectListStoragePoolsRet {
                names: names(s, true, a.maxnames),
            })
        })
    }
    fn connect_num_of_defined_storage_pools(&self) -> R<RemoteConnectNumOfDefinedStoragePoolsRet> {
        self.0.read(|s| {
            Ok(RemoteConnectNumOfDefinedStoragePoolsRet {
                num: names(s, false, i32::MAX).len() as i32,
            })
        })
    }
    fn connect_list_defined_storage_pools(
        &self,
        a: RemoteConnectListDefinedStoragePoolsArgs,
    ) -> R<RemoteConnectListDefinedStoragePoolsRet> {
        self.0.read(|s| {
            Ok(RemoteConnectListDefinedStoragePoolsRet {
                names: names(s, false, a.maxnames),
            })
        })
    }
    fn connect_list_all_storage_pools(
        &self,
        a: RemoteConnectListAllStoragePoolsArgs,
    ) -> R<RemoteConnectListAllStoragePoolsRet> {
        self.0.read(|s| {
            let pools = list_all(s, a.flags)?;
            Ok(RemoteConnectListAllStoragePoolsRet {
                ret: pools.len() as u32,
                pools,
            })
        })
    }
    fn storage_pool_lookup_by_name(
        &self,
        a: RemoteStoragePoolLookupByNameArgs,
    ) -> R<RemoteStoragePoolLookupByNameRet> {
        self.0.read(|s| {
            Ok(RemoteStoragePoolLookupByNameRet {
                pool: pool_ref(pool(s, &a.name)?),
            })
        })
    }
    fn storage_pool_lookup_by_uuid(
        &self,
        a: RemoteStoragePoolLookupByUuidArgs,
    ) -> R<RemoteStoragePoolLookupByUuidRet> {
        self.0.read(|s| {
            Ok(RemoteStoragePoolLookupByUuidRet {
                pool: lookup_uuid(s, &a.uuid)?,
            })
        })
    }
    fn storage_pool_lookup_by_volume(
        &self,
        a: RemoteStoragePoolLookupByVolumeArgs,
    ) -> R<RemoteStoragePoolLookupByVolumeRet> {
        self.0.read(|s| {
            Ok(RemoteStoragePoolLookupByVolumeRet {
                pool: pool_ref(pool(s, &a.vol.pool)?),
            })
        })
    }
    fn storage_pool_define_xml(
        &self,
        a: RemoteStoragePoolDefineXmlArgs,
    ) -> R<RemoteStoragePoolDefineXmlRet> {
        self.0.write(|s, e| {
            Ok(RemoteStoragePoolDefineXmlRet {
                pool: define(s, e, &a.xml, a.flags)?,
            })
        })
    }
    fn storage_pool_create_xml(
        &self,
        a: RemoteStoragePoolCreateXmlArgs,
    ) -> R<RemoteStoragePoolCreateXmlRet> {
        self.0.write(|s, e| {
            Ok(RemoteStoragePoolCreateXmlRet {
                pool: create_xml(s, e, &a.xml, a.flags)?,
            })
        })
    }
    fn storage_pool_build(&self, a: RemoteStoragePoolBuildArgs) -> R<()> {
        self.0.write(|s, e| build(s, e, &a.pool.name, a.flags))
    }
    fn storage_pool_undefine(&self, a: RemoteStoragePoolUndefineArgs) -> R<()> {
        self.0.write(|s, e| undefine(s, e, &a.pool.name))
    }
    fn storage_pool_create(&self, a: RemoteStoragePoolCreateArgs) -> R<()> {
        self.0.write(|s, e| start(s, e, &a.pool.name, a.flags))
    }
    fn storage_pool_destroy(&self, a: RemoteStoragePoolDestroyArgs) -> R<()> {
        self.0.write(|s, e| destroy(s, e, &a.pool.name))
    }
    fn storage_pool_delete(&self, a: RemoteStoragePoolDeleteArgs) -> R<()> {
        self.0.write(|s, e| delete(s, e, &a.pool.name, a.flags))
    }
    fn storage_pool_refresh(&self, a: RemoteStoragePoolRefreshArgs) -> R<()> {
        self.0.read(|s| refresh(s, &a.pool.name, a.flags))
    }
    fn storage_pool_get_info(
        &self,
        a: RemoteStoragePoolGetInfoArgs,
    ) -> R<RemoteStoragePoolGetInfoRet> {
        self.0.read(|s| info(s, &a.pool.name))
    }
    fn storage_pool_get_xml_desc(
        &self,
        a: RemoteStoragePoolGetXmlDescArgs,
    ) -> R<RemoteStoragePoolGetXmlDescRet> {
        check_flags(a.flags, 0, "testStoragePoolGetXMLDesc")?;
        self.0.read(|s| {
            Ok(RemoteStoragePoolGetXmlDescRet {
                xml: pool(s, &a.pool.name)?.def.to_xml(),
            })
        })
    }
    fn storage_pool_get_autostart(
        &self,
        a: RemoteStoragePoolGetAutostartArgs,
    ) -> R<RemoteStoragePoolGetAutostartRet> {
        self.0.read(|s| {
            Ok(RemoteStoragePoolGetAutostartRet {
                autostart: pool(s, &a.pool.name)?.autostart as i32,
            })
        })
    }
    fn storage_pool_set_autostart(&self, a: RemoteStoragePoolSetAutostartArgs) -> R<()> {
        self.0
            .write(|s, _| set_autostart(s, &a.pool.name, a.autostart != 0))
    }
    fn storage_pool_is_active(
        &self,
        a: RemoteStoragePoolIsActiveArgs,
    ) -> R<RemoteStoragePoolIsActiveRet> {
        self.0.read(|s| {
            Ok(RemoteStoragePoolIsActiveRet {
                active: pool(s, &a.pool.name)?.active as i32,
            })
        })
    }
    fn storage_pool_is_persistent(
        &self,
        a: RemoteStoragePoolIsPersistentArgs,
    ) -> R<RemoteStoragePoolIsPersistentRet> {
        self.0.read(|s| {
            Ok(RemoteStoragePoolIsPersistentRet {
                persistent: pool(s, &a.pool.name)?.persistent as i32,
            })
        })
    }
    fn storage_pool_num_of_volumes(
        &self,
        a: RemoteStoragePoolNumOfVolumesArgs,
    ) -> R<RemoteStoragePoolNumOfVolumesRet> {
        self.0.read(|s| {
            Ok(RemoteStoragePoolNumOfVolumesRet {
                num: vols(s, &a.pool.name)?.len() as i32,
            })
        })
    }
    fn storage_pool_list_volumes(
        &self,
        a: RemoteStoragePoolListVolumesArgs,
    ) -> R<RemoteStoragePoolListVolumesRet> {
        self.0.read(|s| {
            let names = vols(s, &a.pool.name)?
                .into_iter()
                .map(|v| v.name)
                .take(a.maxnames.max(0) as usize)
                .collect();
            Ok(RemoteStoragePoolListVolumesRet { names })
        })
    }
    fn storage_pool_list_all_volumes(
        &self,
        a: RemoteStoragePoolListAllVolumesArgs,
    ) -> R<RemoteStoragePoolListAllVolumesRet> {
        check_flags(a.flags, 0, "testStoragePoolListAllVolumes")?;
        self.0.read(|s| {
            let vols = vols(s, &a.pool.name)?;
            Ok(RemoteStoragePoolListAllVolumesRet {
                ret: vols.len() as u32,
                vols,
            })
        })
    }
    fn storage_vol_lookup_by_name(
        &self,
        a: RemoteStorageVolLookupByNameArgs,
    ) -> R<RemoteStorageVolLookupByNameRet> {
        self.0.read(|s| {
            Ok(RemoteStorageVolLookupByNameRet {
                vol: vol_by_name(s, &a.pool.name, &a.name)?,
            })
        })
    }
    fn storage_vol_lookup_by_key(
        &self,
        a: RemoteStorageVolLookupByKeyArgs,
    ) -> R<RemoteStorageVolLookupByKeyRet> {
        self.0.read(|s| {
            Ok(RemoteStorageVolLookupByKeyRet {
                vol: vol_where(s, true, &a.key)?,
            })
        })
    }
    fn storage_vol_lookup_by_path(
        &self,
        a: RemoteStorageVolLookupByPathArgs,
    ) -> R<RemoteStorageVolLookupByPathRet> {
        self.0.read(|s| {
            Ok(RemoteStorageVolLookupByPathRet {
                vol: vol_where(s, false, &a.path)?,
            })
        })
    }
    fn storage_vol_create_xml(
        &self,
        a: RemoteStorageVolCreateXmlArgs,
    ) -> R<RemoteStorageVolCreateXmlRet> {
        self.0.write(|s, _| {
            Ok(RemoteStorageVolCreateXmlRet {
                vol: vol_create(s, &a.pool.name, &a.xml, None, a.flags)?,
            })
        })
    }
    fn storage_vol_create_xml_from(
        &self,
        a: RemoteStorageVolCreateXmlFromArgs,
    ) -> R<RemoteStorageVolCreateXmlFromRet> {
        self.0.write(|s, _| {
            let vol = vol_create(s, &a.pool.name, &a.xml, Some(&a.clonevol.name), a.flags)?;
            Ok(RemoteStorageVolCreateXmlFromRet { vol })
        })
    }
    fn storage_vol_delete(&self, a: RemoteStorageVolDeleteArgs) -> R<()> {
        self.0.write(|s, _| vol_delete(s, &a.vol, a.flags))
    }
    fn storage_vol_wipe(&self, a: RemoteStorageVolWipeArgs) -> R<()> {
        self.0.read(|s| vol_wipe(s, &a.vol, a.flags))
    }
    fn storage_vol_resize(&self, a: RemoteStorageVolResizeArgs) -> R<()> {
        self.0
            .write(|s, _| vol_resize(s, &a.vol, a.capacity, a.flags))
    }
    fn storage_vol_get_info(
        &self,
        a: RemoteStorageVolGetInfoArgs,
    ) -> R<RemoteStorageVolGetInfoRet> {
        self.0.read(|s| {
            let (p, v) = vol(s, &a.vol)?;
            Ok(RemoteStorageVolGetInfoRet {
                r#type: vol_type(&p.def.pool_type),
                capacity: v.capacity,
                allocation: v.allocation,
            })
        })
    }
    fn storage_vol_get_xml_desc(
        &self,
        a: RemoteStorageVolGetXmlDescArgs,
    ) -> R<RemoteStorageVolGetXmlDescRet> {
        check_flags(a.flags, 0, "testStorageVolGetXMLDesc")?;
        self.0.read(|s| {
            Ok(RemoteStorageVolGetXmlDescRet {
                xml: vol(s, &a.vol)?.1.to_xml(),
            })
        })
    }
    fn storage_vol_get_path(
        &self,
        a: RemoteStorageVolGetPathArgs,
    ) -> R<RemoteStorageVolGetPathRet> {
        self.0.read(|s| {
            Ok(RemoteStorageVolGetPathRet {
                name: vol(s, &a.vol)?.1.target_path.clone().unwrap_or_default(),
            })
        })
    }
}
