//! The command line's shape: the options, the subcommands and their values (clap derive).

use super::*;

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
    pub(super) fn choices(&self) -> crate::context::Choices {
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
        #[command(flatten)]
        layout: WidthArgs,
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
    pub(super) fn core(self) -> crate::core::convert::To {
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
    /// Domain XML file, or `-` for standard input (with -c URI / --domain: a domain
    /// name).
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
    /// With -c URI / --domain: define the converted domain back in libvirt (as `virsh
    /// define`), unless its definition changed since it was read.
    #[arg(long, conflicts_with_all = ["in_place", "output"])]
    pub define: bool,
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
