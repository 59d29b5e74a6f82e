//! `virt-pci audit`: every guest of a fleet (files, a directory, or every domain of a
//! libvirt connection) judged by the same analyses as `check`, in parallel, summed up
//! in one row per guest: machine, OS, verdict, worst diagnostic, IO headroom, free
//! hotplug ports, and what a move to q35 would need (the guest converted as `convert
//! --to q35` converts it, and the result judged the same way).

use std::path::PathBuf;

use rayon::prelude::*;
use serde::Serialize;

use crate::context::Choices;
use crate::core::analyses::{Analysis, Context, analyse};
use crate::core::diag::Severity;
use crate::core::io_space::Outcome;
use crate::core::topology::Topology;
use crate::libvirt::{Document, read_topology};

/// One guest to audit: where it comes from, and how to get its XML.
#[derive(Clone, Debug)]
pub enum Input {
    /// A domain XML file.
    File(PathBuf),
    /// XML already in hand (a libvirt domain read over a connection, a generated
    /// guest): its name for people, and the text, or why it could not be read.
    Text(String, Result<String, String>),
}

impl Input {
    /// The name the row shows for where the guest came from.
    pub fn source(&self) -> String {
        match self {
            Input::File(p) => p.display().to_string(),
            Input::Text(name, _) => name.clone(),
        }
    }
}

/// The verdict on one guest, worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The input could not be read (I/O, not XML, not a domain).
    Unreadable,
    /// libvirt would refuse the domain.
    Refused,
    /// libvirt accepts it, but the analyses found errors (the guest cannot drive a
    /// device, the firmware runs out of IO space).
    Errors,
    /// Warnings only.
    Warnings,
    /// Nothing wrong (notes at most).
    Ok,
}

impl Verdict {
    /// The word in the table.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Unreadable => "unreadable",
            Verdict::Refused => "refused",
            Verdict::Errors => "errors",
            Verdict::Warnings => "warnings",
            Verdict::Ok => "ok",
        }
    }
}

/// What moving the guest to q35 would take: `convert --to q35` run on it (as `virt-pci
/// convert` would, spare root ports included, and with `--force` when osinfo-db does
/// not list q35 for the OS, which is said apart), and the converted guest judged as
/// the audit judges every guest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Q35Needs {
    /// The guest already has a PCI Express machine (q35, ARM or RISC-V virt); the
    /// other fields are then empty.
    pub already_pcie: bool,
    /// virtio devices the conversion makes `virtio-transitional` (the guest OS has
    /// only legacy virtio drivers, or nothing is known about them): libvirt puts them
    /// behind a pcie-to-pci-bridge.
    pub virtio_need_transitional: usize,
    /// osinfo-db does not list q35 for the guest OS.
    pub os_not_on_q35: bool,
    /// Nothing is known about the guest OS's drivers (every virtio device is made
    /// transitional, which works with either driver).
    pub os_unknown: bool,
    /// The conversion is refused (something cannot be carried across): why.
    pub refused: Option<Worst>,
    /// IDE disks that become SATA disks under new names (`hda` → `sda`).
    pub sata_renames: usize,
    /// Other models that change (e1000 → e1000e, ich6 → ich9).
    pub models_changed: usize,
    /// pcie-to-pci-bridges of the converted guest (for its conventional PCI devices).
    pub pcie_to_pci_bridges: usize,
    /// The guest's i440fx pci-bridges, which do not carry over.
    pub pci_bridges_removed: usize,
    /// Root ports added so that hot-plug has room (as many as virt-install's 14
    /// leave free, within the IO budget).
    pub spare_root_ports: u32,
    /// The converted guest's verdict.
    pub verdict: Option<Verdict>,
    /// Its worst finding.
    pub worst: Option<Worst>,
    /// IO port space it leaves under the firmware (bytes).
    pub io_headroom: Option<u32>,
}

impl Q35Needs {
    fn already() -> Q35Needs {
        Q35Needs {
            already_pcie: true,
            virtio_need_transitional: 0,
            os_not_on_q35: false,
            os_unknown: false,
            refused: None,
            sata_renames: 0,
            models_changed: 0,
            pcie_to_pci_bridges: 0,
            pci_bridges_removed: 0,
            spare_root_ports: 0,
            verdict: None,
            worst: None,
            io_headroom: None,
        }
    }

