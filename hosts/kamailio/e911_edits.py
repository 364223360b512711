"""The verdict's edit list applied with Kamailio's own primitives (wit/policy.wit,
`edit-op`), so Kamailio keeps its lumps, its Content-Length and its transaction state.

The bridge (e911_native) hands each edit as a tuple, its WIT case's name first:
`("set-request-uri", uri)`, `("insert-header", name, value, before)` (`before` None:
at the end), `("replace-header", field, value)`, `("remove-header", field)`,
`("set-body", content_type, body)`.

Field indices count the original message's header fields in wire order, from 0; so do
Kamailio's parsed headers (one per header line, duplicates kept), which the textopsx
header iterator walks. Edits anchor on the original buffer, so one edit's index is not
shifted by another.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

# KSR functions answer a positive number or True on success, a negative one or False on
# failure.
Ksr = Any

ITERATOR = "e911"


def _check(what: str, code: Any) -> None:
    if code is False or (isinstance(code, int) and code < 0):
        raise RuntimeError(f"{what} failed ({code})")


def _at_field(ksr: Ksr, index: int) -> str:
    """Moves the header iterator onto field `index`; returns that field's name."""
    _check("hf_iterator_start", ksr.textopsx.hf_iterator_start(ITERATOR))
    for _ in range(index + 1):
        if ksr.textopsx.hf_iterator_next(ITERATOR) < 0:
            raise RuntimeError(f"the message has no header field {index}")
    name = ksr.pv.get(f"$hfitname({ITERATOR})")
    if not isinstance(name, str):
        raise RuntimeError(f"header field {index} has no name")
    return name


def _line(name: str, value: str) -> str:
    return f"{name}: {value}\r\n"


def _set_request_uri(ksr: Ksr, uri: str) -> None:
    _check("seturi", ksr.seturi(uri))


def _insert_header(ksr: Ksr, name: str, value: str, before: Optional[int]) -> None:
    line = _line(name, value)
    if before is None:  # `end`
        _check("hdr.append", ksr.hdr.append(line))
        return
    _at_field(ksr, before)
    _check("hf_iterator_insert", ksr.textopsx.hf_iterator_insert(ITERATOR, line))


def _replace_header(ksr: Ksr, index: int, value: str) -> None:
    name = _at_field(ksr, index)
    _check("hf_iterator_rm", ksr.textopsx.hf_iterator_rm(ITERATOR))
    _check("hf_iterator_insert", ksr.textopsx.hf_iterator_insert(ITERATOR, _line(name, value)))


def _remove_header(ksr: Ksr, index: int) -> None:
    _at_field(ksr, index)
    _check("hf_iterator_rm", ksr.textopsx.hf_iterator_rm(ITERATOR))


def _set_body(ksr: Ksr, content_type: str, body: bytes) -> None:
    # textops set_body replaces the body and Content-Type; Kamailio recomputes
    # Content-Length when it builds the outgoing message.
    _check("set_body", ksr.textops.set_body(body.decode("utf-8"), content_type))


APPLY: dict[str, Callable[..., None]] = {
    "set-request-uri": _set_request_uri,
    "insert-header": _insert_header,
    "replace-header": _replace_header,
    "remove-header": _remove_header,
    "set-body": _set_body,
}


def _iterates(op: tuple[Any, ...]) -> bool:
    """Whether the edit used the header iterator (which must then be ended)."""
    if op[0] == "insert-header":
        return op[3] is not None
    return op[0] in ("replace-header", "remove-header")


def apply(ksr: Ksr, edits: list[tuple[Any, ...]]) -> list[str]:
    """Applies every edit it can, in order; returns what failed (empty: all applied).

    The Request-URI goes first, so a failure later still leaves the call going to the
    route's trunk (ARCHITECTURE.md, invariants).
    """
    problems = []
    first = [op for op in edits if op[0] == "set-request-uri"]
    for op in first + [op for op in edits if op[0] != "set-request-uri"]:
        try:
            APPLY[op[0]](ksr, *op[1:])
        except Exception as err:  # one failed edit must not stop the others or the call
            problems.append(f"{op[0]}: {err}")
    if any(_iterates(op) for op in edits):
        ksr.textopsx.hf_iterator_end(ITERATOR)
    return problems
