"""The speed benchmark: ingest throughput, search latency against store size, disk bytes
per memory, and context tokens against full-history tokens.

How the large corpora are built (so that 100k memories take minutes, not hours, and the
timings stay honest):
- a pool of `pool` distinct synthetic sentences ("<person> <verb> <object> <place>
  <time>.", seeded) is embedded once with the real model through the benchmark embedding
  cache (`CachedEmbedder`);
- memory i is pool sentence i mod pool plus two tag words (``"Tags: amber, ledger."``),
  and its vector is that sentence's vector plus small Gaussian noise, renormalised
  (copies of one sentence have cosine ~0.95 with each other);
- the memories go through the real write path: `vault.add(..., infer=False)` in batches
  of 1000 into one scope (one user), each with a timestamp spread over three years; only
  the embedding call is replaced, by a lookup of the precomputed vector;
- queries are distinct questions from the same vocabulary, each asked twice in a row:
  first embedded by the real model inside the call (no cache): "query embedding
  included"; then again, served by the vault's own query-embedding LRU: "excluded";
- ingest throughput is measured separately, on a fresh vault with the real model and no
  cache of any kind, over conversational messages from the truth generator.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from .. import open as open_vault
from ..embed.base import Embedder, normalise
from . import metrics as M
from .truthgen import TruthConfig, generate

PERSONS = ("Maria", "the landlord", "my manager", "Tom", "the neighbours", "grandpa", "Aisha",
           "our team", "the plumber", "Lucas", "my sister", "the accountant", "Priya", "Dad",
           "the new intern", "Kenji", "the coach", "Olivia", "my flatmate", "the dentist",
           "Sven", "the vet", "Grace", "the caterer", "Omar", "the editor", "Lea", "the pilot",
           "Mr. Alvarez", "the gardener")
VERBS = ("fixed", "painted", "ordered", "cancelled", "rescheduled", "booked", "returned",
         "cleaned", "discussed", "forgot", "lost", "found", "recommended", "borrowed", "sold",
         "bought", "repaired", "delivered", "reviewed", "planned")
OBJECTS = ("the bathroom sink", "a birthday cake", "the quarterly report", "the flight to Rome",
           "a new laptop", "the garden fence", "the car insurance", "a piano lesson",
           "the conference talk", "the wedding venue", "a pair of hiking boots",
           "the tax return", "the kitchen lights", "a train ticket to Vienna", "the vet visit",
           "the team offsite", "a second-hand bicycle", "the broken dishwasher",
           "the book club meeting", "a yoga mat", "the electricity bill", "the school play",
           "a spare phone charger", "the hotel in Kyoto", "the annual budget",
           "the leaking roof", "a vintage camera", "the dinner reservation", "the gym membership",
           "the project proposal", "a new mattress", "the passport renewal", "the moving van",
           "a set of winter tyres", "the podcast episode", "the birthday party",
           "the job interview", "a laptop repair", "the football tickets", "the rental contract")
PLACES = ("at the office", "in the kitchen", "downtown", "at the airport", "near the station",
          "at the gym", "in the park", "at home", "at the library", "at the clinic",
          "at the market", "by the river", "at school", "at the bank", "online")
TIMES = ("on Monday", "last weekend", "this morning", "after lunch", "before the holidays",
         "yesterday evening", "in March", "at noon", "on Friday night", "last summer",
         "during the storm", "after the meeting", "on her birthday", "at dawn", "in the autumn")
TAGS = ("amber", "ledger", "quartz", "harbor", "willow", "ember", "cobalt", "meadow", "falcon",
        "granite", "saffron", "tundra", "velvet", "zephyr", "orchid", "basalt", "cedar", "delta",
        "fjord", "glacier", "hazel", "indigo", "juniper", "kelp", "lagoon", "maple", "nectar",
        "onyx", "pepper", "quill", "raven", "sierra", "thistle", "umber", "violet", "walnut")

SCOPE: dict[str, Any] = {"user_id": "bench", "tenant": "speed"}
BUILD_BATCH = 1000
NOISE = 0.016  # per-dimension sigma: |noise| ~ 0.31 for 384 dims


def sentence_pool(n: int, seed: int = 11) -> list[str]:
    rng, seen = random.Random(seed), dict[str, None]()
    while len(seen) < n:
        seen.setdefault(f"{rng.choice(PERSONS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} "
                        f"{rng.choice(PLACES)} {rng.choice(TIMES)}.".capitalize(), None)
    return list(seen)


def query_texts(n: int, seed: int) -> list[str]:
    rng, seen = random.Random(seed), dict[str, None]()
    forms = (lambda: f"Who {rng.choice(VERBS)} {rng.choice(OBJECTS)}?",
             lambda: f"What happened {rng.choice(PLACES)} {rng.choice(TIMES)}?",
             lambda: f"What did {rng.choice(PERSONS)} do {rng.choice(TIMES)}?",
             lambda: f"When was {rng.choice(OBJECTS)} {rng.choice(VERBS)}?")
    while len(seen) < n:
        seen.setdefault(rng.choice(forms)(), None)
    return list(seen)


class PoolEmbedder:
    """Serves precomputed vectors for the corpus being built; anything else (queries) goes
    to the real model, uncached."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.pending: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        todo = [i for i, t in enumerate(texts) if t not in self.pending]
        for i, t in enumerate(texts):
            if t in self.pending:
                out[i] = self.pending[t]
        if todo:
            out[todo] = self.inner.embed([texts[i] for i in todo])
        return out


