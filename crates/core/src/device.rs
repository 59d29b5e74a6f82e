//! Device knowledge: every device kind libvirt can put on PCI, the slot each model
//! needs (conventional PCI, PCI Express, "virtio" which follows the machine), the QEMU
//! device libvirt uses, and the models libvirt picks when the XML names none.

use super::machine::{Arch, Machine, MachineClass};

/// What kind of element under `<devices>` a device is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Kind {
    Disk,
    Interface,
    Controller,
    Sound,
    Video,
    Hostdev,
    Memballoon,
    Rng,
    Watchdog,
    Input,
    Shmem,
    Filesystem,
    Vsock,
    Iommu,
    Panic,
    Crypto,
    Redirdev,
    Serial,
    Parallel,
    Channel,
    Console,
    Memory,
    Pstore,
    Tpm,
    Smartcard,
    Hub,
    Graphics,
    Audio,
    Nvram,
    Lease,
    Emulator,
    /// An element virt-pci does not know; kept and ignored.
    Unknown,
}

/// Element names, in libvirt's device-iteration order (the order in which it collects
/// addresses given in the XML).
pub const KIND_TAGS: &[(Kind, &str)] = &[
    (Kind::Disk, "disk"),
    (Kind::Interface, "interface"),
    (Kind::Sound, "sound"),
    (Kind::Hostdev, "hostdev"),
    (Kind::Video, "video"),
    (Kind::Controller, "controller"),
    (Kind::Smartcard, "smartcard"),
    (Kind::Serial, "serial"),
    (Kind::Parallel, "parallel"),
    (Kind::Channel, "channel"),
    (Kind::Console, "console"),
    (Kind::Input, "input"),
    (Kind::Filesystem, "filesystem"),
    (Kind::Watchdog, "watchdog"),
    (Kind::Memballoon, "memballoon"),
    (Kind::Rng, "rng"),
    (Kind::Nvram, "nvram"),
    (Kind::Hub, "hub"),
    (Kind::Shmem, "shmem"),
    (Kind::Tpm, "tpm"),
    (Kind::Panic, "panic"),
    (Kind::Memory, "memory"),
    (Kind::Redirdev, "redirdev"),
    (Kind::Iommu, "iommu"),
    (Kind::Vsock, "vsock"),
    (Kind::Crypto, "crypto"),
    (Kind::Pstore, "pstore"),
    (Kind::Graphics, "graphics"),
    (Kind::Audio, "audio"),
    (Kind::Lease, "lease"),
    (Kind::Emulator, "emulator"),
];

impl Kind {
    /// The kind of a `<devices>` child element.
    pub fn from_tag(tag: &str) -> Kind {
        KIND_TAGS
            .iter()
            .find(|(_, t)| *t == tag)
            .map_or(Kind::Unknown, |(k, _)| *k)
    }

    /// The element name.
    pub fn tag(self) -> &'static str {
        KIND_TAGS
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("?", |(_, t)| t)
    }

    /// Position in libvirt's device-iteration order.
    pub fn iteration_rank(self) -> usize {
        KIND_TAGS
            .iter()
            .position(|(k, _)| *k == self)
            .unwrap_or(KIND_TAGS.len())
    }
}

/// The kind of slot a device needs, before it is turned into connect flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SlotClass {
    /// Not a PCI device.
    None,
    /// Conventional PCI.
    Pci,
    /// PCI Express on PCIe machines, conventional PCI elsewhere.
    Pcie,
    /// "virtio": like Pcie (current QEMU has the (non-)transitional devices).
    Virtio,
}

/// One row of the device table.
#[derive(Debug)]
pub struct ModelRow {
    /// Device kind.
    pub kind: Kind,
    /// The model key (see [`model_key`]); `*` matches any other model.
    pub key: &'static str,
    /// The slot it needs.
    pub slot: SlotClass,
    /// Must sit on bus 0 (pcie-root / pci-root).
    pub integrated: bool,
    /// The QEMU device libvirt uses (empty when none or when it depends on more).
    pub qemu: &'static str,
    /// Whether it is a virtio device, and in which form.
    pub virtio: VirtioForm,
}

