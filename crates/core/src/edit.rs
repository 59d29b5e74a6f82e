//! Edit operations on a topology and their undo history: a closed set of domain
//! operations ([`Op`]), each applied by [`apply`] to give a new [`Topology`] or an
//! [`EditError`], the places each operation may legally use ([`move_targets`],
//! [`controller_targets`], [`device_targets`]) and a [`History`] of labelled snapshots.
//!
//! Operations name devices by [`Origin`], not by index, so that an operation, a
//! selection or a history entry stays meaningful when other devices come and go.
//! Devices an operation creates get an origin from [`fresh_origin`], in a range the
//! document layer never hands out; the libvirt layer writes an edited topology back by
//! comparing it with the topology it read (`libvirt::write`).

use std::collections::BTreeSet;
use std::fmt;

use super::address::{Address, PciAddr};
use super::assign::{self, Plan};
use super::chipset::chipset;
use super::device::{Kind, SlotClass, VirtioForm};
use super::diag::Diagnostic;
use super::machine::{Machine, MachineClass};
use super::pci::{Flags, PciModel};
use super::topology::{Device, Origin, PciController, Topology};
use super::view::{BusNode, tree_view};

/// An origin no device of `t` has, in the range of created devices.
pub fn fresh_origin(t: &Topology) -> Origin {
    Origin::fresh(t)
}

/// A kind of device the designer can add, with the models offered for it.
#[derive(Debug)]
pub struct Template {
    /// What people call it.
    pub label: &'static str,
    /// Element kind.
    pub kind: Kind,
    /// The element's `type` (the disk's `device`).
    pub ty: Option<&'static str>,
    /// Disk target bus.
    pub bus: Option<&'static str>,
    /// The models offered, the usual one first.
    pub models: &'static [&'static str],
}

const VIRTIO3: &[&str] = &["virtio", "virtio-transitional", "virtio-non-transitional"];

/// Everything "add device" offers.
pub const TEMPLATES: &[Template] = &[
    Template {
        label: "disk (virtio-blk)",
        kind: Kind::Disk,
        ty: Some("disk"),
        bus: Some("virtio"),
        models: VIRTIO3,
    },
    Template {
        label: "network interface",
        kind: Kind::Interface,
        ty: Some("network"),
        bus: None,
        models: &[
            "virtio",
            "virtio-transitional",
            "virtio-non-transitional",
            "e1000e",
            "igb",
            "e1000",
            "rtl8139",
        ],
    },
    Template {
        label: "SCSI controller",
        kind: Kind::Controller,
        ty: Some("scsi"),
        bus: None,
        models: &[
            "virtio-scsi",
            "virtio-transitional",
            "virtio-non-transitional",
            "lsilogic",
        ],
    },
    Template {
        label: "USB controller",
        kind: Kind::Controller,
        ty: Some("usb"),
        bus: None,
        models: &["qemu-xhci", "nec-xhci", "piix3-uhci"],
    },
    Template {
        label: "virtio-serial controller",
        kind: Kind::Controller,
        ty: Some("virtio-serial"),
        bus: None,
        models: VIRTIO3,
    },
    Template {
        label: "random number generator",
        kind: Kind::Rng,
        ty: None,
        bus: None,
        models: VIRTIO3,
    },
    Template {
        label: "filesystem (virtio-9p)",
        kind: Kind::Filesystem,
        ty: Some("mount"),
        bus: None,
        models: VIRTIO3,
    },
    Template {
        label: "vsock",
        kind: Kind::Vsock,
        ty: None,
        bus: None,
        models: VIRTIO3,
    },
    Template {
        label: "sound card",
        kind: Kind::Sound,
        ty: None,
        bus: None,
        models: &["ich9", "ich6", "ac97"],
    },
    Template {
        label: "host PCI device (VFIO)",
        kind: Kind::Hostdev,
        ty: Some("pci"),
        bus: None,
        models: &["vfio"],
    },
];

/// The PCI controllers "add controller" offers, in menu order.
pub const CONTROLLER_MODELS: &[PciModel] = &[
    PciModel::PcieRootPort,
    PciModel::PcieSwitchUpstreamPort,
    PciModel::PcieToPciBridge,
    PciModel::PciBridge,
    PciModel::DmiToPciBridge,
    PciModel::PcieExpanderBus,
    PciModel::PciExpanderBus,
];

/// The kinds whose model an edit can change (the element has a model libvirt reads).
pub const MODEL_KINDS: &[Kind] = &[
    Kind::Disk,
    Kind::Interface,
    Kind::Controller,
    Kind::Video,
    Kind::Sound,
    Kind::Memballoon,
    Kind::Rng,
    Kind::Filesystem,
    Kind::Vsock,
    Kind::Watchdog,
    Kind::Input,
    Kind::Crypto,
    Kind::Iommu,
    Kind::Hostdev,
];

