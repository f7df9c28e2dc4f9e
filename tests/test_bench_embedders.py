"""`memvault bench embedders` on tiny inputs: torch, ONNX float32 and ONNX int8 side by
side, and a non-default embedder's retrieval figures in their own section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from memvault.bench import embedders as E
from memvault.bench.cli import app

QUERIES = ["warm-up query", "which city did I move to?", "what is my dog called?",
           "when is the dentist appointment?"]
TEXTS = ["I just moved to Lisbon, city of hills.", "My dog is called Rex now.",
         "Feed the starter daily and keep it somewhere warm.", "ok", "Congratulations!"]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("onnxruntime")
    return tmp_path_factory.mktemp("home")  # the ONNX export and int8 graph, once


@pytest.fixture(scope="module")
def summary(home: Path) -> dict:
    run = E.run_embedders(QUERIES, TEXTS, home=home, batch=2, rounds=2, warmup=1)
    return E.summarise(run)


@pytest.mark.slow
def test_rows_have_positive_latencies_and_throughput(summary: dict) -> None:
    rows = {r["embedder"]: r for r in summary["rows"]}
    assert list(rows) == list(E.KINDS) and summary["reference"] == "torch"
    assert summary["queries"] == 3 and summary["texts"] == len(TEXTS)
    for row in rows.values():
        assert set(E.COLUMNS) <= set(row)
        assert all(row[c] > 0 for c in ("p50 1t ms", "p95 1t ms", "p50 ms", "p95 ms", "texts/s"))
        assert row["p95 ms"] >= row["p50 ms"]
    assert rows["onnx"]["model"] == rows["torch"]["model"] == "all-MiniLM-L6-v2"
    assert rows["onnx-int8"]["model"] == "all-MiniLM-L6-v2-onnx-int8"


@pytest.mark.slow
def test_onnx_float_matches_torch_and_int8_is_close(summary: dict) -> None:
    rows = {r["embedder"]: r for r in summary["rows"]}
    assert rows["torch"]["cos min"] == pytest.approx(1.0, abs=1e-5)
    assert rows["onnx"]["cos min"] > 0.9999
    assert 0.9 < rows["onnx-int8"]["cos min"] <= rows["onnx-int8"]["cos mean"] < 0.99999


LME = {"question_id": "q0", "question_type": "single-session-user",
       "question": "Which city did I move to?", "question_date": "2023/06/01 (Thu) 10:00",
       "answer": "Lisbon", "answer_session_ids": ["s_b"], "haystack_session_ids": ["s_a", "s_b"],
       "haystack_dates": ["2023/05/20 (Sat) 02:21", "2023/05/21 (Sun) 14:05"],
       "haystack_sessions": [[{"role": "user", "content": "Any tips for sourdough bread?"}],
                             [{"role": "user", "content": TEXTS[0], "has_answer": True}]]}


def _record(embedder: str, limit: int | None, any10: float, model: str | None = None) -> str:
    rec = {"bench": "retrieval-longmemeval", "dataset": "longmemeval", "limit": limit,
           "embedder": embedder, "date": "2026-01-02T03:04:05+00:00",
           "summary": {"memvault": {"overall": {"n": 9, "any@1": 0.5, "any@10": any10,
                                                "all@10": 0.7}}}}
    return json.dumps(rec | ({"model": model} if model else {}))


def test_retrieval_figures_keep_the_latest_record_per_model_and_limit(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    results.write_text("\n".join([
        _record("local", None, 0.90), "not json", json.dumps({"bench": "speed"}),
        _record("local", None, 0.91),  # older records have no model name
        _record("onnx-int8", 54, 0.88, model="all-MiniLM-L6-v2-onnx-int8"),
        _record("hash", None, 0.5, model="hash-256"),
        _record("local", None, 0.2).replace('"retrieval-', '"context-'),  # not retrieval
    ]))
    names = {"torch": "all-MiniLM-L6-v2", "onnx": "all-MiniLM-L6-v2",
             "onnx-int8": "all-MiniLM-L6-v2-onnx-int8"}
    rows = E.retrieval_figures(results, names)
    assert [(r["model"], r["limit"], r["any@10"]) for r in rows] == [
        ("all-MiniLM-L6-v2", None, 0.91), ("all-MiniLM-L6-v2-onnx-int8", 54, 0.88)]
    assert rows[0]["embedders"] == "torch, onnx" and rows[0]["date"] == "2026-01-02"
    assert E.retrieval_figures(tmp_path / "missing.jsonl", names) == []


@pytest.mark.slow
def test_markdown_has_both_tables(summary: dict) -> None:
    summary = {**summary, "retrieval": [], "settings": {"batch": 2, "rounds": 2}}
    md = E.embedders_markdown(summary, "memvault bench embedders", "Embedders")
    assert md.startswith("### Embedders") and "| embedder | model | p50 1t ms" in md
    assert "(no retrieval records yet)" in md


@pytest.mark.slow
def test_a_non_default_embedder_gets_its_own_retrieval_section(
        tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMVAULT_HOME", str(home))
    lme, md, results = tmp_path / "lme.jsonl", tmp_path / "B.md", tmp_path / "r.jsonl"
    lme.write_text(json.dumps(LME))
    md.write_text("# B\n\n<!-- bench:retrieval-longmemeval:start -->\nDEFAULT\n"
                  "<!-- bench:retrieval-longmemeval:end -->\n")
    result = CliRunner().invoke(app, [
        "retrieval", "--longmemeval", str(lme), "--embedder", "onnx-int8",
        "--cache", str(tmp_path / "c.sqlite"), "--benchmarks-file", str(md),
        "--results", str(results), "--img-dir", str(tmp_path / "img")],
        catch_exceptions=False)
    assert result.exit_code == 0, result.output
    text = md.read_text()
    assert "DEFAULT" in text and "<!-- bench:retrieval-longmemeval-onnx-int8:start -->" in text
    assert "embedder onnx-int8" in text
    assert (tmp_path / "img" / "recall_at_k_longmemeval-onnx-int8.png").is_file()
    rec = json.loads(results.read_text())
    assert rec["bench"] == "retrieval-longmemeval-onnx-int8"
    assert rec["model"] == "all-MiniLM-L6-v2-onnx-int8"
