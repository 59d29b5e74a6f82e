//! The tree view model: the topology arranged as PCI buses, their occupied slots and
//! the devices in them, plus the devices that are not (yet) in the tree. The `tree`
//! text and JSON renderers and the TUI all draw from this one structure.
//!
//! Every device that has a PCI address ends up somewhere in the view: in the tree, or
//! in [`TreeView::dangling`] with the reason it could not be attached. Building the
//! view never fails; judging whether libvirt would accept the layout is the job of the
//! diagnostics, not of this module.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use super::address::{Address, PciAddr};
use super::chipset::{ChipsetFunction, chipset};
use super::device::{Kind, SlotClass};
use super::machine::Machine;
use super::pci::PciModel;
use super::topology::{Device, Origin, PciController, Topology};

/// The whole view of one guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeView {
    /// Domain name.
    pub name: String,
    /// The machine.
    pub machine: Machine,
    /// The root bus (index 0); `None` when the machine has no PCI root and the XML
    /// names none.
    pub root: Option<BusNode>,
    /// Devices on the virtio-mmio transport, in document order.
    pub virtio_mmio: Vec<DeviceNode>,
    /// PCI devices that have no PCI address yet (libvirt will pick one), and PCI
    /// hostdevs with `<address type='unassigned'/>`, in document order.
    pub unassigned: Vec<DeviceNode>,
    /// Devices with a PCI address that cannot be attached to the tree, in document order.
    pub dangling: Vec<Dangling>,
}

/// One PCI bus: the root, or the bus behind a PCI controller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusNode {
    /// The controller index, which is what `bus=` means in libvirt addresses.
    pub index: u32,
    /// The controller's settings (for an implicit root, a bare controller of its model).
    pub controller: PciController,
    /// True when the XML has no controller for this bus and libvirt adds it (the root).
    pub implicit: bool,
    /// The controller element, when there is one.
    pub origin: Option<Origin>,
    /// Whether its slots accept hotplug (the model's capability and `hotplug='off'`).
    pub hotplug: bool,
    /// Occupied addresses in (slot, function) order.
    pub slots: Vec<SlotNode>,
    /// Usable slots (within the model's slot range) with no function occupied.
    pub free_slots: Vec<u8>,
}

impl BusNode {
    /// The controller model.
    pub fn model(&self) -> PciModel {
        self.controller.model
    }

    /// True for a one-slot port (root or downstream port) with nothing behind it:
    /// the places a device can be hot-plugged on a PCI Express guest.
    pub fn is_empty_port(&self) -> bool {
        self.controller.model.is_port() && self.slots.is_empty()
    }
}

/// One occupied PCI address on a bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotNode {
    /// The address (its `bus` is the bus index).
    pub addr: PciAddr,
    /// The chipset function fixed at this address (`Some` means locked: the user
    /// cannot move what is there).
    pub chipset: Option<&'static str>,
    /// The device at this address; `None` for a chipset function with no element in
    /// the XML (the LPC bridge, the host bridge, ...).
    pub device: Option<DeviceNode>,
}

impl SlotNode {
    /// True when the address belongs to the machine's chipset.
    pub fn locked(&self) -> bool {
        self.chipset.is_some()
    }
}

/// One device element, as the tree shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceNode {
    /// The element.
    pub origin: Origin,
    /// 1-based source line.
    pub line: u32,
    /// Device kind.
    pub kind: Kind,
    /// The element's `type` as written (controller type, hostdev type, ...).
    pub ty: Option<String>,
    /// Short label for people: `pcie-root-port #1` for PCI controllers, otherwise
    /// [`Device::describe`] (`disk virtio (vda)`).
    pub label: String,
    /// The model after libvirt's defaults.
    pub model: Option<String>,
    /// The QEMU device it becomes, when known.
    pub qemu_device: Option<String>,
    /// Disk target, MAC address or another identifier.
    pub name: Option<String>,
    /// Controller index (PCI controllers and other controllers).
    pub index: Option<u32>,
    /// The PCI address as written (`None` without one or for a bare request).
    pub pci: Option<PciAddr>,
    /// `multifunction` as written.
    pub multifunction: Option<bool>,
    /// The address type as written (`pci`, `virtio-mmio`, `unassigned`, ...).
    pub address_type: Option<String>,
    /// The settings when the device is a PCI controller.
    pub controller: Option<PciController>,
    /// The bus behind it, when it is a PCI controller whose bus could be expanded here.
    pub bus: Option<Box<BusNode>>,
}

