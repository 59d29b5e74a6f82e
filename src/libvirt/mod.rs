//! The libvirt layer: owns the lossless domain XML document and maps it to and from the core model.

pub mod domain;
pub mod meta;
pub mod write;
pub mod xml;

pub use domain::{DomainError, DomainErrorKind, read_topology};
pub use write::{write_plan, write_topology};
pub use xml::{Document, NodeId, XmlError};
