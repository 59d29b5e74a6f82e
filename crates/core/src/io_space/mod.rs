//! x86 IO port space: the IO BAR every device needs, the IO window every bridge and
//! port gets and why, the root budget of each firmware, and what the firmware does
//! when it runs out (SeaBIOS stops the boot; OVMF strips hotplug padding, then drops
//! whole devices, largest IO consumer first).
//!
//! The sizes and rules are QEMU 7.2, SeaBIOS 1.16 and OVMF 2022.11 / 2025.02 as
//! measured (`../shared/docs/qemu-ioport.md` sections 0, 4 and 5); the corpus in
//! `tests/io-corpus/` checks every prediction against the firmware's real assignment.

mod build;
mod ovmf;
mod seabios;
mod tables;

pub use tables::*;

use super::address::PciAddr;
use super::chipset::{ChipsetFunction, chipset};
use super::device::SlotClass;
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

/// The planner: the tree of bridges and functions one firmware walks, and what it
/// decided so far.
struct Planner<'a> {
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
    let mut m = Planner::build(t, fw, settings, virtio);
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
    use crate::device::Kind;
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
