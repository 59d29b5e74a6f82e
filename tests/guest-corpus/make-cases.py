#!/usr/bin/env python3
"""Writes the domain XMLs of the guest corpus (cases/NAME.xml).

Each case is written short (controllers and devices, most without
addresses) and then defined by libvirt (`bash ../../../shared/oracle/
libvirt-oracle.sh IN.xml`, libvirt 9.0), so cases/NAME.xml is the domain as
libvirt defines it: every address filled.  Run from anywhere:
python3 make-cases.py [--only PREFIX...].  Python 3 standard library only.
"""

import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "cases")
DEFINE = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "oracle",
                                       "libvirt-oracle.sh"))

PC = "pc-i440fx-7.2"
Q35 = "pc-q35-7.2"


def a(bus, slot, fn=0, mf=False):
    return "<address type='pci' domain='0x0000' bus='0x%02x' slot='0x%02x' function='0x%x'%s/>" % (
        bus, slot, fn, " multifunction='on'" if mf else "")


def nic(model="virtio", addr=""):
    return ("<interface type='network'><source network='default'/><model type='%s'/>%s"
            "</interface>" % (model, addr))


def ctl(model, index, addr="", extra=""):
    return "<controller type='pci' index='%d' model='%s'>%s%s</controller>" % (
        index, model, extra, addr)


def disk(n, bus="virtio", model=None, addr=""):
    m = " model='%s'" % model if model else ""
    return ("<disk type='file' device='disk'%s><driver name='qemu' type='raw'/>"
            "<source file='/var/lib/libvirt/images/g%d.img'/><target dev='vd%s' bus='%s'/>%s</disk>"
            % (m, n, "abcdefgh"[n], bus, addr))


def rng(model="virtio", addr=""):
    return ("<rng model='%s'><backend model='random'>/dev/urandom</backend>%s</rng>"
            % (model, addr))


def pxb(index, model, busnr, addr="", node=None):
    t = "<target busNr='%d'/>" % busnr
    return ctl(model, index, addr, t)


NOBALLOON = "<memballoon model='none'/>"
CASES = {}


def case(name, machine, *devices):
    CASES[name] = (machine, devices)


# -- i440fx ------------------------------------------------------------------
case("pc-plain", PC, nic(), disk(0), NOBALLOON)
case("pc-plain-rng", PC, nic(), disk(0), rng(), NOBALLOON)
case("pc-rng-first", PC, rng(addr=a(0, 3)), nic(), disk(0), NOBALLOON)
case("pc-default-balloon", PC, nic(), disk(0))
case("pc-bridge-1", PC, ctl("pci-bridge", 1), nic("virtio", a(1, 1)), nic("e1000", a(1, 3)),
     nic("rtl8139"), NOBALLOON)
case("pc-bridge-slots", PC, ctl("pci-bridge", 1), nic("e1000", a(1, 2)), nic("e1000", a(1, 7)),
     nic("virtio", a(1, 0x1f)), NOBALLOON)
case("pc-bridge-nested", PC, ctl("pci-bridge", 1), ctl("pci-bridge", 2, a(1, 1)),
     nic("virtio", a(2, 1)), nic("e1000", a(1, 2)), nic(), NOBALLOON)
case("pc-bridges-2", PC, ctl("pci-bridge", 1), ctl("pci-bridge", 2), nic("virtio", a(1, 1)),
     nic("virtio", a(2, 1)), NOBALLOON)
case("pc-bridge-ooo", PC, ctl("pci-bridge", 2, a(0, 5)), ctl("pci-bridge", 1, a(0, 8)),
     nic("virtio", a(1, 1)), nic("e1000", a(2, 1)), NOBALLOON)
case("pc-bridge-ooo-nested", PC, ctl("pci-bridge", 2, a(0, 4)), ctl("pci-bridge", 3, a(2, 1)),
     ctl("pci-bridge", 1, a(0, 9)), nic("virtio", a(1, 2)), nic("virtio", a(2, 2)),
     nic("virtio", a(3, 3)), NOBALLOON)
