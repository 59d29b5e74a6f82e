//! The `tree` view: the PCI topology as text (like `lspci -tv`, in libvirt's terms) and
//! as JSON, both drawn from the core's [`TreeView`](crate::core::view::TreeView), and
//! optionally annotated with the live analyses: the virtio mode of every device, the IO
//! window of every bridge, the diagnostics on the rows they concern, and the IO budget.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::core::address::PciAddr;
use crate::core::analyses::Analysis;
use crate::core::io_space::{Outcome, size_text};
use crate::core::topology::{Origin, PciController, Topology};
use crate::core::view::{BusNode, Dangling, DeviceNode, SlotNode, TreeView, tree_view};
use crate::core::virtio::Mode;

/// The connectors of one drawing style.
struct Style {
    tee: &'static str,
    last: &'static str,
    pipe: &'static str,
    blank: &'static str,
    dash: &'static str,
}

const UNICODE: Style = Style {
    tee: "├─ ",
    last: "└─ ",
    pipe: "│  ",
    blank: "   ",
    dash: " — ",
};

const ASCII: Style = Style {
    tee: "+- ",
    last: "\\- ",
    pipe: "|  ",
    blank: "   ",
    dash: " -- ",
};

/// How to draw: the connectors, and the analyses when there are any.
struct Draw<'a> {
    style: &'a Style,
    notes: Option<&'a Notes<'a>>,
}

/// What the analyses say about one element of the input.
#[derive(Default)]
struct DeviceNote {
    /// virtio mode, for virtio devices on PCI or virtio-mmio.
    mode: Option<Mode>,
    /// The guest-visible PCI id of a virtio device.
    pci_id: Option<String>,
    /// Where libvirt places it, for a device written without an address.
    placed: Option<PciAddr>,
    /// Diagnostic codes about it, errors first.
    codes: Vec<&'static str>,
}

/// The analyses, keyed the way the view is: elements by origin, buses by index.
struct Notes<'a> {
    analysis: &'a Analysis,
    devices: HashMap<Origin, DeviceNote>,
}

