"""The window's view state without a window: what it holds, when it tells its subscribers,
and that a document says when its layers change (nothing here imports Qt)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from trufor_desk.engines.base import AnalysisResult
from trufor_desk.evidence import Evidence
from trufor_desk.view import Document, EventEmitter, ViewState


def evidence(name: str = "a.png", h: int = 8, w: int = 10) -> Evidence:
    rgb = np.zeros((h, w, 3), np.uint8)
    return Evidence(Path(name), "0" * 64, "0" * 32, 0, "PNG", "RGB", w, h, rgb)


def result(engine: str = "x", h: int = 8, w: int = 10) -> AnalysisResult:
    return AnalysisResult(engine, "1.0.0", np.full((h, w), 0.8, np.float32), np.ones((h, w), np.float32), 0.7)


class Recorder:
    """Subscribes to every event of a state and keeps (type, value, key) of each."""

    def __init__(self, state: ViewState):
        self.seen: list[tuple] = []
        for emitter in state.events:
            emitter.connect(lambda e: self.seen.append((e.type, e.value, e.key)))

    def types(self) -> list[str]:
        return [t for t, _, _ in self.seen]


def test_a_threshold_change_is_told_once_with_its_value_and_not_when_it_stays():
    state = ViewState()
    rec = Recorder(state)
    state.loc_threshold = 0.3
    state.loc_threshold = 0.3
    state.rel_threshold = 0.5        # already 0.5
    state.rel_threshold = 0.25
    assert rec.seen == [("loc_threshold", 0.3, None), ("rel_threshold", 0.25, None)]
    assert (state.loc_threshold, state.rel_threshold) == (0.3, 0.25)


def test_thresholds_are_kept_in_zero_to_one_and_nan_is_refused():
    state = ViewState(loc_threshold=2.0)
    assert state.loc_threshold == 1.0
    state.rel_threshold = -0.5
    assert state.rel_threshold == 0.0
    with pytest.raises(ValueError, match="NaN"):
        state.loc_threshold = float("nan")
    assert state.loc_threshold == 1.0


def test_flags_emit_on_change_only():
    state = ViewState()
    rec = Recorder(state)
    state.contours = True
    state.contours = True
    state.show_image = True           # the default
    state.show_image = False
    assert rec.seen == [("contours", True, None), ("show_image", False, None)]


def test_the_current_document_is_told_when_it_changes():
    state = ViewState()
    rec = Recorder(state)
    a, b = Document(evidence("a.png")), Document(evidence("b.png"))
    state.document = a
    state.document = a
    state.document = b
    state.document = None
    assert rec.seen == [("document", a, None), ("document", b, None), ("document", None, None)]


def test_an_analysis_added_to_the_current_document_is_told_as_a_layers_change():
    """Whoever adds an analysis does not have to ask for a redraw."""
    state = ViewState()
    doc = Document(evidence("a.png"))
    state.document = doc
    rec = Recorder(state)
    doc.add_analysis(result())
    assert rec.seen == [("layers", doc, None)]
    assert {"x:map", "x:conf"} <= set(doc.layers)


def test_only_the_current_document_is_followed():
    state = ViewState()
    a, b = Document(evidence("a.png")), Document(evidence("b.png"))
    state.document = a
    state.document = b
    rec = Recorder(state)
    a.add_analysis(result())          # a finished analysis of an image no longer shown
    assert rec.seen == []
    b.add_analysis(result())
    assert rec.types() == ["layers"]
    assert a.events.layers.callbacks == []   # the old document is let go


def test_a_layer_style_change_is_told_with_its_key_and_seen_by_whoever_holds_the_layer():
    state = ViewState()
    doc = Document(evidence())
    doc.add_analysis(result())
    state.document = doc
    layer = doc.layers["x:map"]
    rec = Recorder(state)
    state.set_style("x:map", opacity=0.25)
    state.set_style("x:map", opacity=0.25, visible=True, cmap=layer.style.cmap)  # nothing changes
    state.set_style("x:map", visible=False, cmap="viridis")
    assert [(t, k) for t, _, k in rec.seen] == [("style", "x:map"), ("style", "x:map")]
    assert rec.seen[-1][1] is layer.style
    assert (layer.style.opacity, layer.style.visible, layer.style.cmap) == (0.25, False, "viridis")


def test_a_style_must_name_a_layer_of_the_current_document_and_a_known_colour_map():
    state = ViewState()
    with pytest.raises(KeyError):
        state.set_style("x:map", visible=False)        # no document
    doc = Document(evidence())
    doc.add_analysis(result())
    state.document = doc
    with pytest.raises(KeyError):
        state.set_style("y:map", visible=False)
    with pytest.raises(ValueError, match="colour map"):
        state.set_style("x:map", cmap="veil")           # the veil is the reliability layer's only
    with pytest.raises(ValueError, match="colour map"):
        state.set_style("x:conf", cmap="rainbow-ish")
    state.set_style("x:conf", cmap="viridis")
    state.set_style("x:conf", cmap="veil")
    assert doc.layers["x:conf"].style.cmap == "veil"
    assert state.set_style("x:map", opacity=7).opacity == 1.0   # clamped like a threshold


def test_subscribers_are_called_in_the_order_they_connected_and_can_leave():
    emitter = EventEmitter(source="model", type="thing")
    calls = []
    first = emitter.connect(lambda e: calls.append(("first", e.value)))
    emitter.connect(lambda e: calls.append(("second", e.value)))
    emitter.connect(first)            # connecting again changes nothing
    event = emitter(value=1)
    assert (event.type, event.source, event.value) == ("thing", "model", 1)
    assert calls == [("first", 1), ("second", 1)]
    emitter.disconnect(first)
    emitter.disconnect(first)         # unknown by now: ignored
    emitter(value=2)
    assert calls[-1] == ("second", 2) and len(calls) == 3
    emitter.disconnect()
    emitter(value=3)
    assert len(calls) == 3


def test_a_paused_emitter_tells_the_last_change_of_each_key_once_at_the_end():
    emitter = EventEmitter(source=None, type="style")
    seen = []
    emitter.connect(lambda e: seen.append((e.key, e.value)))
    with emitter.paused():
        emitter(value=1, key="a")
        emitter(value=2, key="b")
        with emitter.paused():        # nested: held until the outer block ends
            emitter(value=3, key="a")
        assert seen == []
    assert seen == [("b", 2), ("a", 3)]


def test_a_case_opened_with_several_analyses_redraws_once():
    state = ViewState()
    doc = Document(evidence())
    state.document = doc
    rec = Recorder(state)
    with doc.events.layers.paused():
        doc.add_analysis(result("x"))
        doc.add_analysis(result("y"))
    assert rec.types() == ["layers"]
    assert doc.active_analysis().result.engine == "y"


def test_the_view_models_import_no_qt():
    """In a fresh interpreter (pytest-qt has loaded Qt into this one)."""
    import subprocess

    code = ("import sys, trufor_desk.view, trufor_desk.view.state\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
