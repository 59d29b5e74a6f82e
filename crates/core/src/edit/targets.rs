//! Where an operation may legally go: the free addresses a device, a new device or a
//! new controller can take (by the connect flags libvirt checks), the models a device
//! may switch to, and what sits behind a controller.

use super::*;

/// The indexes of every device behind the PCI controller `i` (its bus and the buses
/// of the controllers on it, recursively), in document order.
pub fn behind(t: &Topology, i: usize) -> Vec<usize> {
    let Some(index) = t
        .devices
        .get(i)
        .filter(|d| d.pci.is_some())
        .and_then(|d| d.index)
    else {
        return Vec::new();
    };
    let mut buses = BTreeSet::from([index]);
    let mut out = BTreeSet::new();
    loop {
        let before = out.len();
        for (j, d) in t.devices.iter().enumerate() {
            if j != i && !out.contains(&j) && d.pci_addr().is_some_and(|a| buses.contains(&a.bus)) {
                out.insert(j);
                if let (Some(_), Some(k)) = (&d.pci, d.index) {
                    buses.insert(k);
                }
            }
        }
        if out.len() == before {
            break;
        }
    }
    out.into_iter().collect()
}

/// The connect flags a device needs when the user gives its address, as libvirt checks
/// addresses from the configuration.
pub(super) fn device_flags(t: &Topology, d: &Device) -> Option<Flags> {
    if let Some(p) = &d.pci {
        let f = p.model.info().connect;
        return (f != Flags::NONE).then_some(f);
    }
    let facts = d.facts(&t.machine);
    let pcie_root = t.bus_model(0) == Some(PciModel::PcieRoot);
    let f = match facts.slot {
        SlotClass::None => return None,
        SlotClass::Pci => Flags::PCI_DEVICE,
        SlotClass::Pcie | SlotClass::Virtio if pcie_root => Flags::PCIE_DEVICE,
        SlotClass::Pcie | SlotClass::Virtio => Flags::PCI_DEVICE,
    };
    Some(if facts.integrated {
        f.or(Flags::INTEGRATED)
    } else {
        f
    })
}

/// Whether a bus of `model` takes a device with `flags` at an address the user gives:
/// any endpoint goes where endpoints go, and a pci-bridge also counts as a device.
pub(super) fn accepts(model: PciModel, bus: u32, flags: Flags) -> bool {
    if flags.has(Flags::INTEGRATED) && bus != 0 {
        return false;
    }
    let mut bf = model.info().accepts;
    if bf.any(Flags::ENDPOINTS) {
        bf = bf.or(Flags::ENDPOINTS);
    }
    let mut df = flags;
    if df.has(Flags::PCI_BRIDGE) {
        df = df.or(Flags::PCI_DEVICE);
    }
    df.and(bf).any(Flags::TYPES)
}

/// The functions of one slot in use, as a bit set (bit f: function f), with what
/// holds function 0; `moving` (the device being moved) does not count.
fn slot_use(bus: &BusNode, slot: u8, moving: Option<Origin>) -> (u8, Option<SlotMate>) {
    let mut used = 0u8;
    let mut first = None;
    for s in bus.slots.iter().filter(|s| s.addr.slot == slot) {
        let holder = match (&s.device, s.chipset) {
            (Some(d), _) if Some(d.origin) == moving => continue,
            (Some(d), _) => SlotMate::Device(d.origin),
            (None, Some(name)) => SlotMate::Chipset(name),
            (None, None) => continue,
        };
        used |= 1 << s.addr.function;
        if s.addr.function == 0 {
            first = Some(holder);
        }
    }
    (used, first)
}

