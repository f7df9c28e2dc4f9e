"""`memvault bench rest` end to end, tiny: a real `memvault serve` on loopback, real HTTP
through `memvault.Client`, beside the library; hash embedder, files in tmp_path only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from memvault.bench.cli import app
from memvault.bench.rest import Feed, add_turns, distinct_queries

runner = CliRunner()


@pytest.mark.slow
def test_bench_rest_measures_rest_beside_library_without_errors(tmp_path: Path) -> None:
    md, results = tmp_path / "B.md", tmp_path / "results.jsonl"
    done = runner.invoke(app, ["rest", "--memories", "200", "--users", "2", "--threads", "2",
                               "--seconds", "2", "--warmup", "0.5", "--embedder", "hash",
                               "--benchmarks-file", str(md), "--results", str(results)])
    assert done.exit_code == 0, done.output
    record = json.loads(results.read_text().splitlines()[-1])
    assert record["bench"] == "rest" and record["settings"]["threads"] == 2
    assert record["settings"]["server_tracebacks"] == 0
    assert len(record["settings"]["loadavg_start"]) == 3
    phases = record["phases"]
    assert [(p["phase"], p["via"]) for p in phases] == [
        (ph, via) for ph in ("search", "add", "mix") for via in ("rest", "library")]
    for p in phases:
        assert p["errors"] == 0 and p["error_types"] == {}, p
        assert p["requests"] > 0 and p["rps"] > 0
        wanted = {"search", "add"} if p["phase"] == "mix" else {p["phase"]}
        assert set(p["ops"]) == wanted
        for op in p["ops"].values():
            assert op["n"] == op["requests"] > 0 and op["errors"] == 0
            assert 0 < op["p50"] <= op["p95"] <= op["p99"] <= op["max"]
        if p["via"] == "rest":  # the server did the work, in its own process
            assert p["server_cpu_ms_per_request"] > 0
    text = md.read_text()
    assert "<!-- bench:rest:start -->" in text and "HTTP overhead" in text
    assert "| search | search | REST |" in text and "| add | add | library |" in text


def test_bench_rest_inputs_are_distinct_and_the_feed_counts_repeats() -> None:
    queries, turns = distinct_queries(12), add_turns(5000, 13)
    assert len(set(queries)) == len(queries) > 50_000
    assert len(set(turns)) == len(turns) == 5000
    feed = Feed(["a", "b"])
    assert [feed.next() for _ in range(3)] == [(0, "a"), (1, "b"), (2, "a")]
    assert feed.repeats == 1
