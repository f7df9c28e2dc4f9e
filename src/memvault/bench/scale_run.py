"""`memvault bench scale`: build (or reuse) the corpus, open it, measure, render."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..embed.base import Embedder
from . import report
from .scale import (
    ScaleConfig,
    ScaleResult,
    build_corpus,
    cached_texts,
    disk_bytes,
    pool_texts,
    query_texts,
    run_scale,
)

Progress = Callable[[str, int, int], None]


def _set_threads(inner: Any, threads: int) -> None:
    if hasattr(inner, "threads"):
        inner.threads = threads
    else:
        try:
            import torch

            torch.set_num_threads(threads)
        except ImportError:
            pass


def ensure_corpus(cfg: ScaleConfig, cached: Embedder, workdir: Path, lme: Path | None,
                  progress: Progress | None = None) -> tuple[Path, dict[str, Any]]:
    """The corpus database for `cfg`, built unless a matching one is already there."""
    from ..stores.ann import drop_files
    from ..stores.sqlite import SqliteStore

    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / f"scale-{cfg.size}.db"
    marker = db.with_suffix(".json")
    want = {**{k: v for k, v in vars(cfg).items() if k != "queries"}, "model": cached.name}
    if marker.is_file() and db.is_file():
        info = json.loads(marker.read_text())
        if info.get("config") == want:
            return db, info
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), marker):
        path.unlink(missing_ok=True)
    drop_files(str(db))
    texts = pool_texts(lme, cfg.pool, lambda ts: cached_texts(cached, ts))
    vecs = cached.embed(texts)
    store = SqliteStore(str(db))
    step = (lambda n: progress(f"build {cfg.size:,}", n, cfg.size)) if progress else None
    secs = build_corpus(store, cfg, texts, vecs, cached.name, step)
    store.checkpoint()
    store.close()
    info = {"config": want, "build_s": secs, "pool_texts": len(texts),
            "pool_source": "longmemeval" if lme and lme.is_file() else "synthetic"}
    marker.write_text(json.dumps(info))
    return db, info


def run_scale_bench(cfg: ScaleConfig, inner: Embedder, cached: Embedder, workdir: Path,
                    lme: Path | None, threads: int,
                    progress: Progress | None = None) -> ScaleResult:
    from .. import open as open_vault
    from ..stores.ann import AnnSettings

    db, info = ensure_corpus(cfg, cached, workdir, lme, progress)
    _set_threads(inner, threads)
    inner.embed(["load the model before any clock starts"])
    queries = query_texts(lme, cfg.queries, cfg.seed)
    with open_vault(f"sqlite:///{db}", embedder=inner, extractor="none") as vault:
        vault.store.index.configure(  # type: ignore[attr-defined]
            AnnSettings(build_threads=os.cpu_count() or 1))
        res = run_scale(vault, inner, cfg, queries)
    res.build.update({"corpus_build_s": info["build_s"], "pool_source": info["pool_source"]})
    if res.build.get("ann_source") == "built":
        info["ann_build_s"] = res.build["ann_s"]
        db.with_suffix(".json").write_text(json.dumps(info))
    res.build["ann_build_s"] = info.get("ann_build_s")
    res.resources["disk"] = disk_bytes(db)
    res.settings["query_threads"] = threads
    return res


def _mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def scale_markdown(res: ScaleResult, command: str) -> str:
    st, b, r = res.settings, res.build, res.resources
    disk = r.get("disk", {})
    lines = [
        "### Scale: search at 1M memories" if st["size"] >= 1_000_000 else
        f"### Scale: search at {st['size']:,} memories", "", *report._header(command, None, None),
        "",
        f"One tenant of {st['size']:,} memories: one very large user ({st['big_user_rows']:,}), "
        f"{st['small_users']:,} small users of {st['per_user']} each, {st['shared_rows']:,} "
        "shared workspace rows. Texts: windows of LongMemEval turns; vectors: "
        f"{st['pool']:,} real {st['embedder']} embeddings + noise (see memvault/bench/scale.py). "
        f"Queries: {st['queries']} LongMemEval questions, a different small user per query.",
        "",
        "`vault.search` latency in ms (k = 10, hybrid: keyword + vector legs, fusion, "
        "adjustments, audit of reads on):",
        "",
        report.markdown_table(res.latency, floatfmt=".1f"),
        "",
        "The legs alone (ms; the store calls with the retriever's pool of 50) and the query "
        f"embedding alone ({st['embedder']}, {st['query_threads']} thread(s)):",
        "",
        report.markdown_table(res.legs, floatfmt=".2f"),
        "",
        "Approximate vector path against the exact masked scan on the same queries and masks "
        "(recall@10 = share of the exact top 10 the served top 10 holds; `limit` = rows asked "
        "of the index: 60 is what search asks for; approximate share = queries the graph "
        "served, the rest took the exact scan):",
        "",
        report.markdown_table(res.recall, floatfmt=".3f"),
        "",
        "The keyword leg's match budget (the terms kept, rarest first, may match this many "
        "rows in all; `none`: only the per-term cutoff) on the first 100 queries of the broad "
        "scopes: `vault.search` p50 with the query embedding cached, and the share of the "
        "top 10 / top 5 that is the same as with no budget:",
        "",
        report.markdown_table(res.budget, floatfmt=".3f"),
        "",
        f"Build: corpus {b.get('corpus_build_s', 0):.0f} s through the store; cold index load "
        f"(the first search: {b.get('rows', 0):,} vectors into memory) {b['index_load_s']:.1f} s; "
        f"graph {b.get('ann_source')} in {b['ann_s']:.1f} s (build from scratch: "
        f"{_fmt_s(b.get('ann_build_s'))}); settings {st['ann']}.",
        f"Memory: RSS {_mb(r['rss_after_load'])} after the load, {_mb(r['rss_end'])} at the end "
        f"(float32 matrix + graph: {_mb(r['index_bytes'])}). Disk: SQLite "
        f"{_mb(disk.get('sqlite', 0))}, saved graph {_mb(disk.get('ann', 0))}.",
        f"Load average (1/5/15 min) at start {_load(st['loadavg_start'])}, end "
        f"{_load(st['loadavg_end'])} on {os.cpu_count()} CPUs shared with other work.",
    ]
    return "\n".join(lines)


def _fmt_s(value: Any) -> str:
    return f"{value:.0f} s" if isinstance(value, int | float) else "not measured in this run"


def _load(values: Any) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


__all__ = ["ensure_corpus", "run_scale_bench", "scale_markdown"]
