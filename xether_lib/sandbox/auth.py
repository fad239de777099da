"""Credentials of the sandbox: password hashes (scrypt), HS256 JWTs (access and refresh, with
`sub`, `type`, `exp`, `jti`) signed with a secret kept 0600 in the data dir, refresh-token
revocation, API keys (stored hashed), the login rate limit, and `Auth.user(req)`: who is calling,
or the backend's 401.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time

from xether_lib.sandbox.web import HttpError, utcnow

CREDENTIALS_401 = "Could not validate credentials"
SCRYPT = (2 ** 14, 8, 1)
PBKDF2 = 200000


# ---- secrets and passwords ------------------------------------------------------------------

def load_secret(data_dir):
    """The data dir's signing secret, created (mode 0600) on first start."""
    path = os.path.join(data_dir, "secret.key")
    try:
        with open(path, "rb") as f:
            secret = f.read().strip()
        if len(secret) >= 32:
            return secret
    except FileNotFoundError:
        pass
    secret = secrets.token_hex(32).encode("ascii")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(secret)
    os.chmod(path, 0o600)
    return secret


def _derive(scheme, password, salt, cost):
    if scheme == "scrypt":
        n, r, p = cost
        return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, cost[0])


def hash_password(password, salt=None):
    """`scheme$cost$salt$hash`: scrypt, or PBKDF2-SHA256 where OpenSSL lacks scrypt."""
    salt = salt or secrets.token_bytes(16)
    scheme, cost = ("scrypt", SCRYPT) if hasattr(hashlib, "scrypt") else ("pbkdf2", (PBKDF2,))
    digest = _derive(scheme, password, salt, cost)
    return "%s$%s$%s$%s" % (scheme, ",".join(str(c) for c in cost), salt.hex(), digest.hex())


def check_password(password, stored):
    try:
        parts = stored.split("$")
        if len(parts) == 6:  # the first layout: scrypt$n$r$p$salt$hash
            parts = [parts[0], ",".join(parts[1:4])] + parts[4:]
        scheme, cost, salt, digest = parts
        got = _derive(scheme, password, bytes.fromhex(salt),
                      tuple(int(c) for c in cost.split(",")))
    except (ValueError, TypeError, AttributeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def key_hash(key):
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_api_key():
    """(key, stored hash): `xether_` and 43 url-safe characters."""
    key = "xether_" + secrets.token_urlsafe(32)
    return key, key_hash(key)


# ---- JWT ------------------------------------------------------------------------------------

def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_encode(claims, secret):
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing = ("%s.%s" % (head, body)).encode("ascii")
    return "%s.%s" % (signing.decode("ascii"), _b64(hmac.new(secret, signing, "sha256").digest()))


def jwt_decode(token, secret):
    """The claims of a well-signed, unexpired token, else None."""
    try:
        head, body, sig = token.split(".")
        signing = ("%s.%s" % (head, body)).encode("ascii")
        want = _b64(hmac.new(secret, signing, "sha256").digest())
        if not hmac.compare_digest(want, sig):
            return None
        if json.loads(_unb64(head).decode("utf-8")).get("alg") != "HS256":
            return None
        claims = json.loads(_unb64(body).decode("utf-8"))
    except (ValueError, UnicodeError, AttributeError):
        return None
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), (int, float)):
        return None
    return claims if claims["exp"] > time.time() else None


# ---- rate limit -----------------------------------------------------------------------------

class LoginLimiter(object):
    """At most `limit` attempts per client address in any 60 seconds (a sliding window)."""

    WINDOW = 60.0

    def __init__(self, limit):
        self.limit = limit
        self._lock = threading.Lock()
        self._attempts = {}   # client -> times of its attempts in the last minute, oldest first

    def hit(self, client):
        """None when allowed, else the whole seconds until an attempt is allowed again."""
        now = time.time()
        with self._lock:
            recent = [t for t in self._attempts.get(client, ()) if t > now - self.WINDOW]
            if len(recent) < self.limit:
                recent.append(now)
                self._attempts[client] = recent
                return None
            self._attempts[client] = recent
        return max(1, int(recent[0] + self.WINDOW - now + 0.999))


# ---- the authority --------------------------------------------------------------------------

class Auth(object):
    def __init__(self, db, secret, access_ttl, refresh_ttl, login_limit):
        self.db = db
        self.secret = secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.limiter = LoginLimiter(login_limit)

    def issue(self, user_id):
        now = int(time.time())
        pair = {}
        for kind, ttl in (("access", self.access_ttl), ("refresh", self.refresh_ttl)):
            claims = {"sub": str(user_id), "type": kind, "iat": now, "exp": now + int(ttl),
                      "jti": secrets.token_hex(16)}
            pair[kind + "_token"] = jwt_encode(claims, self.secret)
        pair["token_type"] = "bearer"
        return pair

    def claims(self, token, kind):
        claims = jwt_decode(token or "", self.secret)
        if claims is None or claims.get("type") != kind:
            return None
        return claims

    def revoked(self, claims):
        return self.db.one("SELECT jti FROM revoked_tokens WHERE jti = ?",
                           (str(claims.get("jti")),)) is not None

    def revoke(self, claims):
        self.db.run("INSERT OR IGNORE INTO revoked_tokens (jti, expires) VALUES (?, ?)",
                    (str(claims.get("jti")), int(claims["exp"])))

    def user(self, req):
        """The active user behind the request's X-API-Key (checked first) or bearer token."""
        key = req.headers.get("X-API-Key")
        user = self._by_key(key) if key is not None else self._by_bearer(req)
        if user is None:
            raise HttpError(401, CREDENTIALS_401, {"WWW-Authenticate": "Bearer"})
        if not user["is_active"]:
            raise HttpError(400, "Inactive user")
        return user

    def _by_bearer(self, req):
        scheme, _, token = req.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        claims = self.claims(token.strip(), "access")
        if claims is None:
            return None
        return self.db.one("SELECT * FROM users WHERE id = ?", (str(claims.get("sub")),))

    def _by_key(self, key):
        digest = key_hash(key)
        row = self.db.one("SELECT * FROM api_keys WHERE key_hash = ?", (digest,))
        if row is None or not hmac.compare_digest(row["key_hash"], digest):
            return None
        now = utcnow()
        if not row["is_active"] or (row["expires_at"] and row["expires_at"] <= now):
            return None
        self.db.run("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (now, row["id"]))
        return self.db.one("SELECT * FROM users WHERE id = ?", (row["user_id"],))
