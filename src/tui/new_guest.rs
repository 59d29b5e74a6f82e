//! Starting points that are not a file on disk: the bundled examples offered when
//! the designer starts without a file, and the new guests (one per architecture and
//! machine) offered when it starts on a path that does not exist yet.

/// One kind of new guest.
#[derive(Clone, Copy, Debug)]
pub struct Kind {
    /// Guest architecture as libvirt spells it.
    pub arch: &'static str,
    /// Machine type (libvirt expands it to the newest versioned one).
    pub machine: &'static str,
    /// What it is, for the picker.
    pub summary: &'static str,
    /// Whether it boots UEFI (a pflash loader is implied by `firmware='efi'`).
    pub efi: bool,
}

/// The new guests offered, the usual choice first.
pub const KINDS: &[Kind] = &[
    Kind {
        arch: "x86_64",
        machine: "q35",
        summary: "PC with a PCI Express root complex; every device in its own root port",
        efi: false,
    },
    Kind {
        arch: "x86_64",
        machine: "q35",
        summary: "the same, booting UEFI (OVMF): hotplug ports reserve IO padding",
        efi: true,
    },
    Kind {
        arch: "x86_64",
        machine: "pc",
        summary: "i440fx: one flat conventional PCI bus, for old guests",
        efi: false,
    },
    Kind {
        arch: "aarch64",
        machine: "virt",
        summary: "arm64 virt machine: PCI Express, no x86 IO ports, virtio-mmio possible",
        efi: true,
    },
    Kind {
        arch: "riscv64",
        machine: "virt",
        summary: "RISC-V virt machine: PCI Express, no x86 IO ports",
        efi: false,
    },
];

impl Kind {
    /// The domain XML of a new, empty guest called `name`: no devices yet, so that
    /// the designer adds each one (and libvirt the controllers it needs).
    pub fn xml(&self, name: &str) -> String {
        let name = crate::libvirt::xml::escape_attr(name, '\'');
        let firmware = if self.efi { " firmware='efi'" } else { "" };
        // UEFI needs ACPI on x86 and arm; the usual guest has it anyway.
        let acpi = if self.arch == "riscv64" {
            ""
        } else {
            "  <features>\n    <acpi/>\n  </features>\n"
        };
        format!(
            "<domain type='kvm'>\n  <name>{name}</name>\n  <memory unit='GiB'>2</memory>\n  <vcpu>2</vcpu>\n  <os{firmware}>\n    <type arch='{}' machine='{}'>hvm</type>\n  </os>\n{acpi}  <devices>\n  </devices>\n</domain>\n",
            self.arch, self.machine
        )
    }

    /// The picker's label: `x86_64 q35 (UEFI)`.
    pub fn label(&self) -> String {
        format!(
            "{} {}{}",
            self.arch,
            self.machine,
            if self.efi { " (UEFI)" } else { "" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::libvirt::{Document, read_topology};

    #[test]
    fn every_new_guest_reads_and_libvirt_would_define_it() {
        for k in KINDS {
            let doc = Document::parse(&k.xml("new <guest>")).expect("well-formed");
            let t = read_topology(&doc).expect("a domain");
            assert_eq!(t.machine.arch_name, k.arch, "{}", k.label());
            crate::core::assign::assign(&t)
                .unwrap_or_else(|d| panic!("{}: refused: {}", k.label(), d.message));
        }
    }
}
