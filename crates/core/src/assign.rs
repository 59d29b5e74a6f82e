//! PCI address assignment as libvirt's QEMU driver does it when a guest is defined:
//! implicit devices, controller indexes, a dry-run pass that decides which controllers
//! must be added, the real pass that places everything, and the controller defaults.
//!
//! The result is a [`Plan`]: what to add and what to fill in. The libvirt layer writes
//! it into the document; nothing here touches XML.

use super::address::{Address, PciAddr};
use super::chipset::{self, ChipsetFunction, Preferred};
use super::device::{Kind, SlotClass, VirtioForm};
use super::diag::Diagnostic;
use super::machine::{Arch, MachineClass};
use super::pci::{Flags, PciModel};
use super::topology::{Device, Origin, PciController, Topology};
use crate::diag::Code;

/// Which device an entry of the plan is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// `Topology::devices[i]`.
    Existing(usize),
    /// `Plan::added[i]`.
    Added(usize),
}

/// A device libvirt adds to the domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDevice {
    /// Kind (element name).
    pub kind: Kind,
    /// `type=` for controllers.
    pub ty: Option<String>,
    /// The model to write.
    pub model: Option<String>,
    /// Controller index.
    pub index: Option<u32>,
    /// Why it was added, for people.
    pub reason: &'static str,
}

impl NewDevice {
    /// The device as the model holds it, with the given origin.
    pub fn device(&self, origin: super::topology::Origin) -> Device {
        let mut d = Device::new(origin, self.kind);
        d.ty = self.ty.clone();
        d.model = self.model.clone();
        d.index = self.index;
        if self.kind == Kind::Controller
            && self.ty.as_deref() == Some("pci")
            && let Some(m) = self.model.as_deref().and_then(PciModel::from_name)
        {
            d.pci = Some(PciController::new(m));
        }
        d
    }
}

/// `<target>` and `<model name>` values of a PCI controller that were filled in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ControllerFill {
    /// `<model name>`.
    pub model_name: Option<String>,
    /// `chassisNr`.
    pub chassis_nr: Option<u32>,
    /// `chassis`.
    pub chassis: Option<u32>,
    /// `port`.
    pub port: Option<u32>,
    /// `busNr`.
    pub bus_nr: Option<u32>,
}

impl ControllerFill {
    fn is_empty(&self) -> bool {
        *self == ControllerFill::default()
    }
}

/// What to write for one device.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fill {
    /// Controller index, when it was missing.
    pub index: Option<u32>,
    /// The PCI address, when it was missing.
    pub address: Option<PciAddr>,
    /// `multifunction='on'` must be written on the (new or existing) address.
    pub multifunction: bool,
    /// The device goes on virtio-mmio.
    pub virtio_mmio: bool,
    /// PCI controller settings that were missing.
    pub controller: ControllerFill,
}

impl Fill {
    /// Writes what this fill decides onto the model of the device (what the libvirt
    /// layer writes into the XML), for analyses of the guest as libvirt will define it.
    pub fn apply_to(&self, d: &mut Device) {
        if let Some(idx) = self.index {
            d.index = Some(idx);
        }
        if let Some(addr) = self.address {
            let mf = match &d.address {
                Some(Address::Pci { multifunction, .. }) => *multifunction,
                _ => None,
            };
            d.address = Some(Address::Pci {
                addr,
                multifunction: if self.multifunction { Some(true) } else { mf },
            });
        } else if self.multifunction
            && let Some(Address::Pci { multifunction, .. }) = &mut d.address
        {
            *multifunction = Some(true);
        }
        if self.virtio_mmio && d.address.is_none() {
            d.address = Some(Address::VirtioMmio);
        }
        if let Some(p) = d.pci.as_mut() {
            let c = &self.controller;
            if c.model_name.is_some() {
                p.model_name = c.model_name.clone();
            }
            p.chassis_nr = c.chassis_nr.or(p.chassis_nr);
            p.chassis = c.chassis.or(p.chassis);
            p.port = c.port.or(p.port);
            p.bus_nr = c.bus_nr.or(p.bus_nr);
        }
    }
}

/// The outcome of assignment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Devices libvirt adds, in the order it adds them.
    pub added: Vec<NewDevice>,
    /// What to fill in, per device; devices with nothing to fill are absent.
    pub fills: Vec<(Target, Fill)>,
}

impl Plan {
    /// True when assignment changes nothing.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.fills.is_empty()
    }

    /// The final PCI address of a device (from the plan, or as it was).
    pub fn fill_of(&self, t: Target) -> Option<&Fill> {
        self.fills.iter().find(|(x, _)| *x == t).map(|(_, f)| f)
    }

    /// The topology libvirt defines from `t` with this plan, the one place a plan is
    /// turned into a model: every fill written onto the device it names, and the
    /// added devices after the input's, in the order libvirt adds them, with fresh
    /// origins. The input's devices keep their indices, so analyses of the result
    /// speak of them by the same index (edits file the added devices where the
    /// document will have them: `edit::define_in_file_order`).
    pub fn define(&self, t: &Topology) -> Topology {
        // Room for what libvirt adds up front: growing a vector of a thousand devices
        // would copy them all once more.
        let mut devices = Vec::with_capacity(t.devices.len() + self.added.len());
        devices.extend_from_slice(&t.devices);
        let mut out = Topology {
            devices,
            name: t.name.clone(),
            machine: t.machine.clone(),
            acpi: t.acpi,
            efi: t.efi,
            numa_cells: t.numa_cells,
            platform: t.platform,
        };
        let first = Origin::fresh(&out).0;
        for (a, nd) in self.added.iter().enumerate() {
            let origin = Origin(first.saturating_add(u32::try_from(a).unwrap_or(u32::MAX)));
            out.devices.push(nd.device(origin));
        }
        let base = t.devices.len();
        for (target, fill) in &self.fills {
            let i = match *target {
                Target::Existing(i) => i,
                Target::Added(a) => base + a,
            };
            if let Some(d) = out.devices.get_mut(i) {
                fill.apply_to(d);
            }
        }
        out
    }
}

/// One device as the assigner sees it.
#[derive(Clone, Debug)]
struct Item {
    target: Target,
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

impl Item {
    fn dev(&self) -> Option<usize> {
        match self.target {
            Target::Existing(i) => Some(i),
            Target::Added(_) => None,
        }
    }

    fn is_ctl(&self, ty: &str) -> bool {
        self.kind == Kind::Controller && self.ty.as_deref() == Some(ty)
    }

    fn pci_model(&self) -> Option<PciModel> {
        self.pci.as_ref().map(|p| p.model)
    }
}

#[derive(Clone, Debug)]
struct Bus {
    model: PciModel,
    flags: Flags,
    min_slot: u8,
    max_slot: u8,
    /// Bit i set = function i in use, per slot.
    used: [u8; 32],
    aggregate: [bool; 32],
    /// No slot below this one is completely free (slots are never freed, so it only
    /// moves up); keeps the search linear in large guests.
    first_free: u8,
}

impl Bus {
    fn new(model: PciModel, hotplug: bool) -> Bus {
        let info = model.info();
        let mut flags = info.accepts;
        if info.hotplug && hotplug {
            flags = flags.or(Flags::HOTPLUGGABLE);
        }
        Bus {
            model,
            flags,
            min_slot: info.slots.0,
            max_slot: info.slots.1,
            used: [0; 32],
            aggregate: [false; 32],
            first_free: info.slots.0,
        }
    }
}

struct Set {
    buses: Vec<Bus>,
    dry_run: bool,
    /// For each set of device flags searched so far, the first bus that may still have
    /// room for it; earlier buses never regain room.
    start: Vec<(Flags, usize)>,
}

/// Formats an address for messages, the way libvirt prints it.
fn show(a: &PciAddr) -> String {
    a.to_string()
}

impl Set {
    /// Adds buses so that `bus` exists, choosing models from what `flags` needs.
    fn grow(&mut self, bus: u32, flags: Flags) -> Result<u32, Diagnostic> {
        let n = self.buses.len() as u32;
        if bus < n {
            return Ok(bus);
        }
        let mut add = bus - n + 1;
        let model;
        let mut pcie_to_pci = false;
        if flags.has(Flags::PCI_DEVICE) {
            model = PciModel::PciBridge;
            if !self.buses.iter().any(|b| b.flags.has(Flags::PCI_BRIDGE)) {
                // A root port and a pcie-to-pci-bridge first; they count towards
                // making `bus` exist (libvirt 9.0 and 11.3: a device at 02:01 on q35
                // gets root port 1 and the bridge as bus 2, nothing more).
                pcie_to_pci = true;
                add = add.max(2);
            }
        } else if flags.any(Flags::PCIE_DEVICE.or(Flags::UPSTREAM_PORT)) {
            model = PciModel::PcieRootPort;
        } else if flags.any(Flags::PCIE_TO_PCI_BRIDGE.or(Flags::DOWNSTREAM_PORT)) {
            return Err(Diagnostic::new(
                Code::PciNoSlot,
                format!(
                    "Cannot automatically add a new PCI bus for a {}: it needs a free pcie-root-port or switch port, and libvirt adds those only for endpoints",
                    flags.slot_description()
                ),
            )
            .hint("add a pcie-root-port controller for it"));
        } else if flags.any(Flags::TYPES.without(Flags::ENDPOINTS)) {
            return Err(Diagnostic::new(
                Code::PciNoSlot,
                format!(
                    "a PCI slot is needed to connect a PCI controller model='{}', but none is available, and it cannot be automatically added",
                    flags.slot_description()
                ),
            )
            .hint("the root bus is full: use a pcie-expander-bus or a switch, or fewer controllers"));
        } else {
            return Err(Diagnostic::new(
                Code::PciNoSlot,
                "Cannot automatically add a new PCI bus for a device of this kind",
            )
            .hint("add the controller it needs by hand"));
        }
        let mut remaining = add;
        let mut device_bus = bus;
        if pcie_to_pci {
            let mut port = Bus::new(PciModel::PcieRootPort, true);
            // The port exists only to carry the bridge.
            port.flags = Flags::PCIE_TO_PCI_BRIDGE;
            self.buses.push(port);
            self.buses.push(Bus::new(PciModel::PcieToPciBridge, true));
            remaining -= 2;
            device_bus = n + 1;
        }
        for _ in 0..remaining {
            self.buses.push(Bus::new(model, true));
        }
        if pcie_to_pci {
            Ok(device_bus.max(bus))
        } else {
            Ok(bus)
        }
    }

