//! Target versions: the libvirt and QEMU releases virt-pci predicts, and every rule on
//! which they differ, as tables (measured against libvirt 9.0 + QEMU 7.2 of Debian 12
//! and libvirt 11.3 + QEMU 10.0 of Debian 13). Code asks [`Platform::libvirt_rules`]
//! and [`Platform::qemu_rules`] instead of comparing versions itself.

use super::machine::Arch;

/// A libvirt release virt-pci knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Libvirt {
    /// libvirt 9.0 (Debian 12).
    V9_0,
    /// libvirt 11.3 (Debian 13).
    V11_3,
}

/// A QEMU release virt-pci knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Qemu {
    /// QEMU 7.2 (Debian 12).
    V7_2,
    /// QEMU 10.0 (Debian 13).
    V10_0,
}

/// How many `<watchdog>` elements libvirt accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchdogCount {
    /// One in all ("only a single watchdog device is supported").
    One,
    /// Any number of the PCI model (i6300esb), at most one of every other model
    /// ("domain can only have one watchdog with model 'ib700'").
    OnePerModelExceptPci,
}

/// What one libvirt release does where releases differ.
#[derive(Debug)]
pub struct LibvirtRules {
    /// The release.
    pub version: Libvirt,
    /// Its name as users write it (`--libvirt 9.0`).
    pub name: &'static str,
    /// The distribution that ships it, for people.
    pub shipped_in: &'static str,
    /// Watchdog count rule.
    pub watchdogs: WatchdogCount,
    /// Watchdog models the release knows; another is refused ("unknown watchdog model").
    pub watchdog_models: &'static [&'static str],
    /// Watchdog models refused on any machine but i440fx ("ib700 model of watchdog
    /// cannot be used with this machine type": q35 and ARM virt); 9.0 does not check.
    pub watchdog_i440fx_only: &'static [&'static str],
    /// Watchdog models allowed only on q35 ("itco model of watchdog is only part of
    /// q35 machine").
    pub watchdog_q35_only: &'static [&'static str],
    /// Panic models the release knows (x86 and ARM); another is refused.
    pub panic_models: &'static [&'static str],
    /// More than one `<pstore>` is refused ("only a single pstore device is
    /// supported"); 9.0 accepts several.
    pub single_pstore: bool,
    /// Where the controllers libvirt adds go among the user's, which decides the
    /// order they take slots in: 11.x files each into place (by type, then index),
    /// so the default USB controller 0 it adds beside the user's USB 1 takes a slot
    /// first; 9.0 appends them after the user's, so the user's bridge 8 takes a slot
    /// before the added bridge 1, and the user's USB 1 before the added USB 0.
    pub added_controllers_sorted: bool,
    /// `<crypto>` is a device the release knows; 9.0 drops the element as it reads
    /// the domain (no address, no checks), 11.3 places virtio-crypto on PCI.
    pub knows_crypto: bool,
    /// A `usb-net` NIC is a USB device (11.3); 9.0 wants a PCI address for it that no
    /// slot can give ("connect flags 00") and refuses one written without an address.
    pub usb_net_on_usb: bool,
    /// An intel IOMMU with `intremap='on'` needs `<ioapic driver='qemu'/>` (9.0; 11.3
    /// leaves it to QEMU).
    pub intremap_needs_split_ioapic: bool,
    /// An empty drive (a cdrom with no media) is refused on the USB bus ("'usb' disk
    /// must not be empty", 11.3); 9.0 defines it.
    pub usb_drive_needs_media: bool,
}

