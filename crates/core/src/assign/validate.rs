//! Device rules libvirt checks when it parses and validates a domain, beyond slots:
//! per-device rules, USB turned off, and the rules that depend on the libvirt and QEMU
//! releases (machine types, counts, models, disk names); and which virtio models are
//! defined but never start.

use std::collections::HashSet;

use super::controllers::{MAX_INDEX, is_usb_companion};
use crate::address::Address;
use crate::device::{
    DISK_PREFIXES, Kind, ONE_PER_MODEL, SINGLETONS, VIDEO_ALONE, VIDEO_PRIMARY_ONLY,
};
use crate::diag::{Code, Diagnostic};
use crate::machine::MachineClass;
use crate::topology::{Device, Topology};
use crate::versions::{LibvirtRules, WatchdogCount, machine_known};

/// A refusal tied to device `i` of the topology.
fn on_device(code: Code, i: usize, msg: String) -> Diagnostic {
    Diagnostic::new(code, msg).on(Some(i))
}

/// Device rules libvirt checks when it parses and validates a domain, beyond slots:
/// the target releases' rules, USB turned off, UEFI without ACPI, then each device's
/// own rules in document order.
pub(super) fn validate_devices(topo: &Topology) -> Result<(), Diagnostic> {
    validate_platform(topo)?;
    validate_usb_off(topo)?;
    super::device_rules::validate(topo)?;
    let x86 = topo.machine.arch.is_x86();
    if x86 && topo.efi && !topo.acpi {
        return Err(Diagnostic::new(
            Code::DeviceUnsupported,
            "UEFI requires ACPI on this architecture",
        )
        .hint("add <acpi/> to <features>"));
    }
    let mut primaries = 0;
    let mut host_addrs: HashSet<&str> = HashSet::new();
    for (i, d) in topo.devices.iter().enumerate() {
        check_device(topo, i, d, &mut primaries, &mut host_addrs)?;
    }
    Ok(())
}

/// One device's own rules; `primaries` counts the primary videos so far and
/// `host_addrs` the host devices assigned so far.
fn check_device<'t>(
    topo: &Topology,
    i: usize,
    d: &'t Device,
    primaries: &mut u32,
    host_addrs: &mut HashSet<&'t str>,
) -> Result<(), Diagnostic> {
    let non_pci = matches!(
        &d.address,
        Some(Address::Other(_) | Address::VirtioMmio | Address::Unassigned)
    );
    let model = d.model.as_deref().unwrap_or("");
    if d.zpci && topo.machine.arch_name != "s390x" {
        return Err(on_device(
            Code::DeviceUnsupported,
            i,
            "zPCI address extensions exist only on s390x guests".into(),
        )
        .hint("remove the <zpci> element from the address"));
    }
    match d.kind {
        Kind::Controller if d.is_pci_root() && d.address.is_some() => {
            return Err(on_device(
                Code::ControllerIndex,
                i,
                "pci-root and pcie-root controllers should not have an address".into(),
            )
            .hint("remove the <address> of the root controller"));
        }
        Kind::Controller => check_controller(topo, i, d)?,
        Kind::Video => check_video(i, d, model, primaries)?,
        Kind::Iommu if model == "virtio" => check_virtio_iommu(topo, i, d, non_pci)?,
        Kind::Panic
            if d.effective_model(&topo.machine).as_deref() == Some("pvpanic") && non_pci =>
        {
            return Err(on_device(
                Code::DeviceUnsupported,
                i,
                "pvpanic is supported only with PCI address type".into(),
            ));
        }
        Kind::Disk if d.bus.as_deref() == Some("usb") && d.pci_addr().is_some() => {
            return Err(on_device(
                Code::DeviceUnsupported,
                i,
                "unexpected address type for usb disk".into(),
            )
            .hint("a USB disk sits on a USB port, not a PCI slot: remove its PCI address"));
        }
        Kind::Hostdev => check_hostdev(i, d, host_addrs)?,
        _ => {}
    }
    Ok(())
}