    /// What the conversion changes, in a few words (`3 transitional, 1 SATA, 1
    /// bridge`; `nothing` when only the machine type and the placement change).
    pub fn changes(&self) -> String {
        let mut parts = Vec::new();
        if self.virtio_need_transitional > 0 {
            parts.push(format!("{} transitional", self.virtio_need_transitional));
        }
        if self.sata_renames > 0 {
            parts.push(format!("{} SATA", self.sata_renames));
        }
        if self.models_changed > 0 {
            parts.push(format!("{} model", self.models_changed));
        }
        if self.pcie_to_pci_bridges > 0 {
            parts.push(format!(
                "{} bridge{}",
                self.pcie_to_pci_bridges,
                if self.pcie_to_pci_bridges == 1 {
                    ""
                } else {
                    "s"
                }
            ));
        }
        if self.os_not_on_q35 {
            parts.push("OS not on q35".into());
        }
        if self.os_unknown {
            parts.push("OS unknown".into());
        }
        if parts.is_empty() {
            "nothing".into()
        } else {
            parts.join(", ")
        }
    }

    /// What the converted guest then is: `ok`, `errors VP0401`, ...
    pub fn outcome(&self) -> String {
        match (&self.refused, self.verdict, &self.worst) {
            (Some(w), _, _) => format!("cannot: {}", w.code),
            (None, Some(Verdict::Ok) | None, _) => "ok".into(),
            (None, Some(v), Some(w)) => format!("{} {}", v.name(), w.code),
            (None, Some(v), None) => v.name().into(),
        }
    }

    /// The table's cell: `-` already on q35, else the changes and the outcome.
    pub fn summary(&self) -> String {
        if self.already_pcie {
            return "-".into();
        }
        if self.refused.is_some() {
            return self.outcome();
        }
        format!("{} → {}", self.changes(), self.outcome())
    }
}

/// The what-if of a move to q35: the guest converted as `virt-pci convert --to q35`
/// converts it, and the result judged. `doc` is read for secure boot, as `convert`
/// reads it.
pub fn q35_needs(t: &Topology, a: &Analysis, ctx: &Context, doc: &Document) -> Q35Needs {
    use crate::core::convert::{Options, To, convert};
    use crate::core::edit::Op;
    use crate::core::pci::PciModel;
    if t.machine.class.is_pcie() {
        return Q35Needs::already();
    }
    let drivers = a.os.as_ref().and_then(|o| o.drivers());
    let os_not_on_q35 =
        a.os.as_ref()
            .and_then(|o| o.info.as_ref())
            .is_some_and(|(i, _)| !i.q35);
    let mut q = Q35Needs {
        already_pcie: false,
        os_not_on_q35,
        os_unknown: drivers.is_none(),
        ..Q35Needs::already()
    };
    let opts = Options {
        to: To::Q35,
        spare_ports: None,
        // An OS osinfo-db does not list on q35 is said apart (`os_not_on_q35`); the
        // what-if is still worth knowing.
        force: true,
        secure_boot: crate::libvirt::meta::secure_boot(doc),
    };
    let c = match convert(t, ctx, &opts) {
        Ok(c) => c,
        Err(d) => {
            q.refused = Some(Worst::of(&d));
            return q;
        }
    };
    for op in c.changes.iter().flat_map(|ch| &ch.ops) {
        match op {
            Op::SetModel { model, .. } if model.as_deref() == Some("virtio-transitional") => {
                q.virtio_need_transitional += 1
            }
            Op::SetModel { .. } => q.models_changed += 1,
            Op::SetDiskTarget { bus, .. } if bus == "sata" => q.sata_renames += 1,
            _ => {}
        }
    }
    let count = |t: &Topology, m: PciModel| {
        t.devices
            .iter()
            .filter(|d| d.pci.as_ref().is_some_and(|p| p.model == m))
            .count()
    };
    q.pcie_to_pci_bridges = count(&c.result, PciModel::PcieToPciBridge);
    q.pci_bridges_removed = count(t, PciModel::PciBridge);
    q.spare_root_ports = c.spare.as_ref().map_or(0, |s| s.added);
    let after = analyse(&c.result, ctx);
    let j = judge(&c.result, &after);
    q.verdict = Some(j.verdict);
    q.worst = j.worst;
    q.io_headroom = j.io_headroom;
    q
}