/// The rules of every known libvirt release, oldest first.
pub const LIBVIRT: &[LibvirtRules] = &[
    LibvirtRules {
        version: Libvirt::V9_0,
        name: "9.0",
        shipped_in: "Debian 12",
        watchdogs: WatchdogCount::One,
        watchdog_models: &["i6300esb", "ib700", "diag288"],
        watchdog_i440fx_only: &[],
        watchdog_q35_only: &[],
        panic_models: &["isa", "hyperv", "pseries", "s390"],
        single_pstore: false,
        added_controllers_sorted: false,
        knows_crypto: false,
        usb_net_on_usb: false,
        intremap_needs_split_ioapic: true,
        usb_drive_needs_media: false,
    },
    LibvirtRules {
        version: Libvirt::V11_3,
        name: "11.3",
        shipped_in: "Debian 13",
        watchdogs: WatchdogCount::OnePerModelExceptPci,
        watchdog_models: &["i6300esb", "ib700", "diag288", "itco"],
        watchdog_i440fx_only: &["ib700"],
        watchdog_q35_only: &["itco"],
        panic_models: &["isa", "hyperv", "pseries", "s390", "pvpanic"],
        single_pstore: true,
        added_controllers_sorted: true,
        knows_crypto: true,
        usb_net_on_usb: true,
        intremap_needs_split_ioapic: false,
        usb_drive_needs_media: true,
    },
];

/// A machine-type family with versioned names (`pc-q35-7.2`) and its alias (`q35`).
#[derive(Debug)]
pub struct MachineFamily {
    /// Architectures whose QEMU has it.
    pub arches: &'static [Arch],
    /// Prefix of the versioned names, with the dash.
    pub prefix: &'static str,
    /// The unversioned alias that means the newest version.
    pub alias: &'static str,
    /// The oldest version this QEMU still has.
    pub first: (u32, u32),
    /// Versions outside the release series that exist as well (`pc-q35-4.0.1`).
    pub extra: &'static [&'static str],
}

/// What one QEMU release offers where releases differ.
#[derive(Debug)]
pub struct QemuRules {
    /// The release.
    pub version: Qemu,
    /// Its name (`--qemu 7.2`).
    pub name: &'static str,
    /// The distribution that ships it, for people.
    pub shipped_in: &'static str,
    /// Its own version: the newest machine-type version it has.
    pub newest: (u32, u32),
    /// Versioned machine families (`qemu-system-ARCH -machine help`).
    pub families: &'static [MachineFamily],
    /// Unversioned machine types of x86 besides the aliases; on x86 any other name
    /// is refused ("Emulator ... does not support machine type").
    pub x86_others: &'static [&'static str],
    /// The other boards of `qemu-system-aarch64 -machine help` (besides the virt
    /// family); any other name is refused the same way.
    pub arm_others: &'static [&'static str],
    /// virtio-blk can pass SCSI commands through (`<disk device='lun' bus='virtio'>`);
    /// QEMU 10.0 no longer can, and libvirt 11.3 refuses such a disk.
    pub virtio_blk_scsi: bool,
    /// The ARM QEMU has the VMware SVGA card (`<video><model type='vmvga'/>`): 7.2
    /// does, 10.0 does not.
    pub arm_vmvga: bool,
}

const X86: &[Arch] = &[Arch::X86_64, Arch::I686];
const ARM64: &[Arch] = &[Arch::Aarch64];