/// A controller's NUMA node, and a USB companion without any master in the domain.
fn check_controller(topo: &Topology, i: usize, d: &Device) -> Result<(), Diagnostic> {
    if let Some(p) = &d.pci
        && let Some(n) = p.numa_node
        && n >= topo.numa_cells
    {
        return Err(on_device(
                    Code::ControllerTarget,
                    i,
                    format!(
                        "{} with index {} is configured for a NUMA node ({n}) not present in the domain's <cpu><numa> array ({})",
                        p.model.name(),
                        d.index.unwrap_or(0),
                        topo.numa_cells
                    ),
                )
                .hint("define the NUMA cell under <cpu><numa> or pick an existing node"));
    }
    // libvirt wants some USB controller without <master> in the domain, at
    // any index: a companion whose own group has no EHCI is accepted when
    // another USB controller exists (libvirt itself writes such groups when
    // a second UHCI1 starts index 1), and refused when all are companions.
    if d.ty.as_deref() == Some("usb")
        && is_usb_companion(d.model.as_deref(), d.master_startport.is_some())
    {
        let has_master = topo.devices.iter().any(|o| {
            o.kind == Kind::Controller
                && o.ty.as_deref() == Some("usb")
                && !is_usb_companion(o.model.as_deref(), o.master_startport.is_some())
        });
        if !has_master {
            return Err(on_device(
                Code::DeviceUnsupported,
                i,
                "No master USB controller specified".into(),
            )
            .hint("add the ich9-ehci1 controller with the same index"));
        }
    }
    Ok(())
}

/// One primary video at most; ramfb takes no address.
fn check_video(i: usize, d: &Device, model: &str, primaries: &mut u32) -> Result<(), Diagnostic> {
    if d.primary {
        *primaries += 1;
        if *primaries > 1 {
            return Err(on_device(
                Code::DeviceUnsupported,
                i,
                "Only one primary video device is supported".into(),
            ));
        }
    }
    if model == "ramfb" && d.address.is_some() {
        return Err(on_device(
            Code::DeviceUnsupported,
            i,
            "address not supported for video type ramfb".into(),
        )
        .hint("ramfb is not a PCI device: remove its <address>"));
    }
    Ok(())
}

/// The virtio IOMMU: no driver attributes, a PCI address, a q35 or ARM virt machine,
/// ACPI.
fn check_virtio_iommu(
    topo: &Topology,
    i: usize,
    d: &Device,
    non_pci: bool,
) -> Result<(), Diagnostic> {
    if d.driver_attrs {
        return Err(on_device(
            Code::DeviceUnsupported,
            i,
            "iommu model 'virtio' doesn't support additional attributes".into(),
        ));
    }
    if non_pci {
        return Err(on_device(
            Code::DeviceUnsupported,
            i,
            "IOMMU device: 'virtio' needs a PCI address".into(),
        ));
    }
    if !matches!(topo.machine.class, MachineClass::Q35 | MachineClass::Virt) {
        return Err(on_device(
            Code::DeviceUnsupported,
            i,
            "IOMMU device: 'virtio' is only supported with Q35 and ARM Virt machines".into(),
        ));
    }
    if !topo.acpi {
        return Err(on_device(
            Code::DeviceUnsupported,
            i,
            "IOMMU device: 'virtio' requires ACPI".into(),
        )
        .hint("add <acpi/> to <features>"));
    }
    Ok(())
}

/// A host device assigned once (`host_addrs` holds the ones seen so far), and no boot
/// from a vhost SCSI host.
fn check_hostdev<'t>(
    i: usize,
    d: &'t Device,
    host_addrs: &mut HashSet<&'t str>,
) -> Result<(), Diagnostic> {
    if let Some(a) = &d.source_addr
        && !host_addrs.insert(a.as_str())
    {
        return Err(on_device(
            Code::DeviceUnsupported,
            i,
            "Hostdev already exists in the domain configuration".into(),
        )
        .hint(format!("host device {a} is assigned twice")));
    }
    if d.ty.as_deref() == Some("scsi_host") && d.boot {
        return Err(on_device(
            Code::DeviceUnsupported,
            i,
            "booting from assigned devices is not supported by vhost SCSI devices".into(),
        ));
    }
    Ok(())
}

