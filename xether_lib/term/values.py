"""Turning raw API values into what a person reads: human sizes (IEC), ages
relative to now, times, short checksums, compact JSON for nested values, and
the plain form of a value for CSV. Pure functions, no I/O.
"""

import datetime

UTC = datetime.timezone.utc
MISSING = "-"
_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def is_missing(value):
    return value is None or value == ""


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def to_number(value):
    """An int/float from a number or a numeric string, else None."""
    if is_number(value):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                return float(value.strip())
            except ValueError:
                return None
    return None


def human_size(value):
    """`512 B`, `1.2 MiB`, `3.0 GiB` (IEC units); non-numbers as given."""
    n = to_number(value)
    if n is None:
        return str(value)
    sign, n = ("-", -n) if n < 0 else ("", n)
    if n < 1024:
        return "%s%d B" % (sign, n)
    for unit in _UNITS:
        n /= 1024.0
        if round(n, 1) < 1024 or unit == _UNITS[-1]:
            return "%s%.1f %s" % (sign, n, unit)


def compact_json(value):
    """Nested values on one line: `{"a":1,"b":[2,3]}`."""
    import json

    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str,
                      sort_keys=False)


def plain(value):
    """A value's plain text (CSV, text cells): bools as true/false, nested as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)):
        return compact_json(value)
    return str(value)


def short_sha(value, length=12):
    """The first `length` hex digits of a checksum, without a `sha256:` prefix."""
    text = str(value).strip()
    if text.lower().startswith("sha256:"):
        text = text[len("sha256:"):]
    return text[:length].lower()


# ---- times ----------------------------------------------------------------------------

def parse_time(value):
    """An aware UTC datetime from ISO 8601 text (naive = UTC, `Z`, offsets, any
    fraction length) or a Unix timestamp; None when it cannot be read."""
    if isinstance(value, datetime.datetime):
        dt = value
    elif is_number(value):
        try:
            return datetime.datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, str):
        dt = _parse_iso(value.strip())
        if dt is None:
            return None
    else:
        return None
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _parse_iso(text):
    import re

    m = re.match(r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:[.,](\d+))?)?"
                 r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$", text)
    if not m:
        return None
    date, clock, frac, zone = m.groups()
    iso = date
    if clock:
        iso += "T" + clock + ("." + (frac + "000000")[:6] if frac else "")
    if zone and zone not in ("Z", "z"):
        digits = zone[1:].replace(":", "")
        iso += zone[0] + digits[:2] + ":" + (digits[2:4] or "00")
    try:
        return datetime.datetime.fromisoformat(iso)  # naive (no zone or Z): UTC
    except ValueError:
        return None


def utc_now():
    return datetime.datetime.now(UTC)


def format_time(value):
    """`2026-11-25 08:42:25` (UTC) from any time `parse_time` reads; else as given."""
    dt = parse_time(value)
    if dt is None:
        return str(value)
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def human_age(value, now=None):
    """`just now`, `3m ago`, `5h ago`, `2d ago`, or `YYYY-MM-DD` past ~a month
    (`in 5h` for the near future); unreadable times as given."""
    dt = parse_time(value)
    if dt is None:
        return str(value)
    now = parse_time(now) if now is not None else utc_now()
    seconds = (now - dt).total_seconds()
    span = abs(seconds)
    if span < 60:
        return "just now"
    if span >= 30 * 86400:
        return dt.strftime("%Y-%m-%d")
    if span < 3600:
        amount = "%dm" % (span // 60)
    elif span < 86400:
        amount = "%dh" % (span // 3600)
    else:
        amount = "%dd" % (span // 86400)
    return amount + " ago" if seconds > 0 else "in " + amount


def human_duration(seconds):
    """`0:06`, `12:34`, `1:02:03` for an ETA or elapsed time."""
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return "%d:%02d:%02d" % (hours, minutes, secs)
    return "%d:%02d" % (minutes, secs)