/// How a virtio device is spelled in the XML.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VirtioForm {
    /// Not virtio.
    No,
    /// Plain `virtio`: transitional on conventional PCI, modern-only on PCIe.
    Plain,
    /// `virtio-transitional`: legacy + modern, always conventional PCI.
    Transitional,
    /// `virtio-non-transitional`: modern only.
    NonTransitional,
    /// A virtio device that only exists in modern form (virtio-gpu, input, iommu, ...).
    ModernOnly,
}

const fn row(
    kind: Kind,
    key: &'static str,
    slot: SlotClass,
    qemu: &'static str,
    virtio: VirtioForm,
) -> ModelRow {
    ModelRow {
        kind,
        key,
        slot,
        integrated: false,
        qemu,
        virtio,
    }
}

use Kind as K;
use SlotClass as S;
use VirtioForm as V;

/// Devices with the three virtio spellings: (kind, key of the plain model, QEMU base name).
/// The key of the plain model differs for SCSI controllers (`virtio-scsi`).
pub const VIRTIO_FAMILIES: &[(Kind, &str, &str)] = &[
    (K::Disk, "virtio", "virtio-blk-pci"),
    (K::Interface, "virtio", "virtio-net-pci"),
    (K::Controller, "scsi/virtio-scsi", "virtio-scsi-pci"),
    (K::Controller, "virtio-serial/virtio", "virtio-serial-pci"),
    (K::Memballoon, "virtio", "virtio-balloon-pci"),
    (K::Rng, "virtio", "virtio-rng-pci"),
    (K::Filesystem, "virtio", "virtio-9p-pci"),
    (K::Vsock, "virtio", "vhost-vsock-pci"),
    (K::Hostdev, "scsi_host/virtio", "vhost-scsi-pci"),
];

