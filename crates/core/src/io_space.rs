//! x86 IO port space: the IO BAR every device needs, the IO window every bridge and
//! port gets and why, the root budget of each firmware, and what the firmware does
//! when it runs out (SeaBIOS stops the boot; OVMF strips hotplug padding, then drops
//! whole devices, largest IO consumer first).
//!
//! The sizes and rules are QEMU 7.2, SeaBIOS 1.16 and OVMF 2022.11 / 2025.02 as
//! measured (`../shared/docs/qemu-ioport.md` sections 0, 4 and 5); the corpus in
//! `tests/io-corpus/` checks every prediction against the firmware's real assignment.

use super::address::PciAddr;
use super::device::{Kind, SlotClass};
use super::machine::MachineClass;
use super::pci::PciModel;
use super::topology::{Device, Topology};
use super::virtio::{Mode, VirtioInfo, virtio_devices};

/// Bridge IO windows are programmed in 4 KiB units.
pub const GRANULE: u32 = 0x1000;

fn align(x: u32, a: u32) -> u32 {
    if a <= 1 { x } else { x.div_ceil(a) * a }
}

/// `4K` for whole KiB, else hex (`0x200`): how sizes of IO space are shown.
pub fn size_text(n: u32) -> String {
    if n >= 0x400 && n.is_multiple_of(0x400) {
        format!("{}K", n / 0x400)
    } else {
        format!("{n:#x}")
    }
}

/// The two firmware families, which handle IO space differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirmwareKind {
    /// SeaBIOS: sums the windows; out of space stops the boot.
    SeaBios,
    /// OVMF (edk2): lays out resource nodes; out of space drops padding, then devices.
    Ovmf,
}

/// A firmware profile.
#[derive(Debug, PartialEq, Eq)]
pub struct Firmware {
    /// `--firmware` value.
    pub id: &'static str,
    /// Name for people.
    pub name: &'static str,
    /// Family.
    pub kind: FirmwareKind,
    /// IO padding OVMF gives every hotplug bridge (edk2 `GetResourcePadding`).
    pub hotplug_io_padding: u32,
    /// q35 budget: SeaBIOS: the root total must stay below it; OVMF: aperture size.
    pub q35_budget: u32,
    /// i440fx budget, same meaning.
    pub pc_budget: u32,
    /// Where the PCI IO space starts on q35 and on i440fx (SeaBIOS: when the total
    /// is below 0x4000; from 0x1000 otherwise).
    pub base: (u32, u32),
    /// What the profile stands for.
    pub summary: &'static str,
}

impl Firmware {
    /// The budget on a machine class, when the class has an x86 IO space.
    pub fn budget(&self, class: MachineClass) -> Option<u32> {
        match class {
            MachineClass::Q35 => Some(self.q35_budget),
            MachineClass::I440fx => Some(self.pc_budget),
            MachineClass::Virt | MachineClass::Other => None,
        }
    }
}

/// The firmware profiles.
pub const FIRMWARES: &[Firmware] = &[
    Firmware {
        id: "seabios",
        name: "SeaBIOS 1.16",
        kind: FirmwareKind::SeaBios,
        hotplug_io_padding: 0,
        q35_budget: 0xf000,
        pc_budget: 0x9000,
        base: (0xc000, 0xc000),
        summary: "root total below 0xF000 (q35) or 0x9000 (i440fx), else no boot",
    },
    Firmware {
        id: "ovmf-2022",
        name: "OVMF edk2-stable202211",
        kind: FirmwareKind::Ovmf,
        hotplug_io_padding: 0x200,
        q35_budget: 0xa000,
        pc_budget: 0x4000,
        base: (0x6000, 0xc000),
        summary: "0x6000-0xFFFF (q35) or 0xC000-0xFFFF (i440fx); 512 bytes of IO padding on every hotplug bridge",
    },
    Firmware {
        id: "ovmf",
        name: "OVMF edk2-stable202308 or newer",
        kind: FirmwareKind::Ovmf,
        hotplug_io_padding: 0,
        q35_budget: 0xa000,
        pc_budget: 0x4000,
        base: (0x6000, 0xc000),
        summary: "0x6000-0xFFFF (q35) or 0xC000-0xFFFF (i440fx); no IO padding",
    },
];

/// Looks a profile up by its `--firmware` id (`ovmf-2025` is accepted for `ovmf`).
pub fn firmware(id: &str) -> Option<&'static Firmware> {
    let id = if id == "ovmf-2025" { "ovmf" } else { id };
    FIRMWARES.iter().find(|f| f.id == id)
}

/// Where a size in [`IO_BARS`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarSource {
    /// Read back from the device under QEMU 7.2.
    Measured,
    /// Not measured: follows from QEMU's source (same config layout as a measured type).
    Documented,
    /// The device is not in the table (host devices: depends on the host's device).
    Unknown,
}

/// The IO BARs of one QEMU device type.
#[derive(Debug)]
pub struct BarRow {
    /// QEMU device (for virtio, the plain name: the legacy BAR of its transitional form).
    pub qemu: &'static str,
    /// Sizes of its IO BARs (empty: none).
    pub bars: &'static [u32],
    /// Where the sizes come from.
    pub source: BarSource,
}

const fn m(qemu: &'static str, bars: &'static [u32]) -> BarRow {
    BarRow {
        qemu,
        bars,
        source: BarSource::Measured,
    }
}

