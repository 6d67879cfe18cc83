"""`google.protobuf.Value` / `ListValue` / `Struct` → plain Python values, fast for numbers."""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2


def value_to_python(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        return value.number_value
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "list_value":
        return list_to_python(value.list_value)
    if kind == "struct_value":
        return struct_to_python(value.struct_value)
    return None


def list_to_python(values: struct_pb2.ListValue) -> list[Any]:
    """The values of a ListValue; numbers take a fast path (a JSON row is mostly numbers)."""
    items = values.values
    numbers = [v.number_value for v in items]
    if 0.0 in numbers:
        # 0.0 is also what a non-number reads as: decide those positions by their kind.
        for i, number in enumerate(numbers):
            if number == 0.0:
                numbers[i] = value_to_python(items[i])
    return numbers


def struct_to_python(struct: struct_pb2.Struct) -> dict[str, Any]:
    return {key: value_to_python(value) for key, value in struct.fields.items()}
