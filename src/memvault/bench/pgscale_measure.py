"""The measurements of `memvault.bench.pgscale` on a loaded PostgreSQL store.

- HNSW build: the store's own index DDL (pg_indexes), dropped and created again;
- the vector leg per scenario, as the vault runs it (`PgTx.vector_search`, the retriever's
  pool of 50 for k = 10, RLS tenant + scope + filters, the planner choosing between the
  index with an iterative scan and an exact scan of the filtered rows), against the
  store's exact path on the same rows (`exact_below` above the row count: the distance of
  every filtered row): recall@10, latency, and which path the planner took;
- `vault.search` and the keyword leg per scenario; disk sizes; an erasure and VACUUM.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from psycopg import sql

from ..stores.base import Filters
from ..stores.pgrows import index_name
from ..stores.postgres_tx import PgTx
from ..textindex import query_terms
from ..types import Scope
from .pgscale_corpus import BATCH, BIG_USER, TENANT, Layout, user_name

POOL = 50  # what the retriever asks each leg for at k = 10: max(50, 5 * k)

__all__ = ["POOL", "Scenario", "build_index", "disk_sizes", "drop_index", "erase_and_vacuum",
           "pct", "scenarios", "vault_rows", "vector_rows"]


@dataclass(frozen=True)
class Scenario:
    name: str
    rows: int  # memories the scope and filters let through
    users: tuple[str | None, ...]  # one per query
    filters: Filters = field(default_factory=Filters)
    vault: bool = True  # also timed through vault.search (which has no user_only option)


def scenarios(layout: Layout, n: int) -> list[Scenario]:
    labels = layout.owners()
    small = [user_name(int(x)) for x in labels if x >= 0][:: max(1, (labels >= 0).sum() // n)]
    small = (small * (n // max(1, len(small)) + 1))[:n]
    shared = layout.shared_batches * BATCH
    return [
        Scenario("whole tenant", layout.size, (None,) * n),
        Scenario("very large user", layout.big_batches * BATCH + shared, (BIG_USER,) * n),
        Scenario("small user (+ workspace)", BATCH + shared, tuple(small)),
        Scenario("small user, own rows only", BATCH, tuple(small), Filters(user_only=True),
                 vault=False),
    ]


def pct(samples: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(samples) * 1e3
    return {"p50 ms": float(np.percentile(ms, 50)), "p95 ms": float(np.percentile(ms, 95))}


def _search(store: Any, sc: Scenario, i: int, q: np.ndarray, model: str) -> tuple[list[str],
                                                                                  float]:
    t0 = time.perf_counter()
    with store.read() as tx:
        got = tx.vector_search(Scope(TENANT, sc.users[i]), q, model, sc.filters, POOL)
    return [g for g, _ in got], time.perf_counter() - t0


def _exact(store: Any, sc: Scenario, qvecs: np.ndarray, model: str) -> tuple[list[list[str]],
                                                                             list[float]]:
    saved, store.exact_below = store.exact_below, 10**9
    try:
        runs = [_search(store, sc, i, q, model) for i, q in enumerate(qvecs)]
    finally:
        store.exact_below = saved
    return [r[0] for r in runs], [r[1] for r in runs]


def vector_rows(store: Any, scs: Sequence[Scenario], qvecs: np.ndarray, model: str,
                efs: Sequence[int], exact_below: int,
                step: Callable[[str], None]) -> list[dict[str, Any]]:
    """Per scenario: the exact path once, an untimed pass of the served path (the exact
    scans evict the index from the caches), then the served path at each ef_search, and
    with `exact_below` (if > 0) at the default ef_search."""
    rows, default_ef = [], store.ef_search
    runs = [(ef, 0) for ef in efs] + ([(default_ef, exact_below)] if exact_below else [])
    for sc in scs:
        step(f"exact: {sc.name}")
        want, exact_t = _exact(store, sc, qvecs, model)
        exact = {f"exact {k}": v for k, v in pct(exact_t).items()}
        for i, q in enumerate(qvecs):
            _search(store, sc, i, q, model)
        for ef, below in runs:
            step(f"ef_search {ef}, exact_below {below}: {sc.name}")
            store.ef_search, store.exact_below = ef, below
            try:
                rows.append({"scenario": sc.name, "rows": sc.rows, "ef_search": ef,
                             "exact_below": below, **_served(store, sc, qvecs, model, want),
                             **exact, **plan_share(store, sc, qvecs[:20], model)})
            finally:
                store.ef_search, store.exact_below = default_ef, 0
    return rows


def _served(store: Any, sc: Scenario, qvecs: np.ndarray, model: str,
            want: Sequence[Sequence[str]]) -> dict[str, float]:
    runs = [_search(store, sc, i, q, model) for i, q in enumerate(qvecs)]
    recall = [len(set(g[:10]) & set(w[:10])) / max(1, min(10, len(w)))
              for (g, _), w in zip(runs, want, strict=True)]
    return {"recall@10": float(np.mean(recall)), "min recall@10": float(np.min(recall)),
            "queries with recall@10 < 0.5": int(np.sum(np.asarray(recall) < 0.5)),
            **{f"served {k}": v for k, v in pct([t for _, t in runs]).items()}}


@contextmanager
def _plans(found: list[list[str]]) -> Iterator[None]:
    """EXPLAIN each vector query the store runs (untimed), as the contract tests do."""
    real = PgTx._q

    def spy(self: PgTx, query: Any, args: Any = ()) -> Any:
        if isinstance(query, sql.Composable) and "ORDER BY d" in query.as_string(self.conn):
            plan = self.conn.execute(sql.SQL("EXPLAIN ") + query, args).fetchall()
            found[-1].append("\n".join(r[0] for r in plan))
        return real(self, query, args)

    PgTx._q = spy  # type: ignore[method-assign]
    try:
        yield
    finally:
        PgTx._q = real  # type: ignore[method-assign]


def plan_share(store: Any, sc: Scenario, qvecs: np.ndarray, model: str) -> dict[str, float]:
    """Share of queries the planner sent through the HNSW index, and share that then
    needed the exact fallback (the index could not fill the pool under the filters)."""
    hnsw = index_name(model, int(qvecs.shape[1]))
    found: list[list[str]] = []
    with _plans(found):
        for i, q in enumerate(qvecs):
            found.append([])
            _search(store, sc, i, q, model)
    n = max(1, len(found))
    return {"HNSW share": sum(bool(f) and hnsw in f[0] for f in found) / n,
            "fallback share": sum(len(f) > 1 for f in found) / n}


def vault_rows(vault: Any, scs: Sequence[Scenario], queries: Sequence[str],
               qvecs: np.ndarray) -> list[dict[str, Any]]:
    """`vault.search(k=10)` (audit of reads on) and the keyword leg alone, per scenario;
    the query's embedding is a dictionary lookup here (measured in the speed benchmark)."""
    vault.embedder.pending = dict(zip(queries, qvecs, strict=True))
    vault.search(queries[0], tenant=TENANT, k=10)  # warm-up
    rows = []
    for sc in scs:
        if not sc.vault:
            continue
        took, kw = [], []
        for q, user in zip(queries, sc.users, strict=True):
            t0 = time.perf_counter()
            vault.search(q, user_id=user, tenant=TENANT, k=10)
            t1 = time.perf_counter()
            with vault.store.read() as tx:
                tx.keyword_search(Scope(TENANT, user), query_terms(q), sc.filters, POOL)
            took.append(t1 - t0)
            kw.append(time.perf_counter() - t1)
        rows.append({"scenario": sc.name, "rows": sc.rows,
                     **{f"search {k}": v for k, v in pct(took).items()},
                     **{f"keyword leg {k}": v for k, v in pct(kw).items()}})
    return rows


