//! Generated guests for benchmarks and property tests: plausible domains of any size,
//! built as XML text so they exercise the same path as a user's file.

// Each benchmark and test that includes this file uses some of the shapes only.
#![allow(dead_code)]

use std::fmt::Write;

/// The shape of a generated guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// i440fx with `n` unaddressed e1000 NICs and enough unaddressed pci-bridges for
    /// them (libvirt's own growth stops near 250 devices: new bridges need slots too).
    I440fxNics,
    /// q35 with explicit switches: `n` virtio disks behind downstream ports, no
    /// addresses. Every disk needs a port of its own, and a PCI controller index is at
    /// most 255, so at most seven switches are written (217 ports); libvirt adds root
    /// ports for the disks beyond them, which tops out near 240.
    Q35Switches,
    /// q35 with `n` transitional virtio disks on a pcie-to-pci-bridge and as many
    /// unaddressed pci-bridges as they need.
    Q35Bridges,
}

/// A domain with about `n` PCI devices of the given shape.
pub fn guest(shape: Shape, n: usize) -> String {
    let mut s = String::with_capacity(200 * n + 1000);
    let machine = match shape {
        Shape::I440fxNics => "pc-i440fx-7.2",
        Shape::Q35Switches | Shape::Q35Bridges => "pc-q35-7.2",
    };
    let _ = write!(
        s,
        "<domain type='kvm'>\n  <name>gen-{n}</name>\n  <memory unit='KiB'>4194304</memory>\n  <vcpu>4</vcpu>\n  <os>\n    <type arch='x86_64' machine='{machine}'>hvm</type>\n  </os>\n  <devices>\n    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
    );
    match shape {
        Shape::I440fxNics => {
            // Each bridge adds 31 slots and takes one; the root bus has 29 free.
            let bridges = if n <= 150 { 0 } else { (n + 2).div_ceil(30) };
            for b in 1..=bridges {
                let _ = writeln!(
                    s,
                    "    <controller type='pci' index='{b}' model='pci-bridge'/>"
                );
            }
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
            // Seven switches take indexes 1 to 231; an eighth would pass 255.
            let switches = n.div_ceil(31).clamp(1, 7);
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
            disks(&mut s, n, "virtio");
        }
        Shape::Q35Bridges => {
            let _ = writeln!(
                s,
                "    <controller type='pci' index='1' model='pcie-root-port'/>"
            );
            let _ = writeln!(
                s,
                "    <controller type='pci' index='2' model='pcie-to-pci-bridge'/>"
            );
            let bridges = n.saturating_sub(31).div_ceil(30);
            for b in 0..bridges {
                let _ = writeln!(
                    s,
                    "    <controller type='pci' index='{}' model='pci-bridge'/>",
                    b + 3
                );
            }
            disks(&mut s, n, "virtio-transitional");
        }
    }
    s.push_str("  </devices>\n</domain>\n");
    s
}

/// libvirt's disk name for position `i`: `vda` .. `vdz`, `vdaa` .. (bijective base 26,
/// the inverse of how libvirt numbers disk names).
pub fn disk_name(mut i: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'a' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    letters.reverse();
    format!("vd{}", String::from_utf8_lossy(&letters))
}

fn disks(s: &mut String, n: usize, model: &str) {
    for i in 0..n {
        let _ = write!(
            s,
            "    <disk type='file' device='disk' model='{model}'>\n      <source file='/var/lib/libvirt/images/d{i}.qcow2'/>\n      <target dev='{}' bus='virtio'/>\n    </disk>\n",
            disk_name(i)
        );
    }
}
