//! The command-line front end: argument parsing, reading inputs, exit codes. Thin by
//! design: every decision is made by the core.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::core::topology::Topology;
use crate::libvirt::{Document, read_topology};

/// Exit status: success, or a clean check.
pub const EXIT_OK: i32 = 0;
/// Exit status: libvirt would refuse the domain, or `check` found errors.
pub const EXIT_REFUSED: i32 = 1;
/// Exit status: the input could not be read (I/O, not XML, not a domain) or bad usage.
pub const EXIT_BAD_INPUT: i32 = 2;

/// Design and inspect the PCI / PCI Express topology of libvirt + QEMU guests.
#[derive(Parser, Debug)]
#[command(name = "virt-pci", version, about, long_about = None)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Without a subcommand: the domain XML file to open in the designer (`-` for
    /// standard input); without a file, a bundled example.
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub tui: TuiArgs,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// Which libvirt and QEMU to predict (every command).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TargetArgs {
    /// libvirt release to predict: 9.0 (Debian 12) or 11.3 (Debian 13); default:
    /// $VIRT_PCI_LIBVIRT, else the installed one (virsh --version), else the newest.
    #[arg(long, global = true, value_name = "VERSION", value_parser = crate::platform::parse_libvirt)]
    pub libvirt: Option<crate::core::versions::Libvirt>,
    /// QEMU release to predict: 7.2 (Debian 12) or 10.0 (Debian 13); default:
    /// $VIRT_PCI_QEMU, else the installed one (qemu-system-x86_64 --version), else the newest.
    #[arg(long, global = true, value_name = "VERSION", value_parser = crate::platform::parse_qemu)]
    pub qemu: Option<crate::core::versions::Qemu>,
}

/// The target chosen for this run (set once by [`run`]; [`load`] gives it to every
/// topology it reads).
static TARGET: std::sync::OnceLock<crate::platform::Target> = std::sync::OnceLock::new();

/// The target of this run: what [`run`] chose, else the newest known pair.
pub fn target() -> crate::platform::Target {
    TARGET
        .get()
        .cloned()
        .unwrap_or_else(|| crate::platform::Target {
            platform: crate::core::versions::Platform::NEWEST,
            libvirt_why: crate::platform::Why::Newest("not chosen".into()),
            qemu_why: crate::platform::Why::Newest("not chosen".into()),
        })
}

/// `{"target": ..., rest of the object}` for a JSON text the renderers made.
fn with_target_json(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(m)) => {
            let mut out = serde_json::Map::new();
            out.insert("target".into(), target().json());
            out.extend(m);
            let mut s =
                serde_json::to_string_pretty(&serde_json::Value::Object(out)).unwrap_or_default();
            s.push('\n');
            s
        }
        _ => text.to_string(),
    }
}

/// Options of the interactive designer.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TuiArgs {
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    /// Monochrome (also when NO_COLOR is set).
    #[arg(long)]
    pub mono: bool,
    /// ASCII connectors.
    #[arg(long)]
    pub ascii: bool,
}

/// What the analyses assume about the guest (virtio drivers, firmware, headroom).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct AnalysisArgs {
    /// Guest OS (libosinfo short id or URI, e.g. centos6.10); default: the domain's
    /// libosinfo metadata.
    #[arg(long, value_name = "ID")]
    pub os: Option<String>,
    /// Firmware for the IO analysis: seabios, ovmf-2022 or ovmf; default: the domain's
    /// (`<os firmware='efi'>` or a pflash loader means OVMF 2022.11).
    #[arg(long, value_name = "FW")]
    pub firmware: Option<String>,
    /// The guest's virtio drivers when osinfo-db does not know them: legacy, modern,
    /// both or none.
    #[arg(long, value_name = "DRIVERS")]
    pub guest_virtio: Option<String>,
    /// Warn when fewer than N empty hotplug ports are left.
    #[arg(long, value_name = "N")]
    pub headroom: Option<u32>,
}

