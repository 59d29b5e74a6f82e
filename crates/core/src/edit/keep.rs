//! Keeping the guest's numbering: what an add or a move renames in the guest (a
//! bridge's bus number, a NIC's name, a disk's by-path name) beyond the device it
//! places, and the same edit at another legal place that renames nothing, found by
//! walking the places in the firmware's depth-first numbering order from the one asked
//! for (so a new bridge lands after the existing ones).
//!
//! The guest's numbering is [`guest::guest_view`]'s (measured by booting real
//! kernels); this module only asks it about each candidate place.

use super::*;
use crate::analyses::as_defined;
use crate::guest::{self, GuestView};
use crate::io_space::FirmwareKind;

/// The same edit at a place that renames nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instead {
    /// The operations, applied as one step ([`apply_as_one`]).
    pub ops: Vec<Op>,
    /// Where the device goes, or the new controller it sits behind.
    pub at: PciAddr,
    /// What it does, for the history and the status line.
    pub label: String,
}

/// What an edit does to the guest's numbering.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Numbering {
    /// Every rename the edit causes, as warnings (VP0701 bus, VP0702 NIC, VP0703 disk)
    /// on the edited guest as libvirt defines it.
    pub renames: Vec<Diagnostic>,
    /// Those of devices the edit does not place: everything but a moved device and
    /// what is behind it. Keeping the numbering means none of these.
    pub collateral: Vec<Diagnostic>,
    /// When `collateral` is not empty: the same edit at a legal place that renames
    /// nothing else, if there is one.
    pub instead: Option<Instead>,
    /// When `instead` is `None`: how many places that might keep the numbering were
    /// not tried ([`TRIES`] were, the nearest first); 0 when every one was.
    pub untried: usize,
}

/// The guest before the edit, numbered once for every candidate.
struct Before<'t> {
    t: &'t Topology,
    defined: Topology,
    view: GuestView,
    fw: FirmwareKind,
}

impl Before<'_> {
    /// Every rename `ops` cause, and those of devices other than `own`; `None` when
    /// an operation cannot be applied or libvirt would refuse the result.
    fn renames(&self, ops: &[Op], own: &[Origin]) -> Option<(Vec<Diagnostic>, Vec<Diagnostic>)> {
        let mut out = self.t.clone();
        for op in ops {
            out = apply_unchecked(&out, op).ok()?;
        }
        let (defined, refused) = as_defined(&out);
        if refused.is_some() {
            return None;
        }
        let view = guest::guest_view(&defined, self.fw);
        let all = guest::renames(
            &self.defined,
            &self.view,
            self.t.devices.len(),
            &defined,
            &view,
            out.devices.len(),
        );
        let (mine, others): (Vec<_>, Vec<_>) = all
            .into_iter()
            .partition(|r| own.contains(&defined.devices[r.device].origin));
        let every: Vec<_> = mine.iter().chain(&others).cloned().collect();
        Some((
            guest::rename_diagnostics(&defined, &every),
            guest::rename_diagnostics(&defined, &others),
        ))
    }
}

/// One place the edit could use instead.
struct Candidate {
    ops: Vec<Op>,
    at: PciAddr,
    /// The model of the bus the device lands on.
    model: Option<PciModel>,
    /// The edit puts a bridge (a bus the firmware numbers) at `at`.
    bridge: bool,
}

