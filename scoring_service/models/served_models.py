"""The models a server process serves: name → the `LoadedModel` currently answering.

Readers take one reference (`get`) and predict with it; writers replace the whole mapping under a
lock. A swap is therefore atomic: a request finishes on the version it started with, the next
one sees the new version, and no request ever sees a half-loaded model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from mlgrpc_server.errors import NotFound, Unavailable
from scoring_service.models.loaded import LoadedModel


class ServedModels:
    """Thread-safe name → LoadedModel, with the first model loaded as the default."""

    def __init__(self) -> None:
        self._models: dict[str, LoadedModel] = {}
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        #: True until the models given at start are loaded: a miss is then UNAVAILABLE
        #: (retry shortly), not NOT_FOUND.
        self.loading = True

    def get(self, name: str = "", version: str = "") -> LoadedModel:
        """The model served as `name` (empty: the default); NOT_FOUND names what is served."""
        models = self._models
        if not name:
            if not models:
                self._raise_if_loading()
                raise NotFound("no model is loaded on this server", field="model_name")
            return next(iter(models.values()))
        model = models.get(name)
        if model is None:
            self._raise_if_loading()
            raise NotFound(
                f"no model named {name!r} is served here; served: {sorted(models)}",
                field="model_name",
            )
        if version and version != model.version:
            raise NotFound(
                f"model {name!r} version {version!r} is not served; the served version is "
                f"{model.version}",
                field="model_version",
            )
        return model

    def _raise_if_loading(self) -> None:
        if self.loading:
            raise Unavailable("the server is still loading its models; retry shortly")

    def all(self) -> list[LoadedModel]:
        return sorted(self._models.values(), key=lambda m: m.name)

    def names(self) -> list[str]:
        return list(self._models)

    def put(self, model: LoadedModel) -> LoadedModel | None:
        """Serve `model` under its name; returns the model it replaced, if any."""
        with self._lock:
            previous = self._models.get(model.name)
            updated = dict(self._models)
            updated[model.name] = model
            self._models = updated
        self._notify()
        return previous

    def remove(self, name: str) -> LoadedModel:
        with self._lock:
            if name not in self._models:
                raise NotFound(f"no model named {name!r} is served here", field="model_name")
            updated = dict(self._models)
            removed = updated.pop(name)
            self._models = updated
        self._notify()
        return removed

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in self._listeners:
            listener()
