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
    let needs = d.needs(&t.machine);
    let pcie_root = t.bus_model(0) == Some(PciModel::PcieRoot);
    let f = match needs.slot {
        SlotClass::None => return None,
        SlotClass::Pci => Flags::PCI_DEVICE,
        SlotClass::Pcie | SlotClass::Virtio if pcie_root => Flags::PCIE_DEVICE,
        SlotClass::Pcie | SlotClass::Virtio => Flags::PCI_DEVICE,
    };
    Some(if needs.integrated {
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

/// Free function-0 addresses of buses that take `flags`. Buses in `skip` (and what is
/// behind them) are left out; with `below`, only buses whose index is smaller (a
/// bridge's index must be larger than its bus).
pub(super) fn free_targets(
    t: &Topology,
    flags: Flags,
    skip: Option<u32>,
    below: Option<u32>,
) -> Vec<PciAddr> {
    let view = tree_view(t);
    let mut out = Vec::new();
    fn walk(
        bus: &BusNode,
        flags: Flags,
        skip: Option<u32>,
        below: Option<u32>,
        out: &mut Vec<PciAddr>,
    ) {
        if skip == Some(bus.index) {
            return;
        }
        if below.is_none_or(|b| bus.index < b) && accepts(bus.model(), bus.index, flags) {
            out.extend(
                bus.free_slots
                    .iter()
                    .map(|&s| PciAddr::new(bus.index, s, 0)),
            );
        }
        for s in &bus.slots {
            if let Some(b) = s.device.as_ref().and_then(|d| d.bus.as_deref()) {
                walk(b, flags, skip, below, out);
            }
        }
    }
    if let Some(root) = &view.root {
        walk(root, flags, skip, below, &mut out);
    }
    out
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
    let needs = d.needs(&t.machine);
    if matches!(
        needs.virtio,
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

/// Where device `i` can move: free slots of buses that accept it, never behind itself.
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
    free_targets(t, flags, own, own)
}

/// Where a new controller of `model` can go (its index will be larger than any bus).
pub fn controller_targets(t: &Topology, model: PciModel) -> Vec<PciAddr> {
    let flags = model.info().connect;
    if flags == Flags::NONE {
        return Vec::new();
    }
    free_targets(t, flags, None, None)
}

/// Where a new device from template `template` with `model` can go.
pub fn device_targets(t: &Topology, template: usize, model: &str) -> Vec<PciAddr> {
    let Some(d) = new_device(t, template, model) else {
        return Vec::new();
    };
    device_flags(t, &d).map_or_else(Vec::new, |f| free_targets(t, f, None, None))
}