/// The table of models that are not covered by [`VIRTIO_FAMILIES`].
pub const MODEL_TABLE: &[ModelRow] = &[
    row(K::Disk, "*", S::None, "", V::No),
    row(K::Interface, "e1000e", S::Pcie, "e1000e", V::No),
    row(K::Interface, "igb", S::Pcie, "igb", V::No),
    // The NIC models libvirt names itself and plugs into a conventional PCI slot
    // (whether or not QEMU has a PCI device of that name: lan9118 and netfront are
    // placed like the others). Both oracles agree on the list.
    row(K::Interface, "e1000", S::Pci, "e1000", V::No),
    row(K::Interface, "rtl8139", S::Pci, "rtl8139", V::No),
    row(K::Interface, "vmxnet3", S::Pci, "vmxnet3", V::No),
    row(K::Interface, "82540EM", S::Pci, "", V::No),
    row(K::Interface, "82545EM", S::Pci, "", V::No),
    row(K::Interface, "82543GC", S::Pci, "", V::No),
    row(K::Interface, "Am79C970A", S::Pci, "", V::No),
    row(K::Interface, "Am79C973", S::Pci, "", V::No),
    row(K::Interface, "vlance", S::Pci, "", V::No),
    row(K::Interface, "vmxnet", S::Pci, "", V::No),
    row(K::Interface, "vmxnet2", S::Pci, "", V::No),
    row(K::Interface, "lan9118", S::Pci, "", V::No),
    row(K::Interface, "netfront", S::Pci, "", V::No),
    // Not PCI at all: a USB device (libvirt 9.0 cannot place it without an
    // address, see `LibvirtRules::usb_net_placed`) and the pSeries VIO NIC, which
    // libvirt gives a spapr-vio address on any machine.
    row(K::Interface, "usb-net", S::None, "usb-net", V::No),
    row(K::Interface, "spapr-vlan", S::None, "spapr-vlan", V::No),
    row(K::Interface, "hostdev", S::Pcie, "vfio-pci", V::No),
    // Any model string libvirt does not know (QEMU's ne2k_pci, pcnet, i82559er, ...)
    // is placed as a PCI Express device, on a root port of q35.
    row(K::Interface, "ne2k_pci", S::Pcie, "ne2k_pci", V::No),
    row(K::Interface, "pcnet", S::Pcie, "pcnet", V::No),
    row(K::Interface, "*", S::Pcie, "", V::No),
    row(K::Controller, "usb/qemu-xhci", S::Pcie, "qemu-xhci", V::No),
    row(
        K::Controller,
        "usb/nec-xhci",
        S::Pcie,
        "nec-usb-xhci",
        V::No,
    ),
    row(
        K::Controller,
        "usb/piix3-uhci",
        S::Pci,
        "piix3-usb-uhci",
        V::No,
    ),
    row(
        K::Controller,
        "usb/piix4-uhci",
        S::Pci,
        "piix4-usb-uhci",
        V::No,
    ),
    row(K::Controller, "usb/ehci", S::Pci, "usb-ehci", V::No),
    row(
        K::Controller,
        "usb/ich9-ehci1",
        S::Pci,
        "ich9-usb-ehci1",
        V::No,
    ),
    row(
        K::Controller,
        "usb/ich9-uhci1",
        S::Pci,
        "ich9-usb-uhci1",
        V::No,
    ),
    row(
        K::Controller,
        "usb/ich9-uhci2",
        S::Pci,
        "ich9-usb-uhci2",
        V::No,
    ),
    row(
        K::Controller,
        "usb/ich9-uhci3",
        S::Pci,
        "ich9-usb-uhci3",
        V::No,
    ),
    row(
        K::Controller,
        "usb/vt82c686b-uhci",
        S::Pci,
        "vt82c686b-usb-uhci",
        V::No,
    ),
    row(K::Controller, "usb/pci-ohci", S::Pci, "pci-ohci", V::No),
    row(K::Controller, "usb/none", S::None, "", V::No),
    row(K::Controller, "usb/qusb1", S::None, "", V::No),
    row(K::Controller, "usb/qusb2", S::None, "", V::No),
    row(K::Controller, "usb/*", S::Pci, "", V::No),
    row(K::Controller, "sata/*", S::Pci, "ich9-ahci", V::No),
    row(K::Controller, "ide/*", S::Pci, "piix3-ide", V::No),
    row(K::Controller, "scsi/lsilogic", S::Pci, "lsi", V::No),
    row(
        K::Controller,
        "scsi/lsisas1068",
        S::Pci,
        "mptsas1068",
        V::No,
    ),
    row(K::Controller, "scsi/lsisas1078", S::Pci, "megasas", V::No),
    row(K::Controller, "scsi/vmpvscsi", S::Pci, "pvscsi", V::No),
    row(K::Controller, "scsi/am53c974", S::Pci, "am53c974", V::No),
    row(K::Controller, "scsi/dc390", S::Pci, "dc390", V::No),
    // The pSeries VIO SCSI controller is no PCI device; libvirt places it like a PCI
    // Express one on other machines.
    row(
        K::Controller,
        "scsi/ibmvscsi",
        S::Pcie,
        "spapr-vscsi",
        V::No,
    ),
    row(K::Controller, "scsi/ncr53c90", S::None, "", V::No),
    row(K::Controller, "scsi/*", S::Pci, "", V::No),
    row(K::Controller, "*", S::None, "", V::No),
    row(K::Sound, "ich6", S::Pci, "intel-hda", V::No),
    row(K::Sound, "ich9", S::Pci, "ich9-intel-hda", V::No),
    row(K::Sound, "ac97", S::Pci, "AC97", V::No),
    row(K::Sound, "es1370", S::Pci, "ES1370", V::No),
    row(
        K::Sound,
        "virtio",
        S::Virtio,
        "virtio-sound-pci",
        V::ModernOnly,
    ),
    row(K::Sound, "*", S::None, "", V::No),
    row(K::Video, "vga", S::Pci, "VGA", V::No),
    row(K::Video, "cirrus", S::Pci, "cirrus-vga", V::No),
    row(K::Video, "vmvga", S::Pci, "vmware-svga", V::No),
    row(K::Video, "qxl", S::Pci, "qxl-vga", V::No),
    row(K::Video, "xen", S::Pci, "", V::No),
    row(K::Video, "vbox", S::Pci, "", V::No),
    row(K::Video, "parallels", S::Pci, "", V::No),
    row(K::Video, "bochs", S::Pcie, "bochs-display", V::No),
    row(K::Video, "virtio", S::Virtio, "virtio-vga", V::ModernOnly),
    row(K::Video, "*", S::None, "", V::No),
    row(K::Hostdev, "pci", S::Pcie, "vfio-pci", V::No),
    row(K::Hostdev, "mdev", S::Pcie, "vfio-pci", V::No),
    row(K::Hostdev, "*", S::None, "", V::No),
    row(K::Memballoon, "*", S::None, "", V::No),
    row(K::Rng, "*", S::None, "", V::No),
    row(K::Watchdog, "i6300esb", S::Pci, "i6300esb", V::No),
    row(K::Watchdog, "*", S::None, "", V::No),
    row(
        K::Input,
        "virtio/keyboard",
        S::Virtio,
        "virtio-keyboard-pci",
        V::ModernOnly,
    ),
    row(
        K::Input,
        "virtio/mouse",
        S::Virtio,
        "virtio-mouse-pci",
        V::ModernOnly,
    ),
    row(
        K::Input,
        "virtio/tablet",
        S::Virtio,
        "virtio-tablet-pci",
        V::ModernOnly,
    ),
    row(
        K::Input,
        "virtio/passthrough",
        S::Virtio,
        "virtio-input-host-pci",
        V::ModernOnly,
    ),
    row(K::Input, "*", S::None, "", V::No),
    row(
        K::Shmem,
        "ivshmem-doorbell",
        S::Pci,
        "ivshmem-doorbell",
        V::No,
    ),
    row(K::Shmem, "*", S::Pci, "ivshmem-plain", V::No),
    row(
        K::Filesystem,
        "virtiofs",
        S::Virtio,
        "vhost-user-fs-pci",
        V::ModernOnly,
    ),
    row(K::Filesystem, "*", S::None, "", V::No),
    row(K::Vsock, "*", S::None, "", V::No),
    row(
        K::Memory,
        "virtio-pmem",
        S::Virtio,
        "virtio-pmem-pci",
        V::ModernOnly,
    ),
    row(
        K::Memory,
        "virtio-mem",
        S::Virtio,
        "virtio-mem-pci",
        V::ModernOnly,
    ),
    row(K::Memory, "*", S::None, "", V::No),
    ModelRow {
        kind: K::Iommu,
        key: "virtio",
        slot: S::Virtio,
        integrated: true,
        qemu: "virtio-iommu-pci",
        virtio: V::ModernOnly,
    },
    row(K::Iommu, "*", S::None, "", V::No),
    ModelRow {
        kind: K::Panic,
        key: "pvpanic",
        slot: S::Pci,
        integrated: true,
        qemu: "pvpanic-pci",
        virtio: V::No,
    },
    row(K::Panic, "*", S::None, "", V::No),
    row(
        K::Crypto,
        "virtio",
        S::Pci,
        "virtio-crypto-pci",
        V::ModernOnly,
    ),
    row(K::Crypto, "*", S::None, "", V::No),
    row(K::Pstore, "acpi-erst", S::Pci, "acpi-erst", V::No),
    row(K::Pstore, "*", S::None, "", V::No),
    row(K::Serial, "pci-serial", S::Pci, "pci-serial", V::No),
    row(K::Serial, "*", S::None, "", V::No),
];