/// What `op` (an add or a move; other edits are [`Numbering::default`]) renames in
/// the guest under firmware `fw`, and where the same edit would rename nothing else.
///
/// The places are tried in this order: on a bus of the model asked for (or the model
/// libvirt gives the device when it places it) first, whole slots before functions of
/// a slot in use, then from the place asked for onwards in depth-first order (what
/// the firmware numbers after it), then backwards from it. A device libvirt would
/// put behind a controller it adds (a root port) may also get that controller at a
/// place of its own, with the device behind it.
pub fn numbering(t: &Topology, op: &Op, fw: FirmwareKind) -> Numbering {
    let (defined, refused) = as_defined(t);
    if refused.is_some() {
        return Numbering::default();
    }
    let before = Before {
        t,
        view: guest::guest_view(&defined, fw),
        defined,
        fw,
    };
    let own: Vec<Origin> = match op {
        Op::Move { device, .. } => match index_of(t, *device) {
            Some(i) => std::iter::once(*device)
                .chain(behind(t, i).into_iter().map(|j| t.devices[j].origin))
                .collect(),
            None => return Numbering::default(),
        },
        Op::AddDevice { .. } | Op::AddController { .. } => Vec::new(),
        _ => return Numbering::default(),
    };
    let Some((renames, collateral)) = before.renames(std::slice::from_ref(op), &own) else {
        return Numbering::default();
    };
    if collateral.is_empty() {
        return Numbering {
            renames,
            ..Numbering::default()
        };
    }
    let (asked, model, candidates) = candidates(t, op);
    let order = DepthFirst::new(&before.defined);
    // A bridge the edit puts in front of a bridge the guest has (in the numbering
    // order, under the same root) renumbers it: those places are not tried. A move
    // renumbers the bridges between where it was and where it goes.
    let bridges: Vec<Position> = before
        .view
        .functions
        .iter()
        .filter(|f| f.buses.is_some() && f.device.is_some_and(|i| i < t.devices.len()))
        .filter(|f| f.origin.is_none_or(|o| !own.contains(&o)))
        .map(|f| order.key(&f.libvirt))
        .collect();
    let was = match op {
        Op::Move { device, .. } => index_of(t, *device)
            .and_then(|i| t.devices[i].pci_addr())
            .map(|a| order.key(&a)),
        _ => None,
    };
    let renumbers = |k: &Position| {
        bridges.iter().any(|b| {
            b.0 == k.0
                && match &was {
                    None => b > k,
                    Some(p) => (p < b && b < k) || (k < b && b < p),
                }
        })
    };
    let mut tries: Vec<(Position, &Candidate)> = candidates
        .iter()
        .map(|c| (order.key(&c.at), c))
        .filter(|(k, c)| !(c.bridge && renumbers(k)))
        .collect();
    tries.sort_by(|a, b| a.0.cmp(&b.0));
    let from = asked.map(|q| {
        let q = order.key(&q);
        tries.partition_point(|(k, _)| *k < q)
    });
    let mut tries: Vec<_> = tries
        .into_iter()
        .enumerate()
        .map(|(k, (_, c))| {
            let forward = from.is_none_or(|p| k >= p);
            let step = if forward { k } else { usize::MAX - k };
            ((c.model != model, c.at.function != 0, !forward, step), c)
        })
        .filter(|(_, c)| c.ops.as_slice() != std::slice::from_ref(op))
        .collect();
    tries.sort_by_key(|(rank, _)| *rank);
    let untried = tries.len().saturating_sub(TRIES);
    let instead = tries
        .into_iter()
        .take(TRIES)
        .map(|(_, c)| c)
        .find(|c| {
            before
                .renames(&c.ops, &own)
                .is_some_and(|(_, others)| others.is_empty())
        })
        .map(|c| Instead {
            ops: c.ops.clone(),
            at: c.at,
            label: label(t, &c.ops, c.at),
        });
    Numbering {
        renames,
        collateral,
        untried: if instead.is_some() { 0 } else { untried },
        instead,
    }
}

/// How many places [`numbering`] tries at most, nearest first: each is the whole
/// guest assigned and numbered again (about 4 ms on a 1,000-device guest).
pub const TRIES: usize = 64;

