"""Settings: profiles, precedence (flag > environment > profile config > default), and the
config and credentials files.

Files live in $XETHER_CONFIG_DIR, else $XDG_CONFIG_HOME/xether, else ~/.config/xether:
`config.json` ({"profiles": {name: {key: value}}}) and `credentials.json` (same shape, secrets).
The directory is 0700 and the files 0600; every write is a read-modify-write under a lock,
replaced atomically, so concurrent runs never lose an update. A file that cannot be parsed
is reported, never overwritten.
"""

import json
import os
import sys

from xether_lib import fsutil
from xether_lib.errors import ConfigError, UsageError
from xether_lib.units import parse_positive_float, parse_size

PREDEFINED_URLS = {"prod": "https://api.xether.ai", "local": "http://localhost:8000"}

DEFAULTS = {
    "api_url": "prod", "project": None, "bucket": "datasets", "output": "table",
    "request_timeout": 30.0, "ca_bundle": None, "color": "auto",
    "part_size": 16 * 1024 * 1024, "concurrency": 4, "max_attempts": 5,
}
KEYS = tuple(sorted(DEFAULTS))
ENV_VARS = {"api_url": "XETHER_API_URL", "project": "XETHER_PROJECT",
            "ca_bundle": "XETHER_CA_BUNDLE"}
FLAGS = ("api_url", "project", "output", "color", "ca_bundle", "request_timeout")


def normalize_api_url(value):
    """`prod`, `local` or an http(s) URL (origin + optional path prefix, no trailing slash)."""
    value = (value or "").strip()
    if value in PREDEFINED_URLS:
        return PREDEFINED_URLS[value]
    lower = value.lower()
    if not (lower.startswith("http://") or lower.startswith("https://")) or len(value.split("://", 1)[1]) == 0:
        raise UsageError("invalid api_url %r: use prod, local or a URL like https://api.example.com" % value)
    if "?" in value or "#" in value:
        raise UsageError("invalid api_url %r: no query or fragment allowed" % value)
    return value.rstrip("/")


def _choice(options):
    def check(value):
        if value not in options:
            raise UsageError("invalid value %r: choose from %s" % (value, ", ".join(options)))
        return value
    return check


def _project(value):
    text = str(value).strip()
    if not text.isdigit():
        raise UsageError("invalid project %r: a project id is a number (see 'xether project ls')" % value)
    return int(text)


def _bucket(value):
    ok = 3 <= len(value) <= 63 and all(c.islower() or c.isdigit() or c in ".-" for c in value)
    if not ok:
        raise UsageError("invalid bucket %r: 3-63 lower-case letters, digits, dots or hyphens" % value)
    return value


def _part_size(value):
    size = value if isinstance(value, int) else parse_size(value, "part size")
    if not 5 * 1024 ** 2 <= size <= 5 * 1024 ** 3:
        raise UsageError("invalid part size %r: between 5MiB and 5GiB" % value)
    return size


def _concurrency(value):
    return _whole_number(value, "concurrency", 1, 64)


def _whole_number(value, what, low, high):
    text = str(value).strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise UsageError("invalid %s %r: a whole number from %d to %d" % (what, value, low, high))
    return int(text)


def _ca_bundle(value):
    path = os.path.expanduser(str(value))
    if not os.path.isfile(path):
        raise UsageError("CA bundle %s is not a readable file" % value)
    return path


VALIDATORS = {
    "api_url": normalize_api_url, "project": _project, "bucket": _bucket,
    "output": _choice(("table", "json", "csv")),
    "request_timeout": lambda v: parse_positive_float(v, "request timeout"),
    "ca_bundle": _ca_bundle, "color": _choice(("auto", "always", "never")),
    "part_size": _part_size, "concurrency": _concurrency,
    "max_attempts": lambda v: _whole_number(v, "max_attempts", 1, 20),
}


def validate(key, value):
    """Check one setting; raises UsageError listing the valid keys for an unknown one."""
    if key not in VALIDATORS:
        raise UsageError("unknown setting %r" % key, hint="Valid keys: %s" % ", ".join(KEYS))
    return VALIDATORS[key](value)


def config_dir():
    """Where config.json lives, or None when no home can be found."""
    explicit = os.environ.get("XETHER_CONFIG_DIR")
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "xether")
    home = os.path.expanduser("~")
    if home == "~" or not home:
        return None
    return os.path.join(home, ".config", "xether")


def cache_dir():
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "xether")
    home = os.path.expanduser("~")
    if home == "~" or not home:
        import tempfile

        return os.path.join(tempfile.gettempdir(), "xether-cache-%d" % os.getuid())
    return os.path.join(home, ".cache", "xether")


