//! Rules libvirt checks a device against the rest of the domain and the QEMU it
//! targets: what a device needs elsewhere (spice graphics, shared memory, a split I/O
//! APIC, UEFI for ACPI), which buses carry which kind of disk, and models that exist
//! only on some machines or architectures. Learnt from libvirt 9.0 and 11.3 (the
//! oracles); a rule that differs between releases reads its column in `versions`.

use crate::address::Address;
use crate::device::Kind;
use crate::diag::{Code, Diagnostic};
use crate::machine::{Arch, MachineClass};
use crate::topology::{Device, Topology};

/// The rules of this module, in one pass over the devices.
pub(super) fn validate(topo: &Topology) -> Result<(), Diagnostic> {
    acpi_needs_uefi(topo)?;
    let spice = topo
        .devices
        .iter()
        .any(|d| d.kind == Kind::Graphics && d.ty.as_deref() == Some("spice"));
    for (i, d) in topo.devices.iter().enumerate() {
        let refusal = match d.kind {
            Kind::Disk => disk(topo, d),
            Kind::Interface => interface(topo, d),
            Kind::Memballoon if d.model.as_deref() == Some("xen") => Some(
                Diagnostic::new(
                    Code::DeviceUnsupported,
                    "a memory balloon of model 'xen' exists only on Xen, not with QEMU",
                )
                .hint("use model 'virtio' (or 'none')"),
            ),
            Kind::Controller if d.ty.as_deref() == Some("usb") => usb_controller(d),
            Kind::Controller if d.ty.as_deref() == Some("scsi") => scsi_controller(d),
            Kind::Iommu => iommu(topo, d),
            Kind::Panic => panic_model(topo, d),
            Kind::Video => arm_video(topo, d),
            Kind::Memory
                if d.model.as_deref() == Some("virtio-pmem") && !topo.machine.arch.is_x86() =>
            {
                Some(
                    Diagnostic::new(
                        Code::DeviceUnsupported,
                        format!("QEMU has no virtio-pmem on {}", topo.machine.arch_name),
                    )
                    .hint("use virtio-mem or an nvdimm"),
                )
            }
            Kind::Tpm if !topo.machine.arch.is_x86() && d.model.as_deref() == Some("tpm-crb") => {
                Some(
                    Diagnostic::new(
                        Code::DeviceUnsupported,
                        format!("QEMU has no CRB TPM on {}", topo.machine.arch_name),
                    )
                    .hint("use model='tpm-tis'"),
                )
            }
            Kind::Filesystem => filesystem(topo, d),
            Kind::Watchdog => watchdog_address(d),
            Kind::Input => input_bus(topo, d),
            Kind::Sound if d.model.as_deref() == Some("ich7") => Some(
                Diagnostic::new(
                    Code::DeviceUnsupported,
                    "QEMU has no ich7 sound card (libvirt knows the name, QEMU 7.2 and 10.0 \
                     have no device for it)",
                )
                .hint("use model 'ich9' (q35) or 'ich6'"),
            ),
            _ => None,
        };
        if let Some(r) = refusal.or_else(|| spicevmc(d, spice)) {
            return Err(r.on(Some(i)));
        }
    }
    Ok(())
}

/// ACPI on ARM needs UEFI firmware: libvirt refuses `<acpi/>` on aarch64 without
/// `<os firmware='efi'>` or a pflash loader. (libvirt says the same of RISC-V in its
/// documentation; the oracles have no riscv64 QEMU to confirm it, so it is not a rule
/// here.)
fn acpi_needs_uefi(topo: &Topology) -> Result<(), Diagnostic> {
    let arch = topo.machine.arch;
    if topo.acpi && !topo.efi && arch == Arch::Aarch64 {
        return Err(Diagnostic::new(
            Code::DeviceRequires,
            format!(
                "ACPI needs UEFI firmware on {}: libvirt refuses <acpi/> without it",
                topo.machine.arch_name
            ),
        )
        .hint("add firmware='efi' to <os>, or remove <acpi/> from <features>"));
    }
    Ok(())
}