/// IO BARs per QEMU device (QEMU 7.2). virtio rows give the legacy BAR, which only
/// transitional and legacy-only devices have.
pub const IO_BARS: &[BarRow] = &[
    m("virtio-net-pci", &[0x20]),
    m("virtio-blk-pci", &[0x80]),
    m("virtio-scsi-pci", &[0x40]),
    m("virtio-serial-pci", &[0x40]),
    m("virtio-balloon-pci", &[0x40]),
    m("virtio-rng-pci", &[0x20]),
    m("virtio-9p-pci", &[0x20]),
    BarRow {
        qemu: "vhost-scsi-pci",
        bars: &[0x40],
        source: BarSource::Documented,
    },
    BarRow {
        qemu: "vhost-user-blk-pci",
        bars: &[0x80],
        source: BarSource::Documented,
    },
    m("e1000", &[0x40]),
    m("e1000e", &[0x20]),
    m("rtl8139", &[0x100]),
    m("pcnet", &[0x20]),
    m("ne2k_pci", &[0x100]),
    m("vmxnet3", &[]),
    m("lsi", &[0x100]),
    m("megasas", &[0x100]),
    m("mptsas1068", &[0x100]),
    m("pvscsi", &[]),
    m("qxl-vga", &[0x20]),
    m("qxl", &[0x20]),
    m("vmware-svga", &[0x10]),
    m("cirrus-vga", &[]),
    m("VGA", &[]),
    m("bochs-display", &[]),
    m("piix3-usb-uhci", &[0x20]),
    m("piix4-usb-uhci", &[0x20]),
    m("ich9-usb-uhci1", &[0x20]),
    m("ich9-usb-uhci2", &[0x20]),
    m("ich9-usb-uhci3", &[0x20]),
    m("usb-ehci", &[]),
    m("ich9-usb-ehci1", &[]),
    m("qemu-xhci", &[]),
    m("nec-usb-xhci", &[]),
    m("pci-ohci", &[]),
    m("intel-hda", &[]),
    m("ich9-intel-hda", &[]),
    m("AC97", &[0x400, 0x100]),
    m("ES1370", &[0x100]),
    m("i6300esb", &[]),
    m("ivshmem-plain", &[]),
    m("ivshmem-doorbell", &[]),
    m("pvpanic-pci", &[]),
    m("pci-serial", &[0x8]),
    m("ich9-ahci", &[0x20]),
    m("piix3-ide", &[0x10]),
];

/// The IO BARs of a QEMU device type, when the table has it.
pub fn bar_row(qemu: &str) -> Option<&'static BarRow> {
    IO_BARS.iter().find(|r| r.qemu == qemu)
}

/// A chipset function with an IO BAR, present on every machine of its class.
#[derive(Debug)]
pub struct ChipsetBar {
    /// Machine class.
    pub class: MachineClass,
    /// Slot and function on bus 0.
    pub slot: u8,
    /// Function.
    pub function: u8,
    /// Name for people.
    pub name: &'static str,
    /// Its IO BARs.
    pub bars: &'static [u32],
    /// The XML element that stands for it (kind, type, index), if any.
    pub xml: Option<(Kind, &'static str)>,
}

/// The built-in IO users on bus 0.
pub const CHIPSET_BARS: &[ChipsetBar] = &[
    ChipsetBar {
        class: MachineClass::Q35,
        slot: 0x1f,
        function: 2,
        name: "ICH9 SATA (AHCI)",
        bars: &[0x20],
        xml: Some((Kind::Controller, "sata")),
    },
    ChipsetBar {
        class: MachineClass::Q35,
        slot: 0x1f,
        function: 3,
        name: "ICH9 SMBus",
        bars: &[0x40],
        xml: None,
    },
    ChipsetBar {
        class: MachineClass::I440fx,
        slot: 0x01,
        function: 1,
        name: "PIIX3 IDE",
        bars: &[0x10],
        xml: Some((Kind::Controller, "ide")),
    },
];

/// How the IO window of one bridge came about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowReason {
    /// Devices (or bridges) below it need IO.
    Devices,
    /// SeaBIOS gives every SHPC bridge (pci-bridge, pcie-to-pci-bridge) 4 KiB.
    Shpc,
    /// OVMF's hotplug padding.
    HotplugPadding,
    /// An explicit `io-reserve` value.
    IoReserve,
    /// `pc-q35-6.1` makes every hotplug root port reserve 4 KiB.
    Machine61,
}

impl WindowReason {
    /// Name used in output and JSON.
    pub fn name(self) -> &'static str {
        match self {
            WindowReason::Devices => "devices",
            WindowReason::Shpc => "shpc",
            WindowReason::HotplugPadding => "hotplug-padding",
            WindowReason::IoReserve => "io-reserve",
            WindowReason::Machine61 => "pc-q35-6.1-reserve",
        }
    }

    /// A phrase for people.
    pub fn describe(self) -> &'static str {
        match self {
            WindowReason::Devices => "devices below it need IO",
            WindowReason::Shpc => "SeaBIOS reserves 4 KiB for an SHPC hotplug bridge",
            WindowReason::HotplugPadding => "OVMF's 512-byte hotplug padding, decoded as 4 KiB",
            WindowReason::IoReserve => "io-reserve asks for it",
            WindowReason::Machine61 => "pc-q35-6.1 root ports reserve 4 KiB for ACPI hotplug",
        }
    }
}

/// The outcome for the whole guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every window and BAR gets its space.
    Fits,
    /// OVMF had to strip hotplug padding (those ports lose their hotplug headroom),
    /// but every device kept its IO.
    PaddingStripped,
    /// OVMF dropped whole devices (no BARs, no driver).
    DevicesDropped,
    /// SeaBIOS panics with "PCI: out of I/O address space": the guest does not boot.
    BootFailure,
    /// Not an x86 q35 / i440fx machine: no model of its IO space.
    NotModelled,
}

impl Outcome {
    /// Name used in output and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Fits => "fits",
            Outcome::PaddingStripped => "padding-stripped",
            Outcome::DevicesDropped => "devices-dropped",
            Outcome::BootFailure => "boot-failure",
            Outcome::NotModelled => "not-modelled",
        }
    }
}

