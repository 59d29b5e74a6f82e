//! The chipset's addresses: elements that stand for a built-in function go to its
//! address, functions without an element are reserved, and devices with a preferred
//! bus-0 slot (primary video, ICH9 UHCI1, DMI-to-PCI bridge, ICH9 sound) take it.

use super::bus::{BusAllocator, show};
use super::{Assigner, DeviceRef, Placement, err_on};
use crate::address::PciAddr;
use crate::chipset::{self, ChipsetFunction, Preferred};
use crate::device::Kind;
use crate::diag::{Code, Diagnostic};
use crate::machine::MachineClass;
use crate::pci::{Flags, PciModel};

impl Assigner<'_> {
    pub(super) fn is_piix3_fixed(&self, it: &Placement) -> bool {
        self.class == MachineClass::I440fx
            && it.index == Some(0)
            && (it.is_ctl("ide")
                || (it.is_ctl("usb") && matches!(it.model.as_deref(), None | Some("piix3-uhci"))))
    }

    /// Fixed and preferred chipset addresses (§5), as the chipset table gives them: the
    /// elements that stand for a chipset function go to its address (another one is
    /// refused), the functions without an element are kept, then the devices with a
    /// preferred slot on bus 0 take it when it is free.
    pub(super) fn place_chipset(
        &mut self,
        alloc: &mut BusAllocator,
        dry: bool,
    ) -> Result<(), Diagnostic> {
        let table = chipset::chipset(self.class);
        for f in table.iter().filter(|f| f.xml.is_some()) {
            self.fixed_chipset_element(alloc, f)?;
        }
        for f in table.iter().filter(|f| f.kept_without_element()) {
            self.reserve_chipset(alloc, f.addr)?;
        }
        for (what, slots) in chipset::preferred(self.class) {
            match what {
                Preferred::PrimaryVideo => self.primary_video(alloc, slots[0], dry)?,
                Preferred::Ich9Uhci1 => self.preferred_uhci1(alloc, slots)?,
                Preferred::DmiToPciBridge => self.preferred_slot(alloc, slots, |it| {
                    it.want && it.pci_model() == Some(PciModel::DmiToPciBridge)
                })?,
                Preferred::Ich9Sound => self.preferred_slot(alloc, slots, |it| {
                    it.kind == Kind::Sound && it.want && it.model.as_deref() == Some("ich9")
                })?,
            }
        }
        Ok(())
    }

    /// Puts the elements that stand for chipset function `f` at its address. On
    /// i440fx the PIIX3 IDE and UHCI are reserved here (the collection skips them);
    /// q35's SATA controller only when it had no address (one written there was
    /// reserved with the user's addresses).
    fn fixed_chipset_element(
        &mut self,
        alloc: &mut BusAllocator,
        f: &ChipsetFunction,
    ) -> Result<(), Diagnostic> {
        let pci = Flags::PCI_DEVICE;
        let Some((_, ty, index)) = f.xml else {
            return Ok(());
        };
        let want = f.addr;
        for i in 0..self.placements.len() {
            let it = &self.placements[i];
            let piix3 = self.is_piix3_fixed(it);
            let stands = if self.class == MachineClass::I440fx {
                piix3 && it.is_ctl(ty)
            } else {
                it.is_ctl(ty) && it.index == Some(index)
            };
            if !stands {
                continue;
            }
            match it.addr {
                Some(a) if a != want => {
                    return Err(Diagnostic::new(
                        Code::PciChipsetAddress,
                        f.wrong_address_message(),
                    )
                    .on(it.topology_index()));
                }
                Some(_) if !piix3 => {}
                Some(_) => {
                    let mut a = want;
                    alloc
                        .reserve_config(&mut a, pci)
                        .map_err(|d| err_on(d, &self.placements[i]))?;
                }
                None => {
                    if piix3 {
                        self.set_addr(i, want, false);
                    }
                    let mut a = want;
                    alloc
                        .reserve_config(&mut a, pci)
                        .map_err(|d| err_on(d, &self.placements[i]))?;
                    if !piix3 {
                        self.set_addr(i, want, false);
                    }
                }
            }
        }
        Ok(())
    }

    /// Address-less ICH9 UHCI1 controllers take the first free of `slots`; their
    /// companions then follow them there. Only controllers with no `<address>` at all:
    /// an empty `<address type='pci'/>` gets ordinary placement.
    fn preferred_uhci1(
        &mut self,
        alloc: &mut BusAllocator,
        slots: &[u8],
    ) -> Result<(), Diagnostic> {
        for i in 0..self.placements.len() {
            let it = &self.placements[i];
            let bare = match it.device_ref {
                DeviceRef::Existing(d) => self.topo.devices[d].address.is_none(),
                DeviceRef::Added(_) => true,
            };
            if bare
                && it.is_ctl("usb")
                && it.want
                && it.model.as_deref() == Some("ich9-uhci1")
                && let Some(&slot) = slots.iter().find(|&&s| alloc.slot_free(0, s))
            {
                let mut a = PciAddr::new(0, slot, 0);
                alloc.reserve_config(&mut a, it.flags)?;
                self.set_addr(i, a, false);
                self.placements[i].force_multifunction = true;
            }
        }
        Ok(())
    }

    /// The first placement `is` picks takes the first free of `slots`.
    fn preferred_slot(
        &mut self,
        alloc: &mut BusAllocator,
        slots: &[u8],
        is: impl Fn(&Placement) -> bool,
    ) -> Result<(), Diagnostic> {
        if let Some(i) = self.placements.iter().position(is)
            && let Some(&slot) = slots.iter().find(|&&s| alloc.slot_free(0, s))
        {
            let mut a = PciAddr::new(0, slot, 0);
            alloc.reserve_config(&mut a, self.placements[i].flags)?;
            self.set_addr(i, a, false);
        }
        Ok(())
    }

    /// Reserves a chipset function that has no element; a user's device already there
    /// is refused as libvirt refuses it.
    fn reserve_chipset(&self, alloc: &mut BusAllocator, a: PciAddr) -> Result<(), Diagnostic> {
        if alloc.buses[0].used[a.slot as usize] & (1 << a.function) != 0 {
            let who = self.placements.iter().find(|it| it.addr == Some(a));
            let d = Diagnostic::new(
                Code::PciDoubleUse,
                format!("Attempted double use of PCI Address {}", show(&a)),
            )
            .hint(format!(
                "{} belongs to the {} chipset even though the XML has no element for it: move the device",
                show(&a),
                self.class.name()
            ));
            return Err(match who {
                Some(it) => err_on(d, it),
                None => d,
            });
        }
        let mut a = a;
        alloc.reserve_config(&mut a, Flags::PCI_DEVICE)
    }

    fn primary_video(
        &mut self,
        alloc: &mut BusAllocator,
        slot: u8,
        dry: bool,
    ) -> Result<(), Diagnostic> {
        let Some(&i) = self.videos().first() else {
            return Ok(());
        };
        if !self.placements[i].want || self.placements[i].flags == Flags::NONE {
            return Ok(());
        }
        // The preferred slot if free, otherwise the next free one right away, ahead of
        // the controllers and every other device. libvirt writes the preferred slot onto
        // the device even in the dry run, but not the fallback: there the video stays
        // unplaced and takes a second slot in the video step, which can cost a bus.
        if alloc.slot_free(0, slot) {
            let mut a = PciAddr::new(0, slot, 0);
            alloc.reserve_config(&mut a, self.placements[i].flags)?;
            self.set_addr(i, a, false);
        } else {
            let a = alloc
                .reserve_next(self.placements[i].flags, None)
                .map_err(|d| err_on(d, &self.placements[i]))?;
            if !dry {
                self.set_addr(i, a, false);
            }
        }
        Ok(())
    }
}
