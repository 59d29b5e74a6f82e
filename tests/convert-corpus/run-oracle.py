#!/usr/bin/env python3
"""Converts every guest of cases.tsv with virt-pci and boots the result under the
firmware with the IO corpus's runner (../io-corpus/run-oracle.py, which asks libvirt
for the QEMU devices and runs ../../../shared/oracle/qemu-io-oracle.py), writing
cases/NAME.xml and cases/NAME.FIRMWARE.json.

Usage: python3 run-oracle.py [options of ../io-corpus/run-oracle.py, e.g. --firmware seabios ovmf-2022 ovmf-2025 --ovmf-2025-dir /srv/trixie/usr/share/OVMF]
Run from anywhere; needs target/release/virt-pci built. Python 3 standard library only.
"""

import importlib.util
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def main():
    spec = importlib.util.spec_from_file_location(
        "io_runner", os.path.join(HERE, "..", "io-corpus", "run-oracle.py"))
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    runner.CASES = os.path.join(HERE, "cases")
    os.makedirs(runner.CASES, exist_ok=True)
    binary = os.path.join(ROOT, "target", "release", "virt-pci")
    for line in open(os.path.join(HERE, "cases.tsv")):
        if not line.strip() or line.startswith("#"):
            continue
        name, src, to, extra = line.rstrip("\n").split("\t")
        args = [] if extra == "-" else extra.split()
        out = os.path.join(runner.CASES, name + ".xml")
        subprocess.run([binary, "convert", os.path.join(ROOT, src), "--to", to, *args,
                        "-o", out], check=True, stderr=subprocess.DEVNULL)
    return runner.main()


if __name__ == "__main__":
    sys.exit(main())
