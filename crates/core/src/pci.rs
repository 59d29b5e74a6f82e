//! PCI knowledge: connect flags and the table of the ten PCI controller models
//! (what each plugs into, what it accepts, its slots, hotplug, QEMU device).

/// A set of connect flags. On a bus it says what may be plugged in; on a device,
/// what kind of slot it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u32);

#[allow(missing_docs)]
impl Flags {
    pub const NONE: Flags = Flags(0);
    pub const AUTOASSIGN: Flags = Flags(1 << 0);
    pub const HOTPLUGGABLE: Flags = Flags(1 << 1);
    pub const INTEGRATED: Flags = Flags(1 << 2);
    pub const AGGREGATE_SLOT: Flags = Flags(1 << 3);
    pub const PCI_DEVICE: Flags = Flags(1 << 4);
    pub const PCIE_DEVICE: Flags = Flags(1 << 5);
    pub const ROOT_PORT: Flags = Flags(1 << 6);
    pub const UPSTREAM_PORT: Flags = Flags(1 << 7);
    pub const DOWNSTREAM_PORT: Flags = Flags(1 << 8);
    pub const DMI_TO_PCI_BRIDGE: Flags = Flags(1 << 9);
    pub const PCIE_TO_PCI_BRIDGE: Flags = Flags(1 << 10);
    pub const PCI_EXPANDER_BUS: Flags = Flags(1 << 11);
    pub const PCIE_EXPANDER_BUS: Flags = Flags(1 << 12);
    pub const PCI_BRIDGE: Flags = Flags(1 << 13);
    /// Every "type" bit.
    pub const TYPES: Flags = Flags(0x3ff0);
    /// The two endpoint bits.
    pub const ENDPOINTS: Flags = Flags((1 << 4) | (1 << 5));
}

impl Flags {
    /// Union.
    pub const fn or(self, o: Flags) -> Flags {
        Flags(self.0 | o.0)
    }
    /// True when every bit of `o` is set.
    pub const fn has(self, o: Flags) -> bool {
        self.0 & o.0 == o.0
    }
    /// True when any bit of `o` is set.
    pub const fn any(self, o: Flags) -> bool {
        self.0 & o.0 != 0
    }
    /// Intersection.
    pub const fn and(self, o: Flags) -> Flags {
        Flags(self.0 & o.0)
    }
    /// `self` without the bits of `o`.
    pub const fn without(self, o: Flags) -> Flags {
        Flags(self.0 & !o.0)
    }

    /// What a slot of this kind is called in messages, for the first type bit set
    /// (the order libvirt's messages use).
    pub fn slot_description(self) -> &'static str {
        const ORDER: &[(Flags, &str)] = &[
            (Flags::PCI_DEVICE, "standard PCI device"),
            (Flags::PCIE_DEVICE, "PCI Express device"),
            (Flags::ROOT_PORT, "pcie-root-port"),
            (Flags::UPSTREAM_PORT, "pcie-switch-upstream-port"),
            (Flags::DOWNSTREAM_PORT, "pcie-switch-downstream-port"),
            (Flags::DMI_TO_PCI_BRIDGE, "dmi-to-pci-bridge"),
            (Flags::PCIE_TO_PCI_BRIDGE, "pcie-to-pci-bridge"),
            (Flags::PCI_EXPANDER_BUS, "pci-expander-bus"),
            (Flags::PCIE_EXPANDER_BUS, "pcie-expander-bus"),
            (Flags::PCI_BRIDGE, "pci-bridge"),
        ];
        ORDER
            .iter()
            .find(|(f, _)| self.any(*f))
            .map_or("device", |(_, s)| s)
    }
}

/// The ten PCI controller models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum PciModel {
    PciRoot,
    PcieRoot,
    PciBridge,
    DmiToPciBridge,
    PcieToPciBridge,
    PcieRootPort,
    PcieSwitchUpstreamPort,
    PcieSwitchDownstreamPort,
    PciExpanderBus,
    PcieExpanderBus,
}