/// The bus a disk is on: its `<target bus>`, else the one its name implies.
fn disk_bus(d: &Device) -> &str {
    if let Some(b) = d.bus.as_deref() {
        return b;
    }
    match d.name.as_deref().unwrap_or("") {
        n if n.starts_with("fd") => "fdc",
        n if n.starts_with("hd") => "ide",
        n if n.starts_with("vd") => "virtio",
        n if n.starts_with("xvd") => "xen",
        n if n.starts_with("ubd") => "uml",
        _ => "scsi",
    }
}

/// Which disk may sit on which bus: floppies only on the floppy controller and only
/// there, which is one controller with one bus (two drives: fda, fdb); no ejectable
/// media on virtio; SCSI passthrough on virtio-blk only where QEMU still has it.
fn disk(topo: &Topology, d: &Device) -> Option<Diagnostic> {
    let device = d.ty.as_deref().unwrap_or("disk");
    let bus = disk_bus(d);
    let name = d.name.as_deref().unwrap_or("");
    let refuse =
        |msg: String, hint: &str| Some(Diagnostic::new(Code::DiskBus, msg).hint(hint.to_string()));
    if device == "floppy" && bus != "fdc" {
        return refuse(
            format!("a floppy cannot sit on bus '{bus}': libvirt puts floppies only on fdc"),
            "use <target dev='fda' bus='fdc'/>",
        );
    }
    if device != "floppy" && bus == "fdc" {
        return refuse(
            format!("bus 'fdc' carries only floppies, not a {device}"),
            "use device='floppy', or another bus (sata, scsi, virtio)",
        );
    }
    if bus == "fdc" {
        // Without a drive address libvirt puts fdN on controller N/2, unit N%2.
        let controller = d.addr_controller.or_else(|| {
            super::implicit::disk_index(name)
                .filter(|_| d.address.is_none())
                .map(|n| n / 2)
        });
        if controller.is_some_and(|c| c > 0) {
            return refuse(
                format!("{name}: a guest has one floppy controller with two drives (fda, fdb)"),
                "name it fda or fdb, with controller='0' in its drive address",
            );
        }
        if d.addr_bus.is_some_and(|b| b > 0) {
            return refuse(
                format!("{name}: the floppy controller has only bus 0"),
                "use bus='0' in its drive address (unit 0 or 1 picks the drive)",
            );
        }
    }
    if d.empty && matches!(device, "disk" | "lun") {
        return Some(
            Diagnostic::new(
                Code::DiskBus,
                format!("{name}: a {device} needs a <source> (only a cdrom or floppy drive may be empty)"),
            )
            .hint("add <source file='...'/>, or make it device='cdrom'"),
        );
    }
    if d.empty && bus == "usb" && topo.platform.libvirt_rules().usb_drive_needs_media {
        return refuse(
            format!(
                "{name}: libvirt {} refuses an empty drive on USB",
                topo.platform.libvirt_rules().name
            ),
            "give it media (<source file='...'/>), or put the drive on sata or scsi",
        );
    }
    if matches!(device, "cdrom" | "floppy") && bus == "virtio" {
        return refuse(
            format!("{name}: a virtio disk cannot hold ejectable media (a {device})"),
            "put the cdrom on sata (q35), ide (i440fx) or scsi",
        );
    }
    if device == "lun" && bus == "virtio" && !topo.platform.qemu_rules().virtio_blk_scsi {
        return Some(
            Diagnostic::new(
                Code::DeviceModelVersion,
                format!(
                    "{name}: QEMU {} has no SCSI passthrough on virtio-blk (device='lun' on bus \
                     virtio)",
                    topo.platform.qemu_rules().name
                ),
            )
            .hint("put the LUN on a virtio-scsi controller (bus='scsi')"),
        );
    }
    None
}

/// NICs whose model is not a PCI device: usb-net (a USB device from 11.3 on; 9.0
/// cannot place it without an address).
fn interface(topo: &Topology, d: &Device) -> Option<Diagnostic> {
    let unaddressed = matches!(d.address, None | Some(Address::PciRequest));
    if d.model.as_deref() == Some("usb-net")
        && unaddressed
        && !topo.platform.libvirt_rules().usb_net_on_usb
    {
        return Some(
            Diagnostic::new(
                Code::PciNoSlot,
                format!(
                    "libvirt {} has no slot for a usb-net NIC written without an address",
                    topo.platform.libvirt_rules().name
                ),
            )
            .hint("give it a USB address (<address type='usb' bus='0' port='2'/>)"),
        );
    }
    None
}

