//! The bus allocator: the PCI buses of a guest and the functions taken on each, with
//! libvirt's address checks (range, compatibility of connect flags, double use), its
//! search for the next free address and, in the dry run, the buses it grows.

use crate::address::PciAddr;
use crate::diag::{Code, Diagnostic};
use crate::pci::{Flags, PciModel};

#[derive(Clone, Debug)]
pub(super) struct Bus {
    pub(super) model: PciModel,
    flags: Flags,
    min_slot: u8,
    max_slot: u8,
    /// Bit i set = function i in use, per slot.
    pub(super) used: [u8; 32],
    aggregate: [bool; 32],
    /// No slot below this one is completely free (slots are never freed, so it only
    /// moves up); keeps the search linear in large guests.
    first_free: u8,
}

impl Bus {
    pub(super) fn new(model: PciModel, hotplug: bool) -> Bus {
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

/// The bus allocator: the guest's PCI buses, the functions taken on each, and where
/// the search for a free address may start.
pub(super) struct BusAllocator {
    pub(super) buses: Vec<Bus>,
    /// Pass 1: a bus that does not exist yet is grown rather than refused.
    pub(super) dry_run: bool,
    /// For each set of device flags searched so far, the first bus that may still have
    /// room for it; earlier buses never regain room.
    pub(super) start: Vec<(Flags, usize)>,
}

/// Formats an address for messages, the way libvirt prints it.
pub(super) fn show(a: &PciAddr) -> String {
    a.to_string()
}

impl BusAllocator {
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
    pub(super) fn reserve_config(
        &mut self,
        addr: &mut PciAddr,
        flags: Flags,
    ) -> Result<(), Diagnostic> {
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

    pub(super) fn slot_free(&self, bus: u32, slot: u8) -> bool {
        self.buses[bus as usize].used[slot as usize] == 0
    }

    /// Where the next search for `flags` starts.
    fn set_start(&mut self, flags: Flags, bus: usize) {
        match self.start.iter_mut().find(|(f, _)| *f == flags) {
            Some(entry) => entry.1 = bus,
            None => self.start.push((flags, bus)),
        }
    }

    /// Finds the next free address for a device with `flags` (function -1 = any).
    fn next_free(&mut self, flags: Flags, function: Option<u8>) -> Result<PciAddr, Diagnostic> {
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
                self.set_start(flags, b as usize);
                return Ok(a);
            }
        }
        // Nothing free for these flags on any bus there is: slots are never freed and a
        // bus keeps its flags, so the next search may start at the buses still to come
        // (thousands of endpoints would otherwise rescan every full bus each time).
        self.set_start(flags, self.buses.len());
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

    pub(super) fn reserve_next(
        &mut self,
        flags: Flags,
        function: Option<u8>,
    ) -> Result<PciAddr, Diagnostic> {
        let a = self.next_free(flags, function)?;
        // In the dry run growth may have placed the device on a bus whose flags
        // say otherwise (a port reserved for a bridge); libvirt does not check there.
        self.mark(&a, flags)?;
        Ok(a)
    }

    pub(super) fn all_full(&self) -> bool {
        self.buses
            .iter()
            .all(|b| (b.min_slot..=b.max_slot).all(|s| b.used[s as usize] != 0))
    }
}
