//! Building the plan's tree: every bridge's window settings and children, every PCI
//! function's IO BARs, in the firmware's scan order.

use super::*;

impl<'a> Planner<'a> {
    pub(super) fn build(
        t: &'a Topology,
        fw: &'static Firmware,
        settings: &IoSettings,
        virtio: &[VirtioInfo],
    ) -> Planner<'a> {
        let mut m = Planner {
            fw,
            class: t.machine.class,
            bridges: Vec::new(),
            devices: Vec::new(),
            root: Vec::new(),
            order: Vec::new(),
            victims: Vec::new(),
            notes: Vec::new(),
            topo: t,
        };
        let by_index = m.add_bridges(settings);
        m.note_expanders();
        let chip = m.add_chipset();
        let placed = m.add_devices(virtio, &chip);
        m.attach(placed, &by_index);
        m.scan_order();
        m.settle_bars();
        m
    }

    /// Every bridge (by controller index, the first controller with an index wins)
    /// with its window settings; returns which bridge each index is.
    fn add_bridges(&mut self, settings: &IoSettings) -> Vec<(u32, usize)> {
        let t = self.topo;
        let acpi_hotplug = t.machine.acpi_hotplug_quirk();
        // Bridges, by controller index (the first controller with an index wins).
        let mut by_index: Vec<(u32, usize)> = Vec::new();
        for (i, d) in t.devices.iter().enumerate() {
            let (Some(p), Some(index), Some(addr)) = (&d.pci, d.index, d.pci_addr()) else {
                continue;
            };
            if p.model.is_root() || by_index.iter().any(|(x, _)| *x == index) {
                continue;
            }
            let kind = hotplug_kind(p.model);
            let generic_rp =
                p.model == PciModel::PcieRootPort && p.qemu_device() == "pcie-root-port";
            let has_cap = generic_rp || p.model == PciModel::PciBridge;
            let mut io_reserve = settings
                .io_reserve
                .iter()
                .find(|(x, _)| *x == index)
                .map(|(_, v)| *v);
            if generic_rp && io_reserve.is_none() {
                io_reserve = settings.global_root_port_io_reserve;
            }
            let reserve_61 = match acpi_hotplug {
                Some(q) if io_reserve.is_none() && generic_rp && p.hotplug != Some(false) => {
                    io_reserve = Some(u64::from(q.io_per_port));
                    true
                }
                _ => false,
            };
            if !has_cap && io_reserve.is_some() {
                self.notes.push(format!(
                    "{} #{index} has no io-reserve property in QEMU; the setting is ignored",
                    p.model.name()
                ));
                io_reserve = None;
            }
            let read_only = generic_rp && io_reserve == Some(0);
            by_index.push((index, self.bridges.len()));
            self.bridges.push(Bridge {
                win: Window {
                    index,
                    device: i,
                    model: p.model,
                    qemu_device: p.qemu_device().to_string(),
                    parent: addr.bus,
                    addr,
                    consumes: 0,
                    size: 0,
                    reasons: Vec::new(),
                    padding: 0,
                    padding_stripped: false,
                    io_reserve,
                    read_only,
                    empty_port: false,
                    hotplug: p.hotpluggable(),
                },
                children: Vec::new(),
                kind,
                has_cap,
                reserve_61,
            });
        }
        by_index
    }

    /// Expander buses are counted with the root bus, and the plan says so.
    fn note_expanders(&mut self) {
        let t = self.topo;
        if t.devices
            .iter()
            .any(|d| d.pci.as_ref().is_some_and(|p| p.model.is_expander()))
        {
            self.notes.push("expander buses (pxb, pxb-pcie) are counted as part of the root bus; their IO was not measured".into());
        }
    }

    /// The machine's built-in chipset functions, at their fixed addresses.
    fn add_chipset(&mut self) -> Vec<&'static ChipsetFunction> {
        let t = self.topo;
        // Built-in chipset functions that use IO.
        let chip: Vec<&ChipsetFunction> = chipset(self.class)
            .iter()
            .filter(|c| !c.io_bars.is_empty())
            .collect();
        for c in &chip {
            self.devices.push(DeviceIo {
                device: t.devices.iter().position(|d| {
                    c.xml.is_some_and(|(k, ty, index)| {
                        d.kind == k && d.ty.as_deref() == Some(ty) && d.index.unwrap_or(0) == index
                    })
                }),
                addr: c.addr,
                label: c.name.to_string(),
                qemu_device: String::new(),
                bars: c.io_bars.to_vec(),
                source: BarSource::Measured,
                virtio: None,
                status: BarStatus::Assigned,
                chipset: true,
            });
        }
        chip
    }

    /// Every PCI function of the domain with its IO BARs; returns every bridge and
    /// function with the bus it sits on and its address.
    fn add_devices(
        &mut self,
        virtio: &[VirtioInfo],
        chip: &[&ChipsetFunction],
    ) -> Vec<(u32, PciAddr, Item)> {
        let t = self.topo;
        // Devices.
        let mut placed: Vec<(u32, PciAddr, Item)> = Vec::new();
        for (k, b) in self.bridges.iter().enumerate() {
            placed.push((b.win.parent, b.win.addr, Item::Bridge(k)));
        }
        for (k, dio) in self.devices.iter().enumerate() {
            placed.push((0, dio.addr, Item::Device(k)));
        }
        for (i, d) in t.devices.iter().enumerate() {
            if d.pci.is_some() {
                continue;
            }
            let Some(addr) = d.pci_addr() else {
                continue;
            };
            if addr.bus == 0
                && chip
                    .iter()
                    .any(|c| (c.addr.slot, c.addr.function) == (addr.slot, addr.function))
            {
                continue;
            }
            let v = virtio
                .binary_search_by_key(&i, |v| v.device)
                .ok()
                .map(|k| &virtio[k]);
            // A virtio device's QEMU device and IO are known from its mode; only the
            // others need the model table (which costs on every key press).
            let (qemu_device, bars, source) = match v {
                Some(v) => {
                    let (bars, source) = if !v.mode.has_legacy() {
                        (Vec::new(), BarSource::Measured)
                    } else {
                        match v.family.and_then(|f| bar_row(f.qemu)) {
                            Some(r) => (r.bars.to_vec(), r.source),
                            None => (Vec::new(), BarSource::Unknown),
                        }
                    };
                    (v.qemu_device.clone(), bars, source)
                }
                None => {
                    let facts = d.facts(&t.machine);
                    if facts.slot == SlotClass::None && facts.qemu.is_empty() {
                        continue;
                    }
                    let (bars, source) = match bar_row(&facts.qemu) {
                        Some(r) => (r.bars.to_vec(), r.source),
                        None => (Vec::new(), BarSource::Unknown),
                    };
                    (facts.qemu, bars, source)
                }
            };
            let k = self.devices.len();
            self.devices.push(DeviceIo {
                device: Some(i),
                addr,
                label: device_label(d, t),
                qemu_device,
                bars,
                source,
                virtio: v.map(|v| v.mode),
                status: BarStatus::None,
                chipset: false,
            });
            placed.push((addr.bus, addr, Item::Device(k)));
        }
        placed
    }

    /// Hangs every item under its bridge (or the root), by slot and function.
    fn attach(&mut self, mut placed: Vec<(u32, PciAddr, Item)>, by_index: &[(u32, usize)]) {
        let t = self.topo;
        let controllers = t.controller_map();
        let bridge_of = |index: u32| by_index.iter().find(|(x, _)| *x == index).map(|(_, b)| *b);
        // Expander buses are extra root buses: their contents count as root-level.
        let effective_parent = |bus: u32| -> Option<u32> {
            let mut b = bus;
            for _ in 0..256 {
                if b == 0 {
                    return Some(0);
                }
                match controllers.bus_model(t, b) {
                    Some(model) if model.is_expander() => {
                        b = controllers
                            .controller(t, b)
                            .and_then(|c| c.pci_addr())
                            .map(|a| a.bus)?;
                    }
                    Some(_) => return Some(b),
                    None => return None,
                }
            }
            None
        };
        placed.sort_by_key(|(_, a, _)| (a.slot, a.function));
        let mut unattached = 0;
        for (bus, _, item) in placed {
            match effective_parent(bus) {
                Some(0) => self.root.push(item),
                Some(b) => match bridge_of(b) {
                    Some(k) => self.bridges[k].children.push(item),
                    None => unattached += 1,
                },
                None => unattached += 1,
            }
        }
        if unattached > 0 {
            self.notes.push(format!(
                "{unattached} PCI function(s) sit on a bus that does not exist and are left out"
            ));
        }
        for k in 0..self.bridges.len() {
            let b = &mut self.bridges[k];
            b.win.empty_port = b.win.model.is_port() && b.children.is_empty();
        }
    }

    /// Scan order: depth first from the root, by slot and function.
    fn scan_order(&mut self) {
        let mut order = Vec::new();
        let mut stack: Vec<Item> = self.root.iter().rev().copied().collect();
        let mut guard = 0;
        while let Some(it) = stack.pop() {
            guard += 1;
            if guard > 100_000 {
                break;
            }
            order.push(it);
            if let Item::Bridge(k) = it {
                stack.extend(self.bridges[k].children.iter().rev().copied());
            }
        }
        self.order = order;
    }

    /// Unknown BARs become notes; every function with BARs starts out assigned.
    fn settle_bars(&mut self) {
        for dio in &mut self.devices {
            if dio.source == BarSource::Unknown {
                self.notes.push(format!(
                    "{} ({}): IO BARs unknown, counted as none",
                    dio.label,
                    if dio.qemu_device.is_empty() {
                        "?"
                    } else {
                        dio.qemu_device.as_str()
                    }
                ));
            }
            dio.status = if dio.bars.is_empty() {
                BarStatus::None
            } else {
                BarStatus::Assigned
            };
        }
    }

    /// Devices below a read-only (io-reserve=0) port get addresses nobody forwards.
    pub(super) fn mark_unreachable(&mut self) {
        let mut stack: Vec<(Item, bool)> = self.root.iter().map(|&i| (i, false)).collect();
        let mut guard = 0;
        while let Some((it, blocked)) = stack.pop() {
            guard += 1;
            if guard > 100_000 {
                break;
            }
            match it {
                Item::Device(d) => {
                    let dio = &mut self.devices[d];
                    if blocked && dio.status == BarStatus::Assigned {
                        dio.status = BarStatus::Unreachable;
                    }
                }
                Item::Bridge(b) => {
                    let ro = blocked || self.bridges[b].win.read_only;
                    for &c in &self.bridges[b].children {
                        stack.push((c, ro));
                    }
                }
            }
        }
    }
}
