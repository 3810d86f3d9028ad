"""The report's figures as arrays: the analysed pixels from the stored preview, maps in colour,
overlays, stretched extra maps, the annotated evidence thumbnail.

Rendered with numpy/Pillow/OpenCV from the arrays stored in the case (never from the
evidence file), at a fixed size, so they are reproducible.
"""

from __future__ import annotations

import io

import numpy as np

PANEL_PX = 480                 # long side of an embedded figure, pixels (~210 dpi at 57 mm)
LOC_CMAP = "inferno"


def fit(w: int, h: int, long_side: int = PANEL_PX) -> tuple[int, int]:
    s = min(1.0, long_side / max(w, h))
    return max(1, round(w * s)), max(1, round(h * s))


def resize(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    if (a.shape[1], a.shape[0]) == size:
        return a
    interp = cv2.INTER_AREA if size[0] < a.shape[1] else cv2.INTER_NEAREST
    return cv2.resize(np.ascontiguousarray(a), size, interpolation=interp)


def preview_rgb(ref) -> np.ndarray | None:
    if not ref.preview_png:
        return None
    from PIL import Image

    try:
        with Image.open(io.BytesIO(ref.preview_png)) as img:
            return np.asarray(img.convert("RGB"), dtype=np.uint8)
    except Exception:
        return None


def base_image(ref, rect, size: tuple[int, int]) -> np.ndarray:
    """The analysed pixels at figure size, from the stored preview (grey if none is stored)."""
    prev = preview_rgb(ref)
    if prev is None:
        return np.full((size[1], size[0], 3), 200, np.uint8)
    if rect is not None:
        sx, sy = prev.shape[1] / ref.width, prev.shape[0] / ref.height
        x, y, w, h = rect
        x0, y0 = int(np.floor(x * sx)), int(np.floor(y * sy))
        x1, y1 = max(x0 + 1, int(np.ceil((x + w) * sx))), max(y0 + 1, int(np.ceil((y + h) * sy)))
        prev = prev[y0:y1, x0:x1]
    return resize(prev, size)


def grey(u8: np.ndarray) -> np.ndarray:
    return np.repeat(u8[:, :, None], 3, axis=2)


def colour(values: np.ndarray, size: tuple[int, int], cmap: str) -> np.ndarray:
    from trufor_desk.render.colormaps import colormap
    from trufor_desk.render.layers import apply_lut, quantize_unit

    small = resize(np.asarray(values, np.float32), size)
    return apply_lut(quantize_unit(small), colormap(cmap))[..., :3]


def overlay(base: np.ndarray, values: np.ndarray, threshold: float) -> np.ndarray:
    from trufor_desk.render.layers import apply_lut, composite, heatmap_lut, quantize_unit

    small = resize(np.asarray(values, np.float32), (base.shape[1], base.shape[0]))
    return composite(base, apply_lut(quantize_unit(small), heatmap_lut(LOC_CMAP, threshold, opacity=0.75)))


def stretch(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from trufor_desk.render.layers import robust_stretch

    return grey(resize(robust_stretch(values), size))



def annotated_thumbnail(ref, annotations) -> np.ndarray | None:
    prev = preview_rgb(ref)
    if prev is None:
        return None
    if not annotations:
        return prev
    from PIL import Image, ImageDraw

    img = Image.fromarray(prev)
    draw = ImageDraw.Draw(img)
    sx, sy = prev.shape[1] / ref.width, prev.shape[0] / ref.height
    lw = max(2, round(max(prev.shape[:2]) / 300))
    for a in annotations:
        if a.rect is not None:
            x, y, w, h = a.rect
            box = [x * sx, y * sy, (x + w) * sx - 1, (y + h) * sy - 1]
            draw.rectangle(box, outline=(0, 220, 255), width=lw)
            corner = (box[0] + lw + 1, box[1] + lw + 1)
        else:
            pts = [(px * sx, py * sy) for px, py in a.polygon or []]
            draw.line(pts + pts[:1], fill=(0, 220, 255), width=lw)
            corner = (min(p[0] for p in pts) + lw + 1, min(p[1] for p in pts) + lw + 1)
        draw.text(corner, a.id, fill=(0, 220, 255))
    return np.asarray(img)