/// Where a new device or controller goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Where libvirt would put it (the whole guest is assigned, as at define time).
    Auto,
    /// At this address.
    At(PciAddr),
    /// Without an address: libvirt picks one when the guest is defined.
    Unassigned,
}

/// One operation on the topology.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Add a device from [`TEMPLATES`].
    AddDevice {
        /// Index into [`TEMPLATES`].
        template: usize,
        /// One of the template's models.
        model: String,
        /// Where it goes.
        at: Placement,
    },
    /// Add a PCI controller; a switch (upstream port) comes with `downstream` ports.
    AddController {
        /// The model.
        model: PciModel,
        /// Where it goes.
        at: Placement,
        /// Downstream ports behind a switch upstream port (ignored for other models).
        downstream: u8,
    },
    /// Give the device this PCI address (one of [`move_targets`]).
    Move {
        /// The device.
        device: Origin,
        /// The new address.
        to: PciAddr,
    },
    /// Remove the device; a PCI controller takes everything behind it along.
    Delete {
        /// The device.
        device: Origin,
    },
    /// Change the model (`virtio`, `virtio-transitional`, ...).
    SetModel {
        /// The device.
        device: Origin,
        /// The model; `None` removes it (libvirt's default).
        model: Option<String>,
    },
    /// Turn hotplug on or off on a root or downstream port.
    SetHotplug {
        /// The port.
        device: Origin,
        /// On (libvirt's default) or off.
        on: bool,
    },
    /// Remove the PCI address so that libvirt places the device again.
    ClearAddress {
        /// The device.
        device: Origin,
    },
    /// Fill in every missing address and controller the way libvirt does.
    AutoAssign,
    /// Change the machine type (`pc-q35-6.2`); the architecture stays.
    SetMachineType {
        /// The new machine type.
        machine_type: String,
    },
    /// Change a disk's target bus and name (`hda` on `ide` → `sda` on `sata`); the
    /// drive address goes, libvirt derives it from the new name.
    SetDiskTarget {
        /// The disk.
        device: Origin,
        /// The new target bus.
        bus: String,
        /// The new target name.
        dev: String,
    },
    /// Make a PCI controller another model with the same index (`pci-root` →
    /// `pcie-root`, `pci-bridge` → `pcie-to-pci-bridge`): the element, its alias and
    /// everything else in it stay, the settings of the old model and its address go.
    ReplaceController {
        /// The controller.
        device: Origin,
        /// The new model.
        model: PciModel,
    },
    /// Give a virtio device an explicit virtio-mmio address (ARM and RISC-V `virt`).
    ToMmio {
        /// The device.
        device: Origin,
    },
}

/// Why an operation cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EditError {
    /// What is wrong, for people.
    pub message: String,
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EditError {}

fn err<T>(message: impl Into<String>) -> Result<T, EditError> {
    Err(EditError {
        message: message.into(),
    })
}

impl From<Diagnostic> for EditError {
    fn from(d: Diagnostic) -> EditError {
        EditError {
            message: format!("libvirt would refuse the guest: {}", d.message),
        }
    }
}

/// The index of the device with `origin`.
pub fn index_of(t: &Topology, origin: Origin) -> Option<usize> {
    t.devices.iter().position(|d| d.origin == origin)
}

fn device_of(t: &Topology, origin: Origin) -> Result<usize, EditError> {
    index_of(t, origin).map_or_else(|| err("the device is no longer there"), Ok)
}

impl Op {
    /// A short label for the history and the status line, in terms of `t` (the
    /// topology the operation applies to).
    pub fn label(&self, t: &Topology) -> String {
        let name = |o: &Origin| {
            index_of(t, *o).map_or_else(
                || "device".to_string(),
                |i| t.devices[i].describe(&t.machine),
            )
        };
        match self {
            Op::AddDevice {
                template, model, ..
            } => {
                let what = TEMPLATES.get(*template).map_or("device", |x| x.label);
                format!("add {what} ({model})")
            }
            Op::AddController {
                model, downstream, ..
            } => match model {
                PciModel::PcieSwitchUpstreamPort => {
                    format!("add switch with {downstream} downstream ports")
                }
                m => format!("add {}", m.name()),
            },
            Op::Move { device, to } => format!("move {} to {}", name(device), to.bdf()),
            Op::Delete { device } => format!("delete {}", name(device)),
            Op::SetModel { device, model } => format!(
                "set model of {} to {}",
                name(device),
                model.as_deref().unwrap_or("default")
            ),
            Op::SetHotplug { device, on } => format!(
                "turn hotplug {} for {}",
                if *on { "on" } else { "off" },
                name(device)
            ),
            Op::ClearAddress { device } => format!("clear the address of {}", name(device)),
            Op::AutoAssign => "assign addresses as libvirt does".into(),
            Op::SetMachineType { machine_type } => {
                format!("set the machine type to {machine_type}")
            }
            Op::SetDiskTarget { device, bus, dev } => {
                format!("make {} {dev} on {bus}", name(device))
            }
            Op::ReplaceController { device, model } => {
                format!("make {} a {}", name(device), model.name())
            }
            Op::ToMmio { device } => format!("move {} to virtio-mmio", name(device)),
        }
    }
}