impl AnalysisArgs {
    fn choices(&self) -> crate::analysis::Choices {
        crate::analysis::Choices {
            os: self.os.clone(),
            firmware: self.firmware.clone(),
            guest_virtio: self.guest_virtio.clone(),
            headroom: self.headroom,
        }
    }
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Open the interactive designer (the same as `virt-pci FILE`).
    Edit {
        /// Domain XML file, or `-` for standard input; without one, a bundled example.
        file: Option<PathBuf>,
        #[command(flatten)]
        tui: TuiArgs,
    },
    /// Print the PCI topology as a tree (like `lspci -tv`, in libvirt's terms).
    Tree {
        /// Domain XML file, or `-` for standard input.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Use ASCII connectors instead of box-drawing characters.
        #[arg(long)]
        ascii: bool,
        /// Show the guest as libvirt defines it: every address filled in and the
        /// controllers and devices libvirt adds.
        #[arg(long)]
        defined: bool,
        #[command(flatten)]
        analysis: AnalysisArgs,
    },
    /// Fill in every PCI address and controller the way libvirt does when it defines the guest.
    Assign {
        /// Domain XML file, or `-` for standard input.
        file: PathBuf,
        /// Write the result here instead of standard output.
        #[arg(short, long, conflicts_with = "in_place")]
        output: Option<PathBuf>,
        /// Rewrite FILE atomically, keeping the original as FILE.bak.
        #[arg(long)]
        in_place: bool,
    },
    /// Print the IO port plan: the firmware's budget, every bridge's IO window and
    /// why, every PCI function's IO BARs, and what loses IO when space runs out.
    /// Exit status 1 when a device loses IO or the guest does not boot.
    Io {
        /// Domain XML file, or `-` for standard input.
        file: PathBuf,
        /// Firmware: seabios, ovmf-2022 or ovmf; default: the domain's.
        #[arg(long, value_name = "FW")]
        firmware: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Report what libvirt would refuse, which virtio devices the guest cannot drive,
    /// and whether the firmware finds enough IO port space.
    Check {
        /// Domain XML files (`-` for standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        analysis: AnalysisArgs,
    },
}

/// A failure that ends the command with an exit status and a message for stderr.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    fn bad_input(message: String) -> Failure {
        Failure {
            code: EXIT_BAD_INPUT,
            message,
        }
    }
}

/// A domain read from a file: its display name, the document and the model.
pub struct Loaded {
    pub path: String,
    pub doc: Document,
    pub topology: Topology,
}

/// Reads and parses `path` (`-` = stdin). Errors carry `file:line:col: error: ...`.
pub fn load(path: &Path) -> Result<Loaded, Failure> {
    let (display, bytes) = if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| Failure::bad_input(format!("<stdin>: error: cannot read: {e}")))?;
        ("<stdin>".to_string(), buf)
    } else {
        let display = path.display().to_string();
        let bytes = std::fs::read(path)
            .map_err(|e| Failure::bad_input(format!("{display}: error: cannot read: {e}")))?;
        (display, bytes)
    };
    let doc = Document::parse_bytes(&bytes).map_err(|e| {
        Failure::bad_input(format!(
            "{display}:{}:{}: error: {}",
            e.pos.line, e.pos.column, e.message
        ))
    })?;
    let mut topology = read_topology(&doc).map_err(|e| {
        Failure::bad_input(format!(
            "{display}:{}:{}: error: {}",
            e.pos.line, e.pos.column, e.message
        ))
    })?;
    topology.platform = target().platform;
    Ok(Loaded {
        path: display,
        doc,
        topology,
    })
}

/// Writes `text` to stdout, treating a closed pipe as success.
pub fn print(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure {
            code: EXIT_BAD_INPUT,
            message: format!("error: cannot write output: {e}"),
        }),
    }
}

