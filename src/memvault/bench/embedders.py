"""`memvault bench embedders`: the embedding backends side by side, in one run.

sentence-transformers on torch, the same model on ONNX Runtime (float32) and its dynamic
int8 quantisation, measured interleaved (each query or batch visits every backend in a
rotating order, so a noisy neighbour hurts all of them alike):

- single-query latency p50/p95, each query a distinct text (no cache anywhere), with one
  thread and with each runtime's default thread count;
- batch throughput, texts/s on real turns at the configured batch size (best round);
- the cosine of each backend's vectors with the reference's (torch), mean and min;
- retrieval any@10 / all@10 on the LongMemEval dev split of each model, read from the
  results file (`memvault bench retrieval --embedder KIND` writes them).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import metrics as M
from . import report

KINDS = ("torch", "onnx", "onnx-int8")
THREADS = (1, 0)  # 0 = the runtime's default
COLUMNS = ("embedder", "model", "p50 1t ms", "p95 1t ms", "p50 ms", "p95 ms", "texts/s",
           "cos mean", "cos min")
RETRIEVAL_COLUMNS = ("model", "embedders", "limit", "n", "any@1", "any@10", "all@10", "date")


@dataclass
class EmbedderRun:
    """Raw timings and vectors of one run; `summarise` turns it into table rows."""

    names: dict[str, str]
    latency: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    batch_seconds: dict[str, list[float]] = field(default_factory=dict)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    queries: int = 0
    texts: int = 0


# --------------------------------------------------------------------- inputs


def load_texts(path: str | Path, queries: int, turns: int, seed: int = 0,
               conversations: int = 4) -> tuple[list[str], list[str]]:
    """(distinct LongMemEval questions, turns sampled from the first conversations)."""
    from .datasets import load_longmemeval

    asked: dict[str, None] = {}
    pool: list[str] = []
    for i, sample in enumerate(load_longmemeval(path)):
        asked.update((q.question, None) for q in sample.questions if q.question.strip())
        if i < conversations:
            pool += [t.content for t in sample.conversation.turns() if t.content.strip()]
        if len(asked) >= queries and i >= conversations:
            break
    rng = random.Random(seed)
    return list(asked)[:queries], rng.sample(pool, min(turns, len(pool)))


def make_embedders(kinds: Sequence[str], home: str | Path | None = None,
                   batch: int = 64) -> dict[tuple[str, int], Any]:
    """One embedder per (kind, threads); torch shares one model (its threads are global)."""
    from ..config import load_settings
    from ..embed import make_embedder

    out: dict[tuple[str, int], Any] = {}
    for kind in kinds:
        for threads in THREADS:
            if kind == "torch" and threads != THREADS[0]:
                out[(kind, threads)] = out[(kind, THREADS[0])]
                continue
            settings = load_settings(embedder=kind, embed_batch=batch, embed_threads=threads,
                                     home=str(home) if home else None)
            out[(kind, threads)] = make_embedder(settings)
    return out


# --------------------------------------------------------------------- measuring


@contextmanager
def _threads(kind: str, threads: int, default: int) -> Iterator[None]:
    """torch's intra-op pool is process-wide: set it around each torch call."""
    if kind != "torch":
        yield
        return
    import torch

    torch.set_num_threads(threads or default)
    try:
        yield
    finally:
        torch.set_num_threads(default)


def _rotated(items: Sequence[Any], i: int) -> list[Any]:
    k = i % len(items) if items else 0
    return [*items[k:], *items[:k]]


def _timed(embedder: Any, texts: list[str]) -> tuple[float, np.ndarray]:
    t0 = time.perf_counter()
    out = embedder.embed(texts)
    return time.perf_counter() - t0, out