/// A device with a PCI address that has no place in the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dangling {
    /// The device (with its own bus, if it is a controller).
    pub device: DeviceNode,
    /// Why it is not in the tree.
    pub problem: Problem,
}

/// Why a device is not in the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Its address names a bus index no PCI controller has.
    NoController(u32),
    /// The machine has no PCI root bus.
    NoRoot,
    /// Its address is taken by another device, which is shown in the tree.
    Conflict {
        /// The contested address.
        addr: PciAddr,
        /// Label of the device that holds it.
        with: String,
    },
    /// Its address belongs to a chipset function.
    Reserved {
        /// The address.
        addr: PciAddr,
        /// The chipset function.
        chipset: &'static str,
    },
    /// Another PCI controller already has its index; the bus is shown under that one.
    DuplicateIndex(u32),
    /// Its bus exists but is not connected to the root (the controllers form a loop).
    Unreachable(u32),
    /// It names a PCI domain other than 0, which QEMU guests do not have.
    Domain(u32),
}

impl Problem {
    /// A stable identifier for JSON.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::NoController(_) => "no-controller",
            Problem::NoRoot => "no-root",
            Problem::Conflict { .. } => "conflict",
            Problem::Reserved { .. } => "reserved",
            Problem::DuplicateIndex(_) => "duplicate-index",
            Problem::Unreachable(_) => "unreachable",
            Problem::Domain(_) => "domain",
        }
    }

    /// A short explanation for people.
    pub fn message(&self) -> String {
        match self {
            Problem::NoController(b) => format!("no PCI controller has index {b}"),
            Problem::NoRoot => "the machine has no PCI root bus".into(),
            Problem::Conflict { with, .. } => format!("address taken by {with}"),
            Problem::Reserved { chipset, .. } => format!("address reserved for the {chipset}"),
            Problem::DuplicateIndex(i) => format!("another PCI controller already has index {i}"),
            Problem::Unreachable(b) => format!("bus {b:02x} is not connected to the root bus"),
            Problem::Domain(d) => format!("PCI domain {d:04x}: QEMU guests only have domain 0000"),
        }
    }
}

/// Builds the view of `topology`.
pub fn tree_view(topology: &Topology) -> TreeView {
    Builder::new(topology).build()
}

/// The QEMU device of a virtio device on the virtio-mmio transport: the `-device`
/// flavour of its PCI device (`virtio-blk-pci` becomes `virtio-blk-device`).
fn mmio_qemu_device(pci: &str) -> Option<String> {
    match pci {
        // The VGA-compatible variant only exists on PCI; on mmio it is the plain GPU.
        "virtio-vga" => Some("virtio-gpu-device".into()),
        _ => pci
            .strip_suffix("-pci")
            .map(|base| format!("{base}-device")),
    }
}

/// [`Device::describe`], plus the `type` for inputs and hostdevs, which have no model
/// and would otherwise read as a bare `input` or `hostdev`.
fn label(dev: &Device, machine: &Machine) -> String {
    if hostdev_interface(dev) {
        return match &dev.name {
            Some(mac) => format!("interface hostdev ({mac})"),
            None => "interface hostdev".into(),
        };
    }
    let described = dev.describe(machine);
    let tag = dev.kind.tag();
    match (&dev.ty, dev.kind, described.strip_prefix(tag)) {
        (Some(ty), Kind::Input | Kind::Hostdev, Some(rest)) => format!("{tag} {ty}{rest}"),
        // The model does not keep the name of elements it does not know.
        (_, Kind::Unknown, Some(rest)) => format!("unknown element{rest}"),
        _ => described,
    }
}

