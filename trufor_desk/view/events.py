"""Change notification for the view models: plain callbacks, no Qt.

A model owns an :class:`EmitterGroup` named ``events``; each attribute of it is an
:class:`EventEmitter` for one kind of change (``state.events.loc_threshold``), as in napari.
Widgets *subscribe* (``connect(callback)``) and the model *emits* when, and only when, a
value really changed; every callback receives one :class:`Event`.  Callbacks run at once, in
the order they were connected, on the thread that made the change (in the window: the GUI
thread), so a subscriber connected first sees the change first.

The references are strong: a subscriber lives as long as the model unless it disconnects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    """What changed: ``type`` is the emitter's name, ``source`` the model, ``value`` the new
    value, ``key`` the item it concerns (a layer's key) for per-item events."""

    type: str
    source: Any
    value: Any = None
    key: str | None = None


Callback = Callable[[Event], Any]


class EventEmitter:
    """One kind of change: ``connect`` subscribers, call the emitter to tell them."""

    def __init__(self, source: Any, type: str):
        self.source = source
        self.type = type
        self.callbacks: list[Callback] = []
        self._paused = 0
        self._held: dict[str | None, Event] = {}

    def connect(self, callback: Callback) -> Callback:
        """Subscribe ``callback(event)`` (once: connecting it again changes nothing); returns it."""
        if callback not in self.callbacks:
            self.callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callback | None = None) -> None:
        """Unsubscribe ``callback`` (every subscriber when None); an unknown callback is ignored."""
        if callback is None:
            self.callbacks.clear()
        elif callback in self.callbacks:
            self.callbacks.remove(callback)

    def __call__(self, value: Any = None, key: str | None = None) -> Event:
        """Emit: every subscriber gets the event (held back while :meth:`paused`)."""
        event = Event(self.type, self.source, value, key)
        if self._paused:
            self._held.pop(key, None)   # re-inserted last: held events go out in the order of their last change
            self._held[key] = event
            return event
        for callback in list(self.callbacks):
            callback(event)
        return event

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Hold emissions back until the block ends, then emit the last event of each key once:
        several changes in a row (a case's analyses added one by one) cost the subscribers one update."""
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1
            if not self._paused:
                held, self._held = list(self._held.values()), {}
                for event in held:
                    for callback in list(self.callbacks):
                        callback(event)


class EmitterGroup:
    """The ``events`` of a model: one :class:`EventEmitter` attribute per name."""

    def __init__(self, source: Any, *names: str):
        self.emitters: dict[str, EventEmitter] = {}
        for name in names:
            emitter = EventEmitter(source, name)
            self.emitters[name] = emitter
            setattr(self, name, emitter)

    def __iter__(self) -> Iterator[EventEmitter]:
        return iter(self.emitters.values())
