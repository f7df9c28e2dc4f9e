"""Tables for the terminal (rich) and the BENCHMARKS.md sections of each benchmark.

Every section starts with report.render_markdown's header (command, date, commit,
machine); nothing in BENCHMARKS.md is typed by hand.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from . import report

TURN_COLS = ("any@1", "any@5", "any@10", "any@20", "all@1", "all@5", "all@10", "all@20")
SESSION_COLS = ("recall_all@5", "recall_all@10", "ndcg@10")


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def print_table(console: Console, rows: Sequence[Mapping[str, Any]], columns: Sequence[str],
                title: str) -> None:
    table = Table(title=title, title_justify="left")
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i < 2 else "right")
    for row in rows:
        table.add_row(*(_fmt(row.get(c)) for c in columns))
    console.print(table)


def image_link(image: Path, benchmarks_file: Path, alt: str) -> str:
    rel = os.path.relpath(image.resolve(), benchmarks_file.resolve().parent)
    return f"![{alt}]({Path(rel).as_posix()})"


# --------------------------------------------------------------------- retrieval


def retrieval_rows(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per system and question type (then overall), all metric columns."""
    rows = []
    for system, agg in summary.items():
        if system.startswith("_"):
            continue
        named = [*agg["groups"].items(), ("overall", agg["overall"])]
        for qtype, stats in named:
            rows.append({"system": system, "question type": qtype, "n": stats["n"],
                         **{c: stats.get(c) for c in (*TURN_COLS, *SESSION_COLS)}})
    return rows


def recall_curves(summary: Mapping[str, Any], ks: Sequence[int]) -> dict[str, dict[int, float]]:
    curves = {}
    for system, agg in summary.items():
        if system.startswith("_"):
            continue
        for metric in ("any", "all"):
            curves[f"{system} {metric}@k"] = {k: agg["overall"][f"{metric}@{k}"] for k in ks
                                             if agg["overall"].get(f"{metric}@{k}") is not None}
    return curves


def retrieval_markdown(summary: Mapping[str, Any], command: str, title: str, image: str,
                       embedder: str) -> str:
    rows = retrieval_rows(summary)
    speed = summary.get("_speed", {})
    lat = speed.get("search_latency_ms") or {}
    notes = [
        "Turn level: any@k / all@k = some / every evidence turn in the top k hits. Session "
        "level: recall_all@k = every evidence session among the top k distinct sessions of "
        "the hits; NDCG@10 over sessions. Questions without evidence (abstention) are left "
        "out. `bm25` is a plain Okapi BM25 over the same turns (memvault.bench.bm25). "
        "Each question is asked at its question date (`search(..., now=question_date)`): "
        "recency and time words are measured from it.",
        f"Embedder: {embedder}. Ingest: {speed.get('turns')} turns at "
        f"{_fmt(speed.get('ingest_msgs_per_s'))} messages/s (embedding cache warm); search "
        f"latency p50 {_fmt(lat.get('p50'))} ms, p95 {_fmt(lat.get('p95'))} ms.",
        "",
        "Session-level and NDCG:",
        "",
        report.markdown_table(rows, ("system", "question type", "n", *SESSION_COLS)),
        "",
        image,
    ]
    return report.render_markdown(
        [{k: r[k] for k in ("system", "question type", "n", *TURN_COLS)} for r in rows],
        command, title=title, notes="\n".join(notes))


# --------------------------------------------------------------------- truth

TRUTH_COLS = ("question type", "n", "recall@1", "recall@5", "recall@10", "any@10",
              "stale_first", "abstain_ok")


def truth_markdown(quality: Sequence[Mapping[str, Any]], safety: Sequence[Mapping[str, Any]],
                   result: Any, command: str) -> str:
    s, t, cfg = result.safety, result.timings, result.settings
    lat = t["search_latency_ms"]
    notes = [
        f"{cfg['tenants']} tenants × {cfg['users_per_tenant']} users × "
        f"{cfg['sessions_per_user']} sessions (seed {cfg['seed']}): {cfg['writes']} writes, "
        f"{cfg['questions']} questions, embedder {cfg['embedder']}; ran in "
        f"{t['total_s']:.0f} s (ingest {t['writes_per_s']:.0f} writes/s, search p50 "
        f"{lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms).",
        "",
        "recall@k: every gold group (a memory id or the message that stated it; multi-hop "
        "has two groups) in the top k; any@10: at least one group. stale_first: the top hit "
        "states a value that is no longer true (current-value) or not true at `as_of` "
        "(as-of). abstain_ok: for abstention questions (never mentioned), the share where "
        f"the best hit's cosine similarity is below the floor {cfg['abstain_floor']}; for "
        "answerable ones, the share where it is not (1 − false abstention). Best floor in "
        f"hindsight: {s['best_floor']} (balanced accuracy {_fmt(s['best_balanced_accuracy'])}).",
        "",
        "Safety (" + ("PASS" if result.passed else "FAIL") + "):",
        "",
        report.markdown_table(safety, ("check", "measured", "target")),
    ]
    return report.render_markdown(quality, command, title="Truthfulness, isolation and "
                                  "erasure (synthetic histories)", notes="\n".join(notes))


# --------------------------------------------------------------------- speed

SPEED_COLS = ("memories", "p50 incl.", "p95 incl.", "p99 incl.", "p50 excl.", "p95 excl.",
              "p99 excl.", "bytes/memory", "build s", "vector path", "index ready s")


