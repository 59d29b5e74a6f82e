#!/usr/bin/env python3
"""Measures every case of the IO corpus with the QEMU IO oracle.

For each cases/NAME.xml and each firmware this
  1. asks libvirt for the QEMU command line
     (virsh -c qemu:///system domxml-to-native qemu-argv NAME.xml),
  2. keeps the PCI -device entries; <interface> devices are rebuilt from the XML
     because domxml-to-native re-creates them without their PCI address,
  3. replaces the backends with ones that need no host resources
     (null-co block devices, user networking, rng-builtin) and gives NICs an
     empty romfile (no iPXE: faster under OVMF, no effect on IO),
  4. boots it with ../../../shared/oracle/qemu-io-oracle.py and
  5. writes cases/NAME.FIRMWARE.json: what the firmware assigned, keyed by
     libvirt's own names (controller index, bus:slot.function as in the XML).

Usage: python3 run-oracle.py [--firmware seabios ovmf-2022 ovmf-2025] [--only PREFIX...]
                             [--oracle PATH] [--ovmf-2025-dir DIR] [--force]
Python 3 standard library only.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases")
ORACLE = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "oracle",
                                       "qemu-io-oracle.py"))

NIC_MODELS = {
    "virtio": "virtio-net-pci",
    "virtio-transitional": "virtio-net-pci-transitional",
    "virtio-non-transitional": "virtio-net-pci-non-transitional",
    "rtl8139": "rtl8139", "e1000": "e1000", "e1000e": "e1000e",
}


def native_devices(xml_path):
    out = subprocess.run(["virsh", "-q", "-c", "qemu:///system", "domxml-to-native",
                          "qemu-argv", xml_path], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=300)
    if out.returncode != 0:
        raise RuntimeError("domxml-to-native: " + out.stderr.decode())
    argv = out.stdout.decode()
    m = re.search(r"-machine (\S+)", argv)
    machine = m.group(1) if m else None
    devs = [json.loads(j) for j in re.findall(r"-device '(\{[^']*\})'", argv)]
    return machine, devs


def pci_addr(bus, addr):
    """libvirt's bus:slot.function (bus = controller index) from QEMU's bus/addr."""
    b = 0 if bus in ("pcie.0", "pci.0") else int(bus.split(".")[1])
    parts = addr.split(".")
    slot = int(parts[0], 16)
    fn = int(parts[1], 16) if len(parts) > 1 else 0
    return "%02x:%02x.%x" % (b, slot, fn)


def xml_interfaces(root):
    nics = []
    for k, el in enumerate(root.find("devices").findall("interface")):
        model = el.find("model").get("type")
        a = el.find("address")
        bus, slot, fn = (int(a.get(x), 16) for x in ("bus", "slot", "function"))
        dev = {"driver": NIC_MODELS[model], "netdev": "hostnet%d" % k, "id": "net%d" % k,
               "mac": el.find("mac").get("address"),
               "bus": "pci.%d" % bus if bus else None, "addr": "0x%x" % slot}
        if fn:
            dev["addr"] += ".0x%x" % fn
        if a.get("multifunction") == "on":
            dev["multifunction"] = True
        nics.append(dev)
    return nics


def build(xml_path):
    """The oracle's device file for one case, and the id -> libvirt address map."""
    root = ET.parse(xml_path).getroot()
    machine_type = root.find("os/type").get("machine")
    q35 = "q35" in machine_type
    root_bus = "pcie.0" if q35 else "pci.0"
    indexes = {int(c.get("index")) for c in root.find("devices").findall("controller")
               if c.get("type") == "pci"}
    _, devs = native_devices(xml_path)
    kept = []
    for d in devs:
        if "netdev" in d:
            continue  # rebuilt from the XML below
        bus = d.get("bus", "")
        if not (bus in ("pcie.0", "pci.0") or re.fullmatch(r"pci\.\d+", bus)):
            continue  # not a PCI device (ide-cd, usb-tablet, virtserialport, ...)
        if re.fullmatch(r"pci\.\d+", d.get("id", "")) and int(d["id"][4:]) not in indexes:
            continue  # a controller libvirt added for a NIC it lost the address of
        d.pop("bootindex", None)
        kept.append(d)
    for n in xml_interfaces(root):
        if n["bus"] is None:
            n["bus"] = root_bus
        kept.append(n)
    lines, ids = [], {}
    backends = set()
    for d in kept:
        if "drive" in d:
            backends.add("-blockdev null-co,node-name=%s" % d["drive"])
        if "netdev" in d:
            backends.add("-netdev user,id=%s" % d["netdev"])
            d["romfile"] = ""
        if "rng" in d:
            backends.add("-object rng-builtin,id=%s" % d["rng"])
        if d["driver"] in ("qxl-vga", "qxl", "VGA", "cirrus-vga", "virtio-vga"):
            pass
        ids[d["id"]] = pci_addr(d["bus"], d["addr"])
        lines.append(json.dumps(d, separators=(",", ":")))
    # QEMU's audio device needs a backend for a codec only; hda-duplex is dropped.
    text = "\n".join(sorted(backends) + lines) + "\n"
    machine = machine_type + ",usb=off,vmport=off"
    return machine, text, ids, kept


FIRMWARES = {
    "seabios": [],
    "ovmf-2022": ["--ovmf-code", "/usr/share/OVMF/OVMF_CODE.fd",
                  "--ovmf-vars", "/usr/share/OVMF/OVMF_VARS.fd"],
    "ovmf-2025": None,  # filled from --ovmf-2025-dir
}


