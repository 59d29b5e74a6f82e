#!/usr/bin/env python3
"""guest-oracle: what a Linux guest sees of a libvirt domain's PCI topology.

Boots Debian 12's own kernel (linux-image-amd64, unpacked, never installed)
with a small initramfs built from Debian packages (busybox-static, pciutils,
udev's udevadm and the libraries they link) under QEMU TCG, with the PCI
-device arguments libvirt passes for the domain, and prints JSON:

  * lspci -tvn, and every PCI function's guest address, vendor:device id,
    class, driver, and for bridges the secondary/subordinate bus numbers;
  * the hotplug slots the guest sees (/sys/bus/pci/slots: name -> address);
  * for every NIC, `udevadm test-builtin net_id` (ID_NET_NAME_PATH, _SLOT,
    _ONBOARD, ...) and `net_setup_link` with Debian's 99-default.link
    (ID_NET_NAME: the name a default guest ends up with);
  * which virtio functions bind when virtio_pci is loaded with
    force_legacy=1 (the module parameter is the kernel parameter
    virtio_pci.force_legacy=1: the driver is a module here, so loading it
    once with the parameter and once without gives both answers from one
    boot) and whether the device then runs with VIRTIO_F_VERSION_1 (modern)
    or without it (legacy).

Usage:
  guest-oracle.py prepare                      fetch + unpack + build initramfs
  guest-oracle.py run DOMAIN.xml [-f seabios|ovmf] [--timeout S]
  guest-oracle.py devices DOMAIN.xml           print the -device lines only

The -device list comes from libvirt itself (virsh -c qemu:///system
domxml-to-native qemu-argv), turned into backend-free arguments by the IO
corpus' own converter (tests/io-corpus/run-oracle.py, `build`).

Exit codes: 0 ok; 1 error; 3 cannot run here (no QEMU, no firmware, no
package registry, no libvirt): the JSON then says {"status": "cannot-run",
"why": ...}.  Cache: $VIRT_PCI_GUEST_CACHE, else $XDG_CACHE_HOME/virt-pci-
guest-oracle, else /var/tmp/virt-pci-guest-oracle.
Python 3 standard library only (plus apt-get, dpkg-deb, readelf, qemu).
"""

import argparse
import hashlib
import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
IO_CONVERTER = os.path.join(HERE, "..", "io-corpus", "run-oracle.py")

# Debian 12 packages the initramfs is built from.  The libraries are the
# closure of what udevadm, lspci and libkmod link (checked in `prepare`).
PACKAGES = [
    "linux-image-amd64", "busybox-static", "pciutils", "udev", "libsystemd-shared",
    "libc6", "libacl1", "libblkid1", "libcap2", "libkmod2", "libselinux1", "libpci3",
    "libudev1", "libpcre2-8-0", "zlib1g", "liblzma5", "libzstd1", "libssl3",
    "libmount1", "libcrypt1", "libgcrypt20", "libgpg-error0", "liblz4-1", "libpam0g",
    "libseccomp2", "libaudit1", "libcap-ng0", "libgcc-s1",
]

# Modules the guest needs, by file name stem; dependencies come from modules.dep.
MODULES = [
    "virtio", "virtio_ring", "virtio_pci_modern_dev", "virtio_pci_legacy_dev",
    "virtio_pci", "virtio_net", "virtio_blk", "virtio_scsi", "virtio_console",
    "virtio-rng", "virtio_balloon", "virtio_input", "e1000", "e1000e", "8139too", "8139cp",
]
VIRTIO_DRIVERS = ["virtio_net", "virtio_blk", "virtio_scsi", "virtio_console",
                  "virtio-rng", "virtio_balloon", "virtio_input"]

OVMF_CANDIDATES = [
    ("/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"),
    ("/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"),
    ("/usr/share/edk2/ovmf/OVMF_CODE.fd", "/usr/share/edk2/ovmf/OVMF_VARS.fd"),
]


class CannotRun(Exception):
    pass


