"""How the engine's parts send an event: to the run log first (which may stop the run), then to the callbacks
(which may not: a broken display must not kill a paid run)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gepa.core.events import UNRECORDED, Callback, Event, EventKind, Payload
from gepa.core.state import RunState


class Emit(Protocol):
    def __call__(self, kind: EventKind, state: RunState, data: Payload) -> None: ...


class Emitter:
    """Sends each event, stamped with the state's iteration, to ``record`` then to every callback."""

    def __init__(self, record: Callback | None, callbacks: Sequence[Callback]) -> None:
        self.record, self.callbacks = record, list(callbacks)

    def __call__(self, kind: EventKind, state: RunState, data: Payload) -> None:
        event = Event(kind=kind, iteration=state.iteration, data=data)
        if self.record is not None and kind not in UNRECORDED:
            self.record(event)  # a failure here stops the run: the record of a paid run may not be lost
        for callback in self.callbacks:
            try:
                callback(event)
            except Exception:  # noqa: BLE001 - a broken display must not kill a paid run
                pass
