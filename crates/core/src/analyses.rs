//! The live analyses in one call: the guest as libvirt will define it, the virtio
//! mode of every device, the IO port plan under the chosen firmware, what the guest
//! OS can drive, and the diagnostics (each with a fix the core can apply). The CLI's
//! `io`, `tree` and `check` and the TUI all read from [`Analysis`].

use super::address::{Address, PciAddr};
use super::assign;
use super::device::VirtioForm;
use super::diag::{Diagnostic, Severity};
use super::edit::{Op, Placement};
use super::guest_os::GuestOs;
use super::io_space::{self, BarStatus, Firmware, FirmwareKind, IoPlan, IoSettings, Outcome};
use super::machine::MachineClass;
use super::pci::PciModel;
use super::topology::{Device, Origin, Topology};
use super::virtio::{self, Mode, VirtioInfo};
use crate::diag::Code;

/// Where the firmware profile came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirmwareSource {
    /// `--firmware` (or the TUI's choice).
    User,
    /// The domain: `<os firmware='efi'>` or a pflash `<loader>`.
    DomainEfi,
    /// The domain has no UEFI firmware: SeaBIOS, QEMU's default.
    DomainBios,
}

impl FirmwareSource {
    /// Phrase for people.
    pub fn describe(self) -> &'static str {
        match self {
            FirmwareSource::User => "chosen by the user: --firmware, or f in the designer",
            FirmwareSource::DomainEfi => {
                "the domain boots UEFI; OVMF 2022.11 (Debian 12) assumed, --firmware ovmf for edk2 2023.08 or newer"
            }
            FirmwareSource::DomainBios => "the domain has no UEFI loader",
        }
    }
}

/// What the analyses need beyond the topology.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// Firmware profile id chosen by the user (`--firmware`); `None`: from the domain.
    pub firmware: Option<&'static Firmware>,
    /// The guest OS, when the domain or the user names one.
    pub os: Option<GuestOs>,
    /// Settings from `<qemu:override>` / `<qemu:commandline>`.
    pub io: IoSettings,
    /// Empty hotplug ports the user wants to keep free (`--headroom`).
    pub headroom: Option<u32>,
}

/// A suggested fix: what it does, and the edit operations that do it (applied with
/// [`apply_all`](super::edit::apply_all), so that a fix is undone like any other edit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    /// One line for people.
    pub summary: String,
    /// The operations, in order.
    pub ops: Vec<Op>,
}

/// A diagnostic with the fix the core can apply, if there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The diagnostic (its `device` indexes the topology that was analysed).
    pub diag: Diagnostic,
    /// The fix.
    pub fix: Option<Fix>,
}

/// Everything the live analyses found.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    /// The guest as libvirt defines it: the input with every address filled in and the
    /// devices libvirt adds appended (indexes below the input's length are unchanged).
    pub defined: Topology,
    /// Number of devices in the input (the rest were added by libvirt).
    pub input_devices: usize,
    /// Why `defined` is the input as written, when libvirt would refuse it.
    pub refused: Option<Diagnostic>,
    /// The firmware profile used.
    pub firmware: &'static Firmware,
    /// Where it came from.
    pub firmware_source: FirmwareSource,
    /// The virtio mode of every virtio device of `defined`.
    pub virtio: Vec<VirtioInfo>,
    /// The IO plan of `defined`.
    pub io: IoPlan,
    /// The guest OS, if known.
    pub os: Option<GuestOs>,
    /// Diagnostics, errors first.
    pub findings: Vec<Finding>,
}

impl Analysis {
    /// The virtio mode of device `i`.
    pub fn virtio_of(&self, i: usize) -> Option<&VirtioInfo> {
        self.virtio.iter().find(|v| v.device == i)
    }

    /// True when any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.diag.severity == Severity::Error)
    }
}

/// The firmware the analyses use: the user's choice, else the domain's.
pub fn choose_firmware(t: &Topology, ctx: &Context) -> (&'static Firmware, FirmwareSource) {
    let pick = |id: &str| io_space::firmware(id).unwrap_or(&io_space::FIRMWARES[0]);
    match ctx.firmware {
        Some(f) => (f, FirmwareSource::User),
        None if t.efi => (pick("ovmf-2022"), FirmwareSource::DomainEfi),
        None => (pick("seabios"), FirmwareSource::DomainBios),
    }
}

/// The topology libvirt will define: runs the assigner and writes its plan into a
/// copy of the model. When libvirt would refuse the domain, the input is returned
/// with the refusal.
pub fn as_defined(t: &Topology) -> (Topology, Option<Diagnostic>) {
    match assign::assign(t) {
        Ok(plan) => (plan.define(t), None),
        Err(d) => (t.clone(), Some(d)),
    }
}

/// Runs every analysis.
pub fn analyse(t: &Topology, ctx: &Context) -> Analysis {
    let (defined, refused) = as_defined(t);
    analyse_defined(t, defined, refused, ctx)
}