/// What the history calls the edit at its new place.
fn label(t: &Topology, ops: &[Op], at: PciAddr) -> String {
    match ops {
        [Op::Move { .. }] => ops[0].label(t),
        [Op::AddController { model, .. }, Op::AddDevice { .. }] => {
            let device = ops[1].label(t);
            format!("{device} in a new {} at {}", model.name(), at.bdf())
        }
        [op] => format!("{} at {}", op.label(t), at.bdf()),
        _ => ops
            .iter()
            .map(|o| o.label(t))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The place asked for, the model of the bus the device lands on there, and every
/// place the edit could use instead.
fn candidates(t: &Topology, op: &Op) -> (Option<PciAddr>, Option<PciModel>, Vec<Candidate>) {
    let bridge = match op {
        Op::Move { device, .. } => index_of(t, *device)
            .and_then(|i| t.devices[i].pci.as_ref())
            .is_some_and(|p| numbered(p.model)),
        Op::AddController { model, .. } => numbered(*model),
        _ => false,
    };
    let one = |targets: Vec<PciAddr>, make: &dyn Fn(PciAddr) -> Op| -> Vec<Candidate> {
        targets
            .into_iter()
            .map(|a| Candidate {
                ops: vec![make(a)],
                at: a,
                model: t.bus_model(a.bus),
                bridge,
            })
            .collect()
    };
    match op {
        Op::Move { device, to } => {
            let targets = index_of(t, *device).map_or_else(Vec::new, |i| move_targets(t, i));
            let device = *device;
            let c = one(targets, &|to| Op::Move { device, to });
            (Some(*to), t.bus_model(to.bus), c)
        }
        Op::AddController {
            model,
            at,
            downstream,
        } => {
            let (model, downstream) = (*model, *downstream);
            let c = one(controller_targets(t, model), &|a| Op::AddController {
                model,
                at: Placement::At(a),
                downstream,
            });
            let (asked, bus) = landing(t, op, *at);
            (asked, bus, c)
        }
        Op::AddDevice {
            template,
            model,
            at,
        } => {
            let template = *template;
            let m = model.clone();
            let mut c = one(device_targets(t, template, model), &|a| Op::AddDevice {
                template,
                model: m.clone(),
                at: Placement::At(a),
            });
            let (asked, bus) = landing(t, op, *at);
            // Behind a controller libvirt adds for it: that controller at a place of
            // its own, the device in its first slot.
            if let (Some(parent), Placement::Auto | Placement::Unassigned) = (new_parent(t, op), at)
            {
                let index = next_pci_index(t);
                let first = PciAddr::new(index, parent.info().slots.0, 0);
                for a in controller_targets(t, parent) {
                    c.push(Candidate {
                        ops: vec![
                            Op::AddController {
                                model: parent,
                                at: Placement::At(a),
                                downstream: 0,
                            },
                            Op::AddDevice {
                                template,
                                model: model.clone(),
                                at: Placement::At(first),
                            },
                        ],
                        at: a,
                        model: Some(parent),
                        bridge: numbered(parent),
                    });
                }
            }
            (asked, bus, c)
        }
        _ => (None, None, Vec::new()),
    }
}

/// The device an add makes, in `defined` (the edited guest as libvirt defines it):
/// the new device of the template's kind, or the new controller of the model asked
/// for (not what libvirt adds beside it).
fn added<'d>(t: &Topology, op: &Op, defined: &'d Topology) -> Option<&'d Device> {
    let old: BTreeSet<Origin> = t.devices.iter().map(|d| d.origin).collect();
    defined.devices.iter().find(|d| {
        !old.contains(&d.origin)
            && match op {
                Op::AddDevice { template, .. } => TEMPLATES.get(*template).is_some_and(|tpl| {
                    d.pci.is_none() && d.kind == tpl.kind && d.ty.as_deref() == tpl.ty
                }),
                Op::AddController { model, .. } => {
                    d.pci.as_ref().is_some_and(|p| p.model == *model)
                }
                _ => false,
            }
    })
}

