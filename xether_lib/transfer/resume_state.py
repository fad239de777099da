"""What an interrupted multipart upload leaves behind so that the same push can resume it.

One JSON file per upload in `<cache_dir>/uploads/`, named by the SHA-256 of (api_url,
absolute path, size, mtime): `{"api_url", "path", "size", "mtime_ns", "project_id", "bucket",
"key", "content_type", "artifact_id", "upload_id", "part_size", "parts": {"<n>": etag}}`.
Every write is atomic (fsutil.atomic_write), so a kill -9 leaves the old or the new file,
never half of one. `stale_for(api_url, path)` finds the states of the same file whose size or
mtime no longer match (the file changed since): those uploads start over.
"""

import hashlib
import json
import os
import threading

from xether_lib import fsutil

VERSION = 1


def state_dir(cache_dir):
    return os.path.join(cache_dir, "uploads")


def state_key(api_url, path, size, mtime_ns):
    text = json.dumps([api_url, os.path.abspath(path), int(size), int(mtime_ns)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class UploadState(object):
    """The state file of one upload; `record_part` is safe from several threads."""

    def __init__(self, path, data):
        self.path = path
        self.data = data
        self._lock = threading.Lock()

    @classmethod
    def for_file(cls, cache_dir, api_url, source):
        name = state_key(api_url, source.path, source.size, source.mtime_ns) + ".json"
        path = os.path.join(state_dir(cache_dir), name)
        data = _read(path)
        ok = data is not None and data.get("version") == VERSION and data.get("upload_id")
        return cls(path, data if ok else None)

    @property
    def exists(self):
        return self.data is not None

    def parts(self):
        return dict((int(k), v) for k, v in (self.data or {}).get("parts", {}).items())

    def start(self, **fields):
        self.data = dict(fields, version=VERSION, parts={})
        self._save()

    def record_part(self, number, etag):
        with self._lock:
            self.data["parts"][str(number)] = etag
            self._save()

    def _save(self):
        fsutil.ensure_private_dir(os.path.dirname(self.path))
        text = json.dumps(self.data, indent=1, sort_keys=True)
        fsutil.atomic_write(self.path, text.encode("utf-8"), 0o600)

    def remove(self):
        self.data = None
        _remove(self.path)


def stale_for(cache_dir, api_url, source):
    """States of this file (same API, same path) written when its size or mtime differed."""
    folder = state_dir(cache_dir)
    try:
        names = [n for n in os.listdir(folder) if n.endswith(".json")]
    except OSError:
        return []
    found = []
    for name in names:
        path = os.path.join(folder, name)
        data = _read(path)
        if (data and data.get("api_url") == api_url and data.get("path") == source.path
                and (data.get("size"), data.get("mtime_ns")) != (source.size, source.mtime_ns)):
            found.append(UploadState(path, data))
    return found


def _read(path):
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass
