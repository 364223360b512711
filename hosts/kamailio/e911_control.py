"""What an operator does through `kamcmd`: ask every SIP worker to reload the bundle, and
read the active revision, whether it is signed, and the counters.

Kamailio 5.6 lets a module, not a script, define RPC commands, so these go through the
`htable.*` RPCs on the tables the workers already keep:

    kamcmd htable.seti e911state reload $(date +%s)   # any value unlike the last one
    kamcmd htable.dump e911state     # revision, signature, each worker's, last refusal
    kamcmd htable.dump e911stats     # counters: calls decided, emergency, fail-safe, ...

Each worker has its own engine, and only it can reload it: before deciding its next
call, a worker that sees a `reload` value it has not acted on reads the bundle file again
(even when the file watch saw no change) and records what it now runs as
`worker.<pid>`. A bundle that does not load is refused as on any reload: the last good
one stays, `refused` says why, `e911.bundle.refused` counts it.
"""

from __future__ import annotations

import os
from typing import Any

RELOAD = "reload"
REFUSED_COUNTER = "e911.bundle.refused"


def reload_request(ksr: Any, table: str) -> Any:
    """The operator's latest reload request (None before the first)."""
    return ksr.htable.sht_get(table, RELOAD)


def worker_key() -> str:
    return f"worker.{os.getpid()}"


def worker_line(revision: str, request: Any) -> str:
    """What `worker.<pid>` says: the revision this worker decides with, and the last
    reload request it acted on."""
    acted = "none" if request is None else str(request)
    return f"{revision or 'none'} (reload request {acted})"


def count_refusal(ksr: Any, settings: Any, line: str) -> None:
    """Counts a refused bundle once, though every worker refuses it: only the worker that
    writes a new `refused` line counts it."""
    if ksr.htable.sht_get(settings.state_table, "refused") != line:
        ksr.htable.sht_inc(settings.stats_table, REFUSED_COUNTER)
