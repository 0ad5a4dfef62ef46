//! Errors of the node device driver, worded and numbered as libvirt's node-device
//! driver reports them (domain `VIR_FROM_NODEDEV`).

use rvirt_plugin_api::protocol::RemoteError;
use rvirt_plugin_api::sdk::{code, domain};

/// Everything a node-device call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum NodeDevError {
    #[error("Node device not found: no node device with matching name '{0}'")]
    NoDevice(String),
    #[error("Node device not found: no node device with matching wwnn '{0}' and wwpn '{1}'")]
    NoWwn(String, String),
    #[error("internal error: no parent for this device")]
    NoParent,
    #[error("unsupported flags ({flags:#x}) in function {func}")]
    Flags { flags: u32, func: &'static str },
}

impl NodeDevError {
    fn code(&self) -> i32 {
        match self {
            NodeDevError::NoDevice(_) | NodeDevError::NoWwn(..) => code::NO_NODE_DEVICE,
            NodeDevError::NoParent => code::INTERNAL_ERROR,
            NodeDevError::Flags { .. } => code::INVALID_ARG,
        }
    }
}

impl From<NodeDevError> for RemoteError {
    fn from(e: NodeDevError) -> RemoteError {
        RemoteError::reported(e.code(), domain::NODEDEV, e.to_string())
    }
}

/// Refuses flags outside `allowed` as libvirt's `virCheckFlags` does.
pub fn check_flags(flags: u32, allowed: u32, func: &'static str) -> Result<(), NodeDevError> {
    let extra = flags & !allowed;
    if extra != 0 {
        return Err(NodeDevError::Flags { flags: extra, func });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libvirt_wording() {
        let e: RemoteError = NodeDevError::NoDevice("x".into()).into();
        assert_eq!((e.code, e.domain), (code::NO_NODE_DEVICE, domain::NODEDEV));
        assert_eq!(
            e.text(),
            "Node device not found: no node device with matching name 'x'"
        );
        let e: RemoteError = check_flags(3, 1, "nodeListDevices").unwrap_err().into();
        assert_eq!(
            e.text(),
            "unsupported flags (0x2) in function nodeListDevices"
        );
    }
}
