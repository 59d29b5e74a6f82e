//! The tree pane's rows: the core's [`TreeView`] flattened into the visible rows, with
//! connector glyphs, badges (virtio mode, IO window, diagnostics) and fold state. Rows
//! are plain data; the tree widget only lays them out and styles them.

use std::collections::{HashMap, HashSet};

use crate::core::address::PciAddr;
use crate::core::diag::Severity;
use crate::core::topology::{Origin, PciController};
use crate::core::view::{BusNode, DeviceNode, TreeView};
use crate::core::virtio::Mode;

/// What a row stands for; stable across edits, so selection and folds survive them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RowKey {
    /// The root bus.
    Root,
    /// A device element.
    Device(Origin),
    /// A chipset function with no element.
    Chipset(PciAddr),
    /// The free slots of a bus.
    Free(u32),
    /// An empty one-slot port's slot.
    Empty(u32),
    /// A section header below the tree.
    Section(Section),
}

/// The sections below the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    /// virtio-mmio devices.
    Mmio,
    /// Devices without a PCI address.
    Unassigned,
    /// Devices that cannot be attached to the tree.
    Dangling,
}

/// One row of the tree pane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// What it is.
    pub key: RowKey,
    /// Connector glyphs before it.
    pub prefix: String,
    /// `bus:slot.function`, when it has one.
    pub addr: Option<String>,
    /// The main text.
    pub label: String,
    /// Secondary text (target settings, reasons), drawn dim.
    pub note: String,
    /// The virtio mode badge.
    pub mode: Option<Mode>,
    /// The IO window of a bridge or port, in bytes.
    pub window: Option<u32>,
    /// The worst diagnostic about it.
    pub severity: Option<Severity>,
    /// A chipset function (cannot be moved or deleted).
    pub locked: bool,
    /// Free or empty slots.
    pub muted: bool,
    /// `Some(open)` when it can be folded.
    pub fold: Option<bool>,
    /// Index into `Topology::devices`.
    pub device: Option<usize>,
    /// The bus a device can be put on from this row (free and empty rows, the bus of a
    /// controller row).
    pub bus: Option<u32>,
    /// The parent row.
    pub parent: Option<usize>,
    /// Nesting depth.
    pub depth: usize,
    /// Not in the file yet: libvirt adds it, or places it, when it defines the guest.
    pub ghost: Option<Ghost>,
}

/// What libvirt does to a row's device when it defines the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ghost {
    /// libvirt adds the element (a controller it needs, an implicit device).
    Added,
    /// The element has no address yet: libvirt puts it here.
    Placed,
}

impl Ghost {
    /// How the tree marks it.
    pub fn note(self) -> &'static str {
        match self {
            Ghost::Added => "(libvirt adds)",
            Ghost::Placed => "(libvirt places it)",
        }
    }
}

/// What the rows need besides the view.
pub struct Inputs<'a> {
    /// The view of the current topology.
    pub view: &'a TreeView,
    /// Device index by origin.
    pub index: &'a HashMap<Origin, usize>,
    /// Virtio mode by device index.
    pub modes: &'a HashMap<usize, Mode>,
    /// IO window size by controller index.
    pub windows: &'a HashMap<u32, u32>,
    /// Worst severity by device index.
    pub severity: &'a HashMap<usize, Severity>,
    /// Folded rows.
    pub folded: &'a HashSet<RowKey>,
    /// ASCII connectors.
    pub ascii: bool,
    /// Device indexes from here on are libvirt's additions (the view is the guest as
    /// libvirt defines it); `usize::MAX` for the file as written.
    pub added_from: usize,
    /// Devices written without an address that the view shows where libvirt puts them.
    pub placed: &'a HashSet<usize>,
}

struct Glyphs {
    tee: &'static str,
    last: &'static str,
    pipe: &'static str,
    blank: &'static str,
}

const UNICODE: Glyphs = Glyphs {
    tee: "├─",
    last: "└─",
    pipe: "│ ",
    blank: "  ",
};

const ASCII: Glyphs = Glyphs {
    tee: "+-",
    last: "\\-",
    pipe: "| ",
    blank: "  ",
};

