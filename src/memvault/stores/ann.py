"""An approximate nearest-neighbour graph (usearch HNSW) over the vector index's rows.

A derived cache, like the exact index it accelerates (`vecindex.VectorIndex`): keyed by
the memory row's rowid, built in a background thread once the index holds
`AnnSettings.threshold` rows, kept in step with the store's changelog afterwards, and
never trusted for anything but candidate generation. Every candidate is re-scored from
the exact float32 matrix, filtered by the scope/status mask, and then re-checked by the
store's SQL scope clause, so the graph can cost recall, never leak a row.

Erasure. usearch's `remove` only tombstones a slot: the quantised vector stays in memory
(and in a saved file) until the slot is reused by the next `add`. So a changed or hidden
row is never left removed: `put` removes it and at once adds it back, with its new
vector or with a random "filler" vector for a hidden row, which reuses the very slot that
was freed (no free slot ever lingers) and overwrites the old bytes.

Persistence (SQLite files only). The graph is saved next to the database as
`<db>.ann-<token>.usearch`; the database's `meta` row `ann` names the token, the model,
the parameters and the changelog seq the file reflects. It is published inside a write
transaction only if no row changed since that seq is now hidden (deleted or erased), and
every erasure (`drop_files`, called from `refresh_vector_cache`) unlinks the files. On
open the file is loaded, checked against `meta`, and caught up from the changelog; a
file that does not match is ignored and the graph rebuilt. A restored backup carries its
own `meta` row, so a file from another timeline is never taken for its own.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, fields
from glob import escape, glob
from typing import Any

import numpy as np

META_KEY = "ann"


@dataclass(frozen=True)
class AnnSettings:
    """Tuning of the approximate path (the `ann_*` settings)."""

    threshold: int = 50_000  # rows in the index before a graph is built; visible rows
    # (after the scope/status mask) before a query uses it
    min_fraction: float = 0.02  # below this share of visible rows, the exact masked scan
    dtype: str = "i8"  # graph vectors: i8 | f16 | bf16 | f32 (re-scored in float32)
    connectivity: int = 16  # HNSW M
    expansion_add: int = 64  # efConstruction
    expansion_search: int = 64  # ef at query time (raised to the candidate count)
    oversample: float = 1.5  # candidates per wanted result, before dividing by the share
    min_candidates: int = 400  # graph neighbours asked for at least (and ef at least)
    build_threads: int = 1  # threads of the background build (leave cores for serving)
    persist: bool = True  # save the graph next to a SQLite file and reload it on open

    @classmethod
    def from_settings(cls, settings: Any) -> AnnSettings:
        """Read `ann_<field>` attributes of a Settings object, defaults for the rest."""
        names = [f.name for f in fields(cls)]
        return cls(**{n: getattr(settings, f"ann_{n}") for n in names
                      if getattr(settings, f"ann_{n}", None) is not None})

    def params(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "connectivity": self.connectivity,
                "expansion_add": self.expansion_add}


def filler(rowid: int, dim: int) -> np.ndarray:
    """The vector a hidden row's slot holds: random, so hidden rows do not pile up."""
    vec = np.random.default_rng(rowid).standard_normal(dim).astype(np.float32)
    return vec / np.linalg.norm(vec)


def usearch_index() -> Any:
    """usearch's Index class. onnxruntime is imported first when it is installed: with
    usearch's compiled module loaded, importing onnxruntime crashes the process (SIGSEGV
    in its extension's init; usearch 2.26.6 with onnxruntime 1.28-1.32, both pybind11
    modules). In the other order both work. Nothing else in memvault imports usearch."""
    if importlib.util.find_spec("onnxruntime") is not None:
        import onnxruntime  # noqa: F401
    from usearch.index import Index

    return Index


def usearch_available() -> bool:
    try:
        usearch_index()
    except ImportError:
        return False
    return True


