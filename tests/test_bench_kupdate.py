"""`memvault bench kupdate`: knowledge updates on a tiny LongMemEval-format file, with the
hash embedder, writing BENCHMARKS.md and results into tmp_path only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from memvault.bench.cli import app
from memvault.bench.kupdate import question_rows, summary_rows

runner = CliRunner()


def _session(*texts: str, answer: bool = False) -> list[dict[str, Any]]:
    return [{"role": "user", "content": t, "has_answer": answer} for t in texts]


# The user lived in Berlin, then in Lisbon: the Lisbon turn is the newest evidence, the
# Berlin one the stale evidence. The two turns match the question equally well, so with
# messages alone they tie; with extraction the Lisbon fact supersedes the Berlin one and
# the Berlin message, the evidence of a superseded fact, is damped below it. A second
# question has no stale evidence at all.
RECORDS = [
    {
        "question_id": "ku_move", "question_type": "knowledge-update",
        "question": "Where do I live?", "answer": "Lisbon",
        "question_date": "2024/06/01 (Sat) 10:00",
        "haystack_session_ids": ["old", "noise", "new"],
        "haystack_dates": ["2024/01/01 (Mon) 10:00", "2024/02/01 (Thu) 10:00",
                           "2024/05/01 (Wed) 10:00"],
        "haystack_sessions": [_session("I live in Berlin.", answer=True),
                              _session("Can you suggest a pasta recipe?"),
                              _session("I live in Lisbon.", answer=True)],
        "answer_session_ids": ["old", "new"],
    },
    {
        "question_id": "ku_dog", "question_type": "knowledge-update",
        "question": "What is my dog called?", "answer": "Rex",
        "question_date": "2024/06/01 (Sat) 10:00",
        "haystack_session_ids": ["a", "b"],
        "haystack_dates": ["2024/03/01 (Fri) 10:00", "2024/04/01 (Mon) 10:00"],
        "haystack_sessions": [_session("Any tips for sourdough bread?"),
                              _session("My dog is called Rex.", answer=True)],
        "answer_session_ids": ["b"],
    },
    {  # not a knowledge update: left out
        "question_id": "other", "question_type": "single-session-user",
        "question": "Which city did I move to?", "answer": "Lisbon",
        "question_date": "2024/06/01 (Sat) 10:00",
        "haystack_session_ids": ["c"], "haystack_dates": ["2024/05/01 (Wed) 10:00"],
        "haystack_sessions": [_session("I just moved to Lisbon.", answer=True)],
        "answer_session_ids": ["c"],
    },
]


def _run(tmp_path: Path, *extra: str) -> tuple[str, str, list[dict[str, Any]]]:
    data = tmp_path / "lme.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in RECORDS) + "\n")
    md, res = tmp_path / "BENCH.md", tmp_path / "results.jsonl"
    result = runner.invoke(app, ["kupdate", "--longmemeval", str(data), "--embedder", "hash",
                                 "--cache", str(tmp_path / "cache.sqlite"),
                                 "--benchmarks-file", str(md), "--results", str(res), *extra],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output, md.read_text(), [json.loads(x) for x in res.read_text().splitlines()]


def test_kupdate_newest_evidence_wins_in_both_modes(tmp_path: Path) -> None:
    output, md, records = _run(tmp_path)
    assert "kupdate" in output
    (rec,) = records
    assert rec["bench"] == "kupdate-longmemeval" and rec["k"] == 20
    runs = rec["runs"]
    assert set(runs) == {"infer=True (rules extractor)", "infer=False (messages only)"}
    move = {}
    for mode, run in runs.items():
        assert run["questions"] == 2, mode
        by_id = {r["id"]: r for r in run["rows"]}
        assert set(by_id) == {"ku_move", "ku_dog"}
        assert by_id["ku_move"]["has_stale"] and not by_id["ku_dog"]["has_stale"]
        assert by_id["ku_dog"]["newest_first"]  # no stale evidence: found is enough
        move[run["infer"]] = by_id["ku_move"]
    assert move[True]["newest_first"] and move[True]["newest_rank"] == 0
    assert move[True]["stale_rank"] is None or move[True]["stale_rank"] > 0
    assert move[False]["newest_rank"] is not None and move[False]["stale_rank"] is not None
    # the section: both modes side by side, counts, the command, per-question ranks
    assert "<!-- bench:kupdate-longmemeval:start -->" in md
    assert "| measure | infer=True (rules extractor) | infer=False (messages only) |" in md
    assert "| … among questions that have stale evidence | 1 / 1 (1.000) |" in md
    assert "- command: `memvault bench kupdate --longmemeval " in md and "--embedder hash" in md
    assert "| ku_move | 1 |" in md


def test_kupdate_limit_and_a_rerun_replaces_the_section(tmp_path: Path) -> None:
    _run(tmp_path)
    _, md, records = _run(tmp_path, "--limit", "1")
    assert md.count("<!-- bench:kupdate-longmemeval:start -->") == 1
    assert [r["limit"] for r in records] == [None, 1]
    assert all(run["questions"] == 1 for run in records[-1]["runs"].values())
    assert "--limit 1" in md


def test_kupdate_needs_the_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["kupdate", "--longmemeval", str(tmp_path / "none.jsonl"),
                                 "--embedder", "hash"])
    assert result.exit_code != 0 and not (tmp_path / "BENCHMARKS.md").exists()


def test_summary_counts_successes_per_mode() -> None:
    def row(qid: str, new: int | None, old: int | None) -> dict[str, Any]:
        ok = new is not None and (old is None or new < old)
        return {"id": qid, "has_stale": old is not None, "newest_rank": new,
                "stale_rank": old, "newest_first": ok}

    runs = {
        "infer=True (rules extractor)": {"questions": 3, "seconds": 1.0, "rows": [
            row("a", 0, 2), row("b", 1, 0), row("c", None, None)]},
        "infer=False (messages only)": {"questions": 3, "seconds": 2.0, "rows": [
            row("a", 3, 1), row("b", 0, None), row("c", 0, None)]},
    }
    table = {r["measure"]: r for r in summary_rows(runs)}
    first = table["newest evidence ranks first"]
    assert first["infer=True (rules extractor)"] == "1 / 3 (0.333)"
    assert first["infer=False (messages only)"] == "2 / 3 (0.667)"
    stale = table["… among questions that have stale evidence"]
    assert stale["infer=True (rules extractor)"] == "1 / 2 (0.500)"
    assert stale["infer=False (messages only)"] == "0 / 1 (0.000)"
    assert table["stale evidence ranks first"]["infer=True (rules extractor)"] == "1 / 3 (0.333)"
    ranks = {r["question"]: r for r in question_rows(runs)}
    assert ranks["a"] == {"question": "a", "rules: newest": 1, "rules: stale": 3,
                          "messages: newest": 4, "messages: stale": 2}
    assert ranks["c"]["rules: newest"] is None