/// Every analysis of `t`, whose assignment ([`as_defined`]) is given: for callers that
/// analyse one guest under several contexts (each firmware), so that libvirt's
/// assignment runs once.
pub fn analyse_defined(
    t: &Topology,
    defined: Topology,
    refused: Option<Diagnostic>,
    ctx: &Context,
) -> Analysis {
    let (firmware, firmware_source) = choose_firmware(t, ctx);
    let virtio = virtio::virtio_devices(&defined);
    let io = io_space::plan_with(&defined, firmware, &ctx.io, &virtio);
    let mut a = Analysis {
        defined,
        input_devices: t.devices.len(),
        refused,
        firmware,
        firmware_source,
        virtio,
        io,
        os: ctx.os.clone(),
        findings: Vec::new(),
    };
    let mut findings = Vec::new();
    start_findings(&a, &mut findings);
    slot_findings(&a, &mut findings);
    guest_findings(&a, &mut findings);
    io_findings(&a, ctx, &mut findings);
    findings.sort_by_key(|f| f.diag.severity);
    a.findings = findings;
    a
}

/// The diagnostic's device index, when it is one of the input's devices.
fn input_device(a: &Analysis, i: usize) -> Option<usize> {
    (i < a.input_devices).then_some(i)
}

fn describe(a: &Analysis, i: usize) -> String {
    a.defined
        .devices
        .get(i)
        .map_or_else(|| format!("device {i}"), |d| d.describe(&a.defined.machine))
}

fn where_is(a: &Analysis, i: usize) -> String {
    match a.defined.devices.get(i).and_then(Device::pci_addr) {
        Some(p) => format!(" at {}", p.bdf()),
        None => String::new(),
    }
}

/// Whether a virtio device can be made transitional (its type has a legacy interface
/// and libvirt accepts the model on it).
fn can_be_transitional(v: &VirtioInfo) -> bool {
    v.family.is_some_and(|f| f.legacy_id.is_some())
        && matches!(
            v.form,
            VirtioForm::Plain | VirtioForm::NonTransitional | VirtioForm::Transitional
        )
}

/// The fix that makes devices transitional on a conventional slot: set the model and
/// let libvirt place them (it reuses a pcie-to-pci-bridge with free slots, or adds
/// one behind a new root port).
fn transitional_fix(a: &Analysis, devices: &[usize]) -> Option<Fix> {
    let mut ops = Vec::new();
    for &i in devices {
        let v = a.virtio_of(i)?;
        if !can_be_transitional(v) {
            return None;
        }
        let device = input_origin(a, i)?;
        if v.form != VirtioForm::Transitional {
            ops.push(Op::SetModel {
                device,
                model: Some("virtio-transitional".into()),
            });
        }
        ops.push(Op::ClearAddress { device });
    }
    let bridge = if a.defined.machine.class.is_pcie() {
        if a.defined.devices.iter().any(|d| {
            d.pci
                .as_ref()
                .is_some_and(|p| p.model == PciModel::PcieToPciBridge)
        }) {
            " on the existing pcie-to-pci-bridge"
        } else {
            " behind one new pcie-to-pci-bridge"
        }
    } else {
        " on conventional PCI slots"
    };
    let (it, is) = if devices.len() == 1 {
        ("it", "it is")
    } else {
        ("them", "they are")
    };
    // A device that is transitional already only needs the conventional slot.
    let already = ops.iter().all(|o| matches!(o, Op::ClearAddress { .. }));
    Some(Fix {
        summary: if already {
            format!("{is} virtio-transitional already: let libvirt place {it}{bridge}")
        } else {
            format!("make {it} virtio-transitional and let libvirt place {it}{bridge}")
        },
        ops,
    })
}

/// The origin of device `i` when it is one of the input's devices: the only ones an
/// edit can name (libvirt's additions exist in the analysis, not in the document).
fn input_origin(a: &Analysis, i: usize) -> Option<Origin> {
    (i < a.input_devices).then(|| a.defined.devices.get(i).map(|d| d.origin))?
}

/// What libvirt defines but refuses to start.
fn start_findings(a: &Analysis, out: &mut Vec<Finding>) {
    for (i, d) in a.defined.devices.iter().enumerate() {
        let Some(ty) = assign::transitional_off_pci(d) else {
            continue;
        };
        out.push(Finding {
            diag: Diagnostic::new(
                Code::VirtioTransitionalOffPci,
                format!(
                    "{} has model '{}' on address type {ty}: libvirt defines the guest, but it does not start: transitional and non-transitional forms exist on PCI only (libvirt 9.0 asks QEMU for a device it does not have; newer libvirt refuses the command line)",
                    describe(a, i),
                    d.model.as_deref().unwrap_or("")
                ),
            )
            .hint("use model 'virtio' there, or give it a PCI address")
            .on(input_device(a, i)),
            fix: input_origin(a, i).map(|device| Fix {
                summary: "make it plain virtio".into(),
                ops: vec![Op::SetModel {
                    device,
                    model: Some("virtio".into()),
                }],
            }),
        });
    }
}

