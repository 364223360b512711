"""The E9-1-1 policy component inside Kamailio 5.6: KEMI `app_python3` glue.

kamailio.cfg loads this file (`modparam("app_python3", "load", ...)`) and calls
`python_exec("e911_invite", "<settings file>")` for initial INVITEs only (emergency calls
and PSAP callbacks to ELINs are initial INVITEs); the script passes everything else
without entering Python, because even the cheapest trip through app_python3 costs a
worker more than the component's decision (BENCHMARKS.md, "Kamailio").

The component runs in the native bridge `e911_native` (hosts/kamailio/native/, built by
`cargo xtask build-kamailio`): the wasmtime host of the harness as a Python extension.
Per call: the message buffer (`$mb`), peer (`$si`) and transport (`$pr`) go to the
component's `on-message`; the verdict's edit list is applied with Kamailio's functions
(e911_edits.py); the route's trunk picks the destination (`$du`) from `[upstreams]`; an
audit line goes to the log. The imports are Kamailio's: the callback store is the shared
memory htable `e911cb` (every worker sees it; entries expire; written through to SQLite so
they survive a restart, e911_callback_db.py), the verdict's notifications go through the
mqueue `e911notify` to a timer process that POSTs webhooks and sends SIP MESSAGEs
(`e911_notify`, e911_message.py), logs through `KSR.info` and friends.

Returns 1 when the call was decided (changed or not), -1 when the plugin path failed: the
script then relays the INVITE unchanged, on the emergency route when it dials an
emergency number (route E911_FAILSAFE). Nothing here answers or drops a call. Where the
call goes if its trunk fails is left in AVPs for the script's failure route; the bundle's
emergency numbers are left in the `e911state` htable for what the script recognises by
itself. Each SIP worker makes its engine in `child_init`, before its first call.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import time
import urllib.request
from typing import Any, Optional

import KSR  # provided by app_python3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import e911_callback_db  # noqa: E402
import e911_control  # noqa: E402
import e911_edits  # noqa: E402
import e911_message  # noqa: E402
import e911_settings  # noqa: E402

NATIVE_MODULE = "e911_native"

# The callback store's selection lock: ELIN choice reads and writes the store, and two
# workers deciding two calls from one site at once must not hand out the same ELIN.
LOCK_KEY = "elins"


class KamailioHost:
    """The component's imports done with Kamailio facilities."""

    def __init__(self, settings: e911_settings.Settings) -> None:
        self.settings = settings
        self.locked = False
        self.callback_db = e911_callback_db.CallbackDb(
            e911_callback_db.path_in(settings.state_dir)
        )

    def _lock(self) -> None:
        if not self.locked:
            KSR.htable.sht_lock(self.settings.lock_table, LOCK_KEY)
            self.locked = True

    def unlock(self) -> None:
        if self.locked:
            KSR.htable.sht_unlock(self.settings.lock_table, LOCK_KEY)
            self.locked = False

    def store_get(self, elin: str) -> Optional[dict[str, Any]]:
        self._lock()
        raw = KSR.htable.sht_get(self.settings.callback_table, elin)
        if not isinstance(raw, str) or not raw:
            return None
        try:
            entry = json.loads(raw)
        except ValueError:
            KSR.warn(f"e911: callback entry for {elin} is not JSON; ignored\n")
            return None
        return entry if isinstance(entry, dict) else None

    def store_put(self, elin: str, entry: dict[str, Any]) -> None:
        self._lock()
        now = int(time.time())
        left = max(int(entry.get("expires-at") or 0) - now, 0)
        value = json.dumps(entry, separators=(",", ":"))
        KSR.htable.sht_setxs(
            self.settings.callback_table, elin, value, left + self.settings.callback_grace
        )
        problem = self.callback_db.save(elin, value, now + left + self.settings.callback_grace)
        if problem:
            KSR.err(f"e911: callback for {elin} kept in memory only: {problem}\n")

    def notify(self, notification: dict[str, Any]) -> None:
        # Queued for the timer process: the call never waits for a webhook or a MESSAGE.
        if not notification.get("webhook") and not notification.get("sip"):
            return
        payload = json.dumps(notification_item(notification, self.settings.node))
        if KSR.mqueue.mq_add(self.settings.notify_queue, notification["target"], payload) < 0:
            KSR.warn(f"e911: notification for {notification['target']} dropped: queue full\n")

    def log(self, level: str, message: str) -> None:
        line = f"e911: {message}\n"
        {"debug": KSR.dbg, "info": KSR.info, "warn": KSR.warn}.get(level, KSR.err)(line)


