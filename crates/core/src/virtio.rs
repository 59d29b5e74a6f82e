//! Virtio modes: for every virtio device, whether QEMU makes it transitional (legacy IO
//! BAR plus modern), modern-only or legacy-only, or puts it on virtio-mmio; the QEMU
//! device libvirt uses, the PCI id the guest sees, and why, in plain words.
//!
//! The rule (QEMU 7.2 `virtio_pci_realize`): the generic `virtio-*-pci` types resolve
//! `disable-legacy=auto` to *on* (modern-only) when the bus is PCI Express and not a
//! root bus (a root or downstream port) and to *off* (transitional) everywhere else;
//! `-transitional` types always keep the legacy interface, `-non-transitional` never
//! do; some device types exist in modern form only; machine types up to 2.6 make every
//! virtio device legacy-only.

use super::address::Address;
use super::device::VirtioForm;
use super::pci::PciModel;
use super::topology::{ControllerMap, Topology};

/// How a virtio device presents itself to the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Legacy IO BAR plus the modern interface: every virtio driver works.
    Transitional,
    /// virtio 1.0 only, no IO BAR: needs a virtio 1.0 driver.
    ModernOnly,
    /// Legacy interface only (machine types up to 2.6): needs a legacy driver.
    LegacyOnly,
    /// On the virtio-mmio transport: no PCI, no IO port space.
    Mmio,
}

impl Mode {
    /// The name used in output and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Transitional => "transitional",
            Mode::ModernOnly => "modern-only",
            Mode::LegacyOnly => "legacy-only",
            Mode::Mmio => "virtio-mmio",
        }
    }

    /// A guest with only a legacy driver can use it.
    pub fn has_legacy(self) -> bool {
        matches!(self, Mode::Transitional | Mode::LegacyOnly)
    }

    /// A guest with only a virtio 1.0 driver can use it (on PCI).
    pub fn has_modern(self) -> bool {
        matches!(self, Mode::Transitional | Mode::ModernOnly | Mode::Mmio)
    }
}

/// One virtio device type as the guest sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct Family {
    /// The QEMU device of the plain model (no `-transitional` suffix).
    pub qemu: &'static str,
    /// osinfo-db's name of the device (`net`, `blk`, ...).
    pub name: &'static str,
    /// The virtio device id; the modern PCI device id is 0x1040 plus it.
    pub virtio_id: u16,
    /// The legacy (transitional) PCI device id, for types that have a legacy interface.
    pub legacy_id: Option<u16>,
}

impl Family {
    /// The PCI device id of the modern-only form.
    pub fn modern_id(&self) -> u16 {
        0x1040 + self.virtio_id
    }
}

/// The Red Hat / virtio PCI vendor id.
pub const VIRTIO_VENDOR: u16 = 0x1af4;

const fn fam(qemu: &'static str, name: &'static str, virtio_id: u16, legacy: u16) -> Family {
    Family {
        qemu,
        name,
        virtio_id,
        legacy_id: if legacy == 0 { None } else { Some(legacy) },
    }
}

/// Every virtio PCI device type libvirt creates, with its ids. Types without a legacy
/// id call `virtio_pci_force_virtio_1` in QEMU and are modern-only wherever they sit.
pub const FAMILIES: &[Family] = &[
    fam("virtio-net-pci", "net", 1, 0x1000),
    fam("virtio-blk-pci", "blk", 2, 0x1001),
    fam("virtio-balloon-pci", "balloon", 5, 0x1002),
    fam("virtio-serial-pci", "console", 3, 0x1003),
    fam("virtio-scsi-pci", "scsi", 8, 0x1004),
    fam("vhost-scsi-pci", "scsi", 8, 0x1004),
    fam("virtio-rng-pci", "rng", 4, 0x1005),
    fam("virtio-9p-pci", "9p", 9, 0x1009),
    fam("vhost-user-blk-pci", "blk", 2, 0x1001),
    fam("virtio-vga", "gpu", 16, 0),
    fam("virtio-gpu-pci", "gpu", 16, 0),
    fam("virtio-keyboard-pci", "input", 18, 0),
    fam("virtio-mouse-pci", "input", 18, 0),
    fam("virtio-tablet-pci", "input", 18, 0),
    fam("virtio-input-host-pci", "input", 18, 0),
    fam("vhost-vsock-pci", "vsock", 19, 0),
    fam("virtio-crypto-pci", "crypto", 20, 0),
    fam("virtio-iommu-pci", "iommu", 23, 0),
    fam("virtio-mem-pci", "mem", 24, 0),
    fam("virtio-sound-pci", "sound", 25, 0),
    fam("vhost-user-fs-pci", "fs", 26, 0),
    fam("virtio-pmem-pci", "pmem", 27, 0),
];