/// Whether the firmware gives a controller of `model` a bus number in its parent's
/// numbering (an expander bus is numbered from its own `busNr`).
fn numbered(model: PciModel) -> bool {
    !model.is_root() && !model.is_expander()
}

/// Where an add lands: the place asked for, or, for a place libvirt picks, the
/// address the new thing (or the first controller libvirt adds above it) gets on a
/// bus that exists now; with the model of the bus the new thing sits on.
fn landing(t: &Topology, op: &Op, at: Placement) -> (Option<PciAddr>, Option<PciModel>) {
    if let Placement::At(a) = at {
        return (Some(a), t.bus_model(a.bus));
    }
    let Ok(out) = apply_unchecked(t, op) else {
        return (None, None);
    };
    let (defined, _) = as_defined(&out);
    let Some(mut addr) = added(t, op, &defined).and_then(Device::pci_addr) else {
        return (None, None);
    };
    let model = defined.bus_model(addr.bus);
    // Up through the controllers the edit adds, to a bus that exists now.
    for _ in 0..defined.devices.len() {
        if t.bus_model(addr.bus).is_some() {
            return (Some(addr), model);
        }
        match defined.controller(addr.bus).and_then(Device::pci_addr) {
            Some(a) => addr = a,
            None => break,
        }
    }
    (None, model)
}

/// The model of the controller libvirt adds for the device an add places, when the
/// device sits right behind one that sits on a bus that exists now.
fn new_parent(t: &Topology, op: &Op) -> Option<PciModel> {
    let out = apply_unchecked(t, op).ok()?;
    let (defined, _) = as_defined(&out);
    let device = added(t, op, &defined)?;
    let parent = defined.controller(device.pci_addr()?.bus)?;
    let model = parent.pci.as_ref()?.model;
    let fresh = !t.devices.iter().any(|d| d.origin == parent.origin);
    (fresh && t.bus_model(parent.pci_addr()?.bus).is_some()).then_some(model)
}

/// A place in the numbering order: the root it is under (0 for the main root, an
/// expander bus after it), then the (slot, function) of each bridge from that root.
type Position = (u32, Vec<(u8, u8)>);

/// The order in which the firmware numbers buses: depth-first, each bus's slots and
/// functions in order, a bridge's subtree right after it; the main root first, then
/// each expander bus (numbered from its own `busNr`).
struct DepthFirst {
    /// Controller index → where its bus starts.
    paths: Vec<(u32, Position)>,
}

impl DepthFirst {
    fn new(t: &Topology) -> DepthFirst {
        let mut paths = Vec::new();
        fn walk(
            t: &Topology,
            bus: &BusNode,
            root: u32,
            path: &[(u8, u8)],
            out: &mut Vec<(u32, Position)>,
        ) {
            out.push((bus.index, (root, path.to_vec())));
            for s in &bus.slots {
                let Some(child) = s.device.as_ref().and_then(|d| d.bus.as_deref()) else {
                    continue;
                };
                if child.model().is_expander() {
                    let nr = t
                        .controller(child.index)
                        .and_then(|d| d.pci.as_ref())
                        .and_then(|p| p.bus_nr)
                        .unwrap_or(u32::MAX - 1);
                    walk(t, child, nr.saturating_add(1), &[], out);
                } else {
                    let mut p = path.to_vec();
                    p.push((s.addr.slot, s.addr.function));
                    walk(t, child, root, &p, out);
                }
            }
        }
        if let Some(root) = &tree_view(t).root {
            walk(t, root, 0, &[], &mut paths);
        }
        DepthFirst { paths }
    }

    /// The position of `a` in the numbering order.
    fn key(&self, a: &PciAddr) -> Position {
        let (root, mut path) = self
            .paths
            .iter()
            .find(|(i, _)| *i == a.bus)
            .map_or((u32::MAX, Vec::new()), |(_, k)| k.clone());
        path.push((a.slot, a.function));
        (root, path)
    }
}
