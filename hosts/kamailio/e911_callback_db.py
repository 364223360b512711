"""ELIN callback entries that survive a Kamailio restart: an SQLite copy of the `e911cb`
htable, in `state_dir/callbacks.sqlite`.

Each entry is written here when the glue stores it, in the same lock (write-through), so
a crash loses nothing a PSAP may call back to; at startup, before the fork, the glue puts
the entries whose time has not run out back into the htable with what is left of their
expiry. Not htable's own `dbtable`: Kamailio does not start when htable cannot open its
database, and a callback store must never keep the proxy, and so emergency calls, from
starting. Here a database that cannot be used is one log line, and the entries live in
memory only.
"""

from __future__ import annotations

import os
import sqlite3
import time
from typing import Optional

FILE_NAME = "callbacks.sqlite"
# How long a worker waits for another's write before giving up on its own.
BUSY_SECONDS = 1.0
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS callbacks ("
    "elin TEXT PRIMARY KEY NOT NULL, "
    "entry TEXT NOT NULL, "
    # Absolute Unix time after which the entry is gone (its window plus the grace).
    "expires INTEGER NOT NULL)"
)


class CallbackDbError(Exception):
    """The database cannot be used: the message names the file and the problem."""


def path_in(state_dir: str) -> str:
    return os.path.join(state_dir, FILE_NAME)


def restore(path: str) -> list[tuple[str, str, int]]:
    """Creates the file and its table if missing, drops expired entries and returns the
    others as (ELIN, entry, seconds left). Runs once, in Kamailio's main process."""
    now = int(time.time())
    try:
        os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
        db = sqlite3.connect(path, timeout=BUSY_SECONDS)
        try:
            with db:
                # WAL with synchronous=NORMAL: a commit costs no fsync, and what was
                # committed survives a crash of the process (only a power cut may lose
                # the last entries).
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(SCHEMA)
                db.execute("DELETE FROM callbacks WHERE expires <= ?", (now,))
            rows = db.execute("SELECT elin, entry, expires FROM callbacks").fetchall()
        finally:
            db.close()
    except (OSError, sqlite3.Error) as err:
        raise CallbackDbError(f"{path}: callback database not usable ({err})") from None
    return [(elin, entry, expires - now) for elin, entry, expires in rows]


class CallbackDb:
    """One worker's connection, opened on its first write (after the fork)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.db: Optional[sqlite3.Connection] = None

    def save(self, elin: str, entry: str, expires: int) -> str:
        """Writes the entry of `elin`; returns "" when written, else why not."""
        try:
            if self.db is None:
                self.db = sqlite3.connect(self.path, timeout=BUSY_SECONDS)
                self.db.execute("PRAGMA synchronous=NORMAL")
            with self.db:
                self.db.execute(
                    "INSERT OR REPLACE INTO callbacks (elin, entry, expires) VALUES (?, ?, ?)",
                    (elin, entry, expires),
                )
        except sqlite3.Error as err:
            self.db = None
            return f"{self.path}: {err}"
        return ""