/// USB is off for the whole guest when a USB controller of model `none` is written (at
/// any index) or when the domain has no USB controller and the machine is not one
/// libvirt adds a default controller to (ARM and RISC-V `virt`). Both releases then
/// refuse any other USB controller written in the XML (the default controller 0
/// libvirt adds itself beside a `none` of another index is not refused) and every
/// device on USB: inputs, hubs, disks, host devices, redirected devices, smartcards
/// (and their CCID controller), USB sound, USB serial ports, and the usb-net NIC
/// where the release makes it a USB device.
fn validate_usb_off(topo: &Topology) -> Result<(), Diagnostic> {
    let is_usb_ctl = |d: &Device| d.kind == Kind::Controller && d.ty.as_deref() == Some("usb");
    let off = topo
        .devices
        .iter()
        .position(|d| is_usb_ctl(d) && d.model.as_deref() == Some("none"));
    let absent = off.is_none()
        && !matches!(topo.machine.class, MachineClass::Q35 | MachineClass::I440fx)
        && !topo.devices.iter().any(is_usb_ctl);
    let (why, hint) = match (off, absent) {
        (Some(_), _) => (
            "a USB controller of model none",
            "remove the USB controller of model none, or the USB devices",
        ),
        (None, true) => (
            "it has no USB controller, and libvirt adds none on this machine",
            "add <controller type='usb' model='qemu-xhci'/>, or remove the USB devices",
        ),
        (None, false) => return Ok(()),
    };
    let usb_net = topo.platform.libvirt_rules().usb_net_on_usb;
    for (i, d) in topo.devices.iter().enumerate() {
        let what = match d.kind {
            _ if Some(i) == off => continue,
            Kind::Controller if is_usb_ctl(d) => "another USB controller",
            Kind::Controller if d.ty.as_deref() == Some("ccid") => "a CCID (smartcard) controller",
            Kind::Input if d.bus.as_deref() == Some("usb") => "a USB input device",
            Kind::Hub => "a USB hub",
            Kind::Disk if d.bus.as_deref() == Some("usb") => "a USB disk",
            Kind::Hostdev if d.ty.as_deref() == Some("usb") => "a USB host device",
            Kind::Redirdev => "a redirected USB device",
            Kind::Smartcard => "a smartcard (a USB CCID device)",
            Kind::Sound if d.model.as_deref() == Some("usb") => "USB sound",
            Kind::Serial if d.target_type.as_deref() == Some("usb-serial") => "a USB serial port",
            Kind::Interface if usb_net && d.model.as_deref() == Some("usb-net") => "a usb-net NIC",
            _ => continue,
        };
        return Err(Diagnostic::new(
            Code::UsbDisabled,
            format!(
                "USB is off for this domain ({why}), yet it has {what}: libvirt refuses the guest"
            ),
        )
        .on(Some(i))
        .hint(hint));
    }
    Ok(())
}

/// Rules that depend on the target libvirt and QEMU, counts of devices, names libvirt
/// parses and numbers it refuses, in the order libvirt meets them.
fn validate_platform(topo: &Topology) -> Result<(), Diagnostic> {
    let lv = topo.platform.libvirt_rules();
    check_machine_type(topo)?;
    check_index_range(topo)?;
    check_counts(topo, lv)?;
    check_watchdogs(topo, lv)?;
    check_panic_models(topo, lv)?;
    check_videos(topo)?;
    check_disk_targets(topo)
}

/// The machine type must be one the target QEMU has.
fn check_machine_type(topo: &Topology) -> Result<(), Diagnostic> {
    let qemu = topo.platform.qemu_rules();
    let machine = &topo.machine;
    if machine_known(qemu, machine.arch, &machine.machine_type) == Some(false) {
        let versions: Vec<String> = qemu
            .families
            .iter()
            .filter(|f| f.arches.contains(&machine.arch))
            .map(|f| {
                format!(
                    "{}{}.{} to {}{}.{}",
                    f.prefix, f.first.0, f.first.1, f.prefix, qemu.newest.0, qemu.newest.1
                )
            })
            .collect();
        return Err(Diagnostic::new(
            Code::MachineTypeUnknown,
            format!(
                "Emulator does not support machine type '{}' (QEMU {})",
                machine.machine_type, qemu.name
            ),
        )
        .hint(format!(
            "QEMU {} has {}; or target another QEMU with --qemu",
            qemu.name,
            versions.join(", ")
        )));
    }
    Ok(())
}

/// Controller indexes libvirt cannot read as a signed int.
fn check_index_range(topo: &Topology) -> Result<(), Diagnostic> {
    for (i, d) in topo.devices.iter().enumerate() {
        if let Some(idx) = d.index
            && idx > MAX_INDEX
            && d.kind == Kind::Controller
        {
            return Err(on_device(
                Code::NumberTooLarge,
                i,
                format!("Invalid value for attribute 'index' in element 'controller': '{idx}'. Expected integer value"),
            )
            .hint(format!("libvirt reads controller indexes up to {MAX_INDEX}")));
        }
    }
    Ok(())
}

