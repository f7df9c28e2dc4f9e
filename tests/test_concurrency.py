"""Concurrency: processes x threads on one SQLite file; no lock error reaches a caller and
racing `expected_version` updates give one winner and a Conflict to every loser."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import memvault
from memvault.embed import HashEmbedder
from memvault.reliability.stress import run_stress


def test_processes_and_threads_mixed_operations(tmp_path: Path) -> None:
    report = run_stress(tmp_path / "stress.db", processes=3, threads=3, seconds=8, seed=1)
    assert report["problems"] == [], report["problems"][:5]
    assert report["lock_errors"] == 0
    ops = report["ops"]
    assert all(ops.get(op, 0) > 10 for op in ("remember", "add", "search", "list",
                                               "update_own", "race", "delete_own"))
    # the race was real: some updates won, some lost with Conflict
    assert report["race_wins"] > 5 and report["race_conflicts"] > 5


def test_threads_racing_one_version_have_exactly_one_winner(vault: memvault.Vault) -> None:
    m = vault.remember("The launch is on Monday", user_id="u")
    n = 8
    barrier = threading.Barrier(n)
    outcomes: list[str] = []

    def racer(i: int) -> None:
        barrier.wait()
        try:
            vault.update(m.id, content=f"The launch moved, says racer {i}", expected_version=1)
            outcomes.append(f"won {i}")
        except memvault.Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [o for o in outcomes if o.startswith("won")]
    assert len(winners) == 1 and outcomes.count("conflict") == n - 1
    final = vault.get(m.id)
    assert final.version == 2 and final.content.endswith(f"racer {winners[0].split()[1]}")
    assert [h.action for h in vault.history(m.id)] == ["create", "update"]


@pytest.mark.parametrize("busy_timeout_ms", [50])
def test_short_busy_timeout_still_never_surfaces_lock_errors(tmp_path: Path,
                                                             busy_timeout_ms: int) -> None:
    """With a tiny busy timeout the store's own retry must absorb the contention."""
    report = run_stress(tmp_path / "stress.db", processes=2, threads=3, seconds=3, seed=2,
                        busy_timeout_ms=busy_timeout_ms)
    assert report["lock_errors"] == 0, report["problems"][:3]
    assert report["problems"] == [], report["problems"][:3]
    with memvault.open(f"sqlite:///{tmp_path / 'stress.db'}", embedder=HashEmbedder(),
                       extractor="none") as v:
        assert v.audit.verify().ok


def test_threads_that_end_leave_no_connection_behind(vault: memvault.Vault) -> None:
    """A server's worker threads come and go; each one's connection must go with it
    (found by the soak: open connections, fds and RSS grew with thread churn)."""
    import gc
    import os

    def work(i: int) -> None:
        vault.remember(f"note {i} from a short-lived thread", user_id="u")
        vault.search("note", user_id="u")

    for round_ in range(10):  # 50 threads in all, at most 5 at a time
        threads = [threading.Thread(target=work, args=(round_ * 5 + i,)) for i in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    gc.collect()
    from memvault.retrieval import _workers

    keyword_threads = _workers()._max_workers  # long-lived: one connection each
    assert len(vault.store._conns) <= 2 + keyword_threads  # type: ignore[attr-defined]
    if os.path.isdir("/proc/self/fd"):
        db = os.path.realpath(vault.store.path)  # type: ignore[attr-defined]
        open_fds = [f for f in os.listdir("/proc/self/fd")
                    if os.path.realpath(f"/proc/self/fd/{f}") == db]
        # SQLite keeps a closed connection's descriptor for reuse while others are open
        # (POSIX locks), so the bound is the peak number of threads, not their total
        assert len(open_fds) <= 5 + 2 + keyword_threads
    assert len(vault.search("note", user_id="u", k=100)) == 50