def measure_latency(embs: Mapping[tuple[str, int], Any], queries: Sequence[str],
                    warmup: int = 3) -> dict[tuple[str, int], list[float]]:
    """Seconds per single-text `embed` for each (kind, threads), interleaved."""
    default = _torch_threads()
    keys = list(embs)
    times: dict[tuple[str, int], list[float]] = {k: [] for k in keys}
    for i, text in enumerate(queries):
        for kind, threads in _rotated(keys, i):
            with _threads(kind, threads, default):
                seconds, _ = _timed(embs[(kind, threads)], [text])
            if i >= warmup:  # the first calls load, export and warm the models
                times[(kind, threads)].append(seconds)
    return times


def measure_batches(embs: Mapping[str, Any], texts: Sequence[str], rounds: int = 2
                    ) -> tuple[dict[str, list[float]], dict[str, np.ndarray]]:
    """Seconds to embed all `texts` per round for each kind (default threads), and the
    vectors of the last round."""
    kinds = list(embs)
    seconds: dict[str, list[float]] = {k: [] for k in kinds}
    vectors: dict[str, np.ndarray] = {}
    for r in range(rounds):
        for kind in _rotated(kinds, r):
            took, vectors[kind] = _timed(embs[kind], list(texts))
            seconds[kind].append(took)
    return seconds, vectors


def _torch_threads() -> int:
    try:
        import torch
    except ImportError:
        return os.cpu_count() or 1
    return int(torch.get_num_threads())


def run_embedders(queries: Sequence[str], texts: Sequence[str],
                  kinds: Sequence[str] = KINDS, home: str | Path | None = None,
                  batch: int = 64, rounds: int = 2, warmup: int = 3) -> EmbedderRun:
    embs = make_embedders(kinds, home, batch)
    run = EmbedderRun(names={k: embs[(k, THREADS[0])].name for k in kinds},
                      queries=max(0, len(queries) - warmup), texts=len(texts))
    run.latency = measure_latency(embs, queries, warmup)
    run.batch_seconds, run.vectors = measure_batches(
        {k: embs[(k, 0)] for k in kinds}, texts, rounds)
    return run


def bench(longmemeval: str | Path, kinds: Sequence[str] = KINDS, queries: int = 200,
          turns: int = 512, batch: int = 64, rounds: int = 2, warmup: int = 3,
          results: str | Path | None = None, home: str | Path | None = None) -> dict[str, Any]:
    """The whole benchmark on LongMemEval texts: `summarise`d rows, the retrieval figures
    from `results`, and the settings and load averages to print beside them."""
    asked, texts = load_texts(longmemeval, queries + warmup, turns)
    load_before = os.getloadavg()[0]
    summary = summarise(run_embedders(asked, texts, kinds, home, batch, rounds, warmup))
    names = {r["embedder"]: r["model"] for r in summary["rows"]}
    summary["retrieval"] = retrieval_figures(results, names) if results else []
    summary["settings"] = {"kinds": list(kinds), "batch": batch, "rounds": rounds,
                           "torch_threads": _torch_threads(), "cpus": os.cpu_count(),
                           "load_before": round(load_before, 2),
                           "load_after": round(os.getloadavg()[0], 2)}
    return summary


# --------------------------------------------------------------------- summary


def cosines(vectors: Mapping[str, np.ndarray], reference: str) -> dict[str, dict[str, float]]:
    """Row-wise cosine of each kind's vectors with the reference kind's (all unit length)."""
    ref = vectors[reference]
    out = {}
    for kind, vecs in vectors.items():
        sims = np.einsum("ij,ij->i", vecs, ref) if len(ref) else np.ones(1)
        out[kind] = {"mean": float(sims.mean()), "min": float(sims.min())}
    return out


def summarise(run: EmbedderRun) -> dict[str, Any]:
    kinds = list(run.names)
    reference = "torch" if "torch" in kinds else kinds[0]
    cos = cosines(run.vectors, reference)
    rows = []
    for kind in kinds:
        one, dflt = (M.latency_summary(run.latency[(kind, t)]) for t in THREADS)
        rows.append({"embedder": kind, "model": run.names[kind],
                     "p50 1t ms": one["p50"], "p95 1t ms": one["p95"],
                     "p50 ms": dflt["p50"], "p95 ms": dflt["p95"],
                     "texts/s": int(round(run.texts / min(run.batch_seconds[kind]))),
                     "cos mean": cos[kind]["mean"], "cos min": cos[kind]["min"]})
    return {"reference": reference, "queries": run.queries, "texts": run.texts, "rows": rows}


