//! Machines: guest architectures, machine-type names and the machine class each maps to.

/// Guest CPU architecture (`<os><type arch=...>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arch {
    /// 64-bit x86.
    X86_64,
    /// 32-bit x86.
    I686,
    /// 64-bit ARM.
    Aarch64,
    /// 32-bit ARM.
    Armv7l,
    /// 64-bit RISC-V.
    Riscv64,
    /// Anything else, kept by name.
    Other,
}

impl Arch {
    /// Parses libvirt's arch name.
    pub fn from_name(name: &str) -> Arch {
        match name {
            "x86_64" => Arch::X86_64,
            "i686" => Arch::I686,
            "aarch64" => Arch::Aarch64,
            "armv7l" | "armv6l" => Arch::Armv7l,
            "riscv64" | "riscv32" => Arch::Riscv64,
            _ => Arch::Other,
        }
    }

    /// True for the x86 family.
    pub fn is_x86(self) -> bool {
        matches!(self, Arch::X86_64 | Arch::I686)
    }

    /// True for ARM and RISC-V, where virtio-mmio is an alternative to PCI.
    pub fn has_virtio_mmio(self) -> bool {
        matches!(self, Arch::Aarch64 | Arch::Armv7l | Arch::Riscv64)
    }
}

/// The family of chipsets that decides the PCI layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MachineClass {
    /// x86 `pc`: i440fx host bridge and PIIX3, conventional PCI root bus (`pci-root`).
    I440fx,
    /// x86 `q35`: MCH + ICH9, PCI Express root complex (`pcie-root`).
    Q35,
    /// ARM / RISC-V `virt`: generic PCIe host bridge (`pcie-root`), virtio-mmio slots.
    Virt,
    /// Anything else (isapc, boards without PCI, unknown names).
    Other,
}

impl MachineClass {
    /// Short name used in output.
    pub fn name(self) -> &'static str {
        match self {
            MachineClass::I440fx => "i440fx",
            MachineClass::Q35 => "q35",
            MachineClass::Virt => "virt",
            MachineClass::Other => "other",
        }
    }

    /// True when the root bus is `pcie-root`.
    pub fn is_pcie(self) -> bool {
        matches!(self, MachineClass::Q35 | MachineClass::Virt)
    }
}

/// How a machine-type name maps to a class: exact aliases and versioned prefixes.
/// Debian and RHEL builds add their own versioned names (`pc-q35-rhel9.4.0`), which
/// the prefixes cover.
const MACHINE_NAMES: &[(&str, bool, MachineClass)] = &[
    // (name or prefix, is_prefix, class)
    ("pc", false, MachineClass::I440fx),
    ("pc-i440fx-", true, MachineClass::I440fx),
    ("pc-0.", true, MachineClass::I440fx),
    ("pc-1.", true, MachineClass::I440fx),
    ("rhel", true, MachineClass::I440fx),
    ("q35", false, MachineClass::Q35),
    ("pc-q35-", true, MachineClass::Q35),
    ("virt", false, MachineClass::Virt),
    ("virt-", true, MachineClass::Virt),
];

/// The guest's machine: arch, machine type as written, and its class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    /// Guest architecture.
    pub arch: Arch,
    /// Architecture name as written.
    pub arch_name: String,
    /// Machine type as written (may be empty when the domain leaves it to libvirt).
    pub machine_type: String,
    /// The class the machine type belongs to.
    pub class: MachineClass,
}

/// A machine type whose PCIe root ports behave unlike the other versions of its class.
#[derive(Debug, PartialEq, Eq)]
pub struct AcpiHotplugQuirk {
    /// The machine type, as libvirt writes it.
    pub machine_type: &'static str,
    /// The next version, which does not have it (the fix offered).
    pub fixed_by: &'static str,
    /// IO each generic root port with hotplug on reserves under SeaBIOS.
    pub io_per_port: u32,
    /// The most hotplug root ports SeaBIOS still boots with (measured).
    pub max_hotplug_ports: u32,
}