impl<'a> Notes<'a> {
    fn new(input: &Topology, a: &'a Analysis) -> Notes<'a> {
        let mut devices: HashMap<Origin, DeviceNote> = HashMap::new();
        let origin = |i: usize| a.defined.devices.get(i).map(|d| d.origin);
        for v in &a.virtio {
            if let Some(o) = origin(v.device) {
                let n = devices.entry(o).or_default();
                n.mode = Some(v.mode);
                n.pci_id = v.pci_id_text();
            }
        }
        // Devices the input leaves without a PCI address: where libvirt puts them.
        for (d, def) in input.devices.iter().zip(&a.defined.devices) {
            if d.pci_addr().is_none()
                && let Some(at) = def.pci_addr()
            {
                devices.entry(d.origin).or_default().placed = Some(at);
            }
        }
        for f in &a.findings {
            if let Some(o) = f.diag.device.and_then(origin) {
                devices
                    .entry(o)
                    .or_default()
                    .codes
                    .push(f.diag.code.as_str());
            }
        }
        Notes {
            analysis: a,
            devices,
        }
    }

    fn device(&self, o: Origin) -> Option<&DeviceNote> {
        self.devices.get(&o)
    }

    /// ` io=4K`, for a bridge the firmware gives an IO window.
    fn window(&self, index: u32) -> String {
        match self.analysis.io.window(index) {
            Some(w) if w.size > 0 => format!(" io={}", size_text(w.size)),
            _ => String::new(),
        }
    }
}

/// The tree as text.
pub fn render_text(topology: &Topology, ascii: bool) -> String {
    text(topology, ascii, None)
}

/// The tree as text with the analyses: each virtio device's mode, each bridge's IO
/// window, diagnostic codes on their rows, and the IO budget line at the end.
pub fn render_text_analysed(topology: &Topology, ascii: bool, analysis: &Analysis) -> String {
    // A domain libvirt refuses is never defined: modes and windows of a guest that
    // does not exist would mislead, so only the refusal is shown.
    let notes = analysis
        .refused
        .is_none()
        .then(|| Notes::new(topology, analysis));
    let mut out = text(topology, ascii, notes.as_ref());
    out.push('\n');
    out.push_str(&summary(analysis));
    out
}

/// The closing lines: the guest OS and firmware assumed, IO used against the budget
/// and the outcome, and how many diagnostics there are.
fn summary(a: &Analysis) -> String {
    let mut out = String::new();
    let os = a.os.as_ref().map_or_else(
        || "unknown (--os ID to check its virtio drivers)".to_string(),
        |o| {
            let drivers = o
                .drivers()
                .map_or("not in virt-pci's table or osinfo-db", |d| d.summary());
            format!("{}: {drivers}", o.label())
        },
    );
    let _ = writeln!(out, "guest OS: {os}");
    let p = &a.io;
    if let Some(d) = &a.refused {
        let _ = writeln!(
            out,
            "libvirt refuses this domain: [{}] {}",
            d.code, d.message
        );
        return out;
    }
    if p.outcome == Outcome::NotModelled {
        out.push_str("IO ports: none (no x86 IO port space on this machine)\n");
    } else {
        let outcome = match p.outcome {
            Outcome::Fits => "fits".to_string(),
            Outcome::PaddingStripped => format!(
                "OVMF strips the hotplug padding of {} bridge(s)",
                p.stripped.len()
            ),
            Outcome::DevicesDropped => {
                format!("OVMF drops {} device(s)", p.dropped.len())
            }
            Outcome::BootFailure => "SeaBIOS runs out of IO space: no boot".to_string(),
            Outcome::NotModelled => String::new(),
        };
        let _ = writeln!(
            out,
            "IO ports under {} ({}): {:#x} of {:#x} used, {outcome}",
            a.firmware.name,
            a.firmware_source.describe(),
            p.used,
            p.budget
        );
    }
    let errors = a
        .findings
        .iter()
        .filter(|f| f.diag.severity == crate::core::diag::Severity::Error)
        .count();
    if !a.findings.is_empty() {
        let _ = writeln!(
            out,
            "{} finding(s), {errors} error(s): virt-pci check FILE explains them",
            a.findings.len()
        );
    }
    out
}

fn text(topology: &Topology, ascii: bool, notes: Option<&Notes>) -> String {
    let view = tree_view(topology);
    let draw = &Draw {
        style: if ascii { &ASCII } else { &UNICODE },
        notes,
    };
    let mut out = String::new();
    let name = if view.name.is_empty() {
        "(unnamed)"
    } else {
        view.name.as_str()
    };
    let m = &view.machine;
    let mt = if m.machine_type.is_empty() {
        "?"
    } else {
        m.machine_type.as_str()
    };
    let _ = writeln!(
        out,
        "{name}  machine={mt} ({}, {})",
        m.class.name(),
        m.arch_name
    );
    match &view.root {
        Some(root) => {
            let mut line = format!("{} #{}", root.model().name(), root.index);
            if root.implicit {
                line.push_str(" (implicit)");
            }
            line.push_str(&controller_attrs(&root.controller));
            if let Some(n) = draw.notes {
                line.push_str(&n.window(root.index));
            }
            let _ = writeln!(out, "{line}");
            bus_children(&mut out, root, "", draw);
        }
        None => out.push_str("(no PCI root bus)\n"),
    }
    if !view.virtio_mmio.is_empty() {
        out.push_str("\nvirtio-mmio\n");
        let items: Vec<Item> = view
            .virtio_mmio
            .iter()
            .map(|d| Item::Device(device_line(d, None, draw.notes), d))
            .collect();
        items_text(&mut out, &items, "", draw);
    }
    if !view.unassigned.is_empty() {
        out.push_str("\nunassigned (no PCI address yet)\n");
        let items: Vec<Item> = view
            .unassigned
            .iter()
            .map(|d| {
                let mut line = device_line(d, None, draw.notes);
                if d.address_type.as_deref() == Some("unassigned") {
                    line.push_str(" (address type='unassigned': hidden from the guest)");
                }
                Item::Device(line, d)
            })
            .collect();
        items_text(&mut out, &items, "", draw);
    }
    if !view.dangling.is_empty() {
        out.push_str("\ndangling (not attached to the tree)\n");
        let items: Vec<Item> = view
            .dangling
            .iter()
            .map(|Dangling { device, problem }| {
                let line = format!(
                    "{}{}{}",
                    device_line(device, device.pci, draw.notes),
                    draw.style.dash,
                    problem.message()
                );
                Item::Device(line, device)
            })
            .collect();
        items_text(&mut out, &items, "", draw);
    }
    out
}

/// One line of a listing and, for a controller, the bus drawn beneath it.
enum Item<'a> {
    Device(String, &'a DeviceNode),
    Text(String),
}

fn items_text(out: &mut String, items: &[Item<'_>], prefix: &str, draw: &Draw) {
    for (n, item) in items.iter().enumerate() {
        let last = n + 1 == items.len();
        let connector = if last {
            draw.style.last
        } else {
            draw.style.tee
        };
        let (line, device) = match item {
            Item::Device(line, d) => (line.as_str(), Some(*d)),
            Item::Text(line) => (line.as_str(), None),
        };
        let _ = writeln!(out, "{prefix}{connector}{line}");
        if let Some(bus) = device.and_then(|d| d.bus.as_deref()) {
            let deeper = format!(
                "{prefix}{}",
                if last {
                    draw.style.blank
                } else {
                    draw.style.pipe
                }
            );
            bus_children(out, bus, &deeper, draw);
        }
    }
}

/// The occupied slots of `bus`, then a line for its free slots.
fn bus_children(out: &mut String, bus: &BusNode, prefix: &str, draw: &Draw) {
    let mut items: Vec<Item> = bus.slots.iter().map(|s| slot_item(s, draw.notes)).collect();
    if let Some(free) = free_line(bus) {
        items.push(Item::Text(free));
    }
    items_text(out, &items, prefix, draw);
}

fn slot_item<'a>(slot: &'a SlotNode, notes: Option<&Notes>) -> Item<'a> {
    match (&slot.device, slot.chipset) {
        (Some(d), chipset) => {
            let mut line = device_line(d, Some(slot.addr), notes);
            if chipset.is_some() {
                line.push_str(" locked");
            }
            Item::Device(line, d)
        }
        (None, Some(name)) => Item::Text(format!("{} {name} locked", slot.addr.bdf())),
        // The view never makes a slot with neither; say so rather than hide it.
        (None, None) => Item::Text(format!("{} ?", slot.addr.bdf())),
    }
}

