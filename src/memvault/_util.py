"""Small pure helpers: ids, time, hashing."""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

_last_ms = 0
_seq = 0


def new_id() -> str:
    """A UUIDv7 string: time-ordered, random tail (RFC 9562)."""
    global _last_ms, _seq
    ms = time.time_ns() // 1_000_000
    if ms <= _last_ms:  # keep ids monotonic within a process
        ms = _last_ms
        _seq = (_seq + 1) & 0xFFF
        if _seq == 0:
            ms += 1
    else:
        _seq = int.from_bytes(os.urandom(2), "big") & 0x7FF
    _last_ms = ms
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (_seq << 64) | (0b10 << 62) | rand
    return str(uuid.UUID(int=value))


def now() -> datetime:
    return datetime.now(UTC)


def aware(dt: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted to UTC."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def to_iso(dt: datetime | None) -> str | None:
    """A fixed-width, sortable UTC text form used in storage."""
    if dt is None:
        return None
    d = aware(dt)  # the year by hand: glibc strftime does not zero-pad years < 1000
    return f"{d.year:04d}" + d.strftime("-%m-%dT%H:%M:%S.%fZ")


def from_iso(text: str | None) -> datetime | None:
    if text is None:
        return None
    dt = datetime.fromisoformat(text)  # reads a trailing Z as UTC (Python 3.11)
    return dt if dt.tzinfo is UTC else aware(dt)


def parse_time(value: Any, field: str) -> datetime | None:
    """Accept a datetime, an ISO string or epoch seconds; raise InvalidInput otherwise."""
    from .errors import InvalidInput

    if value is None or isinstance(value, datetime):
        return aware(value) if value is not None else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            return from_iso(value.strip())
        except ValueError:
            pass
    raise InvalidInput(
        f"{field} must be an ISO-8601 datetime (e.g. 2024-05-01T12:00:00Z), got {value!r}"
    )


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