def drop_index(store: Any, model: str, dim: int) -> str:
    """Drop the model's HNSW index; returns the store's DDL of it for `build_index`."""
    name = index_name(model, dim)
    with store.pool.connection() as conn:
        row = conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s",
                           (name,)).fetchone()
        if row is None:
            raise RuntimeError(f"no index {name}: was anything written?")
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    return str(row[0])


def build_index(store: Any, ddl: str, work_mem: str, workers: int) -> dict[str, Any]:
    """CREATE INDEX with the store's DDL in one transaction, with these build settings
    (SET LOCAL); pgvector's notices (e.g. the graph outgrowing maintenance_work_mem) kept."""
    notices: list[str] = []

    def keep(diag: Any) -> None:
        notices.append(str(diag.message_primary))

    with store.pool.connection() as conn:
        conn.add_notice_handler(keep)
        try:
            with conn.transaction():
                conn.execute("SELECT set_config('maintenance_work_mem', %s, true),"
                             " set_config('max_parallel_maintenance_workers', %s, true)",
                             (work_mem, str(workers)))
                t0 = time.perf_counter()
                conn.execute(ddl.encode())
                secs = time.perf_counter() - t0
        finally:
            conn.remove_notice_handler(keep)  # the connection goes back to the pool
    return {"seconds": secs, "maintenance_work_mem": work_mem, "parallel_workers": workers,
            "ddl": ddl, "notices": notices}


def disk_sizes(store: Any) -> dict[str, int]:
    q = ("SELECT pg_database_size(current_database()),"
         " pg_total_relation_size('memories'), pg_total_relation_size('vectors'),"
         " pg_total_relation_size('history') + pg_total_relation_size('audit'),"
         " pg_total_relation_size('term_df'),"
         " (SELECT coalesce(sum(pg_relation_size(i.indexrelid)), 0) FROM pg_index i"
         "  JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam"
         "  WHERE i.indrelid = 'vectors'::regclass AND a.amname = 'hnsw')")
    with store.pool.connection() as conn:
        row = conn.execute(q).fetchone()
    names = ("database", "memories (with its indexes)", "vectors (with HNSW)",
             "history + audit", "term_df", "HNSW index")
    return {k: int(v) for k, v in zip(names, row, strict=True)}


def erase_and_vacuum(vault: Any, user: str | None) -> dict[str, Any]:
    """`forget` of one small user; the VACUUM that `vacuum_on_erase=1` runs after it (which
    PostgreSQL may run without vacuuming the indexes: when under 2% of a table's pages
    hold dead rows it bypasses them, leaving the erased vectors in the HNSW index); then
    VACUUM (INDEX_CLEANUP ON), which does remove them."""
    t0 = time.perf_counter()
    vault.forget(user_id=user, tenant=TENANT)
    out: dict[str, Any] = {"forget_small_user_s": time.perf_counter() - t0}
    notes: list[str] = []

    def keep(diag: Any) -> None:
        notes.append(str(diag.message_primary))

    with vault.store.pool.connection() as conn:
        conn.add_notice_handler(keep)
        try:
            for key, opts in (("vacuum_content_tables_s", "VERBOSE"),
                              ("vacuum_index_cleanup_s", "VERBOSE, INDEX_CLEANUP ON")):
                notes.clear()
                t0 = time.perf_counter()
                conn.execute(f"VACUUM ({opts}) memories, keyword_index, history, vectors")
                out[key] = time.perf_counter() - t0
                out[key.replace("_s", "_bypassed_index_scan")] = any(
                    "index scan bypassed" in n for n in notes)
        finally:
            conn.remove_notice_handler(keep)
    return out
