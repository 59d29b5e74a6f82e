//! The JSON shapes `--json` prints, one struct per documented schema (docs/tree.md
//! "tree --json", docs/io.md "io --json", README "check --json", the `target` object),
//! so the docs and the code name each field once.
//!
//! serde_json keeps object keys sorted (no `preserve_order`), and the outputs have always
//! been printed that way: [`pretty`] goes through a [`serde_json::Value`] so the bytes
//! stay the same whatever order the fields are declared in here (the docs' order).

use serde::Serialize;

use crate::core::analyses::{Analysis, Fix};
use crate::core::diag::Diagnostic;
use crate::core::guest_os::GuestOs;
use crate::core::io_space::{DeviceIo, Window};
use crate::core::topology::{PciController, Topology};
use crate::core::view::{BusNode, Dangling, DeviceNode, SlotNode, TreeView};

/// Pretty JSON with sorted keys and a final newline.
pub fn pretty<T: Serialize>(value: &T) -> String {
    let mut s = serde_json::to_value(value)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

/// `{"code", "message"}`: why libvirt refuses the domain.
#[derive(Serialize)]
pub struct Refusal<'a> {
    pub code: &'a str,
    pub message: &'a str,
}

impl<'a> Refusal<'a> {
    pub fn of(d: &'a Diagnostic) -> Refusal<'a> {
        Refusal {
            code: d.code.as_str(),
            message: &d.message,
        }
    }
}

/// `{"id", "name", "drivers"}`: the guest OS the analyses assumed.
#[derive(Serialize)]
pub struct GuestOsJson {
    pub id: String,
    pub name: Option<String>,
    pub drivers: Option<&'static str>,
}

impl GuestOsJson {
    pub fn of(o: &GuestOs) -> GuestOsJson {
        GuestOsJson {
            id: o.id.clone(),
            name: o.info.as_ref().map(|(i, _)| i.name.clone()),
            drivers: o.drivers().map(|d| d.name()),
        }
    }
}

/// The `"target"` object: which libvirt and QEMU the output predicts.
#[derive(Serialize)]
pub struct TargetJson {
    pub libvirt: &'static str,
    pub libvirt_from: &'static str,
    pub qemu: &'static str,
    pub qemu_from: &'static str,
    pub why: String,
}

impl TargetJson {
    pub fn of(t: &crate::host::platform::Target) -> TargetJson {
        TargetJson {
            libvirt: t.platform.libvirt_rules().name,
            libvirt_from: t.libvirt_why.key(),
            qemu: t.platform.qemu_rules().name,
            qemu_from: t.qemu_why.key(),
            why: format!(
                "libvirt: {}; QEMU: {}",
                t.libvirt_why.describe(),
                t.qemu_why.describe()
            ),
        }
    }
}

// ------------------------------------------------------------------ tree --json

/// What the tree's JSON annotates, when the analyses ran: the IO windows, and per
/// device its virtio mode, where libvirt places it and the codes about it.
pub trait TreeNotes {
    fn window(&self, bus: u32) -> Option<&Window>;
    fn device(&self, d: &DeviceNode) -> Option<DeviceNote>;
}

/// The analyses' notes about one device.
pub struct DeviceNote {
    pub virtio: Option<VirtioJson>,
    pub placed_at: Option<String>,
    pub diagnostics: Vec<&'static str>,
}

/// docs/tree.md, "tree --json": the whole object.
#[derive(Serialize)]
pub struct TreeJson<'a> {
    pub name: &'a str,
    pub machine: MachineJson<'a>,
    pub root: Option<BusJson<'a>>,
    pub virtio_mmio: Vec<DeviceJson<'a>>,
    pub unassigned: Vec<DeviceJson<'a>>,
    pub dangling: Vec<DanglingJson<'a>>,
    pub analysis: Option<AnalysisJson<'a>>,
}

/// `machine`: `{ "type", "class", "arch" }` (`io --json` leaves out `arch`).
#[derive(Serialize)]
pub struct MachineJson<'a> {
    #[serde(rename = "type")]
    pub machine_type: &'a str,
    pub class: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<&'a str>,
}