/// One bridge's IO window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// Controller index.
    pub index: u32,
    /// Index into `Topology::devices` of the controller.
    pub device: usize,
    /// Its model.
    pub model: PciModel,
    /// The QEMU device.
    pub qemu_device: String,
    /// The bus it sits on (controller index; 0 for top-level bridges).
    pub parent: u32,
    /// Its address.
    pub addr: PciAddr,
    /// Bytes it takes from its parent's window (or the root): SeaBIOS's window size,
    /// OVMF's node length (a padding-only node is 0x200 long).
    pub consumes: u32,
    /// The window the bridge decodes (0: closed).
    pub size: u32,
    /// Why it has one (empty when it has none).
    pub reasons: Vec<WindowReason>,
    /// OVMF's IO padding before any stripping (0 when none).
    pub padding: u32,
    /// OVMF stripped its padding (IO, MMIO and prefetchable MMIO).
    pub padding_stripped: bool,
    /// `io-reserve` value in effect (explicit or the pc-q35-6.1 default).
    pub io_reserve: Option<u64>,
    /// Its IO base/limit registers are read-only (`io-reserve=0` on a pcie-root-port):
    /// it never forwards IO, even when the firmware budgets a window for it.
    pub read_only: bool,
    /// It is a one-slot port with nothing behind it.
    pub empty_port: bool,
    /// Devices can be hot-plugged below it.
    pub hotplug: bool,
}

/// What happens to one device's IO BARs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarStatus {
    /// The device has no IO BAR.
    None,
    /// Its IO BARs get addresses the guest can reach.
    Assigned,
    /// They get addresses, but a bridge above it cannot forward IO (io-reserve=0).
    Unreachable,
    /// OVMF rejected the device: no BARs at all, no driver.
    Dropped,
    /// SeaBIOS stopped before programming anything.
    NotProgrammed,
}

impl BarStatus {
    /// Name used in output and JSON.
    pub fn name(self) -> &'static str {
        match self {
            BarStatus::None => "none",
            BarStatus::Assigned => "assigned",
            BarStatus::Unreachable => "unreachable",
            BarStatus::Dropped => "dropped",
            BarStatus::NotProgrammed => "not-programmed",
        }
    }
}

/// One PCI function's IO needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceIo {
    /// Index into `Topology::devices`; `None` for a built-in chipset function.
    pub device: Option<usize>,
    /// Its address.
    pub addr: PciAddr,
    /// Label for people.
    pub label: String,
    /// The QEMU device.
    pub qemu_device: String,
    /// Sizes of its IO BARs.
    pub bars: Vec<u32>,
    /// Where the sizes come from.
    pub source: BarSource,
    /// The virtio mode, for virtio devices.
    pub virtio: Option<Mode>,
    /// What happens to its IO BARs.
    pub status: BarStatus,
    /// A function the machine has built in (the ICH9 SATA and SMBus, the PIIX3 IDE),
    /// whether or not an element of the XML stands for it.
    pub chipset: bool,
}

impl DeviceIo {
    /// Total IO it asks for.
    pub fn total(&self) -> u32 {
        self.bars.iter().sum()
    }
}

/// Per-guest inputs the domain's topology does not carry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IoSettings {
    /// `io-reserve` per controller index (from `<qemu:override>`).
    pub io_reserve: Vec<(u32, u64)>,
    /// `-global pcie-root-port.io-reserve=N`.
    pub global_root_port_io_reserve: Option<u64>,
}

/// The IO plan of one guest under one firmware.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IoPlan {
    /// The firmware profile.
    pub firmware: &'static Firmware,
    /// Machine class.
    pub class: MachineClass,
    /// The budget (see [`Firmware::q35_budget`]); 0 when not modelled.
    pub budget: u32,
    /// What the layout asks for before OVMF strips or drops anything.
    pub demand: u32,
    /// What is used in the end (SeaBIOS: the root total; OVMF: the end of the layout).
    pub used: u32,
    /// The outcome.
    pub outcome: Outcome,
    /// Every bridge, in the guest's scan order (depth first, by slot and function).
    pub windows: Vec<Window>,
    /// Every PCI function that is not a bridge, in scan order.
    pub devices: Vec<DeviceIo>,
    /// Devices OVMF dropped, in its order (indexes into `devices`).
    pub dropped: Vec<usize>,
    /// Controllers whose padding OVMF stripped, in its order (controller indexes).
    pub stripped: Vec<u32>,
    /// Things the model does not cover for this guest.
    pub notes: Vec<String>,
}

impl IoPlan {
    /// The window of controller `index`.
    pub fn window(&self, index: u32) -> Option<&Window> {
        self.windows.iter().find(|w| w.index == index)
    }

    /// The IO entry of topology device `i`.
    pub fn device_io(&self, i: usize) -> Option<&DeviceIo> {
        self.devices.iter().find(|d| d.device == Some(i))
    }

