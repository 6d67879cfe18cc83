"""The MLmodel file: a model directory's table of contents, in MLflow 3's YAML layout.

Keys we write (as MLflow 3.17 does): `artifact_path`, `flavors`, `model_size_bytes`,
`model_uuid`, `run_id`, `saved_input_example_info`, `signature`, `utc_time_created`, and
`is_signature_from_type_hint: false`. We do not write `mlflow_version`: MLflow's
`Model.from_dict` fills it with None when absent and no loader reads it. Keys we do not know are
kept and written back unchanged, so a round trip through mlgrpc loses nothing MLflow wrote.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from mlgrpc.models.environment import YAML_DUMPER
from mlgrpc.models.signature import ModelSignature, Schema

MLMODEL_FILE_NAME = "MLmodel"
# libyaml's safe loader/dumper when available: the pure-Python ones cost milliseconds per file.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
PYFUNC_FLAVOR = "python_function"

# Keys with a typed attribute on Model; anything else lands in `extra`.
_KNOWN_KEYS = frozenset(
    {
        "artifact_path",
        "run_id",
        "utc_time_created",
        "flavors",
        "signature",
        "saved_input_example_info",
        "model_uuid",
        "model_size_bytes",
        "metadata",
        "model_id",
    }
)


def _utc_now_text() -> str:
    # MLflow writes str() of a naive UTC datetime: "2026-11-25 03:56:01.123456".
    return str(datetime.now(UTC).replace(tzinfo=None))


@dataclass
class Model:
    """An MLmodel file in memory."""

    artifact_path: str | None = None
    run_id: str | None = None
    utc_time_created: str = field(default_factory=_utc_now_text)
    flavors: dict[str, dict[str, Any]] = field(default_factory=dict)
    signature: ModelSignature | None = None
    saved_input_example_info: dict[str, Any] | None = None
    model_uuid: str = field(default_factory=lambda: uuid.uuid4().hex)
    model_size_bytes: int | None = None
    metadata: dict[str, Any] | None = None
    model_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def add_flavor(self, name: str, **params: Any) -> Model:
        self.flavors[name] = params
        return self

    def get_input_schema(self) -> Schema | None:
        return self.signature.inputs if self.signature else None

    def get_output_schema(self) -> Schema | None:
        return self.signature.outputs if self.signature else None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.extra)
        data.update(
            artifact_path=self.artifact_path,
            run_id=self.run_id,
            utc_time_created=self.utc_time_created,
            flavors=self.flavors,
            model_uuid=self.model_uuid,
            model_id=self.model_id,
        )
        data.setdefault("is_signature_from_type_hint", False)
        if self.signature is not None:
            data["signature"] = self.signature.to_dict()
        if self.saved_input_example_info is not None:
            data["saved_input_example_info"] = self.saved_input_example_info
        if self.model_size_bytes is not None:
            data["model_size_bytes"] = self.model_size_bytes
        if self.metadata is not None:
            data["metadata"] = self.metadata
        return data

    def to_yaml(self) -> str:
        return yaml.dump(self.to_dict(), Dumper=YAML_DUMPER, default_flow_style=False)

    def save(self, path: str | os.PathLike[str]) -> None:
        Path(path).write_text(self.to_yaml(), encoding="utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        signature = data.get("signature")
        return cls(
            artifact_path=data.get("artifact_path"),
            run_id=data.get("run_id"),
            utc_time_created=str(data.get("utc_time_created") or _utc_now_text()),
            flavors=dict(data.get("flavors") or {}),
            signature=ModelSignature.from_dict(signature) if isinstance(signature, dict) else None,
            saved_input_example_info=data.get("saved_input_example_info"),
            model_uuid=data.get("model_uuid") or uuid.uuid4().hex,
            model_size_bytes=data.get("model_size_bytes"),
            metadata=data.get("metadata"),
            model_id=data.get("model_id"),
            extra={k: v for k, v in data.items() if k not in _KNOWN_KEYS},
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read `path`: an MLmodel file or a model directory holding one."""
        path = Path(path)
        if path.is_dir():
            path = path / MLMODEL_FILE_NAME
        if not path.is_file():
            raise FileNotFoundError(
                f"no MLmodel file at {path}: is this a model directory saved by mlgrpc or MLflow?"
            )
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
        if not isinstance(data, dict):
            raise ValueError(f"{path} is not an MLmodel file: expected a YAML mapping")
        return cls.from_dict(data)


@dataclass(frozen=True)
class ModelInfo:
    """What `log_model` returns: where the model went and what it is."""

    artifact_path: str
    run_id: str
    model_uri: str
    flavors: dict[str, dict[str, Any]]
    signature: ModelSignature | None
    model_uuid: str
    utc_time_created: str
    saved_input_example_info: dict[str, Any] | None = None
    registered_model_version: int | None = None
    metadata: dict[str, Any] | None = None


def directory_size_bytes(path: str | os.PathLike[str]) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(root, name))
    return total
