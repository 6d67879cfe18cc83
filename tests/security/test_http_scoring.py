"""The scoring service's HTTP port keeps the gRPC port's guards: bearer tokens with
`--require-token` (the same rules: inference needs a token, health stays open) and TLS with the
same certificate, mutual TLS included."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from auth_helpers import issue_token

from mlgrpc_server.tls import TlsServerConfig

if TYPE_CHECKING:  # `conftest` is another module when several test folders are collected
    from conftest import TlsPki

BODY = json.dumps({"dataframe_records": [{"a": 1.0, "b": 0.0}]}).encode()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from mlgrpc import sklearn as mlgrpc_sklearn

    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.0, 1.0, 0.0]})
    model = LinearRegression().fit(frame, [1.0, 3.0, 3.0])
    path = tmp_path_factory.mktemp("http-models") / "tiny"
    mlgrpc_sklearn.save_model(model, path, input_example=frame.head(2))
    return path


def _serve(model_dir: Path, **config: Any) -> Any:
    from scoring_service.config import ModelSpec, ServeConfig
    from scoring_service.server import create_server

    return create_server(
        ServeConfig(models=(ModelSpec(str(model_dir), "tiny"),), port=0, http_port=0, **config)
    )


def _call(
    url: str,
    body: bytes | None = None,
    *,
    token: str | None = None,
    context: ssl.SSLContext | None = None,
) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def read_token(db_uri: str) -> str:
    return issue_token(db_uri, "read")  # migrates the database first


@pytest.fixture(scope="module")
def closed_server(model_dir: Path, db_uri: str, read_token: str) -> Iterator[Any]:
    server = _serve(model_dir, auth=True, require_token=True, auth_backend_store_uri=db_uri)
    yield server
    server.stop(grace=0)


def test_require_token_closes_http_inference_to_calls_without_one(
    closed_server: Any, read_token: str
) -> None:
    url = closed_server.http_url
    status, answer = _call(f"{url}/invocations", BODY)
    assert status == 401 and answer["error_code"] == "UNAUTHENTICATED"
    assert "Bearer" in answer["message"]
    status, answer = _call(f"{url}/invocations", BODY, token="not-a-token")
    assert status == 401
    infer = {"inputs": [{"name": n, "datatype": "FP64", "shape": [1], "data": [1.0]} for n in "ab"]}
    status, answer = _call(f"{url}/v2/models/tiny/infer", json.dumps(infer).encode())
    assert status == 401 and set(answer) == {"error"}

    token = read_token
    status, content = _call(f"{url}/invocations", BODY, token=token)
    assert status == 200 and "predictions" in json.loads(content)
    status, _ = _call(f"{url}/v2/models/tiny/infer", json.dumps(infer).encode(), token=token)
    assert status == 200


def test_health_stays_open_with_require_token(closed_server: Any) -> None:
    url = closed_server.http_url
    assert _call(f"{url}/ping")[0] == 200
    assert _call(f"{url}/v2/health/ready")[0] == 200
    assert _call(f"{url}/v2/models/tiny/ready")[0] == 200


def _client_context(pki: TlsPki, *, with_cert: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=pki.ca)
    if with_cert:
        context.load_cert_chain(pki.client_cert, pki.client_key)
    return context


def test_tls_serves_https_with_the_services_certificate(model_dir: Path, tls_pki: TlsPki) -> None:
    server = _serve(
        model_dir, tls=TlsServerConfig.from_files(tls_pki.service_cert, tls_pki.service_key)
    )
    try:
        assert server.http_url.startswith("https://")
        context = _client_context(tls_pki, with_cert=False)
        status, content = _call(f"{server.http_url}/invocations", BODY, context=context)
        assert status == 200 and "predictions" in json.loads(content)
        plain = server.http_url.replace("https://", "http://")
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            _call(f"{plain}/ping")
    finally:
        server.stop(grace=0)


def test_mutual_tls_refuses_a_client_without_a_certificate(
    model_dir: Path, tls_pki: TlsPki
) -> None:
    tls = TlsServerConfig.from_files(
        tls_pki.service_cert, tls_pki.service_key, tls_pki.ca, require_client_cert=True
    )
    server = _serve(model_dir, tls=tls)
    try:
        url = f"{server.http_url}/invocations"
        status, _ = _call(url, BODY, context=_client_context(tls_pki, with_cert=True))
        assert status == 200
        with pytest.raises((urllib.error.URLError, ConnectionError, ssl.SSLError)):
            _call(url, BODY, context=_client_context(tls_pki, with_cert=False))
    finally:
        server.stop(grace=0)
