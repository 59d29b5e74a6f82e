//! The libvirt layer: owns the lossless domain XML document and maps it to and from the core model.

pub mod apply;
pub mod domain;
pub mod edit_apply;
pub mod meta;
pub mod xml;

pub use apply::apply_plan;
pub use domain::{DomainError, DomainErrorKind, read_topology};
pub use xml::{Document, NodeId, XmlError};
