"""The store contract: the same vault behaviour on every backend (SQLite and PostgreSQL).

Every test takes `vault` (or `store_url`), parametrized over both backends in conftest.py.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import memvault
from memvault.embed import HashEmbedder
from memvault.policy.engine import Policy
from memvault.types import Scope


def raw_exec(url: str, statement: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run SQL on the backend behind `url`, bypassing the vault (as an attacker or DBA)."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url[len("sqlite:///"):])
        try:
            rows = conn.execute(statement.replace("%s", "?"), args).fetchall()
            conn.commit()
            return rows
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(url, autocommit=True) as pconn:
        pconn.execute("SELECT set_config('memvault.tenant', '*', false)")
        cur = pconn.execute(statement, args)
        return cur.fetchall() if cur.description else []


def test_add_messages_roundtrip_metadata_and_timestamp(vault: memvault.Vault) -> None:
    when = datetime(2023, 5, 20, 2, 21, tzinfo=UTC)
    r = vault.add(
        [{"role": "user", "content": "I adopted a cat named Miso", "timestamp": when,
          "metadata": {"dia_id": "D3:12", "nested": {"a": [1, 2.5, None, True]}}},
         {"role": "assistant", "content": "Congratulations on Miso!", "name": "bot"}],
        user_id="alice", session_id="s1", infer=False, metadata={"channel": "chat"},
    )
    first, second = r.memories
    assert first.valid_from == when and second.source == "assistant"
    hits = vault.search("cat named Miso", user_id="alice")
    assert hits and hits[0].memory.id == first.id
    assert hits[0].memory.metadata == {"channel": "chat", "dia_id": "D3:12",
                                       "nested": {"a": [1, 2.5, None, True]}}
    assert set(hits[0].signals) >= {"keyword", "vector", "recency"}
    assert vault.get(first.id) == hits[0].memory.replace(
        last_accessed_at=vault.get(first.id).last_accessed_at,
        access_count=vault.get(first.id).access_count)
    assert vault.get(second.id).name == "bot"
    assert vault.get(first.id).access_count == 1


def test_remember_get_update_history_delete(vault: memvault.Vault) -> None:
    m = vault.remember("Alice is vegetarian", user_id="alice", kind="preference",
                       key="user.diet", confidence=0.9, tags=["diet"], metadata={"x": 1})
    assert m.version == 1 and m.status == "active" and m.confidence == 0.9
    assert vault.get(m.id).to_dict() == m.to_dict()
    u = vault.update(m.id, content="Alice is vegan", reason="user corrected")
    assert u.version == 2 and u.content == "Alice is vegan"
    assert vault.search("vegan", user_id="alice")[0].memory.id == m.id
    assert vault.search("vegetarian", user_id="alice", k=5)[0].signals["keyword"] == 0.0
    hist = vault.history(m.id)
    assert [h.action for h in hist] == ["create", "update"]
    assert hist[1].before["content"] == "Alice is vegetarian" and hist[1].reason == "user corrected"
    tomb = vault.delete(m.id)
    assert tomb.status == "deleted" and tomb.content == "" and tomb.tags == ()
    assert vault.search("vegan", user_id="alice") == []
    assert all(h.before is None and h.after is None for h in vault.history(m.id))
    assert vault.history(m.id)[-1].action == "erase"
    with pytest.raises(memvault.NotFound):
        vault.update(m.id, content="again")
    with pytest.raises(memvault.NotFound):
        vault.get("no-such-id")


def test_optimistic_concurrency(vault: memvault.Vault) -> None:
    m = vault.remember("Project deadline is Friday", user_id="u")
    vault.update(m.id, content="Project deadline is Monday", expected_version=1)
    with pytest.raises(memvault.Conflict):
        vault.update(m.id, content="Project deadline is Tuesday", expected_version=1)
    assert vault.get(m.id).content == "Project deadline is Monday"
    stale = vault.get(m.id)
    vault.update(m.id, importance=0.9)
    with pytest.raises(memvault.Conflict), vault.store.write() as tx:  # the store's own check
        tx.update(stale.replace(content="lost update", version=stale.version + 1), stale.version)
    assert vault.get(m.id).content == "Project deadline is Monday"


def test_supersession_by_key_and_as_of(vault: memvault.Vault) -> None:
    paris = vault.remember("I live in Paris", user_id="u", key="user.location",
                           valid_from="2024-01-01T00:00:00Z")
    berlin = vault.remember("I live in Berlin now", user_id="u", key="user.location",
                            valid_from="2024-06-01T00:00:00Z")
    old = vault.get(paris.id)
    assert old.status == "superseded" and old.superseded_by == berlin.id
    assert old.valid_to == datetime(2024, 6, 1, tzinfo=UTC)
    assert [h.memory.id for h in vault.search("where do I live", user_id="u")] == [berlin.id]
    chain = vault.search("where do I live", user_id="u", include_superseded=True)
    assert {h.memory.id for h in chain} == {paris.id, berlin.id}
    assert chain[0].memory.id == berlin.id
    then = vault.search("where do I live", user_id="u", as_of="2024-03-01T00:00:00Z")
    assert [h.memory.id for h in then] == [paris.id]
    assert [h.action for h in vault.history(paris.id)] == ["create", "supersede"]


def test_superseded_sources_marks_stale_evidence(vault: memvault.Vault) -> None:
    msgs = vault.add(["I live in Paris", "I moved to Berlin"], user_id="u", infer=False).memories
    vault.remember("Lives in Paris", user_id="u", key="user.city", sources=[msgs[0].id])
    vault.remember("Lives in Berlin", user_id="u", key="user.city", sources=[msgs[1].id])
    with vault.store.read() as tx:
        stale = tx.superseded_sources(Scope("default", "u"), [m.id for m in msgs])
        assert stale == {msgs[0].id}
        assert tx.superseded_sources(Scope("default", "other"), [msgs[0].id]) == set()
        assert tx.superseded_sources(Scope("t2", "u"), [msgs[0].id]) == set()


def test_importing_older_value_after_newer_keeps_newer_current(vault: memvault.Vault) -> None:
    new = vault.remember("Works at Acme", user_id="u", key="user.employer",
                         valid_from="2024-06-01T00:00:00Z")
    old = vault.remember("Works at Globex", user_id="u", key="user.employer",
                         valid_from="2023-01-01T00:00:00Z")
    assert old.status == "superseded" and old.superseded_by == new.id
    assert vault.get(new.id).status == "active"


def test_exact_duplicate_is_reinforced_not_duplicated(vault: memvault.Vault) -> None:
    a = vault.remember("Likes jazz", user_id="u", kind="preference", confidence=0.6)
    b = vault.remember("Likes jazz", user_id="u", kind="preference", confidence=0.8)
    assert a.id == b.id and b.confidence == 0.8
    assert len(vault.list(user_id="u").items) == 1
    other = vault.remember("Likes jazz", user_id="v", kind="preference")
    assert other.id != a.id  # a different scope is a different memory


def test_list_pagination_and_order(vault: memvault.Vault) -> None:
    ids = [vault.remember(f"note number {i}", user_id="u").id for i in range(7)]
    page = vault.list(user_id="u", limit=3)
    seen = [m.id for m in page.items]
    while page.next_cursor:
        page = vault.list(user_id="u", limit=3, cursor=page.next_cursor)
        seen += [m.id for m in page.items]
    assert seen == ids[::-1]
    asc = vault.list(user_id="u", limit=4, order="asc")
    assert [m.id for m in asc.items] == ids[:4]
    assert [m.id for m in vault.list(user_id="u", limit=4, order="asc",
                                     cursor=asc.next_cursor).items] == ids[4:]


def test_search_filters(vault: memvault.Vault) -> None:
    for i in range(7):
        vault.remember(f"note number {i} about gardening", user_id="u", session_id=f"s{i % 2}",
                       tags=["even"] if i % 2 == 0 else ["odd", "x"],
                       metadata={"n": i, "flag": i == 3, "obj": {"k": [i]}, "none": None},
                       kind="fact" if i < 5 else "event", source="tool" if i == 6 else "user")
    s = vault.search
    hits = s("gardening", user_id="u", filters={"tags": ["even"]}, k=10)
    assert len(hits) == 4 and all("even" in h.memory.tags for h in hits)
    assert len(s("gardening", user_id="u", filters={"tags": ["even", "odd"]}, k=10)) == 7
    assert len(s("gardening", user_id="u", filters={"tags_all": ["odd", "x"]}, k=10)) == 3
    assert [h.memory.metadata["n"] for h in s("gardening", user_id="u",
                                                filters={"metadata": {"n": 3}})] == [3]
    assert [h.memory.metadata["n"] for h in s("gardening", user_id="u",
                                                filters={"metadata": {"flag": True}})] == [3]
    assert [h.memory.metadata["n"] for h in s("gardening", user_id="u",
                                                filters={"metadata": {"obj": {"k": [5]}}})] == [5]
    assert len(s("gardening", user_id="u", filters={"metadata": {"none": None}}, k=10)) == 7
    assert len(s("gardening", user_id="u", filters={"metadata": {"missing": None}}, k=10)) == 7
    assert {h.memory.kind for h in s("gardening", user_id="u", kinds=["event"])} == {"event"}
    assert [h.memory.source for h in s("gardening", user_id="u",
                                        filters={"source": "tool"})] == ["tool"]
    assert len(s("gardening", user_id="u", filters={"session_id": "s1"}, k=10)) == 3
    assert len(vault.list(user_id="u", session_id="s0").items) == 4
    assert s("gardening", user_id="u", filters={"tags": ["nope"]}) == []


def test_time_range_and_key_filters(vault: memvault.Vault) -> None:
    vault.add([{"role": "user", "content": "trip to Rome", "timestamp": "2023-05-02T10:00:00Z"},
               {"role": "user", "content": "trip to Oslo", "timestamp": "2023-08-02T10:00:00Z"}],
              user_id="u", infer=False)
    hits = vault.search("trip", user_id="u",
                        filters={"since": "2023-05-01T00:00:00Z", "until": "2023-06-01T00:00:00Z"})
    assert [h.memory.content for h in hits] == ["trip to Rome"]
    vault.remember("Diet is vegan", user_id="u", key="user.diet")
    assert [h.memory.key for h in vault.search("vegan trip", user_id="u",
                                               filters={"key": "user.diet"})] == ["user.diet"]


def test_vector_search_takes_a_vector_still_being_computed(vault: memvault.Vault) -> None:
    """The retriever hands the store a function that waits for the query's embedding
    (computed on another thread) so the store can prepare the scan first: same results
    as the vector itself, the function called once."""
    from memvault.stores.base import Filters

    vault.add([f"note {i} about kayaks and rivers" for i in range(30)], user_id="u",
              infer=False)
    q = vault.embedder.embed(["kayak river"])[0]
    calls: list[int] = []

    def later() -> Any:
        calls.append(1)
        return q

    scope, model = Scope("default", "u"), vault.embedder.name
    with vault.store.read() as tx:
        direct = tx.vector_search(scope, q, model, Filters(), 5)
        deferred = tx.vector_search(scope, later, model, Filters(), 5)
    assert len(direct) == 5 and deferred == direct and calls == [1]


def test_vector_leg_skips_rows_expired_but_not_swept(vault: memvault.Vault) -> None:
    """Expired rows stay in the vector cache until swept: the store's re-check drops them
    and the leg still returns as many rows as asked when enough others exist."""
    from memvault.stores.base import Filters

    vault.add([f"plain note {i} on gardening" for i in range(40)], user_id="u", infer=False)
    for i in range(8):
        vault.remember(f"temporary gardening note {i}", user_id="u", ttl=0.2)
    q = vault.embedder.embed(["temporary gardening note"])[0]
    scope = Scope("default", "u")

    def leg() -> list[str]:
        with vault.store.read() as tx:
            got = tx.vector_search(scope, q, vault.embedder.name, Filters(), 10)
        return [vault.get(i).content for i, _ in got]

    assert sum(c.startswith("temporary") for c in leg()) >= 5  # they lead before expiry
    time.sleep(0.3)
    after = leg()
    assert len(after) == 10 and not any(c.startswith("temporary") for c in after)


def test_expired_memories_are_not_served(vault: memvault.Vault) -> None:
    m = vault.remember("the door code is temporary", user_id="u", ttl=0.2)
    assert vault.search("door code", user_id="u")
    time.sleep(0.3)
    assert vault.search("door code", user_id="u") == []
    assert vault.list(user_id="u").items == []
    assert vault.get(m.id).content == "the door code is temporary"


@pytest.mark.parametrize("call, kwargs", [
    ("remember", {"content": ""}),
    ("remember", {"content": "x", "kind": "opinion"}),
    ("remember", {"content": "x\x00y"}),
    ("add", {"messages": [{"role": "robot", "content": "hi"}]}),
    ("search", {"query": "x", "filters": {"colour": "red"}}),
])
def test_bad_input_raises_and_changes_nothing(vault: memvault.Vault, call: str,
                                              kwargs: dict[str, Any]) -> None:
    vault.remember("existing memory stays", user_id="u")
    before = [m.to_dict() for m in vault.list(user_id="u", status="any").items]
    with pytest.raises(memvault.InvalidInput):
        getattr(vault, call)(user_id="u", **kwargs)
    assert [m.to_dict() for m in vault.list(user_id="u", status="any").items] == before


def test_review_queue(vault: memvault.Vault) -> None:
    vault.policy = Policy(review_sources=("tool",))
    a = vault.remember("Deploys go out on Tuesdays", user_id="u", source="tool")
    b = vault.remember("Use the staging cluster", user_id="u", source="tool")
    assert a.status == "pending" and vault.search("Tuesdays", user_id="u") == []
    assert {m.id for m in vault.review.pending()} == {a.id, b.id}
    ok = vault.review.approve(a.id, reviewer="lead", reason="checked")
    assert ok.status == "active" and ok.verified
    assert vault.search("Tuesdays", user_id="u")[0].memory.id == a.id
    gone = vault.review.reject(b.id, reviewer="lead")
    assert gone.status == "deleted" and gone.content == ""
    assert vault.review.pending() == []
    assert vault.audit.verify().ok


def test_forget_erases_everywhere_with_counts(vault: memvault.Vault, store_url: str) -> None:
    msgs = vault.add(["I am allergic to peanuts", "My sister is called Ada"], user_id="alice",
                     infer=False).memories
    fact = vault.remember("Alice is allergic to peanuts", user_id="alice",
                          sources=[msgs[0].id])
    vault.update(fact.id, content="Alice is very allergic to peanuts")
    keep = vault.remember("Bob likes peanuts", user_id="bob")
    shared = vault.remember("The office kitchen is peanut free")
    receipt = vault.forget(user_id="alice")
    assert receipt.counts["rows"] == 3 and receipt.counts["vectors"] == 3
    assert receipt.counts["keyword"] == 3 and receipt.counts["history"] == 4
    for m in [*msgs, fact]:
        got = vault.get(m.id)
        assert got.status == "deleted" and got.content == "" and got.metadata == {}
        assert all(h.before is None and h.after is None for h in vault.history(m.id))
    assert vault.search("peanuts allergic", user_id="alice") != []  # shared row only
    assert {h.memory.id for h in vault.search("peanuts", user_id="alice")} == {shared.id}
    assert vault.get(keep.id).content == "Bob likes peanuts"
    assert vault.audit.verify().ok
    erased = raw_exec(store_url, "SELECT memory_id FROM erased_ids")
    assert {r[0] for r in erased} == {m.id for m in [*msgs, fact]}
    assert len(raw_exec(store_url, "SELECT id FROM erasures")) == 1
    assert raw_exec(store_url, "SELECT count(*) FROM vectors")[0][0] == 2
    leftovers = raw_exec(store_url, "SELECT count(*) FROM history WHERE"
                                    " before LIKE '%%allergic%%' OR after LIKE '%%allergic%%'")
    assert leftovers[0][0] == 0
    again = vault.forget(user_id="alice")
    assert again.counts["rows"] == 0


def test_audit_chain_verifies_and_detects_tampering(vault: memvault.Vault,
                                                    store_url: str) -> None:
    for i in range(5):
        vault.remember(f"audited memory {i}", user_id="u")
    vault.search("audited", user_id="u")
    result = vault.audit.verify()
    assert result.ok and result.checked >= 6
    events = vault.audit.events()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].action == "remember" and events[-1].action == "read.search"
    raw_exec(store_url, "UPDATE audit SET actor = 'mallory' WHERE seq = 3")
    bad = vault.audit.verify()
    assert not bad.ok and bad.first_bad_seq == 3


def test_persistence_across_reopen(store_url: str) -> None:
    with memvault.open(store_url, embedder=HashEmbedder()) as v:
        m = v.remember("survives a restart", user_id="u", key="k")
    with memvault.open(store_url, embedder=HashEmbedder()) as v:
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
        ids = list(pool.map(work, range(48)))
    assert len(set(ids)) == 48
    assert sum(len(vault.list(user_id=f"u{i}", limit=100).items) for i in range(4)) == 48
    assert vault.audit.verify().ok


def test_embedding_model_change_is_detected_and_reindexed(store_url: str) -> None:
    with memvault.open(store_url, embedder=HashEmbedder(256)) as v:
        m = v.remember("reindex me please", user_id="u")
    with memvault.open(store_url, embedder=HashEmbedder(128)) as v:
        hits = v.search("reindex", user_id="u")
        assert hits and hits[0].signals["vector"] == 0.0  # keyword leg only until reindexed
        assert v.reindex() == 1
        hits = v.search("reindex", user_id="u")
        assert hits[0].memory.id == m.id and hits[0].signals["vector"] > 0


def test_stats(vault: memvault.Vault) -> None:
    vault.remember("one", user_id="u", kind="fact")
    vault.remember("two", user_id="v", kind="preference")
    with vault.store.read() as tx:
        st_ = tx.stats("default")
    assert st_["by_kind"] == {"fact": 1, "preference": 1} and st_["by_status"] == {"active": 2}
    assert st_["by_user"] == {"u": 1, "v": 1} and st_["storage_bytes"] > 0
    assert sum(st_["per_day"].values()) == 2 and st_["pending"] == 0


def test_agent_and_tenant_scoping(vault: memvault.Vault) -> None:
    a = vault.remember("agent A's note", user_id="u", agent_id="A")
    b = vault.remember("agent B's note", user_id="u", agent_id="B")
    c = vault.remember("shared note", user_id="u")
    t2 = vault.remember("other tenant note", user_id="u", tenant="t2")
    seen = {m.id for m in vault.list(user_id="u", agent_id="A").items}
    assert seen == {a.id, c.id}
    assert {h.memory.id for h in vault.search("note", user_id="u", agent_id="B")} == {b.id, c.id}
    assert {m.id for m in vault.list(user_id="u").items} == {a.id, b.id, c.id}
    assert {m.id for m in vault.list(user_id="u", tenant="t2").items} == {t2.id}
    with pytest.raises(memvault.NotFound):
        vault.get(t2.id, user_id="u")
    with pytest.raises(memvault.NotFound):
        vault.history(t2.id)


TENANTS = ["t1", "t2"]
USERS = ["alice", "bob", "carol"]
TEXTS = ["I live in Berlin", "my password hint is blue", "favourite food is ramen",
         "meeting with Dana on Friday", "allergic to peanuts"]
writes = st.lists(
    st.tuples(st.sampled_from(TENANTS), st.sampled_from([*USERS, None]), st.sampled_from(TEXTS),
              st.sampled_from(["fact", "preference", "message"])),
    min_size=1, max_size=12,
)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=writes, reader_tenant=st.sampled_from(TENANTS), reader=st.sampled_from(USERS),
       query=st.sampled_from(TEXTS))
def test_reads_never_cross_user_or_tenant(vault: memvault.Vault, ops: Any, reader_tenant: str,
                                          reader: str, query: str) -> None:
    run = uuid.uuid4().hex[:8]  # every example writes to its own tenants in the shared store
    tenant_of = {t: f"{run}-{t}" for t in TENANTS}
    rt = tenant_of[reader_tenant]
    ids = []
    for tenant, user, text, kind in ops:
        t = tenant_of[tenant]
        if kind == "message":
            ids += [m.id for m in vault.add(text, user_id=user, tenant=t, infer=False).memories]
        else:
            ids.append(vault.remember(text, user_id=user, tenant=t, kind=kind).id)

    def visible(m: memvault.Memory) -> bool:
        return m.tenant == rt and m.user_id in (reader, None)

    for h in vault.search(query, user_id=reader, tenant=rt, k=50):
        assert visible(h.memory)
    for h in vault.search(query, user_id=reader, tenant=rt, k=50, include_superseded=True):
        assert visible(h.memory)
    for m in vault.list(user_id=reader, tenant=rt, status="any", limit=500).items:
        assert visible(m)
    owners = {m.id: m for t in tenant_of.values()
              for m in vault.list(tenant=t, status="any", limit=500).items}
    for mid in ids:
        if visible(owners[mid]):
            assert vault.get(mid, user_id=reader, tenant=rt).id == mid
        else:
            with pytest.raises(memvault.NotFound):
                vault.get(mid, user_id=reader, tenant=rt)
            with pytest.raises(memvault.NotFound):
                vault.history(mid, user_id=reader, tenant=rt)


def test_api_keys_table_works_on_every_backend(vault: memvault.Vault) -> None:
    from memvault.server.keys import KeyStore

    keys = KeyStore(vault.store)
    key, token = keys.create("acme", "writer", name="ci")
    found = keys.authenticate(token)
    assert found is not None and found.tenant == "acme" and found.role == "writer"
    assert [k.id for k in keys.list("acme")] == [key.id]
    assert keys.revoke(key.id).revoked_at is not None
    assert keys.authenticate(token) is None
    assert vault.audit.verify().ok


def test_stale_evidence_ranks_below_the_current_value(vault) -> None:  # type: ignore[no-untyped-def]
    old = vault.add("I live in Paris", user_id="u", infer=False).memories[0]
    vault.remember("User lives in Paris", user_id="u", key="user.location", sources=[old.id],
                   valid_from="2024-01-01T00:00:00Z")
    new = vault.add("I live in Lisbon", user_id="u", infer=False).memories[0]
    vault.remember("User lives in Lisbon", user_id="u", key="user.location", sources=[new.id],
                   valid_from="2024-06-01T00:00:00Z")
    hits = vault.search("where do I live", user_id="u", kinds=["message"])
    assert [h.memory.id for h in hits] == [new.id, old.id]
    assert hits[1].signals.get("stale_source") == 1.0 and "stale_source" not in hits[0].signals
