"""The store seam: a narrow Protocol every backend implements, and the query values it takes.

Every read takes a `Scope`; visibility is decided in exactly one place per backend
(`scope_clause` for SQL backends), never in endpoints.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from ..types import AuditEvent, HistoryEntry, Memory, Scope

SERVED_STATUSES = ("active",)

QueryVector = np.ndarray | Callable[[], np.ndarray]
"""A query vector, or a function that returns it once it is ready (the query being
embedded elsewhere meanwhile): a store can do the work that needs no vector, such as
masking a scope and gathering its rows, before it calls the function."""


def resolve(vector: QueryVector) -> np.ndarray:
    return vector() if callable(vector) else vector


@dataclass(frozen=True)
class Filters:
    """What a search or list narrows to, beyond scope. Built by `parse_filters`."""

    kinds: tuple[str, ...] = ()
    statuses: tuple[str, ...] = SERVED_STATUSES
    tags_any: tuple[str, ...] = ()
    tags_all: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    key: str | None = None
    session_id: str | None = None
    user_only: bool = False  # only the named user's own rows, not the shared workspace rows
    since: datetime | None = None  # on event time: COALESCE(valid_from, created_at)
    until: datetime | None = None
    as_of: datetime | None = None  # bi-temporal: believed true at that time
    ids: tuple[str, ...] = ()

    @property
    def needs_sql_prefilter(self) -> bool:
        """True when the in-memory vector index alone cannot apply these filters."""
        return bool(
            self.tags_any or self.tags_all or self.metadata or self.sources or self.key
            or self.session_id or self.since or self.until or self.as_of or self.ids
        )


@dataclass(frozen=True)
class ListQuery:
    filters: Filters = field(default_factory=Filters)
    limit: int = 50
    cursor: str | None = None
    order: str = "desc"  # by id, i.e. creation time


@dataclass(frozen=True)
class StoredVector:
    model: str
    vector: np.ndarray
    content_hash: str


class ReadTx(Protocol):
    def get(self, scope: Scope, ids: Sequence[str]) -> builtins.list[Memory]: ...
    def list(self, scope: Scope, query: ListQuery) -> tuple[builtins.list[Memory], str | None]: ...
    def history(self, scope: Scope, memory_id: str) -> builtins.list[HistoryEntry]: ...
    def keyword_search(
        self, scope: Scope, terms: Sequence[str], filters: Filters, limit: int
    ) -> builtins.list[tuple[str, float]]: ...
    def vector_search(
        self, scope: Scope, vector: QueryVector, model: str, filters: Filters, limit: int
    ) -> builtins.list[tuple[str, float]]: ...
    def find_by_key(self, scope: Scope, key: str) -> builtins.list[Memory]: ...
    def superseded_sources(self, scope: Scope, ids: Sequence[str]) -> set[str]:
        """Those of `ids` cited as a source by a superseded memory (stale evidence)."""
        ...
    def find_by_hash(self, scope: Scope, content_hash: str, kind: str) -> builtins.list[Memory]: ...
    def vectors_for(self, ids: Sequence[str], model: str) -> dict[str, np.ndarray]: ...
    def audit_events(
        self, tenant: str | None, after_seq: int = 0, limit: int = 1000
    ) -> builtins.list[AuditEvent]: ...
    def stats(self, tenant: str) -> dict[str, Any]: ...


class WriteTx(ReadTx, Protocol):
    def insert(self, memory: Memory, vector: StoredVector | None) -> None: ...
    def update(
        self, memory: Memory, expected_version: int, vector: StoredVector | None = None,
        reindex_text: bool = False,
    ) -> None: ...
    def erase(self, memory: Memory, actor: str, reason: str) -> dict[str, int]: ...
    def add_history(self, entry: HistoryEntry, tenant: str) -> None: ...
    def append_audit(
        self, tenant: str, actor: str, action: str, target_ids: Sequence[str],
        details: dict[str, Any],
    ) -> AuditEvent: ...
    def touch(self, ids: Sequence[str], at: datetime) -> None: ...
    def record_erasure(self, receipt: dict[str, Any], memory_ids: Sequence[str]) -> None: ...


class Store(Protocol):
    url: str

    def read(self) -> AbstractContextManager[ReadTx]: ...
    def write(self) -> AbstractContextManager[WriteTx]: ...
    def iter_all(self, tenant: str | None = None) -> Iterator[Memory]: ...
    def reindex_candidates(self, model: str, limit: int) -> builtins.list[Memory]: ...
    def checkpoint(self) -> None: ...
    def close(self) -> None: ...
