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
        #[command(flatten)]
        layout: WidthArgs,
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
        Command::Tree {
            file,
            json,
            ascii,
            defined,
            analysis,
            layout,
        } => cmd_tree(&file, json, ascii, defined, &analysis, &layout),
        Command::Assign {
            file,
            output,
            in_place,
        } => cmd_assign(&file, output.as_deref(), in_place),
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
        Command::Examples { name } => cmd_examples(name.as_deref()),
        Command::Completions { shell } => cmd_completions(shell),
        Command::Man => cmd_man(),
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
    let start = match (&a.example, file) {
        (Some(name), _) => match crate::examples::find(name) {
            Some(e) => crate::tui::Start::Example(e),
            None => {
                eprintln!("error: no bundled example '{name}' (virt-pci examples lists them)");
                return EXIT_BAD_INPUT;
            }
        },
        (None, Some(f)) => crate::tui::Start::File(f.to_path_buf()),
        (None, None) => crate::tui::Start::Examples,
    };
    crate::tui::run(start, &opts)
}

fn cmd_tree(
    file: &Path,
    json: bool,
    ascii: bool,
    defined: bool,
    args: &AnalysisArgs,
    layout: &WidthArgs,
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
        render_json_analysed(shown, &analysis)
    } else {
        crate::render::wrap::fit(
            &render_text_analysed(shown, ascii, &analysis),
            crate::render::wrap::output_width(layout.width),
        )
    };
    print(&text)?;
    Ok(EXIT_OK)
}

fn cmd_io(
    file: &Path,
    firmware: Option<String>,
    json: bool,
    layout: &WidthArgs,
) -> Result<i32, Failure> {
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
        render_json(&loaded.path, &analysis)
    } else {
        crate::render::wrap::fit(
            &render_text(&loaded.path, &analysis),
            crate::render::wrap::output_width(layout.width),
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
fn cmd_check(
    files: &[PathBuf],
    json: bool,
    args: &AnalysisArgs,
    layout: &WidthArgs,
) -> Result<i32, Failure> {
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
        let out = serde_json::to_string_pretty(&serde_json::json!({ "files": reports }))
            .unwrap_or_default();
        print(&format!("{out}\n"))?;
    } else {
        print(&crate::render::wrap::fit(
            &text,
            crate::render::wrap::output_width(layout.width),
        ))?;
    }
    Ok(worst)
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
    let width = crate::render::wrap::output_width(None).or(Some(80));
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
    let valued = ["--os", "--firmware", "--guest-virtio", "--headroom"];
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
