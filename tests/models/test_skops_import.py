"""`mlgrpc.models.skops_import`: skops imported with cached trusted-type lists must trust exactly
what a plain `import skops.io` trusts, and a cache file that cannot be trusted is ignored.

Each case runs in a fresh interpreter: skops computes its lists once, when first imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import json, sys
import sklearn.linear_model
from mlgrpc.models.skops_import import import_skops_io
import_skops_io()
import skops.io._trusted_types as t
lists = {k: list(getattr(t, k)) for k in dir(t) if k.endswith("_TYPE_NAMES")}
patched = __import__("sklearn.utils").utils.all_estimators.__module__
print(json.dumps({"lists": lists, "all_estimators_module": patched}))
"""


def _trusted_lists(cache: str) -> dict[str, object]:
    env = {**os.environ, "MLGRPC_SKOPS_TYPES_CACHE": cache, "PYTHONWARNINGS": "ignore"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def plain_lists() -> dict[str, object]:
    return _trusted_lists("off")["lists"]  # type: ignore[return-value]


def test_cached_lists_equal_the_computed_ones(
    tmp_path: Path, plain_lists: dict[str, object]
) -> None:
    first = _trusted_lists(str(tmp_path))  # computes the lists and writes the cache
    files = list(tmp_path.glob("*.json"))
    assert len(files) == 1 and files[0].stat().st_mode & 0o077 == 0
    second = _trusted_lists(str(tmp_path))  # answered from the cache
    assert first["lists"] == plain_lists
    assert second["lists"] == plain_lists
    # The stand-in was only in place while skops computed its lists.
    assert second["all_estimators_module"] == "sklearn.utils.discovery"


def test_a_tampered_cache_is_ignored(tmp_path: Path, plain_lists: dict[str, object]) -> None:
    _trusted_lists(str(tmp_path))
    cache_file = next(tmp_path.glob("*.json"))
    data = json.loads(cache_file.read_text())
    data["sklearn_estimators"].append("builtins.eval")
    cache_file.write_text(json.dumps(data))
    assert _trusted_lists(str(tmp_path))["lists"] == plain_lists


def test_a_cache_others_can_write_is_ignored(
    tmp_path: Path, plain_lists: dict[str, object]
) -> None:
    _trusted_lists(str(tmp_path))
    cache_file = next(tmp_path.glob("*.json"))
    data = json.loads(cache_file.read_text())
    data["sklearn_estimators"] = data["sklearn_estimators"][:1]  # would narrow the trust
    cache_file.write_text(json.dumps(data))
    cache_file.chmod(0o666)
    assert _trusted_lists(str(tmp_path))["lists"] == plain_lists
