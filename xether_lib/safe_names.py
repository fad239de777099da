"""Making a file name that came from a server safe to create on this machine.

`safe_basename(name, fallback)` keeps only a plain base name: no directory part (`/` or
`\\`), no `..` or `.`, not absolute, no drive letter, no control characters, not empty, not
too long. Whatever is left unsafe is replaced; an empty result becomes `fallback`.
"""

MAX_NAME_BYTES = 240   # below the usual 255-byte limit, leaving room for `.part.json`
_RESERVED = (".", "..")


def _is_control(ch):
    code = ord(ch)
    return code < 32 or 127 <= code < 160 or ch in "\u2028\u2029\ufeff"


def _shorten(name):
    """Cut `name` to MAX_NAME_BYTES of UTF-8, keeping its extension where possible."""
    if len(name.encode("utf-8")) <= MAX_NAME_BYTES:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 16:
        stem, ext = name, ""
    ext = "." + ext if ext else ""
    budget = MAX_NAME_BYTES - len(ext.encode("utf-8"))
    cut = stem.encode("utf-8")[:budget].decode("utf-8", "ignore")
    return cut + ext


def safe_basename(name, fallback):
    """A safe file name for `name` (a server-supplied string), or `fallback`."""
    text = name if isinstance(name, str) else ""
    text = text.replace("\\", "/").rstrip("/")
    text = text.rsplit("/", 1)[-1]                       # the last path component only
    if len(text) >= 2 and text[1] == ":" and text[0].isalpha():
        text = text[2:]                                   # a Windows drive (C:name)
    text = "".join("_" if _is_control(ch) else ch for ch in text)
    text = text.strip().strip("\x00")
    if text in _RESERVED or not text.strip(". "):
        text = ""
    text = _shorten(text)
    return text or fallback