class ProfileFile(object):
    """One JSON file of {"profiles": {name: {...}}}: read, and update under a lock."""

    def __init__(self, directory, name):
        self.directory = directory
        self.path = os.path.join(directory, name) if directory else None

    def read(self):
        if not self.path or not os.path.exists(self.path):
            return {"profiles": {}}
        try:
            with open(self.path, "rb") as f:
                data = json.loads(f.read().decode("utf-8") or "{}")
        except (OSError, ValueError) as exc:
            raise ConfigError("cannot read %s: %s" % (self.path, getattr(exc, "strerror", None) or exc),
                              hint="Fix or remove the file; xether will not overwrite it.")
        if not isinstance(data, dict) or not isinstance(data.setdefault("profiles", {}), dict):
            raise ConfigError("cannot read %s: not a xether config file" % self.path,
                              hint="Fix or remove the file; xether will not overwrite it.")
        return data

    def profile(self, name):
        value = self.read()["profiles"].get(name)
        return value if isinstance(value, dict) else {}

    def update(self, name, change):
        """Apply `change(profile_dict)` to one profile atomically; returns the new profile."""
        if not self.directory:
            raise ConfigError("no config directory: HOME is not set",
                              hint="Set XETHER_CONFIG_DIR to a writable directory.")
        try:
            fsutil.ensure_private_dir(self.directory)
            with fsutil.file_lock(os.path.join(self.directory, ".lock")):
                data = self.read()
                profile = data["profiles"].get(name)
                profile = dict(profile) if isinstance(profile, dict) else {}
                change(profile)
                if profile:
                    data["profiles"][name] = profile
                else:
                    data["profiles"].pop(name, None)
                text = json.dumps(data, indent=2, sort_keys=True) + "\n"
                fsutil.atomic_write(self.path, text.encode("utf-8"), 0o600)
                return profile
        except OSError as exc:
            raise ConfigError("cannot write %s: %s" % (self.path, exc.strerror or exc),
                              hint="Set XETHER_CONFIG_DIR to a writable directory.")

    def profile_names(self):
        return sorted(self.read()["profiles"])


class Settings(object):
    """The effective settings of one run."""

    def __init__(self, args, env=None, warn=None):
        self.args = args
        self.warn = warn or (lambda msg: sys.stderr.write("warning: %s\n" % msg))
        self._warned_readable = False
        self.env = os.environ if env is None else env
        self.profile = getattr(args, "profile", None) or self.env.get("XETHER_PROFILE") or "default"
        self.config_dir = config_dir()
        self.cache_dir = cache_dir()
        self.config_file = ProfileFile(self.config_dir, "config.json")
        self.credentials_file = ProfileFile(self.config_dir, "credentials.json")
        self._profile_config = None
        self.insecure = bool(getattr(args, "insecure", False))

    @property
    def profile_config(self):
        if self._profile_config is None:
            self._profile_config = self.config_file.profile(self.profile)
        return self._profile_config

    def lookup(self, key):
        """(value, source) of a setting after precedence and validation."""
        if key in FLAGS and getattr(self.args, key, None) is not None:
            return validate(key, getattr(self.args, key)), "flag --%s" % key.replace("_", "-")
        env_name = ENV_VARS.get(key)
        if env_name and self.env.get(env_name):
            return validate(key, self.env[env_name]), "env %s" % env_name
        if key in self.profile_config:
            try:
                return validate(key, self.profile_config[key]), "config (profile %s)" % self.profile
            except UsageError as exc:
                raise ConfigError("%s in %s" % (exc.message, self.config_file.path))
        default = DEFAULTS[key]
        return (validate(key, default) if default is not None else None), "default"

    def get(self, key):
        return self.lookup(key)[0]

    def source(self, key):
        return self.lookup(key)[1]

    api_url = property(lambda self: self.get("api_url"))
    api_root = property(lambda self: self.get("api_url") + "/api/v1")
    project = property(lambda self: self.get("project"))
    bucket = property(lambda self: self.get("bucket"))
    request_timeout = property(lambda self: self.get("request_timeout"))
    ca_bundle = property(lambda self: self.get("ca_bundle"))
    part_size = property(lambda self: self.get("part_size"))
    concurrency = property(lambda self: self.get("concurrency"))
    max_attempts = property(lambda self: self.get("max_attempts"))

    def require_project(self):
        project = self.project
        if project is None:
            raise UsageError(
                "no project selected",
                hint="Choose one with 'xether project use ID' (list them with 'xether project ls'), "
                     "or pass --project ID, or set XETHER_PROJECT.")
        return project

    # -- credentials ------------------------------------------------------------------------
    @property
    def credentials(self):
        """The credential to use: env XETHER_API_KEY, env XETHER_TOKEN, else the stored one."""
        if self.env.get("XETHER_API_KEY"):
            return {"api_key": self.env["XETHER_API_KEY"], "source": "env XETHER_API_KEY"}
        if self.env.get("XETHER_TOKEN"):
            return {"access_token": self.env["XETHER_TOKEN"], "source": "env XETHER_TOKEN"}
        stored = self.stored_credentials()
        if stored and stored.get("api_url") == self.api_url:
            stored["source"] = "credentials (profile %s)" % self.profile
            return stored
        return {}

    def stored_credentials(self):
        self._warn_if_readable()
        return dict(self.credentials_file.profile(self.profile))

    def save_credentials(self, values):
        def change(profile):
            profile.clear()
            profile.update(values)
            profile["api_url"] = self.api_url
        return self.credentials_file.update(self.profile, change)

    def clear_credentials(self):
        return self.credentials_file.update(self.profile, lambda profile: profile.clear())

    def set_config(self, key, value):
        value = validate(key, value)
        self._profile_config = None

        def change(profile):
            profile[key] = value
        return self.config_file.update(self.profile, change)

    def unset_config(self, key):
        validate_key(key)
        self._profile_config = None
        return self.config_file.update(self.profile, lambda profile: profile.pop(key, None))

    def _warn_if_readable(self):
        path = self.credentials_file.path
        try:
            mode = os.stat(path).st_mode
        except (OSError, TypeError):
            return
        if mode & 0o077 and not self._warned_readable:
            self._warned_readable = True
            self.warn("%s is readable by other users; run: chmod 600 %s" % (path, path))


def validate_key(key):
    if key not in DEFAULTS:
        raise UsageError("unknown setting %r" % key, hint="Valid keys: %s" % ", ".join(KEYS))


def resolve(args, warn=None):
    return Settings(args, warn=warn)
