//! Typed libvirt-compatible XML for rvirt.
//!
//! Parsing is done with quick-xml into a small element tree, then converted
//! into typed definitions. Formatting uses our own writer that reproduces the
//! layout libvirt produces (two-space indent, single-quoted attributes,
//! libvirt's element order, `<x/>` for empty elements).

mod error;
pub mod file;
pub mod metadata;
pub mod moment;
pub mod out;
pub mod schema;
pub mod snapshot;
pub mod spec;
pub mod tree;
pub mod units;
mod uuid;

pub mod checkpoint;
pub mod domain;
pub mod network;
pub mod nodedev;
pub mod nwfilter;
pub mod nwfilter_binding;
pub mod secret;
pub mod storage;
pub mod testnode;
#[cfg(test)]
mod testutil;

pub use error::{XmlError, FROM_XML, XML_DETAIL, XML_ERROR, XML_INVALID_SCHEMA};
pub use schema::{ParseOptions, Schema};
pub use uuid::Uuid;