/// The family of a QEMU device name, with or without the `-transitional` /
/// `-non-transitional` suffix.
pub fn family(qemu: &str) -> Option<&'static Family> {
    let base = qemu
        .strip_suffix("-non-transitional")
        .or_else(|| qemu.strip_suffix("-transitional"))
        .unwrap_or(qemu);
    FAMILIES.iter().find(|f| f.qemu == base)
}

/// What virt-pci works out for one virtio device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtioInfo {
    /// Index into `Topology::devices`.
    pub device: usize,
    /// The mode.
    pub mode: Mode,
    /// How the XML spells the model.
    pub form: VirtioForm,
    /// The QEMU device libvirt creates.
    pub qemu_device: String,
    /// The device type, when virt-pci knows it.
    pub family: Option<&'static Family>,
    /// The PCI vendor and device id the guest sees (`None` on virtio-mmio or when the
    /// type is unknown).
    pub pci_id: Option<(u16, u16)>,
    /// The device is a PCI Express endpoint (it sits in a root or downstream port).
    pub express: bool,
    /// The bus (controller index) it sits on, when it has a PCI address.
    pub bus: Option<u32>,
    /// The model of that bus.
    pub bus_model: Option<PciModel>,
    /// The model after libvirt's defaults (`virtio`, `virtio-transitional`, ...).
    pub model: String,
    /// Which rule decided the mode; [`why`](Self::why) words it. Kept as data so that
    /// re-running the analyses after every edit builds no sentences nobody reads.
    pub rule: Rule,
}

/// The rule that decided a virtio device's mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Its address is virtio-mmio.
    Mmio,
    /// A QEMU 2.6-or-older machine type (named) makes every virtio-pci device legacy.
    LegacyMachine(String),
    /// The device type exists in virtio 1.0 form only.
    ModernType,
    /// Model `virtio-transitional`.
    TransitionalModel,
    /// Model `virtio-non-transitional`.
    NonTransitionalModel,
    /// Plain `virtio` in a PCIe root or downstream port.
    PlainInPort,
    /// Plain `virtio` without an address, on a machine whose default place for it is
    /// a PCIe port (`true`) or a conventional slot (`false`).
    PlainUnplaced(bool),
    /// Plain `virtio` on a root bus or conventional PCI.
    PlainConventional,
}

impl VirtioInfo {
    /// `1af4:1042`.
    pub fn pci_id_text(&self) -> Option<String> {
        self.pci_id.map(|(v, d)| format!("{v:04x}:{d:04x}"))
    }

    /// The explanation as one sentence chain.
    pub fn explanation(&self) -> String {
        self.why().join("; ")
    }

