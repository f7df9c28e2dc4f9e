"""An in-memory vector index with columnar scope data, kept in step with the store.

The store is the source of truth; this is a cache of (vector, tenant, user, agent, kind,
status) per memory row, refreshed from the store's changelog before each search. Scope and
status are applied as numpy masks here, and the store re-checks every returned row with
its SQL scope clause, so a stale cache can cost a result, never leak one.

Search is exact (a masked float32 scan) unless the index holds an approximate graph
(`ann.Hnsw`, built in the background above `AnnSettings.threshold` rows) *and* the
query's mask is broad: at least `threshold` visible rows and `min_fraction` of the index.
Then the graph proposes candidates (widened until enough pass the mask), rows changed
since the graph last caught up ("dirty" rows) are scanned exactly beside them, and all of
them are re-scored from the float32 matrix. A selective mask (a small user in a big
tenant) stays on the exact scan, which is cheaper there and exact.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..types import Scope
from .ann import (
    AnnFiles,
    AnnSettings,
    Hnsw,
    candidate_count,
    filler,
    positions,
    usearch_available,
)

NULL = -1
_CHUNK = 4096  # rows per graph insert call during a build
_DRAIN = 32  # dirty rows applied to a live graph per lock hold
_LIVE_DIRTY = 5_000  # a new graph goes live once at most this many rows wait for it
_MAX_WIDEN = 3  # widenings of the candidate count before falling back to the exact scan


@dataclass(frozen=True)
class IndexRow:
    rowid: int
    id: str
    tenant: str
    user_id: str | None
    agent_id: str | None
    kind: str
    status: str
    model: str | None
    vec: bytes | None
    when: float | None = None  # unix time of COALESCE(valid_from, created_at)


class _Codes:
    """Interns strings as small ints so masks are cheap comparisons."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}

    def code(self, value: str | None) -> int:
        if value is None:
            return NULL
        got = self.codes.get(value)
        if got is None:
            got = self.codes[value] = len(self.codes)
        return got

    def lookup(self, value: str | None) -> int | None:
        return NULL if value is None else self.codes.get(value)


