"""Parsing of service addresses and `runs:/` / `models:/` URIs (no server needed)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mlgrpc
from mlgrpc.exceptions import InvalidArgumentError
from mlgrpc.uris import (
    MODEL_STAGES,
    ModelsUri,
    ServiceTarget,
    model_name_problem,
    parse_models_uri,
    parse_runs_uri,
    parse_service_uri,
)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("grpc://127.0.0.1:50051", ServiceTarget("127.0.0.1:50051")),
        ("127.0.0.1:50051", ServiceTarget("127.0.0.1:50051")),
        ("GRPC://tracking.internal:9000/", ServiceTarget("tracking.internal:9000")),
        ("grpcs://tracking.example.com:443", ServiceTarget("tracking.example.com:443", True)),
        ("grpc://[::1]:50051", ServiceTarget("[::1]:50051")),
        ("unix:///tmp/tracking.sock", ServiceTarget("unix:///tmp/tracking.sock")),
    ],
)
def test_service_uri_forms_are_accepted(uri: str, expected: ServiceTarget) -> None:
    assert parse_service_uri(uri) == expected


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        # gRPC is HTTP/2: an MLflow script's http URI keeps working when mlgrpc listens there.
        ("http://localhost:5000", ServiceTarget("localhost:5000")),
        ("HTTP://127.0.0.1:5000/", ServiceTarget("127.0.0.1:5000")),
        ("https://mlflow.example.com/", ServiceTarget("mlflow.example.com:443", True)),
        ("http://tracking.internal", ServiceTarget("tracking.internal:80")),
        ("https://[::1]:8443", ServiceTarget("[::1]:8443", True)),
    ],
)
def test_http_uri_is_plaintext_grpc_and_https_is_tls(uri: str, expected: ServiceTarget) -> None:
    assert parse_service_uri(uri) == expected


@pytest.mark.parametrize("uri", ["http://localhost:5000/api/2.0/mlflow", "https://host:443/x"])
def test_http_uri_with_a_rest_path_is_refused_naming_the_path(uri: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        mlgrpc.set_tracking_uri(uri)
    assert "path" in caught.value.message and "grpc://" in caught.value.message
    assert caught.value.field == "tracking_uri"


@pytest.mark.parametrize("uri", ["", "localhost", "grpc://host", "host:0", "host:99999", "a b:1"])
def test_malformed_service_uri_is_invalid_argument(uri: str) -> None:
    with pytest.raises(InvalidArgumentError):
        parse_service_uri(uri)


@given(st.text(max_size=40))
def test_service_uri_parser_raises_only_invalid_argument(text: str) -> None:
    try:
        target = parse_service_uri(text)
    except InvalidArgumentError:
        return
    assert target.address


def test_tracking_uri_defaults_to_env_then_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLGRPC_TRACKING_URI", raising=False)
    assert mlgrpc.get_tracking_uri() == "127.0.0.1:50051"
    monkeypatch.setenv("MLGRPC_TRACKING_URI", "grpc://tracking:7000")
    assert mlgrpc.get_tracking_uri() == "grpc://tracking:7000"
    mlgrpc.set_tracking_uri("grpc://other:7001")
    assert mlgrpc.get_tracking_uri() == "grpc://other:7001"


def test_registry_uri_defaults_to_env_then_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLGRPC_REGISTRY_URI", raising=False)
    assert mlgrpc.get_registry_uri() == "127.0.0.1:50052"
    monkeypatch.setenv("MLGRPC_REGISTRY_URI", "registry:7002")
    assert mlgrpc.get_registry_uri() == "registry:7002"
    mlgrpc.set_registry_uri("grpc://other:7003")
    assert mlgrpc.get_registry_uri() == "grpc://other:7003"


def test_runs_uri_splits_run_id_and_path() -> None:
    parsed = parse_runs_uri("runs:/0123abcd/model/MLmodel")
    assert (parsed.run_id, parsed.artifact_path) == ("0123abcd", "model/MLmodel")
    assert parse_runs_uri("runs:/0123abcd").artifact_path == ""


@pytest.mark.parametrize("uri", ["runs:/", "run:/abc/model", "models:/x/1"])
def test_bad_runs_uri_is_invalid_argument(uri: str) -> None:
    with pytest.raises(InvalidArgumentError):
        parse_runs_uri(uri)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("models:/wine/3", ModelsUri(name="wine", version=3)),
        ("models:/wine/Production", ModelsUri(name="wine", stage="Production")),
        ("models:/wine/production", ModelsUri(name="wine", stage="Production")),
        ("models:/wine/latest", ModelsUri(name="wine", latest=True)),
        ("models:/wine/LATEST", ModelsUri(name="wine", latest=True)),
        ("models:/wine@champion", ModelsUri(name="wine", alias="champion")),
        ("models:///wine/3", ModelsUri(name="wine", version=3)),
        # Names made before "@" was refused in them: split at the last "@", as MLflow does.
        ("models:/a@b@champion", ModelsUri(name="a@b", alias="champion")),
        ("models:/a@b/1", ModelsUri(name="a@b", version=1)),
        ("models:/team.wine v2/1", ModelsUri(name="team.wine v2", version=1)),
    ],
)
def test_models_uri_forms(uri: str, expected: ModelsUri) -> None:
    assert parse_models_uri(uri) == expected


@pytest.mark.parametrize(
    "uri",
    [
        "models:/",
        "models:/wine",
        "models:/@alias",
        "models:/wine@",
        "models:/wine/",
        "models:/wine/0",
        "models:/wine/beta",
        "models:/wine/3/MLmodel",
        "models:/wine/\u00b2",
        "models:/wine/99999999999999999999",
        "models:/wi\nne/1",
        "runs:/x",
    ],
)
def test_bad_models_uri_is_invalid_argument_naming_the_field(uri: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        parse_models_uri(uri, field="model_uri")
    assert caught.value.field == "model_uri"


@given(st.text(max_size=40))
def test_models_uri_parser_raises_only_invalid_argument(text: str) -> None:
    try:
        parsed = parse_models_uri("models:/" + text)
    except InvalidArgumentError:
        return
    assert parsed.name
    assert [
        parsed.version is not None,
        parsed.alias is not None,
        parsed.stage is not None,
        parsed.latest,
    ].count(True) == 1


_NAME = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30)
_ALIAS = st.from_regex(r"[A-Za-z_][\w\-]{0,20}", fullmatch=True)


@given(
    name=_NAME.filter(lambda n: model_name_problem(n) is None),
    which=st.sampled_from(["version", "alias", "stage", "latest"]),
    version=st.integers(min_value=1, max_value=2**63 - 1),
    alias=_ALIAS,
    stage=st.sampled_from(MODEL_STAGES),
)
def test_every_name_a_model_may_have_reads_back_from_its_uris(
    name: str, which: str, version: int, alias: str, stage: str
) -> None:
    uri = {
        "version": ModelsUri(name=name, version=version),
        "alias": ModelsUri(name=name, alias=alias),
        "stage": ModelsUri(name=name, stage=stage),
        "latest": ModelsUri(name=name, latest=True),
    }[which]
    assert parse_models_uri(str(uri)) == uri


@pytest.mark.parametrize(
    "name", ["a@b", "a/b", "a?b", "a#b", "a%40b", "a\\b", "a\x00b", ".", "..", " "]
)
def test_names_that_make_models_uris_ambiguous_have_a_problem(name: str) -> None:
    assert model_name_problem(name) is not None


@pytest.mark.parametrize("name", ["wine", "team.wine-v2", "my model", "ns:wine_1", "vin-rouge-é"])
def test_ordinary_names_have_no_problem(name: str) -> None:
    assert model_name_problem(name) is None


def test_models_uri_of_a_logged_model_names_its_id() -> None:
    model_id = "m-" + "0123456789abcdef" * 2
    parsed = parse_models_uri(f"models:/{model_id}")
    assert parsed == ModelsUri(name="", model_id=model_id)
    assert not parsed.moves
    assert str(parsed) == f"models:/{model_id}"


@pytest.mark.parametrize("uri", ["models:/m-XYZ", "models:/m-" + "0" * 31, "models:/M-" + "a" * 32])
def test_models_uri_that_is_almost_a_logged_model_id_is_invalid(uri: str) -> None:
    with pytest.raises(InvalidArgumentError):
        parse_models_uri(uri)