/// Video types QEMU can only drive as the primary (VGA-compatible) display: libvirt
/// refuses any of them as a second `<video>` ("video type 'vga' is only valid as
/// primary video device"). qxl and virtio may be secondary. The primary is the one
/// with `primary='yes'`, else the first.
pub const VIDEO_PRIMARY_ONLY: &[&str] = &["vga", "cirrus", "bochs", "ramfb", "vmvga"];

/// Video type that must be the only `<video>` ("a 'none' video type must be the only
/// video device defined for the domain").
pub const VIDEO_ALONE: &str = "none";

/// Kinds a guest has at most one of, with libvirt's refusal (the same in 9.0 and 11.3;
/// what differs by release, watchdog and pstore, is in `versions::LIBVIRT`).
pub const SINGLETONS: &[(Kind, &str)] = &[
    (
        Kind::Memballoon,
        "only a single memory balloon device is supported",
    ),
    (Kind::Vsock, "only a single vsock device is supported"),
    (Kind::Iommu, "only a single IOMMU device is supported"),
    (Kind::Nvram, "only a single nvram device is supported"),
    (Kind::Tpm, "only a single TPM non-proxy device is supported"),
];

/// Kinds of which a guest has at most one per model ("Multiple panic devices with
/// model 'isa'"), in both releases.
pub const ONE_PER_MODEL: &[(Kind, &str)] = &[(Kind::Panic, "Multiple panic devices with model")];