case("pc-bridge-3deep", PC, ctl("pci-bridge", 1), ctl("pci-bridge", 2, a(1, 1)),
     ctl("pci-bridge", 3, a(2, 1)), nic("virtio", a(3, 1)), nic("rtl8139", a(0, 6)), NOBALLOON)
case("pc-bridges-mf", PC, ctl("pci-bridge", 1, a(0, 5, 0, True)), ctl("pci-bridge", 2, a(0, 5, 1)),
     ctl("pci-bridge", 3, a(0, 5, 2)), nic("virtio", a(1, 1)), nic("virtio", a(2, 1)),
     nic("virtio", a(3, 1)), NOBALLOON)
case("pc-nic-mf", PC, nic("virtio", a(0, 6, 0, True)), nic("virtio", a(0, 6, 1)),
     nic("e1000", a(0, 6, 2)), nic("virtio", a(0, 7)), NOBALLOON)
case("pc-nic-mf-bridge", PC, ctl("pci-bridge", 1), nic("virtio", a(1, 2, 0, True)),
     nic("virtio", a(1, 2, 1)), nic("virtio", a(1, 3)), NOBALLOON)
case("pc-nic-models", PC, nic("rtl8139"), nic("e1000"), nic("virtio-transitional"),
     nic("virtio-non-transitional"), nic("e1000e"), NOBALLOON)
case("pc-many-nics", PC, *([nic()] * 6 + [NOBALLOON]))
case("pc-slot-31", PC, nic("virtio", a(0, 0x1f)), nic("virtio", a(0, 0x10)), NOBALLOON)
case("pc-pxb", PC, pxb(1, "pci-expander-bus", 64), nic("virtio", a(1, 0)), nic(), NOBALLOON)
case("pc-pxb-bridge", PC, pxb(1, "pci-expander-bus", 32), ctl("pci-bridge", 2, a(1, 1)),
     nic("virtio", a(2, 1)), nic("e1000", a(1, 2)), NOBALLOON)
case("pc-pxb-2", PC, pxb(1, "pci-expander-bus", 100), pxb(2, "pci-expander-bus", 50),
     nic("virtio", a(1, 1)), nic("virtio", a(2, 1)), ctl("pci-bridge", 3), nic("virtio", a(3, 1)),
     NOBALLOON)
case("pc-virtio-mix", PC, disk(0), disk(1, model="virtio-non-transitional"),
     disk(2, model="virtio-transitional"), rng("virtio-non-transitional"), nic(), NOBALLOON)
case("pc-scsi-disk", PC, "<controller type='scsi' index='0' model='virtio-scsi'/>", disk(0),
     nic(), ctl("pci-bridge", 1), disk(1, addr=a(1, 4)), NOBALLOON)

# -- q35 ---------------------------------------------------------------------
case("q35-default", Q35, nic(), disk(0), rng())
case("q35-default-norng", Q35, nic(), disk(0))
case("q35-virtinstall", Q35, *([ctl("pcie-root-port", i) for i in range(1, 15)]
                              + [nic(), disk(0), rng()]))
case("q35-rp-ooo", Q35, ctl("pcie-root-port", 3, a(0, 2, 0, True)), ctl("pcie-root-port", 1, a(0, 2, 1)),
     ctl("pcie-root-port", 2, a(0, 2, 2)), nic("virtio", a(1, 0)), nic("e1000e", a(2, 0)),
     nic("virtio", a(3, 0)), NOBALLOON)
case("q35-rp-ooo-slots", Q35, ctl("pcie-root-port", 1, a(0, 7)), ctl("pcie-root-port", 2, a(0, 3)),
     ctl("pcie-root-port", 3, a(0, 5)), nic("virtio", a(1, 0)), nic("virtio", a(2, 0)),
     nic("virtio", a(3, 0)), NOBALLOON)
case("q35-ppb", Q35, ctl("pcie-root-port", 1), ctl("pcie-to-pci-bridge", 2, a(1, 0)),
     nic("e1000", a(2, 1)), nic("e1000", a(2, 2)), nic("virtio-transitional", a(2, 5)), NOBALLOON)