def cache_dir():
    if os.environ.get("VIRT_PCI_GUEST_CACHE"):
        return os.environ["VIRT_PCI_GUEST_CACHE"]
    if os.environ.get("XDG_CACHE_HOME"):
        return os.path.join(os.environ["XDG_CACHE_HOME"], "virt-pci-guest-oracle")
    return "/var/tmp/virt-pci-guest-oracle"


def need(tool):
    if shutil.which(tool) is None:
        raise CannotRun("%s not found" % tool)


# -- preparing the guest -----------------------------------------------------

def fetch(cache):
    debs = os.path.join(cache, "debs")
    os.makedirs(debs, exist_ok=True)
    need("apt-get")
    need("dpkg-deb")
    have = os.listdir(debs)
    # linux-image-amd64 is a metapackage: follow it to the versioned image.
    wanted = list(PACKAGES)
    dep = subprocess.run(["apt-cache", "depends", "linux-image-amd64"],
                         stdout=subprocess.PIPE, universal_newlines=True)
    m = re.search(r"Depends: (linux-image-\d\S*)", dep.stdout)
    if not m:
        raise CannotRun("apt-cache does not know linux-image-amd64 (no Debian package lists)")
    wanted.append(m.group(1))
    missing = [p for p in wanted if not any(f.startswith(p + "_") for f in have)]
    if missing:
        p = subprocess.run(["apt-get", "download"] + missing, cwd=debs,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
        if p.returncode != 0:
            raise CannotRun("apt-get download failed: " + p.stdout[-500:])
    return debs


def unpack(cache, debs):
    root = os.path.join(cache, "root")
    stamp = os.path.join(root, ".unpacked")
    if os.path.exists(stamp):
        return root
    os.makedirs(root, exist_ok=True)
    for f in sorted(os.listdir(debs)):
        if f.endswith(".deb"):
            subprocess.run(["dpkg-deb", "-x", os.path.join(debs, f), root], check=True)
    open(stamp, "w").close()
    return root


def find_lib(root, soname):
    for d in ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "lib64",
              "usr/lib/x86_64-linux-gnu/systemd", "lib/systemd", "usr/lib/systemd"):
        p = os.path.join(root, d, soname)
        if os.path.exists(p):
            return p
    return None


def needed(path):
    out = subprocess.run(["readelf", "-d", path], stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def kernel_release(root):
    rel = sorted(os.listdir(os.path.join(root, "lib", "modules")))
    if not rel:
        raise CannotRun("no kernel modules unpacked")
    return rel[-1]


def newc(entries):
    """A cpio archive in the newc format; entries are (name, mode, data|target)."""
    out = bytearray()
    ino = 1
    for name, mode, data in entries + [("TRAILER!!!", 0, b"")]:
        nb = name.encode() + b"\0"
        hdr = "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x" % (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nb), 0)
        out += hdr.encode() + nb
        out += b"\0" * ((4 - len(out) % 4) % 4)
        out += data
        out += b"\0" * ((4 - len(out) % 4) % 4)
        ino += 1
    return bytes(out)


INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
mkdir -p /run /tmp
mount -t tmpfs tmpfs /run
M=/lib/modules/@REL@
for m in @BASE@; do insmod $M/$m 2>/dev/null; done
echo "@@LEGACY-BEGIN"
insmod $M/@VPCI@ force_legacy=1
for m in @DRIVERS@; do insmod $M/$m 2>/dev/null; done
sleep 1
for d in /sys/bus/pci/devices/*; do
  [ "$(cat $d/vendor)" = "0x1af4" ] || continue
  drv=-; [ -e $d/driver ] && drv=$(basename $(readlink $d/driver))
  feat=-; for v in $d/virtio*; do [ -e $v/features ] && feat=$(cat $v/features); done
  echo "@@LEGACY ${d##*/} $drv $feat"
