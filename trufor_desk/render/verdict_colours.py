"""The colours a verdict is drawn in: each of the verdict's colour names
(:data:`trufor_desk.verdict.decision.COLOURS`) as the window's hex and the report's RGB.

The verdict decides the colour's name; this module only says how it looks on screen and
on paper, so the window, the triage table and the report draw one red, one amber.
"""

from __future__ import annotations

COLOUR_HEX = {"red": "#c0392b", "amber": "#d68910", "green": "#27ae60", "grey": "#7f8c8d"}
COLOUR_RGB = {name: tuple(int(h[i:i + 2], 16) for i in (1, 3, 5)) for name, h in COLOUR_HEX.items()}