/// Disk target prefixes libvirt numbers disks by (`sda` is disk 0 of its bus): a
/// target is one of them, then lower-case letters only (`vd0`, `vdA`, `vd` are
/// refused, "Unknown disk name"; trailing digits are a partition, refused too).
/// `fd` names floppies only: a hard disk named `fda` is refused. With each, the bus a
/// disk without `bus=` gets from its name.
pub const DISK_PREFIXES: &[(&str, &str)] = &[
    ("xvd", "xen"),
    ("ubd", "uml"),
    ("hd", "ide"),
    ("sd", "scsi"),
    ("vd", "virtio"),
    ("fd", "fdc"),
];

impl super::topology::Device {
    /// A disk's bus: as written, else the one its target name gives it.
    pub fn disk_bus(&self) -> Option<&str> {
        self.bus.as_deref().or_else(|| {
            let dev = self.name.as_deref()?;
            DISK_PREFIXES
                .iter()
                .find(|(p, _)| dev.starts_with(p))
                .map(|&(_, bus)| bus)
        })
    }
}

/// What the device table says about one device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelFacts {
    /// The slot it needs.
    pub slot: SlotClass,
    /// Must sit on bus 0.
    pub integrated: bool,
    /// QEMU device libvirt will use (may be empty when unknown).
    pub qemu: String,
    /// Its virtio form.
    pub virtio: VirtioForm,
}

/// Looks up a device by kind and model key (see [`model_key`]).
pub fn facts(kind: Kind, key: &str) -> ModelFacts {
    for &(k, plain, base) in VIRTIO_FAMILIES {
        if k != kind {
            continue;
        }
        // Keys of the form "type/model" share the type prefix.
        let (model, plain_model) = match plain.rsplit_once('/') {
            Some((p, m)) => match key.strip_prefix(p).and_then(|r| r.strip_prefix('/')) {
                Some(model) => (model, m),
                None => continue,
            },
            None => (key, plain),
        };
        let (virtio, qemu) = match model {
            m if m == plain_model => (V::Plain, base.to_string()),
            "virtio-transitional" => (V::Transitional, [base, "-transitional"].concat()),
            "virtio-non-transitional" => (V::NonTransitional, [base, "-non-transitional"].concat()),
            _ => continue,
        };
        let slot = if virtio == V::Transitional {
            S::Pci
        } else {
            S::Virtio
        };
        return ModelFacts {
            slot,
            integrated: false,
            qemu,
            virtio,
        };
    }
    // One pass over the table: the exact key wins over "type/*", which wins over "*".
    let type_prefix = key.rsplit_once('/').map(|(p, _)| p);
    let mut best: Option<(u8, &ModelRow)> = None;
    for r in MODEL_TABLE.iter().filter(|r| r.kind == kind) {
        let rank = if r.key == key {
            0
        } else if type_prefix.is_some() && r.key.strip_suffix("/*") == type_prefix {
            1
        } else if r.key == "*" {
            2
        } else {
            continue;
        };
        if best.is_none_or(|(b, _)| rank < b) {
            best = Some((rank, r));
            if rank == 0 {
                break;
            }
        }
    }
    let row = best.map(|(_, r)| r);
    match row {
        Some(r) => ModelFacts {
            slot: r.slot,
            integrated: r.integrated,
            qemu: r.qemu.to_string(),
            virtio: r.virtio,
        },
        None => ModelFacts {
            slot: S::None,
            integrated: false,
            qemu: String::new(),
            virtio: V::No,
        },
    }
}

