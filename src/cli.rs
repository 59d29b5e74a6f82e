//! The command-line front end: argument parsing, reading inputs, exit codes. Thin by
//! design: every decision is made by the core.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

mod values;

use crate::core::topology::Topology;
use crate::libvirt::{Document, read_topology};

pub use crate::host::files::{EXIT_BAD_INPUT, EXIT_OK, EXIT_REFUSED};

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
    /// Read domains from this libvirt connection (as `virsh -c URI`): FILE then names
    /// a domain, whose persistent (next-boot) definition is read.
    #[arg(short = 'c', long = "connect", value_name = "URI", global = true)]
    pub connect: Option<String>,
    /// FILE names a libvirt domain on the default connection (LIBVIRT_DEFAULT_URI,
    /// else libvirt's default, as virsh chooses); implied by -c.
    #[arg(long, global = true)]
    pub domain: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// The command line with connection options written before the subcommand
/// (`virt-pci -c URI tree DOMAIN`) moved after it, where clap takes them (an option
/// before a subcommand would make the subcommand's name a FILE). Anything else is
/// left as it is.
pub fn connection_options_last(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory as _;
    let cmd = Args::command();
    let is_sub = |a: &std::ffi::OsString| {
        let a = a.to_string_lossy();
        cmd.get_subcommands()
            .any(|s| s.get_name() == a || s.get_all_aliases().any(|x| x == a))
    };
    let mut moved = Vec::new();
    let mut i = 1;
    while i < args.len() {
        let a = args[i].to_string_lossy();
        if a == "-c" || a == "--connect" {
            moved.extend(args.get(i..i + 2).unwrap_or(&args[i..]).iter().cloned());
            i += 2;
        } else if a.starts_with("--connect=")
            || a == "--domain"
            || (a.starts_with("-c") && a.len() > 2)
        {
            moved.push(args[i].clone());
            i += 1;
        } else {
            break;
        }
    }
    if moved.is_empty() || i >= args.len() || !is_sub(&args[i]) {
        return args;
    }
    let mut out = vec![args[0].clone(), args[i].clone()];
    out.extend(moved);
    out.extend(args[i + 1..].iter().cloned());
    out
}

/// The libvirt connection chosen with `-c` / `--domain`, set once before the command
/// runs, so that every command's loader reads domains from it instead of files.
static CONNECTION: std::sync::OnceLock<crate::host::libvirt::Connection> =
    std::sync::OnceLock::new();

/// The connection, when the command line chose one.
pub fn connection() -> Option<&'static crate::host::libvirt::Connection> {
    CONNECTION.get()
}

/// Reads domain `name` from `conn`: its persistent definition, with a note on stderr
/// when it runs (its live configuration stays until it is shut down).
fn load_domain(
    conn: &crate::host::libvirt::Connection,
    name: &str,
) -> Result<(String, Vec<u8>), Failure> {
    use crate::host::libvirt::State;
    let display = format!("{}:{name}", conn.describe());
    let xml = conn
        .inactive_xml(name)
        .map_err(|e| Failure::bad_input(format!("{display}: error: {e}")))?;
    if let Ok(State::Running) = conn.state(name) {
        eprintln!(
            "note: domain '{name}' is running: this is its next-boot definition; the running guest keeps its live configuration (virsh dumpxml {name}) until it is shut down, and changes take effect at the next boot"
        );
    }
    Ok((display, xml.into_bytes()))
}

/// Which libvirt and QEMU to predict (every command).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TargetArgs {
    /// libvirt release to predict: 9.0 (Debian 12) or 11.3 (Debian 13); default:
    /// $VIRT_PCI_LIBVIRT, else the installed one (virsh --version), else the newest.
    #[arg(long, global = true, value_name = "VERSION", value_parser = crate::host::platform::parse_libvirt)]
    pub libvirt: Option<crate::core::versions::Libvirt>,
    /// QEMU release to predict: 7.2 (Debian 12) or 10.0 (Debian 13); default:
    /// $VIRT_PCI_QEMU, else the installed one (qemu-system-x86_64 --version), else the newest.
    #[arg(long, global = true, value_name = "VERSION", value_parser = crate::host::platform::parse_qemu)]
    pub qemu: Option<crate::core::versions::Qemu>,
}

/// The target chosen for this run (set once by [`run`]; [`load`] gives it to every
/// topology it reads).
static TARGET: std::sync::OnceLock<crate::host::platform::Target> = std::sync::OnceLock::new();