/// Writes `text` to `path` atomically: a temporary file in the same directory,
/// flushed, then renamed over the target. With `backup`, the old file is kept as
/// `path.bak` first.
pub fn write_atomic(path: &Path, text: &str, backup: bool) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.virt-pci.{}.tmp", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(&tmp, meta.permissions())?;
    }
    if backup && path.exists() {
        let mut bak = path.as_os_str().to_owned();
        bak.push(".bak");
        std::fs::copy(path, PathBuf::from(bak))?;
    }
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Runs the parsed command and returns the exit status.
pub fn run(args: Args) -> i32 {
    match crate::platform::choose(args.target.libvirt, args.target.qemu) {
        Ok(t) => {
            let _ = TARGET.set(t);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    }
    let command = args.command.unwrap_or(Command::Edit {
        file: args.file,
        tui: args.tui,
    });
    let result = match command {
        Command::Edit { file, tui } => Ok(run_tui(file.as_deref(), &tui)),
        Command::Tree {
            file,
            json,
            ascii,
            defined,
            analysis,
        } => cmd_tree(&file, json, ascii, defined, &analysis),
        Command::Assign {
            file,
            output,
            in_place,
        } => cmd_assign(&file, output.as_deref(), in_place),
        Command::Check {
            files,
            json,
            analysis,
        } => cmd_check(&files, json, &analysis),
        Command::Io {
            file,
            firmware,
            json,
        } => cmd_io(&file, firmware, json),
    };
    match result {
        Ok(code) => code,
        Err(f) => {
            eprintln!("{}", f.message);
            f.code
        }
    }
}

fn run_tui(file: Option<&Path>, a: &TuiArgs) -> i32 {
    let choices = a.analysis.choices();
    // Bad option values stop here, before the terminal is taken over.
    if let Err(e) = crate::analysis::check_choices(&choices) {
        eprintln!("error: {e}");
        return EXIT_BAD_INPUT;
    }
    let opts = crate::tui::Options {
        ascii: a.ascii,
        mono: a.mono,
        analysis: choices,
    };
    crate::tui::run(file, &opts)
}

fn cmd_tree(
    file: &Path,
    json: bool,
    ascii: bool,
    defined: bool,
    args: &AnalysisArgs,
) -> Result<i32, Failure> {
    use crate::render::tree::{render_json_analysed, render_text_analysed};
    let loaded = load(file)?;
    let ctx = crate::analysis::context(&loaded.doc, &args.choices())
        .map_err(|e| Failure::bad_input(format!("{}: error: {e}", loaded.path)))?;
    let analysis = crate::core::live::analyse(&loaded.topology, &ctx);
    // The defined guest's analysis is the same one: its indexes are the input's, plus
    // what libvirt adds at the end.
    let shown = if defined {
        &analysis.defined
    } else {
        &loaded.topology
    };
    let text = if json {
        with_target_json(&render_json_analysed(shown, &analysis))
    } else {
        format!(
            "target: {}\n{}",
            target().describe(),
            render_text_analysed(shown, ascii, &analysis)
        )
    };
    print(&text)?;
    Ok(EXIT_OK)
}

fn cmd_io(file: &Path, firmware: Option<String>, json: bool) -> Result<i32, Failure> {
    use crate::render::io::{loses_io, render_json, render_text};
    let choices = crate::analysis::Choices {
        firmware,
        ..crate::analysis::Choices::default()
    };
    crate::analysis::check_choices(&choices)
        .map_err(|e| Failure::bad_input(format!("error: {e}")))?;
    let loaded = load(file)?;
    let ctx = crate::analysis::context(&loaded.doc, &choices)
        .map_err(|e| Failure::bad_input(format!("{}: error: {e}", loaded.path)))?;
    let analysis = crate::core::live::analyse(&loaded.topology, &ctx);
    let text = if json {
        with_target_json(&render_json(&loaded.path, &analysis))
    } else {
        format!(
            "target: {}\n{}",
            target().describe(),
            render_text(&loaded.path, &analysis)
        )
    };
    print(&text)?;
    Ok(if analysis.refused.is_some() || loses_io(&analysis.io) {
        EXIT_REFUSED
    } else {
        EXIT_OK
    })
}

/// Formats a diagnostic for stderr: `FILE:LINE: error [CODE]: message` plus the hint.
pub fn format_diagnostic(
    path: &str,
    topology: &Topology,
    d: &crate::core::diag::Diagnostic,
) -> String {
    let line = d
        .device
        .and_then(|i| topology.devices.get(i))
        .map(|dev| dev.line);
    let mut s = match line {
        Some(l) => format!(
            "{path}:{l}: {} [{}]: {}",
            d.severity.name(),
            d.code,
            d.message
        ),
        None => format!("{path}: {} [{}]: {}", d.severity.name(), d.code, d.message),
    };
    if let Some(h) = &d.hint {
        s.push_str(&format!("\n  hint: {h}"));
    }
    s
}

fn cmd_assign(file: &Path, output: Option<&Path>, in_place: bool) -> Result<i32, Failure> {
    let mut loaded = load(file)?;
    let plan = match crate::core::assign::assign(&loaded.topology) {
        Ok(p) => p,
        Err(d) => {
            eprintln!("{}", format_diagnostic(&loaded.path, &loaded.topology, &d));
            return Ok(EXIT_REFUSED);
        }
    };
    crate::libvirt::apply_plan(&mut loaded.doc, &loaded.topology, &plan);
    let text = loaded.doc.write();
    let dest = if in_place {
        if file == Path::new("-") {
            return Err(Failure::bad_input(
                "error: --in-place needs a file, not standard input".into(),
            ));
        }
        Some((file, true))
    } else {
        output.filter(|o| *o != Path::new("-")).map(|o| (o, false))
    };
    match dest {
        Some((path, backup)) => write_atomic(path, &text, backup).map_err(|e| Failure {
            code: EXIT_BAD_INPUT,
            message: format!("{}: error: cannot write: {e}", path.display()),
        })?,
        None => print(&text)?,
    }
    Ok(EXIT_OK)
}

/// One diagnostic for `check`'s JSON.
fn diagnostic_json(
    topology: &Topology,
    d: &crate::core::diag::Diagnostic,
    fix: Option<&crate::core::live::Fix>,
) -> serde_json::Value {
    let dev = d.device.and_then(|i| topology.devices.get(i));
    serde_json::json!({
        "code": d.code,
        "severity": d.severity.name(),
        "message": d.message,
        "hint": d.hint,
        "line": dev.map(|x| x.line),
        "element": dev.map(|x| x.kind.tag()),
        "fix": fix.map(|f| f.summary.clone()),
    })
}

/// What the analyses assumed, in a few words: `guest OS CentOS 6.10 (centos6.10) from
/// the domain, firmware SeaBIOS 1.16`.
fn assumptions(a: &crate::core::live::Analysis) -> String {
    use crate::core::guest_os::IdSource;
    let os = match &a.os {
        Some(os) => {
            let from = match os.id_source {
                IdSource::Domain => "from the domain",
                IdSource::User => "as given",
            };
            format!("guest OS {} {from}", os.label())
        }
        None => "guest OS unknown (give --os to check its virtio drivers)".to_string(),
    };
    if a.io.outcome == crate::core::ioport::Outcome::NotModelled {
        format!("{os}; no x86 IO port space on this machine")
    } else {
        format!("{os}, firmware {}", a.firmware.name)
    }
}

/// `ok`, or `2 errors, 1 warning`.
fn verdict(severities: impl Iterator<Item = crate::core::diag::Severity>) -> String {
    use crate::core::diag::Severity;
    let mut n = [0usize; 3];
    for s in severities {
        n[match s {
            Severity::Error => 0,
            Severity::Warning => 1,
            Severity::Info => 2,
        }] += 1;
    }
    let parts: Vec<String> = n
        .iter()
        .zip(["error", "warning", "note"])
        .filter(|(c, _)| **c > 0)
        .map(|(c, w)| format!("{c} {w}{}", if *c == 1 { "" } else { "s" }))
        .collect();
    if parts.is_empty() {
        "ok".into()
    } else {
        parts.join(", ")
    }
}

/// Runs every check on every file: libvirt's rules, then (when libvirt accepts the
/// domain) the guest OS's virtio drivers and the IO port space. Exit 2 when any file
/// is unreadable, else 1 when any has errors, else 0.
fn cmd_check(files: &[PathBuf], json: bool, args: &AnalysisArgs) -> Result<i32, Failure> {
    use crate::core::diag::Severity;
    let choices = args.choices();
    let mut worst = EXIT_OK;
    let mut reports = Vec::new();
    let mut text = String::new();
    for file in files {
        let loaded = match load(file).and_then(|l| {
            let ctx = crate::analysis::context(&l.doc, &choices)
                .map_err(|e| Failure::bad_input(format!("{}: error: {e}", l.path)))?;
            Ok((l, ctx))
        }) {
            Ok(l) => l,
            Err(f) => {
                eprintln!("{}", f.message);
                worst = EXIT_BAD_INPUT;
                reports.push(serde_json::json!({"file": file.display().to_string(), "readable": false, "error": f.message}));
                continue;
            }
        };
        let (loaded, ctx) = loaded;
        let t = &loaded.topology;
        let mut found: Vec<(
            crate::core::diag::Diagnostic,
            Option<crate::core::live::Fix>,
        )> = crate::core::assign::check_all(t)
            .into_iter()
            .map(|d| (d, None))
            .collect();
        let analysis = crate::core::live::analyse(t, &ctx);
        // On a domain libvirt refuses, the analyses would judge a guest that never
        // exists; they run once it is accepted.
        let analysed =
            analysis.refused.is_none() && !found.iter().any(|(d, _)| d.severity == Severity::Error);
        if analysed {
            found.extend(
                analysis
                    .findings
                    .iter()
                    .map(|f| (f.diag.clone(), f.fix.clone())),
            );
        }
        let errors = found
            .iter()
            .filter(|(d, _)| d.severity == Severity::Error)
            .count();
        if errors > 0 && worst == EXIT_OK {
            worst = EXIT_REFUSED;
        }
        for (d, fix) in &found {
            text.push_str(&format_diagnostic(&loaded.path, t, d));
            if let Some(f) = fix {
                text.push_str(&format!("\n  fix: {}", f.summary));
            }
            text.push('\n');
        }
        let verdict = verdict(found.iter().map(|(d, _)| d.severity));
        let scope = if analysed {
            assumptions(&analysis)
        } else {
            "virtio driver and IO checks skipped until libvirt accepts the domain".to_string()
        };
        text.push_str(&format!("{}: {verdict} ({scope})\n", loaded.path));
        let items: Vec<serde_json::Value> = found
            .iter()
            .map(|(d, fix)| diagnostic_json(t, d, fix.as_ref()))
            .collect();
        reports.push(serde_json::json!({
            "file": loaded.path,
            "readable": true,
            "accepted_by_libvirt": analysis.refused.is_none() && analysed,
            "analysed": analysed,
            "guest_os": analysis.os.as_ref().map(|o| serde_json::json!({
                "id": o.id,
                "name": o.info.as_ref().map(|(i, _)| i.name.clone()),
                "drivers": o.drivers().map(|d| d.name()),
            })),
            "firmware": analysis.firmware.id,
            "io_outcome": analysed.then(|| analysis.io.outcome.name()),
            "diagnostics": items,
        }));
    }
    if json {
        let out = serde_json::to_string_pretty(
            &serde_json::json!({ "target": target().json(), "files": reports }),
        )
        .unwrap_or_default();
        print(&format!("{out}\n"))?;
    } else {
        print(&format!("target: {}\n{text}", target().describe()))?;
    }
    Ok(worst)
}