/// The devices of `kind`, with their indexes in the topology.
fn of_kind(topo: &Topology, kind: Kind) -> impl Iterator<Item = (usize, &Device)> {
    topo.devices
        .iter()
        .enumerate()
        .filter(move |(_, d)| d.kind == kind)
}

/// Singletons, then the per-model and per-release counts.
fn check_counts(topo: &Topology, lv: &LibvirtRules) -> Result<(), Diagnostic> {
    for &(kind, msg) in SINGLETONS {
        if let Some(i) = of_kind(topo, kind).nth(1).map(|(i, _)| i) {
            return Err(on_device(Code::DeviceCount, i, msg.to_string())
                .hint(format!("keep one <{}>", kind.tag())));
        }
    }
    for &(kind, msg) in ONE_PER_MODEL {
        let mut seen: Vec<String> = Vec::new();
        for (i, d) in of_kind(topo, kind) {
            let m = d.effective_model(&topo.machine).unwrap_or_default();
            if seen.contains(&m) {
                return Err(on_device(Code::DeviceCount, i, format!("{msg} '{m}'")));
            }
            seen.push(m);
        }
    }
    if lv.single_pstore
        && let Some((i, _)) = of_kind(topo, Kind::Pstore).nth(1)
    {
        return Err(on_device(
            Code::DeviceCount,
            i,
            "only a single pstore device is supported".into(),
        )
        .hint(format!("libvirt {} allows one <pstore>", lv.name)));
    }
    Ok(())
}

/// Watchdogs: models the release knows and how many of each it takes (all of them
/// first), then the models each machine accepts.
fn check_watchdogs(topo: &Topology, lv: &LibvirtRules) -> Result<(), Diagnostic> {
    let mut watchdogs: Vec<&str> = Vec::new();
    for (i, d) in of_kind(topo, Kind::Watchdog) {
        let m = d.model.as_deref().unwrap_or("");
        if !lv.watchdog_models.contains(&m) {
            return Err(on_device(
                Code::DeviceModelVersion,
                i,
                format!("unknown watchdog model '{m}'"),
            )
            .hint(format!(
                "libvirt {} knows {}",
                lv.name,
                lv.watchdog_models.join(", ")
            )));
        }
        let many = match lv.watchdogs {
            WatchdogCount::One => !watchdogs.is_empty(),
            WatchdogCount::OnePerModelExceptPci => m != "i6300esb" && watchdogs.contains(&m),
        };
        if many {
            let msg = match lv.watchdogs {
                WatchdogCount::One => "only a single watchdog device is supported".to_string(),
                WatchdogCount::OnePerModelExceptPci => {
                    format!("domain can only have one watchdog with model '{m}'")
                }
            };
            return Err(
                on_device(Code::DeviceCount, i, msg).hint(format!("libvirt {}: keep one", lv.name))
            );
        }
        watchdogs.push(m);
    }
    for (i, d) in of_kind(topo, Kind::Watchdog) {
        check_watchdog_machine(topo, lv, i, d)?;
    }
    Ok(())
}

/// A watchdog model on a machine that lacks it (diag288 off s390, the q35-only and
/// not-on-q35 models).
fn check_watchdog_machine(
    topo: &Topology,
    lv: &LibvirtRules,
    i: usize,
    d: &Device,
) -> Result<(), Diagnostic> {
    let machine = &topo.machine;
    let m = d.model.as_deref().unwrap_or("");
    let q35 = machine.class == MachineClass::Q35;
    if m == "diag288" && !machine.arch_name.starts_with("s390") {
        return Err(on_device(
            Code::DeviceModelVersion,
            i,
            "diag288 model of watchdog is allowed for s390 and s390x only".into(),
        ));
    }
    if machine.class != MachineClass::I440fx && lv.watchdog_i440fx_only.contains(&m) {
        return Err(on_device(
            Code::DeviceModelVersion,
            i,
            format!("{m} model of watchdog cannot be used with this machine type"),
        )
        .hint("use model='i6300esb' (or itco on q35)"));
    }
    if !q35 && lv.watchdog_q35_only.contains(&m) {
        return Err(on_device(
            Code::DeviceModelVersion,
            i,
            format!("{m} model of watchdog is only part of q35 machine"),
        ));
    }
    Ok(())
}

