//! The view model built from the analyses: every diagnostic as the designer lists it,
//! in tree order, with the indexes and maps the rows and panes read.

use std::collections::{HashMap, HashSet};

use crate::core::analyses::{self, Analysis, Fix};
use crate::core::diag::{Diagnostic, Severity};
use crate::core::topology::{Origin, Topology};
use crate::core::view::{TreeView, tree_view};
use crate::core::virtio::Mode;

/// One diagnostic as the designer lists it (the core's finding, with the device it is
/// about).
#[derive(Clone, Debug, PartialEq)]
pub struct ShownProblem {
    /// The diagnostic.
    pub diag: Diagnostic,
    /// The fix the core can apply.
    pub fix: Option<Fix>,
    /// The device it is about.
    pub origin: Option<Origin>,
}

/// What the analyses say about the current topology, and the tree built from it.
#[derive(Clone, Debug)]
pub struct Derived {
    /// The live analyses.
    pub analysis: Analysis,
    /// The tree view.
    pub view: TreeView,
    /// Device index by origin.
    pub index: HashMap<Origin, usize>,
    /// Virtio mode by device index.
    pub modes: HashMap<usize, Mode>,
    /// IO window by controller index.
    pub windows: HashMap<u32, u32>,
    /// Worst severity by device index.
    pub severity: HashMap<usize, Severity>,
    /// Every diagnostic: errors first (libvirt's refusal before all), then warnings and
    /// notes, each in tree order.
    pub problems: Vec<ShownProblem>,
    /// The tree of the guest as libvirt will define it.
    pub defined_view: TreeView,
    /// Device index in the defined guest by origin (its first devices are the file's).
    pub defined_index: HashMap<Origin, usize>,
    /// Devices written without a PCI address, which the defined guest has placed.
    pub placed: HashSet<usize>,
}

/// The position of every device in the tree, top to bottom.
fn tree_order(view: &TreeView) -> HashMap<Origin, usize> {
    fn bus(b: &crate::core::view::BusNode, out: &mut HashMap<Origin, usize>) {
        if let Some(o) = b.origin {
            let n = out.len();
            out.entry(o).or_insert(n);
        }
        for s in &b.slots {
            if let Some(d) = &s.device {
                let n = out.len();
                out.entry(d.origin).or_insert(n);
                if let Some(b) = &d.bus {
                    bus(b, out);
                }
            }
        }
    }
    let mut out = HashMap::new();
    if let Some(r) = &view.root {
        bus(r, &mut out);
    }
    for d in view
        .virtio_mmio
        .iter()
        .chain(&view.unassigned)
        .chain(view.dangling.iter().map(|x| &x.device))
    {
        let n = out.len();
        out.entry(d.origin).or_insert(n);
    }
    out
}

impl Derived {
    /// Runs every analysis on `t`.
    pub fn new(t: &Topology, ctx: &analyses::Context) -> Derived {
        let analysis = analyses::analyse(t, ctx);
        let view = tree_view(t);
        let index = t
            .devices
            .iter()
            .enumerate()
            .map(|(i, d)| (d.origin, i))
            .collect();
        let n = t.devices.len();
        let modes = analysis
            .virtio
            .iter()
            .filter(|v| v.device < n)
            .map(|v| (v.device, v.mode))
            .collect();
        let windows = analysis
            .io
            .windows
            .iter()
            .map(|w| (w.index, w.size))
            .collect();
        let mut problems: Vec<ShownProblem> = Vec::new();
        let origin = |d: &Diagnostic| d.device.and_then(|i| t.devices.get(i)).map(|d| d.origin);
        if let Some(d) = &analysis.refused {
            problems.push(ShownProblem {
                origin: origin(d),
                diag: d.clone(),
                fix: None,
            });
        }
        for f in &analysis.findings {
            problems.push(ShownProblem {
                origin: origin(&f.diag),
                diag: f.diag.clone(),
                fix: f.fix.clone(),
            });
        }
        // Errors first, so that the only error is never below the warnings; within a
        // severity, top to bottom as the tree shows them (`]` walks the same way).
        let order = tree_order(&view);
        problems.sort_by_key(|p| {
            (
                p.diag.severity,
                p.origin.and_then(|o| order.get(&o).copied()),
            )
        });
        let defined_view = tree_view(&analysis.defined);
        let defined_index = analysis
            .defined
            .devices
            .iter()
            .enumerate()
            .map(|(i, d)| (d.origin, i))
            .collect();
        let placed = t
            .devices
            .iter()
            .enumerate()
            .filter(|(i, d)| {
                d.pci_addr().is_none()
                    && analysis
                        .defined
                        .devices
                        .get(*i)
                        .is_some_and(|x| x.pci_addr().is_some())
            })
            .map(|(i, _)| i)
            .collect();
        let mut severity: HashMap<usize, Severity> = HashMap::new();
        for p in &problems {
            if let Some(i) = p.diag.device.filter(|&i| i < n) {
                let s = severity.entry(i).or_insert(p.diag.severity);
                *s = (*s).min(p.diag.severity);
            }
        }
        Derived {
            analysis,
            view,
            index,
            modes,
            windows,
            severity,
            problems,
            defined_view,
            defined_index,
            placed,
        }
    }
}
