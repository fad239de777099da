"""Real network peers for the transport tests, all on 127.0.0.1 and free ports.

- `make_ca(directory)`: a private CA and a server certificate for 127.0.0.1/localhost, made
  with the `openssl` command-line tool.
- `Forwarder(target_url, tls=...)`: a TCP forwarder to another server, optionally TLS-
  terminating with that certificate; it counts the TCP connections it accepts (keep-alive
  proofs) and the TLS handshakes that completed.
- `Tinyproxy(directory)`: the real tinyproxy, started in the foreground with its own config
  file and log, stopped afterwards.
- `HeaderRecorder()`: an http.server on a free port that records every request's method,
  path and headers (the "other origin" of redirect tests).
- `ScriptedServer(answers)`: a raw TCP server that sends `answers[i]` (bytes, as they are)
  on its i-th connection and closes it: truncated bodies and other broken answers.
- `api(base_url, method, path, ...)`: a direct urllib call for a test's own setup and checks;
  `stored_credentials(cli)` and `make_artifact(sandbox, token, project_id)` build on it.
"""

import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from urllib.parse import urlsplit

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"


def stop_process(proc, seconds=10):
    """Terminate a peer process and reap it (kill it if it will not go)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(seconds)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for(predicate, timeout=30, interval=0.05):
    """Poll `predicate` until it returns something true (returned), or fail after `timeout`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met within %ss" % timeout)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, seconds=10.0):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on 127.0.0.1:%d" % port)


# -- a private CA -------------------------------------------------------------------------------

class Certs(object):
    def __init__(self, directory):
        self.directory = directory
        self.ca = os.path.join(directory, "ca.pem")
        self.ca_key = os.path.join(directory, "ca.key")
        self.cert = os.path.join(directory, "server.pem")
        self.key = os.path.join(directory, "server.key")

    def server_context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx


def _openssl(directory, *args):
    subprocess.run([OPENSSL] + list(args), cwd=directory, check=True,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def make_ca(directory):
    """A CA (ca.pem) and a server certificate it signed for IP 127.0.0.1 and localhost."""
    os.makedirs(directory, exist_ok=True)
    certs = Certs(directory)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(directory, "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=xether test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    _openssl(directory, "req", *ec, "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=127.0.0.1")
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    _openssl(directory, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext")
    return certs


# -- a TCP / TLS forwarder ----------------------------------------------------------------------

def _pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            try:
                s.shutdown(how)
            except OSError:
                pass


class Forwarder(object):
    """Listens on 127.0.0.1:<free port> and forwards every connection to `target_url`'s
    host and port; with `tls` (an ssl server context) it terminates TLS first."""

    def __init__(self, target_url, tls=None):
        parts = urlsplit(target_url)
        self.target = (parts.hostname, parts.port)
        self.tls = tls
        self.connections = 0
        self.handshakes = 0
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(32)
        self.port = self._sock.getsockname()[1]
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)
        self._open = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._open.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        try:
            if self.tls is not None:
                client.settimeout(10)
                client = self.tls.wrap_socket(client, server_side=True)
                client.settimeout(None)
                with self._lock:
                    self.handshakes += 1
            upstream = socket.create_connection(self.target, timeout=10)
            upstream.settimeout(None)
        except (OSError, ssl.SSLError):
            client.close()
            return
        threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()
        _pump(client, upstream)

    def reset_counts(self):
        with self._lock:
            self.connections = self.handshakes = 0

    def close(self):
        self._sock.close()
        with self._lock:
            for s in self._open:
                try:
                    s.close()
                except OSError:
                    pass


# -- tinyproxy ----------------------------------------------------------------------------------

def tinyproxy_path():
    return shutil.which("tinyproxy") or ("/usr/bin/tinyproxy" if os.path.exists("/usr/bin/tinyproxy")
                                         else None)


def start_tinyproxy(directory):
    """A running Tinyproxy, or a test failure that says how to get tinyproxy."""
    import pytest

    if tinyproxy_path() is None:
        pytest.fail("tinyproxy is not installed: apt-get install -y tinyproxy")
    return Tinyproxy(directory)


class Tinyproxy(object):
    """The real tinyproxy on a free port, in the foreground, logging to `directory`."""

    def __init__(self, directory):
        os.makedirs(directory, exist_ok=True)
        self.port = free_port()
        self.log_path = os.path.join(directory, "tinyproxy.log")
        self.conf = os.path.join(directory, "tinyproxy.conf")
        with open(self.conf, "w") as f:
            f.write('Port %d\nListen 127.0.0.1\nAllow 127.0.0.1\nTimeout 30\nMaxClients 50\n'
                    'LogFile "%s"\nLogLevel Info\n' % (self.port, self.log_path))
        open(self.log_path, "a").close()
        self.proc = subprocess.Popen([tinyproxy_path(), "-d", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for_port(self.port)
        except RuntimeError:
            self.stop()
            raise RuntimeError("tinyproxy did not start: %s" % self.proc.stderr.read().decode())
        self.url = "http://127.0.0.1:%d" % self.port

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def requests(self):
        """The request lines tinyproxy logged ("GET http://...", "CONNECT host:port"), in order."""
        import re

        return re.findall(r"Request \(file descriptor \d+\): (\S+ \S+) HTTP/", self.log())

    def stop(self):
        stop_process(self.proc, 5)


# -- a header-recording HTTP server -------------------------------------------------------------

class _Recorder(http.server.BaseHTTPRequestHandler):
    def _any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append({"method": self.command, "path": self.path,
                                 "headers": dict((k.lower(), v) for k, v in self.headers.items()),
                                 "body": body})
        data = json.dumps(self.server.answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _any

    def log_message(self, *args):
        pass


class HeaderRecorder(object):
    """Records `seen` = [{"method", "path", "headers" (lower-case names), "body"}]."""

    def __init__(self, answer=None):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
        self.server.daemon_threads = True
        self.server.seen = []
        self.server.answer = answer if answer is not None else {
            "id": 999, "email": "someone@other.origin"}
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                         daemon=True).start()

    @property
    def seen(self):
        return self.server.seen

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# -- a server of scripted raw answers ----------------------------------------------------------

class ScriptedServer(object):
    """Answers the i-th connection's first request with `answers[i]` (the last one repeats)."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                data = b""
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    self.requests.append(data.split(b"\r\n", 1)[0].decode("latin-1"))
                    answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
                    conn.sendall(answer)
                except OSError:
                    pass

    def close(self):
        self._sock.close()


# -- plain API calls made by the test itself (setup and checks, not the CLI under test) ----------

def api(base_url, method, path, token=None, api_key=None, body=None, timeout=10):
    """(status, parsed JSON or None) of one request to `base_url + "/api/v1" + path`."""
    import urllib.error
    import urllib.request

    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = "Bearer " + token
    if api_key:
        headers["X-API-Key"] = api_key
    req = urllib.request.Request(base_url + "/api/v1" + path, data=data, method=method,
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


def stored_credentials(cli, profile="default"):
    """The profile's entry of the CLI's credentials.json (None when absent)."""
    with open(os.path.join(cli.env["XETHER_CONFIG_DIR"], "credentials.json")) as f:
        return json.load(f)["profiles"].get(profile)


def make_artifact(sandbox, token, project_id, data=b"hello, transport\n"):
    """An uploaded, completed artifact, made with plain urllib (not the CLI); returns its id."""
    import hashlib
    import urllib.request

    key = "datasets/%d/%s/t.txt" % (project_id, os.urandom(8).hex())
    status, up = api(sandbox.url, "POST", "/artifacts/upload", token=token, body={
        "name": "t.txt", "bucket": "datasets", "key": key, "content_type": "text/plain",
        "project_id": project_id, "expires_in_seconds": 3600})
    assert status == 200, up
    req = urllib.request.Request(up["upload_url"], data=data, method="PUT",
                                 headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(req, timeout=10).close()
    status, done = api(sandbox.url, "POST", "/artifacts/%s/complete" % up["artifact_id"],
                       token=token, body={"size": len(data),
                                          "checksum": hashlib.sha256(data).hexdigest()})
    assert status == 200, done
    return up["artifact_id"]


class Moto(object):
    """moto's S3 server (a real S3 peer) on a free port; `.url`, `.stop()`."""

    def __init__(self, log_path=None):
        import sys
        import urllib.request

        port = free_port()
        self.log_path = log_path
        log = open(log_path, "w") if log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                      "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
        self.url = "http://127.0.0.1:%d" % port
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=2).close()
                return
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    self.stop()
                    log_text = open(log_path).read() if log_path else ""
                    raise RuntimeError("moto.server did not start: %s" % log_text)
                time.sleep(0.1)

    def stop(self):
        stop_process(self.proc)
