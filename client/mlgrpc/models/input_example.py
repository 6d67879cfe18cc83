"""Input examples: `input_example.json` and `serving_input_example.json`, as MLflow 3 writes them.

A DataFrame (or a dict/list of rows, turned into one) is stored in pandas "split" orient without
the index — `{"columns": [...], "data": [[...], ...]}` — and its serving twin wraps it as
`{"dataframe_split": {...}}`, the body `/invocations` and our Predict RPC accept. A numpy array
is stored as `{"inputs": [...]}` (TF-serving), its serving twin likewise.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

INPUT_EXAMPLE_FILE = "input_example.json"
SERVING_INPUT_EXAMPLE_FILE = "serving_input_example.json"


class _NumpyJSONEncoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, (bytes, bytearray)):
            import base64

            return base64.b64encode(o).decode("ascii")
        if hasattr(o, "isoformat"):
            return o.isoformat()
        return super().default(o)


def _as_frame_or_array(example: Any) -> Any:
    import pandas as pd

    if isinstance(example, (pd.DataFrame, np.ndarray)):
        return example
    if isinstance(example, pd.Series):
        return example.to_frame()
    if isinstance(example, dict):
        if all(not isinstance(v, (list, tuple, np.ndarray)) for v in example.values()):
            return pd.DataFrame([example])
        return pd.DataFrame(example)
    if isinstance(example, list):
        return pd.DataFrame(example)
    raise TypeError(
        f"unsupported input example type {type(example).__name__}; pass a pandas DataFrame, "
        "a numpy array, a dict of columns or a list of rows"
    )


def to_model_input(example: Any) -> Any:
    """The example in the form a model's predict takes (DataFrame or ndarray)."""
    return _as_frame_or_array(example)


def _split_payload(frame: Any) -> dict[str, Any]:
    rows = frame.astype(object).where(frame.notna(), None).values.tolist()
    # JSON has no NaN: missing values are written as null, as MLflow does.
    rows = [[None if isinstance(v, float) and math.isnan(v) else v for v in row] for row in rows]
    return {"columns": [str(c) for c in frame.columns], "data": rows}


def save_input_example(example: Any, model_dir: str | Path) -> dict[str, Any]:
    """Write both example files into `model_dir`; returns `saved_input_example_info`."""
    import pandas as pd

    model_dir = Path(model_dir)
    data = _as_frame_or_array(example)
    if isinstance(data, pd.DataFrame):
        payload: dict[str, Any] = _split_payload(data)
        serving: dict[str, Any] = {"dataframe_split": payload}
        info: dict[str, Any] = {
            "artifact_path": INPUT_EXAMPLE_FILE,
            "type": "dataframe",
            "pandas_orient": "split",
        }
    else:
        payload = {"inputs": data.tolist()}
        serving = payload
        info = {"artifact_path": INPUT_EXAMPLE_FILE, "type": "ndarray", "format": "tf-serving"}
    (model_dir / INPUT_EXAMPLE_FILE).write_text(json.dumps(payload, cls=_NumpyJSONEncoder))
    (model_dir / SERVING_INPUT_EXAMPLE_FILE).write_text(
        json.dumps(serving, cls=_NumpyJSONEncoder, indent=2)
    )
    info["serving_input_path"] = SERVING_INPUT_EXAMPLE_FILE
    return info


def load_input_example(model_dir: str | Path, info: dict[str, Any] | None) -> Any:
    """The saved example as a DataFrame or ndarray, or None when the model has none."""
    import pandas as pd

    if not info:
        return None
    payload = json.loads((Path(model_dir) / info["artifact_path"]).read_text())
    if info.get("type") == "dataframe":
        return pd.DataFrame(payload["data"], columns=payload["columns"])
    if info.get("type") == "ndarray":
        inputs = payload["inputs"]
        if isinstance(inputs, dict):
            return {k: np.asarray(v) for k, v in inputs.items()}
        return np.asarray(inputs)
    return payload
