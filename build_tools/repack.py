"""Rewrites the zip that shiv built into xether's reproducible, unpack-free pyz.

shiv's own __main__.py and _bootstrap/ unpack the payload into ~/.shiv on the
first run, which fails under a read-only or missing HOME and an unknown UID.
xether is pure standard-library Python and imports straight from the zip, so
this step swaps in xether.py as __main__.py, drops _bootstrap/ and
environment.json, and writes every entry sorted, with one fixed timestamp and
mode 0644, behind the shebang. Two builds of the same sources are then
byte-identical wherever they run.

usage: python3 build_tools/repack.py SHIV_PYZ LAUNCHER OUT_PYZ SOURCE_DATE_EPOCH
"""

import os
import sys
import time
import zipfile

SHEBANG = b"#!/usr/bin/env python3\n"
DROPPED_PREFIXES = ("_bootstrap/",)
DROPPED_NAMES = ("__main__.py", "environment.json")
ZIP_EPOCH = 315532800  # 1980-01-01: the earliest time a zip entry can hold


def wanted(name):
    """True for the payload entries kept from shiv's archive."""
    if name.endswith("/") or name in DROPPED_NAMES or name.startswith(DROPPED_PREFIXES):
        return False
    parts = name.split("/")
    return "__pycache__" not in parts and not name.endswith((".pyc", ".pyo"))


def entry(name, epoch):
    """A ZipInfo that depends on nothing but the name and the epoch."""
    info = zipfile.ZipInfo(name, time.gmtime(max(epoch, ZIP_EPOCH))[:6])
    info.create_system = 3  # unix, so the mode bits below mean what they say
    info.external_attr = 0o100644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def repack(shiv_pyz, launcher, out_pyz, epoch):
    with zipfile.ZipFile(shiv_pyz) as src:
        files = dict((n, src.read(n)) for n in src.namelist() if wanted(n))
    with open(launcher, "rb") as f:
        files["__main__.py"] = f.read()
    tmp = out_pyz + ".tmp"
    with open(tmp, "wb") as f:
        f.write(SHEBANG)
        with zipfile.ZipFile(f, "w") as out:
            for name in sorted(files):
                out.writestr(entry(name, epoch), files[name], compresslevel=9)
    os.chmod(tmp, 0o755)
    os.replace(tmp, out_pyz)
    return len(files)


def main(argv):
    if len(argv) != 4:
        sys.stderr.write(__doc__.strip().splitlines()[-1] + "\n")
        return 2
    count = repack(argv[0], argv[1], argv[2], int(argv[3]))
    sys.stdout.write("repacked %d entries into %s\n" % (count, argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
