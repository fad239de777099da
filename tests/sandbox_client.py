"""A tiny raw HTTP client for the sandbox's own tests: no redirects followed, no retries, every
status returned (not raised), so tests can assert exact statuses, headers and bodies."""

import hashlib
import http.client
import json
import time
from urllib.parse import urlencode, urlsplit

DEMO = ("demo@xether.local", "xether-demo")


class Reply(object):
    def __init__(self, status, headers, data):
        self.status, self.headers, self.data = status, headers, data

    @property
    def json(self):
        return json.loads(self.data.decode("utf-8")) if self.data else None

    def __repr__(self):
        return "Reply(%d, %r)" % (self.status, self.data[:500])


def request(url, method="GET", body=None, headers=None, timeout=30):
    """One request to an absolute URL; `body` is bytes, or an object sent as JSON."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    headers = dict(headers or {})
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    path = parts.path + ("?" + parts.query if parts.query else "")
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return Reply(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


class Api(object):
    """Calls `<url>/api/v1<path>` with the current credentials."""

    def __init__(self, url):
        self.url = url
        self.headers = {}

    def __call__(self, method, path, body=None, query=None, headers=None):
        h = dict(self.headers)
        h.update(headers or {})
        target = self.url + ("" if path.startswith(("/health", "/_sandbox")) else "/api/v1") + path
        if query:
            target += "?" + urlencode(query)
        return request(target, method, body, h)

    def login(self, email=DEMO[0], password=DEMO[1]):
        r = self.form("/auth/login", {"username": email, "password": password})
        assert r.status == 200, r
        self.tokens = r.json
        self.headers = {"Authorization": "Bearer " + r.json["access_token"]}
        return self

    def form(self, path, fields):
        return self("POST", path, urlencode(fields).encode(),
                    headers={"Content-Type": "application/x-www-form-urlencoded"})

    def demo_project(self):
        return [p for p in self("GET", "/projects/").json if p["name"] == "demo"][0]["id"]

    def pipeline(self, name, project_id):
        rows = self("GET", "/pipelines/", query={"project_id": project_id}).json
        return [p for p in rows if p["name"] == name][0]["id"]

    def upload(self, project_id, name, data, content_type="text/csv"):
        """Upload bytes the way `dataset push` does; returns (artifact_id, bucket, key)."""
        key = "datasets/%d/%s/%s" % (project_id, hashlib.sha1(data).hexdigest()[:12], name)
        r = self("POST", "/artifacts/upload", {
            "name": name, "bucket": "datasets", "key": key, "content_type": content_type,
            "project_id": project_id, "expires_in_seconds": 600})
        assert r.status == 200, r
        put = request(r.json["upload_url"], "PUT", data, {"Content-Type": content_type})
        assert put.status == 200, put
        done = self("POST", "/artifacts/%s/complete" % r.json["artifact_id"],
                    {"size": len(data), "checksum": hashlib.sha256(data).hexdigest()})
        assert done.status == 200, done
        return r.json["artifact_id"], "datasets", key

    def initiate_multipart(self, project_id, name):
        """Start a multipart upload; returns (artifact_id, upload_id)."""
        r = self("POST", "/artifacts/multipart/initiate", {
            "name": name, "bucket": "datasets", "key": "datasets/%d/mp/%s" % (project_id, name),
            "content_type": "application/octet-stream", "project_id": project_id})
        assert r.status == 200 and set(r.json) == {"artifact_id", "upload_id"}, r
        return r.json["artifact_id"], r.json["upload_id"]

    def dataset(self, project_id, name, data):
        _, bucket, key = self.upload(project_id, name + ".csv", data)
        r = self("POST", "/datasets/", {"name": name, "project_id": project_id,
                                        "storage_path": "s3://%s/%s" % (bucket, key)})
        assert r.status == 201, r
        return r.json["id"]

    def wait(self, execution_id, timeout=20):
        deadline = time.time() + timeout
        while True:
            r = self("GET", "/executions/%d" % execution_id)
            assert r.status == 200, r
            if r.json["status"] in ("completed", "failed", "cancelled", "timeout"):
                return r.json
            assert time.time() < deadline, r.json
            time.sleep(0.05)

    def download(self, artifact_id):
        r = self("GET", "/artifacts/%s/download" % artifact_id)
        assert r.status == 200, r
        got = request(r.json["download_url"])
        assert got.status == 200, got
        return got.data
