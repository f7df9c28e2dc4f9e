"""Extraction wired into the vault: the rule-based default, reconciliation against what is
stored, the LLM path against a real local HTTP server, background extraction, temporal
truth, summaries, the profile view, maintenance and the knowledge-update benchmark."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import memvault
from llm_servers import FakeLLMServer, Reply, answer, error
from memvault.embed import HashEmbedder
from memvault.errors import ConfigError
from memvault.extract.llm import LLMExtractor
from memvault.extract.rules import RuleExtractor
from memvault.ingest import to_proposals
from memvault.llm import make_llm
from memvault.maintenance import MaintenancePolicy, decayed_importance, merges
from memvault.retrieval import time_focus
from memvault.summaries import extractive_summary, group_profile, salient, sentences
from memvault.types import Candidate, Memory


def day(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


@pytest.fixture
def rules_vault(db_url: str) -> Iterator[memvault.Vault]:
    with memvault.open(db_url, embedder=HashEmbedder(), extractor="rules") as v:
        yield v


def contents(hits: Sequence[Any]) -> list[str]:
    return [h.memory.content for h in hits]


# -- the default extractor ---------------------------------------------------------------
def test_default_open_extracts_with_the_rules(db_url: str) -> None:
    with memvault.open(db_url, embedder=HashEmbedder()) as v:
        assert isinstance(v.extractor, RuleExtractor)
        r = v.add("I'm vegetarian and I live in Porto.", user_id="alice")
    keys = {m.key: m for m in r.memories if m.kind != "message"}
    assert keys["user.diet"].content == "User is vegetarian"
    assert keys["user.location"].source == "user"
    assert keys["user.location"].sources == (r.messages[0].id,)


def test_questions_hypotheticals_and_reported_speech_extract_nothing(rules_vault) -> None:  # type: ignore[no-untyped-def]
    r = rules_vault.add(["Can you recommend a good book?", "If I were rich I'd live in Paris.",
                         "My sister said she lives in Denver."], user_id="u")
    assert [m.kind for m in r.memories] == ["message"] * 3


def test_assistant_statement_confirmed_by_the_user_is_inferred(rules_vault) -> None:  # type: ignore[no-untyped-def]
    r = rules_vault.add([{"role": "assistant", "content": "So you live in Rome, right?"},
                         {"role": "user", "content": "Yes, exactly."}], user_id="u")
    (fact,) = [m for m in r.memories if m.kind != "message"]
    assert fact.source == "inferred" and fact.key == "user.location"
    assert set(fact.sources) == {m.id for m in r.messages}


def test_withdrawal_supersedes_and_is_stored(rules_vault) -> None:  # type: ignore[no-untyped-def]
    v = rules_vault
    v.add([{"role": "user", "content": "I'm vegetarian.", "timestamp": day("2024-01-01")}],
          user_id="u")
    r = v.add([{"role": "user", "content": "I'm not vegetarian anymore.",
                "timestamp": day("2024-03-01")}], user_id="u")
    (old,) = r.superseded
    assert old.content == "User is vegetarian" and old.valid_to == day("2024-03-01")
    current = v.list(user_id="u", kinds=["fact"]).items
    assert [m.content for m in current] == ["User is no longer vegetarian"]
    assert current[0].key == "user.diet"
    top = v.search("what does the user eat? is the user vegetarian?", user_id="u", k=5,
                   kinds=["fact"])
    assert contents(top) == ["User is no longer vegetarian"]
    assert "User is vegetarian" in contents(v.search("vegetarian", user_id="u", kinds=["fact"],
                                                     include_superseded=True))


# -- the scripted 12-session scenario ----------------------------------------------------
SESSIONS = [
    ("2024-01-08", ["Hi, I'm Sam. I live in Boston and I work at Acme as a data analyst."]),
    ("2024-01-15", ["I'm vegetarian.", "I love jazz."]),
    ("2024-01-29", ["My thesis deadline is March 15."]),
    ("2024-02-12", ["I moved to Chicago last week."]),
    ("2024-02-26", ["Can you recommend a good book?"]),
    ("2024-03-04", ["The thesis deadline moved to April 5."]),
    ("2024-03-18", ["I started a new job at Globex."]),
    ("2024-04-01", ["I'm not vegetarian anymore."]),
    ("2024-04-15", ["I don't like jazz anymore."]),
    ("2024-05-06", ["We just moved to Seattle!"]),
    ("2024-05-20", ["If I were rich I'd live in Paris."]),
    ("2024-06-03", ["I'm pescatarian now."]),
]
# question -> (current value, values that were current once, {as_of: value then})
TRUTH = {
    "Where does the user live?": ("Seattle", ("Boston", "Chicago"),
                                  {"2024-01-20": "Boston", "2024-03-01": "Chicago"}),
    "Where does the user work?": ("Globex", ("Acme",), {"2024-02-01": "Acme"}),
    "What does the user eat? What is their diet?": (
        "pescatarian", ("User is vegetarian", "no longer vegetarian"),
        {"2024-02-01": "vegetarian", "2024-04-20": "no longer vegetarian"}),
    "When is the thesis deadline?": ("April 5", ("March 15",), {"2024-02-15": "March 15"}),
    "Does the user like jazz?": ("no longer likes jazz", ("User loves jazz",),
                                 {"2024-02-01": "loves jazz"}),
}


def replay(v: memvault.Vault) -> None:
    for i, (date, turns) in enumerate(SESSIONS):
        msgs = [{"role": "user", "content": t, "timestamp": day(date) + timedelta(minutes=j)}
                for j, t in enumerate(turns)]
        msgs.append({"role": "assistant", "content": "Noted, thanks for telling me.",
                     "timestamp": day(date) + timedelta(minutes=len(turns))})
        v.add(msgs, user_id="sam", session_id=f"s{i + 1}", infer=True)


def check_scenario(v: memvault.Vault) -> None:
    memory_kinds = ["fact", "preference", "event"]
    for question, (now_value, old_values, then) in TRUTH.items():
        hits = v.search(question, user_id="sam", k=8)
        assert now_value in hits[0].memory.content, (question, contents(hits))
        extracted = [h.memory for h in hits if h.memory.kind != "message"]
        for old in old_values:  # a superseded value is never served as a current memory
            assert not any(old in m.content for m in extracted), (question, contents(hits))
        assert all(m.status == "active" for m in extracted)
        for as_of, value in then.items():
            past = v.search(question, user_id="sam", k=3, kinds=memory_kinds, as_of=as_of)
            assert past and value in past[0].memory.content, (question, as_of, contents(past))
            assert now_value not in past[0].memory.content
    chain = v.search("where does the user live", user_id="sam", kinds=["fact"], k=10,
                     include_superseded=True)
    places = [m.content for m in (h.memory for h in chain) if m.key == "user.location"]
    assert {"User lives in Boston", "User lives in Chicago", "User lives in Seattle"} <= set(places)
    assert not any("Paris" in m.content for m in v.list(user_id="sam", kinds=memory_kinds,
                                                        status="any", limit=200).items)


def test_twelve_sessions_serve_the_current_truth(rules_vault) -> None:  # type: ignore[no-untyped-def]
    replay(rules_vault)
    check_scenario(rules_vault)
    history = rules_vault.list(user_id="sam", kinds=["fact"], status="superseded").items
    boston = next(m for m in history if m.content == "User lives in Boston")
    assert boston.valid_to is not None and boston.valid_to <= day("2024-02-12")
    assert [h.action for h in rules_vault.history(boston.id)] == ["create", "supersede"]


@pytest.mark.slow
def test_twelve_sessions_with_the_real_local_model(db_url: str, local_embedder) -> None:  # type: ignore[no-untyped-def]
    with memvault.open(db_url, embedder=local_embedder, extractor="rules") as v:
        replay(v)
        check_scenario(v)


# -- reconciliation through the vault (a scripted extractor) ------------------------------
class Scripted:
    """An extractor that proposes exactly what the test says, citing the user messages."""

    name = "scripted"

    def __init__(self) -> None:
        self.next: list[Candidate] = []

    def extract(self, messages: Sequence[Memory], existing: Sequence[Memory] = ()
                ) -> list[Candidate]:
        ids = tuple(m.id for m in messages if m.role == "user")
        out = [Candidate(**{**c.__dict__, "sources": ids}) for c in self.next]
        self.next = []
        return out


@pytest.fixture
def scripted(db_url: str) -> Iterator[tuple[memvault.Vault, Scripted]]:
    x = Scripted()
    with memvault.open(db_url, embedder=HashEmbedder(), extractor=x) as v:
        yield v, x


def test_near_duplicates_merge_with_both_provenances(scripted) -> None:  # type: ignore[no-untyped-def]
    v, x = scripted
    x.next = [Candidate("User loves green tea", "preference")]
    first = v.add("I love green tea", user_id="u")
    x.next = [Candidate("User loves green tea.", "preference")]  # same words, new hash
    second = v.add("Green tea is the best", user_id="u")
    prefs = v.list(user_id="u", kinds=["preference"]).items
    assert len(prefs) == 1
    assert set(prefs[0].sources) == {first.messages[0].id, second.messages[0].id}
    assert [h.action for h in v.history(prefs[0].id)] == ["create", "merge"]
    assert second.memories[-1].id == prefs[0].id


def test_conflicting_facts_are_kept_and_flagged_for_context(scripted) -> None:  # type: ignore[no-untyped-def]
    v, x = scripted
    x.next = [Candidate("User's sister lives in Rome")]
    a = v.add("My sister lives in Rome", user_id="u").memories[-1]
    x.next = [Candidate("User's sister lives in Paris")]
    b = v.add("My sister lives in Paris", user_id="u").memories[-1]
    assert b.metadata["conflict_with"] == [a.id]
    assert v.get(a.id).metadata["conflict_with"] == [b.id]
    assert v.get(a.id).status == v.get(b.id).status == "active"


def test_unkeyed_correction_updates_with_history(scripted) -> None:  # type: ignore[no-untyped-def]
    v, x = scripted
    x.next = [Candidate("The team meeting is on Tuesday at 10", "event")]
    a = v.add("Team meeting Tuesday at 10", user_id="u").memories[-1]
    x.next = [Candidate("The team meeting is on Wednesday at 10", "event", correction=True)]
    r = v.add("Actually the team meeting is Wednesday", user_id="u")
    assert r.memories[-1].id == a.id
    got = v.get(a.id)
    assert got.content == "The team meeting is on Wednesday at 10" and got.version == 2
    (h,) = [h for h in v.history(a.id) if h.action == "update"]
    assert h.before is not None and "Tuesday" in h.before["content"]
    assert contents(v.search("Wednesday team meeting", user_id="u", kinds=["event"], k=1)) \
        == ["The team meeting is on Wednesday at 10"]


def test_remember_is_not_merged_into_neighbours(vault: memvault.Vault) -> None:
    vault.remember("User loves green tea", user_id="u", kind="preference")
    vault.remember("User loves green tea.", user_id="u", kind="preference")
    assert len(vault.list(user_id="u", kinds=["preference"]).items) == 2


def test_a_failing_extractor_never_fails_the_add(db_url: str) -> None:
    class Broken:
        name = "broken"

        def extract(self, messages: Any, existing: Any = ()) -> list[Candidate]:
            raise RuntimeError("boom")

    with memvault.open(db_url, embedder=HashEmbedder(), extractor=Broken()) as v:
        r = v.add("I live in Oslo", user_id="u")
        assert len(r.messages) == 1 and "extraction failed" in r.warnings[0]


# -- the LLM path, against a real local HTTP server ---------------------------------------
@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as srv:
        yield srv


def llm_vault(db_url: str, server: FakeLLMServer, protocol: str = "openai",
              **kw: Any) -> memvault.Vault:
    base = server.openai_base_url if protocol == "openai" else server.anthropic_base_url
    llm = make_llm(protocol, "test-model", base_url=base, api_key="k",
                   timeout=kw.pop("timeout", 2.0), max_retries=kw.pop("max_retries", 0),
                   backoff_base=0.01)
    return memvault.open(db_url, embedder=HashEmbedder(),
                         extractor=LLMExtractor(llm, fallback=RuleExtractor()))


def test_open_builds_the_llm_extractor_from_settings(db_url: str) -> None:
    with memvault.open(db_url, embedder=HashEmbedder(), llm_provider="ollama",
                       llm_model="llama3.1:8b") as v:
        assert isinstance(v.extractor, LLMExtractor)
        assert isinstance(v.extractor.fallback, RuleExtractor)
    with pytest.raises(ConfigError):
        memvault.open(db_url, embedder=HashEmbedder(), extractor="llm")


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
def test_llm_decisions_update_supersede_delete_none(db_url: str, server: FakeLLMServer,
                                                    protocol: str) -> None:
    with llm_vault(db_url, server, protocol) as v:
        diet = v.remember("User is vegetarian", user_id="u", key="user.diet")
        home = v.remember("User lives in Berlin", user_id="u", key="user.location")
        jazz = v.remember("User likes jazz", user_id="u", kind="preference")
        tea = v.remember("User drinks green tea", user_id="u", kind="preference")
        server.script(answer({"memories": [
            {"content": "User is pescatarian", "kind": "fact", "key": "user.diet",
             "action": "update", "target_id": diet.id, "source_ids": []},
            {"content": "User lives in Munich", "kind": "fact", "key": "user.location",
             "action": "supersede", "target_id": home.id, "source_ids": []},
            {"content": "", "kind": "preference", "action": "delete", "target_id": jazz.id,
             "source_ids": []},
            {"content": "User drinks green tea", "kind": "preference", "action": "none",
             "target_id": tea.id, "source_ids": []},
            {"content": "User has a dog named Rex", "kind": "fact", "key": "user.pet.dog",
             "action": "add", "target_id": None, "source_ids": []},
        ]}))
        r = v.add("I eat fish now, I moved to Munich, forget the jazz thing. Green tea, "
                  "always. And I have a dog named Rex.", user_id="u")
        assert r.warnings == []
        prompt = json.dumps(server.requests[-1].body)
        assert all(m.id in prompt for m in (diet, home, jazz, tea))  # existing memories sent
        got = {m.id: m for m in v.list(user_id="u", status="any", limit=100).items}
        assert got[diet.id].content == "User is pescatarian" and got[diet.id].status == "active"
        assert [h.action for h in v.history(diet.id)] == ["create", "update"]
        assert got[home.id].status == "superseded"
        munich = got[got[home.id].superseded_by or ""]
        assert munich.content == "User lives in Munich" and munich.status == "active"
        assert got[jazz.id].status == "superseded" and got[jazz.id].content == "User likes jazz"
        assert set(got[tea.id].sources) == {r.messages[0].id}
        assert any(m.content == "User has a dog named Rex" for m in r.memories)


@pytest.mark.parametrize("failure", [
    [error(500)], [Reply(content="this is not json"), Reply(content="{\"still\": \"wrong\"}")],
    [Reply(content="{}", delay=1.0)], [error(429)],
])
def test_llm_failure_falls_back_to_rules_with_a_warning(db_url: str, server: FakeLLMServer,
                                                        failure: list[Reply]) -> None:
    with llm_vault(db_url, server, timeout=0.3) as v:
        server.script(*failure)
        r = v.add("I live in Oslo.", user_id="u")
        assert r.messages and any("rules" in w for w in r.warnings), r.warnings
        assert [m.content for m in r.memories if m.kind == "fact"] == ["User lives in Oslo"]


def test_llm_citing_a_confirmed_assistant_turn_is_inferred(db_url: str,
                                                          server: FakeLLMServer) -> None:
    with llm_vault(db_url, server) as v:
        server.script(answer({"memories": []}))
        r = v.add([{"role": "assistant", "content": "You work at Acme, right?"},
                   {"role": "user", "content": "Yes."}], user_id="u")
        ids = [m.id for m in r.messages]
        server.script(answer({"memories": [
            {"content": "User works at Acme", "kind": "fact", "key": "user.employer",
             "action": "add", "source_ids": ids}]}))
        cands = v.extractor.extract(r.messages, [])
        (p,) = to_proposals(v, v.scope("u"), r.messages, cands, datetime.now(UTC))
        assert p.memory.source == "inferred" and set(p.memory.sources) == set(ids)


def test_llm_summaries_and_profile_are_abstractive(db_url: str, server: FakeLLMServer) -> None:
    with llm_vault(db_url, server) as v:
        server.default = answer({"memories": []})
        v.add([{"role": "user", "content": t, "timestamp": day("2024-01-10")}
               for t in ("I'm planning a trip to Kyoto.", "My budget is 3000 euros.")],
              user_id="u", session_id="s1")
        v.remember("User lives in Lyon", user_id="u", key="user.location")
        server.script(answer({"summary": "The user plans a Kyoto trip on a 3000 euro budget."}))
        assert v.maintain(now=datetime.now(UTC)).summarized == 1
        (s,) = v.list(user_id="u", kinds=["summary"]).items
        assert s.content.startswith("The user plans a Kyoto trip")
        assert s.metadata["method"] == "llm"
        server.script(answer({"summary": "The user lives in Lyon."}))
        p = v.profile(user_id="u")
        assert p.abstract == "The user lives in Lyon." and "User lives in Lyon" in p.text
        server.default = error(500)
        assert v.profile(user_id="u").abstract is None  # a failure is no abstract, no error
        assert v.profile(user_id="u", abstractive=False).abstract is None


# -- background extraction ---------------------------------------------------------------
class Gate(RuleExtractor):
    """The rule extractor, held at a gate so tests can see work pending."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()

    def extract(self, messages: Sequence[Memory], existing: Sequence[Memory] = ()
                ) -> list[Candidate]:
        self.started.set()
        assert self.gate.wait(10)
        return super().extract(messages, existing)


