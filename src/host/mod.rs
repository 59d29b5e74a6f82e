//! What virt-pci reads from and writes to the host beyond files: a libvirt connection.

pub mod libvirt;
