"""What only the PostgreSQL store has: RLS, HNSW with filters, concurrent migrations and
several processes writing at once."""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any

import numpy as np
import psycopg
import pytest
from psycopg import sql

import memvault
from memvault._util import content_hash, new_id, now
from memvault.backup import reapply_erasures
from memvault.embed import HashEmbedder
from memvault.stores.base import Filters, ListQuery, StoredVector
from memvault.stores.pgrows import index_name, tsquery_text
from memvault.stores.postgres import PostgresStore, split_url
from memvault.stores.postgres_tx import PgTx
from memvault.textindex import query_terms
from memvault.types import Memory, Scope

from .pgharness import PgHarness
from .pgworkload import SHARED_KEYS, seed_vectors, writer


def test_url_options_are_parsed_and_removed() -> None:
    url, opts = split_url("postgresql://u@h/db?host=/tmp/x&ef_search=80&options=-c%20a%3Db"
                          "&pool_max_size=3")
    assert url == "postgresql://u@h/db?host=/tmp/x&options=-c%20a%3Db"
    assert opts["ef_search"] == 80 and opts["pool_max_size"] == 3 and opts["exact_below"] == 0
    with pytest.raises(memvault.ConfigError):
        split_url("postgresql://h/db?ef_search=lots")


def test_tsquery_terms_cannot_inject_operators() -> None:
    assert tsquery_text(["cat", "o'brien", "a|b", "x\\"]) == \
        "'cat' | 'o''brien' | 'a|b' | 'x\\\\'"


def test_keyword_search_survives_odd_terms(pg_url: str) -> None:
    with memvault.open(pg_url, embedder=HashEmbedder(), extractor="none") as v:
        m = v.remember("O'Brien ordered the fish & chips", user_id="u")
        terms = ["o'brien", "&", "!", "a' | 'b", *query_terms("chips")]  # as the vault does
        with v.store.read() as tx:
            got = tx.keyword_search(Scope("default", "u"), terms, Filters(), 10)
        assert [i for i, _ in got] == [m.id] and 0 < got[0][1] < 1


def test_term_df_follows_inserts_updates_and_erasure(pg_url: str) -> None:
    with memvault.open(pg_url, embedder=HashEmbedder(), extractor="none") as v:
        a = v.remember("apples and pears", user_id="u")
        v.remember("apples and plums", user_id="v", tenant="t2")
        b = v.remember("cherries", user_id="u")
        v.update(b.id, content="cherries and apples")
        v.forget(user_id="v", tenant="t2")
        v.update(a.id, importance=0.9)  # no text change: no df change
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("SELECT set_config('memvault.tenant', '*', false)")
            want = dict(conn.execute(
                "SELECT md5(x)::uuid, count(*) FROM memories, unnest(tsvector_to_array(tsv)) x"
                " GROUP BY 1").fetchall())
            got = dict(conn.execute("SELECT h, df FROM term_df").fetchall())
            assert got == want and len(got) == 3  # apple: 2, pear: 1, cherry: 1; plum is gone
        with v.store.read() as tx:
            assert tx.bounded_terms(query_terms("apples plums cherries")) == ["apple", "cherry"]
            v.store.common_df = 1
            assert tx.bounded_terms(["apple", "pear"]) == ["pear"]
            assert tx.bounded_terms(["apple", "nothing"]) == ["apple"]


def test_row_level_security_hides_other_tenants(pg_url: str) -> None:
    with memvault.open(pg_url, embedder=HashEmbedder(), extractor="none") as v:
        a = v.remember("tenant one secret", user_id="u", tenant="t1")
        v.remember("tenant two secret", user_id="u", tenant="t2")
        v.update(a.id, content="tenant one secret, edited", tenant="t1")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        me = conn.execute("SELECT current_user, rolsuper FROM pg_roles"
                          " WHERE rolname = current_user").fetchone()
        if me[1]:
            pytest.skip("superusers bypass RLS: point MEMVAULT_TEST_PG_URL at a non-superuser")
        owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'memories'")
        assert owner.fetchone()[0] == me[0]  # the owner, subject to RLS only through FORCE
        assert conn.execute("SELECT count(*) FROM memories").fetchone()[0] == 0  # no tenant set
        conn.execute("SELECT set_config('memvault.tenant', 't1', false)")
        for table in ("memories", "vectors", "history"):
            tenants = {r[0] for r in conn.execute(f"SELECT tenant FROM {table}")}  # no WHERE
            assert tenants == {"t1"}, table
        assert conn.execute("UPDATE memories SET content = 'x' WHERE tenant = 't2'").rowcount == 0
        assert conn.execute("DELETE FROM vectors WHERE tenant = 't2'").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("INSERT INTO history (memory_id, tenant, version, action, actor, at)"
                         " VALUES ('x', 't2', 1, 'create', 'mallory', now())")
        conn.execute("SELECT set_config('memvault.tenant', '*', false)")  # the admin bypass
        assert conn.execute("SELECT count(DISTINCT tenant) FROM memories").fetchone()[0] == 2


