"""Who this program is: the version line and the User-Agent (tiny on purpose: the launcher
answers `--version` with it before anything else is imported)."""

import os
import sys

from xether_lib import __version__


def platform_tag():
    """`linux-x86_64` and the like, without importing the heavy `platform` module."""
    try:
        machine = os.uname().machine
    except AttributeError:  # Windows
        machine = os.environ.get("PROCESSOR_ARCHITECTURE", "unknown")
    return "%s-%s" % (sys.platform, machine.lower())


def python_version():
    return "%d.%d.%d" % sys.version_info[:3]


def version_line():
    return "xether %s (Python %s, %s)" % (__version__, python_version(), platform_tag())


def user_agent():
    return "xether/%s python/%s %s" % (__version__, python_version(), platform_tag())