/// `<interface type='hostdev'>` without a model: a VF passed through, which gets no
/// default NIC model from libvirt ([`Device::effective_model`] would say rtl8139).
fn hostdev_interface(dev: &Device) -> bool {
    dev.kind == Kind::Interface && dev.ty.as_deref() == Some("hostdev") && dev.model.is_none()
}

/// Whether a device belongs in a PCI slot at all, for the "unassigned" section.
fn pci_capable(dev: &Device, machine: &Machine) -> bool {
    match &dev.pci {
        // The root at index 0 is the tree itself, not something waiting for a slot.
        Some(p) => !(p.model.is_root() && dev.index == Some(0)),
        None => dev.facts(machine).slot != SlotClass::None,
    }
}

struct Builder<'a> {
    topo: &'a Topology,
    placed: Vec<bool>,
    /// Bus indexes whose subtree was built (guards against controller loops).
    expanded: BTreeSet<u32>,
    /// Bus index to the first PCI controller (document order) with that index.
    owner: BTreeMap<u32, usize>,
    /// PCI controllers that repeat an index already owned by an earlier one.
    duplicates: BTreeSet<usize>,
    /// Devices with a domain-0 PCI address, by bus index, in document order.
    on_bus: BTreeMap<u32, Vec<usize>>,
    dangling: Vec<(usize, Dangling)>,
}

