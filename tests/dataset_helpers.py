"""Helpers for the dataset/upload tests: files of random bytes, the sandbox request log read
as part uploads, the resume state files of a CLI home, and reading the API as the CLI's user."""

import glob
import hashlib
import json
import os
import urllib.request

MiB = 1 << 20


def make_file(path, size, chunk=MiB):
    """Random bytes into `path`; returns their SHA-256 hex."""
    h = hashlib.sha256()
    with open(str(path), "wb") as f:
        left = size
        while left:
            data = os.urandom(min(chunk, left))
            h.update(data)
            f.write(data)
            left -= len(data)
    return h.hexdigest()


def sha256_of(path):
    h = hashlib.sha256()
    with open(str(path), "rb") as f:
        for block in iter(lambda: f.read(MiB), b""):
            h.update(block)
    return h.hexdigest()


def part_puts(entries, status=200):
    """Part numbers of the storage PUTs in the log that got `status` (None: any)."""
    return [e["part_number"] for e in entries
            if e["target"] == "storage-put" and e["method"] == "PUT"
            and e.get("part_number") is not None and (status is None or e["status"] == status)]


def api_calls(entries, path, method="POST"):
    return [e for e in entries if e["target"] == "api" and e["method"] == method
            and e["path"].startswith(path)]


def state_files(cli):
    return glob.glob(os.path.join(cli.home, "cache", "xether", "uploads", "*.json"))


def read_state(cli):
    files = state_files(cli)
    assert len(files) == 1, files
    with open(files[0]) as f:
        return json.load(f)


def api_get(cli, path):
    """GET an API path as the CLI's logged-in user (token from its credentials file)."""
    return api_call(cli, "GET", path)[1]


def stored_parts(cli):
    """Part numbers the server holds for the upload in the CLI's resume state."""
    state = read_state(cli)
    parts = api_get(cli, "/artifacts/multipart/parts?artifact_id=%s&upload_id=%s"
                    % (state["artifact_id"], state["upload_id"]))
    return sorted(p["part_number"] for p in parts)


def api_call(cli, method, path, body=None):
    """Any API request as the CLI's logged-in user; returns (status, parsed body or None)."""
    with open(os.path.join(cli.home, "config", "credentials.json")) as f:
        creds = json.load(f)["profiles"]["default"]
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(creds["api_url"] + "/api/v1" + path, data=data, method=method,
                                 headers={"Authorization": "Bearer " + creds["access_token"],
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        raw = r.read()
        return r.status, (json.loads(raw) if raw else None)
