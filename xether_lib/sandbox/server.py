"""The sandbox's HTTP server: one ThreadingHTTPServer (HTTP/1.1 keep-alive, every answer with a
Content-Length) that hands pre-signed storage traffic to the store, test hooks to
`routes_hooks`, and everything else to the API routes (`routes_*.py`), applying API faults,
the trailing-slash redirect, X-Request-ID, auth, [ext]-route hiding (--backend-compat) and the
backend's error bodies. `serve(options)` wires the parts together and runs until stopped.
"""

import http.server
import os
import signal
import sys
import time
import traceback
import uuid
from urllib.parse import unquote

from xether_lib.sandbox.web import HttpError, Request, Response

API_PREFIXES = ("/api/", "/health")
DRAIN_LIMIT = 1 << 20


def route_table(hooks):
    from xether_lib.sandbox import (routes_artifacts, routes_auth, routes_datasets,
                                    routes_hooks, routes_pipelines, routes_projects,
                                    routes_uploads)
    modules = [routes_auth, routes_projects, routes_datasets, routes_uploads, routes_artifacts,
               routes_pipelines] + ([routes_hooks] if hooks else [])
    return [r for m in modules for r in m.routes.table]


class App(object):
    """The parts every request needs."""

    def __init__(self, db, auth, store, runner, faults, request_log, compat=False, hooks=False):
        self.db, self.auth, self.store, self.runner = db, auth, store, runner
        self.faults, self.request_log = faults, request_log
        self.compat, self.hooks = compat, hooks
        self.routes = route_table(hooks)

    def find(self, method, path):
        """(route, params) for method and path, or raise 404/405 (None when only the other
        trailing-slash form exists)."""
        methods = []
        for r_method, regex, fn, public, ext in self.routes:
            match = regex.match(path)
            if match is None or (ext and self.compat):
                continue
            if r_method == method or (method == "HEAD" and r_method == "GET"):
                return (fn, public), match.groupdict()
            methods.append(r_method)
        if methods:
            raise HttpError(405, "Method Not Allowed", {"Allow": ", ".join(sorted(set(methods)))})
        return None, None

    def dispatch(self, req):
        found, params = self.find(req.method, req.path)
        if found is None:
            other = req.path[:-1] if req.path.endswith("/") else req.path + "/"
            if self.find(req.method, other)[0] is not None and len(other) > 1:
                return redirect_slash(req)
            raise HttpError(404, "Not Found")
        fn, public = found
        req.params = params
        if not public:
            req.user = self.auth.user(req)
        return fn(req)

    def answer(self, req):
        """The response to an API request, errors included."""
        try:
            return self.dispatch(req)
        except HttpError as exc:
            return Response(exc.status, {"detail": exc.detail}, exc.headers)
        except Exception as exc:  # the backend's 500 body; the traceback goes to stderr
            traceback.print_exc()
            return Response(500, {"error": {"code": "INTERNAL_SERVER_ERROR",
                                            "message": "Internal server error: %s" % exc,
                                            "request_id": req.request_id}},
                            {"X-Request-ID": None})


def redirect_slash(req):
    raw = req.raw_path
    other = raw[:-1] if raw.endswith("/") else raw + "/"
    proto = req.headers.get("X-Forwarded-Proto", "http").split(",")[0].strip() or "http"
    host = req.headers.get("Host") or req.local_host
    location = "%s://%s%s%s" % (proto, host, other,
                                "?" + req.query_string if req.query_string else "")
    return Response(307, None, {"Location": location})


def _request_id(value):
    if value and len(value) <= 200 and all(33 <= ord(c) < 127 for c in value):
        return value
    return uuid.uuid4().hex


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "xether-sandbox"
    sys_version = ""

    def do_GET(self):
        self._serve()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def log_message(self, fmt, *args):
        if os.environ.get("XETHER_SANDBOX_VERBOSE"):
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def _serve(self):
        app = self.server.app
        raw_path, _, query = self.path.partition("?")
        if app.store.handles(raw_path):
            app.store.handle(self)
            return
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._send(Response(411, {"detail": "Length Required"}), None)
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._send(Response(400, {"detail": "Bad Content-Length"}), None)
            return
        req = Request(app, self.command, unquote(raw_path), query, self.headers,
                      self.client_address[0], _request_id(self.headers.get("X-Request-ID")),
                      self.rfile, length)
        req.raw_path = raw_path
        req.local_host = "%s:%d" % self.server.server_address[:2]
        if raw_path.startswith("/_sandbox/") and app.hooks:
            self._finish(req, app.answer(req))
        else:
            self._api(app, req)

    def _api(self, app, req):
        fault = app.faults.take("api", req.method, req.path)
        action = fault and fault["action"]
        if action == "stall":
            time.sleep(float(fault.get("seconds", 1)))
        if action == "error":
            resp = fault_response(fault)
        elif action == "redirect":
            resp = Response(307, None, {"Location": fault.get("location", "/")})
        else:
            resp = app.answer(req)
        app.request_log.record(target="api", method=req.method, path=req.path,
                               query=req.query_string, range=None, part_number=None,
                               status=None if action == "drop_response" else resp.status,
                               bytes=req.body_size)
        if action == "drop_response":
            self.close_connection = True
            return
        self._finish(req, resp, raw_fault=action == "error")

    def _finish(self, req, resp, raw_fault=False):
        if req.unread > DRAIN_LIMIT:
            self.close_connection = True
        elif req.unread:
            req.raw_body()
        self._send(resp, None if raw_fault else req.request_id)

    def _send(self, resp, request_id):
        self.send_response(resp.status)
        headers = dict(resp.headers)
        if request_id and "X-Request-ID" not in headers:
            headers["X-Request-ID"] = request_id
        if resp.content_type:
            headers.setdefault("Content-Type", resp.content_type)
        headers["Content-Length"] = str(len(resp.data))
        for name, value in headers.items():
            if value is not None:
                self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.data)


