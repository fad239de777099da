"""Redaction of secrets in anything that may be printed: headers, URLs, free text."""

SECRET_HEADERS = ("authorization", "x-api-key", "cookie", "set-cookie", "proxy-authorization")
SECRET_PARAMS = ("x-amz-signature", "x-amz-credential", "x-amz-security-token", "signature",
                 "awsaccesskeyid", "x-xether-signature", "refresh_token", "access_token",
                 "token", "password", "api_key", "key", "sig")
MASK = "***"


def redact_headers(headers):
    """A copy of a header mapping/pair list with secret values masked."""
    items = headers.items() if hasattr(headers, "items") else headers
    return [(k, MASK if k.lower() in SECRET_HEADERS else v) for k, v in items]


def redact_url(url):
    """The URL with user info and secret query parameters masked."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = MASK + "@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if k.lower() in SECRET_PARAMS else v) for k, v in pairs],
                          safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def mask_token(value, keep=9):
    """`xether_ab…` style: enough to recognise a credential, never enough to use it."""
    if not value:
        return ""
    return value[:keep] + "..." if len(value) > keep + 4 else MASK


def describe_credentials(creds):
    """How a credential is shown: (method, label) with a masked hint, never the secret."""
    if creds.get("api_key"):
        return "api key", "api key %s" % mask_token(creds["api_key"])
    if creds.get("access_token"):
        return "token", "token"
    return None, "not logged in"