/// Slots whose functions do not add up, as QEMU and the guest kernel see them (both
/// measured: QEMU 7.2 and 10.0 refuse a second function beside a function 0 written
/// `multifunction='off'`; Linux scans a slot from function 0, so functions of a slot
/// with nothing at 0 never appear in the guest). libvirt defines both.
fn slot_findings(a: &Analysis, out: &mut Vec<Finding>) {
    use std::collections::BTreeMap;
    // (bus, slot) -> the devices at each function; the chipset's built-in functions
    // count as taken.
    let mut slots: BTreeMap<(u32, u8), [Option<Option<usize>>; 8]> = BTreeMap::new();
    for c in crate::chipset::chipset(a.defined.machine.class) {
        slots.entry((c.addr.bus, c.addr.slot)).or_default()[usize::from(c.addr.function & 7)] =
            Some(None);
    }
    for (i, d) in a.defined.devices.iter().enumerate() {
        if let Some(p) = d.pci_addr() {
            slots.entry((p.bus, p.slot)).or_default()[usize::from(p.function & 7)] = Some(Some(i));
        }
    }
    let clear = |i: usize| input_origin(a, i).map(|device| Op::ClearAddress { device });
    for (&(bus, slot), funcs) in &slots {
        let others: Vec<usize> = funcs[1..].iter().filter_map(|f| f.flatten()).collect();
        if others.is_empty() {
            continue;
        }
        match funcs[0] {
            None => {
                for &i in &others {
                    out.push(Finding {
                        diag: Diagnostic::new(
                            Code::GuestFunctionHidden,
                            format!(
                                "{}{}: nothing sits at function 0 of slot {bus:02x}:{slot:02x}, so the guest never sees it (Linux looks at a slot's other functions only when function 0 is there); libvirt defines it and QEMU starts it",
                                describe(a, i),
                                where_is(a, i)
                            ),
                        )
                        .hint("move it to function 0, or put a device at function 0 of that slot")
                        .on(input_device(a, i)),
                        fix: clear(i).map(|op| Fix {
                            summary: "let libvirt give it a slot of its own".into(),
                            ops: vec![op],
                        }),
                    });
                }
            }
            Some(Some(zero))
                if matches!(
                    a.defined.devices[zero].address,
                    Some(Address::Pci {
                        multifunction: Some(false),
                        ..
                    })
                ) =>
            {
                let ops: Vec<Op> = others.iter().filter_map(|&i| clear(i)).collect();
                out.push(Finding {
                    diag: Diagnostic::new(
                        Code::MultifunctionOff,
                        format!(
                            "{}{} says multifunction='off', yet {} other function(s) of its slot are in use ({}): libvirt defines the guest, QEMU does not start it (a single-function device cannot share its slot)",
                            describe(a, zero),
                            where_is(a, zero),
                            others.len(),
                            others.iter().map(|&i| describe(a, i)).collect::<Vec<_>>().join(", ")
                        ),
                    )
                    .hint("remove multifunction='off' (libvirt then writes 'on'), or give the other functions slots of their own")
                    .on(input_device(a, zero)),
                    fix: (!ops.is_empty()).then(|| Fix {
                        summary: "let libvirt give the other functions slots of their own".into(),
                        ops,
                    }),
                });
            }
            _ => {}
        }
    }
}

fn guest_findings(a: &Analysis, out: &mut Vec<Finding>) {
    let Some(os) = &a.os else {
        return;
    };
    let Some(drivers) = os.drivers() else {
        out.push(unknown_os_finding(os));
        return;
    };
    let pcie_machine = a.defined.machine.class == MachineClass::Q35;
    if let Some((info, _)) = &os.info
        && pcie_machine
        && !info.q35
        && os.drivers_override.is_none()
    {
        out.push(Finding {
            diag: Diagnostic::new(
                Code::GuestOsNoQ35,
                format!(
                    "{} is not known to run on q35 (osinfo-db has no q35 marker for it)",
                    os.label()
                ),
            )
            .hint("use an i440fx machine type (pc) for this guest, or keep every virtio device transitional on conventional PCI slots"),
            fix: None,
        });
    }
    if !drivers.legacy && !drivers.modern {
        if !a.virtio.iter().any(|v| v.mode != Mode::Mmio) {
            return;
        }
        out.push(Finding {
            diag: Diagnostic::new(
                Code::GuestOsUnknown,
                format!(
                    "{}: osinfo-db lists no virtio driver, so virt-pci cannot tell whether the guest drives its virtio devices",
                    os.label()
                ),
            )
            .hint("if the guest has drivers (virtio-win, a newer kernel), say which with --guest-virtio legacy|modern|both, or in the domain's virt-pci metadata"),
            fix: None,
        });
        return;
    }
    let mut unusable = Vec::new();
    for v in &a.virtio {
        let ok = match v.mode {
            Mode::Transitional => drivers.legacy || drivers.modern,
            Mode::ModernOnly | Mode::Mmio => drivers.modern,
            Mode::LegacyOnly => drivers.legacy,
        };
        if !ok {
            unusable.push(v.device);
            out.push(no_driver_finding(a, os, v));
        } else if drivers.needs_legacy() && v.mode == Mode::Transitional && v.express {
            out.push(legacy_on_port_finding(a, os, v));
        }
    }
    // One fix for all of them together, so that they share a bridge.
    if unusable.len() > 1
        && let Some(fix) = transitional_fix(a, &unusable)
        && let Some(last) = out
            .iter_mut()
            .rev()
            .find(|f| f.diag.code == Code::VirtioGuestNoDriver && f.fix.is_some())
    {
        last.fix = Some(Fix {
            summary: format!("{} (all {} devices)", fix.summary, unusable.len()),
            ops: fix.ops,
        });
    }
}

