"""`xether sandbox`: run the local Xether backend (xether_lib/sandbox/) in the foreground.

A leaf command (cli.py maps `sandbox` to its single verb `serve`). Options are parsed here;
the server is imported only when it runs.
"""

import os


def default_data_dir():
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                            "share")
    return os.path.join(base, "xether", "sandbox")


def _port(text):
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("%r is not a port number (0-65535)" % text)
    return value


def _seconds(text):
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError("%r is not a whole number of seconds (1 or more)" % text)
    return value


def register(noun):
    p = noun.verb(
        "serve", run, "Run a local Xether backend for trying and testing",
        description="Run a local Xether backend (every route of the API, with pre-signed\n"
                    "uploads and downloads and a few real pipelines) until Ctrl-C.\n"
                    "The first line printed is its API URL. State survives restarts.\n"
                    "Demo account: demo@xether.local / xether-demo, project 'demo'.",
        examples=["xether sandbox --port 8000",
                  "xether sandbox --port 0 --data-dir /tmp/xether-sandbox",
                  "xether --api-url local login --email demo@xether.local"])
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8000,
                   help="API port (default 8000, the 'local' API URL; 0 picks a free port)")
    p.add_argument("--data-dir", metavar="DIR", default=None,
                   help="state folder (default $XDG_DATA_HOME/xether/sandbox)")
    p.add_argument("--storage-port", type=_port, default=None, metavar="PORT",
                   help="serve pre-signed object URLs on this second port (default: the API's)")
    p.add_argument("--access-token-ttl", type=_seconds, default=1800, metavar="SECONDS",
                   help="access token lifetime (default 1800)")
    p.add_argument("--refresh-token-ttl", type=_seconds, default=7 * 24 * 3600,
                   metavar="SECONDS", help="refresh token lifetime (default 7 days)")
    p.add_argument("--backend-compat", action="store_true",
                   help="behave like today's backend: the [ext] routes answer 404")
    p.add_argument("--bucket", default="datasets", help="bucket of pipeline outputs "
                   "(default datasets)")
    g = p.add_argument_group("real S3 storage (instead of the local blob folder)")
    g.add_argument("--s3-endpoint", metavar="URL", help="S3 endpoint URL")
    g.add_argument("--s3-region", metavar="REGION", help="region (default us-east-1)")
    g.add_argument("--s3-access-key", metavar="KEY",
                   default=os.environ.get("XETHER_SANDBOX_S3_ACCESS_KEY"),
                   help="access key id (env XETHER_SANDBOX_S3_ACCESS_KEY)")
    g.add_argument("--s3-secret-key", metavar="SECRET",
                   default=os.environ.get("XETHER_SANDBOX_S3_SECRET_KEY"),
                   help="secret access key (env XETHER_SANDBOX_S3_SECRET_KEY)")


def run(args, ctx):
    from xether_lib.errors import UsageError

    args.data_dir = os.path.abspath(args.data_dir or default_data_dir())
    s3 = (args.s3_access_key, args.s3_secret_key)
    if args.s3_endpoint and not all(s3):
        raise UsageError("--s3-endpoint needs --s3-access-key and --s3-secret-key")
    if not args.s3_endpoint and args.s3_region:
        raise UsageError("--s3-region needs --s3-endpoint")
    from xether_lib.sandbox.server import serve

    try:
        return serve(args)
    except OSError as exc:
        import errno

        in_use = exc.errno == errno.EADDRINUSE
        why = exc.strerror or str(exc)
        if exc.filename:
            why += ": %s" % exc.filename
        raise UsageError("cannot start the sandbox: %s" % why,
                         hint="Is a sandbox already running there? Choose another port "
                              "(0 picks a free one)." if in_use else None)