def test_background_extraction_returns_at_once_and_catches_up(db_url: str) -> None:
    x = Gate()
    with memvault.open(db_url, embedder=HashEmbedder(), extractor=x) as v:
        r = v.add("I live in Oslo.", user_id="u", background=True)
        assert [m.kind for m in r.memories] == ["message"]
        assert x.started.wait(5) and v.pending_extractions() == 1
        assert v.list(user_id="u", kinds=["fact"]).items == []
        x.gate.set()
        assert v.wait_for_extractions(10) and v.pending_extractions() == 0
        (fact,) = v.list(user_id="u", kinds=["fact"]).items
        assert fact.content == "User lives in Oslo" and fact.sources == (r.messages[0].id,)
        assert v.extraction_stats()["done"] == 1


def test_background_skips_messages_erased_before_extraction(db_url: str) -> None:
    x = Gate()
    with memvault.open(db_url, embedder=HashEmbedder(), extractor=x) as v:
        v.add("I live in Oslo.", user_id="a", background=True)
        assert x.started.wait(5)
        v.add("I live in Rome.", user_id="b", background=True)  # queued behind the gate
        v.forget(user_id="b")
        x.gate.set()
        assert v.wait_for_extractions(10)
        assert v.list(user_id="b", status="any").items == [] or all(
            not m.content for m in v.list(user_id="b", status="any").items)
        assert [m.content for m in v.list(user_id="a", kinds=["fact"]).items] \
            == ["User lives in Oslo"]


