"""ELIN callback entries that survive a Kamailio restart: a SQLite copy of the `e911cb`
htable, which htable loads at startup (kamailio.cfg: `dbtable`, `db_expires`).

Each entry is written here when the glue stores it, in the same lock (write-through),
so a crash loses nothing a PSAP may call back to; htable's own `dbmode=1` writes only on
a clean stop. The rows have htable's layout: `key_name`, `key_type` (0: a plain key),
`value_type` (0: a string), `key_value`, `expires` (absolute Unix time, read back with
`db_expires`), so htable gives each entry back its own expiry and drops expired ones.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from typing import Optional

SCHEME = "sqlite://"
# A table name goes into SQL text (SQLite cannot bind identifiers): letters, digits, _.
TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# How long a worker waits for another's write before giving up on its own.
BUSY_SECONDS = 1.0


class CallbackDbError(Exception):
    """The database cannot be used: the message names the file and the problem."""


def path_of(url: str) -> Optional[str]:
    """The file of a `sqlite:///path` URL (db_sqlite's form); None for another database,
    whose table the operator creates."""
    if not url.startswith(SCHEME):
        return None
    return url[len(SCHEME) :]


def _checked(table: str) -> str:
    if not TABLE_NAME.match(table):
        raise CallbackDbError(f"callback table name {table!r} is not a plain SQL name")
    return table


def prepare(path: str, table: str) -> None:
    """Creates the folder, the file and htable's table if missing, and removes expired
    rows. Runs once, in Kamailio's main process, before htable loads the table."""
    table = _checked(table)
    try:
        os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
        with sqlite3.connect(path, timeout=BUSY_SECONDS) as db:
            # WAL: a worker's write does not block htable's reader, and a commit is
            # durable once written (synchronous=NORMAL: no fsync per call; a process
            # crash loses nothing, only a power cut may lose the last entries).
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {table} ("
                "id INTEGER PRIMARY KEY NOT NULL, "
                "key_name TEXT DEFAULT '' NOT NULL, "
                "key_type INTEGER DEFAULT 0 NOT NULL, "
                "value_type INTEGER DEFAULT 0 NOT NULL, "
                "key_value TEXT DEFAULT '' NOT NULL, "
                "expires INTEGER DEFAULT 0 NOT NULL)"
            )
            db.execute(f"CREATE INDEX IF NOT EXISTS {table}_key_name ON {table} (key_name)")
            db.execute(
                f"DELETE FROM {table} WHERE expires > 0 AND expires < ?", (int(time.time()),)
            )
        db.close()
    except (OSError, sqlite3.Error) as err:
        raise CallbackDbError(f"{path}: callback database not usable ({err})") from None


class CallbackDb:
    """One worker's connection, opened on its first write (after the fork)."""

    def __init__(self, path: str, table: str) -> None:
        self.path = path
        self.table = _checked(table)
        self.db: Optional[sqlite3.Connection] = None

    def save(self, key: str, value: str, expires: int) -> str:
        """Replaces the row of `key`; returns "" when written, else why not."""
        try:
            if self.db is None:
                self.db = sqlite3.connect(self.path, timeout=BUSY_SECONDS)
                self.db.execute("PRAGMA synchronous=NORMAL")
            with self.db:
                self.db.execute(f"DELETE FROM {self.table} WHERE key_name = ?", (key,))
                self.db.execute(
                    f"INSERT INTO {self.table} "
                    "(key_name, key_type, value_type, key_value, expires) "
                    "VALUES (?, 0, 0, ?, ?)",
                    (key, value, expires),
                )
        except sqlite3.Error as err:
            self.db = None
            return f"{self.path}: {err}"
        return ""
