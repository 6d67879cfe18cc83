"""TLS on the three services and on the calls between them, with a throw-away PKI.

The stack of this module: tracking requires client certificates (mutual TLS); the registry
serves TLS and calls tracking presenting its own certificate; the scoring service serves TLS
and loads a `models:/` URI through both. SQLite only: TLS does not touch the database.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mlgrpc import artifacts
from mlgrpc.registry.v1 import registry_service_pb2 as rpb
from mlgrpc.registry.v1 import registry_service_pb2_grpc as rpb_grpc
from mlgrpc.scoring.v1 import scoring_service_pb2 as spb
from mlgrpc.scoring.v1 import scoring_service_pb2_grpc as spb_grpc
from mlgrpc.tracking.v1 import tracking_service_pb2 as tpb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as tpb_grpc
from mlgrpc_server.bootstrap import RunningServer
from mlgrpc_server.tls import TlsChannelConfig, TlsServerConfig, read_pem

if TYPE_CHECKING:
    from conftest import TlsPki

GRPCURL = Path(sys.executable).parent / "grpcurl"


@dataclass
class Stack:
    tracking: RunningServer
    registry: RunningServer

    @property
    def tracking_address(self) -> str:
        return f"127.0.0.1:{self.tracking.port}"

    @property
    def registry_address(self) -> str:
        return f"127.0.0.1:{self.registry.port}"


def _credentials(
    pki: TlsPki, *, ca: str | None = None, client_cert: bool = True
) -> grpc.ChannelCredentials:
    """What a client of the stack presents: our CA (or `ca`) and, unless told not, its cert."""
    return grpc.ssl_channel_credentials(
        root_certificates=read_pem(ca or pki.ca, "ca"),
        private_key=read_pem(pki.client_key, "key") if client_cert else None,
        certificate_chain=read_pem(pki.client_cert, "cert") if client_cert else None,
    )


def _health(channel: grpc.Channel) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    return stub.Check(health_pb2.HealthCheckRequest(), timeout=5).status


def _service_tls(pki: TlsPki, *, mutual: bool) -> TlsServerConfig:
    client_ca = pki.ca if mutual else None
    return TlsServerConfig.from_files(pki.service_cert, pki.service_key, client_ca, mutual)


def _peer_tls(pki: TlsPki, *, client_cert: bool = True) -> TlsChannelConfig:
    """How a service calls the others: our CA, and its own certificate as client certificate."""
    if not client_cert:
        return TlsChannelConfig(read_pem(pki.ca, "ca"))
    return TlsChannelConfig(
        read_pem(pki.ca, "ca"),
        read_pem(pki.service_cert, "cert"),
        read_pem(pki.service_key, "key"),
    )


@pytest.fixture(scope="module")
def stack(
    new_database: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory, tls_pki: TlsPki
) -> Iterator[Stack]:
    from registry_service.server import create_server as create_registry
    from tracking_service.server import create_server as create_tracking

    db_uri = new_database("sqlite")
    tracking = create_tracking(
        backend_store_uri=db_uri,
        default_artifact_root=str(tmp_path_factory.mktemp("artifacts")),
        tls=_service_tls(tls_pki, mutual=True),
    )
    registry = create_registry(
        backend_store_uri=db_uri,
        tracking_address=f"127.0.0.1:{tracking.port}",
        tls=_service_tls(tls_pki, mutual=False),
        tracking_tls=_peer_tls(tls_pki),
    )
    yield Stack(tracking, registry)
    registry.stop(grace=0)
    tracking.stop(grace=0)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from mlgrpc import sklearn as mlgrpc_sklearn

    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    model = LinearRegression().fit(frame, 2 * frame["a"] + 1)
    path = tmp_path_factory.mktemp("models") / "doubler"
    mlgrpc_sklearn.save_model(model, path, input_example=frame.head(2))
    return path


# ---- serving TLS ---------------------------------------------------------------------------------


def test_a_client_trusting_the_ca_reaches_the_service(stack: Stack, tls_pki: TlsPki) -> None:
    credentials = _credentials(tls_pki, client_cert=False)
    with grpc.secure_channel(stack.registry_address, credentials) as channel:
        assert _health(channel) == health_pb2.HealthCheckResponse.SERVING


def test_a_plaintext_client_is_refused(stack: Stack) -> None:
    with (
        grpc.insecure_channel(stack.registry_address) as channel,
        pytest.raises(grpc.RpcError) as caught,
    ):
        _health(channel)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_client_trusting_another_ca_is_refused(stack: Stack, tls_pki: TlsPki) -> None:
    credentials = _credentials(tls_pki, ca=tls_pki.other_ca, client_cert=False)
    with (
        grpc.secure_channel(stack.registry_address, credentials) as channel,
        pytest.raises(grpc.RpcError) as caught,
    ):
        _health(channel)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_refuses_a_client_without_a_certificate(stack: Stack, tls_pki: TlsPki) -> None:
    credentials = _credentials(tls_pki, client_cert=False)
    with (
        grpc.secure_channel(stack.tracking_address, credentials) as channel,
        pytest.raises(grpc.RpcError) as caught,
    ):
        _health(channel)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_accepts_a_client_certificate_of_the_ca(stack: Stack, tls_pki: TlsPki) -> None:
    with grpc.secure_channel(stack.tracking_address, _credentials(tls_pki)) as channel:
        assert _health(channel) == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.skipif(not GRPCURL.exists(), reason="grpcurl is not installed")
def test_grpcurl_lists_the_services_over_mutual_tls(stack: Stack, tls_pki: TlsPki) -> None:
    done = subprocess.run(
        [
            str(GRPCURL),
            "-cacert", tls_pki.ca, "-cert", tls_pki.client_cert, "-key", tls_pki.client_key,
            f"localhost:{stack.tracking.port}",
            "list",
        ],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "mlgrpc.tracking.v1.TrackingService" in done.stdout.split()


# ---- service to service --------------------------------------------------------------------------


def _register(stack: Stack, pki: TlsPki, model_dir: Path, name: str) -> int:
    """A run in tracking holding `model_dir`, registered as a version of `name`."""
    credentials = _credentials(pki)
    with (
        grpc.secure_channel(stack.tracking_address, credentials) as tracking_channel,
        grpc.secure_channel(stack.registry_address, credentials) as registry_channel,
    ):
        tracking = tpb_grpc.TrackingServiceStub(tracking_channel)
        run = tracking.CreateRun(tpb.CreateRunRequest(experiment_id="0"), timeout=10).run
        artifacts.upload_dir(tracking, run.info.run_id, model_dir, "model")
        registry = rpb_grpc.ModelRegistryServiceStub(registry_channel)
        registry.CreateRegisteredModel(rpb.CreateRegisteredModelRequest(name=name), timeout=10)
        created = registry.CreateModelVersion(
            rpb.CreateModelVersionRequest(name=name, source=f"runs:/{run.info.run_id}/model"),
            timeout=10,
        )
    assert created.model_version.run_id == run.info.run_id
    return int(created.model_version.version)


def test_the_registry_reads_runs_from_tracking_over_mutual_tls(
    stack: Stack, tls_pki: TlsPki, model_dir: Path
) -> None:
    assert _register(stack, tls_pki, model_dir, "tls-registry") == 1


def test_a_registry_without_a_client_certificate_cannot_read_runs(
    stack: Stack, tls_pki: TlsPki, new_database: Callable[[str], str]
) -> None:
    from registry_service.server import create_server as create_registry

    registry = create_registry(
        backend_store_uri=new_database("sqlite"),
        tracking_address=stack.tracking_address,
        tracking_tls=_peer_tls(tls_pki, client_cert=False),
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{registry.port}") as channel:
            stub = rpb_grpc.ModelRegistryServiceStub(channel)
            stub.CreateRegisteredModel(rpb.CreateRegisteredModelRequest(name="m"), timeout=10)
            with pytest.raises(grpc.RpcError) as caught:
                stub.CreateModelVersion(
                    rpb.CreateModelVersionRequest(name="m", source="runs:/0123abcd/model"),
                    timeout=10,
                )
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert stack.tracking_address in (caught.value.details() or "")
    finally:
        registry.stop(grace=0)


def test_scoring_loads_a_models_uri_over_tls_and_answers_predict_over_tls(
    stack: Stack, tls_pki: TlsPki, model_dir: Path, tmp_path: Path
) -> None:
    from scoring_service.config import ModelSpec, ServeConfig
    from scoring_service.server import create_server as create_scoring

    version = _register(stack, tls_pki, model_dir, "tls-scoring")
    config = ServeConfig(
        models=(ModelSpec(f"models:/tls-scoring/{version}"),),
        port=0,
        registry_address=stack.registry_address,
        tracking_address=stack.tracking_address,
        cache_dir=tmp_path / "cache",
        tls=_service_tls(tls_pki, mutual=False),
        peer_tls=_peer_tls(tls_pki),
    )
    scoring = create_scoring(config)
    try:
        request = spb.PredictRequest()
        request.dataframe_split.columns.extend(["a", "b"])
        request.dataframe_split.data.add().extend([4.0, 1.0])
        credentials = _credentials(tls_pki, client_cert=False)
        with grpc.secure_channel(scoring.address, credentials) as channel:
            reply = spb_grpc.ScoringServiceStub(channel).Predict(request, timeout=10)
        assert reply.model_name == "tls-scoring"
        assert reply.predictions.values[0].number_value == pytest.approx(9.0)
    finally:
        scoring.stop(grace=0)


# ---- the client library --------------------------------------------------------------------------


def test_the_fluent_client_speaks_tls_from_environment_variables(
    stack: Stack, tls_pki: TlsPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlgrpc

    monkeypatch.setenv("MLGRPC_TRACKING_URI", f"grpcs://localhost:{stack.tracking.port}")
    monkeypatch.setenv("MLGRPC_TLS_CA", tls_pki.ca)
    monkeypatch.setenv("MLGRPC_TLS_CERT", tls_pki.client_cert)
    monkeypatch.setenv("MLGRPC_TLS_KEY", tls_pki.client_key)
    # The Default experiment named here: another module may have left an active one behind.
    with mlgrpc.start_run(experiment_id="0") as run:
        mlgrpc.log_metric("loss", 0.25)
    fetched = mlgrpc.MlgrpcClient().get_run(run.info.run_id)
    assert fetched.data.metrics["loss"] == 0.25


def test_the_client_takes_the_tls_files_as_arguments(stack: Stack, tls_pki: TlsPki) -> None:
    import mlgrpc

    client = mlgrpc.MlgrpcClient(
        f"grpcs://127.0.0.1:{stack.tracking.port}",
        f"grpcs://127.0.0.1:{stack.registry.port}",
        tls_ca=tls_pki.ca,
        tls_cert=tls_pki.client_cert,
        tls_key=tls_pki.client_key,
    )
    assert client.get_experiment("0").name == "Default"
    assert client.create_registered_model("tls-client").name == "tls-client"


def test_a_client_without_its_certificate_gets_unavailable_from_mutual_tls(
    stack: Stack, tls_pki: TlsPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlgrpc
    from mlgrpc.exceptions import UnavailableError

    monkeypatch.setenv("MLGRPC_CLIENT_TIMEOUT", "5")
    client = mlgrpc.MlgrpcClient(f"grpcs://127.0.0.1:{stack.tracking.port}", tls_ca=tls_pki.ca)
    with pytest.raises(UnavailableError):
        client.get_experiment("0")


def test_a_missing_ca_file_is_invalid_argument_naming_it(tls_pki: TlsPki, tmp_path: Path) -> None:
    import mlgrpc
    from mlgrpc.exceptions import InvalidArgumentError

    missing = str(tmp_path / "nowhere.pem")
    with pytest.raises(InvalidArgumentError) as caught:
        mlgrpc.MlgrpcClient("grpcs://127.0.0.1:1", tls_ca=missing)
    assert caught.value.field == "tls_ca"
    assert missing in caught.value.message


def test_the_gateways_calls_awaited_on_its_loop_speak_mutual_tls(
    stack: Stack, tls_pki: TlsPki
) -> None:
    import asyncio

    from gateway.service_calls import ServiceCalls
    from mlgrpc.exceptions import UnavailableError
    from mlgrpc.tls import ClientTls

    def search(tls: ClientTls) -> tpb.SearchRunsResponse:
        calls = ServiceCalls(
            f"grpcs://localhost:{stack.tracking.port}",
            "mlgrpc.tracking.v1.TrackingService",
            tpb_grpc.TrackingServiceStub,
            tls,
        )
        request = tpb.SearchRunsRequest(experiment_ids=["0"], max_results=1)
        return asyncio.run(calls.call_async("SearchRuns", request))

    with_certificate = ClientTls(tls_pki.ca, tls_pki.client_cert, tls_pki.client_key)
    assert isinstance(search(with_certificate), tpb.SearchRunsResponse)
    with pytest.raises(UnavailableError):
        search(ClientTls(tls_pki.ca))