/// The target of this run: what [`run`] chose, else the newest known pair.
pub fn target() -> crate::host::platform::Target {
    TARGET
        .get()
        .cloned()
        .unwrap_or_else(|| crate::host::platform::Target {
            platform: crate::core::versions::Platform::NEWEST,
            libvirt_why: crate::host::platform::Why::Newest("not chosen".into()),
            qemu_why: crate::host::platform::Why::Newest("not chosen".into()),
        })
}

/// `{"target": ..., rest of the object}` for a JSON text the renderers made.
fn with_target_json(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(m)) => {
            let mut out = serde_json::Map::new();
            out.insert(
                "target".into(),
                serde_json::to_value(crate::render::json::TargetJson::of(&target()))
                    .unwrap_or_default(),
            );
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
    /// Open a bundled example (`virt-pci examples` lists them).
    #[arg(long, value_name = "NAME")]
    pub example: Option<String>,
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
    #[arg(long, value_name = "FW", hide_possible_values = true)]
    pub firmware: Option<values::FirmwareArg>,
    /// The guest's virtio drivers when osinfo-db does not know them: legacy, modern,
    /// both or none.
    #[arg(long, value_name = "DRIVERS", hide_possible_values = true)]
    pub guest_virtio: Option<values::DriversArg>,
    /// Warn when fewer than N empty hotplug ports are left.
    #[arg(long, value_name = "N")]
    pub headroom: Option<u32>,
}

impl AnalysisArgs {
    fn choices(&self) -> crate::context::Choices {
        crate::context::Choices {
            os: self.os.clone(),
            firmware: self.firmware.map(values::FirmwareArg::id),
            guest_virtio: self.guest_virtio.map(values::DriversArg::name),
            headroom: self.headroom,
        }
    }
}

/// How text output is laid out.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct WidthArgs {
    /// Wrap text at N columns (0: never); default: the terminal's width, no wrapping
    /// when the output is not a terminal.
    #[arg(long, value_name = "N")]
    pub width: Option<usize>,
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
        /// Output format: text, json, or a picture (svg, dot for graphviz).
        #[arg(long, value_enum, default_value_t = TreeFormat::Text)]
        format: TreeFormat,
        #[command(flatten)]
        analysis: AnalysisArgs,
        #[command(flatten)]
        layout: WidthArgs,
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
        /// Replace the output file even when it has no write permission.
        #[arg(long)]
        force: bool,
    },
    /// Print the IO port plan: the firmware's budget, every bridge's IO window and
    /// why, every PCI function's IO BARs, and what loses IO when space runs out.
    /// Exit status 1 when a device loses IO or the guest does not boot.
    Io {
        /// Domain XML file, or `-` for standard input.
        file: PathBuf,
        /// Firmware: seabios, ovmf-2022 or ovmf; default: the domain's.
        #[arg(long, value_name = "FW", hide_possible_values = true)]
        firmware: Option<values::FirmwareArg>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        layout: WidthArgs,
    },
    /// Print what the guest sees: every PCI function at its guest address (the bus
    /// numbers the firmware gives, as `lspci` shows them) next to libvirt's address and
    /// the XML element, and the names a Linux guest gives every NIC.
    Guest {
        /// Domain XML file, or `-` for standard input.
        file: PathBuf,
        /// Firmware; default: the domain's (OVMF when it boots UEFI).
        #[arg(long, value_enum, value_name = "FW")]
        firmware: Option<GuestFirmware>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Map a guest PCI address (from lspci or dmesg: `0000:05:00.0` or `05:00.0`) back
    /// to the XML element. Exit status 1 when no function has that address.
    Which {
        /// The guest address.
        bdf: String,
        /// Domain XML file, or `-` for standard input.
        file: PathBuf,
        /// Firmware; default: the domain's (OVMF when it boots UEFI).
        #[arg(long, value_enum, value_name = "FW")]
        firmware: Option<GuestFirmware>,
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
        #[command(flatten)]
        layout: WidthArgs,
    },
    /// Carry a guest across: i440fx → q35 (keeping old guests' virtio working), q35 →
    /// i440fx, or virtio-mmio ⇄ PCI on ARM / RISC-V virt; one line of why per change.
    /// Exit status 1 when the conversion is refused.
    Convert(ConvertArgs),
    /// Audit a fleet: every guest checked as `check` does, in parallel, one line per
    /// guest (machine, OS, verdict, worst diagnostic, IO headroom, free hotplug ports,
    /// what a move to q35 needs). Exit status as `check`.
    Audit {
        /// Domain XML files and directories (a directory: its *.xml files).
        paths: Vec<PathBuf>,
        /// Print JSON.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print CSV.
        #[arg(long)]
        csv: bool,
        /// Every domain of the libvirt connection (-c URI, or the default one).
        #[arg(long, conflicts_with = "paths")]
        all: bool,
        #[command(flatten)]
        analysis: AnalysisArgs,
    },
    /// Print the `-device` arguments QEMU gets for the PCI controllers and devices,
    /// in libvirt's form, for the guest as libvirt defines it.
    QemuArgs {
        /// Domain XML file, or `-` for standard input.
        file: PathBuf,
    },
    /// List the bundled example guests and what each one shows; with NAME, print
    /// its XML (open one with `virt-pci edit --example NAME`).
    Examples {
        /// An example's name (`centos6-q35-virtio`), to print its XML.
        name: Option<String>,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff; `virt-pci man | man -l -`).
    Man,
}