    /// The explanation in plain words, one step per entry.
    pub fn why(&self) -> Vec<String> {
        let mut why: Vec<String> = Vec::new();
        let model = &self.model;
        let qemu = &self.qemu_device;
        let bus_text = match (self.bus, self.bus_model) {
            (Some(b), Some(m)) if m.is_root() => format!("the root bus ({} #{b})", m.name()),
            (Some(b), Some(m)) => format!("{} #{b}", m.name()),
            (Some(b), None) => format!("bus {b}, which has no controller"),
            (None, _) => "no PCI address yet".into(),
        };
        match &self.rule {
            Rule::Mmio => {
                why.push("its address is type='virtio-mmio': a memory-mapped virtio device".into());
                why.push("no PCI function, no PCI id, no IO port space".into());
                return why;
            }
            Rule::LegacyMachine(mt) => why.push(format!(
                "machine type {mt} is 2.6 or older: QEMU's compat properties set disable-modern=on, disable-legacy=off on every virtio-pci device"
            )),
            Rule::ModernType => why.push(format!(
                "{qemu} exists in virtio 1.0 form only (QEMU forces virtio 1 for it)"
            )),
            Rule::TransitionalModel => why.push(format!(
                "model '{model}': libvirt uses {qemu}, which always keeps the legacy interface"
            )),
            Rule::NonTransitionalModel => why.push(format!(
                "model '{model}': libvirt uses {qemu}, which never has the legacy interface"
            )),
            Rule::PlainInPort | Rule::PlainUnplaced(_) | Rule::PlainConventional => {
                why.push(format!(
                    "model '{model}': libvirt uses the generic {qemu}, whose mode QEMU picks from the bus (disable-legacy=auto)"
                ));
                match self.rule {
                    Rule::PlainInPort => {
                        why.push(format!(
                            "it sits on {bus_text}, a PCI Express port that is not a root bus"
                        ));
                        why.push("so disable-legacy resolves to on: modern-only, no IO BAR".into());
                    }
                    // libvirt puts a plain virtio device on a PCIe port on pcie-root
                    // machines and on a conventional slot elsewhere.
                    Rule::PlainUnplaced(true) => why.push(
                        "it has no PCI address; libvirt will put it in a PCIe root port, so it will be modern-only".into(),
                    ),
                    Rule::PlainUnplaced(false) => why.push(
                        "it has no PCI address; libvirt will put it on a conventional PCI slot, so it will be transitional".into(),
                    ),
                    _ => {
                        why.push(format!(
                            "it sits on {bus_text}, which is a root bus or conventional PCI"
                        ));
                        why.push(
                            "so disable-legacy resolves to off: transitional, with a legacy IO BAR"
                                .into(),
                        );
                    }
                }
            }
        }
        let port = self.bus_model.is_some_and(PciModel::is_port);
        if self.mode == Mode::Transitional && port {
            why.push("in a PCIe port it is still a PCI Express endpoint, and its IO BAR needs the port's own 4 KiB IO window".into());
        }
        if let Some(id) = self.pci_id_text() {
            let range = if self.mode == Mode::ModernOnly {
                "the virtio 1.0 range"
            } else {
                "the legacy range, which virtio 1.0 drivers also bind"
            };
            why.push(format!("the guest sees PCI id {id}, in {range}"));
        }
        why
    }
}

/// Whether the machine type is one of QEMU's 2.6-or-older types, where compat
/// properties make virtio-pci legacy-only.
pub fn legacy_machine(t: &Topology) -> bool {
    let m = &t.machine;
    m.arch.is_x86()
        && (m.machine_type.starts_with("pc-i440fx-") || m.machine_type.starts_with("pc-q35-"))
        && m.version().is_some_and(|v| v <= (2, 6))
}

/// The QEMU device of a virtio device on virtio-mmio (`virtio-blk-pci` becomes
/// `virtio-blk-device`).
fn mmio_device(pci: &str) -> String {
    match pci {
        "virtio-vga" => "virtio-gpu-device".into(),
        _ => pci
            .strip_suffix("-pci")
            .map_or_else(|| pci.to_string(), |b| format!("{b}-device")),
    }
}

/// The virtio mode of device `i`, or `None` when it is not a virtio device.
pub fn virtio_of(t: &Topology, i: usize) -> Option<VirtioInfo> {
    virtio_in(t, &t.controller_map(), i)
}

