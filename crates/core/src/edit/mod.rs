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
//!
//! This file holds the operations and their application, one function per operation;
//! `catalog` what can be added, `targets` where things may go, `insert` where new
//! devices sit in document order, `keep` where an add or a move renames nothing in
//! the guest, `history` undo and redo.

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

mod catalog;
mod history;
mod insert;
mod keep;
mod targets;
#[cfg(test)]
mod tests;

pub use catalog::*;
pub use history::*;
pub use insert::*;
pub use keep::*;
pub use targets::*;

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
        Op::Move { device, to } => move_device(t, device, to),
        Op::Delete { device } => delete(t, device),
        Op::SetModel { device, model } => set_model(t, device, model),
        Op::SetHotplug { device, on } => set_hotplug(t, device, on),
        Op::ClearAddress { device } => clear_address(t, device),
        Op::AutoAssign => auto_assign(t),
        Op::SetMachineType { machine_type } => set_machine_type(t, machine_type),
        Op::SetDiskTarget { device, bus, dev } => set_disk_target(t, device, bus, dev),
        Op::ReplaceController { device, model } => replace_controller(t, device, model),
        Op::ToMmio { device } => to_mmio(t, device),
    }
}

/// Moves a device to a free place of a bus that accepts it; a slot it shares gets
/// `multifunction='on'` on function 0 ([`share_slot`]), undone with the move.
fn move_device(t: &Topology, device: &Origin, to: &PciAddr) -> Result<Topology, EditError> {
    let i = device_of(t, *device)?;
    if t.devices[i].pci_addr() == Some(*to) {
        return err("the device is already there");
    }
    if !move_targets(t, i).contains(to) {
        return err(format!(
            "{} cannot go to {}: not a free place of a bus that accepts it",
            t.devices[i].describe(&t.machine),
            to.bdf()
        ));
    }
    let mut out = t.clone();
    out.devices[i].address = Some(Address::Pci {
        addr: *to,
        multifunction: None,
    });
    share_slot(&mut out, *to);
    Ok(out)
}

/// Deletes a device and, for a controller, everything behind it.
fn delete(t: &Topology, device: &Origin) -> Result<Topology, EditError> {
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

/// Sets a device's model to one it may have.
fn set_model(t: &Topology, device: &Origin, model: &Option<String>) -> Result<Topology, EditError> {
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

/// Turns hotplug on or off on a root port or downstream port.
fn set_hotplug(t: &Topology, device: &Origin, on: &bool) -> Result<Topology, EditError> {
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

/// Drops a device's address, for libvirt to assign.
fn clear_address(t: &Topology, device: &Origin) -> Result<Topology, EditError> {
    let i = device_of(t, *device)?;
    let mut out = t.clone();
    out.devices[i].address = None;
    Ok(out)
}

/// Fills in every address as libvirt would.
fn auto_assign(t: &Topology) -> Result<Topology, EditError> {
    let plan = assign::assign(t)?;
    if plan.is_empty() {
        return err("every address is already assigned");
    }
    Ok(define_in_file_order(t, &plan))
}

/// Sets the machine type.
fn set_machine_type(t: &Topology, machine_type: &str) -> Result<Topology, EditError> {
    if machine_type.trim().is_empty() {
        return err("a machine type cannot be empty");
    }
    let mut out = t.clone();
    out.machine = Machine::new(&t.machine.arch_name, machine_type);
    Ok(out)
}

/// Sets a disk's target bus and name (an address of another bus goes).
fn set_disk_target(
    t: &Topology,
    device: &Origin,
    bus: &str,
    dev: &str,
) -> Result<Topology, EditError> {
    let i = device_of(t, *device)?;
    if t.devices[i].kind != Kind::Disk {
        return err("only a disk has a target bus");
    }
    if bus.trim().is_empty() || dev.trim().is_empty() {
        return err("a disk target needs a bus and a name");
    }
    if t.devices
        .iter()
        .any(|d| d.kind == Kind::Disk && d.origin != *device && d.name.as_deref() == Some(dev))
    {
        return err(format!("another disk is already {dev}"));
    }
    let mut out = t.clone();
    let d = &mut out.devices[i];
    d.bus = Some(bus.to_string());
    d.name = Some(dev.to_string());
    if !matches!(
        d.address,
        Some(Address::Pci { .. }) | Some(Address::PciRequest)
    ) {
        d.address = None;
        d.addr_controller = None;
    }
    Ok(out)
}

/// Makes a PCI controller another model, keeping its index.
fn replace_controller(
    t: &Topology,
    device: &Origin,
    model: &PciModel,
) -> Result<Topology, EditError> {
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

/// Puts a virtio device on virtio-mmio (ARM and RISC-V virt).
fn to_mmio(t: &Topology, device: &Origin) -> Result<Topology, EditError> {
    let i = device_of(t, *device)?;
    if !t.machine.arch.has_virtio_mmio() || t.machine.class != MachineClass::Virt {
        return err("virtio-mmio is a transport of the ARM and RISC-V virt machines");
    }
    if t.devices[i].facts(&t.machine).virtio == VirtioForm::No {
        return err(format!(
            "{} is not a virtio device",
            t.devices[i].describe(&t.machine)
        ));
    }
    let mut out = t.clone();
    out.devices[i].address = Some(Address::VirtioMmio);
    Ok(out)
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
