"""Parsing of human units on the command line: sizes (`16MiB`, `1G`) and durations (`90s`, `5m`)."""

from xether_lib.errors import UsageError

_SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 1024, "kb": 1000, "kib": 1024,
    "m": 1024 ** 2, "mb": 1000 ** 2, "mib": 1024 ** 2,
    "g": 1024 ** 3, "gb": 1000 ** 3, "gib": 1024 ** 3,
    "t": 1024 ** 4, "tb": 1000 ** 4, "tib": 1024 ** 4,
}
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _split_number(text):
    text = text.strip()
    i = len(text)
    while i > 0 and not (text[i - 1].isdigit() or text[i - 1] == "."):
        i -= 1
    return text[:i], text[i:].strip().lower()


def _parse(text, units, what, examples):
    number, unit = _split_number(str(text))
    try:
        value = float(number)
    except ValueError:
        value = -1
    if value < 0 or unit not in units:
        raise UsageError("invalid %s %r: use %s" % (what, text, examples))
    return value * units[unit]


def parse_size(text, what="size"):
    """`16MiB`, `8M`, `1G`, `1048576` -> bytes (binary units for bare letters)."""
    return int(_parse(text, _SIZE_UNITS, what, "a number of bytes or a unit like 16MiB, 512K, 1G"))


def parse_duration(text, what="duration"):
    """`90`, `90s`, `5m`, `1.5h` -> seconds (float)."""
    return _parse(text, _DURATION_UNITS, what, "seconds or a unit like 30s, 5m, 2h")


def parse_positive_float(text, what):
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = 0
    if not value > 0:
        raise UsageError("invalid %s %r: expected a positive number of seconds" % (what, text))
    return value