    /// libvirt's compatibility test between a device's and a bus's flags.
    fn compatible(
        &self,
        addr: &PciAddr,
        dev: Flags,
        from_config: bool,
        fail: bool,
    ) -> Result<bool, Diagnostic> {
        let bus = &self.buses[addr.bus as usize];
        let mut bf = bus.flags;
        let mut df = dev;
        if df.has(Flags::INTEGRATED) {
            if addr.bus == 0 {
                bf = bf.or(Flags::AUTOASSIGN).or(Flags::PCI_DEVICE);
            } else {
                return if fail {
                    Err(Diagnostic::new(
                        Code::PciIntegrated,
                        format!("The device at PCI address {} needs to be an integrated device (bus=0)", show(addr)),
                    )
                    .hint("put it on bus 0 (the root bus), or remove its address and let it be assigned"))
                } else {
                    Ok(false)
                };
            }
        }
        if from_config {
            if bf.any(Flags::ENDPOINTS) {
                bf = bf.or(Flags::ENDPOINTS);
            }
            if df.has(Flags::PCI_BRIDGE) {
                df = df.or(Flags::PCI_DEVICE);
            }
        } else if df.has(Flags::AUTOASSIGN) && !bf.has(Flags::AUTOASSIGN) {
            return if fail {
                Err(Diagnostic::new(
                    Code::PciIncompatibleSlot,
                    format!(
                        "The device at PCI address {} was auto-assigned this address, but the PCI controller with index='{}' doesn't allow auto-assignment",
                        show(addr),
                        addr.bus
                    ),
                ))
            } else {
                Ok(false)
            };
        }
        if !df.and(bf).any(Flags::TYPES) {
            return if fail {
                Err(Diagnostic::new(
                    Code::PciIncompatibleSlot,
                    format!(
                        "The device at PCI address {} cannot be plugged into the PCI controller with index='{}'. It requires a controller that accepts a {}.",
                        show(addr),
                        addr.bus,
                        df.slot_description()
                    ),
                )
                .hint(format!(
                    "controller {} is a {}; move the device to a controller that accepts a {}",
                    addr.bus,
                    bus.model.name(),
                    df.slot_description()
                )))
            } else {
                Ok(false)
            };
        }
        Ok(true)
    }

    fn validate(&self, addr: &PciAddr) -> Result<(), Diagnostic> {
        if self.buses.is_empty() {
            return Err(Diagnostic::new(
                Code::PciBusMissing,
                "No PCI buses available",
            ));
        }
        if addr.domain != 0 {
            return Err(Diagnostic::new(
                Code::PciDomain,
                format!(
                    "Invalid PCI address {}. Only PCI domain 0 is available",
                    show(addr)
                ),
            )
            .hint("use domain='0x0000'"));
        }
        if addr.bus as usize >= self.buses.len() {
            return Err(Diagnostic::new(
                Code::PciBusMissing,
                format!(
                    "Invalid PCI address {}. Only PCI buses up to {} are available",
                    show(addr),
                    self.buses.len() - 1
                ),
            )
            .hint(format!(
                "add a PCI controller with index='{}' or move the device",
                addr.bus
            )));
        }
        let bus = &self.buses[addr.bus as usize];
        if addr.slot < bus.min_slot {
            return Err(Diagnostic::new(
                Code::PciAddressRange,
                format!(
                    "Invalid PCI address {}. slot must be >= {}",
                    show(addr),
                    bus.min_slot
                ),
            )
            .hint(format!("controller {} is a {}", addr.bus, bus.model.name())));
        }
        if addr.slot > bus.max_slot {
            return Err(Diagnostic::new(
                Code::PciAddressRange,
                format!(
                    "Invalid PCI address {}. slot must be <= {}",
                    show(addr),
                    bus.max_slot
                ),
            )
            .hint(format!(
                "controller {} is a {}{}",
                addr.bus,
                bus.model.name(),
                if bus.max_slot == 0 {
                    " with a single slot 0"
                } else {
                    ""
                }
            )));
        }
        Ok(())
    }

    /// Reserves an address given in the config (or fixed by the chipset).
    fn reserve_config(&mut self, addr: &mut PciAddr, flags: Flags) -> Result<(), Diagnostic> {
        if self.dry_run && addr.bus as usize >= self.buses.len() {
            // libvirt writes the bus it grew onto the device's own address: a
            // conventional device at bus 1 of a q35 without controllers ends up on
            // the pcie-to-pci-bridge at bus 2 behind the new root port 1.
            addr.bus = self.grow(addr.bus, flags)?;
        }
        self.validate(addr)?;
        self.compatible(addr, flags, true, true)?;
        self.mark(addr, flags)
    }

    fn mark(&mut self, addr: &PciAddr, flags: Flags) -> Result<(), Diagnostic> {
        let bus = &mut self.buses[addr.bus as usize];
        let bit = 1u8 << addr.function;
        if bus.used[addr.slot as usize] & bit != 0 {
            return Err(Diagnostic::new(
                Code::PciDoubleUse,
                format!("Attempted double use of PCI Address {}", show(addr)),
            )
            .hint(
                "give one of the devices another slot, or remove its address to let it be assigned",
            ));
        }
        if flags.has(Flags::AGGREGATE_SLOT) {
            bus.aggregate[addr.slot as usize] = true;
        }
        bus.used[addr.slot as usize] |= bit;
        Ok(())
    }

    fn slot_free(&self, bus: u32, slot: u8) -> bool {
        self.buses[bus as usize].used[slot as usize] == 0
    }

    /// Finds the next free address for a device with `flags` (function -1 = any).
    fn next(&mut self, flags: Flags, function: Option<u8>) -> Result<PciAddr, Diagnostic> {
        if self.buses.is_empty() {
            return Err(Diagnostic::new(
                Code::PciBusMissing,
                "No PCI buses available",
            ));
        }
        let aggregate = flags.has(Flags::AGGREGATE_SLOT);
        let from = self
            .start
            .iter()
            .find(|(f, _)| *f == flags)
            .map_or(0, |(_, b)| *b);
        for b in from as u32..self.buses.len() as u32 {
            let probe = PciAddr::new(b, 0, 0);
            if !self.compatible(&probe, flags, false, false)? {
                continue;
            }
            let bus = &mut self.buses[b as usize];
            while bus.first_free <= bus.max_slot && bus.used[bus.first_free as usize] != 0 {
                bus.first_free += 1;
            }
            let first = if aggregate {
                bus.min_slot
            } else {
                bus.first_free
            };
            let mut found = None;
            for slot in first..=bus.max_slot {
                let used = bus.used[slot as usize];
                if aggregate && bus.aggregate[slot as usize] && used != 0xff {
                    let f = (0..8).find(|f| used & (1 << f) == 0).unwrap_or(0);
                    found = Some(PciAddr::new(b, slot, f));
                    break;
                }
                if used == 0 {
                    found = Some(PciAddr::new(b, slot, function.unwrap_or(0)));
                    break;
                }
            }
            if let Some(a) = found {
                match self.start.iter_mut().find(|(f, _)| *f == flags) {
                    Some(entry) => entry.1 = b as usize,
                    None => self.start.push((flags, b as usize)),
                }
                return Ok(a);
            }
        }
        if self.dry_run {
            let first_new = self.buses.len() as u32;
            let bus = self.grow(first_new, flags)?;
            let min = self.buses[bus as usize].min_slot;
            return Ok(PciAddr::new(bus, min, function.unwrap_or(0)));
        }
        Err(
            Diagnostic::new(Code::PciNoSlot, "No more available PCI slots")
                .hint("add a pcie-root-port, a pcie-to-pci-bridge or a pci-bridge controller"),
        )
    }

    fn reserve_next(&mut self, flags: Flags, function: Option<u8>) -> Result<PciAddr, Diagnostic> {
        let a = self.next(flags, function)?;
        // In the dry run growth may have placed the device on a bus whose flags
        // say otherwise (a port reserved for a bridge); libvirt does not check there.
        self.mark(&a, flags)?;
        Ok(a)
    }

    fn all_full(&self) -> bool {
        self.buses
            .iter()
            .all(|b| (b.min_slot..=b.max_slot).all(|s| b.used[s as usize] != 0))
    }
}

/// Models of USB2 companion controllers and the function each takes in its slot.
const USB2_COMPANIONS: &[(&str, u8)] = &[
    ("ich9-ehci1", 7),
    ("ich9-uhci1", 0),
    ("ich9-uhci2", 1),
    ("ich9-uhci3", 2),
];

/// The position a disk's target name gives it (`sda` 0, `sdz` 25, `sdaa` 26), as
/// libvirt numbers disks when it picks their drive address.
fn disk_index(dev: &str) -> Option<u32> {
    let rest = super::device::DISK_PREFIXES
        .iter()
        .find_map(|(p, _)| dev.strip_prefix(p))?;
    let letters = rest.trim_end_matches(|c: char| c.is_ascii_digit());
    if letters.is_empty() || !letters.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let mut idx: u32 = 0;
    for b in letters.bytes() {
        idx = idx.checked_mul(26)?.checked_add(u32::from(b - b'a') + 1)?;
    }
    Some(idx - 1)
}

/// True for the ICH9 USB2 controllers that share an index as master and companions.
fn is_usb2_model(model: Option<&str>) -> bool {
    USB2_COMPANIONS.iter().any(|(m, _)| model == Some(m))
}

/// A USB companion: it has `<master>`, or it is an ICH9 UHCI, which libvirt gives
/// `<master startport>` itself (0, 2, 4). At most one USB controller of an index is
/// not a companion (the EHCI counts as the one: `piix3-uhci` beside `ich9-ehci1` is a
/// duplicate), and some USB controller must not be one.
fn is_usb_companion(model: Option<&str>, master: bool) -> bool {
    master || (is_usb2_model(model) && model != Some("ich9-ehci1"))
}

struct Assigner<'t> {
    topo: &'t Topology,
    items: Vec<Item>,
    added: Vec<NewDevice>,
    pcie_root: bool,
    class: MachineClass,
}

fn err_on(d: Diagnostic, item: &Item) -> Diagnostic {
    let dev = item.dev();
    d.on(dev)
}

