"""Models in MLflow's on-disk format: the MLmodel file, signatures, input examples, environments.

`from mlgrpc.models import infer_signature, ModelSignature, Model` works as in MLflow.
Importing it loads numpy and PyYAML only (pandas, scikit-learn and skops load when needed).
"""

from mlgrpc.models.errors import ModelFormatError, ModelUriError, UnsafeModelError
from mlgrpc.models.model import MLMODEL_FILE_NAME, Model, ModelInfo
from mlgrpc.models.schema_enforcement import (
    NumericInputPlan,
    SchemaEnforcementError,
    enforce_numeric,
    enforce_schema,
    numeric_plan,
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
    "NumericInputPlan",
    "Schema",
    "SchemaEnforcementError",
    "TensorSpec",
    "UnsafeModelError",
    "enforce_numeric",
    "enforce_schema",
    "infer_signature",
    "numeric_plan",
]