/// What the model-dependent attributes of a device say, as read from the XML.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelInput<'a> {
    /// The element's `type` attribute (controller type, hostdev type, interface type,
    /// filesystem type, shmem has none).
    pub ty: Option<&'a str>,
    /// The model as written (`model=` attribute or `<model type=>`).
    pub model: Option<&'a str>,
    /// Disk target bus or input bus.
    pub bus: Option<&'a str>,
    /// The attribute besides the model that picks the device: a filesystem's driver
    /// type, a serial port's target type, a pstore's backend.
    pub selector: Option<&'a str>,
}

/// The model libvirt writes on a device it adds on its own: the post-parse default
/// ([`default_model`]) where libvirt fills the attribute in (USB and SCSI controllers,
/// video, the balloon), none where it leaves the choice to QEMU (SATA, IDE,
/// virtio-serial controllers).
pub fn added_model(kind: Kind, ty: Option<&str>, machine: &Machine) -> Option<&'static str> {
    let written = match kind {
        Kind::Controller => matches!(ty, Some("usb" | "scsi")),
        Kind::Video | Kind::Memballoon => true,
        _ => false,
    };
    let input = ModelInput {
        ty,
        model: None,
        bus: None,
        selector: None,
    };
    default_model(kind, &input, machine, true).filter(|_| written)
}

/// Resolves the model libvirt uses when the XML names none (post-parse defaults).
pub fn default_model(
    kind: Kind,
    input: &ModelInput<'_>,
    machine: &Machine,
    implicit: bool,
) -> Option<&'static str> {
    let arm_like = machine.arch.has_virtio_mmio();
    match kind {
        // A host device interface is the VF itself: no emulated model.
        Kind::Interface if input.ty == Some("hostdev") => None,
        Kind::Interface => Some(if arm_like { "virtio" } else { "rtl8139" }),
        Kind::Video => Some(match machine.arch {
            Arch::X86_64 | Arch::I686 => "cirrus",
            _ => "virtio",
        }),
        Kind::Controller => match input.ty {
            // ARM boards get USB 3; everything else an explicit model-less
            // controller gets PIIX3 UHCI (only q35's implicit one is qemu-xhci).
            Some("usb") => Some(match (machine.class, implicit) {
                (MachineClass::Q35, true) => "qemu-xhci",
                _ if matches!(machine.arch, Arch::Aarch64 | Arch::Armv7l) => "qemu-xhci",
                _ => "piix3-uhci",
            }),
            Some("scsi") => Some("lsilogic"),
            Some("virtio-serial") => Some("virtio"),
            _ => None,
        },
        Kind::Memballoon | Kind::Rng | Kind::Vsock | Kind::Crypto => Some("virtio"),
        Kind::Panic => Some(match machine.arch {
            Arch::X86_64 | Arch::I686 => "isa",
            _ if machine.class == MachineClass::Virt => "pvpanic",
            _ => "",
        }),
        Kind::Hostdev if input.ty == Some("scsi_host") => Some("virtio"),
        Kind::Filesystem => Some("virtio"),
        Kind::Disk => Some("virtio"),
        _ => None,
    }
}

