//! Generated guests for benchmarks and property tests: plausible domains of any size,
//! built as XML text so they exercise the same path as a user's file.

use std::fmt::Write;

/// The shape of a generated guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// i440fx with `n` unaddressed e1000 NICs: libvirt adds pci-bridges as needed.
    I440fxNics,
    /// q35 with explicit switches: `n` virtio disks behind downstream ports, no addresses.
    Q35Switches,
}

/// A domain with about `n` PCI devices of the given shape.
pub fn guest(shape: Shape, n: usize) -> String {
    let mut s = String::with_capacity(200 * n + 1000);
    let machine = match shape {
        Shape::I440fxNics => "pc-i440fx-7.2",
        Shape::Q35Switches => "pc-q35-7.2",
    };
    let _ = write!(
        s,
        "<domain type='kvm'>\n  <name>gen-{n}</name>\n  <memory unit='KiB'>4194304</memory>\n  <vcpu>4</vcpu>\n  <os>\n    <type arch='x86_64' machine='{machine}'>hvm</type>\n  </os>\n  <devices>\n    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
    );
    match shape {
        Shape::I440fxNics => {
            for i in 0..n {
                let _ = write!(
                    s,
                    "    <interface type='network'>\n      <mac address='52:54:00:{:02x}:{:02x}:{:02x}'/>\n      <source network='default'/>\n      <model type='e1000'/>\n    </interface>\n",
                    (i >> 16) & 0xff,
                    (i >> 8) & 0xff,
                    i & 0xff
                );
            }
        }
        Shape::Q35Switches => {
            // Each switch: a root port, an upstream port and 31 downstream ports.
            let switches = n.div_ceil(31).max(1);
            let mut index = 1;
            for _ in 0..switches {
                let _ = writeln!(
                    s,
                    "    <controller type='pci' index='{index}' model='pcie-root-port'/>"
                );
                let _ = writeln!(
                    s,
                    "    <controller type='pci' index='{}' model='pcie-switch-upstream-port'/>",
                    index + 1
                );
                for d in 0..31 {
                    let _ = writeln!(
                        s,
                        "    <controller type='pci' index='{}' model='pcie-switch-downstream-port'/>",
                        index + 2 + d
                    );
                }
                index += 33;
            }
            for i in 0..n {
                let _ = write!(
                    s,
                    "    <disk type='file' device='disk'>\n      <source file='/var/lib/libvirt/images/d{i}.qcow2'/>\n      <target dev='vd{i}' bus='virtio'/>\n    </disk>\n"
                );
            }
        }
    }
    s.push_str("  </devices>\n</domain>\n");
    s
}