impl<'t> Assigner<'t> {
    fn new(topo: &'t Topology) -> Assigner<'t> {
        Assigner {
            topo,
            items: Vec::new(),
            added: Vec::new(),
            pcie_root: false,
            class: topo.machine.class,
        }
    }

    fn add(&mut self, nd: NewDevice, pci: Option<PciController>) -> usize {
        let t = Target::Added(self.added.len());
        self.items.push(Item {
            target: t,
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
        self.items.len() - 1
    }

    /// Builds the item list from the topology, with libvirt's post-parse defaults.
    fn prepare(&mut self) -> Result<(), Diagnostic> {
        let machine = &self.topo.machine;
        // Devices plus what libvirt may add; growing would copy every item again.
        self.items.reserve(self.topo.devices.len() + 16);
        for (i, d) in self.topo.devices.iter().enumerate() {
            let needs = d.needs(machine);
            let (addr, mf, want, mmio) = match &d.address {
                Some(Address::Pci {
                    addr,
                    multifunction,
                }) => (Some(*addr), *multifunction, false, false),
                Some(Address::PciRequest) => (None, None, true, false),
                None => (None, None, true, false),
                Some(Address::VirtioMmio) => (None, None, false, true),
                Some(_) => (None, None, false, false),
            };
            self.items.push(Item {
                target: Target::Existing(i),
                kind: d.kind,
                ty: d.ty.clone(),
                model: d.effective_model(machine),
                index: d.index,
                index_filled: false,
                pci: d.pci.clone(),
                flags: Flags::NONE,
                addr,
                mf_attr: mf,
                want: want && (needs.slot != SlotClass::None || d.pci.is_some()),
                assigned: false,
                moved: false,
                mmio,
                iface_hostdev: d.kind == Kind::Interface && d.ty.as_deref() == Some("hostdev"),
                needs_slot: needs.slot,
                virtio: needs.virtio,
                force_multifunction: false,
            });
            self.validate_virtio_model(d, i)?;
        }
        self.fill_indexes()?;
        self.add_root()?;
        self.add_implicit()?;
        Ok(())
    }

    // A (non-)transitional model off PCI is not refused here: libvirt defines such a
    // guest (it even puts transitional disks on virtio-mmio itself) and only QEMU's
    // command line is refused; see [`transitional_off_pci`].
    fn validate_virtio_model(&self, d: &Device, i: usize) -> Result<(), Diagnostic> {
        let m = d.model.as_deref().unwrap_or("");
        if !matches!(m, "virtio-transitional" | "virtio-non-transitional") {
            return Ok(());
        }
        if d.kind == Kind::Input {
            return Err(Diagnostic::new(
                Code::VirtioModel,
                format!(
                    "virtio (non-)transitional models are not supported for input type={}",
                    d.ty.as_deref().unwrap_or("")
                ),
            )
            .on(Some(i))
            .hint("virtio input devices exist only as model 'virtio'"));
        }
        Ok(())
    }

    /// Controllers without `index` get the lowest unused one of their type, in
    /// document order.
    fn fill_indexes(&mut self) -> Result<(), Diagnostic> {
        let is_usb2 = |it: &Item| {
            it.is_ctl("usb")
                && USB2_COMPANIONS
                    .iter()
                    .any(|(m, _)| it.model.as_deref() == Some(m))
        };
        // The USB controller seen last, for index-less USB2 companions: they join the
        // group of the controller before them unless that group already has their model.
        let mut last_usb: Option<usize> = None;
        for i in 0..self.items.len() {
            if self.items[i].kind != Kind::Controller {
                continue;
            }
            if self.items[i].index.is_some() {
                if self.items[i].is_ctl("usb") {
                    last_usb = Some(i);
                }
                continue;
            }
            if is_usb2(&self.items[i])
                && let Some(prev) = last_usb.filter(|&p| is_usb2(&self.items[p]))
            {
                let group = self.items[prev].index;
                let model = self.items[i].model.clone();
                let taken = self
                    .items
                    .iter()
                    .any(|o| o.is_ctl("usb") && o.index == group && o.model == model);
                if !taken {
                    self.items[i].index = group;
                    self.items[i].index_filled = true;
                    last_usb = Some(i);
                    continue;
                }
            }
            if self.items[i].is_ctl("usb") {
                last_usb = Some(i);
            }
            let ty = self.items[i].ty.clone();
            let mut n = 0;
            while self
                .items
                .iter()
                .any(|o| o.kind == Kind::Controller && o.ty == ty && o.index == Some(n))
            {
                n += 1;
            }
            self.items[i].index = Some(n);
            self.items[i].index_filled = true;
            // A PCI controller without a model becomes the root at index 0 and a
            // machine-appropriate bus elsewhere; the reader guessed before the index was known.
            if let Some(p) = &mut self.items[i].pci
                && self.topo.devices[i].model.is_none()
            {
                p.model = if n == 0 {
                    self.topo.default_root().unwrap_or(PciModel::PciRoot)
                } else if self.topo.default_root() == Some(PciModel::PcieRoot) {
                    PciModel::PcieRootPort
                } else {
                    PciModel::PciBridge
                };
            }
        }
        Ok(())
    }

    fn add_root(&mut self) -> Result<(), Diagnostic> {
        let want = self.topo.default_root();
        let existing = self
            .items
            .iter()
            .position(|i| i.pci.is_some() && i.index == Some(0));
        match (existing, want) {
            (Some(i), Some(w)) => {
                let m = self.items[i].pci_model();
                if m != Some(w) {
                    return Err(Diagnostic::new(
                        Code::ControllerRoot,
                        format!(
                            "The PCI controller with index='0' must be model='{}' for this machine type, but model='{}' was found instead",
                            w.name(),
                            m.map_or("?", |m| m.name())
                        ),
                    )
                    .on(self.items[i].dev())
                    .hint(format!("{} machines have a {} root bus", self.class.name(), w.name())));
                }
            }
            (None, Some(w)) => {
                self.add(
                    NewDevice {
                        kind: Kind::Controller,
                        ty: Some("pci".into()),
                        model: Some(w.name().into()),
                        index: Some(0),
                        reason: "the machine's PCI root bus",
                    },
                    Some(PciController::new(w)),
                );
            }
            _ => {}
        }
        self.pcie_root = self
            .items
            .iter()
            .any(|i| i.index == Some(0) && i.pci_model() == Some(PciModel::PcieRoot));
        Ok(())
    }

    fn has_ctl(&self, ty: &str, index: Option<u32>) -> bool {
        self.items
            .iter()
            .any(|i| i.is_ctl(ty) && (index.is_none() || i.index == index))
    }

    /// Adds controller `ty` at `index` with the model libvirt writes on one it adds.
    fn add_ctl(&mut self, ty: &str, index: u32, reason: &'static str) {
        let model = super::device::added_model(Kind::Controller, Some(ty), &self.topo.machine);
        self.add(
            NewDevice {
                kind: Kind::Controller,
                ty: Some(ty.into()),
                model: model.map(String::from),
                index: Some(index),
                reason,
            },
            None,
        );
    }

    /// The devices libvirt adds on its own (post-parse defaults and implicit controllers).
    fn add_implicit(&mut self) -> Result<(), Diagnostic> {
        let machine = &self.topo.machine;
        let devices = &self.topo.devices;
        // USB controller 0 unless the domain has one with index 0: other indexes do not
        // count (both releases add a default controller 0 beside a user's index 1).
        if !self.has_ctl("usb", Some(0))
            && matches!(self.class, MachineClass::Q35 | MachineClass::I440fx)
        {
            self.add_ctl("usb", 0, "default USB controller");
        }
        if self.class == MachineClass::Q35 && !self.has_ctl("sata", Some(0)) {
            self.add_ctl("sata", 0, "the q35 chipset's SATA controller");
        }
        let balloon_default = machine.arch.is_x86() || machine.arch == Arch::Riscv64;
        if balloon_default
            && self.class != MachineClass::Other
            && !devices.iter().any(|d| d.kind == Kind::Memballoon)
        {
            self.add(
                NewDevice {
                    kind: Kind::Memballoon,
                    ty: None,
                    model: super::device::added_model(Kind::Memballoon, None, machine)
                        .map(String::from),
                    index: None,
                    reason: "default memory balloon",
                },
                None,
            );
        }
        // Controllers that disks on a bus need: the drive address names the index, and
        // a disk without one goes where its target name puts it (hde is the fifth IDE
        // disk, so the second IDE controller; sdh the eighth SCSI disk, so the second
        // SCSI controller: libvirt maps seven units to each, whatever the model).
        for (bus, ty, per_controller) in
            [("scsi", "scsi", 7), ("ide", "ide", 4), ("sata", "sata", 6)]
        {
            let needed: Vec<u32> = devices
                .iter()
                .filter(|d| d.kind == Kind::Disk && d.bus.as_deref() == Some(bus))
                .filter_map(|d| match (d.addr_controller, d.address.as_ref()) {
                    // libvirt reads the drive's controller as a signed int: 2^31 and
                    // above wrap to negative numbers, which bring no controller.
                    (Some(c), _) if c > MAX_INDEX => None,
                    (Some(c), _) => Some((c, d)),
                    (None, None) if per_controller > 0 => Some((
                        d.name
                            .as_deref()
                            .and_then(disk_index)
                            .map_or(0, |i| i / per_controller),
                        d,
                    )),
                    _ => Some((0, d)),
                })
                .map(|(c, d)| {
                    if c >= MAX_DISK_CONTROLLERS {
                        let pos = devices.iter().position(|x| std::ptr::eq(x, d));
                        Err(Diagnostic::new(
                            Code::NumberTooLarge,
                            format!(
                                "the disk {} needs {ty} controller {c}, so {} {ty} controllers: more than the {MAX_DISK_CONTROLLERS} PCI slots a guest can have",
                                d.name.as_deref().unwrap_or("?"),
                                u64::from(c) + 1
                            ),
                        )
                        .on(pos)
                        .hint("libvirt adds every controller up to that index and runs out of PCI slots: use a lower drive controller or disk name"))
                    } else {
                        Ok(c)
                    }
                })
                .collect::<Result<_, _>>()?;
            // Every index up to the highest one a disk reaches, gaps included (sdz
            // alone brings SCSI controllers 0 to 3).
            let Some(&max) = needed.iter().max() else {
                continue;
            };
            // One pass over the controllers, not one per index: a disk may reach
            // thousands of indexes.
            let have: std::collections::HashSet<u32> = self
                .items
                .iter()
                .filter(|i| i.is_ctl(ty))
                .filter_map(|i| i.index)
                .collect();
            for idx in 0..=max {
                if !have.contains(&idx) {
                    self.add_ctl(ty, idx, "needed by a disk on that bus");
                }
            }
        }
        self.add_virtio_serial();
        if devices.iter().any(|d| d.kind == Kind::Graphics)
            && !devices.iter().any(|d| d.kind == Kind::Video)
        {
            self.add(
                NewDevice {
                    kind: Kind::Video,
                    ty: None,
                    model: super::device::added_model(Kind::Video, None, machine).map(String::from),
                    index: None,
                    reason: "graphics need a video device",
                },
                None,
            );
        }
        // Flags and slot classes of the added devices.
        for it in &mut self.items {
            if let Target::Added(_) = it.target
                && it.pci.is_none()
            {
                let key = super::device::model_key(
                    it.kind,
                    &super::device::ModelInput {
                        ty: it.ty.as_deref(),
                        model: it.model.as_deref(),
                        bus: None,
                        sub: None,
                    },
                    machine,
                );
                let n = super::device::needs(it.kind, &key);
                it.needs_slot = n.slot;
                it.virtio = n.virtio;
            }
        }
        Ok(())
    }

    /// virtio-serial controllers for virtio channels and consoles. Channels without an
    /// address take the first free port (port 0 is kept for a console) of the first
    /// controller with room; when none has room, another controller is added.
    fn add_virtio_serial(&mut self) {
        let ports_of = |items: &[Item], devs: &[Device], idx: u32| -> u32 {
            items
                .iter()
                .find(|i| i.is_ctl("virtio-serial") && i.index == Some(idx))
                .and_then(|i| match i.target {
                    Target::Existing(d) => devs[d].ports,
                    Target::Added(_) => None,
                })
                .unwrap_or(31)
        };
        let devices = &self.topo.devices;
        let mut used: Vec<(u32, u32)> = Vec::new();
        let mut pending = 0u32;
        for d in devices {
            if !(matches!(d.kind, Kind::Channel | Kind::Console)
                && d.sub.as_deref() == Some("virtio"))
            {
                continue;
            }
            match (d.kind, d.addr_controller) {
                (_, Some(c)) => {
                    if !self.has_ctl("virtio-serial", Some(c)) {
                        self.add_ctl("virtio-serial", c, "needed by a virtio channel or console");
                    }
                    used.push((c, u32::MAX));
                }
                (Kind::Console, None) => {
                    if !self.has_ctl("virtio-serial", None) {
                        self.add_ctl("virtio-serial", 0, "needed by a virtio console");
                    }
                }
                _ => pending += 1,
            }
        }
        let mut idx = 0;
        while pending > 0 {
            if !self.has_ctl("virtio-serial", Some(idx)) {
                self.add_ctl("virtio-serial", idx, "needed by a virtio channel");
            }
            let cap = ports_of(&self.items, devices, idx).saturating_sub(1);
            let taken = used.iter().filter(|(c, _)| *c == idx).count() as u32;
            let room = cap.saturating_sub(taken);
            pending = pending.saturating_sub(room);
            idx += 1;
        }
    }

    /// The virtio-mmio rule of ARM and RISC-V `virt`: when the machine has a PCIe root
    /// and no device already sits on virtio-mmio, virtio devices go on PCI; otherwise
    /// every address-less one in the list goes on virtio-mmio.
    fn virtio_mmio(&mut self) {
        if !self.topo.machine.arch.has_virtio_mmio() {
            return;
        }
        let any_mmio = self.items.iter().any(|i| i.mmio);
        let pci_ok = self.pcie_root && !any_mmio;
        if pci_ok {
            return;
        }
        for it in &mut self.items {
            if !it.want || it.addr.is_some() {
                continue;
            }
            // Only address-less devices (not `<address type='pci'/>` requests).
            if let Target::Existing(i) = it.target
                && self.topo.devices[i].address.is_some()
            {
                continue;
            }
            let in_list = match it.kind {
                Kind::Disk | Kind::Memballoon | Kind::Rng | Kind::Crypto => {
                    it.needs_slot == SlotClass::Virtio
                        || it.needs_slot == SlotClass::Pci && it.kind != Kind::Crypto
                }
                Kind::Interface | Kind::Video | Kind::Input | Kind::Sound | Kind::Memory => {
                    it.needs_slot == SlotClass::Virtio
                }
                Kind::Controller => it.is_ctl("scsi") || (it.is_ctl("virtio-serial")),
                Kind::Hostdev => it.ty.as_deref() == Some("scsi_host"),
                _ => false,
            };
            let virtio = it.virtio != VirtioForm::No;
            if in_list && (virtio || it.is_ctl("scsi")) {
                it.mmio = true;
                it.want = false;
            }
        }
    }

    fn compute_flags(&mut self) {
        let pci = Flags::PCI_DEVICE.or(Flags::AUTOASSIGN);
        let pcie = if self.pcie_root {
            Flags::PCIE_DEVICE.or(Flags::AUTOASSIGN)
        } else {
            pci
        };
        let machine = &self.topo.machine;
        for it in &mut self.items {
            let mut f = if let Some(p) = &it.pci {
                p.model.info().connect
            } else {
                match it.needs_slot {
                    SlotClass::None => Flags::NONE,
                    SlotClass::Pci => pci,
                    SlotClass::Pcie | SlotClass::Virtio => pcie,
                }
            };
            if let Target::Existing(i) = it.target {
                let d = &self.topo.devices[i];
                if d.pci.is_none() && d.needs(machine).integrated {
                    f = f.or(Flags::INTEGRATED);
                }
                // A PCI host device counts as conventional where PCI and PCIe are the same.
                if d.kind == Kind::Hostdev && it.needs_slot == SlotClass::Pcie && pci == pcie {
                    f = pci;
                }
            }
            if f == Flags::NONE && it.addr.is_some() {
                // libvirt keeps old configs loading: reserve it as a PCI device.
                f = Flags::PCI_DEVICE;
            }
            if f == Flags::NONE {
                it.want = false;
            }
            it.flags = f;
        }
    }

    fn validate_controllers(&self) -> Result<(), Diagnostic> {
        let mut seen: std::collections::HashSet<(&str, u32)> = std::collections::HashSet::new();
        for it in &self.items {
            if it.kind != Kind::Controller {
                continue;
            }
            let ty = it.ty.as_deref().unwrap_or("");
            let idx = it.index.unwrap_or(0);
            let companion = |o: &Item| {
                let master = o
                    .dev()
                    .is_some_and(|i| self.topo.devices[i].master_startport.is_some());
                is_usb_companion(o.model.as_deref(), master)
            };
            if ty == "usb" && !companion(it) {
                let clash = self.items.iter().any(|o| {
                    !std::ptr::eq(o, it) && o.is_ctl("usb") && o.index == it.index && !companion(o)
                });
                if clash {
                    return Err(Diagnostic::new(
                        Code::ControllerIndex,
                        format!("Duplicate USB controllers with index {idx}"),
                    )
                    .on(it.dev())
                    .hint("only ICH9 EHCI/UHCI companions may share a USB controller index"));
                }
            }
            if ty != "usb" && !seen.insert((ty, idx)) {
                return Err(Diagnostic::new(
                    Code::ControllerIndex,
                    format!("Multiple '{ty}' controllers with index '{idx}'"),
                )
                .on(it.dev())
                .hint("give each controller its own index"));
            }
            if ty == "ide" && self.class == MachineClass::I440fx && idx > 0 {
                return Err(Diagnostic::new(Code::DeviceUnsupported, "Only 1 IDE controller is supported")
                    .on(it.dev())
                    .hint("the PIIX3 has one IDE controller with 4 disks (hda-hdd); put more disks on virtio or SCSI"));
            }
            if ty == "ide" && self.class == MachineClass::Q35 {
                return Err(Diagnostic::new(
                    Code::DeviceUnsupported,
                    "IDE controllers are unsupported for this QEMU binary or machine type",
                )
                .on(it.dev())
                .hint("q35 has SATA: use bus='sata' for disks"));
            }
            let Some(p) = &it.pci else { continue };
            let name = p.model.name();
            if p.model.is_root() {
                if idx != 0 {
                    return Err(Diagnostic::new(
                        Code::ControllerIndex,
                        "pci-root and pcie-root controllers should have index 0",
                    )
                    .on(it.dev()));
                }
                if it.addr.is_some() {
                    return Err(Diagnostic::new(
                        Code::ControllerIndex,
                        "pci-root and pcie-root controllers should not have an address",
                    )
                    .on(it.dev()));
                }
            } else if idx == 0 {
                return Err(Diagnostic::new(
                    Code::ControllerIndex,
                    format!("Index for '{name}' controllers must be > 0"),
                )
                .on(it.dev())
                .hint("index 0 is the root bus; give this controller index 1 or higher"));
            }
            if p.model == PciModel::PciExpanderBus && self.class != MachineClass::I440fx {
                return Err(Diagnostic::new(
                    Code::ControllerMachine,
                    "pci-expander-bus controllers are only supported on 440fx-based machinetypes",
                )
                .on(it.dev())
                .hint("on PCIe machines use pcie-expander-bus"));
            }
            if p.model == PciModel::PcieExpanderBus
                && !matches!(self.class, MachineClass::Q35 | MachineClass::Virt)
            {
                return Err(Diagnostic::new(
                    Code::ControllerMachine,
                    "pcie-expander-bus controllers are not supported with this machine type",
                )
                .on(it.dev()));
            }
            let opt_err = |opt: &str| {
                Diagnostic::new(
                    Code::ControllerTarget,
                    format!(
                        "Option '{opt}' is not valid for PCI controller with index '{idx}', model '{name}' and modelName '{}'",
                        p.qemu_device()
                    ),
                )
                .on(it.dev())
            };
            if p.chassis_nr.is_some() && p.model != PciModel::PciBridge {
                return Err(opt_err("chassisNr"));
            }
            if (p.chassis.is_some() || p.port.is_some()) && !p.model.is_port() {
                return Err(opt_err(if p.chassis.is_some() {
                    "chassis"
                } else {
                    "port"
                }));
            }
            if p.bus_nr.is_some() && !p.model.is_expander() {
                return Err(opt_err("busNr"));
            }
            if p.hotplug.is_some() && !(p.model.is_port() || p.model == PciModel::PciRoot) {
                return Err(opt_err("hotplug"));
            }
            if let Some(c) = p.chassis_nr
                && !(1..=255).contains(&c)
            {
                return Err(Diagnostic::new(
                    Code::ControllerTarget,
                    format!("PCI controller chassisNr '{c}' out of range - must be 1-255"),
                )
                .on(it.dev()));
            }
            for (n, v) in [("chassis", p.chassis), ("port", p.port)] {
                if let Some(v) = v
                    && v > 255
                {
                    return Err(Diagnostic::new(
                        Code::ControllerTarget,
                        format!("PCI controller {n} '{v}' out of range - must be 0-255"),
                    )
                    .on(it.dev()));
                }
            }
            if let Some(b) = p.bus_nr
                && !(1..=254).contains(&b)
            {
                return Err(Diagnostic::new(
                    Code::ControllerTarget,
                    format!("PCI controller busNr '{b}' out of range - must be 1-254"),
                )
                .on(it.dev()));
            }
            if let Some(m) = &p.model_name {
                let info = p.model.info();
                if !p.model.is_root()
                    && m != info.qemu_device
                    && !info.alt_qemu_devices.contains(&m.as_str())
                {
                    return Err(Diagnostic::new(
                        Code::ControllerTarget,
                        format!("PCI controller model name '{m}' is not valid for a PCI controller with model '{name}'"),
                    )
                    .on(it.dev())
                    .hint(format!("use <model name='{}'/> or leave it out", info.qemu_device)));
                }
            }
        }
        Ok(())
    }

    /// The controllers in the order libvirt keeps them: those from the XML grouped by
    /// type in order of first appearance, ascending index within a type; then the ones
    /// libvirt added itself, in the order it added them (appended, not grouped).
    fn controller_order(&self) -> Vec<usize> {
        let parsed = |it: &Item| matches!(it.target, Target::Existing(_));
        let sorted = self.topo.platform.libvirt_rules().added_controllers_sorted;
        // Types in the order they first appear; with 11.x's filing, the types only
        // added controllers have come after the user's.
        let mut types: Vec<Option<String>> = Vec::new();
        let ctls = self.items.iter().filter(|it| it.kind == Kind::Controller);
        for it in ctls.filter(|it| parsed(it) || sorted) {
            if !types.contains(&it.ty) {
                types.push(it.ty.clone());
            }
        }
        let mut order: Vec<usize> = (0..self.items.len())
            .filter(|&i| self.items[i].kind == Kind::Controller)
            .collect();
        order.sort_by_key(|&i| {
            let it = &self.items[i];
            let ty = types.iter().position(|t| *t == it.ty);
            match it.target {
                Target::Existing(_) => (0, ty, it.index, 0, i),
                // An added one goes after the user's of the same type and index.
                Target::Added(a) if sorted => (0, ty, it.index, 1, a),
                Target::Added(a) => (1, None, None, 0, a),
            }
        });
        order
    }

    fn new_set(&self, nbuses: u32, dry_run: bool) -> Set {
        // The first PCI controller with each index, found in one pass.
        let mut by_index: Vec<Option<&Item>> = vec![None; nbuses as usize];
        for it in self.items.iter().filter(|i| i.pci.is_some()) {
            if let Some(slot) = it.index.and_then(|x| by_index.get_mut(x as usize))
                && slot.is_none()
            {
                *slot = Some(it);
            }
        }
        let mut buses = Vec::new();
        for b in 0..nbuses {
            let ctl = by_index[b as usize];
            let (model, hotplug) = match ctl {
                Some(c) => {
                    let p = c.pci.as_ref().map(|p| (p.model, p.hotplug != Some(false)));
                    p.unwrap_or((PciModel::PciRoot, true))
                }
                None if b == 0 => (PciModel::PciRoot, true),
                None if self.pcie_root => (PciModel::PcieRootPort, true),
                None => (PciModel::PciBridge, true),
            };
            buses.push(Bus::new(model, hotplug));
        }
        Set {
            buses,
            dry_run,
            start: Vec::new(),
        }
    }

    fn is_piix3_fixed(&self, it: &Item) -> bool {
        self.class == MachineClass::I440fx
            && it.index == Some(0)
            && (it.is_ctl("ide")
                || (it.is_ctl("usb") && matches!(it.model.as_deref(), None | Some("piix3-uhci"))))
    }

    /// Reserves every address the config gives, in libvirt's device-iteration order.
    fn collect(&mut self, set: &mut Set) -> Result<(), Diagnostic> {
        let mut order: Vec<usize> = (0..self.items.len()).collect();
        order.sort_by_key(|&i| (self.items[i].kind.iteration_rank(), i));
        for i in order {
            let it = &self.items[i];
            let Some(mut a) = it.addr else { continue };
            // A console of a serial port is the same device as the serial port.
            if it.assigned || self.is_piix3_fixed(it) || it.kind == Kind::Console {
                continue;
            }
            let flags = it.flags;
            let was = a;
            set.reserve_config(&mut a, flags)
                .map_err(|d| err_on(d, it))?;
            if a != was {
                self.items[i].addr = Some(a);
                self.items[i].moved = true;
            }
        }
        Ok(())
    }

    /// Records an address chosen by the assigner. In the dry run only the `want`
    /// flag changes (the items are restored afterwards), so nothing is placed twice.
    fn set_addr(&mut self, i: usize, a: PciAddr, dry: bool) {
        self.items[i].want = false;
        if !dry {
            self.items[i].addr = Some(a);
            self.items[i].assigned = true;
        }
    }

    /// Fixed and preferred chipset addresses (§5), as the chipset table gives them: the
    /// elements that stand for a chipset function go to its address (another one is
    /// refused), the functions without an element are kept, then the devices with a
    /// preferred slot on bus 0 take it when it is free.
    fn chipset(&mut self, set: &mut Set, dry: bool) -> Result<(), Diagnostic> {
        let table = chipset::chipset(self.class);
        for f in table.iter().filter(|f| f.xml.is_some()) {
            self.fixed_chipset_element(set, f)?;
        }
        for f in table.iter().filter(|f| f.kept_without_element()) {
            self.reserve_chipset(set, f.addr)?;
        }
        for (what, slots) in chipset::preferred(self.class) {
            match what {
                Preferred::PrimaryVideo => self.primary_video(set, slots[0], dry)?,
                Preferred::Ich9Uhci1 => self.preferred_uhci1(set, slots)?,
                Preferred::DmiToPciBridge => self.preferred_slot(set, slots, |it| {
                    it.want && it.pci_model() == Some(PciModel::DmiToPciBridge)
                })?,
                Preferred::Ich9Sound => self.preferred_slot(set, slots, |it| {
                    it.kind == Kind::Sound && it.want && it.model.as_deref() == Some("ich9")
                })?,
            }
        }
        Ok(())
    }

    /// Puts the elements that stand for chipset function `f` at its address. On
    /// i440fx the PIIX3 IDE and UHCI are reserved here (the collection skips them);
    /// q35's SATA controller only when it had no address (one written there was
    /// reserved with the user's addresses).
    fn fixed_chipset_element(
        &mut self,
        set: &mut Set,
        f: &ChipsetFunction,
    ) -> Result<(), Diagnostic> {
        let pci = Flags::PCI_DEVICE;
        let Some((_, ty, index)) = f.xml else {
            return Ok(());
        };
        let want = f.addr;
        for i in 0..self.items.len() {
            let it = &self.items[i];
            let piix3 = self.is_piix3_fixed(it);
            let stands = if self.class == MachineClass::I440fx {
                piix3 && it.is_ctl(ty)
            } else {
                it.is_ctl(ty) && it.index == Some(index)
            };
            if !stands {
                continue;
            }
            match it.addr {
                Some(a) if a != want => {
                    return Err(Diagnostic::new(
                        Code::PciChipsetAddress,
                        f.wrong_address_message(),
                    )
                    .on(it.dev()));
                }
                Some(_) if !piix3 => {}
                Some(_) => {
                    let mut a = want;
                    set.reserve_config(&mut a, pci)
                        .map_err(|d| err_on(d, &self.items[i]))?;
                }
                None => {
                    if piix3 {
                        self.set_addr(i, want, false);
                    }
                    let mut a = want;
                    set.reserve_config(&mut a, pci)
                        .map_err(|d| err_on(d, &self.items[i]))?;
                    if !piix3 {
                        self.set_addr(i, want, false);
                    }
                }
            }
        }
        Ok(())
    }

    /// Address-less ICH9 UHCI1 controllers take the first free of `slots`; their
    /// companions then follow them there. Only controllers with no `<address>` at all:
    /// an empty `<address type='pci'/>` gets ordinary placement.
    fn preferred_uhci1(&mut self, set: &mut Set, slots: &[u8]) -> Result<(), Diagnostic> {
        for i in 0..self.items.len() {
            let it = &self.items[i];
            let bare = match it.target {
                Target::Existing(d) => self.topo.devices[d].address.is_none(),
                Target::Added(_) => true,
            };
            if bare
                && it.is_ctl("usb")
                && it.want
                && it.model.as_deref() == Some("ich9-uhci1")
                && let Some(&slot) = slots.iter().find(|&&s| set.slot_free(0, s))
            {
                let mut a = PciAddr::new(0, slot, 0);
                set.reserve_config(&mut a, it.flags)?;
                self.set_addr(i, a, false);
                self.items[i].force_multifunction = true;
            }
        }
        Ok(())
    }

    /// The first item `is` picks takes the first free of `slots`.
    fn preferred_slot(
        &mut self,
        set: &mut Set,
        slots: &[u8],
        is: impl Fn(&Item) -> bool,
    ) -> Result<(), Diagnostic> {
        if let Some(i) = self.items.iter().position(is)
            && let Some(&slot) = slots.iter().find(|&&s| set.slot_free(0, s))
        {
            let mut a = PciAddr::new(0, slot, 0);
            set.reserve_config(&mut a, self.items[i].flags)?;
            self.set_addr(i, a, false);
        }
        Ok(())
    }

    /// Reserves a chipset function that has no element; a user's device already there
    /// is refused as libvirt refuses it.
    fn reserve_chipset(&self, set: &mut Set, a: PciAddr) -> Result<(), Diagnostic> {
        if set.buses[0].used[a.slot as usize] & (1 << a.function) != 0 {
            let who = self.items.iter().find(|it| it.addr == Some(a));
            let d = Diagnostic::new(
                Code::PciDoubleUse,
                format!("Attempted double use of PCI Address {}", show(&a)),
            )
            .hint(format!(
                "{} belongs to the {} chipset even though the XML has no element for it: move the device",
                show(&a),
                self.class.name()
            ));
            return Err(match who {
                Some(it) => err_on(d, it),
                None => d,
            });
        }
        let mut a = a;
        set.reserve_config(&mut a, Flags::PCI_DEVICE)
    }

    /// The disk items in libvirt's order. It files each disk into its list as it
    /// reads it: scanning back from the end, before the earliest disk of the same bus
    /// whose name numbers higher, else right after the last disk of that bus, else at
    /// the end. So `vda vdc sdb vdb` is kept as `vda vdb vdc sdb`, and `xvda` (disk 0)
    /// written after `vdb` goes between `vda` and `vdb`. A name that does not number
    /// counts as -1.
    fn disks(&self) -> Vec<usize> {
        let key = |i: usize| {
            let d = self.items[i].dev().map(|d| &self.topo.devices[d]);
            let bus = d.and_then(Device::disk_bus);
            let n = d
                .and_then(|d| d.name.as_deref())
                .and_then(disk_index)
                .map_or(-1, i64::from);
            (bus, n)
        };
        let mut out: Vec<usize> = Vec::new();
        for i in (0..self.items.len()).filter(|&i| self.items[i].kind == Kind::Disk) {
            let (bus, n) = key(i);
            let mut at = None;
            for (k, &j) in out.iter().enumerate().rev() {
                let (b, m) = key(j);
                if b != bus {
                    continue;
                }
                if m > n {
                    at = Some(k);
                } else if at.is_none() {
                    at = Some(k + 1);
                }
            }
            out.insert(at.unwrap_or(out.len()), i);
        }
        out
    }

    /// The video items in libvirt's order: it moves the first `primary='yes'` video to
    /// the front of its list as it reads the domain, so that one is the primary (the
    /// early slot) and the others follow in document order.
    fn videos(&self) -> Vec<usize> {
        let mut v: Vec<usize> = (0..self.items.len())
            .filter(|&i| self.items[i].kind == Kind::Video)
            .collect();
        let marked = v.iter().position(|&i| {
            self.items[i]
                .dev()
                .is_some_and(|d| self.topo.devices[d].primary)
        });
        if let Some(p) = marked {
            let primary = v.remove(p);
            v.insert(0, primary);
        }
        v
    }

    fn primary_video(&mut self, set: &mut Set, slot: u8, dry: bool) -> Result<(), Diagnostic> {
        let Some(&i) = self.videos().first() else {
            return Ok(());
        };
        if !self.items[i].want || self.items[i].flags == Flags::NONE {
            return Ok(());
        }
        // The preferred slot if free, otherwise the next free one right away, ahead of
        // the controllers and every other device. libvirt writes the preferred slot onto
        // the device even in the dry run, but not the fallback: there the video stays
        // unplaced and takes a second slot in the video step, which can cost a bus.
        if set.slot_free(0, slot) {
            let mut a = PciAddr::new(0, slot, 0);
            set.reserve_config(&mut a, self.items[i].flags)?;
            self.set_addr(i, a, false);
        } else {
            let a = set
                .reserve_next(self.items[i].flags, None)
                .map_err(|d| err_on(d, &self.items[i]))?;
            if !dry {
                self.set_addr(i, a, false);
            }
        }
        Ok(())
    }

    /// The auto-assignment order of §6.4: groups of item indexes.
    fn assignment_order(&self) -> Vec<usize> {
        let ctl_order = self.controller_order();
        let mut out = Vec::new();
        // 1. PCI controllers, by index: libvirt 11 keeps the ones it adds sorted among
        // the user's (9.0 appended them after; see the conformance notes).
        let mut pci: Vec<usize> = (0..self.items.len())
            .filter(|&i| self.items[i].pci.is_some())
            .collect();
        // libvirt 9.0 takes the user's first and the ones it added after them.
        let sorted = self.topo.platform.libvirt_rules().added_controllers_sorted;
        pci.sort_by_key(|&i| {
            let added = !sorted && matches!(self.items[i].target, Target::Added(_));
            (added, self.items[i].index, i)
        });
        out.extend(pci);
        let by_kind = |k: Kind| (0..self.items.len()).filter(move |&i| self.items[i].kind == k);
        out.extend(by_kind(Kind::Filesystem));
        out.extend(by_kind(Kind::Interface).filter(|&i| !self.items[i].iface_hostdev));
        out.extend(by_kind(Kind::Sound));
        out.extend(ctl_order.iter().copied().filter(|&i| {
            let it = &self.items[i];
            // IDE 0 is part of PIIX3; FDC and CCID are not PCI devices.
            let primary_ide = it.is_ctl("ide") && it.index == Some(0);
            it.pci.is_none() && !primary_ide && !it.is_ctl("fdc") && !it.is_ctl("ccid")
        }));
        out.extend(self.disks());
        out.extend(by_kind(Kind::Interface).filter(|&i| self.items[i].iface_hostdev));
        out.extend(by_kind(Kind::Hostdev));
        for k in [Kind::Memballoon, Kind::Rng, Kind::Watchdog] {
            out.extend(by_kind(k));
        }
        out.extend(self.videos());
        for k in [
            Kind::Shmem,
            Kind::Input,
            Kind::Serial,
            Kind::Iommu,
            Kind::Vsock,
            Kind::Memory,
            Kind::Crypto,
            Kind::Panic,
            Kind::Pstore,
        ] {
            out.extend(by_kind(k));
        }
        out
    }

    fn assign_all(&mut self, set: &mut Set, dry: bool) -> Result<(), Diagnostic> {
        let order = self.assignment_order();
        // USB2 companions share one slot per controller index.
        let mut usb2_slot: Vec<(u32, PciAddr)> = Vec::new();
        for (i, it) in self.items.iter().enumerate() {
            if let (true, Some(a)) = (it.is_ctl("usb"), it.addr)
                && USB2_COMPANIONS
                    .iter()
                    .any(|(m, _)| it.model.as_deref() == Some(m))
            {
                let _ = i;
                if !usb2_slot.iter().any(|(x, _)| Some(*x) == it.index) {
                    usb2_slot.push((it.index.unwrap_or(0), a));
                }
            }
        }
        for i in order {
            let it = &self.items[i];
            if !it.want || it.flags == Flags::NONE || it.pci_model().is_some_and(|m| m.is_root()) {
                continue;
            }
            let companion = if it.is_ctl("usb") {
                USB2_COMPANIONS
                    .iter()
                    .find(|(m, _)| it.model.as_deref() == Some(m))
                    .map(|(_, f)| *f)
            } else {
                None
            };
            let flags = it.flags;
            let a = match companion {
                Some(func) => {
                    let idx = it.index.unwrap_or(0);
                    match usb2_slot.iter().find(|(x, _)| *x == idx) {
                        Some((_, s)) => {
                            let mut a = PciAddr::new(s.bus, s.slot, func);
                            set.reserve_config(&mut a, flags)
                                .map_err(|d| err_on(d, &self.items[i]))?;
                            a
                        }
                        None => {
                            let a = set
                                .reserve_next(flags, Some(func))
                                .map_err(|d| err_on(d, &self.items[i]))?;
                            // In the dry run libvirt does not record the address on
                            // the controller, so its companions cannot find it and each
                            // takes a slot of its own.
                            if !dry {
                                usb2_slot.push((idx, a));
                            }
                            a
                        }
                    }
                }
                None => set
                    .reserve_next(flags, None)
                    .map_err(|d| err_on(d, &self.items[i]))?,
            };
            self.set_addr(i, a, dry);
        }
        Ok(())
    }

    fn max_index(&self) -> u32 {
        self.items
            .iter()
            .filter(|i| i.pci.is_some())
            .filter_map(|i| i.index)
            .max()
            .unwrap_or(0)
    }

    fn run(mut self) -> Result<Plan, Diagnostic> {
        validate_devices(self.topo)?;
        self.prepare()?;
        self.validate_controllers()?;
        if self.topo.default_root().is_none() && !self.items.iter().any(|i| i.pci.is_some()) {
            // No PCI on this machine: only the implicit devices and mmio priming.
            self.virtio_mmio();
            return Ok(self.plan());
        }
        self.virtio_mmio();
        self.compute_flags();
        let max_idx = self.max_index();

        // Pass 1: a dry run that grows the bus list as needed.
        let saved = self.items.clone();
        let mut set = self.new_set(max_idx + 1, true);
        self.collect(&mut set)?;
        self.chipset(&mut set, true)?;
        if !self.pcie_root && !set.all_full() {
            // Keep one conventional slot free for a future pci-bridge.
            set.reserve_next(Flags::PCI_DEVICE.or(Flags::AUTOASSIGN), None)?;
        }
        self.assign_all(&mut set, true)?;
        if max_idx == 0 && set.buses.len() > 1 && self.pcie_root {
            // One spare root port for hotplug.
            set.reserve_next(Flags::PCIE_DEVICE.or(Flags::AUTOASSIGN), None)?;
        }
        // Addresses moved by bus growth stay moved, as libvirt changes them in place.
        let moved: Vec<(usize, Option<PciAddr>)> = (0..self.items.len())
            .filter(|&i| self.items[i].moved)
            .map(|i| (i, self.items[i].addr))
            .collect();
        self.items = saved;
        for (i, a) in moved {
            self.items[i].addr = a;
            self.items[i].moved = true;
        }
        let mut b = 1;
        while b < set.buses.len() as u32 {
            if !self
                .items
                .iter()
                .any(|i| i.pci.is_some() && i.index == Some(b))
            {
                let model = set.buses[b as usize].model;
                let pos = self.add(
                    NewDevice {
                        kind: Kind::Controller,
                        ty: Some("pci".into()),
                        model: Some(model.name().into()),
                        index: Some(b),
                        reason: "a bus libvirt adds to place the devices",
                    },
                    Some(PciController::new(model)),
                );
                self.items[pos].flags = model.info().connect;
                set.reserve_next(model.info().connect, None)?;
            }
            b += 1;
        }
        let nbuses = set.buses.len() as u32;

        // Pass 2: the real assignment.
        let mut set = self.new_set(nbuses, false);
        self.collect(&mut set)?;
        self.chipset(&mut set, false)?;
        self.assign_all(&mut set, false)?;
        self.controller_defaults()?;
        Ok(self.plan_with_multifunction(&set))
    }

    fn controller_defaults(&mut self) -> Result<(), Diagnostic> {
        let mut order: Vec<usize> = (0..self.items.len())
            .filter(|&i| self.items[i].pci.is_some())
            .collect();
        order.sort_by_key(|&i| self.items[i].index);
        let mut lowest_bus_nr = self
            .items
            .iter()
            .filter_map(|i| i.pci.as_ref().and_then(|p| p.bus_nr))
            .min()
            .unwrap_or(256);
        for i in order {
            let idx = self.items[i].index.unwrap_or(0);
            let addr = self.items[i].addr;
            let Some(p) = self.items[i].pci.as_mut() else {
                continue;
            };
            if p.model.is_root() {
                continue;
            }
            if p.model_name.is_none() {
                p.model_name = Some(p.model.info().qemu_device.to_string());
            }
            match p.model {
                PciModel::PciBridge => {
                    p.chassis_nr.get_or_insert(idx);
                }
                PciModel::PcieRootPort => {
                    p.chassis.get_or_insert(idx);
                    if let Some(a) = addr {
                        p.port
                            .get_or_insert(u32::from(a.slot) * 8 + u32::from(a.function));
                    }
                }
                PciModel::PcieSwitchDownstreamPort => {
                    p.chassis.get_or_insert(idx);
                    if let Some(a) = addr {
                        p.port.get_or_insert(u32::from(a.slot));
                    }
                }
                PciModel::PciExpanderBus | PciModel::PcieExpanderBus if p.bus_nr.is_none() => {
                    if lowest_bus_nr <= 2 {
                        return Err(Diagnostic::new(
                                Code::ControllerBusnr,
                                format!(
                                    "No free busNr lower than current lowest busNr is available to auto-assign to bus {idx}. Must be manually assigned"
                                ),
                            )
                            .on(self.items[i].dev())
                            .hint("set <target busNr='...'/> by hand"));
                    }
                    lowest_bus_nr -= 2;
                    p.bus_nr = Some(lowest_bus_nr);
                }
                _ => {}
            }
            if p.model == PciModel::PciBridge
                && let Some(a) = addr
                && idx <= a.bus
            {
                return Err(Diagnostic::new(
                            Code::ControllerBridgeOrder,
                            format!(
                                "PCI controller at index {idx} (0x{idx:02x}) has bus='0x{:02x}', but index must be larger than bus",
                                a.bus
                            ),
                        )
                        .on(self.items[i].dev())
                        .hint("renumber the controllers so that a bridge's index exceeds its parent's"));
            }
        }
        Ok(())
    }

    fn plan(&self) -> Plan {
        let mut plan = Plan {
            added: self.added.clone(),
            fills: Vec::new(),
        };
        for it in &self.items {
            let mut f = Fill::default();
            if it.index_filled || matches!(it.target, Target::Added(_)) {
                f.index = it.index.filter(|_| it.kind == Kind::Controller);
            }
            if it.assigned || it.moved {
                f.address = it.addr;
            }
            if it.mmio {
                if let Target::Existing(i) = it.target {
                    f.virtio_mmio = self.topo.devices[i].address.is_none();
                } else {
                    f.virtio_mmio = true;
                }
            }
            if let Some(p) = &it.pci {
                let orig = match it.target {
                    Target::Existing(i) => self.topo.devices[i].pci.clone(),
                    Target::Added(_) => None,
                };
                let o = orig.unwrap_or_else(|| PciController::new(p.model));
                let pick =
                    |new: Option<u32>, old: Option<u32>| if old.is_none() { new } else { None };
                f.controller = ControllerFill {
                    model_name: if o.model_name.is_none() {
                        p.model_name.clone()
                    } else {
                        None
                    },
                    chassis_nr: pick(p.chassis_nr, o.chassis_nr),
                    chassis: pick(p.chassis, o.chassis),
                    port: pick(p.port, o.port),
                    bus_nr: pick(p.bus_nr, o.bus_nr),
                };
            }
            if f != Fill::default() || matches!(it.target, Target::Added(_)) {
                plan.fills.push((it.target, f));
            }
        }
        plan
    }

    /// The first console of a serial port is the same device as the first serial; libvirt
    /// writes the serial's PCI address on it too.
    fn console_mirror(&self) -> Option<(Target, PciAddr)> {
        let serial = self.items.iter().find(|it| it.kind == Kind::Serial)?;
        let Target::Existing(ci) = self
            .items
            .iter()
            .find(|it| it.kind == Kind::Console)?
            .target
        else {
            return None;
        };
        let console = &self.topo.devices[ci];
        let mirrors = match console.sub.as_deref() {
            Some("serial") => true,
            None => self.topo.machine.arch.is_x86(),
            Some(_) => false,
        };
        let addr = serial
            .addr
            .filter(|_| serial.needs_slot != SlotClass::None)?;
        (mirrors && console.address.is_none()).then_some((Target::Existing(ci), addr))
    }

    fn plan_with_multifunction(&self, set: &Set) -> Plan {
        let mut plan = self.plan();
        if let Some((t, a)) = self.console_mirror() {
            plan.fills.push((
                t,
                Fill {
                    address: Some(a),
                    ..Fill::default()
                },
            ));
        }
        for it in &self.items {
            let Some(a) = it.addr else { continue };
            if a.function != 0 || it.mf_attr.is_some() {
                continue;
            }
            let used = set
                .buses
                .get(a.bus as usize)
                .map_or(0, |b| b.used[a.slot as usize]);
            if used & !1 == 0 && !it.force_multifunction {
                continue;
            }
            match plan.fills.iter_mut().find(|(t, _)| *t == it.target) {
                Some((_, f)) => f.multifunction = true,
                None => plan.fills.push((
                    it.target,
                    Fill {
                        multifunction: true,
                        ..Fill::default()
                    },
                )),
            }
        }
        plan.fills
            .retain(|(t, f)| matches!(t, Target::Added(_)) || *f != Fill::default());
        plan.fills.sort_by_key(|(t, _)| *t);
        let _ = ControllerFill::is_empty;
        plan
    }
}

/// Device rules libvirt checks when it parses and validates a domain, beyond slots.
fn validate_devices(topo: &Topology) -> Result<(), Diagnostic> {
    validate_platform(topo)?;
    validate_usb_off(topo)?;
    let x86 = topo.machine.arch.is_x86();
    let e = |code: Code, i: usize, msg: String| Diagnostic::new(code, msg).on(Some(i));
    if x86 && topo.efi && !topo.acpi {
        return Err(Diagnostic::new(
            Code::DeviceUnsupported,
            "UEFI requires ACPI on this architecture",
        )
        .hint("add <acpi/> to <features>"));
    }
    let mut primaries = 0;
    let mut host_addrs: Vec<&str> = Vec::new();
    for (i, d) in topo.devices.iter().enumerate() {
        let non_pci = matches!(
            &d.address,
            Some(Address::Other(_) | Address::VirtioMmio | Address::Unassigned)
        );
        let model = d.model.as_deref().unwrap_or("");
        if d.zpci && topo.machine.arch_name != "s390x" {
            return Err(e(
                Code::DeviceUnsupported,
                i,
                "zPCI address extensions exist only on s390x guests".into(),
            )
            .hint("remove the <zpci> element from the address"));
        }
        match d.kind {
            Kind::Controller if d.is_pci_root() && d.address.is_some() => {
                return Err(e(
                    Code::ControllerIndex,
                    i,
                    "pci-root and pcie-root controllers should not have an address".into(),
                )
                .hint("remove the <address> of the root controller"));
            }
            Kind::Controller => {
                if let Some(p) = &d.pci
                    && let Some(n) = p.numa_node
                    && n >= topo.numa_cells
                {
                    return Err(e(
                                Code::ControllerTarget,
                                i,
                                format!(
                                    "{} with index {} is configured for a NUMA node ({n}) not present in the domain's <cpu><numa> array ({})",
                                    p.model.name(),
                                    d.index.unwrap_or(0),
                                    topo.numa_cells
                                ),
                            )
                            .hint("define the NUMA cell under <cpu><numa> or pick an existing node"));
                }
                // libvirt wants some USB controller without <master> in the domain, at
                // any index: a companion whose own group has no EHCI is accepted when
                // another USB controller exists (libvirt itself writes such groups when
                // a second UHCI1 starts index 1), and refused when all are companions.
                if d.ty.as_deref() == Some("usb")
                    && is_usb_companion(d.model.as_deref(), d.master_startport.is_some())
                {
                    let has_master = topo.devices.iter().any(|o| {
                        o.kind == Kind::Controller
                            && o.ty.as_deref() == Some("usb")
                            && !is_usb_companion(o.model.as_deref(), o.master_startport.is_some())
                    });
                    if !has_master {
                        return Err(e(
                            Code::DeviceUnsupported,
                            i,
                            "No master USB controller specified".into(),
                        )
                        .hint("add the ich9-ehci1 controller with the same index"));
                    }
                }
            }
            Kind::Video => {
                if d.primary {
                    primaries += 1;
                    if primaries > 1 {
                        return Err(e(
                            Code::DeviceUnsupported,
                            i,
                            "Only one primary video device is supported".into(),
                        ));
                    }
                }
                if model == "ramfb" && d.address.is_some() {
                    return Err(e(
                        Code::DeviceUnsupported,
                        i,
                        "address not supported for video type ramfb".into(),
                    )
                    .hint("ramfb is not a PCI device: remove its <address>"));
                }
            }
            Kind::Iommu if model == "virtio" => {
                if d.driver_attrs {
                    return Err(e(
                        Code::DeviceUnsupported,
                        i,
                        "iommu model 'virtio' doesn't support additional attributes".into(),
                    ));
                }
                if non_pci {
                    return Err(e(
                        Code::DeviceUnsupported,
                        i,
                        "IOMMU device: 'virtio' needs a PCI address".into(),
                    ));
                }
                if !matches!(topo.machine.class, MachineClass::Q35 | MachineClass::Virt) {
                    return Err(e(
                        Code::DeviceUnsupported,
                        i,
                        "IOMMU device: 'virtio' is only supported with Q35 and ARM Virt machines"
                            .into(),
                    ));
                }
                if !topo.acpi {
                    return Err(e(
                        Code::DeviceUnsupported,
                        i,
                        "IOMMU device: 'virtio' requires ACPI".into(),
                    )
                    .hint("add <acpi/> to <features>"));
                }
            }
            Kind::Panic
                if d.effective_model(&topo.machine).as_deref() == Some("pvpanic") && non_pci =>
            {
                return Err(e(
                    Code::DeviceUnsupported,
                    i,
                    "pvpanic is supported only with PCI address type".into(),
                ));
            }
            Kind::Disk if d.bus.as_deref() == Some("usb") && d.pci_addr().is_some() => {
                return Err(e(
                    Code::DeviceUnsupported,
                    i,
                    "unexpected address type for usb disk".into(),
                )
                .hint("a USB disk sits on a USB port, not a PCI slot: remove its PCI address"));
            }
            Kind::Hostdev => {
                if let Some(a) = &d.source_addr {
                    if host_addrs.contains(&a.as_str()) {
                        return Err(e(
                            Code::DeviceUnsupported,
                            i,
                            "Hostdev already exists in the domain configuration".into(),
                        )
                        .hint(format!("host device {a} is assigned twice")));
                    }
                    host_addrs.push(a);
                }
                if d.ty.as_deref() == Some("scsi_host") && d.boot {
                    return Err(e(
                        Code::DeviceUnsupported,
                        i,
                        "booting from assigned devices is not supported by vhost SCSI devices"
                            .into(),
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The most controllers of one disk bus a guest can have: each takes a PCI slot, and a
/// guest has at most 256 buses of 32 slots. A disk name or drive address that needs
/// more (`sdzzzzzz`, `controller='70000'`) is refused at once; libvirt itself would add
/// controllers one by one until no slot is left (for tens of thousands it runs for
/// minutes).
pub const MAX_DISK_CONTROLLERS: u32 = 256 * 32;

/// The largest index libvirt reads: it parses `index` as a signed int, so 2^31 and
/// above are refused ("Expected integer value").
const MAX_INDEX: u32 = i32::MAX as u32;

/// Rules that depend on the target libvirt and QEMU, counts of devices, names libvirt
/// parses and numbers it refuses.
/// A USB controller of model `none` turns USB off for the whole guest (at any index),
/// and both releases then refuse any other USB controller written in the XML (the
/// default controller 0 libvirt adds itself beside a `none` of another index is
/// not refused), a USB input or hub, and any other device on USB: disks on the usb
/// bus, USB host devices, redirected USB devices.
fn validate_usb_off(topo: &Topology) -> Result<(), Diagnostic> {
    let is_usb_ctl = |d: &Device| d.kind == Kind::Controller && d.ty.as_deref() == Some("usb");
    let Some(off) = topo
        .devices
        .iter()
        .position(|d| is_usb_ctl(d) && d.model.as_deref() == Some("none"))
    else {
        return Ok(());
    };
    let hint = "remove the USB controller of model none, or the USB devices";
    for (i, d) in topo.devices.iter().enumerate() {
        let what = match d.kind {
            _ if i == off => continue,
            Kind::Controller if is_usb_ctl(d) => "another USB controller",
            Kind::Input if d.bus.as_deref() == Some("usb") => "a USB input device",
            Kind::Hub => "a USB hub",
            Kind::Disk if d.bus.as_deref() == Some("usb") => "a USB disk",
            Kind::Hostdev if d.ty.as_deref() == Some("usb") => "a USB host device",
            Kind::Redirdev => "a redirected USB device",
            _ => continue,
        };
        return Err(Diagnostic::new(
            Code::UsbDisabled,
            format!(
                "USB is off for this domain (a USB controller of model none), yet it has \
                 {what}: libvirt refuses the guest"
            ),
        )
        .on(Some(i))
        .hint(hint));
    }
    Ok(())
}

fn validate_platform(topo: &Topology) -> Result<(), Diagnostic> {
    use super::device::{
        DISK_PREFIXES, ONE_PER_MODEL, SINGLETONS, VIDEO_ALONE, VIDEO_PRIMARY_ONLY,
    };
    use super::versions::{WatchdogCount, machine_known};
    let platform = topo.platform;
    let lv = platform.libvirt_rules();
    let qemu = platform.qemu_rules();
    let machine = &topo.machine;
    let e = |code: Code, i: usize, msg: String| Diagnostic::new(code, msg).on(Some(i));
    if machine_known(qemu, machine.arch, &machine.machine_type) == Some(false) {
        let versions: Vec<String> = qemu
            .families
            .iter()
            .filter(|f| f.arches.contains(&machine.arch))
            .map(|f| {
                format!(
                    "{}{}.{} to {}{}.{}",
                    f.prefix, f.first.0, f.first.1, f.prefix, qemu.newest.0, qemu.newest.1
                )
            })
            .collect();
        return Err(Diagnostic::new(
            Code::MachineTypeUnknown,
            format!(
                "Emulator does not support machine type '{}' (QEMU {})",
                machine.machine_type, qemu.name
            ),
        )
        .hint(format!(
            "QEMU {} has {}; or target another QEMU with --qemu",
            qemu.name,
            versions.join(", ")
        )));
    }
    for (i, d) in topo.devices.iter().enumerate() {
        if let Some(idx) = d.index
            && idx > MAX_INDEX
            && d.kind == Kind::Controller
        {
            return Err(e(
                Code::NumberTooLarge,
                i,
                format!("Invalid value for attribute 'index' in element 'controller': '{idx}'. Expected integer value"),
            )
            .hint(format!("libvirt reads controller indexes up to {MAX_INDEX}")));
        }
    }
    // Singletons, then the per-model and per-release counts.
    for &(kind, msg) in SINGLETONS {
        if let Some(i) = topo
            .devices
            .iter()
            .enumerate()
            .filter(|(_, d)| d.kind == kind)
            .nth(1)
            .map(|(i, _)| i)
        {
            return Err(
                e(Code::DeviceCount, i, msg.to_string()).hint(format!("keep one <{}>", kind.tag()))
            );
        }
    }
    for &(kind, msg) in ONE_PER_MODEL {
        let mut seen: Vec<String> = Vec::new();
        for (i, d) in topo
            .devices
            .iter()
            .enumerate()
            .filter(|(_, d)| d.kind == kind)
        {
            let m = d.effective_model(machine).unwrap_or_default();
            if seen.contains(&m) {
                return Err(e(Code::DeviceCount, i, format!("{msg} '{m}'")));
            }
            seen.push(m);
        }
    }
    if lv.single_pstore
        && let Some((i, _)) = topo
            .devices
            .iter()
            .enumerate()
            .filter(|(_, d)| d.kind == Kind::Pstore)
            .nth(1)
    {
        return Err(e(
            Code::DeviceCount,
            i,
            "only a single pstore device is supported".into(),
        )
        .hint(format!("libvirt {} allows one <pstore>", lv.name)));
    }
    let mut watchdogs: Vec<&str> = Vec::new();
    for (i, d) in topo
        .devices
        .iter()
        .enumerate()
        .filter(|(_, d)| d.kind == Kind::Watchdog)
    {
        let m = d.model.as_deref().unwrap_or("");
        if !lv.watchdog_models.contains(&m) {
            return Err(e(
                Code::DeviceModelVersion,
                i,
                format!("unknown watchdog model '{m}'"),
            )
            .hint(format!(
                "libvirt {} knows {}",
                lv.name,
                lv.watchdog_models.join(", ")
            )));
        }
        let many = match lv.watchdogs {
            WatchdogCount::One => !watchdogs.is_empty(),
            WatchdogCount::OnePerModelExceptPci => m != "i6300esb" && watchdogs.contains(&m),
        };
        if many {
            let msg = match lv.watchdogs {
                WatchdogCount::One => "only a single watchdog device is supported".to_string(),
                WatchdogCount::OnePerModelExceptPci => {
                    format!("domain can only have one watchdog with model '{m}'")
                }
            };
            return Err(e(Code::DeviceCount, i, msg).hint(format!("libvirt {}: keep one", lv.name)));
        }
        watchdogs.push(m);
    }
    for (i, d) in topo
        .devices
        .iter()
        .enumerate()
        .filter(|(_, d)| d.kind == Kind::Watchdog)
    {
        let m = d.model.as_deref().unwrap_or("");
        let q35 = machine.class == MachineClass::Q35;
        if m == "diag288" && !machine.arch_name.starts_with("s390") {
            return Err(e(
                Code::DeviceModelVersion,
                i,
                "diag288 model of watchdog is allowed for s390 and s390x only".into(),
            ));
        }
        if q35 && lv.watchdog_not_on_q35.contains(&m) {
            return Err(e(
                Code::DeviceModelVersion,
                i,
                format!("{m} model of watchdog cannot be used with this machine type"),
            )
            .hint("use model='i6300esb' (or itco, q35's own)"));
        }
        if !q35 && lv.watchdog_q35_only.contains(&m) {
            return Err(e(
                Code::DeviceModelVersion,
                i,
                format!("{m} model of watchdog is only part of q35 machine"),
            ));
        }
    }
    for (i, d) in topo
        .devices
        .iter()
        .enumerate()
        .filter(|(_, d)| d.kind == Kind::Panic)
    {
        if let Some(m) = d.model.as_deref()
            && !lv.panic_models.contains(&m)
        {
            return Err(e(
                Code::DeviceModelVersion,
                i,
                format!("unknown panic model '{m}'"),
            )
            .hint(format!(
                "libvirt {} knows {}",
                lv.name,
                lv.panic_models.join(", ")
            )));
        }
    }
    // Video: primary-only types elsewhere than primary, and 'none' with company.
    let videos: Vec<usize> = (0..topo.devices.len())
        .filter(|&i| topo.devices[i].kind == Kind::Video)
        .collect();
    let primary = videos
        .iter()
        .copied()
        .find(|&i| topo.devices[i].primary)
        .or(videos.first().copied());
    for &i in &videos {
        let m = topo.devices[i].effective_model(machine).unwrap_or_default();
        if m == VIDEO_ALONE && videos.len() > 1 {
            return Err(e(
                Code::VideoPrimaryOnly,
                i,
                "a 'none' video type must be the only video device defined for the domain".into(),
            ));
        }
        if Some(i) != primary && VIDEO_PRIMARY_ONLY.contains(&m.as_str()) {
            return Err(e(
                Code::VideoPrimaryOnly,
                i,
                format!("video type '{m}' is only valid as primary video device"),
            )
            .hint("make it the primary one, or use qxl or virtio as the second video"));
        }
    }
    // Disk targets.
    for (i, d) in topo
        .devices
        .iter()
        .enumerate()
        .filter(|(_, d)| d.kind == Kind::Disk)
    {
        let Some(dev) = d.name.as_deref() else {
            continue;
        };
        let parsed = DISK_PREFIXES
            .iter()
            .find_map(|&(p, _)| dev.strip_prefix(p).map(|r| (p, r)));
        let (prefix, rest) = parsed.unwrap_or(("", dev));
        let letters = rest.trim_end_matches(|c: char| c.is_ascii_digit());
        let ok = parsed.is_some()
            && !letters.is_empty()
            && letters.bytes().all(|b| b.is_ascii_lowercase());
        if !ok {
            let msg = if d.address.is_none() {
                format!("Unknown disk name '{dev}' and no address specified")
            } else {
                format!("invalid disk target '{dev}'")
            };
            return Err(e(Code::DiskTarget, i, msg)
                .hint("name it like vda, sdb or hdc: a prefix and lower-case letters"));
        }
        if letters.len() != rest.len() {
            return Err(e(
                Code::DiskTarget,
                i,
                format!("invalid disk target '{dev}', partitions can't appear in disk targets"),
            )
            .hint(format!("drop the partition number: {prefix}{letters}")));
        }
        if prefix == "fd" && d.bus.as_deref() != Some("fdc") {
            return Err(e(
                Code::DiskTarget,
                i,
                format!("Invalid harddisk device name: {dev}"),
            )
            .hint("fd names are for floppies on bus='fdc'"));
        }
    }
    Ok(())
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

/// The address type of a device that has a (non-)transitional virtio model but no
/// PCI address (virtio-mmio, ccw, ...): libvirt defines the guest, but it never starts
/// (libvirt 9.0 asks QEMU for `virtio-blk-device-transitional`, which does not exist;
/// newer libvirt refuses to build the command line, "not supported for address type").
pub fn transitional_off_pci(d: &Device) -> Option<&str> {
    let m = d.model.as_deref().unwrap_or("");
    if !matches!(m, "virtio-transitional" | "virtio-non-transitional") {
        return None;
    }
    match d.address.as_ref()? {
        Address::VirtioMmio => Some("virtio-mmio"),
        Address::Other(t) if !(d.kind == Kind::Disk && t == "drive") => Some(t.as_str()),
        _ => None,
    }
}

#[cfg(test)]
mod disk_index_tests {
    use super::disk_index;

    #[test]
    fn disk_names_number_like_libvirt() {
        for (name, idx) in [
            ("hda", Some(0)),
            ("sdz", Some(25)),
            ("sdaa", Some(26)),
            ("vdb1", Some(1)),
            ("nvme0n1", None),
            ("sd", None),
        ] {
            assert_eq!(disk_index(name), idx, "{name}");
        }
    }
}