/// Panic models the release knows.
fn check_panic_models(topo: &Topology, lv: &LibvirtRules) -> Result<(), Diagnostic> {
    for (i, d) in of_kind(topo, Kind::Panic) {
        if let Some(m) = d.model.as_deref()
            && !lv.panic_models.contains(&m)
        {
            return Err(on_device(
                Code::DeviceModelVersion,
                i,
                format!("unknown panic model '{m}'"),
            )
            .hint(format!(
                "libvirt {} knows {}",
                lv.name,
                lv.panic_models.join(", ")
            )));
        }
    }
    Ok(())
}

/// Video: primary-only types elsewhere than primary, and 'none' with company.
fn check_videos(topo: &Topology) -> Result<(), Diagnostic> {
    let videos: Vec<usize> = (0..topo.devices.len())
        .filter(|&i| topo.devices[i].kind == Kind::Video)
        .collect();
    let primary = videos
        .iter()
        .copied()
        .find(|&i| topo.devices[i].primary)
        .or(videos.first().copied());
    for &i in &videos {
        let m = topo.devices[i]
            .effective_model(&topo.machine)
            .unwrap_or_default();
        if m == VIDEO_ALONE && videos.len() > 1 {
            return Err(on_device(
                Code::VideoPrimaryOnly,
                i,
                "a 'none' video type must be the only video device defined for the domain".into(),
            ));
        }
        if Some(i) != primary && VIDEO_PRIMARY_ONLY.contains(&m.as_str()) {
            return Err(on_device(
                Code::VideoPrimaryOnly,
                i,
                format!("video type '{m}' is only valid as primary video device"),
            )
            .hint("make it the primary one, or use qxl or virtio as the second video"));
        }
    }
    Ok(())
}

/// Disk targets: a known prefix and lower-case letters, no partition number, `fd`
/// names only for floppies.
fn check_disk_targets(topo: &Topology) -> Result<(), Diagnostic> {
    for (i, d) in of_kind(topo, Kind::Disk) {
        let Some(dev) = d.name.as_deref() else {
            continue;
        };
        let parsed = DISK_PREFIXES
            .iter()
            .find_map(|&(p, _)| dev.strip_prefix(p).map(|r| (p, r)));
        let (prefix, rest) = parsed.unwrap_or(("", dev));
        let letters = rest.trim_end_matches(|c: char| c.is_ascii_digit());
        let ok = parsed.is_some()
            && !letters.is_empty()
            && letters.bytes().all(|b| b.is_ascii_lowercase());
        if !ok {
            let msg = if d.address.is_none() {
                format!("Unknown disk name '{dev}' and no address specified")
            } else {
                format!("invalid disk target '{dev}'")
            };
            return Err(on_device(Code::DiskTarget, i, msg)
                .hint("name it like vda, sdb or hdc: a prefix and lower-case letters"));
        }
        if letters.len() != rest.len() {
            return Err(on_device(
                Code::DiskTarget,
                i,
                format!("invalid disk target '{dev}', partitions can't appear in disk targets"),
            )
            .hint(format!("drop the partition number: {prefix}{letters}")));
        }
        if prefix == "fd" && d.bus.as_deref() != Some("fdc") {
            return Err(on_device(
                Code::DiskTarget,
                i,
                format!("Invalid harddisk device name: {dev}"),
            )
            .hint("fd names are for floppies on bus='fdc'"));
        }
    }
    Ok(())
}

/// The address type of a device that has a (non-)transitional virtio model but no
/// PCI address (virtio-mmio, ccw, ...): libvirt defines the guest, but it never starts
/// (libvirt 9.0 asks QEMU for `virtio-blk-device-transitional`, which does not exist;
/// newer libvirt refuses to build the command line, "not supported for address type").
pub fn transitional_off_pci(d: &Device) -> Option<&str> {
    let m = d.model.as_deref().unwrap_or("");
    if !matches!(m, "virtio-transitional" | "virtio-non-transitional") {
        return None;
    }
    match d.address.as_ref()? {
        Address::VirtioMmio => Some("virtio-mmio"),
        Address::Other(t) if !(d.kind == Kind::Disk && t == "drive") => Some(t.as_str()),
        _ => None,
    }
}