/// Where `convert` carries the guest.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvertTo {
    /// x86 i440fx → q35.
    Q35,
    /// x86 q35 → i440fx.
    Pc,
    /// ARM / RISC-V virt: every virtio device on PCI.
    Pci,
    /// ARM / RISC-V virt: every virtio device on virtio-mmio.
    Mmio,
}

impl ConvertTo {
    fn core(self) -> crate::core::convert::To {
        use crate::core::convert::To;
        match self {
            ConvertTo::Q35 => To::Q35,
            ConvertTo::Pc => To::Pc,
            ConvertTo::Pci => To::Pci,
            ConvertTo::Mmio => To::Mmio,
        }
    }
}

/// The options of `convert`.
#[derive(clap::Args, Debug, Clone)]
pub struct ConvertArgs {
    /// Domain XML file, or `-` for standard input.
    pub file: PathBuf,
    /// Where the guest goes.
    #[arg(long, value_enum)]
    pub to: ConvertTo,
    /// Write the converted domain here instead of standard output.
    #[arg(short, long, conflicts_with = "in_place")]
    pub output: Option<PathBuf>,
    /// Rewrite FILE atomically, keeping the original as FILE.bak.
    #[arg(long)]
    pub in_place: bool,
    /// Print a unified diff instead of the converted domain.
    #[arg(long)]
    pub diff: bool,
    /// Print JSON (changes, reasons, and the domain or diff).
    #[arg(long)]
    pub json: bool,
    /// Free hotplug root ports to leave (q35, pci); default: what virt-install's 14
    /// root ports leave free.
    #[arg(long, value_name = "N")]
    pub spare_ports: Option<u32>,
    /// Convert even when the guest OS is not known to run on the target.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

/// `tree --format`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TreeFormat {
    /// The text tree.
    Text,
    /// JSON (the same as --json).
    Json,
    /// An SVG picture (no graphviz needed).
    Svg,
    /// A graphviz digraph.
    Dot,
}

/// The firmware whose bus numbering `guest` and `which` show.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuestFirmware {
    /// SeaBIOS (QEMU's default BIOS).
    Seabios,
    /// OVMF (UEFI).
    #[value(alias = "ovmf-2022", alias = "ovmf-2025")]
    Ovmf,
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
    let (display, bytes) = if let Some(conn) = connection()
        && path != Path::new("-")
    {
        load_domain(conn, &path.to_string_lossy())?
    } else {
        crate::host::files::read_input(path).map_err(Failure::bad_input)?
    };
    parse_loaded(display, &bytes)
}

