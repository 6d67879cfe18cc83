"""MLflow's scoring protocol: the body of `POST /invocations` → named columns, output → JSON.

MLflow 2+ bodies (`application/json` with exactly one of dataframe_split, dataframe_records,
instances, inputs, and optional `params`; `text/csv`) are answered `{"predictions": [...]}` as
MLflow 3 answers them. The MLflow 1.x forms — a `format=pandas-split|pandas-records` content-type
parameter, or a bare `{"columns", "data"}` object or list of records — are answered as 1.x did,
with a bare list, so that scripts written for 1.x (the seed's curl among them) work unchanged.
"""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from functools import partial
from typing import Any

import numpy as np

from mlgrpc_server.errors import InvalidArgument
from scoring_service.codecs.predict_payload import MLFLOW_INPUT_KEYS, decode_mlflow_input
from scoring_service.http import json_codec
from scoring_service.models import row_matrix
from scoring_service.models.enforce import ColumnBatch
from scoring_service.models.loaded import LoadedModel
from scoring_service.models.predict import output_records

logger = logging.getLogger(__name__)

JSON = "application/json"
CSV = "text/csv"
_LEGACY_FORMATS = {
    "pandas-split": "dataframe_split",
    "split": "dataframe_split",
    "pandas-records": "dataframe_records",
    "records": "dataframe_records",
}


class UnsupportedMediaType(InvalidArgument):
    """A content type (or parameter) this endpoint does not read: HTTP 415."""

    http_status = 415


@dataclass(frozen=True)
class Invocation:
    """A decoded `/invocations` body, and whether to answer as MLflow 1.x did.

    `matrix` is the model's input when the rows went straight to the fast path's matrix
    (`row_matrix`); `batch_of` gives the named columns either way (the general path's input,
    and what names a value the model refuses).
    """

    batch_of: Callable[[], ColumnBatch]
    legacy: bool = False
    matrix: np.ndarray | None = None


def decode_invocation(
    content_type: str | None, body: bytes, model: LoadedModel, max_rows: int = 0
) -> Invocation:
    if not content_type:
        raise UnsupportedMediaType(
            f"the request has no Content-Type; send {JSON} or {CSV}", field="Content-Type"
        )
    mime, legacy_format = _media_type(content_type)
    if mime == JSON:
        payload = json_codec.loads(body)
        if legacy_format is None:
            return _mlflow_json(payload, model, max_rows)
        kind = _LEGACY_FORMATS.get(legacy_format.lower())
        if kind is None:
            raise UnsupportedMediaType(
                f"format={legacy_format!r} is not supported; use pandas-split or pandas-records",
                field="Content-Type",
            )
        return _decoded(kind, payload, model, max_rows, legacy=True)
    if mime == CSV and legacy_format is None:
        return _eager(_parse_csv(body))
    raise UnsupportedMediaType(
        f"Content-Type {content_type!r} is not supported; send {JSON} (MLflow's JSON shapes) "
        f"or {CSV}",
        field="Content-Type",
    )


@functools.lru_cache(maxsize=64)
def _media_type(content_type: str) -> tuple[str, str | None]:
    """(media type, MLflow 1.x `format` parameter or None); UnsupportedMediaType for a charset
    or parameter not read here. Cached: clients send the same few (errors are not cached)."""
    mime, parsed = _parse_content_type(content_type)
    params = dict(parsed)
    charset = params.pop("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(
            f"charset {charset!r} is not supported; send utf-8", field="Content-Type"
        )
    legacy_format = params.pop("format", None)
    if params:
        raise UnsupportedMediaType(
            f"unknown Content-Type parameters {sorted(params)}; only charset and (MLflow 1.x) "
            "format=pandas-split|pandas-records are read",
            field="Content-Type",
        )
    return mime, legacy_format


def _parse_content_type(content_type: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """(media type, parameters) of a Content-Type; cached: clients send the same few, and the
    email parser costs more than the rest of decoding a one-row body."""
    header = Message()
    header["content-type"] = content_type
    params = tuple((key.lower(), value) for key, value in header.get_params()[1:])
    return header.get_content_type(), params


def encode_predictions(output: Any, *, legacy: bool) -> bytes:
    records = output_records(output)
    return json_codec.dumps(records if legacy else {"predictions": records})


def _eager(batch: ColumnBatch, legacy: bool = False) -> Invocation:
    return Invocation(lambda: batch, legacy)


def _decoded(
    kind: str, value: Any, model: LoadedModel, max_rows: int, *, legacy: bool
) -> Invocation:
    """One of MLflow's input shapes: straight to the matrix when `row_matrix` takes its rows,
    else decoded to named columns now (so that a malformed input is refused here)."""
    if kind == "dataframe_split" and type(value) is dict:
        columns, rows = value.get("columns"), value.get("data")
        if type(columns) is list and type(rows) is list and set(map(type, columns)) == {str}:
            matrix = row_matrix.rows_matrix(model, columns, rows, max_rows)
            if matrix is not None:
                return Invocation(partial(decode_mlflow_input, kind, value, model), legacy, matrix)
    return _eager(decode_mlflow_input(kind, value, model), legacy)


def _mlflow_json(payload: Any, model: LoadedModel, max_rows: int) -> Invocation:
    if type(payload) is dict and len(payload) == 1:
        (key,) = payload
        if key in MLFLOW_INPUT_KEYS:  # the common body: one input, no params
            return _decoded(key, payload[key], model, max_rows, legacy=False)
    if isinstance(payload, list):
        if payload and all(isinstance(item, dict) for item in payload):
            return _decoded("dataframe_records", payload, model, max_rows, legacy=True)
        raise InvalidArgument(
            'a bare JSON list is not an input; send {"instances": [...]} or '
            '{"dataframe_records": [...]}',
            field="body",
        )
    if not isinstance(payload, dict):
        raise InvalidArgument(
            f"the body must be a JSON object with one of {', '.join(MLFLOW_INPUT_KEYS)}",
            field="body",
        )
    kinds = [key for key in MLFLOW_INPUT_KEYS if key in payload]
    if not kinds and "data" in payload:
        # MLflow 1.x's default for application/json: a DataFrame in pandas' split orient.
        return _decoded("dataframe_split", payload, model, max_rows, legacy=True)
    if len(kinds) != 1:
        found = f"found {kinds}" if kinds else f"found keys {sorted(payload)[:10]}"
        raise InvalidArgument(
            f"the body must hold exactly one of {', '.join(MLFLOW_INPUT_KEYS)} (and optional "
            f'params); {found}. Example: {{"dataframe_split": {{"columns": [...], '
            '"data": [[...]]}}',
            field="body",
        )
    unknown = sorted(set(payload) - {kinds[0], "params"})
    if unknown:
        raise InvalidArgument(
            f"unknown keys {unknown} beside {kinds[0]!r}; only params may accompany it",
            field="body",
        )
    params = payload.get("params")
    if params is not None and not isinstance(params, dict):
        raise InvalidArgument("params must be an object of name → value", field="params")
    if params:
        # As MLflow does for a model whose signature has no params: accepted and not used.
        logger.debug("params %s ignored: model %s takes no params", sorted(params), model.name)
    return _decoded(kinds[0], payload[kinds[0]], model, max_rows, legacy=False)


def _parse_csv(body: bytes) -> ColumnBatch:
    import pandas as pd

    try:
        frame = pd.read_csv(io.BytesIO(body))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        # pandas' EmptyDataError is a ValueError too.
        raise InvalidArgument(f"the body is not readable CSV: {exc}", field="body") from None
    return ColumnBatch({str(c): frame[c].to_numpy() for c in frame.columns}, len(frame))
