//! Device addresses: PCI (domain, bus = controller index, slot, function), virtio-mmio,
//! and the other address types kept as they are.

use std::fmt;

/// A PCI address as libvirt writes it. `bus` is the index of a PCI controller, not the
/// guest-visible bus number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PciAddr {
    /// PCI domain (always 0 for QEMU guests).
    pub domain: u32,
    /// Controller index.
    pub bus: u32,
    /// Slot 0–31.
    pub slot: u8,
    /// Function 0–7.
    pub function: u8,
}

impl PciAddr {
    /// An address on domain 0.
    pub const fn new(bus: u32, slot: u8, function: u8) -> PciAddr {
        PciAddr {
            domain: 0,
            bus,
            slot,
            function,
        }
    }

    /// `bus:slot.function` in hex, the short form used in trees (`01:00.0`).
    pub fn bdf(&self) -> String {
        // Written by hand: the tree formats one per row on every key press.
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(8);
        if self.bus > 0xff {
            s.push_str(&format!("{:02x}", self.bus));
        } else {
            s.push(HEX[(self.bus >> 4) as usize] as char);
            s.push(HEX[(self.bus & 15) as usize] as char);
        }
        s.push(':');
        s.push(HEX[(self.slot >> 4 & 15) as usize] as char);
        s.push(HEX[(self.slot & 15) as usize] as char);
        s.push('.');
        if self.function > 15 {
            s.push_str(&format!("{:x}", self.function));
        } else {
            s.push(HEX[self.function as usize] as char);
        }
        s
    }

    /// True for the all-zero address, which in XML means "assign one for me".
    pub fn is_zero(&self) -> bool {
        self.domain == 0 && self.bus == 0 && self.slot == 0 && self.function == 0
    }
}

impl fmt::Display for PciAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.domain, self.bus, self.slot, self.function
        )
    }
}

/// A device's `<address>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// `type='pci'`; `multifunction` is the attribute as written (`None` when absent).
    Pci {
        /// The address.
        addr: PciAddr,
        /// `multifunction='on'|'off'` as written.
        multifunction: Option<bool>,
    },
    /// `<address type='pci'/>` with every field zero or missing: a request for a PCI slot.
    PciRequest,
    /// `type='virtio-mmio'`.
    VirtioMmio,
    /// `type='unassigned'` (a PCI hostdev kept out of the guest's PCI space).
    Unassigned,
    /// Any other type (drive, usb, virtio-serial, ccid, ccw, isa, spapr-vio, ...).
    Other(String),
}

impl Address {
    /// The PCI address, if this is one with a slot.
    pub fn pci(&self) -> Option<PciAddr> {
        match self {
            Address::Pci { addr, .. } => Some(*addr),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bdf_is_lspci_style_hex() {
        for (bus, slot, function) in [
            (0, 0, 0),
            (0, 0x1f, 2),
            (0xab, 0x10, 7),
            (0x100, 0xff, 0x0f),
        ] {
            let a = PciAddr::new(bus, slot, function);
            assert_eq!(
                a.bdf(),
                format!("{bus:02x}:{slot:02x}.{function:x}"),
                "{bus} {slot} {function}"
            );
        }
    }
}
