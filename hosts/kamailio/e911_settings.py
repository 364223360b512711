"""The Kamailio host's settings: one INI file, named by the `python_exec` call in
kamailio.cfg (see e911.ini.example for every key).

Read once per Kamailio process, on its first call; a setting that is wrong is an error
naming the file and the key, which the glue logs before relaying the call unchanged.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, field


class SettingsError(Exception):
    """A settings file that cannot be used: the message names the file and the key."""


@dataclass(frozen=True)
class Settings:
    """What `e911.ini` says."""

    path: str
    component: str
    bundle: str
    trusted_keys: list[bytes]
    rollback: str
    node: str
    cache_dir: str
    # Where the last bundle that loaded is copied, for workers that missed it.
    state_dir: str
    python_path: list[str]
    # The native bridge (`cargo xtask build-kamailio` writes target/kamailio/e911_native.so);
    # "" imports `e911_native` from python_path.
    native_module: str
    # Time for one call into the component; a call that runs over traps and the message
    # is relayed unchanged (the fail-safe route).
    call_deadline_ms: int
    configure_deadline_ms: int
    memory_limit: int
    # The lowest level of the component's log lines that reach Kamailio's log.
    plugin_log: str
    callback_table: str
    lock_table: str
    state_table: str
    # The counters (`kamcmd htable.dump e911stats`): a table whose missing keys read 0,
    # so that an increment creates them.
    stats_table: str
    notify_queue: str
    # How long a callback entry stays in the htable after its window closes: ELIN
    # selection reads `uses` and `assigned-at` of past entries (wit/policy.wit).
    callback_grace: int
    # Destination URIs ($du) by trunk id, plus "default" and "elin" (as the harness
    # proxy's --route-upstream, --upstream, --elin-upstream).
    upstreams: dict[str, str] = field(default_factory=dict)
    # Keys of the wasmtime-py glue that mean nothing now, for one warning at start.
    obsolete: list[str] = field(default_factory=list)


# Settings of the wasmtime-py glue: accepted, so an old file keeps working, but unused.
OBSOLETE = ("call_fuel", "configure_fuel", "venv")
LOG_LEVELS = ("debug", "info", "warn", "error", "off")


def _rollback(path: str, e911: configparser.SectionProxy) -> str:
    """`allow_rollback`: whether a bundle older than the running one may replace it (the
    WIT `rollback` enum: `allow` or `refuse`)."""
    try:
        return "allow" if e911.getboolean("allow_rollback", fallback=False) else "refuse"
    except ValueError:
        raise SettingsError(f"{path}: [e911] allow_rollback must be yes or no") from None


def _key(path: str, text: str) -> bytes:
    """A trusted key file as written by `e911-harness bundle keygen` (64 hex digits)."""
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise SettingsError(f"{path}: not an Ed25519 public key (64 hex digits)")
    return key


def _int(path: str, section: configparser.SectionProxy, name: str, default: int) -> int:
    raw = section.get(name, str(default)).replace("_", "")
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{path}: [e911] {name} = {raw!r} is not a number") from None
    if value < 0:
        raise SettingsError(f"{path}: [e911] {name} must not be negative")
    return value


def _parse_error(path: str, err: configparser.Error) -> str:
    """One line: file, line, problem."""
    errors = getattr(err, "errors", None)
    if isinstance(err, configparser.ParsingError) and errors:
        lineno, line = errors[0]  # the line as repr() gives it
        return f"{path}:{lineno}: cannot parse {line}"
    if isinstance(err, configparser.MissingSectionHeaderError):
        return f"{path}:{err.lineno}: a setting before the [e911] section"
    lineno = getattr(err, "lineno", None)
    problem = err.message.splitlines()[0].split("]: ", 1)[-1]
    return f"{path}:{lineno}: {problem}" if lineno else f"{path}: {problem}"


def load(path: str) -> Settings:
    """Reads and checks the settings file."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as file:
            parser.read_file(file)
    except OSError as err:
        raise SettingsError(f"{path}: cannot read ({err.strerror})") from None
    except configparser.Error as err:
        raise SettingsError(_parse_error(path, err)) from None
    if not parser.has_section("e911"):
        raise SettingsError(f"{path}: no [e911] section")
    e911 = parser["e911"]
    base = os.path.dirname(os.path.abspath(path))

    def file_setting(name: str) -> str:
        value = e911.get(name)
        if not value:
            raise SettingsError(f"{path}: [e911] {name} is missing")
        return os.path.join(base, value)

    keys = []
    for key_path in e911.get("trusted_keys", "").split():
        key_path = os.path.join(base, key_path)
        try:
            with open(key_path, encoding="ascii") as file:
                keys.append(_key(key_path, file.read()))
        except (OSError, UnicodeDecodeError) as err:
            raise SettingsError(f"{key_path}: cannot read the trusted key ({err})") from None
    python_path = [os.path.join(base, p) for p in e911.get("python_path", "").split()]
    native_module = e911.get("native_module", "")
    plugin_log = e911.get("plugin_log", "info")
    if plugin_log not in LOG_LEVELS:
        raise SettingsError(f"{path}: [e911] plugin_log must be one of {', '.join(LOG_LEVELS)}")
    upstreams = dict(parser["upstreams"]) if parser.has_section("upstreams") else {}
    return Settings(
        path=path,
        component=file_setting("component"),
        bundle=file_setting("bundle"),
        trusted_keys=keys,
        rollback=_rollback(path, e911),
        node=e911.get("node", "kamailio"),
        cache_dir=os.path.join(base, e911.get("cache_dir", "e911-cache")),
        state_dir=os.path.join(base, e911.get("state_dir", "e911-state")),
        python_path=python_path,
        native_module=os.path.join(base, native_module) if native_module else "",
        call_deadline_ms=_int(path, e911, "call_deadline_ms", 300),
        configure_deadline_ms=_int(path, e911, "configure_deadline_ms", 10_000),
        memory_limit=_int(path, e911, "memory_limit_mib", 64) << 20,
        plugin_log=plugin_log,
        callback_table=e911.get("callback_table", "e911cb"),
        lock_table=e911.get("lock_table", "e911lock"),
        state_table=e911.get("state_table", "e911state"),
        stats_table=e911.get("stats_table", "e911stats"),
        notify_queue=e911.get("notify_queue", "e911notify"),
        callback_grace=_int(path, e911, "callback_grace_seconds", 7 * 24 * 3600),
        upstreams=upstreams,
        obsolete=[key for key in OBSOLETE if key in e911],
    )
