"""What the native bridge adds per INVITE: the component's `on_message` called from Python
through `e911_native`, as the Kamailio glue calls it, against the same call timed inside
Rust in the same process (`Plugin.bench_component`). Outside Kamailio, with Kamailio's
Python (/usr/bin/python3) and a dict for the callback store.

    cargo xtask build-component && cargo xtask build-kamailio
    /usr/bin/python3 hosts/kamailio/bench_invite.py BUNDLE [ROUNDS]

BUNDLE: a compiled bundle with 127.1.0.0/16 mapped to HQ and 127.2.0.0/16 to Wichita
(bench-rate.sh builds one). Per message kind, ROUNDS calls (default 5000) each way, after
a warm-up; prints median and p90 in microseconds of: the component's own time (the Rust
host's `on_message`, callback-store calls included), `on_message` from Python, and
`on_message` plus every read the glue makes of the verdict; then the bridge's cost (the
medians' differences). A measurement, not a test: nothing is asserted.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import sys
import time
from typing import Any, Callable, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BRIDGE = os.path.join(ROOT, "target", "kamailio", "e911_native.so")
COMPONENT = os.path.join(ROOT, "target", "wasm", "e911_policy.component.wasm")


def load_bridge() -> Any:
    spec = importlib.util.spec_from_file_location("e911_native", BRIDGE)
    if spec is None or spec.loader is None:
        sys.exit(f"{BRIDGE}: missing; run `cargo xtask build-kamailio`")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class MemoryHost:
    """The glue's host object with a dict for Kamailio's htable."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}

    def store_get(self, elin: str) -> Optional[dict[str, Any]]:
        return self.entries.get(elin)

    def store_put(self, elin: str, entry: dict[str, Any]) -> None:
        self.entries[elin] = entry

    def log(self, level: str, message: str) -> None:
        pass


def invite(dial: str, ip: str) -> str:
    """The INVITE tests/sipp/uac.xml sends, as `$mb` gives it: a str."""
    sdp = (
        f"v=0\r\no=- 53655765 2353687637 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\n"
        "t=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    )
    head = (
        f"INVITE sip:{dial}@contoso.com;user=phone SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {ip}:5060;branch=z9hG4bK-1-1-0\r\n"
        "Max-Forwards: 70\r\n"
        'From: "Alice Avery" <sip:+14255550101@contoso.com>;tag=1SIPpTag001\r\n'
        f"To: <sip:{dial}@contoso.com;user=phone>\r\n"
        f"Call-ID: 1-1@{ip}\r\n"
        "CSeq: 1 INVITE\r\n"
        f"Contact: <sip:alice@{ip}:5060;transport=UDP>\r\n"
        "User-Agent: SIPp e911 test caller\r\n"
        'P-Asserted-Identity: "Alice Avery" <sip:+14255550101@contoso.com>\r\n'
        "Content-Type: application/sdp\r\n"
        f"Content-Length: {len(sdp)}\r\n\r\n"
    )
    return head + sdp


def glue_reads(verdict: Any) -> None:
    """What e911_kamailio.Worker.decide reads of a verdict, the audit line included."""
    verdict.kind, verdict.metrics, verdict.notifications
    if verdict.changed:
        verdict.edits
    if verdict.route is not None:
        verdict.alternates
    if verdict.audit:
        verdict.audit_json(0, [])


def timed(rounds: int, call: Callable[[], Any]) -> list[int]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        call()
        times.append(time.perf_counter_ns() - start)
    return times


def stats(ns: list[int]) -> tuple[float, float]:
    """Median and p90, in microseconds."""
    return statistics.median(ns) / 1e3, statistics.quantiles(ns, n=10)[8] / 1e3


def main() -> None:
    bundle_path = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    bridge = load_bridge()
    cache = os.path.join(ROOT, "target", "tmp", "e911-kamailio-bench-cwasm")
    plugin = bridge.Plugin(MemoryHost(), COMPONENT, cache, 64 << 20, 300, 10_000, "info")
    with open(bundle_path, "rb") as file:
        plugin.configure(file.read(), [])
    print(f"{rounds} calls each; microseconds, median (p90)")
    print(f"  {'INVITE':26} {'size':>6}  {'component':>15}  {'on_message':>15}  {'+ glue reads':>15}  bridge adds")
    for name, dial, ip in [
        ("ordinary", "4255550199", "127.1.0.11"),
        ("911, sip-trunk (PIDF-LO)", "911", "127.1.0.10"),
        ("911, ELIN gateway", "911", "127.2.0.10"),
    ]:
        message = invite(dial, ip)
        now = int(time.time())
        decide = lambda: plugin.on_message(message, ip, "udp", now, "bench")  # noqa: E731
        timed(rounds // 5, decide)  # warm-up: caches, branch predictors, the allocator
        inside = plugin.bench_component(message, ip, "udp", now, "bench", rounds)
        outside = timed(rounds, decide)
        with_reads = timed(rounds, lambda: glue_reads(decide()))
        c, py, reads = stats(inside), stats(outside), stats(with_reads)
        cells = "  ".join(f"{m:7.1f} ({p:5.1f})" for m, p in (c, py, reads))
        print(
            f"  {name:26} {len(message):4} B  {cells}  "
            f"{py[0] - c[0]:5.1f} / {reads[0] - c[0]:5.1f}"
        )
    print("bridge adds: on_message median minus the component's / with the glue's reads")


if __name__ == "__main__":
    main()
