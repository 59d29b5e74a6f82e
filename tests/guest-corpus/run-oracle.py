#!/usr/bin/env python3
"""Measures every case of the guest corpus with the guest oracle.

For each cases/NAME.xml and firmware, runs ../guest-oracle/guest-oracle.py
(Debian 12's kernel booted under QEMU TCG with libvirt's -device list) and
writes cases/NAME.FIRMWARE.json.  Existing results are kept unless --force.

Usage: python3 run-oracle.py [--firmware seabios ovmf] [--only PREFIX...]
                             [--jobs N] [--force]
Python 3 standard library only.
"""

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases")
ORACLE = os.path.join(HERE, "..", "guest-oracle", "guest-oracle.py")


def measure(case, fw, timeout):
    dest = os.path.join(CASES, "%s.%s.json" % (case, fw))
    p = subprocess.run(["nice", sys.executable, ORACLE, "run", os.path.join(CASES, case + ".xml"),
                        "-f", fw, "--timeout", str(timeout)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    try:
        res = json.loads(p.stdout)
    except ValueError:
        return "%-28s %-8s no JSON: %s" % (case, fw, p.stderr[-300:])
    if res.get("status") != "ok":
        return "%-28s %-8s %s %s" % (case, fw, res.get("status"),
                                      (res.get("why") or res.get("error") or "")[-300:])
    with open(dest + ".tmp", "w") as fh:
        json.dump(res, fh, indent=1, sort_keys=True)
        fh.write("\n")
    os.rename(dest + ".tmp", dest)
    return "%-28s %-8s ok %5.1fs functions %d nics %d" % (
        case, fw, res["seconds"], len(res["functions"]), len(res["nics"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--firmware", nargs="*", default=["seabios", "ovmf"])
    ap.add_argument("--only", nargs="*", default=[])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--force", action="store_true")
    o = ap.parse_args()
    names = sorted(f[:-4] for f in os.listdir(CASES) if f.endswith(".xml"))
    if o.only:
        names = [n for n in names if any(n.startswith(p) for p in o.only)]
    todo = [(n, fw) for fw in o.firmware for n in names
            if o.force or not os.path.exists(os.path.join(CASES, "%s.%s.json" % (n, fw)))]
    with concurrent.futures.ThreadPoolExecutor(o.jobs) as ex:
        for line in ex.map(lambda t: measure(t[0], t[1], o.timeout), todo):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