/// `01:00.0 disk virtio (vda) [virtio-blk-pci]`, with the controller's target
/// settings for PCI controllers. `multifunction` is left to the JSON: the functions
/// of a slot already show next to each other, and it keeps port lines in 80 columns.
fn device_line(d: &DeviceNode, addr: Option<PciAddr>, notes: Option<&Notes>) -> String {
    let mut line = String::new();
    if let Some(a) = addr {
        line.push_str(&a.bdf());
        line.push(' ');
    }
    line.push_str(&d.label);
    if let Some(q) = &d.qemu_device {
        let _ = write!(line, " [{q}]");
    }
    if let Some(c) = &d.controller {
        line.push_str(&controller_attrs(c));
    }
    if let Some(notes) = notes {
        if let (Some(i), Some(_)) = (d.index, &d.controller) {
            line.push_str(&notes.window(i));
        }
        if let Some(n) = notes.device(d.origin) {
            if let Some(at) = n.placed {
                let _ = write!(line, " -> {}", at.bdf());
            }
            if let Some(m) = n.mode {
                let _ = write!(line, " virtio={}", m.name());
            }
            if !n.codes.is_empty() {
                let _ = write!(line, " !{}", n.codes.join(",!"));
            }
        }
    }
    line
}

/// ` chassis=1 port=0x10`: the `<target>` settings under libvirt's attribute names,
/// with port in hex as libvirt writes it.
fn controller_attrs(c: &PciController) -> String {
    let mut s = String::new();
    if let Some(v) = c.chassis_nr {
        let _ = write!(s, " chassisNr={v}");
    }
    if let Some(v) = c.chassis {
        let _ = write!(s, " chassis={v}");
    }
    if let Some(v) = c.port {
        let _ = write!(s, " port=0x{v:x}");
    }
    if let Some(v) = c.bus_nr {
        let _ = write!(s, " busNr={v}");
    }
    if let Some(v) = c.numa_node {
        let _ = write!(s, " node={v}");
    }
    if c.hotplug == Some(false) {
        s.push_str(" hotplug=off");
    }
    s
}