/// Parses bytes read from `display`.
fn parse_loaded(display: String, bytes: &[u8]) -> Result<Loaded, Failure> {
    let doc = Document::parse_bytes(bytes).map_err(|e| {
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

/// Runs the parsed command and returns the exit status.
pub fn run(args: Args) -> i32 {
    if args.connect.is_some() || args.domain {
        let _ = CONNECTION.set(crate::host::libvirt::Connection::new(args.connect.clone()));
    }
    match crate::host::platform::choose(args.target.libvirt, args.target.qemu) {
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
            format,
            analysis,
            layout,
        } => cmd_tree(&file, json, ascii, defined, format, &analysis, &layout),
        Command::Assign {
            file,
            output,
            in_place,
            force,
        } => cmd_assign(&file, output.as_deref(), in_place, force),
        Command::Check {
            files,
            json,
            analysis,
            layout,
        } => cmd_check(&files, json, &analysis, &layout),
        Command::Io {
            file,
            firmware,
            json,
            layout,
        } => cmd_io(&file, firmware, json, &layout),
        Command::Convert(a) => cmd_convert(&a),
        Command::QemuArgs { file } => cmd_qemu_args(&file),
        Command::Audit {
            paths,
            json,
            csv,
            all,
            analysis,
        } => audit_inputs(&paths, all).and_then(|inputs| cmd_audit(inputs, json, csv, &analysis)),
        Command::Examples { name } => cmd_examples(name.as_deref()),
        Command::Completions { shell } => cmd_completions(shell),
        Command::Man => cmd_man(),
        Command::Guest {
            file,
            firmware,
            json,
        } => cmd_guest(&file, firmware, json),
        Command::Which {
            bdf,
            file,
            firmware,
        } => cmd_which(&bdf, &file, firmware),
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
    let opts = crate::tui::Options {
        ascii: a.ascii,
        mono: a.mono,
        analysis: choices,
    };
    match (connection(), file) {
        (Some(c), Some(domain)) => {
            crate::tui::libvirt_save::run(c, &domain.to_string_lossy(), &opts)
        }
        (Some(_), None) => {
            eprintln!("error: -c URI / --domain: name the domain to open");
            EXIT_BAD_INPUT
        }
        (None, _) => {
            let start = match (&a.example, file) {
                (Some(name), _) => match crate::examples::find(name) {
                    Some(e) => crate::tui::Start::Example(e),
                    None => {
                        eprintln!(
                            "error: no bundled example '{name}' (virt-pci examples lists them)"
                        );
                        return EXIT_BAD_INPUT;
                    }
                },
                (None, Some(f)) => crate::tui::Start::File(f.to_path_buf()),
                (None, None) => crate::tui::Start::Examples,
            };
            crate::tui::run(start, &opts)
        }
    }
}

fn cmd_tree(
    file: &Path,
    json: bool,
    ascii: bool,
    defined: bool,
    format: TreeFormat,
    args: &AnalysisArgs,
    layout: &WidthArgs,
) -> Result<i32, Failure> {
    use crate::render::tree::{render_json_analysed, render_text_analysed};
    let loaded = load(file)?;
    let ctx = crate::context::context(&loaded.doc, &args.choices())
        .map_err(|e| Failure::bad_input(format!("{}: error: {e}", loaded.path)))?;
    let analysis = crate::core::analyses::analyse(&loaded.topology, &ctx);
    // The defined guest's analysis is the same one: its indexes are the input's, plus
    // what libvirt adds at the end.
    let shown = if defined {
        &analysis.defined
    } else {
        &loaded.topology
    };
    let text = match format {
        TreeFormat::Svg => {
            crate::render::svg::render(&crate::render::picture::picture(shown, &analysis))
        }
        TreeFormat::Dot => {
            crate::render::dot::render(&crate::render::picture::picture(shown, &analysis))
        }
        _ if json || format == TreeFormat::Json => {
            with_target_json(&render_json_analysed(shown, &analysis))
        }
        _ => crate::render::wrap::fit(
            &format!(
                "target: {}\n{}",
                target().describe(),
                render_text_analysed(shown, ascii, &analysis)
            ),
            output_width(layout.width),
        ),
    };
    print(&text)?;
    Ok(EXIT_OK)
}

fn cmd_io(
    file: &Path,
    firmware: Option<values::FirmwareArg>,
    json: bool,
    layout: &WidthArgs,
) -> Result<i32, Failure> {
    use crate::render::io_space::{loses_io, render_json, render_text};
    let choices = crate::context::Choices {
        firmware: firmware.map(values::FirmwareArg::id),
        ..crate::context::Choices::default()
    };
    let loaded = load(file)?;
    let ctx = crate::context::context(&loaded.doc, &choices)
        .map_err(|e| Failure::bad_input(format!("{}: error: {e}", loaded.path)))?;
    let analysis = crate::core::analyses::analyse(&loaded.topology, &ctx);
    let text = if json {
        with_target_json(&render_json(&loaded.path, &analysis))
    } else {
        crate::render::wrap::fit(
            &format!(
                "target: {}\n{}",
                target().describe(),
                render_text(&loaded.path, &analysis)
            ),
            output_width(layout.width),
        )
    };
    print(&text)?;
    Ok(if analysis.refused.is_some() || loses_io(&analysis.io) {
        EXIT_REFUSED
    } else {
        EXIT_OK
    })
}

/// What `audit` reads: domains of the connection (all of them with `--all`, else the
/// named ones), or files and directories.
fn audit_inputs(paths: &[PathBuf], all: bool) -> Result<Vec<crate::audit::Input>, Failure> {
    use rayon::prelude::*;
    let conn = match connection() {
        Some(c) => c.clone(),
        None if all => crate::host::libvirt::Connection::default(),
        None => return Ok(crate::audit::inputs_from_paths(paths)),
    };
    let names: Vec<String> = if all {
        conn.list_all()
            .map_err(|e| Failure::bad_input(format!("{}: error: {e}", conn.describe())))?
    } else {
        paths
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect()
    };
    // One virsh per domain, run in parallel: a fleet of hundreds would otherwise wait
    // on each round trip in turn.
    Ok(names
        .par_iter()
        .map(|n| {
            let source = format!("{}:{n}", conn.describe());
            let xml = conn
                .inactive_xml(n)
                .map_err(|e| format!("{source}: error: {e}"));
            crate::audit::Input::Text(source, xml)
        })
        .collect())
}

/// Runs the audit with a progress bar on a terminal and prints the rows.
fn cmd_audit(
    inputs: Vec<crate::audit::Input>,
    json: bool,
    csv: bool,
    args: &AnalysisArgs,
) -> Result<i32, Failure> {
    use std::io::IsTerminal as _;
    let choices = args.choices();
    if inputs.is_empty() {
        return Err(Failure::bad_input(
            "error: nothing to audit: give domain XML files or directories".into(),
        ));
    }
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(inputs.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} guests {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let rows = crate::audit::audit_all(&inputs, &choices, &|| bar.inc(1));
    bar.finish_and_clear();
    for r in &rows {
        if let Some(e) = &r.error {
            eprintln!("{e}");
        }
    }
    let text = if json {
        crate::render::audit::render_json(&rows)
    } else if csv {
        crate::render::audit::render_csv(&rows)
    } else {
        crate::render::audit::render_table(&rows, None)
    };
    print(&text)?;
    Ok(crate::audit::exit_status(&rows))
}

fn cmd_qemu_args(file: &Path) -> Result<i32, Failure> {
    let loaded = load(file)?;
    let (defined, refused) = crate::core::analyses::as_defined(&loaded.topology);
    if let Some(d) = refused {
        eprintln!("{}", format_diagnostic(&loaded.path, &loaded.topology, &d));
        return Ok(EXIT_REFUSED);
    }
    let args = crate::core::qemu_args::device_args(&defined);
    print(&crate::render::qemu_args::render_text(&args))?;
    Ok(EXIT_OK)
}

/// The guest views of a loaded domain: the chosen firmware's and the other one's.
fn guest_views(
    loaded: &Loaded,
    firmware: Option<GuestFirmware>,
) -> Result<
    (
        Topology,
        crate::core::guest::GuestView,
        crate::core::guest::GuestView,
    ),
    Failure,
> {
    use crate::core::guest::guest_view;
    use crate::core::io_space::FirmwareKind;
    let (defined, refused) = crate::core::analyses::as_defined(&loaded.topology);
    if let Some(d) = refused {
        return Err(Failure {
            code: EXIT_REFUSED,
            message: format_diagnostic(&loaded.path, &loaded.topology, &d),
        });
    }
    let fw = match firmware {
        Some(GuestFirmware::Seabios) => FirmwareKind::SeaBios,
        Some(GuestFirmware::Ovmf) => FirmwareKind::Ovmf,
        None if loaded.topology.efi => FirmwareKind::Ovmf,
        None => FirmwareKind::SeaBios,
    };
    let other = match fw {
        FirmwareKind::SeaBios => FirmwareKind::Ovmf,
        FirmwareKind::Ovmf => FirmwareKind::SeaBios,
    };
    let v = guest_view(&defined, fw);
    let o = guest_view(&defined, other);
    Ok((defined, v, o))
}

fn cmd_guest(file: &Path, firmware: Option<GuestFirmware>, json: bool) -> Result<i32, Failure> {
    use crate::render::guest::{render_json, render_text};
    let loaded = load(file)?;
    let (defined, v, o) = guest_views(&loaded, firmware)?;
    let text = if json {
        render_json(&loaded.path, &defined, &v, Some(&o))
    } else {
        render_text(&loaded.path, &defined, &v, Some(&o))
    };
    print(&text)?;
    Ok(EXIT_OK)
}

fn cmd_which(bdf: &str, file: &Path, firmware: Option<GuestFirmware>) -> Result<i32, Failure> {
    use crate::core::guest::GuestAddr;
    let Some(addr) = GuestAddr::parse(bdf) else {
        return Err(Failure::bad_input(format!(
            "error: {bdf:?} is not a PCI address (0000:05:00.0 or 05:00.0)"
        )));
    };
    let loaded = load(file)?;
    let (defined, v, _) = guest_views(&loaded, firmware)?;
    let Some(f) = v.at(addr) else {
        eprintln!(
            "{}: no function at {addr} under {}",
            loaded.path,
            crate::render::guest::firmware_name(v.firmware)
        );
        return Ok(EXIT_REFUSED);
    };
    // Elements from the file have their node as origin; what libvirt adds has none.
    let xml = f
        .device
        .filter(|&i| i < loaded.topology.devices.len())
        .and_then(|i| defined.devices.get(i))
        .map(|d| {
            loaded
                .doc
                .write_subtree(crate::libvirt::xml::NodeId(d.origin.0))
        });
    print(&crate::render::guest::render_which(
        &defined,
        f,
        xml.as_deref(),
    ))?;
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
    // Values quoted in the message come from the input: cut long ones.
    let message = crate::libvirt::xml::clip_message(&d.message);
    let mut s = match line {
        Some(l) => format!("{path}:{l}: {} [{}]: {message}", d.severity.name(), d.code,),
        None => format!("{path}: {} [{}]: {message}", d.severity.name(), d.code),
    };
    if let Some(h) = &d.hint {
        s.push_str(&format!("\n  hint: {h}"));
    }
    s
}

fn cmd_assign(
    file: &Path,
    output: Option<&Path>,
    in_place: bool,
    force: bool,
) -> Result<i32, Failure> {
    let (display, bytes) = crate::host::files::read_input(file).map_err(Failure::bad_input)?;
    let mut loaded = parse_loaded(display, &bytes)?;
    let plan = match crate::core::assign::assign(&loaded.topology) {
        Ok(p) => p,
        Err(d) => {
            eprintln!("{}", format_diagnostic(&loaded.path, &loaded.topology, &d));
            return Ok(EXIT_REFUSED);
        }
    };
    // New devices can shift what the guest already has: warn before it happens.
    let fw = if loaded.topology.efi {
        crate::core::io_space::FirmwareKind::Ovmf
    } else {
        crate::core::io_space::FirmwareKind::SeaBios
    };
    let before = crate::core::guest::without_unplaced(&loaded.topology);
    for d in crate::core::guest::rename_warnings(&before, &loaded.topology, fw) {
        eprintln!("{}", format_diagnostic(&loaded.path, &loaded.topology, &d));
    }
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
        Some((path, backup)) => {
            let opts = crate::host::files::SaveOptions {
                // The original as read, not whatever is on disk by now.
                backup: backup.then_some(bytes.as_slice()),
                force,
                break_links: false,
            };
            crate::host::files::save(path, text.as_bytes(), opts).map_err(|e| Failure {
                code: EXIT_BAD_INPUT,
                message: match e {
                    crate::host::files::SaveError::ReadOnly(_) => {
                        format!("error: {e} (give --force to replace it)")
                    }
                    _ => format!("error: {e}"),
                },
            })?;
        }
        None => print(&text)?,
    }
    Ok(EXIT_OK)
}

/// What the analyses assumed, in a few words: `guest OS CentOS 6.10 (centos6.10) from
/// the domain, firmware SeaBIOS 1.16`.
fn assumptions(a: &crate::core::analyses::Analysis) -> String {
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
    if a.io.outcome == crate::core::io_space::Outcome::NotModelled {
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
fn cmd_check(
    files: &[PathBuf],
    json: bool,
    args: &AnalysisArgs,
    layout: &WidthArgs,
) -> Result<i32, Failure> {
    use crate::core::diag::Severity;
    use crate::render::json::{CheckDiagnostic, CheckFile, CheckJson, GuestOsJson, TargetJson};
    let choices = args.choices();
    let mut worst = EXIT_OK;
    let mut reports = Vec::new();
    let mut text = String::new();
    for file in files {
        let loaded = match load(file).and_then(|l| {
            let ctx = crate::context::context(&l.doc, &choices)
                .map_err(|e| Failure::bad_input(format!("{}: error: {e}", l.path)))?;
            Ok((l, ctx))
        }) {
            Ok(l) => l,
            Err(f) => {
                eprintln!("{}", f.message);
                worst = EXIT_BAD_INPUT;
                reports.push(CheckFile::Unreadable {
                    file: file.display().to_string(),
                    readable: false,
                    error: f.message,
                });
                continue;
            }
        };
        let (loaded, ctx) = loaded;
        let t = &loaded.topology;
        let mut found: Vec<(
            crate::core::diag::Diagnostic,
            Option<crate::core::analyses::Fix>,
        )> = crate::core::assign::check_all(t)
            .into_iter()
            .map(|d| (d, None))
            .collect();
        let analysis = crate::core::analyses::analyse(t, &ctx);
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
        reports.push(CheckFile::Checked {
            file: loaded.path.clone(),
            readable: true,
            accepted_by_libvirt: analysis.refused.is_none() && analysed,
            analysed,
            guest_os: analysis.os.as_ref().map(GuestOsJson::of),
            firmware: analysis.firmware.id,
            io_outcome: analysed.then(|| analysis.io.outcome.name()),
            diagnostics: found
                .iter()
                .map(|(d, fix)| CheckDiagnostic::of(t, d, fix.as_ref()))
                .collect(),
        });
    }
    if json {
        print(&crate::render::json::pretty(&CheckJson {
            target: TargetJson::of(&target()),
            files: reports,
        }))?;
    } else {
        print(&crate::render::wrap::fit(
            &format!("target: {}\n{text}", target().describe()),
            output_width(layout.width),
        ))?;
    }
    Ok(worst)
}

fn cmd_convert(a: &ConvertArgs) -> Result<i32, Failure> {
    use crate::core::convert::{Options, convert};
    use crate::render::convert::{render_json, render_text, unified_diff};
    let loaded = load(&a.file)?;
    let ctx = crate::context::context(&loaded.doc, &a.analysis.choices())
        .map_err(|e| Failure::bad_input(format!("{}: error: {e}", loaded.path)))?;
    if a.in_place && a.file == Path::new("-") {
        return Err(Failure::bad_input(
            "error: --in-place needs a file, not standard input".into(),
        ));
    }
    let opts = Options {
        to: a.to.core(),
        spare_ports: a.spare_ports,
        force: a.force,
        secure_boot: crate::libvirt::meta::secure_boot(&loaded.doc),
    };
    let to = opts.to.name();
    let t = &loaded.topology;
    let result = convert(t, &ctx, &opts);
    let c = match &result {
        Ok(c) => c,
        Err(d) => {
            if a.json {
                print(&render_json(&loaded.path, to, t, &result, None, None))?;
            } else {
                eprintln!("{}", format_diagnostic(&loaded.path, t, d));
            }
            return Ok(EXIT_REFUSED);
        }
    };
    let old = loaded.doc.write();
    let mut doc = loaded.doc.clone();
    crate::libvirt::edit_apply::write_topology(&mut doc, t, &c.result);
    let new = doc.write();
    let diff = a.diff.then(|| unified_diff(&loaded.path, &old, &new));
    let dest = if a.in_place {
        Some((a.file.as_path(), true))
    } else {
        a.output
            .as_deref()
            .filter(|o| *o != Path::new("-"))
            .map(|o| (o, false))
    };
    if let Some((path, backup)) = dest
        && (new != old || !backup)
    {
        let opts = crate::host::files::SaveOptions {
            // The original as read, not whatever is on disk by now.
            backup: backup.then_some(old.as_bytes()),
            force: false,
            break_links: false,
        };
        crate::host::files::save(path, new.as_bytes(), opts).map_err(|e| Failure {
            code: EXIT_BAD_INPUT,
            message: format!("error: {e}"),
        })?;
    }
    if a.json {
        let xml = (dest.is_none() && !a.diff).then_some(new.as_str());
        print(&render_json(
            &loaded.path,
            to,
            t,
            &result,
            xml,
            diff.as_deref(),
        ))?;
    } else {
        eprint!("{}", render_text(&loaded.path, t, c));
        match (&diff, dest) {
            (Some(d), _) => print(d)?,
            (None, None) => print(&new)?,
            (None, Some(_)) => {}
        }
    }
    Ok(EXIT_OK)
}

/// `virt-pci examples`: the bundled guests with what each shows, laid out for the
/// terminal; with a name, that example's XML.
fn cmd_examples(name: Option<&str>) -> Result<i32, Failure> {
    use crate::examples::{EXAMPLES, find};
    if let Some(n) = name {
        let Some(e) = find(n) else {
            let names: Vec<&str> = EXAMPLES.iter().map(|e| e.name).collect();
            return Err(Failure::bad_input(format!(
                "error: no bundled example '{n}'; there are: {}",
                names.join(", ")
            )));
        };
        print(e.text)?;
        return Ok(EXIT_OK);
    }
    let mut text =
        String::from("Bundled example guests (open one: virt-pci edit --example NAME):\n");
    for e in EXAMPLES {
        text.push_str(&format!(
            "\n{}\n  {}\n",
            e.name.trim_end_matches(".xml"),
            e.description()
        ));
    }
    let width = output_width(None).or(Some(80));
    print(&crate::render::wrap::fit(&text, width))?;
    Ok(EXIT_OK)
}

fn cmd_completions(shell: clap_complete::Shell) -> Result<i32, Failure> {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Args::command(), "virt-pci", &mut out);
    print(&String::from_utf8_lossy(&out))?;
    Ok(EXIT_OK)
}

fn cmd_man() -> Result<i32, Failure> {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_mangen::Man::new(Args::command())
        .render(&mut out)
        .map_err(|e| Failure::bad_input(format!("error: cannot render the manual: {e}")))?;
    print(&String::from_utf8_lossy(&out))?;
    Ok(EXIT_OK)
}

/// Levenshtein distance, for suggesting a subcommand for a typo.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Catches what clap alone would misread: the first word is neither a subcommand nor
/// a file. A bare word close to a subcommand is a typo (`did you mean tree?`); a
/// path (with `/` or `.`) that does not exist opens the designer on a new guest.
pub fn preflight(argv: &[std::ffi::OsString]) -> Result<(), Failure> {
    use clap::CommandFactory;
    let cmd = Args::command();
    let names: Vec<String> = cmd
        .get_subcommands()
        .flat_map(|s| {
            std::iter::once(s.get_name().to_string()).chain(s.get_all_aliases().map(String::from))
        })
        .chain(["help".to_string()])
        .collect();
    // Top-level options that take a value.
    let valued = [
        "--os",
        "--firmware",
        "--guest-virtio",
        "--headroom",
        "--libvirt",
        "--qemu",
    ];
    // With a libvirt connection the first word names a domain, not a file.
    if argv.iter().any(|a| {
        let a = a.to_string_lossy();
        a == "-c"
            || a == "--domain"
            || a.starts_with("--connect")
            || (a.starts_with("-c") && !a.starts_with("--"))
    }) {
        return Ok(());
    }
    let mut it = argv.iter().skip(1);
    let first = loop {
        let Some(a) = it.next() else { return Ok(()) };
        let a = a.to_string_lossy();
        if a == "--" {
            return Ok(());
        }
        if valued.contains(&a.as_ref()) {
            it.next();
            continue;
        }
        if a.starts_with('-') && a != "-" {
            continue;
        }
        break a.into_owned();
    };
    if names.contains(&first) || first == "-" || Path::new(&first).exists() {
        return Ok(());
    }
    if first.contains(['/', '.']) {
        return Ok(());
    }
    let best = names
        .iter()
        .filter(|n| *n != "help")
        .map(|n| (distance(&first, n), n))
        // One edit per three letters: `tre` is tree, `foo` is nothing.
        .filter(|(d, n)| {
            *d <= first.chars().count().max(3) / 3 || (first.len() >= 2 && n.starts_with(&first))
        })
        .min();
    let mut message =
        format!("error: '{first}' is not a subcommand, and no file of that name exists");
    match best {
        Some((_, n)) => message.push_str(&format!("\n\n  did you mean {n}?")),
        None => message.push_str(&format!(
            "\n\n  subcommands: {}",
            names
                .iter()
                .filter(|n| *n != "help")
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
    message.push_str(&format!(
        "\n  to open or create a file of that name in the designer: virt-pci ./{first}\n\nFor more information, try '--help'."
    ));
    Err(Failure {
        code: EXIT_BAD_INPUT,
        message,
    })
}

/// The width to lay text out for (the renderers only wrap to it): `asked` (`--width N`; 0 means no wrapping), else the
/// terminal's width (`COLUMNS`, then the tty) when standard output is a terminal, else
/// none.
pub fn output_width(asked: Option<usize>) -> Option<usize> {
    match asked {
        Some(0) => None,
        Some(n) => Some(n),
        None if std::io::IsTerminal::is_terminal(&std::io::stdout()) => std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|&c| c > 0)
            .or_else(|| {
                ratatui::crossterm::terminal::size()
                    .ok()
                    .map(|(w, _)| w as usize)
            }),
        None => None,
    }
}
