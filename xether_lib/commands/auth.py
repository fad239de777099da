"""`xether login`, `xether logout`, `xether whoami` / `xether auth status`.

Secrets never come from argv: a password is prompted for (getpass) or read from stdin
with --password-stdin; an API key is read from stdin with --api-key-stdin.
"""

import sys

from xether_lib import redact
from xether_lib.errors import AuthError, UsageError, XetherError


def register(noun):
    p = noun.verb("login", run_login, "Log in and store credentials for the profile",
                  description="Log in with your email and password (prompted, never echoed), "
                              "or store an API key read from stdin.",
                  examples=["xether login",
                            "xether --api-url local login --email demo@xether.local",
                            "printf '%s\\n' \"$PASSWORD\" | xether login --email me@example.com --password-stdin",
                            "xether login --api-key-stdin < key.txt"])
    p.add_argument("--email", help="your account's email (prompted for when missing)")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of stdin")
    p.add_argument("--api-key-stdin", action="store_true",
                   help="read an API key (xether_...) from stdin instead of logging in with a password")
    p.add_argument("--password", help="refused: a password on the command line leaks into "
                                      "shell history and the process list")
    noun.verb("logout", run_logout, "Revoke the session and forget the profile's credentials",
              examples=["xether logout", "xether --profile staging logout"])
    noun.verb("status", run_status, "Show who you are logged in as, and where",
              aliases=("whoami",), examples=["xether whoami", "xether auth status -o json"])


def _read_stdin_line(what):
    """The first line of stdin; on a terminal it is read like a password (never echoed)."""
    if sys.stdin.isatty():
        import getpass

        value = getpass.getpass("%s: " % (what[0].upper() + what[1:]), stream=sys.stderr)
    else:
        value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise UsageError("no %s on stdin" % what)
    return value


def _prompt_email():
    if not sys.stdin.isatty():
        raise UsageError("no terminal to prompt for the email: pass --email")
    sys.stderr.write("Email: ")
    sys.stderr.flush()
    email = sys.stdin.readline().strip()
    if not email:
        raise UsageError("no email given")
    return email


def _prompt_password():
    import getpass

    if not sys.stdin.isatty():
        raise UsageError("no terminal to prompt for the password",
                         hint="Use --password-stdin to read it from stdin.")
    password = getpass.getpass("Password: ", stream=sys.stderr)
    if not password:
        raise UsageError("no password given")
    return password


def run_login(args, ctx):
    if args.password is not None:
        raise UsageError("--password is not accepted: it would leak into shell history and the "
                         "process list", hint="Use the prompt, or --password-stdin.")
    if args.api_key_stdin and args.password_stdin:
        raise UsageError("choose one of --api-key-stdin and --password-stdin")
    settings, api = ctx.settings, ctx.api
    if args.api_key_stdin:
        key = _read_stdin_line("API key").strip()
        api.use_credentials({"api_key": key})
        user = api.me()
        stored = {"api_key": key, "email": user.get("email"), "method": "api_key"}
    else:
        email = args.email or _prompt_email()
        password = _read_stdin_line("password") if args.password_stdin else _prompt_password()
        try:
            tokens = api.login(email, password)
        except AuthError as exc:
            cause = getattr(exc, "api_error", None)
            raise AuthError("login failed: %s" % (cause.message if cause else exc.message))
        if not isinstance(tokens, dict) or not tokens.get("access_token"):
            raise XetherError("the server's answer to the login has no access token",
                              hint="Check --api-url: is it a Xether API?", exit_code=7)
        api.use_credentials({"access_token": tokens["access_token"]})
        user = api.me()
        stored = {"access_token": tokens["access_token"], "refresh_token": tokens.get("refresh_token"),
                  "email": user.get("email") or email, "method": "password"}
    settings.save_credentials(stored)
    for key in ("api_url", "ca_bundle"):  # what it took to log in is what later runs need
        if settings.source(key).startswith("flag"):
            settings.set_config(key, settings.get(key))
    ctx.out.success("Logged in as %s on %s" % (stored["email"], settings.api_url))
    if ctx.out.is_json:
        ctx.out.data({"email": stored["email"], "api_url": settings.api_url,
                      "profile": settings.profile, "method": stored["method"]})


def run_logout(args, ctx):
    settings = ctx.settings
    stored = settings.stored_credentials()
    if not stored:
        ctx.out.info("Not logged in (profile %s)." % settings.profile)
        return
    refresh = stored.get("refresh_token")
    if refresh and stored.get("api_url") == settings.api_url:
        try:
            ctx.api.logout(refresh)
        except XetherError as exc:
            ctx.out.warn("could not revoke the session on the server (%s); "
                         "the local credentials are removed anyway" % exc.message)
    settings.clear_credentials()
    ctx.out.success("Logged out of %s (profile %s)" % (stored.get("api_url"), settings.profile))
    for name in ("XETHER_API_KEY", "XETHER_TOKEN"):
        if settings.env.get(name):
            ctx.out.warn("%s is still set in the environment and will keep being used" % name)


def token_expiry(creds):
    from xether_lib.api_base import jwt_expiry

    exp = jwt_expiry(creds.get("access_token") or "")
    if exp is None:
        return None
    import datetime

    return datetime.datetime.utcfromtimestamp(exp).replace(microsecond=0).isoformat() + "Z"


def run_status(args, ctx):
    settings = ctx.settings
    creds = settings.credentials
    method, label = redact.describe_credentials(creds)
    if method is None:
        raise AuthError("not logged in to %s (profile %s)" % (settings.api_url, settings.profile),
                        hint="Run 'xether login', or set XETHER_API_KEY.")
    user = ctx.api.me()
    creds = ctx.api.credentials  # may have been refreshed
    info = {"email": user.get("email"), "user_id": user.get("id"), "api_url": settings.api_url,
            "profile": settings.profile, "method": method, "credential": label,
            "source": creds.get("source"), "expires_at": token_expiry(creds)}
    fields = [("User", "email"), ("API URL", "api_url"), ("Profile", "profile"),
              ("Auth", "credential"), ("From", "source"), ("Token expires", "expires_at")]
    ctx.out.record(info, fields)
