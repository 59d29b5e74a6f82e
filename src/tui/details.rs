//! The details pane: for the selected row, its properties, the QEMU device libvirt
//! will use, the PCI id the guest sees, the virtio mode with the plain-language "why",
//! the IO it needs or forwards, and the diagnostics about it with their fixes.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::app::View;
use super::rows::RowKey;
use super::theme::{mode_badge, severity_mark};
use super::tree::size_text;
use crate::core::address::Address;
use crate::core::device::SlotClass;

fn prop<'a>(view: &View, key: &str, value: impl Into<String>) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{key:<10}"), view.theme.dim()),
        Span::raw(value.into()),
    ])
}

/// The lines of the details pane.
pub fn lines(view: &View) -> Vec<Line<'static>> {
    let th = &view.theme;
    let t = view.topology();
    let d = &view.derived;
    let mut out: Vec<Line<'static>> = Vec::new();
    let Some(row) = view.row() else {
        return out;
    };
    if let Some(g) = row.ghost {
        out.push(Line::styled(
            match g {
                super::rows::Ghost::Added => "pending: libvirt adds this when it defines the guest",
                super::rows::Ghost::Placed => {
                    "pending: no address in the file; libvirt puts it here"
                }
            },
            th.target(),
        ));
        if row.device.is_none() {
            out.push(Line::styled(row.label.clone(), th.heading()));
            if let Some(a) = &row.addr {
                out.push(prop(view, "address", a.clone()));
            }
            out.push(Line::from("v shows the file as written; E explains"));
            return out;
        }
    }
    match row.key {
        RowKey::Root => {
            if let Some(root) = &d.view.root {
                let info = root.model().info();
                out.push(Line::styled(
                    format!("{} #{}", root.model().name(), root.index),
                    th.heading(),
                ));
                out.push(prop(view, "what", info.summary));
                out.push(prop(
                    view,
                    "machine",
                    format!("{} ({})", t.machine.machine_type, t.machine.class.name()),
                ));
                out.push(prop(view, "predicts", view.target.summary()));
                out.push(prop(
                    view,
                    "slots",
                    format!(
                        "{} free of {}",
                        root.free_slots.len(),
                        info.slots.1 - info.slots.0 + 1
                    ),
                ));
                if root.implicit {
                    out.push(prop(view, "XML", "no element: libvirt adds it"));
                }
            }
        }
        RowKey::Chipset(a) => {
            out.push(Line::styled(row.label.clone(), th.heading()));
            out.push(prop(view, "address", a.bdf()));
            out.push(Line::from(
                "part of the machine's chipset: it is always there and cannot be moved",
            ));
        }
        RowKey::Free(bus) | RowKey::Empty(bus) => {
            out.push(Line::styled(row.label.clone(), th.heading()));
            let model = t.bus_model(bus).map_or("?", |m| m.name());
            out.push(prop(view, "bus", format!("{model} #{bus}")));
            out.push(Line::from(
                "a for add puts a device or controller here; with a device cut (x), p moves it here",
            ));
        }
        RowKey::Section(sec) => {
            out.push(Line::styled(row.label.clone(), th.heading()));
            for l in super::explain::section_lines(sec) {
                out.push(Line::from(l));
            }
        }
        RowKey::Device(_) => device_lines(view, &mut out),
    }
    out
}

fn device_lines(view: &View, out: &mut Vec<Line<'static>>) {
    let th = &view.theme;
    let t = view.topology();
    let d = &view.derived;
    let Some(i) = view.row().and_then(|r| r.device) else {
        return;
    };
    let dev = &t.devices[i];
    let facts = dev.facts(&t.machine);
    out.push(Line::styled(dev.describe(&t.machine), th.heading()));
    out.push(prop(view, "address", address_text(view, i)));
    if let Some(m) = dev.effective_model(&t.machine) {
        out.push(prop(view, "model", m));
    }
    let qemu = d
        .analysis
        .virtio_of(i)
        .map(|v| v.qemu_device.clone())
        .unwrap_or(facts.qemu.clone());
    if !qemu.is_empty() {
        out.push(prop(view, "QEMU", qemu));
    }
    if dev.pci.is_some() {
        controller_lines(view, i, out);
    } else {
        slot_lines(view, i, facts.slot, out);
    }
    virtio_lines(view, i, out);
    // Elements the designer added have no line in the file yet.
    out.push(prop(
        view,
        "line",
        if dev.line == 0 {
            "new (not saved yet)".to_string()
        } else {
            dev.line.to_string()
        },
    ));
    problem_lines(view, i, out);
}

/// Device `i`'s address as written (with the bus it sits on), or where libvirt puts
/// a device written without one.
fn address_text(view: &View, i: usize) -> String {
    let t = view.topology();
    match &t.devices[i].address {
        Some(Address::Pci { addr, .. }) => {
            let on = t
                .bus_model(addr.bus)
                .map_or(String::new(), |m| format!(" on {} #{}", m.name(), addr.bus));
            format!("{}{on}", addr.bdf())
        }
        Some(Address::PciRequest) | None => {
            let placed = view
                .derived
                .analysis
                .defined
                .devices
                .get(i)
                .and_then(|x| x.pci_addr())
                .map_or(String::new(), |a| format!(" (libvirt: {})", a.bdf()));
            format!("none{placed}")
        }
        Some(Address::VirtioMmio) => "virtio-mmio".into(),
        Some(Address::Unassigned) => "unassigned (hidden from the guest)".into(),
        Some(Address::Other(ty)) => format!("type='{ty}'"),
    }
}