/// Everything known about one controller model.
#[derive(Debug)]
pub struct ModelInfo {
    /// The model.
    pub model: PciModel,
    /// libvirt's `model=` name.
    pub name: &'static str,
    /// The QEMU device libvirt uses by default (`<model name>`); empty for the roots,
    /// which are part of the machine.
    pub qemu_device: &'static str,
    /// Other QEMU devices accepted as `<model name>`.
    pub alt_qemu_devices: &'static [&'static str],
    /// What kind of slot the controller itself needs.
    pub connect: Flags,
    /// What its bus accepts (without hotplug, added separately).
    pub accepts: Flags,
    /// Whether its slots are hot-pluggable (unless `hotplug='off'`).
    pub hotplug: bool,
    /// Lowest and highest usable slot.
    pub slots: (u8, u8),
    /// Whether the bus is PCI Express (as opposed to conventional PCI).
    pub express: bool,
    /// A short phrase for people.
    pub summary: &'static str,
}

use Flags as F;

/// The table. One row per model; everything else derives from it.
pub const MODELS: &[ModelInfo] = &[
    ModelInfo {
        model: PciModel::PciRoot,
        name: "pci-root",
        qemu_device: "",
        alt_qemu_devices: &["spapr-pci-host-bridge"],
        connect: F::NONE,
        accepts: F::PCI_DEVICE
            .or(F::PCI_BRIDGE)
            .or(F::PCI_EXPANDER_BUS)
            .or(F::AUTOASSIGN),
        hotplug: true,
        slots: (1, 31),
        express: false,
        summary: "conventional PCI root bus (i440fx host bridge)",
    },
    ModelInfo {
        model: PciModel::PcieRoot,
        name: "pcie-root",
        qemu_device: "",
        alt_qemu_devices: &[],
        connect: F::NONE,
        accepts: F::PCIE_DEVICE
            .or(F::ROOT_PORT)
            .or(F::DMI_TO_PCI_BRIDGE)
            .or(F::PCIE_EXPANDER_BUS),
        hotplug: false,
        slots: (1, 31),
        express: true,
        summary: "PCI Express root complex",
    },
    ModelInfo {
        model: PciModel::PciBridge,
        name: "pci-bridge",
        qemu_device: "pci-bridge",
        alt_qemu_devices: &[],
        connect: F::PCI_BRIDGE,
        accepts: F::PCI_DEVICE.or(F::PCI_BRIDGE).or(F::AUTOASSIGN),
        hotplug: true,
        slots: (1, 31),
        express: false,
        summary: "PCI-to-PCI bridge with SHPC hotplug, 31 conventional slots",
    },
    ModelInfo {
        model: PciModel::DmiToPciBridge,
        name: "dmi-to-pci-bridge",
        qemu_device: "i82801b11-bridge",
        alt_qemu_devices: &[],
        connect: F::DMI_TO_PCI_BRIDGE,
        accepts: F::PCI_DEVICE.or(F::PCI_BRIDGE),
        hotplug: false,
        slots: (0, 31),
        express: false,
        summary: "DMI-to-PCI bridge (legacy way to get conventional slots on q35)",
    },
    ModelInfo {
        model: PciModel::PcieToPciBridge,
        name: "pcie-to-pci-bridge",
        qemu_device: "pcie-pci-bridge",
        alt_qemu_devices: &[],
        connect: F::PCIE_TO_PCI_BRIDGE,
        accepts: F::PCI_DEVICE.or(F::PCI_BRIDGE).or(F::AUTOASSIGN),
        hotplug: true,
        slots: (1, 31),
        express: false,
        summary: "PCIe-to-PCI bridge, 31 conventional slots behind a PCIe port",
    },
    ModelInfo {
        model: PciModel::PcieRootPort,
        name: "pcie-root-port",
        qemu_device: "pcie-root-port",
        alt_qemu_devices: &["ioh3420"],
        connect: F::ROOT_PORT.or(F::AGGREGATE_SLOT),
        accepts: F::PCIE_DEVICE
            .or(F::UPSTREAM_PORT)
            .or(F::PCIE_TO_PCI_BRIDGE)
            .or(F::AUTOASSIGN),
        hotplug: true,
        slots: (0, 0),
        express: true,
        summary: "PCIe root port, one slot",
    },
    ModelInfo {
        model: PciModel::PcieSwitchUpstreamPort,
        name: "pcie-switch-upstream-port",
        qemu_device: "x3130-upstream",
        alt_qemu_devices: &[],
        connect: F::UPSTREAM_PORT,
        accepts: F::DOWNSTREAM_PORT,
        hotplug: false,
        slots: (0, 31),
        express: true,
        summary: "upstream port of a PCIe switch",
    },
    ModelInfo {
        model: PciModel::PcieSwitchDownstreamPort,
        name: "pcie-switch-downstream-port",
        qemu_device: "xio3130-downstream",
        alt_qemu_devices: &[],
        connect: F::DOWNSTREAM_PORT,
        accepts: F::PCIE_DEVICE
            .or(F::UPSTREAM_PORT)
            .or(F::PCIE_TO_PCI_BRIDGE)
            .or(F::AUTOASSIGN),
        hotplug: true,
        slots: (0, 0),
        express: true,
        summary: "downstream port of a PCIe switch, one slot",
    },
    ModelInfo {
        model: PciModel::PciExpanderBus,
        name: "pci-expander-bus",
        qemu_device: "pxb",
        alt_qemu_devices: &[],
        connect: F::PCI_EXPANDER_BUS,
        accepts: F::PCI_DEVICE.or(F::PCI_BRIDGE).or(F::AUTOASSIGN),
        hotplug: true,
        slots: (0, 31),
        express: false,
        summary: "extra conventional PCI root bus (pxb), e.g. for a NUMA node",
    },
    ModelInfo {
        model: PciModel::PcieExpanderBus,
        name: "pcie-expander-bus",
        qemu_device: "pxb-pcie",
        alt_qemu_devices: &[],
        connect: F::PCIE_EXPANDER_BUS,
        accepts: F::ROOT_PORT.or(F::DMI_TO_PCI_BRIDGE),
        hotplug: false,
        slots: (0, 31),
        express: true,
        summary: "extra PCI Express root bus (pxb-pcie), e.g. for a NUMA node",
    },
];