def test_close_drains_or_cancels(db_url: str) -> None:
    x = Gate()
    v = memvault.open(db_url, embedder=HashEmbedder(), extractor=x)
    for city in ("Oslo", "Rome", "Lima"):
        v.add(f"I live in {city}.", user_id=city, background=True)
    assert x.started.wait(5) and v.pending_extractions() == 3
    threading.Timer(0.3, x.gate.set).start()
    v.close(drain=False, timeout=10)
    stats = v.extraction_stats()
    assert stats["cancelled"] == 2 and stats["done"] == 1 and stats["pending"] == 0
    x2 = RuleExtractor()
    with memvault.open(db_url, embedder=HashEmbedder(), extractor=x2) as v2:
        for city in ("Kyiv", "Pune"):
            v2.add(f"I live in {city}.", user_id=city, background=True)
        v2.close()  # drains: both extracted
        assert v2.extraction_stats()["done"] == 2
    with memvault.open(db_url, embedder=HashEmbedder(), extractor="none") as v3:
        assert {m.content for m in v3.list(kinds=["fact"]).items} \
            == {"User lives in Oslo", "User lives in Kyiv", "User lives in Pune"}


# -- time in queries ---------------------------------------------------------------------
def test_time_focus_is_pure_and_conservative() -> None:
    at = day("2024-06-12")
    f = time_focus("what did I say last week?", at)
    assert f is not None and f.strict and f.range.start == day("2024-06-03")
    f = time_focus("my plans in May", at)
    assert f is not None and not f.strict and f.range.start == day("2024-05-01")
    assert time_focus("where does the user live", at) is None