case("q35-ppb-on-rp", Q35, ctl("pcie-root-port", 1), ctl("pcie-root-port", 2),
     ctl("pcie-to-pci-bridge", 5, a(2, 0)), ctl("pcie-root-port", 3), nic("virtio", a(1, 0)),
     nic("e1000", a(5, 1)), nic("e1000e", a(3, 0)), nic("virtio", a(0, 5)))
case("q35-ppb-mf", Q35, ctl("pcie-root-port", 1), ctl("pcie-to-pci-bridge", 2, a(1, 0)),
     nic("e1000", a(2, 3, 0, True)), nic("e1000", a(2, 3, 1)), nic("rtl8139", a(2, 4)), NOBALLOON)
case("q35-ppb-pci-bridge", Q35, ctl("pcie-root-port", 1), ctl("pcie-to-pci-bridge", 2, a(1, 0)),
     ctl("pci-bridge", 3, a(2, 1)), nic("e1000", a(3, 1)), nic("e1000", a(2, 2)), NOBALLOON)
case("q35-switch", Q35, ctl("pcie-root-port", 1), ctl("pcie-switch-upstream-port", 2, a(1, 0)),
     ctl("pcie-switch-downstream-port", 3, a(2, 0)), ctl("pcie-switch-downstream-port", 4, a(2, 1)),
     nic("virtio", a(3, 0)), nic("e1000e", a(4, 0)), nic(), NOBALLOON)
case("q35-switch-ooo", Q35, ctl("pcie-root-port", 1), ctl("pcie-switch-upstream-port", 2, a(1, 0)),
     ctl("pcie-switch-downstream-port", 5, a(2, 0)), ctl("pcie-switch-downstream-port", 3, a(2, 1)),
     ctl("pcie-switch-downstream-port", 4, a(2, 2)), nic("virtio", a(3, 0)), nic("virtio", a(4, 0)),
     nic("virtio", a(5, 0)), NOBALLOON)
case("q35-switch-nested", Q35, ctl("pcie-root-port", 1), ctl("pcie-switch-upstream-port", 2, a(1, 0)),
     ctl("pcie-switch-downstream-port", 3, a(2, 0)), ctl("pcie-switch-upstream-port", 4, a(3, 0)),
     ctl("pcie-switch-downstream-port", 5, a(4, 0)), ctl("pcie-switch-downstream-port", 6, a(2, 1)),
     nic("virtio", a(5, 0)), nic("virtio", a(6, 0)), NOBALLOON)
case("q35-switch-ppb", Q35, ctl("pcie-root-port", 1), ctl("pcie-switch-upstream-port", 2, a(1, 0)),
     ctl("pcie-switch-downstream-port", 3, a(2, 0)), ctl("pcie-to-pci-bridge", 4, a(3, 0)),
     nic("e1000", a(4, 1)), nic("virtio"), NOBALLOON)
case("q35-dmi-pci-bridge", Q35, ctl("dmi-to-pci-bridge", 1), ctl("pci-bridge", 2, a(1, 1)),
     nic("e1000", a(2, 1)), nic("e1000", a(1, 2)), nic(), NOBALLOON)
case("q35-pxb-pcie", Q35, pxb(1, "pcie-expander-bus", 128), ctl("pcie-root-port", 2, a(1, 0)),
     ctl("pcie-root-port", 3, a(1, 1)), nic("virtio", a(2, 0)), nic("virtio", a(3, 0)), nic(),
     NOBALLOON)
case("q35-pxb-pcie-2", Q35, pxb(1, "pcie-expander-bus", 200), pxb(2, "pcie-expander-bus", 100),
     ctl("pcie-root-port", 3, a(1, 0)), ctl("pcie-root-port", 4, a(2, 0)),
     nic("virtio", a(3, 0)), nic("virtio", a(4, 0)), nic(), NOBALLOON)
case("q35-pxb-pcie-switch", Q35, pxb(1, "pcie-expander-bus", 64), ctl("pcie-root-port", 2, a(1, 0)),
     ctl("pcie-switch-upstream-port", 3, a(2, 0)), ctl("pcie-switch-downstream-port", 4, a(3, 0)),
     nic("virtio", a(4, 0)), NOBALLOON)
