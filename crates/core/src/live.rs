//! A running guest against its next boot: what differs between the live configuration
//! of a running domain (what QEMU runs now, hot-plugged devices included) and the
//! persistent definition it boots with next time (edits waiting for that boot).
//!
//! Both sides are topologies read from libvirt's XML. A device is the same device on
//! both sides when its identity matches (an interface's MAC, a disk's target, a
//! controller's type and index, a host device's source); devices without one are
//! paired by kind and PCI address, then by kind and model, in document order. What
//! stays unpaired exists on one side only.

use super::topology::{Device, Topology};

/// On which side a difference lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    /// In the running guest only: hot-plugged live, or already removed from the
    /// next-boot definition. Gone at the next boot.
    RunningOnly,
    /// In the next-boot definition only: added for the next boot, or unplugged from
    /// the running guest. Not in the running guest.
    NextBootOnly,
    /// On both sides, with settings that change at the next boot.
    Changed,
}

impl Side {
    /// The stable name (JSON, tests).
    pub fn name(self) -> &'static str {
        match self {
            Side::RunningOnly => "running-only",
            Side::NextBootOnly => "next-boot-only",
            Side::Changed => "changed",
        }
    }
}

/// One setting that differs on a device found on both sides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    /// Which (`address`, `model`, `bus`, `hotplug`, `machine type`).
    pub what: &'static str,
    /// Its value in the running guest (`-` when unset).
    pub live: String,
    /// Its value at the next boot.
    pub next: String,
}

/// One difference between the running guest and its next boot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// Where it lies.
    pub side: Side,
    /// The device for people (`interface virtio (52:54:00:7e:6d:8a)`), or `machine`.
    pub subject: String,
    /// Its PCI address on the side it is on (the next boot's for a changed device).
    pub address: Option<String>,
    /// Index of the device in the next-boot topology, when it is there.
    pub next_device: Option<usize>,
    /// Index of the device in the live topology, when it is there.
    pub live_device: Option<usize>,
    /// For [`Side::Changed`]: what changes.
    pub settings: Vec<Setting>,
}

/// The identity a device keeps across the two configurations, when it has one.
fn identity(d: &Device) -> Option<String> {
    use super::device::Kind;
    match d.kind {
        Kind::Interface | Kind::Disk => d.name.clone(),
        Kind::Controller => Some(format!("{}:{}", d.ty.as_deref()?, d.index?)),
        Kind::Hostdev => d.source_addr.clone(),
        _ => None,
    }
}

fn pci_text(d: &Device) -> Option<String> {
    d.pci_addr().map(|a| a.bdf())
}

/// The settings of `next` (on the next-boot side) that differ from `live`.
fn settings(next_t: &Topology, next: &Device, live_t: &Topology, live: &Device) -> Vec<Setting> {
    let dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let mut out = Vec::new();
    let mut push = |what, l: Option<String>, n: Option<String>| {
        if l != n {
            out.push(Setting {
                what,
                live: dash(l),
                next: dash(n),
            });
        }
    };
    push("address", pci_text(live), pci_text(next));
    push(
        "model",
        live.effective_model(&live_t.machine),
        next.effective_model(&next_t.machine),
    );
    push("bus", live.bus.clone(), next.bus.clone());
    let hotplug = |d: &Device| {
        d.pci
            .as_ref()
            .filter(|p| p.model.info().hotplug)
            .map(|p| if p.hotpluggable() { "on" } else { "off" }.to_string())
    };
    push("hotplug", hotplug(live), hotplug(next));
    out
}

/// What differs between the running guest (`live`, from `virsh dumpxml`) and the
/// definition it boots with next (`next`, from `virsh dumpxml --inactive`, or an
/// edit of it). Empty when they agree. Order: the machine, then devices in the
/// next-boot definition's order, then the running guest's extra devices.
pub fn compare(next: &Topology, live: &Topology) -> Vec<Difference> {
    let mut out = Vec::new();
    if next.machine.machine_type != live.machine.machine_type {
        out.push(Difference {
            side: Side::Changed,
            subject: "machine".into(),
            address: None,
            next_device: None,
            live_device: None,
            settings: vec![Setting {
                what: "machine type",
                live: live.machine.machine_type.clone(),
                next: next.machine.machine_type.clone(),
            }],
        });
    }
    // pair[i] = the live device paired with next-boot device i.
    let mut pair: Vec<Option<usize>> = vec![None; next.devices.len()];
    let mut taken = vec![false; live.devices.len()];
    let mut match_by = |same: &dyn Fn(&Device, &Device) -> bool, pair: &mut Vec<Option<usize>>| {
        for (i, n) in next.devices.iter().enumerate() {
            if pair[i].is_some() {
                continue;
            }
            if let Some(j) =
                (0..live.devices.len()).find(|&j| !taken[j] && same(n, &live.devices[j]))
            {
                pair[i] = Some(j);
                taken[j] = true;
            }
        }
    };
    // Identity first: a device that moved is the same device at a new address.
    match_by(
        &|n, l| n.kind == l.kind && identity(n).is_some_and(|k| identity(l) == Some(k)),
        &mut pair,
    );
    // Then what has no identity: by address, then by model.
    match_by(
        &|n, l| {
            n.kind == l.kind
                && identity(n).is_none()
                && identity(l).is_none()
                && n.pci_addr().is_some()
                && n.pci_addr() == l.pci_addr()
        },
        &mut pair,
    );
    match_by(
        &|n, l| {
            n.kind == l.kind
                && identity(n).is_none()
                && identity(l).is_none()
                && n.effective_model_str(&next.machine) == l.effective_model_str(&live.machine)
        },
        &mut pair,
    );
    for (i, n) in next.devices.iter().enumerate() {
        match pair[i] {
            Some(j) => {
                let s = settings(next, n, live, &live.devices[j]);
                if !s.is_empty() {
                    out.push(Difference {
                        side: Side::Changed,
                        subject: n.describe(&next.machine),
                        address: pci_text(n),
                        next_device: Some(i),
                        live_device: Some(j),
                        settings: s,
                    });
                }
            }
            None => out.push(Difference {
                side: Side::NextBootOnly,
                subject: n.describe(&next.machine),
                address: pci_text(n),
                next_device: Some(i),
                live_device: None,
                settings: Vec::new(),
            }),
        }
    }
    for (j, l) in live.devices.iter().enumerate() {
        if !taken[j] {
            out.push(Difference {
                side: Side::RunningOnly,
                subject: l.describe(&live.machine),
                address: pci_text(l),
                next_device: None,
                live_device: Some(j),
                settings: Vec::new(),
            });
        }
    }
    out
}