def test_relative_time_in_a_query_narrows_or_boosts(vault: memvault.Vault) -> None:
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    last_week = today - timedelta(days=7 + today.weekday() - 2)  # a Wednesday last week
    vault.add([{"role": "user", "content": "I talked about the garden project",
                "timestamp": last_week},
               {"role": "user", "content": "I talked about the garden fence",
                "timestamp": today - timedelta(days=60)}], user_id="u", infer=False)
    hits = vault.search("what did I say about the garden last week?", user_id="u")
    assert contents(hits) == ["I talked about the garden project"]
    hits = vault.search("the garden last week", user_id="u")
    assert len(hits) == 2 and hits[0].signals["time"] == 1.0
    assert hits[0].memory.content == "I talked about the garden project"


def test_now_sets_the_time_a_question_is_asked_at(vault: memvault.Vault) -> None:
    """Replaying an old conversation: `now` moves "last week" and recency to that time,
    filters nothing by itself (unlike as_of), and bad values are a clear error."""
    vault.add([{"role": "user", "content": "I repotted the fern on the balcony",
                "timestamp": "2023-05-03T10:00:00Z"},
               {"role": "user", "content": "I repotted the fern in the kitchen",
                "timestamp": "2023-03-01T10:00:00Z"}], user_id="u", infer=False)
    q = "what did I say about repotting the fern last week?"
    assert vault.search(q, user_id="u") == []  # last week of the real clock: nothing then
    hits = vault.search(q, user_id="u", now="2023-05-10T09:00:00Z")
    assert contents(hits) == ["I repotted the fern on the balcony"]
    early = vault.search("repotted the fern", user_id="u", now=day("2023-03-02"))
    assert len(early) == 2  # a memory after `now` is still found: now is not as_of
    replay = vault.search("repotted the fern", user_id="u", now=day("2023-05-04"))
    clock = vault.search("repotted the fern", user_id="u")
    recency = {h.memory.content.split()[-1]: h.signals["recency"] for h in replay}
    assert recency["balcony"] > recency["kitchen"] > max(h.signals["recency"] for h in clock)
    ctx = vault.context(q, user_id="u", now="2023-05-10T09:00:00Z")
    assert "balcony" in ctx.text
    with pytest.raises(memvault.InvalidInput, match="now must be an ISO-8601"):
        vault.search(q, user_id="u", now="next tuesday")


