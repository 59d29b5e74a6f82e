//! The teaching views: `E` explains the selected row from the table of
//! [`core::explain`](crate::core::explain) (what it is, a diagram, why it sits there,
//! what moving it would change, with this guest's own facts), `F2` lists the
//! glossary, and the move picker says what a device becomes at each destination.

use super::app::View;
use super::popups::Tone;
use super::rows::{Ghost, Row, RowKey, Section};
use crate::core::address::PciAddr;
use crate::core::analyses;
use crate::core::edit::{self, Op};
use crate::core::explain::{Topic, controller_topic, mode_topic, topic};
use crate::core::io_space::{Outcome, size_text};

fn topic_lines(t: &Topic, out: &mut Vec<(Tone, String)>) {
    out.push((Tone::Heading, t.term.to_string()));
    out.push((Tone::Plain, t.what.to_string()));
    out.push((Tone::Plain, String::new()));
    for l in t.diagram {
        out.push((Tone::Dim, format!("    {l}")));
    }
    out.push((Tone::Plain, String::new()));
    out.push((Tone::Plain, format!("where it sits: {}", t.placement)));
    out.push((Tone::Plain, format!("if it moved: {}", t.moving)));
}

/// What device `i` becomes at `to`: its virtio mode there and the guest's IO demand
/// with it there (the analyses rerun on the moved guest); empty when the move is
/// refused.
pub fn becomes(view: &View, i: usize, to: PciAddr) -> String {
    let t = view.topology();
    let Some(d) = t.devices.get(i) else {
        return String::new();
    };
    let Ok(moved) = edit::apply(
        t,
        &Op::Move {
            device: d.origin,
            to,
        },
    ) else {
        return "refused there".into();
    };
    let a = analyses::analyse(&moved, view.context());
    let now = &view.derived.analysis;
    let mut parts = Vec::new();
    if let Some(v) = a.virtio_of(i) {
        parts.push(v.mode.name().to_string());
    }
    if a.io.outcome != Outcome::NotModelled {
        let delta = a.io.demand as i64 - now.io.demand as i64;
        let io = match delta {
            0 => "IO unchanged".to_string(),
            d if d > 0 => format!("IO +{}", size_text(d as u32)),
            d => format!("IO -{}", size_text((-d) as u32)),
        };
        parts.push(io);
        if a.io.outcome != now.io.outcome {
            parts.push(a.io.outcome.name().to_string());
        }
    }
    parts.join(", ")
}

/// What device `i` becomes with `model`: its mode and the guest's IO demand with it
/// (from the analyses of the changed guest), then the table's note on the spelling.
pub fn with_model(view: &View, i: usize, model: &str) -> String {
    let t = view.topology();
    let Some(d) = t.devices.get(i) else {
        return String::new();
    };
    let mut parts = Vec::new();
    if let Ok(changed) = edit::apply(
        t,
        &Op::SetModel {
            device: d.origin,
            model: Some(model.to_string()),
        },
    ) {
        let a = analyses::analyse(&changed, view.context());
        let now = &view.derived.analysis;
        let mut here = Vec::new();
        if let Some(v) = a.virtio_of(i) {
            here.push(v.mode.name().to_string());
        }
        if a.io.outcome != Outcome::NotModelled && a.io.demand != now.io.demand {
            let delta = a.io.demand as i64 - now.io.demand as i64;
            here.push(if delta > 0 {
                format!("IO +{}", size_text(delta as u32))
            } else {
                format!("IO -{}", size_text((-delta) as u32))
            });
        }
        if !here.is_empty() {
            parts.push(format!("here: {}", here.join(", ")));
        }
    }
    if let Some(n) = crate::core::explain::model_note(model) {
        parts.push(n.to_string());
    }
    parts.join("; ")
}

/// The explain view of `row`.
pub fn row_lines(view: &View, row: &Row) -> Vec<(Tone, String)> {
    let mut out = Vec::new();
    let mut topics: Vec<&'static str> = Vec::new();
    key_lines(view, row, &mut out, &mut topics);
    if let Some(g) = row.ghost {
        out.push((
            Tone::Heading,
            match g {
                Ghost::Added => "not in the file: libvirt adds this when it defines the guest (v shows the file as written)".to_string(),
                Ghost::Placed => "written without an address: this is where libvirt puts it".to_string(),
            },
        ));
        out.push((Tone::Plain, String::new()));
    }
    if let Some(i) = row.device {
        device_lines(view, i, &mut out, &mut topics);
    }
    for id in topics {
        if let Some(tp) = topic(id) {
            topic_lines(tp, &mut out);
            out.push((Tone::Plain, String::new()));
        }
    }
    out.push((Tone::Dim, "F2: the glossary of every term".to_string()));
    out
}

