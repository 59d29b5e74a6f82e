//! Diagnostics: rule violations as data (stable code, severity, the device they concern,
//! message, what to do), never panics or bare errors. The table of codes is the one
//! place their meaning is written down.

use std::fmt;

/// How bad it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// libvirt (or the guest) will refuse this.
    Error,
    /// It works, but probably not as intended.
    Warning,
    /// Worth knowing.
    Info,
}

impl Severity {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// A stable diagnostic code and what it means.
#[derive(Debug)]
pub struct CodeInfo {
    /// The variant that names it in the code.
    pub id: Code,
    /// The code, e.g. `VP0101`.
    pub code: &'static str,
    /// A short slug that says the same.
    pub slug: &'static str,
    /// Severity.
    pub severity: Severity,
    /// One line for documentation.
    pub summary: &'static str,
}

/// Declares [`Code`] and [`CODES`] from one list, so that a code, its slug, severity and
/// summary are written once and a rule names its code by a variant (a typo does not
/// compile).
macro_rules! codes {
    ($($variant:ident = $code:literal, $slug:literal, $severity:ident, $summary:expr;)*) => {
        /// A stable diagnostic code; [`Code::info`] gives its row of [`CODES`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $(
                #[doc = concat!("`", $code, "` (", $slug, ")")]
                $variant,
            )*
        }

        /// Every diagnostic code virt-pci emits, in the order of [`Code`]. Codes are never
        /// reused or renumbered.
        pub const CODES: &[CodeInfo] = &[
            $(
                CodeInfo {
                    id: Code::$variant,
                    code: $code,
                    slug: $slug,
                    severity: Severity::$severity,
                    summary: $summary,
                },
            )*
        ];
    };
}

codes! {
    PciDoubleUse = "VP0101", "pci-double-use", Error,
        "two devices claim the same PCI function";
    PciAddressRange = "VP0102", "pci-address-range", Error,
        "slot or function outside what the bus offers";
    PciBusMissing = "VP0103", "pci-bus-missing", Error,
        "the address names a bus (controller index) that does not exist";
    PciDomain = "VP0104", "pci-domain", Error,
        "PCI domain other than 0";
    PciIncompatibleSlot = "VP0105", "pci-incompatible-slot", Error,
        "the device cannot plug into that controller";
    PciIntegrated = "VP0106", "pci-integrated", Error,
        "an integrated device must sit on bus 0";
    PciNoSlot = "VP0107", "pci-no-slot", Error,
        "no free slot and no controller can be added for it";
    PciChipsetAddress = "VP0108", "pci-chipset-address", Error,
        "a chipset controller is not at its fixed address";
    ControllerIndex = "VP0201", "controller-index", Error,
        "controller index invalid, duplicated or out of order";
    ControllerRoot = "VP0202", "controller-root", Error,
        "the PCI root controller does not fit the machine";
    ControllerTarget = "VP0203", "controller-target", Error,
        "a controller <target> setting is out of range or not allowed";
    ControllerMachine = "VP0204", "controller-machine", Error,
        "the controller model is not supported on this machine type";
    ControllerBusnr = "VP0205", "controller-busnr", Error,
        "no busNr can be chosen for an expander bus";
    ControllerBridgeOrder = "VP0206", "controller-bridge-order", Error,
        "a bridge's index must be larger than its bus";
    VirtioModel = "VP0301", "virtio-model", Error,
        "a (non-)transitional virtio model where it is not allowed";
    DeviceUnsupported = "VP0302", "device-unsupported", Error,
        "the device is not supported on this machine type";
    VirtioTransitionalOffPci = "VP0303", "virtio-transitional-off-pci", Error,
        "a (non-)transitional virtio model off PCI (virtio-mmio, ccw): libvirt defines the guest, QEMU is never started";
    DeviceCount = "VP0304", "device-count", Error,
        "more devices of a kind (or model) than libvirt supports in one guest";
    VideoPrimaryOnly = "VP0305", "video-primary-only", Error,
        "a video type that can only be the primary video device is not the primary one";
    DiskTarget = "VP0306", "disk-target", Error,
        "a disk target name libvirt cannot parse";
    DeviceModelVersion = "VP0307", "device-model-version", Error,
        "a device model the target libvirt does not know or does not allow on this machine";
    UsbDisabled = "VP0308", "usb-disabled", Error,
        "USB is off (a USB controller of model none, or none at all where libvirt adds none), yet the guest has USB controllers or USB devices";
    DeviceRequires = "VP0309", "device-requires", Error,
        "a device or feature needs something the domain lacks (SPICE graphics, shared memory, a split I/O APIC, UEFI for ACPI)";
    DiskBus = "VP0310", "disk-bus", Error,
        "a disk on a bus that cannot carry it (floppies only on fdc and only fda/fdb, no ejectable media on virtio)";
    MultifunctionOff = "VP0311", "multifunction-off", Error,
        "function 0 of a slot says multifunction='off' while other functions of the slot are used: libvirt defines the guest, QEMU does not start it";
    VirtioGuestNoDriver = "VP0401", "virtio-guest-no-driver", Error,
        "a virtio device's mode (modern-only, legacy-only) has no driver in the guest OS";
    VirtioLegacyOnPciePort = "VP0402", "virtio-legacy-on-pcie-port", Warning,
        "the guest needs legacy virtio and the device sits in a PCI Express port";
    GuestOsUnknown = "VP0403", "guest-os-unknown", Info,
        "nothing is known about the guest OS's virtio drivers";
    GuestOsNoQ35 = "VP0404", "guest-os-no-q35", Warning,
        "the guest OS is not known to run on q35";
    IoExhausted = "VP0501", "io-exhausted", Error,
        "IO port space exhausted: the firmware stops the boot or drops devices";
    IoTransitionalOnPort = "VP0502", "io-transitional-on-port", Warning,
        "a transitional virtio device in a PCIe port costs a whole 4 KiB IO window";
    IoReserveZero = "VP0503", "io-reserve-zero", Error,
        "a device needs IO behind a port with io-reserve=0, which never forwards IO";
    NoFreeHotplugPort = "VP0504", "no-free-hotplug-port", Warning,
        "fewer free hotplug ports than the headroom asked for";
    Q35Machine61RootPorts = "VP0505", "q35-6.1-root-ports", Error,
        "pc-q35-6.1 with 15 or more hotplug root ports: SeaBIOS runs out of IO space";
    IoPaddingStripped = "VP0506", "io-padding-stripped", Warning,
        "OVMF strips hotplug padding to fit the IO space; those ports lose hotplug headroom";
    ConvertWrongMachine = "VP0801", "convert-wrong-machine", Error,
        "the conversion does not start from this guest's machine (q35 and pc are x86, pci and mmio are ARM / RISC-V virt)";
    ConvertNotCarried = "VP0802", "convert-not-carried", Error,
        "the guest has something the conversion cannot carry across";
    ConvertRefusedResult = "VP0803", "convert-refused-result", Error,
        "libvirt would refuse the guest before or after the conversion";
    GuestBusRenumbered = "VP0701", "guest-bus-renumbered", Warning,
        "an edit changes the bus number the guest sees behind a bridge";
    GuestNicRenamed = "VP0702", "guest-nic-renamed", Warning,
        "an edit changes the name a Linux guest gives a NIC";
    GuestDiskPathChanged = "VP0703", "guest-disk-path-changed", Warning,
        "an edit changes a disk's PCI path in the guest (/dev/disk/by-path)";
    GuestFunctionHidden = "VP0704", "guest-function-hidden", Warning,
        "a device at function 1-7 of a slot with nothing at function 0: the guest never sees it";
    MachineTypeUnknown = "VP0601", "machine-type-unknown", Error,
        "the target QEMU has no such machine type (or version of it)";
    NumberTooLarge = "VP0602", "number-too-large", Error,
        "a number so large that libvirt refuses it or would need more PCI slots than a guest has";
}

