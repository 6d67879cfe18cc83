"""Loading models by URI into the registry, at start and through the admin RPCs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace

from mlgrpc_server.errors import FailedPrecondition, InvalidArgument
from scoring_service.batching.adaptive import AdaptiveBatcher
from scoring_service.config import ModelSpec, ServeConfig
from scoring_service.models.loaded import LoadedModel
from scoring_service.models.loader import load_model_dir
from scoring_service.models.served_models import ServedModels
from scoring_service.models.source import SourceResolver

logger = logging.getLogger(__name__)


class ModelManager:
    """Owns the registry of served models and turns URIs into served models."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.registry = ServedModels()
        self.resolver = SourceResolver(config)
        self._ready = threading.Event()
        self._on_ready: list[Callable[[bool], None]] = []

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def on_ready(self, callback: Callable[[bool], None]) -> None:
        self._on_ready.append(callback)

    def set_ready(self, ready: bool) -> None:
        (self._ready.set if ready else self._ready.clear)()
        self.registry.loading = not ready
        for callback in self._on_ready:
            callback(ready)

    def load(self, uri: str, name: str | None = None, *, shown_uri: str = "") -> LoadedModel:
        """Resolve, download if needed, load and serve `uri` under `name` (or its own name).

        `shown_uri` is the URI reported as the model's source (the alias URI a follower
        resolved to `uri`).
        """
        source = self.resolver.resolve(uri)
        loaded = load_model_dir(source.local_dir, allow_pickle=self.config.allow_pickle)
        model = loaded.with_identity(
            name=name or source.default_name, version=source.version, source_uri=shown_uri or uri
        )
        if source.run_id and not model.run_id:
            model = replace(model, run_id=source.run_id)
        model = self._with_batching(model)
        previous = self.registry.put(model)
        if previous is not None and "batcher" in previous.extra:
            previous.extra["batcher"].close()
        if previous is not None and "early" in previous.extra:
            previous.extra["early"].resolve(model)  # requests waiting on the full model go on
            logger.info("%s v%s: full model loaded from %s", model.name, model.version, uri)
        elif previous is None:
            logger.info("serving %s v%s from %s", model.name, model.version, uri)
        else:
            logger.info("%s: v%s replaced by v%s", model.name, previous.version, model.version)
        return model

    def serve_early(self, specs: tuple[ModelSpec, ...]) -> bool:
        """Serve numpy-only stand-ins (`early_linear`) when EVERY model has one; else nothing.

        The caller then loads the full models (`load_all`), which replace the stand-ins, and
        calls `fail_early` if that fails.
        """
        from scoring_service.models.early_linear import PendingFullModel, numpy_stand_in

        stand_ins = []
        for spec in specs:
            source = self.resolver.resolve(spec.uri)
            early = numpy_stand_in(source.local_dir, PendingFullModel())
            if early is None:
                return False
            early = early.with_identity(
                name=spec.name or source.default_name, version=source.version, source_uri=spec.uri
            )
            if source.run_id and not early.run_id:
                early = replace(early, run_id=source.run_id)
            stand_ins.append(early)
        for early in stand_ins:
            self.registry.put(self._with_batching(early))
            logger.info("serving %s v%s (numpy only) while it loads", early.name, early.version)
        return True

    def fail_early(self, error: BaseException) -> None:
        """The full load behind the early stand-ins failed: stop serving them."""
        self.set_ready(False)
        for model in self.registry.all():
            if "early" in model.extra:
                model.extra["early"].fail(error)
                self.registry.remove(model.name)
                if "batcher" in model.extra:
                    model.extra["batcher"].close()

    def _with_batching(self, model: LoadedModel) -> LoadedModel:
        """Route fast-path predictions through an adaptive batcher when it is configured."""
        size, wait_ms = self.config.max_batch_size, self.config.max_batch_time_ms
        if size <= 1 or wait_ms <= 0 or model.predict_matrix is None:
            return model
        batcher = AdaptiveBatcher(
            model.predict_matrix,
            max_batch_size=size,
            max_batch_time_s=wait_ms / 1000,
            name=model.name,
        )
        return replace(
            model, predict_matrix=batcher.predict, extra={**model.extra, "batcher": batcher}
        )

    def load_all(self, specs: tuple[ModelSpec, ...]) -> list[LoadedModel]:
        return [self.load(spec.uri, spec.name) for spec in specs]

    def load_from_request(self, name: str, uri: str) -> LoadedModel:
        self._require_model_control("LoadModel")
        if not uri:
            raise InvalidArgument(
                "model_uri is empty; give the URI of the model", field="model_uri"
            )
        return self.load(uri, name or None)

    def unload(self, name: str) -> None:
        self._require_model_control("UnloadModel")
        removed = self.registry.remove(name)
        if "batcher" in removed.extra:
            removed.extra["batcher"].close()

    @property
    def model_control(self) -> bool:
        """Whether LoadModel/UnloadModel may change what this server serves.

        Off unless the operator turned it on (`--enable-model-control`) or turned on `--auth`,
        under which the auth interceptor lets only admin tokens reach these RPCs: whoever
        reaches the port must not otherwise be able to swap or withdraw the served models.
        """
        return self.config.model_control or self.config.auth

    def _require_model_control(self, rpc: str) -> None:
        if not self.model_control:
            raise FailedPrecondition(
                f"{rpc} is disabled: model control is off on this server. Start it with "
                "--enable-model-control (env MLGRPC_ENABLE_MODEL_CONTROL=true) to let callers "
                "load and unload models, or with --auth to let admin tokens do so"
            )
        if self.config.workers > 1:
            raise FailedPrecondition(
                f"{rpc} is disabled with --workers > 1: each worker process holds its own "
                "models; restart the server with the new -m options instead"
            )

    def close(self) -> None:
        self.resolver.close()
