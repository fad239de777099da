"""Test hooks of the sandbox: injected faults and the request log.

Enabled only when the sandbox runs with XETHER_SANDBOX_TEST_HOOKS=1 (see
docs/ARCHITECTURE.md for the fault vocabulary). Both classes are thread-safe;
the HTTP handlers consult `Faults.take` for each request and append to
`RequestLog` as they answer.
"""

import threading

TARGETS = ("storage-put", "storage-get", "api")
ACTIONS = ("drop_after", "stall", "error", "expire", "corrupt", "ignore_range",
           "drop_response", "redirect")


class FaultSpecError(ValueError):
    """A fault description that names an unknown target or action."""


def _check(spec):
    if not isinstance(spec, dict):
        raise FaultSpecError("a fault is a JSON object")
    if spec.get("target") not in TARGETS:
        raise FaultSpecError("target must be one of %s" % ", ".join(TARGETS))
    if spec.get("action") not in ACTIONS:
        raise FaultSpecError("action must be one of %s" % ", ".join(ACTIONS))
    spec = dict(spec)
    spec["times"] = int(spec.get("times", 1))
    return spec


class Faults(object):
    def __init__(self, enabled=False):
        self.enabled = enabled
        self._lock = threading.Lock()
        self._specs = []

    def add(self, spec_or_list):
        specs = spec_or_list if isinstance(spec_or_list, list) else [spec_or_list]
        checked = [_check(s) for s in specs]
        with self._lock:
            self._specs.extend(checked)

    def clear(self):
        with self._lock:
            self._specs = []

    def take(self, target, method=None, path=None):
        """The first pending fault matching this request (consuming one of its `times`)."""
        if not self.enabled:
            return None
        with self._lock:
            for spec in self._specs:
                if spec["target"] != target:
                    continue
                if spec.get("method") and method and spec["method"].upper() != method.upper():
                    continue
                if spec.get("path") and path is not None and not path.startswith(spec["path"]):
                    continue
                spec["times"] -= 1
                if spec["times"] <= 0:
                    self._specs.remove(spec)
                return spec
        return None


class RequestLog(object):
    def __init__(self, enabled=False):
        self.enabled = enabled
        self._lock = threading.Lock()
        self._entries = []

    def record(self, **fields):
        if not self.enabled:
            return
        with self._lock:
            self._entries.append(fields)

    def entries(self):
        with self._lock:
            return list(self._entries)

    def clear(self):
        with self._lock:
            self._entries = []
