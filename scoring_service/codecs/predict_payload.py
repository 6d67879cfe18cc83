"""PredictRequest payloads → `ColumnBatch`; model output → PredictResponse.

The four MLflow shapes behave as they do on MLflow's `/invocations`; rows without column names
(`dataframe_split` without `columns`, `instances` as lists) are read in signature order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mlgrpc.scoring.v1 import scoring_service_pb2 as pb
from mlgrpc_server.errors import InvalidArgument
from scoring_service.codecs.json_values import list_to_python, struct_to_python, value_to_python
from scoring_service.models.enforce import ColumnBatch
from scoring_service.models.loaded import LoadedModel
from scoring_service.models.predict import output_columns, output_records

PAYLOADS = "dataframe_split, dataframe_records, instances, inputs or columnar"


def _positional_names(model: LoadedModel, width: int, what: str) -> list[str]:
    names = [c.name if c.name is not None else f"#{i}" for i, c in enumerate(model.inputs)]
    if not names:
        return [str(i) for i in range(width)]
    if width != len(names):
        raise InvalidArgument(
            f"{what} rows have {width} values but the model takes {len(names)} columns "
            f"{[n for n in names]}; send column names to match by name",
            field="payload",
        )
    return [str(n) for n in names]


def _from_rows(names: Sequence[str], rows: list[list[Any]], what: str) -> ColumnBatch:
    _refuse_duplicate_names(names, what)
    width = len(names)
    for index, row in enumerate(rows):
        if len(row) != width:
            raise InvalidArgument(
                f"{what} row {index} has {len(row)} values; expected {width}, one per column",
                field="payload",
            )
    columns = {name: [row[j] for row in rows] for j, name in enumerate(names)}
    return ColumnBatch(columns, len(rows))


def _refuse_duplicate_names(names: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidArgument(
                f"{what} names column {name!r} twice; name each column once", field=name
            )
        seen.add(name)


def _from_records(records: list[Any], what: str) -> ColumnBatch:
    names: dict[str, None] = {}
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise InvalidArgument(
                f"{what} item {index} is not an object of column → value", field="payload"
            )
        names.update(dict.fromkeys(record))
    columns = {name: [record.get(name) for record in records] for name in names}
    return ColumnBatch(columns, len(records))


def _from_dict_of_columns(data: dict[str, Any]) -> ColumnBatch:
    columns = {k: (v if isinstance(v, list) else [v]) for k, v in data.items()}
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise InvalidArgument(
            f"inputs columns have different lengths {sorted(lengths)}; every column needs one "
            "value per row",
            field="inputs",
        )
    return ColumnBatch(columns, lengths.pop() if lengths else 0)


def _from_list(model: LoadedModel, items: list[Any], what: str) -> ColumnBatch:
    if not items:
        return ColumnBatch({}, 0)
    if all(isinstance(item, dict) for item in items):
        return _from_records(items, what)
    if all(isinstance(item, list) for item in items):
        names = _positional_names(model, len(items[0]), what)
        return _from_rows(names, items, what)
    names = _positional_names(model, 1, what)
    return ColumnBatch({names[0]: items}, len(items))


def _columnar(data: pb.ColumnarData) -> ColumnBatch:
    columns: dict[str, Any] = {}
    lengths: set[int] = set()
    _refuse_duplicate_names([column.name for column in data.columns], "columnar")
    for column in data.columns:
        kind = column.WhichOneof("values")
        if kind is None:
            raise InvalidArgument(
                f"columnar column {column.name!r} has no values", field="columnar"
            )
        values = getattr(column, kind).values
        if kind == "doubles":
            array: Any = np.array(values, dtype=np.float64)
        elif kind == "int64s":
            array = np.array(values, dtype=np.int64)
        elif kind == "bools":
            array = np.array(values, dtype=np.bool_)
        else:
            array = np.array(list(values), dtype=object)
        columns[column.name] = array
        lengths.add(len(array))
    if len(lengths) > 1:
        raise InvalidArgument(
            f"columnar columns have different lengths {sorted(lengths)}", field="columnar"
        )
    return ColumnBatch(columns, lengths.pop() if lengths else 0)


#: The keys of MLflow's `/invocations` JSON body that carry the input, one per request.
MLFLOW_INPUT_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def decode_mlflow_input(kind: str, value: Any, model: LoadedModel) -> ColumnBatch:
    """One of MLflow's input shapes, as Python values (parsed JSON), as named columns.

    `kind` is one of `MLFLOW_INPUT_KEYS`; the gRPC payloads of the same names and the HTTP
    `/invocations` body both come here, so the two protocols read a payload the same way.
    """
    if kind == "dataframe_split":
        if not isinstance(value, dict):
            raise InvalidArgument(
                'dataframe_split must be an object {"columns": [...], "data": [[...], ...]}',
                field=kind,
            )
        columns, rows = value.get("columns"), value.get("data", [])
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise InvalidArgument(
                "dataframe_split.data must be a list of rows, each a list of values", field=kind
            )
        if columns:
            if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
                raise InvalidArgument(
                    "dataframe_split.columns must be a list of column names", field=kind
                )
            return _from_rows(columns, rows, kind)
        if not rows:
            return ColumnBatch({}, 0)
        return _from_rows(_positional_names(model, len(rows[0]), kind), rows, kind)
    if kind == "dataframe_records":
        if not isinstance(value, list):
            raise InvalidArgument(
                "dataframe_records must be a list of objects of column → value", field=kind
            )
        return _from_records(value, kind)
    if kind in ("instances", "inputs"):
        if isinstance(value, list):
            return _from_list(model, value, kind)
        if isinstance(value, dict):
            return _from_dict_of_columns(value)
        raise InvalidArgument(f"{kind} must be a list of rows or an object of columns", field=kind)
    raise InvalidArgument(
        f"unknown input {kind!r}; use one of {', '.join(MLFLOW_INPUT_KEYS)}", field="payload"
    )


def decode_request(request: pb.PredictRequest, model: LoadedModel) -> ColumnBatch:
    """The request's payload as named columns; a missing or malformed payload is INVALID."""
    kind = request.WhichOneof("payload")
    if kind == "dataframe_split":
        split = request.dataframe_split
        rows = [list_to_python(row) for row in split.data]
        return decode_mlflow_input(kind, {"columns": list(split.columns), "data": rows}, model)
    if kind == "dataframe_records":
        records = [value_to_python(v) for v in request.dataframe_records.values]
        return decode_mlflow_input(kind, records, model)
    if kind in ("instances", "inputs"):
        value = getattr(request, kind)
        which = value.WhichOneof("kind")
        if which == "list_value":
            return _from_list(model, [value_to_python(v) for v in value.list_value.values], kind)
        if which == "struct_value":
            return _from_dict_of_columns(struct_to_python(value.struct_value))
        raise InvalidArgument(f"{kind} must be a list of rows or an object of columns", field=kind)
    if kind == "columnar":
        return _columnar(request.columnar)
    raise InvalidArgument(
        f"the request has no payload; set exactly one of {PAYLOADS} (as MLflow's /invocations "
        'JSON, e.g. {"dataframe_split": {"columns": [...], "data": [[...]]}})',
        field="payload",
    )


def _typed_column(name: str, values: np.ndarray) -> pb.Column | None:
    kind = values.dtype.kind
    if values.ndim != 1:
        return None
    if kind == "f":
        return pb.Column(name=name, doubles=pb.DoubleColumn(values=values.tolist()))
    if kind in "iu":
        return pb.Column(name=name, int64s=pb.Int64Column(values=values.tolist()))
    if kind == "b":
        return pb.Column(name=name, bools=pb.BoolColumn(values=values.tolist()))
    if kind in "OU" and all(isinstance(v, str) for v in values.tolist()):
        return pb.Column(name=name, strings=pb.StringColumn(values=values.tolist()))
    return None


def encode_response(output: Any, model: LoadedModel, *, columnar: bool) -> pb.PredictResponse:
    response = pb.PredictResponse(model_name=model.name, model_version=model.version)
    if columnar:
        columns = output_columns(output)
        if len(columns) == 1:
            typed = _typed_column(*columns[0])
            if typed is not None:
                response.columnar_predictions.CopyFrom(typed)
                return response
    response.predictions.extend(output_records(output))
    return response
