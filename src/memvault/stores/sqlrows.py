"""Row <-> record mapping and the one scope rule, shared by the SQL backends."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .._util import from_iso, to_iso
from ..types import Memory, Scope

COLUMNS = (
    "id", "tenant", "user_id", "agent_id", "session_id", "kind", "content", "key", "role",
    "name", "source", "sources", "verified", "confidence", "importance", "sensitivity", "tags",
    "metadata", "valid_from", "valid_to", "created_at", "updated_at", "expires_at",
    "last_accessed_at", "access_count", "status", "superseded_by", "version", "content_hash",
)
_TIMES = ("valid_from", "valid_to", "created_at", "updated_at", "expires_at", "last_accessed_at")
SELECT_COLS = ", ".join(f"m.{c}" for c in COLUMNS)


def scope_clause(scope: Scope, ph: str = "?", alias: str = "m",
                 by_id: bool = False) -> tuple[str, list[Any]]:
    """THE visibility rule. Every read of memory rows goes through this function.

    - tenant always matches;
    - a read for user U sees U's rows and the tenant's shared rows (user_id IS NULL);
      with no user it is tenant-wide (trusted/admin view);
    - a read naming agent A sees A's rows and agent-less rows, never another agent's.

    `by_id=True` (SQLite) marks the columns with unary `+` so the planner looks rows up by
    their id index instead of scanning the scope index when ids are already known.
    """
    alias = f"+{alias}" if by_id else alias
    parts = [f"{alias}.tenant = {ph}"]
    args: list[Any] = [scope.tenant]
    if scope.user_id is not None:
        parts.append(f"({alias}.user_id = {ph} OR {alias}.user_id IS NULL)")
        args.append(scope.user_id)
    if scope.agent_id is not None:
        parts.append(f"({alias}.agent_id = {ph} OR {alias}.agent_id IS NULL)")
        args.append(scope.agent_id)
    return " AND ".join(parts), args


def to_row(m: Memory) -> tuple[Any, ...]:
    values: list[Any] = []
    for col in COLUMNS:
        v = getattr(m, col)
        if col in _TIMES:
            v = to_iso(v)
        elif col in ("sources", "tags"):
            v = json.dumps(list(v), ensure_ascii=False)
        elif col == "metadata":
            v = json.dumps(v, ensure_ascii=False, sort_keys=True)
        elif col == "verified":
            v = int(bool(v))
        values.append(v)
    return tuple(values)


_TIME_AT = tuple(i for i, c in enumerate(COLUMNS) if c in _TIMES)
_SOURCES, _TAGS, _META, _VERIFIED = (COLUMNS.index(c) for c in
                                      ("sources", "tags", "metadata", "verified"))


def from_row(row: Sequence[Any]) -> Memory:
    """A stored row as a Memory (on every read path: kept cheap, ~6 us a row)."""
    r = list(row)
    for i in _TIME_AT:
        r[i] = from_iso(r[i])
    r[_SOURCES], r[_TAGS] = _strings(r[_SOURCES]), _strings(r[_TAGS])
    meta = r[_META]
    r[_META] = {} if meta == "{}" else json.loads(meta) if isinstance(meta, str) else dict(meta)
    r[_VERIFIED] = bool(r[_VERIFIED])
    return Memory(**dict(zip(COLUMNS, r, strict=True)))


def _strings(text: str) -> tuple[str, ...]:
    return () if text == "[]" else tuple(json.loads(text))


def memory_snapshot(m: Memory) -> dict[str, Any]:
    """What a history row keeps of a version (content included; erasure scrubs it)."""
    out = m.to_dict()
    for k in ("last_accessed_at", "access_count"):
        out.pop(k, None)
    return out
