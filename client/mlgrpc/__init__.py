"""mlgrpc: experiment tracking, a model registry and model serving over gRPC.

`import mlgrpc` (or `import mlgrpc as mlflow`) gives the fluent API for training code. It never
imports SQLAlchemy or any service code.
"""

__version__ = "0.1.0"
