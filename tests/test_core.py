"""The public API contract of DESIGN.md, on a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import memvault
from memvault.embed import HashEmbedder


def test_all_is_complete() -> None:
    import inspect

    public = {
        n
        for n, obj in vars(memvault).items()
        if not n.startswith("_") and not inspect.ismodule(obj) and n != "annotations" and n != "Any"
    }
    assert public == set(memvault.__all__)
    for name in memvault.__all__:
        assert hasattr(memvault, name), name


def test_add_messages_roundtrip_metadata_and_timestamp(vault: memvault.Vault) -> None:
    when = datetime(2023, 5, 20, 2, 21, tzinfo=UTC)
    r = vault.add(
        [
            {
                "role": "user",
                "content": "I adopted a cat named Miso",
                "timestamp": when,
                "metadata": {"dia_id": "D3:12", "nested": {"a": [1, 2.5, None, True]}},
            },
            {"role": "assistant", "content": "Congratulations on Miso!", "name": "bot"},
        ],
        user_id="alice",
        session_id="s1",
        infer=False,
        metadata={"channel": "chat"},
    )
    assert [m.kind for m in r.memories] == ["message", "message"]
    first, second = r.memories
    assert first.role == "user" and first.source == "user" and second.source == "assistant"
    assert first.valid_from == when
    assert first.metadata == {
        "channel": "chat",
        "dia_id": "D3:12",
        "nested": {"a": [1, 2.5, None, True]},
    }
    hits = vault.search("cat named Miso", user_id="alice")
    assert hits and hits[0].memory.id == first.id
    assert hits[0].memory.metadata["dia_id"] == "D3:12"
    assert set(hits[0].signals) >= {"keyword", "vector", "recency"}
    assert vault.get(first.id).metadata == first.metadata
    assert vault.get(second.id).name == "bot"


def test_add_accepts_a_plain_string(vault: memvault.Vault) -> None:
    r = vault.add("I like green tea", user_id="u1", infer=False)
    assert r.memories[0].content == "I like green tea" and r.memories[0].role == "user"


def test_remember_get_update_history_delete(vault: memvault.Vault) -> None:
    m = vault.remember(
        "Alice is vegetarian",
        user_id="alice",
        kind="preference",
        key="user.diet",
        confidence=0.9,
        tags=["diet"],
        metadata={"x": 1},
    )
    assert m.version == 1 and m.status == "active" and m.confidence == 0.9
    u = vault.update(m.id, content="Alice is vegan", reason="user corrected")
    assert u.version == 2 and u.content == "Alice is vegan"
    assert vault.search("vegan", user_id="alice")[0].memory.id == m.id
    hist = vault.history(m.id)
    assert [h.action for h in hist] == ["create", "update"]
    assert hist[1].before["content"] == "Alice is vegetarian" and hist[1].reason == "user corrected"
    tomb = vault.delete(m.id)
    assert tomb.status == "deleted" and tomb.content == "" and tomb.tags == ()
    assert vault.search("vegan", user_id="alice") == []
    assert all(h.before is None and h.after is None for h in vault.history(m.id))
    with pytest.raises(memvault.NotFound):
        vault.update(m.id, content="again")


def test_optimistic_concurrency(vault: memvault.Vault) -> None:
    m = vault.remember("Project deadline is Friday", user_id="u")
    vault.update(m.id, content="Project deadline is Monday", expected_version=1)
    with pytest.raises(memvault.Conflict):
        vault.update(m.id, content="Project deadline is Tuesday", expected_version=1)
    assert vault.get(m.id).content == "Project deadline is Monday"


def test_supersession_by_key_and_as_of(vault: memvault.Vault) -> None:
    paris = vault.remember(
        "I live in Paris", user_id="u", key="user.location", valid_from="2024-01-01T00:00:00Z"
    )
    berlin = vault.remember(
        "I live in Berlin now", user_id="u", key="user.location", valid_from="2024-06-01T00:00:00Z"
    )
    old = vault.get(paris.id)
    assert old.status == "superseded" and old.superseded_by == berlin.id
    assert old.valid_to == datetime(2024, 6, 1, tzinfo=UTC)
    now_hits = vault.search("where do I live", user_id="u")
    assert [h.memory.id for h in now_hits] == [berlin.id]
    chain = vault.search("where do I live", user_id="u", include_superseded=True)
    assert {h.memory.id for h in chain} == {paris.id, berlin.id}
    assert chain[0].memory.id == berlin.id
    then = vault.search("where do I live", user_id="u", as_of="2024-03-01T00:00:00Z")
    assert [h.memory.id for h in then] == [paris.id]


def test_importing_older_value_after_newer_keeps_newer_current(vault: memvault.Vault) -> None:
    new = vault.remember(
        "Works at Acme", user_id="u", key="user.employer", valid_from="2024-06-01T00:00:00Z"
    )
    old = vault.remember(
        "Works at Globex", user_id="u", key="user.employer", valid_from="2023-01-01T00:00:00Z"
    )
    assert old.status == "superseded" and old.superseded_by == new.id
    assert vault.get(new.id).status == "active"


def test_exact_duplicate_is_reinforced_not_duplicated(vault: memvault.Vault) -> None:
    a = vault.remember("Likes jazz", user_id="u", kind="preference", confidence=0.6)
    b = vault.remember("Likes jazz", user_id="u", kind="preference", confidence=0.8)
    assert a.id == b.id and b.confidence == 0.8
    assert len(vault.list(user_id="u").items) == 1


def test_filters_and_pagination(vault: memvault.Vault) -> None:
    for i in range(7):
        vault.remember(
            f"note number {i} about gardening",
            user_id="u",
            tags=["even"] if i % 2 == 0 else ["odd"],
            metadata={"n": i},
            kind="fact" if i < 5 else "event",
        )
    page = vault.list(user_id="u", limit=3)
    assert len(page.items) == 3 and page.next_cursor
    seen = [m.id for m in page.items]
    while page.next_cursor:
        page = vault.list(user_id="u", limit=3, cursor=page.next_cursor)
        seen += [m.id for m in page.items]
    assert len(seen) == len(set(seen)) == 7
    assert seen == sorted(seen, reverse=True)
    hits = vault.search("gardening", user_id="u", filters={"tags": ["even"]}, k=10)
    assert len(hits) == 4 and all("even" in h.memory.tags for h in hits)
    hits = vault.search("gardening", user_id="u", filters={"metadata": {"n": 3}})
    assert [h.memory.metadata["n"] for h in hits] == [3]
    assert {h.memory.kind for h in vault.search("gardening", user_id="u", kinds=["event"])} == {
        "event"
    }


def test_time_range_filter(vault: memvault.Vault) -> None:
    vault.add(
        [
            {"role": "user", "content": "trip to Rome", "timestamp": "2023-05-02T10:00:00Z"},
            {"role": "user", "content": "trip to Oslo", "timestamp": "2023-08-02T10:00:00Z"},
        ],
        user_id="u",
        infer=False,
    )
    hits = vault.search(
        "trip",
        user_id="u",
        filters={"since": "2023-05-01T00:00:00Z", "until": "2023-06-01T00:00:00Z"},
    )
    assert [h.memory.content for h in hits] == ["trip to Rome"]


@pytest.mark.parametrize(
    "call, kwargs",
    [
        ("remember", {"content": ""}),
        ("remember", {"content": "x", "kind": "opinion"}),
        ("remember", {"content": "x", "confidence": 2}),
        ("remember", {"content": "x" * 20_001}),
        ("remember", {"content": "x", "valid_from": "not a date"}),
        ("add", {"messages": []}),
        ("add", {"messages": [{"role": "robot", "content": "hi"}]}),
        ("add", {"messages": [{"role": "user"}]}),
        ("add", {"messages": [{"role": "user", "content": "hi", "extra": 1}]}),
        ("search", {"query": "x", "filters": {"colour": "red"}}),
        ("search", {"query": "x", "k": 0}),
        ("search", {"query": ""}),
    ],
)
def test_bad_input_raises_and_changes_nothing(
    vault: memvault.Vault, call: str, kwargs: dict
) -> None:
    vault.remember("existing memory stays", user_id="u")
    before = [m.to_dict() for m in vault.list(user_id="u", status="any").items]
    with pytest.raises(memvault.InvalidInput) as exc:
        getattr(vault, call)(user_id="u", **kwargs)
    assert str(exc.value)
    assert [m.to_dict() for m in vault.list(user_id="u", status="any").items] == before


def test_unknown_url_scheme() -> None:
    with pytest.raises(memvault.ConfigError, match="unknown storage URL"):
        memvault.open("mysql://localhost/db", embedder=HashEmbedder())


def test_default_url_uses_memvault_home(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MEMVAULT_HOME", str(tmp_path / "h"))
    with memvault.open(embedder=HashEmbedder()) as v:
        v.remember("stored in home", user_id="u")
    assert (tmp_path / "h" / "memvault.db").is_file()
    with memvault.open(embedder=HashEmbedder()) as v:
        assert v.search("stored", user_id="u")


def test_memory_url_and_context_manager() -> None:
    with memvault.open(":memory:", embedder=HashEmbedder()) as v:
        v.remember("ephemeral", user_id="u")
        assert v.list(user_id="u").items


def test_persistence_across_reopen(db_url: str) -> None:
    with memvault.open(db_url, embedder=HashEmbedder()) as v:
        m = v.remember("survives a restart", user_id="u", key="k")
    with memvault.open(db_url, embedder=HashEmbedder()) as v:
        assert v.get(m.id).content == "survives a restart"
        assert v.search("restart", user_id="u")[0].memory.id == m.id
        assert v.audit.verify().ok


def test_threads_share_one_vault(vault: memvault.Vault) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def work(i: int) -> str:
        m = vault.remember(f"thread memory {i}", user_id=f"u{i % 4}")
        vault.search("thread memory", user_id=f"u{i % 4}")
        return m.id

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(work, range(64)))
    assert len(set(ids)) == 64
    assert sum(len(vault.list(user_id=f"u{i}", limit=100).items) for i in range(4)) == 64
    assert vault.audit.verify().ok


def test_embedding_model_change_is_detected_and_reindexed(db_url: str) -> None:
    with memvault.open(db_url, embedder=HashEmbedder(256)) as v:
        m = v.remember("reindex me please", user_id="u")
    with memvault.open(db_url, embedder=HashEmbedder(128)) as v:
        hits = v.search("reindex", user_id="u")
        assert hits and hits[0].signals["vector"] == 0.0  # keyword leg only until reindexed
        assert v.reindex() == 1
        hits = v.search("reindex", user_id="u")
        assert hits[0].memory.id == m.id and hits[0].signals["vector"] > 0


def test_vector_leg_applies_time_bounds_exactly(vault: memvault.Vault) -> None:
    """since/until are masks over the index's event-time column (rounded to the ms) and
    re-checked in SQL: a bound equal to a memory's time includes it (since) or excludes
    it (until), down to the microsecond."""
    from memvault.stores.base import Filters
    from memvault.types import Scope

    at = [datetime(2024, 3, 1, 12, 0, 0, us, tzinfo=UTC) for us in (100, 400, 900)]
    added = vault.add([{"role": "user", "content": f"trip number {i}", "timestamp": t}
                       for i, t in enumerate(at)], user_id="u", infer=False).memories
    query = vault.embedder.embed(["trip number"])[0]
    scope = Scope("default", "u")

    def found(**bounds: datetime) -> set[str]:
        with vault.store.read() as tx:
            hits = tx.vector_search(scope, query, vault.embedder.name, Filters(**bounds), 10)
        return {mid for mid, _ in hits}

    ids = [m.id for m in added]
    assert found() == set(ids)
    assert found(since=at[1]) == {ids[1], ids[2]}
    assert found(until=at[1]) == {ids[0]}
    assert found(since=at[0], until=at[2]) == {ids[0], ids[1]}
    assert found(since=datetime(2024, 3, 2, tzinfo=UTC)) == set()


def test_sources_index_is_backfilled_by_its_migration(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A vault made before migration 0003 gets memory_sources filled on open, so stale
    evidence and erasure of derived memories keep working."""
    import sqlean

    from memvault.types import Scope

    url = f"sqlite:///{tmp_path / 'old.db'}"
    with memvault.open(url, embedder=HashEmbedder(), extractor="none") as v:
        msgs = v.add(["I live in Paris", "I moved to Berlin"], user_id="u", infer=False).memories
        v.remember("Lives in Paris", user_id="u", key="user.city", sources=[msgs[0].id])
        v.remember("Lives in Berlin", user_id="u", key="user.city", sources=[msgs[1].id])
    conn = sqlean.connect(str(tmp_path / "old.db"))
    conn.executescript("DROP TABLE memory_sources; DROP TRIGGER tr_memory_sources_insert;"
                       " DROP TRIGGER tr_memory_sources_update;"
                       " DROP TRIGGER tr_memory_sources_delete;"
                       " DELETE FROM schema_migrations WHERE version = 3;")
    conn.close()
    with memvault.open(url, embedder=HashEmbedder(), extractor="none") as v:
        with v.store.read() as tx:
            assert tx.superseded_sources(Scope("default", "u"), [m.id for m in msgs]) == {
                msgs[0].id}
            derived = tx.derived_from(Scope("default", "u"), [msgs[1].id])
        assert [m.content for m in derived] == ["Lives in Berlin"]
        v.forget(user_id="u")
        with v.store.read() as tx:  # nothing derived still holds content
            assert tx.derived_from(Scope("default", "u"), [m.id for m in msgs]) == []
