//! xl.cfg → domain XML.
use crate::error::XenError;

pub fn convert(format: &str, _text: &str) -> Result<String, XenError> {
    Err(XenError::Format(format.into()))
}