/// The rules of every known QEMU release, oldest first.
pub const QEMU: &[QemuRules] = &[
    QemuRules {
        version: Qemu::V7_2,
        name: "7.2",
        shipped_in: "Debian 12",
        newest: (7, 2),
        families: &[
            MachineFamily {
                arches: X86,
                prefix: "pc-i440fx-",
                alias: "pc",
                first: (1, 4),
                extra: &[],
            },
            MachineFamily {
                arches: X86,
                prefix: "pc-q35-",
                alias: "q35",
                first: (2, 4),
                extra: &["4.0.1"],
            },
            MachineFamily {
                arches: ARM64,
                prefix: "virt-",
                alias: "virt",
                first: (2, 6),
                extra: &[],
            },
        ],
        x86_others: &["isapc", "microvm", "none", "x-remote"],
        arm_others: &[
            "akita",
            "ast1030-evb",
            "ast2500-evb",
            "ast2600-evb",
            "bletchley-bmc",
            "borzoi",
            "canon-a1100",
            "cheetah",
            "collie",
            "connex",
            "cubieboard",
            "emcraft-sf2",
            "fby35-bmc",
            "fby35",
            "fp5280g2-bmc",
            "fuji-bmc",
            "g220a-bmc",
            "highbank",
            "imx25-pdk",
            "integratorcp",
            "kudo-bmc",
            "kzm",
            "lm3s6965evb",
            "lm3s811evb",
            "mainstone",
            "mcimx6ul-evk",
            "mcimx7d-sabre",
            "microbit",
            "midway",
            "mori-bmc",
            "mps2-an385",
            "mps2-an386",
            "mps2-an500",
            "mps2-an505",
            "mps2-an511",
            "mps2-an521",
            "mps3-an524",
            "mps3-an547",
            "musca-a",
            "musca-b1",
            "musicpal",
            "n800",
            "n810",
            "netduino2",
            "netduinoplus2",
            "none",
            "npcm750-evb",
            "nuri",
            "orangepi-pc",
            "palmetto-bmc",
            "qcom-dc-scm-v1-bmc",
            "qcom-firework-bmc",
            "quanta-gbs-bmc",
            "quanta-gsj",
            "quanta-q71l-bmc",
            "rainier-bmc",
            "raspi0",
            "raspi1ap",
            "raspi2b",
            "raspi3ap",
            "raspi3b",
            "realview-eb",
            "realview-eb-mpcore",
            "realview-pb-a8",
            "realview-pbx-a9",
            "romulus-bmc",
            "sabrelite",
            "sbsa-ref",
            "smdkc210",
            "sonorapass-bmc",
            "spitz",
            "stm32vldiscovery",
            "supermicrox11-bmc",
            "sx1",
            "sx1-v1",
            "tacoma-bmc",
            "terrier",
            "tosa",
            "verdex",
            "versatileab",
            "versatilepb",
            "vexpress-a15",
            "vexpress-a9",
            "witherspoon-bmc",
            "xilinx-zynq-a9",
            "xlnx-versal-virt",
            "xlnx-zcu102",
            "z2",
        ],
        virtio_blk_scsi: true,
        arm_vmvga: true,
    },
    QemuRules {
        version: Qemu::V10_0,
        name: "10.0",
        shipped_in: "Debian 13",
        newest: (10, 0),
        families: &[
            // QEMU 9.1 dropped pc-i440fx-1.4 to 2.3.
            MachineFamily {
                arches: X86,
                prefix: "pc-i440fx-",
                alias: "pc",
                first: (2, 4),
                extra: &[],
            },
            MachineFamily {
                arches: X86,
                prefix: "pc-q35-",
                alias: "q35",
                first: (2, 4),
                extra: &["4.0.1"],
            },
            MachineFamily {
                arches: ARM64,
                prefix: "virt-",
                alias: "virt",
                first: (2, 6),
                extra: &[],
            },
        ],
        x86_others: &["isapc", "microvm", "none", "x-remote"],
        arm_others: &[
            "ast1030-evb",
            "ast2500-evb",
            "ast2600-evb",
            "ast2700-evb",
            "ast2700a0-evb",
            "ast2700a1-evb",
            "b-l475e-iot01a",
            "bletchley-bmc",
            "bpim2u",
            "canon-a1100",
            "collie",
            "cubieboard",
            "emcraft-sf2",
            "fby35-bmc",
            "fby35",
            "fp5280g2-bmc",
            "fuji-bmc",
            "g220a-bmc",
            "highbank",
            "imx25-pdk",
            "imx8mp-evk",
            "integratorcp",
            "kudo-bmc",
            "kzm",
            "lm3s6965evb",
            "lm3s811evb",
            "mcimx6ul-evk",
            "mcimx7d-sabre",
            "microbit",
            "midway",
            "mori-bmc",
            "mps2-an385",
            "mps2-an386",
            "mps2-an500",
            "mps2-an505",
            "mps2-an511",
            "mps2-an521",
            "mps3-an524",
            "mps3-an536",
            "mps3-an547",
            "musca-a",
            "musca-b1",
            "musicpal",
            "netduino2",
            "netduinoplus2",
            "none",
            "npcm750-evb",
            "npcm845-evb",
            "nuri",
            "olimex-stm32-h405",
            "orangepi-pc",
            "palmetto-bmc",
            "qcom-dc-scm-v1-bmc",
            "qcom-firework-bmc",
            "quanta-gbs-bmc",
            "quanta-gsj",
            "quanta-q71l-bmc",
            "rainier-bmc",
            "raspi0",
            "raspi1ap",
            "raspi2b",
            "raspi3ap",
            "raspi3b",
            "raspi4b",
            "realview-eb",
            "realview-eb-mpcore",
            "realview-pb-a8",
            "realview-pbx-a9",
            "romulus-bmc",
            "sabrelite",
            "sbsa-ref",
            "smdkc210",
            "sonorapass-bmc",
            "stm32vldiscovery",
            "supermicro-x11spi-bmc",
            "supermicrox11-bmc",
            "sx1",
            "sx1-v1",
            "tiogapass-bmc",
            "versatileab",
            "versatilepb",
            "vexpress-a15",
            "vexpress-a9",
            "witherspoon-bmc",
            "xilinx-zynq-a9",
            "xlnx-versal-virt",
            "xlnx-zcu102",
            "yosemitev2-bmc",
        ],
        virtio_blk_scsi: false,
        arm_vmvga: false,
    },
];

