"""Run by the HTTP tests in the tritonclient peer venv: the real `tritonclient.http` against the
scoring service's V2 REST API, binary tensor data (its default) and JSON.

Usage: python triton_http_script.py HOST:PORT SCENARIO; prints one JSON object.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import tritonclient.http as th

SEED = {
    "alcohol": 12.8, "chlorides": 0.029, "citric acid": 0.48, "density": 0.98,
    "fixed acidity": 6.2, "free sulfur dioxide": 29, "pH": 3.33, "residual sugar": 1.2,
    "sulphates": 0.39, "total sulfur dioxide": 75, "volatile acidity": 0.66,
}  # fmt: skip


def _inputs(rows: int, binary: bool) -> list[th.InferInput]:
    inputs = []
    for name in reversed(list(SEED)):  # not the signature's order: matched by name
        tensor = th.InferInput(name, [rows], "FP64")
        tensor.set_data_from_numpy(np.full(rows, SEED[name], dtype=np.float64), binary_data=binary)
        inputs.append(tensor)
    return inputs


def main(address: str, scenario: str) -> dict[str, object]:
    client = th.InferenceServerClient(url=address)
    if scenario in ("binary", "json"):
        binary = scenario == "binary"
        result = client.infer(
            "wine",
            _inputs(3, binary),
            request_id="req-9",
            outputs=[th.InferRequestedOutput("predictions", binary_data=binary)],
        )
        response = result.get_response()
        return {
            "predictions": result.as_numpy("predictions").tolist(),
            "id": response.get("id"),
            "binary_size": response["outputs"][0].get("parameters", {}).get("binary_data_size"),
        }
    if scenario == "health":
        metadata = client.get_model_metadata("wine")
        return {
            "live": client.is_server_live(),
            "ready": client.is_server_ready(),
            "model_ready": client.is_model_ready("wine"),
            "v1_ready": client.is_model_ready("wine", "1"),
            "inputs": sorted(i["name"] for i in metadata["inputs"]),
            "versions": metadata["versions"],
        }
    if scenario == "error":
        bad = th.InferInput("nope", [1], "FP64")
        bad.set_data_from_numpy(np.zeros(1), binary_data=True)
        try:
            client.infer("wine", [bad])
        except th.InferenceServerException as exc:
            return {"status": exc.status(), "message": exc.message()}
        return {"status": None}
    raise SystemExit(f"unknown scenario {scenario}")


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
