//! `virt-pci io`: the IO port plan of one guest under one firmware, as text for people
//! and as JSON for scripts (the JSON fields are documented in docs/io.md and stable).

use crate::core::analyses::Analysis;
use crate::core::io_space::{BarSource, BarStatus, FirmwareKind, IoPlan, Outcome, size_text};

/// True when some device loses IO or the guest does not boot: what `virt-pci io`
/// reports with exit status 1.
pub fn loses_io(plan: &IoPlan) -> bool {
    matches!(plan.outcome, Outcome::BootFailure | Outcome::DevicesDropped)
        || plan
            .devices
            .iter()
            .any(|d| d.status == BarStatus::Unreachable)
}

fn outcome_sentence(plan: &IoPlan) -> String {
    match plan.outcome {
        Outcome::Fits => "fits: every bridge window and IO BAR gets its space".into(),
        Outcome::PaddingStripped => format!(
            "fits after OVMF stripped the hotplug padding of {} port(s): they lose their hotplug headroom",
            plan.stripped.len()
        ),
        Outcome::DevicesDropped => format!(
            "OVMF drops {} device(s): they get no BARs and no driver",
            plan.dropped.len()
        ),
        Outcome::BootFailure => format!(
            "SeaBIOS stops the boot (\"PCI: out of I/O address space\"): {:#x} is not below {:#x}",
            plan.used, plan.budget
        ),
        Outcome::NotModelled => {
            "not modelled: only x86 q35 and i440fx machines have this IO space".into()
        }
    }
}

fn source_name(s: BarSource) -> &'static str {
    match s {
        BarSource::Measured => "measured",
        BarSource::Documented => "documented",
        BarSource::Unknown => "unknown",
    }
}

/// The plan as text. `path` names the input in the heading.
pub fn render_text(path: &str, a: &Analysis) -> String {
    let mut out = String::new();
    if header_lines(&mut out, path, a) {
        budget_lines(&mut out, a);
        push(&mut out, String::new());
        window_lines(&mut out, a);
        push(&mut out, String::new());
        device_lines(&mut out, &a.io);
        firmware_lines(&mut out, &a.io);
    }
    out
}

fn push(out: &mut String, s: String) {
    out.push_str(&s);
    out.push('\n');
}

/// The file, firmware, refusal and machine; false when the machine has no IO port
/// space to plan (then that is the last line).
fn header_lines(out: &mut String, path: &str, a: &Analysis) -> bool {
    let plan = &a.io;
    let m = &a.defined.machine;
    push(
        out,
        format!(
            "{path}: IO port space under {} ({})",
            a.firmware.name,
            a.firmware_source.describe()
        ),
    );
    if let Some(d) = &a.refused {
        push(
            out,
            format!(
                "libvirt refuses this domain [{}]: {}; the plan is of the domain as written",
                d.code, d.message
            ),
        );
    }
    let mt = if m.machine_type.is_empty() {
        "(default)"
    } else {
        m.machine_type.as_str()
    };
    push(out, format!("machine {mt} ({})", m.class.name()));
    if plan.outcome == Outcome::NotModelled {
        push(out, outcome_sentence(plan));
        return false;
    }
    true
}

/// The budget and what is used of it.
fn budget_lines(out: &mut String, a: &Analysis) {
    let plan = &a.io;
    push(
        out,
        match a.firmware.kind {
            FirmwareKind::SeaBios => format!(
                "budget {:#x}: SeaBIOS needs the root bus's total below it, or the guest does not boot",
                plan.budget
            ),
            FirmwareKind::Ovmf => format!(
                "budget {:#x}: OVMF's aperture {:#x}-0xffff{}",
                plan.budget,
                0x10000 - plan.budget,
                if a.firmware.hotplug_io_padding > 0 {
                    format!(
                        "; {:#x} of padding on every hotplug port",
                        a.firmware.hotplug_io_padding
                    )
                } else {
                    String::new()
                }
            ),
        },
    );
    let demand = if plan.demand != plan.used {
        format!(" (asked for {:#x})", plan.demand)
    } else {
        String::new()
    };
    push(
        out,
        format!(
            "used {:#x} of {:#x} from {:#x}{demand}: {}",
            plan.used,
            plan.budget,
            plan.base(),
            outcome_sentence(plan)
        ),
    );
}