/// A PCI controller's model: what it is, what it takes, hotplug, its IO window.
fn controller_lines(view: &View, i: usize, out: &mut Vec<Line<'static>>) {
    let dev = &view.topology().devices[i];
    let Some(p) = &dev.pci else {
        return;
    };
    let info = p.model.info();
    out.push(prop(view, "what", info.summary));
    out.push(prop(view, "takes", info.accepts.slot_description()));
    out.push(prop(
        view,
        "hotplug",
        if p.hotpluggable() { "yes" } else { "no" },
    ));
    if let Some(w) = dev.index.and_then(|x| view.derived.analysis.io.window(x)) {
        let reasons: Vec<&str> = w.reasons.iter().map(|r| r.describe()).collect();
        let text = if w.size == 0 {
            "no IO window".to_string()
        } else {
            format!("IO window {}: {}", size_text(w.size), reasons.join("; "))
        };
        out.push(prop(view, "IO", text));
    }
}

/// Another device's slot class (none on virtio-mmio) and the IO ports it needs.
fn slot_lines(view: &View, i: usize, class: SlotClass, out: &mut Vec<Line<'static>>) {
    let dev = &view.topology().devices[i];
    let slot = match class {
        SlotClass::None => "none (not a PCI device)",
        SlotClass::Pci => "conventional PCI",
        SlotClass::Pcie => "PCI Express (conventional on i440fx)",
        SlotClass::Virtio => "PCI Express port or any PCI slot",
    };
    // A device on virtio-mmio has no PCI slot at all.
    if !matches!(dev.address, Some(Address::VirtioMmio)) {
        out.push(prop(view, "slot", slot));
    }
    if let Some(io) = view.derived.analysis.io.device_io(i)
        && !io.bars.is_empty()
    {
        out.push(prop(
            view,
            "IO",
            format!("{} bytes of IO ports ({})", io.total(), io.status.name()),
        ));
    }
}

/// A virtio device's mode, PCI id and the "why" of its mode.
fn virtio_lines(view: &View, i: usize, out: &mut Vec<Line<'static>>) {
    let th = &view.theme;
    let Some(v) = view.derived.analysis.virtio_of(i) else {
        return;
    };
    out.push(Line::from(vec![
        Span::styled(format!("{:<10}", "mode"), th.dim()),
        Span::styled(mode_badge(v.mode).to_string(), th.mode(v.mode)),
    ]));
    if let Some(id) = v.pci_id_text() {
        out.push(prop(view, "PCI id", id));
    }
    out.push(Line::default());
    out.push(Line::styled("why", th.heading()));
    for w in v.why() {
        out.push(Line::from(format!("· {w}")));
    }
}

/// The diagnostics about device `i`, each with its hint and fix.
fn problem_lines(view: &View, i: usize, out: &mut Vec<Line<'static>>) {
    let th = &view.theme;
    let origin = view.topology().devices[i].origin;
    let mine: Vec<_> = view
        .derived
        .problems
        .iter()
        .filter(|p| p.origin == Some(origin))
        .collect();
    if !mine.is_empty() {
        out.push(Line::default());
    }
    for p in mine {
        let s = p.diag.severity;
        out.push(Line::from(vec![
            Span::styled(
                format!("{} {} ", severity_mark(s, view.ascii), p.diag.code),
                th.severity(s),
            ),
            Span::raw(p.diag.message.clone()),
        ]));
        if let Some(h) = &p.diag.hint {
            out.push(Line::styled(format!("  → {h}"), th.dim()));
        }
        if let Some(fix) = &p.fix {
            out.push(Line::styled(format!("  F: {}", fix.summary), th.target()));
        }
    }
}

/// Draws the details pane; it scrolls (Tab to focus it, or the wheel over it) and
/// says so in its border when there is more.
pub fn render(f: &mut Frame<'_>, area: Rect, view: &View) {
    let focused = view.focus == super::app::Pane::Details;
    let all = lines(view);
    let inner_w = area.width.saturating_sub(2).max(1) as usize;
    let total: usize = all.iter().map(|l| l.width().div_ceil(inner_w).max(1)).sum();
    let rows = area.height.saturating_sub(2) as usize;
    let more = if total > rows {
        format!(
            " {}/{} ",
            (view.details_scroll + 1).min(all.len()),
            all.len()
        )
    } else {
        String::new()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(view.theme.border(focused))
        .title(Span::styled(" details ", view.theme.heading()))
        .title_bottom(Line::styled(more, view.theme.dim()));
    let shown: Vec<Line> = all.into_iter().skip(view.details_scroll).collect();
    f.render_widget(
        Paragraph::new(shown)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}