impl PciModel {
    /// Every model, in table order.
    pub fn all() -> impl Iterator<Item = PciModel> {
        MODELS.iter().map(|m| m.model)
    }

    /// Parses libvirt's model name.
    pub fn from_name(name: &str) -> Option<PciModel> {
        MODELS.iter().find(|m| m.name == name).map(|m| m.model)
    }

    /// The table row.
    pub fn info(self) -> &'static ModelInfo {
        // The table lists the models in declaration order.
        &MODELS[self as usize]
    }

    /// libvirt's model name.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// True for pci-root and pcie-root.
    pub fn is_root(self) -> bool {
        matches!(self, PciModel::PciRoot | PciModel::PcieRoot)
    }

    /// True for the one-slot ports whose `<target>` carries chassis and port.
    pub fn is_port(self) -> bool {
        matches!(
            self,
            PciModel::PcieRootPort | PciModel::PcieSwitchDownstreamPort
        )
    }

    /// True for the expander buses, which carry a busNr.
    pub fn is_expander(self) -> bool {
        matches!(self, PciModel::PciExpanderBus | PciModel::PcieExpanderBus)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_declaration_order() {
        for (i, m) in MODELS.iter().enumerate() {
            assert_eq!(m.model as usize, i, "{}", m.name);
            assert_eq!(PciModel::from_name(m.name), Some(m.model));
        }
        assert_eq!(MODELS.len(), 10);
    }

    #[test]
    fn ports_have_one_slot_and_roots_no_device() {
        for m in MODELS {
            assert_eq!(m.slots == (0, 0), m.model.is_port(), "{}", m.name);
            assert_eq!(m.qemu_device.is_empty(), m.model.is_root(), "{}", m.name);
        }
    }

    #[test]
    fn slot_descriptions_follow_the_first_type_bit() {
        assert_eq!(
            Flags::PCI_DEVICE.or(Flags::AUTOASSIGN).slot_description(),
            "standard PCI device"
        );
        assert_eq!(
            Flags::ROOT_PORT
                .or(Flags::AGGREGATE_SLOT)
                .slot_description(),
            "pcie-root-port"
        );
    }
}
