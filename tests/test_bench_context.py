"""`memvault bench context`: evidence turns inside `vault.context` at a token budget, on
a tiny LongMemEval-format file with the hash embedder and real SQLite files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from memvault.bench.cli import app
from memvault.bench.contextbench import evidence_inside, run_context, summarise
from memvault.bench.datasets import load_longmemeval
from memvault.embed import HashEmbedder
from memvault.tokens import default_counter
from memvault.types import ContextItem

SMALL, LARGE = 150, 1000  # SMALL holds the frame and a short line, not a long one

LONG_MOVE = ("I just moved to Lisbon, the city of seven hills, after ten years in Manchester. "
             + "The flat is near the river, the trams are yellow and the bakeries open early. "
             * 8)
HUGE_RACE = "I ran the Porto marathon last Sunday and finished in four hours. " + (
    "The course followed the river and the crowd cheered the whole way along it. " * 30)


def _filler(n: int) -> list[dict[str, Any]]:
    return [{"role": "user", "content": "Any tips for sourdough bread?"},
            {"role": "assistant", "content": "Feed the starter daily and keep it warm."}][:n]


def _record(qid: str, qtype: str, question: str, sessions: list[list[dict[str, Any]]]
            ) -> dict[str, Any]:
    return {
        "question_id": qid, "question_type": qtype, "question": question,
        "question_date": "2023/06/01 (Thu) 10:00", "answer": "x",
        "answer_session_ids": [f"s{i}" for i, s in enumerate(sessions)
                               if any(t.get("has_answer") for t in s)],
        "haystack_session_ids": [f"s{i}" for i in range(len(sessions))],
        "haystack_dates": [f"2023/05/{10 + i} (Wed) 09:00" for i in range(len(sessions))],
        "haystack_sessions": sessions,
    }


RECORDS = [
    # long evidence: inside at LARGE; at SMALL only the short distractor fits
    _record("move", "single-session-user", "Which city did I move to?", [
        _filler(2),
        [{"role": "user", "content": LONG_MOVE, "has_answer": True},
         {"role": "assistant", "content": "What a lovely city!"}],
    ]),
    # two short evidence turns in two sessions: both inside at either budget
    _record("dog", "multi-session", "What is my dog called?", [
        [{"role": "user", "content": "My dog is called Rex.", "has_answer": True}],
        _filler(2),
        [{"role": "user", "content": "The dog Rex is called a good boy.", "has_answer": True}],
    ]),
    # one evidence turn shares nothing with the question: never inside, so all = 0
    _record("car", "multi-session", "Where did I park the car?", [
        [{"role": "user", "content": "I parked the car on level three.", "has_answer": True}],
        [{"role": "user", "content": "Zebras gallop quickly.", "has_answer": True}],
    ]),
    # evidence longer than the per-item limit: inside, but shown cut (whole = 0)
    _record("race", "temporal-reasoning", "When did I run the marathon?", [
        _filler(2), [{"role": "user", "content": HUGE_RACE, "has_answer": True}],
    ]),
    _record("pet_abs", "knowledge-update", "What is my cat called?", [_filler(2)]),
]


@pytest.fixture
def lme(tmp_path: Path) -> Path:
    path = tmp_path / "lme.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in RECORDS) + "\n", encoding="utf-8")
    return path


def _by(summary: dict[str, Any]) -> dict[tuple[int, str], dict[str, Any]]:
    return {(r["budget"], r["question type"]): r for r in summary["rows"]}


def test_shares_at_a_budget_that_holds_the_evidence_and_one_that_does_not(
        lme: Path, tmp_path: Path) -> None:
    run = run_context(load_longmemeval(lme), HashEmbedder(), budgets=(SMALL, LARGE),
                      workdir=tmp_path / "vaults")
    assert len(list((tmp_path / "vaults").glob("*.db"))) == 4  # abstention: no vault
    rows = {(r["id"], r["budget"]): r for r in run.rows}
    assert {q for q, _ in rows} == {"move", "dog", "car", "race"}
    got = {k: (r["any"], r["all"], r["whole"]) for k, r in rows.items()}
    assert got[("move", LARGE)] == (1.0, 1.0, 1.0)
    assert got[("move", SMALL)] == (0.0, 0.0, 0.0) and rows[("move", SMALL)]["items"] >= 1
    assert got[("dog", SMALL)] == got[("dog", LARGE)] == (1.0, 1.0, 1.0)
    assert got[("car", LARGE)] == (1.0, 0.0, 1.0)
    assert got[("race", LARGE)] == (1.0, 1.0, 0.0)
    assert got[("race", SMALL)] == (0.0, 0.0, 0.0)
    assert all(r["context_tokens"] <= r["budget"] for r in run.rows)

    by = _by(summarise(run))
    assert by[(LARGE, "overall")]["n"] == 4
    assert (by[(LARGE, "overall")]["any"], by[(LARGE, "overall")]["all"]) == (1.0, 0.75)
    assert (by[(SMALL, "overall")]["any"], by[(SMALL, "overall")]["all"]) == (0.5, 0.25)
    assert by[(LARGE, "multi-session")]["all"] == 0.5
    assert by[(LARGE, "temporal-reasoning")]["whole"] == 0.0


def test_full_history_tokens_and_saving(lme: Path) -> None:
    run = run_context(load_longmemeval(lme), HashEmbedder(), budgets=(LARGE,))
    count = default_counter().count
    full = sum(count(t["content"]) for s in RECORDS[0]["haystack_sessions"] for t in s)
    assert next(r for r in run.rows if r["id"] == "move")["full_tokens"] == full
    summary = summarise(run)
    overall = _by(summary)[(LARGE, "overall")]
    ctx = sum(r["context_tokens"] for r in run.rows) / len(run.rows)
    fulls = sum(r["full_tokens"] for r in run.rows) / len(run.rows)
    assert overall["saving"] == pytest.approx(1 - ctx / fulls)
    assert summary["counter"] == default_counter().name and summary["questions"] == 4


def test_evidence_inside_maps_memory_ids_to_turns() -> None:
    def item(mid: str, text: str) -> ContextItem:
        return ContextItem(mid, "message", "relevant", text, 5, "", "user")

    turn_of = {"m1": "s0:0", "m2": "s1:0"}
    content = {"s0:0": "a  b", "s1:0": "long text", "s2:0": "c"}
    got = evidence_inside([item("m1", "a b"), item("m2", "long ...")], turn_of,
                          ["s1:0", "s2:0"], content)
    assert got == {"any": 1.0, "all": 0.0, "whole": 0.0}
    assert evidence_inside([], turn_of, ["s0:0"], content)["any"] == 0.0


def test_cli_writes_its_section(lme: Path, tmp_path: Path) -> None:
    md, results = tmp_path / "BENCH.md", tmp_path / "results.jsonl"
    args = ["context", "--longmemeval", str(lme), "--budgets", f"{LARGE},{SMALL}",
            "--embedder", "hash", "--workdir", str(tmp_path / "v"),
            "--benchmarks-file", str(md), "--results", str(results)]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    text = md.read_text()
    assert text.count("<!-- bench:context-longmemeval:start -->") == 1
    assert f"--budgets {SMALL},{LARGE} --embedder hash`" in text
    rec = json.loads(results.read_text().splitlines()[-1])
    assert rec["bench"] == "context-longmemeval"
    assert _by(rec["summary"])[(LARGE, "overall")]["any"] == 1.0
    bad = CliRunner().invoke(app, ["context", "--longmemeval", str(tmp_path / "none.jsonl")])
    assert bad.exit_code != 0
