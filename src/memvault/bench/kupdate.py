"""Knowledge updates on LongMemEval: does the newest evidence rank above the stale one?

For every `knowledge-update` question, the conversation is replayed into a fresh vault
with `add(..., infer=True)` (one add per session, each turn with its real date), then
the question is searched in that user's scope. The evidence turns (`has_answer`) of the
latest answer session are the *newest* evidence, those of earlier answer sessions the
*stale* one. A hit counts for the turns it came from: a message for itself, an extracted
memory or summary for the messages in its `sources`. A question is a success when the
best-ranked newest evidence comes before the best-ranked stale evidence (or stale
evidence is not in the top k at all) and a failure otherwise, including when the newest
evidence is not in the top k.

    from memvault.bench import knowledge_update
    report = knowledge_update("longmemeval_s_dev.jsonl.gz", embedder="hash", limit=5)
    report["newest_first"]  # the share of questions where the newest evidence ranks first

`memvault bench kupdate` runs it with `infer=True` and `infer=False` side by side (the
embedder behind the benchmark embedding cache) and writes its section of BENCHMARKS.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import report
from .datasets import Question, Sample, load_longmemeval

QUESTION_TYPE = "knowledge-update"


def knowledge_update(path: str | Path, *, embedder: Any = "local", extractor: Any = "rules",
                     k: int = 20, limit: int | None = None, infer: bool = True,
                     progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Run the knowledge-update questions of a LongMemEval file; see the module doc.

    `embedder`: an Embedder or a name ("local", "hash"); `extractor`: as for
    `memvault.open` ("rules", "llm", "none" or an object); `infer=False` measures the
    same thing with messages only (the baseline without extraction).
    """
    from .. import open as open_vault

    if isinstance(embedder, str):
        from ..config import load_settings
        from ..embed import make_embedder

        embedder = make_embedder(load_settings(embedder=embedder))
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    for sample in load_longmemeval(path):
        questions = update_questions(sample)
        if not questions:
            continue
        with open_vault(":memory:", embedder=embedder, extractor=extractor,
                        audit_reads=False) as vault:
            turn_of = _ingest(vault, sample, infer)
            for q in questions:
                hits = vault.search(q.question, user_id="u", k=k, now=q.question_date)
                rows.append(score_question(q, sample, [_turns(h.memory, turn_of)
                                                       for h in hits]))
        if progress:
            progress(len(questions))
        if limit is not None and len(rows) >= limit:
            break
    return summarise(rows, time.perf_counter() - started, infer)


def update_questions(sample: Sample) -> list[Question]:
    """The questions scored: knowledge-update, not abstention."""
    return [q for q in sample.questions
            if q.question_type == QUESTION_TYPE and not q.abstention]


def update_texts(path: str | Path, limit: int | None = None) -> tuple[list[str], int]:
    """(every turn and question text `knowledge_update` embeds, how many questions), for
    warming an embedding cache and sizing a progress bar."""
    texts: list[str] = []
    total = 0
    for sample in load_longmemeval(path):
        questions = update_questions(sample)
        if not questions:
            continue
        texts += [t.content for t in sample.conversation.turns() if t.content.strip()]
        texts += [q.question for q in questions]
        total += len(questions)
        if limit is not None and total >= limit:
            break
    return texts, total


def _ingest(vault: Any, sample: Sample, infer: bool) -> dict[str, str]:
    """Replay the sessions; returns message id -> turn id."""
    turn_of: dict[str, str] = {}
    for session in sample.conversation.sessions:
        msgs = [{"role": t.role if t.role in ("user", "assistant") else "user",
                 "content": t.content, "timestamp": t.date,
                 "metadata": {"turn_id": t.turn_id}}
                for t in session.turns if t.content.strip()]
        if not msgs:
            continue
        result = vault.add(msgs, user_id="u", session_id=session.id, infer=infer)
        turn_of.update({m.id: m.metadata.get("turn_id", "") for m in result.messages})
    return turn_of


def _turns(m: Any, turn_of: dict[str, str]) -> set[str]:
    if m.kind == "message":
        return {m.metadata.get("turn_id", "")}
    return {turn_of[s] for s in m.sources if s in turn_of}


def evidence_split(q: Question, sample: Sample) -> tuple[set[str], set[str]]:
    """(newest, stale) evidence turn ids: the latest answer session's, the earlier ones'."""
    date_of = {s.id: s.date for s in sample.conversation.sessions}
    by_session: dict[str, set[str]] = {}
    for tid in q.evidence_turn_ids:
        by_session.setdefault(tid.rsplit(":", 1)[0], set()).add(tid)
    if not by_session:
        return set(), set()
    latest = max(by_session, key=lambda sid: (date_of.get(sid), sid))
    stale = {t for sid, ts in by_session.items() if sid != latest for t in ts}
    return by_session[latest], stale


def score_question(q: Question, sample: Sample, ranked: Sequence[set[str]]) -> dict[str, Any]:
    """Pure: where the newest and the stale evidence first appear in the ranked hits."""
    newest, stale = evidence_split(q, sample)
    first_new = next((i for i, turns in enumerate(ranked) if turns & newest), None)
    first_old = next((i for i, turns in enumerate(ranked) if turns & stale), None)
    ok = first_new is not None and (first_old is None or first_new < first_old)
    return {"id": q.id, "question": q.question, "answer": q.answer, "has_stale": bool(stale),
            "newest_rank": first_new, "stale_rank": first_old, "newest_first": ok}