/// A guest OS neither virt-pci's table nor osinfo-db knows.
fn unknown_os_finding(os: &GuestOs) -> Finding {
    Finding {
        diag: Diagnostic::new(
            Code::GuestOsUnknown,
            format!(
                "guest OS '{}' is not in virt-pci's table or osinfo-db: whether it can drive virtio 1.0 devices is unknown",
                os.id
            ),
        )
        .hint("give a libosinfo short id (virt-pci knows the ids of osinfo-db), or state the guest's drivers with --guest-virtio legacy|modern|both|none"),
        fix: None,
    }
}

/// A virtio device in a mode the guest has no driver for, with the fix that makes it
/// transitional where that helps.
fn no_driver_finding(a: &Analysis, os: &GuestOs, v: &VirtioInfo) -> Finding {
    let i = v.device;
    let (code, what, hint) = match v.mode {
        Mode::LegacyOnly => (
            Code::VirtioLegacyOnPciePort,
            "is legacy-only",
            "use a machine type newer than 2.6 so that the device also offers virtio 1.0".to_string(),
        ),
        _ if can_be_transitional(v) => (
            Code::VirtioGuestNoDriver,
            "is modern-only (virtio 1.0)",
            "make it virtio-transitional on a conventional PCI slot (behind a pcie-to-pci-bridge on q35)".to_string(),
        ),
        _ => (
            Code::VirtioGuestNoDriver,
            "is modern-only (virtio 1.0)",
            format!(
                "{} exists in virtio 1.0 form only: use an emulated device instead (for example qxl or VGA video, a USB tablet)",
                v.qemu_device
            ),
        ),
    };
    let mut diag = Diagnostic::new(
        code,
        format!(
            "{}{} {what}, and {} has no driver for it: {}",
            describe(a, i),
            where_is(a, i),
            os.label(),
            v.explanation()
        ),
    )
    .hint(format!("{hint} ({})", os.drivers_reason()))
    .on(input_device(a, i));
    diag.severity = Severity::Error;
    let fix = if code == Code::VirtioGuestNoDriver {
        transitional_fix(a, &[i])
    } else {
        None
    };
    Finding { diag, fix }
}

/// A device that must stay transitional for a legacy-only guest, sitting in a PCI
/// Express port where its legacy IO BAR costs the port a whole IO window.
fn legacy_on_port_finding(a: &Analysis, os: &GuestOs, v: &VirtioInfo) -> Finding {
    let i = v.device;
    Finding {
        diag: Diagnostic::new(
            Code::VirtioLegacyOnPciePort,
            format!(
                "{}{} must stay transitional for {} (legacy drivers only), and it sits in a PCI Express port: a legacy IO BAR on a PCIe endpoint, which costs the port a whole 4 KiB IO window",
                describe(a, i),
                where_is(a, i),
                os.label()
            ),
        )
        .hint("move it to a conventional PCI slot: every transitional device behind one pcie-to-pci-bridge shares a single 4 KiB window")
        .on(input_device(a, i)),
        fix: transitional_fix(a, &[i]),
    }
}

fn fmt_size(n: u32) -> String {
    if n >= 0x400 && n.is_multiple_of(0x400) {
        format!("{} KiB", n / 0x400)
    } else {
        format!("0x{n:x}")
    }
}

fn io_findings(a: &Analysis, ctx: &Context, out: &mut Vec<Finding>) {
    if a.io.outcome == Outcome::NotModelled {
        return;
    }
    let on_ports = transitional_on_ports(a, out);
    unreachable_bars(a, out);
    let machine61 = acpi_hotplug_ports(a, out);
    budget_findings(a, &on_ports, machine61, out);
    hotplug_headroom(a, ctx, out);
}

/// Transitional devices in PCI Express ports (each costs its port a 4 KiB window);
/// returns them.
fn transitional_on_ports(a: &Analysis, out: &mut Vec<Finding>) -> Vec<usize> {
    let needs_legacy =
        a.os.as_ref()
            .and_then(GuestOs::drivers)
            .is_some_and(|d| d.needs_legacy());
    let mut on_ports = Vec::new();
    for v in &a.virtio {
        if v.mode == Mode::Transitional && v.express {
            on_ports.push(v.device);
            if needs_legacy {
                continue; // VP0402 already says it
            }
            let modern_ok =
                a.os.as_ref()
                    .and_then(GuestOs::drivers)
                    .is_some_and(|d| d.modern);
            let hint = if modern_ok {
                "the guest has virtio 1.0 drivers: make it plain virtio (modern-only, no IO) or move it behind a pcie-to-pci-bridge"
            } else {
                "move it behind a pcie-to-pci-bridge, where all transitional devices share one 4 KiB window"
            };
            let fix = if modern_ok {
                input_origin(a, v.device).map(|device| Fix {
                    summary: "make it plain virtio (modern-only in the root port)".into(),
                    ops: vec![Op::SetModel {
                        device,
                        model: Some(
                            if v.family.is_some_and(|f| f.name == "scsi") {
                                "virtio-scsi"
                            } else {
                                "virtio"
                            }
                            .into(),
                        ),
                    }],
                })
            } else {
                transitional_fix(a, &[v.device])
            };
            out.push(Finding {
                diag: Diagnostic::new(
                    Code::IoTransitionalOnPort,
                    format!(
                        "{}{} is transitional in a PCI Express port: its IO BAR costs the port a whole 4 KiB IO window",
                        describe(a, v.device),
                        where_is(a, v.device)
                    ),
                )
                .hint(hint)
                .on(input_device(a, v.device)),
                fix,
            });
        }
    }
    on_ports
}