@dataclass
class SpeedResult:
    sizes: list[dict[str, Any]] = field(default_factory=list)
    ingest: list[dict[str, Any]] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


def _db_bytes(path: Path) -> int:
    return sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal", "-shm")
               if Path(f"{path}{s}").exists())


class Corpus:
    """Grows one scope (`SCOPE` unless given) to each requested size through
    `vault.add(..., infer=False)`."""

    def __init__(self, vault: Any, pool: list[str], vecs: np.ndarray, seed: int,
                 scope: dict[str, Any] | None = None) -> None:
        self.vault, self.pool, self.vecs = vault, pool, vecs
        self.scope = scope or SCOPE
        self.rng = np.random.default_rng(seed)
        self.tag_rng = random.Random(seed)
        self.n = 0
        self.start = datetime(2022, 1, 1, tzinfo=UTC)

    def grow(self, to: int, progress: Callable[[int], None] | None = None) -> float:
        emb: PoolEmbedder = self.vault.embedder
        t0 = time.perf_counter()
        while self.n < to:
            count = min(BUILD_BATCH, to - self.n)
            idx = np.arange(self.n, self.n + count)
            texts = [f"{self.pool[i % len(self.pool)]} Tags: {self.tag_rng.choice(TAGS)}, "
                     f"{self.tag_rng.choice(TAGS)}." for i in idx]
            noise = self.rng.normal(0.0, NOISE, (count, self.vecs.shape[1])).astype(np.float32)
            vecs = normalise(self.vecs[idx % len(self.pool)] + noise)
            emb.pending = dict(zip(texts, vecs, strict=True))
            msgs = [{"role": "user", "content": t,
                     "timestamp": self.start + timedelta(minutes=int(i) * 15)}
                    for t, i in zip(texts, idx, strict=True)]
            self.vault.add(msgs, session_id=f"s{self.n // 50}", infer=False, **self.scope)
            emb.pending = {}
            self.n += count
            if progress:
                progress(count)
        return time.perf_counter() - t0


def time_pairs(vault: Any, queries: Sequence[str], k: int = 10) -> tuple[list[float],
                                                                         list[float]]:
    """Each query twice in a row: first with its embedding computed inside the call, then
    served by the query-embedding cache. Paired, so both see the same machine load."""
    first: list[float] = []
    again: list[float] = []
    for q in queries:
        for out in (first, again):
            t0 = time.perf_counter()
            vault.search(q, k=k, **SCOPE)
            out.append(time.perf_counter() - t0)
    return first, again


def measure_size(vault: Any, db: Path, size: int, queries: Sequence[str]) -> dict[str, Any]:
    """Latency in the steady state a server reaches: above the approximate-index
    threshold the graph is built in the background after the first search; timing
    starts once it is live (its build time is reported beside)."""
    t0 = time.perf_counter()
    vault.search("warm-up query for the vector index", k=10, **SCOPE)  # loads the index
    index = getattr(vault.store, "index", None)
    graph = bool(index is not None and index.wait_ann(3600))
    ready_s = time.perf_counter() - t0
    first, again = time_pairs(vault, queries)
    included, excluded = M.latency_summary(first), M.latency_summary(again)
    vault.store.checkpoint()
    return {"size": size, "included": included, "excluded": excluded,
            "disk_bytes": _db_bytes(db), "bytes_per_memory": _db_bytes(db) / size,
            "vector_path": "approximate (HNSW)" if graph else "exact", "ready_s": ready_s}


def ingest_throughput(inner: Embedder, n: int, batch: int, infer: bool,
                      workdir: Path) -> dict[str, Any]:
    """Fresh vault, real embedder, no cache: `n` conversational messages in adds of `batch`."""
    world = generate(TruthConfig(tenants=1, users=26, sessions=12, seed=5))
    msgs = [{"role": w.role, "content": w.content, "timestamp": w.when}
            for w in world.writes if w.op == "add"][:n]
    db = workdir / f"ingest-{'infer' if infer else 'raw'}.db"
    with open_vault(f"sqlite:///{db}", embedder=inner,
                    extractor=None if infer else "none") as vault:
        inner.embed(["load the model before the clock starts"])
        t0 = time.perf_counter()
        created = 0
        for i in range(0, len(msgs), batch):
            r = vault.add(msgs[i:i + batch], infer=infer, **SCOPE)
            created += len(r.memories) + len(r.pending)
        secs = time.perf_counter() - t0
        extractor = getattr(vault.extractor, "name", type(vault.extractor).__name__)
    return {"infer": infer, "messages": len(msgs), "batch": batch, "seconds": secs,
            "messages_per_s": len(msgs) / secs, "memories_written": created,
            "extractor": extractor}