def speed_rows(result: Any) -> list[dict[str, Any]]:
    rows = []
    for r in result.sizes:
        inc, exc = r["included"], r["excluded"]
        rows.append({"memories": f"{r['size']:,}", "p50 incl.": inc["p50"],
                     "p95 incl.": inc["p95"], "p99 incl.": inc["p99"], "p50 excl.": exc["p50"],
                     "p95 excl.": exc["p95"], "p99 excl.": exc["p99"],
                     "bytes/memory": round(r["bytes_per_memory"]), "build s": r["build_s"],
                     "vector path": r.get("vector_path", "exact"),
                     "index ready s": r.get("ready_s", 0.0)})
    return rows


def ingest_rows(result: Any) -> list[dict[str, Any]]:
    return [{"mode": "infer=True" if r["infer"] else "infer=False",
             "extractor": r["extractor"] if r["infer"] else "–", "messages": r["messages"],
             "batch": r["batch"], "messages/s": r["messages_per_s"],
             "memories written": r["memories_written"]} for r in result.ingest]


def context_rows(ctx: Mapping[str, Any]) -> list[dict[str, Any]]:
    if "skipped" in ctx:
        return [{"measure": "context", "value": ctx["skipped"]}]
    lat = ctx["latency_ms"]
    return [
        {"measure": f"context tokens (mean, budget {ctx['max_tokens']})",
         "value": ctx["context_tokens_mean"]},
        {"measure": "full-history tokens (mean)", "value": ctx["full_history_tokens_mean"]},
        {"measure": "context / full history", "value": ctx["ratio"]},
        {"measure": "questions with every gold memory in the context",
         "value": ctx["gold_in_context"]},
        {"measure": "context latency p50 / p95 (ms)",
         "value": f"{lat['p50']:.1f} / {lat['p95']:.1f}"},
        {"measure": "token counter", "value": ctx["token_counter"]},
    ]


def speed_markdown(result: Any, command: str, image: str) -> str:
    st = result.settings
    notes = [
        "Search latency in ms (k = 10, one scope holding every memory, audit of reads on). "
        "Each query is asked twice in a row: incl. = the first time, the query is embedded "
        "by the model inside the call; excl. = the second time, served by the vault's "
        "query-embedding cache. bytes/memory = SQLite file + WAL after a checkpoint "
        "(rows, vectors, keyword index, history and audit) / memories. build s = writing "
        "the memories through `vault.add`; index ready s = the first search: loading the "
        "vectors into memory and, above 50,000 rows, building the approximate graph in the "
        "background; latency is timed after that, as a running server sees it.",
        f"Corpus: {st['pool']} distinct synthetic sentences embedded once by {st['embedder']}; "
        f"memory i = sentence i mod {st['pool']} + two tag words, vector = its sentence's "
        f"vector + N(0, {st['noise_sigma']}) noise, renormalised; written through "
        "`vault.add(infer=False)` in batches of 1000 (see memvault/bench/speed.py). "
        f"{st['queries_per_size']} queries per size. Load average (1/5/15 min) at start "
        f"{_load(st['loadavg_start'])}, end {_load(st['loadavg_end'])}; process niceness "
        f"{st.get('niceness', 0)}.",
        "",
        "Ingest, on a fresh vault with the real model and no embedding cache (messages from "
        "the truth generator, one user):",
        "",
        report.markdown_table(ingest_rows(result), floatfmt=".1f"),
        "",
        "Context against full history (truth-generator users, each answerable question):",
        "",
        report.markdown_table(context_rows(result.context), floatfmt=".3f"),
        "",
        image,
    ]
    return report.render_markdown(speed_rows(result), command, title="Speed and size",
                                  notes="\n".join(notes))


def _load(values: Sequence[float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


# --------------------------------------------------------------------- corpora


_RATE_KEYS = frozenset({"precision", "recall", "support", "tp", "fp", "fn", "flag_rate"})


def _numbers(value: Any) -> bool:
    return (isinstance(value, Mapping) and bool(value)
            and all(isinstance(v, int | float) for v in value.values()))


def _is_rates(value: Any) -> bool:
    return _numbers(value) and bool(_RATE_KEYS & set(value))


def corpus_tables(result: Mapping[str, Any]) -> tuple[list[tuple[str, list[dict[str, Any]]]],
                                                      list[tuple[str, Any]]]:
    """Tables (name, rows) for every mapping of per-label rates (and of counts), and the
    scalar figures; an "overall" table comes first."""
    tables, scalars = [], []
    for name, value in result.items():
        if isinstance(value, Mapping) and value and all(_is_rates(v) for v in value.values()):
            tables.append((name, [{name: label, **stats} for label, stats in value.items()]))
        elif _is_rates(value):
            tables.append((name, [{name: name, **value}]))
        elif _numbers(value):
            tables.append((name, [{name: label, "count": n} for label, n in value.items()]))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            scalars.append((name, value))
        elif isinstance(value, list | tuple):
            scalars.append((f"{name} (count)", len(value)))
    tables.sort(key=lambda t: t[0] != "overall")
    return tables, scalars


def corpus_markdown(result: Mapping[str, Any], command: str, title: str, corpus: str) -> str:
    tables, scalars = corpus_tables(result)
    figures = [{"figure": k, "value": v} for k, v in scalars]
    if tables and tables[0][0] == "overall":
        first, rest = tables[0][1], [("figures", figures)] if figures else []
    else:
        first, rest = figures or (tables[0][1] if tables else []), []
        if not figures and tables:
            tables = tables[1:]
    rest += [t for t in tables if t[1] is not first]
    notes = [f"Corpus: `{corpus}`."]
    for name, rows in rest:
        notes += ["", f"{name}:", "", report.markdown_table(rows)]
    return report.render_markdown(first, command, title=title, notes="\n".join(notes))
