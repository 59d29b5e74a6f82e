//! virt-pci library
