//! virt-pci: design and inspect the PCI / PCI Express topology of libvirt + QEMU guests.
//!
//! `core` is the pure model and its analyses; `libvirt` owns the lossless domain XML
//! and maps it to and from the model; `render` turns the model into text and JSON.

pub mod analysis;
pub mod audit;
pub mod cli;
pub mod core;
pub mod examples;
pub mod files;
pub mod generate;
pub mod host;
pub mod libvirt;
pub mod osinfo;
pub mod platform;
pub mod render;
pub mod tui;
