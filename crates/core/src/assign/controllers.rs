//! Controllers: the indexes libvirt fills in (USB2 companions join their group), the
//! rules it checks on every controller (duplicates, machine support, `<target>`
//! options and their ranges), and the `<target>`/`<model>` defaults it writes on PCI
//! controllers after placement.

use super::{Assigner, Placement};
use crate::device::Kind;
use crate::diag::{Code, Diagnostic};
use crate::machine::MachineClass;
use crate::pci::PciModel;
use crate::topology::PciController;
use std::collections::{HashMap, HashSet};

/// Models of USB2 companion controllers and the function each takes in its slot.
pub(super) const USB2_COMPANIONS: &[(&str, u8)] = &[
    ("ich9-ehci1", 7),
    ("ich9-uhci1", 0),
    ("ich9-uhci2", 1),
    ("ich9-uhci3", 2),
];

/// The largest index libvirt reads: it parses `index` as a signed int, so 2^31 and
/// above are refused ("Expected integer value").
pub(super) const MAX_INDEX: u32 = i32::MAX as u32;

/// True for the ICH9 USB2 controllers that share an index as master and companions.
fn is_usb2_model(model: Option<&str>) -> bool {
    USB2_COMPANIONS.iter().any(|(m, _)| model == Some(m))
}

/// A USB companion: it has `<master>`, or it is an ICH9 UHCI, which libvirt gives
/// `<master startport>` itself (0, 2, 4). At most one USB controller of an index is
/// not a companion (the EHCI counts as the one: `piix3-uhci` beside `ich9-ehci1` is a
/// duplicate), and some USB controller must not be one.
pub(super) fn is_usb_companion(model: Option<&str>, master: bool) -> bool {
    master || (is_usb2_model(model) && model != Some("ich9-ehci1"))
}

