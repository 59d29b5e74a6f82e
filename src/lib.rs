//! virt-pci: design and inspect the PCI / PCI Express topology of libvirt + QEMU guests.
//!
//! `core` (the `virt-pci-core` crate, re-exported) is the pure model, its knowledge
//! tables, analyses and edits; `libvirt` owns the lossless domain XML and maps it to and
//! from the model; `host` is everything read from or written to this machine (files,
//! installed versions, osinfo-db, a libvirt connection); `context` turns the domain's
//! metadata and the user's choices into the analyses' context; `running` reads a
//! running domain's live configuration beside its next boot; `cli`, `tui`, `render`
//! and `audit` are the front ends.

pub use virt_pci_core as core;

pub mod audit;
pub mod cli;
pub mod context;
pub mod examples;
pub mod host;
pub mod libvirt;
pub mod render;
pub mod running;
pub mod tui;
