#!/usr/bin/env python3
"""Writes the domain XMLs of the IO corpus (cases/NAME.xml).

Every case is a fully addressed libvirt domain (a fixed point of libvirt's
address assignment), built to sit near or past one of the IO port limits.
Run from this folder: python3 make-cases.py. Python 3 standard library only.
"""

import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "cases")

Q35 = "pc-q35-7.2"
PC = "pc-i440fx-7.2"


def addr(bus, slot, fn=0, mf=False):
    extra = " multifunction='on'" if mf else ""
    return ("<address type='pci' domain='0x0000' bus='0x%02x' slot='0x%02x' "
            "function='0x%x'%s/>" % (bus, slot, fn, extra))


class Domain:
    def __init__(self, name, machine, note):
        self.name, self.machine, self.note = name, machine, note
        self.controllers, self.devices, self.overrides = [], [], []
        self.mac = 0
        self.disk = 0
        self.scsi = 0
        self.serial = 0
        self.balloon = False
        self.q35 = "q35" in machine
        if self.q35:
            self.controllers.append("<controller type='pci' index='0' model='pcie-root'/>")
            self.controllers.append("<controller type='sata' index='0'>%s</controller>"
                                    % addr(0, 0x1f, 2))
        else:
            self.controllers.append("<controller type='pci' index='0' model='pci-root'/>")
            self.controllers.append("<controller type='ide' index='0'>%s</controller>"
                                    % addr(0, 1, 1))
        self.next_index = 1
        # root-bus slot/function cursor for controllers placed on bus 0
        self.root_slot = 2 if self.q35 else 3
        self.root_fn = 0

    # -- controllers -----------------------------------------------------
    def _index(self):
        i = self.next_index
        self.next_index += 1
        return i

    def root_fn_addr(self, count_hint=8):
        """Next function on the root bus, packing 8 ports per slot."""
        slot, fn = self.root_slot, self.root_fn
        self.root_fn += 1
        if self.root_fn == 8:
            self.root_fn, self.root_slot = 0, self.root_slot + 1
        return slot, fn

    def root_ports(self, n, hotplug=None):
        """n root ports on the root bus, 8 functions per slot (multifunction)."""
        idx = []
        start = (self.root_slot, self.root_fn)
        places = [self.root_fn_addr() for _ in range(n)]
        slots_used = {}
        for s, f in places:
            slots_used.setdefault(s, []).append(f)
        for s, f in places:
            i = self._index()
            mf = f == 0 and len(slots_used[s]) > 1
            target = "<target chassis='%d' port='0x%x'%s/>" % (
                i, s * 8 + f, " hotplug='off'" if hotplug == "off" else "")
            self.controllers.append(
                "<controller type='pci' index='%d' model='pcie-root-port'>"
                "<model name='pcie-root-port'/>%s%s</controller>" % (i, target, addr(0, s, f, mf)))
            idx.append(i)
        # a partly used slot is finished so the next user starts a new slot
        if self.root_fn:
            self.root_fn, self.root_slot = 0, self.root_slot + 1
        return idx

    def root_slot_next(self):
        s = self.root_slot
        self.root_slot += 1
        return s

    def pcie_to_pci_bridge(self, port):
        i = self._index()
        self.controllers.append(
            "<controller type='pci' index='%d' model='pcie-to-pci-bridge'>"
            "<model name='pcie-pci-bridge'/>%s</controller>" % (i, addr(port, 0)))
        return i

    def pci_bridge(self, bus, slot):
        i = self._index()
        self.controllers.append(
            "<controller type='pci' index='%d' model='pci-bridge'>"
            "<model name='pci-bridge'/><target chassisNr='%d'/>%s</controller>"
            % (i, i, addr(bus, slot)))
        return i

    def dmi_to_pci_bridge(self, slot):
        i = self._index()
        self.controllers.append(
            "<controller type='pci' index='%d' model='dmi-to-pci-bridge'>"
            "<model name='i82801b11-bridge'/>%s</controller>" % (i, addr(0, slot)))
        return i

    def switch(self, port, n):
        up = self._index()
        self.controllers.append(
            "<controller type='pci' index='%d' model='pcie-switch-upstream-port'>"
            "<model name='x3130-upstream'/>%s</controller>" % (up, addr(port, 0)))
        downs = []
        for k in range(n):
            i = self._index()
            self.controllers.append(
                "<controller type='pci' index='%d' model='pcie-switch-downstream-port'>"
                "<model name='xio3130-downstream'/><target chassis='%d' port='0x%x'/>%s"
                "</controller>" % (i, i, k, addr(up, k, 0, k == 0 and n > 1)))
            downs.append(i)
        return up, downs

    def io_reserve(self, index, value):
        self.overrides.append((index, value))

    # -- endpoints -------------------------------------------------------
    def net(self, model, bus, slot=0, fn=0, mf=False):
        self.mac += 1
        self.devices.append(
            "<interface type='user'><mac address='52:54:00:00:%02x:%02x'/>"
            "<model type='%s'/>%s</interface>"
            % (self.mac // 256, self.mac % 256, model, addr(bus, slot, fn, mf)))

    def blk(self, model, bus, slot=0):
        dev = "vd" + "abcdefghijklmnopqrstuvwxyz"[self.disk % 26] + (
            "" if self.disk < 26 else "abcdefghijklmnopqrstuvwxyz"[self.disk // 26 - 1])
        self.disk += 1
        m = "" if model == "virtio" else " model='%s'" % model
        self.devices.append(
            "<disk type='file' device='disk'%s><driver name='qemu' type='raw'/>"
            "<source file='/var/lib/libvirt/images/%s-%s.img'/>"
            "<target dev='%s' bus='virtio'/>%s</disk>"
            % (m, self.name, dev, dev, addr(bus, slot)))

    def scsi_ctl(self, model, bus, slot=0):
        m = "virtio-scsi" if model == "virtio" else model
        self.controllers.append("<controller type='scsi' index='%d' model='%s'>%s</controller>"
                                % (self.scsi, m, addr(bus, slot)))
        self.scsi += 1

    def serial_ctl(self, model, bus, slot=0):
        m = "" if model == "virtio" else " model='%s'" % model
        self.controllers.append("<controller type='virtio-serial' index='%d'%s>%s</controller>"
                                % (self.serial, m, addr(bus, slot)))
        self.serial += 1

    def balloon_dev(self, model, bus, slot=0):
        assert not self.balloon
        self.balloon = True
        self.devices.append("<memballoon model='%s'>%s</memballoon>" % (model, addr(bus, slot)))

    def rng(self, model, bus, slot=0):
        self.devices.append("<rng model='%s'><backend model='random'>/dev/urandom</backend>%s</rng>"
                            % (model, addr(bus, slot)))

    def kind(self, k, model, bus, slot=0):
        {"net": self.net, "blk": self.blk, "scsi": self.scsi_ctl,
         "serial": self.serial_ctl, "balloon": self.balloon_dev,
         "rng": self.rng}[k](model, bus, slot)

    def usb_uhci(self):
        self.controllers.append("<controller type='usb' index='0' model='piix3-uhci'>%s</controller>"
                                % addr(0, 1, 2))
        self.has_usb = True

    # -- output ----------------------------------------------------------
    def xml(self):
        ns = " xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'" if self.overrides else ""
        lines = ["<domain type='qemu'%s>" % ns,
                 "  <name>%s</name>" % self.name,
                 "  <description>%s</description>" % self.note,
                 "  <memory unit='KiB'>262144</memory>",
                 "  <currentMemory unit='KiB'>262144</currentMemory>",
                 "  <vcpu placement='static'>1</vcpu>",
                 "  <os>",
                 "    <type arch='x86_64' machine='%s'>hvm</type>" % self.machine,
                 "  </os>",
                 "  <features>",
                 "    <acpi/>",
                 "  </features>",
                 "  <devices>",
                 "    <emulator>/usr/bin/qemu-system-x86_64</emulator>"]
        ctl = list(self.controllers)
        if not getattr(self, "has_usb", False):
            ctl.append("<controller type='usb' index='0' model='none'/>")
        for c in ctl + self.devices:
            lines.append("    " + c)
        if not self.balloon:
            lines.append("    <memballoon model='none'/>")
        lines.append("  </devices>")
        if self.overrides:
            lines.append("  <qemu:override>")
            for index, value in self.overrides:
                lines += ["    <qemu:device alias='pci.%d'>" % index,
                          "      <qemu:frontend>",
                          "        <qemu:property name='io-reserve' type='unsigned' value='%d'/>"
                          % value,
                          "      </qemu:frontend>",
                          "    </qemu:device>"]
            lines.append("  </qemu:override>")
        lines.append("</domain>")
        return "\n".join(lines) + "\n"


MIXED = ["blk", "scsi", "serial", "net", "rng", "blk", "net", "scsi", "rng", "blk",
         "serial", "balloon", "net", "rng", "scsi", "blk"]


def cases():
    C = []

    def new(name, machine, note):
        d = Domain(name, machine, note)
        C.append(d)
        return d

    # transitional virtio-net, one per root port, across both limits
    for n in (1, 9, 10, 14, 15):
        d = new("q35-rp-trans-net-%02d" % n, Q35,
                "%d root ports, each with a virtio-transitional NIC" % n)
        for p in d.root_ports(n):
            d.net("virtio-transitional", p)
    d = new("q35-rp-trans-mixed-12", Q35,
            "12 root ports with transitional devices of every IO BAR size")
    for p, k in zip(d.root_ports(12), MIXED):
        d.kind(k, "virtio-transitional", p)
    d = new("q35-rp-trans-mixed-16", Q35,
            "16 root ports with transitional devices of every size (SeaBIOS panics)")
    for p, k in zip(d.root_ports(16), MIXED):
        d.kind(k, "virtio-transitional", p)
    d = new("q35-rp-virtio-16", Q35,
            "16 root ports with plain virtio devices (modern-only, no IO BAR)")
    for p, k in zip(d.root_ports(16), MIXED):
        d.kind(k, "virtio", p)
    d = new("q35-rp-nontrans-12", Q35, "12 root ports with virtio-non-transitional devices")
    for p, k in zip(d.root_ports(12), MIXED):
        d.kind(k, "virtio-non-transitional", p)
    # one pcie-to-pci-bridge holding many transitional devices
    d = new("q35-ppb-trans-20", Q35,
            "a pcie-to-pci-bridge with 20 transitional devices, plus 3 empty root ports")
    rp = d.root_ports(4)
    br = d.pcie_to_pci_bridge(rp[0])
    for s in range(1, 21):
        d.kind(MIXED[(s - 1) % len(MIXED)] if MIXED[(s - 1) % len(MIXED)] != "balloon" else "net",
               "virtio-transitional", br, s)
    d = new("q35-ppb-rtl-31", Q35,
            "a pcie-to-pci-bridge full of rtl8139 and virtio-blk: more than 4 KiB of BARs")
    rp = d.root_ports(1)
    br = d.pcie_to_pci_bridge(rp[0])
    for s in range(1, 32):
        if s % 2:
            d.net("rtl8139", br, s)
        else:
            d.blk("virtio", br, s)
    # switches
    d = new("q35-switch-trans-4", Q35,
            "a switch with 4 downstream ports holding transitional devices, plus 2 empty root ports")
    rp = d.root_ports(3)
    up, downs = d.switch(rp[0], 4)
    for p, k in zip(downs, ["net", "blk", "scsi", "rng"]):
        d.kind(k, "virtio-transitional", p)
    d = new("q35-switch-empty-4", Q35,
            "a switch with 4 empty downstream ports, and a root port with a transitional NIC")
    rp = d.root_ports(2)
    up, downs = d.switch(rp[0], 4)
    d.net("virtio-transitional", rp[1])
    d = new("q35-switch-virtio-4", Q35,
            "a switch with 4 downstream ports holding plain virtio (modern) devices")
    rp = d.root_ports(1)
    up, downs = d.switch(rp[0], 4)
    for p, k in zip(downs, ["net", "blk", "scsi", "rng"]):
        d.kind(k, "virtio", p)
    d = new("q35-switches-trans-2x3", Q35,
            "two switches with 3 downstream ports each, transitional devices, and 8 transitional root ports")
    rp = d.root_ports(10)
    for sw in rp[:2]:
        up, downs = d.switch(sw, 3)
        for p, k in zip(downs, ["blk", "net", "serial"]):
            d.kind(k, "virtio-transitional", p)
    for p, k in zip(rp[2:], MIXED[3:]):
        d.kind(k, "virtio-transitional", p)
    # empty root ports (hotplug headroom)
    for n in (10, 11, 24):
        d = new("q35-rp-empty-%02d" % n, Q35, "%d empty root ports" % n)
        d.root_ports(n)
    d = new("q35-rp-empty-hpoff-16", Q35, "16 empty root ports with hotplug='off'")
    d.root_ports(16, hotplug="off")
    d = new("q35-rp-8trans-4empty", Q35, "8 root ports with transitional NICs, then 4 empty ones")
    rp = d.root_ports(12)
    for p in rp[:8]:
        d.net("virtio-transitional", p)
    d = new("q35-rp-trans10-ppb-blk3", Q35,
            "10 transitional NICs on root ports, and a pcie-to-pci-bridge with 3 transitional disks")
    rp = d.root_ports(11)
    for p in rp[:10]:
        d.net("virtio-transitional", p)
    br = d.pcie_to_pci_bridge(rp[10])
    for s in (1, 2, 3):
        d.blk("virtio-transitional", br, s)
    d = new("q35-rp-6trans-hpoff-6empty", Q35,
            "6 transitional root ports, 6 empty root ports with hotplug='off', 2 empty with hotplug on")
    rp = d.root_ports(6)
    for p in rp:
        d.net("virtio-transitional", p)
    d.root_ports(6, hotplug="off")
    d.root_ports(2)
    # root-bus BARs near the boundary (rtl8139 has a 0x100 IO BAR)
    for nrp, nrtl in ((14, 15), (14, 16), (3, 15), (3, 16)):
        d = new("q35-rootbars-%drp-%drtl" % (nrp, nrtl), Q35,
                "%d transitional root ports and %d rtl8139 on pcie.0" % (nrp, nrtl))
        for p in d.root_ports(nrp):
            d.net("virtio-transitional", p)
        for _ in range(nrtl):
            d.net("rtl8139", 0, d.root_slot_next())
    d = new("q35-integrated-30", Q35,
            "30 plain virtio devices as integrated endpoints on pcie.0 (transitional there)")
    d.root_slot = 1
    for k in range(30):
        kind = ["net", "blk", "scsi", "rng", "serial"][k % 5]
        d.kind(kind, "virtio", 0, d.root_slot_next())
    # conventional bridges on q35
    d = new("q35-dmi-pci-bridge", Q35,
            "dmi-to-pci-bridge with a pci-bridge holding plain virtio devices, and an empty pci-bridge")
    dmi = d.dmi_to_pci_bridge(0x1e)
    pb = d.pci_bridge(dmi, 1)
    pb2 = d.pci_bridge(dmi, 2)
    for s, k in zip((1, 2, 3, 4), ["net", "blk", "scsi", "serial"]):
        d.kind(k, "virtio", pb, s)
    # io-reserve=0 through <qemu:override>
    d = new("q35-ior0", Q35,
            "root ports with io-reserve=0: one with a transitional NIC, one modern, one empty; "
            "plus 2 normal transitional root ports")
    rp = d.root_ports(5)
    for p in rp[:3]:
        d.io_reserve(p, 0)
    d.net("virtio-transitional", rp[0])
    d.net("virtio", rp[1])
    d.net("virtio-transitional", rp[3])
    d.blk("virtio-transitional", rp[4])
    # machine pc-q35-6.1: root ports reserve 4 KiB of IO by default
    for n in (14, 15):
        d = new("q35-6.1-rp-empty-%d" % n, "pc-q35-6.1", "pc-q35-6.1 with %d empty root ports" % n)
        d.root_ports(n)
    # emulated NICs on root ports (OVMF drops the biggest IO BARs first)
    d = new("q35-rp-emulated-11", Q35,
            "11 root ports with e1000e, e1000, rtl8139 and transitional virtio devices")
    rp = d.root_ports(11)
    for p, m in zip(rp, ["e1000e", "rtl8139", "e1000", "virtio-transitional", "e1000e",
                         "rtl8139", "e1000", "virtio-transitional", "e1000e", "rtl8139",
                         "e1000"]):
        d.net(m, p)
    # i440fx
    for n in (3, 4, 8, 9):
        d = new("pc-br-virtio-%d" % n, PC,
                "%d pci-bridges, each with a plain virtio NIC (transitional there)" % n)
        for k in range(n):
            b = d.pci_bridge(0, d.root_slot_next())
            d.net("virtio", b, 1)
    d = new("pc-br-empty-5", PC, "5 empty pci-bridges")
    for k in range(5):
        d.pci_bridge(0, d.root_slot_next())
    for nrtl in (15, 16):
        d = new("pc-rootbars-8br-%drtl" % nrtl, PC,
                "8 pci-bridges with virtio NICs and %d rtl8139 on pci.0" % nrtl)
        for k in range(8):
            b = d.pci_bridge(0, d.root_slot_next())
            d.net("virtio", b, 1)
        for _ in range(nrtl):
            d.net("rtl8139", 0, d.root_slot_next())
    d = new("pc-rootbars-3br-16rtl", PC,
            "3 pci-bridges with virtio disks and 16 rtl8139 on pci.0 (OVMF: root BARs crowd out bridges)")
    for k in range(3):
        b = d.pci_bridge(0, d.root_slot_next())
        d.blk("virtio", b, 1)
    for _ in range(16):
        d.net("rtl8139", 0, d.root_slot_next())
    d = new("pc-uhci-br-mixed-4", PC,
            "PIIX3 UHCI on 00:01.2 and 4 pci-bridges with virtio devices of different sizes")
    d.usb_uhci()
    for k, kind in enumerate(["net", "blk", "rng", "scsi"]):
        b = d.pci_bridge(0, d.root_slot_next())
        d.kind(kind, "virtio", b, 1)
    return C


def main():
    os.makedirs(OUT, exist_ok=True)
    for d in cases():
        with open(os.path.join(OUT, d.name + ".xml"), "w") as fh:
            fh.write(d.xml())
    # the bundled examples, as real-world guests
    ex = os.path.join(HERE, "..", "..", "assets", "examples")
    for name in ("centos6-q35-virtio", "centos6-q35-transitional", "debian8-i440fx",
                 "win10-q35"):
        src = os.path.join(ex, name + ".xml")
        if os.path.exists(src):
            shutil.copy(src, os.path.join(OUT, "example-" + name + ".xml"))


if __name__ == "__main__":
    main()
