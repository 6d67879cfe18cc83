"""Training data as MLflow describes a dataset input: digest, `code` source, schema, profile."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from mlgrpc.entities import Dataset, DatasetInput

#: MLflow hashes at most this many rows of a dataset for its digest.
_DIGEST_ROWS = 10_000


def _as_frame_or_array(data: Any) -> Any:
    """A DataFrame or ndarray from what training functions take (DMatrix, lightgbm Dataset)."""
    if hasattr(data, "get_data") and hasattr(data, "feature_names"):  # xgboost.DMatrix
        import pandas as pd

        return pd.DataFrame(data.get_data().toarray(), columns=data.feature_names)
    if hasattr(data, "construct") and hasattr(data, "data"):  # lightgbm.Dataset
        return data.data
    return data


def dataset_input(data: Any, name: str, context: str) -> DatasetInput:
    from mlgrpc.fluent import _context_tags
    from mlgrpc.models.signature import infer_signature

    data = _as_frame_or_array(data)
    if hasattr(data, "columns"):
        import pandas as pd

        head = data.head(_DIGEST_ROWS)
        hashed = pd.util.hash_pandas_object(head, index=False).to_numpy().tobytes()
        rows, columns = data.shape
    else:
        array = np.asarray(data)
        hashed = np.ascontiguousarray(array[:_DIGEST_ROWS]).tobytes()
        rows, columns = array.shape[0], int(np.prod(array.shape[1:])) or 1
    schema = infer_signature(data[:5] if not hasattr(data, "head") else data.head(5)).inputs
    source = {"tags": {k: v for k, v in _context_tags().items() if k != "mlflow.source.type"}}
    dataset = Dataset(
        name=name,
        digest=hashlib.md5(hashed, usedforsecurity=False).hexdigest()[:8],
        source_type="code",
        source=json.dumps(source),
        schema=json.dumps({"mlflow_colspec": schema.to_dict() if schema else []}),
        profile=json.dumps({"num_rows": int(rows), "num_elements": int(rows * columns)}),
    )
    return DatasetInput(dataset=dataset, tags={"mlflow.data.context": context})
