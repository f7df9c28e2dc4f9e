"""Pure ranking: query terms, fusion of keyword and vector legs, adjustments, diversity.

No I/O here: everything is unit-testable without a database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from .types import Memory


@dataclass(frozen=True)
class Weights:
    """Ranking knobs; defaults tuned on the LongMemEval development split (see BENCHMARKS.md)."""

    vector: float = 0.6
    keyword: float = 0.4
    recency: float = 0.05
    importance: float = 0.05
    confidence: float = 0.1
    verified: float = 0.05
    superseded_penalty: float = 0.25
    current_fact: float = 0.1  # an active keyed memory is the distilled current truth
    half_life_days: float = 90.0
    per_source_cap: int = 3


VECTOR_NOISE = 1e-5  # |cosine| below this is rounding noise (it differs between backends)


def fuse(keyword: Mapping[str, float], vector: Mapping[str, float],
         w: Weights) -> dict[str, dict[str, float]]:
    """Linear fusion of max-normalised BM25 and cosine similarity, with both raw signals."""
    top_kw = max(keyword.values(), default=0.0)
    out: dict[str, dict[str, float]] = {}
    for mid in set(keyword) | set(vector):
        kw = keyword.get(mid, 0.0) / top_kw if top_kw > 0 else 0.0
        vec = vector.get(mid, 0.0)
        vec = vec if vec > VECTOR_NOISE else 0.0  # float32 rounding, not similarity
        out[mid] = {"keyword": kw, "bm25": keyword.get(mid, 0.0), "vector": vec,
                    "relevance": w.vector * vec + w.keyword * kw}
    return out


def event_time(m: Memory) -> datetime | None:
    return m.valid_from or m.created_at


def adjust(relevance: float, m: Memory, now: datetime, w: Weights,
           stale_source: bool = False, as_of: bool = False) -> tuple[float, dict[str, float]]:
    """Scale relevance by recency, importance, confidence and verification (small nudges).

    Superseded memories, and messages that were the evidence for a now-superseded memory
    (`stale_source`), are damped so the current value ranks first."""
    when = event_time(m)
    age_days = max(0.0, (now - when).total_seconds() / 86400) if when else 0.0
    recency = math.exp(-age_days * math.log(2) / w.half_life_days)
    factor = (1.0 + w.recency * recency + w.importance * (m.importance - 0.5)
              + w.confidence * (m.confidence - 1.0) + (w.verified if m.verified else 0.0))
    if as_of:
        factor += w.current_fact if m.key and m.kind != "message" else 0.0
    elif m.status == "superseded" or stale_source:
        factor *= 1.0 - w.superseded_penalty
    elif m.key and m.kind != "message" and m.status == "active":
        factor += w.current_fact
    signals = {"recency": recency, "importance": m.importance, "confidence": m.confidence,
               "verified": 1.0 if m.verified else 0.0}
    return relevance * factor, signals


def diversify(ranked: Sequence[tuple[Memory, float]], k: int,
              per_source_cap: int) -> list[tuple[Memory, float]]:
    """Drop exact duplicates and cap how many hits derive from one source message."""
    seen_hashes: set[tuple[str, str]] = set()
    per_source: dict[str, int] = {}
    out: list[tuple[Memory, float]] = []
    for m, score in ranked:
        dup_key = (m.kind, m.content_hash)
        if m.content_hash and dup_key in seen_hashes:
            continue
        src = m.sources[0] if m.sources else m.id
        if per_source.get(src, 0) >= per_source_cap:
            continue
        seen_hashes.add(dup_key)
        per_source[src] = per_source.get(src, 0) + 1
        out.append((m, score))
        if len(out) >= k:
            break
    return out