impl<'a> Builder<'a> {
    fn new(topo: &'a Topology) -> Builder<'a> {
        let mut owner = BTreeMap::new();
        let mut duplicates = BTreeSet::new();
        let mut on_bus: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for (i, d) in topo.devices.iter().enumerate() {
            if let (Some(_), Some(index)) = (&d.pci, d.index) {
                match owner.entry(index) {
                    Entry::Vacant(e) => {
                        e.insert(i);
                    }
                    Entry::Occupied(_) => {
                        duplicates.insert(i);
                    }
                }
            }
            if let Some(a) = d.pci_addr()
                && a.domain == 0
            {
                on_bus.entry(a.bus).or_default().push(i);
            }
        }
        // A root written without `index` is the root: libvirt gives a controller with
        // no index the lowest free one, which is 0 when nothing else claims it.
        if !owner.contains_key(&0)
            && let Some(i) = topo
                .devices
                .iter()
                .position(|d| d.index.is_none() && d.is_pci_root())
        {
            owner.insert(0, i);
        }
        Builder {
            topo,
            placed: vec![false; topo.devices.len()],
            expanded: BTreeSet::new(),
            owner,
            duplicates,
            on_bus,
            dangling: Vec::new(),
        }
    }

    fn build(mut self) -> TreeView {
        let root = self.root();
        let mut virtio_mmio = Vec::new();
        let mut unassigned = Vec::new();
        let machine = &self.topo.machine;
        for i in 0..self.topo.devices.len() {
            let d = &self.topo.devices[i];
            if self.placed[i] || self.duplicates.contains(&i) {
                continue;
            }
            match &d.address {
                Some(Address::VirtioMmio) => virtio_mmio.push(self.device_node(i)),
                None | Some(Address::PciRequest | Address::Unassigned)
                    if pci_capable(d, machine) =>
                {
                    unassigned.push(self.device_node(i));
                }
                _ => {}
            }
        }
        self.dangle_rest();
        self.dangling.sort_by_key(|(i, _)| *i);
        TreeView {
            name: self.topo.name.clone(),
            machine: self.topo.machine.clone(),
            root,
            virtio_mmio,
            unassigned,
            dangling: self.dangling.into_iter().map(|(_, d)| d).collect(),
        }
    }

    /// The root bus: controller 0 as written, else the one libvirt adds.
    fn root(&mut self) -> Option<BusNode> {
        match self.owner.get(&0).copied() {
            Some(i) => {
                self.placed[i] = true;
                let d = &self.topo.devices[i];
                let controller = d.pci.clone()?;
                Some(self.bus(0, controller, false, Some(d.origin)))
            }
            None => {
                let model = self.topo.default_root()?;
                Some(self.bus(0, PciController::new(model), true, None))
            }
        }
    }

    fn bus(
        &mut self,
        index: u32,
        controller: PciController,
        implicit: bool,
        origin: Option<Origin>,
    ) -> BusNode {
        self.expanded.insert(index);
        // Group the devices addressed to this bus by (slot, function), document order
        // within a group so the first element written wins a contested address.
        let mut groups: BTreeMap<(u8, u8), Vec<usize>> = BTreeMap::new();
        for &i in self.on_bus.get(&index).map(Vec::as_slice).unwrap_or(&[]) {
            if !self.placed[i]
                && !self.duplicates.contains(&i)
                && let Some(a) = self.topo.devices[i].pci_addr()
            {
                groups.entry((a.slot, a.function)).or_default().push(i);
            }
        }
        let mut slots = Vec::new();
        if index == 0 {
            for cf in chipset(self.topo.machine.class) {
                if self.replaced(cf) {
                    continue;
                }
                let group = groups
                    .remove(&(cf.addr.slot, cf.addr.function))
                    .unwrap_or_default();
                let slot = self.chipset_slot(cf, group);
                slots.push(slot);
            }
        }
        for ((slot, function), group) in groups {
            let addr = PciAddr::new(index, slot, function);
            let mut members = group.into_iter().filter(|&i| !self.placed[i]);
            let Some(first) = members.next() else {
                continue;
            };
            let rest: Vec<usize> = members.collect();
            let device = self.device_node(first);
            for i in rest {
                let problem = Problem::Conflict {
                    addr,
                    with: device.label.clone(),
                };
                self.dangle(i, problem);
            }
            slots.push(SlotNode {
                addr,
                chipset: None,
                device: Some(device),
            });
        }
        slots.sort_by_key(|s| (s.addr.slot, s.addr.function));
        let occupied: BTreeSet<u8> = slots.iter().map(|s| s.addr.slot).collect();
        let (lo, hi) = controller.model.info().slots;
        let free_slots = (lo..=hi).filter(|s| !occupied.contains(s)).collect();
        BusNode {
            index,
            hotplug: controller.hotpluggable(),
            controller,
            implicit,
            origin,
            slots,
            free_slots,
        }
    }

    /// True when the XML element that would stand for `cf` is there but is something
    /// else (USB index 0 as qemu-xhci or `none` on i440fx): then the function does not
    /// exist and its address is an ordinary free one.
    fn replaced(&self, cf: &ChipsetFunction) -> bool {
        let Some((kind, ty, index)) = cf.xml else {
            return false;
        };
        self.topo.devices.iter().any(|d| {
            d.kind == kind
                && d.ty.as_deref() == Some(ty)
                && d.index.unwrap_or(0) == index
                && !cf.stands_for(d, &self.topo.machine)
        })
    }

    /// A chipset function's slot: the XML element standing for it (addressed there,
    /// or without an address, since libvirt pins it there anyway), else the bare
    /// function. Anything else addressed there is dangling.
    fn chipset_slot(&mut self, cf: &ChipsetFunction, group: Vec<usize>) -> SlotNode {
        let machine = &self.topo.machine;
        let devices = &self.topo.devices;
        let stands = |i: &usize| cf.stands_for(&devices[*i], machine);
        let holder = group
            .iter()
            .copied()
            .find(|i| !self.placed[*i] && stands(i))
            .or_else(|| {
                (0..devices.len()).find(|i| {
                    !self.placed[*i]
                        && !self.duplicates.contains(i)
                        && matches!(devices[*i].address, None | Some(Address::PciRequest))
                        && stands(i)
                })
            });
        let device = holder.map(|i| self.device_node(i));
        for i in group {
            if !self.placed[i] {
                let problem = Problem::Reserved {
                    addr: cf.addr,
                    chipset: cf.name,
                };
                self.dangle(i, problem);
            }
        }
        SlotNode {
            addr: cf.addr,
            chipset: Some(cf.name),
            device,
        }
    }

    fn dangle(&mut self, i: usize, problem: Problem) {
        let device = self.device_node(i);
        self.dangling.push((i, Dangling { device, problem }));
    }

    /// Everything with a PCI address that the tree did not reach. Root causes first
    /// (missing controller, duplicate index, foreign domain), so that a controller
    /// hanging off a missing bus takes its own devices along; then whatever is left,
    /// which sits behind controllers that loop among themselves.
    fn dangle_rest(&mut self) {
        let has_root = self.owner.contains_key(&0) || self.topo.default_root().is_some();
        for i in 0..self.topo.devices.len() {
            if self.placed[i] {
                continue;
            }
            let d = &self.topo.devices[i];
            let addr = d.pci_addr();
            let problem = if self.duplicates.contains(&i) {
                d.index.map(Problem::DuplicateIndex)
            } else {
                match addr {
                    Some(a) if a.domain != 0 => Some(Problem::Domain(a.domain)),
                    Some(a) if a.bus == 0 && !has_root => Some(Problem::NoRoot),
                    Some(a) if a.bus != 0 && !self.owner.contains_key(&a.bus) => {
                        Some(Problem::NoController(a.bus))
                    }
                    _ => None,
                }
            };
            if let Some(p) = problem {
                self.dangle(i, p);
            }
        }
        for i in 0..self.topo.devices.len() {
            if !self.placed[i]
                && let Some(a) = self.topo.devices[i].pci_addr()
            {
                self.dangle(i, Problem::Unreachable(a.bus));
            }
        }
    }

    /// The node for device `i`, marked placed, with its bus when it owns one that
    /// has not been expanded elsewhere.
    fn device_node(&mut self, i: usize) -> DeviceNode {
        self.placed[i] = true;
        let d = &self.topo.devices[i];
        let machine = &self.topo.machine;
        let facts = d.facts(machine);
        let mmio = matches!(d.address, Some(Address::VirtioMmio));
        let qemu_device = if mmio {
            mmio_qemu_device(&facts.qemu)
        } else {
            Some(facts.qemu).filter(|q| !q.is_empty())
        };
        let label = match (&d.pci, d.index) {
            (Some(p), Some(index)) => format!("{} #{index}", p.model.name()),
            (Some(p), None) => p.model.name().to_string(),
            (None, _) => label(d, machine),
        };
        let (pci, multifunction, address_type) = match &d.address {
            Some(Address::Pci {
                addr,
                multifunction,
            }) => (Some(*addr), *multifunction, Some("pci".to_string())),
            Some(Address::PciRequest) => (None, None, Some("pci".to_string())),
            Some(Address::VirtioMmio) => (None, None, Some("virtio-mmio".to_string())),
            Some(Address::Unassigned) => (None, None, Some("unassigned".to_string())),
            Some(Address::Other(t)) => (None, None, Some(t.clone())),
            None => (None, None, None),
        };
        let mut node = DeviceNode {
            origin: d.origin,
            line: d.line,
            kind: d.kind,
            ty: d.ty.clone(),
            label,
            model: if hostdev_interface(d) {
                None
            } else {
                d.effective_model(machine)
            },
            qemu_device,
            name: d.name.clone(),
            index: d.index,
            pci,
            multifunction,
            address_type,
            controller: d.pci.clone(),
            bus: None,
        };
        if let (Some(p), Some(index)) = (&d.pci, d.index)
            && self.owner.get(&index) == Some(&i)
            && !self.expanded.contains(&index)
        {
            let bus = self.bus(index, p.clone(), false, Some(d.origin));
            node.bus = Some(Box::new(bus));
        }
        node
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topo(machine: &str, arch: &str, devices: Vec<Device>) -> Topology {
        Topology {
            name: "t".into(),
            machine: Machine::new(arch, machine),
            devices,
            acpi: true,
            efi: false,
            numa_cells: 0,
            settings: Default::default(),
            platform: Default::default(),
        }
    }

    fn dev(n: u32, kind: Kind) -> Device {
        let mut d = Device::new(Origin(n), kind);
        d.line = n;
        d
    }

    fn at(mut d: Device, bus: u32, slot: u8, function: u8) -> Device {
        d.address = Some(Address::Pci {
            addr: PciAddr::new(bus, slot, function),
            multifunction: None,
        });
        d
    }

    fn pci_ctl(n: u32, index: u32, model: PciModel) -> Device {
        let mut d = dev(n, Kind::Controller);
        d.ty = Some("pci".into());
        d.index = Some(index);
        d.model = Some(model.name().into());
        d.pci = Some(PciController::new(model));
        d
    }

    fn disk(n: u32, target: &str) -> Device {
        let mut d = dev(n, Kind::Disk);
        d.ty = Some("disk".into());
        d.bus = Some("virtio".into());
        d.name = Some(target.into());
        d
    }

    fn slot(bus: &BusNode, s: u8, f: u8) -> &SlotNode {
        bus.slots
            .iter()
            .find(|x| (x.addr.slot, x.addr.function) == (s, f))
            .unwrap_or_else(|| panic!("no slot {s:02x}.{f} on bus {}", bus.index))
    }

    #[test]
    fn disk_behind_a_root_port_is_in_the_port_bus() {
        let t = topo(
            "pc-q35-7.2",
            "x86_64",
            vec![
                pci_ctl(1, 0, PciModel::PcieRoot),
                at(pci_ctl(2, 1, PciModel::PcieRootPort), 0, 2, 0),
                at(disk(3, "vda"), 1, 0, 0),
            ],
        );
        let v = tree_view(&t);
        let root = v.root.as_ref().expect("q35 has a root");
        assert!(!root.implicit);
        let port = slot(root, 2, 0)
            .device
            .as_ref()
            .expect("root port at 00:02.0");
        assert_eq!(port.label, "pcie-root-port #1");
        assert_eq!(port.qemu_device.as_deref(), Some("pcie-root-port"));
        let bus = port.bus.as_ref().expect("root port has a bus");
        assert_eq!(bus.index, 1);
        let d = slot(bus, 0, 0).device.as_ref().expect("disk at 01:00.0");
        assert_eq!(d.label, "disk virtio (vda)");
        assert_eq!(d.qemu_device.as_deref(), Some("virtio-blk-pci"));
        assert_eq!(d.pci.map(|a| a.bdf()), Some("01:00.0".into()));
        assert!(!bus.is_empty_port());
        assert!(bus.free_slots.is_empty());
        assert!(v.dangling.is_empty() && v.unassigned.is_empty());
    }

    #[test]
    fn empty_root_port_is_a_hotplug_slot_unless_turned_off() {
        let mut off = at(pci_ctl(2, 2, PciModel::PcieRootPort), 0, 2, 1);
        if let Some(p) = off.pci.as_mut() {
            p.hotplug = Some(false);
        }
        let t = topo(
            "q35",
            "x86_64",
            vec![at(pci_ctl(1, 1, PciModel::PcieRootPort), 0, 2, 0), off],
        );
        let v = tree_view(&t);
        let root = v.root.as_ref().expect("implicit root");
        assert!(root.implicit);
        assert_eq!(root.model(), PciModel::PcieRoot);
        let on = slot(root, 2, 0)
            .device
            .as_ref()
            .and_then(|d| d.bus.as_ref())
            .expect("bus 1");
        assert!(on.is_empty_port() && on.hotplug);
        assert_eq!(on.free_slots, vec![0]);
        let off = slot(root, 2, 1)
            .device
            .as_ref()
            .and_then(|d| d.bus.as_ref())
            .expect("bus 2");
        assert!(off.is_empty_port() && !off.hotplug);
    }

    #[test]
    fn q35_chipset_is_locked_and_sata0_takes_its_place() {
        let mut sata = dev(1, Kind::Controller);
        sata.ty = Some("sata".into());
        sata.index = Some(0);
        let t = topo("q35", "x86_64", vec![sata]);
        let v = tree_view(&t);
        let root = v.root.as_ref().expect("root");
        let addrs: Vec<String> = root.slots.iter().map(|s| s.addr.bdf()).collect();
        assert_eq!(addrs, ["00:00.0", "00:1f.0", "00:1f.2", "00:1f.3"]);
        assert!(root.slots.iter().all(SlotNode::locked));
        let s = slot(root, 0x1f, 2).device.as_ref().expect("sata at 1f.2");
        assert_eq!(s.label, "sata controller #0");
        assert_eq!(s.pci, None, "the XML gave it no address");
        assert!(v.unassigned.is_empty());
        // Slot 0 is outside pcie-root's usable range and 0x1f is taken.
        assert_eq!(root.free_slots.len(), 30);
        assert!(!root.free_slots.contains(&0x1f));
    }

    #[test]
    fn i440fx_usb0_is_locked_only_as_piix3_uhci() {
        let mut uhci = dev(1, Kind::Controller);
        uhci.ty = Some("usb".into());
        uhci.index = Some(0);
        let mut xhci = uhci.clone();
        xhci.origin = Origin(2);
        xhci.model = Some("qemu-xhci".into());
        let v = tree_view(&topo("pc", "x86_64", vec![uhci]));
        let root = v.root.as_ref().expect("root");
        assert_eq!(root.model(), PciModel::PciRoot);
        assert!(slot(root, 1, 2).device.is_some());
        let v = tree_view(&topo("pc", "x86_64", vec![xhci]));
        let root = v.root.as_ref().expect("root");
        // No UHCI, so 00:01.2 is not part of the machine: not locked, not listed.
        assert!(root.slots.iter().all(|s| s.addr != PciAddr::new(0, 1, 2)));
        assert_eq!(v.unassigned.len(), 1);
    }

    #[test]
    fn device_on_a_missing_bus_dangles_with_its_children() {
        let t = topo(
            "q35",
            "x86_64",
            vec![
                at(disk(1, "vda"), 3, 0, 0),
                at(pci_ctl(2, 3, PciModel::PcieRootPort), 7, 0, 0),
                at(disk(3, "vdb"), 9, 0, 0),
            ],
        );
        let v = tree_view(&t);
        assert_eq!(v.dangling.len(), 2);
        assert_eq!(v.dangling[0].problem, Problem::NoController(7));
        let bus = v.dangling[0]
            .device
            .bus
            .as_ref()
            .expect("the port keeps its bus");
        assert_eq!(slot(bus, 0, 0).device.as_ref().map(|d| d.line), Some(1));
        assert_eq!(v.dangling[1].problem, Problem::NoController(9));
        assert_eq!(v.dangling[1].device.name.as_deref(), Some("vdb"));
    }

    #[test]
    fn conflicts_and_loops_never_drop_a_device() {
        let t = topo(
            "q35",
            "x86_64",
            vec![
                at(disk(1, "vda"), 0, 3, 0),
                at(disk(2, "vdb"), 0, 3, 0),
                at(disk(3, "vdc"), 0, 0x1f, 0),
                // Two controllers behind each other, neither reachable from the root.
                at(pci_ctl(4, 4, PciModel::PcieRootPort), 5, 0, 0),
                at(pci_ctl(5, 5, PciModel::PcieRootPort), 4, 0, 0),
                at(pci_ctl(6, 4, PciModel::PcieRootPort), 0, 4, 0),
            ],
        );
        let v = tree_view(&t);
        let root = v.root.as_ref().expect("root");
        assert_eq!(
            slot(root, 3, 0)
                .device
                .as_ref()
                .and_then(|d| d.name.as_deref()),
            Some("vda")
        );
        assert!(slot(root, 0x1f, 0).device.is_none());
        let problems: Vec<&str> = v.dangling.iter().map(|d| d.problem.code()).collect();
        assert_eq!(
            problems,
            ["conflict", "reserved", "unreachable", "duplicate-index"]
        );
        // The loop shows up once: controller 4 with controller 5 behind it.
        let looped = &v.dangling[2].device;
        let inner = looped
            .bus
            .as_ref()
            .and_then(|b| b.slots.first())
            .and_then(|s| s.device.as_ref());
        assert_eq!(inner.and_then(|d| d.index), Some(5));
        assert!(inner.is_some_and(|d| d.bus.as_ref().is_some_and(|b| b.slots.is_empty())));
    }

    #[test]
    fn virtio_mmio_and_unaddressed_devices_get_their_sections() {
        let mut mmio = disk(1, "vda");
        mmio.address = Some(Address::VirtioMmio);
        let mut req = disk(2, "vdb");
        req.address = Some(Address::PciRequest);
        let mut sata_disk = disk(3, "sda");
        sata_disk.bus = Some("sata".into());
        let t = topo(
            "virt",
            "aarch64",
            vec![mmio, req, sata_disk, dev(4, Kind::Graphics)],
        );
        let v = tree_view(&t);
        assert_eq!(v.virtio_mmio.len(), 1);
        assert_eq!(
            v.virtio_mmio[0].qemu_device.as_deref(),
            Some("virtio-blk-device")
        );
        let names: Vec<_> = v.unassigned.iter().map(|d| d.name.as_deref()).collect();
        assert_eq!(names, [Some("vdb")]);
        assert!(
            v.root
                .as_ref()
                .is_some_and(|r| r.slots.is_empty() && r.free_slots.len() == 31)
        );
    }

    #[test]
    fn hostdev_interface_has_no_default_model() {
        let mut vf = at(dev(1, Kind::Interface), 0, 3, 0);
        vf.ty = Some("hostdev".into());
        vf.name = Some("52:54:00:00:00:01".into());
        let v = tree_view(&topo("q35", "x86_64", vec![vf]));
        let d = v
            .root
            .as_ref()
            .and_then(|r| slot(r, 3, 0).device.clone())
            .expect("VF at 00:03.0");
        assert_eq!(d.label, "interface hostdev (52:54:00:00:00:01)");
        assert_eq!(
            (d.model, d.qemu_device.as_deref()),
            (None, Some("vfio-pci"))
        );
    }

    #[test]
    fn root_without_index_is_the_root() {
        let mut root = pci_ctl(1, 0, PciModel::PcieRoot);
        root.index = None;
        let v = tree_view(&topo("virt", "riscv64", vec![root]));
        assert!(
            v.root
                .as_ref()
                .is_some_and(|r| !r.implicit && r.origin == Some(Origin(1)))
        );
        assert!(v.unassigned.is_empty());
    }

    #[test]
    fn machine_without_pci_leaves_addressed_devices_dangling() {
        let t = topo("isapc", "x86_64", vec![at(disk(1, "vda"), 0, 3, 0)]);
        let v = tree_view(&t);
        assert!(v.root.is_none());
        assert_eq!(v.dangling.len(), 1);
        assert_eq!(v.dangling[0].problem, Problem::NoRoot);
    }
}
