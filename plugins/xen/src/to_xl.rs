//! Domain XML → xl.cfg.
use crate::error::XenError;

pub fn convert(format: &str, _xml: &str) -> Result<String, XenError> {
    Err(XenError::Format(format.into()))
}