class VectorIndex:
    def __init__(self, dim: int | None = None, ann: AnnSettings | None = None) -> None:
        self.lock = threading.RLock()
        self.ann_settings = ann or AnnSettings()
        self.generation = 0
        self.files: AnnFiles | None = None
        self.ann_error: str | None = None
        self.ann_source: str | None = None  # "built" or "loaded", once a graph is live
        self._ready = threading.Condition(self.lock)
        self._clear(dim)

    def _clear(self, dim: int | None = None) -> None:
        self.dim = dim
        self.model: str | None = None
        self.n = 0
        self.cap = 0
        self.pos: dict[int, int] = {}
        self.ids: list[str] = []
        self.codes = _Codes()
        self.vecs = np.zeros((0, 0), dtype=np.float32)
        self.rowids = np.zeros(0, dtype=np.int64)
        self.when = np.zeros(0, dtype=np.float64)  # event time, for since/until masks
        self.cols: dict[str, np.ndarray] = {}
        self.last_seq = 0
        self.ann: Hnsw | None = None  # the live graph, when there is one
        self._tracking = False  # a graph exists or is being built: record changed rows
        self._dirty: dict[int, int] = {}  # rowid -> change stamp, not yet in the graph
        self._stamp = 0
        self._worker: threading.Thread | None = None
        self._want_publish = False
        self.generation += 1

    def reset(self) -> None:
        with self.lock:
            self._clear()
            self._ready.notify_all()

    def configure(self, settings: AnnSettings) -> None:
        """Replace the approximate-path settings (a graph already built is dropped)."""
        with self.lock:
            self.ann_settings = settings
            self.reset()

    def _grow(self, need: int) -> None:
        if need <= self.cap:
            return
        cap = max(1024, need, self.cap * 2)
        vecs = np.zeros((cap, self.dim or 0), dtype=np.float32)
        rowids = np.full(cap, -1, dtype=np.int64)
        when = np.zeros(cap, dtype=np.float64)
        if self.n:
            vecs[: self.n] = self.vecs[: self.n]
            rowids[: self.n] = self.rowids[: self.n]
            when[: self.n] = self.when[: self.n]
        self.vecs, self.rowids, self.when = vecs, rowids, when
        cols = {}
        for name in ("tenant", "user", "agent", "kind", "status"):
            col = np.full(cap, NULL, dtype=np.int32)
            if name in self.cols:
                col[: self.n] = self.cols[name][: self.n]
            cols[name] = col
        self.cols = cols
        self.cap = cap

    def upsert(self, rows: Iterable[IndexRow]) -> None:
        for row in rows:
            if row.vec is None:
                self._hide(row.rowid)
                continue
            vec = np.frombuffer(row.vec, dtype=np.float32)
            if self.model is None:
                self.model = row.model
            if row.model == self.model and self.dim is None:
                self.dim = vec.shape[0]
            if vec.shape[0] != self.dim or row.model != self.model:
                self._hide(row.rowid)
                continue
            self._put(row, vec)

    def bulk_load(self, cursor: Any, model: str, expect: int = 0) -> None:
        """Fill an empty index from a cursor of IndexRow tuples (a full reload): the same
        result as `upsert`, vectorised per chunk of rows."""
        self.model = model
        code = self.codes.code
        while chunk := cursor.fetchmany(20_000):
            if self.dim is None:
                first = next((r for r in chunk if r[8] is not None and r[7] == model), None)
                self.dim = len(first[8]) // 4 if first is not None else None
            size = (self.dim or 0) * 4
            keep = [r for r in chunk if r[8] is not None and r[7] == model and len(r[8]) == size]
            if not keep:
                continue
            a, b = self.n, self.n + len(keep)
            self._grow(max(b, expect))
            self.vecs[a:b] = np.frombuffer(b"".join(r[8] for r in keep),
                                           dtype=np.float32).reshape(len(keep), -1)
            self.rowids[a:b] = [r[0] for r in keep]
            self.when[a:b] = [r[9] or 0.0 for r in keep]
            self.pos.update(zip((r[0] for r in keep), range(a, b), strict=True))
            self.ids.extend(r[1] for r in keep)
            for name, i in (("tenant", 2), ("user", 3), ("agent", 4), ("kind", 5),
                            ("status", 6)):
                self.cols[name][a:b] = [code(r[i]) for r in keep]
            self.n = b

    def _put(self, row: IndexRow, vec: np.ndarray) -> None:
        p = self.pos.get(row.rowid)
        if p is None:
            self._grow(self.n + 1)
            p = self.n
            self.n += 1
            self.pos[row.rowid] = p
            self.ids.append(row.id)
            self.rowids[p] = row.rowid
            self._touch(row.rowid)
        elif self.cols["status"][p] == NULL or not np.array_equal(self.vecs[p], vec):
            self._touch(row.rowid)
        self.vecs[p] = vec
        self.when[p] = row.when or 0.0
        c = self.cols
        c["tenant"][p] = self.codes.code(row.tenant)
        c["user"][p] = self.codes.code(row.user_id)
        c["agent"][p] = self.codes.code(row.agent_id)
        c["kind"][p] = self.codes.code(row.kind)
        c["status"][p] = self.codes.code(row.status)

    def _hide(self, rowid: int) -> None:
        p = self.pos.get(rowid)
        if p is not None:
            self.cols["status"][p] = NULL
            self.vecs[p] = 0.0
        self._touch(rowid)

    def _touch(self, rowid: int) -> None:
        """Record that the graph's copy of `rowid` is out of date."""
        if self._tracking:
            self._stamp += 1
            self._dirty[rowid] = self._stamp

    def mask(self, scope: Scope, kinds: Sequence[str], statuses: Sequence[str],
             user_only: bool = False, since: float | None = None,
             until: float | None = None) -> np.ndarray | None:
        """Rows visible to `scope` with the given kinds/statuses and event time in
        [since, until) (unix seconds), or None if none can be."""
        n, c, look = self.n, self.cols, self.codes.lookup
        tenant = look(scope.tenant)
        if tenant is None or n == 0:
            return None
        m = c["tenant"][:n] == tenant
        if scope.user_id is not None:
            user = look(scope.user_id)
            own = c["user"][:n] == user if user is not None else np.zeros(n, dtype=bool)
            m &= own if user_only else (own | (c["user"][:n] == NULL))
        if scope.agent_id is not None:
            agent = look(scope.agent_id)
            mine = c["agent"][:n] == agent if agent is not None else np.zeros(n, dtype=bool)
            m &= mine | (c["agent"][:n] == NULL)
        m &= _isin(c["status"][:n], [look(s) for s in statuses])
        if kinds:
            m &= _isin(c["kind"][:n], [look(k) for k in kinds])
        if since is not None:
            m &= self.when[:n] >= since
        if until is not None:
            m &= self.when[:n] < until
        return m

    # -- search ------------------------------------------------------------------------
    def search(self, query: np.ndarray, model: str, mask: np.ndarray | None,
               limit: int, exact: bool = False) -> list[tuple[str, float]]:
        """The `limit` best rows under `mask` by cosine; `exact` forces the full scan."""
        with self.lock:
            plan = self.plan(model, mask, limit, exact)
            return self.run(plan, query) if plan is not None else []

    def plan(self, model: str, mask: np.ndarray | None, limit: int,
             exact: bool = False) -> SearchPlan | None:
        """The part of a search that needs no query vector (call under the lock): the
        path, and for an exact scan of a small share of the index a copy of its rows, so
        that the scan itself runs without the lock. None when nothing can match."""
        if mask is None or self.n == 0 or model != self.model:
            return None
        visible = int(np.count_nonzero(mask))
        if visible == 0:
            return None
        want = min(limit, visible)
        if not exact and self.uses_ann(visible):
            return SearchPlan(self.generation, want, mask, visible, approximate=True)
        idx = np.flatnonzero(mask)
        rows = self.vecs[idx] if idx.size < self.n // 4 else None
        return SearchPlan(self.generation, want, mask, visible, idx=idx, rows=rows,
                          ids=self.ids)

    def run(self, plan: SearchPlan, query: np.ndarray) -> list[tuple[str, float]]:
        """Score a plan's candidates against `query`: a gathered copy without the lock
        (`ids` only grows until a reset replaces it), the rest under it."""
        if plan.rows is not None and plan.idx is not None:
            return _best(np.einsum("ij,j->i", plan.rows, query), plan.idx, plan.want,
                         plan.ids)
        with self.lock:
            if plan.generation != self.generation:
                return []  # the index was reset since the plan: its positions are gone
            mask = _fit(plan.mask, self.n)
            if plan.approximate:
                cand = self._ann_candidates(query, mask, plan.want, plan.visible)
                if cand is not None:
                    return self._top(query, cand, plan.want)
            idx = plan.idx if plan.idx is not None else np.flatnonzero(mask)
            return self._top(query, idx, plan.want)

    def uses_ann(self, visible: int) -> bool:
        s = self.ann_settings
        return (self.ann is not None and visible >= s.threshold
                and visible >= s.min_fraction * self.n)

    def _ann_candidates(self, query: np.ndarray, mask: np.ndarray, want: int,
                        visible: int) -> np.ndarray | None:
        """Graph neighbours that pass the mask (widened until `want` do) plus the dirty
        rows; None when the mask is too narrow for the graph (use the exact scan)."""
        assert self.ann is not None
        count = candidate_count(want, visible / self.n, self.ann_settings)
        for _ in range(_MAX_WIDEN + 1):
            found = positions(self.pos, self.ann.search(query, count).tolist())
            found = found[mask[found]]
            if found.size >= want or count >= self.ann.size:
                break
            count *= 4
        else:
            return None
        if self._dirty:
            dirty = positions(self.pos, list(self._dirty))
            found = np.union1d(found, dirty[mask[dirty]])
        return found

    def _top(self, query: np.ndarray, idx: np.ndarray, want: int) -> list[tuple[str, float]]:
        if idx.size == 0:
            return []
        # einsum, not BLAS: a multi-threaded gemv is 10-20x slower on a busy machine
        if idx.size < self.n // 4:
            scores = np.einsum("ij,j->i", self.vecs[idx], query)
        else:
            scores = np.einsum("ij,j->i", self.vecs[: self.n], query)[idx]
        return _best(scores, idx, want, self.ids)

    # -- the approximate graph ---------------------------------------------------------
    def after_sync(self, files: AnnFiles | None) -> None:
        """Called (under the lock) after each sync: start a graph once the index is big
        enough, and have the worker fold changed rows into a live one."""
        if files is not None:
            self.files = files
        if self._worker is not None:
            return
        if self._tracking and self._dirty:
            self._spawn(self._drain_live)
        elif (not self._tracking and self.model and self.dim and self.ann_error is None
              and self.n >= self.ann_settings.threshold and usearch_available()):
            self._tracking = True
            self._dirty = {}
            self._spawn(self._build)

    def _spawn(self, target: Any) -> None:
        self._worker = threading.Thread(target=self._run, args=(target, self.generation),
                                        name="memvault-ann", daemon=True)
        self._worker.start()

    def _run(self, target: Any, gen: int) -> None:
        try:
            while True:
                target(gen)
                with self.lock:  # rows a sync marked while this worker was finishing
                    if gen != self.generation or self.ann is None or not self._dirty:
                        break
                target = self._drain_live
        except Exception as exc:  # noqa: BLE001 - the exact scan stays correct without it
            with self.lock:
                self.ann_error = f"{type(exc).__name__}: {exc}"
                if gen == self.generation:
                    self.ann, self._tracking, self._dirty = None, False, {}
        finally:
            with self.lock:
                if gen == self.generation:
                    self._worker = None
                self._ready.notify_all()

    def _build(self, gen: int) -> None:
        """Load the saved graph or build one from a snapshot, catch it up, go live."""
        with self.lock:
            dim, model, n = int(self.dim or 0), str(self.model), self.n
            vecs, rowids = self.vecs[:n], self.rowids[:n].copy()
            hidden = self.cols["status"][:n] == NULL
            settings, files = self.ann_settings, self.files
        persist = settings.persist and files is not None
        loaded = files.load(model, dim, settings) if persist and files else None
        if loaded is not None and files is not None:
            graph, seq = loaded
            changed = files.changed_since(seq)
            self._catch_up_loaded(graph, changed)
        else:
            graph = Hnsw(dim, settings)
            for a in range(0, n, _CHUNK):
                if gen != self.generation:
                    return  # reset meanwhile: this graph is of no use
                block = np.array(vecs[a:a + _CHUNK], dtype=np.float32)
                _fill_hidden(block, rowids[a:a + _CHUNK], hidden[a:a + _CHUNK], dim)
                graph.add(rowids[a:a + _CHUNK], block, settings.build_threads)
            self._want_publish = persist
        self._drain(graph, gen, until=_LIVE_DIRTY)
        with self.lock:
            if gen != self.generation:
                return
            self.ann = graph
            self.ann_source = "loaded" if loaded is not None else "built"
        self._drain_live(gen)

    def _catch_up_loaded(self, graph: Hnsw, changed: list[int]) -> None:
        with self.lock:
            for rowid in changed:
                self._stamp += 1
                self._dirty[rowid] = self._stamp
            hidden = any(self._hidden(r) for r in changed)
        if hidden and self.files is not None:
            self.files.drop_files()  # it holds vectors of rows hidden since it was saved
        self._want_publish = hidden or len(changed) > max(1_000, graph.size // 20)

    def _hidden(self, rowid: int) -> bool:
        p = self.pos.get(rowid)
        return p is None or self.cols["status"][p] == NULL

    def _drain(self, graph: Hnsw, gen: int, until: int = 0) -> int | None:
        """Apply dirty rows to `graph` in small batches until at most `until` remain;
        returns the seq the graph then reflects if none remain, else None."""
        while True:
            with self.lock:
                if gen != self.generation:
                    return None
                if len(self._dirty) <= until:
                    return self.last_seq if not self._dirty else None
                batch = list(self._dirty.items())[:_DRAIN]
                rows = [(r, s, None if self._hidden(r) else self.vecs[self.pos[r]].copy())
                        for r, s in batch]
                live = self.ann is graph
                if live:  # searches read a live graph: change it under the lock
                    self._apply(graph, rows)
            if not live:
                self._apply(graph, rows)

    def _apply(self, graph: Hnsw, rows: list[tuple[int, int, np.ndarray | None]]) -> None:
        for rowid, _, vec in rows:
            if vec is not None or rowid in graph.index:
                graph.put(rowid, vec)
        with self.lock:
            for rowid, stamp, _ in rows:
                if self._dirty.get(rowid) == stamp:
                    del self._dirty[rowid]

    def _drain_live(self, gen: int) -> None:
        graph = self.ann
        if graph is None:
            return
        seq = self._drain(graph, gen)
        if seq is not None and self._want_publish and self.files is not None:
            self._want_publish = not self.files.publish(graph, seq, str(self.model))

    def shutdown(self, timeout: float = 60.0) -> None:
        """Drop the index and wait for its graph worker to notice (it checks between
        chunks): a process exiting during a build otherwise aborts in native code."""
        with self.lock:
            worker = self._worker
            self._clear()
            self._ready.notify_all()
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout)

    def wait_ann(self, timeout: float = 60.0) -> bool:
        """Block until no graph work is pending (tests, benchmarks); True if a graph is
        live and caught up."""
        with self.lock:
            self._ready.wait_for(lambda: self._worker is None, timeout)
            return self.ann is not None and not self._dirty

    def drop_persisted(self) -> None:
        """Unlink saved graphs (after an erasure); the live graph is saved again once it
        has folded the erasure in."""
        with self.lock:
            if self.files is not None:
                self.files.drop_files()
                self._want_publish = self.ann_settings.persist and self._tracking

    def memory_bytes(self) -> int:
        graph = self.ann.index.memory_usage if self.ann is not None else 0
        return int(self.vecs.nbytes + graph)


