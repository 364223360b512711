"""Two speed-ups for wasmtime-py's component values, both checked or contained here.

1. A fast path for `list<u8>`.

wasmtime-py (50) converts a `list<u8>` one byte at a time: each byte becomes a C
`wasmtime_component_val_t` (a kind tag and a union, 32 bytes) through several Python calls.
A 600-byte INVITE costs about 0.4 ms going in, and a verdict that carries the rewritten
message and a new body (2-3 KiB of bytes) about 3 ms coming out: most of the per-INVITE
cost in Kamailio (BENCHMARKS.md, "Kamailio").

The C array is regular: the kind at one offset, the byte at another, `sizeof(val)` apart.
So the whole array is built (and read) with two strided slice operations over one buffer
and one memmove, in C. The offsets come from wasmtime-py's own ctypes declarations, and
`install` checks a round trip against the library's own conversion before switching: if
anything differs (another layout, another version), the library's path stays.

2. Types described once. wasmtime-py asks the C API for a function's type on every call
and rebuilds every nested type (record fields, variant cases, option payloads) each time
a value is converted: about 165 type objects per `on-message`. Types never change, so
`cache_types` memoises those properties per type object, and `pin_func_type` keeps one
function's type for the life of the instance.
"""

from __future__ import annotations

import ctypes
from typing import Any

from wasmtime import _ffi as ffi
from wasmtime.component import _types as types

_VAL = ffi.wasmtime_component_val_t
_SIZE = ctypes.sizeof(_VAL)
_KIND = _VAL.kind.offset
_BYTE = _VAL.of.offset + ffi.wasmtime_component_valunion.u8.offset
_U8 = ffi.WASMTIME_COMPONENT_U8.value


def lower_bytes(data: bytes, ptr: Any) -> None:
    """`data` as a `list<u8>` value in `*ptr` (the list owned by the value)."""
    n = len(data)
    raw = ffi.wasmtime_component_vallist_t()
    ffi.wasmtime_component_vallist_new_uninit(raw, n)
    if n:
        image = bytearray(n * _SIZE)
        image[_KIND::_SIZE] = bytes([_U8]) * n
        image[_BYTE::_SIZE] = data
        ctypes.memmove(raw.data, bytes(image), len(image))
    ptr.contents.kind = ffi.WASMTIME_COMPONENT_LIST
    ptr.contents.of.list = raw


def lift_bytes(c: Any) -> bytes:
    """The bytes of a `list<u8>` value; frees the list."""
    raw = c.of.list
    try:
        if not raw.size:
            return b""
        image = ctypes.string_at(raw.data, raw.size * _SIZE)
        if image[_KIND::_SIZE] != bytes([_U8]) * raw.size:
            raise TypeError("list<u8> holds values that are not u8")
        return image[_BYTE::_SIZE]
    finally:
        ffi.wasmtime_component_vallist_delete(ctypes.byref(raw))


_MEMOISED = {
    types.FuncType: ("params", "result"),
    types.ListType: ("element",),
    types.RecordType: ("fields",),
    types.TupleType: ("elements",),
    types.VariantType: ("cases",),
    types.OptionType: ("payload",),
    types.ResultType: ("ok", "err"),
}


def _memoised(name: str, getter: Any) -> property:
    key = f"_e911_{name}"

    def get(self: Any) -> Any:
        try:
            return self.__dict__[key]
        except KeyError:
            value = self.__dict__[key] = getter(self)
            return value

    return property(get)


def cache_types() -> None:
    """Memoises the type properties conversions read on every call."""
    for cls, names in _MEMOISED.items():
        for name in names:
            getter = getattr(cls, name)
            if isinstance(getter, property) and not getattr(getter.fget, "_e911", False):
                memo = _memoised(name, getter.fget)
                memo.fget._e911 = True  # type: ignore[union-attr]
                setattr(cls, name, memo)
    tagged = types.VariantLikeType._tagged
    if not getattr(tagged, "_e911", False):

        def _tagged(self: Any) -> bool:
            try:
                return self.__dict__["_e911_tagged"]
            except KeyError:
                value = self.__dict__["_e911_tagged"] = tagged(self)
                return value

        _tagged._e911 = True  # type: ignore[attr-defined]
        types.VariantLikeType._tagged = _tagged  # type: ignore[method-assign]


INSTALLED = False


def pin_func_type(func: Any, store: Any) -> None:
    """Makes `func` reuse one type object (the instance attribute shadows the method),
    once `install` has run."""
    if not INSTALLED:
        return
    fty = func.type(store)
    func.type = lambda _store: fty


def install() -> bool:
    """Memoises types (`cache_types`) and switches `list<u8>` conversion to the fast path if it agrees with the library's on
    a sample; returns whether it did."""
    global INSTALLED
    cache_types()
    INSTALLED = True
    list_type = types.ListType
    if getattr(list_type, "_e911_fast", False):
        return True
    slow_to_c = list_type.convert_to_c
    slow_from_c = list_type.convert_from_c
    sample = bytes(range(256)) + b"INVITE sip:911@example.com SIP/2.0\r\n"
    try:
        ours = _VAL()
        lower_bytes(sample, ctypes.pointer(ours))
        theirs = ctypes.string_at(ours.of.list.data, len(sample) * _SIZE)
        if lift_bytes(ours) != sample:
            return False
        expected = bytearray(len(sample) * _SIZE)
        for i, byte in enumerate(sample):
            cell = _VAL()
            types.U8().convert_to_c(None, byte, ctypes.pointer(cell))  # type: ignore[arg-type]
            expected[i * _SIZE : (i + 1) * _SIZE] = bytes(
                ctypes.string_at(ctypes.addressof(cell), _SIZE)
            )
        for i in range(len(sample)):
            at = i * _SIZE
            if theirs[at + _KIND] != expected[at + _KIND] or theirs[at + _BYTE] != expected[at + _BYTE]:
                return False
    except Exception:
        return False

    def convert_to_c(self: Any, store: Any, val: Any, ptr: Any) -> None:
        if isinstance(val, (bytes, bytearray)) and self._is_bytes():
            lower_bytes(bytes(val), ptr)
        else:
            slow_to_c(self, store, val, ptr)

    def convert_from_c(self: Any, c: Any) -> Any:
        if c.kind == ffi.WASMTIME_COMPONENT_LIST.value and self._is_bytes():
            return lift_bytes(c)
        return slow_from_c(self, c)

    list_type.convert_to_c = convert_to_c  # type: ignore[method-assign]
    list_type.convert_from_c = convert_from_c  # type: ignore[method-assign]
    list_type._e911_fast = True  # type: ignore[attr-defined]
    return True
