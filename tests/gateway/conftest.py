"""The gateway in-process on a free loopback port, in front of the real tracking service
(`tracking_server`, SQLite and MariaDB); the helpers are in gateway_helpers.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gateway_helpers import Gateway, serve_gateway


@pytest.fixture(scope="module")
def gateway_url(tracking_server: str) -> Iterator[str]:
    """`http://127.0.0.1:PORT` of a gateway (uvicorn in a thread) before `tracking_server`."""
    with serve_gateway(tracking_server) as url:
        yield url


@pytest.fixture(scope="module")
def gateway(gateway_url: str) -> Gateway:
    return Gateway(gateway_url)


@pytest.fixture(scope="module")
def registry_gateway_url(tracking_server: str, registry_server: str) -> Iterator[str]:
    """`http://127.0.0.1:PORT` of a gateway before `tracking_server` and `registry_server`."""
    with serve_gateway(tracking_server, registry_server) as url:
        yield url


@pytest.fixture(scope="module")
def registry_gateway(registry_gateway_url: str) -> Gateway:
    return Gateway(registry_gateway_url)
