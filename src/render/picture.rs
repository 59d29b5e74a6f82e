//! The picture model shared by the SVG and DOT renderers: the tree view of a guest
//! flattened into boxes (root, ports, bridges, devices, chipset functions, free
//! slots), each with its class, its label lines and what the analyses say about it
//! (virtio mode, IO window, diagnostic codes).

use std::collections::HashMap;

use crate::core::analyses::Analysis;
use crate::core::io_space::size_text;
use crate::core::topology::{Origin, Topology};
use crate::core::view::{BusNode, DeviceNode, tree_view};
use crate::core::virtio::Mode;

/// What a box stands for; each class has its own fill, border and line style, chosen
/// so that they stay apart in grey-scale print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// The PCI root bus.
    Root,
    /// A root or downstream port.
    Port,
    /// A bridge, switch upstream port or expander bus.
    Bridge,
    /// An ordinary device.
    Device,
    /// A virtio device that is modern-only.
    VirtioModern,
    /// A transitional virtio device.
    VirtioTransitional,
    /// A legacy-only virtio device.
    VirtioLegacy,
    /// A function of the machine's chipset.
    Chipset,
    /// Free slots, or an empty hotplug port.
    Free,
}

impl Class {
    /// The name used as CSS class and in the legend.
    pub fn name(self) -> &'static str {
        match self {
            Class::Root => "root",
            Class::Port => "port",
            Class::Bridge => "bridge",
            Class::Device => "device",
            Class::VirtioModern => "virtio-modern",
            Class::VirtioTransitional => "virtio-transitional",
            Class::VirtioLegacy => "virtio-legacy",
            Class::Chipset => "chipset",
            Class::Free => "free",
        }
    }

    /// Every class, in legend order.
    pub const ALL: [Class; 9] = [
        Class::Root,
        Class::Port,
        Class::Bridge,
        Class::Device,
        Class::VirtioModern,
        Class::VirtioTransitional,
        Class::VirtioLegacy,
        Class::Chipset,
        Class::Free,
    ];

    /// Words for the legend.
    pub fn describe(self) -> &'static str {
        match self {
            Class::Root => "root bus",
            Class::Port => "PCIe port",
            Class::Bridge => "bridge / switch / expander",
            Class::Device => "device",
            Class::VirtioModern => "virtio modern-only",
            Class::VirtioTransitional => "virtio transitional",
            Class::VirtioLegacy => "virtio legacy",
            Class::Chipset => "chipset (fixed)",
            Class::Free => "free / empty hotplug",
        }
    }
}

/// One box of the picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Its parent's position in [`Picture::nodes`]; `None` for the root.
    pub parent: Option<usize>,
    /// Depth in the tree (the root is 0).
    pub depth: usize,
    /// Its class.
    pub class: Class,
    /// The main line: address and label.
    pub title: String,
    /// The second line: QEMU device, virtio mode, IO window; may be empty.
    pub detail: String,
    /// Diagnostic codes about it, errors first.
    pub codes: Vec<&'static str>,
    /// True when one of `codes` is an error.
    pub error: bool,
}

/// The picture: a heading and the boxes in pre-order (a parent before its children).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picture {
    /// `NAME  machine (class, arch)`.
    pub heading: String,
    /// IO used against the firmware's budget, or the refusal.
    pub footer: String,
    /// The boxes.
    pub nodes: Vec<Node>,
}