/// QEMU's release series: each major version and its last minor (1.x starts at 1.4
/// in the tables above, so the series can start at 1.0).
const QEMU_SERIES: &[(u32, u32)] = &[
    (1, 7),
    (2, 12),
    (3, 1),
    (4, 2),
    (5, 2),
    (6, 2),
    (7, 2),
    (8, 2),
    (9, 2),
    (10, 0),
];

/// Why these versions were chosen, for the output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Given on the command line (or in the environment variable named).
    Given(&'static str),
    /// Found installed on this machine (`virsh --version` and the like).
    Installed(String),
    /// Nothing said and nothing found: the newest known release.
    Newest,
}

/// The libvirt + QEMU pair virt-pci predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Platform {
    /// libvirt release.
    pub libvirt: Libvirt,
    /// QEMU release.
    pub qemu: Qemu,
}

impl Default for Platform {
    /// The newest known pair.
    fn default() -> Platform {
        Platform::NEWEST
    }
}

impl Platform {
    /// libvirt 11.3 with QEMU 10.0.
    pub const NEWEST: Platform = Platform {
        libvirt: Libvirt::V11_3,
        qemu: Qemu::V10_0,
    };
    /// libvirt 9.0 with QEMU 7.2 (Debian 12).
    pub const DEBIAN12: Platform = Platform {
        libvirt: Libvirt::V9_0,
        qemu: Qemu::V7_2,
    };

    /// The libvirt table row.
    pub fn libvirt_rules(self) -> &'static LibvirtRules {
        LIBVIRT
            .iter()
            .find(|r| r.version == self.libvirt)
            .unwrap_or(&LIBVIRT[LIBVIRT.len() - 1])
    }

    /// The QEMU table row.
    pub fn qemu_rules(self) -> &'static QemuRules {
        QEMU.iter()
            .find(|r| r.version == self.qemu)
            .unwrap_or(&QEMU[QEMU.len() - 1])
    }

    /// `libvirt 9.0 + QEMU 7.2`.
    pub fn describe(self) -> String {
        format!(
            "libvirt {} + QEMU {}",
            self.libvirt_rules().name,
            self.qemu_rules().name
        )
    }
}

impl Libvirt {
    /// Parses `9.0`, `9.0.0`, `11.3.0` ...: the release with the same major and minor.
    pub fn parse(s: &str) -> Option<Libvirt> {
        let mm = major_minor(s)?;
        LIBVIRT
            .iter()
            .find(|r| major_minor(r.name) == Some(mm))
            .map(|r| r.version)
    }

    /// The names users may write.
    pub fn names() -> Vec<&'static str> {
        LIBVIRT.iter().map(|r| r.name).collect()
    }
}

impl Qemu {
    /// Parses `7.2`, `7.2.22`, `10.0.13` ...
    pub fn parse(s: &str) -> Option<Qemu> {
        let mm = major_minor(s)?;
        QEMU.iter()
            .find(|r| major_minor(r.name) == Some(mm))
            .map(|r| r.version)
    }

    /// The names users may write.
    pub fn names() -> Vec<&'static str> {
        QEMU.iter().map(|r| r.name).collect()
    }
}

/// `(major, minor)` of a dotted version.
fn major_minor(s: &str) -> Option<(u32, u32)> {
    let mut it = s.trim().split('.');
    let major = it.next()?.parse().ok()?;
    let minor = it.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((major, minor))
}

