"""The read path: candidates from the keyword and vector legs, fused, adjusted, diversified.

Time in the query. A query that names a time ("what did I say last week", "my plans in
May", "yesterday") is resolved with `extract.timeparse` against the search time (`as_of`
or now). Memories whose event time falls in that range get a small boost: the score is
multiplied by `1 + TIME_BOOST` (signal `time` = 1). The event time is
`metadata["event_at"]` for planned events, else `valid_from`, else `created_at`. Only a
query that is clearly about that period ("what did I say/tell you/mention... <time>",
"what happened <time>") is narrowed to it, and only when the caller gave no `since`,
`until` or `as_of` of its own.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from threading import Lock
from typing import TYPE_CHECKING

import numpy as np

from ._util import from_iso, now
from .extract.timeparse import TimeRange, resolve
from .scoring import Weights, adjust, diversify, fuse
from .stores.base import Filters
from .textindex import query_terms
from .types import Hit, Memory, Scope

if TYPE_CHECKING:
    from .vault import Vault

_CACHE_SIZE = 512
TIME_BOOST = 0.2  # x1.2 for memories whose event time is in the range the query names

_PAST = re.compile(r"\b(?:did|was|were|said|told|had|went|ago|last|yesterday|earlier|before)\b",
                   re.IGNORECASE)
_SCOPED = re.compile(
    r"\b(?:what|anything|everything|which|who|where)\b.{0,40}?\b(?:did|have|had|do)\s+"
    r"(?:i|we|you)\s+(?:\w+\s+)?(?:say|said|tell|told|mention|mentioned|talk|talked|discuss|"
    r"discussed|ask|asked|write|wrote|do|did|share|shared)\b"
    r"|\bwhat\s+(?:happened|was\s+(?:i|we)\s+doing)\b", re.IGNORECASE)


@dataclass(frozen=True)
class TimeFocus:
    range: TimeRange
    strict: bool  # the query is about that period: narrow to it, not just boost


def time_focus(query: str, at: datetime) -> TimeFocus | None:
    """The time range a query names, if any, and whether it narrows the search. Pure."""
    tr = resolve(query, at, "past" if _PAST.search(query) else "auto")
    if tr is None:
        return None
    return TimeFocus(tr, bool(_SCOPED.search(query)))


def event_time(m: Memory) -> datetime | None:
    planned = m.metadata.get("event_at") if m.metadata else None
    if isinstance(planned, str):
        try:
            return from_iso(planned)
        except ValueError:
            pass
    return m.valid_from or m.created_at


def in_focus(m: Memory, focus: TimeFocus) -> bool:
    when = event_time(m)
    return when is not None and focus.range.start <= when < focus.range.end


_pools: dict[str, ThreadPoolExecutor] = {}
_pool_lock = Lock()


def _workers(kind: str = "keyword") -> ThreadPoolExecutor:
    """Threads beside the caller's (one per core per kind): "keyword" runs keyword legs,
    "embed" query embeddings. Two pools, so an embedding never queues behind keyword legs
    that wait for a transaction the caller holds (an in-memory store serialises them)."""
    with _pool_lock:
        pool = _pools.get(kind)
        if pool is None:
            pool = _pools[kind] = ThreadPoolExecutor(
                max_workers=max(2, os.cpu_count() or 2), thread_name_prefix=f"memvault-{kind}")
        return pool


def _forget_pools_after_fork() -> None:
    _pools.clear()  # a forked child has the objects but not their threads


os.register_at_fork(after_in_child=_forget_pools_after_fork)


class Retriever:
    def __init__(self, vault: Vault, weights: Weights | None = None) -> None:
        self.vault = vault
        self.weights = weights or Weights()
        self._qcache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._qlock = Lock()

    def query_vector(self, text: str) -> Callable[[], np.ndarray]:
        """The query's vector: from the cache, or a function that waits for the
        embedding started here on a worker thread."""
        with self._qlock:
            got = self._qcache.get(text)
            if got is not None:
                self._qcache.move_to_end(text)
                return lambda: got
        pending = _workers("embed").submit(self._embed, text)
        return pending.result

    def _embed(self, text: str) -> np.ndarray:
        vec = self.vault.embedder.embed([text])[0]
        with self._qlock:
            self._qcache[text] = vec
            if len(self._qcache) > _CACHE_SIZE:
                self._qcache.popitem(last=False)
        return vec

    def candidates(self, scope: Scope, query: str, f: Filters,
                   pool: int) -> tuple[dict[str, dict[str, float]], list[Memory]]:
        """Both legs' candidates, fused, with their memories. Three things run at once
        (SQLite, numpy, usearch and the embedder release the GIL): the keyword leg and
        the fetch of its rows on a worker thread, the query's embedding on another, and
        here the vector leg's preparation (scope mask, rows of a small scope), its scan
        once the vector is ready, and the fetch of its rows. The latency is the slower
        path's, not the sum. No transaction is held while waiting for the keyword
        worker (an in-memory store serialises its transactions)."""
        store = self.vault.store
        terms = query_terms(query)

        def keyword_leg() -> tuple[list[tuple[str, float]], list[Memory]]:
            with store.read() as tx:
                hits = tx.keyword_search(scope, terms, f, pool)
                return hits, tx.get(scope, [i for i, _ in hits])

        pending = _workers().submit(keyword_leg)
        vector = self.query_vector(query)
        with store.read() as tx:
            vs = dict(tx.vector_search(scope, vector, self.vault.embedder.name, f, pool))
            rows = {m.id: m for m in tx.get(scope, list(vs))}
        ks, kw_rows = pending.result()
        rows.update((m.id, m) for m in kw_rows)
        fused = fuse(dict(ks), vs, self.weights)
        memories = [rows[i] for i in fused if i in rows]
        with store.read() as tx:
            stale = tx.superseded_sources(scope, [m.id for m in memories if m.kind == "message"])
        for mid in stale:
            fused[mid]["stale_source"] = 1.0
        return fused, memories

    def search(self, scope: Scope, query: str, k: int, f: Filters,
               at: datetime | None = None) -> list[Hit]:
        """`at`: the time the question is asked at (recency, time words); `f.as_of` wins."""
        pool = max(50, k * 5)
        at = f.as_of or at or now()
        focus = time_focus(query, at)
        if (focus is not None and focus.strict and f.since is None and f.until is None
                and f.as_of is None):
            f = dataclasses.replace(f, since=focus.range.start, until=focus.range.end)
        fused, memories = self.candidates(scope, query, f, pool)
        ranked: list[tuple[Memory, float]] = []
        signals: dict[str, dict[str, float]] = {}
        for m in memories:
            base = fused[m.id]
            if base["relevance"] <= 0:
                continue
            # as_of already keeps only what was valid then: nothing there is stale
            score, extra = adjust(base["relevance"], m, at, self.weights,
                                  bool(base.get("stale_source")), as_of=f.as_of is not None)
            if focus is not None:
                hit = in_focus(m, focus)
                extra["time"] = 1.0 if hit else 0.0
                score *= 1.0 + (TIME_BOOST if hit else 0.0)
            signals[m.id] = {**base, **extra}
            ranked.append((m, score))
        ranked.sort(key=lambda pair: pair[1], reverse=True)
        top = diversify(ranked, k, self.weights.per_source_cap)
        return [Hit(m, round(score, 6), signals[m.id]) for m, score in top]
