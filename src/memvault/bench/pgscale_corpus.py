"""The corpus of `memvault.bench.pgscale`: owners, texts and vectors, and the two ways in.

Layout: one tenant, written in batches of 100 memories (one `add()` call each). A batch
belongs to one owner: 20% of the batches to one very large user, 1% to the tenant's
shared workspace (no user), every other batch to its own small user (100 memories). A
small user's search therefore filters the tenant down to 100 rows plus the workspace's.

Texts and vectors (`--vectors`):
- `cache`: windows of real LongMemEval turns, each with the all-MiniLM-L6-v2 vector of
  its turn from the benchmark embedding cache plus N(0, 0.016) noise per dimension,
  renormalised (as `bench.scale` builds its corpus; no model runs); queries are
  LongMemEval questions whose vectors the cache holds. Each real vector gets size / pool
  noisy copies (`--pool`, at most the ~54,000 cached turns): tight clusters of
  near-duplicates, which make HNSW recall lower than on data with fewer of them (see
  docs/scaling.md, "Measured figures").
- `hash`: synthetic Zipf-distributed words embedded by the deterministic `HashEmbedder`
  (near-random 384-d vectors: a pessimistic case for HNSW recall).

Ways in (`--load`):
- `add`: `vault.add(..., infer=False)`, 100 messages per call, the whole write path
  (policy, row, keyword index, vector with its HNSW insert, history, audit, one commit);
  only the embedding is replaced by a lookup of the precomputed vector;
- `copy`: the store's bulk path, `PgTx.insert_many` (COPY), 10,000 memories per
  transaction with the HNSW index dropped, built again afterwards: rows, keyword index
  and vectors only (no policy, history or audit rows).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from .._util import content_hash, new_id
from ..embed import HashEmbedder
from ..embed.base import Embedder, normalise
from ..stores.base import StoredVector
from ..types import Memory
from .scale import (
    BIG_USER,
    NOISE,
    TENANT,
    _window,
    cached_texts,
    pool_texts,
    query_texts,
    user_name,
)

BATCH = 100  # messages per add() call; also the memories of one small user
COPY_BATCH = 10_000
START = datetime(2022, 1, 1, tzinfo=UTC)
MODEL = "all-MiniLM-L6-v2"

__all__ = ["BATCH", "BIG_USER", "TENANT", "Layout", "Source", "load_add", "load_copy",
           "open_source", "user_name"]


@dataclass(frozen=True)
class Layout:
    size: int
    big_share: float = 0.2
    seed: int = 17

    @property
    def batches(self) -> int:
        return self.size // BATCH

    @property
    def shared_batches(self) -> int:
        return max(1, self.batches // 100)

    @property
    def big_batches(self) -> int:
        return int(self.batches * self.big_share)

    def owners(self) -> np.ndarray:
        """Owner of each batch: -1 the big user, -2 the shared workspace, j small user j."""
        small = self.batches - self.big_batches - self.shared_batches
        labels = np.concatenate([np.full(self.big_batches, -1), np.full(self.shared_batches, -2),
                                 np.arange(small)]).astype(np.int32)
        return np.random.default_rng(self.seed).permutation(labels)


class Source:
    """Texts and vectors of the corpus (batch by batch, reproducibly) and of the queries;
    `inner` embeds anything else (the vault's fallback behind `speed.PoolEmbedder`)."""

    def __init__(self, name: str, inner: Embedder, seed: int) -> None:
        self.name, self.inner, self.seed = name, inner, seed
        self.model, self.dim = inner.name, inner.dim
        self.queries: list[str] = []
        self.qvecs = np.zeros((0, self.dim), dtype=np.float32)

    def batch(self, b: int) -> tuple[list[str], np.ndarray]:
        raise NotImplementedError


class _NotCached:
    """The inner model behind the cache: only reached for a text the cache lacks."""

    name, dim = MODEL, 384

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        raise RuntimeError(f"{len(texts)} text(s) missing from the embedding cache; fill it "
                           "with `memvault bench retrieval` or use --vectors hash")


class CacheSource(Source):
    def __init__(self, texts: list[str], vecs: np.ndarray, seed: int) -> None:
        super().__init__("cache", _NotCached(), seed)
        self.texts, self.vecs = texts, vecs

    def batch(self, b: int) -> tuple[list[str], np.ndarray]:
        rng, trng = np.random.default_rng((self.seed, b)), random.Random(self.seed * 1_000_003 + b)
        pick = rng.integers(0, len(self.texts), BATCH)
        noise = rng.normal(0.0, NOISE, (BATCH, self.dim)).astype(np.float32)
        return ([_window(self.texts[p], trng) for p in pick],
                normalise(self.vecs[pick] + noise))


class HashSource(Source):
    VOCAB = [f"w{i}" for i in range(3000)] + ["garden", "coffee", "berlin", "project",
                                              "deadline", "vegan", "marathon", "piano"]

    def __init__(self, seed: int) -> None:
        self.emb = HashEmbedder(384)
        super().__init__("hash", self.emb, seed)
        p = 1.0 / np.arange(1, len(self.VOCAB) + 1)
        self.p = p / p.sum()

    def texts(self, n: int, rng: np.random.Generator) -> list[str]:
        return [" ".join(rng.choice(self.VOCAB, size=int(rng.integers(6, 18)), p=self.p))
                for _ in range(n)]

    def ask(self, n: int) -> None:
        self.queries = self.texts(n, np.random.default_rng((self.seed, 2**31)))
        self.qvecs = self.emb.embed(self.queries)

    def batch(self, b: int) -> tuple[list[str], np.ndarray]:
        texts = self.texts(BATCH, np.random.default_rng((self.seed, b)))
        return texts, self.emb.embed(texts)


def open_source(kind: str, queries: int, seed: int, cache: Path, lme: Path,
                pool: int = 40_000) -> Source:
    if kind == "hash":
        hashed = HashSource(seed)
        hashed.ask(queries)
        return hashed
    if not cache.is_file() or not lme.is_file():
        raise SystemExit(f"--vectors cache needs {cache} and {lme}; or use --vectors hash")
    from .embcache import CachedEmbedder

    cached = CachedEmbedder(_NotCached(), cache)
    texts = pool_texts(lme, pool, lambda ts: cached_texts(cached, ts))
    have = cached_texts(cached, texts)
    texts = [t for t in texts if t in have]
    src = CacheSource(texts, np.asarray(cached.embed(texts), dtype=np.float32), seed)
    asked = query_texts(lme, 1_000, seed)  # the dataset's questions first
    have = cached_texts(cached, asked)
    src.queries = [q for q in asked if q in have][:queries]
    src.qvecs = np.asarray(cached.embed(src.queries), dtype=np.float32)
    return src


def _when(b: int, i: int) -> datetime:
    return START + timedelta(minutes=b * BATCH + i)


def load_add(vault: Any, src: Source, layout: Layout, batches: Iterator[int] | range,
             owner: Callable[[int], str | None],
             progress: Callable[[int], None] | None = None) -> tuple[int, float]:
    """`vault.add` of the given batches (100 messages per call); (memories, seconds)."""
    emb = vault.embedder  # a speed.PoolEmbedder: serves the precomputed vectors
    n, t0 = 0, time.perf_counter()
    for b in batches:
        texts, vecs = src.batch(b)
        emb.pending = dict(zip(texts, vecs, strict=True))
        msgs = [{"role": "user", "content": t, "timestamp": _when(b, i)}
                for i, t in enumerate(texts)]
        vault.add(msgs, user_id=owner(b), tenant=TENANT, session_id=f"s{b}", infer=False)
        n += len(msgs)
        if progress:
            progress(len(msgs))
    emb.pending = {}
    return n, time.perf_counter() - t0


def _memories(src: Source, b: int, user: str | None) -> list[tuple[Memory, StoredVector]]:
    texts, vecs = src.batch(b)
    out = []
    for i, (text, vec) in enumerate(zip(texts, vecs, strict=True)):
        when = _when(b, i)
        m = Memory(id=new_id(), tenant=TENANT, kind="message", content=text, user_id=user,
                   role="user", session_id=f"s{b}", valid_from=when, created_at=when,
                   updated_at=when, content_hash=content_hash(text))
        out.append((m, StoredVector(src.model, vec, m.content_hash)))
    return out


def load_copy(store: Any, src: Source, layout: Layout, after_first: Callable[[], None],
              progress: Callable[[int], None] | None = None) -> tuple[int, float]:
    """`PgTx.insert_many` of the whole layout: a first transaction of one batch (which
    creates the model's HNSW index; `after_first` then drops it), the rest COPY_BATCH
    memories per transaction. (memories, seconds)."""
    labels, n, t0 = layout.owners(), 0, time.perf_counter()
    per_tx = COPY_BATCH // BATCH
    for first, last in [(0, 1), *((a, min(a + per_tx, layout.batches))
                                  for a in range(1, layout.batches, per_tx))]:
        items = [row for b in range(first, last)
                 for row in _memories(src, b, user_name(int(labels[b])))]
        with store.write() as tx:
            tx.insert_many(items)
        if first == 0:
            after_first()
        n += len(items)
        if progress:
            progress(len(items))
    return n, time.perf_counter() - t0
