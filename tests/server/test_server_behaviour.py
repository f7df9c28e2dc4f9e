"""One behavioural suite, run against the embedded Vault and the HTTP Client alike:
switching between them is one line, so they must behave the same."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from server_harness import Live

import memvault
from memvault.embed import HashEmbedder


@pytest.fixture(params=["embedded", "client"])
def api(request: pytest.FixtureRequest, db_url: str) -> Iterator[Any]:
    if request.param == "embedded":
        with memvault.open(db_url, embedder=HashEmbedder(), extractor="none") as vault:
            yield vault
    else:
        live: Live = request.getfixturevalue("live")
        with memvault.Client(live.url, live.tenant().admin, timeout=30) as client:
            yield client


def test_add_messages_roundtrip_metadata_and_timestamp(api: Any) -> None:
    when = datetime(2023, 5, 20, 2, 21, tzinfo=UTC)
    r = api.add(
        [{"role": "user", "content": "I adopted a cat named Miso", "timestamp": when,
          "metadata": {"dia_id": "D3:12", "nested": {"a": [1, 2.5, None, True]}}},
         {"role": "assistant", "content": "Congratulations on Miso!", "name": "bot"}],
        user_id="alice", session_id="s1", infer=False, metadata={"channel": "chat"},
    )
    assert isinstance(r, memvault.AddResult)
    first, second = r.memories
    assert [m.kind for m in r.memories] == ["message", "message"]
    assert first.source == "user" and second.source == "assistant"
    assert first.valid_from == when and first.role == "user"
    assert first.metadata == {"channel": "chat", "dia_id": "D3:12",
                              "nested": {"a": [1, 2.5, None, True]}}
    hits = api.search("cat named Miso", user_id="alice")
    assert hits and isinstance(hits[0], memvault.Hit) and hits[0].memory.id == first.id
    assert set(hits[0].signals) >= {"keyword", "vector", "recency"}
    assert api.get(first.id).metadata == first.metadata
    assert api.get(second.id).name == "bot"


def test_add_accepts_a_plain_string(api: Any) -> None:
    r = api.add("I like green tea", user_id="u1", infer=False)
    assert r.memories[0].content == "I like green tea" and r.memories[0].role == "user"


def test_remember_get_update_history_delete(api: Any) -> None:
    m = api.remember("Alice is vegetarian", user_id="alice", kind="preference",
                     key="user.diet", confidence=0.9, tags=["diet"], metadata={"x": 1})
    assert isinstance(m, memvault.Memory)
    assert m.version == 1 and m.status == "active" and m.confidence == 0.9
    assert m.tags == ("diet",) and m.created_at is not None
    assert api.get(m.id) == m
    u = api.update(m.id, content="Alice is vegan", reason="user corrected")
    assert u.version == 2 and u.content == "Alice is vegan"
    assert api.search("vegan", user_id="alice")[0].memory.id == m.id
    hist = api.history(m.id)
    assert [h.action for h in hist] == ["create", "update"]
    assert hist[1].before["content"] == "Alice is vegetarian" and hist[1].reason == "user corrected"
    tomb = api.delete(m.id)
    assert tomb.status == "deleted" and tomb.content == "" and tomb.tags == ()
    assert api.search("vegan", user_id="alice") == []
    assert all(h.before is None and h.after is None for h in api.history(m.id))
    with pytest.raises(memvault.NotFound):
        api.update(m.id, content="again")
    with pytest.raises(memvault.NotFound):
        api.delete(m.id)


def test_optimistic_concurrency(api: Any) -> None:
    m = api.remember("Project deadline is Friday", user_id="u")
    api.update(m.id, content="Project deadline is Monday", expected_version=1)
    with pytest.raises(memvault.Conflict):
        api.update(m.id, content="Project deadline is Tuesday", expected_version=1)
    assert api.get(m.id).content == "Project deadline is Monday"


def test_supersession_by_key_and_as_of(api: Any) -> None:
    paris = api.remember("I live in Paris", user_id="u", key="user.location",
                         valid_from="2024-01-01T00:00:00Z")
    berlin = api.remember("I live in Berlin now", user_id="u", key="user.location",
                          valid_from="2024-06-01T00:00:00Z")
    old = api.get(paris.id)
    assert old.status == "superseded" and old.superseded_by == berlin.id
    assert old.valid_to == datetime(2024, 6, 1, tzinfo=UTC)
    assert [h.memory.id for h in api.search("where do I live", user_id="u")] == [berlin.id]
    chain = api.search("where do I live", user_id="u", include_superseded=True)
    assert {h.memory.id for h in chain} == {paris.id, berlin.id}
    then = api.search("where do I live", user_id="u", as_of="2024-03-01T00:00:00Z")
    assert [h.memory.id for h in then] == [paris.id]


def test_now_replays_the_time_of_a_question(api: Any) -> None:
    api.add([{"role": "user", "content": "I repotted the fern on the balcony",
              "timestamp": "2023-05-03T10:00:00Z"}], user_id="u", infer=False)
    q = "what did I say about the fern last week?"
    assert api.search(q, user_id="u") == []
    hits = api.search(q, user_id="u", now="2023-05-10T09:00:00Z")
    assert [h.memory.content for h in hits] == ["I repotted the fern on the balcony"]
    assert hits[0].signals["time"] == 1.0
    assert "balcony" in api.context(q, user_id="u", now="2023-05-10T09:00:00Z").text
    with pytest.raises(memvault.InvalidInput, match="now"):
        api.search(q, user_id="u", now="someday")


def test_exact_duplicate_is_reinforced_not_duplicated(api: Any) -> None:
    a = api.remember("Likes jazz", user_id="u", kind="preference", confidence=0.6)
    b = api.remember("Likes jazz", user_id="u", kind="preference", confidence=0.8)
    assert a.id == b.id and b.confidence == 0.8
    assert len(api.list(user_id="u").items) == 1


def test_filters_and_pagination(api: Any) -> None:
    for i in range(7):
        api.remember(f"note number {i} about gardening", user_id="u",
                     tags=["even"] if i % 2 == 0 else ["odd"], metadata={"n": i},
                     kind="fact" if i < 5 else "event")
    page = api.list(user_id="u", limit=3)
    assert isinstance(page, memvault.Page) and len(page.items) == 3 and page.next_cursor
    seen = [m.id for m in page.items]
    while page.next_cursor:
        page = api.list(user_id="u", limit=3, cursor=page.next_cursor)
        seen += [m.id for m in page.items]
    assert len(seen) == len(set(seen)) == 7 and seen == sorted(seen, reverse=True)
    assert len(api.list(user_id="u", filters={"tags": ["odd"]}).items) == 3
    assert {m.kind for m in api.list(user_id="u", kinds=["event"]).items} == {"event"}
    hits = api.search("gardening", user_id="u", filters={"tags": ["even"]}, k=10)
    assert len(hits) == 4 and all("even" in h.memory.tags for h in hits)
    hits = api.search("gardening", user_id="u", filters={"metadata": {"n": 3}})
    assert [h.memory.metadata["n"] for h in hits] == [3]
    events = api.search("gardening", user_id="u", kinds=["event"])
    assert {h.memory.kind for h in events} == {"event"}


def test_time_range_filter(api: Any) -> None:
    api.add([{"role": "user", "content": "trip to Rome", "timestamp": "2023-05-02T10:00:00Z"},
             {"role": "user", "content": "trip to Oslo", "timestamp": "2023-08-02T10:00:00Z"}],
            user_id="u", infer=False)
    hits = api.search("trip", user_id="u",
                      filters={"since": "2023-05-01T00:00:00Z", "until": "2023-06-01T00:00:00Z"})
    assert [h.memory.content for h in hits] == ["trip to Rome"]


def test_scope_user_sees_own_and_shared_not_others(api: Any) -> None:
    api.remember("alice likes hiking", user_id="alice")
    api.remember("bob likes hiking", user_id="bob")
    api.remember("the team likes hiking", kind="instruction")
    seen = {h.memory.content for h in api.search("hiking", user_id="alice")}
    assert seen == {"alice likes hiking", "the team likes hiking"}


def test_forget_returns_receipt_and_erases(api: Any) -> None:
    kept = api.remember("carol likes chess", user_id="carol")
    gone = api.remember("dave likes chess", user_id="dave")
    receipt = api.forget(user_id="dave")
    assert isinstance(receipt, memvault.ErasureReceipt)
    assert receipt.counts["rows"] == 1 and receipt.subject["user_id"] == "dave"
    assert len(receipt.hash) == 64
    assert api.search("chess", user_id="dave") == []
    assert api.get(gone.id).content == ""
    assert api.get(kept.id).content == "carol likes chess"


def test_export_everything_about_a_user(api: Any) -> None:
    m = api.remember("erin likes tea", user_id="erin")
    api.update(m.id, content="erin likes green tea")
    api.remember("frank likes tea", user_id="frank")
    records = api.export(user_id="erin")
    memories = [r for r in records if r["type"] == "memory"]
    assert [r["content"] for r in memories] == ["erin likes green tea"]
    assert [r["action"] for r in records if r["type"] == "history"] == ["create", "update"]


def test_audit_chain_verifies(api: Any) -> None:
    api.remember("audited", user_id="u")
    result = api.audit.verify()
    assert isinstance(result, memvault.VerifyResult) and result.ok and result.checked >= 1


def test_not_found(api: Any) -> None:
    with pytest.raises(memvault.NotFound):
        api.get("0190f0f0-0000-7000-8000-000000000000")
    with pytest.raises(memvault.NotFound):
        api.history("0190f0f0-0000-7000-8000-000000000000")


@pytest.mark.parametrize("call, kwargs", [
    ("remember", {"content": ""}),
    ("remember", {"content": "   "}),
    ("remember", {"content": "x", "kind": "opinion"}),
    ("remember", {"content": "x", "confidence": 2}),
    ("remember", {"content": "x" * 20_001}),
    ("remember", {"content": "x", "valid_from": "not a date"}),
    ("remember", {"content": "x", "valid_from": "2024-02-01T00:00:00Z",
                  "valid_to": "2024-01-01T00:00:00Z"}),
    ("add", {"messages": []}),
    ("add", {"messages": [{"role": "robot", "content": "hi"}]}),
    ("add", {"messages": [{"role": "user"}]}),
    ("add", {"messages": [{"role": "user", "content": "hi", "extra": 1}]}),
    ("search", {"query": "x", "filters": {"colour": "red"}}),
    ("search", {"query": "x", "k": 0}),
    ("search", {"query": "x", "k": 101}),
    ("search", {"query": ""}),
    ("list", {"limit": 0}),
    ("list", {"limit": 501}),
])
def test_bad_input_raises_and_changes_nothing(api: Any, call: str, kwargs: dict) -> None:
    api.remember("existing memory stays", user_id="u")
    before = [m.to_dict() for m in api.list(user_id="u", status="any").items]
    with pytest.raises(memvault.InvalidInput) as exc:
        getattr(api, call)(user_id="u", **kwargs)
    assert str(exc.value)
    assert [m.to_dict() for m in api.list(user_id="u", status="any").items] == before