/// USB controller models libvirt refuses with QEMU.
fn usb_controller(d: &Device) -> Option<Diagnostic> {
    let model = d.model.as_deref()?;
    matches!(model, "qusb1" | "qusb2").then(|| {
        Diagnostic::new(
            Code::DeviceUnsupported,
            format!("USB controller model '{model}' exists only on Xen, not with QEMU"),
        )
        .hint("use qemu-xhci")
    })
}

/// SCSI controller models: libvirt refuses a name it does not know, QEMU has no
/// BusLogic controller, and the NCR 53C90 is built into other machines only.
fn scsi_controller(d: &Device) -> Option<Diagnostic> {
    const KNOWN: &[&str] = &[
        "auto",
        "buslogic",
        "ibmvscsi",
        "lsilogic",
        "lsisas1068",
        "lsisas1078",
        "virtio-scsi",
        "vmpvscsi",
        "virtio-transitional",
        "virtio-non-transitional",
        "ncr53c90",
        "am53c974",
        "dc390",
    ];
    let model = d.model.as_deref()?;
    let (code, msg, hint) = match model {
        "buslogic" => (
            Code::DeviceUnsupported,
            "QEMU has no BusLogic SCSI controller".to_string(),
            "use virtio-scsi (or lsilogic for old guests)",
        ),
        "ncr53c90" => (
            Code::DeviceUnsupported,
            "the ncr53c90 SCSI controller is built into other machines (SPARC, MIPS) only"
                .to_string(),
            "use virtio-scsi (or lsilogic, am53c974, dc390)",
        ),
        m if !KNOWN.contains(&m) => (
            Code::DeviceModelVersion,
            format!("libvirt knows no SCSI controller model '{m}'"),
            "use virtio-scsi, lsilogic, lsisas1068, lsisas1078 (QEMU's megasas) or vmpvscsi",
        ),
        _ => return None,
    };
    Some(Diagnostic::new(code, msg).hint(hint))
}

/// IOMMU models and the machines that have them; interrupt remapping on the intel one
/// needs the split I/O APIC where the release checks it.
fn iommu(topo: &Topology, d: &Device) -> Option<Diagnostic> {
    let class = topo.machine.class;
    let model = d.model.as_deref().unwrap_or("");
    let unsupported = |msg: &str, hint: &str| {
        Some(Diagnostic::new(Code::DeviceUnsupported, msg.to_string()).hint(hint.to_string()))
    };
    match model {
        "intel" if class != MachineClass::Q35 => unsupported(
            "an intel IOMMU exists only on q35 machines",
            "use a q35 machine type, or model 'virtio'",
        ),
        "smmuv3" if class != MachineClass::Virt || topo.machine.arch != Arch::Aarch64 => {
            unsupported(
                "an smmuv3 IOMMU exists only on ARM virt machines",
                "use model 'intel' or 'virtio' on x86",
            )
        }
        "intel"
            if d.intremap
                && !topo.settings.split_ioapic
                && topo.platform.libvirt_rules().intremap_needs_split_ioapic =>
        {
            Some(
                Diagnostic::new(
                    Code::DeviceRequires,
                    "interrupt remapping of the intel IOMMU needs the split I/O APIC",
                )
                .hint("add <ioapic driver='qemu'/> to <features>"),
            )
        }
        _ => None,
    }
}

/// Where a watchdog may sit: the ISA ib700 and the chipset's iTCO take no address at
/// all, the i6300esb only a PCI one.
fn watchdog_address(d: &Device) -> Option<Diagnostic> {
    let model = d.model.as_deref().unwrap_or("i6300esb");
    let address = d.address.as_ref()?;
    let pci = matches!(address, Address::Pci { .. } | Address::PciRequest);
    let (msg, hint) = match model {
        "ib700" | "itco" => (
            format!("a watchdog of model {model} takes no address (it is not a PCI device)"),
            "remove its <address>",
        ),
        "i6300esb" if !pci => (
            "the i6300esb watchdog is a PCI device: it takes only a PCI address".to_string(),
            "remove its <address>, or give it a PCI one",
        ),
        _ => return None,
    };
    Some(Diagnostic::new(Code::DeviceUnsupported, msg).hint(hint))
}