/// Flattens the view into the visible rows.
pub fn build(inp: &Inputs<'_>) -> Vec<Row> {
    let mut b = Builder {
        inp,
        g: if inp.ascii { &ASCII } else { &UNICODE },
        rows: Vec::new(),
    };
    b.root();
    b.sections();
    b.rows
}

impl Row {
    /// A row at the top level (the root bus, a section header) that stands for no
    /// device.
    fn top(key: RowKey, label: String) -> Row {
        Row {
            key,
            prefix: String::new(),
            addr: None,
            label,
            note: String::new(),
            mode: None,
            window: None,
            severity: None,
            locked: false,
            muted: false,
            fold: None,
            device: None,
            bus: None,
            parent: None,
            depth: 0,
            ghost: None,
        }
    }
}

impl Builder<'_, '_> {
    /// The root bus's row and, unless it is folded, everything on it.
    fn root(&mut self) {
        let inp = self.inp;
        let Some(root) = &inp.view.root else {
            self.rows.push(Row {
                muted: true,
                ..Row::top(RowKey::Root, "(no PCI root bus)".into())
            });
            return;
        };
        let open = !inp.folded.contains(&RowKey::Root);
        let mut label = format!("{} #{}", root.model().name(), root.index);
        if root.implicit {
            label.push_str(" (implicit)");
        }
        self.rows.push(Row {
            fold: Some(open),
            bus: Some(0),
            ..Row::top(RowKey::Root, label)
        });
        if open {
            self.bus(root, "", Some(0), 1);
        }
    }

    /// The sections below the tree (virtio-mmio, unassigned, dangling), each a header
    /// and, unless it is folded, its devices.
    fn sections(&mut self) {
        let inp = self.inp;
        type Items<'v> = Vec<(&'v DeviceNode, String)>;
        let sections: [(Section, &str, Items<'_>); 3] = [
            (
                Section::Mmio,
                "virtio-mmio",
                inp.view
                    .virtio_mmio
                    .iter()
                    .map(|d| (d, String::new()))
                    .collect(),
            ),
            (
                Section::Unassigned,
                "unassigned (libvirt picks the address)",
                inp.view
                    .unassigned
                    .iter()
                    .map(|d| (d, String::new()))
                    .collect(),
            ),
            (
                Section::Dangling,
                "dangling (not attached to the tree)",
                inp.view
                    .dangling
                    .iter()
                    .map(|x| (&x.device, x.problem.message()))
                    .collect(),
            ),
        ];
        for (section, title, items) in sections {
            if items.is_empty() {
                continue;
            }
            let key = RowKey::Section(section);
            let open = !inp.folded.contains(&key);
            let at = self.rows.len();
            self.rows.push(Row {
                fold: Some(open),
                ..Row::top(key, format!("{title}: {}", items.len()))
            });
            if open {
                let n = items.len();
                for (k, (d, note)) in items.into_iter().enumerate() {
                    self.device(d, d.pci, note, "", k + 1 == n, Some(at), 1, false);
                }
            }
        }
    }
}

struct Builder<'a, 'b> {
    inp: &'a Inputs<'b>,
    g: &'static Glyphs,
    rows: Vec<Row>,
}

/// ` chassis=1 port=0x10 hotplug=off`.
fn target_note(c: &PciController) -> String {
    let mut s = Vec::new();
    if let Some(v) = c.chassis_nr {
        s.push(format!("chassisNr={v}"));
    }
    if let Some(v) = c.chassis {
        s.push(format!("chassis={v}"));
    }
    if let Some(v) = c.port {
        s.push(format!("port=0x{v:x}"));
    }
    if let Some(v) = c.bus_nr {
        s.push(format!("busNr={v}"));
    }
    if c.hotplug == Some(false) {
        s.push("hotplug=off".into());
    }
    s.join(" ")
}

/// `03-1a, 1c-1e`.
fn ranges(slots: &[u8]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < slots.len() {
        let mut j = i;
        while j + 1 < slots.len() && slots[j + 1] == slots[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            format!("{:02x}", slots[i])
        } else {
            format!("{:02x}-{:02x}", slots[i], slots[j])
        });
        i = j + 1;
    }
    out.join(", ")
}