/// Applies `op` to `t`. An edit never turns a guest libvirt accepts into one it
/// refuses: such an edit is refused with libvirt's reason (a move that takes the last
/// port an unaddressed bridge needed, a model the device cannot have, ...).
pub fn apply(t: &Topology, op: &Op) -> Result<Topology, EditError> {
    let out = apply_unchecked(t, op)?;
    if let Err(d) = assign::assign(&out)
        && assign::assign(t).is_ok()
    {
        return Err(EditError {
            message: format!("libvirt would then refuse the guest: {}", d.message),
        });
    }
    Ok(out)
}

fn apply_unchecked(t: &Topology, op: &Op) -> Result<Topology, EditError> {
    match op {
        Op::AddDevice {
            template,
            model,
            at,
        } => add_device(t, *template, model, *at),
        Op::AddController {
            model,
            at,
            downstream,
        } => add_controller(t, *model, *at, *downstream),
        Op::Move { device, to } => {
            let i = device_of(t, *device)?;
            if t.devices[i].pci_addr() == Some(*to) {
                return err("the device is already there");
            }
            if !move_targets(t, i).contains(to) {
                return err(format!(
                    "{} cannot go to {}: not a free slot of a bus that accepts it",
                    t.devices[i].describe(&t.machine),
                    to.bdf()
                ));
            }
            let mut out = t.clone();
            out.devices[i].address = Some(Address::Pci {
                addr: *to,
                multifunction: None,
            });
            Ok(out)
        }
        Op::Delete { device } => {
            let i = device_of(t, *device)?;
            if t.devices[i].is_pci_root() && t.devices[i].index.unwrap_or(0) == 0 {
                return err("the PCI root bus is part of the machine and cannot be deleted");
            }
            let gone: BTreeSet<usize> = std::iter::once(i).chain(behind(t, i)).collect();
            let mut out = t.clone();
            out.devices = t
                .devices
                .iter()
                .enumerate()
                .filter(|(j, _)| !gone.contains(j))
                .map(|(_, d)| d.clone())
                .collect();
            Ok(out)
        }
        Op::SetModel { device, model } => {
            let i = device_of(t, *device)?;
            if t.devices[i].pci.is_some() {
                return err("a PCI controller's model is what it is: delete it and add another");
            }
            if !MODEL_KINDS.contains(&t.devices[i].kind) {
                return err(format!(
                    "a {} has no model to change",
                    t.devices[i].kind.tag()
                ));
            }
            if let Some(m) = model
                && !model_choices(t, i).contains(m)
            {
                return err(format!(
                    "{} cannot have model '{m}'",
                    t.devices[i].describe(&t.machine)
                ));
            }
            let mut out = t.clone();
            out.devices[i].model = model.clone();
            Ok(out)
        }
        Op::SetHotplug { device, on } => {
            let i = device_of(t, *device)?;
            let mut out = t.clone();
            match out.devices[i].pci.as_mut() {
                Some(p) if p.model.is_port() => {
                    p.hotplug = if *on { None } else { Some(false) };
                    Ok(out)
                }
                _ => err("hotplug is a setting of root ports and downstream ports"),
            }
        }
        Op::ClearAddress { device } => {
            let i = device_of(t, *device)?;
            let mut out = t.clone();
            out.devices[i].address = None;
            Ok(out)
        }
        Op::AutoAssign => {
            let plan = assign::assign(t)?;
            if plan.is_empty() {
                return err("every address is already assigned");
            }
            Ok(define_in_file_order(t, &plan))
        }
        Op::SetMachineType { machine_type } => {
            if machine_type.trim().is_empty() {
                return err("a machine type cannot be empty");
            }
            let mut out = t.clone();
            out.machine = Machine::new(&t.machine.arch_name, machine_type);
            Ok(out)
        }
        Op::SetDiskTarget { device, bus, dev } => {
            let i = device_of(t, *device)?;
            if t.devices[i].kind != Kind::Disk {
                return err("only a disk has a target bus");
            }
            if bus.trim().is_empty() || dev.trim().is_empty() {
                return err("a disk target needs a bus and a name");
            }
            if t.devices.iter().any(|d| {
                d.kind == Kind::Disk && d.origin != *device && d.name.as_deref() == Some(dev)
            }) {
                return err(format!("another disk is already {dev}"));
            }
            let mut out = t.clone();
            let d = &mut out.devices[i];
            d.bus = Some(bus.clone());
            d.name = Some(dev.clone());
            if !matches!(
                d.address,
                Some(Address::Pci { .. }) | Some(Address::PciRequest)
            ) {
                d.address = None;
                d.addr_controller = None;
            }
            Ok(out)
        }
        Op::ReplaceController { device, model } => {
            let i = device_of(t, *device)?;
            let Some(old) = t.devices[i].pci.as_ref() else {
                return err("only a PCI controller can become another PCI controller model");
            };
            if old.model.is_root() != model.is_root() {
                return err("a root bus can only become another root bus");
            }
            let mut out = t.clone();
            let d = &mut out.devices[i];
            let mut p = PciController::new(*model);
            p.numa_node = old.numa_node;
            d.pci = Some(p);
            d.model = Some(model.name().into());
            if d.pci_addr().is_some() {
                d.address = None;
            }
            Ok(out)
        }
        Op::ToMmio { device } => {
            let i = device_of(t, *device)?;
            if !t.machine.arch.has_virtio_mmio() || t.machine.class != MachineClass::Virt {
                return err("virtio-mmio is a transport of the ARM and RISC-V virt machines");
            }
            if t.devices[i].needs(&t.machine).virtio == VirtioForm::No {
                return err(format!(
                    "{} is not a virtio device",
                    t.devices[i].describe(&t.machine)
                ));
            }
            let mut out = t.clone();
            out.devices[i].address = Some(Address::VirtioMmio);
            Ok(out)
        }
    }
}

