//! The devices libvirt adds on its own: the PCI root, the default USB and SATA
//! controllers, the memory balloon, the controllers disks on a bus need, virtio-serial
//! controllers for channels and consoles, and a video device for graphics.

use super::controllers::MAX_INDEX;
use super::{Assigner, DeviceRef, NewDevice, Placement};
use crate::device::Kind;
use crate::diag::{Code, Diagnostic};
use crate::machine::{Arch, MachineClass};
use crate::pci::PciModel;
use crate::topology::{Device, PciController};

/// The most controllers of one disk bus a guest can have: each takes a PCI slot, and a
/// guest has at most 256 buses of 32 slots. A disk name or drive address that needs
/// more (`sdzzzzzz`, `controller='70000'`) is refused at once; libvirt itself would add
/// controllers one by one until no slot is left (for tens of thousands it runs for
/// minutes).
pub const MAX_DISK_CONTROLLERS: u32 = 256 * 32;

/// The controller index each disk on `bus` needs (a disk's drive address names it,
/// else its target name); `ty` names the controllers in the message for an index past
/// [`MAX_DISK_CONTROLLERS`].
fn disk_controllers_needed(
    devices: &[Device],
    bus: &str,
    ty: &str,
    per_controller: u32,
) -> Result<Vec<u32>, Diagnostic> {
    devices
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
        .collect()
}

/// The position a disk's target name gives it (`sda` 0, `sdz` 25, `sdaa` 26), as
/// libvirt numbers disks when it picks their drive address.
pub(super) fn disk_index(dev: &str) -> Option<u32> {
    let rest = crate::device::DISK_PREFIXES
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

impl Assigner<'_> {
    pub(super) fn add_root(&mut self) -> Result<(), Diagnostic> {
        let want = self.topo.default_root();
        let existing = self
            .placements
            .iter()
            .position(|i| i.pci.is_some() && i.index == Some(0));
        match (existing, want) {
            (Some(i), Some(w)) => {
                let m = self.placements[i].pci_model();
                if m != Some(w) {
                    return Err(Diagnostic::new(
                        Code::ControllerRoot,
                        format!(
                            "The PCI controller with index='0' must be model='{}' for this machine type, but model='{}' was found instead",
                            w.name(),
                            m.map_or("?", |m| m.name())
                        ),
                    )
                    .on(self.placements[i].topology_index())
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
            .placements
            .iter()
            .any(|i| i.index == Some(0) && i.pci_model() == Some(PciModel::PcieRoot));
        Ok(())
    }

    fn has_ctl(&self, ty: &str, index: Option<u32>) -> bool {
        self.placements
            .iter()
            .any(|i| i.is_ctl(ty) && (index.is_none() || i.index == index))
    }

    /// Adds controller `ty` at `index` with the model libvirt writes on one it adds.
    fn add_ctl(&mut self, ty: &str, index: u32, reason: &'static str) {
        let model = crate::device::added_model(Kind::Controller, Some(ty), &self.topo.machine);
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

    /// The devices libvirt adds on its own (post-parse defaults and implicit
    /// controllers), in the order it adds them, then their slot classes.
    pub(super) fn add_implicit(&mut self) -> Result<(), Diagnostic> {
        self.add_default_controllers();
        self.add_default_balloon();
        self.add_disk_controllers()?;
        self.add_virtio_serial();
        self.add_video_for_graphics();
        self.classify_added();
        Ok(())
    }

    /// The chipset's default USB controller (i440fx and q35) and q35's SATA controller.
    fn add_default_controllers(&mut self) {
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
    }

    /// The memory balloon x86 and RISC-V guests get unless they have one.
    fn add_default_balloon(&mut self) {
        let machine = &self.topo.machine;
        let devices = &self.topo.devices;
        let balloon_default = machine.arch.is_x86() || machine.arch == Arch::Riscv64;
        if balloon_default
            && self.class != MachineClass::Other
            && !devices.iter().any(|d| d.kind == Kind::Memballoon)
        {
            self.add(
                NewDevice {
                    kind: Kind::Memballoon,
                    ty: None,
                    model: crate::device::added_model(Kind::Memballoon, None, machine)
                        .map(String::from),
                    index: None,
                    reason: "default memory balloon",
                },
                None,
            );
        }
    }

    /// Controllers that disks on a bus need: the drive address names the index, and
    /// a disk without one goes where its target name puts it (hde is the fifth IDE
    /// disk, so the second IDE controller; sdh the eighth SCSI disk, so the second
    /// SCSI controller: libvirt maps seven units to each, whatever the model).
    fn add_disk_controllers(&mut self) -> Result<(), Diagnostic> {
        for (bus, ty, per_controller) in
            [("scsi", "scsi", 7), ("ide", "ide", 4), ("sata", "sata", 6)]
        {
            let needed = disk_controllers_needed(&self.topo.devices, bus, ty, per_controller)?;
            // Every index up to the highest one a disk reaches, gaps included (sdz
            // alone brings SCSI controllers 0 to 3).
            let Some(&max) = needed.iter().max() else {
                continue;
            };
            // One pass over the controllers, not one per index: a disk may reach
            // thousands of indexes.
            let have: std::collections::HashSet<u32> = self
                .placements
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
        Ok(())
    }

    /// A video device for graphics when the domain has none.
    fn add_video_for_graphics(&mut self) {
        let machine = &self.topo.machine;
        let devices = &self.topo.devices;
        if devices.iter().any(|d| d.kind == Kind::Graphics)
            && !devices.iter().any(|d| d.kind == Kind::Video)
        {
            self.add(
                NewDevice {
                    kind: Kind::Video,
                    ty: None,
                    model: crate::device::added_model(Kind::Video, None, machine).map(String::from),
                    index: None,
                    reason: "graphics need a video device",
                },
                None,
            );
        }
    }

    /// Flags and slot classes of the added devices.
    fn classify_added(&mut self) {
        let machine = &self.topo.machine;
        for it in &mut self.placements {
            if let DeviceRef::Added(_) = it.device_ref
                && it.pci.is_none()
            {
                let key = crate::device::model_key(
                    it.kind,
                    &crate::device::ModelInput {
                        ty: it.ty.as_deref(),
                        model: it.model.as_deref(),
                        bus: None,
                        selector: None,
                    },
                    machine,
                );
                let n = crate::device::facts(it.kind, &key);
                it.needs_slot = n.slot;
                it.virtio = n.virtio;
            }
        }
    }

    /// virtio-serial controllers for virtio channels and consoles. Channels without an
    /// address take the first free port (port 0 is kept for a console) of the first
    /// controller with room; when none has room, another controller is added.
    fn add_virtio_serial(&mut self) {
        let ports_of = |placements: &[Placement], devs: &[Device], idx: u32| -> u32 {
            placements
                .iter()
                .find(|i| i.is_ctl("virtio-serial") && i.index == Some(idx))
                .and_then(|i| match i.device_ref {
                    DeviceRef::Existing(d) => devs[d].ports,
                    DeviceRef::Added(_) => None,
                })
                .unwrap_or(31)
        };
        let devices = &self.topo.devices;
        let mut used: Vec<(u32, u32)> = Vec::new();
        let mut pending = 0u32;
        for d in devices {
            if !(matches!(d.kind, Kind::Channel | Kind::Console)
                && d.target_type.as_deref() == Some("virtio"))
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
            let cap = ports_of(&self.placements, devices, idx).saturating_sub(1);
            let taken = used.iter().filter(|(c, _)| *c == idx).count() as u32;
            let room = cap.saturating_sub(taken);
            pending = pending.saturating_sub(room);
            idx += 1;
        }
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
