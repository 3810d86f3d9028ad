"""Persisted preferences (QSettings): last folder, engine, device, thresholds, theme,
recent files, the certificate that signs saved cases (its path only, never a password), the
Content Credentials trust list (a PEM file).  ``TRUFOR_DESK_SETTINGS`` names an INI file instead of the platform store
(portable installs, tests)."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings

MAX_RECENT = 10


def make_settings() -> QSettings:
    path = os.environ.get("TRUFOR_DESK_SETTINGS")
    if path:
        return QSettings(path, QSettings.IniFormat)
    return QSettings("TruFor Desk", "TruFor Desk")


def last_folder(s: QSettings) -> str:
    """The folder of the last opened image, where file dialogs start; the home folder at first."""
    return str(s.value("last_folder", str(Path.home())))


def get_float(s: QSettings, key: str, default: float) -> float:
    try:
        return float(s.value(key, default))
    except (TypeError, ValueError):
        return default


def get_bool(s: QSettings, key: str, default: bool) -> bool:
    v = s.value(key, default)
    return v in (True, "true", "1", 1) if not isinstance(v, bool) else v


def recent_files(s: QSettings) -> list[str]:
    v = s.value("recent", [])
    if isinstance(v, str):
        v = [v]
    return [p for p in (v or []) if isinstance(p, str)]


def push_recent(s: QSettings, path: str) -> list[str]:
    items = [path] + [p for p in recent_files(s) if p != path]
    items = items[:MAX_RECENT]
    s.setValue("recent", items)
    return items


def signing_certificate(s: QSettings) -> str | None:
    """The PKCS#12 file that signs saved cases, or None when saved cases are not signed.

    Only the path is kept; the password is asked for each time a case is signed and never stored."""
    v = s.value("case_signing_p12", "")
    return v if isinstance(v, str) and v else None


def set_signing_certificate(s: QSettings, path: str | None) -> None:
    s.setValue("case_signing_p12", path or "")


def c2pa_trust_file(s: QSettings) -> str | None:
    """The PEM bundle of trust anchors for Content Credentials, or None (no trust list: a valid
    C2PA signature is then shown as valid but not trusted)."""
    v = s.value("c2pa_trust_pem", "")
    return v if isinstance(v, str) and v else None


def set_c2pa_trust_file(s: QSettings, path: str | None) -> None:
    s.setValue("c2pa_trust_pem", path or "")