# -- summaries, profile, maintenance -----------------------------------------------------
def test_summary_helpers_are_pure() -> None:
    msgs = [Memory(id=f"m{i}", tenant="t", kind="message", role="user", content=c,
                   valid_from=day("2024-01-01"))
            for i, c in enumerate(["Hi!", "I'm planning a trip to Kyoto in April.",
                                   "What time is it?", "My budget is 3000 euros."])]
    points = [s.text for s in salient(sentences(msgs), 2)]
    assert points == ["I'm planning a trip to Kyoto in April.", "My budget is 3000 euros."]
    text = extractive_summary(msgs, [])
    assert "Kyoto" in text and "Hi!" not in text and text.startswith("Session summary")
    f = [Memory(id="a", tenant="t", kind="fact", content="x", key="user.location"),
         Memory(id="b", tenant="t", kind="fact", content="y", key="user.diet.pork"),
         Memory(id="c", tenant="t", kind="preference", content="z", key="pref.jazz"),
         Memory(id="d", tenant="t", kind="fact", content="w")]
    assert {g: [m.id for m in ms] for g, ms in group_profile(f).items()} == {
        "user": ["a"], "pref": ["c"], "user.diet": ["b"], "fact": ["d"]}


def test_maintenance_helpers_are_pure() -> None:
    p = MaintenancePolicy()
    assert decayed_importance(0.8, 10, p) == 0.8
    assert decayed_importance(0.8, p.decay_after_days + p.decay_half_life_days, p) == 0.4
    assert decayed_importance(0.8, 10_000, p) == p.min_importance
    ms = [Memory(id=i, tenant="t", kind="fact", content=c, sources=(i + "s",),
                 created_at=day("2024-01-01") + timedelta(days=n))
          for n, (i, c) in enumerate([("a", "User loves tea"), ("b", "User loves tea."),
                                      ("c", "User lives in Rome")])]
    mat = np.array([[1, 0], [1, 0], [0.9, 0.436]], dtype=np.float32)
    ops = merges(ms, mat, 0.92)
    assert [(b.id, a.status, act) for b, a, act, _ in ops] == [
        ("a", "active", "merge"), ("b", "superseded", "merge")]
    assert ops[0][1].sources == ("as", "bs")


