"""The policy component (wit/policy.wit, world `policy-plugin`) under wasmtime-py.

One `Plugin` per Kamailio process, created after the fork: a wasmtime engine or store
created in the parent and used in the forked workers deadlocks them. The compiled
component is cached on disk (`cache_dir`), so only the first process after a change of
component or wasmtime version compiles it (about 1.5 s); the others load it in
milliseconds.

Each call gets a fuel budget (wasmtime's deterministic stand-in for the harness's epoch
deadline, which needs a ticker thread) and the store a memory limit. A trap (a bug, the
fuel or the memory limit) raises `PluginTrap`; the instance is dropped and the next call
instantiates a fresh one, configured again with the last bundle that loaded.

The imports are the `Host`'s: this module knows nothing of Kamailio, so the benchmark
runs it outside Kamailio too.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import ipaddress
import os
import stat
import tempfile
from typing import Any, Optional, Protocol

import wasmtime
from wasmtime import component as wc

try:
    import e911_speedups as _speedups
except ImportError:  # used without the speed-ups (they are optional)
    _speedups = None

PACKAGE = "e911:policy"
VERSION = "0.4.0"


class Host(Protocol):
    """What the component imports, done with the host's own facilities."""

    def store_get(self, elin: str) -> Optional[dict[str, Any]]: ...

    def store_put(self, elin: str, entry: dict[str, Any]) -> None: ...

    def notify(self, notification: dict[str, Any]) -> None: ...

    def log(self, level: str, message: str) -> None: ...


class PluginTrap(Exception):
    """The component trapped; the instance is gone, the message must pass unchanged."""


class BundleRefused(Exception):
    """`configure` refused a bundle; the previous one stays active."""


ENTRY_FIELDS = ("caller", "call-id", "assigned-at", "expires-at", "uses", "policy")


def _entry_to_dict(entry: Any) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in ENTRY_FIELDS}


def _entry_from_dict(entry: dict[str, Any]) -> wc.Record:
    record = wc.Record()
    for name in ENTRY_FIELDS:
        setattr(record, name, entry.get(name))
    return record


def _record_to_dict(record: Any) -> dict[str, Any]:
    return dict(vars(record))


def _bundle_error(err: Any) -> str:
    """A `bundle-error` variant in words."""
    if isinstance(err, wc.Variant):
        if err.tag == "older-revision":
            older = err.payload
            return (
                f"older-revision: bundle revision {older.offered} is older than the running "
                f"revision {older.running}; allow_rollback = yes accepts it"
            )
        return err.tag if err.payload is None else f"{err.tag}: {err.payload}"
    return str(err)


def _wasmtime_version() -> str:
    try:
        return importlib.metadata.version("wasmtime")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def private_cache_dir(cache_dir: str) -> tuple[Optional[str], str]:
    """`cache_dir` if only this user can change what is in it, else None and why.

    A `.cwasm` file is native code that wasmtime loads without checking it, so a folder
    another user can write to would let them run code inside Kamailio. The rule is the
    harness's (hosts/component-host/src/cache.rs): a real directory (not a symlink)
    owned by us; one of ours that others can only read is tightened to 0700; one that
    others can write to is not used.
    """
    try:
        os.makedirs(cache_dir, mode=0o700, exist_ok=True)
        info = os.lstat(cache_dir)
    except OSError as err:
        return None, f"{cache_dir}: cannot use the cache folder ({err.strerror})"
    if not stat.S_ISDIR(info.st_mode):
        return None, f"{cache_dir}: the cache folder is not a directory (a symlink?)"
    if info.st_uid != os.geteuid():
        return None, f"{cache_dir}: the cache folder belongs to uid {info.st_uid}, not to us"
    if info.st_mode & 0o022:
        return None, f"{cache_dir}: others can write to the cache folder (mode {info.st_mode & 0o777:o})"
    if info.st_mode & 0o077:
        try:
            os.chmod(cache_dir, 0o700)
        except OSError as err:
            return None, f"{cache_dir}: cannot make the cache folder private ({err.strerror})"
    return cache_dir, ""


