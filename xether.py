#!/usr/bin/env python3
"""Launcher of xether from a checkout (`python3 xether.py ...`) and the __main__.py of the pyz.

It owns two things: the Python version gate (written so that Python 2.7 can
parse this file and print a clear refusal) and finding xether_lib. From a
checkout, xether_lib sits beside this file. Inside dist/xether.pyz this file is
`<archive>/__main__.py` and xether_lib is imported straight from the zip's
`site-packages/` folder: nothing is unpacked or written to disk.
"""

import sys

MINIMUM = (3, 8)

if sys.version_info[:2] < MINIMUM:
    sys.stderr.write("xether needs Python %d.%d or newer (this is Python %d.%d.%d)\n"
                     % (MINIMUM + tuple(sys.version_info[:3])))
    sys.exit(1)

import os  # noqa: E402  (after the gate on purpose)


def library_path(here):
    """Where xether_lib lives: `<archive>/site-packages` inside a zip, else this file's folder."""
    if os.path.isfile(here):  # `here` is the zip archive itself
        return os.path.join(here, "site-packages")
    return here


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, library_path(here))
    if sys.argv[1:] == ["--version"]:  # the fast path: nothing but the version line
        from xether_lib.about import version_line

        sys.stdout.write(version_line() + "\n")
        return 0
    from xether_lib.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C before the CLI's own handler is in place (imports)
        sys.stderr.write("xether: error: interrupted\n")
        sys.exit(130)
