"""The audit log of a case: its hash-chained entries, their check, and the UTC clock that dates them.

Entry ``n`` stores ``prev_hash`` = hash of entry ``n - 1`` (64 zeros for the first) and
``hash`` = SHA-256 of the canonical JSON of all its other fields, ``prev_hash`` included.
Changing, removing or reordering any entry breaks the chain from that point on.  Removing
the *last* entries cannot be seen from the chain alone, and anyone can recompute the chain
after editing an entry.  A *signed* case closes both gaps: the examiner's signature
(:mod:`.signature`) covers the head hash and the number of entries, so a truncated or
re-chained log is reported when the case is opened.  For an unsigned case the gap stays;
the report prints the head hash so a printed copy anchors the log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from .canonical import sha256_json

GENESIS_HASH = "0" * 64
Clock = Callable[[], datetime]


def utc_iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


def fixed_clock(when: datetime) -> Clock:
    """A clock that always reads ``when`` (for reproducible implicit cases and tests)."""
    return lambda: when


@dataclass
class AuditEntry:
    seq: int
    time: str
    actor: str
    action: str
    details: dict
    prev_hash: str
    hash: str = ""

    def body(self) -> dict:
        return {"seq": self.seq, "time": self.time, "actor": self.actor, "action": self.action,
                "details": self.details, "prev_hash": self.prev_hash}

    def compute_hash(self) -> str:
        return sha256_json(self.body())

    def record(self) -> dict:
        d = self.body()
        d["hash"] = self.hash
        return d


def verify_chain(entries: list[AuditEntry]) -> list[str]:
    """Problems with the audit chain, empty when intact."""
    problems: list[str] = []
    prev = GENESIS_HASH
    for i, e in enumerate(entries):
        if e.seq != i + 1:
            problems.append(f"audit entry {i + 1}: sequence number is {e.seq}")
        if e.prev_hash != prev:
            problems.append(f"audit entry {i + 1} ({e.action}): does not follow the previous entry "
                            "(an entry was removed, inserted or reordered)")
        if e.compute_hash() != e.hash:
            problems.append(f"audit entry {i + 1} ({e.action}): content does not match its hash (edited)")
        prev = e.hash
    return problems