    /// Where the PCI IO space starts (SeaBIOS moves to 0x1000 when 0x4000 is not enough).
    pub fn base(&self) -> u32 {
        let (q35, pc) = self.firmware.base;
        let base = if self.class == MachineClass::I440fx {
            pc
        } else {
            q35
        };
        if self.firmware.kind == FirmwareKind::SeaBios && self.used >= 0x4000 {
            0x1000
        } else {
            base
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Item {
    Bridge(usize),
    Device(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hotplug {
    None,
    Shpc,
    PciePort,
}

struct Bridge {
    win: Window,
    children: Vec<Item>,
    kind: Hotplug,
    /// Red Hat resource-reservation capability (generic root port, pci-bridge).
    has_cap: bool,
    /// `io_reserve` is the pc-q35-6.1 default, not an explicit setting.
    reserve_61: bool,
}

struct Model<'a> {
    fw: &'static Firmware,
    class: MachineClass,
    bridges: Vec<Bridge>,
    devices: Vec<DeviceIo>,
    root: Vec<Item>,
    /// Scan order position of every item.
    order: Vec<Item>,
    /// OVMF's victims, in its order.
    victims: Vec<Item>,
    notes: Vec<String>,
    topo: &'a Topology,
}

fn hotplug_kind(model: PciModel) -> Hotplug {
    match model {
        PciModel::PciBridge | PciModel::PcieToPciBridge => Hotplug::Shpc,
        PciModel::PcieRootPort | PciModel::PcieSwitchDownstreamPort => Hotplug::PciePort,
        _ => Hotplug::None,
    }
}

/// The label a device gets in the plan.
fn device_label(d: &Device, t: &Topology) -> String {
    d.describe(&t.machine)
}

impl<'a> Model<'a> {
    fn build(
        t: &'a Topology,
        fw: &'static Firmware,
        settings: &IoSettings,
        virtio: &[VirtioInfo],
    ) -> Model<'a> {
        let controllers = t.controller_map();
        let mut m = Model {
            fw,
            class: t.machine.class,
            bridges: Vec::new(),
            devices: Vec::new(),
            root: Vec::new(),
            order: Vec::new(),
            victims: Vec::new(),
            notes: Vec::new(),
            topo: t,
        };
        let machine61 = t.machine.machine_type == "pc-q35-6.1";
        // Bridges, by controller index (the first controller with an index wins).
        let mut by_index: Vec<(u32, usize)> = Vec::new();
        for (i, d) in t.devices.iter().enumerate() {
            let (Some(p), Some(index), Some(addr)) = (&d.pci, d.index, d.pci_addr()) else {
                continue;
            };
            if p.model.is_root() || by_index.iter().any(|(x, _)| *x == index) {
                continue;
            }
            let kind = hotplug_kind(p.model);
            let generic_rp =
                p.model == PciModel::PcieRootPort && p.qemu_device() == "pcie-root-port";
            let has_cap = generic_rp || p.model == PciModel::PciBridge;
            let mut io_reserve = settings
                .io_reserve
                .iter()
                .find(|(x, _)| *x == index)
                .map(|(_, v)| *v);
            if generic_rp && io_reserve.is_none() {
                io_reserve = settings.global_root_port_io_reserve;
            }
            let reserve_61 =
                io_reserve.is_none() && generic_rp && machine61 && p.hotplug != Some(false);
            if reserve_61 {
                io_reserve = Some(0x1000);
            }
            if !has_cap && io_reserve.is_some() {
                m.notes.push(format!(
                    "{} #{index} has no io-reserve property in QEMU; the setting is ignored",
                    p.model.name()
                ));
                io_reserve = None;
            }
            let read_only = generic_rp && io_reserve == Some(0);
            by_index.push((index, m.bridges.len()));
            m.bridges.push(Bridge {
                win: Window {
                    index,
                    device: i,
                    model: p.model,
                    qemu_device: p.qemu_device().to_string(),
                    parent: addr.bus,
                    addr,
                    consumes: 0,
                    size: 0,
                    reasons: Vec::new(),
                    padding: 0,
                    padding_stripped: false,
                    io_reserve,
                    read_only,
                    empty_port: false,
                    hotplug: p.hotpluggable(),
                },
                children: Vec::new(),
                kind,
                has_cap,
                reserve_61,
            });
        }
        let bridge_of = |index: u32| by_index.iter().find(|(x, _)| *x == index).map(|(_, b)| *b);
        // Expander buses are extra root buses: their contents count as root-level.
        let effective_parent = |bus: u32| -> Option<u32> {
            let mut b = bus;
            for _ in 0..256 {
                if b == 0 {
                    return Some(0);
                }
                match controllers.bus_model(t, b) {
                    Some(model) if model.is_expander() => {
                        b = controllers
                            .controller(t, b)
                            .and_then(|c| c.pci_addr())
                            .map(|a| a.bus)?;
                    }
                    Some(_) => return Some(b),
                    None => return None,
                }
            }
            None
        };
        if t.devices
            .iter()
            .any(|d| d.pci.as_ref().is_some_and(|p| p.model.is_expander()))
        {
            m.notes.push("expander buses (pxb, pxb-pcie) are counted as part of the root bus; their IO was not measured".into());
        }
        // Built-in chipset functions.
        let chip: Vec<&ChipsetBar> = CHIPSET_BARS.iter().filter(|c| c.class == m.class).collect();
        for c in &chip {
            m.devices.push(DeviceIo {
                device: t.devices.iter().position(|d| {
                    c.xml.is_some_and(|(k, ty)| {
                        d.kind == k && d.ty.as_deref() == Some(ty) && d.index.unwrap_or(0) == 0
                    })
                }),
                addr: PciAddr::new(0, c.slot, c.function),
                label: c.name.to_string(),
                qemu_device: String::new(),
                bars: c.bars.to_vec(),
                source: BarSource::Measured,
                virtio: None,
                status: BarStatus::Assigned,
                chipset: true,
            });
        }
        // Devices.
        let mut placed: Vec<(u32, PciAddr, Item)> = Vec::new();
        for (k, b) in m.bridges.iter().enumerate() {
            placed.push((b.win.parent, b.win.addr, Item::Bridge(k)));
        }
        for (k, dio) in m.devices.iter().enumerate() {
            placed.push((0, dio.addr, Item::Device(k)));
        }
        for (i, d) in t.devices.iter().enumerate() {
            if d.pci.is_some() {
                continue;
            }
            let Some(addr) = d.pci_addr() else {
                continue;
            };
            if addr.bus == 0
                && chip
                    .iter()
                    .any(|c| (c.slot, c.function) == (addr.slot, addr.function))
            {
                continue;
            }
            let v = virtio
                .binary_search_by_key(&i, |v| v.device)
                .ok()
                .map(|k| &virtio[k]);
            // A virtio device's QEMU device and IO are known from its mode; only the
            // others need the model table (which costs on every key press).
            let (qemu_device, bars, source) = match v {
                Some(v) => {
                    let (bars, source) = if !v.mode.has_legacy() {
                        (Vec::new(), BarSource::Measured)
                    } else {
                        match v.family.and_then(|f| bar_row(f.qemu)) {
                            Some(r) => (r.bars.to_vec(), r.source),
                            None => (Vec::new(), BarSource::Unknown),
                        }
                    };
                    (v.qemu_device.clone(), bars, source)
                }
                None => {
                    let needs = d.needs(&t.machine);
                    if needs.slot == SlotClass::None && needs.qemu.is_empty() {
                        continue;
                    }
                    let (bars, source) = match bar_row(&needs.qemu) {
                        Some(r) => (r.bars.to_vec(), r.source),
                        None => (Vec::new(), BarSource::Unknown),
                    };
                    (needs.qemu, bars, source)
                }
            };
            let k = m.devices.len();
            m.devices.push(DeviceIo {
                device: Some(i),
                addr,
                label: device_label(d, t),
                qemu_device,
                bars,
                source,
                virtio: v.map(|v| v.mode),
                status: BarStatus::None,
                chipset: false,
            });
            placed.push((addr.bus, addr, Item::Device(k)));
        }
        placed.sort_by_key(|(_, a, _)| (a.slot, a.function));
        let mut unattached = 0;
        for (bus, _, item) in placed {
            match effective_parent(bus) {
                Some(0) => m.root.push(item),
                Some(b) => match bridge_of(b) {
                    Some(k) => m.bridges[k].children.push(item),
                    None => unattached += 1,
                },
                None => unattached += 1,
            }
        }
        if unattached > 0 {
            m.notes.push(format!(
                "{unattached} PCI function(s) sit on a bus that does not exist and are left out"
            ));
        }
        for k in 0..m.bridges.len() {
            let b = &mut m.bridges[k];
            b.win.empty_port = b.win.model.is_port() && b.children.is_empty();
        }
        // Scan order: depth first from the root, by slot and function.
        let mut order = Vec::new();
        let mut stack: Vec<Item> = m.root.iter().rev().copied().collect();
        let mut guard = 0;
        while let Some(it) = stack.pop() {
            guard += 1;
            if guard > 100_000 {
                break;
            }
            order.push(it);
            if let Item::Bridge(k) = it {
                stack.extend(m.bridges[k].children.iter().rev().copied());
            }
        }
        m.order = order;
        for dio in &mut m.devices {
            if dio.source == BarSource::Unknown {
                m.notes.push(format!(
                    "{} ({}): IO BARs unknown, counted as none",
                    dio.label,
                    if dio.qemu_device.is_empty() {
                        "?"
                    } else {
                        dio.qemu_device.as_str()
                    }
                ));
            }
            dio.status = if dio.bars.is_empty() {
                BarStatus::None
            } else {
                BarStatus::Assigned
            };
        }
        m
    }

    fn is_hotplug_bus_ovmf(&self, b: &Bridge) -> bool {
        match b.kind {
            Hotplug::Shpc => true,
            // pc-q35-6.1 hides the ports' native hotplug capability (ACPI hotplug).
            Hotplug::PciePort => b.win.hotplug && self.topo.machine.machine_type != "pc-q35-6.1",
            Hotplug::None => false,
        }
    }

    /// OVMF's padding for bridge `k` (before stripping).
    fn ovmf_padding(&self, k: usize) -> u32 {
        let b = &self.bridges[k];
        if !self.is_hotplug_bus_ovmf(b) {
            return 0;
        }
        match b.win.io_reserve.filter(|_| b.has_cap) {
            Some(0) => 0,
            Some(v) if v < u64::from(u32::MAX) => (v as u32).next_power_of_two(),
            _ => self.fw.hotplug_io_padding,
        }
    }

    // --- SeaBIOS -------------------------------------------------------------

    fn seabios_window(&mut self, k: usize, depth: u32) -> u32 {
        if depth > 64 {
            return 0;
        }
        let children = self.bridges[k].children.clone();
        let mut sum: u32 = 0;
        for c in children {
            sum += match c {
                Item::Device(d) => self.devices[d].total(),
                Item::Bridge(b) => self.seabios_window(b, depth + 1),
            };
        }
        let b = &mut self.bridges[k];
        let mut reasons = Vec::new();
        if sum > 0 {
            reasons.push(WindowReason::Devices);
        }
        if b.kind == Hotplug::Shpc && sum == 0 {
            sum = GRANULE;
            reasons.push(WindowReason::Shpc);
        }
        if let Some(v) = b.win.io_reserve.filter(|_| b.has_cap)
            && v != u64::MAX
            && v > u64::from(sum)
        {
            sum = v.min(0x10000) as u32;
            reasons = vec![if b.reserve_61 {
                WindowReason::Machine61
            } else {
                WindowReason::IoReserve
            }];
        }
        b.win.reasons = reasons;
        let w = align(sum, GRANULE);
        b.win.consumes = w;
        b.win.size = if b.win.read_only { 0 } else { w };
        w
    }

    fn seabios(&mut self) -> (u32, u32, Outcome) {
        let roots = self.root.clone();
        let mut total: u32 = 0;
        for it in roots {
            total += match it {
                Item::Device(d) => self.devices[d].total(),
                Item::Bridge(b) => self.seabios_window(b, 0),
            };
        }
        let budget = self.fw.budget(self.class).unwrap_or(0);
        if total < budget {
            self.mark_unreachable();
            (total, total, Outcome::Fits)
        } else {
            for b in &mut self.bridges {
                b.win.size = 0;
            }
            for d in &mut self.devices {
                if !d.bars.is_empty() {
                    d.status = BarStatus::NotProgrammed;
                }
            }
            (total, total, Outcome::BootFailure)
        }
    }

    // --- OVMF ----------------------------------------------------------------

    /// Lays out `items` like edk2: bridge nodes first, highest-numbered first, each at
    /// a 4 KiB boundary; then device BARs, largest first, each aligned to its size.
    /// Returns the end offset.
    fn ovmf_layout(&mut self, items: &[Item], pad: &[u32], depth: u32) -> u32 {
        let mut off: u32 = 0;
        for it in items.iter().rev() {
            if let Item::Bridge(b) = *it {
                let len = self.ovmf_node(b, pad, depth + 1);
                if len > 0 {
                    off = align(off, GRANULE) + len;
                }
            }
        }
        let mut bars: Vec<u32> = items
            .iter()
            .filter_map(|it| match *it {
                Item::Device(d) if self.devices[d].status != BarStatus::Dropped => {
                    Some(self.devices[d].bars.clone())
                }
                _ => None,
            })
            .flatten()
            .collect();
        bars.sort_unstable_by(|a, b| b.cmp(a));
        for s in bars {
            off = align(off, s) + s;
        }
        off
    }

    /// The node length of bridge `k`: max(children rounded up to 4 KiB, padding).
    fn ovmf_node(&mut self, k: usize, pad: &[u32], depth: u32) -> u32 {
        if depth > 64 {
            return 0;
        }
        let children = self.bridges[k].children.clone();
        let c = align(self.ovmf_layout(&children, pad, depth), GRANULE);
        let p = pad[k];
        let len = c.max(p);
        let b = &mut self.bridges[k];
        b.win.consumes = len;
        b.win.size = if b.win.read_only {
            0
        } else {
            align(len, GRANULE)
        };
        let mut reasons = Vec::new();
        if c > 0 {
            reasons.push(WindowReason::Devices);
        }
        if p > 0 && p >= c {
            reasons.push(match b.win.io_reserve {
                Some(_) if b.reserve_61 => WindowReason::Machine61,
                Some(_) => WindowReason::IoReserve,
                None => WindowReason::HotplugPadding,
            });
        }
        b.win.reasons = reasons;
        len
    }

    fn ovmf(&mut self) -> (u32, u32, Outcome) {
        let budget = self.fw.budget(self.class).unwrap_or(0);
        let initial: Vec<u32> = (0..self.bridges.len())
            .map(|k| self.ovmf_padding(k))
            .collect();
        for (k, p) in initial.iter().enumerate() {
            self.bridges[k].win.padding = *p;
        }
        let mut pad = initial.clone();
        let roots = self.root.clone();
        let demand = self.ovmf_layout(&roots, &pad, 0);
        let mut used = demand;
        let mut stripped = false;
        let mut dropped = false;
        let mut rounds = 0;
        while used > budget && rounds < 10_000 {
            rounds += 1;
            // The longest IO node off bus 0; ties go to the first in scan order.
            let mut best: Option<(u32, Item)> = None;
            for &it in &self.order {
                let len = match it {
                    Item::Bridge(b) => pad[b],
                    Item::Device(d) => {
                        let dio = &self.devices[d];
                        let on_root = self.root.contains(&it);
                        if on_root || dio.status == BarStatus::Dropped {
                            0
                        } else {
                            dio.bars.iter().copied().max().unwrap_or(0)
                        }
                    }
                };
                if len > 0 && best.is_none_or(|(l, _)| len > l) {
                    best = Some((len, it));
                }
            }
            let Some((_, victim)) = best else {
                self.notes.push("the root bus's own IO BARs do not fit OVMF's aperture; OVMF cannot drop devices on bus 0".into());
                break;
            };
            self.victims.push(victim);
            match victim {
                Item::Bridge(b) => {
                    pad[b] = 0;
                    self.bridges[b].win.padding_stripped = true;
                    stripped = true;
                }
                Item::Device(d) => {
                    self.devices[d].status = BarStatus::Dropped;
                    dropped = true;
                }
            }
            used = self.ovmf_layout(&roots, &pad, 0);
        }
        self.mark_unreachable();
        let outcome = if dropped {
            Outcome::DevicesDropped
        } else if stripped {
            Outcome::PaddingStripped
        } else {
            Outcome::Fits
        };
        (demand, used, outcome)
    }

    /// Devices below a read-only (io-reserve=0) port get addresses nobody forwards.
    fn mark_unreachable(&mut self) {
        let mut stack: Vec<(Item, bool)> = self.root.iter().map(|&i| (i, false)).collect();
        let mut guard = 0;
        while let Some((it, blocked)) = stack.pop() {
            guard += 1;
            if guard > 100_000 {
                break;
            }
            match it {
                Item::Device(d) => {
                    let dio = &mut self.devices[d];
                    if blocked && dio.status == BarStatus::Assigned {
                        dio.status = BarStatus::Unreachable;
                    }
                }
                Item::Bridge(b) => {
                    let ro = blocked || self.bridges[b].win.read_only;
                    for &c in &self.bridges[b].children {
                        stack.push((c, ro));
                    }
                }
            }
        }
    }
}

/// Plans the IO port space of `t` (a fully addressed topology gives exact results;
/// devices without a PCI address are left out) under `fw`.
pub fn plan(t: &Topology, fw: &'static Firmware, settings: &IoSettings) -> IoPlan {
    plan_with(t, fw, settings, &virtio_devices(t))
}

/// [`plan`] with the virtio modes already known (`virtio` as [`virtio_devices`]
/// returns it: sorted by device), so that the live analyses work them out once.
pub fn plan_with(
    t: &Topology,
    fw: &'static Firmware,
    settings: &IoSettings,
    virtio: &[VirtioInfo],
) -> IoPlan {
    let mut m = Model::build(t, fw, settings, virtio);
    let Some(budget) = fw.budget(m.class).filter(|_| t.machine.arch.is_x86()) else {
        m.notes.push(format!(
            "machine class {}: virt-pci models the IO port space of x86 q35 and i440fx only",
            m.class.name()
        ));
        return IoPlan {
            firmware: fw,
            class: m.class,
            budget: 0,
            demand: 0,
            used: 0,
            outcome: Outcome::NotModelled,
            windows: Vec::new(),
            devices: Vec::new(),
            dropped: Vec::new(),
            stripped: Vec::new(),
            notes: m.notes,
        };
    };
    let (demand, used, outcome) = match fw.kind {
        FirmwareKind::SeaBios => m.seabios(),
        FirmwareKind::Ovmf => m.ovmf(),
    };
    // Report in scan order.
    let mut windows = Vec::new();
    let mut devices = Vec::new();
    let mut dev_pos = vec![usize::MAX; m.devices.len()];
    for &it in &m.order {
        match it {
            Item::Bridge(b) => windows.push(m.bridges[b].win.clone()),
            Item::Device(d) => {
                dev_pos[d] = devices.len();
                devices.push(m.devices[d].clone());
            }
        }
    }
    let mut dropped = Vec::new();
    let mut stripped = Vec::new();
    for v in &m.victims {
        match *v {
            Item::Device(d) => dropped.push(dev_pos[d]),
            Item::Bridge(b) => stripped.push(m.bridges[b].win.index),
        }
    }
    IoPlan {
        firmware: fw,
        class: m.class,
        budget,
        demand,
        used,
        outcome,
        windows,
        devices,
        dropped,
        stripped,
        notes: m.notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;
    use crate::topology::{Origin, PciController};

    fn topo(machine: &str, devices: Vec<Device>) -> Topology {
        Topology::new(machine, devices)
    }

    fn at(mut d: Device, bus: u32, slot: u8, function: u8) -> Device {
        d.address = Some(Address::Pci {
            addr: PciAddr::new(bus, slot, function),
            multifunction: None,
        });
        d
    }

    fn ctl(index: u32, model: PciModel) -> Device {
        let mut d = Device::new(Origin(1000 + index), Kind::Controller);
        d.ty = Some("pci".into());
        d.index = Some(index);
        d.model = Some(model.name().into());
        d.pci = Some(PciController::new(model));
        d
    }

    fn net(model: &str) -> Device {
        let mut d = Device::new(Origin(1), Kind::Interface);
        d.ty = Some("network".into());
        d.model = Some(model.into());
        d
    }

    fn blk(model: &str) -> Device {
        let mut d = Device::new(Origin(2), Kind::Disk);
        d.bus = Some("virtio".into());
        d.model = Some(model.into());
        d
    }

    /// n root ports at 00:02.0.., each holding what `dev(i)` gives.
    fn root_ports(n: u32, dev: impl Fn(u32) -> Option<Device>) -> Vec<Device> {
        let mut v = Vec::new();
        for i in 1..=n {
            let slot = 2 + ((i - 1) / 8) as u8;
            let f = ((i - 1) % 8) as u8;
            v.push(at(ctl(i, PciModel::PcieRootPort), 0, slot, f));
            if let Some(d) = dev(i) {
                v.push(at(d, i, 0, 0));
            }
        }
        v
    }

    fn fw(id: &str) -> &'static Firmware {
        firmware(id).expect("profile")
    }

    #[test]
    fn seabios_q35_fits_14_transitional_root_ports_and_panics_at_15() {
        for (n, outcome) in [(14, Outcome::Fits), (15, Outcome::BootFailure)] {
            let t = topo(
                "pc-q35-7.2",
                root_ports(n, |_| Some(net("virtio-transitional"))),
            );
            let p = plan(&t, fw("seabios"), &IoSettings::default());
            assert_eq!(p.outcome, outcome, "n={n}");
            assert_eq!(p.used, n * 0x1000 + 0x60);
        }
    }

    #[test]
    fn ovmf_q35_keeps_9_and_drops_the_lowest_numbered_equal_devices() {
        let t = topo(
            "pc-q35-7.2",
            root_ports(11, |_| Some(net("virtio-transitional"))),
        );
        let p = plan(&t, fw("ovmf-2022"), &IoSettings::default());
        assert_eq!(p.outcome, Outcome::DevicesDropped);
        let dropped: Vec<u32> = p.dropped.iter().map(|&i| p.devices[i].addr.bus).collect();
        assert_eq!(dropped, [1, 2]);
        assert_eq!(p.windows.iter().filter(|w| w.size > 0).count(), 9);
        assert_eq!(p.window(1).map(|w| w.size), Some(0));
        assert!(p.windows.iter().all(|w| w.padding_stripped));
    }

    #[test]
    fn ovmf_drops_the_largest_io_bar_first() {
        // 10 transitional NICs on root ports and one bridge with three virtio-blk.
        let mut devs = root_ports(11, |i| (i <= 10).then(|| net("virtio-transitional")));
        devs.push(at(ctl(12, PciModel::PcieToPciBridge), 11, 0, 0));
        for s in 1..=3 {
            devs.push(at(blk("virtio-transitional"), 12, s, 0));
        }
        let t = topo("pc-q35-7.2", devs);
        let p = plan(&t, fw("ovmf-2022"), &IoSettings::default());
        let dropped: Vec<String> = p.dropped.iter().map(|&i| p.devices[i].addr.bdf()).collect();
        assert_eq!(dropped, ["0c:01.0", "0c:02.0", "0c:03.0", "01:00.0"]);
    }

    #[test]
    fn ovmf_2022_pads_empty_ports_and_the_last_one_overlaps() {
        for (n, open) in [(10, 10), (11, 10), (24, 10)] {
            let t = topo("pc-q35-7.2", root_ports(n, |_| None));
            let p = plan(&t, fw("ovmf-2022"), &IoSettings::default());
            assert_eq!(
                p.windows.iter().filter(|w| w.size > 0).count(),
                open,
                "n={n}"
            );
            let p = plan(&t, fw("ovmf"), &IoSettings::default());
            assert_eq!(p.windows.iter().filter(|w| w.size > 0).count(), 0);
            let p = plan(&t, fw("seabios"), &IoSettings::default());
            assert_eq!(p.windows.iter().filter(|w| w.size > 0).count(), 0);
        }
        // 8 transitional + 4 empty: rp12 keeps its padding, rp9-rp11 lose it.
        let t = topo(
            "pc-q35-7.2",
            root_ports(12, |i| (i <= 8).then(|| net("virtio-transitional"))),
        );
        let p = plan(&t, fw("ovmf-2022"), &IoSettings::default());
        assert_eq!(p.outcome, Outcome::PaddingStripped);
        let open: Vec<u32> = p
            .windows
            .iter()
            .filter(|w| w.size > 0)
            .map(|w| w.index)
            .collect();
        assert_eq!(open, [1, 2, 3, 4, 5, 6, 7, 8, 12]);
    }

    #[test]
    fn a_bridge_shares_one_window_and_seabios_gives_shpc_4k() {
        let mut devs = vec![at(ctl(1, PciModel::PcieRootPort), 0, 2, 0)];
        devs.push(at(ctl(2, PciModel::PcieToPciBridge), 1, 0, 0));
        for s in 1..=20 {
            devs.push(at(blk("virtio-transitional"), 2, s, 0));
        }
        devs.push(at(ctl(3, PciModel::PcieRootPort), 0, 2, 1));
        devs.push(at(ctl(4, PciModel::PcieToPciBridge), 3, 0, 0));
        let t = topo("pc-q35-7.2", devs);
        let p = plan(&t, fw("seabios"), &IoSettings::default());
        // 20 * 0x80 = 0xa00 of BARs: one 4K window on the bridge and on its port.
        assert_eq!(p.window(2).map(|w| w.size), Some(0x1000));
        assert_eq!(p.window(1).map(|w| w.size), Some(0x1000));
        assert_eq!(
            p.window(4).map(|w| (w.size, w.reasons.clone())),
            Some((0x1000, vec![WindowReason::Shpc]))
        );
        assert_eq!(p.used, 0x2000 + 0x60);
    }

    #[test]
    fn io_reserve_zero_budgets_but_never_forwards() {
        let t = topo(
            "pc-q35-7.2",
            root_ports(2, |_| Some(net("virtio-transitional"))),
        );
        let s = IoSettings {
            io_reserve: vec![(1, 0)],
            global_root_port_io_reserve: None,
        };
        for f in ["seabios", "ovmf-2022"] {
            let p = plan(&t, fw(f), &s);
            let w = p.window(1).expect("rp1");
            assert!(w.read_only && w.size == 0 && w.consumes > 0, "{f}: {w:?}");
            let d = p
                .devices
                .iter()
                .find(|d| d.addr.bus == 1)
                .expect("net on rp1");
            assert_eq!(d.status, BarStatus::Unreachable, "{f}");
        }
    }

    #[test]
    fn machine_61_root_ports_reserve_io_under_seabios() {
        let t = topo("pc-q35-6.1", root_ports(15, |_| None));
        let p = plan(&t, fw("seabios"), &IoSettings::default());
        assert_eq!(p.outcome, Outcome::BootFailure);
        let t = topo("pc-q35-6.1", root_ports(14, |_| None));
        let p = plan(&t, fw("seabios"), &IoSettings::default());
        assert_eq!(p.outcome, Outcome::Fits);
        assert!(
            p.windows
                .iter()
                .all(|w| w.reasons == [WindowReason::Machine61])
        );
    }

    #[test]
    fn i440fx_budgets() {
        let mk = |n: u32| {
            let mut v = Vec::new();
            for i in 1..=n {
                v.push(at(ctl(i, PciModel::PciBridge), 0, 2 + i as u8, 0));
                v.push(at(net("virtio"), i, 1, 0));
            }
            topo("pc-i440fx-7.2", v)
        };
        assert_eq!(
            plan(&mk(8), fw("seabios"), &IoSettings::default()).outcome,
            Outcome::Fits
        );
        assert_eq!(
            plan(&mk(9), fw("seabios"), &IoSettings::default()).outcome,
            Outcome::BootFailure
        );
        let p = plan(&mk(4), fw("ovmf"), &IoSettings::default());
        assert_eq!(p.outcome, Outcome::DevicesDropped);
        assert_eq!(p.dropped.len(), 1);
    }

    #[test]
    fn table_sizes_are_powers_of_two_and_unique() {
        for (i, r) in IO_BARS.iter().enumerate() {
            assert!(r.bars.iter().all(|b| b.is_power_of_two()), "{}", r.qemu);
            assert!(
                IO_BARS[i + 1..].iter().all(|o| o.qemu != r.qemu),
                "{}",
                r.qemu
            );
        }
        for f in FIRMWARES {
            assert!(
                f.budget(MachineClass::Q35).is_some() && f.budget(MachineClass::Virt).is_none()
            );
        }
        assert_eq!(firmware("ovmf-2025").map(|f| f.id), Some("ovmf"));
    }
}