/// The worst diagnostic of a guest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Worst {
    /// Its code (`VP0401`).
    pub code: &'static str,
    /// `error`, `warning` or `info`.
    pub severity: &'static str,
    /// The message.
    pub message: String,
}

impl Worst {
    fn of(d: &crate::core::diag::Diagnostic) -> Worst {
        Worst {
            code: d.code.as_str(),
            severity: d.severity.name(),
            message: d.message.clone(),
        }
    }
}

/// One row of the audit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The domain's name (empty when unreadable).
    pub guest: String,
    /// Where it came from (file, or the connection's domain name).
    pub source: String,
    /// Machine type (`pc-q35-7.2`).
    pub machine: String,
    /// Guest OS short id, when known.
    pub os: Option<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// Errors, warnings and notes found.
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
    /// The worst finding.
    pub worst: Option<Worst>,
    /// IO port space left under the firmware (bytes), when the domain is analysed on
    /// a machine with x86 IO space.
    pub io_headroom: Option<u32>,
    /// Empty hotplug ports that can still take a device (those whose padding OVMF
    /// stripped cannot), as `--headroom` counts them; `None` on a conventional PCI
    /// machine (i440fx), which hot-plugs into free slots instead.
    pub free_hotplug_ports: Option<u32>,
    /// What a move to q35 would need.
    pub q35: Option<Q35Needs>,
    /// Why the input could not be read.
    pub error: Option<String>,
}

impl Row {
    fn unreadable(source: String, error: String) -> Row {
        Row {
            guest: String::new(),
            source,
            machine: String::new(),
            os: None,
            verdict: Verdict::Unreadable,
            errors: 0,
            warnings: 0,
            worst: None,
            io_headroom: None,
            free_hotplug_ports: None,
            q35: None,
            error: Some(error),
        }
    }
}

/// Why one input of an audit cannot be read; the message names the input.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("{0}: error: cannot read: {1}")]
    Io(String, std::io::Error),
    /// The reason the input was not there (a libvirt domain that could not be read).
    #[error("{0}")]
    Given(String),
    #[error("{display}:{}:{}: error: {}", .error.pos.line, .error.pos.column, .error.message)]
    Xml {
        display: String,
        error: crate::libvirt::xml::XmlError,
    },
    #[error("{display}:{}:{}: error: {}", .error.pos.line, .error.pos.column, .error.message)]
    Domain {
        display: String,
        error: crate::libvirt::DomainError,
    },
}

/// Reads and parses one input, as `check` does.
fn read(input: &Input) -> Result<(Document, Topology), ReadError> {
    let (display, bytes) = match input {
        Input::File(p) => {
            let display = p.display().to_string();
            let bytes = std::fs::read(p).map_err(|e| ReadError::Io(display.clone(), e))?;
            (display, bytes)
        }
        Input::Text(name, text) => (
            name.clone(),
            text.clone().map_err(ReadError::Given)?.into_bytes(),
        ),
    };
    let doc = Document::parse_bytes(&bytes).map_err(|error| ReadError::Xml {
        display: display.clone(),
        error,
    })?;
    let mut t = read_topology(&doc).map_err(|error| ReadError::Domain { display, error })?;
    // The libvirt and QEMU this run predicts, as for every other command.
    t.platform = crate::cli::target().platform;
    Ok((doc, t))
}

/// Audits one guest: `check`'s rules (every libvirt refusal), then, once libvirt
/// accepts it, the live analyses' findings.
pub fn audit_one(input: &Input, choices: &Choices) -> Row {
    let source = input.source();
    let (doc, t) = match read(input) {
        Ok(x) => x,
        Err(e) => return Row::unreadable(source, e.to_string()),
    };
    let ctx = match crate::context::context(&doc, choices) {
        Ok(c) => c,
        Err(e) => {
            let message = format!("{source}: error: {e}");
            return Row::unreadable(source, message);
        }
    };
    let a = analyse(&t, &ctx);
    let j = judge(&t, &a);
    let refused = j.verdict == Verdict::Refused;
    Row {
        guest: t.name.clone(),
        source,
        machine: t.machine.machine_type.clone(),
        os: a.os.as_ref().map(|o| {
            o.info
                .as_ref()
                .map_or(o.id.clone(), |(i, _)| i.short_id().to_string())
        }),
        verdict: j.verdict,
        errors: j.errors,
        warnings: j.warnings,
        worst: j.worst,
        io_headroom: j.io_headroom,
        free_hotplug_ports: j.free_hotplug_ports,
        q35: (!refused).then(|| q35_needs(&t, &a, &ctx, &doc)),
        error: None,
    }
}

