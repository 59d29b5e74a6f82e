//! The order libvirt places devices in: controllers as it keeps them, disks as it files
//! them, the primary video first, and the auto-assignment order of the kinds.

use super::implicit::disk_index;
use super::{Assigner, DeviceRef, Placement};
use crate::device::Kind;
use crate::topology::Device;

impl Assigner<'_> {
    /// The controllers in the order libvirt keeps them: those from the XML grouped by
    /// type in order of first appearance, ascending index within a type; then the ones
    /// libvirt added itself, in the order it added them (appended, not grouped).
    fn controller_order(&self) -> Vec<usize> {
        let parsed = |it: &Placement| matches!(it.device_ref, DeviceRef::Existing(_));
        let sorted = self.topo.platform.libvirt_rules().added_controllers_sorted;
        // Types in the order they first appear; with 11.x's filing, the types only
        // added controllers have come after the user's.
        let mut types: Vec<Option<String>> = Vec::new();
        let ctls = self
            .placements
            .iter()
            .filter(|it| it.kind == Kind::Controller);
        for it in ctls.filter(|it| parsed(it) || sorted) {
            if !types.contains(&it.ty) {
                types.push(it.ty.clone());
            }
        }
        let mut order: Vec<usize> = (0..self.placements.len())
            .filter(|&i| self.placements[i].kind == Kind::Controller)
            .collect();
        order.sort_by_key(|&i| {
            let it = &self.placements[i];
            let ty = types.iter().position(|t| *t == it.ty);
            match it.device_ref {
                DeviceRef::Existing(_) => (0, ty, it.index, 0, i),
                // An added one goes after the user's of the same type and index.
                DeviceRef::Added(a) if sorted => (0, ty, it.index, 1, a),
                DeviceRef::Added(a) => (1, None, None, 0, a),
            }
        });
        order
    }

    /// The disks in libvirt's order. It files each disk into its list as it
    /// reads it: scanning back from the end, before the earliest disk of the same bus
    /// whose name numbers higher, else right after the last disk of that bus, else at
    /// the end. So `vda vdc sdb vdb` is kept as `vda vdb vdc sdb`, and `xvda` (disk 0)
    /// written after `vdb` goes between `vda` and `vdb`. A name that does not number
    /// counts as -1.
    fn disks(&self) -> Vec<usize> {
        // Filing each disk that way keeps every bus's disks together (a bus's first
        // disk goes to the end, later ones before a higher-numbered disk of the bus or
        // right after its last) and sorted by number, equal numbers in document order.
        // So the list is: buses in the order their first disk appears, each bus's disks
        // stably sorted by number. Computed directly, that is n log n rather than the
        // quadratic scan a literal filing would be on thousands of disks.
        let mut buses: Vec<Option<&str>> = Vec::new();
        let mut keyed: Vec<(usize, i64, usize)> = Vec::new();
        for i in (0..self.placements.len()).filter(|&i| self.placements[i].kind == Kind::Disk) {
            let d = self.placements[i]
                .topology_index()
                .map(|d| &self.topo.devices[d]);
            let bus = d.and_then(Device::disk_bus);
            let n = d
                .and_then(|d| d.name.as_deref())
                .and_then(disk_index)
                .map_or(-1, i64::from);
            let rank = match buses.iter().position(|b| *b == bus) {
                Some(r) => r,
                None => {
                    buses.push(bus);
                    buses.len() - 1
                }
            };
            keyed.push((rank, n, i));
        }
        keyed.sort_by_key(|&(rank, n, _)| (rank, n));
        let out: Vec<usize> = keyed.into_iter().map(|(_, _, i)| i).collect();
        out
    }

    /// The videos in libvirt's order: it moves the first `primary='yes'` video to
    /// the front of its list as it reads the domain, so that one is the primary (the
    /// early slot) and the others follow in document order.
    pub(super) fn videos(&self) -> Vec<usize> {
        let mut v: Vec<usize> = (0..self.placements.len())
            .filter(|&i| self.placements[i].kind == Kind::Video)
            .collect();
        let marked = v.iter().position(|&i| {
            self.placements[i]
                .topology_index()
                .is_some_and(|d| self.topo.devices[d].primary)
        });
        if let Some(p) = marked {
            let primary = v.remove(p);
            v.insert(0, primary);
        }
        v
    }

    /// The auto-assignment order of §6.4: placement indexes, group by group.
    pub(super) fn assignment_order(&self) -> Vec<usize> {
        let ctl_order = self.controller_order();
        let mut out = Vec::new();
        // 1. PCI controllers, by index: libvirt 11 keeps the ones it adds sorted among
        // the user's (9.0 appended them after; see the conformance notes).
        let mut pci: Vec<usize> = (0..self.placements.len())
            .filter(|&i| self.placements[i].pci.is_some())
            .collect();
        // libvirt 9.0 takes the user's first and the ones it added after them.
        let sorted = self.topo.platform.libvirt_rules().added_controllers_sorted;
        pci.sort_by_key(|&i| {
            let added = !sorted && matches!(self.placements[i].device_ref, DeviceRef::Added(_));
            (added, self.placements[i].index, i)
        });
        out.extend(pci);
        let by_kind =
            |k: Kind| (0..self.placements.len()).filter(move |&i| self.placements[i].kind == k);
        out.extend(by_kind(Kind::Filesystem));
        out.extend(by_kind(Kind::Interface).filter(|&i| !self.placements[i].iface_hostdev));
        out.extend(by_kind(Kind::Sound));
        out.extend(ctl_order.iter().copied().filter(|&i| {
            let it = &self.placements[i];
            // IDE 0 is part of PIIX3; FDC and CCID are not PCI devices.
            let primary_ide = it.is_ctl("ide") && it.index == Some(0);
            it.pci.is_none() && !primary_ide && !it.is_ctl("fdc") && !it.is_ctl("ccid")
        }));
        out.extend(self.disks());
        out.extend(by_kind(Kind::Interface).filter(|&i| self.placements[i].iface_hostdev));
        out.extend(by_kind(Kind::Hostdev));
        for k in [Kind::Memballoon, Kind::Rng, Kind::Watchdog] {
            out.extend(by_kind(k));
        }
        out.extend(self.videos());
        for k in [
            Kind::Shmem,
            Kind::Input,
            Kind::Serial,
            Kind::Iommu,
            Kind::Vsock,
            Kind::Memory,
            Kind::Crypto,
            Kind::Panic,
            Kind::Pstore,
        ] {
            out.extend(by_kind(k));
        }
        out
    }
}