def fault_response(fault):
    """The answer an `error` fault asks for (JSON unless its body is a string)."""
    import json

    body = fault.get("body", {"detail": "Injected fault"})
    if isinstance(body, str):
        data, ctype = body.encode("utf-8"), "text/plain; charset=utf-8"
    else:
        data, ctype = json.dumps(body).encode("utf-8"), "application/json"
    headers = dict(fault.get("headers") or {})
    return Response(int(fault.get("status", 500)), raw=data, headers=headers,
                    content_type=fault.get("content_type", ctype))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError)):
            http.server.ThreadingHTTPServer.handle_error(self, request, client_address)


# ---- wiring ---------------------------------------------------------------------------------

def _origin(host, port):
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else ("[::1]" if host == "::" else host)
    if ":" in shown and not shown.startswith("["):
        shown = "[%s]" % shown
    return "http://%s:%d" % (shown, port)


def login_limit(hooks):
    """Logins a minute per address: 60 like the backend, XETHER_SANDBOX_LOGIN_LIMIT if set;
    a test sandbox (hooks on) is not limited unless asked, since a test suite logs in often."""
    value = os.environ.get("XETHER_SANDBOX_LOGIN_LIMIT")
    if value and value.isdigit():
        return int(value)
    return 10 ** 9 if hooks else 60


def build_app(opts):
    """The App for `opts` (an argparse namespace of `xether sandbox`)."""
    import hashlib
    import hmac

    from xether_lib.sandbox import auth, db as db_mod, faults, pipelines
    from xether_lib.sandbox.runner import Runner
    from xether_lib.sandbox.store import Store

    os.makedirs(opts.data_dir, mode=0o700, exist_ok=True)
    secret = auth.load_secret(opts.data_dir)
    db = db_mod.open_database(opts.data_dir)
    db_mod.recover(db)
    db_mod.seed(db, auth.hash_password, pipelines.BUILTINS)
    hooks = os.environ.get("XETHER_SANDBOX_TEST_HOOKS") == "1"
    fault_set, log = faults.Faults(hooks), faults.RequestLog(hooks)
    s3 = None
    if opts.s3_endpoint:
        s3 = {"endpoint": opts.s3_endpoint, "region": opts.s3_region or "us-east-1",
              "access_key": opts.s3_access_key, "secret_key": opts.s3_secret_key}
    store_secret = hmac.new(secret, b"xether-sandbox-store", hashlib.sha256).hexdigest()
    store = Store(opts.data_dir, store_secret.encode("ascii"), fault_set, log, None, s3)
    limit = login_limit(hooks)
    authority = auth.Auth(db, secret, opts.access_token_ttl, opts.refresh_token_ttl, limit)
    return App(db, authority, store, Runner(db, store, opts.bucket), fault_set, log,
               compat=opts.backend_compat, hooks=hooks)


def _listen(make, host, port):
    """`make()` (a server bound to host:port), with an OSError that names the address."""
    try:
        return make()
    except OSError as exc:
        raise OSError(exc.errno, "cannot listen on %s:%d: %s" % (host, port, exc.strerror or exc))


def _start_storage(app, opts):
    import threading

    if opts.storage_port is None:
        return None
    storage = _listen(lambda: app.store.make_storage_server(opts.host, opts.storage_port),
                      opts.host, opts.storage_port)
    threading.Thread(target=storage.serve_forever, name="storage", daemon=True).start()
    app.store.set_public_base_url(_origin(opts.host, storage.server_address[1]))
    return storage


class _Terminated(Exception):
    """SIGTERM: a stop that was asked for (exit 0), unlike Ctrl-C (exit 130)."""


def _stop(signum, frame):
    raise _Terminated()


def _announce(out, url, opts):
    out.write(url + "\n")
    out.flush()
    out.write("Xether sandbox: data in %s%s\nLog in with:\n  xether --api-url %s login "
              "--email demo@xether.local   (password: xether-demo)\nStop with Ctrl-C.\n"
              % (opts.data_dir, " (backend-compat mode)" if opts.backend_compat else "", url))
    out.flush()


def serve(opts, out=None):
    """Run the sandbox until Ctrl-C or SIGTERM; the first line on `out` is the API URL."""
    out = out or sys.stdout
    app = build_app(opts)
    server = _listen(lambda: Server((opts.host, opts.port), Handler), opts.host, opts.port)
    server.app = app
    url = _origin(opts.host, server.server_address[1])
    storage = None
    code = 0
    signal.signal(signal.SIGTERM, _stop)
    try:
        storage = _start_storage(app, opts)
        if storage is None:
            app.store.set_public_base_url(url)
        _announce(out, url, opts)
        server.serve_forever(poll_interval=0.5)
    except _Terminated:
        pass
    except KeyboardInterrupt:
        code = 130
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        server.server_close()
        if storage is not None:
            storage.server_close()
    sys.stderr.write("sandbox stopped%s\n" % (" (interrupted)" if code else ""))
    return code