impl Builder<'_, '_> {
    fn bus(&mut self, bus: &BusNode, prefix: &str, parent: Option<usize>, depth: usize) {
        let free = !bus.free_slots.is_empty();
        let n = bus.slots.len() + usize::from(free);
        for (k, slot) in bus.slots.iter().enumerate() {
            let last = k + 1 == n;
            match (&slot.device, slot.chipset) {
                (Some(d), chip) => {
                    self.device(
                        d,
                        Some(slot.addr),
                        String::new(),
                        prefix,
                        last,
                        parent,
                        depth,
                        chip.is_some(),
                    );
                }
                (None, chip) => {
                    let row = self.leaf(
                        RowKey::Chipset(slot.addr),
                        prefix,
                        last,
                        parent,
                        depth,
                        Some(slot.addr.bdf()),
                        chip.unwrap_or("?").to_string(),
                    );
                    row.locked = true;
                }
            }
        }
        if free {
            let (key, label) = if bus.is_empty_port() {
                let label = if bus.hotplug {
                    "(empty, hotplug slot)"
                } else {
                    "(empty, hotplug off)"
                };
                (RowKey::Empty(bus.index), label.to_string())
            } else {
                let s = &bus.free_slots;
                let mut label = format!(
                    "({} free slot{}: {}",
                    s.len(),
                    if s.len() == 1 { "" } else { "s" },
                    ranges(s)
                );
                if bus.hotplug {
                    label.push_str(", hotplug");
                }
                label.push(')');
                (RowKey::Free(bus.index), label)
            };
            let row = self.leaf(key, prefix, true, parent, depth, None, label);
            row.muted = true;
            row.bus = Some(bus.index);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn leaf(
        &mut self,
        key: RowKey,
        prefix: &str,
        last: bool,
        parent: Option<usize>,
        depth: usize,
        addr: Option<String>,
        label: String,
    ) -> &mut Row {
        let connector = if last { self.g.last } else { self.g.tee };
        self.rows.push(Row {
            key,
            prefix: format!("{prefix}{connector}"),
            addr,
            label,
            note: String::new(),
            mode: None,
            window: None,
            severity: None,
            locked: false,
            muted: false,
            fold: None,
            device: None,
            bus: None,
            parent,
            depth,
            ghost: None,
        });
        let n = self.rows.len() - 1;
        &mut self.rows[n]
    }

    #[allow(clippy::too_many_arguments)]
    fn device(
        &mut self,
        d: &DeviceNode,
        addr: Option<PciAddr>,
        note: String,
        prefix: &str,
        last: bool,
        parent: Option<usize>,
        depth: usize,
        locked: bool,
    ) {
        let key = RowKey::Device(d.origin);
        let i = self.inp.index.get(&d.origin).copied();
        let open = !self.inp.folded.contains(&key);
        let g = self.g;
        let folded_bus = d.bus.is_some();
        let mode = i.and_then(|i| self.inp.modes.get(&i).copied());
        let severity = i.and_then(|i| self.inp.severity.get(&i).copied());
        let window = d
            .controller
            .as_ref()
            .and(d.index)
            .and_then(|x| self.inp.windows.get(&x).copied())
            .filter(|&w| w > 0);
        let added_from = self.inp.added_from;
        let ghost = match i {
            Some(i) if i >= added_from => Some(Ghost::Added),
            Some(i) if self.inp.placed.contains(&i) => Some(Ghost::Placed),
            _ => None,
        };
        let note = match (&d.controller, note.is_empty()) {
            (Some(c), true) => target_note(c),
            _ => note,
        };
        let row = self.leaf(
            key,
            prefix,
            last,
            parent,
            depth,
            addr.map(|a| a.bdf()),
            d.label.clone(),
        );
        row.note = note;
        row.mode = mode;
        row.severity = severity;
        row.window = window;
        row.locked = locked;
        row.device = i.filter(|&i| i < added_from);
        row.ghost = ghost;
        row.bus = d.bus.as_ref().map(|b| b.index);
        row.fold = folded_bus.then_some(open);
        let at = self.rows.len() - 1;
        if let (Some(bus), true) = (&d.bus, open) {
            let deeper = format!("{prefix}{}", if last { g.blank } else { g.pipe });
            self.bus(bus, &deeper, Some(at), depth + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_ranges_are_compact() {
        assert_eq!(ranges(&[1, 2, 3, 5, 7, 8]), "01-03, 05, 07-08");
        assert_eq!(ranges(&[]), "");
    }
}