# --------------------------------------------------------------------- retrieval figures


def retrieval_figures(results: str | Path, names: Mapping[str, str],
                      dataset: str = "longmemeval") -> list[dict[str, Any]]:
    """The latest `bench retrieval` record per (model, limit) for the models in `names`
    (kind -> model name); older records without a model name are matched by kind."""
    path = Path(results)
    if not path.is_file():
        return []
    latest: dict[tuple[str, Any], dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        rec = _json(line)
        if rec is None or not str(rec.get("bench", "")).startswith(f"retrieval-{dataset}"):
            continue
        model = rec.get("model") or _model_of(rec.get("embedder"), names)
        if isinstance(model, str) and model in names.values():
            latest[(model, rec.get("limit"))] = rec
    rows = [_retrieval_row(model, rec, names) for (model, _), rec in latest.items()]
    return sorted(rows, key=lambda r: (r["model"], r["limit"] is not None, r["limit"] or 0))


def _json(line: str) -> dict[str, Any] | None:
    try:
        rec = json.loads(line)
    except ValueError:
        return None
    return rec if isinstance(rec, dict) else None


def _model_of(kind: Any, names: Mapping[str, str]) -> str | None:
    if kind == "local":  # the default: torch or ONNX float32, the same model and vectors
        return names.get("onnx") or names.get("torch")
    return names.get(kind) if isinstance(kind, str) else None


def _retrieval_row(model: str, rec: Mapping[str, Any], names: Mapping[str, str]
                   ) -> dict[str, Any]:
    overall = rec["summary"].get("memvault", {}).get("overall", {})
    return {"model": model, "embedders": ", ".join(k for k, n in names.items() if n == model),
            "limit": rec.get("limit"), "n": overall.get("n"), "any@1": overall.get("any@1"),
            "any@10": overall.get("any@10"), "all@10": overall.get("all@10"),
            "date": str(rec.get("date", ""))[:10]}


# --------------------------------------------------------------------- markdown


def embedders_markdown(summary: Mapping[str, Any], command: str, title: str) -> str:
    retrieval = summary.get("retrieval") or []
    notes = summary.get("settings", {})
    lines = [
        f"Interleaved in one process: {summary['queries']} single-query `embed` calls per "
        f"backend and thread setting (distinct LongMemEval questions, no cache); `1t` = one "
        f"thread, else each runtime's default (torch: {notes.get('torch_threads')} threads; "
        f"ONNX Runtime: its default, one per physical core). texts/s = {summary['texts']} "
        f"LongMemEval turns, batch {notes.get('batch')}, best of {notes.get('rounds')} rounds. "
        f"cos = cosine of each backend's vectors with {summary['reference']}'s on those turns.",
        f"Load average (1 min) {notes.get('load_before')} before, {notes.get('load_after')} "
        f"after, on {notes.get('cpus')} CPUs: the machine is shared, so compare the rows with "
        "each other rather than with other sections.",
        "",
        "Retrieval on the LongMemEval dev split (memvault, turn level; latest "
        "`memvault bench retrieval` record per model and --limit in the results file; "
        "limit – = the whole split):",
        "",
        report.markdown_table(retrieval, RETRIEVAL_COLUMNS) if retrieval
        else "(no retrieval records yet)",
    ]
    return report.render_markdown(summary["rows"], command, title=title, notes="\n".join(lines))


__all__ = ["COLUMNS", "KINDS", "RETRIEVAL_COLUMNS", "EmbedderRun", "bench", "cosines",
           "embedders_markdown", "load_texts", "make_embedders", "measure_batches",
           "measure_latency", "retrieval_figures", "run_embedders", "summarise"]
