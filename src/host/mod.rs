//! What virt-pci reads from and writes to this machine: input files and atomic saves
//! with the exit statuses (`files`), the installed libvirt and QEMU (`platform`), the
//! installed osinfo-db (`osinfo`) and a libvirt connection (`libvirt`).

pub mod files;
pub mod libvirt;
pub mod osinfo;
pub mod platform;
