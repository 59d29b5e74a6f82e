//! The passes: a dry run that grows the bus list and decides which PCI controllers
//! libvirt adds, the real pass that places everything, and the plan with the
//! multifunction flags and the console that mirrors the serial port.

use std::collections::HashMap;

use super::bus::{Bus, BusAllocator};
use super::controllers::USB2_COMPANIONS;
use super::validate::validate_devices;
use super::{Assigner, ControllerFill, DeviceRef, Fill, NewDevice, Placement, Plan, err_on};
use crate::address::PciAddr;
use crate::device::{Kind, SlotClass};
use crate::diag::Diagnostic;
use crate::pci::{Flags, PciModel};
use crate::topology::PciController;

impl Assigner<'_> {
    fn new_allocator(&self, nbuses: u32, dry_run: bool) -> BusAllocator {
        // The first PCI controller with each index, found in one pass.
        let mut by_index: Vec<Option<&Placement>> = vec![None; nbuses as usize];
        for it in self.placements.iter().filter(|i| i.pci.is_some()) {
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
        BusAllocator {
            buses,
            dry_run,
            start: Vec::new(),
        }
    }

    /// Reserves every address the config gives, in libvirt's device-iteration order.
    fn reserve_written(&mut self, alloc: &mut BusAllocator) -> Result<(), Diagnostic> {
        let mut order: Vec<usize> = (0..self.placements.len()).collect();
        order.sort_by_key(|&i| (self.placements[i].kind.iteration_rank(), i));
        for i in order {
            let it = &self.placements[i];
            let Some(mut a) = it.addr else { continue };
            // A console of a serial port is the same device as the serial port.
            if it.assigned || self.is_piix3_fixed(it) || it.kind == Kind::Console {
                continue;
            }
            let flags = it.flags;
            let was = a;
            alloc
                .reserve_config(&mut a, flags)
                .map_err(|d| err_on(d, it))?;
            if a != was {
                self.placements[i].addr = Some(a);
                self.placements[i].moved = true;
            }
        }
        Ok(())
    }

    /// Records an address chosen by the assigner. In the dry run only the `want`
    /// flag changes (the placements are restored afterwards), so nothing is placed twice.
    pub(super) fn set_addr(&mut self, i: usize, a: PciAddr, dry: bool) {
        self.placements[i].want = false;
        if !dry {
            self.placements[i].addr = Some(a);
            self.placements[i].assigned = true;
        }
    }

    fn assign_all(&mut self, alloc: &mut BusAllocator, dry: bool) -> Result<(), Diagnostic> {
        let order = self.assignment_order();
        // USB2 companions share one slot per controller index.
        // By index; the first address written for an index is the group's slot.
        let mut usb2_slot: HashMap<u32, PciAddr> = HashMap::new();
        for (i, it) in self.placements.iter().enumerate() {
            if let (true, Some(a)) = (it.is_ctl("usb"), it.addr)
                && USB2_COMPANIONS
                    .iter()
                    .any(|(m, _)| it.model.as_deref() == Some(m))
            {
                let _ = i;
                usb2_slot.entry(it.index.unwrap_or(0)).or_insert(a);
            }
        }
        for i in order {
            let it = &self.placements[i];
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
                    match usb2_slot.get(&idx) {
                        Some(s) => {
                            let mut a = PciAddr::new(s.bus, s.slot, func);
                            alloc
                                .reserve_config(&mut a, flags)
                                .map_err(|d| err_on(d, &self.placements[i]))?;
                            a
                        }
                        None => {
                            let a = alloc
                                .reserve_next(flags, Some(func))
                                .map_err(|d| err_on(d, &self.placements[i]))?;
                            // In the dry run libvirt does not record the address on
                            // the controller, so its companions cannot find it and each
                            // takes a slot of its own.
                            if !dry {
                                usb2_slot.entry(idx).or_insert(a);
                            }
                            a
                        }
                    }
                }
                None => alloc
                    .reserve_next(flags, None)
                    .map_err(|d| err_on(d, &self.placements[i]))?,
            };
            self.set_addr(i, a, dry);
        }
        Ok(())
    }

    fn max_index(&self) -> u32 {
        self.placements
            .iter()
            .filter(|i| i.pci.is_some())
            .filter_map(|i| i.index)
            .max()
            .unwrap_or(0)
    }

    pub(super) fn run(mut self) -> Result<Plan, Diagnostic> {
        validate_devices(self.topo)?;
        self.prepare()?;
        self.validate_controllers()?;
        if self.topo.default_root().is_none() && !self.placements.iter().any(|i| i.pci.is_some()) {
            // No PCI on this machine: only the implicit devices and mmio priming.
            self.virtio_mmio();
            return Ok(self.plan());
        }
        self.virtio_mmio();
        self.compute_flags();
        let max_idx = self.max_index();

        // Pass 1: a dry run that grows the bus list as needed.
        let saved = self.placements.clone();
        let mut alloc = self.new_allocator(max_idx + 1, true);
        self.reserve_written(&mut alloc)?;
        self.place_chipset(&mut alloc, true)?;
        if !self.pcie_root && !alloc.all_full() {
            // Keep one conventional slot free for a future pci-bridge.
            alloc.reserve_next(Flags::PCI_DEVICE.or(Flags::AUTOASSIGN), None)?;
        }
        self.assign_all(&mut alloc, true)?;
        if max_idx == 0 && alloc.buses.len() > 1 && self.pcie_root {
            // One spare root port for hotplug.
            alloc.reserve_next(Flags::PCIE_DEVICE.or(Flags::AUTOASSIGN), None)?;
        }
        // Addresses moved by bus growth stay moved, as libvirt changes them in place.
        let moved: Vec<(usize, Option<PciAddr>)> = (0..self.placements.len())
            .filter(|&i| self.placements[i].moved)
            .map(|i| (i, self.placements[i].addr))
            .collect();
        self.placements = saved;
        for (i, a) in moved {
            self.placements[i].addr = a;
            self.placements[i].moved = true;
        }
        let mut b = 1;
        while b < alloc.buses.len() as u32 {
            if !self
                .placements
                .iter()
                .any(|i| i.pci.is_some() && i.index == Some(b))
            {
                let model = alloc.buses[b as usize].model;
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
                self.placements[pos].flags = model.info().connect;
                alloc.reserve_next(model.info().connect, None)?;
            }
            b += 1;
        }
        let nbuses = alloc.buses.len() as u32;

        // Pass 2: the real assignment.
        let mut alloc = self.new_allocator(nbuses, false);
        self.reserve_written(&mut alloc)?;
        self.place_chipset(&mut alloc, false)?;
        self.assign_all(&mut alloc, false)?;
        self.controller_defaults()?;
        Ok(self.plan_with_multifunction(&alloc))
    }

    fn plan(&self) -> Plan {
        let mut plan = Plan {
            added: self.added.clone(),
            fills: Vec::new(),
        };
        for it in &self.placements {
            let mut f = Fill::default();
            if it.index_filled || matches!(it.device_ref, DeviceRef::Added(_)) {
                f.index = it.index.filter(|_| it.kind == Kind::Controller);
            }
            if it.assigned || it.moved {
                f.address = it.addr;
            }
            if it.mmio {
                if let DeviceRef::Existing(i) = it.device_ref {
                    f.virtio_mmio = self.topo.devices[i].address.is_none();
                } else {
                    f.virtio_mmio = true;
                }
            }
            if let Some(p) = &it.pci {
                let orig = match it.device_ref {
                    DeviceRef::Existing(i) => self.topo.devices[i].pci.clone(),
                    DeviceRef::Added(_) => None,
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
            if f != Fill::default() || matches!(it.device_ref, DeviceRef::Added(_)) {
                plan.fills.push((it.device_ref, f));
            }
        }
        plan
    }

    /// The first console of a serial port is the same device as the first serial; libvirt
    /// writes the serial's PCI address on it too.
    fn console_mirror(&self) -> Option<(DeviceRef, PciAddr)> {
        let serial = self.placements.iter().find(|it| it.kind == Kind::Serial)?;
        let DeviceRef::Existing(ci) = self
            .placements
            .iter()
            .find(|it| it.kind == Kind::Console)?
            .device_ref
        else {
            return None;
        };
        let console = &self.topo.devices[ci];
        let mirrors = match console.target_type.as_deref() {
            Some("serial") => true,
            None => self.topo.machine.arch.is_x86(),
            Some(_) => false,
        };
        let addr = serial
            .addr
            .filter(|_| serial.needs_slot != SlotClass::None)?;
        (mirrors && console.address.is_none()).then_some((DeviceRef::Existing(ci), addr))
    }

    fn plan_with_multifunction(&self, alloc: &BusAllocator) -> Plan {
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
        for it in &self.placements {
            let Some(a) = it.addr else { continue };
            if a.function != 0 || it.mf_attr.is_some() {
                continue;
            }
            let used = alloc
                .buses
                .get(a.bus as usize)
                .map_or(0, |b| b.used[a.slot as usize]);
            if used & !1 == 0 && !it.force_multifunction {
                continue;
            }
            match plan.fills.iter_mut().find(|(t, _)| *t == it.device_ref) {
                Some((_, f)) => f.multifunction = true,
                None => plan.fills.push((
                    it.device_ref,
                    Fill {
                        multifunction: true,
                        ..Fill::default()
                    },
                )),
            }
        }
        plan.fills
            .retain(|(t, f)| matches!(t, DeviceRef::Added(_)) || *f != Fill::default());
        plan.fills.sort_by_key(|(t, _)| *t);
        plan
    }
}
