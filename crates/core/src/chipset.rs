//! The chipset table: every function a machine class has built in (address, name, the
//! XML element that stands for it, its IO BARs, its PCI id, whether QEMU creates it
//! with the machine, what libvirt calls it when it refuses another address), and the slots
//! libvirt prefers for some devices on bus 0. Assignment, the IO plan, the tree, the
//! guest view and QEMU's arguments all read it.

use super::address::PciAddr;
use super::device::Kind;
use super::machine::{Machine, MachineClass};
use super::topology::Device;

/// A function that every machine of a class has built in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChipsetFunction {
    /// Where it sits.
    pub addr: PciAddr,
    /// What it is.
    pub name: &'static str,
    /// The device in the XML that stands for it, if any (`controller sata 0`, ...):
    /// libvirt keeps that element at this address and refuses any other. Functions
    /// without one are still taken: a user's device there is a double use.
    pub xml: Option<(Kind, &'static str, u32)>,
    /// How libvirt names the element when it refuses another address for it.
    pub libvirt_name: &'static str,
    /// Its IO BARs (sizes, bytes), as measured under both firmwares.
    pub io_bars: &'static [u32],
    /// Vendor and device id, as the guest's `lspci -n` shows them.
    pub pci_id: (u16, u16),
    /// QEMU creates it with the machine, so libvirt passes no `-device` for its element
    /// (the PIIX3 UHCI is pinned to 00:01.2 by libvirt but added as `piix3-usb-uhci`).
    pub built_by_qemu: bool,
}

impl ChipsetFunction {
    /// Whether `dev` is the XML element that stands for this function: the primary
    /// SATA or IDE controller, or USB index 0 when it is the PIIX3 UHCI (libvirt only
    /// pins that model to 00:01.2; a qemu-xhci at index 0 is an ordinary device).
    pub fn stands_for(&self, dev: &Device, machine: &Machine) -> bool {
        let Some((kind, ty, index)) = self.xml else {
            return false;
        };
        // A controller without `index` gets the lowest free one, 0 for the first.
        if dev.kind != kind || dev.ty.as_deref() != Some(ty) || dev.index.unwrap_or(0) != index {
            return false;
        }
        ty != "usb" || dev.effective_model(machine).as_deref() == Some("piix3-uhci")
    }

    /// The function libvirt keeps although no element stands for it (the host bridge
    /// at 00:00.0 is never assignable anyway).
    pub fn kept_without_element(&self) -> bool {
        self.xml.is_none() && self.addr.slot != 0
    }

    /// libvirt's refusal when the element that stands for it asks for another address.
    pub fn wrong_address_message(&self) -> String {
        format!(
            "{} must have PCI address 0:0:{:x}.{}",
            self.libvirt_name, self.addr.slot, self.addr.function
        )
    }
}

const fn chip(
    (slot, function): (u8, u8),
    name: &'static str,
    device_id: u16,
    xml: Option<(Kind, &'static str, u32)>,
) -> ChipsetFunction {
    ChipsetFunction {
        addr: PciAddr::new(0, slot, function),
        name,
        xml,
        libvirt_name: "",
        io_bars: &[],
        // Every chipset function is Intel's.
        pci_id: (0x8086, device_id),
        built_by_qemu: true,
    }
}

/// The fixed chipset functions of q35.
pub const Q35_CHIPSET: &[ChipsetFunction] = &[
    chip((0x00, 0), "host bridge (MCH)", 0x29c0, None),
    chip((0x1f, 0), "ICH9 LPC/ISA bridge", 0x2918, None),
    ChipsetFunction {
        libvirt_name: "Primary SATA controller",
        io_bars: &[0x20],
        ..chip(
            (0x1f, 2),
            "ICH9 SATA (AHCI)",
            0x2922,
            Some((Kind::Controller, "sata", 0)),
        )
    },
    ChipsetFunction {
        io_bars: &[0x40],
        ..chip((0x1f, 3), "ICH9 SMBus", 0x2930, None)
    },
];

/// The fixed chipset functions of i440fx.
pub const I440FX_CHIPSET: &[ChipsetFunction] = &[
    chip((0x00, 0), "host bridge (i440FX)", 0x1237, None),
    chip((0x01, 0), "PIIX3 ISA bridge", 0x7000, None),
    ChipsetFunction {
        libvirt_name: "Primary IDE controller",
        io_bars: &[0x10],
        ..chip(
            (0x01, 1),
            "PIIX3 IDE",
            0x7010,
            Some((Kind::Controller, "ide", 0)),
        )
    },
    ChipsetFunction {
        libvirt_name: "PIIX3 USB controller at index 0",
        built_by_qemu: false,
        ..chip(
            (0x01, 2),
            "PIIX3 USB (UHCI)",
            0x7020,
            Some((Kind::Controller, "usb", 0)),
        )
    },
    chip((0x01, 3), "PIIX4 power management", 0x7113, None),
];

/// The chipset functions of a machine class.
pub fn chipset(class: MachineClass) -> &'static [ChipsetFunction] {
    match class {
        MachineClass::Q35 => Q35_CHIPSET,
        MachineClass::I440fx => I440FX_CHIPSET,
        MachineClass::Virt | MachineClass::Other => &[],
    }
}

/// A device libvirt places on a slot of bus 0 of its own choosing when the XML gives it
/// no address and the slot is free.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preferred {
    /// The first ICH9 UHCI1 USB controller with no `<address>` at all (its companions
    /// follow it into the slot).
    Ich9Uhci1,
    /// A DMI-to-PCI bridge.
    DmiToPciBridge,
    /// The primary video device (when the slot is taken it goes to the next free one
    /// before every other device).
    PrimaryVideo,
    /// An ICH9 sound card.
    Ich9Sound,
}

/// Preferred slots per machine class, in the order libvirt places them; a device takes
/// the first of its slots that is free.
pub const PREFERRED: &[(MachineClass, Preferred, &[u8])] = &[
    (MachineClass::I440fx, Preferred::PrimaryVideo, &[0x02]),
    (MachineClass::Q35, Preferred::Ich9Uhci1, &[0x1d, 0x1a]),
    (MachineClass::Q35, Preferred::DmiToPciBridge, &[0x1e]),
    (MachineClass::Q35, Preferred::PrimaryVideo, &[0x01]),
    (MachineClass::Q35, Preferred::Ich9Sound, &[0x1b]),
];

/// The preferred slots of a machine class, in the order libvirt places them.
pub fn preferred(class: MachineClass) -> impl Iterator<Item = (Preferred, &'static [u8])> {
    PREFERRED
        .iter()
        .filter(move |(c, _, _)| *c == class)
        .map(|&(_, p, slots)| (p, slots))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_element_has_libvirts_name_and_every_function_one_row() {
        for class in [MachineClass::Q35, MachineClass::I440fx] {
            let rows = chipset(class);
            for (k, r) in rows.iter().enumerate() {
                assert_eq!(r.xml.is_some(), !r.libvirt_name.is_empty(), "{}", r.name);
                assert!(rows[..k].iter().all(|o| o.addr != r.addr), "{}", r.name);
                assert!(r.io_bars.iter().all(|b| b.is_power_of_two()), "{}", r.name);
            }
        }
        assert_eq!(
            I440FX_CHIPSET[2].wrong_address_message(),
            "Primary IDE controller must have PCI address 0:0:1.1"
        );
        assert_eq!(
            Q35_CHIPSET[2].wrong_address_message(),
            "Primary SATA controller must have PCI address 0:0:1f.2"
        );
    }
}