/// The places a bus offers: function 0 of every slot in its range whose function 0
/// is free, and every free function of a slot whose function 0 is taken.
///
/// As libvirt 9.0 and 11.3, QEMU 7.2 and 10.0 and Debian 12's kernel answered: both
/// libvirts accept any free function, beside anything, and write
/// `multifunction='on'` on function 0 themselves unless it says `off`; QEMU refuses
/// a function beside a function 0 without the bit ("single function device can't be
/// populated"), so an edit that shares a slot sets it ([`share_slot`]); a function
/// of a slot whose function 0 is empty is accepted and started, but Linux never scans
/// it (it reads function 0 first), so such places are not offered. The chipset's
/// function 0 in a slot devices may use (the ICH9 LPC bridge at 00:1f.0, the PIIX3
/// at 00:01.0) is multifunction: the guest sees a device at 00:1f.4 or 00:01.4.
fn bus_places(bus: &BusNode, moving: Option<Origin>, out: &mut Vec<PciAddr>) {
    let (lo, hi) = bus.model().info().slots;
    for slot in lo..=hi {
        let (used, _) = slot_use(bus, slot, moving);
        if used & 1 == 0 {
            out.push(PciAddr::new(bus.index, slot, 0));
        } else {
            out.extend(
                (1..8u8)
                    .filter(|f| used & (1 << f) == 0)
                    .map(|f| PciAddr::new(bus.index, slot, f)),
            );
        }
    }
}

/// Free places of buses that take `flags` ([`bus_places`]). Buses in `skip` (and what
/// is behind them) are left out; with `below`, only buses whose index is smaller (a
/// bridge's index must be larger than its bus); `moving` is the device being moved,
/// whose own place counts as free.
pub(super) fn free_targets(
    t: &Topology,
    flags: Flags,
    skip: Option<u32>,
    below: Option<u32>,
    moving: Option<Origin>,
) -> Vec<PciAddr> {
    let view = tree_view(t);
    let mut out = Vec::new();
    fn walk(
        bus: &BusNode,
        flags: Flags,
        skip: Option<u32>,
        below: Option<u32>,
        moving: Option<Origin>,
        out: &mut Vec<PciAddr>,
    ) {
        if skip == Some(bus.index) {
            return;
        }
        if below.is_none_or(|b| bus.index < b) && accepts(bus.model(), bus.index, flags) {
            bus_places(bus, moving, out);
        }
        for s in &bus.slots {
            if let Some(b) = s.device.as_ref().and_then(|d| d.bus.as_deref()) {
                walk(b, flags, skip, below, moving, out);
            }
        }
    }
    if let Some(root) = &view.root {
        walk(root, flags, skip, below, moving, &mut out);
    }
    out
}

/// What holds function 0 of a slot another function shares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlotMate {
    /// A device of the topology.
    Device(Origin),
    /// A function of the machine's chipset (its name).
    Chipset(&'static str),
}

/// What taking a place in a slot that is in use means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sharing {
    /// What holds function 0; `None` when the place is function 0 itself.
    pub function0: Option<SlotMate>,
    /// How many functions of the slot besides function 0 and the place are in use.
    pub others: usize,
    /// The edit writes `multifunction='on'` on function 0 (the device there lacks it,
    /// or the place is function 0 beside other functions).
    pub sets_multifunction: bool,
}

/// What taking `at` shares, for the device `moving` (or a new one, `None`): `None`
/// when the slot has nothing else in it.
pub fn sharing(t: &Topology, at: PciAddr, moving: Option<Origin>) -> Option<Sharing> {
    sharings(t, &[at], moving).pop().flatten()
}

/// [`sharing`] of each of `places` (the tree is built once).
pub fn sharings(t: &Topology, places: &[PciAddr], moving: Option<Origin>) -> Vec<Option<Sharing>> {
    let view = tree_view(t);
    places
        .iter()
        .map(|&at| {
            let bus = find_bus(view.root.as_ref()?, at.bus)?;
            shared(t, bus, at, moving)
        })
        .collect()
}

fn shared(t: &Topology, bus: &BusNode, at: PciAddr, moving: Option<Origin>) -> Option<Sharing> {
    let (used, first) = slot_use(bus, at.slot, moving);
    let used = used & !(1 << at.function);
    if used == 0 {
        return None;
    }
    let others = used.count_ones() as usize - usize::from(at.function != 0);
    let sets_multifunction = match &first {
        _ if at.function == 0 => true,
        Some(SlotMate::Device(o)) => t.devices.iter().any(|d| {
            d.origin == *o
                && !matches!(
                    d.address,
                    Some(Address::Pci {
                        multifunction: Some(true),
                        ..
                    })
                )
        }),
        Some(SlotMate::Chipset(_)) | None => false,
    };
    Some(Sharing {
        function0: if at.function == 0 { None } else { first },
        others,
        sets_multifunction,
    })
}