/// One entry of `dangling`.
#[derive(Serialize)]
pub struct DanglingJson<'a> {
    pub problem: &'static str,
    pub reason: String,
    pub device: DeviceJson<'a>,
}

/// `analysis`: what was assumed and the IO outcome.
#[derive(Serialize)]
pub struct AnalysisJson<'a> {
    pub guest_os: Option<GuestOsJson>,
    pub firmware: &'static str,
    pub io_budget: Option<u32>,
    pub io_used: Option<u32>,
    pub io_outcome: Option<&'static str>,
    pub refused: Option<Refusal<'a>>,
    pub findings: Vec<FindingJson<'a>>,
}

/// One entry of `analysis.findings`.
#[derive(Serialize)]
pub struct FindingJson<'a> {
    pub code: &'a str,
    pub severity: &'static str,
    pub message: &'a str,
}

/// A *bus* object.
#[derive(Serialize)]
pub struct BusJson<'a> {
    pub index: u32,
    pub model: &'static str,
    pub qemu_device: Option<&'a str>,
    pub implicit: bool,
    pub target: TargetAttrs,
    pub hotplug: bool,
    pub empty_port: bool,
    pub free_slots: &'a [u8],
    pub io_window: Option<IoWindowJson>,
    pub slots: Vec<SlotJson<'a>>,
}

/// A bus's `<target>` attributes that the XML sets, under libvirt's names.
#[derive(Serialize)]
pub struct TargetAttrs {
    #[serde(rename = "chassisNr", skip_serializing_if = "Option::is_none")]
    pub chassis_nr: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chassis: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    #[serde(rename = "busNr", skip_serializing_if = "Option::is_none")]
    pub bus_nr: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hotplug: Option<&'static str>,
}

impl TargetAttrs {
    pub fn of(c: &PciController) -> TargetAttrs {
        TargetAttrs {
            chassis_nr: c.chassis_nr,
            chassis: c.chassis,
            port: c.port,
            bus_nr: c.bus_nr,
            node: c.numa_node,
            hotplug: c.hotplug.map(|h| if h { "on" } else { "off" }),
        }
    }
}

/// `io_window` of a bus.
#[derive(Serialize)]
pub struct IoWindowJson {
    pub size: u32,
    pub reasons: Vec<&'static str>,
}

/// One entry of a bus's `slots`.
#[derive(Serialize)]
pub struct SlotJson<'a> {
    pub address: String,
    pub slot: u8,
    pub function: u8,
    pub locked: bool,
    pub chipset: Option<&'static str>,
    pub device: Option<DeviceJson<'a>>,
}

/// A *device* object.
#[derive(Serialize)]
pub struct DeviceJson<'a> {
    pub kind: &'static str,
    #[serde(rename = "type")]
    pub ty: Option<&'a str>,
    pub label: &'a str,
    pub model: Option<&'a str>,
    pub qemu_device: Option<&'a str>,
    pub name: Option<&'a str>,
    pub index: Option<u32>,
    pub line: u32,
    pub address: Option<String>,
    pub address_type: Option<&'a str>,
    pub multifunction: Option<bool>,
    pub bus: Option<Box<BusJson<'a>>>,
    pub virtio: Option<VirtioJson>,
    pub placed_at: Option<String>,
    pub diagnostics: Vec<&'static str>,
}

/// `virtio` of a device.
#[derive(Serialize)]
pub struct VirtioJson {
    pub mode: &'static str,
    pub pci_id: Option<String>,
}

impl<'a> TreeJson<'a> {
    pub fn of(v: &'a TreeView, n: Option<&dyn TreeNotes>, a: Option<&'a Analysis>) -> Self {
        TreeJson {
            name: &v.name,
            machine: MachineJson {
                machine_type: &v.machine.machine_type,
                class: v.machine.class.name(),
                arch: Some(&v.machine.arch_name),
            },
            root: v.root.as_ref().map(|b| BusJson::of(b, n)),
            virtio_mmio: v.virtio_mmio.iter().map(|d| DeviceJson::of(d, n)).collect(),
            unassigned: v.unassigned.iter().map(|d| DeviceJson::of(d, n)).collect(),
            dangling: v.dangling.iter().map(|d| DanglingJson::of(d, n)).collect(),
            analysis: a.map(AnalysisJson::of),
        }
    }
}

