"""xether: the command-line client of the Xether AI data platform. Owns the version string."""

__version__ = "0.1.0"
