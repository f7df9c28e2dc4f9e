"""The approximate vector path (usearch HNSW) against the exact scan, on a real SQLite file:
same top results, scope masks respected, reopen (load + catch-up), updates and erasure."""

from __future__ import annotations

import glob
import importlib.util
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

import memvault
from memvault.embed.base import normalise
from memvault.stores.ann import AnnSettings
from memvault.types import Scope

if importlib.util.find_spec("usearch") is None:  # not importorskip: see ann.usearch_index
    pytest.skip("usearch is not installed", allow_module_level=True)

DIM = 32
SETTINGS = AnnSettings(threshold=400, min_fraction=0.05, connectivity=16, expansion_add=64)
LAYOUT = [("big", 1500), *((f"u{i}", 60) for i in range(10)), (None, 100)]


class TableEmbedder:
    """Known texts get their planted vector; anything else a seeded random one."""

    name = "table-32"
    dim = DIM

    def __init__(self) -> None:
        self.vecs: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = []
        for t in texts:
            if t not in self.vecs:
                seed = zlib.crc32(t.encode())
                self.vecs[t] = normalise(np.random.default_rng(seed).standard_normal((1, DIM)))[0]
            out.append(self.vecs[t])
        return np.stack(out)


def _plant(emb: TableEmbedder, rng: np.random.Generator, centers: np.ndarray, owner: str,
           n: int) -> list[str]:
    texts = []
    for i in range(n):
        text = f"{owner} memory number {i}"
        c = centers[rng.integers(len(centers))]
        emb.vecs[text] = normalise((c + 0.15 * rng.standard_normal(DIM))[None])[0]
        texts.append(text)
    return texts


def _open(url: str, emb: TableEmbedder) -> memvault.Vault:
    vault = memvault.open(url, embedder=emb, extractor="none")
    vault.store.index.configure(SETTINGS)
    return vault


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, TableEmbedder]]:
    """Build the file once; each test opens its own copy."""
    emb, rng = TableEmbedder(), np.random.default_rng(7)
    centers = normalise(rng.standard_normal((40, DIM)))
    path = tmp_path_factory.mktemp("ann") / "seed.db"
    with memvault.open(f"sqlite:///{path}", embedder=emb, extractor="none") as vault:
        for owner, n in LAYOUT:
            texts = _plant(emb, rng, centers, owner or "shared", n)
            for a in range(0, n, 1000):
                vault.add(texts[a:a + 1000], user_id=owner, infer=False)
        other = _plant(emb, rng, centers, "other-tenant", 200)
        vault.add(other, user_id="big", tenant="other", infer=False)
        vault.store.checkpoint()
    yield str(path), emb


@pytest.fixture
def vault(world: tuple[str, TableEmbedder], tmp_path: Path) -> Iterator[memvault.Vault]:
    src, emb = world
    db = tmp_path / "vault.db"
    db.write_bytes(Path(src).read_bytes())
    v = _open(f"sqlite:///{db}", emb)
    _ready(v)
    yield v
    v.store.index.wait_ann(30)
    v.close()


def _ready(vault: memvault.Vault) -> None:
    vault.search("warm up", user_id="big")  # the first sync starts the graph build
    assert vault.store.index.wait_ann(30), vault.store.index.ann_error


def _queries(n: int, seed: int = 3) -> np.ndarray:
    return normalise(np.random.default_rng(seed).standard_normal((n, DIM)))


def _both(vault: memvault.Vault, scope: Scope, q: np.ndarray,
          limit: int) -> tuple[list[str], list[str], bool]:
    index = vault.store.index
    with vault.store.read() as tx, index.lock:
        tx._sync_index(index.model)
        mask = index.mask(scope, (), ("active",))
        assert mask is not None
        served = index.search(q, index.model, mask, limit)
        exact = index.search(q, index.model, mask, limit, exact=True)
        used = index.uses_ann(int(mask.sum()))
    return [i for i, _ in served], [i for i, _ in exact], used