impl<'a> DanglingJson<'a> {
    fn of(d: &'a Dangling, n: Option<&dyn TreeNotes>) -> Self {
        DanglingJson {
            problem: d.problem.code(),
            reason: d.problem.message(),
            device: DeviceJson::of(&d.device, n),
        }
    }
}

impl<'a> AnalysisJson<'a> {
    fn of(a: &'a Analysis) -> Self {
        use crate::core::io_space::Outcome;
        let p = &a.io;
        let accepted = a.refused.is_none();
        let modelled = accepted && p.outcome != Outcome::NotModelled;
        AnalysisJson {
            guest_os: a.os.as_ref().map(GuestOsJson::of),
            firmware: a.firmware.id,
            io_budget: modelled.then_some(p.budget),
            io_used: modelled.then_some(p.used),
            io_outcome: accepted.then(|| p.outcome.name()),
            refused: a.refused.as_ref().map(Refusal::of),
            findings: a
                .findings
                .iter()
                .filter(|_| accepted)
                .map(|f| FindingJson {
                    code: f.diag.code.as_str(),
                    severity: f.diag.severity.name(),
                    message: &f.diag.message,
                })
                .collect(),
        }
    }
}

impl<'a> BusJson<'a> {
    fn of(b: &'a BusNode, n: Option<&dyn TreeNotes>) -> Self {
        let c = &b.controller;
        let qemu = c.qemu_device();
        BusJson {
            index: b.index,
            model: b.model().name(),
            qemu_device: Some(qemu).filter(|q| !q.is_empty()),
            implicit: b.implicit,
            target: TargetAttrs::of(c),
            hotplug: b.hotplug,
            empty_port: b.is_empty_port(),
            free_slots: &b.free_slots,
            io_window: n.and_then(|n| n.window(b.index)).map(|w| IoWindowJson {
                size: w.size,
                reasons: w.reasons.iter().map(|r| r.name()).collect(),
            }),
            slots: b.slots.iter().map(|s| SlotJson::of(s, n)).collect(),
        }
    }
}

impl<'a> SlotJson<'a> {
    fn of(s: &'a SlotNode, n: Option<&dyn TreeNotes>) -> Self {
        SlotJson {
            address: s.addr.bdf(),
            slot: s.addr.slot,
            function: s.addr.function,
            locked: s.locked(),
            chipset: s.chipset,
            device: s.device.as_ref().map(|d| DeviceJson::of(d, n)),
        }
    }
}

impl<'a> DeviceJson<'a> {
    fn of(d: &'a DeviceNode, n: Option<&dyn TreeNotes>) -> Self {
        let note = n.and_then(|n| n.device(d));
        let (virtio, placed_at, diagnostics) = note.map_or((None, None, Vec::new()), |x| {
            (x.virtio, x.placed_at, x.diagnostics)
        });
        DeviceJson {
            kind: d.kind.tag(),
            ty: d.ty.as_deref(),
            label: &d.label,
            model: d.model.as_deref(),
            qemu_device: d.qemu_device.as_deref(),
            name: d.name.as_deref(),
            index: d.index,
            line: d.line,
            address: d.pci.map(|a| a.bdf()),
            address_type: d.address_type.as_deref(),
            multifunction: d.multifunction,
            bus: d.bus.as_deref().map(|b| Box::new(BusJson::of(b, n))),
            virtio,
            placed_at,
            diagnostics,
        }
    }
}

// -------------------------------------------------------------------- io --json

/// docs/io.md, "io --json": the whole object.
#[derive(Serialize)]
pub struct IoJson<'a> {
    pub file: &'a str,
    pub machine: MachineJson<'a>,
    pub firmware: FirmwareJson<'a>,
    pub refused: Option<Refusal<'a>>,
    pub budget: u32,
    pub base: u32,
    pub demand: u32,
    pub used: u32,
    pub outcome: &'static str,
    pub loses_io: bool,
    pub windows: Vec<IoWindowRow<'a>>,
    pub devices: Vec<IoDeviceRow<'a>>,
    pub dropped: Vec<String>,
    pub stripped: &'a [u32],
    pub notes: &'a [String],
}