/// Devices that need IO below a port whose IO window is closed (io-reserve=0).
fn unreachable_bars(a: &Analysis, out: &mut Vec<Finding>) {
    let p = &a.io;
    for d in &p.devices {
        if d.status != BarStatus::Unreachable {
            continue;
        }
        let Some(i) = d.device else { continue };
        let port = p
            .windows
            .iter()
            .find(|w| w.read_only && is_below(&a.defined, d.addr, w.index))
            .map_or_else(String::new, |w| format!("{} #{}", w.model.name(), w.index));
        let modern_ok =
            a.os.as_ref()
                .and_then(GuestOs::drivers)
                .is_none_or(|x| x.modern);
        let fix = match a.virtio_of(i) {
            Some(v) if modern_ok && can_be_transitional(v) => {
                input_origin(a, i).map(|device| Fix {
                    summary: "make it plain virtio: modern-only in the port, no IO needed".into(),
                    ops: vec![Op::SetModel {
                        device,
                        model: Some("virtio".into()),
                    }],
                })
            }
            Some(_) => transitional_fix(a, &[i]),
            None => None,
        };
        out.push(Finding {
            diag: Diagnostic::new(
                Code::IoReserveZero,
                format!(
                    "{}{} needs {} of IO, but {port} has io-reserve=0: its IO window is read-only and closed, so the BAR the firmware assigns cannot be reached",
                    describe(a, i),
                    where_is(a, i),
                    fmt_size(d.total())
                ),
            )
            .hint("remove io-reserve=0 from that port, or use a device without an IO BAR there (modern virtio)")
            .on(input_device(a, i)),
            fix,
        });
    }
}

/// A machine type with ACPI hotplug on root ports and more hotplug ports than SeaBIOS
/// boots with; returns whether that is the case (it explains the boot failure).
fn acpi_hotplug_ports(a: &Analysis, out: &mut Vec<Finding>) -> bool {
    let p = &a.io;
    let fw = a.firmware;
    let quirk = a
        .defined
        .machine
        .acpi_hotplug_quirk()
        .filter(|_| fw.kind == FirmwareKind::SeaBios);
    let quirk_ports: Vec<usize> = p
        .windows
        .iter()
        .filter(|w| w.reasons.contains(&io_space::WindowReason::Machine61))
        .map(|w| w.device)
        .collect();
    let machine61 = quirk.is_some_and(|q| quirk_ports.len() > q.max_hotplug_ports as usize);
    if let Some(q) = quirk.filter(|_| machine61) {
        out.push(Finding {
            diag: Diagnostic::new(
                Code::Q35Machine61RootPorts,
                format!(
                    "machine type {} makes every hotplug root port reserve {} of IO; with {} of them SeaBIOS runs out of IO space and the guest does not boot",
                    q.machine_type,
                    fmt_size(q.io_per_port),
                    quirk_ports.len()
                ),
            )
            .hint(format!("use machine type {} or newer ({} is the only one with this reservation), or turn hotplug off on the ports you do not need (at most {} may reserve IO)", q.fixed_by, q.machine_type, q.max_hotplug_ports)),
            fix: Some(Fix {
                summary: format!("change the machine type to {}", q.fixed_by),
                ops: vec![Op::SetMachineType {
                    machine_type: q.fixed_by.into(),
                }],
            }),
        });
    }
    machine61
}

