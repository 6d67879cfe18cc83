"""The registry, the scoring service's follower and the client read a `models:/` URI alike."""

from __future__ import annotations

import pytest

from mlgrpc.uris import parse_models_uri as client_parse
from registry_service.uris import parse_models_uri as registry_parse
from scoring_service.follow import FollowTarget
from scoring_service.models.source import follows

URIS = [
    "models:/wine/3",
    "models:/wine@champion",
    "models:/wine/Production",
    "models:/wine/staging",
    "models:/wine/latest",
    "models:/a@b@champion",
    "models:/a@b/1",
    "models:/a@b/Staging",
    "models:///wine@champion",
]


@pytest.mark.parametrize("uri", URIS)
def test_registry_and_client_read_the_same_model_and_target(uri: str) -> None:
    assert registry_parse(uri) == client_parse(uri)


@pytest.mark.parametrize("uri", URIS)
def test_scoring_follows_the_model_the_registry_resolves(uri: str) -> None:
    parsed = registry_parse(uri)
    assert follows(uri) == (parsed.version is None)
    if follows(uri):
        assert FollowTarget.parse(uri).registered_name == parsed.name


@pytest.mark.parametrize("uri", ["models:/wine/3/MLmodel", "models:/wine/", "models:/m-0123abcd"])
def test_a_uri_the_registry_refuses_is_followed_nowhere(uri: str) -> None:
    with pytest.raises(Exception):  # noqa: B017 - each side's own InvalidArgument
        registry_parse(uri)
    assert not follows(uri)
