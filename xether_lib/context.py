"""The one object every command's `run(args, ctx)` receives.

It resolves settings on first use, builds the HTTP transport and the API client
lazily (so `xether config get` never imports http.client or ssl), and owns the
output kit. Tests can build one from a namespace in a line.
"""

import sys


class Context(object):
    def __init__(self, args, stdout=None, stderr=None):
        self.args = args
        self._stdout = stdout or sys.stdout
        self._stderr = stderr or sys.stderr
        self._settings = None
        self._transport = None
        self._api = None
        self._out = None

    @property
    def settings(self):
        if self._settings is None:
            from xether_lib.settings import resolve

            # warnings go through the output kit, built lazily (it reads settings itself)
            self._settings = resolve(self.args, warn=lambda msg: self.out.warn(msg))
        return self._settings

    @property
    def out(self):
        if self._out is None:
            from xether_lib.term.output import Output

            args = self.args
            fmt = args.output
            color = args.color
            if fmt is None or color is None:
                fmt = fmt or self.settings.get("output") or "table"
                color = color or self.settings.get("color") or "auto"
            self._out = Output(fmt=fmt, color=color, quiet=args.quiet,
                               progress=not args.no_progress,
                               stdout=self._stdout, stderr=self._stderr)
        return self._out

    @property
    def transport(self):
        if self._transport is None:
            from xether_lib.transport import Transport

            s = self.settings
            self._transport = Transport(
                timeout=s.request_timeout, ca_bundle=s.ca_bundle, insecure=s.insecure,
                debug=self.args.debug, warn=self.out.warn,
                max_attempts=s.max_attempts)
        return self._transport

    @property
    def api(self):
        if self._api is None:
            from xether_lib.api import Api

            self._api = Api(self.transport, self.settings)
        return self._api

    def project_id(self):
        """The project to work in, or a usage error that says how to choose one."""
        return self.settings.require_project()
