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
    /// The code, e.g. `VP0101`.
    pub code: &'static str,
    /// A short slug that says the same.
    pub slug: &'static str,
    /// Severity.
    pub severity: Severity,
    /// One line for documentation.
    pub summary: &'static str,
}

const fn code(
    code: &'static str,
    slug: &'static str,
    severity: Severity,
    summary: &'static str,
) -> CodeInfo {
    CodeInfo {
        code,
        slug,
        severity,
        summary,
    }
}

/// Every diagnostic code virt-pci emits. Codes are never reused or renumbered.
pub const CODES: &[CodeInfo] = &[
    code(
        "VP0101",
        "pci-double-use",
        Severity::Error,
        "two devices claim the same PCI function",
    ),
    code(
        "VP0102",
        "pci-address-range",
        Severity::Error,
        "slot or function outside what the bus offers",
    ),
    code(
        "VP0103",
        "pci-bus-missing",
        Severity::Error,
        "the address names a bus (controller index) that does not exist",
    ),
    code(
        "VP0104",
        "pci-domain",
        Severity::Error,
        "PCI domain other than 0",
    ),
    code(
        "VP0105",
        "pci-incompatible-slot",
        Severity::Error,
        "the device cannot plug into that controller",
    ),
    code(
        "VP0106",
        "pci-integrated",
        Severity::Error,
        "an integrated device must sit on bus 0",
    ),
    code(
        "VP0107",
        "pci-no-slot",
        Severity::Error,
        "no free slot and no controller can be added for it",
    ),
    code(
        "VP0108",
        "pci-chipset-address",
        Severity::Error,
        "a chipset controller is not at its fixed address",
    ),
    code(
        "VP0201",
        "controller-index",
        Severity::Error,
        "controller index invalid, duplicated or out of order",
    ),
    code(
        "VP0202",
        "controller-root",
        Severity::Error,
        "the PCI root controller does not fit the machine",
    ),
    code(
        "VP0203",
        "controller-target",
        Severity::Error,
        "a controller <target> setting is out of range or not allowed",
    ),
    code(
        "VP0204",
        "controller-machine",
        Severity::Error,
        "the controller model is not supported on this machine type",
    ),
    code(
        "VP0205",
        "controller-busnr",
        Severity::Error,
        "no busNr can be chosen for an expander bus",
    ),
    code(
        "VP0206",
        "controller-bridge-order",
        Severity::Error,
        "a bridge's index must be larger than its bus",
    ),
    code(
        "VP0301",
        "virtio-model",
        Severity::Error,
        "a (non-)transitional virtio model where it is not allowed",
    ),
    code(
        "VP0302",
        "device-unsupported",
        Severity::Error,
        "the device is not supported on this machine type",
    ),
    code(
        "VP0303",
        "virtio-transitional-off-pci",
        Severity::Error,
        "a (non-)transitional virtio model off PCI (virtio-mmio, ccw): libvirt defines the guest, QEMU is never started",
    ),
    code(
        "VP0304",
        "device-count",
        Severity::Error,
        "more devices of a kind (or model) than libvirt supports in one guest",
    ),
    code(
        "VP0305",
        "video-primary-only",
        Severity::Error,
        "a video type that can only be the primary video device is not the primary one",
    ),
    code(
        "VP0306",
        "disk-target",
        Severity::Error,
        "a disk target name libvirt cannot parse",
    ),
    code(
        "VP0307",
        "device-model-version",
        Severity::Error,
        "a device model the target libvirt does not know or does not allow on this machine",
    ),
    code(
        "VP0401",
        "virtio-guest-no-driver",
        Severity::Error,
        "a virtio device's mode (modern-only, legacy-only) has no driver in the guest OS",
    ),
    code(
        "VP0402",
        "virtio-legacy-on-pcie-port",
        Severity::Warning,
        "the guest needs legacy virtio and the device sits in a PCI Express port",
    ),
    code(
        "VP0403",
        "guest-os-unknown",
        Severity::Info,
        "nothing is known about the guest OS's virtio drivers",
    ),
    code(
        "VP0404",
        "guest-os-no-q35",
        Severity::Warning,
        "the guest OS is not known to run on q35",
    ),
    code(
        "VP0501",
        "io-exhausted",
        Severity::Error,
        "IO port space exhausted: the firmware stops the boot or drops devices",
    ),
    code(
        "VP0502",
        "io-transitional-on-port",
        Severity::Warning,
        "a transitional virtio device in a PCIe port costs a whole 4 KiB IO window",
    ),
    code(
        "VP0503",
        "io-reserve-zero",
        Severity::Error,
        "a device needs IO behind a port with io-reserve=0, which never forwards IO",
    ),
    code(
        "VP0504",
        "no-free-hotplug-port",
        Severity::Warning,
        "fewer free hotplug ports than the headroom asked for",
    ),
    code(
        "VP0505",
        "q35-6.1-root-ports",
        Severity::Error,
        "pc-q35-6.1 with 15 or more hotplug root ports: SeaBIOS runs out of IO space",
    ),
    code(
        "VP0506",
        "io-padding-stripped",
        Severity::Warning,
        "OVMF strips hotplug padding to fit the IO space; those ports lose hotplug headroom",
    ),
    code(
        "VP0801",
        "convert-wrong-machine",
        Severity::Error,
        "the conversion does not start from this guest's machine (q35 and pc are x86, pci and mmio are ARM / RISC-V virt)",
    ),
    code(
        "VP0802",
        "convert-not-carried",
        Severity::Error,
        "the guest has something the conversion cannot carry across",
    ),
    code(
        "VP0803",
        "convert-refused-result",
        Severity::Error,
        "libvirt would refuse the guest before or after the conversion",
    ),
    code(
        "VP0701",
        "guest-bus-renumbered",
        Severity::Warning,
        "an edit changes the bus number the guest sees behind a bridge",
    ),
    code(
        "VP0702",
        "guest-nic-renamed",
        Severity::Warning,
        "an edit changes the name a Linux guest gives a NIC",
    ),
    code(
        "VP0703",
        "guest-disk-path-changed",
        Severity::Warning,
        "an edit changes a disk's PCI path in the guest (/dev/disk/by-path)",
    ),
    code(
        "VP0601",
        "machine-type-unknown",
        Severity::Error,
        "the target QEMU has no such machine type (or version of it)",
    ),
    code(
        "VP0602",
        "number-too-large",
        Severity::Error,
        "a number so large that libvirt refuses it or would need more PCI slots than a guest has",
    ),
];

/// Looks a code up.
pub fn code_info(code: &str) -> Option<&'static CodeInfo> {
    CODES.iter().find(|c| c.code == code)
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code from [`CODES`].
    pub code: &'static str,
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
    pub fn new(code: &'static str, message: impl Into<String>) -> Diagnostic {
        let severity = code_info(code).map_or(Severity::Error, |c| c.severity);
        Diagnostic {
            code,
            severity,
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
    fn codes_are_unique() {
        for (i, a) in CODES.iter().enumerate() {
            for b in &CODES[i + 1..] {
                assert_ne!(a.code, b.code);
                assert_ne!(a.slug, b.slug);
            }
        }
    }
}
