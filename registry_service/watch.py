"""Change notifications for WatchRegisteredModel.

Two sources of change: writes made by this process wake every watcher at once through the
in-process `ChangeNotifier`; writes made by other registry processes sharing the database are
seen by a cheap poll (one indexed read of the model's `revision` counter per interval). A watcher
re-reads the full model only when the counter moved, and sends it only when what it follows —
aliases and the latest version of each stage — changed. Closing the notifier (server stop) ends
every stream cleanly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from mlgrpc_server.errors import NotFound
from registry_service.domain import RegisteredModel
from registry_service.store import SqlRegistryStore

DEFAULT_POLL_SECONDS = 1.0


class ChangeNotifier:
    """A generation counter with a condition variable: `notify` after every committed write."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._generation = 0
        self._closed = False

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def closed(self) -> bool:
        return self._closed

    def notify(self) -> None:
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Block until a generation after `seen`, close, or `timeout`; the current generation."""
        with self._condition:
            self._condition.wait_for(
                lambda: self._generation != seen or self._closed, timeout=timeout
            )
            return self._generation

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()


def followed_state(model: RegisteredModel) -> tuple[object, ...]:
    """What a watcher follows: aliases and the latest version of each stage."""
    return (
        tuple(sorted(model.aliases.items())),
        tuple((mv.current_stage, mv.version) for mv in model.latest_versions),
    )


def watch_registered_model(
    store: SqlRegistryStore,
    notifier: ChangeNotifier,
    name: str,
    *,
    is_active: Callable[[], bool],
    poll_seconds: float = DEFAULT_POLL_SECONDS,
) -> Iterator[RegisteredModel]:
    """The model now, then again after every change of what watchers follow."""
    generation = notifier.generation
    revision = store.model_revision(name)
    model = store.get_registered_model(name)
    state = followed_state(model)
    yield model
    while is_active() and not notifier.closed:
        generation = notifier.wait(generation, poll_seconds)
        if notifier.closed or not is_active():
            return
        current = store.model_revision(name)
        if current is None:
            raise NotFound(
                f"registered model {name!r} was deleted or renamed; the watch ends", field="name"
            )
        if current == revision:
            continue
        revision = current
        model = store.get_registered_model(name)
        if followed_state(model) != state:
            state = followed_state(model)
            yield model