def _read_private(path: str) -> Optional[bytes]:
    """The file's bytes if it is a regular file of ours that only we can read or write.

    Checked on the opened file, not the name, so nothing can be swapped in between.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
            return None
        return file.read()


def _compile(engine: wasmtime.Engine, path: str, cache_dir: str) -> tuple[wc.Component, str]:
    """The component, from the cache when the same bytes were compiled by this wasmtime,
    and why the cache was not used (empty when it was)."""
    with open(path, "rb") as file:
        wasm = file.read()
    folder, refused = private_cache_dir(cache_dir)
    if folder is None:
        return wc.Component(engine, wasm), refused
    key = hashlib.sha256(wasm + f"|wasmtime-py {_wasmtime_version()}|fuel".encode())
    cached = os.path.join(folder, f"e911-policy-{key.hexdigest()[:32]}.cwasm")
    native = _read_private(cached)
    if native is not None:
        try:
            return wc.Component.deserialize(engine, native), ""
        except wasmtime.WasmtimeError:
            pass  # stale or damaged: compile again below and overwrite it
    component = wc.Component(engine, wasm)
    try:
        # Written aside (mkstemp makes it 0600) and renamed: another worker may be reading
        # the cache right now.
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(component.serialize())
        os.replace(tmp, cached)
    except OSError:
        pass  # no cache: every process compiles, slower but correct
    return component, ""


class Plugin:
    """One live instance of the component, with its last good bundle."""

    def __init__(
        self,
        host: Host,
        component_path: str,
        cache_dir: str,
        call_fuel: int,
        configure_fuel: int,
        memory_limit: int,
    ) -> None:
        config = wasmtime.Config()
        # Always on, so the cached artefact matches whatever budget the settings give.
        config.consume_fuel = True
        self._engine = wasmtime.Engine(config)
        self._component, self.cache_refused = _compile(self._engine, component_path, cache_dir)
        self._host = host
        self._call_fuel = call_fuel
        self._configure_fuel = configure_fuel
        self._memory_limit = memory_limit
        self._linker = self._link()
        self._bundle: Optional[tuple[bytes, list[bytes], str]] = None
        self.revision = ""
        self._instance: Optional[tuple[wasmtime.Store, Any, Any]] = None

    def _link(self) -> wc.Linker:
        host = self._host
        linker = wc.Linker(self._engine)
        with linker.root() as root:
            with root.add_instance(f"{PACKAGE}/callback-store@{VERSION}") as store:

                def get(_: Any, elin: str) -> Optional[wc.Record]:
                    entry = host.store_get(elin)
                    return None if entry is None else _entry_from_dict(entry)

                def put(_: Any, elin: str, entry: Any) -> None:
                    host.store_put(elin, _entry_to_dict(entry))

                store.add_func("get", get)
                store.add_func("put", put)
            with root.add_instance(f"{PACKAGE}/notifier@{VERSION}") as notifier:
                notifier.add_func("notify", lambda _, n: host.notify(_record_to_dict(n)))
            with root.add_instance(f"{PACKAGE}/log@{VERSION}") as log:
                log.add_func("log", lambda _, level, message: host.log(level, message))
        return linker

    def _live(self) -> tuple[wasmtime.Store, Any, Any]:
        """The instance, instantiated (and configured with the last bundle) if needed."""
        if self._instance is None:
            store = wasmtime.Store(self._engine)
            store.set_limits(memory_size=self._memory_limit)
            store.set_fuel(self._configure_fuel or 2**62)
            instance = self._linker.instantiate(store, self._component)
            configure = instance.get_func(store, "configure")
            on_message = instance.get_func(store, "on-message")
            if configure is None or on_message is None:
                raise PluginTrap(f"{PACKAGE}: the component lacks configure or on-message")
            if _speedups is not None:
                _speedups.pin_func_type(configure, store)
                _speedups.pin_func_type(on_message, store)
            self._instance = (store, configure, on_message)
            if self._bundle is not None:
                self._configure(*self._bundle)
        return self._instance

    def _configure(self, bundle: bytes, keys: list[bytes], rollback: str) -> Any:
        store, configure, _ = self._instance or self._live()
        store.set_fuel(self._configure_fuel or 2**62)
        try:
            result = configure(store, bundle, keys, rollback)
            configure.post_return(store)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as err:
            self._instance = None
            raise PluginTrap(f"configure trapped: {str(err).splitlines()[0]}") from None
        return result

    def configure(
        self, bundle: bytes, keys: list[bytes], rollback: str = "refuse"
    ) -> dict[str, Any]:
        """Loads a bundle; on refusal raises `BundleRefused` and the previous one stays.
        `rollback` is the WIT enum: `refuse` a revision older than the running one (the
        component applies `e911_policy::admit`, the rule of every host) or `allow` it."""
        self._live()
        result = self._configure(bundle, keys, rollback)
        if isinstance(result, wc.Variant):  # result<bundle-info, bundle-error>: the error
            raise BundleRefused(_bundle_error(result))
        info = _record_to_dict(result)
        info["counts"] = _record_to_dict(info["counts"])
        # Configured again on a fresh instance after a trap, which runs nothing yet.
        self._bundle = (bundle, keys, "refuse")
        self.revision = info["revision"]
        return info

    def on_message(
        self, message: bytes, peer: Optional[str], transport: str, now: int, node: str
    ) -> Any:
        """The verdict record for one SIP message (fields as in wit/policy.wit)."""
        store, _, on_message = self._live()
        ctx = wc.Record()
        ctx.peer = _ip(peer)
        ctx.transport = transport if transport in ("udp", "tcp", "tls") else "udp"
        ctx.now = now
        ctx.node = node
        store.set_fuel(self._call_fuel or 2**62)
        try:
            verdict = on_message(store, message, ctx)
            on_message.post_return(store)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as err:
            self._instance = None
            raise PluginTrap(str(err).splitlines()[0]) from None
        return verdict


def _ip(text: Optional[str]) -> Optional[wc.Variant]:
    """Kamailio's `$si` as the WIT `ip-address`."""
    if not text:
        return None
    try:
        addr = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None
    if addr.version == 4:
        return wc.Variant("ipv4", tuple(addr.packed))
    words = addr.packed
    return wc.Variant("ipv6", tuple(int.from_bytes(words[i : i + 2], "big") for i in range(0, 16, 2)))
