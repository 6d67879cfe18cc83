"""Hypothesis strategies for any protobuf message, built from its descriptor alone.

Walking the descriptor (rather than writing a strategy per request) means a field or an RPC added
to a contract is fuzzed without anyone touching this file. Values lean on the edges that break
servers: empty, control characters, very long strings; negative, huge and int64-bound integers;
NaN and ±inf; unknown enum numbers; repeated fields with many elements; nested payloads deeper
than protobuf's parser allows. Fields whose name is in `pools` are drawn half the time from real
values (ids created during set-up), so that calls get past "not found" into the code behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

_INT_BOUNDS: dict[int, tuple[int, int]] = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}

#: Strings that mean something to a parser, a file system or a database.
SPECIAL_STRINGS = (
    "..", "../x", "a/../../x", "/etc/passwd", "a//b", "a/", "./a", "a\\b", "~nobody-here/x",
    "a\x00b", "a\nb", "x\n", "\t", "\x7f", "'", "\"", "`", "%", "_", "'; DROP TABLE runs; --",
    "-1", "--1", "0", "1", "-0", "007", "1e309", "NaN", "inf", "99999999999999999999999",
    "9223372036854775808",
    "٣", "１", " 1 ", "null", "true", "{}", "[]", "é🙂", "\u202e", "\ufeff",
    "metrics.loss < 1", "metrics.`a b` >= 0.5", "params.alpha = '0.5'", "tags.t != 'x'",
    "attributes.status = 'RUNNING'", "run_id IN ('a', 'b')", "name LIKE 'fuzz%'", "name ILIKE '%'",
    "metrics.loss < 1 AND params.a = 'x'", "metrics.loss <", "metrics. = 1", "= =", "(",
    "metrics.loss DESC", "start_time ASC", "name", "attributes.run_name", "params.alpha",
    "tags.`x`", "creation_timestamp DESC", "last_updated_timestamp", "version_number DESC",
    "runs:/", "runs://x", "runs:/abc/model", "models:/", "models:/x", "models:/x/0",
    "models:/x/-1", "models:/x@", "models:/x/99999999999999999999", "file:", "file:///",
    "s3://bucket/x", "http://127.0.0.1:1/x", "mlflow-artifacts:/x",
    "FP64", "FP32", "FP16", "BF16", "INT64", "INT32", "INT8", "UINT8", "UINT64", "BOOL", "BYTES",
    "Production", "Staging", "Archived", "None", "production",
)  # fmt: skip

_KEY_CHARS = "abcxyz_-./: 0123456789"
_CONTROL = st.characters(min_codepoint=0, max_codepoint=31) | st.just("\x7f")
#: Lengths just past the limits of the contracts (keys 250, values 6,000/8,000, names 256, …),
#: and one far past everything.
_LONG_LENGTHS = (251, 257, 501, 2_001, 5_001, 6_001, 8_001, 20_001, 100_001, 1_000_000)
#: Element counts just past the batch limits (1,000 metrics, 100 params/tags) and far past.
_MANY = (101, 1_001, 10_001, 50_001)
MAX_REPEATED_BYTES = 8_000_000
#: Nesting depths around protobuf's recursion limit (100).
_DEEP = (40, 49, 50, 99, 300, 3_000)


def text() -> SearchStrategy[str]:
    return st.one_of(
        st.just(""),
        st.text(max_size=12),
        st.text(alphabet=_KEY_CHARS, min_size=1, max_size=24),
        st.text(alphabet=_CONTROL | st.sampled_from("ab/."), min_size=1, max_size=8),
        st.sampled_from(SPECIAL_STRINGS),
        st.builds(
            lambda c, n: c * n,
            st.sampled_from(["a", "é", "中", "/", "1"]),
            st.sampled_from(_LONG_LENGTHS),
        ),
    )


def integers(kind: int) -> SearchStrategy[int]:
    lo, hi = _INT_BOUNDS[kind]
    edges = [
        v for v in (0, 1, -1, 2, lo, hi, lo + 1, hi - 1, 2**31, 2**32, -(2**31)) if lo <= v <= hi
    ]
    return st.one_of(st.integers(max(lo, -3), 20), st.sampled_from(edges), st.integers(lo, hi))


def floats(kind: int) -> SearchStrategy[float]:
    width = 32 if kind == FieldDescriptor.TYPE_FLOAT else 64
    specials = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        float("nan"),
        float("inf"),
        float("-inf"),
        1e308,
        -1e308,
        5e-324,
    ]
    return st.one_of(st.sampled_from(specials), st.floats(width=width))


def deep_value(depth: int) -> Message:
    """A google.protobuf.Value nested `depth` lists deep: `[[[...[1.0]...]]]`."""
    from google.protobuf import struct_pb2

    root = struct_pb2.Value()
    inner = root
    for _ in range(depth):  # built top-down: appending a built value would copy (and re-check) it
        inner = inner.list_value.values.add()
    inner.number_value = 1.0
    return root


@dataclass
class ProtoStrategies:
    """Builds (and caches) a strategy per message type for one set of real-value pools."""

    pools: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    max_depth: int = 4
    _cache: dict[tuple[str, int], SearchStrategy[Message]] = field(default_factory=dict)

    def message(self, descriptor: Descriptor, depth: int = 0) -> SearchStrategy[Message]:
        key = (descriptor.full_name, depth)
        if key not in self._cache:
            self._cache[key] = self._build_message(descriptor, depth)
        return self._cache[key]

    def _build_message(self, descriptor: Descriptor, depth: int) -> SearchStrategy[Message]:
        cls = message_factory.GetMessageClass(descriptor)
        if depth > self.max_depth:
            return st.builds(cls)
        parts: dict[str, SearchStrategy[Any]] = {}
        in_oneof: set[str] = set()
        for oneof in descriptor.oneofs:
            options = [st.tuples(st.just(f.name), self._field(f, depth)) for f in oneof.fields]
            parts[f"oneof:{oneof.name}"] = st.one_of(st.none(), *options)
            in_oneof.update(f.name for f in oneof.fields)
        for f in descriptor.fields:
            if f.name not in in_oneof:
                parts[f.name] = st.one_of(st.none(), self._field(f, depth))
        built = st.fixed_dictionaries(parts).map(lambda values: _assemble(cls, values))
        if descriptor.full_name == "google.protobuf.Value" and depth <= 1:
            return st.one_of(built, st.sampled_from(_DEEP).map(deep_value))
        return built

    def _field(self, f: FieldDescriptor, depth: int) -> SearchStrategy[Any]:
        if _is_map(f):
            key_f, value_f = (
                f.message_type.fields_by_name["key"],
                f.message_type.fields_by_name["value"],
            )
            keys, values = self._single(key_f, depth + 1), self._single(value_f, depth + 1)
            return st.dictionaries(keys, values, max_size=4)
        element = self._single(f, depth + 1)
        if not f.is_repeated:
            return element
        few = st.lists(element, max_size=4)
        if depth > 1:
            return few
        many = st.tuples(element, st.sampled_from(_MANY)).map(_repeat)
        return st.one_of(few, few, few, many)

    def _single(self, f: FieldDescriptor, depth: int) -> SearchStrategy[Any]:
        if f.type == FieldDescriptor.TYPE_MESSAGE:
            return self.message(f.message_type, depth)
        base = self._scalar(f)
        pooled = [v for v in self.pools.get(f.name, ()) if _fits(f, v)]
        if pooled:
            return st.one_of(st.sampled_from(pooled), base)
        return base

    @staticmethod
    def _scalar(f: FieldDescriptor) -> SearchStrategy[Any]:
        if f.type == FieldDescriptor.TYPE_STRING:
            return text()
        if f.type == FieldDescriptor.TYPE_BYTES:
            # Big values are built by a function so that the strategy's repr (printed in a
            # failure report, once per field) stays small.
            big = st.builds(lambda n: b"\x00" * n, st.sampled_from([0, 1_000_003]))
            return st.one_of(st.binary(max_size=64), big)
        if f.type == FieldDescriptor.TYPE_BOOL:
            return st.booleans()
        if f.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            return floats(f.type)
        if f.type == FieldDescriptor.TYPE_ENUM:
            known = [v.number for v in f.enum_type.values]
            return st.one_of(st.sampled_from(known), st.integers(-3, 40), st.just(2**31 - 1))
        return integers(f.type)


def _repeat(element_and_count: tuple[Any, int]) -> list[Any]:
    """`count` copies of one element, at most ~8 MB of them (the point is the count)."""
    element, count = element_and_count
    if isinstance(element, Message):
        size = element.ByteSize()
    elif isinstance(element, str | bytes):
        size = len(element)
    else:
        size = 8
    return [element] * max(1, min(count, MAX_REPEATED_BYTES // max(size, 1)))


def _is_map(f: FieldDescriptor) -> bool:
    return (
        f.type == FieldDescriptor.TYPE_MESSAGE
        and f.is_repeated
        and f.message_type.GetOptions().map_entry
    )


def _fits(f: FieldDescriptor, value: Any) -> bool:
    if f.type == FieldDescriptor.TYPE_STRING:
        return isinstance(value, str)
    if f.type in _INT_BOUNDS:
        return isinstance(value, int) and not isinstance(value, bool)
    return False


def _assemble(cls: Callable[[], Message], values: Mapping[str, Any]) -> Message:
    message = cls()
    for name, value in values.items():
        if value is None:
            continue
        if name.startswith("oneof:"):
            name, value = value
        _set(message, name, value)
    return message


def _set(message: Message, name: str, value: Any) -> None:
    f = message.DESCRIPTOR.fields_by_name[name]
    target = getattr(message, name) if f.is_repeated else None
    if _is_map(f):
        for key, item in value.items():
            if f.message_type.fields_by_name["value"].type == FieldDescriptor.TYPE_MESSAGE:
                target[key].CopyFrom(item)
            else:
                target[key] = item
    elif target is not None:
        target.extend(value)
    elif f.type == FieldDescriptor.TYPE_MESSAGE:
        getattr(message, name).CopyFrom(value)
    else:
        setattr(message, name, value)