def summarise(rows: Sequence[dict[str, Any]], seconds: float = 0.0,
              infer: bool = True) -> dict[str, Any]:
    n = len(rows)
    with_stale = [r for r in rows if r["has_stale"]]

    def share(items: Sequence[dict[str, Any]], pred: Callable[[dict[str, Any]], bool]
              ) -> float | None:
        return round(sum(1 for r in items if pred(r)) / len(items), 4) if items else None

    return {
        "questions": n,
        "infer": infer,
        "newest_first": share(rows, lambda r: r["newest_first"]),
        "newest_first_with_stale": share(with_stale, lambda r: r["newest_first"]),
        "questions_with_stale": len(with_stale),
        "newest_found": share(rows, lambda r: r["newest_rank"] is not None),
        "stale_first": share(rows, lambda r: r["stale_rank"] is not None and (
            r["newest_rank"] is None or r["stale_rank"] < r["newest_rank"])),
        "seconds": round(seconds, 2),
        "rows": list(rows),
    }


# --------------------------------------------------------------------- both modes, report

MODES = {"infer=True (rules extractor)": True, "infer=False (messages only)": False}
_MEASURES: tuple[tuple[str, Callable[[dict[str, Any]], bool],
                       Callable[[dict[str, Any]], bool]], ...] = (
    ("newest evidence ranks first", lambda r: True, lambda r: r["newest_first"]),
    ("… among questions that have stale evidence", lambda r: r["has_stale"],
     lambda r: r["newest_first"]),
    ("stale evidence ranks first", lambda r: True, lambda r: r["stale_rank"] is not None and (
        r["newest_rank"] is None or r["stale_rank"] < r["newest_rank"])),
    ("newest evidence in the top k", lambda r: True, lambda r: r["newest_rank"] is not None),
)


def run_modes(path: str | Path, embedder: Any, *, k: int = 20, limit: int | None = None,
              progress: Callable[[str, int], None] | None = None) -> dict[str, dict[str, Any]]:
    """`knowledge_update` with the rules extractor and with messages only, by `MODES` label."""
    def step(label: str) -> Callable[[int], None] | None:
        return (lambda n: progress(label, n)) if progress else None

    return {label: knowledge_update(path, embedder=embedder, extractor="rules", k=k,
                                    limit=limit, infer=infer, progress=step(label))
            for label, infer in MODES.items()}


def _count(rows: Sequence[dict[str, Any]], among: Callable[[dict[str, Any]], bool],
           pred: Callable[[dict[str, Any]], bool]) -> str:
    base = [r for r in rows if among(r)]
    hits = sum(1 for r in base if pred(r))
    return f"{hits} / {len(base)} ({hits / len(base):.3f})" if base else "–"


def summary_rows(runs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per measure, one column per mode: "successes / questions (share)". Pure."""
    rows: list[dict[str, Any]] = [{"measure": "questions",
                                   **{m: r["questions"] for m, r in runs.items()}}]
    rows += [{"measure": name, **{m: _count(r["rows"], among, pred) for m, r in runs.items()}}
             for name, among, pred in _MEASURES]
    rows.append({"measure": "seconds", **{m: r["seconds"] for m, r in runs.items()}})
    return rows


def question_rows(runs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per question: the 1-based rank of the newest and of the stale evidence in each mode."""
    out: dict[str, dict[str, Any]] = {}
    for mode, run in runs.items():
        short = "rules" if MODES[mode] else "messages"
        for r in run["rows"]:
            row = out.setdefault(r["id"], {"question": r["id"]})
            for key in ("newest", "stale"):
                rank = r[f"{key}_rank"]
                row[f"{short}: {key}"] = rank + 1 if rank is not None else None
    return list(out.values())


def update_markdown(runs: dict[str, dict[str, Any]], command: str, title: str, embedder: str,
                    k: int) -> str:
    notes = [
        f"Each `knowledge-update` question's history is replayed into a fresh vault, one "
        f"`add` per session with the real dates, with `infer=True` (rules extractor: messages "
        f"and the memories extracted from them) or `infer=False` (messages only); the "
        f"question is then searched at its question date (top {k}, `now=question_date`). "
        f"Newest evidence: the `has_answer` turns of the "
        f"latest answer session; stale evidence: those of earlier answer sessions. A hit "
        f"counts for the turns it came from (a message for itself, an extracted memory for "
        f"its sources). A question succeeds when the newest evidence ranks before the stale "
        f"one (or the stale one is not in the top {k}); cells are successes / questions. "
        f"The search runs at the current time, long after the conversations, so recency is "
        f"near zero for every turn and does not separate newest from stale.",
        f"Embedder: {embedder} (turns and questions from the benchmark embedding cache). "
        f"Ranks below are 1-based; – means not in the top {k}.",
        "",
        "<details><summary>Per question</summary>",
        "",
        report.markdown_table(question_rows(runs)),
        "",
        "</details>",
    ]
    return report.render_markdown(summary_rows(runs), command, title=title,
                                  notes="\n".join(notes))