/// Looks a code up by its text (`VP0101`).
pub fn code_info(code: &str) -> Option<&'static CodeInfo> {
    CODES.iter().find(|c| c.code == code)
}

impl Code {
    /// Its row of [`CODES`] (the table is declared in the enum's order).
    pub fn info(self) -> &'static CodeInfo {
        &CODES[self as usize]
    }

    /// The stable text, e.g. `VP0101`, as output and documentation show it.
    pub fn as_str(self) -> &'static str {
        self.info().code
    }

    /// Its severity when a rule does not say otherwise.
    pub fn severity(self) -> Severity {
        self.info().severity
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code.
    pub code: Code,
    /// Severity.
    pub severity: Severity,
    /// What is wrong, with the facts (address, controller index, what it requires).
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// Index into `Topology::devices` of the element it concerns, when there is one.
    pub device: Option<usize>,
}

impl Diagnostic {
    /// A diagnostic with the code's own severity.
    pub fn new(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            hint: None,
            device: None,
        }
    }

    /// Adds the fix.
    pub fn hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// Names the device.
    pub fn on(mut self, device: Option<usize>) -> Diagnostic {
        self.device = device;
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} [{}]: {}",
            self.severity.name(),
            self.code,
            self.message
        )?;
        if let Some(h) = &self.hint {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_the_order_of_the_enum() {
        for (i, c) in CODES.iter().enumerate() {
            assert_eq!(c.id as usize, i, "{}", c.code);
            assert_eq!(c.id.info().code, c.code);
        }
    }

    #[test]
    fn codes_are_unique() {
        for (i, a) in CODES.iter().enumerate() {
            for b in &CODES[i + 1..] {
                assert_ne!(a.code, b.code);
                assert_ne!(a.slug, b.slug);
            }
        }
    }
}