/// What the audit says of one analysed guest.
struct Judgement {
    verdict: Verdict,
    errors: usize,
    warnings: usize,
    worst: Option<Worst>,
    io_headroom: Option<u32>,
    free_hotplug_ports: Option<u32>,
}

/// `check`'s rules (every libvirt refusal), then, once libvirt accepts the guest,
/// the live analyses' findings; for the guest as read and for its q35 what-if.
fn judge(t: &Topology, a: &Analysis) -> Judgement {
    // check_all lists every refusal by re-running the assigner until it accepts; on a
    // domain the assigner accepted at once it has nothing to say, so it runs only on
    // refused domains (half the work on a healthy fleet).
    let refusals = if a.refused.is_some() {
        crate::core::assign::check_all(t)
    } else {
        Vec::new()
    };
    let refused = a.refused.is_some() || refusals.iter().any(|d| d.severity == Severity::Error);
    let mut found: Vec<&crate::core::diag::Diagnostic> = refusals.iter().collect();
    if !refused {
        found.extend(a.findings.iter().map(|f| &f.diag));
    }
    if let Some(d) = &a.refused
        && found.is_empty()
    {
        found.push(d);
    }
    let count = |s: Severity| found.iter().filter(|d| d.severity == s).count();
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    let verdict = match () {
        _ if refused => Verdict::Refused,
        _ if errors > 0 => Verdict::Errors,
        _ if warnings > 0 => Verdict::Warnings,
        _ => Verdict::Ok,
    };
    let worst = found
        .iter()
        .min_by_key(|d| d.severity)
        .map(|d| Worst::of(d));
    let modelled = !refused && a.io.outcome != Outcome::NotModelled;
    // The rule of VP0504 (--headroom): an empty hotplug port counts unless OVMF
    // stripped its padding.
    let free_hotplug_ports = (!refused && t.machine.class.is_pcie()).then(|| {
        a.io.windows
            .iter()
            .filter(|w| w.empty_port && w.hotplug && !w.padding_stripped)
            .count() as u32
    });
    Judgement {
        verdict,
        errors,
        warnings,
        worst,
        io_headroom: modelled.then(|| a.io.budget.saturating_sub(a.io.used)),
        free_hotplug_ports,
    }
}

/// Audits every input in parallel, calling `tick` once per finished guest; the rows
/// keep the inputs' order.
pub fn audit_all(inputs: &[Input], choices: &Choices, tick: &(dyn Fn() + Sync)) -> Vec<Row> {
    inputs
        .par_iter()
        .map(|i| {
            let r = audit_one(i, choices);
            tick();
            r
        })
        .collect()
}

/// The inputs named on the command line: a directory stands for its `*.xml` files
/// (sorted), anything else for itself (a missing file becomes an unreadable row).
pub fn inputs_from_paths(paths: &[PathBuf]) -> Vec<Input> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = match std::fs::read_dir(p) {
                Ok(rd) => rd
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|f| f.extension().is_some_and(|e| e == "xml") && f.is_file())
                    .collect(),
                Err(e) => {
                    out.push(Input::Text(
                        p.display().to_string(),
                        Err(format!(
                            "{}: error: cannot read directory: {e}",
                            p.display()
                        )),
                    ));
                    continue;
                }
            };
            files.sort();
            out.extend(files.into_iter().map(Input::File));
        } else {
            out.push(Input::File(p.clone()));
        }
    }
    out
}

/// The exit status of an audit, as `check`'s: 2 when any guest is unreadable, else 1
/// when any has errors (refused included), else 0.
pub fn exit_status(rows: &[Row]) -> i32 {
    if rows.iter().any(|r| r.verdict == Verdict::Unreadable) {
        crate::cli::EXIT_BAD_INPUT
    } else if rows
        .iter()
        .any(|r| matches!(r.verdict, Verdict::Refused | Verdict::Errors))
    {
        crate::cli::EXIT_REFUSED
    } else {
        crate::cli::EXIT_OK
    }
}
