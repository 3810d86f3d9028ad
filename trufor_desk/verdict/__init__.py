"""The verdict on an analysis: a decision, not a drawing.  Qt-free, torch-free (numpy only).

One verdict function feeds the window, the report, ``analyze`` (text and ``--json``), the
batch rows and the triage view, so they can never disagree (DESIGN.md).

================  =========================================================================
module            what it holds
================  =========================================================================
``decision``      :func:`verdict_for_result` / :func:`decide`: the decision table, the
                  :class:`Verdict`, how every output names and prints a score
``map_measures``  :func:`measure_maps`: the flagged share of the image, where reliable
``verbal_scale``  the ENFSI verbal scale: a calibrated probability as a likelihood ratio
``reading``       :func:`read_result`: the verdict with its score's meaning and cautions
================  =========================================================================

The modules are imported by their own names; this ``__init__`` re-exports nothing.
"""