impl Assigner<'_> {
    /// Controllers without `index` get the lowest unused one of their type, in
    /// document order.
    pub(super) fn fill_indexes(&mut self) -> Result<(), Diagnostic> {
        let is_usb2 = |it: &Placement| {
            it.is_ctl("usb")
                && USB2_COMPANIONS
                    .iter()
                    .any(|(m, _)| it.model.as_deref() == Some(m))
        };
        // The USB controller seen last, for index-less USB2 companions: they join the
        // group of the controller before them unless that group already has their model.
        let mut last_usb: Option<usize> = None;
        for i in 0..self.placements.len() {
            if self.placements[i].kind != Kind::Controller {
                continue;
            }
            if self.placements[i].index.is_some() {
                if self.placements[i].is_ctl("usb") {
                    last_usb = Some(i);
                }
                continue;
            }
            if is_usb2(&self.placements[i])
                && let Some(prev) = last_usb.filter(|&p| is_usb2(&self.placements[p]))
            {
                let group = self.placements[prev].index;
                let model = self.placements[i].model.clone();
                let taken = self
                    .placements
                    .iter()
                    .any(|o| o.is_ctl("usb") && o.index == group && o.model == model);
                if !taken {
                    self.placements[i].index = group;
                    self.placements[i].index_filled = true;
                    last_usb = Some(i);
                    continue;
                }
            }
            if self.placements[i].is_ctl("usb") {
                last_usb = Some(i);
            }
            let ty = self.placements[i].ty.clone();
            let mut n = 0;
            while self
                .placements
                .iter()
                .any(|o| o.kind == Kind::Controller && o.ty == ty && o.index == Some(n))
            {
                n += 1;
            }
            self.placements[i].index = Some(n);
            self.placements[i].index_filled = true;
            // A PCI controller without a model becomes the root at index 0 and a
            // machine-appropriate bus elsewhere; the reader guessed before the index was known.
            if let Some(p) = &mut self.placements[i].pci
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

    /// The rules libvirt checks on every controller, in document order: indexes
    /// used twice, IDE where the machine has none, then a PCI controller's index,
    /// machine and `<target>` options.
    pub(super) fn validate_controllers(&self) -> Result<(), Diagnostic> {
        let mut seen: HashSet<(&str, u32)> = HashSet::new();
        // USB controllers that are not companions, per index: one each at most (counted
        // once, not by a scan per controller, which thousands of them made quadratic).
        let mut usb_heads: HashMap<Option<u32>, usize> = HashMap::new();
        for o in self
            .placements
            .iter()
            .filter(|o| o.is_ctl("usb") && !self.is_companion(o))
        {
            *usb_heads.entry(o.index).or_insert(0) += 1;
        }
        for it in &self.placements {
            if it.kind != Kind::Controller {
                continue;
            }
            self.check_index_unique(it, &usb_heads, &mut seen)?;
            self.check_ide(it)?;
            let Some(p) = &it.pci else { continue };
            self.check_pci_index(it, p)?;
            check_pci_target(it, p)?;
        }
        Ok(())
    }

    /// An index one controller of a type holds alone (`seen`: the types and indexes so
    /// far); USB companions share their master's.
    fn check_index_unique<'a>(
        &'a self,
        it: &'a Placement,
        usb_heads: &HashMap<Option<u32>, usize>,
        seen: &mut HashSet<(&'a str, u32)>,
    ) -> Result<(), Diagnostic> {
        let ty = it.ty.as_deref().unwrap_or("");
        let idx = it.index.unwrap_or(0);
        if ty == "usb" && !self.is_companion(it) && usb_heads.get(&it.index).is_some_and(|&n| n > 1)
        {
            return Err(Diagnostic::new(
                Code::ControllerIndex,
                format!("Duplicate USB controllers with index {idx}"),
            )
            .on(it.topology_index())
            .hint("only ICH9 EHCI/UHCI companions may share a USB controller index"));
        }
        if ty != "usb" && !seen.insert((ty, idx)) {
            return Err(Diagnostic::new(
                Code::ControllerIndex,
                format!("Multiple '{ty}' controllers with index '{idx}'"),
            )
            .on(it.topology_index())
            .hint("give each controller its own index"));
        }
        Ok(())
    }

    /// A USB companion controller (it shares its master's index).
    fn is_companion(&self, o: &Placement) -> bool {
        let master = o
            .topology_index()
            .is_some_and(|i| self.topo.devices[i].master_startport.is_some());
        is_usb_companion(o.model.as_deref(), master)
    }

    /// IDE controllers: one on i440fx (the PIIX3's), none on q35.
    fn check_ide(&self, it: &Placement) -> Result<(), Diagnostic> {
        let ty = it.ty.as_deref().unwrap_or("");
        let idx = it.index.unwrap_or(0);
        if ty == "ide" && self.class == MachineClass::I440fx && idx > 0 {
            return Err(Diagnostic::new(Code::DeviceUnsupported, "Only 1 IDE controller is supported")
                .on(it.topology_index())
                .hint("the PIIX3 has one IDE controller with 4 disks (hda-hdd); put more disks on virtio or SCSI"));
        }
        if ty == "ide" && matches!(self.class, MachineClass::Q35 | MachineClass::Virt) {
            return Err(Diagnostic::new(
                Code::DeviceUnsupported,
                "IDE controllers are unsupported for this QEMU binary or machine type",
            )
            .on(it.topology_index())
            .hint("only i440fx has IDE: use bus='sata' (q35) or bus='virtio' / 'scsi' for disks"));
        }
        Ok(())
    }

    /// A PCI controller's index (0 for the root only, no address on the root) and
    /// the machines an expander bus needs.
    fn check_pci_index(&self, it: &Placement, p: &PciController) -> Result<(), Diagnostic> {
        let idx = it.index.unwrap_or(0);
        let name = p.model.name();
        if p.model.is_root() {
            if idx != 0 {
                return Err(Diagnostic::new(
                    Code::ControllerIndex,
                    "pci-root and pcie-root controllers should have index 0",
                )
                .on(it.topology_index()));
            }
            if it.addr.is_some() {
                return Err(Diagnostic::new(
                    Code::ControllerIndex,
                    "pci-root and pcie-root controllers should not have an address",
                )
                .on(it.topology_index()));
            }
        } else if idx == 0 {
            return Err(Diagnostic::new(
                Code::ControllerIndex,
                format!("Index for '{name}' controllers must be > 0"),
            )
            .on(it.topology_index())
            .hint("index 0 is the root bus; give this controller index 1 or higher"));
        }
        if p.model == PciModel::PciExpanderBus && self.class != MachineClass::I440fx {
            return Err(Diagnostic::new(
                Code::ControllerMachine,
                "pci-expander-bus controllers are only supported on 440fx-based machinetypes",
            )
            .on(it.topology_index())
            .hint("on PCIe machines use pcie-expander-bus"));
        }
        if p.model == PciModel::PcieExpanderBus
            && !matches!(self.class, MachineClass::Q35 | MachineClass::Virt)
        {
            return Err(Diagnostic::new(
                Code::ControllerMachine,
                "pcie-expander-bus controllers are not supported with this machine type",
            )
            .on(it.topology_index()));
        }
        Ok(())
    }
}

/// A PCI controller's `<target>` options: only those its model has, in their ranges,
/// and a `<model name>` QEMU has for it.
fn check_pci_target(it: &Placement, p: &PciController) -> Result<(), Diagnostic> {
    let idx = it.index.unwrap_or(0);
    let name = p.model.name();
    let opt_err = |opt: &str| {
        Diagnostic::new(
            Code::ControllerTarget,
            format!(
                "Option '{opt}' is not valid for PCI controller with index '{idx}', model '{name}' and modelName '{}'",
                p.qemu_device()
            ),
        )
        .on(it.topology_index())
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
        .on(it.topology_index()));
    }
    for (n, v) in [("chassis", p.chassis), ("port", p.port)] {
        if let Some(v) = v
            && v > 255
        {
            return Err(Diagnostic::new(
                Code::ControllerTarget,
                format!("PCI controller {n} '{v}' out of range - must be 0-255"),
            )
            .on(it.topology_index()));
        }
    }
    if let Some(b) = p.bus_nr
        && !(1..=254).contains(&b)
    {
        return Err(Diagnostic::new(
            Code::ControllerTarget,
            format!("PCI controller busNr '{b}' out of range - must be 1-254"),
        )
        .on(it.topology_index()));
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
            .on(it.topology_index())
            .hint(format!("use <model name='{}'/> or leave it out", info.qemu_device)));
        }
    }
    Ok(())
}

impl Assigner<'_> {
    pub(super) fn controller_defaults(&mut self) -> Result<(), Diagnostic> {
        let mut order: Vec<usize> = (0..self.placements.len())
            .filter(|&i| self.placements[i].pci.is_some())
            .collect();
        order.sort_by_key(|&i| self.placements[i].index);
        let mut lowest_bus_nr = self
            .placements
            .iter()
            .filter_map(|i| i.pci.as_ref().and_then(|p| p.bus_nr))
            .min()
            .unwrap_or(256);
        for i in order {
            let idx = self.placements[i].index.unwrap_or(0);
            let addr = self.placements[i].addr;
            let Some(p) = self.placements[i].pci.as_mut() else {
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
                            .on(self.placements[i].topology_index())
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
                        .on(self.placements[i].topology_index())
                        .hint("renumber the controllers so that a bridge's index exceeds its parent's"));
            }
        }
        Ok(())
    }
}