/// Whether QEMU `q` has machine type `name` on `arch`: `None` when virt-pci does not
/// know the arch's machine list (it then assumes yes).
pub fn machine_known(q: &QemuRules, arch: Arch, name: &str) -> Option<bool> {
    let mut families = q.families.iter().filter(|f| f.arches.contains(&arch));
    let listed = arch.is_x86() || arch == Arch::Aarch64;
    if !listed {
        return None;
    }
    if arch.is_x86() && q.x86_others.contains(&name) {
        return Some(true);
    }
    if arch == Arch::Aarch64 && q.arm_others.contains(&name) {
        return Some(true);
    }
    let known = families.any(|f| {
        if name == f.alias {
            return true;
        }
        let Some(v) = name.strip_prefix(f.prefix) else {
            return false;
        };
        if f.extra.contains(&v) {
            return true;
        }
        let mut parts = v.split('.');
        let (Some(ma), Some(mi), None) = (parts.next(), parts.next(), parts.next()) else {
            return false;
        };
        // Leading zeros or signs are not QEMU's spelling.
        let canonical =
            |p: &str| p == "0" || (!p.starts_with('0') && p.bytes().all(|b| b.is_ascii_digit()));
        if !canonical(ma) || !canonical(mi) {
            return false;
        }
        let (Ok(ma), Ok(mi)) = (ma.parse::<u32>(), mi.parse::<u32>()) else {
            return false;
        };
        let in_series = QEMU_SERIES.iter().any(|&(m, last)| m == ma && mi <= last);
        in_series && (ma, mi) >= f.first && (ma, mi) <= q.newest
    });
    Some(known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_lists_follow_each_qemu() {
        let q7 = Platform::DEBIAN12.qemu_rules();
        let q10 = Platform::NEWEST.qemu_rules();
        let x = Arch::X86_64;
        for (name, in7, in10) in [
            ("pc", true, true),
            ("q35", true, true),
            ("pc-q35-7.2", true, true),
            ("pc-q35-9.2", false, true),
            ("pc-q35-10.0", false, true),
            ("pc-q35-7.3", false, false),
            ("pc-q35-4.0.1", true, true),
            ("pc-q35-2.3", false, false),
            ("pc-i440fx-1.4", true, false),
            ("pc-i440fx-2.4", true, true),
            ("pc-q35-rhel9.4.0", false, false),
            ("pc-1.2", false, false),
            ("foobar", false, false),
            ("isapc", true, true),
            ("pc-q35-07.2", false, false),
        ] {
            assert_eq!(machine_known(q7, x, name), Some(in7), "7.2 {name}");
            assert_eq!(machine_known(q10, x, name), Some(in10), "10.0 {name}");
        }
        assert_eq!(machine_known(q7, Arch::Aarch64, "virt-8.0"), Some(false));
        assert_eq!(machine_known(q10, Arch::Aarch64, "virt-8.0"), Some(true));
        assert_eq!(machine_known(q7, Arch::Aarch64, "virt-2.5"), Some(false));
        assert_eq!(machine_known(q7, Arch::Riscv64, "virt"), None);
        // Other ARM boards come from each QEMU's own list; anything else is refused.
        assert_eq!(machine_known(q7, Arch::Aarch64, "foobar"), Some(false));
        assert_eq!(machine_known(q10, Arch::Aarch64, "sbsa-ref"), Some(true));
        assert_eq!(machine_known(q7, Arch::Aarch64, "raspi4b"), Some(false));
        assert_eq!(machine_known(q10, Arch::Aarch64, "raspi4b"), Some(true));
    }

    #[test]
    fn versions_parse_by_major_and_minor() {
        assert_eq!(Libvirt::parse("9.0.0"), Some(Libvirt::V9_0));
        assert_eq!(Libvirt::parse("11.3"), Some(Libvirt::V11_3));
        assert_eq!(Libvirt::parse("10.0"), None);
        assert_eq!(Qemu::parse("7.2.22"), Some(Qemu::V7_2));
        assert_eq!(Qemu::parse("10.0.13"), Some(Qemu::V10_0));
        assert_eq!(Qemu::parse("x"), None);
    }
}