/// The outcome against the firmware's budget.
fn budget_findings(a: &Analysis, on_ports: &[usize], machine61: bool, out: &mut Vec<Finding>) {
    let p = &a.io;
    let fw = a.firmware;
    match p.outcome {
        Outcome::BootFailure if !machine61 => {
            let fix = transitional_fix(a, on_ports).filter(|_| !on_ports.is_empty());
            out.push(Finding {
                diag: Diagnostic::new(
                    Code::IoExhausted,
                    format!(
                        "IO port space exhausted under {}: bridges and root-bus BARs need 0x{:x} bytes, the limit is below 0x{:x}; SeaBIOS stops with \"PCI: out of I/O address space\" and the guest does not boot",
                        fw.name, p.used, p.budget
                    ),
                )
                .hint(budget_hint(a, on_ports)),
                fix,
            });
        }
        Outcome::DevicesDropped => {
            let names: Vec<String> = p
                .dropped
                .iter()
                .map(|&k| {
                    let d = &p.devices[k];
                    format!("{} at {}", d.label, d.addr.bdf())
                })
                .collect();
            let fix = transitional_fix(a, on_ports).filter(|_| !on_ports.is_empty());
            let first = p.dropped.first().and_then(|&k| p.devices[k].device);
            out.push(Finding {
                diag: Diagnostic::new(
                    Code::IoExhausted,
                    format!(
                        "IO port space exhausted under {}: the layout needs 0x{:x} bytes of a 0x{:x} aperture; OVMF drops {} whole device(s), largest IO BAR first: {}",
                        fw.name,
                        p.demand,
                        p.budget,
                        names.len(),
                        names.join(", ")
                    ),
                )
                .hint(budget_hint(a, on_ports))
                .on(first.and_then(|i| input_device(a, i))),
                fix,
            });
        }
        Outcome::PaddingStripped => {
            let empty_ports: Vec<Origin> = p
                .windows
                .iter()
                .filter(|w| w.empty_port && w.padding > 0)
                .filter_map(|w| input_origin(a, w.device))
                .collect();
            out.push(Finding {
                diag: Diagnostic::new(
                    Code::IoPaddingStripped,
                    format!(
                        "IO port space is short under {}: OVMF strips the hotplug padding of {} bridge(s) ({}); those lose their MMIO hotplug headroom too, and an empty port without padding cannot take a hot-plugged device",
                        fw.name,
                        p.stripped.len(),
                        p.stripped
                            .iter()
                            .map(|i| format!("#{i}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .hint("set hotplug='off' on empty root ports you do not need, or use OVMF 2023.08 or newer (no IO padding)"),
                fix: (!empty_ports.is_empty()).then(|| Fix {
                    summary: format!("turn hotplug off on the {} empty port(s)", empty_ports.len()),
                    ops: empty_ports
                        .iter()
                        .map(|&device| Op::SetHotplug { device, on: false })
                        .collect(),
                }),
            });
        }
        _ => {}
    }
}

/// Fewer free hotplug ports than the user asked to keep (`--headroom`).
fn hotplug_headroom(a: &Analysis, ctx: &Context, out: &mut Vec<Finding>) {
    let p = &a.io;
    if let Some(want) = ctx.headroom {
        let usable = p
            .windows
            .iter()
            .filter(|w| w.empty_port && w.hotplug && !w.padding_stripped)
            .count() as u32;
        if usable < want {
            let missing = want - usable;
            out.push(Finding {
                diag: Diagnostic::new(
                    Code::NoFreeHotplugPort,
                    format!(
                        "{usable} free hotplug port(s) left, {want} wanted{}",
                        if p.windows.iter().any(|w| w.empty_port && w.padding_stripped) {
                            " (empty ports whose padding OVMF stripped cannot take a device)"
                        } else {
                            ""
                        }
                    ),
                )
                .hint(format!(
                    "add {missing} pcie-root-port(s) with nothing behind them"
                )),
                fix: a.defined.machine.class.is_pcie().then(|| Fix {
                    summary: format!("add {missing} empty pcie-root-port(s)"),
                    ops: (0..missing)
                        .map(|_| Op::AddController {
                            model: PciModel::PcieRootPort,
                            at: Placement::Unassigned,
                            downstream: 0,
                        })
                        .collect(),
                }),
            });
        }
    }
}

/// Whether address `addr` lies below controller `index`.
fn is_below(t: &Topology, addr: PciAddr, index: u32) -> bool {
    let mut bus = addr.bus;
    for _ in 0..256 {
        if bus == index {
            return true;
        }
        if bus == 0 {
            return false;
        }
        match t.controller(bus).and_then(Device::pci_addr) {
            Some(a) => bus = a.bus,
            None => return false,
        }
    }
    false
}

fn budget_hint(a: &Analysis, on_ports: &[usize]) -> String {
    let mut parts = Vec::new();
    if !on_ports.is_empty() {
        parts.push(format!(
            "move the {} transitional device(s) in PCIe ports behind one pcie-to-pci-bridge (one shared 4 KiB window)",
            on_ports.len()
        ));
    }
    parts.push("use modern-only virtio where the guest has virtio 1.0 drivers".into());
    if a.firmware.kind == FirmwareKind::Ovmf && a.firmware.hotplug_io_padding > 0 {
        parts.push("set hotplug='off' on ports that need no hotplug".into());
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;
    use crate::device::Kind;
    use crate::edit;
    use crate::guest_os::IdSource;
    use crate::machine::Machine;
    use crate::topology::PciController;

    fn topo(devices: Vec<Device>) -> Topology {
        Topology::new("pc-q35-7.2", devices)
    }

    fn at(mut d: Device, bus: u32, slot: u8) -> Device {
        d.address = Some(Address::Pci {
            addr: PciAddr::new(bus, slot, 0),
            multifunction: None,
        });
        d
    }

    fn port(index: u32, slot: u8) -> Device {
        let mut d = Device::new(Origin(100 + index), Kind::Controller);
        d.ty = Some("pci".into());
        d.index = Some(index);
        d.model = Some("pcie-root-port".into());
        let mut p = PciController::new(PciModel::PcieRootPort);
        p.chassis = Some(index);
        p.port = Some(u32::from(slot) * 8);
        p.model_name = Some("pcie-root-port".into());
        d.pci = Some(p);
        at(d, 0, slot)
    }

    fn disk(model: &str, dev: &str) -> Device {
        let mut d = Device::new(Origin(7), Kind::Disk);
        d.ty = Some("file".into());
        d.bus = Some("virtio".into());
        d.name = Some(dev.into());
        d.model = Some(model.into());
        d
    }

    fn root() -> Device {
        let mut d = Device::new(Origin(99), Kind::Controller);
        d.ty = Some("pci".into());
        d.index = Some(0);
        d.model = Some("pcie-root".into());
        d.pci = Some(PciController::new(PciModel::PcieRoot));
        d
    }

    fn ctx(os: &str) -> Context {
        Context {
            os: Some(GuestOs::from_table(os, IdSource::User)),
            ..Context::default()
        }
    }

    #[test]
    fn modern_only_disk_for_centos6_is_an_error_whose_fix_passes() {
        let t = topo(vec![
            root(),
            port(1, 2),
            port(2, 3),
            at(disk("virtio", "vda"), 1, 0),
            at(disk("virtio", "vdb"), 2, 0),
        ]);
        let a = analyse(&t, &ctx("centos6.10"));
        let errs: Vec<&Finding> = a
            .findings
            .iter()
            // libvirt also adds a virtio memballoon, which is flagged too; this test
            // is about the two disks.
            .filter(|f| {
                f.diag.code == Code::VirtioGuestNoDriver && f.diag.message.starts_with("disk")
            })
            .collect();
        assert_eq!(errs.len(), 2, "{:#?}", a.findings);
        assert_eq!(errs[0].diag.device, Some(3));
        assert!(a.has_errors());
        // Each fix makes the disk transitional and leaves its placement to libvirt.
        let fix = errs[1].fix.clone().expect("a fix");
        assert!(!fix.ops.is_empty(), "{fix:?}");
        let once = edit::apply_all(&t, &fix.ops).expect("the fix applies");
        let a2 = analyse(&once, &ctx("centos6.10"));
        let next = a2
            .findings
            .iter()
            .find(|f| {
                f.diag.code == Code::VirtioGuestNoDriver && f.diag.message.starts_with("disk")
            })
            .and_then(|f| f.fix.clone())
            .expect("the other disk still needs its fix");
        let fixed = edit::apply_all(&once, &next.ops).expect("the fix applies");
        let b = analyse(&fixed, &ctx("centos6.10"));
        let disk_errors = b
            .findings
            .iter()
            .filter(|f| {
                f.diag.code == Code::VirtioGuestNoDriver && f.diag.message.starts_with("disk")
            })
            .count();
        assert_eq!(disk_errors, 0, "{:#?}", b.findings);
        // Both disks now share one pcie-to-pci-bridge.
        let buses: Vec<u32> = (3..5)
            .filter_map(|i| b.defined.devices[i].pci_addr().map(|p| p.bus))
            .collect();
        assert_eq!(buses.len(), 2);
        assert_eq!(buses[0], buses[1]);
        assert_eq!(
            b.defined.bus_model(buses[0]),
            Some(PciModel::PcieToPciBridge)
        );
        // The same guest with virtio 1.0 drivers is fine.
        assert!(!analyse(&t, &ctx("centos7.0")).has_errors());
    }

    #[test]
    fn transitional_on_root_port_is_flagged_with_the_right_fix() {
        let t = topo(vec![
            root(),
            port(1, 2),
            at(disk("virtio-transitional", "vda"), 1, 0),
        ]);
        let a = analyse(&t, &ctx("debian9"));
        let f = a
            .findings
            .iter()
            .find(|f| f.diag.code == Code::IoTransitionalOnPort)
            .expect("VP0502");
        assert_eq!(
            f.fix.as_ref().map(|x| x.ops.clone()),
            Some(vec![Op::SetModel {
                device: t.devices[2].origin,
                model: Some("virtio".into())
            }])
        );
        let a = analyse(&t, &ctx("debian8"));
        assert!(
            a.findings
                .iter()
                .any(|f| f.diag.code == Code::VirtioLegacyOnPciePort)
        );
        assert!(
            !a.findings
                .iter()
                .any(|f| f.diag.code == Code::IoTransitionalOnPort)
        );
    }

    #[test]
    fn transitional_off_pci_is_defined_but_does_not_start() {
        let mut d = disk("virtio-transitional", "vda");
        d.address = Some(Address::VirtioMmio);
        let mut t = Topology::new("virt", vec![d]);
        t.machine = Machine::new("aarch64", "virt");
        // ACPI on ARM needs UEFI; this guest boots without either.
        t.acpi = false;
        let a = analyse(&t, &Context::default());
        assert!(a.refused.is_none(), "libvirt defines it: {:?}", a.refused);
        let f = a
            .findings
            .iter()
            .find(|f| f.diag.code == Code::VirtioTransitionalOffPci)
            .expect("VP0303");
        assert_eq!(f.diag.device, Some(0));
        let fixed = edit::apply_all(&t, &f.fix.as_ref().expect("fix").ops).expect("applies");
        let b = analyse(&fixed, &Context::default());
        assert!(
            !b.findings
                .iter()
                .any(|f| f.diag.code == Code::VirtioTransitionalOffPci)
        );
    }

    #[test]
    fn unknown_and_driverless_guests_are_info_only() {
        let t = topo(vec![root(), port(1, 2), at(disk("virtio", "vda"), 1, 0)]);
        for os in ["no-such-os", "win11"] {
            let a = analyse(&t, &ctx(os));
            assert!(!a.has_errors(), "{os}");
            assert!(
                a.findings
                    .iter()
                    .any(|f| f.diag.code == Code::GuestOsUnknown),
                "{os}"
            );
        }
    }

    #[test]
    fn headroom_counts_empty_hotplug_ports() {
        let t = topo(vec![root(), port(1, 2), port(2, 3)]);
        let mut c = Context {
            headroom: Some(3),
            ..Context::default()
        };
        let a = analyse(&t, &c);
        let f = a
            .findings
            .iter()
            .find(|f| f.diag.code == Code::NoFreeHotplugPort)
            .expect("VP0504");
        let fixed = edit::apply_all(&t, &f.fix.as_ref().expect("fix").ops).expect("applies");
        c.headroom = Some(3);
        assert!(
            !analyse(&fixed, &c)
                .findings
                .iter()
                .any(|f| f.diag.code == Code::NoFreeHotplugPort)
        );
    }

    #[test]
    fn firmware_follows_the_domain_unless_chosen() {
        let mut t = topo(vec![root()]);
        assert_eq!(choose_firmware(&t, &Context::default()).0.id, "seabios");
        t.efi = true;
        assert_eq!(choose_firmware(&t, &Context::default()).0.id, "ovmf-2022");
        let c = Context {
            firmware: io_space::firmware("ovmf"),
            ..Context::default()
        };
        assert_eq!(
            choose_firmware(&t, &c),
            (
                io_space::firmware("ovmf").expect("ovmf"),
                FirmwareSource::User
            )
        );
    }

    fn at_fn(mut d: Device, bus: u32, slot: u8, function: u8, mf: Option<bool>) -> Device {
        d.address = Some(Address::Pci {
            addr: PciAddr::new(bus, slot, function),
            multifunction: mf,
        });
        d
    }

    fn codes(a: &Analysis, code: Code) -> Vec<Option<usize>> {
        a.findings
            .iter()
            .filter(|f| f.diag.code == code)
            .map(|f| f.diag.device)
            .collect()
    }

    #[test]
    fn a_function_without_function_0_is_hidden_and_its_fix_clears_it() {
        let t = Topology::new(
            "pc-i440fx-7.2",
            vec![
                at_fn(disk("virtio", "vda"), 0, 5, 3, None),
                // Beside the chipset's 00:01.0 a function is seen.
                at_fn(disk("virtio", "vdb"), 0, 1, 5, None),
                at_fn(disk("virtio", "vdc"), 0, 6, 0, None),
                at_fn(disk("virtio", "vdd"), 0, 6, 1, None),
            ],
        );
        let a = analyse(&t, &Context::default());
        assert!(a.refused.is_none(), "{:?}", a.refused);
        assert_eq!(codes(&a, Code::GuestFunctionHidden), vec![Some(0)]);
        let f = a
            .findings
            .iter()
            .find(|f| f.diag.code == Code::GuestFunctionHidden)
            .expect("VP0704");
        let fixed = edit::apply_all(&t, &f.fix.as_ref().expect("fix").ops).expect("applies");
        assert!(
            codes(
                &analyse(&fixed, &Context::default()),
                Code::GuestFunctionHidden
            )
            .is_empty()
        );
    }

    #[test]
    fn multifunction_off_beside_other_functions_does_not_start() {
        let shared = |mf| {
            Topology::new(
                "pc-q35-7.2",
                vec![
                    at_fn(disk("virtio", "vda"), 0, 5, 0, mf),
                    at_fn(disk("virtio", "vdb"), 0, 5, 3, None),
                ],
            )
        };
        let off = analyse(&shared(Some(false)), &Context::default());
        assert_eq!(codes(&off, Code::MultifunctionOff), vec![Some(0)]);
        for mf in [None, Some(true)] {
            assert!(
                codes(
                    &analyse(&shared(mf), &Context::default()),
                    Code::MultifunctionOff
                )
                .is_empty()
            );
        }
        let f = off
            .findings
            .iter()
            .find(|f| f.diag.code == Code::MultifunctionOff)
            .expect("VP0311");
        let fixed = edit::apply_all(&shared(Some(false)), &f.fix.as_ref().expect("fix").ops)
            .expect("applies");
        assert!(
            codes(
                &analyse(&fixed, &Context::default()),
                Code::MultifunctionOff
            )
            .is_empty()
        );
    }
}