/// `firmware` of `io --json`.
#[derive(Serialize)]
pub struct FirmwareJson<'a> {
    pub id: &'static str,
    pub name: &'static str,
    pub source: &'a str,
}

/// One entry of `windows`.
#[derive(Serialize)]
pub struct IoWindowRow<'a> {
    pub index: u32,
    pub model: &'static str,
    pub qemu_device: &'a str,
    pub address: String,
    pub parent: u32,
    pub size: u32,
    pub consumes: u32,
    pub reasons: Vec<&'static str>,
    pub padding: u32,
    pub padding_stripped: bool,
    pub io_reserve: Option<u64>,
    pub read_only: bool,
    pub empty_port: bool,
    pub hotplug: bool,
    pub line: Option<u32>,
}

impl<'a> IoWindowRow<'a> {
    pub fn of(w: &'a Window, line: Option<u32>) -> Self {
        IoWindowRow {
            index: w.index,
            model: w.model.name(),
            qemu_device: &w.qemu_device,
            address: w.addr.bdf(),
            parent: w.parent,
            size: w.size,
            consumes: w.consumes,
            reasons: w.reasons.iter().map(|r| r.name()).collect(),
            padding: w.padding,
            padding_stripped: w.padding_stripped,
            io_reserve: w.io_reserve,
            read_only: w.read_only,
            empty_port: w.empty_port,
            hotplug: w.hotplug,
            line,
        }
    }
}

/// One entry of `devices`.
#[derive(Serialize)]
pub struct IoDeviceRow<'a> {
    pub address: String,
    pub label: &'a str,
    pub qemu_device: &'a str,
    pub chipset: bool,
    pub added_by_libvirt: bool,
    pub io_bars: &'a [u32],
    pub io_total: u32,
    pub source: &'static str,
    pub virtio: Option<&'static str>,
    pub status: &'static str,
    pub line: Option<u32>,
}

impl<'a> IoDeviceRow<'a> {
    pub fn of(
        d: &'a DeviceIo,
        added_by_libvirt: bool,
        source: &'static str,
        line: Option<u32>,
    ) -> Self {
        IoDeviceRow {
            address: d.addr.bdf(),
            label: &d.label,
            qemu_device: &d.qemu_device,
            chipset: d.chipset,
            added_by_libvirt,
            io_bars: &d.bars,
            io_total: d.total(),
            source,
            virtio: d.virtio.map(|v| v.name()),
            status: d.status.name(),
            line,
        }
    }
}

// ----------------------------------------------------------------- check --json

/// README, "check --json": the whole object.
#[derive(Serialize)]
pub struct CheckJson {
    pub target: TargetJson,
    pub files: Vec<CheckFile>,
}

/// One file of `check --json`: unreadable, or what was found.
#[derive(Serialize)]
#[serde(untagged)]
pub enum CheckFile {
    Unreadable {
        file: String,
        readable: bool,
        error: String,
    },
    Checked {
        file: String,
        readable: bool,
        accepted_by_libvirt: bool,
        analysed: bool,
        guest_os: Option<GuestOsJson>,
        firmware: &'static str,
        io_outcome: Option<&'static str>,
        diagnostics: Vec<CheckDiagnostic>,
        /// A running libvirt domain against its next boot (absent otherwise).
        #[serde(skip_serializing_if = "Option::is_none")]
        running: Option<super::live::RunningJson>,
    },
}

/// One diagnostic of `check --json`.
#[derive(Serialize)]
pub struct CheckDiagnostic {
    pub code: &'static str,
    pub severity: &'static str,
    pub message: String,
    pub hint: Option<String>,
    pub line: Option<u32>,
    pub element: Option<&'static str>,
    pub fix: Option<String>,
}

impl CheckDiagnostic {
    pub fn of(topology: &Topology, d: &Diagnostic, fix: Option<&Fix>) -> Self {
        let dev = d.device.and_then(|i| topology.devices.get(i));
        CheckDiagnostic {
            code: d.code.as_str(),
            severity: d.severity.name(),
            message: d.message.clone(),
            hint: d.hint.clone(),
            line: dev.map(|x| x.line),
            element: dev.map(|x| x.kind.tag()),
            fix: fix.map(|f| f.summary.clone()),
        }
    }
}