/// Counts per side: `(running only, next boot only, changed)`.
pub fn counts(diffs: &[Difference]) -> (usize, usize, usize) {
    let n = |s: Side| diffs.iter().filter(|d| d.side == s).count();
    (
        n(Side::RunningOnly),
        n(Side::NextBootOnly),
        n(Side::Changed),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::{Address, PciAddr};
    use crate::device::Kind;
    use crate::machine::Machine;
    use crate::topology::Origin;

    fn nic(o: u32, mac: &str, slot: u8) -> Device {
        let mut d = Device::new(Origin(o), Kind::Interface);
        d.ty = Some("user".into());
        d.model = Some("virtio".into());
        d.name = Some(mac.into());
        d.address = Some(Address::Pci {
            addr: PciAddr::new(0, slot, 0),
            multifunction: None,
        });
        d
    }

    fn balloon(o: u32, slot: u8) -> Device {
        let mut d = Device::new(Origin(o), Kind::Memballoon);
        d.model = Some("virtio".into());
        d.address = Some(Address::Pci {
            addr: PciAddr::new(0, slot, 0),
            multifunction: None,
        });
        d
    }

    fn guest(devices: Vec<Device>) -> Topology {
        Topology::new("pc-i440fx-7.2", devices)
    }

    #[test]
    fn the_same_configuration_has_no_differences() {
        let t = guest(vec![nic(1, "52:54:00:00:00:01", 3), balloon(2, 5)]);
        assert!(compare(&t, &t.clone()).is_empty());
    }

    #[test]
    fn a_hot_plugged_nic_is_running_only_and_a_pending_one_next_boot_only() {
        let next = guest(vec![
            nic(1, "52:54:00:00:00:01", 3),
            nic(2, "52:54:00:00:00:03", 7),
        ]);
        let live = guest(vec![
            nic(5, "52:54:00:00:00:01", 3),
            nic(6, "52:54:00:00:00:02", 6),
        ]);
        let d = compare(&next, &live);
        assert_eq!(counts(&d), (1, 1, 0), "{d:?}");
        let only_live = d.iter().find(|x| x.side == Side::RunningOnly).unwrap();
        assert!(only_live.subject.contains("52:54:00:00:00:02"));
        assert_eq!(only_live.address.as_deref(), Some("00:06.0"));
        assert_eq!(only_live.live_device, Some(1));
        let only_next = d.iter().find(|x| x.side == Side::NextBootOnly).unwrap();
        assert_eq!(only_next.next_device, Some(1));
    }

    #[test]
    fn a_moved_device_keeps_its_identity() {
        let next = guest(vec![nic(1, "52:54:00:00:00:01", 9), balloon(2, 5)]);
        let live = guest(vec![nic(1, "52:54:00:00:00:01", 3), balloon(2, 5)]);
        let d = compare(&next, &live);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].side, Side::Changed);
        assert_eq!(
            d[0].settings,
            vec![Setting {
                what: "address",
                live: "00:03.0".into(),
                next: "00:09.0".into()
            }]
        );
    }

    #[test]
    fn devices_without_identity_pair_by_model_when_moved() {
        let next = guest(vec![balloon(2, 8)]);
        let live = guest(vec![balloon(2, 5)]);
        let d = compare(&next, &live);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].side, Side::Changed);
        assert_eq!(d[0].settings[0].what, "address");
    }

    #[test]
    fn a_new_machine_type_is_a_change() {
        let next = guest(vec![]);
        let mut live = guest(vec![]);
        live.machine = Machine::new("x86_64", "pc-i440fx-6.2");
        let d = compare(&next, &live);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].settings[0].what, "machine type");
        assert_eq!(d[0].settings[0].live, "pc-i440fx-6.2");
    }
}