/// The bridge windows by controller index, with why each has its size.
fn window_lines(out: &mut String, a: &Analysis) {
    let plan = &a.io;
    let gave_up = plan.outcome == Outcome::BootFailure;
    push(
        out,
        format!(
            "bridge windows by controller index ({})",
            match a.firmware.kind {
                FirmwareKind::SeaBios if gave_up => "what SeaBIOS asked for before it gave up",
                FirmwareKind::SeaBios => "window = 4 KiB granules the bridge decodes",
                FirmwareKind::Ovmf => "window = what the bridge decodes; node = what it takes",
            }
        ),
    );
    if plan.windows.is_empty() {
        push(out, "  none".into());
    }
    let width = plan
        .windows
        .iter()
        .map(|w| w.model.name().len())
        .max()
        .unwrap_or(0);
    let mut windows: Vec<_> = plan.windows.iter().collect();
    windows.sort_by_key(|w| w.index);
    for w in windows {
        // SeaBIOS programs nothing when it gives up; what it wanted is the point.
        let shown = if gave_up { w.consumes } else { w.size };
        let size = if shown == 0 {
            "-".to_string()
        } else {
            size_text(shown)
        };
        let mut why: Vec<String> = w.reasons.iter().map(|r| r.name().to_string()).collect();
        if a.firmware.kind == FirmwareKind::Ovmf && w.consumes != w.size && w.consumes > 0 {
            why.push(format!("node {:#x}", w.consumes));
        }
        if w.padding_stripped {
            why.push("padding stripped".into());
        }
        if w.read_only {
            why.push("io-reserve=0: forwards no IO".into());
        }
        if w.empty_port {
            why.push("empty".into());
        }
        push(
            out,
            format!(
                "  #{:<3} {:<width$}  {}  {:>5}  {}",
                w.index,
                w.model.name(),
                w.addr.bdf(),
                size,
                why.join(", ")
            ),
        );
    }
}

/// Every PCI function's IO BARs and what happens to them.
fn device_lines(out: &mut String, plan: &IoPlan) {
    push(
        out,
        "PCI functions by address (IO BARs, what happens to them)".into(),
    );
    let mut devices: Vec<_> = plan.devices.iter().collect();
    devices.sort_by_key(|d| (d.addr.bus, d.addr.slot, d.addr.function));
    for d in devices {
        let bars = if d.bars.is_empty() {
            "-".to_string()
        } else {
            d.bars
                .iter()
                .map(|b| format!("{b:#x}"))
                .collect::<Vec<_>>()
                .join("+")
        };
        let mut what = d.label.clone();
        let mut extra = Vec::new();
        if !d.qemu_device.is_empty() {
            extra.push(d.qemu_device.clone());
        }
        if let Some(v) = d.virtio {
            extra.push(v.name().to_string());
        }
        if d.source == BarSource::Unknown {
            extra.push("IO unknown".into());
        }
        if !extra.is_empty() {
            what.push_str(&format!(" [{}]", extra.join(", ")));
        }
        push(
            out,
            format!(
                "  {}  {:>9}  {:<14}  {what}",
                d.addr.bdf(),
                bars,
                d.status.name()
            ),
        );
    }
}

/// What OVMF stripped or dropped, and the plan's notes.
fn firmware_lines(out: &mut String, plan: &IoPlan) {
    if !plan.stripped.is_empty() {
        push(out, String::new());
        push(
            out,
            format!(
                "OVMF stripped the padding of (in its order): {}",
                plan.stripped
                    .iter()
                    .map(|i| format!("#{i}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        );
    }
    if !plan.dropped.is_empty() {
        push(out, String::new());
        push(out, "OVMF dropped (in its order):".into());
        for &k in &plan.dropped {
            if let Some(d) = plan.devices.get(k) {
                push(out, format!("  {} {}", d.addr.bdf(), d.label));
            }
        }
    }
    for n in &plan.notes {
        push(out, format!("note: {n}"));
    }
}

/// The plan as JSON (docs/io.md lists the fields).
pub fn render_json(path: &str, a: &Analysis) -> String {
    let plan = &a.io;
    let m = &a.defined.machine;
    let line_of = |i: Option<usize>| {
        i.filter(|&i| i < a.input_devices)
            .and_then(|i| a.defined.devices.get(i))
            .map(|d| d.line)
            .filter(|&l| l > 0)
    };
    use crate::render::json::{
        FirmwareJson, IoDeviceRow, IoJson, IoWindowRow, MachineJson, Refusal,
    };
    let source = a.firmware_source.describe();
    crate::render::json::pretty(&IoJson {
        file: path,
        machine: MachineJson {
            machine_type: &m.machine_type,
            class: m.class.name(),
            arch: None,
        },
        firmware: FirmwareJson {
            id: a.firmware.id,
            name: a.firmware.name,
            source,
        },
        refused: a.refused.as_ref().map(Refusal::of),
        budget: plan.budget,
        base: plan.base(),
        demand: plan.demand,
        used: plan.used,
        outcome: plan.outcome.name(),
        loses_io: loses_io(plan),
        windows: plan
            .windows
            .iter()
            .map(|w| IoWindowRow::of(w, line_of(Some(w.device))))
            .collect(),
        devices: plan
            .devices
            .iter()
            .map(|d| {
                let added = d.device.is_some_and(|i| i >= a.input_devices);
                IoDeviceRow::of(d, added, source_name(d.source), line_of(d.device))
            })
            .collect(),
        dropped: plan
            .dropped
            .iter()
            .filter_map(|&k| plan.devices.get(k))
            .map(|d| d.addr.bdf())
            .collect(),
        stripped: &plan.stripped,
        notes: &plan.notes,
    })
}