/// [`virtio_of`] with the topology's controllers already indexed.
pub fn virtio_in(t: &Topology, controllers: &ControllerMap, i: usize) -> Option<VirtioInfo> {
    let d = t.devices.get(i)?;
    if d.pci.is_some() {
        return None;
    }
    let facts = d.facts(&t.machine);
    if facts.virtio == VirtioForm::No {
        return None;
    }
    let fam = family(&facts.qemu);
    let model = d
        .effective_model(&t.machine)
        .unwrap_or_else(|| "virtio".into());
    let mut info = VirtioInfo {
        device: i,
        mode: Mode::ModernOnly,
        form: facts.virtio,
        family: fam,
        pci_id: None,
        express: false,
        bus: None,
        bus_model: None,
        model,
        rule: Rule::ModernType,
        qemu_device: facts.qemu,
    };
    if matches!(d.address, Some(Address::VirtioMmio)) {
        info.mode = Mode::Mmio;
        info.qemu_device = mmio_device(&info.qemu_device);
        info.rule = Rule::Mmio;
        return Some(info);
    }
    let addr = d.pci_addr();
    info.bus = addr.map(|a| a.bus);
    info.bus_model = addr.and_then(|a| controllers.bus_model(t, a.bus));
    let port = info.bus_model.is_some_and(PciModel::is_port);
    let forced_modern =
        info.form == VirtioForm::ModernOnly || fam.is_some_and(|f| f.legacy_id.is_none());
    (info.mode, info.rule) = if legacy_machine(t) && !forced_modern {
        (
            Mode::LegacyOnly,
            Rule::LegacyMachine(t.machine.machine_type.clone()),
        )
    } else if forced_modern {
        (Mode::ModernOnly, Rule::ModernType)
    } else {
        match info.form {
            VirtioForm::Transitional => (Mode::Transitional, Rule::TransitionalModel),
            VirtioForm::NonTransitional => (Mode::ModernOnly, Rule::NonTransitionalModel),
            _ if port => (Mode::ModernOnly, Rule::PlainInPort),
            _ if addr.is_none() && t.machine.class.is_pcie() => {
                (Mode::ModernOnly, Rule::PlainUnplaced(true))
            }
            _ if addr.is_none() => (Mode::Transitional, Rule::PlainUnplaced(false)),
            _ => (Mode::Transitional, Rule::PlainConventional),
        }
    };
    // A virtio device in a root or downstream port gets the PCIe endpoint capability
    // whatever its mode; elsewhere it is a conventional PCI function.
    info.express = port && info.mode != Mode::LegacyOnly;
    info.pci_id = fam.map(|f| {
        let id = match info.mode {
            Mode::ModernOnly => f.modern_id(),
            _ => f.legacy_id.unwrap_or(f.modern_id()),
        };
        (VIRTIO_VENDOR, id)
    });
    Some(info)
}

