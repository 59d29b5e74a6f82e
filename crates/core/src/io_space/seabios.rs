//! How SeaBIOS 1.16 sizes the bridge windows and when it gives up (the boot stops).

use super::*;

impl Planner<'_> {
    pub(super) fn seabios_window(&mut self, k: usize, depth: u32) -> u32 {
        if depth > 64 {
            return 0;
        }
        let children = self.bridges[k].children.clone();
        let mut sum: u32 = 0;
        for c in children {
            sum += match c {
                Item::Device(d) => self.devices[d].total(),
                Item::Bridge(b) => self.seabios_window(b, depth + 1),
            };
        }
        let b = &mut self.bridges[k];
        let mut reasons = Vec::new();
        if sum > 0 {
            reasons.push(WindowReason::Devices);
        }
        if b.kind == Hotplug::Shpc && sum == 0 {
            sum = GRANULE;
            reasons.push(WindowReason::Shpc);
        }
        if let Some(v) = b.win.io_reserve.filter(|_| b.has_cap)
            && v != u64::MAX
            && v > u64::from(sum)
        {
            sum = v.min(0x10000) as u32;
            reasons = vec![if b.reserve_61 {
                WindowReason::Machine61
            } else {
                WindowReason::IoReserve
            }];
        }
        b.win.reasons = reasons;
        let w = align(sum, GRANULE);
        b.win.consumes = w;
        b.win.size = if b.win.read_only { 0 } else { w };
        w
    }

    pub(super) fn seabios(&mut self) -> (u32, u32, Outcome) {
        let roots = self.root.clone();
        let mut total: u32 = 0;
        for it in roots {
            total += match it {
                Item::Device(d) => self.devices[d].total(),
                Item::Bridge(b) => self.seabios_window(b, 0),
            };
        }
        let budget = self.fw.budget(self.class).unwrap_or(0);
        if total < budget {
            self.mark_unreachable();
            (total, total, Outcome::Fits)
        } else {
            for b in &mut self.bridges {
                b.win.size = 0;
            }
            for d in &mut self.devices {
                if !d.bars.is_empty() {
                    d.status = BarStatus::NotProgrammed;
                }
            }
            (total, total, Outcome::BootFailure)
        }
    }
}
