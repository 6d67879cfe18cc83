"""Models in MLflow's on-disk format: the MLmodel file, signatures, input examples, environments.

`from mlgrpc.models import infer_signature, ModelSignature, Model` works as in MLflow.
Importing it loads numpy and PyYAML only (pandas, scikit-learn and skops load when needed).
"""

from mlgrpc.models.errors import ModelFormatError, ModelUriError, UnsafeModelError
from mlgrpc.models.model import MLMODEL_FILE_NAME, Model, ModelInfo
from mlgrpc.models.schema_enforcement import (
    SchemaEnforcementError,
    enforce_schema,
)
from mlgrpc.models.signature import ColSpec, ModelSignature, Schema, TensorSpec, infer_signature

__all__ = [
    "MLMODEL_FILE_NAME",
    "ColSpec",
    "Model",
    "ModelFormatError",
    "ModelInfo",
    "ModelSignature",
    "ModelUriError",
    "Schema",
    "SchemaEnforcementError",
    "TensorSpec",
    "UnsafeModelError",
    "enforce_schema",
    "infer_signature",
]
