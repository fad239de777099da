"""A server of pre-signed storage traffic only (`xether sandbox --storage-port`).

Everything under `/_storage/` goes to `Store.handle`; any other path gets an S3-style 404.
HTTP/1.1 with keep-alive; one thread per connection; quiet (no access log on stderr).
"""

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .storeerror import error_xml


def make_server(store, host, port):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "xether-sandbox-storage"

        def _dispatch(self):
            if store.handles(self.path.split("?", 1)[0]):
                return store.handle(self)
            body = error_xml("NoSuchBucket", "Only /_storage/ is served here.")
            self.send_response(404)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.close_connection = True
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return None

        do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = _dispatch

        def log_message(self, fmt, *args):
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