/// The key under which the tables list a device: usually its model, `type/model` for
/// controllers, and the distinguishing attribute for the kinds that have no model.
pub fn model_key(kind: Kind, input: &ModelInput<'_>, machine: &Machine) -> String {
    let model = || {
        input
            .model
            .filter(|m| !m.is_empty() && *m != "default")
            .or_else(|| default_model(kind, input, machine, false))
            .unwrap_or("")
    };
    match kind {
        Kind::Disk => match input.bus {
            Some("virtio") => model().to_string(),
            _ => "-".into(),
        },
        Kind::Interface => match input.ty {
            Some("hostdev") if input.model.is_none() => "hostdev".into(),
            _ => model().to_string(),
        },
        Kind::Controller => [input.ty.unwrap_or(""), "/", model()].concat(),
        Kind::Hostdev => match input.ty {
            Some("scsi_host") => ["scsi_host/", model()].concat(),
            Some(t) => t.to_string(),
            None => String::new(),
        },
        Kind::Input => [input.bus.unwrap_or(""), "/", input.ty.unwrap_or("")].concat(),
        Kind::Filesystem => match input.selector {
            Some("virtiofs") => "virtiofs".into(),
            Some("mtp" | "loop" | "nbd" | "ploop") => "-".into(),
            _ => model().to_string(),
        },
        Kind::Serial => input.selector.unwrap_or("").to_string(),
        Kind::Pstore => input.selector.unwrap_or("").to_string(),
        _ => model().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kind: Kind, ty: Option<&str>, model: Option<&str>, bus: Option<&str>) -> String {
        let m = Machine::new("x86_64", "q35");
        model_key(
            kind,
            &ModelInput {
                ty,
                model,
                bus,
                selector: None,
            },
            &m,
        )
    }

    #[test]
    fn virtio_families_expand_to_three_models() {
        let n = facts(
            Kind::Disk,
            &key(
                Kind::Disk,
                None,
                Some("virtio-transitional"),
                Some("virtio"),
            ),
        );
        assert_eq!(
            (n.slot, n.virtio),
            (SlotClass::Pci, VirtioForm::Transitional)
        );
        assert_eq!(n.qemu, "virtio-blk-pci-transitional");
        let n = facts(Kind::Disk, &key(Kind::Disk, None, None, Some("virtio")));
        assert_eq!(
            (n.slot, n.qemu.as_str()),
            (SlotClass::Virtio, "virtio-blk-pci")
        );
        let n = facts(
            Kind::Controller,
            &key(Kind::Controller, Some("scsi"), Some("virtio-scsi"), None),
        );
        assert_eq!(n.qemu, "virtio-scsi-pci");
        let n = facts(
            Kind::Controller,
            &key(
                Kind::Controller,
                Some("scsi"),
                Some("virtio-transitional"),
                None,
            ),
        );
        assert_eq!(n.slot, SlotClass::Pci);
        assert_eq!(
            facts(Kind::Disk, &key(Kind::Disk, None, None, Some("sata"))).slot,
            SlotClass::None
        );
    }

    #[test]
    fn defaults_follow_the_machine() {
        assert_eq!(key(Kind::Interface, Some("network"), None, None), "rtl8139");
        assert_eq!(facts(Kind::Interface, "rtl8139").slot, SlotClass::Pci);
        assert_eq!(facts(Kind::Interface, "e1000e").slot, SlotClass::Pcie);
        assert_eq!(
            facts(Kind::Controller, "usb/qemu-xhci").slot,
            SlotClass::Pcie
        );
        assert_eq!(facts(Kind::Controller, "usb/whatever").slot, SlotClass::Pci);
        assert!(facts(Kind::Iommu, "virtio").integrated);
    }
}