class Hnsw:
    """A usearch HNSW graph keyed by rowid, with slot-reusing (scrubbing) updates."""

    def __init__(self, dim: int, settings: AnnSettings) -> None:
        Index = usearch_index()  # noqa: N806
        self.dim = dim
        self.settings = settings
        self.index = Index(ndim=dim, metric="cos", dtype=settings.dtype,
                           connectivity=settings.connectivity,
                           expansion_add=settings.expansion_add,
                           expansion_search=settings.expansion_search)

    @property
    def size(self) -> int:
        return len(self.index)

    def add(self, rowids: np.ndarray, vecs: np.ndarray, threads: int = 1) -> None:
        if len(rowids):
            self.index.add(rowids.astype(np.uint64), np.ascontiguousarray(vecs, np.float32),
                           threads=threads)

    def put(self, rowid: int, vec: np.ndarray | None) -> None:
        """Insert or replace one row; `None` hides it (a filler takes its slot)."""
        if rowid in self.index:
            self.index.remove(rowid)
        self.index.add(rowid, vec if vec is not None else filler(rowid, self.dim))

    def search(self, query: np.ndarray, count: int) -> np.ndarray:
        count = max(1, min(count, self.size))
        self.index.expansion_search = max(self.settings.expansion_search, count)
        return np.asarray(self.index.search(query, count, threads=1).keys, dtype=np.int64)

    def save(self, path: str) -> None:
        self.index.save(path)

    @classmethod
    def load(cls, path: str, dim: int, settings: AnnSettings) -> Hnsw:
        out = cls(dim, settings)
        out.index.load(path)
        return out


def candidate_count(want: int, share: float, settings: AnnSettings) -> int:
    """How many graph neighbours to ask for so ~`want` survive a mask covering `share`."""
    return max(want, settings.min_candidates,
               math.ceil(want * settings.oversample / max(share, 1e-9)))


# -- persistence next to a SQLite file ---------------------------------------------------
class AnnFiles:
    """Reads and publishes the saved graph of one SQLite store (see the module doc)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.base = str(store.path)

    def _file(self, token: str) -> str:
        return f"{self.base}.ann-{token}.usearch"

    def load(self, model: str, dim: int, settings: AnnSettings) -> tuple[Hnsw, int] | None:
        """The saved graph and the seq it reflects, if one matches this database."""
        with self.store.read() as tx:
            row = tx.conn.execute("SELECT v FROM meta WHERE k = ?", (META_KEY,)).fetchone()
        if row is None:
            return None
        meta = json.loads(row[0])
        path = self._file(str(meta.get("token", "")))
        if (meta.get("model") != model or meta.get("dim") != dim
                or meta.get("params") != settings.params() or not os.path.isfile(path)):
            return None
        try:
            graph = Hnsw.load(path, dim, settings)
        except Exception:  # noqa: BLE001 - a damaged cache file is rebuilt, not fatal
            return None
        if graph.size != meta.get("count"):
            return None
        return graph, int(meta["seq"])

    def changed_since(self, seq: int) -> list[int]:
        with self.store.read() as tx:
            return [r[0] for r in tx.conn.execute(
                "SELECT DISTINCT memory_rowid FROM changelog WHERE seq > ?", (seq,))]

    def publish(self, graph: Hnsw, seq: int, model: str) -> bool:
        """Save `graph` as reflecting `seq`, unless a row changed since is now hidden.
        False if it was not published (an erasure may unlink the file being written)."""
        try:
            return self._publish(graph, seq, model)
        except OSError:
            return False

    def _publish(self, graph: Hnsw, seq: int, model: str) -> bool:
        token = secrets.token_hex(8)
        path = self._file(token)
        tmp = path + ".tmp"
        graph.save(tmp)
        try:
            with self.store.write() as tx:
                hidden = tx.conn.execute(
                    "SELECT 1 FROM changelog c JOIN memories m ON m.rowid = c.memory_rowid"
                    " LEFT JOIN vectors v ON v.memory_rowid = m.rowid WHERE c.seq > ?"
                    " AND (v.memory_rowid IS NULL OR m.status = 'deleted') LIMIT 1",
                    (seq,)).fetchone()
                if hidden is not None:
                    return False
                os.replace(tmp, path)
                meta = {"token": token, "seq": seq, "model": model, "dim": graph.dim,
                        "count": graph.size, "params": graph.settings.params()}
                tx.conn.execute("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)",
                                (META_KEY, json.dumps(meta, sort_keys=True)))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self.drop_files(keep=path)
        return True

    def drop_files(self, keep: str | None = None) -> int:
        return drop_files(self.base, keep)


def drop_files(db_path: str, keep: str | None = None) -> int:
    """Unlink the saved graphs of a database (all but `keep`); returns how many."""
    gone = 0
    for path in glob(f"{escape(db_path)}.ann-*.usearch*"):
        if path != keep:
            try:
                os.unlink(path)
                gone += 1
            except FileNotFoundError:
                pass
    return gone


def positions(pos: dict[int, int], rowids: Iterable[int]) -> np.ndarray:
    get = pos.get
    return np.fromiter((p for p in map(get, rowids) if p is not None), dtype=np.int64)