/// What the kind of row says before its device: the root's controller, the chipset,
/// free slots, a section; and the topics each brings.
fn key_lines(
    view: &View,
    row: &Row,
    out: &mut Vec<(Tone, String)>,
    topics: &mut Vec<&'static str>,
) {
    match row.key {
        RowKey::Root => {
            if let Some(r) = &view.derived.view.root {
                topics.push(controller_topic(r.model()));
            }
        }
        RowKey::Chipset(_) => topics.push("chipset"),
        RowKey::Free(_) | RowKey::Empty(_) => {
            out.push((Tone::Heading, row.label.clone()));
            out.push((
                Tone::Plain,
                "Free slots are where a device can go: a adds one here, x then p moves one here."
                    .into(),
            ));
            out.push((Tone::Plain, String::new()));
            topics.push("hotplug");
        }
        RowKey::Section(s) => {
            out.extend(section_lines(s).into_iter().map(|l| (Tone::Plain, l)));
            out.push((Tone::Plain, String::new()));
            if s == Section::Mmio {
                topics.push("virtio-mmio");
            }
        }
        RowKey::Device(_) => {}
    }
}

/// Device `i`: a controller's topics and IO window, a virtio device's mode and why,
/// and what another device would become elsewhere.
fn device_lines(
    view: &View,
    i: usize,
    out: &mut Vec<(Tone, String)>,
    topics: &mut Vec<&'static str>,
) {
    let t = view.topology();
    let d = &view.derived;
    let dev = &t.devices[i];
    out.push((Tone::Heading, dev.describe(&t.machine)));
    if let Some(p) = &dev.pci {
        topics.push(controller_topic(p.model));
        if p.model.is_port() {
            topics.push("hotplug");
        }
        if let Some(w) = dev.index.and_then(|x| d.analysis.io.window(x))
            && w.size > 0
        {
            let why: Vec<&str> = w.reasons.iter().map(|r| r.describe()).collect();
            out.push((
                Tone::Plain,
                format!(
                    "Here: an IO window of {} ({}).",
                    size_text(w.size),
                    why.join("; ")
                ),
            ));
            topics.push("io-window");
        }
    }
    if let Some(v) = d.analysis.virtio_of(i) {
        out.push((
            Tone::Plain,
            format!("Here it is {}, because:", v.mode.name()),
        ));
        for w in v.why() {
            out.push((Tone::Plain, format!("  · {w}")));
        }
        topics.push(mode_topic(v.mode));
    }
    if dev.pci.is_none() {
        let lines = moved_lines(view, i);
        if !lines.is_empty() {
            out.push((Tone::Plain, String::new()));
            out.push((Tone::Heading, "moved elsewhere it would be".to_string()));
            out.extend(lines.into_iter().map(|l| (Tone::Plain, l)));
        }
    }
    out.push((Tone::Plain, String::new()));
}

/// What device `i` would become elsewhere, from the analyses themselves: the first
/// legal place on each kind of bus (a whole slot where there is one), four at most.
fn moved_lines(view: &View, i: usize) -> Vec<String> {
    let t = view.topology();
    let mut seen = Vec::new();
    let mut lines = Vec::new();
    let targets = edit::move_targets(t, i);
    let shared = edit::sharings(t, &targets, Some(t.devices[i].origin));
    let mut places: Vec<(PciAddr, bool)> = targets
        .into_iter()
        .zip(shared.iter().map(Option::is_some))
        .collect();
    places.sort_by_key(|&(_, s)| s);
    for (a, _) in places {
        let Some(model) = t.bus_model(a.bus) else {
            continue;
        };
        if seen.contains(&model) {
            continue;
        }
        seen.push(model);
        lines.push(format!(
            "  {} on {} #{}: {}",
            a.bdf(),
            model.name(),
            a.bus,
            becomes(view, i, a)
        ));
        if seen.len() >= 4 {
            break;
        }
    }
    lines
}

/// What a group row below the tree holds.
pub fn section_lines(s: Section) -> Vec<String> {
    let text = match s {
        Section::Mmio => {
            "Devices on the virtio-mmio transport: no PCI slot and no IO ports; the guest finds them through the device tree."
        }
        Section::Unassigned => {
            "Devices written without a PCI address. libvirt gives each one an address (and adds the controllers it needs) when it defines the guest; A does the same here, v shows where they will go."
        }
        Section::Dangling => {
            "Devices whose address names a bus or slot that cannot take them; libvirt refuses the guest until they move (m) or lose their address."
        }
    };
    vec![text.to_string()]
}

/// The glossary: every topic of the table.
pub fn glossary_lines() -> Vec<(Tone, String)> {
    let mut out = Vec::new();
    for t in crate::core::explain::TOPICS {
        topic_lines(t, &mut out);
        out.push((Tone::Plain, String::new()));
    }
    out
}
