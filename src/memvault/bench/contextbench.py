"""Context benchmark: are the evidence turns inside `vault.context` at a token budget, and
how much smaller is that context than the whole history?

Every turn of a conversation is ingested as a message with its session date, one fresh
vault per conversation, exactly as the retrieval benchmark does (`retrieval.ingest`).
Each answerable question (not abstention, with evidence turns) is then put to
`vault.context(question, user_id=..., max_tokens=B)` for every budget B. The context's
items carry memory ids; each message memory's `metadata["turn_id"]` maps it back to its
turn. Per question and budget:

- `any` / `all`: some / every evidence turn is an item of the context;
- `whole`: some evidence turn is inside and shown whole (a turn longer than the context's
  per-item limit is shown cut, and the answer may lie in the part cut off);
- `items`, `context_tokens` (`Context.tokens`: the final text, header included);
- `full_tokens`: every turn of the conversation's history, each counted on its own with
  the same counter `vault.context` uses (`memvault.tokens.default_counter`): what pasting
  the whole history would cost, before any role or date labels.

`saving` is 1 - mean context tokens / mean full-history tokens.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import open as open_vault
from ..embed.base import Embedder
from ..tokens import TokenCounter, default_counter
from ..types import ContextItem
from . import metrics as M
from . import report
from .datasets import Question, Sample
from .retrieval import answerable, ingest

BUDGETS = (1000, 2000, 4000)
MEANS = ("any", "all", "whole", "items", "context_tokens", "full_tokens")
COLUMNS = ("budget", "question type", "n", "any", "all", "whole", "items", "ctx tokens",
           "ctx median", "full tokens", "saving")

__all__ = ["BUDGETS", "COLUMNS", "ContextRun", "context_markdown", "evidence_inside",
           "run_context", "summarise"]


@dataclass
class ContextRun:
    rows: list[dict[str, Any]] = field(default_factory=list)  # one per question and budget
    counter: str = ""
    context_seconds: list[float] = field(default_factory=list)


def evidence_inside(items: Sequence[ContextItem], turn_of: Mapping[str, str],
                    evidence: Sequence[str], content: Mapping[str, str]) -> dict[str, float]:
    """any / all / whole (see the module docstring) for one context. Pure."""
    shown = {turn_of[i.id]: i.text for i in items if i.id in turn_of}
    inside = [t for t in evidence if t in shown]
    whole = [t for t in inside if shown[t] == " ".join(content.get(t, "").split())]
    return {"any": float(bool(inside)), "all": float(len(inside) == len(set(evidence))),
            "whole": float(bool(whole))}


def _turn_ids(vault: Any) -> dict[str, str]:
    """Memory id -> turn id for every message in the benchmark user's vault."""
    out: dict[str, str] = {}
    cursor = None
    while True:
        page = vault.list(user_id="u", kinds=["message"], limit=500, cursor=cursor)
        out.update((m.id, str(m.metadata.get("turn_id", ""))) for m in page.items)
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


def _url(workdir: Path | None, sample: Sample) -> str:
    if workdir is None:
        return ":memory:"
    workdir.mkdir(parents=True, exist_ok=True)
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in sample.conversation.id)
    return f"sqlite:///{workdir / name}.db"


def _ask(vault: Any, q: Question, budgets: Sequence[int], turn_of: Mapping[str, str],
         content: Mapping[str, str], full: int, run: ContextRun) -> None:
    for budget in budgets:
        t0 = time.perf_counter()
        ctx = vault.context(q.question, user_id="u", max_tokens=budget, now=q.question_date)
        run.context_seconds.append(time.perf_counter() - t0)
        run.rows.append({"id": q.id, "question_type": q.question_type, "budget": budget,
                         **evidence_inside(ctx.items, turn_of, q.evidence_turn_ids, content),
                         "items": len(ctx.items), "context_tokens": ctx.tokens,
                         "full_tokens": full})


def run_context(samples: Iterable[Sample], embedder: Embedder, *,
                budgets: Sequence[int] = BUDGETS, counter: TokenCounter | None = None,
                workdir: Path | None = None,
                progress: Callable[[int], None] | None = None) -> ContextRun:
    """Every answerable question at every budget. Vaults are in memory, or SQLite files
    under `workdir` (kept) when given."""
    count = counter or default_counter()
    run = ContextRun(counter=count.name)
    for sample in samples:
        questions = answerable(sample)
        if not questions:
            continue
        turns = list(sample.conversation.turns())
        content = {t.turn_id: t.content for t in turns}
        full = sum(count.count(t.content) for t in turns)
        with open_vault(_url(workdir, sample), embedder=embedder, extractor="none",
                        audit_reads=False) as vault:
            ingest(vault, sample)
            turn_of = _turn_ids(vault)
            for q in questions:
                _ask(vault, q, budgets, turn_of, content, full, run)
        if progress:
            progress(len(questions))
    return run


def _table_rows(budget: int, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    agg = M.aggregate(rows, by="question_type", metrics=MEANS)
    named = [*agg["groups"].items(), ("overall", agg["overall"])]
    out = []
    for qtype, stats in named:
        mine = [r["context_tokens"] for r in rows
                if qtype == "overall" or r["question_type"] == qtype]
        ctx, full = stats["context_tokens"], stats["full_tokens"]
        out.append({"budget": budget, "question type": qtype, "n": stats["n"],
                    **{k: stats[k] for k in ("any", "all", "whole", "items")},
                    "ctx tokens": round(ctx), "ctx median": round(float(np.median(mine))),
                    "full tokens": round(full), "saving": 1.0 - ctx / full if full else None})
    return out


def summarise(run: ContextRun) -> dict[str, Any]:
    """Table rows (per budget: each question type, then overall), the counter, latency."""
    budgets = sorted({r["budget"] for r in run.rows})
    rows = [row for b in budgets
            for row in _table_rows(b, [r for r in run.rows if r["budget"] == b])]
    return {"rows": rows, "counter": run.counter,
            "questions": len({r["id"] for r in run.rows}),
            "context_latency_ms": M.latency_summary(run.context_seconds)}


def context_markdown(summary: Mapping[str, Any], command: str, title: str,
                     embedder: str) -> str:
    lat = summary["context_latency_ms"]
    p50, p95 = (f"{lat[p]:.1f}" if lat[p] is not None else "–" for p in ("p50", "p95"))
    notes = [
        "Each conversation's turns are stored as messages with their dates (no extraction); "
        "each answerable question (abstention left out) is put to `vault.context(question, "
        "max_tokens=budget, now=question_date)`. any / all: some / every evidence turn "
        "(`has_answer`) is an item "
        "of the context. whole: some evidence turn is inside and shown whole (turns longer "
        "than the per-item limit are shown cut). items: memories in the context. ctx tokens: "
        "the context's text, header included (mean; median beside it). full tokens: every "
        "turn of the history, each counted on its own (mean). saving: 1 − ctx tokens / full "
        f"tokens. Tokens by `{summary['counter']}` (the counter `vault.context` budgets "
        "with).",
        f"Embedder: {embedder}. {summary['questions']} questions; `vault.context` latency "
        f"p50 {p50} ms, p95 {p95} ms.",
    ]
    return report.render_markdown(summary["rows"], command, title=title,
                                  notes="\n".join(notes))
