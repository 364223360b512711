"""Per-INVITE cost of the component through wasmtime-py, as the Kamailio glue calls it,
outside Kamailio (same Python, same Plugin class, a dictionary for the callback store).

    /usr/bin/python3 hosts/kamailio/bench_invite.py BUNDLE [ROUNDS]

BUNDLE: a compiled bundle with 127.1.0.0/16 mapped to HQ and 127.2.0.0/16 to Wichita
(bench-rate.sh builds one). Prints the median and p90 of ROUNDS calls (default 2000) per
message kind, in microseconds, for `on-message` alone and for the message's marshalling
(the list<u8> going in) measured apart; first with wasmtime-py's own list<u8> conversion,
then with e911_speedups (what the Kamailio glue installs). A measurement, not a test:
nothing is asserted.
"""

from __future__ import annotations

import ctypes
import os
import statistics
import sys
import time
from typing import Any, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import e911_settings  # noqa: E402

sys.path[:0] = e911_settings.venv_site_packages(
    os.path.join(os.environ.get("E911_TOOLS", os.path.join(ROOT, "target", "tools")), "venv")
)

import e911_component  # noqa: E402
import e911_speedups  # noqa: E402
from wasmtime import _ffi as ffi  # noqa: E402


class MemoryHost:
    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}

    def store_get(self, elin: str) -> Optional[dict[str, Any]]:
        return self.entries.get(elin)

    def store_put(self, elin: str, entry: dict[str, Any]) -> None:
        self.entries[elin] = entry

    def notify(self, notification: dict[str, Any]) -> None:
        pass

    def log(self, level: str, message: str) -> None:
        pass


def invite(dial: str, ip: str) -> bytes:
    """The INVITE tests/sipp/uac.xml sends."""
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
    return (head + sdp).encode()


def main() -> None:
    bundle_path = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    component = os.path.join(ROOT, "target", "wasm", "e911_policy.component.wasm")
    cache = os.path.join(ROOT, "target", "tmp", "e911-kamailio-bench-cwasm")
    plugin = e911_component.Plugin(MemoryHost(), component, cache, 50_000_000, 0, 64 << 20)
    with open(bundle_path, "rb") as file:
        plugin.configure(file.read(), [])
    for path in ("wasmtime-py as shipped", "with e911_speedups (as the Kamailio glue runs)"):
        if path.startswith("with"):
            if not e911_speedups.install():
                print("e911_speedups: the list<u8> layout check failed")
                return
            plugin._instance = None  # instantiated again, its function types pinned
        print(path)
        measure(plugin, rounds)


def measure(plugin: e911_component.Plugin, rounds: int) -> None:
    list_u8 = None
    for name, dial, ip in [
        ("ordinary INVITE", "4255550199", "127.1.0.11"),
        ("911, sip-trunk (PIDF-LO)", "911", "127.1.0.10"),
        ("911, ELIN gateway", "911", "127.2.0.10"),
    ]:
        message = invite(dial, ip)
        calls = []
        for _ in range(rounds):
            start = time.perf_counter()
            plugin.on_message(message, ip, "udp", int(time.time()), "bench")
            calls.append(time.perf_counter() - start)
        # The message alone through the value conversion.
        store, _, on_message = plugin._live()
        if list_u8 is None:
            list_u8 = on_message.type(store).params[0][1]
        lowering = []
        for _ in range(rounds):
            raw = ffi.wasmtime_component_val_t()
            start = time.perf_counter()
            list_u8.convert_to_c(store, message, ctypes.pointer(raw))
            lowering.append(time.perf_counter() - start)
            ffi.wasmtime_component_val_delete(ctypes.byref(raw))
        us = lambda xs, q: statistics.quantiles(xs, n=10)[q] * 1e6  # noqa: E731
        print(
            f"  {name:26} {len(message):4} B  on-message median {statistics.median(calls) * 1e6:7.0f} us"
            f"  p90 {us(calls, 8):7.0f} us   message lowering median {statistics.median(lowering) * 1e6:6.1f} us"
        )

if __name__ == "__main__":
    main()
