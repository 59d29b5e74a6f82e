//! The pure core: topology model, platform knowledge tables and the analyses. No I/O,
//! no UI or XML crates (a tidy test enforces it).

pub mod address;
pub mod analyses;
pub mod assign;
pub mod chipset;
pub mod convert;
pub mod device;
pub mod diag;
pub mod edit;
pub mod explain;
pub mod guest;
pub mod guest_os;
pub mod io_space;
pub mod live;
pub mod machine;
pub mod pci;
pub mod qemu_args;
pub mod topology;
pub mod versions;
pub mod view;
pub mod virtio;

pub use address::{Address, PciAddr};
pub use device::Kind;
pub use machine::{Arch, Machine, MachineClass};
pub use pci::{Flags, PciModel};
pub use topology::{Device, Origin, PciController, Topology};
pub use versions::Platform;