/// The mode of every virtio device, in document order.
pub fn virtio_devices(t: &Topology) -> Vec<VirtioInfo> {
    let controllers = t.controller_map();
    (0..t.devices.len())
        .filter_map(|i| virtio_in(t, &controllers, i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::PciAddr;
    use crate::device::Kind;
    use crate::machine::Machine;
    use crate::topology::{Device, Origin, PciController};

    fn topo(machine: &str, devices: Vec<Device>) -> Topology {
        Topology::new(machine, devices)
    }

    fn ctl(index: u32, model: PciModel, bus: u32, slot: u8) -> Device {
        let mut d = Device::new(Origin(100 + index), Kind::Controller);
        d.ty = Some("pci".into());
        d.index = Some(index);
        d.model = Some(model.name().into());
        d.pci = Some(PciController::new(model));
        d.address = Some(Address::Pci {
            addr: PciAddr::new(bus, slot, 0),
            multifunction: None,
        });
        d
    }

    fn net(model: &str, bus: u32, slot: u8) -> Device {
        let mut d = Device::new(Origin(slot as u32), Kind::Interface);
        d.ty = Some("network".into());
        d.model = Some(model.into());
        d.address = Some(Address::Pci {
            addr: PciAddr::new(bus, slot, 0),
            multifunction: None,
        });
        d
    }

    fn mode_of(t: &Topology, i: usize) -> (Mode, Option<String>) {
        let v = virtio_of(t, i).expect("a virtio device");
        (v.mode, v.pci_id_text())
    }

    #[test]
    fn plain_virtio_follows_the_bus() {
        let t = topo(
            "pc-q35-7.2",
            vec![
                ctl(1, PciModel::PcieRootPort, 0, 2),
                ctl(2, PciModel::PcieToPciBridge, 1, 0),
                net("virtio", 1, 0),
                net("virtio", 2, 1),
                net("virtio", 0, 3),
                net("virtio-transitional", 1, 0),
                net("virtio-non-transitional", 2, 2),
                net("e1000e", 0, 4),
            ],
        );
        assert_eq!(mode_of(&t, 2), (Mode::ModernOnly, Some("1af4:1041".into())));
        assert_eq!(
            mode_of(&t, 3),
            (Mode::Transitional, Some("1af4:1000".into()))
        );
        assert_eq!(mode_of(&t, 4).0, Mode::Transitional, "pcie.0 is a root bus");
        let v = virtio_of(&t, 5).expect("virtio");
        assert_eq!((v.mode, v.express), (Mode::Transitional, true));
        assert_eq!(v.qemu_device, "virtio-net-pci-transitional");
        assert!(v.explanation().contains("4 KiB"));
        assert_eq!(mode_of(&t, 6).0, Mode::ModernOnly);
        assert!(virtio_of(&t, 7).is_none(), "e1000e is not virtio");
        assert!(virtio_of(&t, 0).is_none(), "controllers are not virtio");
        assert!(!virtio_of(&t, 3).expect("virtio").express);
    }

    #[test]
    fn downstream_ports_are_ports_and_old_machines_are_legacy() {
        let t = topo(
            "pc-q35-2.6",
            vec![
                ctl(1, PciModel::PcieRootPort, 0, 2),
                ctl(2, PciModel::PcieSwitchUpstreamPort, 1, 0),
                ctl(3, PciModel::PcieSwitchDownstreamPort, 2, 0),
                net("virtio", 3, 0),
            ],
        );
        assert_eq!(mode_of(&t, 3).0, Mode::LegacyOnly);
        let mut t2 = t.clone();
        t2.machine = Machine::new("x86_64", "q35");
        assert_eq!(mode_of(&t2, 3).0, Mode::ModernOnly);
    }

    #[test]
    fn modern_only_types_and_mmio() {
        let mut gpu = Device::new(Origin(1), Kind::Video);
        gpu.model = Some("virtio".into());
        gpu.address = Some(Address::Pci {
            addr: PciAddr::new(0, 1, 0),
            multifunction: None,
        });
        let mut mmio = net("virtio", 0, 0);
        mmio.address = Some(Address::VirtioMmio);
        let t = topo("pc-i440fx-7.2", vec![gpu]);
        assert_eq!(mode_of(&t, 0), (Mode::ModernOnly, Some("1af4:1050".into())));
        let mut arm = topo("virt", vec![mmio]);
        arm.machine = Machine::new("aarch64", "virt");
        let v = virtio_of(&arm, 0).expect("virtio");
        assert_eq!((v.mode, v.pci_id), (Mode::Mmio, None));
        assert_eq!(v.qemu_device, "virtio-net-device");
    }

    #[test]
    fn every_family_has_consistent_ids() {
        for f in FAMILIES {
            assert!(
                f.modern_id() >= 0x1041 && f.modern_id() < 0x1080,
                "{}",
                f.qemu
            );
            if let Some(l) = f.legacy_id {
                assert!((0x1000..0x1040).contains(&l), "{}", f.qemu);
            }
            assert_eq!(
                family(&format!("{}-transitional", f.qemu)).map(|x| x.qemu),
                Some(f.qemu)
            );
        }
    }
}
