"""Helpers of the observability tests: free ports, scraping /metrics, capturing log lines."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from observability_helpers import Scrape

WINE_CSV = Path(__file__).resolve().parent.parent / "fixtures" / "winequality-red.csv"


@pytest.fixture
def scrape() -> Any:
    return Scrape


@pytest.fixture
def json_log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """A function returning the JSON log lines emitted so far in this test (root logger)."""
    from mlgrpc_server.observability.logs import JsonFormatter, RequestIdFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(old_level)


@pytest.fixture(scope="session")
def wine_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed's ElasticNet on the shipped wine data, saved in the MLmodel format."""
    import pandas as pd
    from sklearn.linear_model import ElasticNet

    from mlgrpc import sklearn as mlgrpc_sklearn

    wine = pd.read_csv(WINE_CSV, sep=";")
    features = wine.drop(columns=["quality"])
    model = ElasticNet(alpha=0.5, l1_ratio=0.5, random_state=42).fit(features, wine["quality"])
    path = tmp_path_factory.mktemp("models") / "wine"
    mlgrpc_sklearn.save_model(model, path, input_example=features.head(3))
    return path