done
for m in @DRIVERS_REV@; do rmmod $m 2>/dev/null; done
rmmod virtio_pci
echo "@@LEGACY-END"
insmod $M/@VPCI@
for m in @DRIVERS@; do insmod $M/$m 2>/dev/null; done
sleep 2
echo "@@LSPCI-BEGIN"
lspci -tvn
echo "@@LSPCI-END"
for d in /sys/bus/pci/devices/*; do
  drv=-; [ -e $d/driver ] && drv=$(basename $(readlink $d/driver))
  sec=-; sub=-
  [ -e $d/secondary_bus_number ] && sec=$(cat $d/secondary_bus_number) && sub=$(cat $d/subordinate_bus_number)
  echo "@@PCI ${d##*/} $(cat $d/vendor) $(cat $d/device) $(cat $d/class) $drv $sec $sub"
done
for s in /sys/bus/pci/slots/*; do [ -e $s/address ] && echo "@@SLOT ${s##*/} $(cat $s/address)"; done
for n in /sys/class/net/*; do
  [ -e $n/device ] || continue
  dev=$(readlink -f $n/device)
  case ${dev##*/} in virtio*) dev=${dev%/*};; esac
  echo "@@NIC ${n##*/} ${dev##*/}"
  udevadm test-builtin net_id $n 2>/dev/null | sed -n 's/^ID_NET_/@@NETID ID_NET_/p'
done
echo "@@DONE"
poweroff -f
"""


def prepare(cache):
    debs = fetch(cache)
    root = unpack(cache, debs)
    rel = kernel_release(root)
    # The initramfs is named after what goes into it, so a changed init
    # script or module list builds a new one.
    key = hashlib.sha256((INIT + repr(MODULES) + repr(PACKAGES)).encode()).hexdigest()[:12]
    initrd = os.path.join(cache, "initrd-%s-%s.cpio" % (rel, key))
    kernel = os.path.join(root, "boot", "vmlinuz-" + rel)
    if os.path.exists(initrd):
        return kernel, initrd
    need("readelf")
    entries, seen = [], set()

    def add_dir(path):
        parts = path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            p = "/".join(parts[:i])
            if p not in seen:
                seen.add(p)
                entries.append((p, stat.S_IFDIR | 0o755, b""))

    def add_file(dest, src, mode=0o755):
        add_dir(os.path.dirname(dest))
        with open(src, "rb") as fh:
            entries.append((dest.strip("/"), stat.S_IFREG | mode, fh.read()))

    for d in ("proc", "sys", "dev", "run", "tmp", "etc", "bin", "sbin"):
        add_dir(d)
    add_file("bin/busybox", os.path.join(root, "bin", "busybox"))
    add_file("bin/lspci", os.path.join(root, "usr", "bin", "lspci"))
    add_file("bin/udevadm", os.path.join(root, "bin", "udevadm"))
    for d in ("usr/lib", "lib"):
        link = os.path.join(root, d, "systemd", "network", "99-default.link")
        if os.path.exists(link):
            add_file("usr/lib/systemd/network/99-default.link", link, 0o644)
            break
    else:
        raise CannotRun("99-default.link not in the udev package")
    # Shared libraries: the NEEDED closure, at the paths the loader searches.
    todo = [os.path.join(root, "bin", "udevadm"), os.path.join(root, "usr", "bin", "lspci")]
    done, missing = set(), []
    while todo:
        for so in needed(todo.pop()):
            if so in done:
                continue
            done.add(so)
            p = find_lib(root, so)
            if p is None:
                missing.append(so)
                continue
            real = os.path.realpath(p)
            dest = "lib64/" + so if so.startswith("ld-linux") else "lib/x86_64-linux-gnu/" + so
            if "systemd" in os.path.dirname(p):
                dest = os.path.relpath(p, root)
            add_file(dest, real)
            todo.append(real)
    if missing:
        raise CannotRun("libraries not in the package list: " + ", ".join(missing))
    add_file("lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
             find_lib(root, "ld-linux-x86-64.so.2"))
    # Modules and their dependencies, in load order.
    mdir = os.path.join(root, "lib", "modules", rel)
    # No modules.dep (depmod runs at install time): read each module's own
    # "depends=" from its .modinfo strings.
    paths = {}
    for dirpath, _, files in os.walk(os.path.join(mdir, "kernel")):
        for f in files:
            if f.endswith(".ko"):
                paths[f[:-3]] = os.path.relpath(os.path.join(dirpath, f), mdir)
    deps = {}

    def depends(stem):
        with open(os.path.join(mdir, paths[stem]), "rb") as fh:
            m = re.search(rb"\0depends=([^\0]*)\0", fh.read())
        names = [d for d in (m.group(1).decode().split(",") if m else []) if d]
        # module names use _ where file names may use -
        return [paths[n] if n in paths else paths[n.replace("_", "-")] for n in names]

    class Deps(dict):
        def __missing__(self, stem):
            self[stem] = (paths[stem], depends(stem))
            return self[stem]
    deps = Deps()
    order = []

    def want(stem):
        k, ds = deps[stem]
        for d in reversed(ds):
            want(os.path.basename(d)[:-3])
        if k not in order:
            order.append(k)
    for m in MODULES:
        if m not in paths:
            raise CannotRun("module %s not in the kernel package" % m)
        want(m)
    for k in order:
        add_file("lib/modules/%s/%s" % (rel, k), os.path.join(mdir, k), 0o644)
    vpci = deps["virtio_pci"][0]
    drivers = [deps[m][0] for m in VIRTIO_DRIVERS]
    base = [k for k in order if k != vpci and k not in drivers]
    init = (INIT.replace("@REL@", rel).replace("@BASE@", " ".join(base))
            .replace("@VPCI@", vpci).replace("@DRIVERS@", " ".join(drivers))
            .replace("@DRIVERS_REV@", " ".join(m.replace("-", "_") for m in reversed(VIRTIO_DRIVERS))))
    entries.append(("init", stat.S_IFREG | 0o755, init.encode()))
    for link in ("sbin/init",):
        entries.append((link, stat.S_IFLNK | 0o777, b"/init"))
    with open(initrd + ".tmp", "wb") as fh:
        fh.write(newc(entries))
    os.rename(initrd + ".tmp", initrd)
    return kernel, initrd


# -- the -device list ----------------------------------------------------------

def converter():
    spec = importlib.util.spec_from_file_location("io_run_oracle", IO_CONVERTER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def devices(xml_path):
    """(machine, device-file text, qdev id -> libvirt address) for a defined domain."""
    need("virsh")
    conv = converter()
    try:
        machine, text, ids, _ = conv.build(xml_path)
    except RuntimeError as exc:
        raise CannotRun(str(exc))
    return machine, text, ids


# -- booting -----------------------------------------------------------------

def boot(kernel, initrd, machine, devtext, firmware, timeout):
    need("qemu-system-x86_64")
    tmp = tempfile.mkdtemp(prefix="guest-oracle-")
    try:
        cmd = ["qemu-system-x86_64", "-machine", machine + ",accel=tcg", "-m", "512",
               "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio",
               "-kernel", kernel, "-initrd", initrd,
               "-append", "console=ttyS0 panic=-1 loglevel=3 no_timer_check"]
        if firmware == "ovmf":
            for code, vars_tmpl in OVMF_CANDIDATES:
                if os.path.exists(code) and os.path.exists(vars_tmpl):
                    break
            else:
                raise CannotRun("OVMF firmware not found")
            vars_copy = os.path.join(tmp, "vars.fd")
            shutil.copy(vars_tmpl, vars_copy)
            cmd += ["-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + code,
                    "-drive", "if=pflash,format=raw,unit=1,file=" + vars_copy]
        for line in devtext.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("-"):
                opt, _, val = line.partition(" ")
                cmd += [opt, val]
            else:
                cmd += ["-device", line]
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            return cmd, "timeout", (exc.stdout or b"").decode("utf-8", "replace"), "", timeout
        took = time.monotonic() - t0
        out = p.stdout.decode("utf-8", "replace").replace("\r", "")
        status = "ok" if "@@DONE" in out else "qemu-error"
        return cmd, status, out, p.stderr.decode("utf-8", "replace"), took
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def parse(out):
    res = {"lspci_tvn": [], "functions": {}, "slots": {}, "nics": {}, "force_legacy": {}}
    lspci = False
    nic = None
    for line in out.splitlines():
        if line == "@@LSPCI-BEGIN":
            lspci = True
            continue
        if line == "@@LSPCI-END":
            lspci = False
            continue
        if lspci:
            res["lspci_tvn"].append(line)
            continue
        w = line.split()
        if not w or not w[0].startswith("@@"):
            continue
        if w[0] == "@@PCI" and len(w) == 8:
            f = {"id": "%s:%s" % (w[2][2:], w[3][2:]), "class": w[4][2:6],
                 "driver": None if w[5] == "-" else w[5]}
            if w[6] != "-":
                f["secondary"], f["subordinate"] = int(w[6]), int(w[7])
            res["functions"][w[1]] = f
        elif w[0] == "@@SLOT" and len(w) == 3:
            res["slots"][w[1]] = w[2]
        elif w[0] == "@@NIC" and len(w) == 3:
            nic = w[1]
            res["nics"][nic] = {"address": w[2]}
        elif w[0] == "@@NETID" and nic and "=" in w[1]:
            k, _, v = w[1].partition("=")
            res["nics"][nic][k] = v
        elif w[0] == "@@LEGACY" and len(w) == 4:
            feat = w[3]
            mode = None
            if w[2] != "-" and len(feat) >= 33 and set(feat) <= {"0", "1"}:
                mode = "modern" if feat[32] == "1" else "legacy"
            res["force_legacy"][w[1]] = {"bound": w[2] != "-", "mode": mode}
    return res


def run(xml_path, firmware, timeout, cache):
    kernel, initrd = prepare(cache)
    machine, devtext, ids = devices(xml_path)
    cmd, status, out, err, took = boot(kernel, initrd, machine, devtext, firmware, timeout)
    res = {"status": status, "firmware": firmware, "machine": machine,
           "kernel": os.path.basename(kernel), "seconds": round(took, 1),
           "devices": devtext.splitlines(), "qdev_ids": ids}
    if status != "ok":
        res["error"] = err[-2000:] or out[-2000:]
        return res
    res.update(parse(out))
    policy = name_policy(cache)
    res["name_policy"] = policy
    keys = {"onboard": "ID_NET_NAME_ONBOARD", "slot": "ID_NET_NAME_SLOT",
            "path": "ID_NET_NAME_PATH", "mac": "ID_NET_NAME_MAC"}
    for nic in res["nics"].values():
        nic["default_name"] = next((nic[keys[p]] for p in policy
                                    if p in keys and keys[p] in nic), None)
    return res


def name_policy(cache):
    for d in ("usr/lib", "lib"):
        p = os.path.join(cache, "root", d, "systemd", "network", "99-default.link")
        if os.path.exists(p):
            with open(p) as fh:
                m = re.search(r"^NamePolicy=(.*)$", fh.read(), re.M)
            return m.group(1).split() if m else []
    return []


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=("prepare", "run", "devices"))
    ap.add_argument("xml", nargs="?")
    ap.add_argument("-f", "--firmware", choices=("seabios", "ovmf"), default="seabios")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--cache", default=cache_dir())
    o = ap.parse_args(argv)
    try:
        if o.action == "prepare":
            kernel, initrd = prepare(o.cache)
            print(json.dumps({"status": "ok", "kernel": kernel, "initrd": initrd}))
            return 0
        if not o.xml:
            ap.error("a domain XML is needed")
        if o.action == "devices":
            machine, text, _ = devices(o.xml)
            print("# machine " + machine)
            print(text, end="")
            return 0
        res = run(o.xml, o.firmware, o.timeout, o.cache)
        print(json.dumps(res, indent=1, sort_keys=True))
        return 0 if res["status"] == "ok" else 1
    except CannotRun as exc:
        print(json.dumps({"status": "cannot-run", "why": str(exc)}))
        print("guest-oracle: cannot run: %s" % exc, file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