def import_bridge(settings: e911_settings.Settings) -> Any:
    """The native bridge: the file `native_module` names, else `e911_native` from
    `python_path`. Imported in the worker, after the fork, like everything wasmtime."""
    if not settings.native_module:
        return importlib.import_module(NATIVE_MODULE)
    if NATIVE_MODULE in sys.modules:
        return sys.modules[NATIVE_MODULE]
    spec = importlib.util.spec_from_file_location(NATIVE_MODULE, settings.native_module)
    if spec is None or spec.loader is None:
        raise ImportError(f"{settings.native_module}: not a Python extension module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[NATIVE_MODULE] = module
    return module


class Worker:
    """One Kamailio process's component, bundle and settings (created after the fork)."""

    def __init__(self, settings_path: str) -> None:
        self.settings = e911_settings.load(settings_path)
        for path in reversed(self.settings.python_path):
            if path not in sys.path:
                sys.path.insert(0, path)
        if self.settings.obsolete:
            unused = ", ".join(self.settings.obsolete)
            KSR.warn(f"e911: {self.settings.path}: {unused} no longer used (see e911.ini.example)\n")
        self.component = import_bridge(self.settings)
        self.host = KamailioHost(self.settings)
        self.plugin = self.component.Plugin(
            self.host,
            self.settings.component,
            self.settings.cache_dir,
            self.settings.memory_limit,
            self.settings.call_deadline_ms,
            self.settings.configure_deadline_ms,
            self.settings.plugin_log,
        )
        if self.plugin.cache_refused:
            KSR.warn(f"e911: compiled cache not used, compiling in memory: {self.plugin.cache_refused}\n")
        self.seen: Optional[tuple[int, int, int]] = None
        self.failsafe = defined("E911_FAILSAFE_UPSTREAM")
        self.digest = ""
        self.last_good = os.path.join(self.settings.state_dir, "last-good.bundle")
        # A reload requested before this worker started is done by the load below.
        self.reload_seen = e911_control.reload_request(KSR, self.settings.state_table)
        self.published = ""
        self.reload()
        self.publish()

    def reload(self) -> None:
        """Loads the bundle file if it changed since the last look (a file watch checked
        before each decision: a reload takes effect on every worker's next call)."""
        path = self.settings.bundle
        try:
            st = os.stat(path)
            seen = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            seen = (0, 0, 0)
        if seen == self.seen:
            return
        self.seen = seen
        try:
            with open(path, "rb") as file:
                bundle = file.read()
        except OSError as err:
            self._refused(f"{path}: cannot read ({err.strerror})")
            return
        try:
            info = self.plugin.configure(
                bundle, self.settings.trusted_keys, self.settings.rollback
            )
        except (self.component.BundleRefused, self.component.PluginTrap) as err:
            self._refused(f"{path}: bundle refused ({err})")
            return
        self._active(info, bundle)

    def _active(self, info: dict[str, Any], bundle: bytes) -> None:
        """Publishes a bundle this worker loaded: its revision and digest in the state
        htable, its bytes as the last good copy for workers that missed it."""
        self.digest = info["digest"]
        state = self.settings.state_table
        if KSR.htable.sht_get(state, "digest") != self.digest:
            try:
                os.makedirs(self.settings.state_dir, exist_ok=True)
                tmp = f"{self.last_good}.{os.getpid()}"
                with open(tmp, "wb") as out:
                    out.write(bundle)
                os.replace(tmp, self.last_good)
            except OSError as err:
                KSR.warn(f"e911: {self.last_good}: last good bundle not kept ({err.strerror})\n")
            KSR.htable.sht_sets(state, "revision", info["revision"])
            signer = info.get("signer-key-id")
            signature = f"signed by {signer}" if signer else "unsigned"
            KSR.htable.sht_sets(state, "signature", signature)
            KSR.htable.sht_sets(state, "digest", self.digest)
            # What kamailio.cfg recognises by itself (Max-Forwards, the fail-safe route):
            # this bundle's numbers, not a hard-coded list.
            pattern = numbers_pattern(info)
            if pattern:
                KSR.htable.sht_sets(state, "numbers", pattern)
            else:  # an empty pattern would match every number
                KSR.htable.sht_rm(state, "numbers")
        KSR.info(f"e911: {self.settings.bundle}: bundle {info['revision']} active (pid {os.getpid()})\n")

    def _refused(self, why: str) -> None:
        """Keeps the last good bundle: this worker's own, or, when another worker loaded
        a newer good one this worker never saw, that one (kept in `last_good`)."""
        shared = KSR.htable.sht_get(self.settings.state_table, "digest")
        if isinstance(shared, str) and shared and shared != self.digest:
            try:
                with open(self.last_good, "rb") as file:
                    bundle = file.read()
                info = self.plugin.configure(
                bundle, self.settings.trusted_keys, self.settings.rollback
            )
                if info["digest"] == shared:
                    self.digest = shared
            except (OSError, self.component.BundleRefused, self.component.PluginTrap) as err:
                KSR.err(f"e911: {self.last_good}: last good bundle not loaded ({err})\n")
        active = self.plugin.revision or "none"
        line = f"{why}; active revision {active} stays"
        e911_control.count_refusal(KSR, self.settings, line)
        KSR.htable.sht_sets(self.settings.state_table, "refused", line)
        KSR.err(f"e911: {line}\n")

    def reload_on_request(self) -> None:
        """An operator's `kamcmd htable.seti e911state reload N` (e911_control.py): the
        bundle file is read again on this call, changed or not."""
        request = e911_control.reload_request(KSR, self.settings.state_table)
        if request is not None and request != self.reload_seen:
            self.reload_seen = request
            self.seen = None
            KSR.info(f"e911: reload requested ({request}): reading {self.settings.bundle}\n")

    def publish(self) -> None:
        """`worker.<pid>` in the state table: what this worker runs, for the operator."""
        line = e911_control.worker_line(self.plugin.revision, self.reload_seen)
        if line != self.published:
            KSR.htable.sht_sets(self.settings.state_table, e911_control.worker_key(), line)
            self.published = line

    def decide(self) -> int:
        """Decides the current message and applies the verdict."""
        self.reload_on_request()
        self.reload()
        self.publish()
        if not self.plugin.revision:
            raise RuntimeError("no policy bundle is active")
        message = KSR.pv.get("$mb")
        if not isinstance(message, str):
            raise RuntimeError("the message buffer is unreadable")
        try:
            # The str as it is: the bridge reads its UTF-8 without a copy.
            verdict = self.plugin.on_message(
                message,
                KSR.pv.get("$si"),
                str(KSR.pv.get("$pr") or "udp").lower(),
                int(time.time()),
                self.settings.node,
            )
        finally:
            self.host.unlock()
        KSR.pv.sets("$avp(e911_kind)", verdict.kind)
        for metric in verdict.metrics:
            KSR.htable.sht_inc(self.settings.stats_table, metric)
        for notification in verdict.notifications:
            self.host.notify(notification)
        # Not `changed`: an ordinary call, or an emergency call whose route changes
        # nothing (a local gateway), which still goes to its route and is audited.
        problems = e911_edits.apply(KSR, verdict.edits) if verdict.changed else []
        route = verdict.route
        upstream = None if route is None else self._upstream(route)
        if upstream:
            KSR.setdsturi(upstream)
            self._failover(verdict, route, upstream)
        if problems:
            KSR.err(f"e911: {verdict.call_id}: edits not applied: {'; '.join(problems)}\n")
        if verdict.audit:
            KSR.info(f"e911 audit {verdict.audit_json(os.getpid(), problems)}\n")
        return 1

    def _failover(self, verdict: Any, route: dict[str, Any], first: str) -> None:
        """Lists where the call goes if its trunk fails, for kamailio.cfg's failure route:
        the verdict's alternates (the route's further trunks, then the ECRC route's), then
        the fail-safe upstream, each as `$avp(e911_du)`, `$avp(e911_ru)`,
        `$avp(e911_trunk)`, and its route's id and kind (`$avp(e911_leg_route)`,
        `$avp(e911_leg_kind)`: a 424 Bad Location Information jumps to the first `ecrc`
        one). An AVP added last is read first, so they go in backwards. Kamailio resends
        the request it holds, with this call's edits (the same PIDF-LO); only the
        destination and the Request-URI change."""
        tries = [(first, route["target"], route["trunk"], route["id"], route["kind"])]
        for trunk, target, route_id, kind in verdict.alternates:
            upstream = self.settings.upstreams.get(trunk)
            if upstream is None:
                KSR.warn(f"e911: no [upstreams] entry for trunk {trunk}: not a failover\n")
                continue
            tries.append((upstream, target, trunk, route_id, kind))
        failsafe = self.failsafe
        if verdict.kind == "emergency" and failsafe and all(t[0] != failsafe for t in tries):
            tries.append((failsafe, route["target"], "fail-safe", "fail-safe", "fail-safe"))
        KSR.pv.sets("$avp(e911_trunk_now)", route["trunk"])
        KSR.pv.sets("$avp(e911_kind_now)", route["kind"])
        for upstream, target, trunk, route_id, kind in reversed(tries[1:]):
            KSR.pv.sets("$avp(e911_du)", upstream)
            KSR.pv.sets("$avp(e911_ru)", target)
            KSR.pv.sets("$avp(e911_trunk)", trunk)
            KSR.pv.sets("$avp(e911_leg_route)", route_id)
            KSR.pv.sets("$avp(e911_leg_kind)", kind)

    def _upstream(self, route: dict[str, Any]) -> Optional[str]:
        """`$du` for a decided route: its trunk's, else `elin` for an ELIN gateway, else
        `default`; None leaves the destination to kamailio.cfg."""
        upstreams = self.settings.upstreams
        if route["trunk"] in upstreams:
            return upstreams[route["trunk"]]
        if route["kind"] == "elin-gateway" and "elin" in upstreams:
            return upstreams["elin"]
        return upstreams.get("default")


def defined(name: str) -> str:
    """A `#!define` of kamailio.cfg (or `kamailio -A`), without its quotes; "" if unset."""
    value = KSR.pv.get(f"$def({name})")
    return value.strip('"') if isinstance(value, str) else ""


def numbers_pattern(info: dict[str, Any]) -> str:
    """A POSIX extended regex for `$rU` matching the bundle's emergency numbers, with or
    without a leading `+` and an outside-line prefix, as the engine compares them
    (e911-policy's classify). Empty when the bundle has none: kamailio.cfg then keeps
    E911_NUMBERS_BEFORE_BUNDLE."""

    def alternatives(items: list[str]) -> str:
        return "|".join(ere_escape(item.lstrip("+")) for item in items)

    numbers = info.get("emergency-numbers") or []
    if not numbers:
        return ""
    prefixes = info.get("outside-line-prefixes") or []
    prefix = f"({alternatives(prefixes)})?" if prefixes else ""
    return f"^\\+?{prefix}\\+?({alternatives(numbers)})$"


def ere_escape(text: str) -> str:
    """`text` as a literal in a POSIX extended regex."""
    return "".join(f"\\{c}" if c in ".[]()*+?{}|^$\\" else c for c in text)


def notification_item(notification: dict[str, Any], node: str) -> dict[str, Any]:
    """What the notify queue carries for one notification: where it goes and what it says."""
    return {
        "target": notification.get("target", ""),
        "webhook": notification.get("webhook"),
        "json": notification.get("json", ""),
        "sip": notification.get("sip"),
        "text": notification.get("text", ""),
        "from": e911_message.sender(node),
    }


def send_message(item: dict[str, Any]) -> None:
    """The SIP MESSAGE of a queued notification, if it names a desk's SIP URI."""
    uri = item.get("sip")
    if not uri:
        return
    try:
        caller = e911_message.caller_uri(item.get("json", ""))
        problem = e911_message.send(KSR, uri, item.get("text", ""), item.get("from", ""), caller)
    except Exception as err:  # a KSR call that failed: the webhook still goes
        problem = f"{uri}: {type(err).__name__}: {err}"
    if problem:
        KSR.warn(f"e911: notification {item.get('target', '')} not sent: {problem}\n")
    else:
        KSR.info(f"e911: notification {item.get('target', '')} sent to {uri}\n")


_worker: Optional[Worker] = None


class Handler:
    """The object app_python3 calls: `python_exec(NAME, PARAM)` → `NAME(msg, PARAM)`."""

    def child_init(self, rank: int) -> int:
        """Each SIP worker (rank > 0) makes its engine now, so no call waits for the
        component to load; the timer and control processes never decide calls. If it
        fails here, the first call tries again (and, failing, takes the fail-safe route)."""
        global _worker
        settings = defined("E911_SETTINGS")
        if rank > 0 and settings and _worker is None:
            try:
                _worker = Worker(settings)
            except Exception as err:
                KSR.err(f"e911: worker {rank}: engine not ready: {type(err).__name__}: {err}\n")
        return 0

    def e911_invite(self, msg: Any, settings_path: str) -> int:
        global _worker
        try:
            if _worker is None:
                _worker = Worker(settings_path)
            return _worker.decide()
        except Exception as err:  # the call goes on unchanged: see E911_FAILSAFE
            call_id = KSR.pv.get("$ci")
            KSR.err(f"e911: {call_id}: plugin path failed, relaying unchanged: {type(err).__name__}: {err}\n")
            return -1

    def e911_audit_failover(self, msg: Any, next_trunk: str) -> int:
        """Logs one failover audit event (route E911_AUDIT_FAILOVER, in the failure route
        that tm runs for the trunk's answer)."""
        call_id = KSR.pv.get("$ci")
        try:
            event = failover_event(
                call_id,
                KSR.pv.get("$var(e911_from)"),
                KSR.pv.get("$var(e911_why)"),
                next_trunk,
                KSR.pv.get("$T_rpl($hdr(Geolocation-Error))"),
            )
            KSR.info(f"e911 audit {json.dumps(event)}\n")
        except Exception as err:  # the call goes on: only the audit line is lost
            KSR.err(f"e911: {call_id}: failover audit not written: {type(err).__name__}: {err}\n")
        return 1

    def e911_notify(self, msg: Any, payload: str) -> int:
        """Sends one queued notification (runs in the rtimer process, off the call path):
        the MESSAGE first, since tm sends it without waiting, then the webhook."""
        try:
            item = json.loads(payload)
        except ValueError as err:
            KSR.warn(f"e911: notification not delivered: unreadable queue entry: {err}\n")
            return 1
        send_message(item)
        if not item.get("webhook"):
            return 1
        try:
            request = urllib.request.Request(
                item["webhook"],
                data=item["json"].encode("utf-8"),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=3) as response:
                response.read()
        except Exception as err:
            KSR.warn(f"e911: notification not delivered: {type(err).__name__}: {err}\n")
        return 1


def failover_event(call_id: str, trunk: Any, why: Any, next_trunk: str,
                   geolocation_error: Any) -> dict[str, Any]:
    """The audit event of one failover, with the words and fields of the harness proxy's
    (hosts/sip-proxy/src/net.rs). `next_trunk` is empty when no trunk is left."""
    event: dict[str, Any] = {
        "event": "failover",
        "call_id": call_id,
        "trunk": trunk,
        "why": why,
        "next": next_trunk or None,
    }
    if isinstance(geolocation_error, str) and geolocation_error:
        event["geolocation_error"] = geolocation_error
    return event


def restore_callbacks() -> None:
    """Puts the callback entries kept in SQLite back into the htable, each with what is
    left of its expiry. Runs in the main process before the fork (app_python3 is loaded
    after htable, so the htable exists); a problem is logged and the proxy starts anyway."""
    try:
        settings = e911_settings.load(defined("E911_SETTINGS"))
    except e911_settings.SettingsError:
        return  # the first call logs the settings' problem
    path = e911_callback_db.path_in(settings.state_dir)
    try:
        entries = e911_callback_db.restore(path)
    except e911_callback_db.CallbackDbError as err:
        KSR.err(f"e911: {err}; callbacks are kept in memory only\n")
        return
    for elin, entry, left in entries:
        KSR.htable.sht_setxs(settings.callback_table, elin, entry, left)
    KSR.info(f"e911: {path}: {len(entries)} callback entries restored\n")


def mod_init() -> Handler:
    """Called once in Kamailio's main process, before the fork: no bridge here."""
    try:
        restore_callbacks()
    except Exception as err:  # an exception here would keep Kamailio from starting
        KSR.err(f"e911: callbacks not restored: {type(err).__name__}: {err}\n")
    return Handler()