def measure(case, fw, args, oracle, timeout):
    xml_path = os.path.join(CASES, case + ".xml")
    machine, text, ids, kept = build(xml_path)
    with tempfile.NamedTemporaryFile("w", suffix=".devs", delete=False) as fh:
        fh.write(text)
        devfile = fh.name
    cmd = [sys.executable, oracle, "-M", machine,
           "-f", "seabios" if fw == "seabios" else "ovmf",
           "--timeout", str(timeout), "--device-file", devfile] + args
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout + 120)
    took = time.monotonic() - t0
    os.unlink(devfile)
    raw = json.loads(p.stdout.decode())
    return facts(case, fw, raw, ids, took, text), raw


def facts(case, fw, raw, ids, took, devfile_text):
    status = raw.get("status")
    out = {"case": case, "firmware": fw, "status": status,
           "qemu": raw.get("qemu_version"), "machine": raw.get("machine"),
           "firmware_image": os.path.basename(raw.get("firmware_image") or "")
           or "bios-256k.bin (QEMU default)",
           "seconds": round(took, 1), "windows": {}, "devices": {},
           "root_io_ranges": (raw.get("totals") or {}).get("root_io_ranges"),
           "oracle_devices": devfile_text.splitlines()}
    if status not in ("ok", "firmware-panic"):
        out["error"] = raw.get("error") or raw.get("qemu_stderr")
        return out
    outside = (raw.get("totals") or {}).get("outside_parent_window", [])
    for d in raw.get("devices", []):
        qid = d.get("qdev_id")
        if qid and re.fullmatch(r"pci\.\d+", qid) and "bridge" in d:
            br = d["bridge"]
            w = br.get("io_window")
            mr = br.get("memory_range") or {}
            out["windows"][qid[4:]] = {
                "io": w["size"] if w else 0,
                "io_base": w["base_hex"] if w else None,
                "mem": bool(mr) and 0 < mr.get("base", 0) <= mr.get("limit", 0)}
            continue
        if "bridge" in d:
            continue
        key = ids.get(qid) if qid else None
        if key is None:
            if d["bus"] != 0:
                continue
            key = "%02x:%02x.%x" % (0, d["slot"], d["function"])
        who = "%s(%s)" % (qid or "-", d["bdf"])
        bars = []
        for b in d["io_bars"]:
            bars.append({"bar": b["bar"], "size": b["size"], "assigned": b["assigned"],
                         "reachable": b["assigned"] and not any(
                             o.startswith("%s bar%d " % (who, b["bar"])) for o in outside)})
        mem = d.get("mem_bars", [])
        all_bars = [b["assigned"] for b in d["io_bars"]] + [b["assigned"] for b in mem]
        out["devices"][key] = {
            "id": qid, "device_id": "%s:%s" % (d["vendor_id"][2:], d["device_id"][2:]),
            "io_bars": bars,
            "rejected": status == "ok" and bool(all_bars) and not any(all_bars)}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--firmware", nargs="*", default=["seabios", "ovmf-2022", "ovmf-2025"])
    ap.add_argument("--only", nargs="*", default=[])
    ap.add_argument("--oracle", default=ORACLE)
    ap.add_argument("--ovmf-2025-dir", default="/tmp/ovmf-2025.02",
                    help="OVMF_CODE_4M.fd + OVMF_VARS_4M.fd from Debian 13's ovmf 2025.02-8+deb13u1")
    ap.add_argument("--timeout", type=float, default=580)
    ap.add_argument("--force", action="store_true", help="re-measure existing results")
    ap.add_argument("--raw-dir", help="also keep the oracle's raw JSON here")
    opts = ap.parse_args()
    FIRMWARES["ovmf-2025"] = ["--ovmf-code", os.path.join(opts.ovmf_2025_dir, "OVMF_CODE_4M.fd"),
                              "--ovmf-vars", os.path.join(opts.ovmf_2025_dir, "OVMF_VARS_4M.fd")]
    names = sorted(f[:-4] for f in os.listdir(CASES) if f.endswith(".xml"))
    if opts.only:
        names = [n for n in names if any(n.startswith(p) for p in opts.only)]
    for fw in opts.firmware:
        for case in names:
            dest = os.path.join(CASES, "%s.%s.json" % (case, fw))
            if os.path.exists(dest) and not opts.force:
                continue
            try:
                f, raw = measure(case, fw, FIRMWARES[fw], opts.oracle, opts.timeout)
            except Exception as exc:  # keep going; report at the end
                print("%-34s %-10s ERROR %s" % (case, fw, exc), flush=True)
                continue
            if opts.raw_dir:
                os.makedirs(opts.raw_dir, exist_ok=True)
                with open(os.path.join(opts.raw_dir, "%s.%s.raw.json" % (case, fw)), "w") as fh:
                    json.dump(raw, fh, indent=1)
            if f["status"] not in ("ok", "firmware-panic"):
                print("%-34s %-10s %s (not written)" % (case, fw, f["status"]), flush=True)
                continue
            with open(dest, "w") as fh:
                json.dump(f, fh, indent=1, sort_keys=True)
                fh.write("\n")
            opened = sum(1 for w in f["windows"].values() if w["io"])
            rej = sum(1 for d in f["devices"].values() if d["rejected"])
            print("%-34s %-10s %-14s %5.1fs windows %d/%d rejected %d" % (
                case, fw, f["status"], f["seconds"], opened, len(f["windows"]), rej), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