/// Machine types that put PCIe root ports under ACPI hotplug. On pc-q35-6.1 QEMU hides
/// the ports' native hotplug capability, so OVMF gives them no padding, and every
/// generic root port with hotplug on asks SeaBIOS for a 4 KiB IO window (with 15 of
/// them the space runs out). Measured under both firmwares; 6.2 went back to native
/// hotplug by default.
pub const ACPI_HOTPLUG_MACHINES: &[AcpiHotplugQuirk] = &[AcpiHotplugQuirk {
    machine_type: "pc-q35-6.1",
    fixed_by: "pc-q35-6.2",
    io_per_port: 0x1000,
    max_hotplug_ports: 14,
}];

impl Machine {
    /// The ACPI-hotplug quirk of this machine type, if it has one.
    pub fn acpi_hotplug_quirk(&self) -> Option<&'static AcpiHotplugQuirk> {
        ACPI_HOTPLUG_MACHINES
            .iter()
            .find(|q| q.machine_type == self.machine_type)
    }

    /// Classifies `machine_type` on `arch`. An empty machine type takes the arch's
    /// default, as libvirt does (`pc` on x86, `virt` on ARM and RISC-V).
    pub fn new(arch_name: &str, machine_type: &str) -> Machine {
        let arch = Arch::from_name(arch_name);
        let mt = if machine_type.is_empty() {
            match arch {
                Arch::X86_64 | Arch::I686 => "pc",
                Arch::Aarch64 | Arch::Armv7l | Arch::Riscv64 => "virt",
                Arch::Other => "",
            }
        } else {
            machine_type
        };
        let class = MACHINE_NAMES
            .iter()
            .find(|(n, prefix, _)| if *prefix { mt.starts_with(n) } else { mt == *n })
            .map_or(MachineClass::Other, |(_, _, c)| *c);
        // The virt names only mean the generic board on ARM and RISC-V.
        let class = match (class, arch) {
            (MachineClass::Virt, a) if !a.has_virtio_mmio() => MachineClass::Other,
            (MachineClass::I440fx | MachineClass::Q35, a) if !a.is_x86() => MachineClass::Other,
            (c, _) => c,
        };
        Machine {
            arch,
            arch_name: arch_name.to_string(),
            machine_type: mt.to_string(),
            class,
        }
    }

    /// The machine-type version (`7.2` of `pc-q35-7.2`), when the name carries one.
    pub fn version(&self) -> Option<(u32, u32)> {
        let v = self.machine_type.rsplit('-').next()?;
        let mut it = v.split('.');
        let major = it.next()?.parse().ok()?;
        let minor = it.next().and_then(|m| m.parse().ok()).unwrap_or(0);
        Some((major, minor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_names_map_to_classes() {
        for (arch, mt, class) in [
            ("x86_64", "pc", MachineClass::I440fx),
            ("x86_64", "pc-i440fx-7.2", MachineClass::I440fx),
            ("i686", "", MachineClass::I440fx),
            ("x86_64", "q35", MachineClass::Q35),
            ("x86_64", "pc-q35-9.2", MachineClass::Q35),
            ("x86_64", "pc-q35-rhel9.4.0", MachineClass::Q35),
            ("aarch64", "virt", MachineClass::Virt),
            ("aarch64", "virt-7.2", MachineClass::Virt),
            ("riscv64", "", MachineClass::Virt),
            ("x86_64", "isapc", MachineClass::Other),
            ("aarch64", "q35", MachineClass::Other),
            ("x86_64", "virt", MachineClass::Other),
        ] {
            assert_eq!(Machine::new(arch, mt).class, class, "{arch} {mt}");
        }
        assert_eq!(Machine::new("x86_64", "pc-q35-6.1").version(), Some((6, 1)));
    }
}