case("q35-integrated", Q35, nic("virtio", a(0, 2)), nic("e1000e", a(0, 3)),
     nic("virtio", a(0, 4, 0, True)), nic("virtio", a(0, 4, 1)), nic("e1000", a(0, 6)), NOBALLOON)
case("q35-transitional", Q35, nic("virtio-transitional"), disk(0, model="virtio-transitional"),
     rng("virtio-transitional"), NOBALLOON)
case("q35-nontransitional", Q35, nic("virtio-non-transitional"),
     disk(0, model="virtio-non-transitional"), nic("virtio"), NOBALLOON)
case("q35-rp-mf-16", Q35, *([ctl("pcie-root-port", i) for i in range(1, 17)]
                           + [nic("virtio", a(9, 0)), nic("virtio", a(16, 0)), NOBALLOON]))
case("q35-rp-hotplug-off", Q35,
     "<controller type='pci' index='1' model='pcie-root-port'><target hotplug='off'/></controller>",
     ctl("pcie-root-port", 2), nic("virtio", a(1, 0)), nic("virtio", a(2, 0)), NOBALLOON)
case("q35-ioh3420-x3130", Q35,
     "<controller type='pci' index='1' model='pcie-root-port'><model name='ioh3420'/></controller>",
     "<controller type='pci' index='2' model='pcie-switch-upstream-port'><model name='x3130-upstream'/>"
     + a(1, 0) + "</controller>",
     "<controller type='pci' index='3' model='pcie-switch-downstream-port'><model name='xio3130-downstream'/>"
     + a(2, 0) + "</controller>",
     nic("virtio", a(3, 0)), nic(), NOBALLOON)
case("q35-rp-gaps", Q35, *([ctl("pcie-root-port", i) for i in range(1, 7)]
                          + [nic("virtio", a(2, 0)), nic("e1000e", a(5, 0)), NOBALLOON]))
case("q35-nic-mf-on-rp", Q35, ctl("pcie-root-port", 1), nic("virtio", a(1, 0, 0, True)),
     nic("virtio", a(1, 0, 1)), nic("e1000e", a(1, 0, 2)), NOBALLOON)
case("q35-mixed", Q35, ctl("pcie-root-port", 1), ctl("pcie-to-pci-bridge", 2, a(1, 0)),
     ctl("pcie-root-port", 3), ctl("pcie-switch-upstream-port", 4, a(3, 0)),
     ctl("pcie-switch-downstream-port", 5, a(4, 0)), nic("e1000", a(2, 1)), nic("virtio", a(5, 0)),
     nic("virtio-transitional", a(2, 3)), disk(0), rng())


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", default=[])
    ap.add_argument("--define", default=DEFINE)
    o = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    bad = 0
    for name, (machine, devices) in sorted(CASES.items()):
        if o.only and not any(name.startswith(p) for p in o.only):
            continue
        text = ("<domain type='kvm'>\n  <name>%s</name>\n  <memory unit='MiB'>512</memory>\n"
                "  <os><type arch='x86_64' machine='%s'>hvm</type></os>\n"
                "  <features><acpi/><apic/></features>\n  <devices>\n%s\n"
                "  </devices>\n</domain>\n" % (
                    name, machine, "\n".join("    " + d for d in devices)))
        with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as fh:
            fh.write(text)
        p = subprocess.run(["bash", o.define, fh.name], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True)
        os.unlink(fh.name)
        if p.returncode != 0:
            print("%-28s refused: %s" % (name, p.stdout.strip()[-300:]))
            bad += 1
            continue
        # The definer names the domain after itself; give it the case's name back.
        out = p.stdout.replace(p.stdout[p.stdout.index("<name>"):p.stdout.index("</name>")],
                               "<name>" + name, 1)
        with open(os.path.join(OUT, name + ".xml"), "w") as fh:
            fh.write(out)
        print("%-28s defined" % name)
    print("%d cases" % len(CASES))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
