"""`memvault bench`: every sub-command end to end on tiny inputs, with the hash embedder,
writing BENCHMARKS.md, results and plots into tmp_path only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from memvault.bench.cli import app
from memvault.bench.truth import run_truth
from memvault.bench.truthgen import TruthConfig, generate
from memvault.embed import HashEmbedder

runner = CliRunner()

LME = [
    {
        "question_id": f"q{i}",
        "question_type": qtype,
        "question": question,
        "question_date": "2023/06/01 (Thu) 10:00",
        "answer": "x",
        "answer_session_ids": ["s_b"],
        "haystack_session_ids": ["s_a", "s_b"],
        "haystack_dates": ["2023/05/20 (Sat) 02:21", "2023/05/21 (Sun) 14:05"],
        "haystack_sessions": [
            [{"role": "user", "content": "Any tips for sourdough bread?"},
             {"role": "assistant", "content": "Feed the starter daily."}],
            [{"role": "user", "content": evidence, "has_answer": True},
             {"role": "assistant", "content": "Congratulations!"}],
        ],
    }
    for i, (qtype, question, evidence) in enumerate([
        ("single-session-user", "Which city did I move to?",
         "I just moved to Lisbon, city of hills."),
        ("knowledge-update", "What is my dog called?", "My dog is called Rex now."),
    ])
]

LOCOMO = [{
    "sample_id": "conv-x",
    "conversation": {
        "speaker_a": "Ana", "speaker_b": "Ben",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [
            {"speaker": "Ana", "dia_id": "D1:1", "text": "I started pottery classes downtown."},
            {"speaker": "Ben", "dia_id": "D1:2", "text": "Nice! How are they going?"},
        ],
        "session_2_date_time": "10:05 am on 20 June, 2023",
        "session_2": [
            {"speaker": "Ana", "dia_id": "D2:1", "text": "My pottery teacher is called Mira."},
            {"speaker": "Ben", "dia_id": "D2:2", "text": "I adopted a cat named Pixel."},
        ],
    },
    "qa": [
        {"question": "What class did Ana start?", "answer": "pottery", "evidence": ["D1:1"],
         "category": 4},
        {"question": "What is the name of Ben's cat?", "answer": "Pixel", "evidence": ["D2:2"],
         "category": 1},
        {"question": "What is Ana's dog called?", "adversarial_answer": "x", "evidence": [],
         "category": 5},
    ],
}]


@pytest.fixture
def out(tmp_path: Path) -> dict[str, Path]:
    return {"md": tmp_path / "BENCH.md", "results": tmp_path / "results.jsonl",
            "img": tmp_path / "img", "cache": tmp_path / "cache.sqlite"}


def _files(out: dict[str, Path], img: bool = True) -> list[str]:
    args = ["--benchmarks-file", str(out["md"]), "--results", str(out["results"])]
    return args + (["--img-dir", str(out["img"])] if img else [])


def _invoke(args: list[str]) -> str:
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _records(out: dict[str, Path]) -> list[dict]:
    return [json.loads(line) for line in out["results"].read_text().splitlines()]


def test_retrieval_on_tiny_longmemeval_and_locomo(tmp_path: Path, out: dict[str, Path]) -> None:
    lme, loc = tmp_path / "lme.jsonl", tmp_path / "locomo.json"
    lme.write_text("\n".join(json.dumps(r) for r in LME))
    loc.write_text(json.dumps(LOCOMO))
    output = _invoke(["retrieval", "--longmemeval", str(lme), "--locomo", str(loc),
                      "--embedder", "hash", "--cache", str(out["cache"]), *_files(out)])
    assert "bm25" in output and "memvault" in output
    md = out["md"].read_text()
    for name in ("retrieval-longmemeval", "retrieval-locomo"):
        assert f"<!-- bench:{name}:start -->" in md
    assert "- command: `memvault bench retrieval --longmemeval" in md
    assert "- commit: " in md and "- machine: " in md
    assert "recall_all@10" in md and "ndcg@10" in md
    assert (out["img"] / "recall_at_k_longmemeval.png").stat().st_size > 1000
    recs = _records(out)
    assert [r["dataset"] for r in recs] == ["longmemeval", "locomo"]
    lme_overall = recs[0]["summary"]["memvault"]["overall"]
    assert lme_overall["n"] == 2 and lme_overall["any@20"] == 1.0
    assert recs[1]["summary"]["memvault"]["overall"]["n"] == 2  # the adversarial one is skipped
    # a second run replaces the sections instead of appending them
    _invoke(["retrieval", "--locomo", str(loc), "--embedder", "hash", *_files(out)])
    assert out["md"].read_text().count("<!-- bench:retrieval-locomo:start -->") == 1


def test_retrieval_needs_a_dataset(out: dict[str, Path]) -> None:
    result = runner.invoke(app, ["retrieval", "--embedder", "hash", *_files(out)])
    assert result.exit_code != 0


def test_truth_tiny_has_no_leaks_and_no_canaries(out: dict[str, Path]) -> None:
    output = _invoke(["truth", "--tenants", "2", "--users", "3", "--sessions", "4",
                      "--embedder", "hash", *_files(out, img=False)])
    assert "PASS" in output
    rec = _records(out)[0]
    safety = rec["safety"]
    assert safety["leaks"] == 0 and safety["canaries_found"] == 0
    assert safety["erased_served"] == 0
    assert safety["canaries_written"] > 0
    assert sum(safety["canaries_seen_before_erasure"].values()) > 0
    assert safety["probes"]["cross-user"] > 0 and safety["probes"]["cross-tenant"] > 0
    md = out["md"].read_text()
    assert "<!-- bench:truth:start -->" in md and "stale_first" in md
    assert "memvault bench truth --tenants 2 --users 3 --sessions 4" in md


def test_truth_gold_ids_resolve_and_generator_is_seeded(tmp_path: Path) -> None:
    cfg = TruthConfig(tenants=1, users=2, sessions=3, seed=3)
    a, b = generate(cfg), generate(cfg)
    assert [w.content for w in a.writes] == [w.content for w in b.writes]
    result = run_truth(a, HashEmbedder(), tmp_path)
    qtypes = {r["qtype"] for r in result.rows}
    assert {"temporal", "preference", "multi-hop", "abstention"} <= qtypes
    assert result.passed


def test_speed_tiny(out: dict[str, Path]) -> None:
    output = _invoke(["speed", "--sizes", "200", "--queries", "5", "--pool", "50",
                      "--ingest", "40", "--batch", "20", "--embedder", "hash", *_files(out)])
    assert "ingest" in output
    rec = _records(out)[0]
    assert rec["sizes"][0]["size"] == 200 and rec["sizes"][0]["bytes_per_memory"] > 0
    assert {r["infer"] for r in rec["ingest"]} == {False, True}
    assert rec["commit"] and rec["machine"]["cpus"]
    md = out["md"].read_text()
    assert "<!-- bench:speed:start -->" in md and "p95 incl." in md
    assert (out["img"] / "speed_latency.png").is_file()


def test_scale_tiny_measures_recall_legs_and_the_match_budget(tmp_path: Path,
                                                              out: dict[str, Path]) -> None:
    from memvault.bench.scale import BUDGETS, SEARCH_LIMIT

    _invoke(["scale", "--size", "3000", "--queries", "6", "--pool", "300", "--embedder",
             "hash", "--workdir", str(tmp_path / "scale"), "--longmemeval",
             str(tmp_path / "none.jsonl.gz"), *_files(out, img=False)])
    rec = _records(out)[0]
    assert {r["limit"] for r in rec["recall"]} == {SEARCH_LIMIT, 10}
    assert all(r["recall@10"] == 1.0 for r in rec["recall"])  # exact scans at this size
    budget = rec["budget"]
    assert [(r["scenario"], r["budget"]) for r in budget] == [
        (s, b or "none") for s in ("very large user", "whole tenant") for b in BUDGETS]
    assert all(r["top-10 kept"] == 1.0 for r in budget)  # 3,000 rows reach no budget
    assert all(r["p50 ms (embedding cached)"] > 0 for r in budget)
    assert "match budget" in out["md"].read_text()


def test_corpus_benches_skip_or_report(tmp_path: Path, out: dict[str, Path]) -> None:
    missing = tmp_path / "nope.jsonl"
    output = _invoke(["pii", "--corpus", str(missing), *_files(out, img=False)])
    assert "skipped" in output and not out["md"].exists()
    corpus = tmp_path / "pii.jsonl"
    corpus.write_text(json.dumps({"text": "Mail me at ana@example.com",
                                  "expected": [{"type": "email",
                                                "substring": "ana@example.com"}]}) + "\n")
    _invoke(["pii", "--corpus", str(corpus), *_files(out, img=False)])
    md = out["md"].read_text()
    assert "<!-- bench:pii:start -->" in md and "precision" in md