/// The PS/2 bus: x86 only, and it carries a mouse and a keyboard, no tablet.
fn input_bus(topo: &Topology, d: &Device) -> Option<Diagnostic> {
    if d.bus.as_deref() != Some("ps2") {
        return None;
    }
    if !topo.machine.arch.is_x86() {
        return Some(
            Diagnostic::new(
                Code::DeviceUnsupported,
                format!("{} has no PS/2 bus", topo.machine.arch_name),
            )
            .hint("use bus='usb' or bus='virtio'"),
        );
    }
    (d.ty.as_deref() == Some("tablet")).then(|| {
        Diagnostic::new(Code::DeviceUnsupported, "a PS/2 bus carries no tablet")
            .hint("use bus='usb' for a tablet")
    })
}

/// Video cards the ARM QEMU lacks: QXL, and VMware's where the release has none.
fn arm_video(topo: &Topology, d: &Device) -> Option<Diagnostic> {
    if topo.machine.arch != Arch::Aarch64 {
        return None;
    }
    let model = d.model.as_deref()?;
    let lacks = model == "qxl" || (model == "vmvga" && !topo.platform.qemu_rules().arm_vmvga);
    lacks.then(|| {
        Diagnostic::new(
            Code::DeviceUnsupported,
            format!(
                "QEMU {} on ARM has no {model} video card",
                topo.platform.qemu_rules().name
            ),
        )
        .hint("use model 'virtio' (or 'ramfb')")
    })
}

/// Panic models that exist on one architecture only: the ISA and Hyper-V ones on x86,
/// pseries and s390 on theirs.
fn panic_model(topo: &Topology, d: &Device) -> Option<Diagnostic> {
    let arch = topo.machine.arch_name.as_str();
    let (model, home) = match d.model.as_deref() {
        Some("pseries") => ("pseries", "ppc64"),
        Some("s390") => ("s390", "s390x"),
        Some(m @ ("isa" | "hyperv")) if !topo.machine.arch.is_x86() => {
            return Some(
                Diagnostic::new(
                    Code::DeviceUnsupported,
                    format!("a panic device of model '{m}' exists only on x86 guests"),
                )
                .hint("use model 'pvpanic' (libvirt 11.3) on ARM"),
            );
        }
        _ => return None,
    };
    (!arch.starts_with(home)).then(|| {
        Diagnostic::new(
            Code::DeviceUnsupported,
            format!("a panic device of model '{model}' exists only on {home} guests"),
        )
        .hint("use model 'isa' on x86, 'pvpanic' on ARM")
    })
}

/// virtiofs shares the guest's memory with the daemon: it needs shared memory.
fn filesystem(topo: &Topology, d: &Device) -> Option<Diagnostic> {
    (d.driver_type.as_deref() == Some("virtiofs") && !topo.settings.shared_memory).then(|| {
        Diagnostic::new(
            Code::DeviceRequires,
            "a virtiofs filesystem needs the guest's memory shared",
        )
        .hint(
            "add <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking> \
             (or memAccess='shared' on every NUMA cell)",
        )
    })
}

/// A character device of type spicevmc (USB redirection, a smartcard, a channel) goes
/// through the SPICE connection: it needs `<graphics type='spice'>`, and as a serial
/// port it does not exist at all.
fn spicevmc(d: &Device, spice: bool) -> Option<Diagnostic> {
    let chardev = match d.kind {
        Kind::Redirdev
        | Kind::Smartcard
        | Kind::Channel
        | Kind::Serial
        | Kind::Console
        | Kind::Parallel => d.ty.as_deref(),
        _ => None,
    };
    if chardev != Some("spicevmc") {
        return None;
    }
    if matches!(d.kind, Kind::Serial | Kind::Console | Kind::Parallel) {
        return Some(
            Diagnostic::new(
                Code::DeviceRequires,
                "a spicevmc character device exists only as a virtio channel, USB redirection \
                 or smartcard",
            )
            .hint("use a <channel type='spicevmc'> with a virtio target"),
        );
    }
    (!spice).then(|| {
        Diagnostic::new(
            Code::DeviceRequires,
            "a spicevmc device needs SPICE graphics",
        )
        .hint("add <graphics type='spice'/>, or use another character device type")
    })
}
