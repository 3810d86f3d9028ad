"""The window's view state, apart from its widgets (glue's ``viewers/image/state.py``, napari's
models): which document is shown and how its layers are drawn.

:class:`ViewState` holds the localisation and reliability thresholds, the contour flag,
whether the image itself is shown, the current :class:`~trufor_desk.view.document.Document`
and, through it, each layer's visibility, opacity and colour map.  Widgets write to it
(sliders, check boxes, the document list) and subscribe to its ``events`` to reflect it;
the overlay painter, the score reading and the comparison window subscribe to redraw.  It
emits only when a value really changes, so a widget that reflects a change it caused stops
there.  No Qt: the state can be driven and tested without a window.

Events (each an :class:`~trufor_desk.view.events.EventEmitter` of ``state.events``):

=================  ==========================================================================
``document``       another document became current (``value``: it, or None)
``layers``         the current document's set of layers changed (an analysis was added)
``loc_threshold``  the localisation threshold, in [0, 1]
``rel_threshold``  the reliability threshold, in [0, 1]
``contours``       outline the region above the threshold instead of filling it
``show_image``     whether the evidence image is drawn under its layers
``style``          a layer of the current document changed style (``key``: the layer's key,
                   ``value``: its :class:`~trufor_desk.view.document.LayerStyle`)
=================  ==========================================================================
"""

from __future__ import annotations

import math
from typing import Any

from trufor_desk.render.colormaps import NAMES as COLOUR_MAPS

from .document import Document, LayerStyle
from .events import EmitterGroup, Event

VEIL = "veil"   # the reliability layer's own style: a grey veil over what is at or below the threshold


def _unit(value: Any) -> float:
    """A threshold: a number, clamped into [0, 1] (as a slider would); NaN is refused."""
    v = float(value)
    if math.isnan(v):
        raise ValueError("a threshold must be a number in [0, 1], not NaN")
    return min(max(v, 0.0), 1.0)


class _Value:
    """An attribute of the state that emits ``state.events.<name>`` when it is set to a different value."""

    def __init__(self, convert):
        self.convert = convert

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, state, owner=None):
        return self if state is None else state._values[self.name]

    def __set__(self, state, value) -> None:
        value = self.convert(value)
        if state._values[self.name] == value:
            return
        state._values[self.name] = value
        getattr(state.events, self.name)(value=value)


class ViewState:
    """What the window shows and how; see the module docstring for its events."""

    loc_threshold = _Value(_unit)
    rel_threshold = _Value(_unit)
    contours = _Value(bool)
    show_image = _Value(bool)

    def __init__(self, loc_threshold: float = 0.5, rel_threshold: float = 0.5, contours: bool = False,
                 show_image: bool = True):
        self.events = EmitterGroup(self, "document", "layers", "loc_threshold", "rel_threshold", "contours",
                                   "show_image", "style")
        self._values = {"loc_threshold": _unit(loc_threshold), "rel_threshold": _unit(rel_threshold),
                        "contours": bool(contours), "show_image": bool(show_image)}
        self._document: Document | None = None

    # -- the current document ----------------------------------------------------------
    @property
    def document(self) -> Document | None:
        return self._document

    @document.setter
    def document(self, doc: Document | None) -> None:
        if doc is self._document:
            return
        if self._document is not None:
            self._document.events.layers.disconnect(self._layers_changed)
        self._document = doc
        if doc is not None:
            doc.events.layers.connect(self._layers_changed)
        self.events.document(value=doc)

    def _layers_changed(self, event: Event) -> None:
        self.events.layers(value=event.source)

    # -- layer styles ------------------------------------------------------------------
    def set_style(self, key: str, *, visible: bool | None = None, opacity: float | None = None,
                  cmap: str | None = None) -> LayerStyle:
        """Change how layer ``key`` of the current document is drawn (None: keep); emits ``style``
        when something changed.  The style is changed in place: whoever holds the layer sees it."""
        doc = self._document
        if doc is None or key not in doc.layers:
            raise KeyError(f"the current document has no layer {key!r}")
        layer = doc.layers[key]
        style = layer.style
        new = {"visible": style.visible if visible is None else bool(visible),
               "opacity": style.opacity if opacity is None else _unit(opacity),
               "cmap": style.cmap if cmap is None else cmap}
        allowed = (VEIL, *COLOUR_MAPS) if layer.kind == "reliability" else COLOUR_MAPS
        if new["cmap"] not in allowed:
            raise ValueError(f"colour map {new['cmap']!r} is not one of {', '.join(allowed)}")
        if new == {"visible": style.visible, "opacity": style.opacity, "cmap": style.cmap}:
            return style
        style.visible, style.opacity, style.cmap = new["visible"], new["opacity"], new["cmap"]
        self.events.style(value=style, key=key)
        return style
