"""Tables for people: the `Column` spec, formatting a cell by its kind, and
`render_table`, which escapes every cell, aligns by display width (CJK wide,
combining), right-aligns numbers and fits the table to a width by shrinking the
widest text columns first and cutting long cells with an ellipsis.
"""

from xether_lib.term import values
from xether_lib.term.style import (Style, display_width, ellipsis, escape_line, pad,
                                   truncate)

KINDS = ("text", "int", "size", "age", "time", "sha", "status", "json")
SHRINKABLE = ("text", "json")
RIGHT_KINDS = ("int", "size")
SEP = "  "
STATUS_COLORS = {
    "completed": ("green",), "failed": ("red",), "timeout": ("red",),
    "cancelled": ("yellow",), "running": ("cyan",), "pending": ("dim",),
}


class Column(object):
    """One column: `key` of the row (or `getter(row)`), `header`, display `kind`."""

    def __init__(self, key, header, kind="text", getter=None, min_width=None):
        if kind not in KINDS:
            raise ValueError("unknown column kind %r" % (kind,))
        self.key, self.header, self.kind = key, header, kind
        self.getter, self.min_width = getter, min_width

    def value(self, row):
        if self.getter is not None:
            return self.getter(row)
        if isinstance(row, dict):
            return row.get(self.key)
        return getattr(row, self.key, None)

    def __repr__(self):
        return "Column(%r, %r, kind=%r)" % (self.key, self.header, self.kind)


def as_column(field):
    """A Column from a Column or a `(label, key)` / `(label, key, kind)` tuple."""
    if isinstance(field, Column):
        return field
    label, key = field[0], field[1]
    return Column(key, label, field[2] if len(field) > 2 else "text")


def cell(column, row, now=None):
    """(text, numeric, colours) of one cell; the text is escaped, one line."""
    raw = column.value(row)
    kind = column.kind
    if values.is_missing(raw):
        return values.MISSING, None, ()
    if kind == "size" and values.to_number(raw) is not None:
        return values.human_size(raw), True, ()
    if kind == "age":
        return escape_line(values.human_age(raw, now)), False, ()
    if kind == "time":
        return escape_line(values.format_time(raw)), False, ()
    if kind == "sha":
        return escape_line(values.short_sha(raw)), False, ()
    if kind == "status":
        text = escape_line(values.plain(raw))
        return text, False, STATUS_COLORS.get(text.lower(), ())
    right = values.is_number(raw) or (kind == "int" and values.to_number(raw) is not None)
    return escape_line(values.plain(raw)), right, ()


def fit_widths(natural, columns, width):
    """Column widths that fit `width`: the widest text columns give way first,
    down to their floor (min_width, or 10 and the header), then down to 4."""
    widths = [min(w, width) if c.kind in SHRINKABLE else w for w, c in zip(natural, columns)]
    excess = sum(widths) + len(SEP) * (len(widths) - 1) - width
    shrinkable = [i for i, c in enumerate(columns) if c.kind in SHRINKABLE]
    for soft in (True, False):
        if excess <= 0:
            break
        floors = dict((i, _floor(columns[i], natural[i], soft)) for i in shrinkable)
        excess = _shrink(widths, floors, excess)
    return widths


def _floor(column, natural, soft):
    if column.min_width:
        return min(natural, column.min_width)
    if soft:
        return min(natural, max(display_width(column.header), 10))
    return min(natural, 4)


def _shrink(widths, floors, excess):
    """Take `excess` columns off, one at a time from the widest shrinkable column."""
    while excess > 0:
        open_ = [i for i in floors if widths[i] > floors[i]]
        if not open_:
            break
        widest = max(open_, key=lambda i: widths[i])
        top = widths[widest]
        lower = [widths[i] for i in open_ if widths[i] < top]
        tied = any(widths[i] == top for i in open_ if i != widest)
        step = 1 if tied else min(excess, top - max(lower + [floors[widest]]))
        widths[widest] -= step
        excess -= step
    return excess


def render_table(rows, columns, width=80, style=None, encoding=None, now=None):
    """The table as text (one line per row plus the header, each ending in \\n)."""
    style = style or Style(False)
    mark = ellipsis(encoding)
    headers = [escape_line(c.header) for c in columns]
    body = [[cell(c, row, now) for c in columns] for row in rows]
    natural = [max([display_width(h)] + [display_width(r[i][0]) for r in body])
               for i, h in enumerate(headers)]
    widths = fit_widths(natural, columns, width)
    right = [_right_aligned(c, [r[i] for r in body]) for i, c in enumerate(columns)]
    lines = [_line([(h, ("bold",)) for h in headers], widths, right, style, mark)]
    lines.extend(_line([(t, c) for t, _n, c in r], widths, right, style, mark) for r in body)
    return "".join(line + "\n" for line in lines)


def _right_aligned(column, cells):
    """Numbers go right: size/int columns, and any column whose values all are."""
    if column.kind in RIGHT_KINDS:
        return True
    numeric = [n for _t, n, _c in cells if n is not None]
    return bool(numeric) and all(numeric)


def _line(cells, widths, right, style, mark):
    parts = []
    last = len(cells) - 1
    for i, (text, colours) in enumerate(cells):
        text = truncate(text, widths[i], mark)
        if right[i] or i < last:
            text = pad(text, widths[i], right[i])
        parts.append(style.paint(text, *colours) if colours else text)
    return SEP.join(parts).rstrip(" ")