def test_profile_groups_current_facts(rules_vault) -> None:  # type: ignore[no-untyped-def]
    replay(rules_vault)
    p = rules_vault.profile(user_id="sam")
    assert {"user", "pref"} <= set(p.groups)
    about = [m.content for m in p.groups["user"]]
    assert "User lives in Seattle" in about and "User works at Globex" in about
    assert not any("Boston" in c or "Acme" in c for c in about)
    assert "User lives in Seattle" in p.text and p.abstract is None


def seeded(v: memvault.Vault) -> dict[str, Memory]:
    old = day("2024-01-10")
    r = v.add([{"role": "user", "content": t, "timestamp": old + timedelta(minutes=i)}
               for i, t in enumerate(["I'm planning a trip to Kyoto in April.",
                                      "My budget is 3000 euros.", "I live in Lyon."])],
              user_id="u", session_id="s1")
    return {
        "message": r.messages[0],
        "temp": v.remember("Temporary note", user_id="u", ttl=60),
        "dup1": v.remember("User loves green tea", user_id="u", kind="preference"),
        "dup2": v.remember("User loves green tea.", user_id="u", kind="preference"),
    }


def snapshot(v: memvault.Vault) -> list[dict[str, Any]]:
    return sorted((m.to_dict() for m in v.store.iter_all()), key=lambda d: d["id"])