/// The bus with controller index `index` in the tree under `bus`.
fn find_bus(bus: &BusNode, index: u32) -> Option<&BusNode> {
    if bus.index == index {
        return Some(bus);
    }
    bus.slots
        .iter()
        .filter_map(|s| s.device.as_ref().and_then(|d| d.bus.as_deref()))
        .find_map(|b| find_bus(b, index))
}

/// After an edit put a device at `at`: function 0 of that slot gets
/// `multifunction='on'` when another function of the slot is in use. QEMU refuses a
/// function beside a function 0 without it, and libvirt writes it only where the
/// attribute is absent (an explicit `off` stays, and QEMU then refuses the guest).
pub(super) fn share_slot(t: &mut Topology, at: PciAddr) {
    let in_slot = |d: &Device| {
        d.pci_addr()
            .is_some_and(|a| a.bus == at.bus && a.slot == at.slot && a.domain == at.domain)
    };
    let shared = t
        .devices
        .iter()
        .any(|d| in_slot(d) && d.pci_addr().is_some_and(|a| a.function != 0));
    if !shared {
        return;
    }
    for d in t.devices.iter_mut().filter(|d| in_slot(d)) {
        if let Some(Address::Pci {
            addr,
            multifunction,
        }) = &mut d.address
            && addr.function == 0
        {
            *multifunction = Some(true);
        }
    }
}

/// The models device `i` can be given: the three virtio forms for a virtio device that
/// has a legacy interface (`virtio-scsi` is the SCSI controller's plain form), else the
/// models of the matching template; empty when the model cannot be changed.
pub fn model_choices(t: &Topology, i: usize) -> Vec<String> {
    let Some(d) = t.devices.get(i) else {
        return Vec::new();
    };
    if d.pci.is_some() || !MODEL_KINDS.contains(&d.kind) {
        return Vec::new();
    }
    let facts = d.facts(&t.machine);
    if matches!(
        facts.virtio,
        VirtioForm::Plain | VirtioForm::Transitional | VirtioForm::NonTransitional
    ) {
        let plain = if d.kind == Kind::Controller && d.ty.as_deref() == Some("scsi") {
            "virtio-scsi"
        } else {
            "virtio"
        };
        return [plain, "virtio-transitional", "virtio-non-transitional"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    }
    TEMPLATES
        .iter()
        .find(|x| x.kind == d.kind && x.ty == d.ty.as_deref() && x.models.len() > 1)
        .map_or_else(Vec::new, |tpl| {
            tpl.models.iter().map(|s| s.to_string()).collect()
        })
}

/// Where device `i` can move: free places of buses that accept it ([`bus_places`]),
/// never behind itself.
pub fn move_targets(t: &Topology, i: usize) -> Vec<PciAddr> {
    let Some(d) = t.devices.get(i) else {
        return Vec::new();
    };
    // The root and the chipset's own functions (the primary SATA or IDE controller,
    // the PIIX3 USB) are where the machine puts them: libvirt refuses them elsewhere.
    if d.is_pci_root()
        || chipset(t.machine.class)
            .iter()
            .any(|f| f.stands_for(d, &t.machine))
    {
        return Vec::new();
    }
    let Some(flags) = device_flags(t, d) else {
        return Vec::new();
    };
    let own = d.pci.as_ref().and(d.index);
    let here = d.pci_addr();
    let mut out = free_targets(t, flags, own, own, Some(d.origin));
    out.retain(|a| Some(*a) != here);
    out
}

/// Where a new controller of `model` can go (its index will be larger than any bus).
pub fn controller_targets(t: &Topology, model: PciModel) -> Vec<PciAddr> {
    let flags = model.info().connect;
    if flags == Flags::NONE {
        return Vec::new();
    }
    free_targets(t, flags, None, None, None)
}

/// Where a new device from template `template` with `model` can go.
pub fn device_targets(t: &Topology, template: usize, model: &str) -> Vec<PciAddr> {
    let Some(d) = new_device(t, template, model) else {
        return Vec::new();
    };
    device_flags(t, &d).map_or_else(Vec::new, |f| free_targets(t, f, None, None, None))
}
