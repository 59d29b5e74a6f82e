//! The measured tables of the IO plan: the firmware profiles and their budgets, the IO
//! BARs of every QEMU device type, and the chipset functions' BARs.

use super::{BarSource, Firmware, FirmwareKind};

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