def test_maintenance_dry_run_then_idempotent(rules_vault) -> None:  # type: ignore[no-untyped-def]
    v = rules_vault
    seeded(v)
    later = datetime.now(UTC) + timedelta(days=200)
    before = snapshot(v)
    dry = v.maintain(now=later, dry_run=True)
    assert snapshot(v) == before
    assert dry.dry_run and dry.expired == 1 and dry.merged == 1 and dry.summarized == 1
    assert dry.decayed > 0
    done = v.maintain(now=later)
    assert (done.expired, done.merged, done.summarized) == (1, 1, 1)
    assert done.decayed >= dry.decayed
    after = snapshot(v)
    again = v.maintain(now=later)
    assert (again.expired, again.decayed, again.merged, again.summarized, again.purged) \
        == (0, 0, 0, 0, 0)
    assert snapshot(v) == after
    (summary,) = v.list(user_id="u", kinds=["summary"]).items
    assert "Kyoto" in summary.content and summary.key == "summary.session.s1"
    prefs = v.list(user_id="u", kinds=["preference"]).items
    assert len(prefs) == 1
    assert {h.action for h in v.history(prefs[0].id)} == {"create", "merge", "decay"}


def test_summaries_carry_sources_and_are_erased_with_them(rules_vault) -> None:  # type: ignore[no-untyped-def]
    v = rules_vault
    first = seeded(v)["message"]
    v.maintain(now=datetime.now(UTC))
    (summary,) = v.list(user_id="u", kinds=["summary"]).items
    messages = v.list(user_id="u", kinds=["message"]).items
    assert {m.id for m in messages} <= set(summary.sources)
    lyon = next(m for m in v.list(user_id="u", kinds=["fact"]).items if "Lyon" in m.content)
    assert lyon.id in summary.sources and "User lives in Lyon" in summary.content
    receipt = v.delete(first.id)
    assert receipt.status == "deleted"
    gone = v.list(user_id="u", kinds=["summary"], status="any").items
    assert gone and all(m.status == "deleted" and not m.content for m in gone)


