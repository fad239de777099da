"""The sandbox's state: one SQLite file (WAL) in the data dir, its schema, and the first-start seed
(the demo user, team, project and built-in pipelines).

One connection is shared by every thread behind a re-entrant lock; each statement commits on its
own (autocommit) and `transaction()` groups several. JSON-valued columns (meta_data, config,
stages) are stored as text and decoded by `decode()`.
"""

import contextlib
import json
import os
import sqlite3
import threading

from xether_lib.sandbox.web import utcnow

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL, password_hash TEXT NOT NULL,
  is_active INTEGER NOT NULL DEFAULT 1, is_superuser INTEGER NOT NULL DEFAULT 0,
  created_at TEXT, updated_at TEXT);
CREATE TABLE IF NOT EXISTS api_keys (
  id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, name TEXT, key_hash TEXT UNIQUE NOT NULL,
  is_active INTEGER NOT NULL DEFAULT 1, created_at TEXT, last_used_at TEXT, expires_at TEXT);
CREATE TABLE IF NOT EXISTS revoked_tokens (jti TEXT PRIMARY KEY, expires INTEGER);
CREATE TABLE IF NOT EXISTS teams (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, description TEXT, owner_id INTEGER,
  created_at TEXT, updated_at TEXT);
CREATE TABLE IF NOT EXISTS team_members (
  team_id INTEGER NOT NULL, user_id INTEGER NOT NULL, role TEXT NOT NULL DEFAULT 'member',
  PRIMARY KEY (team_id, user_id));
CREATE TABLE IF NOT EXISTS projects (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, description TEXT, team_id INTEGER NOT NULL,
  created_at TEXT, updated_at TEXT);
CREATE TABLE IF NOT EXISTS datasets (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, description TEXT, project_id INTEGER NOT NULL,
  storage_path TEXT NOT NULL, meta_data TEXT, created_at TEXT, updated_at TEXT);
CREATE TABLE IF NOT EXISTS dataset_versions (
  id INTEGER PRIMARY KEY, dataset_id INTEGER NOT NULL, version TEXT NOT NULL,
  storage_path TEXT NOT NULL, meta_data TEXT, created_at TEXT);
CREATE TABLE IF NOT EXISTS artifacts (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, bucket TEXT NOT NULL, key TEXT NOT NULL,
  size INTEGER, content_type TEXT, checksum_sha256 TEXT, version_id TEXT,
  pipeline_id INTEGER, execution_id INTEGER, project_id INTEGER, status TEXT NOT NULL,
  upload_id TEXT, created_at TEXT, updated_at TEXT);
CREATE TABLE IF NOT EXISTS pipelines (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, description TEXT, project_id INTEGER NOT NULL,
  config TEXT, is_active INTEGER NOT NULL DEFAULT 1, created_at TEXT, updated_at TEXT);
CREATE TABLE IF NOT EXISTS executions (
  id INTEGER PRIMARY KEY, pipeline_id INTEGER NOT NULL, status TEXT NOT NULL,
  meta_data TEXT, stages TEXT, started_at TEXT, completed_at TEXT, error_message TEXT,
  created_at TEXT);
CREATE TABLE IF NOT EXISTS execution_logs (
  execution_id INTEGER NOT NULL, seq INTEGER NOT NULL, timestamp TEXT, level TEXT,
  stage TEXT, message TEXT, PRIMARY KEY (execution_id, seq));
CREATE INDEX IF NOT EXISTS datasets_project ON datasets (project_id);
CREATE INDEX IF NOT EXISTS executions_pipeline ON executions (pipeline_id);
"""

JSON_COLUMNS = ("meta_data", "config", "stages")
BOOL_COLUMNS = ("is_active", "is_superuser")


class Database(object):
    def __init__(self, path):
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                     timeout=30)
        self._conn.row_factory = sqlite3.Row
        self.lock = threading.RLock()
        with self.lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(SCHEMA)

    def run(self, sql, args=()):
        with self.lock:
            return self._conn.execute(sql, args)

    def all(self, sql, args=()):
        with self.lock:
            return [dict(r) for r in self._conn.execute(sql, args).fetchall()]

    def one(self, sql, args=()):
        rows = self.all(sql, args)
        return rows[0] if rows else None

    def insert(self, table, **fields):
        cols = sorted(fields)
        sql = "INSERT INTO %s (%s) VALUES (%s)" % (table, ", ".join(cols),
                                                    ", ".join("?" * len(cols)))
        return self.run(sql, [_encode(fields[c]) for c in cols]).lastrowid

    def update(self, table, row_id, **fields):
        cols = sorted(fields)
        sql = "UPDATE %s SET %s WHERE id = ?" % (table, ", ".join("%s = ?" % c for c in cols))
        return self.run(sql, [_encode(fields[c]) for c in cols] + [row_id]).rowcount

    @contextlib.contextmanager
    def transaction(self):
        with self.lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self):
        with self.lock:
            self._conn.close()


def _encode(value):
    return json.dumps(value) if isinstance(value, (dict, list)) else value


def decode(row, drop=()):
    """A row as the API shows it: JSON columns parsed, flags as booleans, `drop` removed."""
    if row is None:
        return None
    out = {}
    for key, value in row.items():
        if key in drop:
            continue
        if key in JSON_COLUMNS and isinstance(value, str):
            value = json.loads(value)
        elif key in BOOL_COLUMNS and value is not None:
            value = bool(value)
        out[key] = value
    return out


def open_database(data_dir):
    os.makedirs(data_dir, exist_ok=True)
    return Database(os.path.join(data_dir, "sandbox.db"))


DEMO_EMAIL = "demo@xether.local"
DEMO_PASSWORD = "xether-demo"


def seed(db, password_hash, pipelines):
    """First start: the demo user, team and project; every start: missing built-in pipelines."""
    now = utcnow()
    with db.transaction():
        user = db.one("SELECT id FROM users WHERE email = ?", (DEMO_EMAIL,))
        if user is None and not db.one("SELECT id FROM users"):
            uid = db.insert("users", email=DEMO_EMAIL, password_hash=password_hash(DEMO_PASSWORD),
                            is_active=1, is_superuser=0, created_at=now, updated_at=now)
            tid = db.insert("teams", name="demo", description="The sandbox's demo team",
                            owner_id=uid, created_at=now, updated_at=now)
            db.insert("team_members", team_id=tid, user_id=uid, role="owner")
            db.insert("projects", name="demo", description="The sandbox's demo project",
                      team_id=tid, created_at=now, updated_at=now)
        project = db.one("SELECT p.id FROM projects p JOIN teams t ON t.id = p.team_id "
                         "WHERE p.name = 'demo' AND t.name = 'demo' ORDER BY p.id")
        if project is None:
            return
        for name, description, config in pipelines:
            if not db.one("SELECT id FROM pipelines WHERE project_id = ? AND name = ?",
                          (project["id"], name)):
                db.insert("pipelines", name=name, description=description,
                          project_id=project["id"], config=config, is_active=1,
                          created_at=now, updated_at=now)


def recover(db):
    """Runs cut short by a stop: they can never finish, so they fail, saying why."""
    db.run("UPDATE executions SET status = 'failed', completed_at = ?, error_message = ? "
           "WHERE status IN ('pending', 'running')",
           (utcnow(), "The sandbox restarted while this run was in progress"))
