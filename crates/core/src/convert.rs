//! Carrying a guest across: i440fx → q35 (and back) and virtio-mmio ⇄ PCI on ARM /
//! RISC-V `virt`, as a list of [`Op`]s with one reason per change, decided from the
//! guest OS the analysis context knows (osinfo-db facts, `--os`, `--guest-virtio`).
//!
//! The rules, and where they differ from `virt-xml --convert-to-q35`, are written out
//! in `docs/convert.md`. In short, for q35: an OS with virtio 1.0 drivers keeps plain
//! virtio (modern-only on root ports); an OS with only legacy drivers, or one nothing
//! is known about, gets `virtio-transitional`, which libvirt puts behind one
//! pcie-to-pci-bridge (one IO window for all of them); e1000 → e1000e and ich6 → ich9
//! only when osinfo-db lists the q35 chipset for the OS (it lists e1000e and ich9-hda
//! in exactly the same entries); IDE disks become SATA disks with new names; the
//! machine version is kept; spare root ports are counted, not fixed.

use crate::diag::Code;
use std::collections::BTreeSet;

use super::address::Address;
use super::analyses::{self, Context};
use super::assign;
use super::device::{Kind, SlotClass, VirtioForm};
use super::diag::{Diagnostic, Severity};
use super::edit::{self, Op, Placement};
use super::io_space;
use super::machine::{Machine, MachineClass};
use super::pci::PciModel;
use super::topology::{Device, Topology};

/// Where the guest goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum To {
    /// x86 i440fx → q35.
    Q35,
    /// x86 q35 → i440fx (`pc`).
    Pc,
    /// ARM / RISC-V `virt`: every virtio device on PCI.
    Pci,
    /// ARM / RISC-V `virt`: every virtio device on virtio-mmio.
    Mmio,
}

impl To {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            To::Q35 => "q35",
            To::Pc => "pc",
            To::Pci => "pci",
            To::Mmio => "mmio",
        }
    }
}

/// What the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// The target.
    pub to: To,
    /// Free hotplug root ports wanted; `None`: as many as virt-install's would leave.
    pub spare_ports: Option<u32>,
    /// Convert even when the guest OS is not known to run on the target.
    pub force: bool,
    /// The domain asks for UEFI secure boot (the libvirt layer reads it), which needs
    /// SMM and so q35.
    pub secure_boot: bool,
}

/// How many root ports virt-install puts on a new q35 or `virt` guest (its constant,
/// chosen below the 15 that break pc-q35-6.1 under SeaBIOS); devices take some.
pub const VIRT_INSTALL_ROOT_PORTS: u32 = 14;

/// One change: what it concerns, the operations, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The device or setting, for people (`disk virtio vda`, `machine type`).
    pub subject: String,
    /// Its line in the input (0 when it has none).
    pub line: u32,
    /// The operations that make it.
    pub ops: Vec<Op>,
    /// Why, in one line.
    pub reason: String,
}

/// A device the conversion leaves as it is, and why (only the ones worth saying).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kept {
    /// The device.
    pub subject: String,
    /// Its line in the input.
    pub line: u32,
    /// Why it stays.
    pub reason: String,
}

/// The hotplug headroom the conversion leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spare {
    /// Free hotplug root ports wanted.
    pub wanted: u32,
    /// Where that number comes from.
    pub wanted_from: String,
    /// Root ports added for it.
    pub added: u32,
    /// Free hotplug root ports in the result.
    pub free: u32,
    /// Why fewer than wanted, when so.
    pub limited_by: Option<String>,
}

/// A conversion: the changes in order, what stays and why, notes, the result.
#[derive(Clone, Debug, PartialEq)]
pub struct Conversion {
    /// The target.
    pub to: To,
    /// The changes, in the order their operations apply.
    pub changes: Vec<Change>,
    /// Devices left as they are, with the reason.
    pub kept: Vec<Kept>,
    /// What else the user should know (the guest's drivers, the mmio rule, ...).
    pub notes: Vec<String>,
    /// The hotplug headroom, for targets with root ports.
    pub spare: Option<Spare>,
    /// The converted topology.
    pub result: Topology,
}

impl Conversion {
    /// Every operation, in order (apply with [`edit::apply_as_one`]).
    pub fn ops(&self) -> Vec<Op> {
        self.changes.iter().flat_map(|c| c.ops.clone()).collect()
    }

