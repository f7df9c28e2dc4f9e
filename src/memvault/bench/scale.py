"""The scale benchmark: search at up to 1M memories in one tenant.

How the corpus is built (so that a million memories take minutes, and the vectors still
behave like real ones):
- a pool of `pool` real texts, LongMemEval conversation turns (those already in the
  benchmark embedding cache first; synthetic sentences from `speed.sentence_pool` if the
  dataset is absent), is embedded once by the real model through `CachedEmbedder`;
- memory i takes pool text j = (seeded draw) and keeps a window of up to 40 words of it
  (a random offset: real conversational vocabulary for the keyword index), and its vector
  is pool vector j plus N(0, 0.016) noise per dimension, renormalised (cosine ~0.95 to
  the original, so copies of one turn are near neighbours but not duplicates);
- owners: one tenant; `big_share` of the rows belong to one very large user, 1% (at most
  10,000) are the tenant's shared workspace (no user), the rest belong to many small
  users of `per_user` memories each; owners are shuffled over the rowids;
- rows are written through the store's write transaction (`SqliteTx.insert`: row, FTS
  terms, vector, changelog) in batches of 5,000, one transaction each; policy, history
  and audit rows of `vault.add` are skipped (the speed benchmark measures that path), so
  the disk figure here is rows + keyword index + vectors only.

What is measured: the first (cold) index load and the approximate graph's build or load;
recall@10 of the approximate vector path against the exact masked scan on the same
queries and masks; `vault.search` latency (k = 10, audit of reads on) for a small user
(the exact path: their rows + the workspace rows), the very large user (the approximate
path) and the whole tenant, each with a distinct LongMemEval question embedded by the
model inside the call, then again with the embedding cached; the vector and keyword
legs alone; process RSS and bytes on disk.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from .._util import content_hash, new_id
from ..embed.base import Embedder, normalise
from ..stores.base import StoredVector
from ..types import Memory

TENANT = "scale"
BIG_USER = "big-user"
NOISE = 0.016
BATCH = 5_000
WINDOW = 40
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class ScaleConfig:
    size: int = 1_000_000
    big_share: float = 0.2
    per_user: int = 100
    pool: int = 40_000
    queries: int = 200
    seed: int = 17

    @property
    def shared(self) -> int:
        return min(10_000, self.size // 100)

    @property
    def big(self) -> int:
        return int(self.size * self.big_share)

    @property
    def users(self) -> int:
        return max(1, (self.size - self.big - self.shared) // self.per_user)


@dataclass
class ScaleResult:
    settings: dict[str, Any] = field(default_factory=dict)
    build: dict[str, Any] = field(default_factory=dict)
    recall: list[dict[str, Any]] = field(default_factory=list)
    latency: list[dict[str, Any]] = field(default_factory=list)
    legs: list[dict[str, Any]] = field(default_factory=list)
    budget: list[dict[str, Any]] = field(default_factory=list)
    resources: dict[str, Any] = field(default_factory=dict)


# -- the corpus ---------------------------------------------------------------------------
def pool_texts(lme: Path | None, n: int, cached: Callable[[list[str]], set[str]]) -> list[str]:
    """`n` distinct LongMemEval turns, those the embedding cache holds first; synthetic
    sentences when the dataset is absent."""
    if lme is None or not lme.is_file():
        from .speed import sentence_pool

        return sentence_pool(n)
    from .datasets import load_longmemeval

    turns: dict[str, None] = {}
    for sample in load_longmemeval(lme):
        for t in sample.conversation.turns():
            text = _SPACE.sub(" ", t.content).strip()
            if len(text) >= 20:
                turns.setdefault(text, None)
    everything = list(turns)
    have = cached(everything)
    ordered = [t for t in everything if t in have] + [t for t in everything if t not in have]
    return ordered[:n]


def cached_texts(emb: Any, texts: list[str]) -> set[str]:
    """Those of `texts` the benchmark embedding cache already holds."""
    lookup = getattr(emb, "_lookup", None)
    if lookup is None:
        return set()
    by_hash = {content_hash(t): t for t in texts}
    return {by_hash[h] for h in lookup(list(by_hash))}


def query_texts(lme: Path | None, n: int, seed: int) -> list[str]:
    """Distinct LongMemEval questions (synthetic speed-benchmark questions without it)."""
    out: dict[str, None] = {}
    if lme is not None and lme.is_file():
        from .datasets import load_longmemeval

        for sample in load_longmemeval(lme):
            for q in sample.questions:
                out.setdefault(q.question.strip(), None)
    if len(out) < n:
        from .speed import query_texts as synthetic

        for text in synthetic(n, seed):
            out.setdefault(text, None)
    return list(out)[:n]


def owners(cfg: ScaleConfig) -> np.ndarray:
    """Owner of each row: -1 the big user, -2 the shared workspace, j >= 0 small user j."""
    labels = np.empty(cfg.size, dtype=np.int32)
    labels[: cfg.big] = -1
    labels[cfg.big: cfg.big + cfg.shared] = -2
    rest = cfg.size - cfg.big - cfg.shared
    labels[cfg.big + cfg.shared:] = np.arange(rest) % cfg.users
    return np.random.default_rng(cfg.seed).permutation(labels)


def user_name(label: int) -> str | None:
    return BIG_USER if label == -1 else None if label == -2 else f"user-{label:06d}"


def _window(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    if len(words) <= WINDOW:
        return text
    start = rng.randrange(0, len(words) - WINDOW + 1)
    return " ".join(words[start:start + WINDOW])


def build_corpus(store: Any, cfg: ScaleConfig, texts: Sequence[str], vecs: np.ndarray,
                 model: str, progress: Callable[[int], None] | None = None) -> float:
    """Write `cfg.size` memories through the store (see the module doc); seconds taken."""
    rng, trng = np.random.default_rng(cfg.seed + 1), random.Random(cfg.seed + 2)
    labels = owners(cfg)
    start = datetime(2022, 1, 1, tzinfo=UTC)
    t0 = time.perf_counter()
    for a in range(0, cfg.size, BATCH):
        count = min(BATCH, cfg.size - a)
        pick = rng.integers(0, len(texts), count)
        noise = rng.normal(0.0, NOISE, (count, vecs.shape[1])).astype(np.float32)
        batch_vecs = normalise(vecs[pick] + noise)
        with store.write() as tx:
            for i in range(count):
                row = a + i
                content = _window(texts[pick[i]], trng)
                when = start + timedelta(minutes=row)
                memory = Memory(id=new_id(), tenant=TENANT, kind="message", content=content,
                                user_id=user_name(int(labels[row])), role="user",
                                session_id=f"s{row // 50}", valid_from=when, created_at=when,
                                updated_at=when, content_hash=content_hash(content))
                tx.insert(memory, StoredVector(model, batch_vecs[i], memory.content_hash))
        if progress:
            progress(count)
    return time.perf_counter() - t0


# -- measurements -------------------------------------------------------------------------
def scenarios(cfg: ScaleConfig, n: int) -> list[tuple[str, list[str | None]]]:
    """(name, the user of each query): a different small user per query, the big user,
    and the whole tenant (no user)."""
    step = max(1, cfg.users // n)
    small = [f"user-{(i * step) % cfg.users:06d}" for i in range(n)]
    return [("small user", list(small)), ("very large user", [BIG_USER] * n),
            ("whole tenant", [None] * n)]


def rss_bytes() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def disk_bytes(db: Path) -> dict[str, int]:
    out = {"sqlite": sum(Path(f"{db}{s}").stat().st_size for s in ("", "-wal", "-shm")
                         if Path(f"{db}{s}").exists())}
    out["ann"] = sum(p.stat().st_size for p in db.parent.glob(db.name + ".ann-*.usearch"))
    return out


SEARCH_LIMIT = 60  # rows vault.search asks of the index: its pool of 50 + the re-check spare


def recall_rows(vault: Any, cfg: ScaleConfig, qvecs: np.ndarray,
                users: Sequence[tuple[str, list[str | None]]]) -> list[dict[str, Any]]:
    """recall@10 of the approximate path against the exact scan, per scenario, for the
    candidate count the retriever asks for (100) and for 10."""
    from ..types import Scope

    index = vault.store.index
    rows = []
    for name, who in users:
        for limit in (SEARCH_LIMIT, 10):
            hits, paths, ann_ms, exact_ms = [], [], [], []
            for q, user in zip(qvecs, who, strict=True):
                with index.lock:
                    mask = index.mask(Scope(TENANT, user), (), ("active",))
                    t0 = time.perf_counter()
                    exact = index.search(q, index.model, mask, limit, exact=True)
                    t1 = time.perf_counter()
                    got = index.search(q, index.model, mask, limit)
                    t2 = time.perf_counter()
                    paths.append(index.uses_ann(int(np.count_nonzero(mask))))
                want = {i for i, _ in exact[:10]}
                hits.append(len(want & {i for i, _ in got[:10]}) / max(1, len(want)))
                exact_ms.append((t1 - t0) * 1e3)
                ann_ms.append((t2 - t1) * 1e3)
            rows.append({"scenario": name, "limit": limit, "recall@10": float(np.mean(hits)),
                         "approximate share": float(np.mean(paths)),
                         "exact p50 ms": float(np.median(exact_ms)),
                         "served p50 ms": float(np.median(ann_ms))})
    return rows


def _summary(samples: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(samples) * 1e3
    return {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)),
            "p99": float(np.percentile(ms, 99)), "mean": float(ms.mean())}


def latency_rows(vault: Any, queries: Sequence[str],
                 users: Sequence[tuple[str, list[str | None]]]) -> list[dict[str, Any]]:
    """`vault.search` per scenario: first with the query embedded inside the call (the
    cache cleared), then the same queries again (embedding cached)."""
    from ..governance import clear_query_cache

    rows = []
    for name, who in users:
        clear_query_cache(vault)
        for mode in ("incl. embedding", "excl. embedding"):
            took = []
            for q, user in zip(queries, who, strict=True):
                t0 = time.perf_counter()
                vault.search(q, user_id=user, tenant=TENANT, k=10)
                took.append(time.perf_counter() - t0)
            rows.append({"scenario": name, "mode": mode, **_summary(took)})
    return rows


def leg_rows(vault: Any, queries: Sequence[str], qvecs: np.ndarray,
             users: Sequence[tuple[str, list[str | None]]]) -> list[dict[str, Any]]:
    """The keyword leg and the vector leg alone (store calls, pool 50 as in search), and
    the query embedding alone."""
    from ..stores.base import Filters
    from ..textindex import query_terms
    from ..types import Scope

    rows, model, store = [], vault.embedder.name, vault.store
    for name, who in users:
        kw, vec = [], []
        for q, v, user in zip(queries, qvecs, who, strict=True):
            scope, f = Scope(TENANT, user), Filters()
            with store.read() as tx:
                t0 = time.perf_counter()
                tx.keyword_search(scope, query_terms(q), f, 50)
                t1 = time.perf_counter()
                tx.vector_search(scope, v, model, f, 50)
                t2 = time.perf_counter()
            kw.append(t1 - t0)
            vec.append(t2 - t1)
        rows.append({"leg": "keyword (BM25, bounded plan)", "scenario": name, **_summary(kw)})
        rows.append({"leg": "vector", "scenario": name, **_summary(vec)})
    emb = []
    for q in queries:
        t0 = time.perf_counter()
        vault.embedder.embed([q + " ?"])  # not in any cache
        emb.append(time.perf_counter() - t0)
    rows.append({"leg": "query embedding", "scenario": "-", **_summary(emb)})
    return rows


BUDGETS = (None, 10_000, 8_000, 6_000, 4_000)


def budget_rows(vault: Any, queries: Sequence[str],
                users: Sequence[tuple[str, list[str | None]]]) -> list[dict[str, Any]]:
    """The keyword leg's match budget (textindex.plan_keyword_query) on the broad scopes:
    `vault.search` latency with the query embedding cached, and how much of the top 10
    (and top 5) stays what it is without a budget."""
    store, rows = vault.store, []
    saved = store.match_budget
    try:
        for name, who in users:
            if name == "small user":
                continue  # its scope tokens keep the match small: no budget reached
            base: list[list[str]] = []
            for budget in BUDGETS:
                store.match_budget = budget
                took, tops = [], []
                for q, user in zip(queries, who, strict=True):
                    t0 = time.perf_counter()
                    hits = vault.search(q, user_id=user, tenant=TENANT, k=10)
                    took.append(time.perf_counter() - t0)
                    tops.append([h.memory.id for h in hits])
                base = base or tops
                rows.append({"scenario": name, "budget": budget or "none",
                             "p50 ms (embedding cached)": float(np.median(took)) * 1e3,
                             "top-10 kept": _kept(tops, base, 10),
                             "top-5 kept": _kept(tops, base, 5)})
    finally:
        store.match_budget = saved
    return rows


def _kept(got: Sequence[list[str]], base: Sequence[list[str]], k: int) -> float:
    shares = [len(set(a[:k]) & set(b[:k])) / len(b[:k]) for a, b in zip(got, base, strict=True)
              if b]
    return float(np.mean(shares)) if shares else 1.0


def warm_index(vault: Any, timeout: float) -> dict[str, Any]:
    """Cold index load (the first search's sync), then the graph's build or load."""
    from ..stores.base import Filters
    from ..types import Scope

    index = vault.store.index
    probe = np.zeros(vault.embedder.dim, dtype=np.float32)
    probe[0] = 1.0
    t0 = time.perf_counter()
    with vault.store.read() as tx:
        tx.vector_search(Scope(TENANT), probe, vault.embedder.name, Filters(), 10)
    load_s = time.perf_counter() - t0
    ready = index.wait_ann(timeout)
    return {"index_load_s": load_s, "ann_ready": ready, "ann_s": time.perf_counter() - t0
            - load_s, "ann_source": getattr(index, "ann_source", None),
            "ann_error": index.ann_error, "rows": index.n}


def run_scale(vault: Any, inner: Embedder, cfg: ScaleConfig, queries: Sequence[str],
              ann_timeout: float = 3600.0) -> ScaleResult:
    """Measure on an opened vault whose store already holds the corpus."""
    res = ScaleResult(settings={"size": cfg.size, "big_user_rows": cfg.big,
                                "shared_rows": cfg.shared, "small_users": cfg.users,
                                "per_user": cfg.per_user, "pool": cfg.pool,
                                "queries": len(queries), "embedder": inner.name,
                                "ann": vars(vault.store.index.ann_settings),
                                "loadavg_start": os.getloadavg()})
    res.build.update(warm_index(vault, ann_timeout))
    res.resources["rss_after_load"] = rss_bytes()
    res.resources["index_bytes"] = vault.store.index.memory_bytes()
    qvecs = np.asarray(inner.embed(list(queries)), dtype=np.float32)
    users = scenarios(cfg, len(queries))
    res.recall = recall_rows(vault, cfg, qvecs, users)
    res.legs = leg_rows(vault, queries, qvecs, users)
    res.latency = latency_rows(vault, queries, users)
    res.budget = budget_rows(vault, queries[:100], [(n, w[:100]) for n, w in users])
    res.resources["rss_end"] = rss_bytes()
    res.settings["loadavg_end"] = os.getloadavg()
    return res
