//! PCI address assignment as libvirt's QEMU driver does it when a guest is defined:
//! implicit devices, controller indexes, a dry-run pass that decides which controllers
//! must be added, the real pass that places everything, and the controller defaults.
//!
//! The result is a [`Plan`]: what to add and what to fill in. The libvirt layer writes
//! it into the document; nothing here touches XML. This module holds the assigner's
//! state (one placement per device) and the two entry points, [`assign`] and
//! [`check_all`].
//! The steps live in the submodules, in the order a run takes them: `validate`, then
//! `prepare` (with `controllers`' indexes and `implicit`'s devices), `controllers`'
//! rules, and `passes`, which place devices in `order` on the buses of `bus`, the
//! chipset's addresses (`chipset_slots`) first.

mod bus;
mod chipset_slots;
mod controllers;
mod device_rules;
mod implicit;
mod order;
mod passes;
mod plan;
mod prepare;
mod validate;

pub use implicit::MAX_DISK_CONTROLLERS;
pub use plan::{ControllerFill, DeviceRef, Fill, NewDevice, Plan};
pub use validate::transitional_off_pci;

use crate::address::PciAddr;
use crate::device::{Kind, SlotClass, VirtioForm};
use crate::diag::Diagnostic;
use crate::machine::MachineClass;
use crate::pci::{Flags, PciModel};
use crate::topology::{PciController, Topology};

/// One device as the assigner places it: what it is, the connect flags it needs, the
/// address it has or is given, and what of that is written back.
#[derive(Clone, Debug)]
struct Placement {
    /// The device in the topology or among the ones libvirt adds.
    device_ref: DeviceRef,
    kind: Kind,
    ty: Option<String>,
    model: Option<String>,
    index: Option<u32>,
    index_filled: bool,
    pci: Option<PciController>,
    flags: Flags,
    /// Address present in the config (or set by a chipset rule).
    addr: Option<PciAddr>,
    /// Written multifunction attribute.
    mf_attr: Option<bool>,
    /// Wants a PCI address assigned.
    want: bool,
    /// Address filled in by the assigner.
    assigned: bool,
    /// The config's address, moved to another bus by bus growth (written back).
    moved: bool,
    mmio: bool,
    iface_hostdev: bool,
    needs_slot: SlotClass,
    virtio: VirtioForm,
    /// libvirt writes `multifunction='on'` whatever else shares the slot (the UHCI
    /// controller it puts at its preferred 00:1d.0 or 00:1a.0).
    force_multifunction: bool,
}

impl Placement {
    /// The device's index in the topology; none for a device libvirt adds.
    fn topology_index(&self) -> Option<usize> {
        match self.device_ref {
            DeviceRef::Existing(i) => Some(i),
            DeviceRef::Added(_) => None,
        }
    }

    fn is_ctl(&self, ty: &str) -> bool {
        self.kind == Kind::Controller && self.ty.as_deref() == Some(ty)
    }

    fn pci_model(&self) -> Option<PciModel> {
        self.pci.as_ref().map(|p| p.model)
    }
}

/// One run of the assignment over a topology: a placement per device and the devices
/// libvirt adds, in the order it adds them.
struct Assigner<'t> {
    topo: &'t Topology,
    placements: Vec<Placement>,
    added: Vec<NewDevice>,
    pcie_root: bool,
    class: MachineClass,
}

/// Ties a diagnostic to the device of `placement` (none for a device libvirt adds).
fn err_on(d: Diagnostic, placement: &Placement) -> Diagnostic {
    let dev = placement.topology_index();
    d.on(dev)
}

impl<'t> Assigner<'t> {
    fn new(topo: &'t Topology) -> Assigner<'t> {
        Assigner {
            topo,
            placements: Vec::new(),
            added: Vec::new(),
            pcie_root: false,
            class: topo.machine.class,
        }
    }

    fn add(&mut self, nd: NewDevice, pci: Option<PciController>) -> usize {
        let t = DeviceRef::Added(self.added.len());
        self.placements.push(Placement {
            device_ref: t,
            kind: nd.kind,
            ty: nd.ty.clone(),
            model: nd.model.clone(),
            index: nd.index,
            index_filled: false,
            pci,
            flags: Flags::NONE,
            addr: None,
            mf_attr: None,
            want: true,
            assigned: false,
            moved: false,
            mmio: false,
            iface_hostdev: false,
            needs_slot: SlotClass::None,
            virtio: VirtioForm::No,
            force_multifunction: false,
        });
        self.added.push(nd);
        self.placements.len() - 1
    }
}

/// Every refusal, not just the first: libvirt stops at the first problem, which makes
/// fixing a guest a loop of define-and-retry. After each error about a device, that
/// device is set aside and assignment runs again, so the list names each problem once.
/// The first diagnostic is exactly libvirt's; later ones are what remains after the
/// earlier devices are set aside. Stops at an error not tied to a device.
pub fn check_all(topology: &Topology) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut topo = topology.clone();
    // Original index of each device still in `topo`.
    let mut index: Vec<usize> = (0..topology.devices.len()).collect();
    while let Err(mut d) = assign(&topo) {
        let Some(i) = d.device else {
            out.push(d);
            break;
        };
        d.device = Some(index[i]);
        out.push(d);
        topo.devices.remove(i);
        index.remove(i);
        if out.len() >= 100 {
            break;
        }
    }
    out
}

/// Runs libvirt's address assignment on a topology.
pub fn assign(topology: &Topology) -> Result<Plan, Diagnostic> {
    Assigner::new(topology).run()
}