def test_rolling_summary_supersedes_the_previous_one(rules_vault) -> None:  # type: ignore[no-untyped-def]
    v = rules_vault
    seeded(v)
    v.maintain(now=datetime.now(UTC))
    v.add([{"role": "user", "content": "Also I booked the hotel near Gion for April 3.",
            "timestamp": day("2024-01-11")},
           {"role": "user", "content": "I want to see the temples in Nara.",
            "timestamp": day("2024-01-11") + timedelta(minutes=1)}],
          user_id="u", session_id="s1")
    assert v.maintain(now=datetime.now(UTC)).summarized == 1
    current = v.list(user_id="u", kinds=["summary"]).items
    old = v.list(user_id="u", kinds=["summary"], status="superseded").items
    assert len(current) == 1 and len(old) == 1 and old[0].superseded_by == current[0].id
    assert set(old[0].sources) < set(current[0].sources)


def test_dropping_raw_messages_keeps_summaries(rules_vault) -> None:  # type: ignore[no-untyped-def]
    v = rules_vault
    seeded(v)
    v.maintenance_policy = MaintenancePolicy(message_retention_days=30)
    report = v.maintain(now=datetime.now(UTC))
    assert report.summarized == 1 and report.purged == 3
    assert v.list(user_id="u", kinds=["message"]).items == []
    (summary,) = v.list(user_id="u", kinds=["summary"]).items
    assert "Kyoto" in summary.content
    assert v.maintain(now=datetime.now(UTC)).purged == 0


# -- the knowledge-update benchmark on a tiny file ---------------------------------------
def test_knowledge_update_benchmark_on_a_tiny_file(tmp_path: Path) -> None:
    from memvault.bench import knowledge_update

    def session(*texts: str, answer: bool = False) -> list[dict[str, Any]]:
        return [{"role": "user", "content": t, "has_answer": answer} for t in texts]

    record = {
        "question_id": "ku1", "question_type": "knowledge-update",
        "question": "Where does the user live now?", "answer": "Lisbon",
        "question_date": "2024/06/01 (Sat) 10:00",
        "haystack_session_ids": ["a", "noise", "b"],
        "haystack_dates": ["2024/01/01 (Mon) 10:00", "2024/02/01 (Thu) 10:00",
                           "2024/05/01 (Wed) 10:00"],
        "haystack_sessions": [session("I live in Berlin.", answer=True),
                              session("Can you suggest a pasta recipe?"),
                              session("I moved to Lisbon last month.", answer=True)],
        "answer_session_ids": ["a", "b"],
    }
    path = tmp_path / "ku.jsonl"
    path.write_text(json.dumps(record) + "\n")
    report = knowledge_update(path, embedder=HashEmbedder())
    assert report["questions"] == 1 and report["newest_first"] == 1.0
    (row,) = report["rows"]
    assert row["newest_rank"] == 0 and (row["stale_rank"] is None or row["stale_rank"] > 0)
    baseline = knowledge_update(path, embedder=HashEmbedder(), infer=False)
    assert baseline["infer"] is False and baseline["questions"] == 1