def _token_counter() -> tuple[Callable[[str], int], str]:
    try:
        from ..context import count_tokens  # type: ignore[attr-defined]

        return count_tokens, "memvault.context.count_tokens"
    except ImportError:
        return (lambda text: max(1, len(text) // 4)), "characters / 4"


def context_tokens(embedder: Embedder, workdir: Path, max_tokens: int = 1500,
                   users: int = 5) -> dict[str, Any]:
    """`vault.context` against pasting the user's whole history, on truth-generator users."""
    from .truth import _Run

    world = generate(TruthConfig(tenants=1, users=users, sessions=10, seed=3))
    db = workdir / "context.db"
    count, counter_name = _token_counter()
    with open_vault(f"sqlite:///{db}", embedder=embedder, extractor="none") as vault:
        run = _Run(world, vault, 0.0)
        run.ingest()
        qs = [q for q in world.questions if q.gold]
        try:
            vault.context(qs[0].text, user_id=qs[0].user_id, tenant=qs[0].tenant)
        except (ImportError, AttributeError, NotImplementedError) as exc:
            return {"skipped": f"vault.context is not available yet ({type(exc).__name__})"}
        full: dict[str, int] = {}
        for w in world.writes:
            if w.op == "add" and w.user_id:
                full[w.user_id] = full.get(w.user_id, 0) + count(w.content)
        ctx_tokens, lat, found = [], [], []
        for q in qs:
            t0 = time.perf_counter()
            ctx = vault.context(q.text, user_id=q.user_id, tenant=q.tenant,
                                max_tokens=max_tokens)
            lat.append(time.perf_counter() - t0)
            ctx_tokens.append(ctx.tokens)
            ids = {item.id for item in ctx.items}
            found.append(all(any(run.ids.get(lab) in ids for lab in grp) for grp in q.gold))
    mean_full = float(np.mean([full[q.user_id] for q in qs]))
    return {"questions": len(qs), "max_tokens": max_tokens,
            "context_tokens_mean": float(np.mean(ctx_tokens)), "full_history_tokens_mean":
            mean_full, "ratio": float(np.mean(ctx_tokens)) / mean_full,
            "gold_in_context": float(np.mean(found)), "latency_ms": M.latency_summary(lat),
            "token_counter": counter_name}


def _phase(step: Callable[[str, int, int], None], name: str,
           total: int) -> Callable[[int], None]:
    return lambda n: step(name, n, total)


def _no_progress(phase: str, n: int, total: int) -> None:
    return None


def run_speed(inner: Embedder, pool_embedder: Embedder, sizes: Sequence[int], *,
              queries: int = 200, pool: int = 4000, ingest_n: int = 1000, batch: int = 50,
              workdir: Path | None = None, seed: int = 11,
              progress: Callable[[str, int, int], None] | None = None) -> SpeedResult:
    """`inner`: the real model (queries, ingest); `pool_embedder`: the same model behind
    the benchmark cache, for the sentence pool."""
    step = progress or _no_progress
    res = SpeedResult(settings={
        "sizes": list(sizes), "queries_per_size": queries, "pool": pool, "noise_sigma": NOISE,
        "ingest_messages": ingest_n, "ingest_batch": batch, "embedder": inner.name,
        "search_k": 10, "audit_reads": True, "loadavg_start": os.getloadavg(),
        "niceness": os.nice(0)})
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        work = Path(tmp)
        for infer in (False, True):
            res.ingest.append(ingest_throughput(inner, ingest_n, batch, infer, work))
            step("ingest", 1, 2)
        texts = sentence_pool(pool, seed)
        vecs = np.asarray(pool_embedder.embed(texts), dtype=np.float32)
        db = work / "speed.db"
        with open_vault(f"sqlite:///{db}", embedder=PoolEmbedder(inner),
                        extractor="none") as vault:
            corpus = Corpus(vault, texts, vecs, seed)
            qs = query_texts(queries * len(sizes), seed + 1)
            for i, size in enumerate(sorted(sizes)):
                secs = corpus.grow(size, _phase(step, f"build {size:,}", size))
                row = measure_size(vault, db, size, qs[i * queries:(i + 1) * queries])
                res.sizes.append({**row, "build_s": secs})
        res.context = context_tokens(pool_embedder, work)
    res.settings["loadavg_end"] = os.getloadavg()
    return res
