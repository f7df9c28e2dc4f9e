"""Retrieval benchmark: every turn ingested as a message with its real date, one
conversation per fresh vault, each question searched in that vault's scope.

Reports turn-level any@k / all@k of the evidence turns, session-level recall_all@k and
NDCG@k, per question type, with a plain BM25 over the same turns in the same run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import open as open_vault
from ..embed.base import Embedder
from ..scoring import Weights
from . import metrics as M
from .bm25 import BM25
from .datasets import Question, Sample

KS = (1, 5, 10, 20)


@dataclass
class RetrievalRun:
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ingest_seconds: float = 0.0
    turns: int = 0
    search_seconds: list[float] = field(default_factory=list)


def _score_row(
    q: Any, ranked: Sequence[str], session_of: dict[str, str], ks: Sequence[int]
) -> dict[str, Any]:
    row: dict[str, Any] = {"id": q.id, "question_type": q.question_type}
    sessions = M.to_sessions(ranked, session_of.get)
    for k in ks:
        row[f"any@{k}"] = M.any_at_k(ranked, q.evidence_turn_ids, k)
        row[f"all@{k}"] = M.all_at_k(ranked, q.evidence_turn_ids, k)
        row[f"recall_all@{k}"] = M.recall_all_at_k(ranked, session_of, q.evidence_session_ids, k)
        row[f"ndcg@{k}"] = M.ndcg_at_k(sessions, q.evidence_session_ids, k)
    return row


def answerable(sample: Sample) -> list[Question]:
    """The questions scored: not abstention, with evidence turns."""
    return [q for q in sample.questions if not q.abstention and q.evidence_turn_ids]


def ingest(vault: Any, sample: Sample) -> int:
    n = 0
    for session in sample.conversation.sessions:
        msgs = [
            {
                "role": t.role if t.role in ("user", "assistant") else "user",
                "content": t.content or " ",
                "timestamp": t.date,
                "metadata": {"turn_id": t.turn_id},
            }
            for t in session.turns
            if t.content.strip()
        ]
        if msgs:
            vault.add(msgs, user_id="u", session_id=session.id, infer=False)
            n += len(msgs)
    return n


def run_retrieval(
    samples: Iterable[Sample],
    embedder: Embedder,
    *,
    ks: Sequence[int] = KS,
    weights: dict[str, Weights] | None = None,
    baseline: bool = True,
    progress: Callable[[int], None] | None = None,
) -> RetrievalRun:
    """Run every non-abstention question. `weights` maps a label to ranking weights, so
    several variants are compared on the same ingested data in one pass."""
    variants = weights or {"memvault": Weights()}
    run = RetrievalRun({name: [] for name in [*variants, *(["bm25"] if baseline else [])]})
    kmax = max(ks)
    for sample in samples:
        questions = answerable(sample)
        if not questions:
            continue
        session_of = sample.conversation.turn_to_session()
        with open_vault(
            ":memory:", embedder=embedder, extractor="none", audit_reads=False
        ) as vault:
            t0 = time.perf_counter()
            run.turns += ingest(vault, sample)
            run.ingest_seconds += time.perf_counter() - t0
            for q in questions:
                for name, w in variants.items():
                    vault.retriever.weights = w
                    t0 = time.perf_counter()
                    hits = vault.search(q.question, user_id="u", k=kmax, now=q.question_date)
                    run.search_seconds.append(time.perf_counter() - t0)
                    ranked = [h.memory.metadata.get("turn_id", "") for h in hits]
                    run.rows[name].append(_score_row(q, ranked, session_of, ks))
                if baseline:
                    bm = BM25((t.turn_id, t.content) for t in sample.conversation.turns())
                    run.rows["bm25"].append(
                        _score_row(q, bm.rank(q.question, kmax), session_of, ks)
                    )
        if progress:
            progress(len(questions))
    return run


def summarise(run: RetrievalRun) -> dict[str, Any]:
    out: dict[str, Any] = {
        name: M.aggregate(rows, by="question_type") for name, rows in run.rows.items()
    }
    out["_speed"] = {
        "turns": run.turns,
        "ingest_msgs_per_s": round(run.turns / run.ingest_seconds, 1)
        if run.ingest_seconds
        else None,
        "search_latency_ms": M.latency_summary(run.search_seconds),
    }
    return out
