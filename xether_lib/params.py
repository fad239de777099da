"""Run parameters from the command line, sent as the body of POST /pipelines/{id}/execute.

`--param KEY=VALUE`: the value is read as JSON when it is valid JSON (`n=5` -> 5,
`flag=true`, `tags=["a","b"]`), else it is a string; a dotted key builds nested objects
(`date_range.start=2024-01-01`). `--params-file FILE` (or `-` for stdin) gives a JSON object;
`--param` values override its keys (nested objects are merged key by key).
"""

import json

from xether_lib.errors import UsageError


def _no_constants(name):
    raise ValueError("%s is not valid JSON" % name)


def parse_value(text):
    """The JSON value `text` spells, or `text` itself when it is not valid JSON."""
    try:
        return json.loads(text, parse_constant=_no_constants)
    except ValueError:
        return text


def split_param(item):
    """(["a", "b"], value) from `a.b=VALUE`; a usage error for anything else."""
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise UsageError("invalid --param %r: expected KEY=VALUE (e.g. --param n=5)" % item)
    path = key.split(".")
    if any(not part for part in path):
        raise UsageError("invalid --param key %r: empty part in a dotted key" % key)
    return path, parse_value(raw)


def set_path(target, path, value, item):
    """Put `value` at the dotted `path` of `target`, creating objects on the way."""
    node = target
    for depth, part in enumerate(path[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif not isinstance(child, dict):
            raise UsageError("invalid --param %r: %s is already set to a value that is not an "
                             "object" % (item, ".".join(path[:depth + 1])))
        node = child
    node[path[-1]] = value


def from_params(items):
    """The object the `--param` items describe, in order (a later key wins)."""
    result = {}
    for item in items or ():
        path, value = split_param(item)
        set_path(result, path, value, item)
    return result


def merge(base, over):
    """`base` with `over` laid on top: objects merge key by key, anything else replaces."""
    result = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


def read_params_file(name, stdin=None):
    """The JSON object in file `name` (`-`: stdin); usage errors name line and column."""
    label = "stdin" if name == "-" else name
    raw = _read_bytes(name, stdin)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError("params file %s is not UTF-8 text (byte %d)" % (label, exc.start))
    try:
        data = json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise UsageError("invalid JSON in params file %s at line %d, column %d: %s"
                         % (label, exc.lineno, exc.colno, exc.msg))
    except ValueError as exc:
        raise UsageError("invalid JSON in params file %s: %s" % (label, exc))
    if not isinstance(data, dict):
        raise UsageError("params file %s must hold a JSON object ({...}), not %s"
                         % (label, _json_kind(data)),
                         hint='Example: {"dataset_id": 17, "keys": ["id"]}')
    return data


def _read_bytes(name, stdin):
    if name == "-":
        import sys

        stream = stdin if stdin is not None else sys.stdin
        return getattr(stream, "buffer", stream).read()
    try:
        with open(name, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise UsageError("cannot read params file %s: %s" % (name, exc.strerror or exc))


def _json_kind(value):
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def build_params(items, params_file=None, stdin=None):
    """The run's parameters: the file's object (if any) overridden by the --param items."""
    base = read_params_file(params_file, stdin) if params_file else {}
    return merge(base, from_params(items))