def _recall(vault: memvault.Vault, scope: Scope, n: int = 60) -> float:
    got = []
    for q in _queries(n):
        served, exact, used = _both(vault, scope, q, 10)
        assert used, "the broad mask should take the approximate path"
        got.append(len(set(served) & set(exact)) / len(exact))
    return float(np.mean(got))


def test_approximate_matches_exact(vault: memvault.Vault) -> None:
    assert vault.store.index.ann_source == "built"
    assert _recall(vault, Scope("default", "big")) >= 0.95
    assert _recall(vault, Scope("default")) >= 0.95


def test_a_plan_made_before_the_vector_survives_new_rows_and_a_reset(
        vault: memvault.Vault) -> None:
    """The store plans a search (mask, path, gathered rows) before the query vector is
    ready and runs it after, without the lock for a gathered plan: rows added meanwhile
    are simply not candidates, and a reset meanwhile returns nothing rather than rows of
    the wrong positions."""
    index = vault.store.index
    q = _queries(1, seed=11)[0]
    with vault.store.read() as tx, index.lock:
        tx._sync_index(index.model)
        broad = index.plan(index.model, index.mask(Scope("default"), (), ("active",)), 10)
        small = index.plan(index.model, index.mask(Scope("default", "u3"), (), ("active",)), 10)
        exact_small = index.search(q, index.model,
                                   index.mask(Scope("default", "u3"), (), ("active",)), 10,
                                   exact=True)
    assert broad is not None and broad.approximate and broad.rows is None
    assert small is not None and not small.approximate and small.rows is not None
    assert index.run(small, q) == exact_small
    rows_before = index.n
    vault.add([f"added after the plan {i}" for i in range(50)], user_id="big", infer=False)
    with vault.store.read() as tx, index.lock:
        tx._sync_index(index.model)
    assert index.n == rows_before + 50
    got = index.run(broad, q)  # its mask predates the new rows: padded, not an IndexError
    assert len(got) == 10
    added = {m.id for m in vault.list(user_id="big", limit=50).items}
    assert not added & {i for i, _ in got}
    assert index.run(small, q) == exact_small  # the gathered copy is the plan's own
    index.reset()
    assert index.run(broad, q) == []


def test_masks_are_respected(vault: memvault.Vault) -> None:
    index = vault.store.index
    owner = {m.id: m.user_id for m in vault.store.iter_all("default")}
    for q in _queries(30, seed=5):
        served, _, used = _both(vault, Scope("default", "big"), q, 50)
        assert used and served
        assert {owner[i] for i in served} <= {"big", None}
        small, _, used_small = _both(vault, Scope("default", "u3"), q, 50)
        assert not used_small  # 60 + 100 visible rows: the exact scan
        assert {owner[i] for i in small} <= {"u3", None}
    # force the graph on a selective mask too: still only the user's and shared rows
    index.ann_settings = AnnSettings(threshold=1, min_fraction=0.0)
    for q in _queries(20, seed=6):
        served, exact, used = _both(vault, Scope("default", "u3"), q, 10)
        assert used and {owner[i] for i in served} <= {"u3", None}
        assert len(set(served) & set(exact)) >= 8
    for hit in vault.search("memory number", user_id="u5", k=50):
        assert hit.memory.user_id in ("u5", None) and hit.memory.tenant == "default"


def _files(vault: memvault.Vault) -> list[str]:
    return glob.glob(f"{glob.escape(vault.store.path)}.ann-*.usearch")