@dataclass
class SearchPlan:
    generation: int
    want: int
    mask: np.ndarray
    visible: int
    approximate: bool = False
    idx: np.ndarray | None = None  # the exact path's positions
    rows: np.ndarray | None = None  # and their vectors, when gathered
    ids: list[str] = field(default_factory=list)


def _best(scores: np.ndarray, idx: np.ndarray, want: int,
          ids: list[str]) -> list[tuple[str, float]]:
    """The `want` highest scores, best first, as (id, score); `scores[i]` is row idx[i]'s."""
    if idx.size == 0:
        return []
    k = min(want, idx.size)
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top])]
    return [(ids[idx[i]], float(scores[i])) for i in top]


def _fit(mask: np.ndarray, n: int) -> np.ndarray:
    """A mask made when the index held fewer rows, padded (rows added since: not visible)."""
    return mask if mask.shape[0] >= n else np.pad(mask, (0, n - mask.shape[0]))


def _fill_hidden(block: np.ndarray, rowids: np.ndarray, hidden: np.ndarray, dim: int) -> None:
    """Hidden or zeroed rows get a filler vector (a zero vector has no cosine)."""
    bad = hidden | (np.einsum("ij,ij->i", block, block) < 1e-12)
    for i in np.flatnonzero(bad):
        block[i] = filler(int(rowids[i]), dim)


def _isin(col: np.ndarray, codes: Sequence[int | None]) -> np.ndarray:
    wanted = [c for c in codes if c is not None]
    if not wanted:
        return np.zeros(col.shape[0], dtype=bool)
    if len(wanted) == 1:
        return col == wanted[0]
    return np.isin(col, np.asarray(wanted, dtype=np.int32))
