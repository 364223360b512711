"""Security-desk notifications by SIP MESSAGE (RFC 3428), through Kamailio's `uac` module.

The harness proxy sends the same request (hosts/sip-proxy/src/notify.rs, whose comment
says what is documented and what is inferred), so every host tells the desk the same
thing: the Request-URI and To are the notification's `sip` URI, From is this proxy's
identity, the body is its `text` as `text/plain; charset=UTF-8`, with the two headers
[MS-SIPRE] §3.17.5.2 requires of a Lync/Skype for Business front end's emergency
notification IM: `Priority: emergency` (RFC 3261 §20.26) and `Call-Info: <caller>;
purpose=ms-emergency-notification` (left out when the caller is not a clean SIP or tel
URI, as the harness does).

[MS-SIPRE]: https://learn.microsoft.com/en-us/openspecs/office_protocols/ms-sipre/c283efd4-7456-459f-b1ea-01cb31a2e2c0

Runs in the rtimer process that also POSTs webhooks (route E911_NOTIFY), never in the
worker handling the call: `uac_req_send` hands the request to tm and returns without
waiting for the answer (tm retransmits and absorbs the desk's reply), but resolving the
desk's host name is a blocking DNS lookup, which must not hold up an emergency INVITE.
"""

from __future__ import annotations

import json
from typing import Any, Optional

# Every field this module sets, cleared before each request so nothing of the previous
# one (an outbound proxy, a Call-ID) carries over.
FIELDS = ("method", "ruri", "turi", "furi", "hdrs", "body")


def sender(node: str) -> str:
    """Our identity in From: the proxy's node name (settings `node`)."""
    return f"sip:e911@{node}"


def caller_uri(notification_json: str) -> Optional[str]:
    """The emergency caller's URI from a notification's JSON (`caller`), when it is a SIP
    or tel URI that can stand between angle brackets in `Call-Info`; else None."""
    try:
        caller = json.loads(notification_json).get("caller")
    except (ValueError, AttributeError):
        return None
    if not isinstance(caller, str):
        return None
    scheme = caller.split(":", 1)[0].lower()
    if scheme not in ("sip", "sips", "tel") or len(caller) <= len(scheme) + 1:
        return None
    if any(c.isspace() or not c.isprintable() or c in '<>"' for c in caller):
        return None
    return caller


def headers(caller: Optional[str]) -> str:
    """The MESSAGE's own headers (tm adds Via, Call-ID, CSeq and the rest)."""
    call_info = f"Call-Info: <{caller}>;purpose=ms-emergency-notification\r\n" if caller else ""
    return f"Priority: emergency\r\n{call_info}Content-Type: text/plain; charset=UTF-8\r\n"


def send(ksr: Any, uri: str, text: str, from_uri: str, caller: Optional[str] = None) -> str:
    """Queues one MESSAGE with tm; returns "" when tm took it, else why not."""
    if not uri.startswith(("sip:", "sips:")):
        return f"{uri}: not a SIP URI"
    ksr.pv.unset("$uac_req(all)")
    values = {
        "method": "MESSAGE",
        "ruri": uri,
        "turi": uri,
        "furi": from_uri,
        "hdrs": headers(caller),
        "body": text,
    }
    for name in FIELDS:
        ksr.pv.sets(f"$uac_req({name})", values[name])
    if ksr.uac.uac_req_send() < 0:
        return f"{uri}: uac_req_send failed (see the uac and tm lines above)"
    return ""
