//! How OVMF (edk2) pads hotplug ports, lays the windows out, then strips padding and
//! drops devices, largest IO consumer first, when the aperture runs out.

use super::*;

impl Planner<'_> {
    pub(super) fn is_hotplug_bus_ovmf(&self, b: &Bridge) -> bool {
        match b.kind {
            Hotplug::Shpc => true,
            // Under ACPI hotplug the ports' native hotplug capability is hidden.
            Hotplug::PciePort => b.win.hotplug && self.topo.machine.acpi_hotplug_quirk().is_none(),
            Hotplug::None => false,
        }
    }

    /// OVMF's padding for bridge `k` (before stripping).
    pub(super) fn ovmf_padding(&self, k: usize) -> u32 {
        let b = &self.bridges[k];
        if !self.is_hotplug_bus_ovmf(b) {
            return 0;
        }
        match b.win.io_reserve.filter(|_| b.has_cap) {
            Some(0) => 0,
            Some(v) if v < u64::from(u32::MAX) => (v as u32).next_power_of_two(),
            _ => self.fw.hotplug_io_padding,
        }
    }

    /// Lays out `items` like edk2: bridge nodes first, highest-numbered first, each at
    /// a 4 KiB boundary; then device BARs, largest first, each aligned to its size.
    /// Returns the end offset.
    pub(super) fn ovmf_layout(&mut self, items: &[Item], pad: &[u32], depth: u32) -> u32 {
        let mut off: u32 = 0;
        for it in items.iter().rev() {
            if let Item::Bridge(b) = *it {
                let len = self.ovmf_node(b, pad, depth + 1);
                if len > 0 {
                    off = align(off, GRANULE) + len;
                }
            }
        }
        let mut bars: Vec<u32> = items
            .iter()
            .filter_map(|it| match *it {
                Item::Device(d) if self.devices[d].status != BarStatus::Dropped => {
                    Some(self.devices[d].bars.clone())
                }
                _ => None,
            })
            .flatten()
            .collect();
        bars.sort_unstable_by(|a, b| b.cmp(a));
        for s in bars {
            off = align(off, s) + s;
        }
        off
    }

    /// The node length of bridge `k`: max(children rounded up to 4 KiB, padding).
    pub(super) fn ovmf_node(&mut self, k: usize, pad: &[u32], depth: u32) -> u32 {
        if depth > 64 {
            return 0;
        }
        let children = self.bridges[k].children.clone();
        let c = align(self.ovmf_layout(&children, pad, depth), GRANULE);
        let p = pad[k];
        let len = c.max(p);
        let b = &mut self.bridges[k];
        b.win.consumes = len;
        b.win.size = if b.win.read_only {
            0
        } else {
            align(len, GRANULE)
        };
        let mut reasons = Vec::new();
        if c > 0 {
            reasons.push(WindowReason::Devices);
        }
        if p > 0 && p >= c {
            reasons.push(match b.win.io_reserve {
                Some(_) if b.reserve_61 => WindowReason::Machine61,
                Some(_) => WindowReason::IoReserve,
                None => WindowReason::HotplugPadding,
            });
        }
        b.win.reasons = reasons;
        len
    }

    pub(super) fn ovmf(&mut self) -> (u32, u32, Outcome) {
        let budget = self.fw.budget(self.class).unwrap_or(0);
        let initial: Vec<u32> = (0..self.bridges.len())
            .map(|k| self.ovmf_padding(k))
            .collect();
        for (k, p) in initial.iter().enumerate() {
            self.bridges[k].win.padding = *p;
        }
        let mut pad = initial.clone();
        let roots = self.root.clone();
        let demand = self.ovmf_layout(&roots, &pad, 0);
        let mut used = demand;
        let mut stripped = false;
        let mut dropped = false;
        let mut rounds = 0;
        while used > budget && rounds < 10_000 {
            rounds += 1;
            // The longest IO node off bus 0; ties go to the first in scan order.
            let mut best: Option<(u32, Item)> = None;
            for &it in &self.order {
                let len = match it {
                    Item::Bridge(b) => pad[b],
                    Item::Device(d) => {
                        let dio = &self.devices[d];
                        let on_root = self.root.contains(&it);
                        if on_root || dio.status == BarStatus::Dropped {
                            0
                        } else {
                            dio.bars.iter().copied().max().unwrap_or(0)
                        }
                    }
                };
                if len > 0 && best.is_none_or(|(l, _)| len > l) {
                    best = Some((len, it));
                }
            }
            let Some((_, victim)) = best else {
                self.notes.push("the root bus's own IO BARs do not fit OVMF's aperture; OVMF cannot drop devices on bus 0".into());
                break;
            };
            self.victims.push(victim);
            match victim {
                Item::Bridge(b) => {
                    pad[b] = 0;
                    self.bridges[b].win.padding_stripped = true;
                    stripped = true;
                }
                Item::Device(d) => {
                    self.devices[d].status = BarStatus::Dropped;
                    dropped = true;
                }
            }
            used = self.ovmf_layout(&roots, &pad, 0);
        }
        self.mark_unreachable();
        let outcome = if dropped {
            Outcome::DevicesDropped
        } else if stripped {
            Outcome::PaddingStripped
        } else {
            Outcome::Fits
        };
        (demand, used, outcome)
    }
}
