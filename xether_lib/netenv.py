"""What the environment says about the network: proxies (HTTPS_PROXY, HTTP_PROXY, NO_PROXY,
either case) and TLS trust (--ca-bundle, XETHER_CA_BUNDLE, SSL_CERT_FILE/SSL_CERT_DIR)."""

import os
from urllib.parse import unquote, urlsplit


def _env(name):
    return os.environ.get(name.lower()) or os.environ.get(name.upper()) or ""


def _bypass(host, port):
    no_proxy = _env("no_proxy")
    if not no_proxy:
        return False
    host = host.lower().strip("[]")
    for entry in no_proxy.replace(" ", "").split(","):
        entry = entry.lower()
        if not entry:
            continue
        if entry == "*":
            return True
        name, _, entry_port = entry.partition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and str(port) != entry_port:
            continue
        name = name.lstrip(".").strip("[]")
        if host == name or host.endswith("." + name):
            return True
    return False


class Proxy(object):
    def __init__(self, host, port, auth_header):
        self.host, self.port, self.auth_header = host, port, auth_header

    def __repr__(self):
        return "%s:%d" % (self.host, self.port)


def proxy_for(scheme, host, port):
    """The Proxy to use for this origin, or None."""
    value = _env("%s_proxy" % scheme) or _env("all_proxy")
    if not value or _bypass(host, port):
        return None
    if "://" not in value:
        value = "http://" + value
    parts = urlsplit(value)
    if not parts.hostname:
        return None
    auth = None
    if parts.username is not None:
        import base64

        pair = "%s:%s" % (unquote(parts.username), unquote(parts.password or ""))
        auth = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
    return Proxy(parts.hostname, parts.port or 8080, auth)


def ssl_context(ca_bundle=None, insecure=False):
    """A verifying client context; SSL_CERT_FILE/SSL_CERT_DIR are honoured by OpenSSL defaults."""
    import ssl

    if insecure:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    if ca_bundle:
        return ssl.create_default_context(cafile=ca_bundle)
    return ssl.create_default_context()