struct Notes {
    modes: HashMap<Origin, Mode>,
    codes: HashMap<Origin, (Vec<&'static str>, bool)>,
}

/// Builds the picture of `shown` (the input or the defined guest) with the analyses.
pub fn picture(shown: &Topology, a: &Analysis) -> Picture {
    let origin = |i: usize| a.defined.devices.get(i).map(|d| d.origin);
    let mut notes = Notes {
        modes: HashMap::new(),
        codes: HashMap::new(),
    };
    let analysed = a.refused.is_none();
    if analysed {
        for v in &a.virtio {
            if let Some(o) = origin(v.device) {
                notes.modes.insert(o, v.mode);
            }
        }
        for f in &a.findings {
            if let Some(o) = f.diag.device.and_then(origin) {
                let e = notes.codes.entry(o).or_default();
                e.0.push(f.diag.code.as_str());
                e.1 |= f.diag.severity == crate::core::diag::Severity::Error;
            }
        }
    }
    let view = tree_view(shown);
    let m = &view.machine;
    let heading = format!(
        "{}  {} ({}, {})",
        if view.name.is_empty() {
            "(unnamed)"
        } else {
            &view.name
        },
        m.machine_type,
        m.class.name(),
        m.arch_name
    );
    let footer = match &a.refused {
        Some(d) => format!("libvirt refuses this domain: [{}] {}", d.code, d.message),
        None if a.io.outcome == crate::core::io_space::Outcome::NotModelled => {
            "no x86 IO port space on this machine".to_string()
        }
        None => format!(
            "IO ports under {}: {:#x} of {:#x} used, {}",
            a.firmware.name,
            a.io.used,
            a.io.budget,
            a.io.outcome.name()
        ),
    };
    let mut p = Picture {
        heading,
        footer,
        nodes: Vec::new(),
    };
    if let Some(root) = &view.root {
        let title = format!("{} #{}", root.model().name(), root.index);
        p.nodes.push(Node {
            parent: None,
            depth: 0,
            class: Class::Root,
            title,
            detail: String::new(),
            codes: Vec::new(),
            error: false,
        });
        bus(&mut p, root, 0, &notes, analysed.then_some(a));
    }
    p
}

fn bus(p: &mut Picture, b: &BusNode, parent: usize, notes: &Notes, a: Option<&Analysis>) {
    let depth = p.nodes[parent].depth + 1;
    for s in &b.slots {
        match &s.device {
            Some(d) => {
                let at = p.nodes.len();
                p.nodes
                    .push(device_node(d, &s.addr.bdf(), parent, depth, notes, a));
                if s.chipset.is_some() {
                    p.nodes[at].class = Class::Chipset;
                }
                if let Some(child) = &d.bus {
                    bus(p, child, at, notes, a);
                }
            }
            None => p.nodes.push(Node {
                parent: Some(parent),
                depth,
                class: Class::Chipset,
                title: format!("{} {}", s.addr.bdf(), s.chipset.unwrap_or("?")),
                detail: "fixed".into(),
                codes: Vec::new(),
                error: false,
            }),
        }
    }
    if let Some(free) = super::tree::free_line(b) {
        p.nodes.push(Node {
            parent: Some(parent),
            depth,
            class: Class::Free,
            title: free
                .trim_start_matches('(')
                .trim_end_matches(')')
                .to_string(),
            detail: String::new(),
            codes: Vec::new(),
            error: false,
        });
    }
}

fn device_node(
    d: &DeviceNode,
    addr: &str,
    parent: usize,
    depth: usize,
    notes: &Notes,
    a: Option<&Analysis>,
) -> Node {
    let mode = notes.modes.get(&d.origin).copied();
    let class = match (&d.controller, mode) {
        (Some(c), _) if c.model.is_port() => Class::Port,
        (Some(_), _) => Class::Bridge,
        (None, Some(Mode::ModernOnly)) => Class::VirtioModern,
        (None, Some(Mode::Transitional)) => Class::VirtioTransitional,
        (None, Some(Mode::LegacyOnly)) => Class::VirtioLegacy,
        _ => Class::Device,
    };
    let mut detail = Vec::new();
    if let Some(q) = &d.qemu_device {
        detail.push(q.clone());
    }
    if let Some(m) = mode {
        detail.push(format!("virtio {}", m.name()));
    }
    if let (Some(i), Some(_), Some(a)) = (d.index, &d.controller, a)
        && let Some(w) = a.io.window(i)
        && w.size > 0
    {
        detail.push(format!("IO {}", size_text(w.size)));
    }
    let (codes, error) = notes.codes.get(&d.origin).cloned().unwrap_or_default();
    Node {
        parent: Some(parent),
        depth,
        class,
        title: format!("{addr} {}", d.label),
        detail: detail.join(" · "),
        codes,
        error,
    }
}
