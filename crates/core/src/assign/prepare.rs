//! The assigner's view of the domain: one placement per device with libvirt's
//! post-parse defaults, the virtio-mmio rule of ARM and RISC-V `virt`, and each
//! placement's connect flags.

use super::{Assigner, DeviceRef, Placement};
use crate::address::Address;
use crate::device::{Kind, SlotClass, VirtioForm};
use crate::diag::{Code, Diagnostic};
use crate::pci::Flags;
use crate::topology::Device;

impl Assigner<'_> {
    /// Builds one placement per device of the topology, with libvirt's post-parse defaults.
    pub(super) fn prepare(&mut self) -> Result<(), Diagnostic> {
        let machine = &self.topo.machine;
        // Devices plus what libvirt may add; growing would copy every placement again.
        self.placements.reserve(self.topo.devices.len() + 16);
        let knows_crypto = self.topo.platform.libvirt_rules().knows_crypto;
        for (i, d) in self.topo.devices.iter().enumerate() {
            let facts = d.facts(machine);
            // A release that does not know <crypto> drops it as it reads the domain,
            // and a video of type none is no device: neither takes a slot, and an
            // address written on one claims nothing (both releases).
            let dropped = (d.kind == Kind::Crypto && !knows_crypto)
                || (d.kind == Kind::Video && d.model.as_deref() == Some("none"));
            let (addr, mf, want, mmio) = match &d.address {
                _ if dropped => (None, None, false, false),
                Some(Address::Pci {
                    addr,
                    multifunction,
                }) => (Some(*addr), *multifunction, false, false),
                Some(Address::PciRequest) => (None, None, true, false),
                None => (None, None, true, false),
                Some(Address::VirtioMmio) => (None, None, false, true),
                Some(_) => (None, None, false, false),
            };
            self.placements.push(Placement {
                device_ref: DeviceRef::Existing(i),
                kind: d.kind,
                ty: d.ty.clone(),
                model: d.effective_model(machine),
                index: d.index,
                index_filled: false,
                pci: d.pci.clone(),
                flags: Flags::NONE,
                addr,
                mf_attr: mf,
                want: want && (facts.slot != SlotClass::None || d.pci.is_some()),
                assigned: false,
                moved: false,
                mmio,
                iface_hostdev: d.kind == Kind::Interface && d.ty.as_deref() == Some("hostdev"),
                needs_slot: facts.slot,
                virtio: facts.virtio,
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

    /// The virtio-mmio rule of ARM and RISC-V `virt`: when the machine has a PCIe root
    /// and no device already sits on virtio-mmio, virtio devices go on PCI; otherwise
    /// every address-less one in the list goes on virtio-mmio.
    pub(super) fn virtio_mmio(&mut self) {
        if !self.topo.machine.arch.has_virtio_mmio() {
            return;
        }
        let any_mmio = self.placements.iter().any(|i| i.mmio);
        let pci_ok = self.pcie_root && !any_mmio;
        if pci_ok {
            return;
        }
        for it in &mut self.placements {
            if !it.want || it.addr.is_some() {
                continue;
            }
            // Only address-less devices (not `<address type='pci'/>` requests).
            if let DeviceRef::Existing(i) = it.device_ref
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

    pub(super) fn compute_flags(&mut self) {
        let pci = Flags::PCI_DEVICE.or(Flags::AUTOASSIGN);
        let pcie = if self.pcie_root {
            Flags::PCIE_DEVICE.or(Flags::AUTOASSIGN)
        } else {
            pci
        };
        let machine = &self.topo.machine;
        for it in &mut self.placements {
            let mut f = if let Some(p) = &it.pci {
                p.model.info().connect
            } else {
                match it.needs_slot {
                    SlotClass::None => Flags::NONE,
                    SlotClass::Pci => pci,
                    SlotClass::Pcie | SlotClass::Virtio => pcie,
                }
            };
            if let DeviceRef::Existing(i) = it.device_ref {
                let d = &self.topo.devices[i];
                if d.pci.is_none() && d.facts(machine).integrated {
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
}