/// Applies `ops` in order as one change: the states in between may be ones libvirt
/// would refuse (a q35 machine type still with its i440fx root bus), the end state
/// may not, unless `t` is refused already.
pub fn apply_as_one(t: &Topology, ops: &[Op]) -> Result<Topology, EditError> {
    let mut out = t.clone();
    for op in ops {
        out = apply_unchecked(&out, op)?;
    }
    if let Err(d) = assign::assign(&out)
        && assign::assign(t).is_ok()
    {
        return Err(EditError {
            message: format!("libvirt would then refuse the guest: {}", d.message),
        });
    }
    Ok(out)
}

/// Applies `ops` in order; the first that cannot be applied stops it.
pub fn apply_all(t: &Topology, ops: &[Op]) -> Result<Topology, EditError> {
    let mut out = t.clone();
    for op in ops {
        out = apply(&out, op)?;
    }
    Ok(out)
}

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
fn device_flags(t: &Topology, d: &Device) -> Option<Flags> {
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
fn accepts(model: PciModel, bus: u32, flags: Flags) -> bool {
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
fn free_targets(t: &Topology, flags: Flags, skip: Option<u32>, below: Option<u32>) -> Vec<PciAddr> {
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

/// The next free name in a sequence like `vda`, `vdb`, ...
fn next_disk_name(t: &Topology) -> String {
    let used: BTreeSet<&str> = t.devices.iter().filter_map(|d| d.name.as_deref()).collect();
    let mut n = 0usize;
    loop {
        let mut s = String::new();
        let mut k = n;
        loop {
            s.insert(0, (b'a' + (k % 26) as u8) as char);
            if k < 26 {
                break;
            }
            k = k / 26 - 1;
        }
        let name = format!("vd{s}");
        if !used.contains(name.as_str()) {
            return name;
        }
        n += 1;
    }
}

/// A MAC address in QEMU's locally administered range that no interface has.
fn next_mac(t: &Topology) -> String {
    let used: BTreeSet<&str> = t.devices.iter().filter_map(|d| d.name.as_deref()).collect();
    (1u32..)
        .map(|n| {
            format!(
                "52:54:00:{:02x}:{:02x}:{:02x}",
                (n >> 16) & 0xff,
                (n >> 8) & 0xff,
                n & 0xff
            )
        })
        .find(|m| !used.contains(m.as_str()))
        .unwrap_or_default()
}

/// The lowest controller index of type `ty` that is not in use.
fn next_index(t: &Topology, ty: &str) -> u32 {
    let used: BTreeSet<u32> = t
        .devices
        .iter()
        .filter(|d| d.kind == Kind::Controller && d.ty.as_deref() == Some(ty))
        .filter_map(|d| d.index)
        .collect();
    (0..).find(|i| !used.contains(i)).unwrap_or(0)
}

/// The device a template makes, exactly as the document layer reads the element it
/// writes for it.
pub fn new_device(t: &Topology, template: usize, model: &str) -> Option<Device> {
    let tpl = TEMPLATES.get(template)?;
    let mut d = Device::new(fresh_origin(t), tpl.kind);
    d.ty = tpl.ty.map(String::from);
    d.bus = tpl.bus.map(String::from);
    d.model = Some(model.to_string());
    match tpl.kind {
        Kind::Disk => {
            d.name = Some(next_disk_name(t));
            d.driver_attrs = true;
        }
        Kind::Interface => d.name = Some(next_mac(t)),
        Kind::Controller => d.index = Some(next_index(t, tpl.ty.unwrap_or(""))),
        Kind::Filesystem => {
            let n = t
                .devices
                .iter()
                .filter(|x| x.kind == Kind::Filesystem)
                .count();
            d.name = Some(format!("share{n}"));
        }
        Kind::Hostdev => {
            // A placeholder host address the user fills in; distinct per device.
            let used: BTreeSet<&str> = t
                .devices
                .iter()
                .filter_map(|x| x.source_addr.as_deref())
                .collect();
            let addr = (1u32..=255)
                .map(|b| format!("0000:{b:02x}:00.0"))
                .find(|a| !used.contains(a.as_str()))
                .unwrap_or_else(|| "0000:ff:00.0".into());
            d.model = None;
            d.name = Some(format!("host {addr}"));
            d.source_addr = Some(addr);
            return Some(d);
        }
        _ => {}
    }
    Some(d)
}

/// Where a new device goes in document order: after the last of its kind (a PCI
/// controller after the last PCI controller), as libvirt groups them.
fn insert_position(t: &Topology, d: &Device) -> usize {
    let same = |x: &Device| {
        x.kind == d.kind && (d.kind != Kind::Controller || x.ty.as_deref() == d.ty.as_deref())
    };
    let any_ctl = |x: &Device| x.kind == Kind::Controller;
    t.devices
        .iter()
        .rposition(same)
        .or_else(|| {
            if d.kind == Kind::Controller {
                t.devices.iter().rposition(any_ctl)
            } else {
                None
            }
        })
        .map_or(
            if d.kind == Kind::Controller {
                0
            } else {
                t.devices.len()
            },
            |p| p + 1,
        )
}

fn insert(t: &mut Topology, d: Device) {
    let at = insert_position(t, &d);
    t.devices.insert(at, d);
}

fn place(mut d: Device, at: Placement) -> Device {
    if let Placement::At(a) = at {
        d.address = Some(Address::Pci {
            addr: a,
            multifunction: None,
        });
    }
    d
}

/// Places what an add made: as libvirt would (`Auto`), or not at all (`Unassigned`,
/// libvirt places it when the guest is defined, and [`apply`] refuses it now if
/// libvirt would refuse it then).
fn finish(out: Topology, at: Placement) -> Result<Topology, EditError> {
    match at {
        Placement::Auto => {
            let plan = assign::assign(&out)?;
            Ok(define_in_file_order(&out, &plan))
        }
        Placement::Unassigned | Placement::At(_) => Ok(out),
    }
}

fn add_device(
    t: &Topology,
    template: usize,
    model: &str,
    at: Placement,
) -> Result<Topology, EditError> {
    let Some(tpl) = TEMPLATES.get(template) else {
        return err("no such kind of device");
    };
    if !tpl.models.contains(&model) {
        return err(format!("{} has no model '{model}'", tpl.label));
    }
    let Some(d) = new_device(t, template, model) else {
        return err("no such kind of device");
    };
    if let Placement::At(a) = at
        && !device_targets(t, template, model).contains(&a)
    {
        return err(format!("{} cannot go to {}", tpl.label, a.bdf()));
    }
    let mut out = t.clone();
    insert(&mut out, place(d, at));
    finish(out, at)
}

/// A new PCI controller of `model` with `index`.
fn controller(origin: Origin, model: PciModel, index: u32) -> Device {
    let mut d = Device::new(origin, Kind::Controller);
    d.ty = Some("pci".into());
    d.model = Some(model.name().into());
    d.index = Some(index);
    d.pci = Some(PciController::new(model));
    d
}

fn add_controller(
    t: &Topology,
    model: PciModel,
    at: Placement,
    downstream: u8,
) -> Result<Topology, EditError> {
    if model.is_root() {
        return err("the machine has its root bus already");
    }
    if let Placement::At(a) = at
        && !controller_targets(t, model).contains(&a)
    {
        return err(format!("a {} cannot go to {}", model.name(), a.bdf()));
    }
    let index = t
        .devices
        .iter()
        .filter(|d| d.pci.is_some())
        .filter_map(|d| d.index)
        .max()
        .map_or(1, |m| m + 1);
    if index > 255 {
        return err("no PCI controller index left (the maximum is 255)");
    }
    let mut out = t.clone();
    let up = controller(fresh_origin(&out), model, index);
    insert(&mut out, place(up, at));
    if model == PciModel::PcieSwitchUpstreamPort {
        let n = downstream.clamp(1, 32);
        for k in 0..n {
            let i = index + 1 + u32::from(k);
            if i > 255 {
                return err("no PCI controller index left for the downstream ports");
            }
            let mut d = controller(fresh_origin(&out), PciModel::PcieSwitchDownstreamPort, i);
            d.address = Some(Address::Pci {
                addr: PciAddr::new(index, k, 0),
                multifunction: None,
            });
            insert(&mut out, d);
        }
    }
    finish(out, at)
}

/// Writes an assignment plan into a copy of the topology ([`Plan::define`]) and files
/// each added device where the document layer will write its element, so that the
/// edited topology lists its devices in the order the saved file will: new controllers
/// after the last controller (PCI ones after the last PCI controller), everything else
/// at the end.
pub fn define_in_file_order(t: &Topology, plan: &Plan) -> Topology {
    let mut out = plan.define(t);
    let added = out.devices.split_off(t.devices.len());
    for d in added {
        let at = if d.kind == Kind::Controller {
            let pci = d.ty.as_deref() == Some("pci");
            out.devices
                .iter()
                .rposition(|x| x.kind == Kind::Controller && (!pci || x.pci.is_some()))
                .or_else(|| out.devices.iter().rposition(|x| x.kind == Kind::Controller))
                .map_or(0, |p| p + 1)
        } else {
            out.devices.len()
        };
        out.devices.insert(at, d);
    }
    out
}

/// One state of the topology and the edit that led to it.
#[derive(Clone, Debug)]
pub struct Entry<B = ()> {
    /// What the edit did (`"opened"` for the first entry).
    pub label: String,
    /// The topology after it.
    pub topology: Topology,
    /// What the front end keeps with the state besides the topology (the libvirt
    /// layer keeps the document the topology was read from, which an edit of the raw
    /// XML replaces); carried over unchanged by topology edits.
    pub base: B,
}

/// Whether two states' payloads are the same (see [`Entry::base`]); states with the
/// same topology but a different payload are different states.
pub trait SameBase {
    /// True when `self` and `other` are the same payload.
    fn same(&self, other: &Self) -> bool;
}

impl SameBase for () {
    fn same(&self, _: &()) -> bool {
        true
    }
}

/// Undo and redo over labelled snapshots. Topologies are small enough to copy whole,
/// which keeps undo trivially correct; the oldest entries go beyond [`History::LIMIT`].
#[derive(Clone, Debug)]
pub struct History<B = ()> {
    entries: Vec<Entry<B>>,
    current: usize,
    /// The entry that matches the file on disk, if it is still in the history.
    saved: Option<usize>,
}

impl History<()> {
    /// A history whose only state is `t`, which is also what is on disk.
    pub fn new(t: Topology) -> History<()> {
        History::with_base(t, ())
    }
}

impl<B: Clone + SameBase> History<B> {
    /// How many states are kept.
    pub const LIMIT: usize = 500;

    /// A history whose only state is `t` with payload `base`, which is also what is
    /// on disk.
    pub fn with_base(t: Topology, base: B) -> History<B> {
        History {
            entries: vec![Entry {
                label: "opened".into(),
                topology: t,
                base,
            }],
            current: 0,
            saved: Some(0),
        }
    }

    /// The current topology.
    pub fn current(&self) -> &Topology {
        &self.entries[self.current].topology
    }

    /// The current state's payload.
    pub fn base(&self) -> &B {
        &self.entries[self.current].base
    }

    /// The label of the current state.
    pub fn label(&self) -> &str {
        &self.entries[self.current].label
    }

    /// Predicts every state for `platform` from now on. The target is not an edit of
    /// the guest: it changes all states alike, so undo and redo never change it back
    /// and whether the guest is saved does not change.
    pub fn set_platform(&mut self, platform: super::versions::Platform) {
        for e in &mut self.entries {
            e.topology.platform = platform;
        }
    }

    /// Applies `op` to the current topology and makes the result current; the states
    /// that could have been redone are dropped.
    pub fn apply(&mut self, op: &Op) -> Result<&str, EditError> {
        let label = op.label(self.current());
        let t = apply(self.current(), op)?;
        self.push(label, t);
        Ok(self.label())
    }

    /// Makes `t` the current state, labelled `label`, with the current payload.
    pub fn push(&mut self, label: String, t: Topology) {
        let base = self.base().clone();
        self.push_with_base(label, t, base);
    }

    /// Makes `t` with payload `base` the current state, labelled `label`.
    pub fn push_with_base(&mut self, label: String, t: Topology, base: B) {
        self.entries.truncate(self.current + 1);
        if self.saved.is_some_and(|s| s > self.current) {
            self.saved = None;
        }
        self.entries.push(Entry {
            label,
            topology: t,
            base,
        });
        self.current += 1;
        if self.entries.len() > Self::LIMIT {
            self.entries.remove(0);
            self.current -= 1;
            self.saved = self.saved.and_then(|s| s.checked_sub(1));
        }
    }

    /// Goes back one state; returns the label of the edit undone.
    pub fn undo(&mut self) -> Option<String> {
        if self.current == 0 {
            return None;
        }
        let label = self.entries[self.current].label.clone();
        self.current -= 1;
        Some(label)
    }

    /// Goes forward one state; returns the label of the edit redone.
    pub fn redo(&mut self) -> Option<String> {
        if self.current + 1 >= self.entries.len() {
            return None;
        }
        self.current += 1;
        Some(self.entries[self.current].label.clone())
    }

    /// Whether there is something to undo.
    pub fn can_undo(&self) -> bool {
        self.current > 0
    }

    /// Whether there is something to redo.
    pub fn can_redo(&self) -> bool {
        self.current + 1 < self.entries.len()
    }

    /// Whether the current state differs from the one last saved.
    pub fn dirty(&self) -> bool {
        self.saved.is_none_or(|s| {
            let saved = &self.entries[s];
            !saved.base.same(self.base()) || saved.topology != *self.current()
        })
    }

    /// Records that the current state is now on disk.
    pub fn mark_saved(&mut self) {
        self.saved = Some(self.current);
    }

    /// Every entry, oldest first, and the position of the current one.
    pub fn entries(&self) -> (&[Entry<B>], usize) {
        (&self.entries, self.current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::Machine;

    fn q35() -> Topology {
        let mut root = Device::new(Origin(1), Kind::Controller);
        root.ty = Some("pci".into());
        root.index = Some(0);
        root.model = Some("pcie-root".into());
        root.pci = Some(PciController::new(PciModel::PcieRoot));
        Topology {
            name: "t".into(),
            machine: Machine::new("x86_64", "pc-q35-7.2"),
            devices: vec![root],
            acpi: true,
            efi: false,
            numa_cells: 0,
            platform: Default::default(),
        }
    }

    fn add(t: &Topology, op: Op) -> Topology {
        apply(t, &op).unwrap_or_else(|e| panic!("{op:?}: {e}"))
    }

    #[test]
    fn root_port_then_disk_behind_it_then_undo_everything() {
        let t0 = q35();
        let mut h = History::new(t0.clone());
        let op = Op::AddController {
            model: PciModel::PcieRootPort,
            at: Placement::At(PciAddr::new(0, 2, 0)),
            downstream: 0,
        };
        h.apply(&op).expect("root port");
        let targets = device_targets(h.current(), 0, "virtio");
        assert!(targets.contains(&PciAddr::new(1, 0, 0)), "{targets:?}");
        let op = Op::AddDevice {
            template: 0,
            model: "virtio".into(),
            at: Placement::At(PciAddr::new(1, 0, 0)),
        };
        h.apply(&op).expect("disk");
        assert!(h.dirty());
        assert_eq!(h.current().devices.len(), 3);
        assert_eq!(h.current().devices[2].name.as_deref(), Some("vda"));
        // The port is full now.
        assert!(!device_targets(h.current(), 0, "virtio").contains(&PciAddr::new(1, 0, 0)));
        while h.undo().is_some() {}
        assert_eq!(*h.current(), t0);
        assert!(!h.dirty());
        assert!(h.redo().is_some());
    }

    #[test]
    fn a_new_target_reaches_every_state_and_is_not_an_edit() {
        use crate::versions::Platform;
        let mut h = History::new(q35());
        let op = Op::AddController {
            model: PciModel::PcieRootPort,
            at: Placement::At(PciAddr::new(0, 2, 0)),
            downstream: 0,
        };
        h.apply(&op).expect("root port");
        h.mark_saved();
        h.set_platform(Platform::DEBIAN12);
        assert!(!h.dirty());
        assert_eq!(h.current().platform, Platform::DEBIAN12);
        h.undo().expect("undo");
        assert_eq!(h.current().platform, Platform::DEBIAN12);
        assert!(h.dirty());
        h.redo().expect("redo");
        assert!(!h.dirty());
    }

    #[test]
    fn switch_comes_with_its_downstream_ports_and_delete_takes_them_along() {
        let t = add(
            &q35(),
            Op::AddController {
                model: PciModel::PcieRootPort,
                at: Placement::At(PciAddr::new(0, 2, 0)),
                downstream: 0,
            },
        );
        let t = add(
            &t,
            Op::AddController {
                model: PciModel::PcieSwitchUpstreamPort,
                at: Placement::At(PciAddr::new(1, 0, 0)),
                downstream: 3,
            },
        );
        assert_eq!(t.pci_controllers().len(), 6);
        let port = t.devices[1].origin;
        let t2 = add(&t, Op::Delete { device: port });
        assert_eq!(t2.devices.len(), 1, "the switch goes with its port");
    }

    #[test]
    fn move_only_to_legal_targets_and_not_behind_itself() {
        let t = add(
            &q35(),
            Op::AddController {
                model: PciModel::PcieRootPort,
                at: Placement::At(PciAddr::new(0, 2, 0)),
                downstream: 0,
            },
        );
        let port = 1;
        let targets = move_targets(&t, port);
        assert!(targets.iter().all(|a| a.bus == 0), "{targets:?}");
        assert!(
            apply(
                &t,
                &Op::Move {
                    device: t.devices[port].origin,
                    to: PciAddr::new(1, 0, 0)
                }
            )
            .is_err()
        );
        let t = add(
            &t,
            Op::Move {
                device: t.devices[port].origin,
                to: PciAddr::new(0, 3, 0),
            },
        );
        assert_eq!(t.devices[port].pci_addr(), Some(PciAddr::new(0, 3, 0)));
    }

    #[test]
    fn auto_placement_is_what_libvirt_does() {
        let t = add(
            &q35(),
            Op::AddDevice {
                template: 1,
                model: "virtio".into(),
                at: Placement::Auto,
            },
        );
        // libvirt adds a root port for the NIC (and its implicit devices).
        let nic = t
            .devices
            .iter()
            .find(|d| d.kind == Kind::Interface)
            .expect("nic");
        let bus = nic.pci_addr().expect("placed").bus;
        assert_eq!(t.bus_model(bus), Some(PciModel::PcieRootPort));
        assert!(assign::assign(&t).is_ok_and(|p| p.is_empty()));
    }

    #[test]
    fn apply_all_stops_at_the_first_bad_op_and_sets_the_machine_type() {
        let t = q35();
        let ops = [
            Op::SetMachineType {
                machine_type: "pc-q35-6.2".into(),
            },
            Op::AddController {
                model: PciModel::PcieRootPort,
                at: Placement::Unassigned,
                downstream: 0,
            },
        ];
        let out = apply_all(&t, &ops).expect("applies");
        assert_eq!(out.machine.machine_type, "pc-q35-6.2");
        assert_eq!(out.machine.arch_name, t.machine.arch_name);
        assert_eq!(out.devices.len(), t.devices.len() + 1);
        assert_eq!(ops[0].label(&t), "set the machine type to pc-q35-6.2");
        let bad = [
            ops[0].clone(),
            Op::ClearAddress {
                device: Origin(9999),
            },
        ];
        assert!(apply_all(&t, &bad).is_err());
        let empty = Op::SetMachineType {
            machine_type: " ".into(),
        };
        assert!(apply(&t, &empty).is_err());
    }

    #[test]
    fn names_and_origins_are_fresh() {
        let t = add(
            &q35(),
            Op::AddDevice {
                template: 0,
                model: "virtio".into(),
                at: Placement::Unassigned,
            },
        );
        let t = add(
            &t,
            Op::AddDevice {
                template: 0,
                model: "virtio".into(),
                at: Placement::Unassigned,
            },
        );
        let names: Vec<_> = t.devices.iter().filter_map(|d| d.name.clone()).collect();
        assert_eq!(names, ["vda", "vdb"]);
        assert_ne!(t.devices[1].origin, t.devices[2].origin);
        assert!(t.devices[1].origin.0 >= Origin::NEW_BASE);
    }
}
