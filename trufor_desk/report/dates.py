"""The report's date, id and PDF creation date: all derived from the case, so the same case gives the same bytes.

The report date is ``SOURCE_DATE_EPOCH`` when set, otherwise the UTC day of the latest
analysis in the case (the day of the last recorded activity if there is none); only dates
are printed, never wall-clock times.  The report id hashes the case content and that date.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from trufor_desk.errors import UserError


@dataclass(frozen=True)
class ReportDates:
    report_day: date           # printed
    creation: datetime         # PDF creation date (UTC)
    basis: str                 # why this date (printed in brackets after it: no brackets inside)


def source_date_epoch() -> datetime | None:
    """``SOURCE_DATE_EPOCH`` as an aware UTC datetime, or None when unset."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return None
    try:
        return datetime.fromtimestamp(int(raw), tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise UserError(f"SOURCE_DATE_EPOCH={raw!r} is not a number of seconds since 1970") from None


def report_dates(case) -> ReportDates:
    sde = source_date_epoch()
    if sde is not None:
        return ReportDates(sde.date(), sde, "SOURCE_DATE_EPOCH")
    from trufor_desk.case.model import parse_utc

    stamps = [a.created for a in case.analyses if a.created]
    basis = "day of the latest analysis, UTC"
    if not stamps:
        stamps = [e.time for e in case.audit] or [case.created]
        basis = "day of the last recorded case activity, UTC"
    day = max(parse_utc(s) for s in stamps).date()
    return ReportDates(day, datetime.combine(day, time(0, 0), tzinfo=timezone.utc), basis)


def report_id(case, dates: ReportDates) -> str:
    h = hashlib.sha256(f"{case.content_digest()}|{dates.creation.isoformat()}".encode()).hexdigest()
    return f"R-{h[:16].upper()}"
