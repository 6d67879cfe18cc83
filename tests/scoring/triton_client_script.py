"""Run by the OIP tests in a process of its own: tritonclient registers the `inference.*`
protobuf symbols too, so it cannot share a process with `mlgrpc.inference`.

Usage: python triton_client_script.py ADDRESS SCENARIO; prints one JSON object.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import tritonclient.grpc as tc

SEED = {
    "alcohol": 12.8, "chlorides": 0.029, "citric acid": 0.48, "density": 0.98,
    "fixed acidity": 6.2, "free sulfur dioxide": 29, "pH": 3.33, "residual sugar": 1.2,
    "sulphates": 0.39, "total sulfur dioxide": 75, "volatile acidity": 0.66,
}  # fmt: skip


def _inputs(names: list[str], rows: int) -> list[tc.InferInput]:
    inputs = []
    for name in names:
        tensor = tc.InferInput(name, [rows], "FP64")
        tensor.set_data_from_numpy(np.full(rows, SEED[name], dtype=np.float64))
        inputs.append(tensor)
    return inputs


def main(address: str, scenario: str) -> dict[str, object]:
    client = tc.InferenceServerClient(url=address)
    names = list(SEED)
    if scenario == "infer":
        result = client.infer("wine", _inputs(names, 2), request_id="req-7")
        response = result.get_response()
        return {
            "predictions": result.as_numpy("predictions").tolist(),
            "id": response.id,
            "version": response.model_version,
            "raw_outputs": len(response.raw_output_contents),
        }
    if scenario == "reversed":
        result = client.infer("wine", _inputs(list(reversed(names)), 1))
        return {"predictions": result.as_numpy("predictions").tolist()}
    if scenario == "health":
        metadata = client.get_model_metadata("wine")
        try:
            client.get_model_config("wine")
            config_status = "OK"
        except tc.InferenceServerException as exc:
            config_status = str(exc.status())
        return {
            "live": client.is_server_live(),
            "ready": client.is_server_ready(),
            "model_ready": client.is_model_ready("wine"),
            "v1_ready": client.is_model_ready("wine", "1"),
            "v2_ready": client.is_model_ready("wine", "2"),
            "versions": list(metadata.versions),
            "inputs": sorted(i.name for i in metadata.inputs),
            "datatypes": sorted({i.datatype for i in metadata.inputs}),
            "outputs": [o.name for o in metadata.outputs],
            "model_config": config_status,
        }
    raise SystemExit(f"unknown scenario {scenario}")


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
