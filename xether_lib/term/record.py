"""The key/value view of one object (`info` commands): labels in a column,
values escaped and formatted by kind, nested values as compact JSON, long
values wrapped at the width (by display width) under their value column.
"""

from xether_lib.term import values
from xether_lib.term.style import (Style, char_width, display_width, escape, escape_line,
                                   pad)
from xether_lib.term.table import as_column, cell

MIN_VALUE_WIDTH = 20


def record_value(column, obj, now=None):
    """(text, colours) of one field: may hold newlines; times show their age too."""
    raw = column.value(obj)
    if values.is_missing(raw):
        return values.MISSING, ()
    if column.kind in ("age", "time") and values.parse_time(raw) is not None:
        return "%s (%s)" % (values.format_time(raw), values.human_age(raw, now)), ()
    if column.kind in ("text", "json"):
        return escape(values.plain(raw)).expandtabs(4), ()
    text, _right, colours = cell(column, obj, now)
    if column.kind == "sha":
        text = escape_line(values.short_sha(raw, 64))
    return text, colours


def wrap(text, width):
    """`text` broken into lines of at most `width` columns, at spaces when possible."""
    lines = []
    for paragraph in text.split("\n"):
        lines.extend(_wrap_paragraph(paragraph, width))
    return lines


def _wrap_paragraph(text, width):
    lines, current = [], None
    for word in text.split(" "):
        candidate = word if current is None else current + " " + word
        if display_width(candidate) <= width:
            current = candidate
            continue
        if current is not None:
            lines.append(current)
        while display_width(word) > width:
            head, word = _split_at(word, width)
            lines.append(head)
        current = word or None
    lines.append(current or "")
    return lines


def _split_at(word, width):
    used = 0
    for i, ch in enumerate(word):
        used += char_width(ch)
        if used > width:
            return word[:max(i, 1)], word[max(i, 1):]
    return word, ""


def render_record(obj, fields, width=80, style=None, now=None):
    """The key/value view as text, one `Label:  value` line per field."""
    style = style or Style(False)
    columns = [as_column(f) for f in fields]
    labels = [escape_line(c.header) + ":" for c in columns]
    label_width = max([display_width(label) for label in labels] or [0]) + 1
    value_width = max(width - label_width - 1, MIN_VALUE_WIDTH)
    out = []
    for column, label in zip(columns, labels):
        text, colours = record_value(column, obj, now)
        lines = wrap(text, value_width)
        head = style.paint(pad(label, label_width), "bold") + " "
        out.append(head + _paint(style, lines[0], colours))
        out.extend(" " * (label_width + 1) + _paint(style, line, colours) for line in lines[1:])
    return "".join(line.rstrip(" ") + "\n" for line in out)


def _paint(style, text, colours):
    return style.paint(text, *colours) if colours else text

