//! The checks every fuzz target and its proptest twin (`tests/fuzzing.rs`) run: each
//! entry point gets arbitrary bytes, and what it accepts must keep the project's
//! promises (no panic; an untouched document writes back byte for byte; what assign
//! writes is well-formed and reads back; edits write XML that reads back).

#![allow(dead_code)]

use virt_pci::core::edit::{self, Op, Placement};
use virt_pci::libvirt::{Document, read_topology};

/// Bundled guests the edit targets start from.
pub const EXAMPLES: &[&str] = &[
    include_str!("../assets/examples/centos6-q35-virtio.xml"),
    include_str!("../assets/examples/debian8-i440fx.xml"),
    include_str!("../assets/examples/aarch64-virt-mmio.xml"),
    include_str!("../assets/examples/win10-q35.xml"),
];

/// XML parse: whatever parses writes back unchanged.
pub fn xml(data: &[u8]) {
    if let Ok(doc) = Document::parse_bytes(data) {
        assert_eq!(doc.write().as_bytes(), data, "lossless");
    }
}

/// Domain read.
pub fn domain(data: &[u8]) {
    if let Ok(doc) = Document::parse_bytes(data) {
        let _ = read_topology(&doc);
    }
}

/// Assign: what it writes parses and reads as a domain.
pub fn assign(data: &[u8]) {
    let Ok(mut doc) = Document::parse_bytes(data) else {
        return;
    };
    let Ok(topo) = read_topology(&doc) else {
        return;
    };
    let Ok(plan) = virt_pci::core::assign::assign(&topo) else {
        return;
    };
    virt_pci::libvirt::write_plan(&mut doc, &topo, &plan);
    let out = doc.write();
    let again = Document::parse(&out).expect("assign writes well-formed XML");
    read_topology(&again).expect("assign writes a domain");
}

/// The analyses (`check`, `tree`, `io`, the designer's panes).
pub fn analyses(data: &[u8]) {
    let Ok(doc) = Document::parse_bytes(data) else {
        return;
    };
    let Ok(topo) = read_topology(&doc) else {
        return;
    };
    let _ = virt_pci::core::assign::check_all(&topo);
    if let Ok(ctx) = virt_pci::context::context(&doc, &virt_pci::context::Choices::default()) {
        let a = virt_pci::core::analyses::analyse(&topo, &ctx);
        let _ = virt_pci::render::tree::render_text_analysed(&topo, false, &a);
        let _ = virt_pci::render::io_space::render_text("fuzz", &a);
    }
}

/// One edit operation from four numbers, resolved against the topology (indexes wrap).
fn op(t: &virt_pci::core::topology::Topology, k: &[u8]) -> Option<Op> {
    let n = t.devices.len();
    let (kind, a, b, c) = (k[0], k[1] as usize, k[2] as usize, k[3] as usize);
    let dev = |x: usize| (n > 0).then(|| t.devices[x % n].origin);
    let pick = |v: Vec<virt_pci::core::address::PciAddr>, x: usize| {
        (!v.is_empty()).then(|| v[x % v.len()])
    };
    Some(match kind % 7 {
        0 => {
            let template = a % edit::TEMPLATES.len();
            let models = edit::TEMPLATES[template].models;
            let model = models[b % models.len()].to_string();
            let at = match pick(edit::device_targets(t, template, &model), c) {
                Some(x) if c % 3 != 0 => Placement::At(x),
                _ => Placement::Unassigned,
            };
            Op::AddDevice {
                template,
                model,
                at,
            }
        }
        1 => {
            let model = edit::CONTROLLER_MODELS[a % edit::CONTROLLER_MODELS.len()];
            let at = pick(edit::controller_targets(t, model), b)
                .map_or(Placement::Unassigned, Placement::At);
            Op::AddController {
                model,
                at,
                downstream: (c % 4) as u8 + 1,
            }
        }
        2 => Op::Move {
            device: dev(a)?,
            to: pick(edit::move_targets(t, a % n.max(1)), b)?,
        },
        3 => Op::Delete { device: dev(a)? },
        4 => Op::SetModel {
            device: dev(a)?,
            model: Some(["virtio", "virtio-transitional", "virtio-non-transitional"][b % 3].into()),
        },
        5 => Op::SetHotplug {
            device: dev(a)?,
            on: b % 2 == 0,
        },
        _ => Op::AutoAssign,
    })
}

/// Edit-op sequences on a bundled guest: the XML written for them reads back.
pub fn edits(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let text = EXAMPLES[which as usize % EXAMPLES.len()];
    let doc = Document::parse(text).expect("example");
    let base = read_topology(&doc).expect("example");
    let mut t = base.clone();
    for k in rest.chunks_exact(4).take(64) {
        if let Some(o) = op(&t, k)
            && let Ok(next) = edit::apply(&t, &o)
        {
            t = next;
        }
    }
    let mut out = doc.clone();
    virt_pci::libvirt::write::write_topology(&mut out, &base, &t);
    let written = out.write();
    let again = Document::parse(&written).expect("edits write well-formed XML");
    read_topology(&again).expect("edits write a domain");
}

/// The XML editor's check: any text as the new XML of an element of a bundled guest.
pub fn xml_edit(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let Ok(mut s) = virt_pci::tui::Session::from_text(
        EXAMPLES[which as usize % EXAMPLES.len()],
        None,
        "fuzz".into(),
    ) else {
        return;
    };
    let n = s.topology().devices.len();
    if n == 0 {
        return;
    }
    let origin = s.topology().devices[which as usize % n].origin;
    if let Ok(edit) = s.check_element_edit(origin, text) {
        s.apply_element_edit(edit);
        let out = s.text();
        Document::parse(&out).expect("an accepted XML edit keeps the document well-formed");
    }
}