/// `(empty, hotplug slot)` for a port with nothing behind it, `(27 free slots: 03-1d)`
/// for a bigger bus; `None` when the bus is full.
pub(crate) fn free_line(bus: &BusNode) -> Option<String> {
    if bus.free_slots.is_empty() {
        return None;
    }
    if bus.is_empty_port() {
        return Some(
            if bus.hotplug {
                "(empty, hotplug slot)"
            } else {
                "(empty, hotplug off)"
            }
            .into(),
        );
    }
    let n = bus.free_slots.len();
    let plural = if n == 1 { "" } else { "s" };
    let hotplug = if bus.hotplug { ", hotplug" } else { "" };
    Some(format!(
        "({n} free slot{plural}: {}{hotplug})",
        slot_ranges(&bus.free_slots)
    ))
}

/// `03-1d, 1f`: sorted slot numbers folded into hex ranges.
fn slot_ranges(slots: &[u8]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < slots.len() {
        let start = slots[i];
        let mut end = start;
        while i + 1 < slots.len() && slots[i + 1] == end.wrapping_add(1) {
            i += 1;
            end = slots[i];
        }
        parts.push(if start == end {
            format!("{start:02x}")
        } else {
            format!("{start:02x}-{end:02x}")
        });
        i += 1;
    }
    parts.join(", ")
}

/// The tree as JSON (pretty-printed, with a final newline). The fields are documented
/// in docs/tree.md ("tree --json").
pub fn render_json(topology: &Topology) -> String {
    let view = tree_view(topology);
    view_json(&view, None, None)
}

/// The tree as JSON with the analyses (see docs/tree.md, "tree --json").
pub fn render_json_analysed(topology: &Topology, analysis: &Analysis) -> String {
    // As in the text: a refused domain gets its refusal and no modes or windows.
    let notes = Notes::new(topology, analysis);
    json_text(
        topology,
        Some(&notes).filter(|_| analysis.refused.is_none()),
        analysis,
    )
}

fn json_text(topology: &Topology, notes: Option<&Notes>, a: &Analysis) -> String {
    let view = tree_view(topology);
    view_json(&view, notes, Some(a))
}

impl crate::render::json::TreeNotes for Notes<'_> {
    fn window(&self, bus: u32) -> Option<&crate::core::io_space::Window> {
        self.analysis.io.window(bus)
    }

    fn device(&self, d: &DeviceNode) -> Option<crate::render::json::DeviceNote> {
        let x = self.devices.get(&d.origin)?;
        Some(crate::render::json::DeviceNote {
            virtio: x.mode.map(|m| crate::render::json::VirtioJson {
                mode: m.name(),
                pci_id: x.pci_id.clone(),
            }),
            placed_at: x.placed.map(|a| a.bdf()),
            diagnostics: x.codes.clone(),
        })
    }
}

