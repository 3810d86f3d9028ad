"""Metadata and help panels."""

from __future__ import annotations

from PySide6.QtWidgets import QTextBrowser, QTreeWidget, QTreeWidgetItem

from trufor_desk.evidence import Evidence

HELP_HTML = """
<h3>Reading the layers</h3>
<p><b>Localization map</b> — per-pixel probability that the pixel was manipulated (TruFor) or a
suspiciousness measure (weight-free engines). Only values above the <i>localization threshold</i>
are drawn; use <i>Outline only</i> to see the image underneath.</p>
<p><b>Reliability map</b> — where the map can be trusted (TruFor's confidence; for the weight-free
engines, where their evidence exists). Where it is low (greyed out below the
<i>reliability threshold</i>) the map may miss a forgery or raise false alarms: saturated, flat, very dark
or heavily compressed areas are typical.</p>
<p><b>Integrity score</b> — called a probability only where it is calibrated: TruFor's detection head,
and the weight-free <b>fusion</b>, <b>adq</b> and <b>copymove</b> engines, calibrated on a named set of real
photographs (the panel names it). Other weight-free engines give no image-level score. The verdict above the
score comes from the score <i>and</i> the map in reliable areas, so they never disagree. A low score does
<i>not</i> prove authenticity; always read it with the reliability map beside it.</p>
<p><b>Noiseprint++</b> — the camera fingerprint residual. Areas with a different texture, strength or
8×8 JPEG grid pattern can come from another source. It is evidence to interpret, not a verdict.</p>
<h3>Weight-free engines</h3>
<p><b>fusion</b> (the default without TruFor weights): double quantisation + noise + copy-move in one map,
each detector kept as a layer. <b>adq</b>: blocks compressed only once in a re-saved JPEG.
<b>splicebuster</b>, <b>noise</b>: inconsistencies of local noise statistics. <b>jpeg</b>: JPEG grid
and double-compression traces (JPEG files only). <b>ela</b>, <b>ghost</b>: recompression differences,
visual aids without a score. <b>copymove</b>: regions duplicated inside the image (both copies are marked).</p>
<h3>Limits</h3>
<ul><li>All detectors can fail on strong recompression, resizing, or manipulations that mimic the host's traces.</li>
<li>A negative result does not prove an image authentic.</li>
<li>Analyse selection runs the engine on the rectangle only: statistics are relative to that region.</li></ul>
<h3>Navigation</h3>
<p>Wheel zooms, drag pans, <i>Fit</i> and <i>1:1</i> in the View menu. The status bar shows the pixel
position, its RGB value and every layer's value under the cursor; the loupe magnifies around it.</p>
"""


# what each metadata section is, shown as its tooltip (sections not listed get none)
SECTION_TIPS = {
    "Warnings": "Observations worth a look, not verdicts: they also occur in innocent files.",
    "Content Credentials": "The file's C2PA manifest (signer, claim generator, actions, ingredients) and how it "
                           "validated, read offline against the trust list of File ▸ Content Credentials trust "
                           "list. A valid signature shows who signed the file and that it has not changed since; "
                           "it does not show the content is true.",
    "EXIF summary": "Key EXIF fields (camera, dates, exposure, GPS), read with Pillow.",
    "Maker notes summary": "Camera-maker fields decoded by exiv2: body and lens serial numbers, firmware, "
                           "owner, shutter count. The tag each value came from is in brackets.",
    "IPTC summary": "Key IPTC fields (byline, caption, copyright, keywords), read with exiv2.",
    "EXIF": "Every EXIF tag of IFD0, Exif, GPS, Interop and the thumbnail directory (Pillow names).",
    "Maker notes": "Every maker-note tag exiv2 decodes, by its exiv2 key (group.tag).",
    "IPTC": "Every IPTC-IIM dataset (record.dataset), read with exiv2.",
    "XMP": "Where the XMP packet is and its key fields, read without an XML parser.",
    "XMP history": "The xmpMM:History events: action, time, software, what changed.",
    "XMP properties": "Every XMP property, as exiv2 flattens it (prefix.name, arrays as [n], structs as /).",
    "Embedded previews": "Previews other than the EXIF thumbnail (maker notes, xmp:Thumbnails), each compared "
                         "with the image.",
}
COLLAPSED_ABOVE = 25             # sections with more rows start collapsed (maker notes can hold hundreds)


class MetadataPanel(QTreeWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setHeaderLabels(["Field", "Value"])
        self.setColumnWidth(0, 170)
        self.setToolTip("Facts about the evidence file, read without modifying it. Sections with many rows "
                        "start collapsed; hover over a section for what it holds.")

    def show_evidence(self, ev: Evidence | None, c2pa=None) -> None:
        """The file's facts, its Content Credentials (``c2pa``: the record read on opening) and
        its metadata."""
        self.clear()
        if ev is None:
            return
        rows = [("File", "Name", ev.path.name), ("File", "Folder", str(ev.path.parent)),
                ("File", "Size", f"{ev.size_bytes:,} bytes"), ("File", "Format", ev.format),
                ("File", "Dimensions", f"{ev.width} x {ev.height}"), ("File", "Pixel mode", ev.mode),
                ("File", "SHA-256", ev.sha256), ("File", "MD5", ev.md5)]
        if ev.exif_orientation:
            rows.append(("File", "EXIF orientation", f"{ev.exif_orientation} (analysed in stored orientation)"))
        for c in ev.conversions:
            rows.append(("File", "Conversion", c))
        if c2pa is not None:
            from trufor_desk.evidence.provenance import SECTION, c2pa_rows

            rows += [(SECTION, k, v) for k, v in c2pa_rows(c2pa)]
        try:
            from trufor_desk.evidence.metadata import extract_metadata, metadata_rows

            meta = metadata_rows(extract_metadata(ev))
            rows += [r for r in meta if r[0] == "File" and r[1] == "Metadata read with"]
            rows += [r for r in meta if r[0] != "File"]
        except Exception as exc:  # metadata is best effort; never block viewing
            rows.append(("Metadata", "error", str(exc)))
        sections: dict[str, QTreeWidgetItem] = {}
        for section, key, value in rows:
            parent = sections.get(section)
            if parent is None:
                parent = QTreeWidgetItem(self, [section.capitalize() if section.islower() else section, ""])
                if section in SECTION_TIPS:
                    parent.setToolTip(0, SECTION_TIPS[section])
                sections[section] = parent
            item = QTreeWidgetItem(parent, [str(key), str(value)])
            item.setToolTip(1, str(value))
        for section, parent in sections.items():
            n = parent.childCount()
            if n > COLLAPSED_ABOVE and section != "Warnings":
                parent.setText(1, f"{n} rows")
            parent.setExpanded(n <= COLLAPSED_ABOVE or section in ("Warnings", "Content Credentials"))


class HelpPanel(QTextBrowser):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setHtml(HELP_HTML)
        self.setOpenExternalLinks(False)