    /// True when nothing changes (the guest is there already).
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

fn refuse(code: Code, message: String, hint: &str) -> Diagnostic {
    let mut d = Diagnostic::new(code, message).hint(hint);
    d.severity = Severity::Error;
    d
}

fn subject(t: &Topology, d: &Device) -> String {
    let mut s = if d.kind == Kind::Disk && d.bus.as_deref() != Some("virtio") {
        format!(
            "disk {} on {}",
            d.name.as_deref().unwrap_or("?"),
            d.bus.as_deref().unwrap_or("?")
        )
    } else {
        d.describe(&t.machine)
    };
    if let Some(a) = d.pci_addr() {
        s.push_str(&format!(" at {}", a.bdf()));
    }
    s
}

/// Converts `t` as `opts` asks, judging the guest by `ctx`. A refusal is a
/// diagnostic: the guest is not on the machine the target starts from (VP0801), the
/// OS is not known to run on q35 (VP0404, unless forced), something cannot be
/// carried across (VP0802), or the result would be refused by libvirt (VP0803).
pub fn convert(t: &Topology, ctx: &Context, opts: &Options) -> Result<Conversion, Diagnostic> {
    let mut c = Conversion {
        to: opts.to,
        changes: Vec::new(),
        kept: Vec::new(),
        notes: Vec::new(),
        spare: None,
        result: t.clone(),
    };
    if let Err(d) = assign::assign(t) {
        return Err(refuse(
            Code::ConvertRefusedResult,
            format!("libvirt already refuses the guest: {}", d.message),
            "fix the guest first (virt-pci check FILE)",
        ));
    }
    match opts.to {
        To::Q35 => to_q35(t, ctx, opts, &mut c)?,
        To::Pc => to_pc(t, opts, &mut c)?,
        To::Pci => to_pci(t, &mut c)?,
        To::Mmio => to_mmio(t, &mut c)?,
    }
    if c.changes.is_empty() {
        return Ok(c);
    }
    let mut result = edit::apply_as_one(t, &c.ops()).map_err(|e| {
        refuse(
            Code::ConvertRefusedResult,
            format!("the converted guest would not be accepted: {e}"),
            "convert by hand, or report the guest",
        )
    })?;
    // Place whatever the changes left unaddressed, as libvirt will at define time.
    let plan = assign::assign(&result).map_err(|d| {
        refuse(
            Code::ConvertRefusedResult,
            format!("libvirt would refuse the converted guest: {}", d.message),
            "convert by hand, or report the guest",
        )
    })?;
    if !plan.is_empty() {
        let after = edit::define_in_file_order(&result, &plan);
        c.changes.push(Change {
            subject: "addresses".into(),
            line: 0,
            ops: vec![Op::AutoAssign],
            reason: placement_reason(&result, &after, opts.to),
        });
        result = after;
    }
    if matches!(opts.to, To::Q35 | To::Pci) {
        let (change, spare) = spare_ports(&result, ctx, opts);
        if let Some((ch, with_ports)) = change {
            result = with_ports;
            c.changes.push(ch);
        }
        c.spare = Some(spare);
    }
    c.result = result;
    Ok(c)
}

/// Why libvirt's placement adds what it adds, in one line.
fn placement_reason(before: &Topology, after: &Topology, to: To) -> String {
    let count = |t: &Topology, m: PciModel| {
        t.devices
            .iter()
            .filter(|d| d.pci.as_ref().is_some_and(|p| p.model == m))
            .count()
    };
    let mut added = Vec::new();
    for m in [
        PciModel::PcieRoot,
        PciModel::PciRoot,
        PciModel::PcieRootPort,
        PciModel::PcieToPciBridge,
        PciModel::PciBridge,
    ] {
        let n = count(after, m).saturating_sub(count(before, m));
        if n > 0 {
            added.push(format!("{n} {}", m.name()));
        }
    }
    let placed = before
        .devices
        .iter()
        .zip(&after.devices)
        .filter(|(b, a)| b.address != a.address)
        .count();
    let what = match to {
        To::Q35 | To::Pci => {
            "PCIe devices each on a root port, conventional PCI devices (transitional virtio among them) behind one pcie-to-pci-bridge"
        }
        To::Pc | To::Mmio => "every device on the root bus",
    };
    let mut s = format!("placed as libvirt places them: {what}; {placed} address(es) filled in");
    if !added.is_empty() {
        s.push_str(&format!(", {} added", added.join(", ")));
    }
    s
}

/// The q35 name of an i440fx machine type: the same version where there is one.
fn q35_machine(mt: &str) -> String {
    match mt.strip_prefix("pc-i440fx-") {
        Some(v) => format!("pc-q35-{v}"),
        None => "q35".into(),
    }
}

/// The i440fx name of a q35 machine type: the same version where there is one.
fn pc_machine(mt: &str) -> String {
    match mt.strip_prefix("pc-q35-") {
        Some(v) => format!("pc-i440fx-{v}"),
        None => "pc".into(),
    }
}

/// The next free `sdX` names, in order.
fn sata_names(t: &Topology, n: usize) -> Vec<String> {
    let used: BTreeSet<&str> = t
        .devices
        .iter()
        .filter(|d| d.kind == Kind::Disk)
        .filter_map(|d| d.name.as_deref())
        .collect();
    let mut out = Vec::new();
    let mut k = 0usize;
    while out.len() < n && k < 26 * 27 {
        let s = if k < 26 {
            format!("sd{}", (b'a' + k as u8) as char)
        } else {
            let (a, b) = (k / 26 - 1, k % 26);
            format!("sd{}{}", (b'a' + a as u8) as char, (b'a' + b as u8) as char)
        };
        if !used.contains(s.as_str()) {
            out.push(s);
        }
        k += 1;
    }
    out
}

/// What the guest can drive, for the q35 decisions.
struct Guest {
    label: String,
    /// Keep a legacy interface on every virtio device.
    legacy: bool,
    /// Why.
    legacy_why: String,
    /// osinfo-db lists the q35 chipset (and with it e1000e and ich9-hda).
    chipset: bool,
}

fn guest(ctx: &Context) -> Guest {
    let Some(os) = &ctx.os else {
        return Guest {
            label: "the guest OS".into(),
            legacy: true,
            legacy_why: "the guest OS is unknown (give --os or --guest-virtio): transitional works with either driver".into(),
            chipset: false,
        };
    };
    let label = os.label();
    let chipset = os.info.as_ref().is_some_and(|(i, _)| i.q35);
    let (legacy, legacy_why) = match os.drivers() {
        Some(d) if d.modern => (false, format!("{label} drives virtio 1.0")),
        Some(d) if d.legacy => (true, format!("{label} has only legacy virtio drivers")),
        Some(_) => (
            true,
            format!(
                "no virtio driver is known for {label}: transitional works with whichever driver it gets"
            ),
        ),
        None => (
            true,
            format!(
                "nothing is known about {label}'s virtio drivers: transitional works with either"
            ),
        ),
    };
    Guest {
        label,
        legacy,
        legacy_why,
        chipset,
    }
}

fn to_q35(
    t: &Topology,
    ctx: &Context,
    opts: &Options,
    c: &mut Conversion,
) -> Result<(), Diagnostic> {
    if !q35_applies(t, ctx, opts, c)? {
        return Ok(());
    }
    let g = guest(ctx);
    if let Some(os) = &ctx.os {
        c.notes
            .push(format!("guest OS {}: {}", os.label(), os.drivers_reason()));
    }
    let q35 = Machine::new(&t.machine.arch_name, &q35_machine(&t.machine.machine_type));
    c.changes.push(q35_machine_change(t, &q35));
    let ide = t
        .devices
        .iter()
        .filter(|d| d.kind == Kind::Disk && d.bus.as_deref() == Some("ide"))
        .count();
    let mut names = sata_names(t, ide).into_iter();
    // Whether anything will need a conventional PCI slot (then one bridge is kept).
    let mut conventional = false;
    let mut bridges: Vec<&Device> = Vec::new();
    for d in &t.devices {
        if let Some(p) = &d.pci {
            match p.model {
                PciModel::PciBridge => bridges.push(d),
                m => c.changes.push(q35_root_bus(t, d, m)?),
            }
            continue;
        }
        conventional |= q35_device(t, d, &g, &q35, &mut names, c);
    }
    q35_bridges(t, &bridges, conventional, c);
    Ok(())
}

/// Whether `--to q35` has work to do: false when the guest is on q35 already; an
/// error for other machines, or an OS not known to run on q35 without `--force`.
fn q35_applies(
    t: &Topology,
    ctx: &Context,
    opts: &Options,
    c: &mut Conversion,
) -> Result<bool, Diagnostic> {
    match t.machine.class {
        MachineClass::Q35 => {
            c.notes.push(format!(
                "the guest is on q35 already ({}): nothing to do",
                t.machine.machine_type
            ));
            return Ok(false);
        }
        MachineClass::I440fx => {}
        _ => {
            return Err(refuse(
                Code::ConvertWrongMachine,
                format!(
                    "--to q35 converts x86 i440fx guests; this one is {} on {}",
                    t.machine.machine_type, t.machine.arch_name
                ),
                "use --to pci or --to mmio for ARM and RISC-V virt guests",
            ));
        }
    }
    if let Some(os) = &ctx.os
        && let Some((info, src)) = &os.info
        && !info.q35
        && os.drivers_override.is_none()
    {
        if !opts.force {
            return Err(refuse(
                Code::GuestOsNoQ35,
                format!(
                    "{} is not known to run on q35: {} lists no q35 chipset for it ({})",
                    os.label(),
                    src.describe(),
                    info.origin
                ),
                "keep the guest on i440fx, or convert anyway with --force (every virtio device is kept transitional)",
            ));
        }
        c.notes.push(format!(
            "converted with --force although {} is not known to run on q35",
            os.label()
        ));
    }
    Ok(true)
}

/// The machine type change: the q35 twin of the same version where there is one.
fn q35_machine_change(t: &Topology, q35: &Machine) -> Change {
    Change {
        subject: "machine type".into(),
        line: 0,
        ops: vec![Op::SetMachineType {
            machine_type: q35.machine_type.clone(),
        }],
        reason: if q35.machine_type == "q35" {
            format!(
                "'{}' has no q35 twin of the same version: the current q35",
                t.machine.machine_type
            )
        } else {
            format!(
                "{} → {}: the same machine version, so QEMU keeps the guest's compatibility settings",
                t.machine.machine_type, q35.machine_type
            )
        },
    }
}

/// A PCI controller other than a pci-bridge: the root becomes pcie-root, anything
/// else is not carried across.
fn q35_root_bus(t: &Topology, d: &Device, model: PciModel) -> Result<Change, Diagnostic> {
    let subject = subject(t, d);
    if model != PciModel::PciRoot {
        return Err(refuse(
            Code::ConvertNotCarried,
            format!("{subject}: a {} is not carried across to q35", model.name()),
            "remove it (and what is behind it) or convert by hand",
        ));
    }
    Ok(Change {
        subject,
        line: d.line,
        ops: vec![Op::ReplaceController {
            device: d.origin,
            model: PciModel::PcieRoot,
        }],
        reason: "q35's root bus is PCI Express (pcie-root); the element and its index stay".into(),
    })
}

/// One device that is not a PCI controller: its change (if any) goes into `c`.
/// Returns whether it will need a conventional PCI slot on q35.
fn q35_device(
    t: &Topology,
    d: &Device,
    g: &Guest,
    q35: &Machine,
    sata: &mut impl Iterator<Item = String>,
    c: &mut Conversion,
) -> bool {
    let subj = subject(t, d);
    if d.kind == Kind::Controller && d.ty.as_deref() == Some("ide") {
        c.changes.push(Change {
            subject: subj,
            line: d.line,
            ops: vec![Op::Delete { device: d.origin }],
            reason: "q35 has no IDE controller: its disks become SATA disks on q35's built-in AHCI"
                .into(),
        });
        return false;
    }
    let mut ops = Vec::new();
    let (new_model, mut why) = q35_model(t, d, g, &subj, c);
    if let Some(m) = &new_model {
        ops.push(Op::SetModel {
            device: d.origin,
            model: m.clone(),
        });
    }
    if d.kind == Kind::Disk && d.bus.as_deref() == Some("ide") {
        let dev = sata.next().unwrap_or_else(|| "sdzz".into());
        why.push(format!(
            "q35 has no IDE: {} becomes {dev} on SATA (boot order and driver options stay)",
            d.name.as_deref().unwrap_or("the disk")
        ));
        ops.push(Op::SetDiskTarget {
            device: d.origin,
            bus: "sata".into(),
            dev,
        });
    }
    if let Some(a) = d.pci_addr() {
        ops.push(Op::ClearAddress { device: d.origin });
        if why.is_empty() {
            why.push(format!(
                "its i440fx slot {} does not carry over: libvirt places it on q35",
                a.bdf()
            ));
        } else {
            why.push("libvirt places it again".into());
        }
    }
    // What it will need on q35.
    let mut after = d.clone();
    if let Some(m) = &new_model {
        after.model = m.clone();
    }
    let n = after.facts(q35);
    if !ops.is_empty() {
        c.changes.push(Change {
            subject: subj,
            line: d.line,
            ops,
            reason: why.join("; "),
        });
    }
    n.slot == SlotClass::Pci && !n.integrated
}

/// The model a device takes on q35 (`Some(new)` when it changes) and why; devices
/// whose model stays for a reason worth saying go into `c.kept`.
fn q35_model(
    t: &Topology,
    d: &Device,
    g: &Guest,
    subj: &str,
    c: &mut Conversion,
) -> (Option<Option<String>>, Vec<String>) {
    let mut why: Vec<String> = Vec::new();
    let mut new_model: Option<Option<String>> = None;
    match d.facts(&t.machine).virtio {
        VirtioForm::Plain if g.legacy => {
            new_model = Some(Some("virtio-transitional".into()));
            why.push(format!(
                "{}: plain virtio would be modern-only on a q35 root port, transitional keeps the legacy interface",
                g.legacy_why
            ));
        }
        VirtioForm::Plain => {
            why.push(format!(
                "{}: stays plain virtio, modern-only on a root port",
                g.legacy_why
            ));
        }
        VirtioForm::Transitional => why.push("already transitional".into()),
        _ => {}
    }
    let kept = |reason: String| Kept {
        subject: subj.to_string(),
        line: d.line,
        reason,
    };
    match (d.kind, d.effective_model_str(&t.machine).unwrap_or("")) {
        (Kind::Interface, "e1000") if g.chipset => {
            new_model = Some(Some("e1000e".into()));
            why.push(format!(
                "{} lists the q35 chipset and with it e1000e (8086:10d3): the PCIe NIC goes on a root port",
                g.label
            ));
        }
        (Kind::Interface, "e1000") => c.kept.push(kept(format!(
            "e1000 stays: osinfo-db does not list e1000e for {}; it goes behind the pcie-to-pci-bridge",
            g.label
        ))),
        (Kind::Sound, "ich6") if g.chipset => {
            new_model = Some(Some("ich9".into()));
            why.push(format!(
                "{} lists the q35 chipset and with it ich9-hda (8086:293e)",
                g.label
            ));
        }
        (Kind::Sound, "ich6") => c.kept.push(kept(format!(
            "ich6 stays: osinfo-db does not list ich9-hda for {}",
            g.label
        ))),
        (Kind::Controller, "piix3-uhci") => c.kept.push(kept(
            "PIIX3 UHCI stays (every OS drives it; osinfo-db does not say which OSes drive xHCI): it goes behind the pcie-to-pci-bridge".into(),
        )),
        _ => {}
    }
    (new_model, why)
}

/// The i440fx pci-bridges, last: their devices have lost their addresses by now.
/// None is reused: a pcie-to-pci-bridge needs a root port of a lower index than its
/// own, and the i440fx bridge's index is lower than any new port's (QEMU then does
/// not start: the bridge's bus does not exist yet when it is created).
fn q35_bridges(t: &Topology, bridges: &[&Device], conventional: bool, c: &mut Conversion) {
    for b in bridges {
        let mut ops = Vec::new();
        if b.pci_addr().is_some() {
            ops.push(Op::ClearAddress { device: b.origin });
        }
        ops.push(Op::Delete { device: b.origin });
        c.changes.push(Change {
            subject: subject(t, b),
            line: b.line,
            ops,
            reason: if conventional {
                "libvirt adds one pcie-to-pci-bridge, on a root port of a lower index, for every conventional PCI device; reusing this bridge would put its index below its port's, which QEMU cannot start".into()
            } else {
                "nothing needs a conventional PCI slot on q35: the devices go on root ports".into()
            },
        });
    }
}

fn to_pc(t: &Topology, opts: &Options, c: &mut Conversion) -> Result<(), Diagnostic> {
    if !pc_applies(t, opts, c)? {
        return Ok(());
    }
    let pc = pc_machine(&t.machine.machine_type);
    c.changes.push(Change {
        subject: "machine type".into(),
        line: 0,
        ops: vec![Op::SetMachineType {
            machine_type: pc.clone(),
        }],
        reason: format!(
            "{} → {pc}: the same machine version where there is one",
            t.machine.machine_type
        ),
    });
    let mut removed = PcControllers::default();
    for d in &t.devices {
        pc_device(t, d, &mut removed, c);
    }
    if let Some(ch) = removed.change() {
        c.changes.push(ch);
    }
    c.notes.push(
        "SATA disks stay SATA: libvirt adds an AHCI controller on i440fx (IDE takes four disks at most)"
            .into(),
    );
    Ok(())
}

/// Whether `--to pc` has work to do: false when the guest is on i440fx already; an
/// error for other machines, or a q35 guest with secure boot.
fn pc_applies(t: &Topology, opts: &Options, c: &mut Conversion) -> Result<bool, Diagnostic> {
    if opts.secure_boot && t.machine.class == MachineClass::Q35 {
        return Err(refuse(
            Code::ConvertNotCarried,
            "the domain boots with UEFI secure boot, which needs SMM and so q35: libvirt refuses it on i440fx".into(),
            "turn secure boot off (<loader secure='no'>, the secure-boot firmware feature off) first, or keep the guest on q35",
        ));
    }
    match t.machine.class {
        MachineClass::I440fx => {
            c.notes.push(format!(
                "the guest is on i440fx already ({}): nothing to do",
                t.machine.machine_type
            ));
            Ok(false)
        }
        MachineClass::Q35 => Ok(true),
        _ => Err(refuse(
            Code::ConvertWrongMachine,
            format!(
                "--to pc converts x86 q35 guests; this one is {} on {}",
                t.machine.machine_type, t.machine.arch_name
            ),
            "use --to pci or --to mmio for ARM and RISC-V virt guests",
        )),
    }
}

/// The PCI controllers i440fx has no place for, removed in one change: their
/// addresses cleared first, then the elements.
#[derive(Default)]
struct PcControllers {
    clears: Vec<Op>,
    deletes: Vec<Op>,
    gone: Vec<String>,
}

impl PcControllers {
    fn change(self) -> Option<Change> {
        if self.deletes.is_empty() {
            return None;
        }
        let mut ops = self.clears;
        ops.extend(self.deletes);
        Some(Change {
            subject: format!("{} PCI controller(s)", self.gone.len()),
            line: 0,
            ops,
            reason: format!(
                "i440fx has no PCI Express ports: {} go, every device sits on the root bus (31 hotplug slots)",
                self.gone.join(", ")
            ),
        })
    }
}

/// One device of the q35 guest: the root becomes pci-root, other PCI controllers go
/// into `removed`, the iTCO watchdog goes, and a device with a q35 slot loses it.
fn pc_device(t: &Topology, d: &Device, removed: &mut PcControllers, c: &mut Conversion) {
    let subj = subject(t, d);
    if let Some(p) = &d.pci {
        if p.model == PciModel::PcieRoot {
            c.changes.push(Change {
                subject: subj,
                line: d.line,
                ops: vec![Op::ReplaceController {
                    device: d.origin,
                    model: PciModel::PciRoot,
                }],
                reason: "i440fx's root bus is conventional PCI (pci-root); the element and its index stay".into(),
            });
        } else {
            if d.pci_addr().is_some() {
                removed.clears.push(Op::ClearAddress { device: d.origin });
            }
            removed.deletes.push(Op::Delete { device: d.origin });
            removed
                .gone
                .push(format!("{} (line {})", p.model.name(), d.line));
        }
        return;
    }
    if d.kind == Kind::Watchdog && d.effective_model_str(&t.machine) == Some("itco") {
        c.changes.push(Change {
            subject: subj,
            line: d.line,
            ops: vec![Op::Delete { device: d.origin }],
            reason: "the iTCO watchdog is part of q35's ICH9 and libvirt refuses it on i440fx; add an i6300esb watchdog (a PCI device) if the guest needs one".into(),
        });
        return;
    }
    if let Some(a) = d.pci_addr() {
        let facts = d.facts(&t.machine);
        let mut reason = format!(
            "its q35 slot {} does not carry over: libvirt places it on the i440fx root bus",
            a.bdf()
        );
        if facts.virtio == VirtioForm::Plain {
            reason.push_str("; plain virtio is transitional there");
        }
        c.changes.push(Change {
            subject: subj,
            line: d.line,
            ops: vec![Op::ClearAddress { device: d.origin }],
            reason,
        });
    }
}

fn virt_only(t: &Topology, to: To) -> Result<(), Diagnostic> {
    if t.machine.class == MachineClass::Virt {
        return Ok(());
    }
    Err(refuse(
        Code::ConvertWrongMachine,
        format!(
            "--to {} moves virtio devices of ARM and RISC-V virt guests; this one is {} on {}",
            to.name(),
            t.machine.machine_type,
            t.machine.arch_name
        ),
        "use --to q35 or --to pc for x86 guests",
    ))
}

fn machine_note(t: &Topology) -> String {
    if t.machine.version().is_some() && t.machine.machine_type != "virt" {
        format!(
            "{} is a versioned machine type: QEMU keeps its layout and defaults across upgrades",
            t.machine.machine_type
        )
    } else {
        "machine type 'virt' is unversioned: it is whatever the installed QEMU's newest virt is, and libvirt keeps the name; pin a version (virt-X.Y) to keep the guest's layout across QEMU upgrades".into()
    }
}

fn to_pci(t: &Topology, c: &mut Conversion) -> Result<(), Diagnostic> {
    virt_only(t, To::Pci)?;
    let mmio: Vec<&Device> = t
        .devices
        .iter()
        .filter(|d| d.address == Some(Address::VirtioMmio))
        .collect();
    if mmio.is_empty() {
        c.notes.push(
            "no device has a virtio-mmio address: every virtio device is on PCI already".into(),
        );
        return Ok(());
    }
    for d in &mmio {
        c.changes.push(Change {
            subject: subject(t, d),
            line: d.line,
            ops: vec![Op::ClearAddress { device: d.origin }],
            reason: format!(
                "libvirt keeps every unaddressed virtio device on virtio-mmio while any device has a virtio-mmio address ({} do): all of them go",
                mmio.len()
            ),
        });
    }
    c.notes.push(machine_note(t));
    c.notes.push("the guest needs a virtio-pci driver and a driver for the generic ECAM PCIe host bridge (pci-host-generic) under its firmware (UEFI or device tree)".into());
    Ok(())
}

fn to_mmio(t: &Topology, c: &mut Conversion) -> Result<(), Diagnostic> {
    virt_only(t, To::Mmio)?;
    let mut moved = 0;
    for d in &t.devices {
        if d.pci.is_some() || d.address == Some(Address::VirtioMmio) {
            continue;
        }
        let v = d.facts(&t.machine).virtio;
        if v == VirtioForm::No {
            continue;
        }
        if matches!(d.address, Some(Address::Other(_))) {
            continue;
        }
        moved += 1;
        let mut ops = Vec::new();
        let mut reason = "an explicit virtio-mmio address: the virt board's fixed virtio-mmio transports (not hot-pluggable)".to_string();
        if matches!(v, VirtioForm::Transitional | VirtioForm::NonTransitional)
            && let Some(i) = edit::index_of(t, d.origin)
            && let Some(plain) = edit::model_choices(t, i).into_iter().next()
        {
            reason.push_str(&format!(
                "; the model becomes {plain}: (non-)transitional models exist only on PCI ({})",
                Code::VirtioTransitionalOffPci
            ));
            ops.push(Op::SetModel {
                device: d.origin,
                model: Some(plain),
            });
        }
        ops.push(Op::ToMmio { device: d.origin });
        c.changes.push(Change {
            subject: subject(t, d),
            line: d.line,
            ops,
            reason,
        });
    }
    if moved == 0 {
        c.notes
            .push("every virtio device has a virtio-mmio address already".into());
        return Ok(());
    }
    c.notes.push("one virtio-mmio address would already keep every unaddressed virtio device on mmio (libvirt's all-or-nothing rule); each gets one so that the file says what it means".into());
    c.notes.push("PCI controllers and non-virtio PCI devices stay; hotplug needs PCI root ports, the mmio transports cannot be hot-plugged".into());
    c.notes.push(machine_note(t));
    Ok(())
}

/// Root ports of `t` that are hotplug-capable, and how many of them have nothing behind.
fn root_ports(t: &Topology) -> (u32, u32, u32) {
    let mut used = 0;
    let mut free = 0;
    let mut hotplug = 0;
    for d in &t.devices {
        let Some(p) = &d.pci else { continue };
        if p.model != PciModel::PcieRootPort {
            continue;
        }
        let idx = d.index.unwrap_or(u32::MAX);
        let occupied = t
            .devices
            .iter()
            .any(|x| x.pci_addr().is_some_and(|a| a.bus == idx));
        if p.hotpluggable() {
            hotplug += 1;
        }
        if occupied {
            used += 1;
        } else if p.hotpluggable() {
            free += 1;
        }
    }
    (used, free, hotplug)
}

/// Whether the firmwares find enough IO for `t`: no firmware profile may stop the
/// boot or drop a device, and the guest's own firmware (the domain's, or
/// `--firmware`) may not strip the padding of hotplug ports either, since a port
/// without it cannot take a hot-plugged device.
fn io_fits(t: &Topology, ctx: &Context) -> Result<(), String> {
    if !t.machine.arch.is_x86() {
        return Ok(());
    }
    let own = analyses::choose_firmware(t, ctx).0.id;
    // One assignment for every firmware: only the IO plan depends on it.
    let (defined, refused) = analyses::as_defined(t);
    for fw in io_space::FIRMWARES {
        let mut cx = ctx.clone();
        cx.firmware = Some(fw);
        cx.headroom = None;
        let a = analyses::analyse_defined(t, defined.clone(), refused.clone(), &cx);
        if let Some(f) = a.findings.iter().find(|f| {
            matches!(
                f.diag.code,
                Code::IoExhausted | Code::IoReserveZero | Code::Q35Machine61RootPorts
            ) || (f.diag.code == Code::IoPaddingStripped && fw.id == own)
        }) {
            return Err(format!("{} under {}", f.diag.code, fw.name));
        }
    }
    Ok(())
}

/// The spare root ports: the change that adds them with the guest it makes (`None`
/// when none are added), and the count.
fn spare_ports(t: &Topology, ctx: &Context, opts: &Options) -> (Option<(Change, Topology)>, Spare) {
    let (used, free, hotplug) = root_ports(t);
    let (wanted, wanted_from) = match opts.spare_ports {
        Some(n) => (n, "--spare-ports".to_string()),
        None => (
            VIRT_INSTALL_ROOT_PORTS.saturating_sub(used),
            format!(
                "default: what virt-install's {VIRT_INSTALL_ROOT_PORTS} root ports leave free after the {used} the devices take"
            ),
        ),
    };
    let mut add = wanted.saturating_sub(free);
    let mut limited_by = None;
    if let Some(q) = t.machine.acpi_hotplug_quirk() {
        let cap = q.max_hotplug_ports.saturating_sub(hotplug);
        if add > cap {
            add = cap;
            limited_by = Some(format!(
                "{} with {} or more hotplug root ports does not boot under SeaBIOS ({}): at most {}",
                q.machine_type,
                q.max_hotplug_ports + 1,
                Code::Q35Machine61RootPorts,
                q.max_hotplug_ports
            ));
        }
    }
    let ops_for = |n: u32| -> Vec<Op> {
        (0..n)
            .map(|_| Op::AddController {
                model: PciModel::PcieRootPort,
                at: Placement::Auto,
                downstream: 0,
            })
            .collect()
    };
    // The ports added unplaced and assigned in one go: the addresses adding them one
    // at a time gives (`ops_for`, what the change applies; tests/convert.rs checks that
    // a conversion's operations give its result), at one assignment instead of one per
    // port, which made half of the audit's q35 what-if.
    let placed = |n: u32| -> Result<Topology, edit::EditError> {
        let mut ops: Vec<Op> = (0..n)
            .map(|_| Op::AddController {
                model: PciModel::PcieRootPort,
                at: Placement::Unassigned,
                downstream: 0,
            })
            .collect();
        ops.push(Op::AutoAssign);
        edit::apply_as_one(t, &ops)
    };
    // Fewer ports until every firmware finds IO for the guest.
    let mut result = None;
    while add > 0 {
        match placed(add) {
            Ok(out) => match io_fits(&out, ctx) {
                Ok(()) => {
                    result = Some(out);
                    break;
                }
                Err(why) => {
                    limited_by = Some(format!("the firmware's IO budget ({why} with more)"));
                }
            },
            Err(e) => limited_by = Some(e.message),
        }
        add -= 1;
    }
    let free_after = result.as_ref().map_or(free, |r| root_ports(r).1);
    // `add` is above 0 only when `result` holds the guest with the ports.
    let Some(with_ports) = result.filter(|_| add > 0) else {
        return (
            None,
            Spare {
                wanted,
                wanted_from,
                added: 0,
                free: free_after,
                limited_by,
            },
        );
    };
    let spare = Spare {
        wanted,
        wanted_from: wanted_from.clone(),
        added: add,
        free: free_after,
        limited_by: limited_by.clone(),
    };
    let mut reason = format!(
        "hotplug headroom: {wanted} free root port(s) wanted ({wanted_from}), {free} free before"
    );
    if let Some(l) = &limited_by {
        reason.push_str(&format!("; fewer because of {l}"));
    }
    (
        Some((
            Change {
                subject: format!("{add} spare pcie-root-port(s)"),
                line: 0,
                ops: ops_for(add),
                reason,
            },
            with_ports,
        )),
        spare,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_versions_are_kept() {
        assert_eq!(q35_machine("pc-i440fx-7.2"), "pc-q35-7.2");
        assert_eq!(q35_machine("pc"), "q35");
        assert_eq!(pc_machine("pc-q35-8.2"), "pc-i440fx-8.2");
        assert_eq!(pc_machine("q35"), "pc");
    }

    #[test]
    fn sata_names_skip_the_ones_in_use() {
        let mut t = Topology {
            name: "g".into(),
            machine: Machine::new("x86_64", "pc"),
            devices: Vec::new(),
            acpi: true,
            efi: false,
            numa_cells: 0,
            settings: Default::default(),
            platform: Default::default(),
        };
        let mut d = Device::new(super::super::topology::Origin(1), Kind::Disk);
        d.name = Some("sda".into());
        t.devices.push(d);
        assert_eq!(sata_names(&t, 2), ["sdb", "sdc"]);
    }
}
