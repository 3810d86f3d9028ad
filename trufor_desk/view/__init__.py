"""What the window shows, as plain Python models that emit events (no Qt): the documents
(:mod:`.document`), the view state (:mod:`.state`: thresholds, layer styles, the current
document) and the change notification they share (:mod:`.events`).  The widgets in
``trufor_desk.gui`` write to these models and subscribe to them; tests drive them without a window."""

from .document import Analysis, Document, Layer, LayerStyle
from .events import EmitterGroup, Event, EventEmitter
from .state import ViewState

__all__ = ["Analysis", "Document", "EmitterGroup", "Event", "EventEmitter", "Layer", "LayerStyle", "ViewState"]
