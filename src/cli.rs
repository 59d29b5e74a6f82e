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
}

/// Options of the interactive designer.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TuiArgs {
    /// Guest OS (libosinfo short id or URI) for the virtio driver checks; default: the
    /// domain's libosinfo metadata.
    #[arg(long)]
    pub os: Option<String>,
    /// Firmware for the IO analysis: seabios, ovmf-2022 or ovmf; default: the domain's.
    #[arg(long)]
    pub firmware: Option<String>,
    /// Monochrome (also when NO_COLOR is set).
    #[arg(long)]
    pub mono: bool,
    /// ASCII connectors.
    #[arg(long)]
    pub ascii: bool,
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
    /// Report the problems libvirt would refuse the domain for.
    Check {
        /// Domain XML files (`-` for standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
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
    let topology = read_topology(&doc).map_err(|e| {
        Failure::bad_input(format!(
            "{display}:{}:{}: error: {}",
            e.pos.line, e.pos.column, e.message
        ))
    })?;
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
    let command = args.command.unwrap_or(Command::Edit {
        file: args.file,
        tui: args.tui,
    });
    let result = match command {
        Command::Edit { file, tui } => Ok(run_tui(file.as_deref(), &tui)),
        Command::Tree { file, json, ascii } => cmd_tree(&file, json, ascii),
        Command::Assign {
            file,
            output,
            in_place,
        } => cmd_assign(&file, output.as_deref(), in_place),
        Command::Check { files, json } => cmd_check(&files, json),
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
    if let Some(fw) = &a.firmware
        && crate::core::ioport::firmware(fw).is_none()
    {
        eprintln!("error: unknown firmware '{fw}': use seabios, ovmf-2022 or ovmf");
        return EXIT_BAD_INPUT;
    }
    let opts = crate::tui::Options {
        ascii: a.ascii,
        mono: a.mono,
        os: a.os.clone(),
        firmware: a.firmware.clone(),
    };
    crate::tui::run(file, &opts)
}

fn cmd_tree(file: &Path, json: bool, ascii: bool) -> Result<i32, Failure> {
    let loaded = load(file)?;
    let text = if json {
        crate::render::tree::render_json(&loaded.topology)
    } else {
        crate::render::tree::render_text(&loaded.topology, ascii)
    };
    print(&text)?;
    Ok(EXIT_OK)
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

/// Runs libvirt's checks on every file. Exit 2 when any file is unreadable, else 1
/// when any has errors, else 0.
fn cmd_check(files: &[PathBuf], json: bool) -> Result<i32, Failure> {
    let mut worst = EXIT_OK;
    let mut reports = Vec::new();
    let mut text = String::new();
    for file in files {
        let loaded = match load(file) {
            Ok(l) => l,
            Err(f) => {
                eprintln!("{}", f.message);
                worst = EXIT_BAD_INPUT;
                reports.push(serde_json::json!({"file": file.display().to_string(), "readable": false, "error": f.message}));
                continue;
            }
        };
        let diags = crate::core::assign::check_all(&loaded.topology);
        if diags
            .iter()
            .any(|d| d.severity == crate::core::diag::Severity::Error)
            && worst == EXIT_OK
        {
            worst = EXIT_REFUSED;
        }
        if diags.is_empty() {
            text.push_str(&format!("{}: ok\n", loaded.path));
        }
        for d in &diags {
            text.push_str(&format_diagnostic(&loaded.path, &loaded.topology, d));
            text.push('\n');
        }
        let items: Vec<serde_json::Value> = diags
            .iter()
            .map(|d| {
                let dev = d.device.and_then(|i| loaded.topology.devices.get(i));
                serde_json::json!({
                    "code": d.code,
                    "severity": d.severity.name(),
                    "message": d.message,
                    "hint": d.hint,
                    "line": dev.map(|x| x.line),
                    "element": dev.map(|x| x.kind.tag()),
                })
            })
            .collect();
        reports
            .push(serde_json::json!({"file": loaded.path, "readable": true, "diagnostics": items}));
    }
    if json {
        let out = serde_json::to_string_pretty(&serde_json::json!({ "files": reports }))
            .unwrap_or_default();
        print(&format!("{out}\n"))?;
    } else {
        print(&text)?;
    }
    Ok(worst)
}