fn view_json(v: &TreeView, n: Option<&Notes>, a: Option<&Analysis>) -> String {
    let n = n.map(|n| n as &dyn crate::render::json::TreeNotes);
    crate::render::json::pretty(&crate::render::json::TreeJson::of(v, n, a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::libvirt::{Document, read_topology};
    use serde_json::Value;

    fn topo(xml: &str) -> Topology {
        let doc = Document::parse(xml).expect("test XML parses");
        read_topology(&doc).expect("test XML is a domain")
    }

    const Q35: &str = "<domain type='kvm'><name>g</name>\
        <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os><devices>\
        <controller type='pci' index='0' model='pcie-root'/>\
        <controller type='pci' index='1' model='pcie-root-port'><target chassis='1' port='0x10'/>\
          <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0' multifunction='on'/></controller>\
        <controller type='pci' index='2' model='pcie-root-port'><target chassis='2' port='0x11' hotplug='off'/>\
          <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x1'/></controller>\
        <disk type='file' device='disk'><target dev='vda' bus='virtio'/>\
          <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></disk>\
        <disk type='file' device='disk'><target dev='vdb' bus='virtio'/>\
          <address type='pci' domain='0x0000' bus='0x05' slot='0x00' function='0x0'/></disk>\
        </devices></domain>";

    #[test]
    fn text_nests_buses_and_marks_empty_ports() {
        let text = render_text(&topo(Q35), false);
        let want = "\
g  machine=pc-q35-7.2 (q35, x86_64)
pcie-root #0
├─ 00:00.0 host bridge (MCH) locked
├─ 00:02.0 pcie-root-port #1 [pcie-root-port] chassis=1 port=0x10
│  └─ 01:00.0 disk virtio (vda) [virtio-blk-pci]
├─ 00:02.1 pcie-root-port #2 [pcie-root-port] chassis=2 port=0x11 hotplug=off
│  └─ (empty, hotplug off)
├─ 00:1f.0 ICH9 LPC/ISA bridge locked
├─ 00:1f.2 ICH9 SATA (AHCI) locked
├─ 00:1f.3 ICH9 SMBus locked
└─ (29 free slots: 01, 03-1e)

dangling (not attached to the tree)
└─ 05:00.0 disk virtio (vdb) [virtio-blk-pci] — no PCI controller has index 5
";
        assert_eq!(text, want);
        let ascii = render_text(&topo(Q35), true);
        assert!(ascii.is_ascii(), "{ascii}");
        assert!(ascii.contains("+- 00:02.0 pcie-root-port #1"));
        assert!(ascii.contains("|  \\- 01:00.0 disk virtio (vda)"));
    }

    #[test]
    fn json_has_the_documented_fields() {
        let v: Value = serde_json::from_str(&render_json(&topo(Q35))).expect("valid JSON");
        assert_eq!(v["name"], "g");
        assert_eq!(v["machine"]["class"], "q35");
        assert_eq!(v["machine"]["type"], "pc-q35-7.2");
        assert_eq!(v["machine"]["arch"], "x86_64");
        let root = &v["root"];
        assert_eq!(root["model"], "pcie-root");
        assert_eq!(root["qemu_device"], Value::Null);
        assert_eq!(root["implicit"], false);
        let slots = root["slots"].as_array().expect("slots");
        assert_eq!(slots[0]["address"], "00:00.0");
        assert_eq!(slots[0]["locked"], true);
        assert_eq!(slots[0]["device"], Value::Null);
        let port = &slots[1]["device"];
        assert_eq!(port["kind"], "controller");
        assert_eq!(port["address"], "00:02.0");
        assert_eq!(port["bus"]["target"]["port"], 16);
        assert_eq!(
            port["bus"]["slots"][0]["device"]["qemu_device"],
            "virtio-blk-pci"
        );
        assert_eq!(port["bus"]["slots"][0]["device"]["name"], "vda");
        let off = &slots[2]["device"]["bus"];
        assert_eq!(off["empty_port"], true);
        assert_eq!(off["hotplug"], false);
        assert_eq!(off["target"]["hotplug"], "off");
        assert_eq!(v["dangling"][0]["problem"], "no-controller");
        assert_eq!(v["dangling"][0]["device"]["address"], "05:00.0");
        assert!(v["unassigned"].as_array().is_some_and(Vec::is_empty));
        assert!(v["virtio_mmio"].as_array().is_some_and(Vec::is_empty));
    }

    #[test]
    fn slot_ranges_fold() {
        assert_eq!(slot_ranges(&[1, 3, 4, 5, 0x1f]), "01, 03-05, 1f");
        assert_eq!(slot_ranges(&[]), "");
    }
}
