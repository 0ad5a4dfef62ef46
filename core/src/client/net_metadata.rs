//! `virNetworkSetMetadata` / `virNetworkGetMetadata` (libvirt 9.7): the checks libvirt's
//! client library makes before it sends either call, in its words, then the call.

use rvirt_protocol as p;
use rvirt_protocol::error::{code, domain};
use rvirt_protocol::facts::metadata_type::{DESCRIPTION, ELEMENT, TITLE};
use rvirt_protocol::facts::network_affect::{CONFIG, LIVE};
use rvirt_protocol::{RemoteClient, RemoteError};

use super::Network;

/// libvirt's `VIR_ERR_INVALID_ARG` from its public API layer: no error domain and no
/// prefix to the text.
fn invalid(text: String) -> RemoteError {
    RemoteError::reported(code::INVALID_ARG, domain::NONE, text)
}

/// Refuses `arg` unless it is absent (`null`) or present (`!null`) as asked.
fn check_arg(name: &str, func: &str, value: Option<&str>, null: bool) -> Result<(), RemoteError> {
    match (value.is_some(), null) {
        (true, true) => Err(invalid(format!("{name} in {func} must be NULL"))),
        (false, false) => Err(invalid(format!("{name} in {func} must not be NULL"))),
        _ => Ok(()),
    }
}

impl Network {
    /// Sets (or with `metadata` None, removes) the title, description or the metadata
    /// element in namespace `uri` (prefix `key`); `flags` are `VIR_NETWORK_UPDATE_AFFECT_*`.
    pub fn set_metadata(
        &self,
        kind: i32,
        metadata: Option<&str>,
        key: Option<&str>,
        uri: Option<&str>,
        flags: u32,
    ) -> Result<(), RemoteError> {
        const F: &str = "virNetworkSetMetadata";
        match kind {
            TITLE | DESCRIPTION => {
                if kind == TITLE && metadata.is_some_and(|m| m.contains('\n')) {
                    return Err(invalid("metadata title can't contain newlines".into()));
                }
                check_arg("uri", F, uri, true)?;
                check_arg("key", F, key, true)?;
            }
            ELEMENT => {
                check_arg("uri", F, uri, false)?;
                if metadata.is_some() {
                    check_arg("key", F, key, false)?;
                }
            }
            _ => {}
        }
        self.conn
            .network_set_metadata(&p::RemoteNetworkSetMetadataArgs {
                network: self.raw.clone(),
                r#type: kind,
                metadata: metadata.map(str::to_string),
                key: key.map(str::to_string),
                uri: uri.map(str::to_string),
                flags,
            })
    }

    /// The title, description or the metadata element in namespace `uri`, from the live
    /// or the persistent definition (`flags`).
    pub fn get_metadata(
        &self,
        kind: i32,
        uri: Option<&str>,
        flags: u32,
    ) -> Result<String, RemoteError> {
        const F: &str = "virNetworkGetMetadata";
        if flags & (LIVE | CONFIG) == LIVE | CONFIG {
            return Err(invalid(
                "Flags 'VIR_NETWORK_UPDATE_AFFECT_LIVE' and 'VIR_NETWORK_UPDATE_AFFECT_CONFIG' are mutually exclusive".into(),
            ));
        }
        match kind {
            TITLE | DESCRIPTION => check_arg("uri", F, uri, true)?,
            ELEMENT => check_arg("uri", F, uri, false)?,
            _ => {}
        }
        Ok(self
            .conn
            .network_get_metadata(&p::RemoteNetworkGetMetadataArgs {
                network: self.raw.clone(),
                r#type: kind,
                uri: uri.map(str::to_string),
                flags,
            })?
            .metadata)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_checked_in_libvirts_words() {
        let e = check_arg("uri", "virNetworkGetMetadata", None, false).unwrap_err();
        assert_eq!((e.code, e.domain), (code::INVALID_ARG, domain::NONE));
        assert_eq!(e.text(), "uri in virNetworkGetMetadata must not be NULL");
        let e = check_arg("key", "virNetworkSetMetadata", Some("k"), true).unwrap_err();
        assert_eq!(e.text(), "key in virNetworkSetMetadata must be NULL");
        assert!(check_arg("key", "f", None, true).is_ok());
    }
}
