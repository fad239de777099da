"""Terminal basics every output path shares: neutralising control characters,
deciding on colour, painting with ANSI SGR codes, measuring display width,
truncating and padding by display width, ASCII fallbacks, and writing to any
stream without a UnicodeEncodeError.

Importing this module is cheap: no json, re or unicodedata here at import time
(unicodedata is imported on the first non-ASCII width measurement).
"""

import os

_SGR = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}
_RESET = "\x1b[0m"

# The colour mode the current run asked for (--color); Output sets it so that
# cli.py's error lines, printed later, follow the same choice.
_default_mode = "auto"

_TABLES = {}          # multiline flag -> str.translate table
_WIDTH_CACHE = {}     # char -> display width
_ENCODABLE = {}       # (encoding, text) -> bool


# ---- escaping -------------------------------------------------------------------------

def _escape_table(multiline):
    table = _TABLES.get(multiline)
    if table is None:
        codes = list(range(0x20)) + list(range(0x7F, 0xA0))
        table = dict((c, "\\x%02x" % c) for c in codes)
        if multiline:
            del table[0x0A], table[0x09]
        _TABLES[multiline] = table
    return table


def escape(text, multiline=True):
    """`text` with every control character shown escaped (ESC -> `\\x1b`).

    C0 controls, DEL and C1 controls (U+0080-U+009F) are escaped; newline and tab
    are kept when `multiline` is true. Server text can then never move the
    cursor, clear the screen or retitle the terminal. None becomes "".
    """
    if text is None:
        return ""
    if not isinstance(text, str):
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return text.translate(_escape_table(bool(multiline)))


def escape_line(text):
    """`escape` for single-line cells: newline and tab are escaped too."""
    return escape(text, multiline=False)


# ---- colour ---------------------------------------------------------------------------

def isatty(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def set_color_mode(mode):
    """Remember the run's --color choice for callers that do not pass one."""
    global _default_mode
    _default_mode = mode or "auto"


def color_enabled(stream, mode=None):
    """Whether to colour `stream`: --color always/never win; then FORCE_COLOR
    (non-empty, not "0") forces; NO_COLOR (non-empty), TERM=dumb or a non-TTY
    stream disable."""
    mode = mode or _default_mode
    if mode == "always":
        return True
    if mode == "never":
        return False
    env = os.environ
    if env.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    if env.get("NO_COLOR", "") != "":
        return False
    if env.get("TERM", "") == "dumb":
        return False
    return isatty(stream)


class Style(object):
    """Paints text with SGR codes when enabled; returns it unchanged otherwise."""

    def __init__(self, enabled):
        self.enabled = bool(enabled)

    def paint(self, text, *names):
        codes = [_SGR[n] for n in names if n in _SGR]
        if not self.enabled or not codes or not text:
            return text
        return "\x1b[%sm%s%s" % (";".join(codes), text, _RESET)


def error_prefix(stream, mode=None):
    """`xether: error:`, the error word red when colour is allowed on `stream`."""
    return "xether: " + Style(color_enabled(stream, mode)).paint("error:", "bold", "red")


# ---- encodings and glyphs -------------------------------------------------------------

def stream_encoding(stream):
    """The stream's encoding, or None when it takes any str (io.StringIO)."""
    return getattr(stream, "encoding", None) or None


def can_encode(encoding, text):
    """Whether `text` survives `encoding` (None: any text does)."""
    if encoding is None:
        return True
    key = (encoding, text)
    ok = _ENCODABLE.get(key)
    if ok is None:
        try:
            text.encode(encoding)
            ok = True
        except (UnicodeError, LookupError):
            ok = False
        _ENCODABLE[key] = ok
    return ok


def glyph(encoding, fancy, plain):
    """`fancy` when the encoding can carry it, else the ASCII `plain`."""
    return fancy if can_encode(encoding, fancy) else plain


def ellipsis(encoding):
    return glyph(encoding, "\u2026", "...")


def safe_write(stream, text):
    """Write `text`; characters the stream cannot encode become backslash escapes."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        enc = stream_encoding(stream) or "ascii"
        stream.write(text.encode(enc, "backslashreplace").decode(enc, "replace"))


# ---- display width --------------------------------------------------------------------

def char_width(ch):
    """Columns a character takes: 2 for East Asian wide/full, 0 for combining."""
    if " " <= ch < "\x7f":
        return 1
    width = _WIDTH_CACHE.get(ch)
    if width is None:
        import unicodedata

        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            width = 0
        elif unicodedata.east_asian_width(ch) in ("W", "F"):
            width = 2
        else:
            width = 1
        _WIDTH_CACHE[ch] = width
    return width


def display_width(text):
    """Terminal columns `text` takes (no control characters expected: escape first)."""
    if text.isascii():
        return len(text)
    return sum(char_width(ch) for ch in text)


def truncate(text, width, mark="\u2026"):
    """`text` cut to at most `width` columns, ending with `mark` when cut."""
    if display_width(text) <= width:
        return text
    room = width - display_width(mark)
    if room < 0:
        return mark[:max(width, 0)]
    out, used = [], 0
    for ch in text:
        w = char_width(ch)
        if used + w > room:
            break
        out.append(ch)
        used += w
    return "".join(out) + mark


def pad(text, width, right=False):
    """`text` padded with spaces to `width` columns (on the left when `right`)."""
    fill = " " * max(width - display_width(text), 0)
    return fill + text if right else text + fill


def terminal_width(stream=None, default=80):
    """COLUMNS when set to a positive number, else the TTY's width, else `default`."""
    try:
        cols = int(os.environ.get("COLUMNS", ""))
        if cols > 0:
            return cols
    except ValueError:
        pass
    if stream is not None and isatty(stream):
        try:
            cols = os.get_terminal_size(stream.fileno()).columns
            if cols > 0:
                return cols
        except (AttributeError, ValueError, OSError):
            pass
    return default