def test_reopen_loads_the_saved_graph_and_catches_up(vault: memvault.Vault) -> None:
    assert len(_files(vault)) == 1
    url, emb = f"sqlite:///{vault.store.path}", vault.embedder
    before = [_both(vault, Scope("default", "big"), q, 10)[0] for q in _queries(10)]
    vault.close()
    # another writer while no reader holds a graph: the saved file falls behind
    with memvault.open(url, embedder=emb, extractor="none") as writer:
        fresh = writer.add([f"late big memory {i}" for i in range(30)], user_id="big",
                           infer=False).memories
    again = _open(url, emb)
    try:
        _ready(again)
        assert again.store.index.ann_source == "loaded"
        after = [_both(again, Scope("default", "big"), q, 10)[0] for q in _queries(10)]
        overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(before, after,
                                                                     strict=True)])
        assert overlap >= 0.9  # 30 new rows may enter a top 10
        for m in fresh:  # each new row is its own nearest neighbour
            q = emb.vecs[m.content]
            served, _, used = _both(again, Scope("default", "big"), q, 1)
            assert used and served == [m.id]
    finally:
        again.close()


def test_updates_and_erasure_reach_the_graph(vault: memvault.Vault) -> None:
    index = vault.store.index
    emb = vault.embedder
    big = [m for m in vault.store.iter_all("default") if m.user_id == "big"][:40]
    gone, moved = big[:20], big[20]
    for m in gone:
        vault.delete(m.id)
    new_text = "an entirely different memory about kites"
    vault.update(moved.id, content=new_text)
    for m in gone:
        served, _, used = _both(vault, Scope("default", "big"), emb.vecs[m.content], 10)
        assert used and m.id not in served, vault.store.index.ann_error
    served, _, _ = _both(vault, Scope("default", "big"), emb.embed([new_text])[0], 1)
    assert served == [moved.id]
    # erasure: the graph's quantised copies are overwritten, saved files dropped/rewritten
    victims = [m for m in vault.store.iter_all("default") if m.user_id == "u7"]
    assert index.wait_ann(30)
    rowids = _rowids(vault, [m.id for m in victims])
    assert index.ann is not None
    codes = [bytes(index.ann.index.get(r, dtype=np.int8).tobytes()) for r in rowids]
    before = bytes(index.ann.index.save())
    assert all(code in before for code in codes)  # positive control
    vault.forget(user_id="u7")
    assert index.wait_ann(30)
    blob = bytes(index.ann.index.save())
    assert not any(code in blob for code in codes)
    for path in _files(vault):
        data = Path(path).read_bytes()
        assert not any(code in data for code in codes)
    for q in (emb.vecs[m.content] for m in victims[:10]):
        served, _, _ = _both(vault, Scope("default", "u7"), q, 10)
        assert not set(served) & {m.id for m in victims}
    hits = vault.search("u7 memory number", user_id="u7", k=50)
    assert hits and all(h.memory.user_id is None for h in hits)  # the shared rows only


def _rowids(vault: memvault.Vault, ids: list[str]) -> list[int]:
    with vault.store.read() as tx:
        marks = ", ".join("?" for _ in ids)
        return [r[0] for r in tx.conn.execute(
            f"SELECT rowid FROM memories WHERE id IN ({marks})", ids)]


def test_usearch_then_onnxruntime_imports_cleanly() -> None:
    """An onnxruntime imported after usearch crashes; memvault's loader imports it first."""
    import subprocess
    import sys

    if importlib.util.find_spec("onnxruntime") is None:
        pytest.skip("onnxruntime is not installed")
    code = ("from memvault.stores.ann import usearch_index; usearch_index(); "
            "import onnxruntime; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-500:]


def test_close_stops_a_graph_build_in_progress(world: tuple[str, TableEmbedder],
                                               tmp_path: Path) -> None:
    """A process that closes its vault while a graph is being built must not leave the
    build's native threads running (at exit that aborts: "terminate called without an
    active exception")."""
    src, emb = world
    db = tmp_path / "vault.db"
    db.write_bytes(Path(src).read_bytes())
    v = _open(f"sqlite:///{db}", emb)
    v.store.index.configure(AnnSettings(threshold=400, min_fraction=0.05, persist=False))
    v.search("start the build", user_id="big")
    worker = v.store.index._worker
    assert worker is not None  # the build was started by that first search
    v.close()
    assert not worker.is_alive()
    assert v.store.index.ann is None and v.store.index.n == 0