def test_scope_clause_and_rls_agree_for_library_reads(pg_url: str) -> None:
    with memvault.open(pg_url, embedder=HashEmbedder(), extractor="none") as v:
        t2 = v.remember("only in t2", tenant="t2")
        with v.store.read() as tx:  # even a tenant-less query made inside t1's transaction
            tx.as_tenant("t1")
            assert tx.conn.execute("SELECT id FROM memories").fetchall() == []
            assert tx.get(Scope("t2"), [t2.id])[0].id == t2.id  # the store switches tenant
        with pytest.raises(memvault.InvalidInput, match="reserved"):  # '*' is the bypass
            v.remember("sneaky", tenant="*")


def _exact(vecs: np.ndarray, mask: np.ndarray, q: np.ndarray, k: int) -> list[int]:
    idx = np.flatnonzero(mask)
    scores = vecs[idx] @ q
    return [int(idx[i]) for i in np.argsort(-scores)[:k]]


def test_filtered_vector_search_matches_exact_search(pg_url: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    dim, n = 32, 2500
    # at this size the planner would rightly sort the filtered rows instead of using the
    # index; enable_sort=off steers it onto the HNSW path that large tenants take
    store = PostgresStore(pg_url + "&options=-c%20enable_sort%3Doff")
    plans: list[str] = []
    real_q = PgTx._q

    def spy(self: PgTx, query: Any, args: Any = ()) -> Any:
        if isinstance(query, sql.Composable) and "ORDER BY d" in query.as_string(self.conn):
            rows = self.conn.execute(sql.SQL("EXPLAIN ") + query, args).fetchall()
            plans.append("\n".join(r[0] for r in rows))
        return real_q(self, query, args)

    try:
        ids, vecs, labels = seed_vectors(store, n, dim)
        with store.pool.connection() as conn:
            conn.execute("ANALYZE")
        monkeypatch.setattr(PgTx, "_q", spy)
        pos = {mid: i for i, mid in enumerate(ids)}
        rare = np.array([lab == "rare" for lab in labels])
        event = np.array([lab == "event" for lab in labels])
        everything = np.ones(n, dtype=bool)
        rng = np.random.default_rng(1)
        queries = rng.standard_normal((10, dim)).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        model, scope = f"rand-{dim}", Scope("t")

        def search(f: Filters, limit: int, q: np.ndarray) -> list[int]:
            plans.clear()
            with store.read() as tx:
                return [pos[i] for i, _ in tx.vector_search(scope, q, model, f, limit)]

        hnsw = index_name(model, dim)
        # 1. exact_below: a filtered set smaller than that (25 rows) is searched exactly
        store.exact_below = 2000
        for q in queries[:3]:
            assert search(Filters(tags_any=("rare",)), 50, q) == _exact(vecs, rare, q, 50)
            assert hnsw not in plans[-1]
        # 2. the index path (exact_below=0): HNSW with an iterative scan under a 9% filter
        store.exact_below = 0
        recall_all, recall_event = [], []
        for q in queries:
            got = search(Filters(), 10, q)
            assert hnsw in plans[-1]
            recall_all.append(len(set(got) & set(_exact(vecs, everything, q, 10))) / 10)
            got_event = search(Filters(kinds=("event",)), 50, q)
            assert hnsw in plans[0]  # tried first, through the index
            assert len(got_event) == 50 and all(event[i] for i in got_event)
            recall_event.append(len(set(got_event[:10]) & set(_exact(vecs, event, q, 10))) / 10)
        assert np.mean(recall_all) >= 0.95 and np.mean(recall_event) >= 0.9
        # 3. index path + a filter too selective to fill `limit`: exact fallback, complete
        for q in queries[:3]:
            assert search(Filters(tags_any=("rare",)), 50, q) == _exact(vecs, rare, q, 50)
            assert len(plans) == 2 and hnsw in plans[0] and hnsw not in plans[1]
        # the keyword leg drops terms in most rows when rarer ones remain ("seeded item N")
        store.common_df = 1000
        with store.read() as tx:
            assert tx.bounded_terms(["seed", "item", "42"]) == ["42"]
            assert tx.bounded_terms(["item", "seed", "nowhere"]) == ["item", "seed"]
            assert tx.bounded_terms(["item", "seed"]) == ["item", "seed"]
            got = tx.keyword_search(scope, ["seed", "item", "42"], Filters(), 10)
        assert [pos[i] for i, _ in got] == [42]
    finally:
        store.close()


def _bulk_rows(tenant: str, emb: HashEmbedder) -> list[tuple[Memory, StoredVector | None]]:
    texts = ["apples and pears in O'Brien's garden", "cherries", "a tab\there, a newline\nthere"]
    out: list[tuple[Memory, StoredVector | None]] = []
    at = now().replace(microsecond=0)
    for i, text in enumerate(texts):
        m = Memory(id=new_id(), tenant=tenant, kind="message", content=text, user_id="u",
                   role="user", tags=("x",), metadata={"n": i, "deep": {"a": [1, None]}},
                   created_at=at, updated_at=at, content_hash=content_hash(text))
        out.append((m, StoredVector(emb.name, emb.embed([text])[0], m.content_hash)
                    if i < 2 else None))
    return out


def test_insert_many_writes_what_insert_writes(pg_url: str) -> None:
    emb, store = HashEmbedder(), PostgresStore(pg_url)
    try:
        one, many = _bulk_rows("t1", emb), _bulk_rows("t2", emb)
        with store.write() as tx:
            for m, vec in one:
                tx.insert(m, vec)
        with store.write() as tx:
            tx.insert_many(many)
        with store.read() as tx:
            for (a, va), (b, vb) in zip(one, many, strict=True):
                got_a, got_b = tx.get(a.scope, [a.id])[0], tx.get(b.scope, [b.id])[0]
                assert got_b == b and got_a.replace(id=b.id, tenant="t2") == got_b
                vecs = tx.vectors_for([a.id, b.id], emb.name)
                assert (va is None) == (a.id not in vecs) and (vb is None) == (b.id not in vecs)
                if va is not None:
                    assert np.array_equal(vecs[a.id], vecs[b.id])
            tx.as_admin()
            tsv = dict(tx.conn.execute("SELECT tenant, array_agg(tsv::text ORDER BY content)"
                                       " FROM memories GROUP BY tenant").fetchall())
            assert tsv["t1"] == tsv["t2"] and any("'garden'" in t for t in tsv["t1"])
            want = dict(tx.conn.execute(
                "SELECT md5(x)::uuid, count(*) FROM memories, unnest(tsvector_to_array(tsv)) x"
                " GROUP BY 1").fetchall())
            assert dict(tx.conn.execute("SELECT h, df FROM term_df").fetchall()) == want
            hits = tx.vector_search(Scope("t2", "u"), many[0][1].vector, emb.name,  # type: ignore[union-attr]
                                    Filters(), 5)
        assert hits[0][0] == many[0][0].id and len(hits) == 2
        fresh = _bulk_rows("t3", emb)
        with pytest.raises(memvault.Conflict), store.write() as tx:  # a repeated id
            tx.insert_many([fresh[0], many[1], fresh[1]])
        with store.write() as tx:  # several tenants in one call
            tx.insert_many([fresh[0], *_bulk_rows("t4", emb)[:1]])
        with store.read() as tx:
            assert [m.id for m in tx.get(Scope("t3", "u"), [m.id for m, _ in fresh])] == \
                [fresh[0][0].id]
        with pytest.raises(memvault.InvalidInput), store.write() as tx:
            tx.insert_many(_bulk_rows("*", emb))
    finally:
        store.close()


def test_restored_backup_gets_the_erasure_ledger_reapplied(pg: PgHarness, pg_url: str) -> None:
    with memvault.open(pg_url, embedder=HashEmbedder(), extractor="none") as v:
        a = v.remember("alice's card number is on file", user_id="alice")
        b = v.remember("bob likes tea", user_id="bob")
    backup = pg.clone_db(pg_url)  # a backup taken before the erasure
    try:
        with memvault.open(pg_url, embedder=HashEmbedder(), extractor="none") as v:
            v.forget(user_id="alice")
            entries = v.store.ledger_entries()  # kept outside the database being restored
        assert [e["ids"] for e in entries] == [[a.id]]
        with memvault.open(backup, embedder=HashEmbedder(), extractor="none") as v:
            assert v.get(a.id).content  # the restored backup still holds the content
            out = reapply_erasures(v, entries)
            assert out["ids_erased"] == 1 and v.get(a.id).content == ""
            assert v.search("card number", user_id="alice") == []
            assert v.get(b.id).content == "bob likes tea" and v.audit.verify().ok
            assert reapply_erasures(v, entries)["ids_erased"] == 0  # idempotent
    finally:
        pg.drop_db(backup)


def test_vacuum_on_erase_option(pg_url: str, caplog: pytest.LogCaptureFixture) -> None:
    with memvault.open(pg_url + "&vacuum_on_erase=1", embedder=HashEmbedder(),
                       extractor="none") as v:
        assert v.store.vacuum_on_erase
        m = v.remember("to be vacuumed away", user_id="u")
        v.delete(m.id)
        assert v.get(m.id).content == ""
    assert "VACUUM after erasure failed" not in caplog.text


def test_writers_take_turns_and_a_blocked_writer_times_out(pg_url: str) -> None:
    import time

    with memvault.open(pg_url, embedder=HashEmbedder(), extractor="none",
                       busy_timeout_ms=300) as v:
        v.remember("first", user_id="u")
        with v.store.write():  # holds the writer lock (the audit head row)
            t = time.monotonic()
            with pytest.raises(memvault.StoreError, match="busy"):
                v.remember("second", user_id="u")  # another connection, another turn
            assert 0.25 < time.monotonic() - t < 5
            with v.store.read() as tx:  # readers never wait for writers
                assert len(tx.list(Scope("default", "u"), ListQuery())[0]) == 1
        v.remember("third", user_id="u")
        assert len(v.list(user_id="u").items) == 2 and v.audit.verify().ok


def test_concurrent_startup_runs_each_migration_once(pg_url: str) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            PostgresStore(pg_url).close()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with psycopg.connect(pg_url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    assert versions == sorted(set(versions)) and versions[0] == 1


def test_two_processes_mixed_load_nothing_lost(pg_url: str) -> None:
    with memvault.open(pg_url, embedder=HashEmbedder(), extractor="none") as v:
        shared = [v.remember(f"shared row {i}", user_id="shared-rows").id for i in range(4)]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        jobs = [pool.apply_async(writer, (pg_url, name, shared, 10.0)) for name in ("p1", "p2")]
        results: list[dict[str, Any]] = [j.get(timeout=120) for j in jobs]
    for r in results:
        assert r["errors"] == [], r["errors"][:1]
        assert r["ops"] > 20
    assert sum(sum(r["updates"].values()) for r in results) > 0
    with memvault.open(pg_url, embedder=HashEmbedder(), extractor="none") as v:
        for r in results:  # every acknowledged write is there, every delete is a tombstone
            for mid, text in r["mine"].items():
                assert v.get(mid).content == text
            for mid in r["deleted"]:
                assert v.get(mid).status == "deleted"
        for mid in shared:  # no lost update: one version per successful update
            done = sum(r["updates"].get(mid, 0) for r in results)
            assert v.get(mid).version == 1 + done
        for key in SHARED_KEYS:  # reconciliation never raced: one current value per key
            active = [m for m in v.list(user_id="shared", limit=500).items if m.key == key]
            assert len(active) <= 1
        assert v.audit.verify().ok

