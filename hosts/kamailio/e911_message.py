"""Security-desk notifications by SIP MESSAGE (RFC 3428), through Kamailio's `uac` module.

The harness proxy sends the same request (host-harness/src/proxy/notify.rs), so every
host tells the desk the same thing: the Request-URI and To are the notification's `sip`
URI, the body is its `text` as `text/plain`, From is this proxy's identity.

Runs in the rtimer process that also POSTs webhooks (route E911_NOTIFY), never in the
worker handling the call: `uac_req_send` hands the request to tm and returns without
waiting for the answer (tm retransmits and absorbs the desk's reply), but resolving the
desk's host name is a blocking DNS lookup, which must not hold up an emergency INVITE.
"""

from __future__ import annotations

from typing import Any

# Every field this module sets, cleared before each request so nothing of the previous
# one (an outbound proxy, a Call-ID) carries over.
FIELDS = ("method", "ruri", "turi", "furi", "hdrs", "body")


def sender(node: str) -> str:
    """Our identity in From: the proxy's node name (settings `node`)."""
    return f"sip:e911@{node}"


def send(ksr: Any, uri: str, text: str, from_uri: str) -> str:
    """Queues one MESSAGE with tm; returns "" when tm took it, else why not."""
    if not uri.startswith(("sip:", "sips:")):
        return f"{uri}: not a SIP URI"
    ksr.pv.unset("$uac_req(all)")
    values = {
        "method": "MESSAGE",
        "ruri": uri,
        "turi": uri,
        "furi": from_uri,
        "hdrs": "Content-Type: text/plain\r\n",
        "body": text,
    }
    for name in FIELDS:
        ksr.pv.sets(f"$uac_req({name})", values[name])
    if ksr.uac.uac_req_send() < 0:
        return f"{uri}: uac_req_send failed (see the uac and tm lines above)"
    return ""
