"""`memvault.bench.pgscale` end to end on a small corpus: both ways in, the measurements,
and the BENCHMARKS.md block per size."""

from __future__ import annotations

from pathlib import Path

import pytest

from memvault.bench import pgscale
from memvault.bench.pgscale_corpus import BATCH, Layout
from memvault.bench.pgscale_report import publish


def test_layout_gives_each_small_user_one_batch() -> None:
    labels = Layout(100_000).owners()
    assert len(labels) == 1000 and (labels == -1).sum() == 200 and (labels == -2).sum() == 10
    small = labels[labels >= 0]
    assert len(set(small.tolist())) == len(small) == 790  # 100 memories each


@pytest.mark.parametrize("load", ["add", "copy"])
def test_a_small_run_measures_everything(pg_url: str, load: str, tmp_path: Path) -> None:
    args = pgscale._args(["--n", "1000", "--vectors", "hash", "--load", load, "--queries", "5",
                          "--sample", "100", "--ef-search", "50,200", "--exact-below", "500"])
    res = pgscale.run(pg_url, args)
    assert res["load"]["memories"] == 1000 and res["rows_total"] == 1000 + BATCH
    assert res["writes_on_top"]["add_messages"] == 100
    assert res["index_build"]["seconds"] > 0 and res["disk"]["HNSW index"] > 0
    rows = {(r["scenario"], r["ef_search"], r["exact_below"]): r for r in res["vector"]}
    assert len(rows) == 4 * 3
    assert rows[("whole tenant", 200, 0)]["recall@10"] >= 0.9
    assert rows[("small user, own rows only", 50, 0)]["recall@10"] == 1.0
    assert [r["scenario"] for r in res["vault"]] == ["whole tenant", "very large user",
                                                     "small user (+ workspace)"]
    assert res["erase"]["vacuum_index_cleanup_bypassed_index_scan"] is False
    bench = tmp_path / "BENCHMARKS.md"
    publish(res, "cmd one", bench, tmp_path / "results.jsonl")
    other = {**res, "settings": {**res["settings"], "size": 2000}}
    publish(other, "cmd two", bench, None)
    publish(res, "cmd one", bench, None)  # the same block again: replaced, not repeated
    text = bench.read_text()
    assert text.count("#### 1,000 memories") == 1 and text.count("#### 2,000 memories") == 1
    assert text.index("cmd one") < text.index("cmd two")
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 1
